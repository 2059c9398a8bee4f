"""The live view around ``tracker record``: pain before, the view while recording, pain after.

The CLI stays thin::

    live = LiveRun(store, guided=True, no_prompt=False)
    if not live.before():                 # pain 0–10 (skippable); high pain: confirm
        return
    async def main():
        stop = asyncio.Event()
        async with live.running(stop) as observers:
            return await record_session(..., stop=stop, observers=observers)
    result = asyncio.run(main())
    live.after(result)                    # pain after, guidance, summary
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import IO, Any

import click

from ..routine import Routine
from .guided import GuidedRoutine, exercise_label
from .safety import ask_pain, pain_needs_stop, stop_guidance
from .session import LiveSession, ordered_counts
from .view import LiveDisplay, TeeRenderer, make_renderer

__all__ = ["LiveRun", "WEB_AFTER_WAIT_S"]

#: With the web page open, a guided recording waits this long (wall seconds) after the
#: routine for the pain-after answer on the page before it stops.
WEB_AFTER_WAIT_S = 30.0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _click_prompt(question: str) -> str:
    try:
        return click.prompt(question, default="", show_default=False, err=True)
    except click.Abort:  # end of input (scripts, closed stdin) or Ctrl-C: skip
        raise EOFError from None


class LiveRun:
    """Everything ``tracker record`` does around the recording itself.

    Parameters
    ----------
    store : Store
    guided : bool
        Walk through design.md's routine step by step.
    no_prompt : bool
        Ask nothing (scripts, CI).
    plain : bool, optional
        Force plain lines (True) or the rich view (False); default: rich on a terminal.
    stream : file, optional
        Where the view goes (default: stderr; the summary goes to stdout).
    routine : Routine, optional
        The guided routine (default: design.md's).
    prompt, echo : callables
        How to ask and tell (tests pass their own).
    web : (host, port), optional
        Also serve the session as a web page there (:class:`tracker.web.WebView`) while
        it records; the URL (with its token) is printed first.
    quiet : bool
        No sound: no terminal bell, and the page starts muted.
    web_token : str, optional
        The page's token (default: random).
    """

    def __init__(self, store: Any, *, guided: bool = False, no_prompt: bool = False,
                 plain: bool | None = None, stream: IO[str] | None = None,
                 routine: Routine | None = None, prompt: Callable[[str], str] = _click_prompt,
                 echo: Callable[..., None] = click.echo, web: tuple[str, int] | None = None,
                 quiet: bool = False, web_token: str | None = None) -> None:
        self.store = store
        self.web = web
        self.web_token = web_token
        self.quiet = quiet
        self.web_view: Any = None
        self.no_prompt = no_prompt
        self.stream = stream or sys.stderr
        self.plain = plain
        self.prompt = prompt
        self.echo = echo
        self.routine = routine or Routine.default()
        self.guided = GuidedRoutine(self.routine, calibration_bend=True) if guided else None
        self.session: LiveSession | None = None
        self.display: LiveDisplay | None = None

    def skip_step(self) -> None:
        """Skip the guided step now (what the terminal's ``n`` does)."""
        if self.session is not None:
            self.session.skip_step()

    def _err(self, text: str) -> None:
        self.echo(text, err=True)

    def before(self) -> bool:
        """Ask for pain before; False when the person decides not to record after all."""
        pain = None
        if not self.no_prompt:
            pain = ask_pain("before", self.prompt, self._err)
        if pain is not None and pain_needs_stop(before=pain):
            self._err(stop_guidance(before=pain))
            if not self._confirm("Record anyway?"):
                return False
        self.session = LiveSession(self.store, guided=self.guided, pain_before=pain)
        return True

    def _confirm(self, question: str) -> bool:
        try:
            answer = self.prompt(question + " [y/N]")
        except EOFError:
            return False
        return str(answer).strip().lower() in ("y", "yes")

    @asynccontextmanager
    async def running(self, stop: asyncio.Event) -> AsyncIterator[list[Any]]:
        """Show the view while the body records; yields the observers to pass on."""
        if self.session is None:
            self.session = LiveSession(self.store, guided=self.guided)
        renderer = make_renderer(self.stream, plain=self.plain, bell=not self.quiet)
        web = None
        if self.web is not None:
            from ..web import WebView

            web = self.web_view = WebView(self.session, host=self.web[0], port=self.web[1],
                                          token=self.web_token, sound=not self.quiet, stop=stop)
            await web.serve()  # a clear error before anything records if it cannot listen
            self._announce(web)
            # the page asks the pain after at the end of the routine: give it time
            self.session.after_wait_s = WEB_AFTER_WAIT_S
            renderer = TeeRenderer(renderer, web)
        display = self.display = LiveDisplay(self.session, renderer, stop=stop,
                                             keys=not self.no_prompt)
        try:
            await display.__aenter__()
            try:
                yield [self.session]
            finally:
                await display.close()
                try:
                    self.session.finish()
                finally:
                    display.final_frame()
        finally:
            if web is not None:
                await web.aclose()

    def _announce(self, web: Any) -> None:
        from ..web import terminal_qr

        self._err(f"web view: {web.url}")
        if web.local_only:
            port = web.port
            self._err(f"  (this computer only; for a phone on the same network: --web 0.0.0.0:{port})")
            return
        qr = terminal_qr(web.url, color=getattr(self.stream, "isatty", lambda: False)())
        if qr is not None:
            self._err("  scan with a phone on the same network:")
            self._err(qr)
        self._err("  anyone on this network with the address can watch: keep it to yourself")

    def after(self, result: Any) -> None:
        """Pain after (unless ``no_prompt``), the guidance when it applies, and a summary."""
        session = self.session
        if session is None:
            return
        session.finish(result)
        if result is not None and result.session_id is not None:
            if session.pain["after"] is not None:
                before, after = session.pain["before"], session.pain["after"]
                self._err(f"pain after: {after} (answered on the web page)")
                if pain_needs_stop(before=before, after=after):
                    self._err(stop_guidance(before=before, after=after, during=session.pain["during"] is not None))
            elif not self.no_prompt and not session.after_answered:
                try:
                    pain = ask_pain("after", self.prompt, self._err)
                except KeyboardInterrupt:
                    pain = None
                guidance = session.record_pain_after(pain)
                if guidance:
                    self._err(guidance)
            elif session.pain["during"] is not None:
                self._err(stop_guidance(before=session.pain["before"], during=True))
        an = session.analyzer
        if an is None:
            return
        counts = ", ".join(f"{exercise_label(e, s)} {n}" for (e, s), n in ordered_counts(an.rep_counts))
        self.echo(f"  live view: {_n(len(an.reps), 'repetition')}" + (f" ({counts})" if counts else "")
                  + f", {_n(len(an.cracks), 'possible crack')} (short acceleration spikes, not a diagnosis)")
        warnings = [ev.data["kind"] for ev in session.events if ev.kind == "warning"]
        if warnings:
            kinds = ", ".join(f"{k} ×{warnings.count(k)}" for k in dict.fromkeys(warnings))
            self.echo(f"  safety warnings: {kinds}")
        if self.guided is not None:
            g = self.guided
            done = sum(1 for s in g.completed if s["kind"] == "rep" and not s.get("skipped"))
            total = sum(1 for s in g.steps if s.kind == "rep")
            self.echo(f"  guided routine: {done} of {total} repetitions done"
                      + (" — complete" if g.done else ""))
