"""The IMU's imperfections: mounting, noise, bias and drift, scale, quantisation, timing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import schema
from ..checks import check_choice, check_range
from ..errors import ValidationError

__all__ = ["SensorModel", "MOUNTINGS", "RANDOM_MOUNTINGS", "L45_LEVER_ARM_M", "draw_lever_arm_m"]

_G = schema.STANDARD_GRAVITY_M_S2

#: Ways to wear the sensor over L4–S1: sensor -> body rotation matrices (``v_body = R
#: v_sensor``; the columns are the sensor's x, y, z in body axes: x forward, y left, z up).
#: "Out of the back" is body -x; a screen "in" faces the body (+x).
MOUNTINGS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "aligned": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    # tag flat on the back, or a phone upright in a pouch, screen out: x right, y up, z out
    "flat_back": ((0, 0, -1), (-1, 0, 0), (0, 1, 0)),
    # TrunkyXL's QSense sensor: x down the spine, y right, z out of the back
    "flat_back_x_down": ((0, 0, -1), (0, -1, 0), (-1, 0, 0)),
    # phone upright, screen toward the body: x left, y up, z forward
    "phone_upright_screen_in": ((0, 0, 1), (1, 0, 0), (0, 1, 0)),
    # phone upside down in a waistband, screen out: x left, y down, z out of the back
    "phone_upside_down_screen_out": ((0, 0, -1), (1, 0, 0), (0, -1, 0)),
    # phone sideways (long axis across the back), screen out: x up, y left, z out
    "phone_sideways_screen_out": ((0, 0, -1), (0, 1, 0), (1, 0, 0)),
    # phone sideways, screen in: x down, y left, z forward
    "phone_sideways_screen_in": ((0, 0, 1), (0, 1, 0), (-1, 0, 0)),
}
#: A sensor over L4/5 sits about 11 cm behind and 11 cm above the centre the lower back
#: turns about (body frame x forward, z up), m: the median of the 12 TrunkyXL trials
#: (accelerometer minus gravity fitted to α×r + ω×(ω×r); per person 6–17 cm behind,
#: 7–18 cm above; tests/test_trunkyxl.py).
L45_LEVER_ARM_M = (-0.11, 0.0, 0.11)
#: TrunkyXL's per-person range of that lever, m: (behind, above).
LEVER_BEHIND_RANGE_M = (0.06, 0.17)
LEVER_ABOVE_RANGE_M = (0.07, 0.18)
#: Share of drawn sessions with the sensor near the centre of rotation (under 3 cm: a
#: sensor worn low, or a person who bends about it; guess), so no detector leans on it.
_LEVER_NEAR_ZERO_SHARE = 0.2


def draw_lever_arm_m(rng: np.random.Generator) -> tuple[float, float, float]:
    """A lever arm (body frame, m) for one session: from TrunkyXL's range, or near 0."""
    if rng.random() < _LEVER_NEAR_ZERO_SHARE:
        behind, side, above = rng.uniform(0.0, 0.03), rng.uniform(-0.01, 0.01), rng.uniform(0.0, 0.03)
    else:
        behind, side, above = (rng.uniform(*LEVER_BEHIND_RANGE_M), rng.uniform(-0.02, 0.02),
                               rng.uniform(*LEVER_ABOVE_RANGE_M))
    return (-float(behind), float(side), float(above))
#: Drawn per session: ``any_flat`` = flat on the back in any rotation about the back's
#: normal, face out or in; ``any`` = any orientation at all (uniform over rotations).
RANDOM_MOUNTINGS = ("any_flat", "any")


