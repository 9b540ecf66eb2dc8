"""Tests for backtesting: the pipeline as of a past date, and WAPE, bias and pinball loss by hand."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import DAY, PIPE, T0

from _problems import raises_problems
from funnelkit import Money, Opportunity, OpportunityStatus, ValidationError
from funnelkit.errors import CurrencyMismatchError
from funnelkit.forecast import as_of, backtest, bias, pinball, wape, weighted_forecast, won_between
from funnelkit.stages import MoveKind, StageChanged, default_pipeline
from funnelkit.strategies import event_histories


def deal(oid, stage, amount, *, created_day=0, entered_day=None):
    """A deal as it is today."""
    status = {"won": "won", "lost": "lost"}.get(stage, "open")
    created = T0 + created_day * DAY
    entered = T0 + (created_day if entered_day is None else entered_day) * DAY
    return Opportunity(
        id=oid, customer_id="c", owner="ann", pipeline="p", stage=stage, status=status,
        created_at=created, stage_entered_at=entered, amount=Money.of(amount, "USD"),
        version={"d1": 2, "d2": 1, "d3": 2}[oid], lost_reason="price" if status == "lost" else None,
    )  # fmt: skip


def move(oid, src, dst, day, version, since):  # noqa: PLR0917 - reads as a table row
    """Deal *oid* moves on *day* (after T0), having entered *src* on day *since*."""
    kind = {"won": "win", "lost": "lose"}.get(dst, "advance")
    return StageChanged(
        opportunity_id=oid, pipeline="p", kind=kind, from_stage=src, to_stage=dst, at=T0 + day * DAY,
        actor="ann", version=version, time_in_stage=(day - since) * DAY,
        lost_reason="price" if kind == "lose" else None,
    )  # fmt: skip


# d1: a -> b on day 5 -> won on day 20 (100); d2: a -> lost on day 15 (200);
# d3: created on day 10, a -> b on day 12 -> c on day 25, open (300).
DEALS = [
    deal("d1", "won", "100", entered_day=20),
    deal("d2", "lost", "200", entered_day=15),
    deal("d3", "c", "300", created_day=10, entered_day=25),
]
EVENTS = [
    move("d1", "a", "b", 5, 1, 0),
    move("d1", "b", "won", 20, 2, 5),
    move("d2", "a", "lost", 15, 1, 0),
    move("d3", "a", "b", 12, 1, 10),
    move("d3", "b", "c", 25, 2, 12),
]


def test_as_of_rebuilds_stage_status_and_version():
    """On day 10 d1 is in b (since day 5, v1), d2 and d3 in a; on day 9 d3 did not exist."""
    then = {o.id: o for o in as_of(DEALS, EVENTS, now=T0 + 10 * DAY)}
    assert {k: (o.stage, o.status.value, o.version) for k, o in then.items()} == {
        "d1": ("b", "open", 1),
        "d2": ("a", "open", 0),
        "d3": ("a", "open", 0),
    }
    assert then["d1"].stage_entered_at == T0 + 5 * DAY
    assert {o.id for o in as_of(DEALS, EVENTS, now=T0 + 9 * DAY)} == {"d1", "d2"}
    assert {o.id: o.stage for o in as_of(DEALS, EVENTS, now=T0 + 30 * DAY)} == {
        "d1": "won",
        "d2": "lost",
        "d3": "c",
    }


def point(deals):
    """The weighted forecast of the open deals."""
    return weighted_forecast(deals, PIPE, by=[]).total("USD")


def test_backtest_by_hand():
    """
    Cut-off 1, day 10 to 30: open d1 (b, 40 % of 100), d2 (a, 20 % of 200), d3 (a, 20 % of 300):
    forecast 140; won since: d1, 100.  Cut-off 2, day 21 to 40: open d3 (b, 40 % of 300): 120;
    won: nothing.  WAPE = (40 + 120) / 100 = 1.6; bias = (40 + 120) / 100 = +1.6.
    """
    cutoffs = [(T0 + 10 * DAY, T0 + 30 * DAY), (T0 + 21 * DAY, T0 + 40 * DAY)]
    result = backtest(DEALS, EVENTS, cutoffs=cutoffs, forecast=point, currency="USD")
    assert [(r.open_deals, r.forecast, r.actual) for r in result.rows] == [
        (3, Money.of("140.00", "USD"), Money.of("100", "USD")),
        (1, Money.of("120.00", "USD"), Money.of("0", "USD")),
    ]
    assert (result.wape, result.bias) == (Decimal("1.6"), Decimal("1.6"))
    first = result.to_records()[0]
    assert (first["forecast"], first["actual"], first["error"], first["error_currency"]) == (
        Decimal("140.00"),
        Decimal(100),
        Decimal("40.00"),
        "USD",
    )
    assert result.to_records(numbers="float")[1]["error"] == 120.0
    assert repr(result) == "<Backtest: 2 cut-offs from 2026-01-15 to 2026-01-26; WAPE 160.0%, bias +160.0%>"


def test_quantile_backtest_by_hand():
    """
    p50 = weighted, p90 = full amount: cut-off 1 (140, 600) vs 100; cut-off 2 (120, 300) vs 0.
    Pinball at 0.5: (0.5*40 + 0.5*120) / 2 = 40; at 0.9: (0.1*500 + 0.1*300) / 2 = 40.
    """

    def quantiles(deals):
        full = Money.total((d.amount for d in deals), currency="USD")
        return {0.5: point(deals), 0.9: full}

    cutoffs = [(T0 + 10 * DAY, T0 + 30 * DAY), (T0 + 21 * DAY, T0 + 40 * DAY)]
    result = backtest(DEALS, EVENTS, cutoffs=cutoffs, forecast=quantiles, currency="USD")
    assert result.pinball == {0.5: Decimal(40), 0.9: Decimal(40)}
    assert result.wape is None
    usd = {"q0.5_currency": "USD", "q0.9_currency": "USD", "actual_currency": "USD"}
    usd |= {"forecast_currency": None, "error_currency": None}  # no point forecast: no error either
    assert result.to_records() == [
        {
            "as_of": T0 + 10 * DAY,
            "until": T0 + 30 * DAY,
            "open_deals": 3,
            "forecast": None,
            "q0.5": Decimal("140.00"),
            "q0.9": Decimal(600),
            "actual": Decimal(100),
            "error": None,
            **usd,
        },
        {
            "as_of": T0 + 21 * DAY,
            "until": T0 + 40 * DAY,
            "open_deals": 1,
            "forecast": None,
            "q0.5": Decimal("120.00"),
            "q0.9": Decimal(300),
            "actual": Decimal(0),
            "error": None,
            **usd,
        },
    ]
    assert list(result.to_records()[0]) == [
        "as_of", "until", "open_deals", "forecast", "forecast_currency", "q0.5", "q0.5_currency", "q0.9",
        "q0.9_currency", "actual", "actual_currency", "error", "error_currency",
    ]  # fmt: skip
    assert repr(result) == (
        "<Backtest: 2 cut-offs from 2026-01-15 to 2026-01-26; WAPE -, bias -, "
        "pinball(0.5) 40.00, pinball(0.9) 40.00>"
    )


def test_metric_known_values():
    """WAPE, bias and pinball on small hand-worked series."""
    a = [Decimal(100), Decimal(200)]
    f = [Decimal(110), Decimal(170)]
    assert wape(a, f) == Fraction(40, 300)
    assert bias(a, f) == Fraction(-20, 300)
    # 0.9 quantile: 100 above 80 costs 0.9 * 20 = 18; 100 below 130 costs 0.1 * 30 = 3; mean 10.5
    assert pinball(0.9, [Decimal(100), Decimal(100)], [Decimal(80), Decimal(130)]) == Decimal("10.5")


@given(st.lists(st.decimals(0, 10**6, places=2), min_size=1, max_size=20), st.floats(0.01, 0.99))
def test_perfect_forecasts_score_zero(actuals, level):
    """Forecasting exactly what happened gives zero WAPE, bias and pinball loss."""
    if any(actuals):
        assert wape(actuals, actuals) == 0
        assert bias(actuals, actuals) == 0
    assert pinball(level, actuals, actuals) == 0


def test_bad_input_is_named():
    """Mismatched lengths, levels, cut-offs and currencies are refused with the field."""
    with raises_problems(("forecasts", "conflict")):
        wape([Decimal(1)], [Decimal(1), Decimal(2)])
    with raises_problems(("level", "range")):
        pinball(1.5, [Decimal(1)], [Decimal(1)])
    with raises_problems(("cutoffs[0]", "order")):
        backtest(DEALS, EVENTS, cutoffs=[(T0, T0)], forecast=point, currency="USD")
    with raises_problems(("cutoffs", "empty")):
        backtest(DEALS, EVENTS, cutoffs=[], forecast=point, currency="USD")
    with pytest.raises(CurrencyMismatchError):
        backtest(
            DEALS, EVENTS, cutoffs=[(T0, T0 + DAY)], forecast=lambda d: Money.of("1", "EUR"), currency="USD"
        )
    with raises_problems(("now", "timezone")):
        as_of(DEALS, EVENTS, now=dt.datetime(2026, 1, 1))


def test_bookings_count_deals_created_after_the_cutoff():
    """
    A deal created on day 2 and won on day 3 is not in the pipeline at day 1: the default
    'pipeline' actual leaves it out, 'bookings' counts it.
    """
    fresh = Opportunity(
        id="n", customer_id="c", owner="ann", pipeline="p", stage="won", status="won",
        created_at=T0 + 2 * DAY, stage_entered_at=T0 + 3 * DAY, amount=Money.of("1000", "USD"), version=1,
    )  # fmt: skip
    win = StageChanged(
        opportunity_id="n", pipeline="p", kind="win", from_stage="a", to_stage="won", at=T0 + 3 * DAY,
        actor="ann", version=1, time_in_stage=DAY,
    )  # fmt: skip
    cutoffs = [(T0 + DAY, T0 + 30 * DAY)]
    pipeline_only = backtest([*DEALS, fresh], [*EVENTS, win], cutoffs=cutoffs, forecast=point, currency="USD")
    bookings = backtest(
        [*DEALS, fresh], [*EVENTS, win], cutoffs=cutoffs, forecast=point, currency="USD", actual="bookings"
    )
    assert pipeline_only.rows[0].actual == Money.of("100", "USD")
    assert bookings.rows[0].actual == Money.of("1100", "USD")


def reopened_deal():
    """A deal whose only recorded move, at day 5, reopens it (version 3)."""
    back = Opportunity(
        id="r", customer_id="c", owner="ann", pipeline="p", stage="a", created_at=T0,
        stage_entered_at=T0 + 5 * DAY, amount=Money.of("50", "USD"), version=3,
    )  # fmt: skip
    reopen = StageChanged(
        opportunity_id="r", pipeline="p", kind="reopen", from_stage="lost", to_stage="a", at=T0 + 5 * DAY,
        actor="ann", version=3, time_in_stage=DAY,
    )  # fmt: skip
    return back, reopen


def test_history_starting_with_a_reopen_starts_lost():
    """A deal whose first recorded move reopens it was lost before: before that move it is not open."""
    back, reopen = reopened_deal()
    (before,) = as_of([back], [reopen], now=T0 + DAY)
    assert (before.stage, before.status.value) == ("lost", "lost")
    (after,) = as_of([back], [reopen], now=T0 + 6 * DAY)
    assert (after.stage, after.status.value, after.version) == ("a", "open", 3)


def test_duplicate_events_count_once():
    """An event stored twice rebuilds the same deal and scores the same."""
    cutoffs = [(T0 + 10 * DAY, T0 + 30 * DAY)]
    once = backtest(DEALS, EVENTS, cutoffs=cutoffs, forecast=point, currency="USD")
    twice = backtest(DEALS, EVENTS + EVENTS, cutoffs=cutoffs, forecast=point, currency="USD")
    assert once == twice


def test_metrics_take_ints_and_money_and_refuse_floats_and_nan():
    """Amounts may be ints, Decimals or Money; floats and NaN are named by index."""
    assert wape([100, Money.of("200", "USD")], [Decimal(110), 170]) == Fraction(40, 300)
    with raises_problems(("actuals[0]", "type"), ("actuals[1]", "range")):
        wape([1.0, Decimal("NaN")], [1, 2])
    with raises_problems(("forecasts", "type")):
        bias([1], None)


def test_won_between_checks_its_arguments():
    """Naive instants and non-deals are refused with the field named."""
    with raises_problems(("start", "timezone")):
        won_between(DEALS, EVENTS, start=dt.datetime(2026, 1, 1), end=T0)
    with raises_problems(("opportunities[0]", "type")):
        won_between([None], EVENTS, start=T0, end=T0 + DAY)
    assert won_between(DEALS, EVENTS, start=T0, end=T0 + 30 * DAY) == {"d1": T0 + 20 * DAY}


def test_mixed_quantile_levels_are_refused():
    """Cut-offs must forecast the same quantile levels, or the pinball loss would be silently dropped."""
    calls = iter([{0.5: Money.of("1", "USD")}, {0.9: Money.of("1", "USD")}])
    cutoffs = [(T0 + 10 * DAY, T0 + 30 * DAY), (T0 + 21 * DAY, T0 + 40 * DAY)]
    with raises_problems(("forecast(cutoffs[1])", "callable")):
        backtest(DEALS, EVENTS, cutoffs=cutoffs, forecast=lambda _: next(calls), currency="USD")


def test_as_of_keeps_going_past_skipped_deals():
    """A deal not yet created, or without history, does not stop the others from being rebuilt."""
    quiet = Opportunity(
        id="q", customer_id="c", owner="ann", pipeline="p", stage="b", created_at=T0,
        stage_entered_at=T0, amount=Money.of("5", "USD"),
    )  # fmt: skip
    order = [DEALS[2], quiet, DEALS[0], DEALS[1]]
    then = as_of(order, EVENTS, now=T0 + 9 * DAY)
    assert [(o.id, o.stage) for o in then] == [("q", "b"), ("d1", "b"), ("d2", "a")]
    assert then[0] is quiet  # no history: taken as it is now


def test_as_of_counts_a_move_made_at_the_instant():
    """A move at exactly *when* has happened; one a microsecond later has not."""
    (d1,) = as_of(DEALS[:1], EVENTS, now=T0 + 5 * DAY)
    assert (d1.stage, d1.version) == ("b", 1)
    (d1,) = as_of(DEALS[:1], EVENTS, now=T0 + 5 * DAY - dt.timedelta(microseconds=1))
    assert (d1.stage, d1.version) == ("a", 0)


def test_a_history_starting_with_a_reopen_says_why_it_was_lost():
    """Before its first recorded move (a reopen, version 3) the deal was lost at version 2, reason unknown."""
    back, reopen = reopened_deal()
    (before,) = as_of([back], [reopen], now=T0 + DAY)
    assert (before.version, before.lost_reason) == (2, "unknown (before the recorded history)")


def test_as_of_names_the_deal_with_a_broken_history():
    """A history that does not fit the deal is refused with the deal's index in the path."""
    wrong = move("d1", "c", "won", 20, 2, 5)  # d1 was in b, not c
    with raises_problems(("opportunities[0].events[1].from_stage", "conflict")):
        as_of(DEALS, [EVENTS[0], wrong], now=T0 + 30 * DAY)


