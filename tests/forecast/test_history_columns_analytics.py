"""funnel and the weighted backtest read a HistoryColumns' columns: held to the same calls on its events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import three_stages

from funnelkit import CurrencyMismatchError, Money, Opportunity, ValidationError
from funnelkit.forecast import (
    WeightedPipeline,
    backtest,
    chain_from_events,
    funnel,
    time_to_close,
    weighted_forecast,
)
from funnelkit.stages import HistoryColumns, events_from_history
from funnelkit.tables import OpportunityColumns, from_table, to_rows

np = pytest.importorskip("numpy")
pytest.importorskip("pandas")

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
PIPE = three_stages(a="0.25", b="0.4", c="0.675")  # probabilities whose products need rounding
OPEN = ["a", "b", "c"]
STATUS = {"won": "won", "lost": "lost"}
AMOUNTS = [None, "0", "100", "333.33", "1250.05", "99999.99", "12", "7.10"]


@st.composite
def companies(draw, *, currency="EUR"):
    """
    Deals walking through PIPE (back, forward, won, lost and reopened) as history rows, and the deals as
    they are now, created at or before their first row (a few have no row at all).
    """
    rows, opps = [], []
    for d in range(draw(st.integers(0, 8))):
        created = T0 + draw(st.integers(0, 200)) * HOUR
        at = created + draw(st.integers(0, 3)) * HOUR
        stage = draw(st.sampled_from(OPEN))
        moves = draw(st.integers(-1, 6))
        for m in range(moves + 1):
            if m:
                if stage == "won":  # no move leaves a win
                    break
                stage = draw(st.sampled_from([s for s in [*OPEN, "won", "lost"] if s != stage]))
                at += draw(st.integers(1, 120)) * HOUR
            reason = "price" if stage == "lost" else None
            rows.append({"opportunity_id": f"d{d}", "stage": stage, "at": at, "lost_reason": reason})
        amount = draw(st.sampled_from(AMOUNTS))
        status = STATUS.get(stage, "open")
        opps.append(
            Opportunity(
                id=f"d{d}",
                customer_id="c",
                owner=draw(st.sampled_from(["ann", "bob"])),
                pipeline="p",
                stage=stage,
                status=status,
                created_at=created,
                stage_entered_at=at if moves >= 0 else created,
                amount=None if amount is None else Money.of(amount, currency),
                lost_reason="price" if status == "lost" else None,
            )
        )
    opps = draw(st.permutations(opps))
    rows = draw(st.permutations([r for r in rows if r["opportunity_id"] in {o.id for o in opps}]))
    return opps, rows


def kept(opps, as_columns):
    """The deals as given, or kept as columns (read from their rows)."""
    if not as_columns:
        return opps
    rows = to_rows(opps)
    table = {name: [r[name] for r in rows] for name in rows[0]} if rows else {"id": []}
    deals = OpportunityColumns(table)
    assert list(deals) == list(opps)
    return deals


def outcome(fn, *args, **kwargs):
    """The result, or the error's type and problems."""
    try:
        return fn(*args, **kwargs)
    except (ValidationError, CurrencyMismatchError) as e:
        return type(e), [(p.path, p.code, p.message) for p in getattr(e, "problems", ())], str(e)


def cutoffs(draw):
    """Cut-offs over the drawn weeks, in any order, some repeated, each window one to four weeks."""
    starts = draw(st.lists(st.integers(0, 400), min_size=1, max_size=8))
    return [(T0 + s * HOUR, T0 + (s + draw(st.integers(1, 4)) * 168) * HOUR) for s in starts]


@settings(max_examples=80, deadline=None)
@given(companies(), st.booleans(), st.booleans())
def test_funnel_on_columns_is_funnel_on_events(company, frame, as_columns):
    """The same report from the columns as from the values they hold (history from a list or a frame)."""
    import pandas as pd

    opps, rows = company
    history = HistoryColumns(pd.DataFrame(rows) if frame and rows else rows, PIPE)
    expected = funnel(opps, tuple(history), PIPE)
    got = funnel(kept(opps, as_columns), history, PIPE)
    assert got == expected
    assert got.to_records() == expected.to_records()
    assert funnel(opps, history[::-1], PIPE) == expected  # out of order: sorted first


