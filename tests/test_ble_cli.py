"""``tracker scan/record/demo`` over the emulated link, and what a killed recorder leaves."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("bumble")

from tracker.cli import cli  # noqa: E402
from tracker.sessions import impulse_windows_of, load_analysis  # noqa: E402
from tracker.store import SCHEMA_VERSION, Store  # noqa: E402

pytestmark = pytest.mark.timeout(90)
REPO = Path(__file__).resolve().parents[1]


def _migrated(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)) as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION
    except sqlite3.Error:
        return False


class _Recorder:
    """``tracker record --virtual`` in a subprocess, its stderr collected by a thread."""

    def __init__(self, data_dir: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "record", "--virtual", "--seconds", "120", "--speed", "4",
             "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, cwd=REPO,
        )
        self.data_dir = data_dir
        self.err: list[str] = []
        self._reader = threading.Thread(target=lambda: self.err.extend(self.proc.stderr), daemon=True)
        self._reader.start()

    def wait_for_committed(self, min_s: float) -> float:
        """Seconds of samples committed once at least ``min_s`` are (session status recording)."""
        deadline = time.monotonic() + 45
        # Open the store only once the recorder has created and migrated it (read-only
        # peeks until then: two processes must not migrate a new file at once).
        db = self.data_dir / "tracker.sqlite"
        while not _migrated(db):
            assert self.proc.poll() is None and time.monotonic() < deadline, "".join(self.err)
            time.sleep(0.05)
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "".join(self.err)
            with Store.open(self.data_dir, check_interrupted=False) as store:
                infos = store.sessions()
            if infos and infos[0].n_samples and infos[0].duration_s >= min_s:
                assert infos[0].status == "recording"
                return infos[0].duration_s
            time.sleep(0.1)
        self.proc.kill()
        pytest.fail("the recorder never committed samples")

    def finish(self, timeout_s: float) -> tuple[str, str]:
        out = self.proc.stdout.read()
        self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return out, "".join(self.err)


def test_sigkill_leaves_a_readable_session_marked_interrupted(tmp_path):
    data_dir = tmp_path / "home"
    recorder = _Recorder(data_dir)
    committed_s = recorder.wait_for_committed(1.0)
    time.sleep(0.7)
    recorder.proc.send_signal(signal.SIGKILL)
    recorder.finish(10)
    assert recorder.proc.returncode == -signal.SIGKILL
    with Store.open(data_dir) as store:  # sees the writer is gone
        (info,) = store.sessions()
        assert info.status == "interrupted"
        rec = store.load_recording(info.id)
    # Committed at least what we saw, plus what the 0.5 s flush interval covered since.
    assert len(rec) == info.n_samples and rec.duration_s >= committed_s + 0.1
    assert (rec.t_s[1:] > rec.t_s[:-1]).all()


def test_ctrl_c_ends_the_session_complete_with_its_quality(tmp_path):
    data_dir = tmp_path / "home"
    recorder = _Recorder(data_dir)
    recorder.wait_for_committed(0.5)
    recorder.proc.send_signal(signal.SIGINT)
    out, err = recorder.finish(20)
    assert recorder.proc.returncode == 0, err
    assert "stopping" in err and "complete (user)" in out
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        quality = store.quality(info.id)
        rec = store.load_recording(info.id)
    assert info.status == "complete" and quality.link.ended_by == "user"
    assert quality.samples == len(rec) == info.n_samples and quality.lost_samples == 0


def test_scan_virtual_lists_the_tag_with_its_profile():
    result = CliRunner().invoke(cli, ["scan", "--virtual", "--seconds", "0.5"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("tracker-imu-0001"))
    assert line.split()[-1] == "tracker-imu" and "-50" in line


def test_scan_without_bluetooth_fails_with_one_clear_line(monkeypatch):
    # No adapter here: bleak's BlueZ backend cannot reach D-Bus. (Skip if one exists.)
    if Path("/run/dbus/system_bus_socket").exists() or Path("/var/run/dbus/system_bus_socket").exists():
        pytest.skip("this machine has D-Bus; a real adapter may exist")
    result = CliRunner().invoke(cli, ["scan", "--seconds", "0.5"])
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot scan for BLE devices") and "tracker demo" in result.output


def test_record_virtual_witmotion_prints_quality_and_stores(data_dir):
    result = CliRunner().invoke(cli, ["record", "--virtual", "--virtual-profile", "witmotion",
                                      "--seconds", "1", "--speed", "1", "--rate", "50"])
    assert result.exit_code == 0, result.output
    assert "complete (seconds)" in result.output and "51 samples" in result.output
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
    assert (info.profile, info.nominal_rate_hz, info.n_samples) == ("witmotion", 50.0, 51)


def test_demo_records_over_the_link_and_writes_its_files(data_dir, tmp_path):
    out = tmp_path / "demo-out"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--speed", "25", "--minutes", "0.5"])
    assert result.exit_code == 0, result.output
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        quality = store.quality(info.id)
    assert info.status == "complete" and quality.lost_samples == 0 and quality.gaps == 0
    raw = out / "csv" / f"{info.id}_raw.csv"
    with open(raw, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:4] == ["t_s", "acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2"]
    assert len(rows) - 1 == info.n_samples == quality.samples
    assert f"session   {info.id} (complete)" in result.output
    assert (out / "simulated_truth.json").exists()
    assert "Stretch gently" in result.output  # the safety line
    if "skipped   report" not in result.output:
        assert (out / "report.html").exists() and "report    " in result.output
    if "skipped   analysis" not in result.output:
        # Through the BLE path the analysis still finds the simulated repetitions.
        truth = json.loads((out / "simulated_truth.json").read_text())
        with Store.open(data_dir) as store:
            analysis = load_analysis(store, info.id)
        assert analysis is not None and abs(len(analysis.reps) - len(truth["reps"])) <= 1
        # judged as any stored session: with the windows the tag sent as witnesses
        assert any(n.startswith("tag snippets: ") for n in analysis.summary.notes), analysis.summary.notes
        assert (out / "csv" / f"{info.id}_reps.csv").exists()
    # the tag sent its kHz impulse windows (at the host's threshold) around the simulated
    # knocks and pops, and the store kept them for the crack judgement
    with Store.open(data_dir) as store:
        windows = impulse_windows_of(store, info.id)
    truth = json.loads((out / "simulated_truth.json").read_text())
    knocks = [c["t_s"] for c in truth["confounders"] if c["kind"] in ("tap", "strap_slap")]
    assert windows and knocks
    for t in knocks + [c["t_s"] for c in truth["cracks"] if c["amplitude_m_s2"] > 9.81]:
        assert any(w.t0_s - 0.02 <= t <= w.t0_s + 0.05 for w in windows), t


@pytest.mark.parametrize("args", [["record", "--virtual", "--seconds", "1"], ["demo"], ["scan", "--virtual"]],
                         ids=["record", "demo", "scan"])
def test_without_bumble_virtual_commands_say_how_to_install_it(data_dir, tmp_path, monkeypatch, args):
    monkeypatch.setitem(sys.modules, "bumble", None)  # import bumble -> ImportError
    monkeypatch.delitem(sys.modules, "tracker.ble.bumble_backend", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "pip install 'tracker[demo]'" in result.output.splitlines()[-1]
