"""simulate_session: a whole seeded session as a lower-back IMU records it, with truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from .. import schema
from ..errors import ValidationError
from ..recording import Recording, RecordingMeta
from ..routine import Routine
from . import _events as ev
from ._motion import eval_angles, eval_kinematics, q_from_rotation, qconj, qmul, qrotate
from ._plan import Plan, make_plan
from ._sensor import MOUNTINGS, SensorModel
from ._truth import (
    ANGLE_TRUTH_COLUMNS,
    DESIGN_POSTURE,
    GroundTruth,
    TruthConfounder,
    TruthCrack,
    TruthGap,
    TruthMounting,
    TruthPosture,
    TruthRep,
    TruthTurn,
)

__all__ = ["Simulation", "simulate_session", "JOINTS", "CRACK_REFRACTORY_S", "EARTH_FIELD_ENU_UT"]

_G = schema.STANDARD_GRAVITY_M_S2
#: Joints that can cavitate; each is refractory for 20 min after a crack (norms.md).
JOINTS = ("L4-L5", "L5-S1", "SI-left", "SI-right")
CRACK_REFRACTORY_S = 20 * 60.0
#: Earth field, east-north-up, µT (mid-Europe: 48 µT, inclination 66° down).
EARTH_FIELD_ENU_UT = (0.0, 19.5, -43.9)
#: Crack probability per repetition, and per posture change (standing up...).
_CRACK_P_REP = 0.3
_CRACK_P_TRANSITION = 0.1
_MIN_EVENT_SEPARATION_S = 1.5
_DEFAULT_START = datetime(2025, 1, 6, 8, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True, eq=False)
class Simulation:
    """A simulated session: what the sensor recorded and what really happened."""

    recording: Recording
    truth: GroundTruth
    routine: Routine
    sensor: SensorModel
    #: The impulsive events at the skin, ``(first sample's time s, acc_m_s2 (M, 3) body
    #: frame at :data:`._frontend.HI_RATE_HZ`, kind)``: what a tag's kHz impulse snippets
    #: see (:func:`._witnesses.simulate_snippets`).
    hi_rate_events: tuple[tuple[float, np.ndarray, str], ...] = ()


def _resolve_routine(routine: Routine | None, minutes: float | None, seq: np.random.SeedSequence) -> Routine:
    if routine is None:
        routine = Routine.short() if minutes is not None and minutes <= 1.75 else Routine.default()
    if minutes is None:
        return routine
    if not 0 < minutes <= 240:
        raise ValidationError(f"minutes {minutes} is not in (0, 240]")
    target = minutes * 60.0

    def dur(r: Routine) -> float:  # same seed -> same draws -> duration affine in the factor
        return make_plan(r, np.random.default_rng(seq)).duration_s

    rounds = max(1, int(round(target / dur(routine))))
    base = routine.scaled(1.0, rounds)
    d1, dh = dur(base), dur(base.scaled(0.5))
    slope = (d1 - dh) / 0.5
    k = 1.0 if slope <= 0 else float(np.clip(1.0 + (target - d1) / slope, 0.3, 3.0))
    return base.scaled(k)


def _nominal(sensor: SensorModel, rng: np.random.Generator) -> tuple[Rotation, str]:
    """The way the sensor is worn (named, or drawn for ``any_flat`` / ``any``) and its name."""
    name = sensor.nominal_mounting
    if name == "any":
        return Rotation.random(random_state=rng), "any"
    if name == "any_flat":  # flat on the back: any angle about the back's normal, face out or in
        face = "flat_back" if rng.random() < 0.5 else "phone_upright_screen_in"
        spin = float(rng.uniform(-180.0, 180.0))
        base = Rotation.from_matrix(MOUNTINGS[face])
        return Rotation.from_euler("x", spin, degrees=True) * base, f"{face} turned {spin:.0f} deg"
    return Rotation.from_matrix(MOUNTINGS[name]), name


def _mounting(sensor: SensorModel, rng: np.random.Generator) -> tuple[Rotation, float, str]:
    if sensor.mounting_quat_wxyz is not None:
        w, x, y, z = sensor.mounting_quat_wxyz
        M = Rotation.from_quat([x, y, z, w])
        if sensor.nominal_mounting in MOUNTINGS:
            nominal = Rotation.from_matrix(MOUNTINGS[sensor.nominal_mounting])
            return M, float(np.rad2deg((nominal.inv() * M).magnitude())), sensor.nominal_mounting
        return M, 0.0, "given"
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = rng.uniform(0.0, sensor.mounting_max_deg)
    mis = Rotation.from_rotvec(np.deg2rad(angle) * axis)
    nominal, name = _nominal(sensor, rng)  # draws after the misalignment: named mountings keep their streams
    return nominal * mis, float(angle), name


def _sample_times(n: int, rate_hz: float, jitter_frac: float, rng: np.random.Generator) -> np.ndarray:
    j = np.clip(rng.normal(0.0, jitter_frac, n), -0.3, 0.3) if jitter_frac > 0 else np.zeros(n)
    j[0] = 0.0  # t_s = 0 is the first sample
    return np.round((np.arange(n) + j) / rate_hz, 6)  # µs, as the CSV contract writes them


def _rep_windows(plan: Plan) -> list[tuple[float, float, float, int]]:
    """Per rep: window where a crack is likely (end of range) as (lo, hi, weight, rep)."""
    out = []
    for i, r in enumerate(plan.reps):
        if r.hold_start_s is not None and r.hold_end_s is not None:
            out.append((r.hold_start_s - 0.4, r.hold_end_s - 0.3, 1.0, i))
        else:
            out.append((r.end_s - (r.end_s - r.start_s) * 0.55, r.end_s - (r.end_s - r.start_s) * 0.4, 1.0, i))
    return out


def _schedule_cracks(plan: Plan, cracks: bool | int, rng: np.random.Generator,
                     amp_range: tuple[float, float]) -> list[tuple[float, float, str]]:
    """Crack times, amplitudes and joints: mostly at the end of range, refractory per joint."""
    if cracks is False or cracks is None:
        return []
    windows = _rep_windows(plan)
    trans = [(a + 0.3, b - 0.3, 1.0, -1) for a, b in plan.transitions if b - a > 1.0]
    if cracks is True:
        chosen = [w for w in windows if rng.random() < _CRACK_P_REP]
        chosen += [w for w in trans if rng.random() < _CRACK_P_TRANSITION]
    else:
        n = int(cracks)
        if n < 0:
            raise ValidationError(f"cracks must be >= 0, got {n}")
        pool = windows + trans
        order = rng.permutation(len(pool))
        chosen = [pool[i] for i in order[: min(n, len(pool))]]
    times = sorted(float(rng.uniform(lo, hi)) for lo, hi, _, _ in chosen)
    last = {j: -np.inf for j in JOINTS}
    out: list[tuple[float, float, str]] = []
    for t in times:
        free = [j for j in JOINTS if t - last[j] >= CRACK_REFRACTORY_S]
        if not free or (out and t - out[-1][0] < _MIN_EVENT_SEPARATION_S):
            continue
        joint = str(rng.choice(free))
        last[joint] = t
        out.append((t, float(rng.uniform(*amp_range)), joint))
    return out


def _schedule_confounders(plan: Plan, neutral_s: float, crack_times: list[float],
                          rng: np.random.Generator) -> list[tuple[float, str, float]]:
    """Taps, strap slaps and vibration bursts at random free times (not in calibration)."""
    minutes = plan.duration_s / 60.0
    kinds = (["tap"] * (1 + rng.poisson(0.2 * minutes)) + ["strap_slap"] * (1 + rng.poisson(0.2 * minutes))
             + ["vibration"] * (1 + rng.poisson(0.1 * minutes)))
    lo, hi = neutral_s + 2.0, plan.duration_s - 4.0
    busy = [(t - _MIN_EVENT_SEPARATION_S, t + _MIN_EVENT_SEPARATION_S) for t in crack_times]
    out: list[tuple[float, str, float]] = []
    for kind in kinds:
        dur = float(rng.uniform(1.0, 3.0)) if kind == "vibration" else (0.01 if kind == "tap" else 0.05)
        for _ in range(50):
            t = float(rng.uniform(lo, hi))
            a, b = t - _MIN_EVENT_SEPARATION_S, t + dur + _MIN_EVENT_SEPARATION_S
            if all(b <= x or a >= y for x, y in busy):
                busy.append((a, b))
                out.append((t, kind, dur))
                break
    return sorted(out)


def _drop_mask(n: int, pkt: int, p: float, t: np.ndarray, protect: list[float],
               rng: np.random.Generator) -> np.ndarray:
    keep = np.ones(n, dtype=bool)
    if p <= 0:
        return keep
    n_pkt = -(-n // pkt)
    starts = np.flatnonzero(rng.random(n_pkt) < p / 1.5)
    lengths = rng.geometric(2.0 / 3.0, starts.size)
    for s, L in zip(starts, lengths):
        keep[s * pkt: (s + L) * pkt] = False
    keep[: max(pkt, int(np.searchsorted(t, 1.0)))] = True  # the first second is always there
    keep[-1] = True
    for tc in protect:  # every crack in the truth must be observable
        i0, i1 = np.searchsorted(t, (tc - 0.15, tc + 0.15))
        keep[i0:i1] = True
    return keep


def _gyr_bias(t: np.ndarray, s: SensorModel, rng: np.random.Generator) -> np.ndarray:
    b0 = rng.normal(0.0, s.gyr_bias_std_rad_s, 3)
    drift = rng.normal(0.0, s.gyr_bias_drift_rad_s_per_min, 3)
    grid = np.arange(0.0, t[-1] + 2.0, 1.0)
    walk = np.cumsum(rng.normal(0.0, s.gyr_bias_walk_rad_s_rts, (grid.size, 3)), axis=0)
    walk -= walk[0]
    rw = np.column_stack([np.interp(t, grid, walk[:, k]) for k in range(3)])
    return b0 + drift * (t[:, None] / 60.0) + rw


def _quantise(x: np.ndarray, lsb: float, rng_limit: float) -> np.ndarray:
    x = np.clip(x, -rng_limit, rng_limit)
    return np.round(x / lsb) * lsb if lsb > 0 else x


def simulate_session(
    seed: int | None = 0,
    rate_hz: float = 100.0,
    routine: Routine | None = None,
    sensor: SensorModel | None = None,
    minutes: float | None = None,
    with_mag: bool = False,
    cracks: bool | int = True,
    confounders: bool = True,
    *,
    crack_amplitude_m_s2: float | tuple[float, float] = (1.0 * _G, 3.0 * _G),
    started_at: datetime | None = None,
) -> Simulation:
    """Simulate a stretching session recorded by one IMU over L4–S1, with ground truth.

    Parameters
    ----------
    seed : int
        Everything is deterministic for a seed. Independent random streams drive the
        routine, cracks, confounders, mounting, sensor errors, timing and packet drops, so
        switching cracks or confounders off leaves all else identical.
    rate_hz : float
        Output sample rate, 10–2000 Hz (tested 25–1000).
    routine : Routine, optional
        Default :meth:`Routine.default` (about 6 min), or :meth:`Routine.short` when
        ``minutes <= 1.75``.
    sensor : SensorModel, optional
        Default: a consumer MEMS part with ≤10° mounting misalignment, noise, bias, drift,
        scale error, quantisation, jitter and dropped packets. :meth:`SensorModel.ideal`
        for physics tests.
    minutes : float, optional
        Rough target length: the routine is repeated ``round(target / length)`` times and
        its holds and rests scaled (0.3–3×) to fit.
    with_mag : bool
        Add a magnetometer (earth field :data:`EARTH_FIELD_ENU_UT`, hard-iron offset, noise).
    cracks : bool or int
        True: each repetition cracks with probability 0.3 near its end of range (each
        posture change with 0.1); an int places exactly that many (fewer if the 20-minute
        refractory of the 4 joints :data:`JOINTS` does not allow it). False: none.
    confounders : bool
        Taps (7–16 g, gyro jump 35–43 °/s), strap slaps, vibration bursts (0.4 g,
        150–200 Hz, 1–3 s) and heel strikes while walking. False removes all of them
        (the walking motion stays).
    crack_amplitude_m_s2 : float or (low, high)
        Broadband peak of a pop at the skin (no published value: a parameter);
        default uniform in 1–3 g, the upper part of the pop family's 0.2–3 g
        (:mod:`._pops`, whose tuning shapes every pop here takes).
    started_at : datetime, optional
        UTC wall-clock start (default a fixed date, for determinism).

    Returns
    -------
    Simulation
        ``recording`` (profile ``"simulator"``) and ``truth`` (:class:`GroundTruth`).

    Notes
    -----
    Frames: world east-north-up; body x forward, y left, z up (standing); sensor ->
    body is ``truth.mounting.quat_wxyz``. Angles are intrinsic y–x–z of the body
    relative to the reference posture, each a right-handed rotation: +flexion about +y
    tips the head axis z toward the front (+x: forward bend; back-bend negative, cat
    arch positive), +lateral bend about +x tips z toward -y (right), +axial rotation
    about +z turns the front toward +y (left twist positive, right negative). The
    gyroscope is the body's angular velocity in the sensor frame (exact at each sample
    instant), the accelerometer the specific force (+1 g up at rest), the magnetometer
    the earth field in the sensor frame. See :class:`TruthRep` for the exact definition
    of start, hold start/end, end and peak.

    Examples
    --------
    >>> sim = simulate_session(seed=1, rate_hz=100.0, minutes=1)
    >>> [r.exercise for r in sim.truth.reps][:2]
    ['chair_backbend', 'seated_twist']
    """
    if not 10.0 <= rate_hz <= 2000.0:
        raise ValidationError(f"rate_hz {rate_hz} is not in [10, 2000]")
    sensor = sensor or SensorModel()
    seq = np.random.SeedSequence(seed)
    (s_plan, s_crack, s_conf, s_mount, s_bias, s_noise, s_time, s_drop, s_wave) = seq.spawn(9)
    routine = _resolve_routine(routine, minutes, s_plan)
    plan = make_plan(routine, np.random.default_rng(s_plan))
    if isinstance(crack_amplitude_m_s2, (int, float)):
        crack_amplitude_m_s2 = (float(crack_amplitude_m_s2), float(crack_amplitude_m_s2))

    # ---------------------------------------------------------------- events
    crack_plan = _schedule_cracks(plan, cracks, np.random.default_rng(s_crack), crack_amplitude_m_s2)
    crack_times = [c[0] for c in crack_plan]
    conf_plan = (_schedule_confounders(plan, routine.neutral_s, crack_times, np.random.default_rng(s_conf))
                 if confounders else [])

    # ---------------------------------------------------------------- sample instants
    n = int(np.floor(plan.duration_s * rate_hz)) + 1
    t_all = _sample_times(n, rate_hz, sensor.jitter_frac, np.random.default_rng(s_time))
    keep = _drop_mask(n, sensor.packet_size(rate_hz), sensor.drop_prob, t_all, crack_times,
                      np.random.default_rng(s_drop))
    t = t_all[keep]

    # ---------------------------------------------------------------- body motion
    kin = eval_kinematics(t, plan, _G)
    sf_b = kin.specific_force_body_m_s2.copy()
    om_b = kin.omega_body_rad_s.copy()
    if any(sensor.lever_arm_m) and t.size > 2:
        # the sensor rides on the lower back at r from the centre it turns about: a rigid
        # body's a = a_centre + α×r + ω×(ω×r) (body frame; α from the exact ω)
        r = np.asarray(sensor.lever_arm_m, dtype=float)
        alpha = np.gradient(om_b, t, axis=0)
        sf_b += np.cross(alpha, r) + np.cross(om_b, np.cross(om_b, r))
    M, mis_deg, nominal = _mounting(sensor, np.random.default_rng(s_mount))
    q_m = q_from_rotation(M)
    q_ws = qmul(kin.q_wb, q_m)  # sensor -> world

    # ---------------------------------------------------------------- transients (body frame)
    rng_w = np.random.default_rng(s_wave)
    cut = sensor.aa_cutoff_frac
    truth_cracks: list[tuple[float, float, str, float]] = []
    hi_rate: list[tuple[float, np.ndarray, str]] = []
    for tc, amp, joint in crack_plan:
        wave = ev.crack_wave(tc, amp, rng_w)
        hi_rate.append((*ev.at_hi_rate(wave), "pop"))
        idx, val = ev.band_limited(t, wave, rate_hz, cut)
        sf_b[idx] += val
        peak = float(np.max(np.linalg.norm(val, axis=1))) if idx.size else 0.0
        truth_cracks.append((tc, amp, joint, peak))
    confs: list[TruthConfounder] = []
    vib: list[tuple[float, float]] = []
    for tc, kind, dur in conf_plan:
        if kind == "vibration":
            vib.append((tc, dur))
            confs.append(TruthConfounder(t_s=tc, kind=kind, duration_s=dur, amplitude_m_s2=0.4 * _G))
            continue
        wave, amp = (ev.tap_wave if kind == "tap" else ev.slap_wave)(tc, rng_w)
        hi_rate.append((*ev.at_hi_rate(wave), kind))
        for sig, target in (("acc", sf_b), ("gyr", om_b)):
            idx, val = ev.band_limited(t, wave, rate_hz, cut, sig)
            target[idx] += val
        confs.append(TruthConfounder(t_s=tc, kind=kind, duration_s=dur, amplitude_m_s2=amp))
    if confounders:
        for ts in plan.step_times_s:
            wave, amp = ev.heel_wave(ts, rng_w)
            hi_rate.append((*ev.at_hi_rate(wave), "footstep"))
            idx, val = ev.band_limited(t, wave, rate_hz, cut)
            sf_b[idx] += val
            confs.append(TruthConfounder(t_s=ts, kind="footstep", duration_s=0.1, amplitude_m_s2=amp))
    confs.sort(key=lambda c: c.t_s)

    rx = np.random.default_rng(seq.spawn(1)[0])  # stream of the optional errors below (others unchanged)
    q_mt = q_m[None, :].repeat(t.size, axis=0) if sensor.slip_deg > 0 else q_m
    slip_rate = np.zeros((t.size, 3))
    if sensor.slip_deg > 0 and t.size > 1:
        # the strap slips once: the mounting turns about a random sensor axis over 1 s
        a = rx.normal(size=3)
        a /= np.linalg.norm(a)
        th = np.deg2rad(sensor.slip_deg)
        t_slip = float(rx.uniform(0.2, 0.8)) * t[-1]
        u = np.clip(t - t_slip, 0.0, 1.0)
        frac = (1 - np.cos(np.pi * u)) / 2
        dfrac = np.where((t > t_slip) & (t < t_slip + 1.0), np.pi / 2 * np.sin(np.pi * u), 0.0)
        q_slip = np.column_stack([np.cos(frac * th / 2), np.sin(frac * th / 2)[:, None] * a])
        q_mt = qmul(q_m[None, :], q_slip)
        slip_rate = (dfrac * th)[:, None] * a
        q_ws = qmul(kin.q_wb, q_mt)
    acc = qrotate(qconj(q_mt), sf_b)
    gyr = qrotate(qconj(q_mt), om_b) + slip_rate
    for tv, dur in vib:  # phone motor: sensor-fixed, in the device plane, aliases at low rates
        i0, i1 = np.searchsorted(t, (tv, tv + dur))
        f = rng_w.uniform(150.0, 200.0)
        d = np.array([*rng_w.normal(size=2), 0.2 * rng_w.normal()])
        d /= np.linalg.norm(d)
        tt = t[i0:i1] - tv
        env = np.minimum(1.0, np.minimum(tt, dur - tt) / 0.05)
        acc[i0:i1] += 0.4 * _G * (env * np.sin(2 * np.pi * f * tt))[:, None] * d
    mag = None
    if with_mag:
        field = np.broadcast_to(np.asarray(EARTH_FIELD_ENU_UT, dtype=float), (t.size, 3))
        if sensor.mag_disturbance_uT > 0 and t.size > 1:
            # furniture and floors: a world-frame field varying over ~10 s (smoothed walk)
            grid = np.arange(0.0, t[-1] + 10.0, 5.0)
            knots = rx.normal(0.0, sensor.mag_disturbance_uT, (grid.size, 3))
            field = field + np.column_stack([np.interp(t, grid, knots[:, k]) for k in range(3)])
        mag = qrotate(qconj(q_ws), field)

    # ---------------------------------------------------------------- sensor errors
    rb, rn = np.random.default_rng(s_bias), np.random.default_rng(s_noise)
    acc = acc * (1 + rb.normal(0, sensor.acc_scale_std, 3)) + rb.normal(0, sensor.acc_bias_std_m_s2, 3)
    gyr = gyr * (1 + rb.normal(0, sensor.gyr_scale_std, 3)) + _gyr_bias(t, sensor, rb)
    for std, x in ((sensor.acc_cross_axis_std, acc), (sensor.gyr_cross_axis_std, gyr)):
        if std > 0:  # axis non-orthogonality: each axis senses a little of the others
            C = rx.normal(0.0, std, (3, 3))
            np.fill_diagonal(C, 0.0)
            x += x @ C.T
    nyq_rt = np.sqrt(rate_hz / 2.0)
    if sensor.acc_noise_density > 0:
        acc = acc + rn.normal(0, sensor.acc_noise_density * nyq_rt, acc.shape)
    if sensor.gyr_noise_density > 0:
        gyr = gyr + rn.normal(0, sensor.gyr_noise_density * nyq_rt, gyr.shape)
    acc = _quantise(acc, sensor.acc_lsb_m_s2, sensor.acc_range_m_s2)
    gyr = _quantise(gyr, sensor.gyr_lsb_rad_s, sensor.gyr_range_rad_s)
    if mag is not None:
        mag = mag + rb.normal(0, sensor.mag_offset_std_uT, 3) + (
            rn.normal(0, sensor.mag_noise_uT, mag.shape) if sensor.mag_noise_uT > 0 else 0.0)
        mag = _quantise(mag, sensor.mag_lsb_uT, 4900.0)

    meta = RecordingMeta(device="simulator", profile="simulator", nominal_rate_hz=float(rate_hz),
                         started_at=started_at or _DEFAULT_START, placement="lower_back")
    recording = Recording(t, acc, gyr, mag, meta)

    truth = _truth(plan, t, kin, q_ws, M, mis_deg, nominal, sensor, routine, truth_cracks, confs, keep, t_all,
                   rate_hz, seed, with_mag)
    return Simulation(recording, truth, routine, sensor, tuple(sorted(hi_rate, key=lambda e: e[0])))


def _truth(plan: Plan, t: np.ndarray, kin, q_ws: np.ndarray, M: Rotation, mis_deg: float, nominal: str,
           sensor: SensorModel,
           routine: Routine, cracks: list, confs: list, keep: np.ndarray, t_all: np.ndarray,
           rate_hz: float, seed: int | None, with_mag: bool) -> GroundTruth:
    # peak: 100 Hz scan of each repetition, refined at 1 kHz around the best sample
    reps: list[TruthRep] = []
    grids = [np.arange(r.start_s, r.end_s, 1e-2) for r in plan.reps]
    if grids:
        ang, _ = eval_angles(np.concatenate(grids), plan)
        off, coarse = 0, []
        for r, g in zip(plan.reps, grids):
            x = ang[off: off + g.size, ("f", "l", "r").index(r.channel)]
            off += g.size
            coarse.append(g[int(np.argmax(np.abs(x)))])
        fine = [np.clip(np.arange(tc - 0.02, tc + 0.0205, 1e-3), r.start_s, r.end_s)
                for tc, r in zip(coarse, plan.reps)]
        ang, _ = eval_angles(np.concatenate(fine), plan)
        for k, (r, g) in enumerate(zip(plan.reps, fine)):
            x = ang[k * g.size: (k + 1) * g.size, ("f", "l", "r").index(r.channel)]
            i = int(np.argmax(np.abs(x)))
            hold = None if r.hold_start_s is None or r.hold_end_s is None else r.hold_end_s - r.hold_start_s
            plane = schema.PLANE_OF_EXERCISE[r.exercise]
            posture = DESIGN_POSTURE[r.posture]
            reps.append(TruthRep(
                exercise=schema.exercise_of(posture, plane, float(x[i])), side=r.side,
                start_s=r.start_s, hold_start_s=r.hold_start_s, hold_end_s=r.hold_end_s,
                end_s=r.end_s, hold_s=hold, peak_s=float(g[i]), peak_deg=float(x[i]), plane=plane,
                posture=posture, stance=r.posture, movement=r.exercise,
                primary_angle=r.primary_column,
            ))
    t_cracks = []
    for tc, amp, joint, peak in cracks:
        rep = next((i for i, r in enumerate(reps) if r.start_s <= tc <= r.end_s), None)
        t_cracks.append(TruthCrack(t_s=tc, amplitude_m_s2=amp, rep=rep, joint=joint, observed_peak_m_s2=peak))

    q = q_ws
    angles = pd.DataFrame({
        "t_s": t, "flexion_deg": kin.angles_deg[:, 0], "lateral_bend_deg": kin.angles_deg[:, 1],
        "axial_rotation_deg": kin.angles_deg[:, 2],
        "q_w": q[:, 0], "q_x": q[:, 1], "q_y": q[:, 2], "q_z": q[:, 3],
    }, columns=list(ANGLE_TRUTH_COLUMNS))

    gaps = []
    lost = np.flatnonzero(~keep)
    if lost.size:
        breaks = np.flatnonzero(np.diff(lost) > 1)
        for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks, lost.size - 1]):
            i0, i1 = lost[a], lost[b]
            gaps.append(TruthGap(after_s=float(t_all[i0 - 1]), before_s=float(t_all[i1 + 1]), n_samples=int(i1 - i0 + 1)))

    mq = M.as_quat()
    mounting = TruthMounting(
        quat_wxyz=(float(mq[3]), float(mq[0]), float(mq[1]), float(mq[2])), misalignment_deg=mis_deg,
        nominal=nominal, postures=tuple(TruthPosture(t_start_s=a, t_end_s=b, posture=p)
                                        for a, b, p in plan.postures),
    )
    turns = [TruthTurn(t_start_s=a, t_end_s=b, heading_change_deg=d) for a, b, d in plan.turns]
    params = {
        "routine": routine.to_dict(), "sensor": sensor.to_dict(), "gravity_m_s2": _G,
        "earth_field_enu_uT": list(EARTH_FIELD_ENU_UT) if with_mag else None,
        "step_hz": plan.step_hz, "joints": list(JOINTS), "crack_refractory_s": CRACK_REFRACTORY_S,
    }
    return GroundTruth(reps=reps, cracks=t_cracks, confounders=confs, angles=angles, mounting=mounting,
                       gaps=gaps, turns=turns, rate_hz=float(rate_hz), seed=seed,
                       duration_s=float(t[-1]), params=params)
