"""``tracker import FILE...``: import CSV exports (ours, phyphox, Sensor Logger)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import data_dir_option, open_store


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--together", is_flag=True,
              help="The files are sensors of ONE recording (e.g. phyphox Accelerometer.csv + "
                   "Gyroscope.csv); default: a folder/zip/file per session.")
@click.option("--notes", default="", help="Notes stored with the session.")
@data_dir_option
def import_(files: tuple[Path, ...], together: bool, notes: str, data_dir: Path | None) -> None:
    """Import FILES as sessions (a tracker CSV, or a phyphox / Sensor Logger export)."""
    from ..csvio import read_recording

    groups = [files] if together else [(f,) for f in files]
    # Read everything first: a bad file stops the import before anything is stored.
    recordings = [read_recording(*group) for group in groups]
    store = open_store(data_dir)
    for group, rec in zip(groups, recordings):
        sid = store.import_recording(rec, notes=notes)
        click.echo(f"imported {', '.join(map(str, group))} -> {sid} "
                   f"({len(rec)} samples, {rec.duration_s:.1f} s, {rec.achieved_rate_hz:.1f} Hz, {rec.meta.profile})")


import_.name = "import"
