"""
Problem codes: the closed vocabulary, its documentation, and the full text of each message template.

Everywhere else tests name a problem by ``(path, code)`` (see ``_problems.py``); here each kind of
message is pinned word for word, once, so that a change of wording is a deliberate change of this
table.
"""

import ast
import datetime as dt
import functools
import itertools
import pickle
import re
import zoneinfo
from decimal import Decimal
from pathlib import Path

import pytest

import funnelkit.errors
from _problems import problems_of
from funnelkit import (
    Activity,
    Customer,
    Lead,
    Money,
    Opportunity,
    SalesRep,
    ValidationError,
    ensure_aware,
    from_dict,
)
from funnelkit._time import zone
from funnelkit.assignment import (
    AssignmentState,
    LoadBalance,
    Offer,
    Pool,
    Rule,
    Team,
    TierMatch,
    assign,
    convert_lead,
    fairness,
    record,
)
from funnelkit.documents import parse_datetime, parse_duration
from funnelkit.errors import (
    CODES,
    AssignmentError,
    ClaimConflict,
    ConcurrencyConflict,
    CurrencyMismatchError,
    MilestoneNotMet,
    Problem,
    TransitionNotAllowed,
)
from funnelkit.events import Event
from funnelkit.segments import abc_customers, work_queue
from funnelkit.stages import AllOf, NoOpenGaps, Pipeline, Stage, TimeInStage, all_of, any_of, default_pipeline

SRC = Path(funnelkit.errors.__file__).parent
UTC = dt.UTC
T0 = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
NINE = dt.datetime(2026, 11, 25, 9, tzinfo=UTC)
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


class BrokenZone(dt.tzinfo):
    def utcoffset(self, _):
        raise RuntimeError("no offset")

    def __repr__(self):
        return "BrokenZone()"


class TwoArguments:
    def __call__(self, a, b):
        return a

    def __repr__(self):
        return "TwoArguments()"


def opp(**changes):
    fields = {
        "id": "o-1",
        "customer_id": "c-1",
        "owner": "r-1",
        "pipeline": "default",
        "stage": "contact",
        "created_at": T0,
        "stage_entered_at": T0,
    }
    return Opportunity(**{**fields, **changes})


def customer(**changes):
    return Customer(**{"id": "c", "name": "Acme", "created_at": T0, **changes})


def stage(key, probability, outcome="open"):
    return Stage(key=key, label=key.title(), probability=probability, outcome=outcome)


def pipeline(*stages, **kw):
    return Pipeline(key="p", label="P", stages=stages, **kw)


CLOSED = (stage("won", 1, "won"), stage("lost", 0, "lost"))

