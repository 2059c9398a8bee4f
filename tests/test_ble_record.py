"""Recording over the emulated BLE link into a real store: every sample, gaps, reconnects.

The tag streams simulator data; what the client stores is compared with what the tag
sent (``TagStats``) and with the simulator's values.
"""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

pytest.importorskip("bumble")

from tracker.ble.bumble_backend import BumbleWorld  # noqa: E402
from tracker.ble.client import ReconnectPolicy, find_device, profile_by_id, virtual_backend  # noqa: E402
from tracker.ble.emulated import record_virtual  # noqa: E402
from tracker.ble.recorder import RecorderObserver, record_session  # noqa: E402
from tracker.ble.virtual_tag import VirtualTag  # noqa: E402
from tracker.recording import Recording  # noqa: E402
from tracker.schema import STANDARD_GRAVITY_M_S2  # noqa: E402
from tracker.simulate import SensorModel, simulate_session  # noqa: E402
from tracker.store import Store  # noqa: E402

pytestmark = pytest.mark.timeout(60)

#: Half an LSB at ±16 g / ±2000 °/s (both tracker-imu defaults and WitMotion) and 0.1 µT.
ACC_TOL = 16 * STANDARD_GRAVITY_M_S2 / 32768 / 2 + 1e-9
GYR_TOL = np.deg2rad(2000) / 32768 / 2 + 1e-9
MAG_TOL = 0.05 + 1e-9


def _sim(rate_hz: float, seconds: float, *, mag: bool = True, start_s: float = 0.0) -> Recording:
    """A stretch of a simulated session (no simulated packet drops: the link makes its own)."""
    sim = simulate_session(seed=7, rate_hz=rate_hz, with_mag=mag,
                           sensor=dataclasses.replace(SensorModel(), drop_prob=0.0))
    k0 = int(start_s * rate_hz)
    return sim.recording.slice(k0, k0 + int(seconds * rate_hz) + 1)


def _sent_indices(stats) -> np.ndarray:
    return np.concatenate([np.arange(a, b) for a, b in stats.sent_ranges])


def _assert_values(stored: Recording, source: Recording, index: np.ndarray, *, mag: bool = True) -> None:
    np.testing.assert_array_less(np.abs(stored.acc_m_s2 - source.acc_m_s2[index]), ACC_TOL)
    np.testing.assert_array_less(np.abs(stored.gyr_rad_s - source.gyr_rad_s[index]), GYR_TOL)
    if mag:
        assert stored.mag_uT is not None
        np.testing.assert_array_less(np.abs(stored.mag_uT - source.mag_uT[index]), MAG_TOL)


async def test_200hz_stream_every_sent_sample_is_stored_in_order(data_dir):
    source = _sim(200.0, 3.0, start_s=1.0)
    store = Store.open(data_dir)
    run = await record_virtual(store, source, rate_hz=200.0, speed=1.0)
    q, stats = run.result.quality, run.tag_stats
    assert run.result.status == "complete" and q.link.ended_by == "end_of_data"
    assert stats.sent_ranges == [(0, len(source))] and stats.lost_samples == 0
    stored = store.load_recording(run.result.session_id)
    assert len(stored) == len(source) == q.samples
    # In order, on the device clock: exactly 5 ms apart from the first sample.
    np.testing.assert_allclose(stored.t_s, np.arange(len(source)) / 200.0, atol=1e-6)
    _assert_values(stored, source, np.arange(len(source)))
    assert q.lost_samples == 0 and q.gaps == 0 and q.reconnects == 0
    assert q.achieved_rate_hz == pytest.approx(200.0, rel=1e-6)
    info = store.session(run.result.session_id)
    assert (info.profile, info.nominal_rate_hz, info.status) == ("tracker-imu", 200.0, "complete")
    assert store.quality(run.result.session_id) == q


async def test_link_drop_reconnects_records_the_gap_and_keeps_the_time_base(data_dir):
    rate = 100.0
    source = _sim(rate, 6.0)
    store = Store.open(data_dir)
    run = await record_virtual(store, source, speed=3.0, drop_after_s=[2.0])
    sid, q, stats = run.result.session_id, run.result.quality, run.tag_stats
    assert run.result.status == "complete"
    assert (q.link.disconnects, q.reconnects, q.gaps) == (1, 1, 1)
    assert len(stats.sent_ranges) == 2 and stats.lost_samples > 0
    stored = store.load_recording(sid)
    # Sample times stay on the device clock across the gap: whole sample indices.
    index = np.rint(stored.t_s * rate).astype(int)
    np.testing.assert_allclose(stored.t_s, index / rate, atol=1e-6)
    _assert_values(stored, source, index)
    # Everything stored was sent; at most the packet in flight at the drop is missing
    # (radio loss loses it, as on a real link), and the decoder counts exactly the rest.
    sent = _sent_indices(stats)
    per_packet = int(rate * 0.020 * 3.0)  # 20 ms of device time, scaled by the speed
    assert set(index) <= set(sent) and len(sent) - len(index) <= per_packet
    assert len(stored) == q.samples and len(stored) + q.lost_samples == len(source)
    events = {e.kind: e for e in store.events(sid)}
    gap = events["gap"]
    before, after = index[np.argmax(np.diff(index) > 1)], index[np.argmax(np.diff(index) > 1) + 1]
    assert gap.t_s == pytest.approx(before / rate, abs=1e-6)
    assert gap.data["lost_samples"] == q.lost_samples == after - before - 1
    assert gap.data["cause"] == "reconnect"
    assert gap.data["duration_s"] == pytest.approx((after - before) / rate, abs=1e-6)
    assert events["disconnect"].t_s == pytest.approx(before / rate, abs=1e-6)
    assert events["reconnect"].t_s == pytest.approx(after / rate, abs=1e-6)


