"""Tests for targets, funnel shape, calibration, shrinkage, flow and close rates, worked by hand."""

import datetime as dt
import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from three_stages import DAY, PIPE, T0, TWO_STAGES

from _problems import raises_problems
from funnelkit import Money, Opportunity
from funnelkit.errors import CurrencyMismatchError
from funnelkit.forecast import (
    FunnelReport,
    StageStats,
    against_targets,
    calibration,
    close_rates,
    diagnose,
    flow,
    funnel,
    shrink,
)
from funnelkit.stages import StageChanged, default_pipeline


def opp(oid, stage, *, owner="ann", amount="100", close=None, created=T0, pipeline="p", currency="USD"):
    """A deal in *stage*; won and lost ones closed at T0."""
    status = {"won": "won", "lost": "lost"}.get(stage, "open")
    return Opportunity(
        id=oid, customer_id="c", owner=owner, pipeline=pipeline, stage=stage, status=status,
        created_at=created, stage_entered_at=created, amount=Money.of(amount, currency), expected_close=close,
        lost_reason="price" if status == "lost" else None,
    )  # fmt: skip


def move(oid, src, dst, at_day, version, **kw):
    """A stage change of deal *oid* on day *at_day* after T0."""
    kind = kw.pop("kind", None) or {"won": "win", "lost": "lose"}.get(dst, "advance")
    return StageChanged(
        opportunity_id=oid, pipeline=kw.pop("pipeline", "p"), kind=kind, from_stage=src, to_stage=dst,
        at=T0 + at_day * DAY, actor="ann", version=version, time_in_stage=DAY,
        lost_reason="price" if kind == "lose" else None, **kw,
    )  # fmt: skip


def history(entered, days, keys="abc"):
    """A FunnelReport in which stages a, b, c were entered so often and kept deals so many days."""
    stats = [
        StageStats(
            stage=k,
            advanced=0,
            lost=0,
            conversion=None,
            loss_rate=None,
            median_time=None,
            mean_time=None if d is None else d * DAY,
            p90_time=None,
            entered=n,
        )
        for k, n, d in zip(keys, entered, days, strict=True)
    ]
    return FunnelReport(
        stages=tuple(stats), won=0, lost=0, win_rate=None, mean_days_to_win=None,
        mean_days_to_lose=None, open_deals=0, velocity=None,
    )  # fmt: skip


# --- shape ------------------------------------------------------------------------


def test_bulge_in_the_middle_by_hand():
    """
    100, 50 and 25 deals entered a, b, c, staying 10 days each: shares proportional to 1000,
    500, 250, i.e. 4/7, 2/7, 1/7 (Little's law).  With 20, 20, 5 open (45) the history
    predicts 25.71, 12.86, 6.43; b holds 20 / 12.857 = 1.556x >= 1.5: a bulge.
    """
    deals = [opp(f"a{i}", "a") for i in range(20)] + [opp(f"b{i}", "b") for i in range(20)]
    deals += [opp(f"c{i}", "c") for i in range(5)]
    report = diagnose(deals, PIPE, history=history([100, 50, 25], [10, 10, 10]))
    assert [round(s.expected, 2) for s in report.stages] == [
        Decimal("25.71"),
        Decimal("12.86"),
        Decimal("6.43"),
    ]
    (finding,) = report.findings
    assert (finding.kind, finding.stage, finding.observed, round(finding.ratio, 3)) == (
        "bulge",
        "b",
        20,
        Decimal("1.556"),
    )
    assert (
        finding.message
        == "bulge at 'b': 20 open deals where the history predicts 12.9 (1.56x, threshold 1.5x)"
    )


def test_thin_top_and_thin_bottom_by_hand():
    """
    Same history (shares 4/7, 2/7, 1/7).  With 4, 10, 0 open (14): expected 8, 4, 2; the top
    holds 4/8 = 0.5x (thin top) and the bottom 0/2 = 0x (thin bottom); b at 2.5x is a bulge.
    """
    deals = [opp(f"a{i}", "a") for i in range(4)] + [opp(f"b{i}", "b") for i in range(10)]
    report = diagnose(deals, PIPE, history=history([100, 50, 25], [10, 10, 10]))
    assert [s.expected for s in report.stages] == [8, 4, 2]
    assert [(f.kind, f.stage, f.ratio) for f in report.findings] == [
        ("thin_top", "a", Decimal("0.5")),
        ("bulge", "b", Decimal("2.5")),
        ("thin_bottom", "c", Decimal(0)),
    ]
    assert "ShapeReport" in repr(report)


