"""
Working calendars: a team's working days and hours in one zone, as plain
data (no clock, no locale, no environment), and the arithmetic of working
time over them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs

from .. import _checks as c
from .._time import instant
from .._time import zone as zone_of
from ..errors import MAX_LISTED, Problem, ValidationError

#: The longest stretch of days a calendar lists or walks: 100 years.
MAX_DAYS = 36_525

_DAY = dt.timedelta(days=1)
_US = dt.timedelta(microseconds=1)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 - local wall clocks count from it
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LAST = dt.date.max.toordinal()
#: The last instant: "not within the range of datetime".
NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


def _zone(value: dt.tzinfo | str) -> dt.tzinfo:
    tz = zone_of(value)
    try:
        tz.utcoffset(_NAIVE_EPOCH)
    except Exception as e:  # noqa: BLE001 - a broken tzinfo is the caller's input
        msg = f"{c.show(tz)} is a tzinfo whose utcoffset() fails ({type(e).__name__})"
        raise ValidationError.single("tz", msg, code="timezone") from None
    return tz


def _weekdays(value: Iterable[int]) -> frozenset[int]:
    if isinstance(value, frozenset) and all(type(d) is int and 0 <= d <= 6 for d in value) and value:
        return value
    if not c.is_iterable(value):
        raise c.at("weekdays", c.wrong_type(value, "an iterable of weekdays, 0 (Monday) to 6 (Sunday)"))
    out: set[int] = set()
    problems: list[Problem] = []
    for i, raw in enumerate(value):
        day = c.plain(raw)
        if isinstance(day, bool) or not isinstance(day, int):
            problems.append(
                c.wrong_type(day, "a weekday, 0 (Monday) to 6 (Sunday)").prefixed(f"weekdays[{i}]")
            )
        elif not 0 <= day <= 6:
            msg = f"{c.show(day)} is not a weekday; allowed: 0 (Monday) to 6 (Sunday)"
            problems.append(Problem(path=f"weekdays[{i}]", code="range", message=msg))
        else:
            out.add(day)
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    if not out:
        msg = "no weekday is a working day; a calendar needs at least one"
        raise ValidationError.single("weekdays", msg, code="empty")
    return frozenset(out)


def _dates(value: Iterable[dt.date], path: str) -> frozenset[dt.date]:
    if not c.is_iterable(value):
        raise c.at(path, c.wrong_type(value, "an iterable of datetime.date"))
    out: set[dt.date] = set()
    problems: list[Problem] = []
    for i, day in enumerate(value):
        problem = c.calendar_date(day)
        if problem is not None:
            problems.append(problem.prefixed(f"{path}[{i}]"))
            if len(problems) >= MAX_LISTED:
                break
        else:
            out.add(day)
    if problems:
        raise ValidationError(problems)
    return frozenset(out)


def _holidays(value: Iterable[dt.date]) -> frozenset[dt.date]:
    return _dates(value, "holidays")


def _make_up_days(value: Iterable[dt.date]) -> frozenset[dt.date]:
    return _dates(value, "make_up_days")


def _clock_time(value: dt.timedelta | dt.time, path: str) -> dt.timedelta:
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            msg = f"{c.show(value)} has a zone; give a local wall-clock time (the calendar has the zone)"
            raise ValidationError.single(path, msg, code="timezone")
        return dt.timedelta(
            hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
        )
    if not isinstance(value, dt.timedelta):
        raise c.at(path, c.wrong_type(value, "a datetime.time or a timedelta since local midnight"))
    if not dt.timedelta(0) <= value <= _DAY:
        msg = f"{c.show(value)} is not a time of day; allowed: 0 to 24 hours after local midnight"
        raise ValidationError.single(path, msg, code="range")
    return value


def _opens(value: dt.timedelta | dt.time) -> dt.timedelta:
    return _clock_time(value, "opens")


def _closes(value: dt.timedelta | dt.time) -> dt.timedelta:
    return _clock_time(value, "closes")


@attrs.frozen(kw_only=True)
class WorkingCalendar:
    """
    When a team works: the working *weekdays* (0 is Monday, as
    ``date.weekday()``), the working hours of each working day from *opens*
    to *closes* (local wall-clock times: a ``datetime.time`` or a
    ``timedelta`` since local midnight; ``closes=timedelta(hours=24)`` is the
    end of the day), in zone *tz*; *holidays* are days off and
    *make_up_days* working days on a weekday otherwise off (the Saturdays
    worked in exchange for a bridge holiday, as in China).  Pure data: no
    clock, no locale, no environment.

    Days are local calendar days: a day with a DST change is one working
    day, its hours are its wall-clock hours (9 to 18 is nine hours of
    elapsed time on the day the clocks change too).

    >>> import datetime as dt
    >>> berlin = WorkingCalendar(tz="Europe/Berlin", holidays=[dt.date(2026, 4, 3)])
    >>> berlin.is_working_day(dt.date(2026, 4, 3)), berlin.is_working_day(dt.date(2026, 4, 2))
    (False, True)
    >>> friday = dt.datetime(2026, 3, 27, 16, tzinfo=dt.UTC)  # 17:00 in Berlin, an hour before closing
    >>> berlin.deadline(friday, dt.timedelta(hours=4)).isoformat()  # Monday 12:00, summer time
    '2026-03-30T10:00:00+00:00'
    """

    tz: dt.tzinfo = attrs.field(converter=_zone)
    weekdays: frozenset[int] = attrs.field(default=frozenset(range(5)), converter=_weekdays)
    opens: dt.timedelta = attrs.field(default=dt.timedelta(hours=9), converter=_opens)
    closes: dt.timedelta = attrs.field(default=dt.timedelta(hours=18), converter=_closes)
    holidays: frozenset[dt.date] = attrs.field(default=frozenset(), converter=_holidays)
    make_up_days: frozenset[dt.date] = attrs.field(default=frozenset(), converter=_make_up_days)

    def __attrs_post_init__(self) -> None:
        problems = []
        if self.opens >= self.closes:
            msg = f"{c.show(self.closes)} is not after opens ({c.show(self.opens)}); a working day has hours"
            problems.append(Problem(path="closes", code="order", message=msg))
        both = sorted(self.holidays & self.make_up_days)
        if both:
            msg = f"{both[0].isoformat()} is also a holiday; a day is either off or worked"
            problems.append(Problem(path="make_up_days", code="conflict", message=msg))
        if problems:
            raise ValidationError(problems)

    @classmethod
    def every_day(cls, tz: dt.tzinfo | str) -> WorkingCalendar:
        """
        The calendar of every day, all day, in zone *tz*: working time is
        elapsed time, and a day is a local calendar day.  Cost: O(1).
        """
        return cls(tz=tz, weekdays=range(7), opens=dt.timedelta(0), closes=_DAY)

    def is_working_day(self, day: dt.date) -> bool:
        """
        Whether the local date *day* is a working day.  Cost: O(1).
        """
        problem = c.calendar_date(day)
        if problem is not None:
            raise c.at("day", problem)
        return _working(self, day)

    def working_days(self, start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
        """
        The working days from *start* up to, not including, *end*.  At most
        :data:`MAX_DAYS` days apart.  Cost: O(d) for d days.
        """
        first, last = _span_of(start, end)
        return tuple(d for d in (first + k * _DAY for k in range((last - first).days)) if _working(self, d))

    def working_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """
        The working time between the instants *start* and *end* (zero when
        *end* is not after *start*).  Cost: O(d) for the d local days between.
        """
        a, b = instant(start, field="start"), instant(end, field="end")
        if b - a > MAX_DAYS * _DAY:
            msg = f"{b.isoformat()} is more than MAX_DAYS ({MAX_DAYS:,}) days after start {a.isoformat()}"
            raise ValidationError.single("end", msg, code="limit")
        return Hours(self).between(_micros(a), _micros(b)) * _US

    def deadline(self, start: dt.datetime, span: dt.timedelta) -> dt.datetime:
        """
        The instant (in UTC) at which *span* of working time after *start*
        has passed; *start* itself when *span* is zero.  A span that does
        not fit in :data:`MAX_DAYS` days (or the range of ``datetime``) is
        refused.  Cost: O(d) for the d local days walked.
        """
        a = instant(start, field="start")
        problem = c.duration(span)
        if problem is not None:
            raise c.at("span", problem)
        due = Hours(self).deadline(_micros(a), span // _US)
        if due is None:
            msg = f"{c.show(span)} of working time after start {a.isoformat()} ends past {MAX_DAYS:,} days"
            raise ValidationError.single("span", msg, code="range")
        return due


def _working(cal: WorkingCalendar, day: dt.date) -> bool:
    """Whether *day* is a working day of *cal* (checked arguments)."""
    if day in cal.make_up_days:
        return True
    return day.weekday() in cal.weekdays and day not in cal.holidays


def _span_of(start: object, end: object) -> tuple[dt.date, dt.date]:
    """*start* and *end*, checked to be dates at most MAX_DAYS apart (end may equal start)."""
    problems = [
        p.prefixed(name)
        for name, value in (("start", start), ("end", end))
        if (p := c.calendar_date(value)) is not None
    ]
    if problems:
        raise ValidationError(problems)
    first, last = start, end
    assert isinstance(first, dt.date)  # noqa: S101 - checked above
    assert isinstance(last, dt.date)  # noqa: S101 - checked above
    if last < first:
        msg = f"{last.isoformat()} is before start {first.isoformat()}"
        raise ValidationError.single("end", msg, code="order")
    if (last - first).days > MAX_DAYS:
        msg = f"{(last - first).days:,} days from start is more than MAX_DAYS ({MAX_DAYS:,})"
        raise ValidationError.single("end", msg, code="limit")
    return first, last


def _micros(at: dt.datetime) -> int:
    """An aware instant as microseconds since the epoch."""
    return (at - _EPOCH) // _US


def from_micros(us: int) -> dt.datetime:
    """Microseconds since the epoch as an instant in UTC."""
    return _EPOCH + us * _US


class Hours:
    """
    A calendar's working windows, day by day (cached per call), in
    microseconds since the epoch: the arithmetic of working time.
    """

    __slots__ = ("cal", "tz", "windows")

    def __init__(self, cal: WorkingCalendar) -> None:
        self.cal = cal
        self.tz = cal.tz
        self.windows: dict[int, tuple[int, int] | None] = {}

    def day_of(self, us: int) -> int | None:
        """The ordinal of the local day that holds instant *us* (None beyond the range of datetime)."""
        try:
            return from_micros(us).astimezone(self.tz).toordinal()
        except (OverflowError, ValueError):
            return None

    def window(self, ordinal: int) -> tuple[int, int] | None:
        """The working hours of local day *ordinal*, or None on a day off."""
        found = self.windows.get(ordinal, False)
        if found is not False:
            return found  # type: ignore[return-value]
        window = None
        if 1 <= ordinal <= _LAST:
            day = dt.date.fromordinal(ordinal)
            if _working(self.cal, day):
                try:
                    midnight = dt.datetime.combine(day, dt.time())
                    window = (self._utc(midnight + self.cal.opens), self._utc(midnight + self.cal.closes))
                except OverflowError:
                    window = None
        self.windows[ordinal] = window
        return window

    def _utc(self, local: dt.datetime) -> int:
        """A local wall-clock time (in the gap of a DST change: read with the offset before it)."""
        offset = local.replace(tzinfo=self.tz).utcoffset() or dt.timedelta(0)
        return (local - offset - _NAIVE_EPOCH) // _US

    def between(self, a: int, b: int) -> int:
        """The working microseconds between the instants *a* and *b*."""
        if b <= a:
            return 0
        first, last = self.day_of(a), self.day_of(b)
        if first is None or last is None:
            return 0
        total = 0
        for ordinal in range(first, last + 1):
            w = self.window(ordinal)
            if w is not None:
                lo, hi = max(w[0], a), min(w[1], b)
                if hi > lo:
                    total += hi - lo
        return total

    def deadline(self, a: int, span: int) -> dt.datetime | None:
        """When *span* working microseconds after *a* have passed; None past MAX_DAYS or datetime."""
        if span <= 0:
            return from_micros(a)
        first = self.day_of(a)
        if first is None:
            return None
        left = span
        for ordinal in range(first, min(first + MAX_DAYS, _LAST) + 1):
            w = self.window(ordinal)
            if w is None:
                continue
            lo = max(w[0], a)
            if w[1] > lo:
                if w[1] - lo >= left:
                    try:
                        return from_micros(lo + left)
                    except OverflowError:
                        return None
                left -= w[1] - lo
        return None

    def nth_working_day(self, ordinal: int, n: int) -> int | None:
        """The ordinal of the *n*-th working day on or after *ordinal* (n = 0: the first), or None."""
        seen = -1
        for day in range(ordinal, min(ordinal + MAX_DAYS, _LAST) + 1):
            if _working(self.cal, dt.date.fromordinal(day)):
                seen += 1
                if seen == n:
                    return day
        return None

    def day_end(self, ordinal: int) -> dt.datetime:
        """The instant the local day *ordinal* ends (its next midnight), or NEVER past the range."""
        try:
            nxt = dt.date.fromordinal(ordinal + 1)
            return from_micros(self._utc(dt.datetime.combine(nxt, dt.time())))
        except (OverflowError, ValueError):
            return NEVER


def hours_of(cal: WorkingCalendar) -> Hours:
    """A fresh cache of *cal*'s working windows, for one call."""
    return Hours(cal)


def checked_calendar(value: Any, path: str = "calendar") -> WorkingCalendar:
    """*value*, checked to be a WorkingCalendar."""
    return c.require(value, WorkingCalendar, "a WorkingCalendar", path)
