"""Files of one export (file, folder or zip) -> named tables; shared number handling.

Every message names the file (``export.zip!Gyroscope.csv`` for a zip member) and, for
a bad cell, the line a person can look up in an editor (header = line 1).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ..errors import ImportFormatError

__all__ = ["SourceFile", "Table", "load_sources", "parse_table", "numeric", "clean_times",
           "interp_onto", "find_columns", "AUDIO_TYPES"]

#: Audio an export may hold (Sensor Logger's Microphone.mp4, phyphox audio): kept as
#: attachments for the crack analysis, never parsed here.
AUDIO_TYPES = {".mp4": "audio/mp4", ".m4a": "audio/mp4", ".aac": "audio/aac", ".wav": "audio/wav",
               ".caf": "audio/x-caf", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".flac": "audio/flac",
               ".3gp": "audio/3gpp", ".opus": "audio/opus"}
_TABLE_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class SourceFile:
    """One file of an export: ``name`` for messages, ``rel`` its path inside the export."""

    name: str
    rel: str
    data: bytes = field(repr=False)
    explicit: bool = False  # named on the command line (not found inside a folder / zip)

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.rel).suffix.lower()

    @property
    def stem(self) -> str:
        return PurePosixPath(self.rel).stem.lower()


@dataclass(frozen=True)
class Table:
    """A parsed CSV: ``stem`` (lowercase file stem) and ``rel`` tell which file of the export."""

    name: str
    rel: str
    frame: pd.DataFrame

    @property
    def stem(self) -> str:
        return PurePosixPath(self.rel).stem.lower()

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


def load_sources(path: Path) -> list[SourceFile]:
    """Every file of an export: the file itself, a folder (recursively) or a zip's members."""
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:  # e.g. an embedded NUL or a name too long
        raise ImportFormatError(f"{str(path)!r}: not a usable file name ({exc})") from exc
    if not exists:
        raise ImportFormatError(f"{path}: no such file or directory")
    try:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path).as_posix()))
            if not files:
                raise ImportFormatError(f"{path}: folder is empty")
            out = []
            for f in files:
                rel = f.relative_to(path).as_posix()
                out.extend(_expand(f, rel, f.read_bytes(), explicit=False))
            return out
        return _expand(path, path.name, path.read_bytes(), explicit=True)
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _hidden(rel: str) -> bool:
    parts = rel.split("/")
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _expand(path: Path, rel: str, data: bytes, *, explicit: bool) -> list[SourceFile]:
    if data[:4] == b"PK\x03\x04" or (explicit and zipfile.is_zipfile(io.BytesIO(data))):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = [m for m in zf.infolist() if not m.is_dir() and not _hidden(m.filename)]
                if not members:
                    raise ImportFormatError(f"{path}: zip is empty")
                return [SourceFile(f"{path}!{m.filename}", m.filename, zf.read(m)) for m in members]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
            raise ImportFormatError(f"{path}: not a readable zip ({exc})") from exc
    return [SourceFile(str(path), rel, data, explicit=explicit)]


def is_table_file(src: SourceFile) -> bool:
    """CSV files of an export; a file named on the command line is read whatever its name."""
    return src.suffix in _TABLE_SUFFIXES or (src.explicit and src.suffix not in AUDIO_TYPES)


def decode(name: str, raw: bytes) -> str:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise ImportFormatError(f"{name}: not a text CSV file")


#: Why a file without samples was skipped (an empty sensor file is a sensor not recorded).
EMPTY_FILE = "the file is empty"
NO_ROWS = "no data rows after the header"

_DECIMAL_COMMA = re.compile(r"(^|[;\t])\s*\"?[-+]?\d+,\d")