#: One row per kind of message: the call, then every problem as (path, code, message).
TEMPLATES = {
    # type
    "wrong type": (
        lambda: fairness([], team=5, start=NINE, end=NINE + dt.timedelta(days=1)),
        [
            ("team", "type", "5 is an int; expected a Team"),
        ],
    ),
    "wrong item": (
        lambda: record(AssignmentState(), ["x"]),
        [
            ("decisions[0]", "type", "'x' is a str; expected a Decision"),
        ],
    ),
    "not an iterable": (
        lambda: record(AssignmentState(), 5),
        [
            ("decisions", "type", "5 is an int; expected an iterable of Decision"),
        ],
    ),
    "a set where order matters": (
        lambda: opp(key_person_ids={"a"}),
        [
            (
                "key_person_ids",
                "type",
                "{'a'} is a set; expected a list or tuple (order matters), so that the order is kept",
            ),
        ],
    ),
    "float money": (
        lambda: Money.of(0.1, "USD"),
        [
            (
                "amount",
                "type",
                (
                    "0.1 is a float; money refuses floats because they are inexact: pass a str, int or "
                    "Decimal, e.g. Money.of('12.30', 'USD')"
                ),
            ),
        ],
    ),
    # timezone
    "naive datetime": (
        lambda: ensure_aware(dt.datetime(2026, 3, 1, 9, 30), field="now"),
        [
            (
                "now",
                "timezone",
                (
                    "datetime.datetime(2026, 3, 1, 9, 30) is naive; expected a timezone-aware datetime "
                    "(attach a tzinfo, e.g. datetime.timezone.utc or zoneinfo.ZoneInfo('Asia/Shanghai'))"
                ),
            ),
        ],
    ),
    "skipped hour": (
        lambda: ensure_aware(dt.datetime(2026, 3, 8, 2, 30, tzinfo=NEW_YORK), field="at"),
        [
            (
                "at",
                "timezone",
                (
                    "datetime.datetime(2026, 3, 8, 2, 30, tzinfo=zoneinfo.ZoneInfo(key='America/Ne... does "
                    "not exist: the clocks in America/New_York skip that hour (daylight saving); give the "
                    "time in UTC or with a fixed offset"
                ),
            ),
        ],
    ),
    "broken tzinfo": (
        lambda: ensure_aware(dt.datetime(2026, 1, 1, tzinfo=BrokenZone()), field="at"),
        [
            (
                "at",
                "timezone",
                (
                    "datetime.datetime(2026, 1, 1, 0, 0, tzinfo=BrokenZone()) has a tzinfo whose "
                    "utcoffset() fails (RuntimeError: no offset)"
                ),
            ),
        ],
    ),
    "text without an offset": (
        lambda: parse_datetime("2026-03-02T09:30:00"),
        [
            (
                "text",
                "timezone",
                (
                    "'2026-03-02T09:30:00' has no UTC offset; funnelkit refuses to guess one (add e.g. "
                    "'+00:00')"
                ),
            ),
        ],
    ),
    "offset the zone does not use": (
        lambda: parse_datetime("2026-07-01T09:30:00+00:00[America/New_York]"),
        [
            (
                "text",
                "timezone",
                (
                    "'2026-07-01T09:30:00+00:00[America/New_York]': offset +0000 is not used by "
                    "America/New_York at that time"
                ),
            ),
        ],
    ),
    # empty
    "empty id": (
        lambda: customer(id=""),
        [
            ("id", "empty", "'' is empty; an id must be a non-empty str"),
        ],
    ),
    "blank name": (
        lambda: customer(name="   "),
        [
            ("name", "empty", "'   ' is blank; expected a non-empty str"),
        ],
    ),
    "empty collection": (
        lambda: LoadBalance(reps=[]),
        [
            ("reps", "empty", "() is empty; give at least one rep id"),
        ],
    ),
    # format
    "id with whitespace": (
        lambda: customer(id=" c"),
        [
            ("id", "format", "' c' has surrounding whitespace; an id must be stripped"),
        ],
    ),
    "id with control characters": (
        lambda: customer(id="c\n1"),
        [
            ("id", "format", "'c\\n1' has control characters; an id must be printable"),
        ],
    ),
    "decimal text": (
        lambda: Money.of("twelve", "USD"),
        [
            ("amount", "format", "'twelve' is not a decimal number in plain digits, such as '12.30'"),
        ],
    ),
    "currency code": (
        lambda: Money.of(1, "usd"),
        [
            ("currency", "format", "'usd' is not an ISO 4217 code (three upper-case letters, e.g. 'USD')"),
        ],
    ),
    "zone name": (
        lambda: zone("Mars/Olympus"),
        [
            ("tz", "format", "'Mars/Olympus' is not a tzinfo or a known IANA zone name"),
        ],
    ),
    "duration text": (
        lambda: parse_duration("5 minutes"),
        [
            ("text", "format", "'5 minutes' is not an ISO 8601 duration such as 'PT5M' or 'P1DT2H'"),
        ],
    ),
    "datetime text": (
        lambda: parse_datetime("yesterday"),
        [
            ("text", "format", "'yesterday' is not an ISO 8601 datetime such as '2026-03-02T09:30:00+08:00'"),
        ],
    ),
    # choice
    "enum value": (
        lambda: customer(tier="D"),
        [
            ("tier", "choice", "'D' is not a Tier; allowed: 'A', 'B', 'C'"),
        ],
    ),
    "one of a few words": (
        lambda: Rule(name="r", to=["a"], pick="random"),
        [
            ("pick", "choice", "'random' is not a pick; allowed: load_balance, round_robin"),
        ],
    ),
    # (events: the tests add requirement and policy classes of their own, which join those families)
    "type tag": (
        lambda: from_dict(Event, {"type": "nope"}),
        [
            (
                "type",
                "choice",
                (
                    "'nope' is not a StageChanged or an AmountChanged or a CloseDateChanged or a "
                    "CategoryChanged or a Decision or an OwnerChanged or a ForecastCall or a Merged; "
                    "allowed: amount_changed, category_changed, close_date_changed, decision, "
                    "forecast_call, merged, owner_changed, stage_changed"
                ),
            ),
        ],
    ),
    # range
    "negative int": (
        lambda: opp(version=-1),
        [
            ("version", "range", "-1 is negative; expected an int >= 0"),
        ],
    ),
    "probability outside [0, 1]": (
        lambda: Lead(id="l", source="web", created_at=T0, intent_score="1.5"),
        [
            ("intent_score", "range", "1.5 is outside [0, 1]; a probability must lie in [0, 1]"),
        ],
    ),
    "negative duration": (
        lambda: Activity(
            id="a", kind="call", at=T0, rep_id="r", customer_id="c", duration=dt.timedelta(seconds=-1)
        ),
        [
            (
                "duration",
                "range",
                "datetime.timedelta(days=-1, seconds=86399) is negative; expected a duration >= 0",
            ),
        ],
    ),
    "negative money": (
        lambda: opp(amount=Money.of("-0.01", "USD")),
        [
            ("amount", "range", "Money('-0.01', 'USD') is negative"),
        ],
    ),
    # limit
    "long id": (
        lambda: customer(id="c" * 257),
        [
            ("id", "limit", "'" + "c" * 76 + "... has 257 characters; an id has at most 256"),
        ],
    ),
    "too many digits": (
        lambda: Money.of("1E+30", "USD"),
        [
            ("amount", "limit", "1E+30 has more than 30 digits before the decimal point"),
        ],
    ),
    "too many items": (
        lambda: all_of(*[NoOpenGaps()] * 1_001),
        [
            ("parts", "limit", "1,001 items; at most 1,000 are allowed"),
        ],
    ),
    "endless iterator": (
        lambda: AllOf(parts=itertools.count()),
        [
            ("parts", "limit", "an iterator of more than 1,000 items; at most 1,000 are allowed"),
        ],
    ),
    "too many days": (
        lambda: TimeInStage(days=10**10),
        [
            ("days", "limit", "10000000000 is more than 36,500 days; expected at most a hundred years"),
        ],
    ),
    "too long a duration": (
        lambda: Pool(protect_for=dt.timedelta(days=4000)),
        [
            (
                "protect_for",
                "limit",
                "datetime.timedelta(days=4000) is longer than 3,650 days, the most allowed",
            ),
        ],
    ),
    # precision
    "decimal places of money": (
        lambda: Money.of(Decimal("1E-21"), "USD"),
        [
            ("amount", "precision", "1E-21 has more than 20 decimal places"),
        ],
    ),
    "decimal places of a probability": (
        lambda: Lead(id="l", source="web", created_at=T0, intent_score=Decimal("1E-21")),
        [
            (
                "intent_score",
                "precision",
                "1E-21 has more than 20 decimal places; a probability has at most 20",
            ),
        ],
    ),
    "finer than the minor unit": (
        lambda: Money.of("0.125", "USD").to_minor(),
        [
            ("amount", "precision", "0.125 USD is finer than the minor unit; call .round() first"),
        ],
    ),
    # order
    "times out of order": (
        lambda: opp(stage_entered_at=dt.datetime(2026, 1, 1, tzinfo=UTC)),
        [
            (
                "stage_entered_at",
                "order",
                "2026-01-01T00:00:00+00:00 is before created_at 2026-01-05T09:00:00+00:00",
            ),
        ],
    ),
    "records out of time order": (
        lambda: Offer(lead_id="q", offered_at=NINE, window=dt.timedelta(minutes=30), queue=("a",)).claim(
            "a", now=NINE - dt.timedelta(hours=1)
        ),
        [
            (
                "now",
                "order",
                (
                    "2026-11-25T08:00:00+00:00 is before the offer of lead 'q' was made "
                    "(2026-11-25T09:00:00+00:00)"
                ),
            ),
        ],
    ),
    "falling probabilities": (
        lambda: pipeline(stage("a", "0.3"), stage("b", "0.2"), *CLOSED),
        [
            (
                "stages",
                "order",
                (
                    "probabilities fall along the forward path: 'a' 0.3 > 'b' 0.2 (set "
                    "probability_check='warn' to allow)"
                ),
            ),
        ],
    ),
    # duplicate
    "repeated items": (
        lambda: opp(key_person_ids=["k", "k"]),
        [
            ("key_person_ids", "duplicate", "duplicate items ['k']; each may appear once"),
        ],
    ),
    "repeated id": (
        lambda: Team(reps=[SalesRep(id="a", name="A"), SalesRep(id="a", name="A")]),
        [
            ("reps[1].id", "duplicate", "'a' appears twice; rep ids must be unique"),
        ],
    ),
    "repeated stage key": (
        lambda: pipeline(stage("a", "0.1"), stage("a", "0.2"), *CLOSED),
        [
            ("stages[1].key", "duplicate", "'a' is used by an earlier stage; keys must be unique"),
        ],
    ),
    # reference
    "unknown stage": (
        lambda: default_pipeline().stage("zz"),
        [
            (
                "key",
                "reference",
                (
                    "'zz' is not a stage of pipeline 'default'; stages: 'contact', 'needs_confirmed', "
                    "'proposal', 'approved', 'shortlisted', 'selected', 'negotiation', 'won', 'lost'"
                ),
            ),
        ],
    ),
    "unknown rep": (
        lambda: Team(reps=[SalesRep(id="a", name="A")]).rep("zz"),
        [
            ("rep_id", "reference", "'zz' is not a rep of this team (reps: 'a')"),
        ],
    ),
    # currency
    "unknown currency": (
        lambda: Money.of(1, "ABC"),
        [
            (
                "currency",
                "currency",
                (
                    "'ABC' is not a known currency; register it first with "
                    "funnelkit.register_currency('ABC', minor_units=...)"
                ),
            ),
        ],
    ),
    "two currencies in one setting": (
        lambda: TierMatch(groups={"A": ["a"]}, a_from=Money.of("1", "CNY"), b_from=Money.of("1", "USD")),
        [
            ("b_from", "currency", "Money('1', 'USD') is not in CNY, the currency of a_from"),
        ],
    ),
    # conflict
    "fields that contradict": (
        lambda: opp(lost_reason="price"),
        [
            (
                "lost_reason",
                "conflict",
                "'price' is set but status is 'open'; only a lost opportunity has a lost reason",
            ),
        ],
    ),
    "closed stage settings": (
        lambda: Stage(key="w", label="W", probability="0.5", outcome="won"),
        [
            ("probability", "conflict", "0.5 on a won stage; it must be 1"),
        ],
    ),
    # graph
    "unreachable stage and dead end": (
        lambda: pipeline(
            stage("a", "0.1"),
            stage("b", "0.5"),
            *CLOSED,
            transitions=[("a", "won"), ("a", "lost"), ("b", "lost")],
        ),
        [
            ("stages[1]", "graph", "'b' cannot be reached from the first stage 'a'"),
            ("stages[1]", "graph", "'b' has no path to a won stage"),
        ],
    ),
    "moves that cannot work": (
        lambda: pipeline(
            stage("a", "0.1"),
            *CLOSED,
            transitions=[("a", "a"), ("a", "won"), ("a", "lost"), ("won", "a"), ("lost", "won")],
        ),
        [
            ("transitions[0]", "graph", "'a' -> 'a' goes nowhere"),
            ("transitions[3]", "graph", "'won' is a won stage; won is final"),
            ("transitions[4]", "graph", "'lost' -> 'won': a lost deal can only reopen to an open stage"),
        ],
    ),
    "a closed first stage": (
        lambda: pipeline(stage("x", 0, "lost"), stage("won", 1, "won")),
        [
            ("stages", "missing", "no open stage; a pipeline needs at least one"),
            ("stages[0]", "graph", "'x' is lost; the first stage must be open"),
            ("stages[1]", "graph", "'won' cannot be reached from the first stage 'x'"),
        ],
    ),
    # state
    "no active rep": (
        lambda: assign(
            [], team=Team(reps=[SalesRep(id="a", name="A", active=False)]), policy=LoadBalance(), now=NINE
        ),
        [
            ("team", "state", "no rep of the team is active (inactive: 'a'); activate one to route to"),
        ],
    ),
    "a lead that cannot convert": (
        lambda: convert_lead(
            Lead(
                id="l", source="web", created_at=T0, owner="a", needs="x", company="Acme", status="converted"
            ),
            pipeline=default_pipeline(),
            now=NINE,
            opportunity_id="o",
            customer_id="c",
        ),
        [
            ("lead.status", "state", "'converted'; only an open lead converts"),
        ],
    ),
    # callable
    "a function of the wrong shape": (
        lambda: abc_customers([], value=TwoArguments()),
        [
            (
                "value",
                "callable",
                (
                    "TwoArguments() cannot be called with one argument; expected a function of a Customer "
                    "(its value)"
                ),
            ),
        ],
    ),
    "a function that returns junk": (
        lambda: work_queue([Lead(id="l", source="web", created_at=T0)], profit=lambda _lead: 1.5),
        [
            (
                "profit(leads[0])",
                "callable",
                (
                    "1.5 is a float; profit must return Money, a finite Decimal or int of at most 30 "
                    "digits, or None"
                ),
            ),
        ],
    ),
    # nested
    "nested too deeply": (
        lambda: any_of(functools.reduce(lambda r, _: all_of(r), range(31), NoOpenGaps())),
        [
            ("parts", "nested", "requirements nest more than 32 levels deep; at most 32 are allowed"),
        ],
    ),
    # missing, unknown_field
    "missing field": (
        lambda: from_dict(SalesRep, {"id": "r"}),
        [
            ("name", "missing", "missing; this field is required"),
        ],
    ),
    "fields that go together": (
        lambda: TierMatch(groups={"A": ["a"]}, a_from=Money.of("1", "CNY")),
        [
            ("b_from", "missing", "give both a_from and b_from, or neither"),
        ],
    ),
    "unknown field": (
        lambda: from_dict(Money, {"amount": "1", "currency": "USD", "fx": 1}),
        [
            ("fx", "unknown_field", "unknown field; allowed: amount, currency"),
        ],
    ),
}


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_each_message_template_word_for_word(kind):
    """The full text of one message of each kind: path, code and message."""
    call, expected = TEMPLATES[kind]
    with pytest.raises(ValidationError) as exc:
        call()
    assert [(p.path, p.code, p.message) for p in exc.value.problems] == expected


