"""Live phone paths over real HTTP on 127.0.0.1: phyphox remote access and Sensor Logger push.

The phone side is written from the apps' documented protocols (tests/phone_emulators.py);
tracker's side is the real recorder, decoders and store.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from phone_emulators import PhyphoxEmulator, post, push_sensor_logger

from tracker.ble.client import ReconnectPolicy
from tracker.ble.recorder import record_session
from tracker.phone import PhyphoxSource, SensorLoggerSource
from tracker.profiles.phone import PHYPHOX, sensor_logger_profile
from tracker.store import Store

RATE = 100.0
T0_NS = 1_714_548_612_000_000_000


def _motion(seconds: float, rate: float = RATE, t_offset: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phone upright (+y up), rolling slowly: times, specific force, gyro."""
    t = t_offset + np.arange(int(seconds * rate)) / rate
    a = 0.3 * np.sin(2 * np.pi * 0.3 * t)
    w = 0.3 * 2 * np.pi * 0.3 * np.cos(2 * np.pi * 0.3 * t)
    acc = 9.80665 * np.column_stack([np.zeros_like(t), np.cos(a), -np.sin(a)]) + 0.05 * np.sin(t)[:, None]
    gyr = np.column_stack([w, 0.01 * np.ones_like(t), -0.02 * np.ones_like(t)])
    return t, acc, gyr


def _stored(store: Store, sid: str) -> np.ndarray:
    return store.load_recording(sid).to_array()


