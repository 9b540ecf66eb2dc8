"""Tests for reassignment when a rep leaves, lead conversion, and the fairness report."""

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from roster import NINE, lead, rep

from _problems import raises_problems
from funnelkit import Customer, Money, Opportunity, from_dict
from funnelkit.assignment import (
    Decision,
    LoadBalance,
    OwnerChanged,
    RoundRobin,
    Rule,
    Rules,
    Skip,
    Team,
    WeightedRandom,
    assign,
    convert_lead,
    fairness,
    gini,
    reassign,
)
from funnelkit.errors import ClaimConflict, CurrencyMismatchError
from funnelkit.stages import default_pipeline


def customer(cid, owner, **kw):
    """A customer created at nine."""
    return Customer(id=cid, name=cid.title(), created_at=NINE, owner=owner, **kw)


def deal(oid, cid, owner, *, status="open", **kw):
    """An opportunity in the first default stage (or closed)."""
    extra = {"lost_reason": "price"} if status == "lost" else {}
    stage = {"open": "contact", "won": "won", "lost": "lost"}[status]
    return Opportunity(
        id=oid,
        customer_id=cid,
        owner=owner,
        pipeline="default",
        stage=stage,
        created_at=NINE,
        stage_entered_at=NINE,
        status=status,
        **extra,
        **kw,
    )


TEAM = Team(reps=[rep("ann", 5), rep("bob", 5), rep("cat", 5), rep("leaver", 10)], load={"ann": 2, "bob": 0})


def test_leaver_accounts_move_with_their_open_deals_by_hand():
    """
    The leaver holds customers x (two open deals and a won one) and y (none), a deal on
    cat's customer z, and three leads (one converted).  By hand, load balancing from
    ann 2/5, bob 0/5, cat 0/5 (ties in team order):
      x weighs 2 (its deals) and goes first -> bob (0 ties cat; bob first) = 2/5;
      y -> cat = 1/5;  the deal z1 follows z's owner cat = 2/5;
      lead l1: all three at 2/5 -> ann = 3/5;  lead l2: bob and cat at 2/5 -> bob.
    """
    customers = [customer("x", "leaver"), customer("y", "leaver"), customer("z", "cat"), customer("w", "ann")]
    opps = [
        deal("x1", "x", "leaver"),
        deal("x2", "x", "leaver", version=4),
        deal("x3", "x", "leaver", status="won"),
        deal("z1", "z", "leaver"),
        deal("w1", "w", "ann"),
    ]
    leads = [
        lead("l1", owner="leaver"),
        lead("l2", owner="leaver"),
        lead("l3", owner="leaver", status="converted"),
    ]
    result = reassign(
        "leaver",
        team=TEAM,
        policy=LoadBalance(),
        now=NINE,
        actor="manager",
        reason="left the company",
        customers=customers,
        opportunities=opps,
        leads=leads,
    )
    owners = {x.id: x.owner for x in (*result.customers, *result.opportunities, *result.leads)}
    assert owners == {
        "x": "bob",
        "y": "cat",
        "z": "cat",
        "w": "ann",
        "x1": "bob",
        "x2": "bob",
        "x3": "leaver",  # won: the credit stays where it was earned
        "z1": "cat",
        "w1": "ann",
        "l1": "ann",
        "l2": "bob",
        "l3": "leaver",  # converted: history
    }
    assert [o.version for o in result.opportunities] == [1, 5, 0, 1, 0]
    assert [(m.id, m.version) for m in result.moves] == [
        ("x", None),
        ("y", None),
        ("x1", 1),
        ("x2", 5),
        ("z1", 1),
        ("l1", None),
        ("l2", None),
    ]
    assert result.to_records()[2] == {
        "kind": "opportunity",
        "id": "x1",
        "moved": True,
        "from_rep": "leaver",
        "to_rep": "bob",
        "why": result.moves[2].why,
        "skipped": "",
        "version": 1,
        "at": result.moves[2].at,
        "actor": "manager",
        "reason": "left the company",
    }
    assert [(m.kind, m.id, m.to_rep) for m in result.moves] == [
        ("customer", "x", "bob"),
        ("customer", "y", "cat"),
        ("opportunity", "x1", "bob"),
        ("opportunity", "x2", "bob"),
        ("opportunity", "z1", "cat"),
        ("lead", "l1", "ann"),
        ("lead", "l2", "bob"),
    ]
    z1 = next(m for m in result.moves if m.id == "z1")
    assert z1.why == "follows the owner of customer 'z'"
    assert all(
        (m.from_rep, m.actor, m.reason) == ("leaver", "manager", "left the company") for m in result.moves
    )
    assert result.unmoved == ()
    assert repr(result) == "<Reassignment: 7 moved (2 customers, 3 opportunities, 2 leads), 0 unmoved>"
    page = result._repr_html_()
    assert page.startswith(
        "<div><table><caption>Reassignment: 7 moved (2 customers, 3 opportunities, 2 leads), "
        "0 unmoved</caption>"
        "<thead><tr><th>kind</th><th>id</th><th>moved</th><th>from_rep</th><th>to_rep</th><th>why</th>"
    )
    assert (
        "<tr><td>opportunity</td><td>z1</td><td>True</td><td>leaver</td><td>cat</td>"
        "<td>follows the owner of customer &#x27;z&#x27;</td>" in page
    )
    assert page.count("<tr>") == 1 + 7


