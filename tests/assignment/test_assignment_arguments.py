"""Every argument of the assignment API refuses a wrong value with its own path and code."""

import datetime as dt

import pytest
from roster import NINE, lead, rep

from _problems import assert_problems
from funnelkit import Activity, Money, ValidationError
from funnelkit.assignment import (
    AssignmentResult,
    AssignmentState,
    Decision,
    LoadBalance,
    Offer,
    Pool,
    Roulette,
    Team,
    TierMatch,
    assign,
    convert_lead,
    fairness,
    policy_from_dict,
    record,
)
from funnelkit.stages import default_pipeline

NAIVE = dt.datetime(2026, 1, 1)
TEAM = Team(reps=[rep("a", 5), rep("b", 5)])
OFFER = Offer(lead_id="q", offered_at=NINE, window=dt.timedelta(minutes=30), queue=("a", "b"))
ROULETTE = Roulette(order=["a", "b"], window=dt.timedelta(minutes=30))
READY = lead("l1", owner="a", needs="x", company="Acme", contact_name="Li")
DAY = dt.timedelta(days=1)

CASES = [
    # fairness
    (lambda: fairness([], team=5, start=NINE, end=NINE + DAY), ("team", "type")),
    (lambda: fairness([], team=TEAM, start=NAIVE, end=NINE), ("start", "timezone")),
    (lambda: fairness([], team=TEAM, start=NINE, end=NAIVE), ("end", "timezone")),
    (lambda: fairness(5, team=TEAM, start=NINE, end=NINE + DAY), ("decisions", "type")),
    (lambda: fairness(["x"], team=TEAM, start=NINE, end=NINE + DAY), ("decisions[0]", "type")),
    (lambda: fairness([], team=TEAM, start=NINE, end=NINE + DAY, offers=["x"]), ("offers[0]", "type")),
    # conversion
    (lambda: convert_lead("x", pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer_id="c"),
     ("lead", "type")),
    (lambda: convert_lead(READY, pipeline="p", now=NINE, opportunity_id="o", customer_id="c"),
     ("pipeline", "type")),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NAIVE, opportunity_id="o", customer_id="c"),
     ("now", "timezone")),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer_id="c",
                          expected_close=NINE), ("expected_close", "type")),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer_id="c",
                          amount=5), ("amount", "type")),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer="c"),
     ("customer", "type")),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer_id="c",
                          contact_id=" k"), ("contact_id", "format")),
    # assign
    (lambda: assign([], team=5, policy=LoadBalance(), now=NINE), ("team", "type")),
    (lambda: assign([], team=TEAM, policy=None, now=NINE), ("policy", "type")),
    (lambda: assign([], team=TEAM, policy=LoadBalance(), now=NINE, state=5), ("state", "type")),
    (lambda: assign([], team=TEAM, policy=LoadBalance(), now=NINE, rng="x"), ("rng", "type")),
    (lambda: assign([], team=TEAM, policy=LoadBalance(), now=NAIVE), ("now", "timezone")),
    # roulette
    (lambda: ROULETTE.offer("x", team=TEAM, now=NINE), ("lead", "type")),
    (lambda: ROULETTE.offer(lead("q"), team="t", now=NINE), ("team", "type")),
    (lambda: ROULETTE.offer(lead("q"), team=TEAM, now=NAIVE), ("now", "timezone")),
    (lambda: ROULETTE.offer(lead("q"), team=TEAM, now=NINE, state=5), ("state", "type")),
    (lambda: ROULETTE.fall_back("x", lead("q"), team=TEAM, now=NINE), ("offer", "type")),
    (lambda: ROULETTE.fall_back(OFFER, "x", team=TEAM, now=NINE), ("lead", "type")),
    (lambda: ROULETTE.fall_back(OFFER, lead("q"), team=5, now=NINE), ("team", "type")),
    (lambda: ROULETTE.fall_back(OFFER, lead("zz"), team=TEAM, now=NINE), ("lead.id", "conflict")),
    (lambda: Pool(protect_for=DAY, claims=[5]), ("claims[0]", "type")),
    (lambda: Pool(protect_for=DAY, claims={"a": 5}), ("claims['a']", "type")),
    (lambda: Pool(protect_for=DAY, claims=5), ("claims", "type")),
    (lambda: fairness([], team=TEAM, start=NINE, end=NINE - DAY), ("end", "order")),
    (lambda: OFFER.claim(" a", now=NINE), ("rep_id", "format")),
    (lambda: OFFER.claim("a", now=NINE, team=5), ("team", "type")),
    (lambda: OFFER.claim("a", now=NINE, team=TEAM, state=5), ("state", "type")),
    (lambda: OFFER.decline("a", now=NAIVE), ("now", "timezone")),
    # pool
    (lambda: Pool(protect_for=DAY).worked_from(5, now=NINE), ("activities", "type")),
    (lambda: Pool(protect_for=DAY).worked_from(["x"], now=NINE), ("activities[0]", "type")),
    (lambda: Pool(protect_for=DAY).holder("c", now=NAIVE), ("now", "timezone")),
    (lambda: Pool(protect_for=DAY).holder(["c"], now=NINE), ("customer_id", "type")),
    (lambda: Pool(protect_for=DAY).claim("c", "a", now=NINE, team=5), ("team", "type")),
    (lambda: Pool(protect_for=DAY, max_claims=-1), ("max_claims", "range")),
    # records, results, policies, tiers
    (lambda: record(5, []), ("state", "type")),
    (lambda: record(AssignmentState(), 5), ("decisions", "type")),
    (lambda: record(AssignmentState(), ["x"]), ("decisions[0]", "type")),
    (lambda: AssignmentResult(decisions=(), state=AssignmentState()).apply(5), ("leads", "type")),
    (lambda: AssignmentResult(decisions=(), state=AssignmentState()).apply(["x"]), ("leads[0]", "type")),
    (lambda: policy_from_dict({"type": "rules", "rules": 5}), ("rules", "type")),
    (lambda: policy_from_dict({"type": "fallback", "policies": 5}), ("policies", "type")),
    (lambda: policy_from_dict({"type": "load_balance", "colour": 1}),
     ("colour", "unknown_field")),
    (lambda: policy_from_dict({"type": "rules", "rules": [5]}), ("rules[0]", "type")),
    (lambda: TierMatch.from_quartiles(5), ("quartiles", "type")),
    (lambda: TierMatch.from_quartiles({"a": True}), ("quartiles['a']", "type")),
    (lambda: TierMatch(groups={"A": ["a"]}, a_from=Money.of("1", "CNY"), b_from=Money.of("1", "USD")),
     ("b_from", "currency")),
    (lambda: Decision(lead_id="l", rep_id=None, by=None, reason="r", at=NINE, value=5), ("value", "type")),
    (lambda: Activity(id="a", kind="call", at=NINE, rep_id="r", customer_id="c") and Pool(protect_for=5),
     ("protect_for", "type")),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_argument_names_itself(call, expected):
    """The one problem names the argument and the kind of problem."""
    with pytest.raises(ValidationError) as e:
        call()
    assert_problems(e, expected)
