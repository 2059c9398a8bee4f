"""A family of joint-pop and confounder models, for tuning and testing crack detection.

Nobody has published what a lumbar cavitation looks like to a skin-mounted IMU, so the
simulator draws each pop from *ranges* of a few mechanisms instead of one shape, and
passes it through the front end of a real part (:mod:`._frontend`). The detector is
tuned on one part of the family (``split="tuning"``: seeds, parameter ranges and front
ends) and tested on another (``split="held_out"``: other seeds, other ranges, other
front ends), so a detector that fits one guess shows it.

Every range names its source or says "guess". Times in seconds, accelerations in g at
the skin (broadband, what a kHz sensor would see), frequencies in Hz.

Pop (at :data:`HI_RATE_HZ`, body frame)
--------------------------------------
* **Jolt**: a half-sine of ``jolt_s``; the joint surfaces separate in a few ms
  (audible pop ~5–6 ms, Dunning et al. 2013, BMC Musculoskeletal Disorders 14:24): the
  jolt is the first part of it. Width: guess.
* **Ringing**: a damped sine at ``ring_hz`` with time constant ``ring_tau_s`` and
  relative amplitude ``ring_rel`` (energy 0.1–10 kHz, Dunning 2013; the tissue between
  joint and skin damps the upper part: guess).
* **Tissue response**: the soft tissue's low-frequency answer, starting with the jolt
  (a response cannot precede the release that causes it), a smooth bump (net velocity
  change) or its derivative (none), as wide as a Gaussian of ``1 / (2 pi tissue_hz)``;
  in a third of held-out pops (never in tuning) an oscillation at ``tissue_hz`` that
  rings on, decaying to a tenth over ``tissue_ring_cycles`` (1–3) periods (guess: the
  natural alternative);
  relative amplitude ``tissue_rel`` 0.05–1 (guess: from a trace under the ringing to
  the whole of what the skin feels), reduced where the skin would move faster than
  ``tissue_max_v_m_s`` (0.05–1 m/s, guess: see :class:`PopFamily`). ``tissue_hz`` 8–50 Hz: soft tissue over
  muscle vibrates freely at about 10–50 Hz, higher when the muscle is tense (Wakeling &
  Nigg 2001, J Appl Physiol 90:412, leg; range recalled, not re-read), and a healthy
  spine passes little above 20 Hz (transmissibility S2 to T2, Clin Biomech 1989,
  PMID 23915957); the lower end 8 Hz: guess. A "tissue response" faster than that
  would last no longer than the jolt itself.
* **Jolt share**: ``jolt_rel`` scales the jolt against the ringing and the tissue
  response; 0 gives the issue's own model (ringing plus tissue response only). Guess.
* **Direction**: mostly antero-posterior within ``direction_spread_deg`` of +-x (the
  facet joints open backwards: guess); held out: any direction.
* **Skin amplitude**: peak of the whole waveform, log-uniform 0.2–3 g (issue 16; guess).
* A small rotation (``gyr_dps`` peak over the jolt): guess.

Body motion
-----------
:func:`simulate_session`'s. In the held-out part the sensor sits off the centre the lower
back turns about by a lever arm drawn per person from TrunkyXL's range (6–17 cm behind,
7–18 cm above; one in five near 0): :func:`._sensor.draw_lever_arm_m`, which adds the back's
own rotational acceleration. The tuning part keeps the sensor at the centre: the detector
is tested on a background it was not tuned on.

Confounders
-----------
* ``tap``: a push of ``tap_s`` (5–15 ms) and 2–16 g (norms.md: finger taps 7–16 g;
  lighter taps: guess), with a strap wobble of 10–60 °/s (norms.md: 35–43 °/s) or
  without one (< 3 °/s: a tap straight into a tight strap, guess). One that rocks the
  sensor may be as light as 0.2 g: a touch or a brush of the strap (guess). Only the
  gyroscope tells such a touch from a pop; with 2–16 g taps alone a refit called three
  handling spikes in BROAD (0.25–0.8 g with 7–32 °/s of rotation) possible cracks.
* ``strap_slap``: a damped 30–150 Hz wobble, 1–3 g, that dies within 1–3 output samples
  (issue 16), little rotation (<= 5 °/s). Guess. Optionally (``slap_rattle_share``,
  stress tests only) a rattle: broadband noise with the same decay.
* ``vibration``: bursts of 0.2–5 s at 30–250 Hz (phone motors 150–250 Hz, massagers and
  vehicles lower: guess), 0.1–1 g, sensor-fixed; they pass the front end and alias.
* ``footstep``: heel strikes while walking (norms.md: high-passed peaks median 0.15 g,
  up to ~2 g), damped 18–30 Hz, mostly vertical.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from .. import schema
from ..recording import Recording
from ._frontend import (
    HELD_OUT_FRONT_ENDS,
    HI_RATE_HZ,
    TUNING_FRONT_ENDS,
    FrontEnd,
    front_ends,
    sample_event,
)

__all__ = [
    "CONFOUNDER_KINDS",
    "SPLITS",
    "FamilyEvent",
    "FamilySimulation",
    "PopFamily",
    "confounder_wave",
    "pop_wave",
    "simulate_family",
    "tissue_pulse",
    "tissue_rise_s",
    "tissue_ringing",
]

_G = schema.STANDARD_GRAVITY_M_S2
CONFOUNDER_KINDS = ("tap", "tap_still", "strap_slap", "vibration", "footstep")
SPLITS = ("tuning", "held_out")
#: Seeds of the two splits never overlap: tuning uses even, held-out odd session seeds.
_MIN_SEPARATION_S = 1.5

Range = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class PopFamily:
    """Parameter ranges of the pop and confounder models (see the module docstring).

    Each field is a list of (low, high) ranges; a draw picks one range (uniformly) and
    a value in it. ``front_ends`` names the parts (see :func:`._frontend.front_ends`);
    ``lever_arm`` draws a lever arm per session (see "Body motion" above).
    """

    jolt_s: tuple[Range, ...]
    ring_hz: tuple[Range, ...]
    ring_tau_s: tuple[Range, ...]
    ring_rel: tuple[Range, ...] = ((0.2, 1.0),)
    jolt_rel: tuple[Range, ...]
    tissue_hz: tuple[Range, ...]
    tissue_rel: tuple[Range, ...] = ((0.05, 0.4),)
    #: Fastest the tissue response may move the skin, m/s (guess). A facet joint that
    #: opens by about a millimetre at 10-50 Hz moves it by a few cm/s; a model with no
    #: limit carries the skin of a 3 g pop at up to ~1 m/s, a knock's velocity change.
    #: One limit (0.1 m/s) taught the score that any faster pop was a knock: on pops of
    #: such a model it found none at 100 Hz and a fifth at 200 Hz. So the limit is
    #: itself drawn, from ranges reaching a knock's.
    tissue_max_v_m_s: tuple[Range, ...] = ((0.05, 1.0),)
    #: Share of pops whose tissue response rings on (a damped oscillation at
    #: ``tissue_hz`` decaying to a tenth over ``tissue_ring_cycles``) instead of one bump
    #: or push-pull. Guess: the natural alternative to ours. Held out only: tuned on
    #: it too, the score traded our own session pops for it (at 100 Hz the threshold
    #: rose to 0.9) and gained nothing on the held-out part.
    tissue_ringing_share: float = 0.0
    tissue_ring_cycles: tuple[Range, ...] = ((1.0, 3.0),)
    direction_spread_deg: float
    skin_g: Range = (0.2, 3.0)
    gyr_dps: Range = (0.0, 2.0)
    tap_g: Range = (2.0, 16.0)
    rocking_tap_g: Range = (0.2, 16.0)
    slap_hz: tuple[Range, ...]
    #: Share of slaps that rattle (decaying broadband noise, same amplitude and decay)
    #: instead of wobbling at one frequency. 0 in both splits: the issue gives a slap's
    #: decay, not its shape; ``bench_cracks.py``'s slap table tries them all.
    slap_rattle_share: float = 0.0
    vibration_hz: tuple[Range, ...]
    #: A burst's length, s, log-uniform (issue 16's range; the spread: guess).
    vibration_s: Range = (0.2, 5.0)
    front_ends: tuple[str, ...]
    lever_arm: bool = False

    @classmethod
    def tuning(cls) -> PopFamily:
        """The part the detector is chosen and tuned on.

        Tuning and held-out ranges interleave (neither is an extrapolation of the
        other) and never overlap; so do their front ends (each split has a wide, a
        narrower and an aliasing part).
        """
        return cls(jolt_s=((0.5e-3, 1.0e-3), (1.5e-3, 2.2e-3)), ring_hz=((150.0, 300.0), (600.0, 1200.0)),
                   ring_tau_s=((0.4e-3, 1e-3), (2e-3, 3.5e-3)), jolt_rel=((0.0, 0.15), (0.35, 0.6), (0.8, 1.0)),
                   tissue_hz=((8.0, 12.0), (17.0, 25.0), (33.0, 42.0)),
                   tissue_max_v_m_s=((0.05, 0.1), (0.2, 0.35), (0.6, 1.0)), tissue_rel=((0.05, 0.3), (0.5, 0.8)),
                   direction_spread_deg=90.0,
                   slap_hz=((30.0, 60.0), (100.0, 150.0)),
                   vibration_hz=((150.0, 200.0), (30.0, 40.0)), front_ends=TUNING_FRONT_ENDS)

    @classmethod
    def held_out(cls) -> PopFamily:
        """Ranges (and parts) the tuning never saw."""
        return cls(jolt_s=((1.0e-3, 1.5e-3), (2.2e-3, 3e-3)), ring_hz=((300.0, 600.0), (1200.0, 2000.0)),
                   ring_tau_s=((1e-3, 2e-3), (3.5e-3, 5e-3)), jolt_rel=((0.15, 0.35), (0.6, 0.8)),
                   tissue_hz=((12.0, 17.0), (25.0, 33.0), (42.0, 50.0)),
                   tissue_max_v_m_s=((0.1, 0.2), (0.35, 0.6)), tissue_rel=((0.3, 0.5), (0.8, 1.0)),
                   tissue_ringing_share=1.0 / 3.0,
                   direction_spread_deg=180.0,
                   slap_hz=((60.0, 100.0),),
                   vibration_hz=((200.0, 250.0), (40.0, 150.0)), front_ends=HELD_OUT_FRONT_ENDS,
                   lever_arm=True)

    @classmethod
    def issue_model(cls) -> PopFamily:
        """Issue 16's own description of a pop, as another hypothesis to test on: ringing
        plus a 5-30 Hz tissue response, no jolt, nothing limiting how fast the tissue moves
        the skin (up to ~1 m/s at 3 g); the held-out part's other ranges and front ends."""
        return replace(cls.held_out(), jolt_rel=((0.0, 0.0),), tissue_hz=((5.0, 30.0),), tissue_rel=((0.1, 0.6),),
                       tissue_max_v_m_s=((1e9, 1e9),))

    @classmethod
    def of(cls, split: str) -> PopFamily:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return cls.tuning() if split == "tuning" else cls.held_out()


