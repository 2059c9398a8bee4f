"""One :class:`~tracker.live.state.LiveState` as the JSON the page renders.

Pure and one-way: the live session produces the state, this turns it into plain data
(with the words and ranges the terminal view uses, so both views say the same), the
page only draws it. NaN (an angle that is not observable) becomes ``null``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..live.cues import Cue, countdown
from ..live.guided import exercise_label
from ..live.state import ANGLE_LABELS, LiveState
from ..live.view import GAUGE_RANGE_DEG, PHASE_TEXT
from ..schema import SAFETY_GUIDANCE

__all__ = ["frame_of", "pain_question"]


def _num(value: float | None, ndigits: int = 2) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), ndigits)


def _clock(t_s: float | None) -> str:
    if t_s is None or not math.isfinite(t_s):
        return "–:––"
    m, s = divmod(int(max(0.0, t_s)), 60)
    return f"{m}:{s:02d}"


def pain_question(state: LiveState) -> str | None:
    """Which pain question the page asks now: ``before``, ``after`` or None.

    Before: until the first repetition, when it was not answered at the terminal.
    After: once the guided routine is complete or the session has ended (the page can
    also ask it when the person ends the session from the page).
    """
    pain = state.pain
    if pain.get("after") is not None:
        return None
    ended = state.status != "recording" or (state.guided is not None and state.guided.done)
    if ended:
        return "after"
    if pain.get("before") is None and state.total_reps == 0:
        return "before"
    return None


def _phase_text(state: LiveState) -> str:
    if state.status != "recording":
        return f"session {state.status}"
    if not state.calibrated:
        return PHASE_TEXT["calibrating"]
    if state.angles_deg is None:
        return "hold still to set the start position"
    if state.phase != "ready" and state.exercise is None:
        return "moving — not one of the stretches"
    return PHASE_TEXT.get(state.phase, state.phase)


def frame_of(state: LiveState, *, cues: Iterable[tuple[int, Cue]] = (),
             messages: Iterable[tuple[float | None, str, str]] = (), sound: bool = True) -> dict[str, Any]:
    """The page's data for one frame.

    Parameters
    ----------
    state : LiveState
    cues : list of (seq, Cue)
        Recent cues with their sequence numbers (the page plays each new one once).
    messages : list of (t_s, level, text)
        Recent lines of what happened, oldest first.
    sound : bool
        Whether the page starts with sound on (``--quiet`` turns it off).
    """
    link = state.link
    angles = []
    marker = state.usual_marker_deg
    for col, label, signs in ANGLE_LABELS:
        v = None if state.angles_deg is None else state.angles_deg.get(col)
        primary = col == state.primary
        usual = marker if primary else None
        angles.append({
            "key": col, "label": label, "signs": signs, "value_deg": _num(v, 1),
            "half_range_deg": GAUGE_RANGE_DEG[col], "primary": primary,
            "usual_deg": _num(usual, 1),
            "beyond": bool(usual is not None and v is not None and math.isfinite(v) and abs(v) > abs(usual)),
        })
    timer = countdown(state)
    g = state.guided
    step = None
    if g is not None:
        step = {"index": g.index, "number": g.index + 1, "total": g.total, "title": g.title,
                "instruction": g.instruction, "waiting_for": g.waiting_for, "note": g.note,
                "done": g.done, "hold_target_s": _num(g.hold_target_s, 1)}
    hold = None
    if state.status == "recording" and state.exercise is not None and \
            (state.hold_s is not None or state.phase == "holding"):
        hold = {"s": _num(state.hold_s or 0.0, 1), "target_s": _num(state.hold_target_s, 1)}
    return {
        "t_s": _num(state.t_s, 2), "clock": _clock(state.t_s), "status": state.status,
        "recording": state.status == "recording", "session_id": state.session_id,
        "link": {"state": link.state, "device": link.device, "rate_hz": _num(link.achieved_rate_hz, 1),
                 "nominal_rate_hz": _num(link.nominal_rate_hz, 1), "dropped": link.dropped,
                 "reconnects": link.reconnects},
        "calibrated": state.calibrated, "posture": state.posture, "phase": state.phase,
        "phase_text": _phase_text(state),
        "exercise": state.exercise, "side": state.side,
        "exercise_label": exercise_label(state.exercise, state.side) if state.exercise else None,
        "angles": angles,
        "reps": {"total": state.total_reps,
                 "items": [{"label": exercise_label(e, s), "count": n} for (e, s), n in state.rep_counts]},
        "hold": hold, "peak_deg": _num(state.peak_deg, 1), "usual_peak_deg": _num(state.usual_peak_deg, 1),
        "countdown": None if timer is None else {"kind": timer[0], "s": _num(timer[1], 2)},
        "step": step,
        "cracks": state.cracks, "crack_limits": state.crack_limits,
        "alerts": [{"kind": a.kind, "level": a.level, "message": a.message} for a in state.alerts],
        "guidance": state.guidance,
        "safety": SAFETY_GUIDANCE,
        "pain": {k: state.pain.get(k) for k in ("before", "during", "after")},
        "ask": pain_question(state),
        "cues": [{"seq": seq, "kind": c.kind, "seconds_left": c.seconds_left, "say": c.say,
                  "complete": c.complete} for seq, c in cues],
        "messages": [{"clock": _clock(t), "level": lvl, "text": text} for t, lvl, text in messages],
        "sound": sound,
    }
