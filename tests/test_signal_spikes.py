"""Spike detection and possible-crack judgement against known truth.

Truth comes from the simulator (cracks, taps, footsteps, strap slap, vibration, with
noise, drift, jitter, packet loss and up to 15° mounting error) and from hand-built
signals whose physics is stated in each test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from tracker.errors import ValidationError
from tracker.signal import _spike_features as F
from tracker.signal.spikes import (
    JOINTS_IN_RANGE,
    JUDGED_COLUMNS,
    KINDS,
    SPIKE_COLUMNS,
    CrackParams,
    SpikeParams,
    SpikeStream,
    detect_spikes,
    judge_cracks,
)
from tracker.simulate import SensorModel, simulate_session
from tracker.simulate._frontend import front_ends, sample_event
from tracker.simulate._pops import tissue_pulse, tissue_rise_s

MATCH_S = 0.05  # a detection within ±50 ms of the truth counts
#: Skin amplitudes of the pop family's upper part (issue 16: 0.2-3 g); bigger pops with a
#: net velocity change are as fast a push as a light tap.
FAMILY_POP_M_S2 = (1.0 * 9.80665, 3.0 * 9.80665)
SEEDS = (11, 12, 13, 14)


def _judge(rec, rate, **kw):
    spikes = detect_spikes(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, sampling_rate_hz=rate)
    return judge_cracks(spikes, rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, sampling_rate_hz=rate, **kw)


def _score(judged: pd.DataFrame, truth) -> dict:
    """Crack TP/FP/FN (±50 ms) and, per confounder, whether a possible crack fell on it."""
    found = judged.loc[judged["possible_crack"], "t_s"].to_numpy()
    true = np.array([c.t_s for c in truth.cracks])
    tp = sum(bool(found.size) and np.min(np.abs(found - c)) <= MATCH_S for c in true)
    fp = sum(not (true.size and np.min(np.abs(true - f)) <= MATCH_S) for f in found)
    conf = [(c.kind, bool(((found >= c.t_s - MATCH_S) & (found <= c.t_s + c.duration_s + MATCH_S)).any()))
            for c in truth.confounders]
    return {"tp": tp, "fp": fp, "fn": len(true) - tp, "conf": conf}


@pytest.fixture(scope="module", params=[100.0, 200.0, 400.0], ids=lambda r: f"{r:.0f}Hz")
def sessions(request):
    rate = request.param
    out = []
    for seed in SEEDS:
        sim = simulate_session(seed=seed, rate_hz=rate, sensor=SensorModel(mounting_max_deg=15.0),
                               crack_amplitude_m_s2=FAMILY_POP_M_S2)
        out.append((sim, _judge(sim.recording, rate)))
    return rate, out


def test_possible_cracks_are_precise_and_find_most_pops(sessions):
    # simulate_session's pops (2-6 g, the family's shape, an ideal anti-alias filter).
    # Issue 16's F1 targets are measured on the held-out family by bench_cracks.py; here
    # the threshold's promise: possible cracks are pops, and most pops are found.
    rate, out = sessions
    tp = fp = fn = 0
    for sim, judged in out:
        s = _score(judged, sim.truth)
        tp, fp, fn = tp + s["tp"], fp + s["fp"], fn + s["fn"]
    assert tp + fn >= 8, "too few simulated cracks to measure"
    # (this simulator's own strap slap rings for 25-30 ms at 30-60 Hz, as a 30-50 Hz tissue
    # response does: a few may pass at 400 Hz, where the threshold is lowest)
    assert tp / max(tp + fp, 1) >= 0.85, f"{fp} false possible cracks at {rate} Hz (tp={tp})"
    # (this simulator's anti-alias filter is an ideal zero-phase one, unlike the causal
    # front ends the score was tuned on: recall here is lower than on the family)
    # (at 100 Hz the threshold is higher, spikes.THRESHOLD_BY_RATE_HZ: a sample is as long
    # as the tissue response that tells a pop from a slap)
    min_recall = 0.15 if rate < 200 else 0.4
    assert tp / (tp + fn) >= min_recall, f"recall {tp / (tp + fn):.2f} at {rate} Hz (tp={tp}, fn={fn})"


def test_confounders_rarely_judged_crack(sessions):
    _, out = sessions
    conf = [c for sim, judged in out for c in _score(judged, sim.truth)["conf"]]
    kinds = {k for k, _ in conf}
    assert {"tap", "footstep", "strap_slap", "vibration"} <= kinds
    rate = np.mean([hit for _, hit in conf])
    assert rate <= 0.05, f"{rate:.1%} of confounders judged a possible crack"


def test_taps_found_and_labelled(sessions):
    _, out = sessions
    labels = []
    for sim, judged in out:
        for c in sim.truth.confounders:
            if c.kind == "tap":
                near = judged[np.abs(judged["t_s"] - c.t_s) <= MATCH_S]
                labels.append(near["kind"].iloc[0] if len(near) else "missed")
    assert labels and np.mean([x == "tap" for x in labels]) >= 0.9, labels


def test_output_contract(sessions):
    rate, out = sessions
    judged = out[0][1]
    assert list(judged.columns[: len(SPIKE_COLUMNS)]) == list(SPIKE_COLUMNS)
    assert list(judged.columns[-len(JUDGED_COLUMNS):]) == list(JUDGED_COLUMNS)
    assert judged["t_s"].is_monotonic_increasing
    assert judged["crack_score"].between(0, 1).all()
    assert set(judged["kind"]) <= set(KINDS)
    thr = CrackParams().thresholds(judged["gyr_jump_rad_s"].to_numpy(), rate)
    assert (judged["possible_crack"] == (judged["crack_score"] >= thr)).all()
    assert (judged.loc[judged["possible_crack"], "kind"] == "possible_crack").all()
    assert (judged.loc[~judged["possible_crack"], "kind"] != "possible_crack").all()


# ---------------------------------------------------------------- hand-built physics
RATE = 200.0


def _quiet(seconds: float, rate: float = RATE, seed: int = 0):
    """A still sensor: gravity on z plus 0.02 m/s² / 0.002 rad/s white noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + rng.normal(0, 0.02, (n, 3))
    gyr = rng.normal(0, 0.002, (n, 3))
    return t, acc, gyr


