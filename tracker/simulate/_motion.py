"""Evaluate a :class:`Plan` at sample times: angles, orientation, angular velocity, acceleration.

Everything is analytic (value and exact time derivative), so the gyroscope is the true
angular velocity at each sample instant, whatever the rate or jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ._plan import Move, Plan

__all__ = ["Kinematics", "eval_channel", "eval_angles", "eval_kinematics"]

#: Gait accelerations at the lower back while walking, body frame, m/s² (vertical peaks
#: at heel strike at the step frequency, fore-aft at the step frequency, side-to-side at
#: the stride frequency).
_GAIT_ACC_M_S2 = {"z": 1.5, "x": 0.8, "y": 0.6}
#: Pelvic oscillation while walking, degrees (flexion at step, bend and rotation at stride).
_GAIT_ANGLE_DEG = {"f": 2.0, "l": 3.0, "r": 4.0}


def _move_profile(s: np.ndarray, m: Move) -> tuple[np.ndarray, np.ndarray]:
    """Position and velocity of a move at local times ``s`` in ``[0, dur]``."""
    ta, dur = m.ta, m.dur
    v = m.delta / (dur - ta)
    pos = np.empty_like(s)
    vel = np.empty_like(s)
    a = s < ta
    c = s > dur - ta
    b = ~(a | c)
    sa = s[a]
    vel[a] = v * (1 - np.cos(np.pi * sa / ta)) / 2
    pos[a] = v / 2 * (sa - ta / np.pi * np.sin(np.pi * sa / ta))
    vel[b] = v
    pos[b] = v * ta / 2 + v * (s[b] - ta)
    u = s[c] - (dur - ta)
    vel[c] = v * (1 + np.cos(np.pi * u / ta)) / 2
    pos[c] = v * ta / 2 + v * (dur - 2 * ta) + v / 2 * (u + ta / np.pi * np.sin(np.pi * u / ta))
    return pos, vel


def eval_channel(t: np.ndarray, moves: list[Move]) -> tuple[np.ndarray, np.ndarray]:
    """Sum of moves at sorted times ``t``: (value, derivative)."""
    pos = np.zeros_like(t)
    vel = np.zeros_like(t)
    jumps = np.zeros(t.size + 1)
    for m in moves:
        i0, i1 = np.searchsorted(t, (m.t0, m.t1), side="left")
        if i1 > i0:
            p, v = _move_profile(t[i0:i1] - m.t0, m)
            pos[i0:i1] += p
            vel[i0:i1] += v
        jumps[i1] += m.delta
    return pos + np.cumsum(jumps)[:-1], vel


def _oscillate(t: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros_like(t)
    dx = np.zeros_like(t)
    for amp, f, ph in rows[:, :3]:
        w = 2 * np.pi * f
        arg = w * t + ph
        x += amp * np.sin(arg)
        dx += (amp * w) * np.cos(arg)
    return x, dx


def eval_angles(t: np.ndarray, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """True anatomical angles (N, 3) [flexion, lateral bend, axial rotation] in degrees
    and their rates in °/s, at sorted times ``t``."""
    env_h, denv_h = eval_channel(t, plan.moves["env_hold"])
    env_w, denv_w = eval_channel(t, plan.moves["env_walk"])
    hold = np.flatnonzero(env_h != 0)  # hold sway and tremor live only inside holds
    walk = np.flatnonzero(env_w != 0)
    ang = np.empty((t.size, 3))
    rate = np.empty((t.size, 3))
    for j, ch in enumerate(("f", "l", "r")):
        x, dx = eval_channel(t, plan.moves[ch])
        rows = plan.sway[ch]
        s0, ds0 = _oscillate(t, rows[rows[:, 3] == 0])
        x += s0
        dx += ds0
        if hold.size:
            th, eh, deh = t[hold], env_h[hold], denv_h[hold]
            s1, ds1 = _oscillate(th, np.vstack([rows[rows[:, 3] == 1][:, :3], plan.tremor[ch]]))
            x[hold] += eh * s1
            dx[hold] += deh * s1 + eh * ds1
        if walk.size:
            # pelvic oscillation while walking (flexion at the step rate, the others at stride)
            f = plan.step_hz if ch == "f" else plan.step_hz / 2
            w = 2 * np.pi * f
            tw, ew, dew = t[walk], env_w[walk], denv_w[walk]
            g, dg = _GAIT_ANGLE_DEG[ch] * np.sin(w * tw), _GAIT_ANGLE_DEG[ch] * w * np.cos(w * tw)
            x[walk] += ew * g
            dx[walk] += dew * g + ew * dg
        ang[:, j] = x
        rate[:, j] = dx
    return ang, rate


# ----------------------------------------------------------- quaternions (w, x, y, z)
def qmul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product of (..., 4) scalar-first quaternions."""
    pw, px, py, pz = np.moveaxis(p, -1, 0)
    qw, qx, qy, qz = np.moveaxis(q, -1, 0)
    return np.stack([
        pw * qw - px * qx - py * qy - pz * qz,
        pw * qx + px * qw + py * qz - pz * qy,
        pw * qy - px * qz + py * qw + pz * qx,
        pw * qz + px * qy - py * qx + pz * qw,
    ], axis=-1)


