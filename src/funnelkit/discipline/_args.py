"""
Argument checks shared by the discipline functions: leads with unique ids,
kinds of activity, spans of time, and the caller's link from an activity to
its lead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from .. import _checks as c
from ..entities import Activity, ActivityKind, Lead
from ..errors import MAX_LISTED, Problem, ValidationError


def unique(values: object, cls: type, path: str) -> list[Any]:
    """*values*, an iterable of *cls* with unique ids, as a list; every problem at ``path[i]``."""
    c.require_iterable(values, cls.__name__, path)
    items = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, item in enumerate(cast("Iterable[Any]", values)):
        ident = getattr(item, "id", None) if isinstance(item, cls) else None
        if not isinstance(item, cls):
            problems.append(c.wrong_item(item, cls, f"{path}[{i}]"))
        elif ident in seen:
            msg = f"{c.show(ident)} appears twice; each is counted once"
            problems.append(Problem(path=f"{path}[{i}].id", code="duplicate", message=msg))
        else:
            seen.add(str(ident))
            items.append(item)
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return items


def rep_ids(values: object, path: str = "reps") -> list[str]:
    """Rep ids (a str, or a SalesRep's id), unique, in the order given."""
    from ..entities import SalesRep

    c.require_iterable(values, "rep id or SalesRep", path)
    out: list[str] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, raw in enumerate(cast("Iterable[Any]", values)):
        rep = raw.id if isinstance(raw, SalesRep) else raw
        problem = c.identifier(rep)
        if problem is not None:
            problems.append(problem.prefixed(f"{path}[{i}]"))
        elif rep in seen:
            msg = f"{c.show(rep)} appears twice; each rep is checked once"
            problems.append(Problem(path=f"{path}[{i}]", code="duplicate", message=msg))
        else:
            seen.add(rep)
            out.append(rep)
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return out


def kinds_of(value: object, path: str = "kinds") -> frozenset[ActivityKind]:
    """A non-empty set of activity kinds (members or their values)."""
    if not c.is_iterable(value):
        raise c.at(path, c.wrong_type(value, "an iterable of activity kinds"))
    out: set[ActivityKind] = set()
    problems: list[Problem] = []
    allowed = ", ".join(repr(k.value) for k in ActivityKind)
    for i, raw in enumerate(cast("Iterable[Any]", value)):
        kind = kind_or_none(raw)
        if kind is None:
            msg = f"{c.show(raw)} is not a kind of activity; allowed: {allowed}"
            problems.append(Problem(path=f"{path}[{i}]", code="choice", message=msg))
            if len(problems) >= MAX_LISTED:
                break
        else:
            out.add(kind)
    if problems:
        raise ValidationError(problems)
    if not out:
        raise ValidationError.single(path, "is empty; name at least one kind of activity", code="empty")
    return frozenset(out)


def kind_or_none(value: object) -> ActivityKind | None:
    """*value* as an ActivityKind (a member or its str value), else None; never hashes foreign values."""
    if isinstance(value, ActivityKind):
        return value
    if isinstance(value, str):
        try:
            return ActivityKind(value)
        except ValueError:
            return None
    return None


def span(value: object, path: str, *, positive: bool = False) -> dt.timedelta:
    """A timedelta >= 0 (> 0 when *positive*), else an error at *path*."""
    if not isinstance(value, dt.timedelta):
        raise c.at(path, c.wrong_type(value, "a datetime.timedelta"))
    if value < dt.timedelta(0) or (positive and not value):
        wanted = "positive" if positive else ">= 0"
        raise ValidationError.single(path, f"{c.show(value)} is not {wanted}", code="range")
    return value


def spans_by_key(value: object, path: str, what: str) -> dict[str | None, dt.timedelta]:
    """A non-empty mapping of *what* (a str, or None for every other) to a positive timedelta."""

    def key_of(key: object) -> str | Problem | None:
        if key is None or (isinstance(key, str) and c.name(key) is None):
            return key
        return c.wrong_type(key, f"a {what} or None")

    expected = f"a mapping of {what} (or None) to timedelta"
    out = c.mapping_of(value, path, expected, key_of, lambda raw, at: span(raw, at, positive=True))
    if not out:  # an empty mapping: any entry is in out or has been refused above
        raise ValidationError.single(path, f"is empty; give a timedelta for a {what} or None", code="empty")
    return out


def lead_link(value: object) -> Callable[[Activity], Any] | None:
    """The caller's link from an activity to its lead's id (None: the activity's customer_id)."""
    if value is None:
        return None
    return c.function_of_one(value, "an Activity (the id of its lead, or None)", "lead_of")


def lead_id(link: Callable[[Activity], Any] | None, activity: Activity, i: int) -> str | None:
    """The lead of *activity* (the *i*-th) by *link*, checked to be an id or None."""
    if link is None:
        return activity.customer_id
    found = link(activity)
    if found is None or (isinstance(found, str) and c.identifier(found) is None):
        return found
    msg = f"{c.show(found)} is {c.a_type(found)}; lead_of must return a lead id or None"
    raise ValidationError.single(f"lead_of(activities[{i}])", msg, code="callable")


def each_activity(values: object) -> Iterator[tuple[int, Activity]]:
    """
    The activities of *values* with their index; junk items refused at
    ``activities[i]`` (all of them, up to MAX_LISTED, once the input ends).
    """
    c.require_iterable(values, "Activity", "activities")
    problems: list[Problem] = []
    for i, item in enumerate(cast("Iterable[Any]", values)):
        if type(item) is Activity or isinstance(item, Activity):
            if not problems:
                yield i, item
        else:
            problems.append(c.wrong_item(item, Activity, f"activities[{i}]"))
            if len(problems) >= MAX_LISTED:
                break
    if problems:
        raise ValidationError(problems)


def check_now(now: object) -> dt.datetime:
    """*now*, an aware datetime, as a UTC instant."""
    from .._time import instant

    return instant(now, field="now")


def leads_of(values: object) -> list[Lead]:
    """Leads with unique ids."""
    return unique(values, Lead, "leads")
