"""A bleak backend over a Bumble central on an in-process virtual radio.

This machine class (CI, laptops without an adapter) has no Bluetooth, so the BLE
client is exercised against a Bumble virtual peripheral on a real protocol stack:
two Bumble ``Controller`` objects share one ``LocalLink`` inside the running event
loop, one for the central used by this backend, one per virtual tag
(:mod:`tracker.ble.virtual_tag`). bleak accepts third-party backends through its
documented ``backend=`` argument, so the application code is plain bleak and runs
unchanged against real hardware.

One :class:`BumbleWorld` exists per event loop (Bumble controllers capture the running
loop when created). Get it with ``await BumbleWorld.get()``; close it with
``await world.close()`` before the loop ends.

Known limits of the virtual controller (bumble 0.0.236, pinned exactly in the
``demo`` extra because this module touches one internal,
``Controller.pending_le_connection``):

- ``LE_Create_Connection_Cancel`` never completes a pending connection, so
  :meth:`BumbleClient.connect` applies its own timeout and clears the pending state.
- There is no supervision timeout: a vanished peripheral leaves a half-open link.
  Virtual tags simulate radio loss with a peripheral disconnect (reason 0x08).
- RSSI is always -50 dBm; pairing is not supported; ``use_cached`` is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any
from collections.abc import Callable

from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

__all__ = [
    "BumbleWorld", "BumbleScanner", "BumbleClient", "fast_bumble_logging", "to_bleak_uuid",
    "to_bumble_uuid",
]

logger = logging.getLogger(__name__)

#: The Bumble release this module was written and tested against (pinned exactly in the
#: ``demo`` extra): it touches ``Controller.pending_le_connection`` and, optionally,
#: the packet pretty-printers (:func:`fast_bumble_logging`).
TESTED_BUMBLE_VERSION = "0.0.236"
#: The central's own (random static) address on the virtual link.
CENTRAL_ADDRESS = "C0:7A:C4:E2:00:01"
#: ATT MTU the central asks for (the usual maximum of phone/desktop stacks).
REQUESTED_MTU = 247

_UUID_LIST_TYPES = (
    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, 2),
    (AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, 2),
    (AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS, 4),
    (AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS, 4),
    (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, 16),
    (AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, 16),
)


def to_bleak_uuid(uuid: core.UUID) -> str:
    """Bumble UUID -> bleak's normalised lower-case 128-bit string."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def to_bumble_uuid(uuid: str) -> core.UUID:
    """bleak UUID string (16-bit shorthand or 128-bit) -> Bumble UUID."""
    return core.UUID(normalize_uuid_str(uuid))


def fast_bumble_logging() -> Callable[[], None]:
    """Stop Bumble formatting every packet for debug logs nobody reads; returns an undo.

    Bumble builds its debug messages eagerly (``logger.debug(f"... {packet}")``), so the
    packet pretty-printer and its ANSI colouring run for every HCI/ATT packet even with
    logging off: about half the CPU of a busy emulated link (shared/emulated-ble.md,
    pitfall 4). With the ``bumble`` logger above DEBUG, this swaps those ``__str__``
    methods and the colour helper for cheap ones. It is optional and process-wide, and
    it depends on Bumble internals (one more reason bumble is pinned exactly); nothing
    breaks without it, the link is just slower.
    """
    import bumble.controller
    import bumble.host
    from bumble import l2cap

    if logging.getLogger("bumble").isEnabledFor(logging.DEBUG):
        return lambda: None
    saved: list[tuple[Any, str, Any]] = []

    def swap(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
        setattr(owner, name, value)

    def cheap_str(self: Any) -> str:
        return type(self).__name__

    def plain(text: str, *_args: Any, **_kwargs: Any) -> str:
        return text

    roots = (hci.HCI_Object, hci.HCI_Packet, att.ATT_PDU, l2cap.L2CAP_PDU, l2cap.L2CAP_Control_Frame)
    seen: set[type] = set()
    stack = list(roots)
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack.extend(cls.__subclasses__())
        if "__str__" in cls.__dict__ and not issubclass(cls, BaseException):
            swap(cls, "__str__", cheap_str)
    for module in (hci, bumble.controller, bumble.host):
        if hasattr(module, "color"):
            swap(module, "color", plain)

    def undo() -> None:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)
        saved.clear()

    return undo


