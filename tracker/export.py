"""CSV exports people open: raw samples, angles, repetitions, cracks, session summary.

Exports take the sessions' data (:class:`tracker.records.StoredSession`), never the
store; :func:`tracker.sessions.export` gathers it.

Every header carries its unit (design.md). File names are built from session ids
checked against the id pattern and resolved inside the output directory, so a name can
never escape it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .csvio import write_frame_csv, write_raw_csv
from .errors import TrackerError, ValidationError
from .quality import Quality
from .records import SessionInfo, StoredSession

if TYPE_CHECKING:
    from .signal.result import SessionAnalysis

__all__ = ["EXPORT_KINDS", "write_exports", "check_kinds", "session_summary_row", "safe_output_path"]

#: What ``tracker export --what`` accepts.
EXPORT_KINDS = ("raw", "angles", "reps", "cracks", "summary")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def safe_output_path(out_dir: Path, name: str) -> Path:
    """``out_dir / name``, refusing names that could leave ``out_dir``."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValidationError(f"unsafe output file name {name!r}")
    out = (out_dir / name).resolve()
    if out.parent != out_dir.resolve():
        raise ValidationError(f"output file {name!r} would leave {out_dir}")
    return out


def session_summary_row(info: SessionInfo, quality: Quality, pain: dict[str, Any],
                        analysis: SessionAnalysis | None) -> dict[str, Any]:
    """One row of the per-session summary export (units in the keys)."""
    row: dict[str, Any] = {
        "session_id": info.id, "started_at_utc": info.started_at.isoformat(),
        "device": info.device, "profile": info.profile, "status": info.status,
        "duration_s": info.duration_s, "samples": info.n_samples,
        "achieved_rate_hz": quality.achieved_rate_hz,
        "lost_samples": quality.lost_samples, "gaps": quality.gaps,
        "reconnects": quality.reconnects,
        "pain_before_0_10": pain.get("pain_before"), "pain_after_0_10": pain.get("pain_after"),
    }
    if analysis is not None:
        reps = analysis.reps_frame()
        row["reps"] = len(reps)
        row["possible_cracks"] = len(analysis.cracks)
        for (exercise, side), group in reps.groupby(["exercise", reps["side"].fillna("none")]):
            key = exercise if side == "none" else f"{exercise}_{side}"
            row[f"{key}_reps"] = len(group)
            row[f"{key}_peak_deg_max_abs"] = float(group["peak_deg"].abs().max())
            holds = pd.to_numeric(group["hold_s"], errors="coerce").dropna()
            row[f"{key}_hold_s_mean"] = float(holds.mean()) if len(holds) else None
    return row


def check_kinds(what: Sequence[str]) -> None:
    """Raise :class:`ValidationError` for an export kind not in :data:`EXPORT_KINDS`."""
    unknown = [w for w in what if w not in EXPORT_KINDS]
    if unknown:
        raise ValidationError(f"unknown export {unknown[0]!r}; choose from {', '.join(EXPORT_KINDS)}")


def write_exports(sessions: Iterable[StoredSession], what: Sequence[str], out_dir: Path | str) -> list[Path]:
    """Write the requested exports of the sessions into ``out_dir``.

    Parameters
    ----------
    sessions : iterable of StoredSession
        With ``recording`` for the raw export and an ``analysis`` with per-sample
        signals for the angles export (reps, cracks and summary need only the events).
        Consumed one at a time (a generator keeps one session in memory).
    what : sequence of str
        Kinds from :data:`EXPORT_KINDS`.

    Returns
    -------
    list of Path
        The files written, in order.
    """
    check_kinds(what)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrackerError(f"cannot create output directory {out_dir}: {exc.strerror}") from exc
    written: list[Path] = []
    summary_rows = []
    ids: list[str] = []
    for s in sessions:
        sid, analysis = s.info.id, s.analysis
        ids.append(sid)
        if "raw" in what and s.recording is not None and len(s.recording):
            written.append(write_raw_csv(s.recording, safe_output_path(out_dir, f"{sid}_raw.csv")))
        if analysis is not None:
            if "angles" in what and len(analysis.signals):
                written.append(write_frame_csv(analysis.angles_frame(),
                                               safe_output_path(out_dir, f"{sid}_angles.csv")))
            if "reps" in what:
                written.append(write_frame_csv(analysis.reps_frame(), safe_output_path(out_dir, f"{sid}_reps.csv")))
            if "cracks" in what:
                written.append(write_frame_csv(analysis.cracks_frame(),
                                               safe_output_path(out_dir, f"{sid}_cracks.csv")))
        if "summary" in what:
            summary_rows.append(session_summary_row(s.info, s.quality, s.self_report, analysis))
    if summary_rows:
        name = f"{ids[0]}_summary.csv" if len(ids) == 1 else "sessions_summary.csv"
        written.append(write_frame_csv(pd.DataFrame(summary_rows), safe_output_path(out_dir, name)))
    return written
