"""A quick look at a simulated session: angles, |acc|, |gyr| with the truth marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ._session import Simulation

__all__ = ["plot_simulation"]

_CONF_STYLE = {"tap": ("v", "tab:purple"), "footstep": ("|", "tab:gray"),
               "strap_slap": ("s", "tab:brown"), "vibration": ("D", "tab:olive")}
_POSTURE_COLOUR = {"sitting": "#e8f0fb", "standing": "#f4f4f4", "walking": "#fdf0dc",
                   "transition": "#fbe3e3", "supine": "#e6f5e6", "all_fours": "#f1e6f7"}


def plot_simulation(sim: "Simulation", t_range_s: tuple[float, float] | None = None) -> "Figure":
    """Three stacked panels: true angles, |acc| in g, |gyr| in °/s, with events marked.

    Repetitions are shaded (hold darker) and labelled; peaks are dots; cracks red
    lines; confounders markers; posture segments tint the background. Returns the
    figure (never shows it).
    """
    from matplotlib.figure import Figure

    rec, truth = sim.recording, sim.truth
    g = 9.80665
    t = rec.t_s
    lo, hi = t_range_s or (float(t[0]), float(t[-1]))
    sel = (t >= lo) & (t <= hi)
    fig = Figure(figsize=(14, 9), layout="constrained")
    ax_a, ax_acc, ax_g = fig.subplots(3, 1, sharex=True, height_ratios=(3, 2, 1.3))
    a = truth.angles
    for col, c in (("flexion_deg", "tab:blue"), ("lateral_bend_deg", "tab:green"),
                   ("axial_rotation_deg", "tab:orange")):
        ax_a.plot(a["t_s"].to_numpy()[sel], a[col].to_numpy()[sel], color=c, lw=1.0,
                  label=col.removesuffix("_deg").replace("_", " "))
    acc_g = np.linalg.norm(rec.acc_m_s2, axis=1) / g
    ax_acc.plot(t[sel], acc_g[sel], color="k", lw=0.6, label="|acc| (sensor)")
    ax_g.plot(t[sel], np.rad2deg(np.linalg.norm(rec.gyr_rad_s, axis=1))[sel], color="0.3", lw=0.6)

    for p in truth.postures:
        if p.t_end_s < lo or p.t_start_s > hi:
            continue
        for ax in (ax_a, ax_acc, ax_g):
            ax.axvspan(max(p.t_start_s, lo), min(p.t_end_s, hi), color=_POSTURE_COLOUR.get(p.posture, "w"),
                       zorder=-3, lw=0)
        if min(p.t_end_s, hi) - max(p.t_start_s, lo) < 0.04 * (hi - lo):
            continue  # too narrow to label
        ax_a.text((max(p.t_start_s, lo) + min(p.t_end_s, hi)) / 2, 1.0, p.posture,
                  transform=ax_a.get_xaxis_transform(), ha="center", va="bottom", fontsize=7)
    for r in truth.reps:
        if r.end_s < lo or r.start_s > hi:
            continue
        ax_a.axvspan(r.start_s, r.end_s, color="tab:blue", alpha=0.08, lw=0)
        if r.hold_start_s is not None:
            ax_a.axvspan(r.hold_start_s, r.hold_end_s, color="tab:blue", alpha=0.12, lw=0)
        ax_a.plot(r.peak_s, r.peak_deg, "o", ms=4, color="k")
        label = r.exercise.replace("_", " ") + (f" {r.side[0].upper()}" if r.side else "")
        ax_a.annotate(f"{label}\n{r.peak_deg:+.1f}°", (r.peak_s, r.peak_deg), fontsize=6,
                      xytext=(0, 8 if r.peak_deg >= 0 else -18), textcoords="offset points", ha="center")
    for crack in truth.cracks:
        if lo <= crack.t_s <= hi:
            for ax in (ax_a, ax_acc):
                ax.axvline(crack.t_s, color="red", lw=1.0, alpha=0.8)
            ax_acc.annotate(f"crack {crack.joint}", (crack.t_s, 1.0), xycoords=("data", "axes fraction"),
                            fontsize=6, color="red", rotation=90, va="top", ha="right")
    for kind, (marker, colour) in _CONF_STYLE.items():
        ts = [c.t_s for c in truth.confounders if c.kind == kind and lo <= c.t_s <= hi]
        if ts:
            ax_acc.plot(ts, np.full(len(ts), 0.05), marker, color=colour, ms=6, ls="",
                        transform=ax_acc.get_xaxis_transform(), label=kind)
    ax_a.set_ylabel("true angle (°)")
    ax_a.legend(loc="upper left", fontsize=7, ncol=3, framealpha=0.9)
    ax_a.axhline(0, color="0.5", lw=0.5)
    ax_acc.set_ylabel("|acc| (g)")
    ax_acc.set_yscale("log")
    ax_acc.legend(loc="upper left", fontsize=7, ncol=5)
    ax_g.set_ylabel("|gyr| (°/s)")
    ax_g.set_xlabel("time (s)")
    ax_a.set_title(f"simulated session: seed {truth.seed}, {truth.rate_hz:g} Hz, "
                   f"{len(truth.reps)} reps, {len(truth.cracks)} cracks, mounting "
                   f"{truth.mounting.misalignment_deg:.1f}°", fontsize=9, pad=14)
    ax_g.set_xlim(lo, hi)
    return fig
