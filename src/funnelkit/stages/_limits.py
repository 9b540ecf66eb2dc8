"""
The documented limits of stage values, and the helpers that enforce them.

Every limit is far beyond what a real sales process needs, and small enough
that checking, writing, reading and walking a value stays cheap and cannot
run out of stack, memory or time:

* a pipeline has at most :data:`MAX_STAGES` stages and
  :data:`MAX_TRANSITIONS` listed transitions;
* a list inside a stage or requirement (parts, kinds, fields, stances,
  requirements, lost reasons) has at most :data:`MAX_ITEMS` items;
* requirements nest at most :data:`MAX_DEPTH` levels deep (``all_of`` inside
  ``any_of`` inside ...), in code and in documents alike;
* a number of days (``TimeInStage.days``, ``Stage.stall_after_days``) is at
  most :data:`MAX_DAYS` (a hundred years);
* a probability has at most :data:`MAX_PLACES` decimal places, written in
  plain digits.
"""

from __future__ import annotations

import enum
import itertools
import typing
from collections.abc import Iterable, Sized
from typing import Any, TypeVar

import attrs

from .. import _checks as c
from ..errors import Problem

MAX_STAGES = 1_000
MAX_TRANSITIONS = 100_000
MAX_ITEMS = 1_000
MAX_DEPTH = 32
MAX_DAYS = 36_500
MAX_PLACES = 20

E = TypeVar("E", bound=enum.Enum)


@attrs.frozen
class TooMany:
    """
    Stands in for a collection with more than *limit* items (of which only
    ``limit + 1`` were read, so that an endless iterator stops), until the
    field check reports it.
    """

    limit: int
    count: int | None  # None: an iterator, of unknown length

    @property
    def problem(self) -> Problem:
        """
        The problem to report (code ``limit``), located at the collection.
        """
        if self.count is None:
            return c.bad(
                "limit", f"an iterator of more than {self.limit:,} items; at most {self.limit:,} are allowed"
            )
        return c.bad("limit", f"{self.count:,} items; at most {self.limit:,} are allowed")


def bounded(value: Any, limit: int) -> Any:
    """
    *value*, or a :class:`TooMany` when it is a collection of more than
    *limit* items.  An iterator is read into a tuple, at most ``limit + 1``
    items of it; anything that is not a collection of items is left for the
    field check.
    """
    if not c.is_iterable(value):
        return value
    if isinstance(value, Sized):
        n = len(value)
        return TooMany(limit, n) if n > limit else value
    items = tuple(itertools.islice(value, limit + 1))
    return TooMany(limit, None) if len(items) > limit else items


def limited(check: c.Check) -> c.Check:
    """
    *check*, preceded by the report of a :class:`TooMany`.
    """

    def run(value: object) -> c.Result:
        if isinstance(value, TooMany):
            return value.problem
        return check(value)

    return run


def member(enum_cls: type[E], value: object) -> E:
    """
    The member of *enum_cls* that *value* is or names; anything else is left
    as it is for the field check (without asking the enum, whose error
    message would ``repr`` the value, however big or deep).
    """
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        return c.to_enum(enum_cls, value)
    return value  # type: ignore[return-value]


def members(enum_cls: type[E], value: object, limit: int = MAX_ITEMS) -> Any:
    """
    A frozenset of the members of *enum_cls* named in *value* (one name or
    member, or a collection of them); a tuple when some item cannot go in a
    set, and anything else as it is, for the field check.
    """
    if isinstance(value, str):
        value = (value,)
    value = bounded(value, limit)
    if isinstance(value, TooMany) or not c.is_iterable(value):
        return value
    items = tuple(member(enum_cls, v) for v in typing.cast("Iterable[object]", value))
    try:
        return frozenset(items)
    except TypeError:
        return items


def to_tuple(value: object, limit: int = MAX_ITEMS) -> Any:
    """
    A list or other ordered collection as a tuple (a set is left as it is:
    it has no order to keep), a :class:`TooMany` for more than *limit* items.
    """
    value = bounded(value, limit)
    if isinstance(value, TooMany):
        return value
    return c.to_tuple(value)  # type: ignore[arg-type]


def depth_message(limit: int = MAX_DEPTH) -> str:
    return f"requirements nest more than {limit} levels deep; at most {limit} are allowed"
