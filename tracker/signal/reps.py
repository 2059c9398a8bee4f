"""Repetitions: posture, segmentation, exercise and side, peak, hold.

Pipeline (each step a pure function of arrays):

1. :func:`classify_posture` — the body's 'up' direction in its own frame says how the
   person is placed: upright (sitting or standing; body z up), ``supine`` (lying on the
   back; body x up) or ``all_fours`` (body x down). Every sample gets the nearest of
   the three within ``posture_max_deg``, else ``other`` (transitions, side-lying).
2. :func:`posture_bouts` — runs of one posture lasting ``min_bout_s`` or more. Each bout
   has a reference posture: its first still moment (for the first upright bout, the
   calibration's neutral posture).
3. :func:`find_reps` — per bout, all three angles against the bout's reference,
   smoothed with zero phase (``smooth_hz``), go step by step through the repetition
   core :class:`tracker.signal.repcore.RepFinder`, the causal state machine the live
   analyser runs too (start, plane, hold, end, acceptance, confidence: its docstring has
   the rules). The bout starts where the movement into the posture has settled. An
   excursion beyond ``max_peak_deg`` or one that does not come back within
   ``max_rep_s`` is a change of posture (turning round, sitting down): the bout is split
   where the person settles and the angles re-referenced there. The exercise is the
   named stretch when posture and plane match one, else the generic movement
   (:func:`tracker.schema.exercise_of`):

   ========== ======================= ===================================================
   posture    plane (sign of peak)    exercise
   ========== ======================= ===================================================
   upright    flexion −               ``chair_backbend``
   upright    axial rotation          ``seated_twist``; side = sign (+ left)
   supine     axial rotation          ``trunk_rotation``; side = sign (+ left)
   all fours  flexion +               ``cat_stretch``
   any other  flexion + / −           ``forward_bend`` / ``back_bend``
   any other  lateral bend            ``side_bend``; side = sign (+ right)
   any other  axial rotation          ``twist``; side = sign (+ left)
   ========== ======================= ===================================================

   The recording's smallest repetition adapts to its angle noise at rest
   (:func:`~tracker.signal.repcore.rep_levels`, from the neutral period) and to the
   person's own range (``own_range_frac``).
4. Peak: the sample of largest |primary angle| measured against *the repetition's own
   start posture*, moved linearly in time to the posture it returns to (reference per
   repetition with drift correction: heading drift of 6D fusion, and a creeping hold
   that VQF takes for gyroscope bias, stay out of the peak; a lying person's resettling
   is absorbed). Hold: from the core (the longest near-peak slow stretch of the
   smoothed primary angle; shorter than ``min_hold_s`` means no hold).

Without a gyroscope there is no heading: angles come from gravity alone
(:func:`tracker.signal.angles.gravity_angles_deg`), so a seated twist cannot be seen,
but a supine rotation (about a horizontal axis) can.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from .. import schema
from ..schema import PLANES
from ._quat import _BLAS_ROWS, quat_normalize
from .angles import body_up, gravity_angles_deg, relative_angles_deg
from .params import RepParams
from .repcore import (
    FoundRep, RepFinder, RepLevels, angle_noise_deg, classify_rep, confidence, max_peak_of, peak_ok, rep_levels,
)

__all__ = [
    "POSTURES", "RepEvent", "Bout", "classify_posture", "posture_bouts", "find_reps",
    "lowpass", "still_mask", "bends_from_upright", "ActivityDetector", "activity_mask", "CANONICAL_UP", "AngleSource", "classify_rep",
    "primary_channels", "confidence", "reference_noise_deg",
]

#: Posture codes of :func:`classify_posture`.
POSTURES = ("other", "upright", "supine", "all_fours")
_UPRIGHT, _SUPINE, _ALL_FOURS = 1, 2, 3
CANONICAL_UP = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
_F, _L, _R = 0, 1, 2


@dataclass(frozen=True)
class Bout:
    """``[start, end)`` sample run of one posture; ``ref`` = reference sample range."""

    start: int
    end: int
    posture: int
    ref_start: int
    ref_end: int


@dataclass(frozen=True, eq=False)
class RepEvent:
    """One repetition in sample indices (``[start, end)``) plus its measurements.

    ``primary_deg`` is the primary angle over ``[start, end)`` against the start
    posture (drift-corrected, see :class:`~tracker.signal.params.RepParams`).
    """

    exercise: str
    side: str | None
    start: int
    end: int
    peak: int
    hold_start: int | None
    hold_end: int | None
    peak_deg: float
    primary: int  # 0 flexion, 1 lateral bend, 2 axial rotation
    ref_start: int  # start-posture samples [ref_start, ref_end)
    ref_end: int
    bout: int
    confidence: float
    primary_deg: np.ndarray
    after: tuple[int, int] | None = None  # end-posture samples (drift correction), if any
    plane: str = "flexion"
    posture: str = "upright"
    min_peak_deg: float = 0.0  # the recording's smallest repetition (repcore.rep_levels)


try:  # the compiled core of scipy.signal.sosfilt: same numbers without its ~0.1 ms of
    # argument handling per call (lowpass runs twice per posture bout)
    from scipy.signal._sosfilt import _sosfilt as _sosfilt_core
except ImportError:  # pragma: no cover - a scipy that moved it: the public function
    _sosfilt_core = None


def _sosfilt_time_last(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """``sosfilt(sos, x, axis=-1, zi=zi[:, None, :] * x[:, :1])[0]`` for a C-contiguous
    float64 ``x`` (channels, time), filtered in place."""
    z = np.ascontiguousarray(zi[None, :, :] * x[:, :1, None])  # (channels, sections, 2)
    if _sosfilt_core is None:
        return sps.sosfilt(sos, x, axis=-1, zi=np.moveaxis(z, 0, 1))[0]
    _sosfilt_core(sos, x, z)
    return x


@functools.lru_cache(maxsize=64)
def _butter(cutoff_hz: float, sampling_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    sos = sps.butter(2, cutoff_hz, fs=sampling_rate_hz, output="sos")
    return sos, sps.sosfilt_zi(sos)


def lowpass(x: np.ndarray, cutoff_hz: float, sampling_rate_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth low-pass along axis 0 (NaN-free input).

    Same as ``scipy.signal.sosfiltfilt`` with odd padding of one second, with the filter
    design and initial state cached (called once per repetition).
    """
    if x.shape[0] < 16 or cutoff_hz >= 0.45 * sampling_rate_hz:
        return x.copy()
    sos, zi = _butter(float(cutoff_hz), float(sampling_rate_hz))
    pad = min(x.shape[0] - 1, int(sampling_rate_hz))
    ext = np.concatenate([2 * x[:1] - x[pad:0:-1], x, 2 * x[-1:] - x[-2:-pad - 2:-1]])
    # channels first, time last: the filter's own layout
    y = np.array(ext.reshape(ext.shape[0], -1).T, dtype=np.float64, order="C")
    y = _sosfilt_time_last(sos, y, zi)
    y = _sosfilt_time_last(sos, np.ascontiguousarray(y[:, ::-1]), zi)
    out = y[:, ::-1][:, pad:pad + x.shape[0]].T
    return np.ascontiguousarray(out).reshape(x.shape)


