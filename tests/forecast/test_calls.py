"""Forecast governance: calls submitted with who, when and why, rolled up a team hierarchy."""

from __future__ import annotations

import datetime as dt
import json
import pickle
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import PIPE, opp

from _problems import raises_problems
from funnelkit import Money, from_dict, to_dict
from funnelkit.errors import CurrencyMismatchError
from funnelkit.events import Event
from funnelkit.forecast import (
    MAX_HIERARCHY_DEPTH,
    ForecastCall,
    Hierarchy,
    Rollup,
    forecast_rollup,
    submit_call,
    weighted_forecast,
)
from funnelkit.stages import MoveKind, StageChanged

T = dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
Q3 = (dt.date(2026, 7, 1), dt.date(2026, 10, 1))
Q4 = (dt.date(2026, 10, 1), dt.date(2027, 1, 1))
TEAM = Hierarchy(
    parents={"team": None, "ma": "team", "mb": "team", "ann": "ma", "bob": "ma", "cy": "mb", "dee": "mb"}
)


def usd(amount):
    """Money in US dollars."""
    return Money.of(amount, "USD")


def submit(calls, node, amount, day, *, by=None, category="commit", period=Q3, reason=None, tree=TEAM):
    """Submit *amount* for *node* on day *day* of Q3 (by the node itself unless *by*)."""
    calls, _ = submit_call(
        calls, node=node, period=period, category=category, amount=usd(amount), by=by or node,
        at=T + day * DAY, reason=reason, hierarchy=tree,
    )  # fmt: skip
    return calls


def book():
    """
    The calls worked by hand below: ann calls 100 then 120 (and 200 on day 20), bob 80, cy 50, dee
    nothing; manager mb overrides her team with 90; a best-case call and a Q4 call to be ignored.
    """
    calls = submit((), "ann", 100, 1)
    calls = submit(calls, "bob", 80, 2)
    calls = submit(calls, "cy", 50, 2)
    calls = submit(calls, "ann", 120, 5, reason="signed PO")
    calls = submit(calls, "mb", 90, 6, reason="cy's big deal pulled in")
    calls = submit(calls, "bob", 999, 3, category="best_case")
    calls = submit(calls, "bob", 777, 3, period=Q4)
    return submit(calls, "ann", 200, 20, reason="upsell")


SYSTEM = {"ann": usd(110), "bob": usd(100), "cy": usd(60), "dee": usd(40)}
QUOTAS = {"ann": usd(150), "bob": usd(150), "mb": usd(200)}


def rollup(calls, *, now=T + 10 * DAY, tree=TEAM, system=SYSTEM, quotas=QUOTAS):
    """The commit roll-up of Q3 in USD at *now*."""
    return forecast_rollup(
        calls, tree, period=Q3, category="commit", now=now, system=system, quotas=quotas, currency="USD"
    )


# --- the hierarchy ------------------------------------------------------------------------------


def test_the_hierarchy_answers_children_reps_and_paths():
    """Children and reps sorted by id, the path from the root down, a manager's subtree."""
    assert TEAM.roots == ("team",)
    assert TEAM.children("team") == ("ma", "mb")
    assert TEAM.children("ann") == ()
    assert TEAM.reps_under("team") == ("ann", "bob", "cy", "dee")
    assert TEAM.reps_under("mb") == ("cy", "dee")
    assert TEAM.reps_under("cy") == ("cy",)
    assert TEAM.path("dee") == ("team", "mb", "dee")
    assert TEAM.subtree("mb") == Hierarchy(parents={"mb": None, "cy": "mb", "dee": "mb"})


def test_the_hierarchy_ignores_the_order_of_its_mapping():
    """Equal whatever the order of parents, and so are its answers."""
    flipped = Hierarchy(parents=dict(reversed(list(TEAM.parents.items()))))
    assert flipped == TEAM
    assert flipped.reps_under("team") == TEAM.reps_under("team")


