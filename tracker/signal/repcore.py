"""The repetition core: one causal step machine that the whole-session analysis and the
live analyser both run (as VQF's batch and online filters share one core).

:class:`RepFinder` takes, one step at a time, the smoothed anatomical angles of a
posture period (against any fixed reference), their rates of change and the raw
angles, and says when a repetition starts, holds, ends and whether it counts. Callers
differ only in what they feed it: :func:`tracker.signal.reps.find_reps` feeds zero-phase
smoothed block means of a whole recording, :class:`tracker.live.analyzer.LiveAnalyzer`
causally smoothed samples as they arrive (and shifts its times by the filter's delay).

The rules, in one place:

* **Start posture.** Between repetitions the start posture (``base``) follows the
  angles at no more than ``drift_rate_deg_s``: orientation drift and slow settling never
  add up to a repetition, while a movement of any speed above that does.
* **Start.** An angle leaves the start posture by more than the detection level
  (:class:`RepLevels`). The repetition starts at the last moment that angle was still
  (turning slower than ``onset_rate_deg_s``) or at its start posture.
* **Plane.** The angle that went furthest from the start posture (``confidence`` says
  how clearly it beat the others).
* **Hold.** The longest run where the primary angle stays within ``hold_band_frac`` of
  its peak and turns slower than ``hold_rate_frac`` of the speed going in (at least
  ``hold_max_rate_deg_s``, at most ``hold_slow_frac`` of it: :func:`hold_rate_limit`),
  interruptions up to ``_HOLD_BRIDGE_S`` bridged; at least ``min_hold_s``.
* **End.** Back within ``return_frac`` of its peak, the primary angle crosses its
  start posture (quick alternating twists, a forward bend swinging on into an extension:
  the next one starts there, from the same start posture), stops, turns away again, or
  another angle starts to move. Back past the start posture, short of a crossing, is back.
* **Posture change.** An angle beyond ``max_peak_deg`` (a forward bend from upright:
  ``max_forward_bend_deg``, :func:`max_peak_of`), or no return within
  ``max_rep_s``: not a repetition; the caller takes a new reference once the person has
  settled (:attr:`RepFinder.settled`).
* **Acceptance** (:func:`judge`): size between the recording's minimum
  (:func:`rep_levels`: ``min_peak_deg`` or ``noise_factor`` times the angle noise at
  rest, whichever is larger) and ``max_peak_deg``, and at least ``own_range_frac`` of
  the person's typical size for that movement and direction so far; duration within
  ``min_rep_s``–``max_rep_s``; back within ``return_frac``; not mostly walking, and not
  begun within ``settle_after_active_s`` of moving about (the pelvis turns with a walk's
  first steps before the activity test sees the walk).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np

from ..schema import PLANES, exercise_of, side_of
from .params import RepParams

__all__ = ["RepLevels", "rep_levels", "angle_noise_deg", "RepInProgress", "FoundRep",
           "RepFinder", "judge", "peak_ok", "max_peak_of", "hold_rate_limit", "confidence", "classify_rep"]

#: Interruptions of a hold up to this long (a sway, a tap) are bridged.
_HOLD_BRIDGE_S = 0.3


@dataclass(frozen=True, kw_only=True)
class RepLevels:
    """The recording's detection level and smallest repetition, degrees."""

    detect_deg: float
    min_peak_deg: float


def angle_noise_deg(smoothed_deg: np.ndarray) -> float:
    """Noise of smoothed angles over a still period: the largest per-channel standard
    deviation about a straight line (slow drift is not noise). NaN channels ignored."""
    x = np.asarray(smoothed_deg, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] < 3:
        return 0.0
    t = np.linspace(-1.0, 1.0, x.shape[0])
    out = 0.0
    for c in range(x.shape[1]):
        y = x[:, c]
        if not np.isfinite(y).all():
            continue
        slope = float(t @ (y - y.mean())) / float(t @ t)
        out = max(out, float(np.std(y - y.mean() - slope * t)))
    return out


