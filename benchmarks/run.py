"""Run every benchmark and print one table of figures against their targets.

Usage::

    python benchmarks/run.py            # all benchmarks
    python benchmarks/run.py store ble  # only those whose file name contains a word

Each ``bench_*.py`` runs in its own process (so memory peaks and imports don't mix)
and prints its own table: figure, median, target, baseline measured in the same run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(word in s.stem for word in argv)]
    failed = []
    for script in scripts:
        print(f"\n== {script.stem} " + "=" * (70 - len(script.stem)), flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], text=True, capture_output=True)
        print(proc.stdout.rstrip())
        if proc.returncode != 0:
            failed.append(script.stem)
            print(f"FAILED ({proc.returncode}):\n{proc.stderr.strip()[-2000:]}")
        print(f"[{script.stem}: {time.perf_counter() - t0:.0f} s]")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