@dataclass(frozen=True)
class SensorModel:
    """A consumer MEMS IMU worn on a strap (defaults: BMI270/ICM-42688 class part).

    ================================  ==========================  =========================
    field                             default                     meaning
    ================================  ==========================  =========================
    ``nominal_mounting``              ``"aligned"``               sensor axes = body axes; a
                                                                  name of :data:`MOUNTINGS`
                                                                  (``"flat_back"``: x right,
                                                                  y up, z out of the back...)
                                                                  or ``"any_flat"``/``"any"``
                                                                  (drawn per session)
    ``mounting_max_deg``              10                          misalignment: random axis,
                                                                  angle uniform in [0, max]
    ``mounting_quat_wxyz``            None                        exact sensor→body rotation
                                                                  (overrides the two above)
    ``acc_noise_density``             1.8e-3 m/s²/√Hz             white noise, σ = d·√(rate/2)
    ``gyr_noise_density``             1.5e-4 rad/s/√Hz            (0.0086 °/s/√Hz; TrunkyXL's
                                                                  QSense: ~3.5e-4, 0.1 °/s at
                                                                  50 Hz, LSB 0.07 °/s)
    ``acc_bias_std_m_s2``             0.05                        constant bias per axis
    ``gyr_bias_std_rad_s``            0.005                       turn-on bias (0.29 °/s)
    ``gyr_bias_walk_rad_s_rts``       3e-5                        bias random walk, rad/s/√s
    ``gyr_bias_drift_rad_s_per_min``  3e-4                        warm-up drift (σ per axis)
    ``acc_scale_std``, ``gyr_scale_std``  0.005                   per-axis scale error
    ``acc_range_m_s2``                16 g                        saturation
    ``gyr_range_rad_s``               2000 °/s                    saturation
    ``acc_lsb_m_s2``                  16 g / 32768                quantisation step (0: off)
    ``gyr_lsb_rad_s``                 2000 °/s / 32768            quantisation step (0: off)
    ``mag_noise_uT`` / ``mag_lsb_uT``  0.3 / 0.15                 magnetometer
    ``mag_offset_std_uT``             1.0                         hard-iron offset per axis
    ``aa_cutoff_frac``                0.45                        anti-alias low-pass of the
                                                                  part, fraction of the rate
    ``jitter_frac``                   0.02                        σ of sampling-instant jitter,
                                                                  fraction of the period
    ``drop_prob``                     0.002                       probability a BLE packet is
                                                                  lost (bursts of ~1.5)
    ``samples_per_packet``            None                        None: rate/25, at least 1
    ``acc_cross_axis_std``,           0                           off-diagonal sensitivity
    ``gyr_cross_axis_std``                                        (axis non-orthogonality;
                                                                  datasheets: 1-2 % typ.)
    ``slip_deg``                      0                           the strap slips once: the
                                                                  mounting turns by this much
                                                                  (random axis) over 1 s at a
                                                                  random time (a guess: a few °)
    ``mag_disturbance_uT``            0                           slowly varying world-frame
                                                                  field (steel furniture,
                                                                  floors), σ per axis, µT
    ``lever_arm_m``                   (0, 0, 0)                   where the sensor sits from
                                                                  the centre the lower back
                                                                  turns about, body frame, m:
                                                                  adds α×r + ω×(ω×r) to the
                                                                  accelerometer. A real L4/5
                                                                  sensor: :data:`L45_LEVER_ARM_M`
                                                                  (the pop family draws one per
                                                                  session: draw_lever_arm_m)
    ================================  ==========================  =========================

    :meth:`ideal` gives a perfect sensor (still band-limited) at the centre of rotation, for
    physics tests.
    """

    nominal_mounting: str = "aligned"
    mounting_max_deg: float = 10.0
    mounting_quat_wxyz: tuple[float, float, float, float] | None = None
    acc_noise_density: float = 1.8e-3
    gyr_noise_density: float = 1.5e-4
    acc_bias_std_m_s2: float = 0.05
    gyr_bias_std_rad_s: float = 0.005
    gyr_bias_walk_rad_s_rts: float = 3e-5
    gyr_bias_drift_rad_s_per_min: float = 3e-4
    acc_scale_std: float = 0.005
    gyr_scale_std: float = 0.005
    acc_range_m_s2: float = 16 * _G
    gyr_range_rad_s: float = float(np.deg2rad(2000.0))
    acc_lsb_m_s2: float = 16 * _G / 32768
    gyr_lsb_rad_s: float = float(np.deg2rad(2000.0)) / 32768
    mag_noise_uT: float = 0.3
    mag_lsb_uT: float = 0.15
    mag_offset_std_uT: float = 1.0
    aa_cutoff_frac: float = 0.45
    jitter_frac: float = 0.02
    drop_prob: float = 0.002
    samples_per_packet: int | None = None
    lever_arm_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    acc_cross_axis_std: float = 0.0
    gyr_cross_axis_std: float = 0.0
    slip_deg: float = 0.0
    mag_disturbance_uT: float = 0.0

    def __post_init__(self) -> None:
        check_choice(self, "nominal_mounting", (*MOUNTINGS, *RANDOM_MOUNTINGS))
        check_range(self, "mounting_max_deg", 0, 45)
        check_range(self, "aa_cutoff_frac", 0.05, 0.5)
        check_range(self, "jitter_frac", 0, 0.1)
        check_range(self, "drop_prob", 0, 0.5, high_inclusive=False)
        check_range(self, "acc_cross_axis_std", 0, 0.1)
        check_range(self, "gyr_cross_axis_std", 0, 0.1)
        check_range(self, "slip_deg", 0, 30)
        check_range(self, "mag_disturbance_uT", 0, 100)
        if len(self.lever_arm_m) != 3 or not all(abs(x) <= 0.5 for x in self.lever_arm_m):
            raise ValidationError(f"SensorModel.lever_arm_m must be 3 distances within ±0.5 m, got {self.lever_arm_m!r}")
        if self.mounting_quat_wxyz is not None:
            q = np.asarray(self.mounting_quat_wxyz, dtype=float)
            if q.shape != (4,) or not np.isclose(np.linalg.norm(q), 1.0, atol=1e-6):
                raise ValidationError("mounting_quat_wxyz must be a unit quaternion (w, x, y, z)")

    @classmethod
    def ideal(cls, **changes: Any) -> "SensorModel":
        """No noise, bias, scale error, quantisation, jitter or drops; aligned mounting."""
        base = cls(
            mounting_max_deg=0.0, acc_noise_density=0.0, gyr_noise_density=0.0,
            acc_bias_std_m_s2=0.0, gyr_bias_std_rad_s=0.0, gyr_bias_walk_rad_s_rts=0.0,
            gyr_bias_drift_rad_s_per_min=0.0, acc_scale_std=0.0, gyr_scale_std=0.0,
            acc_range_m_s2=float("inf"), gyr_range_rad_s=float("inf"), acc_lsb_m_s2=0.0,
            gyr_lsb_rad_s=0.0, mag_noise_uT=0.0, mag_lsb_uT=0.0, mag_offset_std_uT=0.0,
            jitter_frac=0.0, drop_prob=0.0, lever_arm_m=(0.0, 0.0, 0.0),
        )
        return dataclasses.replace(base, **changes) if changes else base

    def packet_size(self, rate_hz: float) -> int:
        if self.samples_per_packet is not None:
            return max(1, int(self.samples_per_packet))
        return max(1, int(round(rate_hz / 25.0)))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}
