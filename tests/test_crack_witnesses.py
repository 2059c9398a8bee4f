"""Better witnesses of a possible crack: sound and the tag's kHz snippets (issue 16)."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from tracker.audio import AudioDecodeError, decode_audio
from tracker.recording import Recording, RecordingMeta
from tracker.sessions import analyse_session
from tracker.signal import witnesses as wit
from tracker.signal.process import process_session
from tracker.signal.spikes import Witnesses, detect_and_judge
from tracker.simulate import simulate_session
from tracker.simulate._pops import simulate_family
from tracker.simulate._witnesses import simulate_audio, simulate_snippets
from tracker.store import Store

FS_AUDIO = 16_000


def _band(rng, n, lo, hi, fs=FS_AUDIO):
    from scipy import signal

    sos = signal.butter(4, [lo, hi], btype="bandpass", fs=fs, output="sos")
    x = signal.sosfilt(sos, rng.normal(size=n))
    return x / np.std(x)


def _wav_bytes(x: np.ndarray, fs: int = FS_AUDIO, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(fs)
        y = np.repeat(x[:, None], channels, axis=1) if channels > 1 else x
        w.writeframes((np.clip(y, -1, 1) * 32000).astype("<i2").tobytes())
    return buf.getvalue()


def _room_with(events: list[tuple[float, float, tuple[float, float], float]], seconds: float = 10.0,
               seed: int = 0) -> np.ndarray:
    """Room noise plus (t_s, duration_s, band_hz, snr_db) bursts, scaled into -1..1."""
    rng = np.random.default_rng(seed)
    x = 0.01 * rng.normal(size=int(seconds * FS_AUDIO))
    for t0, dur, band, snr_db in events:
        n = int(dur * FS_AUDIO)
        env = np.exp(-np.arange(n) / (0.3 * n))
        i = int(t0 * FS_AUDIO)
        x[i:i + n] += 0.01 * 10 ** (snr_db / 20) * env * _band(rng, n, *band)
    return x


def test_short_broadband_sound_is_found_and_thuds_and_clicks_are_not():
    # Dunning 2013: an audible pop lasts ~5-6 ms with energy from 0.1 to 10 kHz.
    x = _room_with([(3.2, 0.0055, (100.0, 7000.0), 25.0),   # pop
                    (5.0, 0.040, (50.0, 600.0), 25.0),      # strap slap / footstep thud
                    (7.0, 0.0006, (100.0, 7000.0), 25.0)])  # a click of the phone itself
    track = decode_audio(_wav_bytes(x, channels=2), "Microphone.wav")
    assert track.rate_hz == FS_AUDIO and track.samples.ndim == 1
    found = wit.audio_transients(track)
    assert found["t_s"].size == 1
    assert found["t_s"][0] == pytest.approx(3.2, abs=0.006)
    assert 0.002 <= found["duration_s"][0] <= 0.015


def test_bad_audio_is_named():
    with pytest.raises(AudioDecodeError, match="Microphone.wav"):
        decode_audio(b"RIFF not really", "Microphone.wav")
    with pytest.raises(AudioDecodeError, match="Microphone.mp4"):
        decode_audio(b"\x00" * 64, "Microphone.mp4")


@pytest.fixture(scope="module")
def family():
    sim = simulate_family(7, 100.0, split="held_out", minutes=3.0)
    r = sim.recording
    base = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, 100.0, None, None)
    return sim, base


def _at(cols, t_s):
    d = np.abs(cols["t_s"] - t_s)
    return int(np.argmin(d)) if d.size and d.min() <= 0.05 else None


def test_sound_at_a_spike_raises_its_score_and_the_rest_is_unchanged_in_order(family):
    sim, base = family
    audio, heard = simulate_audio(sim, seed=7)
    r = sim.recording
    w = Witnesses(audio=wit.audio_transients(audio))
    withs = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, 100.0, None, None, witnesses=w)
    assert heard
    raised = [(_at(base, t), _at(withs, t)) for t in heard]
    raised = [(i, j) for i, j in raised if i is not None]
    assert raised, "no heard pop was an IMU spike"
    for i, j in raised:
        assert withs["crack_score"][j] > base["crack_score"][i]
    # confounders heard as thuds or knocks are not raised
    for c in sim.confounders:
        i, j = _at(base, c.t_s), _at(withs, c.t_s)
        if i is not None and c.kind in ("tap", "tap_still", "strap_slap"):
            assert withs["crack_score"][j] <= base["crack_score"][i] + 1e-9


def test_snippets_tell_pops_from_knocks_and_slaps(family):
    sim, base = family
    windows = simulate_snippets(sim, seed=7)
    ev = wit.snippet_evidence(windows)
    share = {}
    for e in [*sim.pops, *sim.confounders]:
        d = np.abs(ev["t_s"] - e.t_s)
        if d.size and d.min() <= 0.05:
            share.setdefault(e.kind, []).append(float(ev["hf_share"][int(np.argmin(d))]))
    assert share.get("pop") and share.get("strap_slap") and share.get("tap")
    assert min(share["pop"]) > max(share["tap"] + share["tap_still"] + share["strap_slap"])
    r = sim.recording
    withs = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, 100.0, None, None,
                             witnesses=Witnesses(snippets=ev))
    for c in sim.confounders:
        i, j = _at(base, c.t_s), _at(withs, c.t_s)
        if i is not None and c.kind == "strap_slap":
            assert withs["crack_score"][j] < base["crack_score"][i]


def test_a_spike_without_its_snippet_keeps_its_own_score():
    # Snippets were recorded, but none near this spike (the tag saw nothing above its
    # threshold there, or the window was lost on the link): never evidence for a pop.
    snippets = {"t_s": np.array([5.0]), "hf_share": np.array([0.3]), "ring_share": np.array([0.6])}
    score = np.array([0.2, 0.6, 0.75])
    out = wit.apply_witnesses(score, np.array([1.0, 2.0, 9.0]), snippets=snippets)
    assert (out <= score + 1e-12).all()
    near = wit.apply_witnesses(np.array([0.6]), np.array([5.01]), snippets=snippets)
    assert near[0] > 0.6  # a ringing snippet at the spike does raise it


@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_snippets_find_the_pops_the_motion_sensor_leaves_unsure(rate):
    # The demo's sessions (simulate_session's own pops, a tag sending its kHz windows):
    # pops whose ringing sits low put only ~5 % of their snippet's energy above the
    # split, still ten times a knock's or a slap's. With a guessed neutral share of 0.1
    # those snippets counted against the pop (the demo found 0 of its 1 crack). At 50 Hz
    # the motion sensor alone finds a few of these pops; at 100 Hz most.
    found_imu = found_wit = false_wit = n_pops = 0
    for seed in range(6):
        sim = simulate_session(seed=seed, rate_hz=rate, minutes=1.5)
        r = sim.recording
        ev = wit.snippet_evidence(simulate_snippets(sim, seed=seed))
        base = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, rate, None, None)
        withs = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, rate, None, None, witnesses=Witnesses(snippets=ev))
        pops = np.array([c.t_s for c in sim.truth.cracks])
        n_pops += pops.size
        for cols in (base, withs):
            t = np.asarray(cols["t_s"])[np.asarray(cols["possible_crack"], bool)]
            hits = sum(bool(np.any(np.abs(t - p) <= 0.05)) for p in pops)
            if cols is base:
                found_imu += hits
            else:
                found_wit += hits
                false_wit += sum(not np.any(np.abs(pops - x) <= 0.05) for x in t)
    assert n_pops >= 10 and false_wit == 0
    if rate == 50.0:
        assert found_imu <= 0.3 * n_pops and found_wit >= found_imu + 4, (found_imu, found_wit, n_pops)
    else:
        assert found_wit >= max(found_imu, 0.8 * n_pops), (found_imu, found_wit, n_pops)


def test_live_stream_weighs_snippets_as_they_arrive_as_the_batch_does():
    # The live view gets each kHz window shortly after its impulse (here 50 ms after the
    # window ends, in 0.1 s batches); it must judge as the batch analysis does with all of
    # them, and differently from the motion sensor alone.
    import pandas as pd

    from tracker.signal.spikes import SpikeStream

    changed = 0
    for seed, rate in ((5, 100.0), (7, 100.0), (5, 200.0)):
        sim = simulate_family(seed, rate, split="held_out", minutes=3.0)
        r = sim.recording
        windows = sorted(simulate_snippets(sim, seed=seed), key=lambda w: w.t0_s)
        ev = wit.snippet_evidence(windows)
        batch = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, rate, None, None, witnesses=Witnesses(snippets=ev))
        alone = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, rate, None, None)
        stream, frames, n = SpikeStream(rate), [], int(rate * 0.1)
        for a in range(0, r.t_s.size, n):
            now = r.t_s[min(a + n, r.t_s.size) - 1]
            arrived = [w for w in windows if w.t0_s + len(w.acc_m_s2) / w.rate_hz + 0.05 <= now]
            windows = windows[len(arrived):]
            stream.add_snippets(arrived)
            frames.append(stream.feed(r.t_s[a:a + n], r.acc_m_s2[a:a + n], r.gyr_rad_s[a:a + n]))
        live = pd.concat([*frames, stream.flush()])
        assert not windows
        t_batch = np.asarray(batch["t_s"])[np.asarray(batch["possible_crack"])]
        np.testing.assert_allclose(live["t_s"][live["possible_crack"]].to_numpy(), t_batch, atol=1e-9)
        changed += int(not np.array_equal(np.asarray(alone["t_s"])[np.asarray(alone["possible_crack"])], t_batch))
    assert changed >= 2  # the snippets did change the judgement


@pytest.mark.parametrize("data", [
    {"acc_m_s2": [[0.0, 0.0, 9.8]] * 16},                     # no rate
    {"rate_hz": 3200.0, "acc_m_s2": [[0.0, 9.8]] * 16},       # two axes
    {"rate_hz": 3200.0, "acc_m_s2": [[0.0, 0.0, 9.8]] * 4},   # too short
    {"rate_hz": "fast", "acc_m_s2": [[0.0, 0.0, 9.8]] * 16},  # not a number
    {"rate_hz": 0.0, "acc_m_s2": [[0.0, 0.0, 9.8]] * 16},
    {"rate_hz": 3200.0, "acc_m_s2": [[0.0, 0.0, 9.8]] * 15 + [[float("nan"), 0.0, 9.8]]},
])
def test_a_damaged_impulse_event_is_no_window(data):
    assert wit.ImpulseWindow.from_event(1.0, data) is None
    assert wit.ImpulseWindow.from_event(None, {"rate_hz": 3200.0, "acc_m_s2": [[0.0, 0.0, 9.8]] * 16}) is None
    assert wit.ImpulseWindow.from_event(1.0, {"rate_hz": 3200.0, "acc_m_s2": [[0.0, 0.0, 9.8]] * 16}) is not None


def _quiet_recording(seconds: float = 20.0, rate: float = 100.0) -> Recording:
    rng = np.random.default_rng(1)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + rng.normal(0, 0.02, (n, 3))
    gyr = rng.normal(0, 0.002, (n, 3))
    return Recording(t, acc, gyr, None, RecordingMeta(device="test", profile="csv", nominal_rate_hz=rate))


def test_an_audible_pop_without_a_spike_is_reported():
    rec = _quiet_recording()
    track = decode_audio(_wav_bytes(_room_with([(12.34, 0.0055, (100.0, 7000.0), 25.0)], 20.0)), "m.wav")
    res = process_session(rec, audio=track)
    assert res.cracks == ()
    assert any("audible pop at 12.34 s without an IMU spike" in n for n in res.summary.notes)


def test_stored_microphone_file_is_used_by_the_analysis(tmp_path):
    rec = _quiet_recording()
    wav = _wav_bytes(_room_with([(8.0, 0.0055, (100.0, 7000.0), 25.0)], 20.0))
    with Store.open(tmp_path) as store:
        sid = store.import_recording(rec, attachments=[("Microphone.wav", "audio/wav", wav)])
        res = analyse_session(store, sid, save=False)
        sid2 = store.import_recording(rec, attachments=[("Microphone.mp4", "audio/mp4", b"\x00" * 64)])
        res2 = analyse_session(store, sid2, save=False)
    assert any("audible pop at 8.00 s" in n for n in res.summary.notes)
    # an undecodable file never stops the analysis: it says why the sound was not used
    assert any(n.startswith("sound not used for cracks: Microphone.mp4") for n in res2.summary.notes)


def test_stored_impulse_windows_reach_the_analysis(tmp_path):
    # The recorder keeps tracker-imu's impulse windows as events; the analysis uses them.
    from tracker.sessions import IMPULSE_EVENT, impulse_windows_of

    sim = simulate_family(9, 100.0, split="held_out", minutes=2.0)
    windows = simulate_snippets(sim, seed=9)
    assert windows
    with Store.open(tmp_path) as store:
        sid = store.import_recording(sim.recording)
        for w in windows:
            store.add_event(sid, IMPULSE_EVENT, w.t0_s, rate_hz=w.rate_hz, acc_m_s2=w.acc_m_s2.tolist(),
                            trigger_index=w.trigger_index)
        store.add_event(sid, IMPULSE_EVENT, 1.0, rate_hz=3200.0, acc_m_s2=[[0.0, 0.0]])  # damaged: skipped
        back = impulse_windows_of(store, sid)
        res = analyse_session(store, sid, save=False)
    assert len(back) == len(windows)
    np.testing.assert_allclose(back[0].acc_m_s2, windows[0].acc_m_s2)
    assert any(n == f"tag snippets: {len(windows)} kHz impulse windows used" for n in res.summary.notes)


async def test_virtual_tag_sends_snippets_the_recorder_keeps_and_the_analysis_uses(tmp_path):
    # A tracker-imu tag with its impulse detector at 0.5 g streams a family session and
    # the kHz windows around its impulses; the recorder keeps them as events.
    pytest.importorskip("bumble")
    import dataclasses as dc

    from tracker.ble.emulated import record_virtual
    from tracker.profiles import tracker_imu as ti
    from tracker.schema import IMPULSE_EVENT

    sim = simulate_family(9, 200.0, split="held_out", minutes=0.5)
    rec = sim.recording.slice(0, int(25 * 200))
    windows = [w for w in simulate_snippets(sim, seed=9) if w.t0_s + 0.05 < 24.0]
    big = [w for w in windows if np.max(np.linalg.norm(w.acc_m_s2 - w.acc_m_s2.mean(axis=0), axis=1)) >= 0.5 * 9.80665]
    assert big, "the session should have impulses above 0.5 g"
    profile = dc.replace(ti.PROFILE, config=ti.DeviceConfig(impulse_threshold_g=0.5))
    with Store.open(tmp_path) as store:
        run = await record_virtual(store, rec, profile=profile, rate_hz=200.0, speed=4.0, impulse_windows=windows)
        sid = run.result.session_id
        kept = store.events(sid, IMPULSE_EVENT)
        res = analyse_session(store, sid, save=False)
    assert len(kept) == len(big)
    for e, w in zip(kept, big):
        assert e.t_s == pytest.approx(w.t0_s, abs=1e-3)
        np.testing.assert_allclose(np.asarray(e.data["acc_m_s2"]), w.acc_m_s2, atol=16 * 9.80665 / 32768 + 1e-3)
    assert any(n == f"tag snippets: {len(big)} kHz impulse windows used" for n in res.summary.notes)
