"""Every assignment refusal: problems by path and code, AssignmentError texts word for word; and the
properties that span several calls."""

import datetime as dt
import pickle
import random
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from roster import NINE, lead, rep, six_reps

from _problems import raises_problems
from funnelkit import Customer, Money
from funnelkit.assignment import (
    AssignmentState,
    Claim,
    Decision,
    Fallback,
    LoadBalance,
    Offer,
    Pool,
    Roulette,
    RoundRobin,
    Rule,
    Rules,
    Skip,
    Team,
    TierMatch,
    WeightedRandom,
    assign,
    convert_lead,
    fairness,
    gini,
    policy_from_dict,
    reassign,
    record,
)
from funnelkit.errors import AssignmentError, ClaimConflict
from funnelkit.stages import default_pipeline

HOUR = dt.timedelta(hours=1)
WINDOW = dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: WeightedRandom(weights={"a": 0}),
            ("weights", "range"),
        ),
        (
            lambda: WeightedRandom(weights={"a": -1}),
            ("weights['a']", "range"),
        ),
        (
            lambda: Rules(rules=[], default=" x"),
            ("default", "format"),
        ),
        (lambda: LoadBalance(reps=[]), ("reps", "empty")),
        (lambda: Fallback(policies=[]), ("policies", "empty")),
        (
            lambda: Fallback(policies=[RoundRobin(), RoundRobin()]),
            ("policies[1].name", "duplicate"),
        ),
        (
            lambda: Rule(name="r", to=["a"], pick="random"),
            ("pick", "choice"),
        ),
        (
            lambda: Rule(name="r", to=["a"], territory=[]),
            ("territory", "empty"),
        ),
        (lambda: TierMatch(groups={}), ("groups", "empty")),
        (
            lambda: TierMatch.from_quartiles({"a": 1}, trainees=5),
            ("trainees", "type"),
        ),
        (
            lambda: policy_from_dict({"type": ["x"]}),
            (("type", "choice")),
        ),
        (lambda: policy_from_dict(5), ("", "type")),
        (
            lambda: Roulette(order=["a"], window=WINDOW, start=1),
            ("start", "range"),
        ),
        (
            lambda: Offer(lead_id="q", offered_at=NINE, window=WINDOW, queue=("a",), claimed_by="a"),
            ("claimed_at", "missing"),
        ),
        (
            lambda: Offer(
                lead_id="q", offered_at=NINE, window=WINDOW, queue=("a",), claimed_by="b", claimed_at=NINE
            ),
            ("claimed_by", "reference"),
        ),
        (
            lambda: Pool(
                protect_for=HOUR,
                claims={
                    "x": Claim(
                        customer_id="y", rep_id="a", claimed_at=NINE, worked_at=NINE, expires_at=NINE + HOUR
                    )
                },
            ),
            ("claims['x']", "conflict"),
        ),
        (
            lambda: Pool(
                protect_for=HOUR,
                claims=[
                    Claim(customer_id="y", rep_id=r, claimed_at=NINE, worked_at=NINE, expires_at=NINE + HOUR)
                    for r in "ab"
                ],
            ),
            ("claims[1].customer_id", "duplicate"),
        ),
        (
            lambda: Decision(lead_id="l", rep_id=None, by=None, reason=" ", at=NINE),
            ("reason", "empty"),
        ),
        (lambda: Skip("a", 5), ("reason", "type")),
        (lambda: gini(["x"]), ("values[0]", "type")),
        (lambda: gini([Decimal("NaN")]), ("values[0]", "range")),
        (lambda: gini(None), ("values", "type")),
        (
            lambda: six_reps().describe_limit("zz", 1),
            ("rep_id", "reference"),
        ),
        (
            lambda: six_reps().window_start(now=dt.datetime(2026, 1, 1)),
            (("now", "timezone")),
        ),
    ],
)
def test_validation_problems(make, expected):
    """Each bad value is refused with its path and the kind of problem."""
    with raises_problems(expected):
        make()


