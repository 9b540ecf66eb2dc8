"""
Tests for simulate_company: a synthetic company whose true sales process is known.

The statistical tests play one company for three years (about 4,400 deals, fixed seed) and hold
what it shows to the truth it was drawn from, each within 4 standard errors of the estimate
(worked out in each test); a fixed seed makes them deterministic, the 4 standard errors say that
a correct simulator passes them for almost every seed (a two-sided normal tail of 6e-5 each).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
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
DEFAULT_FORWARD = {"lead": 0.5, "qualified": 0.6, "proposal": 0.6, "negotiation": 0.7}
#: A year of growth, in days.
YEAR = 365.25


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


# --- a process that drifts: growth and a shift ----------------------------------------------


def _fingerprint(company: Company) -> str:
    """
    A digest of every draw a company shows: each deal's id, creation, first-seen amount, close and
    end stage, and each event's kind, deal, time and change (fields of the simulator's making, not
    the engine's repr, which other changes may extend).
    """
    lines = [
        f"{d.id} {d.created_at.isoformat()} {d.amount} {d.expected_close} {d.stage} {d.version}"
        for d in company.opportunities
    ]
    for e in company.events:
        what = f"{e.from_stage}>{e.to_stage}" if isinstance(e, StageChanged) else f"{e.before}>{e.after}"
        lines.append(f"{type(e).__name__} {e.opportunity_id} {e.at.isoformat()} {what}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_without_drift_a_seed_gives_the_company_it_gave_before_drift_existed():
    """
    growth 0 and no shift keep the draws in their old order: the digest was taken with the code
    before growth and shift were added (1,554 deals, 3,159 events), and an explicit growth=0.0,
    shift=None is the same company.
    """
    kwargs = {"seed": 11, "start": T0, "days": 400, "seasonality": SEASONS}
    company = simulate_company(**kwargs)
    assert (len(company.opportunities), len(company.events)) == (1_554, 3_159)
    assert _fingerprint(company) == "ca8bff2e7cc8ff30af97d9a7f0d339ba9824b7d5c43403b69255779793eef574"
    assert simulate_company(**kwargs, growth=0.0, shift=None) == company


def test_a_shift_to_the_same_chances_changes_nothing_but_the_truth():
    """The shift only swaps which chances an exit is compared with: the same chances, the same draws."""
    plain = simulate_company(seed=4, start=T0, days=200)
    shifted = simulate_company(seed=4, start=T0, days=200, shift=(100, DEFAULT_FORWARD))
    assert shifted.events == plain.events
    assert shifted.opportunities == plain.opportunities
    assert shifted.truth.shift == (100, DEFAULT_FORWARD)
    assert shifted.truth.start == T0


def test_growth_in_the_truth_by_hand():
    """
    With k = log(1 + g) / 365.25 the rate is r e^{k t}: a year from the start holds
    r * 365.25 * g / log(1 + g) deals (for g = 1, 4 * 365.25 / log 2 = 2107.78), the next year
    1 + g times as many; January at 4 * 0.5 a day holds 2 (e^{31 k} - 1) / k; a day's rate is the
    mean of r e^{k t} over that day.
    """
    truth = simulate_company(seed=1, start=T0, days=5, growth=1.0, seasonality=SEASONS).truth
    flat = simulate_company(seed=1, start=T0, days=5, growth=1.0).truth
    k = math.log(2) / YEAR
    year = T0 + dt.timedelta(days=YEAR)
    assert truth.growth_per_day == pytest.approx(k, rel=1e-15)
    assert flat.expected_created(T0, year) == pytest.approx(4 * YEAR / math.log(2), rel=1e-12)
    assert flat.expected_created(T0, year) == pytest.approx(2107.7775, abs=1e-4)
    later = flat.expected_created(year, year + dt.timedelta(days=YEAR))
    assert later / flat.expected_created(T0, year) == pytest.approx(2.0, rel=1e-12)
    january = truth.expected_created(T0, dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    assert january == pytest.approx(2 * math.expm1(31 * k) / k, rel=1e-12)
    assert truth.creation_rate(dt.date(2026, 1, 1)) == pytest.approx(2 * math.expm1(k) / k, rel=1e-12)
    day = dt.date(2027, 12, 31)  # 729 days in: December, 1.5
    assert truth.creation_rate(day) == pytest.approx(6 * math.exp(729 * k) * math.expm1(k) / k, rel=1e-12)
    assert truth.creation_rate(day) == pytest.approx(
        truth.expected_created(
            dt.datetime(2027, 12, 31, tzinfo=dt.UTC), dt.datetime(2028, 1, 1, tzinfo=dt.UTC)
        )
    )


@settings(max_examples=50, deadline=None)
@given(
    growth=st.floats(-0.9, 10),
    cut=st.floats(0, 800),
    length=st.floats(0, 800),
)
def test_expected_created_adds_up_over_any_cut(growth, cut, length):
    """Any window cut in two holds as many deals as its parts, also starting before the company's start."""
    truth = simulate_company(seed=1, start=T0, days=5, growth=growth, seasonality=SEASONS).truth
    a = T0 - dt.timedelta(days=100)
    b = a + dt.timedelta(days=cut)
    c = b + dt.timedelta(days=length)
    whole = truth.expected_created(a, c)
    assert whole == pytest.approx(truth.expected_created(a, b) + truth.expected_created(b, c), rel=1e-9)
    assert whole >= 0


