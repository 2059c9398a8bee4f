"""Shared scoring of possible cracks on the simulator's pop family (issue 16).

Used by ``bench_cracks.py`` (held-out figures) and ``tune_cracks.py`` (fits the score
on the tuning part). A pop is found when a possible crack lies within ±50 ms of it; a
confounder is judged a crack when a possible crack lies within its span ±50 ms; a
possible crack near no pop is a false positive.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.signal import witnesses as wit  # noqa: E402
from tracker.signal.spikes import CrackParams, Witnesses, detect_and_judge  # noqa: E402
from tracker.simulate._pops import CONFOUNDER_KINDS, FamilySimulation, PopFamily, simulate_family  # noqa: E402
from tracker.simulate._witnesses import simulate_audio, simulate_snippets  # noqa: E402

MATCH_S = 0.05
RATES = (50.0, 100.0, 200.0, 400.0)


def seeds(split: str, n: int) -> list[int]:
    """Tuning uses even seeds, held-out odd ones: the two never share a session."""
    return [2 * i + (0 if split == "tuning" else 1) for i in range(n)]


def witnesses_of(sim: FamilySimulation, which: str, seed: int) -> Witnesses | None:
    """``which``: "" (IMU only), "snippets" (tracker-imu's kHz windows) or "audio"."""
    if not which:
        return None
    if which == "snippets":
        return Witnesses(snippets=wit.snippet_evidence(simulate_snippets(sim, seed=seed)))
    if which == "audio":
        return Witnesses(audio=wit.audio_transients(simulate_audio(sim, seed=seed)[0]))
    raise ValueError(f"unknown witness {which!r}")


def judge(sim: FamilySimulation, cp: CrackParams | None = None, witnesses: Witnesses | None = None
          ) -> pd.DataFrame:
    r = sim.recording
    fs = r.meta.nominal_rate_hz
    cols = detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, fs, None, cp, witnesses=witnesses)
    return pd.DataFrame(cols)


def label(j: pd.DataFrame, sim: FamilySimulation) -> pd.DataFrame:
    """Each spike's truth: ``pop``, a confounder kind or ``none``, its skin amplitude, and
    ``event`` (which event of the session it belongs to, -1 for none)."""
    ts = j["t_s"].to_numpy(float)
    lab = np.full(ts.size, "none", dtype=object)
    amp = np.zeros(ts.size)
    event = np.full(ts.size, -1)
    for i, c in enumerate(sim.confounders):
        near = (ts >= c.t_s - MATCH_S) & (ts <= c.t_s + c.duration_s + MATCH_S)
        lab[near], amp[near], event[near] = c.kind, c.amplitude_g, i
    for i, p in enumerate(sim.pops):
        near = np.abs(ts - p.t_s) <= MATCH_S
        lab[near], amp[near], event[near] = "pop", p.amplitude_g, len(sim.confounders) + i
    return j.assign(label=lab, amp_g=amp, event=event)


@dataclass
class Tally:
    """Event-level counts, pops split by skin amplitude."""

    pops: list[tuple[float, bool, float]] = field(default_factory=list)  # (amp_g, found, best score)
    fp: list[float] = field(default_factory=list)  # times of false possible cracks
    conf: dict[str, list[bool]] = field(default_factory=lambda: {k: [] for k in CONFOUNDER_KINDS})

    def add(self, j: pd.DataFrame, sim: FamilySimulation) -> None:
        ts = j["t_s"].to_numpy(float)
        poss = j["possible_crack"].to_numpy(bool)
        score = j["crack_score"].to_numpy(float)
        pt = np.array([p.t_s for p in sim.pops])
        for p in sim.pops:
            near = np.abs(ts - p.t_s) <= MATCH_S
            self.pops.append((p.amplitude_g, bool((near & poss).any()),
                              float(score[near].max()) if near.any() else 0.0))
        for x in ts[poss]:
            if not (pt.size and np.min(np.abs(pt - x)) <= MATCH_S):
                self.fp.append(float(x))
        for c in sim.confounders:
            near = (ts >= c.t_s - MATCH_S) & (ts <= c.t_s + c.duration_s + MATCH_S)
            self.conf[c.kind].append(bool((near & poss).any()))

    def f1(self, min_amp_g: float = 0.0) -> float:
        """F1 over pops of at least ``min_amp_g`` (smaller pops count neither way)."""
        big = [f for a, f, _ in self.pops if a >= min_amp_g]
        tp = sum(big)
        fn = len(big) - tp
        fp = len(self.fp)
        return 2 * tp / max(2 * tp + fp + fn, 1)

    def recall(self, lo_g: float, hi_g: float) -> float:
        sel = [f for a, f, _ in self.pops if lo_g <= a < hi_g]
        return float(np.mean(sel)) if sel else float("nan")

    def conf_rate(self, kind: str) -> float:
        v = self.conf[kind]
        return float(np.mean(v)) if v else float("nan")


def run(split: str, rate: float, n_sessions: int, *, front_end: str | None = None,
        pop_amplitude_g: float | None = None, cp: CrackParams | None = None,
        spikes: list[pd.DataFrame] | None = None, witness: str = "", family: PopFamily | None = None) -> Tally:
    """Simulate ``n_sessions`` sessions of a split at one rate and tally the judgements.

    ``spikes``, if given, collects every labelled spike frame (for calibration);
    ``witness`` adds simulated snippets or sound (see :func:`witnesses_of`); ``family``
    replaces the split's ranges (see :func:`simulate_family`).
    """
    tally = Tally()
    for seed in seeds(split, n_sessions):
        sim = simulate_family(seed, rate, split=split, front_end=front_end, pop_amplitude_g=pop_amplitude_g,
                              family=family)
        j = judge(sim, cp, witnesses_of(sim, witness, seed))
        tally.add(j, sim)
        if spikes is not None:
            spikes.append(label(j, sim).assign(rate_hz=rate, seed=seed, front_end=sim.front_end.name))
    return tally


def reliability(frame: pd.DataFrame, bins: int = 10) -> tuple[pd.DataFrame, float]:
    """Reliability table (mean score vs share of pops per score bin) and the expected
    calibration error (bin-size weighted mean |score - share|)."""
    p = frame["crack_score"].to_numpy(float)
    y = (frame["label"] == "pop").to_numpy(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        if m.any():
            rows.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()),
                         "mean_score": float(p[m].mean()), "share_pops": float(y[m].mean())})
    table = pd.DataFrame(rows)
    ece = float((table["n"] * (table["mean_score"] - table["share_pops"]).abs()).sum() / max(len(p), 1))
    return table, ece
