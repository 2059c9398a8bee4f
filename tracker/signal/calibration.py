"""Sensor-to-body calibration: how the sensor sits on the lower back, found from the data.

The mounting is ``q_sensor_body`` (body-frame vectors into the sensor frame, i.e. the
body axes written in sensor coordinates; body: x forward, y left, z up). Nothing about
how the sensor is worn is assumed: a tag flat on the back in any rotation, a phone
upright or sideways, screen in or out. Three things are found, each with its evidence:

1. **Up** (body z) from gravity in a still period: the first still run near the start,
   wherever the person is (seated, standing); a tap or a pop inside it neither ends it nor
   tilts 'up' (the median of its still samples). When the person walks in the recording,
   gravity averaged over the walking is 'up' too: if the early still period disagrees
   with it by more than 60° (the recording started lying down), the walking wins and the neutral
   posture is the first still period that agrees with it.
2. **Forward axis** (a turn ψ about body z, modulo a half turn) from movement: bends
   turn about body y, twists about z (removed by projection), side bends about x, so
   the principal axis of the angular rate perpendicular to 'up' while upright is body
   y (bends are larger than side bends at the lower back); still postures far from
   upright (lying, all fours) have gravity along ±x.
3. **Which way is forward** (the half turn) from votes, each weighted by its evidence:

   * *lever arm*: the sensor lies on the back, behind every axis the lower back bends
     about, so a forward bend lifts it: the acceleration magnitude (free of any
     orientation error) rises with the angular acceleration of flexion (12 of 12 real
     TrunkyXL trials; about 10 cm);
   * *walking*: the body speeds up along +x when a walk starts (a walk is seconds of
     steps: activity from taps, slaps or a phone's buzz is none);
   * a *prior* mounting (stored for the device) and, weakest, the device's own axes
     (:func:`nominal_forward`) break ties. Weak data never overturn them: a sensor worn
     the usual way is not turned round by noise.

   Which way the bends went is no cue: "forward bends go further than back bends"
   held in 9 of the 12 TrunkyXL trials, and fails in every session of chair back-bends
   (the upright flexion stretch of our routine).

A **calibration step** (``step_s``: still, then one gentle forward bend, as
``tracker record --guided`` asks) fixes the forward axis and its sign at once: the tilt
at the bend's deepest point points forward. A **prior** mounting (the one stored for
the device) is used as a whole when the recording itself cannot tell (it starts in the
middle of a movement, no still period, no bends).

The result says how it was found (``method``), how sure it is (``confidence``, 0–1)
and warns when that is low. The neutral period also gives the session's reference
posture ``q_world_body_ref``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter

from .. import schema
from ._quat import (
    quat_angle_rad,
    quat_conj,
    quat_from_axis_angle,
    quat_from_matrix,
    quat_from_two_vectors,
    quat_mul,
    quat_normalize,
    quat_rotate,
    quat_to_matrix,
)
from .params import CalibrationParams

__all__ = [
    "METHODS",
    "NOMINAL_MOUNTINGS",
    "Calibration",
    "MountingPrior",
    "calibrate",
    "find_still_runs", "steady_runs",
    "heading_from_scatter",
    "is_calibration_bend",
    "nominal_forward",
]

_EZ = np.array([0.0, 0.0, 1.0])
_EX = np.array([1.0, 0.0, 0.0])

#: Acceleration-magnitude swing (0.5 s mean) beyond which the body itself moves up or
#: down (standing up, sitting down): the lever-arm cue leaves such moments out. A
#: stretch moves the sensor by ~0.1 m/s² through the lever; rising from a chair ~1 m/s².
_LEVER_MAX_M_S2 = 0.4
#: Lever (m) that gives the lever-arm cue its full weight; a lower-back sensor sits
#: ~0.05–0.15 m behind the axes the back bends about (TrunkyXL: 0.05–0.14 m).
_LEVER_MIN_M = 0.04
#: t statistics of the lever-arm fit: below the first it is noise and says nothing (a
#: noise fit at |t| ~ 1 would otherwise outvote the device's own axes); from the second
#: on it votes fully (real TrunkyXL trials: |t| 3.1–14).
_LEVER_T = (2.0, 4.0)
#: Residuals beyond this many median absolute deviations (~7 σ) are transients (knocks,
#: taps, a phone's vibration), left out of the lever-arm fit.
_LEVER_OUTLIER_MAD = 10.0
#: Walks of at least this long (s) show where 'up' is (their middle, away from getting
#: up or sitting down).
_MIN_WALK_S = 4.0
#: Speed (m/s) a walk start gains within ±1.5 s beyond which it says which way is
#: forward: a walk start gains 0.2–1.2 m/s (simulated walks; ~1 m/s is a walking pace),
#: a phone's vibration burst or a shuffle taken for activity ~0.1.
_WALK_START_MIN_M_S = 0.15
#: Walking is steps: the acceleration's magnitude swings at the stride and step
#: frequencies (about 0.8–3 Hz: 1.5–2.5 steps/s) for seconds. At least this share of a
#: walk's magnitude variance (after clipping isolated spikes) lies in that band: simulated
#: walks 0.97, a phone's vibration or a few taps taken for activity 0.04–0.2 (an isolated
#: impulse, spread over every frequency, ~0.4 at the 10 Hz block means).
_GAIT_HZ = (0.8, 3.0)
_GAIT_MIN_SHARE = 0.6
#: Deviations from a running median (0.5 s) beyond this many times their median are
#: spikes (taps, pops, slaps), left out of the gait test (steps swing by ~1.4 times it).
_SPIKE_MAD = 5.0
#: Non-still gaps up to this long (s, plus the 0.5 s smoothing on each side) between two still
#: stretches of the same posture are transients (a tap, a pop, a strap slap): the still
#: period goes on through them, without their samples. A quick real movement takes longer.
_TRANSIENT_MAX_S = 0.5
#: Largest change of gravity's direction (deg) across such a gap, and largest path the
#: gyroscope turned through in it: the same posture, no movement.
_TRANSIENT_MAX_TURN_DEG = 3.0
#: Summed lever-arm and walking votes (each up to 2) against a calibration step's forward
#: beyond which the step is taken for a back bend and ignored.
_STEP_OVERRULED = 2.5

#: How the mounting was found (``Calibration.method``).
METHODS = ("calibration_step", "gravity+movement", "stored_device", "gravity+nominal", "nominal")

#: Usual ways to wear a sensor, as ``q_sensor_body`` (body axes in sensor coordinates).
#: Only a tie-break for the forward sign (and the fallback when the data say nothing;
#: :func:`nominal_forward`):
#: ``aligned`` — sensor axes = body axes (x forward, y left, z up); ``flat_back`` — a
#: tag or phone flat on the back: sensor x to the right, y up, z out of the back.
NOMINAL_MOUNTINGS: dict[str, np.ndarray] = {
    "aligned": np.array([1.0, 0.0, 0.0, 0.0]),
    "flat_back": quat_from_matrix(np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])),
}


@dataclass(frozen=True, kw_only=True, eq=False)
class MountingPrior:
    """A mounting known before the recording (e.g. stored for the device).

    Attributes
    ----------
    q_sensor_body : ndarray, shape (4,)
    confidence : float
        How sure the source was (0–1).
    source : str
        ``stored_device`` (found in an earlier session of this device) or ``nominal``.
    """

    q_sensor_body: np.ndarray
    confidence: float = 0.8
    source: str = "stored_device"


@dataclass(frozen=True, kw_only=True, eq=False)
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    q_sensor_body : ndarray, shape (4,)
        Mounting: body axes in sensor coordinates.
    q_world_body_ref : ndarray, shape (4,)
        Body orientation in the neutral reference posture.
    neutral_start_s, neutral_end_s : float or None
        Neutral still period used (None when none was found).
    method : str
        One of :data:`METHODS`.
    confidence : float
        0–1: how well the data pinned the mounting down (up × forward axis × sign).
    up_source : str
        ``still``, ``walking``, ``mean`` (whole recording) or ``prior``.
    forward_source : str
        ``calibration_step``, ``movement``, ``posture``, ``movement+posture``, ``prior`` or
        ``nominal``.
    axis_confidence, sign_confidence : float
        The forward axis (eigenvalue ratio r of the movement scatter as 1 − 1/r) and its
        sign (tanh of the summed votes).
    sign_votes : dict
        Each sign cue's signed, weighted vote (+ kept the forward axis found, − turned it
        by a half turn).
    mounting_deg : float
        Angle between the mounting and the nearest of :data:`NOMINAL_MOUNTINGS`.
    warning : str or None
        Said when the confidence is low.
    notes : tuple of str
    """

    q_sensor_body: np.ndarray
    q_world_body_ref: np.ndarray
    neutral_start_s: float | None
    neutral_end_s: float | None
    method: str
    confidence: float
    up_source: str
    forward_source: str
    axis_confidence: float
    sign_confidence: float
    sign_votes: dict[str, float] = field(default_factory=dict)
    mounting_deg: float = float("nan")
    warning: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def matrix_sensor_to_body(self) -> np.ndarray:
        """``R`` with ``v_body = R @ v_sensor`` (rows: body x, y, z in sensor coordinates)."""
        return quat_to_matrix(self.q_sensor_body).T

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None, nd: int = 3) -> float | None:
            return None if x is None or not np.isfinite(x) else round(float(x), nd) + 0.0  # no -0.0

        return {
            "method": self.method,
            "confidence": r(self.confidence, 2),
            "warning": self.warning,
            "q_sensor_body": [round(float(v), 6) for v in self.q_sensor_body],
            "sensor_to_body_matrix": [[round(float(v), 4) for v in row]
                                      for row in self.matrix_sensor_to_body],
            "up_from": self.up_source,
            "forward_from": self.forward_source,
            "axis_confidence": r(self.axis_confidence, 2),
            "sign_confidence": r(self.sign_confidence, 2),
            "sign_votes": {k: r(v, 2) for k, v in self.sign_votes.items()},
            "mounting_deg": r(self.mounting_deg, 1),
            "reference": "neutral still period" if self.neutral_start_s is not None
            else "first samples (no still period found)",
            "neutral_start_s": r(self.neutral_start_s), "neutral_end_s": r(self.neutral_end_s),
            "notes": list(self.notes),
        }


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean along axis 0 (edges use the available samples)."""
    n = max(1, int(n))
    if n == 1:
        return x
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), x]), axis=0)
    half = n // 2
    idx = np.arange(x.shape[0])
    lo = np.clip(idx - half, 0, x.shape[0])
    hi = np.clip(idx - half + n, 0, x.shape[0])
    return (c[hi] - c[lo]) / (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))


def find_still_runs(still: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """``[start, end)`` index runs where ``still`` holds for at least ``min_len`` samples."""
    s = np.concatenate([[False], np.asarray(still, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(s.astype(np.int8)))
    runs = edges.reshape(-1, 2)
    return [(int(a), int(b)) for a, b in runs if b - a >= min_len]


def steady_runs(runs: list[tuple[int, int]], gyr_rad_s: np.ndarray, fs: float, max_turn_rad: float,
                min_len: int) -> list[tuple[int, int]]:
    """The still ``runs`` cut into pieces over which the sensor turns by at most
    ``max_turn_rad`` in all (the integrated angular rate; pieces of at least ``min_len``
    samples). A slow stretch (10° in 4 s) stays under any angular-rate threshold a
    swaying person's stillness allows, but it is no reference posture. A run without
    such a piece stays whole: a person who never stops moving still has a stillest moment."""
    out: list[tuple[int, int]] = []
    for a, b in runs:
        turned = np.concatenate([np.zeros((1, 3)), np.cumsum(gyr_rad_s[a:b], axis=0) / fs])
        pieces = []
        s = 0
        while b - a - s >= min_len:
            far = np.flatnonzero(np.linalg.norm(turned[s + 1:] - turned[s], axis=1) > max_turn_rad)
            e = s + 1 + int(far[0]) if far.size else b - a
            if e - s >= min_len:
                pieces.append((a + s, a + e))
            s = e
        out.extend(pieces or [(a, b)])
    return out


def _gait_walks(active: np.ndarray, acc_m_s2: np.ndarray, fs: float) -> np.ndarray:
    """The runs of ``active`` that are walks: the acceleration's magnitude swings at the
    step frequencies (:data:`_GAIT_HZ`), not a few impulses or a phone's buzz."""
    if fs < 2.0 * _GAIT_HZ[1]:  # steps cannot be seen at this rate: the activity stands
        return active.copy()
    walks = np.zeros(active.shape[0], dtype=bool)
    for a, b in find_still_runs(active, 1):
        m = np.linalg.norm(acc_m_s2[a:b], axis=1)
        # spikes (off a running median by more than _SPIKE_MAD of its deviations) out
        med = median_filter(m, size=2 * int(0.25 * fs) + 1, mode="nearest")
        dev = np.abs(m - med)
        spike = dev > _SPIKE_MAD * max(float(np.median(dev)), 1e-6)
        m = np.where(spike, med, m)
        power = np.abs(np.fft.rfft(m - m.mean())) ** 2
        f_hz = np.fft.rfftfreq(m.size, 1.0 / fs)
        band = (f_hz >= _GAIT_HZ[0]) & (f_hz <= _GAIT_HZ[1])
        if power[band].sum() < _GAIT_MIN_SHARE * max(float(power[1:].sum()), 1e-12):
            continue
        # the walk starts with the steps (activity can begin earlier: getting up, a tap):
        # the first sample from which the steps' swing (off the running median, ~0.7 s
        # envelope) stays above half its median
        swing = np.where(spike, 0.0, dev)
        k = max(1, int(round(0.7 * fs)))
        env = maximum_filter1d(swing, k, origin=-(k // 2), mode="nearest")  # max of swing[i:i + k]
        low = np.flatnonzero(env < 0.5 * np.median(env))
        low = low[low < m.size // 2]  # the walk's end may fade out too
        walks[a + (int(low[-1]) + 1 if low.size else 0):b] = True
    return walks


def _through_transients(still: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray,
                        fs: float) -> np.ndarray:
    """``still`` with brief gaps (:data:`_TRANSIENT_MAX_S`, widened by the 0.5 s smoothing
    on both sides) between two still stretches of the same posture filled: a tap or a pop
    does not end a still period. Still islands shorter than the smoothing inside such a
    gap are part of it. A gap in which the sensor turned (the gyroscope's path, not its
    net turn: a quick twist out and back leaves gravity and the net turn where they were)
    is a movement and ends the period."""
    n = still.shape[0]
    win = max(1, int(round(0.5 * fs)))
    core = still.copy()
    for a, b in find_still_runs(still, 1):
        if b - a < win:
            core[a:b] = False
    out = core.copy()
    max_gap = int(round((_TRANSIENT_MAX_S + 1.0) * fs))
    cos_max = np.cos(np.radians(_TRANSIENT_MAX_TURN_DEG))
    path_rad = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.nan_to_num(gyr_rad_s), axis=1)) / fs])
    for a, b in find_still_runs(~core, 1):
        if a >= win and b + win <= n and b - a <= max_gap \
                and path_rad[b] - path_rad[a] <= np.radians(_TRANSIENT_MAX_TURN_DEG) \
                and _unit(np.median(acc_m_s2[a - win:a], axis=0)) @ _unit(np.median(acc_m_s2[b:b + win], axis=0)) >= cos_max:
            out[a:b] = True
    return out


