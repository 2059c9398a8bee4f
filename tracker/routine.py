"""The stretching routine: exercise blocks and their parameters.

One description used by both the simulator (what the simulated person does) and the
live guide (the steps it walks the person through); neither imports the other.

Defaults follow ``shared/norms.md``: slow stretches of 10–40 °/s (Milosavljevic et al.
2008 measured ~22 °/s going into a standing back-bend and ~37 °/s returning), holds of a
few seconds up to 30 s (ACSM: 10–30 s, 2–4 repetitions), and lumbopelvic ranges from
Magee (flexion 40–60°, extension 20–35°, rotation 10–35° including the pelvis). A sensor
over L4–S1 sees the lumbopelvic segment only, so seated twists (pelvis held by the chair)
are small, supine trunk rotations (pelvis free) are large.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from . import schema
from .checks import check_range
from .errors import ValidationError

__all__ = ["ExerciseSpec", "Routine", "POSTURE_OF_EXERCISE", "MAX_PEAK_DEG", "STANCES", "DESIGN_POSTURE"]

#: Body positions a block can be done in (``upright`` in design.md = sitting or standing).
STANCES = ("sitting", "standing", "supine", "all_fours")
#: Usual position of each exercise; the simulator inserts the transitions between them.
#: Generic movements default to sitting (the TrunkyXL protocol: seated on a stool).
POSTURE_OF_EXERCISE = {
    "chair_backbend": "sitting",
    "seated_twist": "sitting",
    "trunk_rotation": "supine",
    "cat_stretch": "all_fours",
    "forward_bend": "sitting",
    "back_bend": "sitting",
    "side_bend": "sitting",
    "twist": "sitting",
}

#: The positions in design.md's posture vocabulary.
DESIGN_POSTURE = {"sitting": "upright", "standing": "upright", "supine": "supine", "all_fours": "all_fours"}

#: Largest |primary angle| the simulator produces per exercise (creep and variation
#: included): Magee's extension 35°, rotation with the pelvis ~35°, lumbar flexion 60°,
#: lateral flexion ~30°; a standing forward bend (toe touch) tips the pelvis with the
#: lumbar spine, so a sensor over L4–S1 turns by 60–100° (hip flexion ~70° + lumbar).
MAX_PEAK_DEG = {
    "chair_backbend": 35.0,
    "seated_twist": 35.0,
    "trunk_rotation": 35.0,
    "cat_stretch": 60.0,
    "forward_bend": 110.0,
    "back_bend": 35.0,
    "side_bend": 30.0,
    "twist": 35.0,
}


@dataclass(frozen=True)
class ExerciseSpec:
    """One block of repetitions of one exercise.

    Attributes
    ----------
    exercise : str
        One of :data:`tracker.schema.EXERCISES`.
    sides : tuple of str or None
        Sides in order, e.g. ``("left", "right")``; ``(None,)`` for unsided exercises.
    reps_per_side : int
        Repetitions per side (all of one side, then the other, as design.md says).
    peak_deg : float
        Magnitude of the primary angle on reaching the plateau, degrees (varied per
        repetition, and capped so plateau + creep stays within :data:`MAX_PEAK_DEG`).
        The sign comes from the exercise and side (design.md): back-bend negative, cat
        positive, left positive, right negative.
    speed_out_deg_s, speed_back_deg_s : float
        Cruise angular speed going into the stretch and returning, °/s.
    hold_s : float
        Hold duration, s; 0 means no hold (the return starts at the peak).
    rest_s : float
        Still time in the start posture after each repetition, s.
    hold_creep_deg : float
        How much the stretch deepens during a hold (people pull a little further), °.
    coupling : float
        Typical secondary-angle motion as a fraction of the primary (coupled motion of
        the spine; the sign and exact size are drawn per repetition, each secondary
        capped at 0.8 of the primary). TrunkyXL at L4/5 (gyro RMS off-axis / primary,
        medians of 12 trials): twists 0.4 (flexion) and 0.6 (lateral bend), side bends
        0.4 and 0.5, forward–backward bends 0.15.
    stance : str or None
        Position the block is done in (:data:`STANCES`); None = the exercise's usual one
        (:data:`POSTURE_OF_EXERCISE`). E.g. a standing ``forward_bend``.
    peak_deg_range : (low, high) or None
        The person's own range: when given, the block's peak is drawn uniformly from it
        once per session (then varied per repetition), instead of ``peak_deg``.

    Any of :data:`tracker.schema.EXERCISES` can be done; what the analysis should call a
    repetition follows design.md from its posture and plane
    (:func:`tracker.schema.exercise_of`): a seated ``twist`` is a ``seated_twist``.
    """

    exercise: str
    sides: tuple[str | None, ...] = (None,)
    reps_per_side: int = 2
    peak_deg: float = 25.0
    speed_out_deg_s: float = 20.0
    speed_back_deg_s: float = 30.0
    hold_s: float = 10.0
    rest_s: float = 4.0
    hold_creep_deg: float = 1.0
    coupling: float = 0.1
    stance: str | None = None
    peak_deg_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.exercise not in schema.EXERCISES:
            raise ValidationError(f"unknown exercise {self.exercise!r}; expected one of {schema.EXERCISES}")
        sided = self.exercise in schema.SIDED_EXERCISES
        for side in self.sides:
            if sided and side not in schema.SIDES:
                raise ValidationError(f"{self.exercise} needs sides in {schema.SIDES}, got {side!r}")
            if not sided and side is not None:
                raise ValidationError(f"{self.exercise} has no side, got {side!r}")
        check_range(self, "reps_per_side", 1)
        check_range(self, "peak_deg", 1.0, MAX_PEAK_DEG[self.exercise])
        check_range(self, "speed_out_deg_s", 1.0, 200.0)
        check_range(self, "speed_back_deg_s", 1.0, 200.0)
        check_range(self, "hold_s", 0)
        check_range(self, "rest_s", 0)
        if self.stance is not None and self.stance not in STANCES:
            raise ValidationError(f"stance {self.stance!r} is not one of {STANCES}")
        if self.peak_deg_range is not None:
            lo, hi = self.peak_deg_range
            if not 1.0 <= lo <= hi <= MAX_PEAK_DEG[self.exercise]:
                raise ValidationError(f"peak_deg_range {self.peak_deg_range} of {self.exercise} is not "
                                      f"within [1, {MAX_PEAK_DEG[self.exercise]}] (low <= high)")

    @property
    def posture(self) -> str:
        """Position the block is done in (one of :data:`STANCES`)."""
        return self.stance or POSTURE_OF_EXERCISE[self.exercise]

    @property
    def design_posture(self) -> str:
        """The same in design.md's posture vocabulary (sitting and standing are ``upright``)."""
        return DESIGN_POSTURE[self.posture]

    def analysed_as(self, side: str | None) -> str:
        """What the analysis calls a repetition of this block (design.md): a seated
        ``twist`` is a ``seated_twist``, a seated ``back_bend`` a ``chair_backbend``."""
        return schema.exercise_of(self.design_posture, schema.PLANE_OF_EXERCISE[self.exercise],
                                  schema.peak_sign(self.exercise, side))


