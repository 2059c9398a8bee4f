"""Exception tree: every error a user can cause is a :class:`TrackerError`.

The CLI prints ``str(error)`` as one line and exits 1; anything else is a bug.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base of all errors the tool reports to a person."""


class ValidationError(TrackerError, ValueError):
    """Samples or parameters that break the recording model (what and where)."""


class ImportFormatError(TrackerError):
    """A file that cannot be imported; the message names file, line and problem."""


class StoreError(TrackerError):
    """The session store cannot do what was asked (missing session, corrupt file, disk full)."""


class DecodeError(TrackerError):
    """A notification payload that a device profile cannot decode; callers count and skip it."""


class DeviceError(TrackerError):
    """A BLE device could not be found, connected or configured."""


class TrackerWarning(UserWarning):
    """Something is doubtful in the data but the result is still usable."""