def test_won_between_is_open_at_the_start_and_closed_at_the_end():
    """d1 was won at day 20: in (19, 20] but not in (20, 21]."""
    assert won_between(DEALS, EVENTS, start=T0 + 19 * DAY, end=T0 + 20 * DAY) == {"d1": T0 + 20 * DAY}
    assert won_between(DEALS, EVENTS, start=T0 + 20 * DAY, end=T0 + 21 * DAY) == {}
    assert won_between(DEALS[1:], EVENTS, start=T0, end=T0 + 30 * DAY) == {}  # only the deals given


def test_backtest_reports_progress_per_cut_off():
    """progress(done, total) after each cut-off, also for an iterator of cut-offs."""

    def point(open_deals):
        return Money.of(0, "USD")

    cutoffs = [(T0 + 10 * DAY, T0 + 40 * DAY), (T0 + 20 * DAY, T0 + 50 * DAY)]
    seen = []
    backtest(
        DEALS, EVENTS, cutoffs=cutoffs, forecast=point, currency="USD", progress=lambda *a: seen.append(a)
    )
    backtest(
        DEALS,
        EVENTS,
        cutoffs=iter(cutoffs),
        forecast=point,
        currency="USD",
        progress=lambda *a: seen.append(a),
    )
    assert seen == [(1, 2), (2, 2), (1, 2), (2, 2)]
    with raises_problems(("progress", "type")):
        backtest(DEALS, EVENTS, cutoffs=cutoffs, forecast=point, currency="USD", progress=3)


