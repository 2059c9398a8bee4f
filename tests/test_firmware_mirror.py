"""The reference firmware's core, its Python mirror, and the profile's encoder/decoder agree.

Three implementations of the same bytes are checked against each other:

* ``firmware-notes/reference-firmware/tracker_imu_xiao/tracker_imu_core.h`` — the C the
  tag runs, compiled here with the host C compiler (ASan/UBSan when available) and
  driven by ``host_check.c``;
* `tests/firmware_mirror.py` — its line-for-line Python mirror;
* :mod:`tracker.profiles.tracker_imu` — the profile's encoder and decoder (spec owner).

Expected values are computed independently here (exact fractions for the decimator's
means, a float high-pass for the impulse trigger), not taken from either implementation.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import firmware_mirror as fm
from tracker.profiles import tracker_imu as ti
from tracker.schema import STANDARD_GRAVITY_M_S2

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware-notes" / "reference-firmware"
HEADER = FW / "tracker_imu_xiao" / "tracker_imu_core.h"
SKETCH = FW / "tracker_imu_xiao" / "tracker_imu_xiao.ino"
DRIVER = FW / "host_check" / "host_check.c"
G = STANDARD_GRAVITY_M_S2


# ------------------------------------------------------------------ stream generator
def imu_stream(
    seed: int,
    seconds: float,
    *,
    acc_range_g: int = 16,
    gyr_range_dps: int = 2000,
    impulses: tuple[tuple[float, float], ...] = (),
    clock_ppm: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """LSM6DS3TR-C raw counts at 1.66 kHz: slow motion, noise, optional impulses.

    Returns ``(tau_s, raw)``: true sample times (s) and int16 counts (N, 6), acc first.
    ``impulses`` are ``(t_s, amplitude_g)`` 2 ms half-sines on all three acc axes.
    """
    rng = np.random.default_rng(seed)
    f = (5000.0 / 3.0) * (1 + clock_ppm * 1e-6)
    tau = np.arange(int(seconds * f)) / f
    pitch = 0.5 * np.sin(2 * np.pi * 0.2 * tau)
    acc_g = np.stack([np.sin(pitch), 0.05 * np.sin(2 * np.pi * 0.3 * tau), np.cos(pitch)], axis=1)
    acc_g += rng.normal(0, 0.004, acc_g.shape)
    for t0, amp in impulses:
        x = (tau - t0) / 0.002
        acc_g += (amp * np.where((x >= 0) & (x < 1), np.sin(np.pi * np.clip(x, 0, 1)), 0.0))[:, None]
    dps = np.stack([20 * np.cos(2 * np.pi * 0.2 * tau), 5 * np.sin(tau), -3 + 0 * tau], axis=1)
    dps += rng.normal(0, 0.3, dps.shape)
    acc_raw = np.clip(np.rint(acc_g * 32768 / acc_range_g), -32768, 32767)
    gyr_raw = np.clip(np.rint(dps / (8.75e-3 * gyr_range_dps / 250)), -32768, 32767)
    return tau, np.concatenate([acc_raw, gyr_raw], axis=1).astype(int)


def make_script(
    tau: np.ndarray,
    raw: np.ndarray,
    *,
    config: bytes,
    mtu: int = 247,
    t0_us: int = 1_000_000,
    drain_ms: float = 10.0,
    jitter_ms: float = 0.0,
    seed: int = 0,
    stalls: tuple[tuple[float, float], ...] = (),
    radio_off: tuple[tuple[float, float], ...] = (),
    extra: dict[float, list[str]] | None = None,
    fifo_sets: int = 682,
) -> str:
    """A host_check script: FIFO reads every ``drain_ms`` of the stream above.

    ``stalls`` are (t_s, duration_s) without FIFO reads (the FIFO keeps its newest
    ``fifo_sets`` samples, as the LSM6DS3TR-C's 4096-word FIFO does); ``radio_off`` are
    spans when the radio accepts nothing; ``extra`` inserts raw command lines at times.
    """
    rng = np.random.default_rng(seed)
    lines = [f"mtu {mtu}", f"cfg {config.hex()}", "cfgread"]
    extra = dict(extra or {})
    k = 0
    t = drain_ms / 1e3
    end = tau[-1]
    while t <= end + 1e-9:
        if any(a <= t < a + d for a, d in stalls):
            t += drain_ms / 1e3
            continue
        for when in sorted(x for x in extra if x <= t):
            lines += extra.pop(when)
        j = int(np.searchsorted(tau, t, side="right"))
        k = max(k, j - fifo_sets)  # overrun: only the newest sets are still there
        if j > k:
            t_read = (t0_us + int(round(tau[j - 1] * 1e6)) + int(rng.integers(0, 300))) % (1 << 32)
            lines.append(f"fifo {t_read} {j - k}")
            lines += [" ".join(str(v) for v in row) for row in raw[k:j]]
            k = j
        on = not any(a <= t < a + d for a, d in radio_off)
        lines.append(f"radio {100 if on else 0}")
        t += (drain_ms + (rng.uniform(-jitter_ms, jitter_ms) if jitter_ms else 0.0)) / 1e3
    for when in sorted(extra):
        lines += extra[when]
    lines.append("radio 1000")
    return "\n".join(lines) + "\n"


def cfg_bytes(rate: int = 100, acc: int = 16, gyr: int = 2000, lat: int = 20, thr_dg: int = 20,
              flags: int = 0x07) -> bytes:
    return bytes([1, flags]) + rate.to_bytes(2, "little") + bytes([acc]) + gyr.to_bytes(2, "little") + bytes([lat, thr_dg])


def lines_of(out: list[str], tag: str) -> list[bytes]:
    return [bytes.fromhex(x.split()[1]) for x in out if x.startswith(tag + " ")]


# ------------------------------------------------------------------ the C build
@pytest.fixture(scope="module")
def host_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler on PATH: the C core is only checked against the mirror where one exists")
    out = tmp_path_factory.mktemp("fw") / "host_check"
    base = [cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Werror",
            str(DRIVER), "-o", str(out)]
    # Sanitizers catch signed overflow and out-of-bounds writes in the core; not every
    # toolchain ships their runtimes, so fall back to a plain build.
    for extra in (["-fsanitize=address,undefined", "-fno-sanitize-recover=all"], []):
        res = subprocess.run(base + extra, capture_output=True, text=True)
        if res.returncode == 0:
            return out
    pytest.fail(f"the firmware core does not compile on the host:\n{res.stderr}")


def run_c(exe: Path, script: str) -> list[str]:
    res = subprocess.run([str(exe)], input=script, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout.splitlines()


SCENARIOS = {
    # 100 Hz, 20 ms latency, one impulse, IMU clock 3000 ppm fast, t_us wraps mid-stream.
    "100hz-impulse-wrap": dict(
        stream=dict(seed=1, seconds=3.0, impulses=((1.5, 6.0),), clock_ppm=3000),
        script=dict(config=cfg_bytes(), t0_us=(1 << 32) - 1_500_000, jitter_ms=3.0, seed=11),
    ),
    # 400 Hz, ±4 g / ±500 °/s, MTU 23 (one sample per packet), full packets only, an IMU
    # FIFO overrun (0.6 s without reads), a radio stall (queue overflow), busy/bad configs.
    "400hz-mtu23-overrun": dict(
        stream=dict(seed=2, seconds=2.5, acc_range_g=4, gyr_range_dps=500, impulses=((0.3, 3.0), (2.0, 9.0)),
                    clock_ppm=-2000),
        script=dict(
            config=cfg_bytes(rate=400, acc=4, gyr=500, lat=0, thr_dg=15), mtu=23, seed=12,
            stalls=((1.0, 0.6),), radio_off=((0.5, 0.2),),
            extra={0.2: [f"cfg {cfg_bytes(rate=200, acc=4, gyr=500).hex()}",
                         f"cfg {cfg_bytes(rate=400, acc=4, gyr=500, lat=5, thr_dg=15).hex()}",
                         "cfg 0107", "status 0 3712 24 5", "cfgread"],
                   1.9: ["status 1 4100 30 77"]},
        ),
    ),
    # 25 Hz and 800 Hz: the longest and shortest bins; stop and restart between them.
    "25hz-then-800hz": dict(
        stream=dict(seed=3, seconds=2.0, acc_range_g=8, gyr_range_dps=1000),
        script=dict(
            config=cfg_bytes(rate=25, acc=8, gyr=1000, lat=100, flags=0x03), mtu=185, seed=13,
            extra={1.0: ["radio 1000", f"cfg {cfg_bytes(rate=25, acc=8, gyr=1000, flags=0x02).hex()}",
                         f"cfg {cfg_bytes(rate=800, acc=8, gyr=1000, lat=10).hex()}", "cfgread"]},
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_c_core_prints_what_the_mirror_prints(host_check: Path, name: str) -> None:
    sc = SCENARIOS[name]
    tau, raw = imu_stream(**sc["stream"])
    script = make_script(tau, raw, **sc["script"])
    c_out = run_c(host_check, script)
    py_out = fm.run_script(script)
    assert len(c_out) == len(py_out)
    for i, (a, b) in enumerate(zip(c_out, py_out, strict=True)):
        assert a == b, f"line {i}: C {a!r} != mirror {b!r}"
    # The scenario exercised what it claims to (otherwise the equality means little).
    assert len(lines_of(py_out, "data")) > 20
    if sc["stream"].get("impulses"):
        assert lines_of(py_out, "imp"), "no impulse window was sent"


def test_c_core_handles_every_config_byte_pattern_like_the_mirror(host_check: Path) -> None:
    rng = np.random.default_rng(5)
    valid = [cfg_bytes(rate=r, acc=a, gyr=g) for r in (25, 400, 1600, 300) for a in (2, 16, 3) for g in (250, 2000, 7)]
    rand = [bytes(rng.integers(0, 256, 9, dtype=np.uint8)) for _ in range(200)]
    lines = ["mtu 247"]
    for v in valid + rand + [b"", b"\x01" * 8, b"\x01" * 10]:
        lines += [f"cfg {v.hex()}", "cfgread", f"cfg {cfg_bytes(flags=0x06).hex()}"]
    script = "\n".join(lines) + "\n"
    assert run_c(host_check, script) == fm.run_script(script)


# ------------------------------------------------------------------ mirror vs profile
def _exact_bins(tau_us: np.ndarray, raw: np.ndarray, period_us: int, gyr_range: int) -> tuple[list, list, list]:
    """Independent decimator: bins [t0 + kP, t0 + (k+1)P) -> (centre, acc ints, gyr ints)."""
    t0 = int(tau_us[0])
    idx = (tau_us - t0) // period_us
    centres, accs, gyrs = [], [], []
    for b in range(int(idx[-1])):  # the last bin is still open
        rows = raw[idx == b]
        acc = [_half_even(Fraction(int(rows[:, i].sum()), len(rows))) for i in range(3)]
        gyr = [_half_even(Fraction(int(rows[:, i].sum()) * 3584, len(rows) * 3125)) for i in range(3, 6)]
        centres.append(t0 + b * period_us + period_us // 2)
        accs.append([max(-32768, min(32767, v)) for v in acc])
        gyrs.append([max(-32768, min(32767, v)) for v in gyr])
    return centres, accs, gyrs


def _half_even(x: Fraction) -> int:
    return round(x)  # Fraction.__round__ rounds half to even


def _drain(s: fm.Core) -> list[bytes]:
    out = []
    while (p := fm.ti_core_peek(s)) is not None:
        out.append(p)
        fm.ti_core_pop(s)
    return out


@pytest.mark.parametrize(("rate", "acc_range", "gyr_range", "lat_ms", "mtu", "spp"), [
    (100, 16, 2000, 20, 247, 2),
    (200, 2, 250, 0, 247, 19),  # the finest ranges: 1 g and 20 °/s fit
    (400, 8, 1000, 255, 185, 14),
    (50, 4, 500, 0, 23, 1),
])
def test_mirror_packets_equal_profile_encoder_and_decode_to_the_bin_means(
    rate: int, acc_range: int, gyr_range: int, lat_ms: int, mtu: int, spp: int
) -> None:
    tau, raw = imu_stream(7, 1.5, acc_range_g=acc_range, gyr_range_dps=gyr_range)
    s = fm.Core()
    fm.ti_core_set_mtu(s, mtu)
    assert fm.ti_core_configure(s, cfg_bytes(rate=rate, acc=acc_range, gyr=gyr_range, lat=lat_ms, flags=0x01)) == 0
    t0 = 5_000_000
    tau_us = t0 + np.arange(len(raw)) * fm.TI_IMU_PERIOD_US
    # The queue holds 8 packets: drain as the radio would, between FIFO reads.
    packets: list[bytes] = []
    for a in range(0, len(raw), 17):
        _feed_regular_chunk(s, raw[a:a + 17], t0 + a * fm.TI_IMU_PERIOD_US)
        packets += _drain(s)
    period = 1_000_000 // rate
    centres, accs, gyrs = _exact_bins(tau_us, raw, period, gyr_range)
    n_out = sum(p[7] for p in packets)
    assert n_out >= len(centres) - spp  # all closed bins, less a partly filled packet
    centres, accs, gyrs = centres[:n_out], accs[:n_out], gyrs[:n_out]
    a_lsb, g_lsb = ti.acc_lsb_m_s2(acc_range), ti.gyr_lsb_rad_s(gyr_range)
    cfg = ti.DeviceConfig(rate_hz=rate, acc_range_g=acc_range, gyr_range_dps=gyr_range, mag=False)
    expected = ti.encode_packets(
        0, centres[0], np.array(accs) * a_lsb, np.array(gyrs) * g_lsb, rate_hz=rate, mtu=mtu, config=cfg,
        samples_per_packet=spp,
    )
    assert packets == expected
    # The plain-Python reference encoder agrees packet by packet.
    k = 0
    for p in packets:
        n = p[7]
        ref = ti.encode_packet_ref(
            int.from_bytes(p[0:2], "little"), centres[k], [tuple(np.array(a) * a_lsb) for a in accs[k:k + n]],
            [tuple(np.array(g) * g_lsb) for g in gyrs[k:k + n]], acc_range_g=acc_range, gyr_range_dps=gyr_range,
        )
        assert p == ref
        k += n
    # The streaming decoder puts the samples on the bin centres with no loss.
    dec = ti.PROFILE.make_decoder(float(rate))
    batches = [dec.feed(ti.DATA_UUID, p, i * 0.01) for i, p in enumerate(packets)]
    t_s = np.concatenate([b.t_s for b in batches])
    acc = np.concatenate([b.acc_m_s2 for b in batches])
    np.testing.assert_allclose(t_s, (np.array(centres) - centres[0]) * 1e-6, atol=1e-9)
    assert sum(b.lost_samples for b in batches) == 0
    # Against the exact physical means: within half an LSB (plus saturation, none here).
    exact = np.array([[float(Fraction(int(raw[(tau_us - t0) // period == b][:, i].sum()),
                                      int(((tau_us - t0) // period == b).sum()))) for i in range(3)]
                      for b in range(n_out)]) * a_lsb
    assert np.abs(acc - exact).max() <= a_lsb / 2 + 1e-12


def _feed_regular_chunk(s: fm.Core, rows: np.ndarray, t_first_us: int) -> None:
    t_read = t_first_us + (len(rows) - 1) * fm.TI_IMU_PERIOD_US
    for j, row in enumerate(rows):
        fm.ti_core_push(s, [int(v) for v in row], fm.ti_fifo_time(t_read, len(rows), j))


def test_fifo_overrun_gap_is_flagged_counted_and_decoded_as_lost_samples() -> None:
    tau, raw = imu_stream(3, 2.0)
    s = fm.Core()
    fm.ti_core_set_mtu(s, 247)
    fm.ti_core_configure(s, cfg_bytes(rate=100, lat=20, flags=0x01))
    t0 = 10_000
    packets: list[bytes] = []
    gap = slice(700, 1200)  # 500 IMU samples = 300 ms lost in the FIFO
    for a in range(0, len(raw), 10):
        if gap.start <= a < gap.stop:
            continue
        _feed_regular_chunk(s, raw[a:a + 10], t0 + a * fm.TI_IMU_PERIOD_US)
        packets += _drain(s)
    flagged = [p for p in packets if p[6] & ti.FLAG_OVERRUN]
    assert len(flagged) == 1
    dec = ti.PROFILE.make_decoder(100.0)
    lost = sum(dec.feed(ti.DATA_UUID, p, float("nan")).lost_samples for p in packets)
    # Bins of 10 ms (16.7 IMU samples) wholly inside the 300 ms hole: 29 or 30.
    assert lost == s.overrun_samples
    assert 29 <= lost <= 30
    status = ti.decode_status(fm.ti_status_build(s, 0, 3900, 30, 123))
    assert status.fifo_overrun_samples == lost


def test_queue_overflow_drops_whole_packets_and_seq_shows_the_gap() -> None:
    tau, raw = imu_stream(4, 1.0)
    s = fm.Core()
    fm.ti_core_set_mtu(s, 247)
    fm.ti_core_configure(s, cfg_bytes(rate=200, lat=0, flags=0x01))  # 19 samples per packet
    _feed_regular_chunk(s, raw, 0)  # no radio at all: 8 packets fit, the rest are dropped
    packets = _drain(s)
    assert len(packets) == fm.TI_QLEN
    assert s.seq > fm.TI_QLEN
    assert s.overrun_samples == (s.seq - fm.TI_QLEN) * 19
    # After the radio is back, the next packet's seq jumps: the decoder counts the loss.
    _feed_regular_chunk(s, raw[:400], len(raw) * fm.TI_IMU_PERIOD_US)
    more = _drain(s)
    dec = ti.PROFILE.make_decoder(200.0)
    for p in packets:
        dec.feed(ti.DATA_UUID, p, float("nan"))
    b = dec.feed(ti.DATA_UUID, more[0], float("nan"))
    assert dec.stats["lost_packets"] == s.seq - fm.TI_QLEN - len(more)
    assert b.lost_samples == s.overrun_samples


# ------------------------------------------------------------------ impulse windows
def _float_trigger(acc_raw: np.ndarray, range_g: int, thr_g: float) -> int:
    """Independent detector: float EMA (alpha 1/16) high-pass, first |hp| >= thr."""
    lp = acc_raw[0].astype(float)
    for k, x in enumerate(acc_raw.astype(float)):
        lp = lp + (x - lp) / 16
        if np.linalg.norm(x - lp) * range_g / 32768 >= thr_g:
            return k
    return -1


@pytest.mark.parametrize(("mtu", "range_g", "amp_g"), [(247, 16, 6.0), (23, 4, 3.0), (185, 2, 20.0)])
def test_impulse_window_matches_profile_encoder_and_decodes(mtu: int, range_g: int, amp_g: float) -> None:
    tau, raw = imu_stream(9, 1.2, acc_range_g=range_g, impulses=((0.8, amp_g),))
    s = fm.Core()
    fm.ti_core_set_mtu(s, mtu)
    fm.ti_core_configure(s, cfg_bytes(rate=100, acc=range_g, thr_dg=20, flags=0x05))
    t0 = 123_456
    frags: list[bytes] = []
    pending_seen = False
    for a in range(0, len(raw), 17):
        _feed_regular_chunk(s, raw[a:a + 17], t0 + a * fm.TI_IMU_PERIOD_US)
        pending_seen |= any(p[6] & ti.FLAG_IMPULSE for p in _drain(s))
        while f := fm.ti_impulse_fragment(s):
            frags.append(f)
            fm.ti_impulse_fragment_sent(s)
    k = _float_trigger(raw[:, :3], range_g, 2.0)
    assert abs(k - int(0.8 * 5000 / 3)) <= 2  # fires at the impulse's onset
    assert pending_seen
    win = raw[k - fm.TI_PRE:k + fm.TI_POST, :3]
    expected = ti.encode_impulse(0, t0 + (k - fm.TI_PRE) * fm.TI_IMU_PERIOD_US, win * ti.acc_lsb_m_s2(range_g),
                                 rate_hz=fm.TI_IMU_RATE_HZ, trigger_index=fm.TI_PRE, acc_range_g=range_g, mtu=mtu)
    assert frags == expected
    asm = ti.ImpulseAssembler()
    windows = [w for f in frags if (w := asm.feed(f)) is not None]
    assert len(windows) == 1
    w = windows[0]
    assert (w.trigger_index, w.rate_hz, w.acc_range_g) == (fm.TI_PRE, 1667, range_g)
    assert w.clipped == (amp_g + 1 > range_g)
    np.testing.assert_array_equal(np.rint(w.acc_m_s2 / ti.acc_lsb_m_s2(range_g)), win)


def test_no_impulse_from_slow_motion_gravity_or_a_disabled_detector() -> None:
    tau, raw = imu_stream(10, 3.0)  # motion and noise only
    for flags in (0x05, 0x01):
        s = fm.Core()
        fm.ti_core_set_mtu(s, 247)
        fm.ti_core_configure(s, cfg_bytes(thr_dg=5, flags=flags))  # 0.5 g: well above the 4 mg noise
        _feed_regular_chunk(s, raw, 0)
        assert s.win_state == fm.TI_WIN_IDLE and s.impulse_id == 0
    # The same stream with an impulse does trigger at 0.5 g, and the detector re-arms.
    tau, raw = imu_stream(10, 3.0, impulses=((1.0, 1.0), (2.0, 1.0)))
    s = fm.Core()
    fm.ti_core_set_mtu(s, 247)
    fm.ti_core_configure(s, cfg_bytes(thr_dg=5, flags=0x05))
    for a in range(0, len(raw), 17):
        _feed_regular_chunk(s, raw[a:a + 17], a * fm.TI_IMU_PERIOD_US)
        while fm.ti_impulse_fragment(s):
            fm.ti_impulse_fragment_sent(s)
        _drain(s)
    assert s.impulse_id == 2


# ------------------------------------------------------------------ config, status, arithmetic
@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=0, max_size=12))
def test_config_validation_agrees_with_profile_decoder(value: bytes) -> None:
    err, cfg = fm.ti_config_parse(fm.Config(flags=0), value, len(value))
    try:
        host = ti.decode_config(value)
        host_err = 0
    except ti.ConfigError as exc:
        host, host_err = None, exc.att_error
    if host is not None and host.rate_hz == 1600:
        assert err == fm.TI_ATT_NOT_ALLOWED  # this board offers 25-800 Hz (documented)
        return
    assert err == host_err
    if host is not None:
        assert cfg is not None
        assert fm.ti_config_write(cfg) == value == ti.encode_config(host)


def test_config_busy_rule_follows_the_spec() -> None:
    cur = fm.Config(flags=0x07)
    base = cfg_bytes()
    assert fm.ti_config_parse(cur, base, 9)[0] == 0
    for changed in (cfg_bytes(rate=200), cfg_bytes(acc=8), cfg_bytes(gyr=500), cfg_bytes(flags=0x05)):
        assert fm.ti_config_parse(cur, changed, 9)[0] == fm.TI_ATT_BUSY
    for allowed in (cfg_bytes(lat=5), cfg_bytes(thr_dg=40), cfg_bytes(flags=0x03), cfg_bytes(rate=200, flags=0x06)):
        assert fm.ti_config_parse(cur, allowed, 9)[0] == 0


@pytest.mark.parametrize(("charging", "mv", "temp"), [(0, 3950, 31), (1, 4150, -5), (0, 3400, 40), (0, 0, -128)])
def test_status_equals_profile_encoder(charging: int, mv: int, temp: int) -> None:
    s = fm.Core()
    fm.ti_core_configure(s, cfg_bytes())
    s.overrun_samples = 12
    raw = fm.ti_status_build(s, charging, mv, temp, 123_456_789)
    pct = fm.ti_battery_pct(mv)
    expected = ti.encode_status(ti.DeviceStatus(
        streaming=True, charging=bool(charging), impulse_pending=False, mag_fitted=False,
        battery_low=pct <= 10 and not charging, battery_pct=None if pct == 255 else pct,
        temperature_c=None if temp == -128 else temp, battery_mV=mv, fifo_overrun_samples=12, t_us=123_456_789,
    ))
    assert raw == expected


def test_battery_curve_is_monotone_and_bounded() -> None:
    pcts = [fm.ti_battery_pct(mv) for mv in range(3000, 4400, 5)]
    assert pcts == sorted(pcts) and pcts[0] == 0 and pcts[-1] == 100
    assert fm.ti_battery_pct(0) == 255


@settings(max_examples=500, deadline=None)
@given(st.integers(-(1 << 40), 1 << 40), st.integers(1, 1 << 20))
def test_div_round_even_is_round_half_even(num: int, den: int) -> None:
    assert fm.ti_div_round_even(num, den) == round(Fraction(num, den))


def test_gyro_scale_constant_is_exact_and_saturates() -> None:
    # LSM6DS3TR-C: 8.75 mdps/LSB at ±250 dps; profile: 250/32768 dps/LSB.
    assert Fraction(875, 100_000) / Fraction(250, 32768) == Fraction(fm.TI_GYR_NUM, fm.TI_GYR_DEN)
    s = fm.Core()
    fm.ti_core_set_mtu(s, 247)
    fm.ti_core_configure(s, cfg_bytes(gyr=250, lat=0, flags=0x01))
    rows = np.tile([0, 0, 2048, 32767, -32768, 1000], (60, 1))
    _feed_regular_chunk(s, rows, 0)
    fm.ti_pkt_close(s)
    p = _drain(s)[0]
    gx, gy, gz = np.frombuffer(p, "<i2", offset=8)[3:6]
    assert (gx, gy) == (32767, -32768)  # ±286.7 °/s of the sensor saturate the ±250 °/s range
    assert gz == 1147  # 1000 x 1.14688 = 1146.88


# ------------------------------------------------------------------ the sketch itself
def test_sketch_uuids_and_spec_constants_match_the_profile() -> None:
    ino = SKETCH.read_text()
    m = re.search(r"#define TI_UUID\(lo, hi\) \{([^}]*)\}", ino)
    assert m
    template = [t.strip() for t in m.group(1).split(",")]
    for name, uuid in (("SERVICE", ti.SERVICE_UUID), ("DATA", ti.DATA_UUID), ("CONFIG", ti.CONFIG_UUID),
                       ("STATUS", ti.STATUS_UUID), ("IMPULSE", ti.IMPULSE_UUID)):
        lo, hi = re.search(rf"UUID_{name}\[16\] = TI_UUID\((0x[0-9a-f]+), (0x[0-9a-f]+)\)", ino).groups()
        le = bytes(int(lo if t == "lo" else hi if t == "hi" else t, 16) for t in template)
        assert le[::-1].hex() == uuid.replace("-", ""), name
    header = HEADER.read_text()
    consts = dict(re.findall(r"#define (TI_\w+) (\d+)u?\b", header))
    assert int(consts["TI_HDR_LEN"]) == ti.DATA_HEADER_LEN
    assert int(consts["TI_CFG_LEN"]) == ti.CONFIG_LEN
    assert int(consts["TI_STATUS_LEN"]) == ti.STATUS_LEN
    assert int(consts["TI_WIN_HDR_LEN"]) == ti.IMPULSE_WINDOW_HEADER_LEN
    assert ti.max_samples_per_packet(247, False) == fm.TI_PKT_MAX
    # Every Python-mirror constant is the header's.
    for name, value in consts.items():
        if hasattr(fm, name):
            assert getattr(fm, name) == int(value), name
    assert math.isclose(1e6 / fm.TI_IMU_PERIOD_US, 5000 / 3)
