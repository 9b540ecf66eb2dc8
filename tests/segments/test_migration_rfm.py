"""Tests for tier migration and RFM scoring."""

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Activity, CurrencyMismatchError, Money, Tier, from_dict, to_dict
from funnelkit.segments import Migration, RfmResult, abc, migration, rfm

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


class TestMigration:
    def test_matrix_by_hand(self):
        """Five customers across two quarters: each lands in its cell, new and lost ones under None."""
        q1 = {"c1": "A", "c2": "B", "c3": "C", "c4": "C"}
        q2 = {"c1": "A", "c2": "A", "c3": "B", "c5": "C"}
        m = migration(q1, q2)
        assert m.matrix() == [
            [1, 0, 0, 0],  # A -> A (c1)
            [1, 0, 0, 0],  # B -> A (c2)
            [0, 1, 0, 1],  # C -> B (c3), C -> lost (c4)
            [0, 0, 1, 0],  # new -> C (c5)
        ]
        assert m.cell(Tier.C, None) == ("c4",)
        assert m.conversion_to_a == Fraction(1, 3)
        assert str(m).splitlines()[-1] == "B/C -> A conversion: 33.3%"

    def test_report(self):
        """A short repr, one record per customer (None: not graded), the matrix in HTML, a document."""
        m = migration(
            {"c1": "A", "c2": "B", "c3": "C", "c4": "C"}, {"c1": "A", "c2": "A", "c3": "B", "c5": "C"}
        )
        assert repr(m) == "<Migration: 5 customers: 2 changed tier, 1 new, 1 lost; B/C -> A 33.3%>"
        assert m.to_records() == [
            {"customer_id": "c1", "before": "A", "after": "A"},
            {"customer_id": "c2", "before": "B", "after": "A"},
            {"customer_id": "c3", "before": "C", "after": "B"},
            {"customer_id": "c4", "before": "C", "after": None},
            {"customer_id": "c5", "before": None, "after": "C"},
        ]
        page = m._repr_html_()
        assert "<caption>Migration: 5 customers:" in page
        assert "<tr><td>C</td><td>0</td><td>1</td><td>0</td><td>1</td></tr>" in page
        data = to_dict(m)
        assert data["conversion_to_a"] == "1/3"
        assert from_dict(Migration, json.loads(json.dumps(data))) == m

    def test_from_abc_results(self):
        """Two A/B/C gradings can be compared directly."""
        before = abc({"x": 90, "y": 10})
        after = abc({"x": 10, "y": 90})
        m = migration(before, after)
        assert (m.cell("A", "B"), m.cell("B", "A")) == (("x",), ("y",))
        assert m.conversion_to_a == 1

    def test_no_b_or_c(self):
        """With no B or C customers the conversion rate is undefined, not zero."""
        assert migration({"a": "A"}, {"a": "A"}).conversion_to_a is None

    def test_bad_tier(self):
        """An unknown tier is named with the customer."""
        with raises_problems(("after['c1']", "choice")):
            migration({"c1": "A"}, {"c1": "D"})

    @given(
        st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(["A", "B", "C"])),
        st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(["A", "B", "C"])),
    )
    def test_every_customer_in_exactly_one_cell(self, q1, q2):
        """The cells partition the customers of both periods: none lost, none counted twice."""
        m = migration(q1, q2)
        ids = [cid for cell in m.cells.values() for cid in cell]
        assert sorted(ids) == sorted(q1.keys() | q2.keys())
        assert sum(map(sum, m.matrix())) == len(q1.keys() | q2.keys())