def _default_exercises() -> tuple[ExerciseSpec, ...]:
    return (
        # Seated extension over the chair back: extension 20–35° (Magee), into it at
        # ~22 °/s and back at ~37 °/s (Milosavljevic 2008); "holds a few seconds".
        ExerciseSpec("chair_backbend", (None,), 3, peak_deg=25.0, speed_out_deg_s=20.0,
                     speed_back_deg_s=30.0, hold_s=6.0, rest_s=4.0, hold_creep_deg=1.0),
        # Pelvis held by the chair: the L4–S1 sensor turns far less than the shoulders
        # (quick TrunkyXL twists at L4/5: 5–10°, median 8.4°, while C8 turns 40–45°; here
        # held and deepened by pulling on the chair; Routine.trunkyxl() has the quick ones).
        ExerciseSpec("seated_twist", ("left", "right"), 2, peak_deg=15.0, speed_out_deg_s=15.0,
                     speed_back_deg_s=20.0, hold_s=15.0, rest_s=4.0, hold_creep_deg=1.0),
        # Supine knee-across rotation moves the pelvis freely: up to ~35° (Magee).
        ExerciseSpec("trunk_rotation", ("left", "right"), 2, peak_deg=28.0, speed_out_deg_s=15.0,
                     speed_back_deg_s=20.0, hold_s=20.0, rest_s=5.0, hold_creep_deg=1.5),
        # Cat arch from neutral quadruped: part of the 40–60° lumbar flexion range.
        ExerciseSpec("cat_stretch", (None,), 3, peak_deg=25.0, speed_out_deg_s=20.0,
                     speed_back_deg_s=25.0, hold_s=5.0, rest_s=3.0, hold_creep_deg=0.5),
    )


