"""Typed analysis results and their JSON / table forms (design.md contract).

The analysis functions return these; reports, exports, the store and the live view
consume them. ``SessionAnalysis.to_json`` produces exactly the JSON printed by
``tracker analyze --json``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from .. import schema

__all__ = ["Rep", "Spike", "Crack", "SessionAnalysis", "ANALYSIS_VERSION"]

#: Bumped whenever a change alters results; stored with every analysis.
ANALYSIS_VERSION = "1.0.0"


def _num(x: float | None, ndigits: int = 3) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), ndigits)


@dataclass(frozen=True)
class Rep:
    """One repetition: leave the start posture, reach a peak, (hold), return.

    ``hold_*`` are None when the repetition had no hold. ``peak_deg`` is the signed
    primary angle (design.md signs) at ``peak_s``.
    """

    exercise: str
    side: str | None
    start_s: float
    hold_start_s: float | None
    hold_end_s: float | None
    end_s: float
    hold_s: float | None
    peak_deg: float
    peak_s: float = float("nan")
    confidence: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise, "side": self.side,
            "start_s": _num(self.start_s), "hold_start_s": _num(self.hold_start_s),
            "hold_end_s": _num(self.hold_end_s), "end_s": _num(self.end_s),
            "hold_s": _num(self.hold_s), "peak_deg": _num(self.peak_deg, 2),
        }


@dataclass(frozen=True)
class Spike:
    """A short acceleration impulse (knock, tap, footstep, possible crack...)."""

    t_s: float
    peak_m_s2: float
    possible_crack: bool
    crack_score: float
    kind: str = "unknown"  # best guess: "possible_crack", "tap", "footstep", "vibration", ...

    def to_json(self) -> dict[str, Any]:
        return {"t_s": _num(self.t_s), "peak_m_s2": _num(self.peak_m_s2, 2),
                "possible_crack": bool(self.possible_crack), "crack_score": _num(self.crack_score)}


@dataclass(frozen=True)
class Crack:
    """A spike judged a *possible* joint crack; ``rep`` indexes ``reps`` or is None."""

    t_s: float
    peak_m_s2: float
    score: float
    rep: int | None

    def to_json(self) -> dict[str, Any]:
        return {"t_s": _num(self.t_s), "peak_m_s2": _num(self.peak_m_s2, 2),
                "score": _num(self.score), "rep": self.rep}


@dataclass(frozen=True, eq=False)
class SessionAnalysis:
    """Everything the analysis found in one session.

    Attributes
    ----------
    signals : DataFrame
        One row per input sample: ``t_s``, ``flexion_deg``, ``lateral_bend_deg``,
        ``axial_rotation_deg``, ``q_w..q_z`` (sensor orientation, ENU world, scalar
        first), ``rest`` (bool) and ``acc_norm_m_s2``; more columns may follow.
    reps, spikes, cracks : tuple
        Events, in time order.
    summary : dict
        Counts and per-exercise figures (JSON-serialisable).
    sample_rate_hz : float
    duration_s : float
    analysis_version : str
    """

    signals: pd.DataFrame
    reps: tuple[Rep, ...]
    spikes: tuple[Spike, ...]
    cracks: tuple[Crack, ...]
    summary: dict[str, Any]
    sample_rate_hz: float
    duration_s: float
    analysis_version: str = ANALYSIS_VERSION
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self, session_id: str | None = None) -> dict[str, Any]:
        """The design.md JSON contract of ``tracker analyze --json``."""
        return {
            "session": {"id": session_id, "duration_s": _num(self.duration_s),
                        "sample_rate_hz": _num(self.sample_rate_hz, 2)},
            "reps": [r.to_json() for r in self.reps],
            "spikes": [s.to_json() for s in self.spikes],
            "cracks": [c.to_json() for c in self.cracks],
            "summary": self.summary,
        }

    def events_json(self) -> dict[str, Any]:
        """What the store keeps (everything but the per-sample signals)."""
        return {
            "analysis_version": self.analysis_version,
            "sample_rate_hz": self.sample_rate_hz, "duration_s": self.duration_s,
            "reps": [asdict(r) for r in self.reps], "spikes": [asdict(s) for s in self.spikes],
            "cracks": [asdict(c) for c in self.cracks], "summary": self.summary,
            "params": self.params,
        }

    @classmethod
    def from_events_json(cls, d: dict[str, Any], signals: pd.DataFrame | None = None) -> "SessionAnalysis":
        """Rebuild from :meth:`events_json` (signals are recomputed or left empty)."""
        return cls(
            signals=signals if signals is not None else _EMPTY_SIGNALS,
            reps=tuple(Rep(**r) for r in d["reps"]), spikes=tuple(Spike(**s) for s in d["spikes"]),
            cracks=tuple(Crack(**c) for c in d["cracks"]), summary=d["summary"],
            sample_rate_hz=d["sample_rate_hz"], duration_s=d["duration_s"],
            analysis_version=d["analysis_version"], params=d.get("params", {}),
        )

    # ------------------------------------------------------------- tables
    def angles_frame(self, with_quaternion: bool = True) -> pd.DataFrame:
        cols = list(schema.ANGLE_COLUMNS) + (list(schema.QUAT_COLUMNS) if with_quaternion else [])
        return self.signals[[c for c in cols if c in self.signals.columns]].copy()

    def reps_frame(self) -> pd.DataFrame:
        rows = [{k: getattr(r, k) for k in schema.REP_COLUMNS} for r in self.reps]
        return pd.DataFrame(rows, columns=list(schema.REP_COLUMNS))

    def cracks_frame(self) -> pd.DataFrame:
        rows = [{k: getattr(c, k) for k in schema.CRACK_COLUMNS} for c in self.cracks]
        frame = pd.DataFrame(rows, columns=list(schema.CRACK_COLUMNS))
        frame["rep"] = frame["rep"].astype("Int64")
        return frame

    def spikes_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(s) for s in self.spikes],
                            columns=["t_s", "peak_m_s2", "possible_crack", "crack_score", "kind"])


#: Shared stand-in for signals that were not stored (built once: it is costly per call).
_EMPTY_SIGNALS = pd.DataFrame(columns=list(schema.ANGLE_COLUMNS))
