"""Report tables as display strings, shared by the HTML and the PDF renderers.

Each builder takes the frames from :mod:`.summaries` and returns a :class:`Table` whose
cells are already formatted (units in the column names, "–" for missing values), so
both outputs say exactly the same thing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import schema
from ..signal.result import SessionAnalysis
from .summaries import exercise_label

__all__ = ["Table", "overview_table", "sessions_table", "quality_table", "reps_table",
           "attention_notes", "fmt_time", "fmt_duration"]


@dataclass(frozen=True)
class Table:
    """A titled table of formatted cells.

    ``flags[i]`` marks row ``i`` for attention (drawn highlighted); ``numeric[j]``
    right-aligns column ``j``; ``cut_col`` is the one column (free text) a narrow
    page may cut short with an ellipsis.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    flags: tuple[bool, ...] = ()
    note: str = ""
    gid: str = ""
    cut_col: int | None = None  # the column a narrow page may cut short (free text)

    def __post_init__(self) -> None:
        if not self.flags:
            object.__setattr__(self, "flags", tuple(False for _ in self.rows))

    def __len__(self) -> int:
        return len(self.rows)

    def latest(self, n: int, *, flagged_only: bool = False, where: str = "the HTML report") -> "Table":
        """The last ``n`` rows (optionally only flagged ones), saying what was left out."""
        idx = [i for i in range(len(self.rows)) if self.flags[i] or not flagged_only]
        keep = idx[-n:]
        if len(keep) == len(self.rows):
            return self
        what = "flagged " if flagged_only else ""
        left = (f"Showing the latest {len(keep)} {what}of {len(self.rows)} sessions"
                if keep else f"No {what}sessions among {len(self.rows)}")
        note = f"{left}; {where} lists every session. {self.note}".strip()
        return dataclasses.replace(self, rows=tuple(self.rows[i] for i in keep),
                                   flags=tuple(self.flags[i] for i in keep), note=note)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _f(value: Any, fmt: str = ".0f", unit: str = "") -> str:
    if _missing(value):
        return "–"
    v = float(value)
    if not math.isfinite(v):
        return "–"
    return f"{v:{fmt}}{unit}".replace("-", "−")


def _i(value: Any) -> str:
    return "–" if _missing(value) else str(int(value))


def fmt_time(ts: Any) -> str:
    """A stored UTC time as local ``YYYY-MM-DD HH:MM``."""
    if _missing(ts):
        return "–"
    return f"{pd.Timestamp(ts).to_pydatetime().astimezone():%Y-%m-%d %H:%M}"


