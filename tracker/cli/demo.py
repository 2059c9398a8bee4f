"""``tracker demo``: the whole product on a fresh machine, no hardware, no network.

Simulates about a minute of stretching, streams it from an emulated sensor tag over a
virtual BLE link (a real Bumble protocol stack) through the ordinary BLE client into the
store, analyses it, writes the CSV exports and the HTML report, and says what it did.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import click

from ..schema import SAFETY_GUIDANCE
from ._common import data_dir_option, open_store, plural

__all__ = ["demo", "run_demo"]


def run_demo(store: Any, out_dir: Path, *, speed: float = 15.0, seed: int = 0, rate_hz: float = 100.0,
             minutes: float = 1.5, echo: Any = click.echo) -> dict[str, Any]:
    """Run the demo and return what it did (also used by the tests).

    Returns
    -------
    dict
        ``session_id``, ``quality`` (JSON), ``truth`` counts, ``analysis`` counts,
        ``files`` written, ``timings_s``.
    """
    from ..ble.client import virtual_backend
    from ..ble.emulated import quiet_bumble_logging, record_virtual
    from .. import sessions
    from ..export import EXPORT_KINDS
    from ..simulate import SensorModel, simulate_session
    from ..simulate._witnesses import simulate_snippets

    virtual_backend()  # fail first, with install advice, if bumble is missing
    timings: dict[str, float] = {}
    files: list[Path] = []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    # The emulated link models its own losses: a simulated sensor without packet drops.
    sim = simulate_session(seed=seed, rate_hz=rate_hz, minutes=minutes, with_mag=True,
                           sensor=dataclasses.replace(SensorModel(), drop_prob=0.0))
    truth = sim.truth
    truth_path = out_dir / "simulated_truth.json"
    truth_path.write_text(json.dumps(truth.to_json(angles=False), allow_nan=False) + "\n", encoding="utf-8")
    files.append(truth_path)
    timings["simulate"] = time.perf_counter() - t0
    echo(f"1/4 simulated {sim.recording.duration_s:.0f} s of stretching at {rate_hz:g} Hz "
         f"({len(truth.reps)} repetitions, {plural(len(truth.cracks), 'crack')}; seed {seed})")

    t0 = time.perf_counter()
    quiet_bumble_logging()

    async def record() -> Any:
        from .record import install_stop_signals

        stop = asyncio.Event()
        install_stop_signals(stop)
        return await record_virtual(store, sim.recording, profile="tracker-imu", rate_hz=rate_hz,
                                    speed=speed, stop=stop, notes="tracker demo: emulated tag, simulated data",
                                    impulse_windows=simulate_snippets(sim, seed=seed))

    run = asyncio.run(record())
    result = run.result
    timings["record"] = time.perf_counter() - t0
    q = result.quality
    if result.session_id is None:
        raise click.ClickException("the emulated tag never streamed; nothing was recorded")
    echo(f"2/4 recorded session {result.session_id} over the emulated BLE link ({speed:g}× real time): "
         f"{q.samples} samples, {q.achieved_rate_hz} Hz, lost {q.lost_samples}, "
         f"{q.reconnects} reconnects ({result.status})")

    t0 = time.perf_counter()
    # as any stored session: with the kHz impulse windows the tag sent (the witnesses of
    # its possible cracks) and the device's remembered mounting
    analysis = sessions.analyse_session(store, result.session_id)
    timings["analyse"] = time.perf_counter() - t0
    echo(f"3/4 analysed: {len(analysis.reps)} repetitions found ({len(truth.reps)} simulated), "
         f"{plural(len(analysis.cracks), 'possible crack')} ({len(truth.cracks)} simulated), "
         f"{len(analysis.spikes)} spikes")

    t0 = time.perf_counter()
    csv_dir = out_dir / "csv"
    files += sessions.export(store, [result.session_id], list(EXPORT_KINDS), csv_dir,
                             analyse=lambda _sid: analysis)
    timings["export"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = sessions.report(store, [result.session_id], out_dir, pdf=False,
                             analyse=lambda _rec: analysis, name="report")
    files += [report.html, *report.pngs]
    timings["report"] = time.perf_counter() - t0
    kinds: dict[str, int] = {}
    for p in files:
        kinds[p.suffix.lstrip(".")] = kinds.get(p.suffix.lstrip("."), 0) + 1
    wrote = ", ".join(f"{n} {k.upper()}" for k, n in sorted(kinds.items())) or "nothing"
    echo(f"4/4 wrote {wrote} file(s) to {out_dir}")
    return {
        "session_id": result.session_id, "status": result.status, "quality": q.to_json(),
        "tag": {"sent_samples": run.tag_stats.sent_samples, "lost_samples": run.tag_stats.lost_samples},
        "truth": {"reps": len(truth.reps), "cracks": len(truth.cracks)},
        "analysis": {"reps": len(analysis.reps), "cracks": len(analysis.cracks),
                     "spikes": len(analysis.spikes)},
        "files": [str(p) for p in files], "timings_s": timings,
    }


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("tracker-demo"), show_default=True,
              help="Folder for the report, the CSV exports and the simulated truth.")
@click.option("--speed", type=click.FloatRange(1, 100), default=15.0, show_default=True,
              help="How much faster than real time the emulated tag streams.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulated session.")
@click.option("--minutes", type=click.FloatRange(0.3, 10), default=1.5, show_default=True,
              help="Rough length of the simulated routine.")
@data_dir_option
def demo(out_dir: Path, speed: float, seed: int, minutes: float, data_dir: Path | None) -> None:
    """Try everything without hardware: simulate, record over emulated BLE, analyse, report.

    One minute of simulated stretching streams from an emulated sensor tag over a
    virtual Bluetooth LE link (a real protocol stack, no radio needed) into your
    session store, like a real recording; then it is analysed and the report and CSV
    files are written to --out.

    Example: tracker demo --out ./tracker-demo
    """
    t0 = time.perf_counter()
    store = open_store(data_dir)
    click.echo(f"tracker demo: no hardware needed; sessions are stored in {store.data_dir}")
    did = run_demo(store, out_dir, speed=speed, seed=seed, minutes=minutes)
    click.echo("")
    click.echo(f"session   {did['session_id']} ({did['status']}); see it with: tracker show {did['session_id']}")
    html = [f for f in did["files"] if f.endswith(".html")]
    if html:
        click.echo(f"report    {html[0]}")
    csvs = [f for f in did["files"] if f.endswith(".csv")]
    if csvs:
        click.echo(f"CSV       {len(csvs)} files in {Path(csvs[0]).parent}")
    click.echo(f"truth     {out_dir / 'simulated_truth.json'} (what the simulator put in)")
    click.echo(f"done in {time.perf_counter() - t0:.1f} s")
    click.echo("")
    click.echo(SAFETY_GUIDANCE)
