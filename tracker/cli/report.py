"""``tracker report``: a self-contained HTML report (figures embedded) and a PDF."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click

from ._common import data_dir_option, open_store


def _local_day_start(value: datetime) -> datetime:
    """click.DateTime gives a naive datetime: read it as the person's local time."""
    return value.astimezone() if value.tzinfo is None else value


@click.command("report")
@click.argument("session", nargs=-1)
@click.option("--all", "all_sessions", is_flag=True, help="Report on every session.")
@click.option("--since", metavar="DATE", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              default=None, help="Only sessions started on or after this date (local time).")
@click.option("--until", metavar="DATE", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              default=None, help="Only sessions started on or before this date (whole day, local time).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (created if missing).")
@click.option("--age", type=click.IntRange(10, 110), default=None,
              help="Your age, for the age-typical reference line (default: overall adult range).")
@click.option("--details", type=click.IntRange(0, 50), default=None,
              help="How many of the latest sessions to show in full (default 1).")
@click.option("--no-pdf", is_flag=True, help="Write only the HTML file.")
@click.option("--png", is_flag=True, help="Also write each figure as a PNG.")
@data_dir_option
def report(session: tuple[str, ...], all_sessions: bool, since: datetime | None,
           until: datetime | None, out_dir: Path, age: int | None, details: int | None,
           no_pdf: bool, png: bool, data_dir: Path | None) -> None:
    """Write report.html (opens in any browser, no network) and report.pdf into --out.

    Give SESSION ids (prefixes work), --all, or --since/--until DATE; with none of
    these the latest session is reported. Sessions without a stored analysis are
    analysed first.
    """
    from ..errors import StoreError
    from ..sessions import report as write_report

    if session and (all_sessions or since or until):
        raise click.UsageError("give SESSION ids, or --all / --since / --until, not both")
    store = open_store(data_dir)
    if session:
        ids = [store.resolve(s) for s in session]
    else:
        lo = _local_day_start(since) if since else None
        rows = store.sessions(since=lo)
        if until is not None:
            end = _local_day_start(until)
            if until.hour == until.minute == 0:
                end += timedelta(days=1)  # a bare date means the whole day
            rows = [r for r in rows if r.started_at < end]
        if not rows:
            raise StoreError(f"no sessions {'in that date range ' if since or until else ''}"
                             f"in {store.data_dir}")
        if not (all_sessions or since or until):
            rows = rows[-1:]
            click.echo(f"reporting on the latest session {rows[0].id} (use --all for every session)",
                       err=True)
        ids = [r.id for r in rows]
    files = write_report(store, ids, out_dir, age_years=age, detail_sessions=details,
                         pdf=not no_pdf, png=png)
    if files.analysed_now:
        click.echo(f"analysed {len(files.analysed_now)} session(s) that had no stored analysis",
                   err=True)
    click.echo(str(files.html))
    if files.pdf is not None:
        click.echo(str(files.pdf))
    for p in files.pngs:
        click.echo(str(p))
