"""``tracker record`` with the live view, end to end through the emulated tag (real Bumble
stack, real SQLite), output not a terminal: what the plain lines say and what is stored."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("bumble")

from tracker.cli import cli  # noqa: E402
from tracker.live.guided import exercise_label  # noqa: E402
from tracker.schema import SAFETY_GUIDANCE  # noqa: E402
from tracker.simulate import SensorModel, simulate_session  # noqa: E402
from tracker.store import Store  # noqa: E402

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[1]


def _truth(seed: int, seconds: float):
    """The session ``record --virtual`` streams (same call as tracker/cli/record.py)."""
    return simulate_session(seed=seed, rate_hz=100.0, minutes=max(seconds / 60.0 + 0.1, 0.5),
                            sensor=dataclasses.replace(SensorModel(), drop_prob=0.0), with_mag=True).truth


def _record(*args: str, input: str | None = None):
    result = CliRunner().invoke(cli, ["record", "--virtual", "--speed", "10", *args], input=input)
    assert result.exit_code == 0, result.output
    return result


async def _record_in_view(store, session, recording, out, *, seconds: float, **link):
    """Record ``recording`` from the emulated tag (5x real time) with ``session`` watching
    and its plain view writing to ``out``, as ``tracker record`` does; ``link``: the
    emulated link's faults (e.g. ``drop_after_s``)."""
    import asyncio

    from tracker.ble.emulated import quiet_bumble_logging, record_virtual
    from tracker.live.view import LiveDisplay, PlainRenderer

    quiet_bumble_logging()
    stop = asyncio.Event()
    async with LiveDisplay(session, PlainRenderer(out), stop=stop, keys=False):
        result = (await record_virtual(store, recording, speed=5.0, seconds=seconds, stop=stop,
                                       observers=[session], **link)).result
    session.finish(result)
    return result


def test_plain_lines_show_link_rate_exercise_reps_and_the_possible_crack(data_dir):
    seconds = 20.0
    # Seed 2 has a pop the detector finds with a margin (score 0.99; recall at 100 Hz is
    # about 0.4, bench_cracks.py).
    truth = _truth(2, seconds)
    result = _record("--seconds", str(seconds), "--no-prompt", "--seed", "2")
    out = result.output
    lines = out.splitlines()
    assert SAFETY_GUIDANCE in out
    assert any(ln.endswith("link streaming") for ln in lines)
    status = [ln for ln in lines if " | rate " in ln]
    assert len(status) >= 2
    assert any(re.search(r"\| rate (99|100)\.\d Hz of 100 \| dropped 0 \| reconnects 0 \|", ln) for ln in status)
    done = [r for r in truth.reps if r.end_s < seconds - 1.0]
    assert len(done) >= 3
    for rep in done:
        assert f"repetition 1 of {exercise_label(rep.exercise, rep.side)}: peak " in out
    # a status line names the exercise in progress (or the last one)
    assert any(f"exercise {exercise_label(r.exercise, r.side)}" in ln for ln in status for r in done)
    assert any(f"reps {len(done)}" in ln for ln in status[-2:])
    # every injected crack whose 2.5 s look-ahead fits in the recording is announced
    cracks = [c for c in truth.cracks if c.t_s < seconds - 3.0]
    assert cracks, "seed 2 should inject a crack in the first seconds"
    alerts = [ln for ln in lines if "ALERT possible crack at" in ln]
    alert_s = [60 * int(m) + float(s) for ln in alerts
               for m, s in [re.search(r"ALERT possible crack at (\d+):(\d+\.\d)", ln).groups()]]
    for crack in cracks:  # the peak may follow the jolt by a tissue response (tens of ms)
        assert any(abs(a - crack.t_s) <= 0.1 for a in alert_s), (crack, alerts)
    assert f"live view: {len(done)} repetitions" in out and "1 possible crack " in out
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        live_reps = store.events(info.id, "live_rep")
    assert info.status == "complete"
    assert [(e.data["exercise"], e.data["side"]) for e in live_reps] == [(r.exercise, r.side) for r in done]


