"""Tests for the work queue and follow-up timers."""

import datetime as dt

import pytest

from _problems import raises_problems
from funnelkit import Activity, Customer, Lead, Money, Opportunity
from funnelkit.segments import FollowUpPolicy, due_followups, work_queue

NOW = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def lead(lead_id, intent=None, value=None, created=NOW, **kw):
    return Lead(
        id=lead_id,
        source="web",
        created_at=created,
        intent_score=intent,
        estimated_value=None if value is None else Money.of(value, "CNY"),
        **kw,
    )


class TestWorkQueue:
    def test_intent_then_profit_then_value_then_age_then_id(self):
        """Each tie-break in turn, worked by hand."""
        leads = [
            lead("l-value-low", intent="0.5", value=100),
            lead("l-intent", intent="0.9", value=10),
            lead("l-value-high", intent="0.5", value=1000),
            lead("l-old", intent="0.5", value=100, created=NOW - DAY),
            lead("l-no-intent", value=10**6),
            lead("l-done", intent="1", value=10**6, status="converted"),
        ]
        order = [x.id for x in work_queue(leads)]
        assert order == ["l-intent", "l-value-high", "l-old", "l-value-low", "l-no-intent"]

    def test_profit_comes_before_value(self):
        """A host-supplied profit measure outranks prospect value among equal intents."""
        leads = [lead("a", intent="0.5", value=1000), lead("b", intent="0.5", value=10)]
        margin = {"a": 1, "b": 50}
        assert [x.id for x in work_queue(leads, profit=lambda x: margin[x.id])] == ["b", "a"]

    def test_bad_input(self):
        """Non-leads are named; values in two currencies are refused."""
        with raises_problems(("leads[0]", "type")):
            work_queue(["x"])
        dollars = Lead(
            id="b", source="w", created_at=NOW, intent_score="0.5", estimated_value=Money.of(1, "USD")
        )
        mixed = [lead("a", intent="0.5", value=1), dollars]
        with pytest.raises(ValueError, match="cannot compare CNY and USD"):
            work_queue(mixed)


POLICY = FollowUpPolicy(
    by_tier={"A": 7 * DAY, "B": 14 * DAY, "C": 30 * DAY, None: 30 * DAY},
    by_stage={"negotiation": 2 * DAY},
)


def customer(cid, tier=None, created=NOW - 100 * DAY):
    return Customer(id=cid, name=cid.upper(), created_at=created, tier=tier, owner="rep-1")


def call(cid, when):
    return Activity(id=f"{cid}-{when:%j}", kind="call", at=when, rep_id="rep-1", customer_id=cid)


class TestFollowUps:
    def test_due_and_overdue_by_hand(self):
        """A (7 d) called 10 d ago is 3 days over; B (14 d) is not due; never-called C is due."""
        customers = [
            customer("a", "A"),
            customer("b", "B"),
            customer("c", "C", created=NOW - 31 * DAY),
            customer("d", "A"),  # in negotiation: every 2 days
        ]
        acts = [call("a", NOW - 10 * DAY), call("b", NOW - 10 * DAY), call("d", NOW - 2 * DAY)]
        opps = [
            Opportunity(
                id="o", customer_id="d", owner="rep-1", pipeline="default", stage="negotiation",
                created_at=NOW - 50 * DAY, stage_entered_at=NOW - 5 * DAY,
            )
        ]  # fmt: skip
        due = due_followups(customers, activities=acts, opportunities=opps, policy=POLICY, now=NOW)
        assert [(f.customer_id, f.opportunity_id, f.days_overdue) for f in due] == [
            ("a", None, 3),
            ("d", "o", 3),  # the deal: in negotiation 5 days, no activity on it, every 2 days
            ("c", None, 1),
            ("d", None, 0),
        ]
        assert due[0].last_contact == NOW - 10 * DAY
        assert due[1].last_contact is None

    def test_policy_checks(self):
        """Intervals must be positive timedeltas and tiers real tiers."""
        with raises_problems(("by_tier['A']", "range")):
            FollowUpPolicy(by_tier={"A": dt.timedelta(0)})
        with raises_problems(("by_tier", "choice")):
            FollowUpPolicy(by_tier={"D": DAY})
        with raises_problems(("tier", "missing")):
            FollowUpPolicy(by_tier={"A": DAY}).interval(tier=None, stages=())

    def test_now_must_be_aware(self):
        """A naive now is refused."""
        with raises_problems(("now", "timezone")):
            due_followups([], activities=[], policy=POLICY, now=dt.datetime(2026, 3, 1))
