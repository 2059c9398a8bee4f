"""Typed analysis results and their JSON / table forms (design.md contract).

The analysis functions return these; reports, exports, the store and the live view
consume them. ``SessionAnalysis.to_json`` produces exactly the JSON printed by
``tracker analyze --json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..quality import Quality

__all__ = ["Rep", "Spike", "Crack", "SessionAnalysis", "Summary", "ExerciseSummary",
           "AnglesAvailable", "OrientationSummary", "ANALYSIS_VERSION"]

#: Bumped whenever a change alters results; stored with every analysis.
#: 1.1.0: the summary is typed; its data quality uses the one gap definition.
ANALYSIS_VERSION = "1.1.0"


def _num(x: float | None, ndigits: int = 3) -> float | None:
    """JSON-safe rounded float (None for None/NaN/inf)."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), ndigits)


@dataclass(frozen=True, kw_only=True)
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
    plane: str = "flexion"  # schema.PLANES: the primary angle
    posture: str = "upright"  # schema.POSTURES: the posture it starts from

    def to_json(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise, "side": self.side, "plane": self.plane,
            "posture": self.posture, "start_s": _num(self.start_s), "hold_start_s": _num(self.hold_start_s),
            "hold_end_s": _num(self.hold_end_s), "end_s": _num(self.end_s),
            "hold_s": _num(self.hold_s), "peak_deg": _num(self.peak_deg, 2),
        }


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class Crack:
    """A spike judged a *possible* joint crack; ``rep`` indexes ``reps`` or is None."""

    t_s: float
    peak_m_s2: float
    score: float
    rep: int | None

    def to_json(self) -> dict[str, Any]:
        return {"t_s": _num(self.t_s), "peak_m_s2": _num(self.peak_m_s2, 2),
                "score": _num(self.score), "rep": self.rep}


@dataclass(frozen=True, kw_only=True)
class ExerciseSummary:
    """The repetitions of one exercise on one side (``"all"`` for unsided ones)."""

    n: int
    peak_deg_mean: float | None
    #: the largest magnitude, signed as the stretch goes (design.md signs)
    peak_deg_max: float | None
    n_with_hold: int
    hold_s_mean: float | None
    hold_s_max: float | None

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "peak_deg_mean": self.peak_deg_mean, "peak_deg_max": self.peak_deg_max,
                "n_with_hold": self.n_with_hold, "hold_s_mean": self.hold_s_mean,
                "hold_s_max": self.hold_s_max}


def exercise_summaries(reps: tuple[Rep, ...] | list[Rep]) -> dict[str, dict[str, ExerciseSummary]]:
    """``exercise -> side -> ExerciseSummary`` (side ``"all"`` for unsided exercises),
    in the order of :data:`tracker.schema.EXERCISES`."""
    per: dict[str, dict[str, ExerciseSummary]] = {}
    for ex in schema.EXERCISES:
        sides = schema.SIDES if ex in schema.SIDED_EXERCISES else ("all",)
        for side in sides:
            rs = [r for r in reps if r.exercise == ex and (r.side or "all") == side]
            if not rs:
                continue
            peaks = np.array([r.peak_deg for r in rs])
            holds = np.array([r.hold_s for r in rs if r.hold_s is not None])
            per.setdefault(ex, {})[side] = ExerciseSummary(
                n=len(rs),
                peak_deg_mean=_num(peaks.mean(), 2),
                peak_deg_max=_num(peaks[np.argmax(np.abs(peaks))], 2),
                n_with_hold=int(holds.size),
                hold_s_mean=_num(holds.mean()) if holds.size else None,
                hold_s_max=_num(holds.max()) if holds.size else None,
            )
    return per


@dataclass(frozen=True, kw_only=True)
class AnglesAvailable:
    """Which anatomical angles the sensor could measure (axial rotation needs a gyroscope)."""

    flexion: bool = True
    lateral_bend: bool = True
    axial_rotation: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"flexion": self.flexion, "lateral_bend": self.lateral_bend,
                "axial_rotation": self.axial_rotation}