@settings(max_examples=60, deadline=None)
@given(
    histories=st.lists(event_histories(pipeline=default_pipeline(), max_events=6), max_size=5),
    hours=st.lists(st.integers(-24, 24 * 200), min_size=1, max_size=6),
)
def test_one_sweep_reads_what_as_of_reads_at_every_instant(histories, hours):
    """The backtest's one replay per deal and one list of wins read exactly what as_of and won_between do."""
    from funnelkit.forecast._backtest import _as_of_all, _by_deal, _Sweep, _timelines, _unique, _won_in

    deals = {h.end.id: h.end for h in histories}  # one history per id: the last drawn for a repeated id
    events = [e for h in histories if deals[h.end.id] is h.end for e in h.events]
    t0 = min((o.created_at for o in deals.values()), default=T0)
    nows = [t0 + dt.timedelta(hours=h) for h in hours]
    opps, evs = list(deals.values()), _unique(events)
    lines = _timelines(opps, evs, max(nows))
    wins = sorted((e.at, e.opportunity_id) for e in evs if e.kind is MoveKind.WIN)
    sweep = _Sweep(opps, evs, lines, nows)  # the instants in drawn order: forward, and back to the start
    opens = _Sweep(opps, evs, lines, nows)
    for now in nows:
        assert _as_of_all(opps, _by_deal(evs), lines, now) == as_of(opps, evs, now=now)
        assert sweep.at(now) == as_of(opps, evs, now=now)
        assert opens.open_at(now) == tuple(
            o for o in as_of(opps, evs, now=now) if o.status is OpportunityStatus.OPEN
        )
        later = now + dt.timedelta(days=30)
        assert _won_in(wins, {o.id for o in opps}, now, later) == won_between(opps, evs, start=now, end=later)


