"""merge and apply_merge: worked by hand, replayed, held to conservation, and refused by name."""

import datetime as dt
import json
from collections import Counter

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Activity, Customer, KeyPerson, Lead, Money, Opportunity, from_dict, to_dict
from funnelkit.assignment import Claim, Pool
from funnelkit.duplicates import Merge, Merged, apply_merge, find_duplicates, merge
from funnelkit.duplicates.strategies import planted_duplicates
from funnelkit.errors import ClaimConflict

T0 = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
NOW = T0 + 3 * DAY

ACME = Customer(id="acme", name="Acme", created_at=T0, owner="ann", tier="A", tags=["key"])
ACME_CO = Customer(
    id="acme-co", name="ACME Co., Ltd.", created_at=T0 - DAY, owner="bob", industry="retail", tags=["vip"]
)
ACME_CN = Customer(id="acme-cn", name="ＡＣＭＥ有限公司", created_at=T0, industry="food", territory="east")


def deal(ident, customer_id, amount, **kw):
    return Opportunity(
        id=ident,
        customer_id=customer_id,
        owner=kw.pop("owner", "bob"),
        pipeline="default",
        stage="contact",
        created_at=T0,
        stage_entered_at=T0,
        amount=None if amount is None else Money.of(amount, "USD"),
        **kw,
    )


def visit(ident, customer_id, **kw):
    return Activity(id=ident, kind="visit", at=T0 + DAY, rep_id="bob", customer_id=customer_id, **kw)


DEALS = (deal("o1", "acme", "100"), deal("o2", "acme-co", "250.50"), deal("o3", "other", "7"))
VISITS = (visit("a1", "acme-co"), visit("a2", "acme-cn"), visit("a3", "other"))
PEOPLE = (
    KeyPerson(id="k1", customer_id="acme-co", name="Dee", role="decision_maker"),
    KeyPerson(id="k2", customer_id="other", name="Eve", role="user"),
)


# --- worked by hand ----------------------------------------------------------------------------


def test_a_customer_merge_fills_blanks_and_relinks_everything():
    """Survivor's fields win; blanks come from the first duplicate that has them; links move."""
    result = merge(
        ACME,
        [ACME_CO, ACME_CN],
        now=NOW,
        actor="boss",
        opportunities=DEALS,
        activities=VISITS,
        key_persons=PEOPLE,
    )
    assert (
        result.survivor
        == result.customer
        == Customer(
            id="acme",
            name="Acme",
            created_at=T0 - DAY,  # the earliest
            owner="ann",  # the survivor's own
            tier="A",
            industry="retail",  # the first duplicate's, not the second's
            territory="east",  # only the second has one
            tags=["key", "vip"],  # the union
        )
    )
    assert result.removed == ("acme-co", "acme-cn")
    assert [o.customer_id for o in result.opportunities] == ["acme", "acme", "other"]
    assert [a.customer_id for a in result.activities] == ["acme", "acme", "other"]
    assert [k.customer_id for k in result.key_persons] == ["acme", "other"]
    assert [o.owner for o in result.opportunities] == ["bob", "bob", "bob"]  # deals keep their owners
    assert [o.version for o in result.opportunities] == [0, 0, 0]
    assert result.event == Merged(
        kind="customer",
        survivor_id="acme",
        duplicate_ids=("acme-co", "acme-cn"),
        at=NOW,
        actor="boss",
        filled=("created_at", "industry", "territory", "tags"),
    )
    assert result.pool is None
    assert result.released == ()


def test_the_earliest_claim_keeps_the_account_and_the_others_are_released():
    """
    Bob claimed acme-co first (day 0), Ann acme on day 1: Bob keeps the merged account with his
    claim's times; Ann's claim is released; a lapsed claim on a duplicate is dropped.
    """
    pool = Pool(protect_for=7 * DAY)
    pool, bobs = pool.claim("acme-co", "bob", now=T0)
    pool, anns = pool.claim("acme", "ann", now=T0 + DAY)
    pool, _ = pool.claim("acme-cn", "cy", now=T0 - 30 * DAY)  # lapsed by NOW
    result = merge(ACME, [ACME_CO, ACME_CN], now=NOW, actor="boss", pool=pool)
    assert result.pool is not None
    assert dict(result.pool.claims) == {
        "acme": Claim(customer_id="acme", rep_id="bob", claimed_at=T0, worked_at=T0, expires_at=T0 + 7 * DAY)
    }
    assert result.released == (anns,)
    assert bobs.rep_id == "bob"
    with pytest.raises(ClaimConflict):
        result.pool.claim("acme", "ann", now=NOW)