@pytest.mark.parametrize("growth", [0.5, -0.5])
def test_growth_is_recovered(growth):
    """
    The deals created in the second year of growth (days 365.25 to 730.5) over those of the first
    is 1 + growth.  Counts in disjoint windows are independent Poisson of means L1 and
    L2 = (1 + g) L1, so by the delta method the ratio N2 / N1 has standard error about
    (1 + g) sqrt(1 / L1 + 1 / L2): at 6 a day, L1 = 6 * 365.25 * g / log(1 + g), 2,702 for
    g = 0.5 (SE 0.037) and 1,581 for g = -0.5 (SE 0.022).  So that thinning from a wrong peak
    (the end's for a shrinking rate) is caught, the total is held to its mean too, SE sqrt(L).
    """
    company = simulate_company(seed=31, start=T0, days=731, deals_per_day=6, growth=growth)
    truth = company.truth
    one, two = T0 + dt.timedelta(days=YEAR), T0 + dt.timedelta(days=2 * YEAR)
    l1, l2 = truth.expected_created(T0, one), truth.expected_created(one, two)
    assert l1 == pytest.approx(6 * YEAR * growth / math.log1p(growth), rel=1e-12)
    assert l2 / l1 == pytest.approx(1 + growth, rel=1e-12)
    n1 = sum(d.created_at < one for d in company.opportunities)
    n2 = sum(one <= d.created_at < two for d in company.opportunities)
    se = (1 + growth) * math.sqrt(1 / l1 + 1 / l2)
    assert abs(n2 / n1 - (1 + growth)) <= Z * se, (n2 / n1, 1 + growth, se)
    total = truth.expected_created(company.start, company.end)
    created = len(company.opportunities)
    assert abs(created - total) <= Z * math.sqrt(total), (created, total)
    quarters = [T0 + dt.timedelta(days=q * YEAR / 4) for q in range(9)]
    for lo, hi in itertools.pairwise(quarters):
        mean = truth.expected_created(lo, hi)
        n = sum(lo <= d.created_at < hi for d in company.opportunities)
        assert abs(n - mean) <= Z * math.sqrt(mean), (lo, n, mean)


SHIFTED = {"lead": 0.7, "qualified": 0.4, "proposal": 0.8, "negotiation": 0.5}


def test_the_shift_is_visible_in_the_forward_shares():
    """
    Exits before day 365 move forward with the chances of forward, exits from day 365 on with those
    of the shift: each share of n exits has standard error sqrt(p (1 - p) / n) (10 a day for two
    years: n is 500 to 3,600, SE 0.008 to 0.020), and the two sides of each stage differ by more
    than 4 of their combined standard errors (each chance moves by 0.2: 7.6 combined SE at the
    fewest exits, negotiation's).  The truth says the chances to win after it.
    """
    day = 365
    company = simulate_company(seed=17, start=T0, days=730, deals_per_day=10, shift=(day, SHIFTED))
    truth = company.truth
    cut = T0 + dt.timedelta(days=day)
    exits: Counter[tuple[str, bool]] = Counter()
    forward: Counter[tuple[str, bool]] = Counter()
    for e in company.events:
        if isinstance(e, StageChanged):
            side = e.at >= cut
            exits[e.from_stage, side] += 1
            forward[e.from_stage, side] += e.to_stage != "lost"
    for stage in truth.stages:
        shares = []
        for side, p in ((False, truth.forward[stage]), (True, truth.shift[1][stage])):
            n = exits[stage, side]
            assert n > 250, (stage, side, n)
            share = forward[stage, side] / n
            assert abs(share - p) <= Z * math.sqrt(p * (1 - p) / n), (stage, side, share, p)
            shares.append((share, p * (1 - p) / n))
        (before, v0), (after, v1) = shares
        assert abs(after - before) > Z * math.sqrt(v0 + v1), (stage, before, after)
    assert truth.p_won("lead") == pytest.approx(0.126)
    assert truth.p_won("lead", after_shift=True) == pytest.approx(0.7 * 0.4 * 0.8 * 0.5)
    assert truth.p_won("negotiation", after_shift=True) == pytest.approx(0.5)
    assert truth.mean_days_to_close("proposal", after_shift=True) == pytest.approx(20 + 0.8 * 10)
    assert truth.p_won("won", after_shift=True) == 1.0
    before = ["0.1260", "0.2520", "0.4200", "0.7000"]  # the pipeline holds the chances before the shift
    assert [str(s.probability) for s in company.pipeline.stages[:4]] == before


