"""Better witnesses of a possible crack than a 50–400 Hz IMU: kHz snippets and sound.

A joint pop lasts a few ms (an audible pop ~5–6 ms with energy from about 0.1 to
10 kHz, Dunning et al. 2013, BMC Musculoskeletal Disorders 14:24). The main IMU stream
sees only its front end's answer to it, which a strap slap or a light knock can mimic.
Two witnesses see more, where the hardware gives them:

* **Impulse snippets** (tracker-imu, ``firmware-notes/gatt-profile.md`` §7): the tag
  sends a kHz accelerometer window around each impulse above its threshold. A pop rings
  above a few hundred Hz; knocks, slaps and heel strikes put their energy lower.
  :func:`snippet_evidence` gives each window the share of its energy above
  :attr:`WitnessParams.snippet_split_hz`. A strap that wobbles at 150-400 Hz puts its
  energy where a pop rings: the snippets call about a quarter (200 Hz stream) to a half
  (400 Hz) of such slaps cracks, and one that rattles (broadband noise) half to nine in
  ten (``bench_cracks.py``, slap table): a tag must be worn so that nothing on it rattles.
* **Sound** (a phone's microphone, e.g. Sensor Logger's ``Microphone.mp4``): a short
  broadband transient. :func:`audio_transients` finds them; a transient within
  ±:attr:`WitnessParams.match_s` of an IMU spike is evidence for a pop, and one with no
  IMU spike is reported as an audible pop the sensor did not see.

:func:`apply_witnesses` adds this evidence to the spike's log-odds with the weights
:data:`WITNESS_WEIGHTS` (fitted with the crack score on the tuning part of the
simulator's family, ``benchmarks/tune_cracks.py``; the simulated sounds and snippets
are guesses anchored on the figures above). Everything here is pure: arrays in, arrays
out.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage, signal

from ..errors import ValidationError

__all__ = ["AudioTrack", "ImpulseWindow", "WitnessParams", "WITNESS_WEIGHTS", "WITNESS_COLUMNS", "audio_transients",
           "snippet_evidence", "witness_features", "apply_witnesses", "audible_without_spike"]


@dataclass(frozen=True, kw_only=True)
class AudioTrack:
    """Mono sound on the session's time base: ``samples[0]`` is at ``t0_s``."""

    samples: np.ndarray
    rate_hz: float
    t0_s: float = 0.0

    def __post_init__(self) -> None:
        x = np.asarray(self.samples)
        if x.ndim != 1:
            raise ValidationError(f"audio samples must be one-dimensional (mono), got shape {x.shape}")
        if not (np.isfinite(self.rate_hz) and self.rate_hz >= 2000.0):
            raise ValidationError(f"audio rate must be at least 2000 Hz, got {self.rate_hz}")


@dataclass(frozen=True, kw_only=True)
class ImpulseWindow:
    """A kHz accelerometer window from the tag (session time of ``acc_m_s2[0]``: ``t0_s``)."""

    t0_s: float
    rate_hz: float
    acc_m_s2: np.ndarray  # (n, 3)
    trigger_index: int = 0

    @classmethod
    def from_event(cls, t0_s: float | None, data: dict[str, Any]) -> ImpulseWindow | None:
        """The window of a stored impulse event (``schema.IMPULSE_EVENT``: ``rate_hz``,
        ``acc_m_s2``, ``trigger_index``), or None when it is damaged: a damaged window is
        no witness, and the stream itself is unaffected."""
        try:
            acc = np.asarray(data.get("acc_m_s2", ()), dtype=float)
            rate_hz = float(data["rate_hz"])
            trigger = int(data.get("trigger_index", 0))
        except (KeyError, TypeError, ValueError):
            return None
        if (t0_s is None or acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] < 8 or not rate_hz > 0
                or not np.isfinite(acc).all()):
            return None
        return cls(t0_s=float(t0_s), rate_hz=rate_hz, acc_m_s2=acc, trigger_index=trigger)


