"""tracker: record, analyse and chart lower-back stretching sessions from one IMU.

The research API (:mod:`tracker.api`)::

    import tracker
    rec = tracker.read("session.csv")      # any supported file
    res = tracker.analyze(rec)             # or tracker.analyze("session.csv")
    fig = tracker.plot_session(res)
    reps = res.reps_frame()
    rec = tracker.from_arrays(acc_m_s2=acc, gyr_rad_s=gyr, t_s=t)

Everything heavier than numpy is imported on first use, so ``import tracker`` is quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import TrackerError, ValidationError
from .recording import Recording, RecordingMeta

if TYPE_CHECKING:
    from .api import analyze, from_arrays, plot_session, read
    from .signal.params import AnalysisParams
    from .signal.result import SessionAnalysis

__version__ = "0.1.0"
__all__ = ["read", "analyze", "plot_session", "from_arrays", "Recording", "RecordingMeta",
           "SessionAnalysis", "AnalysisParams", "TrackerError", "ValidationError", "__version__"]

_LAZY = {
    "read": "api", "analyze": "api", "plot_session": "api", "from_arrays": "api",
    "SessionAnalysis": "signal.result", "AnalysisParams": "signal.params",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
