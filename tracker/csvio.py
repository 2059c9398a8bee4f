"""CSV files in and out: our raw-sample contract and common phone-app exports.

Formats read (detected from the header):

* **tracker** — ``t_s,acc_x_m_s2,...,gyr_z_rad_s[,mag_x_uT,...]`` (design.md).
* **phyphox** — ``"Time (s)","Acceleration x (m/s^2)",...`` (accelerometer *with g*)
  and ``"Time (s)","Gyroscope x (rad/s)",...``; one file per sensor, or a folder /
  zip of a phyphox export. Magnetometer ``"Magnetic field x (µT)"`` is used when given.
* **Sensor Logger** — ``TotalAcceleration.csv`` (or ``Accelerometer.csv`` +
  ``Gravity.csv``), ``Gyroscope.csv``, optional ``Magnetometer.csv``, each with
  ``time`` (ns since the epoch) and ``seconds_elapsed``; a folder or zip.

Sensors with their own clocks are merged onto the accelerometer's time base by linear
interpolation over the span all of them cover. A bad file raises
:class:`ImportFormatError` naming the file, the line and the problem.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .errors import ImportFormatError, ValidationError
from .recording import Recording, RecordingMeta

__all__ = ["write_raw_csv", "read_recording", "write_frame_csv"]


# ---------------------------------------------------------------------- writing
def write_frame_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write a table with our float format and ``\\n`` line endings."""
    path = Path(path)
    frame.to_csv(path, index=False, float_format=schema.CSV_FLOAT_FORMAT, lineterminator="\n",
                 na_rep="")
    return path


def write_raw_csv(rec: Recording, path: Path | str) -> Path:
    """Write raw samples in the design.md contract.

    Time is written with 1 µs resolution (``%.6f``), sensor values with 9 significant
    digits (``%.9g``): reading the file back gives the samples to within those.
    """
    path = Path(path)
    frame = rec.to_frame()
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join(frame.columns) + "\n")
        data = frame.to_numpy()
        fmt = [schema.CSV_TIME_FORMAT] + [schema.CSV_FLOAT_FORMAT] * (data.shape[1] - 1)
        np.savetxt(fh, data, fmt=fmt, delimiter=",", newline="\n")
    return path


# ---------------------------------------------------------------------- reading
@dataclass(frozen=True)
class _Table:
    name: str  # file name for messages
    frame: pd.DataFrame


def _parse_table(name: str, text: str) -> _Table:
    if not text.strip():
        raise ImportFormatError(f"{name}: the file is empty")
    header = text.lstrip().split("\n", 1)[0]
    # phyphox offers comma, tab and "semicolon, decimal comma" CSV flavours.
    sep, decimal = ("\t", ".") if "\t" in header else (";", ",") if header.count(";") > header.count(",") else (",", ".")
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
        raise ImportFormatError(f"{name}: {detail}") from exc
    except UnicodeDecodeError as exc:  # pragma: no cover - text decoded before
        raise ImportFormatError(f"{name}: not a text CSV file") from exc
    frame.columns = [str(c).strip().strip('"') for c in frame.columns]
    if frame.empty:
        raise ImportFormatError(f"{name}: no data rows after the header")
    return _Table(name, frame)


def _numeric(table: _Table, columns: Iterable[str]) -> np.ndarray:
    """Columns as float64; the first non-number is reported with its line number."""
    cols = list(columns)
    out = np.empty((len(table.frame), len(cols)))
    for j, col in enumerate(cols):
        raw = table.frame[col]
        if pd.api.types.is_numeric_dtype(raw):
            values = raw.to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                i = int(np.argmax(~np.isfinite(values)))
                raise ImportFormatError(f"{table.name}, line {i + 2}: column {col!r} is empty or not finite")
            out[:, j] = values
            continue
        values = pd.to_numeric(raw.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(values) & ~raw.str.strip().str.lower().isin(["nan"])
        if bad.any() or np.isnan(values).any():
            i = int(np.argmax(bad | np.isnan(values)))
            raise ImportFormatError(
                f"{table.name}, line {i + 2}: column {col!r} has {raw.iloc[i]!r}, not a number")
        if not np.isfinite(values).all():
            i = int(np.argmax(~np.isfinite(values)))
            raise ImportFormatError(f"{table.name}, line {i + 2}: column {col!r} is infinite")
        out[:, j] = values
    return out


def _check_time(table: _Table, t: np.ndarray) -> None:
    step = np.diff(t)
    if (step <= 0).any():
        i = int(np.argmax(step <= 0)) + 1
        what = "repeats" if step[i - 1] == 0 else "goes back"
        raise ImportFormatError(
            f"{table.name}, line {i + 2}: time {what} ({t[i]:.9g} after {t[i - 1]:.9g})")


def _find(columns: list[str], *patterns: str) -> list[str] | None:
    """Columns matching each regex pattern (case-insensitive), in pattern order."""
    found = []
    for pat in patterns:
        hits = [c for c in columns if re.fullmatch(pat, c, flags=re.IGNORECASE)]
        if not hits:
            return None
        found.append(hits[0])
    return found


def _interp_onto(t_target: np.ndarray, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(t_target, t, values[:, k]) for k in range(values.shape[1])])


