"""Causal analysis for the live view: the offline detectors, one batch at a time.

The offline analysis (:mod:`tracker.signal`) sees the whole session and filters with
zero phase; live feedback cannot wait for the future. :class:`LiveAnalyzer` reuses
the same pieces causally:

* orientation: :class:`tracker.signal.orientation.OnlineOrientation` (causal VQF);
* calibration: :func:`tracker.signal.calibration.calibrate` (the one core of batch and
  live) on the samples buffered so far, tried every ``calibrate_every_s`` until it finds
  a still period ('up'); the forward axis is the device's remembered mounting when there
  is one (``mounting_prior``), else the nominal one, until a calibration step (still,
  then one gentle forward bend: :meth:`LiveAnalyzer.recalibrate`) finds it. Unless a
  calibration step found it, the same function re-derives it from the movements seen so
  far (block means at ``reps.event_rate_hz``, as offline), after a repetition, at most
  every ``remount_every_s`` while uncertain and ever more rarely once confident; a
  confident mounting that differs materially (e.g. forward
  reversed) replaces the one in use (a ``mounting_corrected`` event) and the following
  repetitions use it;
* angles, posture codes, exercise/side rules and every threshold: those of
  :mod:`tracker.signal.reps` and :class:`tracker.signal.params.RepParams`;
* possible cracks: :class:`tracker.signal.spikes.SpikeStream` (reported
  ``lookahead_s``, 2.5 s by default, after the spike, when its context is known), with
  the tag's kHz impulse windows as witnesses once they arrive (:meth:`add_impulse_windows`).

Repetitions are found by the repetition core :class:`tracker.signal.repcore.RepFinder`,
the same causal state machine and acceptance rules the whole-session analysis runs
(phases ``ready`` → ``moving`` → ``holding`` → ``returning``; the repetition in
progress is its typed :class:`~tracker.signal.repcore.RepInProgress`). Live feeds it
samples smoothed by a causal 2nd-order low-pass at ``smooth_hz`` and subtracts the
filter's group delay (about 0.1 s at 2 Hz) from the times it reports; the detection
level comes from the angle noise of the calibration's still period, as offline.

Safety: during a repetition the analyser warns once per repetition on fast movement
(angular speed above ``fast_deg_s``), jerky movement (RMS angular acceleration over
``jerk_window_s`` above ``jerky_deg_s2``: bouncing, not a single knock) and on going
well past the person's usual peak for this exercise and side.

Everything here is pure computation on arrays (no I/O, no clocks): the same input
gives the same events.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from scipy import signal as sps

from ..checks import check_positive, check_positive_arg, check_range
from ..errors import ValidationError
from ..schema import PLANES, PRIMARY_ANGLE
from ..signal._quat import quat_angle_rad, quat_conj, quat_mul, quat_rotate
from ..signal.angles import body_up
from ..signal.calibration import Calibration, MountingPrior, calibrate, is_calibration_bend
from ..signal.orientation import OnlineOrientation
from ..signal.params import AnalysisParams
from ..signal.repcore import (
    FoundRep,
    RepFinder,
    RepInProgress,
    RepLevels,
    classify_rep,
    rep_levels,
)
from ..signal.reps import (
    CANONICAL_UP,
    POSTURES,
    ActivityDetector,
    AngleSource,
    activity_mask,
    primary_channels,
    reference_noise_deg,
)
from ..signal.result import Rep
from ..signal.spikes import SpikeStream
from ..signal.witnesses import ImpulseWindow

__all__ = ["LiveAnalyzer", "LiveEvent", "LiveParams", "usual_limit_deg"]

_ANGLE_NAMES = ("flexion_deg", "lateral_bend_deg", "axial_rotation_deg")
_EZ = np.array([0.0, 0.0, 1.0])
_UPRIGHT = POSTURES.index("upright")
#: Seconds of samples kept for a calibration step (:meth:`LiveAnalyzer.recalibrate`).
CALIBRATION_HISTORY_S = 60.0
_IDLE, _MOVING, _HOLDING, _RETURNING = "ready", "moving", "holding", "returning"


@dataclass(frozen=True)
class LiveParams:
    """Settings that exist only live (the rest come from :class:`AnalysisParams`).

    Attributes
    ----------
    posture_confirm_s : float
        A new posture counts after it has lasted this long (sway is not a posture change).
    ref_update_s : float
        While ready and still, the reference posture is refreshed this often.
    calibrate_every_s : float
        How often calibration is retried until it succeeds.
    fast_deg_s : float
        Angular speed above which movement during a stretch is "fast" (gentle stretches
        are 10–40 °/s; maximal trunk movements 47–114 °/s, norms.md).
    jerky_deg_s2 : float
        RMS angular acceleration over ``jerk_window_s`` above which movement is "jerky"
        (bouncing at 3 Hz by ±3° gives ~750 °/s²; a smooth 20 °/s stretch < 50 °/s²).
    jerk_window_s : float
    motion_lowpass_hz : float
        Low-pass of the gyroscope before speed and acceleration (keeps knocks out).
    beyond_frac, beyond_min_deg : float
        "Well past the usual range": more than ``usual · (1 + beyond_frac)`` and more
        than ``usual + beyond_min_deg``.
    ref_steady_deg : float
        A reference posture is only refreshed from a window over which the body turned
        less than this (the start of a slow movement is not "still" enough); the first
        one after a posture change allows the detection level, as the whole-session
        analysis does (a person's sway can exceed this for minutes).
    remount_every_s : float
        The mounting is re-derived from the movements after a repetition, at most this
        often while it is uncertain; each confident answer doubles the gap (a
        whole-history calibration: kept rare).
    remount_min_deg : float
        A re-derived mounting replaces the one in use only when they differ by more
        than this (a reversed forward axis is 180°; small refinements are not worth a
        jump in the angles).
    history_max_s : float
        Longest history (block means) kept for re-deriving the mounting.
    """

    posture_confirm_s: float = 1.0
    ref_update_s: float = 0.25
    calibrate_every_s: float = 0.5
    fast_deg_s: float = 60.0
    jerky_deg_s2: float = 250.0
    jerk_window_s: float = 1.0
    motion_lowpass_hz: float = 4.0
    beyond_frac: float = 0.25
    beyond_min_deg: float = 5.0
    ref_steady_deg: float = 0.3
    remount_every_s: float = 10.0
    remount_min_deg: float = 45.0
    history_max_s: float = 3600.0

    def __post_init__(self) -> None:
        check_positive(self, "posture_confirm_s", "ref_update_s", "calibrate_every_s", "fast_deg_s",
                       "jerky_deg_s2", "jerk_window_s", "motion_lowpass_hz", "beyond_min_deg",
                       "ref_steady_deg", "remount_every_s", "remount_min_deg", "history_max_s")
        check_range(self, "beyond_frac", 0)


def usual_limit_deg(usual_deg: float, live: LiveParams) -> float:
    """Magnitude beyond which a peak is "well past" a usual peak of ``usual_deg``."""
    u = abs(float(usual_deg))
    return max(u * (1.0 + live.beyond_frac), u + live.beyond_min_deg)


@dataclass(frozen=True)
class LiveEvent:
    """Something the analyser noticed.

    ``kind`` is one of ``calibrated``, ``mounting_corrected`` (the mounting re-derived
    from the movements replaced the one in use), ``posture``, ``rep_start``, ``hold_start``,
    ``hold_end``, ``rep`` (``data["rep"]`` is a :class:`Rep`), ``calibration_bend`` (the
    calibration step's bend: a repetition not counted), ``rep_rejected``,
    ``possible_crack``, ``spike`` (a confounder) and ``warning`` (``data["kind"]``:
    ``fast``, ``jerky``, ``beyond_range``).
    """

    kind: str
    t_s: float
    data: dict[str, Any] = field(default_factory=dict)


class _Trailing:
    """Trailing mean over the last ``n`` rows, carried across batches."""

    def __init__(self, n: int, width: int) -> None:
        self.n = max(1, int(n))
        self.tail = np.zeros((0, width))

    def update(self, x: np.ndarray) -> np.ndarray:
        allx = np.vstack([self.tail, x])
        c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(allx, axis=0)])
        hi = np.arange(self.tail.shape[0] + 1, allx.shape[0] + 1)
        lo = np.maximum(hi - self.n, 0)
        out = (c[hi] - c[lo]) / (hi - lo)[:, None]
        self.tail = allx[-(self.n - 1):] if self.n > 1 else allx[:0]
        return out


class _Biquad:
    """A causal 2nd-order low-pass for one scalar stream (reset to a value on demand)."""

    def __init__(self, cutoff_hz: float, fs: float) -> None:
        sos = sps.butter(2, min(cutoff_hz, 0.45 * fs), fs=fs, output="sos")[0]
        self.b0, self.b1, self.b2, _, self.a1, self.a2 = (float(v) for v in sos)
        self.z1 = self.z2 = 0.0
        self.y = 0.0

    def reset(self, x: float) -> None:
        # steady state of the transposed direct form II for a constant input x
        self.z2 = (self.b2 - self.a2) * x
        self.z1 = (self.b1 - self.a1) * x + self.z2
        self.y = x

    def step(self, x: float) -> float:
        y = self.b0 * x + self.z1
        self.z1 = self.b1 * x - self.a1 * y + self.z2
        self.z2 = self.b2 * x - self.a2 * y
        self.y = y
        return y


class _BlockMeans:
    """The history as block means of ``k`` samples (orientation: each block's middle
    sample), as the whole-session analysis calibrates on; at most ``max_blocks`` kept."""

    def __init__(self, k: int, max_blocks: int) -> None:
        self.k = k
        self._pend: list[tuple[np.ndarray, ...]] = []
        self._n_pend = 0
        self._blocks: deque[tuple[np.ndarray, ...]] = deque()
        self._n = 0
        self._max = max_blocks

    def add(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, quat: np.ndarray) -> None:
        self._pend.append((t, acc, gyr, quat))
        self._n_pend += t.size
        if self._n_pend < self.k:
            return
        tt, aa, gg, qq = (np.concatenate(x) for x in zip(*self._pend))
        m = (tt.size // self.k) * self.k
        mid = np.arange(0, m, self.k) + (self.k - 1) // 2
        blk = (tt[mid], aa[:m].reshape(-1, self.k, 3).mean(axis=1),
               gg[:m].reshape(-1, self.k, 3).mean(axis=1), qq[mid])
        self._blocks.append(blk)
        self._n += mid.size
        self._pend = [(tt[m:], aa[m:], gg[m:], qq[m:])] if m < tt.size else []
        self._n_pend = tt.size - m
        while self._n - self._blocks[0][0].size >= self._max:
            self._n -= self._blocks.popleft()[0].size

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self._blocks:
            return np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 4))
        out = tuple(np.concatenate(x) for x in zip(*self._blocks))
        self._blocks = deque([out])  # one piece from now on: cheaper the next time
        return out


class LiveAnalyzer:
    """Feed sample batches, get events and a current view of the person's movement.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal rate of the stream.
    params : AnalysisParams, optional
        The offline analysis settings (orientation, calibration, repetitions, spikes).
    live : LiveParams, optional
    has_gyro : bool
        False for sensors without a gyroscope (angles from gravity; no axial rotation).
    use_mag : bool
        Feed the magnetometer to VQF.
    usual_peaks_deg : dict, optional
        ``{(exercise, side): usual |peak| in degrees}`` from previous sessions.
    q_sensor_body_nominal : array of 4, optional
        How the sensor is meant to be worn (default: sensor axes = body axes).
    mounting_prior : MountingPrior, optional
        The mounting remembered for the device: used until a calibration step
        (:meth:`recalibrate`) or the movements seen so far find it anew (a vote there too).

    Examples
    --------
    >>> from tracker.simulate import simulate_session
    >>> rec = simulate_session(seed=1, minutes=1.5).recording
    >>> live = LiveAnalyzer(rec.sample_rate_hz)
    >>> events = [e for k in range(0, len(rec), 4) for e in live.feed(
    ...     rec.t_s[k:k + 4], rec.acc_m_s2[k:k + 4], rec.gyr_rad_s[k:k + 4])]
    >>> sorted({e.kind for e in events})  # doctest: +SKIP
    ['calibrated', 'hold_end', 'hold_start', 'posture', 'rep', 'rep_start', ...]
    """

    def __init__(
        self, sampling_rate_hz: float, *, params: AnalysisParams | None = None,
        live: LiveParams | None = None, has_gyro: bool = True, use_mag: bool = False,
        usual_peaks_deg: dict[tuple[str, str | None], float] | None = None,
        q_sensor_body_nominal: np.ndarray | None = None,
        mounting_prior: MountingPrior | None = None,
    ) -> None:
        self.fs = fs = check_positive_arg("sampling_rate_hz", sampling_rate_hz)
        self.params = params or AnalysisParams()
        self.live = live or LiveParams()
        self.has_gyro = has_gyro
        self.usual_peaks_deg = dict(usual_peaks_deg or {})
        self._q_nominal = None if q_sensor_body_nominal is None else np.asarray(q_sensor_body_nominal, float)
        self._prior = mounting_prior
        # the last CALIBRATION_HISTORY_S of samples, for a calibration step (recalibrate)
        self._cal_hist: deque[tuple[np.ndarray, ...]] = deque()
        self._last_q: np.ndarray | None = None
        self._orient = OnlineOrientation(fs, self.params.orientation, has_gyro=has_gyro, use_mag=use_mag)
        self._has_heading = self._orient.mode != "gravity"
        spike_kw: dict[str, Any] = {}
        if self.params.spikes is not None:
            spike_kw["spike_params"] = self.params.spikes
        if self.params.cracks is not None:  # the same judgement as the offline analysis
            spike_kw["crack_params"] = self.params.cracks
        self._spikes = SpikeStream(fs, **spike_kw)
        self._spike_buf: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        rp = self.params.reps
        # block means of the whole history (bounded): the mounting re-derived from them
        k = max(1, int(fs // rp.event_rate_hz))
        self._blocks = _BlockMeans(k, max(1, int(self.live.history_max_s * fs / k)))
        self._next_remount_t = -np.inf
        self._remount_gap_s = self.live.remount_every_s
        self._remount_due = False
        # calibration buffer (until calibrated)
        self._buf: list[tuple[np.ndarray, ...]] = []
        self._buf_t0: float | None = None
        self._next_calib_t = -np.inf
        self.calibration: Calibration | None = None
        self._q_sb = np.array([1.0, 0.0, 0.0, 0.0])
        # causal filters and trailing windows
        self._up_sos = sps.butter(2, min(1.0, 0.45 * fs), fs=fs, output="sos")
        self._up_zi: np.ndarray | None = None
        self._gyr_sos = sps.butter(2, min(self.live.motion_lowpass_hz, 0.45 * fs), fs=fs, output="sos")
        self._gyr_zi: np.ndarray | None = None
        self._gyr_prev: np.ndarray | None = None
        self._activity = ActivityDetector(fs, self.params.reps)
        self.busy = False  # moving about (RepParams.active_*): no speed warnings then
        self._still_win = _Trailing(round(0.5 * fs), 3)
        self._jerk_win = _Trailing(round(self.live.jerk_window_s * fs), 1)
        self._ref_n = max(1, int(round(rp.ref_window_s * fs)))
        self._hist_q = np.zeros((0, 4))
        self._hist_up = np.zeros((0, 3))
        self._smooth = [_Biquad(rp.smooth_hz, fs) for _ in range(3)]
        # low-frequency group delay of the 2nd-order Butterworth smoothing: √2 / (2π f_c)
        self._delay_s = float(np.sqrt(2.0) / (2 * np.pi * min(rp.smooth_hz, 0.45 * fs)))
        self._prev_s = [0.0, 0.0, 0.0]
        # posture and reference
        self._stable = 0
        self._cand = 0
        self._cand_since = 0.0
        self._bent_since: float | None = None  # left upright at (while upright)
        self._busy_t = -np.inf  # last moment active (ActivityDetector)
        self._ref: np.ndarray | None = None
        self._ref_t = -np.inf
        self._still_since: float | None = None
        # repetitions: the shared core (tracker.signal.repcore), one per posture period
        self.phase = "calibrating"
        self._levels: RepLevels = rep_levels(rp, has_heading=self._has_heading)
        self._finder: RepFinder | None = None
        self._safety = _RepSafety()
        self._step = 0
        self.reps: list[Rep] = []
        self.rep_counts: dict[tuple[str, str | None], int] = {}
        self._calibration_step_s: tuple[float, float] | None = None
        self.cracks: list[dict[str, Any]] = []
        self.spikes: list[dict[str, Any]] = []
        self.last_exercise: str | None = None
        self.last_side: str | None = None
        # current view
        self.t_s: float | None = None
        self.angles_deg: np.ndarray | None = None
        self.speed_deg_s = 0.0
        self.samples = 0

    # ------------------------------------------------------------------ public
    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    @property
    def posture(self) -> str:
        return POSTURES[self._stable] if self.calibrated else "other"

    @property
    def _rep(self) -> RepInProgress | None:
        """The repetition in progress (the core's typed state), if any."""
        return None if self._finder is None else self._finder.rep

    def _rep_kind(self, rep: RepInProgress) -> tuple[str, str | None]:
        assert self._finder is not None
        return classify_rep(self._finder.posture, rep.channel, rep.peak_deg)

    @property
    def exercise(self) -> str | None:
        """Exercise of the movement in progress, else of the last repetition."""
        rep = self._rep
        return self._rep_kind(rep)[0] if rep is not None else self.last_exercise

    @property
    def side(self) -> str | None:
        rep = self._rep
        return self._rep_kind(rep)[1] if rep is not None else self.last_side

    @property
    def primary(self) -> str | None:
        """Column of the primary angle of the repetition in progress (or the last one)."""
        rep = self._rep
        if rep is not None:
            return _ANGLE_NAMES[rep.channel]
        if self.last_exercise is not None:
            return PRIMARY_ANGLE[self.last_exercise]
        return None

    @property
    def hold_s(self) -> float | None:
        """Seconds held so far in the repetition in progress (the current hold)."""
        rep = self._rep
        return None if rep is None else rep.hold_s

    @property
    def peak_deg(self) -> float | None:
        rep = self._rep
        return None if rep is None else float(rep.peak_deg)

    @property
    def in_rep(self) -> bool:
        return self._rep is not None

    def usual_peak(self, exercise: str | None, side: str | None) -> float | None:
        if exercise is None:
            return None
        return self.usual_peaks_deg.get((exercise, side))

    def feed(self, t_s: Any, acc_m_s2: Any, gyr_rad_s: Any, mag_uT: Any = None) -> list[LiveEvent]:
        """Process a batch of samples (SI units, sensor frame); return what happened in it.

        Raises
        ------
        ValidationError
            On arrays of the wrong shape or times that go backwards.
        """
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        acc = np.asarray(acc_m_s2, dtype=np.float64).reshape(-1, 3)
        gyr = np.asarray(gyr_rad_s, dtype=np.float64).reshape(-1, 3)
        mag = None if mag_uT is None else np.asarray(mag_uT, dtype=np.float64).reshape(-1, 3)
        if acc.shape[0] != t.size or gyr.shape[0] != t.size:
            raise ValidationError(f"batch arrays disagree: {t.size} times, {acc.shape[0]} acc, {gyr.shape[0]} gyr rows")
        if t.size == 0:
            return []
        if self.t_s is not None and t[0] <= self.t_s:
            raise ValidationError(f"time goes backwards: batch starts at t={t[0]:.6f} s after t={self.t_s:.6f} s")
        events: list[LiveEvent] = []
        quat, _rest = self._orient.update(t, acc, gyr, mag)
        self.samples += t.size
        events.extend(self._feed_spikes(t, acc, gyr))
        busy = self._activity.update(acc)
        self._keep_for_calibration(t, acc, gyr, quat)
        self._blocks.add(t, acc, gyr, quat)
        if self.calibration is None:
            events.extend(self._try_calibrate(t, acc, gyr, quat, busy))
        else:
            events.extend(self._process(t, gyr, quat, busy))
        if self._remount_due and not self.in_rep:
            self._remount_due = False
            events.extend(self._remount(float(t[-1])))
        self.t_s = float(t[-1])
        return events

    def flush(self) -> list[LiveEvent]:
        """End of the stream: report the spikes still waiting for their look-ahead."""
        if self._spike_buf:
            tt, aa, gg = (np.concatenate(x) for x in zip(*self._spike_buf))
            self._spike_buf = []
            try:
                self._spikes.feed(tt, aa, gg)
            except ValidationError:
                pass
        return self._spike_events(self._spikes.flush())

    # ------------------------------------------------------------- spikes
    def add_impulse_windows(self, windows: Sequence[ImpulseWindow]) -> None:
        """The tag's kHz impulse windows as they arrive: they weigh in on the spikes not
        yet reported, as in the batch analysis (:meth:`SpikeStream.add_snippets`)."""
        self._spikes.add_snippets(windows)

    def _feed_spikes(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[LiveEvent]:
        # SpikeStream re-analyses at most every step_s anyway; handing it the samples in
        # step_s pieces saves building an empty result per small batch.
        self._spike_buf.append((t, acc, gyr))
        if float(t[-1]) - float(self._spike_buf[0][0][0]) < self._spikes.step_s:
            return []
        tt, aa, gg = (np.concatenate(x) for x in zip(*self._spike_buf))
        self._spike_buf = []
        try:
            frame = self._spikes.feed(tt, aa, gg)
        except ValidationError:
            return []  # e.g. a duplicate time across a reconnect: skip these for spikes
        return self._spike_events(frame)

    def _spike_events(self, frame: Any) -> list[LiveEvent]:
        out: list[LiveEvent] = []
        if not len(frame):
            return out
        cols = {k: frame[k].to_numpy() for k in ("t_s", "peak_m_s2", "crack_score", "kind", "possible_crack")}
        for j in range(len(frame)):
            item: dict[str, Any] = {"t_s": float(cols["t_s"][j]), "peak_m_s2": float(cols["peak_m_s2"][j]),
                    "score": float(cols["crack_score"][j]), "kind": str(cols["kind"][j])}
            if bool(cols["possible_crack"][j]):
                item["rep"] = len(self.reps) if self.in_rep else None
                self.cracks.append(item)
                out.append(LiveEvent("possible_crack", item["t_s"], item))
            else:
                self.spikes.append(item)
                out.append(LiveEvent("spike", item["t_s"], item))
        return out

    # -------------------------------------------------------- calibration
    def _try_calibrate(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                       quat: np.ndarray, busy: np.ndarray) -> list[LiveEvent]:
        self._buf.append((t, acc, gyr, quat, busy))
        if self._buf_t0 is None:
            self._buf_t0 = float(t[0])
        now = float(t[-1])
        if now < self._next_calib_t:
            return []
        self._next_calib_t = now + self.live.calibrate_every_s
        tt = np.concatenate([b[0] for b in self._buf])
        if tt.size < 2:
            return []
        cp = self.params.calibration
        aa = np.concatenate([b[1] for b in self._buf])
        gg = np.concatenate([b[2] for b in self._buf])
        qq = np.concatenate([b[3] for b in self._buf])
        bb = np.concatenate([b[4] for b in self._buf])
        cal = calibrate(tt, aa, gg, qq, sampling_rate_hz=self.fs, params=cp,
                        q_sensor_body_nominal=self._q_nominal, use_movement=False,
                        prior=self._prior)
        found = cal.neutral_start_s is not None
        # A still run that reaches the newest samples may still grow: wait until it has
        # lasted long enough past the smoothing half-window to be trusted.
        if cal.neutral_start_s is not None and cal.neutral_end_s is not None and now - cal.neutral_end_s < 0.3 \
                and cal.neutral_end_s - cal.neutral_start_s < cp.min_still_s:
            return []
        if not found and now - self._buf_t0 < cp.search_s:
            return []
        self.calibration = cal
        self._q_sb = cal.q_sensor_body
        self._buf = []
        self._stable = self._cand = 1 if found else 0
        self._cand_since = now
        ev = [LiveEvent("calibrated", now, {"neutral": found, "method": cal.method,
                                            "confidence": cal.confidence,
                                            "mounting_deg": cal.mounting_deg, "notes": list(cal.notes)})]
        start = 0 if cal.neutral_start_s is None else int(np.searchsorted(tt, cal.neutral_start_s))
        if found:
            self._ref = cal.q_world_body_ref if self._has_heading else body_up(cal.q_world_body_ref)
            self._ref_t = now
            # the recording's detection level, from the angle noise while still (as offline)
            q_wb = quat_mul(qq, self._q_sb)
            end = int(np.searchsorted(tt, cal.neutral_end_s, side="right")) if cal.neutral_end_s is not None else tt.size
            self._levels = rep_levels(self.params.reps, reference_noise_deg(
                AngleSource(q_wb, body_up(q_wb), self._has_heading), (start, end), self.fs,
                self.params.reps), has_heading=self._has_heading)
        self.phase = _IDLE
        # run the detectors over what arrived since the neutral period
        ev.extend(self._process(tt[start:], gg[start:], qq[start:], bb[start:]))
        return ev

    def _keep_for_calibration(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                              quat: np.ndarray) -> None:
        self._cal_hist.append((t, acc, gyr, quat))
        self._last_q = quat[-1]
        while self._cal_hist and t[-1] - self._cal_hist[0][0][-1] > CALIBRATION_HISTORY_S:
            self._cal_hist.popleft()

    def _remount(self, now: float) -> list[LiveEvent]:
        """Re-derive the mounting from the movements so far with the offline calibration
        (block means, walking mask and sign votes as in the whole-session analysis); switch
        to it when it is confident and differs materially from the one in use."""
        cur = self.calibration
        cp = self.params.calibration
        if cur is None or cur.method == "calibration_step" or now < self._next_remount_t:
            return []
        self._next_remount_t = now + self._remount_gap_s
        tt, aa, gg, qq = self._blocks.arrays()
        if tt.size < 2:
            return []
        fs_d = self.fs / self._blocks.k
        cal = calibrate(tt, aa, gg, qq, sampling_rate_hz=fs_d, params=cp,
                        q_sensor_body_nominal=self._q_nominal, use_movement=self.has_gyro,
                        prior=self._prior,
                        active=activity_mask(aa, fs_d, self.params.reps.walking_acc_m_s2))
        if cal.confidence < cp.min_confidence:
            return []
        # Confident: look again ever more rarely (a part of the session can mislead the
        # sign votes, e.g. a walk whose end is not seen yet; the whole history settles it).
        self._remount_gap_s *= 2.0
        self._next_remount_t = now + self._remount_gap_s
        turned_deg = float(np.degrees(quat_angle_rad(quat_mul(quat_conj(self._q_sb), cal.q_sensor_body))))
        # A mounting close to the one in use is kept (no jump in the angles for a small
        # refinement).
        self.calibration = cal
        if turned_deg < self.live.remount_min_deg:
            return []
        self._switch_mounting(cal.q_sensor_body)
        return [LiveEvent("mounting_corrected", now, {
            "method": cal.method, "confidence": cal.confidence, "turned_deg": turned_deg,
            "mounting_deg": cal.mounting_deg, "forward_source": cal.forward_source,
            "notes": list(cal.notes)})]

    def _switch_mounting(self, q_sb_new: np.ndarray) -> None:
        """Use a new mounting from now on: the reference posture, the angle history and
        the smoothing carried over into the new body frame (between repetitions)."""
        d = quat_mul(quat_conj(self._q_sb), q_sb_new)  # q_wb_new = q_wb_old ⊗ d
        self._q_sb = q_sb_new
        self._hist_q = quat_mul(self._hist_q, d) if self._hist_q.shape[0] else self._hist_q
        self._hist_up = body_up(self._hist_q) if self._hist_q.shape[0] else self._hist_up
        if self._ref is not None:
            self._ref = quat_mul(self._ref, d) if self._has_heading else quat_rotate(quat_conj(d), self._ref)
        self._up_zi = None
        self._finder = None
        if self._ref is not None and self._hist_q.shape[0]:
            n = self._hist_q.shape[0]
            a = AngleSource(self._hist_q, self._hist_up, self._has_heading).angles(n - 1, n, self._ref)[0]
            for c in range(3):
                self._smooth[c].reset(0.0 if np.isnan(a[c]) else float(a[c]))
                self._prev_s[c] = self._smooth[c].y

    @property
    def tilt_deg(self) -> float | None:
        """How far the trunk is tilted from the calibration's 'up' (any direction, so it
        needs no forward axis): what a calibration bend is watched by."""
        if self.calibration is None or self._last_q is None:
            return None
        up_now = quat_rotate(quat_conj(self._last_q), _EZ)  # world up in the sensor frame
        up_cal = quat_rotate(self._q_sb, _EZ)
        return float(np.degrees(np.arccos(np.clip(up_now @ up_cal, -1.0, 1.0))))

    def recalibrate(self, step_s: tuple[float, float]) -> list[LiveEvent]:
        """The mounting from a calibration step (still, then one gentle forward bend)
        between ``step_s`` (device seconds, within the last :data:`CALIBRATION_HISTORY_S`):
        the same :func:`~tracker.signal.calibration.calibrate` as offline. Returns a
        ``calibrated`` event when the step showed the forward axis, else nothing.

        The step's bend is no stretch: a repetition already counted for it is withdrawn
        (the guide may have needed it to see the bend), and none is counted later."""
        self._calibration_step_s = step_s
        for rep in [r for r in self.reps if is_calibration_bend(r.peak_s, step_s)]:
            self.reps.remove(rep)
            key = (rep.exercise, rep.side)
            self.rep_counts[key] -= 1
            if not self.rep_counts[key]:
                del self.rep_counts[key]
        if not self._cal_hist:
            return []
        tt, aa, gg, qq = (np.concatenate(x) for x in zip(*self._cal_hist))
        cal = calibrate(tt, aa, gg, qq, sampling_rate_hz=self.fs, params=self.params.calibration,
                        q_sensor_body_nominal=self._q_nominal, prior=self._prior, step_s=step_s)
        if cal.method != "calibration_step":
            return []
        self.calibration = cal
        self._q_sb = cal.q_sensor_body
        if cal.neutral_start_s is not None:
            self._ref = cal.q_world_body_ref if self._has_heading else body_up(cal.q_world_body_ref)
            self._ref_t = float(tt[-1])
        return [LiveEvent("calibrated", float(tt[-1]), {
            "neutral": cal.neutral_start_s is not None, "method": cal.method,
            "confidence": cal.confidence, "mounting_deg": cal.mounting_deg, "notes": list(cal.notes)})]

    # ---------------------------------------------------------- per batch
    def _process(self, t: np.ndarray, gyr: np.ndarray, quat: np.ndarray,
                 busy: np.ndarray) -> list[LiveEvent]:
        fs, rp, lp = self.fs, self.params.reps, self.live
        n = t.size
        moving = self._activity.sustained(busy)  # (every sample passes here once, in order)
        q_wb = quat_mul(quat, self._q_sb)
        up = body_up(q_wb)
        if self._up_zi is None:
            self._up_zi = sps.sosfilt_zi(self._up_sos)[:, :, None] * up[0][None, None, :]
        up_lp, self._up_zi = sps.sosfilt(self._up_sos, up, axis=0, zi=self._up_zi)
        up_lp = up_lp / np.maximum(np.linalg.norm(up_lp, axis=1, keepdims=True), 1e-9)
        cos = up_lp @ CANONICAL_UP.T
        best = np.argmax(cos, axis=1)
        ok = cos[np.arange(n), best] >= np.cos(np.radians(rp.posture_max_deg))
        posture_raw = np.where(ok, best + 1, 0)
        # angular speed and acceleration (low-passed, frame-independent magnitudes)
        if self._gyr_zi is None:
            self._gyr_zi = sps.sosfilt_zi(self._gyr_sos)[:, :, None] * gyr[0][None, None, :]
        g_lp, self._gyr_zi = sps.sosfilt(self._gyr_sos, gyr, axis=0, zi=self._gyr_zi)
        prev = g_lp[:1] if self._gyr_prev is None else self._gyr_prev
        alpha = np.diff(np.vstack([prev, g_lp]), axis=0) * fs
        self._gyr_prev = g_lp[-1:]
        speed = np.degrees(np.linalg.norm(g_lp, axis=1))
        jerk = np.degrees(np.sqrt(self._jerk_win.update((alpha ** 2).sum(axis=1, keepdims=True))[:, 0]))
        still = np.linalg.norm(self._still_win.update(gyr), axis=1) < self.params.calibration.still_gyr_rad_s
        # reference history: last ref window before this batch + this batch
        hq = np.vstack([self._hist_q, q_wb])
        hu = np.vstack([self._hist_up, up])
        off = self._hist_q.shape[0]
        src = AngleSource(hq, hu, self._has_heading)
        ang = self._angles(src, off, off + n)
        events: list[LiveEvent] = []
        tl = t.tolist()
        for i in range(n):
            ti = tl[i]
            self._step += 1
            # --- posture: a change counts once it has lasted posture_confirm_s, but a
            # forward bend from upright is not one (reps.bends_from_upright: back within
            # max_rep_s, pitched forward, nobody moving about since settle_after_active_s
            # before it)
            pr = int(posture_raw[i])
            if busy[i]:
                self._busy_t = ti
            if pr == _UPRIGHT or self._stable != _UPRIGHT:
                self._bent_since = None
            elif self._bent_since is None:
                self._bent_since = ti
            bending = (self._bent_since is not None and ti - self._bent_since <= rp.max_rep_s
                       and self._busy_t < self._bent_since - rp.settle_after_active_s
                       and up_lp[i, 0] < 0.0 and abs(up_lp[i, 0]) > abs(up_lp[i, 1]))
            if pr != self._stable:
                if pr != self._cand:
                    self._cand, self._cand_since = pr, ti
                elif ti - self._cand_since >= lp.posture_confirm_s and not bending:
                    if self.in_rep:
                        events.append(self._reject(ti, "posture changed"))
                    self._stable = pr
                    self._ref = None
                    self._finder = None
                    events.append(LiveEvent("posture", ti, {"posture": POSTURES[pr]}))
            else:
                self._cand = pr
            # --- reference posture: refreshed while ready and still
            if bool(still[i]):
                if self._still_since is None:
                    self._still_since = ti
            else:
                self._still_since = None
            fresh = False
            if (self._stable != 0 and not self.in_rep and self._still_since is not None
                    and ti - self._still_since >= rp.ref_window_s
                    and (self._ref is None or ti - self._ref_t >= lp.ref_update_s)
                    and self._steady(src, max(0, off + i + 1 - self._ref_n), off + i)):
                self._ref = src.ref(max(0, off + i + 1 - self._ref_n), off + i + 1)
                self._ref_t = ti
                ang[i:] = self._angles(src, off + i, off + n)
                for c in range(3):
                    v0 = float(ang[i, c])
                    self._smooth[c].reset(0.0 if np.isnan(v0) else v0)
                    self._prev_s[c] = self._smooth[c].y
                fresh = True
            self.busy = bool(busy[i])
            self.speed_deg_s = float(speed[i])
            if self._ref is None or self._stable == 0:
                self.angles_deg = None
                continue
            a = ang[i]
            self.angles_deg = a
            sm = [0.0, 0.0, 0.0]
            v = [0.0, 0.0, 0.0]
            for c in range(3):
                x = float(a[c])
                if np.isnan(x):
                    continue
                sm[c] = self._smooth[c].step(x)
                v[c] = (sm[c] - self._prev_s[c]) * fs
                self._prev_s[c] = sm[c]
            chans = [c for c in primary_channels(self._stable) if not np.isnan(a[c])]
            if not chans:
                continue
            if self._finder is None or self._finder.channels != tuple(chans):
                self._finder = RepFinder(POSTURES[self._stable], chans, rp, self._levels)
                self._finder.reset(self._step, ti, sm)
                continue
            if fresh:  # new reference: the angles start again from (about) zero
                self._finder.reset(self._step, ti, sm)
                continue
            raw = [float(a[0]), float(a[1]), float(a[2])]
            for kind, data in self._finder.step(self._step, ti, sm, v, raw, self.busy, bool(moving[i])):
                self._on_core_event(kind, data, ti, events)
            rep = self._rep
            if rep is not None:
                self._phase_of(rep, sm)
                self._safety_checks(rep, ti, float(speed[i]), float(jerk[i]), events)
        keep = min(self._ref_n, hq.shape[0])
        self._hist_q, self._hist_up = hq[-keep:], hu[-keep:]
        return events

    def _steady(self, src: AngleSource, a: int, b: int) -> bool:
        """The body did not turn by more than ``ref_steady_deg`` over samples ``a..b``
        when refreshing the reference, or by more than the detection level when there is
        none (after a posture change: the whole-session analysis's rule for where a
        posture period starts, "calm, and staying within the detection level").

        The angular-rate "still" test lets the first few tenths of a second of a slow
        movement through; a refresh then would eat part of the stretch. Without a
        reference, nothing is counted until one is taken: waiting for a sway smaller
        than ``ref_steady_deg`` would take it in the next held stretch instead, whose
        return then reads as a stretch the other way.
        """
        limit_deg = self.live.ref_steady_deg if self._ref is not None else self._levels.detect_deg
        if self._has_heading:
            d = quat_angle_rad(quat_mul(quat_conj(src.q[a]), src.q[b]))
        else:
            d = np.arccos(np.clip(float(src.up[a] @ src.up[b]), -1.0, 1.0))
        return bool(np.degrees(d) <= limit_deg)

    def _angles(self, src: AngleSource, a: int, b: int) -> np.ndarray:
        if self._ref is None:
            return np.full((b - a, 3), np.nan)
        return src.angles(a, b, self._ref)

    # --------------------------------------------------------- repetitions
    def _on_core_event(self, kind: str, data: object, t: float, events: list[LiveEvent]) -> None:
        """Turn an event of the shared core into live events (times on the movement's
        clock: the causal smoothing delays what the core sees by ``_delay_s``)."""
        d = self._delay_s
        if kind == "start":
            assert isinstance(data, RepInProgress)
            self._safety = _RepSafety()
            self.phase = _MOVING
            exercise, side = self._rep_kind(data)
            events.append(LiveEvent("rep_start", data.start_s - d, {
                "exercise": exercise, "side": side, "angle": _ANGLE_NAMES[data.channel]}))
        elif kind == "hold_start":
            assert isinstance(data, RepInProgress) and data.run is not None
            self.phase = _HOLDING
            exercise, side = self._rep_kind(data)
            events.append(LiveEvent("hold_start", data.run[2] - d, {"exercise": exercise, "side": side}))
        elif kind == "hold_end":
            t0, t1 = cast(tuple[float, float], data)
            events.append(LiveEvent("hold_end", t1 - d, {"hold_s": t1 - t0}))
        elif kind == "posture_change":
            # gone too far, or never came back: not a stretch; a new reference when still
            events.append(LiveEvent("rep_rejected", t, {"reason": "posture changed", "exercise": None,
                                                        "side": None, "peak_deg": None}))
            self._ref = None
            self._finder = None
            self.phase = _IDLE
        elif kind == "end":
            assert isinstance(data, FoundRep)
            self.phase = _IDLE
            if data.rejected is not None:
                events.append(LiveEvent("rep_rejected", t, {
                    "reason": data.rejected, "exercise": data.exercise, "side": data.side,
                    "peak_deg": data.peak_deg}))
                return
            events.extend(self._safety.ready)
            self._safety.ready.clear()
            events.append(self._count(data))

    def _count(self, f: FoundRep) -> LiveEvent:
        d = self._delay_s  # times found on the smoothed angle lag the movement by this
        hold = f.hold
        rep = Rep(exercise=f.exercise, side=f.side, start_s=f.start_s - d,
                  hold_start_s=None if hold is None else hold[2] - d,
                  hold_end_s=None if hold is None else hold[3] - d, end_s=f.end_s - d,
                  hold_s=None if hold is None else hold[3] - hold[2], peak_deg=f.peak_deg,
                  peak_s=f.peak_s, confidence=f.confidence, plane=PLANES[f.channel],
                  posture=f.posture)
        if is_calibration_bend(rep.peak_s, self._calibration_step_s):
            return LiveEvent("calibration_bend", f.end_s, {"rep": rep})
        self.reps.append(rep)
        key = (f.exercise, f.side)
        self.rep_counts[key] = self.rep_counts.get(key, 0) + 1
        self._remount_due = True  # the movements may now show the mounting
        self.last_exercise, self.last_side = f.exercise, f.side
        return LiveEvent("rep", f.end_s, {"rep": rep, "count": self.rep_counts[key]})

    def _phase_of(self, rep: RepInProgress, sm: list[float]) -> None:
        if rep.holding:
            self.phase = _HOLDING
            return
        ch = rep.channel
        peak_abs = rep.peak_abs_deg[ch]
        e = abs(sm[ch] - rep.base_deg[ch])
        returning = rep.best is not None or (
            e < (1.0 - self.params.reps.hold_band_frac) * peak_abs and peak_abs > e + 1.0)
        self.phase = _RETURNING if returning else _MOVING

    def _safety_checks(self, rep: RepInProgress, t: float, speed: float, jerk: float,
                       events: list[LiveEvent]) -> None:
        """Warn once per repetition on fast or jerky movement and on going well past the
        usual range. Speed warnings wait until the movement has slowed again and still
        looks like a stretch (a roll-over or a turn while walking is fast too, but it is
        not a stretch done too fast)."""
        rp, lp, sf = self.params.reps, self.live, self._safety
        exercise, side = self._rep_kind(rep)
        peak_abs = rep.raw_peak_abs_deg[rep.channel]
        for kind, value, limit in (("fast", speed, lp.fast_deg_s), ("jerky", jerk, lp.jerky_deg_s2)):
            if value > limit:
                sf.pending[kind] = max(sf.pending.get(kind, 0.0), value)
            elif kind in sf.pending and value < 0.8 * limit:
                top = sf.pending.pop(kind)
                if (kind not in sf.warned and not self.busy and peak_abs <= rp.max_peak_deg
                        and self._cand == self._stable):
                    sf.warned.add(kind)
                    # given once the movement proves to be a stretch (a hold, or counted)
                    sf.ready.append(LiveEvent("warning", t, {
                        "kind": kind, "value": round(top, 1), "limit": limit,
                        "exercise": exercise, "side": side}))
        if rep.holding:
            events.extend(sf.ready)
            sf.ready.clear()
        usual = self.usual_peak(exercise, side)
        if usual is not None and "beyond_range" not in sf.warned and peak_abs > usual_limit_deg(usual, lp):
            sf.warned.add("beyond_range")
            events.append(LiveEvent("warning", t, {
                "kind": "beyond_range", "value": round(peak_abs, 1), "usual": round(abs(usual), 1),
                "exercise": exercise, "side": side}))

    def _reject(self, t: float, why: str) -> LiveEvent:
        rep = self._rep
        assert rep is not None
        exercise, side = self._rep_kind(rep)
        data = {"reason": why, "exercise": exercise, "side": side, "peak_deg": rep.peak_deg}
        self._finder = None
        self.phase = _IDLE
        return LiveEvent("rep_rejected", t, data)


@dataclass
class _RepSafety:
    """Safety warnings of the repetition in progress: given, and waiting to be given."""

    warned: set[str] = field(default_factory=set)
    pending: dict[str, float] = field(default_factory=dict)
    ready: list[LiveEvent] = field(default_factory=list)  # warnings waiting to be given