def test_the_templates_cover_every_code():
    """Every code has at least one pinned message."""
    assert {code for _, expected in TEMPLATES.values() for _, code, _ in expected} == set(CODES)


# --- the vocabulary ---------------------------------------------------------------------------


def _codes_in_source() -> dict[str, set[str]]:
    """
    Every code written in funnelkit's source, with the files that write it: the ``code=`` of a
    Problem or ValidationError.single (a literal or a conditional of literals), ``code = ...`` set
    before one, the first argument of ``bad(...)`` and an error class's ``code``.
    """
    found: dict[str, set[str]] = {}

    def literals(node: ast.AST) -> list[str]:
        return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]

    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            values: list[str] = []
            if isinstance(node, ast.Call):
                values += [v for k in node.keywords if k.arg == "code" for v in literals(k.value)]
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name == "bad" and node.args:
                    values += literals(node.args[0])
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(getattr(t, "id", None) == "code" for t in targets) and node.value is not None:
                    values += literals(node.value)
            for value in values:
                found.setdefault(value, set()).add(path.name)
    return found


def test_every_code_in_the_source_is_in_the_vocabulary():
    """No code is written that CODES lacks (Problem refuses one at run time; this finds it before)."""
    assert {code: files for code, files in _codes_in_source().items() if code not in CODES} == {}


