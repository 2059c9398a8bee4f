"""Stored sessions with their analyses: where the store meets the analysis, reports and exports.

The store keeps analysis results as JSON and knows nothing of analysis types; reports
and exports take data and never open the store. This module composes them (as the
CLI does): read a session's data, analyse it, keep the result, and hand reports and
exports what they need.

Examples
--------
>>> from tracker.store import Store                           # doctest: +SKIP
>>> from tracker import sessions                              # doctest: +SKIP
>>> with Store.open() as store:                               # doctest: +SKIP
...     res = sessions.analyse_session(store, store.resolve("latest"))
...     sessions.report(store, [s.id for s in store.sessions()], "report/")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import StoreError
from .schema import IMPULSE_EVENT
from .records import StoredSession, gap_spans

if TYPE_CHECKING:
    from .recording import Recording
    from .report.writer import ReportFiles
    from .signal.calibration import MountingPrior
    from .signal.result import SessionAnalysis
    from .signal.witnesses import AudioTrack, ImpulseWindow
    from .store import Store

__all__ = ["audio_of", "impulse_windows_of", "IMPULSE_EVENT", "load_analysis", "save_analysis", "had_gyroscope",
           "analyse_session", "stored_session", "export", "report",
           "calibration_step_of", "mounting_prior_of", "remember_mounting", "CALIBRATION_STEP_EVENT"]

#: ``Recording -> SessionAnalysis``; default :func:`tracker.signal.process_session`.
Analyse = Callable[["Recording"], "SessionAnalysis"]


def _process(rec: Recording) -> SessionAnalysis:
    from .signal.process import process_session  # heavy: import on use

    return process_session(rec)


# ------------------------------------------------------------------ mounting
# How the sensor was worn: the store keeps plain numbers per device
# (Store.device_mounting); here they become the analysis's MountingPrior and back. A
# mounting is remembered when a session found it by a calibration step (`tracker record
# --guided` starts with one) or surely enough; a later session of the device gets it as
# a prior (used when that session cannot tell by itself, e.g. it starts mid-movement).

#: Event kind of a calibration step (``t_s`` its start, ``end_s`` its end).
CALIBRATION_STEP_EVENT = "calibration_step"
#: A session's mounting found at least this surely (without a calibration step) is remembered.
REMEMBER_MIN_CONFIDENCE = 0.8
#: A remembered mounting's confidence is scaled by this when reused: the sensor may have
#: been put on a little differently.
PRIOR_TRUST = 0.8


def calibration_step_of(store: Store, session_id: str) -> tuple[float, float] | None:
    """The last complete calibration step recorded with the session, or None."""
    steps = [e for e in store.events(session_id, CALIBRATION_STEP_EVENT)
             if e.t_s is not None and e.data.get("end_s") is not None]
    if not steps:
        return None
    return float(steps[-1].t_s), float(steps[-1].data["end_s"])  # type: ignore[arg-type]


def mounting_prior_of(store: Store, device: str) -> MountingPrior | None:
    """The mounting remembered for ``device`` as the analysis's prior, or None."""
    from .signal.calibration import MountingPrior

    m = store.device_mounting(device)
    if m is None:
        return None
    return MountingPrior(q_sensor_body=np.asarray(m["q_sensor_body"], dtype=np.float64),
                         confidence=PRIOR_TRUST * float(m["confidence"]), source="stored_device")


def remember_mounting(store: Store, device: str, session_id: str, analysis: SessionAnalysis) -> bool:
    """Remember the session's mounting for its device when it was found surely enough."""
    cal = analysis.summary.calibration
    method, conf = cal.get("method"), cal.get("confidence")
    if device in ("", "unknown") or conf is None or method in (None, "stored_device", "nominal",
                                                                "gravity+nominal"):
        return False
    if method != "calibration_step" and conf < REMEMBER_MIN_CONFIDENCE:
        return False
    store.set_device_mounting(device, cal["q_sensor_body"], confidence=float(conf), method=method,
                              session_id=session_id)
    return True


def audio_of(store: Store, session_id: str) -> tuple[AudioTrack | None, str | None]:
    """The session's kept microphone recording as a track, or why it cannot be used.

    The first audio attachment (an import keeps e.g. Sensor Logger's Microphone.mp4),
    assumed to start with the motion samples.
    """
    from .audio import AudioDecodeError, decode_audio

    for name, media_type, _size in store.attachments(session_id):
        if media_type.startswith("audio/"):
            try:
                return decode_audio(store.attachment_data(session_id, name), name), None
            except AudioDecodeError as exc:
                return None, f"sound not used for cracks: {exc}"
    return None, None




def impulse_windows_of(store: Store, session_id: str) -> list[ImpulseWindow]:
    """The kHz impulse windows the tag sent during the session (none for other devices)."""
    from .signal.witnesses import ImpulseWindow

    windows = (ImpulseWindow.from_event(e.t_s, e.data) for e in store.events(session_id, IMPULSE_EVENT))
    return [w for w in windows if w is not None]


