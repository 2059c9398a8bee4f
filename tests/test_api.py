"""The research API: ``import tracker`` then read / analyze / plot_session / from_arrays."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import tracker
from tracker import schema
from tracker.csvio import write_raw_csv
from tracker.errors import ValidationError
from tracker.routine import Routine
from tracker.simulate import simulate_session

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sim():
    return simulate_session(seed=3, rate_hz=100.0, routine=Routine.short())


def test_import_tracker_stays_light() -> None:
    code = ("import json, sys, tracker; "
            "print(json.dumps([m for m in ('pandas', 'scipy', 'matplotlib', 'vqf', 'sqlite3')"
            " if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert json.loads(out.stdout) == []


def test_read_analyze_plot_tabulate(sim, tmp_path: Path) -> None:
    path = write_raw_csv(sim.recording, tmp_path / "s.csv")
    rec = tracker.read(path)
    np.testing.assert_allclose(rec.acc_m_s2, sim.recording.acc_m_s2, rtol=1e-8)
    res = tracker.analyze(rec)
    assert len(res.reps) == len(tracker.analyze(path).reps) > 0  # a path works too
    reps = res.reps_frame()
    assert list(reps.columns) == list(schema.REP_COLUMNS) and len(reps) == len(res.reps)
    fig = tracker.plot_session(res)
    assert isinstance(fig, Figure) and fig.axes


def test_from_arrays_converts_the_named_units(sim) -> None:
    r = sim.recording
    g = r.acc_m_s2 / schema.STANDARD_GRAVITY_M_S2
    rec = tracker.from_arrays(acc_g=g, gyr_deg_s=np.rad2deg(r.gyr_rad_s), t_s=r.t_s, mag_uT=r.mag_uT)
    np.testing.assert_allclose(rec.acc_m_s2, r.acc_m_s2, rtol=1e-12)
    np.testing.assert_allclose(rec.gyr_rad_s, r.gyr_rad_s, rtol=1e-12)
    even = tracker.from_arrays(acc_m_s2=r.acc_m_s2, gyr_rad_s=r.gyr_rad_s, sampling_rate_hz=50.0)
    assert even.t_s[1] == pytest.approx(0.02) and even.meta.nominal_rate_hz == 50.0


@pytest.mark.parametrize("kwargs, match", [
    ({"acc_g": np.zeros((5, 3)), "acc_m_s2": np.zeros((5, 3)), "gyr_rad_s": np.zeros((5, 3)),
      "sampling_rate_hz": 10.0}, "acc data once"),
    ({"gyr_rad_s": np.zeros((5, 3)), "sampling_rate_hz": 10.0}, "acc data once"),
    ({"acc_g": np.zeros((5, 3)), "gyr_deg_s": np.zeros((5, 3))}, "sampling_rate_hz"),
    ({"acc_g": np.zeros((5, 3)), "gyr_deg_s": np.zeros((5, 2)), "sampling_rate_hz": 10.0}, "gyr must have shape"),
])
def test_from_arrays_says_what_is_wrong(kwargs, match) -> None:
    with pytest.raises(ValidationError, match=match):
        tracker.from_arrays(**kwargs)


def test_from_frame_maps_other_column_names(sim) -> None:
    r = sim.recording
    df = pd.DataFrame({"time": r.t_s, **{f"a{k}": r.acc_m_s2[:, i] / schema.STANDARD_GRAVITY_M_S2
                                         for i, k in enumerate("xyz")},
                       **{f"w{k}": np.rad2deg(r.gyr_rad_s[:, i]) for i, k in enumerate("xyz")}})
    cols = {"time": "t_s", "ax": "acc_x_g", "ay": "acc_y_g", "az": "acc_z_g",
            "wx": "gyr_x_deg_s", "wy": "gyr_y_deg_s", "wz": "gyr_z_deg_s"}
    rec = tracker.Recording.from_frame(df, columns=cols, device="my-logger")
    np.testing.assert_allclose(rec.acc_m_s2, r.acc_m_s2, rtol=1e-12)
    assert rec.meta.device == "my-logger" and not rec.has_mag
    # our own column names need no mapping (the CSV contract)
    assert len(tracker.Recording.from_frame(r.to_frame())) == len(r)
    with pytest.raises(ValidationError, match=r"missing columns: gyr_x/y/z_rad_s or gyr_x/y/z_deg_s"):
        tracker.Recording.from_frame(df, columns={k: v for k, v in cols.items() if not k.startswith("w")})
    with pytest.raises(ValidationError, match="unknown names"):
        tracker.Recording.from_frame(df, columns={**cols, "time": "time_ms"})
    with pytest.raises(ValidationError, match="not in the frame"):
        tracker.Recording.from_frame(df, columns={**cols, "t": "t_s"})
