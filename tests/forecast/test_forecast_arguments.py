"""Every argument of the forecasting API refuses a wrong value with its own path and message."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from test_shape import history
from three_stages import PIPE

from funnelkit import CurrencyMismatchError, Money, Opportunity, ValidationError
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
IS_NAIVE = (
    "datetime.datetime(2026, 1, 1, 0, 0) is naive; expected a timezone-aware datetime (attach a tzinfo, "
    "e.g. datetime.timezone.utc or zoneinfo.ZoneInfo('Asia/Shanghai'))"
)
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
    (lambda: diagnose([], "p", history=None), "pipeline: 'p' is a str; expected a Pipeline"),
    (lambda: diagnose([], P, history=5), "history: 5 is an int; expected a FunnelReport"),
    (lambda: diagnose(5, P, history=funnel([], [], P)), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: diagnose([], P, history=funnel([], [], P), thin=0), "thin: 0 is not a positive number"),
    (lambda: funnel([], [], 5), "pipeline: 5 is an int; expected a Pipeline"),
    (lambda: funnel(5, [], P), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: funnel(["x"], [], P), "opportunities[0]: 'x' is a str; expected an Opportunity"),
    (lambda: funnel([], 5, P), "events: 5 is not an iterable of StageChanged"),
    (lambda: funnel([], ["x"], P), "events[0]: 'x' is a str; expected a StageChanged"),
    (lambda: funnel([], [], P).merge(5), "other: 5 is an int; expected a FunnelReport"),
    (lambda: calibration([], P, strength=-1), "strength: -1 is negative; expected an int >= 0"),
    (lambda: flow([], [], tz="Mars/X"), "tz: 'Mars/X' is not a tzinfo or a known IANA zone name"),
    (lambda: flow(["x"], []), "opportunities[0]: 'x' is a str; expected an Opportunity"),
    (lambda: close_rates(5, [], P), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: close_rates(["x"], [], P), "opportunities[0]: 'x' is a str; expected an Opportunity"),
    (lambda: close_rates([], [], 5), "pipeline: 5 is an int; expected a Pipeline"),
    (lambda: diagnose(["x"], PIPE, history=history([1, 1, 1], [1, 1, 1])), "opportunities[0]: 'x' is a str; expected an Opportunity"),
    (lambda: diagnose([], P, history=funnel([CNY_DEAL], [], P)),
     "history.stages['proposal']: 1 deal entered but none has left yet; the time in it cannot be estimated"),
    (lambda: flow([], [], period="year"), "period: 'year' is not a period; allowed: day, week, month"),
    (lambda: flow(5, []), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: calibration([], 5), "pipeline: 5 is an int; expected a Pipeline"),
    (lambda: as_of([], [], NAIVE), f"when: {IS_NAIVE}"),
    (lambda: as_of(5, [], NOW), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: as_of(["x"], [], NOW), "opportunities[0]: 'x' is a str; expected an Opportunity"),
    (lambda: backtest([], [], cutoffs=[], forecast=5, currency="USD"), "forecast: 5 is an int; expected a function of the open deals"),
    (lambda: backtest([], [], cutoffs=[], forecast=len, currency="USD", actual="x"), "actual: 'x' is not 'pipeline' or 'bookings'"),
    (lambda: backtest([], [], cutoffs=5, forecast=len, currency="USD"), "cutoffs: 5 is not a list of (as_of, until) pairs"),
    (lambda: backtest([], [], cutoffs=[5], forecast=len, currency="USD"), "cutoffs[0]: 5 is not an (as_of, until) pair"),
    (lambda: backtest([], [], cutoffs=[(NAIVE, NOW)], forecast=len, currency="USD"), f"cutoffs[0][0]: {IS_NAIVE}"),
    (lambda: backtest([], [], cutoffs=[(NOW, NOW + DAY)], forecast=lambda d: 5, currency="USD"),
     "forecast(cutoffs[0]): 5 is neither Money nor a mapping of quantile level to Money"),
    (lambda: backtest([], [], cutoffs=[(NOW, NOW + DAY)], forecast=lambda d: {2: Money.of("1", "USD")}, currency="USD"),
     "forecast(cutoffs[0])[2]: the key is not a quantile level in (0, 1)"),
    (lambda: backtest([], [], cutoffs=[(NOW, NOW + DAY)], forecast=lambda d: {0.5: 3}, currency="USD"),
     "forecast(cutoffs[0])[0.5]: 3 is not Money"),
    (lambda: wape([0], [1]), "actuals: all zero; WAPE is undefined"),
    (lambda: bias([0], [1]), "actuals: sum to zero; the relative bias is undefined"),
    (lambda: against_targets([], P, targets=USD1, start=NOW, end=dt.date(2027, 1, 1)),
     "start: datetime.datetime(2026, 11, 25, 9, 0, tzinfo=datetime.timezone.utc) is a datetime; expected a datetime.date"),
    (lambda: against_targets([], P, targets={"a": Money.of("-1", "USD")}, **YEAR), "targets['a']: Money('-1', 'USD') is not Money >= 0"),
    (lambda: against_targets([], P, targets={}, **YEAR), "targets: {} is not a non-empty mapping of owner to Money"),
    (lambda: against_targets([], P, targets=USD1, **YEAR).line("b"), "owner: 'b' has no target in this report"),
    (lambda: against_targets([], P, targets=USD1, **YEAR).merge(5), "other: 5 is an int; expected a TargetReport"),
    (lambda: weighted_forecast([], P, by=["colour"]),
     "by[0]: 'colour' is not a dimension; allowed: owner, stage, category, pipeline, month, quarter, customer, tier"),
    (lambda: weighted_forecast([], P, rates={"USD": 1}), "rates: rates and to_currency go together"),
    (lambda: weighted_forecast([], P, rates={"USD": 1}, to_currency="usd"),
     "to_currency: 'usd' is not an ISO 4217 code (three upper-case letters, e.g. 'USD')"),
    (lambda: weighted_forecast([], P, rates=[1], to_currency="USD"), "rates: [1] is not a mapping of currency to rate"),
    (lambda: weighted_forecast([], P, by=["owner"]).merge(5), "other: 5 is an int; expected a WeightedForecast"),
    (lambda: category_rollup(weighted_forecast([], P, by=["owner"])), "forecast: group the forecast by 'category' first"),
    (lambda: kaplan_meier([5]), "observations[0]: 5 is not a (time, closed) pair"),
    (lambda: kaplan_meier(5), "observations: 5 is not an iterable of (time, closed) pairs"),
    (lambda: kaplan_meier([]), "observations: no observations"),
    (lambda: kaplan_meier([(1, True), ("x", True)]), "observations[1][0]: 'x' is a str; a time is a real number (int, Fraction, Decimal or finite float) or a timedelta"),
    (lambda: kaplan_meier([(-1, True)]), "observations[0][0]: -1 is negative"),
    (lambda: kaplan_meier([(1, True)]).merge(5), "other: 5 is an int; expected a KaplanMeier"),
    (lambda: win_count(["2"]), "probabilities[0]: 2 is outside [0, 1]; a probability must lie in [0, 1]"),
    (lambda: win_count([None]), "probabilities[0]: None is a NoneType; expected a Decimal in [0, 1]"),
    (lambda: win_count(5), "probabilities: 5 is not an iterable of probabilities"),
    (lambda: win_count(["0.5"]).quantile("0.5"), "q: '0.5' is not a number in (0, 1]"),
    (lambda: win_count(["0.5"]).quantile(True), "q: True is not a number in (0, 1]"),
    (lambda: win_count(["0.5"]).quantile(float("nan")), "q: nan is outside (0, 1]"),
    (lambda: win_count(["0.5"]).quantile(1.01), "q: 1.01 is outside (0, 1]"),
    (lambda: win_count(["0.5"]).cdf("1"), "k: '1' is not an int"),
    (lambda: win_count(["0.5"]).cdf(1.5), "k: 1.5 is not an int"),
    (lambda: win_count(["0.5"]).at_least(None), "k: None is not an int"),
    (lambda: win_count(["0.5"]).merge(5), "other: 5 is an int; expected a WinCount"),
    (lambda: win_count(["0.5"]).quantile(0), "q: 0 is outside (0, 1]"),
    (lambda: simulate_revenue([], trials=0, rng=1), "trials: 0 is not an int from 1 to 1,000,000"),
    (lambda: simulate_revenue([], trials=1, rng="x"), "rng: 'x' is not a random.Random or an int seed"),
    (lambda: simulate_revenue([5], trials=1, rng=1), "deals[0]: 5 is not a (Money, probability) pair"),
    (lambda: simulate_revenue(5, trials=1, rng=1), "deals: 5 is not an iterable of (Money, probability) pairs"),
    (lambda: simulate_revenue([], trials=1, rng=1), "deals: no deals to simulate"),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1.5")], trials=1, rng=1), "deals[0][1]: 1.5 is outside [0, 1]; a probability must lie in [0, 1]"),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=True, rng=1), "trials: True is not an int from 1 to 1,000,000"),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=1, rng=True), "rng: True is not a random.Random or an int seed"),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=4, rng=1).quantile("x"), "q: 'x' is not a number in (0, 1]"),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=4, rng=1).quantile(0), "q: 0 is outside (0, 1]"),
    (lambda: simulate_revenue([(Money.of("1", "USD"), "1")], trials=4, rng=1).probability_of_reaching(Money.of("1", "EUR")),
     "target: Money('1', 'EUR') is not Money in USD"),
    (lambda: absorbing_chain({}, absorbing=["w"]), "matrix: {} is not a non-empty mapping of state to row"),
    (lambda: absorbing_chain(5, absorbing=["w"]), "matrix: 5 is not a non-empty mapping of state to row"),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=["a", "w"]), "absorbing: ['a'] are also transient"),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=5), "absorbing: 5 is not a sequence of state names"),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing="w"), "absorbing: 'w' is not a sequence of state names"),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=[["w"]]), "absorbing[0]: ['w'] is not a state name (a str)"),
    (lambda: absorbing_chain({"a": 5}, absorbing=["w"]), "matrix['a']: 5 is not a mapping"),
    (lambda: absorbing_chain({"a": {}}, absorbing=["w"]), "matrix['a']: sums to 0, not 1"),
    (lambda: absorbing_chain({"a": {"w": "x"}}, absorbing=["w"]), "matrix['a']['w']: 'x' is not a probability (a Fraction, int, Decimal, float or str like '1/3')"),
    (lambda: absorbing_chain({"a": {"w": None}}, absorbing=["w"]), "matrix['a']['w']: None is not a probability (a Fraction, int, Decimal, float or str like '1/3')"),
    (lambda: absorbing_chain({"a": {"w": float("inf")}}, absorbing=["w"]), "matrix['a']['w']: inf is not a probability (a Fraction, int, Decimal, float or str like '1/3')"),
    (lambda: absorbing_chain({"a": {"w": "1/0"}}, absorbing=["w"]), "matrix['a']['w']: '1/0' is not a probability (a Fraction, int, Decimal, float or str like '1/3')"),
    (lambda: absorbing_chain({"a": {"w": 1, "z": 0}}, absorbing=["w"]), "matrix['a']['z']: 'z' is not a state"),
    (lambda: absorbing_chain({"a": {"w": "3/4"}}, absorbing=["w"]), "matrix['a']: sums to 3/4, not 1"),
    (lambda: absorbing_chain({"a": {"a": 1}}, absorbing=["w"]),
     "matrix: I - Q is singular: some transient state never reaches an absorbing one"),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=["w"]).probability("a", "x"), "absorbed_in: 'x' is not an absorbing state; allowed: 'w'"),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=["w"]).probability("w", "w"), "state: 'w' is not a transient state; allowed: 'a'"),
    (lambda: absorbing_chain({"a": {"w": 1}}, absorbing=["w"]).expected_steps("w"), "state: 'w' is not a transient state; allowed: 'a'"),
    (lambda: chain_from_events([], 5), "pipeline: 5 is an int; expected a Pipeline"),
    (lambda: chain_from_events(5, P), "events: 5 is not an iterable of StageChanged"),
    (lambda: chain_from_events([5], P), "events[0]: 5 is an int; expected a StageChanged"),
    (lambda: chain_from_events([], P, smoothing=-1), "smoothing: -1 is not a number from 0 to 1,000,000"),
    (lambda: chain_from_events([], P, smoothing="x"), "smoothing: 'x' is not a number from 0 to 1,000,000"),
    (lambda: chain_from_events([], P, smoothing=float("inf")), "smoothing: inf is not a number from 0 to 1,000,000"),
    (lambda: chain_from_events([], P, smoothing=0), "events: no move out of 'contact' was observed; use smoothing > 0"),
    (lambda: weighted_forecast(5, P), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: weighted_forecast([], P, by=5), "by: 5 is not a list of dimensions; allowed: owner, stage, category, pipeline, month, quarter, customer, tier"),
    (lambda: weighted_forecast([CNY_DEAL, "x"], P), "opportunities[1]: 'x' is a str; expected an Opportunity"),
    (lambda: weighted_forecast([], P, rates={"USD": 0}, to_currency="USD"), "rates['USD']: 0 is not a rate > 0"),
    (lambda: weighted_forecast([], P, rates={"USD": True}, to_currency="USD"), "rates['USD']: True is not a rate > 0"),
    (lambda: weighted_forecast([], P, rates={"USD": 1.5}, to_currency="USD"), "rates['USD']: 1.5 is not a rate > 0"),
    (lambda: weighted_forecast([CNY_DEAL], P, rates={"EUR": "2"}, to_currency="USD"), "rates: no rate for CNY (opportunities[0]); every currency needs a rate"),
    (lambda: weighted_forecast([], P, by=["tier"]), "tiers: None; grouping by 'tier' needs tiers= (customer id -> tier)"),
    (lambda: weighted_forecast([], P, tiers=5), "tiers: 5 is not a mapping of customer id to tier"),
    (lambda: weighted_forecast([], P, tiers={"c": "Z"}), "tiers['c']: 'Z' is not a tier; allowed: A, B, C"),
    (lambda: weighted_forecast([], P, by=["owner"]).merge(weighted_forecast([], P, by=["stage"])), "other.by: ['stage'] is not the grouping of this forecast (['owner'])"),
    (lambda: against_targets(5, P, targets=USD1, **YEAR), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: against_targets([], P, targets=[1], **YEAR), "targets: [1] is not a non-empty mapping of owner to Money"),
    (lambda: against_targets([], P, targets={"a": 5}, **YEAR), "targets['a']: 5 is not Money >= 0"),
    (lambda: against_targets([], P, targets=USD1, **YEAR).merge(against_targets([], P, targets={"a": Money.of("2", "USD")}, **YEAR)),
     "other: a report over another period or other targets"),
    (lambda: against_targets([], P, targets=USD1, **YEAR).merge(against_targets([], P, targets=USD1, start=dt.date(2026, 1, 2), end=YEAR["end"])),
     "other: a report over another period or other targets"),
    (lambda: funnel([], [], P).merge(funnel([], [], TINY)), "other: 'tiny' is not the pipeline of this report ('default')"),
    (lambda: won_between(5, [], NOW, NOW), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: won_between([], [], NOW, NAIVE), f"end: {IS_NAIVE}"),
    (lambda: backtest(5, [], cutoffs=ONE_DAY, forecast=len, currency="USD"), "opportunities: 5 is not an iterable of Opportunity"),
    (lambda: backtest([], [], cutoffs=[(NOW, NAIVE)], forecast=len, currency="USD"), f"cutoffs[0][1]: {IS_NAIVE}"),
    (lambda: backtest([], [], cutoffs=[(NOW, NOW)], forecast=len, currency="USD"), "cutoffs[0]: until 2026-11-25T09:00:00+00:00 is not after as_of"),
    (lambda: backtest([], [], cutoffs=[], forecast=len, currency="USD"), "cutoffs: empty; give at least one (as_of, until) pair"),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {0: Money.of("1", "USD"), 0.5: Money.of("1", "USD")}, currency="USD"),
     "forecast(cutoffs[0])[0]: the key is not a quantile level in (0, 1)"),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {1: Money.of("1", "USD"), 0.5: Money.of("1", "USD")}, currency="USD"),
     "forecast(cutoffs[0])[1]: the key is not a quantile level in (0, 1)"),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {0.5: Money.of("1", "USD"), True: Money.of("1", "USD")}, currency="USD"),
     "forecast(cutoffs[0])[True]: the key is not a quantile level in (0, 1)"),
    (lambda: backtest([], [], cutoffs=ONE_DAY, forecast=lambda d: {}, currency="USD"), "forecast(cutoffs[0]): {} is neither Money nor a mapping of quantile level to Money"),
    (lambda: pinball(0, [1], [1]), "level: 0 is not a quantile level in (0, 1)"),
    (lambda: pinball(1, [1], [1]), "level: 1 is not a quantile level in (0, 1)"),
    (lambda: pinball(True, [1], [1]), "level: True is not a quantile level in (0, 1)"),
    (lambda: wape([1], [1, 2]), "forecasts: 1 actuals and 2 forecasts; give as many of each, at least one"),
    (lambda: bias([], []), "forecasts: 0 actuals and 0 forecasts; give as many of each, at least one"),
    (lambda: shrink(-1, 2, toward=Fraction(1, 2), strength=1), "won: -1 is negative; expected an int >= 0"),
    (lambda: shrink(1, -2, toward=Fraction(1, 2), strength=1), "closed: -2 is negative; expected an int >= 0"),
    (lambda: shrink(1, 2, toward=Fraction(1, 2), strength=-1), "strength: -1 is negative; expected an int >= 0"),
    (lambda: shrink(3, 2, toward=Fraction(1, 2), strength=1), "won: 3 is more than closed (2)"),
    (lambda: shrink(1, 2, toward=0.5, strength=1), "toward: 0.5 is not a rate in [0, 1]"),
    (lambda: shrink(1, 2, toward=Decimal("1.5"), strength=1), "toward: 1.5 is not a rate in [0, 1]"),
    (lambda: weighted_forecast([], 5), "pipelines: 5 is not a Pipeline or a mapping of key to Pipeline"),
    (lambda: weighted_forecast([], {"default": 5}), "pipelines['default']: 5 is an int; expected a Pipeline"),
    (lambda: weighted_forecast([attrs.evolve(CNY_DEAL, pipeline="other")], P), "opportunities[0].pipeline: 'other' is not among the pipelines given"),
    (lambda: weighted_forecast([attrs.evolve(CNY_DEAL, stage="nowhere")], P),
     "opportunities[0].stage: 'nowhere' is not a stage of pipeline 'default'; stages: 'contact', 'needs_confirmed', "
     "'proposal', 'approved', 'shortlisted', 'selected', 'negotiation', 'won', 'lost'"),
    (lambda: wape(5, [1]), "actuals: 5 is not a sequence of amounts"),
    (lambda: wape("12", [1]), "actuals: '12' is not a sequence of amounts"),
    (lambda: wape([1], [1.5]), "forecasts[0]: 1.5 is not a finite Decimal, int or Money"),
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
    with pytest.raises(ValidationError) as e:
        simulate_revenue([5, (Money.of("1", "USD"), "2"), 6], rng=1)
    assert [str(p) for p in e.value.problems] == [
        "deals[0]: 5 is not a (Money, probability) pair",
        "deals[1][1]: 2 is outside [0, 1]; a probability must lie in [0, 1]",
        "deals[2]: 6 is not a (Money, probability) pair",
    ]
    with pytest.raises(ValidationError) as e:
        kaplan_meier([(1, True), 5, (2, "closed")])
    assert [str(p) for p in e.value.problems] == [
        "observations[1]: 5 is not a (time, closed) pair",
        "observations[2]: (2, 'closed') is not a (time, closed) pair",
    ]
    with pytest.raises(ValidationError) as e:
        absorbing_chain({"a": 5, "b": {"a": "3/2", "won": "-1/2"}}, absorbing=["won"])
    assert [str(p) for p in e.value.problems] == [
        "matrix['a']: 5 is not a mapping",
        "matrix['b']['a']: 3/2 is outside [0, 1]",
        "matrix['b']['won']: -1/2 is outside [0, 1]",
    ]


@pytest.mark.parametrize(("call", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_argument_names_itself(call, expected):
    """The one problem names the argument, the value and what is allowed."""
    with pytest.raises(ValidationError) as e:
        call()
    assert [str(p) for p in e.value.problems] == [expected]
