"""Make the example sessions in ``data/examples/`` (simulated, seeded, reproducible).

Six weeks of a person doing the design.md routine twice a week (Monday and Thursday
mornings) with a 100 Hz tag flat on the lower back. Over the weeks their range and hold
times grow and their self-reported pain falls, so the progress notebook and the report
examples have a trend to show. Everything comes from :func:`tracker.simulate.simulate_session`
with the seeds below; nothing is hand-edited.

Usage::

    python data/make_examples.py            # rewrite data/examples/
    python data/make_examples.py --out DIR  # somewhere else (the tests do this)

Files per session ``<name>``:

* ``<name>.zip`` — one raw-sample CSV in the design.md contract
  (``t_s,acc_x_m_s2,...,gyr_z_rad_s``), readable by ``tracker import`` and
  :func:`tracker.csvio.read_recording`. Values are written with 4 (acc, m/s²) and 5
  (gyro, rad/s) decimals: finer than the simulated sensor's LSB (4.8e-3 m/s², 1.1e-3
  rad/s), so nothing measurable is lost and the files stay small.
* ``<name>.truth.json`` — the simulator's ground truth (repetitions, cracks,
  confounders, mounting, gaps) plus the true angles at 10 Hz.

and ``sessions.csv``: one row per session with its UTC start, week, seed, device name,
self-reported pain (0–10) before and after, notes, sample count, the true repetitions and
cracks, and the zip's SHA-256. ``tracker import`` reads the start, device and pain from it.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import io
import json
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from tracker import schema
from tracker.examples import DEVICE
from tracker.simulate import Routine, SensorModel, simulate_session

MASTER_SEED = 20250106
RATE_HZ = 100.0
WEEKS = 6
FIRST_MONDAY = datetime(2025, 1, 6, tzinfo=timezone.utc)
SESSION_DAYS = (0, 3)  # Monday, Thursday
TRUTH_ANGLE_RATE_HZ = 10.0
OUT = Path(__file__).resolve().parent / "examples"

#: Week 0 -> week 5 (linear): primary-angle magnitude at the plateau (deg) and hold (s).
PROGRESS = {
    "chair_backbend": dict(peak=(14.0, 21.0), hold=(5.0, 9.0), reps=2, sides=(None,)),
    "seated_twist": dict(peak=(8.0, 12.0), hold=(10.0, 18.0), reps=1, sides=("left", "right")),
    "trunk_rotation": dict(peak=(18.0, 25.0), hold=(12.0, 22.0), reps=1, sides=("left", "right")),
    "cat_stretch": dict(peak=(16.0, 24.0), hold=(4.0, 7.0), reps=2, sides=(None,)),
}
PAIN_BEFORE = (5.5, 1.5)  # typical self-report, week 0 -> week 5


def _lerp(pair: tuple[float, float], f: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * f


def routine_for(week: int, rng: np.random.Generator) -> Routine:
    """The session's routine: this week's range and holds, with day-to-day variation."""
    f = week / (WEEKS - 1)
    day = rng.normal(0.0, 0.06)  # a good or a stiff day moves every exercise together
    specs = []
    for ex, p in PROGRESS.items():
        base = next(e for e in Routine.default().exercises if e.exercise == ex)
        specs.append(dataclasses.replace(
            base, sides=p["sides"], reps_per_side=p["reps"],
            peak_deg=float(np.clip(_lerp(p["peak"], f) * (1 + day), 5.0, 33.0)),
            hold_s=float(max(2.0, _lerp(p["hold"], f) * (1 + rng.normal(0.0, 0.08)))),
            rest_s=3.0,
        ))
    return Routine(exercises=tuple(specs), neutral_s=5.0, settle_s=2.5, walk_steps=5, final_still_s=3.0)


def _csv_bytes(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> bytes:
    buf = io.StringIO()
    buf.write(",".join(schema.RAW_COLUMNS) + "\n")
    for i in range(t.size):
        a, g = acc[i], gyr[i]
        buf.write(f"{t[i]:.6f},{a[0]:.4f},{a[1]:.4f},{a[2]:.4f},{g[0]:.5f},{g[1]:.5f},{g[2]:.5f}\n")
    return buf.getvalue().encode()


def _zip_bytes(member: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        # Fixed timestamp so the same data gives the same zip bytes.
        info = zipfile.ZipInfo(member, date_time=(2025, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, data)
    return out.getvalue()


def _truth_json(sim, name: str) -> str:
    d = sim.truth.to_json(angles=False)
    ang = sim.truth.angles
    t = ang["t_s"].to_numpy()
    keep = np.searchsorted(t, np.arange(0.0, t[-1], 1.0 / TRUTH_ANGLE_RATE_HZ))
    keep = np.unique(np.clip(keep, 0, t.size - 1))
    d["angles"] = {c: np.round(ang[c].to_numpy()[keep], 2).tolist()
                   for c in ("t_s", "flexion_deg", "lateral_bend_deg", "axial_rotation_deg")}
    d["angles_rate_hz"] = TRUTH_ANGLE_RATE_HZ
    d["session"] = name
    return json.dumps(d, indent=None, separators=(",", ":"), sort_keys=True) + "\n"


def plan_sessions() -> list[dict]:
    """Every session's name, start, week, seed and self-report (deterministic)."""
    rng = np.random.default_rng(MASTER_SEED)
    out = []
    for week in range(WEEKS):
        for day in SESSION_DAYS:
            start = FIRST_MONDAY + timedelta(days=7 * week + day, hours=7, minutes=int(rng.integers(0, 50)))
            pain_before = int(np.clip(round(_lerp(PAIN_BEFORE, week / (WEEKS - 1)) + rng.normal(0, 0.6)), 0, 10))
            pain_after = int(np.clip(pain_before - rng.choice([0, 1, 1, 2]), 0, 10))
            out.append(dict(
                name=start.strftime("%Y-%m-%d_%H%M"), started_at=start.isoformat().replace("+00:00", "Z"),
                week=week + 1, seed=int(rng.integers(0, 2**31 - 1)), rate_hz=RATE_HZ, device=DEVICE,
                pain_before=pain_before, pain_after=pain_after,
                notes="stiff morning" if pain_before >= 5 else ("" if pain_before >= 3 else "felt loose"),
            ))
    return out


