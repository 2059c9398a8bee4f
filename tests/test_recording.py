import numpy as np
import pytest

from tracker.errors import ValidationError
from tracker.recording import Recording

from helpers import still_recording


def test_valid_recording_properties() -> None:
    rec = still_recording(1000, 200.0)
    assert len(rec) == 1000
    assert rec.achieved_rate_hz == pytest.approx(200.0)
    assert rec.duration_s == pytest.approx(999 / 200)
    assert not rec.has_mag
    assert rec.to_frame().columns[0] == "t_s"


def test_inputs_are_copied_and_read_only() -> None:
    t = np.arange(3.0)
    acc = np.zeros((3, 3))
    rec = Recording(t, acc, np.zeros((3, 3)))
    acc[0, 0] = 5.0
    assert rec.acc_m_s2[0, 0] == 0.0
    with pytest.raises(ValueError):
        rec.acc_m_s2[0, 0] = 1.0


@pytest.mark.parametrize(
    ("t", "acc", "gyr", "message"),
    [
        ([0, 1, 1], np.zeros((3, 3)), np.zeros((3, 3)), "duplicate time at sample 2"),
        ([0, 2, 1], np.zeros((3, 3)), np.zeros((3, 3)), "non-monotonic time at sample 2"),
        ([0, 1, 2], np.zeros((3, 2)), np.zeros((3, 3)), r"acc must have shape \(N, 3\)"),
        ([0, 1, 2], np.zeros((2, 3)), np.zeros((3, 3)), "acc has 2 rows but t_s has 3"),
        ([0, 1, np.nan], np.zeros((3, 3)), np.zeros((3, 3)), "t_s is NaN or infinite at sample 2"),
        ([0, 1, 2], [[0, 0, 0], [0, np.inf, 0], [0, 0, 0]], np.zeros((3, 3)), "acc is NaN or infinite at sample 1"),
        ([0, 1, 2], [[0, 0, 0], [0, 0, 600], [0, 0, 0]], np.zeros((3, 3)), "acc at sample 1 .* beyond the physical limit"),
        ([0, 1, 2], np.zeros((3, 3)), [[0, 0, 0], [0, 0, 0], [41, 0, 0]], "gyr at sample 2 .* beyond"),
    ],
)
def test_validation_names_problem_and_sample(t, acc, gyr, message) -> None:
    with pytest.raises(ValidationError, match=message):
        Recording(np.asarray(t, float), acc, gyr)


def test_concat_and_slice_round_trip() -> None:
    rec = still_recording(300, mag=True)
    again = Recording.concat([rec.slice(0, 100), rec.slice(100, 300)])
    np.testing.assert_array_equal(again.to_array(), rec.to_array())
    assert again.has_mag


def test_repr_summarises_instead_of_dumping_the_arrays() -> None:
    import numpy as np

    from tracker import Recording

    rec = Recording(np.arange(1000) / 100.0, np.tile([0.0, 0.0, 9.81], (1000, 1)), np.full((1000, 3), 0.01))
    text = repr(rec)
    assert text.startswith("Recording(1000 samples, 10.0 s, 100.0 Hz, acc+gyr")
    assert len(text) < 200 and "array" not in text
