"""``tracker export``: CSV files with units in the headers."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import data_dir_option, open_store


@click.command("export")
@click.argument("session", required=False)
@click.option("--all", "all_sessions", is_flag=True, help="Export every session.")
@click.option("--what", "what", default="raw,angles,reps,cracks,summary", show_default=True,
              help="Comma-separated: raw, angles, reps, cracks, summary.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output directory (created if missing).")
@data_dir_option
def export(session: str | None, all_sessions: bool, what: str, out_dir: Path, data_dir: Path | None) -> None:
    """Export SESSION (or --all) as CSV files into --out."""
    from ..sessions import export as export_sessions

    if bool(session) == all_sessions:
        raise click.UsageError("give a SESSION id or --all (not both)")
    store = open_store(data_dir)
    ids = [s.id for s in store.sessions()] if all_sessions else [store.resolve(session)]
    kinds = [w.strip() for w in what.split(",") if w.strip()]
    for path in export_sessions(store, ids, kinds, out_dir):
        click.echo(str(path))
