"""Column names, units and physical constants: the one place that names them.

Internal names carry their unit (``t_s``, ``acc_x_m_s2``); the CSV headers of
``../shared/design.md`` are the same names, so the files people open say their units.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_GRAVITY_M_S2 = 9.80665

#: Event kind of a tracker-imu impulse window kept with a session (``firmware-notes/
#: gatt-profile.md`` §7): ``t_s`` is its first sample on the session time base, data
#: ``{"rate_hz": float, "acc_m_s2": [[x, y, z], ...], "trigger_index": int}``.
IMPULSE_EVENT = "impulse"
"""Standard gravity; every g -> m/s² conversion uses it."""

#: Validation limits: beyond these a value is not a human-worn IMU reading.
MAX_ABS_ACC_M_S2 = 50 * STANDARD_GRAVITY_M_S2
MAX_ABS_GYR_RAD_S = 40.0
MAX_ABS_MAG_UT = 5000.0

TIME = "t_s"
ACC = ("acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2")
GYR = ("gyr_x_rad_s", "gyr_y_rad_s", "gyr_z_rad_s")
MAG = ("mag_x_uT", "mag_y_uT", "mag_z_uT")

RAW_COLUMNS = (TIME, *ACC, *GYR)
RAW_COLUMNS_WITH_MAG = (*RAW_COLUMNS, *MAG)
#: Optional last column of a raw CSV: the session's UTC start (ISO-8601, ``Z``) in the
#: first data row only, empty below. A plain ``pandas.read_csv`` reads such a file (short
#: rows are filled with NaN) and files without the column stay valid (design.md).
STARTED_AT = "started_at_utc"

ANGLE_COLUMNS = ("t_s", "flexion_deg", "lateral_bend_deg", "axial_rotation_deg")
QUAT_COLUMNS = ("q_w", "q_x", "q_y", "q_z")
#: Angles export: the reference posture the angles of each sample are measured against
#: (a change of it is where the angles may jump without the body moving).
REFERENCE_COLUMN = "reference"
REP_COLUMNS = (
    "exercise", "side", "plane", "posture", "start_s", "hold_start_s", "hold_end_s", "end_s", "hold_s", "peak_deg",
)
CRACK_COLUMNS = ("t_s", "peak_m_s2", "score", "rep")

PLANES = ("flexion", "lateral_bend", "axial_rotation")
"""Plane of a repetition = its primary anatomical angle (index 0, 1, 2 of the angles)."""
POSTURES = ("upright", "supine", "all_fours", "other")
"""Posture a repetition starts from (design.md)."""
ANGLE_OF_PLANE = {"flexion": "flexion_deg", "lateral_bend": "lateral_bend_deg",
                  "axial_rotation": "axial_rotation_deg"}


@dataclass(frozen=True, kw_only=True)
class Exercise:
    """One exercise the analysis can report (design.md): the ONE place that names them.

    ``posture`` is None for the generic movements (any posture). ``sign`` is the sign
    of the primary angle at the peak (+1, -1; 0 for either: sided movements).
    """

    id: str
    label: str
    short: str
    plane: str
    posture: str | None
    sign: int
    named: bool
    sided: bool

    @property
    def angle(self) -> str:
        """Column of the primary angle."""
        return ANGLE_OF_PLANE[self.plane]


#: Named stretches first (design.md table), then the generic movements.
EXERCISE_INFO: dict[str, Exercise] = {e.id: e for e in (
    Exercise(id="chair_backbend", label="chair back-bend", short="back-bend", plane="flexion",
             posture="upright", sign=-1, named=True, sided=False),
    Exercise(id="seated_twist", label="seated twist", short="twist", plane="axial_rotation",
             posture="upright", sign=0, named=True, sided=True),
    Exercise(id="trunk_rotation", label="lying trunk rotation", short="lying rot.",
             plane="axial_rotation", posture="supine", sign=0, named=True, sided=True),
    Exercise(id="cat_stretch", label="cat stretch", short="cat", plane="flexion",
             posture="all_fours", sign=+1, named=True, sided=False),
    Exercise(id="forward_bend", label="forward bend", short="fwd bend", plane="flexion",
             posture=None, sign=+1, named=False, sided=False),
    Exercise(id="back_bend", label="back bend", short="back bend", plane="flexion",
             posture=None, sign=-1, named=False, sided=False),
    Exercise(id="side_bend", label="side bend", short="side bend", plane="lateral_bend",
             posture=None, sign=0, named=False, sided=True),
    Exercise(id="twist", label="twist", short="twist*", plane="axial_rotation",
             posture=None, sign=0, named=False, sided=True),
)}
EXERCISES = tuple(EXERCISE_INFO)
NAMED_EXERCISES = tuple(k for k, e in EXERCISE_INFO.items() if e.named)
GENERIC_EXERCISES = tuple(k for k, e in EXERCISE_INFO.items() if not e.named)
SIDES = ("left", "right")
#: Plane of each exercise's primary angle.
PLANE_OF_EXERCISE = {k: e.plane for k, e in EXERCISE_INFO.items()}
#: Primary anatomical angle column per exercise.
PRIMARY_ANGLE = {k: e.angle for k, e in EXERCISE_INFO.items()}
#: Exercises whose repetition has a side: rotations (where the lower back turns) and side
#: bends (where the trunk bends).
SIDED_EXERCISES = tuple(k for k, e in EXERCISE_INFO.items() if e.sided)


#: Sign of the primary angle going into the movements that have no side (design.md:
#: forward bend and cat arch +, extension -); sided ones follow the side.
_PEAK_SIGN = {"chair_backbend": -1, "cat_stretch": +1, "forward_bend": +1, "back_bend": -1}


def peak_sign(exercise: str, side: str | None) -> int:
    """Sign of ``peak_deg`` of a repetition of ``exercise`` to ``side`` (design.md signs):
    a left twist is positive, a right one negative; a side bend to the right positive."""
    if exercise in _PEAK_SIGN:
        return _PEAK_SIGN[exercise]
    if PLANE_OF_EXERCISE[exercise] == "axial_rotation":
        return 1 if side == "left" else -1
    return 1 if side == "right" else -1


def exercise_of(posture: str, plane: str, peak_deg: float) -> str:
    """design.md's exercise id of a repetition: the named stretch when posture, plane and
    direction match one, otherwise ``forward_bend``, ``back_bend``, ``side_bend`` or
    ``twist``."""
    sign = 1 if peak_deg >= 0 else -1
    for e in EXERCISE_INFO.values():
        if e.named and e.posture == posture and e.plane == plane and e.sign in (0, sign):
            return e.id
    if plane == "flexion":
        return "forward_bend" if sign > 0 else "back_bend"
    return "side_bend" if plane == "lateral_bend" else "twist"


def side_of(plane: str, peak_deg: float) -> str | None:
    """Where a rotation turns (+ left) or a side bend bends (+ right); None for bends."""
    if plane == "axial_rotation":
        return "left" if peak_deg >= 0 else "right"
    if plane == "lateral_bend":
        return "right" if peak_deg >= 0 else "left"
    return None


def exercise_label(exercise: str | None, side: str | None = None, *, short: bool = False) -> str:
    """Human label: ``"seated twist"``, ``"side bend (left)"``; the id for unknown ones."""
    if exercise is None:
        return "—"
    info = EXERCISE_INFO.get(exercise)
    name = exercise.replace("_", " ") if info is None else (info.short if short else info.label)
    return f"{name} ({side})" if side else name


#: Float format of every CSV we write: 9 significant digits round-trips float32
#: exactly and keeps float64 sensor data to <1e-9 relative error.
CSV_FLOAT_FORMAT = "%.9g"
#: Time is written with microsecond resolution (device clocks tick in µs).
CSV_TIME_FORMAT = "%.6f"

SESSION_STATUSES = ("recording", "complete", "interrupted")

SAFETY_GUIDANCE = (
    "Stretch gently and slowly, and stop if it hurts. Constant, severe or injury-like pain, "
    "or a change in how far you can move, is a reason to see a doctor. "
    "A 'possible crack' is a short acceleration spike, not a diagnosis."
)

#: Said when a phone streams as the sensor: a notification's buzz of a quarter of a second
#: and a pouch that slaps are what crack detection takes for a pop most often (README,
#: "Stated limits").
PHONE_WEARING = ("Wearing the phone as the sensor: silence it (do not disturb) and wear it snug, "
                 "or a notification's buzz or a loose pouch can look like a possible crack.")

#: What a session without a gyroscope gives (Polar H10, micro:bit, an accelerometer-only
#: phone export; its gyroscope column is all zeros): said on import, by analyze, show and
#: the report. Gravity does not show a turn about the vertical.
NO_GYRO_NOTE = (
    "no gyroscope (accelerometer only): angles from gravity alone: flexion and lateral bend; "
    "axial rotation unavailable while upright (no seated twists), trunk rotation lying down only; "
    "possible cracks judged without a gyroscope"
)
