"""Session and progress figures: structure checked against the analysis they plot."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from report_builders import day, make_analysis
from tracker import schema
from tracker.errors import ValidationError
from tracker.report import plot_progress, plot_session, reference_for, summarise_analysis
from tracker.report.figures import CRACK_COLOR, gaps_from_times
from tracker.signal.result import Rep, Summary


def _by_gid(fig: Figure, prefix: str) -> list:
    return [a for a in fig.findobj() if (a.get_gid() or "").startswith(prefix)]


def _xspan(patch) -> tuple[float, float]:
    """Data x-range of an axvspan (a Rectangle on a blended data/axes transform)."""
    return patch.get_x(), patch.get_x() + patch.get_width()


def _gid_ids(fig: Figure, prefix: str) -> list[int]:
    return sorted(int(a.get_gid().split(":")[1]) for a in _by_gid(fig, prefix + ":"))


@pytest.fixture(scope="module")
def analysis():
    return make_analysis(seed=1, hold_every=2)


@pytest.fixture(scope="module")
def session_fig(analysis):
    return plot_session(analysis, gaps=[(30.0, 31.0)], self_report={"pain_before": 3, "pain_after": 2})


# ----------------------------------------------------------------- session figure
def test_every_rep_is_drawn_once_with_its_label(analysis, session_fig):
    n = len(analysis.reps)
    assert _gid_ids(session_fig, "rep") == list(range(n))
    labels = {int(a.get_gid().split(":")[1]): a.get_text() for a in _by_gid(session_fig, "replabel:")}
    assert sorted(labels) == list(range(n))
    counters: dict = {}
    for i, rep in enumerate(analysis.reps):
        counters[(rep.exercise, rep.side)] = counters.get((rep.exercise, rep.side), 0) + 1
        side = {"left": "L", "right": "R", None: ""}[rep.side]
        assert labels[i].endswith(f"{side}{counters[(rep.exercise, rep.side)]}"), labels[i]
        word = {"chair_backbend": "back-bend", "seated_twist": "twist",
                "trunk_rotation": "rot", "cat_stretch": "cat"}[rep.exercise]
        assert word in labels[i]


def test_rep_spans_cover_the_rep_times(analysis, session_fig):
    for span in _by_gid(session_fig, "rep:"):
        rep = analysis.reps[int(span.get_gid().split(":")[1])]
        assert _xspan(span) == pytest.approx((rep.start_s, rep.end_s))


def test_holds_are_shaded_and_labelled_with_their_duration(analysis, session_fig):
    with_hold = [i for i, r in enumerate(analysis.reps) if r.hold_s is not None]
    assert 0 < len(with_hold) < len(analysis.reps)  # the builder leaves some reps without a hold
    assert _gid_ids(session_fig, "hold") == with_hold
    texts = {int(a.get_gid().split(":")[1]): a.get_text() for a in _by_gid(session_fig, "holdtext:")}
    assert sorted(texts) == with_hold
    for i in with_hold:
        assert texts[i] == f"{analysis.reps[i].hold_s:.1f} s"


def test_peaks_are_marked_at_the_rep_peak_with_the_magnitude(analysis, session_fig):
    markers = {int(a.get_gid().split(":")[1]): a for a in _by_gid(session_fig, "peak:")}
    texts = {int(a.get_gid().split(":")[1]): a.get_text() for a in _by_gid(session_fig, "peaktext:")}
    assert sorted(markers) == sorted(texts) == list(range(len(analysis.reps)))
    for i, rep in enumerate(analysis.reps):
        x, y = markers[i].get_data()
        assert x[0] == pytest.approx(rep.peak_s) and y[0] == pytest.approx(rep.peak_deg)
        assert texts[i] == f"{abs(rep.peak_deg):.0f}°"


def test_possible_cracks_look_different_from_other_spikes(analysis, session_fig):
    cracks = _by_gid(session_fig, "crack:")
    spikes = _by_gid(session_fig, "spike:")
    assert len(cracks) == len(analysis.cracks) == 1
    assert len(spikes) == sum(not s.possible_crack for s in analysis.spikes) == 2
    assert cracks[0].get_marker() == "*" and cracks[0].get_color() == CRACK_COLOR
    assert all(s.get_marker() == "|" and s.get_color() != CRACK_COLOR for s in spikes)
    assert cracks[0].get_xdata()[0] == pytest.approx(analysis.cracks[0].t_s)
    legend_texts = [t.get_text() for lg in session_fig.findobj(lambda a: hasattr(a, "get_texts"))
                    for t in lg.get_texts()]
    assert "possible crack" in legend_texts
    assert any(t.startswith("other spike") for t in legend_texts)


def test_gaps_from_the_store_and_from_the_samples_are_hatched(analysis, session_fig):
    gaps = _by_gid(session_fig, "gap:")
    spans = sorted(_xspan(g) for g in gaps)
    assert len(spans) == 2
    assert spans[0][0] <= 30.0 and spans[0][1] >= 31.0        # given by the caller
    assert spans[1][0] <= 60.1 and spans[1][1] >= 62.9        # found in signals.t_s
    assert all(g.get_hatch() for g in gaps)


def test_title_axes_and_pain(session_fig):
    title = session_fig.get_suptitle()
    assert "pain before 3/10" in title and "after 2/10" in title and "1 possible crack" in title
    ax = session_fig.axes[0]
    assert ax.get_ylabel() == "angle (°)"
    assert "time" in session_fig.axes[-2].get_xlabel()  # the last row (the footer is last)
    traces = {a.get_gid() for a in _by_gid(session_fig, "trace:")}
    assert traces == {f"trace:{c}" for c in ("flexion_deg", "lateral_bend_deg", "axial_rotation_deg")}


def test_moves_between_reps_do_not_set_the_scale():
    """Walking or lying down between repetitions can swing the angles through 150°;
    the figure keeps the repetitions' scale and draws those moves faint."""
    a = make_analysis(seed=8)
    sig = a.signals.copy()
    between = (sig["t_s"] > a.reps[1].end_s + 0.5) & (sig["t_s"] < a.reps[2].start_s - 0.5)
    assert between.any()
    sig.loc[between, "axial_rotation_deg"] = 150.0
    sig["posture"] = np.where(sig["t_s"] < a.reps[2].start_s, "upright", "supine")
    fig = plot_session(dataclasses.replace(a, signals=sig))
    ax = fig.axes[0]
    biggest = max(abs(r.peak_deg) for r in a.reps)
    assert ax.get_ylim()[1] < 2 * biggest < 150.0
    faint = [l for l in _by_gid(fig, "between:axial_rotation_deg")]
    assert faint and faint[0].get_alpha() < 0.5
    (main,) = _by_gid(fig, "trace:axial_rotation_deg")
    assert np.nanmax(main.get_ydata()) < 150.0  # the excursion is only in the faint line
    names = [t.get_text() for t in _by_gid(fig, "posture")]
    assert "lying on your back" in names and "sitting / standing" in names


