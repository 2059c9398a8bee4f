"""Session and progress figures (matplotlib, no pyplot state; functions return Figures).

Every drawn event carries a ``gid`` so tests and tools can find it without reading
pixels: ``rep:<i>``, ``replabel:<i>``, ``hold:<i>``, ``holdtext:<i>``, ``peak:<i>``,
``peaktext:<i>`` (``i`` indexes ``analysis.reps``), ``crack:<j>`` (``analysis.cracks``),
``spike:<k>`` (``analysis.spikes`` not judged a possible crack), ``gap:<m>``;
progress panels are ``progress:<metric>:<exercise>:<side>`` with ``trend``,
``baseline``, ``norm-band``, ``norm-line`` and ``fewer-sessions`` artists inside.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# Figures are built with matplotlib.figure.Figure directly (no pyplot): no global
# state, no GUI backend, and savefig renders with Agg / the PDF backend on demand.
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory
from scipy import stats

from .. import schema
from ..quality import find_gaps
from ..signal.result import SessionAnalysis
from .norms import CITATIONS, HOLD_GUIDANCE, LUMBOPELVIC_NOTE, reference_for
from .summaries import EXERCISE_NAMES, SIDE_LETTER, exercise_label

__all__ = ["plot_session", "plot_progress", "gaps_from_times", "ANGLE_STYLE", "EXERCISE_COLOR"]

#: Trace style per angle: the two primary angles solid, lateral bend lighter.
ANGLE_STYLE: dict[str, dict[str, Any]] = {
    "flexion_deg": dict(color="#1f5fa8", lw=1.5, label="flexion (+ forward, − backward)"),
    "axial_rotation_deg": dict(color="#d35400", lw=1.5, label="axial rotation (+ left, − right)"),
    "lateral_bend_deg": dict(color="#9a9a9a", lw=0.9, alpha=0.7, ls="--",
                             label="lateral bend (+ right)"),
}
#: Background colour of each exercise's repetitions (colour-blind-safe pastel set).
EXERCISE_COLOR = {
    "chair_backbend": "#8dd3c7",
    "seated_twist": "#fdb462",
    "trunk_rotation": "#bebada",
    "cat_stretch": "#fb8072",
    "forward_bend": "#80b1d3",
    "back_bend": "#b3de69",
    "side_bend": "#fccde5",
    "twist": "#ffed6f",
}
SHORT_NAME = {k: e.short for k, e in schema.EXERCISE_INFO.items()}
CRACK_COLOR = "#c0002a"
SPIKE_COLOR = "#6e6e6e"
GAP_COLOR = "#555555"
#: Marker where the angles' reference posture is re-taken outside a repetition.
REFERENCE_COLOR = "#8c6d31"


# --------------------------------------------------------------------------- helpers
def gaps_from_times(t_s: np.ndarray) -> list[tuple[float, float]]:
    """Spans ``(start_s, end_s)`` of the gaps in the samples' times (lost packets,
    reconnects): :func:`tracker.quality.find_gaps`, the definition every count uses."""
    t = np.asarray(t_s, dtype=float)
    if t.size < 3:
        return []
    return find_gaps(t).spans(t)


def _width_in(ax: Axes) -> float:
    """Width of ``ax`` in inches (the axes of these figures sit on a Figure, not a SubFigure)."""
    fig = ax.figure
    return ax.get_position().width * (fig.get_figwidth() if isinstance(fig, Figure) else 1.0)


def _merge_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in spans if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _mmss(x: float, _pos: Any = None) -> str:
    sign = "−" if x < 0 else ""
    x = abs(x)
    return f"{sign}{int(x // 60)}:{int(round(x % 60)) % 60:02d}" if x % 60 < 59.5 else \
        f"{sign}{int(x // 60) + 1}:00"


def _local(ts: Any) -> datetime:
    """A stored UTC time in the machine's local zone (what the person's clock said)."""
    if ts is None or (isinstance(ts, float) and math.isnan(ts)):
        return None  # type: ignore[return-value]
    dt = pd.Timestamp(ts).to_pydatetime()
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone()


def _fmt_pain(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value)}/10"


def _pain_text(self_report: dict[str, Any] | None) -> str:
    if not self_report or (self_report.get("pain_before") is None
                           and self_report.get("pain_after") is None):
        return "pain not reported"
    return (f"pain before {_fmt_pain(self_report.get('pain_before'))} → "
            f"after {_fmt_pain(self_report.get('pain_after'))}")


def _in_reps(t: np.ndarray, reps: Sequence[Any]) -> np.ndarray:
    """Boolean mask of times inside any repetition ``[start_s, end_s]``."""
    inside = np.zeros(t.size, dtype=bool)
    for r in reps:
        inside[np.searchsorted(t, r.start_s, "left"):np.searchsorted(t, r.end_s, "right")] = True
    return inside


def _session_ylim(sig: pd.DataFrame | None, cols: list[str], reps: Sequence[Any]) -> tuple[float, float]:
    """The y range the repetitions need (peaks and the angles during repetitions).

    Between repetitions the angles also follow walking, lying down and rolling over,
    which can swing through 100° or more; letting those set the scale would squash
    the stretches the figure is about, so they may run off the top or bottom.
    """
    parts = [np.array([r.peak_deg for r in reps], dtype=float), np.array([0.0])]
    if sig is not None and cols:
        t = sig["t_s"].to_numpy(float)
        mask = _in_reps(t, reps) if reps else np.ones(t.size, dtype=bool)
        for c in cols:
            v = sig[c].to_numpy(float)[mask]
            v = v[np.isfinite(v)]
            if v.size:
                parts.append(np.percentile(v, [0.5, 99.5]))
    finite = np.concatenate(parts)
    finite = finite[np.isfinite(finite)]
    lo, hi = float(finite.min()), float(finite.max())
    span = max(hi - lo, 10.0)
    return lo - 0.26 * span, hi + 0.38 * span


def _rep_peak_time(rep: Any) -> float:
    if rep.peak_s is not None and np.isfinite(rep.peak_s):
        return float(rep.peak_s)
    if rep.hold_start_s is not None and rep.hold_end_s is not None:
        return 0.5 * (rep.hold_start_s + rep.hold_end_s)
    return 0.5 * (rep.start_s + rep.end_s)


def _row_windows(duration_s: float, reps: Sequence[Any], row_s: float) -> list[tuple[float, float]]:
    """Split the session into rows of about ``row_s`` without cutting a repetition."""
    if duration_s <= 1.25 * row_s:
        return [(0.0, duration_s)]
    n = math.ceil(duration_s / row_s)
    bounds = [0.0]
    for k in range(1, n):
        b = k * duration_s / n
        for rep in reps:
            if rep.start_s < b < rep.end_s:  # move the cut to the nearer end of the rep
                b = rep.start_s if b - rep.start_s < rep.end_s - b else rep.end_s
                break
        if b > bounds[-1] + 1.0:
            bounds.append(b)
    bounds.append(duration_s)
    return list(zip(bounds[:-1], bounds[1:]))


def _decimated(t: np.ndarray, y: np.ndarray, gaps: list[tuple[float, float]],
               max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Thin a smooth angle trace for drawing and break the line at data gaps."""
    step = max(1, int(math.ceil(t.size / max_points)))
    t, y = t[::step], y[::step]
    if gaps and t.size:
        cuts = np.searchsorted(t, [a for a, _ in gaps], side="right")
        mids = [0.5 * (a + b) for a, b in gaps]
        t = np.insert(t, cuts, mids)
        y = np.insert(y.astype(float), cuts, np.nan)
    return t, y


