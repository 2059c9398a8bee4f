"""Physics Toolbox Sensor Suite (Vieyra Software) CSV exports.

Documented columns: ``time`` (s since the start, or the time of day ``HH:MM:SS:mmm`` in
older versions), g-force ``gFx, gFy, gFz`` (specific force in g: +1 g up at rest),
linear acceleration ``ax, ay, az`` (m/s², gravity removed: not used), gyroscope
``wx, wy, wz`` (rad/s), magnetometer ``Bx, By, Bz`` (µT); the "Multi Record" export has
them side by side, single-sensor exports one group each. The file has no date.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import schema
from ..errors import ImportFormatError
from ..recording import Recording
from ._model import Sensors, build_recording
from ._tables import Table, clean_times, export_label, find_columns, numeric

__all__ = ["detect", "read"]

_GROUPS = {"acc": (r"gfx", r"gfy", r"gfz"), "gyr": (r"wx", r"wy", r"wz"), "mag": (r"bx", r"by", r"bz")}
#: Linear acceleration (gravity removed): recognised only to say why it cannot be used.
_LINEAR = (r"ax", r"ay", r"az")
_CLOCK = re.compile(r"(?:\d{4}-\d{2}-\d{2}[ T])?(\d{1,2}):(\d{2}):(\d{2})[:.](\d{1,3})")


def detect(tables: list[Table]) -> bool:
    return any(find_columns(t.columns, r"time") and any(find_columns(t.columns, *g) for g in (*_GROUPS.values(), _LINEAR))
               for t in tables)


def _times(t: Table, col: str) -> np.ndarray:
    raw = t.frame[col]
    if pd.api.types.is_numeric_dtype(raw):
        return numeric(t, [col])[:, 0]
    text = raw.astype(str).str.strip()
    clock = text.str.fullmatch(_CLOCK.pattern)
    if clock.all():  # time of day: seconds since midnight, across midnight
        parts = text.str.extract(_CLOCK.pattern).astype(float).to_numpy()
        s = parts[:, 0] * 3600 + parts[:, 1] * 60 + parts[:, 2] + parts[:, 3] / 10 ** text.str.extract(
            _CLOCK.pattern)[3].str.len().to_numpy()
        return s + 86400.0 * np.concatenate([[0], np.cumsum(np.diff(s) < -43200)])
    return numeric(t, [col])[:, 0]


def read(tables: list[Table]) -> tuple[Recording, list[str], bool]:
    notes: list[str] = []
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for t in tables:
        tcol = find_columns(t.columns, r"time")
        used = False
        for kind, pats in _GROUPS.items():
            cols = find_columns(t.columns, *pats)
            if tcol is None or cols is None or kind in arrays:
                continue
            data = np.column_stack([_times(t, tcol[0]), numeric(t, cols)])
            data = clean_times(t, data, notes)
            scale = schema.STANDARD_GRAVITY_M_S2 if kind == "acc" else 1.0
            arrays[kind] = (data[:, 0], data[:, 1:4] * scale)
            used = True
        if not used:
            notes.append(f"skipped {t.name}: no g-force, gyroscope or magnetometer columns")
    names = export_label(tables)
    both = "record with 'Multi Record' and both G-Force Meter and Gyroscope selected, then export the CSV"
    if "acc" not in arrays:
        linear = any(find_columns(t.columns, *_LINEAR) for t in tables)
        raise ImportFormatError(f"{names}: Physics Toolbox export without g-force (gFx, gFy, gFz)"
                                + (" (ax, ay, az is linear acceleration: gravity removed, nothing to measure "
                                   "angles by)" if linear else "") + f"; {both}")
    # The G-Force Meter alone: an accelerometer-only session.
    rec, _ = build_recording(names, Sensors(acc=arrays["acc"], gyr=arrays.get("gyr"), mag=arrays.get("mag")),
                             device="phone (Physics Toolbox)", profile="physics-toolbox", started_at=None,
                             notes=notes, gyro_hint=both)
    return rec, notes, False
