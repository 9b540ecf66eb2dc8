"""
The team being routed to, its capacity window, and the routing state that a
host persists between calls.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any, SupportsIndex, cast

import attrs

from .. import _checks as c
from .. import documents
from .._frozenmap import FrozenMap
from .._time import canonical, instant, zone
from ..entities import SalesRep
from ..errors import Problem, ValidationError
from ._args import bounded


class Window(enum.StrEnum):
    """
    What counts against a rep's capacity.

    ``open``: what the rep has open now, as the host counts it (``Team.load``),
    plus what this call gives them.  ``day`` and ``month``: what was assigned
    since the start of the local day or month in the team's zone.
    ``rolling_24h``: what was assigned in the last 24 hours.
    """

    OPEN = "open"
    DAY = "day"
    ROLLING_24H = "rolling_24h"
    MONTH = "month"


def _window(value: Window | str) -> Window:
    return c.to_enum(Window, value)


def _tz(value: dt.tzinfo | str) -> dt.tzinfo:
    try:
        return zone(value)
    except ValidationError:
        return value  # type: ignore[return-value]  # the field check reports it


def _tz_check(value: object) -> Problem | None:
    if not isinstance(value, dt.tzinfo):
        code = "format" if isinstance(value, str) else "type"
        return c.bad(code, f"{c.show(value)} is not a tzinfo or a known IANA zone name")
    return None


def _reps(value: Iterable[SalesRep]) -> tuple[SalesRep, ...]:
    return bounded(value, lambda x: isinstance(x, SalesRep))  # type: ignore[no-any-return]


def _rep_tuple(value: object) -> c.Result:
    if not isinstance(value, tuple):
        return c.wrong_type(value, "a sequence of SalesRep")
    return c.id_items(value, SalesRep, "", "rep ids must be unique") or None


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is None:
        return FrozenMap({})
    if isinstance(value, Mapping):
        return FrozenMap(dict(value))
    return value  # the field check reports it


def _load(value: Mapping[str, SupportsIndex] | None) -> Mapping[str, int]:
    """
    The open counts as a frozen mapping: a pandas ``Series`` is read through
    ``items()``, numpy ints become ints.
    """
    value = c.to_mapping(value, "load")
    if isinstance(value, Mapping):
        return FrozenMap({rep: c.to_int(count) for rep, count in value.items()})
    return _frozen_mapping(value)


def _load_check(value: object) -> c.Result:
    if not isinstance(value, Mapping):
        return c.wrong_type(value, "a mapping of rep id to open count")
    problems = []
    for rep, count in value.items():
        problem = c.identifier(rep) or c.non_negative_int(count)
        if problem is not None:
            problems.append(problem.prefixed(f"[{rep!r}]"))
    return problems or None


@attrs.frozen(kw_only=True)
class Team(c.Checked):
    """
    The reps that leads can go to, what each has open, and what counts
    against their capacity.

    A rep's limit is ``SalesRep.capacity`` (``None``: no limit).  *load* is
    what each rep has open now (leads plus open deals, as the host counts
    them; a rep missing from it has nothing open).  *window* says what counts
    against the limit (see :class:`Window`); *tz* is the zone of the days and
    months of the ``day`` and ``month`` windows.  With a windowed capacity,
    load balancing ranks reps by what they got in the window and *load* is
    not used: a daily quota balances the day's leads, not the open book.  Every skip names the window,
    so nobody is surprised by an unexplained quota:

    >>> from funnelkit import SalesRep
    >>> team = Team(reps=[SalesRep(id="ann", name="Ann", capacity=2)], load={"ann": 2})
    >>> team.describe_limit("ann", 2)
    'full: 2 of 2 open'
    """

    reps: tuple[SalesRep, ...] = attrs.field(metadata=c.check(_rep_tuple), converter=_reps)
    load: Mapping[str, int] = attrs.field(metadata=c.check(_load_check), factory=dict, converter=_load)
    window: Window = attrs.field(
        metadata=c.check(c.member_of(Window)), default=Window.OPEN, converter=_window
    )
    tz: dt.tzinfo = attrs.field(metadata=c.check(_tz_check), default=dt.UTC, converter=_tz)
    _by_id: Mapping[str, SalesRep] = attrs.field(init=False, repr=False, eq=False)
    _ids: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        object.__setattr__(self, "_by_id", FrozenMap({r.id: r for r in self.reps}))
        object.__setattr__(self, "_ids", tuple(r.id for r in self.reps))

    def _relations(self) -> list[Problem]:
        ids = {r.id for r in self.reps}
        return [
            Problem(path=f"load[{rep!r}]", code="reference", message=f"{rep!r} is not a rep of this team")
            for rep in self.load
            if rep not in ids
        ]

    @property
    def ids(self) -> tuple[str, ...]:
        """
        The rep ids, in team order.
        """
        return self._ids

    def rep(self, rep_id: str) -> SalesRep:
        """
        The rep with *rep_id*; a clear error for an unknown id.  Cost: O(1).
        """
        try:
            return self._by_id[rep_id]
        except (KeyError, TypeError):
            known = ", ".join(repr(i) for i in self.ids[:10])
            msg = f"{c.show(rep_id)} is not a rep of this team (reps: {known or 'none'})"
            raise ValidationError.single("rep_id", msg, code="reference") from None

    def __contains__(self, rep_id: object) -> bool:
        return rep_id in self._by_id

    def window_start(self, *, now: dt.datetime) -> dt.datetime | None:
        """
        The instant from which assignments count against capacity, or
        ``None`` for the ``open`` window (which counts :attr:`load` instead).  Cost: O(1).
        """
        now = instant(now)
        if self.window is Window.OPEN:
            return None
        try:
            if self.window is Window.ROLLING_24H:
                return now - dt.timedelta(hours=24)
            local = now.astimezone(self.tz)
            day = local.date() if self.window is Window.DAY else local.date().replace(day=1)
            start = canonical(dt.datetime(day.year, day.month, day.day, tzinfo=self.tz))
        except OverflowError:
            msg = f"{now.isoformat()} is too close to the limits of datetime for a {self.window.value} window"
            raise ValidationError.single("now", msg, code="range") from None
        return start

    def describe_limit(self, rep_id: str, used: int) -> str:
        """
        Why *rep_id* is full with *used* counted: ``"full: 5 of 5 open"``.  Cost: O(1).
        """
        used = c.to_int(used)
        problem = c.non_negative_int(used)
        if problem is not None:
            raise c.at("used", problem)
        limit = self.rep(rep_id).capacity
        return f"full: {c.show(used)} of {limit} {WINDOW_WORDS[self.window]}"


WINDOW_WORDS = {
    Window.OPEN: "open",
    Window.DAY: "assigned today",
    Window.ROLLING_24H: "assigned in the last 24 h",
    Window.MONTH: "assigned this month",
}


@attrs.frozen(kw_only=True)
class Assigned(c.Checked):
    """
    One assignment kept in :class:`AssignmentState`, for windowed capacity.
    """

    lead_id: str = attrs.field(metadata=c.check(c.identifier))
    rep_id: str = attrs.field(metadata=c.check(c.identifier))
    at: dt.datetime = attrs.field(metadata=c.check(c.aware_datetime), converter=canonical)


def _pointers_check(value: object) -> c.Result:
    if not isinstance(value, Mapping):
        return c.wrong_type(value, "a mapping of policy name to rep id")
    problems = []
    for key, rep in value.items():
        problem = c.name(key) or c.identifier(rep)
        if problem is not None:
            problems.append(problem.prefixed(f"[{key!r}]"))
    return problems or None


def _assigned_tuple(value: Iterable[Assigned]) -> tuple[Assigned, ...]:
    return bounded(value, lambda x: isinstance(x, Assigned))  # type: ignore[no-any-return]


_recent_check = c.items(c.instance_of(Assigned, "an Assigned"), tuple)


@attrs.frozen(kw_only=True)
class AssignmentState(c.Checked):
    """
    What routing remembers between calls: each round robin's last rep, and
    the recent assignments that count against a windowed capacity.

    Every call returns a new state; persist it and pass it to the next call.
    It keeps only what the team's window needs, so it does not grow forever.
    """

    pointers: Mapping[str, str] = attrs.field(
        metadata=c.check(_pointers_check), factory=dict, converter=_frozen_mapping
    )
    recent: tuple[Assigned, ...] = attrs.field(
        metadata=c.check(_recent_check), default=(), converter=_assigned_tuple
    )

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-safe dict; :meth:`from_dict` reads it back.
        Cost: O(size of the value).
        """
        return cast("dict[str, Any]", documents.to_dict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssignmentState:
        """
        Read a dict written by :meth:`to_dict`; one error listing every problem.
        Cost: O(size of data).
        """
        return cast("AssignmentState", documents.from_dict(cls, data))
