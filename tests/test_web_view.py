"""The live web page (``tracker record --web``): real HTTP server on 127.0.0.1, real
emulated BLE recording into real SQLite, real headless Chromium (Playwright)."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.error
import urllib.request

import pytest
from web_browser import chromium_missing, launch

from rich.console import Console

from tracker.live.cues import CueTracker
from tracker.live.session import LiveSession
from tracker.live.state import GuidedView, LiveState
from tracker.live.view import RichRenderer
from tracker.store import Store
from tracker.web import WebView, frame_of, parse_bind

pytestmark = pytest.mark.timeout(120)


def _get(url: str, data: dict | None = None) -> tuple[int, bytes]:
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# ------------------------------------------------------------------ no browser
def test_bind_defaults_to_this_machine_only():
    assert parse_bind("8765") == ("127.0.0.1", 8765)
    assert parse_bind("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_bind("[::1]:9000") == ("::1", 9000)
    for bad in ("http", "host:", ":80", "70000", "[::1]9000"):
        with pytest.raises(Exception, match="--web"):
            parse_bind(bad)


async def test_every_route_refuses_a_request_without_the_token(data_dir):
    store = Store.open(data_dir)
    session = LiveSession(store)
    async with WebView(session) as web:
        assert web.host == "127.0.0.1" and web.local_only
        base = f"http://127.0.0.1:{web.port}"
        web.update(session.snapshot(), [])
        for path in ("/", "/app.js", "/app.css", "/events"):
            for query in ("", "?token=", "?token=" + "x" * len(web.token)):
                status, body = await asyncio.to_thread(_get, base + path + query)
                assert status == 403, (path, query, status)
                assert web.token.encode() not in body
        status, _ = await asyncio.to_thread(_get, base + "/pain", {"when": "during", "score": 5})
        assert status == 403 and session.pain["during"] is None  # nothing reached the session
        status, page = await asyncio.to_thread(_get, f"{base}/?token={web.token}")
        assert status == 200 and b"app.js?token=" + web.token.encode() in page
        assert b"http://" not in page and b"https://" not in page  # nothing from elsewhere
        status, err = await asyncio.to_thread(_get, f"{base}/pain?token={web.token}", {"when": "now", "score": 2})
        assert status == 400 and b"'when' must be" in err
        status, err = await asyncio.to_thread(_get, f"{base}/pain?token={web.token}",
                                              {"when": "during", "score": 11})
        assert status == 400 and b"0 (none) to 10" in err
    store.close()


def test_cues_hold_start_countdown_end_and_step_change():
    def guided(index: int, waiting: str, left: float | None) -> LiveState:
        g = GuidedView(index, 9, f"step {index}", "do it", countdown_s=left, waiting_for=waiting)
        return LiveState(guided=g, calibrated=True)

    tracker = CueTracker()
    frames = [guided(1, "repetition", None), guided(1, "hold", 5.0)]
    frames += [guided(1, "hold", 5.0 - 0.25 * k) for k in range(1, 20)]
    frames += [guided(1, "return", None), guided(2, "rest", 4.0)]
    cues = [(c.kind, c.seconds_left) for f in frames for c in tracker.update(f)]
    assert cues == [("hold_start", None), ("count", 3), ("count", 2), ("count", 1), ("hold_end", None),
                    ("step", None)]
    # the terminal view rings the bell once, at the end of the hold (not with --quiet)
    for bell in (True, False):
        out = io.StringIO()
        rich = RichRenderer(Console(file=out, force_terminal=True, width=100), bell=bell)
        for f in frames:
            rich.update(f, [])
        rich.stop(frames[-1], [])
        assert out.getvalue().count("\a") == rich.bells == int(bell)
    # nothing is lost when frames are skipped: the page gets the recent cues with each frame
    state = guided(2, "rest", 4.0)
    frame = frame_of(state, cues=[(7, c) for c in CueTracker().update(state)])
    assert frame["countdown"] == {"kind": "rest", "s": 4.0} and frame["cues"] == []


# ------------------------------------------------------------------- browser
WHY = chromium_missing()
browser = pytest.mark.skipif(WHY is not None, reason=f"browser tests skipped: {WHY}")


@browser
async def test_page_follows_a_guided_recording_and_a_pain_answer_reaches_the_store(data_dir):
    from playwright.async_api import async_playwright

    from tracker.ble.emulated import quiet_bumble_logging, record_virtual
    from tracker.live.guided_person import GuidedPerson, following_routine
    from tracker.live.run import LiveRun
    from tracker.simulate import ExerciseSpec, Routine, SensorModel, simulate_session

    quiet_bumble_logging()
    routine = Routine(exercises=(ExerciseSpec("seated_twist", ("left",), 2, peak_deg=16.0, hold_s=6.0,
                                              rest_s=3.0),), walk_steps=0, variability=0.0)
    sim = simulate_session(seed=1, rate_hz=100.0, routine=following_routine(routine), with_mag=True,
                           cracks=False, confounders=False, sensor=SensorModel(drop_prob=0.0))
    store = Store.open(data_dir)
    live = LiveRun(store, guided=True, no_prompt=True, plain=True, stream=io.StringIO(), routine=routine,
                   web=("127.0.0.1", 0), echo=lambda *a, **k: None)
    live.before()
    stop = asyncio.Event()
    async with async_playwright() as pw:
        chrome = await launch(pw)
        async with live.running(stop) as observers:
            web = live.web_view
            page = await chrome.new_page(viewport={"width": 1280, "height": 800})
            requests: list[str] = []
            errors: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            base = f"http://127.0.0.1:{web.port}/"
            refused = await chrome.new_page()
            assert (await refused.goto(base)).status == 403  # the browser, without the token
            assert (await refused.request.get(base + "events")).status == 403
            assert (await refused.goto(web.url.replace(web.token, web.token[::-1]))).status == 403
            await refused.close()
            await page.goto(web.url)
            person = GuidedPerson(sim, live.guided, skip=live.skip_step, speed=2.0)
            rec = asyncio.ensure_future(record_virtual(store, person.first, rate_hz=100.0, speed=2.0,
                                                       stop=stop, observers=observers, more=person.more))
            await page.wait_for_selector("#pain[data-mode=before]")  # not asked at the terminal
            await page.click("#pain-scale button[data-score='2']")
            await page.wait_for_selector("#pain[data-mode=during]")
            await page.wait_for_function("() => window.trackerDebug.last && window.trackerDebug.last.t_s > 8")
            await page.click("#pain-scale button[data-score='3']")  # it hurts, says the page
            await page.wait_for_selector("#pain[data-mode=after]", timeout=60_000)  # routine complete
            await page.click("#pain-scale button[data-score='1']")  # the recording stops soon after
            run = await rec
        await page.wait_for_function("() => window.trackerDebug.ended")
        with pytest.raises(urllib.error.URLError):  # the server lived as long as the recording
            await asyncio.to_thread(_get, web.url)
        debug = await page.evaluate("window.trackerDebug")
        limits = await page.text_content("#crack-limits")
        await chrome.close()
    sid = run.result.session_id
    # everything the page loaded came from tracker, with the token; no script error, no CSP violation
    assert requests and all(u.startswith(base) and f"token={web.token}" in u for u in requests), requests
    assert not errors, errors
    # next to "no possible cracks", what the detection sees at this 100 Hz stream
    from tracker.signal.spikes import detection_limits

    assert limits == f"({detection_limits(100.0, True)})" and "finds about" in limits
    # what the page showed, frame by frame: (step title, timer kind, timer text, primary angle)
    dom = debug["dom"]
    # the step shows: every step of the routine appeared, in order
    steps = [d[0] for d in dom]
    titles = [t for k, t in enumerate(steps) if k == 0 or t != steps[k - 1]]
    assert [t for t in titles if "repetition" in t] == [s.title for s in live.guided.steps if s.kind == "rep"]
    assert titles[-1] == "Routine complete" and live.guided.done
    # the countdown moves: each hold counted down through its whole seconds
    holds = [int(text) for _, kind, text, _ in dom if kind == "hold"]
    assert set(range(1, 6)) <= set(holds) and holds[0] > holds[-1]
    # the angles update, and the twist to the left shows as a positive rotation near its peak
    values = [float(v.replace("−", "-").rstrip("°")) for *_, v in dom if v not in ("—", None)]
    assert len(set(values)) > 10 and max(values) >= 12
    # the page's answers went the terminal's way: self-report, pain events, guidance stored
    pain = store.events(sid, "pain")
    assert [(e.data["when"], e.data["score"]) for e in pain] == [("before", 2), ("during", 3), ("after", 1)]
    assert [e.data["guidance_shown"] for e in pain] == [False, True, False]
    assert (store.self_report(sid)["pain_before"], store.self_report(sid)["pain_after"]) == (2, 1)
    assert [e.data["type"] for e in store.events(sid, "safety_warning")] == ["pain"]
    # frames arrived at >= 10 per second; cues were played (hold start/count/end, steps)
    assert debug["frames"] >= 10 * 5
    kinds = [c["kind"] for c in debug["cues"]]
    assert {"hold_start", "count", "hold_end", "step"} <= set(kinds)
    assert all(c["sound"] for c in debug["cues"]) and debug["audio"] == "running"  # sound on by default
    store.close()


# ------------------------------------------------------------------------ CLI
def test_record_web_prints_its_address_and_refuses_bad_binds(data_dir):
    pytest.importorskip("bumble")
    import socket

    from click.testing import CliRunner

    from tracker.cli import cli

    def record(*args: str):
        return CliRunner().invoke(cli, ["record", "--virtual", "--speed", "10", "--seconds", "3", "--no-prompt",
                                        *args])

    result = record("--web", "0", "--quiet")
    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("web view: ")]
    assert line.startswith("web view: http://127.0.0.1:") and "/?token=" in line
    assert len(line.split("token=")[1]) >= 22  # >= 128 random bits
    assert "this computer only" in result.output
    bad = record("--web", "localhost:99999")
    assert bad.exit_code == 2 and "the port must be 0–65535" in bad.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        taken = record("--web", str(port))
    assert taken.exit_code == 1 and f"cannot serve the web view on 127.0.0.1:{port}" in taken.output
    with Store.open(data_dir) as store:
        assert len(store.sessions()) == 1  # the refused run recorded nothing


def test_the_qr_code_draws_the_address_module_by_module():
    qrcode = pytest.importorskip("qrcode")
    from tracker.web import terminal_qr

    url = "http://192.168.1.20:8765/?token=abcdefghijklmnopqrstuv"
    lines = terminal_qr(url, color=False).splitlines()
    upper = {" ": False, "▀": True, "▄": False, "█": True}  # light module in the upper half
    lower = {" ": False, "▀": False, "▄": True, "█": True}
    light = [row for ln in lines for row in ([upper[c] for c in ln], [lower[c] for c in ln])]
    ref = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    ref.add_data(url)
    expected = [[not dark for dark in row] for row in ref.get_matrix()]
    assert light[:len(expected)] == expected  # dark modules are the terminal's background


@browser
async def test_ending_from_the_page_asks_pain_after_then_stops_the_recording(data_dir):
    from playwright.async_api import async_playwright

    from tracker.ble.emulated import quiet_bumble_logging, record_virtual
    from tracker.live.run import LiveRun
    from tracker.routine import Routine
    from tracker.simulate import SensorModel, simulate_session

    quiet_bumble_logging()
    sim = simulate_session(seed=0, rate_hz=50.0, routine=Routine.short(), sensor=SensorModel(drop_prob=0.0))
    store = Store.open(data_dir)
    live = LiveRun(store, no_prompt=True, plain=True, stream=io.StringIO(), web=("127.0.0.1", 0), quiet=True,
                   echo=lambda *a, **k: None)
    live.before()
    stop = asyncio.Event()
    async with async_playwright() as pw:
        chrome = await launch(pw)
        async with live.running(stop) as observers:
            page = await chrome.new_page(viewport={"width": 390, "height": 844})
            await page.goto(live.web_view.url)
            rec = asyncio.ensure_future(record_virtual(store, sim.recording, speed=1.0, stop=stop,
                                                       observers=observers))
            await page.wait_for_function("() => window.trackerDebug.last && window.trackerDebug.last.t_s > 2")
            assert await page.text_content("#sound") == "Sound off"  # --quiet
            await page.click("#pain-scale button.skip")  # no pain before, thanks
            await page.click("#end")
            await page.wait_for_selector("#pain[data-mode=after]")
            assert not stop.is_set()  # the question first
            await page.click("#pain-scale button[data-score='4']")
            run = await asyncio.wait_for(rec, 10.0)
        await chrome.close()
    assert run.result.ended_by == "user" and run.result.quality.duration_s < 20.0
    sid = run.result.session_id
    assert [(e.data["when"], e.data["score"]) for e in store.events(sid, "pain")] == [("after", 4)]
    assert store.self_report(sid)["pain_after"] == 4 and store.self_report(sid)["pain_before"] is None
    store.close()
