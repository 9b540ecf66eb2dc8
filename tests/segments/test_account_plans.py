"""
Accounts at risk (silent past their tier's limit) and account plans for A-tier customers (the
key-person map, its gaps and next steps): books worked by hand, no look-ahead, order and refusals.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Activity, Customer, KeyPerson, Money, Opportunity
from funnelkit.segments import GapKind, account_plans, at_risk

UTC = dt.UTC
DAY = dt.timedelta(days=1)
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)


def customer(i: str, tier: str | None = "A", created: dt.datetime = T0, owner: str = "ann") -> Customer:
    return Customer(id=i, name=i.title(), created_at=created, tier=tier, owner=owner)


def touch(i: str, cid: str, days_ago: int, kind: str = "call", people: tuple[str, ...] = ()) -> Activity:
    return Activity(
        id=i, kind=kind, at=NOW - days_ago * DAY, rep_id="bo", customer_id=cid, key_person_ids=people
    )


def deal(i: str, cid: str, amount: str, currency: str = "USD", status: str = "open", **times) -> Opportunity:
    created = times.get("created", T0)
    closed = times.get("closed", created)
    return Opportunity(
        id=i, customer_id=cid, owner="ann", pipeline="p", stage=status, status=status, created_at=created,
        stage_entered_at=closed, amount=Money.of(amount, currency),
        lost_reason="price" if status == "lost" else None,
    )  # fmt: skip


def kp(i: str, cid: str, role: str, stance: str = "unknown") -> KeyPerson:
    return KeyPerson(id=i, customer_id=cid, name=i.upper(), role=role, stance=stance)


# --- at risk ------------------------------------------------------------------------------------


def test_at_risk_by_hand():
    """
    Limits A 30, B 60, ungraded 90 days.  a1: last call 45 days ago (at risk); a2: visit 5 days ago
    (fine); a3: never contacted, created 152 days ago (at risk); b1: 61 days (at risk); b2: 59 days
    (fine); u1 ungraded, 100 days (at risk).  A before B before ungraded; within A the longest silence first.
    """
    book = [
        customer("a1"),
        customer("a2"),
        customer("a3"),
        customer("b1", "B"),
        customer("b2", "B"),
        customer("u1", None),
    ]
    log = [
        touch("x1", "a1", 45), touch("x2", "a2", 5, "visit"), touch("x3", "b1", 61), touch("x4", "b2", 59),
        touch("x5", "u1", 100), touch("x6", "a1", 50),
    ]  # fmt: skip
    risky = at_risk(book, log, now=NOW)
    assert [(r.customer_id, r.days_silent, r.limit_days) for r in risky] == [
        ("a3", 151, 30),
        ("a1", 45, 30),
        ("b1", 61, 60),
        ("u1", 100, 90),
    ]
    a1 = risky.rows[1]
    assert (a1.last_activity_at, a1.last_activity_kind.value, a1.last_activity_rep, a1.owner) == (
        NOW - 45 * DAY,
        "call",
        "bo",
        "ann",
    )
    assert risky.rows[0].last_activity_at is None


def test_at_risk_reads_tiers_limits_and_qualifying_contact():
    """A tiers mapping overrides the customers' own; a tier without a limit is not watched; rules apply."""
    book = [customer("a1"), customer("b1", "B")]
    log = [touch("x1", "a1", 10, "call"), touch("x2", "b1", 10, "visit")]
    assert [r.customer_id for r in at_risk(book, log, now=NOW)] == []
    visits = at_risk(book, log, now=NOW, qualifying=lambda a: a.kind == "visit")
    assert [(r.customer_id, r.days_silent) for r in visits] == [("a1", 151)]  # the call does not count
    regraded = at_risk(book, log, now=NOW, tiers={"b1": "A"}, silent_days={"A": 7})
    assert [r.customer_id for r in regraded] == ["b1"]  # a1 is ungraded now: not watched


def test_at_risk_ranks_equal_silence_by_open_pipeline():
    """Same tier and silence: the larger open pipeline first; closed deals and later deals do not count."""
    book = [customer("a1"), customer("a2"), customer("a3")]
    log = [touch(f"x{i}", f"a{i}", 40) for i in (1, 2, 3)]
    deals = [
        deal("d1", "a1", "100"),
        deal("d2", "a2", "900"),
        deal("d3", "a3", "5000", status="won", closed=NOW - DAY),
        deal("d4", "a3", "7000", created=NOW + DAY),
        deal("d5", "a1", "1000", status="lost", closed=NOW + DAY),  # open at now: lost after it
    ]
    risky = at_risk(book, log, deals, now=NOW)
    assert [(r.customer_id, r.open_deals, r.open_pipeline) for r in risky] == [
        ("a1", 2, (Money.of("1100", "USD"),)),
        ("a2", 1, (Money.of("900", "USD"),)),
        ("a3", 0, ()),
    ]
    mixed = [deal("e1", "a2", "5000", "EUR"), deal("e2", "a1", "10", "CNY")]
    ranked = at_risk(book, log, mixed, now=NOW, currency="EUR")
    assert [r.customer_id for r in ranked] == ["a2", "a1", "a3"]
    assert ranked.to_records()[0]["open_pipeline_EUR"] == 5000


