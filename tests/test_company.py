"""
Tests for simulate_company: a synthetic company whose true sales process is known.

The statistical tests play one company for three years (about 4,400 deals, fixed seed) and hold
what it shows to the truth it was drawn from, each within 4 standard errors of the estimate
(worked out in each test); a fixed seed makes them deterministic, the 4 standard errors say that
a correct simulator passes them for almost every seed (a two-sided normal tail of 6e-5 each).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Money, OpportunityStatus, from_dict, to_dict
from funnelkit.simulation import Company, CompanyTruth, simulate_company
from funnelkit.stages import AmountChanged, CloseDateChanged, StageChanged, replay

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SEASONS = (0.5, 0.6, 0.8, 1.0, 1.2, 1.4, 1.4, 1.2, 1.0, 0.8, 0.6, 1.5)
#: A bound of 4 standard errors: a normal estimate falls outside it with chance 6e-5.
Z = 4.0


def _by_deal(company: Company) -> dict[str, list]:
    """The company's events grouped by deal, in order."""
    grouped: dict[str, list] = defaultdict(list)
    for event in company.events:
        grouped[event.opportunity_id].append(event)
    return grouped


@pytest.fixture(scope="module")
def big() -> Company:
    """Three years of a seasonal company, 4 deals a day on average: about 4,400 deals."""
    return simulate_company(seed=2026, start=T0, days=3 * 365, seasonality=SEASONS)


# --- the same arguments, the same company ------------------------------------------------------


def test_same_seed_same_company():
    """The output depends only on the arguments; a seed and a Random of that seed agree."""
    one = simulate_company(seed=5, start=T0, days=120)
    two = simulate_company(seed=5, start=T0, days=120)
    mine = simulate_company(seed=random.Random(5), start=T0, days=120)
    other = simulate_company(seed=6, start=T0, days=120)
    assert one == two == mine
    assert one.events == two.events
    assert one != other


def test_the_global_random_state_is_left_alone():
    """All randomness comes from the seed: the global generator is neither read nor moved."""
    random.seed(11)
    expected = random.random()
    random.seed(11)
    simulate_company(seed=1, start=T0, days=30)
    assert random.random() == expected


# --- the deals and their events ---------------------------------------------------------------


def test_every_deal_replays(big):
    """Each deal as created, replayed through its events with the pipeline, is the deal at the end."""
    grouped = _by_deal(big)
    starts = big.as_created()
    first = big.pipeline.stages[0].key
    assert len(starts) == len(big.opportunities) > 4_000
    for start, deal in zip(starts, big.opportunities, strict=True):
        assert (start.version, start.stage, start.status) == (0, first, OpportunityStatus.OPEN)
        assert replay(start, grouped[deal.id], pipeline=big.pipeline) == deal
        assert [e.version for e in grouped[deal.id]] == list(range(1, deal.version + 1))


def test_events_are_in_order_of_time_and_end_before_the_end(big):
    """events is sorted by time; nothing is created or happens at or after end; some deals stay open."""
    times = [e.at for e in big.events]
    assert times == sorted(times)
    assert big.end == T0 + 3 * 365 * dt.timedelta(days=1)
    assert times[-1] < big.end
    assert max(d.created_at for d in big.opportunities) < big.end
    kinds = Counter(type(e) for e in big.events)
    assert set(kinds) == {StageChanged, AmountChanged, CloseDateChanged}
    statuses = Counter(d.status for d in big.opportunities)
    assert statuses[OpportunityStatus.OPEN] > 0  # censored at the end
    assert all(d.lost_reason == "price" for d in big.opportunities if d.status is OpportunityStatus.LOST)


def test_deals_start_with_the_expected_close_of_the_mean_stays(big):
    """Each deal's first expected close is its creation plus the sum of the mean stays (55 days)."""
    for start in big.as_created()[:200]:
        assert start.expected_close == (start.created_at + dt.timedelta(days=55)).date()


def test_slips_push_by_30_days_and_edits_stay_within_30_percent(big):
    """A slip moves the close 30 days, when the old one has passed; an edit changes at most 30 %."""
    slips = [e for e in big.events if isinstance(e, CloseDateChanged)]
    edits = [e for e in big.events if isinstance(e, AmountChanged)]
    assert slips
    assert edits
    for e in slips:
        assert e.days_moved == 30
        assert e.at.date() > e.before
    for e in edits:
        assert abs(float(e.after.ratio(e.before)) - 1) <= 0.3 + 1e-4  # rounded to cents