def test_what_cannot_be_placed_is_listed_and_left_unchanged():
    """With no room anywhere, the leaver's records come back unmoved with the reason."""
    team = Team(reps=[rep("ann", 1)], load={"ann": 1})
    result = reassign(
        "leaver",
        team=team,
        policy=LoadBalance(),
        now=NINE,
        actor="m",
        reason="left",
        customers=[customer("x", "leaver")],
        leads=[lead("l1", owner="leaver")],
    )
    assert result.moves == ()
    assert [(u.kind, u.id) for u in result.unmoved] == [("customer", "x"), ("lead", "l1")]
    assert result.unmoved[0].reason == "no rep has room (ann: full: 1 of 1 open)"
    assert result.customers[0].owner == "leaver"


def test_leaver_gets_nothing_even_if_still_in_the_team():
    """The leaving rep is out of the running even when listed as active."""
    team = Team(reps=[rep("leaver"), rep("ann")])
    result = reassign(
        "leaver",
        team=team,
        policy=RoundRobin(),
        now=NINE,
        actor="m",
        reason="left",
        leads=[lead("l", owner="leaver")],
    )
    assert result.leads[0].owner == "ann"


def test_rules_route_customers_by_their_territory():
    """Rules see a customer's territory, so accounts stay with the territory's reps."""
    rules = Rules(rules=[Rule(name="north", to=["bob"], territory=["north"])], default="ann")
    result = reassign(
        "leaver",
        team=TEAM,
        policy=rules,
        now=NINE,
        actor="m",
        reason="left",
        customers=[customer("n", "leaver", territory="north"), customer("s", "leaver", territory="south")],
    )
    assert [c.owner for c in result.customers] == ["bob", "ann"]


def test_deals_on_an_unowned_account_are_routed_as_one_by_their_total():
    """
    The leaver's two open deals on an account nobody owns (600 + 500 CNY) go together, by rule:
    their total 1100 passes a 1000 minimum and the account's territory is read.  Deals in two
    currencies have no total, and the value rule does not match them.
    """
    rules = Rules(
        rules=[Rule(name="big north", to=["bob"], territory=["north"], min_value=Money.of("1000", "CNY"))],
        default="cat",
    )
    account = customer("z", None, territory="north")

    def moved(amounts):
        opps = [deal(f"z{i}", "z", "leaver", amount=Money.of(*a.split())) for i, a in enumerate(amounts)]
        result = reassign(
            "leaver", team=TEAM, policy=rules, now=NINE, actor="m", reason="left",
            customers=[account], opportunities=opps,
        )  # fmt: skip
        return [(m.id, m.to_rep, m.why) for m in result.moves]

    why = "rule 'big north' matched (territory 'north', value 1100 CNY); least loaded: 0 of 5 open"
    assert moved(["600 CNY", "500 CNY"]) == [("z0", "bob", why), ("z1", "bob", why)]
    assert [to for _, to, _ in moved(["600 CNY", "500 USD"])] == ["cat", "cat"]
    assert [to for _, to, _ in moved(["600 CNY", "300 CNY"])] == ["cat", "cat"]


