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
from .errors import ValidationError

__all__ = ["ExerciseSpec", "Routine", "POSTURE_OF_EXERCISE", "MAX_PEAK_DEG"]

#: Posture each exercise is done in; the simulator inserts the transitions between them.
POSTURE_OF_EXERCISE = {
    "chair_backbend": "sitting",
    "seated_twist": "sitting",
    "trunk_rotation": "supine",
    "cat_stretch": "all_fours",
}

#: Largest |primary angle| the simulator produces per exercise (creep and variation
#: included): Magee's extension 35°, rotation with the pelvis ~35°, flexion 60°.
MAX_PEAK_DEG = {
    "chair_backbend": 35.0,
    "seated_twist": 35.0,
    "trunk_rotation": 35.0,
    "cat_stretch": 60.0,
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
        the spine; the sign and exact size are drawn per repetition).
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

    def __post_init__(self) -> None:
        if self.exercise not in schema.EXERCISES:
            raise ValidationError(f"unknown exercise {self.exercise!r}; expected one of {schema.EXERCISES}")
        sided = self.exercise in schema.SIDED_EXERCISES
        for side in self.sides:
            if sided and side not in schema.SIDES:
                raise ValidationError(f"{self.exercise} needs sides in {schema.SIDES}, got {side!r}")
            if not sided and side is not None:
                raise ValidationError(f"{self.exercise} has no side, got {side!r}")
        if self.reps_per_side < 1:
            raise ValidationError(f"reps_per_side must be >= 1, got {self.reps_per_side}")
        if not 1.0 <= self.peak_deg <= MAX_PEAK_DEG[self.exercise]:
            raise ValidationError(
                f"peak_deg {self.peak_deg} of {self.exercise} is not in [1, {MAX_PEAK_DEG[self.exercise]}]"
            )
        for name in ("speed_out_deg_s", "speed_back_deg_s"):
            if not 1.0 <= getattr(self, name) <= 200.0:
                raise ValidationError(f"{name} {getattr(self, name)} is not in [1, 200] °/s")
        if self.hold_s < 0 or self.rest_s < 0:
            raise ValidationError("hold_s and rest_s must be >= 0")

    @property
    def posture(self) -> str:
        return POSTURE_OF_EXERCISE[self.exercise]


def _default_exercises() -> tuple[ExerciseSpec, ...]:
    return (
        # Seated extension over the chair back: extension 20–35° (Magee), into it at
        # ~22 °/s and back at ~37 °/s (Milosavljevic 2008); "holds a few seconds".
        ExerciseSpec("chair_backbend", (None,), 3, peak_deg=25.0, speed_out_deg_s=20.0,
                     speed_back_deg_s=30.0, hold_s=6.0, rest_s=4.0, hold_creep_deg=1.0),
        # Pelvis held by the chair: the L4–S1 sensor turns far less than the shoulders.
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
    """

    exercises: tuple[ExerciseSpec, ...] = field(default_factory=_default_exercises)
    neutral_s: float = 5.0
    settle_s: float = 3.0
    walk_steps: int = 6
    final_still_s: float = 3.0
    variability: float = 0.1
    sitting_tilt_deg: float = 0.0

    def __post_init__(self) -> None:
        if not self.exercises:
            raise ValidationError("a routine needs at least one exercise")
        if self.neutral_s < 1.0:
            raise ValidationError(f"neutral_s {self.neutral_s} must be >= 1 s (calibration)")
        if not 0 <= self.variability <= 0.3:
            raise ValidationError(f"variability {self.variability} is not in [0, 0.3]")
        if self.walk_steps < 0:
            raise ValidationError("walk_steps must be >= 0")

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

    def scaled(self, hold_factor: float, rounds: int = 1) -> "Routine":
        """Holds and rests times ``hold_factor``; the block list repeated ``rounds`` times."""
        ex = tuple(
            dataclasses.replace(e, hold_s=e.hold_s * hold_factor, rest_s=e.rest_s * hold_factor)
            for e in self.exercises
        )
        return dataclasses.replace(self, exercises=ex * max(1, rounds))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
