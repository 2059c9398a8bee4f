"""Live phone paths over loopback (issue 15): phyphox remote access and Sensor Logger push.

Figures:

1. **Samples lost at 100 Hz**, each path, 30 s in real time (target: 0): the phone side
   is the protocol emulator of the tests (``tests/phone_emulators.py``: phyphox's web
   server with its incremental ``/get`` reads; Sensor Logger's HTTP push in 0.2 s
   batches); tracker's side the real sources, recorder and store.
2. **Phone → durable commit latency**, median / p99 (the writer commits at least every
   0.5 s, phyphox is polled every 0.1 s, the push batches 0.2 s). Baseline: the same for
   the BLE virtual tag is in ``bench_ble.py``.
3. **Push throughput**: 10 minutes of 100 Hz data (5 sensors' worth of entries) pushed as
   fast as the loopback takes it, samples/s stored, with 0 lost.

Usage: python benchmarks/bench_phone.py [--quick]
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from phone_emulators import PhyphoxEmulator, push_sensor_logger  # noqa: E402

from tracker.ble.recorder import record_session  # noqa: E402
from tracker.phone import PhyphoxSource, SensorLoggerSource  # noqa: E402
from tracker.profiles.phone import PHYPHOX, sensor_logger_profile  # noqa: E402
from tracker.store import Store  # noqa: E402

logging.getLogger("tracker").setLevel(logging.ERROR)
QUICK = "--quick" in sys.argv
SECONDS = 10.0 if QUICK else 30.0
RATE = 100.0
T0_NS = 1_714_548_612_000_000_000


def _motion(seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * RATE)) / RATE
    a = 0.3 * np.sin(2 * np.pi * 0.3 * t)
    acc = 9.80665 * np.column_stack([np.zeros_like(t), np.cos(a), -np.sin(a)])
    gyr = np.column_stack([0.3 * 2 * np.pi * 0.3 * np.cos(2 * np.pi * 0.3 * t), np.zeros_like(t), np.zeros_like(t)])
    return t, acc, gyr


def phyphox(seconds: float) -> tuple[int, int, object]:
    t, acc, gyr = _motion(seconds)
    store = Store.open(tempfile.mkdtemp())
    with PhyphoxEmulator((t, acc), (t + 0.004, gyr)) as emu:
        async def main() -> object:
            return await record_session(store, device="phone", profile=PHYPHOX, rate_hz=RATE,
                                        source=lambda q: PhyphoxSource(emu.url, q),
                                        until=lambda rec: emu.done and rec.samples >= len(t))
        result = asyncio.run(main())
    return len(t), result.quality.samples, result.quality  # type: ignore[attr-defined]


def push(seconds: float, pace: float | None) -> tuple[int, int, object, float]:
    t, acc, gyr = _motion(seconds)
    t_ns = T0_NS + np.round(t * 1e9).astype(np.int64)
    sensors = {"accelerometer": acc * 0.01, "gravity": acc * 0.99, "gyroscope": gyr,
               "magnetometer": np.ones_like(acc), "orientation": np.zeros_like(acc)}
    store = Store.open(tempfile.mkdtemp())
    holder: dict[str, SensorLoggerSource] = {}
    stop = asyncio.Event()

    async def main() -> tuple[object, float]:
        def make(q: asyncio.Queue) -> SensorLoggerSource:
            holder["src"] = SensorLoggerSource("127.0.0.1:0", q)
            return holder["src"]
        task = asyncio.ensure_future(record_session(
            store, device="phone", profile=sensor_logger_profile(False), rate_hz=RATE, stop=stop, source=make,
            until=lambda rec: rec.samples >= len(t)))
        while "src" not in holder or not holder["src"].ready.is_set():
            await asyncio.sleep(0.01)
        t0 = time.perf_counter()
        await asyncio.to_thread(push_sensor_logger, holder["src"].url, t_ns, sensors, pace=pace)
        result = await asyncio.wait_for(task, 120)
        return result, time.perf_counter() - t0
    result, wall = asyncio.run(main())
    return len(t), result.quality.samples, result.quality, wall  # type: ignore[attr-defined]


def main() -> None:
    print(f"1./2. 100 Hz in real time, {SECONDS:g} s per path: lost samples (target 0), phone → commit latency")
    sent, stored, q = phyphox(SECONDS)
    print(f"  phyphox remote access   sent {sent:6d}  stored {stored:6d}  lost {sent - stored:3d} "
          f"(quality lost {q.lost_samples}, gaps {q.gaps})  latency median {q.link.latency_ms_median:.0f} ms, "
          f"p99 {q.link.latency_ms_p99:.0f} ms")
    sent, stored, q, _ = push(SECONDS, pace=1.0)
    print(f"  Sensor Logger push      sent {sent:6d}  stored {stored:6d}  lost {sent - stored:3d} "
          f"(quality lost {q.lost_samples}, gaps {q.gaps})  latency median {q.link.latency_ms_median:.0f} ms, "
          f"p99 {q.link.latency_ms_p99:.0f} ms")
    minutes = 2.0 if QUICK else 10.0
    sent, stored, q, wall = push(minutes * 60, pace=None)
    print(f"\n3. push throughput: {minutes:g} min of 100 Hz data (5 sensors) as fast as loopback takes it")
    print(f"  stored {stored} of {sent} samples in {wall:.1f} s: {stored / wall:,.0f} samples/s "
          f"({stored / wall / RATE:.0f}× real time), lost {sent - stored}")


if __name__ == "__main__":
    main()