def activity_mask(acc_m_s2: np.ndarray, sampling_rate_hz: float, threshold_m_s2: float) -> np.ndarray:
    """Walking or other vigorous movement: the 1 s standard deviation of the
    acceleration's magnitude above ``threshold_m_s2`` for at least 3 s. The magnitude
    ignores turning (gravity only changes direction); stretches are slow, while gait
    shakes the lower back by 1–2 m/s² at the step frequency. (Calibration's walking
    test; repetitions use :class:`ActivityDetector`, which the live view can run.)"""
    n = max(2, int(round(sampling_rate_hz)))
    m = np.sqrt(np.einsum("ij,ij->i", acc_m_s2, acc_m_s2))
    c1 = np.concatenate([[0.0], np.cumsum(m)])
    c2 = np.concatenate([[0.0], np.cumsum(m * m)])
    idx = np.arange(m.size)
    lo = np.clip(idx - n // 2, 0, None)
    hi = np.clip(lo + n, None, m.size)
    cnt = hi - lo
    var = (c2[hi] - c2[lo]) / cnt - ((c1[hi] - c1[lo]) / cnt) ** 2
    active = np.sqrt(np.maximum(var, 0.0)) > threshold_m_s2
    # a knock stirs one window (~1 s), a phone buzz a few seconds; walking goes on
    for a, b in _runs(active):
        if b - a < 3 * n:
            active[a:b] = False
    return active


class ActivityDetector:
    """Is the person moving about (walking, sitting down, rolling over), not stretching?

    Causal, one batch at a time (the live analyser) or all samples at once (the whole
    session): the same numbers either way. Active = the acceleration, low-passed at
    ``active_lowpass_hz``, differs from 1 g by more than ``active_acc_m_s2`` for more
    than ``active_frac`` of the last second (steps shake the lower back by ±2–3 m/s²; a
    slow stretch by well under 0.5 m/s²).
    """

    def __init__(self, sampling_rate_hz: float, params: RepParams) -> None:
        fs = float(sampling_rate_hz)
        self._sos = sps.butter(2, min(params.active_lowpass_hz, 0.45 * fs), fs=fs, output="sos")
        self._zi: np.ndarray | None = None
        self._n = max(1, int(round(fs)))
        self._tail = np.zeros(0)
        self._p = params
        self._run = 0  # samples of the active run going on at the end of the last batch
        self._n_sustained = max(1, int(round(params.sustained_active_s * fs)))

    def update(self, acc_m_s2: np.ndarray) -> np.ndarray:
        """Activity flag per sample of ``acc_m_s2`` (N, 3)."""
        acc = np.asarray(acc_m_s2, dtype=float)
        if acc.shape[0] == 0:
            return np.zeros(0, dtype=bool)
        if self._zi is None:
            self._zi = sps.sosfilt_zi(self._sos)[:, :, None] * acc[0][None, None, :]
        a_lp, self._zi = sps.sosfilt(self._sos, acc, axis=0, zi=self._zi)
        dyn = (np.abs(np.sqrt(np.einsum("ij,ij->i", a_lp, a_lp)) - schema.STANDARD_GRAVITY_M_S2)
               > self._p.active_acc_m_s2).astype(float)
        # trailing mean over the last second, carried across batches
        allx = np.concatenate([self._tail, dyn])
        c = np.concatenate([[0.0], np.cumsum(allx)])
        hi = np.arange(self._tail.size + 1, allx.size + 1)
        lo = np.maximum(hi - self._n, 0)
        frac = (c[hi] - c[lo]) / (hi - lo)
        self._tail = allx[-(self._n - 1):] if self._n > 1 else allx[:0]
        return frac > self._p.active_frac

    def sustained(self, active: np.ndarray) -> np.ndarray:
        """Of ``active`` (this detector's output, batch by batch), the samples of runs
        that have lasted ``sustained_active_s``: moving about (walking, getting up or
        down), not a knock or a footstep, which flag the detector for under a second."""
        a = np.asarray(active, dtype=bool)
        if a.size == 0:
            return a.copy()
        idx = np.arange(a.size)
        last_off = np.maximum.accumulate(np.where(a, -1, idx))
        run = np.where(a, idx - last_off, 0)
        run = np.where(a & (last_off < 0), run + self._run, run)  # a run going on from before
        self._run = int(run[-1])
        return run >= self._n_sustained


def still_mask(gyr_rad_s: np.ndarray, sampling_rate_hz: float, threshold_rad_s: float) -> np.ndarray:
    """Samples whose 0.5 s mean angular-rate magnitude is below ``threshold_rad_s``."""
    n = max(1, int(round(0.5 * sampling_rate_hz)))
    c = np.cumsum(np.vstack([np.zeros((1, 3)), gyr_rad_s]), axis=0)
    idx = np.arange(gyr_rad_s.shape[0])
    lo = np.clip(idx - n // 2, 0, None)
    hi = np.clip(lo + n, None, gyr_rad_s.shape[0])
    m = (c[hi] - c[lo]) / (hi - lo)[:, None]
    return np.linalg.norm(m, axis=1) < threshold_rad_s


def classify_posture(up_body: np.ndarray, *, sampling_rate_hz: float, max_deg: float) -> np.ndarray:
    """Posture code per sample (index into :data:`POSTURES`).

    Parameters
    ----------
    up_body : ndarray, shape (N, 3)
        World 'up' in the body frame.
    sampling_rate_hz : float
    max_deg : float
        Largest angle between ``up_body`` and a posture's canonical 'up'.
    """
    up = lowpass(up_body, 1.0, sampling_rate_hz)
    up /= np.maximum(np.linalg.norm(up, axis=1, keepdims=True), 1e-9)
    cos = np.empty((up.shape[0], 3))
    for a in range(0, up.shape[0], _BLAS_ROWS):  # single-threaded BLAS calls (see _quat)
        np.matmul(up[a:a + _BLAS_ROWS], CANONICAL_UP.T, out=cos[a:a + _BLAS_ROWS])
    best = np.argmax(cos, axis=1)
    ok = cos[np.arange(up.shape[0]), best] >= np.cos(np.radians(max_deg))
    return np.where(ok, best + 1, 0).astype(np.int8)


def bends_from_upright(posture: np.ndarray, up_body: np.ndarray, active: np.ndarray, *,
                       sampling_rate_hz: float, params: RepParams) -> np.ndarray:
    """Posture codes with forward bends from upright put back to upright.

    A standing toe touch tips a lower-back sensor by 60–100°: its gravity then reads like
    all fours. A run of any other posture between two upright ones is such a bend when
    it is back within ``max_rep_s``, the body pitched forward (its 'up' towards the
    back), and nothing was ``active`` (:class:`ActivityDetector`) from
    ``settle_after_active_s`` before it until it ended (getting down on all fours or
    lying down moves the whole body, in bursts). The live analyser holds a posture
    change back by the same rule.
    """
    out = posture.copy()
    fs = sampling_rate_hz
    margin = int(round(params.settle_after_active_s * fs))
    for a, b in _runs(out != _UPRIGHT):
        if a == 0 or b >= out.size or (b - a) / fs > params.max_rep_s:
            continue
        if np.any(active[max(0, a - margin):b]):
            continue
        u = up_body[a:b].mean(axis=0)
        if u[0] < 0.0 and abs(u[0]) > abs(u[1]):
            out[a:b] = _UPRIGHT
    return out


def _runs(mask: np.ndarray) -> np.ndarray:
    """(k, 2) array of ``[start, end)`` runs of True."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    return np.flatnonzero(np.diff(m.astype(np.int8))).reshape(-1, 2)


def posture_bouts(posture: np.ndarray, still: np.ndarray, *, sampling_rate_hz: float,
                  min_bout_s: float, neutral: tuple[int, int] | None = None) -> list[Bout]:
    """Runs of one posture (not ``other``) of at least ``min_bout_s``, with references.

    The reference of a bout is the first second of its first still run of at least
    0.5 s, else its first half second; a bout that contains the ``neutral`` sample range
    uses that instead.
    """
    out: list[Bout] = []
    fs = sampling_rate_hz
    min_len = int(round(min_bout_s * fs))
    half = max(1, int(round(0.5 * fs)))
    change = np.flatnonzero(np.diff(posture)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [posture.size]])
    for a, b in zip(starts, ends):
        code = int(posture[a])
        if code == 0 or b - a < min_len:
            continue
        if neutral is not None and a <= neutral[0] < b:
            out.append(Bout(int(a), int(b), code, neutral[0], neutral[1]))
            continue
        runs = _runs(still[a:b])
        runs = runs[(runs[:, 1] - runs[:, 0]) >= half] if runs.size else runs
        if len(runs):
            r0, r1 = int(runs[0, 0]) + a, int(runs[0, 1]) + a
            trim = min((r1 - r0) // 5, half // 2)  # the edges end a movement
            out.append(Bout(int(a), int(b), code, r0 + trim, min(r1 - trim, r0 + trim + 2 * half)))
        else:
            out.append(Bout(int(a), int(b), code, int(a), int(min(b, a + half))))
    return out


class AngleSource:
    """Angles of any sample range against any reference range (quaternions or gravity)."""

    def __init__(self, q_world_body: np.ndarray, up_body: np.ndarray, has_heading: bool) -> None:
        self.q = q_world_body
        self.up = up_body
        self.has_heading = has_heading

    def ref(self, a: int, b: int) -> np.ndarray:
        b = max(b, a + 1)
        if self.has_heading:
            qs = self.q[a:b]
            qs = qs * np.sign(qs @ qs[(b - a) // 2])[:, None]
            return quat_normalize(qs.mean(axis=0))
        u = self.up[a:b].mean(axis=0)
        return u / np.linalg.norm(u)

    def angles(self, a: int, b: int, ref: np.ndarray) -> np.ndarray:
        if self.has_heading:
            return relative_angles_deg(self.q[a:b], ref)
        return gravity_angles_deg(self.up[a:b], ref)

    def angles_moving_ref(self, a: int, b: int, ref0: np.ndarray, ref1: np.ndarray) -> np.ndarray:
        """Angles of ``[a, b)`` against a reference moving linearly from ``ref0`` to ``ref1``."""
        w = np.linspace(0.0, 1.0, b - a)[:, None]
        if self.has_heading:
            ref1 = ref1 if ref1 @ ref0 >= 0 else -ref1
            return relative_angles_deg(self.q[a:b], quat_normalize((1.0 - w) * ref0 + w * ref1))
        u = (1.0 - w) * ref0 + w * ref1
        return gravity_angles_deg(self.up[a:b], u / np.linalg.norm(u, axis=1, keepdims=True))


def primary_channels(posture: int) -> tuple[int, ...]:
    """Angles (0 flexion, 1 lateral bend, 2 axial rotation) that can be primary there:
    every plane, in every posture (design.md)."""
    return (_F, _L, _R)


def find_reps(
    t_s: np.ndarray, q_world_body: np.ndarray, still: np.ndarray, *, sampling_rate_hz: float,
    params: RepParams | None = None, has_heading: bool = True,
    neutral: tuple[int, int] | None = None, measure: bool = True,
    active: np.ndarray | None = None, moving: np.ndarray | None = None, _step_all: bool = False,
) -> tuple[list[RepEvent], list[Bout], np.ndarray]:
    """Find the repetitions: :class:`~tracker.signal.repcore.RepFinder` run over each
    posture bout.

    Parameters
    ----------
    t_s : ndarray, shape (N,)
    q_world_body : ndarray, shape (N, 4)
        Body orientation (calibrated mounting applied).
    still : ndarray of bool, shape (N,)
        Person still (angular rate low), used for reference postures.
    sampling_rate_hz : float
    params : RepParams, optional
    has_heading : bool
        False for gravity-only orientation (no gyroscope).
    neutral : (int, int), optional
        Sample range of the calibration's neutral posture (its angle noise sets the
        recording's detection level, :func:`~tracker.signal.repcore.rep_levels`).
    active : ndarray of bool, shape (N,), optional
        Walking or other vigorous movement (:class:`ActivityDetector`); a candidate
        that is mostly active is not a stretch.
    moving : ndarray of bool, shape (N,), optional
        Of ``active``, the sustained part (:meth:`ActivityDetector.sustained`): a
        candidate begun soon after it is not a stretch. Default: none.
    measure : bool
        Measure each repetition's primary angle against its (drift-corrected) start
        posture here. False leaves ``peak``, ``peak_deg``, ``primary_deg`` and
        ``confidence`` from the detection angles, for callers that measure at a higher
        rate themselves (:func:`~tracker.signal.process.process_session`).

    Returns
    -------
    reps : list of RepEvent
    parts : list of Bout
        The posture bouts, split where the person settled into a new orientation in the
        same posture (turned round, sat down); each part has its own reference.
    posture : ndarray of int8, shape (N,)
        Posture code per sample (:data:`POSTURES`).
    """
    p = params or RepParams()
    fs = sampling_rate_hz
    up = body_up(q_world_body)
    posture = classify_posture(up, sampling_rate_hz=fs, max_deg=p.posture_max_deg)
    if active is not None:
        posture = bends_from_upright(posture, up, active, sampling_rate_hz=fs, params=p)
    bouts = posture_bouts(posture, still, sampling_rate_hz=fs, min_bout_s=p.min_bout_s,
                          neutral=neutral)
    src = AngleSource(q_world_body, up, has_heading)
    levels = rep_levels(p, reference_noise_deg(src, neutral if neutral is not None else
                                      ((bouts[0].ref_start, bouts[0].ref_end) if bouts else None), fs, p),
                        has_heading=has_heading)
    t = np.asarray(t_s, dtype=float)
    reps: list[RepEvent] = []
    parts: list[Bout] = []
    half = max(1, int(round(0.5 * fs)))
    for bout in bouts:
        part: Bout | None = bout
        while part is not None:
            parts.append(part)
            found, restart = _reps_in_bout(len(parts) - 1, part, src, t, fs, p, levels, measure, active,
                                           _step_all, moving)
            if restart is not None:
                parts[-1] = Bout(part.start, restart, part.posture, part.ref_start, part.ref_end)
            reps.extend(found)
            part = None
            if restart is not None and bout.end - restart > half:
                # new reference: the first still moment after the settling point
                runs = _runs(still[restart:bout.end])
                runs = runs[(runs[:, 1] - runs[:, 0]) >= half] if runs.size else runs
                r0 = restart + (int(runs[0, 0]) if len(runs) else 0)
                r1 = min(bout.end, r0 + half)
                part = Bout(restart, bout.end, bout.posture, r0, r1)
    return reps, parts, posture


def reference_noise_deg(src: AngleSource, rng: tuple[int, int] | None, fs: float, p: RepParams) -> float:
    """Noise of the smoothed angles over a still sample range (0 when there is none)."""
    if rng is None or rng[1] - rng[0] < 3:
        return 0.0
    ang = src.angles(rng[0], rng[1], src.ref(*rng))
    ok = [c for c in range(3) if np.isfinite(ang[:, c]).all()]
    if not ok:
        return 0.0
    return angle_noise_deg(lowpass(ang[:, ok], p.smooth_hz, fs))


def _reps_in_bout(k: int, bout: Bout, src: AngleSource, t: np.ndarray, fs: float, p: RepParams,
                  levels: RepLevels, measure: bool = True, active: np.ndarray | None = None,
                  step_all: bool = False, moving: np.ndarray | None = None,
                  ) -> tuple[list[RepEvent], int | None]:
    """Repetitions of one bout, and where to restart with a new reference (or None)."""
    a, b = bout.start, bout.end
    n = b - a
    ang = src.angles(a, b, src.ref(bout.ref_start, bout.ref_end))
    usable = [c for c in primary_channels(bout.posture) if not np.isnan(ang[:, c]).all()]
    if not usable or n < 2:
        return [], None
    # unwrap: turning round while standing crosses ±180°
    raw = np.zeros((n, 3))
    raw[:, usable] = np.unwrap(np.nan_to_num(ang[:, usable]), period=360.0, axis=0)
    sm = np.zeros((n, 3))
    sm[:, usable] = lowpass(raw[:, usable], p.smooth_hz, fs)
    vel = np.asarray(np.gradient(sm, axis=0)) * fs
    w_ref = int(round(p.ref_window_s * fs))
    out: list[RepEvent] = []
    # start where the movement into this posture has settled: calm, and staying so for
    # ref_window_s (a roll onto all fours ends in a wobble that is no stretch)
    slow_idx = np.flatnonzero(np.abs(vel[:, usable]).max(axis=1) < p.onset_rate_deg_s)
    w = max(1, int(round(p.ref_window_s * fs)))
    pos = int(slow_idx[0]) if slow_idx.size else 0
    # a recording that starts in this posture, still for a moment (half the window; the
    # zero-phase smoothing smears the first movement back), had no movement into it
    head = raw[:max(2, w // 2), usable]
    if a == 0 and np.abs(head - head[0]).max() < levels.detect_deg:
        pos = 0
    else:
        for k in slow_idx[:2000].tolist():  # calm, and staying within the detection level
            if np.abs(sm[k:k + w, usable] - sm[k, usable]).max() < levels.detect_deg:
                pos = k
                break
    if a <= bout.ref_start < b:  # its reference is a still moment: start there at the latest
        pos = min(pos, bout.ref_start - a)
    name = POSTURES[bout.posture]
    finder = RepFinder(name, usable, p, levels)
    # the step machine reads plain floats: converted per step it runs (most steps between
    # repetitions and inside holds are taken in one go below)
    tt, aa = t[a:b], (np.zeros(n, dtype=bool) if active is None else active[a:b])
    mm = np.zeros(n, dtype=bool) if moving is None else moving[a:b]
    comb = np.hstack([sm, vel, raw])
    finder.reset(pos, float(tt[pos]), sm[pos].tolist())
    step = finder.step
    found: list[FoundRep] = []
    starts: list[int] = []
    restart = None
    # calm steps between repetitions (every angle slower than onset_rate_deg_s and moving
    # less than drift_rate_deg_s allows) only move the start posture along: skipped in
    # one go (RepFinder.rest_until), the same state as stepping through them
    lim = p.drift_rate_deg_s * np.diff(t[a:b], prepend=t[a])
    calm = np.asarray((np.abs(vel[:, usable]) < p.onset_rate_deg_s).all(axis=1), dtype=bool)
    calm &= (np.abs(np.diff(sm[:, usable], axis=0, prepend=sm[:1, usable])) <= lim[:, None]).all(axis=1)
    idx = np.where(~calm, np.arange(n), n)  # first non-calm index at or after each index
    calm_end = np.minimum.accumulate(idx[::-1])[::-1]
    i = pos + 1
    retry = 0
    calm_l, tt_l, aa_l, mm_l = calm.tolist(), tt.tolist(), aa.tolist(), mm.tolist()
    last_moving = np.maximum.accumulate(np.where(mm, np.arange(n), -1))  # (for the skipped steps)
    while i < n:
        if not step_all and calm_l[i] and finder.rep is None and finder.resting(sm[i - 1].tolist()):
            j = int(calm_end[i])  # steps i..j-1 are calm
            k_ = int(last_moving[j - 1])
            finder.rest_until(j - 1, tt_l[j - 1], sm[j - 1].tolist(), tt_l[k_] if k_ >= 0 else -math.inf)
            i = j
            continue
        if not step_all and i >= retry and finder.rep is not None and finder.rep.holding:
            e_ = min(n, i + _ROWS)  # a hold in progress: its steps in one go
            k_ = finder.hold_until(i, tt[i:e_], sm[i:e_], vel[i:e_], raw[i:e_], aa[i:e_], mm[i:e_])
            if k_:
                i += k_
                continue
            retry = i + 16  # (the hold is ending or changing: step through that)
        r_ = comb[i].tolist()
        events = step(i, tt_l[i], r_[0:3], r_[3:6], r_[6:9], aa_l[i], mm_l[i])
        i += 1
        for kind, f in events:
            if kind == "start":
                starts.append(f.start_i)  # type: ignore[attr-defined]
            elif kind == "end" and f.rejected is None:  # type: ignore[attr-defined]
                assert isinstance(f, FoundRep)
                found.append(f)
        if finder.settled is not None:
            restart = a + finder.settled[0]
            break
    for f in found:
        nxt = [s for s in starts if s >= f.end_i]
        ev = _event(k, a, b, f, min(nxt) if nxt else n, src, sm, w_ref, p, levels, measure, name, usable)
        if ev is not None:
            out.append(ev)
    return out, restart


#: Steps of a hold taken in one go at most (RepFinder.hold_until).
_ROWS = 256


def _event(k: int, a: int, b: int, f: FoundRep, next_start: int, src: AngleSource, sm: np.ndarray, w_ref: int,
           p: RepParams, levels: RepLevels, measure: bool, posture: str, usable: list[int]
           ) -> RepEvent | None:
    """The RepEvent of an accepted candidate of the bout starting at sample ``a``."""
    s, e, ch = f.start_i, f.end_i + 1, f.channel
    # the start posture is the orientation at the onset (averaged back to the end of
    # the movement before); the rep returns to it, so what the orientation says at the
    # end (averaged up to the next movement) vs at the start is drift (6D heading, bias
    # absorbed during a creeping hold): the reference moves from the start to the end
    # posture in proportion to time
    # (a repetition that swung on from another, past the start posture, has that one's)
    r_prev, r_s = f.ref_i if f.ref_i is not None else (f.prev_end_i, s)
    start_ref = (a + max(0, r_prev, r_s - w_ref), a + r_s + 1)
    # (only where it came to rest: a repetition that runs into the next movement has no
    # end posture to compare)
    after = (a + e - 1, a + max(e, min(b - a, e + w_ref, next_start))) \
        if p.drift_correction and f.ended_still else None
    if not measure:
        prim = sm[s:e, ch] - sm[s, ch]
        i_pk, peak, conf = f.peak_i - s, f.peak_deg, f.confidence
    else:
        if after is not None:
            rel = src.angles_moving_ref(a + s, a + e, src.ref(*start_ref), src.ref(*after))
        else:
            rel = src.angles(a + s, a + e, src.ref(*start_ref))
        prim = rel[:, ch]
        if np.isnan(prim).all():
            return None
        i_pk = int(np.nanargmax(np.abs(prim)))
        peak = float(prim[i_pk])
        if not peak_ok(peak, p, levels.min_peak_deg, max_peak_of(p, posture, ch, peak)):
            return None
        conf = confidence([float(np.nanmax(np.abs(rel[:, c]))) if c in usable else 0.0
                           for c in range(3)], ch)
    exercise, side = classify_rep(posture, ch, peak)
    hold = f.hold
    return RepEvent(
        exercise, side, a + s, a + e, a + s + i_pk,
        None if hold is None else a + hold[0], None if hold is None else a + hold[1],
        peak, ch, start_ref[0], start_ref[1], k, conf, prim, after,
        plane=PLANES[ch], posture=posture, min_peak_deg=levels.min_peak_deg,
    )


def primary_column(exercise: str) -> str:
    return schema.PRIMARY_ANGLE[exercise]
