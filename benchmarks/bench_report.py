"""Report speed: a progress report over 365 sessions (HTML + PDF) in under 10 s.

A year of daily sessions in a real store: every session has a stored analysis (events
from the simulator's ground truth of a few seeded sessions, peaks improving slowly) and a
pain self-report; the latest session holds a full simulated recording, because the
report shows it in full and so recomputes its per-sample angles with
``tracker.signal.process_session``. Nothing else re-reads samples.

Baseline in the same run: the same report over 18 sessions (six weeks, three a week), and
the 365-session report without the full session (progress only). Prints medians of
REPEATS runs (wall and CPU time) and the time per step of the median run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.recording import Recording, RecordingMeta  # noqa: E402
from tracker.sessions import report as write_report  # noqa: E402
from tracker.sessions import save_analysis  # noqa: E402
from tracker.signal.result import Crack, Rep, SessionAnalysis, Spike, Summary  # noqa: E402
from tracker.simulate import Routine, Simulation, simulate_session  # noqa: E402
from tracker.store import Store  # noqa: E402

N_SESSIONS = 365
N_BASELINE = 18
REPEATS = 3
TARGET_S = 10.0
START = datetime(2024, 1, 1, 7, 30, tzinfo=timezone.utc)


def truth_analysis(sim: Simulation, peak_scale: float = 1.0) -> SessionAnalysis:
    """A perfect analyser's result: the simulator's truth as a SessionAnalysis."""
    tr = sim.truth
    reps = tuple(Rep(exercise=r.exercise, side=r.side, start_s=r.start_s, hold_start_s=r.hold_start_s,
                     hold_end_s=r.hold_end_s, end_s=r.end_s, hold_s=r.hold_s,
                     peak_deg=r.peak_deg * peak_scale, peak_s=r.peak_s) for r in tr.reps)
    spikes = [Spike(t_s=c.t_s, peak_m_s2=c.amplitude_m_s2, possible_crack=True, crack_score=0.9,
                    kind="possible_crack") for c in tr.cracks]
    spikes += [Spike(t_s=c.t_s, peak_m_s2=c.amplitude_m_s2, possible_crack=False, crack_score=0.1,
                     kind=c.kind) for c in tr.confounders if c.kind != "vibration"]
    cracks = tuple(Crack(t_s=c.t_s, peak_m_s2=c.amplitude_m_s2, score=0.9, rep=c.rep) for c in tr.cracks)
    signals = tr.angles[["t_s", "flexion_deg", "lateral_bend_deg", "axial_rotation_deg"]]
    spikes_t = tuple(sorted(spikes, key=lambda s: s.t_s))
    return SessionAnalysis(signals=signals, reps=reps, spikes=spikes_t, cracks=cracks,
                           summary=Summary.of_events(reps, spikes_t, cracks),
                           sample_rate_hz=sim.recording.sample_rate_hz,
                           duration_s=sim.recording.duration_s)


def tiny_recording(started_at: datetime) -> Recording:
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 2.0, 0.01)
    return Recording(t, [0, 0, 9.81] + 0.02 * rng.standard_normal((t.size, 3)),
                     0.005 * rng.standard_normal((t.size, 3)),
                     meta=RecordingMeta("bench-tag", "simulator", 100.0, started_at))


def build_store(root: Path, n: int, sims: list[Simulation]) -> tuple[Store, list[str], dict]:
    store = Store.open(root)
    rng = np.random.default_rng(1)
    ids, full = [], {}
    days_apart = 365.0 / n if n > 60 else 7.0 / 3.0
    for k in range(n):
        when = START + timedelta(days=k * days_apart, minutes=int(rng.integers(-30, 60)))
        sim = sims[int(rng.integers(len(sims)))]
        last = k == n - 1
        rec = sim.recording.with_meta(started_at=when) if last else tiny_recording(when)
        sid = store.import_recording(rec)
        analysis = truth_analysis(sim, peak_scale=min(1.0 + 0.25 * k / n, 1.3))
        save_analysis(store, sid, analysis)
        pain = int(np.clip(round(5 - 3 * k / n + rng.normal(0, 0.8)), 0, 10))
        store.set_self_report(sid, pain_before=pain, pain_after=max(pain - int(rng.integers(0, 3)), 0))
        ids.append(sid)
        if last:
            full[when] = sim
    return store, ids, full


def main() -> None:
    sims = [simulate_session(seed=s, routine=Routine.default()) for s in range(6)]
    from tracker.signal import process_session

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        store, ids, full = build_store(root / "year", N_SESSIONS, sims)
        setup_s = time.perf_counter() - t0
        base_store, base_ids, base_full = build_store(root / "weeks", N_BASELINE, sims)

        def run(st, sids, full_map, out, details=None):
            t, c = time.perf_counter(), time.process_time()
            files = write_report(st, sids, root / out, analyse=process_session, detail_sessions=details)
            return time.perf_counter() - t, time.process_time() - c, files

        for label, args in (
            (f"report over {N_SESSIONS} sessions (HTML+PDF)", (store, ids, full, "r365")),
            ("  same, progress only (no full session)", (store, ids, full, "r365p", 0)),
            (f"baseline: report over {N_BASELINE} sessions", (base_store, base_ids, base_full, "r18")),
        ):
            runs = sorted((run(*args) for _ in range(REPEATS)), key=lambda r: r[0])
            wall, cpu, files = runs[len(runs) // 2]
            rows.append((label, wall, statistics.median(r[1] for r in runs), files,
                         files.html.stat().st_size))

    print(f"sessions stored in {setup_s:.1f} s; full session angles from process_session")
    print("(wall = elapsed; cpu = process CPU time, the better estimate on a busy machine)")
    print(f"{'figure':<46}{'wall s':>8}{'cpu s':>8}{'target':>8}   steps of the median run (wall s)")
    for label, wall, cpu, files, html_bytes in rows:
        target = f"< {TARGET_S:g}" if label.startswith("report") else ""
        steps = " ".join(f"{k}={v:.2f}" for k, v in files.timings_s.items())
        print(f"{label:<46}{wall:>8.2f}{cpu:>8.2f}{target:>8}   {steps}; {files.pdf_pages} PDF pages, "
              f"HTML {html_bytes / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
