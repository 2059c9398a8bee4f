"""Speed of the full analysis against orientation filters alone (issue 4).

Data: one simulated hour at 200 Hz, 9-axis (gyroscope, accelerometer, magnetometer),
the default routine repeated, noise/drift/packet loss on.

Figures (medians of interleaved runs, so machine load hits both sides alike). Times are
CPU seconds of this process (``time.process_time``; all code here is single-threaded),
which other jobs on a shared machine disturb far less than wall-clock time; wall-clock
medians are printed too.

1. **Full analysis** (``process_session``: offline VQF orientation, calibration, posture,
   repetitions, holds, spikes and crack judgement, per-sample angles, summary) vs
   **VQF alone** (``vqf.offlineVQF`` on the same arrays). Target: ratio <= 1.5. Each run
   is a pair (VQF alone, full analysis) back to back, the order alternating from pair to
   pair; the headline is the ratio of the CPU medians. As a check on load swings the
   median and spread (25th–75th percentile) of the per-pair ratios are printed too: a
   load change between two pairs cancels out of them.
2. Reference point: the pure-Python Madgwick filter of the ``ahrs`` package. It needs
   minutes for an hour of data, so it is timed on the first ``MADGWICK_S`` seconds
   (median of 3) and scaled linearly to the hour (it is a per-sample loop).
3. Where our time goes: the stages of ``process_session`` (CPU medians of 3 runs), with
   VQF's own share of the orientation stage split out.

Usage: python benchmarks/bench_analysis.py [--quick]   (--quick: 10 minutes, 3 runs)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vqf  # noqa: E402

from tracker.signal import orientation as O  # noqa: E402
from tracker.signal import process as P  # noqa: E402
from tracker.signal.process import process_session  # noqa: E402
from tracker.simulate import simulate_session  # noqa: E402

QUICK = "--quick" in sys.argv
MINUTES = 10 if QUICK else 60
RUNS = 3 if QUICK else 9
RATE_HZ = 200.0
MADGWICK_S = 30.0
TARGET_RATIO = 1.5


def _timed(fn) -> tuple[float, float]:  # noqa: ANN001
    """(CPU seconds, wall seconds) of one call."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def vqf_alone(rec) -> tuple[float, float]:  # noqa: ANN001
    return _timed(lambda: vqf.offlineVQF(
        np.ascontiguousarray(rec.gyr_rad_s), np.ascontiguousarray(rec.acc_m_s2),
        np.ascontiguousarray(rec.mag_uT), 1.0 / RATE_HZ))


def ours(rec, inner: list[float] | None = None) -> tuple[float, float]:  # noqa: ANN001
    """One full analysis; appends the CPU time of its own VQF call to ``inner``."""
    if inner is None:
        return _timed(lambda: process_session(rec))
    real = O.vqf.offlineVQF

    def timed_vqf(*a, **k):  # noqa: ANN002, ANN003, ANN202
        c0 = time.process_time()
        try:
            return real(*a, **k)
        finally:
            inner.append(time.process_time() - c0)

    O.vqf.offlineVQF = timed_vqf
    try:
        return _timed(lambda: process_session(rec))
    finally:
        O.vqf.offlineVQF = real


def madgwick(rec, seconds: float) -> tuple[float, float]:  # noqa: ANN001
    from ahrs.filters import Madgwick

    n = int(seconds * RATE_HZ)
    return _timed(lambda: Madgwick(gyr=rec.gyr_rad_s[:n], acc=rec.acc_m_s2[:n], mag=rec.mag_uT[:n],
                                   frequency=RATE_HZ))


