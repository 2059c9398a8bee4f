"""The causal analyser against known truth: simulated sessions and exact synthetic movements."""

from __future__ import annotations

import numpy as np
import pytest

from live_synth import backbend_recording, feed, still_recording, twist_recording
from tracker.errors import ValidationError
from tracker.live.analyzer import LiveAnalyzer, LiveParams, usual_limit_deg
from tracker.simulate import Routine, simulate_session


@pytest.fixture(scope="module")
def simulated():
    """design.md's routine, one repetition per exercise and side (with cracks, taps,
    footsteps and posture changes), analysed live in 0.25 s batches."""
    sim = simulate_session(seed=2, routine=Routine.short())
    assert len(sim.truth.reps) >= 6 and sim.truth.cracks
    live = LiveAnalyzer(sim.recording.sample_rate_hz)
    events = feed(live, sim.recording, batch=25)
    return sim, live, events


def test_every_repetition_is_found_with_exercise_side_peak_and_hold(simulated):
    sim, live, _ = simulated
    truth = sim.truth.reps
    assert [(r.exercise, r.side) for r in live.reps] == [(r.exercise, r.side) for r in truth]
    for got, want in zip(live.reps, truth):
        assert got.peak_deg == pytest.approx(want.peak_deg, abs=3.0)
        assert got.start_s == pytest.approx(want.start_s, abs=0.5)
        assert got.end_s == pytest.approx(want.end_s, abs=0.5)
        assert got.hold_s == pytest.approx(want.hold_s, abs=1.0)
        assert got.hold_start_s == pytest.approx(want.hold_start_s, abs=0.6)
    counts = {}
    for r in truth:
        counts[(r.exercise, r.side)] = counts.get((r.exercise, r.side), 0) + 1
    assert live.rep_counts == counts


def test_possible_cracks_match_the_injected_ones_and_confounders_are_not_cracks():
    # Seed 5's two pops are found offline (recall at 100 Hz is ~0.6 on the pop family,
    # bench_cracks.py): the live view reports the same ones, and nothing else.
    from tracker.signal.process import process_session

    sim = simulate_session(seed=5, routine=Routine.short())
    events = feed(LiveAnalyzer(sim.recording.sample_rate_hz), sim.recording, batch=25)
    found = [e.t_s for e in events if e.kind == "possible_crack"]
    assert found == pytest.approx([c.t_s for c in process_session(sim.recording).cracks], abs=0.02)
    assert len(found) >= 1
    for t in found:
        assert min(abs(t - crack.t_s) for crack in sim.truth.cracks) < 0.05
    taps = [c.t_s for c in sim.truth.confounders if c.kind == "tap"]
    for t in taps:
        assert all(abs(t - f) > 0.1 for f in found)


def test_a_gentle_session_gets_no_safety_warnings(simulated):
    _, _, events = simulated
    assert [e.data for e in events if e.kind == "warning"] == []


def test_walking_and_posture_changes_are_not_repetitions(simulated):
    sim, live, events = simulated
    # every counted repetition lies inside a true one (nothing counted while walking)
    for rep in live.reps:
        assert any(t.start_s - 1 <= rep.start_s and rep.end_s <= t.end_s + 1 for t in sim.truth.reps)
    postures = [e.data["posture"] for e in events if e.kind == "posture"]
    assert "supine" in postures and "all_fours" in postures


def test_twist_angle_and_timing_follow_the_exact_movement():
    rec, [(t0, t1)] = twist_recording(peak_deg=20.0, speed_deg_s=20.0, hold_s=6.0)
    live = LiveAnalyzer(100.0)
    events = feed(live, rec)
    (rep,) = live.reps
    assert (rep.exercise, rep.side) == ("seated_twist", "left")
    assert rep.peak_deg == pytest.approx(20.0, abs=0.3)
    assert rep.start_s == pytest.approx(t0, abs=0.25) and rep.end_s == pytest.approx(t1, abs=0.25)
    assert rep.hold_s == pytest.approx(6.0, abs=0.5)
    kinds = [e.kind for e in events if e.kind != "spike"]
    assert kinds == ["calibrated", "rep_start", "hold_start", "hold_end", "rep"]
    assert live.angles_deg is not None and abs(live.angles_deg[2]) < 0.3  # back at the start


