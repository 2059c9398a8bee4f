"""``tracker doctor``: check the store and say what is wrong, without changing anything."""

from __future__ import annotations

import stat
from pathlib import Path

import click

from ..errors import StoreError
from ..store import DB_FILENAME, Store, default_data_dir
from ._common import data_dir_option


@click.command("doctor")
@data_dir_option
def doctor(data_dir: Path | None) -> None:
    """Check the data directory and database: permissions, integrity, sessions."""
    directory = Path(data_dir) if data_dir else default_data_dir()
    path = directory / DB_FILENAME
    problems: list[str] = []
    click.echo(f"data directory  {directory}")
    if not path.exists():
        click.echo("database        none yet (it is created on first use)")
        return
    for target, wanted in ((directory, 0o700), (path, 0o600)):
        mode = stat.S_IMODE(target.stat().st_mode)
        if mode & 0o077:
            problems.append(f"{target} is readable by others (mode {mode:o}, want {wanted:o})")
    try:
        store = Store.open(directory, check_interrupted=False)
    except StoreError as exc:
        click.echo(f"database        {path}: CANNOT OPEN")
        raise StoreError(f"{str(exc).replace('; run `tracker doctor`', '')}. Your data is untouched; "
                         f"keep a copy of {path} before any repair "
                         f"(e.g. `sqlite3 {path} .recover`)") from exc
    click.echo(f"database        {path} (schema v{store.schema_version}, "
               f"{path.stat().st_size / 1e6:.1f} MB)")
    problems += store.check()
    sessions = store.sessions()
    recording = [s.id for s in sessions if s.status == "recording"]
    click.echo(f"sessions        {len(sessions)} ({sum(s.n_samples for s in sessions)} samples)"
               + (f"; still recording: {', '.join(recording)}" if recording else ""))
    if problems:
        for p in problems:
            click.echo(f"problem         {p}")
        raise StoreError(f"{len(problems)} problem(s) found in {path}")
    click.echo("status          ok")
