"""pipeline_generation and cohorts: new pipeline per owner and period against targets; cohorts by stage."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import random
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import DAY, PIPE, T0, move, opp
from winloss_books import books, totals

from _problems import raises_problems
from funnelkit import Money, from_dict, to_dict
from funnelkit.errors import CurrencyMismatchError
from funnelkit.forecast import MAX_PERIODS, Cohorts, PipelineGeneration, as_of, cohorts, pipeline_generation

JAN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
APR = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def new(oid, day, amount, owner="ann", cur="USD"):
    """A deal of pipeline p created on day *day* of 2026 (1 January is day 0), in stage a."""
    o = opp(oid, "a", amount, cur)
    at = JAN + day * DAY
    return attrs.evolve(o, owner=owner, created_at=at, stage_entered_at=at)


def generation_book():
    """
    Five deals worked by hand: ann creates 1,000 + 500 in January and 2,000 in March; bob 700 in
    February; cy (no target) 300 in March; a deal of 2025 is outside the window.
    """
    return [
        new("a1", 3, 1000),
        new("a2", 20, 500),
        new("a3", 70, 2000),
        new("b1", 40, 700, owner="bob"),
        new("c1", 80, 300, owner="cy"),
        new("old", -10, 9999),
    ]


def test_generation_against_targets_by_hand():
    """ann's target 1,000 a month at 2x is 2,000; bob's 500 at 2x is 1,000: attainment per month."""
    targets = {"ann": Money.of(1000, "USD"), "bob": Money.of(500, "USD")}
    report = pipeline_generation(generation_book(), start=JAN, end=APR, targets=targets, coverage=2)
    got = [(r.owner, r.start.month, r.deals, r.created, r.attainment) for r in report.rows]
    usd = lambda n: Money.of(n, "USD")  # noqa: E731
    assert got == [
        ("ann", 1, 2, usd(1500), Fraction(3, 4)),
        ("ann", 2, 0, usd(0), Fraction(0)),
        ("ann", 3, 1, usd(2000), Fraction(1)),
        ("bob", 1, 0, usd(0), Fraction(0)),
        ("bob", 2, 1, usd(700), Fraction(7, 10)),
        ("bob", 3, 0, usd(0), Fraction(0)),
        ("cy", 3, 1, None, None),
    ]
    assert report.rows[0].remaining == usd(500)
    team = [(t.start.month, t.deals, t.amounts, t.target) for t in report.totals]
    assert team == [
        (1, 2, (usd(1500),), usd(3000)),
        (2, 1, (usd(700),), usd(3000)),
        (3, 2, (usd(2300),), usd(3000)),
    ]


def test_generation_by_quarter_without_targets():
    """By quarter, no targets: each owner's deals of Q1 in one row, without target or attainment."""
    report = pipeline_generation(generation_book(), start=JAN, end=APR, period="quarter")
    assert [(r.owner, r.deals, r.target, r.attainment) for r in report.rows] == [
        ("ann", 3, None, None),
        ("bob", 1, None, None),
        ("cy", 1, None, None),
    ]
    assert report.to_records()[0] == {
        "owner": "ann", "start": dt.date(2026, 1, 1), "deals": 3, "amount_USD": 3500, "target": None,
        "target_currency": None, "attainment": None, "remaining": None, "remaining_currency": None,
    }  # fmt: skip


def test_generation_periods_are_local_to_the_zone():
    """A deal created at 23:00 UTC on 31 January is February's in Shanghai (UTC+8)."""
    at = JAN + 30 * DAY + dt.timedelta(hours=23)
    late = attrs.evolve(new("x", 30, 10), created_at=at, stage_entered_at=at)
    utc = pipeline_generation([late], start=JAN, end=APR)
    shanghai = pipeline_generation([late], start=JAN, end=APR, tz="Asia/Shanghai")
    assert [r.start.month for r in utc.rows] == [1]
    assert [r.start.month for r in shanghai.rows] == [2]


def test_generation_refuses_a_deal_in_another_currency_than_its_target():
    """The deal is named by its index."""
    with pytest.raises(CurrencyMismatchError) as info:
        pipeline_generation([new("a", 3, 10), new("b", 4, 10, cur="EUR")], start=JAN, end=APR,
                            targets={"ann": Money.of(1, "USD")})  # fmt: skip
    assert info.value.path == "opportunities[1].amount"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"end": JAN}, ("end", "order")),
        ({"end": JAN + 7 * (MAX_PERIODS + 1) * DAY, "period": "week"}, ("end", "limit")),
        ({"period": "day"}, ("period", "choice")),
        ({"coverage": 0}, ("coverage", "range")),
        ({"coverage": 0.5}, None),
        ({"coverage": "lots"}, ("coverage", "type")),
        ({"targets": {"ann": 5}}, ("targets['ann']", "type")),
        ({"targets": {"ann": Money.of(-1, "USD")}}, ("targets['ann']", "range")),
        ({"targets": [1]}, ("targets", "type")),
        ({"start": JAN.replace(tzinfo=None)}, ("start", "timezone")),
    ],
)
def test_generation_refuses_bad_arguments_by_name(kwargs, problem):
    """Each bad argument is named (a float coverage is read as the number typed)."""
    args = {"start": JAN, "end": APR, **kwargs}
    if problem is None:
        assert pipeline_generation(generation_book(), **args).coverage == Fraction(1, 2)
        return
    with raises_problems(problem):
        pipeline_generation(generation_book(), **args)


