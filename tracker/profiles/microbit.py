"""BBC micro:bit Bluetooth accelerometer service: decoder and commands (no gyroscope).

Facts: ``../shared/device-profiles.md`` §4 (micro:bit Bluetooth profile v1.12,
microbit-dal / codal ``MicroBitAccelerometerService``).

Data (``E95DCA4B``): 3 × int16 LE, milli-g. Period (``E95DFB24``): u16 ms, one of
1, 2, 5, 10, 20, 80, 160, 640; the firmware picks the nearest and writes it back.

Axes: the DAL reports the *gravity* direction (flat face up → z = −1024 mg) in its
"simple cartesian" frame: x to the right, y toward the top edge, z out of the
display (right-handed). The batch negates it to specific force, like every other
profile (flat face up → +9.8 m/s² on z); :func:`decode_microbit` returns the
values as sent.

No gyroscope: the analysis can give **flexion and lateral bend only** (inclination
from gravity while moving slowly), not axial rotation, so the twist and trunk-rotation
stretches cannot be measured with it. Timing: counterless.
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

__all__ = ["ACC_DATA_UUID", "ACC_PERIOD_UUID", "ACC_SERVICE_UUID", "decode_microbit", "encode_microbit"]

_BASE = "e95d{:04x}-251d-470a-a062-fa1922dfa9a8"
ACC_SERVICE_UUID = _BASE.format(0x0753)
ACC_DATA_UUID = _BASE.format(0xCA4B)
ACC_PERIOD_UUID = _BASE.format(0xFB24)
MAG_SERVICE_UUID = _BASE.format(0xF2D8)
PERIODS_MS = (1, 2, 5, 10, 20, 80, 160, 640)
_XYZ = struct.Struct("<3h")


def decode_microbit(data: bytes) -> np.ndarray:
    """One notification → (x, y, z) in g, as the micro:bit sends it (gravity direction)."""
    if len(data) != 6:
        raise DecodeError(f"microbit: accelerometer data must be 6 bytes, got {len(data)}")
    return np.asarray(_XYZ.unpack(data), dtype=np.float64) / 1000.0


def encode_microbit(acc_g: np.ndarray) -> bytes:
    """Inverse of :func:`decode_microbit`."""
    return _XYZ.pack(*(int(v) for v in np.clip(np.rint(np.asarray(acc_g) * 1000), -32768, 32767)))


class MicrobitDecoder(CounterlessDecoder):
    """Accelerometer-only decoder; ``gyr_rad_s`` is zeros (``has_gyro`` is False)."""

    def _feed(self, uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        if uuid != ACC_DATA_UUID:
            raise DecodeError(f"microbit: notification from unexpected characteristic {uuid}")
        g = decode_microbit(data)
        self._stats["packets"] += 1
        return self._push(g[None, :], host_time_s)

    def _batch(self, t_s: np.ndarray, rows: np.ndarray, lost: int, host_time_s: float) -> SampleBatch:
        # Gravity direction -> specific force (see the module docstring).
        return SampleBatch(t_s, -rows * STANDARD_GRAVITY_M_S2, np.zeros_like(rows), None, lost, None, host_time_s)


@dataclass(frozen=True, eq=False)
class MicrobitProfile(Profile):
    """micro:bit: period register (nearest supported value), streaming on subscribe."""

    def actual_rate_hz(self, requested_hz: float) -> float:
        return 1000.0 / self._period_ms(requested_hz)

    def _period_ms(self, rate_hz: float) -> int:
        if not math.isfinite(rate_hz) or rate_hz <= 0:
            rate_hz = self.default_rate_hz
        allowed = [p for p in PERIODS_MS if 1000.0 / p <= self.max_rate_hz]
        return min(allowed, key=lambda p: abs(math.log(p * rate_hz / 1000.0)))

    def start_commands(self, rate_hz: float) -> list[Write]:
        return [Write(ACC_PERIOD_UUID, struct.pack("<H", self._period_ms(rate_hz)), response=True)]

    def stop_commands(self) -> list[Write]:
        return []

    def make_decoder(self, rate_hz: float) -> MicrobitDecoder:
        return MicrobitDecoder(self, self.actual_rate_hz(rate_hz))


PROFILE = MicrobitProfile(
    id="microbit",
    display_name="BBC micro:bit (accelerometer service)",
    service_uuid=ACC_SERVICE_UUID,
    notify_uuids=[ACC_DATA_UUID],
    has_gyro=False,
    has_mag=False,
    max_rate_hz=100.0,
    rate_choices_hz=(1000.0 / 640, 1000.0 / 160, 12.5, 50.0, 100.0),
    advertised_uuids=(ACC_SERVICE_UUID,),
    name_patterns=(r"micro:bit", r"^BBC micro"),
    angles=Profile.ANGLES_NO_GYRO,
    notes=(
        "Accelerometer only: no axial rotation (seated twist, trunk rotation). The "
        "Bluetooth accelerometer service must be built into the program (MakeCode "
        "Bluetooth extension); pairing may be needed. 50 Hz (20 ms) is the sensible rate."
    ),
    default_rate_hz=50.0,
)