def qconj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def qrotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4): q v q*."""
    w = q[..., :1]
    u = q[..., 1:]
    c = 2.0 * _cross(u, v)
    return v + w * c + _cross(u, c)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape)
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def q_from_rotvec(rv: np.ndarray) -> np.ndarray:
    ang = np.linalg.norm(rv, axis=-1, keepdims=True)
    half = 0.5 * ang
    k = np.where(ang > 1e-12, np.sin(half) / np.where(ang > 1e-12, ang, 1.0), 0.5)
    return np.concatenate([np.cos(half), k * rv], axis=-1)


def q_from_rotation(R: Rotation) -> np.ndarray:
    x, y, z, w = R.as_quat()
    return np.array([w, x, y, z])


def q_rel_from_angles(ang_deg: np.ndarray) -> np.ndarray:
    """Ry(f) Rx(l) Rz(r) as (N, 4) scalar-first quaternions."""
    h = np.deg2rad(ang_deg) / 2
    cf, sf = np.cos(h[:, 0]), np.sin(h[:, 0])
    cl, sl = np.cos(h[:, 1]), np.sin(h[:, 1])
    cr, sr = np.cos(h[:, 2]), np.sin(h[:, 2])
    # qy(f) * qx(l) = (cf cl, cf sl, sf cl, -sf sl); then * qz(r)
    a = np.stack([cf * cl, cf * sl, sf * cl, -sf * sl], axis=-1)
    b = np.stack([cr, np.zeros_like(cr), np.zeros_like(cr), sr], axis=-1)
    return qmul(a, b)


def _seg_profile(tau: np.ndarray, dur: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raised-cosine speed: s, ds/dt, d²s/dt² for tau in [0, 1]."""
    two_pi = 2 * np.pi
    s = tau - np.sin(two_pi * tau) / two_pi
    ds = (1 - np.cos(two_pi * tau)) / dur
    dds = two_pi * np.sin(two_pi * tau) / dur**2
    return s, ds, dds


def eval_base(t: np.ndarray, plan: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posture quaternions (N, 4, wxyz), body-frame angular velocity (rad/s), world acc."""
    q = np.empty((t.size, 4))
    w_body = np.zeros((t.size, 3))
    a_world = np.zeros((t.size, 3))
    R = q_from_rotation(plan.base_start)
    q[:] = R
    for seg in plan.base_segs:
        i0, i1 = np.searchsorted(t, (seg.t0, seg.t0 + seg.dur), side="left")
        v = np.asarray(seg.rotvec_body)
        d = np.asarray(seg.disp_world_m)
        if i1 > i0:
            s, ds, dds = _seg_profile((t[i0:i1] - seg.t0) / seg.dur, seg.dur)
            q[i0:i1] = qmul(R, q_from_rotvec(s[:, None] * v))
            w_body[i0:i1] = ds[:, None] * v
            a_world[i0:i1] = dds[:, None] * d
        R = qmul(R, q_from_rotvec(v))
        R /= np.linalg.norm(R)
        q[i1:] = R
    return q, w_body, a_world


@dataclass(frozen=True)
class Kinematics:
    """Body motion at the sample times."""

    angles_deg: np.ndarray  # (N, 3)
    q_wb: np.ndarray  # (N, 4) body -> world, scalar first
    omega_body_rad_s: np.ndarray  # (N, 3)
    specific_force_body_m_s2: np.ndarray  # (N, 3), gravity included (+g up at rest)


def eval_kinematics(t: np.ndarray, plan: Plan, gravity_m_s2: float) -> Kinematics:
    """Orientation, body-frame angular velocity and specific force at sorted times ``t``.

    The lever arm between the lumbar centre of rotation and the sensor is neglected
    (< 0.1 m/s² at stretching speeds); posture changes and walking carry their own
    translational accelerations.
    """
    ang, rate = eval_angles(t, plan)
    f, l, r = np.deg2rad(ang).T
    df, dl, dr = np.deg2rad(rate).T
    q_rel = q_rel_from_angles(ang)  # intrinsic y-x-z: Ry(f) Rx(l) Rz(r)
    # body-frame angular velocity of Ry(f)Rx(l)Rz(r) from the Euler rates
    cr, sr, cl, sl = np.cos(r), np.sin(r), np.cos(l), np.sin(l)
    w_rel = np.column_stack([df * sr * cl + dl * cr, df * cr * cl - dl * sr, -df * sl + dr])
    q_base, w_base, a_world = eval_base(t, plan)
    q_wb = qmul(q_base, q_rel)
    omega = qrotate(qconj(q_rel), w_base) + w_rel
    a_world[:, 2] += gravity_m_s2
    sf = qrotate(qconj(q_wb), a_world)
    # gait accelerations in the body frame, phase-locked to the heel strikes
    env_w, _ = eval_channel(t, plan.moves["env_walk"])
    walk = np.flatnonzero(env_w != 0)
    if walk.size:
        ph = 2 * np.pi * plan.step_hz * t[walk]
        e = env_w[walk]
        sf[walk, 2] += e * _GAIT_ACC_M_S2["z"] * np.cos(ph)
        sf[walk, 0] += e * _GAIT_ACC_M_S2["x"] * np.sin(ph)
        sf[walk, 1] += e * _GAIT_ACC_M_S2["y"] * np.sin(ph / 2)
    return Kinematics(ang, q_wb, omega, sf)
