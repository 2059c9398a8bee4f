"""The notebooks run top to bottom: nbclient, kernel ``python3``, no network, temp TRACKER_HOME.

Each notebook gets a first cell that makes any non-loopback connection raise, so a
notebook that reached for the network would fail here, not silently on a laptop. The
working directory is a temporary folder, and the check afterwards confirms that nothing
was written into the repository or into ``TRACKER_HOME``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed: pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed: pip install -e '.[test]'")
pytest.importorskip("ipykernel", reason="ipykernel is not installed, so no python3 kernel can run the "
                                        "notebooks: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Figures each notebook must produce (image/png outputs), so a silently empty plot fails.
MIN_FIGURES = {"session_review": 4, "progress": 2}

NO_NETWORK = """
import socket as _socket
_LOCAL = {"127.0.0.1", "::1", "localhost"}
_connect = _socket.socket.connect
def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if self.family != getattr(_socket, "AF_UNIX", None) and host not in _LOCAL:
        raise OSError(f"notebook tried to reach the network: {address!r}")
    return _connect(self, address)
_socket.socket.connect = _guarded_connect
_getaddrinfo = _socket.getaddrinfo
def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL and host is not None:
        raise OSError(f"notebook tried to resolve {host!r}")
    return _getaddrinfo(host, *args, **kwargs)
_socket.getaddrinfo = _guarded_getaddrinfo
"""


def _snapshot(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


def test_there_are_notebooks() -> None:
    assert {p.stem for p in NOTEBOOKS} >= set(MIN_FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, \
                f"{path.name}: strip outputs before committing (they go stale as the analysis changes)"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.setenv("TRACKER_HOME", str(home))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("TRACKER_EXAMPLES_DIR", raising=False)
    before = {d: _snapshot(ROOT / d) for d in ("data", "notebooks")}

    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK))
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(work)}})
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
    elapsed = time.perf_counter() - t0

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "not every cell ran"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= MIN_FIGURES[path.stem], f"{path.name} drew {figures} figures"
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "possible crack" in text.lower()  # the safety guidance is printed
    assert not list(home.iterdir()), "the notebook wrote into TRACKER_HOME"
    assert {d: _snapshot(ROOT / d) for d in before} == before, "the notebook changed files in the repository"
    print(f"{path.name}: {elapsed:.1f} s")
