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


def test_one_gap_definition_for_store_analysis_and_figure(tmp_path: Path) -> None:
    """`tracker show` (store quality), `tracker analyze` (summary) and the session figure
    count the same gaps and lost samples."""
    import numpy as np

    from tracker.quality import find_gaps
    from tracker.recording import Recording, RecordingMeta
    from tracker.report.figures import gaps_from_times
    from tracker.signal.process import process_session
    from tracker.store import Store

    rate = 100.0
    n = 3000
    keep = np.ones(n, dtype=bool)
    keep[[500, 1200, 1201, 1202, 2400]] = False  # 1, 3 and 1 samples lost: three gaps
    rng = np.random.default_rng(1)
    t = (np.arange(n) + 0.05 * rng.standard_normal(n).clip(-0.2, 0.2)) / rate  # jitter is no gap
    rec = Recording(t[keep], np.tile([0.0, 0.0, 9.81], (keep.sum(), 1)), np.zeros((keep.sum(), 3)), None,
                    RecordingMeta(nominal_rate_hz=rate))
    with Store.open(tmp_path) as store:
        stored = store.quality(store.import_recording(rec))
    analysed = process_session(rec).summary.data_quality
    assert (stored.gaps, stored.lost_samples) == (analysed.gaps, analysed.lost_samples) == (3, 5)
    assert len(gaps_from_times(rec.t_s)) == find_gaps(rec.t_s).count == 3
