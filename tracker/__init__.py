"""tracker: record, analyse and chart lower-back stretching sessions from one IMU."""

from .errors import TrackerError, ValidationError
from .recording import Recording, RecordingMeta

__version__ = "0.1.0"
__all__ = ["Recording", "RecordingMeta", "TrackerError", "ValidationError", "__version__"]
