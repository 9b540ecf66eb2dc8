"""
Field checks shared by every validated value.

A check takes a value and returns ``None`` when it is acceptable, or a
:class:`~funnelkit.errors.Problem` located relative to the value (path ``""``,
see :func:`bad`) whose code says what kind of problem it is and whose message
shows the value and says what is allowed.  Checks never raise: the caller
collects every problem and raises one :class:`~funnelkit.errors.ValidationError`.

Entities declare their checks in attrs field metadata (see :func:`checked`), and
:func:`validate` runs them all, then the class's cross-field checks.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import itertools
import math
import operator
import re
import reprlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, SupportsIndex, TypeVar, cast

import attrs

from .errors import MAX_LISTED, Problem, ValidationError

#: A check returns None (fine), a problem with the value itself, or problems located inside it.
Result = Problem | list[Problem] | None
Check = Callable[[Any], Result]
E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

#: A check's fast test: given the source of a value and a way to name a constant, the source of a
#: condition that holds only when the check passes (``True`` means nothing to report).  Fast tests
#: look at exact types: anything unusual is left to the check itself.
FastTest = Callable[[str, Callable[[object], str]], str]


def with_fast_test(fn: Callable[..., T], test: FastTest) -> Callable[..., T]:
    """
    Attach the fast *test* to the check *fn* (see :data:`FastTest`); return *fn*.
    """
    fn.__dict__["funnelkit_fast_test"] = test
    return fn


def fast_test(check: object) -> FastTest | None:
    """
    The fast test attached to *check*, if any.
    """
    return cast("FastTest | None", getattr(check, "__dict__", {}).get("funnelkit_fast_test"))


def keeps_checked(converter: Callable[[Any], T], exact: type | None = None) -> Callable[[Any], T]:
    """
    Mark *converter* as returning unchanged any value that passes its
    field's fast test (values of the field's exact type): compiled
    constructors may then skip it.  *exact*, if given, is a type whose
    values the converter returns as they are, so that it need not be called.
    """
    converter.__dict__["funnelkit_keeps_checked"] = True
    if exact is not None:
        converter.__dict__["funnelkit_keeps_exact"] = exact
    return converter


def kept_type(converter: object) -> type | None:
    """
    The type a converter marked by :func:`keeps_checked` returns as it is, if any.
    """
    return cast("type | None", getattr(converter, "__dict__", {}).get("funnelkit_keeps_exact"))


def keeps(converter: object) -> bool:
    """
    Whether *converter* is marked by :func:`keeps_checked`.
    """
    return bool(getattr(converter, "__dict__", {}).get("funnelkit_keeps_checked"))


_MAX_SHOWN = 80
_CONTAINERS = frozenset({list, tuple, dict, set, frozenset})


_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 4
_REPR.maxstring = _REPR.maxlong = _REPR.maxother = _MAX_SHOWN


def bad(code: str, message: str) -> Problem:
    """
    A check's answer: the value itself (path ``""``) has the problem *code*,
    explained by *message*.  The caller locates it with ``.prefixed(path)``.
    """
    return Problem(path="", code=code, message=message)


def at(path: str, problem: Problem) -> ValidationError:
    """
    The error to raise for a check's *problem* with the value at *path*.
    """
    return ValidationError([problem.prefixed(path)])


def show(value: object) -> str:
    """
    ``repr`` of *value*, shortened so that a huge input cannot flood a message
    (nor take long to print: containers show their first items only, a huge
    int its number of digits).
    """
    try:
        if isinstance(value, Decimal):
            text = str(value)
        elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
            text = f"<int of about {value.bit_length() * 30103 // 100000 + 1} digits>"
        elif type(value) in _CONTAINERS:
            text = _REPR.repr(value)
        else:
            text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real problem
        text = f"<{type(value).__name__} object>"
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def article(noun: str) -> str:
    """
    *noun* with its indefinite article: "an int", "a str".
    """
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def a_type(value: object) -> str:
    """
    The type of *value* with its article: "an int", "a str".
    """
    return article(type(value).__name__)


# --- scalar checks --------------------------------------------------------


#: Ids are at most this long.
MAX_ID_LENGTH = 256


def wrong_type(value: object, expected: str) -> Problem:
    """
    The problem of a *value* that is not what was *expected* ("a Team").
    """
    return bad("type", f"{show(value)} is {a_type(value)}; expected {expected}")


def identifier(value: object) -> Problem | None:
    """
    An id: a non-empty, printable string of at most 256 characters, without
    surrounding whitespace.
    """
    if not isinstance(value, str):
        return wrong_type(value, "an id (a non-empty str)")
    if not value:
        return bad("empty", "'' is empty; an id must be a non-empty str")
    if value != value.strip():
        return bad("format", f"{show(value)} has surrounding whitespace; an id must be stripped")
    if len(value) > MAX_ID_LENGTH:
        return bad("limit", f"{show(value)} has {len(value)} characters; an id has at most {MAX_ID_LENGTH}")
    if not value.isprintable():
        return bad("format", f"{show(value)} has control characters; an id must be printable")
    return None


def name(value: object) -> Problem | None:
    """
    A human-readable name: a str with at least one non-blank character.
    """
    if not isinstance(value, str):
        return wrong_type(value, "a non-empty str")
    if not value.strip():
        return bad("empty", f"{show(value)} is blank; expected a non-empty str")
    return None


def text(value: object) -> Problem | None:
    """
    Free text: any str.
    """
    if not isinstance(value, str):
        return wrong_type(value, "a str")
    return None


def boolean(value: object) -> Problem | None:
    if not isinstance(value, bool):
        return wrong_type(value, "True or False")
    return None


def non_negative_int(value: object) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return wrong_type(value, "an int >= 0")
    if value < 0:
        return bad("range", f"{value} is negative; expected an int >= 0")
    return None


def aware_datetime(value: object) -> Problem | None:
    """
    A timezone-aware ``datetime`` (stdlib or pendulum).
    """
    if not isinstance(value, dt.datetime):
        return wrong_type(value, "a timezone-aware datetime")
    try:
        offset = value.utcoffset()
    except Exception as e:  # noqa: BLE001 - a broken tzinfo is the caller's input
        return bad(
            "timezone", f"{show(value)} has a tzinfo whose utcoffset() fails ({type(e).__name__}: {e})"
        )
    if offset is not None:
        try:
            value.replace(tzinfo=None) - offset
        except OverflowError:
            return bad("range", f"{show(value)} is too close to the limits of datetime to convert to UTC")
    if offset is None:
        return bad(
            "timezone",
            f"{show(value)} is naive; expected a timezone-aware datetime "
            "(attach a tzinfo, e.g. datetime.timezone.utc or "
            "zoneinfo.ZoneInfo('Asia/Shanghai'))",
        )
    if type(value.tzinfo) is not dt.timezone and _skipped(value):
        return bad(
            "timezone",
            f"{show(value)} does not exist: the clocks in {value.tzinfo} skip that hour "
            "(daylight saving); give the time in UTC or with a fixed offset",
        )
    return None


def _skipped(value: dt.datetime) -> bool:
    """
    Whether the wall time of *value* falls in a gap of its zone (the hour the
    clocks skip in spring), where zoneinfo would silently pick an offset.
    """
    try:
        back = value.astimezone(dt.UTC).astimezone(value.tzinfo)
    except Exception:  # noqa: BLE001 - a broken tzinfo: reported elsewhere or not at all
        return False
    return back.replace(tzinfo=None, fold=0) != value.replace(tzinfo=None, fold=0)


def calendar_date(value: object) -> Problem | None:
    """
    A calendar ``date`` (not a ``datetime``).
    """
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        return wrong_type(value, "a datetime.date")
    return None


def duration(value: object) -> Problem | None:
    """
    A non-negative ``timedelta``.
    """
    if not isinstance(value, dt.timedelta):
        return wrong_type(value, "a datetime.timedelta")
    if value < dt.timedelta(0):
        return bad("range", f"{show(value)} is negative; expected a duration >= 0")
    return None


def probability(value: object) -> Problem | None:
    """
    A probability: a ``Decimal`` in [0, 1] (see :func:`to_decimal`).
    """
    if not isinstance(value, Decimal):
        return wrong_type(value, "a Decimal in [0, 1]")
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(1):
        return bad("range", f"{show(value)} is outside [0, 1]; a probability must lie in [0, 1]")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PROBABILITY_PLACES:
        places = MAX_PROBABILITY_PLACES
        return bad(
            "precision",
            f"{show(value)} has more than {places} decimal places; a probability has at most {places}",
        )
    return None


#: Probabilities have at most this many decimal places (far below any meaningful difference).
MAX_PROBABILITY_PLACES = 20

#: The ids :func:`good_id` found valid (a compiled move looks here first).
GOOD_IDS: set[str] = set()


def good_id(value: str) -> bool:
    """
    Whether the str *value* is a valid id (see :func:`identifier`),
    remembered when it is: the same few owners, stages and actors come back.
    At most 4,096 are remembered.
    """
    if value in GOOD_IDS:
        return True
    if identifier(value) is not None:
        return False
    if len(GOOD_IDS) >= 4096:
        GOOD_IDS.clear()
    GOOD_IDS.add(value)
    return True


# the fast tests of the checks above (see FastTest); each holds only where its check passes
with_fast_test(identifier, lambda v, const: f"(type({v}) is str and {const(good_id)}({v}))")
with_fast_test(name, lambda v, _: f"(type({v}) is str and {v} != '' and not {v}.isspace())")
with_fast_test(text, lambda v, _: f"type({v}) is str")
with_fast_test(boolean, lambda v, _: f"type({v}) is bool")
with_fast_test(non_negative_int, lambda v, _: f"(type({v}) is int and {v} >= 0)")
with_fast_test(
    aware_datetime, lambda v, const: f"(type({v}) is {const(dt.datetime)} and {v}.tzinfo is {const(dt.UTC)})"
)
with_fast_test(calendar_date, lambda v, const: f"type({v}) is {const(dt.date)}")
with_fast_test(
    duration, lambda v, const: f"(type({v}) is {const(dt.timedelta)} and {v} >= {const(dt.timedelta(0))})"
)


def require(value: object, cls: type[T], what: str, path: str) -> T:
    """
    *value*, checked to be a *cls*; else a ValidationError at *path*.  The
    one check every public function makes of its arguments.  In loops over
    many items, guard the call with ``isinstance`` so that the path is only
    built for a bad item.
    """
    if not isinstance(value, cls):
        raise at(path, wrong_type(value, what))
    return value


def instance_of(cls: type, what: str) -> Check:
    def check(value: object) -> Problem | None:
        if not isinstance(value, cls):
            return wrong_type(value, what)
        return None

    return with_fast_test(check, lambda v, const: f"type({v}) is {const(cls)}")


def member_of(enum_cls: type[enum.Enum]) -> Check:
    allowed = ", ".join(repr(m.value) for m in enum_cls)

    def check(value: object) -> Problem | None:
        if not isinstance(value, enum_cls):
            return bad("choice", f"{show(value)} is not {article(enum_cls.__name__)}; allowed: {allowed}")
        return None

    return with_fast_test(check, lambda v, const: f"type({v}) is {const(enum_cls)}")


def one_of(allowed: tuple[str, ...], what: str) -> Check:
    """
    One of the strings *allowed*, described as *what* in the message.
    """
    listed = ", ".join(allowed)

    def check(value: object) -> Problem | None:
        if not isinstance(value, str) or value not in allowed:  # a str first: equality may lie
            return bad("choice", f"{show(value)} is not {what}; allowed: {listed}")
        return None

    choices = frozenset(allowed)
    return with_fast_test(check, lambda v, const: f"(type({v}) is str and {v} in {const(choices)})")


def optional(check: Check) -> Check:
    def opt(value: object) -> Result:
        return None if value is None else check(value)

    inner = fast_test(check)
    if inner is not None:
        with_fast_test(opt, lambda v, const: f"({v} is None or {inner(v, const)})")
    return opt


def items(check: Check, kind: type, *, unique: bool = False) -> Check:
    """
    A tuple (ordered) or frozenset (unordered), as *kind* says, whose every
    item passes *check*.  Every bad item is reported with its index.
    """
    expected = "a list or tuple (order matters)" if kind is tuple else "a list or set"

    def check_items(value: object) -> Result:
        if not isinstance(value, list | tuple | set | frozenset):
            return wrong_type(value, expected)
        problems = []
        for i, item in enumerate(value):
            msg = check(item)
            if msg is not None:
                where = f"[{i}]" if isinstance(value, list | tuple) else ""
                problems.extend(as_problems(msg, where))
        if problems:
            return problems
        if not isinstance(value, kind):
            if kind is tuple and isinstance(value, set | frozenset):
                return wrong_type(value, f"{expected}, so that the order is kept")
            return bad("type", f"{show(value)} cannot be made {expected}: its items must be hashable")
        if unique:
            dupes = sorted(x for x, n in Counter(value).items() if n > 1)
            if dupes:
                return bad("duplicate", f"duplicate items {show(dupes)}; each may appear once")
        return None

    inner = fast_test(check)
    if inner is not None and kind in (tuple, frozenset):

        def test(v: str, const: Callable[[object], str]) -> str:
            each = f"all({inner('x', const)} for x in {v})"
            once = f" and len(set({v})) == len({v})" if unique and kind is tuple else ""
            return f"(type({v}) is {kind.__name__} and (not {v} or ({each}{once})))"

        with_fast_test(check_items, test)
    return check_items


def as_problems(result: Problem | list[Problem], where: str) -> list[Problem]:
    """
    A check's result as problems located at *where* (relative to the field).
    """
    if isinstance(result, Problem):
        return [result.prefixed(where)]
    return [p.prefixed(where) if where else p for p in result]


# --- converters: be lenient about containers, strict about contents -------


def build_each(
    items: Iterable[Any], build: Callable[[Any], T], prefix: str = ""
) -> tuple[list[T], list[Problem]]:
    """
    Build every item, collecting the problems of each under ``prefix[i]``
    instead of stopping at the first.
    """
    built: list[T] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        try:
            built.append(build(item))
        except ValidationError as e:
            problems.extend(p.prefixed(f"{prefix}[{i}]") for p in e.problems)
    return built, problems


def is_iterable(value: object) -> bool:
    """
    Whether *value* is a collection of items (not a str, bytes or mapping).
    """
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping)


def to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    """
    Turn a list or other ordered iterable into a tuple; leave anything else
    (a set has no order to keep) as is so that the field check can report it.
    """
    if isinstance(value, tuple | str | bytes | Mapping | set | frozenset):
        return value  # type: ignore[return-value]
    try:
        return tuple(value)
    except TypeError:
        return value  # type: ignore[return-value]


def to_frozenset(value: Iterable[Any]) -> frozenset[Any]:
    """
    Turn a list, set or other iterable into a frozenset; leave anything else
    as is so that the field check can report it.
    """
    if isinstance(value, frozenset | str | bytes | Mapping):
        return value  # type: ignore[return-value]
    try:
        return frozenset(value)
    except TypeError:
        return value  # type: ignore[return-value]


def to_enum(enum_cls: type[E], value: E | str) -> E:
    """
    Accept an enum member or its value; leave anything else for the check.
    """
    if isinstance(value, enum_cls):
        return value
    if not isinstance(value, str):
        return value  # the check reports it; looking it up could hash or print anything
    try:
        return enum_cls(value)
    except (ValueError, TypeError):
        return value  # type: ignore[return-value]


def to_decimal(value: Decimal | float | str) -> Decimal:
    """
    Convert an int, str or float (a probability, a score) to ``Decimal``.

    A float becomes the ``Decimal`` of its shortest repr (``0.3`` → ``0.3``), the
    number the user typed; a ``numpy.float64`` is a float.  An integer of
    another library (``numpy.int64``, see :func:`as_int`) is read exactly.
    Anything unconvertible is left for the check.
    """
    if isinstance(value, bool):
        return value  # type: ignore[return-value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return value  # type: ignore[return-value]
        return Decimal(float.__repr__(value))  # numpy.float64's repr is 'np.float64(0.3)'
    integer = as_int(value)
    if integer is not None:
        return Decimal(integer)
    if isinstance(value, str):
        number = parse_decimal(value)
        return value if number is None else number  # type: ignore[return-value]
    return value


# At most three exponent digits: no funnelkit number needs more, and '1e999999999'
# must not build a number with a billion digits.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def parse_decimal(text: str) -> Decimal | None:
    """
    The ``Decimal`` written in *text* in plain ASCII notation (``"12.30"``,
    ``"-1e3"``), or ``None``: no spaces, underscores, other scripts' digits,
    NaN or infinities.
    """
    if len(text) > 200 or not _DECIMAL.fullmatch(text):
        return None
    return Decimal(text)


# --- numbers and mappings of other libraries (numpy, pandas) --------------
#
# Read by duck typing; funnelkit never imports numpy or pandas.
#
# * An integer is an ``int`` that is not a ``bool``, or an object whose type
#   has ``__index__`` (``numpy.int64``, ``numpy.uint8``, a 0-d integer array)
#   and is not a bool (below); it is read with ``operator.index`` into an
#   ``int``.  A bool is never an integer.
# * A bool is a ``bool`` or numpy's bool (its type is named ``bool`` or
#   ``bool_`` and lives in the ``numpy`` module).  Nothing else: every object
#   has a truth value, so ``__bool__`` cannot tell a flag from a number.
# * A float subclass (``numpy.float64``) is a float; ``numpy.float32`` is not.
# * A mapping is a ``Mapping``, or an object whose type has ``keys()`` and
#   ``items()`` methods and a length and that is not a table (``ndim``, when
#   it has one, is 1): a pandas ``Series``, read once through ``items()`` into
#   a dict; a key met twice is refused, never dropped.  A ``DataFrame`` is not
#   a mapping: its ``items()`` are its columns, and a table read by columns
#   where rows were meant would be silently transposed.


def is_numpy_bool(value: object) -> bool:
    """
    Whether *value* is numpy's bool (``numpy.bool`` / ``numpy.bool_``),
    recognised by its type's name and module.
    """
    kind = type(value)
    return kind.__name__ in {"bool", "bool_"} and kind.__module__ == "numpy"


def as_int(value: object) -> int | None:
    """
    *value* as an ``int`` when it is an integer (an int, or another library's
    integer such as ``numpy.int64``; never a bool); ``None`` otherwise.
    """
    if isinstance(value, int):
        return None if isinstance(value, bool) else value
    if getattr(type(value), "__index__", None) is None or is_numpy_bool(value):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]  # has __index__, checked above
    except Exception:  # noqa: BLE001 - a broken __index__ makes it no integer
        return None


def to_int(value: SupportsIndex) -> int:
    """
    A converter: *value* as an ``int`` when it is an integer of another
    library (``numpy.int64``); anything else unchanged, for the check.
    """
    if type(value) is int:
        return value
    number = as_int(value)
    return value if number is None else number  # type: ignore[return-value]


# converters that leave a value of the field's exact type as it is
keeps_checked(to_tuple, tuple)
keeps_checked(to_frozenset, frozenset)
keeps_checked(to_int, int)


def to_optional_int(value: SupportsIndex | None) -> int | None:
    """
    :func:`to_int` for a field that may be ``None``.
    """
    return None if value is None else to_int(value)


def to_bool(value: bool) -> bool:
    """
    A converter: numpy's bool as a ``bool``; anything else unchanged, for the check.
    """
    return bool(value) if is_numpy_bool(value) else value


def plain(value: T) -> T:
    """
    An argument with another library's integer made an ``int``, numpy's bool
    a ``bool`` and a float subclass (``numpy.float64``) a ``float``; anything
    else unchanged, for the check.  (To a type checker, the value keeps its
    type.)
    """
    if type(value) is int or type(value) is bool or type(value) is float:
        return value
    if isinstance(value, float):
        return float(value)  # type: ignore[return-value]
    if is_numpy_bool(value):
        return bool(value)  # type: ignore[return-value]
    number = as_int(value)
    return value if number is None else number  # type: ignore[return-value]


def is_mapping_like(value: object) -> bool:
    """
    Whether *value* is a mapping that is not a ``Mapping``: its type has
    ``keys()`` and ``items()`` methods and a length, and it is not a table
    (a pandas ``Series``, not a ``DataFrame``).
    """
    kind = type(value)
    if isinstance(value, Mapping) or not all(
        callable(getattr(kind, method, None)) for method in ("keys", "items", "__len__")
    ):
        return False
    try:
        return getattr(value, "ndim", 1) == 1
    except Exception:  # noqa: BLE001 - a broken attribute: not a mapping
        return False


def to_mapping(value: object, path: str) -> Any:
    """
    *value* as a mapping: itself when it is a ``Mapping``, a dict of its
    ``items()`` when it is mapping-like (a pandas ``Series``, see
    :func:`is_mapping_like`), anything else unchanged for the check.  A key
    met twice (a ``Series`` whose index repeats a label) is refused at *path*.
    """
    if not is_mapping_like(value):
        return value
    try:
        size = len(value)  # type: ignore[arg-type]  # has __len__, checked above
        pairs = list(itertools.islice(value.items(), size + 1))  # type: ignore[attr-defined]
        out = dict(pairs)
    except Exception:  # noqa: BLE001 - not readable as a mapping: the check reports the value
        return value
    if len(pairs) != size:
        return value  # items() disagrees with len(): not a mapping after all
    if len(out) != size:
        seen: set[object] = set()
        for key, _ in pairs:
            if key in seen:
                msg = f"{show(key)} appears twice in {a_type(value)}; each key may appear once"
                raise ValidationError.single(path, msg, code="duplicate")
            seen.add(key)
    return out


def mapping_of(
    value: object,
    path: str,
    expected: str,
    key: Callable[[Any], K | Problem],
    item: Callable[[Any, str], V],
) -> dict[K, V]:
    """
    *value*, a mapping (or mapping-like, see :func:`to_mapping`), checked key
    by key and value by value, as a dict; else one ValidationError listing
    every problem (at most ``MAX_LISTED``).

    A value that is no mapping is refused at *path* as not *expected*
    (``"a mapping of lead source to timedelta"``).  *key* returns a key
    checked (converted, e.g. a str to its enum member) or its problem (path
    ``""``), reported at *path*; *item* takes a value and its path
    ``path[key]`` (the checked key's repr: a str's first 40 characters, an
    enum member's value) and returns the value checked or raises a
    ValidationError.
    """
    value = to_mapping(value, path)
    if not isinstance(value, Mapping):
        raise at(path, wrong_type(value, expected))
    out: dict[K, V] = {}
    problems: list[Problem] = []
    for raw_key, raw in value.items():
        checked = key(raw_key)
        if isinstance(checked, Problem):
            problems.append(checked.prefixed(path))
        else:
            try:
                out[checked] = item(raw, f"{path}[{_key_label(checked)}]")
            except ValidationError as e:
                problems += e.problems
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return out


def _key_label(key: object) -> str:
    """A checked mapping key as it stands in a path: ``'web'`` (at most 40 characters), ``None``."""
    if isinstance(key, enum.Enum):
        key = key.value
    return repr(key[:40]) if isinstance(key, str) else show(key)


# --- running the checks ---------------------------------------------------

_CHECKS: dict[type, tuple[tuple[str, Check], ...]] = {}


def check(fn: Check) -> dict[str, Check]:
    """
    attrs field metadata that declares the check *fn* for the field:
    ``attrs.field(metadata=check(identifier))``.
    """
    return {"funnelkit_check": fn}


def field_checks(cls: type) -> tuple[tuple[str, Check], ...]:
    """
    The (field name, check) pairs declared on attrs class *cls*, cached.
    """
    try:
        return _CHECKS[cls]
    except KeyError:
        pairs = tuple(
            (f.name, f.metadata["funnelkit_check"])
            for f in attrs.fields(cls)
            if "funnelkit_check" in f.metadata
        )
        _CHECKS[cls] = pairs
        return pairs


def field_problems(cls: type, values: Mapping[str, object]) -> list[Problem]:
    """
    Run the field checks of *cls* on those *values* that are present.
    """
    return _run_checks(cls, lambda name: values.get(name, _ABSENT))


_ABSENT = object()


def _run_checks(cls: type, get: Callable[[str], object]) -> list[Problem]:
    problems: list[Problem] = []
    for field_name, check in field_checks(cls):
        value = get(field_name)
        if value is _ABSENT:
            continue
        result = check(value)
        if result is None:
            continue
        problems.extend(as_problems(result, field_name))
    return problems


class Checked:
    """
    Base of checked values: runs the field checks declared with :func:`check`
    and the cross-field ``_relations()`` after attrs has built the instance.
    """

    __slots__ = ()

    def __attrs_post_init__(self) -> None:
        validate(self)


def validate(obj: object) -> None:
    """
    Check every field of *obj*, then its cross-field rules; raise one error.

    Cross-field rules live in an optional ``_relations()`` method returning
    problems; they run only when every field passed its own check.
    """
    problems = _run_checks(type(obj), lambda name: getattr(obj, name))
    if not problems:
        relations = getattr(obj, "_relations", None)
        if relations is not None:
            problems.extend(relations())
    if problems:
        raise ValidationError(problems)


def require_iterable(value: object, what: str, path: str) -> None:
    """
    Refuse *value* unless it is a collection of items (not a str or mapping);
    the message names *path* and the *what* expected.
    """
    if not is_iterable(value):
        raise at(path, wrong_type(value, f"an iterable of {what}"))


def id_items(items: Iterable[Any], cls: type, prefix: str, twice: str) -> list[Problem]:
    """
    Problems with a sequence of *cls* values that must have unique ``id``\\ s:
    items of another type, and ids seen before (*twice* says why that is
    wrong).  Paths are ``prefix[i]``.
    """
    problems = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            problems.append(wrong_item(item, cls, f"{prefix}[{i}]"))
        elif (ident := getattr(item, "id", None)) in seen:
            problems.append(
                Problem(
                    path=f"{prefix}[{i}].id",
                    code="duplicate",
                    message=f"{show(ident)} appears twice; {twice}",
                )
            )
        else:
            seen.add(str(ident))
    return problems


def function_of_one(fn: object, what: str, path: str) -> Callable[[Any], Any]:
    """
    *fn*, checked to be callable with one positional argument (*what*);
    else a ValidationError at *path*.

    A function whose signature cannot be read (some builtins) is trusted.
    """
    if not callable(fn):
        raise at(path, wrong_type(fn, f"a function of {what}"))
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn
    try:
        signature.bind(None)
    except TypeError:
        msg = f"{show(fn)} cannot be called with one argument; expected a function of {what}"
        raise ValidationError.single(path, msg, code="callable") from None
    return fn


def wrong_item(item: object, cls: type, path: str) -> Problem:
    """
    The problem of an *item* at *path* that is not a *cls*.
    """
    return wrong_type(item, article(cls.__name__)).prefixed(path)


def each_of(values: object, cls: type[T], path: str) -> Iterator[T]:
    """
    The items of *values*, an iterable of *cls* (not a str or mapping), one
    at a time.  Once an item of another type is met, no more items are
    yielded; the problems, each at ``path[i]``, are raised when the input
    ends or 50 of them are found (so an endless input of junk ends too).
    """
    require_iterable(values, cls.__name__, path)
    problems: list[Problem] = []
    for i, item in enumerate(cast("Iterable[object]", values)):
        if isinstance(item, cls):
            if not problems:
                yield item
        else:
            problems.append(wrong_item(item, cls, f"{path}[{i}]"))
            if len(problems) >= MAX_LISTED:
                break
    if problems:
        raise ValidationError(problems)


def items_of(values: object, cls: type[T], path: str) -> list[T]:
    """
    *values*, an iterable of *cls*, as a list: :func:`each_of` read to the end.
    """
    return list(each_of(values, cls, path))


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """
    *n* and *noun*, the noun in the plural unless *n* is 1: ``1 lead``,
    ``3 leads``, ``0 opportunities`` (with *plural* ``"opportunities"``).

    >>> counted(1, "lead"), counted(2, "rep"), counted(0, "opportunity", "opportunities")
    ('1 lead', '2 reps', '0 opportunities')
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


#: A caller's progress callback: called as ``progress(done, total)`` after each step of a long
#: call (``total`` is ``None`` when the number of steps is not known in advance).
Progress = Callable[[int, "int | None"], object]


def progress_problem(value: object) -> Problem | None:
    """
    *value* is ``None`` or a callable of ``(done, total)``.
    """
    if value is None or callable(value):
        return None
    return wrong_type(value, "a function of (done, total), or None")


def checked_index(index: object) -> int:
    """*index* as an int (numpy's ints too), or a typed error naming it."""
    try:
        return operator.index(index)  # type: ignore[arg-type]
    except TypeError:
        raise at("index", wrong_type(index, "an int or a slice")) from None


def checked_slice(index: slice, n: int) -> slice:
    """A slice of *n* items, checked: its start, stop and step ints (numpy's too) or None, a step not 0."""
    try:
        index.indices(n)  # the check; the slice itself is kept (its indices() are not a slice's)
    except (TypeError, ValueError):
        msg = f"{show(index)} is not a slice of ints with a step other than 0"
        raise ValidationError.single("index", msg, code="type") from None
    return index