def test_funnel_of_another_pipelines_history_counts_no_moves():
    """A history of another pipeline holds none of this one's moves (as its events would be left out)."""
    rows = [
        {"opportunity_id": "d0", "stage": "contact", "at": T0},
        {"opportunity_id": "d0", "stage": "proposal", "at": T0 + HOUR},
    ]
    from funnelkit.stages import default_pipeline

    other = HistoryColumns(rows, default_pipeline())
    assert funnel([], other, PIPE) == funnel([], list(other), PIPE) == funnel([], [], PIPE)


@settings(max_examples=80, deadline=None)
@given(companies(), st.data(), st.sampled_from(["pipeline", "bookings"]), st.booleans())
def test_weighted_backtest_on_columns_is_the_general_one(company, data, actual, as_columns):
    """Every cut-off's open deals, forecast and actual (to the digit written), and scores, as on values."""
    opps, rows = company
    history = HistoryColumns(rows, PIPE)
    pairs = cutoffs(data.draw)
    forecast = WeightedPipeline(pipeline=PIPE, currency="EUR")
    told = []
    got = outcome(
        backtest, kept(opps, as_columns), history, cutoffs=pairs, forecast=forecast, currency="EUR",
        actual=actual, progress=lambda done, total: told.append((done, total)),
    )  # fmt: skip
    expected = outcome(
        backtest, opps, list(history), cutoffs=pairs, forecast=forecast, currency="EUR", actual=actual
    )
    assert got == expected
    if not isinstance(got, tuple):
        assert repr(got.rows) == repr(expected.rows)  # the same digits: 0 or 0.00, 100 or 100.00
        assert got.to_records() == expected.to_records()
        assert told == [(k + 1, len(pairs)) for k in range(len(pairs))]


def test_a_known_backtest_worked_by_hand():
    """Two deals over one cut-off: the open one weighted (a 25 %, c 67.5 %), the won one counted in full."""
    rows = [
        {"opportunity_id": "d1", "stage": "a", "at": T0},
        {"opportunity_id": "d1", "stage": "c", "at": T0 + 10 * HOUR},
        {"opportunity_id": "d1", "stage": "won", "at": T0 + 30 * HOUR},
        {"opportunity_id": "d2", "stage": "a", "at": T0 + HOUR},
    ]
    opps = [
        Opportunity(
            id="d1", customer_id="c", owner="ann", pipeline="p", stage="won", status="won", created_at=T0,
            stage_entered_at=T0 + 30 * HOUR, amount=Money.of("1000.01", "EUR"),
        ),
        Opportunity(
            id="d2", customer_id="c", owner="ann", pipeline="p", stage="a", created_at=T0 + HOUR,
            stage_entered_at=T0 + HOUR, amount=Money.of("10.02", "EUR"),
        ),
    ]  # fmt: skip
    history = HistoryColumns(rows, PIPE)
    forecast = WeightedPipeline(pipeline=PIPE, currency="EUR")
    result = backtest(
        opps, history, cutoffs=[(T0 + 20 * HOUR, T0 + 40 * HOUR)], forecast=forecast, currency="EUR"
    )
    (row,) = result.rows
    # d1 in c: 1000.01 x 0.675 = 675.006750 -> 675.01; d2 in a: 10.02 x 0.25 = 2.505 -> 2.50 (half-even)
    assert row.open_deals == 2
    assert row.forecast == Money.of("677.51", "EUR")
    assert row.actual == Money.of("1000.01", "EUR")  # d1 won within the window
    assert result.wape == Fraction(32250, 100001)  # |1000.01 - 677.51| / 1000.01


def test_fallbacks_give_the_general_paths_answer():
    """Another currency, a finer amount, a move before creation, a deal twice: the general path decides."""
    rows = [
        {"opportunity_id": "d1", "stage": "a", "at": T0},
        {"opportunity_id": "d1", "stage": "won", "at": T0 + 30 * HOUR},
    ]
    history = HistoryColumns(rows, PIPE)
    pairs = [(T0 + 20 * HOUR, T0 + 40 * HOUR)]

    def deal(**changes):
        values = {
            "id": "d1", "customer_id": "c", "owner": "ann", "pipeline": "p", "stage": "won", "status": "won",
            "created_at": T0, "stage_entered_at": T0 + 30 * HOUR, "amount": Money.of("5", "EUR"),
        }  # fmt: skip
        return Opportunity(**{**values, **changes})

    cases = [
        ([deal()], WeightedPipeline(pipeline=PIPE, currency="USD")),  # the forecaster's currency differs
        ([deal(amount=Money.of("5.125", "EUR"))], WeightedPipeline(pipeline=PIPE, currency="EUR")),
        ([deal(amount=Money.of("5", "USD"))], WeightedPipeline(pipeline=PIPE, currency="EUR")),
        ([deal(created_at=T0 + HOUR)], WeightedPipeline(pipeline=PIPE, currency="EUR")),  # moved before made
        ([deal(), deal()], WeightedPipeline(pipeline=PIPE, currency="EUR")),  # given twice
    ]
    for opps, forecast in cases:
        got = outcome(backtest, opps, history, cutoffs=pairs, forecast=forecast, currency="EUR")
        assert got == outcome(backtest, opps, list(history), cutoffs=pairs, forecast=forecast, currency="EUR")
    twice = outcome(backtest, [deal(), deal()], history, cutoffs=pairs, forecast=cases[0][1], currency="EUR")
    assert twice[1] == [("opportunities[1].id", "duplicate", "'d1' appears twice; give each deal once")]


