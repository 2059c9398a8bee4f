"""The report as a PDF (matplotlib's PdfPages; no extra dependency).

Text and tables flow over A4 pages; each figure gets its own page at its own size.
Tables are drawn as one multi-line text per column (not one artist per cell), so a
year of sessions still renders in about a second.
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .content import Report
from .tables import Table

__all__ = ["render_pdf"]

_A4 = (8.27, 11.69)
#: Session rows printed per table; longer reports print the latest and point to the HTML.
PDF_MAX_SESSION_ROWS = 60
_MARGIN = 0.6
_EM = 0.6  # character width as a fraction of the font size (DejaVu Sans digits are 0.64)


class _Flow:
    """Places headings, paragraphs, boxes and tables top to bottom over A4 pages."""

    def __init__(self, pdf: PdfPages, footer: str) -> None:
        self.pdf = pdf
        self.footer = footer
        self.fig: Figure | None = None
        self.y = 0.0  # inches from the top
        self.pages = 0

    # ---------------------------------------------------------------- pages
    @property
    def width(self) -> float:
        return _A4[0] - 2 * _MARGIN

    def _new_page(self) -> Figure:
        self.finish()
        self.fig = Figure(figsize=_A4)
        self.y = _MARGIN
        return self.fig

    def finish(self) -> None:
        if self.fig is not None:
            self.pages += 1
            self.fig.text(0.5, 0.25 / _A4[1], f"{self.footer} · page {self.pages}", ha="center",
                          fontsize=7, color="#777777")
            self.pdf.savefig(self.fig)
            self.fig = None

    def _room(self, h: float) -> Figure:
        if self.fig is None or self.y + h > _A4[1] - _MARGIN:
            return self._new_page()
        return self.fig

    def _fy(self, y_in: float) -> float:
        return 1.0 - y_in / _A4[1]

    def _fx(self, x_in: float) -> float:
        return x_in / _A4[0]

    # -------------------------------------------------------------- blocks
    def heading(self, text: str, size: float = 13.0) -> None:
        fig = self._room(size / 72 * 2.6 + 0.6)  # keep a heading with what follows
        self.y += size / 72 * 0.9
        fig.text(self._fx(_MARGIN), self._fy(self.y), text, fontsize=size, fontweight="bold",
                 va="top")
        self.y += size / 72 * 1.6

    def paragraph(self, text: str, size: float = 9.0, color: str = "#222222",
                  indent: float = 0.0) -> None:
        chars = int((self.width - indent) / (_EM * size / 72))
        for line in textwrap.wrap(text, chars) or [""]:
            fig = self._room(size / 72 * 1.45)
            fig.text(self._fx(_MARGIN + indent), self._fy(self.y), line, fontsize=size, va="top",
                     color=color)
            self.y += size / 72 * 1.45
        self.y += size / 72 * 0.5

    def box(self, title: str, paragraphs: list[str], edge: str, face: str, size: float = 9.0) -> None:
        chars = int((self.width - 0.3) / (_EM * size / 72))
        lines = [title] + [ln for p in paragraphs for ln in (textwrap.wrap(p, chars) + [""])]
        line_h = size / 72 * 1.45
        h = line_h * len(lines) + 0.15
        fig = self._room(h)
        fig.patches.append(Rectangle((self._fx(_MARGIN), self._fy(self.y + h)), self.width / _A4[0],
                                     h / _A4[1], transform=fig.transFigure, facecolor=face,
                                     edgecolor=edge, lw=1.5))
        y = self.y + 0.1
        for k, line in enumerate(lines):
            fig.text(self._fx(_MARGIN + 0.15), self._fy(y), line, fontsize=size, va="top",
                     fontweight="bold" if k == 0 else "normal")
            y += line_h
        self.y += h + 0.15

    def table(self, table: Table, size: float = 7.5) -> None:
        """A table that continues over pages (header repeated). Long headers wrap; a
        table still too wide gets a smaller font (down to 6.5 pt), then its free-text
        column (``table.cut_col``) is cut short with an ellipsis."""
        self.heading(table.title, 11.0)
        cols = len(table.columns)
        pad = 0.14
        cell_chars = [max([len(r[j]) for r in table.rows] + [1]) for j in range(cols)]
        # Headers wrap, but not into a tower of one-word lines.
        word_chars = [max([len(w) for w in table.columns[j].split()] + [min(len(table.columns[j]), 8)])
                      for j in range(cols)]
        chars = [max(c, w) for c, w in zip(cell_chars, word_chars)]
        # Too wide: a slightly smaller font first, then cut the free-text column short.
        while True:
            char_in = _EM * size / 72
            room = int((self.width - pad * cols) / char_in) - sum(chars)
            if room >= 0:
                break
            if size > 6.5:
                size -= 0.5
                continue
            cut = table.cut_col
            if cut is not None:
                chars[cut] = max(chars[cut] + room, word_chars[cut], 12)
            break
        widths = [c * char_in + pad for c in chars]
        headers = [textwrap.wrap(table.columns[j], max(chars[j], 1)) or [""] for j in range(cols)]
        n_head = max(len(h) for h in headers)
        line_h = size / 72 * 1.5  # matches linespacing=1.5 below (pitch = linespacing × size)
        rows = list(zip(table.rows, table.flags))
        start = 0
        while True:
            fig = self._room(line_h * (n_head + 2))
            fit = max(int((_A4[1] - _MARGIN - self.y) / line_h) - n_head, 1)
            chunk = rows[start:start + fit]
            top = self.y
            body_top = top + line_h * n_head
            fig.patches.append(Rectangle((self._fx(_MARGIN), self._fy(body_top)),
                                         self.width / _A4[0], line_h * n_head / _A4[1],
                                         transform=fig.transFigure, facecolor="#eeeeee", lw=0))
            for k, (_, flag) in enumerate(chunk):
                if flag:
                    fig.patches.append(Rectangle(
                        (self._fx(_MARGIN), self._fy(body_top + line_h * (k + 1))),
                        self.width / _A4[0], line_h / _A4[1], transform=fig.transFigure,
                        facecolor="#fde3df", lw=0))
            x = _MARGIN
            for j in range(cols):
                right = table.numeric[j]
                xx = x + widths[j] - pad / 2 if right else x + pad / 2
                kw: dict[str, Any] = dict(fontsize=size, ha="right" if right else "left",
                                          multialignment="right" if right else "left", linespacing=1.5)
                fig.text(self._fx(xx), self._fy(body_top - 0.02), "\n".join(headers[j]),
                         va="bottom", color="#333333", **kw)
                if chunk:
                    fig.text(self._fx(xx), self._fy(body_top + 0.02),
                             "\n".join(_clip(r[j], chars[j]) for r, _ in chunk), va="top", **kw)
                x += widths[j]
            self.y = body_top + line_h * len(chunk) + 0.08
            start += len(chunk)
            if not rows:
                self.paragraph("nothing to show", 8.0, "#666666")
            if start >= len(rows):
                break
            self._new_page()
        if table.note:
            self.paragraph(table.note, 7.5, "#555555")
        self.y += 0.1

    def figure(self, fig: Figure) -> None:
        """A figure on its own page at its own size (the figure is not modified)."""
        self.finish()
        self.pages += 1
        self.pdf.savefig(fig)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(n - 1, 1)] + "…"


def render_pdf(report: Report, path: Path) -> int:
    """Write the report as a PDF; returns the number of pages."""
    meta = {"Title": report.title, "Subject": "Stretching sessions report",
            "Creator": f"tracker {report.version}".strip(), "CreationDate": report.generated_at}
    if not isinstance(meta["CreationDate"], datetime):
        meta.pop("CreationDate")
    with PdfPages(path, metadata=meta) as pdf:
        flow = _Flow(pdf, report.title)
        flow._new_page()
        flow.heading(report.title, 16.0)
        flow.paragraph(report.subtitle, 9.5, "#555555")
        flow.box("Safety first.", list(report.safety), edge="#e0a800", face="#fff7e0")
        if report.attention:
            flow.box("Worth a look", [f"• {n}" for n in report.attention], edge="#c0002a",
                     face="#fdecea")
        flow.table(report.overview)
        if report.progress_note:
            flow.paragraph(report.progress_note, 8.5, "#555555")
        if report.progress is not None:
            flow.figure(report.progress)
        for d in report.details:
            flow.figure(d.figure)
            flow._new_page()
            flow.heading(f"Session {d.session_id}")
            if d.notes:
                flow.paragraph(f"Notes: {d.notes}", 8.5)
            flow.table(d.reps)
        flow._new_page()
        # Paper gets the recent sessions and the quality problems; the HTML has every row.
        flow.table(report.sessions.latest(PDF_MAX_SESSION_ROWS))
        many = len(report.quality) > PDF_MAX_SESSION_ROWS
        flow.table(report.quality.latest(PDF_MAX_SESSION_ROWS, flagged_only=many))
        flow.heading("About these measurements", 13.0)
        for p in report.about:
            flow.paragraph(p, 8.5)
        flow.heading("References", 11.0)
        for k, r in enumerate(report.references, 1):
            flow.paragraph(f"{k}. {r}", 8.0)
        flow.finish()
        return flow.pages
