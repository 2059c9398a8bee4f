"""The tool opens no network connection (issue 10, privacy).

The main job (``tracker demo``: simulate, record over the emulated BLE link, analyse,
export, report) and the commands people run afterwards (``report``, ``export``,
``analyze``, ``sessions``, ``show``, ``doctor``) run in a subprocess whose
``sitecustomize`` refuses every IPv4/IPv6 socket and every name lookup, and logs each
attempt (so an attempt that the code catches and ignores is still seen). AF_UNIX
sockets stay allowed: asyncio's self-pipe uses ``socket.socketpair()``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("bumble")

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(180)

GUARD = textwrap.dedent('''
    """Test guard: no IPv4/IPv6 sockets, no name lookups; every attempt is logged."""
    import errno
    import os
    import socket
    import _socket

    _LOG = os.environ["NO_NETWORK_LOG"]
    _INET = (socket.AF_INET, socket.AF_INET6)


    def _refuse(what):
        import traceback

        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(what + "\\n" + "".join(traceback.format_stack(limit=12)) + "\\n---\\n")
        raise OSError(errno.EACCES, f"network access blocked by the test: {what}")


    _Base = socket.socket


    class GuardedSocket(_Base):
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            if fileno is None and (family == -1 or family in _INET):
                _refuse(f"socket(family={family}, type={type})")
            super().__init__(family, type, proto, fileno)
            if self.family in _INET:  # e.g. adopted from a file descriptor
                _refuse(f"inet socket from fd {fileno}")


    def _blocked(name):
        def refuse(*args, **kwargs):
            _refuse(f"{name}{args!r}")
        return refuse


    # socket.socket's own __init__ calls _socket.socket.__init__: only the public class is swapped.
    socket.socket = socket.SocketType = GuardedSocket
    for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
                  "create_connection", "create_server", "fromfd"):
        if hasattr(socket, _name):
            setattr(socket, _name, _blocked(_name))
        if hasattr(_socket, _name):
            setattr(_socket, _name, _blocked(_name))
''')

#: Runs CLI commands one after the other in this (guarded) process; prints their exit codes.
DRIVER = textwrap.dedent('''
    import json, sys
    from tracker.cli import cli

    codes = []
    for args in json.loads(sys.argv[1]):
        try:
            code = cli.main(args=args, prog_name="tracker", standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
        codes.append(code or 0)
        print(f"== {args[0]} exit {code or 0}", flush=True)
    print("CODES " + json.dumps(codes))
''')


#: HTML that makes a browser fetch something: src=, <link href=, CSS url() and @import.
REMOTE_LOAD = re.compile(
    r"""\bsrc\s*=\s*["']?(?:https?:)?//[^"'\s>]*"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//[^"'\s>]*"""
    r"""|url\(\s*["']?(?:https?:)?//[^)]*|@import""",
    re.IGNORECASE,
)


def _guarded_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "network-attempts.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard_dir), str(REPO)]),
           "NO_NETWORK_LOG": str(log), "TRACKER_HOME": str(tmp_path / "home"),
           "MPLBACKEND": "Agg", "NO_COLOR": "1"}
    return env, log


def test_the_guard_catches_a_connection_attempt(tmp_path):
    """Positive control: the guard refuses and logs, even when the caller swallows the error."""
    env, log = _guarded_env(tmp_path)
    code = textwrap.dedent("""
        import asyncio, socket, urllib.request
        try:
            urllib.request.urlopen("http://192.0.2.1/", timeout=1)
        except OSError:
            pass
        try:
            socket.create_connection(("example.com", 80), timeout=1)
        except OSError:
            pass
        try:
            socket.getaddrinfo("localhost", 80)
        except OSError:
            pass
        try:
            socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"x", ("::1", 9))
        except OSError:
            pass
        a, b = socket.socketpair()          # AF_UNIX still works
        a.send(b"x"); assert b.recv(1) == b"x"
        asyncio.run(asyncio.sleep(0))        # so does an event loop
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    attempts = [a.split("\n", 1)[0] for a in log.read_text().split("\n---\n") if a.strip()]
    assert [a.split("(", 1)[0] for a in attempts] == [
        "create_connection", "create_connection", "getaddrinfo", "socket"], attempts
    assert f"family={int(socket.AF_INET6)}" in attempts[-1]


def test_demo_and_the_commands_after_it_open_no_network_connection(tmp_path):
    env, log = _guarded_env(tmp_path)
    home = tmp_path / "home"
    demo_out, report_out, export_out = tmp_path / "demo", tmp_path / "report", tmp_path / "export"
    commands = [
        ["demo", "--out", str(demo_out), "--speed", "25", "--minutes", "0.5"],
        ["sessions"],
        ["show", "latest"],
        ["analyze", "latest", "--json"],
        ["export", "--all", "--out", str(export_out)],
        ["report", "--all", "--out", str(report_out), "--png"],
        ["doctor"],
    ]
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands)], env=env,
                          capture_output=True, text=True, timeout=170, cwd=tmp_path)
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"network access attempted:\n{attempts[:4000]}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    codes = json.loads(proc.stdout.rsplit("CODES ", 1)[1])
    assert codes == [0] * len(commands), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr

    # The job did its work: a session, its CSVs, the report files.
    assert (home / "tracker.sqlite").exists()
    assert (demo_out / "simulated_truth.json").exists() and (demo_out / "report.html").exists()
    assert len(list((demo_out / "csv").glob("*_raw.csv"))) == 1
    assert len(list(export_out.glob("*_raw.csv"))) == 1 and list(export_out.glob("*_reps.csv"))
    assert (report_out / "report.html").exists() and (report_out / "report.pdf").exists()
    assert list(report_out.glob("*.png"))
    # Self-contained: the report loads nothing from the network when opened.
    for html in (demo_out / "report.html", report_out / "report.html"):
        text = html.read_text(encoding="utf-8")
        remote = REMOTE_LOAD.findall(text)
        assert remote == [], f"{html.name} loads remote resources: {remote[:5]}"