def test_at_risk_ignores_what_happened_after_now():
    """A contact after now does not silence the alarm; a customer created after now is not listed."""
    book = [customer("a1"), customer("a9", created=NOW + DAY)]
    log = [touch("x1", "a1", 40), touch("x2", "a1", -3)]
    assert [(r.customer_id, r.days_silent) for r in at_risk(book, log, now=NOW)] == [("a1", 40)]


def test_at_risk_refuses_bad_arguments_by_name():
    """Bad limits, tiers, currencies and items are named; a customer given twice is refused."""
    book = [customer("a1")]
    with raises_problems(("silent_days['A']", "range")):
        at_risk(book, [], now=NOW, silent_days={"A": -1})
    with raises_problems(("silent_days['D'] (key)", "choice")):
        at_risk(book, [], now=NOW, silent_days={"D": 3})
    with raises_problems(("currency", "format")):
        at_risk(book, [], now=NOW, currency="usd")
    with raises_problems(("customers[1].id", "duplicate")):
        at_risk([*book, *book], [], now=NOW)
    with raises_problems(("activities[0]", "type")):
        at_risk(book, [None], now=NOW)
    with raises_problems(("now", "timezone")):
        at_risk(book, [], now=dt.datetime(2026, 6, 1))


@settings(max_examples=60, deadline=None)
@given(
    days=st.lists(st.integers(0, 200), min_size=1, max_size=12),
    tiers=st.lists(st.sampled_from(["A", "B", "C", None]), min_size=12, max_size=12),
    seed=st.integers(0, 2**32),
)
def test_at_risk_lists_exactly_the_silent_in_any_order(days, tiers, seed):
    """Listed iff silent at least the limit; the input order changes nothing."""
    book = [customer(f"c{i}", tiers[i], created=NOW - 300 * DAY) for i in range(len(days))]
    log = [touch(f"x{i}", f"c{i}", d) for i, d in enumerate(days)]
    risky = at_risk(book, log, now=NOW)
    limits = {"A": 30, "B": 60, "C": 90, None: 90}
    assert {r.customer_id for r in risky} == {f"c{i}" for i, d in enumerate(days) if d >= limits[tiers[i]]}
    rng = random.Random(seed)
    rng.shuffle(book)
    rng.shuffle(log)
    assert at_risk(book, log, now=NOW) == risky


# --- account plans -------------------------------------------------------------------------------


def test_account_plans_by_hand():
    """
    acme: every role found, the recommender against us, the decision maker seen 3 days ago, an open
    deal -> one gap.  bolt: a recommender of unknown stance only, no deal -> four gaps.  cole: a
    decision maker last seen 30 days ago (limit 30) and a neutral facilitator -> two gaps.  dune is
    B: no plan.
    """
    book = [customer("acme"), customer("bolt", owner="bo"), customer("cole"), customer("dune", "B")]
    people = [
        kp("k1", "acme", "decision_maker", "champion"), kp("k2", "acme", "recommender", "opponent"),
        kp("k3", "acme", "facilitator", "supporter"), kp("k4", "bolt", "recommender"),
        kp("k5", "cole", "decision_maker", "supporter"), kp("k6", "cole", "facilitator", "neutral"),
        kp("k7", "acme", "user"), kp("k8", "dune", "decision_maker"),
    ]  # fmt: skip
    log = [
        touch("x1", "acme", 3, "visit", ("k1",)), touch("x2", "cole", 30, "visit", ("k5",)),
        touch("x3", "cole", 2, "call"),
    ]  # fmt: skip
    deals = [deal("d1", "acme", "500"), deal("d2", "cole", "300")]
    plans = account_plans(book, people, log, deals, now=NOW)
    assert [(p.customer_id, [g.kind.value for g in p.gaps]) for p in plans] == [
        ("bolt", ["no_decision_maker", "no_facilitator", "stance_unknown", "no_open_deal"]),
        ("cole", ["no_recommender", "decision_maker_not_contacted"]),
        ("acme", ["opposed"]),
    ]
    bolt, cole, acme = plans
    assert bolt.owner == "bo"
    assert bolt.gaps[0].next_step == "Find the decision maker: ask K4 who approves the purchase"
    assert bolt.gaps[2].key_person_id == "k4"
    assert bolt.gaps[3].next_step == "Open a deal: look for the next need with K4"
    assert cole.gaps[1].next_step == "Contact K5 (decision maker): last contact 30 days ago"
    assert cole.last_decision_maker_contact == NOW - 30 * DAY
    assert acme.gaps[0].next_step.startswith("Learn why K2 (recommender) opposes us")
    assert (acme.decision_maker.key_person_ids, acme.recommender.stances[0].value) == (("k1",), "opponent")
    assert all(cover.found for cover in acme.coverage)
    record = plans.to_records()[2]
    assert (record["decision_maker"], record["missing"], record["open_pipeline_USD"]) == (
        "K1 (champion)",
        "opposed",
        500,
    )
    later = account_plans(book, people, log, deals, now=NOW, contact_days=31)
    assert [(p.customer_id, [g.kind for g in p.gaps]) for p in later.plans[1:]] == [
        ("acme", [GapKind.OPPOSED]),  # one gap each: the more serious first
        ("cole", [GapKind.NO_RECOMMENDER]),
    ]


