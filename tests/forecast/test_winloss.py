"""win_loss: deals won and lost by reason, competitor, stage, owner, tier, segment and period."""

from __future__ import annotations

import decimal
import json
import random
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import DAY, T0, four_deals, move, opp
from winloss_books import books, totals

from _problems import raises_problems
from funnelkit import Money, from_dict, to_dict
from funnelkit.forecast import PERIODS, WIN_LOSS_DIMENSIONS, WinLoss, win_loss


def closed(oid, status, amount, *, day=0, owner="ann", customer="c", competitors=(), reason=None, cur="USD"):
    """A closed deal of pipeline p that entered won or lost on day *day*."""
    o = opp(oid, status, amount, cur)
    return attrs.evolve(
        o, owner=owner, customer_id=customer, stage_entered_at=T0 + day * DAY, competitors=competitors,
        lost_reason=(reason or "price") if status == "lost" else None,
    )  # fmt: skip


def hand_book():
    """
    Six deals worked by hand (the win/loss guide's book):

    ======  ======  ======  =====================  ==========  ========
    deal    status  amount  competitors            reason      closed
    ======  ======  ======  =====================  ==========  ========
    l1      lost    100     Rival                  price       Jan 10
    l2      lost    200     Rival                  price       Feb 10
    l3      lost    300     (none)                 timing      Feb 20
    w1      won     400     Rival, Other           -           Jan 20
    w2      won     500     (none)                 -           Feb 25
    o1      open    600     Rival                  -           -
    ======  ======  ======  =====================  ==========  ========

    Win rate 2/5; against Rival 1/3 (w1 of w1, l1, l2), against Other 1/1; by month:
    January 1 won 1 lost, February 1 won 2 lost.
    """
    return [
        closed("l1", "lost", 100, day=5, competitors=["Rival"], reason="price", owner="ann", customer="c1"),
        closed("l2", "lost", 200, day=36, competitors=["Rival"], reason="price", owner="bob", customer="c2"),
        closed("l3", "lost", 300, day=46, reason="timing", owner="bob", customer="c1"),
        closed("w1", "won", 400, day=15, competitors=["Rival", "Other"], owner="ann", customer="c2"),
        closed("w2", "won", 500, day=51, owner="ann", customer="c3"),
        attrs.evolve(opp("o1", "a", 600), competitors=["Rival"]),
    ]


def usd(*amounts):
    """Amounts in USD, as a report's tuple of sums."""
    return tuple(Money.of(a, "USD") for a in amounts)


def test_lost_reasons_by_hand():
    """Lost deals by reason, won deals under None: counts and amounts as worked out in hand_book."""
    report = win_loss(hand_book())
    assert [(r.key, r.won, r.lost, r.won_amounts, r.lost_amounts) for r in report.rows] == [
        (("price",), 0, 2, (), usd(300)),
        (("timing",), 0, 1, (), usd(300)),
        ((None,), 2, 0, usd(900), ()),
    ]
    assert (report.won, report.lost, report.win_rate) == (2, 3, Fraction(2, 5))
    assert (report.won_amounts, report.lost_amounts) == (usd(900), usd(600))


def test_win_rate_against_each_competitor_by_hand():
    """A deal counts under each competitor it names: against Rival 1/3, against Other 1/1; totals once."""
    report = win_loss(hand_book(), by=["competitor"])
    rates = {r.key[0]: (r.won, r.lost, r.win_rate) for r in report.rows}
    assert rates == {
        "Rival": (1, 2, Fraction(1, 3)),
        "Other": (1, 0, Fraction(1)),
        None: (1, 1, Fraction(1, 2)),
    }
    assert (report.won, report.lost) == (2, 3)  # each deal once, though w1 is in two groups


def test_trend_by_month_and_owner_by_hand():
    """By period (month) and owner: January ann 1-1; February ann 1-0, bob 0-2."""
    report = win_loss(hand_book(), by=("period", "owner"))
    assert [(r.key, r.won, r.lost) for r in report.rows] == [
        (("2026-01", "ann"), 1, 1),
        (("2026-02", "ann"), 1, 0),
        (("2026-02", "bob"), 0, 2),
    ]
    quarters = win_loss(hand_book(), by=["period"], period="quarter")
    assert [(r.key, r.won, r.lost) for r in quarters.rows] == [(("2026-Q1",), 2, 3)]
    weeks = win_loss(hand_book(), by=["period"], period="week")
    assert [r.key[0] for r in weeks.rows] == [
        "2026-W02",
        "2026-W04",
        "2026-W07",
        "2026-W08",
        "2026-W09",
    ]  # Jan 5 is W02


