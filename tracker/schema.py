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

ANGLE_COLUMNS = ("t_s", "flexion_deg", "lateral_bend_deg", "axial_rotation_deg")
QUAT_COLUMNS = ("q_w", "q_x", "q_y", "q_z")
REP_COLUMNS = (
    "exercise", "side", "start_s", "hold_start_s", "hold_end_s", "end_s", "hold_s", "peak_deg",
)
CRACK_COLUMNS = ("t_s", "peak_m_s2", "score", "rep")

EXERCISES = ("chair_backbend", "seated_twist", "trunk_rotation", "cat_stretch")
SIDES = ("left", "right")
#: Primary anatomical angle per exercise (design.md table).
PRIMARY_ANGLE = {
    "chair_backbend": "flexion_deg",
    "seated_twist": "axial_rotation_deg",
    "trunk_rotation": "axial_rotation_deg",
    "cat_stretch": "flexion_deg",
}
#: Exercises whose repetition has a side.
SIDED_EXERCISES = ("seated_twist", "trunk_rotation")

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
