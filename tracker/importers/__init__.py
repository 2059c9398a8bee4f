"""Import recordings from files: our raw CSV and phone / logger app exports.

One module per format, each documenting what its app writes:

* :mod:`.tracker_csv` — our raw-sample CSV (design.md), with the UTC start;
* :mod:`.sensor_logger` — Sensor Logger zips and folders (iOS, Android, every schema);
* :mod:`.phyphox` — phyphox CSV exports (built-in, simple and editor experiments);
* :mod:`.metabase` — MbientLab MetaBase (MetaMotion) CSV files;
* :mod:`.physics_toolbox` — Physics Toolbox Sensor Suite CSV files.

:func:`read_export` reads one recording (a file, a folder, a zip, or several files of
one recording) and says what it decided and skipped; :func:`read_recording` returns
only the samples. Sensors with their own clocks are merged onto the accelerometer's
times by linear interpolation over the span they all cover. An export without a
gyroscope is an accelerometer-only session (gyroscope zeros, as a Polar H10 records;
:data:`tracker.schema.NO_GYRO_NOTE` says what it gives). A bad file raises
:class:`~tracker.errors.ImportFormatError` naming the file, the line and the problem,
or, when acceleration with gravity is missing, what to export instead.

Examples
--------
>>> from tracker.importers import read_export            # doctest: +SKIP
>>> result = read_export("2024-05-01_07-30-12.zip")       # doctest: +SKIP
>>> result.recording.meta.device, result.notes            # doctest: +SKIP
('iPhone 12', ('Metadata.csv: platform ios, standardisation off: ...', ...))
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from ..errors import ImportFormatError
from ..recording import Recording
from . import metabase, phyphox, physics_toolbox, sensor_logger, tracker_csv
from ._model import (
    Attachment,
    ImportResult,
    gravity_at_rest,
    gravity_warnings,
    looks_negated,
)
from ._tables import (
    AUDIO_TYPES,
    SourceFile,
    Table,
    is_table_file,
    load_sources,
    parse_table,
)
from .tracker_csv import write_raw_csv

__all__ = ["Attachment", "ImportResult", "read_export", "read_recording", "write_raw_csv",
           "gravity_at_rest", "gravity_warnings", "looks_negated", "parse_start"]

#: A ``sessions.csv`` next to a file (as in ``data/examples/``) with ``name,started_at``
#: columns dates the file whose name (without extension) is in ``name``; optional
#: ``device``, ``pain_before`` and ``pain_after`` columns name its device and give the
#: person's self-reported pain (0–10).
MANIFEST_NAME = "sessions.csv"


def parse_start(text: str) -> datetime:
    """``--start`` value: ISO-8601; a time without zone is taken as UTC."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ImportFormatError(f"--start {text!r}: not an ISO-8601 time such as 2025-01-06T07:07:00Z") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _manifest_row(path: Path) -> dict[str, str] | None:
    """The row of ``sessions.csv`` next to ``path`` naming it, if any (an unreadable one: none)."""
    try:
        manifest = path.parent / MANIFEST_NAME
        if path.is_dir() or not manifest.is_file():
            return None
        rows = list(csv.DictReader(io.StringIO(manifest.read_text(encoding="utf-8"))))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    name = path.name.rsplit(".", 1)[0]
    return next((row for row in rows if row.get("name") == name), None)


def _manifest_start(row: dict[str, str]) -> datetime | None:
    try:
        return parse_start(row["started_at"]) if row.get("started_at") else None
    except ImportFormatError:
        return None


def _manifest_pain(row: dict[str, str], notes: list[str]) -> dict[str, int]:
    """``pain_before`` / ``pain_after`` given in the row; a bad value is said and left out."""
    from ..errors import ValidationError
    from ..live.safety import parse_pain

    pain: dict[str, int] = {}
    for key in ("pain_before", "pain_after"):
        try:
            value = parse_pain(row.get(key))
        except ValidationError as exc:
            notes.append(f"{key} in {MANIFEST_NAME} ignored: {exc}")
            continue
        if value is not None:
            pain[key] = value
    if pain:
        notes.append("self-reported pain " + ", ".join(f"{k.removeprefix('pain_')} {v}/10" for k, v in pain.items())
                     + f" from {MANIFEST_NAME} next to the file")
    return pain


