"""Short events at the skin: cracks and confounders, band-limited like a real IMU.

Impulsive waveforms are drawn at 10 kHz (a pop lasts ~5.7 ms with energy up to ~10 kHz,
Dunning 2013) and passed through the part's anti-alias low-pass (Blackman-windowed sinc,
zero phase, cutoff ``aa_cutoff_frac * rate``) evaluated exactly at the (jittered)
sample instants. At 100 Hz a crack is therefore a 1–2 sample residue centred on its
time. The vibration buzz is sampled as is: the motor's 150–200 Hz aliases at low rates,
as it does on parts whose digital low-pass sits at or above Nyquist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import schema
from ._frontend import HI_RATE_HZ

__all__ = ["Transient", "at_hi_rate", "crack_wave", "tap_wave", "slap_wave", "heel_wave", "band_limited",
           "HI_RATE_HZ"]

#: Slaps and heel strikes have their energy below ~200 Hz: drawn at 2.5 kHz.
_SLOW_RATE_HZ = 2_500.0
_G = schema.STANDARD_GRAVITY_M_S2
_HALF_WIDTH_PERIODS = 6.0


@dataclass(frozen=True)
class Transient:
    """A waveform at ``rate_hz``, body frame; ``tau_s[i]`` is relative to ``t_s``."""

    t_s: float
    tau_s: np.ndarray  # (M,)
    acc_m_s2: np.ndarray  # (M, 3)
    gyr_rad_s: np.ndarray | None  # (M, 3) or None
    rate_hz: float = HI_RATE_HZ


def at_hi_rate(wave: Transient) -> tuple[float, np.ndarray]:
    """``wave``'s acceleration on a :data:`HI_RATE_HZ` grid: ``(time of its first sample s,
    acc_m_s2 (M, 3))``, linearly interpolated when it was drawn at a lower rate."""
    t0 = wave.t_s + float(wave.tau_s[0])
    if wave.rate_hz == HI_RATE_HZ:
        return t0, wave.acc_m_s2
    tau = np.arange(float(wave.tau_s[0]), float(wave.tau_s[-1]), 1.0 / HI_RATE_HZ)
    return t0, np.column_stack([np.interp(tau, wave.tau_s, wave.acc_m_s2[:, c]) for c in range(3)])


def _tau(before_s: float, after_s: float, rate_hz: float = HI_RATE_HZ) -> np.ndarray:
    dt = 1.0 / rate_hz
    return np.arange(-before_s, after_s + dt / 2, dt)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _half_sine(tau: np.ndarray, centre_s: float, width_s: float) -> np.ndarray:
    x = (tau - centre_s) / width_s + 0.5
    return np.where((x >= 0) & (x <= 1), np.sin(np.pi * np.clip(x, 0, 1)), 0.0)


def crack_wave(t_s: float, amplitude_m_s2: float, rng: np.random.Generator) -> Transient:
    """A cavitation pop drawn from the tuning part of the pop family (:mod:`._pops`): a
    jolt, ringing and a low-frequency tissue response; ``amplitude_m_s2`` is its skin
    peak. One pop model for every simulated session. The tissue moves the skin at
    most as fast as the family's first (slowest) limit: our best guess of a pop. The
    family's faster ones, up to a knock's, keep the detector from relying on that guess,
    and would make a session's pops knocks.
    """
    from ._pops import PopFamily, pop_wave

    fam = PopFamily.tuning()
    fam = replace(fam, tissue_max_v_m_s=fam.tissue_max_v_m_s[:1])
    acc, _, lead, _ = pop_wave(rng, fam, amplitude_m_s2 / _G)
    return Transient(t_s, np.arange(acc.shape[0]) / HI_RATE_HZ - lead, acc, None)


def tap_wave(t_s: float, rng: np.random.Generator) -> tuple[Transient, float]:
    """A finger tap on the sensor: 7–16 g, ~10 ms, and a 35–43 °/s gyroscope jump.

    The push is into the back (+x body) with a smaller rebound; the gyroscope swings
    about an axis across the push and back (zero net rotation: the strap springs back).
    """
    amp = rng.uniform(7.0, 16.0) * _G
    width = rng.uniform(8e-3, 12e-3)
    tau = _tau(0.01, 0.06)
    push = _half_sine(tau, 0.0, width) - 0.3 * _half_sine(tau, width / 2 + 0.0075, 0.015)
    d = _unit(np.array([1.0, rng.normal(0, 0.2), rng.normal(0, 0.2)]))
    acc = amp * push[:, None] * d
    w_peak = np.deg2rad(rng.uniform(35.0, 43.0))
    period = rng.uniform(0.03, 0.05)
    swing = np.where((tau >= -width / 2) & (tau <= -width / 2 + period),
                     np.sin(2 * np.pi * (tau + width / 2) / period), 0.0)
    axis = _unit(np.array([0.0, rng.normal(), rng.normal()]))
    gyr = w_peak * swing[:, None] * axis
    return Transient(t_s, tau, acc, gyr), float(amp)


def slap_wave(t_s: float, rng: np.random.Generator) -> tuple[Transient, float]:
    """Strap slap: a 1–3 g damped 30–60 Hz wobble, little rotation (≤ 5 °/s)."""
    amp = rng.uniform(1.0, 3.0) * _G
    f = rng.uniform(30.0, 60.0)
    tau = _tau(0.005, 0.08, _SLOW_RATE_HZ)
    u = np.clip(tau, 0.0, None)
    env = np.where(tau >= 0, np.exp(-u / 0.012), 0.0)
    wave = env * np.sin(2 * np.pi * f * u + np.pi / 2) * (1 - np.exp(-u / 0.001))
    d = _unit(rng.normal(size=3))
    acc = amp * wave[:, None] * d
    gyr = np.deg2rad(rng.uniform(1.0, 5.0)) * wave[:, None] * _unit(rng.normal(size=3))
    return Transient(t_s, tau, acc, gyr, _SLOW_RATE_HZ), float(amp)


def heel_wave(t_s: float, rng: np.random.Generator) -> tuple[Transient, float]:
    """Heel strike at the lower back: damped 18–30 Hz shock, mostly vertical.

    High-passed (>15 Hz) peaks have a median of 0.15 g and reach ~2 g (norms.md):
    lognormal around 0.15 g, clipped to 2 g.
    """
    amp = float(np.clip(0.15 * np.exp(rng.normal(0, 0.5)), 0.05, 2.0)) * _G
    f = rng.uniform(18.0, 30.0)
    tau = _tau(0.005, 0.12, _SLOW_RATE_HZ)
    u = np.clip(tau, 0.0, None)
    wave = np.where(tau >= 0, np.exp(-u / 0.015) * np.sin(2 * np.pi * f * u + np.pi / 2), 0.0)
    wave *= 1 - np.exp(-u / 0.002)
    d = _unit(np.array([rng.normal(0, 0.3), rng.normal(0, 0.2), 1.0]))
    return Transient(t_s, tau, amp * wave[:, None] * d, None, _SLOW_RATE_HZ), amp


def _kernel(dt_s: np.ndarray, cutoff_hz: float, half_width_s: float) -> np.ndarray:
    x = np.pi * np.clip(dt_s / half_width_s, -1.0, 1.0)
    win = 0.42 + 0.5 * np.cos(x) + 0.08 * np.cos(2 * x)  # Blackman: -58 dB sidelobes
    return 2 * cutoff_hz * np.sinc(2 * cutoff_hz * dt_s) * win


def band_limited(t_samples: np.ndarray, ev: Transient, rate_hz: float, cutoff_frac: float,
                 signal: str = "acc") -> tuple[np.ndarray, np.ndarray]:
    """Anti-alias filtered event at the sample instants it touches.

    Returns
    -------
    idx : ndarray of int
        Indices into ``t_samples``.
    values : ndarray, shape (len(idx), 3)
    """
    wave = ev.acc_m_s2 if signal == "acc" else ev.gyr_rad_s
    if wave is None:
        return np.zeros(0, dtype=int), np.zeros((0, 3))
    half = _HALF_WIDTH_PERIODS / rate_hz
    lo, hi = ev.t_s + ev.tau_s[0] - half, ev.t_s + ev.tau_s[-1] + half
    i0, i1 = np.searchsorted(t_samples, (lo, hi))
    idx = np.arange(i0, i1)
    if idx.size == 0:
        return idx, np.zeros((0, 3))
    dt = t_samples[idx, None] - (ev.t_s + ev.tau_s[None, :])
    h = _kernel(dt, cutoff_frac * rate_hz, half) / ev.rate_hz
    return idx, h @ wave