def _angle_at(signals: pd.DataFrame, column: str, t_s: float) -> float:
    if signals.empty or column not in signals:
        return float("nan")
    t = signals["t_s"].to_numpy(float)
    return float(np.interp(t_s, t, signals[column].to_numpy(float)))


# --------------------------------------------------------------------------- session
def plot_session(analysis: SessionAnalysis, *, gaps: Sequence[tuple[float, float]] | None = None,
                 self_report: dict[str, Any] | None = None, title: str | None = None,
                 ax: Axes | None = None, started_at: datetime | None = None,
                 row_s: float = 300.0, max_points_per_row: int = 4000) -> Figure:
    """Primary angles over time with every repetition, hold, peak, possible crack and gap.

    Parameters
    ----------
    analysis : SessionAnalysis
        Result with per-sample ``signals``. With empty signals the events are still
        drawn and the figure says that the angle trace is not available.
    gaps : sequence of (start_s, end_s), optional
        Known data gaps (store ``gap`` events); gaps in ``signals.t_s`` are added.
    self_report : dict, optional
        ``pain_before`` / ``pain_after`` (0–10) shown under the title.
    title : str, optional
        Default: "Session <local start time>" (or "Session").
    ax : Axes, optional
        Draw the whole session into this axes (one row, no figure legend).
    started_at : datetime, optional
        UTC start, shown in the default title.
    row_s : float
        Sessions longer than 1.25 × ``row_s`` are wrapped into rows of about this many
        seconds so repetitions stay readable (cuts fall between repetitions).
    max_points_per_row : int
        The angle trace is thinned to about this many points per row (angles are
        smooth; events are drawn from the analysis, not from the thinned trace).

    Returns
    -------
    Figure
    """
    sig = analysis.signals
    has_trace = not sig.empty and "t_s" in sig and len(sig) > 1
    t = sig["t_s"].to_numpy(float) if has_trace else np.zeros(0)
    duration = float(analysis.duration_s) if analysis.duration_s else (float(t[-1]) if t.size else 0.0)
    if t.size:
        duration = max(duration, float(t[-1]))
    duration = max(duration, max((r.end_s for r in analysis.reps), default=0.0), 1.0)
    all_gaps = _merge_spans(list(gaps or []) + (gaps_from_times(t) if has_trace else []))

    if ax is None:
        windows = _row_windows(duration, analysis.reps, row_s)
        nrows = len(windows)
        fig, axes, footer = _session_layout(nrows)
        own_figure = True
    else:
        windows = [(0.0, duration)]
        fig = ax.figure  # type: ignore[assignment]
        axes = [ax]
        own_figure = False
    row_width_s = max(w1 - w0 for w0, w1 in windows)  # same time scale on every row

    # Shared y range, with headroom at the top for repetition labels.
    cols = [c for c in ANGLE_STYLE if has_trace and c in sig]
    ylim = _session_ylim(sig if has_trace else None, cols, analysis.reps)

    spikes_other = [(k, s) for k, s in enumerate(analysis.spikes) if not s.possible_crack]
    rep_labels = _rep_labels(analysis.reps, row_width_s, axes_width_in=11.0)
    for row, (a_ax, (w0, w1)) in enumerate(zip(axes, windows)):
        last = row == len(axes) - 1
        _draw_session_row(a_ax, analysis, sig if has_trace else None, w0, w1, row_width_s,
                          all_gaps, spikes_other, rep_labels, ylim, max_points_per_row,
                          is_last=last)
        if last or not own_figure:
            a_ax.set_xlabel("time since start (min:s)")

    if not has_trace:
        axes[0].text(0.5, 0.5, "angle trace not available — events only",
                     transform=axes[0].transAxes, ha="center", va="center", color="#444444",
                     fontsize=11, gid="no-trace")

    n_holds = sum(r.hold_s is not None for r in analysis.reps)
    gap_text = ""
    if all_gaps:
        total = sum(b - a for a, b in all_gaps)
        gap_text = (f" · {len(all_gaps)} gap{'s' if len(all_gaps) != 1 else ''} in the data "
                    f"({total:.1f} s)")
    summary = (f"{len(analysis.reps)} repetitions · {n_holds} holds · "
               f"{len(analysis.cracks)} possible crack{'s' if len(analysis.cracks) != 1 else ''} · "
               f"{_pain_text(self_report)}{gap_text}")
    if title is None:
        title = "Session"
        if started_at is not None:
            title = f"Session of {_local(started_at):%a %d %b %Y, %H:%M}"
    if own_figure:
        fig.suptitle(f"{title}\n{summary}", fontsize=13, x=0.01, y=1.0 - 0.12 / fig.get_figheight(),
                     ha="left", va="top")
        handles = _session_legend_handles(analysis, cols, bool(all_gaps))
        footer.legend(handles=handles, loc="upper center", ncol=4, fontsize=9, frameon=False,
                      borderaxespad=0.0)
        footer.text(0.0, 0.0, textwrap.fill(
            "Angles of the lumbopelvic segment (one sensor over L4–S1, hips included), relative to "
            "the posture each repetition starts from. Shaded: repetitions (light) and holds (dark, "
            "with their duration); the number at each peak is how far you went. Faint lines between "
            "repetitions follow walking and changing position and may run off the scale. A "
            "'possible crack' is a short acceleration spike, not a diagnosis.", 175),
            transform=footer.transAxes, fontsize=8, color="#444444", va="bottom", gid="caption")
    else:
        axes[0].set_title(f"{title} — {summary}", fontsize=10, loc="left")
        axes[0].legend(handles=_session_legend_handles(analysis, cols, bool(all_gaps)),
                       fontsize=7, loc="lower right", ncol=2)
    return fig