# ----------------------------------------------------------------------------- phyphox
def test_phyphox_live_at_100hz_loses_no_sample(tmp_path: Path) -> None:
    t, acc, gyr = _motion(4.0)
    store = Store.open(tmp_path)
    with PhyphoxEmulator((t, acc), (t + 0.003, gyr), speed=1.0) as emu:
        async def main() -> object:
            return await record_session(
                store, device="phone", profile=PHYPHOX, rate_hz=RATE, source=lambda q: PhyphoxSource(emu.url, q),
                until=lambda rec: emu.done and rec.samples >= len(t) - 1)
        result = asyncio.run(main())
        assert not emu.measuring  # stopped at the end
        assert any(r.startswith("/control?cmd=start") for r in emu.requests)
        assert any("%7Cacc_time" in r or "|acc_time" in r for r in emu.requests)  # incremental reads
    data = _stored(store, result.session_id)
    # Every accelerometer sample the gyroscope covers, plus the last held ones at the end.
    assert len(data) == len(t), (len(data), len(t))
    assert result.quality.lost_samples == 0 and result.quality.gaps == 0
    np.testing.assert_allclose(data[:, 0], t - t[0], atol=1e-6)
    np.testing.assert_allclose(data[:, 1:4], acc, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(data[1:-1, 4:7], gyr[1:-1], atol=0.01)  # gyro interpolated 3 ms over


def test_phyphox_wifi_drop_recovers_every_sample(tmp_path: Path) -> None:
    t, acc, gyr = _motion(4.0)
    store = Store.open(tmp_path)
    policy = ReconnectPolicy(first_delay_s=0.05, max_delay_s=0.2, give_up_after_s=10, connect_timeout_s=1,
                             gatt_timeout_s=1)
    # Wi-Fi gone at the poller's 4th read and for its next 5 requests (~0.5 s of backoff).
    with PhyphoxEmulator((t, acc), (t + 0.002, gyr), speed=2.0, outage_at_read=4, outage_requests=6) as emu:
        async def main() -> object:
            return await record_session(
                store, device="phone", profile=PHYPHOX, rate_hz=RATE, policy=policy,
                source=lambda q: PhyphoxSource(emu.url, q, policy=policy),
                until=lambda rec: emu.done and rec.samples >= len(t) - 1)
        result = asyncio.run(main())
    data = _stored(store, result.session_id)
    assert len(data) == len(t)
    assert np.all(np.diff(data[:, 0]) < 1.5 / RATE)  # no hole: the phone kept the samples
    kinds = [e.kind for e in store.events(result.session_id)]
    assert "disconnect" in kinds and "reconnect" in kinds


def test_phyphox_replays_a_real_ios_export(tmp_path: Path) -> None:
    from test_importers_peer import PEER

    from tracker.importers import read_export

    if PEER is None:
        pytest.skip("real peer exports absent (../shared/data/peerfiles)")
    folder = PEER / "phyphox/kartof0nix-ios-simple/semicolon-cd58a79"

    def sheet(name: str) -> tuple[np.ndarray, np.ndarray]:
        rows = [r.split(";") for r in (folder / name).read_text().splitlines()[1:]]
        arr = np.array(rows, dtype=float)
        return arr[:, 0], arr[:, 1:4]
    acc, gyr = sheet("Accelerometer.csv"), sheet("Gyroscope.csv")
    store = Store.open(tmp_path)
    with PhyphoxEmulator(acc, gyr, speed=8.0) as emu:
        async def main() -> object:
            return await record_session(
                store, device="phone", profile=PHYPHOX, rate_hz=RATE, source=lambda q: PhyphoxSource(emu.url, q),
                until=lambda rec: emu.done and rec.samples >= len(acc[0]) - 2)
        result = asyncio.run(main())
    live = store.load_recording(result.session_id)
    imported = read_export(folder).recording
    # The import keeps the accelerometer samples the gyroscope covers; live also keeps the
    # first one (its time precedes the gyroscope's first sample by 10 ms).
    assert len(live) == len(acc[0]) and len(imported) == len(acc[0]) - 1
    np.testing.assert_allclose(live.acc_m_s2[1:], imported.acc_m_s2, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(live.gyr_rad_s[1:], imported.gyr_rad_s, atol=1e-6)


def test_phyphox_experiment_without_gyroscope_is_refused(tmp_path: Path) -> None:
    from tracker.errors import DeviceError

    t, acc, gyr = _motion(1.0)
    with PhyphoxEmulator((t, acc), (t, gyr)) as emu:
        orig = emu.handle

        def no_gyro(path: str, params: list) -> str:
            body = orig(path, params)
            if path == "/config":
                conf = json.loads(body)
                conf["inputs"] = conf["inputs"][:1]
                return json.dumps(conf)
            return body
        emu.handle = no_gyro  # type: ignore[method-assign]
        with pytest.raises(DeviceError, match="no gyroscope.*New simple experiment"):
            asyncio.run(record_session(Store.open(tmp_path), device="phone", profile=PHYPHOX, rate_hz=RATE,
                                       source=lambda q: PhyphoxSource(emu.url, q)))
    assert Store.open(tmp_path).sessions() == []


# ----------------------------------------------------------------------- Sensor Logger
async def _receive(store: Store, push, *, negate: bool | None = None, expect: int, **kw) -> tuple[object, object]:
    holder = {}
    stop = asyncio.Event()

    def make(q: asyncio.Queue) -> SensorLoggerSource:
        holder["src"] = SensorLoggerSource("127.0.0.1:0", q, **kw)
        return holder["src"]

    task = asyncio.ensure_future(record_session(
        store, device="phone (Sensor Logger)", profile=sensor_logger_profile(negate), rate_hz=RATE, stop=stop,
        source=make, until=lambda rec: rec.samples >= expect))
    while "src" not in holder or not holder["src"].ready.is_set():
        await asyncio.sleep(0.01)
    src = holder["src"]
    out = await asyncio.to_thread(push, src.url)
    await asyncio.sleep(0.3)
    if not task.done():
        stop.set()
    return await task, (src, out)


@pytest.mark.parametrize("platform", ["android", "ios"])
def test_sensor_logger_push_at_100hz_loses_no_sample_and_judges_ios(tmp_path: Path, platform: str) -> None:
    t, acc, gyr = _motion(5.0)
    t_ns = T0_NS + np.round(t * 1e9).astype(np.int64)
    grav = acc - 0.05 * np.sin(t)[:, None]
    user = acc - grav
    sign = -1.0 if platform == "ios" else 1.0
    sensors = {"accelerometer": sign * user, "gravity": sign * grav, "gyroscope": gyr}
    store = Store.open(tmp_path)
    result, (src, statuses) = asyncio.run(_receive(
        store, lambda url: push_sensor_logger(url, t_ns, sensors, pace=4.0), expect=len(t)))
    assert set(statuses) == {200}
    data = _stored(store, result.session_id)
    assert len(data) == len(t) and result.quality.lost_samples == 0
    np.testing.assert_allclose(data[:, 1:4], acc, atol=1e-9)  # +g up whatever the platform
    np.testing.assert_allclose(data[:, 4:7], gyr, atol=1e-12)
    np.testing.assert_allclose(data[:, 0], t, atol=1e-6)
    assert src.url.startswith("http://127.0.0.1:") and "token=" in src.url


def test_sensor_logger_refuses_without_token_and_survives_bad_requests(tmp_path: Path) -> None:
    t, acc, gyr = _motion(2.0)
    t_ns = T0_NS + np.round(t * 1e9).astype(np.int64)
    good = {"totalacceleration": acc, "gyroscope": gyr}

    def client(url: str) -> dict:
        base, _, token = url.partition("?token=")
        body = json.dumps({"messageId": 0, "sessionId": "s", "deviceId": "d", "payload": [
            {"name": "totalacceleration", "time": int(T0_NS), "values": {"x": 0, "y": 9.8, "z": 0}}]}).encode()
        out = {
            "none": post(base, body)[0],
            "wrong": post(base + "?token=" + token[:-2] + "xx", body)[0],
            "bearer": post(base, b"{", headers={"Authorization": "Bearer " + token})[0],  # right token, bad JSON
            "bad_json": post(url, b"{not json")[0],
            "big": post(url, b" " * (5 * 1024 * 1024))[0],
            "unknown": post(url, json.dumps({"payload": [{"name": "tricorder", "time": 1, "values": {}}]}).encode()),
        }
        out["statuses"] = push_sensor_logger(url, t_ns, good)
        return out

    store = Store.open(tmp_path)
    result, (src, out) = asyncio.run(_receive(store, client, expect=len(t)))
    assert out["none"] == 401 and out["wrong"] == 403
    assert out["bearer"] == 400 and out["bad_json"] == 400 and out["big"] == 413
    assert out["unknown"][0] == 200 and out["unknown"][1]["unknown_sensors"] == ["tricorder"]
    assert set(out["statuses"]) == {200}
    assert len(_stored(store, result.session_id)) == len(t)  # the session went on
    assert src.counts["401"] == 1 and src.counts["403"] == 1


def test_sensor_logger_wrong_token_stores_nothing(tmp_path: Path) -> None:
    t, acc, gyr = _motion(1.0)
    t_ns = T0_NS + np.round(t * 1e9).astype(np.int64)

    def client(url: str) -> list[int]:
        return push_sensor_logger(url.replace("token=", "token=x"), t_ns, {"totalacceleration": acc, "gyroscope": gyr})

    store = Store.open(tmp_path)

    async def main() -> tuple[object, object]:
        return await asyncio.wait_for(_receive(store, client, expect=10**9), 20)
    result, (_, statuses) = asyncio.run(main())
    assert set(statuses) == {403}
    assert result.session_id is None and store.sessions() == []


def test_sensor_logger_replays_a_real_ios_export(tmp_path: Path) -> None:
    from test_importers_peer import PEER

    from tracker.importers import read_export

    if PEER is None:
        pytest.skip("real peer exports absent (../shared/data/peerfiles)")
    folder = PEER / "sensorlogger/azyfen-pdr/inhand-20-steps-Cxh"

    def sheet(name: str) -> tuple[np.ndarray, np.ndarray]:
        lines = (folder / name).read_text().splitlines()
        head = lines[0].split(",")
        arr = np.array([r.split(",") for r in lines[1:]], dtype=float)
        return arr[:, head.index("time")].astype(np.int64), arr[:, [head.index(a) for a in "xyz"]]
    t_ns, user = sheet("Accelerometer.csv")
    _, grav = sheet("Gravity.csv")
    _, gyr = sheet("Gyroscope.csv")
    store = Store.open(tmp_path)
    # Metadata says iOS, standardisation off: the push carries no metadata, so say so.
    result, _ = asyncio.run(_receive(
        store, lambda url: push_sensor_logger(url, t_ns, {"accelerometer": user, "gravity": grav, "gyroscope": gyr}),
        negate=True, expect=len(t_ns)))
    live = store.load_recording(result.session_id)
    imported = read_export(folder).recording  # the import reads Metadata.csv
    assert len(live) == len(t_ns)
    np.testing.assert_allclose(live.acc_m_s2, imported.acc_m_s2, atol=1e-9)
    np.testing.assert_allclose(live.gyr_rad_s, imported.gyr_rad_s, atol=1e-9)


# ------------------------------------------------------------------------------- CLI
def test_cli_record_from_phyphox(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tracker.cli import cli

    t, acc, gyr = _motion(30.0)
    with PhyphoxEmulator((t, acc), (t + 0.001, gyr), speed=4.0) as emu:
        r = CliRunner().invoke(cli, ["record", "--phyphox", emu.url, "--seconds", "3", "--no-prompt", "--plain",
                                     "--guided", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    store = Store.open(tmp_path)
    (info,) = store.sessions()
    rec = store.load_recording(info.id)
    assert info.meta.profile == "phyphox-live" and info.status == "complete"
    assert rec.duration_s == pytest.approx(3.0, abs=0.02)
    assert "(seconds)" in r.output
    assert "silence it (do not disturb)" in r.output  # a notification's buzz looks like a pop


def test_cli_sensor_logger_without_the_phone_extra_says_what_to_install_before_starting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from click.testing import CliRunner

    from tracker.cli import cli

    monkeypatch.setitem(sys.modules, "starlette", None)  # as if not installed
    r = CliRunner().invoke(cli, ["record", "--sensor-logger", "127.0.0.1:0", "--seconds", "1", "--no-prompt",
                                 "--plain", "--data-dir", str(tmp_path / "store")])
    assert r.exit_code == 1
    assert "--sensor-logger needs starlette: pip install 'tracker[phone]'" in r.output
    assert "Stretch gently" not in r.output  # nothing started, no session store made
    assert not (tmp_path / "store").exists()


def test_cli_record_from_sensor_logger_push(tmp_path: Path) -> None:
    import os
    import re
    import subprocess
    import sys

    t, acc, gyr = _motion(6.0)
    t_ns = T0_NS + np.round(t * 1e9).astype(np.int64)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "tracker", "record", "--sensor-logger", "127.0.0.1:0", "--seconds",
                             "4", "--no-prompt", "--plain", "--data-dir", str(tmp_path)],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = None
        assert proc.stderr is not None
        for line in proc.stderr:
            m = re.search(r"(http://127\.0\.0\.1:\d+/push\?token=\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url is not None
        statuses = push_sensor_logger(url, t_ns, {"totalacceleration": acc, "gyroscope": gyr}, pace=4.0)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert statuses[0] == 200 and set(statuses) <= {200, -1}  # -1: no longer listening after 4 s
    store = Store.open(tmp_path)
    (info,) = store.sessions()
    assert store.load_recording(info.id).duration_s == pytest.approx(4.0, abs=0.02)
    assert "lost 0 samples" in out


# ------------------------------------------------------------------------ bad bytes
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_items = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["accelerometer", "gravity", "gyroscope", "totalacceleration", "x", 3, None]),
    "time": st.one_of(st.integers(-2**70, 2**70), st.floats(), st.text(max_size=3), st.none()),
    "values": st.one_of(st.none(), st.lists(st.floats()), st.dictionaries(st.sampled_from("xyzw"), st.one_of(
        st.floats(), st.text(max_size=2), st.none()))),
})
_bodies = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda p: json.dumps({"payload": p}, allow_nan=True).encode(), st.lists(_items, max_size=6)),
    st.builds(lambda b: json.dumps({"buffer": b}).encode(), st.dictionaries(
        st.sampled_from(["accX", "acc_time", "gyrX", "gyr_time"]),
        st.one_of(st.none(), st.fixed_dictionaries({"buffer": st.lists(st.one_of(st.floats(), st.none()))})))),
)


