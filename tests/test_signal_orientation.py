"""Orientation (VQF adapter), sensor-to-body calibration and anatomical angles.

Ground truth here is built from known rotations: a body trajectory is written as
quaternions, the sensor's gyroscope and accelerometer are derived from it exactly
(finite differences of the orientation; gravity rotated into the sensor frame), then
bias and noise are added.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.errors import ValidationError
from tracker.signal._quat import (
    euler_yxz_from_quat, quat_angle_rad, quat_conj, quat_from_axis_angle, quat_from_euler_yxz,
    quat_from_two_vectors, quat_mul, quat_rotate,
)
from tracker.signal.angles import body_quat, body_up, gravity_angles_deg, relative_angles_deg
from tracker.signal.calibration import NOMINAL_MOUNTINGS, calibrate
from tracker.signal.orientation import (
    OnlineOrientation, estimate_orientation, has_gyroscope, uniform_grid,
)
from tracker.signal.params import OrientationParams

G = 9.80665
EZ = np.array([0.0, 0.0, 1.0])


def _ramp(t: np.ndarray, t0: float, ramp_s: float, hold_s: float) -> np.ndarray:
    up = 0.5 - 0.5 * np.cos(np.pi * np.clip((t - t0) / ramp_s, 0, 1))
    down = 0.5 - 0.5 * np.cos(np.pi * np.clip((t - t0 - ramp_s - hold_s) / ramp_s, 0, 1))
    return up - down


#: Where a sensor on the lower back sits from the point the back bends about, body frame
#: (m): behind it and above it (TrunkyXL: 0.05–0.14 m behind).
LEVER_ARM_M = (-0.10, 0.0, 0.10)


def body_trajectory(fs: float, mounting_deg: tuple[float, float, float], *, seed: int = 0,
                    bias_rad_s: tuple[float, float, float] = (0.01, -0.006, 0.008),
                    with_lying: bool = True,
                    lever_arm_m: tuple[float, float, float] | None = None):
    """Seated back-bends and twists, then (optionally) lying with pelvis rotations.

    ``lever_arm_m``: the sensor sits this far (body frame) from a pivot fixed in the
    world, so it also feels the acceleration of its path (None: at the pivot, so the
    accelerometer feels gravity only and nothing tells forward from backward).

    Returns t, acc, gyr, q_world_sensor, q_world_body, q_sensor_body, exercise angles.
    """
    rng = np.random.default_rng(seed)
    dur = 150.0 if with_lying else 85.0
    t = np.arange(int(dur * fs)) / fs
    ex = np.zeros((t.size, 3))
    for t0, amp in ((8, (-25, 0, 0)), (24, (-22, 0, 0)), (40, (0, 0, 20)), (56, (0, 0, -18)),
                    (72, (12, 0, 0))):
        ex += np.outer(_ramp(t, t0, 2.5, 5.0), amp)
    flex_base = np.zeros(t.size)
    heading = np.radians(30.0) + np.zeros(t.size)
    if with_lying:
        flex_base = -90.0 * _ramp(t, 88.0, 4.0, 1000.0)
        heading = heading + np.radians(25.0) * _ramp(t, 86.0, 2.0, 1000.0)
        for t0, amp in ((100, (0, 0, 35)), (118, (0, 0, -30))):
            ex += np.outer(_ramp(t, t0, 3.0, 6.0), amp)
    q_head = quat_from_axis_angle(EZ, heading)
    q_base = quat_from_euler_yxz(np.radians(flex_base), 0 * t, 0 * t)
    q_ex = quat_from_euler_yxz(*np.radians(ex).T)
    q_wb = quat_mul(quat_mul(q_head, q_base), q_ex)
    q_sb = quat_from_euler_yxz(*np.radians(mounting_deg))
    q_ws = quat_mul(q_wb, quat_conj(q_sb))
    dq = np.gradient(q_ws, axis=0) * fs
    gyr = 2 * quat_mul(quat_conj(q_ws), dq)[:, 1:]
    f_world = np.tile([0.0, 0.0, G], (t.size, 1))
    if lever_arm_m is not None:
        pos = quat_rotate(q_wb, np.asarray(lever_arm_m, dtype=float))
        f_world += np.gradient(np.gradient(pos, axis=0), axis=0) * fs ** 2
    acc = quat_rotate(quat_conj(q_ws), f_world)
    gyr = gyr + np.asarray(bias_rad_s) + rng.normal(0, 0.003, gyr.shape)
    acc = acc + rng.normal(0, 0.03, acc.shape)
    return t, acc, gyr, q_ws, q_wb, q_sb, ex


# ------------------------------------------------------------------ quaternion basics
@settings(max_examples=200, deadline=None)
@given(st.floats(-170, 170), st.floats(-85, 85), st.floats(-170, 170))
def test_euler_yxz_round_trip(a: float, b: float, c: float) -> None:
    q = quat_from_euler_yxz(np.radians(a), np.radians(b), np.radians(c))
    back = np.degrees(euler_yxz_from_quat(q))
    assert back == pytest.approx([a, b, c], abs=1e-6)


def test_angle_signs_follow_design() -> None:
    """Forward bend tips body x down; left turn turns x toward +y; right bend tips z to -y."""
    ref = np.array([1.0, 0, 0, 0])
    fwd = quat_from_axis_angle(np.array([0, 1.0, 0]), np.radians(20))
    assert quat_rotate(fwd, np.array([1.0, 0, 0]))[2] < 0  # x points down: forward bend
    assert relative_angles_deg(fwd[None], ref)[0] == pytest.approx([20, 0, 0], abs=1e-9)
    left = quat_from_axis_angle(EZ, np.radians(15))
    assert quat_rotate(left, np.array([1.0, 0, 0]))[1] > 0  # x turns toward left (+y)
    assert relative_angles_deg(left[None], ref)[0] == pytest.approx([0, 0, 15], abs=1e-9)
    right = quat_from_axis_angle(np.array([1.0, 0, 0]), np.radians(10))
    assert quat_rotate(right, EZ)[1] < 0  # head toward -y: right
    assert relative_angles_deg(right[None], ref)[0] == pytest.approx([0, 10, 0], abs=1e-9)


def test_shortest_arc_handles_antiparallel() -> None:
    a = np.array([[0, 0, 1.0], [1.0, 0, 0], [0.3, -0.2, 0.9]])
    b = np.array([[0, 0, -1.0], [0, 1.0, 0], [0.3, -0.2, 0.9]])
    q = quat_from_two_vectors(a, b)
    for i in range(3):
        assert quat_rotate(q[i], a[i] / np.linalg.norm(a[i])) == pytest.approx(
            b[i] / np.linalg.norm(b[i]), abs=1e-9)


# ------------------------------------------------------------------ orientation
def test_static_sensor_y_up_and_rest() -> None:
    n, fs = 800, 100.0
    t = np.arange(n) / fs
    acc = np.tile([0.0, G, 0.0], (n, 1))
    gyr = np.full((n, 3), 1e-4)
    o = estimate_orientation(t, acc, gyr, sampling_rate_hz=fs)
    assert o.mode == "6D"
    assert quat_rotate(o.quat_wxyz[-1], np.array([0, 1.0, 0])) == pytest.approx(EZ, abs=1e-3)
    assert o.rest[-200:].all()


@settings(max_examples=15, deadline=None)
@given(st.floats(-1.5, 1.5).filter(lambda w: abs(w) > 0.11), st.floats(1.0, 4.0))
def test_constant_rate_integrates_to_rate_times_time(w: float, dur: float) -> None:
    """A constant ω about the vertical for T s turns the heading by ωT.

    Faster than the largest turn-on gyro offset taken for bias (StillBias, 6 °/s): a
    steadier, slower rate from the first sample on is indistinguishable from bias."""
    fs = 200.0
    n = int(dur * fs)
    t = np.arange(n) / fs
    acc = np.tile([0.0, 0.0, G], (n, 1))
    gyr = np.tile([0.0, 0.0, w], (n, 1))
    o = estimate_orientation(t, acc, gyr, sampling_rate_hz=fs)
    turned = quat_mul(o.quat_wxyz[-1], quat_conj(o.quat_wxyz[0]))
    yaw = np.degrees(2 * np.arctan2(turned[3], turned[0]))
    expected = np.degrees(w * (n - 1) / fs)
    diff = (yaw - expected + 180) % 360 - 180
    assert diff == pytest.approx(0.0, abs=0.5)


def test_gap_in_time_base_is_bridged() -> None:
    """A 0.5 s packet loss during a steady turn must not lose the turn made meanwhile."""
    fs, w = 100.0, 0.8
    t = np.arange(600) / fs
    keep = (t < 2.0) | (t >= 2.5)
    t = t[keep]
    acc = np.tile([0.0, 0.0, G], (t.size, 1))
    gyr = np.tile([0.0, 0.0, w], (t.size, 1))
    assert uniform_grid(t, sampling_rate_hz=fs, max_gap_fill_s=5.0) is not None
    o = estimate_orientation(t, acc, gyr, sampling_rate_hz=fs)
    assert o.n_filled == 50
    turned = quat_mul(o.quat_wxyz[-1], quat_conj(o.quat_wxyz[0]))
    yaw = 2 * np.arctan2(turned[3], turned[0])
    assert yaw == pytest.approx(w * (t[-1] - t[0]), abs=np.radians(0.5))


def test_no_gyroscope_uses_gravity_and_says_so() -> None:
    n, fs = 400, 50.0
    t = np.arange(n) / fs
    tilt = np.radians(30.0)
    acc = np.tile([-G * np.sin(tilt), 0.0, G * np.cos(tilt)], (n, 1))
    gyr = np.zeros((n, 3))
    assert not has_gyroscope(gyr) and not has_gyroscope(gyr + 1, "polar-h10")
    o = estimate_orientation(t, acc, gyr, sampling_rate_hz=fs, profile="microbit")
    assert o.mode == "gravity" and not o.has_heading
    assert any("axial rotation unavailable while upright" in s for s in o.notes)
    up = body_up(o.quat_wxyz)
    ang = gravity_angles_deg(up, EZ)
    assert ang[n // 2, 0] == pytest.approx(30.0, abs=0.1)  # forward bend from gravity
    assert ang[n // 2, 1] == pytest.approx(0.0, abs=0.1)
    assert np.isnan(ang[:, 2]).all()


def test_gravity_angles_see_pelvis_roll_when_lying() -> None:
    """Lying on the back, a roll about the body's long axis is visible in gravity."""
    roll = np.radians(np.array([0.0, 10.0, -25.0]))
    q = quat_mul(quat_from_euler_yxz(np.radians(-90.0), 0.0, 0.0), quat_from_axis_angle(EZ, roll))
    up = body_up(q)
    ang = gravity_angles_deg(up, up[0])
    assert ang[:, 2] == pytest.approx(np.degrees(roll), abs=1e-6)
    assert np.isnan(ang[:, 1]).all()