def heading_from_scatter(v_xy: np.ndarray, weights: np.ndarray | None = None,
                         axis_angle_rad: float = 0.0) -> tuple[float, float, float]:
    """Principal direction of 2-D vectors as a heading modulo 180°.

    Parameters
    ----------
    v_xy : ndarray, shape (M, 2)
    weights : ndarray, shape (M,), optional
    axis_angle_rad : float
        Direction (in the xy plane) the principal axis has when the heading is 0; e.g.
        π/2 for body y.

    Returns
    -------
    heading_rad, ratio, energy
        Heading in (-π/2, π/2]; ratio = largest / smallest eigenvalue; energy = sum of
        weighted squared norms.
    """
    if v_xy.shape[0] == 0:
        return 0.0, 0.0, 0.0
    w = np.ones(v_xy.shape[0]) if weights is None else weights
    s = (v_xy * w[:, None]).T @ v_xy
    evals, evecs = np.linalg.eigh(s)
    v = evecs[:, 1]
    heading = np.arctan2(v[1], v[0]) - axis_angle_rad
    heading = (heading + np.pi / 2) % np.pi - np.pi / 2  # modulo the half turn
    ratio = float(evals[1] / max(evals[0], 1e-12 * max(evals[1], 1e-300)))
    return float(heading), ratio, float(np.trace(s))


