"""Per-session summary tables built from stored analysis results.

Two frames feed the progress figure and the report tables:

``exercise summaries`` (:func:`summarise_analysis`, :func:`collect`)
    One row per session × exercise × side: :data:`SUMMARY_COLUMNS`.
``session table`` (:func:`collect`)
    One row per session: :data:`SESSION_COLUMNS` (pain, counts, data quality).

Peak angles appear here as magnitudes (``peak_abs_deg_*``): how far the person went in
the direction of the stretch, which is what a progress chart compares. The signed
values stay in the analysis and its exports.

Nothing here re-reads samples: the stored analysis events, self-reports, quality and
events (:class:`tracker.records.StoredSession`) are enough, so a table over hundreds of
sessions takes well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import schema
from ..quality import Quality
from ..signal.result import SessionAnalysis

if TYPE_CHECKING:  # reports take the sessions' data, never the store
    from ..records import SessionInfo, StoredSession

__all__ = ["SUMMARY_COLUMNS", "SESSION_COLUMNS", "ReportData", "summarise_analysis", "summary_rows",
           "session_row", "collect", "exercise_label", "SIDE_LETTER"]

SUMMARY_COLUMNS = (
    "session_id", "started_at", "exercise", "side", "reps", "reps_with_hold",
    "peak_abs_deg_mean", "peak_abs_deg_max", "hold_s_mean", "hold_s_max", "hold_s_total",
    "possible_cracks", "pain_before", "pain_after",
)
SESSION_COLUMNS = (
    "session_id", "started_at", "status", "device", "profile", "duration_s", "analysed",
    "analysis_version", "reps", "possible_cracks", "spikes", "axial_rotation_measured", "pain_before", "pain_after",
    "notes", "nominal_rate_hz", "achieved_rate_hz", "samples", "lost_samples", "gaps",
    "gap_s", "reconnects",
)

#: Report names of the exercises (schema.EXERCISE_INFO is the one place that names them).
EXERCISE_NAMES = {k: e.label for k, e in schema.EXERCISE_INFO.items()}
SIDE_LETTER = {"left": "L", "right": "R", None: ""}


def exercise_label(exercise: str, side: str | None = None, *, short_side: bool = True) -> str:
    """Human label: ``"seated twist · L"`` (or ``"· left"``), ``"cat stretch"``."""
    name = EXERCISE_NAMES.get(exercise, exercise.replace("_", " "))
    if not side:
        return name
    return f"{name} · {SIDE_LETTER.get(side, side) if short_side else side}"


def _side_key(side: Any) -> str | None:
    return side if isinstance(side, str) and side else None


def summary_rows(analysis: SessionAnalysis, *, session_id: str = "",
                 started_at: datetime | None = None,
                 self_report: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of :func:`summarise_analysis` as plain dicts (cheap to collect in bulk)."""
    pain = self_report or {}
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, rep in enumerate(analysis.reps):
        groups.setdefault((rep.exercise, _side_key(rep.side)), []).append(i)
    cracks_per_rep = np.zeros(len(analysis.reps), dtype=int)
    for crack in analysis.cracks:
        if crack.rep is not None and 0 <= crack.rep < len(analysis.reps):
            cracks_per_rep[crack.rep] += 1
    rows = []
    order = {e: k for k, e in enumerate(schema.EXERCISES)}
    for (exercise, side), idx in sorted(groups.items(),
                                        key=lambda kv: (order.get(kv[0][0], 99), kv[0][1] or "")):
        reps = [analysis.reps[i] for i in idx]
        peaks = [abs(float(r.peak_deg)) for r in reps if r.peak_deg is not None
                 and np.isfinite(r.peak_deg)]
        holds = [float(r.hold_s) for r in reps if r.hold_s is not None and np.isfinite(r.hold_s)]
        rows.append({
            "session_id": session_id, "started_at": started_at, "exercise": exercise, "side": side,
            "reps": len(reps), "reps_with_hold": len(holds),
            "peak_abs_deg_mean": sum(peaks) / len(peaks) if peaks else np.nan,
            "peak_abs_deg_max": max(peaks) if peaks else np.nan,
            "hold_s_mean": sum(holds) / len(holds) if holds else np.nan,
            "hold_s_max": max(holds) if holds else np.nan,
            "hold_s_total": float(sum(holds)),
            "possible_cracks": int(cracks_per_rep[idx].sum()),
            "pain_before": pain.get("pain_before"), "pain_after": pain.get("pain_after"),
        })
    return rows