def rep_levels(params: RepParams, noise_deg: float = 0.0, *, has_heading: bool = True) -> RepLevels:
    """Detection level and smallest repetition for a recording whose smoothed angles
    wobble by ``noise_deg`` (standard deviation) at rest; angles from gravity alone (no
    gyroscope) tilt with every acceleration, so their floor is ``min_peak_gravity_deg``."""
    noise = float(noise_deg) if math.isfinite(noise_deg) else 0.0
    floor = params.min_peak_deg if has_heading else params.min_peak_gravity_deg
    min_peak = max(floor, params.noise_factor * noise)
    return RepLevels(detect_deg=params.detect_frac * min_peak, min_peak_deg=min_peak)


def classify_rep(posture: str, channel: int, peak_deg: float) -> tuple[str, str | None]:
    """Exercise and side of a repetition (:func:`tracker.schema.exercise_of`, ``side_of``)."""
    plane = PLANES[channel]
    return exercise_of(posture, plane, peak_deg), side_of(plane, peak_deg)


def confidence(peak_abs_deg: Sequence[float], channel: int) -> float:
    """How clearly the primary angle beats the others: ``1 - largest other / primary``."""
    peak = abs(float(peak_abs_deg[channel]))
    others = [abs(float(v)) for c, v in enumerate(peak_abs_deg)
              if c != channel and math.isfinite(float(v))]
    if not others or peak <= 0:
        return 1.0
    return float(min(1.0, max(0.0, 1.0 - max(others) / peak)))


@dataclass(kw_only=True, slots=True)
class RepInProgress:
    """State of the repetition being tracked (mutable: it is updated every step)."""

    start_i: int
    start_s: float
    prev_end_i: int  # end of the candidate before (the start posture is measured after it)
    base_deg: list[float]  # start posture per channel (smoothed angles)
    channel: int  # primary angle so far
    peak_abs_deg: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # smoothed
    raw_peak_abs_deg: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    raw_peak_deg: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # signed
    raw_peak_i: list[int] = field(default_factory=lambda: [0, 0, 0])
    raw_peak_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    ramp_deg_s: float = 0.0  # fastest primary-angle speed before the hold
    hold_limit_deg_s: float = 0.0  # hold_rate_limit of ramp_deg_s
    run: tuple[int, int, float, float] | None = None  # current near-peak slow run (i0, i1, t0, t1)
    best: tuple[int, int, float, float] | None = None  # longest finished run
    holding: bool = False
    # (i, t, x, sign, channel) where the primary angle crossed the start posture
    crossed: tuple[int, float, list[float], float, int] | None = None
    n_steps: int = 0
    n_active: int = 0
    # (prev_end_i, start_i) of the repetition whose start posture this one swung out
    # from (it began where that one crossed it: alternating sides, forward then back)
    ref_i: tuple[int, int] | None = None
    # it began within settle_after_active_s of moving about (the first turn of a walk)
    after_active: bool = False
    # the way in slowing down: (t, speed) of the step before, and where the speed last fell
    # below half, then a fifth, of ramp_deg_s (hold boundaries: :func:`_half_edge_s`)
    prev_t: float = 0.0
    prev_speed: float = 0.0
    fell_half_s: float | None = None
    fell_fifth_s: float | None = None
    best_in_s: float | None = None  # where the way in of ``best`` ended (its hold starts)
    # times and speeds of the steps since the first run began (where the way back starts:
    # _settled_hold); of those taken in one go (hold_until) only the last _TAIL_STEPS
    tracing: bool = False
    trace_t: list[float] = field(default_factory=list)
    trace_v: list[float] = field(default_factory=list)

    @property
    def peak_deg(self) -> float:
        """Signed primary angle at the peak (raw angles against the start posture)."""
        return self.raw_peak_deg[self.channel]

    @property
    def hold_s(self) -> float | None:
        """Length of the hold in progress, if the primary angle is holding now."""
        return None if self.run is None else self.run[3] - self.run[2]


@dataclass(frozen=True, kw_only=True)
class FoundRep:
    """A finished candidate: step indices ``[start_i, end_i]`` and times, its
    measurements, and why it does not count (``rejected``; None: it counts)."""

    start_i: int
    end_i: int
    prev_end_i: int  # end of the candidate before it (or where the period started)
    start_s: float
    end_s: float
    peak_i: int
    peak_s: float
    peak_deg: float
    channel: int
    hold: tuple[int, int, float, float] | None  # (i0, i1, t0, t1), i1/t1 inclusive
    exercise: str
    side: str | None
    posture: str
    confidence: float
    peak_abs_deg: tuple[float, float, float]
    rejected: str | None
    ended_still: bool = True  # it came to rest at the end (else it ran into the next movement)
    # its start posture is the one at step ref_i[1] (after ref_i[0]): where the repetition
    # it swung on from started (None: its own start)
    ref_i: tuple[int, int] | None = None