def _circ_mean_half(headings: list[float], weights: list[float]) -> float:
    """Weighted mean of angles defined modulo π."""
    c = sum(w * np.cos(2 * h) for h, w in zip(headings, weights))
    s = sum(w * np.sin(2 * h) for h, w in zip(headings, weights))
    return float(0.5 * np.arctan2(s, c))


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)


def _heading_of_axis(fwd_sensor: np.ndarray, q1: np.ndarray) -> float | None:
    """Turn ψ about z that brings body x nearest to ``fwd_sensor`` (sensor coordinates)
    in the mounting ``q1 ⊗ Rz(ψ)`` (None when that axis is near vertical)."""
    x = quat_rotate(quat_conj(q1), fwd_sensor)
    if np.hypot(x[0], x[1]) < 0.3:
        return None
    return float(np.arctan2(x[1], x[0]))


def _heading_of(q_sb: np.ndarray, q1: np.ndarray) -> float | None:
    """Turn ψ about z with ``q_sb ≈ q1 ⊗ Rz(ψ)`` (None when q_sb's x is near vertical)."""
    return _heading_of_axis(quat_rotate(q_sb, _EX), q1)


def nominal_forward(up_sensor: np.ndarray, nominal: str = "auto") -> np.ndarray:
    """Forward (body x) in sensor coordinates as a device is usually worn, given 'up'.

    ``aligned`` or ``flat_back`` (:data:`NOMINAL_MOUNTINGS`): that mounting's forward
    axis. ``auto``: a device whose z axis is within 45° of vertical stands like the body
    (sensor x forward); any other lies flat on the back, face out (sensor z out of the
    back, so forward is −z) in whatever rotation within the back's plane: a tag strapped
    on, a phone in a pouch screen out, TrunkyXL's sensor (x down the spine). Only the tie
    of the forward sign uses it; a device worn face in needs the body's evidence.
    """
    if nominal != "auto":
        return quat_rotate(NOMINAL_MOUNTINGS[nominal], _EX)
    if abs(float(_unit(up_sensor) @ _EZ)) >= np.cos(np.radians(45.0)):
        return quat_rotate(NOMINAL_MOUNTINGS["aligned"], _EX)
    return quat_rotate(NOMINAL_MOUNTINGS["flat_back"], _EX)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _axis_conf(ratio: float) -> float:
    return 0.0 if ratio <= 1.0 else 1.0 - 1.0 / ratio


