"""What the live view shows: one immutable snapshot per frame.

:class:`LiveState` is pure data. The live session (:mod:`tracker.live.session`) builds
one from the link, the causal analyser and the guided routine; the renderers
(:mod:`tracker.live.view`) only read it. Tests assert on it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANGLE_LABELS", "Alert", "GuidedView", "LinkInfo", "LiveState"]

#: Gauge labels of the three anatomical angles, in design.md order and signs.
ANGLE_LABELS = (
    ("flexion_deg", "flexion", "+ forward / − back"),
    ("lateral_bend_deg", "lateral bend", "+ right / − left"),
    ("axial_rotation_deg", "axial rotation", "+ left / − right"),
)


@dataclass(frozen=True)
class Alert:
    """Something the person should notice now.

    Attributes
    ----------
    kind : str
        ``possible_crack``, ``fast``, ``jerky``, ``beyond_range``, ``pain``, ``link``.
    t_s : float or None
        Session time it refers to (device clock).
    message : str
        One line for the person.
    level : {"info", "warning", "stop"}
        ``stop`` comes with the safety guidance.
    """

    kind: str
    t_s: float | None
    message: str
    level: str = "warning"


@dataclass(frozen=True)
class LinkInfo:
    """Connection and signal quality.

    Attributes
    ----------
    state : str
        Link state (:class:`tracker.ble.client.LinkState` values: ``connecting``,
        ``streaming``, ``disconnected``, ``reconnecting``...).
    device : str
    nominal_rate_hz : float or None
    achieved_rate_hz : float or None
        Samples per second over the last few seconds of device time.
    samples : int
    dropped : int
        Samples the device produced but the host never got (gaps).
    reconnects : int
    """

    state: str = "connecting"
    device: str = ""
    nominal_rate_hz: float | None = None
    achieved_rate_hz: float | None = None
    samples: int = 0
    dropped: int = 0
    reconnects: int = 0


@dataclass(frozen=True)
class GuidedView:
    """The current step of the guided routine.

    Attributes
    ----------
    index, total : int
        Step number (0-based) and number of steps.
    title : str
        Short name (``Seated twist — left, repetition 1 of 2``).
    instruction : str
        What to do now.
    exercise, side : str or None
    hold_target_s : float or None
    countdown_s : float or None
        Time left in a timed part (hold, rest), None otherwise.
    waiting_for : str
        What the tracker is waiting to see (``calibration``, ``posture``, ``repetition``,
        ``hold``, ``return``, ``rest``, ``done``).
    note : str
        Feedback on what was detected (``that was to the right``).
    done : bool
    """

    index: int
    total: int
    title: str
    instruction: str
    exercise: str | None = None
    side: str | None = None
    hold_target_s: float | None = None
    countdown_s: float | None = None
    waiting_for: str = ""
    note: str = ""
    done: bool = False


@dataclass(frozen=True)
class LiveState:
    """One frame of the live view.

    Attributes
    ----------
    t_s : float or None
        Device time of the newest sample (None before any data).
    link : LinkInfo
    calibrated : bool
        False while waiting for the neutral still posture.
    posture : str
        ``upright``, ``supine``, ``all_fours`` or ``other``.
    angles_deg : dict or None
        ``flexion_deg``, ``lateral_bend_deg``, ``axial_rotation_deg`` of the newest
        sample relative to the current reference posture (NaN = not observable).
    primary : str or None
        Column of the angle that matters for the current exercise.
    phase : str
        ``calibrating``, ``ready``, ``moving``, ``holding``, ``returning``.
    exercise, side : str or None
        Current (or last) exercise and side.
    rep_counts : tuple of ((exercise, side), count)
    hold_s : float or None
        Time held so far in the current repetition.
    hold_target_s : float or None
    peak_deg : float or None
        Largest primary angle so far in the current repetition (signed).
    usual_peak_deg : float or None
        The person's usual peak for this exercise and side (previous sessions).
    cracks : int
        Possible cracks so far.
    crack_limits : str
        What crack detection sees at this stream's rate ("" before the analysis starts):
        :func:`tracker.signal.spikes.detection_limits`, so "no possible cracks" is not read
        as "no pops".
    alerts : tuple of Alert
        Newest first.
    guided : GuidedView or None
    guidance : str or None
        The stop-and-see-a-doctor text when pain was reported.
    pain : dict
        ``before``, ``during``, ``after`` scores given so far.
    status : str
        ``recording``, ``complete``, ``interrupted``.
    session_id : str or None
    """

    t_s: float | None = None
    link: LinkInfo = field(default_factory=LinkInfo)
    calibrated: bool = False
    posture: str = "other"
    angles_deg: dict[str, float] | None = None
    primary: str | None = None
    phase: str = "calibrating"
    exercise: str | None = None
    side: str | None = None
    rep_counts: tuple[tuple[tuple[str, str | None], int], ...] = ()
    hold_s: float | None = None
    hold_target_s: float | None = None
    peak_deg: float | None = None
    usual_peak_deg: float | None = None
    cracks: int = 0
    crack_limits: str = ""
    alerts: tuple[Alert, ...] = ()
    guided: GuidedView | None = None
    guidance: str | None = None
    pain: dict[str, Any] = field(default_factory=dict)
    status: str = "recording"
    session_id: str | None = None

    @property
    def usual_marker_deg(self) -> float | None:
        """Where the usual peak sits on the primary angle's gauge (signed like this repetition)."""
        if self.usual_peak_deg is None or self.primary is None:
            return None
        v = None if self.angles_deg is None else self.angles_deg.get(self.primary)
        sign = 1.0 if (self.peak_deg or v or 0.0) >= 0 else -1.0
        return sign * abs(self.usual_peak_deg)

    @property
    def total_reps(self) -> int:
        return sum(n for _, n in self.rep_counts)

    def reps_of(self, exercise: str, side: str | None = None) -> int:
        """Repetitions counted for one exercise (and side, when given)."""
        return sum(n for (ex, sd), n in self.rep_counts if ex == exercise and (side is None or sd == side))
