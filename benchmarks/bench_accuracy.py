"""Accuracy of the analysis on the simulator, across seeds, rates and mountings (issue 14).

Sessions: ``Routine.varied()`` (every plane, quick reps without holds and holds of
1–60 s, seated twists of 4–10° and side bends of 4–8°, standing forward bends, the four
named stretches, a 180° U-turn walk between blocks) and ``Routine.trunkyxl()`` (the
seated TrunkyXL protocol, no holds), each with every mounting of
``tracker.simulate.MOUNTINGS`` plus ``any_flat`` and ``any``, at 50–400 Hz, with sensor
noise drawn between our default part and TrunkyXL's QSense, ±15° misalignment, the
sensor off the centre of rotation (lever arm), cracks and confounders on. The mounting is
never handed to the analysis.

Scoring is ``tests/rep_scoring.py`` (the rule the TrunkyXL test uses). Targets: rep F1
>= 0.95 (and on 4–10° reps), exercise >= 95 %, side >= 98 %, hold MAE <= 0.3 s, peak MAE
<= 2°, true repetitions under 4° being optional (found or not, they cost nothing); while
turning 180°: flexion and lateral bend within ±25°, axial rotation change
within 10° of the turn (worst turn; the share of turns within both is printed too).

Real data, when present (``../shared/data/trunkyxl`` or ``$TRACKER_TRUNKYXL_DIR``): the
same figures as ``tests/test_trunkyxl.py`` against their targets (rotation recall and
precision >= 0.9, side >= 0.97, forward bends recall >= 0.9, backward >= 0.8, no lying or
all-fours repetition, no possible crack).

Usage: python benchmarks/bench_accuracy.py [--quick]   (--quick: 9 sessions instead of 54)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from rep_scoring import (  # noqa: E402
    Event,
    Score,
    TurnFigures,
    format_score,
    from_rep,
    from_truth,
    match,
    score,
    total,
    trunkyxl_trials,
    turn_figures,
)

from tracker.csvio import read_recording  # noqa: E402
from tracker.routine import Routine  # noqa: E402
from tracker.signal.process import process_session  # noqa: E402
from tracker.simulate import MOUNTINGS, RANDOM_MOUNTINGS, SensorModel, simulate_session  # noqa: E402

QUICK = "--quick" in sys.argv
RATES_HZ = (50.0, 100.0, 200.0, 400.0)
MOUNTS = (*MOUNTINGS, *RANDOM_MOUNTINGS)
ROUTINES = {"varied": Routine.varied, "trunkyxl": Routine.trunkyxl}
SMALL_DEG = (4.0, 10.0)
#: True repetitions smaller than this need not be found (issue 14: "down to about 4°").
OPTIONAL_BELOW_DEG = 4.0
SEEDS_PER_CASE = 1 if QUICK else 3
TRUNKYXL_DIR = Path(os.environ.get("TRACKER_TRUNKYXL_DIR", ROOT.parent / "shared" / "data" / "trunkyxl"))

TARGETS = {
    "rep F1": (0.95, ">="),
    "rep F1, 4-10 deg reps": (0.95, ">="),
    "exercise accuracy": (0.95, ">="),
    "side accuracy": (0.98, ">="),
    "hold MAE s": (0.3, "<="),
    "peak MAE deg": (2.0, "<="),
    "turn max |flexion| deg": (25.0, "<="),
    "turn max |lateral bend| deg": (25.0, "<="),
    "turn axial error deg": (10.0, "<="),
}
REAL_TARGETS = {
    "TrunkyXL rotation recall": (0.9, ">="),
    "TrunkyXL rotation precision": (0.9, ">="),
    "TrunkyXL rotation side": (0.97, ">="),
    "TrunkyXL forward bend recall": (0.9, ">="),
    "TrunkyXL backward bend recall": (0.8, ">="),
    "TrunkyXL lying/all-fours reps": (0.0, "<="),
    "TrunkyXL possible cracks": (0.0, "<="),
}


def sensor_for(seed: int, mounting: str) -> SensorModel:
    """Noise between our default MEMS part and TrunkyXL's QSense (measured 0.1 °/s at 50 Hz);
    the sensor 6–17 cm behind and 6–18 cm above the centre the lower back turns about (the
    spread TrunkyXL's people show)."""
    rng = np.random.default_rng(seed)
    return SensorModel(nominal_mounting=mounting, mounting_max_deg=15.0,
                       gyr_noise_density=float(rng.uniform(1.5e-4, 4e-4)),
                       acc_noise_density=float(rng.uniform(1.8e-3, 3.5e-3)),
                       lever_arm_m=(float(rng.uniform(-0.17, -0.06)), 0.0, float(rng.uniform(0.06, 0.18))))


def cases(quick: bool) -> list[tuple[str, str, float, int]]:
    """(routine, mounting, rate, seed): every mounting with both routines, rates in turn."""
    out = []
    for k, mount in enumerate(MOUNTS):
        for j, name in enumerate(ROUTINES):
            if quick and (k + j) % 2:
                continue
            for i in range(SEEDS_PER_CASE):
                out.append((name, mount, RATES_HZ[(k + j + i) % len(RATES_HZ)], 1000 * (j + 1) + 10 * k + i))
    return out


def small_score(truth: list[Event], found: list[Event]) -> Score:
    """Reps of 4–10° at the sensor: found reps matched to them, plus unmatched found reps
    that could be one (|peak| < 12°) as false positives; reps under 4° stay optional."""
    lo, hi = SMALL_DEG
    pairs = match(truth, found)
    small_truth = {i for i, e in enumerate(truth) if lo <= abs(e.peak_deg) <= hi}
    to_truth = {j: i for i, j in pairs}
    keep = [f for j, f in enumerate(found)
            if (j in to_truth and to_truth[j] in small_truth) or (j not in to_truth and abs(f.peak_deg) < hi + 2.0)]
    return score([truth[i] for i in sorted(small_truth)], keep)


def run_case(name: str, mount: str, rate_hz: float, seed: int
             ) -> tuple[Score, Score, list[TurnFigures], float, list[Event]]:
    sim = simulate_session(seed=seed, rate_hz=rate_hz, routine=ROUTINES[name](), sensor=sensor_for(seed, mount))
    t0 = time.perf_counter()
    res = process_session(sim.recording)
    dt = time.perf_counter() - t0
    truth = [from_truth(r) for r in sim.truth.reps]
    found = [from_rep(r) for r in res.reps]
    return (score(truth, found, optional_below_deg=OPTIONAL_BELOW_DEG), small_score(truth, found),
            turn_figures(sim.truth.turns, res.signals), dt, truth)


def real_figures() -> dict[str, float]:
    """TrunkyXL figures (empty when the files are absent)."""
    trials = trunkyxl_trials(TRUNKYXL_DIR) if TRUNKYXL_DIR.is_dir() else []
    if not trials:
        print(f"TrunkyXL: not found in {TRUNKYXL_DIR} (set $TRACKER_TRUNKYXL_DIR); real-data figures skipped")
        return {}
    scores, lying, cracks = [], 0, 0
    for _, csv, labels in trials:
        res = process_session(read_recording(csv))
        scores.append(score(labels, [from_rep(r) for r in res.reps], compare_peaks=False, compare_exercise=False))
        lying += sum(r.exercise in ("trunk_rotation", "cat_stretch")
                     or getattr(r, "posture", None) in ("supine", "all_fours") for r in res.reps)
        cracks += len(res.cracks)
    s = total(scores)
    print(format_score(s, f"TrunkyXL: {len(trials)} real trials, sensor frame as given"))
    return {
        "TrunkyXL rotation recall": s.recall("twist"),
        "TrunkyXL rotation precision": s.precision("twist"),
        "TrunkyXL rotation side": s.side_accuracy("twist"),
        "TrunkyXL forward bend recall": s.recall("forward_bend"),
        "TrunkyXL backward bend recall": s.recall("back_bend"),
        "TrunkyXL lying/all-fours reps": float(lying),
        "TrunkyXL possible cracks": float(cracks),
    }


def main() -> int:
    rows = []
    all_scores: list[Score] = []
    small: list[Score] = []
    turns: list[TurnFigures] = []
    truth_all: list[Event] = []
    by_mount: dict[str, list[Score]] = {}
    by_rate: dict[float, list[Score]] = {}
    for name, mount, rate, seed in cases(QUICK):
        s, ss, tf, dt, truth = run_case(name, mount, rate, seed)
        truth_all.extend(truth)
        all_scores.append(s)
        small.append(ss)
        turns.extend(tf)
        by_mount.setdefault(mount, []).append(s)
        by_rate.setdefault(rate, []).append(s)
        rows.append(f"  {name:8s} {mount:28s} {rate:5.0f} Hz seed {seed:4d}: F1 {s.f1():.3f} "
                    f"(recall {s.recall():.2f}, precision {s.precision():.2f}), small-rep F1 {ss.f1():.3f}, "
                    f"exercise {s.exercise_accuracy:.2f}, side {s.side_accuracy():.2f}, analysis {dt:.1f} s")
    tot, tot_small = total(all_scores), total(small)
    figures = {
        "rep F1": tot.f1(),
        "rep F1, 4-10 deg reps": tot_small.f1(),
        "exercise accuracy": tot.exercise_accuracy,
        "side accuracy": tot.side_accuracy(),
        "hold MAE s": tot.hold_mae_s,
        "peak MAE deg": tot.peak_mae_deg,
        "turn max |flexion| deg": max((t.max_abs_flexion_deg for t in turns), default=float("nan")),
        "turn max |lateral bend| deg": max((t.max_abs_lateral_bend_deg for t in turns), default=float("nan")),
        "turn axial error deg": max((t.axial_error_deg for t in turns), default=float("nan")),
    }
    print("per session:")
    print("\n".join(rows))
    print("per mounting: " + ", ".join(f"{m} {total(v).f1():.2f}" for m, v in by_mount.items()))
    print("per rate:     " + ", ".join(f"{r:.0f} Hz {total(v).f1():.2f}" for r, v in sorted(by_rate.items())))
    print(format_score(tot, f"all {len(all_scores)} sessions"))
    if turns:
        print(f"turns: {len(turns)}; median max |flexion| {statistics.median(t.max_abs_flexion_deg for t in turns):.1f} deg, "
              f"median max |lateral| {statistics.median(t.max_abs_lateral_bend_deg for t in turns):.1f} deg, "
              f"median axial error {statistics.median(t.axial_error_deg for t in turns):.1f} deg")
    bins = ((0, 4), (4, 10), (10, 20), (20, 90))
    print("missed / true reps by kind and |peak| (deg): " + "; ".join(
        f"{k} " + " ".join(
            f"{lo}-{hi}: {sum(lo <= abs(e.peak_deg) < hi for e in tot.unmatched_truth if e.kind == k)}/"
            f"{sum(lo <= abs(e.peak_deg) < hi for e in truth_all if e.kind == k)}" for lo, hi in bins)
        for k in ("forward_bend", "back_bend", "side_bend", "twist")))
    errs = sorted(tot.hold_abs_err_s)
    if errs:
        print(f"hold abs error: median {statistics.median(errs):.2f} s, 90th percentile "
              f"{errs[int(0.9 * (len(errs) - 1))]:.2f} s, worst {errs[-1]:.1f} s over {len(errs)} reps with a hold")
    if turns:
        ok = sum(t.max_abs_flexion_deg <= 25.0 and t.max_abs_lateral_bend_deg <= 25.0
                 and t.axial_error_deg <= 10.0 for t in turns)
        print(f"turns within all three limits: {ok}/{len(turns)}")
    real = real_figures()
    targets = {**TARGETS, **REAL_TARGETS}
    print(f"\n{'figure':32s} {'measured':>9s}  target")
    for k, v in {**figures, **real}.items():
        lim, op = targets[k]
        ok = (v >= lim) if op == ">=" else (v <= lim)
        print(f"{k:32s} {v:9.3f}  {op} {lim:<6g} {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
