"""The session store on a real SQLite database."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tracker.errors import StoreError, ValidationError
from tracker.recording import Recording, RecordingMeta
from tracker.signal.result import Crack, Rep, SessionAnalysis, Spike, Summary
from tracker.sessions import load_analysis, save_analysis
from tracker.store import DB_FILENAME, MIGRATIONS, SCHEMA_VERSION, Store

from helpers import still_recording


def test_data_dir_and_database_are_owner_only(data_dir: Path) -> None:
    store = Store.open()  # $TRACKER_HOME
    assert store.data_dir == data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / DB_FILENAME).stat().st_mode) == 0o600
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_import_and_load_round_trip_exact(data_dir: Path) -> None:
    rec = still_recording(70_000, 200.0, mag=True)
    store = Store.open(data_dir)
    sid = store.import_recording(rec, notes="first")
    back = store.load_recording(sid)
    np.testing.assert_array_equal(back.to_array(), rec.to_array())
    info = store.session(sid)
    assert (info.status, info.n_samples, info.notes, info.has_mag) == ("complete", 70_000, "first", True)
    assert info.started_at == rec.meta.started_at
    assert store.quality(sid).achieved_rate_hz == pytest.approx(200.0)


finite = st.floats(-100, 100, allow_nan=False, width=64)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=arrays(np.float64, st.integers(1, 60), elements=st.floats(1e-4, 1.0)),
    values=st.data(),
    mag=st.booleans(),
)
def test_store_round_trip_property(tmp_path: Path, steps: np.ndarray, values: st.DataObject, mag: bool) -> None:
    n = len(steps)
    t = np.cumsum(steps) - steps[0]
    acc = values.draw(arrays(np.float64, (n, 3), elements=finite))
    gyr = values.draw(arrays(np.float64, (n, 3), elements=st.floats(-39, 39)))
    m = values.draw(arrays(np.float64, (n, 3), elements=finite)) if mag else None
    rec = Recording(t, acc, gyr, m, RecordingMeta(nominal_rate_hz=None))
    with Store.open(tmp_path / "prop") as store:
        sid = store.create_session(rec.meta, has_mag=mag)
        writer = store.writer(sid, flush_interval_s=0.0)
        cut = n // 2
        writer.append(rec.slice(0, cut))
        writer.append(rec.slice(cut, n))
        writer.close()
        back = store.load_recording(sid)
        np.testing.assert_array_equal(back.to_array(), rec.to_array())
        store.delete(sid)


def test_writer_commits_within_interval_and_rejects_going_back(data_dir: Path) -> None:
    store = Store.open(data_dir)
    rec = still_recording(400)
    sid = store.create_session(rec.meta)
    writer = store.writer(sid, flush_interval_s=0.05)
    writer.append(rec.slice(0, 100))
    reader = Store.open(data_dir)
    assert reader.session(sid).n_samples == 0  # buffered, not committed yet
    time.sleep(0.06)
    writer.tick()
    assert reader.session(sid).n_samples == 100  # another connection sees the commit
    with pytest.raises(ValidationError, match="not after the last stored sample"):
        writer.append(rec.slice(50, 60))
    writer.add_event("gap", 1.0, duration_s=0.2, lost_samples=20)
    writer.append(rec.slice(100, 400))
    writer.close()
    assert reader.session(sid).status == "complete"
    assert reader.session(sid).n_samples == 400
    [gap] = reader.events(sid, "gap")
    assert gap.t_s == 1.0 and gap.data == {"duration_s": 0.2, "lost_samples": 20}


def test_resolve_prefix_latest_and_errors(data_dir: Path) -> None:
    store = Store.open(data_dir)
    a = store.import_recording(still_recording(10, started_at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    b = store.import_recording(still_recording(10, started_at=datetime(2026, 1, 2, tzinfo=timezone.utc)))
    assert store.resolve(a[:10]) == a
    assert store.resolve("latest") == b
    with pytest.raises(StoreError, match="matches 2 sessions"):
        store.resolve("2026010")
    with pytest.raises(StoreError, match="no session 'zzz'"):
        store.resolve("zzz")
    assert [s.id for s in store.sessions(since=datetime(2026, 1, 2, tzinfo=timezone.utc))] == [b]


def test_self_report_validation_and_merge(data_dir: Path) -> None:
    store = Store.open(data_dir)
    sid = store.import_recording(still_recording(10))
    store.set_self_report(sid, pain_before=3)
    store.set_self_report(sid, pain_after=1, notes="felt fine")
    assert store.self_report(sid) == {"pain_before": 3, "pain_after": 1, "notes": "felt fine"}
    with pytest.raises(ValidationError, match="pain_after must be an integer 0–10"):
        store.set_self_report(sid, pain_after=11)


def test_analysis_saved_with_version(data_dir: Path) -> None:
    store = Store.open(data_dir)
    sid = store.import_recording(still_recording(10))
    analysis = SessionAnalysis(
        signals=still_recording(10).to_frame(), sample_rate_hz=100.0, duration_s=0.09,
        reps=(reps := (Rep(exercise="seated_twist", side="left", start_s=1.0, hold_start_s=2.0,
                           hold_end_s=5.0, end_s=6.0, hold_s=3.0, peak_deg=21.5, peak_s=3.0),)),
        spikes=(spikes := (Spike(t_s=4.0, peak_m_s2=30.0, possible_crack=True, crack_score=0.9),)),
        cracks=(cracks := (Crack(t_s=4.0, peak_m_s2=30.0, score=0.9, rep=0),)),
        summary=Summary.of_events(reps, spikes, cracks),
    )
    save_analysis(store, sid, analysis)
    back = load_analysis(store, sid)
    assert back is not None and back.reps == analysis.reps and back.cracks == analysis.cracks
    assert back.summary == analysis.summary
    assert back.to_json(sid)["reps"][0]["peak_deg"] == 21.5
    assert store.load_analysis(sid, version="0.0.0-old") is None
    assert store.load_analysis(sid, version=analysis.analysis_version) == analysis.events_json()


def test_older_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    conn = sqlite3.connect(path)
    conn.executescript(str(MIGRATIONS[0]) + "; PRAGMA user_version=1;")
    conn.execute("INSERT INTO sessions (id, started_at, device, profile, placement, status) VALUES"
                 " ('old-1', '2025-01-01T00:00:00+00:00', 'tag', 'csv', 'lower_back', 'complete')")
    conn.commit()
    conn.close()
    store = Store.open(tmp_path)
    assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    assert store.session("old-1").device == "tag"
    store.remember_device("AA:BB", "IMU-Tag", "tracker-imu")  # table added by migration 2
    assert store.devices()[0]["name"] == "IMU-Tag"


def test_newer_database_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    conn = sqlite3.connect(tmp_path / DB_FILENAME)
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99, newer than this tracker"):
        Store.open(tmp_path)


def test_corrupted_file_gives_clear_error(tmp_path: Path) -> None:
    (tmp_path / DB_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="corrupted or not a tracker database"):
        Store.open(tmp_path)


def test_damaged_chunk_is_reported_by_check(data_dir: Path) -> None:
    store = Store.open(data_dir)
    sid = store.import_recording(still_recording(100))
    store._conn.execute("UPDATE sample_chunks SET data = substr(data, 1, 80)")
    assert any("expected 5600" in p for p in store.check())
    with pytest.raises(StoreError, match="chunk 0 is damaged"):
        store.load_recording(sid)


WRITER_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from helpers import still_recording
    from tracker.store import Store
    store = Store.open({data_dir!r})
    rec = still_recording(100_000, 100.0)
    sid = store.create_session(rec.meta)
    print(sid, flush=True)
    writer = store.writer(sid, flush_interval_s=0.5)
    for i in range(0, len(rec), 10):        # 100 Hz in batches of 10, ~20x real time
        writer.append(rec.slice(i, i + 10))
        time.sleep(0.005)
""")


