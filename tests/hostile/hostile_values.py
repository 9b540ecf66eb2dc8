"""
Hostile values, by the kind of parameter they are aimed at.

Each value is named, so that a failure says which one broke what.  The kind of a parameter is read
from its name (the library names its parameters consistently) and, failing that, its annotation.
"""

import datetime as dt
import decimal
import itertools
import math
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo


class CallerError(Exception):
    """Raised by a hostile callable: the caller's own bug, which funnelkit may let through."""


class BrokenTz(dt.tzinfo):
    """A tzinfo whose every method fails."""

    def utcoffset(self, _):
        raise CallerError("no offset")

    def dst(self, _):
        raise CallerError("no dst")

    def tzname(self, _):
        raise CallerError("no name")


class BrokenRepr:
    """An object whose repr fails and whose equality lies."""

    def __repr__(self):
        raise CallerError("no repr")

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def _deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _deep_dict(depth: int, key: str = "parts") -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {key: value, "type": "all_of", "kind": "fallback", "policies": [value]}
    return value


def _junk_generator() -> Iterator[object]:
    yield object()
    yield None


def _raises(*_args: object, **_kwargs: object) -> object:
    raise CallerError("the caller's callable failed")


_UTC = dt.UTC
_NY = ZoneInfo("America/New_York")

#: Aimed at every parameter.
UNIVERSAL: dict[str, Callable[[], object]] = {
    "None": lambda: None,
    "object()": object,
    "broken repr": BrokenRepr,
    "nan": lambda: math.nan,
    "inf": lambda: math.inf,
    "empty str": lambda: "",
    "1 MB str": lambda: "x" * 1_000_000,
    "-1": lambda: -1,
    "True": lambda: True,
    "10**5000": lambda: 10**5000,
    "Decimal sNaN": lambda: Decimal("sNaN"),
    "Decimal 1e999999999": lambda: Decimal("1e999999999"),
    "list of junk": lambda: [object(), None],
    "generator of junk": _junk_generator,
    "list nested 10,000 deep": lambda: _deep_list(10_000),
    "dict with a junk key": lambda: {object(): 1},
    "bytes": lambda: b"abc",
}

TIME: dict[str, Callable[[], object]] = {
    "naive datetime": lambda: dt.datetime(2026, 1, 1, 9),
    "datetime.max utc": lambda: dt.datetime.max.replace(tzinfo=_UTC),
    "datetime.min utc": lambda: dt.datetime.min.replace(tzinfo=_UTC),
    "date": lambda: dt.date(2026, 1, 1),
    "iso str": lambda: "2026-01-01T00:00:00+00:00",
    "dst gap": lambda: dt.datetime(2026, 3, 8, 2, 30, tzinfo=_NY),
    "broken tzinfo": lambda: dt.datetime(2026, 1, 1, tzinfo=BrokenTz()),
    "far past": lambda: dt.datetime(1, 1, 2, tzinfo=_UTC),
    "float timestamp": lambda: 1.7e9,
}

DURATION: dict[str, Callable[[], object]] = {
    "timedelta.max": lambda: dt.timedelta.max,
    "timedelta.min": lambda: dt.timedelta.min,
    "negative": lambda: dt.timedelta(days=-1),
    "zero": lambda: dt.timedelta(0),
    "int 10**10": lambda: 10**10,
}

ZONE: dict[str, Callable[[], object]] = {
    "zone directory": lambda: "America",
    "zone path": lambda: "../../etc/passwd",
    "zone 10k chars": lambda: "Europe/" + "x" * 10_000,
    "zone with NUL": lambda: "UTC\x00",
    "unknown zone": lambda: "Mars/Olympus_Mons",
    "broken tzinfo": BrokenTz,
}

NUMBER: dict[str, Callable[[], object]] = {
    "str 1e999999999": lambda: "1e999999999",
    "str 1e-999999999": lambda: "1e-999999999",
    "str -1e999999999": lambda: "-1e999999999",
    "Decimal Infinity": lambda: Decimal("Infinity"),
    "Decimal 1e-999999999": lambda: Decimal("1e-999999999"),
    "Decimal NaN": lambda: Decimal("NaN"),
    "1.0000001": lambda: 1.0000001,
    "-0.0": lambda: -0.0,
    "str 1/0": lambda: "1/0",
    "str 10**5000 digits": lambda: "9" * 5000,
}

COUNT: dict[str, Callable[[], object]] = {
    "2**63": lambda: 2**63,
    "10**12": lambda: 10**12,
    "1.5": lambda: 1.5,
    "str 3": lambda: "3",
    "zero": lambda: 0,
}

