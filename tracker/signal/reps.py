"""Repetitions: posture, segmentation, exercise and side, peak, hold.

Pipeline (each step a pure function of arrays):

1. :func:`classify_posture` — the body's 'up' direction in its own frame says how the
   person is placed: upright (sitting or standing; body z up), ``supine`` (lying on the
   back; body x up) or ``all_fours`` (body x down). Every sample gets the nearest of
   the three within ``posture_max_deg``, else ``other`` (transitions, side-lying).
2. :func:`posture_bouts` — runs of one posture lasting ``min_bout_s`` or more. Each bout
   has a reference posture: its first still moment (for the first upright bout, the
   calibration's neutral posture).
3. :func:`find_reps` — per bout, the angles that can be primary there (upright:
   flexion and axial rotation; supine: axial rotation; all fours: flexion) against the
   bout's reference, low-passed (``smooth_hz``). Going through the bout in time, an
   excursion of more than ``detect_frac * min_peak_deg`` from the posture at rest
   before it is a candidate, widened to where the movement starts and stops (angular
   speed below ``onset_rate_deg_s``); the baseline is re-taken after each candidate, so
   slow orientation drift between repetitions never adds up to a false one. An
   excursion beyond ``max_peak_deg`` or one that does not come back within
   ``max_rep_s`` is a change of posture (turning round, sitting down): the bout is split
   there and the angles re-referenced to the posture settled into. A candidate is kept
   when it is one of the four stretches:

   ========== ======================= ===================================================
   posture    dominant angle          exercise (sign of the peak)
   ========== ======================= ===================================================
   upright    flexion, peak < 0       ``chair_backbend`` (a forward lean is standing up)
   upright    axial rotation          ``seated_twist``; side = sign (+ left)
   supine     axial rotation          ``trunk_rotation``; side = sign (+ left)
   all fours  flexion, peak > 0       ``cat_stretch``
   ========== ======================= ===================================================

   It must also reach ``min_peak_deg``, return to within ``return_frac`` of its start
   and last ``min_rep_s``–``max_rep_s``; without a gyroscope it must not be mostly
   walking (:func:`activity_mask`).
4. Peak: the sample of largest |primary angle| measured against *the repetition's own
   start posture*, moved linearly in time to the posture it returns to (reference per
   repetition with drift correction: heading drift of 6D fusion, and a creeping hold
   that VQF takes for gyroscope bias, stay out of the peak; a lying person's resettling
   is absorbed). Hold: the longest stretch where the smoothed primary angle stays
   within ``hold_band_frac`` of its peak and turns slower than ``hold_rate_frac`` of the
   speed going in (at least ``hold_max_rate_deg_s``); shorter than ``min_hold_s`` means
   no hold.

Without a gyroscope there is no heading: angles come from gravity alone
(:func:`tracker.signal.angles.gravity_angles_deg`), so a seated twist cannot be seen,
but a supine rotation (about a horizontal axis) can.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from .. import schema
from ._quat import _BLAS_ROWS, quat_normalize
from .angles import body_up, gravity_angles_deg, relative_angles_deg
from .params import RepParams

__all__ = [
    "POSTURES", "RepEvent", "Bout", "classify_posture", "posture_bouts", "find_reps",
    "lowpass", "still_mask", "activity_mask", "CANONICAL_UP", "AngleSource", "classify_rep",
    "primary_channels",
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
    shakes the lower back by 1–2 m/s² at the step frequency."""
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
    """Angles (0 flexion, 1 lateral bend, 2 axial rotation) that can be primary there."""
    return {_UPRIGHT: (_F, _R), _SUPINE: (_R,), _ALL_FOURS: (_F,)}[posture]


def classify_rep(posture: int, channel: int, peak_deg: float) -> tuple[str | None, str | None]:
    """Exercise and side of a candidate, or (None, None) when it is none of the four."""
    if posture == _UPRIGHT and channel == _F:
        return ("chair_backbend", None) if peak_deg < 0 else (None, None)
    side = "left" if peak_deg > 0 else "right"
    if posture == _UPRIGHT and channel == _R:
        return "seated_twist", side
    if posture == _SUPINE and channel == _R:
        return "trunk_rotation", side
    if posture == _ALL_FOURS and channel == _F:
        return ("cat_stretch", None) if peak_deg > 0 else (None, None)
    return None, None


