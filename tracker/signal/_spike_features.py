"""Signal building blocks of the spike detector (private; see :mod:`tracker.signal.spikes`).

Everything here is vectorised over samples or over spikes; the only Python loops run
over contiguous segments (a new segment starts at every gap in the sample times,
:func:`tracker.quality.find_gaps`), so
a dropped BLE packet never looks like an impulse.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage, signal

__all__ = [
    "moving_detrend", "norm3", "samples_in", "local_residual", "impulse_fraction",
    "background_level", "find_candidates", "spike_width_s", "gyro_jump", "burst_count",
    "periodicity", "gait_rms", "delta_v", "block_median", "pulse_shape", "persistence_ratio",
]


def moving_detrend(x: np.ndarray, segments: np.ndarray, half: int) -> np.ndarray:
    """``x`` minus its centred moving mean over ``2 * half + 1`` samples, within each segment.

    A short FIR high-pass (cut-off about ``0.44 * rate / (2 * half + 1)``): an impulse of
    one or two samples keeps most of its height and, unlike a high-order IIR high-pass,
    rings nowhere beyond ``half`` samples. Segment edges are mirrored.
    """
    out = np.empty(x.shape, dtype=np.float64)
    for start, stop in segments:
        o = out[start:stop]
        if stop - start < 2:
            o[...] = 0.0  # nothing to compare a lone sample with
            continue
        seg = x[start:stop]
        # "mirror" keeps an impulse on a segment's first sample counted once
        if x.dtype != np.float64:  # (the detector passes float64) subtract in x's type
            o[...] = seg - ndimage.uniform_filter1d(seg, size=2 * half + 1, axis=0, mode="mirror")
            continue
        # the mean goes straight into the output: no temporaries of the hour's size
        ndimage.uniform_filter1d(seg, size=2 * half + 1, axis=0, mode="mirror", output=o)
        np.subtract(seg, o, out=o)
    return out


def samples_in(duration_s: float, sampling_rate_hz: float) -> int:
    """Whole samples nearest ``duration_s``: a window's edge in samples. Rounded, not cut
    up or down, so a stream measured at 99.98 or 100.02 Hz (the batch analysis uses the
    measured rate, the live view the declared one) gets a 100 Hz stream's windows."""
    return int(round(duration_s * sampling_rate_hz))


def norm3(x: np.ndarray) -> np.ndarray:
    """Row norms of an (..., 3) array (faster than ``np.linalg.norm``)."""
    return np.sqrt(np.einsum("...i,...i->...", x, x))


