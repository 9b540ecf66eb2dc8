"""
JSON-safe documents in and out: one ``cattrs`` converter for every funnelkit value.

:func:`to_dict` writes any entity, event, requirement, policy, pipeline or
report as data that ``json.dumps`` accepts; :func:`from_dict` reads it back
to an equal value, strictly.  The formats, one for each kind of value:

- **numbers** that must stay exact travel as strings: a decimal in plain
  digits (``"0.25"``, ``"1000"``), a ratio held as a fraction as ``"1/3"``;
  money as ``{"amount": "12.30", "currency": "USD"}``; counts as JSON ints;
- **times** as ISO 8601 with their UTC offset (``"2026-03-02T01:30:00+00:00"``;
  a datetime with a named zone gets the IANA name in brackets, RFC 9557, and
  reads back in that zone), dates as ``"2026-03-31"``, **durations** as ISO
  8601 durations in days, hours, minutes and seconds (``"P1DT2H"``);
- enums as their values, sets as sorted lists, tuples as lists;
- a value of a **tagged family** (requirements, policies, events) carries its
  tag under the one key ``"type"`` (``{"type": "round_robin", ...}``), so a
  list that mixes them reads back through the base class or a union such as
  :data:`funnelkit.events.Event`.

Every field a value was built from is written, defaults included: a stored
document does not change meaning when a default changes.  Reading refuses a
key that is not a field (a newer document read by an older funnelkit, or a
typo) unless the converter was made with ``unknown_fields="ignore"``; a
field added in a later release always has a default, so older documents keep
reading.  There is no schema version in the document.

>>> import datetime as dt
>>> from funnelkit import Money, Lead, to_dict, from_dict
>>> lead = Lead(
...     id="l-1", source="web",
...     created_at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
...     estimated_value=Money.of("50000", "CNY"), intent_score="0.4",
... )
>>> data = to_dict(lead)
>>> data["created_at"], data["estimated_value"], data["intent_score"]
('2026-03-02T01:30:00+00:00', {'amount': '50000', 'currency': 'CNY'}, '0.4')
>>> from_dict(Lead, data) == lead
True

Reading refuses bad input with one :class:`~funnelkit.errors.ValidationError`
that lists every problem and where it is:

>>> from_dict(list[Lead], [data, {**data, "id": "", "estimated_value": {"amount": "1", "currency": "usd"}}])
Traceback (most recent call last):
...
funnelkit.errors.ValidationError: 2 problems:
  - [1].estimated_value.currency: 'usd' is not an ISO 4217 code (three upper-case letters, e.g. 'USD')
  - [1].id: '' is empty; an id must be a non-empty str

A host with its own ``cattrs`` converter installs funnelkit's hooks into it
with :func:`configure_converter` (as cattrs' ``preconf`` modules do), or
starts from :func:`make_converter`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import enum
import functools
import re
import types
import typing
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, TypeVar, get_args, get_origin

import attrs
import cattrs
import cattrs.gen

from ._checks import (
    a_type,
    article,
    as_int,
    aware_datetime,
    build_each,
    field_problems,
    plain,
    show,
    to_decimal,
)
from ._money import Money, amount_problem, currency_problem, to_amount
from .errors import Problem, ValidationError

__all__ = [
    "MAX_NESTING",
    "TAG",
    "UnknownFields",
    "configure_converter",
    "format_datetime",
    "format_duration",
    "format_zone",
    "from_dict",
    "make_converter",
    "parse_datetime",
    "parse_duration",
    "to_dict",
]

T = TypeVar("T")

#: The key that names a tagged value's class in its document.
TAG: str = "type"

#: What reading does with a key that is not a field: refuse it, or ignore it.
UnknownFields = Literal["refuse", "ignore"]

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


# --- tagged families ---------------------------------------------------------


def _tag_of(cls: object) -> str:
    """
    The tag of a tagged class (its ``type_name``), or ``""``.
    """
    tag = getattr(cls, "type_name", "")
    return tag if isinstance(tag, str) else ""


def _is_family(t: Any) -> bool:
    """
    Whether *t* is the base of a tagged family (``Requirement``, ``Policy``):
    a class with a ``type_name`` that is not itself a value.
    """
    return isinstance(t, type) and not attrs.has(t) and isinstance(getattr(t, "type_name", None), str)


def _members(base: type) -> Iterator[type]:
    """
    Every attrs class below *base* that has a tag, the caller's own included.
    """
    seen: set[type] = set()
    todo = [base]
    while todo:
        cls = todo.pop()
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if attrs.has(sub) and _tag_of(sub):
                    yield sub


def _tag_table(classes: typing.Iterable[type]) -> dict[str, type]:
    table: dict[str, type] = {}
    for cls in classes:
        tag = _tag_of(cls)
        other = table.setdefault(tag, cls)
        if other is not cls and not issubclass(cls, other) and not issubclass(other, cls):
            msg = f"the tag {tag!r} names both {other.__qualname__} and {cls.__qualname__}; give each its own"
            raise ValidationError.single(TAG, msg, code="duplicate")
    return table


# --- which fields a document holds ---------------------------------------------


@functools.cache
def _document_fields(cls: type) -> tuple[tuple[str, str], ...]:
    """
    ``(key, attribute)`` for each field a document of attrs class *cls* holds:
    the fields it is built from (``init``) and compared by (``eq``), and any
    other field it cannot be built without.  Caches and references that a
    value keeps beside its data (optional, not compared) are left out.
    """
    return tuple(
        (f.alias or f.name, f.name)
        for f in attrs.fields(cls)
        if f.init and (f.eq or f.default is attrs.NOTHING)
    )


# --- unstructuring (values to JSON-safe data) --------------------------------


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _is_set_type(t: Any) -> bool:
    return t in (set, frozenset) or get_origin(t) in (set, frozenset)


def _sorted(items: list[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


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


def _structure_zone(value: object, _t: type) -> dt.tzinfo:
    if isinstance(value, dt.tzinfo):
        return value
    if not isinstance(value, str):
        raise _wrong_type(value, "a time zone name such as 'Asia/Shanghai', 'UTC' or '+08:00'")
    if value == "UTC":
        return dt.UTC
    match = _OFFSET.fullmatch(value)
    if match is not None:
        offset = dt.timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
        return dt.timezone(-offset if match["sign"] == "-" else offset)
    from ._time import zone

    try:
        return zone(value)
    except ValidationError:
        msg = f"{show(value)} is not a known IANA zone name, 'UTC' or an offset such as '+08:00'"
        raise ValidationError.single("", msg, code="format") from None


def _format_float(value: float) -> float | str:
    """
    A float as a JSON number; the three that JSON lacks as strings.
    """
    if value != value:  # noqa: PLR0124 - NaN
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _is_mapping_class(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, Mapping) and not attrs.has(t)


def _unstructure_mapping(value: Mapping[Any, Any], conv: cattrs.BaseConverter) -> Any:
    """
    A mapping as a JSON object when every key is written as a string; else as
    a list of ``[key, value]`` pairs (JSON objects hold string keys only).
    """
    pairs = [(conv.unstructure(k), conv.unstructure(v)) for k, v in value.items()]
    if all(isinstance(k, str) for k, _ in pairs):
        return dict(pairs)
    return _sorted([[k, v] for k, v in pairs])


def _attrs_unstructure(cls: type, conv: cattrs.BaseConverter) -> Callable[[Any], dict[str, Any]]:
    fields = _document_fields(cls)
    tag = _tag_of(cls)
    try:
        attrs.resolve_types(cls)  # the annotations are strings (PEP 563)
    except Exception:  # noqa: BLE001 - a caller's class whose annotations do not resolve: the generic loop
        return _attrs_unstructure_loop(cls, conv)
    keep = {name for _, name in fields}
    omit = {f.name: cattrs.gen.override(omit=True) for f in attrs.fields(cls) if f.name not in keep}
    generated: Callable[[Any], dict[str, Any]] = cattrs.gen.make_dict_unstructure_fn(
        cls,
        conv,  # any cattrs converter
        _cattrs_use_alias=True,
        **omit,  # type: ignore[arg-type]  # field name -> override
    )
    if not tag:
        return generated

    def tagged(value: Any) -> dict[str, Any]:
        return {TAG: tag, **generated(value)}

    return tagged


def _attrs_unstructure_loop(cls: type, conv: cattrs.BaseConverter) -> Callable[[Any], dict[str, Any]]:
    """
    The fields of *cls* one by one, each by its runtime type: for a class
    whose annotations cannot be resolved, so no code can be generated for it.
    """
    fields = _document_fields(cls)
    tag = _tag_of(cls)
    unstructure = conv.unstructure

    def hook(value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {TAG: tag} if tag else {}
        for key, name in fields:
            out[key] = unstructure(getattr(value, name))
        return out

    return hook


def _unstructure_predicate(value: Any) -> dict[str, Any]:
    # a predicate's test is code: the document names it, the reader supplies it
    return {TAG: value.type_name, "name": value.name}


# --- structuring (JSON-safe data to values), strict ------------------------------

#: The custom predicates of the current read (Pipeline.from_dict, from_dict(predicates=)).
_PREDICATES: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "funnelkit_predicates", default=None
)


class _UnsupportedTypeError(Exception):
    """
    A target type that funnelkit's converter does not read (a caller's mistake).
    """


def _unsupported(_value: object, t: type) -> object:
    msg = f"no funnelkit value is {article(t.__name__)}"
    raise _UnsupportedTypeError(msg)


def _wrong_type(value: object, expected: str) -> ValidationError:
    return ValidationError.single("", f"{show(value)} is {a_type(value)}; expected {expected}", code="type")


def _structure_str(value: object, _t: type) -> str:
    if not isinstance(value, str):
        raise _wrong_type(value, "a string")
    return value


def _structure_bool(value: object, _t: type) -> bool:
    value = plain(value)  # numpy's bool, as a table library's records hold it
    if not isinstance(value, bool):
        raise _wrong_type(value, "true or false")
    return value


def _structure_int(value: object, _t: type) -> int:
    number = as_int(value)  # an int, or numpy's, as a table library's records hold it
    if number is None:
        raise _wrong_type(value, "an integer")
    return number


_FLOAT_WORDS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _structure_float(value: object, _t: type) -> float:
    value = plain(value)
    if isinstance(value, str) and value in _FLOAT_WORDS:
        return _FLOAT_WORDS[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type(value, "a number")
    try:
        return float(value)
    except OverflowError:
        msg = f"{show(value)} is too large for a float"
        raise ValidationError.single("", msg, code="range") from None


def _structure_decimal(value: object, _t: type) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite():
        return value
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _wrong_type(value, "a decimal number as a string, e.g. '0.25'")
    number = to_decimal(value)  # the one reading of int, float and str decimals
    if not isinstance(number, Decimal):
        msg = f"{show(value)} is not a finite decimal number in plain digits, such as '0.25'"
        raise ValidationError.single("", msg, code="format")
    return number


_FRACTION = re.compile(r"-?[0-9]{1,1000}(?:/[0-9]{1,1000})?")


def _structure_fraction(value: object, _t: type) -> Fraction:
    if isinstance(value, Fraction):
        return value
    number = as_int(value)  # an int, or numpy's
    if number is not None:
        return Fraction(number)
    if not isinstance(value, str):
        raise _wrong_type(value, "a ratio as a string, e.g. '1/3'")
    if _FRACTION.fullmatch(value) is None or ("/" in value and not value.split("/")[1].strip("0")):
        msg = f"{show(value)} is not a ratio such as '1/3' or '2'"
        raise ValidationError.single("", msg, code="format")
    return Fraction(value)


def _structure_datetime(value: object, _t: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        problem = aware_datetime(value)
        if problem is not None:
            raise ValidationError([problem])
        return value
    if not isinstance(value, str):
        raise _wrong_type(value, "an ISO 8601 datetime string with a UTC offset")
    return _parse_datetime(value)


def _structure_date(value: object, _t: type) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise _wrong_type(value, "an ISO 8601 date string, e.g. '2026-03-31'")
    try:
        parsed = dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        parsed = None
    if parsed is None:
        msg = f"{show(value)} is not an ISO 8601 date such as '2026-03-31'"
        raise ValidationError.single("", msg, code="format")
    return parsed


def _structure_timedelta(value: object, _t: type) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if not isinstance(value, str):
        raise _wrong_type(value, "an ISO 8601 duration string, e.g. 'PT5M'")
    return _parse_duration(value)


def _structure_money(value: object, _t: type) -> Money:
    if isinstance(value, Money):
        return value
    if not isinstance(value, Mapping):
        raise _wrong_type(value, "an object with 'amount' and 'currency'")
    problems = _key_problems(value, required=("amount", "currency"), allowed=("amount", "currency"))
    amount = value.get("amount")
    if as_int(amount) is not None:
        amount = as_int(amount)  # numpy's int, as a table's cell holds it
    if "amount" in value:
        code = "type"
        if isinstance(amount, float):
            msg: str | None = (
                f"{amount!r} is a number; send money amounts as strings, e.g. '12.30', so nothing is lost"
            )
        elif isinstance(amount, bool) or not isinstance(amount, str | int):
            msg = f"{show(amount)} is {a_type(amount)}; expected the amount as a string, e.g. '12.30'"
        else:
            found = amount_problem(to_amount(amount))
            msg, code = (None, code) if found is None else (found.message, found.code)
        if msg is not None:
            problems.append(Problem(path="amount", code=code, message=msg))
    if "currency" in value:
        problem = currency_problem(value["currency"])
        if problem is not None:
            problems.append(problem.prefixed("currency"))
    if problems:
        raise ValidationError(problems)
    return Money(amount=amount, currency=value["currency"])  # type: ignore[arg-type]  # checked above


@functools.cache
def _enum_values(enum_cls: type[enum.Enum]) -> tuple[dict[object, enum.Enum], str]:
    by_value = {m.value: m for m in enum_cls}
    return by_value, ", ".join(repr(v) for v in by_value)


def _structure_enum(value: object, enum_cls: type[enum.Enum]) -> enum.Enum:
    by_value, allowed = _enum_values(enum_cls)
    try:
        return by_value[value]
    except (KeyError, TypeError):
        msg = f"{show(value)} is not {article(enum_cls.__name__)}; allowed: {allowed}"
        raise ValidationError.single("", msg, code="choice") from None


def _lazy_hook(conv: cattrs.BaseConverter, t: Any) -> Callable[[Any, Any], Any]:
    """
    The structure hook for *t*, looked up on first use (so that recursive
    types such as an outcome holding outcomes do not recurse while building).
    """
    found: list[Callable[[Any, Any], Any]] = []

    def hook(value: Any, target: Any) -> Any:
        if not found:
            try:
                found.append(conv.get_structure_hook(t))
            except TypeError as e:  # not a type at all, e.g. list[[Customer]]
                raise _UnsupportedTypeError(str(e)) from None
        return found[0](value, target)

    return hook


#: The deepest tagged values nest in one document (an all-of inside an all-of ...).
MAX_NESTING: int = 32

_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("funnelkit_nesting", default=0)


def _tag_dispatch(
    value: object, table: Callable[[], dict[str, type]], what: str, conv: cattrs.BaseConverter
) -> object:
    """
    Read *value* as the member of a tagged family that its ``"type"`` names.
    """
    if not isinstance(value, Mapping):
        raise _wrong_type(value, f"an object with a {TAG!r} naming {what}")
    tag = value.get(TAG)
    known = table()
    cls = known.get(tag) if isinstance(tag, str) else None
    if cls is None:
        if TAG not in value:
            msg = f"missing; name {what}: one of {', '.join(sorted(known))}"
            raise ValidationError.single(TAG, msg, code="missing")
        msg = f"{show(tag)} is not {what}; allowed: {', '.join(sorted(known))}"
        raise ValidationError.single(TAG, msg, code="choice")
    depth = _DEPTH.get()
    if depth >= MAX_NESTING:
        msg = f"tagged values nest more than {MAX_NESTING} levels deep; at most {MAX_NESTING} are read"
        raise ValidationError.single("", msg, code="nested")
    token = _DEPTH.set(depth + 1)
    try:
        return conv.get_structure_hook(cls)(value, cls)
    finally:
        _DEPTH.reset(token)


def _family_hook(base: type, conv: cattrs.BaseConverter) -> Callable[[object, type], object]:
    what = article(base.__name__)

    def structure(value: object, _t: type) -> object:
        if isinstance(value, base):
            return value
        return _tag_dispatch(value, lambda: _tag_table(_members(base)), what, conv)

    return structure


def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _literal_hook(t: Any) -> Callable[[object, type], object]:
    allowed = get_args(t)

    def structure(value: object, _t: type) -> object:
        for option in allowed:
            if value == option and type(value) is type(option):
                return option
        msg = f"{show(value)} is not one of {', '.join(map(repr, allowed))}"
        raise ValidationError.single("", msg, code="choice")

    return structure


#: The types a union of plain values may hold (a time that is a number or a duration).
_SCALARS = (int, float, Decimal, Fraction, dt.timedelta)


def _scalar_union_hook(members: tuple[Any, ...], optional: bool) -> Callable[[object, type], object]:
    """
    Read a union of plain values by the form of the document's value: a JSON
    number as an int or float, a string as a duration (``"P1D"``), a ratio
    (``"1/3"``) or a decimal (``"1.5"``), whichever of them the union holds.
    """
    names = " or ".join(m.__name__ for m in members)

    def structure(value: object, _t: type) -> object:
        if value is None and optional:
            return None
        if isinstance(value, members) and not isinstance(value, bool):
            return value
        number = as_int(value)
        if number is not None and int in members:
            return number
        if isinstance(value, str):
            if dt.timedelta in members and value.lstrip("-").startswith("P"):
                return _parse_duration(value)
            if Fraction in members and "/" in value:
                return _structure_fraction(value, Fraction)
            if Decimal in members:
                return _structure_decimal(value, Decimal)
            if Fraction in members:
                return _structure_fraction(value, Fraction)
        if isinstance(value, float) and float in members:
            return value
        raise _wrong_type(value, names)

    return structure


def _is_union(t: Any) -> bool:
    return get_origin(t) in (typing.Union, types.UnionType)


def _union_hook(t: Any, conv: cattrs.BaseConverter) -> Callable[[object, type], object]:
    members = [a for a in get_args(t) if a is not type(None)]
    optional = len(members) < len(get_args(t))
    if len(members) == 1:
        (member,) = members
        member_hook = _lazy_hook(conv, member)

        def structure_one(value: object, _t: type) -> object:
            if value is None and optional:
                return None
            return member_hook(value, member)

        return structure_one
    if all(m in _SCALARS for m in members):
        return _scalar_union_hook(tuple(members), optional)
    if not all(_tag_of(m) or _is_family(m) for m in members if isinstance(m, type)) or not all(
        isinstance(m, type) for m in members
    ):
        msg = f"funnelkit reads a union only of tagged values (requirements, policies, events), not {t!r}"
        raise _UnsupportedTypeError(msg)

    def table() -> dict[str, type]:
        classes: list[type] = []
        for m in members:
            classes.extend(_members(m) if _is_family(m) else [m])
        return _tag_table(classes)

    what = " or ".join(article(m.__name__) for m in members)

    def structure_tagged(value: object, _t: type) -> object:
        if value is None and optional:
            return None
        if isinstance(value, tuple(members)):
            return value
        return _tag_dispatch(value, table, what, conv)

    return structure_tagged


def _is_sequence(t: Any) -> bool:
    return t in (list, tuple) or get_origin(t) in (list, tuple)


def _items_of(value: object, expected: str) -> list[object]:
    if not isinstance(value, list | tuple):
        raise _wrong_type(value, expected)
    return list(value)


def _structure_items(values: list[object], item_type: Any, item_hook: Callable[[Any, Any], Any]) -> list[Any]:
    out, problems = build_each(values, lambda item: item_hook(item, item_type))
    if problems:
        raise ValidationError(problems)
    return out


def _fixed_tuple_hook(args: tuple[Any, ...], conv: cattrs.BaseConverter) -> Callable[[object, type], object]:
    hooks = [(_lazy_hook(conv, a), a) for a in args]

    def structure(value: object, _t: type) -> object:
        items = _items_of(value, f"a list of {len(hooks)}")
        if len(items) != len(hooks):
            msg = f"{show(value)} has {len(items)} items; expected {len(hooks)}"
            raise ValidationError.single("", msg, code="type")
        out: list[object] = []
        problems: list[Problem] = []
        for i, (item, (hook, a)) in enumerate(zip(items, hooks, strict=True)):
            try:
                out.append(hook(item, a))
            except ValidationError as e:
                problems.extend(p.prefixed(f"[{i}]") for p in e.problems)
        if problems:
            raise ValidationError(problems)
        return tuple(out)

    return structure


def _sequence_hook(t: Any, conv: cattrs.BaseConverter) -> Callable[[object, type], object]:
    args = get_args(t)
    origin = get_origin(t) or t
    if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        return _fixed_tuple_hook(args, conv)
    item_type = args[0] if args else Any
    item_hook = _lazy_hook(conv, item_type)

    def structure(value: object, _t: type) -> object:
        items = _structure_items(_items_of(value, "a list"), item_type, item_hook)
        return tuple(items) if origin is tuple else items

    return structure


def _set_hook(t: Any, conv: cattrs.BaseConverter) -> Callable[[object, type], object]:
    args = get_args(t)
    item_type = args[0] if args else Any
    origin = get_origin(t) or t
    item_hook = _lazy_hook(conv, item_type)

    def structure(value: object, _t: type) -> object:
        items = _structure_items(_items_of(value, "a list"), item_type, item_hook)
        try:
            return origin(items)
        except TypeError:
            msg = "items cannot be put in a set (unhashable)"
            raise ValidationError.single("", msg, code="type") from None

    return structure


def _is_mapping(t: Any) -> bool:
    return t is dict or get_origin(t) in (dict, Mapping) or t is Mapping


def _mapping_pairs(value: object) -> list[tuple[object, object]]:
    """
    The items of a JSON object, or of a list of ``[key, value]`` pairs (how
    a mapping whose keys are not strings is written).
    """
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, list | tuple):
        pairs = []
        for i, pair in enumerate(value):
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                msg = f"{show(pair)} is not a [key, value] pair"
                raise ValidationError.single(f"[{i}]", msg, code="type")
            pairs.append((pair[0], pair[1]))
        return pairs
    raise _wrong_type(value, "an object, or a list of [key, value] pairs")


def _mapping_hook(t: Any, conv: cattrs.BaseConverter) -> Callable[[object, type], object]:
    args = get_args(t)
    key_type, value_type = args or (Any, Any)
    key_hook, value_hook = _lazy_hook(conv, key_type), _lazy_hook(conv, value_type)

    def structure(value: object, _t: type) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        problems: list[Problem] = []
        for k, v in _mapping_pairs(value):
            where = _key_path(k)
            try:
                out[key_hook(k, key_type)] = value_hook(v, value_type)
            except ValidationError as e:
                problems.extend(p.prefixed(where) for p in e.problems)
            except TypeError:  # an unhashable key read as a list
                problems.append(Problem(path=where, code="type", message="cannot be a key (unhashable)"))
        if problems:
            raise ValidationError(problems)
        return out

    return structure


def _key_path(key: object) -> str:
    """
    How a mapping key appears in a problem's path: ``name`` for a key that
    reads as a field name, ``['c-2']`` for any other.
    """
    return key if isinstance(key, str) and key.isidentifier() else f"[{show(key)}]"


def _key_problems(
    data: Mapping[Any, Any],
    *,
    required: tuple[str, ...],
    allowed: tuple[str, ...],
    unknown_fields: UnknownFields = "refuse",
) -> list[Problem]:
    problems = [
        Problem(path=k, code="missing", message="missing; this field is required")
        for k in required
        if k not in data
    ]
    if unknown_fields == "refuse":
        extra = [k for k in data if k not in allowed]
        for k in sorted(extra, key=repr):
            problems.append(
                Problem(
                    path=_key_path(k),
                    code="unknown_field",
                    message=f"unknown field; allowed: {', '.join(allowed)}",
                )
            )
    return problems


def _attrs_hook(
    cls: type, conv: cattrs.BaseConverter, unknown_fields: UnknownFields
) -> Callable[[object, type], object]:
    try:
        hints = typing.get_type_hints(cls)
    except Exception as e:  # noqa: BLE001 - a caller's class whose annotations do not resolve
        msg = f"the annotations of {cls.__qualname__} do not resolve ({type(e).__name__}: {e})"
        raise _UnsupportedTypeError(msg) from None
    fields = _document_fields(cls)
    defaults = {f.name: f.default for f in attrs.fields(cls)}
    tag = _tag_of(cls)
    keys = tuple(key for key, _ in fields)
    allowed = (TAG, *keys) if tag else keys
    required = tuple(key for key, name in fields if defaults[name] is attrs.NOTHING)
    hooks = {key: (name, _lazy_hook(conv, hints[name]), hints[name]) for key, name in fields}

    def structure(value: object, _t: type) -> object:
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise _wrong_type(value, f"an object with the fields of {cls.__name__}")
        problems = _key_problems(value, required=required, allowed=allowed, unknown_fields=unknown_fields)
        if tag and TAG in value and value[TAG] != tag:
            msg = f"{show(value[TAG])} is not {tag!r}, the tag of {cls.__name__}"
            problems.append(Problem(path=TAG, code="choice", message=msg))
        kwargs, by_name = {}, {}
        for key, (name, hook, hint) in hooks.items():
            if key in value:
                try:
                    kwargs[key] = by_name[name] = hook(value[key], hint)
                except ValidationError as e:
                    problems.extend(p.prefixed(key) for p in e.problems)
        if problems:
            problems.extend(field_problems(cls, by_name))
            problems.sort(key=lambda p: p.path)
            raise ValidationError(problems)
        return cls(**kwargs)

    return structure


def _structure_predicate(value: object, t: type) -> object:
    if isinstance(value, t):
        return value
    if not isinstance(value, Mapping):
        raise _wrong_type(value, "an object with the name of a predicate")
    problems = _key_problems(value, required=("name",), allowed=(TAG, "name"))
    if problems:
        raise ValidationError(problems)
    name, known = value["name"], _PREDICATES.get() or {}
    if not isinstance(name, str) or name not in known:
        names = ", ".join(sorted(k if isinstance(k, str) else show(k) for k in known)) or "none were given"
        msg = f"{show(name)} is not a known predicate; pass predicates={{name: Predicate}} (known: {names})"
        raise ValidationError.single("name", msg, code="reference")
    found = known[name]
    if found.name != name:
        msg = f"predicates[{name!r}] is named {found.name!r}; the names must agree"
        raise ValidationError.single("name", msg, code="conflict")
    return found


def _check_predicates(predicates: object) -> Mapping[str, Any]:
    from .stages import Predicate

    if predicates is None:
        return {}
    if not isinstance(predicates, Mapping) or not all(isinstance(p, Predicate) for p in predicates.values()):
        msg = f"{show(predicates)} is not a mapping of name to Predicate"
        raise ValidationError.single("predicates", msg, code="type")
    return predicates


@contextlib.contextmanager
def _predicates_in_scope(predicates: object) -> Iterator[None]:
    """
    Make *predicates* the ones a read finds ``"predicate"`` requirements in.
    """
    token = _PREDICATES.set(_check_predicates(predicates))
    try:
        yield
    finally:
        _PREDICATES.reset(token)


#: The converter reading a pipeline, and its policy for unknown fields, while Pipeline.from_dict runs.
_READER: contextvars.ContextVar[tuple[cattrs.BaseConverter, UnknownFields] | None] = contextvars.ContextVar(
    "funnelkit_reader", default=None
)


def _pipeline_hook(
    conv: cattrs.BaseConverter, unknown_fields: UnknownFields
) -> Callable[[object, type], object]:
    """
    The structure hook for pipelines: their own reader (it reports the
    problems of the graph too), reading stages and requirements with *conv*.
    """

    def structure(value: object, t: type) -> object:
        token = _READER.set((conv, unknown_fields))
        try:
            return t.from_dict(value, predicates=_PREDICATES.get())  # type: ignore[attr-defined]
        finally:
            _READER.reset(token)

    return structure


# --- the converter -------------------------------------------------------------


def configure_converter(converter: cattrs.BaseConverter, *, unknown_fields: UnknownFields = "refuse") -> None:
    """
    Install funnelkit's hooks into *converter* (a ``cattrs`` converter of the
    caller's), so that it writes and reads funnelkit values as :func:`to_dict`
    and :func:`from_dict` do.  *unknown_fields* says what reading does with a
    key that is not a field: ``"refuse"`` it (the default) or ``"ignore"`` it.

    The hooks take precedence over those already installed for the same
    types; the converter keeps its hooks for every other type.

    >>> import cattrs
    >>> from funnelkit import Money
    >>> mine = cattrs.Converter()
    >>> configure_converter(mine)
    >>> mine.unstructure(Money.of("12.30", "USD"))
    {'amount': '12.30', 'currency': 'USD'}

    Cost: O(1); the hooks of each type are built on its first use.
    """
    if not isinstance(converter, cattrs.BaseConverter):
        msg = f"{show(converter)} is {a_type(converter)}; expected a cattrs converter"
        raise ValidationError.single("converter", msg, code="type")
    if unknown_fields not in ("refuse", "ignore"):
        msg = f"{show(unknown_fields)} is not a policy for unknown fields; allowed: 'refuse', 'ignore'"
        raise ValidationError.single("unknown_fields", msg, code="choice")
    from .stages import Pipeline, Predicate  # the converter knows the values; the values do not know it

    conv = converter
    conv.register_unstructure_hook(Money, lambda m: {"amount": format(m.amount, "f"), "currency": m.currency})
    conv.register_unstructure_hook(Decimal, _format_decimal)
    conv.register_unstructure_hook(Fraction, str)
    conv.register_unstructure_hook(float, _format_float)
    conv.register_unstructure_hook(dt.datetime, _format_datetime)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_unstructure_hook(dt.timedelta, _format_duration)
    conv.register_unstructure_hook(dt.tzinfo, _format_zone)
    conv.register_unstructure_hook(enum.Enum, _enum_value)
    conv.register_unstructure_hook(enum.StrEnum, _enum_value)  # before str in the MRO
    conv.register_unstructure_hook_factory(
        _is_set_type, lambda _t: lambda v: _sorted([conv.unstructure(x) for x in v])
    )
    conv.register_unstructure_hook(tuple, lambda v: [conv.unstructure(x) for x in v])
    conv.register_unstructure_hook(list, lambda v: [conv.unstructure(x) for x in v])
    conv.register_unstructure_hook_factory(
        _is_mapping_class, lambda _t: lambda v: _unstructure_mapping(v, conv)
    )
    conv.register_unstructure_hook_factory(_is_mapping, lambda _t: lambda v: _unstructure_mapping(v, conv))
    conv.register_unstructure_hook_factory(attrs.has, lambda t: _attrs_unstructure(t, conv))
    # a field typed as a family's base holds some member: write it by its own class
    conv.register_unstructure_hook_factory(_is_family, lambda _t: conv.unstructure)
    conv.register_unstructure_hook(Predicate, _unstructure_predicate)

    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(Fraction, _structure_fraction)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_structure_hook(dt.timedelta, _structure_timedelta)
    conv.register_structure_hook(dt.tzinfo, _structure_zone)
    conv.register_structure_hook(Money, _structure_money)
    for unsupported in (bytes, bytearray, complex):
        conv.register_structure_hook(unsupported, _unsupported)
    conv.register_structure_hook(enum.Enum, _structure_enum)
    conv.register_structure_hook(enum.StrEnum, _structure_enum)  # before str in the MRO
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_union, lambda t: _union_hook(t, conv))
    conv.register_structure_hook_factory(_is_sequence, lambda t: _sequence_hook(t, conv))
    conv.register_structure_hook_factory(_is_set_type, lambda t: _set_hook(t, conv))
    conv.register_structure_hook_factory(_is_mapping, lambda t: _mapping_hook(t, conv))
    conv.register_structure_hook_factory(attrs.has, lambda t: _attrs_hook(t, conv, unknown_fields))
    conv.register_structure_hook_factory(_is_family, lambda t: _family_hook(t, conv))
    conv.register_structure_hook_func(lambda t: t is Predicate, _structure_predicate)
    conv.register_structure_hook_func(lambda t: t is Pipeline, _pipeline_hook(conv, unknown_fields))


def make_converter(*, unknown_fields: UnknownFields = "refuse") -> cattrs.Converter:
    """
    A new ``cattrs`` converter with funnelkit's hooks (see
    :func:`configure_converter`); :func:`to_dict` and :func:`from_dict` use
    one made with the defaults.

    >>> from funnelkit.assignment import RoundRobin
    >>> lenient = make_converter(unknown_fields="ignore")
    >>> lenient.structure({"type": "round_robin", "name": "rr", "reps": ["ann"], "note": "new"}, RoundRobin)
    RoundRobin(name='rr', reps=('ann',))

    Cost: O(1); the hooks of each type are built on its first use.
    """
    converter = cattrs.Converter()
    configure_converter(converter, unknown_fields=unknown_fields)
    return converter


@functools.cache
def _default() -> cattrs.Converter:
    return make_converter()


def _structure_fields(cls: type[T], data: object) -> T:
    """
    Read *data* as the fields of attrs class *cls* with the generic hook,
    even when *cls* has a hook of its own (which may then call this).
    """
    reader = _READER.get()
    if reader is None or reader[0] is _default():
        return typing.cast("T", _fields_hook(typing.cast("type", cls))(data, cls))
    conv, unknown_fields = reader  # a lenient converter, or a host's
    return typing.cast("T", _attrs_hook(typing.cast("type", cls), conv, unknown_fields)(data, cls))


@functools.cache
def _fields_hook(cls: type) -> Callable[[object, type], object]:
    return _attrs_hook(cls, _default(), "refuse")


def to_dict(obj: Any) -> Any:
    """
    Write a funnelkit value (or a list, tuple, set or dict of them) as
    JSON-safe data.

    The result holds only dicts, lists, strings, ints, floats, bools and
    ``None``, so ``json.dumps`` accepts it; :func:`from_dict` reads it back
    to an equal value.  Collections nested deeper than Python's recursion
    limit are refused.

    Cost: O(size of obj).
    """
    try:
        return _default().unstructure(obj)
    except RecursionError:
        msg = f"{show(obj)} is nested too deeply to write"
        raise ValidationError.single("obj", msg, code="nested") from None


def from_dict(cls: type[T] | Any, data: Any, *, predicates: Mapping[str, Any] | None = None) -> T:
    """
    Read *data* (as :func:`to_dict` or ``json.loads`` made it) as a *cls*.

    *cls* may be any funnelkit value class, the base of a tagged family
    (``Requirement``, ``Policy``), a union of tagged classes such as
    :data:`funnelkit.events.Event`, ``Money``, or a list, tuple, set or dict
    of them.  Custom :class:`~funnelkit.stages.Predicate` requirements are
    found by name in *predicates*.  Any problem, anywhere, raises one
    :class:`~funnelkit.errors.ValidationError` that lists them all with their
    paths; nothing else escapes.

    Cost: O(size of data).
    """
    with _predicates_in_scope(predicates):
        return typing.cast("T", _read(cls, data))


def _read(cls: Any, data: Any) -> Any:
    try:
        if not isinstance(cls, type) and typing.get_origin(cls) is None:
            raise _UnsupportedTypeError("not a type")  # noqa: TRY301 - reported with the others below
        try:
            hook = _default().get_structure_hook(cls)
        except (TypeError, ValueError, RecursionError) as e:  # not a type at all, e.g. [Customer]
            raise _UnsupportedTypeError(type(e).__name__) from None
        return hook(data, cls)
    except (cattrs.errors.StructureHandlerNotFoundError, _UnsupportedTypeError) as e:
        msg = (
            f"funnelkit cannot read {show(cls)} ({show(str(e))[1:-1]}); ask for a funnelkit value class, "
            "Money, or a list, tuple, set or dict of them"
        )
        raise ValidationError.single("cls", msg, code="type") from None
    except RecursionError:
        msg = f"{show(data)} is nested too deeply to read"
        raise ValidationError.single("data", msg, code="nested") from None
