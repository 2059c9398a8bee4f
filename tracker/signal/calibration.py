"""Sensor-to-body calibration: how the sensor sits on the lower back.

The mounting is ``q_sensor_body`` (body-frame vectors into the sensor frame, i.e. the
body axes written in sensor coordinates). It is found in two steps:

1. **Up axis (tilt)** from gravity in the *neutral still period*: the first still period
   near the start in which the person is upright (its gravity direction within
   ``max_tilt_deg`` of the nominal mounting's up axis). The mean specific force there
   is the body z axis in the sensor frame.
2. **Forward axis (heading about body z)** from movement: with z known, the sensor is
   only unknown by a turn ψ about z. Two cues fix ψ (modulo 180°; the nominal mounting
   picks the half-turn):

   * rotations while upright: forward/back bends turn about body y, twists about z
     (removed by projection), so the principal axis of the angular rate perpendicular
     to z is body y;
   * still postures far from upright (lying on the back, all fours): gravity then lies
     along ±body x.

   Each cue carries a confidence (eigenvalue ratio of its 2-D scatter); the heading is
   their weighted circular mean, or the nominal heading when neither is confident.

The neutral period also gives the session's reference posture ``q_world_body_ref``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import schema
from ._quat import (
    quat_angle_rad, quat_conj, quat_from_axis_angle, quat_from_matrix, quat_from_two_vectors,
    quat_mul, quat_normalize, quat_rotate,
)
from .params import CalibrationParams

__all__ = ["Calibration", "calibrate", "find_still_runs", "heading_from_scatter", "NOMINAL_MOUNTINGS"]

_EZ = np.array([0.0, 0.0, 1.0])

#: How sensors are usually worn, as ``q_sensor_body`` (body axes in sensor coordinates):
#: ``aligned`` — sensor axes = body axes (x forward, y left, z up); ``flat_back`` — a tag
#: or phone flat on the back: sensor x to the right, y up, z out of the back.
NOMINAL_MOUNTINGS: dict[str, np.ndarray] = {
    "aligned": np.array([1.0, 0.0, 0.0, 0.0]),
    "flat_back": quat_from_matrix(np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])),
}


@dataclass(frozen=True, eq=False)
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
    mounting_deg : float
        Total angle between the estimated and the nominal mounting.
    tilt_deg : float
        Part of it from the up axis (gravity).
    heading_deg : float
        Turn about body z found from movement (0 when the nominal heading was kept).
    heading_source : str
        ``movement``, ``posture``, ``movement+posture`` or ``nominal``.
    heading_confidence : float
        Eigenvalue ratio of the best heading cue (>= ``min_heading_confidence`` to use it).
    notes : tuple of str
    """

    q_sensor_body: np.ndarray
    q_world_body_ref: np.ndarray
    neutral_start_s: float | None
    neutral_end_s: float | None
    mounting_deg: float
    tilt_deg: float
    heading_deg: float
    heading_source: str
    heading_confidence: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None or not np.isfinite(x) else round(float(x), 3)

        return {
            "reference": "neutral still period" if self.neutral_start_s is not None
            else "first samples (no still period found)",
            "neutral_start_s": r(self.neutral_start_s), "neutral_end_s": r(self.neutral_end_s),
            "mounting_deg": r(self.mounting_deg), "tilt_deg": r(self.tilt_deg),
            "heading_deg": r(self.heading_deg), "heading_source": self.heading_source,
            "heading_confidence": r(self.heading_confidence),
            "q_sensor_body": [round(float(v), 6) for v in self.q_sensor_body],
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
    heading_rad, confidence, energy
        Heading in (-π/2, π/2]; confidence = largest / smallest eigenvalue; energy = sum
        of weighted squared norms.
    """
    if v_xy.shape[0] == 0:
        return 0.0, 0.0, 0.0
    w = np.ones(v_xy.shape[0]) if weights is None else weights
    s = (v_xy * w[:, None]).T @ v_xy
    evals, evecs = np.linalg.eigh(s)
    v = evecs[:, 1]
    heading = np.arctan2(v[1], v[0]) - axis_angle_rad
    heading = (heading + np.pi / 2) % np.pi - np.pi / 2  # modulo the half turn
    conf = float(evals[1] / max(evals[0], 1e-12 * max(evals[1], 1e-300)))
    return float(heading), conf, float(np.trace(s))


def _circ_mean_half(headings: list[float], weights: list[float]) -> float:
    """Weighted mean of angles defined modulo π."""
    c = sum(w * np.cos(2 * h) for h, w in zip(headings, weights))
    s = sum(w * np.sin(2 * h) for h, w in zip(headings, weights))
    return float(0.5 * np.arctan2(s, c))


def calibrate(
    t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, q_world_sensor: np.ndarray,
    *, sampling_rate_hz: float, gyr_bias_rad_s: np.ndarray | None = None,
    params: CalibrationParams | None = None, q_sensor_body_nominal: np.ndarray | None = None,
    use_movement: bool = True,
) -> Calibration:
    """Estimate the mounting and the neutral reference posture.

    Parameters
    ----------
    t_s : ndarray, shape (N,)
    acc_m_s2, gyr_rad_s : ndarray, shape (N, 3)
        Sensor-frame samples.
    q_world_sensor : ndarray, shape (N, 4)
        Sensor orientation (:func:`tracker.signal.orientation.estimate_orientation`).
    sampling_rate_hz : float
    gyr_bias_rad_s : ndarray, shape (N, 3), optional
        Gyroscope bias estimate, removed before looking at movement.
    params : CalibrationParams, optional
    q_sensor_body_nominal : ndarray, shape (4,), optional
        How the sensor is meant to be worn. Default: ``params.nominal_mounting``; with
        ``"auto"`` the one of :data:`NOMINAL_MOUNTINGS` whose up axis is nearest to
        gravity in the neutral period. Only the choice of neutral period, the half-turn
        ambiguity of the heading and the fallback use it.
    use_movement : bool
        False skips the heading-from-movement step (no gyroscope).

    Returns
    -------
    Calibration
    """
    params = params or CalibrationParams()
    if q_sensor_body_nominal is not None:
        candidates = [quat_normalize(np.asarray(q_sensor_body_nominal, dtype=np.float64))]
    elif params.nominal_mounting == "auto":
        candidates = list(NOMINAL_MOUNTINGS.values())
    else:
        candidates = [NOMINAL_MOUNTINGS[params.nominal_mounting]]
    q0 = candidates[0]
    n = t_s.shape[0]
    notes: list[str] = []
    fs = sampling_rate_hz
    gyr = gyr_rad_s if gyr_bias_rad_s is None else gyr_rad_s - gyr_bias_rad_s
    win = max(1, int(round(0.5 * fs)))
    gyr_s = _moving_mean(gyr, win)
    acc_s = _moving_mean(acc_m_s2, win)
    rate = np.linalg.norm(gyr_s, axis=1)
    acc_dev = np.abs(np.linalg.norm(acc_s, axis=1) - schema.STANDARD_GRAVITY_M_S2)
    # gravity turning in the sensor frame is rotation too (the only sign of it without
    # a gyroscope): |d(acc)/dt| ~ g * angular rate
    turning = np.linalg.norm(np.gradient(acc_s, axis=0), axis=1) * fs
    still = ((rate < params.still_gyr_rad_s) & (acc_dev < params.still_acc_m_s2)
             & (turning < schema.STANDARD_GRAVITY_M_S2 * params.still_gyr_rad_s))
    # --- 1. neutral still period and up axis
    neutral: tuple[int, int] | None = None
    search_end = np.searchsorted(t_s, t_s[0] + params.search_s)
    for a, b in find_still_runs(still, int(round(params.min_still_s * fs))):
        if a >= search_end:
            break
        g = acc_m_s2[a:b].mean(axis=0)
        g = g / np.linalg.norm(g)
        tilts = [np.degrees(np.arccos(np.clip(g @ quat_rotate(q, _EZ), -1, 1))) for q in candidates]
        best = int(np.argmin(tilts))
        if tilts[best] <= params.max_tilt_deg:
            neutral = (a, b)
            q0 = candidates[best]
            break
    up_nominal = quat_rotate(q0, _EZ)
    if neutral is None:
        notes.append(f"no upright still period in the first {params.search_s:g} s: "
                     "nominal mounting and the first second as reference")
        q1 = q0
        ref_slice = slice(0, max(1, min(n, int(round(fs)))))
    else:
        a, b = neutral
        trim = (b - a) // 5  # the edges of a still run are the end of a movement
        ref_slice = slice(a + trim, b - trim)
        up = acc_m_s2[ref_slice].mean(axis=0)
        up /= np.linalg.norm(up)
        q1 = quat_mul(quat_from_two_vectors(up_nominal, up), q0)
    tilt_deg = float(np.degrees(quat_angle_rad(quat_mul(quat_conj(q0), q1))))

    # --- 2. heading about body z
    heading, source, conf = 0.0, "nominal", 0.0
    if use_movement:
        cues_h: list[float] = []
        cues_w: list[float] = []
        cue_names: list[str] = []
        q_s1 = quat_conj(q1)  # sensor -> "body without heading"
        up_w_body = quat_rotate(q_s1, acc_s)  # specific force in R1 coordinates
        norm = np.linalg.norm(up_w_body, axis=1)
        cos_tilt = up_w_body[:, 2] / np.maximum(norm, 1e-9)
        # cue A: angular rate while near upright, projected perpendicular to body z
        w1 = quat_rotate(q_s1, gyr_s)
        moving = (rate > params.motion_gyr_rad_s) & (cos_tilt > np.cos(np.radians(40.0)))
        if moving.sum() > fs:
            h, c, _ = heading_from_scatter(w1[moving, :2], axis_angle_rad=np.pi / 2)
            conf = max(conf, c)
            if c >= params.min_heading_confidence:
                cues_h.append(h)
                cues_w.append(np.log(c))
                cue_names.append("movement")
        # cue B: gravity while still and far from upright lies along ±body x
        lying = still & (cos_tilt < np.cos(np.radians(55.0)))
        if lying.sum() > 2 * fs:
            h, c, _ = heading_from_scatter(up_w_body[lying, :2], axis_angle_rad=0.0)
            conf = max(conf, c)
            if c >= params.min_heading_confidence:
                cues_h.append(h)
                cues_w.append(np.log(c))
                cue_names.append("posture")
        if cues_h:
            heading = _circ_mean_half(cues_h, cues_w)
            source = "+".join(cue_names)
            if abs(np.degrees(heading)) > params.max_heading_deg:
                notes.append(f"heading from movement {np.degrees(heading):.1f}° exceeds "
                             f"{params.max_heading_deg:g}°: clipped")
                heading = float(np.clip(heading, -np.radians(params.max_heading_deg),
                                        np.radians(params.max_heading_deg)))
        else:
            notes.append("heading (forward axis) not observable from the movements: nominal kept")
    # R_sb = R1 Rz(ψ): a turn about the body z axis
    q_sb = quat_normalize(quat_mul(q1, quat_from_axis_angle(_EZ, heading)))
    mounting_deg = float(np.degrees(quat_angle_rad(quat_mul(quat_conj(q0), q_sb))))

    # reference posture: mean orientation over the neutral period (sign-aligned average)
    qs = q_world_sensor[ref_slice]
    qs = qs * np.sign(qs @ qs[len(qs) // 2])[:, None]
    q_ws_ref = quat_normalize(qs.mean(axis=0))
    q_ref = quat_normalize(quat_mul(q_ws_ref, q_sb))
    t0 = float(t_s[ref_slice.start]) if neutral is not None else None
    t1 = float(t_s[ref_slice.stop - 1]) if neutral is not None else None
    return Calibration(q_sb, q_ref, t0, t1, mounting_deg, tilt_deg, float(np.degrees(heading)),
                       source, conf, tuple(notes))
