"""What an import gives: the recording plus what a person should know about it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .. import schema
from ..errors import ImportFormatError, ValidationError
from ..recording import Recording, RecordingMeta
from ._tables import interp_onto

__all__ = ["Attachment", "ImportResult", "Sensors", "build_recording", "gravity_at_rest",
           "gravity_warnings", "looks_negated"]


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A non-motion file of the export kept with the session (e.g. the microphone).

    Attributes
    ----------
    name : str
        File name inside the export (``Microphone.mp4``).
    media_type : str
        MIME type from the file name (``audio/mp4``).
    source : str
        Where it was read from, for messages (``export.zip!Microphone.mp4``).
    data : bytes
        The file's bytes, unchanged.
    """

    name: str
    media_type: str
    source: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    """One imported recording.

    Attributes
    ----------
    recording : Recording
        Samples in SI units in the phone's right-handed frame, specific force (+g up at rest).
    source : str
        ``csv`` (ours), ``sensor-logger``, ``phyphox``, ``metabase`` or ``physics-toolbox``.
    files : tuple of str
        The files the samples came from.
    notes : tuple of str
        What was decided or skipped (empty files, unused sensors, sign convention...).
    warnings : tuple of str
        Doubts about the data (e.g. gravity at rest points the wrong way).
    attachments : tuple of Attachment
        Audio kept for the crack analysis.
    start_source : str
        Where ``recording.meta.started_at`` came from: ``file``, ``manifest``, ``--start``
        or ``import time``.
    self_report : dict
        Self-reported pain found with the file (``pain_before`` / ``pain_after``, 0–10;
        from a ``sessions.csv`` next to it), to store with :meth:`Store.set_self_report`.
    """

    recording: Recording
    source: str
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    start_source: str = "file"
    self_report: dict[str, int] = field(default_factory=dict)


@dataclass
class Sensors:
    """Per-sensor times (s, any common origin) and values, before merging.

    ``gyr`` None: the export has no gyroscope (an accelerometer-only session).
    """

    acc: tuple[np.ndarray, np.ndarray]
    gyr: tuple[np.ndarray, np.ndarray] | None
    mag: tuple[np.ndarray, np.ndarray] | None = None


def build_recording(name: str, sensors: Sensors, *, device: str, profile: str,
                    started_at: datetime | None, origin_s: float | None = None,
                    notes: list[str] | None = None, gyro_hint: str = ""
                    ) -> tuple[Recording, float]:
    """Merge the sensors onto the accelerometer's times and build the :class:`Recording`.

    Gyroscope and magnetometer are linearly interpolated onto the accelerometer's
    time stamps over the span all of them cover. ``started_at`` is the wall clock of
    time ``origin_s`` (default: the first accelerometer sample); the session starts at
    the first kept sample. Returns the recording and the kept first time (s).

    Without a gyroscope the recording's ``gyr_rad_s`` is all zeros, as a BLE profile
    without one writes it (:attr:`Recording.has_gyro` False): the analysis then takes
    the angles from gravity alone. :data:`tracker.schema.NO_GYRO_NOTE` and ``gyro_hint`` (what to
    switch on in the app to measure twists) are appended to ``notes``.
    """
    acc_t, acc = sensors.acc
    parts = [p for p in (sensors.gyr, sensors.mag) if p is not None]
    start = max([acc_t[0]] + [p[0][0] for p in parts])
    end = min([acc_t[-1]] + [p[0][-1] for p in parts])
    keep = (acc_t >= start) & (acc_t <= end)
    if keep.sum() < 2:
        raise ImportFormatError(f"{name}: the sensors' time spans do not overlap")
    t = acc_t[keep]
    gyr = interp_onto(t, *sensors.gyr) if sensors.gyr is not None else np.zeros((t.size, 3))
    if sensors.gyr is None and notes is not None:
        notes.append(schema.NO_GYRO_NOTE + (f". To measure seated twists too: {gyro_hint}" if gyro_hint else ""))
    mag = interp_onto(t, *sensors.mag) if sensors.mag is not None else None
    if started_at is not None:
        from datetime import timedelta

        started_at = started_at + timedelta(seconds=float(t[0] - (acc_t[0] if origin_s is None else origin_s)))
    meta = RecordingMeta(device=device, profile=profile)
    if started_at is not None:
        meta = dataclasses.replace(meta, started_at=started_at)
    try:
        return Recording(t - t[0], acc[keep], gyr, mag, meta), float(t[0])
    except ValidationError as exc:
        msg = re.sub(r"sample (\d+)", lambda m: f"sample {int(m.group(1)) + 1}", str(exc))
        raise ImportFormatError(f"{name}: {msg}") from exc