def test_the_window_takes_deals_closed_in_it():
    """[start, end): l1 (day 5) and w1 (day 15) of days [5, 36); l2 on day 36 is out."""
    report = win_loss(hand_book(), by=[], start=T0 + 5 * DAY, end=T0 + 36 * DAY)
    assert [(r.key, r.won, r.lost) for r in report.rows] == [((), 1, 1)]


def test_tier_and_segment_from_mappings():
    """Tier by customer from tiers=, segment from segments=; customers not in them under None."""
    tiers = {"c1": "A", "c2": "B"}
    report = win_loss(hand_book(), by=["tier"], tiers=tiers)
    assert [(r.key, r.won, r.lost) for r in report.rows] == [(("A",), 0, 2), (("B",), 1, 1), ((None,), 1, 0)]
    segments = {"c1": "retail", "c3": "retail", "c2": "banks"}
    report = win_loss(hand_book(), by=["segment", "lost_reason"], segments=segments)
    assert [(r.key, r.won, r.lost) for r in report.rows] == [
        (("banks", "price"), 0, 1),
        (("banks", None), 1, 0),
        (("retail", "price"), 0, 1),
        (("retail", "timing"), 0, 1),
        (("retail", None), 1, 0),
    ]


def test_the_stage_lost_from_comes_from_the_lose_move():
    """The funnel tests' four deals: o2 lost from b, o3 from a, o1 won from b; no event: None."""
    opps, events = four_deals()
    report = win_loss(opps, events, by=["stage", "lost_reason"])
    assert [(r.key, r.won, r.lost) for r in report.rows] == [
        (("a", "price"), 0, 1),
        (("b", "price"), 0, 1),
        (("b", None), 1, 0),
    ]
    assert [r.key for r in win_loss(opps, by=["stage"]).rows] == [(None,)]


def test_a_deal_lost_then_reopened_and_won_counts_by_its_last_close():
    """o2 lost from b on day 10, reopened to b on day 12, won from c on day 20: won, from c."""
    deal = attrs.evolve(opp("o2", "won", 300), stage_entered_at=T0 + 20 * DAY, version=4)
    events = [
        move("o2", "a", "b", 4, 4, 1),
        move("o2", "b", "lost", 6, 10, 2),
        move("o2", "lost", "b", 2, 12, 3, kind="reopen"),
        move("o2", "b", "won", 8, 20, 4),
    ]
    report = win_loss([deal], random.Random(1).sample(events, 4), by=["stage"])
    assert [(r.key, r.won, r.lost) for r in report.rows] == [(("b",), 1, 0)]


def test_currencies_are_never_summed_together():
    """USD and EUR amounts in one group keep a sum each; deals without an amount count, adding nothing."""
    deals = [
        closed("a", "lost", 10, cur="USD"),
        closed("b", "lost", 20, cur="EUR"),
        closed("c", "lost", 5, cur="USD"),
        attrs.evolve(closed("d", "lost", 1), amount=None),
    ]
    (row,) = win_loss(deals).rows
    assert row.lost == 4
    assert row.lost_amounts == (Money.of(20, "EUR"), Money.of(15, "USD"))
    records = win_loss(deals).to_records()
    assert records[0]["lost_amount_EUR"] == 20
    assert records[0]["lost_amount_USD"] == 15
    assert records[0]["won_amount_USD"] == 0


def test_report_protocol_and_documents():
    """One-line repr, HTML with the chart, records, and a document that reads back equal."""
    report = win_loss(hand_book(), by=["competitor"])
    assert repr(report).startswith("<WinLoss: 2 won, 3 lost (win rate 40.0%)")
    assert "<svg" in report._repr_html_()
    assert report.to_records()[0] == {
        "competitor": "Other", "won": 1, "lost": 0, "closed": 1, "win_rate": Fraction(1),
        "won_amount_USD": 400, "lost_amount_USD": 0,
    }  # fmt: skip
    assert from_dict(WinLoss, json.loads(json.dumps(to_dict(report)))) == report
    trend = win_loss(hand_book(), by=["period"])
    assert "win rate per month" in trend.to_svg()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"by": ["lost_reason", "colour"]}, ("by[1]", "choice")),
        ({"by": ["owner", "owner"]}, ("by[1]", "duplicate")),
        ({"by": "owner"}, ("by", "type")),
        ({"by": ["tier"]}, ("tiers", "missing")),
        ({"by": ["segment"]}, ("segments", "missing")),
        ({"tiers": {"c1": "D"}}, ("tiers['c1']", "choice")),
        ({"segments": {"c1": 5}}, ("segments['c1']", "type")),
        ({"period": "fortnight"}, ("period", "choice")),
        ({"start": T0, "end": T0}, ("end", "order")),
        ({"start": T0.replace(tzinfo=None)}, ("start", "timezone")),
        ({"tz": "Mars/Base"}, ("tz", "format")),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, problem):
    """Each bad argument is named, with its item where it has one."""
    with raises_problems(problem):
        win_loss(hand_book(), **kwargs)