def test_without_a_shift_after_shift_is_the_same_truth():
    """A company with no shift has the same chances after it as before; after_shift must be a bool."""
    truth = simulate_company(seed=1, start=T0, days=5).truth
    assert truth.p_won("lead", after_shift=True) == truth.p_won("lead") == pytest.approx(0.126)
    assert truth.mean_days_to_close("lead", after_shift=True) == pytest.approx(25.3)
    assert (truth.growth, truth.shift, truth.start) == (0.0, None, T0)
    with raises_problems(("after_shift", "type")):
        truth.p_won("lead", after_shift="yes")
    with raises_problems(("after_shift", "type")):
        truth.mean_days_to_close("lead", after_shift=1)


def test_a_drifting_truth_refuses_what_it_cannot_answer():
    """
    Growth and a shift are counted from the start, so a truth with either needs one; a question so
    far from the start that the grown rate is beyond a float (e**600) is refused by name.
    """
    truth = simulate_company(seed=1, start=T0, days=5, growth=10).truth
    shrinking = simulate_company(seed=1, start=T0, days=5, growth=-0.9).truth
    with raises_problems(("end", "range")):
        truth.expected_created(T0, dt.datetime.max.replace(tzinfo=dt.UTC))
    with raises_problems(("start", "range")):
        shrinking.expected_created(dt.datetime.min.replace(tzinfo=dt.UTC), T0)
    assert shrinking.expected_created(T0, dt.datetime.max.replace(tzinfo=dt.UTC)) == pytest.approx(
        4 * YEAR / math.log(10), rel=1e-9
    )
    with raises_problems(("day", "range")):
        truth.creation_rate(dt.date(9999, 12, 31))
    assert shrinking.creation_rate(dt.date(9999, 12, 31)) == 0.0
    fields = {k: getattr(truth, k) for k in ("deals_per_day", "seasonality", "stays", "forward")}
    fields |= {"amount_median": truth.amount_median, "amount_sigma": 0.5, "slip": 0.3, "amount_edits": 0.1}
    with raises_problems(("start", "missing")):
        CompanyTruth(**fields, growth=0.1)
    with raises_problems(("start", "missing")):
        CompanyTruth(**fields, shift=(5, DEFAULT_FORWARD))
    with raises_problems(("start", "timezone")):
        CompanyTruth(**fields, growth=0.1, start=dt.datetime(2026, 1, 1))
    assert CompanyTruth(**fields, shift=[5, DEFAULT_FORWARD], start=T0).shift == (5, DEFAULT_FORWARD)


