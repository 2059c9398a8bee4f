"""The guided routine: design.md's stretches step by step, advanced by what the sensor sees.

:class:`GuidedRoutine` is a pure state machine. It is built from a
:class:`tracker.routine.Routine` (the one description of design.md's routine, with the
literature-based holds and rests of ``shared/norms.md``) and is driven by the live
analyser's events and the device clock:

``calibrate``  sit upright and still → the analyser's ``calibrated`` event
``calibrate_bend``  one gentle forward bend and back → the analyser's tilt went past
               :data:`BEND_MIN_DEG` and came back within :data:`BEND_BACK_DEG`; the still
               moment and the bend are the calibration step (it fixes which way is
               forward: ``completed`` carries its ``calibration_step_s`` window)
``position``   get into the exercise's posture (sit, lie on your back, all fours) →
               the analyser reports that posture and has a start position
``rep``        do one repetition on the given side, hold for the target, come back →
               the analyser's ``rep`` event for this exercise *and* side (a repetition
               to the other side, or another exercise, gets a note and does not count)
``rest``       rest in the start position → a countdown (a repetition started early
               ends the rest and counts for the next step)
``done``

Nothing advances on time alone except rests: a step that needs the person to do
something waits until the sensor has seen it. ``skip()`` moves on by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .. import schema
from ..routine import Routine
from .analyzer import LiveEvent
from .state import GuidedView

__all__ = ["GuidedRoutine", "GuidedStep", "build_steps", "hold_targets", "exercise_label",
           "POSITION_HOW_TO"]

#: The calibration bend counts once the trunk tilted this far (degrees, any direction)...
BEND_MIN_DEG = 10.0
#: ...and came back to within this of the still posture.
BEND_BACK_DEG = 4.0

POSITION_HOW_TO = {
    "upright": "Sit upright on a chair, feet on the floor.",
    "supine": "Lie on your back, legs straight.",
    "all_fours": "Get on all fours: hands under shoulders, knees under hips.",
}
_OTHER = {"left": "right", "right": "left"}


def exercise_label(exercise: str | None, side: str | None = None) -> str:
    """``Seated twist (left)``: :func:`tracker.schema.exercise_label`, capitalised."""
    text = schema.exercise_label(exercise, side)
    return text[:1].upper() + text[1:]


def _how_to(exercise: str, side: str | None) -> str:
    """What to do, in design.md's words. ``side`` is where the lower back turns."""
    if exercise == "chair_backbend":
        return ("Clasp your hands behind the chair back and bend your spine gently backward "
                "over it.")
    if exercise == "seated_twist":
        return (f"Turn your trunk to the {side}; hold the chair to deepen the twist gently.")
    if exercise == "trunk_rotation":
        # the bent leg goes across toward the side the pelvis turns to (design.md)
        leg = _OTHER.get(side or "", "")
        return (f"Bend your {leg} knee to about 90° and bring it across your straight leg "
                f"toward the {side}; pull it down gently.")
    if exercise == "cat_stretch":
        return "Arch your back up toward the ceiling, tuck your head in."
    return f"Do a {exercise} repetition."


@dataclass(frozen=True)
class GuidedStep:
    """One step of the routine (see the module docstring for the kinds)."""

    kind: str
    title: str
    instruction: str
    exercise: str | None = None
    side: str | None = None
    rep_no: int = 0
    reps: int = 0
    hold_s: float | None = None
    rest_s: float | None = None
    position: str | None = None
    switch_side: bool = False


def hold_targets(routine: Routine | None = None) -> dict[str, float]:
    """Hold target per exercise (the first block of each exercise in ``routine``)."""
    routine = routine or Routine.default()
    out: dict[str, float] = {}
    for spec in routine.exercises:
        for side in spec.sides:  # keyed by the name the analyser reports
            out.setdefault(spec.analysed_as(side), float(spec.hold_s))
    return out