def test_the_pipeline_holds_the_true_chances():
    """Open stages in the order of stays, no requirements, each with its chance to win, to 4 places."""
    company = simulate_company(seed=1, start=T0, days=5)
    pipeline = company.pipeline
    assert pipeline.keys == ("lead", "qualified", "proposal", "negotiation", "won", "lost")
    assert [str(s.probability) for s in pipeline.stages] == ["0.1260", "0.2520", "0.4200", "0.7000", "1", "0"]
    assert all(s.requirements == () for s in pipeline.stages)
    assert pipeline.lost_reasons == ("price",)


# --- the truth, worked by hand ----------------------------------------------------------------


def test_the_truth_by_hand():
    """
    The default chain: p_won is the product of the forward chances (0.5 * 0.6 * 0.6 * 0.7 = 0.126
    from lead); days to close run back from the last stage (10; 20 + 0.6 * 10 = 26;
    15 + 0.6 * 26 = 30.6; 10 + 0.5 * 30.6 = 25.3); the lognormal mean is 10,000 * e**(0.5**2 / 2).
    """
    truth = simulate_company(seed=1, start=T0, days=5).truth
    assert [truth.p_won(s) for s in ("lead", "qualified", "proposal", "negotiation", "won", "lost")] == (
        pytest.approx([0.126, 0.252, 0.42, 0.7, 1.0, 0.0])
    )
    assert [truth.mean_days_to_close(s) for s in ("lead", "qualified", "proposal", "negotiation")] == (
        pytest.approx([25.3, 30.6, 26.0, 10.0])
    )
    assert truth.mean_days_to_close("won") == truth.mean_days_to_close("lost") == 0
    assert truth.mean_amount == pytest.approx(10_000 * math.exp(0.125))
    assert truth.stages == ("lead", "qualified", "proposal", "negotiation")


def test_the_creation_rate_by_hand():
    """4 a day times January's 0.5 is 2 a day: 62 in January; February's 0.6 adds 4 * 0.6 * 28."""
    truth = simulate_company(seed=1, start=T0, days=5, seasonality=SEASONS).truth
    assert truth.creation_rate(dt.date(2026, 1, 9)) == 2.0
    assert truth.creation_rate(dt.date(2027, 12, 31)) == 6.0
    assert truth.expected_created(T0, dt.datetime(2026, 2, 1, tzinfo=dt.UTC)) == pytest.approx(62)
    half = dt.datetime(2026, 1, 16, 12, tzinfo=dt.UTC)  # 15.5 days
    assert truth.expected_created(T0, half) == pytest.approx(31)
    assert truth.expected_created(T0, dt.datetime(2026, 3, 1, tzinfo=dt.UTC)) == pytest.approx(62 + 67.2)
    assert truth.expected_created(T0, T0) == 0


def test_months_are_read_in_the_zone_of_start():
    """In Shanghai, January ends 8 hours before it does in UTC: the rate changes at local midnight."""
    truth = simulate_company(seed=1, start=T0, days=5, seasonality=SEASONS).truth
    shanghai = ZoneInfo("Asia/Shanghai")
    start = dt.datetime(2026, 1, 31, tzinfo=shanghai)
    end = dt.datetime(2026, 2, 2, tzinfo=shanghai)
    assert truth.expected_created(start, end) == pytest.approx(4 * 0.5 + 4 * 0.6)
    company = simulate_company(seed=3, start=dt.datetime(2026, 1, 1, tzinfo=shanghai), days=90)
    assert company.start.tzinfo is shanghai
    assert company.end == dt.datetime(2026, 4, 1, tzinfo=shanghai)


def test_a_month_without_deals_creates_none():
    """Seasonality 0 for a month: no deal is created in it."""
    seasons = (1.0, 0.0, *(1.0,) * 10)
    company = simulate_company(seed=4, start=T0, days=365, seasonality=seasons)
    months = Counter(d.created_at.month for d in company.opportunities)
    assert months[2] == 0
    assert all(months[m] > 0 for m in range(1, 13) if m != 2)


