"""Tests for A/B/C segmentation (the Pareto rule)."""

import datetime as dt
import itertools
import json
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import CurrencyMismatchError, Customer, Money, Tier, from_dict, to_dict
from funnelkit.segments import AbcResult, abc, abc_customers

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)

# A ten-customer Pareto table, worked by hand (DOMAIN.md's rule: A while the share *before* the
# customer is < 80 %, B while < 95 %, C after; ties by id):
#   rank id   value  before  share-before  tier
#   1    c1   500       0       0 %        A
#   2    c2   200     500      50 %        A
#   3    c3   100     700      70 %        A
#   4    c4    60     800      80 %        B   (80 % is not below 80 %)
#   5    c5    40     860      86 %        B
#   6    c6    30     900      90 %        B   (c6 before c7: equal values, ids in order)
#   7    c7    30     930      93 %        B
#   8    c8    20     960      96 %        C
#   9    c9    15     980      98 %        C
#   10   c10    5     995      99.5 %      C
TEN = {"c1": 500, "c2": 200, "c3": 100, "c4": 60, "c5": 40, "c7": 30, "c6": 30, "c8": 20, "c9": 15, "c10": 5}
EXPECTED = {
    "c1": "A", "c2": "A", "c3": "A",
    "c4": "B", "c5": "B", "c6": "B", "c7": "B",
    "c8": "C", "c9": "C", "c10": "C",
}  # fmt: skip


def test_ten_customer_table_worked_by_hand():
    """Tiers, ranks and summary of the hand-worked table above."""
    r = abc(TEN)
    assert {k: v.value for k, v in r.tiers.items()} == EXPECTED
    rows = list(r.rows())
    assert [row.id for row in rows] == ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10"]
    assert rows[3].cumulative_before == Decimal("0.8")
    assert [(s.tier.value, s.count, s.value, s.share_of_value) for s in r.summary] == [
        ("A", 3, 800, Decimal("0.8")),
        ("B", 4, 160, Decimal("0.16")),
        ("C", 3, 40, Decimal("0.04")),
    ]


def test_thresholds_are_configurable():
    """With a=0.5 only c1 is A (c2 starts at 50 %); with b=0.8, c4 is already C."""
    r = abc(TEN, a="0.5", b="0.8")
    assert [t.value for t in (r.tier_of("c1"), r.tier_of("c2"), r.tier_of("c3"), r.tier_of("c4"))] == [
        "A",
        "B",
        "B",
        "C",
    ]


def test_single_customer_is_a():
    """One customer holds everything and is A."""
    assert abc({"only": 7}).tier_of("only") is Tier.A


def test_zero_value_customers_are_c():
    """Customers worth nothing come last and are C."""
    r = abc({"big": 10, "zero-1": 0, "zero-2": 0})
    assert [r.tier_of(k).value for k in ("big", "zero-1", "zero-2")] == ["A", "C", "C"]


def test_money_values_keep_their_currency():
    """Money values are graded in their currency; two currencies are refused."""
    r = abc({"a": Money.of("100.00", "CNY"), "b": Money.of("1.50", "CNY")})
    assert (r.currency, r.total) == ("CNY", Decimal("101.50"))
    with pytest.raises(CurrencyMismatchError):
        abc({"a": Money.of(1, "CNY"), "b": Money.of(1, "USD")})
    with pytest.raises(CurrencyMismatchError):
        abc({"a": Money.of(1, "CNY"), "b": 5})


def test_customers_by_field_or_function():
    """abc_customers grades by a field (purchasing power) or by any function."""
    customers = [
        Customer(id=f"c{i}", name=f"C{i}", created_at=T0, purchasing_power=Money.of(v, "USD"))
        for i, v in enumerate([900, 50, 50])
    ]
    r = abc_customers(customers)  # 900 | 50 from 90 % | 50 from 95 %: A, B, C
    assert [r.tier_of(c.id).value for c in customers] == ["A", "B", "C"]
    by_name = abc_customers(customers, value=lambda c: len(c.name) + int(c.id[1:]))
    assert by_name.tier_of("c2") is Tier.A
    graded = [attrs.evolve(c, tier=r.tier_of(c.id)) for c in customers]
    assert [c.tier for c in graded] == [Tier.A, Tier.B, Tier.C]


@pytest.mark.parametrize(
    ("values", "kwargs", "problem"),
    [
        ({}, {}, ("values", "empty")),
        ({"a": -1}, {}, ("values['a']", "range")),
        ({"a": "lots"}, {}, ("values['a']", "type")),
        ({"a": float("nan")}, {}, ("values['a']", "range")),
        ({"": 1}, {}, ("values[''] (key)", "empty")),
        ({1: 1}, {}, ("values[1] (key)", "type")),
        ({"a": 0, "b": 0}, {}, ("values", "range")),
        ({"a": 1}, {"a": "1.2"}, ("a", "range")),
        ({"a": 1}, {"a": "0.9", "b": "0.5"}, ("b", "order")),
        ([("a", 1), ("a", 2)], {}, ("values[1].id", "duplicate")),
        ([("a", 1), ("b", -2)], {}, ("values[1].value", "range")),
        ([("a", 1, 2)], {}, ("values[0]", "type")),
        (42, {}, ("values", "type")),
    ],
)
def test_bad_input(values, kwargs, problem):
    """Empty input, negative values, bad ids and bad thresholds are named."""
    with raises_problems(problem):
        abc(values, **kwargs)