def test_a_move_as_a_document():
    """A move is an event: its document is tagged 'owner_changed', every field by name, and reads back."""
    move = OwnerChanged(
        kind="opportunity",
        id="o1",
        from_rep="leaver",
        to_rep="cat",
        at=NINE,
        actor="manager",
        reason="left the company",
        why="least loaded: 1 of 5 open",
        skipped=(Skip("ann", "inactive"), Skip("bob", "full: 5 of 5 open")),
        version=3,
    )
    assert move.to_dict() == {
        "type": "owner_changed",
        "kind": "opportunity",
        "id": "o1",
        "from_rep": "leaver",
        "to_rep": "cat",
        "at": "2026-11-25T09:00:00+00:00",
        "actor": "manager",
        "reason": "left the company",
        "why": "least loaded: 1 of 5 open",
        "skipped": [
            {"rep_id": "ann", "reason": "inactive"},
            {"rep_id": "bob", "reason": "full: 5 of 5 open"},
        ],
        "version": 3,
    }
    assert from_dict(OwnerChanged, move.to_dict()) == move


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"actor": " ", "reason": " "},
            [("actor", "format"), ("reason", "empty")],
        ),
        ({"rep_id": " leaver"}, [("rep_id", "format")]),
        ({"leads": 5}, [("leads", "type")]),
        (
            {"opportunities": [deal("o", "x", "a"), deal("o", "y", "b")]},
            [("opportunities[1].id", "duplicate")],
        ),
        (
            {"customers": [customer("x", "a"), customer("x", "b")]},
            [("customers[1].id", "duplicate")],
        ),
    ],
)
def test_reassign_argument_errors(changes, expected):
    """Bad ids, a blank reason, a non-collection and duplicate records are named."""
    call = {
        "rep_id": "leaver",
        "team": TEAM,
        "policy": LoadBalance(),
        "now": NINE,
        "actor": "m",
        "reason": "left",
    }
    call.update(changes)
    rep_id = call.pop("rep_id")
    with raises_problems(*expected):
        reassign(rep_id, **call)


@st.composite
def books(draw):
    """A random book of customers, deals and leads, some owned by the leaver; reps with loads."""
    owners = st.sampled_from(["leaver", "ann", "bob"])
    customers = [customer(f"c{i}", draw(owners)) for i in range(draw(st.integers(0, 6)))]
    opps = []
    for i in range(draw(st.integers(0, 10))):
        cid = draw(st.sampled_from([c.id for c in customers] + ["elsewhere"]))
        status = draw(st.sampled_from(["open", "open", "won", "lost"]))
        opps.append(deal(f"o{i}", cid, draw(owners), status=status))
    leads = [
        lead(f"l{i}", owner=draw(owners), status=draw(st.sampled_from(["new", "working", "converted"])))
        for i in range(draw(st.integers(0, 6)))
    ]
    caps = draw(st.lists(st.one_of(st.none(), st.integers(0, 8)), min_size=2, max_size=2))
    load = draw(st.lists(st.integers(0, 4), min_size=2, max_size=2))
    team = Team(reps=[rep("ann", caps[0]), rep("bob", caps[1])], load={"ann": load[0], "bob": load[1]})
    return customers, opps, leads, team


@given(books())
def test_reassignment_loses_nothing(book):
    """Every record comes back once; each of the leaver's open records moved or is listed unmoved."""
    customers, opps, leads, team = book
    result = reassign(
        "leaver",
        team=team,
        policy=LoadBalance(),
        now=NINE,
        actor="m",
        reason="left",
        customers=customers,
        opportunities=opps,
        leads=leads,
    )
    assert [x.id for x in result.customers] == [x.id for x in customers]
    assert [x.id for x in result.opportunities] == [x.id for x in opps]
    assert [x.id for x in result.leads] == [x.id for x in leads]
    moved = {(m.kind, m.id) for m in result.moves}
    unmoved = {(u.kind, u.id) for u in result.unmoved}
    assert not moved & unmoved
    due = {("customer", x.id) for x in customers if x.owner == "leaver"}
    due |= {("lead", x.id) for x in leads if x.owner == "leaver" and x.status.value != "converted"}
    due |= {("opportunity", x.id) for x in opps if x.owner == "leaver" and x.is_open}
    assert moved | unmoved == due
    for before, after in zip(
        (*customers, *opps, *leads), (*result.customers, *result.opportunities, *result.leads), strict=True
    ):
        kind = {Customer: "customer", Opportunity: "opportunity"}.get(type(before), "lead")
        if (kind, before.id) in moved:
            assert after.owner in ("ann", "bob")
        else:
            assert after == before
    # one account, one owner: every open deal of a customer given is with that customer's owner,
    # unless it stayed unmoved
    owner_of = {x.id: x.owner for x in result.customers}
    for o in result.opportunities:
        if o.is_open and o.customer_id in owner_of and ("opportunity", o.id) in moved:
            assert o.owner == owner_of[o.customer_id]
    # capacity: a customer counts its moved deals (at least 1), other records 1 each
    gained = Counter()
    for m in result.moves:
        if m.kind == "customer":
            gained[m.to_rep] += max(1, sum(1 for d in result.moves if d.why == f"follows customer {m.id!r}"))
        elif not m.why.startswith("follows customer"):
            gained[m.to_rep] += 1
    room = {}
    for r in team.reps:
        used = team.load.get(r.id, 0) + gained[r.id]
        if r.capacity is not None:
            assert gained[r.id] == 0 or used <= r.capacity
        room[r.id] = None if r.capacity is None else r.capacity - used
    # nothing is left unmoved while a rep had room for it
    deals_of = Counter(o.customer_id for o in opps if o.owner == "leaver" and o.is_open)
    for u in result.unmoved:
        if u.kind == "customer":
            need = max(1, deals_of[u.id])
        elif u.kind == "lead":
            need = 1
        else:
            continue  # deals follow their customer or its owner; checked through the customer
        assert all(r is not None and r < need for r in room.values())