def _merge(acc_t: np.ndarray, acc: np.ndarray, gyr_t: np.ndarray, gyr: np.ndarray,
           mag: tuple[np.ndarray, np.ndarray] | None, names: str) -> tuple[np.ndarray, ...]:
    """Put gyroscope (and magnetometer) on the accelerometer's time base."""
    starts = [acc_t[0], gyr_t[0]] + ([mag[0][0]] if mag else [])
    ends = [acc_t[-1], gyr_t[-1]] + ([mag[0][-1]] if mag else [])
    keep = (acc_t >= max(starts)) & (acc_t <= min(ends))
    if keep.sum() < 2:
        raise ImportFormatError(f"{names}: the sensors' time spans do not overlap")
    t = acc_t[keep]
    g = _interp_onto(t, gyr_t, gyr)
    m = _interp_onto(t, *mag) if mag else None
    return t, acc[keep], g, m


def _detect(tables: list[_Table]) -> str:
    cols = [c for t in tables for c in t.frame.columns]
    if schema.TIME in cols and all(c in cols for c in schema.ACC):
        return "tracker"
    if any(re.fullmatch(r"time \(s\)", c, re.I) for c in cols):
        return "phyphox"
    if "seconds_elapsed" in cols:
        return "sensor-logger"
    names = ", ".join(t.name for t in tables)
    raise ImportFormatError(
        f"{names}: unknown CSV format (header {cols[:6]}...); expected tracker "
        f"({','.join(schema.RAW_COLUMNS[:3])}...), phyphox (\"Time (s)\",...) or "
        f"Sensor Logger (time,seconds_elapsed,...)")


def _read_tracker(table: _Table) -> Recording:
    cols = list(table.frame.columns)
    missing = [c for c in schema.RAW_COLUMNS if c not in cols]
    if missing:
        raise ImportFormatError(f"{table.name}, line 1: missing columns {missing}")
    has_mag = all(c in cols for c in schema.MAG)
    data = _numeric(table, schema.RAW_COLUMNS_WITH_MAG if has_mag else schema.RAW_COLUMNS)
    _check_time(table, data[:, 0])
    return _recording(table.name, data[:, 0], data[:, 1:4], data[:, 4:7],
                      data[:, 7:10] if has_mag else None, "csv")


def _read_phyphox(tables: list[_Table]) -> Recording:
    acc = gyr = mag = None
    for table in tables:
        cols = list(table.frame.columns)
        t_col = _find(cols, r"time \(s\)")
        if a := _find(cols, r"(linear )?acceleration x \(m/s\^2\)", r"(linear )?acceleration y \(m/s\^2\)",
                      r"(linear )?acceleration z \(m/s\^2\)"):
            if any(c.lower().startswith("linear") for c in a):
                raise ImportFormatError(
                    f"{table.name}: this is phyphox 'Linear Acceleration' (gravity removed); "
                    "record 'Acceleration with g' so orientation can be estimated")
            acc = (table, t_col + a)
        if g := _find(cols, r"gyroscope x \(rad/s\)", r"gyroscope y \(rad/s\)", r"gyroscope z \(rad/s\)"):
            gyr = (table, t_col + g)
        if m := _find(cols, r"magnetic field x \(.T\)", r"magnetic field y \(.T\)", r"magnetic field z \(.T\)"):
            mag = (table, t_col + m)
    names = ", ".join(t.name for t in tables)
    if acc is None or gyr is None:
        missing = "accelerometer ('Acceleration x (m/s^2)')" if acc is None else "gyroscope ('Gyroscope x (rad/s)')"
        raise ImportFormatError(f"{names}: phyphox export without {missing}; export both sensors")
    arrays = {}
    for key, found in (("acc", acc), ("gyr", gyr), ("mag", mag)):
        if found is None:
            continue
        data = _numeric(found[0], found[1])
        _check_time(found[0], data[:, 0])
        arrays[key] = data
    if acc[0] is gyr[0]:  # one combined sheet: same time base already
        a = arrays["acc"]
        t, a3, g, mm = a[:, 0], a[:, 1:4], arrays["gyr"][:, 1:4], arrays["mag"][:, 1:4] if "mag" in arrays else None
    else:
        m = (arrays["mag"][:, 0], arrays["mag"][:, 1:4]) if "mag" in arrays else None
        t, a3, g, mm = _merge(arrays["acc"][:, 0], arrays["acc"][:, 1:4], arrays["gyr"][:, 0],
                              arrays["gyr"][:, 1:4], m, names)
    return _recording(names, t - t[0], a3, g, mm, "phyphox", _phyphox_start(tables, float(t[0])))