def _band_limited(wave, t0_s: float, seconds: float, rate: float = RATE) -> np.ndarray:
    """``wave(u)`` (u = time after ``t0_s``) drawn at 8 kHz and decimated to ``rate`` with an
    anti-alias FIR, as an IMU's own filter does; shape (N,)."""
    hi = 8000.0
    th = np.arange(int(seconds * hi)) / hi
    return signal.resample_poly(wave(th - t0_s), int(rate), int(hi))


def _pop(amp_g: float = 2.0, tissue_rel: float = 0.25) -> tuple[np.ndarray, float]:
    """A pop of the simulator's family at 10 kHz (x axis): a 1 ms jolt, 600 Hz ringing and
    a 25 Hz tissue response with a net velocity change; returns (acc (M, 3), lead_s)."""
    dt, jolt = 1e-4, 1e-3
    tau = np.arange(-jolt, 0.05, dt)
    x = tau / jolt + 0.5
    w = np.where((x >= 0) & (x <= 1), np.sin(np.pi * np.clip(x, 0, 1)), 0.0)
    u = np.clip(tau - jolt / 2, 0, None)
    w += np.where(tau > jolt / 2, 0.5 * np.exp(-u / 2e-3) * np.sin(2 * np.pi * 600 * u), 0.0)
    w += tissue_rel * tissue_pulse(tau + jolt / 2, tissue_rise_s(25.0), net_dv=True)
    out = np.zeros((tau.size, 3))
    out[:, 0] = w / np.abs(w).max() * amp_g * 9.80665
    return out, jolt


def _add_pop(t, acc, t0_s, rate, amp_g=2.0, part="bmi270_normal"):
    wave, lead = _pop(amp_g)
    idx, val = sample_event(t, t0_s - lead, wave, front_ends(rate)[part])
    acc[idx] += val