def stages(rec, runs: int = 3) -> dict[str, float]:  # noqa: ANN001
    """CPU medians of each stage over ``runs`` runs, by wrapping the functions
    process_session calls (and VQF inside the orientation stage)."""
    names = ["estimate_orientation", "calibrate", "find_reps", "_signal_angles",
             "_spikes_and_cracks", "_summary"]
    targets = [(P, name) for name in names] + [(O.vqf, "offlineVQF")]
    spent: dict[str, float] = {}
    originals = [(mod, name, getattr(mod, name)) for mod, name in targets]

    def timed(name, fn):  # noqa: ANN001, ANN202
        def wrapper(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - t0
        return wrapper

    for mod, name, fn in originals:
        setattr(mod, name, timed(name, fn))
    per_run: list[dict[str, float]] = []
    try:
        for _ in range(runs):
            spent.clear()
            t0 = time.process_time()
            process_session(rec)
            total = time.process_time() - t0
            row = {"  of which VQF (offlineVQF)" if k == "offlineVQF" else k: v for k, v in spent.items()}
            row["other (decimation, DataFrame, ...)"] = total - sum(spent.get(n, 0.0) for n in names)
            row["total"] = total
            row["total without VQF"] = total - spent.get("offlineVQF", 0.0)
            per_run.append(row)
    finally:
        for mod, name, fn in originals:
            setattr(mod, name, fn)
    order = ["estimate_orientation", "  of which VQF (offlineVQF)", *names[1:],
             "other (decimation, DataFrame, ...)", "total", "total without VQF"]
    return {k: statistics.median(r.get(k, 0.0) for r in per_run) for k in order}


def main() -> None:
    t0 = time.perf_counter()
    sim = simulate_session(seed=1, rate_hz=RATE_HZ, minutes=MINUTES, with_mag=True)
    rec = sim.recording
    print(f"data: {rec.duration_s / 60:.1f} min at {RATE_HZ:g} Hz, 9-axis, {len(rec):,} samples "
          f"(simulated in {time.perf_counter() - t0:.0f} s)")
    ours(rec)  # warm-up (imports, caches)
    vqf_alone(rec)
    t_vqf, t_ours, t_inner = [], [], []
    for i in range(RUNS):  # pairs, alternating which side goes first
        if i % 2:
            t_ours.append(ours(rec, t_inner))
            t_vqf.append(vqf_alone(rec))
        else:
            t_vqf.append(vqf_alone(rec))
            t_ours.append(ours(rec, t_inner))
    t_mad = [madgwick(rec, MADGWICK_S) for _ in range(3)]
    scale = rec.duration_s / MADGWICK_S

    def med(runs: list[tuple[float, float]], k: int, factor: float = 1.0) -> float:
        return statistics.median(r[k] for r in runs) * factor

    ratio = med(t_ours, 0) / med(t_vqf, 0)
    print(f"{'figure':44s} {'CPU s':>8s} {'wall s':>8s}  CPU runs")
    rows = [("VQF alone (offlineVQF, 9D)", t_vqf, 1.0), ("full analysis (process_session)", t_ours, 1.0),
            (f"ahrs Madgwick 9D (pure Python, x{scale:.0f})", t_mad, scale)]
    for label, runs, f in rows:
        print(f"{label:44s} {med(runs, 0, f):8.2f} {med(runs, 1, f):8.2f}  {[round(r[0], 2) for r in runs]}")
    verdict = "OK" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    best = min(r[0] for r in t_ours) / min(r[0] for r in t_vqf)
    def spread(xs: list[float]) -> str:
        q1, q2, q3 = statistics.quantiles(xs, n=4) if len(xs) > 1 else (xs[0],) * 3
        return f"median {q2:.2f}, 25-75% {q1:.2f}-{q3:.2f}"

    pairs = [o[0] / v[0] for o, v in zip(t_ours, t_vqf)]
    within = [o[0] / v for o, v in zip(t_ours, t_inner)]
    print(f"ratio ours / VQF alone (CPU, medians): {ratio:.2f} (target <= {TARGET_RATIO}) {verdict}; "
          f"wall-clock medians: {med(t_ours, 1) / med(t_vqf, 1):.2f}; fastest runs: {best:.2f}")
    print(f"  checks on load swings, {len(pairs)} runs: per pair (ours / the VQF run next to it) "
          f"{spread(pairs)}; within each run (ours / its own VQF call) {spread(within)}")
    print(f"  analysis beyond VQF: {med(t_ours, 0) - med(t_vqf, 0):.2f} CPU s (medians), "
          f"{statistics.median(o[0] - v for o, v in zip(t_ours, t_inner)):.2f} CPU s (within runs)")
    print(f"ratio ours / ahrs Madgwick (CPU): {med(t_ours, 0) / med(t_mad, 0, scale):.3f}")
    print(f"throughput: {len(rec) / med(t_ours, 0) / 1e3:.0f} k samples per CPU second "
          f"({rec.duration_s / med(t_ours, 0):.0f}x real time)")
    print("stages (CPU medians of 3 runs):")
    for name, sec in stages(rec).items():
        print(f"  {name:44s} {sec:7.2f} CPU s")


if __name__ == "__main__":
    main()
