"""Spike detection and *possible*-crack judgement (issue 4).

Why an impulse detector
-----------------------
A joint cavitation lasts about 5 ms with energy from 0.1 to 10 kHz (design.md,
norms.md). A 50–400 Hz IMU sees it only through its front end: a pulse of a sample or
a few (the filter's impulse response) and whatever slower tissue response follows. Nobody
has published what a lumbar pop looks like at these rates, so the judgement is tuned on
a family of guesses, not one (:mod:`tracker.simulate._pops`). So at these rates a
"crack" detector is an impulse detector that must reject everything else that makes
impulses at the lower back. The result always says "possible": no IMU at these rates
can tell a joint pop from a knock of the same size and shape.

Pipeline
--------
1. :func:`detect_spikes`. Split the samples at time gaps (a lost packet is not an
   impulse); subtract a 60 ms moving mean per segment (a short FIR high-pass that does
   not ring) and take the 3-axis magnitude ``m`` (independent of mounting), plus a
   robust background level (block medians, their running maximum). Every local maximum
   with ``m > max(min_peak_m_s2, min_snr * background)``, the largest within
   ``merge_s``, is a spike. Around each spike a straight line fitted outside the
   central three samples removes the slow body motion; from that residual come
   ``peak_m_s2``, ``width_s``, ``impulse_fraction`` (share of the window's energy in
   one pulse of at most two samples of one sign) and ``delta_v_m_s`` (the pulse's area,
   a velocity change, independent of the rate). Also measured: ``gyr_jump_rad_s`` (fast
   rotation at the spike above a parabola through the trunk's rotation), ``n_burst``
   (other spikes within ±1 s), ``periodicity`` (part of a footstep-like train),
   ``gait_rms_m_s2`` (walking-band, 0.7–4 Hz, acceleration around it) and
   ``persist_ratio`` (how strongly ``m`` goes on 60–200 ms before or after the
   spike: a vibration burst does, a pop comes out of stillness and its tissue
   response has died down).
2. :func:`judge_cracks`. ``crack_score`` is the probability that the spike is a joint
   pop (:func:`crack_probability`): a logistic model per sample rate, at 50-100 Hz also
   of products of the shape measures (:mod:`tracker.signal.crack_score`), of
   :data:`SCORE_FEATURES`
   (signal-to-background, size, velocity change, gyro jump, the pulse's shape at the
   sample level, what follows and precedes it, walking energy, step rhythm, bursts,
   shaking that goes on),
   each clipped to the range seen in tuning. It was fitted on the TUNING
   part of the simulator's pop family (:mod:`tracker.simulate._pops`: seeds, parameter
   ranges and sensor front ends the held-out test never uses) by
   ``benchmarks/tune_cracks.py``; ``benchmarks/bench_cracks.py`` checks on the held-out
   part that among spikes scored about p, about p are pops. Evidence from better
   witnesses, when recorded (the tag's kHz snippets, a phone's microphone), is added to
   the log-odds (:mod:`tracker.signal.witnesses`).

   ``possible_crack`` is ``crack_score >= CrackParams.threshold_at(rate)``
   (:data:`THRESHOLD_BY_RATE_HZ`: at least 0.6, precision first, and higher where one
   sample outlasts a tissue response, so a slap and a pop look alike; without a
   gyroscope ``CrackParams.threshold_no_gyro``). The
   soft factors of :func:`_factors` (``f_snr, f_size, f_gyro, f_shape, f_step,
   f_burst``, columns of the result) name the confounder of a rejected spike in
   ``kind``: ``tap`` (knock-sized, or a strong gyro jump), ``vibration`` (bursts),
   ``footstep`` (walking), ``tap`` (gyro jump), ``vibration`` (weak spike on a raised
   background), ``strap_slap`` (rings), else ``other``.
3. Refractory rule. A joint that cracked cannot crack again for ``refractory_s``
   (20 min); one sensor cannot tell joints apart, but it hears about
   ``joints_in_range`` = :data:`JOINTS_IN_RANGE` joints (the facet joints of T10–T11
   to L5–S1 on both sides, and both sacroiliac joints). So at most that many possible
   cracks are accepted in any 20-minute window, the earliest first (causal, so the
   live view gives the same answer). A further one gets its score multiplied by
   ``refractory_factor`` (0.5) and stays a possible crack only if it still passes the
   threshold; column ``refractory`` marks it and its ``kind`` becomes ``other``.

Known limits (measured on the held-out family, ``benchmarks/bench_cracks.py``)
------------------------------------------------------------------------------
* Sensitivity grows with the rate and the front end: the sampled peak of a 1–3 ms jolt
  scales with the anti-alias bandwidth. :data:`DETECTION_CURVE` gives, per rate, the
  share of pops found against their skin amplitude.
* A strap slap that dies within 1–3 samples, or a light knock without rotation, can look
  like a pop with little tissue response: the score says how often such spikes were
  pops, and the threshold leaves most of them out. Knocks without rotation are told
  by size (the family's are 2–16 g): of still taps of 0.5–2 g, a fifth to a quarter are
  called cracks at 200–400 Hz. At 50–100 Hz one sample is as long
  as the tissue response itself, so the threshold is higher there
  (:meth:`CrackParams.threshold_at`). Only a witness tells them apart reliably (kHz
  snippets, sound).
* A part set to a narrow digital low-pass (about a tenth of the rate) smooths every
  impulse into the shape of a tissue response: pops are found, and so are two in five
  strap slaps and knocks without rotation.
* A part that does not filter below half its rate aliases a slap that wobbles near the
  rate into one push, a pop's shape: at 100-104 Hz 2-4 % of such slaps are called cracks.
* A pop during walking or inside a vibration burst is not reported, nor one that
  shaking precedes or follows within 200 ms (``persist_ratio``: it reads as a burst's
  end or onset).
* A burst of only 0.2-0.3 s (a phone's notification) is short for that measure: the
  shaking 60-200 ms from its middle is half over. 4-8 % of such bursts are called
  cracks at 100-400 Hz, and 12-25 % of slow ones (5-30 Hz).

Irregular sample times are fine: processing is per gap-free segment, by sample index
(jitter does not matter), and ``t_s`` is reported from the input times.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..checks import check_positive, check_positive_arg, check_range
from ..errors import ValidationError
from ..quality import find_gaps
from ..recording import gyro_recorded, validate_arrays
from . import _spike_features as F
from .crack_score import ScoreModel, load_score_model
from .witnesses import ImpulseWindow, apply_witnesses, snippet_evidence

__all__ = [
    "SpikeParams", "CrackParams", "detect_spikes", "judge_cracks", "SpikeStream",
    "SPIKE_COLUMNS", "JUDGED_COLUMNS", "KINDS", "SCORE_FEATURES", "GYRO_FEATURE", "PHONE_APP_PROFILES",
    "crack_probability", "score_features", "Witnesses", "MEASURED_RECALL", "DETECTION_CURVE", "detection_note",
    "detection_note_for", "detection_limits",
    "MAX_JUDGED_RATE_HZ", "judged_rate_hz",
]

#: Recording profiles of phone apps started and stopped on the phone's screen.
PHONE_APP_PROFILES = ("phyphox", "sensor-logger", "physics-toolbox")

#: Best-guess labels a judged spike can get.
KINDS = ("possible_crack", "tap", "footstep", "vibration", "strap_slap", "other")

#: Columns of :func:`detect_spikes` (in this order).
SPIKE_COLUMNS = (
    "sample", "t_s", "peak_m_s2", "background_m_s2", "snr", "width_s", "impulse_fraction",
    "delta_v_m_s", "gyr_jump_rad_s", "n_burst", "periodicity", "gait_rms_m_s2",
    "lag1_corr", "side_ratio", "bipolar_ratio", "tail_ratio", "lead_ratio", "pre_ratio", "rebound_ratio", "late_ratio",
    "persist_ratio",
)
#: Columns :func:`judge_cracks` adds.
JUDGED_COLUMNS = ("crack_score", "possible_crack", "kind", "refractory")


@dataclass(frozen=True)
class SpikeParams:
    """Settings of :func:`detect_spikes` (units in the names).

    Attributes
    ----------
    detrend_window_s : float
        Moving-mean window subtracted from the acceleration to find spikes (a short FIR
        high-pass, at least 5 samples). Body motion during stretches is below a few
        Hz; impulses are broadband.
    min_peak_m_s2 : float
        Absolute floor of a spike's high-passed magnitude.
    min_snr : float
        A spike must also exceed this multiple of the local background level.
    merge_s : float
        Of maxima closer than this, only the largest is a spike (one impulse rings).
    background_block_s, background_span_s : float
        Block length of the background medians and the span of their running maximum.
    gyr_context_s : float
        Gyroscope before and after the jump window to which a parabola is fitted (the
        trunk's own rotation, which the jump is measured against).
    gyr_window_s : tuple of float
        Window (relative to the peak) searched for the gyro jump.
    shape_window_s : float
        Half-width of the window (at least 5 samples) in which the slow motion is
        fitted by a line and removed; ``peak_m_s2``, ``width_s``, ``impulse_fraction``
        and ``delta_v_m_s`` come from that residual.
    push_window_s : float
        Half-width of the window summed for ``delta_v_m_s`` (a tap's push lasts ~10 ms).
    burst_window_s : float
        Half-width of the window counting neighbour spikes.
    persist_window_s : tuple of float
        Windows before and after the peak (from, to) whose larger high-passed RMS over
        the peak is ``persist_ratio``: a vibration goes on there, a pop's tissue
        response has died down and it came out of stillness.
    step_period_s : tuple of float
        Range of step intervals for ``periodicity`` (walking ≈ 1.6–2.2 steps/s; slower
        and faster gaits included).
    step_tolerance : float
        Relative difference two consecutive intervals may have and still be a train.
    gait_band_hz : tuple of float
        Band of the walking-energy feature (step frequency and its first harmonic).
    gait_window_s : float
        Window of the walking-energy moving RMS.
    """

    detrend_window_s: float = 0.06
    min_peak_m_s2: float = 0.5
    min_snr: float = 4.0
    merge_s: float = 0.08
    background_block_s: float = 0.25
    background_span_s: float = 2.0
    gyr_context_s: float = 0.1
    gyr_window_s: tuple[float, float] = (-0.02, 0.1)
    shape_window_s: float = 0.06
    push_window_s: float = 0.01
    burst_window_s: float = 1.0
    persist_window_s: tuple[float, float] = (0.06, 0.2)
    step_period_s: tuple[float, float] = (0.3, 1.1)
    step_tolerance: float = 0.3
    gait_band_hz: tuple[float, float] = (0.7, 4.0)
    gait_window_s: float = 2.0

    def __post_init__(self) -> None:
        check_positive(self, "detrend_window_s", "min_peak_m_s2", "min_snr", "merge_s",
                       "background_block_s", "background_span_s", "gyr_context_s",
                       "shape_window_s", "burst_window_s", "gait_window_s")
        if not 0.0 < self.persist_window_s[0] < self.persist_window_s[1]:
            raise ValidationError(f"persist_window_s must be (from, to) with 0 < from < to, got {self.persist_window_s}")


#: Joints a sensor over the lower back may hear cavitate: the facet joints of T10-T11 to
#: L5-S1 on both sides (the thoracolumbar junction turns most in a twist; the lumbar
#: facets allow little rotation) and both sacroiliac joints. Each is refractory for
#: 20 min after it cracks (norms.md); which of them a stretch opens is not known, so all
#: count. (A budget of 4, the joints at the sensor, halved the recall of sessions with
#: eleven pops.)
JOINTS_IN_RANGE = tuple(f"{a}-{b} {side}" for a, b in zip(("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5"),
                                                        ("T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"))
                        for side in ("left", "right")) + ("SI left", "SI right")

#: (rate_hz, threshold): the ``crack_score`` a spike needs to be a possible crack at each
#: rate (interpolated in log rate between, held beyond the ends). At 50-100 Hz one sample
#: is as long as a 15-50 Hz tissue response, the part that tells a pop from a strap slap,
#: so slaps and pops score alike there and a higher threshold keeps the slaps out. Chosen
#: by ``benchmarks/tune_cracks.py`` on the TUNING part: per rate, the lowest threshold
#: (at least 0.6; 0.675 at 400 Hz, 0.9 at 50 and 100 Hz: ``MIN_THRESHOLD_BY_RATE_HZ``
#: there says why) at which no confounder kind has more than the tuner's
#: ``MAX_CONFOUNDER_SHARE`` of its events judged a crack, by scores of sessions the fit
#: did not see. Re-run it with the score.
THRESHOLD_BY_RATE_HZ: tuple[tuple[float, float], ...] = (
    (50.0, 0.90), (100.0, 0.90), (200.0, 0.60), (400.0, 0.675),
)


@dataclass(frozen=True)
class CrackParams:
    """Settings of :func:`judge_cracks`: the midpoints (factor 0.5) of the score factors.

    Attributes
    ----------
    threshold : float
        ``possible_crack`` is ``crack_score >= threshold`` at least (and at least
        :data:`THRESHOLD_BY_RATE_HZ` at the rate: :meth:`threshold_at`). ``crack_score``
        is a probability (:func:`crack_probability`); the default asks for odds of 3 to
        2 for a pop (precision before recall: a missed pop costs less than a made-up one).
    threshold_no_gyro : float
        What a spike needs when the gyroscope was not recorded. Without it a touch, a
        knock or a shove that turns the sensor looks like a pop, and real recordings are
        full of them: an accelerometer-only phone export (phyphox, iPhone, turned in
        the hand at ~1 rad/s) had 0.13-0.25 g bumps scored up to 0.95 that its
        gyroscope rules out. The simulator's mix does not show this (the tuning rule on
        it asks 0.7-0.8 without the gyroscope): a policy from real data, not a fit.
    snr_mid : float
        Peak/background ratio at which ``f_snr`` is 0.5.
    tap_peak_m_s2 : float
        Peak at which the peak part of ``f_size`` is 0.5: knocks and finger taps are
        several g (norms.md: 7–16 g); the simulator's pops reach ~3 g at 400 Hz.
    tap_delta_v_m_s : float
        Velocity change at which the other part of ``f_size`` is 0.5: a 10 ms, 7 g push
        is ~0.4 m/s, a 1–2 ms, 6 g jolt ~0.07 m/s, whatever the sample rate.
    tap_gyr_rad_s : float
        Gyro jump at which ``f_gyro`` is 0.5 (taps rock the sensor at 35–43 °/s, which
        a 50 Hz part sees as ~15 °/s; pops in the simulator stay below 2 °/s).
    min_impulse_fraction : float
        ``impulse_fraction`` at which ``f_shape`` is 0.5 (0.1 -> 0.9 over ±0.04).
        A band-limited pop gives 0.85–1 (two samples plus the anti-alias filter's
        side lobes); a slap or heel strike that rings for three samples or more less.
    step_periodicity : float
        Periodicity at which the train part of ``f_step`` is 0.5.
    walking_rms_m_s2 : float
        Walking-band RMS acceleration at which the walking part of ``f_step`` is 0.5
        (walking: 0.75–1 m/s² in the simulator, more in real gait; stretches < 0.5).
    burst_mid : float
        Number of neighbour spikes within ±1 s at which ``f_burst`` is 0.5.
    vibration_background_m_s2 : float
        A low-SNR spike is labelled ``vibration`` when the background exceeds this.
    refractory_s : float
        A joint cannot crack again within this time (about 20 min).
    joints_in_range : int
        Possible cracks accepted per ``refractory_s`` window before the refractory
        reduction applies (:data:`JOINTS_IN_RANGE`).
    refractory_factor : float
        Score multiplier for possible cracks beyond that budget.
    handling_s : float
        Spikes this close to the start or end of a recording made by a phone app
        (:data:`PHONE_APP_PROFILES`) are the touch on the screen that started or stopped
        it: never possible cracks (``kind`` ``tap``). Applied by the session analysis,
        which knows the recording's source.
    """

    threshold: float = 0.6
    threshold_no_gyro: float = 0.97
    snr_mid: float = 6.0
    tap_peak_m_s2: float = 60.0
    tap_delta_v_m_s: float = 0.15
    tap_gyr_rad_s: float = 0.15
    min_impulse_fraction: float = 0.8
    step_periodicity: float = 0.5
    walking_rms_m_s2: float = 0.65
    burst_mid: float = 3.0
    vibration_background_m_s2: float = 1.0
    refractory_s: float = 1200.0
    joints_in_range: int = len(JOINTS_IN_RANGE)
    refractory_factor: float = 0.5
    handling_s: float = 1.0

    def __post_init__(self) -> None:
        check_range(self, "threshold", 0.0, 1.0)
        check_range(self, "threshold_no_gyro", 0.0, 1.0)
        check_range(self, "refractory_factor", 0.0, 1.0)
        check_range(self, "joints_in_range", 1)
        check_positive(self, "snr_mid", "tap_peak_m_s2", "tap_delta_v_m_s", "tap_gyr_rad_s",
                       "walking_rms_m_s2", "burst_mid", "refractory_s")

    def threshold_at(self, sampling_rate_hz: float, *, gyro: bool = True) -> float:
        """The ``crack_score`` a spike needs at this rate to be a possible crack
        (``gyro=False``: a spike without a gyroscope reading)."""
        rates, thr = zip(*THRESHOLD_BY_RATE_HZ)
        by_rate = float(np.interp(np.log2(judged_rate_hz(sampling_rate_hz)), np.log2(rates), thr))
        return max(self.threshold, by_rate, 0.0 if gyro else self.threshold_no_gyro)

    def thresholds(self, gyr_jump_rad_s: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
        """:meth:`threshold_at` for each spike (NaN ``gyr_jump_rad_s``: not recorded)."""
        blind = np.isnan(np.asarray(gyr_jump_rad_s, dtype=float))
        return np.where(blind, self.threshold_at(sampling_rate_hz, gyro=False), self.threshold_at(sampling_rate_hz))


def _inputs(t_s: Any, acc_m_s2: Any, gyr_rad_s: Any, sampling_rate_hz: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.asarray(t_s, dtype=np.float64)
    acc = np.asarray(acc_m_s2, dtype=np.float64)
    gyr = np.asarray(gyr_rad_s, dtype=np.float64)
    if t.ndim != 1:
        raise ValidationError(f"t_s must be one-dimensional, got shape {t.shape}")
    for name, arr in (("acc_m_s2", acc), ("gyr_rad_s", gyr)):
        if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] != t.size:
            raise ValidationError(f"{name} must have shape ({t.size}, 3), got {arr.shape}")
    check_positive_arg("sampling_rate_hz", sampling_rate_hz)
    validate_arrays(t, acc, gyr, None)
    return t, acc, gyr


Cols = dict[str, np.ndarray]
"""Spikes as a dict of equal-length arrays: the internal form (DataFrames are slow to build)."""

_INT_COLUMNS = ("sample", "n_burst")


def _empty_cols() -> Cols:
    return {c: np.zeros(0, dtype=np.int64 if c in _INT_COLUMNS else float) for c in SPIKE_COLUMNS}


def _frame(cols: Cols) -> pd.DataFrame:
    return pd.DataFrame(cols, columns=list(cols))


def _take(cols: Cols, sel: np.ndarray) -> Cols:
    return {k: v[sel] for k, v in cols.items()}


def detect_spikes(
    t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, *,
    sampling_rate_hz: float, params: SpikeParams | None = None,
) -> pd.DataFrame:
    """Find every short acceleration impulse and measure it.

    Parameters
    ----------
    t_s : ndarray, shape (N,)
        Sample times in seconds, strictly increasing (gaps and jitter allowed).
    acc_m_s2 : ndarray, shape (N, 3)
        Accelerometer in m/s², any sensor frame.
    gyr_rad_s : ndarray, shape (N, 3)
        Gyroscope in rad/s, same frame.
    sampling_rate_hz : float
        Nominal sample rate; the samples are split at gaps (:func:`tracker.quality.find_gaps`).
    params : SpikeParams, optional

    Returns
    -------
    DataFrame
        One row per spike in time order, columns :data:`SPIKE_COLUMNS`:
        ``sample`` (index into the inputs), ``t_s``, ``peak_m_s2`` (peak magnitude of
        the high-passed acceleration: the samples minus a line through the motion
        around them), ``background_m_s2`` (local level of the moving-mean residual),
        ``snr``, ``width_s`` (above half peak), ``impulse_fraction`` (0..1),
        ``delta_v_m_s``, ``gyr_jump_rad_s``, ``n_burst``, ``periodicity`` (0..1),
        ``gait_rms_m_s2``, the pulse's shape (:func:`._spike_features.pulse_shape`) and
        ``persist_ratio``. Empty (same columns) for fewer than 3 samples.

    Raises
    ------
    ValidationError
        On wrong shapes, NaN/inf, non-increasing times or a bad rate.

    Examples
    --------
    >>> from tracker.simulate import simulate_session
    >>> rec = simulate_session(seed=1, rate_hz=200.0).recording
    >>> spikes = detect_spikes(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, sampling_rate_hz=200.0)
    >>> judged = judge_cracks(spikes, rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, sampling_rate_hz=200.0)
    >>> judged.loc[judged["possible_crack"], ["t_s", "peak_m_s2", "crack_score"]]  # doctest: +SKIP
    """
    p = params or SpikeParams()
    t, acc, gyr = _inputs(t_s, acc_m_s2, gyr_rad_s, sampling_rate_hz)
    return _frame(_detect(t, acc, gyr, float(sampling_rate_hz), p, 0))


#: Spikes are found and judged at no more than about this rate: the score was fitted at
#: 50-400 Hz, and its shape features count samples. A faster stream (tracker-imu up to
#: 1600 Hz, an ICM-42688 at 500-1000 Hz) is first averaged over blocks of whole samples,
#: as a sensor's own oversampling does (judged as it was, 1600 Hz called a third of the
#: taps and slaps cracks).
MAX_JUDGED_RATE_HZ = 440.0


def _block_size(sampling_rate_hz: float) -> int:
    return max(1, int(np.ceil(float(sampling_rate_hz) / MAX_JUDGED_RATE_HZ)))


def judged_rate_hz(sampling_rate_hz: float) -> float:
    """The rate spikes of a ``sampling_rate_hz`` stream are found and judged at."""
    return float(sampling_rate_hz) / _block_size(sampling_rate_hz)


def _block_means(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, fs: float, offset: int, q: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Means over blocks of ``q`` samples aligned to the global index (so a live buffer
    and the whole recording agree), never across a gap. Returns the block means, each
    block's first buffer index and length, and the global index of the first block."""
    n = t.size
    first = (-offset) % q  # samples before it belong to a block begun before the buffer
    seg_id = np.zeros(n, dtype=np.int64)
    for k, (a, b) in enumerate(find_gaps(t, period_s=1.0 / fs).segments(n)):
        seg_id[a:b] = k
    idx = np.arange(first, n)
    blk = (offset + idx) // q
    new = np.ones(idx.size, dtype=bool)
    new[1:] = (np.diff(blk) != 0) | (np.diff(seg_id[idx]) != 0)
    starts = idx[new]
    count = np.diff(np.append(starts, n))

    def mean(x: np.ndarray) -> np.ndarray:
        sums = np.add.reduceat(x[first:], starts - first, axis=0)
        return sums / (count if x.ndim == 1 else count[:, None])

    return mean(t), mean(acc), mean(gyr), starts, count, (offset + first) // q


def _detect(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, fs: float, p: SpikeParams,
            offset: int, acc_norm: np.ndarray | None = None) -> Cols:
    """:func:`detect_spikes` on validated arrays; ``offset`` = global index of sample 0.

    ``acc_norm`` is ``norm3(acc)`` when the caller has it already.
    """
    q = _block_size(fs)
    if q > 1 and t.size >= q:
        td, ad, gd, starts, count, off = _block_means(t, acc, gyr, fs, offset, q)
        out = _detect(td, ad, gd, fs / q, p, off)
        k = out["sample"]
        out["sample"] = starts[k] + np.minimum(q // 2, count[k] - 1)  # the block's middle sample
        return out
    n = t.size
    if n < 3:
        return _empty_cols()

    segs = find_gaps(t, period_s=1.0 / fs).segments(n)
    too_short = np.zeros(n, dtype=bool)
    for start, stop in segs[(segs[:, 1] - segs[:, 0]) < 8]:
        too_short[start:stop] = True
    d = F.moving_detrend(acc, segs, max(F.samples_in(p.detrend_window_s / 2, fs), 2))
    m = F.norm3(d)
    block = max(F.samples_in(p.background_block_s, fs), 4)
    span = max(int(round(p.background_span_s / p.background_block_s)), 1)
    bg = F.background_level(m, block, span, offset)
    thr = np.maximum(p.min_peak_m_s2, p.min_snr * bg)
    thr[too_short] = np.inf
    peaks = F.find_candidates(m, thr, max(F.samples_in(p.merge_s, fs), 1))
    if peaks.size == 0:
        return _empty_cols()

    # Shape from the raw samples around each spike, minus the slow motion (a fitted line).
    half = max(F.samples_in(p.shape_window_s, fs), 5)
    core = 1
    r, _ = F.local_residual(acc, peaks, half, core, segs)
    rmag = F.norm3(r)
    j = np.argmax(rmag[:, half - core:half + core + 1], axis=1)
    peak = rmag[np.arange(peaks.size), half - core + j]
    # Report the sample where the residual peaks (the moving mean can shift it by one).
    at = np.clip(peaks + j - core, 0, n - 1)
    tp = t[at]
    shape = F.pulse_shape(r, core, fs)
    gait = F.gait_rms(F.norm3(acc) if acc_norm is None else acc_norm, peaks, fs, p.gait_band_hz,
                      p.gait_window_s, offset)
    return {
        "sample": at,
        "t_s": tp,
        "peak_m_s2": peak,
        "background_m_s2": bg[peaks],
        "snr": peak / np.maximum(bg[peaks], 1e-9),
        "width_s": F.spike_width_s(rmag, core, fs),
        "impulse_fraction": F.impulse_fraction(r, core),
        "delta_v_m_s": F.delta_v(r, max(F.samples_in(p.push_window_s, fs), 1), fs),
        # NaN: not measured (a sensor without a gyroscope records zeros, which would
        # read as "no rotation", the pops' side of the tap check)
        "gyr_jump_rad_s": F.gyro_jump(gyr, peaks, segs, fs, p.gyr_window_s, p.gyr_context_s)
        if gyro_recorded(gyr) else np.full(peaks.size, np.nan),
        "n_burst": F.burst_count(tp, p.burst_window_s),
        "periodicity": F.periodicity(tp, p.step_period_s[0], p.step_period_s[1], p.step_tolerance),
        "gait_rms_m_s2": gait,
        **shape,
        "persist_ratio": F.persistence_ratio(m, peaks, segs, fs, p.persist_window_s),
    }


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def _soft(x: np.ndarray, mid: float, span: float, *, log: bool, falling: bool) -> np.ndarray:
    """Logistic step through ``mid``: 0.1 -> 0.9 over ``mid / span .. mid * span`` (log)
    or ``mid - span .. mid + span`` (linear); ``falling`` flips it."""
    if log:
        z = np.log(np.maximum(x, 1e-12) / mid) / np.log(span)
    else:
        z = (x - mid) / span
    return _logistic((-1.0 if falling else 1.0) * np.log(9.0) * z)


def _factors(s: Cols, cp: CrackParams, rest: np.ndarray | None) -> dict[str, np.ndarray]:
    """Soft factors in 0..1 (1 = no sign of that confounder)."""
    def col(name: str) -> np.ndarray:
        return np.asarray(s[name], dtype=float)

    f_snr = _soft(col("snr"), cp.snr_mid, 1.5, log=True, falling=False)
    # Knocks: several g, or a large velocity change (a 10 ms push), whatever the rate.
    f_size = (_soft(col("peak_m_s2"), cp.tap_peak_m_s2, 1.5, log=True, falling=True)
              * _soft(col("delta_v_m_s"), cp.tap_delta_v_m_s, 1.5, log=True, falling=True))
    gj = col("gyr_jump_rad_s")
    # No gyroscope: no evidence either way here; the score (fitted without it) says how unsure.
    f_gyro = np.where(np.isnan(gj), 1.0, _soft(np.nan_to_num(gj), cp.tap_gyr_rad_s, 1.5, log=True, falling=True))
    f_shape = _soft(col("impulse_fraction"), cp.min_impulse_fraction, 0.04, log=False, falling=False)
    walking = _soft(col("gait_rms_m_s2"), cp.walking_rms_m_s2, 1.5, log=True, falling=False)
    periodic = _soft(col("periodicity"), cp.step_periodicity, 0.15, log=False, falling=False)
    step = np.maximum(periodic, walking)
    if rest is not None:
        step = np.where(rest, 0.0, step)  # a still body is not walking
    f_burst = _soft(col("n_burst"), cp.burst_mid, 1.0, log=False, falling=True)
    return {"f_snr": f_snr, "f_size": f_size, "f_gyro": f_gyro, "f_shape": f_shape,
            "f_step": 1.0 - step, "f_burst": f_burst}


def judge_cracks(
    spikes: pd.DataFrame, t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, *,
    sampling_rate_hz: float, rest_mask: np.ndarray | None = None,
    params: CrackParams | None = None, spike_params: SpikeParams | None = None,
) -> pd.DataFrame:
    """Judge each spike: possible joint crack or a confounder.

    Parameters
    ----------
    spikes : DataFrame
        Output of :func:`detect_spikes` on the same samples. If it lacks the feature
        columns the spikes are detected again from the samples.
    t_s, acc_m_s2, gyr_rad_s : ndarray
        The samples (see :func:`detect_spikes`).
    sampling_rate_hz : float
    rest_mask : ndarray of bool, shape (N,), optional
        True where the body is still (e.g. VQF rest detection). A spike at rest is
        never labelled a footstep; the score does not use it (one judgement for the
        offline analysis and the live view, which has no rest mask).
    params : CrackParams, optional
    spike_params : SpikeParams, optional
        Used only when the spikes must be detected again.

    Returns
    -------
    DataFrame
        ``spikes`` plus :data:`JUDGED_COLUMNS`: ``crack_score`` (0..1),
        ``possible_crack`` (bool), ``kind`` (one of :data:`KINDS`) and ``refractory``
        (bool: the score was reduced by the 20-minute rule), and the factor columns
        ``f_snr, f_size, f_gyro, f_shape, f_step, f_burst``.
    """
    cp = params or CrackParams()
    t, acc, gyr = _inputs(t_s, acc_m_s2, gyr_rad_s, sampling_rate_hz)
    if not set(SPIKE_COLUMNS) <= set(spikes.columns):
        spikes = detect_spikes(t, acc, gyr, sampling_rate_hz=sampling_rate_hz, params=spike_params)
    order = np.argsort(spikes["t_s"].to_numpy(float), kind="stable")
    out = {str(k): spikes[k].to_numpy()[order] for k in spikes.columns}
    rest = None
    if rest_mask is not None:
        rm = np.asarray(rest_mask, dtype=bool)
        if rm.shape != t.shape:
            raise ValidationError(f"rest_mask must have shape {t.shape}, got {rm.shape}")
        idx = out["sample"].astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= t.size):
            raise ValidationError("spikes reference samples outside the given arrays")
        rest = rm[idx]
    judged = _judge(out, cp, float(sampling_rate_hz), rest)
    return _frame(_finish(judged, cp, None, float(sampling_rate_hz)))


def detect_and_judge(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, fs: float,
                     sp: SpikeParams | None, cp: CrackParams | None, rest_mask: np.ndarray | None = None,
                     acc_norm: np.ndarray | None = None, witnesses: Witnesses | None = None) -> Cols:
    """:func:`detect_spikes` + :func:`judge_cracks` on arrays already validated (a
    :class:`~tracker.recording.Recording`'s), as a dict of columns in time order.

    For :func:`~tracker.signal.process.process_session`: no second validation of an
    hour of samples, no DataFrames in between; same values as the public pair.
    """
    sp, cp = sp or SpikeParams(), cp or CrackParams()
    out = _detect(t, acc, gyr, float(fs), sp, 0, acc_norm)
    order = np.argsort(out["t_s"], kind="stable")
    out = {k: v[order] for k, v in out.items()}
    rest = None if rest_mask is None else np.asarray(rest_mask, dtype=bool)[out["sample"]]
    return _finish(_judge(out, cp, float(fs), rest, witnesses), cp, None, float(fs))


#: Share of pops found (skin 0.2–3 g, the held-out part of the simulator's family), per
#: sample rate: (motion sensor alone, with the tag's kHz snippets, with a phone's
#: microphone). Measured by ``benchmarks/bench_cracks.py`` with the fitted score;
#: re-measure after refitting. The report's "About these measurements" quotes it.
MEASURED_RECALL: dict[float, tuple[float, float, float]] = {
    50.0: (0.09, 0.30, 0.51), 100.0: (0.35, 0.49, 0.68), 200.0: (0.71, 0.83, 0.89), 400.0: (0.72, 0.80, 0.89),
}
#: Share of held-out pops of one skin amplitude (g) found by the motion sensor alone, per
#: sample rate: ``bench_cracks.py``'s detection curve (re-measure with MEASURED_RECALL).
DETECTION_CURVE: dict[float, tuple[tuple[float, float], ...]] = {
    50.0: ((0.2, 0.03), (0.5, 0.08), (1.0, 0.12), (2.0, 0.11), (3.0, 0.09)),
    100.0: ((0.2, 0.29), (0.5, 0.36), (1.0, 0.37), (2.0, 0.35), (3.0, 0.32)),
    200.0: ((0.2, 0.65), (0.5, 0.73), (1.0, 0.77), (2.0, 0.71), (3.0, 0.56)),
    400.0: ((0.2, 0.70), (0.5, 0.78), (1.0, 0.78), (2.0, 0.70), (3.0, 0.56)),
}


def _size_limit(rate_hz: float) -> str:
    """What the detection curve says about pop size at one rate, in words."""
    curve = DETECTION_CURVE[rate_hz]
    (a0, r0), best = curve[0], max(r for _, r in curve)
    half = [a for a, r in curve if r >= 0.5]
    if not half:
        return f"at {rate_hz:.0f} Hz fewer than half at any size ({best:.0%} at best, {r0:.0%} of {a0:g} g pops)"
    if half[0] == a0:
        return f"at {rate_hz:.0f} Hz {r0:.0%} even of {a0:g} g pops ({best:.0%} at best)"
    return f"at {rate_hz:.0f} Hz half or more of those of {half[0]:g} g or more ({best:.0%} at best), {r0:.0%} of {a0:g} g pops"


def detection_note() -> str:
    """One paragraph on what the crack detection misses, from :data:`MEASURED_RECALL` and
    :data:`DETECTION_CURVE`."""
    r = MEASURED_RECALL
    alone = ", ".join(f"{v[0]:.0%} at {k:.0f} Hz" for k, v in r.items())
    sizes = "; ".join(_size_limit(k) for k in DETECTION_CURVE)
    return ("How many joint pops a sensor sees is not known from people: on simulated pops of 0.2–3 g "
            f"at the skin, the motion sensor alone finds about {alone}; the rest look like a strap "
            "slap or a light knock and are left out, so that look-alikes are rarely called cracks. "
            "Some look-alikes are called one more often: a strap that slaps the sensor as one short "
            "push (above all with a sensor set to a narrow filter), a light touch (under about 2 g) "
            "that does not rock the sensor, and a buzz of a quarter of a second (a notification on a "
            "phone worn as the sensor: silence it). "
            f"By size, it finds {sizes}. "
            f"A phone's microphone raises that to about {r[100.0][2]:.0%} at 100 Hz and "
            f"{r[200.0][2]:.0%} at 200 Hz, the tag's kHz snippets to {r[100.0][1]:.0%} at 100 Hz and "
            f"{r[200.0][1]:.0%} at 200 Hz, but the snippets take anything that rattles on the tag (a loose "
            "buckle or strap end) for a pop's ringing: fasten it. "
            "A crack score is the probability, among spikes like it in that simulation, that it was a pop.")


def _nearest_measured_rate(rate_hz: float) -> float:
    """The rate of :data:`MEASURED_RECALL` nearest ``rate_hz`` (in log rate)."""
    return min(MEASURED_RECALL, key=lambda k: abs(np.log2(k / rate_hz)))


def _detection_kinds(recordings: Iterable[tuple[float, bool]]) -> dict[tuple[float, bool], set[int]]:
    """(rate judged at, gyroscope) -> the recorded rates (Hz) of that kind. A rate within
    3 % of a measured one (a phone's 99.5 or 100.8 Hz) counts as that rate."""
    kinds: dict[tuple[float, bool], set[int]] = {}
    for rate, gyro in recordings:
        if rate is None or not np.isfinite(rate) or rate <= 0:
            continue
        judged = judged_rate_hz(rate)
        nearest = _nearest_measured_rate(judged)
        shown = nearest if abs(np.log2(nearest / judged)) < np.log2(1.03) else round(judged, 1)
        kinds.setdefault((shown, bool(gyro)), set()).add(round(rate))
    return kinds


def _detection_clause(judged: float, gyro: bool, recorded: set[int]) -> str:
    if recorded == {round(judged)}:
        label = f"{judged:.0f} Hz"
    elif max(recorded) < 1.5 * judged:
        label = f"about {judged:.0f} Hz"
    else:  # a fast stream, judged on block means
        label = f"{'/'.join(str(r) for r in sorted(recorded))} Hz (judged at {judged:.0f} Hz)"
    lowest = min(MEASURED_RECALL)
    if judged < 0.9 * lowest:
        return (f"at {label} a pop is too short to see: at {lowest:.0f} Hz, the slowest rate measured, "
                f"the motion sensor alone finds about {MEASURED_RECALL[lowest][0]:.0%} of simulated pops")
    nearest = _nearest_measured_rate(judged)
    measured = "" if round(nearest) == round(judged) else f" (measured at {nearest:.0f} Hz)"
    pct = f"{MEASURED_RECALL[nearest][0]:.0%}"
    need = f"a possible crack needs a crack score of {CrackParams().threshold_at(judged, gyro=gyro):.3g}"
    if gyro:
        return f"at {label} the motion sensor alone finds about {pct} of simulated pops{measured}, and {need}"
    return f"at {label} without a gyroscope {need}, so fewer pops are found than the {pct}{measured} found with one"


def detection_limits(rate_hz: float, gyro: bool) -> str:
    """What the crack detection sees in one recording (a clause: :data:`MEASURED_RECALL` at
    the nearest measured rate and the threshold there; "" for an unknown rate)."""
    return "; ".join(_detection_clause(j, g, r) for (j, g), r in _detection_kinds([(rate_hz, gyro)]).items())


def detection_note_for(recordings: Iterable[tuple[float, bool]]) -> str:
    """One sentence on what the crack detection sees in the sessions in hand, given each
    one's ``(rate in Hz, gyroscope recorded)`` ("" when no rate is known)."""
    kinds = _detection_kinds(recordings)
    parts = [_detection_clause(j, g, kinds[(j, g)]) for j, g in sorted(kinds, key=lambda k: (k[0], not k[1]))]
    return "For the sessions in this report: " + "; ".join(parts) + "." if parts else ""


#: Inputs of the crack score, in order (see :func:`score_features`): each with the range
#: it is clipped to, so a spike unlike any seen in tuning cannot push the score further
#: than the most extreme one that was seen.
SCORE_FEATURES: tuple[tuple[str, float, float], ...] = (
    # Size enters only where it tells confounders apart: a low peak/background ratio
    # (buzz, heel strikes) below the pops' range, a peak and a push beyond it (knocks).
    # Inside the pops' range it stays out, or larger pops would look ever more like taps.
    ("log_snr", np.log(3.0), np.log(30.0)),
    ("log_peak", np.log(30.0), np.log(160.0)),
    ("log_dv", np.log(0.1), np.log(2.0)),
    # Rotation below 3 deg/s says nothing (gyroscope noise, the trunk's own turning; the
    # simulator's pops and slaps differ there only by our guesses); above it, a touch
    # that rocks the sensor. Floored at 0.005 rad/s, a BROAD knock of 0.28 g turning the
    # sensor at 32 deg/s scored 0.83.
    ("log_gyr", np.log(0.05), np.log(3.0)),
    ("impulse_fraction", 0.0, 1.0),
    ("lag1_corr", -1.0, 1.0),
    ("side_ratio", -1.0, 1.5),
    ("bipolar_ratio", -1.5, 1.0),
    ("tail_ratio", 0.0, 2.0),
    ("lead_ratio", 0.0, 2.0),
    ("pre_ratio", -1.0, 1.0),
    ("rebound_ratio", -1.0, 1.0),
    ("late_ratio", -1.0, 1.0),
    # Walking is 0.75-1 m/s^2 in the walking band; below 0.3 it says nothing (a stretch,
    # or the back's own turning seen by a sensor off its centre): without this floor the
    # score took the stillness of holds, where the simulated pops happen, for evidence.
    ("log_gait", np.log(0.3), np.log(5.0)),
    ("periodicity", 0.0, 1.0),
    ("n_burst", 0.0, 6.0),
    ("log_area_samples", np.log(0.1), np.log(10.0)),
    # Below 0.3 persistence says nothing (pops come out of stillness, and their tissue
    # responses, slaps and knocks have died by 60 ms); above it, shaking that goes on
    # around the spike: a vibration burst. Saturating at 0.6 instead (a 0.2-0.3 s burst
    # reads 0.35-0.6; a trial refit, 300 held-out sessions per rate) took 5-30 Hz buzz
    # from 2.3 to 1.3 % at 400 Hz and the model from F1 0.894 to 0.906 there, but
    # left the shortest slow bursts at 200 Hz near a fifth, and a handling spike of
    # BROAD's fast rotation (0.3 g, 35 deg/s) rose from 0.50 to 0.67, a possible crack.
    ("persist_ratio", 0.3, 1.5),
)
#: The feature a sensor without a gyroscope cannot give (NaN in :func:`score_features`).
GYRO_FEATURE = "log_gyr"


def score_features(s: Cols, fs: float) -> np.ndarray:
    """(N, K) inputs of the crack score: :data:`SCORE_FEATURES`, clipped to their tuning
    ranges. ``log_gyr`` is NaN where the gyroscope was not recorded."""
    fs = judged_rate_hz(fs)  # the spikes' own rate (see MAX_JUDGED_RATE_HZ)
    def col(name: str) -> np.ndarray:
        return np.asarray(s[name], dtype=float)

    n = len(s["t_s"])
    gait, per = col("gait_rms_m_s2"), col("periodicity")
    peak = np.maximum(col("peak_m_s2"), 1e-9)
    raw = {
        "log_snr": np.log(np.maximum(col("snr"), 1e-9)), "log_peak": np.log(peak),
        "log_dv": np.log(col("delta_v_m_s") + 1e-4), "log_gyr": np.log(col("gyr_jump_rad_s") + 0.005),
        "log_gait": np.log(gait + 0.01), "periodicity": per, "n_burst": col("n_burst"),
        "log_area_samples": np.log(np.maximum(col("delta_v_m_s") * fs / peak, 1e-9)),
    }
    x = [np.clip(raw[name] if name in raw else col(name), lo, hi) for name, lo, hi in SCORE_FEATURES]
    return np.stack(x, axis=1) if n else np.zeros((0, len(x)))


def crack_probability(s: Cols, fs: float, model: ScoreModel | None = None) -> np.ndarray:
    """``crack_score``: the probability that each spike is a joint pop (0..1).

    Calibrated on the simulator's pop family (among spikes scored about p, about p
    were pops there): a statement about that family's mix of pops and confounders,
    not about any one person. The model (:mod:`tracker.signal.crack_score`, default the
    fitted one shipped with the package) is chosen by the rate the spikes were judged at;
    a spike without a gyroscope reading (``gyr_jump_rad_s`` NaN) is scored by the model
    fitted without it: no tap check, so lower, honest scores.
    """
    m = model or load_score_model()
    x = score_features(s, fs)
    rate = judged_rate_hz(fs)
    gi = [name for name, _, _ in SCORE_FEATURES].index(GYRO_FEATURE)
    blind = np.isnan(x[:, gi])
    z = np.empty(x.shape[0])
    if (~blind).any():
        z[~blind] = m.log_odds(x[~blind], rate)
    if blind.any():
        xb = x[blind].copy()
        xb[:, gi] = 0.0  # the no-gyro model was fitted with this feature held at 0
        z[blind] = m.log_odds(xb, rate, gyro=False)
    return _logistic(z)


@dataclass(frozen=True, kw_only=True)
class Witnesses:
    """Evidence beyond the IMU stream (see :mod:`tracker.signal.witnesses`): sound
    transients and kHz snippet evidence, each None when not recorded."""

    audio: dict[str, np.ndarray] | None = None
    snippets: dict[str, np.ndarray] | None = None


def _judge(out: Cols, cp: CrackParams, fs: float, rest: np.ndarray | None,
           witnesses: Witnesses | None = None) -> Cols:
    """Scores and kinds before the refractory rule (adds to ``out`` and returns it)."""
    n = len(out["t_s"])
    fac = _factors(out, cp, rest)
    # The score ignores the rest mask: the live view has none, and batch and live must
    # give one judgement. Rest only keeps the label off "footstep".
    score = crack_probability(out, fs)
    if witnesses is not None and n:
        score = apply_witnesses(score, np.asarray(out["t_s"], dtype=float), audio=witnesses.audio,
                                snippets=witnesses.snippets)
    kind = np.full(n, "possible_crack", dtype=object)
    if n:
        low = score < cp.thresholds(out["gyr_jump_rad_s"], fs)
        bgv = np.asarray(out["background_m_s2"], dtype=float)
        # The most decisive evidence names the confounder (in this order).
        rules = [
            ("tap", (fac["f_size"] < 0.5) | (fac["f_gyro"] < 0.1)),
            ("vibration", fac["f_burst"] < 0.5),
            ("footstep", fac["f_step"] < 0.5),
            ("tap", fac["f_gyro"] < 0.5),
            ("vibration", (fac["f_snr"] < 0.5) & (bgv >= cp.vibration_background_m_s2)),
            ("strap_slap", fac["f_shape"] < 0.5),
        ]
        kind[low] = "other"
        for name, cond in reversed(rules):  # the first rule that holds wins
            kind[low & cond] = name
    out.update(fac)
    out["crack_score"] = score
    out["kind"] = kind
    return out


def _finish(out: Cols, cp: CrackParams, accepted: list[float] | None, fs: float) -> Cols:
    """Apply the refractory rule and set ``possible_crack``; judged columns go last."""
    thr = cp.thresholds(out["gyr_jump_rad_s"], fs)
    score, refractory = _apply_refractory(np.asarray(out["t_s"], dtype=float), out["crack_score"], cp, accepted, thr)
    possible = score >= thr
    kind = out["kind"].copy()
    kind[~possible & (kind == "possible_crack")] = "other"  # lost its place to the refractory rule
    res = {k: v for k, v in out.items() if k not in JUDGED_COLUMNS}
    res.update(crack_score=score, possible_crack=possible, kind=kind, refractory=refractory)
    return res


def _apply_refractory(
    t: np.ndarray, score: np.ndarray, cp: CrackParams, accepted: list[float] | None, thr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``joints_in_range`` possible cracks per ``refractory_s`` window (in time order).

    ``accepted`` holds earlier possible-crack times (streaming) and is extended in place;
    ``thr`` is each spike's threshold (:meth:`CrackParams.thresholds`).
    """
    score = score.copy()
    reduced = np.zeros(score.size, dtype=bool)
    accepted = [] if accepted is None else accepted
    # Loop over candidates only (a handful per session).
    for i in np.flatnonzero(score >= thr):
        recent = sum(1 for a in accepted if t[i] - a < cp.refractory_s)
        if recent >= cp.joints_in_range:
            score[i] *= cp.refractory_factor
            reduced[i] = True
            if score[i] < thr[i]:
                continue
        accepted.append(float(t[i]))
    return score, reduced


class SpikeStream:
    """Causal spike detection and crack judgement for the live view.

    Feeds append samples to a short buffer; every call re-runs the offline detector on
    the buffer and returns the spikes that have become final, i.e. those at least
    ``lookahead_s`` older than the newest sample (the features look that far ahead:
    footstep trains, background level). The refractory rule carries over between calls.
    With ``history_s`` of context the result matches :func:`detect_spikes` +
    :func:`judge_cracks` on the whole recording, up to filter edge effects. The tag's kHz
    impulse windows (:meth:`add_snippets`, as they arrive) weigh in as they do in the
    batch analysis, so live and batch give one judgement.

    Parameters
    ----------
    sampling_rate_hz : float
    spike_params, crack_params : optional
    lookahead_s : float
        Latency: how long after a spike it is reported.
    history_s : float
        Context kept before the oldest spike not yet final.
    step_s : float
        The buffer is re-analysed at most once per this much new data (bounds the
        cost when batches are small); spikes are reported up to ``step_s`` later.

    Examples
    --------
    >>> stream = SpikeStream(100.0)
    >>> new = stream.feed(t_s, acc_m_s2, gyr_rad_s)   # doctest: +SKIP
    >>> rest = stream.flush()                          # doctest: +SKIP
    """

    def __init__(self, sampling_rate_hz: float, *, spike_params: SpikeParams | None = None,
                 crack_params: CrackParams | None = None, lookahead_s: float = 2.5,
                 history_s: float = 8.0, step_s: float = 0.25) -> None:
        check_positive_arg("sampling_rate_hz", sampling_rate_hz)
        if not (lookahead_s >= 0 and history_s > 0):
            raise ValidationError("lookahead_s must be >= 0 and history_s > 0")
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.spike_params = spike_params or SpikeParams()
        self.crack_params = crack_params or CrackParams()
        self.lookahead_s = float(lookahead_s)
        self.history_s = float(history_s)
        self.step_s = float(step_s)
        self._t = np.zeros(0)
        self._acc = np.zeros((0, 3))
        self._gyr = np.zeros((0, 3))
        self._rest = np.zeros(0, dtype=bool)
        self._offset = 0            # global index of the buffer's first sample
        self._done_until = -np.inf  # spikes before this time were emitted
        self._last_sample = -1      # global index of the last spike reported
        self._empty_frame: pd.DataFrame | None = None
        self._accepted: list[float] = []
        self._snippets: dict[str, np.ndarray] | None = None  # evidence of the windows kept

    def add_snippets(self, windows: Sequence[ImpulseWindow]) -> None:
        """Keep the evidence of kHz impulse windows for the spikes still to be judged.

        A window arrives after the impulse it holds, well within ``lookahead_s``; one
        for a spike already reported comes too late to change it.

        Raises
        ------
        ValidationError
            On a window that is not an (n >= 8, 3) array.
        """
        if not windows:
            return
        new = snippet_evidence(windows)
        old = self._snippets
        self._snippets = new if old is None else {k: np.concatenate([old[k], new[k]]) for k in old}

    def feed(self, t_s: Any, acc_m_s2: Any, gyr_rad_s: Any, rest_mask: Any = None) -> pd.DataFrame:
        """Add samples; return the judged spikes that became final (columns as :func:`judge_cracks`).

        ``rest_mask`` (bool, one per sample, optional) plays the role it has in
        :func:`judge_cracks`; batches without it count as not at rest.

        Raises
        ------
        ValidationError
            On bad arrays, or times not after the samples fed before.
        """
        t, acc, gyr = _inputs(t_s, acc_m_s2, gyr_rad_s, self.sampling_rate_hz)
        rest = np.zeros(t.size, dtype=bool) if rest_mask is None else np.asarray(rest_mask, dtype=bool)
        if rest.shape != t.shape:
            raise ValidationError(f"rest_mask must have shape {t.shape}, got {rest.shape}")
        if t.size and self._t.size and t[0] <= self._t[-1]:
            raise ValidationError(
                f"time goes backwards: batch starts at t={t[0]:.6f} s, after t={self._t[-1]:.6f} s")
        self._t = np.concatenate([self._t, t])
        self._acc = np.concatenate([self._acc, acc])
        self._gyr = np.concatenate([self._gyr, gyr])
        self._rest = np.concatenate([self._rest, rest])
        until = self._t[-1] - self.lookahead_s if self._t.size else -np.inf
        if until < self._done_until + self.step_s:
            return self._empty()
        return self._emit(until)

    def flush(self) -> pd.DataFrame:
        """Return every spike not yet reported (end of the recording)."""
        return self._emit(np.inf)

    def _empty(self) -> pd.DataFrame:
        if self._empty_frame is None:  # built once: most feeds report nothing
            self._empty_frame = _frame(_finish(
                _judge(_empty_cols(), self.crack_params, self.sampling_rate_hz, None), self.crack_params, [],
                self.sampling_rate_hz))
        return self._empty_frame.copy()

    def _emit(self, until: float) -> pd.DataFrame:
        fs = self.sampling_rate_hz
        spikes = _detect(self._t, self._acc, self._gyr, fs, self.spike_params, self._offset)
        witnesses = None if self._snippets is None else Witnesses(snippets=self._snippets)
        spikes = _judge(spikes, self.crack_params, fs, self._rest[spikes["sample"]], witnesses)
        tt = spikes["t_s"]
        glob = spikes["sample"] + self._offset
        keep = (tt >= self._done_until) & (tt < until) & (glob > self._last_sample)
        new = _take(spikes, keep)
        new["sample"] = new["sample"] + self._offset
        new = _finish(new, self.crack_params, self._accepted, fs)
        if np.isfinite(until):
            self._done_until = max(self._done_until, until)
        if new["sample"].size:
            self._last_sample = int(new["sample"][-1])
        self._trim()
        return _frame(new)

    def _trim(self) -> None:
        if not self._t.size or not np.isfinite(self._done_until):
            return
        cut = int(np.searchsorted(self._t, self._done_until - self.history_s, side="left"))
        if cut > 0:
            self._t, self._acc, self._gyr = self._t[cut:], self._acc[cut:], self._gyr[cut:]
            self._rest = self._rest[cut:]
            self._offset += cut
        # Refractory memory older than the window is no longer needed.
        horizon = self._done_until - self.crack_params.refractory_s
        self._accepted[:] = [a for a in self._accepted if a > horizon]
        if self._snippets is not None:  # nor are the windows of spikes already reported
            keep = self._snippets["t_s"] >= self._done_until - self.history_s
            self._snippets = {k: v[keep] for k, v in self._snippets.items()}
