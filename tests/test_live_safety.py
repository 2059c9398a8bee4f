"""Pain scores, stop guidance, usual range, and what a live session stores (real SQLite)."""

from __future__ import annotations

import pytest

from live_synth import twist_recording
from tracker.ble.recorder import SessionStarted
from tracker.errors import ValidationError
from tracker.live.safety import (
    PAIN_STOP_AT, ask_pain, pain_needs_stop, parse_pain, stop_guidance, usual_peaks,
    usual_peaks_from_store, warning_message,
)
from tracker.live.session import LiveSession
from tracker.profiles import PROFILES
from tracker.recording import RecordingMeta
from tracker.schema import SAFETY_GUIDANCE
from tracker.signal.result import Rep, SessionAnalysis, Summary
from tracker.sessions import save_analysis
from tracker.store import Store


@pytest.mark.parametrize("text, value", [("0", 0), (" 7 ", 7), ("10", 10), ("", None), ("skip", None),
                                         (None, None), (4, 4)])
def test_parse_pain_accepts_0_to_10_and_empty(text, value):
    assert parse_pain(text) == value


@pytest.mark.parametrize("text, match", [("11", "0 \\(none\\) to 10"), ("-1", "0 \\(none\\) to 10"),
                                         ("seven", "whole number"), ("3.5", "whole number")])
def test_parse_pain_rejects_what_is_not_a_score(text, match):
    with pytest.raises(ValidationError, match=match):
        parse_pain(text)


def test_ask_pain_explains_a_wrong_answer_and_asks_again():
    answers = iter(["eleven", "12", "4"])
    told: list[str] = []
    assert ask_pain("before", lambda q: next(answers), told.append) == 4
    assert len(told) == 2 and "whole number" in told[0] and "10" in told[1]
    assert ask_pain("after", lambda q: "") is None

    def eof(_q: str) -> str:
        raise EOFError

    assert ask_pain("after", eof) is None
    assert ask_pain("after", lambda q: "x", told.append, attempts=2) is None


def test_when_the_stop_guidance_applies():
    assert not pain_needs_stop(before=PAIN_STOP_AT - 1, after=PAIN_STOP_AT - 1)
    assert pain_needs_stop(before=PAIN_STOP_AT)
    assert pain_needs_stop(after=9)
    assert pain_needs_stop(before=1, after=4)  # rose by 3
    assert not pain_needs_stop(before=2, after=4)
    assert pain_needs_stop(during=True)
    assert not pain_needs_stop()
    text = stop_guidance(before=2, after=6)
    assert SAFETY_GUIDANCE in text and "rose from 2 to 6" in text and "Stop stretching" in text
    assert "during the session" in stop_guidance(during=True)


def test_warning_messages_name_the_problem():
    assert "fast (95 °/s)" in warning_message("fast", {"value": 95.2})
    assert "bounce" in warning_message("jerky", {"value": 700})
    msg = warning_message("beyond_range", {"value": 31.0, "usual": 20.0})
    assert "31°" in msg and "20°" in msg
    assert warning_message("beyond_range", {}) .startswith("You are well past")


def test_usual_peaks_need_enough_repetitions_per_exercise_and_side():
    reps = ([{"exercise": "seated_twist", "side": "left", "peak_deg": p} for p in (10, 12, 14, 16, 30)]
            + [{"exercise": "seated_twist", "side": "right", "peak_deg": -12.0}] * 2
            + [{"exercise": "chair_backbend", "side": None, "peak_deg": p} for p in (-20, -22, -24)])
    usual = usual_peaks(reps)
    assert set(usual) == {("seated_twist", "left"), ("chair_backbend", None)}
    assert usual[("seated_twist", "left")] == pytest.approx(24.4)  # 90th percentile of |peak|
    assert usual[("chair_backbend", None)] == pytest.approx(23.6)