def test_generation_is_a_report_that_reads_back():
    """One-line repr, HTML, and a document that reads back equal."""
    report = pipeline_generation(generation_book(), start=JAN, end=APR, targets={"ann": Money.of(1, "USD")})
    assert repr(report).startswith(
        "<PipelineGeneration: 5 deals created by 3 owners, 2026-01-01 to 2026-04-01"
    )
    assert "<table" in report._repr_html_()
    assert from_dict(PipelineGeneration, json.loads(json.dumps(to_dict(report)))) == report


@settings(max_examples=60, deadline=None)
@given(book=books(), tz=st.sampled_from(["UTC", "Asia/Tokyo", "America/New_York"]),
       period=st.sampled_from(["week", "month", "quarter", "year"]), seed=st.integers())  # fmt: skip
def test_generation_counts_every_deal_in_the_window_once(book, tz, period, seed):
    """Rows sum to the deals created in the window and their money; order and context do not matter."""
    deals, _ = book
    start, end = T0 + 10 * DAY, T0 + 150 * DAY
    targets = {"ann": Money.of(100, "EUR"), "bob": Money.of(0, "EUR")}
    mine = [o for o in deals if o.owner not in targets or o.amount is None or o.amount.currency == "EUR"]
    report = pipeline_generation(mine, start=start, end=end, period=period, tz=tz, targets=targets)
    inside = [o for o in mine if start <= o.created_at < end]
    assert sum(r.deals for r in report.rows) == len(inside)
    assert totals(m for r in report.rows for m in r.amounts) == totals(
        o.amount for o in inside if o.amount is not None
    )
    periods = len({r.start for r in report.rows if r.owner == "ann"})
    assert all(len({r.start for r in report.rows if r.owner == o}) == periods for o in targets)
    rng = random.Random(seed)
    with decimal.localcontext(decimal.Context(prec=2, traps=[decimal.Inexact, decimal.Rounded])):
        again = pipeline_generation(rng.sample(mine, len(mine)), start=start, end=end, period=period, tz=tz,
                                    targets=dict(reversed(targets.items())))  # fmt: skip
    assert again == report


# --- cohorts ------------------------------------------------------------------------------------


def cohort_book():
    """
    Five deals of pipeline p worked by hand, now = day 60:

    - January: w (a -> b -> won), l (a -> c by a skip -> lost), o (open in a), r (a -> b, back to a);
    - February: f (created in b, open).

    January: created 4, reached a 4, b 3 (w, l past it by the skip, r), c 2 (w won, l), won 1, lost 1,
    open 2; February: created 1, reached a 1, b 1, c 0.
    """
    deals = [
        attrs.evolve(opp("w", "won", 100), created_at=T0, stage_entered_at=T0 + 9 * DAY),
        attrs.evolve(opp("l", "lost", 200), created_at=T0, stage_entered_at=T0 + 8 * DAY),
        attrs.evolve(opp("o", "a", 300), created_at=T0 + DAY, stage_entered_at=T0 + DAY),
        attrs.evolve(opp("r", "a", 400), created_at=T0 + 2 * DAY, stage_entered_at=T0 + 7 * DAY),
        attrs.evolve(opp("f", "b", 500), created_at=T0 + 30 * DAY, stage_entered_at=T0 + 30 * DAY),
    ]
    events = [
        move("w", "a", "b", 3, 3, 1),
        move("w", "b", "won", 6, 9, 2),
        move("l", "a", "c", 4, 4, 1),
        move("l", "c", "lost", 4, 8, 2),
        move("r", "a", "b", 2, 4, 1),
        move("r", "b", "a", 3, 7, 2, kind="back"),
    ]
    return deals, events


NOW = T0 + 60 * DAY


def test_cohorts_by_hand():
    """The counts of cohort_book, as worked out in its docstring."""
    deals, events = cohort_book()
    table = cohorts(deals, events, PIPE, now=NOW)
    assert table.stages == ("a", "b", "c")
    assert [(r.start, r.created, r.reached, r.won, r.lost, r.open) for r in table.rows] == [
        (dt.date(2026, 1, 1), 4, (4, 3, 2), 1, 1, 2),
        (dt.date(2026, 2, 1), 1, (1, 1, 0), 0, 0, 1),
    ]
    january = table.rows[0]
    assert january.created_amounts == (Money.of(1000, "USD"),)
    assert january.won_amounts == (Money.of(100, "USD"),)
    assert january.win_rate == Fraction(1, 4)
    assert table.to_records()[0]["reached_b"] == 3


