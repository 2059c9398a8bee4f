"""What another simulator or a real part may do differently (issue 14; the sweep is
``benchmarks/bench_stress.py``): each test a short session with one such difference."""

from __future__ import annotations

import dataclasses

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


def test_a_recording_that_starts_inside_quick_twists_keeps_them() -> None:
    # TrunkyXL-like: quick twists out and back with short pauses, the recording cut inside
    # the first one. A twist leaves gravity and the net turn where they were, so a still
    # period must not run on through it (its 'noise' would make every twist too small)
    rng = np.random.default_rng(5010)  # bench_accuracy's sensor: noise and lever arm drawn
    sensor = SensorModel(nominal_mounting="flat_back", mounting_max_deg=15.0,
                         gyr_noise_density=float(rng.uniform(1.5e-4, 4e-4)),
                         acc_noise_density=float(rng.uniform(1.8e-3, 3.5e-3)),
                         lever_arm_m=(float(rng.uniform(-0.17, -0.06)), 0.0, float(rng.uniform(0.06, 0.18))))
    sim = simulate_session(seed=5010, rate_hz=100.0, routine=Routine.trunkyxl(), sensor=sensor)
    first, *truth = sim.truth.reps
    cut = 0.5 * (first.start_s + first.peak_s)
    rec = sim.recording
    i = int(np.searchsorted(rec.t_s, cut))
    res = process_session(Recording(rec.t_s[i:] - rec.t_s[i], rec.acc_m_s2[i:], rec.gyr_rad_s[i:], None, rec.meta))
    cal = res.summary.calibration
    shifted = [dataclasses.replace(e, start_s=e.start_s - cut, end_s=e.end_s - cut, peak_s=e.peak_s - cut)
               for e in map(from_truth, truth)]
    found = [f for f in map(from_rep, res.reps) if f.centre_s >= shifted[0].start_s - 0.5]
    s = score(shifted, found, optional_below_deg=3.0)
    assert s.recall() >= 0.9 and s.precision() >= 0.9, (s, cal)
    # the neutral still period holds no repetition
    assert not any(e.start_s < cal["neutral_end_s"] and cal["neutral_start_s"] < e.end_s for e in shifted), cal
