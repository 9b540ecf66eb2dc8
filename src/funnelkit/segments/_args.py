"""
Argument checks shared by the segment functions: collections of entities,
mappings, the caller's functions, tiers and periods.

Every check names the parameter (and the item) in its path, shows values
through :func:`~funnelkit._checks.show`, and stops collecting after
:data:`MAX_PROBLEMS` problems so that an endless or huge input of junk is
refused quickly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from .. import _checks as c
from .._money import MAX_INTEGER_DIGITS
from ..entities import Tier
from ..errors import MAX_LISTED, Problem, ValidationError

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)

#: Checks stop after this many problems: enough to fix a batch, and an
#: endless generator of junk is refused instead of read forever.
MAX_PROBLEMS = MAX_LISTED


wrong_item = c.wrong_item


items_of = c.items_of


each_of = c.each_of


def not_iterable(*arguments: tuple[object, type, str]) -> list[Problem]:
    """
    A problem for each ``(value, item class, path)`` whose value is not an
    iterable of items (a str or a mapping is not): the same message as
    :func:`~funnelkit._checks.require_iterable`, for every argument at once.
    """
    return [
        c.wrong_type(value, f"an iterable of {cls.__name__}").prefixed(path)
        for value, cls, path in arguments
        if not c.is_iterable(value)
    ]


def mapping(value: object, what: str, path: str) -> Mapping[Any, Any]:
    """
    *value*, checked to be a mapping (of *what*); a pandas ``Series`` is read
    through ``items()`` into a dict (see :func:`~funnelkit._checks.to_mapping`).
    """
    value = c.to_mapping(value, path)
    if not isinstance(value, Mapping):
        raise c.at(path, c.wrong_type(value, f"a mapping of {what}"))
    return value


def plain_mapping(value: object, what: str, path: str) -> dict[Any, Any]:
    """
    *value*, checked to be a mapping (of *what*), as a dict whose numpy ints
    and bools are Python's (see :func:`~funnelkit._checks.plain`).
    """
    return {key: c.plain(item) for key, item in mapping(value, what, path).items()}


function_of_one = c.function_of_one


def member(enum_cls: type[E], value: object) -> E | None:
    """
    *value* as a member of *enum_cls* (a member, or the str value of one), or
    ``None`` for anything else.  Never hashes or formats a foreign value, so
    unhashable or deeply nested junk cannot break it.
    """
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        try:
            return enum_cls(value)
        except ValueError:
            return None
    return None


def tier_or_none(value: object, path: str) -> Tier | None:
    """
    A tier (``Tier`` or ``'A'``, ``'B'``, ``'C'``) or ``None`` (not graded).
    """
    if value is None:
        return None
    tier = member(Tier, value)
    if tier is None:
        raise ValidationError.single(
            path, f"{c.show(value)} is not a tier; allowed: 'A', 'B', 'C' or None", code="choice"
        )
    return tier


_LIMIT: int = 10**MAX_INTEGER_DIGITS


def plain_number(value: object) -> bool:
    """
    Whether *value* is a finite Decimal or int (not a bool) with at most
    :data:`~funnelkit._money.MAX_INTEGER_DIGITS` digits before the point,
    like an amount of money.  Read another library's integer
    (``numpy.int64``) with :func:`~funnelkit._checks.plain` first.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return False
    if isinstance(value, int):
        return -_LIMIT < value < _LIMIT
    return value.is_finite() and (value.is_zero() or value.adjusted() < MAX_INTEGER_DIGITS)