def _lever_vote(t_fs: float, fn: np.ndarray, w_y: np.ndarray, w_all: np.ndarray,
                tilt_fwd: np.ndarray, use: np.ndarray) -> tuple[float, float]:
    """Regress the acceleration magnitude on the flexion angular acceleration.

    A sensor behind the bending axis rises when the back flexes: ``|f| - g`` follows
    ``+r · dω_y/dt`` (r ≈ 0.1 m). Centripetal terms (ω²) and the tilt (accelerometer
    offsets seen through gravity) are nuisance regressors. Returns the lever (m) and the
    t statistic of the angular-acceleration coefficient (0, 0 with too little movement).
    """
    if use.sum() < 4 * t_fs:
        return 0.0, 0.0
    alpha = np.gradient(w_y) * t_fs
    x = np.column_stack([alpha, w_all ** 2, tilt_fwd, np.ones_like(alpha)])[use]
    y = fn[use]
    keep = np.ones(y.size, dtype=bool)
    resid = np.zeros_like(y)
    for second in (False, True):
        if second:
            # leave out knocks, taps, strap slaps and a phone's buzz: outliers of m/s²
            # against the lever's ~0.05 m/s² that would drown it
            dev = np.abs(resid - np.median(resid))
            keep = dev <= _LEVER_OUTLIER_MAD * max(float(np.median(dev)), 1e-6)
            if keep.sum() < 4 * t_fs:
                return 0.0, 0.0
        xtx = x[keep].T @ x[keep]
        try:
            beta = np.linalg.solve(xtx, x[keep].T @ y[keep])
            cov = np.linalg.inv(xtx)
        except np.linalg.LinAlgError:
            return 0.0, 0.0
        resid = y - x @ beta
    r = resid[keep]
    dof = max(1, r.size - x.shape[1])
    se = np.sqrt(max(float(r @ r) / dof * cov[0, 0], 1e-30))
    return float(beta[0]), float(beta[0] / se)