def _outcome(read):
    """What *read* gives, or the paths and codes of the problems it raises."""
    try:
        return read()
    except ValidationError as e:
        return [(p.path, p.code) for p in e.problems]


@settings(max_examples=80, deadline=None)
@given(
    histories=st.lists(event_histories(pipeline=default_pipeline(), max_events=6), min_size=1, max_size=4),
    hours=st.lists(st.integers(-24, 24 * 200), min_size=1, max_size=5),
    shuffle=st.randoms(use_true_random=False),
    damage=st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from(["version", "earlier", "later"]), st.integers(1, 3)),
        max_size=3,
    ),
)
def test_the_sweep_reads_shuffled_and_damaged_histories_as_as_of_does(histories, hours, shuffle, damage):
    """Events in any order, versions repeated, times moved: read as as_of reads them, errors too."""
    from funnelkit.forecast._backtest import _Sweep, _timelines, _unique

    deals = {h.end.id: h.end for h in histories}
    events = [e for h in histories if deals[h.end.id] is h.end for e in h.events]
    for index, how, by in damage:
        if events:
            k = index % len(events)
            e = events[k]
            if how == "version":
                events[k] = attrs.evolve(e, version=max(1, e.version - by))
            else:
                shift = dt.timedelta(hours=by * 30)
                events[k] = attrs.evolve(e, at=e.at - shift if how == "earlier" else e.at + shift)
    shuffle.shuffle(events)
    t0 = min(o.created_at for o in deals.values())
    nows = [t0 + dt.timedelta(hours=h) for h in hours]
    opps, evs = list(deals.values()), _unique(events)
    lines = _timelines(opps, evs, max(nows))
    sweep, opens = _Sweep(opps, evs, lines, nows), _Sweep(opps, evs, lines, nows)
    for now in nows:
        expected = _outcome(lambda now=now: as_of(opps, evs, now=now))
        assert _outcome(lambda now=now: sweep.at(now)) == expected
        if isinstance(expected, tuple):
            assert opens.open_at(now) == tuple(o for o in expected if o.status is OpportunityStatus.OPEN)


