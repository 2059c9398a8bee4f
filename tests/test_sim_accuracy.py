"""The simulator follows the real data (issue 14), and the analysis against its truth.

The long sweep (seeds, 50–400 Hz, every mounting) is ``benchmarks/bench_accuracy.py``;
here a few sessions check the simulator itself and the same targets, scored with
``tests/rep_scoring.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from rep_scoring import format_score, from_rep, from_truth, score, turn_figures

from tracker import schema
from tracker.routine import ExerciseSpec, Routine
from tracker.signal.process import process_session
from tracker.simulate import L45_LEVER_ARM_M, MOUNTINGS, GroundTruth, SensorModel, simulate_session

G = schema.STANDARD_GRAVITY_M_S2


def test_trunkyxl_routine_is_the_seated_protocol_at_lower_back_amplitudes_and_speeds() -> None:
    sim = simulate_session(seed=5, rate_hz=50.0, routine=Routine.trunkyxl(), cracks=False, confounders=False)
    reps = sim.truth.reps
    by = {k: [r for r in reps if r.movement == k] for k in ("forward_bend", "back_bend", "side_bend", "twist")}
    assert [len(by[k]) for k in by] == [3, 3, 6, 6]
    assert all(r.hold_s is None and r.posture == "upright" and r.stance == "sitting" for r in reps)
    # what the analysis should call them (design.md): seated extension = chair back-bend,
    # seated rotation = seated twist; forward and side bends stay generic
    assert {r.exercise for r in by["back_bend"]} == {"chair_backbend"}
    assert {r.exercise for r in by["twist"]} == {"seated_twist"}
    assert {r.exercise for r in by["forward_bend"]} == {"forward_bend"}
    assert {r.exercise for r in by["side_bend"]} == {"side_bend"}
    assert [r.side for r in by["twist"]] == ["left", "right"] * 3
    # design.md signs: forward +, extension -, left twist +, right side bend +
    for r in reps:
        assert r.plane == schema.PLANE_OF_EXERCISE[r.exercise]
        sign = {"forward_bend": 1, "back_bend": -1}.get(r.movement)
        if sign is None:
            sign = (1 if r.side == "left" else -1) if r.movement == "twist" else (1 if r.side == "right" else -1)
        assert np.sign(r.peak_deg) == sign
    # TrunkyXL at L4/5: the person's range (twists 5-12°, side bends 2-10°, forward bends
    # 15-25°), varied per repetition by at most ±30 %
    ranges = {spec.exercise: spec.peak_deg_range for spec in Routine.trunkyxl().exercises}
    assert ranges["twist"] == (5.0, 12.0) and ranges["side_bend"] == (2.0, 10.0)
    assert ranges["forward_bend"] == (15.0, 25.0)
    for k, (lo, hi) in ranges.items():
        peaks = np.abs([r.peak_deg for r in by[k]])
        assert lo * 0.7 - 0.5 <= peaks.min() and peaks.max() <= hi * 1.3 + 0.5, (k, peaks)
    # quick: out and back about 0.5-2.5 s each, no rests to speak of
    for r in reps:
        assert 0.25 <= r.peak_s - r.start_s <= 2.6 and 0.25 <= r.end_s - r.peak_s <= 2.6
    gaps = np.diff([r.start_s for r in reps]) - np.array([r.end_s - r.start_s for r in reps[:-1]])
    assert np.median(gaps) < 0.6


@pytest.mark.parametrize("name", sorted(MOUNTINGS))
def test_every_mounting_reads_gravity_where_the_sensor_axes_point(name: str) -> None:
    sim = simulate_session(seed=1, rate_hz=50.0, routine=Routine.trunkyxl(),
                           sensor=SensorModel.ideal(nominal_mounting=name), cracks=False, confounders=False)
    up_sensor = np.array(MOUNTINGS[name], dtype=float).T @ np.array([0.0, 0.0, G])  # body z in the sensor frame
    np.testing.assert_allclose(sim.recording.acc_m_s2[0], up_sensor, atol=0.2)
    if name == "flat_back_x_down":  # TrunkyXL's sensor: x down the spine reads -1 g at rest
        assert sim.recording.acc_m_s2[0, 0] == pytest.approx(-G, abs=0.1)


@pytest.mark.parametrize("mode", ["any_flat", "any"])
def test_random_mountings_differ_per_seed_and_flat_ones_face_out_of_or_into_the_back(mode: str) -> None:
    quats = []
    for seed in range(4):
        sim = simulate_session(seed=seed, rate_hz=25.0, routine=Routine.trunkyxl(),
                               sensor=SensorModel.ideal(nominal_mounting=mode), cracks=False, confounders=False)
        q = np.array(sim.truth.mounting.quat_wxyz)
        quats.append(q)
        if mode == "any_flat":
            from scipy.spatial.transform import Rotation
            z_body = Rotation.from_quat([*q[1:], q[0]]).apply([0.0, 0.0, 1.0])  # sensor z in the body
            assert abs(abs(z_body[0]) - 1.0) < 1e-9  # along the back's normal
    assert len({tuple(np.round(q, 6)) for q in quats}) == 4


def test_u_turn_walk_between_blocks_is_in_the_truth_and_round_trips() -> None:
    routine = Routine(exercises=(
        ExerciseSpec("twist", ("left",), 1, peak_deg=6.0, hold_s=0.0, rest_s=1.0),
        ExerciseSpec("side_bend", ("right",), 1, peak_deg=5.0, hold_s=2.0, rest_s=1.0),
    ), walk_steps=6, turn_deg=180.0, walk_between_blocks=True)
    sim = simulate_session(seed=2, rate_hz=50.0, routine=routine, cracks=False, confounders=False)
    turns = sim.truth.turns
    # one walk between the blocks, one to stand at the end, each with a U-turn
    assert len(turns) == 2 and all(t.heading_change_deg == 180.0 for t in turns)
    walk = next(p for p in sim.truth.postures if p.posture == "walking")
    assert sim.truth.reps[0].end_s < walk.t_start_s < walk.t_end_s < sim.truth.reps[1].start_s
    assert walk.t_start_s < turns[0].t_start_s < turns[0].t_end_s < walk.t_end_s
    # the body's heading really turns round
    from scipy.spatial.transform import Rotation
    a = sim.truth.angles
    i0, i1 = np.searchsorted(a["t_s"].to_numpy(), (walk.t_start_s, walk.t_end_s))
    q = a[["q_x", "q_y", "q_z", "q_w"]].to_numpy()[[i0, i1 - 1]]
    M = np.array(sim.truth.mounting.quat_wxyz)
    fwd = (Rotation.from_quat(q) * Rotation.from_quat([*M[1:], M[0]]).inv()).apply([1.0, 0.0, 0.0])
    heading = np.degrees(np.arctan2(fwd[:, 1], fwd[:, 0]))
    assert abs((heading[1] - heading[0]) % 360.0 - 180.0) < 8.0  # gait sways the pelvis ±4°
    back = GroundTruth.from_json(sim.truth.to_json(angles=False))
    assert back.turns == turns and back.reps == sim.truth.reps


def test_truth_files_written_before_plane_and_posture_still_read() -> None:
    sim = simulate_session(seed=0, rate_hz=25.0, minutes=1, cracks=False, confounders=False)
    d = sim.truth.to_json(angles=False)
    for r in d["reps"]:  # the old layout: posture held the simulator's position
        r["posture"] = r.pop("stance")
        for k in ("plane", "movement"):
            r.pop(k)
    d.pop("turns")
    back = GroundTruth.from_json(d)
    assert back.reps == sim.truth.reps


# ------------------------------------------------------------ analysis against truth
def _analyse(routine: Routine, mounting: str, rate_hz: float, seed: int):  # noqa: ANN202
    sim = simulate_session(seed=seed, rate_hz=rate_hz, routine=routine,
                           sensor=SensorModel(nominal_mounting=mounting, mounting_max_deg=15.0,
                                              lever_arm_m=L45_LEVER_ARM_M))
    res = process_session(sim.recording)
    # reps under 4° need not be found (issue 14: "down to about 4°"), as in bench_accuracy
    s = score([from_truth(r) for r in sim.truth.reps], [from_rep(r) for r in res.reps], optional_below_deg=4.0)
    print("\n" + format_score(s, f"{mounting} {rate_hz:.0f} Hz seed {seed}"))
    return sim, res, s


@pytest.fixture(scope="module")
def trunkyxl_like():  # noqa: ANN201
    return _analyse(Routine.trunkyxl(), "flat_back_x_down", 50.0, 11)


@pytest.fixture(scope="module")
def varied():  # noqa: ANN201
    return _analyse(Routine.varied(), "phone_upright_screen_in", 100.0, 12)


def test_trunkyxl_like_session_in_the_sensor_frame_finds_every_rep(trunkyxl_like) -> None:  # noqa: ANN001
    _, _, s = trunkyxl_like
    assert s.f1() >= 0.95, f"rep F1 {s.f1():.3f}"
    assert s.side_accuracy() >= 0.98 and s.exercise_accuracy >= 0.95


def test_varied_session_with_a_phone_screen_in_meets_the_targets(varied) -> None:  # noqa: ANN001
    _, _, s = varied
    assert s.f1() >= 0.95, f"rep F1 {s.f1():.3f}"
    assert s.exercise_accuracy >= 0.95, f"exercise {s.exercise_accuracy:.3f}"
    assert s.side_accuracy() >= 0.98, f"side {s.side_accuracy():.3f}"
    assert s.hold_mae_s <= 0.3 and s.peak_mae_deg <= 2.0


def test_u_turn_keeps_flexion_and_lateral_bend_sane_and_axial_follows_the_turn(varied) -> None:  # noqa: ANN001
    sim, res, _ = varied
    figs = turn_figures(sim.truth.turns, res.signals)
    assert figs, "no turn in the session"
    for f in figs:
        assert f.max_abs_flexion_deg <= 25.0 and f.max_abs_lateral_bend_deg <= 25.0, f
        assert math.isfinite(f.axial_change_deg) and f.axial_error_deg <= 10.0, f


@pytest.mark.parametrize("seed", [1, 3])
def test_a_standing_toe_touch_is_a_held_forward_bend_not_a_change_of_posture(seed: int) -> None:
    """Standing forward bends that tip the lower-back sensor 60–100° (the toe touch; its
    gravity then reads like all fours) are forward_bend repetitions with their holds,
    batch and live, and the angles keep the standing reference through them."""
    from live_synth import feed

    from tracker.live.analyzer import LiveAnalyzer

    toe = ExerciseSpec("forward_bend", (None,), 2, stance="standing", peak_deg=80.0, peak_deg_range=(60.0, 95.0),
                       speed_out_deg_s=25.0, speed_back_deg_s=30.0, hold_s=8.0, rest_s=3.0, hold_creep_deg=2.0,
                       coupling=0.05)
    routine = Routine(exercises=(ExerciseSpec("forward_bend", (None,), 1, peak_deg=20.0, hold_s=2.0, rest_s=2.0),
                                 toe), walk_steps=6, turn_deg=180.0)
    sim = simulate_session(seed=seed, rate_hz=100.0, routine=routine, cracks=False, confounders=False,
                           sensor=SensorModel(nominal_mounting="flat_back", lever_arm_m=L45_LEVER_ARM_M))
    truth = [r for r in sim.truth.reps if abs(r.peak_deg) > 45.0]
    assert len(truth) == 2 and all(r.stance == "standing" and r.hold_s > 4.0 for r in truth)
    res = process_session(sim.recording)
    live = LiveAnalyzer(sim.recording.sample_rate_hz)
    feed(live, sim.recording, batch=25)
    for how, reps in (("batch", res.reps), ("live", live.reps)):
        deep = [r for r in reps if abs(r.peak_deg) > 45.0]
        assert [(r.exercise, r.posture) for r in deep] == [("forward_bend", "upright")] * 2, (how, reps)
        for got, want in zip(deep, truth):
            assert got.peak_deg == pytest.approx(want.peak_deg, abs=2.0), how
            assert got.hold_s == pytest.approx(want.hold_s, abs=0.3), how
    sig = res.signals
    for r, want in zip([r for r in res.reps if abs(r.peak_deg) > 45.0], truth):  # one reference, sane angles
        m = (sig["t_s"] >= r.start_s) & (sig["t_s"] < r.end_s)
        assert sig.loc[m, "reference"].nunique() == 1
        assert sig.loc[m, "flexion_deg"].max() == pytest.approx(want.peak_deg, abs=2.5)
        assert sig.loc[m, "lateral_bend_deg"].abs().max() < 15.0
        assert set(sig.loc[m, "posture"]) == {"upright"}


def test_hold_follows_a_smooth_bell_shaped_movement_batch_and_live() -> None:
    """A person moving with a smooth (minimum-jerk-like) speed profile slows down long
    before the hold and speeds up gently after it: the hold is the plateau between the
    way out and the way back (as an independent simulator defines it), not the whole time
    spent below the hold's speed limit (that was 0.3 s early and 0.25 s late, 2-3 s on
    slow moves)."""
    from live_synth import feed

    from tracker.live.analyzer import LiveAnalyzer

    ex = (
        ExerciseSpec("seated_twist", ("left", "right"), 2, peak_deg=15.0, speed_out_deg_s=5.0,
                     speed_back_deg_s=6.0, hold_s=6.0, rest_s=3.0),
        ExerciseSpec("seated_twist", ("left", "right"), 1, peak_deg=12.0, speed_out_deg_s=10.0,
                     speed_back_deg_s=12.0, hold_s=4.0, rest_s=3.0),
    )
    routine = Routine(exercises=ex, settle_s=3.0, walk_steps=0, final_still_s=2.0, velocity_profile="bell")
    sim = simulate_session(seed=3, rate_hz=100.0, routine=routine, cracks=False, confounders=False)
    truth = [from_truth(r) for r in sim.truth.reps]
    assert all(r.hold_s is not None for r in truth)
    res = process_session(sim.recording)
    s = score(truth, [from_rep(r) for r in res.reps])
    assert s.f1() >= 0.99, format_score(s)
    assert s.hold_mae_s <= 0.3, format_score(s)
    live = LiveAnalyzer(sim.recording.sample_rate_hz)
    feed(live, sim.recording, batch=25)
    s_live = score(truth, [from_rep(r) for r in live.reps], compare_peaks=False)
    assert s_live.f1() >= 0.99, format_score(s_live)
    assert s_live.hold_mae_s <= 0.3, format_score(s_live)
