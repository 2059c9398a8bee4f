"""Phone apps streaming over HTTP: pure decoders of their messages (bytes -> samples).

Two live paths (``firmware-notes/phone.md``), both decoded here and recorded by the
same :class:`~tracker.ble.recorder.Recorder` as a BLE device:

* **phyphox remote access** — the app's web server. ``GET /config`` lists the running
  experiment's inputs (``{"inputs": [{"source": "accelerometer", "outputs": [{"x":
  "accX"}, ..., {"t": "acc_time"}]}, ...]}``); ``GET /get?accX=12.5|acc_time&acc_time=12.5``
  returns the values whose time is past 12.5 s (``{"buffer": {"accX": {"buffer":
  [...]}}, "status": {...}}``). Channel ``phyphox/config`` carries the config,
  ``phyphox/get`` each reply. Units SI; acceleration with g is specific force.
* **Sensor Logger HTTP push** ("Data Streaming"): ``POST`` of ``{"messageId",
  "sessionId", "deviceId", "payload": [{"name": "accelerometer", "time": <ns since the
  epoch>, "values": {"x", "y", "z"}}, ...]}``. Channel ``sensor-logger/push``. Sensor
  names as in the export (``accelerometer`` is gravity-free, ``gravity``,
  ``totalacceleration``, ``gyroscope``, ``magnetometer``); iOS acceleration and gravity
  are the negative of Android's unless "Standardise Units & Frames" is on: the sign is
  given (``negate``) or judged from the first gravity reading, as for imports.

Sensors arrive on their own clocks: accelerometer samples are held until the gyroscope
(and gravity, when added) covers them, then the others are interpolated onto them.
Gaps (phone clock steps over :data:`tracker.quality.GAP_FACTOR` periods) are counted as
lost samples.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..errors import DecodeError
from ..importers._model import looks_negated
from ..quality import GAP_FACTOR
from ._base import Decoder, Profile, SampleBatch, Write

__all__ = ["PHYPHOX", "SENSOR_LOGGER", "PhyphoxConfig", "phyphox_config", "parse_push",
           "PUSH_SENSORS", "PUSH_IGNORED"]

PHYPHOX_CONFIG = "phyphox/config"
PHYPHOX_GET = "phyphox/get"
PHYPHOX_RESTART = "phyphox/restart"  # the phone's data was cleared: its times start again
SENSOR_LOGGER_PUSH = "sensor-logger/push"

#: Sensor Logger push names tracker uses, and names it knows but does not use.
PUSH_SENSORS = ("accelerometer", "gravity", "totalacceleration", "gyroscope", "magnetometer")
PUSH_IGNORED = ("orientation", "location", "barometer", "microphone", "pedometer", "battery", "brightness",
                "compass", "heartrate", "wrist motion", "wristmotion", "accelerometeruncalibrated",
                "gyroscopeuncalibrated", "magnetometeruncalibrated", "annotation", "light", "network",
                "watch", "bluetooth", "camera")
#: Rates a phone app may be set to (Hz); the recorder's nominal rate is the nearest.
_PHONE_RATES = (1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 30.0, 50.0, 60.0, 100.0, 200.0, 400.0, 500.0)


class _Merger:
    """Acc held until gyro (and the other streams) cover it; one time base; gap counting."""

    def __init__(self, streams: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        self.streams = streams  # stream 0 is the time base (acc)
        self.optional = optional
        self.t: dict[str, np.ndarray] = {k: np.zeros(0) for k in streams + optional}
        self.v: dict[str, np.ndarray] = {k: np.zeros((0, 3)) for k in streams + optional}
        self.last_in: dict[str, float] = {}
        self.t0: float | None = None
        self.last_t: float | None = None
        self.period: float | None = None

    def add(self, key: str, t: np.ndarray, v: np.ndarray) -> None:
        if t.size == 0:
            return
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        # Drop repeats: within the message, and anything not after what this stream gave
        # before (phyphox's rounded thresholds can return the last sample again).
        prev = self.last_in.get(key, -np.inf)
        keep = np.concatenate([[True], np.diff(t) > 0]) & (t > prev)
        if not keep.any():
            return
        self.t[key] = np.concatenate([self.t[key], t[keep]])
        self.v[key] = np.concatenate([self.v[key], v[keep]])
        self.last_in[key] = float(t[keep][-1])

    def take(self, host_time_s: float, *, final: bool = False) -> SampleBatch | None:
        base = self.streams[0]
        ta = self.t[base]
        if ta.size == 0 or any(self.t[k].size == 0 for k in self.streams[1:]):
            return None
        cover = min(float(self.t[k][-1]) for k in self.streams[1:])
        n = ta.size if final else int(np.searchsorted(ta, cover, side="right"))
        if n == 0:
            return None
        t, acc = ta[:n], self.v[base][:n]
        others = {}
        for k in self.streams[1:] + self.optional:
            if self.t[k].size:
                others[k] = np.column_stack([np.interp(t, self.t[k], self.v[k][:, j]) for j in range(3)])
        # Keep the tail the next samples interpolate from; drop what is used up.
        self.t[base], self.v[base] = ta[n:], self.v[base][n:]
        for k in self.streams[1:] + self.optional:
            cut = max(int(np.searchsorted(self.t[k], t[-1], side="left")) - 1, 0)
            self.t[k], self.v[k] = self.t[k][cut:], self.v[k][cut:]
        if self.t0 is None:
            self.t0 = float(t[0])
        lost = 0
        if t.size > 2:  # the phone's own period, smoothed over batches
            med = float(np.median(np.diff(t)))
            self.period = med if self.period is None else 0.9 * self.period + 0.1 * med
        if self.period and self.last_t is not None:
            step = float(t[0]) - self.last_t
            if step > GAP_FACTOR * self.period:
                lost = int(round(step / self.period)) - 1
        self.last_t = float(t[-1])
        return SampleBatch(t - self.t0, acc, np.zeros((0, 3)), None, lost, None, host_time_s,
                           extras={"others": others})  # type: ignore[dict-item]


def _batch(raw: SampleBatch, gyr_key: str, mag_key: str | None, add: tuple[str, ...] = (),
           sign: float = 1.0) -> SampleBatch:
    others: dict[str, np.ndarray] = raw.extras["others"] if raw.extras else {}  # type: ignore[assignment]
    acc = raw.acc_m_s2 + sum((others[k] for k in add), np.zeros_like(raw.acc_m_s2))
    # Live phone sessions keep accelerometer and gyroscope; the magnetometer (optional,
    # often slower) is not stored.
    del mag_key
    return SampleBatch(raw.t_s, sign * acc, others[gyr_key], None, raw.lost_samples, None, raw.host_time_s)


# --------------------------------------------------------------------------- phyphox
class PhyphoxConfig:
    """Buffer names of the sensors tracker reads, from phyphox's ``/config`` reply."""

    def __init__(self, acc: dict[str, str], gyr: dict[str, str], mag: dict[str, str] | None,
                 title: str = "") -> None:
        self.acc, self.gyr, self.mag, self.title = acc, gyr, mag, title

    def get_query(self, since: dict[str, float | None]) -> str:
        """``/get`` query for everything after the last times seen (``None``: full buffer)."""
        parts = []
        for sensor in [self.acc, self.gyr] + ([self.mag] if self.mag else []):
            tb = sensor["t"]
            last = since.get(tb)
            thr = "full" if last is None else repr(float(last))
            parts.append(f"{tb}={thr}")
            parts += [f"{sensor[a]}={thr}" + ("" if last is None else f"%7C{tb}") for a in "xyz"]
        return "&".join(parts)

    def time_buffers(self) -> list[str]:
        return [s["t"] for s in (self.acc, self.gyr, self.mag) if s]


