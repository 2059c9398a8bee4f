"""Plain data about stored sessions: what the store hands out and reports/exports take.

No database code and no analysis code here: the store builds :class:`SessionInfo` and
:class:`Event` rows; :class:`StoredSession` bundles one session's data (gathered by
:mod:`tracker.sessions`) for the reports and exports, which never see the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .quality import Quality
from .recording import Recording, RecordingMeta

if TYPE_CHECKING:  # analysis results are data for this layer; no runtime import
    from .signal.result import SessionAnalysis

__all__ = ["Event", "SessionInfo", "StoredSession", "gap_spans"]


@dataclass(frozen=True)
class Event:
    """A timestamped event of a session (``t_s`` on the session time base)."""

    kind: str
    t_s: float | None
    data: dict[str, Any]


@dataclass(frozen=True)
class SessionInfo:
    """One row of ``tracker sessions``."""

    id: str
    started_at: datetime
    device: str
    profile: str
    nominal_rate_hz: float | None
    placement: str
    notes: str
    status: str
    n_samples: int
    duration_s: float
    has_mag: bool

    @property
    def meta(self) -> RecordingMeta:
        return RecordingMeta(self.device, self.profile, self.nominal_rate_hz, self.started_at, self.placement)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "started_at": self.started_at.isoformat(), "device": self.device,
            "profile": self.profile, "nominal_rate_hz": self.nominal_rate_hz,
            "placement": self.placement, "notes": self.notes, "status": self.status,
            "n_samples": self.n_samples, "duration_s": round(self.duration_s, 3),
        }


def gap_spans(events: list[Event]) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of ``gap`` events (``t_s`` + duration or end in the data)."""
    spans = []
    for ev in events:
        if ev.kind != "gap" or ev.t_s is None:
            continue
        d = ev.data or {}
        end = d.get("end_s", d.get("t_end_s"))
        if end is None:
            dur = d.get("duration_s", d.get("gap_s"))
            end = None if dur is None else ev.t_s + float(dur)
        if end is not None and float(end) > ev.t_s:
            spans.append((float(ev.t_s), float(end)))
    return spans


@dataclass(frozen=True, kw_only=True, eq=False)
class StoredSession:
    """One stored session as reports and exports see it.

    Attributes
    ----------
    info : SessionInfo
    quality : Quality
    self_report : dict
        ``pain_before``, ``pain_after`` (0–10 or None) and ``notes``.
    analysis : SessionAnalysis or None
        The stored analysis (events and summary; its ``signals`` may be empty), or None
        when the session was never analysed with the current version.
    gaps : tuple of (start_s, end_s)
        Gaps the recorder logged (``gap`` events).
    reconnects : int
        ``reconnect`` events.
    recording : Recording or None
        The samples, when the consumer needs them (the raw export).
    """

    info: SessionInfo
    quality: Quality
    self_report: dict[str, Any] = field(default_factory=dict)
    analysis: SessionAnalysis | None = None
    gaps: tuple[tuple[float, float], ...] = ()
    reconnects: int = 0
    recording: Recording | None = None

    @property
    def id(self) -> str:
        return self.info.id