def test_a_matching_shape_has_no_findings():
    """Counts in the predicted proportions raise nothing."""
    deals = [opp(f"a{i}", "a") for i in range(8)] + [opp(f"b{i}", "b") for i in range(4)]
    deals += [opp(f"c{i}", "c") for i in range(2)]
    report = diagnose(deals, PIPE, history=history([100, 50, 25], [10, 10, 10]))
    assert report.findings == ()


def test_skips_do_not_distort_the_shape():
    """
    Built with funnel() from events: 10 deals go a -> c -> won (skipping b), 5 go a -> b -> lost,
    5 go a -> b -> c -> won; every stay lasts 10 days.  Entries: a 20, b 10, c 15, so a steady
    funnel holds them 4 : 2 : 3; with 40, 20, 30 open nothing is flagged.  (A product of
    conversions would expect c at 1/4 of a and call 30 a bulge.)
    """
    events = []
    for i in range(20):
        oid = f"h{i}"
        path = ["a", "c", "won"] if i < 10 else ["a", "b", "lost"] if i < 15 else ["a", "b", "c", "won"]
        for v, (src, dst) in enumerate(itertools.pairwise(path), 1):
            kind = {"won": "win", "lost": "lose"}.get(dst, "advance")
            events.append(
                StageChanged(
                    opportunity_id=oid, pipeline="p", kind=kind, from_stage=src, to_stage=dst,
                    at=T0 + 10 * v * DAY, actor="ann", version=v, time_in_stage=10 * DAY,
                    lost_reason="price" if kind == "lose" else None,
                )
            )  # fmt: skip
    past = funnel([], events + events[:3], PIPE)  # a stored duplicate counts once
    assert [(s.stage, s.entered) for s in past.stages] == [("a", 20), ("b", 10), ("c", 15)]
    deals = [opp(f"a{i}", "a") for i in range(40)] + [opp(f"b{i}", "b") for i in range(20)]
    deals += [opp(f"c{i}", "c") for i in range(30)]
    report = diagnose(deals, PIPE, history=past)
    assert [s.expected for s in report.stages] == [40, 20, 30]
    assert report.findings == ()


def test_a_stage_the_history_never_filled_is_a_bulge_when_it_fills():
    """No deal ever entered b; 5 sitting there now are flagged, with no ratio to give."""
    report = diagnose(
        [opp("x", "a"), *(opp(f"b{i}", "b") for i in range(5))],
        PIPE,
        history=history([10, 0, 5], [3, None, 2]),
    )
    # entries x days: a 30, b 0, c 10 -> of 6 open, 4.5 and 1.5 expected in a and c
    assert [f.kind for f in report.findings] == ["thin_top", "bulge", "thin_bottom"]
    bulge = report.findings[1]
    assert (bulge.stage, bulge.ratio, bulge.expected) == ("b", None, 0)
    assert bulge.message == "bulge at 'b': 5 open deals where the history predicts none"


def test_missing_history_is_named():
    """A stage that no deal ever left cannot be estimated; the error names it."""
    with raises_problems(("history.stages['c']", "missing")):
        diagnose([], PIPE, history=history([10, 5, 4], [1, 1, None]))
    with raises_problems(("history", "empty")):
        diagnose([], PIPE, history=history([0, 0, 0], [None, None, None]))
    with raises_problems(("bulge", "type")):
        diagnose([], PIPE, history=history([1, 1, 1], [1, 1, 1]), bulge="x")


# --- calibration, shrinkage, close rates --------------------------------------------------


EVENTS = [
    # w1: a -> b -> c -> won
    move("w1", "a", "b", 1, 1),
    move("w1", "b", "c", 2, 2),
    move("w1", "c", "won", 3, 3),
    # w2: a -> c (skipping b) -> won
    move("w2", "a", "c", 1, 1),  # a skip is an advance past b
    move("w2", "c", "won", 2, 2),
    # l1: a -> b -> lost
    move("l1", "a", "b", 1, 1),
    move("l1", "b", "lost", 2, 2),
    # l2: a -> lost
    move("l2", "a", "lost", 1, 1),
    # o1: still open in b
    move("o1", "a", "b", 1, 1),
]


