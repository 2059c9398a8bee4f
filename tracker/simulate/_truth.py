"""Ground truth of a simulated session: what really happened, JSON-serialisable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..routine import DESIGN_POSTURE

__all__ = [
    "TruthRep", "TruthCrack", "TruthConfounder", "TruthPosture", "TruthMounting", "TruthGap",
    "GroundTruth", "ANGLE_TRUTH_COLUMNS", "TruthTurn", "DESIGN_POSTURE",
]



#: Columns of :attr:`GroundTruth.angles`: anatomical angles (design.md signs) and the
#: true sensor orientation (sensor -> east-north-up world, scalar first).
ANGLE_TRUTH_COLUMNS = (
    "t_s", "flexion_deg", "lateral_bend_deg", "axial_rotation_deg", "q_w", "q_x", "q_y", "q_z",
)


@dataclass(frozen=True, kw_only=True)
class TruthRep:
    """One repetition as it really happened.

    Times are seconds on the recording's time base. Each movement into and out of the
    stretch is a ramp at constant cruise speed with raised-cosine acceleration and
    deceleration phases of 0.25 s (``_plan.RAMP_SMOOTHING_S``).

    ``start_s``
        The primary angle starts to leave the start posture (motion onset).
    ``hold_start_s``
        The ramp into the stretch ends: the planned angular velocity reaches 0 and the
        angle is on the plateau (0.1 s earlier it is within 0.012 s × cruise speed of
        it, e.g. 0.25° at 20 °/s). A speed
        threshold on the true angle finds it slightly early: 2 °/s -> 0.04–0.08 s,
        5 °/s -> 0.08–0.12 s before.
    ``hold_end_s``
        The return ramp starts (mirror image: thresholds find it 0.04–0.13 s late).
    ``end_s``
        Back at the start posture (the return ramp ends).
    ``hold_s``
        ``hold_end_s - hold_start_s``. ``hold_*`` are None for a rep without hold.
    ``peak_s``, ``peak_deg``
        Time and signed value (design.md signs) of the largest |primary angle| between
        start and end, found at 1 kHz on the true angle. During the hold the angle sways
        (~0.4°, 0.1–0.6 Hz), trembles (~0.01°, 8–12 Hz) and creeps deeper by the
        exercise's ``hold_creep_deg``, so the peak usually lies late in the hold.
    ``exercise``
        What the analysis should call it (design.md, :func:`tracker.schema.exercise_of`
        of posture, plane and peak sign): a seated ``twist`` is a ``seated_twist``.
    ``movement``
        What the person was asked to do (the routine's exercise id).
    ``plane``, ``posture``
        design.md's plane of the primary angle and posture the rep starts from
        (``upright``, ``supine``, ``all_fours``).
    ``stance``, ``primary_angle``
        The simulator's position (sitting, standing, supine, all_fours) and the primary
        angle column.
    """

    exercise: str
    side: str | None
    start_s: float
    hold_start_s: float | None
    hold_end_s: float | None
    end_s: float
    hold_s: float | None
    peak_s: float
    peak_deg: float
    plane: str = "flexion"
    posture: str = "upright"
    stance: str = "sitting"
    movement: str = ""
    primary_angle: str = "flexion_deg"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TruthRep":
        """Reads this version's dicts and those written before plane/posture existed."""
        d = dict(d)
        if "plane" not in d:  # older truth files: posture held the simulator's position
            d["stance"] = d.get("posture", "sitting")
            d["posture"] = DESIGN_POSTURE.get(d["stance"], "other")
            d["plane"] = schema.PLANE_OF_EXERCISE[d["exercise"]]
            d.setdefault("movement", d["exercise"])
        return cls(**d)


@dataclass(frozen=True, kw_only=True)
class TruthTurn:
    """The body's heading changed by ``heading_change_deg`` (+ = to the left) while walking."""

    t_start_s: float
    t_end_s: float
    heading_change_deg: float


@dataclass(frozen=True, kw_only=True)
class TruthCrack:
    """A joint cavitation.

    ``t_s`` is the centre of the main pulse; ``amplitude_m_s2`` its broadband peak at the
    skin (what a kHz-rate sensor would see); ``observed_peak_m_s2`` the peak of the
    band-limited residue at the recording's own samples (noise-free, mounting applied);
    ``rep`` the index into ``reps`` when the crack falls inside a repetition.
    """

    t_s: float
    amplitude_m_s2: float
    rep: int | None
    joint: str = "L5-S1"
    observed_peak_m_s2: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TruthConfounder:
    """A spike that is not a crack: ``kind`` in tap, footstep, strap_slap, vibration.

    ``t_s`` is the impact time (tap, footstep = heel strike, slap) or the onset
    (vibration, which lasts ``duration_s``). ``amplitude_m_s2`` is the broadband peak
    (0.4 g for vibration). A tap's gyroscope swing is the sensor wobbling on its strap
    with zero net rotation: it is not part of the true orientation in ``angles``.
    """

    t_s: float
    kind: str
    duration_s: float
    amplitude_m_s2: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TruthPosture:
    """``posture`` in sitting, standing, walking, transition, supine, all_fours."""

    t_start_s: float
    t_end_s: float
    posture: str


@dataclass(frozen=True, kw_only=True)
class TruthMounting:
    """The true sensor -> body rotation (``v_body = R v_sensor``), scalar first."""

    quat_wxyz: tuple[float, float, float, float]
    misalignment_deg: float
    nominal: str
    postures: tuple[TruthPosture, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TruthGap:
    """Samples lost to dropped packets: none in ``(after_s, before_s)``."""

    after_s: float
    before_s: float
    n_samples: int


@dataclass(frozen=True, eq=False, kw_only=True)
class GroundTruth:
    """Everything the simulator knows about a session.

    Attributes
    ----------
    reps : list of TruthRep
    cracks : list of TruthCrack
    confounders : list of TruthConfounder
    angles : DataFrame
        :data:`ANGLE_TRUTH_COLUMNS` on the recording's time base (one row per sample).
        Angles are the body's orientation relative to the reference posture, intrinsic
        y–x–z (design.md): while seated the reference is the calibration posture (seated
        upright, the start of the session); lying and on all fours it is the posture the
        repetitions start from; during posture changes and walking the reference moves
        with the body, so the angles show only the lumbar motion on top of it. The
        reference therefore switches at posture boundaries (see ``mounting.postures``).
    mounting : TruthMounting
        Sensor -> body rotation and the posture segments.
    gaps : list of TruthGap
        Dropped packets.
    turns : list of TruthTurn
        Heading changes while walking (e.g. a 180° U-turn between stretches).
    rate_hz : float
    seed : int or None
    duration_s : float
    params : dict
        Routine, sensor model and world constants used (gravity, magnetic field ENU µT).
    """

    reps: list[TruthRep]
    cracks: list[TruthCrack]
    confounders: list[TruthConfounder]
    angles: pd.DataFrame
    mounting: TruthMounting
    gaps: list[TruthGap] = field(default_factory=list)
    turns: list[TruthTurn] = field(default_factory=list)
    rate_hz: float = 100.0
    seed: int | None = None
    duration_s: float = 0.0
    params: dict = field(default_factory=dict)

    @property
    def postures(self) -> tuple[TruthPosture, ...]:
        return self.mounting.postures

    def reps_frame(self) -> pd.DataFrame:
        """Reps in the design.md export columns (plus peak_s, posture)."""
        return pd.DataFrame([asdict(r) for r in self.reps])

    def to_json(self, angles: bool = True) -> dict[str, Any]:
        """A dict of plain JSON types; ``angles=False`` leaves out the time series."""
        out: dict[str, Any] = {
            "rate_hz": self.rate_hz, "seed": self.seed, "duration_s": self.duration_s,
            "reps": [asdict(r) for r in self.reps],
            "cracks": [asdict(c) for c in self.cracks],
            "confounders": [asdict(c) for c in self.confounders],
            "mounting": {
                "quat_wxyz": list(self.mounting.quat_wxyz),
                "misalignment_deg": self.mounting.misalignment_deg,
                "nominal": self.mounting.nominal,
                "postures": [asdict(p) for p in self.mounting.postures],
            },
            "gaps": [asdict(g) for g in self.gaps],
            "turns": [asdict(t) for t in self.turns],
            "params": self.params,
        }
        if angles:
            out["angles"] = {c: self.angles[c].to_numpy().tolist() for c in self.angles.columns}
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "GroundTruth":
        m = d["mounting"]
        angles = pd.DataFrame(d.get("angles") or {c: [] for c in ANGLE_TRUTH_COLUMNS})
        angles = angles.astype(np.float64)
        return cls(
            reps=[TruthRep.from_json(r) for r in d["reps"]],
            cracks=[TruthCrack(**c) for c in d["cracks"]],
            confounders=[TruthConfounder(**c) for c in d["confounders"]],
            angles=angles,
            mounting=TruthMounting(
                quat_wxyz=tuple(m["quat_wxyz"]), misalignment_deg=m["misalignment_deg"],
                nominal=m["nominal"], postures=tuple(TruthPosture(**p) for p in m["postures"]),
            ),
            gaps=[TruthGap(**g) for g in d.get("gaps", [])],
            turns=[TruthTurn(**t) for t in d.get("turns", [])],
            rate_hz=d["rate_hz"], seed=d.get("seed"), duration_s=d.get("duration_s", 0.0),
            params=d.get("params", {}),
        )
