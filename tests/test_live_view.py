"""What the view shows: rich frame, plain lines, gauges, refresh rate."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from tracker.live.state import Alert, GuidedView, LinkInfo, LiveState
from tracker.live.view import (
    LiveDisplay, PlainRenderer, RichRenderer, gauge, make_renderer, render_state, status_line,
)
from tracker.schema import SAFETY_GUIDANCE

STATE = LiveState(
    t_s=72.34, link=LinkInfo("streaming", "tracker-imu-0001", 100.0, 99.8, 7200, 12, 1),
    calibrated=True, posture="upright",
    angles_deg={"flexion_deg": -1.2, "lateral_bend_deg": 0.4, "axial_rotation_deg": 16.3},
    primary="axial_rotation_deg", phase="holding", exercise="seated_twist", side="left",
    rep_counts=((("chair_backbend", None), 3), (("seated_twist", "left"), 1)), hold_s=8.1,
    hold_target_s=15.0, peak_deg=16.9, usual_peak_deg=15.0, cracks=1,
    alerts=(Alert("possible_crack", 70.1, "possible crack at 1:10.1 (3.2 m/s², score 0.97)"),),
    session_id="20250106-080000-abcd",
)


def _text(state: LiveState, width: int = 110) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    console.print(render_state(state, width))
    return console.file.getvalue()


def test_rich_frame_shows_link_angles_exercise_hold_and_alerts():
    out = _text(STATE)
    assert "streaming" in out and "99.8 Hz of 100" in out and "dropped 12" in out and "reconnects 1" in out
    assert "1:12.3" in out and "20250106-080000-abcd" in out
    rows = {line.split()[1] if line.startswith("▸") else line.split()[0]: line
            for line in out.splitlines() if "°" in line and ("flexion" in line or "axial" in line)}
    assert "+16.3°" in rows["axial"] and rows["axial"].startswith("▸")  # the primary angle is marked
    assert "-1.2°" in rows["flexion"]
    assert "Seated twist (left)" in out and "holding" in out
    assert "Chair back-bend 3" in out and "Seated twist (left) 1" in out
    assert "8.1 / 15 s" in out and "usually 15°" in out
    assert "⚠ possible crack at 1:10.1" in out and "1 possible" in out
    assert "Ctrl-C stop and save" in out and "skip this step" not in out


def test_rich_frame_before_calibration_with_guidance_guided_and_ended():
    import dataclasses

    waiting = LiveState(link=LinkInfo("connecting"), guided=GuidedView(0, 28, "Calibration", "Sit upright."),
                        guidance=SAFETY_GUIDANCE)
    out = _text(waiting)
    assert "calibrating — sit upright and keep still" in out and "connecting" in out
    assert "Step 1 of 28: Calibration" in out and "skip this step" in out
    assert "Stop, and see a doctor" in out and "see a doctor." in out  # the guidance, wrapped
    ended = dataclasses.replace(STATE, status="complete", link=dataclasses.replace(STATE.link, state="stopped"))
    out = _text(ended)
    assert "session complete" in out and "Ctrl-C" not in out and "8.1 / 15" not in out


def test_unrecognised_movement_is_not_called_an_exercise():
    import dataclasses

    out = _text(dataclasses.replace(STATE, exercise=None, side=None, phase="moving"))
    assert "not one of the stretches" in out


def test_gauge_fills_from_the_middle_and_marks_the_usual_peak():
    g = gauge(30.0, 60.0, 41, marker=-60.0).plain
    assert len(g) == 41 and g[20] == "┼"
    assert g[21:31] == "█" * 10 and g[31:] == "─" * 10  # half of the right half
    assert g[0] == "┃"
    assert gauge(float("nan"), 45.0, 21).plain == "─" * 10 + "┼" + "─" * 10
    assert gauge(-90.0, 45.0, 21).plain[0] == "◀"


def test_status_line_has_everything_for_logs():
    line = status_line(STATE)
    for part in ("[1:12.3]", "link streaming", "rate 99.8 Hz of 100", "dropped 12", "reconnects 1",
                 "exercise Seated twist (left) (holding)", "reps 4", "hold 8.1/15 s", "rot +16.3°",
                 "possible cracks 1"):
        assert part in line
    assert "calibrating" in status_line(LiveState())


def test_plain_renderer_prints_events_at_once_and_status_every_second():
    out = io.StringIO()
    now = [0.0]
    r = PlainRenderer(out, every_s=1.0, clock=lambda: now[0])
    r.update(STATE, [(70.1, "alert", "possible crack at 1:10.1"), (None, "info", "link streaming")])
    now[0] = 0.5
    r.update(STATE, [(71.0, "step", "Rest: breathe")])
    now[0] = 1.2
    r.update(STATE, [])
    lines = out.getvalue().splitlines()
    assert lines[0] == "[1:10.1] ALERT possible crack at 1:10.1"
    assert lines[1] == "[—:—] link streaming"
    assert lines[2].startswith("[1:12.3] link streaming")
    assert lines[3] == "[1:11.0] NEXT Rest: breathe"
    assert lines[4].startswith("[1:12.3]") and len(lines) == 5


def test_renderer_choice_follows_the_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(make_renderer(io.StringIO()), PlainRenderer)
    assert isinstance(make_renderer(Tty()), RichRenderer)
    assert isinstance(make_renderer(Tty(), plain=True), PlainRenderer)


class _Idle:
    """A session with no data: the view must still refresh (timers, link state)."""

    guided = None
    analyzer = None
    data_ready = None
    wants_stop = False

    def __init__(self) -> None:
        self.processed = 0

    def process(self) -> list:
        self.processed += 1
        return []

    def snapshot(self) -> LiveState:
        return STATE

    def drain_messages(self) -> list:
        return []


def test_display_refreshes_at_least_ten_times_a_second_without_data():
    session = _Idle()
    renderer = RichRenderer(Console(file=io.StringIO(), width=100, force_terminal=True))
    times: list[float] = []

    async def run() -> LiveDisplay:
        display = LiveDisplay(session, renderer, refresh_hz=10.0, keys=False,
                              on_frame=lambda state, clock: times.append(clock))
        async with display:
            await asyncio.sleep(1.5)
        display.final_frame()
        return display

    display = asyncio.run(run())
    assert session.processed == display.frames == len(times) >= 5
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    # the loop waits at most 1/refresh_hz for data; the median gap is robust to a busy CI box
    assert gaps[len(gaps) // 2] <= 0.115
    assert renderer.frames == display.frames


def test_display_keys_report_pain_skip_and_stop():
    calls = []

    class S(_Idle):
        def skip_step(self) -> None:
            calls.append("skip")

        def report_pain_during(self) -> None:
            calls.append("pain")

    async def run() -> bool:
        stop = asyncio.Event()
        display = LiveDisplay(S(), PlainRenderer(io.StringIO()), stop=stop, keys=False)
        for key in "pNq":
            display._on_key(key)
        return stop.is_set()

    assert asyncio.run(run()) and calls == ["pain", "skip"]


def test_display_settings_are_checked():
    with pytest.raises(ValueError):
        LiveDisplay(_Idle(), PlainRenderer(io.StringIO()), refresh_hz=10.0, max_fps=5.0)
