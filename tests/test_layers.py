"""One-way flow (design.md): each layer imports only the layers to its left.

Checked in a fresh interpreter per module, on ``sys.modules`` after the import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imported(module: str) -> set[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("module, forbidden", [
    # the store knows nothing of analysis types
    ("tracker.store", ("tracker.signal", "tracker.report", "tracker.export")),
    # analysis is pure: no database, no BLE, no event loop
    ("tracker.signal.process", ("tracker.store", "sqlite3", "bleak", "tracker.ble")),
    # reports and exports take data, never the store
    ("tracker.report", ("tracker.store", "sqlite3", "bleak", "tracker.ble")),
    ("tracker.export", ("tracker.store", "sqlite3", "bleak", "tracker.ble")),
    # the web page's data is the live state rendered: no store, no BLE, no web stack
    ("tracker.web.frame", ("tracker.store", "sqlite3", "bleak", "tracker.ble", "starlette", "uvicorn")),
])
def test_layer_imports_nothing_to_its_right(module: str, forbidden: tuple[str, ...]) -> None:
    mods = _imported(module)
    bad = sorted(m for m in mods for f in forbidden if m == f or m.startswith(f + "."))
    assert not bad, f"{module} imports {bad}"


def test_test_only_code_is_not_in_the_package() -> None:
    assert not (REPO / "tracker" / "firmware_mirror.py").exists()