def test_implausible_magnetometer_falls_back_to_6d() -> None:
    n, fs = 500, 100.0
    t = np.arange(n) / fs
    acc = np.tile([0.0, 0.0, G], (n, 1))
    gyr = np.full((n, 3), 1e-3)
    mag = np.tile([300.0, 0.0, 0.0], (n, 1))  # 300 µT: not the Earth's field
    o = estimate_orientation(t, acc, gyr, mag, sampling_rate_hz=fs)
    assert o.mode == "6D" and any("magnetometer ignored" in s for s in o.notes)
    # a static sensor never lets VQF accept the field (it must see it while turning)
    o2 = estimate_orientation(t, acc, gyr, np.tile([0.0, 20.0, -40.0], (n, 1)), sampling_rate_hz=fs)
    assert o2.mode == "6D" and any("disturbed" in s for s in o2.notes)


def test_magnetometer_gives_absolute_heading() -> None:
    """Turning at 40 °/s, then still: 9D heading matches the truth (ENU, x east)."""
    fs = 100.0
    t = np.arange(3000) / fs
    w = np.where(t < 10.0, np.radians(40.0), 0.0)
    psi = np.radians(20.0) + np.cumsum(w) / fs
    acc = np.tile([0.0, 0.0, G], (t.size, 1))
    gyr = np.column_stack([0 * t, 0 * t, w])
    m_world = np.array([0.0, 20.0, -40.0])
    mag = quat_rotate(quat_conj(quat_from_axis_angle(EZ, psi)), m_world)
    o = estimate_orientation(t, acc, gyr, mag, sampling_rate_hz=fs)
    assert o.mode == "9D" and o.mag_disturbed_fraction < 0.5
    yaw = 2 * np.arctan2(o.quat_wxyz[-1, 3], o.quat_wxyz[-1, 0])
    assert np.degrees((yaw - psi[-1] + np.pi) % (2 * np.pi) - np.pi) == pytest.approx(0.0, abs=2.0)


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValidationError, match="shape"):
        estimate_orientation(np.arange(10.0), np.zeros((10, 2)), np.zeros((10, 3)), sampling_rate_hz=10)
    with pytest.raises(ValidationError, match="sampling_rate_hz"):
        estimate_orientation(np.arange(10.0), np.zeros((10, 3)), np.zeros((10, 3)), sampling_rate_hz=0)
    with pytest.raises(ValidationError, match="use_mag"):
        OrientationParams(use_mag="sometimes")  # type: ignore[arg-type]