def _pick(rng: np.random.Generator, ranges: tuple[Range, ...]) -> float:
    lo, hi = ranges[int(rng.integers(len(ranges)))]
    return float(rng.uniform(lo, hi))


def _loguniform(rng: np.random.Generator, r: Range) -> float:
    return float(np.exp(rng.uniform(np.log(r[0]), np.log(r[1]))))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _direction(rng: np.random.Generator, spread_deg: float) -> np.ndarray:
    if spread_deg >= 180.0:
        return _unit(rng.normal(size=3))
    axis = _unit(np.cross([1.0, 0.0, 0.0], _unit(rng.normal(size=3))))
    tilt = Rotation.from_rotvec(np.deg2rad(rng.uniform(0, spread_deg)) * axis)
    return tilt.apply([float(rng.choice([-1.0, 1.0])), 0.0, 0.0])


@dataclass(frozen=True, kw_only=True)
class FamilyEvent:
    """One simulated event: a pop (``kind == "pop"``) or a confounder.

    ``amplitude_g`` is the skin (broadband) peak; ``params`` the drawn model values.
    """

    t_s: float
    kind: str
    duration_s: float
    amplitude_g: float
    params: dict[str, Any] = field(default_factory=dict)


def _tissue_share(fast: np.ndarray, slow: np.ndarray, peak_m_s2: float, dt_s: float, max_v_m_s: float) -> float:
    """Largest k <= 1 for which ``fast + k * slow``, scaled to a ``peak_m_s2`` peak, moves
    the skin by at most ``max_v_m_s`` through its tissue part."""
    v_slow = float(np.max(np.linalg.norm(np.cumsum(slow, axis=0) * dt_s, axis=1)))

    def v(k: float) -> float:
        return peak_m_s2 / float(np.max(np.linalg.norm(fast + k * slow, axis=1))) * k * v_slow

    if v(1.0) <= max_v_m_s:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(30):  # v grows with k: bisect
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if v(mid) <= max_v_m_s else (lo, mid)
    return lo


