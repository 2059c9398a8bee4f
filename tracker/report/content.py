"""What a report contains, independent of its output format (HTML or PDF)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from matplotlib.figure import Figure

from .. import schema
from ..signal.spikes import detection_note
from .norms import CITATIONS, LUMBOPELVIC_NOTE
from .tables import Table

__all__ = ["Report", "SessionDetail", "SAFETY_PARAGRAPHS", "ABOUT_PARAGRAPHS"]

#: Safety guidance shown near the top of every report (design.md "Safety").
SAFETY_PARAGRAPHS = (
    schema.SAFETY_GUIDANCE,
    "Rare adverse effects of spinal manipulation include soreness, worsened symptoms, torn "
    "muscles, pinched nerves and ligament damage.",
    "This report describes movement measured by one sensor. It is not a diagnosis or medical advice.",
)

ABOUT_PARAGRAPHS = (
    LUMBOPELVIC_NOTE,
    "Angles are measured from the posture each repetition starts in (sitting, lying or on all "
    "fours). Flexion is positive forward and negative backward; axial rotation is positive to "
    "the left; lateral bend is positive to the right.",
    "A joint 'crack' (cavitation) lasts about 5 ms; a 50–400 Hz motion sensor sees at most a "
    "short acceleration spike. Spikes that look like a crack are shown as 'possible cracks'; "
    "taps, footsteps, knocks and vibration are rejected where the data allow, but some may "
    "remain. A joint that has cracked cannot crack again for about 20 minutes.",
    detection_note(),
)


@dataclass(frozen=True, eq=False)
class SessionDetail:
    """One session shown in full: its figure, repetitions and self-report."""

    session_id: str
    started_at: datetime
    figure: Figure
    reps: Table
    self_report: dict[str, Any]
    notes: str = ""


@dataclass(frozen=True, eq=False)
class Report:
    """A report ready to render.

    Attributes
    ----------
    title, subtitle : str
    generated_at : datetime
    overview, sessions, quality : Table
    attention : list of str
        Sentences about things worth a look (pain up, range changes).
    progress : Figure or None
        None for a single-session report; ``progress_note`` then says why.
    details : list of SessionDetail
    references : list of str
    """

    title: str
    subtitle: str
    generated_at: datetime
    overview: Table
    sessions: Table
    quality: Table
    attention: list[str]
    progress: Figure | None
    progress_note: str
    details: list[SessionDetail]
    references: list[str] = field(default_factory=lambda: list(CITATIONS.values()))
    safety: tuple[str, ...] = SAFETY_PARAGRAPHS
    about: tuple[str, ...] = ABOUT_PARAGRAPHS
    version: str = ""