def fmt_duration(seconds: Any) -> str:
    """``m:ss`` (or ``h:mm:ss``)."""
    if _missing(seconds) or not math.isfinite(float(seconds)):
        return "–"
    s = int(round(float(seconds)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _pain(before: Any, after: Any) -> str:
    if _missing(before) and _missing(after):
        return "–"
    return f"{_i(before)} → {_i(after)}"


def _groups(summaries: pd.DataFrame) -> list[tuple[str, Any, pd.DataFrame]]:
    if not len(summaries):
        return []
    order = {e: k for k, e in enumerate(schema.EXERCISES)}
    frame = summaries[summaries["exercise"].notna()].copy()
    frame["_side"] = frame["side"].map(lambda s: s if isinstance(s, str) and s else "")
    keys = sorted({(e, s) for e, s in zip(frame["exercise"], frame["_side"])},
                  key=lambda k: (order.get(k[0], 99), k[1]))
    return [(e, s or None, frame[(frame["exercise"] == e) & (frame["_side"] == s)]
             .sort_values("started_at", kind="stable")) for e, s in keys]


def _slope_per_week(dates: pd.Series, values: np.ndarray) -> float:
    days = (pd.to_datetime(dates, utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds() / 86400.0
    x = days.to_numpy(float)
    ok = np.isfinite(values)
    if ok.sum() < 2 or np.ptp(x[ok]) <= 0:
        return float("nan")
    return float(stats.theilslopes(values[ok], x[ok])[0] * 7.0)


def overview_table(summaries: pd.DataFrame, *, min_trend_sessions: int = 5,
                   baseline_sessions: int = 3) -> Table:
    """Per exercise × side: sessions, repetitions, baseline / latest / best peak, trend,
    mean hold and possible cracks (for one session: repetitions, peak, best, hold, cracks)."""
    single = len(summaries) == 0 or summaries["session_id"].nunique() <= 1
    rows: list[tuple[str, ...]] = []
    for exercise, side, g in _groups(summaries):
        peaks = g["peak_abs_deg_mean"].to_numpy(float)
        finite = peaks[np.isfinite(peaks)]
        n = int(g["session_id"].nunique())
        hold = (np.nanmean(g["hold_s_mean"].to_numpy(float)) if g["hold_s_mean"].notna().any()
                else np.nan)
        name = exercise_label(exercise, side, short_side=False)
        if single:
            rows.append((name, str(int(g["reps"].sum())), _f(peaks[-1] if peaks.size else np.nan, ".0f", "°"),
                         _f(g["peak_abs_deg_max"].max(), ".0f", "°"), _f(hold, ".1f", " s"),
                         str(int(g["possible_cracks"].sum()))))
            continue
        base = float(np.median(finite[:baseline_sessions])) if finite.size >= baseline_sessions else np.nan
        trend = _slope_per_week(g["started_at"], peaks) if n >= min_trend_sessions else np.nan
        rows.append((
            name, str(n), str(int(g["reps"].sum())), _f(base, ".0f", "°"),
            _f(peaks[-1] if peaks.size else np.nan, ".0f", "°"),
            _f(g["peak_abs_deg_max"].max(), ".0f", "°"),
            (_f(trend, "+.1f", "°/wk") if n >= min_trend_sessions else f"(needs ≥ {min_trend_sessions})"),
            _f(hold, ".1f", " s"), str(int(g["possible_cracks"].sum())),
        ))
    if single:
        return Table("Overview by exercise and side",
                     ("exercise", "repetitions", "peak (mean)", "best repetition", "mean hold",
                      "possible cracks"), tuple(rows), (False, True, True, True, True, True),
                     note="Peak = how far the repetitions went, in degrees, whichever side.",
                     gid="overview", cut_col=0)
    return Table(
        "Overview by exercise and side",
        ("exercise", "sessions", "repetitions", f"baseline (first {baseline_sessions})",
         "latest peak", "best repetition", "trend", "mean hold", "possible cracks"),
        tuple(rows), (False, True, True, True, True, True, True, True, True),
        note=("Peak = mean over the session's repetitions, in degrees, whichever side. "
              f"Baseline needs {baseline_sessions} sessions; trend needs {min_trend_sessions}."),
        gid="overview", cut_col=0,
    )


def sessions_table(sessions: pd.DataFrame) -> Table:
    """One row per session: start, duration, status, repetitions, cracks, pain, notes."""
    rows, flags = [], []
    for r in sessions.itertuples(index=False):
        pain_up = (not _missing(r.pain_before) and not _missing(r.pain_after)
                   and int(r.pain_after) > int(r.pain_before))
        state = [] if r.status == "complete" else [r.status]
        if not r.analysed:
            state.append("not analysed")
        elif not r.axial_rotation_measured:  # analysed: a bool
            state.append("no gyroscope: no seated twists")
        rows.append((
            fmt_time(r.started_at), r.session_id, fmt_duration(r.duration_s), str(int(r.reps)),
            str(int(r.possible_cracks)), _pain(r.pain_before, r.pain_after),
            "; ".join(state + ([r.notes[:200]] if r.notes else [])),
        ))
        flags.append(bool(pain_up or r.status == "interrupted"))
    return Table("Sessions", ("started", "session", "duration", "repetitions", "possible cracks",
                              "pain (0–10) before → after", "status and notes"),
                 tuple(rows), (False, False, True, True, True, True, False), tuple(flags),
                 note=("Highlighted: pain went up during the session, or the recording was "
                       "interrupted. Status is shown only when a session is not complete."),
                 gid="sessions", cut_col=6)


def quality_table(sessions: pd.DataFrame) -> Table:
    """Data quality per session: nominal vs achieved rate, samples, dropped samples,
    gaps and reconnects."""
    rows, flags = [], []
    for r in sessions.itertuples(index=False):
        expected = int(r.samples) + int(r.lost_samples)
        lost_pct = 100.0 * int(r.lost_samples) / expected if expected else 0.0
        low_rate = (not _missing(r.nominal_rate_hz) and not _missing(r.achieved_rate_hz)
                    and float(r.achieved_rate_hz) < 0.9 * float(r.nominal_rate_hz))
        rows.append((
            fmt_time(r.started_at), _f(r.nominal_rate_hz, ".0f", " Hz"),
            _f(r.achieved_rate_hz, ".1f", " Hz"), f"{int(r.samples):,}",
            f"{int(r.lost_samples):,} ({lost_pct:.1f}%)",
            f"{int(r.gaps)}" + ("" if not int(r.gaps) else f" ({_f(r.gap_s, '.1f', ' s')})"),
            str(int(r.reconnects)),
        ))
        flags.append(bool(low_rate or lost_pct > 1.0 or int(r.reconnects) > 0 or r.status != "complete"))
    return Table("Data quality", ("started", "nominal rate", "achieved rate", "samples",
                                  "dropped samples", "gaps (total)", "reconnects"),
                 tuple(rows), (False, True, True, True, True, True, True), tuple(flags),
                 note=("Achieved rate is the median sample rate; dropped samples are estimated "
                       "from gaps in the sample times. Highlighted: rate below 90% of nominal, "
                       "more than 1% dropped, reconnects, or an unfinished recording (see Sessions)."),
                 gid="quality")


def reps_table(analysis: SessionAnalysis) -> Table:
    """The repetitions of one session with peak, hold and possible cracks."""
    cracks: dict[int, int] = {}
    for c in analysis.cracks:
        if c.rep is not None:
            cracks[c.rep] = cracks.get(c.rep, 0) + 1
    rows = []
    for i, rep in enumerate(analysis.reps):
        rows.append((str(i + 1), exercise_label(rep.exercise, rep.side, short_side=False),
                     fmt_duration(rep.start_s), _f(abs(rep.peak_deg), ".1f", "°"),
                     _f(rep.hold_s, ".1f", " s"), str(cracks.get(i, 0) or "")))
    loose = sum(1 for c in analysis.cracks if c.rep is None)
    note = "Peak: how far the repetition went, in degrees (sign dropped; the side says which way)."
    if loose:
        note += f" {loose} possible crack{'s' if loose != 1 else ''} outside any repetition."
    return Table("Repetitions", ("#", "exercise", "start (min:s)", "peak", "hold", "possible cracks"),
                 tuple(rows), (True, False, True, True, True, True), note=note, gid="reps",
                 cut_col=1)


def attention_notes(sessions: pd.DataFrame, summaries: pd.DataFrame, *,
                    baseline_sessions: int = 3, drop_fraction: float = 0.7,
                    high_pain: int = 7) -> list[str]:
    """Plain sentences about things worth a look (never a diagnosis).

    - pain that went up during a session, or was high (≥ ``high_pain``);
    - a latest session whose range is well below the person's baseline (a change in
      range of movement is one of design.md's reasons to see a doctor);
    - a latest session well beyond the usual range (the product warns on overdoing it).
    """
    notes: list[str] = []
    for r in sessions.itertuples(index=False):
        b, a = r.pain_before, r.pain_after
        when = fmt_time(r.started_at)
        if not _missing(b) and not _missing(a) and int(a) > int(b):
            notes.append(f"Pain went up during the session of {when} ({int(b)} → {int(a)} of 10).")
        elif (not _missing(a) and int(a) >= high_pain) or (not _missing(b) and int(b) >= high_pain):
            notes.append(f"High pain reported on {when} ({_pain(b, a)} of 10).")
    for exercise, side, g in _groups(summaries):
        peaks = g["peak_abs_deg_mean"].to_numpy(float)
        finite = peaks[np.isfinite(peaks)]
        if finite.size <= baseline_sessions:
            continue
        base = float(np.median(finite[:baseline_sessions]))
        latest = float(finite[-1])
        name = exercise_label(exercise, side, short_side=False)
        if base > 0 and latest < drop_fraction * base:
            notes.append(f"{name.capitalize()}: the latest session reached {latest:.0f}°, well below "
                         f"your baseline of {base:.0f}°. A change in how far you can move is a "
                         f"reason to see a doctor, especially with pain.")
        elif base > 0 and latest > base / drop_fraction and latest - base > 5.0:
            notes.append(f"{name.capitalize()}: the latest session reached {latest:.0f}°, well past "
                         f"your baseline of {base:.0f}°. Go gently; more range is not the goal "
                         f"in itself.")
    return notes
