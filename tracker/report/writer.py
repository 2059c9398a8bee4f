"""``write_report``: build the report from sessions' data, write HTML (+ PDF, + PNGs).

Progress uses only what is kept per session (analysis events, self-reports, quality:
:class:`tracker.records.StoredSession`); per-sample angles are needed only for the
sessions shown in detail (by default the latest one, :func:`detail_ids`), so a report
over a year of sessions stays fast. :func:`tracker.sessions.report` gathers all of it
from the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import schema
from ..errors import TrackerError, ValidationError
from ..signal.result import SessionAnalysis
from ..signal.spikes import detection_note_for
from .content import ABOUT_PARAGRAPHS, Report, SessionDetail
from .figures import plot_progress, plot_session
from .html import figure_data_uri, figure_png, render_html
from .pdf import render_pdf
from .summaries import ReportData, collect
from .tables import (attention_notes, fmt_time, overview_table, quality_table, reps_table,
                     sessions_table)

if TYPE_CHECKING:
    from ..records import StoredSession

__all__ = ["ReportFiles", "write_report", "build_report", "detail_ids"]


@dataclass(frozen=True, kw_only=True)
class ReportFiles:
    """What :func:`write_report` wrote.

    Attributes
    ----------
    html : Path
    pdf : Path or None
    pngs : tuple of Path
        Figure images, when asked for.
    sessions : int
        Sessions covered.
    analysed_now : tuple of str
        Sessions that had no stored analysis and were analysed (and stored) for the
        report (set by :func:`tracker.sessions.report`).
    pdf_pages : int
    timings_s : dict
        Seconds spent per step (collect, analyse, figures, html, pdf).
    """

    html: Path
    pdf: Path | None
    pngs: tuple[Path, ...] = ()
    sessions: int = 0
    analysed_now: tuple[str, ...] = ()
    pdf_pages: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)


def detail_ids(sessions: Sequence[StoredSession], detail_sessions: int | None = None) -> list[str]:
    """The sessions shown in full: the latest ``detail_sessions`` analysed ones (default 1;
    all when there is a single session)."""
    order = sorted(sessions, key=lambda s: (s.info.started_at, s.info.id))
    analysed = [s.info.id for s in order if s.analysis is not None]
    n = detail_sessions if detail_sessions is not None else (1 if len(order) > 1 else len(order))
    return analysed[-n:] if n > 0 else []


def _inside(out: Path, name: str) -> Path:
    """``out / name``, refusing (ValidationError) a name that could leave ``out``."""
    from ..export import safe_output_path  # on use: tracker.export imports the store layer

    safe_output_path(out, name)
    return out / name


def _version() -> str:
    try:
        return metadata.version("tracker")
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout without install
        return ""


def build_report(sessions: Sequence[StoredSession], *,
                 details: Mapping[str, SessionAnalysis] | None = None,
                 detail_sessions: int | None = None, age_years: float | None = None,
                 title: str | None = None,
                 timings: dict[str, float] | None = None) -> tuple[Report, ReportData]:
    """Collect everything a report shows.

    Parameters
    ----------
    sessions : sequence of StoredSession
        Sessions to cover (any order; shown oldest first).
    details : mapping, optional
        Session id -> analysis with per-sample signals, for the sessions shown in full
        (:func:`detail_ids`); a session missing here is drawn from its stored events.
    detail_sessions : int, optional
        How many of the latest analysed sessions get a full session figure (default 1;
        all of them when the report covers a single session).
    age_years : float, optional
        For the age-typical reference line; default: the overall adult range.

    Returns
    -------
    report, data
    """
    if not sessions:
        raise ValidationError("no sessions to report on")
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    data = collect(sessions)
    by_id = {s.info.id: s for s in sessions}
    order = list(data.sessions["session_id"])
    timings["collect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    row_of = {r.session_id: r for r in data.sessions.itertuples(index=False)}
    session_details = []
    for sid in detail_ids(sessions, detail_sessions):
        full = (details or {}).get(sid) or data.analyses[sid]
        assert full is not None  # detail_ids picks analysed sessions
        info = row_of[sid]
        pain = by_id[sid].self_report
        fig = plot_session(full, gaps=list(by_id[sid].gaps), self_report=pain,
                           started_at=info.started_at,
                           title=f"Session {sid} · {fmt_time(info.started_at)}")
        notes = [info.notes] if info.notes else []
        if not full.summary.angles_available.axial_rotation:
            notes.insert(0, schema.NO_GYRO_NOTE[0].upper() + schema.NO_GYRO_NOTE[1:] + ".")
        session_details.append(SessionDetail(sid, info.started_at, fig, reps_table(full), pain,
                                             " ".join(notes)))
    progress = None
    note = ""
    n = len(order)
    if n >= 2 and len(data.summaries):
        progress = plot_progress(data.summaries, sessions=data.sessions, age_years=age_years)
        if n < 5:
            note = (f"Only {n} sessions: trend lines need at least 5, so none are drawn yet; "
                    "the dots are your sessions.")
    elif n >= 2:
        note = "No analysed repetitions yet, so there is nothing to chart."
    else:
        note = "Progress charts start with the second session."
    timings["figures"] = time.perf_counter() - t0

    first, last = data.sessions["started_at"].min(), data.sessions["started_at"].max()
    when = fmt_time(first) if n == 1 else f"{fmt_time(first)} – {fmt_time(last)}"
    tz = datetime.now().astimezone().strftime("%Z") or "local time"
    subtitle = (f"{n} session{'s' if n != 1 else ''}, {when} ({tz}) · "
                f"{_count(int(data.sessions['reps'].sum()), 'repetition')} · "
                f"{_count(int(data.sessions['possible_cracks'].sum()), 'possible crack')}")
    if age_years is not None:
        subtitle += f" · reference ranges for age {age_years:g}"
    report = Report(
        title=title or ("Stretching session report" if n == 1 else "Stretching progress report"),
        subtitle=subtitle, generated_at=datetime.now(timezone.utc).astimezone(),
        overview=overview_table(data.summaries), sessions=sessions_table(data.sessions),
        quality=quality_table(data.sessions),
        attention=attention_notes(data.sessions, data.summaries), progress=progress,
        progress_note=note, details=session_details, version=_version(),
        about=ABOUT_PARAGRAPHS + _rate_note(data),
    )
    return report, data


def _rate_note(data: ReportData) -> tuple[str, ...]:
    """What crack detection sees at the rates the sessions were analysed at (one paragraph)."""
    note = detection_note_for((a.sample_rate_hz, a.summary.angles_available.axial_rotation)
                              for a in data.analyses.values() if a is not None)
    return (note,) if note else ()


def write_report(sessions: Sequence[StoredSession], out_dir: Path | str, *,
                 details: Mapping[str, SessionAnalysis] | None = None,
                 detail_sessions: int | None = None, age_years: float | None = None,
                 pdf: bool = True, png: bool = False, name: str = "report", dpi: float = 100.0,
                 title: str | None = None) -> ReportFiles:
    """Write ``<name>.html`` (self-contained) and ``<name>.pdf`` into ``out_dir``.

    Parameters
    ----------
    sessions : sequence of StoredSession
    out_dir : path
        Created when missing.
    details, detail_sessions, age_years, title
        See :func:`build_report`.
    pdf : bool
        Also write the PDF.
    png : bool
        Also write each figure as a PNG next to the report.
    dpi : float
        Resolution of the embedded images.

    Raises
    ------
    ValidationError
        No sessions given, or ``name`` or a session id would make a file name that could
        leave ``out_dir`` (checked before anything is written).
    TrackerError
        ``out_dir`` cannot be written.
    """
    out = Path(out_dir)
    html_path = _inside(out, f"{name}.html")
    pdf_path = _inside(out, f"{name}.pdf") if pdf else None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrackerError(f"cannot create report folder {out}: {exc.strerror or exc}") from exc
    timings: dict[str, float] = {}
    report, _data = build_report(sessions, details=details, detail_sessions=detail_sessions,
                                 age_years=age_years, title=title, timings=timings)

    t0 = time.perf_counter()
    figures: dict[str, Any] = {}
    if report.progress is not None:
        figures["progress"] = report.progress
    for d in report.details:
        figures[f"session:{d.session_id}"] = d.figure
    pngs_bytes = {key: figure_png(fig, dpi) for key, fig in figures.items()}
    images = {key: figure_data_uri(figures[key], png=data) for key, data in pngs_bytes.items()}
    # Every name is checked before anything is written (session ids come from the database).
    png_paths = {key: _inside(out, f"{name}-{key.replace(':', '-')}.png")
                 for key in pngs_bytes} if png else {}
    written: list[Path] = []
    try:
        html_path.write_text(render_html(report, images=images), encoding="utf-8")
        for key, p in png_paths.items():
            p.write_bytes(pngs_bytes[key])
            written.append(p)
    except OSError as exc:
        raise TrackerError(f"cannot write the report into {out}: {exc.strerror or exc}") from exc
    timings["html"] = time.perf_counter() - t0

    pages = 0
    if pdf_path is not None:
        t0 = time.perf_counter()
        try:
            pages = render_pdf(report, pdf_path)
        except OSError as exc:
            raise TrackerError(f"cannot write {pdf_path}: {exc.strerror or exc}") from exc
        timings["pdf"] = time.perf_counter() - t0
    return ReportFiles(html=html_path, pdf=pdf_path, pngs=tuple(written),
                       sessions=int(len(report.sessions)), pdf_pages=pages,
                       timings_s={k: float(np.round(v, 4)) for k, v in timings.items()})


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