def parse_table(src: SourceFile) -> Table:
    """Parse one CSV. Separator from the header (comma, tab, semicolon); decimal comma
    when the separator is not a comma and the first data row has ``digits,digits``."""
    text = decode(src.name, src.data)
    if not text.strip():
        raise ImportFormatError(f"{src.name}: {EMPTY_FILE}")
    lines = text.lstrip().split("\n", 2)
    header = lines[0]
    sep = "\t" if "\t" in header else ";" if header.count(";") > header.count(",") else ","
    first_row = lines[1] if len(lines) > 1 else ""
    decimal = "," if sep != "," and _DECIMAL_COMMA.search(first_row) else "."
    try:
        try:  # fast path: everything numeric
            frame = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, skipinitialspace=True)
            if not all(pd.api.types.is_numeric_dtype(d) for d in frame.dtypes):
                raise ValueError("non-numeric cells")
        except ValueError:  # slow path keeps the text so errors can quote the bad cell
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True,
                                keep_default_na=False)
            if decimal == ",":
                frame = frame.apply(lambda col: col.str.replace(",", ".", regex=False))
    except pd.errors.ParserError as exc:
        detail = re.sub(r"^Error tokenizing data\. C error: ", "", str(exc)).strip()
        raise ImportFormatError(f"{src.name}: {detail}") from exc
    except pd.errors.EmptyDataError as exc:
        raise ImportFormatError(f"{src.name}: {EMPTY_FILE}") from exc
    frame.columns = [str(c).strip().strip('"').strip() for c in frame.columns]
    if frame.empty:
        raise ImportFormatError(f"{src.name}: {NO_ROWS}")
    return Table(src.name, src.rel, frame)


def numeric(table: Table, columns: list[str]) -> np.ndarray:
    """Columns as float64; the first non-number is reported with its line number."""
    out = np.empty((len(table.frame), len(columns)))
    for j, col in enumerate(columns):
        raw = table.frame[col]
        if pd.api.types.is_numeric_dtype(raw):
            values = raw.to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                i = int(np.argmax(~np.isfinite(values)))
                raise ImportFormatError(f"{table.name}, line {i + 2}: column {col!r} is empty or not finite")
            out[:, j] = values
            continue
        text = raw.astype(str).str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            i = int(np.argmax(np.isnan(values)))
            cell = raw.iloc[i]
            if not str(cell).strip():
                raise ImportFormatError(f"{table.name}, line {i + 2}: column {col!r} is empty or not finite")
            raise ImportFormatError(f"{table.name}, line {i + 2}: column {col!r} has {cell!r}, not a number")
        if not np.isfinite(values).all():
            i = int(np.argmax(~np.isfinite(values)))
            raise ImportFormatError(f"{table.name}, line {i + 2}: column {col!r} is infinite")
        out[:, j] = values
    return out


def check_increasing(table: Table, t: np.ndarray) -> None:
    """Our own CSV must be strictly increasing: say where it is not."""
    step = np.diff(t)
    if (step <= 0).any():
        i = int(np.argmax(step <= 0)) + 1
        what = "repeats" if step[i - 1] == 0 else "goes back"
        raise ImportFormatError(
            f"{table.name}, line {i + 2}: time {what} ({t[i]:.9g} after {t[i - 1]:.9g})")


def clean_times(table: Table, data: np.ndarray, notes: list[str]) -> np.ndarray:
    """Rows of a phone export in time order with one row per time stamp.

    Phone apps repeat a time stamp now and then (Sensor Logger documents it for some
    sensors); the first row of each time is kept and the rest counted in a note.
    """
    t = data[:, 0]
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        notes.append(f"{table.name}: {int(np.sum(np.diff(t) < 0))} rows out of time order were put in order")
        data = data[order]
        t = data[:, 0]
    dup = np.concatenate([[False], np.diff(t) == 0])
    if dup.any():
        notes.append(f"{table.name}: {int(dup.sum())} rows repeat the previous time stamp; the first of each was kept")
        data = data[~dup]
    return data


def export_label(tables: list[Table]) -> str:
    """How messages name a whole export: the zip or folder, else the files."""
    zips = {t.name.split("!", 1)[0] for t in tables if "!" in t.name}
    if len(zips) == 1 and all("!" in t.name for t in tables):
        return zips.pop()
    if len(tables) > 1:
        import os

        try:
            common = os.path.commonpath([t.name for t in tables])
        except ValueError:
            common = ""
        if common and all(t.name != common for t in tables):
            return common
    return ", ".join(t.name for t in tables)


def interp_onto(t_target: np.ndarray, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(t_target, t, values[:, k]) for k in range(values.shape[1])])


def find_columns(columns: list[str], *patterns: str) -> list[str] | None:
    """Columns matching each regex pattern (case-insensitive, whole name), in pattern order."""
    found = []
    for pat in patterns:
        hits = [c for c in columns if re.fullmatch(pat, c, flags=re.IGNORECASE)]
        if not hits:
            return None
        found.append(hits[0])
    return found