def test_right_twist_is_negative_and_right():
    rec, _ = twist_recording(peak_deg=-15.0)
    live = LiveAnalyzer(100.0)
    feed(live, rec)
    (rep,) = live.reps
    assert (rep.side, round(rep.peak_deg)) == ("right", -15)


def test_hold_timer_runs_during_the_hold():
    rec, [(t0, _)] = twist_recording(peak_deg=20.0, speed_deg_s=20.0, hold_s=8.0)
    live = LiveAnalyzer(100.0)
    ramp_s = 20.0 / 20.0 * np.pi / 2
    seen = []
    for k in range(0, len(rec), 10):
        live.feed(rec.t_s[k:k + 10], rec.acc_m_s2[k:k + 10], rec.gyr_rad_s[k:k + 10])
        if live.hold_s is not None:
            seen.append((live.t_s, live.hold_s, live.phase))
    t_hold0 = t0 + ramp_s
    for t, held, _ in seen:
        assert held == pytest.approx(t - t_hold0, abs=0.6)
    assert max(h for _, h, _ in seen) == pytest.approx(8.0, abs=0.6)
    assert any(phase == "holding" for *_, phase in seen)


@pytest.mark.parametrize("kind, kw", [
    ("fast", {"peak_deg": 30.0, "speed_deg_s": 120.0}),
    ("jerky", {"peak_deg": 20.0, "speed_deg_s": 20.0, "bounce_deg": 4.0}),
])
def test_fast_or_jerky_stretches_are_warned_once(kind, kw):
    rec, _ = twist_recording(**kw)
    live = LiveAnalyzer(100.0)
    warnings = [e.data for e in feed(live, rec) if e.kind == "warning"]
    assert [w["kind"] for w in warnings].count(kind) == 1
    assert len(live.reps) == 1  # still counted


def test_slow_stretches_are_not_warned():
    rec, _ = twist_recording(peak_deg=25.0, speed_deg_s=35.0, n_twists=2)
    live = LiveAnalyzer(100.0)
    assert [e for e in feed(live, rec) if e.kind == "warning"] == []
    assert len(live.reps) == 2


def test_going_well_past_the_usual_range_is_warned():
    rec, _ = twist_recording(peak_deg=30.0)
    usual = {("seated_twist", "left"): 15.0}
    live = LiveAnalyzer(100.0, usual_peaks_deg=usual)
    (w,) = [e.data for e in feed(live, rec) if e.kind == "warning"]
    assert w["kind"] == "beyond_range" and w["usual"] == 15.0
    assert w["value"] >= usual_limit_deg(15.0, LiveParams()) - 0.1  # warned on crossing the limit
    # within the usual range, or another side: nothing
    for usual in ({("seated_twist", "left"): 28.0}, {("seated_twist", "right"): 10.0}):
        live = LiveAnalyzer(100.0, usual_peaks_deg=usual)
        assert [e for e in feed(live, rec) if e.kind == "warning"] == []


def test_usual_limit_is_relative_and_absolute():
    lp = LiveParams(beyond_frac=0.25, beyond_min_deg=5.0)
    assert usual_limit_deg(10.0, lp) == 15.0  # +5° beats +25 %
    assert usual_limit_deg(-40.0, lp) == 50.0  # +25 % beats +5°


