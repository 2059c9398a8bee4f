"""Peak memory of streaming a long recording through the store.

An 8-hour recording at 400 Hz (11.5 M samples) is written through the live
:class:`SessionWriter` in notification-sized batches, then read back chunk by chunk
(what a report or an export of a long session does). Target (issue 10): peak RSS
< 300 MB and constant in session length; a 1-hour run in the same invocation is the
baseline. Each length runs in its own process so peaks do not mix.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATE_HZ = 400.0
BATCH = 40  # samples per append (~0.1 s at 400 Hz)


def child(hours: float, root: str) -> None:
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tracker.recording import Recording, RecordingMeta
    from tracker.store import Store

    store = Store.open(root)
    meta = RecordingMeta(device="bench", profile="simulator", nominal_rate_hz=RATE_HZ)
    sid = store.create_session(meta)
    writer = store.writer(sid)
    n = int(hours * 3600 * RATE_HZ)
    rng = np.random.default_rng(0)
    block = 40_000  # generate data in blocks, append in BLE-sized batches
    t0 = time.perf_counter()
    for start in range(0, n, block):
        m = min(block, n - start)
        t = (start + np.arange(m)) / RATE_HZ
        acc = rng.normal(0, 0.05, (m, 3)) + [0, 0, 9.81]
        gyr = rng.normal(0, 0.01, (m, 3))
        rec = Recording(t, acc, gyr, meta=meta)
        for i in range(0, m, BATCH):
            writer.append(rec.slice(i, i + BATCH))
    writer.close()
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    total, acc_sum = 0, 0.0
    for batch in store.iter_batches(sid):
        total += len(batch)
        acc_sum += float(batch.acc_m_s2[:, 2].sum())
    read_s = time.perf_counter() - t0
    assert total == n
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n} {peak_mb:.1f} {write_s:.1f} {read_s:.1f}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(float(sys.argv[2]), sys.argv[3])
        return
    results = {}
    for hours in (1.0, 8.0):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, __file__, "--child", str(hours), tmp],
                                 capture_output=True, text=True, check=True).stdout.split()
        results[hours] = (int(out[0]), float(out[1]), float(out[2]), float(out[3]))
    base = results[1.0][1]
    print(f"{'figure':<52}{'value':>12}{'target':>12}{'baseline 1 h':>14}{'ratio':>8}")
    n, peak, write_s, read_s = results[8.0]
    print(f"{'peak RSS, 8 h at 400 Hz through the store (MB)':<52}{peak:>12.1f}{'< 300':>12}{base:>14.1f}"
          f"{peak / base:>8.2f}")
    print(f"{'  write ' + format(n, ',') + ' samples (s) / read back (s)':<52}{write_s:>12.1f}{'':>12}{read_s:>14.1f}")


if __name__ == "__main__":
    main()