def test_calibration_by_hand():
    """
    In a: w1, w2 won, l1, l2 lost -> 2/4.  In b: w1 won, l1 lost -> 1/2 (w2 skipped b and was
    never in it).  In c: w1, w2 won -> 1.  o1 is still open and does not count.
    """
    rows = calibration(EVENTS, PIPE)
    assert [(r.stage, r.won, r.lost, r.observed) for r in rows] == [
        ("a", 2, 2, Fraction(1, 2)),
        ("b", 1, 1, Fraction(1, 2)),
        ("c", 2, 0, Fraction(1)),
    ]
    assert rows[0].difference == Fraction(1, 2) - Fraction(1, 5)


def test_last_close_counts_after_a_reopen():
    """A deal lost, reopened and won counts once, as won."""
    events = [
        move("r", "a", "lost", 1, 1),
        StageChanged(
            opportunity_id="r",
            pipeline="p",
            kind="reopen",
            from_stage="lost",
            to_stage="a",
            at=T0 + 2 * DAY,
            actor="ann",
            version=2,
            time_in_stage=DAY,
        ),
        move("r", "a", "won", 3, 3),
    ]
    rows = calibration(events, PIPE)
    assert (rows[0].won, rows[0].lost) == (1, 0)


def test_shrink_by_hand():
    """
    Beta-binomial posterior mean with a prior worth 6 deals at 25 %: 2 of 2 -> (2 + 1.5)/8
    = 7/16; 100 of 200 -> (100 + 1.5)/206; no deals -> the average itself.
    """
    assert shrink(2, 2, toward=Fraction(1, 4), strength=6) == Fraction(7, 16)
    assert shrink(100, 200, toward=Decimal("0.25"), strength=6) == Fraction(203, 412)
    assert shrink(0, 0, toward=Fraction(1, 4), strength=0) == Fraction(1, 4)
    with raises_problems(("strength", "range"), ("toward", "range")):
        shrink(3, 2, toward=Decimal(2), strength=-1)


@given(st.integers(0, 50), st.integers(0, 50), st.fractions(0, 1), st.integers(0, 50))
def test_shrink_lies_between_the_raw_rate_and_the_average(won, extra, toward, strength):
    """The shrunk rate is a weighted mean of the raw rate and the average."""
    closed = won + extra
    rate = shrink(won, closed, toward=toward, strength=strength)
    lo, hi = sorted([toward, Fraction(won, closed) if closed else toward])
    assert lo <= rate <= hi


def test_close_rates_per_owner():
    """Owners come from the deals as they are now; open deals do not count."""
    deals = [opp("w1", "won", owner="ann"), opp("w2", "won", owner="bob"), opp("l1", "lost", owner="ann")]
    deals += [opp("l2", "lost", owner="ann"), opp("o1", "b", owner="bob")]
    assert close_rates(deals, EVENTS, PIPE) == {
        "ann": (1, 2, Fraction(1, 3)),
        "bob": (1, 0, Fraction(1)),
    }


def test_flow_per_month():
    """Deals created per month, and wins and losses in the month they happened."""
    deals = [opp("x", "a", created=T0), opp("y", "a", created=T0 + 40 * DAY)]
    events = [move("x", "a", "won", 30, 1), move("y", "a", "lost", 45, 1)]
    rows = flow(deals, events, period="month")
    assert [(r.period, r.created, r.won, r.lost) for r in rows] == [
        (dt.date(2026, 1, 1), 1, 0, 0),
        (dt.date(2026, 2, 1), 1, 1, 1),
    ]