def test_no_pain_reported_is_said():
    fig = plot_session(make_analysis(seed=2))
    assert "pain not reported" in fig.get_suptitle()


def test_long_session_wraps_into_rows_without_splitting_reps():
    a = make_analysis(seed=3)
    fig = plot_session(a, row_s=60.0)
    rows = [ax for ax in fig.axes if ax.get_ylabel() == "angle (°)"]
    assert len(rows) >= 3
    assert _gid_ids(fig, "rep") == list(range(len(a.reps)))  # each exactly once
    for span in _by_gid(fig, "rep:"):
        lo, hi = span.axes.get_xlim()
        a, b = _xspan(span)
        assert lo <= a and b <= hi
    # every row spans the same number of seconds (same time scale)
    widths = {round(np.diff(ax.get_xlim())[0], 6) for ax in rows}
    assert len(widths) == 1


def test_events_only_analysis_still_plots_and_says_so():
    a = make_analysis(seed=4, with_signals=False)
    fig = plot_session(a)
    assert _by_gid(fig, "no-trace")
    assert len(_by_gid(fig, "rep:")) == len(a.reps)
    assert not _by_gid(fig, "trace:")


def test_draws_into_a_given_axes():
    a = make_analysis(seed=5)
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_session(a, ax=ax)
    assert out is fig and fig.axes == [ax]
    assert len(_by_gid(fig, "rep:")) == len(a.reps)