def read_export(*paths: Path | str, start: datetime | str | None = None) -> ImportResult:
    """Read one recording from one or more files (or a folder / zip of one export).

    Parameters
    ----------
    *paths
        A file, a folder, a zip, or several files of ONE recording.
    start : datetime or str, optional
        The session's UTC start, for files without one (overrides the file's).

    Raises
    ------
    ImportFormatError
        Naming the file, line and problem, or what is missing and what to export.
    """
    if not paths:
        raise ImportFormatError("no file given")
    if isinstance(start, str):
        start = parse_start(start)
    sources: list[SourceFile] = [s for p in paths for s in load_sources(Path(p))]
    notes: list[str] = []
    attachments: list[Attachment] = []
    tables: list[Table] = []
    skipped: dict[str, str] = {}
    errors: list[ImportFormatError] = []
    for src in sources:
        if src.suffix in AUDIO_TYPES:
            attachments.append(Attachment(name=PurePosixPath(src.rel).name, media_type=AUDIO_TYPES[src.suffix],
                                          source=src.name, data=src.data))
            notes.append(f"kept {src.name} ({AUDIO_TYPES[src.suffix]}, {len(src.data)} bytes) for the crack analysis")
            continue
        if not is_table_file(src):
            skipped[src.name] = "not a CSV file"
            notes.append(f"skipped {src.name}: not a CSV file")
            continue
        try:
            tables.append(parse_table(src))
        except ImportFormatError as exc:
            if src.explicit and len(sources) == 1:
                raise
            errors.append(exc)
            why = str(exc).removeprefix(f"{src.name}: ").removeprefix(f"{src.name}, ")
            skipped[src.name] = why
            notes.append(f"skipped {src.name}: {why}")
    if not tables:
        if errors:
            raise errors[0]
        raise ImportFormatError(f"{', '.join(map(str, paths))}: no CSV file with samples")
    rec, more, source, has_start = _read_tables(tables, skipped)
    notes.extend(more)
    start_source = "file"
    row = _manifest_row(Path(paths[0])) if len(paths) == 1 else None
    pain: dict[str, int] = {}
    if row is not None:
        if (device := (row.get("device") or "").strip()):
            rec = rec.with_meta(device=device)
            notes.append(f"device {device!r} from {MANIFEST_NAME} next to the file")
        pain = _manifest_pain(row, notes)
    if start is not None:
        if has_start:
            notes.append(f"start time {start.isoformat()} from --start (the file says "
                         f"{rec.meta.started_at.isoformat()})")
        rec, start_source = rec.with_meta(started_at=start), "--start"
    elif not has_start:
        manifest = _manifest_start(row) if row is not None else None
        if manifest is not None:
            rec, start_source = rec.with_meta(started_at=manifest), "manifest"
            notes.append(f"start time {manifest.isoformat()} from {MANIFEST_NAME} next to the file")
        else:
            start_source = "import time"
            notes.append("the file has no start time: the session is dated now; "
                         "pass --start ISO-TIME to give its real start")
    return ImportResult(recording=rec, source=source, files=tuple(t.name for t in tables),
                        notes=tuple(notes), warnings=tuple(gravity_warnings(rec) + _rate_warnings(rec)),
                        attachments=tuple(attachments), start_source=start_source,
                        self_report=pain)


#: Below this achieved rate a phone export is too coarse for holds and spikes: said.
LOW_RATE_HZ = 20.0


def _rate_warnings(rec: Recording) -> list[str]:
    rate = rec.achieved_rate_hz
    if len(rec) > 1 and rate < LOW_RATE_HZ:
        return [f"achieved rate {rate:.1f} Hz: angles only coarse, no crack detection; record at 100 Hz"]
    return []


#: Format id -> module, in detection order (the most specific headers first).
_READERS = (("csv", tracker_csv), ("physics-toolbox", physics_toolbox), ("metabase", metabase),
            ("phyphox", phyphox), ("sensor-logger", sensor_logger))


def _read_tables(tables: list[Table], skipped: dict[str, str]) -> tuple[Recording, list[str], str, bool]:
    for source, module in _READERS:
        if module.detect(tables):
            if module is sensor_logger:
                rec, notes, dated = sensor_logger.read(tables, skipped)
            else:
                rec, notes, dated = module.read(tables)
            return rec, notes, source, dated
    names = ", ".join(t.name for t in tables)
    cols = [c for t in tables for c in t.columns]
    raise ImportFormatError(
        f"{names}: unknown CSV format (header {cols[:6]}...); expected tracker "
        f"(t_s,acc_x_m_s2,...), phyphox (\"Time (s)\",...), Sensor Logger (time,seconds_elapsed,x,y,z), "
        "MetaBase (epoc (ms),...,x-axis (g)) or Physics Toolbox (time,gFx,...)")


def read_recording(*paths: Path | str, start: datetime | str | None = None) -> Recording:
    """The samples of :func:`read_export` (same arguments and errors)."""
    return read_export(*paths, start=start).recording
