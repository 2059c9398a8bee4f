"""The scoring rule shared by the real-data and simulator evaluations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rep_scoring import Event, TurnFigures, from_trunkyxl_label, match, score, turn_figures
from tracker.simulate import TruthTurn


def ev(plane: str, sign: float, start: float, peak: float, end: float, **kw: object) -> Event:
    return Event(plane=plane, direction=sign, start_s=start, end_s=end, peak_s=peak, **kw)


def test_match_is_one_to_one_within_kind_and_window_closest_first() -> None:
    truth = [ev("axial_rotation", 1, 0.0, 1.0, 2.0, side="left"),
             ev("axial_rotation", -1, 2.2, 3.0, 4.0, side="right"),
             ev("flexion", -1, 5.0, 6.0, 7.0)]
    found = [ev("axial_rotation", 1, 0.1, 1.1, 2.1, side="left"),
             ev("axial_rotation", 1, 0.5, 1.4, 2.0, side="left"),   # a second find of rep 0
             ev("axial_rotation", -1, 2.2, 3.1, 4.0, side="left"),  # wrong side, still a twist
             ev("flexion", 1, 5.0, 6.0, 7.0),                         # forward, not the back bend
             ev("lateral_bend", 1, 9.0, 9.5, 10.0, side="right")]     # nothing there
    assert match(truth, found) == [(0, 0), (1, 2)]
    s = score(truth, found, compare_exercise=False)
    assert s.recall("twist") == 1.0 and s.precision("twist") == pytest.approx(2 / 3)
    assert s.recall("back_bend") == 0.0 and s.precision("forward_bend") == 0.0
    assert math.isnan(s.recall("side_bend")) and s.precision("side_bend") == 0.0
    assert s.side_accuracy("twist") == 0.5
    assert s.f1() == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))
    assert len(s.unmatched_truth) == 1 and len(s.unmatched_found) == 3


def test_hold_error_counts_missed_and_made_up_holds_not_quick_reps() -> None:
    truth = [ev("flexion", -1, 0, 3, 10, hold_s=6.0, peak_deg=-20.0),
             ev("flexion", -1, 20, 21, 22, hold_s=None, peak_deg=-10.0),
             ev("flexion", -1, 30, 31, 32, hold_s=None, peak_deg=-10.0)]
    found = [ev("flexion", -1, 0, 3, 10, hold_s=5.5, peak_deg=-21.0),
             ev("flexion", -1, 20, 21, 22, hold_s=1.0, peak_deg=-9.0),
             ev("flexion", -1, 30, 31, 32, hold_s=None, peak_deg=-10.5)]
    s = score(truth, found)
    assert s.hold_mae_s == pytest.approx((0.5 + 1.0) / 2)
    assert s.peak_mae_deg == pytest.approx((1.0 + 1.0 + 0.5) / 3)


def test_trunkyxl_labels_take_design_signs_and_trial_time() -> None:
    left = from_trunkyxl_label({"direction": "left", "start_s": 1.0, "peak_s": 2.0, "end_s": 3.0,
                                "approx_sensor_peak_deg": 7.0}, plane="axial_rotation", offset_s=20.0)
    assert (left.kind, left.direction, left.side, left.start_s, left.peak_s) == ("twist", 1.0, "left", 21.0, 22.0)
    left_bend = from_trunkyxl_label({"direction": "left", "start_s": 0, "peak_s": 1, "end_s": 2},
                                    plane="lateral_bend", offset_s=0.0)
    assert left_bend.direction == -1.0  # positive lateral bend = right
    ext = from_trunkyxl_label({"direction": "extension", "start_s": 0, "peak_s": 1, "end_s": 2},
                              plane="flexion", offset_s=0.0)
    assert ext.kind == "back_bend" and ext.side is None


def test_turn_figures_take_the_axial_change_modulo_360() -> None:
    t = [i / 10 for i in range(60)]
    axial = [0.0 if x < 2.0 else (178.0 if x >= 4.0 else 90.0) for x in t]
    frame = pd.DataFrame({"t_s": t, "flexion_deg": [3.0] * 60, "lateral_bend_deg": [-30.0] * 60,
                          "axial_rotation_deg": [a - 360.0 if a > 170 else a for a in axial]})
    (f,) = turn_figures([TruthTurn(t_start_s=2.0, t_end_s=4.0, heading_change_deg=180.0)], frame)
    assert f.axial_change_deg == pytest.approx(-182.0)
    assert f.axial_error_deg == pytest.approx(2.0)
    assert (f.max_abs_flexion_deg, f.max_abs_lateral_bend_deg) == (3.0, 30.0)
    assert TurnFigures(turn_deg=-90.0, max_abs_flexion_deg=0, max_abs_lateral_bend_deg=0,
                       axial_change_deg=260.0).axial_error_deg == pytest.approx(10.0)


def test_reps_below_the_optional_size_cost_nothing_either_way() -> None:
    truth = [ev("lateral_bend", 1, 0, 1, 2, peak_deg=2.0, side="right"),
             ev("lateral_bend", -1, 3, 4, 5, peak_deg=-2.5, side="left"),
             ev("lateral_bend", 1, 6, 7, 8, peak_deg=6.0, side="right")]
    found = [ev("lateral_bend", 1, 0, 1, 2, peak_deg=2.1, side="right"),
             ev("lateral_bend", 1, 6, 7, 8, peak_deg=5.8, side="right")]
    strict = score(truth, found)
    assert (strict.recall(), strict.precision()) == (pytest.approx(2 / 3), 1.0)
    lenient = score(truth, found, optional_below_deg=4.0)
    assert (lenient.recall(), lenient.precision(), lenient.n_truth["side_bend"]) == (1.0, 1.0, 1)