@dataclass(frozen=True, kw_only=True)
class WitnessParams:
    """Settings of the witnesses (units in the names).

    ``audio_band_hz``: band searched for transients (a pop's energy ~0.1–10 kHz,
    Dunning 2013). ``audio_frame_s``: energy frame. ``audio_min_snr_db``: a transient
    rises this far above the running median. ``audio_min_duration_s`` ..
    ``audio_max_duration_s``: shorter events are clicks of the phone itself, longer ones
    (thuds, speech, buzz) are not pop-like (an audible pop lasts ~5–6 ms; 15 ms allows
    for the room). ``audio_split_hz`` with ``audio_min_hf_share`` ..
    ``audio_max_hf_share``: "broadband" means energy on both sides of the split. ``match_s``: an audio transient or
    a snippet this close to an IMU spike belongs to it. ``snippet_split_hz``: pop
    ringing and the jolt reach above it, knocks, slaps and steps stay below (chosen on
    the tuning family between 300 and 900 Hz: a slap that dies within a few ms, as one
    does at a 400 Hz stream's 1-3 samples, still spreads to ~300 Hz).
    ``snippet_ring_band_hz`` (lo, hi): ``ring_share`` is the energy above ``hi`` among
    the energy above ``lo``: the slap's spread falls off above its own band, ringing
    does not (chosen on the tuning family with the split).
    """

    audio_band_hz: tuple[float, float] = (100.0, 10_000.0)
    audio_frame_s: float = 0.001
    audio_min_snr_db: float = 12.0
    audio_min_duration_s: float = 0.002
    audio_max_duration_s: float = 0.015
    audio_split_hz: float = 2000.0
    audio_min_hf_share: float = 0.15
    audio_max_hf_share: float = 0.9
    match_s: float = 0.05
    snippet_split_hz: float = 450.0
    snippet_ring_band_hz: tuple[float, float] = (100.0, 300.0)


#: Log-odds added to a spike's crack score, one per column of :func:`witness_features`:
#: sound within ±match_s; sound recorded but none there; a snippet there; the logits of
#: its ``hf_share`` and ``ring_share``; snippets recorded but none there. Fitted by
#: ``benchmarks/tune_cracks.py`` on the tuning family. The intercept of "a snippet
#: there" is fitted too: a guessed neutral share of 0.1 sat above the ~0.05 of the pops
#: with the lowest ringing, so their snippets counted against them. "None there" is held
#: at or below 0 (fitted: 0): a window lost on the link must not raise a spike's score.
WITNESS_WEIGHTS = (4.518, -1.471, 3.642, 0.291, 1.396, 0.000)
#: The columns of :func:`witness_features`, in the order of :data:`WITNESS_WEIGHTS`.
WITNESS_COLUMNS = ("sound_there", "sound_absent", "snippet_there", "snippet_hf_logit", "snippet_ring_logit",
                   "snippet_absent")

#: A snippet's shares are clipped to this range before their logit (knocks, slaps and
#: steps put ~0.001 of their energy above the split, pops 0.02-0.5).
SNIPPET_SHARE_CLIP = (1e-3, 0.99)


@functools.lru_cache(maxsize=16)
def _band_sos(lo_hz: float, hi_hz: float, rate_hz: float) -> np.ndarray:
    hi = min(hi_hz, 0.45 * rate_hz)
    return signal.butter(4, [lo_hz, hi], btype="bandpass", fs=rate_hz, output="sos")


@functools.lru_cache(maxsize=16)
def _hp_sos(f_hz: float, rate_hz: float) -> np.ndarray:
    return signal.butter(4, min(f_hz, 0.45 * rate_hz), btype="highpass", fs=rate_hz, output="sos")


