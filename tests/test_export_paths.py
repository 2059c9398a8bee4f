"""Exported and report file names cannot leave the output directory (issue 10, security).

The store makes session ids itself, so hostile ids come from a tampered database: they
are planted here with plain SQL, then ``tracker export`` and ``tracker report`` run on
them. Whatever they do, no file may appear outside ``--out``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.errors import ValidationError
from tracker.export import safe_output_path
from tracker.sessions import export as export_sessions
from tracker.store import DB_FILENAME, Store

from helpers import still_recording

#: Hostile names; the absolute one is under the test's own tmp dir (see _hostile_ids).
HOSTILE_NAMES = ["../x", "/etc/passwd", "a/../../b", "..", "../../../../tmp/evil", "x/y", "a\\..\\b",
                 ".hidden", "", "nul\x00byte", "-rf"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_safe_output_path_refuses_names_that_could_leave_the_directory(tmp_path, name):
    with pytest.raises(ValidationError, match="unsafe output file name|would leave"):
        safe_output_path(tmp_path / "out", name)


def test_safe_output_path_keeps_ordinary_names_inside(tmp_path):
    out = tmp_path / "out"
    for name in ("20260105-090000-ab12_raw.csv", "sessions_summary.csv", "report.html",
                 "report-session-20260105-090000-ab12.png"):
        path = safe_output_path(out, name)
        assert path.parent == out.resolve() and path.name == name


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _plant_sessions(data_dir: Path, hostile_ids: list[str]) -> str:
    """A real session, then copies of it under hostile ids written straight into SQLite."""
    with Store.open(data_dir) as store:
        sid = store.import_recording(still_recording(3000, 100.0))
    with contextlib.closing(sqlite3.connect(data_dir / DB_FILENAME)) as conn, conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(sessions)") if r[1] != "id"]
        for bad in hostile_ids:
            conn.execute(f"INSERT INTO sessions (id, {', '.join(cols)}) "
                         f"SELECT ?, {', '.join(cols)} FROM sessions WHERE id = ?", (bad, sid))
            conn.execute("INSERT INTO sample_chunks SELECT ?, chunk, t_first_s, t_last_s, n, ncols, data"
                         " FROM sample_chunks WHERE session_id = ?", (bad, sid))
    return sid


def _hostile_ids(tmp_path: Path) -> list[str]:
    # An absolute id that would land in a directory the test owns (never /etc for real).
    return ["../x", "a/../../b", f"{tmp_path}/outside/evil", "..\\..\\win"]


def test_export_of_a_tampered_database_writes_nothing_outside_out(tmp_path):
    data_dir, out = tmp_path / "home", tmp_path / "deep" / "out"
    (tmp_path / "outside").mkdir()
    hostile = _hostile_ids(tmp_path)
    good = _plant_sessions(data_dir, hostile)
    before = _files_under(tmp_path) - _files_under(data_dir)
    runner = CliRunner()
    for bad in hostile:
        result = runner.invoke(cli, ["export", bad, "--what", "raw,summary", "--out", str(out),
                                     "--data-dir", str(data_dir)])
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: unsafe output file name") and "\n" == result.output[-1]
    # --all exports the good session and stops with the same clear error at a hostile one.
    result = runner.invoke(cli, ["export", "--all", "--what", "raw", "--out", str(out),
                                 "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "unsafe output file name" in result.output
    created = (_files_under(tmp_path) - _files_under(data_dir)) - before
    assert all(p.resolve().parent == out.resolve() for p in created), created
    assert {p.name for p in created} <= {f"{good}_raw.csv"}


def test_export_api_refuses_hostile_ids_before_writing(tmp_path):
    data_dir, out = tmp_path / "home", tmp_path / "out"
    hostile = _hostile_ids(tmp_path)
    _plant_sessions(data_dir, hostile)
    with Store.open(data_dir) as store:
        for bad in hostile:
            with pytest.raises(ValidationError):
                export_sessions(store, [bad], ["raw", "summary"], out)
    assert not out.exists() or _files_under(out) == set()
    assert not (tmp_path / "x_raw.csv").exists() and not (tmp_path / "outside").exists()


def test_report_on_a_tampered_database_writes_nothing_outside_out(tmp_path):
    data_dir, out = tmp_path / "home", tmp_path / "deep" / "out"
    (tmp_path / "deep" / "out" / "report-session-a").mkdir(parents=True)  # makes a/../../b resolvable
    (tmp_path / "outside").mkdir()
    hostile = _hostile_ids(tmp_path)
    _plant_sessions(data_dir, hostile)
    before = _files_under(tmp_path) - _files_under(data_dir)
    runner = CliRunner()
    for bad in hostile:
        result = runner.invoke(cli, ["report", bad, "--out", str(out), "--png", "--no-pdf",
                                     "--data-dir", str(data_dir)])
        assert result.exit_code == 1, result.output
        assert result.output.splitlines()[-1].startswith("error: unsafe output file name")
    created = (_files_under(tmp_path) - _files_under(data_dir)) - before
    assert created == set(), created  # refused before writing anything


def test_report_name_cannot_leave_the_folder(tmp_path):
    from tracker.sessions import report as write_report

    data_dir, out = tmp_path / "home", tmp_path / "out"
    with Store.open(data_dir) as store:
        sid = store.import_recording(still_recording(3000, 100.0))
        for name in ("../evil", "/tmp/evil", "sub/evil", ".."):
            with pytest.raises(ValidationError, match="unsafe output file name"):
                write_report(store, [sid], out, name=name, pdf=True)
        files = write_report(store, [sid], out, name="mine", pdf=False, png=True)
    assert files.html == out / "mine.html" and files.html.exists()
    assert files.pngs and all(p.parent == out for p in files.pngs)
    assert {p.name for p in _files_under(tmp_path) - _files_under(data_dir)} == \
        {"mine.html"} | {p.name for p in files.pngs}
