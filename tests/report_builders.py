"""Hand-built analysis results for report tests (known reps, holds, cracks, gaps).

Built directly from :mod:`tracker.signal.result` types, so the report tests know the
truth exactly and do not depend on the analysis engine's accuracy.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from tracker import schema
from tracker.recording import Recording, RecordingMeta
from tracker.signal.result import Crack, Rep, SessionAnalysis, Spike, Summary

#: (exercise, side, sign of the primary angle, repetitions, typical |peak| in degrees)
PLAN = (
    ("chair_backbend", None, -1, 2, 18.0),
    ("seated_twist", "left", 1, 2, 14.0),
    ("seated_twist", "right", -1, 2, 14.0),
    ("trunk_rotation", "left", 1, 1, 30.0),
    ("cat_stretch", None, 1, 2, 22.0),
)


def make_analysis(seed: int = 0, *, scale: float = 1.0, rate_hz: float = 50.0,
                  with_signals: bool = True, gap: tuple[float, float] | None = (60.0, 63.0),
                  hold_every: int = 1, plan: tuple = PLAN) -> SessionAnalysis:
    """A session with known repetitions (trapezoid angle profiles), one possible crack
    in the 3rd repetition, a tap and a footstep, and optionally a gap in the samples.

    Every ``hold_every``-th repetition has a hold (others have none).
    """
    rng = np.random.default_rng(seed)
    t0, reps, k = 5.0, [], 0
    for exercise, side, sign, n, peak in plan:
        for _ in range(n):
            rise, fall, rest = 3.0, 3.0, 4.0
            has_hold = k % hold_every == 0
            hold = 8.0 + 4.0 * rng.random() if has_hold else 0.0
            p = sign * scale * peak * (0.9 + 0.2 * rng.random())
            hs, he = t0 + rise, t0 + rise + hold
            reps.append(Rep(exercise=exercise, side=side, start_s=t0,
                            hold_start_s=hs if has_hold else None, hold_end_s=he if has_hold else None,
                            end_s=he + fall, hold_s=hold if has_hold else None, peak_deg=p,
                            peak_s=hs + hold / 2))
            t0 = he + fall + rest
            k += 1
        t0 += 8.0
    duration = t0 + 5.0
    t = np.arange(0.0, duration, 1.0 / rate_hz)
    cols = {"flexion_deg": np.zeros_like(t), "lateral_bend_deg": 0.3 * rng.standard_normal(t.size),
            "axial_rotation_deg": np.zeros_like(t)}
    for r in reps:
        top_a = r.hold_start_s if r.hold_start_s is not None else r.peak_s
        top_b = r.hold_end_s if r.hold_end_s is not None else r.peak_s
        cols[schema.PRIMARY_ANGLE[r.exercise]] += np.interp(
            t, [r.start_s, top_a, top_b, r.end_s], [0.0, r.peak_deg, r.peak_deg, 0.0], left=0, right=0)
    sig = pd.DataFrame({"t_s": t, **cols})
    if gap is not None:
        sig = sig[~((sig["t_s"] > gap[0]) & (sig["t_s"] < gap[1]))].reset_index(drop=True)
    crack_t = reps[2].peak_s
    spikes = tuple(sorted([
        Spike(t_s=crack_t, peak_m_s2=25.0, possible_crack=True, crack_score=0.9, kind="possible_crack"),
        Spike(t_s=reps[0].start_s + 1.0, peak_m_s2=60.0, possible_crack=False, crack_score=0.1, kind="tap"),
        Spike(t_s=reps[-1].end_s + 1.5, peak_m_s2=3.0, possible_crack=False, crack_score=0.05,
              kind="footstep"),
    ], key=lambda s: s.t_s))
    cracks = (Crack(t_s=crack_t, peak_m_s2=25.0, score=0.9, rep=2),)
    if not with_signals:
        sig = pd.DataFrame(columns=list(schema.ANGLE_COLUMNS))
    return SessionAnalysis(signals=sig, reps=tuple(reps), spikes=spikes, cracks=cracks,
                           summary=Summary.of_events(reps, spikes, cracks), sample_rate_hz=rate_hz,
                           duration_s=duration)


def tiny_recording(started_at: datetime, *, seconds: float = 4.0, rate_hz: float = 50.0,
                   drop: slice | None = None, seed: int = 0) -> Recording:
    """A few seconds of still samples (the store needs samples; reports never decode them)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 1.0 / rate_hz)
    if drop is not None:
        t = np.delete(t, np.arange(t.size)[drop])
    acc = np.array([0.0, 0.0, 9.80665]) + 0.02 * rng.standard_normal((t.size, 3))
    gyr = 0.005 * rng.standard_normal((t.size, 3))
    meta = RecordingMeta(device="test-tag", profile="simulator", nominal_rate_hz=rate_hz,
                         started_at=started_at)
    return Recording(t, acc, gyr, None, meta)


def day(k: float, base: datetime = datetime(2025, 3, 3, 8, 0, tzinfo=timezone.utc)) -> datetime:
    return base + timedelta(days=k)
