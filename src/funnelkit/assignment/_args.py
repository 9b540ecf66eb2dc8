"""
Argument checks shared by the assignment modules: collections read with a
bound, durations with a ceiling, the team a routing call needs.

An endless or huge iterable of junk is cut short after :data:`MAX_PROBLEMS`
bad items, so that it is refused at once instead of read forever.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from .. import _checks as c
from ..errors import MAX_LISTED, Problem, ValidationError

T = TypeVar("T")

#: Reading stops after this many bad items: enough to fix a batch, and an
#: endless generator of junk is refused instead of read forever.
MAX_PROBLEMS = MAX_LISTED

#: The longest roulette window or pool protection: ten years.  Anything
#: longer is a mistake (``timedelta.max``) that would overflow the calendar.
MAX_DURATION = dt.timedelta(days=3650)


def bounded(value: Any, ok: Callable[[Any], bool]) -> Any:
    """
    A converter: *value* as a tuple when it is a list, tuple or another
    iterable (not a str, bytes, mapping or set); reading stops after
    :data:`MAX_PROBLEMS` items that fail *ok*, leaving them for the field
    check to report.  Anything else is returned unchanged for the check.
    """
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    if not c.is_iterable(value) or isinstance(value, set | frozenset):
        return value
    out = []
    bad = 0
    for item in value:
        out.append(item)
        if not ok(item):
            bad += 1
            if bad >= MAX_PROBLEMS:
                break
    return tuple(out)


def is_str(value: object) -> bool:
    return isinstance(value, str)


items_of = c.items_of


def batch_of(values: object, cls: type[T], path: str, twice: str) -> list[T]:
    """
    *values*, an iterable of *cls* with unique ``id``\\ s, as a list: items of
    another type and ids seen before (*twice* says why that is wrong) are
    reported together at ``path[i]`` (at most :data:`MAX_PROBLEMS` of them).
    """
    c.require_iterable(values, cls.__name__, path)
    out: list[T] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, item in enumerate(cast("Iterable[Any]", values)):  # checked just above
        if not isinstance(item, cls):
            problems.append(c.wrong_item(item, cls, f"{path}[{i}]"))
        elif (ident := item.id) in seen:  # type: ignore[attr-defined]  # every batch entity has an id
            msg = f"{ident!r} appears twice; {twice}"
            problems.append(Problem(path=f"{path}[{i}].id", code="duplicate", message=msg))
        else:
            seen.add(ident)
            out.append(item)
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise ValidationError(problems)
    return out


def window_duration(value: object, what: str) -> Problem | None:
    """
    A positive ``timedelta`` of at most :data:`MAX_DURATION`; *what* says
    what it is for, in the message of a zero duration.
    """
    problem = c.duration(value)
    if problem is not None:
        return problem
    if value == dt.timedelta(0):
        return c.bad("range", f"0:00:00 is zero; {what}")
    if value > MAX_DURATION:  # type: ignore[operator]  # a timedelta, checked above
        return c.bad("limit", f"{c.show(value)} is longer than {MAX_DURATION.days:,} days, the most allowed")
    return None