def _session_layout(nrows: int) -> tuple[Figure, list[Axes], Axes]:
    """Rows of angle axes and a footer for legend and caption, placed in inches (a fixed
    layout draws about twice as fast as constrained layout and never shifts)."""
    width, left, right = 12.0, 0.8, 0.25
    top, row_h, row_gap, bottom_label, footer_h = 0.8, 2.3, 0.45, 0.5, 1.1
    height = top + nrows * row_h + (nrows - 1) * row_gap + bottom_label + footer_h
    fig = Figure(figsize=(width, height))

    def box(y_top: float, h: float, x: float = left, w: float = width - left - right
            ) -> tuple[float, float, float, float]:
        return (x / width, (height - y_top - h) / height, w / width, h / height)

    axes: list[Axes] = []
    y = top
    for _ in range(nrows):
        axes.append(fig.add_axes(box(y, row_h), sharey=axes[0] if axes else None))
        y += row_h + row_gap
    y += bottom_label - row_gap
    footer = fig.add_axes(box(y, footer_h, 0.1, width - 0.2))
    footer.set_axis_off()
    return fig, axes, footer


def _rep_labels(reps: Sequence[Any], row_width_s: float, axes_width_in: float) -> list[str]:
    """Label of each repetition: "seated twist · L2", or "twist L2" for every repetition of
    an exercise when one of them is too narrow for the long form (consistent per exercise)."""
    seen: dict[tuple[str, Any], int] = {}
    numbers = []
    for r in reps:
        key = (r.exercise, r.side)
        seen[key] = seen.get(key, 0) + 1
        numbers.append(f"{SIDE_LETTER.get(r.side, r.side or '')}{seen[key]}")
    s_per_in = row_width_s / axes_width_in
    long_fits: dict[str, bool] = {}
    for r, num in zip(reps, numbers):
        text = f"{EXERCISE_NAMES.get(r.exercise, r.exercise)} · {num}"
        fits = len(text) * _CHAR_IN <= (r.end_s - r.start_s) / s_per_in + 0.3
        long_fits[r.exercise] = long_fits.get(r.exercise, True) and fits
    return [f"{EXERCISE_NAMES.get(r.exercise, r.exercise)} · {num}" if long_fits[r.exercise]
            else f"{SHORT_NAME.get(r.exercise, r.exercise)} {num}" for r, num in zip(reps, numbers)]


_CHAR_IN = 0.55 * 8.5 / 72  # approximate width of one label character, inches


def reference_changes_s(sig: pd.DataFrame | None, reps: Sequence[Any], *, tol_s: float = 0.5
                        ) -> np.ndarray:
    """Times where the angles' reference posture was re-taken outside a repetition's
    start or end (lying down, sitting down, settling after a posture change): where the
    trace may jump without the body moving. Empty without a ``reference`` column."""
    if sig is None or schema.REFERENCE_COLUMN not in sig or len(sig) < 2:
        return np.zeros(0)
    ref = sig[schema.REFERENCE_COLUMN]
    codes = ref.cat.codes.to_numpy() if hasattr(ref, "cat") else pd.factorize(ref)[0]
    t = sig["t_s"].to_numpy(float)
    at = t[1:][np.diff(codes) != 0]
    bounds = np.array([x for r in reps for x in (r.start_s, r.end_s)], dtype=float)
    if bounds.size and at.size:
        at = at[np.abs(at[:, None] - bounds[None, :]).min(axis=1) > tol_s]
    return at