#: Rise time of the tissue pulse (onset to peak) per ``1 / (2 pi tissue_hz)``: 1.5 gives
#: the pulse the half-height width of a Gaussian of that standard deviation.
_TISSUE_RISE_PER_WIDTH = 1.5


def tissue_rise_s(tissue_hz: float) -> float:
    """Onset-to-peak time of a tissue response of ``tissue_hz`` (see :func:`tissue_pulse`)."""
    return _TISSUE_RISE_PER_WIDTH / (2 * np.pi * tissue_hz)


def tissue_pulse(u_s: np.ndarray, rise_s: float, net_dv: bool) -> np.ndarray:
    """The tissue response, peak 1, starting at ``u_s == 0`` (the jolt's onset).

    Causal: tissue answers the joint's release and cannot move before it. (It used to be
    a Gaussian centred one width after the jolt, so it began up to 40 ms before the pop,
    and the detector fitted on it leaned on that early rise.) With a net velocity change
    a smooth bump ``x**2 exp(2 (1 - x))`` (``x = u / rise``), without one its derivative
    (a push and a pull of equal area).
    """
    x = np.clip(u_s, 0.0, None) / rise_s
    e = np.exp(2.0 * (1.0 - x))
    if net_dv:
        return x**2 * e
    d = x * (1.0 - x) * e
    return d / np.max(np.abs(d))


