"""``tracker show ID``: one session with its data quality, pain reports and analysis."""

from __future__ import annotations

from pathlib import Path

import click

from ..schema import NO_GYRO_NOTE, SAFETY_GUIDANCE
from ..sessions import had_gyroscope, load_analysis
from ._common import data_dir_option, echo_crack_limits, echo_json, open_store, plural


def _fmt(value: object, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


@click.command("show")
@click.argument("session")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@data_dir_option
def show(session: str, as_json: bool, data_dir: Path | None) -> None:
    """Show SESSION (an id, a unique prefix of one, or `latest`)."""
    store = open_store(data_dir)
    sid = store.resolve(session)
    info, quality, pain = store.session(sid), store.quality(sid), store.self_report(sid)
    analysis = load_analysis(store, sid)
    events = store.events(sid)
    if as_json:
        echo_json({"session": info.to_json(), "quality": quality.to_json(), "self_report": pain,
                   "events": [{"kind": e.kind, "t_s": e.t_s, **e.data} for e in events],
                   "analysis": analysis.to_json(sid) if analysis else None})
        return
    click.echo(f"session   {info.id}  ({info.status})")
    click.echo(f"started   {info.started_at:%Y-%m-%d %H:%M:%S} UTC   duration {info.duration_s:.1f} s")
    click.echo(f"device    {info.device}  profile {info.profile}  placement {info.placement}")
    gyro = had_gyroscope(store, sid, analysis)
    if not gyro:
        click.echo(f"sensor    {NO_GYRO_NOTE}")
    if info.notes:
        click.echo(f"notes     {info.notes}")
    click.echo("data quality")
    drift = quality.link.clock_drift_ppm if quality.link is not None else None
    click.echo(f"  samples {info.n_samples}   achieved rate {_fmt(quality.achieved_rate_hz, ' Hz')}"
               f" (nominal {_fmt(info.nominal_rate_hz, ' Hz')})")
    click.echo(f"  lost samples {_fmt(quality.lost_samples)}   gaps {_fmt(quality.gaps)}"
               f"   reconnects {_fmt(quality.reconnects)}"
               f"   clock drift {_fmt(drift, ' ppm')}")
    click.echo(f"pain      before {_fmt(pain['pain_before'])}/10   after {_fmt(pain['pain_after'])}/10")
    if analysis is None:
        click.echo("analysis  none stored yet (run `tracker analyze " + sid + "`)")
    else:
        click.echo(f"analysis  v{analysis.analysis_version}: {plural(len(analysis.reps), 'repetition')}, "
                   f"{plural(len(analysis.spikes), 'spike')}, {plural(len(analysis.cracks), 'possible crack')}")
        cal = analysis.summary.calibration
        if cal:
            click.echo(f"mounting  found by {cal.get('method')}, confidence {_fmt(cal.get('confidence'), digits=2)}"
                       f" (up from {cal.get('up_from')}, forward from {cal.get('forward_from')})")
            if cal.get("warning"):
                click.echo(f"warning   {cal['warning']}")
        for i, rep in enumerate(analysis.reps):
            hold = f"hold {rep.hold_s:4.1f} s" if rep.hold_s is not None else "no hold"
            click.echo(f"  {i:>2} {rep.exercise:<15} {rep.side or '':<5} peak {rep.peak_deg:+6.1f}°  {hold}")
        for crack in analysis.cracks:
            click.echo(f"  possible crack at {crack.t_s:.2f} s (score {crack.score:.2f})")
        echo_crack_limits(analysis.sample_rate_hz, gyro, indent="  ")
    if pain["pain_before"] is not None and max(pain["pain_before"] or 0, pain["pain_after"] or 0) >= 7:
        click.echo(f"note: high pain reported. {SAFETY_GUIDANCE}")