def build_steps(routine: Routine | None = None, *, calibration_bend: bool = False) -> list[GuidedStep]:
    """The steps of ``routine`` (default: design.md's routine); ``calibration_bend`` adds
    the forward bend of the calibration step after the still moment."""
    routine = routine or Routine.default()
    steps = [GuidedStep("calibrate", "Calibration",
                        "Sit upright on a chair and keep still for a few seconds.",
                        position="upright")]
    if calibration_bend:
        steps.append(GuidedStep("calibrate_bend", "Calibration: one forward bend",
                                "Bend forward gently once (about 20°), come back up and keep still.",
                                position="upright"))
    position = "upright"
    for spec in routine.exercises:
        need = spec.design_posture  # where the routine does this block (any exercise, generic too)
        if need != position:
            steps.append(GuidedStep("position", f"Get ready: {exercise_label(spec.analysed_as(spec.sides[0]))}",
                                    POSITION_HOW_TO[need] + " Then keep still for a moment.",
                                    exercise=spec.analysed_as(spec.sides[0]), position=need))
            position = need
        sides = list(spec.sides)
        for k, side in enumerate(sides):
            exercise = spec.analysed_as(side)  # the name the analyser will report (design.md)
            for r in range(spec.reps_per_side):
                hold = f" Hold for {spec.hold_s:g} s, then come back slowly." if spec.hold_s > 0 \
                    else " Then come back slowly."
                switch = k > 0 and r == 0
                title = (f"{exercise_label(exercise, side)} — repetition {r + 1} of "
                         f"{spec.reps_per_side}")
                text = ("Now the other side. " if switch else "") + _how_to(exercise, side) + hold
                steps.append(GuidedStep("rep", title, text, exercise, side, r + 1,
                                        spec.reps_per_side, spec.hold_s or None, spec.rest_s,
                                        need, switch))
                last = k == len(sides) - 1 and r == spec.reps_per_side - 1
                if not last and spec.rest_s > 0:
                    steps.append(GuidedStep("rest", "Rest", "Rest in the start position and breathe.",
                                            exercise, side, rest_s=spec.rest_s, position=need))
    steps.append(GuidedStep("done", "Routine complete",
                            "Well done. Stand up slowly; the recording stops in a few seconds."))
    return steps


