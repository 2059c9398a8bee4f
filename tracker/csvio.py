"""CSV files in and out: our raw-sample contract (design.md) and the readers of phone exports.

Reading lives in :mod:`tracker.importers` (one module per app); this module keeps the
long-standing entry points.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import schema
from .importers import ImportResult, read_export, read_recording
from .importers.tracker_csv import write_raw_csv

__all__ = ["write_raw_csv", "read_recording", "read_export", "ImportResult", "write_frame_csv"]


def write_frame_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write a table with our float format and ``\\n`` line endings."""
    path = Path(path)
    frame.to_csv(path, index=False, float_format=schema.CSV_FLOAT_FORMAT, lineterminator="\n",
                 na_rep="")
    return path