def _check_bumble_version() -> None:
    import warnings

    import bumble

    version = getattr(bumble, "__version__", "?")
    if version != TESTED_BUMBLE_VERSION:
        from ..errors import TrackerWarning

        warnings.warn(
            f"bumble {version} is not the tested {TESTED_BUMBLE_VERSION}: the emulated BLE link "
            "uses Bumble internals and may misbehave (pip install 'tracker[demo]' pins it)",
            TrackerWarning, stacklevel=3,
        )


def _parse_address(address: str) -> hci.Address:
    # Virtual tags use random static addresses (what most sensor tags do).
    try:
        return hci.Address(address.split("/")[0], hci.Address.RANDOM_DEVICE_ADDRESS)
    except (core.InvalidArgumentError, ValueError) as exc:
        raise BleakError(f"not a Bluetooth address: {address!r}") from exc


# --------------------------------------------------------------------------- world
class BumbleWorld:
    """The virtual radio of one event loop: a ``LocalLink`` and the central device.

    Create it only through :meth:`get` (inside a coroutine). Peripherals join the
    same link with :meth:`add_device`.
    """

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BumbleWorld] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self) -> None:
        self.link = LocalLink()
        self.central_controller = Controller("central", link=self.link)
        self.central = Device(
            name="tracker-central",
            address=hci.Address(CENTRAL_ADDRESS),
            host=Host(self.central_controller, AsyncPipeSink(self.central_controller)),
        )
        self.devices: list[tuple[Device, Controller]] = []
        self.connect_lock = asyncio.Lock()  # the controller allows one pending connection
        self._scanners = 0
        self._scan_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def get(cls) -> BumbleWorld:
        """This loop's world, created and powered on at first use."""
        loop = asyncio.get_running_loop()
        world = cls._by_loop.get(loop)
        if world is None or world._closed:
            _check_bumble_version()
            world = cls()
            cls._by_loop[loop] = world
            await world.central.power_on()
        return world

    @classmethod
    def current(cls) -> BumbleWorld | None:
        """This loop's world if one is open (no creation)."""
        world = cls._by_loop.get(asyncio.get_running_loop())
        return None if world is None or world._closed else world

    def add_device(self, name: str, address: str) -> Device:
        """A new (not yet powered) Bumble device with its own controller on the link."""
        controller = Controller(f"dev-{name}", link=self.link)
        device = Device(
            name=name, address=hci.Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self.devices.append((device, controller))
        return device

    async def remove_device(self, device: Device) -> None:
        """Tear a peripheral down (disconnect, stop advertising, power off, unlink)."""
        for i, (dev, controller) in enumerate(self.devices):
            if dev is device:
                del self.devices[i]
                await _shutdown_device(dev)
                self.link.remove_controller(controller)
                return

    async def start_scanning(self) -> None:
        async with self._scan_lock:
            self._scanners += 1
            if self._scanners == 1:
                await self.central.start_scanning(active=True, filter_duplicates=False)

    async def stop_scanning(self) -> None:
        async with self._scan_lock:
            self._scanners = max(0, self._scanners - 1)
            if self._scanners == 0 and self.central.is_scanning and not self._closed:
                await self.central.stop_scanning()

    async def close(self) -> None:
        """Disconnect everything and power both sides off before the loop ends.

        Order matters (shared/emulated-ble.md): disconnect, stop advertising and
        scanning, power off, then remove controllers from the link; otherwise pending
        HCI traffic fires into a closed loop.
        """
        if self._closed:
            return
        self._closed = True
        for device, controller in list(self.devices):
            await _shutdown_device(device)
            self.link.remove_controller(controller)
        self.devices.clear()
        await _shutdown_device(self.central)
        self.link.remove_controller(self.central_controller)
        loop = asyncio.get_running_loop()
        if self._by_loop.get(loop) is self:
            del self._by_loop[loop]


async def _shutdown_device(device: Device) -> None:
    if not device.powered_on:
        return
    for connection in list(device.connections.values()):
        try:
            await asyncio.wait_for(
                connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR), 1.0
            )
        except Exception:  # noqa: BLE001 - best effort during teardown
            logger.debug("disconnect during teardown failed", exc_info=True)
    try:
        if device.is_advertising:
            await device.stop_advertising()
        if device.is_scanning:
            await device.stop_scanning()
    except Exception:  # noqa: BLE001
        logger.debug("stopping radio activity during teardown failed", exc_info=True)
    await device.power_off()