def judge(*, peak_deg: float, duration_s: float, back_deg: float, active_frac: float,
          params: RepParams, levels: RepLevels, typical_deg: float = 0.0,
          excursion_deg: float | None = None, max_peak_deg: float | None = None) -> str | None:
    """Why a candidate is not a repetition, or None when it is one.

    ``excursion_deg``: how far it went from its start posture before any drift
    correction (the return is judged against that; default ``peak_deg``).

    ``typical_deg``: the median size of the same kind of repetition (forward bend, back
    bend, side bend, twist) so far in this posture period (0: none yet): much smaller
    ones are settling, not repetitions.

    ``max_peak_deg``: the largest for this kind of repetition (:func:`max_peak_of`).
    """
    peak = abs(peak_deg)
    if not peak_ok(peak, params, levels.min_peak_deg, max_peak_deg):
        return "too small" if not peak >= levels.min_peak_deg else "too large"
    if peak < params.own_range_frac * typical_deg:
        return "small for this person"
    if duration_s < params.min_rep_s:
        return "too short"
    if duration_s > params.max_rep_s:
        return "too long"
    if back_deg > params.return_frac * (peak if excursion_deg is None else abs(excursion_deg)):
        return "did not return"
    if active_frac > params.max_active_frac:
        return "moving about, not stretching"
    return None


