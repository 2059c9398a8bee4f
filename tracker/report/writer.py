"""``write_report``: read the store, build the report, write HTML (+ PDF, + PNGs).

Progress uses only what the store keeps per session (analysis events, self-reports,
quality); per-sample angles are recomputed only for the sessions shown in detail (by
default the latest one), so a report over a year of sessions stays fast.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..errors import StoreError, TrackerError, ValidationError
from ..signal.result import SessionAnalysis
from .content import Report, SessionDetail
from .figures import plot_progress, plot_session
from .html import figure_data_uri, figure_png, render_html
from .pdf import render_pdf
from .summaries import ReportData, collect
from .tables import (attention_notes, fmt_time, overview_table, quality_table, reps_table,
                     sessions_table)

if TYPE_CHECKING:
    from ..recording import Recording
    from ..store import Store

__all__ = ["ReportFiles", "write_report", "build_report", "gap_spans"]

#: A figure of a session needs per-sample angles, i.e. a fresh analysis of its samples.
Analyse = Callable[["Recording"], SessionAnalysis]


@dataclass(frozen=True)
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
        Sessions that had no stored analysis and were analysed (and stored) for the report.
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


def _default_analyse() -> Analyse:
    try:
        from ..signal import process_session
    except ImportError as exc:  # the analysis part not installed/built
        raise TrackerError(f"session analysis is not available ({exc})") from exc
    return process_session


def gap_spans(events: list[Any]) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of store ``gap`` events (``t_s`` + duration or end in data)."""
    spans = []
    for ev in events:
        if ev.t_s is None:
            continue
        d = ev.data or {}
        end = d.get("end_s", d.get("t_end_s"))
        if end is None:
            dur = d.get("duration_s", d.get("gap_s"))
            end = None if dur is None else ev.t_s + float(dur)
        if end is not None and float(end) > ev.t_s:
            spans.append((float(ev.t_s), float(end)))
    return spans


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


def build_report(store: "Store", session_ids: list[str], *, age_years: float | None = None,
                 detail_sessions: int | None = None, analyse_missing: bool = True,
                 analyse: Analyse | None = None, title: str | None = None,
                 timings: dict[str, float] | None = None) -> tuple[Report, ReportData, tuple[str, ...]]:
    """Collect everything a report shows.

    Parameters
    ----------
    store : Store
    session_ids : list of str
        Sessions to cover (any order; shown oldest first).
    age_years : float, optional
        For the age-typical reference line; default: the overall adult range.
    detail_sessions : int, optional
        How many of the latest sessions get a full session figure (default: 1; all of
        them when the report covers a single session).
    analyse_missing : bool
        Analyse (and store) sessions that have no stored analysis of the current version.
    analyse : callable, optional
        ``Recording -> SessionAnalysis``; default :func:`tracker.signal.process_session`.

    Returns
    -------
    report, data, analysed_now
    """
    if not session_ids:
        raise ValidationError("no sessions to report on")
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    data = collect(store, list(dict.fromkeys(session_ids)))
    timings["collect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fresh: dict[str, SessionAnalysis] = {}
    missing = [sid for sid, a in data.analyses.items() if a is None]
    if missing and analyse_missing:
        fn = analyse or _default_analyse()
        for sid in missing:
            try:
                rec = store.load_recording(sid)
            except StoreError:
                continue  # a session without samples stays "not analysed"
            fresh[sid] = fn(rec)
            store.save_analysis(sid, fresh[sid])
        if fresh:
            data = collect(store, list(data.sessions["session_id"]))

    order = list(data.sessions["session_id"])
    analysed = [sid for sid in order if data.analyses.get(sid) is not None]
    n_detail = detail_sessions if detail_sessions is not None else (1 if len(order) > 1 else len(order))
    detail_ids = analysed[-n_detail:] if n_detail > 0 else []
    details = []
    for sid in detail_ids:
        full = fresh.get(sid)
        if full is None:
            try:
                full = (analyse or _default_analyse())(store.load_recording(sid))
            except StoreError:
                full = data.analyses[sid]  # events only; the figure says the trace is missing
        details.append((sid, full))
    timings["analyse"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    row_of = {r.session_id: r for r in data.sessions.itertuples(index=False)}
    session_details = []
    for sid, full in details:
        info = row_of[sid]
        pain = store.self_report(sid)
        fig = plot_session(full, gaps=gap_spans(store.events(sid, kind="gap")), self_report=pain,
                           started_at=info.started_at,
                           title=f"Session {sid} · {fmt_time(info.started_at)}")
        session_details.append(SessionDetail(sid, info.started_at, fig, reps_table(full), pain,
                                             info.notes or ""))
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
    )
    return report, data, tuple(fresh)


def write_report(store: "Store", session_ids: list[str], out_dir: Path | str, *,
                 age_years: float | None = None, detail_sessions: int | None = None,
                 pdf: bool = True, png: bool = False, analyse_missing: bool = True,
                 analyse: Analyse | None = None, name: str = "report", dpi: float = 100.0,
                 title: str | None = None) -> ReportFiles:
    """Write ``<name>.html`` (self-contained) and ``<name>.pdf`` into ``out_dir``.

    Parameters
    ----------
    store : Store
    session_ids : list of str
    out_dir : path
        Created when missing.
    age_years, detail_sessions, analyse_missing, analyse, title
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
    report, _data, fresh = build_report(store, session_ids, age_years=age_years,
                                        detail_sessions=detail_sessions,
                                        analyse_missing=analyse_missing, analyse=analyse,
                                        title=title, timings=timings)

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
    return ReportFiles(html_path, pdf_path, tuple(written), int(len(report.sessions)), fresh,
                       pages, {k: float(np.round(v, 4)) for k, v in timings.items()})


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
