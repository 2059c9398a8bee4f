"""The browser view of a live session: a small Starlette app served by uvicorn in the recorder's loop.

:class:`WebView` is two things at once:

* a renderer for :class:`tracker.live.view.LiveDisplay` (``start``/``update``/``stop``),
  so it draws exactly the frames the terminal view draws, from the same
  :class:`~tracker.live.state.LiveState` (one-way: the page never reaches into the
  analyser);
* the HTTP server (:meth:`WebView.serve` … :meth:`WebView.aclose`): it lives only as long
  as the recording.

Routes (every one needs ``?token=…``; without it, or with a wrong one: 403):

``GET /``          the page (HTML; its CSS and JS are served by the next two routes)
``GET /app.css``   ``GET /app.js``
``GET /events``    server-sent events: one JSON frame per view frame (``data: {...}``)
``POST /pain``     ``{"when": "before" | "during" | "after", "score": 0–10 | null}``
``POST /control``  ``{"action": "skip" | "stop"}`` (skip the guided step; end the session)

Why server-sent events: the data flows one way (frames to the page), which is what SSE
is for; browsers reconnect by themselves; it needs nothing beyond HTTP (a WebSocket
would add a protocol library to uvicorn). The page's few answers are plain POSTs.

Handlers are ``async`` so they run in the recorder's event loop thread: pain answers
go through the same :class:`~tracker.live.session.LiveSession` methods (and so the same
store calls) as the terminal's answers, with no locking.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import secrets
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from typing import Any, Self

from ..errors import TrackerError, ValidationError
from ..live.cues import Cue, CueTracker
from ..live.safety import parse_pain
from ..live.state import LiveState
from .frame import frame_of

__all__ = ["DEFAULT_HOST", "WebView", "lan_address", "parse_bind"]

logger = logging.getLogger(__name__)

#: Where the view listens unless a host is given: this machine only.
DEFAULT_HOST = "127.0.0.1"
#: Recent cues sent with every frame (a page that missed frames still plays each once).
_KEEP_CUES = 16
#: Recent lines of what happened, shown under the step.
_KEEP_MESSAGES = 4
#: After the recording: how long the server waits for pages to get the final frame.
_CLOSE_GRACE_S = 0.3

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never pass it on
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # nothing from anywhere else: own script, own style, own stream
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
}


def parse_bind(text: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` → ``(host, port)``; the host defaults to 127.0.0.1.

    Raises
    ------
    ValidationError
        Not a port 0–65535 (0 = any free port) or an empty host.
    """
    s = str(text).strip()
    host = DEFAULT_HOST
    port_s = s
    if s.startswith("["):
        end = s.find("]")
        if end < 0 or not s[end + 1:].startswith(":"):
            raise ValidationError(f"--web {text!r}: expected [IPv6]:PORT")
        host, port_s = s[1:end], s[end + 2:]
    elif ":" in s:
        host, port_s = s.rsplit(":", 1)
    if not host:
        raise ValidationError(f"--web {text!r}: the host before ':' is empty")
    try:
        port = int(port_s)
    except ValueError:
        raise ValidationError(f"--web {text!r}: the port must be a number 0–65535 (0 = any free port)") from None
    if not 0 <= port <= 65535:
        raise ValidationError(f"--web {text!r}: the port must be 0–65535, got {port}")
    return host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_any(host: str) -> bool:
    return host in ("0.0.0.0", "::", "")


