"""The recording model: one type for samples of one IMU, in SI units.

A :class:`Recording` is what every source produces (BLE client, file importers,
simulator) and what the store and the analysis consume. It is immutable and validated
on construction, so code downstream never has to re-check shapes or units.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from . import schema
from .errors import ValidationError

__all__ = ["Recording", "RecordingMeta", "validate_arrays"]


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
        Angular rate in rad/s in the sensor frame.
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

    @property
    def has_mag(self) -> bool:
        return self.mag_uT is not None

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

    def with_meta(self, **changes: object) -> "Recording":
        return dataclasses.replace(self, meta=dataclasses.replace(self.meta, **changes))

    @classmethod
    def concat(cls, parts: list["Recording"], meta: RecordingMeta | None = None) -> "Recording":
        """Join recordings that follow each other in time."""
        if not parts:
            raise ValidationError("nothing to concatenate")
        mags = [p.mag_uT for p in parts]
        mag = np.concatenate(mags) if all(m is not None for m in mags) else None
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
        cols = schema.RAW_COLUMNS_WITH_MAG if self.has_mag else schema.RAW_COLUMNS
        return pd.DataFrame(self.to_array(), columns=list(cols))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, meta: RecordingMeta | None = None) -> "Recording":
        missing = [c for c in schema.RAW_COLUMNS if c not in frame.columns]
        if missing:
            raise ValidationError(
                f"missing columns {missing}; expected {list(schema.RAW_COLUMNS)} (+ optional mag)"
            )
        has_mag = all(c in frame.columns for c in schema.MAG)
        cols = schema.RAW_COLUMNS_WITH_MAG if has_mag else schema.RAW_COLUMNS
        return cls.from_array(frame[list(cols)].to_numpy(dtype=np.float64), meta)
