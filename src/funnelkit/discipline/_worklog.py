"""
The daily work log of source 001: every rep records effective work every
working day; the gaps per rep and day, in each rep's local days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from typing import overload

import attrs

from .. import _checks as c
from .._frozenmap import FrozenMap
from .._report import Report, conflict
from ..entities import Activity, ActivityKind, SalesRep
from ..errors import MAX_LISTED, ValidationError
from . import _args as a
from ._calendar import WorkingCalendar, _span_of, _working

#: What counts as effective work by default: every kind of activity but ``other``.
WORK_KINDS: frozenset[ActivityKind] = frozenset(set(ActivityKind) - {ActivityKind.OTHER})
#: A work log lists at most this many (rep, working day) rows.
MAX_WORK_DAYS = 2_000_000


@attrs.frozen(kw_only=True)
class WorkDay:
    """
    One rep's working *day* (local): the activities that count, and whether
    that is enough (*logged*: at least the log's *minimum*).
    """

    rep_id: str
    day: dt.date
    activities: int
    logged: bool


@attrs.frozen(kw_only=True)
class RepLog:
    """
    One rep's log over the period: working days, days logged, gaps (days
    not logged), the share logged (``None`` with no working day), the
    longest run of consecutive working days not logged, and the last day
    logged (``None``: none).
    """

    rep_id: str
    working_days: int
    logged: int
    gaps: int
    share: Fraction | None
    longest_gap: int
    last_logged: dt.date | None


@attrs.frozen(kw_only=True, repr=False)
class WorkLogSummary(Report):
    """
    A :class:`WorkLog` per rep: one :class:`RepLog` each, in the order of
    the log's reps.

    Not mergeable: a summary of one log's runs of days; merge the
    :class:`WorkLog` objects, then summarise.
    """

    reps: tuple[RepLog, ...]

    def __iter__(self) -> Iterator[RepLog]:
        return iter(self.reps)

    def __len__(self) -> int:
        return len(self.reps)

    def _summary(self) -> str:
        gaps = sum(r.gaps for r in self.reps)
        return f"{c.counted(len(self.reps), 'rep')}, {c.counted(gaps, 'gap')}"

    def _rows(self) -> list[dict[str, object]]:
        return [attrs.asdict(r, recurse=False) for r in self.reps]


def _calendars(value: Mapping[str, WorkingCalendar]) -> Mapping[str, WorkingCalendar]:
    value = c.to_mapping(value, "calendars")
    if not isinstance(value, Mapping):
        raise c.at("calendars", c.wrong_type(value, "a mapping of rep id to WorkingCalendar"))
    out: dict[str, WorkingCalendar] = {}
    problems = []
    for rep, cal in value.items():
        if not isinstance(rep, str) or c.identifier(rep) is not None:
            problems.append(c.wrong_type(rep, "a rep id").prefixed("calendars"))
        elif not isinstance(cal, WorkingCalendar):
            problems.append(c.wrong_type(cal, "a WorkingCalendar").prefixed(f"calendars[{rep[:40]!r}]"))
        else:
            out[rep] = cal
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return FrozenMap(dict(sorted(out.items())))


def _kinds(value: Iterable[ActivityKind | str]) -> frozenset[ActivityKind]:
    return a.kinds_of(value)


@attrs.frozen(kw_only=True, repr=False)
class WorkLog(Report):
    """
    The daily work-log check (from :func:`work_log`): one :class:`WorkDay`
    per rep and working day in [*start*, *end*), by rep (in the order given)
    then day; :attr:`gaps` lists the days not logged, :meth:`by_rep` sums
    each rep up.

    Counts, so :meth:`merge` adds the logs of any partition of the
    activities (each activity in one part), made for the same reps, period,
    calendars, kinds and minimum, into exactly the log of all of them.
    """

    rows: tuple[WorkDay, ...]
    reps: tuple[str, ...]
    start: dt.date
    end: dt.date
    calendar: WorkingCalendar
    calendars: Mapping[str, WorkingCalendar] = attrs.field(factory=dict, converter=_calendars)
    kinds: frozenset[ActivityKind] = attrs.field(default=WORK_KINDS, converter=_kinds)
    minimum: int = 1

    @overload
    def __getitem__(self, index: int) -> WorkDay: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[WorkDay, ...]: ...
    def __getitem__(self, index: int | slice) -> WorkDay | tuple[WorkDay, ...]:
        if isinstance(index, slice):
            return self.rows[c.checked_slice(index, len(self.rows))]
        return self.rows[c.checked_index(index)]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[WorkDay]:
        return iter(self.rows)

    @property
    def gaps(self) -> tuple[WorkDay, ...]:
        """The working days not logged, by rep then day."""
        return tuple(r for r in self.rows if not r.logged)

    def by_rep(self) -> WorkLogSummary:
        """
        Each rep's working days, days logged, gaps and longest run of gaps.
        Cost: O(n) for n rows.
        """
        per: dict[str, list[WorkDay]] = {rep: [] for rep in self.reps}
        for r in self.rows:
            per[r.rep_id].append(r)
        out = []
        for rep, days in per.items():
            logged = sum(d.logged for d in days)
            run = longest = 0
            last = None
            for d in days:
                if d.logged:
                    run, last = 0, d.day
                else:
                    run += 1
                    longest = max(longest, run)
            out.append(
                RepLog(
                    rep_id=rep, working_days=len(days), logged=logged, gaps=len(days) - logged,
                    share=Fraction(logged, len(days)) if days else None, longest_gap=longest,
                    last_logged=last,
                )
            )  # fmt: skip
        return WorkLogSummary(reps=tuple(out))

    def merge(self, other: WorkLog) -> WorkLog:
        """
        The log of the activities of both (each activity in one of them).
        Logs of other reps, period, calendars, kinds or minimum are refused
        by name (``other.reps`` ...; code ``conflict``).  Cost: O(n) for n rows.
        """
        c.require(other, WorkLog, "a WorkLog", "other")
        for field in ("reps", "start", "end", "calendar", "calendars", "kinds", "minimum"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), field)
        rows = tuple(
            attrs.evolve(
                x, activities=x.activities + y.activities, logged=x.activities + y.activities >= self.minimum
            )
            for x, y in zip(self.rows, other.rows, strict=True)
        )
        return attrs.evolve(self, rows=rows)

    def _summary(self) -> str:
        gaps = sum(not r.logged for r in self.rows)
        return (
            f"{c.counted(len(self.reps), 'rep')}, {self.start.isoformat()} to {self.end.isoformat()}: "
            f"{c.counted(len(self.rows), 'working day')}, {c.counted(gaps, 'gap')}"
        )

    def _rows(self) -> list[dict[str, object]]:
        return [attrs.asdict(r, recurse=False) for r in self.rows]


def work_log(
    activities: Iterable[Activity],
    *,
    reps: Iterable[str | SalesRep],
    start: dt.date,
    end: dt.date,
    calendar: WorkingCalendar,
    calendars: Mapping[str, WorkingCalendar] | None = None,
    kinds: Iterable[ActivityKind | str] = WORK_KINDS,
    minimum: int = 1,
) -> WorkLog:
    """
    The daily work-log check of source 001 (the "3E" log: every day, every
    person, every task): for each of *reps* (ids or :class:`SalesRep`) and
    each of their working days from *start* up to, not including, *end*,
    how many activities of *kinds* (by default :data:`WORK_KINDS`, every
    kind but ``other``) the rep recorded that local day, and whether that
    is at least *minimum*.

    A rep's days are local days in the zone of their calendar:
    ``calendars[rep]`` when given, else *calendar*; so are their working
    days (weekdays, holidays, make-up days).  Activities of other reps, or
    on a rep's days off, are not counted.  At most :data:`MAX_WORK_DAYS`
    rows.

    Cost: O(a + r d) for a activities, r reps and d days.

    >>> import datetime as dt
    >>> from funnelkit import Activity
    >>> from funnelkit.discipline import WorkingCalendar
    >>> cal = WorkingCalendar(tz="Asia/Shanghai")
    >>> call = Activity(id="a1", kind="call", at=dt.datetime(2026, 3, 2, 1, tzinfo=dt.UTC),
    ...                 rep_id="r1", customer_id="c1")  # Monday 09:00 in Shanghai
    >>> log = work_log([call], reps=["r1"], start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 9), calendar=cal)
    >>> [(d.day.isoformat(), d.logged) for d in log.gaps][:2]
    [('2026-03-03', False), ('2026-03-04', False)]
    >>> log.by_rep().reps[0].gaps
    4
    """
    who = a.rep_ids(reps)
    first, last = _span_of(start, end)
    base = c.require(calendar, WorkingCalendar, "a WorkingCalendar", "calendar")
    own = _calendars({} if calendars is None else calendars)
    wanted = a.kinds_of(kinds)
    least = c.plain(minimum)
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        code = "range" if isinstance(least, int) and not isinstance(least, bool) else "type"
        raise ValidationError.single("minimum", f"{c.show(least)} is not an int >= 1", code=code)
    span = (last - first).days
    if len(who) * span > MAX_WORK_DAYS:
        msg = f"{len(who):,} reps over {span:,} days is more than MAX_WORK_DAYS ({MAX_WORK_DAYS:,}) rows"
        raise ValidationError.single("reps", msg, code="limit")
    zones = {rep: own.get(rep, base).tz for rep in who}
    counts: dict[tuple[str, int], int] = {}
    utc_reps = {rep for rep, tz in zones.items() if tz is dt.UTC}
    lo, hi = first.toordinal(), last.toordinal()
    for act in c.each_of(activities, Activity, "activities"):
        rep = act.rep_id
        tz = zones.get(rep)
        if tz is None or act.kind not in wanted:
            continue
        if rep in utc_reps:
            local = act.at.toordinal()
        else:
            try:
                local = act.at.astimezone(tz).toordinal()
            except OverflowError:  # at the ends of datetime: a day no window of dates reaches
                continue
        if lo <= local < hi:
            counts[rep, local] = counts.get((rep, local), 0) + 1
    rows = []
    for rep in who:
        cal = own.get(rep, base)
        for ordinal in range(lo, hi):
            day = dt.date.fromordinal(ordinal)
            if _working(cal, day):
                n = counts.get((rep, ordinal), 0)
                rows.append(WorkDay(rep_id=rep, day=day, activities=n, logged=n >= least))
    return WorkLog(
        rows=tuple(rows), reps=tuple(who), start=first, end=last, calendar=base, calendars=own,
        kinds=wanted, minimum=least,
    )  # fmt: skip