class GuidedRoutine:
    """Walk through :func:`build_steps` as the analyser sees the person do them.

    Call :meth:`update` with the analyser's events (in order) and its current state
    after every batch; read :meth:`view` for the screen. Times are device seconds.

    Parameters
    ----------
    routine : Routine, optional
        Default: design.md's routine.
    calibration_bend : bool
        Start with a calibration step: still, then one gentle forward bend (it tells the
        analysis which way is forward; ``tracker record --guided`` asks for it).
    """

    def __init__(self, routine: Routine | None = None, *, calibration_bend: bool = False) -> None:
        self.steps = build_steps(routine, calibration_bend=calibration_bend)
        self.index = 0
        self.note = ""
        self.messages: list[tuple[float, str]] = []  # (t_s, text): what changed, for logs
        self.completed: list[dict[str, object]] = []  # per finished step: what was seen
        self._step_t0: float | None = None
        self._hold_s: float | None = None
        self._in_rep = False
        self._hold_done = False
        self._t = 0.0
        self._cal_t0: float | None = None  # when the calibration (still moment) began
        self._bend_max = 0.0

    # ------------------------------------------------------------------ reading
    @property
    def step(self) -> GuidedStep:
        return self.steps[self.index]

    @property
    def done(self) -> bool:
        return self.step.kind == "done"

    def view(self) -> GuidedView:
        st = self.step
        countdown = None
        waiting = {"calibrate": "calibration", "calibrate_bend": "calibration",
                   "position": "position", "rest": "rest", "done": "done"}.get(st.kind, "repetition")
        instruction = st.instruction
        if st.kind == "rest" and self._step_t0 is not None and st.rest_s:
            countdown = max(0.0, st.rest_s - (self._t - self._step_t0))
        if st.kind == "rep":
            if self._in_rep and st.hold_s:
                held = self._hold_s or 0.0
                if held >= st.hold_s or self._hold_done:
                    waiting, instruction = "return", "Good — now come back slowly to the start position."
                elif self._hold_s is not None:
                    waiting, countdown = "hold", max(0.0, st.hold_s - held)
                    instruction = f"Hold it… {math.ceil(countdown - 1e-9)} s to go. Breathe, keep it gentle."
                else:
                    waiting = "hold"
                    instruction = f"Go gently into the stretch and hold it there for {st.hold_s:g} s."
            elif self._in_rep:
                waiting = "return"
        return GuidedView(self.index, len(self.steps), st.title, instruction, st.exercise, st.side,
                          st.hold_s, countdown, waiting, self.note, self.done)

    # ----------------------------------------------------------------- driving
    def skip(self, t_s: float) -> None:
        """Move on by hand (the person could not do this step, or it was not detected)."""
        if not self.done:
            self._advance(t_s, {"skipped": True})

    def update(self, t_s: float, events: Iterable[LiveEvent], *, calibrated: bool, posture: str,
               ready: bool, in_rep: bool, hold_s: float | None,
               tilt_deg: float | None = None) -> None:
        """Advance on what the analyser saw.

        Parameters
        ----------
        t_s : float
            Device time of the newest sample.
        events : iterable of LiveEvent
            The analyser's events since the last call, in order.
        calibrated : bool
        posture : str
            The analyser's current posture.
        ready : bool
            The analyser has a start position in this posture (angles are shown).
        in_rep, hold_s :
            The analyser's repetition in progress and its current hold.
        tilt_deg : float, optional
            The analyser's tilt from its calibration posture (the calibration bend).
        """
        self._t = t_s
        if self._step_t0 is None:
            self._step_t0 = t_s
        if self._cal_t0 is None:
            self._cal_t0 = t_s
        for ev in events:
            self._on_event(ev)
        st = self.step
        if st.kind == "calibrate" and calibrated:
            self._advance(t_s, {})
            st = self.step
        if st.kind == "calibrate_bend" and tilt_deg is not None:
            self._bend_max = max(self._bend_max, tilt_deg)
            if self._bend_max >= BEND_MIN_DEG and tilt_deg <= BEND_BACK_DEG:
                self._advance(t_s, {"calibration_step_s": (self._cal_t0, t_s),
                                    "bend_deg": round(self._bend_max, 1)})
                st = self.step
        if st.kind == "position" and calibrated and posture == st.position and ready:
            self._advance(t_s, {})
            st = self.step
        if st.kind == "rest" and st.rest_s is not None and self._step_t0 is not None \
                and t_s - self._step_t0 >= st.rest_s:
            self._advance(t_s, {})
            st = self.step
        if st.kind == "rep":
            self._in_rep = in_rep and self._in_rep
            if self._in_rep:
                self._hold_s = hold_s if hold_s is not None else self._hold_s
                if st.hold_s and (self._hold_s or 0.0) >= st.hold_s:
                    self._hold_done = True

    def _on_event(self, ev: LiveEvent) -> None:
        st = self.step
        self._t = max(self._t, ev.t_s)
        if ev.kind == "calibrated" and st.kind == "calibrate":
            self._advance(ev.t_s, {})
            return
        if ev.kind == "rep" and st.kind == "calibrate_bend":
            rep = ev.data["rep"]
            peak = abs(float(getattr(rep, "peak_deg", 0.0)))
            if getattr(rep, "plane", None) == "flexion" and peak >= BEND_MIN_DEG:
                # the bend itself, reported as a repetition in the same batch as its return
                self._advance(ev.t_s, {"calibration_step_s": (self._cal_t0, ev.t_s),
                                       "bend_deg": round(peak, 1)})
                return
            # a whole stretch and no calibration bend seen: the person went on
            self._advance(ev.t_s, {"skipped": True})
            st = self.step
        if ev.kind == "rep_start":
            if st.kind == "rest" and ev.data.get("exercise") == st.exercise:
                self._advance(ev.t_s, {"ended_early": True})  # the next repetition began
                st = self.step
            if st.kind == "rep" and self._matches(ev.data.get("exercise"), ev.data.get("side")):
                self._in_rep, self._hold_s, self._hold_done = True, None, False
            return
        if ev.kind == "rep_rejected" and st.kind == "rep":
            self._in_rep, self._hold_s = False, None
            return
        if ev.kind == "rep" and st.kind in ("rep", "rest"):
            rep = ev.data["rep"]
            if st.kind == "rest":
                if rep.exercise != st.exercise:
                    return
                self._advance(ev.t_s, {"ended_early": True})
                st = self.step
            if self._matches(rep.exercise, rep.side):
                held = rep.hold_s or 0.0
                info: dict[str, object] = {"peak_deg": round(rep.peak_deg, 1), "hold_s": round(held, 1)}
                if st.hold_s and held < st.hold_s - 0.5:
                    info["short_hold"] = True
                self._advance(ev.t_s, info)
                if info.get("short_hold"):
                    self.note = f"Last one held {held:.0f} of {st.hold_s:g} s."
            elif rep.exercise == st.exercise and st.side is not None:
                self.note = (f"That was to the {rep.side}: this repetition is to the {st.side}. "
                             "It was recorded but does not count for this step.")
            else:
                self.note = (f"That looked like a {exercise_label(rep.exercise).lower()}: "
                             f"this step is a {exercise_label(st.exercise).lower()}.")
            self._in_rep, self._hold_s = False, None

    def _matches(self, exercise: str | None, side: str | None) -> bool:
        st = self.step
        return exercise == st.exercise and (st.side is None or side == st.side)

    def _advance(self, t_s: float, info: dict[str, object]) -> None:
        st = self.step
        self.completed.append({"index": self.index, "kind": st.kind, "title": st.title,
                               "t_s": t_s, **info})
        self.index = min(self.index + 1, len(self.steps) - 1)
        self._step_t0 = t_s
        self._in_rep, self._hold_s, self._hold_done = False, None, False
        self.note = ""
        nxt = self.step
        self.messages.append((t_s, f"{nxt.title}: {nxt.instruction}"))
