"""Store figures: append rate (samples/s) and the time to load one hour at 200 Hz.

Targets (issue 2): append >= 100k samples/s through the live writer, load of 720k
samples <= 0.5 s. Baseline in the same run: the same samples written one row per sample
with ``executemany`` into a plain table, the obvious design the chunk layout replaced.
Prints medians of several repeats.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.recording import Recording, RecordingMeta  # noqa: E402
from tracker.store import Store  # noqa: E402

RATE_HZ = 200.0
N = int(3600 * RATE_HZ)
BATCH = 20  # a BLE notification's worth of samples per append
REPEATS = 3


def make_recording() -> Recording:
    rng = np.random.default_rng(0)
    t = np.arange(N) / RATE_HZ
    return Recording(t, rng.normal(0, 1, (N, 3)) + [0, 0, 9.81], rng.normal(0, 0.1, (N, 3)),
                     meta=RecordingMeta(nominal_rate_hz=RATE_HZ))


def bench_append(rec: Recording, root: Path) -> float:
    store = Store.open(root)
    sid = store.create_session(rec.meta)
    batches = [rec.slice(i, i + BATCH) for i in range(0, len(rec), BATCH)]
    writer = store.writer(sid)
    t0 = time.perf_counter()
    for b in batches:
        writer.append(b)
    writer.close()
    elapsed = time.perf_counter() - t0
    store.close()
    return len(rec) / elapsed


def bench_load(root: Path) -> float:
    store = Store.open(root)
    sid = store.sessions()[0].id
    t0 = time.perf_counter()
    rec = store.load_recording(sid)
    elapsed = time.perf_counter() - t0
    assert len(rec) == N
    store.close()
    return elapsed


def bench_row_baseline(rec: Recording, root: Path) -> tuple[float, float]:
    conn = sqlite3.connect(root / "rows.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE s (sid TEXT, t REAL, ax REAL, ay REAL, az REAL, gx REAL, gy REAL, gz REAL)")
    rows = [("x", *r) for r in rec.to_array().tolist()]
    t0 = time.perf_counter()
    for i in range(0, len(rows), 100):  # commit every 0.5 s of data
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO s VALUES (?,?,?,?,?,?,?,?)", rows[i:i + 100])
        conn.execute("COMMIT")
    append = len(rows) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    np.array(conn.execute("SELECT t, ax, ay, az, gx, gy, gz FROM s WHERE sid='x' ORDER BY t").fetchall())
    load = time.perf_counter() - t0
    conn.close()
    return append, load


def main() -> None:
    rec = make_recording()
    appends, loads, base_appends, base_loads = [], [], [], []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp:
            appends.append(bench_append(rec, Path(tmp)))
            loads.append(bench_load(Path(tmp)))
    with tempfile.TemporaryDirectory() as tmp:
        a, l = bench_row_baseline(rec, Path(tmp))
        base_appends.append(a)
        base_loads.append(l)
    med = statistics.median
    print(f"{'figure':<44}{'median':>14}{'target':>14}{'baseline (row/sample)':>24}")
    print(f"{'store append (samples/s, batches of 20)':<44}{med(appends):>14,.0f}{'>= 100,000':>14}"
          f"{med(base_appends):>24,.0f}")
    print(f"{'load 1 h at 200 Hz (720k samples, s)':<44}{med(loads):>14.3f}{'<= 0.5':>14}"
          f"{med(base_loads):>24.3f}")


if __name__ == "__main__":
    main()
