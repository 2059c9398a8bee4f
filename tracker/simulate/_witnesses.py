"""Simulated witnesses of a family session: the tag's kHz impulse snippets and the sound.

Both are drawn from the session's skin-level events (:class:`._pops.FamilySimulation`'s
``hi_rate_events``), so they agree with the IMU stream.

Snippets (``firmware-notes/gatt-profile.md`` §7): the tag samples its accelerometer at
3200 Hz (the profile's typical window rate) through a 1.5 kHz analog pole (guess) and,
when the high-passed magnitude passes ``threshold_g``, sends 10 ms before to 30 ms after
the trigger; the detector re-arms after the window. The firmware's default threshold is
2.0 g; tracker asks for ``HOST_IMPULSE_THRESHOLD_G`` (0.5 g) to get crack detail.

Sound (a phone in a belt pouch, ``rate_hz`` 16 kHz: enough for 0.1–8 kHz):

==============  ==========================================================  ===========
event           sound                                                       source
==============  ==========================================================  ===========
pop             5–6 ms broadband burst, 0.1–8 kHz, 15–35 dB over the room,  Dunning et
                heard for 80 % of pops                                      al. 2013;
                                                                            rest guess
tap             a knock: 15–40 ms, 0.1–1.5 kHz, 15–30 dB                    guess
strap_slap      a thud: 20–60 ms, 50–800 Hz, 10–25 dB                       guess
footstep        30–80 ms, 30–400 Hz, 5–20 dB                                guess
vibration       the motor's tone and two harmonics, 10–25 dB                guess
room            clicks 2–4 ms broadband, 0.5 per minute, 12–25 dB           guess
==============  ==========================================================  ===========
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from ..profiles.tracker_imu import HOST_IMPULSE_THRESHOLD_G
from ..signal.witnesses import AudioTrack, ImpulseWindow
from ._frontend import HI_RATE_HZ, FrontEnd, sample_event
from ._pops import FamilySimulation
from ._session import Simulation

__all__ = ["simulate_snippets", "simulate_audio", "SNIPPET_FRONT_END"]

_G = 9.80665
#: The tag's accelerometer for snippets: 3200 Hz, a 1.5 kHz analog pole (guess).
SNIPPET_FRONT_END = FrontEnd(name="tag_snippet", rate_hz=3200.0, analog_hz=1500.0, analog_order=1,
                             digital_hz=None, digital_order=1, source="gatt-profile.md §7 rate; filter guess")


def simulate_snippets(sim: FamilySimulation | Simulation, *, threshold_g: float = HOST_IMPULSE_THRESHOLD_G,
                      seed: int = 0, noise_m_s2: float = 0.05) -> list[ImpulseWindow]:
    """The impulse windows the tag would have sent during ``sim`` (at the threshold the
    host asks for)."""
    rng = np.random.default_rng([seed, 3200])
    fe = SNIPPET_FRONT_END
    n_before, n_after = int(0.010 * fe.rate_hz), int(0.030 * fe.rate_hz)
    out: list[ImpulseWindow] = []
    for t0, acc, _kind in sim.hi_rate_events:
        dur = acc.shape[0] / HI_RATE_HZ
        t = t0 - 0.02 + np.arange(0.0, dur + 0.08, 1.0 / fe.rate_hz)
        idx, val = sample_event(t, t0, acc, fe)
        x = np.zeros((t.size, 3))
        x[idx] = val
        x += rng.normal(0.0, noise_m_s2, x.shape)
        hp = x - signal.lfilter([0.05], [1, -0.95], x, axis=0)  # the tag's high-pass (guess)
        above = np.flatnonzero(np.linalg.norm(hp, axis=1) > threshold_g * _G)
        k = 0
        while k < above.size and len(out) < 10_000:
            trig = int(above[k])
            a, b = max(trig - n_before, 0), min(trig + n_after, t.size)
            out.append(ImpulseWindow(t0_s=float(t[a]), rate_hz=fe.rate_hz, acc_m_s2=x[a:b] + [0, 0, _G],
                                     trigger_index=trig - a))
            k = int(np.searchsorted(above, b))  # re-armed after the window
    return sorted(out, key=lambda w: w.t0_s)


def _burst(rng: np.random.Generator, fs: float, dur_s: float, band: tuple[float, float]) -> np.ndarray:
    n = max(int(dur_s * fs), 8)
    noise = rng.normal(size=n + 256)
    sos = signal.butter(4, [band[0], min(band[1], 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    x = signal.sosfilt(sos, noise)[256:]
    env = np.exp(-np.arange(n) / (0.3 * n)) * (1 - np.exp(-np.arange(n) / (0.05 * n + 1)))
    x = x * env
    return x / max(np.sqrt(np.mean(x ** 2)), 1e-12)


def simulate_audio(sim: FamilySimulation, *, rate_hz: float = 16_000.0, seed: int = 0,
                   p_audible: float = 0.8) -> tuple[AudioTrack, list[float]]:
    """The sound a phone in a belt pouch records during ``sim``, on the session's time
    base; also the times of the pops that were audible."""
    rng = np.random.default_rng([seed, int(rate_hz)])
    fs = float(rate_hz)
    dur = float(sim.recording.t_s[-1]) + 1.0
    n = int(dur * fs)
    room = signal.lfilter([1.0], [1.0, -0.9], rng.normal(size=n)).astype(np.float32)  # reddish room noise
    room /= np.float32(np.std(room))
    x = room
    heard: list[float] = []

    def put(t_s: float, burst: np.ndarray, snr_db: float) -> None:
        i = int(t_s * fs)
        j = min(i + burst.size, n)
        if 0 <= i < n:
            x[i:j] += (10 ** (snr_db / 20) * burst[: j - i]).astype(np.float32)

    for t0, acc, kind in sim.hi_rate_events:
        if kind == "pop":
            if rng.random() < p_audible:
                lead = float(np.argmax(np.linalg.norm(acc, axis=1))) / HI_RATE_HZ
                put(t0 + lead, _burst(rng, fs, rng.uniform(0.005, 0.006), (100.0, 8000.0)), rng.uniform(15, 35))
                heard.append(t0 + lead)
        elif kind in ("tap", "tap_still"):
            put(t0, _burst(rng, fs, rng.uniform(0.015, 0.04), (100.0, 1500.0)), rng.uniform(15, 30))
        elif kind == "strap_slap":
            put(t0, _burst(rng, fs, rng.uniform(0.02, 0.06), (50.0, 800.0)), rng.uniform(10, 25))
        elif kind == "footstep":
            put(t0, _burst(rng, fs, rng.uniform(0.03, 0.08), (30.0, 400.0)), rng.uniform(5, 20))
        elif kind == "vibration":
            d = acc.shape[0] / HI_RATE_HZ
            tt = np.arange(int(d * fs)) / fs
            f = float(np.abs(np.fft.rfftfreq(acc.shape[0], 1 / HI_RATE_HZ)[
                np.argmax(np.abs(np.fft.rfft(acc[:, 0] + acc[:, 1])))]))
            tone = np.sin(2 * np.pi * f * tt) + np.sin(4 * np.pi * f * tt) / 2 + np.sin(6 * np.pi * f * tt) / 3
            put(t0, tone / max(float(np.std(tone)), 1e-12), rng.uniform(10, 25))
    for tc in rng.uniform(0, dur, rng.poisson(0.5 * dur / 60.0)):  # room clicks
        put(float(tc), _burst(rng, fs, rng.uniform(0.002, 0.004), (100.0, 8000.0)), rng.uniform(12, 25))
    return AudioTrack(samples=x, rate_hz=fs, t0_s=0.0), sorted(heard)