def calibrate(
    t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, q_world_sensor: np.ndarray,
    *, sampling_rate_hz: float, gyr_bias_rad_s: np.ndarray | None = None,
    params: CalibrationParams | None = None, q_sensor_body_nominal: np.ndarray | None = None,
    use_movement: bool = True, prior: MountingPrior | None = None,
    step_s: tuple[float, float] | None = None, active: np.ndarray | None = None,
) -> Calibration:
    """Find the mounting and the neutral reference posture from the recording.

    Parameters
    ----------
    t_s : ndarray, shape (N,)
    acc_m_s2, gyr_rad_s : ndarray, shape (N, 3)
        Sensor-frame samples (block means are fine: body motion is slow).
    q_world_sensor : ndarray, shape (N, 4)
        Sensor orientation (:func:`tracker.signal.orientation.estimate_orientation`).
    sampling_rate_hz : float
    gyr_bias_rad_s : ndarray, shape (N, 3), optional
        Gyroscope bias estimate, removed before looking at movement.
    params : CalibrationParams, optional
    q_sensor_body_nominal : ndarray, shape (4,), optional
        A nominal mounting (tie-break of the forward sign and fallback). Default: the
        device's own axes, :func:`nominal_forward` (``params.nominal_mounting``).
    use_movement : bool
        False skips the forward axis from movement (no gyroscope, or too early: live).
    prior : MountingPrior, optional
        A mounting known before (stored for the device): used when the data are less
        sure than it, and as a vote for the forward sign.
    step_s : (float, float), optional
        Time window of a calibration step (still, then one forward bend).
    active : ndarray of bool, shape (N,), optional
        Walking (:func:`tracker.signal.reps.activity_mask`): its mean gravity is 'up'
        and its starts and ends say which way is forward.

    Returns
    -------
    Calibration
    """
    params = params or CalibrationParams()
    n = t_s.shape[0]
    fs = float(sampling_rate_hz)
    notes: list[str] = []
    g0 = schema.STANDARD_GRAVITY_M_S2
    gyr = gyr_rad_s if gyr_bias_rad_s is None else gyr_rad_s - gyr_bias_rad_s
    win = max(1, int(round(0.5 * fs)))
    gyr_s = _moving_mean(gyr, win)
    acc_s = _moving_mean(acc_m_s2, win)
    rate = np.linalg.norm(gyr_s, axis=1)
    acc_dev = np.abs(np.linalg.norm(acc_s, axis=1) - g0)
    # gravity turning in the sensor frame is rotation too (the only sign of it without
    # a gyroscope): |d(acc)/dt| ~ g * angular rate
    turning = np.linalg.norm(np.gradient(acc_s, axis=0), axis=1) * fs if n > 1 else np.zeros(n)
    still = ((rate < params.still_gyr_rad_s) & (acc_dev < params.still_acc_m_s2)
             & (turning < g0 * params.still_gyr_rad_s))
    # walks are sustained steps: activity from taps, slaps or a buzz is no walk
    walking = (np.zeros(n, dtype=bool) if active is None
               else _gait_walks(np.asarray(active, dtype=bool), acc_m_s2, fs))
    # a still period goes on through brief transients (their samples left out), unless
    # the sensor turned meanwhile (a quick twist leaves gravity where it was)
    still_on = _through_transients(still, acc_m_s2, gyr, fs)
    runs = steady_runs(find_still_runs(still_on, int(round(params.min_still_s * fs))), gyr, fs,
                       np.radians(params.still_max_turn_deg), int(round(params.min_still_s * fs)))

    def run_up(a: int, b: int) -> tuple[np.ndarray, slice]:
        trim = (b - a) // 5  # the edges of a still run are the end of a movement
        sl = slice(a + trim, max(b - trim, a + trim + 1))
        calm = acc_m_s2[sl][still[sl]]
        # median: a transient left in the run does not tilt 'up'
        return _unit(np.median(calm if calm.shape[0] else acc_m_s2[sl], axis=0)), sl

    # --- 1. up
    up: np.ndarray | None = None
    ref_slice: slice | None = None
    up_source, up_conf = "mean", 0.3
    search_end = int(np.searchsorted(t_s, t_s[0] + params.search_s))
    # gravity while walking: the middle of walks of 4 s or more (their edges are often
    # getting up or down)
    core = np.zeros(n, dtype=bool)
    edge = int(round(fs))
    for a, b in find_still_runs(walking, 1):
        if b - a >= _MIN_WALK_S * fs:
            core[a + edge:b - edge] = True
    up_walk = None
    if core.sum() > 2 * fs:
        dirs = acc_s[core] / np.maximum(np.linalg.norm(acc_s[core], axis=1, keepdims=True), 1e-9)
        mean_dir = dirs.mean(axis=0)
        # walking keeps the trunk within ~20° of one direction; getting up or lying
        # down mixed in turns it by up to 90°
        if np.linalg.norm(mean_dir) > np.cos(np.radians(20.0)):
            up_walk = _unit(mean_dir)
    if runs:
        early = [r for r in runs if r[0] < search_end]
        a, b = (early or runs)[0]
        up, ref_slice = run_up(a, b)
        up_source, up_conf = "still", 1.0 if early else 0.8
        if not early:
            notes.append(f"no still period in the first {params.search_s:g} s: the first one "
                         f"(at {t_s[a]:.0f} s) gives 'up'")
        if up_walk is not None and np.degrees(np.arccos(np.clip(up @ up_walk, -1, 1))) > 60.0:
            # the first still posture is not upright (lying down): walking says where up is
            agree = [r for r in runs if np.degrees(np.arccos(np.clip(
                run_up(*r)[0] @ up_walk, -1, 1))) <= params.max_tilt_deg]
            if agree:
                up, ref_slice = run_up(*agree[0])
                up_source, up_conf = "still", 0.9
            else:
                up, ref_slice = up_walk, None
                up_source, up_conf = "walking", 0.7
            notes.append("the first still posture is not upright (gravity differs from walking "
                         "by more than 60°): 'up' from the walking")
    elif up_walk is not None:
        up, up_source, up_conf = up_walk, "walking", 0.7
    if up is None and prior is not None:
        up = quat_rotate(quat_normalize(prior.q_sensor_body), _EZ)
        up_source, up_conf = "prior", prior.confidence
    if up is None:
        up = _unit(acc_m_s2.mean(axis=0))
        notes.append("no still period and no walking: 'up' is the mean gravity of the recording")
    q1 = quat_from_two_vectors(_EZ, up)  # body z -> up; the turn about it is unknown yet

    # mountings known before: the prior, then the device's own axes
    if q_sensor_body_nominal is not None:
        fwd_nominal = quat_rotate(quat_normalize(np.asarray(q_sensor_body_nominal, dtype=np.float64)), _EX)
    else:
        fwd_nominal = nominal_forward(up, params.nominal_mounting)
    psi_nominal = _heading_of_axis(fwd_nominal, q1)
    if psi_nominal is None:  # the nominal's forward axis is vertical: any fixed choice
        psi_nominal = 0.0
    psi_prior = None if prior is None else _heading_of(quat_normalize(prior.q_sensor_body), q1)

    # quantities in R1 coordinates (z up at the neutral posture)
    q_s1 = quat_conj(q1)
    u1 = quat_rotate(q_s1, acc_s)
    u1 /= np.maximum(np.linalg.norm(u1, axis=1, keepdims=True), 1e-9)
    w1 = quat_rotate(q_s1, gyr_s)
    upright = u1[:, 2] > np.cos(np.radians(40.0))

    # --- 2. forward axis (mod π)
    psi: float | None = None
    axis_conf, sign_conf = 0.0, 0.0
    forward_source = "nominal"
    votes: dict[str, float] = {}
    method = "nominal"
    bending = upright & ~walking & (rate > params.motion_gyr_rad_s / 2)
    if step_s is not None:
        psi = _step_heading(t_s, u1, still, step_s, notes)
        if psi is not None and use_movement:
            # a back bend made instead: the body's own evidence (lever arm, walking)
            # says clearly that forward is the other way
            check = _sign_votes(psi, fs, acc_m_s2, acc_s, u1, w1, q_world_sensor, q1, bending, walking)
            if sum(check.values()) < -_STEP_OVERRULED:
                notes.append("the calibration bend went backward (lever arm / walking say so): ignored")
                psi = None
        if psi is not None:
            axis_conf = sign_conf = 1.0
            forward_source = method = "calibration_step"
    if psi is None and use_movement:
        cues_h: list[float] = []
        cues_w: list[float] = []
        names: list[str] = []
        moving = (rate > params.motion_gyr_rad_s) & upright & ~walking
        # bends must be there: twists alone (about z) leave only noise in the plane
        if moving.sum() > fs and np.sqrt(np.mean(np.sum(w1[moving, :2] ** 2, axis=1))) \
                > params.motion_gyr_rad_s / 2:
            h, ratio, _ = heading_from_scatter(w1[moving, :2], axis_angle_rad=np.pi / 2)
            axis_conf = max(axis_conf, _axis_conf(ratio))
            if ratio >= params.min_heading_confidence:
                cues_h.append(h)
                cues_w.append(np.log(ratio))
                names.append("movement")
        lying = still & (u1[:, 2] < np.cos(np.radians(55.0)))
        if lying.sum() > 2 * fs:
            h, ratio, _ = heading_from_scatter(u1[lying, :2], axis_angle_rad=0.0)
            axis_conf = max(axis_conf, _axis_conf(ratio))
            if ratio >= params.min_heading_confidence:
                cues_h.append(h)
                cues_w.append(np.log(ratio))
                names.append("posture")
        if cues_h:
            psi = _circ_mean_half(cues_h, cues_w)
            forward_source = "+".join(names)
            method = "gravity+movement"
            # --- 3. which way is forward: votes for ψ (+) against ψ + π (−)
            votes = _sign_votes(psi, fs, acc_m_s2, acc_s, u1, w1, q_world_sensor, q1, bending, walking)
            for name, ref_psi, weight in (("prior", psi_prior, 1.5 * (prior.confidence if prior else 0)),
                                          ("nominal", psi_nominal, 0.25)):
                if ref_psi is not None and weight > 0:
                    votes[name] = weight * float(np.sign(np.cos(ref_psi - psi)) or 1.0)
            total = sum(votes.values())
            data_total = sum(v for k, v in votes.items() if k not in ("prior", "nominal"))
            sign_conf = float(np.tanh(abs(data_total))) if np.sign(data_total) == np.sign(total) else 0.0
            if total < 0:
                psi = _wrap(psi + np.pi)
        else:
            axis_conf = 0.0
            notes.append("the forward axis is not observable from the movements (no bends "
                         "while upright, no lying posture)")
    confidence = up_conf * (1.0 if method == "calibration_step" else axis_conf * sign_conf)
    if psi is None or (prior is not None and psi_prior is not None
                       and method != "calibration_step" and confidence < prior.confidence):
        if prior is not None and (psi_prior is not None or up_source == "prior"):
            method, forward_source = prior.source, "prior"
            psi = psi_prior if psi_prior is not None else 0.0
            confidence = prior.confidence * (up_conf if up_source != "prior" else 1.0)
            if up_source == "prior":
                q1 = quat_from_two_vectors(_EZ, quat_rotate(quat_normalize(prior.q_sensor_body), _EZ))
                psi = _heading_of(quat_normalize(prior.q_sensor_body), q1) or 0.0
        else:
            method = "gravity+nominal" if up_source != "mean" else "nominal"
            forward_source = "nominal"
            psi = psi_nominal
            confidence = up_conf * 0.25
    q_sb = quat_normalize(quat_mul(q1, quat_from_axis_angle(_EZ, psi)))
    warning = None
    if confidence < params.min_confidence:
        what = {"nominal": "the usual way of wearing it was assumed",
                "gravity+nominal": "'up' is from gravity, forward is the usual way of wearing it",
                }.get(method, f"found by {method}")
        warning = (f"sensor mounting uncertain (confidence {confidence:.2f}; {what}): angles "
                   "and sides may be wrong. Start with a calibration step (sit still, then "
                   "one gentle forward bend: tracker record --guided)")
    mounting_deg = min(float(np.degrees(quat_angle_rad(quat_mul(quat_conj(q), q_sb))))
                       for q in NOMINAL_MOUNTINGS.values())

    # reference posture: mean orientation over the neutral period (sign-aligned average)
    if ref_slice is None:
        ref_slice = slice(0, max(1, min(n, int(round(fs)))))
        neutral = False
    else:
        neutral = True
    qs = q_world_sensor[ref_slice]
    if neutral and still[ref_slice].any():  # without the transients it goes on through
        qs = qs[still[ref_slice]]
    qs = qs * np.sign(qs @ qs[len(qs) // 2])[:, None]
    q_ws_ref = quat_normalize(qs.mean(axis=0))
    q_ref = quat_normalize(quat_mul(q_ws_ref, q_sb))
    t0 = float(t_s[ref_slice.start]) if neutral else None
    t1 = float(t_s[min(n, ref_slice.stop) - 1]) if neutral else None
    return Calibration(
        q_sensor_body=q_sb, q_world_body_ref=q_ref, neutral_start_s=t0, neutral_end_s=t1,
        method=method, confidence=float(np.clip(confidence, 0.0, 1.0)), up_source=up_source,
        forward_source=forward_source, axis_confidence=float(axis_conf),
        sign_confidence=float(sign_conf), sign_votes=votes, mounting_deg=mounting_deg,
        warning=warning, notes=tuple(notes),
    )


def is_calibration_bend(peak_s: float, step_s: tuple[float, float] | None) -> bool:
    """Whether a repetition that peaked at ``peak_s`` is the calibration step's bend.

    That bend shows the sensor which way is forward; it is not a stretch, so neither the
    session's analysis nor the live counts take it as a repetition.
    """
    return step_s is not None and step_s[0] <= peak_s <= step_s[1]


def _step_heading(t_s: np.ndarray, u1: np.ndarray, still: np.ndarray,
                  step_s: tuple[float, float], notes: list[str]) -> float | None:
    """Forward heading from a calibration step: the deepest tilt of its bend points forward."""
    a, b = (int(i) for i in np.searchsorted(t_s, step_s))
    if b - a < 3:
        notes.append("calibration step window holds no samples: ignored")
        return None
    seg = u1[a:b]
    base = seg[0]
    runs = [r for r in find_still_runs(still[a:b], 2) if r[0] == 0]
    if runs:
        base = _unit(seg[runs[0][0]:runs[0][1]].mean(axis=0))
    tilt = np.degrees(np.arccos(np.clip(seg @ base, -1, 1)))
    k = int(np.argmax(tilt))
    if tilt[k] < 8.0:
        notes.append(f"calibration step: the bend reached only {tilt[k]:.1f}° (8° needed): ignored")
        return None
    d = seg[k] - base  # 'up' swings backward (−x) when the trunk bends forward
    return float(np.arctan2(-d[1], -d[0]))


def _sign_votes(psi: float, fs: float, acc: np.ndarray, acc_s: np.ndarray, u1: np.ndarray,
                w1: np.ndarray, q_ws: np.ndarray, q1: np.ndarray, bending: np.ndarray,
                walking: np.ndarray) -> dict[str, float]:
    """Votes (+: forward is ψ, −: ψ + π), each in about [-2, 2]."""
    votes: dict[str, float] = {}
    fwd1 = np.array([np.cos(psi), np.sin(psi), 0.0])  # body x in R1 coordinates
    left1 = np.array([-np.sin(psi), np.cos(psi), 0.0])  # body y
    # lever arm: the sensor is behind the bending axis
    fn = np.linalg.norm(acc, axis=1) - schema.STANDARD_GRAVITY_M_S2
    tilt_fwd = -(u1 @ fwd1)
    # the whole body rising or sinking (standing up, sitting down: metres, not the
    # ~0.1 m of the lever) would swamp it: leave out 1.5 s around any vertical push
    big = np.abs(np.linalg.norm(acc_s, axis=1) - schema.STANDARD_GRAVITY_M_S2) > _LEVER_MAX_M_S2
    k = int(round(1.5 * fs))
    if big.any():
        big = np.convolve(big.astype(float), np.ones(2 * k + 1), mode="same") > 0
    lever_m, t_stat = _lever_vote(fs, fn, w1 @ left1, np.linalg.norm(w1, axis=1), tilt_fwd,
                                  bending & ~big)
    if t_stat != 0.0:  # a real lower back: ~0.1 m; millimetres are no lever
        t0, t1 = _LEVER_T
        votes["lever_arm"] = 2.0 * float(np.sign(t_stat) * np.clip((abs(t_stat) - t0) / (t1 - t0), 0.0, 1.0)
                                         * np.clip(abs(lever_m) / _LEVER_MIN_M, 0.0, 1.0))
    # walking: speeding up along +x as a walk starts. Only the start: after a turn
    # the end says little about which way the walk began. Nothing is subtracted as the
    # tilt error's bias: standing before the start the orientation has settled, and the
    # mean over the walk holds the steps' and the speeding up's own acceleration
    # (subtracting it turned 4 of 48 simulated sessions round).
    if walking.any():
        fwd_w = quat_rotate(q_ws, quat_rotate(q1, fwd1))  # body x in the world, per sample
        a_w = quat_rotate(q_ws, acc)
        a_w[:, 2] -= schema.STANDARD_GRAVITY_M_S2
        # a tap or a pop is a push of up to ~1 m/s within milliseconds: a running median
        # (0.5 s) keeps the walk's own speeding up and leaves such impulses out
        a_fwd = median_filter(np.einsum("ij,ij->i", a_w, fwd_w), size=2 * int(0.25 * fs) + 1,
                              mode="nearest")
        k = int(round(1.5 * fs))
        v_sum = 0.0
        for a, b in find_still_runs(walking, 1):
            # upright walking only (a run that also holds getting up or lying down
            # says nothing clear)
            if b - a < k or np.mean(u1[max(0, a - k):b, 2] > np.cos(np.radians(30.0))) < 0.9:
                continue
            v = float(a_fwd[max(0, a - k):a + k].sum()) / fs
            v_sum += float(np.sign(v)) * max(0.0, abs(v) - _WALK_START_MIN_M_S)
        if v_sum != 0.0:
            votes["walking"] = 2.0 * float(np.clip(v_sum / 0.4, -1.0, 1.0))
    return votes