@pytest.mark.parametrize("offset_s", [0.0, 0.5 / RATE, 0.3 / RATE])
@pytest.mark.parametrize("part", ["bmi270_normal", "lsm6dso_lpf1"])
def test_joint_pop_is_a_possible_crack(offset_s, part):
    # A 2 g pop on a still back, on a sample or between two, through a real front end.
    t, acc, gyr = _quiet(10.0)
    _add_pop(t, acc, 5.0 + offset_s, RATE, part=part)
    judged = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=RATE), t, acc, gyr,
                          sampling_rate_hz=RATE)
    assert len(judged) == 1
    row = judged.iloc[0]
    # the part's filter delays the peak a little, and the tissue response, which rises
    # for 5-30 ms after the jolt, can outgrow it
    assert 0.0 <= row["t_s"] - 5.0 <= 0.025
    assert row["possible_crack"] and row["crack_score"] > 0.9
    assert row["kind"] == "possible_crack"
    # Its velocity change is a few cm/s, far below a tap's push.
    assert 0.005 < row["delta_v_m_s"] < 0.1


def test_without_a_gyroscope_a_pop_needs_the_stricter_threshold():
    # The same pop, once with a gyroscope and once from an accelerometer alone: the
    # blind spike is scored without the tap check and must reach threshold_no_gyro.
    t, acc, gyr = _quiet(10.0)
    _add_pop(t, acc, 5.0, RATE)
    cp = CrackParams()
    seen = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=RATE), t, acc, gyr, sampling_rate_hz=RATE)
    zeros = np.zeros_like(gyr)
    blind = judge_cracks(detect_spikes(t, acc, zeros, sampling_rate_hz=RATE), t, acc, zeros, sampling_rate_hz=RATE)
    assert np.isnan(blind["gyr_jump_rad_s"]).all() and not np.isnan(seen["gyr_jump_rad_s"]).any()
    assert cp.threshold_at(RATE, gyro=False) == cp.threshold_no_gyro > cp.threshold_at(RATE)
    assert (blind["possible_crack"] == (blind["crack_score"] >= cp.threshold_no_gyro)).all()
    strict = CrackParams(threshold_no_gyro=1.0)
    again = judge_cracks(detect_spikes(t, acc, zeros, sampling_rate_hz=RATE), t, acc, zeros,
                         sampling_rate_hz=RATE, params=strict)
    assert not again["possible_crack"].any() and (again["crack_score"] == blind["crack_score"]).all()


def test_knock_with_rotation_is_a_tap():
    # A 10 ms, 8 g push with the sensor rocking at 40 °/s on its strap.
    t, acc, gyr = _quiet(10.0)
    i = int(5.0 * RATE)
    k = np.arange(-1, 2)
    acc[i + k, 0] += 8 * 9.81 * np.array([0.5, 1.0, 0.5])
    swing = np.sin(2 * np.pi * np.arange(8) / 8)  # one 40 ms cycle
    gyr[i:i + 8, 1] += np.deg2rad(40) * swing
    judged = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=RATE), t, acc, gyr,
                          sampling_rate_hz=RATE)
    row = judged.iloc[np.argmin(np.abs(judged["sample"] - i))]
    assert row["kind"] == "tap" and not row["possible_crack"]
    assert row["gyr_jump_rad_s"] > 0.4


@pytest.mark.parametrize("freq_hz", [30.0, 45.0, 60.0])
def test_ringing_slap_is_not_a_crack(freq_hz):
    # Strap slap: a 1 g wobble at 30-60 Hz that dies within 2 samples (to 10 % in 10 ms;
    # issue 16: 1-3 samples), little rotation. (One that rings on for 15 ms at 45 Hz, or
    # 35 ms at 30 Hz, is what a 30-45 Hz tissue response looks like: the score may call
    # it a pop.)
    t, acc, gyr = _quiet(10.0)
    tau_s = 2 / RATE / np.log(10.0)
    def slap(u):
        v = np.clip(u, 0.0, None)
        return np.where(u >= 0, 9.81 * np.exp(-v / tau_s) * np.cos(2 * np.pi * freq_hz * v)
                        * (1 - np.exp(-v / 0.001)), 0.0)
    acc[:, 1] += _band_limited(slap, 5.0, 10.0)
    judged = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=RATE), t, acc, gyr,
                          sampling_rate_hz=RATE)
    assert len(judged) >= 1 and not judged["possible_crack"].any()
    # an impulse this short may also be left unnamed ("other")
    assert judged.iloc[np.argmax(judged["peak_m_s2"])]["kind"] in ("strap_slap", "other")


