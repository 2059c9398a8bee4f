"""The research API: read a file or arrays, analyse, plot, tabulate (``import tracker``).

>>> import tracker                                         # doctest: +SKIP
>>> rec = tracker.read("session.csv")   # our CSV, Sensor Logger / phyphox / ... exports
>>> res = tracker.analyze(rec)          # a path works too
>>> tracker.plot_session(res)           # a matplotlib Figure
>>> res.reps_frame()                    # one row per repetition (design.md columns)

Your own arrays or DataFrame, with the units in the keywords or the column names::

    rec = tracker.from_arrays(acc_g=acc, gyr_deg_s=gyr, sampling_rate_hz=100)
    rec = tracker.Recording.from_frame(df, columns={"time": "t_s", "ax": "acc_x_g", ...})
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .recording import Recording

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .signal.params import AnalysisParams
    from .signal.result import SessionAnalysis

__all__ = ["read", "analyze", "plot_session", "from_arrays"]


def read(*paths: Path | str, start: datetime | str | None = None) -> Recording:
    """The samples of a recording file: our raw CSV, or a phone/logger app export.

    Parameters
    ----------
    *paths
        A file, a folder or a zip of ONE recording (or its several files): tracker's CSV,
        Sensor Logger, phyphox, MetaBase, Physics Toolbox (:mod:`tracker.importers`).
    start : datetime or str, optional
        The session's UTC start for files that do not carry one.

    Raises
    ------
    ImportFormatError
        Naming the file, the line and what is wrong.
    """
    from .importers import read_recording

    return read_recording(*paths, start=start)


def analyze(data: Recording | Path | str, *, params: AnalysisParams | None = None) -> SessionAnalysis:
    """Analyse a recording (or a file, read with :func:`read`): repetitions, holds, spikes.

    Returns
    -------
    SessionAnalysis
        ``signals`` (per-sample angles), ``reps``, ``spikes``, ``cracks``, ``summary``;
        ``reps_frame()`` and friends give tables.
    """
    from .signal.process import process_session

    rec = data if isinstance(data, Recording) else read(data)
    return process_session(rec, params=params)


def plot_session(analysis: SessionAnalysis, **options: Any) -> Figure:
    """The session figure: angles over time, repetitions, holds, peaks, possible cracks
    (:func:`tracker.report.figures.plot_session`; ``options`` pass through)."""
    from .report.figures import plot_session as _plot

    return _plot(analysis, **options)


from_arrays = Recording.from_arrays
