"""``tracker analyze``: CSV files and stored sessions, JSON contract, angles CSV, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.csvio import write_raw_csv
from tracker.sessions import load_analysis
from tracker.signal import ANALYSIS_VERSION, SessionAnalysis
from tracker.simulate import simulate_session
from tracker.store import Store


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def sim():  # noqa: ANN201
    return simulate_session(seed=5, rate_hz=50.0, minutes=1)


def test_analyze_csv_json_contract(sim, tmp_path: Path) -> None:  # noqa: ANN001
    csv = write_raw_csv(sim.recording, tmp_path / "session.csv")
    out = tmp_path / "angles.csv"
    result = run("analyze", str(csv), "--json", "--angles-csv", str(out))
    assert result.exit_code == 0, result.output
    js = json.loads(result.stdout)  # stdout holds the JSON only
    assert list(js) == ["session", "reps", "spikes", "cracks", "summary"]
    assert js["session"]["id"] is None
    assert js["session"]["duration_s"] == pytest.approx(sim.recording.duration_s, abs=0.01)
    got = [(r["exercise"], r["side"]) for r in js["reps"]]
    assert got == [(r.exercise, r.side) for r in sim.truth.reps]
    header = out.read_text().splitlines()[0]
    assert header == "t_s,flexion_deg,lateral_bend_deg,axial_rotation_deg,q_w,q_x,q_y,q_z,reference"
    assert len(out.read_text().splitlines()) == len(sim.recording) + 1


def test_analyze_stored_session_saves_result(sim, data_dir: Path) -> None:  # noqa: ANN001
    store = Store.open(data_dir)
    sid = store.import_recording(sim.recording, notes="sim")
    store.close()
    result = run("analyze", sid[:10], "--no-store")
    assert result.exit_code == 0, result.output
    assert "chair_backbend" in result.output and "possible" in result.output
    assert "not a diagnosis" in result.output
    # what the detection sees at this rate, next to the possible cracks (a 50 Hz recording)
    from tracker.signal.spikes import MEASURED_RECALL

    assert (f"at 50 Hz the motion sensor alone finds about {MEASURED_RECALL[50.0][0]:.0%} of simulated pops, "
            "and a possible crack needs a crack score of 0.9") in result.output
    with Store.open(data_dir) as store:
        assert load_analysis(store, sid) is None  # --no-store kept it out
    result = run("analyze", "latest", "--json")
    assert result.exit_code == 0
    js = json.loads(result.stdout)
    assert js["session"]["id"] == sid
    with Store.open(data_dir) as store:
        saved = SessionAnalysis.from_events_json(store.load_analysis(sid, ANALYSIS_VERSION))
    assert saved is not None and len(saved.reps) == len(js["reps"])
    assert saved.summary.n_reps == js["summary"]["n_reps"]


def test_analyze_errors_are_one_line(data_dir: Path, tmp_path: Path) -> None:
    result = run("analyze", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and result.output.strip() == f"error: no such file: {tmp_path / 'missing.csv'}"
    result = run("analyze", "nosuchsession")
    assert result.exit_code == 1 and result.output.startswith("error: no session 'nosuchsession'")
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,acc_x_m_s2\n0,1\n")
    result = run("analyze", str(bad))
    assert result.exit_code == 1 and result.output.startswith("error: ") and "Traceback" not in result.output
