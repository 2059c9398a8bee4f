"""Sensor Logger (Kelvin Choi; iOS and Android) exports: a zip or folder of CSV files.

What the app documents (tszheichoi/awesome-sensor-logger: UNITS.md, COORDINATES.md,
CROSSPLATFORM.md, README "Accessing Recording Metadata", "Removing Duplicated Entries"):

* every sensor file has ``time`` (ns since the epoch) and x, y, z in any column order;
  ``seconds_elapsed`` (s from the recording start) may be negative and is absent in the
  old schema (``time,z,y,x``, Metadata ``version 2``): tracker uses ``time`` only;
* acceleration in m/s², angular rate rad/s, magnetic field µT;
* ``Accelerometer.csv`` has gravity removed; ``Gravity.csv`` is gravity alone;
  ``TotalAcceleration.csv`` (Android) is both;
* on iOS, acceleration and gravity are the negative of Android's on all three axes
  unless "Standardise Units & Frames" is on (``standardisation`` in ``Metadata.csv``);
  the gyroscope has the same sign on both. Android's sign is specific force (+g up at
  rest), which is tracker's; without ``Metadata.csv`` the sign is judged from gravity at
  rest (:func:`~tracker.importers._model.looks_negated`) and the note says so;
* some sensors repeat a time stamp: the first row of each time is kept;
* without ``Gyroscope.csv`` (or with an empty one) the export is an accelerometer-only
  session; without gravity (``Accelerometer.csv`` alone) it is refused.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ImportFormatError
from ..recording import Recording
from ._model import Sensors, build_recording, gravity_at_rest, looks_negated
from ._tables import EMPTY_FILE, NO_ROWS, Table, clean_times, export_label, find_columns, numeric

__all__ = ["detect", "read", "SENSOR_FILES", "platform_negates"]

#: Sensor files tracker reads (lowercase stems).
SENSOR_FILES = ("totalacceleration", "accelerometer", "gravity", "gyroscope", "magnetometer")
#: Other files Sensor Logger writes: skipped with a note.
_KNOWN_OTHER = ("metadata", "annotation", "orientation", "barometer", "location", "microphone",
                "pedometer", "battery", "brightness", "compass", "heartrate", "wrist",
                "accelerometeruncalibrated", "gyroscopeuncalibrated", "magnetometeruncalibrated",
                "light", "network", "camera", "bluetooth", "watch")


def _xyz_columns(table: Table) -> list[str] | None:
    return find_columns(table.columns, r"time", r"x", r"y", r"z")


def _is_metadata(table: Table) -> bool:
    cols = {c.lower() for c in table.columns}
    return table.stem == "metadata" and bool({"device name", "platform", "version"} & cols)


def detect(tables: list[Table]) -> bool:
    for t in tables:
        cols = [c.lower() for c in t.columns]
        if "seconds_elapsed" in cols or _is_metadata(t):
            return True
        if t.stem in SENSOR_FILES and _xyz_columns(t):
            return True
    return False


def _metadata(tables: list[Table]) -> dict[str, Any]:
    for t in tables:
        if _is_metadata(t):
            row = t.frame.iloc[0]
            return {str(k).strip().lower(): row[k] for k in t.frame.columns}
    return {}


def _truthy(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    return None


def platform_negates(platform: str | None, standardised: bool | None) -> bool | None:
    """Whether acceleration/gravity must be negated (None: the metadata cannot say)."""
    if platform is None:
        return None
    p = platform.strip().lower()
    if p == "ios":
        return not bool(standardised)
    if p == "android":
        return False
    return None


def _clock_check(meta: dict[str, Any], first_s: float) -> list[str]:
    """Sensor time stamps vs Metadata's recording time (some old iOS exports disagree)."""
    epoch_ms = pd.to_numeric(pd.Series([meta.get("recording epoch time")]), errors="coerce").iloc[0]
    if pd.notna(epoch_ms):
        off = first_s - float(epoch_ms) / 1e3
        if abs(off) > 60:
            return [f"the sensors' time stamps start {off:+.0f} s from Metadata's recording epoch time; "
                    "the session keeps the sensors' time"]
        return []
    local = str(meta.get("recording time", ""))
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})", local.strip())
    if not m:
        return []
    h, mi, s = (int(x) for x in m.groups()[3:])
    first = datetime.fromtimestamp(first_s, tz=timezone.utc)
    off = (h * 3600 + mi * 60 + s) - (first.hour * 3600 + first.minute * 60 + first.second)
    # Local minus UTC is a whole number of quarter hours: anything else is a clock that is off.
    rest = off % 900
    if min(rest, 900 - rest) > 120:
        return [f"the sensors' time stamps ({first:%H:%M:%S} UTC) do not match Metadata's local recording "
                f"time {local} in any time zone; the session keeps the sensors' time: check its date"]
    return []