def test_assignment_error_messages():
    """The refusals of pools, offers and conversions, word for word."""
    six = six_reps()
    roulette = Roulette(order=list("ab"), window=WINDOW)
    with pytest.raises(AssignmentError) as e:
        roulette.offer(lead("q", owner="a"), team=six, now=NINE)
    assert str(e.value) == "lead 'q' is already owned by 'a'; only an unowned lead is offered"
    with pytest.raises(AssignmentError) as e:
        roulette.offer(lead("q", status="disqualified"), team=six, now=NINE)
    assert str(e.value) == "lead 'q' is disqualified; only an open lead is offered"
    _, offer = roulette.offer(lead("q"), team=six, now=NINE)
    with pytest.raises(AssignmentError) as e:
        offer.decision()
    assert str(e.value) == "the offer of lead 'q' has not been claimed"
    with pytest.raises(AssignmentError) as e:
        roulette.fall_back(offer, lead("q"), team=six, now=NINE)
    assert str(e.value) == "the offer of lead 'q' is open ('a'); no fallback yet"
    with raises_problems(("now", "order")):
        offer.status(now=NINE - HOUR)
    pool, _ = Pool(protect_for=HOUR).claim("acme", "a", now=NINE)
    with raises_problems(("now", "order")):
        pool.claim("acme", "a", now=NINE - HOUR)
    with pytest.raises(AssignmentError) as e:
        Pool(protect_for=HOUR).release("acme", "a", now=NINE)
    assert (
        str(e.value) == "customer 'acme' is not held by anyone at 2026-11-25T09:00:00+00:00; claim it first"
    )


def test_conversion_messages_name_each_argument():
    """Each bad argument of convert_lead is named, all in one error."""
    with raises_problems(
        ("lead.status", "state"),
        ("opportunity_id", "empty"),
        ("customer_id", "format"),
        ("contact_role", "choice"),
        ("contact_id", "conflict"),
        ("amount", "range"),
    ):
        convert_lead(
            lead("l", owner="a", needs="x", company="Acme", status="converted"),
            pipeline=default_pipeline(),
            now=NINE,
            opportunity_id="",
            customer_id=" c",
            contact_id="kp",
            contact_role="boss",
            amount=Money.of("-1", "USD"),
        )
    with raises_problems(("lead.company", "missing")):
        convert_lead(
            lead("l", owner="a", needs="x"),
            pipeline=default_pipeline(),
            now=NINE,
            opportunity_id="o",
            customer_id="c",
        )


# --- roulette claims count --------------------------------------------------------------


def test_a_rep_full_since_the_offer_cannot_claim_and_claims_are_recorded():
    """
    Reps a and b may take 1 lead a day.  Three offers go out at nine, before anyone claims:
    q0 and q2 start at a, q1 at b.  a claims q0 and b claims q1; q2 is then held by a, who is
    full by now and is refused (with the team given).  Recorded, the claims count in the
    state and in the fairness report.
    """
    team = Team(reps=[rep("a", 1), rep("b", 1)], window="day")
    roulette = Roulette(order=["a", "b"], window=WINDOW)
    offers = []
    for i in range(3):
        roulette, offer = roulette.offer(lead(f"q{i}"), team=team, now=NINE)
        offers.append(offer)
    assert [o.queue for o in offers] == [("a", "b"), ("b", "a"), ("a", "b")]
    state = AssignmentState()
    decisions = []
    for offer in offers[:2]:
        holder = offer.status(now=NINE).holder
        decision = offer.claim(holder, now=NINE, team=team, state=state).decision(value=Money.of("10", "CNY"))
        assert (decision.rep_id, decision.by, decision.reason) == (
            holder,
            "roulette",
            "claimed in the roulette, turn 1 of 2",
        )
        decisions.append(decision)
        state = record(state, [decision])
    with pytest.raises(AssignmentError) as e:
        offers[2].claim("a", now=NINE, team=team, state=state)
    assert (
        str(e.value)
        == "rep 'a' is full: 1 of 1 assigned today and cannot claim lead 'q2'; decline it instead"
    )
    assert [(a.lead_id, a.rep_id) for a in state.recent] == [("q0", "a"), ("q1", "b")]
    report = fairness(decisions, team=team, start=NINE, end=NINE + HOUR)
    assert [(r.rep_id, r.leads, r.value) for r in report.rows] == [
        ("a", 1, Money.of("10", "CNY")),
        ("b", 1, Money.of("10", "CNY")),
    ]


def test_fairness_counts_a_lead_once_by_its_latest_decision():
    """Unassigned at nine, claimed at ten: one lead, assigned, not also unassigned."""
    team = Team(reps=[rep("a", 4), rep("b", 4)])
    first = Decision(lead_id="q", rep_id=None, by="rules", reason="no rule matched", at=NINE)
    later = Decision(
        lead_id="q", rep_id="a", by="roulette", reason="claimed", at=NINE + HOUR, value=Money.of("90", "CNY")
    )
    report = fairness([later, first], team=team, start=NINE, end=NINE + 2 * HOUR)
    assert (report.leads, report.unassigned) == (1, 0)
    a, b = report.rows
    assert (a.expected_value, a.value_ratio, b.value_ratio) == (
        Money.of("45.00", "CNY"),
        Decimal(2),
        Decimal(0),
    )
    # value per unit of capacity: 90/4 and 0: Gini of two values, one holding all = 1/2
    assert report.value_gini == Decimal("0.5")
    with raises_problems(("offers", "type")):
        fairness([], team=team, start=NINE, end=NINE + HOUR, offers=5)