def test_account_plans_are_as_of_now_and_follow_the_tiers_given():
    """Activities, customers and deals after now are ignored; a tiers mapping picks the accounts."""
    book = [customer("acme", "C"), customer("late", created=NOW + DAY)]
    people = [kp("k1", "acme", "decision_maker", "supporter")]
    log = [touch("x1", "acme", -1, "visit", ("k1",))]
    deals = [
        deal("d1", "acme", "10", created=NOW + DAY),
        deal("d2", "acme", "20", status="won", closed=NOW + DAY),
    ]
    plans = account_plans(book, people, log, deals, now=NOW, tiers={"acme": "A", "late": "A"})
    (plan,) = plans
    assert plan.customer_id == "acme"
    assert plan.last_decision_maker_contact is None
    assert (plan.open_deals, plan.open_pipeline) == (1, (Money.of("20", "USD"),))  # won after now: open then
    assert GapKind.DECISION_MAKER_NOT_CONTACTED in {g.kind for g in plan.gaps}
    assert account_plans(book, people, now=NOW, tier="C").plans[0].customer_id == "acme"


def test_account_plans_refuse_bad_arguments_by_name():
    """The tier, contact limit, items and merges are named."""
    book = [customer("acme")]
    with raises_problems(("tier", "choice")):
        account_plans(book, [], now=NOW, tier="D")
    with raises_problems(("contact_days", "range")):
        account_plans(book, [], now=NOW, contact_days=0)
    with raises_problems(("key_persons[1]", "type")):
        account_plans(book, [kp("k1", "acme", "recommender"), "k2"], now=NOW)
    with raises_problems(("other.tier", "conflict")):
        account_plans(book, [], now=NOW).merge(account_plans(book, [], now=NOW, tier="B"))
    changed = account_plans(book, [kp("k1", "acme", "recommender")], now=NOW)
    with raises_problems(("other.plans", "conflict")):
        account_plans(book, [], now=NOW).merge(changed)


@settings(max_examples=60, deadline=None)
@given(
    roles=st.lists(
        st.tuples(
            st.integers(0, 4),
            st.sampled_from(["decision_maker", "recommender", "facilitator", "user"]),
            st.sampled_from(["champion", "supporter", "neutral", "opponent", "unknown"]),
        ),
        max_size=15,
    ),
    seed=st.integers(0, 2**32),
)
def test_plans_agree_with_the_map_and_ignore_order(roles, seed):
    """A missing-role gap iff nobody holds the role; stance gaps per person; most gaps first; any order."""
    book = [customer(f"c{i}") for i in range(5)]
    people = [kp(f"k{j}", f"c{i}", role, stance) for j, (i, role, stance) in enumerate(roles)]
    plans = account_plans(book, people, now=NOW)
    assert len(plans) == 5
    assert [len(p.gaps) for p in plans] == sorted((len(p.gaps) for p in plans), reverse=True)
    for p in plans:
        kinds = [g.kind for g in p.gaps]
        assert (GapKind.NO_DECISION_MAKER in kinds) is not p.decision_maker.found
        assert (GapKind.NO_RECOMMENDER in kinds) is not p.recommender.found
        stances = [s.value for cover in p.coverage for s in cover.stances]
        assert kinds.count(GapKind.OPPOSED) == stances.count("opponent")
        assert kinds.count(GapKind.STANCE_UNKNOWN) == stances.count("unknown")
        assert GapKind.NO_OPEN_DEAL in kinds
    rng = random.Random(seed)
    rng.shuffle(book)
    rng.shuffle(people)
    assert account_plans(book, people, now=NOW) == plans


@pytest.mark.parametrize("kind", list(GapKind))
def test_every_gap_kind_has_a_plain_name(kind):
    """Gap kinds are lower-case words joined by underscores, as records show them."""
    assert kind.value == kind.name.lower()