def test_flow_per_day_and_week_in_a_zone():
    """
    T0 is Monday 5 January 2026.  x is created at 20:00 UTC (04:00 on the 6th in Shanghai, 15:00
    on the 5th in New York) and won on the 11th at 00:00 UTC (the 10th in New York); y is created on
    the 13th, lost on the 14th, reopened and won on the 16th: both closes count.  A duplicate
    stored event counts once.
    """
    deals = [opp("x", "a", created=T0 + dt.timedelta(hours=20)), opp("y", "a", created=T0 + 8 * DAY)]
    events = [
        move("x", "a", "won", 6, 2),
        move("x", "a", "won", 6, 2),
        move("y", "a", "lost", 9, 2),
        move("y", "lost", "a", 10, 3, kind="reopen"),
        move("y", "a", "won", 11, 4),
    ]

    def rows(period, tz):
        return [
            (r.period.isoformat(), r.created, r.won, r.lost)
            for r in flow(deals, events, period=period, tz=tz)
        ]

    assert rows("day", "UTC") == [
        ("2026-01-05", 1, 0, 0), ("2026-01-11", 0, 1, 0), ("2026-01-13", 1, 0, 0),
        ("2026-01-14", 0, 0, 1), ("2026-01-16", 0, 1, 0),
    ]  # fmt: skip
    assert rows("day", "Asia/Shanghai")[0] == ("2026-01-06", 1, 0, 0)
    assert rows("day", "America/New_York") == [
        ("2026-01-05", 1, 0, 0), ("2026-01-10", 0, 1, 0), ("2026-01-12", 1, 0, 0),
        ("2026-01-13", 0, 0, 1), ("2026-01-15", 0, 1, 0),
    ]  # fmt: skip
    assert rows("week", "UTC") == [("2026-01-05", 1, 1, 0), ("2026-01-12", 1, 1, 1)]
    assert rows("month", "UTC") == [("2026-01-01", 2, 2, 1)]
    assert close_rates(deals, events, PIPE) == {"ann": (2, 0, Fraction(1))}  # y by its last close


def test_flow_conserves_deals_and_closes():
    """Summed over periods, flow counts every deal once and every distinct close event once."""
    deals = [opp(f"d{i}", "a", created=T0 + i * 5 * DAY) for i in range(12)]
    events = [move(f"d{i}", "a", "won" if i % 3 else "lost", i * 5 + 2, 2) for i in range(12)]
    for period in ("day", "week", "month"):
        rows = flow(deals, events + events[:4], period=period)
        assert [r.period for r in rows] == sorted({r.period for r in rows})
        assert sum(r.created for r in rows) == 12
        assert (sum(r.won for r in rows), sum(r.lost for r in rows)) == (8, 4)


def test_close_rates_skip_deals_not_given_and_other_pipelines():
    """A close of a deal not among the opportunities, or in another pipeline, is not counted."""
    deals = [opp("w1", "won", owner="ann")]
    events = [
        move("w1", "a", "won", 1, 2),
        move("zz", "a", "lost", 1, 2),
        move("w1", "a", "lost", 2, 3, pipeline="q"),
    ]
    assert close_rates(deals, events, PIPE) == {"ann": (1, 0, Fraction(1))}
    assert close_rates([opp("o", "a")], [], PIPE) == {}


def test_calibration_shrinks_every_stage_toward_the_overall_rate():
    """
    Two deals through a then won, one through a and b then lost: overall 2/3.  Strength 3:
    a = (2 + 3 x 2/3) / (3 + 3) = 2/3; b = (0 + 2) / (1 + 3) = 1/2; c, never passed = 2/3.
    """
    events = [
        move("x", "a", "won", 1, 2),
        move("y", "a", "won", 1, 2),
        move("z", "a", "b", 1, 2),
        move("z", "b", "lost", 2, 3),
    ]
    rows = calibration(events, PIPE, strength=3)
    assert [(r.stage, r.configured, r.won, r.lost, r.observed, r.shrunk) for r in rows] == [
        ("a", Decimal("0.2"), 2, 1, Fraction(2, 3), Fraction(2, 3)),
        ("b", Decimal("0.4"), 0, 1, Fraction(0), Fraction(1, 2)),
        ("c", Decimal("0.7"), 0, 0, None, Fraction(2, 3)),
    ]
    assert [r.shrunk for r in calibration(events, PIPE)] == [None, None, None]
    assert [r.shrunk for r in calibration([], PIPE, strength=3)] == [None, None, None]


def test_calibration_merges_with_the_overall_rate_of_both_parts():
    """
    The four deals above split x, y | z: each part alone shrinks toward 1 (x, y) or 0 (z), the
    merge toward 2/3 again, and gives exactly the rows of one pass.
    """
    events = [
        move("x", "a", "won", 1, 2),
        move("y", "a", "won", 1, 2),
        move("z", "a", "b", 1, 2),
        move("z", "b", "lost", 2, 3),
    ]
    left, right = calibration(events[:2], PIPE, strength=3), calibration(events[2:], PIPE, strength=3)
    assert [r.shrunk for r in left] == [Fraction(1)] * 3
    assert (left.won, left.lost, right.won, right.lost) == (2, 0, 0, 1)
    merged = left.merge(right)
    assert merged == calibration(events, PIPE, strength=3)
    assert [r.shrunk for r in merged] == [Fraction(2, 3), Fraction(1, 2), Fraction(2, 3)]