class RepFinder:
    """The causal repetition state machine of one posture period.

    Parameters
    ----------
    posture : str
        Posture the period is in (``upright``, ``supine``, ``all_fours``).
    channels : sequence of int
        Angles that can be primary (0 flexion, 1 lateral bend, 2 axial rotation).
    params : RepParams
    levels : RepLevels
    """

    def __init__(self, posture: str, channels: Sequence[int], params: RepParams,
                 levels: RepLevels) -> None:
        self.posture = posture
        self.channels = tuple(channels)
        self.p = params
        self.levels = levels
        self.rep: RepInProgress | None = None
        self.base: list[float] | None = None
        self.settled: tuple[int, float] | None = None  # set after a posture change settles
        self._changing = False
        self._t: float | None = None
        self._quiet = [(0, 0.0, 0.0)] * 3  # per channel: (i, t, x) of the last still moment
        self._prev_end: tuple[int, float] | None = None
        self._carry_ref: tuple[int, int] | None = None  # start posture a crossing hands on
        self._again = False  # a repetition ended at a crossing: step on with the next
        # accepted |peaks| per angle and direction (people bend further one way; a big
        # bend to the right says nothing of how far they go to the left)
        self._sizes: tuple[list[float], ...] = ([], [], [], [], [], [])
        self._moving_t = -math.inf  # last step the person was moving about (sustained activity)
        self._fwd_max = max_peak_of(params, posture, 0, 1.0)  # a forward bend goes this far

    def reset(self, i: int, t: float, x: Sequence[float]) -> None:
        """Take ``x`` as the start posture at step ``i`` (a new reference): any
        repetition in progress is dropped."""
        self.rep = None
        self._changing = False
        self.base = [float(v) for v in x]
        self._quiet = [(i, t, float(v)) for v in x]
        self._prev_end = (i, t)
        self._t = t

    def resting(self, x_prev: Sequence[float]) -> bool:
        """Between repetitions with the start posture on the previous step's angles
        (``x_prev``): calm steps then change nothing but the start posture."""
        base = self.base
        return (self.rep is None and not self._changing and base is not None
                and all(base[c] == x_prev[c] for c in self.channels))

    def rest_until(self, i: int, t: float, x: Sequence[float], moving_t: float = -math.inf) -> None:
        """Skip calm steps up to ``i`` (every angle slower than ``onset_rate_deg_s`` and
        moving less than ``drift_rate_deg_s`` allows, and :meth:`resting`): exactly
        what stepping through them does (``moving_t``: the last of them moving about)."""
        base = self.base
        assert base is not None
        self._moving_t = max(self._moving_t, moving_t)
        for c in self.channels:
            base[c] = float(x[c])
            self._quiet[c] = (i, t, float(x[c]))
        self._t = t

    def hold_until(self, i: int, t: np.ndarray, x: np.ndarray, v: np.ndarray, raw: np.ndarray,
                   active: np.ndarray, moving: np.ndarray | None = None) -> int:
        """Steps ``i, i+1, ...`` (arrays, one row per step) of a hold in progress, applied
        in one go: how many. Exactly what :meth:`step` does with them (the hold and the
        peaks grow); it stops before any step that could do more (the primary angle
        changing, leaving the hold, coming back, a new peak the other way, the limits)."""
        rep, p = self.rep, self.p
        if rep is None or not rep.holding or rep.run is None or rep.crossed is not None:
            return 0
        ch, run = rep.channel, rep.run
        ix = list(self.channels)
        cpos = ix.index(ch)
        b = np.asarray(rep.base_deg)[ix]
        sign = 1.0 if rep.raw_peak_deg[ch] >= 0 else -1.0
        pk = np.maximum(np.asarray(rep.peak_abs_deg)[ix],
                        np.maximum.accumulate(np.abs(x[:, ix] - b), axis=0))
        rabs = np.abs(raw[:, ix] - b)
        rpk = np.maximum(np.asarray(rep.raw_peak_abs_deg)[ix], np.maximum.accumulate(rabs, axis=0))
        rprev = np.vstack([np.asarray(rep.raw_peak_abs_deg)[ix][None, :], rpk[:-1]])
        new_ch = rabs[:, cpos] > rprev[:, cpos]
        peak_abs = pk[:, cpos]
        se = sign * (x[:, ch] - rep.base_deg[ch])
        d = x[:, ix] - b
        lim = np.where((d > 0) & (np.asarray(ix) == 0), self._fwd_max, p.max_peak_deg)
        ok = ((pk.max(axis=1) <= peak_abs) & (np.abs(d) <= lim).all(axis=1)
              & (~new_ch | (sign * (raw[:, ch] - rep.base_deg[ch]) > 0))
              & (se >= (1.0 - p.hold_band_frac) * peak_abs - p.drift_rate_deg_s * (t - run[2]))
              & (np.abs(v[:, ch]) < rep.hold_limit_deg_s)
              & (se > p.return_frac * peak_abs) & (t - rep.start_s <= p.max_rep_s))
        k = int(ok.argmin()) if not ok.all() else ok.size
        if not k:
            return 0
        for j, c in enumerate(ix):
            rep.peak_abs_deg[c] = float(pk[k - 1, j])
            if rpk[k - 1, j] > rep.raw_peak_abs_deg[c]:
                m = int(np.argmax(rabs[:k, j]))  # the first of the largest, as step keeps it
                rep.raw_peak_abs_deg[c] = float(rabs[m, j])
                rep.raw_peak_deg[c] = float(raw[m, c] - rep.base_deg[c])
                rep.raw_peak_i[c], rep.raw_peak_s[c] = i + m, float(t[m])
        rep.run = (run[0], i + k - 1, run[2], float(t[k - 1]))
        spd = np.abs(v[:k, ch])
        if rep.fell_half_s is not None and rep.fell_fifth_s is None:
            lvl = 0.2 * rep.ramp_deg_s
            prev = np.concatenate([[rep.prev_speed], spd[:-1]])
            tp = np.concatenate([[rep.prev_t], t[:k - 1]])
            fell = np.flatnonzero((prev >= lvl) & (spd < lvl))
            if fell.size:
                j = int(fell[0])
                rep.fell_fifth_s = float(tp[j] + (t[j] - tp[j]) * (prev[j] - lvl) / (prev[j] - spd[j]))
        if rep.tracing:  # (the way back starts after this: its last steps are enough)
            rep.trace_t = rep.trace_t[-_TAIL_STEPS:] + t[max(0, k - _TAIL_STEPS):k].tolist()
            rep.trace_v = rep.trace_v[-_TAIL_STEPS:] + spd[max(0, k - _TAIL_STEPS):].tolist()
        rep.prev_t, rep.prev_speed = float(t[k - 1]), float(spd[k - 1])
        rep.n_steps += k
        rep.n_active += int(np.count_nonzero(active[:k]))
        mov = np.flatnonzero(moving[:k]) if moving is not None else np.zeros(0, dtype=np.intp)
        if mov.size:
            self._moving_t = float(t[mov[-1]])
        self._t = float(t[k - 1])
        return k

    def step(self, i: int, t: float, x: Sequence[float], v: Sequence[float],
             raw: Sequence[float], active: bool = False, moving: bool = False) -> list[tuple[str, object]]:
        """Advance one step; return events ``(kind, data)``: ``("start", RepInProgress)``,
        ``("hold_start", RepInProgress)``, ``("hold_end", (t0, t1))``, ``("end", FoundRep)``
        and ``("posture_change", t)`` (wait for :attr:`settled`)."""
        if moving:
            self._moving_t = t
        events = self._step(i, t, x, v, raw, active)
        # a repetition that ended at a crossing hands this step to the next one, which
        # starts there; it cannot end at a crossing again on the step it starts (``_track``),
        # so this runs at most a few times
        while self._again:
            self._again = False
            events += self._step(i, t, x, v, raw, active)
        return events

    def _step(self, i: int, t: float, x: Sequence[float], v: Sequence[float],
              raw: Sequence[float], active: bool) -> list[tuple[str, object]]:
        p, lv = self.p, self.levels
        if self.base is None:
            self.reset(i, t, x)
            return []
        dt = 0.0 if self._t is None else t - self._t
        self._t = t
        base = self.base
        chans = self.channels
        if self._changing:  # after a posture change: wait until the person is still
            if all(abs(v[c]) < p.onset_rate_deg_s for c in chans):
                self._changing = False
                self.settled = (i, t)
                self.reset(i, t, x)
            return []
        rep = self.rep
        if rep is None:
            carry, self._carry_ref = self._carry_ref, None
            # between repetitions: the start posture follows slow drift only
            lim = p.drift_rate_deg_s * dt
            best_c, best_e = -1, lv.detect_deg
            for c in chans:
                xc = x[c]
                slow = abs(v[c]) < p.onset_rate_deg_s
                if slow:  # (not while a movement gets going)
                    d = xc - base[c]
                    base[c] = base[c] + lim if d > lim else (base[c] - lim if d < -lim else xc)
                e = abs(xc - base[c])
                if slow or e < 0.2 * lv.detect_deg:
                    self._quiet[c] = (i, t, xc)
                if e > best_e:
                    best_c, best_e = c, e
            if best_c < 0:
                return []
            qi, qt, _ = self._quiet[best_c]
            pe = self._prev_end[0] if self._prev_end is not None else qi
            if qi < pe:
                qi, qt = self._prev_end  # type: ignore[misc]
            self.rep = rep = RepInProgress(start_i=qi, start_s=qt, prev_end_i=pe,
                                           base_deg=list(base), channel=best_c, ref_i=carry,
                                           after_active=t - self._moving_t < p.settle_after_active_s)
            events: list[tuple[str, object]] = [("start", rep)]
        else:
            events = []
        return events + self._track(rep, i, t, x, v, raw, active)

    def _track(self, rep: RepInProgress, i: int, t: float, x: Sequence[float],
               v: Sequence[float], raw: Sequence[float], active: bool) -> list[tuple[str, object]]:
        # (runs once per step of every repetition: plain floats and locals, no temporaries)
        p, lv = self.p, self.levels
        events: list[tuple[str, object]] = []
        b = rep.base_deg
        rep.n_steps += 1
        if active:
            rep.n_active += 1
        pk, rpk = rep.peak_abs_deg, rep.raw_peak_abs_deg
        max_peak = p.max_peak_deg
        ch = rep.channel
        for c in self.channels:
            d = x[c] - b[c]
            e = d if d >= 0.0 else -d
            if e > pk[c]:
                pk[c] = e
                if e > max_peak and not (c == 0 and d > 0.0 and e <= self._fwd_max):
                    return self._posture_change(t, events)  # not a stretch: turning round, lying down
            r = raw[c] - b[c]
            ra = r if r >= 0.0 else -r
            if ra > rpk[c]:
                rpk[c] = ra
                rep.raw_peak_deg[c], rep.raw_peak_i[c], rep.raw_peak_s[c] = r, i, t
            if pk[c] > pk[ch]:
                ch = c
        if ch != rep.channel:  # another angle dominates after all: its hold starts over
            rep.channel, rep.run, rep.best, rep.holding, rep.ramp_deg_s = ch, None, None, False, 0.0
            rep.hold_limit_deg_s, rep.fell_half_s, rep.fell_fifth_s, rep.prev_speed = 0.0, None, None, 0.0
            rep.tracing, rep.trace_t, rep.trace_v = False, [], []
        e = x[ch] - b[ch]
        peak_abs = pk[ch]
        sign = 1.0 if rep.raw_peak_deg[ch] >= 0 else -1.0
        vc = v[ch]
        speed = vc if vc >= 0.0 else -vc
        run = rep.run
        if run is None and not rep.holding and speed > rep.ramp_deg_s:
            rep.ramp_deg_s = speed
            rep.hold_limit_deg_s = hold_rate_limit(p, speed)
        ps = rep.prev_speed
        if ps > speed:
            # where the way in slows through a half and then a fifth of its top speed (a
            # sway in a hold may not start that over; a slow way in is held before a fifth)
            pt, r = rep.prev_t, rep.ramp_deg_s
            if ps >= 0.5 * r > speed and not rep.holding:
                rep.fell_half_s, rep.fell_fifth_s = pt + (t - pt) * (ps - 0.5 * r) / (ps - speed), None
            if ps >= 0.2 * r > speed and rep.fell_half_s is not None and rep.fell_fifth_s is None:
                rep.fell_fifth_s = pt + (t - pt) * (ps - 0.2 * r) / (ps - speed)
        rep.prev_t, rep.prev_speed = t, speed
        if rep.tracing:
            rep.trace_t.append(t)
            rep.trace_v.append(speed)
        # near the peak; during a long hold the orientation may drift (VQF takes a slowly
        # creeping hold partly for gyroscope bias), by up to drift_rate_deg_s per second
        drift = 0.0 if run is None else p.drift_rate_deg_s * (t - run[2])
        near = sign * e >= (1.0 - p.hold_band_frac) * peak_abs - drift
        if near and speed < rep.hold_limit_deg_s:
            if not rep.tracing:
                rep.tracing, rep.trace_t, rep.trace_v = True, [t], [speed]
            rep.run = run = (i, i, t, t) if run is None else (run[0], i, run[2], t)
        elif run is not None and t - run[3] > _HOLD_BRIDGE_S:
            events.extend(self._close_run(rep))
            run = None
        if run is not None and not rep.holding and run[3] - run[2] >= p.min_hold_s:
            rep.holding = True
            events.append(("hold_start", rep))
        # end: back near the start posture and stopped, turned away again, or another
        # angle starts to move. A repetition that swings on past its start posture (by the
        # detection level, plus what drift can do during its hold) ends at the crossing, and
        # the next one starts there (alternating twists); else where the movement stops.
        se = sign * e
        # (not on the step it starts: the smoothed angle may still lag behind the raw one
        # that gave its sign, and ending there would start the same repetition over)
        if rep.crossed is None and se < 0 and i > rep.start_i:
            # the start posture was crossed between the steps: the next repetition starts
            # from it, not from the step past it (a quick return overshoots by speed × step)
            cx_ = [float(v_) for v_ in x]
            cx_[ch] = b[ch]
            rep.crossed = (i, t, cx_, sign, ch)
        if rep.crossed is not None:
            ci, ct, cx, c_sign, c_ch = rep.crossed
            # (direction as it crossed; orientation drift during a long hold, which VQF may
            # partly take for gyroscope bias, can carry the return past the start posture
            # by up to drift_rate_deg_s per second held)
            held = max((r_[3] - r_[2] for r_ in (rep.best, run) if r_ is not None), default=0.0)
            margin = lv.detect_deg + p.drift_rate_deg_s * held
            if c_sign * (x[c_ch] - cx[c_ch]) < -margin:
                events += self._end(rep, ci, ct, cx, 0.0, False)
                self._carry_ref = rep.ref_i or (rep.prev_end_i, rep.start_i)
                self._again = True  # the next starts at the crossing, on this step (step)
                return events
        if se <= p.return_frac * peak_abs:
            onset = p.onset_rate_deg_s
            if speed < onset or sign * vc > onset or self._other_moves(rep, x, v):
                # (back past its start posture, short of a crossing, is back)
                return events + self._end(rep, i, t, x, se if se > 0.0 else 0.0, speed < onset)
        if t - rep.start_s > p.max_rep_s:  # never came back: the posture changed
            return self._posture_change(t, events)
        return events

    def _other_moves(self, rep: RepInProgress, x: Sequence[float], v: Sequence[float]) -> bool:
        """Another angle is moving away from the start posture, beyond the smallest
        repetition: a new movement has begun (coupled motion returns with the primary)."""
        b, lv, p = rep.base_deg, self.levels, self.p
        for c in self.channels:
            if c != rep.channel:
                d = x[c] - b[c]
                if abs(d) > lv.min_peak_deg and d * v[c] > 0 and abs(v[c]) > p.onset_rate_deg_s:
                    return True
        return False

    def _close_run(self, rep: RepInProgress) -> list[tuple[str, object]]:
        run = rep.run
        assert run is not None
        if rep.best is None or run[3] - run[2] > rep.best[3] - rep.best[2]:
            rep.best = run
            h, f = rep.fell_half_s, rep.fell_fifth_s
            rep.best_in_s = None if h is None or f is None or f > run[3] else h + _half_edge_s(self.p, h, f)
        rep.run = None
        if rep.holding:
            rep.holding = False
            return [("hold_end", (run[2], run[3]))]
        return []

    def _posture_change(self, t: float, events: list[tuple[str, object]]) -> list[tuple[str, object]]:
        self.rep = None
        self._changing = True
        return events + [("posture_change", t)]

    def _end(self, rep: RepInProgress, i: int, t: float, x: Sequence[float],
             back_deg: float, still: bool) -> list[tuple[str, object]]:
        p = self.p
        events: list[tuple[str, object]] = []
        if rep.run is not None:
            events.extend(self._close_run(rep))
        ch = rep.channel
        peak = excursion = rep.raw_peak_deg[ch]
        if still and p.drift_correction and t > rep.start_s:
            # back at rest: where it came back to vs where it started is drift, taken as
            # linear in time (as the whole-session analysis does with its references)
            peak -= (x[ch] - rep.base_deg[ch]) * (rep.raw_peak_s[ch] - rep.start_s) / (t - rep.start_s)
        hold = rep.best if rep.best is not None and rep.best[3] - rep.best[2] >= p.min_hold_s else None
        if hold is not None:
            hold = _settled_hold(p, rep, hold)
        exercise, side = classify_rep(self.posture, ch, peak)
        dur = t - rep.start_s
        sizes = self._sizes[2 * ch + (0 if peak > 0 else 1)]
        why = judge(peak_deg=peak, duration_s=dur, back_deg=back_deg,
                    active_frac=1.0 if rep.after_active else rep.n_active / max(1, rep.n_steps),
                    params=p, levels=self.levels,
                    typical_deg=float(np.median(sizes)) if sizes else 0.0, excursion_deg=excursion,
                    max_peak_deg=max_peak_of(p, self.posture, ch, peak))
        if why is None:
            sizes.append(abs(peak))
        found = FoundRep(
            start_i=rep.start_i, end_i=i, prev_end_i=rep.prev_end_i, start_s=rep.start_s, end_s=t, peak_i=rep.raw_peak_i[ch],
            peak_s=rep.raw_peak_s[ch], peak_deg=peak, channel=ch, hold=hold, exercise=exercise,
            side=side, posture=self.posture,
            confidence=confidence(rep.raw_peak_abs_deg, ch),
            peak_abs_deg=(rep.raw_peak_abs_deg[0], rep.raw_peak_abs_deg[1], rep.raw_peak_abs_deg[2]),
            rejected=why, ended_still=still, ref_i=rep.ref_i,
        )
        self.rep = None
        self.base = [float(v) for v in x]
        self._quiet = [(i, t, float(v)) for v in x]
        self._prev_end = (i, t)
        events.append(("end", found))
        return events