def test_every_code_in_the_vocabulary_is_used():
    """A code nothing raises is dead vocabulary."""
    assert set(CODES) - set(_codes_in_source()) == set()


def test_the_errors_reference_lists_exactly_the_codes():
    """The table in the errors module's docstring (the reference page) gives each code its meaning."""
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", funnelkit.errors.__doc__, flags=re.MULTILINE)
    assert dict(rows) == dict(CODES)
    assert [code for code, _ in rows] == list(CODES)


def test_codes_are_short_snake_case_words_with_one_line_meanings():
    """Codes are stable identifiers; meanings fit on one line."""
    for code, meaning in CODES.items():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code), code
        assert meaning, code
        assert "\n" not in meaning, code
        assert len(meaning) <= 100, code


def test_codes_are_read_only():
    """CODES cannot be changed at run time."""
    with pytest.raises(TypeError):
        CODES["new"] = "x"  # type: ignore[index]


# --- Problem and ValidationError --------------------------------------------------------------


def test_a_problem_refuses_an_unknown_code_and_text_that_is_not_a_str():
    """A code outside the vocabulary, or a path or message that is not text, is refused by name."""
    with pytest.raises(ValidationError) as exc:
        Problem(path="x", code="oops", message="m")
    assert problems_of(exc) == [("code", "choice")]
    assert exc.value.problems[0].message.startswith("'oops' is not a problem code; allowed: missing, ")
    with pytest.raises(ValidationError) as exc:
        Problem(path=None, code="type", message=b"m")  # type: ignore[arg-type]
    assert problems_of(exc) == [("path", "type")]


