"""
Time: aware datetimes only, clocks that are passed in, never read, and the
calendar periods (day, ISO week, month) that reports group by.

Periods are plain standard-library arithmetic on the local date; pendulum is
imported only by :func:`ensure_aware`, for callers who want its ``DateTime``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import zoneinfo
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from ._checks import a_type, at, aware_datetime, keeps_checked, show
from .errors import ValidationError

#: The Unix epoch, aware: instants in microseconds count from it.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

if TYPE_CHECKING:
    import pendulum


def ensure_aware(value: dt.datetime, *, field: str = "value") -> pendulum.DateTime:
    """
    Return *value* as a pendulum ``DateTime`` in its own timezone, refusing a
    naive datetime.

    pendulum on its own would read a naive datetime as UTC; funnelkit refuses
    to guess:

    >>> import datetime as dt
    >>> ensure_aware(dt.datetime(2026, 3, 1, 9, 30), field="created_at")
    Traceback (most recent call last):
    ...
    funnelkit.errors.ValidationError: created_at: datetime.datetime(2026, 3, 1, 9, 30) is naive; ...
    >>> ensure_aware(dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone.utc))
    DateTime(2026, 3, 1, 9, 30, 0, tzinfo=Timezone('UTC'))

    Cost: O(1).
    """
    problem = aware_datetime(value)
    if problem is not None:
        raise at(field, problem)
    import pendulum  # only this function needs it

    if isinstance(value, pendulum.DateTime):
        return value
    return pendulum.instance(value, tz=value.tzinfo)


def canonical(value: dt.datetime) -> dt.datetime:
    """
    The same instant as a standard-library ``datetime`` in UTC.

    Entities and events store their times this way, whether they were given a
    pendulum ``DateTime`` or a ``datetime`` in any zone.  Python compares and
    subtracts two datetimes of one zone by their wall clocks, ignoring DST:
    in UTC, wall clock and elapsed time agree, so "before", "after" and "how
    long" are right even across a DST change.  Show a time in a zone with
    ``.astimezone(zone)``; functions that need a zone (periods, days) take one.

    Anything that is not an aware datetime is returned unchanged, for the
    field check to report.

    >>> import pendulum
    >>> canonical(pendulum.datetime(2026, 7, 1, 9, 30, tz="Europe/London"))
    datetime.datetime(2026, 7, 1, 8, 30, tzinfo=datetime.timezone.utc)
    """
    if type(value) is dt.datetime and value.tzinfo is dt.UTC:
        return value
    if not isinstance(value, dt.datetime):
        return value
    try:
        offset = value.utcoffset()
    except Exception:  # noqa: BLE001 - a broken tzinfo: the field check reports it
        return value
    if offset is None:
        return value
    try:
        utc = (value.replace(tzinfo=None) - offset).replace(tzinfo=dt.UTC)
    except OverflowError:  # the field check reports it
        return value
    return dt.datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=dt.UTC
    )


keeps_checked(canonical)  # a datetime in UTC is returned as it is


def zone(tz: dt.tzinfo | str) -> dt.tzinfo:
    """
    *tz* itself, or the IANA zone it names; a clear error for anything else.
    """
    if isinstance(tz, dt.tzinfo):
        return tz
    if tz == "UTC":  # one UTC: the one documents read back
        return dt.UTC
    if isinstance(tz, str) and _ZONE_NAME.fullmatch(tz):
        try:
            return zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a name that is a directory of the zone database ('America')
            pass
    code = "format" if isinstance(tz, str) else "type"
    raise ValidationError.single("tz", f"{show(tz)} is not a tzinfo or a known IANA zone name", code=code)


# IANA names: letters, digits and - + _ in up to four parts, none of them '.' or '..'.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]{0,29}(?:/[A-Za-z0-9][A-Za-z0-9_+\-]{0,29}){0,3}")


@runtime_checkable
class Clock(Protocol):
    """
    Where "now" comes from: anything with a ``now()`` that returns an aware
    datetime.

    funnelkit never reads the system clock.  A host passes ``now`` to each call,
    or an object like this one::

        class SystemClock:
            def now(self) -> datetime.datetime:
                return datetime.datetime.now(datetime.timezone.utc)
    """

    def now(self) -> dt.datetime: ...


def _check_at(_instance: FixedClock, attribute: attrs.Attribute[dt.datetime], value: dt.datetime) -> None:
    problem = aware_datetime(value)
    if problem is not None:
        raise at(attribute.name, problem)


@attrs.frozen(kw_only=True)
class FixedClock:
    """
    A clock that always says the same time: for tests and replays.

    >>> import datetime as dt
    >>> clock = FixedClock(at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc))
    >>> clock.now() == clock.now()
    True
    >>> clock.shifted(dt.timedelta(days=2)).now().isoformat()
    '2026-01-07T09:00:00+00:00'
    """

    at: dt.datetime = attrs.field(validator=_check_at)

    def now(self) -> dt.datetime:
        """
        The time this clock was set to.  Cost: O(1).
        """
        return self.at

    def shifted(self, delta: dt.timedelta) -> FixedClock:
        """
        A new clock *delta* later (or earlier, when negative).

        Cost: O(1).
        """
        if not isinstance(delta, dt.timedelta):
            msg = f"{show(delta)} is {a_type(delta)}; expected a datetime.timedelta"
            raise ValidationError.single("delta", msg, code="type")
        # Elapsed time, not wall time: shift the instant, keep the zone.
        try:
            return FixedClock(at=(canonical(self.at) + delta).astimezone(self.at.tzinfo))
        except OverflowError:
            msg = f"{show(delta)} moves the clock ({self.at.isoformat()}) past the range of datetime"
            raise ValidationError.single("delta", msg, code="range") from None


def now_from(clock: Clock, *, field: str = "clock") -> dt.datetime:
    """
    Read *clock* once and check that it answered with an aware datetime.
    """
    reader = getattr(clock, "now", None)
    if not callable(reader):
        msg = f"{show(clock)} has no now() method; pass a Clock such as FixedClock(at=...)"
        raise ValidationError.single(field, msg, code="type")
    value = reader()
    problem = aware_datetime(value)
    if problem is not None:
        raise at(f"{field}.now()", problem)
    return value  # type: ignore[no-any-return]


def instant(value: object, *, field: str = "now") -> dt.datetime:
    """
    *value* checked to be an aware datetime, as a UTC instant
    (:func:`canonical`); else a ValidationError at *field*.
    """
    problem = aware_datetime(value)
    if problem is not None:
        raise at(field, problem)
    return canonical(value)  # type: ignore[arg-type]  # checked just above


def parse_instant(text: object) -> object:
    """
    The datetime an ISO 8601 *text* spells, or *text* unchanged for a field
    check to report.
    """
    if not isinstance(text, str):
        return text
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return text


# --- calendar periods -------------------------------------------------------


class Period(enum.StrEnum):
    """
    The length of a reporting period, in the local calendar of a time zone.
    """

    DAY = "day"
    WEEK = "week"  # ISO weeks: Monday to Sunday
    MONTH = "month"


def period_of(period: Period | str) -> Period:
    """
    *period* as a :class:`Period` (a member or its value); else a
    ValidationError at ``period``.  Never hashes or formats a foreign value
    beyond its shortened repr.
    """
    if isinstance(period, Period):
        return period
    if isinstance(period, str):
        try:
            return Period(period)
        except ValueError:
            pass
    allowed = ", ".join(repr(p.value) for p in Period)
    msg = f"{show(period)} is not a period; allowed: {allowed}"
    raise ValidationError.single("period", msg, code="choice")


def period_start(*, at: dt.datetime, period: Period | str, tz: dt.tzinfo | str) -> dt.date:
    """
    The first local day of the period that holds instant *at* (an aware
    datetime; a naive one is refused, not read as local time) in zone *tz*
    (a ``tzinfo`` or an IANA zone name).

    Days are local calendar days, so a day with a DST change has 23 or 25
    hours and still counts as one day.  Cost: O(1).

    >>> import zoneinfo
    >>> ny = zoneinfo.ZoneInfo("America/New_York")
    >>> late = dt.datetime(2026, 3, 9, 3, 30, tzinfo=dt.timezone.utc)  # Sunday 23:30 EDT
    >>> [period_start(at=late, period=p, tz=ny) for p in ("day", "week", "month")]
    [datetime.date(2026, 3, 8), datetime.date(2026, 3, 2), datetime.date(2026, 3, 1)]
    """
    when = instant(at, field="at")
    kind = period_of(period)
    start = start_of(when, kind, zone(tz))
    if start is None:
        msg = f"{when.isoformat()} is too close to the limits of datetime to fall in a period of {show(tz)}"
        raise ValidationError.single("at", msg, code="range")
    return start


def start_of(at: dt.datetime, kind: Period, tz: dt.tzinfo) -> dt.date | None:
    """
    :func:`period_start` of checked arguments; ``None`` when the local day
    (or the start of its week) lies beyond the range of ``datetime``.
    """
    try:
        day = at.astimezone(tz).date()
        if kind is Period.WEEK:
            return day - dt.timedelta(days=day.weekday())
    except OverflowError:
        return None
    if kind is Period.DAY:
        return day
    return day.replace(day=1)


def span(delta: dt.timedelta) -> str:
    """
    A duration in words, exact to the second: ``90 minutes`` reads
    ``1 hour 30 minutes``, ``1.5 s`` reads ``1.5 seconds``.
    """
    if delta < dt.timedelta(0):
        return "-" + span(-delta)
    parts = []
    days, rest = divmod(delta, dt.timedelta(days=1))
    hours, rest = divmod(rest, dt.timedelta(hours=1))
    minutes, rest = divmod(rest, dt.timedelta(minutes=1))
    seconds = rest.total_seconds()
    for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    if seconds or not parts:
        text = f"{seconds:g}"
        parts.append(f"{text} second{'s' if text != '1' else ''}")
    return " ".join(parts)