# --------------------------------------------------------------------------- scanner
class BumbleScanner(BaseBleakScanner):
    """``BaseBleakScanner`` over the world's central (active scanning)."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._world: BumbleWorld | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._world = await BumbleWorld.get()
        self._world.central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self._world.start_scanning()

    async def stop(self) -> None:
        if self._world is None:
            return
        world, self._world = self._world, None
        world.central.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await world.stop_scanning()

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = adv.data
        uuids: list[str] = []
        for ad_type, size in _UUID_LIST_TYPES:
            for raw in data.get_all(ad_type, raw=True):
                for i in range(0, len(raw) - size + 1, size):
                    u = to_bleak_uuid(core.UUID.from_bytes(raw[i:i + size]))
                    if u not in uuids:  # the scan response repeats the advertising data
                        uuids.append(u)
        if not self.is_allowed_uuid(uuids):
            return
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        manufacturer: dict[int, bytes] = {}
        for raw in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA, raw=True):
            if len(raw) >= 2:
                manufacturer[int.from_bytes(raw[:2], "little")] = bytes(raw[2:])
        service_data: dict[str, bytes] = {}
        for ad_type, size in (
            (AdvertisingData.SERVICE_DATA_16_BIT_UUID, 2),
            (AdvertisingData.SERVICE_DATA_32_BIT_UUID, 4),
            (AdvertisingData.SERVICE_DATA_128_BIT_UUID, 16),
        ):
            for raw in data.get_all(ad_type, raw=True):
                if len(raw) >= size:
                    service_data[to_bleak_uuid(core.UUID.from_bytes(raw[:size]))] = bytes(raw[size:])
        tx_power_raw = data.get_all(AdvertisingData.TX_POWER_LEVEL, raw=True)
        tx_power = int.from_bytes(tx_power_raw[0][:1], "little", signed=True) if tx_power_raw else None
        address = adv.address.to_string(False)
        key = str(adv.address)
        previous = self.seen_devices.get(key)
        if name is None and previous is not None:
            name = previous[1].local_name  # a bare advertisement after a scan response
        advertisement = AdvertisementData(
            local_name=name, manufacturer_data=manufacturer, service_data=service_data,
            service_uuids=uuids, tx_power=tx_power, rssi=adv.rssi, platform_data=(adv,),
        )
        device = self.create_or_update_device(key, address, name, adv.address, advertisement)
        self.call_detection_callbacks(device, advertisement)


# --------------------------------------------------------------------------- client
class BumbleClient(BaseBleakClient):
    """``BaseBleakClient`` over the world's central.

    Behaves like bleak's BlueZ backend where the interface leaves room: the
    ``disconnected_callback`` fires on every disconnect (also a requested one), so
    reconnect loops need their own "done" flag.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        if isinstance(address_or_ble_device, BLEDevice) and isinstance(
            address_or_ble_device.details, hci.Address
        ):
            self._peer_address = address_or_ble_device.details
            self._name = address_or_ble_device.name or self.address
        else:
            self._peer_address = _parse_address(str(self.address))
            self._name = str(self.address)
        self.address = self._peer_address.to_string(False)
        self._world: BumbleWorld | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._proxies: dict[int, Any] = {}  # bleak handle -> bumble proxy
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # ----------------------------------------------------------- connectivity
    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        timeout = float(kwargs.get("timeout", self._timeout))
        deadline = asyncio.get_running_loop().time() + timeout
        world = self._world = await BumbleWorld.get()
        async with world.connect_lock:
            connection = await self._create_connection(world, timeout)
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            if world.central.connections.get(connection.handle) is not connection:
                # It dropped before the handler above was registered: nobody else will tell.
                self._connection = None
                raise BleakError(f"{self.address} disconnected while connecting")
            peer = self._peer = Peer(connection)
            async with asyncio.timeout_at(deadline):  # as BlueZ: the timeout covers discovery
                await self._att(peer.request_mtu(REQUESTED_MTU))
                self.services = await self._discover(peer)
        except BaseException:
            await self.disconnect()
            raise

    async def _create_connection(self, world: BumbleWorld, timeout: float) -> Connection:
        # Device.connect's own timeout sends LE_Create_Connection_Cancel, which the
        # virtual controller never completes; apply the timeout here instead.
        task = asyncio.ensure_future(world.central.connect(self._peer_address, timeout=None))
        try:
            return await asyncio.wait_for(task, timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            world.central_controller.pending_le_connection = None  # the one internal we touch
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise TimeoutError(f"no device answered at {self.address} within {timeout:g} s") from None
        except core.BaseBumbleError as exc:
            raise BleakError(f"connect to {self.address} failed: {exc}") from exc

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        self._proxies.clear()
        mtu = lambda: self.mtu_size - 3  # noqa: E731 - bleak wants a callable
        for service in await self._att(peer.discover_services()):
            bleak_service = BleakGATTService(service, service.handle, to_bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for char in await self._att(peer.discover_characteristics(service=service)):
                bleak_char = BleakGATTCharacteristic(
                    char, char.handle, to_bleak_uuid(char.uuid),
                    list(gatt_char_props_to_strs(int(char.properties))), mtu, bleak_service,
                )
                collection.add_characteristic(bleak_char)
                self._proxies[char.handle] = char
                for desc in await self._att(peer.discover_descriptors(char)):
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, to_bleak_uuid(desc.type), bleak_char)
                    )
                    self._proxies[desc.handle] = desc
        return collection

    def _on_disconnection(self, reason: int) -> None:
        logger.debug("disconnected from %s (reason 0x%02X)", self.address, reason)
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            await asyncio.wait_for(
                connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR), 5.0
            )
        except (core.BaseBumbleError, TimeoutError) as exc:
            logger.debug("disconnect from %s: %s", self.address, exc)
        self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not supported by the Bumble backend")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not supported by the Bumble backend")

    # ----------------------------------------------------------------- I/O
    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def _att(self, coro: Any) -> Any:
        """Run one GATT procedure; a lost link ends it at once as bleak's BleakError.

        Bumble cancels only the request pending when the link drops; one sent after
        that (the next step of a discovery, a queued request) would wait for its 30 s
        GATT timeout. So the procedure also ends on the disconnection event.
        """
        connection = self._connection
        if connection is None:
            coro.close()
            raise BleakError(f"not connected to {self.address}")
        try:
            return await connection.cancel_on_disconnection(coro)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        except core.BaseBumbleError as exc:
            raise BleakError(str(exc)) from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are being cancelled (Ctrl-C, a timeout): not a link problem
            raise BleakError(f"disconnected from {self.address}") from None

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self._att(peer.read_value(characteristic.handle)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self._att(peer.read_value(descriptor.handle)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        peer = self._require_peer()
        await self._att(peer.write_value(characteristic.handle, bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        peer = self._require_peer()
        await self._att(peer.write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()
        proxy = self._proxies[characteristic.handle]

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        old = self._subscribers.pop(characteristic.handle, None)
        if old is not None:
            await self._att(peer.gatt_client.unsubscribe(proxy, old))
        self._subscribers[characteristic.handle] = subscriber
        await self._att(peer.subscribe(proxy, subscriber, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        proxy = self._proxies[characteristic.handle]
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._att(peer.gatt_client.unsubscribe(proxy, subscriber, force=subscriber is None))
