"""Tests for to_dict / from_dict: exact round trips and strict, complete errors."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def problems(excinfo):
    return {p.path: p.message for p in excinfo.value.problems}


class TestErrors:
    def test_path_inside_a_collection(self):
        """The issue's own example: the path reaches into lists and nested values."""
        opps = [valid_opportunity_dict(id=f"o-{i}") for i in range(5)]
        opps[3]["amount"] = {"amount": "10", "currency": "usd"}
        with pytest.raises(ValidationError) as exc:
            from_dict(dict[str, list[Opportunity]], {"opportunities": opps})
        assert str(exc.value) == (
            "opportunities[3].amount.currency: 'usd' is not an ISO 4217 code "
            "(three upper-case letters, e.g. 'USD')"
        )

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
        found = problems(exc)
        assert found == {
            "id": "'' is empty; an id must be a non-empty str",
            "owner": "5 is an int; expected a string",
            "created_at": (
                "'2026-01-05T09:00:00' has no UTC offset; funnelkit refuses to guess one (add e.g. '+00:00')"
            ),
            "status": "'pending' is not an OpportunityStatus; allowed: 'open', 'won', 'lost'",
            "amount.amount": (
                "10.5 is a number; send money amounts as strings, e.g. '12.30', so nothing is lost"
            ),
            "expected_close": "'next week' is not an ISO 8601 date such as '2026-03-31'",
            "competitors": "'Rival Inc' is a str; expected a list",
            "gaps[0].due": "'2026-13-01' is not an ISO 8601 date such as '2026-03-31'",
            "gaps[1].description": "missing; this field is required",
            "gaps[1].closed": "'no' is a str; expected true or false",
            "colour": found["colour"],
            "stage": "missing; this field is required",
        }
        assert found["colour"].startswith("unknown field; allowed: id, customer_id, owner")
        assert str(exc.value).startswith("12 problems:\n")

    def test_cross_field_errors_after_types(self):
        """Once the types are right, the entity's own rules report."""
        data = valid_opportunity_dict(stage_entered_at="2026-01-01T00:00:00+00:00")
        with pytest.raises(
            ValidationError, match="stage_entered_at: 2026-01-01T00:00:00\\+00:00 is before created_at"
        ):
            from_dict(Opportunity, data)

    @pytest.mark.parametrize(
        ("cls", "data", "path", "fragment"),
        [
            (Opportunity, None, "", "None is a NoneType; expected an object with the fields of Opportunity"),
            (Opportunity, [], "", "[] is a list; expected an object with the fields of Opportunity"),
            (Money, "12.30 USD", "", "'12.30 USD' is a str; expected an object with 'amount' and 'currency'"),
            (Money, {"amount": "1"}, "currency", "missing; this field is required"),
            (
                Money,
                {"amount": True, "currency": "USD"},
                "amount",
                "True is a bool; expected the amount as a string",
            ),
            (Money, {"amount": "abc", "currency": "USD"}, "amount", "'abc' is not a decimal number"),
            (
                Money,
                {"amount": "1", "currency": "USD", "fx": 1},
                "fx",
                "unknown field; allowed: amount, currency",
            ),
            (
                Lead,
                {"id": "l", "source": "web", "created_at": "2026-01-01T00:00:00Z", "intent_score": "NaN"},
                "intent_score",
                "'NaN' is not a finite decimal number",
            ),
            (
                Lead,
                {"id": "l", "source": "web", "created_at": "2026-01-01T00:00:00Z", "intent_score": 1.2},
                "intent_score",
                "1.2 is outside [0, 1]",
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
                "300 is an int; expected an ISO 8601 duration string",
            ),
            (
                SalesRep,
                {"id": "r", "name": "Li", "capacity": "10"},
                "capacity",
                "'10' is a str; expected an integer",
            ),
            (
                SalesRep,
                {"id": "r", "name": "Li", "capacity": 1.0},
                "capacity",
                "1.0 is a float; expected an integer",
            ),
            (
                SalesRep,
                {"id": "r", "name": "Li", "active": 1},
                "active",
                "1 is an int; expected true or false",
            ),
            (SalesRep, {"id": "r", "name": "Li", 3: "x"}, "[3]", "unknown field"),
            (list[SalesRep], {"id": "r"}, "", "is a dict; expected a list"),
        ],
    )
    def test_bad_input(self, cls, data, path, fragment):
        """Each kind of bad input is named with its path and value."""
        with pytest.raises(ValidationError) as exc:
            from_dict(cls, data)
        found = problems(exc)
        assert path in found, found
        assert fragment in found[path]

    def test_money_refuses_floats_from_json(self):
        """A JSON number amount is refused: floats lose cents."""
        with pytest.raises(ValidationError, match=r"amount: 0\.1 is a number; send money amounts as strings"):
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
        with pytest.raises(ValidationError) as exc:
            from_dict(list[list[str]], deep)
        assert str(exc.value) == "[0][0]: [[[...]]] is a list; expected a string"

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
            (float, 1.5),
            (bytes, 3),
            (list[complex], [1]),
            (dict[str, float], {"a": 1.5}),
            ([Customer], []),
            (list[[Customer]], [1]),
            (tuple[int, str], [1, "a"]),
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
        with pytest.raises(ValidationError) as exc:
            from_dict(Money, {"amount": "NaN", "currency": "XXQ"})
        assert [p.path for p in exc.value.problems] == ["amount", "currency"]

    @pytest.mark.parametrize("text", ["PT" + "9" * 5000 + "S", "PT\u0665M", "P\uff11D"])
    def test_durations_in_odd_digits_or_huge(self, text):
        """Huge and non-ASCII durations are a ValidationError, not a ValueError."""
        with pytest.raises(ValidationError, match="is not an ISO 8601 duration"):
            from_dict(dt.timedelta, text)

    def test_non_identifier_keys_are_quoted_in_paths(self):
        """A mapping key that is not a name appears quoted in the path."""
        with pytest.raises(ValidationError) as exc:
            from_dict(dict[str, SalesRep], {"rep-1": {"id": "r"}})
        assert exc.value.problems[0].path == "['rep-1'].name"

    def test_datetime_object_with_a_broken_tzinfo(self):
        """A datetime object whose tzinfo fails is reported, not raised."""

        class Broken(dt.tzinfo):
            def utcoffset(self, _):
                return dt.timedelta(hours=30)

        data = {"id": "r", "name": "Li", "created_at": dt.datetime(2026, 1, 1, tzinfo=Broken())}
        with pytest.raises(ValidationError, match=r"created_at: .* has a tzinfo whose utcoffset"):
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
