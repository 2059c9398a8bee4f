"""Property tests: random, truncated and corrupted bytes only ever raise DecodeError;
encoders and decoders round-trip; the vectorised paths equal the reference paths."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.errors import DecodeError
from tracker.profiles import PROFILES, SampleBatch
from tracker.profiles import microbit as mb
from tracker.profiles import polar as pl
from tracker.profiles import sensortag as stag
from tracker.profiles import thingy52 as th
from tracker.profiles import tracker_imu as ti
from tracker.profiles import witmotion as wm
from tracker.schema import STANDARD_GRAVITY_M_S2 as G

H = bytes.fromhex

#: Valid notifications per profile: (char uuid, bytes), the seeds for truncation and corruption.
VALID: dict[str, list[tuple[str, bytes]]] = {
    "tracker-imu": [
        (ti.DATA_UUID, p) for p in ti.encode_packets(
            65530, 2**32 - 30_000, np.ones((40, 3)), np.ones((40, 3)), np.ones((40, 3)), rate_hz=400)
    ] + [
        (ti.STATUS_UUID, ti.encode_status(ti.DeviceStatus(battery_pct=50))),
        *((ti.IMPULSE_UUID, f) for f in ti.encode_impulse(3, 1000, np.ones((50, 3)), trigger_index=5)),
    ],
    "witmotion": [(wm.NOTIFY_UUID, H("55 61 00 00 00 00 00 08 A4 00 00 00 5C FF 39 0E C7 F1 00 40")),
                  (wm.NOTIFY_UUID, H("55 71 3A 00 68 01 69 00 7A 00") + bytes(10))],
    "thingy52": [(th.RAW_UUID, H("00 00 00 00 00 04 20 00 00 00 C0 FF 90 01 60 FF 80 02")),
                 (th.QUATERNION_UUID, H("CD 3C 41 2D") + bytes(8) + H("CD 3C 41 2D"))],
    "polar-h10": [
        (pl.DATA_UUID, H("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03")),
        (pl.DATA_UUID, H("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")),
        (pl.CP_UUID, H("F0 02 02 00 00")),
    ],
    "polar-verity": [
        (pl.DATA_UUID, H("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")),
        (pl.DATA_UUID, H("05 FF FF FF FF FF FF FF 7F 80 EA FF 08 00 0D 00 03 01 DF 00")),
        (pl.CP_UUID, H("F0 02 05 00 00 05 01") + struct.pack("<f", 0.25)),
    ],
    "sensortag": [(stag.DATA_UUID, H("83 00 7D FF 00 00 00 00 00 00 00 20 14 00 FB FF 28 00"))],
    "microbit": [(mb.ACC_DATA_UUID, H("E8 FF 10 00 00 FC"))],
}


def _check_batch(b: SampleBatch | None, p) -> None:
    if b is None:
        return
    n = len(b)
    assert b.t_s.shape == (n,) and b.acc_m_s2.shape == (n, 3) and b.gyr_rad_s.shape == (n, 3)
    assert b.mag_uT is None or b.mag_uT.shape == (n, 3)
    assert np.isfinite(b.t_s).all() and np.isfinite(b.acc_m_s2).all() and np.isfinite(b.gyr_rad_s).all()
    assert b.lost_samples >= 0
    if not p.has_gyro:
        assert (b.gyr_rad_s == 0).all()


def _feed_all(pid: str, items: list[tuple[str, bytes]]) -> int:
    """Feed notifications; only DecodeError may escape (and not as a wrapped bug)."""
    p = PROFILES[pid]
    dec = p.make_decoder(p.default_rate_hz)
    last_t = -math.inf
    errors = 0
    for i, (uuid, data) in enumerate(items):
        try:
            b = dec.feed(uuid, data, 0.01 * i)
        except DecodeError as e:
            # A wrapped ValueError/IndexError means a decoder bug hidden behind DecodeError.
            assert e.__cause__ is None, f"decoder bug on {data.hex()}: {e.__cause__!r}"
            errors += 1
            continue
        _check_batch(b, p)
        if b is not None and len(b):
            assert b.t_s[0] > last_t and (np.diff(b.t_s) > 0).all()
            last_t = b.t_s[-1]
    assert dec.stats["decode_errors"] == errors
    return errors


def _notifications(pid: str) -> st.SearchStrategy[tuple[str, bytes]]:
    uuids = sorted({u for u, _ in VALID[pid]} | set(PROFILES[pid].notify_uuids))
    seeds = VALID[pid]
    random_bytes = st.tuples(st.sampled_from(uuids), st.binary(max_size=260))
    truncated = st.tuples(st.sampled_from(seeds), st.integers(0, 300)).map(lambda s: (s[0][0], s[0][1][: s[1]]))

    def flip(args):
        (uuid, data), pos, val = args
        if not data:
            return uuid, data
        b = bytearray(data)
        b[pos % len(b)] = val
        return uuid, bytes(b)

    corrupted = st.tuples(st.sampled_from(seeds), st.integers(0, 1000), st.integers(0, 255)).map(flip)
    return st.one_of(random_bytes, truncated, corrupted, st.sampled_from(seeds))


@pytest.mark.parametrize("pid", list(PROFILES))
def test_decoders_only_raise_decode_error(pid):
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_notifications(pid), max_size=12))
    def run(items):
        _feed_all(pid, items)

    run()


@pytest.mark.fuzz
@pytest.mark.parametrize("pid", list(PROFILES))
def test_fuzz_decoders(pid):
    @settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_notifications(pid), max_size=20))
    def run(items):
        _feed_all(pid, items)

    run()


def test_decode_error_is_counted_and_decoder_survives():
    for pid, seeds in VALID.items():
        p = PROFILES[pid]
        dec = p.make_decoder(p.default_rate_hz)
        with pytest.raises(DecodeError):
            dec.feed(seeds[0][0], b"\x01", 0.0)
        dec.feed(seeds[0][0], seeds[0][1], 0.0)  # next good packet decodes
        assert dec.stats["decode_errors"] == 1


def test_unexpected_characteristic_is_a_decode_error():
    for p in PROFILES.values():
        with pytest.raises(DecodeError):
            p.make_decoder(p.default_rate_hz).feed("0000aaaa-0000-1000-8000-00805f9b34fb", b"\x00" * 20, 0)


# -- tracker-imu round trips -------------------------------------------------------------------
finite = st.floats(-1e3, 1e3, allow_nan=False)
vec3 = st.tuples(finite, finite, finite)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.tuples(vec3, vec3, vec3), min_size=1, max_size=45),
    seq0=st.integers(0, 65535),
    t0=st.integers(0, 2**32 - 1),
    with_mag=st.booleans(),
    acc_range=st.sampled_from(ti.ACC_RANGES_G),
    gyr_range=st.sampled_from(ti.GYR_RANGES_DPS),
    rate=st.sampled_from(ti.RATES_HZ),
    mtu=st.sampled_from([23, 64, 185, 247, 517]),
)
def test_tracker_imu_roundtrip(data, seq0, t0, with_mag, acc_range, gyr_range, rate, mtu):
    acc = np.array([d[0] for d in data]) / 100  # ±10 m/s² typical, some beyond ±2 g: saturation
    gyr = np.array([d[1] for d in data]) / 50
    mag = np.array([d[2] for d in data]) if with_mag else None
    cfg = ti.DeviceConfig(rate_hz=rate, acc_range_g=acc_range, gyr_range_dps=gyr_range)
    if with_mag and ti.max_samples_per_packet(mtu, True) < 1:
        mtu = 247
    pkts = ti.encode_packets(seq0, t0, acc, gyr, mag, rate_hz=rate, mtu=mtu, config=cfg)
    # Vectorised encoder == plain-Python reference, packet by packet.
    spp = ti.max_samples_per_packet(mtu, with_mag)
    for i, p in enumerate(pkts):
        s = slice(i * spp, (i + 1) * spp)
        ref = ti.encode_packet_ref(
            seq0 + i, t0 + round(i * spp * 1e6 / rate), acc[s].tolist(), gyr[s].tolist(),
            None if mag is None else mag[s].tolist(), acc_range_g=acc_range, gyr_range_dps=gyr_range)
        assert p == ref
    dec = ti.PROFILE.make_decoder(rate)
    b = SampleBatch.concat([dec.feed(ti.DATA_UUID, p, 0.0) for p in pkts])
    a_lsb, g_lsb = ti.acc_lsb_m_s2(acc_range), ti.gyr_lsb_rad_s(gyr_range)
    np.testing.assert_allclose(b.acc_m_s2, np.clip(acc, -32768 * a_lsb, 32767 * a_lsb), atol=a_lsb / 2 + 1e-12)
    np.testing.assert_allclose(b.gyr_rad_s, np.clip(gyr, -32768 * g_lsb, 32767 * g_lsb), atol=g_lsb / 2 + 1e-12)
    if with_mag:
        np.testing.assert_allclose(b.mag_uT, mag, atol=0.05 + 1e-9)
    np.testing.assert_allclose(b.t_s, np.arange(len(data)) / rate, atol=2e-6)
    assert dec.stats["lost_packets"] == 0 and b.lost_samples == 0
    # decode_many (vectorised bulk path) agrees with the streaming decoder.
    m = ti.decode_many(pkts, rate)
    np.testing.assert_array_equal(m.acc_m_s2, b.acc_m_s2)
    np.testing.assert_array_equal(m.gyr_rad_s, b.gyr_rad_s)
    np.testing.assert_allclose(m.t_s, b.t_s, atol=2e-6)


@settings(max_examples=60, deadline=None)
@given(rate=st.sampled_from(ti.RATES_HZ), acc=st.sampled_from(ti.ACC_RANGES_G), gyr=st.sampled_from(ti.GYR_RANGES_DPS),
       stream=st.booleans(), mag=st.booleans(), imp=st.booleans(), lat=st.integers(0, 255), thr=st.integers(1, 255))
def test_config_roundtrip(rate, acc, gyr, stream, mag, imp, lat, thr):
    c = ti.DeviceConfig(rate, acc, gyr, stream, mag, imp, lat, thr / 10)
    assert ti.decode_config(ti.encode_config(c)) == c


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=20))
def test_config_rejects_with_att_codes(data):
    try:
        ti.decode_config(data)
    except ti.ConfigError as e:
        assert e.att_error == (0x0D if len(data) != ti.CONFIG_LEN else 0x13)


def test_config_change_while_streaming():
    on = ti.DeviceConfig(rate_hz=100, stream=True)
    with pytest.raises(ti.ConfigError) as e:
        ti.check_config_change(on, ti.DeviceConfig(rate_hz=200, stream=True))
    assert e.value.att_error == 0x80
    ti.check_config_change(on, ti.DeviceConfig(rate_hz=200, stream=False))  # stop + apply: fine


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), trig=st.integers(0, 399), mtu=st.sampled_from([23, 27, 100, 247]),
       seed=st.integers(0, 2**16))
def test_impulse_roundtrip(n, trig, mtu, seed):
    acc = np.random.default_rng(seed).normal(0, 30, (n, 3))
    frags = ti.encode_impulse(9, 123, acc, trigger_index=trig % n, mtu=mtu)
    assert all(len(f) <= mtu - 3 for f in frags)
    asm = ti.ImpulseAssembler()
    out = [asm.feed(f) for f in frags]
    assert out[:-1] == [None] * (len(frags) - 1)
    np.testing.assert_allclose(out[-1].acc_m_s2, acc, atol=ti.acc_lsb_m_s2(16) / 2 + 1e-12)


def test_impulse_window_on_session_time_base():
    dec = ti.PROFILE.make_decoder(100)
    for p in ti.encode_packets(0, 5_000_000, np.zeros((20, 3)), np.zeros((20, 3)), rate_hz=100):
        dec.feed(ti.DATA_UUID, p, 0.0)
    for f in ti.encode_impulse(1, 5_050_000, np.zeros((64, 3)), rate_hz=3200, trigger_index=16):
        dec.feed(ti.IMPULSE_UUID, f, 0.0)
    (w,) = dec.pop_impulses()
    assert w.trigger_t_s == pytest.approx(0.05 + 16 / 3200)
    assert dec.pop_impulses() == []


def test_vendor_encoders_roundtrip():
    rng = np.random.default_rng(1)
    for _ in range(50):
        a, g, m = rng.normal(0, 1, 3), rng.normal(0, 100, 3), rng.normal(0, 40, 3)
        acc, gyr, mag = th.decode_thingy_raw(th.encode_thingy_raw(a, g, m))
        np.testing.assert_allclose(acc, a, atol=1 / 2048)
        np.testing.assert_allclose(gyr, g, atol=1 / 64)
        np.testing.assert_allclose(mag, m, atol=1 / 32)
        gyr, acc, mag = stag.decode_sensortag(stag.encode_sensortag(g, a, m, 8), 8)
        np.testing.assert_allclose(acc, a, atol=8 / 65536)
        np.testing.assert_allclose(mb.decode_microbit(mb.encode_microbit(a)), a, atol=5e-4)
    assert G > 9
