"""One live session: the recorder's observer that feeds the analyser and builds the view.

:class:`LiveSession` plugs into :func:`tracker.ble.recorder.record_session` as an
observer. ``on_batch`` only queues the samples (the recorder must never wait for us);
:meth:`LiveSession.process` runs the causal analyser over everything queued, in one
go, so a slow frame never makes the view fall behind the data: it catches up on the
next frame. The display loop (:class:`tracker.live.view.LiveDisplay`) calls it before
every frame.

What the session stores (through the store, alongside the recorder's samples):

* self-report: ``pain_before`` / ``pain_after`` (:meth:`Store.set_self_report`);
* events ``pain`` (``score``, ``when``: before / during / after, ``guidance_shown``),
  ``safety_warning`` (``type``: fast / jerky / beyond_range / pain, ``message``),
  ``live_rep`` (each repetition the live view counted: the usual range of the next
  sessions falls back on these when a session was never analysed), and
  ``guided_step`` (each step of the guided routine, when it was done or skipped).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from ..ble.recorder import RecorderObserver, RecordResult, SessionStarted
from ..errors import StoreError, TrackerError
from ..quality import Quality
from ..recording import Recording
from ..schema import EXERCISES, IMPULSE_EVENT
from ..signal.params import AnalysisParams
from ..signal.spikes import detection_limits
from ..signal.witnesses import ImpulseWindow
from .analyzer import LiveAnalyzer, LiveEvent, LiveParams
from .guided import GuidedRoutine, exercise_label, hold_targets
from .safety import pain_needs_stop, stop_guidance, usual_peaks_from_store, warning_message
from .state import Alert, LinkInfo, LiveState

__all__ = ["LiveSession", "Message", "ordered_counts"]

logger = logging.getLogger(__name__)

#: How long (device seconds) an alert stays on screen.
_ALERT_S = {"possible_crack": 15.0, "fast": 8.0, "jerky": 8.0, "beyond_range": 10.0, "link": 6.0}
#: Rate window for the achieved rate shown (device seconds).
_RATE_WINDOW_S = 5.0
#: In guided mode the recording ends this long after the routine is complete.
GUIDED_STOP_AFTER_S = 5.0

Message = tuple[float | None, str, str]
"""(t_s, level, text): one line of what happened, for logs and the plain view."""


class LiveSession(RecorderObserver):
    """Observer of a recording that turns it into :class:`LiveState` frames.

    Parameters
    ----------
    store : Store
        The session store (for pain, warnings, usual range).
    guided : GuidedRoutine, optional
        Walk through the routine (``tracker record --guided``).
    pain_before : int, optional
        Pain 0–10 given before the session (stored once the session exists).
    usual_peaks_deg : dict, optional
        ``{(exercise, side): degrees}``; default: from the person's previous sessions.
    params, live_params : optional
        Analysis settings.
    hold_targets_s : dict, optional
        Hold target per exercise for the hold timer (default: the routine's holds).
    clock : callable
        Monotonic clock (seconds), for the latency bookkeeping.
    """

    def __init__(
        self, store: Any, *, guided: GuidedRoutine | None = None, pain_before: int | None = None,
        usual_peaks_deg: dict[tuple[str, str | None], float] | None = None,
        params: AnalysisParams | None = None, live_params: LiveParams | None = None,
        hold_targets_s: dict[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.guided = guided
        self.pain: dict[str, Any] = {"before": pain_before, "during": None, "after": None}
        self._usual = usual_peaks_deg
        self.params = params
        self.live_params = live_params
        self.hold_targets_s = hold_targets_s or hold_targets()
        self.clock = clock
        self.session_id: str | None = None
        self.started: SessionStarted | None = None
        self.analyzer: LiveAnalyzer | None = None
        self._crack_limits = ""  # what crack detection sees at the stream's rate (set on start)
        self.analysis_error: str | None = None  # the live analyser failed: why (recording goes on)
        self.link = LinkInfo()
        self.status = "recording"
        self.quality: Quality | None = None
        self._pending: list[Recording] = []
        self._rate_hist: deque[tuple[float, int]] = deque()
        self._alerts: list[tuple[Alert, float]] = []  # (alert, expires at device time)
        self._guidance: str | None = None
        self._messages: list[Message] = []
        self.log: list[Message] = []  # every message of the session
        self.events: list[LiveEvent] = []  # every analyser event of the session
        self._guided_seen = 0
        self._guided_msgs = 0
        self._guided_note = ""
        self.guided_done_t: float | None = None
        self.data_ready: asyncio.Event | None = None
        # the web page asks the pain after at the end of a guided routine: wait this long for it
        self.after_wait_s = 0.0  # wall seconds after the routine's end
        self._done_clock = 0.0
        self.after_answered = False
        self.received: list[tuple[float, float]] = []  # (last t_s of a batch, clock) — latency
        if pain_before is not None and pain_needs_stop(before=pain_before):
            self._guidance = stop_guidance(before=pain_before)

    # ------------------------------------------------------------ observer hooks
    def on_start(self, started: SessionStarted) -> None:
        self.started = started
        self.session_id = started.session_id
        self.link = LinkInfo("streaming", started.meta.device, started.rate_hz, None, 0, 0, 0)
        if self._usual is None:
            self._usual = usual_peaks_from_store(self.store, exclude=started.session_id)
        self.analyzer = LiveAnalyzer(
            started.rate_hz, params=self.params, live=self.live_params,
            has_gyro=started.profile.has_gyro, use_mag=False, usual_peaks_deg=self._usual,
            mounting_prior=self._mounting_prior(started.meta.device))
        self._crack_limits = detection_limits(started.rate_hz, started.profile.has_gyro)
        self._say(None, "info", f"Recording session {started.session_id} from {started.meta.device} "
                                f"at {started.rate_hz:g} Hz")
        if self.pain["before"] is not None:
            self._store_pain_before()

    def on_batch(self, batch: Recording) -> None:
        self._pending.append(batch)
        self.received.append((float(batch.t_s[-1]), self.clock()))
        if self.data_ready is not None:
            self.data_ready.set()

    def on_event(self, kind: str, t_s: float | None, data: dict[str, Any]) -> None:
        if kind == "gap":
            self.link = _replace(self.link, dropped=self.link.dropped + int(data.get("lost_samples", 0)))
            self._say(t_s, "info", f"gap: {int(data.get('lost_samples', 0))} samples lost "
                                   f"({float(data.get('duration_s', 0.0)):.2f} s, {data.get('cause', '')})")
        elif kind == "reconnect":
            self.link = _replace(self.link, reconnects=self.link.reconnects + 1)
            self._say(t_s, "info", "reconnected")
        elif kind == "gave_up":
            self._say(t_s, "warning", "the sensor did not come back; the session ends here")
        elif kind == IMPULSE_EVENT and self.analyzer is not None and self.analysis_error is None:
            window = ImpulseWindow.from_event(t_s, data)
            if window is not None:  # a damaged window is no witness (as in the batch analysis)
                self.analyzer.add_impulse_windows([window])

    def on_state(self, event: Any) -> None:
        state = str(event.state)
        if state == self.link.state:
            return
        self.link = _replace(self.link, state=state)
        if state in ("disconnected", "reconnecting", "gave_up"):
            t = self.analyzer.t_s if self.analyzer is not None else None
            self._add_alert(Alert("link", t, f"sensor {state}", "warning"), t)
        level = "warning" if state in ("disconnected", "gave_up") else "info"
        self._say(self.analyzer.t_s if self.analyzer else None, level, f"link {state}")

    def on_stop(self, quality: Quality) -> None:
        self.quality = quality
        self.link = _replace(self.link, state="stopped")
        # the recorder marks a session interrupted exactly when it ended by an error
        ended_by = quality.link.ended_by if quality.link is not None else None
        self.status = ("interrupted" if ended_by == "error" else "complete") + \
            (f" ({ended_by})" if ended_by else "")

    # -------------------------------------------------------------- processing
    def process(self) -> list[LiveEvent]:
        """Analyse everything received since the last call (one batch for the analyser)."""
        if not self._pending or self.analyzer is None:
            return []
        batches, self._pending = self._pending, []
        rec = batches[0] if len(batches) == 1 else Recording.concat(batches)
        n_before = self.link.samples
        events: list[LiveEvent] = []
        if self.analysis_error is None:
            try:
                events = self.analyzer.feed(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, rec.mag_uT)
            except TrackerError as exc:  # bad batch: skip it, keep the session going
                logger.warning("live analysis skipped %d samples: %s", len(rec), exc)
            except Exception as exc:  # noqa: BLE001 - a fault in the analyser must not end the recording
                self._analysis_failed(exc, float(rec.t_s[0]))
        self.link = _replace(self.link, samples=n_before + len(rec),
                             achieved_rate_hz=self._rate(float(rec.t_s[-1]), n_before + len(rec)))
        self._handle(events)
        return events

    def finish(self, result: RecordResult | None = None) -> None:
        """After the recording: report the last spikes, set the final status."""
        self.process()
        if self.analyzer is not None and self.analysis_error is None:
            try:
                self._handle(self.analyzer.flush())
            except Exception as exc:  # noqa: BLE001 - as in process
                self._analysis_failed(exc, self.analyzer.t_s)
            self.analyzer = self.analyzer  # keep for the summary
        if self.status == "recording":
            self.status = "ended"
        if result is not None:
            self.status = f"{result.status} ({result.ended_by})"
            self.quality = result.quality
            if result.session_id is not None:
                self.session_id = result.session_id

    def _rate(self, t_last: float, n: int) -> float | None:
        hist = self._rate_hist
        hist.append((t_last, n))
        while len(hist) > 2 and t_last - hist[1][0] >= _RATE_WINDOW_S:
            hist.popleft()
        t0, n0 = hist[0]
        return None if t_last - t0 < 0.5 else (n - n0) / (t_last - t0)

    def _handle(self, events: list[LiveEvent]) -> None:
        an = self.analyzer
        assert an is not None
        for ev in events:
            self.events.append(ev)
            if ev.kind == "rep":
                rep = ev.data["rep"]
                held = "" if rep.hold_s is None else f", held {rep.hold_s:.1f} s"
                self._say(ev.t_s, "info", f"repetition {ev.data['count']} of "
                          f"{exercise_label(rep.exercise, rep.side)}: peak {rep.peak_deg:+.1f}°{held}")
                self._store_event("live_rep", rep.start_s, exercise=rep.exercise, side=rep.side,
                                  start_s=rep.start_s, end_s=rep.end_s, hold_s=rep.hold_s,
                                  peak_deg=rep.peak_deg)
            elif ev.kind == "possible_crack":
                text = (f"possible crack at {_clock(ev.t_s)} ({ev.data['peak_m_s2']:.1f} m/s², "
                        f"score {ev.data['score']:.2f}) — a short spike, not a diagnosis")
                self._add_alert(Alert("possible_crack", ev.t_s, text, "warning"), ev.t_s)
                self._say(ev.t_s, "alert", text)
            elif ev.kind == "warning":
                kind = ev.data["kind"]
                text = warning_message(kind, ev.data)
                self._add_alert(Alert(kind, ev.t_s, text, "warning"), ev.t_s)
                self._say(ev.t_s, "warning", text)
                extra = {k: v for k, v in ev.data.items() if k != "kind"}
                self._store_event("safety_warning", ev.t_s, type=kind, message=text, **extra)
            elif ev.kind == "calibrated":
                how = "neutral posture found" if ev.data.get("neutral") else "no still moment"
                if ev.data.get("method") == "stored_device":
                    how += ", mounting remembered for this device"
                self._say(ev.t_s, "info", f"calibrated ({how})")
            elif ev.kind == "mounting_corrected":
                self._say(ev.t_s, "info", f"sensor mounting corrected from the movements (turned "
                          f"{ev.data['turned_deg']:.0f}°, confidence {ev.data['confidence']:.2f}): "
                          "the repetitions from now on use it")
            elif ev.kind == "posture":
                self._say(ev.t_s, "info", f"posture: {ev.data['posture']}")
        if self.guided is not None and an.t_s is not None:
            g = self.guided
            g.update(an.t_s, events, calibrated=an.calibrated, posture=an.posture,
                     ready=an.angles_deg is not None, in_rep=an.in_rep, hold_s=an.hold_s,
                     tilt_deg=an.tilt_deg)
            for t, text in g.messages[self._guided_msgs:]:
                self._say(t, "step", text)
            self._guided_msgs = len(g.messages)
            if g.note and g.note != self._guided_note:
                self._say(an.t_s, "note", g.note)
            self._guided_note = g.note
            for step in g.completed[self._guided_seen:]:
                data = {("step" if k == "kind" else k): v for k, v in step.items() if k != "t_s"}
                self._store_event("guided_step", float(step["t_s"]), **data)  # type: ignore[arg-type]
                if "calibration_step_s" in step:
                    self._calibration_step(step["calibration_step_s"])  # type: ignore[arg-type]
            self._guided_seen = len(g.completed)
            if g.done and self.guided_done_t is None:
                self.guided_done_t = an.t_s
                self._done_clock = self.clock()

    def _mounting_prior(self, device: str) -> Any:
        """The mounting remembered for the device (None: none, or no store)."""
        from ..sessions import mounting_prior_of

        if self.store is None:
            return None
        try:
            return mounting_prior_of(self.store, device)
        except (StoreError, OSError) as exc:
            logger.warning("could not read the device's mounting: %s", exc)
            return None

    def _calibration_step(self, window: tuple[float, float]) -> None:
        """A calibration step was made: keep it with the session (the analysis finds the
        mounting from it, and remembers it for the device) and use it live at once."""
        from ..sessions import CALIBRATION_STEP_EVENT

        t0, t1 = float(window[0]), float(window[1])
        self._store_event(CALIBRATION_STEP_EVENT, t0, end_s=t1)
        if self.analyzer is not None:
            for ev in self.analyzer.recalibrate((t0, t1)):
                self._say(ev.t_s, "info", f"sensor mounting found from the calibration step "
                                          f"(confidence {ev.data['confidence']:.2f})")

    @property
    def wants_stop(self) -> bool:
        """Guided routine finished a while ago: the recording can end."""
        an = self.analyzer
        if self.guided_done_t is None or an is None or an.t_s is None:
            return False
        if an.t_s - self.guided_done_t < GUIDED_STOP_AFTER_S:
            return False
        # waiting for the page's pain-after answer is in wall seconds (a person answers)
        return self.after_answered or self.clock() - self._done_clock >= self.after_wait_s

    # ------------------------------------------------------------------- pain
    def report_pain_during(self, score: int | None = None) -> None:
        """The person pressed the pain key: show the guidance, store it."""
        t = self.analyzer.t_s if self.analyzer is not None else None
        self.pain["during"] = score if score is not None else "reported"
        self._guidance = stop_guidance(before=self.pain["before"], during=True)
        self._add_alert(Alert("pain", t, "Pain reported: stop the stretch and rest.", "stop"), None)
        self._say(t, "stop", self._guidance)
        self._store_event("pain", t, score=score, when="during", guidance_shown=True)
        self._store_event("safety_warning", t, type="pain", message=self._guidance)

    def record_pain_before(self, score: int) -> None:
        """Pain before, given once the recording runs (the web page asks it when the terminal did not)."""
        self.pain["before"] = score
        if pain_needs_stop(before=score):
            self._guidance = stop_guidance(before=score, during=self.pain["during"] is not None)
        if self.session_id is not None:
            self._store_pain_before()

    def _store_pain_before(self) -> None:
        before = self.pain["before"]
        self._store("set_self_report", pain_before=before)
        self._store_event("pain", 0.0, score=before, when="before",
                          guidance_shown=pain_needs_stop(before=before))
        if pain_needs_stop(before=before):
            self._store_event("safety_warning", 0.0, type="pain", message=stop_guidance(before=before))

    def skip_step(self) -> None:
        """Skip the current guided step (the terminal's ``n``, the page's button)."""
        if self.guided is not None:
            t = self.analyzer.t_s if self.analyzer is not None else None
            self.guided.skip(t or 0.0)

    def record_pain_after(self, score: int | None) -> str | None:
        """Store the pain after the session; returns the guidance text when it applies.

        None: the question was skipped (nothing stored).
        """
        self.after_answered = True
        if score is None:
            return None
        self.pain["after"] = score
        before = self.pain["before"]
        stop = pain_needs_stop(before=before, after=score)
        self._store("set_self_report", pain_after=score)
        t_end = self.analyzer.t_s if self.analyzer is not None else None
        self._store_event("pain", t_end, score=score, when="after", guidance_shown=stop)
        if not stop:
            return None
        self._guidance = stop_guidance(before=before, after=score,
                                       during=self.pain["during"] is not None)
        self._store_event("safety_warning", t_end, type="pain", message=self._guidance)
        return self._guidance

    # ------------------------------------------------------------------- view
    def drain_messages(self) -> list[Message]:
        """Messages since the last call (the plain view prints them)."""
        out, self._messages = self._messages, []
        return out

    def snapshot(self) -> LiveState:
        """The current frame."""
        an = self.analyzer
        t = None if an is None else an.t_s
        if t is not None:
            self._alerts = [(a, exp) for a, exp in self._alerts if exp >= t]
        alerts = tuple(a for a, _ in reversed(self._alerts))
        if an is None:
            return LiveState(link=self.link, alerts=alerts, guidance=self._guidance, pain=dict(self.pain),
                             status=self.status, session_id=self.session_id,
                             guided=self.guided.view() if self.guided else None)
        angles = None
        if an.angles_deg is not None:
            angles = {k: float(v) for k, v in zip(("flexion_deg", "lateral_bend_deg", "axial_rotation_deg"),
                                                  np.asarray(an.angles_deg, dtype=float))}
        exercise, side = an.exercise, an.side
        target = None
        if self.guided is not None and self.guided.step.kind == "rep":
            target = self.guided.step.hold_s
        elif exercise is not None:
            target = self.hold_targets_s.get(exercise)
        usual = an.usual_peak(exercise, side)
        return LiveState(
            t_s=t, link=self.link, calibrated=an.calibrated, posture=an.posture, angles_deg=angles,
            primary=an.primary, phase=an.phase, exercise=exercise, side=side,
            rep_counts=ordered_counts(an.rep_counts),
            hold_s=an.hold_s, hold_target_s=target, peak_deg=an.peak_deg, usual_peak_deg=usual,
            cracks=len(an.cracks), crack_limits=self._crack_limits, alerts=alerts,
            guided=self.guided.view() if self.guided else None,
            guidance=self._guidance, pain=dict(self.pain), status=self.status, session_id=self.session_id,
        )

    # ---------------------------------------------------------------- helpers
    def _analysis_failed(self, exc: BaseException, t_s: float | None) -> None:
        """The live analyser failed: say so once and stop analysing; the recorder keeps
        storing every sample (it never waits for us); ``tracker analyze`` analyses them."""
        self.analysis_error = f"{type(exc).__name__}: {exc}"
        logger.debug("live analysis failed", exc_info=exc)
        self._say(t_s, "warning", f"live analysis stopped ({self.analysis_error}); "
                                  "still recording; `tracker analyze` gives the full analysis afterwards")

    def _say(self, t_s: float | None, level: str, text: str) -> None:
        msg = (t_s, level, text)
        self._messages.append(msg)
        self.log.append(msg)

    def _add_alert(self, alert: Alert, t_s: float | None) -> None:
        expires = np.inf if t_s is None or alert.level == "stop" else t_s + _ALERT_S.get(alert.kind, 8.0)
        # a crack alert arrives a few seconds after the spike: keep it up from now
        now = self.analyzer.t_s if self.analyzer is not None and self.analyzer.t_s is not None else t_s
        if now is not None and t_s is not None and np.isfinite(expires):
            expires = max(expires, now + _ALERT_S.get(alert.kind, 8.0) / 2)
        self._alerts.append((alert, float(expires)))

    def _store(self, method: str, **kw: Any) -> None:
        if self.session_id is None:
            return
        try:
            getattr(self.store, method)(self.session_id, **kw)
        except (StoreError, OSError) as exc:  # the recording matters more than this
            logger.warning("could not store %s: %s", method, exc)

    def _store_event(self, event_kind: str, t_s: float | None, /, **data: Any) -> None:
        # positional-only: the payload may itself have a "kind"
        if self.session_id is None:
            return
        clean = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in data.items()}
        try:
            self.store.add_event(self.session_id, event_kind, t_s, **clean)
        except (StoreError, OSError, TypeError, ValueError) as exc:
            logger.warning("could not store the %s event: %s", event_kind, exc)


def ordered_counts(counts: dict[tuple[str, str | None], int]
                    ) -> tuple[tuple[tuple[str, str | None], int], ...]:
    """Repetition counts in routine order (design.md's table), left before right."""
    order = {ex: k for k, ex in enumerate(EXERCISES)}
    side = {None: 0, "left": 1, "right": 2}
    return tuple(sorted(counts.items(), key=lambda kv: (order.get(kv[0][0], 99), side.get(kv[0][1], 3))))


def _replace(link: LinkInfo, **changes: Any) -> LinkInfo:
    from dataclasses import replace

    return replace(link, **changes)


def _clock(t_s: float | None) -> str:
    """``m:ss.s`` of a session time."""
    if t_s is None or not np.isfinite(t_s):
        return "—"
    m, s = divmod(max(0.0, float(t_s)), 60.0)
    return f"{int(m)}:{s:04.1f}"
