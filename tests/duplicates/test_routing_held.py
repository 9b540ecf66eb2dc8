"""assign with held=: a lead of a company a rep already holds (a known duplicate) goes to that rep."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Customer, Lead, SalesRep
from funnelkit.assignment import LoadBalance, RoundRobin, Team, assign
from funnelkit.duplicates import find_duplicates

NINE = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)


def _book():
    """Ann owns Acme; the lead l-acme is the same company spelled another way; Zeta is nobody's."""
    customers = [
        Customer(id="acme", name="Acme", created_at=NINE, owner="ann"),
        Customer(id="zeta", name="Zeta Trading", created_at=NINE),
    ]
    leads = [
        Lead(id="l-acme", source="web", created_at=NINE, company="ACME Co., Ltd."),
        Lead(id="l-new", source="web", created_at=NINE, company="Nova Robotics"),
    ]
    return customers, leads


TEAM = Team(reps=[SalesRep(id="ann", name="Ann", capacity=1), SalesRep(id="bob", name="Bob", capacity=5)],
            load={"ann": 1})  # fmt: skip


def test_a_lead_of_a_held_company_goes_to_its_holder_even_when_full():
    """
    Ann is full (1 of 1), yet the lead of Acme goes to her, by "account", since she holds Acme; the
    other lead is routed by the policy, to Bob.  Without held= the Acme lead would go to Bob too.
    """
    customers, leads = _book()
    held = find_duplicates([*customers, *leads]).holders(customers)
    assert held == {"acme": "ann", "l-acme": "ann"}
    result = assign(leads, team=TEAM, policy=LoadBalance(), now=NINE, held=held)
    assert [(d.lead_id, d.rep_id, d.by) for d in result] == [
        ("l-acme", "ann", "account"),
        ("l-new", "bob", "load_balance"),
    ]
    assert "held by 'ann'" in result.decisions[0].reason
    plain = assign(leads, team=TEAM, policy=LoadBalance(), now=NINE)
    assert [d.rep_id for d in plain] == ["bob", "bob"]


def test_a_holder_out_of_the_team_or_two_holders_route_as_usual():
    """A holder not in the team, or a company two reps own entries of (merge first): the policy decides."""
    customers, leads = _book()
    outsider = assign(leads, team=TEAM, policy=RoundRobin(), now=NINE, held={"l-acme": "cy"})
    assert outsider.decisions[0].by == "round_robin"
    both = [*customers, Customer(id="acme-2", name="ACME Co Ltd", created_at=NINE, owner="bob")]
    assert "l-acme" not in find_duplicates([*both, *leads]).holders(both)


@given(n=st.integers(1, 30), k=st.integers(0, 30))
def test_held_leads_never_split_a_company(n, k):
    """Every held lead goes to its holder; every lead gets one decision; the load counts them."""
    leads = [Lead(id=f"l{i}", source="web", created_at=NINE) for i in range(n)]
    held = {f"l{i}": ("ann", "bob")[i % 2] for i in range(min(k, n))}
    team = Team(
        reps=[SalesRep(id="ann", name="Ann"), SalesRep(id="bob", name="Bob"), SalesRep(id="cy", name="Cy")]
    )
    result = assign(leads, team=team, policy=LoadBalance(), now=NINE, held=held)
    assert len(result.decisions) == n
    assert all(d.rep_id == held[d.lead_id] and d.by == "account" for d in result if d.lead_id in held)
    assert all(d.by == "load_balance" for d in result if d.lead_id not in held)


def test_held_must_map_ids_to_ids():
    """A held= that is not a mapping of ids is refused by name."""
    with raises_problems(("held", "type")):
        assign([], team=TEAM, policy=RoundRobin(), now=NINE, held=["ann"])
    with raises_problems(("held['l1']", "empty")):
        assign([], team=TEAM, policy=RoundRobin(), now=NINE, held={"l1": ""})