# --- conversion -------------------------------------------------------------------


def test_convert_lead_creates_customer_contact_and_first_stage_deal():
    """A qualified lead becomes a customer, a key person and a deal in 'contact', linked back."""
    pipeline = default_pipeline()
    source = lead(
        "l1",
        owner="ann",
        company="Acme",
        contact_name="Li Lei",
        needs="shared drive for 40 people",
        territory="north",
        value=48000,
    )
    later = NINE + dt.timedelta(days=2)
    made = convert_lead(
        source, pipeline=pipeline, now=later, customer_id="acme", opportunity_id="o1", contact_id="kp1"
    )
    assert made.lead.status.value == "converted"
    assert (made.customer.id, made.customer.name, made.customer.owner, made.customer.territory) == (
        "acme",
        "Acme",
        "ann",
        "north",
    )
    assert [(k.id, k.name, k.role.value) for k in made.key_persons] == [("kp1", "Li Lei", "user")]
    o = made.opportunity
    assert (o.stage, o.owner, o.lead_id, o.amount, o.key_person_ids) == (
        "contact",
        "ann",
        "l1",
        Money.of("48000", "CNY"),
        ("kp1",),
    )
    assert o.created_at == o.stage_entered_at == later


def test_convert_refuses_unready_leads_listing_every_reason():
    """No owner, no needs, no company and no customer choice are all reported at once."""
    with raises_problems(("lead.owner", "missing"), ("lead.needs", "missing"), ("customer_id", "missing")):
        convert_lead(lead("l"), pipeline=default_pipeline(), now=NINE, opportunity_id="o")


def test_convert_onto_another_reps_customer_is_a_conflict():
    """Two reps never own one customer: converting onto bob's account is refused."""
    source = lead("l", owner="ann", needs="x")
    with pytest.raises(ClaimConflict, match="customer 'acme' is held by 'bob'; 'ann' cannot take it"):
        convert_lead(
            source,
            pipeline=default_pipeline(),
            now=NINE,
            opportunity_id="o",
            customer=customer("acme", "bob"),
        )
    made = convert_lead(
        source, pipeline=default_pipeline(), now=NINE, opportunity_id="o", customer=customer("acme", None)
    )
    assert made.customer.owner == "ann"


# --- fairness ---------------------------------------------------------------------


def test_gini_known_values():
    """
    Gini of 1..5 is 4/15 (mean absolute difference 1.6 over twice the mean 6: 1.6/6); equal
    values give 0; one holder of everything among 4 gives (n-1)/n = 3/4.
    """
    assert gini([1, 2, 3, 4, 5]) == Fraction(4, 15)
    assert gini([3, 3, 3]) == 0
    assert gini([0, 0, 0, 8]) == Fraction(3, 4)
    assert gini([]) == 0
    with raises_problems(("values[1]", "range")):
        gini([1, -1])


