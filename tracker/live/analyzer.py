"""Causal analysis for the live view: the offline detectors, one batch at a time.

The offline analysis (:mod:`tracker.signal`) sees the whole session and filters with
zero phase; live feedback cannot wait for the future. :class:`LiveAnalyzer` reuses
the same pieces causally:

* orientation: :class:`tracker.signal.orientation.OnlineOrientation` (causal VQF);
* calibration: :func:`tracker.signal.calibration.calibrate` on the samples buffered so
  far, tried every ``calibrate_every_s`` until it finds the neutral still upright period
  (the heading keeps the nominal mounting: it needs movement the person has not made
  yet; the offline analysis refines it afterwards);
* angles, posture codes, exercise/side rules and every threshold: those of
  :mod:`tracker.signal.reps` and :class:`tracker.signal.params.RepParams`;
* possible cracks: :class:`tracker.signal.spikes.SpikeStream` (reported
  ``lookahead_s``, 2.5 s by default, after the spike, when its context is known).

Repetitions are found by a small state machine per sample instead of the offline
"runs above a threshold, widened to the onsets": ``ready`` (in a known posture, with a
reference posture taken while still) → ``moving`` (the smoothed primary angle leaves
the reference by ``detect_frac · min_peak_deg``; the start is the last moment it was
turning slower than ``onset_rate_deg_s``) → ``holding`` (near the peak and slow for
``min_hold_s``) → ``returning`` → end (back below the detection level and slow). The
same acceptance rules as offline then decide whether it was a repetition. Smoothing is
a causal 2nd-order low-pass at ``smooth_hz`` (about 0.1 s of delay at 2 Hz).

Safety: during a repetition the analyser warns once per repetition on fast movement
(angular speed above ``fast_deg_s``), jerky movement (RMS angular acceleration over
``jerk_window_s`` above ``jerky_deg_s2``: bouncing, not a single knock) and on going
well past the person's usual peak for this exercise and side.

Everything here is pure computation on arrays (no I/O, no clocks): the same input
gives the same events.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal as sps

from ..errors import ValidationError
from ..schema import PRIMARY_ANGLE, STANDARD_GRAVITY_M_S2
from ..signal._quat import quat_angle_rad, quat_conj, quat_mul
from ..signal.angles import body_up
from ..signal.calibration import Calibration, calibrate
from ..signal.orientation import OnlineOrientation
from ..signal.params import AnalysisParams
from ..signal.result import Rep
from ..signal.reps import CANONICAL_UP, POSTURES, AngleSource, classify_rep, primary_channels
from ..signal.spikes import SpikeStream

__all__ = ["LiveAnalyzer", "LiveEvent", "LiveParams", "usual_limit_deg"]

_ANGLE_NAMES = ("flexion_deg", "lateral_bend_deg", "axial_rotation_deg")
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
    end_wait_s : float
        Back below the detection level, the repetition ends when the movement stops or
        after this long.
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
    busy_acc_m_s2, busy_frac : float
        The person is moving about (walking, sitting down, rolling over), not stretching,
        when the low-passed acceleration differs from 1 g by more than ``busy_acc_m_s2``
        for more than ``busy_frac`` of the last second (steps shake the lower back by
        ±2–3 m/s²; a slow stretch by well under 0.5 m/s²). No repetition starts then,
        and no speed warnings are given.
    ref_steady_deg : float
        A reference posture is only taken from a window over which the body turned less
        than this (the start of a slow movement is not "still" enough).
    """

    posture_confirm_s: float = 1.0
    ref_update_s: float = 0.25
    end_wait_s: float = 1.0
    calibrate_every_s: float = 0.5
    fast_deg_s: float = 60.0
    jerky_deg_s2: float = 250.0
    jerk_window_s: float = 1.0
    motion_lowpass_hz: float = 4.0
    beyond_frac: float = 0.25
    beyond_min_deg: float = 5.0
    busy_acc_m_s2: float = 0.8
    busy_frac: float = 0.25
    ref_steady_deg: float = 0.3

    def __post_init__(self) -> None:
        for name in ("posture_confirm_s", "ref_update_s", "end_wait_s", "calibrate_every_s",
                     "fast_deg_s", "jerky_deg_s2", "jerk_window_s", "motion_lowpass_hz",
                     "beyond_min_deg", "busy_acc_m_s2", "busy_frac", "ref_steady_deg"):
            if not getattr(self, name) > 0:
                raise ValidationError(f"LiveParams.{name} must be > 0, got {getattr(self, name)!r}")
        if self.beyond_frac < 0:
            raise ValidationError(f"LiveParams.beyond_frac must be >= 0, got {self.beyond_frac!r}")


