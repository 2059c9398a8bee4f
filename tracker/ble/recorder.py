"""Queue -> profile decoder -> store: the consumer side of a BLE recording.

The BLE client (:mod:`tracker.ble.client`) only enqueues notifications and link
events. :class:`Recorder` drains the queue in the same event loop: it decodes with
the device profile, appends the samples to the store's :class:`SessionWriter`
(committed at least every 0.5 s, so a crash loses at most that), records gaps,
disconnects and reconnects as store events, and keeps the data-quality summary.

Live consumers (the live view and the causal analyser of issue 8) plug in as
observers without touching this module::

    class LivePlot(RecorderObserver):
        def on_batch(self, batch: Recording) -> None: ...

    await record_session(store, device=..., profile=..., observers=[LivePlot()])

Observers run in the event loop, in order, after the batch is handed to the store;
they must return quickly (hand heavy work to a thread). An observer that raises is
logged and switched off; it never stops the recording.

Sample times come from the decoder (device clock, sequence numbers), never from the
host clock. When the device runs faster than real time (the virtual tag's ``speed``),
``time_scale`` scales host arrival times so host-time gap detection stays right.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from .. import schema
from ..errors import DecodeError, DeviceError, ValidationError
from ..profiles import Profile, SampleBatch
from ..quality import LinkQuality, Quality
from ..recording import Recording, RecordingMeta
from .client import SYSTEM, BleBackend, FoundDevice, LinkEvent, LinkState, ReconnectPolicy, StreamingClient

__all__ = ["Recorder", "RecorderObserver", "RecordResult", "SessionStarted", "record_session"]

logger = logging.getLogger(__name__)

#: How often a quiet stream still commits what it has (the writer's own interval rules).
_TICK_S = 0.25
#: Latency samples kept for the quality summary (reservoir beyond this).
_MAX_LATENCIES = 200_000


@dataclass(frozen=True)
class SessionStarted:
    """What an observer learns when the session exists (first link up).

    Attributes
    ----------
    session_id : str
    meta : RecordingMeta
        Device, profile, nominal rate, UTC start.
    profile : Profile
    rate_hz : float
        The rate the device was configured for.
    """

    session_id: str
    meta: RecordingMeta
    profile: Profile
    rate_hz: float


class RecorderObserver:
    """Hooks for live consumers; override what you need (all default to no-ops).

    Called in the event loop, in this order for one session: ``on_start`` once,
    then ``on_batch`` / ``on_event`` / ``on_state`` as things happen, then
    ``on_stop`` once with the quality summary.
    """

    def on_start(self, started: SessionStarted) -> None:
        """The session was created (the device is connected and configured)."""

    def on_batch(self, batch: Recording) -> None:
        """New samples (SI units, device time base, strictly after the previous batch)."""

    def on_event(self, kind: str, t_s: float | None, data: dict[str, Any]) -> None:
        """A stored event: ``gap``, ``disconnect``, ``reconnect``, ``gave_up``..."""

    def on_state(self, event: LinkEvent) -> None:
        """A link state change (connecting, streaming, disconnected, reconnecting...)."""

    def on_stop(self, quality: Quality) -> None:
        """The session ended; ``quality`` is what the store keeps."""


@dataclass(frozen=True)
class RecordResult:
    """How a recording ended.

    Attributes
    ----------
    session_id : str or None
        None if the device never streamed (nothing was stored).
    status : str
        Final session status (``complete`` or ``interrupted``).
    ended_by : str
        ``user`` (Ctrl-C / stop), ``seconds``, ``end_of_data``, ``gave_up`` or ``error``.
    quality : Quality
        The data-quality summary stored with the session.
    recorder : Recorder
        The recorder itself (latencies, decode/store time) for benchmarks and tests.
    """

    session_id: str | None
    status: str
    ended_by: str
    quality: Quality
    recorder: Any = field(default=None, repr=False, compare=False)


class Recorder:
    """Consume one stream's queue into a new store session.

    Parameters
    ----------
    store : Store
        Where the session goes (created at the first sign of a working link).
    profile : Profile
        Decodes the notifications.
    rate_hz : float
        Requested rate; the profile's actual rate is the session's nominal rate.
    device : str
        Device label stored with the session.
    observers : sequence of RecorderObserver
    time_scale : float
        Device-clock speed relative to the host (1 for real devices).
    notes : str
        Session notes.
    limit_s : float, optional
        Keep samples up to this device time (``--seconds``); later ones are dropped
        and :attr:`reached_limit` is set.
    """

    def __init__(
        self, store: Any, profile: Profile, rate_hz: float, device: str, *,
        observers: Sequence[RecorderObserver] = (), time_scale: float = 1.0, notes: str = "",
        limit_s: float | None = None,
    ) -> None:
        self.store = store
        self.profile = profile
        self.rate_hz = profile.actual_rate_hz(rate_hz)
        self.device = device
        self.observers = list(observers)
        self.time_scale = float(time_scale)
        self.notes = notes
        self.limit_s = limit_s
        self.reached_limit = False
        self.decoder = profile.make_decoder(self.rate_hz)
        self.session_id: str | None = None
        self.meta: RecordingMeta | None = None
        self.writer: Any = None
        self.samples = 0
        self.first_t_s: float | None = None
        self.last_t_s: float | None = None
        self.gaps: list[dict[str, Any]] = []
        self.disconnects = 0
        self.reconnects = 0
        self.decode_errors = 0
        self.rejected_batches = 0
        self.gave_up = False
        self.busy_s = 0.0  # CPU time spent decoding + storing (benchmark)
        self.latencies_s: list[float] = []  # notification -> durable commit
        self.handoff_latencies_s: list[float] = []  # notification -> decoded, in the writer
        self._latency_seen = {"commit": 0, "handoff": 0}
        self._uncommitted_arrivals: list[float] = []
        self._committed = 0
        self._has_mag: bool | None = None
        self._down_since: float | None = None
        self._reconnect_pending: dict[str, Any] | None = None
        self._stopped = asyncio.Event()
        self._rng = np.random.default_rng(0)

    # ---------------------------------------------------------------- lifecycle
    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def lost_samples(self) -> int:
        """Samples the decoder counted as missing so far."""
        return int(self.decoder.stats.get("lost_samples", 0))

    def _ensure_session(self) -> None:
        if self.session_id is not None:
            return
        self.meta = RecordingMeta(
            device=self.device, profile=self.profile.id, nominal_rate_hz=self.rate_hz,
            started_at=datetime.now(timezone.utc),
        )
        self.session_id = self.store.create_session(self.meta, self.notes, has_mag=self.profile.has_mag)
        self.writer = self.store.writer(self.session_id)
        started = SessionStarted(self.session_id, self.meta, self.profile, self.rate_hz)
        self._notify("on_start", started)

    async def run(self, queue: asyncio.Queue) -> None:
        """Drain ``queue`` until the client reports :data:`LinkState.STOPPED`."""
        while not self._stopped.is_set():
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                self._tick()
                try:
                    item = await asyncio.wait_for(queue.get(), _TICK_S)
                except TimeoutError:
                    continue
            # Decode everything already waiting as one block (fewer, bigger appends).
            notes: list[tuple[float, str, bytes]] = []
            while True:
                if isinstance(item, LinkEvent):
                    self._handle_notifications(notes)
                    notes = []
                    self._handle_link_event(item)
                else:
                    notes.append(item)
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            self._handle_notifications(notes)

    def finish(self, status: str = "complete", ended_by: str = "user") -> RecordResult:
        """Flush, store the quality summary and set the final status."""
        quality = self.quality(ended_by=ended_by)
        if self.session_id is None:
            return RecordResult(None, status, ended_by, quality, self)
        try:
            self.writer.flush()
            self._note_commit()
            quality = self.quality(ended_by=ended_by)
            self.store.set_quality(self.session_id, quality)
        finally:
            self.writer.close(status)
        self._notify("on_stop", quality)
        return RecordResult(self.session_id, status, ended_by, quality, self)

    # ----------------------------------------------------------------- handling
    def _tick(self) -> None:
        if self.writer is not None and self.writer.tick():
            self._note_commit()

    def _handle_notifications(self, notes: list[tuple[float, str, bytes]]) -> None:
        if not notes:
            return
        t_start = time.thread_time()
        batches: list[SampleBatch] = []
        arrivals: list[float] = []
        scale = self.time_scale
        for host_t, uuid, data in notes:
            try:
                batch = self.decoder.feed(uuid, data, host_t * scale)
            except DecodeError as exc:
                self.decode_errors += 1
                if self.decode_errors <= 3:
                    logger.warning("skipping a notification that does not decode: %s", exc)
                continue
            if batch is not None and len(batch):
                batches.append(batch)
                arrivals.append(host_t)
        self._store_batches(batches, arrivals)
        self._store_impulses()
        self.busy_s += time.thread_time() - t_start

    def _store_impulses(self) -> None:
        """Keep the tag's kHz impulse windows (tracker-imu) as events for the crack analysis."""
        pop = getattr(self.decoder, "pop_impulses", None)
        if pop is None:
            return
        for w in pop():
            if w.t_s is None or self.session_id is None:
                continue  # placed on the time base only once data has arrived
            self._event(schema.IMPULSE_EVENT, float(w.t_s[0]), rate_hz=float(w.rate_hz),
                        acc_m_s2=np.round(w.acc_m_s2, 4).tolist(), trigger_index=int(w.trigger_index))

    def _store_batches(self, batches: list[SampleBatch], arrivals: list[float]) -> None:
        if not batches:
            return
        self._ensure_session()
        # One store append per run of gap-free batches: a backlog costs less per
        # sample, and each gap event still sits between the samples around it.
        run: list[SampleBatch] = []
        for batch in batches:
            if batch.lost_samples and run:
                self._store(SampleBatch.concat(run) if len(run) > 1 else run[0])
                run = []
            if batch.lost_samples:
                self._record_gap(batch)
            run.append(batch)
        self._store(SampleBatch.concat(run) if len(run) > 1 else run[0])
        now = time.monotonic()
        for arrival in arrivals:
            self._add_latency(self.handoff_latencies_s, "handoff", now - arrival)
        self._uncommitted_arrivals.extend(arrivals)
        self._note_commit()

    def _flush_decoder(self) -> None:
        """Samples a decoder still holds (e.g. waiting to confirm a gap) at the end."""
        try:
            batch = self.decoder.flush()
        except DecodeError as exc:
            self.decode_errors += 1
            logger.warning("the last held samples do not decode: %s", exc)
            return
        if batch is not None and len(batch):
            self._store_batches([batch], [])  # no notification latency to speak of

    def _record_gap(self, batch: SampleBatch) -> None:
        if self.reached_limit:
            return  # beyond --seconds: nothing of it is stored
        before = self.last_t_s if self.last_t_s is not None else 0.0
        hole_s = float(batch.t_s[0]) - before
        cause = "reconnect" if self._reconnect_pending is not None else "lost_packets"
        data = {"duration_s": hole_s, "lost_samples": int(batch.lost_samples), "cause": cause}
        self.gaps.append({"t_s": before, **data})
        self._event("gap", before, **data)

    def _store(self, batch: SampleBatch) -> None:
        if self.limit_s is not None and batch.t_s[-1] > self.limit_s + 1e-9:
            self.reached_limit = True
            keep = int(np.searchsorted(batch.t_s, self.limit_s + 1e-9, side="right"))
            if keep == 0:
                return
            batch = SampleBatch(batch.t_s[:keep], batch.acc_m_s2[:keep], batch.gyr_rad_s[:keep],
                                None if batch.mag_uT is None else batch.mag_uT[:keep],
                                batch.lost_samples, batch.seq, batch.host_time_s)
        if self._has_mag is None:
            self._has_mag = batch.mag_uT is not None
        mag = batch.mag_uT if self._has_mag else None
        if self._has_mag and mag is None:
            mag = np.zeros_like(batch.acc_m_s2)  # never happens with our profiles; keep columns
        assert self.meta is not None
        try:
            rec = Recording(batch.t_s, batch.acc_m_s2, batch.gyr_rad_s, mag, self.meta)
            self.writer.append(rec)
        except ValidationError as exc:
            self.rejected_batches += 1
            if self.rejected_batches <= 3:
                logger.warning("skipping %d samples the store refused: %s", len(batch), exc)
            return
        if self.first_t_s is None:
            self.first_t_s = float(rec.t_s[0])
        self.last_t_s = float(rec.t_s[-1])
        self.samples += len(rec)
        if self._reconnect_pending is not None:
            pending, self._reconnect_pending = self._reconnect_pending, None
            self._event("reconnect", float(rec.t_s[0]), **pending)
        self._notify("on_batch", rec)

    def _note_commit(self) -> None:
        written = self.writer.samples_written if self.writer is not None else 0
        if written == self._committed:
            return
        self._committed = written
        now = time.monotonic()
        for arrival in self._uncommitted_arrivals:
            self._add_latency(self.latencies_s, "commit", now - arrival)
        self._uncommitted_arrivals.clear()

    def _add_latency(self, values: list[float], key: str, value: float) -> None:
        self._latency_seen[key] += 1
        if len(values) < _MAX_LATENCIES:
            values.append(value)
        else:  # reservoir sampling keeps an unbiased sample of a long session
            j = int(self._rng.integers(0, self._latency_seen[key]))
            if j < _MAX_LATENCIES:
                values[j] = value

    def _handle_link_event(self, event: LinkEvent) -> None:
        self._notify("on_state", event)
        if event.state == LinkState.CONNECTED and event.detail.get("reconnect"):
            # Before the first packet of the new link reaches the decoder.
            self.reconnects += 1
            self.decoder.reset_link()
            down = None if self._down_since is None else event.host_time_s - self._down_since
            self._reconnect_pending = {"down_s": down}
        elif event.state == LinkState.STREAMING:
            self._ensure_session()
            if self._reconnect_pending is not None:
                self._reconnect_pending["attempts"] = event.detail.get("attempts")
        elif event.state == LinkState.DISCONNECTED:
            self.disconnects += 1
            self._down_since = event.host_time_s
            if self.session_id is not None:
                self._event("disconnect", self.last_t_s)
        elif event.state == LinkState.GAVE_UP:
            self.gave_up = True
            if self.session_id is not None:
                self._event("gave_up", self.last_t_s, after_s=event.detail.get("after_s"),
                            attempts=event.detail.get("attempts"))
        elif event.state == LinkState.STOPPED:
            self._flush_decoder()
            self._stopped.set()

    def _event(self, kind: str, t_s: float | None, **data: Any) -> None:
        self.writer.add_event(kind, t_s, **data)
        self._notify("on_event", kind, t_s, data)

    def _notify(self, method: str, *args: Any) -> None:
        for obs in list(self.observers):
            try:
                getattr(obs, method)(*args)
            except Exception:  # noqa: BLE001 - a live view must never stop a recording
                logger.exception("observer %r failed in %s; switching it off", obs, method)
                self.observers.remove(obs)

    # ------------------------------------------------------------------ quality
    def quality(self, ended_by: str | None = None) -> Quality:
        """The data-quality summary (what ``tracker show`` prints).

        Gaps and lost samples come from the device's sample counter, which also sets
        the samples' times: each counter jump is a step of two or more periods, a gap
        of :func:`tracker.quality.find_gaps` on the stored times.
        """
        stats = self.decoder.stats
        duration = (self.last_t_s - self.first_t_s) if self.samples > 1 else 0.0  # type: ignore[operator]
        lat = np.asarray(self.latencies_s) if self.latencies_s else None
        drift = stats.get("clock_drift_ppm")
        lost = int(stats.get("lost_samples", 0))
        return Quality(
            samples=self.samples,
            duration_s=round(duration, 6),
            nominal_rate_hz=self.rate_hz,
            # the device clock's rate: samples (received or lost) per second, 1 / period
            achieved_rate_hz=round((self.samples + lost - 1) / duration, 4) if duration > 0 else None,
            lost_samples=lost,
            gaps=len(self.gaps),
            gap_s=round(sum(g["duration_s"] for g in self.gaps), 6),
            longest_gap_s=round(max((g["duration_s"] for g in self.gaps), default=0.0), 6),
            link=LinkQuality(
                disconnects=self.disconnects,
                reconnects=self.reconnects,
                decode_errors=self.decode_errors + self.rejected_batches,
                packets=int(stats.get("packets", 0)),
                clock_drift_ppm=(None if drift is None or not math.isfinite(drift)
                                 else round(float(drift), 1)),
                latency_ms_median=None if lat is None else round(float(np.median(lat)) * 1e3, 3),
                latency_ms_p99=None if lat is None else round(float(np.percentile(lat, 99)) * 1e3, 3),
                gave_up=self.gave_up,
                ended_by=ended_by,
                time_scale=self.time_scale,
            ),
        )


