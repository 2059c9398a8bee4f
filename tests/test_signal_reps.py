"""Repetition segmentation, exercise recognition, side, peak and hold on known motions.

The motions are built from known rotations (``body_trajectory`` of the orientation
tests, plus variants here), so every expected value is known exactly.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import numpy as np
import pytest
from test_signal_orientation import G, _ramp, body_trajectory

from tracker.recording import Recording, RecordingMeta
from tracker.signal._quat import quat_conj, quat_from_axis_angle, quat_from_euler_yxz, quat_mul, quat_rotate
from tracker.signal.params import AnalysisParams, RepParams
from tracker.signal.process import process_session
from tracker.signal.reps import POSTURES, classify_posture, find_reps, lowpass

EZ = np.array([0.0, 0.0, 1.0])


def _recording(t, acc, gyr, profile: str = "simulator") -> Recording:
    return Recording(t, acc, gyr, None, RecordingMeta(
        device="synthetic", profile=profile, nominal_rate_hz=float(round(1 / np.median(np.diff(t)))),
        started_at=datetime(2026, 1, 5, tzinfo=timezone.utc)))


def _imu(q_ws: np.ndarray, fs: float, seed: int = 0):
    """Gyroscope and accelerometer of a sensor whose orientation is ``q_ws``."""
    rng = np.random.default_rng(seed)
    dq = np.gradient(q_ws, axis=0) * fs
    gyr = 2 * quat_mul(quat_conj(q_ws), dq)[:, 1:] + rng.normal(0, 0.003, (q_ws.shape[0], 3))
    acc = quat_rotate(quat_conj(q_ws), np.array([0, 0, G])) + rng.normal(0, 0.03, (q_ws.shape[0], 3))
    return gyr, acc


def test_posture_codes() -> None:
    up = np.array([[0, 0, 1.0]] * 50 + [[1.0, 0, 0]] * 50 + [[-1.0, 0, 0]] * 50 + [[0, 1.0, 0]] * 50)
    codes = classify_posture(up, sampling_rate_hz=25.0, max_deg=55.0)
    names = [POSTURES[c] for c in codes[[25, 75, 125, 175]]]
    assert names == ["upright", "supine", "all_fours", "other"]


def test_lowpass_matches_scipy_filtfilt() -> None:
    from scipy import signal as sps

    x = np.random.default_rng(3).normal(size=(400, 2)).cumsum(axis=0)
    ref = sps.sosfiltfilt(sps.butter(2, 2.0, fs=25.0, output="sos"), x, axis=0, padlen=25)
    assert lowpass(x, 2.0, 25.0) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("fs", [50.0, 200.0])
def test_known_session_reps(fs: float) -> None:
    """Back-bends, twists, a forward lean (a generic forward bend) and lying rotations."""
    t, acc, gyr, *_ = body_trajectory(fs, (8, -6, 12))
    res = process_session(_recording(t, acc, gyr))
    got = [(r.exercise, r.side) for r in res.reps]
    assert got == [("chair_backbend", None), ("chair_backbend", None), ("seated_twist", "left"),
                   ("seated_twist", "right"), ("forward_bend", None), ("trunk_rotation", "left"),
                   ("trunk_rotation", "right")]
    assert [(r.plane, r.posture) for r in res.reps] == [
        ("flexion", "upright"), ("flexion", "upright"), ("axial_rotation", "upright"),
        ("axial_rotation", "upright"), ("flexion", "upright"), ("axial_rotation", "supine"),
        ("axial_rotation", "supine")]
    peaks = [r.peak_deg for r in res.reps]
    assert peaks == pytest.approx([-25, -22, 20, -18, 12, 35, -30], abs=1.0)
    # the holds are 5 s (lying: 6 s) between half-cosine ramps of 2.5 s (3 s), whose speed
    # falls linearly into the hold (a sine lobe): the hold's ends are extrapolated from the
    # speed edge as if it fell quadratically (raised cosine, minimum jerk), which reads
    # these 0.1-0.2 s short at each end (the speed limit alone read them 0.15 s long)
    holds = [r.hold_s for r in res.reps]
    assert holds == pytest.approx([5.0] * 5 + [6.0] * 2, abs=0.45)
    starts = [r.start_s for r in res.reps]
    assert starts == pytest.approx([8, 24, 40, 56, 72, 100, 118], abs=0.3)
    for r in res.reps:  # peak inside the hold, hold inside the rep
        assert r.start_s < r.hold_start_s <= r.peak_s <= r.hold_end_s < r.end_s


def test_rep_without_hold_and_short_pause() -> None:
    """A bend that returns at once has no hold; a pause shorter than min_hold_s is none."""
    fs = 100.0
    t = np.arange(int(40 * fs)) / fs
    f = -24 * _ramp(t, 6.0, 2.0, 0.0) - 20 * _ramp(t, 20.0, 2.0, 0.5)
    q_wb = quat_from_euler_yxz(np.radians(f), 0 * t, 0 * t)
    gyr, acc = _imu(q_wb, fs)
    res = process_session(_recording(t, acc, gyr))
    assert [r.exercise for r in res.reps] == ["chair_backbend", "chair_backbend"]
    assert res.reps[0].hold_s is None and res.reps[0].hold_start_s is None
    assert res.reps[1].hold_s is None
    assert res.reps[0].peak_deg == pytest.approx(-24, abs=0.5)
    # with a lower minimum the 0.5 s pause is a hold (the parameter is used)
    p = AnalysisParams(reps=RepParams(min_hold_s=0.3))
    res2 = process_session(_recording(t, acc, gyr), params=p)
    assert res2.reps[1].hold_s == pytest.approx(0.5, abs=0.3)


def _drifting_twists(drift_deg_s: float, fs: float = 100.0):
    """Seated twists while the heading estimate drifts (rotation about world vertical)."""
    t = np.arange(int(120 * fs)) / fs
    r = np.zeros_like(t)
    for t0, amp in ((10, 15), (40, -15), (70, 18)):
        r += amp * _ramp(t, t0, 1.5, 15.0)
    q_wb = quat_from_euler_yxz(0 * t, 0 * t, np.radians(r))
    q_seen = quat_mul(quat_from_axis_angle(EZ, np.radians(drift_deg_s * t)), q_wb)
    return t, q_wb, q_seen


def test_rep_reference_removes_heading_drift() -> None:
    """0.1 °/s of heading drift (2 ° over a twist) must not reach the peak (<= 0.3°)."""
    fs = 25.0
    t, q_true, q_seen = _drifting_twists(0.1, fs)
    still = np.ones(t.size, dtype=bool)
    reps, _, _ = find_reps(t, q_seen, still, sampling_rate_hz=fs)
    assert [(r.exercise, r.side) for r in reps] == [("seated_twist", "left"), ("seated_twist", "right"),
                                                    ("seated_twist", "left")]
    assert [r.peak_deg for r in reps] == pytest.approx([15, -15, 18], abs=0.3)
    # the same data without the correction is off by the drift within the rep
    off = RepParams(drift_correction=False)
    reps2, _, _ = find_reps(t, q_seen, still, sampling_rate_hz=fs, params=off)
    assert max(abs(a.peak_deg - b.peak_deg) for a, b in zip(reps, reps2)) > 1.0


def test_turning_round_is_not_a_twist() -> None:
    """Standing, turning 120° and staying there, then twisting: only the twist counts."""
    fs = 25.0
    t = np.arange(int(60 * fs)) / fs
    heading = 120 * _ramp(t, 10.0, 3.0, 1e9)
    r = 16 * _ramp(t, 30.0, 1.5, 6.0)
    q_wb = quat_mul(quat_from_axis_angle(EZ, np.radians(heading)),
                    quat_from_euler_yxz(0 * t, 0 * t, np.radians(r)))
    reps, parts, _ = find_reps(t, q_wb, np.ones(t.size, dtype=bool), sampling_rate_hz=fs)
    assert [(r.exercise, r.side) for r in reps] == [("seated_twist", "left")]
    assert reps[0].peak_deg == pytest.approx(16, abs=0.3)
    assert len(parts) == 2  # re-referenced where the turn settled


def test_no_gyroscope_sensor() -> None:
    """micro:bit-like: no gyro. Bends from gravity; twists cannot be seen; said so."""
    fs = 50.0
    t, acc, gyr, *_ = body_trajectory(fs, (5, 5, 0), with_lying=False)
    res = process_session(_recording(t, acc, np.zeros_like(gyr), profile="microbit"))
    assert [r.exercise for r in res.reps] == ["chair_backbend", "chair_backbend", "forward_bend"]
    assert [r.peak_deg for r in res.reps] == pytest.approx([-25, -22, 12], abs=1.5)
    assert res.summary.angles_available.axial_rotation is False
    assert np.isnan(res.signals["axial_rotation_deg"]).all()
    assert any("axial rotation unavailable while upright" in n for n in res.summary.notes)


def test_params_are_validated() -> None:
    from tracker.errors import ValidationError

    with pytest.raises(ValidationError, match="min_peak_deg"):
        RepParams(min_peak_deg=0)
    assert dataclasses.replace(RepParams(), min_peak_deg=6.0).min_peak_deg == 6.0


@pytest.mark.parametrize("seed, rate_hz", [(1, 50.0), (4, 200.0)])
def test_steps_taken_in_one_go_change_nothing(seed: int, rate_hz: float) -> None:
    """Calm steps between repetitions and the steps of a hold are applied in one go
    (RepFinder.rest_until, hold_until): the same repetitions as stepping through all."""
    from tracker.signal import process as P
    from tracker.simulate import simulate_session

    captured = {}
    orig = P.find_reps

    def keep(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        captured["call"] = (args, kwargs)
        return orig(*args, **kwargs)

    sim = simulate_session(seed=seed, rate_hz=rate_hz)
    P.find_reps = keep
    try:
        P.process_session(sim.recording)
    finally:
        P.find_reps = orig
    args, kwargs = captured["call"]
    fast, _, _ = orig(*args, **kwargs)
    every, _, _ = orig(*args, **{**kwargs, "_step_all": True})
    assert len(fast) == len(every) > 0
    for a, b in zip(fast, every):
        assert (a.exercise, a.side, a.start, a.end, a.peak, a.hold_start, a.hold_end) == \
            (b.exercise, b.side, b.start, b.end, b.peak, b.hold_start, b.hold_end)
        assert a.peak_deg == b.peak_deg and a.confidence == b.confidence


def test_small_quick_alternating_reps_in_every_plane_count_and_a_wobble_does_not() -> None:
    """Seated at 50 Hz: left/right twists of 4.5° going straight from one side to the other
    (0.75 s each way, no pause, no hold), side bends of 4.5° each way and a forward bend
    of 5°, then a 1.5° wobble: the repetitions count, in their plane, with their side."""
    fs = 50.0
    t = np.arange(int(40 * fs)) / fs
    rot, lat, flex = 0 * t, 0 * t, 0 * t
    for k, t0 in enumerate((5.0, 6.5, 8.0, 9.5)):  # alternating, each 1.5 s out and back
        rot += (4.5 if k % 2 == 0 else -4.5) * _ramp(t, t0, 0.75, 0.0)
    for k, t0 in enumerate((14.0, 16.0)):
        lat += (4.5 if k == 0 else -4.5) * _ramp(t, t0, 0.9, 0.0)
    flex += 5.0 * _ramp(t, 21.0, 1.0, 0.0) + 1.5 * _ramp(t, 28.0, 1.0, 0.0)
    q_wb = quat_from_euler_yxz(np.radians(flex), np.radians(lat), np.radians(rot))
    gyr, acc = _imu(q_wb, fs)
    res = process_session(_recording(t, acc, gyr))
    got = [(r.exercise, r.side, r.plane) for r in res.reps]
    assert got == [("seated_twist", "left", "axial_rotation"), ("seated_twist", "right", "axial_rotation"),
                   ("seated_twist", "left", "axial_rotation"), ("seated_twist", "right", "axial_rotation"),
                   ("side_bend", "right", "lateral_bend"), ("side_bend", "left", "lateral_bend"),
                   ("forward_bend", None, "flexion")]
    assert [r.peak_deg for r in res.reps] == pytest.approx([4.5, -4.5, 4.5, -4.5, 4.5, -4.5, 5.0], abs=0.5)
    assert all(r.hold_s is None and r.posture == "upright" for r in res.reps)


def test_the_smallest_repetition_adapts_to_the_noise_at_rest() -> None:
    from tracker.signal.repcore import angle_noise_deg, rep_levels

    p = RepParams()
    quiet = rep_levels(p, 0.02)
    assert quiet.min_peak_deg == p.min_peak_deg and quiet.detect_deg == pytest.approx(p.detect_frac * p.min_peak_deg)
    noisy = rep_levels(p, 0.8)
    assert noisy.min_peak_deg == pytest.approx(p.noise_factor * 0.8)
    assert rep_levels(p, 0.0, has_heading=False).min_peak_deg == p.min_peak_gravity_deg
    rng = np.random.default_rng(0)
    x = np.linspace(0, 3.0, 200)[:, None] + rng.normal(0, 0.5, (200, 1))  # drift + noise
    assert angle_noise_deg(x) == pytest.approx(0.5, abs=0.07)  # the drift is not noise


def test_continuous_forward_and_backward_bends_count_both_ways() -> None:
    """Seated flexion–extension as TrunkyXL's people move (50 Hz, no pause, no hold): a
    quick 18° forward bend swings straight on into a 3.8° extension and back up. Each
    extension counts, measured from the upright posture the forward bend crossed (not
    from the first sample past it, which a quick return overshoots by degrees)."""
    fs = 50.0
    t = np.arange(int(24 * fs)) / fs
    flex = 0 * t
    for t0 in (4.0, 10.0, 16.0):
        flex += 18.0 * _ramp(t, t0, 1.0, 0.0) - 3.8 * _ramp(t, t0 + 1.6, 0.7, 0.0)
    q_wb = quat_from_euler_yxz(np.radians(flex), 0 * t, 0 * t)
    gyr, acc = _imu(q_wb, fs)
    res = process_session(_recording(t, acc, gyr))
    got = [(r.exercise, round(r.peak_s)) for r in res.reps]
    assert got == [("forward_bend", 5), ("chair_backbend", 6), ("forward_bend", 11), ("chair_backbend", 12),
                   ("forward_bend", 17), ("chair_backbend", 18)]
    assert [r.peak_deg for r in res.reps] == pytest.approx([18.0, -3.8] * 3, abs=0.6)


def test_a_recording_that_starts_still_only_briefly_measures_from_that_posture() -> None:
    """A recording started 0.25 s before the first forward bend (TrunkyXL's trials start
    0.3–2 s before): the bends are measured from the posture the person sat in, not from
    the top of the first bend (its first calm half second): three forward bends."""
    fs = 50.0
    t = np.arange(int(14 * fs)) / fs
    flex = 0 * t
    for t0 in (0.25, 4.25, 8.25):
        flex += 16.0 * _ramp(t, t0, 0.8, 0.3)
    q_wb = quat_from_euler_yxz(np.radians(flex), 0 * t, 0 * t)
    gyr, acc = _imu(q_wb, fs)
    res = process_session(_recording(t, acc, gyr))
    assert [r.exercise for r in res.reps] == ["forward_bend"] * 3
    assert [r.peak_deg for r in res.reps] == pytest.approx([16.0] * 3, abs=1.0)
