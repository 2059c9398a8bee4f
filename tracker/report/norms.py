"""Cited reference values shown in progress figures (see ``shared/norms.md``).

A progress figure shows the person's own numbers against a *typical range* only where a
published range measures something comparable. Each band carries its citation and a
plain sentence on how far the comparison goes: the published lumbar ranges come from
two-point systems (T12–S1) in standing, while tracker's single sensor over L4–S1
measures the lumbopelvic segment against gravity, hips included.

Values
------
Troke M, Moore AP, Maillardet FJ, Cheek E. A normative database of lumbar spine ranges
of motion. Manual Therapy 10(3):198–206, 2005 (n = 405, aged 16–90, CA6000): median
flexion falls from about 73° (youngest group) to about 40° (oldest group), extension
from about 29° to 6°, lateral flexion from about 28° to 14° to each side; axial
rotation stays at about 7° each way at all ages.

Magee DJ, Orthopedic Physical Assessment, 6th ed., 2014 (textbook ranges): flexion
40–60°, extension 20–35°, lateral flexion 20–30°, rotation 10–35° (the larger values
include pelvis and hips).

Which exercise gets which band
------------------------------
``chair_backbend``  extension — Troke's median range across adult ages (6–29°).
``seated_twist``    axial rotation — Magee's 10–35° band (pelvis and hips included), with
                    Troke's lumbar-only median of 7° as a reference line.
``trunk_rotation``  none: no published range for supine pelvic rotation over a bent knee.
``cat_stretch``     none: published flexion ranges are standing forward bends (hips
                    and gravity help); an all-fours arch uses only part of that range,
                    so the band would read as "below normal" when nothing is wrong.

Age
---
Troke's age-related values are centile graphs that are not reproduced here; only the
youngest- and oldest-group medians are. With an age, :func:`reference_for` adds an
*approximate* age-typical line, interpolated linearly between those medians (age 20 →
youngest, age 80 → oldest), and says so in its label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import schema
from ..errors import ValidationError

__all__ = ["NormBand", "HoldBand", "Reference", "reference_for", "CITATIONS", "LUMBOPELVIC_NOTE",
           "HOLD_GUIDANCE"]

CITATIONS = {
    "troke2005": ("Troke M, Moore AP, Maillardet FJ, Cheek E. A normative database of lumbar "
                  "spine ranges of motion. Manual Therapy 10(3):198–206, 2005."),
    "magee2014": "Magee DJ. Orthopedic Physical Assessment, 6th ed. Elsevier, 2014.",
    "acsm": ("American College of Sports Medicine. ACSM's Guidelines for Exercise Testing and "
             "Prescription (flexibility: hold 10–30 s, 30–60 s for older adults)."),
}

LUMBOPELVIC_NOTE = (
    "One sensor over L4–S1 measures the lumbopelvic segment against gravity (hips and pelvis "
    "included), not lumbar motion alone; published lumbar ranges come from two-sensor systems "
    "(T12 and S1) in standing, so compare with care."
)

#: Young → old anchor ages for the approximate age-typical line.
_YOUNG_AGE, _OLD_AGE = 20.0, 80.0


@dataclass(frozen=True, kw_only=True)
class NormBand:
    """A typical range of a magnitude in degrees (always positive: how far, not which way)."""

    low_deg: float
    high_deg: float
    label: str
    citation: str


@dataclass(frozen=True, kw_only=True)
class HoldBand:
    """A recommended range of hold durations in seconds."""

    low_s: float
    high_s: float
    label: str
    citation: str


@dataclass(frozen=True)
class Reference:
    """What a progress panel can show for one exercise.

    Attributes
    ----------
    band : NormBand or None
        Shaded typical range; None when no comparable published range exists.
    line_deg : float or None
        A single reference value (a median) drawn as a line.
    line_label : str
    note : str
        Why there is (or is not) a band; shown in the caption.
    sources : tuple of str
        Keys of :data:`CITATIONS` behind the band and line.
    """

    band: NormBand | None
    line_deg: float | None
    line_label: str
    note: str
    sources: tuple[str, ...] = ()


def _age_typical(young_deg: float, old_deg: float, age_years: float) -> float:
    frac = float(np.clip((age_years - _YOUNG_AGE) / (_OLD_AGE - _YOUNG_AGE), 0.0, 1.0))
    return young_deg + frac * (old_deg - young_deg)


def reference_for(exercise: str, age_years: float | None = None) -> Reference:
    """The reference band and line for one exercise's peak angle (magnitude, degrees).

    Parameters
    ----------
    exercise : str
        One of :data:`tracker.schema.EXERCISES`.
    age_years : float, optional
        The person's age; adds an approximate age-typical line where the source varies
        with age. Without it the overall adult range is shown.

    Raises
    ------
    ValidationError
        For an unknown exercise or an age outside 10–110.
    """
    if exercise not in schema.EXERCISES:
        raise ValidationError(f"unknown exercise {exercise!r}; expected one of {schema.EXERCISES}")
    if age_years is not None and not (10 <= age_years <= 110):
        raise ValidationError(f"age {age_years!r} is not between 10 and 110 years")
    if not schema.EXERCISE_INFO[exercise].named:
        return Reference(None, None, "", "No reference band: ranges are shown for the named "
                         "stretches only (a generic bend or twist has no defined posture).")
    if exercise == "chair_backbend":
        band = NormBand(low_deg=6.0, high_deg=29.0, citation="troke2005",
                        label="typical adult lumbar extension 6–29° (Troke 2005, oldest–youngest medians)")
        line, line_label = None, ""
        if age_years is not None:
            line = _age_typical(29.0, 6.0, age_years)
            line_label = f"≈ typical at age {age_years:g}: {line:.0f}° (approx., interpolated)"
        return Reference(band, line, line_label,
                         "Extension band: medians of healthy adults, standing (Troke 2005).",
                         ("troke2005",))
    if exercise == "seated_twist":
        band = NormBand(low_deg=10.0, high_deg=35.0, citation="magee2014",
                        label="textbook rotation 10–35°, pelvis and hips included (Magee 2014)")
        return Reference(band, 7.0, "lumbar-only median 7° (Troke 2005, all ages)",
                         "Rotation: textbook band includes pelvis and hips; Troke's lumbar-only "
                         "median is 7° each way at every age.", ("magee2014", "troke2005"))
    if exercise == "trunk_rotation":
        return Reference(None, None, "",
                         "No reference band: no published range for supine pelvic rotation.")
    return Reference(None, None, "",
                     "No reference band: published flexion ranges are for standing forward "
                     "bends, not the all-fours arch.")


HOLD_GUIDANCE = HoldBand(low_s=10.0, high_s=30.0, label="recommended hold 10–30 s (ACSM)",
                         citation="acsm")
"""ACSM's recommended static-stretch hold (30–60 s for older adults)."""
