"""Sensor orientation from gyroscope + accelerometer (+ magnetometer) with VQF.

We use VQF (Laidig & Seel, Information Fusion 2023) rather than a home-made filter: it
is the best-performing filter on the BROAD benchmark, it estimates the gyroscope bias at
rest *and* in motion, detects rest, and rejects magnetic disturbances. Recorded sessions
use the acausal ``offlineVQF``; the live view uses the causal ``vqf.VQF`` class
(:class:`OnlineOrientation`). Both return the same thing here.

Quaternions are ``q_world_sensor``, scalar first (``w, x, y, z``), world = east-north-up.
VQF uses the same order and sense, so no reordering happens at this adapter (scipy, which
is scalar-last, is not used on these arrays). Without a trustworthy magnetometer the
heading is arbitrary at the start and drifts slowly (6D fusion).

Sensors without a gyroscope (micro:bit, Polar H10) get inclination from low-passed
acceleration only (mode ``"gravity"``); their heading, and so axial rotation, is unknown.
"""

from __future__ import annotations

import bisect

from dataclasses import dataclass, field

import numpy as np
import vqf
from scipy import signal as sps

from ..checks import check_positive_arg
from ..errors import ValidationError
from ..quality import find_gaps
from ..recording import gyro_recorded
from ._quat import quat_from_two_vectors, quat_normalize
from .params import OrientationParams

__all__ = [
    "Orientation", "estimate_orientation", "OnlineOrientation", "has_gyroscope",
    "uniform_grid", "NO_GYRO_PROFILES",
]

#: Device profiles whose ``gyr`` column is always zero.
NO_GYRO_PROFILES = ("microbit", "polar-h10")

_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True, eq=False)
class Orientation:
    """Sensor orientation per sample.

    Attributes
    ----------
    quat_wxyz : ndarray, shape (N, 4)
        ``q_world_sensor`` (ENU world, scalar first).
    rest : ndarray of bool, shape (N,)
        VQF rest detection (sensor still).
    bias_grid : ndarray, shape (M, 3)
        Estimated gyroscope bias on the filter's time grid (zeros in gravity mode); use
        :attr:`gyr_bias_rad_s` (per sample) or :meth:`gyr_bias_at`.
    mode : {"9D", "6D", "gravity"}
        What the orientation is based on. ``gravity`` has no heading.
    mag_disturbed_fraction : float or None
        Fraction of samples VQF flagged magnetically disturbed (None without mag).
    n_filled : int
        Samples interpolated into gaps of the time base before fusion.
    notes : tuple of str
        Human-readable remarks (why 9D was not used, gaps bridged...).
    grid_pos : ndarray of int, shape (N,), optional
        Where each sample sits on the filter's grid (None: the grid is the samples).
    """

    quat_wxyz: np.ndarray
    rest: np.ndarray
    bias_grid: np.ndarray
    mode: str
    mag_disturbed_fraction: float | None = None
    n_filled: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    grid_pos: np.ndarray | None = None

    @property
    def has_heading(self) -> bool:
        return self.mode != "gravity"

    @property
    def gyr_bias_rad_s(self) -> np.ndarray:
        """Gyroscope bias estimate per sample, (N, 3) rad/s."""
        return self.bias_grid if self.grid_pos is None else self.bias_grid[self.grid_pos]

    def gyr_bias_at(self, index: np.ndarray) -> np.ndarray:
        """Bias at some samples only (the bias changes slowly; no (N, 3) copy)."""
        return self.bias_grid[index if self.grid_pos is None else self.grid_pos[index]]


def has_gyroscope(gyr_rad_s: np.ndarray, profile: str | None = None) -> bool:
    """False for profiles without a gyroscope or an all-zero gyroscope column."""
    return profile not in NO_GYRO_PROFILES and gyro_recorded(gyr_rad_s)


