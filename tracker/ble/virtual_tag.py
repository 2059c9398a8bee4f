"""An emulated IMU sensor tag: a Bumble peripheral that streams a :class:`Recording`.

The tag joins the event loop's virtual radio (:class:`~tracker.ble.bumble_backend.BumbleWorld`),
advertises, accepts one connection, and speaks a real GATT profile:

``tracker-imu``
    Our own profile (``firmware-notes/gatt-profile.md``): data, config, status and
    impulse characteristics plus the Device Information and Battery services. A
    config write with ``stream`` set starts streaming; bad config values get the ATT
    error the spec names.
``witmotion``
    The WitMotion BLE 5.0 protocol (WT901BLECL): ``55 61`` packets on ``FFE4`` as
    soon as notifications are on, ``FF AA`` register writes on ``FFE9`` (rate changes
    only within 10 s of the unlock command, as on the device).

Streaming is paced to absolute deadlines on the device clock: sample ``k`` exists at
``t0 + k / (rate · speed)`` in loop time, and a packet leaves once its last sample
exists. The sample clock keeps running while the link is down (those samples are
lost, as on a real tag), so reconnect gaps are real gaps. A bounded FIFO drops the
oldest samples (and flags an overrun) if the host cannot keep up.

Only the sensor samples are emulated: the tag does not run the on-device impulse
detector (its recording is at the stream rate, so there is no high-rate window to
send).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, replace
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DecodeError
from ..recording import Recording
from ..schema import STANDARD_GRAVITY_M_S2

if TYPE_CHECKING:  # bumble is an optional extra; these are only for type hints
    from bumble.device import Connection, Device

__all__ = ["VirtualTag", "TAG_PROFILES"]

logger = logging.getLogger(__name__)

#: Profiles the virtual tag can speak.
TAG_PROFILES = ("tracker-imu", "witmotion")
#: HCI reason the tag uses to simulate radio loss (Connection Timeout).
LINK_LOSS_REASON = 0x08
_ATT_VALUE_NOT_ALLOWED = 0x13
_ATT_REFUSED_WHILE_STREAMING = 0x80  # application error (gatt-profile.md)


@dataclass
class TagStats:
    """What the tag did; tests compare it with what the client stored.

    Attributes
    ----------
    sent_samples, sent_packets : int
        Samples and data notifications sent.
    lost_samples : int
        Samples the tag's clock produced but never sent (link down, FIFO overrun).
    connections, drops : int
        Connections accepted; links dropped on command.
    sent_ranges : list of (int, int)
        ``[k0, k1)`` sample-index runs sent without a break, in order.
    rejected_writes : int
        Writes answered with an ATT error.
    """

    sent_samples: int = 0
    sent_packets: int = 0
    lost_samples: int = 0
    connections: int = 0
    drops: int = 0
    rejected_writes: int = 0
    ignored_writes: int = 0
    overruns: int = 0
    sent_ranges: list[tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        self.sent_ranges = []

    def add_sent(self, k0: int, k1: int) -> None:
        assert self.sent_ranges is not None
        if self.sent_ranges and self.sent_ranges[-1][1] == k0:
            self.sent_ranges[-1] = (self.sent_ranges[-1][0], k1)
        else:
            self.sent_ranges.append((k0, k1))
        self.sent_samples += k1 - k0
        self.sent_packets += 1


class VirtualTag:
    """A Bumble peripheral streaming ``recording`` over the loop's virtual radio.

    Parameters
    ----------
    recording : Recording
        The samples to stream (e.g. ``simulate_session(...).recording``). Sample ``k``
        of the stream is the recording at ``k / rate_hz`` (exactly row ``k`` when the
        configured rate equals the recording's rate).
    profile : {"tracker-imu", "witmotion"}
        GATT profile to speak.
    name, address : str, optional
        Advertised name (default ``tracker-imu`` / ``WT901BLE68``) and random static
        address.
    speed : float
        Device clock speed relative to real time (10 streams ten seconds of data per
        second). The host must scale its clock by the same factor
        (``Recorder(time_scale=speed)``) for host-time gap detection.
    fifo_s : float
        Device-side buffer before the oldest samples are dropped, in seconds of *host*
        time (``fifo_s · rate · speed`` samples): what it absorbs are host stalls.
    more : callable, optional
        Called when everything so far has been streamed: returns what the sensor records
        next (same rate, continuing the session) or None to end. The guided demo's
        simulated person (:class:`tracker.live.guided_person.GuidedPerson`) decides there
        what to do next from what the guide shows.
    t_us0 : int
        Device clock (µs) at the first sample (tracker-imu; starts near a wrap by
        default, so every session exercises the u32 wrap-around).
    battery_pct : int
        Reported battery level.
    impulse_windows : sequence of :class:`tracker.signal.witnesses.ImpulseWindow`
        kHz windows around impulses on the recording's time base (e.g.
        :func:`tracker.simulate._witnesses.simulate_snippets`): a tracker-imu tag whose
        impulse detector is on sends those whose high-passed peak reaches its configured
        threshold, once the stream has passed their end (gatt-profile.md §7).
    more_windows : callable, optional
        Called after each piece ``more`` returned: the impulse windows of that piece, on
        the piece's own time base (the guided person's pops happen as it goes along).

    Notes
    -----
    Create, :meth:`start` and :meth:`stop` it inside one running event loop (Bumble
    objects belong to the loop that made them).
    """

    def __init__(
        self,
        recording: Recording,
        *,
        profile: str = "tracker-imu",
        name: str | None = None,
        address: str = "F1:7A:C4:E2:00:01",
        speed: float = 1.0,
        fifo_s: float = 1.0,
        t_us0: int = (1 << 32) - 3_000_000,
        battery_pct: int = 87,
        more: Callable[[], Recording | None] | None = None,
        impulse_windows: Sequence[Any] = (),
        more_windows: Callable[[], Sequence[Any]] | None = None,
    ) -> None:
        if profile not in TAG_PROFILES:
            raise ValueError(f"virtual tag profile must be one of {TAG_PROFILES}, got {profile!r}")
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be positive, got {speed}")
        if len(recording) < 2:
            raise ValueError("the virtual tag needs a recording with at least 2 samples")
        self.recording = recording
        self.more = more
        self.profile = profile
        # tracker-imu-XXXX: the last two address bytes (gatt-profile.md §2).
        suffix = address.replace(":", "")[-4:].upper()
        self.name = name or (f"tracker-imu-{suffix}" if profile == "tracker-imu" else "WT901BLE68")
        self.address = address
        self.speed = float(speed)
        self.fifo_s = float(fifo_s)
        self.t_us0 = int(t_us0)
        self.battery_pct = int(battery_pct)
        self.impulse_windows = sorted(impulse_windows, key=lambda w: float(w.t0_s))
        self.more_windows = more_windows
        self.stats = TagStats()
        self.finished = asyncio.Event()  # the whole recording has been produced
        self._rec_rate_hz = float(recording.sample_rate_hz)
        self._rec_t_s = np.arange(len(recording)) / self._rec_rate_hz
        self._rec_duration_s = (len(recording) - 1) / self._rec_rate_hz
        self._device: Device | None = None
        self._connection: Connection | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._advertise_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._t0: float | None = None  # loop time of device time 0 (first stream start)
        self._anchor_t = 0.0
        self._anchor_k = 0
        self._next_k = 0
        self._impl: _TrackerImuGatt | _WitMotionGatt = (
            _TrackerImuGatt(self) if profile == "tracker-imu" else _WitMotionGatt(self)
        )

    # ------------------------------------------------------------- lifecycle
    @property
    def rate_hz(self) -> float:
        """The configured output rate."""
        return self._impl.rate_hz

    @property
    def connected(self) -> bool:
        return self._connection is not None

    @property
    def streaming(self) -> bool:
        return self._stream_task is not None and not self._stream_task.done()

    @property
    def duration_s(self) -> float:
        """Device-time length of the recording being streamed."""
        return self._rec_duration_s

    async def start(self) -> None:
        """Join this loop's virtual radio, power on and advertise."""
        from .bumble_backend import BumbleWorld

        world = await BumbleWorld.get()
        device = self._device = world.add_device(self.name, self.address)
        device.add_services(self._impl.services())
        device.advertising_data = self._impl.advertising_data()
        device.on(device.EVENT_CONNECTION, self._on_connection)
        await device.power_on()
        await self._advertise()

    async def stop(self) -> None:
        """Stop streaming and leave the radio (disconnects a connected central)."""
        from .bumble_backend import BumbleWorld

        self._stopping = True
        self._stop_streaming()
        if self._advertise_task is not None and not self._advertise_task.done():
            await asyncio.wait([self._advertise_task], timeout=1.0)
        world = BumbleWorld.current()
        if self._device is not None and world is not None:
            await world.remove_device(self._device)
        self._device = None

    async def __aenter__(self) -> VirtualTag:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def drop_connection(self) -> None:
        """Drop the link as radio loss would (the central sees reason 0x08)."""
        connection, device = self._connection, self._device
        if connection is None or device is None:
            return
        self.stats.drops += 1
        await device.disconnect(connection, LINK_LOSS_REASON)

    async def _advertise(self) -> None:
        assert self._device is not None
        await self._device.start_advertising(
            advertising_interval_min=20.0, advertising_interval_max=20.0, auto_restart=False
        )

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self.stats.connections += 1
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._stop_streaming()
        self._impl.on_disconnection()
        if self._device is not None and self._device.powered_on and not self._stopping:
            # Advertise again so the central can reconnect (a real tag does this too).
            self._advertise_task = asyncio.ensure_future(self._advertise())
            self._advertise_task.add_done_callback(_log_task_error)

    # -------------------------------------------------------------- streaming
    # Device clock: t_dev = (loop time - t0) · speed, from the first stream start.
    # Sample grid: sample k is at t_dev = anchor_t + (k - anchor_k) / rate; a rate
    # change re-anchors it, so sample indices stay unique across the session.
    def _dev_time_s(self) -> float:
        assert self._t0 is not None
        return (asyncio.get_running_loop().time() - self._t0) * self.speed

    def _t_of(self, k: int | np.ndarray) -> Any:
        return self._anchor_t + (np.asarray(k) - self._anchor_k) / self._impl.rate_hz

    def _count_at(self, t_dev_s: float, rate_hz: float | None = None) -> int:
        if t_dev_s < self._anchor_t:
            return self._anchor_k
        rate = self._impl.rate_hz if rate_hz is None else rate_hz
        return self._anchor_k + int(math.floor((t_dev_s - self._anchor_t) * rate + 1e-9)) + 1

    def sample_index_now(self) -> int:
        """Number of samples the device clock has produced so far."""
        if self._t0 is None:
            return 0
        return min(self._count_at(self._dev_time_s()), self.total_samples)

    @property
    def total_samples(self) -> int:
        """Samples in the whole recording on the current sample grid."""
        return self._count_at(self._rec_duration_s)

    def _rate_changed(self, old_rate_hz: float) -> None:
        """Called by the protocol after it changed its rate: re-anchor the grid."""
        if self._t0 is None:
            return
        t = self._dev_time_s()
        rate = self._impl.rate_hz
        # Samples produced on the old grid (none beyond the end of the recording).
        k = min(self._count_at(t, old_rate_hz), self._count_at(self._rec_duration_s, old_rate_hz))
        self._anchor_k, self._anchor_t = k, t
        if self._next_k < k:
            self.stats.lost_samples += k - self._next_k
            self._next_k = k
        logger.debug("virtual tag rate %.6g -> %.6g Hz at sample %d", old_rate_hz, rate, k)

    def _start_streaming(self) -> None:
        if self.streaming or self._connection is None:
            return
        if self._t0 is None:
            self._t0 = asyncio.get_running_loop().time()
            self._next_k = 0
        else:
            # Samples produced while not streaming were never sent.
            now_k = self.sample_index_now()
            if now_k > self._next_k:
                self.stats.lost_samples += now_k - self._next_k
                self._next_k = now_k
        self._stream_task = asyncio.ensure_future(self._stream(self._connection))
        self._stream_task.add_done_callback(_log_task_error)

    def _stop_streaming(self) -> None:
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None

    def _extend(self) -> bool:
        """Ask ``more`` for what comes next once everything has been streamed; False: the end."""
        piece = None if self.more is None else self.more()
        if piece is None or len(piece) == 0:
            return False
        rec = self.recording
        mag = None if rec.mag_uT is None or piece.mag_uT is None else np.vstack([rec.mag_uT, piece.mag_uT])
        n = len(rec) + len(piece)
        if self.more_windows is not None:  # the piece's windows, on the session's time base
            start_s = len(rec) / self._rec_rate_hz
            self.impulse_windows += sorted((replace(w, t0_s=w.t0_s + start_s) for w in self.more_windows()),
                                           key=lambda w: float(w.t0_s))
        self.recording = Recording(np.arange(n) / self._rec_rate_hz, np.vstack([rec.acc_m_s2, piece.acc_m_s2]),
                                   np.vstack([rec.gyr_rad_s, piece.gyr_rad_s]), mag, rec.meta)
        self._rec_t_s = np.arange(n) / self._rec_rate_hz
        self._rec_duration_s = (n - 1) / self._rec_rate_hz
        return True

    def samples(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Stream samples ``[k0, k1)``: acc (m/s²), gyr (rad/s), mag (µT) or None."""
        rec = self.recording
        if self._anchor_k == 0 and self._anchor_t == 0.0 and self._impl.rate_hz == self._rec_rate_hz:
            # The stream grid is the recording's: sample k is row k exactly.
            mag = None if rec.mag_uT is None else rec.mag_uT[k0:k1]
            return rec.acc_m_s2[k0:k1], rec.gyr_rad_s[k0:k1], mag
        t = self._t_of(np.arange(k0, k1))

        def interp(a: np.ndarray) -> np.ndarray:
            return np.column_stack([np.interp(t, self._rec_t_s, a[:, i]) for i in range(3)])

        mag = None if rec.mag_uT is None else interp(rec.mag_uT)
        return interp(rec.acc_m_s2), interp(rec.gyr_rad_s), mag

    def mag_now(self) -> np.ndarray | None:
        """The magnetometer reading at the current device time (register reads)."""
        if self.recording.mag_uT is None:
            return None
        t = 0.0 if self._t0 is None else min(self._dev_time_s(), self._rec_duration_s)
        return np.array([np.interp(t, self._rec_t_s, self.recording.mag_uT[:, i]) for i in range(3)])

    def _notify_later(self, characteristic: Any, value: bytes) -> None:
        """Notify outside a GATT callback (status, register replies)."""
        connection, device = self._connection, self._device
        if connection is None or device is None:
            return
        task = asyncio.ensure_future(device.notify_subscriber(connection, characteristic, value))
        task.add_done_callback(_log_task_error)

    async def _stream(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        device = self._device
        assert device is not None and self._t0 is not None
        overrun = False
        sent_since_yield = 0
        pending: list[tuple[int, int, bytes]] = []  # encoded ahead: (k0, k1, packet)
        while self._next_k < self.total_samples or self._extend():
            spp = self._impl.samples_per_packet(connection.att_mtu)
            if not pending or pending[0][0] != self._next_k or pending[0][1] - pending[0][0] > spp:
                # Encode a block ahead (vectorised); dropped if the grid or MTU changes.
                n_packets = max(1, min(64, int(0.1 * self.speed * self._impl.rate_hz / spp)))
                k1 = min(self._next_k + n_packets * spp, self.total_samples)
                pending = self._impl.encode(self._next_k, k1, spp, overrun)
            k0, k_end, packet = pending[0]
            # The packet leaves when its last sample exists on the device clock.
            deadline = self._t0 + float(self._t_of(k_end - 1)) / self.speed
            delay = deadline - loop.time()
            if delay > 0:
                sent_since_yield = 0
                await asyncio.sleep(delay)
                continue  # the grid may have changed while sleeping
            if sent_since_yield >= 8:
                sent_since_yield = 0
                await asyncio.sleep(0)  # behind schedule: still let the radio run
                continue
            fifo = max(16, int(self.fifo_s * self._impl.rate_hz * self.speed))
            available = self.sample_index_now()
            if available - self._next_k > fifo:
                # The host is not keeping up: the device FIFO drops the oldest samples.
                drop = available - self._next_k - fifo
                self.stats.lost_samples += drop
                self.stats.overruns += 1
                self._next_k += drop
                overrun = True
                pending = []
                continue
            await device.notify_subscriber(connection, self._impl.data_characteristic, packet)
            pending.pop(0)
            overrun = False
            self._next_k = k_end
            self._impl.sent(packet)
            self.stats.add_sent(k0, k_end)
            sent_since_yield += 1
            self._impl.after_packet(k_end)
        self.finished.set()
        self._impl.on_finished()


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("virtual tag task failed", exc_info=task.exception())


def _att_error(code: int) -> Exception:
    from bumble import att

    return att.ATT_Error(code)


# ------------------------------------------------------------------ tracker-imu
class _TrackerImuGatt:
    """Our own profile on the tag side (firmware-notes/gatt-profile.md)."""

    def __init__(self, tag: VirtualTag) -> None:
        from ..profiles import tracker_imu as ti

        self.ti = ti
        self.tag = tag
        self.config = ti.DeviceConfig()
        self.seq = 0
        self.with_mag = tag.recording.mag_uT is not None
        self._last_status_k = 0
        self._next_impulse = 0
        self.data_characteristic: Any = None
        self.status_characteristic: Any = None
        self.impulse_characteristic: Any = None

    @property
    def rate_hz(self) -> float:
        return float(self.config.rate_hz)

    def advertising_data(self) -> bytes:
        from bumble.core import UUID, AdvertisingData

        # The spec puts the name in the scan response; Bumble's virtual controller
        # answers scans with the advertising data, so everything goes here.
        return bytes(AdvertisingData([
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
             UUID(self.ti.SERVICE_UUID).to_bytes()),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.tag.name.encode()),
        ]))

    def services(self) -> list[Any]:
        from bumble.gatt import Characteristic, CharacteristicValue, Service

        ti = self.ti
        props = Characteristic.Properties
        readable, writeable = Characteristic.READABLE, Characteristic.WRITEABLE
        self.data_characteristic = Characteristic(ti.DATA_UUID, props.NOTIFY, readable, b"")
        config: Characteristic[bytes] = Characteristic(
            ti.CONFIG_UUID, props.READ | props.WRITE, readable | writeable,
            CharacteristicValue(read=self._read_config, write=self._write_config),
        )
        self.status_characteristic = Characteristic(
            ti.STATUS_UUID, props.READ | props.NOTIFY, readable,
            CharacteristicValue(read=lambda _c: self._status()),
        )
        impulse = self.impulse_characteristic = Characteristic(ti.IMPULSE_UUID, props.NOTIFY, readable, b"")
        battery: Characteristic[bytes] = Characteristic(
            ti.BATTERY_LEVEL_UUID, props.READ | props.NOTIFY, readable,
            CharacteristicValue(read=lambda _c: bytes([self.tag.battery_pct])),
        )
        dis = [
            Characteristic(uuid, props.READ, readable, value.encode())
            for uuid, value in (
                ("2A29", "tracker project (emulated)"),        # manufacturer name
                ("2A24", "tracker-imu"),                       # model number
                ("2A25", self.tag.address.replace(":", "")),   # serial number
                ("2A27", "virtual"),                           # hardware revision
                ("2A26", "1.0.0"),                             # firmware revision = spec v1
            )
        ]
        return [
            Service(ti.SERVICE_UUID, [self.data_characteristic, config, self.status_characteristic, impulse]),
            Service("180A", dis),
            Service("180F", [battery]),
        ]

    def _read_config(self, _connection: Any) -> bytes:
        return self.ti.encode_config(self.config)

    def _write_config(self, _connection: Any, value: bytes) -> None:
        ti = self.ti
        try:
            cfg = ti.decode_config(bytes(value))
        except ti.ConfigError as exc:
            self.tag.stats.rejected_writes += 1
            raise _att_error(exc.att_error) from exc
        old = self.config
        changed = (cfg.rate_hz, cfg.acc_range_g, cfg.gyr_range_dps, cfg.mag) != (
            old.rate_hz, old.acc_range_g, old.gyr_range_dps, old.mag)
        if old.stream and cfg.stream and changed:
            self.tag.stats.rejected_writes += 1
            raise _att_error(_ATT_REFUSED_WHILE_STREAMING)
        old_rate = self.rate_hz
        self.config = cfg
        if self.rate_hz != old_rate:
            self.tag._rate_changed(old_rate)
        if cfg.stream:
            self.tag._start_streaming()
        else:
            self.tag._stop_streaming()

    def _status(self) -> bytes:
        t_dev = 0.0 if self.tag._t0 is None else self.tag._dev_time_s()
        return self.ti.encode_status(self.ti.DeviceStatus(
            streaming=self.tag.streaming, battery_pct=self.tag.battery_pct, temperature_c=31,
            battery_mV=3950, fifo_overrun_samples=self.tag.stats.lost_samples,
            t_us=(self.tag.t_us0 + int(round(t_dev * 1e6))) % (1 << 32), mag_fitted=self.with_mag,
        ))

    def samples_per_packet(self, mtu: int) -> int:
        latency = self.config.max_latency_ms
        by_latency = max(1, int(self.rate_hz * latency / 1000)) if latency else 255
        return max(1, min(by_latency, self.ti.max_samples_per_packet(mtu, self.with_mag and self.config.mag)))

    def encode(self, k0: int, k1: int, spp: int, overrun: bool) -> list[tuple[int, int, bytes]]:
        acc, gyr, mag = self.tag.samples(k0, k1)
        t_us = self.tag.t_us0 + int(round(float(self.tag._t_of(k0)) * 1e6))
        packets = self.ti.encode_packets(
            self.seq, t_us % (1 << 32), acc, gyr, mag if self.config.mag else None,
            rate_hz=self.rate_hz, mtu=1 << 16, config=self.config, samples_per_packet=spp,
        )
        if overrun:
            p = bytearray(packets[0])
            p[6] |= self.ti.FLAG_OVERRUN
            packets[0] = bytes(p)
        starts = range(k0, k1, spp)
        return [(a, min(a + spp, k1), p) for a, p in zip(starts, packets, strict=True)]

    def sent(self, packet: bytes) -> None:
        # seq counts notifications actually sent (encoded-ahead packets may be dropped).
        self.seq = (int.from_bytes(packet[:2], "little") + 1) & 0xFFFF

    def after_packet(self, k_end: int) -> None:
        # Status once per second of device time (battery, overrun counter, clock).
        if k_end - self._last_status_k >= self.rate_hz:
            self._last_status_k = k_end
            self.tag._notify_later(self.status_characteristic, self._status())
        self._send_impulses(float(self.tag._t_of(k_end)))

    def _send_impulses(self, t_now_s: float) -> None:
        """Windows that ended before ``t_now_s``, if the detector is on and they pass its threshold."""
        windows = self.tag.impulse_windows
        while self._next_impulse < len(windows):
            w = windows[self._next_impulse]
            acc = np.asarray(w.acc_m_s2, dtype=float)
            if w.t0_s + acc.shape[0] / w.rate_hz > t_now_s:
                return
            self._next_impulse += 1
            peak = float(np.max(np.linalg.norm(acc - acc.mean(axis=0), axis=1)))
            if not self.config.impulse or peak < self.config.impulse_threshold_g * 9.80665:
                continue
            t_us = (self.tag.t_us0 + int(round(w.t0_s * 1e6))) % (1 << 32)
            for frag in self.ti.encode_impulse(self._next_impulse & 0xFFFF, t_us, acc, rate_hz=int(w.rate_hz),
                                               trigger_index=int(w.trigger_index), mtu=185):
                self.tag._notify_later(self.impulse_characteristic, frag)

    def on_disconnection(self) -> None:
        # The firmware stops streaming when the central goes away.
        self.config = self.ti.DeviceConfig(**{**self.config.__dict__, "stream": False})

    def on_finished(self) -> None:
        self.on_disconnection()


# ------------------------------------------------------------------- WitMotion
_WIT_UNLOCK_S = 10.0


class _WitMotionGatt:
    """WitMotion BLE 5.0 (WT901BLECL) on the tag side (shared/device-profiles.md §1)."""

    def __init__(self, tag: VirtualTag) -> None:
        from ..profiles import witmotion as wm

        self.wm = wm
        self.tag = tag
        # The rate is saved in the sensor's flash; start at the recording's rate when
        # it is a valid code (as if configured before), else the factory 10 Hz.
        rec_rate = float(tag.recording.sample_rate_hz)
        self._rate_hz = rec_rate if rec_rate in wm.RATE_CODES else 10.0
        self._unlocked_until = -math.inf
        self._mag_type = 6  # µT = raw / 120 (the SDK default)
        self.data_characteristic: Any = None

    @property
    def rate_hz(self) -> float:
        return self._rate_hz

    def advertising_data(self) -> bytes:
        from bumble.core import UUID, AdvertisingData

        return bytes(AdvertisingData([
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
             UUID(self.wm.SERVICE_UUID).to_bytes()),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.tag.name.encode()),
        ]))

    def services(self) -> list[Any]:
        from bumble.gatt import Characteristic, CharacteristicValue, Service

        props = Characteristic.Properties
        self.data_characteristic = Characteristic(
            self.wm.NOTIFY_UUID, props.NOTIFY, Characteristic.READABLE, b""
        )
        self.data_characteristic.on(
            self.data_characteristic.EVENT_SUBSCRIPTION, self._on_subscription
        )
        write: Characteristic[bytes] = Characteristic(
            self.wm.WRITE_UUID, props.WRITE | props.WRITE_WITHOUT_RESPONSE, Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        return [Service(self.wm.SERVICE_UUID, [self.data_characteristic, write])]

    def _on_subscription(self, _bearer: Any, notify_enabled: bool, _indicate: bool) -> None:
        # Streaming starts when notifications are on (no start command).
        if notify_enabled:
            self.tag._start_streaming()
        else:
            self.tag._stop_streaming()

    def _on_write(self, _connection: Any, value: bytes) -> None:
        wm = self.wm
        try:
            kind, reg, val = wm.decode_witmotion_command(bytes(value))
        except DecodeError:
            # The real sensor ignores garbage; the emulator rejects it so client bugs show.
            self.tag.stats.rejected_writes += 1
            raise _att_error(_ATT_VALUE_NOT_ALLOWED) from None
        now = asyncio.get_running_loop().time()
        if kind == "unlock":
            self._unlocked_until = now + _WIT_UNLOCK_S
        elif kind == "read":
            self._reply_register(reg)
        elif kind == "write" and reg == wm.REG_RATE and now <= self._unlocked_until:
            rates = {code: rate for rate, code in wm.RATE_CODES.items()}
            if val in rates and rates[val] != self._rate_hz:
                old, self._rate_hz = self._rate_hz, rates[val]
                self.tag._rate_changed(old)
            elif val not in rates:
                self.tag.stats.ignored_writes += 1
        elif kind != "save":
            self.tag.stats.ignored_writes += 1  # locked, or a register we do not emulate

    def _reply_register(self, reg: int) -> None:
        wm = self.wm
        if reg == wm.REG_MAG:
            mag = self.tag.mag_now()
            if mag is None:
                return  # no magnetometer in the recording: no reply, like a 6-axis part
            scale = wm.MAG_UT_PER_LSB_BY_TYPE[self._mag_type]
            values = [int(round(v / scale)) for v in mag]
        elif reg == wm.REG_QUAT:
            values = [32767, 0, 0, 0]
        elif reg == wm.REG_TEMP:
            values = [2548]
        elif reg == wm.REG_BATTERY:
            values = [396 if self.tag.battery_pct >= 90 else 382]
        elif reg == wm.REG_MAG_TYPE:
            values = [self._mag_type]
        else:
            values = []
        values = [max(-32768, min(32767, v)) for v in values]
        self.tag._notify_later(self.data_characteristic, wm.encode_witmotion_register_reply(reg, values))

    def samples_per_packet(self, mtu: int) -> int:
        return 1  # one 20-byte packet per sample

    def encode(self, k0: int, k1: int, spp: int, overrun: bool) -> list[tuple[int, int, bytes]]:
        acc, gyr, _mag = self.tag.samples(k0, k1)
        g = acc / STANDARD_GRAVITY_M_S2
        # The sensor's own angle output; roll/pitch from gravity is enough for an emulator.
        roll = np.degrees(np.arctan2(g[:, 1], g[:, 2]))
        pitch = np.degrees(np.arctan2(-g[:, 0], np.hypot(g[:, 1], g[:, 2])))
        angles = np.column_stack([roll, pitch, np.zeros_like(roll)])
        return [(k0 + i, k0 + i + 1, self.wm.encode_witmotion_packet(acc[i], gyr[i], angles[i]))
                for i in range(k1 - k0)]

    def sent(self, packet: bytes) -> None:
        pass

    def after_packet(self, k_end: int) -> None:
        pass

    def on_disconnection(self) -> None:
        self._unlocked_until = -math.inf

    def on_finished(self) -> None:
        pass
