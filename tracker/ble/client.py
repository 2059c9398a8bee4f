"""The BLE client: scan, connect, configure, stream, reconnect. The only bleak user.

Everything here is async and runs in the caller's event loop (``asyncio.run`` lives in
the CLI). The notification callback does one thing, ``queue.put_nowait((host_time_s,
char_uuid, data))``; decoding and storing happen in :mod:`tracker.ble.recorder`, off
the callback, so a slow disk never stalls the radio.

Link state changes travel through the same queue as :class:`LinkEvent` items, so the
consumer sees them in order with the data (the decoder must know about a reconnect
before it decodes the first packet after it).

Backends: :data:`SYSTEM` is bleak's platform backend (BlueZ, CoreBluetooth, WinRT);
:func:`virtual_backend` is the Bumble emulation used by ``--virtual``, ``tracker demo``
and the tests. The code path is the same for both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from ..errors import DeviceError
from ..profiles import PROFILES, Profile, identify
from ..profiles._base import norm_uuid

__all__ = [
    "SYSTEM", "BleBackend", "FoundDevice", "LinkEvent", "LinkState", "ReconnectPolicy",
    "StreamingClient", "find_device", "profile_by_id", "scan", "virtual_backend",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BleBackend:
    """Which bleak backend classes to use (``None``: bleak's platform default)."""

    name: str = "system"
    scanner: type | None = None
    client: type | None = None

    def scanner_kwargs(self) -> dict[str, Any]:
        return {} if self.scanner is None else {"backend": self.scanner}

    def client_kwargs(self) -> dict[str, Any]:
        return {} if self.client is None else {"backend": self.client}


SYSTEM = BleBackend()


def is_missing(package: str, exc: ModuleNotFoundError) -> bool:
    """Whether ``exc`` says that ``package`` (an optional dependency) is not installed."""
    return (exc.name or "").partition(".")[0] == package


def virtual_backend() -> BleBackend:
    """The Bumble emulation (needs the ``demo`` extra: ``pip install 'tracker[demo]'``)."""
    try:
        from .bumble_backend import BumbleClient, BumbleScanner
    except ModuleNotFoundError as exc:  # bumble is optional; any other import error is a bug
        if not is_missing("bumble", exc):
            raise
        raise DeviceError(
            "the virtual BLE tag needs the optional 'bumble' package: "
            "pip install 'tracker[demo]'"
        ) from exc
    return BleBackend("virtual", BumbleScanner, BumbleClient)


def _device_error(exc: BaseException, doing: str) -> DeviceError:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, FileNotFoundError) or "org.bluez" in text or "No Bluetooth" in text:
        text += " (is Bluetooth available and switched on? `tracker demo` works without hardware)"
    return DeviceError(f"{doing}: {text}")


# ----------------------------------------------------------------------- scanning
@dataclass(frozen=True)
class FoundDevice:
    """One advertising device.

    Attributes
    ----------
    name : str or None
        Advertised local name.
    address : str
        Bluetooth address (a UUID on macOS).
    rssi : int
        Signal strength, dBm.
    profile_id : str or None
        Recognised device profile, None when unknown.
    service_uuids : tuple of str
        Advertised service UUIDs (what an unknown device offers).
    """

    name: str | None
    address: str
    rssi: int
    profile_id: str | None
    service_uuids: tuple[str, ...] = ()
    ble_device: Any = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.name or '(no name)'} [{self.address}]"


async def scan(
    timeout_s: float = 5.0, *, backend: BleBackend = SYSTEM,
    stop_when: Callable[[FoundDevice], bool] | None = None,
) -> list[FoundDevice]:
    """Scan for ``timeout_s`` seconds (or until ``stop_when`` accepts a device).

    Returns devices sorted: recognised profiles first, then by signal strength.

    Raises
    ------
    DeviceError
        When the Bluetooth stack cannot scan (no adapter, switched off).
    """
    found: dict[str, FoundDevice] = {}
    done = asyncio.Event()

    def on_adv(device: BLEDevice, adv: Any) -> None:
        uuids = tuple(norm_uuid(u) for u in adv.service_uuids)
        name = adv.local_name or device.name
        profile = identify(name, list(uuids))
        item = FoundDevice(name, device.address, int(adv.rssi), profile.id if profile else None,
                           uuids, device)
        found[device.address] = item
        if stop_when is not None and stop_when(item):
            done.set()

    try:
        async with BleakScanner(on_adv, **backend.scanner_kwargs()):
            try:
                await asyncio.wait_for(done.wait(), timeout_s)
            except TimeoutError:
                pass
    except (BleakError, OSError) as exc:
        raise _device_error(exc, "cannot scan for BLE devices") from exc
    return sorted(found.values(), key=lambda d: (d.profile_id is None, -d.rssi, d.name or ""))


