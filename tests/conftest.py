"""Shared fixtures: a fresh data directory per test, BROAD location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from snapshot import Snapshot

REPO = Path(__file__).resolve().parents[1]
BROAD_DIR = Path(os.environ.get("TRACKER_BROAD_DIR", REPO.parent / "shared" / "data" / "broad"))
TRUNKYXL_DIR = Path(os.environ.get("TRACKER_TRUNKYXL_DIR", REPO.parent / "shared" / "data" / "trunkyxl"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--snapshot-update", action="store_true", default=False,
                     help="rewrite tests/snapshots/ from the current results (then review the git diff)")


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Snapshot:
    """Compare a JSON result with its file in tests/snapshots/ (see tests/snapshot.py)."""
    return Snapshot(bool(request.config.getoption("--snapshot-update")))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty tracker data directory, also set as $TRACKER_HOME."""
    d = tmp_path / "tracker-home"
    monkeypatch.setenv("TRACKER_HOME", str(d))
    return d


def broad_file(name: str) -> Path:
    """Path of a BROAD trial, or skip the test with a clear message."""
    path = BROAD_DIR / name
    if not path.exists():
        pytest.skip(f"BROAD recording {name} not found in {BROAD_DIR} (set $TRACKER_BROAD_DIR)")
    return path