def test_impulses_while_walking_are_footsteps():
    # Walking: the trunk bounces ±2 m/s² at 1.8 steps/s with a heel strike at each step.
    t, acc, gyr = _quiet(20.0)
    acc[:, 2] += 2.0 * np.sin(2 * np.pi * 1.8 * t)
    steps = np.arange(int(2.0 * RATE), t.size - int(2.0 * RATE), int(RATE / 1.8))
    acc[steps, 2] += 2.0
    judged = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=RATE), t, acc, gyr,
                          sampling_rate_hz=RATE)
    assert len(judged) >= 0.9 * steps.size
    assert not judged["possible_crack"].any()
    assert (judged["kind"] == "footstep").mean() >= 0.9
    assert judged["periodicity"].median() == pytest.approx(1.0)


def test_sustained_buzz_gives_no_possible_crack():
    # A phone motor: 0.4 g at 170 Hz for 3 s, sampled at 200 Hz (it aliases to 30 Hz).
    t, acc, gyr = _quiet(12.0)
    on = (t > 4) & (t < 7)
    acc[on, 0] += 0.4 * 9.81 * np.sin(2 * np.pi * 170 * t[on])
    judged = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=RATE), t, acc, gyr,
                          sampling_rate_hz=RATE)
    assert not judged["possible_crack"].any()


def test_persistence_is_the_shaking_around_a_spike():
    # High-passed magnitude: a unit spike at sample 100, then (a) nothing, (b) a 0.5
    # oscillation from 20 ms on (a buzz), (c) that buzz mirrored before the spike, in a
    # 400-sample segment, at 200 Hz.
    m = np.zeros(400)
    m[100] = 1.0
    seg = np.array([[0, 400]])
    quiet = F.persistence_ratio(m, np.array([100]), seg, 200.0, (0.06, 0.2))
    buzz = m.copy()
    buzz[104:] = 0.5 * np.abs(np.sin(np.arange(296) * 2.0))
    shaking = F.persistence_ratio(buzz, np.array([100]), seg, 200.0, (0.06, 0.2))
    assert quiet[0] == 0.0
    assert shaking[0] == pytest.approx(0.5 * np.sqrt(np.mean(np.sin(np.arange(8, 37) * 2.0) ** 2)), rel=1e-9)
    # the end of a buzz counts as its onset does (mirrored: the same samples before it)
    ended = np.zeros(400)
    ended[100] = 1.0
    ended[100 - np.arange(4, 101)] = buzz[100 + np.arange(4, 101)]
    assert F.persistence_ratio(ended, np.array([100]), seg, 200.0, (0.06, 0.2))[0] == pytest.approx(shaking[0])
    # only what the spike's own segment holds counts (after a gap, another recording)
    assert F.persistence_ratio(buzz, np.array([100]), np.array([[0, 105], [105, 400]]), 200.0, (0.06, 0.2))[0] == 0.0
    with pytest.raises(ValidationError, match="persist_window_s"):
        SpikeParams(persist_window_s=(0.2, 0.06))


