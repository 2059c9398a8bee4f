"""Fault tests of the BLE recording path (issue 10): forced disconnects, SIGKILL, two
recorders on one store, a full disk.

Everything runs over the real Bumble stack with the emulated tag and a real SQLite
store; what is stored is compared with what the tag sent, what the host's BLE stack
delivered, and the simulator's values.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("bumble")

from bleak import BleakClient  # noqa: E402
from bleak.exc import BleakError  # noqa: E402

from tracker.quality import find_gaps
from tracker.ble.bumble_backend import BumbleClient, BumbleScanner, BumbleWorld  # noqa: E402
from tracker.ble.client import BleBackend, ReconnectPolicy, find_device, profile_by_id  # noqa: E402
from tracker.ble.recorder import record_session  # noqa: E402
from tracker.ble.virtual_tag import VirtualTag  # noqa: E402
from tracker.profiles import tracker_imu as ti  # noqa: E402
from tracker.recording import Recording  # noqa: E402
from tracker.schema import STANDARD_GRAVITY_M_S2  # noqa: E402
from tracker.simulate import SensorModel, simulate_session  # noqa: E402
from tracker.store import SCHEMA_VERSION, Store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RATE_HZ = 100.0
#: Half an LSB at ±16 g / ±2000 °/s (the tracker-imu defaults) and 0.1 µT.
ACC_TOL = 16 * STANDARD_GRAVITY_M_S2 / 32768 / 2 + 1e-9
GYR_TOL = np.deg2rad(2000) / 32768 / 2 + 1e-9
MAG_TOL = 0.05 + 1e-9


def _simulated(seed: int, minutes: float) -> Recording:
    """What ``record --virtual`` streams: a simulated session without simulated drops."""
    return simulate_session(seed=seed, rate_hz=RATE_HZ, minutes=minutes, with_mag=True,
                            sensor=dataclasses.replace(SensorModel(), drop_prob=0.0)).recording


def _assert_values(stored: Recording, source: Recording, index: np.ndarray) -> None:
    np.testing.assert_array_less(np.abs(stored.acc_m_s2 - source.acc_m_s2[index]), ACC_TOL)
    np.testing.assert_array_less(np.abs(stored.gyr_rad_s - source.gyr_rad_s[index]), GYR_TOL)
    assert stored.mag_uT is not None and source.mag_uT is not None
    np.testing.assert_array_less(np.abs(stored.mag_uT - source.mag_uT[index]), MAG_TOL)


def _sample_index(t_s: np.ndarray) -> np.ndarray:
    """Device-clock times -> sample indices, checking they sit on the sample grid."""
    index = np.rint(np.asarray(t_s) * RATE_HZ).astype(np.int64)
    np.testing.assert_allclose(t_s, index / RATE_HZ, atol=1e-6)
    return index


# --------------------------------------------------------------- 50 forced disconnects
class _DeliveryLog(BumbleClient):
    """The Bumble bleak backend, logging every notification the host stack delivers.

    "Delivered" is what reached the application's notification callback: a packet
    the tag sent just before its radio dropped may never arrive (as on a real link);
    everything that did arrive must be stored.
    """

    delivered: list[tuple[str, bytes]] = []

    async def start_notify(self, characteristic: Any, callback: Any, **kwargs: Any) -> None:
        uuid = characteristic.uuid
        log = _DeliveryLog.delivered

        def logged(data: bytearray) -> None:
            log.append((uuid, bytes(data)))
            callback(data)

        await super().start_notify(characteristic, logged, **kwargs)


def _delivered_indices(delivered: list[tuple[str, bytes]], t_us0: int) -> np.ndarray:
    """Sample indices of the delivered data packets, in arrival order."""
    out = []
    for uuid, data in delivered:
        if uuid != ti.DATA_UUID:
            continue
        packet = ti.decode_packet(data)
        k0 = round(((packet.t_us - t_us0) % (1 << 32)) * 1e-6 * RATE_HZ)
        out.append(np.arange(k0, k0 + packet.n))
    return np.concatenate(out)


N_DROPS = 50


async def test_50_forced_disconnects_in_one_session_lose_nothing_delivered(data_dir):
    speed = 8.0
    source = _simulated(seed=11, minutes=4.0)
    rng = np.random.default_rng(2024)
    store = Store.open(data_dir)
    world = await BumbleWorld.get()
    profile = profile_by_id("tracker-imu")
    # As record_virtual does: keep a real tag's wall-clock packing latency at this speed.
    profile = dataclasses.replace(profile, config=dataclasses.replace(
        profile.config, max_latency_ms=int(profile.config.max_latency_ms * speed)))
    tag = VirtualTag(source, speed=speed, fifo_s=5.0)
    _DeliveryLog.delivered = []
    backend = BleBackend("virtual-logged", BumbleScanner, _DeliveryLog)
    stop = asyncio.Event()
    # Short backoff so 50 reconnects fit in a few seconds; the first retry comes quickly.
    policy = ReconnectPolicy(first_delay_s=0.01, max_delay_s=0.2, give_up_after_s=10.0,
                             connect_timeout_s=2.0)
    drop_at: list[int] = []  # samples sent when each drop was ordered

    async def drop_links() -> None:
        for _ in range(N_DROPS):
            # A random moment of streaming on the current link: from right after its
            # first packet up to ~0.2 s later (wall clock).
            wait_samples = int(rng.integers(1, 160))
            base = tag.stats.sent_samples
            while not (tag.streaming and tag.stats.sent_samples >= base + wait_samples):
                await asyncio.sleep(0.001)
            drop_at.append(tag.stats.sent_samples)
            await tag.drop_connection()
            while tag.connected:
                await asyncio.sleep(0.001)
        # Let the last link stream a little, then end the session as a user would.
        base = tag.stats.sent_samples
        while not (tag.streaming and tag.stats.sent_samples >= base + 200):
            await asyncio.sleep(0.001)
        stop.set()

    t0 = time.monotonic()
    try:
        await tag.start()
        device = await find_device(tag.name, timeout_s=5.0, backend=backend)
        dropper = asyncio.ensure_future(drop_links())
        result = await asyncio.wait_for(record_session(
            store, device=device, profile=profile, rate_hz=RATE_HZ, stop=stop, backend=backend,
            time_scale=speed, policy=policy), 60.0)
        await dropper
    finally:
        await tag.stop()
        await world.close()
    wall_s = time.monotonic() - t0
    sid, q, stats = result.session_id, result.quality, tag.stats
    assert result.status == "complete" and result.ended_by == "user"
    assert stats.drops == N_DROPS and stats.connections == N_DROPS + 1
    assert (q.link.disconnects, q.reconnects, q.gaps) == (N_DROPS, N_DROPS, N_DROPS)

    stored = store.load_recording(sid)
    index = _sample_index(stored.t_s)
    assert (np.diff(index) > 0).all()  # in order, never twice
    _assert_values(stored, source, index)
    delivered = _delivered_indices(_DeliveryLog.delivered, tag.t_us0)
    # Every sample the host stack delivered is stored exactly once, nothing else.
    np.testing.assert_array_equal(index, delivered)
    sent = np.concatenate([np.arange(a, b) for a, b in stats.sent_ranges])
    in_flight = np.setdiff1d(sent, delivered)  # sent just before a drop, never arrived
    assert np.isin(delivered, sent).all()

    # One gap per drop, at the last stored sample before it, counting exactly the
    # samples missing between the stored samples around it.
    jumps = np.flatnonzero(np.diff(index) > 1)
    assert len(jumps) == N_DROPS
    gaps = store.events(sid, kind="gap")
    assert len(gaps) == N_DROPS
    for gap, j in zip(gaps, jumps, strict=True):
        before, after = index[j], index[j + 1]
        assert gap.t_s == pytest.approx(before / RATE_HZ, abs=1e-6)
        assert gap.data["lost_samples"] == after - before - 1
        assert gap.data["duration_s"] == pytest.approx((after - before) / RATE_HZ, abs=1e-6)
        assert gap.data["cause"] == "reconnect"
    assert q.lost_samples == sum(g.data["lost_samples"] for g in gaps) == index[-1] + 1 - len(index)
    assert len(store.events(sid, kind="disconnect")) == len(store.events(sid, kind="reconnect")) == N_DROPS
    print(f"\n50 drops: {N_DROPS}/{N_DROPS} reconnected, {len(gaps)} gaps, {len(index)} samples stored "
          f"= {len(delivered)} delivered ({len(sent)} sent, {len(in_flight)} lost in flight at a drop), "
          f"lost {q.lost_samples} = missing {index[-1] + 1 - len(index)}, wall {wall_s:.1f} s")


async def test_drops_while_reconnecting_are_retried(data_dir):
    speed = 4.0
    source = _simulated(seed=5, minutes=1.0)
    store = Store.open(data_dir)
    world = await BumbleWorld.get()
    tag = VirtualTag(source, speed=speed)
    _DeliveryLog.delivered = []
    backend = BleBackend("virtual-logged", BumbleScanner, _DeliveryLog)
    stop = asyncio.Event()
    policy = ReconnectPolicy(first_delay_s=0.01, max_delay_s=0.2, give_up_after_s=10.0, connect_timeout_s=2.0)

    async def drop_links() -> None:
        for setup_delay_s in (0.0, 0.003):
            base = tag.stats.sent_samples
            while not (tag.streaming and tag.stats.sent_samples >= base + 40):
                await asyncio.sleep(0.001)
            await tag.drop_connection()
            while tag.connected:
                await asyncio.sleep(0.0005)
            # The central comes back: drop again while it discovers, subscribes, configures.
            while not tag.connected:
                await asyncio.sleep(0.0005)
            await asyncio.sleep(setup_delay_s)
            if not tag.streaming:
                await tag.drop_connection()
        base = tag.stats.sent_samples
        while not (tag.streaming and tag.stats.sent_samples >= base + 40):
            await asyncio.sleep(0.001)
        stop.set()

    try:
        await tag.start()
        device = await find_device(tag.name, timeout_s=5.0, backend=backend)
        dropper = asyncio.ensure_future(drop_links())
        try:
            result = await asyncio.wait_for(record_session(
                store, device=device, profile=profile_by_id("tracker-imu"), rate_hz=RATE_HZ, stop=stop,
                backend=backend, time_scale=speed, policy=policy), 10.0)
        except asyncio.CancelledError:
            dropper.cancel()
            pytest.fail("a drop while reconnecting ended the recording (CancelledError)")
        await dropper
    finally:
        await tag.stop()
        await world.close()
    assert result.status == "complete" and result.ended_by == "user"
    stored = store.load_recording(result.session_id)
    index = _sample_index(stored.t_s)
    np.testing.assert_array_equal(index, _delivered_indices(_DeliveryLog.delivered, tag.t_us0))
    assert result.quality.gaps == len(store.events(result.session_id, kind="gap")) >= 2
    # the counter's gaps are the time base's gaps (one definition: tracker.quality.find_gaps)
    found = find_gaps(stored.t_s)
    assert (found.count, found.lost_samples) == (result.quality.gaps, result.quality.lost_samples)


class _DropAtSetupStep(_DeliveryLog):
    """Loses the radio (the tag's own drop) as a reconnect reaches one setup step.

    The drop is ordered just before the step's first request goes out, so it lands
    while that request (or the next one) is in flight.
    """

    tag: VirtualTag | None = None
    step: str | None = None  # armed: "discovery", "subscribe" or "configure"
    drops: list[asyncio.Future] = []

    def _maybe_drop(self, step: str) -> None:
        cls = _DropAtSetupStep
        if cls.step == step and cls.tag is not None:
            cls.step = None
            cls.drops.append(asyncio.ensure_future(cls.tag.drop_connection()))

    async def _discover(self, peer: Any) -> Any:
        self._maybe_drop("discovery")
        return await super()._discover(peer)

    async def start_notify(self, characteristic: Any, callback: Any, **kwargs: Any) -> None:
        self._maybe_drop("subscribe")
        await super().start_notify(characteristic, callback, **kwargs)

    async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
        self._maybe_drop("configure")
        await super().write_gatt_char(characteristic, data, response)


@pytest.mark.parametrize("step, links_lost", [("discovery", 1), ("subscribe", 2), ("configure", 2)])
async def test_a_drop_at_each_reconnect_setup_step_is_retried(data_dir, step, links_lost):
    source = _simulated(seed=6, minutes=0.5)
    store = Store.open(data_dir)
    world = await BumbleWorld.get()
    tag = VirtualTag(source, speed=4.0)
    _DeliveryLog.delivered = []
    _DropAtSetupStep.tag, _DropAtSetupStep.step, _DropAtSetupStep.drops = tag, None, []
    backend = BleBackend("virtual-drop-at-step", BumbleScanner, _DropAtSetupStep)
    stop = asyncio.Event()
    policy = ReconnectPolicy(first_delay_s=0.01, max_delay_s=0.2, give_up_after_s=10.0, connect_timeout_s=2.0)

    async def drop_then_stop() -> None:
        while not (tag.streaming and tag.stats.sent_samples >= 40):
            await asyncio.sleep(0.001)
        _DropAtSetupStep.step = step  # the reconnect after this drop loses its link at `step`
        await tag.drop_connection()
        while not (tag.streaming and tag.stats.drops == 2):
            await asyncio.sleep(0.001)
        base = tag.stats.sent_samples
        while not (tag.streaming and tag.stats.sent_samples >= base + 40):
            await asyncio.sleep(0.001)
        stop.set()

    try:
        await tag.start()
        device = await find_device(tag.name, timeout_s=5.0, backend=backend)
        driver = asyncio.ensure_future(drop_then_stop())
        # Well under Bumble's 30 s GATT timeout: no step may wait for it.
        result = await asyncio.wait_for(record_session(
            store, device=device, profile=profile_by_id("tracker-imu"), rate_hz=RATE_HZ, stop=stop,
            backend=backend, time_scale=4.0, policy=policy), 8.0)
        await driver
        await asyncio.gather(*_DropAtSetupStep.drops)
    finally:
        _DropAtSetupStep.tag = None
        await tag.stop()
        await world.close()
    assert _DropAtSetupStep.step is None and len(_DropAtSetupStep.drops) == 1  # it did drop there
    assert result.status == "complete" and result.ended_by == "user"
    assert (tag.stats.drops, tag.stats.connections) == (2, 3)
    q = result.quality
    # A link lost after it came up (subscribing, configuring) is a disconnect of its own.
    assert (q.link.disconnects, q.reconnects) == (links_lost, links_lost)
    stored = store.load_recording(result.session_id)
    index = _sample_index(stored.t_s)
    np.testing.assert_array_equal(index, _delivered_indices(_DeliveryLog.delivered, tag.t_us0))
    assert q.gaps == len(store.events(result.session_id, kind="gap")) >= 1


async def test_a_drop_fails_gatt_requests_at_once_and_our_own_cancel_stays_a_cancel():
    world = await BumbleWorld.get()
    tag = VirtualTag(_simulated(seed=7, minutes=0.5))
    try:
        await tag.start()
        client = BleakClient(tag.address, backend=BumbleClient, timeout=2.0)
        await client.connect()
        # Ctrl-C while a request is in flight: a cancellation, and the link stays usable.
        read = asyncio.ensure_future(client.read_gatt_char(ti.CONFIG_UUID))
        await asyncio.sleep(0)
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        assert read.cancelled() and client.is_connected
        assert ti.decode_config(bytes(await client.read_gatt_char(ti.CONFIG_UUID))) == ti.DeviceConfig()
        # The radio drops with one request in flight and others queued behind it: all of
        # them end now with bleak's error for a lost link (not CancelledError, no 30 s wait).
        reads = [asyncio.ensure_future(client.read_gatt_char(uuid))
                 for uuid in (ti.CONFIG_UUID, ti.STATUS_UUID, ti.BATTERY_LEVEL_UUID)]
        await asyncio.sleep(0)
        await tag.drop_connection()
        results = await asyncio.wait_for(asyncio.gather(*reads, return_exceptions=True), 5.0)
        assert [type(r) for r in results] == [BleakError] * 3, results
        assert not client.is_connected
        with pytest.raises(BleakError):
            await asyncio.wait_for(client.read_gatt_char(ti.CONFIG_UUID), 5.0)
    finally:
        await tag.stop()
        await world.close()


# ---------------------------------------------------------------- the CLI under faults
def _record_cmd(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tracker", "record", "--virtual", "--no-prompt", "--plain",
            "--data-dir", str(data_dir), *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _record_virtual_source(seed: int, seconds: float) -> Recording:
    """What ``tracker record --virtual --seed S --seconds N`` streams (tracker/cli/record.py)."""
    return _simulated(seed=seed, minutes=max(seconds / 60.0 + 0.1, 0.5))


def _peek(db: Path) -> tuple[int, int] | None:
    """(sessions, committed samples) seen read-only; None while the store is not set up."""
    if not db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)) as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                return None
            row = conn.execute("SELECT (SELECT COUNT(*) FROM sessions),"
                               " (SELECT COALESCE(SUM(n), 0) FROM sample_chunks)").fetchone()
            return int(row[0]), int(row[1])
    except sqlite3.Error:
        return None


def _check_store_after_crash(data_dir: Path, source: Recording) -> list[tuple[str, int]]:
    """Open the store as the next command would and check every session in it.

    Returns (status, samples) per session.
    """
    store = Store.open(data_dir)  # must open whatever moment the writer died at
    try:
        assert store.check() == []
        out = []
        for info in store.sessions():
            assert info.status == "interrupted", info  # the writer is gone: never "recording"
            if info.n_samples:
                rec = store.load_recording(info.id)
                index = _sample_index(rec.t_s)
                # A contiguous prefix of what the tag streams: nothing missing, nothing extra.
                np.testing.assert_array_equal(index, np.arange(len(rec)))
                _assert_values(rec, source, index)
            else:
                assert list(store.iter_batches(info.id)) == []
            out.append((info.status, info.n_samples))
        return out
    finally:
        store.close()


#: Where each SIGKILL lands: a phase of the recorder's life, then a seeded random delay.
#: (Spawn-relative delays alone would all land in the 2-5 s of imports on a loaded CI box.)
KILL_PHASES = ("imports", "store-created", "session-created", "streaming")


def _kill_at(phase: str, delay_s: float, data_dir: Path) -> dict[str, Any]:
    db = data_dir / "tracker.sqlite"
    proc = subprocess.Popen(_record_cmd(data_dir, "--seconds", "60", "--speed", "10", "--seed", "3"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=_env(), cwd=REPO)
    deadline = time.monotonic() + 60
    seen: tuple[int, int] | None = None
    try:
        while phase != "imports":
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, f"the recorder never reached {phase}"
            if phase == "store-created" and db.exists():
                break
            seen = _peek(db)
            if seen and ((phase == "session-created" and seen[0]) or (phase == "streaming" and seen[1])):
                break
            time.sleep(0.01)
        time.sleep(delay_s)
        assert proc.poll() is None, proc.stderr.read().decode()  # still recording when killed
        at = _peek(db)  # what was committed just before the kill
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return {"phase": phase, "delay_s": delay_s, "rc": proc.returncode, "committed_before": at}


def test_sigkill_at_random_moments_leaves_a_consistent_store(tmp_path):
    rng = np.random.default_rng(1010)
    delays = {"imports": rng.uniform(0.3, 1.0), "store-created": rng.uniform(0.0, 0.3),
              "session-created": rng.uniform(0.0, 0.15), "streaming": rng.uniform(0.3, 2.0)}
    source = _record_virtual_source(seed=3, seconds=60)
    # The four recorders run at once (own data directories): same phases, less wall time.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(KILL_PHASES)) as pool:
        runs = list(pool.map(lambda p: _kill_at(p, float(delays[p]), tmp_path / p), KILL_PHASES))
    lines = []
    for run in runs:
        assert run["rc"] == -signal.SIGKILL
        sessions = _check_store_after_crash(tmp_path / run["phase"], source)
        committed = run["committed_before"]
        if committed is not None:  # what was seen committed before the kill is still there
            assert len(sessions) == committed[0] and sum(n for _, n in sessions) >= committed[1]
        if run["phase"] in ("session-created", "streaming"):
            assert len(sessions) == 1
        if run["phase"] == "streaming":
            assert sessions[0][1] > 0
        lines.append(f"{run['phase']}+{run['delay_s']:.2f}s: {sessions or 'no session'}")
    print("\nSIGKILL " + "; ".join(lines))


def test_two_record_processes_on_one_store_both_complete(tmp_path):
    data_dir = tmp_path / "home"  # new: both processes create and migrate it at once
    seeds = (1, 2)
    procs = [subprocess.Popen(_record_cmd(data_dir, "--seconds", "3", "--speed", "10", "--seed", str(seed)),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=_env(), cwd=REPO) for seed in seeds]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    with Store.open(data_dir) as store:
        assert store.check() == []
        assert len(store.sessions()) == 2
        for (out, _), seed in zip(outputs, seeds, strict=True):
            sid = next(ln.split()[1].rstrip(":") for ln in out.splitlines() if ln.startswith("session "))
            info, quality = store.session(sid), store.quality(sid)
            assert (info.status, info.n_samples) == ("complete", 301)
            assert (quality.lost_samples, quality.gaps, quality.link.ended_by) == (0, 0, "seconds")
            rec = store.load_recording(sid)
            index = _sample_index(rec.t_s)
            np.testing.assert_array_equal(index, np.arange(301))
            _assert_values(rec, _record_virtual_source(seed, 3), index)


#: ``tracker record`` with a store whose SQLite connection may only grow by a few pages:
#: SQLite then fails with SQLITE_FULL exactly as on a full disk.
FULL_DISK_RECORD = """
import sys
import tracker.cli.record as record_cli
from tracker.store import Store

def open_nearly_full(data_dir):
    store = Store.open(data_dir)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count={pages + int(sys.argv[1])}")
    return store

record_cli.open_store = open_nearly_full
from tracker.cli import main
main(sys.argv[2:])
"""


def test_full_disk_while_recording_ends_with_one_error_and_keeps_what_was_committed(tmp_path):
    data_dir = tmp_path / "home"
    script = tmp_path / "record_full.py"
    script.write_text(FULL_DISK_RECORD)
    # 10 minutes of data at 2x: without a clean stop this would run for 5 minutes.
    args = ["record", "--virtual", "--no-prompt", "--plain", "--seconds", "600", "--speed", "2",
            "--seed", "4", "--data-dir", str(data_dir)]
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(script), "12", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=_env(), cwd=REPO, timeout=60)
    wall_s = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1]
    assert last.startswith("error: disk full while recording samples in ")
    assert last.endswith("everything committed before is kept")
    assert sum(ln.startswith("error:") for ln in proc.stderr.splitlines()) == 1
    sessions = _check_store_after_crash(data_dir, _record_virtual_source(4, 600))
    assert len(sessions) == 1 and sessions[0][1] > 0
    print(f"\nfull disk: exit 1 after {wall_s:.1f} s, session kept {sessions[0]}, '{last}'")