_CONFIG: list[bytes] = []


def _config() -> bytes:
    if not _CONFIG:
        emu = PhyphoxEmulator((np.zeros(1), np.zeros((1, 3))), (np.zeros(1), np.zeros((1, 3))))
        _CONFIG.append(emu.handle("/config", []).encode())
        emu.server.server_close()
    return _CONFIG[0]


def _check_decoders(body: bytes) -> None:
    from tracker.errors import DecodeError
    from tracker.profiles.phone import (
        PHYPHOX,
        PHYPHOX_CONFIG,
        PHYPHOX_GET,
        SENSOR_LOGGER_PUSH,
    )

    config = _config()
    for profile, feeds in ((sensor_logger_profile(None), [(SENSOR_LOGGER_PUSH, body)]),
                           (PHYPHOX, [(PHYPHOX_CONFIG, config), (PHYPHOX_GET, body), (PHYPHOX_CONFIG, body)])):
        dec = profile.make_decoder(RATE)
        for channel, data in feeds:
            try:
                dec.feed(channel, data, 0.0)
            except DecodeError:
                pass
        try:
            dec.flush()
        except DecodeError:
            pass


@settings(max_examples=150, deadline=None)
@given(_bodies)
def test_phone_decoders_only_raise_decode_errors(body: bytes) -> None:
    _check_decoders(body)