def _session(store: Store, reps: list[dict], analysed: bool) -> str:
    rec, _ = twist_recording(peak_deg=10.0, hold_s=1.0, start_s=1.0, after_s=1.0)
    sid = store.import_recording(rec)
    if analysed:
        analysis = SessionAnalysis(
            signals=None, reps=(reps_ := tuple(
                Rep(exercise=r["exercise"], side=r["side"], start_s=0.0, hold_start_s=None,
                    hold_end_s=None, end_s=1.0, hold_s=None, peak_deg=r["peak_deg"]) for r in reps)),
            spikes=(), cracks=(), summary=Summary.of_events(reps_, (), ()), sample_rate_hz=100.0,
            duration_s=1.0)
        save_analysis(store, sid, analysis)
    else:
        for r in reps:
            store.add_event(sid, "live_rep", 0.0, **r)
    return sid


def test_usual_peaks_come_from_stored_analyses_or_live_repetitions(tmp_path):
    with Store.open(tmp_path) as store:
        twist = [{"exercise": "seated_twist", "side": "left", "peak_deg": 20.0}] * 2
        _session(store, twist, analysed=True)
        _session(store, twist, analysed=False)
        current = _session(store, [{"exercise": "seated_twist", "side": "left", "peak_deg": 60.0}] * 3,
                           analysed=False)
        usual = usual_peaks_from_store(store, exclude=current)
        assert usual == {("seated_twist", "left"): pytest.approx(20.0)}
        assert usual_peaks_from_store(store, exclude=current, last_sessions=1) == {}  # only 2 reps


def _started(store: Store) -> SessionStarted:
    meta = RecordingMeta(device="test-tag", profile="tracker-imu", nominal_rate_hz=100.0)
    sid = store.create_session(meta)
    return SessionStarted(sid, meta, PROFILES["tracker-imu"], 100.0)


def test_live_session_stores_pain_warnings_and_counted_repetitions(tmp_path):
    with Store.open(tmp_path) as store:
        usual = {("seated_twist", "left"): 15.0}
        session = LiveSession(store, pain_before=3, usual_peaks_deg=usual)
        started = _started(store)
        session.on_start(started)
        rec, _ = twist_recording(peak_deg=30.0, speed_deg_s=120.0)
        for k in range(0, len(rec), 20):
            session.on_batch(rec.slice(k, k + 20))
            session.process()
        state = session.snapshot()
        assert state.reps_of("seated_twist", "left") == 1 and state.calibrated
        session.report_pain_during()
        assert session.record_pain_after(8) is not None
        session.finish()
        sid = started.session_id
        assert store.self_report(sid) == {"pain_before": 3, "pain_after": 8, "notes": ""}
        pain = [(e.data["when"], e.data["score"], e.data["guidance_shown"]) for e in store.events(sid, "pain")]
        assert pain == [("before", 3, False), ("during", None, True), ("after", 8, True)]
        warned = sorted(e.data["type"] for e in store.events(sid, "safety_warning"))
        assert warned == ["beyond_range", "fast", "jerky", "pain", "pain"]
        assert all(e.data["message"] for e in store.events(sid, "safety_warning"))
        (rep,) = store.events(sid, "live_rep")
        assert rep.data["exercise"] == "seated_twist" and rep.data["peak_deg"] == pytest.approx(30.0, abs=0.5)
        final = session.snapshot()
        assert final.guidance and SAFETY_GUIDANCE in final.guidance
        assert any(a.kind == "pain" and a.level == "stop" for a in final.alerts)


def test_high_pain_before_shows_the_guidance_from_the_start(tmp_path):
    with Store.open(tmp_path) as store:
        session = LiveSession(store, pain_before=8, usual_peaks_deg={})
        assert session.snapshot().guidance and "8/10" in session.snapshot().guidance
        started = _started(store)
        session.on_start(started)
        (ev,) = store.events(started.session_id, "safety_warning")
        assert ev.data["type"] == "pain" and SAFETY_GUIDANCE in ev.data["message"]
