"""Tests for history without look-ahead: as_of, backtest and pipeline_changes reading edits of deals."""

import datetime as dt

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import DAY, PIPE, T0

from funnelkit import ForecastCategory, Money, Opportunity, OpportunityStatus
from funnelkit.assignment import OwnerChanged
from funnelkit.forecast import as_of, backtest, pipeline_changes, weighted_forecast, won_between
from funnelkit.stages import AmountChanged, CloseDateChanged, StageChanged, default_pipeline, replay
from funnelkit.strategies import event_histories


def usd(amount):
    """*amount* US dollars."""
    return Money.of(amount, "USD")


def move(oid, src, dst, day, version):
    """Deal *oid* moves from *src* to *dst* on *day* after T0."""
    kind = {"won": "win", "lost": "lose"}.get(dst, "advance")
    return StageChanged(
        opportunity_id=oid, pipeline="p", kind=kind, from_stage=src, to_stage=dst, at=T0 + day * DAY,
        actor="ann", version=version, time_in_stage=DAY, lost_reason="price" if kind == "lose" else None,
    )  # fmt: skip


# d1: created at a with 80; a -> b on day 5; amount 80 -> 100 on day 10; close 15 Feb -> 1 Mar on
# day 12 (pushed 14 days); won on day 20.  d2: created at a with 200; amount 200 -> 150 on day 8;
# lost on day 15.  Today both are closed, with their last amounts.
D1 = Opportunity(
    id="d1", customer_id="c", owner="ann", pipeline="p", stage="won", status="won", created_at=T0,
    stage_entered_at=T0 + 20 * DAY, amount=usd(100), expected_close=dt.date(2026, 3, 1), version=4,
)  # fmt: skip
D2 = Opportunity(
    id="d2", customer_id="c", owner="bob", pipeline="p", stage="lost", status="lost", created_at=T0,
    stage_entered_at=T0 + 15 * DAY, amount=usd(150), lost_reason="price", version=2,
)  # fmt: skip
EVENTS = [
    move("d1", "a", "b", 5, 1),
    AmountChanged(
        opportunity_id="d1", at=T0 + 10 * DAY, actor="ann", version=2, before=usd(80), after=usd(100)
    ),
    CloseDateChanged(
        opportunity_id="d1",
        at=T0 + 12 * DAY,
        actor="ann",
        version=3,
        before=dt.date(2026, 2, 15),
        after=dt.date(2026, 3, 1),
    ),
    move("d1", "b", "won", 20, 4),
    AmountChanged(
        opportunity_id="d2", at=T0 + 8 * DAY, actor="bob", version=1, before=usd(200), after=usd(150)
    ),
    move("d2", "a", "lost", 15, 2),
]


def weighted_usd(deals):
    """The weighted pipeline of *deals* in US dollars."""
    return weighted_forecast(deals, PIPE).total("USD")


def test_as_of_rebuilds_the_amounts_and_close_dates_as_they_were():
    """Worked by hand: on day 6 the deals hold their first amounts, on day 11 the edited ones."""
    day6 = {o.id: o for o in as_of([D1, D2], EVENTS, now=T0 + 6 * DAY)}
    assert (day6["d1"].stage, day6["d1"].amount, day6["d1"].expected_close, day6["d1"].version) == (
        "b",
        usd(80),
        dt.date(2026, 2, 15),
        1,
    )
    assert (day6["d2"].stage, day6["d2"].amount, day6["d2"].version) == ("a", usd(200), 0)
    day11 = {o.id: o for o in as_of([D1, D2], EVENTS, now=T0 + 11 * DAY)}
    assert (day11["d1"].amount, day11["d1"].expected_close) == (usd(100), dt.date(2026, 2, 15))
    assert (day11["d2"].amount, day11["d2"].status) == (usd(150), OpportunityStatus.OPEN)
    assert as_of([D1, D2], EVENTS, now=T0 + 30 * DAY) == (D1, D2)


