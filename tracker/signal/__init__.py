"""Signal analysis: raw samples -> orientation, angles, repetitions, spikes and cracks.

Pure functions on arrays (no I/O); :func:`process_session` composes them into a
:class:`~tracker.signal.result.SessionAnalysis`; the live view's causal twin is
:class:`tracker.live.analyzer.LiveAnalyzer`, built from the same pieces. Heavy modules are imported on first use so that ``import
tracker.signal.result`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .result import ANALYSIS_VERSION, Crack, Rep, SessionAnalysis, Spike

if TYPE_CHECKING:  # pragma: no cover
    from .params import AnalysisParams, CalibrationParams, OrientationParams, RepParams
    from .process import process_session

__all__ = [
    "process_session", "AnalysisParams", "OrientationParams",
    "CalibrationParams", "RepParams", "SessionAnalysis", "Rep", "Spike", "Crack",
    "ANALYSIS_VERSION",
]

_LAZY = {
    "process_session": "process",
    "AnalysisParams": "params", "OrientationParams": "params", "CalibrationParams": "params",
    "RepParams": "params",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
