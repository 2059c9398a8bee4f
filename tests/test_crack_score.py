"""The crack score's fitted model (tracker.signal.crack_score, issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.signal.crack_score import LINEAR_ONLY, QuadraticLogit, ScoreModel, load_score_model, quadratic_terms
from tracker.signal.spikes import SCORE_FEATURES


def test_quadratic_terms_are_each_feature_then_the_products_of_the_quadratic_ones():
    z = np.array([[2.0, 3.0, 5.0]])
    t = quadratic_terms(z, np.array([0, 2]))
    assert t.tolist() == [[2.0, 3.0, 5.0, 4.0, 10.0, 25.0]]
    assert quadratic_terms(z, np.zeros(0, dtype=int)).tolist() == z.tolist()


def _model(rate: float, intercept: float) -> QuadraticLogit:
    return QuadraticLogit(rate_hz=rate, quadratic=np.array([0]), low=np.array([-1.0, -1.0]), high=np.array([1.0, 1.0]),
                          mean=np.zeros(2), scale=np.ones(2), intercept=intercept, weights=np.array([1.0, 0.0, 2.0]))


def test_log_odds_are_interpolated_in_log_rate_and_held_beyond_the_fitted_rates():
    m = ScoreModel(features=("a", "b"), with_gyro=(_model(100.0, 0.0), _model(400.0, 4.0)),
                   no_gyro=(_model(100.0, -1.0), _model(400.0, -1.0)))
    x = np.array([[0.5, 0.0]])  # 0.5 + 2 * 0.25 = 1.0 above the intercept
    assert m.log_odds(x, 100.0)[0] == pytest.approx(1.0)
    assert m.log_odds(x, 200.0)[0] == pytest.approx(3.0)  # halfway in log2 rate
    assert m.log_odds(x, 50.0)[0] == pytest.approx(1.0) and m.log_odds(x, 1000.0)[0] == pytest.approx(5.0)
    assert m.log_odds(x, 200.0, gyro=False)[0] == pytest.approx(0.0)
    # clipped to the tuning spikes' range: a feature far beyond it counts as its edge
    assert m.log_odds(np.array([[50.0, 0.0]]), 100.0)[0] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="re-run benchmarks/tune_cracks.py"):
        m.log_odds(np.zeros((1, 3)), 100.0)


def test_model_file_round_trips_and_matches_the_features():
    m = load_score_model()
    assert m.features == tuple(n for n, _, _ in SCORE_FEATURES)
    assert ScoreModel.from_json(m.to_json()).to_json() == m.to_json()
    assert [q.rate_hz for q in m.with_gyro] == [50.0, 100.0, 200.0, 400.0]


def test_size_rotation_and_walking_enter_alone_and_only_count_against_a_pop():
    m = load_score_model()
    for name in LINEAR_ONLY:
        i = m.features.index(name)
        for q in m.with_gyro:
            assert i not in q.quadratic
            if name != "log_snr":  # a weak spike on a raised background is buzz or a step
                assert q.weights[i] < 0, (name, q.rate_hz)
    for q in m.no_gyro:  # without the gyroscope the score stays linear (real bumps, see CrackParams)
        assert q.quadratic.size == 0


def test_the_rate_note_gives_the_measured_recall_and_threshold_of_each_recording_kind():
    from tracker.signal.spikes import MEASURED_RECALL, CrackParams, detection_limits, detection_note_for

    cp = CrackParams()
    note = detection_note_for([(200.0, True), (199.97, True), (100.0, False), (float("nan"), True)])
    assert note.startswith("For the sessions in this report: at 100 Hz without a gyroscope")
    assert f"crack score of {cp.threshold_at(100.0, gyro=False):.3g}" in note  # 0.97, not the 0.9 with one
    assert f"at 200 Hz the motion sensor alone finds about {MEASURED_RECALL[200.0][0]:.0%}" in note
    assert note.count("at 200 Hz") == 1 and "nan" not in note  # one clause per rate and kind
    assert "fewer pops are found than" in note
    assert detection_limits(200.0, True) in note and detection_limits(float("nan"), True) == ""
    # between measured rates: the nearest one, said so, and the interpolated threshold
    note = detection_note_for([(104.0, True)])
    assert "(measured at 100 Hz)" in note and f"{cp.threshold_at(104.0):.3g}." in note
    # a phone's jittery rates near a measured one are one kind, "about" that rate
    note = detection_note_for([(99.5, True), (100.8, True)])
    assert note.count("; ") == 0 and "at about 100 Hz the motion sensor alone" in note
    # a fast stream is judged on block means at the rates the score was fitted at
    assert "1600 Hz (judged at 400 Hz)" in detection_note_for([(1600.0, True)])
    # far below the slowest measured rate nothing is promised
    assert "too short to see" in detection_note_for([(10.0, True)])
    assert detection_note_for([]) == "" and detection_note_for([(float("nan"), True)]) == ""