@dataclass(frozen=True)
class Routine:
    """The whole session plan: calibration, exercise blocks, posture changes.

    The session starts seated upright on a chair, still for ``neutral_s`` (the
    calibration posture, which is also the reference of the seated exercises). The
    simulator inserts the posture changes the blocks need: stand up, walk
    ``walk_steps`` steps (turning), sit/kneel/lie down; supine to all fours by rolling
    over; and at the end it stands up and stays still for ``final_still_s``.

    Attributes
    ----------
    exercises : tuple of ExerciseSpec
        Blocks in order (default: design.md's routine, about 6 minutes).
    neutral_s : float
        Still calibration period at the start, s (default 5).
    settle_s : float
        Still time after each posture change before the next block, s (default 3).
    walk_steps : int
        Steps walked between the chair and the floor, ~1.8 steps/s (default 6).
    final_still_s : float
        Standing still at the end, s (default 3).
    variability : float
        Relative per-repetition spread (standard deviation) of peak, speeds, holds and
        rests (default 0.1); 0 makes every repetition exactly its spec.
    sitting_tilt_deg : float
        Pitch of the seated posture vs upright standing (default 0: sitting upright, so
        the calibration posture is the body frame of design.md).
    turn_deg : float or None
        Heading change of each walk, degrees (+ = to the left), done as a turn in the
        middle of the walk (e.g. 180: a U-turn); None = a turn of 90–180° either way
        spread over the walk.
    walk_between_blocks : bool
        Stand up, walk (with the turn) and come back between every two blocks, even when
        they are done in the same position.
    tempo_range : (low, high) or None
        The person's own pace: every speed of the routine is multiplied by a factor drawn
        once per session from this range (None: 1). TrunkyXL's people took 0.4–1.6 s
        into a movement.
    velocity_profile : str
        ``"trapezoid"`` (default: cruise at the spec's speed with 0.25 s smooth ramps) or
        ``"bell"`` (a raised-cosine bell, close to minimum jerk, peaking at the spec's
        speed: each excursion takes twice as long).
    rest_drift_deg : float
        Each repetition returns to a rest posture a little off the last one: per angle a
        fresh offset, σ in degrees (0: back to the block's start posture exactly; the
        block ends back on it).
    sway_scale : float
        Multiplies postural sway, hold sway and breathing (default 1).
    """

    exercises: tuple[ExerciseSpec, ...] = field(default_factory=_default_exercises)
    neutral_s: float = 5.0
    settle_s: float = 3.0
    walk_steps: int = 6
    final_still_s: float = 3.0
    variability: float = 0.1
    sitting_tilt_deg: float = 0.0
    turn_deg: float | None = None
    walk_between_blocks: bool = False
    tempo_range: tuple[float, float] | None = None
    velocity_profile: str = "trapezoid"
    rest_drift_deg: float = 0.0
    sway_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.exercises:
            raise ValidationError("a routine needs at least one exercise")
        check_range(self, "neutral_s", 1.0)  # the calibration's still start
        check_range(self, "variability", 0, 0.3)
        check_range(self, "rest_drift_deg", 0, 5.0)
        check_range(self, "sway_scale", 0, 10.0)
        if self.velocity_profile not in ("trapezoid", "bell"):
            raise ValidationError(f"velocity_profile {self.velocity_profile!r} is not 'trapezoid' or 'bell'")
        check_range(self, "walk_steps", 0)
        if self.turn_deg is not None:
            check_range(self, "turn_deg", -360.0, 360.0)
        if self.walk_between_blocks and self.walk_steps < 2:
            raise ValidationError("walk_between_blocks needs walk_steps >= 2")
        if self.tempo_range is not None and not 0.25 <= self.tempo_range[0] <= self.tempo_range[1] <= 4.0:
            raise ValidationError(f"tempo_range {self.tempo_range} is not within [0.25, 4] (low <= high)")

    @classmethod
    def default(cls) -> "Routine":
        """design.md's routine with literature-based defaults (about 6 minutes)."""
        return cls()

    @classmethod
    def short(cls) -> "Routine":
        """About 1.5 minutes: one repetition per exercise and side, short holds (demo)."""
        ex = tuple(
            dataclasses.replace(e, reps_per_side=1, hold_s=min(e.hold_s, 5.0), rest_s=2.0)
            for e in _default_exercises()
        )
        return cls(exercises=ex, settle_s=2.0, walk_steps=4, final_still_s=2.0)

    @classmethod
    def trunkyxl(cls) -> "Routine":
        """The TrunkyXL protocol (``shared/data/trunkyxl``), seated on a stool, no holds.

        Three forward–backward bends, three side bends each way, three rotations each
        way, alternating sides, each excursion out and back in about 1–2.5 s at the
        person's own pace. Peaks at the L4/5 sensor as the real files show: forward
        15–25°, extension 4–10° (the files, against each trial's still seated start: 7 of
        26 labelled extensions never take the sensor 1° back, 11 take it 3° or more, those
        a median 7.1°; smaller ones are no repetition and are left out;
        one person of four goes 11–23°, as :meth:`varied`'s back bends do; the study
        summary's "about 20°" is C8's view; a sacral sensor often tips forward while the
        trunk extends, which is no back bend and is not simulated), side bends 2–10°, twists 5–12° (the files: medians
        6.7° and 8.4°), each with the strong coupled motion the files show (a twist tilts
        the pelvis sideways too); each person's own range is drawn per session. About a
        second still at the start, as in the files.
        """
        fwd = ExerciseSpec("forward_bend", (None,), 1, peak_deg=20.0, peak_deg_range=(15.0, 25.0),
                           speed_out_deg_s=16.0, speed_back_deg_s=20.0, hold_s=0.0, rest_s=0.3,
                           hold_creep_deg=0.0, coupling=0.15)
        back = dataclasses.replace(fwd, exercise="back_bend", peak_deg_range=(4.0, 10.0))
        side = ExerciseSpec("side_bend", ("right", "left") * 3, 1, peak_deg=5.0, peak_deg_range=(2.0, 10.0),
                            speed_out_deg_s=8.0, speed_back_deg_s=9.0, hold_s=0.0, rest_s=0.3,
                            hold_creep_deg=0.0, coupling=0.45)
        twist = ExerciseSpec("twist", ("left", "right") * 3, 1, peak_deg=7.5, peak_deg_range=(5.0, 12.0),
                             speed_out_deg_s=10.0, speed_back_deg_s=12.0, hold_s=0.0, rest_s=0.3,
                             hold_creep_deg=0.0, coupling=0.5)
        return cls(exercises=(fwd, back) * 3 + (side, twist), neutral_s=1.0, settle_s=2.0,
                   walk_steps=0, final_still_s=2.0, variability=0.15, tempo_range=(0.8, 1.6))

    @classmethod
    def varied(cls) -> "Routine":
        """Every plane, quick and held, seated and standing, with a U-turn walk between blocks.

        Quick excursions without holds and holds of 1–60 s; small movements (side bends
        4–8°, seated twists 4–10°) next to larger ones; slow ones (8–16° taking 3–5 s each
        way) in every plane; standing forward and side bends (a toe touch of 60–100° at
        the sensor among them), the cow on all fours (a generic back bend), the four named
        stretches; a 180° turn while walking between
        blocks. About 10 minutes.
        """
        ex = (
            ExerciseSpec("twist", ("left", "right") * 2, 1, peak_deg=7.5, peak_deg_range=(4.0, 10.0),
                         speed_out_deg_s=9.0, speed_back_deg_s=10.0, hold_s=0.0, rest_s=0.8,
                         hold_creep_deg=0.0, coupling=0.5),
            ExerciseSpec("side_bend", ("left", "right"), 2, peak_deg=6.0, peak_deg_range=(4.0, 8.0),
                         speed_out_deg_s=6.0, speed_back_deg_s=8.0, hold_s=1.5, rest_s=1.0,
                         hold_creep_deg=0.2, coupling=0.45),
            ExerciseSpec("forward_bend", (None,), 2, peak_deg=30.0, peak_deg_range=(15.0, 40.0),
                         stance="standing", speed_out_deg_s=20.0, speed_back_deg_s=25.0,
                         hold_s=8.0, rest_s=2.0, hold_creep_deg=1.0),
            ExerciseSpec("chair_backbend", (None,), 2, peak_deg=20.0, peak_deg_range=(10.0, 25.0),
                         speed_out_deg_s=15.0, speed_back_deg_s=20.0, hold_s=30.0, rest_s=2.0),
            ExerciseSpec("seated_twist", ("left", "right"), 1, peak_deg=10.0, peak_deg_range=(6.0, 15.0),
                         speed_out_deg_s=10.0, speed_back_deg_s=12.0, hold_s=60.0, rest_s=3.0),
            ExerciseSpec("trunk_rotation", ("left", "right"), 1, peak_deg=25.0, speed_out_deg_s=15.0,
                         speed_back_deg_s=20.0, hold_s=15.0, rest_s=3.0, hold_creep_deg=1.5),
            ExerciseSpec("cat_stretch", (None,), 2, peak_deg=25.0, speed_out_deg_s=20.0,
                         speed_back_deg_s=25.0, hold_s=3.0, rest_s=2.0, hold_creep_deg=0.5),
            # the cow (hollow back on all fours): a generic back bend
            ExerciseSpec("back_bend", (None,), 2, stance="all_fours", peak_deg=15.0,
                         peak_deg_range=(8.0, 20.0), speed_out_deg_s=15.0, speed_back_deg_s=20.0,
                         hold_s=2.0, rest_s=1.5, hold_creep_deg=0.3),
            ExerciseSpec("side_bend", ("right", "left"), 1, stance="standing", peak_deg=12.0,
                         peak_deg_range=(6.0, 20.0), speed_out_deg_s=12.0, speed_back_deg_s=15.0,
                         hold_s=5.0, rest_s=2.0, hold_creep_deg=0.5, coupling=0.3),
            # the toe touch: standing, the pelvis tips with the trunk (60–100° at L4/5), held
            ExerciseSpec("forward_bend", (None,), 1, stance="standing", peak_deg=80.0,
                         peak_deg_range=(60.0, 95.0), speed_out_deg_s=25.0, speed_back_deg_s=30.0,
                         hold_s=10.0, rest_s=3.0, hold_creep_deg=2.0, coupling=0.05),
            # gentle and slow: 8–14° taking 3–5 s each way (2.5–4.5 °/s), held or not
            ExerciseSpec("twist", ("left", "right"), 1, peak_deg=10.0, peak_deg_range=(8.0, 14.0),
                         speed_out_deg_s=3.0, speed_back_deg_s=3.5, hold_s=5.0, rest_s=2.0,
                         hold_creep_deg=0.3, coupling=0.3),
            ExerciseSpec("side_bend", ("right", "left"), 1, peak_deg=10.0, peak_deg_range=(8.0, 14.0),
                         speed_out_deg_s=3.0, speed_back_deg_s=3.5, hold_s=0.0, rest_s=2.0,
                         hold_creep_deg=0.0, coupling=0.3),
            ExerciseSpec("forward_bend", (None,), 1, peak_deg=12.0, peak_deg_range=(10.0, 16.0),
                         speed_out_deg_s=3.0, speed_back_deg_s=3.5, hold_s=3.0, rest_s=2.0,
                         hold_creep_deg=0.3, coupling=0.15),
        )
        return cls(exercises=ex, settle_s=2.0, walk_steps=8, final_still_s=2.0, turn_deg=180.0,
                   walk_between_blocks=True, tempo_range=(0.8, 1.5))

    def scaled(self, hold_factor: float, rounds: int = 1) -> "Routine":
        """Holds and rests times ``hold_factor``; the block list repeated ``rounds`` times."""
        ex = tuple(
            dataclasses.replace(e, hold_s=e.hold_s * hold_factor, rest_s=e.rest_s * hold_factor)
            for e in self.exercises
        )
        return dataclasses.replace(self, exercises=ex * max(1, rounds))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