def test_the_hierarchy_refuses_cycles_unknown_parents_and_depth():
    """A cycle is named by its smallest node; an unknown parent and a too deep tree by the node."""
    with raises_problems(("parents['a']", "graph")):
        Hierarchy(parents={"root": None, "b": "a", "a": "b"})
    with raises_problems(("parents['me']", "graph")):
        Hierarchy(parents={"me": "me"})
    with raises_problems(("parents['a']", "reference")):
        Hierarchy(parents={"root": None, "a": "ghost"})
    chain = {"n0": None, **{f"n{i}": f"n{i - 1}" for i in range(1, MAX_HIERARCHY_DEPTH)}}
    assert len(Hierarchy(parents=chain).path(f"n{MAX_HIERARCHY_DEPTH - 1}")) == MAX_HIERARCHY_DEPTH
    with raises_problems((f"parents['n{MAX_HIERARCHY_DEPTH}']", "limit")):
        Hierarchy(parents={**chain, f"n{MAX_HIERARCHY_DEPTH}": f"n{MAX_HIERARCHY_DEPTH - 1}"})
    with raises_problems(("parents", "empty")):
        Hierarchy(parents={})
    with raises_problems(("parents[' a']", "format")):
        Hierarchy(parents={" a": None})
    with raises_problems(("node", "reference")):
        TEAM.path("ghost")


def test_the_hierarchy_pickles_and_reads_back_from_a_document():
    """Its worked-out children survive pickle; its document holds the parents only."""
    back = pickle.loads(pickle.dumps(TEAM))
    assert back == TEAM
    assert back.children("ma") == ("ann", "bob")
    data = json.loads(json.dumps(to_dict(TEAM)))
    assert data == {"parents": dict(TEAM.parents)}
    assert from_dict(Hierarchy, data).reps_under("ma") == ("ann", "bob")


# --- submitting calls ---------------------------------------------------------------------------


def test_submissions_are_numbered_per_node_period_and_category():
    """Versions count per (node, period, category); who, when and why are kept."""
    calls = book()
    assert [(c.node, c.category.value, c.version) for c in calls] == [
        ("ann", "commit", 1),
        ("bob", "commit", 1),
        ("cy", "commit", 1),
        ("ann", "commit", 2),
        ("mb", "commit", 1),
        ("bob", "best_case", 1),
        ("bob", "commit", 1),  # Q4
        ("ann", "commit", 3),
    ]
    second = calls[3]
    assert (second.by, second.at, second.reason, second.amount) == ("ann", T + 5 * DAY, "signed PO", usd(120))
    assert not second.adjusted


def test_a_manager_may_adjust_a_reps_call_and_a_peer_may_not():
    """The manager above a rep (or the team above) may call for them; a peer or a rep below may not."""
    calls, adjusted = submit_call(
        book(), node="ann", period=Q3, category="commit", amount=usd(90), by="ma", at=T + 21 * DAY,
        reason="discounted", hierarchy=TEAM,
    )  # fmt: skip
    assert (adjusted.version, adjusted.by, adjusted.adjusted) == (4, "ma", True)
    assert calls[-1] is adjusted
    submit(calls, "ann", 95, 22, by="team")
    with raises_problems(("by", "conflict")):
        submit(calls, "ann", 95, 22, by="bob")
    with raises_problems(("by", "conflict")):
        submit(calls, "ann", 95, 22, by="mb")
    with raises_problems(("by", "conflict")):
        submit(calls, "ma", 95, 22, by="ann")
    with raises_problems(("by", "reference")):
        submit(calls, "ann", 95, 22, by="ghost")
    with raises_problems(("node", "reference")):
        submit(calls, "ghost", 95, 22)


def test_a_submission_before_the_last_one_is_refused():
    """at may not go back before the last submission of its key; other keys do not count."""
    calls = book()
    with raises_problems(("at", "order")):
        submit(calls, "ann", 130, 19)  # version 3 was made on day 20
    assert submit(calls, "ann", 130, 20)[-1].version == 4  # the same instant is not earlier
    assert submit(calls, "bob", 130, 0, category="pipeline")[-1].version == 1