def test_online_matches_offline_after_convergence() -> None:
    fs = 100.0
    t, acc, gyr, q_ws, *_ = body_trajectory(fs, (5, -5, 10), with_lying=False)
    off = estimate_orientation(t, acc, gyr, sampling_rate_hz=fs)
    live = OnlineOrientation(fs)
    parts = [live.update(t[i:i + 37], acc[i:i + 37], gyr[i:i + 37]) for i in range(0, t.size, 37)]
    q_on = np.vstack([p[0] for p in parts])
    assert q_on.shape == off.quat_wxyz.shape
    # inclination of the causal filter agrees with the acausal one after convergence
    up_on = quat_rotate(quat_conj(q_on[2000:]), EZ)
    up_off = quat_rotate(quat_conj(off.quat_wxyz[2000:]), EZ)
    err = np.degrees(np.arccos(np.clip(np.sum(up_on * up_off, axis=1), -1, 1)))
    assert np.percentile(err, 95) < 1.5


def test_online_bridges_gap_between_batches() -> None:
    fs, w = 100.0, 0.6
    t = np.arange(500) / fs
    t = t[(t < 2.0) | (t >= 2.4)]
    acc = np.tile([0.0, 0.0, G], (t.size, 1))
    gyr = np.tile([0.0, 0.0, w], (t.size, 1))
    live = OnlineOrientation(fs)
    cut = int(np.searchsorted(t, 2.0))
    q1, _ = live.update(t[:cut], acc[:cut], gyr[:cut])
    q2, _ = live.update(t[cut:], acc[cut:], gyr[cut:])
    assert q1.shape[0] + q2.shape[0] == t.size
    turned = quat_mul(q2[-1], quat_conj(q1[0]))
    assert 2 * np.arctan2(turned[3], turned[0]) == pytest.approx(w * (t[-1] - t[0]), abs=np.radians(0.5))


