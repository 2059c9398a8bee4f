"""Reports: session and progress figures, summary tables, HTML and PDF.

Reports take the sessions' data (:class:`tracker.records.StoredSession`: analysis
results, quality, self-reports), never the store, and never re-decode raw packets;
:func:`tracker.sessions.report` gathers the data from the store.
Figures are :class:`matplotlib.figure.Figure` objects built without pyplot (no global
state, no GUI backend); the caller decides whether to save or show them.

>>> from tracker import sessions                        # doctest: +SKIP
>>> files = sessions.report(store, [s.id for s in store.sessions()], "out/")  # doctest: +SKIP
>>> files.html, files.pdf                               # doctest: +SKIP
"""

from __future__ import annotations

from .figures import gaps_from_times, plot_progress, plot_session
from .norms import NormBand, Reference, reference_for
from .summaries import ReportData, collect, summarise_analysis
from .writer import ReportFiles, build_report, detail_ids, write_report

__all__ = ["plot_session", "plot_progress", "gaps_from_times", "NormBand", "Reference",
           "reference_for", "ReportData", "collect", "summarise_analysis", "ReportFiles",
           "build_report", "detail_ids", "write_report"]