def tissue_ringing(u_s: np.ndarray, f_hz: float, cycles: float) -> np.ndarray:
    """A tissue response that rings on: a sine at ``f_hz`` starting at ``u_s == 0``,
    decaying to a tenth over ``cycles`` periods, peak 1."""
    u = np.clip(u_s, 0.0, None)
    w = np.sin(2 * np.pi * f_hz * u) * np.exp(-u * f_hz * np.log(10.0) / cycles)
    return w / np.max(np.abs(w))


def pop_wave(rng: np.random.Generator, fam: PopFamily, amplitude_g: float | None = None
             ) -> tuple[np.ndarray, np.ndarray, float, dict[str, Any]]:
    """A pop at :data:`HI_RATE_HZ`: ``(acc_m_s2 (M,3), gyr_rad_s (M,3), lead_s, params)``.

    ``lead_s`` is the time from the waveform's first sample to the jolt's centre.
    """
    jolt = _pick(rng, fam.jolt_s)
    f_ring, tau_ring = _pick(rng, fam.ring_hz), _pick(rng, fam.ring_tau_s)
    ring_rel = _pick(rng, fam.ring_rel)
    f_tis = _pick(rng, fam.tissue_hz)
    tis_rel = _pick(rng, fam.tissue_rel)
    net_dv = bool(rng.random() < 0.5)
    amp_g = _loguniform(rng, fam.skin_g) if amplitude_g is None else float(amplitude_g)
    rise_tis = tissue_rise_s(f_tis)
    lead = jolt
    dt = 1.0 / HI_RATE_HZ
    tau = np.arange(-lead, 6 * tau_ring + max(8 * rise_tis, 6.0 / f_tis) + 5e-3, dt)  # 6 periods: a ringing response dies
    x = tau / jolt + 0.5
    jw = np.where((x >= 0) & (x <= 1), np.sin(np.pi * np.clip(x, 0, 1)), 0.0)
    u = np.clip(tau - jolt / 2, 0.0, None)
    ring = np.where(tau > jolt / 2, ring_rel * np.exp(-u / tau_ring) * np.sin(2 * np.pi * f_ring * u), 0.0)
    d_main = _direction(rng, fam.direction_spread_deg)
    d_tis = _unit(d_main + 0.3 * rng.normal(size=3))
    gyr = np.deg2rad(rng.uniform(*fam.gyr_dps)) * jw[:, None] * _unit(rng.normal(size=3))
    # The jolt's share comes from its own stream, seeded by the draws above: the session's
    # stream (and so every other event of a simulated session) stays as it was before
    # the share existed.
    own = np.random.default_rng(np.frombuffer(np.array([jolt, f_ring, tau_ring, f_tis]).tobytes(), np.uint32))
    jolt_rel = _pick(own, fam.jolt_rel)
    max_v = _pick(own, fam.tissue_max_v_m_s)
    ring_cycles = _pick(own, fam.tissue_ring_cycles) if own.random() < fam.tissue_ringing_share else None
    u_tis = tau + jolt / 2  # from the jolt's onset
    tissue = tis_rel * (tissue_pulse(u_tis, rise_tis, net_dv) if ring_cycles is None
                        else tissue_ringing(u_tis, f_tis, ring_cycles))
    fast = (jolt_rel * jw + ring)[:, None] * d_main
    slow = tissue[:, None] * d_tis
    k = _tissue_share(fast, slow, amp_g * _G, dt, max_v)
    acc = fast + k * slow
    acc *= amp_g * _G / np.max(np.linalg.norm(acc, axis=1))
    params = {"jolt_s": jolt, "jolt_rel": jolt_rel, "ring_hz": f_ring, "ring_tau_s": tau_ring, "ring_rel": ring_rel,
              "tissue_hz": f_tis, "tissue_rel": tis_rel * k, "tissue_max_v_m_s": max_v, "net_dv": net_dv,
              "tissue_ring_cycles": ring_cycles,
              "direction": [float(v) for v in d_main]}
    return acc, gyr, lead, params