def _in_own_segment(idx: np.ndarray, peaks: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """(P, K) sample indices around each spike -> which lie in that spike's own gap-free
    segment (a sample across a gap belongs to another recording)."""
    seg = segments[np.searchsorted(segments[:, 0], peaks, side="right") - 1]
    return (idx >= seg[:, :1]) & (idx < seg[:, 1:])


def local_residual(x: np.ndarray, peaks: np.ndarray, half: int, core: int,
                   segments: np.ndarray, degree: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Samples around each spike minus a polynomial fitted outside the spike's core.

    Returns ``(r, valid)``: ``r`` of shape (P, 2 * half + 1, 3) with offsets ``-half..half``
    and ``valid`` marking offsets inside the spike's segment (``r`` is 0 elsewhere). The
    polynomial (a line by default) is fitted by least squares to the valid offsets with
    ``|k| > core``: the slow body motion. The residual is the impulse itself,
    undistorted by any filter.
    """
    n = x.shape[0]
    off = np.arange(-half, half + 1)
    idx = peaks[:, None] + off[None, :]
    valid = _in_own_segment(idx, peaks, segments)
    y = x[np.clip(idx, 0, n - 1)]
    w = (valid & (np.abs(off)[None, :] > core)).astype(float)
    v = np.vander(off / max(half, 1), degree + 1, increasing=True)  # (K, d+1), well scaled
    gram = np.einsum("pk,ki,kj->pij", w, v, v)
    rhs = np.einsum("pk,ki,pkc->pic", w, v, y)
    coef = np.linalg.pinv(gram) @ rhs  # pinv: windows cut short by a gap may be degenerate
    r = (y - np.einsum("ki,pic->pkc", v, coef)) * valid[..., None]
    return r, valid


def impulse_fraction(r: np.ndarray, core: int) -> np.ndarray:
    """Share (0..1) of a spike window's energy in one unipolar pulse of at most two samples.

    ``r`` is :func:`local_residual`'s output. The residual is projected on its direction
    at the largest core sample; the pulse is that sample plus the larger neighbour of the
    same sign. A crack seen at 50–400 Hz is the sensor's response to an impulse: one or
    two samples of one sign (fraction near 1). Strap slap, heel strikes and buzz ring for
    tens of ms or swap sign from sample to sample (fraction well below 1).
    """
    if r.shape[0] == 0:
        return np.zeros(0)
    half = (r.shape[1] - 1) // 2
    mag = norm3(r)
    cols = np.arange(half - core, half + core + 1)
    j = cols[np.argmax(mag[:, cols], axis=1)]
    rows = np.arange(r.shape[0])
    u = r[rows, j] / np.maximum(mag[rows, j], 1e-12)[:, None]
    s = np.einsum("pkc,pc->pk", r, u)
    s0 = s[rows, j]
    left = s[rows, np.maximum(j - 1, 0)]
    right = s[rows, np.minimum(j + 1, r.shape[1] - 1)]
    best = np.maximum(np.where(left > 0, left, 0.0), np.where(right > 0, right, 0.0))
    pulse = s0 ** 2 + best ** 2
    total = (mag ** 2).sum(axis=1)
    return np.clip(pulse / np.maximum(total, 1e-12), 0.0, 1.0)


def pulse_shape(r: np.ndarray, core: int, sampling_rate_hz: float) -> dict[str, np.ndarray]:
    """Shape of each spike, from :func:`local_residual`'s ``r`` (P, 2 * half + 1, 3).

    The residual is projected on its direction at the largest core sample (the peak);
    with ``s[k]`` that projection ``k`` samples from the peak:

    * ``lag1_corr``: lag-1 autocorrelation of ``s[-3..3]`` (a pulse smoothed by the
      front end > 0, a wobble that flips sign every sample < 0);
    * ``side_ratio``: the larger neighbour / peak (how far the front end spreads it);
    * ``bipolar_ratio``: the smaller neighbour / peak (< 0: it swings back at once);
    * ``tail_ratio``: RMS magnitude 15–60 ms after the peak / peak (a tissue response
      or ringing that outlasts the pulse), at least samples 2–3;
    * ``lead_ratio``: the same before the peak (motion or buzz already there);
    * ``pre_ratio``: mean of ``s[-2], s[-1]`` / peak: what builds up before the peak (a
      pulse with a rise or a tissue response > 0; a slap that starts at full strength ~0);
    * ``rebound_ratio``: mean of ``s[2], s[3]`` / peak: what follows the pulse (a knock's
      or heel strike's swing back < 0, a tissue response's push > 0, a slap's wobble
      that has died ~0);
    * ``late_ratio``: mean of ``s`` 40-50 ms after the peak / peak: a tissue response
      still pushing (> 0) or pulling back (< 0) when a knock's swing back and a slap's
      wobble have ended (~0). At 100 Hz, where the pulse itself is one or two samples,
      it helps tell a slow pop from a slap. Only samples after the rebound's count: at
      50 Hz there are none (0).
    """
    names = ("lag1_corr", "side_ratio", "bipolar_ratio", "tail_ratio", "lead_ratio", "pre_ratio", "rebound_ratio",
             "late_ratio")
    if r.shape[0] == 0:
        return {k: np.zeros(0) for k in names}
    half = (r.shape[1] - 1) // 2
    mag = norm3(r)
    rows = np.arange(r.shape[0])
    j = half - core + np.argmax(mag[:, half - core:half + core + 1], axis=1)
    u = r[rows, j] / np.maximum(mag[rows, j], 1e-12)[:, None]
    s = np.einsum("pkc,pc->pk", r, u)
    pk = np.maximum(s[rows, j], 1e-12)
    win = s[rows[:, None], np.clip(j[:, None] + np.arange(-3, 4)[None, :], 0, s.shape[1] - 1)]
    lag1 = (win[:, 1:] * win[:, :-1]).sum(axis=1) / np.maximum((win ** 2).sum(axis=1), 1e-12)
    k0 = max(2, samples_in(0.015, sampling_rate_hz))
    k1 = min(max(k0 + 1, samples_in(0.06, sampling_rate_hz)), half - core)
    off = np.arange(k0, k1 + 1)
    after = mag[rows[:, None], np.clip(j[:, None] + off[None, :], 0, mag.shape[1] - 1)]
    before = mag[rows[:, None], np.clip(j[:, None] - off[None, :], 0, mag.shape[1] - 1)]
    # after the rebound's samples: at 50 Hz 40-50 ms is its s[2] (no late sample, 0)
    late_off = np.arange(max(samples_in(0.04, sampling_rate_hz), 4), samples_in(0.05, sampling_rate_hz) + 1)
    late = s[rows[:, None], np.clip(j[:, None] + late_off[None, :], 0, s.shape[1] - 1)]
    return {"lag1_corr": lag1,
            "side_ratio": np.maximum(win[:, 2], win[:, 4]) / pk,
            "bipolar_ratio": np.minimum(win[:, 2], win[:, 4]) / pk,
            "tail_ratio": np.sqrt((after ** 2).mean(axis=1)) / pk,
            "lead_ratio": np.sqrt((before ** 2).mean(axis=1)) / pk,
            "pre_ratio": (win[:, 1] + win[:, 2]) / (2 * pk),
            "rebound_ratio": (win[:, 5] + win[:, 6]) / (2 * pk),
            "late_ratio": late.sum(axis=1) / max(late_off.size, 1) / pk}


def persistence_ratio(m: np.ndarray, peaks: np.ndarray, segments: np.ndarray, sampling_rate_hz: float,
                      window_s: tuple[float, float]) -> np.ndarray:
    """How strongly the shaking goes on around each spike: the larger RMS of the
    high-passed magnitude ``m`` from ``window_s[0]`` to ``window_s[1]`` before and after
    it, over ``m`` at the spike (only samples of the spike's own segment count; none: 0).

    A pop comes out of stillness and its tissue response has died down 60 ms after the
    jolt (the held-out family's pops, ringing tissue included: 99 % below 0.27). A
    vibration burst goes on at the same strength after its onset (0.5-0.75 where one
    was taken for a pop) and had been going on before its end.
    """
    if peaks.size == 0:
        return np.zeros(0)
    k0 = max(samples_in(window_s[0], sampling_rate_hz), 2)
    k1 = max(samples_in(window_s[1], sampling_rate_hz), k0 + 1)
    out = np.zeros(peaks.size)
    for sign in (-1, 1):
        idx = peaks[:, None] + sign * np.arange(k0, k1 + 1)[None, :]
        inside = _in_own_segment(idx, peaks, segments)
        v = np.where(inside, m[np.clip(idx, 0, m.size - 1)], 0.0)
        out = np.maximum(out, np.sqrt((v ** 2).sum(axis=1) / np.maximum(inside.sum(axis=1), 1)))
    return out / np.maximum(m[peaks], 1e-12)


def block_median(blocks: np.ndarray) -> np.ndarray:
    """Median of each row of a NaN-free (B, k) array; same values as ``np.median(axis=1)``.

    numpy sorts short rows with SIMD networks, several times faster than the selection
    ``np.median`` uses; the middle value (or the mean of the middle two) is the same.
    """
    k = blocks.shape[1]
    srt = np.sort(blocks, axis=1)
    if k % 2:
        return srt[:, k // 2].copy()
    return (srt[:, k // 2 - 1] + srt[:, k // 2]) / 2.0


def background_level(m: np.ndarray, block: int, span_blocks: int, phase: int = 0) -> np.ndarray:
    """Per-sample robust background of a non-negative signal ``m``.

    The median of each block of ``block`` samples, then the *maximum* of those block
    medians over ``span_blocks`` neighbouring blocks, interpolated back to samples. The
    median ignores isolated impulses; the maximum makes the level rise a little before a
    sustained buzz starts, so its onset is not mistaken for a spike. ``phase`` is the
    global index of ``m[0]``: blocks start at multiples of ``block`` in that global
    count, so a streaming buffer gets the same blocks as the whole recording.
    """
    n = m.size
    if n == 0:
        return np.zeros(0)
    block = max(int(block), 1)
    lead = int(phase) % block
    nb = -(-(n + lead) // block)
    padded = np.full(nb * block, np.nan)
    padded[lead:lead + n] = m
    blocks = padded.reshape(nb, block)
    # Only the first and last block can be partial: plain median for the rest (fast).
    med = np.empty(nb)
    med[1:-1] = block_median(blocks[1:-1])
    med[0] = np.nanmedian(blocks[0])
    med[-1] = np.nanmedian(blocks[-1])
    env = ndimage.maximum_filter1d(med, size=max(int(span_blocks), 1), mode="nearest")
    counts = np.sum(~np.isnan(blocks), axis=1)
    first = np.maximum(np.arange(nb) * block - lead, 0)
    centers = first + (counts - 1) / 2.0
    return np.interp(np.arange(n), centers, env)


def find_candidates(m: np.ndarray, threshold: np.ndarray, distance: int) -> np.ndarray:
    """Local maxima of ``m`` above the per-sample ``threshold``, at least ``distance`` apart."""
    if m.size < 3:
        return np.zeros(0, dtype=np.int64)
    peaks, _ = signal.find_peaks(m, height=threshold, distance=max(int(distance), 1))
    return peaks.astype(np.int64)


def spike_width_s(mag: np.ndarray, core: int, sampling_rate_hz: float) -> np.ndarray:
    """Time a spike's magnitude stays above half its peak, contiguous around the peak.

    ``mag`` is (P, 2 * half + 1) around each spike; the peak is the largest of the
    central ``2 * core + 1`` samples.
    """
    if mag.shape[0] == 0:
        return np.zeros(0)
    half = (mag.shape[1] - 1) // 2
    cols = np.arange(half - core, half + core + 1)
    rows = np.arange(mag.shape[0])
    j = cols[np.argmax(mag[:, cols], axis=1)]
    above = mag >= 0.5 * mag[rows, j][:, None]
    k = np.arange(mag.shape[1])[None, :]
    # Contiguous run through the peak: stop at the first sample below half on each side.
    below_right = ~above & (k > j[:, None])
    below_left = ~above & (k < j[:, None])
    first_right = np.where(below_right.any(1), np.argmax(below_right, axis=1), mag.shape[1])
    last_left = np.where(below_left.any(1), mag.shape[1] - 1 - np.argmax(below_left[:, ::-1], axis=1), -1)
    return (first_right - last_left - 1) / sampling_rate_hz


def gyro_jump(gyr: np.ndarray, peaks: np.ndarray, segments: np.ndarray, sampling_rate_hz: float,
              window_s: tuple[float, float], context_s: float) -> np.ndarray:
    """Fast rotation at the spike, rad/s, above the slow trunk rotation.

    The gyroscope around each spike minus a parabola fitted to the ``context_s`` before
    and after the window ``window_s`` (relative to the peak); the jump is the largest
    residual norm inside the window less the median residual norm of the context
    (its noise). A tap rocks the sensor on its strap; a joint pop barely turns it.
    """
    if peaks.size == 0:
        return np.zeros(0)
    lo = samples_in(window_s[0], sampling_rate_hz)
    hi = samples_in(window_s[1], sampling_rate_hz)
    ctx = max(samples_in(context_s, sampling_rate_hz), 2)
    # Centre the fitting window on the middle of the search window.
    shift = (lo + hi) // 2
    core = max(hi - shift, shift - lo)
    # A parabola follows the trunk's rotation (walking swings it at ~1 Hz).
    r, valid = local_residual(gyr, peaks + shift, core + ctx, core, segments, degree=2)
    mag = norm3(r)
    k = np.abs(np.arange(-(core + ctx), core + ctx + 1))
    inner = (k <= core)[None, :] & valid
    outer = (k > core)[None, :] & valid
    peak = np.where(inner, mag, 0.0).max(axis=1)
    noise = np.nanmedian(np.where(outer, mag, np.nan), axis=1) if outer.any() else np.zeros(peaks.size)
    return np.maximum(peak - np.nan_to_num(noise), 0.0)


def burst_count(t_peaks: np.ndarray, half_window_s: float) -> np.ndarray:
    """How many *other* candidates lie within ``±half_window_s`` of each candidate."""
    if t_peaks.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo = np.searchsorted(t_peaks, t_peaks - half_window_s, side="left")
    hi = np.searchsorted(t_peaks, t_peaks + half_window_s, side="right")
    return (hi - lo - 1).astype(np.int64)


def periodicity(t_peaks: np.ndarray, min_period_s: float, max_period_s: float, tol: float) -> np.ndarray:
    """Fraction (0..1) of the three interval pairs around each spike that are step-like.

    With ``d`` the intervals of the spike train, the pairs are (d[i-2], d[i-1]),
    (d[i-1], d[i]) and (d[i], d[i+1]) around spike i. A pair is step-like when both
    intervals lie in ``[min_period_s, max_period_s]`` and differ by less than ``tol``
    (relative). Footsteps while walking form such trains; an isolated pop does not.
    """
    n = t_peaks.size
    if n < 3:
        return np.zeros(n)
    d = np.diff(t_peaks)
    ok = (d >= min_period_s) & (d <= max_period_s)
    pair = ok[:-1] & ok[1:] & (np.abs(d[1:] - d[:-1]) <= tol * np.maximum(d[1:], d[:-1]))
    # pair[j] involves intervals j, j+1 i.e. spikes j..j+2; spike i is in pairs i-2, i-1, i.
    padded = np.concatenate(([False, False], pair, [False, False]))
    k = np.arange(n)
    score = padded[k].astype(float) + padded[k + 1] + padded[k + 2]
    return score / 3.0


@functools.lru_cache(maxsize=64)
def _bp_sos(lo_hz: float, hi_hz: float, sampling_rate_hz: float) -> np.ndarray:
    return signal.butter(2, [lo_hz, hi_hz], btype="bandpass", fs=sampling_rate_hz, output="sos")


def delta_v(r: np.ndarray, half: int, sampling_rate_hz: float) -> np.ndarray:
    """Velocity change of the pulse, m/s: the residual summed over ``±half`` samples.

    A band-limiting filter keeps a pulse's area, so this does not depend on the rate:
    a joint's 1–2 ms jolt moves the skin by a few cm/s, a finger tap's 10 ms push by
    tenths of a m/s.
    """
    if r.shape[0] == 0:
        return np.zeros(0)
    c = (r.shape[1] - 1) // 2
    h = min(half, c)
    return norm3(r[:, c - h:c + h + 1].sum(axis=1)) / sampling_rate_hz


def gait_rms(acc_norm: np.ndarray, peaks: np.ndarray, sampling_rate_hz: float,
             band_hz: tuple[float, float], window_s: float, phase: int = 0,
             grid_hz: float = 10.0) -> np.ndarray:
    """Walking-band RMS of the acceleration norm in ``±window_s / 2`` around each peak.

    The norm is reduced to medians of blocks of ``rate / grid_hz`` samples first (so
    impulses do not leak into the walking band), band-passed, squared and averaged.
    Blocks count samples, not seconds: a rare gap shifts the grid by its length, which
    the walking band does not notice. ``phase`` (global index of sample 0) aligns the
    blocks of a streaming buffer with those of the whole recording.
    """
    if peaks.size == 0:
        return np.zeros(0)
    block = max(int(round(sampling_rate_hz / grid_hz)), 1)
    grid_rate = sampling_rate_hz / block
    lead = (-int(phase)) % block  # samples before the first whole block
    nb = (acc_norm.size - lead) // block
    if nb < 16:
        return np.zeros(peaks.size)
    med = block_median(acc_norm[lead: lead + nb * block].reshape(nb, block))
    sos = _bp_sos(band_hz[0], min(band_hz[1], 0.4 * grid_rate), grid_rate)
    band = signal.sosfiltfilt(sos, med, padlen=min(15, nb - 1))
    ms = ndimage.uniform_filter1d(band ** 2, size=max(int(round(window_s * grid_rate)), 1), mode="nearest")
    return np.sqrt(ms[np.clip((peaks - lead) // block, 0, nb - 1)])