def test_close_rates_and_flow_merge_by_hand():
    """
    Close rates of w1, l1 (ann) and w2 (bob) split by deal add per owner: ann 1 won 1 lost; flow
    of x (January) and y (February) adds per month.
    """
    deals = [opp("w1", "won", owner="ann"), opp("w2", "won", owner="bob"), opp("l1", "lost", owner="ann")]
    events = [move("w1", "a", "won", 1, 1), move("w2", "a", "won", 2, 1), move("l1", "a", "lost", 3, 1)]
    left = close_rates(deals[:1], events[:1], PIPE)
    right = close_rates(deals[1:], events[1:], PIPE)
    assert left.merge(right) == {"ann": (1, 1, Fraction(1, 2)), "bob": (1, 0, Fraction(1))}
    assert list(left.merge(right)) == ["ann", "bob"]
    x, y = opp("x", "a", created=T0), opp("y", "a", created=T0 + 40 * DAY)
    won, lost = move("x", "a", "won", 30, 1), move("y", "a", "lost", 45, 1)
    merged = flow([x], [won], period="month").merge(flow([y], [lost], period="month"))
    assert [(r.period, r.created, r.won, r.lost) for r in merged] == [
        (dt.date(2026, 1, 1), 1, 0, 0),
        (dt.date(2026, 2, 1), 1, 1, 1),
    ]
    assert merged == flow([x, y], [won, lost], period="month")


# --- targets --------------------------------------------------------------------------


def test_targets_by_hand():
    """
    Ann, target 1,000: won 400 in the quarter (a win before it does not count); open 1,000 at
    40 % and 500 at 90 % closing in it (a deal closing after it does not count): remaining
    600, coverage 1,500 / 600 = 2.5x, forecast 400 + 400 + 450 = 1,250.  Bob, target 100,
    won 150: 150 % attained, remaining -50, no coverage.  Team: 1,100 vs 550 won.
    """
    pipe = default_pipeline()
    q2 = dt.datetime(2026, 4, 2, tzinfo=dt.UTC)

    def d(i, owner, stage, amount, *, when=q2, close=dt.date(2026, 5, 1)):
        return opp(i, stage, owner=owner, amount=amount, close=close, created=when, pipeline="default")

    deals = [
        d("a1", "ann", "won", "400"),
        d("a0", "ann", "won", "999", when=dt.datetime(2026, 3, 31, tzinfo=dt.UTC)),
        d("a2", "ann", "proposal", "1000"),
        d("a3", "ann", "negotiation", "500"),
        d("a4", "ann", "negotiation", "700", close=dt.date(2026, 7, 1)),
        d("b1", "bob", "won", "150"),
        d("z1", "zed", "won", "5000"),
    ]
    targets = {"ann": Money.of("1000", "USD"), "bob": Money.of("100", "USD")}
    report = against_targets(deals, pipe, targets=targets, start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1))
    ann, bob = report.lines
    assert (ann.won, ann.open_pipeline, ann.weighted_open) == (
        Money.of("400", "USD"),
        Money.of("1500", "USD"),
        Money.of("850.00", "USD"),
    )
    assert (ann.attainment, ann.remaining, ann.coverage, ann.forecast) == (
        Decimal("0.4"),
        Money.of("600", "USD"),
        Decimal("2.5"),
        Money.of("1250.00", "USD"),
    )
    assert (bob.attainment, bob.remaining, bob.coverage) == (Decimal("1.5"), Money.of("-50", "USD"), None)
    assert (report.total.target, report.total.won) == (Money.of("1100", "USD"), Money.of("550", "USD"))
    assert report.to_records()[-1]["owner"] is None


def test_targets_refuse_bad_input():
    """Mixed currencies, bad targets and reversed periods are named."""
    pipe = default_pipeline()
    eur = opp("e", "won", currency="EUR", pipeline="default")
    with pytest.raises(CurrencyMismatchError):
        against_targets(
            [eur],
            pipe,
            targets={"ann": Money.of("1", "USD")},
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 2, 1),
        )
    with raises_problems(("targets['ann']", "type"), ("end", "type")):
        against_targets(
            [],
            pipe,
            targets={"ann": 5},
            start=dt.date(2026, 2, 1),
            end=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )


def test_calibration_can_shrink_toward_the_pipeline_average():
    """
    Of the four closed deals two were won: average 1/2.  With strength 2, stage c (2 of 2 won)
    shrinks to (2 + 2 x 1/2) / (2 + 2) = 3/4; stage b (1 of 2) stays 1/2.
    """
    rows = {r.stage: r for r in calibration(EVENTS, PIPE, strength=2)}
    assert (rows["c"].observed, rows["c"].shrunk) == (Fraction(1), Fraction(3, 4))
    assert rows["b"].shrunk == Fraction(1, 2)
    assert calibration(EVENTS, PIPE)[0].shrunk is None


def test_duplicate_events_count_once_in_flow_and_calibration():
    """A stored duplicate does not double a win."""
    deals = [opp("x", "a", created=T0)]
    events = [move("x", "a", "won", 30, 1)] * 2
    assert [(r.won, r.lost) for r in flow(deals, events)] == [(0, 0), (1, 0)]
    assert calibration(events, PIPE)[0].won == 1


def test_shape_helpers_refuse_bad_arguments():
    """Periods, pipelines, NaN rates and non-iterables are named."""
    with raises_problems(("period", "choice")):
        flow([], [], period="year")
    with raises_problems(("pipeline", "type")):
        close_rates([], [], None)
    with raises_problems(("toward", "range")):
        shrink(1, 2, toward=Decimal("NaN"), strength=1)
    with raises_problems(("events", "type")):
        calibration(None, PIPE)


@st.composite
def histories(draw):
    """Deals of PIPE with random paths (forward, skip, win, lose) and times, and their events."""
    deals, events = [], []
    for i in range(draw(st.integers(0, 12))):
        oid = f"d{i}"
        path = ["a"]
        while path[-1] in ("a", "b", "c") and len(path) < 5:
            path.append(
                draw(st.sampled_from(["b", "c", "won", "lost"] if path[-1] == "a" else ["c", "won", "lost"]))
            )
            if path[-1] in ("b", "c") and path.index(path[-1]) != len(path) - 1:
                path.pop()
                break
        at = T0
        for v, (src, dst) in enumerate(itertools.pairwise(path), 1):
            if dst in ("b", "c") and "abc".index(dst) <= "abc".index(src):
                break
            stay = draw(st.integers(1, 20)) * DAY
            at += stay
            kind = {"won": "win", "lost": "lose"}.get(dst, "advance")
            events.append(
                StageChanged(
                    opportunity_id=oid, pipeline="p", kind=kind, from_stage=src, to_stage=dst, at=at,
                    actor="ann", version=v, time_in_stage=stay,
                    lost_reason="price" if kind == "lose" else None,
                )
            )  # fmt: skip
        last = events[-1] if events and events[-1].opportunity_id == oid else None
        stage = last.to_stage if last else "a"
        deals.append(
            opp(
                oid, stage, owner=draw(st.sampled_from(["ann", "bob"])), amount=str(draw(st.integers(1, 999)))
            )
        )
    return deals, events


@given(histories(), st.integers(0, 12))
def test_funnel_and_target_reports_merge_exactly(history, cut):
    """Split the deals (with their events) anywhere: merged reports equal the report of the whole."""
    deals, events = history
    left_ids = {d.id for d in deals[:cut]}
    parts = [
        ([d for d in deals if d.id in left_ids], [e for e in events if e.opportunity_id in left_ids]),
        ([d for d in deals if d.id not in left_ids], [e for e in events if e.opportunity_id not in left_ids]),
    ]
    whole = funnel(deals, events, PIPE)
    assert funnel(*parts[0], PIPE).merge(funnel(*parts[1], PIPE)) == whole
    targets = {"ann": Money.of("500", "USD"), "bob": Money.of("900", "USD")}
    period = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 12, 31)}
    one = against_targets(deals, PIPE, targets=targets, **period)
    split = [against_targets(p[0], PIPE, targets=targets, **period) for p in parts]
    assert split[0].merge(split[1]) == one


# --- shape and targets: edges ------------------------------------------------------------