def _phyphox_start(tables: list[_Table], first_t_s: float) -> datetime | None:
    """Wall-clock time of the first sample from phyphox's ``meta/time.csv`` (START row)."""
    for table in tables:
        frame = table.frame
        if {"event", "experiment time", "system time"} <= set(frame.columns):
            start = frame[frame["event"].astype(str).str.strip().str.upper() == "START"]
            if start.empty:
                return None
            try:
                system_s = float(start["system time"].iloc[0])
                experiment_s = float(start["experiment time"].iloc[0])
            except (TypeError, ValueError):
                return None
            return datetime.fromtimestamp(system_s + first_t_s - experiment_s, tz=timezone.utc)
    return None


def _read_sensor_logger(tables: list[_Table]) -> Recording:
    by_name = {Path(t.name.split("!")[-1]).stem.lower(): t for t in tables}
    names = ", ".join(t.name for t in tables)

    def xyz(table: _Table) -> tuple[np.ndarray, np.ndarray, float]:
        cols = list(table.frame.columns)
        found = _find(cols, r"time", r"x", r"y", r"z")
        if found is None:
            raise ImportFormatError(f"{table.name}, line 1: expected columns time, x, y, z; got {cols}")
        data = _numeric(table, found)
        t_ns = data[:, 0]
        _check_time(table, t_ns)
        return t_ns * 1e-9, data[:, 1:4], float(t_ns[0])

    if "totalacceleration" in by_name:
        acc_t, acc, t0_ns = xyz(by_name["totalacceleration"])
    elif "accelerometer" in by_name and "gravity" in by_name:
        acc_t, user, t0_ns = xyz(by_name["accelerometer"])
        grav_t, grav, _ = xyz(by_name["gravity"])
        acc = user + _interp_onto(acc_t, grav_t, grav)
    elif "accelerometer" in by_name:
        acc_t, acc, t0_ns = xyz(by_name["accelerometer"])
        if np.median(np.linalg.norm(acc, axis=1)) < 0.5 * schema.STANDARD_GRAVITY_M_S2:
            raise ImportFormatError(
                f"{by_name['accelerometer'].name}: Sensor Logger's Accelerometer.csv has gravity "
                "removed; include TotalAcceleration.csv (or Gravity.csv) in the import")
    else:
        raise ImportFormatError(f"{names}: Sensor Logger export without TotalAcceleration.csv "
                                "or Accelerometer.csv")
    if "gyroscope" not in by_name:
        raise ImportFormatError(f"{names}: Sensor Logger export without Gyroscope.csv")
    gyr_t, gyr, _ = xyz(by_name["gyroscope"])
    mag = None
    if "magnetometer" in by_name:
        mag_t, mag_v, _ = xyz(by_name["magnetometer"])
        mag = (mag_t, mag_v)
    t, a, g, m = _merge(acc_t, acc, gyr_t, gyr, mag, names)
    started = datetime.fromtimestamp(t[0], tz=timezone.utc) if t0_ns > 1e17 else None
    return _recording(names, t - t[0], a, g, m, "sensor-logger", started)


def _recording(name: str, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, mag: np.ndarray | None,
               profile: str, started_at: datetime | None = None) -> Recording:
    # Files carry no configured rate: the achieved rate is measured from the times.
    meta = RecordingMeta(device=Path(name.split(",")[0].split("!")[0]).stem, profile=profile,
                         **({"started_at": started_at} if started_at else {}))
    try:
        return Recording(t, acc, gyr, mag, meta)
    except ValidationError as exc:
        # Samples are rows of the (first) file: name the line a person can look up.
        msg = re.sub(r"sample (\d+)", lambda m: f"line {int(m.group(1)) + 2}", str(exc))
        raise ImportFormatError(f"{name}: {msg}") from exc


def _load_texts(path: Path) -> list[tuple[str, str]]:
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:  # e.g. an embedded NUL or a name too long
        raise ImportFormatError(f"{str(path)!r}: not a usable file name ({exc})") from exc
    if not exists:
        raise ImportFormatError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".csv" and p.is_file())
        if not files:
            raise ImportFormatError(f"{path}: folder has no .csv files")
        return [t for f in files for t in _load_texts(f)]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if m.lower().endswith(".csv")]
            if not members:
                raise ImportFormatError(f"{path}: zip has no .csv files")
            return [(f"{path}!{m}", _decode(f"{path}!{m}", zf.read(m))) for m in members]
    try:
        return [(str(path), _decode(str(path), path.read_bytes()))]
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc.strerror})") from exc


def _decode(name: str, raw: bytes) -> str:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise ImportFormatError(f"{name}: not a text CSV file")


def read_recording(*paths: Path | str) -> Recording:
    """Read one recording from one or more files (or a folder / zip of one export).

    Raises
    ------
    ImportFormatError
        Naming the file, line and problem.
    """
    if not paths:
        raise ImportFormatError("no file given")
    texts = [t for p in paths for t in _load_texts(Path(p))]
    tables = [_parse_table(name, text) for name, text in texts]
    kind = _detect(tables)
    if kind == "tracker":
        if len(tables) > 1:
            raise ImportFormatError(f"{', '.join(t.name for t in tables)}: one tracker CSV per session")
        return _read_tracker(tables[0])
    if kind == "phyphox":
        return _read_phyphox(tables)
    return _read_sensor_logger(tables)