@pytest.mark.parametrize("rate", [100.0, 400.0])
def test_late_ratio_is_what_still_pushes_40_to_50_ms_after_the_peak(rate):
    # A residual window (P, 2 * half + 1, 3) at ``rate``: a unit peak along x at the centre
    # and, 40-50 ms later, a push of 0.3 along x (a slow tissue response), a pull of 0.3
    # along x, or a sideways 0.3 along y (which does not push along the peak's direction).
    half = int(round(0.06 * rate))
    k = np.arange(int(np.ceil(0.04 * rate)), int(np.floor(0.05 * rate)) + 1)
    r = np.zeros((5, 2 * half + 1, 3))
    r[:, half, 0] = 1.0
    r[1, half + k, 0] = 0.3
    r[2, half + k, 0] = -0.3
    r[3, half + k, 1] = 0.3
    # a swing back that has ended by 40 ms (a knock's, 20-30 ms) is not late
    r[4, half + 1:half + k[0], 0] = -0.3
    late = F.pulse_shape(r, 1, rate)["late_ratio"]
    np.testing.assert_allclose(late, [0.0, 0.3, -0.3, 0.0, 0.0], atol=1e-12)
    # at 50 Hz 40 ms is the rebound's second sample: nothing later is measured
    r50 = np.zeros((1, 11, 3))
    r50[0, 5, 0], r50[0, 7:10, 0] = 1.0, 0.3
    assert F.pulse_shape(r50, 1, 50.0)["late_ratio"][0] == 0.0


def test_rest_mask_rules_out_footsteps():
    t, acc, gyr = _quiet(20.0)
    acc[:, 2] += 2.0 * np.sin(2 * np.pi * 1.8 * t)
    steps = np.arange(int(2.0 * RATE), t.size - int(2.0 * RATE), int(RATE / 1.8))
    acc[steps, 2] += 2.0
    spikes = detect_spikes(t, acc, gyr, sampling_rate_hz=RATE)
    judged = judge_cracks(spikes, t, acc, gyr, sampling_rate_hz=RATE, rest_mask=np.ones(t.size, bool))
    assert (judged["kind"] != "footstep").all()
    assert (judged["f_step"] == 1.0).all()


# ---------------------------------------------------------------- refractory rule
def _impulses_at(times_s, rate=100.0):
    t, acc, gyr = _quiet(max(times_s) + 5.0, rate)
    for ts in times_s:
        _add_pop(t, acc, ts, rate)
    return t, acc, gyr


def test_refractory_allows_one_crack_per_joint_in_20_min():
    cp = CrackParams()
    assert cp.joints_in_range == len(JOINTS_IN_RANGE) == 18  # T10-S1 facets both sides, both SI joints
    n = cp.joints_in_range + 2
    times = [10.0 + 60.0 * i for i in range(n)]  # a pop a minute
    t, acc, gyr = _impulses_at(times)
    judged = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=100.0), t, acc, gyr,
                          sampling_rate_hz=100.0)
    assert len(judged) == n
    assert judged["possible_crack"].tolist() == [True] * cp.joints_in_range + [False] * 2
    assert judged["refractory"].tolist() == [False] * cp.joints_in_range + [True] * 2
    assert (judged.loc[judged["refractory"], "kind"] == "other").all()


def test_refractory_window_expires():
    times = [10.0 + 60.0 * i for i in range(5)] + [10.0 + 1201.0]  # the 6th is 20 min after the 1st
    t, acc, gyr = _impulses_at(times)
    judged = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=100.0), t, acc, gyr,
                          sampling_rate_hz=100.0, params=CrackParams(joints_in_range=4))
    assert judged["possible_crack"].tolist() == [True, True, True, True, False, True]


def test_refractory_keeps_simulated_cracks_in_a_long_session():
    # The simulator lets each of its 4 joints crack once per 20 min (fewer than the
    # detector allows): the rule never
    # takes away a true pop's place.
    # (200 Hz: at 100 Hz the threshold is higher and finds too few to judge the rule)
    sim = simulate_session(seed=5, rate_hz=200.0, minutes=25, crack_amplitude_m_s2=FAMILY_POP_M_S2)
    judged = _judge(sim.recording, 200.0)
    s = _score(judged, sim.truth)
    assert s["tp"] + s["fn"] >= 4 and s["tp"] >= 3 and s["fp"] <= 1, s
    t = judged["t_s"].to_numpy()
    at_pops = np.zeros(t.size, bool)
    for c in sim.truth.cracks:
        at_pops |= np.abs(t - c.t_s) <= MATCH_S
    assert not judged.loc[at_pops, "refractory"].any()