IDENT: dict[str, Callable[[], object]] = {
    "10 MB str": lambda: "k" * 10_000_000,
    "NUL str": lambda: "\x00",
    "padded str": lambda: " a ",
    "int 5": lambda: 5,
    "str with newline": lambda: "a\nb",
}

SEQUENCE: dict[str, Callable[[], object]] = {
    "str abc": lambda: "abc",
    "set of junk": lambda: {1, 2},
    "dict": lambda: {"a": 1},
    "endless generator": lambda: itertools.count(),
}

MAPPING: dict[str, Callable[[], object]] = {
    "dict of junk": lambda: {1: object()},
    "dict with a 1 MB key": lambda: {"k" * 1_000_000: 1},
    "dict nested 10,000 deep": lambda: _deep_dict(10_000),
    "list of pairs": lambda: [("a", 1)],
    "dict of nan": lambda: {"r1": math.nan, "c0": math.nan, "a": math.nan},
    "dict of huge": lambda: {"r1": 10**5000, "c0": Decimal("1e999999"), "a": "1e999999999"},
}

DOCUMENT: dict[str, Callable[[], object]] = {
    "document nested 10,000 deep": lambda: _deep_dict(10_000),
    "document with 100,000 keys": lambda: {f"k{i}": i for i in range(100_000)},
    "document with a 1 MB key": lambda: {"k" * 1_000_000: 1},
    "document with a 1 MB tag": lambda: {"type": "t" * 1_000_000, "kind": "k" * 1_000_000},
}

CALLABLE: dict[str, Callable[[], object]] = {
    "callable that raises": lambda: _raises,
    "callable returning object()": lambda: lambda *a, **k: object(),
    "callable returning nan": lambda: lambda *a, **k: math.nan,
    "callable with no parameters": lambda: lambda: 1,
}

SEED: dict[str, Callable[[], object]] = {
    "2**200": lambda: 2**200,
    "str seed": lambda: "seed",
    "float seed": lambda: 1.5,
}