async def record_session(
    store: Any,
    *,
    device: FoundDevice | str,
    profile: Profile,
    rate_hz: float,
    seconds: float | None = None,
    stop: asyncio.Event | None = None,
    backend: BleBackend = SYSTEM,
    observers: Sequence[RecorderObserver] = (),
    time_scale: float = 1.0,
    notes: str = "",
    policy: ReconnectPolicy | None = None,
    until: Callable[[Recorder], bool] | None = None,
    source: Callable[[asyncio.Queue], Any] | None = None,
) -> RecordResult:
    """Connect, configure, stream into a new session, and end it cleanly.

    ``source(queue)`` replaces the BLE client with another source (the phone apps'
    HTTP paths in :mod:`tracker.phone`): an object whose ``async run(stop)`` puts
    ``(host_time_s, channel, bytes)`` items and :class:`LinkEvent` s on ``queue``,
    like :class:`StreamingClient`, ending with :data:`LinkState.STOPPED`.

    The session ends when ``stop`` is set (Ctrl-C, or the caller), when ``seconds``
    of device time are recorded, when ``until(recorder)`` returns True (checked every
    50 ms; ``ended_by="end_of_data"``), or when reconnection gives up; it is then marked
    ``complete``. If this coroutine is cancelled or fails, what arrived is flushed
    and the session is marked ``interrupted``; if the process dies, the store marks
    it ``interrupted`` when it next opens.

    Raises
    ------
    DeviceError
        The device could not be connected or configured in the first place.
    """
    stop = stop or asyncio.Event()
    policy = policy or ReconnectPolicy()
    client_stop = asyncio.Event()
    queue: asyncio.Queue = asyncio.Queue()
    label = device if isinstance(device, str) else (device.name or device.address)
    recorder = Recorder(store, profile, rate_hz, label, observers=observers,
                        time_scale=time_scale, notes=notes, limit_s=seconds)
    client = (source(queue) if source is not None
              else StreamingClient(device, profile, rate_hz, queue, backend=backend, policy=policy))
    client_task = asyncio.ensure_future(client.run(client_stop))
    recorder_task = asyncio.ensure_future(recorder.run(queue))
    ended_by = "user"

    async def watch_stop() -> None:
        nonlocal ended_by
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Host-time fallback for --seconds when no data flows at all.
        fallback_s = None if seconds is None else seconds / time_scale + policy.give_up_after_s
        # A recorder that failed (e.g. the store cannot write: disk full) ends the
        # session now instead of streaming on with nothing stored.
        while not (stop.is_set() or client_task.done() or recorder.stopped or recorder_task.done()):
            if recorder.reached_limit:
                ended_by = "seconds"
                break
            if fallback_s is not None and loop.time() - started > fallback_s:
                ended_by = "seconds"
                break
            if until is not None and until(recorder):
                ended_by = "end_of_data"
                break
            try:
                await asyncio.wait_for(stop.wait(), 0.05)
            except TimeoutError:
                pass
        client_stop.set()

    watcher = asyncio.ensure_future(watch_stop())
    status = "interrupted"
    try:
        try:
            await client_task  # returns after the client has stopped (or given up)
        except DeviceError:
            if recorder.session_id is None:
                raise  # never streamed: nothing stored
            ended_by = "error"
            raise
        await recorder_task  # drains up to the STOPPED event
        if recorder.gave_up:
            ended_by = "gave_up"
        status = "complete"
    finally:
        watcher.cancel()
        if not client_task.done():
            client_task.cancel()
        if not recorder_task.done():
            # Keep whatever is already queued, then stop consuming.
            recorder_task.cancel()
        result = recorder.finish(status, ended_by if status == "complete" else "error")
    return result