def _process_stored(store: Store, session_id: str, *, remember: bool = True) -> SessionAnalysis:
    """Analyse a stored session given its calibration step and its device's remembered
    mounting (and remember the mounting it found)."""
    from .signal.process import process_session  # heavy: import on use

    info = store.session(session_id)
    audio, audio_note = audio_of(store, session_id)
    analysis = process_session(store.load_recording(session_id),
                               mounting_prior=mounting_prior_of(store, info.device),
                               calibration_step_s=calibration_step_of(store, session_id),
                               audio=audio, impulse_windows=impulse_windows_of(store, session_id))
    if audio_note:
        analysis = dataclasses.replace(analysis, summary=dataclasses.replace(
            analysis.summary, notes=(*analysis.summary.notes, audio_note)))
    if remember:
        remember_mounting(store, info.device, session_id, analysis)
    return analysis


def had_gyroscope(store: Store, session_id: str, analysis: SessionAnalysis | None = None) -> bool:
    """Whether the session's sensor had a gyroscope: from its analysis, else from its first
    stored samples (an accelerometer-only sensor stores zeros: schema.NO_GYRO_NOTE)."""
    from .recording import gyro_recorded

    if analysis is not None:
        return analysis.summary.angles_available.axial_rotation
    first = next(store.iter_batches(session_id), None)
    return first is None or gyro_recorded(first.gyr_rad_s)


def load_analysis(store: Store, session_id: str) -> SessionAnalysis | None:
    """The stored analysis of the current analysis version (events, no signals), or None."""
    from .signal.result import ANALYSIS_VERSION, SessionAnalysis

    d = store.load_analysis(session_id, ANALYSIS_VERSION)
    return None if d is None else SessionAnalysis.from_events_json(d)


def save_analysis(store: Store, session_id: str, analysis: SessionAnalysis) -> None:
    """Keep an analysis (events and summary, not per-sample signals) under its version."""
    store.save_analysis(session_id, version=analysis.analysis_version,
                        result_json=analysis.events_json())


def analyse_session(store: Store, session_id: str, *, save: bool = True,
            analyse: Analyse | None = None) -> SessionAnalysis:
    """Analyse a stored session's samples (and keep the result unless ``save`` is False).

    Without ``analyse``: with the session's calibration step and its device's remembered
    mounting, and the mounting found is remembered for the device (unless ``save`` is
    False)."""
    if analyse is None:
        result = _process_stored(store, session_id, remember=save)
    else:
        result = analyse(store.load_recording(session_id))
    if save:
        save_analysis(store, session_id, result)
    return result


def stored_session(store: Store, session_id: str, *, analysis: SessionAnalysis | None = None,
                   with_recording: bool = False) -> StoredSession:
    """Everything reports and exports use about one session (``analysis``: a fresher one
    than the stored one, e.g. with per-sample signals)."""
    events = store.events(session_id)
    return StoredSession(
        info=store.session(session_id), quality=store.quality(session_id),
        self_report=store.self_report(session_id),
        analysis=analysis if analysis is not None else load_analysis(store, session_id),
        gaps=tuple(gap_spans(events)), reconnects=sum(e.kind == "reconnect" for e in events),
        recording=store.load_recording(session_id) if with_recording else None,
    )


def export(store: Store, session_ids: Sequence[str], what: Sequence[str], out_dir: Path | str,
           *, analyse: Callable[[str], SessionAnalysis] | None = None) -> list[Path]:
    """Write the CSV exports of stored sessions (see :func:`tracker.export.write_exports`).

    ``analyse`` maps a session id to an analysis with per-sample signals; default:
    analyse the stored samples (and keep the result).
    """
    from .export import check_kinds, write_exports

    check_kinds(what)
    fn = analyse or (lambda sid: analyse_session(store, sid))
    needs_analysis = bool({"angles", "reps", "cracks", "summary"} & set(what))

    def gather() -> Iterator[StoredSession]:
        for sid in session_ids:  # one session in memory at a time
            info = store.session(sid)
            has_samples = info.n_samples > 0
            yield stored_session(
                store, sid, analysis=fn(sid) if needs_analysis and has_samples else None,
                with_recording="raw" in what and has_samples)

    return write_exports(gather(), what, out_dir)


def report(store: Store, session_ids: list[str], out_dir: Path | str, *,
           analyse_missing: bool = True, analyse: Analyse | None = None,
           detail_sessions: int | None = None, **options: Any) -> ReportFiles:
    """Write the HTML (+ PDF) report of stored sessions (see :func:`tracker.report.write_report`).

    Sessions without a stored analysis of the current version are analysed and the
    result kept (``analyse_missing``); the sessions shown in detail are analysed again
    for their per-sample angles.
    """
    from .report.writer import detail_ids, write_report

    ids = list(dict.fromkeys(session_ids))
    data = [stored_session(store, sid) for sid in ids]
    fresh: dict[str, SessionAnalysis] = {}
    if analyse_missing:
        for k, s in enumerate(data):
            if s.analysis is None and s.info.n_samples:
                fresh[s.id] = analyse_session(store, s.id, analyse=analyse)
                data[k] = stored_session(store, s.id, analysis=fresh[s.id])
    details: dict[str, SessionAnalysis] = {}
    for sid in detail_ids(data, detail_sessions):
        full = fresh.get(sid)
        if full is None:
            try:
                full = (analyse(store.load_recording(sid)) if analyse is not None
                        else _process_stored(store, sid, remember=False))
            except StoreError:
                continue  # no samples: the figure shows the stored events only
        details[sid] = full
    files = write_report(data, out_dir, details=details, detail_sessions=detail_sessions, **options)
    return dataclasses.replace(files, analysed_now=tuple(fresh))