def phyphox_config(body: bytes) -> PhyphoxConfig:
    """Parse ``/config``; :class:`DecodeError` saying what the experiment lacks."""
    try:
        conf = json.loads(body)
        inputs = conf["inputs"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DecodeError(f"phyphox /config is not the expected JSON ({exc})") from exc
    found: dict[str, dict[str, str]] = {}
    for inp in inputs if isinstance(inputs, list) else []:
        if not isinstance(inp, dict):
            continue
        src = str(inp.get("source", "")).lower()
        outs: dict[str, str] = {}
        for o in inp.get("outputs", []) or []:
            if isinstance(o, dict):
                outs.update({str(k): str(v) for k, v in o.items()})
        if not all(k in outs for k in ("x", "y", "z", "t")):
            continue
        key = {"accelerometer": "acc", "gyroscope": "gyr", "magnetic_field": "mag", "magnetometer": "mag",
               "linear_acceleration": "linear"}.get(src)
        if key and key not in found:
            found[key] = outs
    title = str(conf.get("localTitle") or conf.get("title") or "")
    if "acc" not in found or "gyr" not in found:
        what = "only linear acceleration (gravity removed)" if "linear" in found and "acc" not in found else \
            "no accelerometer" if "acc" not in found else "no gyroscope"
        raise DecodeError(
            f"the phyphox experiment {title!r} has {what} with time output; open a simple experiment with "
            "Accelerometer and Gyroscope (+ → New simple experiment) and allow remote access")
    return PhyphoxConfig(found["acc"], found["gyr"], found.get("mag"), title)


class _PhyphoxDecoder(Decoder):
    def __init__(self, profile: Profile, rate_hz: float) -> None:
        super().__init__(profile, rate_hz)
        self.config: PhyphoxConfig | None = None
        self.merge = _Merger(("acc", "gyr"), ("mag",))
        self.offset_s = 0.0  # added to the phone's times after a clear

    def _feed(self, uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        if uuid == PHYPHOX_CONFIG:
            self.config = phyphox_config(data)
            return None
        if uuid == PHYPHOX_RESTART:
            # Continue the session's time base one period after the last sample.
            last = max(self.merge.last_in.values(), default=None)
            if last is not None:
                self.offset_s = last + (self.merge.period or 1.0 / self.rate_hz)
            return None
        if uuid != PHYPHOX_GET:
            raise DecodeError(f"phyphox: unknown channel {uuid!r}")
        if self.config is None:
            raise DecodeError("phyphox: data before the experiment config")
        try:
            buffers = json.loads(data)["buffer"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DecodeError(f"phyphox: /get reply is not the expected JSON ({exc})") from exc
        self._stats["packets"] += 1
        for key, sensor in (("acc", self.config.acc), ("gyr", self.config.gyr), ("mag", self.config.mag)):
            if not sensor:
                continue
            cols = [_values(buffers, sensor[a]) for a in ("t", "x", "y", "z")]
            n = min(len(c) for c in cols)
            arr = np.array([c[:n] for c in cols], dtype=float).T if n else np.zeros((0, 4))
            arr = arr[np.isfinite(arr).all(axis=1)]
            self.merge.add(key, arr[:, 0] + self.offset_s, arr[:, 1:4])
        raw = self.merge.take(host_time_s)
        return None if raw is None else _batch(raw, "gyr", "mag" if self.config.mag else None)

    def _flush(self) -> SampleBatch | None:
        raw = self.merge.take(float("nan"), final=True)
        return None if raw is None else _batch(raw, "gyr", "mag" if self.config and self.config.mag else None)


def _values(buffers: Any, name: str) -> list[float]:
    entry = buffers.get(name) if isinstance(buffers, dict) else None
    vals = entry.get("buffer") if isinstance(entry, dict) else None
    if not isinstance(vals, list):
        return []
    return [float("nan") if v is None else float(v) for v in vals]


# --------------------------------------------------------------------- Sensor Logger
def parse_push(body: bytes) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, int]]:
    """Sensor Logger push body -> {sensor: (time ns as float s, xyz)} and {unknown name: count}.

    Raises :class:`DecodeError` saying what is wrong with the message.
    """
    try:
        msg = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"not JSON: {exc}") from exc
    payload = msg.get("payload") if isinstance(msg, dict) else None
    if not isinstance(payload, list):
        raise DecodeError('expected {"messageId", "sessionId", "deviceId", "payload": [...]}')
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    unknown: dict[str, int] = {}
    for i, item in enumerate(payload):
        if not isinstance(item, dict) or "name" not in item:
            raise DecodeError(f"payload[{i}] has no sensor name")
        name = str(item["name"]).strip().lower()
        if name not in PUSH_SENSORS:
            if name not in PUSH_IGNORED:
                unknown[name] = unknown.get(name, 0) + 1
            continue
        # x, y, z under "values" (the documented push); top-level fields accepted too.
        vals = item.get("values") if isinstance(item.get("values"), dict) else item
        try:
            t_s = float(item["time"]) * 1e-9
            x, y, z = (float(vals[a]) for a in "xyz")  # type: ignore[index]
        except (KeyError, TypeError, ValueError) as exc:
            raise DecodeError(f"payload[{i}] ({name}) needs time (ns) and values x, y, z ({exc})") from exc
        if not all(np.isfinite([t_s, x, y, z])):
            raise DecodeError(f"payload[{i}] ({name}) has a value that is not a finite number")
        rows.setdefault(name, []).append((t_s, x, y, z))
    out = {k: (np.array([r[0] for r in v]), np.array([r[1:] for r in v])) for k, v in rows.items()}
    return out, unknown


