"""Column names, units and physical constants: the one place that names them.

Internal names carry their unit (``t_s``, ``acc_x_m_s2``); the CSV headers of
``../shared/design.md`` are the same names, so the files people open say their units.
"""

from __future__ import annotations

STANDARD_GRAVITY_M_S2 = 9.80665
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
    "exercise", "side", "start_s", "hold_start_s", "hold_end_s", "end_s", "hold_s", "peak_deg",
)
CRACK_COLUMNS = ("t_s", "peak_m_s2", "score", "rep")

#: The four named stretches of design.md, and the generic movements every other bend or
#: twist is called by (design.md: a repetition whose posture and plane match no stretch).
NAMED_EXERCISES = ("chair_backbend", "seated_twist", "trunk_rotation", "cat_stretch")
GENERIC_EXERCISES = ("forward_bend", "back_bend", "side_bend", "twist")
EXERCISES = (*NAMED_EXERCISES, *GENERIC_EXERCISES)
SIDES = ("left", "right")
#: Plane of a repetition (its primary angle) and the posture it starts from (design.md).
PLANES = ("flexion", "lateral_bend", "axial_rotation")
POSTURES = ("upright", "supine", "all_fours", "other")
#: Plane of each exercise's primary angle (design.md table and generic ids).
PLANE_OF_EXERCISE = {
    "chair_backbend": "flexion",
    "seated_twist": "axial_rotation",
    "trunk_rotation": "axial_rotation",
    "cat_stretch": "flexion",
    "forward_bend": "flexion",
    "back_bend": "flexion",
    "side_bend": "lateral_bend",
    "twist": "axial_rotation",
}
#: Primary anatomical angle column per exercise.
PRIMARY_ANGLE = {ex: f"{plane}_deg" for ex, plane in PLANE_OF_EXERCISE.items()}
#: Exercises whose repetition has a side: rotations (where the lower back turns) and side
#: bends (where the trunk bends).
SIDED_EXERCISES = ("seated_twist", "trunk_rotation", "side_bend", "twist")
#: The named stretch of a (posture, plane, direction of the primary angle) (design.md);
#: direction 0 = either way (rotations).
_NAMED_STRETCH = {
    ("upright", "flexion", -1): "chair_backbend",
    ("upright", "axial_rotation", 0): "seated_twist",
    ("supine", "axial_rotation", 0): "trunk_rotation",
    ("all_fours", "flexion", +1): "cat_stretch",
}


def exercise_of(posture: str, plane: str, peak_deg: float) -> str:
    """design.md's exercise id of a repetition: the named stretch when posture and plane
    match one, otherwise ``forward_bend``, ``back_bend``, ``side_bend`` or ``twist``."""
    sign = 1 if peak_deg >= 0 else -1
    named = _NAMED_STRETCH.get((posture, plane, 0)) or _NAMED_STRETCH.get((posture, plane, sign))
    if named:
        return named
    if plane == "flexion":
        return "forward_bend" if sign > 0 else "back_bend"
    return "side_bend" if plane == "lateral_bend" else "twist"

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