def test_certain_paths():
    """Forward chances of 1 win every closed deal; 0 from the first stage loses every one there."""
    always = simulate_company(
        seed=2,
        start=T0,
        days=200,
        stays={"a": 3.0, "b": 4.0},
        forward={"a": 1, "b": 1},
        slip=0,
        amount_edits=0,
    )
    closed = [d for d in always.opportunities if d.status is not OpportunityStatus.OPEN]
    assert closed
    assert all(d.status is OpportunityStatus.WON for d in closed)
    assert all(isinstance(e, StageChanged) for e in always.events)
    assert [str(s.probability) for s in always.pipeline.stages] == ["1.0000", "1.0000", "1", "0"]
    never = simulate_company(seed=2, start=T0, days=200, stays={"a": 3.0, "b": 4.0}, forward={"a": 0, "b": 1})
    assert {(d.stage, d.status) for d in never.opportunities} <= {
        ("a", OpportunityStatus.OPEN),
        ("lost", OpportunityStatus.LOST),
    }
    assert never.truth.p_won("a") == 0


# --- the truth, recovered from the data (4 standard errors) ---------------------------------


def test_the_creation_rate_and_seasonality_are_recovered(big):
    """
    The count of deals created is Poisson with mean L = truth.expected_created(start, end), so its
    standard error is sqrt(L) (about 66 for L about 4,400); so is each calendar month's count over
    the three years (mean L_m, standard error sqrt(L_m), about 11 to 20).
    """
    expected = big.truth.expected_created(big.start, big.end)
    n = len(big.opportunities)
    assert abs(n - expected) <= Z * math.sqrt(expected), (n, expected)
    created = Counter(d.created_at.month for d in big.opportunities)
    for month in range(1, 13):
        mean = 0.0
        for year in (2026, 2027, 2028):
            first = dt.datetime(year, month, 1, tzinfo=dt.UTC)
            last = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
            lo, hi = max(first, big.start), min(last, big.end)
            if lo < hi:
                mean += big.truth.expected_created(lo, hi)
        assert abs(created[month] - mean) <= Z * math.sqrt(mean), (month, created[month], mean)


def test_the_forward_chances_are_recovered(big):
    """
    Each exit from a stage is forward with its chance p, whatever its time (so censoring does not
    bias it): the share of n exits forward has standard error sqrt(p (1 - p) / n).
    """
    exits: Counter[str] = Counter()
    forward: Counter[str] = Counter()
    for e in big.events:
        if isinstance(e, StageChanged):
            exits[e.from_stage] += 1
            forward[e.from_stage] += e.to_stage != "lost"
    for stage, p in big.truth.forward.items():
        n = exits[stage]
        se = math.sqrt(p * (1 - p) / n)
        assert n > 200
        assert abs(forward[stage] / n - p) <= Z * se, (stage, forward[stage] / n, p)


def test_the_mean_stays_are_recovered(big):
    """
    Stays are exponential and right-censored at the end: the estimate of the mean is the time
    spent in the stage (open stays counted up to the end) over the exits, with standard error
    about mean / sqrt(exits).
    """
    exposure: Counter[str] = Counter()
    exits: Counter[str] = Counter()
    grouped = _by_deal(big)
    day = dt.timedelta(days=1)
    for deal in big.opportunities:
        stage, since = big.pipeline.stages[0].key, deal.created_at
        for e in grouped[deal.id]:
            if isinstance(e, StageChanged):
                exposure[stage] += (e.at - since) / day
                exits[stage] += 1
                stage, since = e.to_stage, e.at
        if deal.status is OpportunityStatus.OPEN:
            exposure[stage] += (big.end - since) / day
    for stage, mean in big.truth.stays.items():
        estimate = exposure[stage] / exits[stage]
        assert abs(estimate - mean) <= Z * mean / math.sqrt(exits[stage]), (stage, estimate, mean)


def test_the_amounts_and_the_chance_to_win_are_recovered(big):
    """
    The first amounts are lognormal: the mean of their logarithms is log(median), standard error
    sigma / sqrt(n); their mean is truth.mean_amount, standard error median * sqrt((e**s2 - 1) e**s2)
    / sqrt(n) (s2 = sigma**2).  The deals created in the first year have all closed two years
    later (a deal stays 55 days at most on average): the share won has standard error
    sqrt(p (1 - p) / n) for p = p_won(lead).
    """
    truth = big.truth
    firsts = [float(d.amount.amount) for d in big.as_created()]
    n = len(firsts)
    logs = math.fsum(math.log(a) for a in firsts) / n
    assert abs(logs - math.log(10_000)) <= Z * truth.amount_sigma / math.sqrt(n)
    s2 = truth.amount_sigma**2
    sd = 10_000 * math.sqrt((math.exp(s2) - 1) * math.exp(s2))
    assert abs(math.fsum(firsts) / n - truth.mean_amount) <= Z * sd / math.sqrt(n)
    early = [d for d in big.opportunities if d.created_at < T0 + dt.timedelta(days=365)]
    assert all(d.status is not OpportunityStatus.OPEN for d in early)
    p = truth.p_won("lead")
    won = sum(d.status is OpportunityStatus.WON for d in early) / len(early)
    assert abs(won - p) <= Z * math.sqrt(p * (1 - p) / len(early)), (won, p)


