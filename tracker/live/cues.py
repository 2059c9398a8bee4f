"""Moments worth a sound: hold start, the last seconds of a hold, hold end, a new step.

Both views render the same :class:`~tracker.live.state.LiveState` frames; a
:class:`CueTracker` per view compares each frame with the previous one and says what
just happened. The terminal view rings the bell at a hold's end; the browser view plays
a tone for each cue and speaks the step names. Pure: no sound, no I/O here.

Which hold counts: in a guided session the guide's own hold (the repetition it is
waiting for, against the step's target); otherwise the analyser's hold against the
exercise's usual target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .state import LiveState

__all__ = ["COUNTDOWN_FROM_S", "Cue", "CueTracker", "countdown", "hold_remaining_s"]

#: The countdown speaks (beeps) in the last this-many whole seconds of a hold.
COUNTDOWN_FROM_S = 3


@dataclass(frozen=True, kw_only=True)
class Cue:
    """Something that just happened.

    Attributes
    ----------
    kind : {"hold_start", "count", "hold_end", "step"}
        ``count`` is one tick of the countdown in the last seconds of a hold.
    seconds_left : int or None
        For ``count``: whole seconds left (3, 2, 1).
    say : str
        For ``step``: the step name, to be spoken.
    complete : bool
        For ``hold_end``: the hold reached its target (False: it ended early).
    """

    kind: str
    seconds_left: int | None = None
    say: str = ""
    complete: bool = True


def hold_remaining_s(state: LiveState) -> float | None:
    """Seconds left in the hold under way, or None when no timed hold is under way."""
    g = state.guided
    if g is not None:
        return g.countdown_s if g.waiting_for == "hold" else None
    if state.status != "recording" or state.phase != "holding" or not state.hold_target_s:
        return None
    if state.hold_s is None:
        return None
    return max(0.0, state.hold_target_s - state.hold_s)


def countdown(state: LiveState) -> tuple[str, float] | None:
    """What the big timer shows: ``("hold", s)`` or ``("rest", s)`` left, or None."""
    left = hold_remaining_s(state)
    if left is not None:
        return "hold", left
    g = state.guided
    if g is not None and g.waiting_for == "rest" and g.countdown_s is not None:
        return "rest", g.countdown_s
    return None


class CueTracker:
    """Feed every frame in order; get back the cues of that frame."""

    def __init__(self) -> None:
        self._left: float | None = None
        self._step: int | None = None

    def update(self, state: LiveState) -> list[Cue]:
        cues: list[Cue] = []
        g = state.guided
        if g is not None and g.index != self._step:
            if self._step is not None:  # not for the step shown when the view opens
                cues.append(Cue(kind="step", say=g.title))
            self._step = g.index
        left = hold_remaining_s(state)
        before = self._left
        if before is None and left is not None and left > 0:
            cues.append(Cue(kind="hold_start"))
        elif before is not None and before > 0:
            if left is None or left <= 0:
                done = left is not None or (g is not None and g.waiting_for == "return")
                cues.append(Cue(kind="hold_end", complete=done or before < 0.5))
            else:
                # a tick each time the whole seconds left drop to 3, 2, 1
                was, now = math.ceil(before), math.ceil(left)
                if now < was and now <= COUNTDOWN_FROM_S:
                    cues.append(Cue(kind="count", seconds_left=now))
        self._left = left if left is None or left > 0 else 0.0
        if left is None:
            self._left = None
        return cues