def test_batch_size_does_not_change_the_result():
    rec, _ = twist_recording(peak_deg=18.0, hold_s=3.0, start_s=3.0, after_s=3.0, noise=0.002)
    reps = []
    for batch in (1, 50):
        live = LiveAnalyzer(100.0)
        feed(live, rec, batch=batch)
        reps.append(live.reps)
    for other in reps[1:]:
        assert len(other) == len(reps[0]) == 1
        assert other[0].peak_deg == pytest.approx(reps[0][0].peak_deg, abs=0.05)
        assert other[0].start_s == pytest.approx(reps[0][0].start_s, abs=0.05)
        assert other[0].end_s == pytest.approx(reps[0][0].end_s, abs=0.05)


def test_without_gyroscope_bends_are_seen_from_gravity_and_twists_are_not():
    live = LiveAnalyzer(100.0, has_gyro=False)
    feed(live, backbend_recording(peak_deg=-25.0, with_gyro=False), batch=25)
    (rep,) = live.reps
    assert rep.exercise == "chair_backbend" and rep.peak_deg == pytest.approx(-25.0, abs=1.0)
    live = LiveAnalyzer(100.0, has_gyro=False)
    rec, _ = twist_recording(peak_deg=20.0)
    feed(live, rec, batch=25)
    assert live.reps == [] and np.isnan(live.angles_deg[2])


def test_waits_for_a_still_upright_moment_to_calibrate():
    live = LiveAnalyzer(100.0)
    rec = still_recording(0.8)
    feed(live, rec)
    assert not live.calibrated and live.phase == "calibrating" and live.angles_deg is None
    live = LiveAnalyzer(100.0)
    (ev,) = [e for e in feed(live, still_recording(3.0)) if e.kind == "calibrated"]
    assert ev.data["neutral"] and live.calibrated and live.posture == "upright"


def test_bad_batches_are_refused_with_a_clear_error():
    live = LiveAnalyzer(100.0)
    rec = still_recording(1.0)
    live.feed(rec.t_s[:10], rec.acc_m_s2[:10], rec.gyr_rad_s[:10])
    with pytest.raises(ValidationError, match="time goes backwards"):
        live.feed(rec.t_s[5:15], rec.acc_m_s2[5:15], rec.gyr_rad_s[5:15])
    with pytest.raises(ValidationError, match="disagree"):
        live.feed(rec.t_s[20:30], rec.acc_m_s2[20:29], rec.gyr_rad_s[20:30])
    with pytest.raises(ValidationError, match="sampling_rate_hz"):
        LiveAnalyzer(0.0)
    with pytest.raises(ValidationError, match="fast_deg_s"):
        LiveParams(fast_deg_s=0)


def test_live_cracks_agree_with_the_offline_analysis(simulated):
    from tracker.signal.process import process_session

    sim, _, events = simulated
    offline = process_session(sim.recording)
    live_cracks = [e.t_s for e in events if e.kind == "possible_crack"]
    assert live_cracks == pytest.approx([c.t_s for c in offline.cracks], abs=0.02)


#: Live and offline run one repetition core (tracker.signal.repcore); they differ only in
#: the orientation filter (online vs offline VQF) and the smoothing (causal vs zero
#: phase, whose delay live subtracts). Stated tolerances of the agreement:
AGREE_PEAK_DEG = 2.0
AGREE_TIME_S = 0.5
AGREE_HOLD_S = 0.5


def assert_live_matches_offline(live, offline) -> list:
    """The same repetitions in order (exercise, side, plane, posture), peaks and times
    within the stated tolerances; returns the offline keys."""
    key = [(r.exercise, r.side, r.plane, r.posture) for r in offline.reps]
    assert [(r.exercise, r.side, r.plane, r.posture) for r in live.reps] == key
    for got, want in zip(live.reps, offline.reps):
        assert got.peak_deg == pytest.approx(want.peak_deg, abs=AGREE_PEAK_DEG)
        assert got.start_s == pytest.approx(want.start_s, abs=AGREE_TIME_S)
        assert got.end_s == pytest.approx(want.end_s, abs=AGREE_TIME_S)
    return key


