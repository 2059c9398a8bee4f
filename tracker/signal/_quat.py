"""Vectorised quaternion and rotation helpers (scalar-first ``w, x, y, z``).

Conventions used throughout :mod:`tracker.signal`:

* a quaternion ``q_ab`` rotates vectors from frame *b* into frame *a*:
  ``v_a = q_ab ⊗ v_b ⊗ q_ab*`` (VQF's ``quat`` is ``q_world_sensor`` in this sense);
* matrices follow the same naming: ``R_ab @ v_b = v_a``;
* all functions accept a single quaternion ``(4,)`` or a stack ``(N, 4)``.

numpy only: scipy's :class:`~scipy.spatial.transform.Rotation` is scalar-last, and
these few formulas on stacked arrays are faster than converting back and forth.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "quat_mul", "quat_mul3", "quat_conj", "quat_normalize", "quat_rotate", "quat_to_matrix",
    "quat_from_matrix", "quat_from_axis_angle", "quat_from_two_vectors", "euler_yxz_from_quat",
    "quat_from_euler_yxz", "quat_angle_rad", "heading_tilt_from_quat",
]


def quat_normalize(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_conj(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    out = -q
    out[..., 0] = q[..., 0]
    return out


#: Samples per block in long element-wise chains (temporaries stay in the CPU cache).
_CHUNK = 16384

#: Rows per BLAS call in :func:`rows_matmul`. OpenBLAS spreads a product over threads
#: once m * n * k exceeds 2 * 65536 * 4 (4 x 4 times 32768 rows), and its idle threads
#: then spin for ~0.1 s of CPU, many times what the product costs; below it stays on
#: this thread.
_BLAS_ROWS = 16384


def rows_matmul(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(m @ x.T).T``: a small matrix ``m`` (j, k) applied to many rows ``x`` (N, k).

    In single-threaded BLAS calls of at most :data:`_BLAS_ROWS` rows. Returns the (N, j)
    transposed view of a C-ordered (j, N) array (contiguous columns), like ``(m @ x.T).T``.
    """
    n = x.shape[0]
    if n <= _BLAS_ROWS:
        return (m @ x.T).T
    out = np.empty((m.shape[0], n))
    for a in range(0, n, _BLAS_ROWS):
        np.matmul(m, x[a:a + _BLAS_ROWS].T, out=out[:, a:a + _BLAS_ROWS])
    return out.T


def _left_matrix(p: np.ndarray) -> np.ndarray:
    """``L`` with ``p ⊗ q = L @ q``."""
    w, x, y, z = p
    return np.array([[w, -x, -y, -z], [x, w, -z, y], [y, z, w, -x], [z, -y, x, w]])


def _right_matrix(q: np.ndarray) -> np.ndarray:
    """``R`` with ``p ⊗ q = R @ p``."""
    w, x, y, z = q
    return np.array([[w, -x, -y, -z], [x, w, z, -y], [y, -z, w, x], [z, y, -x, w]])


