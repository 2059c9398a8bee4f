"""Live phone sources over HTTP: phyphox remote access (polled) and Sensor Logger push.

Each source is what :func:`tracker.ble.recorder.record_session` calls a source: its
``run(stop)`` puts ``(host_time_s, channel, bytes)`` items and link events on the
recorder's queue, and the pure decoders of :mod:`tracker.profiles.phone` turn the
bytes into samples. Store writer, gap and data-quality handling, live view,
``--guided``, ``--seconds`` and Ctrl-C are the BLE recording's own.
"""

from __future__ import annotations

from .phyphox import PhyphoxSource, parse_phyphox_url
from .sensor_logger import SensorLoggerSource, parse_listen_address, require_server

__all__ = ["PhyphoxSource", "SensorLoggerSource", "parse_phyphox_url", "parse_listen_address", "require_server"]
