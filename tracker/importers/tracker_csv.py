"""Our raw-sample CSV (design.md): ``t_s,acc_*_m_s2,gyr_*_rad_s[,mag_*_uT][,started_at_utc]``."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema
from ..errors import ImportFormatError, ValidationError
from ..recording import Recording, RecordingMeta
from ._tables import Table, check_increasing, numeric

__all__ = ["detect", "read", "write_raw_csv", "format_started_at"]


def detect(tables: list[Table]) -> bool:
    return any(schema.TIME in t.columns and any(c in t.columns for c in schema.ACC) for t in tables)


def format_started_at(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_started_at(table: Table) -> datetime | None:
    if schema.STARTED_AT not in table.columns:
        return None
    col = table.frame[schema.STARTED_AT]
    filled = [(i, str(v).strip()) for i, v in enumerate(col.tolist()) if pd.notna(v) and str(v).strip()]
    if not filled:
        return None
    i, text = filled[0]
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ImportFormatError(f"{table.name}, line {i + 2}: {schema.STARTED_AT} {text!r} is not an "
                                "ISO-8601 time such as 2025-01-06T07:07:00Z") from None
    if when.tzinfo is None:
        raise ImportFormatError(f"{table.name}, line {i + 2}: {schema.STARTED_AT} {text!r} has no time "
                                "zone; write it in UTC with a trailing Z")
    return when.astimezone(timezone.utc)


def read(tables: list[Table]) -> tuple[Recording, list[str], bool]:
    if len(tables) > 1:
        raise ImportFormatError(f"{', '.join(t.name for t in tables)}: one tracker CSV per session")
    table = tables[0]
    cols = table.columns
    missing = [c for c in schema.RAW_COLUMNS if c not in cols]
    if missing:
        raise ImportFormatError(f"{table.name}, line 1: missing columns {missing}")
    has_mag = all(c in cols for c in schema.MAG)
    data = numeric(table, list(schema.RAW_COLUMNS_WITH_MAG if has_mag else schema.RAW_COLUMNS))
    check_increasing(table, data[:, 0])
    started = parse_started_at(table)
    meta = RecordingMeta(device=Path(table.rel).stem, profile="csv")
    if started is not None:
        meta = dataclasses.replace(meta, started_at=started)
    try:  # the time base is kept as written (t_s need not start at 0 in a cut file)
        rec = Recording(data[:, 0], data[:, 1:4], data[:, 4:7], data[:, 7:10] if has_mag else None, meta)
    except ValidationError as exc:  # rows are lines of the file: name the line
        msg = re.sub(r"sample (\d+)", lambda m: f"line {int(m.group(1)) + 2}", str(exc))
        raise ImportFormatError(f"{table.name}: {msg}") from exc
    # all-zero gyroscope columns: written from an accelerometer-only session (zeros, as recorded)
    return rec, [] if rec.has_gyro else [schema.NO_GYRO_NOTE], started is not None


def write_raw_csv(rec: Recording, path: Path | str) -> Path:
    """Write raw samples in the design.md contract, with the UTC start in the last column.

    Time is written with 1 µs resolution (``%.6f``), sensor values with 9 significant
    digits (``%.9g``). The start sits in the first data row only (see
    :data:`tracker.schema.STARTED_AT`).
    """
    path = Path(path)
    data = rec.to_array()
    cols = list(schema.RAW_COLUMNS_WITH_MAG if rec.has_mag else schema.RAW_COLUMNS)
    fmt = [schema.CSV_TIME_FORMAT] + [schema.CSV_FLOAT_FORMAT] * (data.shape[1] - 1)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join([*cols, schema.STARTED_AT]) + "\n")
        if len(data):
            first = ",".join(f % v for f, v in zip(fmt, data[0]))
            fh.write(f"{first},{format_started_at(rec.meta.started_at)}\n")
            np.savetxt(fh, data[1:], fmt=fmt, delimiter=",", newline="\n")
    return path
