"""The session plan: a timeline of smooth moves, posture changes and repetitions.

Nothing here touches sample arrays; :mod:`._motion` evaluates the plan at any times.

Body orientation (body -> east-north-up world) is ``R_wb(t) = R_base(t) · R_rel(t)``:

* ``R_base`` is the posture: heading and the large posture rotations (sitting, lying on
  the back = -90° about body y, all fours = +90°), moved between keyframes by slerp with
  a raised-cosine speed profile (so the body-frame angular velocity has a fixed axis
  per keyframe step and is known exactly).
* ``R_rel = Ry(flexion) · Rx(lateral_bend) · Rz(axial_rotation)`` (intrinsic y–x–z,
  design.md) is the lumbar motion relative to the posture. Positive rotation about +y
  tips the body's z (head) axis toward +x (forward): positive flexion is a forward
  bend; about +x tips z toward -y (right): positive lateral bend is to the right; about
  +z turns x toward +y (left): positive axial rotation is to the left. So the truth
  angles are exactly these three channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from .. import schema
from ..routine import MAX_PEAK_DEG, ExerciseSpec, Routine

__all__ = ["Move", "BaseSeg", "RepPlan", "Plan", "make_plan", "RAMP_SMOOTHING_S"]

#: Duration of the raised-cosine acceleration / deceleration at each end of a ramp.
RAMP_SMOOTHING_S = 0.25
#: Channel of each plane (the primary angle of a repetition, design.md).
_CHANNEL_OF_PLANE = {"flexion": "f", "lateral_bend": "l", "axial_rotation": "r"}
_CHANNEL_COLUMN = {"f": "flexion_deg", "l": "lateral_bend_deg", "r": "axial_rotation_deg"}
_STEP_HZ_RANGE = (1.7, 1.95)


@dataclass(frozen=True)
class Move:
    """A change of a scalar channel by ``delta`` over ``[t0, t0 + dur]``.

    Velocity is a trapezoid with raised-cosine edges of length ``ta``; ``ta = dur/2``
    gives a pure raised-cosine bell.
    """

    t0: float
    dur: float
    delta: float
    ta: float

    @property
    def t1(self) -> float:
        return self.t0 + self.dur


@dataclass(frozen=True)
class BaseSeg:
    """Slerp of the posture by ``rotvec_body`` (rad) and a translation ``disp_world_m``."""

    t0: float
    dur: float
    rotvec_body: tuple[float, float, float]
    disp_world_m: tuple[float, float, float]


@dataclass(frozen=True)
class RepPlan:
    exercise: str
    side: str | None
    posture: str
    channel: str
    sign: float
    start_s: float
    hold_start_s: float | None
    hold_end_s: float | None
    end_s: float

    @property
    def primary_column(self) -> str:
        return _CHANNEL_COLUMN[self.channel]


@dataclass
class Plan:
    """Everything the motion evaluator needs, plus the truth skeleton."""

    moves: dict[str, list[Move]]
    base_start: Rotation
    base_segs: list[BaseSeg]
    reps: list[RepPlan]
    postures: list[tuple[float, float, str]]
    walks: list[tuple[float, float]]
    step_times_s: list[float]
    step_hz: float
    sway: dict[str, np.ndarray]  # per channel: (k, 3) rows of (amp_deg, freq_hz, phase)
    tremor: dict[str, np.ndarray]
    duration_s: float
    transitions: list[tuple[float, float]] = field(default_factory=list)
    turns: list[tuple[float, float, float]] = field(default_factory=list)  # (t0, t1, heading change °)


def _ry(deg: float) -> Rotation:
    return Rotation.from_euler("y", deg, degrees=True)


def _rz(deg: float) -> Rotation:
    return Rotation.from_euler("z", deg, degrees=True)


class _Builder:
    """Appends moves and posture changes on a running clock (Python, tens of items)."""

    def __init__(self, routine: Routine, rng: np.random.Generator) -> None:
        self.r = routine
        self.rng = rng
        self.t = 0.0
        self.heading_deg = float(rng.uniform(0.0, 360.0))
        self.posture = "sitting"
        self.P = _ry(routine.sitting_tilt_deg)
        self.base_start = _rz(self.heading_deg) * self.P
        self.R = self.base_start
        self.moves: dict[str, list[Move]] = {k: [] for k in ("f", "l", "r", "env_hold", "env_walk")}
        self.segs: list[BaseSeg] = []
        self.reps: list[RepPlan] = []
        self.postures: list[tuple[float, float, str]] = []
        self.walks: list[tuple[float, float]] = []
        self.transitions: list[tuple[float, float]] = []
        self.turns: list[tuple[float, float, float]] = []
        self.step_hz = float(rng.uniform(*_STEP_HZ_RANGE))
        self._posture_since = 0.0
        self.tempo = 1.0
        self.rest_off = {c: 0.0 for c in ("f", "l", "r")}

    # -------------------------------------------------------------- primitives
    def _label(self, new: str) -> None:
        if self.t > self._posture_since:
            self.postures.append((self._posture_since, self.t, self.posture))
        self.posture = new
        self._posture_since = self.t

    def go(self, dur: float, P: Rotation, dpsi_deg: float = 0.0,
           disp_m: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        """Move the posture to ``Rz(heading + dpsi) · P`` over ``dur`` seconds."""
        R_next = _rz(self.heading_deg + dpsi_deg) * P
        if dpsi_deg != 0.0 and (self.P.inv() * P).magnitude() < 1e-12:
            # a pure turn: the exact rotation vector, so that 180° (and more) keeps its direction
            rotvec = P.inv().apply([0.0, 0.0, np.deg2rad(dpsi_deg)])
        else:
            rotvec = (self.R.inv() * R_next).as_rotvec()
        disp = _rz(self.heading_deg).apply(np.asarray(disp_m, dtype=float))
        self.segs.append(BaseSeg(self.t, dur, tuple(rotvec), tuple(disp)))
        self.t += dur
        self.heading_deg = (self.heading_deg + dpsi_deg) % 360.0
        self.P, self.R = P, R_next

    def relabel(self, dpsi_deg: float, P: Rotation) -> None:
        """Describe the same orientation with another heading (after rolling over)."""
        self.heading_deg = (self.heading_deg + dpsi_deg) % 360.0
        self.P = P
        assert np.allclose((self.R.inv() * _rz(self.heading_deg) * P).magnitude(), 0.0, atol=1e-9)

    def still(self, dur: float) -> None:
        self.t += max(0.0, dur)

    def move(self, ch: str, t0: float, dur: float, delta: float, ta: float) -> None:
        if delta != 0.0 and dur > 0.0:
            self.moves[ch].append(Move(t0, dur, delta, min(ta, dur / 2)))

    # -------------------------------------------------------------- transitions
    def _transition(self, a: str, b: str) -> None:
        t0 = self.t
        self._label("transition")
        tilt = self.r.sitting_tilt_deg
        if (a, b) == ("sitting", "standing"):
            self.go(0.9, _ry(30), disp_m=(0.10, 0.0, 0.05))  # lean forward
            self.go(1.3, _ry(0), disp_m=(0.10, 0.0, 0.40))  # rise
        elif (a, b) == ("standing", "sitting"):
            self.go(1.0, _ry(25), disp_m=(-0.05, 0.0, -0.25))
            self.go(1.0, _ry(tilt), disp_m=(-0.05, 0.0, -0.20))
        elif (a, b) == ("standing", "supine"):
            self.go(1.4, _ry(45), disp_m=(0.15, 0.0, -0.35))  # crouch, kneel
            self.go(1.2, _ry(-10), disp_m=(-0.25, 0.0, -0.25))  # sit on the floor
            self.go(2.0, _ry(-90), disp_m=(-0.30, 0.0, -0.15))  # lie back
        elif (a, b) == ("standing", "all_fours"):
            self.go(1.4, _ry(45), disp_m=(0.15, 0.0, -0.35))
            self.go(1.4, _ry(90), disp_m=(0.10, 0.0, -0.25))
        elif (a, b) == ("supine", "all_fours"):
            roll = 90.0 if self.rng.random() < 0.5 else -90.0
            self.go(1.4, _ry(-90) * _rz(roll), disp_m=(0.0, 0.0, 0.05))  # onto the side
            self.go(1.4, _ry(-90) * _rz(2 * roll), disp_m=(0.0, 0.0, -0.05))  # prone
            self.relabel(180.0, _ry(90))
            self.go(1.2, _ry(90), disp_m=(-0.10, 0.0, 0.30))  # push up to hands and knees
        elif (a, b) == ("all_fours", "supine"):
            roll = 90.0 if self.rng.random() < 0.5 else -90.0
            self.go(1.0, _ry(90), disp_m=(0.10, 0.0, -0.30))
            self.go(1.4, _ry(90) * _rz(roll), disp_m=(0.0, 0.0, 0.05))
            self.go(1.4, _ry(90) * _rz(2 * roll), disp_m=(0.0, 0.0, -0.05))
            self.relabel(180.0, _ry(-90))
        elif (a, b) == ("all_fours", "standing"):
            self.go(1.5, _ry(15), disp_m=(-0.20, 0.0, 0.30))  # kneel up
            self.go(1.5, _ry(0), disp_m=(0.10, 0.0, 0.45))  # stand
        else:  # pragma: no cover - routed by _route
            raise ValueError(f"no transition {a} -> {b}")
        self.transitions.append((t0, self.t))
        self._label(b)

    def _walk(self) -> None:
        n = self.r.walk_steps
        if n == 0:
            return
        if self.r.turn_deg is not None:
            self._walk_and_turn(n, self.r.turn_deg)
            return
        dur = n / self.step_hz + 0.6
        turn = float(self.rng.uniform(90.0, 180.0)) * (1 if self.rng.random() < 0.5 else -1)
        t0 = self.t
        self._label("walking")
        self.move("env_walk", t0, 0.5, 1.0, 0.25)
        self.move("env_walk", t0 + dur - 0.5, 0.5, -1.0, 0.25)
        self.go(dur, self.P, dpsi_deg=turn, disp_m=(0.55 * n, 0.0, 0.0))
        self.walks.append((t0, self.t))
        self.turns.append((t0, self.t, turn))
        self._label("standing")
        self.still(0.8)

    def _walk_and_turn(self, n: int, turn_deg: float) -> None:
        """Walk half the steps, turn while stepping, walk back.

        The turn averages 70–110 °/s (a 180° U-turn in 1.6–2.6 s, peak 140–220 °/s).
        """
        half = n / 2 / self.step_hz
        turn_s = max(1.0, abs(turn_deg) / float(self.rng.uniform(70.0, 110.0)))
        t0 = self.t
        self._label("walking")
        dur = 2 * half + turn_s + 0.6
        self.move("env_walk", t0, 0.5, 1.0, 0.25)
        self.move("env_walk", t0 + dur - 0.5, 0.5, -1.0, 0.25)
        self.go(half + 0.3, self.P, disp_m=(0.55 * n / 2, 0.0, 0.0))
        t_turn = self.t
        self.go(turn_s, self.P, dpsi_deg=turn_deg, disp_m=(0.2, 0.0, 0.0))
        self.turns.append((t_turn, self.t, turn_deg))
        self.go(half + 0.3, self.P, disp_m=(0.55 * n / 2, 0.0, 0.0))
        self.walks.append((t0, self.t))
        self._label("standing")
        self.still(0.8)

    def walk_round(self, b: str) -> None:
        """Get up, walk (with the routine's turn) and get into ``b``, even when already in it."""
        a = self.posture
        if a != b:
            self.route(b)  # passes through standing, and walks there
            return
        if a == "standing":
            self._walk()
        elif a == "sitting":
            self._transition("sitting", "standing")
            self.still(0.5)
            self._walk()
            self._transition("standing", "sitting")
        else:
            self.route("standing")
            self.route(b)
            return
        self.still(self.r.settle_s)

    def route(self, b: str) -> None:
        """Get from the current posture to ``b``, walking when passing through standing."""
        a = self.posture
        if a == b:
            return
        floor = ("supine", "all_fours")
        if a in floor and b in floor:
            self._transition(a, b)
        else:
            if a == "supine":
                self._transition("supine", "all_fours")
                a = "all_fours"
            if a != "standing":
                self._transition(a, "standing")
                self.still(0.5)
            self._walk()
            if b != "standing":
                self._transition("standing", b)
        self.still(self.r.settle_s)

    # ----------------------------------------------------------------- repetitions
    def _vary(self, x: float, lo: float = 0.6, hi: float = 1.4) -> float:
        return x * float(np.clip(1.0 + self.r.variability * self.rng.standard_normal(), lo, hi))

    def rep(self, spec: ExerciseSpec, side: str | None, peak_deg: float) -> None:
        ch = _CHANNEL_OF_PLANE[schema.PLANE_OF_EXERCISE[spec.exercise]]
        sign = float(schema.peak_sign(spec.exercise, side))
        ta = RAMP_SMOOTHING_S
        amp = self._vary(peak_deg, 0.7, 1.3)
        v_out = self._vary(spec.speed_out_deg_s) * self.tempo
        v_back = self._vary(spec.speed_back_deg_s) * self.tempo
        hold = self._vary(spec.hold_s, 0.5, 1.5) if spec.hold_s > 0 else 0.0
        rest = self._vary(spec.rest_s, 0.5, 1.5)
        creep = sign * spec.hold_creep_deg * float(self.rng.uniform(0.5, 1.5)) if hold > 0 else 0.0
        amp = min(amp, MAX_PEAK_DEG[spec.exercise] - abs(creep) - 1.0)  # 1° left for sway
        others = [c for c in ("f", "l", "r") if c != ch]
        lim = min(2.5, 0.8 / spec.coupling) if spec.coupling > 0 else 2.5  # secondary <= 0.8 primary
        couple = {c: float(np.clip(self.rng.standard_normal(), -lim, lim)) * spec.coupling for c in others}

        t0 = self.t
        bell = self.r.velocity_profile == "bell"
        ta_out = amp / v_out if bell else min(ta, amp / v_out)
        dur_out = amp / v_out + ta_out
        self.move(ch, t0, dur_out, sign * amp, ta_out)
        for c in others:
            self.move(c, t0, dur_out, couple[c] * amp, dur_out / 2)
        t_hold0 = t0 + dur_out
        t_hold1 = t_hold0 + hold
        if hold > 0:
            self.move(ch, t_hold0, hold, creep, hold / 2)
            edge = min(1.0, hold / 3)
            self.move("env_hold", t_hold0, edge, 1.0, edge / 2)
            self.move("env_hold", t_hold1 - edge, edge, -1.0, edge / 2)
        back = amp + abs(creep)
        ta_back = back / v_back if bell else min(ta, back / v_back)
        dur_back = back / v_back + ta_back
        drift = {c: 0.0 for c in ("f", "l", "r")}
        if self.r.rest_drift_deg > 0:  # back to a rest posture a little off the last one
            for c in drift:
                new = float(np.clip(self.rng.standard_normal(), -2.0, 2.0)) * self.r.rest_drift_deg
                drift[c], self.rest_off[c] = new - self.rest_off[c], new
        self.move(ch, t_hold1, dur_back, -sign * back + drift[ch], ta_back)
        for c in others:
            self.move(c, t_hold1, dur_back, -couple[c] * amp + drift[c], dur_back / 2)
        self.t = t_hold1 + dur_back
        self.reps.append(RepPlan(
            spec.exercise, side, self.posture, ch, sign, t0,
            t_hold0 if hold > 0 else None, t_hold1 if hold > 0 else None, self.t,
        ))
        self.still(rest)

    def settle(self) -> None:
        """Back to the block's start posture after rest drift (1 s), before moving on."""
        if any(self.rest_off.values()):
            for c, off in self.rest_off.items():
                self.move(c, self.t, 1.0, -off, 0.5)
            self.rest_off = {c: 0.0 for c in self.rest_off}
            self.still(1.0)

    def finish(self) -> None:
        self._label(self.posture)


def _oscillators(rng: np.random.Generator, amp_deg: float, f_lo: float, f_hi: float, k: int) -> np.ndarray:
    """(k, 3) rows (amplitude, frequency, phase) whose sum has RMS ~ amp/√2."""
    freqs = rng.uniform(f_lo, f_hi, k)
    phases = rng.uniform(0, 2 * np.pi, k)
    amps = np.full(k, amp_deg / np.sqrt(k))
    return np.column_stack([amps, freqs, phases])


def make_plan(routine: Routine, rng: np.random.Generator, *, sway_deg: float = 0.15,
              hold_sway_deg: float = 0.4, tremor_deg: float = 0.01,
              breathing_deg: float = 0.2) -> Plan:
    """Lay out the whole session in time (no sample arrays).

    Parameters
    ----------
    routine : Routine
    rng : numpy Generator
        Draws heading, per-rep variation, couplings, turns, sway phases.
    sway_deg, hold_sway_deg : float
        Slow postural sway (0.08–0.5 Hz) at rest and extra sway while holding a stretch.
    tremor_deg : float
        Physiological tremor (8–12 Hz) while holding.
    breathing_deg : float
        Breathing (0.2–0.3 Hz) on the flexion angle, always.
    """
    b = _Builder(routine, rng)
    sway_deg, hold_sway_deg, breathing_deg = (x * routine.sway_scale for x in (sway_deg, hold_sway_deg, breathing_deg))
    if routine.tempo_range is not None:  # drawn only when asked: other routines keep their streams
        b.tempo = float(rng.uniform(*routine.tempo_range))
    b._label("sitting")
    b.still(routine.neutral_s)
    for k, spec in enumerate(routine.exercises):
        if routine.walk_between_blocks and k > 0:
            b.walk_round(spec.posture)
        else:
            b.route(spec.posture)
        # the person's own range: drawn once per block (only when asked, so that routines
        # without ranges keep their random streams)
        peak = float(rng.uniform(*spec.peak_deg_range)) if spec.peak_deg_range else spec.peak_deg
        for side in spec.sides:
            for _ in range(spec.reps_per_side):
                b.rep(spec, side, peak)
        b.settle()
    b.route("standing")
    b.still(routine.final_still_s)
    b.finish()

    sway = {c: _oscillators(rng, sway_deg, 0.08, 0.5, 2) for c in ("f", "l", "r")}
    sway_hold = {c: _oscillators(rng, hold_sway_deg, 0.1, 0.6, 3) for c in ("f", "l", "r")}
    breath = np.array([[breathing_deg, rng.uniform(0.2, 0.3), rng.uniform(0, 2 * np.pi)]])
    sway["f"] = np.vstack([sway["f"], breath])
    tremor = {c: _oscillators(rng, tremor_deg, 8.0, 12.0, 2) for c in ("f", "l", "r")}
    # hold sway rides on env_hold: keep the two sets apart (last column block marks it)
    for c in sway:
        sway[c] = np.vstack([np.column_stack([sway[c], np.zeros(len(sway[c]))]),
                             np.column_stack([sway_hold[c], np.ones(len(sway_hold[c]))])])

    steps: list[float] = []
    for w0, w1 in b.walks:
        m0, m1 = int(np.ceil((w0 + 0.4) * b.step_hz)), int(np.floor((w1 - 0.4) * b.step_hz))
        steps.extend(m / b.step_hz for m in range(m0, m1 + 1))
    return Plan(
        moves=b.moves, base_start=b.base_start, base_segs=b.segs, reps=b.reps,
        postures=b.postures, walks=b.walks, step_times_s=steps, step_hz=b.step_hz,
        sway=sway, tremor=tremor, duration_s=b.t, transitions=b.transitions, turns=b.turns,
    )