def test_a_drifting_company_reads_back():
    """Growth, the shift and the start travel in the document and read back equal."""
    company = simulate_company(seed=2, start=T0, days=40, growth=0.3, shift=(20, SHIFTED))
    data = json.loads(json.dumps(to_dict(company.truth)))
    assert (data["growth"], data["shift"], data["start"]) == (0.3, [20, SHIFTED], "2026-01-01T00:00:00+00:00")
    assert from_dict(CompanyTruth, data) == company.truth
    assert from_dict(Company, json.loads(json.dumps(to_dict(company)))) == company


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
        ({"growth": math.nan}, [("growth", "range")]),
        ({"growth": math.inf}, [("growth", "range")]),
        ({"growth": -0.95}, [("growth", "range")]),
        ({"growth": 10.5}, [("growth", "range")]),
        ({"growth": "0.1"}, [("growth", "type")]),
        ({"growth": True}, [("growth", "type")]),
        # 4 a day grown by 11 a year for 10 years is 4 * 11**10, about 1e11 a day.
        ({"growth": 10, "days": 3650}, [("growth", "limit")]),
        # 9,000 a day grown 50 % in a year is 13,500 a day by the end: the growth takes it over.
        ({"growth": 0.5, "days": 365, "deals_per_day": 9_000}, [("growth", "limit")]),
        # Over the limit before any growth: deals_per_day is named, not growth.
        ({"growth": 0.5, "deals_per_day": 10_001}, [("deals_per_day", "limit")]),
        ({"growth": 0.5, "deals_per_day": 5_000, "seasonality": (3.0,) * 12}, [("deals_per_day", "limit")]),
        ({"growth": 0.1, "start": "2026-01-01"}, [("start", "type")]),
        ({"shift": 5}, [("shift", "type")]),
        ({"shift": (5,)}, [("shift", "type")]),
        ({"shift": (0, dict(DEFAULT_FORWARD))}, [("shift[0]", "range")]),
        ({"shift": (-3, dict(DEFAULT_FORWARD))}, [("shift[0]", "range")]),
        ({"shift": (30, dict(DEFAULT_FORWARD))}, [("shift[0]", "range")]),  # days is 30
        ({"shift": (10**100, dict(DEFAULT_FORWARD))}, [("shift[0]", "range")]),
        ({"shift": (1.5, dict(DEFAULT_FORWARD))}, [("shift[0]", "type")]),
        ({"shift": (True, dict(DEFAULT_FORWARD))}, [("shift[0]", "type")]),
        ({"shift": (10, "lead")}, [("shift[1]", "type")]),
        ({"shift": (10, {})}, [("shift[1]", "empty")]),
        ({"shift": (10, {**DEFAULT_FORWARD, "lead": 1.5})}, [("shift[1]['lead']", "range")]),
        ({"shift": (10, {**DEFAULT_FORWARD, "lead": "x"})}, [("shift[1]['lead']", "type")]),
        (
            {"shift": (10, {"lead": 0.5})},
            [(f"shift[1]['{k}']", "missing") for k in ("qualified", "proposal", "negotiation")],
        ),
        ({"shift": (10, {**DEFAULT_FORWARD, "demo": 0.5})}, [("shift[1]['demo']", "reference")]),
        (
            {"stays": {"a": 3}, "forward": {"a": 0.5}, "shift": (10, {"b": 0.5})},
            [("shift[1]['a']", "missing"), ("shift[1]['b']", "reference")],
        ),
        (
            {"growth": -2, "shift": (0, {})},
            [("growth", "range"), ("shift[0]", "range"), ("shift[1]", "empty")],
        ),
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


def test_with_a_size_effect_each_exit_follows_its_deals_amount():
    """
    With size effect b, a deal of amount x leaves a stage forward with the log-odds of its chance p
    lowered by b log(x / median): ``1 / (1 + (1 - p) / p * (x / median) ** b)``.  Per stage, the
    exits of deals above and below the median each move forward as often as the mean of that chance
    over them, within Z standard errors of the sum of independent Bernoulli trials; with b = 1 the
    small deals leave the first stage forward more often than the large by more than Z combined
    errors (3,600 exits; the later stages see fewer large deals).
    """
    b = 1.0
    company = simulate_company(seed=5, start=T0, days=365, deals_per_day=10, size_effect=b)
    truth = company.truth
    median = float(truth.amount_median.amount)
    created = {o.id: float(o.amount.amount) for o in company.opportunities}
    # an edit moves an amount while open; the size drawn at creation is the one before the first edit
    for e in reversed(company.events):
        if isinstance(e, AmountChanged):
            created[e.opportunity_id] = float(e.before.amount)
    tally: dict[tuple[str, bool], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for e in company.events:
        if isinstance(e, StageChanged):
            x, p = created[e.opportunity_id], truth.forward[e.from_stage]
            chance = 1 / (1 + (1 - p) / p * (x / median) ** b)
            row = tally[e.from_stage, x > median]
            row[0] += 1
            row[1] += e.to_stage != "lost"
            row[2] += chance
            row[3] += chance * (1 - chance)
    for stage in truth.stages:
        shares = []
        for large in (False, True):
            n, moved, expected, variance = tally[stage, large]
            assert n > 150, (stage, large, n)
            assert abs(moved - expected) <= Z * math.sqrt(variance), (stage, large, moved, expected)
            shares.append((moved / n, variance / n**2))
        (small, v0), (large_, v1) = shares
        if stage == truth.stages[0]:
            assert small - large_ > Z * math.sqrt(v0 + v1), (small, large_)
    assert truth.size_effect == b
    assert simulate_company(seed=5, start=T0, days=60, size_effect=0.0) == simulate_company(
        seed=5, start=T0, days=60
    )
