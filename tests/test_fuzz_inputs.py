"""Bad-input sweep: CSV importers and CLI arguments never crash with a traceback.

The default run tries a few hundred cases; ``pytest -m fuzz`` runs >= 10^4 per target.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import schema
from tracker.cli import cli
from tracker.csvio import read_recording
from tracker.errors import ImportFormatError

HEADERS = [
    ",".join(schema.RAW_COLUMNS),
    ",".join(schema.RAW_COLUMNS_WITH_MAG),
    '"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)","Acceleration z (m/s^2)",'
    '"Gyroscope x (rad/s)","Gyroscope y (rad/s)","Gyroscope z (rad/s)"',
    "time,seconds_elapsed,z,y,x",
    "",
]
cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.sampled_from(["", "nan", "inf", "-", "1e400", "0x10", " ", '"', "1,5", ";"]),
    st.text(max_size=5),
)
csv_text = st.builds(
    lambda header, rows, sep: header + "\n" + "\n".join(sep.join(r) for r in rows),
    st.sampled_from(HEADERS),
    st.lists(st.lists(cells, min_size=0, max_size=11), max_size=8),
    st.sampled_from([",", ";", "\t"]),
)


def _check_csv(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            read_recording(path)
        except ImportFormatError as exc:
            assert str(path) in str(exc), f"error does not name the file: {exc}"


@settings(max_examples=300, deadline=None)
@given(csv_text)
def test_csv_importer_bad_input(text: str) -> None:
    _check_csv(text)


@pytest.mark.fuzz
@settings(max_examples=10_000, deadline=None)
@given(csv_text)
def test_csv_importer_fuzz(text: str) -> None:
    _check_csv(text)


COMMANDS = ["sessions", "show", "import", "export", "delete", "analyze", "report", "doctor"]
args = st.lists(
    st.one_of(
        st.sampled_from(["--json", "--all", "--out", "--what", "--since", "--yes", "--data-dir",
                         "--angles-csv", "latest", "raw", "x" * 300, "-", "--", "../../etc"]),
        # A real argv cannot hold NUL bytes (C strings), so none are generated.
        st.text(st.characters(blacklist_characters="\x00"), max_size=12),
    ),
    max_size=5,
)


def _check_cli(command: str, argv: list[str], home: Path) -> None:
    argv = [a for a in argv if a != "--data-dir"]
    result = CliRunner().invoke(cli, [command, *argv, "--data-dir", str(home)], input="n\n")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"tracker {command} {argv!r} crashed: {result.exception!r}")
    assert result.exit_code in (0, 1, 2), (command, argv, result.output)
    assert "Traceback" not in result.output


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(COMMANDS), args)
def test_cli_bad_arguments(tmp_path: Path, command: str, argv: list[str]) -> None:
    _check_cli(command, argv, tmp_path / "home")


@pytest.mark.fuzz
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(COMMANDS), args)
def test_cli_fuzz(tmp_path: Path, command: str, argv: list[str]) -> None:
    _check_cli(command, argv, tmp_path / "home")


def test_cli_overlong_names_are_user_errors(tmp_path: Path) -> None:
    """Found by the fuzz run: a 300-character INPUT made `analyze` crash with ENAMETOOLONG."""
    for command in COMMANDS:
        _check_cli(command, ["x" * 300], tmp_path / "home")


def test_cli_non_utf8_arguments_are_user_errors(tmp_path: Path) -> None:
    """Found by the fuzz run: a lone surrogate (non-UTF-8 bytes in argv) crashed `show`."""
    for command in COMMANDS:
        _check_cli(command, ["\udcff"], tmp_path / "home")
        _check_cli(command, ["\ud800"], tmp_path / "home")
