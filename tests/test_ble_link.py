"""The Bumble backend under plain bleak, against the emulated tag (real BLE stack, no radio).

These tests use bleak's public API only (``BleakScanner``/``BleakClient`` with
``backend=``), so they check that the backend behaves like a bleak backend, and that
the virtual tag speaks ``firmware-notes/gatt-profile.md``.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("bumble")

from bleak import BleakClient, BleakScanner  # noqa: E402
from bleak.exc import BleakGATTProtocolError  # noqa: E402

from tracker.ble.bumble_backend import BumbleClient, BumbleScanner, BumbleWorld  # noqa: E402
from tracker.ble.virtual_tag import VirtualTag  # noqa: E402
from tracker.profiles import tracker_imu as ti  # noqa: E402
from tracker.recording import Recording, RecordingMeta  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def _recording(seconds: float = 2.0, rate_hz: float = 100.0, mag: bool = True) -> Recording:
    n = int(seconds * rate_hz) + 1
    t = np.arange(n) / rate_hz
    acc = np.column_stack([np.sin(t), np.cos(2 * t), 9.81 + 0.1 * np.sin(5 * t)])
    gyr = np.column_stack([0.3 * np.sin(3 * t), 0.1 * t, -0.2 + 0 * t])
    m = np.column_stack([20 + 0 * t, -5 + t, 40 + 0 * t]) if mag else None
    return Recording(t, acc, gyr, m, RecordingMeta(profile="simulator", nominal_rate_hz=rate_hz))


@pytest.fixture
async def world():
    w = await BumbleWorld.get()
    yield w
    await w.close()


@pytest.fixture
async def tag(world):
    t = VirtualTag(_recording(), profile="tracker-imu")
    await t.start()
    yield t
    await t.stop()


async def test_scan_finds_name_and_service_and_filter_rejects_others(tag):
    found = await BleakScanner.find_device_by_name(tag.name, timeout=3.0, backend=BumbleScanner)
    assert found is not None and found.address == tag.address
    seen = await BleakScanner.discover(0.3, return_adv=True, backend=BumbleScanner)
    _, adv = seen[tag.address]
    assert adv.local_name == tag.name == "tracker-imu-0001"
    assert adv.service_uuids == [ti.SERVICE_UUID]  # deduplicated (scan response repeats it)
    only_other = await BleakScanner.discover(
        0.3, return_adv=True, backend=BumbleScanner, service_uuids=["0000180d-0000-1000-8000-00805f9b34fb"])
    assert tag.address not in only_other


async def test_connect_discovers_gatt_reads_dis_and_config(tag):
    async with BleakClient(tag.address, backend=BumbleClient, timeout=3.0) as client:
        assert client.is_connected and client.mtu_size == 247
        data = client.services.get_characteristic(ti.DATA_UUID)
        assert data is not None and "notify" in data.properties
        assert any(d.uuid.startswith("00002902") for d in data.descriptors)  # CCCD
        assert (await client.read_gatt_char("2a24")).decode() == "tracker-imu"
        assert (await client.read_gatt_char("2a26")).decode().startswith("1.")
        assert (await client.read_gatt_char(ti.BATTERY_LEVEL_UUID))[0] == tag.battery_pct
        cfg = ti.decode_config(bytes(await client.read_gatt_char(ti.CONFIG_UUID)))
        assert cfg == ti.DeviceConfig()  # the spec's defaults, not streaming
        status = ti.decode_status(bytes(await client.read_gatt_char(ti.STATUS_UUID)))
        assert not status.streaming and status.battery_pct == tag.battery_pct


@pytest.mark.parametrize("value, code", [
    (ti.encode_config(ti.DeviceConfig())[:8], 0x0D),            # wrong length
    (b"\x02" + ti.encode_config(ti.DeviceConfig())[1:], 0x13),  # unknown version
    (ti.encode_config(ti.DeviceConfig())[:2] + (123).to_bytes(2, "little")
     + ti.encode_config(ti.DeviceConfig())[4:], 0x13),           # rate not in the list
], ids=["short", "version", "rate"])
async def test_bad_config_gets_the_att_error_of_the_spec(tag, value, code):
    async with BleakClient(tag.address, backend=BumbleClient, timeout=3.0) as client:
        with pytest.raises(BleakGATTProtocolError) as err:
            await client.write_gatt_char(ti.CONFIG_UUID, value, response=True)
        assert err.value.code == code
        assert tag.stats.rejected_writes == 1 and not tag.streaming


async def test_rate_change_while_streaming_is_refused_and_stop_is_always_accepted(tag):
    received: list[bytes] = []
    async with BleakClient(tag.address, backend=BumbleClient, timeout=3.0) as client:
        await client.start_notify(ti.DATA_UUID, lambda _c, d: received.append(bytes(d)))
        start = ti.DeviceConfig(stream=True)
        await client.write_gatt_char(ti.CONFIG_UUID, ti.encode_config(start), response=True)
        await asyncio.sleep(0.1)
        assert tag.streaming and received
        faster = ti.DeviceConfig(stream=True, rate_hz=200)
        with pytest.raises(BleakGATTProtocolError) as err:
            await client.write_gatt_char(ti.CONFIG_UUID, ti.encode_config(faster), response=True)
        assert err.value.code == 0x80
        await client.write_gatt_char(ti.CONFIG_UUID, ti.encode_config(ti.DeviceConfig(rate_hz=200)), response=True)
        assert not tag.streaming


async def test_notify_toggle_writes_cccd_and_stops_data(tag):
    received: list[bytes] = []
    async with BleakClient(tag.address, backend=BumbleClient, timeout=3.0) as client:
        data = client.services.get_characteristic(ti.DATA_UUID)
        cccd = next(d for d in data.descriptors if d.uuid.startswith("00002902"))
        await client.start_notify(data, lambda _c, d: received.append(bytes(d)))
        assert bytes(await client.read_gatt_descriptor(cccd.handle)) == b"\x01\x00"
        await client.write_gatt_char(ti.CONFIG_UUID, ti.encode_config(ti.DeviceConfig(stream=True)), response=True)
        await asyncio.sleep(0.15)
        await client.stop_notify(data)
        assert bytes(await client.read_gatt_descriptor(cccd.handle)) == b"\x00\x00"
        n = len(received)
        await asyncio.sleep(0.1)
        assert n > 0 and len(received) == n  # nothing after stop_notify
        seqs = [ti.decode_packet(p).seq for p in received]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_absent_device_times_out_and_the_central_still_connects(tag):
    with pytest.raises(TimeoutError):
        await BleakClient("F1:00:00:00:99:99", backend=BumbleClient, timeout=0.3).connect()
    async with BleakClient(tag.address, backend=BumbleClient, timeout=3.0) as client:
        assert client.is_connected


async def test_tag_drop_fires_disconnected_callback_once_and_tag_readvertises(tag):
    calls: list[object] = []
    client = BleakClient(tag.address, backend=BumbleClient, timeout=3.0,
                         disconnected_callback=lambda c: calls.append(c))
    await client.connect()
    await tag.drop_connection()
    for _ in range(100):
        if calls:
            break
        await asyncio.sleep(0.01)
    assert len(calls) == 1 and not client.is_connected
    await client.connect()  # the tag advertises again after the drop
    assert client.is_connected and tag.stats.connections == 2
    await client.disconnect()
    await asyncio.sleep(0.05)
    assert len(calls) == 2  # like BlueZ: also on a requested disconnect (hence the "done" flag)


async def test_an_untested_bumble_version_is_warned_about(monkeypatch):
    import bumble

    from tracker.errors import TrackerWarning

    monkeypatch.setattr(bumble, "__version__", "0.0.999")
    with pytest.warns(TrackerWarning, match="0.0.999 is not the tested 0.0.236"):
        w = await BumbleWorld.get()
    await w.close()
