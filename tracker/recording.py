"""The recording model: one type for samples of one IMU, in SI units.

A :class:`Recording` is what every source produces (BLE client, file importers,
simulator) and what the store and the analysis consume. It is immutable and validated
on construction, so code downstream never has to re-check shapes or units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from . import schema
from .checks import check_positive_arg
from .errors import ValidationError

if TYPE_CHECKING:  # pandas is imported on use: ``import tracker`` stays light
    import pandas as pd

__all__ = ["Recording", "RecordingMeta", "validate_arrays", "gyro_recorded"]


@dataclass(frozen=True)
class RecordingMeta:
    """What is known about where the samples came from.

    Attributes
    ----------
    device : str
        Device name or address as the person would recognise it.
    profile : str
        Device profile id (``tracker-imu``, ``witmotion``, ...) or the import source
        (``csv``, ``phyphox``, ``sensor-logger``, ``simulator``).
    nominal_rate_hz : float or None
        The rate the device was configured for; the achieved rate is measured.
    started_at : datetime
        UTC wall-clock time of ``t_s == 0``.
    placement : str
        Where the sensor is worn.
    """

    device: str = "unknown"
    profile: str = "csv"
    nominal_rate_hz: float | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    placement: str = "lower_back"

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None:
            raise ValidationError("started_at must be timezone-aware (UTC)")
        if self.nominal_rate_hz is not None and not (0 < self.nominal_rate_hz <= 10_000):
            raise ValidationError(f"nominal_rate_hz {self.nominal_rate_hz} is not in (0, 10000]")


def _as_2d(name: str, values: object, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValidationError(f"{name} must have shape (N, 3), got {arr.shape}")
    if arr.shape[0] != n:
        raise ValidationError(f"{name} has {arr.shape[0]} rows but t_s has {n}")
    return arr


def _check_finite_and_range(name: str, arr: np.ndarray, limit: float, unit: str, t: np.ndarray) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argwhere(bad.any(axis=-1) if arr.ndim > 1 else bad)[0][0])
        raise ValidationError(f"{name} is NaN or infinite at sample {i} (t={t[i]:.6f} s)")
    over = np.abs(arr) > limit
    if over.any():
        i = int(np.argwhere(over.any(axis=-1))[0][0])
        raise ValidationError(
            f"{name} at sample {i} (t={t[i]:.6f} s) is {np.abs(arr[i]).max():.4g} {unit}, "
            f"beyond the physical limit {limit:.4g} {unit}"
        )


def gyro_recorded(gyr_rad_s: np.ndarray) -> bool:
    """False for an all-zero gyroscope column: how a sensor without one is recorded.

    A Polar H10, a micro:bit and an accelerometer-only phone export all store zeros; a
    working gyroscope is never exactly zero for a whole recording (noise).
    """
    gyr = np.asarray(gyr_rad_s)
    # a working gyroscope shows up in the first samples: no full pass over an hour
    return bool(np.any(gyr[:256] != 0.0) or np.any(gyr != 0.0))


def validate_arrays(
    t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, mag_uT: np.ndarray | None
) -> None:
    """Raise :class:`ValidationError` naming the first sample that breaks the model.

    Checks shapes, NaN/inf, strictly increasing times and physically impossible values
    (|acc| > 50 g, |gyr| > 40 rad/s, |mag| > 5000 µT).
    """
    if t_s.ndim != 1:
        raise ValidationError(f"t_s must be one-dimensional, got shape {t_s.shape}")
    bad_t = ~np.isfinite(t_s)
    if bad_t.any():
        i = int(np.argmax(bad_t))
        raise ValidationError(f"t_s is NaN or infinite at sample {i}")
    if t_s.size > 1:
        step = np.diff(t_s)
        if (step <= 0).any():
            i = int(np.argmax(step <= 0)) + 1
            kind = "duplicate" if step[i - 1] == 0 else "non-monotonic"
            raise ValidationError(
                f"{kind} time at sample {i}: t={t_s[i]:.6f} s after t={t_s[i - 1]:.6f} s"
            )
    _check_finite_and_range("acc", acc_m_s2, schema.MAX_ABS_ACC_M_S2, "m/s²", t_s)
    _check_finite_and_range("gyr", gyr_rad_s, schema.MAX_ABS_GYR_RAD_S, "rad/s", t_s)
    if mag_uT is not None:
        _check_finite_and_range("mag", mag_uT, schema.MAX_ABS_MAG_UT, "µT", t_s)


@dataclass(frozen=True, eq=False)
class Recording:
    """Samples of one IMU on one time base.

    Attributes
    ----------
    t_s : ndarray, shape (N,)
        Seconds since the session start, strictly increasing.
    acc_m_s2 : ndarray, shape (N, 3)
        Specific force in m/s² in the sensor frame (reads +g upward at rest).
    gyr_rad_s : ndarray, shape (N, 3)
        Angular rate in rad/s in the sensor frame; all zeros for a sensor without a
        gyroscope (:attr:`has_gyro`).
    mag_uT : ndarray, shape (N, 3), or None
        Magnetic field in µT, when the device has a magnetometer.
    meta : RecordingMeta
        Device, profile, nominal rate, UTC start, placement.

    Raises
    ------
    ValidationError
        On wrong shapes, NaN/inf, duplicate or decreasing times, impossible values.
    """

    t_s: np.ndarray
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray
    mag_uT: np.ndarray | None = None
    meta: RecordingMeta = field(default_factory=RecordingMeta)

    def __post_init__(self) -> None:
        t = np.asarray(self.t_s, dtype=np.float64)
        if t.ndim != 1:
            raise ValidationError(f"t_s must be one-dimensional, got shape {t.shape}")
        acc = _as_2d("acc", self.acc_m_s2, t.size)
        gyr = _as_2d("gyr", self.gyr_rad_s, t.size)
        mag = None if self.mag_uT is None else _as_2d("mag", self.mag_uT, t.size)
        validate_arrays(t, acc, gyr, mag)
        for name, arr in (("t_s", t), ("acc_m_s2", acc), ("gyr_rad_s", gyr), ("mag_uT", mag)):
            if arr is not None:
                arr = np.array(arr, dtype=np.float64, copy=True)  # never alias a caller's array
                arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return int(self.t_s.size)

    def __repr__(self) -> str:
        # A summary, not the arrays: a notebook cell showing a recording stays readable.
        sensors = "acc+gyr" if self.has_gyro else "acc only"
        if self.has_mag:
            sensors += "+mag"
        start = self.meta.started_at.isoformat() if self.meta.started_at else "unknown start"
        return (f"Recording({len(self)} samples, {self.duration_s:.1f} s, {self.achieved_rate_hz:.1f} Hz, "
                f"{sensors}, device={self.meta.device!r}, started {start})")

    @property
    def has_mag(self) -> bool:
        return self.mag_uT is not None

    @property
    def has_gyro(self) -> bool:
        """False when the gyroscope column is all zeros (an accelerometer-only sensor)."""
        return gyro_recorded(self.gyr_rad_s)

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if len(self) > 1 else 0.0

    @property
    def achieved_rate_hz(self) -> float:
        """Median sample rate (robust to gaps)."""
        if len(self) < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.t_s)))

    @property
    def sample_rate_hz(self) -> float:
        """The nominal rate when known, else the achieved rate."""
        return self.meta.nominal_rate_hz or self.achieved_rate_hz

    def slice(self, start: int, stop: int) -> "Recording":
        """Samples ``[start, stop)`` with the same metadata."""
        return Recording(
            self.t_s[start:stop], self.acc_m_s2[start:stop], self.gyr_rad_s[start:stop],
            None if self.mag_uT is None else self.mag_uT[start:stop], self.meta,
        )

    def with_meta(self, **changes: Any) -> "Recording":
        return dataclasses.replace(self, meta=dataclasses.replace(self.meta, **changes))

    @classmethod
    def concat(cls, parts: list["Recording"], meta: RecordingMeta | None = None) -> "Recording":
        """Join recordings that follow each other in time."""
        if not parts:
            raise ValidationError("nothing to concatenate")
        mags = [p.mag_uT for p in parts if p.mag_uT is not None]
        mag = np.concatenate(mags) if len(mags) == len(parts) else None
        return cls(
            np.concatenate([p.t_s for p in parts]),
            np.concatenate([p.acc_m_s2 for p in parts]),
            np.concatenate([p.gyr_rad_s for p in parts]),
            mag, meta or parts[0].meta,
        )

    # ------------------------------------------------------------ conversion
    def to_array(self) -> np.ndarray:
        """(N, 7) or (N, 10) float64 array in :data:`schema.RAW_COLUMNS(_WITH_MAG)` order."""
        cols = [self.t_s[:, None], self.acc_m_s2, self.gyr_rad_s]
        if self.mag_uT is not None:
            cols.append(self.mag_uT)
        return np.hstack(cols)

    @classmethod
    def from_array(cls, data: np.ndarray, meta: RecordingMeta | None = None) -> "Recording":
        data = np.asarray(data, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] not in (7, 10):
            raise ValidationError(f"sample array must have 7 or 10 columns, got shape {data.shape}")
        mag = data[:, 7:10] if data.shape[1] == 10 else None
        return cls(data[:, 0], data[:, 1:4], data[:, 4:7], mag, meta or RecordingMeta())

    def to_frame(self) -> pd.DataFrame:
        """DataFrame with the CSV contract's column names (units in the names)."""
        import pandas as pd

        cols = schema.RAW_COLUMNS_WITH_MAG if self.has_mag else schema.RAW_COLUMNS
        return pd.DataFrame(self.to_array(), columns=list(cols))

    @classmethod
    def from_arrays(
        cls, *, acc_m_s2: Any = None, acc_g: Any = None, gyr_rad_s: Any = None,
        gyr_deg_s: Any = None, mag_uT: Any = None, t_s: Any = None,
        sampling_rate_hz: float | None = None, meta: RecordingMeta | None = None,
        **meta_fields: Any,
    ) -> "Recording":
        """A recording from arrays whose units are named by the keyword.

        Parameters
        ----------
        acc_m_s2, acc_g : array (N, 3)
            Accelerometer (specific force: +1 g upward at rest) in m/s² or in g; exactly one.
        gyr_rad_s, gyr_deg_s : array (N, 3)
            Gyroscope in rad/s or deg/s; exactly one.
        mag_uT : array (N, 3), optional
            Magnetometer in µT.
        t_s : array (N,), optional
            Sample times in seconds. Without it, ``sampling_rate_hz`` spaces the samples
            evenly from 0 (and is kept as the nominal rate).
        sampling_rate_hz : float, optional
        meta : RecordingMeta, optional
            Or its fields as keywords (``device=``, ``started_at=``...).

        Raises
        ------
        ValidationError
            Both or neither unit of a sensor given, no time base, or what
            :class:`Recording` rejects (shapes, NaN, impossible values).

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording.from_arrays(acc_g=np.tile([0, 0, 1.0], (100, 1)),
        ...                             gyr_deg_s=np.zeros((100, 3)), sampling_rate_hz=50)
        >>> rec.acc_m_s2[0, 2], rec.duration_s
        (9.80665, 1.98)
        """
        acc = _one_of("acc", acc_m_s2=acc_m_s2, acc_g=acc_g)
        gyr = _one_of("gyr", gyr_rad_s=gyr_rad_s, gyr_deg_s=gyr_deg_s)
        acc_arr = np.asarray(acc[1], dtype=np.float64)
        gyr_arr = np.asarray(gyr[1], dtype=np.float64)
        if acc[0] == "acc_g":
            acc_arr = acc_arr * schema.STANDARD_GRAVITY_M_S2
        if gyr[0] == "gyr_deg_s":
            gyr_arr = np.deg2rad(gyr_arr)
        if t_s is None:
            if sampling_rate_hz is None:
                raise ValidationError("give the sample times (t_s=) or the rate (sampling_rate_hz=)")
            rate = check_positive_arg("sampling_rate_hz", sampling_rate_hz)
            t = np.arange(acc_arr.shape[0] if acc_arr.ndim else 0) / rate
        else:
            t = np.asarray(t_s, dtype=np.float64)
        if meta is None:
            meta_fields.setdefault("profile", "arrays")
            if sampling_rate_hz is not None:
                meta_fields.setdefault("nominal_rate_hz", float(sampling_rate_hz))
            meta = RecordingMeta(**meta_fields)
        elif meta_fields:
            raise ValidationError("give meta= or its fields as keywords, not both")
        return cls(t, acc_arr, gyr_arr, None if mag_uT is None else mag_uT, meta)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, meta: RecordingMeta | None = None, *,
                   columns: Mapping[str, str] | None = None,
                   sampling_rate_hz: float | None = None, **meta_fields: Any) -> "Recording":
        """A recording from a DataFrame.

        Parameters
        ----------
        frame : DataFrame
            One row per sample. Columns are read by the CSV contract's names (``t_s``,
            ``acc_x_m_s2``... ``gyr_z_rad_s``, optional ``mag_x_uT``...), or in the other
            units ``acc_x_g`` and ``gyr_x_deg_s``.
        columns : mapping, optional
            Your column name -> one of those names, as for ``DataFrame.rename``
            (e.g. ``{"time": "t_s", "ax": "acc_x_g", "gx": "gyr_x_deg_s", ...}``).
        sampling_rate_hz : float, optional
            Evenly spaced samples when the frame has no time column.
        meta, meta_fields
            As for :meth:`from_arrays`.

        Raises
        ------
        ValidationError
            Naming the columns that are missing and what was expected.
        """
        df = frame.rename(columns=dict(columns)) if columns else frame
        present = set(df.columns)
        if columns:
            unknown = sorted(set(columns.values()) - set(_FRAME_TARGETS))
            if unknown:
                raise ValidationError(f"columns= maps to unknown names {unknown}; "
                                      f"use {', '.join(_FRAME_TARGETS)}")
            absent = sorted(set(columns) - set(frame.columns))
            if absent:
                raise ValidationError(f"columns= names {absent}, not in the frame "
                                      f"(it has {list(frame.columns)})")

        def block(*units: str) -> tuple[str, Any]:
            stem = units[0].split("_")[0]
            found = [u for u in units if all(f"{stem}_{ax}_{u.split('_', 1)[1]}" in present for ax in "xyz")]
            if not found:
                names = " or ".join(f"{stem}_x/y/z_{u.split('_', 1)[1]}" for u in units)
                raise ValidationError(f"missing columns: {names} (columns given: {sorted(present)}); "
                                      "map yours with columns={...}")
            unit = found[0].split("_", 1)[1]
            return found[0], df[[f"{stem}_{ax}_{unit}" for ax in "xyz"]].to_numpy(dtype=np.float64)

        acc_kw, acc = block("acc_m_s2", "acc_g")
        gyr_kw, gyr = block("gyr_rad_s", "gyr_deg_s")
        has_mag = all(c in present for c in schema.MAG)
        t = df[schema.TIME].to_numpy(dtype=np.float64) if schema.TIME in present else None
        if t is None and sampling_rate_hz is None:
            raise ValidationError(f"no time column {schema.TIME!r} (columns given: {sorted(present)}); "
                                  "map yours with columns={...} or give sampling_rate_hz=")
        return cls.from_arrays(**{acc_kw: acc, gyr_kw: gyr},
                               mag_uT=df[list(schema.MAG)].to_numpy(dtype=np.float64) if has_mag else None,
                               t_s=t, sampling_rate_hz=sampling_rate_hz, meta=meta, **meta_fields)


#: The names :meth:`Recording.from_frame` reads (its ``columns=`` maps to these).
_FRAME_TARGETS = (schema.TIME, *schema.ACC, *schema.GYR, *schema.MAG,
                  "acc_x_g", "acc_y_g", "acc_z_g", "gyr_x_deg_s", "gyr_y_deg_s", "gyr_z_deg_s")


def _one_of(sensor: str, **given: Any) -> tuple[str, Any]:
    """The one keyword of ``given`` that is not None (a sensor in exactly one unit)."""
    named = [(k, v) for k, v in given.items() if v is not None]
    if len(named) != 1:
        options = " or ".join(f"{k}=" for k in given)
        raise ValidationError(f"give the {sensor} data once, as {options}"
                              + (f" (got {len(named)})" if named else ""))
    return named[0]
