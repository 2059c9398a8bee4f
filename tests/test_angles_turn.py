"""Angles that stay sane when the person turns round (gaitmap's ``test_180`` in spirit).

A known orientation history (physics: the gyroscope is the body's angular velocity in
the sensor frame, the accelerometer the specific force) goes through the whole analysis
with a sensor worn flat on the back. The person sits still, makes the calibration bend,
stands leaning 12° forward (so the reference after sitting is not level), walks and
turns 180° about the vertical, then keeps turning to 200°: flexion and lateral bend stay
near their true values, the axial rotation follows the turn past 180° without wrapping,
and the angles CSV names the reference in force.
"""

from __future__ import annotations

import numpy as np

from tracker.recording import Recording
from tracker.signal._quat import quat_conj, quat_from_axis_angle, quat_mul, quat_rotate
from tracker.signal.process import process_session

G = 9.80665
FS = 100.0
EY, EZ = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])


def _smooth_step(n: int) -> np.ndarray:
    s = np.linspace(0.0, 1.0, n)
    return s * s * (3 - 2 * s)


def _turn_session() -> tuple[Recording, dict[str, slice], np.ndarray]:
    def seg(seconds: float, value: float | tuple[float, float]) -> np.ndarray:
        n = int(seconds * FS)
        if isinstance(value, tuple):
            return value[0] + (value[1] - value[0]) * _smooth_step(n)
        return np.full(n, float(value))

    # (flexion deg, heading deg) per phase
    phases = [
        ("still", seg(4, 0), seg(4, 0)),
        ("bend", np.concatenate([seg(2, (0, 20)), seg(2, (20, 0))]), seg(4, 0)),
        ("still2", seg(3, 0), seg(3, 0)),
        ("lean", seg(1.5, (0, 12)), seg(1.5, 0)),
        ("stand", seg(3, 12), seg(3, 0)),
        ("turn", seg(2.5, 12), seg(2.5, (0, 180))),
        ("after", seg(3, 12), seg(3, 180)),
        ("more", seg(1, 12), seg(1, (180, 200))),
        ("end", seg(3, 12), seg(3, 200)),
    ]
    flex = np.concatenate([p[1] for p in phases])
    head = np.concatenate([p[2] for p in phases])
    bounds, k = {}, 0
    for name, f, _ in phases:
        bounds[name] = slice(k, k + f.size)
        k += f.size
    q_wb = quat_mul(quat_from_axis_angle(EZ, np.radians(head + 25.0)), quat_from_axis_angle(EY, np.radians(flex)))
    # a tag flat on the back, turned 30° in its plane: sensor z out of the back
    m = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])  # body axes in sensor coords (columns)
    c, s = np.cos(np.radians(30.0)), np.sin(np.radians(30.0))
    m = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]) @ m
    from tracker.signal._quat import quat_from_matrix
    q_sb = quat_from_matrix(m)
    q_ws = quat_mul(q_wb, quat_conj(q_sb))
    acc = quat_rotate(quat_conj(q_ws), np.array([0.0, 0.0, G]))
    dq = quat_mul(quat_conj(q_ws[:-1]), q_ws[1:])
    dq *= np.sign(dq[:, :1])
    gyr = np.vstack([2.0 * dq[:, 1:] * FS, np.zeros((1, 3))])
    rng = np.random.default_rng(0)
    acc = acc + rng.normal(0, 0.02, acc.shape)
    gyr = gyr + rng.normal(0, 0.002, gyr.shape)
    t = np.arange(flex.size) / FS
    return Recording(t, acc, gyr), bounds, flex


def test_turning_round_keeps_flexion_and_lateral_bend_and_axial_goes_past_180() -> None:
    rec, ph, flex = _turn_session()
    res = process_session(rec, calibration_step_s=(0.0, 11.0))
    assert res.summary.calibration["method"] == "calibration_step"
    sig = res.signals
    f = sig["flexion_deg"].to_numpy()
    lat = sig["lateral_bend_deg"].to_numpy()
    ax = sig["axial_rotation_deg"].to_numpy()
    ref = sig["reference"].astype(str).to_numpy()
    turn = slice(ph["turn"].start, ph["end"].stop)
    # the lean forward stays a 12° lean forward whichever way the person faces
    assert np.abs(f[turn] - flex[turn]).max() < 2.0, np.abs(f[turn] - flex[turn]).max()
    assert np.abs(lat[turn]).max() < 2.0
    # the turn is axial rotation: 180°, and on to 200° (no wrap to −160°, no reset to 0)
    a0 = np.median(ax[ph["stand"]])
    assert abs(np.median(ax[ph["after"]]) - a0 - 180.0) < 5.0
    assert abs(np.median(ax[ph["end"]]) - a0 - 200.0) < 5.0
    # every jump of the angles coincides with a change of reference (none here)
    jumps = np.flatnonzero(np.abs(np.diff(ax)) > 20.0)
    assert all(ref[j] != ref[j + 1] for j in jumps), jumps
    frame = res.angles_frame()
    assert list(frame.columns)[-1] == "reference" and frame["reference"].iloc[0] == "neutral"
