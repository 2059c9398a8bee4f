"""End-to-end accuracy of ``process_session`` on simulated sessions with known truth.

Sessions: 12 seeds of the default routine (~5 min each), rates 50/100/200/400 Hz in
turn, mounting misalignment up to 15° (every other one exactly 15°; two worn flat on the
back), sensor noise, bias, bias drift, scale errors, jitter and packet loss on (the
simulator's defaults), two with a magnetometer. Analysed once per module.

Matching rules (stated here, used below):

* repetition: a detected repetition matches the first unmatched true one whose
  ``[start_s, end_s]`` contains the detected ``peak_s`` (one-to-one);
* possible crack: matches the first unmatched true crack within ±0.1 s;
* a confounder is "judged a crack" when a possible crack lies within ±0.1 s of it (tap,
  strap slap, footstep) or inside its span (vibration).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest

from tracker.errors import ValidationError
from tracker.recording import Recording
from tracker.signal import ANALYSIS_VERSION
from tracker.signal._quat import quat_from_axis_angle
from tracker.signal.process import process_session
from tracker.signal.result import SessionAnalysis
from tracker.simulate import SensorModel, simulate_session

RATES = (50.0, 100.0, 200.0, 400.0)
N_SESSIONS = 12


@dataclass
class Case:
    seed: int
    rate_hz: float
    sim: object
    res: SessionAnalysis


def _sensor(seed: int) -> SensorModel:
    nominal = "flat_back" if seed in (5, 10) else "aligned"
    if seed % 2:  # exactly 15° about a seeded random axis
        rng = np.random.default_rng(1000 + seed)
        axis = rng.normal(size=3)
        q = quat_from_axis_angle(axis, np.radians(15.0))
        if nominal == "flat_back":
            return SensorModel(nominal_mounting=nominal, mounting_max_deg=15.0)
        return SensorModel(mounting_quat_wxyz=tuple(float(v) for v in q))
    return SensorModel(nominal_mounting=nominal, mounting_max_deg=15.0)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    out = []
    for seed in range(N_SESSIONS):
        rate = RATES[seed % len(RATES)]
        sim = simulate_session(seed=seed, rate_hz=rate, sensor=_sensor(seed), with_mag=seed in (3, 8))
        out.append(Case(seed, rate, sim, process_session(sim.recording)))
    return out


def _match_reps(case: Case) -> list[tuple[int, int]]:
    truth = case.sim.truth.reps
    used: set[int] = set()
    pairs = []
    for k, rep in enumerate(case.res.reps):
        for j, tr in enumerate(truth):
            if j not in used and tr.start_s <= rep.peak_s <= tr.end_s:
                used.add(j)
                pairs.append((k, j))
                break
    return pairs


def test_mounting_is_up_to_15_degrees(cases: list[Case]) -> None:
    mis = [c.sim.truth.mounting.misalignment_deg for c in cases]
    assert max(mis) == pytest.approx(15.0, abs=0.01) and sum(m > 10 for m in mis) >= 5


def test_repetition_detection_f1(cases: list[Case]) -> None:
    tp = fp = fn = 0
    for c in cases:
        n = len(_match_reps(c))
        tp += n
        fp += len(c.res.reps) - n
        fn += len(c.sim.truth.reps) - n
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.95, (tp, fp, fn)


def test_exercise_and_side_recognition(cases: list[Case]) -> None:
    ex_ok = ex_n = side_ok = side_n = 0
    for c in cases:
        for k, j in _match_reps(c):
            rep, tr = c.res.reps[k], c.sim.truth.reps[j]
            ex_n += 1
            ex_ok += rep.exercise == tr.exercise
            if tr.side is not None:
                side_n += 1
                side_ok += rep.side == tr.side
    assert ex_ok / ex_n >= 0.95
    assert side_ok / side_n >= 0.98


def test_hold_duration_and_peak_errors(cases: list[Case]) -> None:
    hold_err, peak_err = [], []
    for c in cases:
        for k, j in _match_reps(c):
            rep, tr = c.res.reps[k], c.sim.truth.reps[j]
            peak_err.append(abs(rep.peak_deg - tr.peak_deg))
            if tr.hold_s is not None:  # a missed hold counts its whole duration
                hold_err.append(abs((rep.hold_s or 0.0) - tr.hold_s))
            else:
                assert rep.hold_s is None
    assert np.mean(hold_err) <= 0.3
    assert np.mean(peak_err) <= 2.0


def test_per_sample_angles_follow_truth(cases: list[Case]) -> None:
    """Seated and inside lying/all-fours repetitions (where the truth's reference is the
    one we use), the angles stay within 2° of the truth: the mounting (up to 15°) is
    calibrated out."""
    cols = ["flexion_deg", "lateral_bend_deg", "axial_rotation_deg"]
    for c in cases:
        t = c.res.signals["t_s"].to_numpy()
        mask = np.zeros(t.size, dtype=bool)
        for p in c.sim.truth.postures:
            if p.posture == "sitting":
                mask |= (t >= p.t_start_s + 1.0) & (t < p.t_end_s - 1.0)
        for r in c.sim.truth.reps:
            if r.posture != "sitting":
                mask |= (t >= r.start_s) & (t <= r.end_s)
        err = np.abs(c.res.signals[cols].to_numpy()[mask] - c.sim.truth.angles[cols].to_numpy()[mask])
        assert np.percentile(err, 95) < 2.0, (c.seed, np.percentile(err, 95, axis=0))


def _match_cracks(case: Case) -> tuple[int, int, int]:
    truth = [c.t_s for c in case.sim.truth.cracks]
    used: set[int] = set()
    tp = fp = 0
    for crack in case.res.cracks:
        hit = next((i for i, t in enumerate(truth) if i not in used and abs(t - crack.t_s) <= 0.1), None)
        if hit is None:
            fp += 1
        else:
            used.add(hit)
            tp += 1
    return tp, fp, len(truth) - tp


# (100 Hz: the threshold is higher there, spikes.THRESHOLD_BY_RATE_HZ: fewer pops, no slaps.
# Over 24 other sessions per rate the score finds 0.59 of these pops at 100 Hz, 0.69 at
# 200 Hz and 0.55 at 400 Hz, with no false one)
@pytest.mark.parametrize("min_rate, min_recall", [(200.0, 0.6), (100.0, 0.35)])
def test_possible_cracks_end_to_end(cases: list[Case], min_rate: float, min_recall: float) -> None:
    # The threshold favours precision (issue 16): possible cracks are pops, and most pops
    # are found. F1 against the targets is measured on the held-out pop family by
    # benchmarks/bench_cracks.py.
    tp = fp = fn = 0
    for c in cases:
        if c.rate_hz == min_rate or (min_rate == 200.0 and c.rate_hz >= 200.0):
            a, b, d = _match_cracks(c)
            tp, fp, fn = tp + a, fp + b, fn + d
    assert tp + fn > 5, "too few true cracks to judge"
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= min_recall, (tp, fp, fn)


def test_confounders_rarely_judged_cracks(cases: list[Case]) -> None:
    judged = total = 0
    for c in cases:
        times = np.array([k.t_s for k in c.res.cracks])
        for cf in c.sim.truth.confounders:
            total += 1
            if cf.kind == "vibration":
                judged += bool(((times >= cf.t_s - 0.1) & (times <= cf.t_s + cf.duration_s + 0.1)).any())
            else:
                judged += bool((np.abs(times - cf.t_s) <= 0.1).any())
    assert total > 50 and judged / total <= 0.05


def test_crack_rep_index_is_the_containing_rep(cases: list[Case]) -> None:
    seen = 0
    for c in cases:
        for crack in c.res.cracks:
            inside = [i for i, r in enumerate(c.res.reps) if r.start_s <= crack.t_s <= r.end_s]
            assert crack.rep == (inside[0] if inside else None)
            seen += crack.rep is not None
    assert seen > 0


def test_result_shape_and_json_contract(cases: list[Case]) -> None:
    c = cases[1]
    res = c.res
    n = len(c.sim.recording)
    assert len(res.signals) == n
    for col in ("t_s", "flexion_deg", "lateral_bend_deg", "axial_rotation_deg", "q_w", "q_x", "q_y",
                "q_z", "rest", "acc_norm_m_s2", "posture", "rep", "primary_deg"):
        assert col in res.signals.columns
    q = res.signals[["q_w", "q_x", "q_y", "q_z"]].to_numpy()
    assert np.linalg.norm(q, axis=1) == pytest.approx(1.0, abs=1e-9)
    js = json.loads(json.dumps(res.to_json("abc"), allow_nan=False))
    assert set(js) == {"session", "reps", "spikes", "cracks", "summary"}
    assert set(js["session"]) == {"id", "duration_s", "sample_rate_hz"} and js["session"]["id"] == "abc"
    assert set(js["reps"][0]) == {"exercise", "side", "plane", "posture", "start_s", "hold_start_s",
                                  "hold_end_s", "end_s", "hold_s", "peak_deg"}
    assert set(js["spikes"][0]) == {"t_s", "peak_m_s2", "possible_crack", "crack_score"}
    if js["cracks"]:
        assert set(js["cracks"][0]) == {"t_s", "peak_m_s2", "score", "rep"}
    s = js["summary"]
    assert s["n_reps"] == len(res.reps) and s["n_possible_cracks"] == len(res.cracks)
    assert s["analysis_version"] == ANALYSIS_VERSION
    assert s["exercises"]["seated_twist"]["left"]["n"] == sum(
        r.exercise == "seated_twist" and r.side == "left" for r in res.reps)
    assert s["calibration"]["mounting_deg"] == pytest.approx(c.sim.truth.mounting.misalignment_deg, abs=2.0)
    assert s["data_quality"]["samples"] == n
    assert s["angles_available"] == {"flexion": True, "lateral_bend": True, "axial_rotation": True}
    # the rep column marks exactly the repetitions' samples
    rep_col = res.signals["rep"].to_numpy()
    r0 = res.reps[0]
    t = res.signals["t_s"].to_numpy()
    assert (rep_col[(t >= r0.start_s) & (t <= r0.end_s)] == 0).all()
    assert res.signals["primary_deg"].to_numpy()[rep_col == 0] == pytest.approx(
        res.signals["flexion_deg"].to_numpy()[rep_col == 0])


def test_magnetometer_sessions_use_9d(cases: list[Case]) -> None:
    modes = {c.seed: c.res.summary.orientation.mode for c in cases}
    assert modes[3] == "9D" and modes[8] == "9D" and modes[0] == "6D"


def test_analysis_is_deterministic_and_does_not_touch_input() -> None:
    sim = simulate_session(seed=21, rate_hz=50.0, minutes=1)
    before = sim.recording.to_array().copy()
    a = process_session(sim.recording)
    b = process_session(sim.recording)
    assert a.to_json("x") == b.to_json("x")
    assert np.array_equal(sim.recording.to_array(), before)
    assert a.signals.equals(b.signals)


def test_too_short_recording_is_rejected() -> None:
    rec = Recording(np.arange(5) / 100.0, np.tile([0, 0, 9.8], (5, 1)), np.zeros((5, 3)))
    with pytest.raises(ValidationError, match="at least 10"):
        process_session(rec)


def test_still_recording_has_no_reps() -> None:
    from helpers import still_recording

    res = process_session(still_recording(3000, 100.0, mag=True))
    assert res.reps == () and res.cracks == ()
    assert res.summary.calibration["neutral_start_s"] is not None
    json.dumps(res.to_json(None), allow_nan=False)


def test_sensor_without_gyroscope() -> None:
    """micro:bit / Polar H10: gravity only. Back-bends, cat stretches and (lying, about a
    horizontal axis) trunk rotations are still measured; seated twists cannot be, and
    walking must not pass for a stretch."""
    tp = fp = n_true = 0
    peak_err = []
    for seed in (2, 3):
        sim = simulate_session(seed=seed, rate_hz=50.0)
        r = sim.recording
        rec = Recording(r.t_s, r.acc_m_s2, np.zeros_like(r.gyr_rad_s), None,
                        dataclasses.replace(r.meta, profile="microbit"))
        res = process_session(rec)
        assert res.summary.orientation.mode == "gravity"
        assert res.summary.angles_available.axial_rotation is False
        upright = (res.signals["posture"] == "upright").to_numpy()
        assert np.isnan(res.signals["axial_rotation_deg"].to_numpy()[upright]).all()
        truth = [t for t in sim.truth.reps if t.exercise != "seated_twist"]
        n_true += len(truth)
        for rep in res.reps:
            hit = [t for t in truth if t.start_s <= rep.peak_s <= t.end_s]
            if hit and hit[0].exercise == rep.exercise:
                tp += 1
                peak_err.append(abs(rep.peak_deg - hit[0].peak_deg))
            else:
                fp += 1
    assert 2 * tp / (2 * tp + fp + (n_true - tp)) >= 0.95
    assert np.mean(peak_err) <= 2.0
