"""Nordic Thingy:52 Motion service (TMS): raw motion decoder, config, quaternion.

Facts: ``../shared/device-profiles.md`` §3 (Nordic-Thingy52-FW ``ble_tms``/``m_motion``).

Raw (``EF680406``), 18 bytes int16 LE: acc Q6.10 (÷1024 → g), gyro Q11.5 (÷32 →
°/s), compass Q12.4 (÷16 → µT). One sample per notification, no counter.

Axes: acc and gyro in the MPU-9250 frame (right-handed, acc = specific force). The
firmware already remaps the compass (x ← raw y, y ← −raw x); whether that lines up
exactly with the accelerometer axes is UNCONFIRMED, so compass values pass through.
Timing: counterless (sample ``k`` at ``k / rate``; gaps from host arrival times).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import DecodeError
from ..schema import STANDARD_GRAVITY_M_S2
from ._base import Profile, SampleBatch, Write
from ._timing import CounterlessDecoder

__all__ = [
    "CONFIG_UUID",
    "QUATERNION_UUID",
    "RAW_UUID",
    "SERVICE_UUID",
    "ThingyConfig",
    "decode_thingy_config",
    "decode_thingy_quaternion",
    "decode_thingy_raw",
    "encode_thingy_config",
    "encode_thingy_raw",
]

_BASE = "ef68{:04x}-9b35-4933-9b10-52ffa9740042"
SERVICE_UUID = _BASE.format(0x0400)
CONFIG_UUID = _BASE.format(0x0401)
QUATERNION_UUID = _BASE.format(0x0404)
RAW_UUID = _BASE.format(0x0406)
EULER_UUID = _BASE.format(0x0407)
#: Thingy configuration service, advertised by the Thingy.
ADVERTISED_CONFIG_SERVICE = _BASE.format(0x0100)

_RAW = struct.Struct("<9h")
_CFG = struct.Struct("<HHHHB")
_QUAT = struct.Struct("<4i")


@dataclass(frozen=True)
class ThingyConfig:
    """TMS config characteristic (9 bytes); ranges as the firmware enforces them."""

    pedo_interval_ms: int = 1000
    temp_interval_ms: int = 500
    compass_interval_ms: int = 500
    motion_freq_hz: int = 10
    wake_on_motion: bool = True


def encode_thingy_config(c: ThingyConfig) -> bytes:
    """Pack the config; raises ValueError for values the firmware rejects."""
    if not (100 <= c.pedo_interval_ms <= 5000 and 100 <= c.temp_interval_ms <= 5000
            and 100 <= c.compass_interval_ms <= 1000 and 5 <= c.motion_freq_hz <= 200):
        raise ValueError(f"Thingy config out of range: {c}")
    return _CFG.pack(c.pedo_interval_ms, c.temp_interval_ms, c.compass_interval_ms,
                     c.motion_freq_hz, int(c.wake_on_motion))


def decode_thingy_config(data: bytes) -> ThingyConfig:
    """Unpack the 9-byte config (no range check: it reports what the device holds)."""
    if len(data) != _CFG.size:
        raise DecodeError(f"thingy52: config must be 9 bytes, got {len(data)}")
    p, t, c, f, w = _CFG.unpack(data)
    if w > 1:
        raise DecodeError(f"thingy52: wake_on_motion byte {w} is not 0/1")
    return ThingyConfig(p, t, c, f, bool(w))


def decode_thingy_raw(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One raw notification → (acc g, gyro °/s, compass µT), each shape (3,)."""
    if len(data) != _RAW.size:
        raise DecodeError(f"thingy52: raw motion must be 18 bytes, got {len(data)}")
    raw = np.asarray(_RAW.unpack(data), dtype=np.float64)
    return raw[0:3] / 1024.0, raw[3:6] / 32.0, raw[6:9] / 16.0


def encode_thingy_raw(acc_g: np.ndarray, gyr_dps: np.ndarray, mag_uT: np.ndarray) -> bytes:
    """Inverse of :func:`decode_thingy_raw` (for tests and emulation)."""
    vals = np.concatenate([np.asarray(acc_g) * 1024.0, np.asarray(gyr_dps) * 32.0, np.asarray(mag_uT) * 16.0])
    return _RAW.pack(*(int(v) for v in np.clip(np.rint(vals), -32768, 32767)))


def decode_thingy_quaternion(data: bytes) -> np.ndarray:
    """Quaternion notification → (w, x, y, z), Q2.30."""
    if len(data) != _QUAT.size:
        raise DecodeError(f"thingy52: quaternion must be 16 bytes, got {len(data)}")
    return np.asarray(_QUAT.unpack(data), dtype=np.float64) / 2**30


class ThingyDecoder(CounterlessDecoder):
    """Raw-motion decoder; quaternion notifications (if subscribed) go to :attr:`latest`."""

    def __init__(self, profile: Profile, rate_hz: float) -> None:
        super().__init__(profile, rate_hz)
        self.latest: dict[str, object] = {}

    def _feed(self, uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        if uuid == QUATERNION_UUID:
            self.latest["quat_wxyz"] = decode_thingy_quaternion(data)
            return None
        if uuid == CONFIG_UUID:
            self.latest["config"] = decode_thingy_config(data)
            return None
        if uuid != RAW_UUID:
            raise DecodeError(f"thingy52: notification from unexpected characteristic {uuid}")
        acc, gyr, mag = decode_thingy_raw(data)
        self._stats["packets"] += 1
        return self._push(np.concatenate([acc, gyr, mag])[None, :], host_time_s)

    def _batch(self, t_s: np.ndarray, rows: np.ndarray, lost: int, host_time_s: float) -> SampleBatch:
        return SampleBatch(t_s, rows[:, 0:3] * STANDARD_GRAVITY_M_S2, np.radians(rows[:, 3:6]), rows[:, 6:9],
                           lost, None, host_time_s)


@dataclass(frozen=True, eq=False)
class ThingyProfile(Profile):
    """Thingy:52: rate via the TMS config (motion_freq_hz), streaming on subscribe."""

    def actual_rate_hz(self, requested_hz: float) -> float:
        if not math.isfinite(requested_hz) or requested_hz <= 0:
            return self.default_rate_hz
        return float(min(200, max(5, round(requested_hz))))

    def start_commands(self, rate_hz: float) -> list[Write]:
        # The Nordic library reads, patches bytes 6-7 and writes back; being pure, we
        # write the firmware defaults for the other fields instead.
        cfg = ThingyConfig(motion_freq_hz=int(self.actual_rate_hz(rate_hz)))
        return [Write(CONFIG_UUID, encode_thingy_config(cfg), response=True, delay_s=0.05)]

    def stop_commands(self) -> list[Write]:
        return []  # stop_notify switches the motion feature off

    def make_decoder(self, rate_hz: float) -> ThingyDecoder:
        return ThingyDecoder(self, self.actual_rate_hz(rate_hz))


PROFILE = ThingyProfile(
    id="thingy52",
    display_name="Nordic Thingy:52",
    service_uuid=SERVICE_UUID,
    notify_uuids=[RAW_UUID],
    has_gyro=True,
    has_mag=True,
    max_rate_hz=200.0,
    rate_choices_hz=(5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0),
    advertised_uuids=(ADVERTISED_CONFIG_SERVICE, SERVICE_UUID),
    name_patterns=(r"^Thingy",),
    notes="Any integer rate 5-200 Hz; BLE throughput at 200 Hz is UNCONFIRMED. One sample per notification.",
    default_rate_hz=100.0,
)
