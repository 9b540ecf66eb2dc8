"""Every argument of the forecasting API refuses a wrong value with its own path and code."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from test_shape import history
from three_stages import PIPE

from _problems import raises_problems
from funnelkit import CurrencyMismatchError, Money, Opportunity
from funnelkit.forecast import (
    absorbing_chain,
    against_targets,
    as_of,
    backtest,
    bias,
    calibration,
    category_rollup,
    chain_from_events,
    close_rates,
    diagnose,
    flow,
    funnel,
    kaplan_meier,
    pinball,
    shrink,
    simulate_revenue,
    wape,
    weighted_forecast,
    win_count,
    won_between,
)
from funnelkit.stages import Pipeline, Stage, default_pipeline

P = default_pipeline()
NOW = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
NAIVE = dt.datetime(2026, 1, 1)
DAY = dt.timedelta(days=1)
YEAR = {"start": dt.date(2026, 1, 1), "end": dt.date(2027, 1, 1)}
USD1 = {"a": Money.of("1", "USD")}
CNY_DEAL = Opportunity(
    id="o", customer_id="c", owner="ann", pipeline="default", stage="proposal", created_at=NOW,
    stage_entered_at=NOW, amount=Money.of("10", "CNY"),
)  # fmt: skip
TINY = Pipeline(
    key="tiny",
    label="Tiny",
    stages=[
        Stage(key="a", label="A", probability="0.5"),
        Stage(key="won", label="W", probability=1, outcome="won"),
        Stage(key="lost", label="L", probability=0, outcome="lost"),
    ],
)
ONE_DAY = [(NOW, NOW + DAY)]

CASES = [
    (lambda: diagnose([], "p", history=None), ("pipeline", "type")),
    (lambda: diagnose([], P, history=5), ("history", "type")),
    (lambda: diagnose(5, P, history=funnel([], [], P)), ("opportunities", "type")),
    (lambda: diagnose([], P, history=funnel([], [], P), thin=0), ("thin", "range")),
    (lambda: funnel([], [], 5), ("pipeline", "type")),
    (lambda: funnel(5, [], P), ("opportunities", "type")),
    (lambda: funnel(["x"], [], P), ("opportunities[0]", "type")),
    (lambda: funnel([], 5, P), ("events", "type")),
    (lambda: funnel([], ["x"], P), ("events[0]", "type")),
    (lambda: funnel([], [], P).merge(5), ("other", "type")),
    (lambda: calibration([], P, strength=-1), ("strength", "range")),
    (lambda: flow([], [], tz="Mars/X"), ("tz", "format")),
    (lambda: flow(["x"], []), ("opportunities[0]", "type")),
    (lambda: close_rates(5, [], P), ("opportunities", "type")),
    (lambda: close_rates(["x"], [], P), ("opportunities[0]", "type")),
    (lambda: close_rates([], [], 5), ("pipeline", "type")),
    (lambda: diagnose(["x"], PIPE, history=history([1, 1, 1], [1, 1, 1])), ("opportunities[0]", "type")),
    (lambda: diagnose([], P, history=funnel([CNY_DEAL], [], P)),
     ("history.stages['proposal']", "missing")),
    (lambda: flow([], [], period="year"), ("period", "choice")),
    (lambda: flow(5, []), ("opportunities", "type")),
    (lambda: calibration([], 5), ("pipeline", "type")),
    (lambda: as_of([], [], now=NAIVE), ("now", "timezone")),
    (lambda: as_of(5, [], now=NOW), ("opportunities", "type")),
    (lambda: as_of(["x"], [], now=NOW), ("opportunities[0]", "type")),
    (lambda: backtest([], [], cutoffs=[], forecast=5, currency="USD"), ("forecast", "type")),
    (lambda: backtest([], [], cutoffs=[], forecast=len, currency="USD", actual="x"), ("actual", "choice")),
    (lambda: backtest([], [], cutoffs=5, forecast=len, currency="USD"), ("cutoffs", "type")),
    (lambda: backtest([], [], cutoffs=[5], forecast=len, currency="USD"), ("cutoffs[0]", "type")),
    (lambda: backtest([], [], cutoffs=[(NAIVE, NOW)], forecast=len, currency="USD"), ("cutoffs[0][0]", "timezone")),
    (lambda: backtest([], [], cutoffs=[(NOW, NOW + DAY)], forecast=lambda d: 5, currency="USD"),
     ("forecast(cutoffs[0])", "callable")),
    (lambda: backtest([], [], cutoffs=[(NOW, NOW + DAY)], forecast=lambda d: {2: Money.of("1", "USD")}, currency="USD"),
     ("forecast(cutoffs[0])[2]", "callable")),
    (lambda: backtest([], [], cutoffs=[(NOW, NOW + DAY)], forecast=lambda d: {0.5: 3}, currency="USD"),
     ("forecast(cutoffs[0])[0.5]", "callable")),
    (lambda: wape([0], [1]), ("actuals", "range")),
    (lambda: bias([0], [1]), ("actuals", "range")),
    (lambda: against_targets([], P, targets=USD1, start=NOW, end=dt.date(2027, 1, 1)),
     ("start", "type")),
    (lambda: against_targets([], P, targets={"a": Money.of("-1", "USD")}, **YEAR), ("targets['a']", "range")),
    (lambda: against_targets([], P, targets={}, **YEAR), ("targets", "empty")),
    (lambda: against_targets([], P, targets=USD1, **YEAR).line("b"), ("owner", "reference")),
    (lambda: against_targets([], P, targets=USD1, **YEAR).merge(5), ("other", "type")),
    (lambda: weighted_forecast([], P, by=["colour"]),
     ("by[0]", "choice")),
    (lambda: weighted_forecast([], P, rates={"USD": 1}), ("rates", "missing")),
    (lambda: weighted_forecast([], P, rates={"USD": 1}, to_currency="usd"),
     ("to_currency", "format")),
    (lambda: weighted_forecast([], P, rates=[1], to_currency="USD"), ("rates", "type")),
    (lambda: weighted_forecast([], P, by=["owner"]).merge(5), ("other", "type")),
    (lambda: category_rollup(weighted_forecast([], P, by=["owner"])), ("forecast", "state")),
    (lambda: kaplan_meier([5]), ("observations[0]", "type")),
    (lambda: kaplan_meier(5), ("observations", "type")),
    (lambda: kaplan_meier([]), ("observations", "empty")),
    (lambda: kaplan_meier([(1, True), ("x", True)]), ("observations[1][0]", "type")),
    (lambda: kaplan_meier([(-1, True)]), ("observations[0][0]", "range")),
    (lambda: kaplan_meier([(1, True)]).merge(5), ("other", "type")),
    (lambda: win_count(["2"]), ("probabilities[0]", "range")),
    (lambda: win_count([None]), ("probabilities[0]", "type")),
    (lambda: win_count(5), ("probabilities", "type")),
    (lambda: win_count(["0.5"]).quantile("0.5"), ("q", "type")),
    (lambda: win_count(["0.5"]).quantile(True), ("q", "type")),
    (lambda: win_count(["0.5"]).quantile(float("nan")), ("q", "range")),
    (lambda: win_count(["0.5"]).quantile(1.01), ("q", "range")),
    (lambda: win_count(["0.5"]).cdf("1"), ("k", "type")),
    (lambda: win_count(["0.5"]).cdf(1.5), ("k", "type")),
    (lambda: win_count(["0.5"]).at_least(None), ("k", "type")),
    (lambda: win_count(["0.5"]).merge(5), ("other", "type")),
    (lambda: win_count(["0.5"]).quantile(0), ("q", "range")),
    (lambda: simulate_revenue([], trials=0, rng=1), ("trials", "range")),
    (lambda: simulate_revenue([], trials=1, rng="x"), ("rng", "type")),
    (lambda: simulate_revenue([5], trials=1, rng=1), ("deals[0]", "type")),
    (lambda: simulate_revenue(5, trials=1, rng=1), ("deals", "type")),
    (lambda: simulate_revenue([], trials=1, rng=1), ("deals", "empty")),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1.5")], trials=1, rng=1), ("deals[0][1]", "range")),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=True, rng=1), ("trials", "type")),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=1, rng=True), ("rng", "type")),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=4, rng=1).quantile("x"), ("q", "type")),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=4, rng=1).quantile(0), ("q", "range")),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=4, rng=1).probability_of_reaching(Money.of("1", "EUR")),
     ("target", "currency")),
    (lambda: absorbing_chain({}, absorbing=["w"]), ("matrix", "empty")),
    (lambda: absorbing_chain(5, absorbing=["w"]), ("matrix", "type")),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=["a", "w"]), ("absorbing", "conflict")),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=5), ("absorbing", "type")),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing="w"), ("absorbing", "type")),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=[["w"]]), ("absorbing[0]", "type")),
    (lambda: absorbing_chain({"a": 5}, absorbing=["w"]), ("matrix['a']", "type")),
    (lambda: absorbing_chain({"a": {}}, absorbing=["w"]), ("matrix['a']", "range")),
    (lambda: absorbing_chain({"a": {"w": "x"}}, absorbing=["w"]), ("matrix['a']['w']", "format")),
    (lambda: absorbing_chain({"a": {"w": None}}, absorbing=["w"]), ("matrix['a']['w']", "type")),
    (lambda: absorbing_chain({"a": {"w": float("inf")}}, absorbing=["w"]), ("matrix['a']['w']", "type")),
    (lambda: absorbing_chain({"a": {"w": "1/0"}}, absorbing=["w"]), ("matrix['a']['w']", "format")),
    (lambda: absorbing_chain({"a": {"w": 1, "z": 0}}, absorbing=["w"]), ("matrix['a']['z']", "reference")),
    (lambda: absorbing_chain({"a": {"w": "3/4"}}, absorbing=["w"]), ("matrix['a']", "range")),
    (lambda: absorbing_chain({"a": {"a": 1}}, absorbing=["w"]),
     ("matrix", "graph")),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=["w"]).probability("a", "x"), ("absorbed_in", "reference")),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=["w"]).probability("w", "w"), ("state", "reference")),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=["w"]).expected_steps("w"), ("state", "reference")),
    (lambda: chain_from_events([], 5), ("pipeline", "type")),
    (lambda: chain_from_events(5, P), ("events", "type")),
    (lambda: chain_from_events([5], P), ("events[0]", "type")),
    (lambda: chain_from_events([], P, smoothing=-1), ("smoothing", "range")),
    (lambda: chain_from_events([], P, smoothing="x"), ("smoothing", "format")),
    (lambda: chain_from_events([], P, smoothing=float("inf")), ("smoothing", "type")),
    (lambda: chain_from_events([], P, smoothing=0), ("events", "empty")),
    (lambda: weighted_forecast(5, P), ("opportunities", "type")),
    (lambda: weighted_forecast([], P, by=5), ("by", "type")),
    (lambda: weighted_forecast([CNY_DEAL, "x"], P), ("opportunities[1]", "type")),
    (lambda: weighted_forecast([], P, rates={"USD": 0}, to_currency="USD"), ("rates['USD']", "range")),
    (lambda: weighted_forecast([], P, rates={"USD": True}, to_currency="USD"), ("rates['USD']", "type")),
    (lambda: weighted_forecast([], P, rates={"USD": 1.5}, to_currency="USD"), ("rates['USD']", "type")),
    (lambda: weighted_forecast([CNY_DEAL], P, rates={"EUR": "2"}, to_currency="USD"), ("rates", "missing")),
    (lambda: weighted_forecast([], P, by=["tier"]), ("tiers", "missing")),
    (lambda: weighted_forecast([], P, tiers=5), ("tiers", "type")),
    (lambda: weighted_forecast([], P, tiers={"c": "Z"}), ("tiers['c']", "choice")),
    (lambda: weighted_forecast([], P, by=["owner"]).merge(weighted_forecast([], P, by=["stage"])), ("other.by", "conflict")),
    (lambda: against_targets(5, P, targets=USD1, **YEAR), ("opportunities", "type")),
    (lambda: against_targets([], P, targets=[1], **YEAR), ("targets", "type")),
    (lambda: against_targets([], P, targets={"a": 5}, **YEAR), ("targets['a']", "type")),
    (lambda: against_targets([], P, targets=USD1, **YEAR).merge(against_targets([], P, targets={"a": Money.of("2", "USD")}, **YEAR)),
     ("other.lines", "conflict")),
    (lambda: against_targets([], P, targets=USD1, **YEAR).merge(against_targets([], P, targets=USD1, start=dt.date(2026, 1, 2), end=YEAR["end"])),
     ("other.start", "conflict")),
    (lambda: funnel([], [], P).merge(funnel([], [], TINY)), ("other.pipeline", "conflict")),
    (lambda: against_targets([], P, targets=USD1, **YEAR).merge(against_targets([], P, targets=USD1, tz="Asia/Tokyo", **YEAR)),
     ("other.tz", "conflict")),
    (lambda: won_between(5, [], start=NOW, end=NOW), ("opportunities", "type")),
    (lambda: won_between([], [], start=NOW, end=NAIVE), ("end", "timezone")),
    (lambda: backtest(5, [], cutoffs=ONE_DAY, forecast=len, currency="USD"), ("opportunities", "type")),
    (lambda: backtest([], [], cutoffs=[(NOW, NAIVE)], forecast=len, currency="USD"), ("cutoffs[0][1]", "timezone")),
    (lambda: backtest([], [], cutoffs=[(NOW, NOW)], forecast=len, currency="USD"), ("cutoffs[0]", "order")),
    (lambda: backtest([], [], cutoffs=[], forecast=len, currency="USD"), ("cutoffs", "empty")),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {0: Money.of("1", "USD"), 0.5: Money.of("1", "USD")}, currency="USD"),
     ("forecast(cutoffs[0])[0]", "callable")),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {1: Money.of("1", "USD"), 0.5: Money.of("1", "USD")}, currency="USD"),
     ("forecast(cutoffs[0])[1]", "callable")),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {0.5: Money.of("1", "USD"), True: Money.of("1", "USD")}, currency="USD"),
     ("forecast(cutoffs[0])[True]", "callable")),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {}, currency="USD"), ("forecast(cutoffs[0])", "callable")),
    (lambda: pinball(0, [1], [1]), ("level", "range")),
    (lambda: pinball(1, [1], [1]), ("level", "range")),
    (lambda: pinball(True, [1], [1]), ("level", "type")),
    (lambda: wape([1], [1, 2]), ("forecasts", "conflict")),
    (lambda: bias([], []), ("forecasts", "empty")),
    (lambda: shrink(-1, 2, toward=Fraction(1, 2), strength=1), ("won", "range")),
    (lambda: shrink(1, -2, toward=Fraction(1, 2), strength=1), ("closed", "range")),
    (lambda: shrink(1, 2, toward=Fraction(1, 2), strength=-1), ("strength", "range")),
    (lambda: shrink(3, 2, toward=Fraction(1, 2), strength=1), ("won", "conflict")),
    (lambda: shrink(1, 2, toward=0.5, strength=1), ("toward", "type")),
    (lambda: shrink(1, 2, toward=Decimal("1.5"), strength=1), ("toward", "range")),
    (lambda: weighted_forecast([], 5), ("pipelines", "type")),
    (lambda: weighted_forecast([], {"default": 5}), ("pipelines['default']", "type")),
    (lambda: weighted_forecast([attrs.evolve(CNY_DEAL, pipeline="other")], P), ("opportunities[0].pipeline", "reference")),
    (lambda: weighted_forecast([attrs.evolve(CNY_DEAL, stage="nowhere")], P),
     ("opportunities[0].stage", "reference")),
    (lambda: wape(5, [1]), ("actuals", "type")),
    (lambda: wape("12", [1]), ("actuals", "type")),
    (lambda: wape([1], [1.5]), ("forecasts[0]", "type")),
]  # fmt: skip

CURRENCY_CASES = [
    (lambda: simulate_revenue([(Money.of("1", "USD"), 1), (Money.of("1", "EUR"), 1)], rng=1), "deals[1][0]: cannot simulate USD and EUR"),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: Money.of("1", "EUR"), currency="USD"), "forecast(cutoffs[0]): cannot score USD and EUR"),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {0.5: Money.of("1", "EUR")}, currency="USD"), "forecast(cutoffs[0])[0.5]: cannot score USD and EUR"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "expected"), CURRENCY_CASES, ids=[str(i) for i in range(len(CURRENCY_CASES))]
)
def test_currencies_are_never_mixed(call, expected):
    """Amounts in two currencies are refused, naming the operation and both currencies."""
    with pytest.raises(CurrencyMismatchError) as e:
        call()
    assert str(e.value) == f"{expected}: amounts are in different currencies; convert one of them first"


def test_every_bad_item_is_reported():
    """Problems in several items are all listed, not only the first."""
    with raises_problems(("deals[0]", "type"), ("deals[1][1]", "range"), ("deals[2]", "type")):
        simulate_revenue([5, (Money.of("1", "USD"), "2"), 6], rng=1)
    with raises_problems(("observations[1]", "type"), ("observations[2]", "type")):
        kaplan_meier([(1, True), 5, (2, "closed")])
    with raises_problems(
        ("matrix['a']", "type"), ("matrix['b']['a']", "range"), ("matrix['b']['won']", "range")
    ):
        absorbing_chain({"a": 5, "b": {"a": "3/2", "won": "-1/2"}}, absorbing=["won"])


@pytest.mark.parametrize(("call", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_argument_names_itself(call, expected):
    """The one problem names the argument and the kind of problem."""
    with raises_problems(expected):
        call()
