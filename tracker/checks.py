"""Validation of settings objects: one helper per rule, one message style.

Every message reads ``<Class>.<field> must be <rule>, got <value>``, so a wrong setting
says which object and which field, whatever part of the package it belongs to.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from .errors import ValidationError

__all__ = ["check_positive", "check_range", "check_choice", "check_positive_arg"]


def _fail(obj: object, name: str, rule: str) -> ValidationError:
    return ValidationError(f"{type(obj).__name__}.{name} must be {rule}, got {getattr(obj, name)!r}")


def check_positive(obj: object, *names: str) -> None:
    """Each named field is a finite number > 0."""
    for name in names:
        value = getattr(obj, name)
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and float(value) > 0):
            raise _fail(obj, name, "a finite number > 0")


def check_range(obj: object, name: str, low: float, high: float = math.inf, *,
                high_inclusive: bool = True) -> None:
    """The field is a number in ``[low, high]`` (``[low, high)`` without ``high_inclusive``)."""
    value = getattr(obj, name)
    ok = isinstance(value, numbers.Real) and low <= float(value) and (
        float(value) <= high if high_inclusive else float(value) < high)
    if not ok:
        rule = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}{']' if high_inclusive else ')'}"
        raise _fail(obj, name, rule)


def check_positive_arg(name: str, value: object) -> float:
    """A function argument that must be a finite number > 0 (e.g. ``sampling_rate_hz``);
    returns it as a float."""
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and float(value) > 0):
        raise ValidationError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_choice(obj: object, name: str, choices: Iterable[str]) -> None:
    """The field is one of ``choices``."""
    options = tuple(choices)
    if getattr(obj, name) not in options:
        raise _fail(obj, name, "one of " + ", ".join(repr(c) for c in options))