def test_submit_call_refuses_bad_arguments_by_name():
    """Period, category, amount and currency of the calls are checked, each by name."""
    with raises_problems(("period", "order")):
        submit((), "ann", 1, 1, period=(Q3[1], Q3[0]))
    with raises_problems(("period[1]", "type")):
        submit((), "ann", 1, 1, period=(Q3[0], T))
    with raises_problems(("period", "type")):
        submit((), "ann", 1, 1, period="Q3")
    with raises_problems(("category", "choice")):
        submit((), "ann", 1, 1, category="omitted")
    with raises_problems(("amount", "range")):
        submit((), "ann", -1, 1)
    with raises_problems(("calls[1]", "type")):
        submit([book()[0], "junk"], "ann", 1, 1)
    with raises_problems(("hierarchy", "type")):
        submit((), "ann", 1, 1, tree={"ann": None})
    with pytest.raises(CurrencyMismatchError) as exc:
        submit_call(
            book(), node="ann", period=Q3, category="commit", amount=Money.of(1, "EUR"), by="ann",
            at=T + 30 * DAY, hierarchy=TEAM,
        )  # fmt: skip
    assert exc.value.path == "amount"


def test_a_call_checks_its_own_fields():
    """A call built by hand: end after start, an amount >= 0, a version from 1."""
    fields = {"node": "ann", "category": "commit", "amount": usd(1), "by": "ann", "at": T, "version": 1}
    with raises_problems(("period_end", "order")):
        ForecastCall(period_start=Q3[0], period_end=Q3[0], **fields)
    with raises_problems(("version", "range")):
        ForecastCall(period_start=Q3[0], period_end=Q3[1], **{**fields, "version": 0})
    with raises_problems(("at", "timezone")):
        ForecastCall(period_start=Q3[0], period_end=Q3[1], **{**fields, "at": T.replace(tzinfo=None)})


# --- the roll-up ----------------------------------------------------------------------------------


def test_the_rollup_worked_by_hand():
    """
    On day 10: ann 120 (her v2; v3 comes on day 20), bob 80, so manager ma rolls up 200; cy 50 and
    dee nothing, but mb's own 90 overrides them; the team rolls up 200 + 90 = 290.  System: ann 110,
    bob 100, cy 60, dee 40.  Quotas: ann and bob 150 each (ma: 300), mb 200 (team: 500).
    """
    report = rollup(book())
    got = [
        (r.node, r.rolled_up, r.source, r.system, r.quota, r.attainment, r.gap, r.depth, r.rep)
        for r in report.rows
    ]
    assert got == [
        ("team", usd(290), "children", usd(310), usd(500), Fraction(29, 50), usd(-20), 0, False),
        ("ma", usd(200), "children", usd(210), usd(300), Fraction(2, 3), usd(-10), 1, False),
        ("ann", usd(120), "call", usd(110), usd(150), Fraction(4, 5), usd(10), 2, True),
        ("bob", usd(80), "call", usd(100), usd(150), Fraction(8, 15), usd(-20), 2, True),
        ("mb", usd(90), "call", usd(100), usd(200), Fraction(9, 20), usd(-10), 1, False),
        ("cy", usd(50), "call", usd(60), None, None, usd(-10), 2, True),
        ("dee", usd(0), "none", usd(40), None, None, usd(-40), 2, True),
    ]
    mb = report.row("mb")
    assert (mb.call, mb.called_by, mb.called_at, mb.version) == (usd(90), "mb", T + 6 * DAY, 1)
    assert mb.reason == "cy's big deal pulled in"
    assert report.row("team").call is None
    assert repr(report).startswith(
        "<Rollup: 7 nodes, commit 2026-07-01 to 2026-10-01 (exclusive); called 290"
    )


def test_the_rollup_has_no_look_ahead():
    """A submission after now is ignored: on day 10 ann's day-20 call is not known; on day 25 it is."""
    calls = book()
    early, late = rollup(calls), rollup(calls, now=T + 25 * DAY)
    assert early.row("ann").rolled_up == usd(120)
    assert [c.version for c in early.history("ann")] == [1, 2]
    assert late.row("ann").rolled_up == usd(200)
    assert late.row("team").rolled_up == usd(370)
    assert rollup(calls[:-1]) == early  # the same report as if the later call did not exist
    assert rollup(calls, now=T).row("team").source == "none"