def test_unknown_customer_and_missing_value():
    """Asking for an ungraded id, or grading a customer without a value, is a clear error."""
    with raises_problems(("customer_id", "reference")):
        abc(TEN).tier_of("zz")
    with raises_problems(("customers[0]", "missing")):
        abc_customers([Customer(id="c", name="C", created_at=T0)])
    with raises_problems(("value", "choice")):
        abc_customers([], value="revenue")


def test_customer_problems_name_the_customer_and_field():
    """abc_customers reports a bad value under customers[i] and the field it read, not 'values'."""
    good = Customer(id="g", name="G", created_at=T0, purchasing_power=Money.of("5", "CNY"))
    with raises_problems(("customers[0].name", "type")):
        abc_customers([good], value="name")
    with raises_problems(("customers[1].value", "range")):
        abc_customers([good, attrs.evolve(good, id="b")], value=lambda cust: -1 if cust.id == "b" else 1)
    with raises_problems(("customers[1].id", "duplicate")):
        abc_customers([good, good])
    with raises_problems(("customers[0].value", "range")):
        abc_customers([good], value=lambda cust: float("inf"))
    with raises_problems(("customers", "empty")):
        abc_customers([])


def test_reports():
    """A short repr, str for people, records per customer, the converter's document, an HTML table."""
    r = abc(TEN)
    assert repr(r) == (
        "<AbcResult: 10 customers, total 1000; "
        "A 3 (80.0% of value), B 4 (16.0% of value), C 3 (4.0% of value)>"
    )
    assert str(r).splitlines()[1] == "  A:       3 customers (  30.0%) hold 800 (80.0%)"
    records = r.to_records()
    assert records[0] == {
        "id": "c1",
        "rank": 1,
        "value": Decimal(500),
        "share": Decimal("0.5"),
        "cumulative_before": Decimal(0),
        "tier": "A",
    }
    assert r.to_records(numbers="float")[3] == {
        "id": "c4",
        "rank": 4,
        "value": 60.0,
        "share": 0.06,
        "cumulative_before": 0.8,
        "tier": "B",
    }
    data = json.loads(json.dumps(r.to_dict()))
    assert data == to_dict(r)
    assert data["summary"][1] == {
        "tier": "B",
        "count": 4,
        "value": "160",
        "share_of_value": "4/25",
        "share_of_customers": "2/5",
    }
    assert data["total"] == "1000"
    assert from_dict(AbcResult, data) == r
    assert from_dict(AbcResult, data).tier_of("c4") is Tier.B
    page = r._repr_html_()
    assert "<caption>AbcResult: 10 customers, total 1000;" in page
    assert "<tr><td>c4</td><td>4</td><td>60</td><td>0.06</td><td>0.8</td><td>B</td></tr>" in page


def test_records_of_money_keep_the_currency():
    """Values given as money come back as an amount and a currency column."""
    r = abc({"x": Money.of("300.50", "EUR"), "y": Money.of(100, "EUR")})
    assert repr(r) == (
        "<AbcResult: 2 customers, total 400.50 EUR; A 2 (100.0% of value), B 0 (0.0% of value), "
        "C 0 (0.0% of value)>"
    )
    assert r.to_records()[0] == {
        "id": "x",
        "rank": 1,
        "value": Decimal("300.50"),
        "value_currency": "EUR",
        "share": Fraction(601, 801),
        "cumulative_before": Decimal(0),
        "tier": "A",
    }


values_maps = st.dictionaries(
    st.text(alphabet="abcdefgh", min_size=1, max_size=4),
    st.decimals(min_value=0, max_value=10**9, places=2),
    min_size=1,
    max_size=40,
).filter(lambda d: any(d.values()))


@given(values_maps)
def test_tiers_partition_and_conserve(values):
    """Every customer gets one tier; tier counts and values add up exactly to the whole."""
    r = abc(values)
    assert set(r.tiers) == set(values)
    assert sum(s.count for s in r.summary) == len(values)
    assert sum(s.value for s in r.summary) == sum(values.values()) == r.total
    assert abs(sum(s.share_of_value for s in r.summary) - 1) < Decimal("1e-26")


@given(values_maps)
def test_ranking_respects_value_and_the_rule(values):
    """Higher value never gets a worse tier; A is the smallest top set reaching 80 %."""
    r = abc(values)
    rows = list(r.rows())
    order = "ABC"
    for hi, lo in itertools.pairwise(rows):
        assert hi.value >= lo.value
        assert order.index(hi.tier.value) <= order.index(lo.tier.value)
    a_rows = [row for row in rows if row.tier is Tier.A]
    assert a_rows  # the top customer is always A
    a_value = sum(row.value for row in a_rows)
    assert a_value >= Decimal("0.8") * r.total or len(a_rows) == len(rows)
    assert a_value - a_rows[-1].value < Decimal("0.8") * r.total


def test_an_unhashable_id_is_reported_with_the_other_problems():
    """A list as an id is a type problem at its place, and the rest of the row is still checked."""
    with raises_problems(
        ("values[0].id", "type"),
        ("values[1].value", "type"),
        ("values[2].id", "type"),
        ("values[2].value", "type"),
    ):
        abc([(["x"], 5), ("a", "x"), (["y"], "z")])