def confounder_wave(kind: str, rng: np.random.Generator, fam: PopFamily, rate_hz: float
                    ) -> tuple[np.ndarray, np.ndarray, float, float, float, dict[str, Any]]:
    """A confounder at :data:`HI_RATE_HZ`: ``(acc, gyr, lead_s, duration_s, amplitude_g, params)``."""
    dt = 1.0 / HI_RATE_HZ
    if kind in ("tap", "tap_still"):
        amp_g = _loguniform(rng, fam.tap_g if kind == "tap_still" else fam.rocking_tap_g)
        width = rng.uniform(5e-3, 15e-3)
        tau = np.arange(-0.01, 0.08, dt)
        x = tau / width + 0.5
        push = np.where((x >= 0) & (x <= 1), np.sin(np.pi * np.clip(x, 0, 1)), 0.0)
        xr = (tau - width / 2 - 0.0075) / 0.015 + 0.5
        push = push - 0.3 * np.where((xr >= 0) & (xr <= 1), np.sin(np.pi * np.clip(xr, 0, 1)), 0.0)
        d = _unit(np.array([1.0, rng.normal(0, 0.3), rng.normal(0, 0.3)]))
        acc = amp_g * _G * push[:, None] * d
        w_dps = rng.uniform(10.0, 60.0) if kind == "tap" else rng.uniform(0.0, 3.0)
        period = rng.uniform(0.03, 0.06)
        s = tau + width / 2
        swing = np.where((s >= 0) & (s <= period), np.sin(2 * np.pi * s / period), 0.0)
        gyr = np.deg2rad(w_dps) * swing[:, None] * _unit(np.array([0.0, rng.normal(), rng.normal()]))
        return acc, gyr, 0.01, 0.02, amp_g, {"width_s": width, "gyr_dps": w_dps}
    if kind == "strap_slap":
        amp_g = rng.uniform(1.0, 3.0)
        f = _pick(rng, fam.slap_hz)
        n_die = rng.uniform(1.0, 3.0)  # output samples until the wobble is below 10 %
        tau_env = n_die / rate_hz / np.log(10.0)
        tau = np.arange(-0.002, max(10 * tau_env, 0.02), dt)
        u = np.clip(tau, 0.0, None)
        rise = 1 - np.exp(-u / 5e-4)
        # the rattle's noise and its draw come from an own stream: the session's other events stay
        own = np.random.default_rng(np.frombuffer(np.array([amp_g, f, n_die]).tobytes(), np.uint32))
        rattle = fam.slap_rattle_share > 0 and own.random() < fam.slap_rattle_share
        if rattle:
            shake = (np.where(tau >= 0, np.exp(-u / tau_env), 0.0) * rise)[:, None] * own.normal(size=(tau.size, 3))
            shake /= np.max(np.linalg.norm(shake, axis=1))
            acc, wave = amp_g * _G * shake, shake[:, 0]
        else:
            wave = np.where(tau >= 0, np.exp(-u / tau_env) * np.cos(2 * np.pi * f * u), 0.0) * rise
            acc = amp_g * _G * wave[:, None] * _unit(rng.normal(size=3))
        gyr = np.deg2rad(rng.uniform(0.5, 5.0)) * wave[:, None] * _unit(rng.normal(size=3))
        return acc, gyr, 0.002, float(n_die / rate_hz), amp_g, {"hz": None if rattle else f, "dies_in_samples": n_die}
    if kind == "vibration":
        dur = _loguniform(rng, fam.vibration_s)
        f = _pick(rng, fam.vibration_hz)
        amp_g = _loguniform(rng, (0.1, 1.0))
        tau = np.arange(0.0, dur, dt)
        env = np.minimum(1.0, np.minimum(tau, dur - tau) / 0.03)
        d = _unit(np.array([*rng.normal(size=2), 0.3 * rng.normal()]))
        acc = amp_g * _G * (env * np.sin(2 * np.pi * f * tau + rng.uniform(0, 2 * np.pi)))[:, None] * d
        return acc, np.zeros_like(acc), 0.0, dur, amp_g, {"hz": f}
    if kind == "footstep":
        amp_g = float(np.clip(0.15 * np.exp(rng.normal(0, 0.6)), 0.03, 2.0))
        f = rng.uniform(18.0, 30.0)
        tau = np.arange(-0.002, 0.15, dt)
        u = np.clip(tau, 0.0, None)
        wave = np.where(tau >= 0, np.exp(-u / 0.015) * np.sin(2 * np.pi * f * u + np.pi / 2), 0.0)
        wave *= 1 - np.exp(-u / 0.002)
        d = _unit(np.array([rng.normal(0, 0.3), rng.normal(0, 0.2), 1.0]))
        return amp_g * _G * wave[:, None] * d, np.zeros((tau.size, 3)), 0.002, 0.1, amp_g, {"hz": f}
    raise ValueError(f"unknown confounder kind {kind!r}")