@dataclass(frozen=True, kw_only=True)
class OrientationSummary:
    """How the orientation was estimated (``mode``: ``9d``, ``6d`` or ``gravity``)."""

    mode: str
    mag_disturbed_fraction: float | None
    samples_interpolated: int

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "mag_disturbed_fraction": self.mag_disturbed_fraction,
                "samples_interpolated": self.samples_interpolated}


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Counts and per-exercise figures of one analysed session.

    Attributes
    ----------
    n_reps, n_spikes, n_possible_cracks : int
    exercises : mapping
        ``exercise -> side -> ExerciseSummary`` (side ``"all"`` for unsided exercises).
    angles_available : AnglesAvailable
    orientation : OrientationSummary
    calibration : mapping
        The calibration, JSON-ready (:meth:`tracker.signal.calibration.Calibration.to_dict`:
        mounting, how it was found, confidence, warning, neutral period).
    reference : str
        What the angles are measured against.
    posture_s : mapping
        Seconds spent in each posture.
    data_quality : Quality
        Of the analysed samples (same type and names as the store's).
    notes : tuple of str
    crack_note : str
        The safety guidance that goes with every crack count.
    analysis_version : str
    """

    n_reps: int
    exercises: Mapping[str, Mapping[str, ExerciseSummary]]
    n_spikes: int
    n_possible_cracks: int
    angles_available: AnglesAvailable
    orientation: OrientationSummary
    calibration: Mapping[str, Any]
    reference: str
    posture_s: Mapping[str, float | None]
    data_quality: Quality
    notes: tuple[str, ...] = ()
    crack_note: str = schema.SAFETY_GUIDANCE
    analysis_version: str = ANALYSIS_VERSION

    @classmethod
    def of_events(cls, reps: tuple[Rep, ...] | list[Rep], spikes: tuple[Spike, ...] | list[Spike],
                  cracks: tuple[Crack, ...] | list[Crack], **fields: Any) -> "Summary":
        """The counts and per-exercise figures of these events; ``fields`` gives the rest
        (what is not given says "unknown": no orientation mode, empty calibration)."""
        base: dict[str, Any] = {
            "angles_available": AnglesAvailable(),
            "orientation": OrientationSummary(mode="unknown", mag_disturbed_fraction=None,
                                              samples_interpolated=0),
            "calibration": {}, "reference": "", "posture_s": {},
            "data_quality": Quality(samples=0, duration_s=0.0, nominal_rate_hz=None,
                                    achieved_rate_hz=None),
        }
        base.update(fields)
        return cls(n_reps=len(reps), exercises=exercise_summaries(reps), n_spikes=len(spikes),
                   n_possible_cracks=len(cracks), **base)

    def to_json(self) -> dict[str, Any]:
        """The ``summary`` object of design.md's JSON contract."""
        return {
            "n_reps": self.n_reps,
            "exercises": {ex: {side: e.to_json() for side, e in per.items()}
                          for ex, per in self.exercises.items()},
            "n_spikes": self.n_spikes,
            "n_possible_cracks": self.n_possible_cracks,
            "angles_available": self.angles_available.to_json(),
            "orientation": self.orientation.to_json(),
            "calibration": dict(self.calibration),
            "reference": self.reference,
            "posture_s": dict(self.posture_s),
            "data_quality": self.data_quality.to_json(),
            "notes": list(self.notes),
            "crack_note": self.crack_note,
            "analysis_version": self.analysis_version,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Summary":
        return cls(
            n_reps=int(d["n_reps"]),
            exercises={ex: {side: ExerciseSummary(**e) for side, e in per.items()}
                       for ex, per in d["exercises"].items()},
            n_spikes=int(d["n_spikes"]), n_possible_cracks=int(d["n_possible_cracks"]),
            angles_available=AnglesAvailable(**d["angles_available"]),
            orientation=OrientationSummary(**d["orientation"]),
            calibration=dict(d["calibration"]), reference=str(d["reference"]),
            posture_s=dict(d["posture_s"]), data_quality=Quality.from_json(d["data_quality"]),
            notes=tuple(d["notes"]), crack_note=str(d["crack_note"]),
            analysis_version=str(d["analysis_version"]),
        )


@dataclass(frozen=True, kw_only=True, eq=False)
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
    summary : Summary
        Counts and per-exercise figures.
    sample_rate_hz : float
    duration_s : float
    analysis_version : str
    """

    signals: pd.DataFrame
    reps: tuple[Rep, ...]
    spikes: tuple[Spike, ...]
    cracks: tuple[Crack, ...]
    summary: Summary
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
            "summary": self.summary.to_json(),
        }

    def events_json(self) -> dict[str, Any]:
        """What the store keeps (everything but the per-sample signals)."""
        return {
            "analysis_version": self.analysis_version,
            "sample_rate_hz": self.sample_rate_hz, "duration_s": self.duration_s,
            "reps": [asdict(r) for r in self.reps], "spikes": [asdict(s) for s in self.spikes],
            "cracks": [asdict(c) for c in self.cracks], "summary": self.summary.to_json(),
            "params": self.params,
        }

    @classmethod
    def from_events_json(cls, d: dict[str, Any], signals: pd.DataFrame | None = None) -> "SessionAnalysis":
        """Rebuild from :meth:`events_json` (signals are recomputed or left empty)."""
        return cls(
            signals=signals if signals is not None else _EMPTY_SIGNALS,
            reps=tuple(Rep(**r) for r in d["reps"]), spikes=tuple(Spike(**s) for s in d["spikes"]),
            cracks=tuple(Crack(**c) for c in d["cracks"]), summary=Summary.from_json(d["summary"]),
            sample_rate_hz=d["sample_rate_hz"], duration_s=d["duration_s"],
            analysis_version=d["analysis_version"], params=d.get("params", {}),
        )

    # ------------------------------------------------------------- tables
    def angles_frame(self, with_quaternion: bool = True) -> pd.DataFrame:
        cols = (list(schema.ANGLE_COLUMNS) + (list(schema.QUAT_COLUMNS) if with_quaternion else [])
                + [schema.REFERENCE_COLUMN])
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
