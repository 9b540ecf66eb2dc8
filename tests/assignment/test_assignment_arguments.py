"""Every argument of the assignment API refuses a wrong value with its own path and message."""

import datetime as dt

import pytest
from roster import NINE, lead, rep

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
IS_NAIVE = (
    "datetime.datetime(2026, 1, 1, 0, 0) is naive; expected a timezone-aware datetime (attach a tzinfo, "
    "e.g. datetime.timezone.utc or zoneinfo.ZoneInfo('Asia/Shanghai'))"
)
TEAM = Team(reps=[rep("a", 5), rep("b", 5)])
OFFER = Offer(lead_id="q", offered_at=NINE, window=dt.timedelta(minutes=30), queue=("a", "b"))
ROULETTE = Roulette(order=["a", "b"], window=dt.timedelta(minutes=30))
READY = lead("l1", owner="a", needs="x", company="Acme", contact_name="Li")
DAY = dt.timedelta(days=1)

CASES = [
    # fairness
    (lambda: fairness([], team=5, start=NINE, end=NINE + DAY), "team: 5 is an int; expected a Team"),
    (lambda: fairness([], team=TEAM, start=NAIVE, end=NINE), f"start: {IS_NAIVE}"),
    (lambda: fairness([], team=TEAM, start=NINE, end=NAIVE), f"end: {IS_NAIVE}"),
    (lambda: fairness(5, team=TEAM, start=NINE, end=NINE + DAY), "decisions: 5 is not an iterable"),
    (lambda: fairness(["x"], team=TEAM, start=NINE, end=NINE + DAY), "decisions[0]: 'x' is a str; expected a Decision"),
    (lambda: fairness([], team=TEAM, start=NINE, end=NINE + DAY, offers=["x"]), "offers[0]: 'x' is a str; expected an Offer"),
    # conversion
    (lambda: convert_lead("x", pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer_id="c"),
     "lead: 'x' is a str; expected a Lead"),
    (lambda: convert_lead(READY, pipeline="p", now=NINE, opportunity_id="o", customer_id="c"),
     "pipeline: 'p' is a str; expected a Pipeline"),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NAIVE, opportunity_id="o", customer_id="c"),
     f"now: {IS_NAIVE}"),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer_id="c",
                          expected_close=NINE), "expected_close: datetime.datetime(2026, 11, 25, 9, 0, "
     "tzinfo=datetime.timezone.utc) is a datetime; expected a datetime.date"),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer_id="c",
                          amount=5), "amount: 5 is an int; expected Money"),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer="c"),
     "customer: 'c' is a str; expected a Customer"),
    (lambda: convert_lead(READY, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer_id="c",
                          contact_id=" k"), "contact_id: ' k' has surrounding whitespace; an id must be stripped"),
    # assign
    (lambda: assign([], team=5, policy=LoadBalance(), now=NINE), "team: 5 is an int; expected a Team"),
    (lambda: assign([], team=TEAM, policy=None, now=NINE), "policy: None is a NoneType; expected a Policy"),
    (lambda: assign([], team=TEAM, policy=LoadBalance(), now=NINE, state=5), "state: 5 is an int; expected an AssignmentState"),
    (lambda: assign([], team=TEAM, policy=LoadBalance(), now=NINE, rng="x"), "rng: 'x' is a str; expected an int seed or a random.Random"),
    (lambda: assign([], team=TEAM, policy=LoadBalance(), now=NAIVE), f"now: {IS_NAIVE}"),
    # roulette
    (lambda: ROULETTE.offer("x", team=TEAM, now=NINE), "lead: 'x' is a str; expected a Lead"),
    (lambda: ROULETTE.offer(lead("q"), team="t", now=NINE), "team: 't' is a str; expected a Team"),
    (lambda: ROULETTE.offer(lead("q"), team=TEAM, now=NAIVE), f"now: {IS_NAIVE}"),
    (lambda: ROULETTE.offer(lead("q"), team=TEAM, now=NINE, state=5), "state: 5 is an int; expected an AssignmentState"),
    (lambda: ROULETTE.fall_back("x", lead("q"), team=TEAM, now=NINE), "offer: 'x' is a str; expected an Offer"),
    (lambda: ROULETTE.fall_back(OFFER, "x", team=TEAM, now=NINE), "lead: 'x' is a str; expected a Lead"),
    (lambda: ROULETTE.fall_back(OFFER, lead("q"), team=5, now=NINE), "team: 5 is an int; expected a Team"),
    (lambda: ROULETTE.fall_back(OFFER, lead("zz"), team=TEAM, now=NINE), "lead.id: 'zz' is not the lead of this offer ('q')"),
    (lambda: Pool(protect_for=DAY, claims=[5]), "claims[0]: 5 is an int; expected a Claim"),
    (lambda: Pool(protect_for=DAY, claims={"a": 5}), "claims['a']: 5 is an int; expected a Claim"),
    (lambda: Pool(protect_for=DAY, claims=5), "claims: 5 is an int; expected claims"),
    (lambda: fairness([], team=TEAM, start=NINE, end=NINE - DAY), "end: 2026-11-24T09:00:00+00:00 is not after start 2026-11-25T09:00:00+00:00"),
    (lambda: OFFER.claim(" a", now=NINE), "rep_id: ' a' has surrounding whitespace; an id must be stripped"),
    (lambda: OFFER.claim("a", now=NINE, team=5), "team: 5 is an int; expected a Team"),
    (lambda: OFFER.claim("a", now=NINE, team=TEAM, state=5), "state: 5 is an int; expected an AssignmentState"),
    (lambda: OFFER.decline("a", now=NAIVE), f"now: {IS_NAIVE}"),
    # pool
    (lambda: Pool(protect_for=DAY).worked_from(5, now=NINE), "activities: 5 is not an iterable of Activity"),
    (lambda: Pool(protect_for=DAY).worked_from(["x"], now=NINE), "activities[0]: 'x' is a str; expected an Activity"),
    (lambda: Pool(protect_for=DAY).holder("c", now=NAIVE), f"now: {IS_NAIVE}"),
    (lambda: Pool(protect_for=DAY).holder(["c"], now=NINE), "customer_id: ['c'] is a list; an id must be a non-empty str"),
    (lambda: Pool(protect_for=DAY).claim("c", "a", now=NINE, team=5), "team: 5 is an int; expected a Team"),
    (lambda: Pool(protect_for=DAY, max_claims=-1), "max_claims: -1 is negative; expected an int >= 0"),
    # records, results, policies, tiers
    (lambda: record(5, []), "state: 5 is an int; expected an AssignmentState"),
    (lambda: record(AssignmentState(), 5), "decisions: 5 is not an iterable of Decision"),
    (lambda: record(AssignmentState(), ["x"]), "decisions[0]: 'x' is a str; expected a Decision"),
    (lambda: AssignmentResult(decisions=(), state=AssignmentState()).apply(5), "leads: 5 is not an iterable of Lead"),
    (lambda: AssignmentResult(decisions=(), state=AssignmentState()).apply(["x"]), "leads[0]: 'x' is a str; expected a Lead"),
    (lambda: policy_from_dict({"type": "rules", "rules": 5}), "rules: 5 is not a list of rules"),
    (lambda: policy_from_dict({"type": "fallback", "policies": 5}), "policies: 5 is not a list of policies"),
    (lambda: policy_from_dict({"type": "load_balance", "colour": 1}),
     "colour: unknown key; allowed: kind, name, reps"),
    (lambda: policy_from_dict({"type": "rules", "rules": [5]}), "rules[0]: 5 is not a dict"),
    (lambda: TierMatch.from_quartiles(5), "quartiles: 5 is not a mapping of rep id to quartile"),
    (lambda: TierMatch.from_quartiles({"a": True}), "quartiles['a']: True is not a quartile; expected 1, 2, 3 or 4"),
    (lambda: TierMatch(groups={"A": ["a"]}, a_from=Money.of("1", "CNY"), b_from=Money.of("1", "USD")),
     "b_from: Money('1', 'USD') is not in CNY, the currency of a_from"),
    (lambda: Decision(lead_id="l", rep_id=None, by=None, reason="r", at=NINE, value=5), "value: 5 is an int; expected Money"),
    (lambda: Activity(id="a", kind="call", at=NINE, rep_id="r", customer_id="c") and Pool(protect_for=5),
     "protect_for: 5 is an int; expected a datetime.timedelta"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_argument_names_itself(call, expected):
    """The one problem names the argument, the value and what is allowed."""
    with pytest.raises(ValidationError) as e:
        call()
    assert [str(p) for p in e.value.problems] == [expected]
