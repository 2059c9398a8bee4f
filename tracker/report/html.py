"""Self-contained HTML: figures embedded as base64 PNG, no external references.

The page opens in any browser without network access: one file, inline CSS, no
scripts, no fonts, no links out. Every piece of text is escaped. The markup is
XHTML-compatible (void elements closed), so an XML parser can check it is well formed.
"""

from __future__ import annotations

import base64
import io
from html import escape

from matplotlib.figure import Figure

from .content import Report
from .tables import Table

__all__ = ["render_html", "figure_png", "figure_data_uri"]

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0 auto; max-width: 1320px; padding: 1.2rem 1.5rem 3rem; color: #1b1b1b;
       line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
.sub { color: #555; margin: 0 0 1rem; }
.safety { background: #fff7e0; border: 2px solid #e0a800; border-radius: 6px;
          padding: .6rem 1rem; margin: 1rem 0; }
.safety p { margin: .3rem 0; }
.safety strong { color: #7a5200; }
.attention { background: #fdecea; border-left: 5px solid #c0002a; padding: .5rem 1rem; margin: 1rem 0; }
.attention li { margin: .2rem 0; }
figure { margin: .8rem 0 1.2rem; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9rem; }
table { border-collapse: collapse; font-size: .9rem; margin: .4rem 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .25rem .6rem; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flag td { background: #fff1ef; }
.note { color: #555; font-size: .85rem; margin: .2rem 0 .8rem; }
.scroll { max-height: 32rem; overflow: auto; }
footer { margin-top: 2.5rem; color: #666; font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; }
  .scroll { max-height: none; overflow: visible; }
  figure, table, .safety { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""


def figure_png(fig: Figure, dpi: float = 100.0) -> bytes:
    """PNG bytes of a figure (white background, for screens and print)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white",
                metadata={"Software": None})  # no version string: reproducible bytes
    return buf.getvalue()


def figure_data_uri(fig: Figure, dpi: float = 100.0, png: bytes | None = None) -> str:
    data = png if png is not None else figure_png(fig, dpi)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _table(table: Table, *, scroll: bool = False) -> str:
    head = "".join(f'<th class="num">{escape(c)}</th>' if num else f"<th>{escape(c)}</th>"
                   for c, num in zip(table.columns, table.numeric))
    body = []
    for row, flag in zip(table.rows, table.flags):
        cells = "".join(f'<td class="num">{escape(v)}</td>' if num else f"<td>{escape(v)}</td>"
                        for v, num in zip(row, table.numeric))
        body.append(f'<tr class="flag">{cells}</tr>' if flag else f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(table.columns)}">nothing to show</td></tr>')
    html = (f'<table id="{escape(table.gid or "table")}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
    if scroll and len(table.rows) > 25:
        html = f'<div class="scroll">{html}</div>'
    if table.note:
        html += f'<p class="note">{escape(table.note)}</p>'
    return html


def _figure(uri: str, alt: str, caption: str, fig_id: str) -> str:
    return (f'<figure id="{escape(fig_id)}"><img src="{uri}" alt="{escape(alt)}" />'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def render_html(report: Report, *, images: dict[str, str] | None = None, dpi: float = 100.0) -> str:
    """The whole report as one HTML string.

    Parameters
    ----------
    report : Report
    images : dict, optional
        Ready ``data:`` URIs keyed ``"progress"`` and ``"session:<id>"`` (rendered here
        when missing).
    dpi : float
        Resolution of figures rendered here.
    """
    images = dict(images or {})
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8" />',
        '<meta name="viewport" content="width=device-width, initial-scale=1" />',
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="sub">{escape(report.subtitle)}</p>',
        '<section class="safety" id="safety"><p><strong>Safety first.</strong></p>',
        *(f"<p>{escape(p)}</p>" for p in report.safety),
        "</section>",
    ]
    if report.attention:
        parts.append('<section class="attention" id="attention"><p><strong>Worth a look</strong></p><ul>')
        parts += [f"<li>{escape(n)}</li>" for n in report.attention]
        parts.append("</ul></section>")

    parts.append('<h2 id="overview-title">Overview</h2>')
    parts.append(_table(report.overview))

    parts.append('<h2 id="progress-title">Progress</h2>')
    if report.progress is not None:
        uri = images.get("progress") or figure_data_uri(report.progress, dpi)
        parts.append(_figure(uri, "Progress charts: peak angle, hold, repetitions and possible "
                                  "cracks per session for each exercise and side, with pain "
                                  "before and after.",
                             "Each row is one exercise and side; dots are sessions. "
                             "Sources of the shaded bands are listed under References.",
                             "fig-progress"))
    if report.progress_note:
        parts.append(f'<p class="note">{escape(report.progress_note)}</p>')

    for d in report.details:
        parts.append(f'<h2 id="session-{escape(d.session_id)}">Session {escape(d.session_id)}</h2>')
        uri = images.get(f"session:{d.session_id}") or figure_data_uri(d.figure, dpi)
        parts.append(_figure(uri, f"Angles over time in session {d.session_id} with repetitions, "
                                  "holds, peaks, possible cracks and gaps marked.",
                             "Time runs left to right; each shaded block is one repetition "
                             "(dark part: the hold).", f"fig-session-{d.session_id}"))
        if d.notes:
            parts.append(f'<p class="note">Notes: {escape(d.notes)}</p>')
        parts.append(_table(d.reps))

    parts.append('<h2 id="sessions-title">Sessions</h2>')
    parts.append(_table(report.sessions, scroll=True))
    parts.append('<h2 id="quality-title">Data quality</h2>')
    parts.append(_table(report.quality, scroll=True))

    parts.append('<h2 id="about">About these measurements</h2>')
    parts += [f"<p>{escape(p)}</p>" for p in report.about]
    parts.append('<h3 id="references">References</h3><ol>')
    parts += [f"<li>{escape(r)}</li>" for r in report.references]
    parts.append("</ol>")
    parts.append(f"<footer>Generated {escape(f'{report.generated_at:%Y-%m-%d %H:%M %Z}'.strip())}"
                 f" by tracker {escape(report.version)}. Everything in this file was computed "
                 "on your computer; it contains no links and loads nothing.</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