class _SensorLoggerDecoder(Decoder):
    def __init__(self, profile: Profile, rate_hz: float, negate: bool | None = None) -> None:
        super().__init__(profile, rate_hz)
        self.negate = negate  # None: judged from the first gravity reading
        self.judged: str | None = None
        self.mode: str | None = None  # "total" or "split"
        self.merge: _Merger | None = None
        self.unknown: dict[str, int] = {}
        # Messages before the sensors are known (e.g. gravity first in the 2nd message).
        self.pending: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []
        self.seen: set[str] = set()

    def _feed(self, uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        if uuid != SENSOR_LOGGER_PUSH:
            raise DecodeError(f"sensor-logger: unknown channel {uuid!r}")
        sensors, unknown = parse_push(data)
        for k, n in unknown.items():
            self.unknown[k] = self.unknown.get(k, 0) + n
        self._stats["packets"] += 1
        self.seen.update(sensors)
        if self.mode is None:
            if "totalacceleration" in self.seen:
                self.mode = "total"
                self.merge = _Merger(("totalacceleration", "gyroscope"), ("magnetometer",))
            elif {"accelerometer", "gravity"} <= self.seen:
                self.mode = "split"
                self.merge = _Merger(("accelerometer", "gravity", "gyroscope"), ("magnetometer",))
            else:  # keep it until the message that shows what the phone sends
                self.pending.append(sensors)
                return None
        assert self.merge is not None
        for msg in [*self.pending, sensors]:
            if self.negate is None:
                g = msg.get("gravity" if self.mode == "split" else "totalacceleration")
                if g is not None:
                    judged = looks_negated(g[1].mean(axis=0))
                    self.negate = bool(judged)
                    self.judged = ("negated (gravity along -y: iOS without 'Standardise Units & Frames')"
                                   if judged else "kept (gravity along +y)" if judged is False
                                   else "kept (phone flat or on its side: cannot tell)")
            for k, (t, v) in msg.items():
                if k in self.merge.t:
                    self.merge.add(k, t, v)
        self.pending = []
        if self.negate is None:
            return None
        return self._out(self.merge.take(host_time_s))

    def _out(self, raw: SampleBatch | None) -> SampleBatch | None:
        if raw is None:
            return None
        sign = -1.0 if self.negate else 1.0
        if self.mode == "split":
            return _batch(raw, "gyroscope", "magnetometer", add=("gravity",), sign=sign)
        return _batch(raw, "gyroscope", "magnetometer", sign=sign)

    def _flush(self) -> SampleBatch | None:
        if self.merge is None:
            if self.pending:
                raise DecodeError("Sensor Logger sent no Gravity or Total Acceleration: switch one of them on "
                                  f"(received: {', '.join(sorted(self.seen))})")
            return None
        if self.negate is None:
            self.negate = False
        return self._out(self.merge.take(float("nan"), final=True))

    def _update_stats(self) -> None:
        self._stats["unknown_sensors"] = dict(self.unknown)
        self._stats["sign"] = self.judged


class _PhoneProfile(Profile):
    def start_commands(self, rate_hz: float) -> list[Write]:
        return []

    def stop_commands(self) -> list[Write]:
        return []


class _PhyphoxProfile(_PhoneProfile):
    def make_decoder(self, rate_hz: float) -> Decoder:
        return _PhyphoxDecoder(self, rate_hz)


class _SensorLoggerProfile(_PhoneProfile):
    negate: bool | None = None

    def make_decoder(self, rate_hz: float) -> Decoder:
        return _SensorLoggerDecoder(self, rate_hz, self.negate)


_COMMON: dict[str, Any] = dict(service_uuid="", notify_uuids=[], has_gyro=True, max_rate_hz=500.0,
                               rate_choices_hz=_PHONE_RATES, angles=Profile.ANGLES_ALL)
PHYPHOX = _PhyphoxProfile(id="phyphox-live", display_name="phone (phyphox remote access)", has_mag=False,
                          notes="polled over Wi-Fi; the phone's clock times the samples", **_COMMON)
SENSOR_LOGGER = _SensorLoggerProfile(id="sensor-logger-live", display_name="phone (Sensor Logger push)",
                                     has_mag=False, notes="pushed over Wi-Fi in batches", **_COMMON)


def sensor_logger_profile(negate: bool | None) -> Profile:
    """The push profile with the sign given (True: iOS raw, False: Android/standardised) or judged (None)."""
    import dataclasses

    p = dataclasses.replace(SENSOR_LOGGER)
    object.__setattr__(p, "negate", negate)
    return p
