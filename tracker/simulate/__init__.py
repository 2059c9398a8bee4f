"""Seeded stretching sessions as a lower-back IMU records them, with ground truth.

>>> from tracker.simulate import simulate_session
>>> sim = simulate_session(seed=0, rate_hz=100.0)
>>> sim.recording, sim.truth.reps, sim.truth.cracks  # doctest: +SKIP

Physics: the gyroscope is the body's angular velocity in the sensor frame, the
accelerometer the specific force (+1 g up at rest), the magnetometer the earth field in
the sensor frame; see :mod:`._plan` for frames and the sign of each angle,
:class:`SensorModel` for the sensor's errors and :mod:`._events` for cracks and
confounders.
"""

from ..routine import ExerciseSpec, Routine
from ._events import HI_RATE_HZ
from ._plot import plot_simulation
from ._sensor import L45_LEVER_ARM_M, MOUNTINGS, RANDOM_MOUNTINGS, SensorModel
from ._session import (
    CRACK_REFRACTORY_S,
    EARTH_FIELD_ENU_UT,
    JOINTS,
    Simulation,
    simulate_session,
)
from ._truth import (
    ANGLE_TRUTH_COLUMNS,
    GroundTruth,
    TruthConfounder,
    TruthCrack,
    TruthGap,
    TruthMounting,
    TruthPosture,
    TruthRep,
    TruthTurn,
)

__all__ = [
    "simulate_session", "Simulation", "GroundTruth", "Routine", "ExerciseSpec", "SensorModel",
    "TruthRep", "TruthCrack", "TruthConfounder", "TruthPosture", "TruthMounting", "TruthGap",
    "TruthTurn", "MOUNTINGS", "RANDOM_MOUNTINGS", "L45_LEVER_ARM_M",
    "ANGLE_TRUTH_COLUMNS", "JOINTS", "CRACK_REFRACTORY_S", "EARTH_FIELD_ENU_UT", "HI_RATE_HZ",
    "plot_simulation",
]