def quat_mul3(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``p ⊗ q ⊗ r`` for constant ``p``, ``r`` (4,) and a stack ``q`` (N, 4): one 4x4 product."""
    m = _left_matrix(np.asarray(p, dtype=np.float64)) @ _right_matrix(np.asarray(r, dtype=np.float64))
    return rows_matmul(m, np.asarray(q, dtype=np.float64))


def quat_mul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product ``p ⊗ q`` (broadcasts over leading dimensions)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    # one constant quaternion against a stack: a (N, 4) @ (4, 4) product is much faster
    # (written M @ q.T: numpy's (N, 4) @ (4, 4) path is several times slower)
    if p.ndim == 1 and q.ndim == 2:
        return rows_matmul(_left_matrix(p), q)
    if q.ndim == 1 and p.ndim == 2:
        return rows_matmul(_right_matrix(q), p)
    pw, px, py, pz = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    qw, qx, qy, qz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    shape = np.broadcast_shapes(p.shape, q.shape)
    out = np.empty(shape)
    out[..., 0] = pw * qw - px * qx - py * qy - pz * qz
    out[..., 1] = pw * qx + px * qw + py * qz - pz * qy
    out[..., 2] = pw * qy - px * qz + py * qw + pz * qx
    out[..., 3] = pw * qz + px * qy - py * qx + pz * qw
    return out


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` of unit quaternions."""
    q = np.asarray(q, dtype=np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=-2)


def quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """Unit quaternion (``w >= 0``) of one rotation matrix ``(3, 3)``."""
    m = np.asarray(m, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    qn = quat_normalize(np.array(q))
    return qn if qn[0] >= 0 else -qn


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by ``q``: ``q ⊗ v ⊗ q*``."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if q.ndim == 1:  # one rotation for many vectors: a matrix product
        return rows_matmul(quat_to_matrix(q), v) if v.ndim == 2 else quat_to_matrix(q) @ v
    if v.ndim == 1:  # many rotations of one vector: a column of each matrix
        return np.einsum("...ij,j->...i", quat_to_matrix(q), v)
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def quat_from_axis_angle(axis: np.ndarray, angle_rad: np.ndarray | float) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = 0.5 * np.asarray(angle_rad, dtype=np.float64)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def quat_from_two_vectors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation taking direction ``a`` onto direction ``b`` (both (..., 3)).

    Antiparallel inputs get a 180° turn about an axis perpendicular to ``a``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    w = 1.0 + np.sum(a * b, axis=-1, keepdims=True)
    xyz = np.cross(a, b)
    q = np.concatenate([w, xyz], axis=-1)
    flip = (w[..., 0] < 1e-9)
    if np.any(flip):
        # any axis perpendicular to a: cross with the coordinate axis least aligned with a
        aa = np.atleast_2d(a)[np.atleast_1d(flip)]
        helper = np.eye(3)[np.argmin(np.abs(aa), axis=-1)]
        perp = np.cross(aa, helper)
        perp /= np.linalg.norm(perp, axis=-1, keepdims=True)
        q2 = np.atleast_2d(q).copy()
        q2[np.atleast_1d(flip)] = np.concatenate([np.zeros((perp.shape[0], 1)), perp], axis=-1)
        q = q2.reshape(q.shape)
    return quat_normalize(q)


def euler_yxz_from_quat(q: np.ndarray) -> np.ndarray:
    """Intrinsic y–x–z angles (rad) of ``R = Ry(a) Rx(b) Rz(c)``: columns ``a, b, c``.

    ``b`` (about x) lies in [-90°, 90°]; the other two in (-180°, 180°]. From the
    rotation matrix: ``a = atan2(R02, R22)``, ``b = asin(-R12)``, ``c = atan2(R10, R11)``,
    written so that ``q`` need not be normalised (any non-zero multiple of a unit
    quaternion gives the same angles).
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim == 1:
        return euler_yxz_from_quat(q[None])[0]
    if q.shape[0] > _CHUNK:  # blocks that stay in cache: ~30% faster on long sessions
        out = np.empty((q.shape[0], 3))
        for a in range(0, q.shape[0], _CHUNK):
            out[a:a + _CHUNK] = euler_yxz_from_quat(q[a:a + _CHUNK])
        return out
    w, x, y, z = np.ascontiguousarray(q.T)  # contiguous columns: faster element-wise maths
    ww, xx, yy, zz = w * w, x * x, y * y, z * z
    out = np.empty((q.shape[0], 3))
    out[:, 0] = np.arctan2(2.0 * (x * z + w * y), ww - xx - yy + zz)
    out[:, 1] = np.arcsin(np.clip(2.0 * (w * x - y * z) / (ww + xx + yy + zz), -1.0, 1.0))
    out[:, 2] = np.arctan2(2.0 * (x * y + w * z), ww - xx + yy - zz)
    return out


def heading_tilt_from_quat(q: np.ndarray) -> np.ndarray:
    """Angles (rad) of ``R = Rz(c) Ry(a) Rx(b)``, columns ``a, b, c`` as in
    :func:`euler_yxz_from_quat`: the turn about z taken first (outermost), so ``a`` and
    ``b`` are the tilt in the turned frame and do not change when the whole body turns
    about z. The same as y–x–z to first order. ``q`` need not be normalised.
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim == 1:
        return heading_tilt_from_quat(q[None])[0]
    w, x, y, z = np.ascontiguousarray(q.T)
    ww, xx, yy, zz = w * w, x * x, y * y, z * z
    out = np.empty((q.shape[0], 3))
    out[:, 0] = np.arcsin(np.clip(2.0 * (w * y - x * z) / (ww + xx + yy + zz), -1.0, 1.0))
    out[:, 1] = np.arctan2(2.0 * (w * x + y * z), ww - xx - yy + zz)
    out[:, 2] = np.arctan2(2.0 * (w * z + x * y), ww + xx - yy - zz)
    return out


def quat_from_euler_yxz(a_rad: np.ndarray | float, b_rad: np.ndarray | float,
                        c_rad: np.ndarray | float) -> np.ndarray:
    """Quaternion of ``Ry(a) Rx(b) Rz(c)`` (intrinsic y–x–z)."""
    ey, ex, ez = np.eye(3)[1], np.eye(3)[0], np.eye(3)[2]
    return quat_mul(quat_mul(quat_from_axis_angle(ey, a_rad), quat_from_axis_angle(ex, b_rad)),
                    quat_from_axis_angle(ez, c_rad))


def quat_angle_rad(q: np.ndarray) -> np.ndarray:
    """Rotation angle (rad, in [0, π]) of unit quaternions."""
    q = np.asarray(q, dtype=np.float64)
    return 2.0 * np.arccos(np.clip(np.abs(q[..., 0]), 0.0, 1.0))