@pytest.mark.parametrize("seed, rate_hz", [(1, 50.0), (3, 200.0), (5, 400.0)])
def test_live_and_offline_find_the_same_repetitions_on_the_full_routine(seed, rate_hz):
    """The full default routine (seated, lying, all fours, walking between), several
    seeds and rates: the same repetitions in the same order, exercise, side and posture,
    peaks, times and holds within the stated tolerances."""
    from tracker.signal.process import process_session

    sim = simulate_session(seed=seed, rate_hz=rate_hz)
    live = LiveAnalyzer(sim.recording.sample_rate_hz)
    feed(live, sim.recording, batch=max(1, int(rate_hz / 4)))
    offline = process_session(sim.recording)
    key = assert_live_matches_offline(live, offline)
    assert len(key) == len(sim.truth.reps)


def test_minute_long_held_twists_agree_live_and_offline_and_with_the_truth():
    """Seated twists held about a minute, each way (the varied routine's longest holds):
    the heading must not drift through the hold (the hold sway once made VQF's rest
    detection flicker and take the sway's rate as gyro bias: 15° drift, a hold cut short
    offline, a twist missed or 20° off live). Live and offline find both, with peaks
    within the agreement tolerance and holds and peaks close to the truth."""
    from tracker.routine import ExerciseSpec, Routine
    from tracker.signal.process import process_session

    routine = Routine(exercises=(ExerciseSpec("seated_twist", ("left", "right"), 1, peak_deg=10.0,
                                              hold_s=60.0, rest_s=3.0),),
                      neutral_s=5.0, settle_s=2.0, walk_steps=0, final_still_s=2.0)
    sim = simulate_session(seed=1, rate_hz=200.0, routine=routine)
    live = LiveAnalyzer(sim.recording.sample_rate_hz)
    feed(live, sim.recording, batch=50)
    offline = process_session(sim.recording)
    truth = sim.truth.reps
    assert [r.hold_s > 45 for r in truth] == [True, True]
    for found in (offline.reps, live.reps):
        assert [(r.exercise, r.side) for r in found] == [(r.exercise, r.side) for r in truth]
        for got, want in zip(found, truth):
            assert got.peak_deg == pytest.approx(want.peak_deg, abs=2.0)
            assert got.hold_s == pytest.approx(want.hold_s, abs=0.3)
    for got, want in zip(live.reps, offline.reps):
        assert got.peak_deg == pytest.approx(want.peak_deg, abs=AGREE_PEAK_DEG)
        assert got.hold_s == pytest.approx(want.hold_s, abs=AGREE_HOLD_S)


def test_quick_small_alternating_twists_agree_live_and_offline():
    """TrunkyXL-like: 5–10° twists, side bends and bends without holds, at 50 Hz."""
    from tracker.routine import Routine
    from tracker.signal.process import process_session

    sim = simulate_session(seed=1, rate_hz=50.0, routine=Routine.trunkyxl())
    live = LiveAnalyzer(sim.recording.sample_rate_hz)
    feed(live, sim.recording, batch=12)
    offline = process_session(sim.recording)
    assert [(r.exercise, r.side) for r in live.reps] == [(r.exercise, r.side) for r in offline.reps]
    # 5-10 deg twists sit near the detection limit: over seeds 1-12 the analysis misses
    # 3 of 216 (with or without simulated pops), so one miss here is allowed.
    assert len(sim.truth.reps) - 1 <= len(offline.reps) <= len(sim.truth.reps)
    for got, want in zip(live.reps, offline.reps):
        assert got.peak_deg == pytest.approx(want.peak_deg, abs=AGREE_PEAK_DEG)