def _onset(speed: np.ndarray, i: int, step: int, lo: int, hi: int, thr: float) -> int:
    """Walk from ``i`` in direction ``step`` until ``speed`` drops below ``thr``."""
    j = i
    while lo < j < hi - 1 and speed[j] >= thr:
        j += step
    return j


def _hold(p: np.ndarray, v: np.ndarray, peak_abs: float, sign: float, fs: float,
          params: RepParams, ramp_speed: float) -> tuple[int, int] | None:
    """Longest near-peak slow stretch of the smoothed primary angle ``p`` (rep-local)."""
    thr = max(params.hold_max_rate_deg_s, params.hold_rate_frac * ramp_speed)
    near = sign * p >= (1.0 - params.hold_band_frac) * peak_abs
    slow = np.abs(v) < thr
    runs = _runs(near & slow)
    if not len(runs):
        return None
    # bridge short interruptions (a sway or a tap inside the hold): a run joins the one
    # before when the pause between them is at most `gap`
    gap = int(round(0.3 * fs))
    new = np.flatnonzero(runs[1:, 0] - runs[:-1, 1] > gap) + 1  # runs that start a merge
    starts = runs[np.concatenate([[0], new]), 0]
    ends = runs[np.concatenate([new - 1, [len(runs) - 1]]), 1]
    i = int(np.argmax(ends - starts))  # the first longest, as max() picks
    a, b = starts[i], ends[i]
    if (b - a) / fs < params.min_hold_s:
        return None
    return int(a), int(b)


