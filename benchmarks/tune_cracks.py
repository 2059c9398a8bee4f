"""Fit the crack score on the TUNING part of the pop family; print SCORE_WEIGHTS.

Not a benchmark (``run.py`` does not run it): re-run it when the detector's features or
the simulator's family change, paste the printed tuple into
``tracker/signal/spikes.py`` and check the held-out figures with ``bench_cracks.py``.

The score is a logistic calibration of the product of the soft factors (two constants)
``score_features`` (fitted by iteratively reweighted least squares on standardised
features, then folded back to raw-feature weights), over every spike the detector finds
in tuning sessions at 50, 100, 200 and 400 Hz. Its output is therefore a probability
for the tuning mix of pops and confounders (about one pop per confounder outside
walking); the reliability table shows how well that carries to held-out sessions.

Usage: python benchmarks/tune_cracks.py [--sessions N] [--lam L]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from crack_eval import MATCH_S, RATES, reliability, run, seeds

from tracker.signal.spikes import FACTOR_COLUMNS, detect_and_judge
from tracker.simulate import SensorModel, simulate_session


def fit_logistic(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Intercept + raw-feature weights of an L2 logistic regression (IRLS)."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.column_stack([np.ones(len(x)), (x - mu) / sd])
    b = np.zeros(z.shape[1])
    reg = lam * np.eye(z.shape[1])
    reg[0, 0] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ b, -50, 50)))
        w = p * (1 - p) + 1e-9
        step = np.linalg.solve(z.T @ (z * w[:, None]) + reg, z.T @ (y - p) - reg @ b)
        b += step
        if np.abs(step).max() < 1e-9:
            break
    raw = b[1:] / sd
    return np.concatenate([[b[0] - float(raw @ mu)], raw])


def fit_nonneg(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """As :func:`fit_logistic` on raw features, weights (not intercept) kept >= 0."""
    from scipy.optimize import minimize

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        z = b[0] + x @ b[1:]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        ll = np.logaddexp(0, z) - y * z
        g = p - y
        return float(ll.sum() + 0.5 * lam * (b[1:] ** 2).sum()), np.concatenate(
            [[g.sum()], x.T @ g + lam * b[1:]])

    b0 = np.concatenate([[0.0], np.full(x.shape[1], 0.5)])
    bounds = [(None, None)] + [(0.0, None)] * x.shape[1]
    return minimize(loss, b0, jac=True, bounds=bounds, method="L-BFGS-B").x


def classic(rate: float, n: int) -> list[pd.DataFrame]:
    """Labelled spikes of :func:`simulate_session` (its own pop and confounder models)."""
    out = []
    for seed in seeds("tuning", n):
        sim = simulate_session(seed=seed, rate_hz=rate, sensor=SensorModel(mounting_max_deg=15.0))
        r = sim.recording
        j = pd.DataFrame(detect_and_judge(r.t_s, r.acc_m_s2, r.gyr_rad_s, rate, None, None))
        ts = j["t_s"].to_numpy(float)
        lab = np.full(ts.size, "none", dtype=object)
        for c in sim.truth.confounders:
            lab[(ts >= c.t_s - MATCH_S) & (ts <= c.t_s + c.duration_s + MATCH_S)] = c.kind
        for c in sim.truth.cracks:
            lab[np.abs(ts - c.t_s) <= MATCH_S] = "pop"
        out.append(j.assign(label=lab, rate_hz=rate, seed=seed, front_end="classic"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=30)
    a = ap.parse_args()
    frames: list[pd.DataFrame] = []
    for rate in RATES:
        run("tuning", rate, a.sessions, spikes=frames)
        frames += classic(rate, a.sessions // 4)
    d = pd.concat(frames, ignore_index=True)
    raw = np.clip(d[list(FACTOR_COLUMNS)].to_numpy(float).prod(axis=1), 1e-12, 1 - 1e-12)
    x = np.log(raw / (1 - raw))[:, None]
    y = (d["label"] == "pop").to_numpy(float)
    w = fit_logistic(x, y, 1e-3)
    print(f"{len(d)} spikes ({int(y.sum())} pops) from {a.sessions} family + {a.sessions // 4} "
          f"simulate_session sessions per rate")
    print(f"SCORE_CALIBRATION = ({w[0]:.3f}, {w[1]:.3f})")
    d["crack_score"] = 1.0 / (1.0 + np.exp(-(w[0] + w[1] * x[:, 0])))
    table, ece = reliability(d)
    print(table.to_string(index=False))
    print(f"tuning calibration error {ece:.3f}")


if __name__ == "__main__":
    main()