def _draw_session_row(ax: Axes, analysis: SessionAnalysis, sig: pd.DataFrame | None, w0: float,
                      w1: float, width_s: float, gaps: list[tuple[float, float]],
                      spikes_other: list[tuple[int, Any]], rep_labels: list[str],
                      ylim: tuple[float, float], max_points: int, is_last: bool = True) -> None:
    pad = 0.01 * width_s
    end = np.inf if is_last else w1  # events at a row boundary belong to the later row

    def here(t: float) -> bool:
        return bool(w0 <= t < end) or (w0 == 0.0 and t < 0.0)

    ax.set_xlim(w0 - pad, w0 + width_s + pad)
    ax.set_ylim(*ylim)
    ax.axhline(0.0, color="#bbbbbb", lw=0.7, zorder=1)
    top = blended_transform_factory(ax.transData, ax.transAxes)
    in_row = [(i, r) for i, r in enumerate(analysis.reps) if here(r.start_s)]

    # Repetition spans and holds first, so traces stay on top.
    for i, rep in in_row:
        color = EXERCISE_COLOR.get(rep.exercise, "#dddddd")
        ax.axvspan(rep.start_s, rep.end_s, color=color, alpha=0.28, lw=0, zorder=0, gid=f"rep:{i}")
        if rep.hold_start_s is not None and rep.hold_end_s is not None:
            ax.axvspan(rep.hold_start_s, rep.hold_end_s, color=color, alpha=0.75, lw=0, zorder=0.5,
                       gid=f"hold:{i}")
    if sig is not None:
        mask = (sig["t_s"] >= w0) & (sig["t_s"] <= w1)
        part = sig.loc[mask]
        tt = part["t_s"].to_numpy(float)
        row_gaps = [(a, b) for a, b in gaps if b > w0 and a < w1]
        inside = _in_reps(tt, analysis.reps)
        # Between repetitions (walking, changing position) the trace is drawn faint.
        edges = inside | np.r_[inside[1:], False] | np.r_[False, inside[:-1]]
        for col, style in ANGLE_STYLE.items():
            if col not in part:
                continue
            y = part[col].to_numpy(float)
            kw = {k: v for k, v in style.items() if k not in ("label", "alpha")}
            x1, y1 = _decimated(tt, np.where(inside, y, np.nan), row_gaps, max_points)
            ax.plot(x1, y1, zorder=3, gid=f"trace:{col}", alpha=style.get("alpha", 1.0), **kw)
            x2, y2 = _decimated(tt, np.where(edges & inside, np.nan, y), row_gaps, max_points)
            kw["lw"] = min(kw["lw"], 1.0)
            ax.plot(x2, y2, zorder=2.5, alpha=0.3, gid=f"between:{col}", **kw)
        _posture_labels(ax, part, w0, w1, s_per_in_row=(width_s + 2 * pad) / max(_width_in(ax), 1e-6))
        for k, tc in enumerate(reference_changes_s(part, analysis.reps)):
            ax.plot([tc], [0.02], transform=top, marker="^", ms=6, color=REFERENCE_COLOR, ls="none",
                    zorder=4, clip_on=False, gid=f"refchange:{k}")

    # Repetition labels at the top; staggered when neighbours would overlap.
    width_in = _width_in(ax)
    s_per_in = (width_s + 2 * pad) / max(width_in, 1e-6)
    last_end = [-np.inf, -np.inf]
    for i, rep in in_row:
        label = rep_labels[i]
        mid = 0.5 * (rep.start_s + rep.end_s)
        half = 0.5 * len(label) * _CHAR_IN * s_per_in
        level = 0 if mid - half > last_end[0] else (1 if mid - half > last_end[1] else 0)
        last_end[level] = mid + half
        ax.text(mid, 0.965 - 0.085 * level, label, transform=top, ha="center", va="top",
                fontsize=8.5, color="#222222", gid=f"replabel:{i}", clip_on=True,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))

    # Peaks and hold durations.
    for i, rep in in_row:
        column = schema.PRIMARY_ANGLE.get(rep.exercise, "flexion_deg")
        color = ANGLE_STYLE[column]["color"]
        tp = _rep_peak_time(rep)
        ax.plot([tp], [rep.peak_deg], marker="o", ms=5.5, mfc="white", mec=color, mew=1.6,
                zorder=5, gid=f"peak:{i}")
        up = rep.peak_deg >= 0
        ax.annotate(f"{abs(rep.peak_deg):.0f}°", (tp, rep.peak_deg), xytext=(0, 7 if up else -7),
                    textcoords="offset points", ha="center", va="bottom" if up else "top",
                    fontsize=8.5, fontweight="bold", color=color, zorder=6, gid=f"peaktext:{i}")
        if rep.hold_start_s is not None and rep.hold_end_s is not None and rep.hold_s is not None:
            ax.text(0.5 * (rep.hold_start_s + rep.hold_end_s), 0.5 * rep.peak_deg,
                    f"{rep.hold_s:.1f} s", ha="center", va="center", fontsize=8, color="#222222",
                    zorder=6, gid=f"holdtext:{i}",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))

    # Gaps in the data: hatched, labelled when wide enough.
    min_w = 0.03 * s_per_in  # a dropped packet or two stays visible, but discreet
    for m, (a, b) in enumerate(gaps):
        if b <= w0 or a >= w1:
            continue
        short = b - a < min_w
        if short:
            mid = 0.5 * (a + b)
            a, b = mid - min_w / 2, mid + min_w / 2
        ax.axvspan(a, b, facecolor="none" if short else "#ececec", edgecolor=GAP_COLOR,
                   hatch="////", lw=0.0, zorder=2, alpha=0.6 if short else 1.0, gid=f"gap:{m}")
        if (b - a) / s_per_in > 0.45:
            ax.text(0.5 * (a + b), 0.5, "no data", transform=top, rotation=90, ha="center",
                    va="center", fontsize=8, color=GAP_COLOR, zorder=6)

    # Other spikes: small grey ticks along the bottom; possible cracks: red stars on the trace.
    bottom = blended_transform_factory(ax.transData, ax.transAxes)
    for k, spike in spikes_other:
        if here(spike.t_s):
            ax.plot([spike.t_s], [0.03], transform=bottom, marker="|", ms=9, mew=1.3,
                    color=SPIKE_COLOR, zorder=4, gid=f"spike:{k}", clip_on=False)
    for j, crack in enumerate(analysis.cracks):
        if not here(crack.t_s):
            continue
        column = "flexion_deg"
        if crack.rep is not None and 0 <= crack.rep < len(analysis.reps):
            column = schema.PRIMARY_ANGLE.get(analysis.reps[crack.rep].exercise, column)
        y = _angle_at(sig if sig is not None else pd.DataFrame(), column, crack.t_s)
        if not np.isfinite(y):
            y = analysis.reps[crack.rep].peak_deg if crack.rep is not None else 0.0
        ax.axvline(crack.t_s, color=CRACK_COLOR, lw=0.8, ls=":", zorder=2)
        ax.plot([crack.t_s], [y], marker="*", ms=15, color=CRACK_COLOR, mec="white", mew=0.8,
                zorder=7, gid=f"crack:{j}")

    ax.xaxis.set_major_formatter(FuncFormatter(_mmss))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 3, 5, 6, 10]))
    ax.set_ylabel("angle (°)")
    ax.grid(axis="y", color="#eeeeee", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


#: How the analysis names postures, in words a person uses.
POSTURE_NAMES = {"upright": "sitting / standing", "supine": "lying on your back",
                 "all_fours": "on all fours", "prone": "lying face down"}


def _posture_labels(ax: Axes, part: pd.DataFrame, w0: float, w1: float, s_per_in_row: float) -> None:
    """Name the posture of each long stretch of the session along the bottom."""
    if "posture" not in part or part.empty:
        return
    post = part["posture"].astype(object).to_numpy()
    t = part["t_s"].to_numpy(float)
    change = np.flatnonzero(post[1:] != post[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, post.size]
    bottom = blended_transform_factory(ax.transData, ax.transAxes)
    for a, b in zip(starts, ends):
        name = POSTURE_NAMES.get(str(post[a]))
        t0, t1 = t[a], t[b - 1]
        if name is None or (t1 - t0) / s_per_in_row < 0.25 + 0.06 * len(name):
            continue
        ax.annotate("", (t0, 0.075), (t1, 0.075), xycoords=bottom, textcoords=bottom,
                    arrowprops=dict(arrowstyle="|-|", color="#999999", lw=0.7, shrinkA=0,
                                    shrinkB=0, mutation_scale=3))
        ax.text(0.5 * (t0 + t1), 0.085, name, transform=bottom, ha="center", va="bottom",
                fontsize=7.5, color="#777777", style="italic", gid="posture",
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))


def _session_legend_handles(analysis: SessionAnalysis, cols: list[str], any_gap: bool) -> list[Any]:
    handles: list[Any] = []
    for col in cols:
        style = ANGLE_STYLE[col]
        handles.append(Line2D([], [], color=style["color"], lw=style["lw"], ls=style.get("ls", "-"),
                              alpha=style.get("alpha", 1.0), label=style["label"]))
    present = [e for e in schema.EXERCISES if any(r.exercise == e for r in analysis.reps)]
    for ex in present:
        handles.append(Patch(facecolor=EXERCISE_COLOR[ex], alpha=0.6,
                             label=f"{EXERCISE_NAMES[ex]} (dark: hold)"))
    handles.append(Line2D([], [], marker="o", mfc="white", mec="#333333", ls="none",
                          label="peak of a repetition (°)"))
    handles.append(Line2D([], [], marker="*", ms=12, color=CRACK_COLOR, ls="none",
                          label="possible crack"))
    handles.append(Line2D([], [], marker="|", ms=9, mew=1.3, color=SPIKE_COLOR, ls="none",
                          label="other spike (tap, step, knock…)"))
    if any_gap:
        handles.append(Patch(facecolor="none", edgecolor=GAP_COLOR, hatch="////",
                             label="gap in the data"))
    if len(reference_changes_s(analysis.signals, analysis.reps)):
        handles.append(Line2D([], [], marker="^", ms=6, color=REFERENCE_COLOR, ls="none",
                              label="angles re-referenced"))
    return handles


# --------------------------------------------------------------------------- progress
_METRICS = (
    ("peak", "peak angle (°)"),
    ("hold", "hold (s)"),
    ("counts", "count per session"),
)
_METRIC_TITLES = {
    "peak": "Peak angle (how far you went)",
    "hold": "Hold duration (mean per session)",
    "counts": "Repetitions (grey), possible cracks (red)",
}
_PEAK_COLOR = "#1f5fa8"
_HOLD_COLOR = "#6a51a3"
_BASE_COLOR = "#2a7f3f"
_BAND_COLOR = "#9ecae1"
_GUIDE_COLOR = "#c7e9c0"
_SMALL = 7.5


def _dates(series: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(series, utc=True).dt.tz_convert(_local_tz()).dt.tz_localize(None)
    return mdates.date2num(ts.to_numpy())


def _local_tz() -> Any:
    return datetime.now().astimezone().tzinfo


def _corner(ax: Axes, text: str, gid: str, *, loc: str = "upper right") -> None:
    x, ha = (0.99, "right") if loc.endswith("right") else (0.01, "left")
    y, va = (0.97, "top") if loc.startswith("upper") else (0.03, "bottom")
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=_SMALL, color="#333333",
            gid=gid, zorder=8, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))


