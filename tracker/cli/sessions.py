"""``tracker sessions``: list stored sessions."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import data_dir_option, echo_json, open_store


@click.command("sessions")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@data_dir_option
def sessions(as_json: bool, data_dir: Path | None) -> None:
    """List sessions: date, duration, device, status."""
    store = open_store(data_dir)
    rows = store.sessions()
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    if not rows:
        click.echo(f"no sessions yet in {store.data_dir} (try `tracker demo` or `tracker import FILE`)")
        return
    click.echo(f"{'id':<22} {'started (UTC)':<17} {'duration':>9} {'samples':>9}  {'device':<18} status")
    for r in rows:
        minutes, seconds = divmod(int(round(r.duration_s)), 60)
        click.echo(f"{r.id:<22} {r.started_at:%Y-%m-%d %H:%M} {minutes:>5}:{seconds:02d} "
                   f"{r.n_samples:>9}  {r.device[:18]:<18} {r.status}")
