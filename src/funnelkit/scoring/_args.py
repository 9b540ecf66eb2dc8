"""
Argument checks shared by the scoring functions: durations, times, the
caller's link from an activity to its lead, the engine, numbers.

Every check names the parameter (and the item) in its path and shows values
through :func:`~funnelkit._checks.show`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from .. import _checks as c
from .._time import canonical
from ..entities import Activity
from ..errors import Problem, ValidationError

Engine = Literal["auto", "python", "numpy"]
ENGINES: tuple[str, ...] = ("auto", "python", "numpy")
LeadOf = Callable[[Activity], "str | None"]

#: The longest window or horizon a model takes (ten years).
MAX_SPAN = dt.timedelta(days=3650)
#: The most bins a reliability table has.
MAX_BINS = 1000


def span_problem(value: object, path: str) -> Problem | None:
    """A positive timedelta of at most ten years, else the problem at *path*."""
    if not isinstance(value, dt.timedelta):
        return c.wrong_type(value, "a positive timedelta").prefixed(path)
    if value <= dt.timedelta(0) or value > MAX_SPAN:
        msg = f"{c.show(value)} is not a positive timedelta of at most {MAX_SPAN.days:,} days"
        return Problem(path=path, code="range", message=msg)
    return None


def now_problem(value: object, path: str = "now") -> Problem | None:
    """An aware datetime, else the problem at *path*."""
    problem = c.aware_datetime(value)
    return None if problem is None else problem.prefixed(path)


def real(value: object) -> bool:
    """A finite real number (not a bool): int, float, Decimal or Fraction."""
    value = c.plain(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return True


def positive_number(value: object, path: str) -> float:
    """A finite number > 0 as a float, else a ValidationError at *path*."""
    value = c.plain(value)
    if not real(value):
        raise c.at(path, c.wrong_type(value, "a finite number > 0"))
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        number = math.inf
    if not 0 < number < 1e12:
        msg = f"{c.show(value)} is not a number > 0 and below 1e12"
        raise ValidationError.single(path, msg, code="range")
    return number


def engine_of(value: object) -> str:
    """One of :data:`ENGINES`, else a ValidationError at ``engine``."""
    if not isinstance(value, str) or value not in ENGINES:
        msg = f"{c.show(value)} is not an engine; allowed: 'auto', 'python', 'numpy'"
        raise ValidationError.single("engine", msg, code="choice")
    return value


def lead_link(value: object) -> LeadOf | None:
    """The caller's link from an activity to its lead's id (None: the activity's customer_id)."""
    if value is None:
        return None
    return c.function_of_one(value, "an Activity (the id of its lead, or None)", "lead_of")


def lead_id_of(link: LeadOf | None, activity: Activity, i: int) -> str | None:
    """The lead of *activity* (the *i*-th) by *link*, checked to be a str or None."""
    if link is None:
        return activity.customer_id
    found: Any = link(activity)
    if found is None or isinstance(found, str):
        return found
    msg = f"{c.show(found)} is {c.a_type(found)}; lead_of must return a lead id or None"
    raise ValidationError.single(f"lead_of(activities[{i}])", msg, code="callable")


def instant(value: dt.datetime) -> dt.datetime:
    """A checked aware datetime in its canonical form."""
    return canonical(value)