# ---------------------------------------------------------------- bad and irregular input
@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_inputs_give_empty_frames(n):
    t, acc, gyr = np.arange(n) / 100.0, np.zeros((n, 3)), np.zeros((n, 3))
    spikes = detect_spikes(t, acc, gyr, sampling_rate_hz=100.0)
    assert spikes.empty and list(spikes.columns) == list(SPIKE_COLUMNS)
    judged = judge_cracks(spikes, t, acc, gyr, sampling_rate_hz=100.0)
    assert judged.empty and set(JUDGED_COLUMNS) <= set(judged.columns)


@pytest.mark.parametrize("bad, match", [
    (lambda t, a, g: (t, a[:, :2], g), "acc_m_s2 must have shape"),
    (lambda t, a, g: (t, a, g[:-1]), "gyr_rad_s must have shape"),
    (lambda t, a, g: (t[::-1].copy(), a, g), "non-monotonic time at sample 1"),
    (lambda t, a, g: (t, np.where(np.arange(len(t))[:, None] == 7, np.nan, a), g), "acc is NaN"),
])
def test_bad_input_is_named(bad, match):
    t, acc, gyr = _quiet(1.0)
    with pytest.raises(ValidationError, match=match):
        detect_spikes(*bad(t, acc, gyr), sampling_rate_hz=RATE)


def test_bad_rate_and_params():
    t, acc, gyr = _quiet(1.0)
    with pytest.raises(ValidationError, match="sampling_rate_hz"):
        detect_spikes(t, acc, gyr, sampling_rate_hz=0.0)
    with pytest.raises(ValidationError, match="min_peak_m_s2"):
        SpikeParams(min_peak_m_s2=-1.0)
    with pytest.raises(ValidationError, match="threshold"):
        CrackParams(threshold=1.5)
    with pytest.raises(ValidationError, match="rest_mask"):
        judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=RATE), t, acc, gyr,
                     sampling_rate_hz=RATE, rest_mask=np.ones(3, bool))


def test_gap_with_motion_is_not_a_spike():
    # The trunk keeps moving during a 0.5 s gap: the first sample after it jumps by 2 m/s².
    t, acc, gyr = _quiet(10.0)
    acc[:, 0] += 0.5 * t  # slow drift of the posture
    keep = (t < 4.0) | (t >= 4.5)
    t, acc, gyr = t[keep], acc[keep], gyr[keep]
    acc[t >= 4.5, 0] += 2.0
    spikes = detect_spikes(t, acc, gyr, sampling_rate_hz=RATE)
    assert spikes.empty, spikes


def test_impulse_next_to_a_gap_and_with_jitter_is_found():
    rng = np.random.default_rng(3)
    t, acc, gyr = _quiet(10.0)
    t = t + rng.normal(0, 0.05 / RATE, t.size)  # 5 % timing jitter
    i = 904
    _add_pop(t, acc, t[i], RATE)
    keep = (t < 4.5) | (t >= 4.51)  # two samples lost 20 ms before the pop
    judged = judge_cracks(detect_spikes(t[keep], acc[keep], gyr[keep], sampling_rate_hz=RATE),
                          t[keep], acc[keep], gyr[keep], sampling_rate_hz=RATE)
    assert len(judged) == 1 and judged["possible_crack"].iloc[0]
    assert 0.0 <= judged["t_s"].iloc[0] - t[i] <= 0.025  # as in test_joint_pop_is_a_possible_crack


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_heavy_packet_loss_barely_changes_the_judgement(seed):
    # The same session with and without 5 % lost packets and 5 % jitter: each pop is
    # still a spike and its score moves by less than 0.1 (the simulator keeps the
    # samples around each pop; the context features see the gaps).
    def scores(sensor):
        sim = simulate_session(seed=seed, rate_hz=200.0, crack_amplitude_m_s2=FAMILY_POP_M_S2, sensor=sensor)
        j = _judge(sim.recording, 200.0)
        t = j["t_s"].to_numpy()
        out = []
        for c in sim.truth.cracks:
            near = np.abs(t - c.t_s) <= MATCH_S
            out.append(float(j.loc[near, "crack_score"].max()) if near.any() else np.nan)
        return np.array(out), _score(j, sim.truth)["fp"]

    clean, fp_clean = scores(SensorModel(mounting_max_deg=15.0))
    lossy, fp_lossy = scores(SensorModel(mounting_max_deg=15.0, drop_prob=0.05, jitter_frac=0.05))
    assert clean.size >= 1 and np.all(np.isfinite(clean)) and np.all(np.isfinite(lossy))
    assert np.max(np.abs(lossy - clean)) < 0.1, (clean, lossy)
    assert fp_lossy <= fp_clean + 1