#: Aimed at a parameter with its working value in hand: order, repetition and size.
DERIVED_SEQUENCE: dict[str, Callable[[object], object]] = {
    "reversed": lambda base: list(reversed(list(base))),
    "every item twice": lambda base: [x for x in base for _ in (0, 1)],
    "100,000 items": lambda base: (list(base) * (100_000 // max(1, len(list(base))) + 1))[:100_000],
    "one-shot generator": lambda base: (x for x in list(base)),
}
DERIVED_TIME: dict[str, Callable[[object], object]] = {
    "a year earlier": lambda base: base - dt.timedelta(days=365) if isinstance(base, dt.datetime) else base,
    "a microsecond earlier": lambda base: (
        base - dt.timedelta(microseconds=1) if isinstance(base, dt.datetime) else base
    ),
    "in Shanghai": lambda base: (
        base.astimezone(ZoneInfo("Asia/Shanghai")) if isinstance(base, dt.datetime) else base
    ),
}

CONTEXTS: dict[str, decimal.Context] = {
    "prec=1, every trap": decimal.Context(prec=1, traps=list(decimal.Context().flags)),
    "prec=3, ROUND_DOWN, Emax=3": decimal.Context(
        prec=3, rounding=decimal.ROUND_DOWN, Emax=3, Emin=-3, traps=[decimal.Overflow]
    ),
}

_TIME_NAMES = {
    "now",
    "at",
    "start",
    "end",
    "when",
    "created_at",
    "stage_entered_at",
    "claimed_at",
    "worked_at",
    "expires_at",
    "offered_at",
    "until",
    "as_of",
    "last_contact",
    "due_at",
    "entered_at",
    "closed_at",
}
_DURATION_NAMES = {"window", "delta", "protect_for", "min_dwell", "duration", "time_in_stage"}
_ZONE_NAMES = {"tz"}
_NUMBER_NAMES = {
    "a",
    "b",
    "q",
    "level",
    "bulge",
    "thin",
    "strong",
    "smoothing",
    "toward",
    "probability",
    "amount",
    "weights",
    "probabilities",
    "deals",
    "values",
    "scores",
    "actuals",
    "forecasts",
    "matrix",
    "work_rate",
    "factor",
    "rates",
    "time",
    "observations",
}
_COUNT_NAMES = {
    "k",
    "bins",
    "days",
    "reps",
    "leads",
    "trials",
    "strength",
    "won",
    "closed",
    "indent",
    "minor",
    "minor_units",
    "used",
    "check_every",
    "contacts_for_full_marks",
    "at_least",
    "stall_after_days",
    "expected_version",
    "version",
    "capacity",
    "start_index",
    "seed",
    "max_events",
    "max_open_stages",
    "max_reps",
}
_IDENT_NAMES = {
    "rep_id",
    "customer_id",
    "key",
    "actor",
    "owner",
    "opportunity_id",
    "absorbed_in",
    "state",
    "currency",
    "reason",
    "name",
    "prefix",
    "code",
    "to",
    "from_stage",
    "to_stage",
    "lead_id",
    "id",
    "label",
    "path",
    "message",
    "to_currency",
    "period",
    "actual",
    "rounding",
    "pick",
    "tier",
}
_SEQUENCE_NAMES = {
    "opportunities",
    "events",
    "activities",
    "leads",
    "customers",
    "decisions",
    "key_persons",
    "opps",
    "parts",
    "amounts",
    "cutoffs",
    "offers",
    "stages",
    "by",
    "absorbing",
    "trainees",
    "weights",
    "probabilities",
    "deals",
    "observations",
    "actuals",
    "forecasts",
    "stances",
    "fields",
    "kinds",
    "filled",
    "order",
    "reps",
    "rules",
    "policies",
    "transitions",
}
_MAPPING_NAMES = {
    "targets",
    "values",
    "scores",
    "matrix",
    "capacities",
    "quartiles",
    "before",
    "after",
    "rates",
    "by_tier",
    "by_stage",
    "groups",
    "load",
    "pointers",
    "policy",
    "pipelines",
    "claims",
}
_CALLABLE_NAMES = {"forecast", "effective", "profit", "value", "test"}
_SEED_NAMES = {"seed", "rng"}
_DOCUMENT_NAMES = {"data", "obj"}


def derived_for(name: str, base: object) -> dict[str, Callable[[], object]]:
    """Hostile values made from the parameter's working value *base*: reordered, repeated, huge, earlier."""
    table: dict[str, Callable[[], object]] = {}
    if name in _SEQUENCE_NAMES and isinstance(base, list | tuple) and base:
        table.update({label: (lambda f=f: f(base)) for label, f in DERIVED_SEQUENCE.items()})
    if name in _TIME_NAMES and isinstance(base, dt.datetime):
        table.update({label: (lambda f=f: f(base)) for label, f in DERIVED_TIME.items()})
    return table


def generated(name: str, seed: int, count: int) -> dict[str, Callable[[], object]]:
    """*count* random structure-aware junk values for the long profile (nox -s fuzz)."""
    rng = random.Random(f"{name}:{seed}")
    pools = [
        v
        for table in (UNIVERSAL, TIME, DURATION, ZONE, NUMBER, COUNT, IDENT, MAPPING)
        for v in table.values()
    ]
    table: dict[str, Callable[[], object]] = {}
    for i in range(count):
        shape = rng.randrange(5)
        if shape == 0:
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 40)))
            text = f"{rng.choice(['', '-', '+'])}{digits}e{rng.choice(['', '-'])}{rng.randrange(10 ** rng.randrange(1, 9))}"
            table[f"random number {i}: {text[:30]}"] = lambda text=text: text
        elif shape == 1:
            depth = rng.randrange(1, 3000)
            table[f"random nesting {i}: {depth} deep"] = lambda depth=depth: _deep_list(depth)
        elif shape == 2:
            size = rng.randrange(1, 200_000)
            table[f"random list {i}: {size} junk items"] = lambda size=size: [None] * size
        elif shape == 3:
            make = rng.choice(pools)
            table[f"random pick {i}: list of one"] = lambda make=make: [make()]
        else:
            make = rng.choice(pools)
            table[f"random pick {i}: dict value"] = lambda make=make: {"id": make(), "type": make()}
    return table


def for_parameter(name: str) -> dict[str, Callable[[], object]]:
    """The hostile values aimed at a parameter called *name*: the universal ones and its kinds'."""
    table = dict(UNIVERSAL)
    for names, kind in (
        (_TIME_NAMES, TIME),
        (_DURATION_NAMES, DURATION),
        (_ZONE_NAMES, ZONE),
        (_NUMBER_NAMES, NUMBER),
        (_COUNT_NAMES, COUNT),
        (_IDENT_NAMES, IDENT),
        (_SEQUENCE_NAMES, SEQUENCE),
        (_MAPPING_NAMES, MAPPING),
        (_CALLABLE_NAMES, CALLABLE),
        (_SEED_NAMES, SEED),
        (_DOCUMENT_NAMES, DOCUMENT),
    ):
        if name in names:
            table.update(kind)
    return table
