"""``tracker analyze --json`` of two example sessions, pinned in tests/snapshots/.

Any change of the analysis's results shows up here as a reviewed diff: update with
``python -m pytest --snapshot-update tests/test_snapshots.py`` (tests/snapshots/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
#: The first and the last week of the example person: the routine, then its progress.
SESSIONS = ("2025-01-06_0707", "2025-02-13_0701")


@pytest.mark.parametrize("name", SESSIONS)
def test_analyze_json_matches_its_snapshot(name: str, snapshot, data_dir) -> None:
    path = EXAMPLES / f"{name}.zip"
    if not path.exists():
        pytest.skip(f"example session {path} not found (data/ ships with the source repository)")
    result = CliRunner().invoke(cli, ["analyze", str(path), "--json"])
    assert result.exit_code == 0, result.output
    snapshot.check(f"analyze_{name}", json.loads(result.stdout))