# ------------------------------------------------------------------ calibration + angles
@pytest.mark.parametrize("mounting", [(0, 0, 0), (10, -8, 12), (-15, 15, -15), (15, 0, -15), (0, -15, 15),
                                      (5, -5, 170)])
def test_calibration_recovers_mounting_and_angles(mounting: tuple[float, float, float]) -> None:
    """A sensor on a real back (behind the bending axis): the mounting, forward sign
    included, comes from the data, even worn turned round (the last case)."""
    fs = 100.0
    t, acc, gyr, q_ws, q_wb, q_sb, ex = body_trajectory(fs, mounting, seed=sum(mounting) % 7,
                                                        lever_arm_m=LEVER_ARM_M)
    o = estimate_orientation(t, acc, gyr, sampling_rate_hz=fs)
    cal = calibrate(t, acc, gyr, o.quat_wxyz, sampling_rate_hz=fs, gyr_bias_rad_s=o.gyr_bias_rad_s)
    err = np.degrees(quat_angle_rad(quat_mul(quat_conj(q_sb), cal.q_sensor_body)))
    assert err < 1.0, cal.to_dict()
    assert cal.method == "gravity+movement" and cal.confidence >= 0.5 and cal.warning is None
    assert cal.neutral_start_s is not None and cal.neutral_end_s < 8.0
    assert cal.mounting_deg == pytest.approx(min(np.degrees(quat_angle_rad(quat_mul(quat_conj(q), q_sb)))
                                                 for q in NOMINAL_MOUNTINGS.values()), abs=1.0)
    ang = relative_angles_deg(body_quat(o.quat_wxyz, cal.q_sensor_body), cal.q_world_body_ref)
    seated = t < 85
    # seated: the reference is the neutral posture, angles = the exercise angles
    assert np.abs(ang[seated] - ex[seated]).max() < 2.0
    # lying: relative to the lying start posture, the pelvis rotation is the axial angle
    i0 = int(np.searchsorted(t, 98.0))
    q_b = body_quat(o.quat_wxyz, cal.q_sensor_body)
    lying = relative_angles_deg(q_b[i0:], q_b[i0])
    assert np.abs(lying[:, 2] - ex[i0:, 2]).max() < 2.0