async def find_device(
    target: str | None = None, *, profile_id: str | None = None, timeout_s: float = 10.0,
    backend: BleBackend = SYSTEM,
) -> FoundDevice:
    """Find one device: by address or name (``target``), else the first recognised one.

    Raises
    ------
    DeviceError
        Nothing matching was found within ``timeout_s`` (the message lists what was seen).
    """
    want = target.lower() if target else None

    def matches(d: FoundDevice) -> bool:
        if want is not None:
            return d.address.lower() == want or (d.name or "").lower() == want
        if profile_id is not None:
            return d.profile_id == profile_id
        return d.profile_id is not None

    seen = await scan(timeout_s, backend=backend, stop_when=matches)
    hits = [d for d in seen if matches(d)]
    if hits:
        return hits[0]
    what = f"device {target!r}" if target else (
        f"a {profile_id} device" if profile_id else "a recognised sensor")
    others = ", ".join(d.label for d in seen[:5]) or "no devices at all"
    raise DeviceError(f"{what} not found within {timeout_s:g} s (seen: {others}); "
                      "is it switched on and not connected to another app?")


# ---------------------------------------------------------------------- streaming
class _LinkLostDuringSetup(Exception):
    """The link dropped while subscribing/configuring (the device itself answered)."""


#: What a lost or failing link raises, whichever bleak backend: bleak's own error, OS and
#: D-Bus errors, timeouts, a D-Bus connection closing under a call (EOFError).
_LINK_ERRORS = (BleakError, OSError, TimeoutError, EOFError)


def _being_cancelled() -> bool:
    """Is our own task being cancelled (Ctrl-C, the caller)?

    A ``CancelledError`` can also come from the Bluetooth stack cancelling a request
    when the link drops; only ours must propagate as a cancellation.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class LinkState:
    """Link states reported as :class:`LinkEvent` (plain strings, stable in the store)."""

    CONNECTING = "connecting"
    CONNECTED = "connected"  # link up, not yet configured (data may already flow)
    STREAMING = "streaming"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    GAVE_UP = "gave_up"


@dataclass(frozen=True)
class LinkEvent:
    """A link state change, queued in order with the notifications.

    Attributes
    ----------
    state : str
        One of :class:`LinkState`.
    host_time_s : float
        ``time.monotonic()`` when it happened.
    detail : dict
        ``attempt``, ``error``, ``mtu``... depending on the state.
    """

    state: str
    host_time_s: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff between reconnect attempts, and when to give up.

    Attributes
    ----------
    first_delay_s, max_delay_s, factor : float
        Delay before attempt ``n`` is ``min(max, first · factor**n)``.
    give_up_after_s : float
        Stop trying after this long without a link (the session then ends complete).
    connect_timeout_s : float
        Per-attempt connect timeout (connection and service discovery).
    gatt_timeout_s : float
        Limit for each subscribe/configure step: a link that died unnoticed must not
        wait for the stack's own GATT timeout (30 s); a step that runs out fails the
        attempt.
    """

    first_delay_s: float = 0.1
    max_delay_s: float = 5.0
    factor: float = 2.0
    give_up_after_s: float = 120.0
    connect_timeout_s: float = 10.0
    gatt_timeout_s: float = 5.0

    def delay_s(self, attempt: int) -> float:
        return min(self.max_delay_s, self.first_delay_s * self.factor ** attempt)