# --- round trips -------------------------------------------------------------------------


def test_decisions_offers_roulettes_and_states_round_trip():
    """Every persisted value reads back equal from its dict, and pickles."""
    roulette = Roulette(
        order=["a", "b"], window=WINDOW, then=Rules(rules=[Rule(name="r", to=["a"])]).or_else(LoadBalance())
    )
    roulette2, offer = roulette.offer(lead("q"), team=Team(reps=[rep("a"), rep("b", 0)]), now=NINE)
    offer = offer.claim("a", now=NINE + HOUR / 4)
    decision = offer.decision(value=Money.of("1.50", "USD"))
    state = record(AssignmentState(pointers={"round_robin": "a"}), [decision])
    for value in (roulette, roulette2, offer, decision, state):
        assert type(value).from_dict(value.to_dict()) == value
        assert pickle.loads(pickle.dumps(value)) == value
    assert decision.to_dict()["skipped"] == [{"rep_id": "b", "reason": "full: 0 of 0 open"}]


def test_pool_refuses_a_claim_on_another_reps_account():
    """Passing the account's owner keeps the pool from giving it a second owner."""
    acme = Customer(id="acme", name="Acme", created_at=NINE, owner="bob")
    with pytest.raises(ClaimConflict) as e:
        Pool(protect_for=HOUR).claim(acme.id, "ann", now=NINE, owner=acme.owner)
    assert str(e.value) == "customer 'acme' is held by 'bob'; 'ann' cannot take it"


# --- properties over several calls -----------------------------------------------------------


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 6)), min_size=1, max_size=12),
    st.sampled_from(["day", "rolling_24h", "month"]),
    st.sampled_from(["load", "rr", "random"]),
)
def test_windowed_capacity_holds_across_calls(calls, window, kind):
    """Batches over several days with the state carried: nobody exceeds the limit in any window."""
    team = Team(reps=[rep("a", 3), rep("b", 2), rep("c", 4, active=False)], window=window, tz="Asia/Shanghai")
    policy = {"load": LoadBalance(), "rr": RoundRobin(), "random": WeightedRandom()}[kind]
    state = AssignmentState()
    now = NINE
    history = []
    n = 0
    for hours, size in calls:
        now += hours * HOUR
        batch = [lead(f"l{n + i}") for i in range(size)]
        n += size
        result = assign(batch, team=team, policy=policy, now=now, state=state, rng=n)
        state = result.state
        history += [(d.rep_id, now) for d in result.assigned]
        for r in team.reps:
            start = team.window_start(now=now)
            used = sum(1 for who, at in history if who == r.id and at >= start)
            assert used <= (r.capacity if r.active else 0)


@given(st.integers(0, 2**32), st.integers(0, 12))
def test_same_inputs_same_result_for_every_policy_and_reassign(seed, n):
    """Rules, fallbacks, random policies and reassignment are deterministic for a seed."""
    team = six_reps()
    rng = random.Random(seed)
    batch = [lead(f"l{i}", territory=rng.choice(["n", "s"]), value=rng.randint(0, 9)) for i in range(n)]
    policy = Rules(rules=[Rule(name="n", to=["a", "b"], territory=["n"], pick="round_robin")]).or_else(
        WeightedRandom(weights={"c": 1, "d": 2})
    )
    one = assign(batch, team=team, policy=policy, now=NINE, rng=seed)
    two = assign(batch, team=team, policy=policy, now=NINE, rng=seed)
    assert one.decisions == two.decisions
    assert one.state == two.state
    owned = [lead(f"o{i}", owner="f") for i in range(n)]
    r1 = reassign("f", team=team, policy=policy, now=NINE, actor="m", reason="left", leads=owned, rng=seed)
    r2 = reassign("f", team=team, policy=policy, now=NINE, actor="m", reason="left", leads=owned, rng=seed)
    assert (r1.moves, r1.unmoved, r1.leads) == (r2.moves, r2.unmoved, r2.leads)
    assert Counter(m.to_rep for m in r1.moves)["f"] == 0
