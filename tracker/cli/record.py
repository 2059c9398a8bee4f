"""``tracker record``: connect to a sensor, stream it into the store, survive the radio."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from ..quality import Quality
from ..schema import PHONE_WEARING, SAFETY_GUIDANCE
from ._common import data_dir_option, open_store

__all__ = ["record", "ProgressPrinter", "print_quality", "install_stop_signals"]


class ProgressPrinter:
    """A recorder observer that prints a status line every few seconds (stderr)."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s = every_s
        self._last = time.monotonic()
        self._samples = 0
        self._t_s = 0.0

    def on_start(self, started: Any) -> None:
        click.echo(f"recording session {started.session_id} from {started.meta.device} "
                   f"({started.profile.id}, {started.rate_hz:g} Hz); Ctrl-C to stop", err=True)

    def on_batch(self, batch: Any) -> None:
        self._samples += len(batch)
        self._t_s = float(batch.t_s[-1])
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            click.echo(f"  {self._t_s:7.1f} s  {self._samples} samples", err=True)

    def on_event(self, kind: str, t_s: float | None, data: dict[str, Any]) -> None:
        if kind == "disconnect":
            click.echo("  link lost; reconnecting…", err=True)
        elif kind == "reconnect":
            down = data.get("down_s")
            click.echo("  reconnected" + (f" after {down:.1f} s" if down is not None else ""), err=True)
        elif kind == "gave_up":
            click.echo("  the sensor did not come back; ending the session", err=True)

    def on_state(self, event: Any) -> None:
        pass

    def on_stop(self, quality: Quality) -> None:
        pass


def install_stop_signals(stop: asyncio.Event) -> None:
    """Ctrl-C (and SIGTERM) end the session cleanly instead of killing the loop.

    A second Ctrl-C falls back to the default behaviour (the store still marks the
    session interrupted and keeps what was committed).
    """
    loop = asyncio.get_running_loop()

    def handler(signum: int) -> None:
        if stop.is_set():
            loop.remove_signal_handler(signum)
            signal.raise_signal(signum)
            return
        # print, not click.echo: click writes past sys.stderr, under the live view's feet
        print("\nstopping… (Ctrl-C again to abort)", file=sys.stderr, flush=True)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, handler, signum)
        except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt path
            pass


def print_quality(result: Any) -> None:
    q: Quality = result.quality
    if result.session_id is None:
        click.echo("nothing was recorded (the sensor never streamed)")
        return
    rate = q.achieved_rate_hz
    drift = q.link.clock_drift_ppm if q.link is not None else None
    click.echo(f"session {result.session_id}: {result.status} ({result.ended_by})")
    click.echo(f"  {q.samples} samples over {q.duration_s:.1f} s, "
               f"achieved {rate if rate is None else round(rate, 1)} Hz of {q.nominal_rate_hz:g} Hz")
    click.echo(f"  lost {q.lost_samples} samples ({q.lost_pct:.2f} %), "
               f"{q.gaps} gaps, {q.reconnects} reconnects"
               + (f", clock drift {drift:+.0f} ppm" if drift is not None else ""))


