"""Record from the emulated tag: what ``record --virtual``, ``demo``, the tests and the
benchmark share.

:func:`record_virtual` starts a :class:`~tracker.ble.virtual_tag.VirtualTag` on this
loop's Bumble radio, finds it with the ordinary scan, and records it through the
ordinary client and recorder (:func:`~tracker.ble.recorder.record_session`) with the
Bumble backend. Only the backend differs from a real recording.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..profiles import Profile
from ..recording import Recording
from .client import ReconnectPolicy, find_device, is_missing, profile_by_id, virtual_backend
from .recorder import Recorder, RecorderObserver, RecordResult, record_session

__all__ = ["VirtualRun", "record_virtual", "quiet_bumble_logging"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VirtualRun:
    """A recording made from the emulated tag.

    Attributes
    ----------
    result : RecordResult
        What the recorder stored.
    tag_stats : TagStats
        What the tag sent (samples, packets, lost while the link was down).
    tag_rate_hz : float
        The rate the tag streamed at.
    wall_s : float
        Host time from scan to end.
    recorder : Recorder
        The recorder (latencies, time spent decoding and storing).
    """

    result: RecordResult
    tag_stats: Any
    tag_rate_hz: float
    wall_s: float
    recorder: Any = None


def quiet_bumble_logging(fast: bool = True) -> None:
    """Keep the CLI quiet and fast: Bumble warns about benign races of its virtual
    controller, and formats every packet for debug logs (see
    :func:`~tracker.ble.bumble_backend.fast_bumble_logging`)."""
    logging.getLogger("bumble").setLevel(logging.ERROR)
    if fast:
        try:
            from .bumble_backend import fast_bumble_logging
        except ModuleNotFoundError as exc:
            if not is_missing("bumble", exc):
                raise
            return  # bumble missing: record_virtual says how to install it
        fast_bumble_logging()


async def record_virtual(
    store: Any,
    recording: Recording,
    *,
    profile: str | Profile = "tracker-imu",
    rate_hz: float | None = None,
    speed: float = 1.0,
    seconds: float | None = None,
    stop: asyncio.Event | None = None,
    observers: Sequence[RecorderObserver] = (),
    notes: str = "",
    drop_after_s: Sequence[float] = (),
    policy: ReconnectPolicy | None = None,
    fifo_s: float = 1.0,
    wallclock_latency: bool = True,
    more: Callable[[], Recording | None] | None = None,
    impulse_windows: Sequence[Any] = (),
    more_windows: Callable[[], Sequence[Any]] | None = None,
) -> VirtualRun:
    """Stream ``recording`` from an emulated tag over the virtual link into ``store``.

    Parameters
    ----------
    store : Store
    recording : Recording
        What the tag streams (e.g. a simulated session).
    profile : {"tracker-imu", "witmotion"} or Profile
        GATT profile the tag speaks; the client uses the matching device profile (or
        this one, e.g. a ``tracker-imu`` profile with another config).
    rate_hz : float, optional
        Rate the client asks for (default: the recording's rate).
    speed : float
        Tag clock relative to real time (10 = ten times faster). Profiles without
        device timestamps (WitMotion) judge gaps from arrival times, which a sped-up
        clock distorts: keep ``speed <= 4`` for them.
    seconds, stop, observers, notes, policy
        As :func:`~tracker.ble.recorder.record_session`.
    drop_after_s : sequence of float
        Device times (s) at which the tag drops the link (simulated radio loss).
    fifo_s : float
        The tag's buffer before it drops samples the host is too slow to take.
    more, more_windows : callable, optional
        What the tag streams after ``recording``, and the impulse windows of each such
        piece (see :class:`VirtualTag`).
    impulse_windows : sequence
        kHz impulse windows a tracker-imu tag sends (see :class:`VirtualTag`); the
        recorder keeps them as ``impulse`` events for the crack analysis.
    wallclock_latency : bool
        Scale the ``tracker-imu`` packing latency (device time) by ``speed`` so a
        sped-up tag sends as many notifications per second as a real one would.

    Raises
    ------
    DeviceError
        Bumble is not installed, or the tag could not be found/connected.
    """
    backend = virtual_backend()  # clear error if bumble is missing
    from .bumble_backend import BumbleWorld
    from .virtual_tag import VirtualTag

    loop = asyncio.get_running_loop()
    started = loop.time()
    rate = float(rate_hz or recording.sample_rate_hz)
    world = await BumbleWorld.get()
    client_profile = profile_by_id(profile) if isinstance(profile, str) else profile
    config = getattr(client_profile, "config", None)
    if wallclock_latency and speed > 1 and config is not None and config.max_latency_ms:
        # The packing latency is device time: at speed X keep a real tag's wall-clock
        # latency (and notification rate) instead of sending X times more packets.
        latency = min(255, int(round(config.max_latency_ms * speed)))
        client_profile = dataclasses.replace(  # a profile with a config field (tracker-imu)
            client_profile, config=dataclasses.replace(config, max_latency_ms=latency))  # type: ignore[call-arg]
    tag = VirtualTag(recording, profile=client_profile.id, speed=speed, fifo_s=fifo_s, more=more,
                     impulse_windows=impulse_windows, more_windows=more_windows)
    dropper: asyncio.Task[None] | None = None
    try:
        await tag.start()
        device = await find_device(tag.name, timeout_s=5.0, backend=backend)
        finished_at: list[float] = []

        def end_of_data(rec: Recorder) -> bool:
            if not tag.finished.is_set():
                return False
            if not finished_at:
                finished_at.append(loop.time())
            # Everything the tag sent is in, or the last packets are not coming.
            return rec.samples + rec.lost_samples >= tag.stats.sent_samples + tag.stats.lost_samples \
                or loop.time() - finished_at[0] > 2.0

        async def drop_links() -> None:
            for t_s in sorted(drop_after_s):
                target = int(t_s * rate)
                while tag.stats.sent_samples + tag.stats.lost_samples < target:
                    await asyncio.sleep(0.002)
                await tag.drop_connection()

        if drop_after_s:
            dropper = asyncio.ensure_future(drop_links())
        result = await record_session(
            store, device=device, profile=client_profile, rate_hz=rate, seconds=seconds,
            stop=stop, backend=backend, observers=observers, time_scale=speed, notes=notes,
            policy=policy, until=end_of_data,
        )
        return VirtualRun(result, tag.stats, tag.rate_hz, loop.time() - started, result.recorder)
    finally:
        if dropper is not None:
            dropper.cancel()
        await tag.stop()
        await world.close()

