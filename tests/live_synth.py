"""Exact synthetic movements for the live tests (physics known in closed form).

A sensor worn with its axes on the body axes (x forward, y left, z up), person upright:

* a twist about the vertical turns the gyroscope's z axis only and leaves the measured
  specific force at +g on z, so ``axial_rotation_deg`` must equal the twist angle;
* a back-bend about body y tips gravity in the sensor frame.
"""

from __future__ import annotations

import numpy as np

from tracker.recording import Recording, RecordingMeta
from tracker.schema import STANDARD_GRAVITY_M_S2 as G

FS = 100.0


def _ramp(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """Smooth 0 → 1 (cosine) from t0 over dur seconds."""
    x = np.clip((t - t0) / dur, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def angle_profile(t: np.ndarray, *, start_s: float, peak_deg: float, speed_deg_s: float,
                  hold_s: float, bounce_deg: float = 0.0, bounce_hz: float = 3.0) -> np.ndarray:
    """Out (cosine ramp at about ``speed_deg_s``), hold, back; optional bouncing in the hold."""
    ramp_s = max(0.2, abs(peak_deg) / speed_deg_s * np.pi / 2)  # peak speed = speed_deg_s
    out = _ramp(t, start_s, ramp_s)
    back = _ramp(t, start_s + ramp_s + hold_s, ramp_s)
    ang = peak_deg * (out - back)
    if bounce_deg:
        in_hold = (t > start_s + ramp_s) & (t < start_s + ramp_s + hold_s)
        ang = ang + np.where(in_hold, bounce_deg * np.sin(2 * np.pi * bounce_hz * (t - start_s - ramp_s)), 0.0)
    return ang


def twist_recording(*, peak_deg: float = 20.0, speed_deg_s: float = 20.0, hold_s: float = 6.0,
                    start_s: float = 4.0, after_s: float = 5.0, bounce_deg: float = 0.0,
                    noise: float = 0.0, seed: int = 0, n_twists: int = 1, gap_s: float = 4.0
                    ) -> tuple[Recording, list[tuple[float, float]]]:
    """Seated twist(s) about the vertical: returns the recording and [(start_s, end_s)] of each."""
    ramp_s = max(0.2, abs(peak_deg) / speed_deg_s * np.pi / 2)
    one_s = 2 * ramp_s + hold_s
    total = start_s + n_twists * one_s + (n_twists - 1) * gap_s + after_s
    t = np.arange(int(total * FS)) / FS
    ang = np.zeros_like(t)
    spans = []
    for k in range(n_twists):
        s0 = start_s + k * (one_s + gap_s)
        ang += angle_profile(t, start_s=s0, peak_deg=peak_deg, speed_deg_s=speed_deg_s, hold_s=hold_s,
                             bounce_deg=bounce_deg)
        spans.append((s0, s0 + one_s))
    rate = np.gradient(np.radians(ang), 1.0 / FS)
    gyr = np.column_stack([np.zeros_like(t), np.zeros_like(t), rate])
    acc = np.tile([0.0, 0.0, G], (t.size, 1))
    if noise:
        rng = np.random.default_rng(seed)
        acc = acc + rng.normal(0, 0.02, acc.shape)
        gyr = gyr + rng.normal(0, noise, gyr.shape)
    return Recording(t, acc, gyr, None, RecordingMeta(profile="synthetic", nominal_rate_hz=FS)), spans


def backbend_recording(*, peak_deg: float = -25.0, speed_deg_s: float = 20.0, hold_s: float = 5.0,
                       start_s: float = 4.0, after_s: float = 5.0, with_gyro: bool = True) -> Recording:
    """Extension about body y (negative flexion): gravity tips toward the sensor's x axis."""
    ramp_s = abs(peak_deg) / speed_deg_s * np.pi / 2
    total = start_s + 2 * ramp_s + hold_s + after_s
    t = np.arange(int(total * FS)) / FS
    theta = np.radians(angle_profile(t, start_s=start_s, peak_deg=peak_deg, speed_deg_s=speed_deg_s,
                                     hold_s=hold_s))
    # R = Ry(theta): world up in the sensor frame is R^T e_z = (-sin θ, 0, cos θ)
    acc = G * np.column_stack([-np.sin(theta), np.zeros_like(t), np.cos(theta)])
    rate = np.gradient(theta, 1.0 / FS) if with_gyro else np.zeros_like(t)
    gyr = np.column_stack([np.zeros_like(t), rate, np.zeros_like(t)])
    profile = "synthetic" if with_gyro else "microbit"
    return Recording(t, acc, gyr, None, RecordingMeta(profile=profile, nominal_rate_hz=FS))


def still_recording(seconds: float) -> Recording:
    t = np.arange(int(seconds * FS)) / FS
    acc = np.tile([0.0, 0.0, G], (t.size, 1))
    return Recording(t, acc, np.zeros((t.size, 3)), None, RecordingMeta(profile="synthetic", nominal_rate_hz=FS))


def feed(live, rec: Recording, batch: int = 10) -> list:
    """All events of ``rec`` fed in ``batch``-sample pieces, then flushed."""
    events = []
    for k in range(0, len(rec), batch):
        events += live.feed(rec.t_s[k:k + batch], rec.acc_m_s2[k:k + batch], rec.gyr_rad_s[k:k + batch],
                            None if rec.mag_uT is None else rec.mag_uT[k:k + batch])
    events += live.flush()
    return events