def _read_xyz(table: Table, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    found = _xyz_columns(table)
    if found is None:
        raise ImportFormatError(f"{table.name}, line 1: expected columns time, x, y, z; got {table.columns}")
    data = clean_times(table, numeric(table, found), notes)
    return data[:, 0] * 1e-9, data[:, 1:4]


def read(tables: list[Table], skipped: dict[str, str]) -> tuple[Recording, list[str], bool]:
    """Read a Sensor Logger export. ``skipped``: file name -> why it was not parsed."""
    notes: list[str] = []
    by_stem: dict[str, Table] = {}
    for t in tables:
        if t.stem in SENSOR_FILES and t.stem not in by_stem:
            by_stem[t.stem] = t
        elif not _is_metadata(t):
            why = "not a sensor tracker uses" if any(t.stem.startswith(k) for k in _KNOWN_OTHER) \
                else "not a Sensor Logger motion file"
            notes.append(f"skipped {t.name}: {why}")
    names = export_label(tables)
    meta = _metadata(tables)

    def skipped_file(stem: str) -> tuple[str, str] | None:
        for name, why in skipped.items():
            if name.lower().rsplit("/", 1)[-1].rsplit("!", 1)[-1].startswith(stem + "."):
                return name, why
        return None

    def problem(stem: str) -> str:
        found = skipped_file(stem)
        return f" ({found[0]}: {found[1]})" if found else ""

    broken_gyro = skipped_file("gyroscope")
    if "gyroscope" not in by_stem and broken_gyro and broken_gyro[1] not in (EMPTY_FILE, NO_ROWS):
        # a gyroscope that was recorded but cannot be read is an error, not a missing sensor
        raise ImportFormatError(f"{broken_gyro[0]}: {broken_gyro[1]}")

    if "totalacceleration" in by_stem:
        acc_t, acc = _read_xyz(by_stem["totalacceleration"], notes)
        kind = "TotalAcceleration.csv"
    elif "accelerometer" in by_stem and "gravity" in by_stem:
        acc_t, user = _read_xyz(by_stem["accelerometer"], notes)
        grav_t, grav = _read_xyz(by_stem["gravity"], notes)
        from ._tables import interp_onto

        span = (acc_t >= grav_t[0]) & (acc_t <= grav_t[-1])
        acc_t, user = acc_t[span], user[span]
        if acc_t.size < 2:
            raise ImportFormatError(f"{names}: Accelerometer.csv and Gravity.csv do not overlap in time")
        acc = user + interp_onto(acc_t, grav_t, grav)
        kind = "Accelerometer.csv + Gravity.csv"
    elif "accelerometer" in by_stem:
        raise ImportFormatError(
            f"{by_stem['accelerometer'].name}: Sensor Logger's Accelerometer.csv has gravity removed"
            f"{problem('gravity')}; tracker needs gravity for orientation. Record with Gravity (or Total "
            "Acceleration) switched on too and import the whole export")
    else:
        raise ImportFormatError(
            f"{names}: Sensor Logger export without TotalAcceleration.csv or Accelerometer.csv + Gravity.csv; "
            "record with Accelerometer, Gravity and Gyroscope switched on and export the zipped CSV")
    # Without Gyroscope.csv: an accelerometer-only session (angles from gravity alone).
    gyr = _read_xyz(by_stem["gyroscope"], notes) if "gyroscope" in by_stem else None
    mag = _read_xyz(by_stem["magnetometer"], notes) if "magnetometer" in by_stem else None

    # Sign convention: Metadata first, else gravity at rest.
    platform = None if not meta.get("platform") or pd.isna(meta.get("platform")) else str(meta["platform"])
    standardised = _truthy(meta.get("standardisation"))
    negate = platform_negates(platform, standardised)
    if negate is not None:
        notes.append(f"Metadata.csv: platform {platform}, standardisation "
                     f"{'on' if standardised else 'off' if standardised is False else 'not recorded (app before the setting)'}"
                     + (": acceleration and gravity negated to Android's (specific force) convention" if negate else ""))
    else:
        judged = looks_negated(gravity_at_rest(acc, None))
        negate = bool(judged)
        notes.append(
            "no platform in Metadata.csv: sign convention judged from gravity at rest: "
            + ("it points along -y, as iOS without 'Standardise Units & Frames' writes it: negated"
               if judged else "kept as written (Android / standardised)" if judged is False
               else "cannot tell (phone flat or on its side), kept as written (Android / standardised)"))
    if negate:
        acc = -acc
    notes.extend(_clock_check(meta, float(acc_t[0])))
    device = str(meta.get("device name", "")).strip() if meta.get("device name") is not None else ""
    if not device or device.lower() == "nan":
        device = "phone (Sensor Logger)"
    rec, _ = build_recording(names, Sensors(acc=(acc_t, acc), gyr=gyr, mag=mag), device=device,
                             profile="sensor-logger", notes=notes,
                             gyro_hint=f"record with Gyroscope switched on too{problem('gyroscope')}",
                             # time is ns since the epoch (UNITS.md); anything else has no date
                             started_at=datetime.fromtimestamp(float(acc_t[0]), tz=timezone.utc)
                             if acc_t[0] > 1e8 else None)  # ns since the epoch (UNITS.md)
    notes.insert(0, f"acceleration from {kind}" + (", magnetometer interpolated onto its times" if mag else ""))
    return rec, notes, bool(acc_t[0] > 1e8)
