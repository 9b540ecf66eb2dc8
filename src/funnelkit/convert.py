"""
JSON-safe dicts in and out: :func:`to_dict` and :func:`from_dict`.

One ``cattrs`` converter, with strict hooks: money amounts and decimals travel
as strings, times as ISO 8601 with their UTC offset (entities hold UTC; a
datetime with a named zone gets the IANA name in brackets, RFC 9557, and
reads back in that zone), durations as ISO 8601 durations, enums as their
values, sets as sorted lists.

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
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import types
import typing
import zoneinfo
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs

from ._checks import a_type, article, aware_datetime, build_each, field_problems, show, to_decimal
from ._money import Money, amount_problem, currency_problem, to_amount
from .errors import Problem, ValidationError

T = TypeVar("T")

# --- time formats ---------------------------------------------------------

_ZONED = re.compile(r"(?P<iso>[^\[\]]+)(?:\[(?P<zone>[^\[\]]+)\])?")
_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<days>[0-9]{1,12})D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]{1,12})H)?(?:(?P<minutes>[0-9]{1,12})M)?"
    r"(?:(?P<seconds>[0-9]{1,12})(?:\.(?P<fraction>[0-9]{1,6}))?S)?)?"
)
_MICROS_PER = {"days": 86_400_000_000, "hours": 3_600_000_000, "minutes": 60_000_000, "seconds": 1_000_000}


def format_datetime(value: dt.datetime) -> str:
    """
    ISO 8601 with the offset; the IANA zone in brackets when there is one.

    >>> import zoneinfo
    >>> format_datetime(dt.datetime(2026, 11, 1, 1, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"), fold=1))
    '2026-11-01T01:30:00-05:00[America/New_York]'
    """
    text = dt.datetime.isoformat(value)
    key = getattr(value.tzinfo, "key", None)
    if isinstance(key, str) and key != "UTC":
        return f"{text}[{key}]"
    return text


def parse_datetime(text: str) -> dt.datetime:
    """
    Read what :func:`format_datetime` writes; refuse a time with no offset.

    With a zone in brackets, the result carries that zone, and the offset
    picks the right side of a repeated hour (``fold``).
    """
    match = _ZONED.fullmatch(text)
    if match is None:
        msg = f"{show(text)} is not an ISO 8601 datetime"
        raise ValidationError.single("", msg)
    try:
        parsed = dt.datetime.fromisoformat(match["iso"])
    except ValueError:
        msg = f"{show(text)} is not an ISO 8601 datetime such as '2026-03-02T09:30:00+08:00'"
        raise ValidationError.single("", msg) from None
    offset = parsed.utcoffset()
    if offset is None:
        msg = f"{show(text)} has no UTC offset; funnelkit refuses to guess one (add e.g. '+00:00')"
        raise ValidationError.single("", msg)
    if match["zone"] is None:
        return parsed
    try:
        zone = zoneinfo.ZoneInfo(match["zone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        msg = f"{show(match['zone'])} is not a known IANA time zone"
        raise ValidationError.single("", msg) from None
    local = parsed.replace(tzinfo=None)
    for fold in (0, 1):
        candidate = local.replace(tzinfo=zone, fold=fold)
        if candidate.utcoffset() == offset:
            return candidate
    msg = f"{show(text)}: offset {parsed.strftime('%z')} is not used by {zone.key} at that time"
    raise ValidationError.single("", msg)


def format_duration(value: dt.timedelta) -> str:
    """
    ISO 8601 duration in days, hours, minutes and seconds.

    >>> format_duration(dt.timedelta(minutes=5)), format_duration(dt.timedelta(days=1, seconds=1.5))
    ('PT5M', 'P1DT1.5S')
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


def parse_duration(text: str) -> dt.timedelta:
    """
    Read what :func:`format_duration` writes.
    """
    match = _DURATION.fullmatch(text)
    if match is None or text.lstrip("-") in ("P", "PT") or text.endswith("T"):
        msg = f"{show(text)} is not an ISO 8601 duration such as 'PT5M' or 'P1DT2H'"
        raise ValidationError.single("", msg)
    micros = sum(int(match[k] or 0) * per for k, per in _MICROS_PER.items())
    micros += int((match["fraction"] or "").ljust(6, "0"))
    try:
        value = dt.timedelta(microseconds=micros)
    except OverflowError:
        msg = f"{show(text)} is longer than a timedelta can hold"
        raise ValidationError.single("", msg) from None
    return -value if match["sign"] else value


# --- unstructuring (objects to JSON-safe data) ----------------------------


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _is_set_type(t: Any) -> bool:
    return t in (set, frozenset) or get_origin(t) in (set, frozenset)


def _sorted_list(value: frozenset[Any] | set[Any], converter: cattrs.Converter) -> list[Any]:
    out = [converter.unstructure(v) for v in value]
    try:
        return sorted(out)
    except TypeError:
        return sorted(out, key=repr)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(Money, lambda m: {"amount": format(m.amount, "f"), "currency": m.currency})
    conv.register_unstructure_hook(Decimal, _format_decimal)
    conv.register_unstructure_hook(dt.datetime, format_datetime)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_unstructure_hook(dt.timedelta, format_duration)
    conv.register_unstructure_hook(enum.Enum, _enum_value)
    conv.register_unstructure_hook(enum.StrEnum, _enum_value)  # before str in the MRO
    conv.register_unstructure_hook_factory(_is_set_type, lambda _t: lambda v: _sorted_list(v, conv))
    conv.register_unstructure_hook(tuple, lambda v: [conv.unstructure(x) for x in v])

    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_structure_hook(dt.timedelta, _structure_timedelta)
    conv.register_structure_hook(Money, _structure_money)
    for unsupported in (float, bytes, bytearray, complex):
        conv.register_structure_hook(unsupported, _unsupported)
    conv.register_structure_hook(enum.Enum, _structure_enum)
    conv.register_structure_hook(enum.StrEnum, _structure_enum)  # before str in the MRO
    conv.register_structure_hook_factory(_is_union, lambda t: _union_hook(t, conv))
    conv.register_structure_hook_factory(_is_sequence, lambda t: _sequence_hook(t, conv))
    conv.register_structure_hook_factory(_is_set_type, lambda t: _set_hook(t, conv))
    conv.register_structure_hook_factory(_is_mapping, lambda t: _mapping_hook(t, conv))
    conv.register_structure_hook_factory(attrs.has, lambda t: _attrs_hook(t, conv))
    return conv


def _format_decimal(value: Decimal) -> str:
    """
    A decimal in plain digits, or in scientific notation when plain digits
    would be absurdly long (``Decimal('1e999999')``): exact either way.
    """
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -60 and value.adjusted() < 60:
        return format(value, "f")
    return str(value)


# --- structuring (JSON-safe data to objects), strict ------------------------


def _unsupported(_value: object, t: type) -> object:
    msg = f"no funnelkit value is {article(t.__name__)}"
    raise _UnsupportedTypeError(msg)


def _wrong_type(value: object, expected: str) -> ValidationError:
    return ValidationError.single("", f"{show(value)} is {a_type(value)}; expected {expected}")


def _structure_str(value: object, _t: type) -> str:
    if not isinstance(value, str):
        raise _wrong_type(value, "a string")
    return value


def _structure_bool(value: object, _t: type) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(value, "true or false")
    return value


def _structure_int(value: object, _t: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(value, "an integer")
    return value


def _structure_decimal(value: object, _t: type) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _wrong_type(value, "a decimal number as a string, e.g. '0.25'")
    number = to_decimal(value)  # the one reading of int, float and str decimals
    if not isinstance(number, Decimal):
        msg = f"{show(value)} is not a finite decimal number in plain digits, such as '0.25'"
        raise ValidationError.single("", msg)
    return number


def _structure_datetime(value: object, _t: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        msg = aware_datetime(value)
        if msg is not None:
            raise ValidationError.single("", msg)
        return value
    if not isinstance(value, str):
        raise _wrong_type(value, "an ISO 8601 datetime string with a UTC offset")
    return parse_datetime(value)


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
        raise ValidationError.single("", msg)
    return parsed


def _structure_timedelta(value: object, _t: type) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if not isinstance(value, str):
        raise _wrong_type(value, "an ISO 8601 duration string, e.g. 'PT5M'")
    return parse_duration(value)


def _structure_money(value: object, _t: type) -> Money:
    if isinstance(value, Money):
        return value
    if not isinstance(value, Mapping):
        raise _wrong_type(value, "an object with 'amount' and 'currency'")
    problems = _key_problems(value, required=("amount", "currency"), allowed=("amount", "currency"))
    amount = value.get("amount")
    if "amount" in value:
        if isinstance(amount, float):
            msg: str | None = (
                f"{amount!r} is a number; send money amounts as strings, e.g. '12.30', so nothing is lost"
            )
        elif isinstance(amount, bool) or not isinstance(amount, str | int):
            msg = f"{show(amount)} is {a_type(amount)}; expected the amount as a string, e.g. '12.30'"
        else:
            msg = amount_problem(to_amount(amount))
        if msg is not None:
            problems.append(Problem(path="amount", message=msg))
    if "currency" in value:
        problem = currency_problem(value["currency"])
        if problem is not None:
            problems.append(Problem(path="currency", message=problem))
    if problems:
        raise ValidationError(problems)
    return Money(amount=value["amount"], currency=value["currency"])


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
        raise ValidationError.single("", msg) from None


class _UnsupportedTypeError(Exception):
    """
    A target type that funnelkit's converter does not read (a caller's mistake).
    """


def _lazy_hook(conv: cattrs.Converter, t: Any) -> Callable[[Any, Any], Any]:
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


def _is_union(t: Any) -> bool:
    return get_origin(t) in (typing.Union, types.UnionType)


def _union_hook(t: Any, conv: cattrs.Converter) -> Callable[[object, type], object]:
    members = [a for a in get_args(t) if a is not type(None)]
    optional = len(members) < len(get_args(t))
    if len(members) != 1:
        msg = f"funnelkit cannot read the union {t!r}"
        raise _UnsupportedTypeError(msg)
    (member,) = members

    member_hook = _lazy_hook(conv, member)

    def structure(value: object, _t: type) -> object:
        if value is None and optional:
            return None
        return member_hook(value, member)

    return structure


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


def _sequence_hook(t: Any, conv: cattrs.Converter) -> Callable[[object, type], object]:
    args = get_args(t)
    origin = get_origin(t) or t
    if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        msg = f"funnelkit reads only homogeneous tuples such as tuple[str, ...], not {t!r}"
        raise _UnsupportedTypeError(msg)
    item_type = args[0] if args else Any
    item_hook = _lazy_hook(conv, item_type)

    def structure(value: object, _t: type) -> object:
        items = _structure_items(_items_of(value, "a list"), item_type, item_hook)
        return tuple(items) if origin is tuple else items

    return structure


def _set_hook(t: Any, conv: cattrs.Converter) -> Callable[[object, type], object]:
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
            raise ValidationError.single("", msg) from None

    return structure


def _is_mapping(t: Any) -> bool:
    return t is dict or get_origin(t) in (dict, Mapping)


def _mapping_hook(t: Any, conv: cattrs.Converter) -> Callable[[object, type], object]:
    args = get_args(t)
    key_type, value_type = args or (Any, Any)
    key_hook, value_hook = _lazy_hook(conv, key_type), _lazy_hook(conv, value_type)

    def structure(value: object, _t: type) -> dict[Any, Any]:
        if not isinstance(value, Mapping):
            raise _wrong_type(value, "an object")
        out: dict[Any, Any] = {}
        problems: list[Problem] = []
        for k, v in value.items():
            where = _key_path(k)
            try:
                out[key_hook(k, key_type)] = value_hook(v, value_type)
            except ValidationError as e:
                problems.extend(p.prefixed(where) for p in e.problems)
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
    data: Mapping[Any, Any], *, required: tuple[str, ...], allowed: tuple[str, ...]
) -> list[Problem]:
    problems = [Problem(path=k, message="missing; this field is required") for k in required if k not in data]
    extra = [k for k in data if k not in allowed]
    for k in sorted(extra, key=repr):
        where = _key_path(k)
        problems.append(Problem(path=where, message=f"unknown field; allowed: {', '.join(allowed)}"))
    return problems


def _attrs_hook(cls: type, conv: cattrs.Converter) -> Callable[[object, type], object]:
    hints = typing.get_type_hints(cls)
    fields = attrs.fields(cls)
    names = tuple(f.name for f in fields)
    required = tuple(f.name for f in fields if f.default is attrs.NOTHING)
    hooks = {name: _lazy_hook(conv, hints[name]) for name in names}

    def structure(value: object, _t: type) -> object:
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise _wrong_type(value, f"an object with the fields of {cls.__name__}")
        problems = _key_problems(value, required=required, allowed=names)
        kwargs = {}
        for name in names:
            if name in value:
                try:
                    kwargs[name] = hooks[name](value[name], hints[name])
                except ValidationError as e:
                    problems.extend(p.prefixed(name) for p in e.problems)
        if problems:
            problems.extend(field_problems(cls, kwargs))
            problems.sort(key=lambda p: p.path)
            raise ValidationError(problems)
        return cls(**kwargs)

    return structure


_converter = _make_converter()


@functools.cache
def _fields_hook(cls: type) -> Callable[[object, type], object]:
    return _attrs_hook(cls, _converter)


def structure_fields(cls: type[T], data: object) -> T:
    """
    Read *data* as the fields of attrs class *cls* with the generic hook,
    even when *cls* has a hook of its own (which may then call this).
    """
    hook = _fields_hook(typing.cast("type", cls))
    return typing.cast("T", hook(data, cls))


def register(
    cls: type,
    *,
    unstructure: Callable[[Any], Any],
    structure: Callable[[Any], Any],
) -> None:
    """
    Teach the converter a funnelkit type that writes itself (``to_dict``) and
    reads itself (a ``from_dict`` that raises ``ValidationError``).  The
    structure hook applies to *cls* exactly, not its subclasses; values that
    already are a *cls* pass through.
    """
    _converter.register_unstructure_hook(cls, unstructure)

    def hook(value: object, _t: type) -> object:
        return value if isinstance(value, cls) else structure(value)

    _converter.register_structure_hook_func(lambda t: t is cls, hook)


def to_dict(obj: Any) -> Any:
    """
    Turn an entity, a ``Money`` or a collection of them into JSON-safe data.

    The result holds only dicts, lists, strings, ints, bools and ``None``.
    Collections nested deeper than Python's recursion limit are refused.

    Cost: O(size of obj).
    """
    try:
        return _converter.unstructure(obj)
    except RecursionError:
        msg = f"{show(obj)} is nested too deeply to write"
        raise ValidationError.single("obj", msg) from None


def from_dict(cls: type[T] | Any, data: Any) -> T:
    """
    Read *data* (as :func:`to_dict` or ``json.loads`` made it) as a *cls*.

    *cls* may be an entity class, ``Money`` or a collection type such as
    ``list[Opportunity]`` or ``dict[str, Customer]``.  Any problem, anywhere,
    raises one :class:`~funnelkit.errors.ValidationError` that lists them all
    with their paths; nothing else escapes.

    Cost: O(size of data).
    """
    try:
        if not isinstance(cls, type) and typing.get_origin(cls) is None:
            raise _UnsupportedTypeError("not a type")  # noqa: TRY301 - reported with the others below
        try:
            hook = _converter.get_structure_hook(cls)
        except (TypeError, ValueError, RecursionError) as e:  # not a type at all, e.g. [Customer]
            raise _UnsupportedTypeError(type(e).__name__) from None
        return typing.cast("T", hook(data, cls))
    except (cattrs.errors.StructureHandlerNotFoundError, _UnsupportedTypeError) as e:
        msg = (
            f"funnelkit cannot read {show(cls)} ({show(str(e))[1:-1]}); ask for an entity class, Money, "
            "or a list, tuple, set or dict of them"
        )
        raise ValidationError.single("cls", msg) from None
    except RecursionError:
        msg = f"{show(data)} is nested too deeply to read"
        raise ValidationError.single("data", msg) from None
