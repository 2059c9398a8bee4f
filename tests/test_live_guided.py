"""The guided routine advances when the person does the step, and only then."""

from __future__ import annotations

import pytest

from live_synth import still_recording, twist_recording
from tracker.live.analyzer import LiveAnalyzer
from tracker.live.guided import GuidedRoutine, build_steps
from tracker.routine import ExerciseSpec, Routine
from tracker.simulate import simulate_session


def drive(guided: GuidedRoutine, rec, batch: int = 25, every: list | None = None) -> LiveAnalyzer:
    """Feed ``rec`` through a live analyser into ``guided`` (optionally recording each view)."""
    live = LiveAnalyzer(rec.sample_rate_hz)
    for k in range(0, len(rec), batch):
        ev = live.feed(rec.t_s[k:k + batch], rec.acc_m_s2[k:k + batch], rec.gyr_rad_s[k:k + batch])
        guided.update(live.t_s, ev, calibrated=live.calibrated, posture=live.posture,
                      ready=live.angles_deg is not None, in_rep=live.in_rep, hold_s=live.hold_s)
        if every is not None:
            every.append((live.t_s, guided.view()))
    return live


ROUTINE = Routine(
    exercises=(
        ExerciseSpec("chair_backbend", (None,), 2, peak_deg=22.0, hold_s=4.0, rest_s=3.0),
        ExerciseSpec("seated_twist", ("left", "right"), 1, peak_deg=15.0, hold_s=5.0, rest_s=3.0),
        ExerciseSpec("trunk_rotation", ("right",), 1, peak_deg=25.0, hold_s=5.0, rest_s=3.0),
    ),
    walk_steps=2, variability=0.0,
)


def test_steps_follow_the_routine_with_sides_positions_and_rests():
    steps = build_steps(ROUTINE)
    assert [(s.kind, s.exercise, s.side) for s in steps] == [
        ("calibrate", None, None),
        ("rep", "chair_backbend", None), ("rest", "chair_backbend", None), ("rep", "chair_backbend", None),
        ("rep", "seated_twist", "left"), ("rest", "seated_twist", "left"), ("rep", "seated_twist", "right"),
        ("position", "trunk_rotation", None), ("rep", "trunk_rotation", "right"),
        ("done", None, None),
    ]
    twist_right = steps[6]
    assert twist_right.switch_side and "other side" in twist_right.instruction
    assert "to the right" in twist_right.instruction and twist_right.hold_s == 5.0
    # trunk rotation to the right: the bent LEFT leg goes across (design.md's side rule)
    assert "left knee" in steps[8].instruction and steps[8].position == "supine"
    assert build_steps()[0].kind == "calibrate" and build_steps()[-1].kind == "done"


def test_a_person_doing_the_routine_walks_through_every_step():
    sim = simulate_session(seed=4, routine=ROUTINE)
    guided = GuidedRoutine(ROUTINE)
    drive(guided, sim.recording)
    assert guided.done
    reps = [s for s in guided.completed if s["kind"] == "rep"]
    assert len(reps) == len(sim.truth.reps) == 5
    assert not any(s.get("skipped") for s in guided.completed)
    for step, truth in zip(reps, sim.truth.reps):
        assert step["peak_deg"] == pytest.approx(truth.peak_deg, abs=3.0)
        assert truth.start_s < step["t_s"] < truth.end_s + 2.0  # completed when it was done
    position = next(s for s in guided.completed if s["kind"] == "position")
    lying = next(p for p in sim.truth.postures if p.posture == "supine")
    assert lying.t_start_s < position["t_s"] < lying.t_end_s


def test_the_wrong_side_does_not_count_and_says_why():
    routine = Routine(exercises=(ExerciseSpec("seated_twist", ("left", "right"), 1, hold_s=4.0, rest_s=2.0),))
    rec, _ = twist_recording(peak_deg=18.0, hold_s=4.0, n_twists=3, gap_s=4.0)  # left, left, left
    guided = GuidedRoutine(routine)
    drive(guided, rec)
    assert not guided.done
    assert guided.step.kind == "rep" and guided.step.side == "right"
    assert "to the left" in guided.note and "does not count" in guided.note
    assert [s["kind"] for s in guided.completed] == ["calibrate", "rep", "rest"]


def test_nothing_advances_while_the_person_does_nothing():
    guided = GuidedRoutine(ROUTINE)
    drive(guided, still_recording(40.0))
    assert guided.index == 1 and guided.step.kind == "rep"  # calibrated, then waiting
    view = guided.view()
    assert view.waiting_for == "repetition" and not view.done


def test_hold_counts_down_then_asks_to_come_back():
    routine = Routine(exercises=(ExerciseSpec("seated_twist", ("left",), 1, hold_s=5.0, rest_s=2.0),))
    rec, [(t0, _)] = twist_recording(peak_deg=18.0, speed_deg_s=18.0, hold_s=9.0)
    guided = GuidedRoutine(routine)
    views: list = []
    drive(guided, rec, batch=10, every=views)
    holds = [(t, v.countdown_s) for t, v in views if v.waiting_for == "hold" and v.countdown_s is not None]
    assert holds, "no hold countdown shown"
    left = [c for _, c in holds]
    assert left == sorted(left, reverse=True) and min(left) < 1.0 and max(left) > 3.0
    back = [t for t, v in views if v.waiting_for == "return"]
    hold_start = t0 + 18.0 / 18.0 * 3.14159 / 2
    assert back and back[0] == pytest.approx(hold_start + 5.0, abs=1.0)
    assert guided.done


def test_rest_ends_on_time_and_skip_moves_on():
    routine = Routine(exercises=(ExerciseSpec("chair_backbend", (None,), 2, hold_s=3.0, rest_s=4.0),))
    guided = GuidedRoutine(routine)
    guided.update(0.0, [], calibrated=True, posture="upright", ready=True, in_rep=False, hold_s=None)
    guided.skip(1.0)  # first repetition could not be done
    assert guided.step.kind == "rest" and guided.completed[-1]["skipped"]
    guided.update(2.0, [], calibrated=True, posture="upright", ready=True, in_rep=False, hold_s=None)
    assert guided.view().countdown_s == pytest.approx(3.0)
    guided.update(5.1, [], calibrated=True, posture="upright", ready=True, in_rep=False, hold_s=None)
    assert guided.step.kind == "rep" and guided.step.rep_no == 2


def test_steps_of_generic_movements_take_the_routines_position_and_the_analysers_names():
    from tracker.live.guided import hold_targets

    routine = Routine(exercises=(
        ExerciseSpec("twist", ("left", "right"), 1, peak_deg=8.0, hold_s=0.0, rest_s=0.5),
        ExerciseSpec("back_bend", (None,), 1, stance="all_fours", peak_deg=12.0, hold_s=2.0),
        ExerciseSpec("side_bend", ("right",), 1, stance="standing", peak_deg=10.0, hold_s=3.0),
    ))
    steps = GuidedRoutine(routine).steps
    reps = [(s.exercise, s.side, s.position) for s in steps if s.kind == "rep"]
    assert reps == [("seated_twist", "left", "upright"), ("seated_twist", "right", "upright"),
                    ("back_bend", None, "all_fours"), ("side_bend", "right", "upright")]
    assert any(s.kind == "position" and s.position == "all_fours" for s in steps)
    assert hold_targets(routine) == {"seated_twist": 0.0, "back_bend": 2.0, "side_bend": 3.0}
