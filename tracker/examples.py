"""The example sessions in the repository's ``data/examples/`` (simulated, seeded).

Six weeks, two sessions a week, of one simulated person doing the design.md routine with
a 100 Hz tag on the lower back; ``data/make_examples.py`` made them and
``data/README.md`` says how. The notebooks, the docs and the report examples use them.

>>> from tracker import examples
>>> table = examples.sessions()                       # doctest: +SKIP
>>> rec = examples.load_recording(table.name[0])      # doctest: +SKIP
>>> truth = examples.load_truth(table.name[0])        # doctest: +SKIP
>>> ids = examples.import_into(store)                 # doctest: +SKIP

The files ship with the source repository, not with an installed wheel: set
``TRACKER_EXAMPLES_DIR`` to a copy of ``data/examples`` when running elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .csvio import read_recording
from .errors import TrackerError
from .recording import Recording, RecordingMeta

if TYPE_CHECKING:
    from .simulate import GroundTruth
    from .store import Store

__all__ = ["DEVICE", "PROFILE", "examples_dir", "sessions", "load_recording", "load_truth", "import_into"]

#: Device and profile names the example sessions are stored under.
DEVICE = "example tag (simulated)"
PROFILE = "simulator"
_ENV = "TRACKER_EXAMPLES_DIR"


def examples_dir() -> Path:
    """Folder holding ``sessions.csv`` and the session files.

    ``$TRACKER_EXAMPLES_DIR`` if set, else ``data/examples`` next to the package source.

    Raises
    ------
    TrackerError
        When the folder or its ``sessions.csv`` is missing.
    """
    env = os.environ.get(_ENV)
    folder = Path(env) if env else Path(__file__).resolve().parents[1] / "data" / "examples"
    if not (folder / "sessions.csv").is_file():
        raise TrackerError(
            f"example sessions not found in {folder} (no sessions.csv): they ship with the source "
            f"repository; set {_ENV} to a copy of data/examples, or run `python data/make_examples.py`")
    return folder


def sessions() -> pd.DataFrame:
    """The manifest: one row per session, oldest first.

    Columns: ``name, started_at`` (UTC timestamps), ``week, seed, rate_hz, device,
    pain_before, pain_after, notes, n_samples, duration_s, n_reps, n_cracks, sha256``.
    """
    frame = pd.read_csv(examples_dir() / "sessions.csv", dtype={"notes": str}, keep_default_na=False)
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return frame.sort_values("started_at", ignore_index=True)


def _row(name: str) -> pd.Series:
    table = sessions()
    hit = table[table["name"] == name]
    if hit.empty:
        raise TrackerError(f"no example session {name!r}; there are: {', '.join(table['name'])}")
    return hit.iloc[0]


def load_recording(name: str, *, verify: bool = True) -> Recording:
    """One example session as a :class:`~tracker.recording.Recording`.

    The samples are read from ``<name>.zip`` with :func:`tracker.csvio.read_recording`
    (the same path as ``tracker import``); the metadata (UTC start, rate, device) comes
    from the manifest, since a CSV carries none.

    Parameters
    ----------
    name : str
        A ``name`` from :func:`sessions`, e.g. ``"2025-01-06_0707"``.
    verify : bool
        Check the file against the SHA-256 in the manifest first.

    Raises
    ------
    TrackerError
        Unknown name, missing file, or a file that does not match the manifest.
    """
    row = _row(name)
    path = examples_dir() / f"{name}.zip"
    if not path.is_file():
        raise TrackerError(f"{path}: example session file is missing")
    if verify:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != row["sha256"]:
            raise TrackerError(f"{path}: contents do not match sessions.csv (sha256 {digest[:12]}…, "
                               f"expected {row['sha256'][:12]}…); regenerate with `python data/make_examples.py`")
    rec = read_recording(path)
    meta = RecordingMeta(device=DEVICE, profile=PROFILE, nominal_rate_hz=float(row["rate_hz"]),
                         started_at=row["started_at"].to_pydatetime(), placement="lower_back")
    return Recording(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, rec.mag_uT, meta)


def load_truth(name: str) -> "GroundTruth":
    """The simulator's ground truth of one session (true angles at 10 Hz)."""
    from .simulate import GroundTruth

    _row(name)
    path = examples_dir() / f"{name}.truth.json"
    if not path.is_file():
        raise TrackerError(f"{path}: ground-truth file is missing")
    return GroundTruth.from_json(json.loads(path.read_text()))


def import_into(store: "Store", names: list[str] | None = None) -> dict[str, str]:
    """Store example sessions with their dates and self-reported pain.

    Sessions already in the store (same device and start time) are not imported again.

    Parameters
    ----------
    store : Store
    names : list of str, optional
        Which sessions (default: all).

    Returns
    -------
    dict
        ``name -> session id`` (existing ids for sessions that were already there).
    """
    table = sessions()
    if names is not None:
        unknown = sorted(set(names) - set(table["name"]))
        if unknown:
            raise TrackerError(f"no example session(s) {', '.join(unknown)}")
        table = table[table["name"].isin(names)]
    have = {(s.device, pd.Timestamp(s.started_at).tz_convert("UTC")): s.id for s in store.sessions()}
    out: dict[str, str] = {}
    for row in table.itertuples(index=False):
        key = (DEVICE, row.started_at)
        if key in have:
            out[row.name] = have[key]
            continue
        sid = store.import_recording(load_recording(row.name), notes=row.notes)
        store.set_self_report(sid, pain_before=int(row.pain_before), pain_after=int(row.pain_after),
                              notes=row.notes or None)
        out[row.name] = sid
    return out