def test_a_single_problem_error_needs_its_code():
    """ValidationError.single takes the code by keyword; forgetting it is a TypeError."""
    with pytest.raises(TypeError):
        ValidationError.single("x", "m")  # type: ignore[call-arg]
    assert problems_of(ValidationError.single("x", "m", code="range")) == [("x", "range")]


def test_prefixing_keeps_the_code():
    """A problem located under a prefix keeps its code and message."""
    error = ValidationError.single("[2].amount", "m", code="precision").prefixed("deals")
    assert [(p.path, p.code, p.message) for p in error.problems] == [("deals[2].amount", "precision", "m")]


def test_codes_survive_pickling():
    """A ValidationError sent to another process keeps every problem's code."""
    error = ValidationError(
        [Problem(path="a", code="type", message="m"), Problem(path="b", code="range", message="n")]
    )
    back = pickle.loads(pickle.dumps(error))
    assert [(p.path, p.code, p.message) for p in back.problems] == [("a", "type", "m"), ("b", "range", "n")]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CurrencyMismatchError("add", "USD", "EUR"), "currency"),
        (TransitionNotAllowed(pipeline="p", from_stage="a", to_stage="b", allowed=()), "state"),
        (MilestoneNotMet(None, to_stage="b", unmet=("x",)), "state"),
        (ConcurrencyConflict(opportunity_id="o", expected_version=1, actual_version=2), "conflict"),
        (AssignmentError("refused"), "state"),
        (ClaimConflict(key="k", holder="a", expires_at=None, requested_by="b"), "conflict"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else v,
)
def test_other_errors_carry_the_code_of_their_kind(error, code):
    """Errors that are not about one value say their kind too, from the same vocabulary."""
    assert error.code == code
    assert code in CODES
