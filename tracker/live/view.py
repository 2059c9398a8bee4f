"""Showing a :class:`LiveState`: a rich terminal view, or plain lines for logs and CI.

:class:`LiveDisplay` runs in the recording's event loop. Before every frame it lets the
session analyse everything received (so the view never falls behind the data: a slow
frame just means the next one covers more samples), then hands the snapshot to a
renderer. It draws as soon as new samples arrive, at most ``max_fps`` times a second,
and at least ``refresh_hz`` times a second (timers move even without data).

Renderers:

* :class:`RichRenderer` — a ``rich.live.Live`` panel: link and signal quality, the three
  angles as gauges (the primary one highlighted, the usual peak marked), exercise, side
  and repetition counts, the hold timer against its target, alerts, the guided step and
  the safety guidance.
* :class:`PlainRenderer` — one line per event as it happens and a status line every
  ``every_s`` seconds; nothing but text, flushed line by line.

:func:`make_renderer` picks rich for a terminal and plain lines otherwise.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import textwrap
import time
from collections.abc import Callable
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from .cues import CueTracker
from .guided import exercise_label
from .state import ANGLE_LABELS, LiveState

__all__ = ["LiveDisplay", "RichRenderer", "PlainRenderer", "TeeRenderer", "make_renderer", "render_state",
           "status_line", "gauge", "PHASE_TEXT", "GAUGE_RANGE_DEG"]

#: Gauge half-range per angle, degrees (lumbopelvic ranges, norms.md).
GAUGE_RANGE_DEG = {"flexion_deg": 60.0, "lateral_bend_deg": 40.0, "axial_rotation_deg": 45.0}
_SHORT = {"flexion_deg": "flex", "lateral_bend_deg": "lat", "axial_rotation_deg": "rot"}
#: What each analyser phase means, in words (both views).
PHASE_TEXT = {
    "calibrating": "calibrating — sit upright and keep still",
    "ready": "ready",
    "moving": "moving into the stretch",
    "holding": "holding",
    "returning": "coming back",
}
_LINK_STYLE = {"streaming": "green", "connected": "green", "connecting": "yellow",
               "reconnecting": "yellow", "disconnected": "red", "gave_up": "red", "stopped": "dim"}


def _clock(t_s: float | None) -> str:
    if t_s is None or not math.isfinite(t_s):
        return "—:—"
    m, s = divmod(max(0.0, t_s), 60.0)
    return f"{int(m)}:{s:04.1f}"


def _fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1f}"


# ------------------------------------------------------------------- plain text
def status_line(state: LiveState) -> str:
    """One line with everything that matters now (the plain view's heartbeat)."""
    link = state.link
    parts = [f"[{_clock(state.t_s)}] link {link.state}",
             f"rate {_fmt_rate(link.achieved_rate_hz)} Hz"
             + (f" of {link.nominal_rate_hz:g}" if link.nominal_rate_hz else ""),
             f"dropped {link.dropped}", f"reconnects {link.reconnects}"]
    if not state.calibrated:
        parts.append("calibrating: sit upright and keep still")
    else:
        if state.exercise is not None:
            parts.append(f"exercise {exercise_label(state.exercise, state.side)} ({state.phase})")
        elif state.phase in ("moving", "holding", "returning"):
            parts.append("exercise — (moving, not one of the stretches)")
        else:
            parts.append(f"exercise none yet ({state.phase})")
        parts.append(f"reps {state.total_reps}" + (
            " [" + ", ".join(f"{exercise_label(e, s)} {n}" for (e, s), n in state.rep_counts) + "]"
            if state.rep_counts else ""))
        if state.hold_s is not None and state.exercise is not None:
            target = f"/{state.hold_target_s:g}" if state.hold_target_s else ""
            parts.append(f"hold {state.hold_s:.1f}{target} s")
        if state.angles_deg is not None:
            parts.append(" ".join(f"{_SHORT[k]} {v:+.1f}°" for k, v in state.angles_deg.items()
                                  if math.isfinite(v)))
    parts.append(f"possible cracks {state.cracks}")
    if state.guided is not None:
        g = state.guided
        cd = f" ({g.countdown_s:.0f} s)" if g.countdown_s is not None else ""
        parts.append(f"step {g.index + 1}/{g.total} {g.title}{cd}")
    return " | ".join(parts)


class PlainRenderer:
    """Plain progress lines (for logs, pipes and CI).

    Parameters
    ----------
    stream : file, optional
        Where to write (default ``sys.stderr``).
    every_s : float
        Status-line interval (wall clock).
    clock : callable
    """

    def __init__(self, stream: IO[str] | None = None, every_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.clock = clock
        self._last: float | None = None
        self.frames = 0

    def start(self) -> None:
        pass

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def update(self, state: LiveState, messages: list[tuple[float | None, str, str]]) -> None:
        for t_s, level, text in messages:
            tag = {"alert": "ALERT ", "warning": "WARNING ", "stop": "STOP ", "step": "NEXT ",
                   "note": "NOTE "}.get(level, "")
            self._write(f"[{_clock(t_s)}] {tag}{text}")
        now = self.clock()
        if self._last is None or now - self._last >= self.every_s:
            self._last = now
            self._write(status_line(state))
        self.frames += 1

    def stop(self, state: LiveState, messages: list[tuple[float | None, str, str]]) -> None:
        self._last = None
        self.update(state, messages)


# ------------------------------------------------------------------- rich view
# One styled Text per frame: rich tables and panels measure their cells several times
# per render (~20 ms a frame here); a single Text renders in about a millisecond.
def gauge(value: float | None, half_range_deg: float, width: int = 41, *, marker: float | None = None,
          style: str = "cyan") -> Text:
    """A centre-zero bar: ``value`` fills from the middle; ``marker`` draws a ``┃``.

    NaN or None (not observable) gives a dimmed empty bar.
    """
    width = max(11, width | 1)
    mid = width // 2
    cells = ["─"] * width
    styles = ["dim"] * width
    cells[mid], styles[mid] = "┼", "white"
    if value is not None and math.isfinite(value):
        frac = max(-1.0, min(1.0, value / half_range_deg))
        n = int(round(abs(frac) * mid))
        step = 1 if frac > 0 else -1
        for k in range(1, n + 1):
            cells[mid + step * k], styles[mid + step * k] = "█", style
        if abs(value) > half_range_deg:
            edge = width - 1 if value > 0 else 0
            cells[edge], styles[edge] = "▶" if value > 0 else "◀", "red"
    if marker is not None and math.isfinite(marker):
        pos = mid + int(round(max(-1.0, min(1.0, marker / half_range_deg)) * mid))
        cells[pos], styles[pos] = "┃", "magenta"
    text = Text()
    run_start = 0
    for k in range(1, width + 1):  # one span per run of equal style
        if k == width or styles[k] != styles[run_start]:
            text.append("".join(cells[run_start:k]), style=styles[run_start])
            run_start = k
    return text


def _bar(frac: float, width: int, style: str) -> Text:
    n = int(round(max(0.0, min(1.0, frac)) * width))
    return Text("█" * n, style=style) + Text("░" * (width - n), style="dim")


def _rule(title: str, width: int, style: str) -> Text:
    text = Text("── ", style=style)
    text.append(title, style="bold " + style)
    text.append(" " + "─" * max(3, width - len(title) - 5), style=style)
    return text


def _pack(items: list[str], width: int, sep: str) -> list[str]:
    """Items joined by ``sep`` into rows no wider than ``width`` (an item is never split)."""
    rows = [""]
    for item in items:
        candidate = item if not rows[-1] else rows[-1] + sep + item
        if len(candidate) <= width or not rows[-1]:
            rows[-1] = candidate
        else:
            rows.append(item)
    return rows


def _field(name: str) -> Text:
    return Text(f"{name:<10}", style="bold")


def render_state(state: LiveState, width: int = 100) -> Text:
    """The rich renderable of one frame (one styled text, lines separated by newlines)."""
    width = max(60, min(width, 140))
    lines: list[Text] = []
    link = state.link
    link_style = _LINK_STYLE.get(link.state, "white")
    head = Text("tracker · live   ", style="bold blue")
    head.append("● ", style=link_style)
    head.append(f"{link.state}", style="bold " + link_style)
    head.append(f"   {_clock(state.t_s)}", style="bold")
    head.append(f"   {link.device or 'sensor'}")
    lines.append(head)
    quality = Text(f"rate {_fmt_rate(link.achieved_rate_hz)} Hz")
    if link.nominal_rate_hz:
        quality.append(f" of {link.nominal_rate_hz:g}", style="dim")
    quality.append("   dropped ")
    quality.append(str(link.dropped), style="yellow" if link.dropped else "")
    quality.append("   reconnects ")
    quality.append(str(link.reconnects), style="yellow" if link.reconnects else "")
    quality.append(f"   session {state.session_id or '(not started)'}", style="dim")
    lines.append(quality)
    lines.append(Text("─" * width, style="blue"))

    # label 17 + bar + value 10 + sign hint 18 columns
    bar_w = max(21, min(51, width - 45))
    if bar_w % 2 == 0:
        bar_w -= 1
    for col, label, signs in ANGLE_LABELS:
        v = None if state.angles_deg is None else state.angles_deg.get(col)
        primary = col == state.primary
        marker = None
        style = "cyan"
        if primary and state.usual_peak_deg is not None:
            marker = state.usual_marker_deg
            if v is not None and math.isfinite(v) and abs(v) > abs(state.usual_peak_deg):
                style = "yellow"
        if primary:
            style = "bold " + style
        value = "     —" if v is None or not math.isfinite(v) else f"{v:+6.1f}°"
        row = Text(("▸ " if primary else "  ") + f"{label:<15}", style="bold" if primary else "")
        row.append_text(gauge(v, GAUGE_RANGE_DEG[col], bar_w, marker=marker, style=style))
        row.append(f" {value:>8} ", style="bold" if primary else "")
        row.append(signs, style="dim")
        lines.append(row)
    lines.append(Text(""))

    recording = state.status == "recording"
    if not recording:
        lines.append(_field("Status") + Text(f"session {state.status}", style="bold"))
    elif not state.calibrated:
        lines.append(_field("Status") + Text(PHASE_TEXT["calibrating"], style="yellow"))
    if state.calibrated:
        if not recording:
            phase = Text("")
        elif state.angles_deg is None:
            phase = Text("hold still to set the start position", style="yellow")
        elif state.phase != "ready" and state.exercise is None:
            phase = Text("moving — not one of the stretches", style="dim")
        else:
            phase = Text(PHASE_TEXT.get(state.phase, state.phase),
                         style="bold green" if state.phase == "holding" else "")
        ex = Text(exercise_label(state.exercise, state.side) if state.exercise else "—", style="bold")
        lines.append(_field("Exercise") + ex + Text("   ") + phase)
        if state.rep_counts:
            items = [f"{exercise_label(e, s)} {n}" for (e, s), n in state.rep_counts]
            rows = _pack(items, width - 10 - 6, "  ·  ")
            lines.append(_field("Reps") + Text(f"{state.total_reps:<6}", style="bold") + Text(rows[0]))
            lines.extend(Text(" " * 16 + row) for row in rows[1:])
        else:
            lines.append(_field("Reps") + Text("0     ", style="bold") + Text("none yet", style="dim"))
        if recording and state.exercise is not None and (state.hold_s is not None or state.phase == "holding"):
            held = state.hold_s or 0.0
            if state.hold_target_s:
                done = held >= state.hold_target_s
                lines.append(_field("Hold") + _bar(held / state.hold_target_s, 30, "green" if done else "cyan")
                             + Text(f"  {held:4.1f} / {state.hold_target_s:g} s"
                                    + ("  ✓ now come back slowly" if done else "")))
            else:
                lines.append(_field("Hold") + Text(f"{held:4.1f} s"))
        if recording and state.peak_deg is not None:
            usual = "" if state.usual_peak_deg is None else f"   (usually {abs(state.usual_peak_deg):.0f}°)"
            lines.append(_field("Peak") + Text(f"{state.peak_deg:+.1f}°{usual}"))
    lines.append(_field("Cracks") + Text(f"{state.cracks} possible",
                                         style="yellow" if state.cracks else "dim"))

    if state.guided is not None:
        g = state.guided
        lines.append(Text(""))
        lines.append(_rule(f"Step {g.index + 1} of {g.total}: {g.title}", width,
                           "green" if g.done else "cyan"))
        for part in textwrap.wrap(g.instruction, width):
            lines.append(Text(part, style="bold"))
        if g.countdown_s is not None and recording:
            lines.append(Text(f"{math.ceil(g.countdown_s - 1e-9)} s left", style="cyan"))
        if g.note:
            lines.extend(Text(part, style="yellow") for part in textwrap.wrap(g.note, width))
        if recording:
            lines.append(Text(f"waiting for: {g.waiting_for}", style="dim"))
    if state.alerts:
        lines.append(Text(""))
    for alert in state.alerts:
        style = "bold red" if alert.level == "stop" else "bold yellow"
        text = ("■ " if alert.level == "stop" else "⚠ ") + alert.message
        lines.extend(Text(part, style=style) for part in textwrap.wrap(text, width, subsequent_indent="  "))
    if state.guidance:
        lines.append(Text(""))
        lines.append(_rule("Stop, and see a doctor if…", width, "red"))
        for part in textwrap.wrap(state.guidance, width):
            lines.append(Text(part, style="red"))
    if recording:
        keys = "Ctrl-C stop and save   ·   p pain   ·   q stop"
        if state.guided is not None:
            keys += "   ·   n skip this step"
        lines.append(Text(""))
        lines.append(Text(keys, style="dim"))
    out = Text("\n", no_wrap=True, overflow="crop").join(lines)
    out.no_wrap, out.overflow = True, "crop"  # lines are laid out here; wrapping costs ms
    return out


class RichRenderer:
    """The terminal view (``rich.live.Live`` on ``console``, redrawn on each update).

    ``bell``: ring the terminal bell when a hold ends (someone on the floor hears it).
    """

    def __init__(self, console: Console | None = None, *, bell: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.bell = bell
        self._cues = CueTracker()
        self._live: Live | None = None
        self.frames = 0
        self.bells = 0

    def start(self) -> None:
        # other output (the Ctrl-C notice, log warnings) goes above the view, not through it
        self._live = Live(console=self.console, auto_refresh=False, transient=False,
                          redirect_stdout=True, redirect_stderr=True)
        self._live.start()

    def update(self, state: LiveState, messages: list[tuple[float | None, str, str]]) -> None:
        if self._live is None:
            self.start()
        assert self._live is not None
        self._live.update(render_state(state, self.console.width), refresh=True)
        self.frames += 1
        if any(c.kind == "hold_end" for c in self._cues.update(state)) and self.bell:
            self.console.bell()
            self.bells += 1

    def stop(self, state: LiveState, messages: list[tuple[float | None, str, str]]) -> None:
        if self._live is None:
            return
        self._live.update(render_state(state, self.console.width), refresh=True)
        self._live.stop()
        self._live = None


class TeeRenderer:
    """Several renderers fed the same frames (the terminal view and the web view)."""

    def __init__(self, *renderers: Any) -> None:
        self.renderers = renderers

    @property
    def frames(self) -> int:
        return int(self.renderers[0].frames)

    def start(self) -> None:
        for r in self.renderers:
            r.start()

    def update(self, state: LiveState, messages: list[tuple[float | None, str, str]]) -> None:
        for r in self.renderers:
            r.update(state, messages)

    def stop(self, state: LiveState, messages: list[tuple[float | None, str, str]]) -> None:
        for r in self.renderers:
            r.stop(state, messages)


def make_renderer(stream: IO[str] | None = None, *, plain: bool | None = None, bell: bool = True) -> Any:
    """Rich when ``stream`` (default stderr) is a terminal, else plain lines.

    ``TERM=dumb`` also gives plain lines; ``plain`` forces the choice; ``bell`` rings the
    terminal bell at the end of each hold (rich view only: plain lines go to logs).
    """
    stream = stream or sys.stderr
    if plain is None:
        plain = not (hasattr(stream, "isatty") and stream.isatty()) or os.environ.get("TERM") == "dumb"
    if plain:
        return PlainRenderer(stream)
    return RichRenderer(Console(file=stream), bell=bell)


# ------------------------------------------------------------------ the loop
class _Keys:
    """Single key presses from a terminal (POSIX cbreak mode; Ctrl-C still signals)."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.on_key = on_key
        self._fd: int | None = None
        self._saved: Any = None

    def start(self) -> bool:
        try:
            import termios
            import tty
        except ImportError:  # Windows
            return False
        if not sys.stdin.isatty():
            return False
        fd = sys.stdin.fileno()
        try:
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            asyncio.get_running_loop().add_reader(fd, self._read)
        except (OSError, termios.error, NotImplementedError):
            return False
        self._fd = fd
        return True

    def _read(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 32).decode(errors="ignore")
        except OSError:
            return
        for ch in data:
            self.on_key(ch)

    def stop(self) -> None:
        if self._fd is None:
            return
        import termios

        try:
            asyncio.get_running_loop().remove_reader(self._fd)
        except RuntimeError:
            pass
        termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        self._fd = None


class LiveDisplay:
    """Run the view while a recording runs (an async context manager).

    Parameters
    ----------
    session : LiveSession
    renderer : RichRenderer or PlainRenderer
    refresh_hz : float
        Frames per second at least (timers advance without data).
    max_fps : float
        Frames per second at most (new data triggers a frame, throttled to this).
    stop : asyncio.Event, optional
        Set to end the recording: by ``q``, and when a guided routine is complete.
    keys : bool
        Read single keys from the terminal (``p`` pain, ``n`` skip step, ``q`` stop).
    on_frame : callable, optional
        ``on_frame(state, clock_s)`` after each frame is drawn (latency benchmark).
    """

    def __init__(self, session: Any, renderer: Any, *, refresh_hz: float = 10.0, max_fps: float = 20.0,
                 stop: asyncio.Event | None = None, keys: bool = True,
                 on_frame: Callable[[LiveState, float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not refresh_hz > 0 or max_fps < refresh_hz:
            raise ValueError("need refresh_hz > 0 and max_fps >= refresh_hz")
        self.session = session
        self.renderer = renderer
        self.refresh_s = 1.0 / refresh_hz
        self.min_gap_s = 1.0 / max_fps
        self.stop_event = stop
        self.on_frame = on_frame
        self.clock = clock
        self._keys = _Keys(self._on_key) if keys else None
        self._task: asyncio.Task[None] | None = None
        self.frames = 0
        self.frame_s: list[float] = []  # time spent per frame (analysis + drawing)

    async def __aenter__(self) -> LiveDisplay:
        self.session.data_ready = asyncio.Event()
        self.renderer.start()
        if self._keys is not None:
            self._keys.start()
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop drawing; the final frame shows the finished session."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._keys is not None:
            self._keys.stop()
            self._keys = None

    def final_frame(self) -> None:
        """Draw the last frame (after :meth:`LiveSession.finish`) and release the screen."""
        self.renderer.stop(self.session.snapshot(), self.session.drain_messages())

    def _on_key(self, ch: str) -> None:
        key = ch.lower()
        if key == "p":
            self.session.report_pain_during()
        elif key == "n":
            self.session.skip_step()
        elif key == "q" and self.stop_event is not None:
            self.stop_event.set()

    def draw(self) -> LiveState:
        """Analyse what arrived and draw one frame now."""
        t0 = self.clock()
        self.session.process()
        state = self.session.snapshot()
        self.renderer.update(state, self.session.drain_messages())
        done = self.clock()
        self.frames += 1
        self.frame_s.append(done - t0)
        if self.on_frame is not None:
            self.on_frame(state, done)
        if self.stop_event is not None and getattr(self.session, "wants_stop", False):
            self.stop_event.set()
        return state

    async def _run(self) -> None:
        ready = self.session.data_ready
        last = -math.inf
        while True:
            try:
                await asyncio.wait_for(ready.wait(), self.refresh_s)
            except TimeoutError:
                pass
            wait = self.min_gap_s - (self.clock() - last)
            if wait > 0:
                await asyncio.sleep(wait)
            ready.clear()
            last = self.clock()
            self.draw()
