"""``tracker record --phyphox http://PHONE:8080``: poll phyphox's remote access.

Protocol (phyphox's ``RemoteServer``): ``/config`` names the experiment's buffers,
``/control?cmd=start`` / ``stop`` runs the measurement, ``/get?buf=T|time_buf&time_buf=T``
returns only the values whose time is past ``T`` (incremental reads: nothing is read
twice, nothing is skipped, even across a Wi-Fi drop while the phone keeps measuring).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any
from urllib.parse import urlsplit

from ..ble.client import LinkEvent, LinkState, ReconnectPolicy
from ..errors import DecodeError, DeviceError
from ..profiles.phone import (
    PHYPHOX_CONFIG,
    PHYPHOX_GET,
    PHYPHOX_RESTART,
    PhyphoxConfig,
    phyphox_config,
)
from ._http import HttpError, http_get

__all__ = ["PhyphoxSource", "parse_phyphox_url"]

logger = logging.getLogger(__name__)

#: The phone's last time this far before ours means its clock started again (data cleared).
#: A clear shows only while the phone's new times are still behind ours, so it is checked
#: on the first read that brings nothing new, not every few reads (a late check misses it).
_RESTART_BACK_S = 0.1


def parse_phyphox_url(url: str) -> tuple[str, int]:
    """``http://192.168.1.20:8080`` (as phyphox shows it) -> host, port."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        raise DeviceError(f"--phyphox {url!r}: expected the address phyphox shows under 'Allow remote "
                          "access', e.g. http://192.168.1.20:8080")
    try:
        port = parts.port or 80
    except ValueError:
        raise DeviceError(f"--phyphox {url!r}: the port is not a number") from None
    return parts.hostname, port


