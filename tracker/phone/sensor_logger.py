"""``tracker record --sensor-logger [HOST:]PORT``: receive Sensor Logger's HTTP push.

Sensor Logger ("Data Streaming" → HTTP Push) POSTs JSON batches to a URL typed into the
app. The receiver listens only while recording, on 127.0.0.1 unless told otherwise
(a phone needs the computer's LAN address: ``--sensor-logger 0.0.0.0:8000``), and
accepts only requests carrying the session's random token (``?token=`` in the URL it
prints, or ``Authorization: Bearer``): others get 401 (no token) or 403 (wrong token)
and store nothing. A body over the size limit gets 413, malformed JSON 400, unknown
sensor names are listed in the reply; none of them ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import socket
import time
from collections.abc import Iterator
from typing import Any

from ..ble.client import LinkEvent, LinkState, ReconnectPolicy
from ..errors import DecodeError, DeviceError
from ..profiles.phone import SENSOR_LOGGER_PUSH, parse_push

__all__ = ["SensorLoggerSource", "parse_listen_address", "require_server", "MAX_BODY_BYTES"]

logger = logging.getLogger(__name__)

#: Largest push accepted (a 1 s batch of five sensors at 100 Hz is ~60 kB).
MAX_BODY_BYTES = 4 * 1024 * 1024
#: No push for this long after data flowed: reported as a link drop (the app batches
#: every 0.2–1 s by default).
SILENCE_S = 5.0
PUSH_PATH = "/push"


def require_server() -> None:
    """Raise :class:`DeviceError` naming what to install when the ``phone`` extra (the HTTP
    server Sensor Logger pushes to) is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise DeviceError(f"--sensor-logger needs {exc.name}: pip install 'tracker[phone]'") from None


def parse_listen_address(text: str) -> tuple[str, int]:
    """``8000`` or ``HOST:8000`` -> (host, port); the host defaults to 127.0.0.1."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text.strip()
    try:
        number = int(port)
    except ValueError:
        raise DeviceError(f"--sensor-logger {text!r}: expected [HOST:]PORT, e.g. 8000 or 0.0.0.0:8000") from None
    if not 0 <= number <= 65535:
        raise DeviceError(f"--sensor-logger {text!r}: port must be 0–65535")
    return host.strip("[]") or "127.0.0.1", number


def _lan_address() -> str:
    """This computer's address on the LAN (a UDP connect sends nothing)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        return str(s.getsockname()[0])
    return "127.0.0.1"