def uniform_grid(t_s: np.ndarray, *, sampling_rate_hz: float, max_gap_fill_s: float
                 ) -> tuple[np.ndarray, int] | None:
    """Where to place the samples on a uniform time grid, bridging gaps.

    Parameters
    ----------
    t_s : ndarray, shape (N,)
        Strictly increasing sample times in s.
    sampling_rate_hz : float
        Grid rate.
    max_gap_fill_s : float
        A gap is bridged with at most this much interpolated time.

    Returns
    -------
    (grid_pos, n_grid) or None
        ``grid_pos[i]`` is the grid index of sample ``i``; None when no gap needs filling
        (every step is within 1.5 sample periods).
    """
    grid = _grid(np.asarray(t_s, dtype=np.float64), sampling_rate_hz, max_gap_fill_s)
    return None if grid is None else (grid[0], grid[1])


def _grid(t_s: np.ndarray, sampling_rate_hz: float, max_gap_fill_s: float
          ) -> tuple[np.ndarray, int, np.ndarray] | None:
    """:func:`uniform_grid` plus the indices of the samples followed by a gap.

    Only the gaps are rounded and clipped; between them ``grid_pos`` rises by one.
    """
    n = t_s.size
    if n < 2:
        return None
    dt = 1.0 / sampling_rate_hz
    # a gap rounds to >= 2 periods: the grid points in it are filled
    gap = find_gaps(t_s, period_s=dt).after
    if not gap.size:
        return None
    cap = max(1, int(round(max_gap_fill_s / dt)))
    extra = np.clip(np.rint((t_s[gap + 1] - t_s[gap]) / dt), 1, cap).astype(np.int64) - 1
    runs = np.diff(np.concatenate([[0], gap + 1, [n]]))
    pos = np.arange(n, dtype=np.int64) + np.repeat(np.concatenate([[0], np.cumsum(extra)]), runs)
    return pos, int(pos[-1]) + 1, gap


