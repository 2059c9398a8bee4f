"""Phone apps on 127.0.0.1, written from their documented protocols (not from tracker's code).

* :class:`PhyphoxEmulator` — phyphox's remote-access web server (``RemoteServer.java``:
  ``/config``, ``/get`` with ``full`` and ``threshold|reference`` reads, numbers as
  ``0.#######E0``, ``/control?cmd=start|stop|clear``, ``/time``), with the buffers filling
  in real time (or ``speed`` times faster) while measuring.
* :func:`push_sensor_logger` — Sensor Logger's HTTP push: POST of
  ``{"messageId", "sessionId", "deviceId", "payload": [{"name", "time" (ns), "values": {x, y, z}}]}``.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import numpy as np


def _fmt(v: float) -> str:
    """Java DecimalFormat("0.#######E0") as phyphox writes numbers (8 significant digits)."""
    if not np.isfinite(v):
        return "null"
    m, e = f"{v:.7E}".split("E")
    m = m.rstrip("0").rstrip(".")
    return f"{m}E{int(e)}"


@dataclass
class PhyphoxEmulator:
    """Serve ``acc`` and ``gyr`` ((t_s, xyz) each, on the phone's clock) like phyphox does."""

    acc: tuple[np.ndarray, np.ndarray]
    gyr: tuple[np.ndarray, np.ndarray]
    speed: float = 1.0
    title: str = "Simple experiment"
    measuring: bool = False
    down: bool = False
    requests: list[str] = field(default_factory=list)
    #: Clear the data (as the phone's ⌫ button) just before answering this incremental /get
    #: (1 = the first): a clear at a known point of the poller's reads, whatever the CPU load.
    clear_at_read: int | None = None
    #: Wi-Fi gone from this incremental /get on (the phone keeps measuring), for it and the
    #: next ``outage_requests - 1`` requests (the poller's retries): an outage mid-session, whatever the load.
    outage_at_read: int | None = None
    outage_requests: int = 4

    def __post_init__(self) -> None:
        self._elapsed = 0.0  # experiment time accumulated before the current run
        self._run_start: float | None = None
        self._started_once = False
        self._reads = 0
        self._dropping = 0  # requests still lost to a scheduled outage
        self._lock = threading.Lock()
        emu = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                emu.requests.append(self.path)
                url = urlsplit(self.path)
                params = parse_qsl(url.query, keep_blank_values=True)
                if emu._scheduled(url.path, params) or emu.down:  # Wi-Fi gone: the connection dies without a reply
                    self.close_connection = True
                    self.connection.close()
                    return
                body = emu.handle(url.path, params)
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "PhyphoxEmulator":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def experiment_time(self) -> float:
        with self._lock:
            run = 0.0 if self._run_start is None else (time.monotonic() - self._run_start) * self.speed
            return self._elapsed + run

    @property
    def done(self) -> bool:
        return self.experiment_time() > max(self.acc[0][-1], self.gyr[0][-1])

    def _buffers(self) -> dict[str, np.ndarray]:
        now = self.experiment_time() if self._started_once else -np.inf  # empty before the first start
        a = self.acc[0] < now
        g = self.gyr[0] < now
        return {"acc_time": self.acc[0][a], "accX": self.acc[1][a, 0], "accY": self.acc[1][a, 1],
                "accZ": self.acc[1][a, 2], "gyr_time": self.gyr[0][g], "gyrX": self.gyr[1][g, 0],
                "gyrY": self.gyr[1][g, 1], "gyrZ": self.gyr[1][g, 2]}

    def _scheduled(self, path: str, params: list[tuple[str, str]]) -> bool:
        """Apply the clear/outage due at this request; True when the request is lost to the outage."""
        if path == "/get" and any("|" in value for _, value in params):
            self._reads += 1
            if self._reads == self.clear_at_read:
                self.handle("/control", [("cmd", "clear")])
            if self._reads == self.outage_at_read:
                self._dropping = self.outage_requests
        if self._dropping > 0:
            self._dropping -= 1
            return True
        return False

    def handle(self, path: str, params: list[tuple[str, str]]) -> str:
        if path == "/config":
            return json.dumps({
                "crc32": "1a2b3c4d", "title": self.title, "localTitle": self.title, "category": "",
                "localCategory": "",
                "buffers": [{"name": n, "size": 0} for n in ("accX", "accY", "accZ", "acc_time",
                                                              "gyrX", "gyrY", "gyrZ", "gyr_time")],
                "inputs": [{"source": "accelerometer", "outputs": [{"x": "accX"}, {"y": "accY"}, {"z": "accZ"},
                                                                   {"t": "acc_time"}]},
                           {"source": "gyroscope", "outputs": [{"x": "gyrX"}, {"y": "gyrY"}, {"z": "gyrZ"},
                                                               {"t": "gyr_time"}]}],
                "export": [{"set": "Accelerometer", "sources": [{"label": "Time (s)", "buffer": "acc_time"}]}]})
        if path == "/control":
            cmd = dict(params).get("cmd")
            with self._lock:
                if cmd == "start" and self._run_start is None:
                    self._run_start = time.monotonic()
                    self._started_once = True
                elif cmd == "stop" and self._run_start is not None:
                    self._elapsed += (time.monotonic() - self._run_start) * self.speed
                    self._run_start = None
                elif cmd == "clear":  # data gone; a running measurement goes on from time 0
                    self._elapsed = 0.0
                    if self._run_start is not None:
                        self._run_start = time.monotonic()
                elif cmd not in ("start", "stop"):
                    return json.dumps({"result": False})
                self.measuring = self._run_start is not None
            return json.dumps({"result": True})
        if path == "/get":
            bufs = self._buffers()
            parts = []
            seen = set()
            for name, value in params:
                if name in seen or name not in bufs:
                    continue
                seen.add(name)
                data = bufs[name]
                if value == "":
                    vals, mode = data[-1:], "single"
                elif value == "full":
                    vals, mode = data, "full"
                else:
                    thr, _, ref = value.partition("|")
                    refv = bufs[ref] if ref else data
                    n = min(len(data), len(refv))
                    vals, mode = data[:n][refv[:n] > float(thr)], "partial"
                parts.append(f'"{name}":{{"size":0,"updateMode":"{mode}", "buffer":[' +
                             ",".join(_fmt(float(v)) for v in vals) + "]}")
            status = (f'"status":{{"session":"abc123", "measuring":{str(self.measuring).lower()}, '
                      f'"timedRun":false, "countDown":0}}')
            return '{"buffer":{\n' + ",\n".join(parts) + "\n},\n" + status + "\n}\n"
        if path == "/time":
            return json.dumps([{"event": "START", "experimentTime": 0.0, "systemTime": 1.7e9}])
        return json.dumps({"error": "unknown"})


def sensor_logger_payload(t_ns: np.ndarray, sensors: dict[str, np.ndarray]) -> list[dict]:
    out = []
    for i, tn in enumerate(t_ns):
        for name, xyz in sensors.items():
            out.append({"name": name, "time": int(tn), "values": {"x": float(xyz[i, 0]), "y": float(xyz[i, 1]),
                                                                  "z": float(xyz[i, 2])}, "accuracy": 3})
    return out


def push_sensor_logger(url: str, t_ns: np.ndarray, sensors: dict[str, np.ndarray], *, batch_s: float = 0.2,
                       pace: float | None = None, extra: list[dict] | None = None) -> list[int]:
    """POST the samples in batches of ``batch_s`` (phone time) as Sensor Logger does; HTTP statuses.

    ``pace``: sleep so batches leave at ``pace`` × real time (None: as fast as possible).
    """
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    target = parts.path + ("?" + parts.query if parts.query else "")
    statuses = []
    edges = np.arange(t_ns[0], t_ns[-1] + batch_s * 1e9, batch_s * 1e9)
    start = time.monotonic()
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        sel = (t_ns >= lo) & (t_ns < hi) if k < len(edges) - 2 else (t_ns >= lo)
        payload = sensor_logger_payload(t_ns[sel], {n: v[sel] for n, v in sensors.items()})
        if extra and k == 0:
            payload += extra
        body = json.dumps({"messageId": k, "sessionId": "s-1", "deviceId": "d-1", "payload": payload})
        if pace is not None:
            wait = start + (hi - t_ns[0]) * 1e-9 / pace - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        try:
            conn.request("POST", target, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
        except OSError:  # the receiver stopped listening (session over)
            statuses.append(-1)
            break
        statuses.append(resp.status)
    conn.close()
    return statuses


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("POST", parts.path + ("?" + parts.query if parts.query else ""), body=body,
                 headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, {}
