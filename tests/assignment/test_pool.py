"""Tests for the lead pool: claims, protection, expiry and conflict prevention."""

import datetime as dt
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from roster import NINE, rep

from _problems import raises_problems
from funnelkit import Activity
from funnelkit.assignment import Claim, Pool, Team
from funnelkit.errors import AssignmentError, ClaimConflict

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def test_claim_protects_and_names_holder_and_expiry():
    """A second rep is refused with the holder and the expiry; the pool is unchanged."""
    pool, claim = Pool(protect_for=3 * DAY).claim("acme", "ann", now=NINE)
    assert (claim.rep_id, claim.claimed_at, claim.expires_at) == ("ann", NINE, NINE + 3 * DAY)
    with pytest.raises(ClaimConflict) as e:
        pool.claim("acme", "bob", now=NINE + DAY)
    assert str(e.value) == (
        "customer 'acme' is held by 'ann' until 2026-11-28T09:00:00+00:00; 'bob' cannot take it"
    )
    assert (e.value.key, e.value.holder, e.value.expires_at) == ("acme", "ann", NINE + 3 * DAY)
    assert pool.holder("acme", now=NINE + DAY) == claim


def test_unworked_claim_lapses_back_to_the_pool():
    """After the protection ends without work, another rep may claim; expire() lists the lapsed."""
    pool, _ = Pool(protect_for=3 * DAY).claim("acme", "ann", now=NINE)
    later = NINE + 3 * DAY
    assert pool.holder("acme", now=later) is None
    pool2, lapsed = pool.expire(now=later)
    assert [k.customer_id for k in lapsed] == ["acme"]
    assert pool2.claims == {}
    _pool3, claim = pool.claim("acme", "bob", now=later)
    assert claim.rep_id == "bob"
    assert claim.claimed_at == later


def test_working_a_claim_renews_protection():
    """Work at day 2 moves the expiry to day 5; only the holder can record work."""
    pool, _ = Pool(protect_for=3 * DAY).claim("acme", "ann", now=NINE)
    pool = pool.worked("acme", "ann", now=NINE + 2 * DAY)
    assert pool.holder("acme", now=NINE + 4 * DAY).expires_at == NINE + 5 * DAY
    with pytest.raises(ClaimConflict, match="'bob' cannot take it"):
        pool.worked("acme", "bob", now=NINE + 2 * DAY)
    with pytest.raises(AssignmentError, match="'acme' is not held by anyone"):
        pool.worked("acme", "ann", now=NINE + 6 * DAY)


def test_activities_renew_the_holders_claims_only():
    """The holder's activity while protected renews; someone else's, or one after expiry, does not."""
    pool = Pool(protect_for=3 * DAY)
    pool, _ = pool.claim("acme", "ann", now=NINE)
    pool, _ = pool.claim("zeta", "ann", now=NINE)

    def act(i, rep_id, customer, when):
        return Activity(id=f"a{i}", kind="call", at=when, rep_id=rep_id, customer_id=customer)

    acts = [
        act(2, "ann", "acme", NINE + 2 * DAY),
        act(1, "ann", "acme", NINE + DAY),  # out of order on purpose
        act(3, "bob", "zeta", NINE + DAY),
        act(4, "ann", "zeta", NINE + 4 * DAY),  # after zeta lapsed at day 3
        act(5, "ann", "none", NINE),
    ]
    renewed = pool.worked_from(acts, now=NINE + 5 * DAY)
    assert renewed.claims["acme"].expires_at == NINE + 5 * DAY
    assert renewed.claims["zeta"] == pool.claims["zeta"]


def test_activity_renewal_at_its_edges():
    """
    Claimed at nine for 3 days.  Work at the claim instant itself renews nothing; work at day 2
    renews to day 5 and work at day 4 (after the first expiry, within the renewal) to day 7; work
    logged after *now* waits; work at exactly the expiry is too late.
    """
    pool, _ = Pool(protect_for=3 * DAY).claim("acme", "ann", now=NINE)

    def act(i, when):
        return Activity(id=f"a{i}", kind="visit", at=when, rep_id="ann", customer_id="acme")

    assert pool.worked_from([act(0, NINE)], now=NINE + DAY) is pool  # nothing changed: the same pool
    chain = pool.worked_from([act(2, NINE + 4 * DAY), act(1, NINE + 2 * DAY)], now=NINE + 4 * DAY)
    claim = chain.claims["acme"]
    assert (claim.claimed_at, claim.worked_at, claim.expires_at) == (NINE, NINE + 4 * DAY, NINE + 7 * DAY)
    waiting = pool.worked_from([act(1, NINE + 2 * DAY)], now=NINE + 2 * DAY - HOUR)
    assert waiting is pool
    at_now = pool.worked_from([act(1, NINE + 2 * DAY)], now=NINE + 2 * DAY)
    assert at_now.claims["acme"].expires_at == NINE + 5 * DAY
    too_late = pool.worked_from([act(3, NINE + 3 * DAY)], now=NINE + 3 * DAY)
    assert too_late is pool