def test_a_backtest_forecasts_from_the_amounts_then_and_books_the_amounts_won():
    """
    Worked by hand: at day 6 the weighted pipeline is 40 % of 80 + 20 % of 200 = 72 (today's amounts
    would give 40 % of 100 + 20 % of 150 = 70); d1 was won for 100, the amount it stood at by day 30.
    """
    report = backtest(
        [D1, D2], EVENTS, cutoffs=[(T0 + 6 * DAY, T0 + 30 * DAY)], forecast=weighted_usd, currency="USD"
    )
    (row,) = report.rows
    assert (row.open_deals, row.forecast, row.actual) == (2, usd(72), usd(100))
    booked = backtest(
        [D1, D2],
        EVENTS,
        cutoffs=[(T0 + 6 * DAY, T0 + 30 * DAY)],
        forecast=weighted_usd,
        currency="USD",
        actual="bookings",
    )
    assert booked.rows[0].actual == usd(100)


def test_pipeline_changes_count_amounts_raised_and_lowered_and_close_dates_pushed():
    """Worked by hand: from day 6 to day 30, d1 won (80 -> 100, pushed 14 days), d2 lost (200 -> 150)."""
    report = pipeline_changes([D1, D2], EVENTS, PIPE, start=T0 + 6 * DAY, end=T0 + 30 * DAY)
    d1, d2 = report.deals
    assert (d1.change, d1.amount_before, d1.amount, d1.amount_delta, d1.days_moved, d1.edited) == (
        "won",
        usd(80),
        usd(100),
        usd(20),
        14,
        ("amount_up", "pushed"),
    )
    assert (d2.change, d2.amount_delta, d2.edited) == ("lost", usd(-50), ("amount_down",))
    assert [(t.change, t.deals, t.amounts) for t in report.edits] == [
        ("amount_up", 1, (usd(20),)),
        ("amount_down", 1, (usd(-50),)),
        ("pushed", 1, (usd(100),)),
    ]
    assert repr(report) == (
        "<PipelineChanges: p, 2026-01-11 to 2026-02-04: 1 won, 1 lost; "
        "edits: 1 amount up, 1 amount down, 1 pushed>"
    )
    row = report.to_records()[0]
    assert (row["close_before"], row["close_after"], row["days_moved"], row["edited"]) == (
        dt.date(2026, 2, 15),
        dt.date(2026, 3, 1),
        14,
        "amount_up pushed",
    )


def test_a_change_of_owner_is_rewound_and_a_customers_is_passed_over():
    """The owner as it was before the reassignment; a customer's change of owner is not the deal's."""
    moved = OwnerChanged(
        kind="opportunity", id="d2", from_rep="ann", to_rep="bob", at=T0 + 9 * DAY, actor="mgr",
        reason="ann left", why="least loaded", version=2,
    )  # fmt: skip
    customer = attrs.evolve(moved, kind="customer", id="c", version=None)
    d2 = attrs.evolve(D2, version=3)
    log = [EVENTS[4], moved, customer, attrs.evolve(EVENTS[5], version=3)]
    assert as_of([d2], log, now=T0 + 8 * DAY)[0].owner == "ann"
    assert as_of([d2], log, now=T0 + 10 * DAY)[0].owner == "bob"
    assert won_between([d2], log, start=T0, end=T0 + 30 * DAY) == {}


def test_the_category_override_groups_an_open_deal_not_a_won_one():
    """A rep's override counts while the deal is open; a won deal is closed whatever it said."""
    open_deal = attrs.evolve(D1, stage="a", status="open", forecast_category=ForecastCategory.COMMIT)
    won = attrs.evolve(D1, id="d9", forecast_category=ForecastCategory.COMMIT)
    report = weighted_forecast([open_deal, won], PIPE, by=("category",))
    assert {line.key: line.deals for line in report.lines} == {("commit",): 1, ("closed",): 1}


def _usd_histories(max_events=8):
    """Histories of one deal with edits, all in US dollars (an edit of a deal without amount draws USD)."""
    return event_histories(pipeline=PIPE, max_events=max_events, edits=True).filter(
        lambda h: h.start.amount is None
    )