def audio_transients(track: AudioTrack, params: WitnessParams | None = None) -> dict[str, np.ndarray]:
    """Short broadband transients in the sound: ``t_s``, ``snr_db``, ``duration_s``, ``hf_share``.

    The band-passed sound is cut into ``audio_frame_s`` frames; a frame's energy over
    the median of its 0.5 s neighbourhood, above ``audio_min_snr_db``, starts an event;
    neighbouring loud frames join it. Kept: events no longer than
    ``audio_max_duration_s`` with at least ``audio_min_hf_share`` of their energy above
    ``audio_split_hz``. Works in one-minute chunks (an hour at 48 kHz stays small).
    """
    p = params or WitnessParams()
    fs = float(track.rate_hz)
    x = np.asarray(track.samples, dtype=np.float32)
    frame = max(int(round(p.audio_frame_s * fs)), 8)
    chunk = frame * int(60.0 / p.audio_frame_s)
    pad = frame * 500  # 0.5 s of context on each side of a chunk
    out: dict[str, list[float]] = {"t_s": [], "snr_db": [], "duration_s": [], "hf_share": []}
    sos_b = _band_sos(p.audio_band_hz[0], p.audio_band_hz[1], fs)
    sos_h = _hp_sos(p.audio_split_hz, fs)
    for start in range(0, x.size, chunk):
        a, b = max(start - pad, 0), min(start + chunk + pad, x.size)
        seg = x[a:b].astype(np.float64)
        if seg.size < 4 * frame:
            continue
        band = signal.sosfiltfilt(sos_b, seg)
        hf = signal.sosfiltfilt(sos_h, band)
        nf = band.size // frame
        e = (band[: nf * frame] ** 2).reshape(nf, frame).mean(axis=1)
        eh = (hf[: nf * frame] ** 2).reshape(nf, frame).mean(axis=1)
        med = _running_median(e, 501)
        snr = 10 * np.log10(np.maximum(e, 1e-30) / np.maximum(med, 1e-30))
        loud = snr >= p.audio_min_snr_db
        if not loud.any():
            continue
        # group loud frames (gaps of one frame join)
        idx = np.flatnonzero(loud)
        breaks = np.flatnonzero(np.diff(idx) > 2)
        for g0, g1 in zip(np.r_[0, breaks + 1], np.r_[breaks, idx.size - 1]):
            f0, f1 = idx[g0], idx[g1]
            centre = f0 + int(np.argmax(e[f0:f1 + 1]))
            t_abs = track.t0_s + (a + (centre + 0.5) * frame) / fs
            if not (start <= a + centre * frame < start + chunk):
                continue  # belongs to the neighbouring chunk
            dur = (f1 - f0 + 1) * frame / fs
            share = float(eh[f0:f1 + 1].sum() / max(e[f0:f1 + 1].sum(), 1e-30))
            if (p.audio_min_duration_s <= dur <= p.audio_max_duration_s
                    and p.audio_min_hf_share <= share <= p.audio_max_hf_share):
                out["t_s"].append(t_abs)
                out["snr_db"].append(float(snr[centre]))
                out["duration_s"].append(dur)
                out["hf_share"].append(share)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _running_median(e: np.ndarray, size: int) -> np.ndarray:
    """Median over ``size`` frames, by blocks of 50 (fast; an approximation is enough)."""
    blk = 50
    nb = -(-e.size // blk)
    padded = np.full(nb * blk, np.nan)
    padded[: e.size] = e
    med = np.nanmedian(padded.reshape(nb, blk), axis=1)
    span = max(size // blk, 1)
    smooth = ndimage.median_filter(med, size=span, mode="nearest")
    centres = np.arange(nb) * blk + blk / 2
    return np.interp(np.arange(e.size), centres, smooth)


def snippet_evidence(windows: Sequence[ImpulseWindow], params: WitnessParams | None = None
                     ) -> dict[str, np.ndarray]:
    """Per window: ``t_s`` (its largest high-passed sample), ``hf_share`` (energy share
    above ``snippet_split_hz`` of the window minus its mean, 0..1) and ``ring_share``
    (see :class:`WitnessParams`, 0..1)."""
    p = params or WitnessParams()
    lo_hz, hi_hz = p.snippet_ring_band_hz
    t_out, share, ring = [], [], []
    for w in windows:
        acc = np.asarray(w.acc_m_s2, dtype=float)
        if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] < 8:
            raise ValidationError(f"impulse window at t={w.t0_s:.3f} s must have shape (n >= 8, 3), got {acc.shape}")
        d = acc - acc.mean(axis=0)
        spec = np.abs(np.fft.rfft(d * np.hanning(d.shape[0])[:, None], axis=0)) ** 2
        f = np.fft.rfftfreq(d.shape[0], 1.0 / w.rate_hz)
        tot = spec[f > 0].sum()
        share.append(float(spec[f >= p.snippet_split_hz].sum() / max(tot, 1e-30)))
        ring.append(float(spec[f >= hi_hz].sum() / max(spec[f >= lo_hz].sum(), 1e-30)))
        t_out.append(w.t0_s + int(np.argmax(np.linalg.norm(d, axis=1))) / w.rate_hz)
    return {"t_s": np.asarray(t_out, dtype=float), "hf_share": np.asarray(share, dtype=float),
            "ring_share": np.asarray(ring, dtype=float)}


def witness_features(t_spikes: np.ndarray, *, audio: dict[str, np.ndarray] | None = None,
                     snippets: dict[str, np.ndarray] | None = None,
                     params: WitnessParams | None = None) -> np.ndarray:
    """(N, len(WITNESS_COLUMNS)) evidence per spike, in the order of :data:`WITNESS_WEIGHTS`.

    Columns: a sound transient within ``match_s``; sound recorded but none there; a
    snippet within ``match_s``; the logits of that snippet's ``hf_share`` and
    ``ring_share`` (0 without one); snippets recorded but none there. A witness that
    was not recorded contributes nothing.
    """
    p = params or WitnessParams()
    t = np.asarray(t_spikes, dtype=float)
    col = {name: k for k, name in enumerate(WITNESS_COLUMNS)}
    x = np.zeros((t.size, len(WITNESS_COLUMNS)))
    if audio is not None:
        ta = np.sort(audio["t_s"])
        hit = _near(t, ta, p.match_s)
        x[:, col["sound_there"]] = hit
        x[:, col["sound_absent"]] = ~hit
    if snippets is not None:
        ts = snippets["t_s"]
        shares = np.clip(np.column_stack([snippets["hf_share"], snippets["ring_share"]]), *SNIPPET_SHARE_CLIP)
        logits = [col["snippet_hf_logit"], col["snippet_ring_logit"]]
        for i, ti in enumerate(t):
            d = np.abs(ts - ti)
            if d.size and d.min() <= p.match_s:
                h = shares[int(np.argmin(d))]
                x[i, col["snippet_there"]] = 1.0
                x[i, logits] = np.log(h / (1 - h))
            else:
                x[i, col["snippet_absent"]] = 1.0
    return x


def _near(t: np.ndarray, ref_sorted: np.ndarray, tol: float) -> np.ndarray:
    if not ref_sorted.size or not t.size:
        return np.zeros(t.size, dtype=bool)
    j = np.clip(np.searchsorted(ref_sorted, t), 1, ref_sorted.size - 1) if ref_sorted.size > 1 else np.zeros(t.size, int)
    d = np.abs(ref_sorted[j] - t)
    if ref_sorted.size > 1:
        d = np.minimum(d, np.abs(ref_sorted[j - 1] - t))
    return d <= tol


def apply_witnesses(score: np.ndarray, t_spikes: np.ndarray, *, audio: dict[str, np.ndarray] | None = None,
                    snippets: dict[str, np.ndarray] | None = None, params: WitnessParams | None = None,
                    weights: tuple[float, ...] = WITNESS_WEIGHTS) -> np.ndarray:
    """``score`` (probabilities) with the witnesses' evidence added to their log-odds."""
    s = np.clip(np.asarray(score, dtype=float), 1e-9, 1 - 1e-9)
    x = witness_features(t_spikes, audio=audio, snippets=snippets, params=params)
    z = np.log(s / (1 - s)) + x @ np.asarray(weights, dtype=float)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def audible_without_spike(audio: dict[str, np.ndarray], t_spikes: np.ndarray,
                          params: WitnessParams | None = None) -> np.ndarray:
    """Times of sound transients with no IMU spike within ``match_s``."""
    p = params or WitnessParams()
    ta = np.asarray(audio["t_s"], dtype=float)
    return ta[~_near(ta, np.sort(np.asarray(t_spikes, dtype=float)), p.match_s)]
