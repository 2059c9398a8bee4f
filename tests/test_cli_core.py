"""CLI: thin commands over the store and CSV code; errors are one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.csvio import write_raw_csv

from helpers import still_recording


def run(*args: str) -> "click.testing.Result":
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_every_command_has_help() -> None:
    for name, command in cli.commands.items():
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert command.help, f"{name} has no help text"


def test_import_list_show_export_delete(data_dir: Path, tmp_path: Path) -> None:
    csv = write_raw_csv(still_recording(300, 100.0), tmp_path / "walk.csv")
    result = run("import", str(csv))
    assert result.exit_code == 0 and "300 samples" in result.output
    listing = json.loads(run("sessions", "--json").output)
    assert len(listing) == 1 and listing[0]["n_samples"] == 300 and listing[0]["status"] == "complete"
    sid = listing[0]["id"]
    shown = run("show", sid[:12])
    assert shown.exit_code == 0 and "achieved rate 100.0 Hz" in shown.output
    out = tmp_path / "out"
    exported = run("export", sid, "--what", "raw", "--out", str(out))
    assert exported.exit_code == 0
    lines = (out / f"{sid}_raw.csv").read_text().splitlines()
    assert lines[0].startswith("t_s,acc_x_m_s2") and len(lines) == 301
    assert run("delete", sid, "--yes").exit_code == 0
    assert json.loads(run("sessions", "--json").output) == []


def test_bad_import_leaves_nothing_behind(data_dir: Path, tmp_path: Path) -> None:
    good = write_raw_csv(still_recording(50), tmp_path / "good.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text().replace("\n0.100000,", "\n0.100000,oops", 1))
    result = CliRunner().invoke(cli, ["import", str(good), str(bad)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: ") and "bad.csv, line 12" in result.output
    assert "Traceback" not in result.output
    assert json.loads(run("sessions", "--json").output) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "nope"], 1, "error: no session 'nope'"),
        (["export", "--out", "x"], 2, "give a SESSION id or --all"),
        (["export", "latest"], 2, "Missing option '--out'"),
        (["import", "/no/such/file.csv"], 1, "error: /no/such/file.csv: no such file"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_user_and_usage_errors(data_dir: Path, args: list[str], code: int, message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_python_dash_m_and_data_dir_option(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    proc = subprocess.run([sys.executable, "-m", "tracker", "sessions", "--data-dir", str(target)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "no sessions yet" in proc.stdout
    assert (target / "tracker.sqlite").exists()


def test_counts_read_as_words() -> None:
    # `tracker show` said "1 possible cracks"
    from tracker.cli._common import plural

    assert [plural(n, "possible crack") for n in (0, 1, 2)] == ["0 possible cracks", "1 possible crack",
                                                                "2 possible cracks"]
