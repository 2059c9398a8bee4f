"""Possible cracks on the HELD-OUT part of the simulator's pop family (issue 16).

The score was fitted (``tune_cracks.py``) on the tuning part: even seeds, tuning
parameter ranges and the front ends BMI270 normal, LSM6DS3 default and with its 400 Hz
anti-alias, LSM6DSO LPF2 ODR/4, ICM-42688 ODR/2. Here every figure comes from odd seeds,
held-out ranges (other jolt shares, ringing, tissue and slap frequencies, any pop
direction, longer jolts) and held-out front ends (BMI270 OSR2, LSM6DSO LPF1, ICM-42688
default, a part without digital low-pass): see ``tracker/simulate/_pops.py`` and
``_frontend.py``. The threshold is ``CrackParams.threshold_at(rate)``.

Printed:

1. Crack F1 per rate (pops >= 1 g at >= 200 Hz, >= 1.5 g at 100 Hz, all pops too);
   targets 0.9 and 0.75. Share of each confounder kind judged a crack (target <= 3 %).
2. Reliability curve of ``crack_score`` on held-out spikes and its calibration error
   (target <= 0.1).
3. Where pops >= 1 g are lost, per rate and front end (no spike / scored low / found).
4. Detection curve: recall against skin amplitude per rate (the stated limit in the
   README and the report), also for the narrow filter settings (ODR/10), which are not
   part of the targets.
5. The same held-out sessions with better witnesses: tracker-imu's kHz impulse snippets,
   or a phone's microphone (both simulated).
6. Strap slaps the family does not draw: the issue says only that a slap dies within
   1-3 samples, not how fast it wobbles. Held-out sessions whose slaps all wobble in one
   band, from none at all (a bare push) to near the Nyquist frequency, or all rattle
   (broadband noise with the same decay): the share called possible cracks, motion
   sensor alone and with each witness (a stated limit).
7. Beyond the fitted rates and our own family: the output rates of real parts between
   the fitted ones (LSM6DS 104, 208, 416 Hz; a 500 Hz stream is judged at 250 Hz), and
   the issue's own pop model (:meth:`PopFamily.issue_model`) at every rate; still taps of
   0.5-2 g and vibration bursts of 5-30 Hz (stated limits).

Usage: python benchmarks/bench_cracks.py [--quick] [--threshold P]  (about 13 min on 2 cores; --quick: 8 sessions per cell)
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pandas as pd
from crack_eval import MATCH_S, RATES, Tally, judge, reliability, run, seeds

from tracker.signal.spikes import CrackParams
from tracker.simulate._frontend import NARROW_FRONT_ENDS
from tracker.simulate._pops import CONFOUNDER_KINDS, PopFamily, simulate_family

QUICK = "--quick" in sys.argv
CP = CrackParams(threshold=float(sys.argv[sys.argv.index("--threshold") + 1])) if "--threshold" in sys.argv \
    else CrackParams()
N = 8 if QUICK else 100
AMPS_G = (0.2, 0.35, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)


def targets() -> None:
    thresholds = ", ".join(f"{CP.threshold_at(r):.3g} at {r:.0f} Hz" for r in RATES)
    print(f"Held-out family: {N} sessions of 3 min per rate, threshold {thresholds}")
    print(f"{'rate':>5} {'pops':>5} {'F1 all':>7} {'F1 >=1g':>8} {'F1 >=1.5g':>10} {'target':>14}  "
          + " ".join(f"{k:>10}" for k in CONFOUNDER_KINDS))
    frames: list[pd.DataFrame] = []
    worst = 0.0
    for rate in RATES:
        t = run("held_out", rate, N, spikes=frames, cp=CP)
        target = "F1>=1g >= 0.90" if rate >= 200 else ("F1>=1.5g >= 0.75" if rate >= 100 else "-")
        conf = [t.conf_rate(k) for k in CONFOUNDER_KINDS]
        worst = max([worst] + [c for c in conf if np.isfinite(c)])
        print(f"{rate:5.0f} {len(t.pops):5d} {t.f1():7.2f} {t.f1(1.0):8.2f} {t.f1(1.5):10.2f} {target:>14}  "
              + " ".join(f"{c:10.1%}" for c in conf))
    print(f"worst confounder kind judged crack: {worst:.1%} (target <= 3 %)")
    d = pd.concat(frames, ignore_index=True)
    table, ece = reliability(d)
    print("\nReliability of crack_score on held-out spikes (among spikes scored ~p, share that are pops):")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"calibration error {ece:.3f} (target <= 0.1)")


def losses() -> None:
    """Where held-out pops >= 1 g are lost, per rate and front end: never a spike (the
    spike finder did not see them), a spike scored below the threshold, or found."""
    rows = []
    for rate in RATES:
        for seed in seeds("held_out", N):
            sim = simulate_family(seed, rate, split="held_out")
            j = judge(sim, CP)
            ts, poss = j["t_s"].to_numpy(float), j["possible_crack"].to_numpy(bool)
            for p in sim.pops:
                if p.amplitude_g < 1.0:
                    continue
                near = np.abs(ts - p.t_s) <= MATCH_S
                stage = "no spike" if not near.any() else "found" if (near & poss).any() else "scored low"
                rows.append({"rate": int(rate), "front end": sim.front_end.name, "stage": stage})
    d = pd.DataFrame(rows)
    tab = pd.crosstab([d["rate"], d["front end"]], d["stage"], normalize="index").mul(100).round(0)
    tab["pops"] = d.groupby(["rate", "front end"]).size()
    print("\nWhere held-out pops >= 1 g are lost (% of the pops of each rate and front end):")
    print(tab.to_string())


def with_witnesses() -> None:
    n = N
    print(f"\nWith better witnesses (held-out family, {n} sessions per rate; simulated, see "
          "tracker/simulate/_witnesses.py)")
    print(f"{'rate':>5} {'witness':>9} {'F1 >=1g':>8} {'F1 >=1.5g':>10} {'recall all':>11} {'worst conf':>11}")
    for rate in RATES:
        for which in ("", "snippets", "audio"):
            t = run("held_out", rate, n, cp=CP, witness=which)
            worst = max(c for c in (t.conf_rate(k) for k in CONFOUNDER_KINDS) if np.isfinite(c))
            print(f"{rate:5.0f} {which or 'IMU only':>9} {t.f1(1.0):8.2f} {t.f1(1.5):10.2f} "
                  f"{t.recall(0, 99):11.2f} {worst:11.1%}")


def detection_curve() -> None:
    n = N  # fewer sessions draw too few of each front end: the curve jumps between runs
    print(f"\nDetection curve (recall of pops of one skin amplitude; held-out family, {n} sessions per cell)")
    print(f"{'amplitude':>9} " + " ".join(f"{r:>7.0f}Hz" for r in RATES) + "   narrow (ODR/10) 200 Hz")
    for amp in AMPS_G:
        row = [run("held_out", rate, n, pop_amplitude_g=amp).recall(0, 99) for rate in RATES]
        nar = Tally()
        for fe in NARROW_FRONT_ENDS:
            t = run("held_out", 200.0, max(n // 2, 2), front_end=fe, pop_amplitude_g=amp)
            nar.pops += t.pops
        print(f"{amp:7.2f} g " + " ".join(f"{x:9.0%}" for x in row) + f"   {nar.recall(0, 99):9.0%}")
    # a narrow filter smooths every impulse into the shape of a tissue response: recall
    # there comes with look-alikes
    conf = {k: [] for k in CONFOUNDER_KINDS}
    for fe in NARROW_FRONT_ENDS:
        for k, v in run("held_out", 200.0, max(n // 2, 2), front_end=fe).conf.items():
            conf[k] += v
    print("narrow (ODR/10) 200 Hz, confounders judged crack: "
          + ", ".join(f"{k} {np.mean(v):.0%}" for k, v in conf.items() if v))


#: Slap wobble bands of the stress test, Hz: (0.1, 1) is a bare push that decays.
SLAP_BANDS_HZ = ((0.1, 1.0), (15.0, 30.0), (60.0, 100.0), (150.0, 400.0))


def slap_shapes() -> None:
    n = max(N // 3, 4)
    print(f"\nStrap slaps of one shape (held-out family otherwise; {n} sessions per cell): "
          "share called possible cracks, and F1 >= 1 g (>= 1.5 g at 100 Hz)")
    print(f"{'slap':>14} {'witness':>9} " + " ".join(f"{r:>14.0f} Hz" for r in RATES if r >= 100))
    held_out = PopFamily.held_out()
    shapes = [("bare push" if hi <= 1.0 else f"{lo:.0f}-{hi:.0f} Hz", replace(held_out, slap_hz=((lo, hi),)))
              for lo, hi in SLAP_BANDS_HZ] + [("rattle", replace(held_out, slap_rattle_share=1.0))]
    for band, fam in shapes:
        for which in ("", "snippets", "audio"):
            cells = []
            for rate in (r for r in RATES if r >= 100):
                t = run("held_out", rate, n, cp=CP, witness=which, family=fam)
                cells.append(f"{t.conf_rate('strap_slap'):6.1%} F1 {t.f1(1.5 if rate < 200 else 1.0):.2f}")
            print(f"{band:>14} {which or 'IMU only':>9} " + " ".join(f"{c:>17}" for c in cells))


def other_rates_and_models() -> None:
    print(f"\nBeyond the fitted rates and our own family (motion sensor alone, {N} sessions per row)")
    print(f"{'pops':>12} {'rate':>5} {'F1 >=1g':>8} {'F1 >=1.5g':>10}   worst confounder kind")
    # still taps (no rotation) of 0.5-2 g instead of 2-16 g: a touch the family does not
    # draw; the score tells such taps by their size (a stated limit)
    light = replace(PopFamily.held_out(), tap_g=(0.5, 2.0))
    # vibration bursts of 5-30 Hz (a vehicle, a massager on a low setting): a few cycles
    # of a slow buzz look like a tissue response
    slow_buzz = replace(PopFamily.held_out(), vibration_hz=((5.0, 30.0),))
    # bursts of only 0.2-0.3 s (a phone's notification), at the held-out frequencies and
    # slow: the shaking 60-200 ms from a short burst's middle is half over
    short_burst = replace(PopFamily.held_out(), vibration_s=(0.2, 0.3))
    short_buzz = replace(slow_buzz, vibration_s=(0.2, 0.3))
    rows = [("held-out", r, None) for r in (104.0, 208.0, 250.0, 416.0)] + \
        [("issue's", r, PopFamily.issue_model()) for r in RATES if r >= 100] + \
        [("light taps", r, light) for r in RATES if r >= 100] + \
        [("5-30 Hz buzz", r, slow_buzz) for r in RATES if r >= 100] + \
        [("short burst", r, short_burst) for r in RATES if r >= 100] + \
        [("short buzz", r, short_buzz) for r in RATES if r >= 100]
    for name, rate, fam in rows:
        t = run("held_out", rate, N, cp=CP, family=fam)
        worst, kind = max((t.conf_rate(k), k) for k in CONFOUNDER_KINDS if t.conf[k])
        print(f"{name:>12} {rate:5.0f} {t.f1(1.0):8.2f} {t.f1(1.5):10.2f}   {worst:.1%} ({kind})")


if __name__ == "__main__":
    targets()
    losses()
    detection_curve()
    with_witnesses()
    slap_shapes()
    other_rates_and_models()