@pytest.mark.parametrize("mag", [True, False], ids=["with-mag", "no-mag-reply"])
async def test_witmotion_over_the_link_decodes_to_the_simulator_values(data_dir, mag):
    rate = 100.0
    source = _sim(rate, 2.0, mag=mag, start_s=1.0)
    store = Store.open(data_dir)
    run = await record_virtual(store, source, profile="witmotion", speed=1.0)
    q, stats = run.result.quality, run.tag_stats
    assert store.session(run.result.session_id).profile == "witmotion"
    assert stats.rejected_writes == 0  # the profile's unlock/rate/save/read commands are valid
    stored = store.load_recording(run.result.session_id)
    assert len(stored) == stats.sent_samples == len(source)  # held samples flushed at the end
    np.testing.assert_allclose(stored.t_s, np.arange(len(source)) / rate, atol=1e-9)
    _assert_values(stored, source, np.arange(len(source)), mag=False)
    assert q.lost_samples == 0 and q.gaps == 0
    if mag:
        # Polled every 0.2 s and held: close to the simulator's field (the sensor is still).
        assert stored.mag_uT is not None
        assert np.abs(stored.mag_uT - source.mag_uT).max() < 3.0
    else:  # a sensor that never answers the magnetometer register: no mag column at all
        assert stored.mag_uT is None


class _Collect(RecorderObserver):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.batches: list[Recording] = []
        self.quality = None

    def on_start(self, started) -> None:
        self.calls.append("start")
        self.session_id = started.session_id

    def on_batch(self, batch: Recording) -> None:
        self.batches.append(batch)

    def on_event(self, kind, t_s, data) -> None:
        self.calls.append(kind)

    def on_stop(self, quality) -> None:
        self.calls.append("stop")
        self.quality = quality


class _Broken(RecorderObserver):
    def on_batch(self, batch: Recording) -> None:
        raise RuntimeError("live view bug")


async def test_observers_see_what_is_stored_and_a_failing_one_is_switched_off(data_dir):
    source = _sim(100.0, 3.0)
    store = Store.open(data_dir)
    seen, broken = _Collect(), _Broken()
    run = await record_virtual(store, source, speed=3.0, drop_after_s=[1.0], observers=[broken, seen])
    sid = run.result.session_id
    assert seen.calls[0] == "start" and seen.session_id == sid and seen.calls[-1] == "stop"
    assert ["disconnect", "gap", "reconnect"] == [c for c in seen.calls if c not in ("start", "stop")]
    live = Recording.concat(seen.batches)
    stored = store.load_recording(sid)
    np.testing.assert_array_equal(live.to_array(), stored.to_array())
    assert seen.quality == store.quality(sid)


async def test_session_ends_complete_when_the_tag_vanishes_and_reconnects_give_up(data_dir):
    store = Store.open(data_dir)
    world = await BumbleWorld.get()
    tag = VirtualTag(_sim(100.0, 20.0), speed=2.0)
    try:
        await tag.start()
        backend = virtual_backend()
        device = await find_device(tag.name, timeout_s=3.0, backend=backend)

        async def vanish() -> None:
            while tag.stats.sent_samples < 100:
                await asyncio.sleep(0.005)
            await tag.drop_connection()
            await tag.stop()  # gone: every reconnect attempt times out

        vanisher = asyncio.ensure_future(vanish())
        policy = ReconnectPolicy(first_delay_s=0.05, give_up_after_s=1.0, connect_timeout_s=0.25)
        result = await asyncio.wait_for(record_session(
            store, device=device, profile=profile_by_id("tracker-imu"), rate_hz=100.0,
            backend=backend, time_scale=2.0, policy=policy), 10.0)
        await vanisher
    finally:
        await tag.stop()
        await world.close()
    assert result.status == "complete" and result.ended_by == "gave_up"
    assert result.quality.link.gave_up is True and result.quality.link.disconnects == 1
    info = store.session(result.session_id)
    # All but at most the packet in flight when the link dropped.
    assert info.status == "complete" and 0 <= tag.stats.sent_samples - info.n_samples <= 2
    gave_up = store.events(result.session_id, kind="gave_up")
    assert len(gave_up) == 1 and gave_up[0].data["attempts"] >= 2


async def test_seconds_limit_is_device_time(data_dir):
    store = Store.open(data_dir)
    run = await record_virtual(store, _sim(100.0, 10.0), speed=5.0, seconds=1.5)
    q = run.result.quality
    assert run.result.ended_by == "seconds" and run.result.status == "complete"
    assert q.samples == 151 and q.duration_s == pytest.approx(1.5)  # samples 0 .. 1.5 s