class TestRfm:
    def test_scores_by_hand(self):
        """Three customers, three bins: recency 2/90/10 days, frequency 2/1/1, money 150/500/20."""
        orders = [
            ("a", NOW - 2 * DAY, 100),
            ("a", NOW - 40 * DAY, 50),
            ("b", NOW - 90 * DAY, Decimal(500)),
            ("c", NOW - 10 * DAY, 20),
        ]
        scores = {s.customer_id: s for s in rfm(orders, now=NOW, bins=3)}
        assert (scores["a"].recency_days, scores["a"].frequency, scores["a"].monetary) == (2, 2, 150)
        # r: b worst (0 worse) 1, c (1 worse) 1 + 3*1//3 = 2, a (2 worse) 3
        # f: b and c tie at 1 (0 worse) -> 1, a -> 1 + 3*2//3 = 3
        # m: c 1, a 2, b 3
        assert {k: s.code for k, s in scores.items()} == {"a": "332", "b": "113", "c": "211"}

    def test_ties_share_a_score(self):
        """Customers with equal measures get equal scores."""
        orders = [(cid, NOW - 5 * DAY, 10) for cid in "abcd"]
        assert {s.code for s in rfm(orders, now=NOW)} == {"111"}

    def test_fewer_customers_than_bins(self):
        """Two customers on a 1..5 scale: the better scores 1 + 5*1//2 = 3."""
        scores = rfm([("a", NOW - DAY, 1), ("b", NOW - 9 * DAY, 2)], now=NOW, bins=5)
        assert [(s.customer_id, s.r, s.m) for s in scores] == [("a", 3, 1), ("b", 1, 3)]

    def test_from_activities(self):
        """Activities count for recency and frequency; money ties at zero."""
        acts = [
            Activity(id=f"x{i}", kind="call", at=NOW - i * DAY, rep_id="r", customer_id="c" + str(i % 2))
            for i in range(1, 6)
        ]
        scores = {s.customer_id: s for s in rfm(acts, now=NOW, bins=2)}
        assert (scores["c1"].recency_days, scores["c1"].frequency) == (1, 3)
        assert (scores["c0"].recency_days, scores["c0"].frequency) == (2, 2)
        assert scores["c0"].m == scores["c1"].m == 1

    @pytest.mark.parametrize(
        ("events", "kwargs", "problem"),
        [
            ([], {}, ("events", "empty")),
            ([("a", NOW + DAY, 1)], {}, ("events[0]", "order")),
            ([("a", dt.datetime(2026, 1, 1), 1)], {}, ("events[0][1]", "timezone")),
            ([("a", NOW, 1.5)], {}, ("events[0][2]", "type")),
            (["a"], {}, ("events[0]", "type")),
            ([("a", NOW, 1)], {"bins": 0}, ("bins", "range")),
        ],
    )
    def test_bad_input(self, events, kwargs, problem):
        """Empty input, events in the future, naive times and floats are refused by name."""
        with raises_problems(problem):
            rfm(events, now=NOW, **kwargs)

    def test_a_report_that_reads_like_the_tuple_it_was(self):
        """len, iteration, indexing, slicing and `in` work as on a tuple; score_of finds one customer."""
        orders = [("b", NOW - 3 * DAY, Money.of("20.50", "EUR")), ("a", NOW - DAY, Money.of(100, "EUR"))]
        scores = rfm(orders, now=NOW, bins=2)
        assert isinstance(scores, RfmResult)
        assert len(scores) == 2
        assert [s.customer_id for s in scores] == ["a", "b"]
        assert scores[0].customer_id == "a"
        assert scores[-1:] == (scores[1],)
        assert scores[1] in scores
        assert scores.index(scores[1]) == 1
        assert scores.score_of("b").code == "111"
        assert (scores.now, scores.bins, scores.currency) == (NOW, 2, "EUR")
        with raises_problems(("customer_id", "reference")):
            scores.score_of("zed")
        with raises_problems(("customer_id", "type")):
            scores.score_of(5)

    def test_report(self):
        """A short repr, one record per customer with the money split, a document that reads back."""
        orders = [
            ("b", NOW - 3 * DAY, Money.of("20.50", "EUR")),
            ("a", NOW - DAY, Money.of(100, "EUR")),
            ("a", NOW - 2 * DAY, Money.of(0, "EUR")),
        ]
        scores = rfm(orders, now=NOW, bins=2)
        assert repr(scores) == (
            "<RfmResult: 2 customers on a scale of 1-2 as of 2026-03-01 00:00; 1 scored 222; "
            "monetary total 120.50 EUR>"
        )
        assert scores.to_records()[1] == {
            "customer_id": "b",
            "recency_days": 3,
            "frequency": 1,
            "monetary": Decimal("20.50"),
            "monetary_currency": "EUR",
            "r": 1,
            "f": 1,
            "m": 1,
            "code": "111",
        }
        assert scores.to_records(numbers="float")[1]["monetary"] == 20.5
        assert "<td>a</td><td>1</td><td>2</td><td>100 EUR</td><td>2</td>" in scores._repr_html_()
        data = json.loads(json.dumps(scores.to_dict()))
        assert data["currency"] == "EUR"
        assert from_dict(RfmResult, data) == scores

    def test_currencies_do_not_mix(self):
        """Order values in two currencies are refused."""
        with pytest.raises(CurrencyMismatchError):
            rfm([("a", NOW, Money.of(1, "USD")), ("b", NOW, Money.of(1, "EUR"))], now=NOW)

    @given(
        st.lists(
            st.tuples(st.sampled_from("abcdefg"), st.integers(0, 400), st.integers(0, 10_000)),
            min_size=1,
            max_size=40,
        ),
        st.integers(1, 10),
    )
    def test_scores_are_monotone_and_in_range(self, raw, bins):
        """Scores lie in 1..bins, and a better measure never gets a lower score."""
        scores = rfm([(cid, NOW - days * DAY, v) for cid, days, v in raw], now=NOW, bins=bins)
        for s in scores:
            assert 1 <= min(s.r, s.f, s.m) <= max(s.r, s.f, s.m) <= bins
        for x in scores:
            for y in scores:
                if x.recency_days < y.recency_days:
                    assert x.r >= y.r
                if x.frequency > y.frequency:
                    assert x.f >= y.f
                if x.monetary == y.monetary:
                    assert x.m == y.m


def test_migration_merges_partitions_of_the_customers():
    """
    The docstring's quarters split c1, c2 | c3, c4, c5: the merge is the migration of all five,
    B/C -> A 1/3 again; a customer in both parts in the same cell counts once, in two cells is refused.
    """
    q1 = {"c1": "A", "c2": "B", "c3": "C", "c4": "C"}
    q2 = {"c1": "A", "c2": "A", "c3": "B", "c5": "C"}
    left = migration({k: q1[k] for k in ("c1", "c2")}, {k: q2[k] for k in ("c1", "c2")})
    right = migration({k: q1[k] for k in ("c3", "c4")}, {k: q2[k] for k in ("c3", "c5")})
    assert (left.conversion_to_a, right.conversion_to_a) == (Fraction(1), Fraction(0))
    merged = left.merge(right)
    assert merged == migration(q1, q2) == right.merge(left)
    assert merged.conversion_to_a == Fraction(1, 3)
    assert left.merge(left) == left
    with raises_problems(("other.cells", "conflict")) as e:
        left.merge(migration({"c2": "B"}, {"c2": "C"}))
    assert "'c2' moved B -> A in this migration and B -> C in the other" in str(e.value)