def test_the_forecaster_alone_is_weighted_forecast():
    """WeightedPipeline(deals) is weighted_forecast(deals, by=()).total(currency), other currencies out."""
    deals = [
        Opportunity(
            id=f"d{i}", customer_id="c", owner="ann", pipeline="p", stage=stage, created_at=T0,
            stage_entered_at=T0, amount=Money.of(amount, currency),
        )
        for i, (stage, amount, currency) in enumerate(
            [("a", "10.02", "EUR"), ("c", "1000.01", "EUR"), ("b", "7", "USD")]
        )
    ]  # fmt: skip
    forecaster = WeightedPipeline(pipeline=PIPE, currency="EUR")
    assert (
        forecaster(deals) == weighted_forecast(deals, PIPE, by=()).total("EUR") == Money.of("677.51", "EUR")
    )
    assert WeightedPipeline(pipeline=PIPE, currency="USD")(deals) == Money.of("2.80", "USD")
    assert forecaster([]) == Money.zero("EUR")
    with pytest.raises(ValidationError) as info:
        WeightedPipeline(pipeline="p", currency="euro")  # type: ignore[arg-type]
    assert [(p.path, p.code) for p in info.value.problems] == [("pipeline", "type"), ("currency", "format")]


def test_the_notebook_company_backtest_matches():
    """The notebook benchmark's company: columns and events agree, and agree with the hand-written code."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    try:
        import bench_notebook as nb
    finally:
        sys.path.pop(0)
    deals, history = nb.company(1_000)
    opps = from_table(Opportunity, deals)
    table = OpportunityColumns(deals)
    assert tuple(table) == opps
    columns = HistoryColumns(history, nb.PIPELINE)
    assert tuple(columns) == events_from_history(history, nb.PIPELINE)
    pairs = [(t.to_pydatetime(), (t + nb.HORIZON).to_pydatetime()) for t in nb.CUTOFFS]
    forecast = WeightedPipeline(pipeline=nb.PIPELINE, currency=nb.CURRENCY)
    got = backtest(opps, columns, cutoffs=pairs, forecast=forecast, currency=nb.CURRENCY)
    assert got == backtest(opps, list(columns), cutoffs=pairs, forecast=forecast, currency=nb.CURRENCY)
    nb.check_backtest(got, nb.hand_backtest(deals, *nb.hand_history(deals, history)))
    assert got == backtest(table, columns, cutoffs=pairs, forecast=forecast, currency=nb.CURRENCY)
    assert funnel(opps, columns, nb.PIPELINE) == funnel(opps, list(columns), nb.PIPELINE)
    assert funnel(table, columns, nb.PIPELINE) == funnel(opps, list(columns), nb.PIPELINE)
    assert sum(r.open_deals for r in got.rows) > 0
    assert any(r.actual.amount > Decimal(0) for r in got.rows)


# --- found in review: each a case the paths once answered differently ----------------------------


@settings(max_examples=60, deadline=None)
@given(companies(), st.data(), st.sampled_from([2, -1, 3]))
def test_a_history_sliced_with_a_step_backtests_as_its_events(company, data, step):
    """Every other move (gaps in each chain) or the moves reversed: as the general path, refusals too."""
    opps, rows = company
    history = HistoryColumns(rows, PIPE)[::step]
    pairs = cutoffs(data.draw)
    forecast = WeightedPipeline(pipeline=PIPE, currency="EUR")
    got = outcome(backtest, opps, history, cutoffs=pairs, forecast=forecast, currency="EUR")
    assert got == outcome(backtest, opps, list(history), cutoffs=pairs, forecast=forecast, currency="EUR")


def test_probabilities_of_twenty_places_backtest_as_their_events():
    """A stage probability with 20 decimal places (the most a stage takes): the general path's answer."""
    pipe = three_stages(a="0.12345678901234567891")
    rows = [
        {"opportunity_id": "d1", "stage": "a", "at": T0},
        {"opportunity_id": "d1", "stage": "b", "at": T0 + HOUR},
    ]
    deal = Opportunity(
        id="d1", customer_id="c", owner="ann", pipeline="p", stage="b", created_at=T0,
        stage_entered_at=T0 + HOUR, amount=Money.of("100.05", "EUR"),
    )  # fmt: skip
    history = HistoryColumns(rows, pipe)
    forecast = WeightedPipeline(pipeline=pipe, currency="EUR")
    pairs = [(T0 + HOUR / 2, T0 + 10 * HOUR)]
    got = backtest([deal], history, cutoffs=pairs, forecast=forecast, currency="EUR")
    assert got == backtest([deal], list(history), cutoffs=pairs, forecast=forecast, currency="EUR")
    assert got.rows[0].forecast == Money.of("12.35", "EUR")  # 100.05 x 0.1234...: 12.3518... -> 12.35