def usual_limit_deg(usual_deg: float, live: LiveParams) -> float:
    """Magnitude beyond which a peak is "well past" a usual peak of ``usual_deg``."""
    u = abs(float(usual_deg))
    return max(u * (1.0 + live.beyond_frac), u + live.beyond_min_deg)


@dataclass(frozen=True)
class LiveEvent:
    """Something the analyser noticed.

    ``kind`` is one of ``calibrated``, ``posture``, ``rep_start``, ``hold_start``,
    ``hold_end``, ``rep`` (``data["rep"]`` is a :class:`Rep`), ``rep_rejected``,
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
    ) -> None:
        if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
            raise ValidationError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz}")
        self.fs = fs = float(sampling_rate_hz)
        self.params = params or AnalysisParams()
        self.live = live or LiveParams()
        self.has_gyro = has_gyro
        self.usual_peaks_deg = dict(usual_peaks_deg or {})
        self._q_nominal = None if q_sensor_body_nominal is None else np.asarray(q_sensor_body_nominal, float)
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
        self._acc_zi: np.ndarray | None = None
        self._busy_win = _Trailing(round(fs), 1)
        self.busy = False
        self._still_win = _Trailing(round(0.5 * fs), 3)
        self._jerk_win = _Trailing(round(self.live.jerk_window_s * fs), 1)
        self._ref_n = max(1, int(round(rp.ref_window_s * fs)))
        self._hist_q = np.zeros((0, 4))
        self._hist_up = np.zeros((0, 3))
        self._smooth = [_Biquad(rp.smooth_hz, fs) for _ in range(3)]
        # low-frequency group delay of the 2nd-order Butterworth smoothing: √2 / (2π f_c)
        self._delay_s = float(np.sqrt(2.0) / (2 * np.pi * min(rp.smooth_hz, 0.45 * fs)))
        self._prev_s = [0.0, 0.0, 0.0]
        self._back: deque[tuple[float, float, float]] = deque(maxlen=max(1, int(round(0.2 * fs))))
        # posture and reference
        self._stable = 0
        self._cand = 0
        self._cand_since = 0.0
        self._ref: np.ndarray | None = None
        self._ref_t = -np.inf
        self._still_since: float | None = None
        self._last_slow = [None, None, None]  # type: list[float | None]
        # repetition state
        self.phase = "calibrating"
        self._rep: dict[str, Any] | None = None
        self.reps: list[Rep] = []
        self.rep_counts: dict[tuple[str, str | None], int] = {}
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
    def exercise(self) -> str | None:
        """Exercise of the movement in progress (None: not a stretch), else of the last repetition."""
        if self._rep is not None:
            return self._rep["exercise"]
        return self.last_exercise

    @property
    def side(self) -> str | None:
        if self._rep is not None:
            return self._rep["side"]
        return self.last_side

    @property
    def primary(self) -> str | None:
        """Column of the primary angle of the repetition in progress (or the last one)."""
        if self._rep is not None:
            return _ANGLE_NAMES[self._rep["ch"]]
        if self.last_exercise is not None:
            return PRIMARY_ANGLE[self.last_exercise]
        return None

    @property
    def hold_s(self) -> float | None:
        """Seconds held so far in the repetition in progress (the current hold)."""
        r = self._rep
        if r is None or r["run_start"] is None:
            return None
        return r["run_end"] - r["run_start"]

    @property
    def peak_deg(self) -> float | None:
        r = self._rep
        return None if r is None else float(r["pval"][r["ch"]])

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
        busy = self._busy(acc)
        if self.calibration is None:
            events.extend(self._try_calibrate(t, acc, gyr, quat, busy))
        else:
            events.extend(self._process(t, gyr, quat, busy))
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
            item = {"t_s": float(cols["t_s"][j]), "peak_m_s2": float(cols["peak_m_s2"][j]),
                    "score": float(cols["crack_score"][j]), "kind": str(cols["kind"][j])}
            if bool(cols["possible_crack"][j]):
                item["rep"] = len(self.reps) if self._rep is not None else None
                self.cracks.append(item)
                out.append(LiveEvent("possible_crack", item["t_s"], item))
            else:
                self.spikes.append(item)
                out.append(LiveEvent("spike", item["t_s"], item))
        return out

    def _busy(self, acc: np.ndarray) -> np.ndarray:
        """Per sample: is the person moving about (not stretching)? See ``LiveParams``."""
        if self._acc_zi is None:
            self._acc_zi = sps.sosfilt_zi(self._gyr_sos)[:, :, None] * acc[0][None, None, :]
        a_lp, self._acc_zi = sps.sosfilt(self._gyr_sos, acc, axis=0, zi=self._acc_zi)
        dyn = np.abs(np.linalg.norm(a_lp, axis=1) - STANDARD_GRAVITY_M_S2) > self.live.busy_acc_m_s2
        return self._busy_win.update(dyn[:, None].astype(float))[:, 0] > self.live.busy_frac

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
                        q_sensor_body_nominal=self._q_nominal, use_movement=False)
        found = cal.neutral_start_s is not None
        # A still run that reaches the newest samples may still grow: wait until it has
        # lasted long enough past the smoothing half-window to be trusted.
        if found and cal.neutral_end_s is not None and now - cal.neutral_end_s < 0.3 \
                and cal.neutral_end_s - cal.neutral_start_s < cp.min_still_s:
            return []
        if not found and now - self._buf_t0 < cp.search_s:
            return []
        self.calibration = cal
        self._q_sb = cal.q_sensor_body
        self._buf = []
        self._stable = self._cand = 1 if found else 0
        self._cand_since = now
        ev = [LiveEvent("calibrated", now, {"neutral": found, "mounting_deg": cal.mounting_deg,
                                            "notes": list(cal.notes)})]
        start = 0 if cal.neutral_start_s is None else int(np.searchsorted(tt, cal.neutral_start_s))
        if found:
            self._ref = cal.q_world_body_ref if self._has_heading else body_up(cal.q_world_body_ref)
            self._ref_t = now
        self.phase = _IDLE
        # run the detectors over what arrived since the neutral period
        ev.extend(self._process(tt[start:], gg[start:], qq[start:], bb[start:]))
        return ev

    # ---------------------------------------------------------- per batch
    def _process(self, t: np.ndarray, gyr: np.ndarray, quat: np.ndarray,
                 busy: np.ndarray) -> list[LiveEvent]:
        fs, rp, lp = self.fs, self.params.reps, self.live
        n = t.size
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
        thr_detect = rp.detect_frac * rp.min_peak_deg
        tl = t.tolist()
        for i in range(n):
            ti = tl[i]
            # --- posture: a change counts once it has lasted posture_confirm_s
            pr = int(posture_raw[i])
            if pr != self._stable:
                if pr != self._cand:
                    self._cand, self._cand_since = pr, ti
                elif ti - self._cand_since >= lp.posture_confirm_s:
                    if self._rep is not None:
                        events.append(self._reject(ti, "posture changed"))
                    self._stable = pr
                    self._ref = None
                    events.append(LiveEvent("posture", ti, {"posture": POSTURES[pr]}))
            else:
                self._cand = pr
            # --- reference posture: refreshed while ready and still
            if bool(still[i]):
                if self._still_since is None:
                    self._still_since = ti
            else:
                self._still_since = None
            if (self._stable != 0 and self._rep is None and self._still_since is not None
                    and ti - self._still_since >= rp.ref_window_s
                    and (self._ref is None or ti - self._ref_t >= lp.ref_update_s)
                    and self._steady(src, max(0, off + i + 1 - self._ref_n), off + i)):
                self._ref = src.ref(max(0, off + i + 1 - self._ref_n), off + i + 1)
                self._ref_t = ti
                ang[i:] = self._angles(src, off + i, off + n)
                for c in range(3):
                    v = float(ang[i, c])
                    self._smooth[c].reset(0.0 if np.isnan(v) else v)
                    self._prev_s[c] = self._smooth[c].y
            if self._ref is None or self._stable == 0:
                self.busy = bool(busy[i])
                self.angles_deg = None
                self.speed_deg_s = float(speed[i])
                continue
            a = ang[i]
            self.angles_deg = a
            self.speed_deg_s = float(speed[i])
            self._back.append((float(a[0]), float(a[1]), float(a[2])))
            chans = [c for c in primary_channels(self._stable) if not np.isnan(a[c])]
            s = [0.0, 0.0, 0.0]
            v = [0.0, 0.0, 0.0]
            for c in range(3):
                x = float(a[c])
                if np.isnan(x):
                    continue
                s[c] = self._smooth[c].step(x)
                v[c] = (s[c] - self._prev_s[c]) * fs
                self._prev_s[c] = s[c]
                if abs(v[c]) < rp.onset_rate_deg_s:
                    self._last_slow[c] = ti
            if not chans:
                continue
            self.busy = bool(busy[i])
            if self._rep is None:
                c = max(chans, key=lambda k: abs(s[k]))
                if abs(s[c]) > thr_detect and not self.busy:
                    start = self._last_slow[c]
                    self._start_rep(ti if start is None else start, ti, c, chans, s, a, events)
                continue
            self._track_rep(ti, chans, s, v, a, float(speed[i]), float(jerk[i]), thr_detect, events)
        keep = min(self._ref_n, hq.shape[0])
        self._hist_q, self._hist_up = hq[-keep:], hu[-keep:]
        return events

    def _steady(self, src: AngleSource, a: int, b: int) -> bool:
        """The body did not turn by more than ``ref_steady_deg`` over samples ``a..b``.

        The angular-rate "still" test lets the first few tenths of a second of a slow
        movement through; a reference taken then would eat part of the stretch.
        """
        if self._has_heading:
            d = quat_angle_rad(quat_mul(quat_conj(src.q[a]), src.q[b]))
        else:
            d = np.arccos(np.clip(float(src.up[a] @ src.up[b]), -1.0, 1.0))
        return bool(np.degrees(d) <= self.live.ref_steady_deg)

    def _angles(self, src: AngleSource, a: int, b: int) -> np.ndarray:
        if self._ref is None:
            return np.full((b - a, 3), np.nan)
        return src.angles(a, b, self._ref)

    # --------------------------------------------------------- repetitions
    def _start_rep(self, start_t: float, t: float, c: int, chans: list[int], s: list[float],
                   a: np.ndarray, events: list[LiveEvent]) -> None:
        exercise, side = classify_rep(self._stable, c, s[c])
        self._rep = {
            "start": start_t, "ch": c, "chans": chans, "smax": [abs(x) for x in s],
            "pmax": [abs(float(x)) if not np.isnan(x) else 0.0 for x in a],
            "pval": [float(x) if not np.isnan(x) else 0.0 for x in a], "pt": [t, t, t],
            "ramp": 0.0, "run_start": None, "run_end": None, "best": None, "below": None,
            "exercise": exercise, "side": side, "warned": set(), "holding": False,
            "pending": {}, "busy_since": None,
        }
        self.phase = _MOVING
        events.append(LiveEvent("rep_start", start_t - self._delay_s, {"exercise": exercise, "side": side,
                                                       "angle": _ANGLE_NAMES[c]}))

    def _track_rep(self, t: float, chans: list[int], s: list[float], v: list[float], a: np.ndarray,
                   speed: float, jerk: float, thr_detect: float, events: list[LiveEvent]) -> None:
        r = self._rep
        assert r is not None
        rp, lp = self.params.reps, self.live
        for c in chans:
            r["smax"][c] = max(r["smax"][c], abs(s[c]))
            if abs(float(a[c])) > r["pmax"][c]:
                r["pmax"][c], r["pval"][c], r["pt"][c] = abs(float(a[c])), float(a[c]), t
        ch = max(chans, key=lambda k: r["smax"][k])
        if ch != r["ch"]:  # another angle dominates after all: its hold starts over
            r["ch"], r["run_start"], r["run_end"], r["best"], r["holding"] = ch, None, None, None, False
        exercise, side = classify_rep(self._stable, ch, r["pval"][ch])
        r["exercise"], r["side"] = exercise, side
        peak_abs = r["pmax"][ch]
        sign = 1.0 if r["pval"][ch] >= 0 else -1.0
        if not r["holding"] and r["run_start"] is None:
            r["ramp"] = max(r["ramp"], abs(v[ch]))
        # --- hold: near the peak and slow (short interruptions bridged, as offline)
        near = sign * s[ch] >= (1.0 - rp.hold_band_frac) * peak_abs
        slow = abs(v[ch]) < max(rp.hold_max_rate_deg_s, rp.hold_rate_frac * r["ramp"])
        if near and slow:
            if r["run_start"] is None:
                r["run_start"] = t
            r["run_end"] = t
        elif r["run_start"] is not None and t - r["run_end"] > 0.3:
            self._close_run(r, events)
        if r["run_start"] is not None and not r["holding"] and r["run_end"] - r["run_start"] >= rp.min_hold_s:
            r["holding"] = True
            self.phase = _HOLDING
            events.append(LiveEvent("hold_start", r["run_start"], {"exercise": exercise, "side": side}))
        if not r["holding"]:
            self.phase = _RETURNING if (r["best"] is not None or sign * s[ch] < (1.0 - rp.hold_band_frac) * peak_abs
                                        and r["smax"][ch] > abs(s[ch]) + 1.0) else _MOVING
        # --- safety, once per repetition each. Speed warnings wait until the movement
        # has slowed again and still looks like a stretch (a roll-over or a turn while
        # walking is fast too, but it is not a stretch done too fast).
        if self.busy:
            if r["busy_since"] is None:
                r["busy_since"] = t
            if t - r["busy_since"] >= 0.5:
                events.append(self._reject(t, "moving about, not stretching"))
                return
        else:
            r["busy_since"] = None
        for kind, value, limit in (("fast", speed, lp.fast_deg_s), ("jerky", jerk, lp.jerky_deg_s2)):
            if value > limit:
                r["pending"][kind] = max(r["pending"].get(kind, 0.0), value)
            elif kind in r["pending"] and value < 0.8 * limit:
                top = r["pending"].pop(kind)
                if (kind not in r["warned"] and exercise is not None and not self.busy
                        and peak_abs <= rp.max_peak_deg and self._cand == self._stable):
                    r["warned"].add(kind)
                    events.append(LiveEvent("warning", t, {"kind": kind, "value": round(top, 1),
                                                           "limit": limit, "exercise": exercise,
                                                           "side": side}))
        usual = self.usual_peak(exercise, side)
        if usual is not None and "beyond_range" not in r["warned"] and peak_abs > usual_limit_deg(usual, lp):
            r["warned"].add("beyond_range")
            events.append(LiveEvent("warning", t, {
                "kind": "beyond_range", "value": round(peak_abs, 1), "usual": round(abs(usual), 1),
                "exercise": exercise, "side": side}))
        # --- end: back below the detection level, and slow (or waited long enough)
        if abs(s[ch]) < thr_detect:
            if r["below"] is None:
                r["below"] = t
            if abs(v[ch]) < rp.onset_rate_deg_s or t - r["below"] >= lp.end_wait_s:
                self._end_rep(t, events)
                return
        else:
            r["below"] = None
        if t - r["start"] > rp.max_rep_s:
            events.append(self._reject(t, "longer than max_rep_s"))

    def _close_run(self, r: dict[str, Any], events: list[LiveEvent]) -> None:
        a, b = r["run_start"], r["run_end"]
        if r["best"] is None or b - a > r["best"][1] - r["best"][0]:
            r["best"] = (a, b)
        if r["holding"]:
            events.append(LiveEvent("hold_end", b, {"hold_s": b - a}))
        r["run_start"] = r["run_end"] = None
        r["holding"] = False

    def _end_rep(self, t: float, events: list[LiveEvent]) -> None:
        r = self._rep
        assert r is not None
        rp = self.params.reps
        if r["run_start"] is not None:
            self._close_run(r, events)
        ch = r["ch"]
        peak = r["pval"][ch]
        exercise, side = classify_rep(self._stable, ch, peak)
        dur = t - r["start"]
        back = float(np.mean([abs(x[ch]) for x in self._back])) if self._back else 0.0
        why = None
        if exercise is None:
            why = "not one of the stretches"
        elif abs(peak) < rp.min_peak_deg:
            why = "too small"
        elif abs(peak) > rp.max_peak_deg:
            why = "too large"
        elif dur < rp.min_rep_s:
            why = "too short"
        elif back > rp.return_frac * abs(peak):
            why = "did not return"
        if why is not None:
            events.append(self._reject(t, why))
            return
        assert exercise is not None
        best = r["best"]
        hold = None if best is None or best[1] - best[0] < rp.min_hold_s else best
        others = [r["pmax"][c] for c in r["chans"] if c != ch]
        conf = 1.0 if not others else float(np.clip(1 - max(others) / abs(peak), 0.0, 1.0))
        d = self._delay_s  # times found on the smoothed angle lag the movement by this
        rep = Rep(exercise=exercise, side=side, start_s=r["start"] - d,
                  hold_start_s=None if hold is None else hold[0] - d,
                  hold_end_s=None if hold is None else hold[1] - d, end_s=t - d,
                  hold_s=None if hold is None else hold[1] - hold[0],
                  peak_deg=peak, peak_s=r["pt"][ch], confidence=conf)
        self.reps.append(rep)
        key = (exercise, side)
        self.rep_counts[key] = self.rep_counts.get(key, 0) + 1
        self.last_exercise, self.last_side = exercise, side
        self._rep = None
        self.phase = _IDLE
        events.append(LiveEvent("rep", t, {"rep": rep, "count": self.rep_counts[key]}))

    def _reject(self, t: float, why: str) -> LiveEvent:
        r = self._rep
        assert r is not None
        data = {"reason": why, "exercise": r["exercise"], "side": r["side"],
                "peak_deg": r["pval"][r["ch"]]}
        self._rep = None
        self.phase = _IDLE
        if why != "did not return" and why != "too small":
            self._ref = None  # the start posture is gone: take a new one when still
        return LiveEvent("rep_rejected", t, data)