def test_uncalibrated_mounting_would_bias_angles() -> None:
    """The check above can fail: with the nominal mounting the error exceeds 2°."""
    fs = 100.0
    t, acc, gyr, q_ws, q_wb, q_sb, ex = body_trajectory(fs, (15, 0, -15), with_lying=False)
    o = estimate_orientation(t, acc, gyr, sampling_rate_hz=fs)
    q_ref = q_ws[300]
    ang = relative_angles_deg(o.quat_wxyz, q_ref)  # sensor axes taken as body axes
    assert np.abs(ang - ex).max() > 2.0


@pytest.mark.parametrize("mounting", [(10, -8, 12), (5, -5, 170)])
def test_no_sign_cue_keeps_the_nominal_and_says_so(mounting: tuple[float, float, float]) -> None:
    """A sensor at the bending axis (no lever arm) and no walking: nothing in the data
    says which way is forward. The device's own axes decide (a sensor worn the usual way
    is never turned round by noise), with a low confidence and a warning."""
    fs = 100.0
    t, acc, gyr, _, _, q_sb, _ = body_trajectory(fs, mounting, seed=3, with_lying=False)
    o = estimate_orientation(t, acc, gyr, sampling_rate_hz=fs)
    cal = calibrate(t, acc, gyr, o.quat_wxyz, sampling_rate_hz=fs, gyr_bias_rad_s=o.gyr_bias_rad_s)
    # the forward axis itself is found; only its sign is the nominal's
    x_found = quat_rotate(cal.q_sensor_body, np.array([1.0, 0.0, 0.0]))
    assert abs(x_found @ quat_rotate(q_sb, np.array([1.0, 0.0, 0.0]))) > 0.999
    assert x_found[0] > 0.9  # sensor x forward, as an upright device is worn
    assert abs(cal.sign_votes["lever_arm"]) < abs(cal.sign_votes["nominal"])
    assert cal.confidence < 0.5 and cal.warning and "calibration step" in cal.warning


def test_calibration_without_still_period_keeps_nominal() -> None:
    """No still period, no walking, no movement to read: 'up' is the mean gravity and
    forward the nominal's, reported as such with a warning (never assumed silently)."""
    fs = 50.0
    n = 1000
    t = np.arange(n) / fs
    w = np.column_stack([0.5 * np.sin(t), 0.4 * np.cos(0.7 * t), 0.3 * np.sin(1.3 * t)])
    acc = np.tile([0.0, 0.0, G], (n, 1)) + np.random.default_rng(1).normal(0, 2.0, (n, 3))
    o = estimate_orientation(t, acc, w, sampling_rate_hz=fs)
    cal = calibrate(t, acc, w, o.quat_wxyz, sampling_rate_hz=fs, use_movement=False)
    assert cal.neutral_start_s is None and cal.forward_source == "nominal"
    assert cal.method == "nominal" and cal.up_source == "mean"
    assert cal.q_sensor_body == pytest.approx([1, 0, 0, 0], abs=0.01)
    assert "no still period" in cal.notes[0]
    assert cal.confidence < 0.5 and cal.warning and "usual way of wearing it" in cal.warning
    summary = cal.to_dict()
    assert summary["reference"] == "first samples (no still period found)" and summary["warning"]
