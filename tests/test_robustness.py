"""What another simulator or a real part may do differently (issue 14; the sweep is
``benchmarks/bench_stress.py``): each test a short session with one such difference."""

from __future__ import annotations


import numpy as np
from rep_scoring import from_rep, from_truth, score, turn_figures

from tracker.recording import Recording
from tracker.routine import ExerciseSpec, Routine
from tracker.signal.process import process_session
from tracker.simulate import SensorModel, simulate_session


def _twists_and_a_turn() -> Routine:
    """Small quick seated twists, a 180° U-turn walk, small side bends."""
    twist = ExerciseSpec("twist", ("left", "right") * 2, 1, peak_deg=7.0, peak_deg_range=(5.0, 9.0),
                         speed_out_deg_s=9.0, speed_back_deg_s=10.0, hold_s=0.0, rest_s=0.8,
                         hold_creep_deg=0.0, coupling=0.4)
    side = ExerciseSpec("side_bend", ("left", "right"), 2, peak_deg=6.0, speed_out_deg_s=6.0,
                        speed_back_deg_s=8.0, hold_s=2.0, rest_s=1.0, hold_creep_deg=0.2, coupling=0.4)
    return Routine(exercises=(twist, side), settle_s=2.0, walk_steps=8, final_still_s=2.0, turn_deg=180.0,
                   walk_between_blocks=True)


def test_a_gyro_bias_of_a_few_deg_per_s_is_estimated_not_left_in_the_angles() -> None:
    # consumer parts: zero-rate offsets of ±3 °/s (BMI160) to ±10 °/s (LSM6DS3); VQF's own
    # clip of 2 °/s left the rest in: reps missed and a U-turn read as a deep bend
    sensor = SensorModel(nominal_mounting="flat_back", gyr_bias_std_rad_s=0.0)
    sim = simulate_session(seed=3, rate_hz=104.0, routine=_twists_and_a_turn(), sensor=sensor)
    rec = sim.recording
    bias = np.deg2rad([3.0, -3.0, 2.5])
    rec = Recording(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s + bias, rec.mag_uT, rec.meta)
    res = process_session(rec)
    s = score([from_truth(r) for r in sim.truth.reps], [from_rep(r) for r in res.reps])
    assert s.recall() >= 0.9 and s.precision() >= 0.9, s
    assert s.side_accuracy() == 1.0
    turns = turn_figures(sim.truth.turns, res.signals)
    assert turns
    for turn in turns:
        assert turn.max_abs_flexion_deg <= 25 and turn.max_abs_lateral_bend_deg <= 25, turn
        assert turn.axial_error_deg <= 10, turn
