"""Store under faults: full disk, damaged files, two recording processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.errors import StoreError
from tracker.store import DB_FILENAME, SCHEMA_VERSION, Store

from helpers import still_recording


def test_full_disk_keeps_session_up_to_last_committed_batch(data_dir: Path) -> None:
    store = Store.open(data_dir)
    rec = still_recording(200_000, 200.0)
    sid = store.create_session(rec.meta)
    writer = store.writer(sid, flush_interval_s=0.0)
    page_count = store._conn.execute("PRAGMA page_count").fetchone()[0]
    # SQLite's own "database or disk is full" (SQLITE_FULL), reached after a few batches.
    store._conn.execute(f"PRAGMA max_page_count={page_count + 60}")
    committed = 0
    with pytest.raises(StoreError, match="disk full while recording samples .* everything committed before is kept"):
        for i in range(0, len(rec), 2000):
            writer.append(rec.slice(i, i + 2000))
            committed = i + 2000
    assert 0 < committed < len(rec)
    store.close()
    reopened = Store.open(data_dir)
    back = reopened.load_recording(sid)
    assert len(back) == committed
    np.testing.assert_array_equal(back.to_array(), rec.slice(0, committed).to_array())


def test_truncated_database_is_reported_not_silently_emptied(data_dir: Path, tmp_path: Path) -> None:
    store = Store.open(data_dir)
    for seed in range(3):
        store.import_recording(still_recording(50_000, seed=seed))
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    path = data_dir / DB_FILENAME
    backup = tmp_path / "backup.sqlite"
    shutil.copy(path, backup)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    result = CliRunner().invoke(cli, ["doctor", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "problem" in result.output or "corrupted" in result.output
    # A plain listing must not pretend the sessions are fine and empty.
    with pytest.raises(StoreError):
        s = Store.open(data_dir)
        for info in s.sessions():
            s.load_recording(info.id)
    assert path.stat().st_size == size // 2  # nothing was "repaired" behind the user's back


TWO_WRITERS = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from helpers import still_recording
    from tracker.store import Store
    store = Store.open({data_dir!r})
    rec = still_recording(20_000, 200.0, seed={seed})
    sid = store.create_session(rec.meta)
    writer = store.writer(sid, flush_interval_s=0.02)
    for i in range(0, len(rec), 50):
        writer.append(rec.slice(i, i + 50))
        time.sleep(0.001)
    writer.close()
    print(sid)
""")


def test_two_recording_processes_on_one_database(data_dir: Path) -> None:
    Store.open(data_dir).close()
    procs = [subprocess.Popen([sys.executable, "-c", TWO_WRITERS.format(
        tests=str(Path(__file__).parent), data_dir=str(data_dir), seed=seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    store = Store.open(data_dir)
    for (out, _), seed in zip(outputs, (1, 2)):
        sid = out.strip()
        assert store.session(sid).status == "complete"
        np.testing.assert_array_equal(store.load_recording(sid).to_array(),
                                      still_recording(20_000, 200.0, seed=seed).to_array())


OPEN_NEW = "import sys; from tracker.store import Store; Store.open(sys.argv[1]).close()"


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    for attempt in range(2):
        target = tmp_path / f"new-{attempt}"
        procs = [subprocess.Popen([sys.executable, "-c", OPEN_NEW, str(target)], stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), errors
        assert Store.open(target).schema_version == SCHEMA_VERSION
