"""``tracker delete ID``: remove a session and everything recorded for it."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import data_dir_option, open_store


@click.command("delete")
@click.argument("session")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
def delete(session: str, yes: bool, data_dir: Path | None) -> None:
    """Delete SESSION (samples, events, pain reports, analyses)."""
    store = open_store(data_dir)
    sid = store.resolve(session)
    info = store.session(sid)
    if not yes:
        click.confirm(f"delete session {sid} ({info.n_samples} samples, {info.duration_s:.0f} s)?",
                      abort=True)
    store.delete(sid)
    click.echo(f"deleted {sid}")