def test_a_subclass_of_the_forecaster_forecasts_as_it_says():
    """A WeightedPipeline subclass with its own call is called, not replaced by the column sweep."""

    class Doubled(WeightedPipeline):
        def __call__(self, opportunities):
            return super().__call__(opportunities) * 2

    rows = [{"opportunity_id": "d1", "stage": "a", "at": T0}]
    deal = Opportunity(
        id="d1", customer_id="c", owner="ann", pipeline="p", stage="a", created_at=T0, stage_entered_at=T0,
        amount=Money.of("100", "EUR"),
    )  # fmt: skip
    pairs = [(T0 + HOUR, T0 + 2 * HOUR)]
    got = backtest(
        [deal],
        HistoryColumns(rows, PIPE),
        cutoffs=pairs,
        forecast=Doubled(pipeline=PIPE, currency="EUR"),
        currency="EUR",
    )
    assert got.rows[0].forecast == Money.of("50.00", "EUR")  # 100 x 0.25, doubled


def test_a_funnel_whose_times_pass_64_bits_is_counted_one_by_one():
    """Thirty open stages and a stay of 8,000 years: too wide for the columns, the same report by events."""
    from funnelkit.stages import Pipeline, Stage

    stages = [Stage(key=f"s{i}", label=f"S{i}", probability="0.5") for i in range(30)]
    stages += [
        Stage(key="won", label="W", probability=1, outcome="won"),
        Stage(key="lost", label="L", probability=0, outcome="lost"),
    ]
    pipe = Pipeline(key="p", label="P", stages=stages)
    rows = [
        {"opportunity_id": "o1", "stage": "s0", "at": dt.datetime(2, 1, 1, tzinfo=dt.UTC)},
        {"opportunity_id": "o1", "stage": "s1", "at": dt.datetime(9990, 1, 1, tzinfo=dt.UTC)},
    ]
    history = HistoryColumns(rows, pipe)
    report = funnel([], history, pipe)
    assert report == funnel([], list(history), pipe)
    assert report.stages[0].median_time == dt.datetime(9990, 1, 1) - dt.datetime(2, 1, 1)


@settings(max_examples=60, deadline=None)
@given(companies(), st.booleans(), st.sampled_from([None, 2, -1]))
def test_the_chain_and_times_to_close_read_columns_as_events(company, backward, step):
    """chain_from_events and time_to_close on the columns: the events' answer, refusals included."""
    opps, rows = company
    pipe = three_stages(a="0.25", b="0.4", c="0.675")
    if backward:
        pipe = attrs.evolve(pipe, allow_backward=True, allow_skip=True)
    history = HistoryColumns(rows, PIPE)[::step]
    events = list(history)
    assert outcome(chain_from_events, history, pipe) == outcome(chain_from_events, events, pipe)
    now = T0 + 1_000 * HOUR
    open_deals = [o for o in opps if o.stage_entered_at <= now]
    got = outcome(time_to_close, history, pipe, rng=5, trials=50, open_deals=open_deals, now=now)
    assert got == outcome(time_to_close, events, pipe, rng=5, trials=50, open_deals=open_deals, now=now)
