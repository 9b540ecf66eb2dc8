"""
Reading documents: strict structure hooks that report every problem with
its path, for every kind of value funnelkit holds.
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
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, TypeVar, get_args, get_origin

import attrs
import cattrs

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
from ._formats import _OFFSET, _parse_datetime, _parse_duration, _wrong_type
from ._money import Money, amount_problem, currency_problem, to_amount
from ._tags import TAG, _document_fields, _is_family, _members, _tag_of, _tag_table
from .errors import Problem, ValidationError

T = TypeVar("T")

#: What reading does with a key that is not a field: refuse it, or ignore it.
UnknownFields = Literal["refuse", "ignore"]


def _is_set_type(t: Any) -> bool:
    return t in (set, frozenset) or get_origin(t) in (set, frozenset)


def _structure_zone(value: object, _t: type) -> dt.tzinfo:
    if isinstance(value, dt.tzinfo):
        return value
    if not isinstance(value, str):
        raise _wrong_type(value, "a time zone name such as 'Asia/Shanghai', 'UTC' or '+08:00'")
    match = _OFFSET.fullmatch(value)
    if match is not None:
        offset = dt.timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
        return dt.timezone(-offset if match["sign"] == "-" else offset)
    from ._time import zone

    try:
        return zone(value)  # "UTC" is datetime.UTC
    except ValidationError:
        msg = f"{show(value)} is not a known IANA zone name, 'UTC' or an offset such as '+08:00'"
        raise ValidationError.single("", msg, code="format") from None


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
    if not isinstance(value, list | tuple) or attrs.has(type(value)):  # a record is a value, not a list
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


#: While Pipeline.from_dict runs for a converter: that converter's hooks for the fields of a class.
_READER: contextvars.ContextVar[Callable[[type], Callable[[object, type], object]] | None] = (
    contextvars.ContextVar("funnelkit_reader", default=None)
)


def _pipeline_hook(
    conv: cattrs.BaseConverter, unknown_fields: UnknownFields
) -> Callable[[object, type], object]:
    """
    The structure hook for pipelines: their own reader (it reports the
    problems of the graph too), reading stages and requirements with *conv*.
    """

    hooks: dict[type, Callable[[object, type], object]] = {}  # built once per class, per converter

    def fields_hook(cls: type) -> Callable[[object, type], object]:
        hook = hooks.get(cls)
        if hook is None:
            hook = hooks[cls] = _attrs_hook(cls, conv, unknown_fields)
        return hook

    def structure(value: object, t: type) -> object:
        token = _READER.set(fields_hook)
        try:
            return t.from_dict(value, predicates=_PREDICATES.get())  # type: ignore[attr-defined]
        finally:
            _READER.reset(token)

    return structure