def summarise_analysis(analysis: SessionAnalysis, *, session_id: str = "",
                       started_at: datetime | None = None,
                       self_report: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per exercise × side found in an analysis (:data:`SUMMARY_COLUMNS`).

    ``peak_abs_deg_*`` are magnitudes; ``possible_cracks`` counts cracks assigned to a
    repetition of that exercise and side (cracks outside any repetition count only in the
    session table).
    """
    rows = summary_rows(analysis, session_id=session_id, started_at=started_at,
                        self_report=self_report)
    return _typed_summary(pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)))


def _typed_summary(frame: pd.DataFrame) -> pd.DataFrame:
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    for col in ("reps", "reps_with_hold", "possible_cracks"):
        frame[col] = frame[col].astype("int64")
    for col in ("pain_before", "pain_after"):
        frame[col] = frame[col].astype("Int64")
    for col in ("peak_abs_deg_mean", "peak_abs_deg_max", "hold_s_mean", "hold_s_max", "hold_s_total"):
        frame[col] = frame[col].astype("float64")
    frame["side"] = frame["side"].astype(object).where(frame["side"].notna(), None)
    return frame


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out if np.isfinite(out) else float("nan")


def session_row(info: SessionInfo, analysis: SessionAnalysis | None, self_report: dict[str, Any],
                quality: Quality, reconnects: int = 0) -> dict[str, Any]:
    """One row of the session table (:data:`SESSION_COLUMNS`) from what the store keeps.

    ``reconnects`` counts the
    session's ``reconnect`` events (or comes from ``quality.reconnects``).
    """
    return {
        "session_id": info.id, "started_at": info.started_at, "status": info.status,
        "device": info.device, "profile": info.profile, "duration_s": float(info.duration_s),
        "analysed": analysis is not None,
        "analysis_version": analysis.analysis_version if analysis is not None else None,
        "reps": len(analysis.reps) if analysis is not None else 0,
        "possible_cracks": len(analysis.cracks) if analysis is not None else 0,
        "spikes": len(analysis.spikes) if analysis is not None else 0,
        # False for a sensor without a gyroscope (schema.NO_GYRO_NOTE); None: not analysed
        "axial_rotation_measured": analysis.summary.angles_available.axial_rotation if analysis is not None else None,
        "pain_before": self_report.get("pain_before"), "pain_after": self_report.get("pain_after"),
        "notes": " ".join(x for x in (info.notes, self_report.get("notes") or "") if x),
        "nominal_rate_hz": _num(quality.nominal_rate_hz if quality.nominal_rate_hz is not None
                                else info.nominal_rate_hz),
        "achieved_rate_hz": _num(quality.achieved_rate_hz),
        "samples": int(quality.samples),
        "lost_samples": int(quality.lost_samples),
        "gaps": int(quality.gaps),
        "gap_s": _num(quality.gap_s),
        "reconnects": int(max(reconnects, quality.reconnects)),
    }


def _typed_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    for col in ("pain_before", "pain_after"):
        frame[col] = frame[col].astype("Int64")
    for col in ("reps", "possible_cracks", "spikes", "samples", "lost_samples", "gaps", "reconnects"):
        frame[col] = frame[col].astype("int64")
    frame["analysed"] = frame["analysed"].astype(bool)
    return frame


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything a multi-session report shows except per-sample angles.

    Attributes
    ----------
    sessions : DataFrame
        One row per session, :data:`SESSION_COLUMNS`, oldest first.
    summaries : DataFrame
        One row per session × exercise × side, :data:`SUMMARY_COLUMNS`.
    analyses : dict
        Stored analysis per session id (None when the session was never analysed).
    """

    sessions: pd.DataFrame
    summaries: pd.DataFrame
    analyses: dict[str, SessionAnalysis | None]


def collect(sessions: Sequence[StoredSession]) -> ReportData:
    """The summary tables of these sessions (no samples are read)."""
    session_rows: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    analyses: dict[str, SessionAnalysis | None] = {}
    for s in sessions:
        info, analysis = s.info, s.analysis
        analyses[info.id] = analysis
        session_rows.append(session_row(info, analysis, s.self_report, s.quality, s.reconnects))
        if analysis is not None:
            rows += summary_rows(analysis, session_id=info.id, started_at=info.started_at,
                                 self_report=s.self_report)
    frame = _typed_sessions(pd.DataFrame(session_rows, columns=list(SESSION_COLUMNS)))
    frame = frame.sort_values(["started_at", "session_id"], kind="stable").reset_index(drop=True)
    summaries = _typed_summary(pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)))
    return ReportData(frame, summaries, analyses)