def _half_edge_s(params: RepParams, half_s: float, fifth_s: float) -> float:
    """Half the length of a raised-cosine speed edge (a smooth or minimum-jerk way in or
    back, a trapezoid's rounded end) that passes half and a fifth of its top speed
    ``|fifth_s - half_s|`` apart; the smoothing at ``smooth_hz`` widens a short edge by
    about 0.74 / smooth_hz in quadrature (zero-phase 2nd-order Butterworth, measured)."""
    seen_s = abs(fifth_s - half_s) * math.pi / (math.acos(0.0) - math.acos(0.6))
    return 0.5 * math.sqrt(max(seen_s ** 2 - (0.74 / params.smooth_hz) ** 2, 0.0))


def _settled_hold(params: RepParams, rep: RepInProgress, hold: tuple[int, int, float, float]) -> tuple[int, int, float, float]:
    """The hold between where the way in stops and the way back starts, found from where
    the speed passes half and a fifth of its top speed (extrapolated: the speed limit of a
    hold is reached well before a smooth movement ends and well after the next starts);
    within the slow run ``hold``, never wider."""
    t0, t1 = hold[2], hold[3]
    if rep.best_in_s is not None:
        t0 = min(max(t0, rep.best_in_s), t1)
    ts, sp = rep.trace_t, rep.trace_v
    n = len(ts)
    j = bisect.bisect_right(ts, hold[3])
    if j < n:
        m = max(range(j, n), key=sp.__getitem__)
        half, fifth = 0.5 * sp[m], 0.2 * sp[m]
        j = m
        while j > 0 and sp[j] >= half:
            j -= 1
        k = j
        while k > 0 and sp[k] >= fifth:
            k -= 1
        if sp[k] < fifth <= sp[k + 1] and sp[j] < half:
            th = ts[j] + (ts[j + 1] - ts[j]) * (half - sp[j]) / (sp[j + 1] - sp[j])
            tf = ts[k] + (ts[k + 1] - ts[k]) * (fifth - sp[k]) / (sp[k + 1] - sp[k])
            t1 = min(max(th - _half_edge_s(params, th, tf), t0), t1)
    pk_s = rep.raw_peak_s[rep.channel]  # (a peak in the slow run stays in the hold)
    if hold[2] <= pk_s <= hold[3]:
        t0, t1 = min(t0, pk_s), max(t1, pk_s)
    if t0 == hold[2] and t1 == hold[3]:
        return hold
    # steps within the run are evenly spaced in time (or nearly: live sample jitter)
    step_s = (hold[3] - hold[2]) / max(1, hold[1] - hold[0])
    a = hold[0] + round((t0 - hold[2]) / step_s)
    b = max(hold[0] + round((t1 - hold[2]) / step_s), a)
    if hold[2] <= pk_s <= hold[3]:
        pk_i = rep.raw_peak_i[rep.channel]
        a, b = min(a, pk_i), max(b, pk_i)
    return (a, b, t0, t1)