@dataclass(frozen=True, eq=False, kw_only=True)
class FamilySimulation:
    """A session with pops and confounders from the family, and their truth."""

    recording: Recording
    pops: tuple[FamilyEvent, ...]
    confounders: tuple[FamilyEvent, ...]
    front_end: FrontEnd
    split: str
    walking: tuple[tuple[float, float], ...]
    #: Sensor -> body rotation (as ``GroundTruth.mounting.quat_wxyz``).
    mounting_quat_wxyz: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    #: High-rate skin acceleration of every event (body frame) for witnesses
    #: (on-device snippets, audio): (t0_s, acc (M,3) at HI_RATE_HZ, kind).
    hi_rate_events: tuple[tuple[float, np.ndarray, str], ...] = ()


def simulate_family(seed: int, rate_hz: float, *, split: str = "tuning", front_end: str | None = None,
                    minutes: float = 3.0, pop_amplitude_g: float | None = None,
                    pops_per_minute: float = 1.2, confounders_per_minute: float = 4.0,
                    nominal_mounting: str = "aligned", event_seed: int | None = None,
                    family: PopFamily | None = None) -> FamilySimulation:
    """A stretching session (:func:`simulate_session` motion, noise, mounting, drops) with
    pops and confounders drawn from ``PopFamily.of(split)``, sampled by one front end.

    Parameters
    ----------
    seed : int
        Deterministic. Tuning benchmarks use even seeds, held-out ones odd seeds.
    rate_hz : float
    split : "tuning" or "held_out"
    front_end : str, optional
        Name from :func:`._frontend.front_ends`; default: drawn from the split's parts.
    minutes : float
    pop_amplitude_g : float, optional
        Fix every pop's skin amplitude (detection curves); default log-uniform 0.2–3 g.
    pops_per_minute, confounders_per_minute : float
        Event rates (pops at the end of range of repetitions, confounders anywhere).
        At most one pop per joint the sensor hears per 20 minutes
        (:data:`tracker.signal.spikes.JOINTS_IN_RANGE`, each refractory for 20 min after
        it cracks, norms.md).
    nominal_mounting : str
        How the sensor is worn (:class:`SensorModel`; up to 15° off it).
    event_seed : int, optional
        Seed of the pops, confounders and front end alone (default ``seed``): the same
        session with other events.
    family : PopFamily, optional
        Ranges to draw from instead of ``PopFamily.of(split)`` (stress tests: a shape
        the family does not draw); ``split`` still picks the seeds' meaning.
    """
    from ._sensor import SensorModel, draw_lever_arm_m
    from ..signal.spikes import JOINTS_IN_RANGE
    from ._session import simulate_session

    fam = PopFamily.of(split) if family is None else family
    rng = np.random.default_rng([seed if event_seed is None else event_seed, int(rate_hz), 16])
    fe_name = front_end or str(rng.choice(fam.front_ends))
    fe = front_ends(rate_hz)[fe_name]
    # each person's sensor sits somewhere off the centre the back turns about (own stream:
    # the same person at every rate, the other draws unchanged)
    lever_m = draw_lever_arm_m(np.random.default_rng([seed, 17])) if fam.lever_arm else (0.0, 0.0, 0.0)
    base = simulate_session(seed=seed, rate_hz=rate_hz, minutes=minutes, cracks=False, confounders=False,
                            sensor=SensorModel(nominal_mounting=nominal_mounting, mounting_max_deg=15.0,
                                              lever_arm_m=lever_m))
    rec, truth = base.recording, base.truth
    t = rec.t_s
    w, x, y, z = truth.mounting.quat_wxyz
    to_sensor = Rotation.from_quat([x, y, z, w]).inv()  # body -> sensor
    duration = float(t[-1])
    walking = tuple((p.t_start_s, p.t_end_s) for p in truth.mounting.postures if p.posture == "walking")
    busy: list[tuple[float, float]] = [(0.0, 12.0), (duration - 3.0, duration + 1.0)]  # calibration, end

    def free(a: float, b: float) -> bool:
        return all(b <= lo or a >= hi for lo, hi in busy)

    # Pops: at the end of range of repetitions (holds), a few elsewhere.
    n_pops = min(int(rng.poisson(pops_per_minute * minutes)), len(JOINTS_IN_RANGE) * max(1, int(minutes // 20)))
    windows = [(r.hold_start_s - 0.3, r.hold_end_s - 0.3)
               if r.hold_start_s is not None and r.hold_end_s is not None else (r.peak_s - 0.5, r.peak_s + 0.5) for r in truth.reps]
    pop_times: list[float] = []
    for _ in range(n_pops * 20):
        if len(pop_times) >= n_pops:
            break
        lo, hi = windows[int(rng.integers(len(windows)))] if windows and rng.random() < 0.85 else (12.0, duration - 3)
        tc = float(rng.uniform(lo, hi))
        if free(tc - _MIN_SEPARATION_S, tc + _MIN_SEPARATION_S):
            busy.append((tc - _MIN_SEPARATION_S, tc + _MIN_SEPARATION_S))
            pop_times.append(tc)
    kinds = ["tap", "tap_still", "strap_slap", "vibration"]
    n_conf = int(rng.poisson(confounders_per_minute * minutes))
    conf_plan: list[tuple[float, str]] = []
    for _ in range(n_conf * 20):
        if len(conf_plan) >= n_conf:
            break
        kind = kinds[len(conf_plan) % len(kinds)]
        tc = float(rng.uniform(12.0, duration - 8.0))
        if free(tc - _MIN_SEPARATION_S, tc + 5.0 + _MIN_SEPARATION_S):
            conf_plan.append((tc, kind))
            busy.append((tc - _MIN_SEPARATION_S, tc + 5.0 + _MIN_SEPARATION_S))
    step_times: list[float] = []
    for a, b in walking:  # heel strikes at the walking cadence (~1.6–2.2 steps/s, guess)
        period = 1.0 / rng.uniform(1.6, 2.2)
        step_times += list(np.arange(a + 0.3, b - 0.2, period) + rng.normal(0, 0.01))

    acc = rec.acc_m_s2.copy()
    gyr = rec.gyr_rad_s.copy()
    hi_rate: list[tuple[float, np.ndarray, str]] = []

    def add(t0: float, a_b: np.ndarray, g_b: np.ndarray, kind: str, body_fixed: bool = True) -> None:
        a_s = to_sensor.apply(a_b) if body_fixed else a_b
        idx, val = sample_event(t, t0, a_s, fe)
        acc[idx] += val
        if np.any(g_b):
            idx, val = sample_event(t, t0, to_sensor.apply(g_b), fe)
            gyr[idx] += val
        hi_rate.append((t0, a_b, kind))

    pops: list[FamilyEvent] = []
    for tc in sorted(pop_times):
        a_b, g_b, lead, params = pop_wave(rng, fam, pop_amplitude_g)
        add(tc - lead, a_b, g_b, "pop")
        amp = float(np.max(np.linalg.norm(a_b, axis=1)) / _G)
        pops.append(FamilyEvent(t_s=tc, kind="pop", duration_s=float(a_b.shape[0] / HI_RATE_HZ - lead),
                                amplitude_g=amp, params=params))
    confs: list[FamilyEvent] = []
    for tc, kind in sorted(conf_plan) + [(ts, "footstep") for ts in step_times]:
        a_b, g_b, lead, dur, amp_g, params = confounder_wave(kind, rng, fam, rate_hz)
        add(tc - lead, a_b, g_b, kind, body_fixed=kind != "vibration")
        confs.append(FamilyEvent(t_s=tc, kind=kind, duration_s=dur, amplitude_g=amp_g, params=params))
    confs.sort(key=lambda e: e.t_s)
    acc = np.clip(acc, -16 * _G, 16 * _G)  # the part's range
    out = Recording(t, acc, gyr, rec.mag_uT, replace(rec.meta))
    return FamilySimulation(recording=out, pops=tuple(pops), confounders=tuple(confs), front_end=fe,
                            split=split, walking=walking, mounting_quat_wxyz=truth.mounting.quat_wxyz,
                            hi_rate_events=tuple(hi_rate))
