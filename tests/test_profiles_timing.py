"""Sample timing: gaps, sequence and timestamp wrap-around, reconnects, clock drift."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.errors import DecodeError
from tracker.profiles import PROFILES, SampleBatch
from tracker.profiles import tracker_imu as ti
from tracker.profiles import witmotion as wm
from tracker.profiles._timing import DriftEstimator

RATE = 200
SPP = 10  # samples per packet in these tests


def _packets(n_samples, *, seq0=0, t0=0, rate=RATE, drift_ppm=0.0, spp=SPP):
    """Packets from a device whose µs clock runs (1 + drift_ppm·1e-6) × true time."""
    zeros = np.zeros((n_samples, 3))
    return ti.encode_packets(seq0, t0, zeros, zeros, rate_hz=rate / (1 + drift_ppm * 1e-6),
                             samples_per_packet=spp)


def _feed(dec, pkts, host_times):
    return [dec.feed(ti.DATA_UUID, p, h) for p, h in zip(pkts, host_times, strict=True)]


def test_contiguous_stream_has_uniform_times():
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(1000)
    b = SampleBatch.concat(_feed(dec, pk, np.arange(len(pk)) * SPP / RATE))
    np.testing.assert_allclose(b.t_s, np.arange(1000) / RATE, atol=1e-6)
    s = dec.stats
    assert (s["packets"], s["samples"], s["lost_packets"], s["lost_samples"]) == (100, 1000, 0, 0)


def test_lost_packets_from_seq_and_samples_from_timestamps():
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(1000)
    keep = [i for i in range(len(pk)) if i not in (10, 11, 12, 50)]
    bs = _feed(dec, [pk[i] for i in keep], [i * SPP / RATE for i in keep])
    assert [b.lost_samples for b in bs if b.lost_samples] == [30, 10]
    t = SampleBatch.concat(bs).t_s
    expected = np.concatenate([np.arange(i * SPP, (i + 1) * SPP) for i in keep]) / RATE
    np.testing.assert_allclose(t, expected, atol=1e-6)  # gap is in the time base, not squeezed out
    assert dec.stats["lost_packets"] == 4 and dec.stats["lost_samples"] == 40


def test_seq_and_timestamp_wrap():
    # seq wraps 65535 -> 0 and t_us wraps 2**32 -> 0 inside this stream.
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(400, seq0=65530, t0=2**32 - 50_000)
    seqs = [ti.decode_packet(p).seq for p in pk]
    assert 65535 in seqs and 0 in seqs
    b = SampleBatch.concat(_feed(dec, pk, np.zeros(len(pk))))
    np.testing.assert_allclose(b.t_s, np.arange(400) / RATE, atol=1e-6)
    assert dec.stats["lost_packets"] == 0


def test_gap_across_seq_wrap():
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(200, seq0=65532)
    keep = [0, 1, 2, 9, 10]  # drops seq 65535, 0, 1, 2, 3, 4 (6 packets) across the wrap
    bs = _feed(dec, [pk[i] for i in keep], [0.0] * 5)
    assert dec.stats["lost_packets"] == 6
    assert bs[3].lost_samples == 60
    assert bs[3].t_s[0] == pytest.approx(90 / RATE)


def test_duplicate_or_reordered_packet_is_rejected():
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(50)
    _feed(dec, pk[:3], [0, 0, 0])
    with pytest.raises(DecodeError, match="back in time|duplicate"):
        dec.feed(ti.DATA_UUID, pk[2], 0)
    with pytest.raises(DecodeError):
        dec.feed(ti.DATA_UUID, pk[1], 0)
    b = dec.feed(ti.DATA_UUID, pk[3], 0)
    assert b.lost_samples == 0 and b.t_s[0] == pytest.approx(30 / RATE)


def test_reconnect_after_several_timestamp_wraps_uses_host_time():
    # 2 h 30 min offline: the u32 µs clock wrapped twice; host time resolves it.
    dec = ti.PROFILE.make_decoder(RATE)
    t0 = 4_000_000_000
    first = _packets(100, t0=t0)
    _feed(dec, first, np.arange(len(first)) * SPP / RATE + 1000.0)
    gap_s = 9000.0
    later = _packets(100, seq0=40_000, t0=(t0 + int(gap_s * 1e6)) % 2**32)
    dec.reset_link()
    host0 = 1000.0 + gap_s
    b = dec.feed(ti.DATA_UUID, later[0], host0 + 0.05)
    assert b.t_s[0] == pytest.approx(gap_s, abs=1e-6)
    assert b.lost_samples == pytest.approx(gap_s * RATE - 100, abs=1)
    assert dec.stats["reconnects"] == 1 and dec.stats["device_restarts"] == 0


def test_reconnect_after_device_restart_continues_on_host_time():
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(100, seq0=500, t0=50_000_000)
    _feed(dec, pk, 100.0 + np.arange(len(pk)) * SPP / RATE)
    last_t = 99 / RATE
    dec.reset_link()
    rebooted = _packets(50, seq0=0, t0=1_000)  # clock and seq restarted at boot
    b = dec.feed(ti.DATA_UUID, rebooted[0], 100.0 + 0.5 + 3.0)
    assert dec.stats["device_restarts"] == 1
    assert b.t_s[0] > last_t and b.t_s[0] == pytest.approx(0.45 + 3.0, abs=0.06)
    b2 = dec.feed(ti.DATA_UUID, rebooted[1], 103.6)
    assert b2.lost_samples == 0 and b2.t_s[0] == pytest.approx(b.t_s[0] + SPP / RATE)


def test_overrun_flag_counts_device_side_loss():
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(100)
    dec.feed(ti.DATA_UUID, pk[0], 0)
    # Device lost 20 samples in its FIFO: seq is contiguous, timestamp jumps, flag set.
    later = ti.encode_packets(1, int(30 / RATE * 1e6), np.zeros((10, 3)), np.zeros((10, 3)), rate_hz=RATE)[0]
    later = later[:6] + bytes([later[6] | ti.FLAG_OVERRUN]) + later[7:]
    b = dec.feed(ti.DATA_UUID, later, 0)
    assert b.lost_samples == 20 and dec.stats["lost_packets"] == 0 and dec.stats["overrun_packets"] == 1


def test_sample_period_measured_on_device_clock():
    # IMU output rate 1 % off nominal: within-packet spacing follows the device clock.
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(500, rate=RATE * 0.99)
    b = SampleBatch.concat(_feed(dec, pk, np.zeros(len(pk))))
    assert dec.stats["period_us"] == pytest.approx(1e6 / (RATE * 0.99), rel=1e-5)
    np.testing.assert_allclose(b.t_s[SPP:], np.arange(SPP, 500) / (RATE * 0.99), atol=2e-6)


@pytest.mark.parametrize("drift_ppm", [50.0, -50.0])
def test_clock_drift_estimate(drift_ppm):
    rng = np.random.default_rng(7)
    rate, spp = 100, 19
    dec = ti.PROFILE.make_decoder(rate)
    pk = _packets(600 * rate, rate=rate, drift_ppm=drift_ppm, t0=123_456, spp=spp)  # 10 min
    true_send = (np.arange(len(pk)) + 1) * spp / rate  # host clock = true time
    jitter = rng.exponential(0.004, len(pk)) + rng.normal(0, 0.0003, len(pk)) + 0.008
    jitter[rng.random(len(pk)) < 0.01] += 0.2  # occasional stalls
    _feed(dec, pk, 500.0 + true_send + jitter)
    assert dec.stats["clock_drift_ppm"] == pytest.approx(drift_ppm, abs=3.0)


def test_drift_estimator_needs_span():
    d = DriftEstimator()
    for i in range(50):
        d.add(i * 0.1, i * 0.1)
    assert d.drift_ppm is None  # only 5 s of device time


# -- counterless devices ---------------------------------------------------------------------
W1 = bytes.fromhex("55 61 00 00 00 00 00 08 A4 00 00 00 5C FF 39 0E C7 F1 00 40")


def _wit_stream(dec, host_times):
    if dec.stats["packets"] == 0:  # first magnetometer reply: no hold-back at the start
        dec.feed(wm.NOTIFY_UUID, wm.encode_witmotion_register_reply(wm.REG_MAG, [1, 2, 3]), 0.0)
    return [dec.feed(wm.NOTIFY_UUID, W1, h) for h in host_times]


def test_counterless_gap_from_host_time():
    rng = np.random.default_rng(3)
    dec = PROFILES["witmotion"].make_decoder(100)
    k = np.r_[np.arange(2000), np.arange(2500, 4000)]  # samples 2000..2499 never arrive
    host = 10 + k / 100 + rng.exponential(0.003, k.size)
    bs = [b for b in _wit_stream(dec, host) if b is not None]
    lost = [b.lost_samples for b in bs if b.lost_samples]
    assert len(lost) == 1 and abs(lost[0] - 500) <= 1
    t = np.concatenate([b.t_s for b in bs])
    assert t.size == k.size
    assert t[2000] == pytest.approx(25.0, abs=0.02)
    np.testing.assert_allclose(t, k / 100, atol=0.02)


def test_counterless_host_stall_is_not_a_gap():
    # The host stalls for 2 s; the queued notifications then arrive in a burst.
    dec = PROFILES["witmotion"].make_decoder(100)
    k = np.arange(1500)
    host = k / 100 + 0.002
    stalled = (host > 5.0) & (host < 7.0)
    host[stalled] = 7.0 + np.arange(stalled.sum()) * 1e-5
    bs = [b for b in _wit_stream(dec, host) if b is not None]
    t = np.concatenate([b.t_s for b in bs])
    np.testing.assert_allclose(t, k / 100, atol=1e-9)
    assert dec.stats["lost_samples"] == 0


def test_counterless_flush_releases_held_samples():
    dec = PROFILES["witmotion"].make_decoder(100)
    _wit_stream(dec, np.arange(100) / 100)
    assert _wit_stream(dec, [3.0, 3.01]) == [None, None]  # late: held while unconfirmed
    assert dec.stats["held_samples"] == 2
    b = dec.flush()
    assert len(b) == 2 and b.lost_samples == 0 and dec.flush() is None


def test_counterless_slow_device_no_false_gaps_and_drift():
    rng = np.random.default_rng(4)
    dec = PROFILES["witmotion"].make_decoder(100)
    k = np.arange(6000)  # 1 min at a real 99.9 Hz (1000 ppm slow)
    host = k / 99.9 + rng.exponential(0.005, k.size)
    _wit_stream(dec, host)
    s = dec.stats
    assert s["lost_samples"] == 0
    assert s["clock_drift_ppm"] == pytest.approx(-1000, abs=30)


def test_counterless_reconnect_gap():
    dec = PROFILES["witmotion"].make_decoder(100)
    _wit_stream(dec, np.arange(100) / 100)
    dec.reset_link()
    (b,) = _wit_stream(dec, [0.99 + 2.0])  # sample 299 arrives: 100..298 were lost offline
    assert b.lost_samples == 199
    assert b.t_s[0] == pytest.approx(2.99, abs=0.011)


def test_corrupted_timestamp_within_link_is_skipped():
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(100)
    host = np.arange(len(pk)) * SPP / RATE + 5.0
    _feed(dec, pk[:3], host[:3])
    bad = bytearray(pk[3])
    bad[5] ^= 0x40  # t_us + ~18 min, seq fine
    with pytest.raises(DecodeError, match="corrupted timestamp"):
        dec.feed(ti.DATA_UUID, bytes(bad), host[3])
    b = dec.feed(ti.DATA_UUID, pk[3], host[3])
    assert b.t_s[0] == pytest.approx(30 / RATE) and b.lost_samples == 0


def test_decoder_recovers_if_its_clock_was_knocked_off():
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(200)
    host = np.arange(len(pk)) * SPP / RATE + 5.0
    _feed(dec, pk[:3], host[:3])
    bad = bytearray(pk[3])
    bad[4] ^= 0x10  # t_us + ~1.05 s: plausible enough to be accepted
    dec.feed(ti.DATA_UUID, bytes(bad), host[3])
    errors = 0
    out = []
    for p, h in zip(pk[4:12], host[4:12], strict=True):
        try:
            out.append(dec.feed(ti.DATA_UUID, p, h))
        except DecodeError:
            errors += 1
    assert errors == 3 and len(out) == 5  # re-anchored after three rejections
    t = np.concatenate([b.t_s for b in out])
    assert (np.diff(t) > 0).all()


# -- Polar ---------------------------------------------------------------------------------
def _h10_frame(ts_ns, n=4):
    return bytes([2]) + ts_ns.to_bytes(8, "little") + bytes([1]) + np.ones((n, 3), dtype="<i2").tobytes()


def test_polar_corrupted_timestamp_skipped_then_reset_clock_followed():
    from tracker.profiles import polar as pl

    dec = PROFILES["polar-h10"].make_decoder(200)
    t0 = 7 * 10**17  # ~22 years after 2000
    for i in range(5):
        dec.feed(pl.DATA_UUID, _h10_frame(t0 + i * 20_000_000), 1.0 + 0.02 * i)
    with pytest.raises(DecodeError, match="host"):
        dec.feed(pl.DATA_UUID, _h10_frame(t0 + 10**15), 1.1)  # 11 days ahead: corrupted
    b = dec.feed(pl.DATA_UUID, _h10_frame(t0 + 5 * 20_000_000), 1.1)
    assert b.lost_samples == 0 and b.t_s[-1] == pytest.approx(0.115)
    # Reconnect after the sensor was reset: its clock restarted from 2000-01-01.
    dec.reset_link()
    b = dec.feed(pl.DATA_UUID, _h10_frame(5 * 10**9), 4.1)
    assert dec.stats["device_restarts"] == 1
    assert b.t_s[-1] == pytest.approx(0.115 + 3.0, abs=1e-6) and b.lost_samples == pytest.approx(596, abs=1)


def test_drift_estimator_memory_is_bounded():
    d = DriftEstimator(max_bins=64)
    t = np.arange(0, 3 * 3600, 0.5)  # 3 h, 2 packets/s
    for x in t:
        d.add(x, x * (1 + 20e-6) + 0.01)
    assert len(d._bins) <= 65 and d.bin_s >= 128
    assert d.drift_ppm == pytest.approx(-20, abs=0.1)


def test_host_stall_is_not_mistaken_for_corruption():
    # The host stalls 40 s, then receives the queued notifications in a burst.
    dec = ti.PROFILE.make_decoder(RATE)
    pk = _packets(400)
    host = np.arange(len(pk)) * SPP / RATE
    host[10:] += 40.0
    b = SampleBatch.concat(_feed(dec, pk, host))
    np.testing.assert_allclose(b.t_s, np.arange(400) / RATE, atol=1e-6)
    assert dec.stats["lost_samples"] == 0 and dec.stats["decode_errors"] == 0