#: Steps of a hold taken in one go that are kept (the way back starts at its end).
_TAIL_STEPS = 64


def hold_rate_limit(params: RepParams, ramp_deg_s: float) -> float:
    """A hold turns slower than this (°/s), for a repetition that went in at
    ``ramp_deg_s`` at most: ``hold_rate_frac`` of that speed or ``hold_max_rate_deg_s``
    (a hold sways), but never more than ``hold_slow_frac`` of it (a slow stretch, 10° in
    4 s, moves slower than any sway allowance: its way in and out is no hold)."""
    return min(max(params.hold_max_rate_deg_s, params.hold_rate_frac * ramp_deg_s),
               params.hold_slow_frac * ramp_deg_s)


def max_peak_of(params: RepParams, posture: str, channel: int, peak_deg: float) -> float:
    """Largest |peak| of a repetition: ``max_peak_deg``, but a forward bend from upright
    may go to ``max_forward_bend_deg`` (a standing toe touch tips the pelvis with the
    trunk: a lower-back sensor turns by 60–100°)."""
    if posture == "upright" and channel == 0 and peak_deg > 0:
        return params.max_forward_bend_deg
    return params.max_peak_deg


def peak_ok(peak_deg: float, params: RepParams, min_peak_deg: float, max_peak_deg: float | None = None) -> bool:
    """A repetition's size is within the recording's smallest (``RepLevels``) and the
    largest (``max_peak_deg``, default ``params.max_peak_deg``: :func:`max_peak_of`)."""
    return min_peak_deg <= abs(peak_deg) <= (params.max_peak_deg if max_peak_deg is None else max_peak_deg)
