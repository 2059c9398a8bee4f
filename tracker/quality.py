"""Data quality of a recording, with the one definition of a gap in the time base.

A **gap** is a step between consecutive samples longer than :data:`GAP_FACTOR` sample
periods: rounded to whole periods it is at least two, so at least one sample is missing
(``round(step / period) - 1`` of them). The same rule serves the store's and the
analysis's quality figures, the gaps drawn in the session figure, the spike detector's
gap-free segments and the orientation filter's gap bridging.

:class:`Quality` is the data-quality summary kept with every session (``tracker show``,
the report's quality table, the summary export) and returned in every analysis summary
(``tracker analyze``): one type, one set of names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = ["GAP_FACTOR", "Gaps", "find_gaps", "Quality", "LinkQuality"]

#: A step longer than this many sample periods is a gap (rounds to >= 2 periods: >= 1
#: sample lost). Jitter of up to ±25 % of a period per sample never reaches it.
GAP_FACTOR = 1.5


@dataclass(frozen=True, kw_only=True, eq=False)
class Gaps:
    """The gaps of a time base (see :func:`find_gaps`).

    Attributes
    ----------
    period_s : float
        Sample period the steps are compared with.
    after : ndarray of int, shape (K,)
        Index of the last sample before each gap (the gap runs to sample ``after + 1``).
    lost_samples : int
        Samples estimated missing in all gaps together.
    """

    period_s: float
    after: np.ndarray
    lost_samples: int

    @property
    def count(self) -> int:
        return int(self.after.size)

    def spans(self, t_s: np.ndarray) -> list[tuple[float, float]]:
        """``(start_s, end_s)`` of each gap: the samples either side."""
        return [(float(t_s[i]), float(t_s[i + 1])) for i in self.after]

    def segments(self, n: int) -> np.ndarray:
        """Start/stop indices ``[start, stop)`` of the gap-free runs of ``n`` samples, (K+1, 2)."""
        if n == 0:
            return np.zeros((0, 2), dtype=np.int64)
        cut = self.after + 1
        return np.stack([np.concatenate(([0], cut)), np.concatenate((cut, [n]))], axis=1).astype(np.int64)


def find_gaps(t_s: np.ndarray, *, period_s: float | None = None) -> Gaps:
    """Where samples are missing from a time base.

    Parameters
    ----------
    t_s : ndarray, shape (N,)
        Strictly increasing sample times in seconds.
    period_s : float, optional
        The sample period when known (nominal rate); default: the median step.

    Returns
    -------
    Gaps
        Steps longer than :data:`GAP_FACTOR` periods, and the samples they lost.
    """
    t = np.asarray(t_s, dtype=np.float64)
    if t.size < 2:
        return Gaps(period_s=float(period_s or math.nan), after=np.zeros(0, dtype=np.int64),
                    lost_samples=0)
    dt = np.diff(t)
    period = float(np.median(dt)) if period_s is None else float(period_s)
    after = np.flatnonzero(dt > GAP_FACTOR * period)
    lost = int(np.sum(np.rint(dt[after] / period) - 1)) if after.size else 0
    return Gaps(period_s=period, after=after, lost_samples=lost)


@dataclass(frozen=True, kw_only=True)
class LinkQuality:
    """What a live recording adds to the data quality: the radio link and the clock.

    Attributes
    ----------
    disconnects, reconnects : int
        Link drops and successful reconnections.
    decode_errors : int
        Packets that could not be decoded, and rejected sample batches.
    packets : int
        Packets received.
    clock_drift_ppm : float or None
        Device clock against the host clock.
    latency_ms_median, latency_ms_p99 : float or None
        Packet latency (host receipt after the sample time).
    gave_up : bool
        Reconnection was given up.
    ended_by : str or None
        What ended the recording (``user``, ``seconds``, ``end_of_data``, ...).
    time_scale : float
        Device time per host second (> 1 for a sped-up emulated tag).
    """

    disconnects: int = 0
    reconnects: int = 0
    decode_errors: int = 0
    packets: int = 0
    clock_drift_ppm: float | None = None
    latency_ms_median: float | None = None
    latency_ms_p99: float | None = None
    gave_up: bool = False
    ended_by: str | None = None
    time_scale: float = 1.0


_LINK_FIELDS = tuple(f.name for f in fields(LinkQuality))


def _round(x: float | None, nd: int) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


@dataclass(frozen=True, kw_only=True)
class Quality:
    """Data quality of one session.

    Attributes
    ----------
    samples : int
    duration_s : float
        First to last sample.
    nominal_rate_hz : float or None
        The rate the device was set to, when known.
    achieved_rate_hz : float or None
        1 / median sample period (None for fewer than two samples).
    gaps : int
        Gaps in the time base (:func:`find_gaps`; a live recording counts the
        sample-counter jumps, which put its samples on the same time base).
    gap_s : float
        Time inside gaps.
    lost_samples : int
        Samples missing in the gaps.
    longest_gap_s : float
    timing_jitter_frac : float or None
        Standard deviation of the steps outside gaps, as a fraction of the period.
    link : LinkQuality or None
        Link figures of a live recording; None for imports and analyses.
    """

    samples: int
    duration_s: float
    nominal_rate_hz: float | None
    achieved_rate_hz: float | None
    gaps: int = 0
    gap_s: float = 0.0
    lost_samples: int = 0
    longest_gap_s: float = 0.0
    timing_jitter_frac: float | None = None
    link: LinkQuality | None = None

    @property
    def lost_pct(self) -> float:
        """Lost samples as a percentage of the samples the session should have had."""
        total = self.samples + self.lost_samples
        return 100.0 * self.lost_samples / total if total else 0.0

    @property
    def reconnects(self) -> int:
        return self.link.reconnects if self.link is not None else 0

    @classmethod
    def of_times(cls, t_s: np.ndarray, *, nominal_rate_hz: float | None = None,
                 period_s: float | None = None) -> "Quality":
        """The quality of a time base (``period_s``: the median period when known)."""
        t = np.asarray(t_s, dtype=np.float64)
        n = int(t.size)
        if n < 2:
            return cls(samples=n, duration_s=0.0, nominal_rate_hz=nominal_rate_hz,
                       achieved_rate_hz=None)
        g = find_gaps(t, period_s=period_s)
        dt = np.diff(t)
        inside = np.ones(dt.size, dtype=bool)
        inside[g.after] = False
        # rounded here, so the stored JSON and the printed figures are the same numbers
        return cls(
            samples=n, duration_s=round(float(t[-1] - t[0]), 6), nominal_rate_hz=nominal_rate_hz,
            achieved_rate_hz=_round(1.0 / g.period_s, 4), gaps=g.count,
            gap_s=round(float(dt[g.after].sum()), 6), lost_samples=g.lost_samples,
            longest_gap_s=round(float(dt[g.after].max()), 6) if g.count else 0.0,
            timing_jitter_frac=_round(float(np.std(dt[inside])) / g.period_s if inside.any() else 0.0, 4),
        )

    def to_json(self) -> dict[str, Any]:
        """Flat JSON: the quality figures, then the link figures of a live recording."""
        out: dict[str, Any] = {
            "samples": self.samples, "duration_s": self.duration_s,
            "nominal_rate_hz": self.nominal_rate_hz, "achieved_rate_hz": self.achieved_rate_hz,
            "gaps": self.gaps, "gap_s": self.gap_s, "lost_samples": self.lost_samples,
            "lost_pct": round(self.lost_pct, 4), "longest_gap_s": self.longest_gap_s,
            "timing_jitter_frac": self.timing_jitter_frac,
        }
        if self.link is not None:
            out.update({k: getattr(self.link, k) for k in _LINK_FIELDS})
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Quality":
        """Read :meth:`to_json` (and what older versions stored: unknown keys are ignored)."""
        link = (LinkQuality(**{k: d[k] for k in _LINK_FIELDS if k in d})
                if any(k in d for k in _LINK_FIELDS) else None)
        return cls(
            samples=int(d.get("samples") or 0), duration_s=float(d.get("duration_s") or 0.0),
            nominal_rate_hz=d.get("nominal_rate_hz"), achieved_rate_hz=d.get("achieved_rate_hz"),
            gaps=int(d.get("gaps") or 0), gap_s=float(d.get("gap_s") or 0.0),
            lost_samples=int(d.get("lost_samples") or 0),
            longest_gap_s=float(d.get("longest_gap_s") or 0.0),
            timing_jitter_frac=d.get("timing_jitter_frac"), link=link,
        )