def test_only_middle_stages_bulge_and_only_the_ends_thin():
    """
    Equal entries and times, 12 open: 4 expected per stage.  a and c with 6 each (1.5x, the bulge
    limit) are not bulges: the ends are thin or fine, never bulges.  A stage the history never
    filled bulges only in the middle.  A two-stage funnel's bottom at exactly 0.5x is thin.
    """
    ends = [opp(f"a{i}", "a") for i in range(6)] + [opp(f"c{i}", "c") for i in range(6)]
    assert diagnose(ends, PIPE, history=history([1, 1, 1], [1, 1, 1])).findings == ()
    never_c = diagnose(
        [opp("a0", "a"), opp("a1", "a"), opp("b0", "b"), opp("b1", "b"), opp("c0", "c")],
        PIPE,
        history=history([1, 1, 0], [1, 1, None]),
    )
    assert never_c.findings == ()  # a and b at 0.8x; c is the bottom: no bulge there
    never_b = diagnose([opp("a0", "a"), opp("b0", "b")], PIPE, history=history([1, 0, 1], [1, None, 1]))
    (bulge,) = [f for f in never_b.findings if f.kind == "bulge"]
    assert (bulge.stage, bulge.observed, bulge.expected, bulge.ratio, bulge.threshold) == (
        "b",
        1,
        Decimal(0),
        None,
        Decimal("1.5"),
    )
    deals = [opp(f"a{i}", "a") for i in range(3)] + [opp("b0", "b")]
    report = diagnose(deals, TWO_STAGES, history=history([1, 1], [1, 1], keys="ab"))
    assert [(f.kind, f.stage, f.ratio) for f in report.findings] == [("thin_bottom", "b", Decimal("0.5"))]


def test_shape_thresholds_are_inclusive():
    """
    Equal entries and times: 12 open deals expect 4 per stage.  a holds 2 (exactly 0.5x: a thin
    top) and b 6 (exactly 1.5x: a bulge); both limits count.
    """
    deals = [opp(f"a{i}", "a") for i in range(2)] + [opp(f"b{i}", "b") for i in range(6)]
    deals += [opp(f"c{i}", "c") for i in range(4)]
    report = diagnose(deals, PIPE, history=history([1, 1, 1], [1, 1, 1]))
    assert [(f.kind, f.stage, f.observed, f.expected, f.ratio, f.threshold) for f in report.findings] == [
        ("thin_top", "a", 2, Decimal(4), Decimal("0.5"), Decimal("0.5")),
        ("bulge", "b", 6, Decimal(4), Decimal("1.5"), Decimal("1.5")),
    ]
    assert report.findings[0].message == (
        "thin top at 'a': 2 open deals where the history predicts 4.0 (0.50x, threshold 0.5x): "
        "too few new deals"
    )


def test_shape_counts_only_open_deals_of_the_pipeline():
    """A won deal and a deal of another pipeline are not open deals of this funnel: 10 are counted."""
    deals = [opp(f"a{i}", "a") for i in range(4)] + [opp(f"b{i}", "b") for i in range(4)]
    deals += [opp("c1", "c"), opp("c2", "c"), opp("w", "won"), opp("other", "a", pipeline="default")]
    report = diagnose(deals, PIPE, history=history([1, 1, 1], [1, 1, 1]))
    assert [s.observed for s in report.stages] == [4, 4, 2]
    assert {s.expected for s in report.stages} == {Decimal(10) / 3}
    assert report.findings == ()  # c: 2 of 3.33 is 0.6x, above the thin limit


def test_shape_keeps_seconds_of_time_in_stage():
    """
    One entry each; a kept deals 1 day and 1 second, b and c 1 day: a's share of 3 deals is
    3 x 86401 / (86401 + 2 x 86400) = 259203/259201, not 1.
    """
    import attrs

    base = history([1, 1, 1], [1, 1, 1])
    longer = attrs.evolve(base.stages[0], mean_time=DAY + dt.timedelta(seconds=1))
    report = diagnose(
        [opp("x1", "a"), opp("x2", "b"), opp("x3", "c")],
        PIPE,
        history=attrs.evolve(base, stages=(longer, *base.stages[1:])),
    )
    assert report.stages[0].expected == Decimal(259203) / Decimal(259201)


