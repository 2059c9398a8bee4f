"""Speed of the full analysis against orientation filters alone (issue 4).

Data: one simulated hour at 200 Hz, 9-axis (gyroscope, accelerometer, magnetometer),
the default routine repeated, noise/drift/packet loss on.

Figures (medians of interleaved runs, so machine load hits both sides alike):

1. **Full analysis** (``process_session``: offline VQF orientation, calibration, posture,
   repetitions, holds, spikes and crack judgement, per-sample angles, summary) vs
   **VQF alone** (``vqf.offlineVQF`` on the same arrays). Target: ratio <= 1.5.
2. Reference point: the pure-Python Madgwick filter of the ``ahrs`` package. It needs
   minutes for an hour of data, so it is timed on the first ``MADGWICK_S`` seconds
   (median of 3) and scaled linearly to the hour (it is a per-sample loop).
3. Where our time goes: the stages of ``process_session`` timed once.

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

from tracker.signal import process as P  # noqa: E402
from tracker.signal.process import process_session  # noqa: E402
from tracker.simulate import simulate_session  # noqa: E402

QUICK = "--quick" in sys.argv
MINUTES = 10 if QUICK else 60
RUNS = 3 if QUICK else 5
RATE_HZ = 200.0
MADGWICK_S = 30.0
TARGET_RATIO = 1.5


def vqf_alone(rec) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    vqf.offlineVQF(np.ascontiguousarray(rec.gyr_rad_s), np.ascontiguousarray(rec.acc_m_s2),
                   np.ascontiguousarray(rec.mag_uT), 1.0 / RATE_HZ)
    return time.perf_counter() - t0


def ours(rec) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    process_session(rec)
    return time.perf_counter() - t0


def madgwick(rec, seconds: float) -> float:  # noqa: ANN001
    from ahrs.filters import Madgwick

    n = int(seconds * RATE_HZ)
    t0 = time.perf_counter()
    Madgwick(gyr=rec.gyr_rad_s[:n], acc=rec.acc_m_s2[:n], mag=rec.mag_uT[:n], frequency=RATE_HZ)
    return time.perf_counter() - t0


def stages(rec) -> dict[str, float]:  # noqa: ANN001
    """Time each stage once by wrapping the functions process_session calls."""
    names = ["estimate_orientation", "calibrate", "find_reps", "_signal_angles",
             "_spikes_and_cracks", "_summary"]
    spent: dict[str, float] = {}
    originals = {name: getattr(P, name) for name in names}

    def timed(name, fn):  # noqa: ANN001, ANN202
        def wrapper(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
        return wrapper

    for name, fn in originals.items():
        setattr(P, name, timed(name, fn))
    try:
        t0 = time.perf_counter()
        process_session(rec)
        total = time.perf_counter() - t0
    finally:
        for name, fn in originals.items():
            setattr(P, name, fn)
    spent["other (decimation, DataFrame, ...)"] = total - sum(spent.values())
    spent["total"] = total
    return spent


def main() -> None:
    t0 = time.perf_counter()
    sim = simulate_session(seed=1, rate_hz=RATE_HZ, minutes=MINUTES, with_mag=True)
    rec = sim.recording
    print(f"data: {rec.duration_s / 60:.1f} min at {RATE_HZ:g} Hz, 9-axis, {len(rec):,} samples "
          f"(simulated in {time.perf_counter() - t0:.0f} s)")
    ours(rec)  # warm-up (imports, caches)
    vqf_alone(rec)
    t_vqf, t_ours = [], []
    for _ in range(RUNS):
        t_vqf.append(vqf_alone(rec))
        t_ours.append(ours(rec))
    m_vqf, m_ours = statistics.median(t_vqf), statistics.median(t_ours)
    ratio = m_ours / m_vqf
    t_mad = [madgwick(rec, MADGWICK_S) for _ in range(3)]
    m_mad = statistics.median(t_mad) * rec.duration_s / MADGWICK_S
    print(f"{'figure':48s} {'median':>10s}  runs")
    print(f"{'VQF alone (offlineVQF, 9D)':48s} {m_vqf:9.2f}s  {[round(x, 2) for x in t_vqf]}")
    print(f"{'full analysis (process_session)':48s} {m_ours:9.2f}s  {[round(x, 2) for x in t_ours]}")
    print(f"{'ahrs Madgwick 9D (pure Python, scaled)':48s} {m_mad:9.1f}s  "
          f"{[round(x, 2) for x in t_mad]} for {MADGWICK_S:g} s of data")
    verdict = "OK" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    print(f"ratio ours / VQF alone: {ratio:.2f} (target <= {TARGET_RATIO}) {verdict}")
    print(f"ratio ours / ahrs Madgwick: {m_ours / m_mad:.3f}")
    print(f"throughput: {len(rec) / m_ours / 1e3:.0f} k samples/s "
          f"({rec.duration_s / m_ours:.0f}x real time)")
    print("stages of one run:")
    for name, sec in stages(rec).items():
        print(f"  {name:44s} {sec:7.2f}s")


if __name__ == "__main__":
    main()