@pytest.mark.parametrize("seed", [5, 1030])
def test_mounting_is_corrected_from_the_movements_and_then_agrees_with_offline(seed):
    """A phone worn upright with the screen in: the live start sees only 'up' and assumes
    the nominal forward axis (reversed here). After the first repetitions the live
    analyser re-derives the mounting with the offline calibration, says so, and from
    then on every repetition has the offline exercise and side. Allowed to differ: only
    the repetitions counted before the ``mounting_corrected`` event."""
    from tracker.signal.process import process_session
    from tracker.simulate import SensorModel

    sim = simulate_session(seed=seed, routine=Routine.varied(), minutes=1.5, rate_hz=50.0,
                           sensor=SensorModel(nominal_mounting="phone_upright_screen_in"))
    live = LiveAnalyzer(sim.recording.sample_rate_hz)
    events = feed(live, sim.recording, batch=12)
    offline = process_session(sim.recording)
    kinds = [e.kind for e in events]
    assert kinds.count("mounting_corrected") == 1
    fix = kinds.index("mounting_corrected")
    assert events[fix].data["turned_deg"] > 150.0  # the forward axis was reversed
    assert live.calibration is not None and live.calibration.confidence >= 0.5
    before = kinds[:fix].count("rep")
    assert before <= 6  # found after the first repetitions, not at the end
    after = [(r.exercise, r.side, r.plane) for r in live.reps[before:]]
    start = live.reps[before].start_s
    want = [(r.exercise, r.side, r.plane) for r in offline.reps if r.start_s > start - AGREE_TIME_S]
    assert after == want and len(after) >= 10
    # the truth agrees too: the offline analysis is right on this routine
    truth = {(r.exercise, r.side) for r in sim.truth.reps}
    assert {(e, s) for e, s, _ in after} <= truth


def test_a_repetition_ending_at_a_crossing_never_starts_over_on_the_same_step():
    """Varied routine at 50 Hz, aligned tag, 12-sample batches: a repetition began where the
    smoothed angle still lagged on the other side of its start posture from the raw one
    that gave its sign, so it 'crossed' on its first step, ended there and started over on
    the same step, without end (RecursionError). Live now finds what offline finds.

    (The routine's slow blocks are left out here: live's causal filter takes the first
    fraction of a second of a slow twist partly for gyroscope bias, so a 14° twist at
    3 °/s reads 1.4° smaller and comes back to its start posture 0.7 s earlier than
    offline, beyond AGREE_TIME_S; test_reps_properties checks slow stretches live.)"""
    import dataclasses

    from tracker.routine import Routine as VariedRoutine
    from tracker.signal.process import process_session
    from tracker.simulate import SensorModel

    varied = VariedRoutine.varied()
    quick = dataclasses.replace(varied, exercises=tuple(e for e in varied.exercises if e.speed_out_deg_s >= 5.0))
    sim = simulate_session(seed=2, routine=quick, minutes=1.5, rate_hz=50.0,
                           sensor=SensorModel(nominal_mounting="aligned"))
    live = LiveAnalyzer(50.0)
    feed(live, sim.recording, batch=12)
    offline = process_session(sim.recording)
    key = assert_live_matches_offline(live, offline)
    assert len(key) == len(sim.truth.reps)


@pytest.mark.parametrize("seed", [1, 3])
def test_the_first_reference_after_a_turn_is_not_taken_in_a_held_bend(seed):
    """Varied routine at 50 Hz, aligned tag: after the walk and turn before the forward
    bends, the person sways a little more than ``ref_steady_deg`` per half second, so
    live took no new reference until the first bend's hold; its return then read as a
    chair backbend of the opposite sign (seed 1: -17.9 deg live, +17.8 offline). The
    first reference after a posture change follows the offline rule (calm within the
    detection level), and live finds what offline finds (holds not compared here: a
    1 s cat-stretch hold is counted live but not offline, a separate matter)."""
    from tracker.signal.process import process_session
    from tracker.simulate import SensorModel

    sim = simulate_session(seed=seed, routine=Routine.varied(), minutes=1.5, rate_hz=50.0,
                           sensor=SensorModel(nominal_mounting="aligned"))
    live = LiveAnalyzer(50.0)
    feed(live, sim.recording, batch=12)
    offline = process_session(sim.recording)
    assert "forward_bend" in {r.exercise for r in offline.reps}
    assert_live_matches_offline(live, offline)
