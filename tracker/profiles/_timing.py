"""Sample timing shared by the decoders: clock-drift estimation and counterless clocks.

Two situations exist:

* The device stamps packets with its own clock (our profile: µs counter; Polar: ns
  since 2000). Sample times come from that clock; :class:`DriftEstimator` compares it
  with the host clock to report drift.
* The device sends bare samples (WitMotion, Thingy, SensorTag, micro:bit). Sample
  times come from a sample counter and the nominal rate; :class:`CounterlessClock`
  uses host arrival times only to detect gaps (reconnects, dropped notifications)
  and estimates how far the real rate is from nominal.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["CounterlessClock", "DriftEstimator"]


class DriftEstimator:
    """Estimate device-vs-host clock drift from (device time, host arrival) pairs.

    Notification delivery delays are positive and bursty, so the *lower envelope* of
    ``host - device`` is the clean signal: the minimum per ``bin_s`` of device time is
    kept (bounded memory: one point per bin), and a straight line is fitted to those
    minima. The slope is the drift.

    Parameters
    ----------
    bin_s : float
        Width of a device-time bin. One point per bin is kept.
    min_span_s : float
        Device-time span needed before an estimate is given.
    max_bins : int
        When more bins exist, the bin width doubles (memory stays bounded in
        sessions of any length; the estimate only gets smoother).
    """

    def __init__(self, bin_s: float = 1.0, min_span_s: float = 10.0, max_bins: int = 2048) -> None:
        self.bin_s = bin_s
        self.max_bins = max_bins
        self.min_span_s = min_span_s
        self._bins: dict[int, tuple[float, float]] = {}  # bin -> (device_s, host - device)
        self._origin_host: float | None = None
        self._cache: tuple[float, float] | None = None
        self._dirty = True

    def add(self, device_s: float, host_s: float) -> None:
        """Record one packet: device time of its last sample, host arrival time."""
        if not (math.isfinite(device_s) and math.isfinite(host_s)):
            return
        if self._origin_host is None:
            self._origin_host = host_s
        off = (host_s - self._origin_host) - device_s
        b = int(device_s // self.bin_s)
        cur = self._bins.get(b)
        if cur is None:
            self._bins[b] = (device_s, off)
            self._dirty = True  # a bin was completed: refit lazily (about once per bin_s)
            if len(self._bins) > self.max_bins:
                self._coarsen()
        elif off < cur[1]:
            self._bins[b] = (device_s, off)

    def _coarsen(self) -> None:
        """Double the bin width (keeping each new bin's minimum): bounded memory for long sessions."""
        self.bin_s *= 2
        merged: dict[int, tuple[float, float]] = {}
        for x, off in self._bins.values():
            b = int(x // self.bin_s)
            cur = merged.get(b)
            if cur is None or off < cur[1]:
                merged[b] = (x, off)
        self._bins = merged

    def fit(self) -> tuple[float, float] | None:
        """Return ``(slope, intercept)`` of ``host - device`` vs device time, or None.

        Uses completed bins only (the newest bin is still collecting its minimum), so
        the fit changes at most once per ``bin_s`` and stays cheap to query per packet.
        """
        if not self._dirty:
            return self._cache
        self._dirty = False
        self._cache = None
        if len(self._bins) < 4:
            return None
        pts = np.array(list(self._bins.values()))
        last = max(self._bins)
        pts = pts[np.fromiter((k != last for k in self._bins), dtype=bool, count=len(self._bins))]
        x, y = pts[:, 0], pts[:, 1]
        if x.max() - x.min() < self.min_span_s:
            return None
        # Robust refit: drop bins whose minimum still sits well above the line (a bin
        # where every packet was delayed, e.g. a host stall).
        slope, icpt = np.polyfit(x, y, 1)
        for _ in range(2):
            r = y - (slope * x + icpt)
            mad = float(np.median(np.abs(r - np.median(r)))) or 1e-6
            keep = r < np.median(r) + 4 * 1.4826 * mad
            if keep.sum() < 3 or keep.all():
                break
            slope, icpt = np.polyfit(x[keep], y[keep], 1)
        self._cache = (float(slope), float(icpt))
        return self._cache

    @property
    def drift_ppm(self) -> float | None:
        """Device clock rate relative to the host, ppm (positive = device runs fast)."""
        f = self.fit()
        if f is None:
            return None
        # host = device * (1 + s)  ->  device/host - 1 = 1/(1+s) - 1
        return (1.0 / (1.0 + f[0]) - 1.0) * 1e6

    def host_of(self, device_s: float) -> float | None:
        """Predicted earliest host arrival (relative to first arrival) for a device time."""
        f = self.fit()
        if f is None:
            return None
        return device_s * (1.0 + f[0]) + f[1]


class CounterlessClock:
    """Sample times for devices that send neither timestamps nor sequence numbers.

    Sample ``k`` of the session is at ``k / rate_hz``. Host arrival times detect gaps:
    when a packet arrives later than the drift-corrected lower envelope predicts by
    more than ``gap_threshold_s``, the missing time is counted as lost samples and the
    counter skips ahead. BLE acknowledges notifications at the link layer, so within a
    connection such gaps are rare (queue overflows); after :meth:`reset_link` the
    threshold drops to a few sample periods, because a reconnect always loses samples.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate.
    gap_threshold_s : float or None
        Lateness that counts as a gap within a link; default ``max(0.3 s, 5 periods)``.
    """

    def __init__(self, rate_hz: float, gap_threshold_s: float | None = None) -> None:
        self.period_s = 1.0 / rate_hz
        self.gap_threshold_s = (
            gap_threshold_s if gap_threshold_s is not None else max(0.3, 5 * self.period_s)
        )
        self.next_k = 0
        self.drift = DriftEstimator()
        self._env: float | None = None  # running min of host - device (no drift fit yet)
        self._h0: float | None = None
        self._after_reset = False

    def reset_link(self) -> None:
        """The next packet follows a reconnect."""
        self._after_reset = True

    def times(self, n: int, host_time_s: float) -> tuple[np.ndarray, int]:
        """Times for the next ``n`` samples, whose last one arrived at ``host_time_s``.

        Returns
        -------
        t_s : ndarray, shape (n,)
        lost : int
            Samples judged missing before these.
        """
        lost = 0
        if math.isfinite(host_time_s):
            if self._h0 is None:
                self._h0 = host_time_s
            h = host_time_s - self._h0
            t_last = (self.next_k + n - 1) * self.period_s
            pred = self.drift.host_of(t_last)
            if pred is None:
                excess = 0.0 if self._env is None else (h - t_last) - self._env
            else:
                excess = h - pred
            thr = 2.5 * self.period_s if self._after_reset else self.gap_threshold_s
            if excess > thr and self.next_k > 0:
                lost = int(round(excess / self.period_s))
                self.next_k += lost
                t_last = (self.next_k + n - 1) * self.period_s
            off = h - t_last
            if self._env is None or off < self._env:
                self._env = off
            self.drift.add(t_last, host_time_s)
        self._after_reset = False
        k = np.arange(self.next_k, self.next_k + n, dtype=np.float64)
        self.next_k += n
        return k * self.period_s, lost
