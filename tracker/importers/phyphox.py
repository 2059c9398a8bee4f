"""phyphox (RWTH Aachen; iOS and Android) exports: CSV files, a folder or a zip.

Which columns mean what (phyphox's sources, see firmware-notes/phone.md):

* built-in experiments export one sensor each as ``Raw Data.csv``:
  ``"Time (s)","Acceleration x (m/s^2)",...`` ("Acceleration with g"),
  ``"Linear Acceleration x (m/s^2)"`` (without g), ``"Gyroscope x (rad/s)"``,
  ``"Magnetic field x (µT)"``;
* the Android "simple experiment" uses the same names; the iOS one writes one file per
  sensor named after it (``Accelerometer.csv``, ``Linear Accelerometer.csv``,
  ``Gyroscope.csv``, ``Magnetometer.csv``) with ``"X (m/s^2)"``, ``"X (rad/s)"``, ``"X (µT)"``;
* experiments made in the phyphox editor name columns as their author chose, often
  without units (``"time","Acceleration x",...``): phyphox's sensor buffers are SI (s,
  m/s², rad/s, µT);
* CSV flavours: comma, tab or semicolon, with a decimal point or a decimal comma;
* ``meta/time.csv``: ``event, experiment time, system time`` (START/PAUSE rows, system
  time in s since the epoch) gives the wall clock; ``meta/device.csv`` the phone model.

Acceleration "with g" is specific force (+g up at rest) on both platforms, as tracker
expects; no sign change. Without a gyroscope (the built-in "Acceleration with g") the
export is an accelerometer-only session; linear acceleration alone is refused.
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

_TIME = re.compile(r"(time|t)( \(s\))?", re.I)
_UNIT = r"(?: \((?P<unit>[^)]*)\))?"
_AXIS = re.compile(r"(?P<what>[a-z ]*?)\s*(?P<axis>[xyz])" + _UNIT, re.I)
_ACC_UNITS = ("m/s^2", "m/s²", "m/s2")
_MAG_UNITS = ("µt", "μt", "ut", "Âµt")


def _is_meta(t: Table) -> bool:
    return t.rel.lower().replace("\\", "/").split("/")[-2:-1] == ["meta"] or \
        {"event", "experiment time"} <= {c.lower() for c in t.columns} or \
        {"property", "value"} <= {c.lower() for c in t.columns}


def _time_column(t: Table) -> str | None:
    for c in t.columns:
        if _TIME.fullmatch(c.strip()):
            return c
    return None


def _triples(t: Table) -> dict[str, list[str]]:
    """Sensor kind -> [x, y, z] columns found in a table (``acc``, ``linear``, ``gyr``, ``mag``)."""
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for c in t.columns:
        m = _AXIS.fullmatch(c.strip())
        if not m:
            continue
        what = m.group("what").strip().lower()
        unit = (m.group("unit") or "").strip().lower()
        groups.setdefault((what, unit), {})[m.group("axis").lower()] = c
    out: dict[str, list[str]] = {}
    for (what, unit), axes in groups.items():
        if set(axes) != {"x", "y", "z"}:
            continue
        kind = None
        if "linear" in what or (not what and "linear" in t.stem):
            kind = "linear"
        elif what.startswith("acceleration") or what.startswith("accelerometer"):
            kind = "acc"
        elif what.startswith("gyro"):
            kind = "gyr"
        elif what.startswith("magnet"):
            kind = "mag"
        elif not what:  # iOS simple experiment: the unit (and file name) says which sensor
            kind = "acc" if unit in _ACC_UNITS else "gyr" if unit == "rad/s" else \
                "mag" if unit in _MAG_UNITS else None
        if kind is None:
            continue
        if unit and kind in ("acc", "linear") and unit not in _ACC_UNITS:
            continue
        if unit and kind == "gyr" and unit != "rad/s":
            continue
        out.setdefault(kind, [axes["x"], axes["y"], axes["z"]])
    return out


def detect(tables: list[Table]) -> bool:
    if any(_is_meta(t) and {"event", "experiment time"} <= {c.lower() for c in t.columns} for t in tables):
        return True
    return any(_time_column(t) is not None and _triples(t) for t in tables)


def _start_wall_clock(tables: list[Table], first_t_s: float, notes: list[str]) -> datetime | None:
    """Wall clock of experiment time ``first_t_s`` from ``meta/time.csv`` (the run it falls in)."""
    for t in tables:
        cols = {c.lower(): c for c in t.columns}
        if not {"event", "experiment time", "system time"} <= set(cols):
            continue
        events = t.frame[cols["event"]].astype(str).str.strip().str.upper()
        starts = t.frame[events == "START"]
        if starts.empty:
            return None
        try:
            exp_t = numeric(Table(t.name, t.rel, starts), [cols["experiment time"]])[:, 0]
            sys_t = numeric(Table(t.name, t.rel, starts), [cols["system time"]])[:, 0]
        except ImportFormatError as exc:
            notes.append(f"{t.name}: start time not usable ({exc})")
            return None
        k = max(int(np.searchsorted(exp_t, first_t_s, side="right")) - 1, 0)
        return datetime.fromtimestamp(float(sys_t[k] + first_t_s - exp_t[k]), tz=timezone.utc)
    return None


def _device(tables: list[Table]) -> str | None:
    for t in tables:
        cols = {c.lower(): c for c in t.columns}
        if {"property", "value"} <= set(cols):
            props = {str(k).strip(): str(v).strip() for k, v in zip(t.frame[cols["property"]], t.frame[cols["value"]])}
            model = props.get("deviceModel", "")
            brand = props.get("deviceBrand", "")
            if model and model.lower() != "nan":
                return model if not brand or brand.lower() in model.lower() or brand.lower() == "nan" \
                    else f"{brand} {model}"
    return None


def read(tables: list[Table]) -> tuple[Recording, list[str], bool]:
    notes: list[str] = []
    found: dict[str, tuple[Table, str, list[str]]] = {}
    meta = [t for t in tables if _is_meta(t)]
    for t in tables:
        if t in meta:
            continue
        tcol = _time_column(t)
        triples = _triples(t) if tcol else {}
        if not triples:
            notes.append(f"skipped {t.name}: no accelerometer, gyroscope or magnetometer columns")
            continue
        for kind, cols in triples.items():
            if kind in found:
                notes.append(f"skipped {kind} columns of {t.name}: already read from {found[kind][0].name}")
                continue
            found[kind] = (t, tcol, cols)  # type: ignore[assignment]
    names = export_label(tables)
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind, (t, tcol, cols) in found.items():
        data = clean_times(t, numeric(t, [tcol, *cols]), notes)
        arrays[kind] = (data[:, 0], data[:, 1:4])
    # An "acceleration" without gravity (editor experiments name them freely) is linear.
    if "acc" in arrays:
        size = float(np.median(np.linalg.norm(arrays["acc"][1], axis=1)))
        if size < 0.3 * schema.STANDARD_GRAVITY_M_S2:
            notes.append(f"{found['acc'][0].name}: acceleration of median size {size:.2f} m/s² has no gravity in it")
            arrays.setdefault("linear", arrays.pop("acc"))
    if "acc" not in arrays:
        what = ("only 'Linear Acceleration' (gravity removed)" if "linear" in arrays
                else "no accelerometer")
        raise ImportFormatError(
            f"{names}: phyphox export with {what}; tracker needs acceleration with g for orientation. "
            "Record 'Acceleration with g' and 'Gyroscope' in the same run: in phyphox, + → "
            "'New simple experiment' with Accelerometer and Gyroscope, then export as CSV")
    if "linear" in arrays:
        notes.append(f"skipped the linear acceleration of {found['linear'][0].name}: acceleration with g is used")
    acc_t = arrays["acc"][0]
    started = _start_wall_clock(meta, float(acc_t[0]), notes) if meta else None
    device = _device(meta) or "phone (phyphox)"
    # Without a gyroscope (e.g. the built-in "Acceleration with g"): accelerometer only.
    sensors = Sensors(acc=arrays["acc"], gyr=arrays.get("gyr"), mag=arrays.get("mag"))
    rec, _ = build_recording(names, sensors, device=device, profile="phyphox", started_at=started,
                             notes=notes, gyro_hint="phyphox's built-in experiments record one sensor each: "
                             "make a 'New simple experiment' with Accelerometer and Gyroscope (+ → New "
                             "simple experiment)")
    return rec, notes, started is not None