def test_fairness_against_capacity_by_hand():
    """
    Capacities 8 and 4 (weights 2:1), 9 leads: expected 6 and 3.  Ann got 5, bob 4: ratios
    5/6 and 4/3.  Leads per unit of weight: 5/8 and 4/4 = 1, Gini of (0.625, 1) =
    |0.625 - 1| * 2 / (2 * 4 * 0.8125) = 0.75 / 6.5 = 0.1153846...
    """
    team = Team(reps=[rep("ann", 8), rep("bob", 4)])
    batch = [lead(f"l{i}", value=100) for i in range(9)]
    result = assign(batch, team=team, policy=RoundRobin(), now=NINE)
    assert result.counts() == {"ann": 5, "bob": 4}
    report = fairness(result.decisions, team=team, start=NINE, end=NINE + dt.timedelta(days=1))
    ann, bob = report.rows
    assert (ann.expected, bob.expected) == (6, 3)
    assert (ann.ratio, bob.ratio) == (Fraction(5, 6), Fraction(4, 3))
    assert ann.value == Money.of("500", "CNY")
    assert report.gini == Fraction(3, 26)  # 0.75 / 6.5
    assert repr(report) == (
        "<FairnessReport: 9 leads to 2 reps (0 unassigned), 2026-11-25 09:00 to 2026-11-26 09:00; "
        "Gini 0.1154, value Gini 0.1154>"
    )
    assert report.to_dict()["rows"][1]["expected"] == "3"
    assert report.to_records()[1]["expected"] == Decimal(3)
    assert report.row("bob") is bob
    with raises_problems(("rep_id", "reference")):
        report.row("cat")
    page = report._repr_html_()
    assert page.startswith("<div><table><caption>FairnessReport: 9 leads to 2 reps")
    assert (
        "<tr><td>ann</td><td>True</td><td>8</td><td>5</td><td>500 CNY</td><td>6</td><td>0.8333</td>"
    ) in page
    # The whole result as JSON-safe data: every decision with its reason, and the state to resume from.
    data = json.loads(json.dumps(result.to_dict()))
    assert data["state"] == {"pointers": {"round_robin": "ann"}, "recent": []}
    assert data["decisions"][1] == {
        "type": "decision",
        "lead_id": "l1",
        "rep_id": "bob",
        "by": "round_robin",
        "reason": "round robin: next after 'ann'",
        "at": "2026-11-25T09:00:00+00:00",
        "value": {"amount": "100", "currency": "CNY"},
        "skipped": [],
    }
    assert [Decision.from_dict(d) for d in data["decisions"]] == list(result.decisions)


def test_fairness_period_and_currency_and_departed_reps():
    """Decisions outside the period are ignored; mixed currencies refused; a departed rep has weight 0."""
    team = Team(reps=[rep("ann", 2)])
    old = assign([lead("a")], team=Team(reps=[rep("gone")]), policy=RoundRobin(), now=NINE).decisions
    new = assign([lead("b")], team=team, policy=RoundRobin(), now=NINE + dt.timedelta(days=2)).decisions
    report = fairness((*old, *new), team=team, start=NINE, end=NINE + dt.timedelta(days=3))
    assert [(r.rep_id, r.in_team, r.weight, r.leads) for r in report.rows] == [
        ("ann", True, 2, 1),
        ("gone", False, 0, 1),
    ]
    mixed = assign(
        [lead("x", value=1), lead("y", value=1, currency="USD")], team=team, policy=RoundRobin(), now=NINE
    ).decisions
    with pytest.raises(CurrencyMismatchError):
        fairness(mixed, team=team, start=NINE, end=NINE + dt.timedelta(days=1))
    with raises_problems(("end", "order")):
        fairness([], team=team, start=NINE, end=NINE)


def test_a_heavy_customer_skips_a_rep_without_room_who_stays_in_play():
    """
    ann (capacity 2) and bob (capacity 10) are both empty: tied at 0, ann first.  Customer x has
    three open deals and needs room for 3: ann is skipped with that reason and x goes to bob
    (3/10).  The next lead weighs 1: ann, still in play at 0/2, takes it; the one after goes to
    bob (0.3 < 0.5).
    """
    team = Team(reps=[rep("ann", 2), rep("bob", 10)])
    opps = [deal(f"x{i}", "x", "leaver") for i in range(3)]
    leads = [lead("l1", owner="leaver"), lead("l2", owner="leaver")]
    for policy in (LoadBalance(), WeightedRandom(weights={"ann": 1, "bob": 1})):
        result = reassign(
            "leaver", team=team, policy=policy, now=NINE, actor="m", reason="left", rng=5,
            customers=[customer("x", "leaver")], opportunities=opps, leads=leads,
        )  # fmt: skip
        moves = {m.id: m for m in result.moves}
        assert moves["x"].to_rep == "bob"
        assert all(moves[f"x{i}"].to_rep == "bob" for i in range(3))
        assert result.unmoved == ()
        if isinstance(policy, LoadBalance):
            assert moves["x"].skipped == (Skip("ann", "full: 0 of 2 open; this needs room for 3"),)
            assert (moves["l1"].to_rep, moves["l2"].to_rep) == ("ann", "bob")
