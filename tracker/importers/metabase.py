"""MbientLab MetaBase exports of MetaMotion/MetaWear sensors: one CSV per sensor.

Documented columns: ``epoc (ms)`` (ms since the epoch), ``timestamp (-0500)`` (local
text), ``elapsed (s)``, then ``x-axis (g)`` ... for the accelerometer (specific force in
g: +1 g up at rest), ``x-axis (deg/s)`` for the gyroscope and ``x-axis (T)`` (tesla) or
``x-axis (µT)`` for the magnetometer.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np

from .. import schema
from ..errors import ImportFormatError
from ..recording import Recording
from ._model import Sensors, build_recording
from ._tables import Table, clean_times, export_label, numeric

__all__ = ["detect", "read"]

_SCALE = {"g": schema.STANDARD_GRAVITY_M_S2, "deg/s": np.pi / 180.0, "dps": np.pi / 180.0,
          "t": 1e6, "µt": 1.0, "ut": 1.0, "μt": 1.0}
_KIND = {"g": "acc", "deg/s": "gyr", "dps": "gyr", "t": "mag", "µt": "mag", "ut": "mag", "μt": "mag"}


def _epoch_column(t: Table) -> str | None:
    return next((c for c in t.columns if re.fullmatch(r"epoc(h)? \(ms\)", c.strip(), re.I)), None)


def _axes(t: Table) -> tuple[str, list[str]] | None:
    cols = {}
    unit = None
    for c in t.columns:
        m = re.fullmatch(r"([xyz])-axis \(([^)]*)\)", c.strip(), re.I)
        if m:
            cols[m.group(1).lower()] = c
            unit = m.group(2).strip().lower()
    if set(cols) != {"x", "y", "z"} or unit not in _KIND:
        return None
    return unit, [cols["x"], cols["y"], cols["z"]]


def detect(tables: list[Table]) -> bool:
    return any(_epoch_column(t) and _axes(t) for t in tables)


def read(tables: list[Table]) -> tuple[Recording, list[str], bool]:
    notes: list[str] = []
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for t in tables:
        ep, ax = _epoch_column(t), _axes(t)
        if not (ep and ax):
            notes.append(f"skipped {t.name}: not a MetaBase accelerometer, gyroscope or magnetometer file")
            continue
        unit, cols = ax
        data = clean_times(t, numeric(t, [ep, *cols]), notes)
        arrays[_KIND[unit]] = (data[:, 0] * 1e-3, data[:, 1:4] * _SCALE[unit])
    names = export_label(tables)
    together = ("in MetaBase, stream Accelerometer and Gyroscope (same rate) in one session and import both "
                "CSV files together (the folder, or `tracker import --together ACC.csv GYRO.csv`)")
    if "acc" not in arrays:
        raise ImportFormatError(
            f"{names}: MetaBase export without accelerometer; tracker needs it for orientation. {together}")
    acc_t = arrays["acc"][0]
    # An accelerometer file alone: an accelerometer-only session.
    rec, _ = build_recording(names, Sensors(acc=arrays["acc"], gyr=arrays.get("gyr"), mag=arrays.get("mag")),
                             device="MetaMotion (MetaBase)", profile="metabase",
                             started_at=datetime.fromtimestamp(float(acc_t[0]), tz=timezone.utc),
                             notes=notes, gyro_hint=together)
    return rec, notes, True
