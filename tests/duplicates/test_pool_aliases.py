"""Pool.claim with aliases=: known duplicates are one account for conflict prevention."""

import contextlib
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Customer
from funnelkit.assignment import Pool
from funnelkit.duplicates import find_duplicates
from funnelkit.errors import ClaimConflict

NINE = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def _customers():
    return [
        Customer(id="acme", name="Acme", created_at=NINE),
        Customer(id="acme-co", name="ACME Co., Ltd.", created_at=NINE),
        Customer(id="zeta", name="Zeta", created_at=NINE),
    ]


def test_a_claim_on_a_duplicate_of_a_held_account_is_refused():
    """The issue's case: Ann holds 'acme'; Bob's claim on 'acme-co' names Ann and her expiry."""
    aliases = find_duplicates(_customers()).accounts()
    pool, _ = Pool(protect_for=3 * DAY).claim("acme", "ann", now=NINE)
    assert (
        pool.claim("acme-co", "bob", now=NINE + HOUR)[1].rep_id == "bob"
    )  # without aliases: no conflict seen
    with pytest.raises(ClaimConflict) as e:
        pool.claim("acme-co", "bob", now=NINE + HOUR, aliases=aliases)
    assert (e.value.key, e.value.holder, e.value.expires_at, e.value.requested_by) == (
        "acme",
        "ann",
        NINE + 3 * DAY,
        "bob",
    )


def test_the_holder_may_claim_another_entry_of_the_account_and_others_are_free():
    """Ann may claim 'acme-co' too; 'zeta' is no alias; a lapsed hold does not block."""
    aliases = {"acme": "acme", "acme-co": "acme"}
    pool, _ = Pool(protect_for=3 * DAY).claim("acme-co", "ann", now=NINE)
    pool, claim = pool.claim("acme", "ann", now=NINE + HOUR, aliases=aliases)
    assert claim.rep_id == "ann"
    assert pool.claim("zeta", "bob", now=NINE + HOUR, aliases=aliases)[1].rep_id == "bob"
    later = NINE + 4 * DAY + HOUR
    assert pool.claim("acme-co", "bob", now=later, aliases=aliases)[1].rep_id == "bob"


def test_an_account_id_that_is_not_itself_a_key_still_joins_its_aliases():
    """aliases may name an account id of its own: every id mapped to it is one account."""
    aliases = {"a1": "ACME", "a2": "ACME"}
    pool, _ = Pool(protect_for=3 * DAY).claim("a2", "ann", now=NINE)
    with pytest.raises(ClaimConflict):
        pool.claim("a1", "bob", now=NINE + HOUR, aliases=aliases)
    pool, _ = Pool(protect_for=3 * DAY).claim("ACME", "ann", now=NINE)
    with pytest.raises(ClaimConflict):
        pool.claim("a1", "bob", now=NINE + HOUR, aliases=aliases)


def test_bad_aliases_are_refused_by_name():
    """Not a mapping, or a key or value that is not an id: an error at aliases."""
    pool = Pool(protect_for=DAY)
    with raises_problems(("aliases", "type")):
        pool.claim("acme", "bob", now=NINE, aliases=["acme"])
    with raises_problems(("aliases[5]", "type")):
        pool.claim("acme", "bob", now=NINE, aliases={5: "acme"})
    with raises_problems(("aliases['acme']", "empty")):
        pool.claim("acme", "bob", now=NINE, aliases={"acme": ""})


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=6),
    st.sampled_from(["a", "b", "c", "d"]),
)
def test_aliases_only_add_refusals(claimed, target):
    """With aliases a claim is refused whenever it is without them, and also when a sibling is held."""
    aliases = {"a": "a", "b": "a", "c": "c"}
    pool = Pool(protect_for=3 * DAY)
    for i, key in enumerate(claimed):
        with contextlib.suppress(ClaimConflict):
            pool, _ = pool.claim(key, f"r{i}", now=NINE + i * HOUR, aliases=aliases)
    now = NINE + 10 * HOUR
    try:
        pool.claim(target, "zed", now=now)
        plain = True
    except ClaimConflict:
        plain = False
    account = aliases.get(target, target)
    sibling_held = any(
        pool.holder(k, now=now) is not None
        for k in {account, *(k for k, v in aliases.items() if v == account)}
    )
    try:
        pool.claim(target, "zed", now=now, aliases=aliases)
        aliased = True
    except ClaimConflict:
        aliased = False
    assert aliased == (plain and not sibling_held)
