"""WitMotion BLE 5.0 (WT901BLECL family): decoder, encoder and commands.

Facts: ``../shared/device-profiles.md`` §1 (WitMotion SDKs, WT901BLECL datasheet).

Stream: 20-byte ``55 61`` packets, no checksum: 9 × int16 LE = acc (×16/32768 g),
gyro (×2000/32768 °/s), Euler angles roll/pitch/yaw (×180/32768 °). Register reads
(``FF AA 27 <reg> 00``) are answered on the same characteristic as ``55 71 RegL RegH``
+ 8 × int16 (registers ``reg .. reg+7``). A notification may carry several packets or a
split one, so the decoder buffers and resynchronises on ``55 61`` / ``55 71``.

Axes: the sensor frame printed on the case (right-handed); acc is specific force
(+1 g on z lying flat). Timing: no counter or timestamp, so sample ``k`` is at
``k / rate`` and gaps come from host arrival times (:class:`CounterlessClock`).
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
    "NOTIFY_UUID",
    "RATE_CODES",
    "SERVICE_UUID",
    "WRITE_UUID",
    "WitMotionDecoder",
    "WitMotionProfile",
    "decode_witmotion_command",
    "encode_witmotion_packet",
    "encode_witmotion_register_reply",
    "read_register_command",
    "write_register_commands",
]

# Note the vendor suffix ...9a34fb (not the SIG base ...9b34fb).
SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

PACKET_LEN = 20
STREAM = 0x61
REGISTER = 0x71
ACC_G_PER_LSB = 16 / 32768
GYR_DPS_PER_LSB = 2000 / 32768
ANGLE_DEG_PER_LSB = 180 / 32768
REG_MAG = 0x3A
REG_QUAT = 0x51
REG_TEMP = 0x40
REG_BATTERY = 0x64
REG_MAG_TYPE = 0x72
REG_RATE = 0x03
#: Output-rate register codes confirmed by the WitMotion BLE 5.0 SDK.
RATE_CODES = {1.0: 0x03, 5.0: 0x05, 10.0: 0x06, 50.0: 0x08, 100.0: 0x09, 200.0: 0x0B}
UNLOCK = bytes.fromhex("FFAA6988B5")
SAVE = bytes.fromhex("FFAA000000")
#: µT per raw magnetometer LSB by register 0x72 (magnetometer chip type), C# SDK.
MAG_UT_PER_LSB_BY_TYPE = {2: 0.15, 3: 0.013, 4: 0.058, 5: 0.098, 6: 1 / 120, 7: 0.02}
#: Without a 0x72 reply: the Python SDK's ÷120.
DEFAULT_MAG_UT_PER_LSB = 1 / 120
_NINE = struct.Struct("<9h")
_REGREPLY = struct.Struct("<H8h")
_MAX_BUFFER = 4 * PACKET_LEN
#: At the start of a session, hold samples this long (sample clock) for the first
#: magnetometer reply, so mag is present from the first batch.
MAG_WAIT_S = 1.0


def read_register_command(reg: int) -> bytes:
    """``FF AA 27 <reg> 00``: ask for registers ``reg .. reg+7`` (reply ``55 71``)."""
    return bytes([0xFF, 0xAA, 0x27, reg & 0xFF, 0x00])


def write_register_commands(reg: int, value: int, *, save: bool = True, delay_s: float = 0.1) -> list[Write]:
    """Unlock, write ``value`` (u16 LE) to ``reg``, and optionally save, 100 ms apart (SDK)."""
    cmds = [
        Write(WRITE_UUID, UNLOCK, response=False, delay_s=delay_s),
        Write(WRITE_UUID, bytes([0xFF, 0xAA, reg & 0xFF, value & 0xFF, (value >> 8) & 0xFF]),
              response=False, delay_s=delay_s),
    ]
    if save:
        cmds.append(Write(WRITE_UUID, SAVE, response=False, delay_s=delay_s))
    return cmds


def decode_witmotion_command(data: bytes) -> tuple[str, int, int]:
    """Parse a host write, for the emulated tag.

    Returns
    -------
    (kind, reg, value)
        ``kind`` is ``"read"`` (``FF AA 27 reg 00``), ``"unlock"``, ``"save"`` or
        ``"write"`` (``FF AA reg lo hi``).
    """
    if len(data) != 5 or data[0] != 0xFF or data[1] != 0xAA:
        raise DecodeError(f"witmotion: command {data.hex(' ')} is not FF AA <reg> <lo> <hi>")
    if data == UNLOCK:
        return ("unlock", 0x69, 0xB588)
    if data == SAVE:
        return ("save", 0x00, 0)
    if data[2] == 0x27:
        return ("read", data[3], 0)
    return ("write", data[2], data[3] | data[4] << 8)


def _q(values: np.ndarray, lsb: float) -> list[int]:
    return [max(-32768, min(32767, round(float(v) / lsb))) for v in values]


def encode_witmotion_packet(acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, angles_deg: np.ndarray) -> bytes:
    """Encode one ``55 61`` stream packet (one sample) from SI values.

    Parameters
    ----------
    acc_m_s2 : array_like, shape (3,)
    gyr_rad_s : array_like, shape (3,)
    angles_deg : array_like, shape (3,)
        Roll, pitch, yaw in degrees.
    """
    acc = np.asarray(acc_m_s2, dtype=float).reshape(3)
    gyr = np.asarray(gyr_rad_s, dtype=float).reshape(3)
    ang = np.asarray(angles_deg, dtype=float).reshape(3)
    raw = (
        _q(acc / STANDARD_GRAVITY_M_S2, ACC_G_PER_LSB)
        + _q(np.degrees(gyr), GYR_DPS_PER_LSB)
        + _q(ang, ANGLE_DEG_PER_LSB)
    )
    return bytes([0x55, STREAM]) + _NINE.pack(*raw)


def encode_witmotion_register_reply(reg: int, values: list[int]) -> bytes:
    """Encode a ``55 71`` register reply: ``reg`` then up to 8 raw int16 values (zero-padded)."""
    vals = (list(values) + [0] * 8)[:8]
    return bytes([0x55, REGISTER]) + _REGREPLY.pack(reg & 0xFFFF, *vals)


@dataclass(frozen=True)
class RegisterReply:
    """A decoded ``55 71`` reply: first register and the 8 raw int16 values."""

    reg: int
    values: tuple[int, ...]


def decode_witmotion_packet(pkt: bytes) -> tuple[int, tuple[int, ...]]:
    """Decode one 20-byte packet into ``(kind, raw values)``; kind 0x61 or 0x71.

    For 0x61, 9 values (acc, gyro, angles). For 0x71, the register number
    followed by 8 values.
    """
    if len(pkt) != PACKET_LEN or pkt[0] != 0x55 or pkt[1] not in (STREAM, REGISTER):
        raise DecodeError(f"witmotion: {pkt[:2].hex(' ')}… is not a 20-byte 55 61 / 55 71 packet")
    if pkt[1] == STREAM:
        return STREAM, _NINE.unpack_from(pkt, 2)
    return REGISTER, _REGREPLY.unpack_from(pkt, 2)


class WitMotionDecoder(CounterlessDecoder):
    """Buffering, resynchronising decoder for the WitMotion stream and register replies.

    Register values are kept in :attr:`latest`: ``mag_uT`` (3,), ``quat_wxyz`` (4,),
    ``temperature_c``, ``battery_raw``, ``mag_type``. The magnetometer is polled, so
    batches carry the most recent reading (sample-and-hold). The first samples of a
    session are held back until the first magnetometer reply arrives (at most
    :data:`MAG_WAIT_S` of samples), so either every batch has ``mag_uT`` or, if the
    sensor never answers, none has. Euler angles go to ``batch.extras["euler_deg"]``.
    """

    def __init__(self, profile: Profile, rate_hz: float) -> None:
        super().__init__(profile, rate_hz)
        self._buf = bytearray()
        self.latest: dict[str, object] = {}
        self._mag_raw: tuple[int, int, int] | None = None
        self._mag_scale = DEFAULT_MAG_UT_PER_LSB
        self._held: list[tuple[np.ndarray, np.ndarray, int]] = []
        self._gave_up_mag = False
        self._stats.update(resync_bytes=0, register_replies=0)

    def _reset_link(self) -> None:
        self._buf.clear()  # a packet split across the disconnect is gone
        self._clock.reset_link()

    def _flush(self) -> SampleBatch | None:
        self._held += [(t, r, lost) for t, r, lost, _ in self._clock.flush()]
        return self._release(math.nan) if self._held else None

    def _feed(self, uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        if uuid != NOTIFY_UUID:
            raise DecodeError(f"witmotion: notification from unexpected characteristic {uuid}")
        self._buf += data
        rows: list[tuple[int, ...]] = []
        dropped = 0
        buf = self._buf
        i = 0
        while len(buf) - i >= 2:
            if buf[i] != 0x55 or buf[i + 1] not in (STREAM, REGISTER):
                j = buf.find(0x55, i + 1)
                j = len(buf) - 1 if j < 0 else j  # keep a trailing byte: may be a 0x55 start
                dropped += j - i
                i = j
                continue
            if len(buf) - i < PACKET_LEN:
                break
            kind, vals = decode_witmotion_packet(bytes(buf[i : i + PACKET_LEN]))
            i += PACKET_LEN
            self._stats["packets"] += 1
            if kind == STREAM:
                rows.append(vals)
            else:
                self._register(vals[0], vals[1:])
        if len(buf) - i == 1 and buf[i] != 0x55:
            dropped += 1
            i += 1
        del buf[:i]
        if len(buf) > _MAX_BUFFER:  # cannot happen with the logic above; belt and braces
            dropped += len(buf)
            buf.clear()
        self._stats["resync_bytes"] += dropped
        if not rows:
            if dropped:
                raise DecodeError(f"witmotion: discarded {dropped} bytes with no 55 61 / 55 71 header")
            return self._release(host_time_s) if self._held and self._mag_raw is not None else None
        released = self._clock.push(np.asarray(rows, dtype=np.float64), host_time_s)
        self._held += [(t, r, lost) for t, r, lost, _ in released]
        if not self._held:
            return None  # the clock holds them (suspected gap)
        if self._mag_raw is None and not self._gave_up_mag:
            # Hold the first samples until the first magnetometer reply (requested by
            # start_commands), so a session has mag from its first batch or not at all.
            if self._held[-1][0][-1] - self._held[0][0][0] < MAG_WAIT_S:
                return None
            self._gave_up_mag = True
        return self._release(host_time_s)

    def _release(self, host_time_s: float) -> SampleBatch | None:
        if not self._held:
            return None
        held, self._held = self._held, []
        t_s = np.concatenate([h[0] for h in held])
        raw = np.concatenate([h[1] for h in held])
        lost = sum(h[2] for h in held)
        acc = raw[:, 0:3] * (ACC_G_PER_LSB * STANDARD_GRAVITY_M_S2)
        gyr = raw[:, 3:6] * math.radians(GYR_DPS_PER_LSB)
        mag = None
        if self._mag_raw is not None:
            mag = np.tile(np.asarray(self._mag_raw, dtype=float) * self._mag_scale, (raw.shape[0], 1))
        return SampleBatch(t_s, acc, gyr, mag, lost, None, host_time_s,
                           extras={"euler_deg": raw[:, 6:9] * ANGLE_DEG_PER_LSB})

    def _register(self, reg: int, vals: tuple[int, ...]) -> None:
        self._stats["register_replies"] += 1
        if reg == REG_MAG:
            self._mag_raw = (vals[0], vals[1], vals[2])
            self.latest["mag_uT"] = np.asarray(self._mag_raw, dtype=float) * self._mag_scale
        elif reg == REG_QUAT:
            self.latest["quat_wxyz"] = np.asarray(vals[0:4], dtype=float) / 32768.0
        elif reg == REG_TEMP:
            self.latest["temperature_c"] = vals[0] / 100.0
        elif reg == REG_BATTERY:
            self.latest["battery_raw"] = vals[0]
            self._stats["battery_pct"] = battery_pct(vals[0])
        elif reg == REG_MAG_TYPE:
            self.latest["mag_type"] = vals[0]
            self._mag_scale = MAG_UT_PER_LSB_BY_TYPE.get(vals[0], DEFAULT_MAG_UT_PER_LSB)


# SDK battery table: raw voltage register (×0.01 V) -> percent.
_BATTERY_TABLE = ((396, 100), (393, 90), (387, 75), (382, 60), (379, 50), (377, 40),
                  (373, 30), (370, 20), (368, 15), (350, 10), (340, 5))


def battery_pct(raw: int) -> int:
    """Battery percent from register 0x64 (the WitMotion SDK's step table)."""
    for threshold, pct in _BATTERY_TABLE:
        if raw >= threshold:
            return pct
    return 0


@dataclass(frozen=True, eq=False)
class WitMotionProfile(Profile):
    """WitMotion BLE 5.0: streams on subscribe; rate via register 0x03 (unlock/write/save)."""

    def actual_rate_hz(self, requested_hz: float) -> float:
        return super().actual_rate_hz(requested_hz)

    def start_commands(self, rate_hz: float) -> list[Write]:
        code = RATE_CODES[self.actual_rate_hz(rate_hz)]
        cmds = write_register_commands(REG_RATE, code)
        # Magnetometer chip type first (it fixes the scale), then a first magnetometer
        # reading, which releases the samples the decoder holds back at the start.
        cmds += [Write(WRITE_UUID, read_register_command(r), response=False, delay_s=0.05)
                 for r in (REG_MAG_TYPE, REG_MAG, REG_BATTERY, REG_TEMP)]
        return cmds

    def stop_commands(self) -> list[Write]:
        return []  # streaming stops with stop_notify

    def poll_commands(self) -> list[Write]:
        return [Write(WRITE_UUID, read_register_command(REG_MAG), response=False),
                Write(WRITE_UUID, read_register_command(REG_QUAT), response=False)]

    def make_decoder(self, rate_hz: float) -> WitMotionDecoder:
        return WitMotionDecoder(self, self.actual_rate_hz(rate_hz))


PROFILE = WitMotionProfile(
    id="witmotion",
    display_name="WitMotion WT901BLE (BLE 5.0)",
    service_uuid=SERVICE_UUID,
    notify_uuids=[NOTIFY_UUID],
    has_gyro=True,
    has_mag=True,
    max_rate_hz=200.0,
    rate_choices_hz=tuple(RATE_CODES),
    advertised_uuids=(SERVICE_UUID,),
    name_patterns=(r"^WT9\d", r"^BWT9", r"^WT\d+BLE"),
    notes=(
        "Rate is saved to the sensor's flash. Magnetometer and quaternion are polled by "
        "register reads (poll_commands), so mag is sample-and-hold at the poll rate. "
        "No timestamps: gaps are detected from host arrival times only."
    ),
    poll_interval_s=0.2,
    default_rate_hz=100.0,
)