def lan_address() -> str | None:
    """This machine's address on its local network (no packet is sent), or None."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.254.254.254", 9))  # a UDP "connect" only picks the outgoing interface
        addr = s.getsockname()[0]
        return None if addr.startswith("127.") else str(addr)
    return None


def _asset(name: str) -> bytes:
    return resources.files("tracker.web").joinpath("static", name).read_bytes()


class _Client:
    """One open event stream: the newest frame waiting to be sent (older ones are skipped)."""

    def __init__(self) -> None:
        self.data: str | None = None
        self.closed = False
        self.ready = asyncio.Event()

    def push(self, data: str) -> None:
        self.data = data
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()


class WebView:
    """Serve a live session as a web page while it records.

    Parameters
    ----------
    session : LiveSession
        Where pain answers and controls go (the frames come through :meth:`update`).
    host : str
        Interface to listen on (default 127.0.0.1: this machine only).
    port : int
        0 picks a free port.
    token : str, optional
        Secret every request must carry (default: 128 random bits).
    sound : bool
        The page starts with sound on (``--quiet``: off).
    stop : asyncio.Event, optional
        Set by the page's "end session" (like the terminal's ``q``).
    """

    def __init__(self, session: Any, *, host: str = DEFAULT_HOST, port: int = 0, token: str | None = None,
                 sound: bool = True, stop: asyncio.Event | None = None) -> None:
        self.session = session
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(16)
        self.sound = sound
        self.stop_event = stop
        self.frames = 0
        self._cues = CueTracker()
        self._cue_seq = 0
        self._recent_cues: deque[tuple[int, Cue]] = deque(maxlen=_KEEP_CUES)
        self._recent_msgs: deque[tuple[float | None, str, str]] = deque(maxlen=_KEEP_MESSAGES)
        self._clients: set[_Client] = set()
        self._last: str | None = None
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self._assets = {name: _asset(name) for name in ("index.html", "app.css", "app.js")}
        # the page asks for its own script and style with the same token
        self._assets["index.html"] = self._assets["index.html"].replace(b"__TOKEN__", self.token.encode())

    # ---------------------------------------------------------------- addresses
    @property
    def url(self) -> str:
        """The address to open (with the token). For a wildcard bind: the LAN address."""
        host = self.host
        if _is_any(host):
            host = lan_address() or ("127.0.0.1" if host != "::" else "::1")
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/?token={self.token}"

    @property
    def local_only(self) -> bool:
        """Reachable from this machine only (a phone cannot open it)."""
        return _is_loopback(self.host)

    # ------------------------------------------------------------ server life
    async def serve(self) -> None:
        """Bind and start serving (returns once listening).

        Raises
        ------
        TrackerError
            The address cannot be bound (in use, not this machine's, no permission).
        """
        import uvicorn

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(16)
        except OSError as exc:
            sock.close()
            raise TrackerError(f"cannot serve the web view on {self.host}:{self.port}: "
                               f"{exc.strerror or exc}") from None
        sock.setblocking(False)
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(self._app(), log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1, ws="none")
        self._server = _Server(config)
        self._task = asyncio.ensure_future(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise TrackerError("the web view's server stopped before it started")
            await asyncio.sleep(0.005)

    async def aclose(self) -> None:
        """End every event stream (after the final frame) and stop the server."""
        if self._server is None:
            return
        await asyncio.sleep(_CLOSE_GRACE_S if self._clients else 0.0)
        for client in list(self._clients):
            client.close()
        self._server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5.0)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = self._sock = None

    async def __aenter__(self) -> Self:
        await self.serve()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --------------------------------------------------------------- renderer
    def start(self) -> None:
        pass

    def update(self, state: LiveState, messages: list[tuple[float | None, str, str]]) -> None:
        """Send one frame to every open page (pages that lag get the newest one only)."""
        for cue in self._cues.update(state):
            self._cue_seq += 1
            self._recent_cues.append((self._cue_seq, cue))
        self._recent_msgs.extend(m for m in messages if m[1] in ("info", "step", "note", "alert", "warning"))
        frame = frame_of(state, cues=self._recent_cues, messages=self._recent_msgs, sound=self.sound)
        frame["frame"] = self.frames
        frame["sent_ms"] = round(time.time() * 1e3, 1)  # for the latency benchmark
        data = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
        self._last = data
        for client in self._clients:
            client.push(data)
        self.frames += 1

    def stop(self, state: LiveState, messages: list[tuple[float | None, str, str]]) -> None:
        self.update(state, messages)

    # -------------------------------------------------------------------- app
    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import (
            JSONResponse,
            PlainTextResponse,
            Response,
            StreamingResponse,
        )
        from starlette.routing import Route

        def asset(name: str, media_type: str) -> Any:
            async def handler(request: Request) -> Response:
                return Response(self._assets[name], media_type=media_type, headers=_HEADERS)
            return handler

        async def events(request: Request) -> Response:
            client = _Client()
            self._clients.add(client)
            if self._last is not None:
                client.push(self._last)

            async def stream() -> AsyncIterator[str]:
                try:
                    yield "retry: 1000\n\n"
                    while True:
                        await client.ready.wait()
                        client.ready.clear()
                        if client.data is not None:
                            data, client.data = client.data, None
                            yield f"data: {data}\n\n"
                        if client.closed:
                            yield "event: end\ndata: {}\n\n"
                            return
                finally:
                    self._clients.discard(client)

            return StreamingResponse(stream(), media_type="text/event-stream",
                                     headers={**_HEADERS, "X-Accel-Buffering": "no"})

        async def body(request: Request) -> dict[str, Any]:
            try:
                data = await request.json()
            except (ValueError, UnicodeDecodeError):
                raise ValidationError("the request body is not JSON") from None
            if not isinstance(data, dict):
                raise ValidationError("the request body must be a JSON object")
            return data

        def answer(payload: dict[str, Any], status: int = 200) -> Response:
            return JSONResponse(payload, status_code=status, headers=_HEADERS)

        async def pain(request: Request) -> Response:
            try:
                data = await body(request)
                when = data.get("when")
                if when not in ("before", "during", "after"):
                    raise ValidationError(f"'when' must be before, during or after, got {when!r}")
                raw = data.get("score")
                if isinstance(raw, bool) or not (raw is None or isinstance(raw, int | str)):
                    raise ValidationError(f"'score' must be a whole number 0–10 or null, got {raw!r}")
                score = parse_pain(raw)
            except ValidationError as exc:
                return answer({"ok": False, "error": str(exc)}, 400)
            s = self.session
            if when == "during":
                s.report_pain_during(score)
            elif when == "before":
                if score is not None:
                    s.record_pain_before(score)
            else:
                s.record_pain_after(score)
            self._kick()
            return answer({"ok": True, "pain": dict(s.pain), "guidance": s.snapshot().guidance})

        async def control(request: Request) -> Response:
            try:
                data = await body(request)
                action = data.get("action")
                if action not in ("skip", "stop"):
                    raise ValidationError(f"'action' must be skip or stop, got {action!r}")
            except ValidationError as exc:
                return answer({"ok": False, "error": str(exc)}, 400)
            if action == "skip":
                self.session.skip_step()
            elif self.stop_event is not None:
                self.stop_event.set()
            self._kick()
            return answer({"ok": True})

        routes = [
            Route("/", asset("index.html", "text/html; charset=utf-8")),
            Route("/app.css", asset("app.css", "text/css; charset=utf-8")),
            Route("/app.js", asset("app.js", "text/javascript; charset=utf-8")),
            Route("/events", events),
            Route("/pain", pain, methods=["POST"]),
            Route("/control", control, methods=["POST"]),
        ]
        app = Starlette(routes=routes)

        async def refused() -> Any:
            return PlainTextResponse("403 forbidden: open the address tracker record printed "
                                     "(it carries the token)\n", status_code=403, headers=_HEADERS)

        return _TokenGate(app, self.token, refused)

    def _kick(self) -> None:
        """Draw a frame soon (an answer should show without waiting for data)."""
        ready = getattr(self.session, "data_ready", None)
        if ready is not None:
            ready.set()


class _TokenGate:
    """ASGI middleware: every HTTP request must carry ``?token=`` (compared in constant time)."""

    def __init__(self, app: Any, token: str, refused: Any) -> None:
        self.app = app
        self.token = token.encode()
        self.refused = refused

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            from urllib.parse import parse_qs

            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (query.get("token") or [""])[0].encode()
            if not secrets.compare_digest(given, self.token):
                response = await self.refused()
                await response(scope, receive, send)
                return
        elif scope["type"] != "lifespan":  # websockets are not served
            return
        await self.app(scope, receive, send)


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # Ctrl-C belongs to the recorder (it ends the session cleanly), not to uvicorn
            yield

    return Server


def _Server(config: Any) -> Any:
    return _server_class()(config)
