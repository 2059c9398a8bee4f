"""Polar Measurement Data (PMD) service: H10 and Verity Sense.

Facts: ``../shared/device-profiles.md`` §5 (polar-ble-sdk Android ``pmd/``; SDK tests).

Control point (CP, ``FB005C81``): requests ``01 <type>`` get settings, ``02 <type>
<settings>`` start, ``03 <type>`` stop; responses ``F0 <op> <type> <status> <more>
<params>``. Subscribe CP **and** data before the first request. The Verity Sense
answers START with a FACTOR setting that scales every compressed sample.

Data frames (``FB005C82``): byte 0 measurement type; bytes 1-8 u64 LE timestamp, ns
since 2000-01-01, of the **last** sample; byte 9 frame type (bit 7 = delta
compressed); then samples. Delta frames: a reference sample, then blocks ``[bit
width][count]`` of two's-complement deltas packed LSB-first, sample-major.

Timing (as the SDK): within a frame, samples are spaced by ``(ts - ts_prev) / n``
and end at ``ts``; the first frame uses the nominal rate. A frame whose interval
is longer than ``n`` periods (estimated period from earlier frames) plus tolerance
marks lost samples, and is then spaced at the period backward from ``ts``.

Axes: as the sensor reports (right-handed assumed, UNCONFIRMED for the H10). The
Verity Sense streams ACC, GYRO and MAG separately; the decoder aligns them on the
accelerometer's sample times (gyro linearly interpolated, mag sample-and-hold).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

from ..errors import DecodeError
from ..schema import STANDARD_GRAVITY_M_S2
from ._base import Decoder, Profile, SampleBatch, Write
from ._timing import DriftEstimator

__all__ = [
    "CP_UUID", "DATA_UUID", "SERVICE_UUID",
    "PmdFrame", "PmdResponse", "decode_pmd_frame", "decode_pmd_response",
    "encode_pmd_start", "parse_delta_frames", "unpack_deltas",
]

_BASE = "fb005c8{}-02e7-f387-1cad-8acd2d8df0c8"
SERVICE_UUID = _BASE.format(0)
CP_UUID = _BASE.format(1)
DATA_UUID = _BASE.format(2)
HEART_RATE_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"

ECG, PPG, ACC, PPI, GYRO, MAG, SDK_MODE = 0, 1, 2, 3, 5, 6, 9
TYPE_NAMES = {0: "ECG", 1: "PPG", 2: "ACC", 3: "PPI", 5: "GYRO", 6: "MAG", 9: "SDK_MODE"}
OP_GET, OP_START, OP_STOP = 1, 2, 3
SAMPLE_RATE, RESOLUTION, RANGE, RANGE_MILLIUNIT, CHANNELS, FACTOR = 0, 1, 2, 3, 4, 5
_SETTING_SIZE = {SAMPLE_RATE: 2, RESOLUTION: 2, RANGE: 2, RANGE_MILLIUNIT: 4, CHANNELS: 1, FACTOR: 4}
ERRORS = {
    0: "success", 1: "invalid op code", 2: "invalid measurement type", 3: "not supported",
    4: "invalid length", 5: "invalid parameter", 6: "already in state", 7: "invalid resolution",
    8: "invalid sample rate", 9: "invalid range", 10: "invalid MTU", 11: "invalid number of channels",
    12: "invalid state", 13: "device in charger", 14: "disk full",
}
FRAME_HEADER_LEN = 10
NS_PER_S = 1_000_000_000
_MAX_BLOCKS = 10_000


# -- control point ----------------------------------------------------------------------------
def encode_pmd_start(mtype: int, settings: dict[int, int]) -> bytes:
    """``02 <type>`` + settings (``id, 1, value``) in id order.

    Example: H10 ACC 200 Hz, 16 bit, ±8 g →
    ``02 02 00 01 C8 00 01 01 10 00 02 01 08 00``.
    """
    out = bytearray([OP_START, mtype])
    for sid in sorted(settings):
        size = _SETTING_SIZE[sid]
        out += bytes([sid, 1]) + int(settings[sid]).to_bytes(size, "little")
    return bytes(out)


@dataclass(frozen=True)
class PmdResponse:
    """A control-point response: op code, measurement type, status, settings."""

    op: int
    mtype: int
    status: int
    more: bool
    settings: dict[int, list[float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def message(self) -> str:
        return (f"PMD {['?', 'GET', 'START', 'STOP'][self.op] if self.op <= 3 else self.op} "
                f"{TYPE_NAMES.get(self.mtype, self.mtype)}: {ERRORS.get(self.status, f'error {self.status}')}")


def parse_settings(params: bytes) -> dict[int, list[float]]:
    """Parse ``id, count, values…`` settings (FACTOR as float32, others unsigned ints)."""
    out: dict[int, list[float]] = {}
    i = 0
    while i < len(params):
        if all(b == 0xFF for b in params[i:]):
            break  # 0xFF padding after the last setting (Polar SDK's GET-settings responses)
        if i + 2 > len(params):
            raise DecodeError(f"polar: settings truncated at byte {i}")
        sid, count = params[i], params[i + 1]
        i += 2
        size = _SETTING_SIZE.get(sid)
        if size is None:
            raise DecodeError(f"polar: unknown setting id {sid}")
        if i + size * count > len(params):
            raise DecodeError(f"polar: setting {sid} needs {size * count} bytes, {len(params) - i} left")
        vals: list[float] = []
        for _ in range(count):
            chunk = params[i : i + size]
            vals.append(struct.unpack("<f", chunk)[0] if sid == FACTOR else int.from_bytes(chunk, "little"))
            i += size
        out[sid] = vals
    return out


def decode_pmd_response(data: bytes) -> PmdResponse:
    """Parse a CP notification ``F0 op type status [more params…]``."""
    if len(data) < 4 or data[0] != 0xF0:
        raise DecodeError(f"polar: control-point response {data[:4].hex(' ')} does not start with F0 op type status")
    more = bool(data[4]) if len(data) > 4 else False
    settings = parse_settings(bytes(data[5:])) if len(data) > 5 and data[3] == 0 else {}
    return PmdResponse(data[1], data[2], data[3], more, settings)


# -- data frames ---------------------------------------------------------------------------------
def unpack_deltas(block: bytes, width: int, count: int, channels: int) -> np.ndarray:
    """Unpack ``count × channels`` two's-complement deltas of ``width`` bits, LSB-first.

    Returns shape (count, channels), int64.
    """
    nbits = width * count * channels
    if width == 0 or count == 0:
        return np.zeros((count, channels), dtype=np.int64)
    bits = np.unpackbits(np.frombuffer(block, dtype=np.uint8), bitorder="little")[:nbits]
    vals = bits.reshape(-1, width).astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
    vals = np.where(vals >= (np.int64(1) << (width - 1)), vals - (np.int64(1) << width), vals)
    return vals.reshape(count, channels)


def parse_delta_frames(content: bytes, channels: int, resolution_bits: int) -> np.ndarray:
    """Decode a delta-compressed frame body into samples, shape (n, channels), int64.

    The reference sample is ``channels × ceil(res/8)`` signed LE bytes; each block
    ``[width u8][count u8]`` adds ``count`` samples: ``s[k] = s[k-1] + delta[k]``.
    Deltas apply to the raw integers (float32 gyro frames add to the bit patterns).
    """
    ref_size = (resolution_bits + 7) // 8
    off = channels * ref_size
    if len(content) < off:
        raise DecodeError(f"polar: delta frame of {len(content)} bytes is shorter than its reference sample")
    ref = np.array([int.from_bytes(content[c * ref_size:(c + 1) * ref_size], "little", signed=True)
                    for c in range(channels)], dtype=np.int64)
    parts = [ref[None, :]]
    blocks = 0
    while off < len(content):
        if off + 2 > len(content):
            raise DecodeError(f"polar: delta block header truncated at byte {off}")
        width, count = content[off], content[off + 1]
        off += 2
        if width > 32:
            raise DecodeError(f"polar: delta width {width} bits exceeds 32")
        nbytes = (width * count * channels + 7) // 8
        if off + nbytes > len(content):
            raise DecodeError(f"polar: delta block needs {nbytes} bytes, {len(content) - off} left")
        parts.append(unpack_deltas(content[off : off + nbytes], width, count, channels))
        off += nbytes
        blocks += 1
        if blocks > _MAX_BLOCKS:
            raise DecodeError("polar: too many delta blocks")
    allv = np.concatenate(parts)
    return np.cumsum(allv, axis=0)


@dataclass(frozen=True, eq=False)
class PmdFrame:
    """One data frame: measurement type, last-sample timestamp, samples in SI units.

    ``values``: ACC m/s², GYRO rad/s, MAG µT, shape (n, 3). ``raw``: the integers
    (or floats for float32 frames) before scaling, in the frame's native unit
    (mG, °/s, G).
    """

    mtype: int
    timestamp_ns: int
    frame_type: int
    compressed: bool
    values: np.ndarray
    raw: np.ndarray


_MG_TO_M_S2 = STANDARD_GRAVITY_M_S2 / 1000.0
_GAUSS_TO_UT = 100.0


def decode_pmd_frame(data: bytes, factor: float = 1.0) -> PmdFrame:
    """Decode a PMD data frame (ACC, GYRO or MAG) to SI units.

    Raises
    ------
    DecodeError
        Truncated or inconsistent frames, or a frame type we do not know.
    """
    if len(data) < FRAME_HEADER_LEN + 1:
        raise DecodeError(f"polar: data frame of {len(data)} bytes is shorter than its header + 1")
    mtype = data[0] & 0x3F
    ts = int.from_bytes(data[1:9], "little")
    ftype_byte = data[9]
    compressed = bool(ftype_byte & 0x80)
    ftype = ftype_byte & 0x7F
    content = bytes(data[FRAME_HEADER_LEN:])
    if not math.isfinite(factor) or factor == 0:
        raise DecodeError(f"polar: FACTOR {factor} is unusable")
    if mtype == ACC:
        if compressed:
            if ftype == 0:
                raw = parse_delta_frames(content, 3, 16).astype(np.float64) * (factor * 1000.0)  # G → mG
            elif ftype == 1:
                raw = parse_delta_frames(content, 3, 16).astype(np.float64) * factor
            else:
                raise DecodeError(f"polar: compressed ACC frame type {ftype} not supported")
        else:
            size = {0: 1, 1: 2, 2: 3}.get(ftype)
            if size is None:
                raise DecodeError(f"polar: raw ACC frame type {ftype} not supported")
            if len(content) % (3 * size):
                raise DecodeError(f"polar: raw ACC content of {len(content)} bytes is not whole samples")
            raw = _signed_le(content, size).reshape(-1, 3).astype(np.float64)
        return PmdFrame(mtype, ts, ftype, compressed, raw * _MG_TO_M_S2, raw)
    if mtype == GYRO:
        if not compressed:
            raise DecodeError(f"polar: raw GYRO frame type {ftype} not supported")
        if ftype == 0:
            raw = parse_delta_frames(content, 3, 16).astype(np.float64) * factor
        elif ftype == 1:
            bits = parse_delta_frames(content, 3, 32) & 0xFFFFFFFF
            raw = bits.astype(np.uint32).view(np.float32).astype(np.float64) * factor
            if not np.isfinite(raw).all():
                raise DecodeError("polar: GYRO float frame holds NaN/inf")
        else:
            raise DecodeError(f"polar: compressed GYRO frame type {ftype} not supported")
        return PmdFrame(mtype, ts, ftype, compressed, np.radians(raw), raw)
    if mtype == MAG:
        if not compressed:
            raise DecodeError(f"polar: raw MAG frame type {ftype} not supported")
        if ftype == 0:
            raw = parse_delta_frames(content, 3, 16).astype(np.float64) * factor  # gauss
        elif ftype == 1:
            raw = parse_delta_frames(content, 4, 16)[:, :3].astype(np.float64) * factor / 1000.0  # mG → G
        else:
            raise DecodeError(f"polar: compressed MAG frame type {ftype} not supported")
        return PmdFrame(mtype, ts, ftype, compressed, raw * _GAUSS_TO_UT, raw)
    raise DecodeError(f"polar: measurement type {mtype} ({TYPE_NAMES.get(mtype, '?')}) not handled")


def _signed_le(content: bytes, size: int) -> np.ndarray:
    if size in (1, 2):
        return np.frombuffer(content, dtype="<i1" if size == 1 else "<i2").astype(np.int64)
    b = np.frombuffer(content, dtype=np.uint8).reshape(-1, 3).astype(np.int64)
    v = b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16
    return np.where(v >= 1 << 23, v - (1 << 24), v)


# -- streaming decoder ---------------------------------------------------------------------------
class _Stream:
    """Per-measurement timing state: SDK interpolation, gap detection, sanity checks.

    Times are kept as nanoseconds relative to the session origin (exact integers until
    the final float conversion), so 64-bit device timestamps lose no precision.
    """

    def __init__(self, rate_hz: float) -> None:
        self.nominal_ns = NS_PER_S / rate_hz
        self.prev_ts: int | None = None
        self.prev_host = math.nan
        self.last_rel = -math.inf
        self.offset_ns = 0  # added after a device clock reset, keeps the session clock going
        self.rejects = 0
        self.sum_ns = 0.0
        self.sum_n = 0
        self.factor = 1.0
        self.restarts = 0

    @property
    def period_ns(self) -> float:
        if self.sum_n >= 1:
            est = self.sum_ns / self.sum_n
            if abs(est / self.nominal_ns - 1) < 0.1:
                return est
        return self.nominal_ns

    def times(self, ts: int, n: int, host: float, origin_ns: int, after_reset: bool) -> tuple[np.ndarray, int]:
        """Sample times (ns from the session origin) and lost samples for a frame of n ending at ts.

        Raises DecodeError (state unchanged) for a timestamp that goes backwards or
        disagrees with elapsed host time; after three such frames in a row, or after
        a reconnect, the device clock is taken to have been reset and the session
        clock continues at the elapsed host time.
        """
        period = self.period_ns
        back = period * np.arange(n - 1, -1, -1)
        lost = 0
        refine = False
        if self.prev_ts is None:
            t = (ts - origin_ns + self.offset_ns) - back
            offset = self.offset_ns
        else:
            dt = ts - self.prev_ts
            dh = (host - self.prev_host) * NS_PER_S if math.isfinite(host) and math.isfinite(self.prev_host) else 0.0
            dh = max(dh, 0.0)
            # Within a link the device clock cannot run ahead of the host clock (a host
            # stall only makes dh larger); after a reconnect any big mismatch is a reset.
            if after_reset:
                implausible = dt <= 0 or (dh > 0 and abs(dt - dh) > max(30e9, 0.05 * dh))
            else:
                implausible = dt <= 0 or (dh > 0 and dt - dh > max(10e9, 0.5 * dh))
            if implausible and not after_reset and self.rejects < 3:
                self.rejects += 1
                raise DecodeError(
                    f"polar: frame timestamp steps {dt / 1e9:.6f} s while {dh / 1e9:.3f} s passed on the host"
                )
            offset = self.offset_ns
            if implausible:  # device clock was reset: continue at elapsed host time
                step = max(dh, n * period)
                offset = int(round(self.last_rel + step - (ts - origin_ns)))
                lost = max(0, int(round(step / period)) - n)
                t = (ts - origin_ns + offset) - back
                self.restarts += 1
            else:
                base = self.prev_ts - origin_ns + offset
                excess = dt - n * period
                if excess > max(1.5 * period, 0.02 * n * period) or (after_reset and excess > 0.5 * period):
                    lost = int(round(excess / period))
                    t = (ts - origin_ns + offset) - back
                    if t[0] <= base:
                        t = base + dt / n * np.arange(1, n + 1)
                else:
                    t = base + dt / n * np.arange(1, n + 1)  # SDK: spaced from the previous frame
                    refine = True
        t = np.asarray(t, dtype=np.float64)
        if not (t[0] > self.last_rel and (n == 1 or (np.diff(t) > 0).all()) and np.isfinite(t).all()):
            raise DecodeError("polar: frame sample times are not increasing")
        if refine:
            self.sum_ns += ts - self.prev_ts  # type: ignore[operator]
            self.sum_n += n
        self.offset_ns = offset
        self.prev_ts = ts
        self.prev_host = host
        self.last_rel = float(t[-1])
        self.rejects = 0
        return t, lost


class PolarDecoder(Decoder):
    """PMD decoder: CP responses (status, FACTOR) and ACC/GYRO/MAG frames.

    For the Verity Sense, acc is the master time line: accelerometer samples are held
    until gyro data covers them, then gyro is linearly interpolated onto them (mag
    is sample-and-hold). :attr:`control_errors` lists failed CP requests.
    """

    def __init__(self, profile: PolarProfile, rate_hz: float) -> None:
        super().__init__(profile, rate_hz)
        self._p = profile
        self._streams = {ACC: _Stream(rate_hz), GYRO: _Stream(rate_hz), MAG: _Stream(profile.mag_rate_hz)}
        self._origin_ns: int | None = None
        self._after_reset = {ACC: False, GYRO: False, MAG: False}
        self._acc_t: list[np.ndarray] = []
        self._acc_v: list[np.ndarray] = []
        self._pending_lost = 0
        self._gyr_t = np.zeros(0)
        self._gyr_v = np.zeros((0, 3))
        self._mag_t = np.zeros(0)
        self._mag_v = np.zeros((0, 3))
        self._last_emitted = -math.inf
        self._mag_gave_up = False
        self._drift = DriftEstimator()
        self.control_errors: list[str] = []
        self.responses: list[PmdResponse] = []
        self._stats.update(ignored_frames=0, gyro_missing_samples=0, control_errors=0)

    def _reset_link(self) -> None:
        for k in self._after_reset:
            self._after_reset[k] = True

    def _update_stats(self) -> None:
        self._stats["clock_drift_ppm"] = self._drift.drift_ppm
        self._stats["device_restarts"] = sum(st.restarts for st in self._streams.values())
        self._stats["factors"] = {TYPE_NAMES[k]: s.factor for k, s in self._streams.items()}

    def _feed(self, uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        if uuid == CP_UUID:
            self._feed_cp(data)
            return None
        if uuid != DATA_UUID:
            raise DecodeError(f"polar: notification from unexpected characteristic {uuid}")
        if len(data) < FRAME_HEADER_LEN + 1:
            raise DecodeError(f"polar: data frame of {len(data)} bytes is shorter than its header + 1")
        mtype = data[0] & 0x3F
        if mtype not in self._streams or (mtype != ACC and not self._p.has_gyro):
            self._stats["ignored_frames"] += 1
            return None
        st = self._streams[mtype]
        frame = decode_pmd_frame(data, st.factor)
        n = frame.values.shape[0]
        if self._origin_ns is None:  # first sample of the first frame is t_s == 0
            self._origin_ns = frame.timestamp_ns - int(round(st.period_ns * (n - 1)))
        t_ns, lost = st.times(frame.timestamp_ns, n, host_time_s, self._origin_ns, self._after_reset[mtype])
        self._after_reset[mtype] = False
        self._stats["packets"] += 1
        t_s = t_ns / NS_PER_S
        if mtype == ACC:
            self._drift.add(float(t_s[-1]), host_time_s)
            self._acc_t.append(t_s)
            self._acc_v.append(frame.values)
            self._pending_lost += lost
        elif mtype == GYRO:
            self._gyr_t = np.concatenate([self._gyr_t, t_s])[-4096:]
            self._gyr_v = np.concatenate([self._gyr_v, frame.values])[-4096:]
        else:
            self._mag_t = np.concatenate([self._mag_t, t_s])[-4096:]
            self._mag_v = np.concatenate([self._mag_v, frame.values])[-4096:]
        return self._emit(host_time_s)

    def _flush(self) -> SampleBatch | None:
        return self._emit(math.nan, force=True)

    def _emit(self, host_time_s: float, force: bool = False) -> SampleBatch | None:
        if not self._acc_t:
            return None
        t = np.concatenate(self._acc_t)
        acc = np.concatenate(self._acc_v)
        if not self._p.has_gyro:
            gyr = np.zeros_like(acc)
            keep = t.size
        else:
            covered = self._gyr_t[-1] if self._gyr_t.size else -math.inf
            keep = int(np.searchsorted(t, covered, side="right"))
            # Gyro stream missing or lagging > 1 s: release acc anyway (gyro held/zero).
            if t[-1] - max(covered, t[0]) > 1.0 or force:
                keep = t.size
            if keep == 0:
                return None
            tk = t[:keep]
            if self._gyr_t.size:
                gyr = np.column_stack([np.interp(tk, self._gyr_t, self._gyr_v[:, c]) for c in range(3)])
                missing = int((tk > covered).sum())
            else:
                gyr = np.zeros((keep, 3))
                missing = keep
            self._stats["gyro_missing_samples"] += missing
        if self._p.has_mag and not self._mag_t.size and not self._mag_gave_up:
            if t[-1] - t[0] <= 1.0 and not force:
                return None  # wait (up to 1 s, session start only) for the first mag frame
            self._mag_gave_up = True
        tk, acck = t[:keep], acc[:keep]
        mag = None
        if self._p.has_mag and self._mag_t.size:
            idx = np.clip(np.searchsorted(self._mag_t, tk, side="right") - 1, 0, self._mag_t.size - 1)
            mag = self._mag_v[idx]
        self._acc_t = [t[keep:]] if keep < t.size else []
        self._acc_v = [acc[keep:]] if keep < t.size else []
        lost, self._pending_lost = self._pending_lost, 0
        return SampleBatch(tk, acck, gyr[:keep], mag, lost, None, host_time_s)

    def _feed_cp(self, data: bytes) -> None:
        if data and data[0] == 0x0F:
            return None  # feature read (normally read, not notified)
        r = decode_pmd_response(data)
        self.responses.append(r)
        if not r.ok and r.status != 6:  # 6 = already in state: harmless
            self.control_errors.append(r.message)
            self._stats["control_errors"] += 1
        if r.op == OP_START and r.ok and r.mtype in self._streams and FACTOR in r.settings:
            f = float(r.settings[FACTOR][0])
            if math.isfinite(f) and f != 0:
                self._streams[r.mtype].factor = f
        return None


@dataclass(frozen=True, eq=False)
class PolarProfile(Profile):
    """A Polar PMD device: which measurements to start, at which settings."""

    measurements: tuple[tuple[int, dict[int, int]], ...] = ()
    mag_rate_hz: float = 50.0

    def start_commands(self, rate_hz: float) -> list[Write]:
        rate = int(self.actual_rate_hz(rate_hz))
        out = []
        for mtype, settings in self.measurements:
            s = dict(settings)
            if mtype in (ACC, GYRO):
                s[SAMPLE_RATE] = rate
            out.append(Write(CP_UUID, encode_pmd_start(mtype, s), response=True, delay_s=0.1))
        return out

    def stop_commands(self) -> list[Write]:
        return [Write(CP_UUID, bytes([OP_STOP, m]), response=True) for m, _ in self.measurements]

    def make_decoder(self, rate_hz: float) -> PolarDecoder:
        return PolarDecoder(self, self.actual_rate_hz(rate_hz))


H10 = PolarProfile(
    id="polar-h10",
    display_name="Polar H10 (accelerometer)",
    service_uuid=SERVICE_UUID,
    notify_uuids=[CP_UUID, DATA_UUID],
    has_gyro=False,
    has_mag=False,
    max_rate_hz=200.0,
    rate_choices_hz=(25.0, 50.0, 100.0, 200.0),
    name_patterns=(r"^Polar H10",),
    angles=Profile.ANGLES_NO_GYRO,
    notes=("Chest-strap sensor clipped at the lower back; accelerometer only (±8 g, 16 bit). "
           "Subscribe the control point and data before starting."),
    default_rate_hz=200.0,
    measurements=((ACC, {SAMPLE_RATE: 200, RESOLUTION: 16, RANGE: 8}),),
)

VERITY = PolarProfile(
    id="polar-verity",
    display_name="Polar Verity Sense (acc, gyro, mag)",
    service_uuid=SERVICE_UUID,
    notify_uuids=[CP_UUID, DATA_UUID],
    has_gyro=True,
    has_mag=True,
    max_rate_hz=52.0,
    rate_choices_hz=(52.0,),
    name_patterns=(r"^Polar Sense", r"^Polar Verity"),
    notes=("ACC 52 Hz ±8 g, GYRO 52 Hz ±2000 °/s (request UNCONFIRMED: build it from the GET "
           "response if the device refuses), MAG 50 Hz ±50 G. FACTOR from the START response."),
    default_rate_hz=52.0,
    measurements=(
        (ACC, {SAMPLE_RATE: 52, RESOLUTION: 16, RANGE: 8}),
        (GYRO, {SAMPLE_RATE: 52, RESOLUTION: 16, RANGE: 2000}),
        (MAG, {SAMPLE_RATE: 50, RESOLUTION: 16, RANGE: 50}),
    ),
    mag_rate_hz=50.0,
)