def test_sigkill_keeps_committed_batches_and_marks_interrupted(data_dir: Path) -> None:
    script = WRITER_SCRIPT.format(tests=str(Path(__file__).parent), data_dir=str(data_dir))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    sid = proc.stdout.readline().strip()
    reader = Store.open(data_dir, check_interrupted=False)
    deadline = time.monotonic() + 20
    while reader.session(sid).n_samples < 300 and time.monotonic() < deadline:
        time.sleep(0.1)  # a report can read while the recording writes
    assert reader.session(sid).status == "recording"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store.open(data_dir)
    info = store.session(sid)
    assert info.status == "interrupted"
    assert info.n_samples >= 300
    rec = store.load_recording(sid)  # every committed batch is there, in order, exact
    expected = still_recording(100_000, 100.0).slice(0, len(rec))
    np.testing.assert_array_equal(rec.to_array(), expected.to_array())


# ------------------------------------------------- a missing magnetometer stays missing
def test_missing_magnetometer_is_stored_as_missing_not_zeros(data_dir: Path) -> None:
    store = Store.open(data_dir)
    a, b, c = (still_recording(100, 100.0, mag=m, t0=t0, seed=k)
               for k, (m, t0) in enumerate(((True, 0.0), (False, 1.0), (True, 2.0))))
    sid = store.create_session(a.meta, has_mag=True)
    writer = store.writer(sid, flush_interval_s=60.0)
    writer.append(a)
    writer.flush()  # chunk 0: with magnetometer
    writer.append(b)
    writer.append(c)
    writer.close()  # chunk 1: a batch without magnetometer, then one with it again
    data = store.load_array(sid)
    assert data.shape == (300, 10)
    np.testing.assert_array_equal(data[:100, 7:], a.mag_uT)
    assert np.isnan(data[100:200, 7:]).all()  # missing, never 0 µT
    np.testing.assert_array_equal(data[200:, 7:], c.mag_uT)  # kept, not cut off
    np.testing.assert_array_equal(data[:, 1:4], np.vstack([a.acc_m_s2, b.acc_m_s2, c.acc_m_s2]))
    rec = store.load_recording(sid)  # analysed without a magnetometer it lacks for a while
    assert len(rec) == 300 and rec.mag_uT is None