def test_cohorts_refuse_look_ahead():
    """An event after now, a deal created or moved after now: refused by index, as expected_bookings does."""
    deals, events = cohort_book()
    with raises_problems(("events[1].at", "order")):
        cohorts(deals, events, PIPE, now=T0 + 5 * DAY)
    with raises_problems(("opportunities[1].created_at", "order")):
        cohorts([deals[2], deals[4]], [], PIPE, now=T0 + 5 * DAY)
    with raises_problems(("opportunities[0].stage_entered_at", "order")):
        cohorts(deals, events[:1], PIPE, now=T0 + 5 * DAY)


def test_cohorts_from_the_book_as_it_stood():
    """as_of(now) and the events up to now make the cohorts then: at day 5 no win, only l past b."""
    deals, events = cohort_book()
    then = T0 + 5 * DAY
    table = cohorts(as_of(deals, events, now=then), [e for e in events if e.at <= then], PIPE, now=then)
    assert [(r.created, r.reached, r.won, r.lost, r.open) for r in table.rows] == [(4, (4, 3, 1), 0, 0, 4)]


def test_cohorts_refuse_unknown_stages_and_bad_items():
    """A stage the pipeline lacks, in a deal or an event, is named; so are items of the wrong type."""
    deals, events = cohort_book()
    with raises_problems(("events[0].to_stage", "reference")):
        cohorts(deals, [attrs.evolve(events[0], to_stage="zz"), *events[1:]], PIPE, now=NOW)
    with raises_problems(("opportunities[2].stage", "reference")):
        cohorts([*deals[:2], attrs.evolve(deals[2], stage="zz"), *deals[3:]], events, PIPE, now=NOW)
    with raises_problems(("events[2]", "type")):
        cohorts(deals, [*events[:2], "move"], PIPE, now=NOW)
    with raises_problems(("pipeline", "type")):
        cohorts(deals, events, "p", now=NOW)
    with raises_problems(("period", "choice")):
        cohorts(deals, events, PIPE, now=NOW, period="decade")


def test_cohorts_are_a_report_that_reads_back():
    """One-line repr, HTML, and a document that reads back equal."""
    table = cohorts(*cohort_book(), PIPE, now=NOW)
    assert repr(table) == "<Cohorts: p: 5 deals in 2 cohorts by month, 1 won at 2026-03-06T00:00:00+00:00>"
    assert "<table" in table._repr_html_()
    assert from_dict(Cohorts, json.loads(json.dumps(to_dict(table)))) == table


@settings(max_examples=60, deadline=None)
@given(book=books(), period=st.sampled_from(["week", "month", "quarter"]), seed=st.integers())
def test_cohorts_count_every_deal_once(book, period, seed):
    """won + lost + open = created; reached starts at created and never grows; money conserved; order free."""
    deals, events = book
    now = T0 + 400 * DAY
    table = cohorts(deals, events, PIPE, now=now, period=period)
    assert sum(r.created for r in table.rows) == len(deals)
    for r in table.rows:
        assert r.won + r.lost + r.open == r.created
        assert r.reached[0] == r.created
        assert all(x >= y for x, y in zip(r.reached, r.reached[1:], strict=False))
        assert r.won <= r.reached[-1]
    assert totals(m for r in table.rows for m in r.created_amounts) == totals(
        o.amount for o in deals if o.amount is not None
    )
    assert totals(m for r in table.rows for m in r.won_amounts) == totals(
        o.amount for o in deals if o.amount is not None and o.status == "won"
    )
    rng = random.Random(seed)
    with decimal.localcontext(decimal.Context(prec=2, traps=[decimal.Inexact, decimal.Rounded])):
        again = cohorts(
            rng.sample(deals, len(deals)), rng.sample(events, len(events)), PIPE, now=now, period=period
        )
    assert again == table


@settings(max_examples=40, deadline=None)
@given(book=books())
def test_cohort_reach_is_the_oracle_s(book):
    """Each deal's furthest stage, by a plain replay: its stage and every stage its moves touched."""
    deals, events = book
    table = cohorts(deals, events, PIPE, now=T0 + 400 * DAY, period="year")
    order = {"a": 0, "b": 1, "c": 2}
    reached = [0, 0, 0]
    for o in deals:
        seen = {o.stage} | {s for e in events if e.opportunity_id == o.id for s in (e.from_stage, e.to_stage)}
        far = 2 if o.status == "won" else max(order.get(s, 0) for s in seen)
        for k in range(far + 1):
            reached[k] += 1
    assert [sum(r.reached[k] for r in table.rows) for k in range(3)] == reached


def test_a_target_times_coverage_past_what_money_holds_names_the_target():
    """A quota whose multiple overflows an amount is refused at the target, not deep in Money."""
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with raises_problems(("targets['ann']", "limit")):
        pipeline_generation(
            [],
            start=t,
            end=t + dt.timedelta(days=31),
            targets={"ann": Money.of("9" * 29 + ".99", "USD")},
            coverage=1000,
        )
