"""Regressions from the hostile-input battery: bounded cost, numbers never built huge, times of one kind."""

import datetime as dt
import decimal
import time
from decimal import Decimal
from fractions import Fraction

import pytest

from _problems import raises_problems
from funnelkit import Money
from funnelkit.errors import CurrencyMismatchError
from funnelkit.forecast import (
    RevenueDistribution,
    absorbing_chain,
    chain_from_events,
    kaplan_meier,
    simulate_revenue,
    wape,
    win_count,
)
from funnelkit.stages import default_pipeline


def test_win_count_refuses_more_than_its_limit_and_names_monte_carlo(monkeypatch):
    """Without numpy, past 20,000 probabilities the O(n^2) count is refused, naming numpy and Monte Carlo."""
    from funnelkit.forecast import _distributions

    monkeypatch.setattr(_distributions, "_numpy", lambda: None)
    with raises_problems(("probabilities", "limit")) as exc:
        win_count(["0.5"] * 20_001)
    assert "install numpy" in str(exc.value)
    assert "simulate_revenue" in str(exc.value)


def test_with_numpy_the_limit_is_the_fast_paths(monkeypatch):
    """With numpy the limit is MAX_WIN_COUNT_NUMPY (lowered here so the test reads few items)."""
    pytest.importorskip("numpy")
    from funnelkit.forecast import _distributions

    monkeypatch.setattr(_distributions, "MAX_WIN_COUNT_NUMPY", 25_000)
    assert len(win_count(["0.5"] * 25_000).pmf) == 25_001
    with raises_problems(("probabilities", "limit")) as exc:
        win_count(["0.5"] * 25_001)
    assert "install numpy" not in str(exc.value)


def test_simulate_revenue_limits_trials_and_deal_trials():
    """At most 10**6 trials and 10**7 deal-trials: 100,000 deals x 200 trials is refused at once."""
    deal = (Money.of("10", "USD"), "0.5")
    with raises_problems(("trials", "range")):
        simulate_revenue([deal], trials=10**12, rng=1)
    started = time.monotonic()
    with raises_problems(("deals", "limit")):
        simulate_revenue([deal] * 100_000, trials=200, rng=1)
    assert time.monotonic() - started < 1


def test_simulate_revenue_currency_mismatch_names_the_deal():
    """A deal in another currency is named by its index and field."""
    with pytest.raises(CurrencyMismatchError) as e:
        simulate_revenue([(Money.of("1", "USD"), 1), (Money.of("1", "EUR"), 1)], rng=1)
    assert e.value.path == "deals[1][0]"
    assert str(e.value).startswith("deals[1][0]: cannot simulate USD and EUR")


def test_absorbing_chain_limits_the_transient_states():
    """The exact inverse is O(n^3) on fractions: exact=True refuses more than 40 transient states."""
    matrix = {f"s{i}": {"won": 1} for i in range(41)}
    with raises_problems(("matrix", "limit")):
        absorbing_chain(matrix, absorbing=["won"], exact=True)
    assert absorbing_chain(matrix, absorbing=["won"]).probability("s40", "won") == 1  # floats by default


@pytest.mark.parametrize("huge", ["1e999999999", "1e-999999999", Decimal("1e999999999"), "9" * 5000, "1/0"])
def test_huge_numbers_are_refused_before_they_are_built(huge):
    """A probability or smoothing like '1e999999999' is refused fast, never turned into a huge Fraction."""
    started = time.monotonic()
    code = "format" if isinstance(huge, str) else "type"
    with raises_problems(("smoothing", code)):
        chain_from_events([], default_pipeline(), smoothing=huge)
    with raises_problems(("matrix['a']['won']", code)):
        absorbing_chain({"a": {"won": huge}}, absorbing=["won"])
    assert time.monotonic() - started < 1


def test_kaplan_meier_times_are_real_numbers_or_timedeltas():
    """A NaN time no longer loops forever; strings and mixed kinds are refused naming the observation."""
    with raises_problems(("observations[1][0]", "type")):
        kaplan_meier([(1, True), (float("nan"), True)])
    with raises_problems(("observations[0][0]", "type"), ("observations[1][0]", "type")):
        kaplan_meier([("10", True), ("9", True)])
    with raises_problems(("observations[1][0]", "conflict")):
        kaplan_meier([(dt.timedelta(days=1), True), (2, True)])
    km = kaplan_meier([(1, True), (Fraction(3, 2), False), (Decimal("2.5"), True), (3.0, False)])
    assert km.survival(2) == Fraction(3, 4)


def test_survival_time_must_be_of_the_observed_kind():
    """survival('x') is a ValidationError naming time, not a TypeError."""
    km = kaplan_meier([(1, True), (2, False)])
    with raises_problems(("time", "type")):
        km.survival("x")
    with raises_problems(("time", "type")):
        km.survival(dt.timedelta(days=1))


def test_scores_do_not_depend_on_the_callers_context():
    """wape and the mean of a simulation are the same under a three-digit, round-down context."""
    actuals, forecasts = [Decimal("1234.5"), Decimal(200)], [Decimal("1000.25"), Decimal(260)]
    dist = RevenueDistribution(currency="USD", outcomes=(Decimal("1234.56"), Decimal("99.99")))
    plain = (wape(actuals, forecasts), dist.mean)
    context = decimal.Context(prec=3, rounding=decimal.ROUND_DOWN, Emax=3, Emin=-3, traps=[decimal.Overflow])
    with decimal.localcontext(context):
        assert (wape(actuals, forecasts), dist.mean) == plain