def test_bad_items_are_refused_by_index():
    """A deal that is not one, a deal given twice, an event that is not one: each by its index."""
    book = hand_book()
    with raises_problems(("opportunities[2]", "type")):
        win_loss([*book[:2], "deal", *book[2:]])
    with raises_problems(("opportunities[6].id", "duplicate")):
        win_loss([*book, book[0]])
    with raises_problems(("events[1]", "type")):
        win_loss(book, [four_deals()[1][0], 7])


def test_constants():
    """The dimensions and periods are listed in order."""
    assert WIN_LOSS_DIMENSIONS[:4] == ("lost_reason", "competitor", "stage", "owner")
    assert PERIODS == ("week", "month", "quarter", "year")


# --- properties ---------------------------------------------------------------------------------

SINGLE = [d for d in WIN_LOSS_DIMENSIONS if d != "competitor"]
TIERS = {"c0": "A", "c1": "B", "c2": "C"}
SEGMENTS = {"c0": "retail", "c1": "banks"}


def _call(deals, events, by, **kwargs):
    return win_loss(deals, events, by=by, tiers=TIERS, segments=SEGMENTS, **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    book=books(),
    dim=st.sampled_from(SINGLE),
    tz=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
)
def test_every_closed_deal_is_counted_once_and_money_is_conserved(book, dim, tz):
    """By any one dimension but competitor: the rows sum to the closed deals and their money per currency."""
    deals, events = book
    report = _call(deals, events, [dim], tz=tz)
    won = [o for o in deals if o.status == "won"]
    lost = [o for o in deals if o.status == "lost"]
    assert sum(r.won for r in report.rows) == report.won == len(won)
    assert sum(r.lost for r in report.rows) == report.lost == len(lost)
    assert len({r.key for r in report.rows}) == len(report.rows)
    assert totals(m for r in report.rows for m in r.won_amounts) == totals(
        o.amount for o in won if o.amount is not None
    )
    assert totals(m for r in report.rows for m in r.lost_amounts) == totals(
        o.amount for o in lost if o.amount is not None
    )
    assert totals(report.won_amounts) == totals(o.amount for o in won if o.amount is not None)


@settings(max_examples=60, deadline=None)
@given(book=books())
def test_competitor_groups_hold_each_deal_once_per_competitor_named(book):
    """A deal counts once under each competitor it names, or once under None; each rate is the oracle's."""
    deals, events = book
    report = win_loss(deals, events, by=["competitor"])
    shut = [o for o in deals if o.status != "open"]
    assert sum(r.closed for r in report.rows) == sum(max(1, len(o.competitors)) for o in shut)
    for r in report.rows:
        mine = [o for o in shut if (r.key[0] in o.competitors if r.key[0] else not o.competitors)]
        assert (r.won, r.lost) == (
            sum(o.status == "won" for o in mine),
            sum(o.status == "lost" for o in mine),
        )


@settings(max_examples=40, deadline=None)
@given(
    book=books(),
    dims=st.lists(st.sampled_from(WIN_LOSS_DIMENSIONS), unique=True, max_size=3),
    seed=st.integers(),
)
def test_input_order_dict_order_and_decimal_context_do_not_matter(book, dims, seed):
    """The deals, events and mappings shuffled, under a narrow decimal context: the same report."""
    deals, events = book
    expected = _call(deals, events, dims)
    rng = random.Random(seed)
    with decimal.localcontext(decimal.Context(prec=3, rounding=decimal.ROUND_FLOOR, traps=[decimal.Inexact])):
        shuffled = win_loss(
            rng.sample(deals, len(deals)), rng.sample(events, len(events)), by=dims,
            tiers=dict(reversed(TIERS.items())), segments=dict(reversed(SEGMENTS.items())),
        )  # fmt: skip
    assert shuffled == expected


@settings(max_examples=40, deadline=None)
@given(book=books(), cut=st.integers(0, 80))
def test_windows_split_the_closed_deals(book, cut):
    """Deals closed before a cut plus those after it are all of them: [None, t) + [t, None) = all."""
    deals, _ = book
    t = T0 + cut * 3 * DAY
    before, after = win_loss(deals, by=["owner"], end=t), win_loss(deals, by=["owner"], start=t)
    whole = win_loss(deals, by=["owner"])
    assert before.won + after.won == whole.won
    assert before.lost + after.lost == whole.lost
