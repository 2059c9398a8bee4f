"""``tracker scan``: nearby BLE devices with the recognised profile (or what they offer)."""

from __future__ import annotations

import asyncio

import click

from ._common import echo_json

__all__ = ["scan"]


@click.command("scan")
@click.option("--seconds", "seconds", type=click.FloatRange(0.5, 120), default=5.0, show_default=True,
              help="How long to listen for advertisements.")
@click.option("--all", "show_all", is_flag=True, help="Also list devices that advertise no name.")
@click.option("--virtual", is_flag=True,
              help="Scan the emulated radio with a virtual tag on it (no hardware; needs tracker[demo]).")
@click.option("--virtual-profile", type=click.Choice(["tracker-imu", "witmotion"]), default="tracker-imu",
              show_default=True, help="Profile the virtual tag speaks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def scan(seconds: float, show_all: bool, virtual: bool, virtual_profile: str, as_json: bool) -> None:
    """List nearby BLE devices: name, address, RSSI and the recognised sensor profile.

    Unknown devices are listed with the services they advertise, so you can tell
    whether they are motion sensors at all.

    Example: tracker scan --seconds 10
    """
    from ..ble.client import scan as ble_scan
    from ..profiles import service_name

    async def run() -> list:
        if not virtual:
            return await ble_scan(seconds)
        from ..ble.client import virtual_backend
        from ..ble.emulated import quiet_bumble_logging

        backend = virtual_backend()
        quiet_bumble_logging()
        import numpy as np

        from ..ble.bumble_backend import BumbleWorld
        from ..ble.virtual_tag import VirtualTag
        from ..recording import Recording
        from ..schema import STANDARD_GRAVITY_M_S2

        world = await BumbleWorld.get()
        still = np.tile([0.0, 0.0, STANDARD_GRAVITY_M_S2], (101, 1))  # a tag lying still, 1 s
        tag = VirtualTag(Recording(np.arange(101) / 100.0, still, np.zeros((101, 3))),
                         profile=virtual_profile)
        try:
            await tag.start()
            return await ble_scan(seconds, backend=backend)
        finally:
            await tag.stop()
            await world.close()

    found = asyncio.run(run())
    if not show_all:
        found = [d for d in found if d.name or d.profile_id]
    if as_json:
        echo_json([{"name": d.name, "address": d.address, "rssi_dbm": d.rssi, "profile": d.profile_id,
                    "service_uuids": list(d.service_uuids)} for d in found])
        return
    if not found:
        click.echo(f"no devices found in {seconds:g} s (is the sensor on, and not connected to another app?)")
        return
    click.echo(f"{'name':<24} {'address':<20} {'rssi':>5}  profile")
    for d in found:
        offers = ", ".join(service_name(u) for u in d.service_uuids) or "no services advertised"
        what = d.profile_id or f"unknown ({offers})"
        click.echo(f"{(d.name or '(no name)')[:24]:<24} {d.address:<20} {d.rssi:>5}  {what}")
    n_known = sum(1 for d in found if d.profile_id)
    if n_known:
        click.echo(f"{n_known} recognised sensor(s); record with: tracker record --device ADDRESS")