@pytest.mark.fuzz
@settings(max_examples=10_000, deadline=None)
@given(_bodies)
def test_phone_decoders_fuzz(body: bytes) -> None:
    _check_decoders(body)


def test_sensor_logger_gravity_arriving_after_the_first_message_loses_nothing(tmp_path: Path) -> None:
    t, acc, gyr = _motion(2.0)
    t_ns = T0_NS + np.round(t * 1e9).astype(np.int64)
    grav = acc - 0.05 * np.sin(t)[:, None]

    def client(url: str) -> list[int]:
        from phone_emulators import sensor_logger_payload

        first = json.dumps({"messageId": 0, "sessionId": "s", "deviceId": "d", "payload": sensor_logger_payload(
            t_ns[:50], {"accelerometer": acc[:50] - grav[:50], "gyroscope": gyr[:50]})}).encode()
        second = json.dumps({"messageId": 1, "sessionId": "s", "deviceId": "d", "payload": sensor_logger_payload(
            t_ns[:50], {"gravity": grav[:50]})}).encode()
        status = [post(url, first)[0], post(url, second)[0]]
        return status + push_sensor_logger(url, t_ns[50:], {"accelerometer": acc[50:] - grav[50:],
                                                           "gravity": grav[50:], "gyroscope": gyr[50:]})

    store = Store.open(tmp_path)
    result, (src, statuses) = asyncio.run(_receive(store, client, expect=len(t)))
    assert set(statuses) == {200}
    data = _stored(store, result.session_id)
    assert len(data) == len(t)
    np.testing.assert_allclose(data[:, 1:4], acc, atol=1e-9)


