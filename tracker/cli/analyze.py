"""``tracker analyze INPUT``: repetitions, holds, peaks and possible cracks of a session."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import TrackerError
from ..schema import NO_GYRO_NOTE, SAFETY_GUIDANCE
from ._common import data_dir_option, echo_crack_limits, echo_json, open_store

if TYPE_CHECKING:
    from ..signal.result import SessionAnalysis


def _looks_like_file(text: str) -> bool:
    return Path(text).suffix.lower() in (".csv", ".txt", ".zip") or "/" in text or "\\" in text


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system is no file of ours
        return False


def _fmt(value: float | None, fmt: str = "{:.1f}", none: str = "—") -> str:
    return none if value is None else fmt.format(value)


def _print_table(analysis: SessionAnalysis, label: str) -> None:
    s = analysis.summary
    q = s.data_quality
    click.echo(f"session   {label}")
    click.echo(f"duration  {analysis.duration_s:.1f} s at {analysis.sample_rate_hz:.1f} Hz"
               f"   gaps {q.gaps} (~{q.lost_samples} samples lost)")
    cal = s.calibration
    click.echo(f"sensor    orientation {s.orientation.mode}   mounting found by {cal.get('method')} "
               f"(confidence {_fmt(cal.get('confidence'), '{:.2f}')})   reference: {cal.get('reference')}")
    if cal.get("warning"):
        click.echo(f"warning   {cal['warning']}")
    if not s.angles_available.axial_rotation:
        click.echo(f"note      {NO_GYRO_NOTE}")
    click.echo("")
    if not analysis.reps:
        click.echo("no repetitions found")
    else:
        click.echo(f"{'#':>3}  {'exercise':<15} {'side':<5} {'start s':>8} {'peak °':>7} {'hold s':>7}")
        for i, r in enumerate(analysis.reps):
            click.echo(f"{i:>3}  {r.exercise:<15} {r.side or '':<5} {r.start_s:8.1f} {r.peak_deg:+7.1f} "
                       f"{_fmt(r.hold_s, '{:7.1f}', '   none')}")
    click.echo("")
    click.echo(f"spikes    {len(analysis.spikes)} short acceleration impulses, "
               f"{len(analysis.cracks)} judged a possible crack")
    echo_crack_limits(analysis.sample_rate_hz, s.angles_available.axial_rotation, indent=" " * 10)
    for c in analysis.cracks:
        where = f"in repetition {c.rep}" if c.rep is not None else "outside repetitions"
        click.echo(f"  possible crack at {c.t_s:8.2f} s  score {c.score:.2f}  {where}")
    for note in s.notes:
        click.echo(f"note      {note}")
    click.echo("")
    click.echo(SAFETY_GUIDANCE)


@click.command("analyze")
@click.argument("input_ref", metavar="INPUT")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON (design.md contract).")
@click.option("--angles-csv", "angles_csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write per-sample angles and orientation quaternion to this CSV file.")
@click.option("--no-store", is_flag=True, help="Do not save the result in the session store.")
@data_dir_option
def analyze(input_ref: str, as_json: bool, angles_csv: Path | None, no_store: bool,
            data_dir: Path | None) -> None:
    """Analyse INPUT: a stored session (id, unique prefix or `latest`) or a raw CSV file.

    Finds the repetitions of the four stretches with exercise, side, peak angle and
    hold, and the short acceleration spikes, some judged a *possible* crack. A stored
    session's result is saved with the analysis version (unless --no-store).
    """
    from ..signal.process import process_session  # heavy: import on use

    path = Path(input_ref)
    sid: str | None = None
    store = None
    if _is_file(path):
        from ..csvio import read_recording

        rec = read_recording(path)
        label = str(path)
    elif _looks_like_file(input_ref):
        raise TrackerError(f"no such file: {input_ref}")
    else:
        store = open_store(data_dir)
        sid = store.resolve(input_ref)
        rec = store.load_recording(sid)
        label = sid
    if len(rec) == 0:
        raise TrackerError(f"{label} has no samples to analyse")
    if store is not None and sid is not None:
        from ..sessions import analyse_session

        # with its calibration step and its device's remembered mounting
        analysis = analyse_session(store, sid, save=not no_store)
    else:
        analysis = process_session(rec)
    if angles_csv is not None:
        from ..csvio import write_frame_csv

        try:
            write_frame_csv(analysis.angles_frame(), angles_csv)
        except OSError as exc:
            raise TrackerError(f"cannot write {angles_csv}: {exc.strerror}") from exc
        click.echo(f"angles written to {angles_csv}", err=as_json)
    if as_json:
        echo_json(analysis.to_json(sid))
    else:
        _print_table(analysis, label)