def test_history_lists_who_when_why_in_order():
    """A node's submissions of the period and category, by version: amount, who, when and why."""
    history = rollup(book(), now=T + 30 * DAY).history("ann")
    assert [(c.version, c.amount, c.by, c.at, c.reason) for c in history] == [
        (1, usd(100), "ann", T + DAY, None),
        (2, usd(120), "ann", T + 5 * DAY, "signed PO"),
        (3, usd(200), "ann", T + 20 * DAY, "upsell"),
    ]
    assert rollup(book()).history("dee") == ()
    with raises_problems(("node", "reference")):
        rollup(book()).history("ghost")


def test_the_system_figure_from_a_weighted_forecast_by_owner():
    """The system figure per rep is the weighted forecast's line of each owner."""
    deals = [
        attrs.evolve(opp("o1", "b", 100), owner="ann"),  # 40 % of 100
        attrs.evolve(opp("o2", "c", 200), owner="bob"),  # 70 % of 200
        attrs.evolve(opp("o3", "a", 50), owner="cy"),  # 20 % of 50
    ]
    lines = weighted_forecast(deals, PIPE, by=("owner",)).lines
    system = {ln.key[0]: ln.weighted for ln in lines}
    report = rollup(book(), system=system)
    assert report.row("ma").system == usd("180.00")
    assert report.row("team").system == usd("190.00")
    assert report.row("team").gap == usd("100.00")


def test_a_manager_with_a_system_figure_of_their_own_adds_it():
    """System figures sum over the node and everything below it, managers' own deals too."""
    report = rollup(book(), system={**SYSTEM, "mb": usd(5)})
    assert report.row("mb").system == usd(105)
    assert report.row("team").system == usd(315)


def test_the_rollup_refuses_mixed_currencies_by_path():
    """A call, a system figure or a quota in another currency names where it is."""
    eur = submit_call(
        book(), node="dee", period=Q3, category="commit", amount=Money.of(5, "EUR"), by="dee", at=T,
        hierarchy=TEAM,
    )[0]  # fmt: skip
    with pytest.raises(CurrencyMismatchError) as exc:
        rollup(eur)
    assert exc.value.path == "calls[8].amount"
    with pytest.raises(CurrencyMismatchError) as exc:
        rollup(book(), system={**SYSTEM, "cy": Money.of(1, "EUR")})
    assert exc.value.path == "system['cy']"
    with pytest.raises(CurrencyMismatchError) as exc:
        rollup(book(), quotas={"mb": Money.of(1, "GBP")})
    assert exc.value.path == "quotas['mb']"


def test_the_rollup_refuses_bad_arguments_by_name():
    """Nodes outside the hierarchy, negative quotas, bad periods and currencies are named."""
    other = Hierarchy(parents={"team": None, "ma": "team", "ann": "ma"})
    with raises_problems(*((f"calls[{i}].node", "reference") for i in (1, 2, 4))):  # bob, cy, mb
        rollup(book(), tree=other, system={}, quotas={})
    with raises_problems(("system['zed']", "reference")):
        rollup(book(), system={"zed": usd(1)})
    with raises_problems(("quotas['ann']", "range")):
        rollup(book(), quotas={"ann": usd(-1)})
    with raises_problems(("quotas['ann']", "type")):
        rollup(book(), quotas={"ann": 150})
    with raises_problems(("currency", "format")):
        forecast_rollup(book(), TEAM, period=Q3, category="commit", now=T, currency="usd")
    with raises_problems(("now", "timezone")):
        forecast_rollup(
            book(), TEAM, period=Q3, category="commit", now=T.replace(tzinfo=None), currency="USD"
        )


def test_the_report_protocol():
    """Records keep exact values with empty currency cells where a quota or call is missing."""
    report = rollup(book())
    records = report.to_records()
    assert records[0]["node"] == "team"
    assert records[0]["call"] is None
    assert records[0]["call_currency"] is None
    assert records[2]["quota"] == usd(150).amount
    assert records[2]["attainment"] == Fraction(4, 5)
    assert "<table" in report._repr_html_()


# --- documents ----------------------------------------------------------------------------------