def test_the_live_view_weighs_the_tags_snippets_as_the_analysis_does(data_dir):
    # Seed 0 (the default) has a pop at 11.9 s that the motion sensor alone scores about
    # 0.3; the kHz window the tag sends around it raises it to about 0.95. The live view
    # takes the windows as they arrive, so it announces what the analysis will report.
    from tracker.sessions import analyse_session
    from tracker.signal.spikes import detect_and_judge

    seconds = 16.0
    (crack,) = [c for c in _truth(0, seconds).cracks if c.t_s < seconds - 3.0]
    out = _record("--seconds", str(seconds), "--no-prompt", "--seed", "0").output
    alert_s = [60 * int(m) + float(s) for m, s in re.findall(r"ALERT possible crack at (\d+):(\d+\.\d)", out)]
    assert len(alert_s) == 1 and abs(alert_s[0] - crack.t_s) <= 0.1, out
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        rec = store.load_recording(info.id)
        res = analyse_session(store, info.id, save=False)
    imu_only = detect_and_judge(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, rec.meta.nominal_rate_hz, None, None)
    near = np.abs(np.asarray(imu_only["t_s"]) - crack.t_s) <= 0.1
    assert near.any() and not np.asarray(imu_only["possible_crack"])[near].any()  # the snippet decides
    assert [round(c.t_s, 1) for c in res.cracks] == [round(a, 1) for a in alert_s]


def test_pain_before_and_after_are_asked_and_stored_with_the_guidance(data_dir):
    result = _record("--seconds", "6", input="3\n8\n")
    assert "Pain right now, before the session" in result.output
    assert "Pain now, after the session" in result.output
    assert "pain 8/10 after the session" in result.output and "see a doctor" in result.output
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        assert store.self_report(info.id)["pain_before"] == 3
        assert store.self_report(info.id)["pain_after"] == 8
        pain = [(e.data["when"], e.data["score"]) for e in store.events(info.id, "pain")]
        (warning,) = store.events(info.id, "safety_warning")
    assert pain == [("before", 3), ("after", 8)]
    assert warning.data["type"] == "pain" and SAFETY_GUIDANCE in warning.data["message"]


def test_pain_can_be_skipped_and_a_wrong_answer_is_asked_again(data_dir):
    result = _record("--seconds", "4", input="eleven\n\n\n")
    assert "pain must be a whole number from 0 to 10" in result.output
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        assert store.self_report(info.id) == {"pain_before": None, "pain_after": None, "notes": ""}
        assert store.events(info.id, "pain") == []


def test_high_pain_before_shows_the_guidance_and_can_stop_before_recording(data_dir):
    result = _record("--seconds", "4", input="9\nn\n")
    assert "pain 9/10 before the session" in result.output and SAFETY_GUIDANCE in result.output
    assert "Record anyway?" in result.output
    with Store.open(data_dir) as store:
        assert store.sessions() == []


def test_guided_mode_advances_as_the_simulated_person_does_each_step(data_dir):
    # --virtual --guided: the simulated person does what the guide asks, so the guide
    # advances step by step with nothing skipped and no "that was not this step" notes.
    # (That it waits for a step not done is tested in test_live_guided.py.)
    result = _record("--seconds", "45", "--no-prompt", "--guided", "--seed", "0")
    out = result.output
    assert "a simulated person following the guide" in out
    assert "NEXT Calibration: one forward bend" in out
    assert "NEXT Chair back-bend — repetition 1 of 3" in out and "NEXT Chair back-bend — repetition 2 of 3" in out
    assert "NOTE That looked like" not in out and "does not count" not in out
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        steps = [e.data for e in store.events(info.id, "guided_step")]
    assert [s["step"] for s in steps][:5] == ["calibrate", "calibrate_bend", "rep", "rest", "rep"]
    assert not any(s.get("skipped") for s in steps)
    assert f"guided routine: {sum(s['step'] == 'rep' for s in steps)} of 14 repetitions done" in out