class SensorLoggerSource:
    """An HTTP receiver for one recording; ``run(stop)`` serves until ``stop`` is set.

    Attributes
    ----------
    url : str
        What to type into Sensor Logger (set once listening; ``ready`` is then set).
    token : str
        The random token the URL carries.
    counts : dict
        Requests by outcome (``stored``, ``401``, ``403``, ``413``, ``400``...).
    unknown_sensors : dict
        Sensor names received that tracker does not know, with counts.
    """

    def __init__(self, listen: str, queue: asyncio.Queue, *, policy: ReconnectPolicy | None = None,
                 token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
                 silence_s: float = SILENCE_S) -> None:
        self.host, self.port = parse_listen_address(listen)
        self.queue = queue
        self.policy = policy or ReconnectPolicy()
        self.token = token or secrets.token_urlsafe(16)
        self.max_body_bytes = max_body_bytes
        self.silence_s = silence_s
        self.url = ""
        self.ready = asyncio.Event()
        self.counts: dict[str, int] = {}
        self.unknown_sensors: dict[str, int] = {}
        self._last_push: float | None = None
        self._streaming = False
        self._seen: set[str] = set()

    def _missing(self) -> str | None:
        """What the phone does not send that tracker needs (None when all is there)."""
        if "totalacceleration" in self._seen or {"accelerometer", "gravity"} <= self._seen:
            return None if "gyroscope" in self._seen else "no Gyroscope: switch it on in Sensor Logger"
        return "no Gravity or Total Acceleration: switch one of them on in Sensor Logger"

    # ----------------------------------------------------------------- the app
    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def _authorised(self, request: Any) -> int | None:
        """None when the token is right, else the HTTP status to answer."""
        given = request.query_params.get("token")
        auth = request.headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if given is None:
            given = request.path_params.get("token")
        if not given:
            return 401
        return None if hmac.compare_digest(given.encode(), self.token.encode()) else 403

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, PlainTextResponse
        from starlette.routing import Route

        async def push(request: Request) -> Any:
            status = self._authorised(request)
            if status is not None:
                self._count(str(status))
                what = "missing" if status == 401 else "wrong"
                return JSONResponse({"error": f"{what} token: use the URL tracker printed"}, status_code=status)
            if request.method == "GET":
                return PlainTextResponse("tracker is listening: set this URL in Sensor Logger's HTTP Push\n")
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                self._count("413")
                return JSONResponse({"error": f"body over {self.max_body_bytes} bytes; lower the batch period"},
                                    status_code=413)
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body_bytes:
                    self._count("413")
                    return JSONResponse({"error": f"body over {self.max_body_bytes} bytes; lower the batch "
                                                  "period"}, status_code=413)
            try:
                sensors, unknown = parse_push(bytes(body))
            except DecodeError as exc:
                self._count("400")
                return JSONResponse({"error": f"not a Sensor Logger push: {exc}"}, status_code=400)
            for name, n in unknown.items():
                if name not in self.unknown_sensors:
                    logger.warning("Sensor Logger sent %r, a sensor tracker does not know; ignored", name)
                self.unknown_sensors[name] = self.unknown_sensors.get(name, 0) + n
            reply: dict[str, Any] = {"samples": int(sum(len(t) for t, _ in sensors.values()))}
            if unknown:
                reply["unknown_sensors"] = sorted(unknown)
            self._seen.update(sensors)
            missing = self._missing()
            if missing:
                reply["warning"] = missing
                if self.counts.get("stored", 0) == 2:  # say it once, after a few messages
                    logger.warning("Sensor Logger: %s", missing)
            if sensors:
                self._deliver(bytes(body))
                self._count("stored")
            else:
                self._count("empty")
            return JSONResponse(reply)

        routes = [Route(PUSH_PATH, push, methods=["POST", "GET"]),
                  Route(PUSH_PATH + "/{token}", push, methods=["POST", "GET"])]
        app = Starlette(routes=routes)
        return app

    def _deliver(self, body: bytes) -> None:
        now = time.monotonic()
        if not self._streaming:
            reconnect = self._last_push is not None
            self.queue.put_nowait(LinkEvent(LinkState.CONNECTED, now, {"reconnect": True} if reconnect else {}))
            self.queue.put_nowait(LinkEvent(LinkState.STREAMING, now, {}))
            self._streaming = True
        self._last_push = now
        self.queue.put_nowait((now, SENSOR_LOGGER_PUSH, body))

    # ------------------------------------------------------------------ serving
    async def run(self, stop: asyncio.Event) -> None:
        require_server()
        import uvicorn

        class _Server(uvicorn.Server):
            # The recording owns Ctrl-C (install_stop_signals); uvicorn must not take it.
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

            def install_signal_handlers(self) -> None:  # uvicorn < 0.29
                pass

        config = uvicorn.Config(self._app(), host=self.host, port=self.port, log_level="warning",
                                access_log=False, lifespan="off")
        server = _Server(config)
        self.queue.put_nowait(LinkEvent(LinkState.CONNECTING, time.monotonic(), {"listen": f"{self.host}:{self.port}"}))
        task = asyncio.ensure_future(server.serve())
        try:
            while not server.started:
                if task.done():
                    failure = task.exception()
                    raise DeviceError(f"cannot listen on {self.host}:{self.port}"
                                      + (f" ({failure})" if failure else " (address in use or not allowed)"))
                await asyncio.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            shown = _lan_address() if self.host in ("0.0.0.0", "::", "") else self.host
            self.url = f"http://{shown}:{port}{PUSH_PATH}?token={self.token}"
            self.ready.set()
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), 0.25)
                except TimeoutError:
                    pass
                now = time.monotonic()
                if self._streaming and self._last_push is not None and now - self._last_push > self.silence_s:
                    self._streaming = False
                    self.queue.put_nowait(LinkEvent(LinkState.DISCONNECTED, self._last_push, {"error": "no push"}))
                if (not self._streaming and self._last_push is not None
                        and now - self._last_push > self.policy.give_up_after_s):
                    self.queue.put_nowait(LinkEvent(LinkState.GAVE_UP, now, {"after_s": now - self._last_push}))
                    return
        finally:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5.0)
            self.queue.put_nowait(LinkEvent(LinkState.STOPPED, time.monotonic(), {}))

    def summary(self) -> dict[str, Any]:
        return {"requests": dict(self.counts), "unknown_sensors": dict(self.unknown_sensors)}
