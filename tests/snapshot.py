"""Snapshot files: pinned JSON results under ``tests/snapshots/``, updated on request.

``python -m pytest --snapshot-update`` rewrites them from the current results; review the
change with ``git diff tests/snapshots/`` before committing it (see that folder's README).
Numbers compare within a small tolerance (the files hold rounded values, and the last
digit may differ between platforms); everything else compares exactly.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
#: Absolute tolerance for numbers: the JSON rounds most values to 3 decimals.
ABS_TOL = 2e-3
REL_TOL = 1e-6


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        def key(k: str) -> str:
            return f"{path}.{k}" if path else k

        out = [f"{key(k)}: removed" for k in old if k not in new]
        out += [f"{key(k)}: added {json.dumps(new[k])[:80]}" for k in new if k not in old]
        for k in old:
            if k in new:
                out += _differences(old[k], new[k], key(k))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = [f"{path}: {len(old)} items -> {len(new)}"] if len(old) != len(new) else []
        for i, (a, b) in enumerate(zip(old, new)):
            out += _differences(a, b, f"{path}[{i}]")
        return out
    numbers = (int, float)
    if (isinstance(old, numbers) and isinstance(new, numbers)
            and not isinstance(old, bool) and not isinstance(new, bool)):
        if math.isclose(old, new, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return []
    elif old == new:
        return []
    return [f"{path}: {json.dumps(old)[:80]} -> {json.dumps(new)[:80]}"]


class Snapshot:
    """``snapshot.check(name, data)``: compare with ``tests/snapshots/<name>.json``."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, name: str, data: Any) -> None:
        path = SNAPSHOT_DIR / f"{name}.json"
        text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        if self.update:
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        if not path.exists():
            pytest.fail(f"no snapshot {path.name} yet: run `python -m pytest --snapshot-update "
                        f"{Path(__file__).parent.name}/` and review the new file")
        old = json.loads(path.read_text(encoding="utf-8"))
        diffs = _differences(old, json.loads(text))
        if diffs:
            lines = difflib.unified_diff(json.dumps(old, indent=1, ensure_ascii=False).splitlines(),
                                         text.splitlines(), f"snapshots/{path.name}", "now", n=1,
                                         lineterm="")
            shown = "\n".join(list(lines)[:80])
            pytest.fail(
                f"{path.name}: {len(diffs)} value(s) changed:\n  " + "\n  ".join(diffs[:25])
                + ("\n  ..." if len(diffs) > 25 else "")
                + f"\n\n{shown}\n\nIf the change is intended, run `python -m pytest --snapshot-update "
                "tests/test_snapshots.py` and commit the reviewed diff (tests/snapshots/README.md).",
                pytrace=False)
