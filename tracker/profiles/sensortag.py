"""TI CC2650 SensorTag Movement service: decoder and commands (10 Hz ceiling).

Facts: ``../shared/device-profiles.md`` §2 (TI BLE-Stack ``sensortag_mov.c``,
``SensorMpu9250.h``; TI wiki; bluepy).

Data (``AA81``), 18 bytes int16 LE: gyro X Y Z (×500/65536 °/s), acc X Y Z
(÷(32768/R) g, R = 2/4/8/16 from config bits 8-9), mag X Y Z (µT). One sample per
notification; the period register allows 100-2550 ms, so **10 Hz at most**: enough for
slow stretches and holds, far too slow for crack detection.

Axes: acc and gyro in the MPU-9250 frame (right-handed, acc = specific force). The
MPU-9250 datasheet gives the internal AK8963 magnetometer axes as x = acc y,
y = acc x, z = −acc z; the batch maps mag into the accelerometer frame
(``(my, mx, -mz)``). :func:`decode_sensortag` returns the unmapped values.
Timing: counterless (sample ``k`` at ``k × period``; gaps from host arrival times).
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
    "CONFIG_UUID", "DATA_UUID", "PERIOD_UUID", "SERVICE_UUID",
    "config_value", "decode_sensortag", "encode_sensortag",
]

_BASE = "f000{:04x}-0451-4000-b000-000000000000"
SERVICE_UUID = _BASE.format(0xAA80)
DATA_UUID = _BASE.format(0xAA81)
CONFIG_UUID = _BASE.format(0xAA82)
PERIOD_UUID = _BASE.format(0xAA83)
ACC_RANGES_G = (2, 4, 8, 16)
GYR_DPS_PER_LSB = 500 / 65536
_NINE = struct.Struct("<9h")


def config_value(acc_range_g: int = 8, *, gyro: bool = True, acc: bool = True, mag: bool = True) -> bytes:
    """Movement config (uint16 LE): axis enables, WOM off, accelerometer range."""
    if acc_range_g not in ACC_RANGES_G:
        raise ValueError(f"acc range ±{acc_range_g} g not one of {ACC_RANGES_G}")
    v = (0x07 if gyro else 0) | (0x38 if acc else 0) | (0x40 if mag else 0)
    v |= ACC_RANGES_G.index(acc_range_g) << 8  # bit 7 (wake-on-motion) stays 0
    return struct.pack("<H", v)


def decode_sensortag(data: bytes, acc_range_g: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One notification → (gyro °/s, acc g, mag µT in AK8963 axes), each shape (3,)."""
    if len(data) != 18:
        raise DecodeError(f"sensortag: movement data must be 18 bytes, got {len(data)}")
    raw = np.asarray(_NINE.unpack(data), dtype=np.float64)
    return raw[0:3] * GYR_DPS_PER_LSB, raw[3:6] / (32768 / acc_range_g), raw[6:9]


def encode_sensortag(gyr_dps: np.ndarray, acc_g: np.ndarray, mag_uT: np.ndarray, acc_range_g: int = 8) -> bytes:
    """Inverse of :func:`decode_sensortag` (tests, emulation)."""
    vals = np.concatenate([np.asarray(gyr_dps) / GYR_DPS_PER_LSB, np.asarray(acc_g) * (32768 / acc_range_g),
                           np.asarray(mag_uT)])
    return _NINE.pack(*(int(v) for v in np.clip(np.rint(vals), -32768, 32767)))


class SensorTagDecoder(CounterlessDecoder):
    """Movement-service decoder at a fixed accelerometer range."""

    def __init__(self, profile: Profile, rate_hz: float, acc_range_g: int = 8) -> None:
        super().__init__(profile, rate_hz)
        self.acc_range_g = acc_range_g

    def _feed(self, uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        if uuid != DATA_UUID:
            raise DecodeError(f"sensortag: notification from unexpected characteristic {uuid}")
        gyr, acc, mag = decode_sensortag(data, self.acc_range_g)
        self._stats["packets"] += 1
        return self._push(np.concatenate([gyr, acc, mag])[None, :], host_time_s)

    def _batch(self, t_s: np.ndarray, rows: np.ndarray, lost: int, host_time_s: float) -> SampleBatch:
        mag = rows[:, 6:9]
        mag_acc_frame = np.column_stack([mag[:, 1], mag[:, 0], -mag[:, 2]])  # AK8963 -> accelerometer axes
        return SampleBatch(t_s, rows[:, 3:6] * STANDARD_GRAVITY_M_S2, np.radians(rows[:, 0:3]), mag_acc_frame,
                           lost, None, host_time_s)


@dataclass(frozen=True, eq=False)
class SensorTagProfile(Profile):
    """CC2650 SensorTag: period register (×10 ms, ≥100 ms) and config register."""

    acc_range_g: int = 8

    def actual_rate_hz(self, requested_hz: float) -> float:
        return 100.0 / self._period_10ms(requested_hz)

    def _period_10ms(self, rate_hz: float) -> int:
        if not math.isfinite(rate_hz) or rate_hz <= 0:
            rate_hz = self.default_rate_hz
        return int(min(255, max(10, round(100.0 / rate_hz))))

    def start_commands(self, rate_hz: float) -> list[Write]:
        return [
            Write(PERIOD_UUID, bytes([self._period_10ms(rate_hz)]), response=True),
            Write(CONFIG_UUID, config_value(self.acc_range_g), response=True),
        ]

    def stop_commands(self) -> list[Write]:
        return [Write(CONFIG_UUID, b"\x00\x00", response=True)]  # all axes off: MPU powers down

    def make_decoder(self, rate_hz: float) -> SensorTagDecoder:
        return SensorTagDecoder(self, self.actual_rate_hz(rate_hz), self.acc_range_g)


PROFILE = SensorTagProfile(
    id="sensortag",
    display_name="TI CC2650 SensorTag",
    service_uuid=SERVICE_UUID,
    notify_uuids=[DATA_UUID],
    has_gyro=True,
    has_mag=True,
    max_rate_hz=10.0,
    rate_choices_hz=(0.5, 1.0, 2.0, 5.0, 10.0),
    advertised_uuids=(SERVICE_UUID,),
    name_patterns=(r"SensorTag", r"^CC2650"),
    notes=(
        "At most 10 Hz (100 ms period): fine for holds and slow angles, useless for "
        "crack detection. Accelerometer range ±8 g (check |a| ≈ 1 g at rest)."
    ),
    default_rate_hz=10.0,
)