# ------------------------------------------------------------------ gravity at rest
#: A sample is "at rest" when it turns slower than this and its specific force is within
#: REST_ACC_TOL_M_S2 of 1 g.
REST_GYR_RAD_S = 0.15
REST_ACC_TOL_M_S2 = 0.8
#: Gravity along -y by more than this share of 1 g: upside down for an upright wearer.
UPSIDE_DOWN_Y = 0.6


def _rest_mask(acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray | None) -> np.ndarray:
    norm = np.linalg.norm(acc_m_s2, axis=1)
    rest = np.abs(norm - schema.STANDARD_GRAVITY_M_S2) < REST_ACC_TOL_M_S2
    if gyr_rad_s is not None and np.any(gyr_rad_s):
        rest &= np.linalg.norm(gyr_rad_s, axis=1) < REST_GYR_RAD_S
    return rest


def gravity_at_rest(acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray | None = None, *,
                    min_run: int = 25) -> np.ndarray:
    """Mean specific force (m/s²) of the first still stretch (``min_run`` samples at rest).

    The first still stretch is the posture the session starts in (the neutral
    calibration when worn); later postures (lying, all fours) are not mixed in. Falls
    back to the first rest samples, then to every sample.
    """
    rest = _rest_mask(acc_m_s2, gyr_rad_s)
    if rest.any():
        edges = np.flatnonzero(np.diff(np.concatenate([[0], rest.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            if stop - start >= min_run:
                return np.asarray(acc_m_s2[start:stop].mean(axis=0))
        return np.asarray(acc_m_s2[np.flatnonzero(rest)[:min_run]].mean(axis=0))
    return np.asarray(acc_m_s2.mean(axis=0))


def looks_negated(gravity_m_s2: np.ndarray) -> bool | None:
    """Whether a phone's gravity reading has the iOS (negated) sign, judged from its direction.

    A phone is worn top up (belt pouch), held, or lies flat: its specific force at rest
    points along +y or ±z, never mainly along -y. Returns True when it points along -y
    (negated), False along +y, None when the phone was flat or on its side (cannot tell).
    """
    g = np.asarray(gravity_m_s2, dtype=float)
    n = float(np.linalg.norm(g))
    if not np.isfinite(n) or n < 1e-6:
        return None
    y = g[1] / n
    if y < -UPSIDE_DOWN_Y:
        return True
    if y > UPSIDE_DOWN_Y:
        return False
    return None


def gravity_warnings(rec: Recording) -> list[str]:
    """Doubts about a recording's gravity at rest: wrong direction, wrong size."""
    out = []
    g = gravity_at_rest(rec.acc_m_s2, rec.gyr_rad_s)
    rest = _rest_mask(rec.acc_m_s2, rec.gyr_rad_s)
    norms = np.linalg.norm(rec.acc_m_s2[rest] if rest.sum() >= 10 else rec.acc_m_s2, axis=1)
    size = float(np.median(norms))
    if not (0.7 * schema.STANDARD_GRAVITY_M_S2 < size < 1.3 * schema.STANDARD_GRAVITY_M_S2):
        hint = " (the file may be in g, not m/s²)" if 0.7 < size < 1.3 else \
            " (gravity may have been removed: linear acceleration)" if size < 3 else ""
        out.append(f"acceleration at rest is {size:.2f} m/s², not about 9.81{hint}")
    elif looks_negated(g):
        out.append(
            f"gravity at rest points along -y ({g[0]:+.1f}, {g[1]:+.1f}, {g[2]:+.1f} m/s²): upside down for "
            "any plausible wearing (top of the phone or tag up). If it was worn top up, the export "
            "has the iOS sign convention: turn on Sensor Logger's 'Standardise Units & Frames', "
            "or check the sensor's mounting")
    return out