def test_the_edit_and_slip_chances_are_recovered(big):
    """
    A closed deal was open for all of its life, so it was edited with chance amount_edits: the
    share edited of n closed deals has standard error sqrt(q (1 - q) / n).  A deal still open when
    its first expected close passed (midnight after it) before the end slipped then with chance
    slip, standard error sqrt(s (1 - s) / m) over those m deals.
    """
    truth = big.truth
    grouped = _by_deal(big)
    closed = [d for d in big.opportunities if d.status is not OpportunityStatus.OPEN]
    q = truth.amount_edits
    edited = sum(any(isinstance(e, AmountChanged) for e in grouped[d.id]) for d in closed) / len(closed)
    assert abs(edited - q) <= Z * math.sqrt(q * (1 - q) / len(closed)), (edited, q)
    passed = slipped = 0
    for start, deal in zip(big.as_created(), big.opportunities, strict=True):
        passes = dt.datetime.combine(start.expected_close + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        closes = big.end if deal.status is OpportunityStatus.OPEN else deal.stage_entered_at
        if passes < min(closes, big.end):
            passed += 1
            slipped += any(
                isinstance(e, CloseDateChanged) and e.before == start.expected_close for e in grouped[deal.id]
            )
    s = truth.slip
    assert passed > 300
    assert abs(slipped / passed - s) <= Z * math.sqrt(s * (1 - s) / passed), (slipped / passed, s)


# --- small companies, any parameters ----------------------------------------------------------


@st.composite
def _small(draw: st.DrawFn) -> dict[str, object]:
    """The arguments of a small company: up to 60 days, up to 3 deals a day, 1 to 4 stages."""
    stays = draw(st.lists(st.floats(0.5, 30), min_size=1, max_size=4))
    keys = [f"s{i}" for i in range(len(stays))]
    return {
        "seed": draw(st.integers(0, 2**32)),
        "start": T0,
        "days": draw(st.integers(1, 60)),
        "deals_per_day": draw(st.floats(0.1, 3)),
        "stays": dict(zip(keys, stays, strict=True)),
        "forward": {k: draw(st.floats(0, 1)) for k in keys},
        "slip": draw(st.floats(0, 1)),
        "amount_edits": draw(st.floats(0, 1)),
        "amount_sigma": draw(st.floats(0, 3)),
    }


@settings(max_examples=25, deadline=None)
@given(arguments=_small())
def test_any_small_company_replays_in_order(arguments):
    """Whatever the parameters: events in time order, each deal's versions 1..n, and every deal replays."""
    company = simulate_company(**arguments)
    times = [e.at for e in company.events]
    assert times == sorted(times)
    grouped = _by_deal(company)
    for start, deal in zip(company.as_created(), company.opportunities, strict=True):
        assert replay(start, grouped[deal.id], pipeline=company.pipeline) == deal
    probabilities = [s.probability for s in company.pipeline.stages[:-1]]
    assert probabilities == sorted(probabilities)


# --- the report -------------------------------------------------------------------------------


def test_the_company_is_a_report():
    """A one-line repr, one row per deal, a document that reads back equal (truth included)."""
    company = simulate_company(seed=8, start=T0, days=30, deals_per_day=2)
    text = repr(company)
    won = sum(d.status is OpportunityStatus.WON for d in company.opportunities)
    assert text.startswith(
        f"<Company: {len(company.opportunities)} deals from 2026-01-01 to 2026-01-31: {won} won"
    )
    rows = company.to_records()
    assert [r["id"] for r in rows] == [d.id for d in company.opportunities]
    assert set(rows[0]) >= {"stage", "status", "amount", "amount_currency", "expected_close", "version"}
    back = from_dict(Company, json.loads(json.dumps(to_dict(company))))
    assert back == company
    assert from_dict(CompanyTruth, to_dict(company.truth)) == company.truth
    assert "Not mergeable" in Company.__doc__


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"seed": 1.5}, [("seed", "type")]),
        ({"seed": True}, [("seed", "type")]),
        ({"start": dt.datetime(2026, 1, 1)}, [("start", "timezone")]),
        ({"start": "2026-01-01"}, [("start", "type")]),
        ({"start": dt.datetime.max.replace(tzinfo=dt.UTC)}, [("start", "range")]),
        ({"days": 0}, [("days", "range")]),
        ({"days": 3651}, [("days", "limit")]),
        ({"days": "30"}, [("days", "type")]),
        ({"deals_per_day": 0}, [("deals_per_day", "range")]),
        ({"deals_per_day": math.nan}, [("deals_per_day", "range")]),
        ({"deals_per_day": 10_001}, [("deals_per_day", "limit")]),
        ({"deals_per_day": "4"}, [("deals_per_day", "type")]),
        ({"deals_per_day": 5_000, "seasonality": (3.0,) * 12}, [("deals_per_day", "limit")]),
        ({"seasonality": (1.0,) * 11}, [("seasonality", "range")]),
        ({"seasonality": (0.0,) * 12}, [("seasonality", "range")]),
        ({"seasonality": (1.0,) * 11 + (-1.0,)}, [("seasonality[11]", "range")]),
        ({"seasonality": ("x",) + (1.0,) * 11}, [("seasonality[0]", "type")]),
        ({"seasonality": 1.0}, [("seasonality", "type")]),
        ({"stays": {}}, [("stays", "empty"), ("forward", "missing")]),
        ({"stays": {"lead": 0}, "forward": {"lead": 0.5}}, [("stays['lead']", "range")]),
        (
            {"stays": {"won": 3}, "forward": {"won": 0.5}},
            [("stays['won']", "conflict"), ("forward['won']", "conflict")],
        ),
        (
            {"stays": {" a": 3}, "forward": {" a": 0.5}},
            [("stays[' a']", "format"), ("forward[' a']", "format")],
        ),
        ({"stays": {"a": 3}}, [("forward", "missing")]),
        ({"stays": [("a", 3)], "forward": {"a": 1}}, [("stays", "type")]),
        (
            {"forward": {"lead": 0.5}},
            [(f"forward['{k}']", "missing") for k in ("qualified", "proposal", "negotiation")],
        ),
        (
            {"forward": {"lead": 1.5, "qualified": 0.6, "proposal": 0.6, "negotiation": 0.7}},
            [("forward['lead']", "range")],
        ),
        (
            {"stays": {"a": 3}, "forward": {"a": 0.5, "b": 0.5}},
            [("forward['b']", "reference")],
        ),
        ({"amount_median": 10_000}, [("amount_median", "type")]),
        ({"amount_median": Money.of("0", "USD")}, [("amount_median", "range")]),
        ({"amount_median": Money.of(10**13, "USD")}, [("amount_median", "limit")]),
        ({"amount_sigma": -0.1}, [("amount_sigma", "range")]),
        ({"amount_sigma": 3.5}, [("amount_sigma", "range")]),
        ({"slip": 1.1}, [("slip", "range")]),
        ({"amount_edits": None}, [("amount_edits", "type")]),
        ({"days": 0, "slip": -1, "seed": "x"}, [("seed", "type"), ("days", "range"), ("slip", "range")]),
    ],
)
def test_bad_arguments_are_named(changes, problems):
    """Each bad argument is refused by name and code, every one at once, before any work."""
    kwargs = {"seed": 1, "start": T0, "days": 30, **changes}
    with raises_problems(*problems):
        simulate_company(**kwargs)


def test_the_truth_refuses_bad_questions():
    """An unknown stage, a datetime for a day, an end before the start: refused by name."""
    truth = simulate_company(seed=1, start=T0, days=5).truth
    with raises_problems(("stage", "reference")):
        truth.p_won("contact")
    with raises_problems(("stage", "type")):
        truth.mean_days_to_close(3)
    with raises_problems(("day", "type")):
        truth.creation_rate(T0)
    with raises_problems(("end", "order")):
        truth.expected_created(T0, T0 - dt.timedelta(seconds=1))
    with raises_problems(("start", "timezone")):
        truth.expected_created(dt.datetime(2026, 1, 1), T0)


def test_numbers_of_other_kinds_are_read_as_floats():
    """Ints, Fractions, Decimals and numpy numbers are read as the floats they hold."""
    from decimal import Decimal
    from fractions import Fraction

    truth = simulate_company(
        seed=1, start=T0, days=5, deals_per_day=Fraction(5, 2), slip=Decimal("0.25"), amount_sigma=1
    ).truth
    assert (truth.deals_per_day, truth.slip, truth.amount_sigma) == (2.5, 0.25, 1.0)
    assert all(type(x) is float for x in (truth.deals_per_day, truth.slip, truth.amount_sigma))