def test_shape_with_no_time_in_any_stage_expects_nothing():
    """Deals that never stayed anywhere: every stage expects 0, no ratio, and no division by zero."""
    report = diagnose([opp("x1", "a"), opp("x2", "b")], PIPE, history=history([1, 1, 1], [0, 0, 0]))
    assert [(s.expected, s.ratio) for s in report.stages] == [(Decimal(0), None)] * 3
    assert [f.message for f in report.findings] == [
        "bulge at 'b': 1 open deal where the history predicts none"
    ]


def test_shape_names_a_stage_missing_from_the_history():
    """A history built for fewer stages is refused, stage by stage."""
    partial = attrs_evolve_stages(history([1, 1, 1], [1, 1, 1]), 2)
    with raises_problems(("history.stages['c']", "missing")):
        diagnose([], PIPE, history=partial)


def attrs_evolve_stages(report, keep):
    """*report* with only its first *keep* stages."""
    import attrs

    return attrs.evolve(report, stages=report.stages[:keep])


def test_targets_period_is_half_open_and_local():
    """
    Period [1 April, 1 July) in Shanghai: a win at 20:00 UTC on 31 March is 04:00 on 1 April there
    (counts); a win on 1 July does not; a deal closing on 1 April counts, one closing on 1 July does
    not.  A lost deal expected to close in the period counts nowhere.
    """
    pipe = default_pipeline()
    april = dt.datetime(2026, 3, 31, 20, tzinfo=dt.UTC)

    def d(i, stage, amount, *, when=april, close=None):
        return opp(i, stage, amount=amount, created=when, close=close, pipeline="default")

    deals = [
        d("w1", "won", "100"),
        d("w2", "won", "1000", when=dt.datetime(2026, 7, 1, 1, tzinfo=dt.UTC)),
        d("o1", "proposal", "200", close=dt.date(2026, 4, 1)),
        d("o2", "proposal", "2000", close=dt.date(2026, 7, 1)),
        d("l1", "lost", "5000", close=dt.date(2026, 5, 1)),
    ]
    kw = {
        "targets": {"ann": Money.of("1000", "USD")},
        "start": dt.date(2026, 4, 1),
        "end": dt.date(2026, 7, 1),
    }
    local = against_targets(deals, pipe, tz="Asia/Shanghai", **kw).line("ann")
    assert (local.won, local.open_pipeline, local.weighted_open) == (
        Money.of("100", "USD"),
        Money.of("200", "USD"),
        Money.of("80.00", "USD"),
    )
    utc = against_targets(deals, pipe, **kw).line("ann")
    assert utc.won == Money.of("0", "USD")  # in UTC the first win was on 31 March
    report = against_targets(deals, pipe, **kw)
    assert (report.start, report.end) == (dt.date(2026, 4, 1), dt.date(2026, 7, 1))


def test_targets_edges():
    """A zero target is allowed (no attainment); two currencies give no team total; bad rows are named."""
    pipe = default_pipeline()
    won = opp("w", "won", amount="50", pipeline="default")
    report = against_targets([won], pipe, targets={"ann": Money.of("0", "USD")}, **_YEAR)
    assert (report.lines[0].attainment, report.lines[0].coverage) == (None, None)
    assert report.lines[0].remaining == Money.of("-50", "USD")
    two = against_targets(
        [won], pipe, targets={"ann": Money.of("1", "USD"), "bob": Money.of("1", "EUR")}, **_YEAR
    )
    assert two.total is None
    assert [ln["owner"] for ln in two.to_records()] == ["ann", "bob"]
    with raises_problems(("end", "order")):
        against_targets(
            [],
            pipe,
            targets={"ann": Money.of("1", "USD")},
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 1, 1),
        )
    with raises_problems(("opportunities[1]", "type")):
        against_targets([won, "x"], pipe, targets={"ann": Money.of("1", "USD")}, **_YEAR)
    stray = opp("s", "nowhere", close=dt.date(2026, 6, 1), pipeline="default")
    with raises_problems(("opportunities[0].stage", "reference")):
        against_targets([stray], pipe, targets={"ann": Money.of("1", "USD")}, **_YEAR)
    with pytest.raises(CurrencyMismatchError) as e:
        against_targets([won], pipe, targets={"ann": Money.of("1", "EUR")}, **_YEAR)
    assert str(e.value) == (
        "opportunities[0].amount: cannot compare a target and a deal in EUR and USD: "
        "amounts are in different currencies; convert one of them first"
    )


_YEAR = {"start": dt.date(2026, 1, 1), "end": dt.date(2027, 1, 1)}
