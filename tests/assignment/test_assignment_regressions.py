"""Regressions from the hostile battery: nobody to route to, time order, huge durations, caller contexts."""

import datetime as dt
import decimal
import itertools

import pytest
from roster import NINE, lead, rep

from _problems import raises_problems
from funnelkit import Customer, Money
from funnelkit.assignment import (
    AssignmentState,
    Claim,
    Decision,
    LoadBalance,
    Offer,
    Pool,
    Roulette,
    Rule,
    Team,
    TierMatch,
    WeightedRandom,
    assign,
    reassign,
    record,
)

HOUR = dt.timedelta(hours=1)
WINDOW = dt.timedelta(minutes=30)


# --- a team with nobody to route to ---------------------------------------------------------


def test_assign_refuses_a_team_without_reps():
    """An empty team is refused, saying so, instead of every lead coming back with 'no rep has room ()'."""
    with raises_problems(("team", "empty")):
        assign([lead("l1")], team=Team(reps=[]), policy=LoadBalance(), now=NINE)


def test_assign_refuses_a_team_with_no_active_rep_naming_them():
    """When every rep is inactive, the error names them."""
    team = Team(reps=[rep("a", active=False), rep("b", active=False)])
    with raises_problems(("team", "state")):
        assign([lead("l1")], team=team, policy=LoadBalance(), now=NINE)


def test_reassign_refuses_a_team_with_only_the_leaver():
    """Moving a book needs an active rep besides the one who leaves."""
    team = Team(reps=[rep("a"), rep("b", active=False)])
    with raises_problems(("team", "state")):
        reassign("a", team=team, policy=LoadBalance(), now=NINE, actor="boss", reason="left", leads=[])
    with raises_problems(("team", "empty")):
        reassign("a", team=Team(reps=[]), policy=LoadBalance(), now=NINE, actor="boss", reason="left")


# --- time that cannot be rewritten ------------------------------------------------------------


def test_roulette_claim_before_a_recorded_claim_is_refused():
    """A claim with an earlier now than the recorded claim does not overwrite it."""
    offer = Offer(lead_id="q", offered_at=NINE, window=WINDOW, queue=("a", "b"))
    claimed = offer.claim("a", now=NINE + dt.timedelta(minutes=20))
    with raises_problems(("now", "order")):
        claimed.claim("a", now=NINE + dt.timedelta(minutes=10))
    with raises_problems(("now", "order")):
        claimed.decline("a", now=NINE + dt.timedelta(minutes=10))


def test_pool_release_before_the_claim_says_so():
    """A release dated before the claim names now and the claim, not 'not held by anyone'."""
    pool, _ = Pool(protect_for=HOUR).claim("acme", "a", now=NINE)
    with raises_problems(("now", "order")):
        pool.release("acme", "a", now=NINE - HOUR)


def test_pool_worked_before_the_last_work_is_refused():
    """Work recorded out of order is refused instead of silently ignored."""
    pool, _ = Pool(protect_for=HOUR).claim("acme", "a", now=NINE)
    pool = pool.worked("acme", "a", now=NINE + 30 * dt.timedelta(minutes=1))
    with raises_problems(("now", "order")):
        pool.worked("acme", "a", now=NINE + 10 * dt.timedelta(minutes=1))


def test_record_refuses_a_decision_older_than_the_state():
    """record() keeps the recent assignments in time order."""
    state = record(AssignmentState(), [Decision(lead_id="l1", rep_id="a", by="x", reason="r", at=NINE)])
    old = Decision(lead_id="l2", rep_id="a", by="x", reason="r", at=NINE - HOUR)
    with raises_problems(("decisions[0].at", "order")):
        record(state, [old])


def test_assign_refuses_now_before_the_recorded_assignments():
    """Routing with a now older than the state's last assignment is refused, naming now."""
    team = Team(reps=[rep("a", 5)], window="day")
    first = assign([lead("l1")], team=team, policy=LoadBalance(), now=NINE)
    with raises_problems(("now", "order")):
        assign([lead("l2")], team=team, policy=LoadBalance(), now=NINE - HOUR, state=first.state)


# --- durations and instants at the edge of the calendar ------------------------------------------


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda w: Roulette(order=["a"], window=w), "window"),
        (lambda w: Offer(lead_id="q", offered_at=NINE, window=w, queue=("a",)), "window"),
        (lambda w: Pool(protect_for=w), "protect_for"),
    ],
)
def test_durations_beyond_ten_years_are_refused(make, path):
    """timedelta.max as a window or a protection is refused at construction, at the limit."""
    with raises_problems((path, "limit")):
        make(dt.timedelta.max)


def test_claim_at_the_end_of_time_names_now():
    """A claim whose protection would run past datetime.max names now."""
    with raises_problems(("now", "range")):
        Pool(protect_for=HOUR).claim("acme", "a", now=dt.datetime.max.replace(tzinfo=dt.UTC))


def test_claim_active_checks_now():
    """Claim.active refuses what is not an aware datetime, naming now."""
    claim = Claim(customer_id="c", rep_id="a", claimed_at=NINE, worked_at=NINE, expires_at=NINE + HOUR)
    with raises_problems(("now", "type")):
        claim.active(now=None)


# --- draws, items, endless input ----------------------------------------------------------------


def test_weighted_random_ignores_the_callers_decimal_context():
    """The draws are the same under a one-digit context with every trap set."""
    team = Team(reps=[rep("a"), rep("b"), rep("c")])
    policy = WeightedRandom(weights={"a": 3, "b": "1.5", "c": "0.25"})
    batch = [lead(f"l{i}") for i in range(30)]
    plain = [d.rep_id for d in assign(batch, team=team, policy=policy, now=NINE, rng=4)]
    hostile = decimal.Context(prec=1, traps=list(decimal.Context().flags))
    with decimal.localcontext(hostile):
        under = [d.rep_id for d in assign(batch, team=team, policy=policy, now=NINE, rng=4)]
    assert under == plain


def test_tier_of_and_match_take_a_lead_or_a_customer():
    """The public tier_of and match accept leads and customers, and refuse anything else naming item."""
    usd = "USD"
    policy = TierMatch(groups={"A": ["a"]}, a_from=Money.of(100, usd), b_from=Money.of(10, usd))
    customer = Customer(id="c1", name="C1", created_at=NINE, tier="B")
    assert policy.tier_of(customer).value == "B"
    assert policy.tier_of(lead("l1", value=500, currency=usd)).value == "A"
    rule = Rule(name="north", to=["a"], territory=["north"])
    assert rule.match(lead("l1", territory="north")) == "territory 'north'"
    assert rule.match(customer) is None
    for call in (lambda: policy.tier_of(object()), lambda: rule.match("x")):
        with raises_problems(("item", "type")):
            call()


def test_an_endless_generator_of_junk_is_refused_quickly():
    """Reading stops after 50 bad items: an endless generator is refused, not read forever."""
    with raises_problems(*[(f"reps[{i}]", "type") for i in range(50)]):
        Team(reps=itertools.count())
    with raises_problems(*[(f"leads[{i}]", "type") for i in range(50)]):
        assign(itertools.count(), team=Team(reps=[rep("a")]), policy=LoadBalance(), now=NINE)