def test_a_call_and_a_mixed_log_round_trip_through_json():
    """A ForecastCall is tagged forecast_call; a log mixing it with a stage change reads back as Events."""
    call = book()[4]
    data = json.loads(json.dumps(to_dict(call)))
    assert data["type"] == "forecast_call"
    assert from_dict(ForecastCall, data) == call
    move = StageChanged(
        opportunity_id="o-1", pipeline="b2b", kind=MoveKind.ADVANCE, from_stage="lead", to_stage="qualified",
        at=T, actor="ann", version=1, time_in_stage=2 * DAY,
    )  # fmt: skip
    log = [move, call, book()[0]]
    text = json.dumps(to_dict(log))
    assert [e["type"] for e in json.loads(text)] == ["stage_changed", "forecast_call", "forecast_call"]
    assert from_dict(list[Event], json.loads(text)) == log


def test_the_rollup_round_trips_through_json():
    """The report's document reads back to an equal report."""
    report = rollup(book())
    assert from_dict(Rollup, json.loads(json.dumps(report.to_dict()))) == report


# --- properties -----------------------------------------------------------------------------------


@st.composite
def trees(draw):
    """A random forest of up to 12 nodes: each node's parent is an earlier node, or none."""
    n = draw(st.integers(1, 12))
    parents = {"n0": None}
    for i in range(1, n):
        parent = draw(st.none() | st.integers(0, i - 1).map(lambda k: f"n{k}"))
        parents[f"n{i}"] = parent
    return Hierarchy(parents=parents)


@st.composite
def histories(draw, tree, *, managers):
    """Calls for random nodes (reps only unless *managers*) by the node itself, on increasing days."""
    nodes = [n for n in tree.parents if managers or not tree.children(n)]
    calls = ()
    for day in range(draw(st.integers(0, 15))):
        node = draw(st.sampled_from(nodes))
        calls = submit(calls, node, draw(st.integers(0, 10_000)), day, tree=tree)
    return calls


@settings(max_examples=60)
@given(data=st.data())
def test_without_manager_calls_the_roots_roll_up_the_reps_latest_calls(data):
    """Conservation: with calls from reps only, the roots' calls add up to the reps' latest calls."""
    tree = data.draw(trees())
    calls = data.draw(histories(tree, managers=False))
    now = T + data.draw(st.integers(0, 15)) * DAY
    report = rollup(calls, now=now, tree=tree, system={}, quotas={})
    latest = {}
    for call in calls:
        if call.at <= now:
            latest[call.node] = call.amount
    roots = sum((report.row(r).rolled_up for r in tree.roots), usd(0))
    assert roots == sum(latest.values(), usd(0))


@settings(max_examples=60)
@given(data=st.data())
def test_rolling_up_by_parts_is_rolling_up_the_whole(data):
    """Each subtree rolled up on its own gives its nodes' rows of the whole roll-up."""
    tree = data.draw(trees())
    calls = data.draw(histories(tree, managers=True))
    system = {
        n: usd(data.draw(st.integers(0, 100)))
        for n in data.draw(st.sets(st.sampled_from(sorted(tree.parents))))
    }
    quotas = {
        n: usd(data.draw(st.integers(0, 100)))
        for n in data.draw(st.sets(st.sampled_from(sorted(tree.parents))))
    }
    now = T + data.draw(st.integers(0, 15)) * DAY
    whole = rollup(calls, now=now, tree=tree, system=system, quotas=quotas)
    top = data.draw(st.sampled_from(sorted(tree.parents)))
    part = tree.subtree(top)
    mine = {k: v for k, v in system.items() if k in part.parents}
    theirs = {k: v for k, v in quotas.items() if k in part.parents}
    inside = [c for c in calls if c.node in part.parents]
    alone = rollup(inside, now=now, tree=part, system=mine, quotas=theirs)

    def values(row):
        return attrs.evolve(row, parent=None, depth=0)

    assert [values(r) for r in alone.rows] == [values(whole.row(r.node)) for r in alone.rows]
    assert alone.history(top) == whole.history(top)


@settings(max_examples=40)
@given(data=st.data())
def test_the_order_of_the_calls_does_not_matter(data):
    """The same submissions in any order give the same roll-up."""
    tree = data.draw(trees())
    calls = data.draw(histories(tree, managers=True))
    shuffled = data.draw(st.permutations(calls))
    now = T + 15 * DAY
    assert rollup(shuffled, now=now, tree=tree, system={}, quotas={}) == rollup(
        calls, now=now, tree=tree, system={}, quotas={}
    )
