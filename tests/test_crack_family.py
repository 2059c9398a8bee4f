"""The simulator's pop family and sensor front ends, and one spike judgement for batch
and live on it (issues 16 and 13)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tracker.quality import find_gaps
from tracker.signal.spikes import (
    JOINTS_IN_RANGE,
    SCORE_FEATURES,
    CrackParams,
    SpikeStream,
    detect_and_judge,
    detect_spikes,
    judge_cracks,
    crack_probability,
    judged_rate_hz,
    score_features,
)
from tracker.simulate._frontend import (
    HELD_OUT_FRONT_ENDS,
    HI_RATE_HZ,
    NARROW_FRONT_ENDS,
    TUNING_FRONT_ENDS,
    front_ends,
    sample_event,
)
from tracker.simulate._pops import (
    CONFOUNDER_KINDS,
    PopFamily,
    pop_wave,
    simulate_family,
    tissue_ringing,
)


def _pulse_at(fe_name: str, rate: float) -> np.ndarray:
    """A 1 ms, 1 g half-sine jolt as the part samples it (no noise)."""
    t = np.arange(0, 0.5, 1 / rate)
    tau = np.arange(0, 1e-3, 1 / HI_RATE_HZ)
    wave = np.zeros((tau.size, 3))
    wave[:, 0] = 9.81 * np.sin(np.pi * tau / 1e-3)
    idx, val = sample_event(t, 0.2, wave, front_ends(rate)[fe_name])
    out = np.zeros(t.size)
    out[idx] = val[:, 0]
    return out


def test_front_end_sets_height_and_width_of_a_pop():
    wide, narrow = _pulse_at("bmi270_normal", 100.0), _pulse_at("bmi270_osr4", 100.0)
    # A well band-limited part keeps the pulse's area (velocity change, 2/pi * 1 ms * 1 g)...
    area = 9.81 * 1e-3 * 2 / np.pi
    assert narrow.sum() / 100.0 == pytest.approx(area, rel=0.05)
    # ...but a filter at a tenth of the rate spreads it and lowers its peak (~2-3x).
    assert wide.max() > 2.0 * narrow.max()
    assert (narrow > 0.5 * narrow.max()).sum() > (wide > 0.5 * wide.max()).sum()
    # Peak of the order of area * 2 * bandwidth for a filter near Nyquist (40 Hz at 100 Hz).
    assert 0.3 * area * 80.0 < wide.max() < 1.2 * area * 80.0


def test_front_ends_alias_where_the_datasheets_say():
    at100 = front_ends(100.0)
    assert at100["icm42688_default"].aliases  # 100 Hz UI filter at 100 Hz ODR
    assert not front_ends(400.0)["icm42688_default"].aliases
    assert at100["raw_sampled"].aliases and not at100["bmi270_normal"].aliases
    assert at100["lsm6ds3_default"].analog_hz == 50.0 and front_ends(200.0)["lsm6ds3_default"].analog_hz == 100.0
    names = set(TUNING_FRONT_ENDS) | set(HELD_OUT_FRONT_ENDS) | set(NARROW_FRONT_ENDS)
    assert names == set(at100) and not set(TUNING_FRONT_ENDS) & set(HELD_OUT_FRONT_ENDS)
    assert all(fe.source for fe in at100.values())


def test_tuning_and_held_out_ranges_never_overlap():
    tu, ho = PopFamily.tuning(), PopFamily.held_out()
    for name in ("jolt_s", "jolt_rel", "ring_hz", "ring_tau_s", "tissue_hz", "tissue_rel", "tissue_max_v_m_s",
                 "slap_hz"):
        for a0, a1 in getattr(tu, name):
            for b0, b1 in getattr(ho, name):
                assert a1 <= b0 or b1 <= a0, (name, (a0, a1), (b0, b1))
    rng = np.random.default_rng(0)
    amps = []
    for _ in range(200):
        acc, _, _, params = pop_wave(rng, ho)
        amps.append(np.max(np.linalg.norm(acc, axis=1)) / 9.80665)
        assert any(lo <= params["ring_hz"] <= hi for lo, hi in ho.ring_hz)
    assert 0.2 <= min(amps) and max(amps) <= 3.0 + 1e-9
    assert np.median(amps) == pytest.approx(np.sqrt(0.2 * 3.0), rel=0.25)  # log-uniform


@pytest.mark.parametrize("cycles", [1.0, 3.0])
def test_a_ringing_tissue_response_starts_with_the_pop_and_dies_over_its_cycles(cycles):
    f = 20.0
    u = np.arange(-0.02, 0.5, 1e-4)
    w = tissue_ringing(u, f, cycles)
    assert np.all(w[u <= 0] == 0.0) and np.max(np.abs(w)) == pytest.approx(1.0)
    first = np.max(np.abs(w[(u > 0) & (u <= 1 / f)]))
    assert np.max(np.abs(w[u >= cycles / f])) <= 0.1 * first + 1e-9
    assert np.count_nonzero(np.diff(np.sign(w[(u > 0) & (u < cycles / f)])) != 0) >= 2 * int(cycles) - 1
    rng = np.random.default_rng(1)
    shapes = [pop_wave(rng, PopFamily.held_out())[3]["tissue_ring_cycles"] for _ in range(300)]
    rings = [c for c in shapes if c is not None]
    assert 0.2 < len(rings) / len(shapes) < 0.45  # a third of pops
    assert all(any(lo <= c <= hi for lo, hi in PopFamily.held_out().tissue_ring_cycles) for c in rings)
    assert PopFamily.tuning().tissue_ringing_share == 0.0  # a shape the score never saw


def test_family_session_has_pops_and_every_confounder_kind():
    sim = simulate_family(3, 100.0, split="held_out", minutes=3.0)
    again = simulate_family(3, 100.0, split="held_out", minutes=3.0)
    np.testing.assert_array_equal(sim.recording.acc_m_s2, again.recording.acc_m_s2)
    assert 1 <= len(sim.pops) <= len(JOINTS_IN_RANGE)  # each joint refractory for 20 min
    assert sim.front_end.name in HELD_OUT_FRONT_ENDS
    assert {c.kind for c in sim.confounders} == set(CONFOUNDER_KINDS)
    for c in sim.confounders:
        if c.kind == "vibration":
            assert 0.2 <= c.duration_s <= 5.0
        if c.kind == "strap_slap":
            assert 1.0 / 100.0 <= c.duration_s <= 3.0 / 100.0


def test_a_family_override_draws_its_own_ranges_and_keeps_the_session():
    # the benchmark's slap stress: the same session, with every slap a bare push
    bare = replace(PopFamily.held_out(), slap_hz=((0.1, 1.0),))
    sim = simulate_family(3, 200.0, split="held_out", minutes=2.0, family=bare)
    base = simulate_family(3, 200.0, split="held_out", minutes=2.0)
    slaps = [c for c in sim.confounders if c.kind == "strap_slap"]
    assert slaps and all(0.1 <= c.params["hz"] <= 1.0 for c in slaps)
    assert not any(0.1 <= c.params["hz"] <= 1.0 for c in base.confounders if c.kind == "strap_slap")
    np.testing.assert_array_equal(sim.recording.t_s, base.recording.t_s)
    # ... and its stated-limit table's shortest bursts (a notification's buzz)
    short = simulate_family(3, 200.0, split="held_out", minutes=2.0,
                            family=replace(PopFamily.held_out(), vibration_s=(0.2, 0.3)))
    bursts = [c.duration_s for c in short.confounders if c.kind == "vibration"]
    assert bursts and all(0.2 <= d <= 0.3 for d in bursts)
    assert any(c.duration_s > 0.3 for c in base.confounders if c.kind == "vibration")


@pytest.mark.parametrize(("rate", "min_amp_g", "min_f1"), [(100.0, 1.5, 0.7), (200.0, 1.0, 0.75)])
def test_pops_of_the_issues_own_model_are_found_whatever_their_tissue_velocity(rate, min_amp_g, min_f1):
    # Issue 16's model: ringing plus a 5-30 Hz tissue response, no jolt, nothing limiting
    # how fast the tissue moves the skin (up to ~1 m/s at 3 g). A score tuned with one
    # limit (0.1 m/s) took every faster pop for a knock: F1 0.17 at 100 Hz, 0.55 at 200 Hz.
    # A score linear in the features got 0.53 and 0.74 here; the quadratic one at 100 Hz
    # (tracker.signal.crack_score) 0.78 and 0.81 (each rate fitted on its own).
    issue = PopFamily.issue_model()
    tp = fn = fp = 0
    for seed in range(1, 32, 2):  # held-out seeds
        sim = simulate_family(seed, rate, split="held_out", family=issue)
        r = sim.recording
        j = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, rate, None, None)
        t_poss = np.asarray(j["t_s"])[np.asarray(j["possible_crack"])]
        t_pops = np.array([p.t_s for p in sim.pops])
        for p in sim.pops:
            if p.amplitude_g >= min_amp_g:
                found = bool(np.any(np.abs(t_poss - p.t_s) <= 0.05))
                tp, fn = tp + found, fn + (not found)
        fp += sum(not np.any(np.abs(t_pops - t) <= 0.05) for t in t_poss)
    assert tp + fn >= 10
    assert 2 * tp / (2 * tp + fp + fn) >= min_f1, (tp, fn, fp)


def test_a_spike_amid_shaking_is_no_pop():
    # A pop comes out of stillness and 60-200 ms after it its tissue response has died
    # down (ringing ones included); a vibration burst goes on, or had gone on before its
    # end. Held-out family at 400 Hz: of the burst spikes amid shaking, the measure
    # turns most that would be possible cracks without it into none, and the pops stay
    # below the level where it counts.
    frames = []
    for seed in range(1, 80, 2):
        sim = simulate_family(seed, 400.0, split="held_out")
        r = sim.recording
        j = pd.DataFrame(detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, 400.0, None, None))
        t = j["t_s"].to_numpy()
        in_pop = np.zeros(len(j), bool)
        in_burst = np.zeros(len(j), bool)
        for p in sim.pops:
            in_pop |= np.abs(t - p.t_s) <= 0.05
        for c in sim.confounders:
            if c.kind == "vibration":
                in_burst |= (t >= c.t_s - 0.05) & (t <= c.t_s + c.duration_s + 0.05)
        frames.append(j.assign(pop=in_pop, burst=in_burst & ~in_pop))
    d = pd.concat(frames)
    floor = dict((n, lo) for n, lo, _ in SCORE_FEATURES)["persist_ratio"]
    going_on = d[d["burst"] & (d["persist_ratio"] >= floor)]
    still = going_on.to_dict("series") | {"persist_ratio": np.zeros(len(going_on))}
    threshold = CrackParams().threshold_at(400.0)
    would_be = int((crack_probability(still, 400.0) >= threshold).sum())
    assert would_be >= 3 and going_on["possible_crack"].sum() <= would_be / 3, would_be
    assert (d.loc[d["pop"], "persist_ratio"] < floor).mean() >= 0.98


def test_score_is_bounded_for_spikes_unlike_any_in_tuning():
    # A noise-free 200 g spike with a huge gyro jump: features are clipped to the tuning
    # ranges, so the logistic cannot run off to a certainty it never saw.
    cols = {"t_s": np.zeros(1), "snr": np.array([1e9]), "peak_m_s2": np.array([2000.0]),
            "delta_v_m_s": np.array([5.0]), "gyr_jump_rad_s": np.array([50.0]),
            "impulse_fraction": np.ones(1), "lag1_corr": np.zeros(1), "side_ratio": np.zeros(1),
            "bipolar_ratio": np.zeros(1), "tail_ratio": np.zeros(1), "lead_ratio": np.zeros(1),
            "pre_ratio": np.zeros(1), "rebound_ratio": np.zeros(1), "late_ratio": np.zeros(1),
            "persist_ratio": np.zeros(1),
            "gait_rms_m_s2": np.zeros(1), "periodicity": np.zeros(1), "n_burst": np.zeros(1)}
    x = score_features(cols, 100.0)
    assert x.shape == (1, len(SCORE_FEATURES))
    assert np.all(np.isfinite(x)) and np.abs(x).max() < 30
    # ... and such a knock is no pop at any rate: rotation only ever counts against one
    for rate in (50.0, 100.0, 150.0, 286.0, 400.0):
        assert crack_probability(cols, rate)[0] < 0.1, rate
    assert CrackParams().threshold >= 0.5  # precision first


@pytest.mark.parametrize("rate", [100.0, 400.0, 1600.0])
def test_batch_and_stream_give_one_judgement_on_the_family(rate):
    sim = simulate_family(5, rate, split="held_out", minutes=2.0)
    r = sim.recording
    batch = judge_cracks(detect_spikes(r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate),
                         r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate)
    stream = SpikeStream(rate)
    step = int(rate / 2)
    parts = [stream.feed(r.t_s[i:i + step], r.acc_m_s2[i:i + step], r.gyr_rad_s[i:i + step])
             for i in range(0, len(r), step)]
    live = pd.concat([*parts, stream.flush()], ignore_index=True)
    assert len(batch) > 5
    assert live["sample"].tolist() == batch["sample"].tolist()
    assert live["kind"].tolist() == batch["kind"].tolist()
    assert live["possible_crack"].tolist() == batch["possible_crack"].tolist()
    np.testing.assert_allclose(live["crack_score"], batch["crack_score"], atol=1e-3)


def test_a_fast_stream_is_judged_at_a_rate_the_score_was_fitted_at():
    # The score was fitted at 50-400 Hz and its shape features count samples: an 800 Hz
    # stream is judged on the means of sample pairs, as a 400 Hz part's oversampling
    # gives them (judged as it was, 800 Hz called 13 % of light knocks cracks, 1600 Hz a
    # third of the taps and slaps).
    assert [judged_rate_hz(r) for r in (50.0, 100.0, 416.0, 800.0, 833.0, 1000.0, 1600.0)] == \
        [50.0, 100.0, 416.0, 400.0, 416.5, 1000.0 / 3, 400.0]
    sim = simulate_family(7, 800.0, split="held_out", minutes=2.0)
    r = sim.recording
    a, b = max(find_gaps(r.t_s, period_s=1 / 800.0).segments(len(r)), key=lambda s: s[1] - s[0])
    n = (b - a) // 2 * 2  # the longest run without a dropped sample, in pairs
    t, acc, gyr = r.t_s[a:a + n], r.acc_m_s2[a:a + n], r.gyr_rad_s[a:a + n]
    assert n > 800 * 20
    fast = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=800.0), t, acc, gyr, sampling_rate_hz=800.0)
    t2, acc2, gyr2 = (x.reshape(n // 2, 2, *x.shape[1:]).mean(axis=1) for x in (t, acc, gyr))
    slow = judge_cracks(detect_spikes(t2, acc2, gyr2, sampling_rate_hz=400.0), t2, acc2, gyr2, sampling_rate_hz=400.0)
    assert len(fast) == len(slow) > 3
    np.testing.assert_allclose(fast["t_s"], slow["t_s"], atol=1e-9)
    np.testing.assert_allclose(fast["crack_score"], slow["crack_score"], atol=1e-9)
    assert (fast["sample"].to_numpy() == 2 * slow["sample"].to_numpy() + 1).all()
    whole = judge_cracks(detect_spikes(r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=800.0),
                         r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=800.0)
    for c in sim.confounders:  # no knock, slap, step or buzz of the session is a crack
        near = (whole["t_s"] >= c.t_s - 0.05) & (whole["t_s"] <= c.t_s + c.duration_s + 0.05)
        assert not whole.loc[near, "possible_crack"].any(), c


def test_without_a_gyroscope_the_tap_check_is_unknown_and_the_score_says_so():
    # An accelerometer-only sensor records zeros: that must not read as "no rotation",
    # the pops' side of the tap check.
    sim = simulate_family(2, 200.0, split="tuning")
    r = sim.recording
    with_gyr = judge_cracks(detect_spikes(r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=200.0),
                            r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=200.0)
    zeros = np.zeros_like(r.gyr_rad_s)
    blind = judge_cracks(detect_spikes(r.t_s, r.acc_m_s2, zeros, sampling_rate_hz=200.0),
                         r.t_s, r.acc_m_s2, zeros, sampling_rate_hz=200.0)
    assert blind["gyr_jump_rad_s"].isna().all() and (blind["f_gyro"] == 1.0).all()
    assert blind["sample"].tolist() == with_gyr["sample"].tolist()
    s_gyr, s_blind = with_gyr["crack_score"].to_numpy(), blind["crack_score"].to_numpy()
    assert np.all((s_blind >= 0) & (s_blind <= 1))
    pops = np.array([any(abs(t - p.t_s) <= 0.05 for p in sim.pops) for t in with_gyr["t_s"]])
    assert pops.sum() >= 2 and (~pops).sum() >= 5
    # Pops: less sure without the gyroscope; other spikes: not judged cracks by default.
    assert s_blind[pops].mean() < s_gyr[pops].mean()
    assert not blind.loc[~pops, "possible_crack"].any()


def test_a_spike_in_the_first_second_of_a_phone_recording_is_the_touch_that_started_it():
    from tracker.signal.process import process_session

    sim = simulate_family(2, 200.0, split="tuning")
    r = sim.recording
    found = process_session(r)
    assert found.cracks
    tc = found.cracks[0].t_s
    # the same samples, started 0.4 s before that crack: once as a tag, once as a phone app
    i0 = int(np.searchsorted(r.t_s, tc - 0.4))
    cut = r.slice(i0, len(r))
    cut = type(cut)(cut.t_s - cut.t_s[0], cut.acc_m_s2, cut.gyr_rad_s, cut.mag_uT, cut.meta)
    tag = process_session(cut)
    assert any(abs(c.t_s - 0.4) < 0.05 for c in tag.cracks)
    phone = process_session(cut.with_meta(profile="phyphox"))
    assert not any(c.t_s < 1.0 for c in phone.cracks)
    assert any("touch on the screen" in n for n in phone.summary.notes)
    assert len(phone.cracks) == len(tag.cracks) - 1


@pytest.mark.parametrize("rate", [100.0, 200.0, 400.0])
def test_a_measured_rate_off_the_nominal_one_gives_the_same_judgement(rate):
    # The batch analysis passes the rate it measures (99.98 or 100.02 Hz for a 100 Hz
    # part), the live view the declared one: every window in samples must be the same,
    # so the spikes' shape and the judgement are too. (Window edges cut up or down in
    # samples once made a 100 Hz pop a possible crack live and not in the analysis.)
    r = simulate_family(5, rate, split="held_out", minutes=2.0).recording
    nominal = judge_cracks(detect_spikes(r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate),
                           r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate)
    shape = ["snr", "impulse_fraction", "gyr_jump_rad_s", "lag1_corr", "side_ratio", "bipolar_ratio", "tail_ratio",
             "lead_ratio", "pre_ratio", "rebound_ratio", "late_ratio", "persist_ratio"]
    assert nominal["possible_crack"].any()
    for measured in (rate * (1 - 2e-4), rate * (1 + 2e-4)):
        got = judge_cracks(detect_spikes(r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=measured),
                           r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=measured)
        np.testing.assert_array_equal(got["t_s"], nominal["t_s"])
        np.testing.assert_allclose(got[shape], nominal[shape], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got["crack_score"], nominal["crack_score"], atol=0.01)
        assert (got["possible_crack"] == nominal["possible_crack"]).all()