def test_ctrl_c_keeps_everything_and_the_session_is_complete_and_readable(tmp_path):
    data_dir = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "record", "--virtual", "--seconds", "60", "--speed", "4",
         "--no-prompt", "--data-dir", str(data_dir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    err: list[str] = []
    seen_rep = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            err.append(line)
            if "repetition 1 of" in line:
                seen_rep.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen_rep.wait(60), "".join(err)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out = proc.stdout.read()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=5)
    text = "".join(err)
    assert proc.returncode == 0, text
    assert "stopping" in text and "complete (user)" in out
    assert "link stopped" in text  # the final frame
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        rec = store.load_recording(info.id)
        quality = store.quality(info.id)
        live_reps = store.events(info.id, "live_rep")
    assert info.status == "complete" and quality.link.ended_by == "user"
    assert len(rec) == info.n_samples == quality.samples > 0
    assert (rec.t_s[1:] > rec.t_s[:-1]).all()
    n = len(live_reps)
    assert n >= 1 and f"live view: {n} repetition{'' if n == 1 else 's'}" in out


def test_link_loss_shows_in_the_view_and_the_analysis_carries_on(tmp_path):
    import asyncio
    import io

    from tracker.live.session import LiveSession

    sim = simulate_session(seed=1, rate_hz=100.0, minutes=0.6,
                           sensor=dataclasses.replace(SensorModel(), drop_prob=0.0))
    out = io.StringIO()

    async def run():
        with Store.open(tmp_path) as store:
            session = LiveSession(store, usual_peaks_deg={})
            result = await _record_in_view(store, session, sim.recording, out, seconds=30.0, drop_after_s=[5.0])
            gaps = [(e.t_s, e.t_s + e.data["duration_s"]) for e in store.events(result.session_id, "gap")]
            return session, result, gaps

    session, result, gaps = asyncio.run(run())
    state = session.snapshot()
    assert state.link.reconnects == result.quality.reconnects == 1
    assert state.link.dropped == result.quality.lost_samples > 0
    text = out.getvalue()
    assert "link disconnected" in text and "reconnected" in text and "gap:" in text
    assert re.search(r"dropped [1-9]\d* \| reconnects 1", text)
    # repetitions after the gap are still counted (at 10x, the gap's length in data time
    # depends on how fast the reconnect is: take it from the store)
    (gap,) = gaps
    after = [r for r in sim.truth.reps if r.start_s > gap[1] + 1.0 and r.end_s < 29.0]
    assert after and all(any(abs(m.end_s - r.end_s) < 1.0 for m in session.analyzer.reps) for r in after)


def test_a_fault_in_the_live_analyser_never_ends_the_recording_or_loses_samples(tmp_path):
    """The analyser raising something unexpected (as a RecursionError once did) is said
    once; the recorder keeps storing every sample and the view and the session end cleanly."""
    import asyncio
    import io

    from tracker.live.session import LiveSession

    sim = simulate_session(seed=1, rate_hz=100.0, minutes=0.3,
                           sensor=dataclasses.replace(SensorModel(), drop_prob=0.0))

    class FaultyAnalysis(LiveSession):
        def on_start(self, started):
            super().on_start(started)
            feed, calls = self.analyzer.feed, []

            def failing_feed(*args):
                calls.append(1)
                if len(calls) >= 3:
                    raise RecursionError("maximum recursion depth exceeded")
                return feed(*args)

            self.analyzer.feed = failing_feed

    out = io.StringIO()

    async def run():
        with Store.open(tmp_path) as store:
            session = FaultyAnalysis(store, usual_peaks_deg={})
            result = await _record_in_view(store, session, sim.recording, out, seconds=10.0)
            info = next(i for i in store.sessions() if i.id == result.session_id)
            return session, result, info, store.load_recording(result.session_id)

    session, result, info, rec = asyncio.run(run())
    assert result.status == "complete" and info.status == "complete"
    assert len(rec) == info.n_samples == result.quality.samples >= 0.95 * 10.0 * 100.0
    assert session.link.samples == len(rec)  # every sample still reached the session
    said = [text for _, _, text in session.log if "live analysis stopped" in text]
    assert len(said) == 1 and "RecursionError" in said[0] and "\n" not in said[0]
    assert out.getvalue().count("live analysis stopped") == 1
