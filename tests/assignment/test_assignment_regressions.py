"""Regressions from the hostile battery: nobody to route to, time order, huge durations, caller contexts."""

import datetime as dt
import decimal
import itertools

import pytest
from roster import NINE, lead, rep

from funnelkit import Customer, Money, ValidationError
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


def paths(e):
    """The paths of an error's problems."""
    return [p.path for p in e.value.problems]


# --- a team with nobody to route to ---------------------------------------------------------


def test_assign_refuses_a_team_without_reps():
    """An empty team is refused, saying so, instead of every lead coming back with 'no rep has room ()'."""
    with pytest.raises(ValidationError) as e:
        assign([lead("l1")], team=Team(reps=[]), policy=LoadBalance(), now=NINE)
    assert str(e.value) == "team: the team has no reps; add at least one SalesRep to route to"


def test_assign_refuses_a_team_with_no_active_rep_naming_them():
    """When every rep is inactive, the error names them."""
    team = Team(reps=[rep("a", active=False), rep("b", active=False)])
    with pytest.raises(ValidationError) as e:
        assign([lead("l1")], team=team, policy=LoadBalance(), now=NINE)
    assert str(e.value) == "team: no rep of the team is active (inactive: 'a', 'b'); activate one to route to"


def test_reassign_refuses_a_team_with_only_the_leaver():
    """Moving a book needs an active rep besides the one who leaves."""
    team = Team(reps=[rep("a"), rep("b", active=False)])
    with pytest.raises(ValidationError) as e:
        reassign("a", team=team, policy=LoadBalance(), now=NINE, actor="boss", reason="left", leads=[])
    assert paths(e) == ["team"]
    assert "besides 'a' is active (inactive: 'b')" in str(e.value)
    with pytest.raises(ValidationError) as e:
        reassign("a", team=Team(reps=[]), policy=LoadBalance(), now=NINE, actor="boss", reason="left")
    assert paths(e) == ["team"]


# --- time that cannot be rewritten ------------------------------------------------------------


def test_roulette_claim_before_a_recorded_claim_is_refused():
    """A claim with an earlier now than the recorded claim does not overwrite it."""
    offer = Offer(lead_id="q", offered_at=NINE, window=WINDOW, queue=("a", "b"))
    claimed = offer.claim("a", now=NINE + dt.timedelta(minutes=20))
    with pytest.raises(ValidationError) as e:
        claimed.claim("a", now=NINE + dt.timedelta(minutes=10))
    assert str(e.value) == (
        "now: 2026-11-25T09:10:00+00:00 is before the last record of the offer of lead 'q' "
        "(claimed by 'a' at 2026-11-25T09:20:00+00:00); record in time order"
    )
    with pytest.raises(ValidationError) as e:
        claimed.decline("a", now=NINE + dt.timedelta(minutes=10))
    assert paths(e) == ["now"]


def test_pool_release_before_the_claim_says_so():
    """A release dated before the claim names now and the claim, not 'not held by anyone'."""
    pool, _ = Pool(protect_for=HOUR).claim("acme", "a", now=NINE)
    with pytest.raises(ValidationError) as e:
        pool.release("acme", "a", now=NINE - HOUR)
    assert paths(e) == ["now"]
    assert "before the last record of 'acme' (claimed by 'a' at 2026-11-25T09:00:00+00:00)" in str(e.value)


def test_pool_worked_before_the_last_work_is_refused():
    """Work recorded out of order is refused instead of silently ignored."""
    pool, _ = Pool(protect_for=HOUR).claim("acme", "a", now=NINE)
    pool = pool.worked("acme", "a", now=NINE + 30 * dt.timedelta(minutes=1))
    with pytest.raises(ValidationError) as e:
        pool.worked("acme", "a", now=NINE + 10 * dt.timedelta(minutes=1))
    assert paths(e) == ["now"]
    assert "(last worked by 'a' at 2026-11-25T09:30:00+00:00)" in str(e.value)


def test_record_refuses_a_decision_older_than_the_state():
    """record() keeps the recent assignments in time order."""
    state = record(AssignmentState(), [Decision(lead_id="l1", rep_id="a", by="x", reason="r", at=NINE)])
    old = Decision(lead_id="l2", rep_id="a", by="x", reason="r", at=NINE - HOUR)
    with pytest.raises(ValidationError) as e:
        record(state, [old])
    assert str(e.value) == (
        "decisions[0].at: 2026-11-25T08:00:00+00:00 is before the last recorded assignment "
        "(2026-11-25T09:00:00+00:00); record in time order"
    )


def test_assign_refuses_now_before_the_recorded_assignments():
    """Routing with a now older than the state's last assignment is refused, naming now."""
    team = Team(reps=[rep("a", 5)], window="day")
    first = assign([lead("l1")], team=team, policy=LoadBalance(), now=NINE)
    with pytest.raises(ValidationError) as e:
        assign([lead("l2")], team=team, policy=LoadBalance(), now=NINE - HOUR, state=first.state)
    assert paths(e) == ["now"]
    assert "before the last recorded assignment (2026-11-25T09:00:00+00:00)" in str(e.value)


# --- durations and instants at the edge of the calendar ------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda w: Roulette(order=["a"], window=w),
        lambda w: Offer(lead_id="q", offered_at=NINE, window=w, queue=("a",)),
        lambda w: Pool(protect_for=w),
    ],
)
def test_durations_beyond_ten_years_are_refused(make):
    """timedelta.max as a window or a protection is refused at construction, with the limit."""
    with pytest.raises(ValidationError) as e:
        make(dt.timedelta.max)
    assert "is longer than 3,650 days, the most allowed" in str(e.value)
    assert paths(e)[0] in {"window", "protect_for"}


def test_claim_at_the_end_of_time_names_now():
    """A claim whose protection would run past datetime.max names now."""
    with pytest.raises(ValidationError) as e:
        Pool(protect_for=HOUR).claim("acme", "a", now=dt.datetime.max.replace(tzinfo=dt.UTC))
    assert paths(e) == ["now"]


def test_claim_active_checks_now():
    """Claim.active refuses what is not an aware datetime, naming now."""
    claim = Claim(customer_id="c", rep_id="a", claimed_at=NINE, worked_at=NINE, expires_at=NINE + HOUR)
    with pytest.raises(ValidationError) as e:
        claim.active(None)
    assert paths(e) == ["now"]


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
        with pytest.raises(ValidationError) as e:
            call()
        assert paths(e) == ["item"]
    assert str(e.value) == "item: 'x' is a str; expected a Lead or a Customer"


def test_an_endless_generator_of_junk_is_refused_quickly():
    """Reading stops after 50 bad items: an endless generator is refused, not read forever."""
    with pytest.raises(ValidationError) as e:
        Team(reps=itertools.count())
    assert len(e.value.problems) == 50
    assert paths(e)[0] == "reps[0]"
    with pytest.raises(ValidationError) as e:
        assign(itertools.count(), team=Team(reps=[rep("a")]), policy=LoadBalance(), now=NINE)
    assert paths(e)[:2] == ["leads[0]", "leads[1]"]