def test_session_figure_renders_to_png(session_fig):
    buf = io.BytesIO()
    session_fig.savefig(buf, format="png", dpi=50)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gaps_from_times():
    t = np.r_[np.arange(0, 1, 0.01), np.arange(1.5, 2, 0.01)]
    assert gaps_from_times(t) == [(pytest.approx(0.99), pytest.approx(1.5))]
    assert gaps_from_times(np.arange(0, 1, 0.01)) == []


# --------------------------------------------------------------- progress figure
def _summaries(n_sessions: int, *, scale_step: float = 0.03, pain: bool = True) -> pd.DataFrame:
    frames = []
    for k in range(n_sessions):
        a = make_analysis(seed=10 + k, scale=1.0 + scale_step * k, with_signals=False)
        report = {"pain_before": 4, "pain_after": 3} if pain else None
        frames.append(summarise_analysis(a, session_id=f"s{k}", started_at=day(2 * k), self_report=report))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def progress6():
    s = _summaries(6)
    return s, plot_progress(s)


def _panel(fig: Figure, metric: str, exercise: str, side: str):
    found = [ax for ax in fig.axes if ax.get_gid() == f"progress:{metric}:{exercise}:{side}"]
    assert len(found) == 1, f"no panel {metric}:{exercise}:{side}"
    return found[0]


