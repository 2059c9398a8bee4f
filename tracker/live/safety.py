"""Safety around a live session: pain scores, when to stop, the person's usual range.

Design.md: stretches are done gently and slowly; the person stops on pain; constant,
severe or injury-like pain, or a change in range of movement, is a reason to see a
doctor. The tracker records self-reported pain (0–10), warns on jerky or fast motion
and on going well past the person's usual range, and never claims a diagnosis.

* Pain is the 0–10 numeric rating scale. 7 or more is "severe" on that scale, so a score
  of :data:`PAIN_STOP_AT` or more before or after, an increase of
  :data:`PAIN_RISE_STOP` or more over the session, or any pain reported *during* the
  session shows :func:`stop_guidance` (which contains :data:`tracker.schema.SAFETY_GUIDANCE`).
* The usual range is what the person reached before: per exercise and side, the 90th
  percentile of |peak| of the repetitions of their last sessions (stored analyses, else
  the repetitions the live view counted), once there are at least
  :data:`MIN_USUAL_REPS` of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..errors import StoreError, ValidationError
from ..schema import SAFETY_GUIDANCE
from ..sessions import load_analysis

__all__ = [
    "PAIN_STOP_AT", "PAIN_RISE_STOP", "MIN_USUAL_REPS", "parse_pain", "ask_pain",
    "pain_needs_stop", "stop_guidance", "usual_peaks", "usual_peaks_from_store",
    "WARNING_TEXT", "warning_message",
]

PAIN_STOP_AT = 7
"""Pain (0–10) from which the stop-and-see-a-doctor guidance is shown."""
PAIN_RISE_STOP = 3
"""A rise of this much from before to after the session also shows it."""
MIN_USUAL_REPS = 3
"""Repetitions of one exercise and side needed before a usual range is assumed."""

WARNING_TEXT = {
    "fast": "That was fast ({value:.0f} °/s). Stretch slowly, 10–40 °/s is plenty.",
    "jerky": "Jerky movement: move smoothly, don't bounce into the stretch.",
    "beyond_range": ("You are well past your usual range ({value:.0f}° vs usually {usual:.0f}°). "
                     "Ease off; go further only gradually and without pain."),
}


def warning_message(kind: str, data: dict[str, Any]) -> str:
    """One line for a ``warning`` event of the live analyser."""
    template = WARNING_TEXT.get(kind)
    if template is None:
        return kind
    try:
        return template.format(**data)
    except (KeyError, ValueError):
        return template.split("(")[0].strip()


def parse_pain(text: str | int | None) -> int | None:
    """A pain score 0–10 from what the person typed; empty means skipped (None).

    Raises
    ------
    ValidationError
        Not a whole number from 0 to 10.
    """
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        s = str(text).strip()
        if s == "" or s.lower() in ("s", "skip", "-"):
            return None
        try:
            value = int(s)
        except ValueError:
            raise ValidationError(f"pain must be a whole number from 0 to 10, got {s!r}") from None
    if not 0 <= value <= 10:
        raise ValidationError(f"pain must be from 0 (none) to 10 (worst imaginable), got {value}")
    return value


def ask_pain(when: str, prompt: Callable[[str], str], echo: Callable[[str], None] = print,
             attempts: int = 3) -> int | None:
    """Ask for a pain score (``when``: ``before`` / ``after``); Enter skips.

    ``prompt`` returns what the person typed (``click.prompt`` with a default of ``""``,
    or ``input``). A wrong answer is explained and asked again, at most ``attempts`` times.
    """
    question = (f"Pain {'right now, before the session' if when == 'before' else 'now, after the session'}"
                " — 0 (none) to 10 (worst imaginable), Enter to skip")
    for _ in range(attempts):
        try:
            answer = prompt(question)
        except EOFError:
            return None
        try:
            return parse_pain(answer)
        except ValidationError as exc:
            echo(f"  {exc}")
    return None


def pain_needs_stop(before: int | None = None, after: int | None = None,
                    during: bool = False) -> bool:
    """Whether the stop-and-see-a-doctor guidance applies (see the module docstring)."""
    if during:
        return True
    if before is not None and before >= PAIN_STOP_AT:
        return True
    if after is not None and after >= PAIN_STOP_AT:
        return True
    return before is not None and after is not None and after - before >= PAIN_RISE_STOP


def stop_guidance(before: int | None = None, after: int | None = None, during: bool = False) -> str:
    """The text shown when :func:`pain_needs_stop` is true."""
    what = []
    if during:
        what.append("you reported pain during the session")
    if before is not None and before >= PAIN_STOP_AT:
        what.append(f"pain {before}/10 before the session")
    if after is not None and after >= PAIN_STOP_AT:
        what.append(f"pain {after}/10 after the session")
    if before is not None and after is not None and after - before >= PAIN_RISE_STOP:
        what.append(f"pain rose from {before} to {after}")
    head = "Stop stretching for now" + (f" ({'; '.join(what)})" if what else "") + ". "
    return head + SAFETY_GUIDANCE  # which says when to see a doctor


# --------------------------------------------------------------- usual range
def usual_peaks(reps: Iterable[Any], *, min_reps: int = MIN_USUAL_REPS,
                percentile: float = 90.0) -> dict[tuple[str, str | None], float]:
    """Usual |peak| (degrees) per ``(exercise, side)`` from earlier repetitions.

    Parameters
    ----------
    reps : iterable
        Objects or dicts with ``exercise``, ``side`` and ``peak_deg``.
    min_reps : int
        Fewer repetitions of one exercise and side give no usual range.
    percentile : float
        Which percentile of |peak| is "usual" (90: a rare deep one does not raise it much).
    """
    by_key: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for r in reps:
        get = r.get if isinstance(r, dict) else (lambda k, _r=r: getattr(_r, k, None))
        ex, side, peak = get("exercise"), get("side"), get("peak_deg")
        if ex is None or peak is None or not np.isfinite(peak):
            continue
        by_key[(str(ex), side)].append(abs(float(peak)))
    return {k: float(np.percentile(v, percentile)) for k, v in by_key.items() if len(v) >= min_reps}


def usual_peaks_from_store(store: Any, *, exclude: str | None = None, last_sessions: int = 10,
                           min_reps: int = MIN_USUAL_REPS) -> dict[tuple[str, str | None], float]:
    """:func:`usual_peaks` over the person's last ``last_sessions`` sessions in ``store``.

    A session's repetitions come from its stored analysis, else from the ``live_rep``
    events the live view stored while recording it. Sessions without either are skipped.
    """
    reps: list[Any] = []
    try:
        sessions = sorted(store.sessions(), key=lambda s: s.started_at, reverse=True)
    except StoreError:
        return {}
    used = 0
    # sessions without repetitions (aborted, never analysed) don't count, but the scan
    # is bounded so a long history costs at most a few dozen small queries
    for info in sessions[: 3 * last_sessions + 1]:
        if info.id == exclude:
            continue
        found: list[Any] = []
        try:
            analysis = load_analysis(store, info.id)
            if analysis is not None:
                found = list(analysis.reps)
            else:
                found = [e.data for e in store.events(info.id, "live_rep")]
        except (StoreError, ValidationError, KeyError, TypeError):
            continue
        if found:
            reps.extend(found)
            used += 1
            if used >= last_sessions:
                break
    return usual_peaks(reps, min_reps=min_reps)