def _runs_of(pos: np.ndarray, gap: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``[start, end)`` sample runs that sit on consecutive grid points."""
    if gap is None:
        gap = np.flatnonzero(np.diff(pos) > 1)
    return np.concatenate([[0], gap + 1]), np.concatenate([gap + 1, [pos.size]])


def _at_samples(grid_arr: np.ndarray, pos: np.ndarray, gap: np.ndarray | None = None) -> np.ndarray:
    """``grid_arr[pos]`` copied run by run (slices: faster than fancy indexing)."""
    out = np.empty((pos.size,) + grid_arr.shape[1:], dtype=grid_arr.dtype)
    for a, b in zip(*_runs_of(pos, gap)):
        out[a:b] = grid_arr[pos[a]:pos[a] + (b - a)]
    return out


def _fill(pos: np.ndarray, n_grid: int, *arrays: np.ndarray | None,
          gap: np.ndarray | None = None) -> list[np.ndarray | None]:
    """Linear interpolation of (N, k) arrays onto the grid (sample i sits at pos[i]).

    Only the few grid points inside gaps are computed; the samples are copied.
    ``gap`` (samples followed by a jump of ``pos``, a superset is fine) saves a pass.
    """
    if gap is None:
        gap = np.flatnonzero(np.diff(pos) > 1)
    # sample gap[i] is followed by n_fill[i] filled grid points
    n_fill = pos[gap + 1] - pos[gap] - 1
    lo = np.repeat(gap, n_fill)
    g = np.repeat(pos[gap], n_fill) + (np.arange(n_fill.sum()) - np.repeat(np.cumsum(n_fill) - n_fill, n_fill)) + 1
    hi = lo + 1
    w = ((g - pos[lo]) / (pos[hi] - pos[lo]))[:, None]
    # the samples themselves are copied run by run (slices, not fancy indexing)
    run_starts, run_ends = _runs_of(pos, gap)
    out: list[np.ndarray | None] = []
    for arr in arrays:
        if arr is None:
            out.append(None)
            continue
        grid = np.empty((n_grid, arr.shape[1]))
        for a, b in zip(run_starts, run_ends):
            grid[pos[a]:pos[a] + (b - a)] = arr[a:b]
        grid[g] = (1.0 - w) * arr[lo] + w * arr[hi]
        out.append(grid)
    return out


def _gravity_quat(acc_lp: np.ndarray) -> np.ndarray:
    """``q_world_sensor`` with the low-passed acceleration as 'up' and no heading."""
    norm = np.linalg.norm(acc_lp, axis=1, keepdims=True)
    up = np.where(norm > 1e-6, acc_lp / np.maximum(norm, 1e-12), _UP)
    return quat_from_two_vectors(up, np.broadcast_to(_UP, up.shape))


def _rest_from_acc(acc_m_s2: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    """Still when the acceleration barely changes over ~1 s (gravity mode has no gyro)."""
    n = max(3, int(round(sampling_rate_hz)))
    kernel = np.ones(n) / n
    dev = np.empty(acc_m_s2.shape[0])
    var = np.zeros(acc_m_s2.shape[0])
    for k in range(3):
        m = np.convolve(acc_m_s2[:, k], kernel, mode="same")
        m2 = np.convolve(acc_m_s2[:, k] ** 2, kernel, mode="same")
        var += np.maximum(m2 - m * m, 0.0)
    dev[:] = np.sqrt(var)
    return dev < 0.3


def _check(t_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray, mag: np.ndarray | None) -> None:
    n = t_s.shape[0]
    if n < 2:
        raise ValidationError(f"orientation needs at least 2 samples, got {n}")
    for name, arr in (("acc_m_s2", acc), ("gyr_rad_s", gyr), ("mag_uT", mag)):
        if arr is not None and arr.shape != (n, 3):
            raise ValidationError(f"{name} must have shape ({n}, 3), got {arr.shape}")


def _mag_plausible(mag_uT: np.ndarray, params: OrientationParams) -> tuple[bool, str | None]:
    step = max(1, mag_uT.shape[0] // 20_000)  # the median of a subsample is plenty
    norm = float(np.median(np.linalg.norm(mag_uT[::step], axis=1)))
    lo, hi = params.mag_norm_range_uT
    if not lo <= norm <= hi:
        return False, (f"magnetometer ignored: median field {norm:.1f} µT is outside "
                       f"{lo:g}–{hi:g} µT (not the Earth's field); heading from 6D fusion")
    return True, None


class StillBias:
    """Turn-on gyroscope bias from the still stretches seen so far (causal, batch = live).

    VQF estimates the bias at rest too, but only up to its clip (``bias_clip_deg_s``)
    and ties "rest" to its own short window: a consumer part's zero-rate offset of
    1–3 °/s (BMI160: ±3 °/s) stays partly in the rate, tilts the estimate while the
    person moves (a 180° turn read as a deep bend) and hides small repetitions. Raising
    the clip instead lets VQF take a slow steady twist (3 °/s for a few seconds) for
    bias. Here the bias is the rate while the person stays put: 2 s blocks in which the
    0.5 s means of the rate and of the specific force stay steady (the block's median
    0.5 s rate: sway averages out); the first such block within 6 °/s of zero starts the
    estimate, later ones must lie within 1 °/s (plus 0.5 °/s per minute since the last
    one: warm-up drift) of it, so a slow steady turn is never taken for bias once the
    bias is known; the bias for a block is the mean of the accepted blocks of the
    previous two minutes (else the last one accepted). Blocks are fixed in time
    (``t_s // 2``): all samples at once or in batches give the same.
    """

    BLOCK_S = 2.0
    SUB_S = 0.5
    #: steady: the 0.5 s means of each axis stay within these (the rate a held stretch
    #: sways at, as ``OrientationParams.rest_th_gyr_deg_s``; the block mean averages it)
    STEADY_GYR_RAD_S = float(np.deg2rad(3.0))
    STEADY_ACC_M_S2 = 0.3
    #: the first steady block is bias only within this (norm) of 0: turn-on offsets of
    #: consumer parts are up to ±3 °/s per axis (BMI160); a steadier, faster turn is a
    #: movement
    MAX_BIAS_RAD_S = float(np.deg2rad(6.0))
    #: once known, the bias moves by warm-up drift only (a guess above the 0.02–0.3
    #: °/s/min of consumer parts): a steady block further off is a slow steady turn
    STEP_RAD_S = float(np.deg2rad(1.0))
    DRIFT_RAD_S_PER_MIN = float(np.deg2rad(0.5))
    WINDOW_BLOCKS = 60
    #: what VQF keeps estimating itself, per axis (half its 2 °/s clip)
    VQF_SHARE_RAD_S = float(np.deg2rad(1.0))

    def __init__(self) -> None:
        self._ids: list[int] = []  # accepted steady blocks, in time order
        self._vals: list[np.ndarray] = []  # and their rates
        self._cum: list[np.ndarray] = [np.zeros(3)]  # running sums of the rates
        self._buf: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # the open block
        #: (end time s, rate) of the first steady block: what an offline pass also
        #: removes before it (live, the filter starts on the raw rate)
        self.first: tuple[float, np.ndarray] | None = None

    def _steady_blocks(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        """Judge complete blocks (samples in time order, whole blocks only)."""
        per = int(round(self.BLOCK_S / self.SUB_S))
        sub = np.floor(t / self.SUB_S).astype(np.int64)
        starts = np.r_[0, np.flatnonzero(np.diff(sub)) + 1]  # t rises: runs, not a sort
        ids, counts = sub[starts], np.diff(np.r_[starts, sub.size])
        g = np.add.reduceat(gyr, starts, axis=0) / counts[:, None]
        a = np.add.reduceat(acc, starts, axis=0) / counts[:, None]
        bid = ids // per
        b_starts = np.r_[0, np.flatnonzero(np.diff(bid)) + 1]
        blk, b_counts = bid[b_starts], np.diff(np.r_[b_starts, bid.size])
        ptp_g = (np.maximum.reduceat(g, b_starts, axis=0) - np.minimum.reduceat(g, b_starts, axis=0)).max(axis=1)
        ptp_a = (np.maximum.reduceat(a, b_starts, axis=0) - np.minimum.reduceat(a, b_starts, axis=0)).max(axis=1)
        cand = np.flatnonzero((b_counts >= 0.8 * per) & (ptp_g < self.STEADY_GYR_RAD_S)
                              & (ptp_a < self.STEADY_ACC_M_S2))
        if not cand.size:
            return
        full = b_counts[cand] == per  # the block's median 0.5 s rate (sway averages out)
        rates = np.empty((cand.size, 3))
        rates[full] = np.median(g[b_starts[cand[full]][:, None] + np.arange(per)], axis=1)
        for i in np.flatnonzero(~full):
            j = cand[i]
            rates[i] = np.median(g[b_starts[j]:b_starts[j] + b_counts[j]], axis=0)
        for k, rate in zip(blk[cand].tolist(), rates):
            if float(np.linalg.norm(rate - self._estimate(k))) >= self._tolerance(k):
                continue
            self._ids.append(k)
            self._vals.append(rate)
            self._cum.append(self._cum[-1] + rate)
            if self.first is None:
                self.first = (float((k + 1) * self.BLOCK_S), rate)

    def _tolerance(self, k: int) -> float:
        """How far a steady block's rate may lie from the estimate and still be bias."""
        if not self._ids:
            return self.MAX_BIAS_RAD_S
        minutes = (k - self._ids[-1]) * self.BLOCK_S / 60.0
        return min(self.MAX_BIAS_RAD_S, self.STEP_RAD_S + self.DRIFT_RAD_S_PER_MIN * minutes)

    def _estimate(self, k: int) -> np.ndarray:
        """Bias for block ``k``: mean of the accepted blocks of the window before it, else
        the last one accepted (a bias does not vanish when the person stops resting)."""
        lo, hi = bisect.bisect_left(self._ids, k - self.WINDOW_BLOCKS), bisect.bisect_left(self._ids, k)
        if hi > lo:
            return (self._cum[hi] - self._cum[lo]) / (hi - lo)
        return self._vals[hi - 1] if hi > 0 else np.zeros(3)

    def update(self, t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> np.ndarray:
        """Feed samples in time order; returns the bias to remove at each, (n, 3) rad/s."""
        out = np.zeros((t_s.size, 3))
        if t_s.size == 0:
            return out
        blk = np.floor(t_s / self.BLOCK_S).astype(np.int64)
        if self._buf is not None:
            t_all = np.concatenate([self._buf[0], t_s])
            acc_all, gyr_all = np.vstack([self._buf[1], acc_m_s2]), np.vstack([self._buf[2], gyr_rad_s])
        else:
            t_all, acc_all, gyr_all = t_s, acc_m_s2, gyr_rad_s
        blk_all = np.floor(t_all / self.BLOCK_S).astype(np.int64)
        # blocks are judged once complete: before the bias of any later block is asked
        open_from = int(np.searchsorted(blk_all, blk_all[-1]))
        if open_from > 0:
            self._steady_blocks(t_all[:open_from], acc_all[:open_from], gyr_all[:open_from])
        self._buf = (t_all[open_from:], acc_all[open_from:], gyr_all[open_from:])
        k_starts = np.r_[0, np.flatnonzero(np.diff(blk)) + 1]
        for k, i0, i1 in zip(blk[k_starts].tolist(), k_starts.tolist(), np.r_[k_starts[1:], t_s.size].tolist()):
            out[i0:i1] = self.excess(self._estimate(k))
        return out

    @classmethod
    def excess(cls, bias_rad_s: np.ndarray) -> np.ndarray:
        """The part of a bias estimate to remove before VQF: beyond ``VQF_SHARE_RAD_S`` per
        axis. VQF estimates the rest itself (well within its clip), as it always did for
        a trimmed part; this estimate, which a hold's sway and creep blur by a few tenths
        of a °/s, only takes what VQF cannot."""
        return np.sign(bias_rad_s) * np.maximum(np.abs(bias_rad_s) - cls.VQF_SHARE_RAD_S, 0.0)


def estimate_orientation(
    t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray,
    mag_uT: np.ndarray | None = None, *, sampling_rate_hz: float,
    params: OrientationParams | None = None, profile: str | None = None,
) -> Orientation:
    """Orientation of a recorded session (acausal, offline VQF).

    Parameters
    ----------
    t_s : ndarray, shape (N,)
        Sample times in s.
    acc_m_s2, gyr_rad_s : ndarray, shape (N, 3)
        Sensor-frame specific force (m/s²) and angular rate (rad/s).
    mag_uT : ndarray, shape (N, 3), optional
        Magnetic field in µT.
    sampling_rate_hz : float
        Rate of the time base; gaps (steps of 1.5 periods or more) are bridged with
        interpolated samples so the integration spans the right time.
    params : OrientationParams, optional
    profile : str, optional
        Device profile id; ``microbit`` and ``polar-h10`` have no gyroscope.

    Returns
    -------
    Orientation

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(500) / 100.0
    >>> acc = np.tile([0.0, 9.81, 0.0], (500, 1))       # sensor y axis points up
    >>> o = estimate_orientation(t, acc, np.zeros((500, 3)) + 1e-9, sampling_rate_hz=100.0)
    >>> np.round(o.quat_wxyz[-1], 3).tolist()
    [0.707, 0.707, 0.0, 0.0]
    """
    params = params or OrientationParams()
    t_s = np.asarray(t_s, dtype=np.float64)
    acc = np.ascontiguousarray(acc_m_s2, dtype=np.float64)
    gyr = np.ascontiguousarray(gyr_rad_s, dtype=np.float64)
    mag = None if mag_uT is None else np.ascontiguousarray(mag_uT, dtype=np.float64)
    _check(t_s, acc, gyr, mag)
    check_positive_arg("sampling_rate_hz", sampling_rate_hz)
    notes: list[str] = []

    if not has_gyroscope(gyr, profile):
        sos = sps.butter(2, min(params.gravity_lowpass_hz, 0.45 * sampling_rate_hz),
                         fs=sampling_rate_hz, output="sos")
        pad = min(3 * 5, acc.shape[0] - 1)
        acc_lp = sps.sosfiltfilt(sos, acc, axis=0, padlen=pad) if acc.shape[0] > 6 else acc
        notes.append("no gyroscope: angles from gravity only; axial rotation unavailable while "
                     "upright (seated twists cannot be measured), seen lying down only")
        return Orientation(_gravity_quat(acc_lp), _rest_from_acc(acc, sampling_rate_hz),
                           np.zeros_like(gyr), "gravity", None, 0, tuple(notes))

    use_mag = mag is not None and params.use_mag != "never"
    if use_mag and params.use_mag == "auto":
        ok, why = _mag_plausible(mag, params)  # type: ignore[arg-type]
        if not ok:
            use_mag = False
            notes.append(why or "")

    still_bias = StillBias()
    pre_bias = still_bias.update(t_s, acc, gyr)
    if still_bias.first is not None:
        pre_bias[t_s < still_bias.first[0]] = StillBias.excess(still_bias.first[1])
    gyr = gyr - pre_bias
    grid = _grid(t_s, sampling_rate_hz, params.max_gap_fill_s)
    n_filled = 0
    pos: np.ndarray | None
    gap: np.ndarray | None
    if grid is not None:
        pos, n_grid, gap = grid
        n_filled = n_grid - t_s.size
        g_gyr, g_acc, g_mag = _fill(pos, n_grid, gyr, acc, mag if use_mag else None, gap=gap)
        notes.append(f"{n_filled} samples interpolated across gaps in the time base")
    else:
        pos = gap = None
        g_gyr, g_acc, g_mag = gyr, acc, (mag if use_mag else None)

    out = vqf.offlineVQF(np.ascontiguousarray(g_gyr), np.ascontiguousarray(g_acc),
                         None if g_mag is None else np.ascontiguousarray(g_mag),
                         1.0 / sampling_rate_hz, params.vqf_params())
    mode = "6D"
    quat = out["quat6D"]
    disturbed: float | None = None
    if g_mag is not None:
        disturbed = float(np.mean(out["magDistDetected"]))
        if params.use_mag == "always" or disturbed <= params.max_mag_disturbed:
            quat, mode = out["quat9D"], "9D"
        else:
            notes.append(f"magnetometer ignored: {disturbed:.0%} of samples magnetically disturbed; "
                         "heading from 6D fusion")
    rest = out["restDetected"]
    pre_grid = pre_bias if pos is None else _fill(pos, n_grid, pre_bias, gap=gap)[0]
    bias = out["bias"] + pre_grid
    if pos is not None:
        quat, rest = _at_samples(quat, pos, gap), _at_samples(rest, pos, gap)
    return Orientation(np.ascontiguousarray(quat), np.asarray(rest, dtype=bool), bias, mode,
                       disturbed, n_filled, tuple(notes), pos)


class OnlineOrientation:
    """Causal orientation for live use: feed batches, get one quaternion per sample.

    Same conventions as :func:`estimate_orientation`; uses ``vqf.VQF`` (causal) or, for
    sensors without a gyroscope, a causal low-pass of the acceleration. Gaps between
    consecutive samples are bridged with interpolated samples.

    Parameters
    ----------
    sampling_rate_hz : float
    params : OrientationParams, optional
    has_gyro : bool
    use_mag : bool
        Feed the magnetometer to VQF (the caller decides whether it is trustworthy).
    """

    def __init__(self, sampling_rate_hz: float, params: OrientationParams | None = None, *,
                 has_gyro: bool = True, use_mag: bool = False) -> None:
        check_positive_arg("sampling_rate_hz", sampling_rate_hz)
        self.params = params or OrientationParams()
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.has_gyro = has_gyro
        self.use_mag = use_mag
        self.mode = ("9D" if use_mag else "6D") if has_gyro else "gravity"
        self._vqf = vqf.VQF(1.0 / sampling_rate_hz, **self.params.vqf_params()) if has_gyro else None
        self._sos = sps.butter(2, min(self.params.gravity_lowpass_hz, 0.45 * sampling_rate_hz),
                               fs=sampling_rate_hz, output="sos")
        self._zi: np.ndarray | None = None
        self._still_bias = StillBias()
        self._last: tuple[float, np.ndarray, np.ndarray, np.ndarray | None] | None = None

    def update(self, t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray,
               mag_uT: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Process a batch; returns ``(quat_wxyz (n, 4), rest (n,))``."""
        t_s = np.asarray(t_s, dtype=np.float64)
        acc = np.ascontiguousarray(acc_m_s2, dtype=np.float64)
        gyr = np.ascontiguousarray(gyr_rad_s, dtype=np.float64)
        mag = None if (mag_uT is None or not self.use_mag) else np.ascontiguousarray(mag_uT, dtype=np.float64)
        n = t_s.size
        if n == 0:
            return np.zeros((0, 4)), np.zeros(0, dtype=bool)
        if not self.has_gyro:
            if self._zi is None:
                self._zi = sps.sosfilt_zi(self._sos)[:, :, None] * acc[0][None, None, :]
            acc_lp, self._zi = sps.sosfilt(self._sos, acc, axis=0, zi=self._zi)
            return _gravity_quat(acc_lp), np.zeros(n, dtype=bool)
        assert self._vqf is not None
        gyr = gyr - self._still_bias.update(t_s, acc, gyr)
        # bridge a gap since the previous batch (and inside this one) on the grid
        if self._last is not None:
            t_all = np.concatenate([[self._last[0]], t_s])
            acc_all = np.vstack([self._last[1], acc])
            gyr_all = np.vstack([self._last[2], gyr])
            mag_all = None if mag is None or self._last[3] is None else np.vstack([self._last[3], mag])
            offset = 1
        else:
            t_all, acc_all, gyr_all, mag_all, offset = t_s, acc, gyr, mag, 0
        grid = uniform_grid(t_all, sampling_rate_hz=self.sampling_rate_hz,
                            max_gap_fill_s=self.params.max_gap_fill_s)
        if grid is not None:
            pos, n_grid = grid
            gyr_g, acc_g, mag_g = _fill(pos, n_grid, gyr_all, acc_all, mag_all)
            # grid index 0 is the previous batch's last sample, already fed to the filter
            gyr_g, acc_g = gyr_g[offset:], acc_g[offset:]  # type: ignore[index]
            mag_g = None if mag_g is None else mag_g[offset:]
            keep = pos[offset:] - offset
        else:
            gyr_g, acc_g, mag_g, keep = gyr, acc, mag, None
        if mag_g is not None:
            out = self._vqf.updateBatch(np.ascontiguousarray(gyr_g), np.ascontiguousarray(acc_g),
                                        np.ascontiguousarray(mag_g))
            quat = out["quat9D"]
        else:
            out = self._vqf.updateBatch(np.ascontiguousarray(gyr_g), np.ascontiguousarray(acc_g))
            quat = out["quat6D"]
        rest = np.asarray(out["restDetected"], dtype=bool)
        if keep is not None:
            quat, rest = quat[keep], rest[keep]
        self._last = (float(t_s[-1]), acc[-1:], gyr[-1:], None if mag is None else mag[-1:])
        return quat_normalize(quat), rest
