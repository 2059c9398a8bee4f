"""The committed example sessions (data/examples) and their loader, tracker.examples."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from tracker import examples
from tracker.errors import TrackerError
from tracker.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"


def _make_module():
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "data" / "make_examples.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_examples"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_manifest_matches_the_files_and_stays_small() -> None:
    table = examples.sessions()
    assert len(table) >= 12
    assert table["started_at"].is_monotonic_increasing
    assert (table["started_at"].iloc[-1] - table["started_at"].iloc[0]).days >= 5 * 7  # a few weeks
    for row in table.itertuples():
        data = (EXAMPLES / f"{row.name}.zip").read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256
        assert (EXAMPLES / f"{row.name}.truth.json").is_file()
    names = {p.name for p in EXAMPLES.iterdir()}
    expected = {"sessions.csv"} | {f"{n}{ext}" for n in table["name"] for ext in (".zip", ".truth.json")}
    assert names == expected, "stray or missing files in data/examples"
    assert sum(p.stat().st_size for p in EXAMPLES.iterdir()) < 5e6


def test_recordings_load_with_manifest_metadata_and_truth_agrees() -> None:
    table = examples.sessions()
    for row in table.iloc[[0, -1]].itertuples():
        rec = examples.load_recording(row.name)
        assert len(rec) == row.n_samples
        assert rec.meta.started_at == row.started_at.to_pydatetime()
        assert rec.meta.nominal_rate_hz == 100.0 and rec.meta.device == examples.DEVICE == row.device
        assert abs(1 / np.median(np.diff(rec.t_s)) - 100.0) < 1.0
        g = np.linalg.norm(rec.acc_m_s2[:200].mean(axis=0))  # the neutral still period
        assert abs(g - 9.80665) < 0.3
        truth = examples.load_truth(row.name)
        assert len(truth.reps) == row.n_reps and len(truth.cracks) == row.n_cracks
        assert truth.angles["t_s"].iloc[-1] == pytest.approx(rec.t_s[-1], abs=0.2)


def test_a_changed_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for p in EXAMPLES.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    name = examples.sessions().name[0]
    (tmp_path / f"{name}.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    monkeypatch.setenv("TRACKER_EXAMPLES_DIR", str(tmp_path))
    with pytest.raises(TrackerError, match="do not match sessions.csv"):
        examples.load_recording(name)
    with pytest.raises(TrackerError, match="no example session 'nope'"):
        examples.load_recording("nope")
    monkeypatch.setenv("TRACKER_EXAMPLES_DIR", str(tmp_path / "missing"))
    with pytest.raises(TrackerError, match="TRACKER_EXAMPLES_DIR"):
        examples.sessions()


def test_import_into_a_store_sets_dates_and_pain_once(tmp_path: Path) -> None:
    table = examples.sessions()
    names = list(table["name"][:3])
    with Store.open(tmp_path / "home") as store:
        ids = examples.import_into(store, names)
        again = examples.import_into(store, names)
        assert ids == again
        infos = store.sessions()
        assert len(infos) == 3
        for row, info in zip(table.iloc[:3].itertuples(), infos, strict=True):
            assert info.id == ids[row.name]
            assert info.started_at == row.started_at.to_pydatetime()
            rep = store.self_report(info.id)
            assert (rep["pain_before"], rep["pain_after"]) == (row.pain_before, row.pain_after)


def test_generator_is_deterministic_and_follows_its_plan(tmp_path: Path) -> None:
    mod = _make_module()
    plan = mod.plan_sessions()
    assert plan == mod.plan_sessions()
    name = plan[0]["name"]
    rows_a = mod.make(tmp_path / "a", [name])
    rows_b = mod.make(tmp_path / "b", [name])
    assert rows_a == rows_b
    assert (tmp_path / "a" / f"{name}.zip").read_bytes() == (tmp_path / "b" / f"{name}.zip").read_bytes()
    # The committed manifest lists the same sessions, dates, seeds and pain the plan makes.
    table = examples.sessions()
    assert list(table["name"]) == [p["name"] for p in plan]
    assert list(table["seed"]) == [p["seed"] for p in plan]
    assert list(table["pain_before"]) == [p["pain_before"] for p in plan]
    # Later weeks stretch further and hold longer (what the progress notebook shows).
    rng = np.random.default_rng(0)
    first, last = mod.routine_for(0, rng), mod.routine_for(mod.WEEKS - 1, rng)
    for a, b in zip(first.exercises, last.exercises, strict=True):
        assert b.peak_deg > a.peak_deg and b.hold_s > a.hold_s