def test_one_reps_claims_fold_into_one():
    """The same rep's claims on both: first claimed, last worked, last expiry."""
    pool = Pool(protect_for=7 * DAY)
    pool, _ = pool.claim("acme", "ann", now=T0)
    pool, _ = pool.claim("acme-co", "ann", now=T0 + 2 * DAY)
    result = merge(ACME, [ACME_CO], now=NOW, actor="boss", pool=pool)
    assert result.pool.claims["acme"] == Claim(
        customer_id="acme", rep_id="ann", claimed_at=T0, worked_at=T0 + 2 * DAY, expires_at=T0 + 9 * DAY
    )
    assert set(result.pool.claims) == {"acme"}


def test_a_lead_merge_relinks_the_deals_converted_from_it():
    """Opportunities pointing at a duplicate lead point at the survivor; blanks are filled."""
    first = Lead(id="l1", source="web", created_at=T0, company="Acme")
    second = Lead(
        id="l2",
        source="fair",
        created_at=T0 - DAY,
        company="ACME Ltd",
        contact_email="ann@acme.com",
        owner="ann",
    )
    deals = [deal("o1", "c1", "10", lead_id="l2"), deal("o2", "c1", "20", lead_id="l9")]
    result = merge(first, [second], now=NOW, actor="boss", opportunities=deals)
    assert result.lead == attrs.evolve(first, created_at=T0 - DAY, contact_email="ann@acme.com", owner="ann")
    assert [o.lead_id for o in result.opportunities] == ["l1", "l9"]
    assert result.event.filled == ("created_at", "contact_email", "owner")


def test_a_key_person_merge_relinks_deals_and_activities_once():
    """The duplicate's id becomes the survivor's, listed once where the first of them was."""
    dee = KeyPerson(id="k1", customer_id="c1", name="Dee", role="decision_maker")
    dee_again = KeyPerson(id="k2", customer_id="c1", name="DEE", role="user", stance="champion", title="CFO")
    deals = [deal("o1", "c1", "10", key_person_ids=["k2", "k3", "k1"]), deal("o2", "c1", "5")]
    visits = [visit("a1", "c1", key_person_ids=["k2"])]
    result = merge(dee, [dee_again], now=NOW, actor="boss", opportunities=deals, activities=visits)
    assert result.key_person == attrs.evolve(dee, stance="champion", title="CFO")  # unknown stance is blank
    assert [o.key_person_ids for o in result.opportunities] == [("k1", "k3"), ()]
    assert [a.key_person_ids for a in result.activities] == [("k1",)]


def test_the_event_is_stored_as_json_and_replayed_to_the_same_result():
    """to_dict, json, from_dict, then apply_merge on the same records: the very same Merge."""
    pool, _ = Pool(protect_for=7 * DAY).claim("acme-co", "bob", now=T0)
    result = merge(
        ACME, [ACME_CO, ACME_CN], now=NOW, actor="boss", opportunities=DEALS, activities=VISITS,
        key_persons=PEOPLE, pool=pool,
    )  # fmt: skip
    stored = json.loads(json.dumps(result.event.to_dict()))
    assert stored["type"] == "merged"
    event = Merged.from_dict(stored)
    replayed = apply_merge(
        event, [ACME_CN, ACME, ACME_CO, Customer(id="x", name="X", created_at=T0)],
        opportunities=DEALS, activities=VISITS, key_persons=PEOPLE, pool=pool,
    )  # fmt: skip
    assert replayed == result
    assert from_dict(Merge, json.loads(json.dumps(to_dict(result)))) == result


# --- refused, with nothing made -----------------------------------------------------------------


