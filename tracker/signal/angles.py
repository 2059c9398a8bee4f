"""Anatomical angles of the lower back relative to a reference posture (design.md).

Body frame (lower back, person upright): x forward, y left, z up. The rotation of the
body relative to the reference posture, expressed in the reference body frame, is split
into intrinsic y–x–z angles ``R_rel = Ry(flexion) Rx(lateral_bend) Rz(axial_rotation)``:

* flexion about y, + forward bend, − extension;
* lateral bend about x, + to the right;
* axial rotation about z, + to the left.

All three are plain right-hand rotations about the body axes (a positive rotation about
+y tips x (forward) down, about +x tips the top toward −y (right), about +z turns x toward
+y (left)). Lateral bend is the middle angle, so lying (flexion −90°) and all fours
(+90°) are far from the sequence's singularity.

Heading drift of 6D fusion enters ``R_rel`` as a rotation about the world vertical: for
an upright reference it leaks into flexion/lateral bend only in proportion to the
current tilt, and for a lying reference it appears as lateral bend. Primary angles of
repetitions are therefore measured against the repetition's own start posture
(:func:`relative_angles_deg` with a per-sample reference), which keeps the drift to what
accumulates within one repetition.
"""

from __future__ import annotations

import numpy as np

from ._quat import euler_yxz_from_quat, quat_conj, quat_from_two_vectors, quat_mul

__all__ = ["body_quat", "relative_angles_deg", "gravity_angles_deg", "body_up"]


def body_quat(q_world_sensor: np.ndarray, q_sensor_body: np.ndarray) -> np.ndarray:
    """``q_world_body = q_world_sensor ⊗ q_sensor_body`` (shapes (N, 4) and (4,))."""
    return quat_mul(q_world_sensor, q_sensor_body)


def relative_angles_deg(q_world_body: np.ndarray, q_world_body_ref: np.ndarray) -> np.ndarray:
    """Flexion, lateral bend, axial rotation (deg) of the body relative to a reference.

    Parameters
    ----------
    q_world_body : ndarray, shape (N, 4)
        Body orientation per sample (scalar first).
    q_world_body_ref : ndarray, shape (4,) or (N, 4)
        Reference posture, one for all samples or one per sample.

    Returns
    -------
    ndarray, shape (N, 3)
        Columns flexion_deg, lateral_bend_deg, axial_rotation_deg.

    Examples
    --------
    >>> from tracker.signal._quat import quat_from_euler_yxz
    >>> q = quat_from_euler_yxz(np.radians(30.0), np.radians(-5.0), np.radians(10.0))
    >>> np.round(relative_angles_deg(q[None], np.array([1.0, 0, 0, 0])), 6).tolist()
    [[30.0, -5.0, 10.0]]
    """
    q_rel = quat_mul(quat_conj(q_world_body_ref), q_world_body)
    return np.degrees(euler_yxz_from_quat(q_rel))


def body_up(q_world_body: np.ndarray) -> np.ndarray:
    """World 'up' expressed in the body frame, (N, 3): the third row of ``R_world_body``."""
    q = np.asarray(q_world_body, dtype=np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(q.shape[:-1] + (3,))
    out[..., 0] = 2 * (x * z - w * y)
    out[..., 1] = 2 * (y * z + w * x)
    out[..., 2] = 1 - 2 * (x * x + y * y)
    return out


def gravity_angles_deg(up_body: np.ndarray, up_body_ref: np.ndarray) -> np.ndarray:
    """Angles from gravity alone (no gyroscope, no heading).

    The rotation relative to the reference is taken as the shortest turn that brings the
    current 'up' direction onto the reference one; the angle about the reference's
    vertical axis cannot be observed and is returned as NaN (axial rotation for an
    upright reference, lateral bend for a lying one).

    Parameters
    ----------
    up_body : ndarray, shape (N, 3)
        Unit 'up' vector in the body frame per sample.
    up_body_ref : ndarray, shape (3,) or (N, 3)
        'Up' in the body frame at the reference posture.

    Returns
    -------
    ndarray, shape (N, 3)
        flexion_deg, lateral_bend_deg, axial_rotation_deg (one column NaN per row).
    """
    up_body = np.asarray(up_body, dtype=np.float64)
    ref = np.broadcast_to(np.asarray(up_body_ref, dtype=np.float64), up_body.shape)
    q_rel = quat_from_two_vectors(up_body, ref)
    out = np.degrees(euler_yxz_from_quat(q_rel))
    # unobservable: rotation about the reference vertical; which Euler axis is that?
    # flexion (y) is never vertical in our postures; lateral (x) when lying, axial (z) upright
    blind = np.where(np.abs(ref[:, 0]) > np.abs(ref[:, 2]), 1, 2)
    out[np.arange(out.shape[0]), blind] = np.nan
    return out