def _trend(ax: Axes, x: np.ndarray, y: np.ndarray, unit: str, min_sessions: int) -> str | None:
    """Draw a Theil–Sen trend line when there are enough sessions; return its text.

    Returns None (and draws nothing) with fewer than ``min_sessions`` sessions: a line
    through two or three points says more about noise than about progress.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < min_sessions or np.ptp(x) <= 0:
        return None
    slope, intercept, _, _ = stats.theilslopes(y, x)
    xs = np.array([x.min(), x.max()])
    ax.plot(xs, intercept + slope * xs, color="#222222", lw=1.6, zorder=6, gid="trend")
    per_week = float(slope * 7.0)
    return (f"trend ≈ 0 {unit}/week" if abs(per_week) < 0.05
            else f"trend {per_week:+.1f} {unit}/week".replace("-", "−"))


def _baseline(ax: Axes, y: np.ndarray, n: int, unit: str, fmt: str) -> str | None:
    """Draw the personal baseline (median of the first ``n`` sessions); return its text."""
    y = y[np.isfinite(y)]
    if y.size < n:
        return None
    base = float(np.median(y[:n]))
    ax.axhline(base, color=_BASE_COLOR, lw=1.2, ls="--", zorder=4, gid="baseline")
    return f"baseline {base:{fmt}}{unit}"


def _baseline_and_trend(ax: Axes, x: np.ndarray, y: np.ndarray, unit: str, fmt: str,
                        n_base: int, min_trend: int) -> None:
    """Baseline and trend lines plus one corner note that states both (or why not)."""
    base = _baseline(ax, y, n_base, unit if unit == "°" else f" {unit}", fmt)
    trend = _trend(ax, x, y, unit, min_trend)
    n = int(np.isfinite(y).sum())
    few = f"{n} session{'s' if n != 1 else ''}"
    if trend is not None:
        _corner(ax, f"{base} · {trend}" if base else trend, "trend-text")
    elif base is not None:
        _corner(ax, f"{base} · {few}: too few for a trend (needs ≥ {min_trend})", "fewer-sessions")
    else:
        _corner(ax, f"{few}: no baseline (needs {n_base}) or trend (needs {min_trend}) yet",
                "fewer-sessions")


def plot_progress(summaries: pd.DataFrame, *, sessions: pd.DataFrame | None = None,
                  age_years: float | None = None, min_trend_sessions: int = 5,
                  baseline_sessions: int = 3, title: str | None = None) -> Figure:
    """Small multiples per exercise × side over sessions, plus pain before/after.

    Parameters
    ----------
    summaries : DataFrame
        :data:`tracker.report.summaries.SUMMARY_COLUMNS` rows (one per session ×
        exercise × side), e.g. ``collect(store, ids).summaries``.
    sessions : DataFrame, optional
        The session table (pain before/after and the session count); pain is taken
        from ``summaries`` when omitted.
    age_years : float, optional
        Adds an approximate age-typical line where the reference varies with age;
        without it the overall adult range is shown.
    min_trend_sessions : int
        A trend line is drawn only with at least this many sessions (else the panel
        says why not).
    baseline_sessions : int
        The personal baseline is the median of the first this-many sessions; not drawn
        with fewer.
    title : str, optional

    Returns
    -------
    Figure
        Panels have gids ``progress:<metric>:<exercise>:<side>`` (side ``-`` when the
        exercise has none) and ``progress:pain``.
    """
    frame = summaries[summaries["exercise"].notna()].copy()
    frame["side_key"] = frame["side"].map(lambda s: s if isinstance(s, str) and s else "-")
    order = {e: k for k, e in enumerate(schema.EXERCISES)}
    groups = sorted({(e, s) for e, s in zip(frame["exercise"], frame["side_key"])},
                    key=lambda g: (order.get(g[0], 99), g[1]))
    pain = _pain_frame(sessions if sessions is not None else summaries)
    n_sessions = int(frame["session_id"].nunique())
    if sessions is not None:
        n_sessions = max(n_sessions, int(sessions["session_id"].nunique()))

    caption = _progress_caption(_refs_notes(groups, age_years), min_trend_sessions,
                                baseline_sessions, age_years)
    lay = _progress_layout(len(groups), caption.count("\n") + 1)
    fig, pain_ax, footer = lay.fig, lay.pain, lay.footer
    pain_ax.set_gid("progress:pain")
    _draw_pain(pain_ax, pain)
    _date_axis(pain_ax)
    if groups:
        for c, (metric, _) in enumerate(_METRICS):
            fig.text(lay.col_x[c], lay.header_y, _METRIC_TITLES[metric], fontsize=10,
                     color="#333333", gid=f"header:{metric}")

    first_ax: Axes | None = None
    for r, (exercise, side) in enumerate(groups):
        g = frame[(frame["exercise"] == exercise) & (frame["side_key"] == side)]
        g = g.sort_values("started_at", kind="stable")
        x = _dates(g["started_at"])
        ref = reference_for(exercise, age_years)
        name = exercise_label(exercise, None if side == "-" else side, short_side=False)
        n_here = int(g["session_id"].nunique())
        fig.text(lay.col_x[0] - 0.5 / 13.0, lay.row_label_y[r],
                 f"{name[0].upper()}{name[1:]}", fontsize=11, fontweight="bold",
                 gid=f"rowlabel:{exercise}:{side}")
        if n_here != n_sessions:  # some sessions skipped this exercise: say so
            fig.text(lay.col_x[1], lay.row_label_y[r],
                     f"done in {n_here} of the {n_sessions} sessions", fontsize=8, color="#666666")
        for c, (metric, ylabel) in enumerate(_METRICS):
            ax = lay.panels[r][c]
            if first_ax is None:
                first_ax = ax
            else:
                ax.sharex(first_ax)
            ax.set_gid(f"progress:{metric}:{exercise}:{side}")
            _draw_metric(ax, metric, g, x, ref, min_trend_sessions, baseline_sessions)
            ax.set_ylabel(ylabel, fontsize=8.5)
            _date_axis(ax)
            if r < len(groups) - 1:
                ax.tick_params(labelbottom=False)
    if first_ax is not None:  # every panel and the pain row span the same dates
        x_all = _dates(frame["started_at"])
        lo, hi = float(x_all.min()), float(x_all.max())
        pad = max(0.03 * (hi - lo), 0.6)  # days; keeps edge markers and bars whole
        first_ax.set_xlim(lo - pad, hi + pad)
        pain_ax.set_xlim(lo - pad, hi + pad)
    else:
        pain_ax.text(0.5, 0.15, "No analysed repetitions in these sessions.",
                     transform=pain_ax.transAxes, ha="center", fontsize=11, gid="no-reps")

    footer.legend(handles=_progress_legend_handles(any(reference_for(e).band is not None
                                                       for e, _ in groups)),
                  loc="upper left", ncol=4, fontsize=8, frameon=False, borderaxespad=0.0)
    footer.text(0.0, 0.0, caption, transform=footer.transAxes, fontsize=7.5, color="#333333",
                va="bottom", ha="left", gid="caption")

    span = ""
    if len(frame):
        first, last = frame["started_at"].min(), frame["started_at"].max()
        span = f" · {_local(first):%d %b %Y} – {_local(last):%d %b %Y}"
    fig.suptitle(title or f"Progress over {n_sessions} session{'s' if n_sessions != 1 else ''}{span}",
                 fontsize=13, x=0.01, y=1.0 - 0.12 / fig.get_figheight(), ha="left", va="top")
    return fig


def _refs_notes(groups: Sequence[tuple[str, str]], age_years: float | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for exercise, _ in groups:
        ref = reference_for(exercise, age_years)
        if ref.band is not None or ref.line_deg is not None:
            out[exercise] = ref.note
    return out


@dataclass
class _ProgressLayout:
    fig: Figure
    pain: Axes
    panels: list[list[Axes]]
    footer: Axes
    header_y: float          # figure fraction of the metric titles' baseline
    row_label_y: list[float]  # figure fraction of each row's label baseline
    col_x: list[float]        # figure fraction of each column's left edge


def _progress_layout(n_groups: int, caption_lines: int) -> _ProgressLayout:
    """Place the axes in inches (a fixed layout renders several times faster than
    constrained layout with 25 date axes, and looks the same for every report)."""
    width = 13.0
    left, right, wspace = 0.85, 0.25, 0.62
    ratios = np.array([3.0, 2.3, 2.0])
    col_w = (width - left - right - wspace * (len(ratios) - 1)) * ratios / ratios.sum()
    col_x = left + np.concatenate([[0.0], np.cumsum(col_w[:-1] + wspace)])
    top_pad, pain_title, pain_h, pain_ticks, header = 0.55, 0.3, 1.0, 0.5, 0.3
    row_label, row_h, row_gap, last_ticks = 0.3, 1.45, 0.12, 0.45
    legend_h, caption_h = 0.5, 0.13 * caption_lines + 0.1
    rows_h = n_groups * (row_label + row_h) + max(n_groups - 1, 0) * row_gap
    height = (top_pad + pain_title + pain_h + pain_ticks + header + rows_h + last_ticks
              + legend_h + caption_h)
    fig = Figure(figsize=(width, height))

    def box(x: float, y_top: float, w: float, h: float) -> tuple[float, float, float, float]:
        return (x / width, (height - y_top - h) / height, w / width, h / height)

    y = top_pad + pain_title
    pain_ax = fig.add_axes(box(left, y, width - left - right, pain_h))
    y += pain_h + pain_ticks
    header_y = 1.0 - (y + 0.2) / height
    y += header
    panels, label_y = [], []
    for _ in range(n_groups):
        label_y.append(1.0 - (y + 0.22) / height)
        y += row_label
        panels.append([fig.add_axes(box(col_x[c], y, col_w[c], row_h)) for c in range(len(ratios))])
        y += row_h + row_gap
    y += last_ticks - row_gap if n_groups else 0.0
    footer = fig.add_axes(box(0.15, y, width - 0.3, legend_h + caption_h))
    footer.set_axis_off()
    return _ProgressLayout(fig, pain_ax, panels, footer, header_y, label_y,
                           [float(c / width) for c in col_x])


def _progress_legend_handles(with_band: bool) -> list[Any]:
    handles: list[Any] = [
        Line2D([], [], ls="none", marker="o", ms=5, color=_PEAK_COLOR,
               label="session mean of repetitions"),
        Line2D([], [], ls="none", marker="^", ms=5, mfc="none", mec="#555555",
               label="best repetition of the session"),
        Line2D([], [], color=_BASE_COLOR, ls="--", lw=1.2, label="your baseline (first sessions)"),
        Line2D([], [], color="#222222", lw=1.6, label="trend (robust line)"),
    ]
    if with_band:
        handles.append(Patch(facecolor=_BAND_COLOR, alpha=0.5, label="typical range (published)"))
        handles.append(Line2D([], [], color="#3182bd", ls=":", lw=1.2, label="published median"))
    handles.append(Patch(facecolor=_GUIDE_COLOR, alpha=0.6, label=HOLD_GUIDANCE.label))
    return handles


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", color="#eeeeee", lw=0.6)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)


#: Above this many sessions per panel, markers shrink and a running median carries the eye.
_DENSE = 60
_RUN = 9  # sessions in the running median of dense panels


def _marker_size(n: int, big: float) -> float:
    """Marker size that keeps a year of daily sessions from merging into a band."""
    return float(np.clip(big * np.sqrt(30.0 / max(n, 1)), 1.6, big))


def _running(ax: Axes, x: np.ndarray, y: np.ndarray, color: str, gid: str, *,
             how: str = "median", **kw: Any) -> None:
    """A centred running median (angles) or mean (counts, pain) over :data:`_RUN`
    sessions, drawn on dense panels so the eye can follow a year of dots."""
    ok = np.isfinite(y)
    if ok.sum() < _RUN:
        return
    roll = pd.Series(y[ok]).rolling(_RUN, center=True, min_periods=_RUN // 2 + 1)
    line = roll.median() if how == "median" else roll.mean()
    ax.plot(x[ok], line.to_numpy(float), color=color, lw=1.3, zorder=5, gid=gid, **kw)


def _draw_metric(ax: Axes, metric: str, g: pd.DataFrame, x: np.ndarray, ref: Any,
                 min_trend: int, n_base: int) -> None:
    dense = len(g) > _DENSE
    if metric == "peak":
        y = g["peak_abs_deg_mean"].to_numpy(float)
        best = g["peak_abs_deg_max"].to_numpy(float)
        if ref.band is not None:
            ax.axhspan(ref.band.low_deg, ref.band.high_deg, color=_BAND_COLOR, alpha=0.35, lw=0,
                       zorder=0, gid="norm-band")
            ax.annotate(f"typical {ref.band.low_deg:.0f}–{ref.band.high_deg:.0f}°",
                        (1.0, ref.band.low_deg), xycoords=("axes fraction", "data"),
                        xytext=(-3, 2), textcoords="offset points", ha="right", va="bottom",
                        fontsize=_SMALL, color="#2b6a99", zorder=1)
        if ref.line_deg is not None:
            ax.axhline(ref.line_deg, color="#3182bd", lw=1.1, ls=":", zorder=1, gid="norm-line")
            short = ref.line_label.split("(")[0].strip()
            ax.annotate(short, (1.0, ref.line_deg), xycoords=("axes fraction", "data"),
                        xytext=(-3, -2), textcoords="offset points", ha="right", va="top",
                        fontsize=_SMALL, color="#2b6a99", zorder=1)
        ax.plot(x, best, ls="none", marker="^", ms=_marker_size(len(g), 4.0), mfc="none",
                mec="#b0b0b0" if dense else "#555555", mew=0.5 if dense else 1.0, zorder=3,
                gid="best")
        if dense:
            _running(ax, x, y, _PEAK_COLOR, "values-running")
        else:
            ax.plot(x, y, ls="-", lw=0.6, color=_PEAK_COLOR, alpha=0.4, zorder=3)
        ax.plot(x, y, ls="none", marker="o", ms=max(_marker_size(len(g), 4.5), 2.4),
                color=_PEAK_COLOR, alpha=0.55 if dense else 1.0, mew=0, zorder=5, gid="values")
        _baseline_and_trend(ax, x, y, "°", ".0f", n_base, min_trend)
        top = np.nanmax(np.concatenate([best, y, [ref.band.high_deg if ref.band else 0.0,
                                                  ref.line_deg or 0.0, 1.0]]))
        ax.set_ylim(0, top * 1.3)
    elif metric == "hold":
        y = g["hold_s_mean"].to_numpy(float)
        ax.axhspan(HOLD_GUIDANCE.low_s, HOLD_GUIDANCE.high_s, color=_GUIDE_COLOR, alpha=0.5,
                   lw=0, zorder=0, gid="hold-guidance")
        if not dense:
            ax.plot(x, y, ls="-", lw=0.6, color=_HOLD_COLOR, alpha=0.4, zorder=3)
        ax.plot(x, y, ls="none", marker="o", ms=_marker_size(len(g), 4.5), color=_HOLD_COLOR,
                alpha=0.6 if dense else 1.0, mew=0, zorder=5, gid="values")
        _baseline_and_trend(ax, x, y, "s", ".1f", n_base, min_trend)
        finite = y[np.isfinite(y)]
        top = max(float(finite.max()) if finite.size else 0.0, HOLD_GUIDANCE.high_s)
        ax.set_ylim(0, top * 1.3)
        if not finite.size:
            _corner(ax, "no holds", "no-holds", loc="lower left")
    else:  # counts: repetitions as grey bars, possible cracks as narrower red bars on top
        reps = g["reps"].to_numpy(float)
        cracks = g["possible_cracks"].to_numpy(float)
        if dense:  # bars would merge into a block: dots plus running medians
            ms = _marker_size(len(g), 4.0)
            ax.plot(x, reps, ls="none", marker="o", ms=ms, mew=0, color="#9a9a9a", zorder=3,
                    gid="reps")
            ax.plot(x, cracks, ls="none", marker="o", ms=ms, mew=0, color=CRACK_COLOR, alpha=0.5,
                    zorder=4, gid="cracks")
            _running(ax, x, reps, "#555555", "reps-running", how="mean")
            _running(ax, x, cracks, CRACK_COLOR, "cracks-running", how="mean")
        else:
            lw = _bar_lw(x)
            ax.vlines(x, 0, reps, lw=lw, color="#b0b0b0", zorder=3, gid="reps")
            ax.vlines(x, 0, cracks, lw=max(lw * 0.55, 0.6), color=CRACK_COLOR, zorder=4,
                      gid="cracks")
        top = float(np.nanmax(np.concatenate([reps, cracks, [0.0]])))
        ax.set_ylim(0, max(3.0, top * 1.3))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        if cracks.size and not np.nansum(cracks):
            _corner(ax, "no possible cracks", "no-cracks")


def _bar_lw(x: np.ndarray) -> float:
    """Bar width in points: thick for a few sessions, hairline for a year of them.

    Bars are drawn as one line collection (not a patch per bar) so a year of sessions
    renders in milliseconds.
    """
    return float(np.clip(100.0 / max(np.unique(x).size, 1), 0.6, 6.0))


def _pain_frame(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None or not len(frame) or "pain_before" not in frame:
        return None
    p = frame[["session_id", "started_at", "pain_before", "pain_after"]].drop_duplicates("session_id")
    p = p[p["pain_before"].notna() | p["pain_after"].notna()]
    return p.sort_values("started_at", kind="stable") if len(p) else None


def _draw_pain(ax: Axes, pain: pd.DataFrame | None) -> None:
    ax.set_ylim(-0.7, 10.7)
    ax.set_yticks([0, 5, 10])
    ax.set_ylabel("pain (0–10)", fontsize=9)
    ax.set_title("Self-reported pain: before (○) and after (●) each session", fontsize=10,
                 loc="left")
    if pain is None:
        ax.text(0.5, 0.5, "no pain reported in these sessions", transform=ax.transAxes,
                ha="center", va="center", fontsize=9, color="#777777", gid="no-pain")
        return
    x = _dates(pain["started_at"])
    before = pain["pain_before"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    after = pain["pain_after"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    both = np.isfinite(before) & np.isfinite(after)
    if len(pain) > _DENSE:  # a year of rings is unreadable: small dots + running medians
        ms = _marker_size(len(pain), 4.0)
        ax.plot(x, before, ls="none", marker="o", ms=ms, mew=0, color="#b5b5b5", zorder=3,
                gid="pain-before")
        ax.plot(x, after, ls="none", marker="o", ms=ms, mew=0, color="#555555", alpha=0.6,
                zorder=4, gid="pain-after")
        _running(ax, x, before, "#8a8a8a", "pain-before-running", how="mean", ls="--")
        _running(ax, x, after, "#111111", "pain-after-running", how="mean")
        ax.set_title(f"Self-reported pain: before (light dots, dashed line) and after (dark) each "
                     f"session; lines: average of {_RUN} sessions", fontsize=10, loc="left")
        return
    if both.any():
        ax.vlines(x[both], before[both], after[both], color="#aaaaaa", lw=1.0, zorder=2)
    # Before: a large ring; after: a small dot, so equal values read as a bullseye.
    ax.plot(x, before, ls="none", marker="o", ms=7.5, mfc="white", mec="#444444", mew=1.2,
            zorder=3, gid="pain-before")
    ax.plot(x, after, ls="none", marker="o", ms=4.0, color="#222222", zorder=4, gid="pain-after")


def _progress_caption(refs: dict[str, str], min_trend: int, n_base: int,
                      age_years: float | None) -> str:
    parts = [
        "Peak angle = how far each repetition went in the stretch's direction (left and right "
        "both count as positive). " + LUMBOPELVIC_NOTE,
        f"Trend lines (Theil–Sen, robust to outliers) are drawn only with ≥ {min_trend} sessions; "
        f"your baseline is the median of your first {n_base} sessions.",
    ]
    if refs:
        notes = " ".join(f"{EXERCISE_NAMES[e].capitalize()}: {n}" for e, n in refs.items())
        parts.append(notes + ("" if age_years is not None
                              else " Without an age the overall adult range is shown."))
    parts.append("Lying trunk rotation and cat stretch have no reference band (no comparable "
                 "published range).")
    parts.append("Sources: " + " ".join(CITATIONS[k] for k in ("troke2005", "magee2014", "acsm")))
    return "\n".join(textwrap.fill(p, 200) for p in parts)
