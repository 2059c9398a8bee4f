"""``tracker import FILE...``: import CSV exports (ours, phyphox, Sensor Logger, MetaBase, Physics Toolbox)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import data_dir_option, open_store


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--together", is_flag=True,
              help="The files are sensors of ONE recording (e.g. phyphox Accelerometer.csv + "
                   "Gyroscope.csv); default: a folder/zip/file per session.")
@click.option("--start", "start", default=None, metavar="ISO-TIME",
              help="UTC start of the session (e.g. 2025-01-06T07:07:00Z) for files without one; "
                   "overrides the file's.")
@click.option("--notes", default="", help="Notes stored with the session.")
@click.option("--quiet", "-q", is_flag=True, help="Do not print what was skipped or decided.")
@data_dir_option
def import_(files: tuple[Path, ...], together: bool, start: str | None, notes: str, quiet: bool,
            data_dir: Path | None) -> None:
    """Import FILES as sessions: a tracker CSV, or a Sensor Logger, phyphox, MetaBase or
    Physics Toolbox export (file, folder or zip).

    Each session keeps the export's start time (Sensor Logger, phyphox meta/time.csv,
    MetaBase, our CSV); give --start for files without one. A sessions.csv next to a
    file (name,started_at[,device,pain_before,pain_after]) gives its start, device and
    self-reported pain. Audio in an export
    (Sensor Logger's Microphone.mp4) is kept with the session for the crack analysis.
    """
    from ..importers import parse_start, read_export

    when = parse_start(start) if start else None
    groups = [files] if together else [(f,) for f in files]
    # Read everything first: a bad file stops the import before anything is stored.
    results = [read_export(*group, start=when) for group in groups]
    store = open_store(data_dir)
    for group, res in zip(groups, results):
        rec = res.recording
        sensors = "" if rec.has_gyro else ", accelerometer only"
        sid = store.import_recording(rec, notes=notes, attachments=[
            (a.name, a.media_type, a.data) for a in res.attachments])
        if res.self_report:  # stored as `tracker record` stores the answers to its pain questions
            store.set_self_report(sid, **res.self_report)
        click.echo(f"imported {', '.join(map(str, group))} -> {sid} "
                   f"({len(rec)} samples, {rec.duration_s:.1f} s, {rec.achieved_rate_hz:.1f} Hz, "
                   f"{res.source}, {rec.meta.device}{sensors}, started {rec.meta.started_at:%Y-%m-%d %H:%M:%S} UTC"
                   f" from {res.start_source})")
        if not quiet:
            for note in res.notes:
                click.echo(f"  note: {note}")
        for warning in res.warnings:
            click.echo(f"  warning: {warning}", err=True)


import_.name = "import"