def find_reps(
    t_s: np.ndarray, q_world_body: np.ndarray, still: np.ndarray, *, sampling_rate_hz: float,
    params: RepParams | None = None, has_heading: bool = True,
    neutral: tuple[int, int] | None = None, measure: bool = True,
    active: np.ndarray | None = None,
) -> tuple[list[RepEvent], list[Bout], np.ndarray]:
    """Find the repetitions of the four stretches.

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
        Sample range of the calibration's neutral posture.
    active : ndarray of bool, shape (N,), optional
        Walking or other vigorous movement (:func:`activity_mask`); a candidate that is
        mostly active is not a stretch.
    measure : bool
        Measure each repetition's primary angle against its (drift-corrected) start
        posture here. False leaves ``peak``, ``peak_deg``, ``primary_deg`` and
        ``confidence`` from the smoothed detection angles, for callers that measure at
        a higher rate themselves (:func:`~tracker.signal.process.process_session`).

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
    bouts = posture_bouts(posture, still, sampling_rate_hz=fs, min_bout_s=p.min_bout_s,
                          neutral=neutral)
    src = AngleSource(q_world_body, up, has_heading)
    reps: list[RepEvent] = []
    parts: list[Bout] = []
    half = max(1, int(round(0.5 * fs)))
    for bout in bouts:
        part: Bout | None = bout
        while part is not None:
            parts.append(part)
            found, restart = _reps_in_bout(len(parts) - 1, part, src, fs, p, measure, active)
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


def _first(cond, lo: int, hi: int, chunk: int) -> int | None:  # noqa: ANN001
    """First index in ``[lo, hi)`` where ``cond(a, b)`` (a mask of ``[a, b)``) holds.

    Scans in chunks, so looking for the next event costs what lies before it, not the
    whole rest of the bout.
    """
    a = lo
    while a < hi:
        b = min(hi, a + chunk)
        mask = cond(a, b)
        i = int(mask.argmax())  # the first True (argmax of bools stops there)
        if mask[i]:
            return a + i
        a = b
    return None


def _max_rows(x: np.ndarray) -> np.ndarray:
    """``x.max(axis=1)`` for the one or two angle channels of a bout, called per chunk
    of a scan: a reduction over two columns is several times slower than this."""
    if x.shape[1] == 1:
        return x[:, 0]
    if x.shape[1] == 2:
        return np.maximum(x[:, 0], x[:, 1])
    return np.maximum.reduce(x, axis=1)


def _next_rep(sm: np.ndarray, speed: np.ndarray, pos: int, base: np.ndarray, thr: float,
              onset: float, max_peak: float, max_len: int) -> tuple[int, int, int] | None:
    """Next excursion after ``pos``: ``(start, end, channel)`` in bout samples.

    The excursion is measured from ``base`` (the posture at rest before it) to find it,
    then from its own start posture to find where it ends, so slow drift of the
    orientation between repetitions never accumulates into a false excursion. An
    excursion that goes further than ``max_peak`` or does not come back within
    ``max_len`` samples is a change of posture: ``(-1, settle, -1)`` says where the
    movement settles, to re-reference the angles there.
    """
    n = sm.shape[0]
    chunk = max(64, max_len // 4)

    def exceeds(ref: np.ndarray, limit: float):  # noqa: ANN202
        return lambda a, b: _max_rows(np.abs(sm[a:b] - ref)) > limit

    def within(ref: np.ndarray, limit: float):  # noqa: ANN202
        return lambda a, b: _max_rows(np.abs(sm[a:b] - ref)) <= limit

    def slow(a: int, b: int) -> np.ndarray:
        return _max_rows(speed[a:b]) < onset

    while pos < n - 1:
        j = _first(exceeds(base, thr), pos, n, chunk)
        if j is None:
            return None
        ch = int(np.argmax(np.abs(sm[j] - base)))
        s = max(_onset(speed[:, ch], j, -1, pos - 1, n, onset), pos)
        start_posture = sm[s]
        j2 = _first(exceeds(start_posture, thr), j, min(n, s + max_len), chunk)
        # no movement led here (slow drift of the baseline), or the excursion is small
        # from its own start posture: re-base and go on
        if s == j or j2 is None:
            base = sm[j]
            pos = j + 1
            continue
        j = j2
        stop = min(n, s + max_len)
        back = _first(within(start_posture, thr), j, stop, chunk)
        far = _first(exceeds(start_posture, max_peak), j, stop if back is None else back, chunk)
        if far is not None:  # a posture change, not a stretch: settle after going that far
            back, j = None, far
        if back is None and far is None and stop == n:
            return None  # the data ends inside it: still going (live), not a posture change
        if back is None:
            # never comes back (turning round, sitting down): no repetition; the caller
            # re-references the angles where the movement settles (Euler-angle
            # differences against a far-away reference are not angles from the new one)
            settled = _first(slow, j, n, chunk)
            return None if settled is None else (-1, settled, -1)
        e = _onset(speed[:, ch], back, +1, -1, n, onset) + 1
        # the dominant channel over the whole excursion
        ch = int(np.argmax(np.abs(sm[s:e] - start_posture).max(axis=0)))
        return s, min(e, n), ch
    return None


def _reps_in_bout(k: int, bout: Bout, src: AngleSource, fs: float, p: RepParams,
                  measure: bool = True, active: np.ndarray | None = None
                  ) -> tuple[list[RepEvent], int | None]:
    """Repetitions of one bout, and where to restart with a new reference (or None)."""
    a, b = bout.start, bout.end
    channels = primary_channels(bout.posture)
    ang = src.angles(a, b, src.ref(bout.ref_start, bout.ref_end))
    usable = [c for c in channels if not np.isnan(ang[:, c]).all()]
    if not usable:
        return [], None
    # unwrap: turning round while standing crosses ±180°
    sm = lowpass(np.unwrap(np.nan_to_num(ang[:, usable]), period=360.0, axis=0), p.smooth_hz, fs)
    vel_all = np.gradient(sm, axis=0) * fs
    speed_all = np.abs(vel_all)
    thr = p.detect_frac * p.min_peak_deg
    w_ref = int(round(p.ref_window_s * fs))
    tail = max(1, int(round(0.2 * fs)))
    out: list[RepEvent] = []
    # start where the movement into this posture has settled (a roll onto all fours
    # ends in a wobble that is no stretch), with that posture as the baseline
    settled = np.flatnonzero(speed_all.max(axis=1) < p.onset_rate_deg_s)
    pos = int(settled[0]) if settled.size else 0
    base = sm[pos]
    while True:
        found = _next_rep(sm, speed_all, pos, base, thr, p.onset_rate_deg_s, p.max_peak_deg,
                          int(round(p.max_rep_s * fs)))
        if found is None:
            break
        s, e, ch_local = found
        if s < 0:
            return out, a + e
        pos = max(e, s + 1)
        base = sm[min(e, sm.shape[0] - 1)]
        # checks on the smoothed angles (against the part's reference, from the start
        # posture on) before measuring precisely
        ch = usable[ch_local]
        exc = sm[s:e, ch_local] - sm[s, ch_local]
        i_rough = int(np.argmax(np.abs(exc)))
        rough = float(exc[i_rough])
        dur = (e - s) / fs
        back = abs(float(exc[-tail:].mean()))
        if (classify_rep(bout.posture, ch, rough)[0] is None or abs(rough) > 1.2 * p.max_peak_deg
                or abs(rough) < 0.8 * p.min_peak_deg or dur < p.min_rep_s or dur > p.max_rep_s
                or back > p.return_frac * abs(rough)
                or (active is not None and active[a + s:a + e].mean() > p.max_active_frac)):
            continue
        # precise angles against the start posture (just before the onset); the rep
        # returns to it, so what the orientation says after the end vs before the start
        # is drift (6D heading, bias absorbed during a creeping hold): the reference
        # moves from the start to the end posture in proportion to time
        ref0 = max(0, s - w_ref)
        start_ref = (a + ref0, a + max(s, ref0 + 1))
        ref1 = min(b - a, e + w_ref)
        after = (a + e, a + ref1) if p.drift_correction and ref1 > e else None
        if not measure:
            rel = None
            prim, i_pk, peak = exc, i_rough, rough
        else:
            if after is not None:
                rel = src.angles_moving_ref(a + s, a + e, src.ref(*start_ref), src.ref(*after))
            else:
                rel = src.angles(a + s, a + e, src.ref(*start_ref))
            prim = rel[:, ch]
            if np.isnan(prim).all():
                continue
            i_pk = int(np.nanargmax(np.abs(prim)))
            peak = float(prim[i_pk])
        exercise, side = classify_rep(bout.posture, ch, peak)
        if exercise is None or not (0.8 if rel is None else 1.0) * p.min_peak_deg <= abs(peak) <= p.max_peak_deg:
            continue
        # hold: on the smoothed angle (its shape, not its drift, matters here)
        vel = vel_all[s:e, ch_local]
        ramp = float(np.abs(vel[: max(1, i_rough)]).max())
        hold = _hold(exc, vel, abs(rough), 1.0 if rough > 0 else -1.0, fs, p, ramp)
        conf = 1.0 if rel is None else confidence(rel, ch, usable, peak)
        out.append(RepEvent(
            exercise, side, a + s, a + e, a + s + i_pk,
            None if hold is None else a + s + hold[0],
            None if hold is None else a + s + hold[1] - 1,
            peak, ch, start_ref[0], start_ref[1], k, conf, prim, after,
        ))
    return out, None


def confidence(rel: np.ndarray, ch: int, usable: list[int] | tuple[int, ...], peak: float) -> float:
    """How clearly the primary angle beats the other candidate angle(s): 1 - other/peak."""
    others = []
    for c in usable:
        if c == ch:
            continue
        a = np.abs(rel[:, c])
        m = a.max() if a.size else np.nan
        if np.isnan(m):  # NaNs present (the usual trace has none): ignore them
            if np.isnan(a).all():
                continue
            m = np.nanmax(a)
        others.append(float(m))
    return 1.0 if not others else float(np.clip(1 - max(others) / abs(peak), 0.0, 1.0))


def primary_column(exercise: str) -> str:
    return schema.PRIMARY_ANGLE[exercise]
