"""HTML/PDF reports from a real store: well formed, self-contained, safety visible."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from report_builders import day, make_analysis, tiny_recording
from tracker import schema
from tracker.cli import cli
from tracker.errors import TrackerError, ValidationError
from tracker.report.summaries import collect, summarise_analysis
from tracker.sessions import load_analysis, save_analysis, stored_session
from tracker.sessions import report as write_report
from tracker.report.tables import overview_table
from tracker.store import Store

NASTY_NOTE = 'sore <script>alert("x")</script> & "stiff"'


def _fill(store: Store, n: int, *, analysed: int | None = None) -> tuple[list[str], dict]:
    """``n`` sessions two days apart: tiny recordings, known analyses, pain reports.

    Only the first ``analysed`` sessions (default all) get a stored analysis.
    """
    analyses = {}
    ids = []
    for k in range(n):
        when = day(2 * k)
        rec = tiny_recording(when, drop=slice(50, 60) if k == 0 else None, seed=k)
        sid = store.import_recording(rec, notes=NASTY_NOTE if k == 1 else "")
        a = make_analysis(seed=20 + k, scale=1.0 + 0.03 * k)
        analyses[when] = a
        if analysed is None or k < analysed:
            save_analysis(store, sid, a)
        store.set_self_report(sid, pain_before=4, pain_after=6 if k == 2 else 3)
        ids.append(sid)
    return ids, analyses


def _analyse_by_start(analyses: dict):
    """The report's recompute step: the known analysis of the recording's session."""
    return lambda rec: analyses[rec.meta.started_at]


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    store = Store.open(root / "data")
    ids, analyses = _fill(store, 6)
    files = write_report(store, ids, root / "out", analyse=_analyse_by_start(analyses), png=True)
    return store, ids, analyses, files


def _parse(path: Path) -> ET.Element:
    text = path.read_text(encoding="utf-8")
    return ET.fromstring(text.split("\n", 1)[1])  # skip <!DOCTYPE html>


def _imgs(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if e.tag == "img"]


def test_html_is_well_formed_and_self_contained(multi):
    _, ids, _, files = multi
    text = files.html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    root = _parse(files.html)  # raises on any unbalanced or unescaped markup
    assert root.tag == "html"
    for el in root.iter():
        for attr in ("src", "href", "action", "data", "poster"):
            value = el.get(attr)
            if value is not None:
                assert value.startswith(("data:", "#")), f"external reference {attr}={value[:60]}"
    assert not [e for e in root.iter() if e.tag in ("script", "link", "iframe", "object", "embed")]
    style = "".join(e.text or "" for e in root.iter() if e.tag == "style")
    assert "url(" not in style and "@import" not in style
    assert not re.search(r"https?://", text)


def test_figures_are_embedded_as_png(multi):
    _, ids, _, files = multi
    imgs = _imgs(_parse(files.html))
    assert len(imgs) == 2  # progress + the latest session in full
    for img in imgs:
        src = img.get("src")
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        assert img.get("alt")
    ids_in_page = {e.get("id") for e in _parse(files.html).iter() if e.get("id")}
    assert "fig-progress" in ids_in_page and f"fig-session-{ids[-1]}" in ids_in_page
    assert [p.name for p in files.pngs] == ["report-progress.png", f"report-session-{ids[-1]}.png"]


def test_safety_guidance_is_near_the_top(multi):
    _, _, _, files = multi
    root = _parse(files.html)
    body = [e for e in root.iter() if e.tag == "body"][0]
    sections = [e for e in body if e.tag in ("section", "h2", "figure", "table", "div")]
    assert sections[0].get("id") == "safety"
    text = "".join(sections[0].itertext())
    assert schema.SAFETY_GUIDANCE in text
    assert "not a diagnosis" in text and "see a doctor" in text


def test_about_states_the_crack_detection_limits_by_rate_and_size(multi):
    # "Stated limits" (issue 16): what the held-out detection curve says, in words, where
    # people read about the report.
    from tracker.signal.spikes import DETECTION_CURVE, MEASURED_RECALL

    _, _, _, files = multi
    text = " ".join("".join(_parse(files.html).itertext()).split())
    for rate, curve in DETECTION_CURVE.items():
        assert f"{MEASURED_RECALL[rate][0]:.0%} at {rate:.0f} Hz" in text
        half = [a for a, r in curve if r >= 0.5]
        if not half:
            assert f"at {rate:.0f} Hz fewer than half at any size" in text
        elif half[0] > curve[0][0]:
            assert f"at {rate:.0f} Hz half or more of those of {half[0]:g} g or more" in text
    # the look-alikes a wearer can act on (bench_cracks.py's slap table)
    assert "a strap that slaps the sensor as one short push" in text
    assert "anything that rattles on the tag" in text and "fasten it" in text
    assert "a notification on a phone worn as the sensor: silence it" in text


def test_about_says_what_crack_detection_sees_at_the_rates_of_these_sessions(multi):
    # the sessions of the fixture are 50 Hz recordings with a gyroscope
    from tracker.signal.spikes import MEASURED_RECALL

    _, _, _, files = multi
    text = " ".join("".join(_parse(files.html).itertext()).split())
    assert (f"For the sessions in this report: at 50 Hz the motion sensor alone finds about "
            f"{MEASURED_RECALL[50.0][0]:.0%} of simulated pops, and a possible crack needs a crack score of 0.9.") in text


def test_user_text_is_escaped(multi):
    _, _, _, files = multi
    text = files.html.read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    root = _parse(files.html)
    assert any(NASTY_NOTE in "".join(td.itertext()) for td in root.iter() if td.tag == "td")


def test_tables_cover_every_session_and_quality(multi):
    store, ids, _, files = multi
    root = _parse(files.html)
    tables = {t.get("id"): t for t in root.iter() if t.tag == "table"}
    assert {"overview", "sessions", "quality", "reps"} <= set(tables)
    body_rows = lambda t: [r for r in t.iter() if r.tag == "tr" and r.find("td") is not None]  # noqa: E731
    assert len(body_rows(tables["sessions"])) == len(ids)
    assert len(body_rows(tables["quality"])) == len(ids)
    # session 0 lost 10 samples in the middle: the quality table says so and flags it
    lost = store.quality(ids[0]).lost_samples
    assert lost == 10
    first = body_rows(tables["quality"])[0]
    assert "10 (" in "".join(first.itertext()) and first.get("class") == "flag"
    # pain went up in session 2 (4 -> 6): flagged and listed under "Worth a look"
    assert body_rows(tables["sessions"])[2].get("class") == "flag"
    attention = [e for e in root.iter() if e.get("id") == "attention"][0]
    assert "Pain went up" in "".join(attention.itertext())
    # the repetitions table of the detailed session lists every repetition
    assert len(body_rows(tables["reps"])) == len(collect([stored_session(store, ids[-1])]).analyses[ids[-1]].reps)


def test_pdf_is_written(multi):
    _, _, _, files = multi
    data = files.pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert files.pdf_pages >= 4  # cover, progress, session figure, its reps, tables
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == files.pdf_pages


def test_single_session_report_has_no_progress_chart(tmp_path):
    store = Store.open(tmp_path / "data")
    ids, analyses = _fill(store, 1)
    files = write_report(store, ids, tmp_path / "out", analyse=_analyse_by_start(analyses), pdf=False,
                         dpi=40)
    assert files.pdf is None
    root = _parse(files.html)
    assert len(_imgs(root)) == 1
    assert "Progress charts start with the second session" in "".join(root.itertext())


def test_sessions_without_analysis_are_analysed_and_stored(tmp_path):
    store = Store.open(tmp_path / "data")
    ids, analyses = _fill(store, 3, analysed=1)
    assert load_analysis(store, ids[2]) is None
    files = write_report(store, ids, tmp_path / "out", analyse=_analyse_by_start(analyses), pdf=False,
                         dpi=40, detail_sessions=0)
    assert files.analysed_now == (ids[1], ids[2])
    assert len(load_analysis(store, ids[2]).reps) == len(analyses[day(4)].reps)


def test_no_sessions_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match="no sessions"):
        write_report(Store.open(tmp_path / "d"), [], tmp_path / "out")


# ------------------------------------------------------------------------- CLI
def _cli_store(data_dir: Path, n: int = 3) -> list[str]:
    store = Store.open(data_dir)
    ids, _ = _fill(store, n)
    store.close()
    return ids


def test_cli_report_all_writes_the_html(data_dir, tmp_path):
    _cli_store(data_dir, 2)
    out = tmp_path / "rep"
    result = CliRunner().invoke(cli, ["report", "--all", "--out", str(out), "--data-dir", str(data_dir),
                                      "--details", "0", "--no-pdf", "--png", "--age", "60"])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists() and not (out / "report.pdf").exists()
    assert (out / "report-progress.png").exists()
    assert str(out / "report.html") in result.output
    assert "reference ranges for age 60" in (out / "report.html").read_text()


def test_cli_report_since_filters_sessions(data_dir, tmp_path):
    ids = _cli_store(data_dir, 3)
    out = tmp_path / "rep"
    since = day(2).astimezone().strftime("%Y-%m-%d")
    result = CliRunner().invoke(cli, ["report", "--since", since, "--out", str(out), "--no-pdf",
                                      "--details", "0", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    text = (out / "report.html").read_text()
    assert ids[0] not in text and ids[1] in text and ids[2] in text
    assert not (out / "report.pdf").exists()


def test_cli_report_defaults_to_the_latest_session(data_dir, tmp_path):
    ids = _cli_store(data_dir, 3)
    out = tmp_path / "rep"
    result = CliRunner().invoke(cli, ["report", "--out", str(out), "--no-pdf", "--details", "0",
                                      "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert f"latest session {ids[-1]}" in result.output
    text = (out / "report.html").read_text()
    assert ids[-1] in text and ids[0] not in text
    prefix = CliRunner().invoke(cli, ["report", ids[0][:12], "--out", str(tmp_path / "p"), "--no-pdf",
                                      "--details", "0", "--data-dir", str(data_dir)])
    assert prefix.exit_code == 0, prefix.output
    assert ids[0] in (tmp_path / "p" / "report.html").read_text()


def test_cli_report_errors(data_dir, tmp_path):
    runner = CliRunner()
    empty = runner.invoke(cli, ["report", "--all", "--out", str(tmp_path / "x"), "--data-dir", str(data_dir)])
    assert empty.exit_code == 1 and "no sessions" in empty.output
    ids = _cli_store(data_dir, 1)
    both = runner.invoke(cli, ["report", ids[0], "--all", "--out", str(tmp_path / "x"),
                               "--data-dir", str(data_dir)])
    assert both.exit_code == 2 and "not both" in both.output
    future = runner.invoke(cli, ["report", "--since", "2999-01-01", "--out", str(tmp_path / "x"),
                                 "--data-dir", str(data_dir)])
    assert future.exit_code == 1 and "no sessions in that date range" in future.output
    bad_date = runner.invoke(cli, ["report", "--since", "yesterday", "--out", str(tmp_path / "x"),
                                   "--data-dir", str(data_dir)])
    assert bad_date.exit_code == 2


# ------------------------------------------------------- real data, real analysis
def test_report_from_example_sessions_with_the_real_analysis(tmp_path):
    """The repository's simulated example sessions, analysed by process_session on the way
    (no stored analysis yet): every found repetition is plotted and listed."""
    examples = pytest.importorskip("tracker.examples")
    try:
        table = examples.sessions()
    except TrackerError as exc:  # the data/ folder ships with the source repository only
        pytest.skip(f"example sessions not available: {exc}")
    store = Store.open(tmp_path / "data")
    names = list(table["name"][:2])
    ids = list(examples.import_into(store, names).values())
    files = write_report(store, ids, tmp_path / "out", pdf=False, dpi=40)
    assert set(files.analysed_now) == set(ids)
    latest = load_analysis(store, ids[-1])
    truth_reps = int(table[table["name"] == names[-1]].iloc[0]["n_reps"])
    assert abs(len(latest.reps) - truth_reps) <= 1  # the analysis finds the simulated reps
    root = _parse(files.html)
    reps_rows = [r for t in root.iter() if t.tag == "table" and t.get("id") == "reps"
                 for r in t.iter() if r.tag == "tr" and r.find("td") is not None]
    assert len(reps_rows) == len(latest.reps)
    assert len(_imgs(root)) == 2
    # pain from the manifest reaches the report
    row = table[table["name"] == names[-1]].iloc[0]
    sessions_rows = [r for t in root.iter() if t.tag == "table" and t.get("id") == "sessions"
                     for r in t.iter() if r.tag == "tr" and r.find("td") is not None]
    assert f"{int(row.pain_before)} → {int(row.pain_after)}" in "".join(sessions_rows[-1].itertext())


def test_overview_table_values():
    frames = [summarise_analysis(make_analysis(seed=40 + k, scale=1 + 0.1 * k, with_signals=False),
                                 session_id=f"s{k}", started_at=day(7 * k)) for k in range(5)]
    multi = overview_table(pd.concat(frames, ignore_index=True))
    row = [r for r in multi.rows if r[0] == "cat stretch"][0]
    cat = pd.concat(frames)[lambda f: f["exercise"] == "cat_stretch"].sort_values("started_at")
    assert row[1] == "5" and row[3] == f"{cat['peak_abs_deg_mean'].iloc[:3].median():.0f}°"
    assert row[4] == f"{cat['peak_abs_deg_mean'].iloc[-1]:.0f}°"
    assert row[6].startswith("+") and row[6].endswith("°/wk")  # peaks grow 10 % a week
    one = overview_table(frames[0])
    assert one.columns[:3] == ("exercise", "repetitions", "peak (mean)")
    assert sum(int(r[1]) for r in one.rows) == int(frames[0]["reps"].sum())
