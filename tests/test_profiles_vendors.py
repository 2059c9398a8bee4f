"""Vendor decoders against the vectors in ../shared/device-profiles.md, plus commands."""

from __future__ import annotations

import math
import struct
import subprocess
import sys

import numpy as np
import pytest

from tracker.errors import DecodeError
from tracker.profiles import PROFILES, describe_device, get_profile, identify, norm_uuid
from tracker.profiles import microbit as mb
from tracker.profiles import polar as pl
from tracker.profiles import sensortag as st
from tracker.profiles import thingy52 as th
from tracker.profiles import tracker_imu as ti
from tracker.profiles import witmotion as wm
from tracker.schema import STANDARD_GRAVITY_M_S2 as G

H = bytes.fromhex
DEG = math.pi / 180

W1 = H("55 61 00 00 00 00 00 08 A4 00 00 00 5C FF 39 0E C7 F1 00 40")
W2 = H("55 71 3A 00 68 01 69 00 7A 00") + bytes(10)
W3_Q = H("55 71 51 00 FF 7F") + bytes(14)
W3_T = H("55 71 40 00 F4 09") + bytes(14)
P1 = H("02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03")
P2 = H("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
P3 = H("05 FF FF FF FF FF FF FF 7F 80 EA FF 08 00 0D 00 03 01 DF 00")


# -- WitMotion ---------------------------------------------------------------------------
def _wit_decoder():
    """A WitMotion decoder that has had its first magnetometer reply (no hold-back)."""
    dec = get_profile("witmotion").make_decoder(100)
    assert dec.feed(wm.NOTIFY_UUID, W2, 0.0) is None
    return dec


def test_witmotion_w1_stream_packet():
    b = _wit_decoder().feed(wm.NOTIFY_UUID, W1, 0.0)
    np.testing.assert_allclose(b.acc_m_s2, [[0, 0, G]])
    np.testing.assert_allclose(b.gyr_rad_s / DEG, [[10.0098, 0, -10.0098]], atol=1e-4)
    np.testing.assert_allclose(b.extras["euler_deg"], [[20.0006, -20.0006, 90.0]], atol=1e-4)


def test_witmotion_holds_first_samples_until_first_mag_reply():
    dec = get_profile("witmotion").make_decoder(100)
    assert [dec.feed(wm.NOTIFY_UUID, W1, i / 100) for i in range(30)] == [None] * 30
    b = dec.feed(wm.NOTIFY_UUID, W1 + W2 + W1, 0.31)  # reply arrives mid-notification
    assert len(b) == 32 and b.mag_uT is not None
    np.testing.assert_allclose(b.t_s, np.arange(32) / 100)
    np.testing.assert_allclose(b.mag_uT[0], [3.0, 0.875, 122 / 120])


def test_witmotion_gives_up_waiting_for_mag_after_1s():
    dec = get_profile("witmotion").make_decoder(100)
    out = [dec.feed(wm.NOTIFY_UUID, W1, i / 100) for i in range(150)]
    first = next(i for i, b in enumerate(out) if b is not None)
    assert first == 100 and len(out[first]) == 101 and out[first].mag_uT is None
    assert all(len(b) == 1 and b.mag_uT is None for b in out[first + 1:])
    assert (np.diff(np.concatenate([b.t_s for b in out[first:]])) > 0).all()


def test_witmotion_w2_w3_register_replies_and_mag_hold():
    dec = get_profile("witmotion").make_decoder(100)
    assert dec.feed(wm.NOTIFY_UUID, W2, 0.0) is None
    np.testing.assert_allclose(dec.latest["mag_uT"], [3.000, 0.875, 1.0167], atol=1e-4)
    assert dec.feed(wm.NOTIFY_UUID, W3_Q, 0.0) is None
    assert dec.latest["quat_wxyz"][0] == pytest.approx(0.99997, abs=1e-5)
    assert dec.feed(wm.NOTIFY_UUID, W3_T, 0.0) is None
    assert dec.latest["temperature_c"] == pytest.approx(25.48)
    b = dec.feed(wm.NOTIFY_UUID, W1, 0.01)
    np.testing.assert_allclose(b.mag_uT, [[3.0, 0.875, 122 / 120]])


def test_witmotion_mag_scale_follows_register_0x72():
    dec = get_profile("witmotion").make_decoder(100)
    dec.feed(wm.NOTIFY_UUID, wm.encode_witmotion_register_reply(0x72, [5]), 0.0)
    dec.feed(wm.NOTIFY_UUID, W2, 0.0)
    np.testing.assert_allclose(dec.latest["mag_uT"], np.array([360, 105, 122]) * 0.098)


def test_witmotion_commands():
    p = get_profile("witmotion")
    cmds = p.start_commands(50)
    assert [c.data for c in cmds[:3]] == [H("FF AA 69 88 B5"), H("FF AA 03 08 00"), H("FF AA 00 00 00")]
    assert all(c.char_uuid == wm.WRITE_UUID and c.delay_s >= 0.05 for c in cmds)
    assert p.actual_rate_hz(200) == 200 and p.actual_rate_hz(1000) == 200 and p.actual_rate_hz(60) == 50
    assert [c.data for c in p.poll_commands()] == [H("FF AA 27 3A 00"), H("FF AA 27 51 00")]
    assert wm.decode_witmotion_command(H("FF AA 27 3A 00")) == ("read", 0x3A, 0)
    assert wm.decode_witmotion_command(H("FF AA 03 0B 00")) == ("write", 0x03, 0x0B)
    assert wm.SERVICE_UUID.endswith("9a34fb")  # vendor suffix, not the SIG base


def test_witmotion_split_merged_and_resync():
    dec = _wit_decoder()
    stream = W1 + W2 + W1 + W1
    # Split at awkward places, with garbage before a header.
    assert dec.feed(wm.NOTIFY_UUID, stream[:7], 0.0) is None
    b = dec.feed(wm.NOTIFY_UUID, stream[7:45], 0.01)
    assert len(b) == 1 and b.mag_uT is not None
    b = dec.feed(wm.NOTIFY_UUID, stream[45:] + H("00 13 55"), 0.02)
    assert len(b) == 2
    b = dec.feed(wm.NOTIFY_UUID, H("12") + W1, 0.03)  # "55 12" is not a header: resync
    assert len(b) == 1
    assert dec.stats["resync_bytes"] >= 3
    np.testing.assert_allclose(b.t_s, [0.03])  # 4th sample at 100 Hz


def test_witmotion_pure_garbage_is_a_decode_error():
    dec = _wit_decoder()
    with pytest.raises(DecodeError):
        dec.feed(wm.NOTIFY_UUID, bytes(range(1, 40)), 0.0)
    assert dec.stats["decode_errors"] == 1
    assert len(dec.feed(wm.NOTIFY_UUID, W1, 0.0)) == 1  # still usable


def test_witmotion_encoder_roundtrip():
    acc = np.array([0.1, -9.7, 3.0])
    gyr = np.array([0.5, -1.0, 2.0])
    ang = np.array([10.0, -45.0, 179.0])
    pkt = wm.encode_witmotion_packet(acc, gyr, ang)
    b = _wit_decoder().feed(wm.NOTIFY_UUID, pkt, 0)
    np.testing.assert_allclose(b.acc_m_s2[0], acc, atol=16 * G / 32768)
    np.testing.assert_allclose(b.gyr_rad_s[0], gyr, atol=2000 * DEG / 32768)
    np.testing.assert_allclose(b.extras["euler_deg"][0], ang, atol=180 / 32768)


# -- SensorTag ----------------------------------------------------------------------------
def test_sensortag_vector():
    data = H("83 00 7D FF 00 00 00 00 00 00 00 20 14 00 FB FF 28 00")
    gyr, acc, mag = st.decode_sensortag(data, acc_range_g=4)
    np.testing.assert_allclose(gyr, [0.9995, -0.9995, 0], atol=1e-4)
    np.testing.assert_allclose(acc, [0, 0, 1.0])
    np.testing.assert_allclose(mag, [20, -5, 40])
    assert st.config_value(4) == H("7F 01")
    dec = st.SensorTagDecoder(PROFILES["sensortag"], 10, acc_range_g=4)
    b = dec.feed(st.DATA_UUID, data, 0.0)
    np.testing.assert_allclose(b.acc_m_s2, [[0, 0, G]])
    np.testing.assert_allclose(b.mag_uT, [[-5, 20, -40]])  # AK8963 axes mapped to the acc frame


def test_sensortag_commands_and_10hz_ceiling():
    p = get_profile("sensortag")
    assert p.max_rate_hz == 10
    assert p.actual_rate_hz(100) == 10.0 and p.actual_rate_hz(10) == 10.0 and p.actual_rate_hz(1) == 1.0
    start = p.start_commands(10)
    assert (start[0].char_uuid, start[0].data) == (st.PERIOD_UUID, H("0A"))
    assert start[1].char_uuid == st.CONFIG_UUID and start[1].data[0] == 0x7F  # WOM bit 7 off
    assert p.stop_commands()[0].data == H("00 00")


# -- Thingy:52 ----------------------------------------------------------------------------
def test_thingy_vectors():
    acc, gyr, mag = th.decode_thingy_raw(H("00 00 00 00 00 04 20 00 00 00 C0 FF 90 01 60 FF 80 02"))
    np.testing.assert_allclose(acc, [0, 0, 1.0])
    np.testing.assert_allclose(gyr, [1, 0, -2])
    np.testing.assert_allclose(mag, [25, -10, 40])
    q = th.decode_thingy_quaternion(H("CD 3C 41 2D") + bytes(8) + H("CD 3C 41 2D"))
    np.testing.assert_allclose(q, [0.70711, 0, 0, 0.70711], atol=1e-5)
    cfg = th.decode_thingy_config(H("E8 03 F4 01 F4 01 64 00 01"))
    assert cfg == th.ThingyConfig(1000, 500, 500, 100, True)
    assert th.encode_thingy_config(cfg) == H("E8 03 F4 01 F4 01 64 00 01")


def test_thingy_rate_via_config():
    p = get_profile("thingy52")
    (w,) = p.start_commands(100)
    assert (w.char_uuid, w.data, w.response) == (th.CONFIG_UUID, H("E8 03 F4 01 F4 01 64 00 01"), True)
    assert p.actual_rate_hz(500) == 200 and p.actual_rate_hz(1) == 5
    dec = p.make_decoder(100)
    b = dec.feed(th.RAW_UUID, H("00 00 00 00 00 04 20 00 00 00 C0 FF 90 01 60 FF 80 02"), 0)
    np.testing.assert_allclose(b.gyr_rad_s, [[DEG, 0, -2 * DEG]])


# -- micro:bit ----------------------------------------------------------------------------
def test_microbit_vector_and_no_gyro():
    np.testing.assert_allclose(mb.decode_microbit(H("E8 FF 10 00 00 FC")), [-0.024, 0.016, -1.024])
    p = get_profile("microbit")
    assert not p.has_gyro and not p.has_mag
    assert "no axial rotation" in p.angles
    b = p.make_decoder(50).feed(mb.ACC_DATA_UUID, H("E8 FF 10 00 00 FC"), 0)
    # Gravity direction → specific force: flat face up reads +1.024 g on z.
    np.testing.assert_allclose(b.acc_m_s2, [[0.024 * G, -0.016 * G, 1.024 * G]])
    assert (b.gyr_rad_s == 0).all()
    (w,) = p.start_commands(50)
    assert (w.char_uuid, w.data) == (mb.ACC_PERIOD_UUID, H("14 00"))
    assert p.actual_rate_hz(30) == 50.0 and p.actual_rate_hz(10) == 12.5


# -- Polar PMD ----------------------------------------------------------------------------
def test_polar_p1_raw_acc():
    f = pl.decode_pmd_frame(P1)
    assert (f.mtype, f.timestamp_ns, f.frame_type, f.compressed) == (pl.ACC, 2_000_000_000, 1, False)
    np.testing.assert_array_equal(f.raw, [[-9, -1, 999], [-8, -2, 997]])
    np.testing.assert_allclose(f.values, np.array([[-9, -1, 999], [-8, -2, 997]]) * G / 1000)


def test_polar_p2_delta_acc():
    f = pl.decode_pmd_frame(P2)
    assert f.compressed and f.frame_type == 1 and f.timestamp_ns == 0x65
    np.testing.assert_array_equal(f.raw, [[-15, 20, 1008], [-20, 17, 1008]])


def test_polar_p3_delta_gyro_lsb_first():
    f = pl.decode_pmd_frame(P3)
    np.testing.assert_array_equal(f.raw, [[-22, 8, 13], [-23, 11, 16]])
    np.testing.assert_allclose(f.values, np.radians([[-22, 8, 13], [-23, 11, 16]]))
    f2 = pl.decode_pmd_frame(P3, factor=0.5)
    np.testing.assert_allclose(f2.raw, [[-11, 4, 6.5], [-11.5, 5.5, 8]])
    np.testing.assert_array_equal(pl.unpack_deltas(H("DF 00"), 3, 1, 3), [[-1, 3, 3]])


def test_polar_h10_commands_and_identify():
    p = get_profile("polar-h10")
    assert [w.data for w in p.start_commands(200)] == [H("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")]
    assert [w.data for w in p.stop_commands()] == [H("03 02")]
    assert p.notify_uuids == [pl.CP_UUID, pl.DATA_UUID]  # control point first
    assert p.actual_rate_hz(150) == 200 and p.actual_rate_hz(30) == 25
    assert identify("Polar H10 8A3B2C1D", ["180d"]) is p
    assert identify("Polar Sense B5F4A3C2", []).id == "polar-verity"


def test_polar_cp_response_factor_and_errors():
    dec = get_profile("polar-verity").make_decoder(52)
    factor = struct.pack("<f", 0.5)
    assert dec.feed(pl.CP_UUID, H("F0 02 05 00 00 05 01") + factor, 0) is None
    assert dec.stats["factors"]["GYRO"] == 0.5
    dec.feed(pl.CP_UUID, H("F0 02 06 0D"), 0)  # device in charger
    assert dec.stats["control_errors"] == 1 and "in charger" in dec.control_errors[0]
    r = pl.decode_pmd_response(H("F0 01 02 00 00 00 01 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"))
    assert r.ok and r.settings[pl.SAMPLE_RATE] == [200] and r.settings[pl.RANGE] == [2, 4, 8]


def test_polar_h10_timing_interpolates_from_previous_frame():
    dec = get_profile("polar-h10").make_decoder(200)
    rows = np.array([[1, 2, 3]] * 4, dtype="<i2")

    def frame(ts_ns):
        return bytes([2]) + ts_ns.to_bytes(8, "little") + bytes([1]) + rows.tobytes()

    b0 = dec.feed(pl.DATA_UUID, frame(2_000_000_000), 1.0)
    np.testing.assert_allclose(b0.t_s, [0, 0.005, 0.010, 0.015])  # nominal rate backwards
    b1 = dec.feed(pl.DATA_UUID, frame(2_000_000_000 + 4 * 5_100_000), 1.02)  # device runs 2 % slow
    np.testing.assert_allclose(b1.t_s, 0.015 + 0.0051 * np.arange(1, 5))
    assert b1.lost_samples == 0
    b2 = dec.feed(pl.DATA_UUID, frame(2_000_000_000 + 4 * 5_100_000 + 14 * 5_100_000), 1.1)
    assert b2.lost_samples == 10
    np.testing.assert_allclose(np.diff(b2.t_s), 0.0051)
    assert (np.diff(np.concatenate([b0.t_s, b1.t_s, b2.t_s])) > 0).all()


def test_polar_verity_aligns_gyro_on_acc_times():
    p = get_profile("polar-verity")
    dec = p.make_decoder(52)
    per = round(1e9 / 52)
    acc = np.array([[0, 0, 1000]] * 10, dtype="<i2")

    def acc_frame(ts):
        return bytes([2]) + ts.to_bytes(8, "little") + bytes([1]) + acc.tobytes()

    def gyr_frame(ts, n, value):
        # compressed type 0: reference + one block of zero deltas
        return (bytes([5]) + ts.to_bytes(8, "little") + bytes([0x80])
                + np.array(value, dtype="<i2").tobytes() + bytes([1, n - 1]) + bytes((3 * (n - 1) + 7) // 8))

    def mag_frame(ts, value):
        return bytes([6]) + ts.to_bytes(8, "little") + bytes([0x80]) + np.array(value, dtype="<i2").tobytes()

    t_end = 10**10
    assert dec.feed(pl.DATA_UUID, acc_frame(t_end), 0.0) is None  # waits for gyro
    assert dec.feed(pl.DATA_UUID, gyr_frame(t_end + per, 12, [10, 0, 0]), 0.0) is None  # and first mag
    b = dec.feed(pl.DATA_UUID, mag_frame(t_end - 10 * per, [1, 0, -1]), 0.0)
    assert len(b) == 10
    np.testing.assert_allclose(b.gyr_rad_s[:, 0], math.radians(10))
    np.testing.assert_allclose(b.mag_uT, [[100, 0, -100]] * 10)  # gauss -> µT
    np.testing.assert_allclose(b.acc_m_s2[:, 2], G)
    # Without a magnetometer stream the samples are released after 1 s, without mag.
    dec = p.make_decoder(52)
    got = [dec.feed(pl.DATA_UUID, acc_frame(t_end + i * 10 * per), 0.0) for i in range(8)]
    got += [dec.feed(pl.DATA_UUID, gyr_frame(t_end + 80 * per, 90, [0, 0, 0]), 0.0)]
    released = [b for b in got if b is not None]
    assert sum(len(b) for b in released) == 80 and all(b.mag_uT is None for b in released)
    # Whatever is still pending at the end comes out with flush().
    dec = p.make_decoder(52)
    assert dec.feed(pl.DATA_UUID, acc_frame(t_end), 0.0) is None
    b = dec.flush()
    assert len(b) == 10 and (b.gyr_rad_s == 0).all() and dec.flush() is None


def test_polar_unknown_measurement_ignored():
    dec = get_profile("polar-h10").make_decoder(200)
    ecg = bytes([0]) + (10**9).to_bytes(8, "little") + bytes([0]) + bytes(9)
    assert dec.feed(pl.DATA_UUID, ecg, 0) is None
    assert dec.stats["ignored_frames"] == 1


# -- registry -----------------------------------------------------------------------------
def test_registry_contract():
    assert list(PROFILES) == ["tracker-imu", "witmotion", "thingy52", "polar-h10", "polar-verity",
                              "sensortag", "microbit"]
    for pid, p in PROFILES.items():
        assert p.id == pid and p.display_name
        for u in [p.service_uuid, *p.notify_uuids]:
            assert u == norm_uuid(u) and len(u) == 36, (pid, u)
        assert p.max_rate_hz == max(p.rate_choices_hz)
        for r in (1, 25, 100, 1e4):
            a = p.actual_rate_hz(r)
            assert a in p.rate_choices_hz or pid == "thingy52"
        for w in p.start_commands(p.default_rate_hz) + p.stop_commands() + p.poll_commands():
            assert isinstance(w.data, bytes) and w.char_uuid == norm_uuid(w.char_uuid)
        dec = p.make_decoder(p.default_rate_hz)
        s = dec.stats
        for k in ("packets", "samples", "decode_errors", "lost_packets", "lost_samples", "clock_drift_ppm"):
            assert k in s
        dec.reset_link()
        assert dec.flush() is None  # nothing fed, nothing held


def test_identify():
    assert identify(None, [ti.SERVICE_UUID.upper()]).id == "tracker-imu"
    assert identify("tracker-imu-3F2A", []).id == "tracker-imu"
    assert identify("WT901BLE68", []).id == "witmotion"
    assert identify("x", ["0000FFE5-0000-1000-8000-00805F9A34FB"]).id == "witmotion"
    assert identify("Thingy", []).id == "thingy52"
    assert identify("CC2650 SensorTag", []).id == "sensortag"
    assert identify("BBC micro:bit [zogiz]", []).id == "microbit"
    assert identify("HRM-Pro", ["180d"]) is None
    assert identify(None, []) is None


def test_describe_unknown_device_lists_services():
    text = describe_device("Mystery", ["180a", "6e400001-b5a3-f393-e0a9-e50e24dcca9e", "1234"])
    assert "Unknown device 'Mystery'" in text
    assert "Device Information" in text and "Nordic UART" in text and "0x1234" in text
    assert "recognised as" in describe_device("WT901BLE68", [wm.SERVICE_UUID])


def test_profiles_are_pure():
    code = ("import sys, tracker.profiles; bad = [m for m in ('bleak', 'asyncio', 'sqlite3') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_docstring_examples():
    import doctest

    import tracker.profiles
    import tracker.profiles._describe

    for mod in (tracker.profiles, tracker.profiles._describe):
        assert doctest.testmod(mod).failed == 0