def test_the_sweep_refuses_a_broken_history_from_its_instant_and_reads_out_of_order_ones():
    """A broken history is refused from the instant it breaks, as in as_of; one out of order reads so too."""
    from funnelkit.forecast._backtest import _Sweep, _timelines, _unique

    wrong = move("d1", "c", "won", 20, 2, 5)  # d1 was in b, not c
    evs = _unique([EVENTS[0], wrong])
    sweep = _Sweep(
        list(DEALS), evs, _timelines(list(DEALS), evs, T0 + 30 * DAY), [T0 + 19 * DAY, T0 + 30 * DAY]
    )
    assert sweep.at(T0 + 19 * DAY) == as_of(DEALS, evs, now=T0 + 19 * DAY)
    with raises_problems(("opportunities[0].events[1].from_stage", "conflict")):
        sweep.at(T0 + 30 * DAY)
    backwards = _unique(list(reversed(EVENTS)))
    shuffled = [
        e if e.opportunity_id != "d1" else attrs.evolve(e, at=T0 + 40 * DAY - e.at + T0) for e in backwards
    ]
    lines = _timelines(list(DEALS), shuffled, T0 + 60 * DAY)
    sweep = _Sweep(list(DEALS), shuffled, lines, [T0 + 9 * DAY, T0 + 35 * DAY, T0 + 12 * DAY])
    assert sweep.general  # a deal out of time order: read the general way

    for now in (T0 + 9 * DAY, T0 + 35 * DAY, T0 + 12 * DAY):
        assert _outcome(lambda now=now: sweep.at(now)) == _outcome(
            lambda now=now: as_of(DEALS, shuffled, now=now)
        )