def make(out_dir: Path, only: list[str] | None = None) -> list[dict]:
    """Write the sessions (all, or the names in ``only``) and ``sessions.csv`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for s in plan_sessions():
        if only and s["name"] not in only:
            continue
        rng = np.random.default_rng(s["seed"])
        routine = routine_for(s["week"] - 1, rng)
        sensor = SensorModel(nominal_mounting="flat_back", mounting_max_deg=10.0)
        start = datetime.fromisoformat(s["started_at"].replace("Z", "+00:00"))
        sim = simulate_session(seed=s["seed"], rate_hz=RATE_HZ, routine=routine, sensor=sensor,
                               started_at=start)
        rec = sim.recording
        data = _zip_bytes(s["name"] + ".csv", _csv_bytes(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s))
        (out_dir / f"{s['name']}.zip").write_bytes(data)
        (out_dir / f"{s['name']}.truth.json").write_text(_truth_json(sim, s["name"]))
        rows.append({**s, "n_samples": len(rec), "duration_s": round(float(rec.t_s[-1]), 3),
                     "n_reps": len(sim.truth.reps), "n_cracks": len(sim.truth.cracks),
                     "sha256": hashlib.sha256(data).hexdigest()})
    with open(out_dir / "sessions.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default: data/examples)")
    ap.add_argument("--only", nargs="*", help="session names to make (default: all)")
    args = ap.parse_args(argv)
    rows = make(args.out, args.only)
    total = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{len(rows)} sessions, {sum(r['n_samples'] for r in rows)} samples, "
          f"{total / 1e6:.2f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
