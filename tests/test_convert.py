"""Tests for to_dict / from_dict: exact round trips and strict, complete errors."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import problems_of, raises_problems
from funnelkit import (
    Activity,
    Customer,
    Gap,
    KeyPerson,
    Lead,
    Money,
    Opportunity,
    SalesRep,
    ValidationError,
    from_dict,
    to_dict,
)
from funnelkit import strategies as fks

UTC = dt.UTC

ENTITY_STRATEGIES = {
    Customer: fks.customers(),
    KeyPerson: fks.key_persons(),
    Opportunity: fks.opportunities(),
    Activity: fks.activities(),
    SalesRep: fks.sales_reps(),
    Lead: fks.leads(),
    Gap: fks.gaps(),
    Money: fks.money(),
}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def is_plain_json(value):
    """Only the types json.dumps writes natively, with str keys."""
    if value is None or type(value) in (str, int, bool):
        return True
    if type(value) is list:
        return all(is_plain_json(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and is_plain_json(v) for k, v in value.items())
    return False


@pytest.mark.parametrize("cls", list(ENTITY_STRATEGIES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_round_trip_is_exact(cls, data):
    """from_dict(to_dict(x)) == x for every entity, through real JSON text too."""
    obj = data.draw(ENTITY_STRATEGIES[cls])
    plain = to_dict(obj)
    assert is_plain_json(plain)
    back = from_dict(cls, json.loads(json.dumps(plain)))
    assert back == obj
    assert to_dict(back) == plain


@settings(max_examples=60)  # a whole sales book an example: 60 cover it, 200 took 12 s
@given(fks.sales_data())
def test_whole_book_round_trips(book):
    """A whole book of business round-trips as a dict of lists."""
    plain = {
        "reps": to_dict(book.reps),
        "customers": to_dict(book.customers),
        "opportunities": to_dict(book.opportunities),
        "activities": to_dict(book.activities),
    }
    assert from_dict(dict[str, list[SalesRep]], {"reps": plain["reps"]})["reps"] == list(book.reps)
    assert tuple(from_dict(list[Customer], plain["customers"])) == book.customers
    assert from_dict(tuple[Opportunity, ...], plain["opportunities"]) == book.opportunities
    assert from_dict(tuple[Activity, ...], plain["activities"]) == book.activities


def test_shape_of_the_output():
    """Money as strings, times with offset, durations ISO 8601, enums as values, sets sorted."""
    act = Activity(
        id="a-1",
        kind="call",
        at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        rep_id="r",
        customer_id="c",
        duration=dt.timedelta(minutes=7, seconds=30),
        next_step="send quote",
        next_step_due=dt.date(2026, 3, 5),
    )
    out = to_dict(act)
    assert out["kind"] == "call"
    assert out["at"] == "2026-03-02T01:30:00+00:00"
    assert out["duration"] == "PT7M30S"
    assert out["next_step_due"] == "2026-03-05"
    rep = SalesRep(id="r", name="Li", territories={"south", "east", "north"})
    assert to_dict(rep)["territories"] == ["east", "north", "south"]
    assert to_dict(Money.of("12.30", "USD")) == {"amount": "12.30", "currency": "USD"}
    lead = Lead(id="l", source="web", created_at=dt.datetime(2026, 1, 1, tzinfo=UTC), intent_score="0.25")
    assert to_dict(lead)["intent_score"] == "0.25"


def valid_opportunity_dict(**changes):
    base = {
        "id": "o-1",
        "customer_id": "c-1",
        "owner": "rep-1",
        "pipeline": "default",
        "stage": "contact",
        "created_at": "2026-01-05T09:00:00+00:00",
        "stage_entered_at": "2026-01-05T09:00:00+00:00",
        "amount": {"amount": "1000.00", "currency": "USD"},
    }
    base.update(changes)
    return base


class TestErrors:
    def test_path_inside_a_collection(self):
        """The issue's own example: the path reaches into lists and nested values."""
        opps = [valid_opportunity_dict(id=f"o-{i}") for i in range(5)]
        opps[3]["amount"] = {"amount": "10", "currency": "usd"}
        with raises_problems(("opportunities[3].amount.currency", "format")):
            from_dict(dict[str, list[Opportunity]], {"opportunities": opps})

    def test_every_problem_is_listed(self):
        """Type errors, value errors, missing and unknown fields all come back together."""
        data = valid_opportunity_dict(
            id="",
            owner=5,
            created_at="2026-01-05T09:00:00",
            status="pending",
            amount={"amount": 10.5, "currency": "EUR"},
            expected_close="next week",
            competitors="Rival Inc",
            gaps=[{"description": "budget", "due": "2026-13-01"}, {"closed": "no"}],
            colour="red",
        )
        del data["stage"]
        with pytest.raises(ValidationError) as exc:
            from_dict(Opportunity, data)
        assert set(problems_of(exc)) == {
            ("id", "empty"),
            ("owner", "type"),
            ("created_at", "timezone"),
            ("status", "choice"),
            ("amount.amount", "type"),
            ("expected_close", "format"),
            ("competitors", "type"),
            ("gaps[0].due", "format"),
            ("gaps[1].description", "missing"),
            ("gaps[1].closed", "type"),
            ("colour", "unknown_field"),
            ("stage", "missing"),
        }
        assert str(exc.value).startswith("12 problems:\n")

    def test_cross_field_errors_after_types(self):
        """Once the types are right, the entity's own rules report."""
        data = valid_opportunity_dict(stage_entered_at="2026-01-01T00:00:00+00:00")
        with raises_problems(("stage_entered_at", "order")):
            from_dict(Opportunity, data)

    @pytest.mark.parametrize(
        ("cls", "data", "path", "code"),
        [
            (Opportunity, None, "", "type"),
            (Opportunity, [], "", "type"),
            (Money, "12.30 USD", "", "type"),
            (Money, {"amount": "1"}, "currency", "missing"),
            (
                Money,
                {"amount": True, "currency": "USD"},
                "amount",
                "type",
            ),
            (Money, {"amount": "abc", "currency": "USD"}, "amount", "format"),
            (
                Money,
                {"amount": "1", "currency": "USD", "fx": 1},
                "fx",
                "unknown_field",
            ),
            (
                Lead,
                {"id": "l", "source": "web", "created_at": "2026-01-01T00:00:00Z", "intent_score": "NaN"},
                "intent_score",
                "format",
            ),
            (
                Lead,
                {"id": "l", "source": "web", "created_at": "2026-01-01T00:00:00Z", "intent_score": 1.2},
                "intent_score",
                "range",
            ),
            (
                Activity,
                {
                    "id": "a",
                    "kind": "call",
                    "at": "2026-01-01T00:00:00Z",
                    "rep_id": "r",
                    "customer_id": "c",
                    "duration": 300,
                },
                "duration",
                "type",
            ),
            (
                SalesRep,
                {"id": "r", "name": "Li", "capacity": "10"},
                "capacity",
                "type",
            ),
            (
                SalesRep,
                {"id": "r", "name": "Li", "capacity": 1.0},
                "capacity",
                "type",
            ),
            (
                SalesRep,
                {"id": "r", "name": "Li", "active": 1},
                "active",
                "type",
            ),
            (SalesRep, {"id": "r", "name": "Li", 3: "x"}, "[3]", "unknown_field"),
            (list[SalesRep], {"id": "r"}, "", "type"),
        ],
    )
    def test_bad_input(self, cls, data, path, code):
        """Each kind of bad input is named with its path and the kind of problem."""
        with pytest.raises(ValidationError) as exc:
            from_dict(cls, data)
        assert (path, code) in problems_of(exc)

    def test_money_refuses_floats_from_json(self):
        """A JSON number amount is refused: floats lose cents."""
        with raises_problems(("amount", "type")):
            from_dict(Money, {"amount": 0.1, "currency": "USD"})

    def test_int_amounts_are_fine(self):
        """An integer amount is exact and accepted."""
        assert from_dict(Money, {"amount": 12, "currency": "JPY"}) == Money.of(12, "JPY")

    def test_probability_float_reads_as_typed(self):
        """A JSON 0.3 probability becomes Decimal('0.3')."""
        lead = from_dict(
            Lead, {"id": "l", "source": "w", "created_at": "2026-01-01T00:00:00Z", "intent_score": 0.3}
        )
        assert lead.intent_score == Decimal("0.3")

    def test_deeply_nested_junk_is_reported_briefly(self):
        """Junk too deep to repr is still reported by path, not with a RecursionError."""
        deep: object = "x"
        for _ in range(5000):
            deep = [deep]
        with raises_problems(("[0][0]", "type")) as exc:
            from_dict(list[list[str]], deep)
        assert str(exc.value) == "[0][0]: [[[...]]] is a list; expected a string"  # shown briefly

    @pytest.mark.parametrize(
        ("cls", "data", "expected"),
        [
            (float, 1.5, 1.5),
            (dict[str, float], {"a": 1}, {"a": 1.0}),
            (tuple[int, str], [1, "a"], (1, "a")),
        ],
    )
    def test_report_shapes_are_read(self, cls, data, expected):
        """Floats (as reports hold them) and fixed-length tuples read back."""
        assert from_dict(cls, data) == expected

    def test_already_built_values_pass_through(self):
        """A host may mix built values into the dict it passes."""
        m = Money.of(1, "USD")
        opp = from_dict(
            Opportunity, valid_opportunity_dict(amount=m, created_at=dt.datetime(2026, 1, 5, 9, tzinfo=UTC))
        )
        assert opp.amount is m

    @pytest.mark.parametrize(
        ("cls", "data"),
        [
            (complex, 1),
            (bytes, 3),
            (list[complex], [1]),
            ([Customer], []),
            (list[[Customer]], [1]),
        ],
    )
    def test_unsupported_target_type(self, cls, data):
        """Asking for a type funnelkit does not read is a ValidationError on cls, not a cattrs traceback."""
        with pytest.raises(ValidationError) as exc:
            from_dict(cls, data)
        assert exc.value.problems[0].path == "cls"
        assert "funnelkit cannot read" in str(exc.value)

    def test_money_lists_amount_and_currency_problems(self):
        """A bad amount and a bad currency are both reported."""
        with raises_problems(("amount", "format"), ("currency", "currency")):
            from_dict(Money, {"amount": "NaN", "currency": "XXQ"})

    @pytest.mark.parametrize("text", ["PT" + "9" * 5000 + "S", "PT\u0665M", "P\uff11D"])
    def test_durations_in_odd_digits_or_huge(self, text):
        """Huge and non-ASCII durations are a ValidationError, not a ValueError."""
        with raises_problems(("", "format")):
            from_dict(dt.timedelta, text)

    def test_non_identifier_keys_are_quoted_in_paths(self):
        """A mapping key that is not a name appears quoted in the path."""
        with raises_problems(("['rep-1'].name", "missing")):
            from_dict(dict[str, SalesRep], {"rep-1": {"id": "r"}})

    def test_datetime_object_with_a_broken_tzinfo(self):
        """A datetime object whose tzinfo fails is reported, not raised."""

        class Broken(dt.tzinfo):
            def utcoffset(self, _):
                return dt.timedelta(hours=30)

        data = {"id": "r", "name": "Li", "created_at": dt.datetime(2026, 1, 1, tzinfo=Broken())}
        with raises_problems(("created_at", "timezone")):
            from_dict(Customer, data)