def _child(ax, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_progress_has_a_row_of_panels_per_exercise_and_side(progress6):
    s, fig = progress6
    groups = {(e, sd or "-") for e, sd in zip(s["exercise"], s["side"])}
    assert len(groups) == 5
    for exercise, side in groups:
        for metric in ("peak", "hold", "counts"):
            _panel(fig, metric, exercise, side)
    assert [ax for ax in fig.axes if ax.get_gid() == "progress:pain"]


def test_progress_points_match_the_summaries(progress6):
    s, fig = progress6
    g = s[(s["exercise"] == "seated_twist") & (s["side"] == "left")].sort_values("started_at")
    ax = _panel(fig, "peak", "seated_twist", "left")
    (values,) = _child(ax, "values")
    np.testing.assert_allclose(values.get_ydata(), g["peak_abs_deg_mean"].to_numpy())
    (best,) = _child(ax, "best")
    np.testing.assert_allclose(best.get_ydata(), g["peak_abs_deg_max"].to_numpy())
    counts = _panel(fig, "counts", "seated_twist", "left")
    (reps,) = _child(counts, "reps")
    assert [seg[1, 1] for seg in reps.get_segments()] == list(g["reps"].astype(float))
    (cracks,) = _child(counts, "cracks")
    assert [seg[1, 1] for seg in cracks.get_segments()] == list(g["possible_cracks"].astype(float))
    assert g["possible_cracks"].sum() == len(g)  # the builder's crack is in the first left twist


def test_baseline_is_the_median_of_the_first_three_sessions(progress6):
    s, fig = progress6
    g = s[s["exercise"] == "chair_backbend"].sort_values("started_at")
    ax = _panel(fig, "peak", "chair_backbend", "-")
    (line,) = _child(ax, "baseline")
    assert line.get_ydata()[0] == pytest.approx(np.median(g["peak_abs_deg_mean"].to_numpy()[:3]))


def test_trend_needs_five_sessions():
    s4 = _summaries(4)
    fig4 = plot_progress(s4)
    ax4 = _panel(fig4, "peak", "cat_stretch", "-")
    assert not _child(ax4, "trend")
    (note,) = _child(ax4, "fewer-sessions")
    assert "too few for a trend" in note.get_text() and "4 sessions" in note.get_text()
    s2 = _summaries(2)
    ax2 = _panel(plot_progress(s2), "peak", "cat_stretch", "-")
    assert not _child(ax2, "trend") and not _child(ax2, "baseline")
    assert "no baseline" in _child(ax2, "fewer-sessions")[0].get_text()
    s5 = _summaries(5)
    ax5 = _panel(plot_progress(s5), "peak", "cat_stretch", "-")
    (trend,) = _child(ax5, "trend")
    # the builder's peaks grow 3 % per session (every 2 days): the trend must rise
    y = trend.get_ydata()
    assert y[1] > y[0]
    assert "/week" in _child(ax5, "trend-text")[0].get_text()


def test_reference_bands_only_where_a_comparable_source_exists(progress6):
    _, fig = progress6
    for exercise, side, band in (("chair_backbend", "-", (6.0, 29.0)), ("seated_twist", "left", (10.0, 35.0)),
                                 ("trunk_rotation", "left", None), ("cat_stretch", "-", None)):
        ax = _panel(fig, "peak", exercise, side)
        found = _child(ax, "norm-band")
        if band is None:
            assert not found
        else:
            ys = (found[0].get_y(), found[0].get_y() + found[0].get_height())
            assert ys == pytest.approx(band)
    assert _child(_panel(fig, "peak", "seated_twist", "left"), "norm-line")
    caption = [a for a in fig.findobj() if a.get_gid() == "caption"][0].get_text()
    assert "Troke" in caption and "L4–S1" in caption and "hips" in caption
    assert "Without an age the overall adult range is shown" in caption


def test_age_adds_an_approximate_age_line():
    fig = plot_progress(_summaries(3), age_years=50)
    (line,) = _child(_panel(fig, "peak", "chair_backbend", "-"), "norm-line")
    assert line.get_ydata()[0] == pytest.approx(29.0 + (50 - 20) / 60 * (6.0 - 29.0))


def test_pain_row_shows_every_reported_session():
    s = _summaries(3)
    fig = plot_progress(s)
    pain = [ax for ax in fig.axes if ax.get_gid() == "progress:pain"][0]
    (before,) = _child(pain, "pain-before")
    assert list(before.get_ydata()) == [4.0, 4.0, 4.0]
    fig2 = plot_progress(_summaries(2, pain=False))
    pain2 = [ax for ax in fig2.axes if ax.get_gid() == "progress:pain"][0]
    assert _child(pain2, "no-pain")


def test_a_year_of_sessions_stays_readable():
    """Above 60 sessions markers shrink and running lines appear (bars would merge)."""
    base = [make_analysis(seed=30 + k, with_signals=False) for k in range(3)]
    rows = [summarise_analysis(base[k % 3], session_id=f"s{k}", started_at=day(k),
                               self_report={"pain_before": 3, "pain_after": 2}) for k in range(70)]
    fig = plot_progress(pd.concat(rows, ignore_index=True))
    peak = _panel(fig, "peak", "cat_stretch", "-")
    (values,) = _child(peak, "values")
    assert values.get_markersize() < 4.5 and len(values.get_xdata()) == 70
    assert _child(peak, "values-running") and _child(peak, "trend")
    counts = _panel(fig, "counts", "cat_stretch", "-")
    assert _child(counts, "reps-running") and _child(counts, "cracks-running")
    pain = [ax for ax in fig.axes if ax.get_gid() == "progress:pain"][0]
    assert _child(pain, "pain-after-running")


def test_progress_without_reps_says_so():
    empty = _summaries(1).iloc[0:0]
    fig = plot_progress(empty)
    assert [a for a in fig.findobj() if a.get_gid() == "no-reps"]


def test_progress_renders_to_png(progress6):
    buf = io.BytesIO()
    progress6[1].savefig(buf, format="png", dpi=40)
    assert buf.getvalue()[:4] == b"\x89PNG"


# ------------------------------------------------------------------ summaries, norms
def test_summarise_analysis_groups_by_exercise_and_side():
    a = make_analysis(seed=6, hold_every=2)
    s = summarise_analysis(a, session_id="x", started_at=day(0), self_report={"pain_before": 5})
    assert list(s.columns[:4]) == ["session_id", "started_at", "exercise", "side"]
    assert s["reps"].sum() == len(a.reps)
    twist_l = s[(s["exercise"] == "seated_twist") & (s["side"] == "left")].iloc[0]
    reps = [r for r in a.reps if r.exercise == "seated_twist" and r.side == "left"]
    assert twist_l["peak_abs_deg_max"] == pytest.approx(max(abs(r.peak_deg) for r in reps))
    holds = [r.hold_s for r in reps if r.hold_s is not None]
    assert twist_l["reps_with_hold"] == len(holds)
    assert twist_l["hold_s_mean"] == pytest.approx(np.mean(holds))
    # the crack sits in repetition 2 (the first seated twist, left)
    assert a.reps[2].exercise == "seated_twist" and a.reps[2].side == "left"
    assert twist_l["possible_cracks"] == 1 and s["possible_cracks"].sum() == 1
    assert (s["pain_before"] == 5).all() and s["pain_after"].isna().all()
    back = s[s["exercise"] == "chair_backbend"].iloc[0]
    assert back["side"] is None and back["peak_abs_deg_mean"] > 0  # magnitude of an extension


def test_summarise_orders_rows_like_the_schema():
    reps = tuple(Rep(exercise=e, side=s, start_s=0.0, hold_start_s=None, hold_end_s=None, end_s=1.0,
                     hold_s=None, peak_deg=10.0, peak_s=0.5)
                 for e, s in (("cat_stretch", None), ("seated_twist", "right"), ("chair_backbend", None)))
    a = make_analysis(seed=7)
    a2 = type(a)(signals=a.signals, reps=reps, spikes=(), cracks=(),
                 summary=Summary.of_events(reps, (), ()), sample_rate_hz=50.0, duration_s=2.0)
    s = summarise_analysis(a2)
    assert list(s["exercise"]) == ["chair_backbend", "seated_twist", "cat_stretch"]
    assert set(s["exercise"]) <= set(schema.EXERCISES)


def test_reference_for_validates_and_interpolates():
    with pytest.raises(ValidationError, match="unknown exercise"):
        reference_for("handstand")
    with pytest.raises(ValidationError, match="age"):
        reference_for("chair_backbend", age_years=5)
    assert reference_for("chair_backbend", 20).line_deg == pytest.approx(29.0)
    assert reference_for("chair_backbend", 85).line_deg == pytest.approx(6.0)
    assert reference_for("trunk_rotation").band is None
    assert reference_for("seated_twist").line_deg == 7.0
    assert "troke2005" in reference_for("seated_twist").sources


def test_report_package_stays_out_of_the_io_layers():
    """Reports take analyses and frames: importing them pulls in no database, BLE,
    asyncio or pyplot (style.md one-way flow)."""
    import subprocess
    import sys

    code = ("import sys, tracker.report, tracker.report.writer; "
            "print(','.join(m for m in ('sqlite3', 'bleak', 'asyncio', 'matplotlib.pyplot', "
            "'tracker.store') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_reference_changes_outside_repetitions_are_marked(analysis):
    """A re-taken reference (e.g. after lying down) is where the trace may jump: a small
    marker says so; the changes at each repetition's own start and end are not marked."""
    sig = analysis.signals.copy()
    t = sig["t_s"].to_numpy()
    between = [r.end_s + 1.5 for r in analysis.reps[:1]]  # a re-reference between reps
    names = np.where(t < between[0], "neutral", f"posture at {between[0]:.1f} s")
    first = analysis.reps[1]  # and one at a repetition's start: not marked
    names = np.where((t >= first.start_s) & (t < first.end_s), "rep", names)
    sig[schema.REFERENCE_COLUMN] = pd.Categorical(names)
    fig = plot_session(dataclasses.replace(analysis, signals=sig))
    marks = _by_gid(fig, "refchange:")
    assert len(marks) == 1
    x = marks[0].get_xdata()[0]
    assert abs(x - between[0]) < 0.1
    assert any("re-referenced" in (t.get_text() or "") for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    # without the column (older stored analyses) nothing is drawn
    fig2 = plot_session(dataclasses.replace(analysis, signals=analysis.signals.drop(
        columns=[schema.REFERENCE_COLUMN], errors="ignore")))
    assert not _by_gid(fig2, "refchange:")
