"""expected_bookings and compare_forecasts on simulated companies whose true process is known."""

import datetime as dt
import functools
import math

from funnelkit.forecast import as_of, compare_forecasts, expected_bookings
from funnelkit.forecast._bookings import _Known
from funnelkit.simulation import simulate_company
from funnelkit.stages import StageChanged

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@functools.cache
def company(seed=11, per_day=4.0, days=3 * 365):
    """A stationary company: 4 deals a day, no season, the default stages and chances."""
    return simulate_company(seed=seed, start=START, days=days, deals_per_day=per_day)


def known_at(co, now):
    """What the history told at *now*: the deals as they stood and the chain learned from them."""
    deals = list(as_of(co.opportunities, co.events, now=now))
    events = [e for e in co.events if e.at <= now]
    return deals, events, _Known(deals, events, co.pipeline, now, dt.timedelta(days=365), None)


def test_the_chain_recovers_each_stages_chance_of_winning():
    """
    The chain learned from three years finds each stage's true chance of ever winning, within four
    standard errors sqrt(p (1 - p) / n) for the n deals that entered the stage.
    """
    co = company()
    _, events, known = known_at(co, co.end)
    entered = dict.fromkeys(co.truth.stages, 0)
    entered[co.truth.stages[0]] = len(co.opportunities)
    for e in events:
        if isinstance(e, StageChanged) and e.to_stage in entered:
            entered[e.to_stage] += 1
    for stage in co.truth.stages:
        p, n = co.truth.p_won(stage), entered[stage]
        assert abs(known.chain.eventual(stage, 0.0) - p) <= 4 * math.sqrt(p * (1 - p) / n), stage


def test_generation_recovers_the_amount_created_a_day():
    """
    Over a year, the amount created a day is 4 deals times the lognormal mean, within four standard
    errors of a compound Poisson sum: sqrt(365 * 4 * E[X^2]) / 365, E[X^2] = median^2 exp(2 sigma^2).
    """
    co = company()
    _, _, known = known_at(co, START + 730 * DAY)
    truth = co.truth
    expected = truth.deals_per_day * truth.mean_amount
    second_moment = float(truth.amount_median.amount) ** 2 * math.exp(2 * truth.amount_sigma**2)
    se = math.sqrt(365 * truth.deals_per_day * second_moment) / 365
    assert abs(float(known.created_per_day()["USD"]) - expected) <= 4 * se


def test_the_open_deals_chances_in_a_period_are_calibrated():
    """
    Over ten 30-day periods, the open deals' summed chances of being won inside the period match the
    number that were, within four standard errors sqrt(sum p (1 - p)) (independent Bernoulli trials).
    """
    co = company()
    expected = variance = won = 0.0
    for k in range(10):
        now = START + (400 + 60 * k) * DAY
        deals, events, _ = known_at(co, now)
        report = expected_bookings(
            deals, events, co.pipeline, start=now, end=now + 30 * DAY, now=now, backtests=0
        )
        later = {o.id: o for o in as_of(co.opportunities, co.events, now=now + 30 * DAY)}
        for d in report.deals:
            o = later[d.opportunity_id]
            expected += d.p_won_within
            variance += d.p_won_within * (1 - d.p_won_within)
            won += o.status.value == "won" and now <= o.stage_entered_at < now + 30 * DAY
    assert abs(won - expected) <= 4 * math.sqrt(variance)
    assert won > 100  # the check has power: a hundred wins and more


def test_the_run_rate_recovers_the_steady_bookings():
    """
    In the steady state (after a year) a quarter books about 91 * 4 deals * p_won(first stage) * the
    mean amount; the run rate's three quarters average it within four standard errors of the compound
    Poisson sum of 3 quarters.
    """
    co = company()
    now = START + 800 * DAY
    deals, events, _ = known_at(co, now)
    report = expected_bookings(
        deals, events, co.pipeline, start=now, end=now + 91 * DAY, now=now, backtests=0, season=None
    )
    truth = co.truth
    p = truth.p_won(truth.stages[0])
    expected = 91 * truth.deals_per_day * p * truth.mean_amount
    second_moment = float(truth.amount_median.amount) ** 2 * math.exp(2 * truth.amount_sigma**2)
    se = math.sqrt(3 * 91 * truth.deals_per_day * p * second_moment) / 3
    assert abs(float(report.component("run_rate", "USD").amount) - expected) <= 4 * se


