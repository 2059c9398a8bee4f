"""Human-readable description of a device whose profile is unknown."""

from __future__ import annotations

from ._base import BT_BASE_SUFFIX, norm_uuid

__all__ = ["describe_device", "service_name"]

#: Bluetooth SIG services a person is likely to meet (assigned numbers).
SIG_SERVICES = {
    0x1800: "Generic Access", 0x1801: "Generic Attribute", 0x180A: "Device Information",
    0x180D: "Heart Rate", 0x180F: "Battery", 0x1810: "Blood Pressure", 0x1812: "Human Interface Device",
    0x1814: "Running Speed and Cadence", 0x1816: "Cycling Speed and Cadence", 0x1818: "Cycling Power",
    0x181A: "Environmental Sensing", 0x181C: "User Data", 0x1826: "Fitness Machine",
    0xFE59: "Nordic DFU", 0xFEE0: "Xiaomi/Amazfit (vendor)", 0xFD6F: "Exposure Notification",
}
#: Vendor 128-bit services we recognise but do not decode.
VENDOR_SERVICES = {
    "6e400001-b5a3-f393-e0a9-e50e24dcca9e": "Nordic UART",
    "34802252-7185-4d5d-b431-630e7050e8f0": "Movesense GATT SensorData (not supported yet)",
    "326a9000-85cb-9195-d9dd-464cfbbae75a": "MbientLab MetaWear (not supported)",
    "49535343-fe7d-4ae5-8fa9-9fafd205e455": "Microchip transparent UART",
}


def service_name(uuid: str) -> str:
    """Name of a service UUID: a supported profile, a SIG service, a known vendor, or "unknown"."""
    from . import PROFILES  # late import: avoids a cycle

    u = norm_uuid(uuid)
    for p in PROFILES.values():
        if u == p.service_uuid or u in (norm_uuid(a) for a in p.advertised_uuids):
            return f"{p.display_name} ({p.id})"
    if u.endswith(BT_BASE_SUFFIX) and u.startswith("0000"):
        short = int(u[4:8], 16)
        return SIG_SERVICES.get(short, f"SIG service 0x{short:04X}")
    return VENDOR_SERVICES.get(u, "unknown vendor service")


def describe_device(name: str | None, service_uuids: list[str]) -> str:
    """One paragraph telling a person what an unrecognised device offers.

    Examples
    --------
    >>> print(describe_device("HRM-Pro", ["180d", "180f"]))
    Unknown device 'HRM-Pro': no supported motion profile. Services:
      0000180d-0000-1000-8000-00805f9b34fb  Heart Rate
      0000180f-0000-1000-8000-00805f9b34fb  Battery
    """
    from . import identify

    p = identify(name, service_uuids)
    label = repr(name) if name else "(no name)"
    if p is not None:
        head = f"Device {label}: recognised as {p.display_name} (profile {p.id})."
    else:
        head = f"Unknown device {label}: no supported motion profile."
    uuids = sorted({norm_uuid(u) for u in service_uuids or []})
    if not uuids:
        return head + " It advertised no services; connect to list them."
    lines = [head + " Services:"] + [f"  {u}  {service_name(u)}" for u in uuids]
    return "\n".join(lines)