class StreamingClient:
    """Connect to one device, configure it through its profile and stream until stopped.

    Notifications go to ``queue`` as ``(host_time_s, char_uuid, bytes)``; link state
    changes as :class:`LinkEvent`. On a disconnect that nobody asked for it reconnects
    with backoff, resubscribes and re-sends the start commands.

    Parameters
    ----------
    device : FoundDevice or str
        What to connect to (a found device, or an address).
    profile : Profile
        How to configure it and which characteristics to subscribe to.
    rate_hz : float
        Requested sample rate (the profile rounds it).
    queue : asyncio.Queue
        Where notifications and link events go.
    backend : BleBackend
    policy : ReconnectPolicy
    """

    def __init__(
        self, device: FoundDevice | str, profile: Profile, rate_hz: float, queue: asyncio.Queue,
        *, backend: BleBackend = SYSTEM, policy: ReconnectPolicy | None = None,
    ) -> None:
        self.device = device
        self.profile = profile
        self.rate_hz = rate_hz
        self.queue = queue
        self.backend = backend
        self.policy = policy or ReconnectPolicy()
        self.connects = 0
        self.disconnects = 0
        self.mtu: int | None = None
        self._client: BleakClient | None = None
        self._lost = asyncio.Event()
        self._stopping = False  # the "done" flag: disconnects we asked for are not losses

    @property
    def address(self) -> str:
        return self.device if isinstance(self.device, str) else self.device.address

    def _emit(self, state: str, **detail: Any) -> None:
        self.queue.put_nowait(LinkEvent(state, time.monotonic(), detail))

    def _on_disconnect(self, _client: BleakClient) -> None:
        # bleak (BlueZ, and our Bumble backend) calls this on every disconnect.
        if not self._stopping:
            self._lost.set()

    async def _connect_once(self, reconnect: bool) -> None:
        target = self.device.ble_device if isinstance(self.device, FoundDevice) else self.device
        client = BleakClient(
            target or self.address, disconnected_callback=self._on_disconnect,
            timeout=self.policy.connect_timeout_s, **self.backend.client_kwargs(),
        )
        self._lost.clear()
        try:
            # The backend bounds connect + discovery by connect_timeout_s; this is a
            # backstop (BlueZ may first scan for an address for as long again).
            await asyncio.wait_for(
                client.connect(), 2 * self.policy.connect_timeout_s + self.policy.gatt_timeout_s)
        except asyncio.CancelledError as exc:
            if _being_cancelled():
                raise
            raise BleakError(f"connecting to {self.address} was aborted by the Bluetooth stack") from exc
        self._client = client
        # Before subscribing: the consumer must know about a new link before its data.
        self._emit(LinkState.CONNECTED, reconnect=reconnect)
        try:
            self.mtu = client.mtu_size
            queue = self.queue
            for uuid in self.profile.notify_uuids:
                char = client.services.get_characteristic(uuid)
                if char is None:
                    if uuid == self.profile.notify_uuids[0]:
                        raise DeviceError(
                            f"{self.address} has no characteristic {uuid}: "
                            f"is it really a {self.profile.display_name}?")
                    continue  # optional extras (status, impulse) the device may lack
                char_uuid = norm_uuid(uuid)

                def callback(_sender: Any, data: bytearray, _u: str = char_uuid) -> None:
                    queue.put_nowait((time.monotonic(), _u, bytes(data)))  # nothing else here

                await self._gatt_step(client.start_notify(char, callback))
            for write in self.profile.start_commands(self.rate_hz):
                await self._gatt_step(
                    client.write_gatt_char(write.char_uuid, write.data, response=write.response))
                if write.delay_s:
                    await asyncio.sleep(write.delay_s)
        except BaseException as exc:
            ours = _being_cancelled()
            link_lost = self._lost.is_set() or not client.is_connected
            self._stopping = True
            try:
                await client.disconnect()
            except _LINK_ERRORS as disconnect_exc:
                logger.debug("disconnect after a failed setup: %s", disconnect_exc)
            finally:
                self._stopping = False
                self._client = None
            if ours or not isinstance(exc, (*_LINK_ERRORS, asyncio.CancelledError)):
                raise  # cancelled by our caller, or not a link problem (DeviceError...)
            if link_lost:
                raise _LinkLostDuringSetup(str(exc) or type(exc).__name__) from exc
            if isinstance(exc, asyncio.CancelledError):  # the stack gave up a request
                raise BleakError(f"setting up {self.address} was aborted by the Bluetooth stack") from exc
            raise
        self.connects += 1

    async def _gatt_step(self, step: Awaitable[Any]) -> Any:
        """One setup step, bounded by ``policy.gatt_timeout_s`` (TimeoutError)."""
        return await asyncio.wait_for(step, self.policy.gatt_timeout_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set or reconnection gives up.

        Raises
        ------
        DeviceError
            The first connection failed (wrong device, rejected configuration).
        """
        self._emit(LinkState.CONNECTING, address=self.address)
        lost_during_setup = False
        try:
            await self._connect_once(reconnect=False)
        except _LinkLostDuringSetup:
            lost_during_setup = True  # the device is there; the radio dropped: retry
        except _LINK_ERRORS as exc:
            raise _device_error(exc, f"cannot connect to {self.address}") from exc
        if lost_during_setup:
            # Data may already have flowed: treat it as any other disconnect.
            self.disconnects += 1
            self._emit(LinkState.DISCONNECTED, during_setup=True)
            if not await self._reconnect(stop):
                await self._shutdown()
                return
        else:
            self._emit(LinkState.STREAMING, mtu=self.mtu, reconnect=False)
        try:
            while not stop.is_set():
                await self._wait_for(stop, self._lost, poll=self.profile.poll_interval_s)
                if stop.is_set():
                    break
                # The link dropped underneath us.
                self.disconnects += 1
                self._client = None
                self._emit(LinkState.DISCONNECTED)
                if not await self._reconnect(stop):
                    return
        finally:
            await self._shutdown()

    async def _wait_for(self, stop: asyncio.Event, lost: asyncio.Event, poll: float | None) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
        try:
            while True:
                done, _ = await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                if done:
                    return
                await self._poll()
        finally:
            for w in waiters:
                w.cancel()

    async def _poll(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            for write in self.profile.poll_commands():
                await self._gatt_step(
                    client.write_gatt_char(write.char_uuid, write.data, response=write.response))
        except _LINK_ERRORS as exc:
            logger.debug("poll write failed: %s", exc)

    async def _reconnect(self, stop: asyncio.Event) -> bool:
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while not stop.is_set():
            elapsed = loop.time() - started
            if elapsed >= self.policy.give_up_after_s:
                self._emit(LinkState.GAVE_UP, attempts=attempt, after_s=elapsed)
                return False
            delay = self.policy.delay_s(attempt)
            try:
                await asyncio.wait_for(stop.wait(), delay)
                return False  # stopped while waiting
            except TimeoutError:
                pass
            attempt += 1
            self._emit(LinkState.RECONNECTING, attempt=attempt)
            try:
                await self._connect_once(reconnect=True)
            except _LinkLostDuringSetup as exc:
                # The link came up (CONNECTED was sent) and dropped again: say so.
                logger.info("reconnect attempt %d to %s lost the link: %s", attempt, self.address, exc)
                self.disconnects += 1
                self._emit(LinkState.DISCONNECTED, during_setup=True)
                continue
            except (*_LINK_ERRORS, DeviceError) as exc:
                logger.info("reconnect attempt %d to %s failed: %s", attempt, self.address, exc)
                continue
            self._emit(LinkState.STREAMING, mtu=self.mtu, reconnect=True, attempts=attempt,
                       down_s=loop.time() - started)
            return True
        return False

    async def _shutdown(self) -> None:
        """Stop streaming politely: stop commands, unsubscribe, disconnect."""
        client, self._client = self._client, None
        self._stopping = True
        try:
            if client is not None and client.is_connected:
                try:
                    for write in self.profile.stop_commands():
                        await client.write_gatt_char(write.char_uuid, write.data, response=write.response)
                    for uuid in self.profile.notify_uuids:
                        if client.services.get_characteristic(uuid) is not None:
                            await client.stop_notify(uuid)
                except _LINK_ERRORS as exc:
                    logger.debug("stopping the stream failed: %s", exc)
                await client.disconnect()
        finally:
            self._emit(LinkState.STOPPED)


def profile_by_id(profile_id: str) -> Profile:
    """The profile with this id, or a :class:`DeviceError` listing the known ones."""
    try:
        return PROFILES[profile_id]
    except KeyError:
        raise DeviceError(f"unknown device profile {profile_id!r}; known: {', '.join(PROFILES)}") from None