class PhyphoxSource:
    """Poll a phone running phyphox with remote access on; feed the recorder's queue.

    Parameters
    ----------
    url : str
        ``http://HOST:PORT`` shown by phyphox.
    queue : asyncio.Queue
    policy : ReconnectPolicy
        Backoff and give-up time when the phone stops answering.
    poll_interval_s : float
        Time between reads (each read takes everything new).
    control : bool
        Start the measurement at the beginning and stop it at the end.
    """

    def __init__(self, url: str, queue: asyncio.Queue, *, policy: ReconnectPolicy | None = None,
                 poll_interval_s: float = 0.1, control: bool = True) -> None:
        self.host, self.port = parse_phyphox_url(url)
        self.url = f"http://{self.host}:{self.port}"
        self.queue = queue
        self.policy = policy or ReconnectPolicy()
        self.poll_interval_s = poll_interval_s
        self.control = control
        self.title = ""
        self.polls = 0

    def _event(self, state: str, **detail: Any) -> None:
        self.queue.put_nowait(LinkEvent(state, time.monotonic(), detail))

    async def _get(self, target: str, timeout_s: float | None = None) -> bytes:
        return await http_get(self.host, self.port, target, timeout_s=timeout_s or self.policy.connect_timeout_s)

    async def run(self, stop: asyncio.Event) -> None:
        self._event(LinkState.CONNECTING, address=self.url)
        try:
            body = await self._get("/config")
            config = phyphox_config(body)
        except HttpError as exc:
            self._event(LinkState.STOPPED)
            raise DeviceError(f"cannot reach phyphox at {self.url} ({exc}); in phyphox open the experiment, "
                              "tap ⋮ → 'Allow remote access' and pass the address it shows") from exc
        except DecodeError as exc:
            self._event(LinkState.STOPPED)
            raise DeviceError(str(exc)) from exc
        self.title = config.title
        self._event(LinkState.CONNECTED, address=self.url)
        self.queue.put_nowait((time.monotonic(), PHYPHOX_CONFIG, body))
        # The session starts now: what the phone measured before is not part of it.
        since = await self._latest(config)
        try:
            if self.control:
                reply = json.loads(await self._get("/control?cmd=start"))
                if isinstance(reply, dict) and reply.get("result") is False:
                    raise DeviceError(f"phyphox at {self.url} refused to start the measurement")
            self._event(LinkState.STREAMING, experiment=self.title)
            while not stop.is_set():
                try:
                    data = await self._get("/get?" + config.get_query(since), self.policy.gatt_timeout_s)
                except HttpError as exc:
                    if not await self._reconnect(stop, str(exc)):
                        return
                    continue
                self.polls += 1
                self.queue.put_nowait((time.monotonic(), PHYPHOX_GET, data))
                acc_before = since.get(config.acc["t"])
                _advance(since, data, config)
                # A cleared phone answers the incremental read with nothing (its times restart
                # below ours): check then. Once its new times pass ours, no time test can tell.
                if acc_before is not None and since.get(config.acc["t"]) == acc_before \
                        and await self._cleared(config, since):
                    # Data cleared on the phone (its time starts again at 0): read it all
                    # from the start, on a time base that continues the session's.
                    since = {tb: None for tb in since}
                    self.queue.put_nowait((time.monotonic(), PHYPHOX_RESTART, b""))
                try:
                    await asyncio.wait_for(stop.wait(), self.poll_interval_s)
                except TimeoutError:
                    pass
            # What arrived between the last poll and the stop.
            try:
                data = await self._get("/get?" + config.get_query(since), self.policy.gatt_timeout_s)
                self.queue.put_nowait((time.monotonic(), PHYPHOX_GET, data))
            except HttpError:
                pass
        finally:
            if self.control:
                try:
                    await self._get("/control?cmd=stop", 2.0)
                except (HttpError, OSError):
                    logger.info("phyphox did not confirm the stop")
            self._event(LinkState.STOPPED)

    async def _latest(self, config: PhyphoxConfig) -> dict[str, float | None]:
        """Last time in each time buffer (None when empty), by single-value reads."""
        reply = await self._get("/get?" + "&".join(f"{tb}=" for tb in config.time_buffers()))
        try:
            buffers = json.loads(reply).get("buffer", {})
        except (ValueError, AttributeError):
            buffers = {}
        out: dict[str, float | None] = {}
        for tb in config.time_buffers():
            entry = buffers.get(tb)
            vals = entry.get("buffer") if isinstance(entry, dict) else None
            last = vals[-1] if isinstance(vals, list) and vals else None
            try:
                out[tb] = float(last) if last is not None and math.isfinite(float(last)) else None
            except (TypeError, ValueError):
                out[tb] = None
        return out

    async def _cleared(self, config: PhyphoxConfig, since: dict[str, float | None]) -> bool:
        """Whether the phone's time went back (data cleared): its last time is before ours."""
        try:
            latest = await self._latest(config)
        except HttpError:
            return False
        tb = config.acc["t"]
        return latest.get(tb) is not None and since.get(tb) is not None and \
            latest[tb] < since[tb] - _RESTART_BACK_S  # type: ignore[operator]

    async def _reconnect(self, stop: asyncio.Event, why: str) -> bool:
        """Retry with backoff; True when the phone answers again, False when giving up."""
        self._event(LinkState.DISCONNECTED, error=why)
        down = time.monotonic()
        attempt = 0
        while not stop.is_set():
            if time.monotonic() - down > self.policy.give_up_after_s:
                self._event(LinkState.GAVE_UP, after_s=time.monotonic() - down, attempts=attempt)
                return False
            try:
                await asyncio.wait_for(stop.wait(), self.policy.delay_s(attempt))
                return False
            except TimeoutError:
                pass
            attempt += 1
            self._event(LinkState.RECONNECTING, attempt=attempt)
            try:
                await self._get("/config")
            except HttpError:
                continue
            self._event(LinkState.CONNECTED, reconnect=True)
            self._event(LinkState.STREAMING, attempts=attempt)
            return True
        return False


def _advance(since: dict[str, float | None], data: bytes, config: PhyphoxConfig) -> None:
    """Latest complete row per sensor: the next read asks only for what is newer.

    A row counts once its time and x, y, z have all arrived (a time buffer that runs
    ahead of its values must not make the next read skip them).
    """
    try:
        buffers = json.loads(data).get("buffer", {})
    except (ValueError, AttributeError):
        return

    def values(name: str) -> list:
        entry = buffers.get(name)
        vals = entry.get("buffer") if isinstance(entry, dict) else None
        return vals if isinstance(vals, list) else []
    for sensor in (config.acc, config.gyr, config.mag):
        if not sensor:
            continue
        tb = sensor["t"]
        n = min(len(values(sensor[k])) for k in ("t", "x", "y", "z"))
        finite = []
        for v in values(tb)[:n]:
            try:
                f = float(v)
            except (TypeError, ValueError):
                continue
            if math.isfinite(f):
                finite.append(f)
        prev = since.get(tb)
        if finite:
            since[tb] = max(finite) if prev is None else max(max(finite), prev)