# ---------------------------------------------------------------- streaming
def test_stream_matches_offline():
    rate = 100.0
    sim = simulate_session(seed=12, rate_hz=rate, sensor=SensorModel(mounting_max_deg=15.0))
    rec = sim.recording
    offline = _judge(rec, rate)
    stream = SpikeStream(rate)
    parts = []
    for i in range(0, len(rec), 50):  # 0.5 s batches, as a BLE client delivers them
        parts.append(stream.feed(rec.t_s[i:i + 50], rec.acc_m_s2[i:i + 50], rec.gyr_rad_s[i:i + 50]))
        if len(parts[-1]):  # latency: reported within lookahead + step of the newest sample
            assert rec.t_s[min(i + 49, len(rec) - 1)] - parts[-1]["t_s"].iloc[-1] <= 2.5 + 0.25 + 0.5
    parts.append(stream.flush())
    live = pd.concat(parts, ignore_index=True)
    assert live["sample"].tolist() == offline["sample"].tolist()
    assert live["kind"].tolist() == offline["kind"].tolist()
    assert live["possible_crack"].tolist() == offline["possible_crack"].tolist()
    # Scores differ only by filter edge effects in the walking-band feature.
    np.testing.assert_allclose(live["crack_score"], offline["crack_score"], atol=1e-3)


def test_stream_uses_rest_mask_like_offline():
    t, acc, gyr = _quiet(20.0)
    acc[:, 2] += 2.0 * np.sin(2 * np.pi * 1.8 * t)
    steps = np.arange(int(2.0 * RATE), t.size - int(2.0 * RATE), int(RATE / 1.8))
    acc[steps, 2] += 2.0
    rest = t > 10.0
    offline = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=RATE), t, acc, gyr,
                           sampling_rate_hz=RATE, rest_mask=rest)
    stream = SpikeStream(RATE)
    parts = [stream.feed(t[i:i + 100], acc[i:i + 100], gyr[i:i + 100], rest[i:i + 100])
             for i in range(0, t.size, 100)]
    live = pd.concat(parts + [stream.flush()], ignore_index=True)
    assert live["kind"].tolist() == offline["kind"].tolist()
    assert (live.loc[live["t_s"] > 10.5, "kind"] != "footstep").all()
    assert (live.loc[live["t_s"] < 9.5, "kind"] == "footstep").all()


def test_stream_rejects_time_going_backwards():
    t, acc, gyr = _quiet(2.0)
    stream = SpikeStream(RATE)
    stream.feed(t[:100], acc[:100], gyr[:100])
    with pytest.raises(ValidationError, match="time goes backwards"):
        stream.feed(t[50:150], acc[50:150], gyr[50:150])


def test_threshold_rises_where_a_sample_outlasts_the_tissue_response():
    cp = CrackParams()
    assert cp.threshold_at(200.0) == cp.threshold == 0.6 <= cp.threshold_at(400.0) <= 0.7
    assert cp.threshold < cp.threshold_at(100.0) <= cp.threshold_at(50.0) <= 0.95
    assert cp.threshold_at(200.0) < cp.threshold_at(141.0) < cp.threshold_at(100.0)  # between table rows
    # held beyond the table's ends
    assert cp.threshold_at(25.0) == cp.threshold_at(50.0) and cp.threshold_at(1600.0) == cp.threshold_at(400.0)
    assert CrackParams(threshold=0.9).threshold_at(400.0) == 0.9  # never below the set threshold
