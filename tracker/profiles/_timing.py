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

from ._base import Decoder, Profile, SampleBatch

__all__ = ["CounterlessClock", "CounterlessDecoder", "DriftEstimator"]


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
    a packet that arrives later than the drift-corrected lower envelope predicts by more
    than ``gap_threshold_s`` is *held*, because a host stall (busy event loop, GC) looks
    the same at first. If the following arrivals catch up (the queued backlog arrives
    in a burst), it was a stall and the held samples are released unchanged. If they
    stay late for ``confirm_s`` of host time, samples were lost: the missing time
    (smallest lateness seen) is counted as lost samples and the counter skips ahead.
    BLE acknowledges notifications at the link layer, so within a connection real gaps
    are rare (queue overflows); after :meth:`reset_link` the threshold drops to a few
    sample periods and the gap is taken at once, because a reconnect always loses
    samples.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate.
    gap_threshold_s : float or None
        Lateness that counts as a gap within a link; default ``max(0.3 s, 5 periods)``.
    confirm_s : float
        Host time a suspected gap must persist before it is declared.
    """

    MAX_HELD = 10_000

    def __init__(self, rate_hz: float, gap_threshold_s: float | None = None, confirm_s: float = 1.0) -> None:
        self.period_s = 1.0 / rate_hz
        self.gap_threshold_s = (
            gap_threshold_s if gap_threshold_s is not None else max(0.3, 5 * self.period_s)
        )
        self.confirm_s = confirm_s
        self.next_k = 0
        self.drift = DriftEstimator()
        self._env: float | None = None  # running min of host - device (no drift fit yet)
        self._h0: float | None = None
        self._after_reset = False
        self._held: list[tuple[np.ndarray, float]] = []

    def reset_link(self) -> None:
        """The next packet follows a reconnect (held samples are released first)."""
        self._after_reset = True

    @property
    def holding(self) -> int:
        """Samples held while a suspected gap is being confirmed."""
        return sum(len(r) for r, _ in self._held)

    def _excess(self, k_last: int, host_time_s: float) -> float:
        h = host_time_s - (self._h0 or 0.0)
        t_last = k_last * self.period_s
        pred = self.drift.host_of(t_last)
        if pred is not None:
            return h - pred
        return 0.0 if self._env is None else (h - t_last) - self._env

    def push(self, rows: np.ndarray, host_time_s: float) -> list[tuple[np.ndarray, np.ndarray, int, float]]:
        """Add the ``len(rows)`` samples of one notification, whose last sample arrived at ``host_time_s``.

        Returns
        -------
        list of (t_s, rows, lost, host_time_s)
            Released entries, in order: sample times (n,), the rows given, samples
            judged missing before them, and their arrival time. Empty while holding.
        """
        out: list[tuple[np.ndarray, np.ndarray, int, float]] = []
        if not math.isfinite(host_time_s):
            out += self.flush()
            out.append(self._release(rows, host_time_s, 0))
            return out
        if self._h0 is None:
            self._h0 = host_time_s
        if self._after_reset:
            self._after_reset = False
            out += self.flush()
            excess = self._excess(self.next_k + len(rows) - 1, host_time_s)
            lost = int(round(excess / self.period_s)) if excess > 2.5 * self.period_s and self.next_k else 0
            out.append(self._release(rows, host_time_s, lost))
            return out
        self._held.append((rows, host_time_s))
        if len(self._held) == 1:
            excess = self._excess(self.next_k + len(rows) - 1, host_time_s)
            if excess <= self.gap_threshold_s or self.next_k == 0:
                return [self._release(*self._held.pop(), 0)]
            return []  # late: hold until we know whether it was a stall or a gap
        # Suspected gap: lateness of every held entry if nothing was lost.
        k, lateness = self.next_k, []
        for r, h in self._held:
            k += len(r)
            lateness.append(self._excess(k - 1, h))
        if lateness[-1] <= self.gap_threshold_s / 2:
            return self.flush()  # arrivals caught up: a host stall, nothing lost
        if host_time_s - self._held[0][1] >= self.confirm_s or len(self._held) >= self.MAX_HELD:
            lost = max(0, int(round(min(lateness) / self.period_s)))
            held, self._held = self._held, []
            out = [self._release(held[0][0], held[0][1], lost)]
            return out + [self._release(r, h, 0) for r, h in held[1:]]
        return []

    def flush(self) -> list[tuple[np.ndarray, np.ndarray, int, float]]:
        """Release everything held, as if nothing was lost (end of stream, reconnect)."""
        held, self._held = self._held, []
        return [self._release(r, h, 0) for r, h in held]

    def _release(self, rows: np.ndarray, host_time_s: float, lost: int) -> tuple[np.ndarray, np.ndarray, int, float]:
        self.next_k += lost
        n = len(rows)
        t = np.arange(self.next_k, self.next_k + n, dtype=np.float64) * self.period_s
        self.next_k += n
        if math.isfinite(host_time_s) and self._h0 is not None:
            off = (host_time_s - self._h0) - t[-1]
            if self._env is None or off < self._env:
                self._env = off
            self.drift.add(float(t[-1]), host_time_s)
        return t, rows, lost, host_time_s

    def times(self, n: int, host_time_s: float) -> tuple[np.ndarray, int]:
        """Times for ``n`` samples, without holding (compatibility helper for tests)."""
        rel = self.push(np.zeros((n, 0)), host_time_s) + self.flush()
        return np.concatenate([r[0] for r in rel]), sum(r[2] for r in rel)


class CounterlessDecoder(Decoder):
    """Base of the decoders for counterless devices: rows in, batches out via the clock.

    Subclasses turn a notification into raw rows (``_rows``) and rows into a batch
    (``_batch``); holding during suspected gaps and :meth:`flush` come from here.
    """

    def __init__(self, profile: Profile, rate_hz: float) -> None:
        super().__init__(profile, rate_hz)
        self._clock = CounterlessClock(rate_hz)

    def _reset_link(self) -> None:
        self._clock.reset_link()

    def _update_stats(self) -> None:
        self._stats["clock_drift_ppm"] = self._clock.drift.drift_ppm
        self._stats["held_samples"] = self._clock.holding

    def _push(self, rows: np.ndarray, host_time_s: float) -> SampleBatch | None:
        return self._join(self._clock.push(rows, host_time_s), host_time_s)

    def _flush(self) -> SampleBatch | None:
        return self._join(self._clock.flush(), math.nan)

    def _join(self, rel: list[tuple[np.ndarray, np.ndarray, int, float]], host_time_s: float) -> SampleBatch | None:
        if not rel:
            return None
        t = np.concatenate([r[0] for r in rel])
        rows = np.concatenate([r[1] for r in rel])
        host = rel[-1][3] if math.isfinite(rel[-1][3]) else host_time_s
        return self._batch(t, rows, sum(r[2] for r in rel), host)

    def _batch(self, t_s: np.ndarray, rows: np.ndarray, lost: int, host_time_s: float) -> SampleBatch:
        raise NotImplementedError
