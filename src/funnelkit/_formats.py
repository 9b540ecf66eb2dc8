"""
The text forms of the values JSON lacks: datetimes, durations, time zones,
decimals and non-finite floats, written and read back exactly.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from ._checks import (
    a_type,
    aware_datetime,
    show,
)
from .errors import ValidationError

T = TypeVar("T")


def _wrong_type(value: object, expected: str) -> ValidationError:
    return ValidationError.single("", f"{show(value)} is {a_type(value)}; expected {expected}", code="type")


# --- time formats ---------------------------------------------------------

_ZONED = re.compile(r"(?P<iso>[^\[\]]+)(?:\[(?P<zone>[^\[\]]+)\])?")
_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<days>[0-9]{1,12})D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]{1,12})H)?(?:(?P<minutes>[0-9]{1,12})M)?"
    r"(?:(?P<seconds>[0-9]{1,12})(?:\.(?P<fraction>[0-9]{1,6}))?S)?)?"
)
_MICROS_PER = {"days": 86_400_000_000, "hours": 3_600_000_000, "minutes": 60_000_000, "seconds": 1_000_000}


def _format_datetime(value: dt.datetime) -> str:
    """
    :func:`format_datetime` without the check of its argument.
    """
    text = dt.datetime.isoformat(value)
    key = getattr(value.tzinfo, "key", None)
    if isinstance(key, str) and key != "UTC":
        return f"{text}[{key}]"
    return text


def _parse_datetime(text: str) -> dt.datetime:
    """
    Read what :func:`format_datetime` writes; refuse a time with no offset.

    With a zone in brackets, the result carries that zone, and the offset
    picks the right side of a repeated hour (``fold``).
    """
    match = _ZONED.fullmatch(text)
    if match is None:
        msg = f"{show(text)} is not an ISO 8601 datetime"
        raise ValidationError.single("", msg, code="format")
    try:
        parsed = dt.datetime.fromisoformat(match["iso"])
    except ValueError:
        msg = f"{show(text)} is not an ISO 8601 datetime such as '2026-03-02T09:30:00+08:00'"
        raise ValidationError.single("", msg, code="format") from None
    offset = parsed.utcoffset()
    if offset is None:
        msg = f"{show(text)} has no UTC offset; funnelkit refuses to guess one (add e.g. '+00:00')"
        raise ValidationError.single("", msg, code="timezone")
    if match["zone"] is None:
        return parsed
    try:
        zone = zoneinfo.ZoneInfo(match["zone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        msg = f"{show(match['zone'])} is not a known IANA time zone"
        raise ValidationError.single("", msg, code="format") from None
    local = parsed.replace(tzinfo=None)
    for fold in (0, 1):
        candidate = local.replace(tzinfo=zone, fold=fold)
        if candidate.utcoffset() == offset:
            return candidate
    msg = f"{show(text)}: offset {parsed.strftime('%z')} is not used by {zone.key} at that time"
    raise ValidationError.single("", msg, code="timezone")


def _format_duration(value: dt.timedelta) -> str:
    """
    ISO 8601 duration in days, hours, minutes and seconds.

    """
    micros = value // dt.timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    days, micros = divmod(micros, _MICROS_PER["days"])
    hours, micros = divmod(micros, _MICROS_PER["hours"])
    minutes, micros = divmod(micros, _MICROS_PER["minutes"])
    seconds, micros = divmod(micros, _MICROS_PER["seconds"])
    time = ""
    if hours:
        time += f"{hours}H"
    if minutes:
        time += f"{minutes}M"
    if seconds or micros:
        time += f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    if not days and not time:
        return "PT0S"
    return f"{sign}P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def _parse_duration(text: str) -> dt.timedelta:
    """
    Read what :func:`format_duration` writes.
    """
    match = _DURATION.fullmatch(text)
    if match is None or text.lstrip("-") in ("P", "PT") or text.endswith("T"):
        msg = f"{show(text)} is not an ISO 8601 duration such as 'PT5M' or 'P1DT2H'"
        raise ValidationError.single("", msg, code="format")
    micros = sum(int(match[k] or 0) * per for k, per in _MICROS_PER.items())
    micros += int((match["fraction"] or "").ljust(6, "0"))
    try:
        value = dt.timedelta(microseconds=micros)
    except OverflowError:
        msg = f"{show(text)} is longer than a timedelta can hold"
        raise ValidationError.single("", msg, code="range") from None
    return -value if match["sign"] else value


def format_datetime(value: dt.datetime) -> str:
    """
    An aware datetime as funnelkit writes it: ISO 8601 with the offset, and
    the IANA zone in brackets when it has one (RFC 9557).

    >>> import zoneinfo
    >>> format_datetime(dt.datetime(2026, 11, 1, 1, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"), fold=1))
    '2026-11-01T01:30:00-05:00[America/New_York]'

    Cost: O(1).
    """
    if not isinstance(value, dt.datetime):
        raise _wrong_type(value, "an aware datetime").prefixed("value")
    problem = aware_datetime(value)
    if problem is not None:
        raise ValidationError([problem.prefixed("value")])
    return _format_datetime(value)


def parse_datetime(text: str) -> dt.datetime:
    """
    Read what :func:`format_datetime` writes; refuse a time with no offset.
    With a zone in brackets, the result carries that zone, and the offset
    picks the right side of a repeated hour (``fold``).

    Cost: O(length of text).
    """
    return _parse_text(text, _parse_datetime, "an ISO 8601 datetime string")


def format_duration(value: dt.timedelta) -> str:
    """
    A duration as funnelkit writes it: ISO 8601 in days, hours, minutes and
    seconds.

    >>> format_duration(dt.timedelta(minutes=5)), format_duration(dt.timedelta(days=1, seconds=1.5))
    ('PT5M', 'P1DT1.5S')

    Cost: O(1).
    """
    if not isinstance(value, dt.timedelta):
        raise _wrong_type(value, "a timedelta").prefixed("value")
    return _format_duration(value)


def parse_duration(text: str) -> dt.timedelta:
    """
    Read what :func:`format_duration` writes.

    Cost: O(length of text).
    """
    return _parse_text(text, _parse_duration, "an ISO 8601 duration string")


def _parse_text(text: object, parse: Callable[[str], T], what: str) -> T:
    """
    *text* read by *parse*, every problem located at the argument ``text``.
    """
    if not isinstance(text, str):
        raise _wrong_type(text, what).prefixed("text")
    try:
        return parse(text)
    except ValidationError as e:
        raise e.prefixed("text") from None


def format_zone(value: dt.tzinfo) -> str:
    """
    A time zone as funnelkit writes it: its IANA name (``"Asia/Shanghai"``),
    ``"UTC"``, or a fixed offset (``"+08:00"``).

    >>> format_zone(dt.timezone(dt.timedelta(hours=8))), format_zone(dt.UTC)
    ('+08:00', 'UTC')

    Cost: O(1).
    """
    if not isinstance(value, dt.tzinfo):
        raise _wrong_type(value, "a tzinfo").prefixed("value")
    try:
        return _format_zone(value)
    except ValidationError as e:
        raise e.prefixed("value") from None


def _format_decimal(value: Decimal) -> str:
    """
    A decimal in plain digits, or in scientific notation when plain digits
    would be absurdly long (``Decimal('1e999999')``): exact either way.
    """
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -60 and value.adjusted() < 60:
        return format(value, "f")
    return str(value)


_OFFSET = re.compile(r"(?P<sign>[+-])(?P<hours>[01][0-9]|2[0-3]):(?P<minutes>[0-5][0-9])")


def _format_zone(value: dt.tzinfo) -> str:
    """
    A time zone as its IANA name (``"Asia/Shanghai"``), ``"UTC"``, or a fixed
    offset (``"+08:00"``).

    """
    key = getattr(value, "key", None)
    if isinstance(key, str):
        return key
    offset = value.utcoffset(None)
    if value is dt.UTC or offset == dt.timedelta(0):
        return "UTC"
    if offset is None or offset % dt.timedelta(minutes=1):
        msg = f"{show(value)} is neither an IANA zone nor a fixed offset in whole minutes"
        raise ValidationError.single("", msg, code="timezone")
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(offset) // dt.timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _format_float(value: float) -> float | str:
    """
    A float as a JSON number; the three that JSON lacks as strings.
    """
    if value != value:  # noqa: PLR0124 - NaN
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value
