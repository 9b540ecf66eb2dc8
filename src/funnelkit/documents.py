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

import datetime as dt
import enum
import functools
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

import attrs
import cattrs
import cattrs.gen

from ._checks import (
    a_type,
    show,
)
from ._money import Money
from .errors import ValidationError

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

from ._formats import (  # noqa: E402 - after __all__, which names them
    _format_datetime,
    _format_decimal,
    _format_duration,
    _format_float,
    _format_zone,
    format_datetime,
    format_duration,
    format_zone,
    parse_datetime,
    parse_duration,
)
from ._reading import (  # noqa: E402
    _READER,
    MAX_NESTING,
    UnknownFields,
    _attrs_hook,
    _family_hook,
    _is_literal,
    _is_mapping,
    _is_sequence,
    _is_set_type,
    _is_union,
    _literal_hook,
    _mapping_hook,
    _pipeline_hook,
    _predicates_in_scope,
    _sequence_hook,
    _set_hook,
    _structure_bool,
    _structure_date,
    _structure_datetime,
    _structure_decimal,
    _structure_enum,
    _structure_float,
    _structure_fraction,
    _structure_int,
    _structure_money,
    _structure_predicate,
    _structure_str,
    _structure_timedelta,
    _structure_zone,
    _union_hook,
    _unsupported,
    _UnsupportedTypeError,
)
from ._tags import TAG, _document_fields, _is_family, _tag_of  # noqa: E402

# --- unstructuring (values to JSON-safe data) --------------------------------


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _sorted(items: list[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


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


def _is_plain_sequence(t: Any) -> bool:
    return t is tuple or t is list


def _unstructure_predicate(value: Any) -> dict[str, Any]:
    # a predicate's test is code: the document names it, the reader supplies it
    return {TAG: value.type_name, "name": value.name}


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
    # by predicate, not by class: a record (an attrs value stored as a tuple) is not a sequence
    conv.register_unstructure_hook_func(_is_plain_sequence, lambda v: [conv.unstructure(x) for x in v])
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
    fields_hook = _READER.get() or _fields_hook  # the reading converter's, or the default's
    return typing.cast("T", fields_hook(typing.cast("type", cls))(data, cls))


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