def test_release_and_max_claims():
    """A rep at max_claims is refused until they release one; only the holder releases."""
    pool = Pool(protect_for=DAY, max_claims=1)
    pool, _ = pool.claim("acme", "ann", now=NINE)
    with pytest.raises(AssignmentError, match=r"'ann' already holds 1 claims \(max_claims=1\)"):
        pool.claim("zeta", "ann", now=NINE)
    with pytest.raises(ClaimConflict):
        pool.release("acme", "bob", now=NINE)
    pool = pool.release("acme", "ann", now=NINE + HOUR)
    pool, _ = pool.claim("zeta", "ann", now=NINE + HOUR)
    assert [k.customer_id for k in pool.held_by("ann", now=NINE + HOUR)] == ["zeta"]


def test_reclaiming_renews_and_keeps_the_first_claim_time():
    """Claiming what one holds is a renewal, not a second claim."""
    pool, _ = Pool(protect_for=DAY, max_claims=1).claim("acme", "ann", now=NINE)
    pool, claim = pool.claim("acme", "ann", now=NINE + HOUR)
    assert (claim.claimed_at, claim.expires_at) == (NINE, NINE + HOUR + DAY)


def test_team_check_refuses_inactive_and_unknown_reps():
    """With a team given, only its active reps may claim."""
    team = Team(reps=[rep("ann"), rep("old", active=False)])
    pool = Pool(protect_for=DAY)
    with pytest.raises(AssignmentError, match="rep 'old' is inactive"):
        pool.claim("acme", "old", now=NINE, team=team)
    with raises_problems(("rep_id", "reference")):
        pool.claim("acme", "zed", now=NINE, team=team)


def test_bad_arguments():
    """Zero protection, bad ids and naive times are refused with the field named."""
    with raises_problems(("protect_for", "range")):
        Pool(protect_for=dt.timedelta(0))
    pool = Pool(protect_for=DAY)
    with raises_problems(("customer_id", "empty"), ("rep_id", "format")):
        pool.claim("", " bob", now=NINE)
    with raises_problems(("now", "timezone")):
        pool.claim("acme", "bob", now=dt.datetime(2026, 1, 1))
    with raises_problems(("expires_at", "order")):
        Claim(customer_id="a", rep_id="b", claimed_at=NINE, worked_at=NINE, expires_at=NINE)


def test_round_trip_through_dict_and_pickle():
    """A pool survives to_dict/from_dict and pickle unchanged."""
    pool, _ = Pool(protect_for=DAY, max_claims=3).claim("acme", "ann", now=NINE)
    pool = pool.worked("acme", "ann", now=NINE + HOUR)
    assert Pool.from_dict(pool.to_dict()) == pool
    assert pickle.loads(pickle.dumps(pool)) == pool
    with raises_problems(("claims[0]", "type"), ("junk", "unknown_field"), ("protect_for", "format")):
        Pool.from_dict({"protect_for": "a day", "claims": [{"customer_id": "x"}], "junk": 1})


# A random sequence of operations against a plain model: a dict of holder and expiry.
OPS = st.lists(
    st.tuples(
        st.sampled_from(["claim", "worked", "release", "expire"]),
        st.sampled_from(["c1", "c2", "c3"]),
        st.sampled_from(["ann", "bob", "cat"]),
        st.integers(0, 30),
    ),
    max_size=40,
)


@given(OPS)
def test_pool_agrees_with_a_model_and_never_has_two_holders(ops):
    """Every operation succeeds or fails exactly as the model says; one holder per customer."""
    protect = 10 * HOUR
    pool = Pool(protect_for=protect)
    model = {}  # customer -> (rep, expires)
    now = NINE
    for op, cust, who, step in ops:
        now += step * HOUR
        held = model.get(cust)
        active = held is not None and now < held[1]
        if op == "expire":
            pool, lapsed = pool.expire(now=now)
            assert {k.customer_id for k in lapsed} == {k for k, (_, exp) in model.items() if exp <= now}
            model = {k: v for k, v in model.items() if now < v[1]}
        elif op == "claim":
            if active and held[0] != who:
                with pytest.raises(ClaimConflict):
                    pool.claim(cust, who, now=now)
            else:
                pool, _ = pool.claim(cust, who, now=now)
                model[cust] = (who, now + protect)
        elif op == "worked":
            if active and held[0] == who:
                pool = pool.worked(cust, who, now=now)
                model[cust] = (who, now + protect)
            else:
                with pytest.raises(AssignmentError):
                    pool.worked(cust, who, now=now)
        elif active and held[0] == who:
            pool = pool.release(cust, who, now=now)
            del model[cust]
        else:
            with pytest.raises(AssignmentError):
                pool.release(cust, who, now=now)
        for cust_id in ("c1", "c2", "c3"):
            claim = pool.holder(cust_id, now=now)
            expect = model.get(cust_id)
            if expect is None or now >= expect[1]:
                assert claim is None
            else:
                assert (claim.rep_id, claim.expires_at) == expect
