"""Line-for-line Python mirror of the reference firmware's core.

``firmware-notes/reference-firmware/tracker_imu_xiao/tracker_imu_core.h`` is the C the
tag runs: config validation, the 1.66 kHz → stream-rate decimator, the data packet
builder, the impulse detector and its fragments, the status value. This module repeats
it function by function, with the same names, the same integer arithmetic (C99
truncating division, ``int64`` products, ``uint32`` wrap-around, saturation to int16)
and the same byte layout, so that:

* ``tests/test_firmware_mirror.py`` compiles the C with the host compiler and checks
  that it prints exactly what :func:`run_script` prints for the same input;
* the same tests check the mirror's packets against the profile's own encoder
  (:func:`tracker.profiles.tracker_imu.encode_packets`, ``encode_packet_ref``,
  ``encode_impulse``, ``encode_status``) and decoder.

It is deliberately unidiomatic Python: review it side by side with the header. It is
not used at run time by the tracker; the vectorised encoder in
:mod:`tracker.profiles.tracker_imu` serves the emulated tag.

Examples
--------
>>> s = Core()
>>> ti_core_set_mtu(s, 247)
>>> ti_core_configure(s, bytes.fromhex("010764001" "0d0071414"))  # start, 100 Hz
0
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Core",
    "Config",
    "TI_ATT_BUSY",
    "TI_ATT_INVALID_LEN",
    "TI_ATT_NOT_ALLOWED",
    "TI_ATT_OK",
    "TI_GYR_DEN",
    "TI_GYR_NUM",
    "TI_IMU_PERIOD_US",
    "TI_IMU_RATE_HZ",
    "TI_POST",
    "TI_PRE",
    "TI_QLEN",
    "TI_WIN",
    "run_script",
    "ti_battery_pct",
    "ti_config_parse",
    "ti_config_write",
    "ti_core_configure",
    "ti_core_init",
    "ti_core_peek",
    "ti_core_pop",
    "ti_core_push",
    "ti_core_set_mtu",
    "ti_div_round_even",
    "ti_fifo_time",
    "ti_impulse_fragment",
    "ti_impulse_fragment_sent",
    "ti_status_build",
]

# ---- spec constants ---------------------------------------------------------------------
TI_HDR_LEN = 8  # §4 data packet header
TI_SAMPLE_LEN = 12  # §4 6-axis sample: this board has no magnetometer
TI_CFG_LEN = 9  # §5
TI_STATUS_LEN = 14  # §6
TI_FRAG_HDR_LEN = 4  # §7 fragment header
TI_WIN_HDR_LEN = 12  # §7 window body header
TI_ATT_HDR_LEN = 3  # opcode + handle of a Handle Value Notification
TI_MAX_MTU = 247
TI_MIN_MTU = 23
TI_FLAG_MAG = 0x10
TI_FLAG_OVERRUN = 0x20
TI_FLAG_IMPULSE = 0x40
TI_ATT_OK = 0x00
TI_ATT_INVALID_LEN = 0x0D
TI_ATT_NOT_ALLOWED = 0x13
TI_ATT_BUSY = 0x80

# ---- board: LSM6DS3TR-C FIFO at 1.66 kHz -----------------------------------------------
TI_IMU_PERIOD_US = 600
TI_IMU_RATE_HZ = 1667
TI_GYR_NUM = 3584  # 8.75 mdps/LSB / (250/32768 °/s) = 3584/3125
TI_GYR_DEN = 3125
TI_HP_SHIFT = 4
TI_PRE = 16
TI_POST = 48
TI_WIN = TI_PRE + TI_POST
TI_WIN_BODY = TI_WIN_HDR_LEN + 6 * TI_WIN
TI_QLEN = 8
TI_PKT_MAX = (TI_MAX_MTU - TI_ATT_HDR_LEN - TI_HDR_LEN) // TI_SAMPLE_LEN  # 19

TI_WIN_IDLE, TI_WIN_CAPTURING, TI_WIN_SENDING = 0, 1, 2

_M32 = 0xFFFFFFFF


# ---- C integer semantics ----------------------------------------------------------------
def _s32(v: int) -> int:
    """``(int32_t)`` of a ``uint32_t`` (two's complement, as GCC does)."""
    v &= _M32
    return v - (1 << 32) if v >= 1 << 31 else v


def _cdiv(a: int, b: int) -> int:
    """C99 ``a / b``: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _cmod(a: int, b: int) -> int:
    """C99 ``a % b``: has the sign of ``a``."""
    return a - _cdiv(a, b) * b


@dataclass
class Config:
    """``ti_config_t``: the §5 fields as the firmware holds them."""

    flags: int = 0x06  # bit 0 stream, bit 1 mag, bit 2 impulse
    rate_hz: int = 100
    acc_range_g: int = 16
    gyr_range_dps: int = 2000
    max_latency_ms: int = 20
    impulse_thr_dg: int = 20


def _z(n: int) -> list[int]:
    return [0] * n


@dataclass
class Core:
    """``ti_core_t``: every field of the C struct, same names."""

    cfg: Config = field(default_factory=Config)
    mtu: int = TI_MIN_MTU
    seq: int = 0
    overrun_samples: int = 0
    have_t: int = 0
    last_t: int = 0
    bin_open: int = 0
    bin_end: int = 0
    sum: list[int] = field(default_factory=lambda: _z(6))
    count: int = 0
    pkt: bytearray = field(default_factory=lambda: bytearray(TI_HDR_LEN + TI_PKT_MAX * TI_SAMPLE_LEN))
    pkt_n: int = 0
    pkt_overrun: int = 0
    pkt_t0: int = 0
    have_next: int = 0
    next_t: int = 0
    gap: int = 0
    q: list[bytes] = field(default_factory=lambda: [b""] * TI_QLEN)
    q_len: list[int] = field(default_factory=lambda: _z(TI_QLEN))
    q_head: int = 0
    q_count: int = 0
    lp_ready: int = 0
    lp: list[int] = field(default_factory=lambda: _z(3))
    ring: list[list[int]] = field(default_factory=lambda: [_z(3) for _ in range(TI_PRE)])
    ring_t: list[int] = field(default_factory=lambda: _z(TI_PRE))
    ring_pos: int = 0
    ring_fill: int = 0
    win_state: int = TI_WIN_IDLE
    win_body: bytearray = field(default_factory=lambda: bytearray(TI_WIN_BODY))
    win_n: int = 0
    win_trig: int = 0
    win_t0: int = 0
    win_clipped: int = 0
    impulse_id: int = 0
    frag_idx: int = 0
    holdoff: int = 0


# ---- little helpers ---------------------------------------------------------------------
def ti_get_u16(p: bytes | bytearray, o: int) -> int:
    return p[o] | (p[o + 1] << 8)


def ti_put_u16(p: bytearray, o: int, v: int) -> None:
    v &= 0xFFFF
    p[o] = v & 0xFF
    p[o + 1] = v >> 8


def ti_put_u32(p: bytearray, o: int, v: int) -> None:
    v &= _M32
    p[o] = v & 0xFF
    p[o + 1] = (v >> 8) & 0xFF
    p[o + 2] = (v >> 16) & 0xFF
    p[o + 3] = v >> 24


def ti_sat16(v: int) -> int:
    return 32767 if v > 32767 else (-32768 if v < -32768 else v)


def ti_asr(v: int, k: int) -> int:
    """floor(v / 2**k), as the C helper (Python's ``>>`` already floors)."""
    return (v >> k) if v >= 0 else -(((-v) - 1) >> k) - 1


def ti_div_round_even(num: int, den: int) -> int:
    """``num / den`` rounded to nearest, ties to even (§4); ``den > 0``."""
    q, r = _cdiv(num, den), _cmod(num, den)  # C99: truncates toward zero
    if r < 0:  # now floor division, 0 <= r < den
        q -= 1
        r += den
    if 2 * r > den or (2 * r == den and (q & 1)):
        q += 1
    return q


def ti_acc_code(g: int) -> int:
    return {2: 0, 4: 1, 8: 2, 16: 3}.get(g, -1)


def ti_gyr_code(dps: int) -> int:
    return {250: 0, 500: 1, 1000: 2, 2000: 3}.get(dps, -1)


def ti_rate_ok(hz: int) -> bool:
    """§5 rates; 1600 Hz is not offered by this board."""
    return hz in (25, 50, 100, 200, 400, 800)


def ti_period_us(s: Core) -> int:
    return 1000000 // s.cfg.rate_hz


# ---- §5 config ----------------------------------------------------------------------------
def ti_config_parse(cur: Config, v: bytes, length: int) -> tuple[int, Config | None]:
    """Validate a config write against the current config: (ATT error or 0, config)."""
    if length != TI_CFG_LEN:
        return TI_ATT_INVALID_LEN, None
    if v[0] != 1:  # off 0 version
        return TI_ATT_NOT_ALLOWED, None
    if v[1] & 0xF8:  # off 1 flags bits 3-7 reserved
        return TI_ATT_NOT_ALLOWED, None
    c = Config(
        flags=v[1],
        rate_hz=ti_get_u16(v, 2),  # off 2
        acc_range_g=v[4],  # off 4
        gyr_range_dps=ti_get_u16(v, 5),  # off 5
        max_latency_ms=v[7],  # off 7
        impulse_thr_dg=v[8],  # off 8
    )
    if (not ti_rate_ok(c.rate_hz) or ti_acc_code(c.acc_range_g) < 0 or ti_gyr_code(c.gyr_range_dps) < 0
            or c.impulse_thr_dg == 0):
        return TI_ATT_NOT_ALLOWED, None
    if ((cur.flags & 1) and (c.flags & 1)
            and (c.rate_hz != cur.rate_hz or c.acc_range_g != cur.acc_range_g
                 or c.gyr_range_dps != cur.gyr_range_dps or ((c.flags ^ cur.flags) & 2))):
        return TI_ATT_BUSY, None
    return TI_ATT_OK, c


def ti_config_write(c: Config) -> bytes:
    out = bytearray(TI_CFG_LEN)
    out[0] = 1  # off 0 version
    out[1] = c.flags  # off 1
    ti_put_u16(out, 2, c.rate_hz)  # off 2
    out[4] = c.acc_range_g  # off 4
    ti_put_u16(out, 5, c.gyr_range_dps)  # off 5
    out[7] = c.max_latency_ms  # off 7
    out[8] = c.impulse_thr_dg  # off 8
    return bytes(out)


# ---- §4 data packets ---------------------------------------------------------------------
def ti_pkt_cap(s: Core) -> int:
    n = (s.mtu - TI_ATT_HDR_LEN - TI_HDR_LEN) // TI_SAMPLE_LEN  # §4.1
    return TI_PKT_MAX if n > TI_PKT_MAX else n


def ti_pkt_close(s: Core) -> None:
    p = s.pkt
    length = TI_HDR_LEN + s.pkt_n * TI_SAMPLE_LEN
    ti_put_u16(p, 0, s.seq)  # off 0 seq
    ti_put_u32(p, 2, s.pkt_t0)  # off 2 t_us of sample 0
    p[6] = (ti_acc_code(s.cfg.acc_range_g)  # off 6 flags bits 0-1
            | (ti_gyr_code(s.cfg.gyr_range_dps) << 2)  # bits 2-3
            | (TI_FLAG_OVERRUN if s.pkt_overrun else 0)  # bit 5
            | (TI_FLAG_IMPULSE if s.win_state != TI_WIN_IDLE else 0))  # bit 6; bit 4 = 0
    p[7] = s.pkt_n  # off 7 n
    if s.q_count == TI_QLEN:
        s.overrun_samples = (s.overrun_samples + s.pkt_n) & _M32  # §10: queue full, seq still counts
    else:
        slot = (s.q_head + s.q_count) % TI_QLEN
        s.q[slot] = bytes(p[:length])
        s.q_len[slot] = length
        s.q_count += 1
    s.seq = (s.seq + 1) & 0xFFFF
    s.pkt_n = 0


def ti_emit(s: Core, t: int, v: list[int]) -> None:
    P = ti_period_us(s)
    if s.have_next and t != s.next_t:  # output samples missing before this one
        s.gap = 1
        if s.pkt_n > 0:
            ti_pkt_close(s)  # samples inside a packet are evenly spaced
    if s.pkt_n == 0:
        s.pkt_t0 = t
        s.pkt_overrun = s.gap
        s.gap = 0
    d = TI_HDR_LEN + s.pkt_n * TI_SAMPLE_LEN  # off 8 + 12 k
    for i in range(6):
        ti_put_u16(s.pkt, d + 2 * i, v[i])  # acc x y z, gyro x y z, s16
    s.pkt_n += 1
    s.next_t = (t + P) & _M32
    s.have_next = 1
    if s.pkt_n >= ti_pkt_cap(s) or (s.cfg.max_latency_ms and s.pkt_n * P >= s.cfg.max_latency_ms * 1000):
        ti_pkt_close(s)  # §4.1: full, or one more sample would exceed max_latency_ms


def ti_bin_close(s: Core) -> None:
    """Close the open bin: mean of its IMU samples, stamped at the bin centre."""
    P = ti_period_us(s)
    v = [0] * 6
    for i in range(3):
        v[i] = ti_sat16(ti_div_round_even(s.sum[i], s.count))
    for i in range(3, 6):
        v[i] = ti_sat16(ti_div_round_even(s.sum[i] * TI_GYR_NUM, s.count * TI_GYR_DEN))
    ti_emit(s, (s.bin_end - P // 2) & _M32, v)
    for i in range(6):
        s.sum[i] = 0
    s.count = 0


def ti_decim_push(s: Core, raw: list[int], t: int) -> None:
    P = ti_period_us(s)
    if not s.bin_open:
        s.bin_open = 1
        s.bin_end = (t + P) & _M32
    elif _s32(t - s.bin_end) >= 0:
        skip = ((t - s.bin_end) & _M32) // P  # whole bins without a sample: IMU FIFO overrun
        if s.count > 0:
            ti_bin_close(s)
        s.overrun_samples = (s.overrun_samples + skip) & _M32
        s.bin_end = (s.bin_end + (((skip + 1) * P) & _M32)) & _M32
    for i in range(6):
        s.sum[i] += raw[i]
    s.count += 1


# ---- §7 impulse detector and fragments ---------------------------------------------------------
def ti_win_add(s: Core, a: list[int]) -> None:
    d = TI_WIN_HDR_LEN + 6 * s.win_n  # body off 12 + 6 k
    for i in range(3):
        ti_put_u16(s.win_body, d + 2 * i, a[i])  # acc x y z, s16
        if a[i] >= 32767 or a[i] <= -32767:
            s.win_clipped = 1
    s.win_n += 1
    if s.win_n == TI_WIN:
        h = s.win_body
        ti_put_u32(h, 0, s.win_t0)  # body off 0 t_us of sample 0
        ti_put_u16(h, 4, TI_IMU_RATE_HZ)  # off 4 rate_hz
        ti_put_u16(h, 6, s.win_n)  # off 6 n
        ti_put_u16(h, 8, s.win_trig)  # off 8 trigger_index
        h[10] = s.cfg.acc_range_g  # off 10 acc_range_g
        h[11] = s.win_clipped  # off 11 flags bit 0 clipped
        s.win_state = TI_WIN_SENDING
        s.frag_idx = 0


def ti_impulse_push(s: Core, a: list[int], t: int) -> None:
    """One 1.66 kHz accelerometer sample (raw counts at the configured range)."""
    e2 = 0
    scale = 10 * s.cfg.acc_range_g
    thr = s.cfg.impulse_thr_dg * 32768 * 16  # |hp| >= thr_dg/10 g, in Q4 x scale
    for i in range(3):
        x = a[i] * 16  # Q4
        if not s.lp_ready:
            s.lp[i] = x  # start at rest: gravity is no impulse
        s.lp[i] += ti_asr(x - s.lp[i], TI_HP_SHIFT)  # EMA low-pass
        e2 += (x - s.lp[i]) * (x - s.lp[i])  # |high-pass|^2, Q8
    s.lp_ready = 1
    if s.win_state == TI_WIN_CAPTURING:
        ti_win_add(s, a)
    elif s.win_state == TI_WIN_IDLE and s.holdoff == 0 and e2 * scale * scale >= thr * thr:
        s.win_n = 0
        s.win_clipped = 0
        s.win_trig = s.ring_fill
        s.win_t0 = t
        for k in range(s.ring_fill):  # the pre-trigger samples, oldest first
            j = (s.ring_pos + TI_PRE - s.ring_fill + k) % TI_PRE
            if k == 0:
                s.win_t0 = s.ring_t[j]
            ti_win_add(s, s.ring[j])
        s.win_state = TI_WIN_CAPTURING
        ti_win_add(s, a)
    if s.holdoff:
        s.holdoff -= 1
    for i in range(3):
        s.ring[s.ring_pos][i] = a[i]
    s.ring_t[s.ring_pos] = t
    s.ring_pos = (s.ring_pos + 1) % TI_PRE
    if s.ring_fill < TI_PRE:
        s.ring_fill += 1


def ti_impulse_fragment(s: Core) -> bytes:
    """Next fragment of the captured window; ``b""`` if none."""
    room = s.mtu - TI_ATT_HDR_LEN - TI_FRAG_HDR_LEN
    body = TI_WIN_HDR_LEN + 6 * s.win_n
    off = s.frag_idx * room
    if s.win_state != TI_WIN_SENDING:
        return b""
    length = body - off if body - off < room else room
    out = bytearray(TI_FRAG_HDR_LEN + length)
    ti_put_u16(out, 0, s.impulse_id)  # frag off 0 impulse_id
    out[2] = s.frag_idx  # off 2 index
    out[3] = (body + room - 1) // room  # off 3 count
    out[TI_FRAG_HDR_LEN:] = s.win_body[off:off + length]  # off 4 payload slice
    return bytes(out)


def ti_impulse_fragment_sent(s: Core) -> None:
    """The radio took the fragment: move on; re-arm after the last one."""
    room = s.mtu - TI_ATT_HDR_LEN - TI_FRAG_HDR_LEN
    body = TI_WIN_HDR_LEN + 6 * s.win_n
    if s.win_state != TI_WIN_SENDING:
        return
    s.frag_idx += 1
    if s.frag_idx * room >= body:
        s.win_state = TI_WIN_IDLE
        s.impulse_id = (s.impulse_id + 1) & 0xFFFF
        s.holdoff = TI_PRE  # let the ring refill past the event's ringing


# ---- §6 status --------------------------------------------------------------------------------
_MV = (3300, 3600, 3700, 3800, 3900, 4000, 4100, 4200)
_PCT = (0, 10, 30, 55, 72, 85, 95, 100)


def ti_battery_pct(mv: int) -> int:
    """LiPo percent from millivolts: piecewise linear through a typical discharge curve."""
    if mv == 0:
        return 255  # unknown
    if mv <= _MV[0]:
        return 0
    for i in range(1, 8):
        if mv < _MV[i]:
            return _PCT[i - 1] + (_PCT[i] - _PCT[i - 1]) * (mv - _MV[i - 1]) // (_MV[i] - _MV[i - 1])
    return 100


def ti_status_build(s: Core, charging: int, mv: int, temp_c: int, t_us: int) -> bytes:
    pct = ti_battery_pct(mv)
    out = bytearray(TI_STATUS_LEN)
    out[0] = 1  # off 0 version
    out[1] = ((s.cfg.flags & 1)  # off 1 bit 0 streaming
              | (2 if charging else 0)  # bit 1 charging
              | (4 if s.win_state != TI_WIN_IDLE else 0)  # bit 2 impulse pending; bit 3 mag: none
              | (16 if pct <= 10 and not charging else 0))  # bit 4 battery low
    out[2] = pct  # off 2 battery_pct, 255 unknown
    out[3] = temp_c & 0xFF  # off 3 s8 temperature, -128 unknown
    ti_put_u16(out, 4, mv)  # off 4 battery_mV
    ti_put_u32(out, 6, s.overrun_samples)  # off 6 fifo_overrun_samples
    ti_put_u32(out, 10, t_us)  # off 10 t_us
    return bytes(out)


# ---- the core's API, used by the sketch ----------------------------------------------------------
def ti_core_init(s: Core) -> None:
    fresh = Core()
    s.__dict__.update(fresh.__dict__)


def ti_core_set_mtu(s: Core, mtu: int) -> None:
    s.mtu = TI_MAX_MTU if mtu > TI_MAX_MTU else (TI_MIN_MTU if mtu < TI_MIN_MTU else mtu)


def ti_core_configure(s: Core, v: bytes) -> int:
    """A config write: validate, apply, start or stop. Returns 0 or the ATT error code."""
    err, c = ti_config_parse(s.cfg, v, len(v))
    was = s.cfg.flags & 1
    if err:
        return err
    assert c is not None
    if was and s.pkt_n > 0 and not (c.flags & 1):
        ti_pkt_close(s)  # stop: send what is there
    if not (c.flags & 4) and s.win_state == TI_WIN_CAPTURING:
        s.win_state = TI_WIN_IDLE
    if not was and (c.flags & 1):  # start: fresh decimator, packet and detector; seq runs on
        s.have_t = 0
        s.bin_open = 0
        s.sum = _z(6)
        s.count = 0
        s.pkt_n = 0
        s.have_next = 0
        s.gap = 0
        s.lp_ready = 0
        s.ring_fill = 0
        if s.win_state == TI_WIN_CAPTURING:
            s.win_state = TI_WIN_IDLE
        s.holdoff = 0
    s.cfg = c
    return TI_ATT_OK


def ti_fifo_time(t_read: int, n: int, j: int) -> int:
    """§10: time of sample ``j`` of ``n`` read from the FIFO at ``t_read`` (newest ≈ t_read)."""
    return (t_read - (n - 1 - j) * TI_IMU_PERIOD_US) & _M32


def ti_core_push(s: Core, raw: list[int], t: int) -> None:
    """One IMU FIFO sample: raw acc x y z, gyro x y z (LSM6DS3TR-C counts, board axes)."""
    if not (s.cfg.flags & 1):
        return
    if s.have_t and _s32(t - s.last_t) <= 0:
        t = (s.last_t + 1) & _M32  # keep times increasing
    s.have_t = 1
    s.last_t = t
    if s.cfg.flags & 4:
        ti_impulse_push(s, raw, t)
    ti_decim_push(s, raw, t)


def ti_core_peek(s: Core) -> bytes | None:
    """Oldest finished data packet (None if none); :func:`ti_core_pop` once the radio took it."""
    if s.q_count == 0:
        return None
    return s.q[s.q_head][: s.q_len[s.q_head]]


def ti_core_pop(s: Core) -> None:
    if s.q_count == 0:
        return
    s.q_head = (s.q_head + 1) % TI_QLEN
    s.q_count -= 1


# ---- host_check.c's command loop ------------------------------------------------------------------
def run_script(script: str) -> list[str]:
    """Run a ``host_check.c`` command script on the mirror; the lines it prints.

    Commands (one per line): ``mtu N``; ``cfg HEX`` → ``att XX``; ``cfgread`` →
    ``config HEX``; ``fifo T_READ N`` followed by N lines ``ax ay az gx gy gz``;
    ``radio K`` → up to K ``data HEX`` then up to K ``imp HEX``;
    ``status CHG MV TEMP T`` → ``status HEX``.
    """
    s = Core()
    ti_core_init(s)
    out: list[str] = []
    lines = iter(script.splitlines())
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        cmd = parts[0]
        if cmd == "mtu":
            ti_core_set_mtu(s, int(parts[1]))
        elif cmd == "cfg":
            out.append(f"att {ti_core_configure(s, bytes.fromhex(parts[1] if len(parts) > 1 else '')):02x}")
        elif cmd == "cfgread":
            out.append("config " + ti_config_write(s.cfg).hex())
        elif cmd == "fifo":
            t_read, n = int(parts[1]), int(parts[2])
            for j in range(n):
                raw = [int(x) for x in next(lines).split()]
                ti_core_push(s, raw, ti_fifo_time(t_read, n, j))
        elif cmd == "radio":
            k_max = int(parts[1])
            for _ in range(k_max):
                p = ti_core_peek(s)
                if p is None:
                    break
                out.append("data " + p.hex())
                ti_core_pop(s)
            for _ in range(k_max):
                f = ti_impulse_fragment(s)
                if not f:
                    break
                out.append("imp " + f.hex())
                ti_impulse_fragment_sent(s)
        elif cmd == "status":
            chg, mv, temp, t = (int(x) for x in parts[1:5])
            out.append("status " + ti_status_build(s, chg, mv, temp, t).hex())
        else:
            raise ValueError(f"unknown command {cmd!r}")
    return out
