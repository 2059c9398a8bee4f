"""Device profiles: a pure layer between notification bytes and samples in SI units.

No bleak, no asyncio. The BLE client (``tracker.ble``):

1. finds the profile with :func:`identify` (unknown devices: :func:`describe_device`);
2. subscribes to every ``profile.notify_uuids`` (in order), then sends
   ``profile.start_commands(rate_hz)`` (honouring each ``Write.delay_s``), and, if
   ``profile.poll_interval_s`` is set, ``profile.poll_commands()`` that often;
3. feeds every notification to one ``profile.make_decoder(rate_hz)``: ``feed(uuid,
   data, host_time_s)`` returns a :class:`SampleBatch` or None, or raises
   :class:`~tracker.errors.DecodeError` (count and skip); ``reset_link()`` after a
   reconnect; ``flush()`` once at the end for samples still held;
4. sends ``profile.stop_commands()`` and unsubscribes.

Byte formats, UUIDs and per-profile timing are in ``firmware-notes/gatt-profile.md``.

Examples
--------
>>> from tracker.profiles import identify, get_profile
>>> identify("WT901BLE68", []).id
'witmotion'
>>> p = get_profile("tracker-imu")
>>> p.actual_rate_hz(150)
200.0
"""

from __future__ import annotations

from ..errors import DecodeError
from . import microbit, polar, sensortag, thingy52, tracker_imu, witmotion
from ._base import Decoder, Profile, SampleBatch, Write, norm_uuid, uuid16
from ._describe import describe_device, service_name

__all__ = [
    "PROFILES",
    "DecodeError",
    "Decoder",
    "Profile",
    "SampleBatch",
    "Write",
    "describe_device",
    "get_profile",
    "identify",
    "norm_uuid",
    "service_name",
    "uuid16",
]

PROFILES: dict[str, Profile] = {
    p.id: p
    for p in (
        tracker_imu.PROFILE,
        witmotion.PROFILE,
        thingy52.PROFILE,
        polar.H10,
        polar.VERITY,
        sensortag.PROFILE,
        microbit.PROFILE,
    )
}


def get_profile(profile_id: str) -> Profile:
    """Return the profile with this id; raises KeyError naming the known ids."""
    try:
        return PROFILES[profile_id]
    except KeyError:
        raise KeyError(f"unknown device profile {profile_id!r}; known: {', '.join(PROFILES)}") from None


def identify(name: str | None, service_uuids: list[str]) -> Profile | None:
    """Which profile an advertisement (or a connected device's service list) belongs to.

    Service UUIDs win over names (our own service UUID is unique); among name
    matches the first profile in :data:`PROFILES` order wins. Returns None for an
    unknown device: use :func:`describe_device` to tell the person what it offers.

    Parameters
    ----------
    name : str or None
        Advertised local name.
    service_uuids : list of str
        Advertised (or discovered) service UUIDs, any spelling.
    """
    uuids = {norm_uuid(u) for u in service_uuids or []}
    for p in PROFILES.values():
        if uuids & {norm_uuid(u) for u in p.advertised_uuids}:
            return p
    # Polar devices are told apart by name only (both carry the PMD service).
    for p in PROFILES.values():
        if p.matches(name, []):
            return p
    if norm_uuid(polar.SERVICE_UUID) in uuids:
        return PROFILES["polar-h10"] if not name or "sense" not in name.lower() else PROFILES["polar-verity"]
    return None
