"""Accuracy and speed of the spike detector / possible-crack judge (issue 4).

Since issue 16 the crack targets are measured where they mean something, on the held-out
part of the simulator's pop family (``bench_cracks.py``); the F1 printed here, on
``simulate_session``'s own pops behind its ideal zero-phase filter, is kept as a
regression figure against the baseline detector.

Accuracy, on simulated 5-minute sessions (``SEEDS`` seeds per rate, mounting up to
±15°, noise, drift, jitter and packet loss on): possible-crack F1 against the
simulator's truth (match within ±50 ms) and the share of confounders (taps, footsteps,
strap slaps, vibration bursts) on which a possible crack was reported. Targets: F1 >=
0.9 at >= 200 Hz, >= 0.75 at 100 Hz; confounders judged crack <= 5 %.

Baseline in the same run: the obvious detector, every peak of the 15 Hz high-passed
acceleration magnitude above max(0.5 m/s², 4 x local median) and below 4 g called a
crack (taps are several g).

Sensitivity: F1 at 100 and 200 Hz when every simulated pop has the same skin amplitude
(0.5, 1, 2 g), to show where the detection floor lies.

Real data (BROAD, if present): recall of finger taps (20 Hz high-pass peaks > 20 m/s²,
>= 0.3 s apart) and possible cracks during phone vibration (target: none).

Speed: ``detect_spikes`` + ``judge_cracks`` on one simulated hour at 200 Hz (median of
interleaved runs against the baseline detector), and the live ``SpikeStream`` fed in
0.5 s batches (cost per second of data).

Usage: python benchmarks/bench_spikes.py [--quick]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy import io, ndimage, signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.signal.spikes import SpikeStream, detect_spikes, judge_cracks  # noqa: E402
from tracker.simulate import SensorModel, simulate_session  # noqa: E402

QUICK = "--quick" in sys.argv
SEEDS = range(1000, 1006 if QUICK else 1020)
RATES = (50.0, 100.0, 200.0, 400.0)
MATCH_S = 0.05
G = 9.80665


def baseline(t, acc, fs):  # noqa: ANN001
    """Peaks of the 15 Hz high-passed magnitude between max(0.5, 4 x median) and 4 g."""
    sos = signal.butter(4, min(15.0, 0.4 * fs), btype="highpass", fs=fs, output="sos")
    m = np.linalg.norm(signal.sosfiltfilt(sos, acc, axis=0), axis=1)
    bg = ndimage.median_filter(m[:: max(int(fs / 20), 1)], size=41, mode="nearest")
    bg = np.interp(np.arange(m.size), np.arange(bg.size) * max(int(fs / 20), 1), bg)
    peaks, _ = signal.find_peaks(m, height=np.maximum(0.5, 4 * bg), distance=max(int(0.08 * fs), 1))
    peaks = peaks[m[peaks] < 4 * G]
    return t[peaks]


def score(found, truth):  # noqa: ANN001
    true = np.array([c.t_s for c in truth.cracks])
    tp = sum(bool(found.size) and np.min(np.abs(found - c)) <= MATCH_S for c in true)
    fp = sum(not (true.size and np.min(np.abs(true - f)) <= MATCH_S) for f in found)
    conf = [bool(((found >= c.t_s - MATCH_S) & (found <= c.t_s + c.duration_s + MATCH_S)).any())
            for c in truth.confounders]
    return tp, fp, len(true) - tp, conf


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1)


def accuracy() -> None:
    print(f"Accuracy on {len(SEEDS)} simulated sessions per rate (±50 ms match)")
    print(f"{'rate':>6} {'cracks':>6} {'F1 ours':>8} {'conf ours':>10} {'F1 base':>8} {'conf base':>10} {'target F1':>10}")
    for rate in RATES:
        ours = [0, 0, 0]
        base = [0, 0, 0]
        conf_o: list[bool] = []
        conf_b: list[bool] = []
        for seed in SEEDS:
            sim = simulate_session(seed=seed, rate_hz=rate, sensor=SensorModel(mounting_max_deg=15.0))
            r = sim.recording
            j = judge_cracks(detect_spikes(r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate),
                             r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate)
            tp, fp, fn, c = score(j.loc[j["possible_crack"], "t_s"].to_numpy(), sim.truth)
            ours = [ours[0] + tp, ours[1] + fp, ours[2] + fn]
            conf_o += c
            tp, fp, fn, c = score(baseline(r.t_s, r.acc_m_s2, rate), sim.truth)
            base = [base[0] + tp, base[1] + fp, base[2] + fn]
            conf_b += c
        target = ">= 0.90" if rate >= 200 else (">= 0.75" if rate >= 100 else "-")
        print(f"{rate:6.0f} {ours[0] + ours[2]:6d} {f1(*ours):8.3f} {np.mean(conf_o):10.1%} "
              f"{f1(*base):8.3f} {np.mean(conf_b):10.1%} {target:>10}")
    print("(conf = share of confounders with a possible crack on them; target <= 5 %)")


def sensitivity() -> None:
    print("\nDetection floor: F1 when every pop has the same skin amplitude")
    seeds = list(SEEDS)[:6]
    for amp_g in (0.5, 1.0, 2.0):
        row = []
        for rate in (50.0, 100.0, 200.0):
            tot = [0, 0, 0]
            for seed in seeds:
                sim = simulate_session(seed=seed, rate_hz=rate, crack_amplitude_m_s2=amp_g * G)
                r = sim.recording
                j = judge_cracks(detect_spikes(r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate),
                                 r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate)
                tp, fp, fn, _ = score(j.loc[j["possible_crack"], "t_s"].to_numpy(), sim.truth)
                tot = [tot[0] + tp, tot[1] + fp, tot[2] + fn]
            row.append(f"{rate:.0f} Hz: {f1(*tot):.2f}")
        print(f"  {amp_g:.1f} g   " + "   ".join(row))


def broad() -> None:
    env = os.environ.get("TRACKER_BROAD_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data" / "broad"
    tap, vib = root / "24_disturbed_tapping_A.mat", root / "26_disturbed_phone_vibration_A.mat"
    if not (tap.exists() and vib.exists()):
        print(f"\nBROAD not found in {root}: skipped")
        return
    d = io.loadmat(tap, squeeze_me=True)
    fs = float(d["sampling_rate"])
    acc, gyr = np.asarray(d["imu_acc"], float), np.asarray(d["imu_gyr"], float)
    t = np.arange(acc.shape[0]) / fs
    sos = signal.butter(4, 20.0, btype="highpass", fs=fs, output="sos")
    m = np.linalg.norm(signal.sosfiltfilt(sos, acc, axis=0), axis=1)
    ref, _ = signal.find_peaks(m, height=20.0, distance=int(0.3 * fs))
    j = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=fs), t, acc, gyr, sampling_rate_hz=fs)
    found = j["t_s"].to_numpy()
    hit = [bool(found.size) and np.min(np.abs(found - t[i])) <= MATCH_S for i in ref]
    near = np.array([np.min(np.abs(t[ref] - x)) <= MATCH_S for x in found])
    print(f"\nBROAD tapping A: {sum(hit)}/{len(ref)} taps found ({np.mean(hit):.0%}, target >= 95 %), "
          f"{int(j.loc[near, 'possible_crack'].sum())} judged possible crack, "
          f"{int((j.loc[near, 'kind'] == 'tap').sum())} labelled tap")
    d = io.loadmat(vib, squeeze_me=True)
    acc, gyr = np.asarray(d["imu_acc"], float), np.asarray(d["imu_gyr"], float)
    t = np.arange(acc.shape[0]) / fs
    j = judge_cracks(detect_spikes(t, acc, gyr, sampling_rate_hz=fs), t, acc, gyr, sampling_rate_hz=fs)
    print(f"BROAD phone vibration A: {len(j)} spikes, {int(j['possible_crack'].sum())} possible cracks (target 0)")


def speed() -> None:
    minutes = 10 if QUICK else 60
    rate = 200.0
    sim = simulate_session(seed=3, rate_hz=rate, minutes=minutes)
    r = sim.recording
    ours_s, base_s = [], []
    for _ in range(3 if QUICK else 7):  # interleaved, so load hits both alike
        t0 = time.perf_counter()
        s = detect_spikes(r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate)
        judge_cracks(s, r.t_s, r.acc_m_s2, r.gyr_rad_s, sampling_rate_hz=rate)
        ours_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        baseline(r.t_s, r.acc_m_s2, rate)
        base_s.append(time.perf_counter() - t0)
    print(f"\nSpeed, {minutes} min at 200 Hz ({len(r)} samples):")
    print(f"  detect + judge: median {statistics.median(ours_s):.3f} s "
          f"(target well under 1 s per hour); baseline detector {statistics.median(base_s):.3f} s")
    stream = SpikeStream(rate)
    step = int(0.5 * rate)
    n = min(len(r), int(600 * rate))
    per = []
    t0 = time.perf_counter()
    for i in range(0, n, step):
        a = time.perf_counter()
        stream.feed(r.t_s[i:i + step], r.acc_m_s2[i:i + step], r.gyr_rad_s[i:i + step])
        per.append(time.perf_counter() - a)
    stream.flush()
    total = time.perf_counter() - t0
    print(f"  SpikeStream, 0.5 s batches: median {1000 * statistics.median(per):.1f} ms per batch, "
          f"max {1000 * max(per):.1f} ms; {total / (n / rate):.1%} of real time")


if __name__ == "__main__":
    accuracy()
    sensitivity()
    broad()
    speed()