@pytest.mark.parametrize("cls", list(ENTITY_STRATEGIES), ids=lambda c: c.__name__)
@given(data=JSON)
def test_fuzz_arbitrary_json(cls, data):
    """Arbitrary JSON-like input only ever raises ValidationError."""
    try:
        from_dict(cls, data)
    except ValidationError as e:
        assert e.problems
        assert all(isinstance(p.message, str) and p.message for p in e.problems)


@pytest.mark.parametrize("cls", list(ENTITY_STRATEGIES), ids=lambda c: c.__name__)
@given(data=st.data(), junk=JSON)
def test_fuzz_one_field_replaced(cls, data, junk):
    """A valid dict with one field replaced by junk either reads or names that field."""
    plain = to_dict(data.draw(ENTITY_STRATEGIES[cls]))
    key = data.draw(st.sampled_from(sorted(plain)))
    plain[key] = junk
    try:
        obj = from_dict(cls, plain)
    except ValidationError as e:
        tops = {p.path.split(".")[0].split("[")[0] for p in e.problems}
        assert tops <= set(plain)
        # The junk field is named, unless it was well-formed and only broke a
        # rule between fields (such as stage_entered_at >= created_at).
        assert key in tops or hasattr(cls, "_relations")
    else:
        assert from_dict(cls, to_dict(obj)) == obj