def test_phyphox_data_cleared_on_the_phone_continues_the_session(tmp_path: Path) -> None:
    import time as _time

    t, acc, gyr = _motion(3.0)
    store = Store.open(tmp_path)
    # The data is cleared (⌫ on the phone) while the poller reads, just before its 5th read is
    # answered: that read finds nothing new, as after any clear, whatever the CPU load.
    with PhyphoxEmulator((t, acc), (t + 0.002, gyr), speed=2.0, clear_at_read=5) as emu:
        # Old data from an earlier run on the phone is not part of the session.
        emu.handle("/control", [("cmd", "start")])
        _time.sleep(0.3)
        emu.handle("/control", [("cmd", "stop")])
        before = int(np.sum(t <= emu.experiment_time()))

        async def main() -> object:
            return await record_session(
                store, device="phone", profile=PHYPHOX, rate_hz=RATE, source=lambda q: PhyphoxSource(emu.url, q),
                until=lambda rec: rec.samples > 0 and emu.experiment_time() > t[-1] + 1.5)
        result = asyncio.run(main())
    data = _stored(store, result.session_id)
    assert before > 10
    assert np.all(np.diff(data[:, 0]) > 0) and np.all(np.diff(data[:, 0]) < 1.5 / RATE)  # one time base, no hole
    np.testing.assert_allclose(data[-len(t):, 1:4], acc, rtol=1e-6, atol=1e-6)  # the run after the clear, whole
    # Before the clear: samples after the old data only.
    assert data[0, 1:4] == pytest.approx(acc[before], rel=1e-6, abs=1e-6)


def test_cli_sensor_logger_ctrl_c_ends_the_session_cleanly(tmp_path: Path) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys

    t, acc, gyr = _motion(2.0)
    t_ns = T0_NS + np.round(t * 1e9).astype(np.int64)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "tracker", "record", "--sensor-logger", "127.0.0.1:0", "--no-prompt",
                             "--plain", "--data-dir", str(tmp_path)],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        url = next(m.group(1) for line in proc.stderr
                   if (m := re.search(r"(http://127\.0\.0\.1:\d+/push\?token=\S+)", line)))
        statuses = push_sensor_logger(url, t_ns, {"totalacceleration": acc, "gyroscope": gyr})
        import time as _time
        _time.sleep(1.0)  # the recorder commits at least every 0.5 s
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert set(statuses) == {200}
    store = Store.open(tmp_path)
    (info,) = store.sessions()
    assert info.status == "complete" and len(store.load_recording(info.id)) == len(t)
    assert "(user)" in out