def _web_option(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    from ..errors import ValidationError
    from ..web import parse_bind

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:  # the `web` extra
        raise click.UsageError(f"--web needs the web extra: pip install -e '.[web]' ({exc.name} is missing)") from None
    try:
        return parse_bind(value)
    except ValidationError as exc:
        raise click.BadParameter(str(exc).removeprefix(f"--web {value!r}: "), ctx, param) from None


@click.command("record")
@click.option("--device", "target", default=None, metavar="ADDR|NAME",
              help="Address or advertised name (default: the first recognised sensor).")
@click.option("--profile", "profile_id", default=None,
              help="Device profile (default: recognised from the advertisement).")
@click.option("--rate", "rate_hz", type=click.FloatRange(1, 2000), default=None,
              help="Sample rate in Hz (rounded to what the device supports; default: the profile's).")
@click.option("--seconds", type=click.FloatRange(0.1, 24 * 3600), default=None,
              help="Stop after this much data (default: until Ctrl-C).")
@click.option("--notes", default="", help="Free notes stored with the session.")
@click.option("--give-up", "give_up_s", type=click.FloatRange(1, 3600), default=120.0, show_default=True,
              help="End the session if the sensor stays away this long.")
@click.option("--scan-seconds", type=click.FloatRange(0.5, 120), default=10.0, show_default=True,
              help="How long to look for the device.")
@click.option("--virtual", is_flag=True,
              help="Record a simulated session from an emulated tag over a virtual BLE link (no hardware).")
@click.option("--virtual-profile", type=click.Choice(["tracker-imu", "witmotion"]), default="tracker-imu",
              show_default=True, help="GATT profile the virtual tag speaks.")
@click.option("--speed", type=click.FloatRange(0.1, 100), default=1.0, show_default=True,
              help="Virtual tag clock vs real time (10 = ten times faster).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulated session (--virtual).")
@click.option("--guided", is_flag=True,
              help="Walk through the routine step by step (what to do, which side, how long to hold).")
@click.option("--no-prompt", is_flag=True, help="Ask nothing (no pain scores, no keys): for scripts.")
@click.option("--plain", is_flag=True, default=None,
              help="Plain progress lines instead of the live view (automatic when not on a terminal).")
@click.option("--web", "web", default=None, metavar="[HOST:]PORT", callback=_web_option,
              help="Also show the session as a web page (big type, sound; for a laptop or a phone). "
                   "Listens on 127.0.0.1 unless a host is given (0.0.0.0: your network); "
                   "the printed address carries a secret token.")
@click.option("--quiet", is_flag=True, help="No sound: no terminal bell, the web page starts muted.")
@click.option("--phyphox", "phyphox_url", default=None, metavar="http://PHONE:8080",
              help="Record from a phone running phyphox with remote access on (a simple experiment "
                   "with Accelerometer and Gyroscope; the address phyphox shows).")
@click.option("--sensor-logger", "sensor_logger", default=None, metavar="[HOST:]PORT",
              help="Receive Sensor Logger's HTTP push; prints the URL (with a secret token) to type "
                   "into the app. Listens on 127.0.0.1 unless a host is given (0.0.0.0: your network, "
                   "needed for a phone).")
@click.option("--phone-frame", type=click.Choice(["auto", "android", "ios"]), default="auto",
              show_default=True,
              help="Sensor Logger sign convention: ios = iPhone without 'Standardise Units & Frames' "
                   "(acceleration negated); auto = judged from gravity, top of the phone up.")
@data_dir_option
def record(target: str | None, profile_id: str | None, rate_hz: float | None, seconds: float | None,
           notes: str, give_up_s: float, scan_seconds: float, virtual: bool, virtual_profile: str,
           speed: float, seed: int, guided: bool, no_prompt: bool, plain: bool | None,
           web: tuple[str, int] | None, quiet: bool, phyphox_url: str | None, sensor_logger: str | None,
           phone_frame: str, data_dir: Path | None) -> None:
    """Record a session from a BLE sensor into the store.

    Every sample is stored as it arrives (committed at least every 0.5 s). If the
    link drops, tracker reconnects and records the gap; Ctrl-C ends the session
    cleanly. Then `tracker show latest` prints its data quality.

    While recording, a live view shows the link, the angles, the exercise, side and
    repetitions, the hold timer and alerts (possible crack, fast or jerky movement,
    beyond your usual range). Pain 0–10 is asked before and after (Enter skips);
    press p during the session if it hurts.

    With --web PORT the same view is also a web page, with big type and sound cues,
    to follow from the floor on a laptop or a phone; pain can be answered there.

    From a phone: --phyphox http://PHONE:8080 polls phyphox's remote access;
    --sensor-logger 0.0.0.0:8000 receives Sensor Logger's HTTP push (firmware-notes/phone.md).

    Examples: tracker record --seconds 300 ; tracker record --device WT901BLE68 --rate 100 ;
    tracker record --virtual --speed 10 ; tracker record --guided --web 8765 ;
    tracker record --phyphox http://192.168.1.20:8080 ; tracker record --sensor-logger 0.0.0.0:8000
    """
    if sum(map(bool, (phyphox_url, sensor_logger, virtual or target or profile_id))) > 1:
        raise click.UsageError("choose one source: a BLE sensor, --virtual, --phyphox or --sensor-logger")
    phone = bool(phyphox_url) or sensor_logger is not None
    if sensor_logger is not None:
        from ..phone import parse_listen_address, require_server

        # a bad address or a missing extra fails before any question is asked
        parse_listen_address(sensor_logger)
        require_server()
    from ..ble.client import ReconnectPolicy
    from ..live.run import LiveRun

    store = open_store(data_dir)
    policy = ReconnectPolicy(give_up_after_s=give_up_s)
    click.echo(SAFETY_GUIDANCE, err=True)
    if phone:
        click.echo(PHONE_WEARING, err=True)
    live = LiveRun(store, guided=guided, no_prompt=no_prompt, plain=plain, web=web, quiet=quiet)
    if not live.before():
        return

    async def run_real(stop: asyncio.Event, observers: list[Any]) -> Any:
        from ..ble.client import find_device, profile_by_id
        from ..ble.recorder import record_session

        click.echo("looking for " + (target or "a recognised sensor") + "…", err=True)
        device = await find_device(target, profile_id=profile_id, timeout_s=scan_seconds)
        pid = profile_id or device.profile_id
        if pid is None:
            from ..errors import DeviceError

            raise DeviceError(f"{device.label} is not a recognised sensor; pass --profile "
                              "(see `tracker scan` for what it offers)")
        profile = profile_by_id(pid)
        store.remember_device(device.address, device.name, profile.id)
        return await record_session(
            store, device=device, profile=profile, rate_hz=rate_hz or profile.default_rate_hz,
            seconds=seconds, stop=stop, observers=observers, notes=notes, policy=policy,
        )

    async def run_virtual(stop: asyncio.Event, observers: list[Any]) -> Any:
        from ..ble.emulated import quiet_bumble_logging, record_virtual
        from ..simulate import SensorModel, simulate_session
        from ..simulate._witnesses import simulate_snippets

        quiet_bumble_logging()
        if virtual_profile == "witmotion" and speed > 4:
            # No timestamps in WitMotion packets: gaps are judged from arrival times, and a
            # sped-up clock magnifies host scheduling jitter into false gaps.
            click.echo(f"note: WitMotion gaps are detected from arrival times; at {speed:g}× real time "
                       "host jitter can look like lost samples (use --speed 4 or less)", err=True)
        rate = rate_hz or 100.0
        # The link models its own losses: a simulated sensor without packet drops.
        sensor = dataclasses.replace(SensorModel(), drop_prob=0.0)
        more = more_windows = None
        snippets: list[Any] = []
        tag_snippets = virtual_profile == "tracker-imu"  # its kHz impulse windows around pops and knocks
        if live.guided is not None:
            # the simulated person does the guide's routine, step by step, as the guide shows it
            from ..live.guided_person import GuidedPerson, following_routine

            bend = any(s.kind == "calibrate_bend" for s in live.guided.steps)
            sim = simulate_session(seed=seed, rate_hz=rate, sensor=sensor, with_mag=True,
                                   routine=following_routine(live.routine, calibration_bend=bend))
            person = GuidedPerson(sim, live.guided, skip=live.skip_step, speed=speed,
                                  impulse_windows=simulate_snippets(sim, seed=seed) if tag_snippets else ())
            first, more = person.first, person.more
            snippets, more_windows = person.piece_windows, (lambda: person.piece_windows)
            what = f"a simulated person following the guide ({len(live.guided.steps)} steps)"
        else:
            minutes = None if seconds is None else max(seconds / 60.0 + 0.1, 0.5)
            sim = simulate_session(seed=seed, rate_hz=rate, minutes=minutes, sensor=sensor,
                                   with_mag=True)  # both virtual tags have a magnetometer
            first = sim.recording
            if tag_snippets:
                snippets = simulate_snippets(sim, seed=seed)
            what = f"a simulated session ({sim.recording.duration_s:.0f} s"
            what += f" at {rate:g} Hz)"
        click.echo(f"virtual {virtual_profile} tag streaming {what}, {speed:g}× real time", err=True)
        run = await record_virtual(store, first, profile=virtual_profile, rate_hz=rate,
                                   speed=speed, seconds=seconds, stop=stop, observers=observers,
                                   notes=notes or "virtual tag (simulated data)", policy=policy, more=more,
                                   impulse_windows=snippets, more_windows=more_windows)
        return run.result

    async def run_phone(stop: asyncio.Event, observers: list[Any]) -> Any:
        from ..ble.recorder import record_session
        from ..phone import PhyphoxSource, SensorLoggerSource
        from ..profiles.phone import PHYPHOX, sensor_logger_profile

        rate = rate_hz or 100.0
        if phyphox_url:
            label = f"phyphox {phyphox_url}"
            click.echo(f"connecting to phyphox at {phyphox_url}…", err=True)
            return await record_session(
                store, device=label, profile=PHYPHOX, rate_hz=rate, seconds=seconds, stop=stop,
                observers=observers, notes=notes, policy=policy,
                source=lambda q: PhyphoxSource(phyphox_url, q, policy=policy))
        assert sensor_logger is not None
        holder: dict[str, SensorLoggerSource] = {}

        def make(q: asyncio.Queue) -> SensorLoggerSource:
            src = holder["src"] = SensorLoggerSource(sensor_logger, q, policy=policy)

            async def announce() -> None:
                await src.ready.wait()
                click.echo(f"Sensor Logger → Settings → Data Streaming → HTTP Push, URL:\n  {src.url}", err=True)
                if src.host in ("127.0.0.1", "localhost", "::1"):
                    click.echo("  (listening on this computer only: for a phone use "
                               "--sensor-logger 0.0.0.0:PORT)", err=True)
            asyncio.ensure_future(announce())
            return src

        negate = {"auto": None, "android": False, "ios": True}[phone_frame]
        result = await record_session(
            store, device="phone (Sensor Logger)", profile=sensor_logger_profile(negate), rate_hz=rate,
            seconds=seconds, stop=stop, observers=observers, notes=notes, policy=policy, source=make)
        src = holder.get("src")
        if src is not None and (src.unknown_sensors or any(k not in ("stored", "empty") for k in src.counts)):
            click.echo(f"  push requests: {src.summary()}", err=True)
        return result

    async def main() -> Any:
        stop = asyncio.Event()
        install_stop_signals(stop)
        async with live.running(stop) as observers:
            if phone:
                return await run_phone(stop, observers)
            return await (run_virtual if virtual else run_real)(stop, observers)

    result = asyncio.run(main())
    print_quality(result)
    live.after(result)
    if result.session_id is not None:
        click.echo(f"next: tracker show {result.session_id}   |   tracker analyze {result.session_id}")
    sys.stdout.flush()