def test_bad_merges_are_refused_by_name():
    """Each refusal names the argument, the item's index and the field."""
    with raises_problems(("survivor", "type")):
        merge("acme", [ACME_CO], now=NOW, actor="boss")
    with raises_problems(("duplicates[1]", "type")):
        merge(ACME, [ACME_CO, Lead(id="l1", source="web", created_at=T0)], now=NOW, actor="boss")
    with raises_problems(("duplicates[0].id", "duplicate"), ("duplicates[2].id", "duplicate")):
        merge(ACME, [ACME, ACME_CO, ACME_CO], now=NOW, actor="boss")
    with raises_problems(("duplicates", "empty")):
        merge(ACME, [], now=NOW, actor="boss")
    with raises_problems(("opportunities[1].id", "duplicate")):
        merge(ACME, [ACME_CO], now=NOW, actor="boss", opportunities=[DEALS[0], DEALS[0]])
    with raises_problems(("activities[0]", "type")):
        merge(ACME, [ACME_CO], now=NOW, actor="boss", activities=[DEALS[0]])
    with raises_problems(("pool", "type")):
        merge(ACME, [ACME_CO], now=NOW, actor="boss", pool={})
    with raises_problems(("actor", "empty")):
        merge(ACME, [ACME_CO], now=NOW, actor="")
    with raises_problems(("now", "order")):
        merge(ACME, [ACME_CO], now=T0 - 2 * DAY, actor="boss")
    with raises_problems(("now", "timezone")):
        merge(ACME, [ACME_CO], now=dt.datetime(2026, 11, 5), actor="boss")
    pool, _ = Pool(protect_for=7 * DAY).claim("acme-co", "bob", now=NOW)
    with raises_problems(("now", "order")):
        merge(ACME, [ACME_CO], now=NOW - dt.timedelta(hours=1), actor="boss", pool=pool)


def test_people_of_two_customers_are_not_merged():
    """A key person of another customer: merge the customers first."""
    dee = KeyPerson(id="k1", customer_id="c1", name="Dee", role="user")
    other = KeyPerson(id="k2", customer_id="c2", name="Dee", role="user")
    with raises_problems(("duplicates[0].customer_id", "conflict")):
        merge(dee, [other], now=NOW, actor="boss")


def test_replaying_needs_every_merged_record():
    """A survivor or duplicate missing from the records is a reference problem; a non-event a type one."""
    event = merge(ACME, [ACME_CO], now=NOW, actor="boss").event
    with raises_problems(("records", "reference")):
        apply_merge(event, [ACME])
    with raises_problems(("records[1].id", "duplicate")):
        apply_merge(event, [ACME, ACME, ACME_CO])
    with raises_problems(("event", "type")):
        apply_merge(event.to_dict(), [ACME, ACME_CO])
    with raises_problems(("duplicate_ids", "conflict")):
        Merged(kind="lead", survivor_id="l1", duplicate_ids=["l1"], at=NOW, actor="boss")
    with raises_problems(("duplicate_ids", "empty")):
        Merged(kind="lead", survivor_id="l1", duplicate_ids=[], at=NOW, actor="boss")


# --- properties ---------------------------------------------------------------------------------


@st.composite
def merged_books(draw):
    """A planted book, deals and visits on its customers, and its customer clusters merged one by one."""
    book = draw(planted_duplicates(max_companies=15, min_companies=1))
    customers = list(book.customers)
    ids = [c.id for c in customers]
    n = draw(st.integers(0, 20))
    deals = [
        deal(f"o{i}", draw(st.sampled_from(ids)), draw(st.sampled_from([None, "0", "1.5", "990.25"])))
        for i in range(n)
    ]
    visits = [visit(f"a{i}", draw(st.sampled_from(ids))) for i in range(draw(st.integers(0, 10)))]
    return book, customers, deals, visits


@settings(max_examples=30, deadline=None)
@given(merged_books())
def test_merging_every_cluster_conserves_deals_and_money_and_leaves_no_pair(data):
    """Each found cluster merged: the same deals and amounts; then no pair among the merged records."""
    book, customers, deals, visits = data
    report = find_duplicates(customers, contacts=book.contacts, country_code="86")
    by_id = {c.id: c for c in customers}
    merged_ids = set()
    for cluster in report.clusters:
        survivor, *rest = (by_id[ident] for _, ident in cluster)
        result = merge(survivor, rest, now=NOW, actor="boss", opportunities=deals, activities=visits)
        assert [o.id for o in result.opportunities] == [o.id for o in deals]
        assert Counter(o.amount for o in result.opportunities) == Counter(o.amount for o in deals)
        gone = set(result.removed)
        assert not any(o.customer_id in gone for o in result.opportunities)
        assert not any(a.customer_id in gone for a in result.activities)
        assert apply_merge(result.event, customers, opportunities=deals, activities=visits) == result
        deals, visits = list(result.opportunities), list(result.activities)
        by_id[survivor.id] = result.survivor
        for ident in gone:
            del by_id[ident]
        merged_ids |= {ident for _, ident in cluster}
    again = find_duplicates(list(by_id.values()), contacts=book.contacts, country_code="86")
    assert not any(p.left[1] in merged_ids and p.right[1] in merged_ids for p in again.pairs)
    assert all(o.customer_id in by_id or o.customer_id not in {c.id for c in customers} for o in deals)