def test_on_steady_companies_the_timing_methods_beat_the_naive_ones():
    """
    Quarterly cut-offs over a year on three companies, their errors pooled: the methods that know when
    deals close beat the weighted pipeline by far; the combination beats the weighted, calibrated,
    timing-only and run-rate forecasts and stays within a third of the bottom-up one, which is the true
    model of a steady company (so nothing beats it there but by chance: on single companies either
    it or the run rate wins); the 10-90 % interval holds the actual at least 80 % of the time.
    """
    errors: dict[str, float] = {}
    booked = covered = intervals = 0.0
    for seed in (1, 2, 3):
        co = company(seed=seed, per_day=3.0)
        starts = [START + (400 + 60 * k) * DAY for k in range(6)]
        report = compare_forecasts(
            co.opportunities,
            co.events,
            co.pipeline,
            cutoffs=[(s, s + 91 * DAY) for s in starts],
            currency="USD",
            backtests=8,
        )
        for row in report.rows:
            errors[row.method] = errors.get(row.method, 0.0) + abs(
                float(row.forecast.amount - row.actual.amount)
            )
            if row.method == "combined":
                booked += float(row.actual.amount)
                intervals += 1
                covered += row.p10 is not None and row.p90 is not None and row.p10 <= row.actual <= row.p90
        assert report.to_svg().startswith("<svg")
    wape = {method: error / booked for method, error in errors.items()}
    assert wape["timing_generation"] < wape["weighted"] / 2
    for method in ("weighted", "calibrated", "timing", "run_rate"):
        assert wape["combined"] < wape[method], method
    assert wape["combined"] <= wape["timing_generation"] * 4 / 3
    assert covered / intervals >= 0.8  # at least as often as it says (17 of 18 when measured)


#: After day 800 every stage moves forward less often (the process changed under the forecast).
WORSE = {"lead": 0.35, "qualified": 0.45, "proposal": 0.45, "negotiation": 0.55}


def test_where_the_model_is_wrong_the_combination_beats_its_parts():
    """
    Two companies whose large deals win less often than small ones (size effect 1: a deal twice the
    median has its odds of moving forward halved at each stage), and whose chances fall after day
    800: the chain counts deals, not money, and learned the old process, so the bottom-up forecast
    is too high; the run rate lags the fall.  Over six quarterly cut-offs a month apart from day 730,
    pooled, the combination (the bottom-up scaled by its past record, weighed against the run rate)
    beats both of its parts by a fifth.  (The naive methods leave out deals yet to come, a miss that
    happens to offset the fall here: no claim.  Nor on the interval: the fall is not in the past
    errors it is drawn from, and it holds only 3 of the 12 actuals.)
    """
    errors: dict[str, float] = {}
    booked = 0.0
    for seed in (1, 3):
        co = simulate_company(
            seed=seed, start=START, days=1130, deals_per_day=3.0, size_effect=1.0, shift=(800, WORSE)
        )
        starts = [START + (730 + 30 * k) * DAY for k in range(6)]
        report = compare_forecasts(
            co.opportunities,
            co.events,
            co.pipeline,
            cutoffs=[(s, s + 91 * DAY) for s in starts],
            currency="USD",
            backtests=12,
        )
        for row in report.rows:
            errors[row.method] = errors.get(row.method, 0.0) + abs(
                float(row.forecast.amount - row.actual.amount)
            )
            booked += float(row.actual.amount) if row.method == "combined" else 0.0
    wape = {method: error / booked for method, error in errors.items()}
    assert wape["combined"] < 0.8 * min(wape["timing_generation"], wape["run_rate"]), wape


def test_a_young_companys_quarter_gets_an_interval_from_its_months_that_holds():
    """
    A steady company and one with an end-of-quarter push, in their first year, a quarter forecast
    every 30 days from day 250 to 370: too few past quarters for an interval of their own (a third
    each, a month apart), so each comes from the months of past forecasts (Bookings.month_checks).
    Every cut-off gets one; the 10-90 % interval holds the actual at least 80 % of the time (10 of
    10 when measured), erring wide but within twenty times its bottom (3 to 15 when measured; a
    month judged on two past forecasts only, as at day 220, reads t at one degree of freedom and
    can be ten times wider).
    """
    given = held = 0
    cutoffs = 0
    for push in (0.0, 1.0):
        co = simulate_company(seed=1, start=START, days=560, deals_per_day=3.0, quarter_end=push)
        for k in range(5):
            now = START + (250 + 30 * k) * DAY
            end = now + 91 * DAY
            deals = list(as_of(co.opportunities, co.events, now=now))
            events = [e for e in co.events if e.at <= now]
            report = expected_bookings(deals, events, co.pipeline, start=now, end=end, now=now)
            actual = sum(o.amount.amount for o in co.opportunities
                         if o.status.value == "won" and now <= o.stage_entered_at < end)  # fmt: skip
            cutoffs += 1
            assert len(report.ratios("USD")) * 30 / 91 < 2  # too few whole quarters
            low, high = report.quantile(0.1, "USD"), report.quantile(0.9, "USD")
            if low is None:
                continue
            assert report.month_checks
            assert high.amount < 20 * low.amount
            given += 1
            held += low.amount <= actual <= high.amount
    assert given == cutoffs
    assert held >= 0.8 * given, (held, given)