def test_session_that_gains_a_magnetometer_keeps_its_readings(data_dir: Path) -> None:
    store = Store.open(data_dir)
    a, b = still_recording(50, 100.0), still_recording(50, 100.0, mag=True, t0=0.5)
    sid = store.create_session(a.meta)
    store.append(sid, a)
    store.append(sid, b)  # the older writer cut these readings off to match chunk 0
    data = store.load_array(sid)
    assert np.isnan(data[:50, 7:]).all()
    np.testing.assert_array_equal(data[50:, 7:], b.mag_uT)


def _database_of_schema(path: Path, version: int) -> sqlite3.Connection:
    """A database as this tracker made it at ``version``: its migrations, nothing later."""
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:version]:
        assert isinstance(step, str), "schemas up to the mag migration are plain SQL"
        conn.executescript(step)
    conn.execute(f"PRAGMA user_version={version}")
    return conn


def test_mag_migration_turns_zero_padding_into_missing(tmp_path: Path) -> None:
    mag_version = next(i for i, m in enumerate(MIGRATIONS) if callable(m))
    conn = _database_of_schema(tmp_path / DB_FILENAME, mag_version)
    a, b = still_recording(80, 100.0, mag=True, seed=1), still_recording(40, 100.0, t0=0.8, seed=2)
    # what SessionWriter.append stored before: a batch without magnetometer in a session
    # with one was padded with 0 µT to the chunk's ten columns
    old = np.vstack([a.to_array(), np.hstack([b.to_array(), np.zeros((len(b), 3))])])
    old[5, 7] = 0.0  # one axis reading exactly zero is a reading, not padding
    conn.execute("INSERT INTO sessions (id, started_at, device, profile, placement, status, has_mag)"
                 " VALUES ('old-1', '2025-01-01T00:00:00+00:00', 'tag', 'csv', 'lower_back', 'complete', 1)")
    conn.execute("INSERT INTO sample_chunks (session_id, chunk, t_first_s, t_last_s, n, ncols, data)"
                 " VALUES ('old-1', 0, ?, ?, ?, 10, ?)",
                 (old[0, 0], old[-1, 0], len(old), old.astype("<f8").tobytes()))
    conn.commit()
    conn.close()
    store = Store.open(tmp_path)
    assert store.schema_version == SCHEMA_VERSION
    data = store.load_array("old-1")
    assert np.isnan(data[80:, 7:]).all()  # the padding is now missing
    np.testing.assert_array_equal(data[:80], old[:80])  # every real reading unchanged
    np.testing.assert_array_equal(data[80:, :7], old[80:, :7])
    assert store.check() == []