@settings(max_examples=80, deadline=None)
@given(
    history=event_histories(pipeline=default_pipeline(), max_events=10, edits=True),
    hours=st.lists(st.integers(-5, 24 * 400), max_size=6),
)
def test_as_of_has_no_look_ahead(history, hours):
    """At any instant, as_of gives exactly the deal replayed from its start through the changes by then."""
    events = list(history.events)
    instants = [e.at for e in events] + [history.start.created_at + dt.timedelta(hours=h) for h in hours]
    for now in instants:
        expected = replay(history.start, [e for e in events if e.at <= now])
        got = as_of([history.end], events, now=now)
        assert got == ((expected,) if history.start.created_at <= now else ())


@settings(max_examples=60, deadline=None)
@given(
    histories=st.lists(event_histories(pipeline=default_pipeline(), max_events=6, edits=True), max_size=5),
    hours=st.lists(st.integers(-24, 24 * 200), min_size=1, max_size=6),
    shuffle=st.randoms(use_true_random=False),
)
def test_one_sweep_reads_edited_histories_as_as_of_does(histories, hours, shuffle):
    """The backtest's replay per deal reads moves, edits and changes of owner, in any order, as as_of does."""
    from funnelkit.forecast._backtest import _Sweep, _timelines, _unique

    deals = {h.end.id: h.end for h in histories}
    events = [e for h in histories if deals[h.end.id] is h.end for e in h.events]
    shuffle.shuffle(events)
    t0 = min((o.created_at for o in deals.values()), default=T0)
    nows = [t0 + dt.timedelta(hours=h) for h in hours]
    opps, evs = list(deals.values()), _unique(events)
    lines = _timelines(opps, evs, max(nows))
    sweep, opens = _Sweep(opps, evs, lines, nows), _Sweep(opps, evs, lines, nows)
    for now in nows:
        expected = as_of(opps, evs, now=now)
        assert sweep.at(now) == expected
        assert opens.open_at(now) == tuple(o for o in expected if o.status is OpportunityStatus.OPEN)


def _total(deals):
    """The amounts of *deals* in US dollars."""
    return Money.total([o.amount for o in deals if o.amount is not None], currency="USD")


@settings(max_examples=60, deadline=None)
@given(
    histories=st.lists(_usd_histories(), min_size=1, max_size=5, unique_by=lambda h: h.end.id),
    days=st.lists(st.tuples(st.integers(-2, 200), st.integers(1, 90)), min_size=1, max_size=4),
)
def test_a_backtest_over_edited_histories_is_as_of_at_both_ends(histories, days):
    """Each cut-off's forecast reads the deals open then, its actual the amounts they were won for."""
    opps = [h.end for h in histories]
    events = [e for h in histories for e in h.events]
    t0 = min(o.created_at for o in opps)
    cutoffs = [(t0 + d * DAY, t0 + (d + span) * DAY) for d, span in days]
    report = backtest(opps, events, cutoffs=cutoffs, forecast=_total, currency="USD")
    for row, (start, end) in zip(report.rows, cutoffs, strict=True):
        open_then = [o for o in as_of(opps, events, now=start) if o.status is OpportunityStatus.OPEN]
        won = won_between(open_then, events, start=start, end=end)
        at_end = {o.id: o for o in as_of(opps, events, now=end)}
        assert row.forecast == _total(open_then)
        assert row.actual == _total([at_end[o.id] for o in open_then if o.id in won])


def test_an_amount_set_or_cleared_counts_in_full():
    """From no amount to 50 is 50 up; from 50 to none is 50 down; a change of currency is no delta."""
    from funnelkit.forecast import DealChange

    def change(before, after):
        """A deal open at both instants with amounts *before* and *after*."""
        return DealChange(
            opportunity_id="o", change="unchanged", stage_before="a", status_before=OpportunityStatus.OPEN,
            stage_after="a", status_after=OpportunityStatus.OPEN, amount=after, amount_before=before,
        )  # fmt: skip

    assert (change(None, usd(50)).amount_delta, change(None, usd(50)).edited) == (usd(50), ("amount_up",))
    assert (change(usd(50), None).amount_delta, change(usd(50), None).edited) == (usd(-50), ("amount_down",))
    assert change(usd(50), Money.of(50, "EUR")).amount_delta is None
    assert change(None, None).edited == ()
