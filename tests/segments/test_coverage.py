"""Tests for coverage alignment and the relationship model."""

import datetime as dt
import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Activity, Customer, KeyPerson, from_dict
from funnelkit.segments import CoveragePlan, Recommendation, coverage, relationships

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def cust(cid, tier, owner):
    return Customer(id=cid, name=cid, created_at=NOW - 400 * DAY, tier=tier, owner=owner)


class TestCoverage:
    def test_by_hand(self):
        """An A customer on a bottom rep moves to the top rep once the top rep's C customer moves down."""
        customers = [
            cust("a1", "A", "bottom"),
            cust("c1", "C", "top"),
            cust("b1", "B", "mid"),
            cust("x", None, "top"),
        ]
        plan = coverage(
            customers,
            quartiles={"top": 1, "mid": 2, "bottom": 4},
            capacities={"top": 2, "mid": 3, "bottom": 3},
        )
        assert [m.customer_id for m in plan.misaligned] == ["a1", "c1"]
        assert [(m.customer_id, m.from_rep, m.to_rep) for m in plan.moves] == [
            ("c1", "top", "bottom"),
            ("a1", "bottom", "top"),
        ]
        assert plan.unresolved == ()
        assert dict(plan.load_after) == {"top": 2, "mid": 1, "bottom": 1}

    def test_no_room_is_reported(self):
        """When no eligible rep has room, the customer stays and the reason is given."""
        plan = coverage(
            [cust("a1", "A", "mid")], quartiles={"top": 1, "mid": 2}, capacities={"top": 0, "mid": 5}
        )
        assert plan.moves == ()
        assert plan.unresolved == (("a1", "no rep of quartile [1] has room"),)

    def test_report(self):
        """A short repr; one record per misaligned customer, with its move or why there is none."""
        customers = [cust("a1", "A", "mid"), cust("c1", "C", "top"), cust("b1", "B", "mid")]
        plan = coverage(customers, quartiles={"top": 1, "mid": 2, "low": 4}, capacities={"top": 0, "low": 5})
        assert repr(plan) == (
            "<CoveragePlan: 2 misaligned customers: 1 move proposed, 1 unresolved; "
            "3 reps cover 3 customers after the moves>"
        )
        assert plan.to_records() == [
            {
                "customer_id": "a1",
                "tier": "A",
                "owner": "mid",
                "owner_quartile": 2,
                "allowed": "1",
                "to_rep": None,
                "reason": "no rep of quartile [1] has room",
            },
            {
                "customer_id": "c1",
                "tier": "C",
                "owner": "top",
                "owner_quartile": 1,
                "allowed": "3, 4",
                "to_rep": "low",
                "reason": "tier C calls for quartile [3, 4], owner is in 1",
            },
        ]
        assert "<td>c1</td><td>C</td><td>top</td><td>1</td><td>3, 4</td><td>low</td>" in plan._repr_html_()
        assert from_dict(CoveragePlan, json.loads(json.dumps(plan.to_dict()))) == plan

    def test_bad_input(self):
        """Quartiles and capacities are checked."""
        with raises_problems(("quartiles['r']", "range")):
            coverage([], quartiles={"r": 5}, capacities={})
        with raises_problems(("capacities['r']", "range")):
            coverage([], quartiles={}, capacities={"r": -1})

    @given(
        st.lists(
            st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["r1", "r2", "r3", "r4"])),
            max_size=30,
        ),
        st.lists(st.integers(0, 10), min_size=4, max_size=4),
    )
    def test_never_over_capacity_and_only_misaligned_move(self, owned, caps):
        """No rep ends above capacity through a move; only misaligned customers move, each once."""
        customers = [cust(f"c{i}", t, r) for i, (t, r) in enumerate(owned)]
        quarts = {"r1": 1, "r2": 2, "r3": 3, "r4": 4}
        capacities = dict(zip(quarts, caps, strict=True))
        plan = coverage(customers, quartiles=quarts, capacities=capacities)
        moved = [m.customer_id for m in plan.moves]
        assert len(moved) == len(set(moved))
        assert set(moved) <= {m.customer_id for m in plan.misaligned}
        for m in plan.moves:
            assert plan.load_after[m.to_rep] <= capacities[m.to_rep]
        assert sum(plan.load_after.values()) == len(customers)  # nobody appears or disappears


class TestRelationships:
    def test_by_hand(self):
        """Recency, frequency and people, averaged: the A customer is grown, the weak C reduced."""
        acme, tiny = cust("acme", "A", "r"), cust("tiny", "C", "r")
        calls = [
            Activity(id=f"k{i}", kind="call", at=NOW - 18 * i * DAY, rep_id="r", customer_id="acme")
            for i in range(3)
        ]  # last contact today, 3 contacts in 180 days
        people = [
            KeyPerson(id="dm", customer_id="acme", name="D", role="decision_maker", stance="supporter"),
            KeyPerson(id="dm2", customer_id="tiny", name="T", role="decision_maker", stance="opponent"),
        ]
        acme_rel, tiny_rel = relationships([acme, tiny], activities=calls, key_persons=people, now=NOW)
        # acme: recency 1, frequency 3/6 = 0.5, people 0.5 + 0.5 = 1 -> (1 + 0.5 + 1) / 3 = 0.83
        assert (acme_rel.recency, acme_rel.frequency, acme_rel.people, acme_rel.strength) == (
            Decimal(1),
            Decimal("0.5"),
            Decimal(1),
            Decimal("0.83"),
        )
        assert acme_rel.recommendation is Recommendation.GROW
        # tiny: never contacted, decision maker opposed -> 0
        assert (tiny_rel.strength, tiny_rel.recommendation) == (Decimal(0), Recommendation.REDUCE)
        assert tiny_rel.reason == "C customer, weak relationship: reduce investment"

    def test_bad_arguments(self):
        """Naive now, a non-positive window, and a threshold outside [0, 1] are refused."""
        with raises_problems(("now", "timezone")):
            relationships([], activities=[], key_persons=[], now=dt.datetime(2026, 1, 1))
        with raises_problems(("window", "range")):
            relationships([], activities=[], key_persons=[], now=NOW, window=dt.timedelta(0))
        with raises_problems(("strong", "range")):
            relationships([], activities=[], key_persons=[], now=NOW, strong="2")
