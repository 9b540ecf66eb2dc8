"""Tests for expected_bookings: each component worked by hand, the combination, and what it refuses."""

import calendar
import datetime as dt
import decimal
import math
import statistics
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import DAY, PIPE, T0

from _problems import raises_problems
from funnelkit import CreditSplits, Money, Opportunity, Split
from funnelkit.forecast import COMPONENTS, BookingCheck, BookingLine, Bookings, as_of, expected_bookings
from funnelkit.forecast._bookings import _months, _Parts, _pieces, _scales, _student_t, _weights
from funnelkit.stages import StageChanged


def usd(amount):
    """*amount* US dollars."""
    return Money.of(amount, "USD")


def deal(oid, amount, *, created=0, closed=None, won=None):
    """A deal created in stage a on day *created*, today won or lost on day *closed*, or open."""
    if closed is None:
        return Opportunity(
            id=oid, customer_id="c", owner="ann", pipeline="p", stage="a", created_at=T0 + created * DAY,
            stage_entered_at=T0 + created * DAY, amount=usd(amount),
        )  # fmt: skip
    return Opportunity(
        id=oid, customer_id="c", owner="ann", pipeline="p", stage="won" if won else "lost",
        status="won" if won else "lost", created_at=T0 + created * DAY, stage_entered_at=T0 + closed * DAY,
        amount=usd(amount), version=1, lost_reason=None if won else "price",
    )  # fmt: skip


def close(oid, day, *, won):
    """Deal *oid* goes from a to won or lost on *day*."""
    return StageChanged(
        opportunity_id=oid, pipeline="p", kind="win" if won else "lose", from_stage="a",
        to_stage="won" if won else "lost", at=T0 + day * DAY, actor="ann", version=1,
        time_in_stage=day * DAY, lost_reason=None if won else "price",
    )  # fmt: skip


# Four deals created on day 0 in stage a: d1 won on day 10, d2 won on day 20, d3 lost on day 10, d4
# still open; x created on day 35, open.  Now is day 40.  Every stay starts at creation in a, so the
# incidence by days in a and by days since creation are the same (Aalen-Johansen, by hand):
#   day 5: x censored (5 at risk); day 10: 4 at risk, 1 won and 1 lost: F_won = 1/4, S = 1/2;
#   day 20: 2 at risk, 1 won: F_won = 1/4 + 1/2 * 1/2 = 1/2, S = 1/4; day 40: d4 censored.
DEALS = [
    deal("d1", 100, closed=10, won=True),
    deal("d2", 100, closed=20, won=True),
    deal("d3", 100, closed=10, won=False),
    deal("d4", 100),
    deal("x", 400, created=35),
]
EVENTS = [close("d1", 10, won=True), close("d2", 20, won=True), close("d3", 10, won=False)]
NOW = T0 + 40 * DAY  # 14 February 2026


def test_each_component_worked_by_hand():
    """
    The 20 days from now, [14 Feb, 6 Mar):

    - pipeline: x has been in a for 5 days, S(5) = 1; won by day 25 in a: F(25) - F(5) = 1/2 of 400 = 200,
      all in February (F does not step between days 20 and 25); d4, 40 days in a, cannot win any more;
    - generation: 800 created over the 40 days of history = 20 a day; a deal created at u in February
      (15 days) is won by 6 March with F(end - u), end - u in (5, 20]: a mean of 1/6, so 20 * 15 / 6 = 50;
      one created in March has at most 5 days: 0;
    - run rate: the 20-day periods before now on record (from the day of the first outcome, day 10):
      [20, 40) booked 100 (d2); [0, 20) began before anything closed, so it is not on record: 100,
      no earlier season to index by; split by days, 75 in February, 25 in March.
    """
    report = expected_bookings(DEALS, EVENTS, PIPE, start=NOW, end=NOW + 20 * DAY, now=NOW)
    assert report.component("closed", "USD") == usd(0)
    assert report.component("pipeline", "USD") == usd(200)
    assert report.component("generation", "USD") == usd(50)
    assert report.component("run_rate", "USD") == usd(100)
    assert report.bottom_up("USD") == usd(250)
    by_line = {(x.component, x.owner, x.month): x.amount for x in report.lines}
    assert by_line[("run_rate", "ann", dt.date(2026, 2, 1))] == usd(75)
    assert by_line[("run_rate", "ann", dt.date(2026, 3, 1))] == usd(25)
    assert by_line[("pipeline", "ann", dt.date(2026, 2, 1))] == usd(200)
    x, d4 = sorted(report.deals, key=lambda d: d.opportunity_id, reverse=True)
    assert (x.opportunity_id, x.days_in_stage, x.p_won_within, x.expected) == ("x", 5.0, 0.5, usd(200))
    assert (d4.opportunity_id, d4.p_won_within, d4.note) == ("d4", 0.0, None)


def test_generation_and_run_rate_are_split_by_owner():
    """
    With d1 (100, won on day 10) bob's, the rest ann's: the run rate's one window on record, [20, 40),
    booked ann's d2 alone, so its 100 is all hers (75 + 25 by month); bob created 100 of the 800 over
    the history, so of the generation's 25 booked in each month 3.125 is his (3.12, to even) and 21.875
    ann's (21.88).
    """
    deals = [attrs.evolve(DEALS[0], owner="bob"), *DEALS[1:]]
    report = expected_bookings(deals, EVENTS, PIPE, start=NOW, end=NOW + 20 * DAY, now=NOW)
    by_line = {(x.component, x.owner, x.month): x.amount for x in report.lines if x.amount}
    feb, mar = dt.date(2026, 2, 1), dt.date(2026, 3, 1)
    assert {k: v for k, v in by_line.items() if k[0] in {"run_rate", "generation"}} == {
        ("generation", "ann", feb): usd("21.88"),
        ("generation", "ann", mar): usd("21.88"),
        ("generation", "bob", feb): usd("3.12"),
        ("generation", "bob", mar): usd("3.12"),
        ("run_rate", "ann", feb): usd("75.00"),
        ("run_rate", "ann", mar): usd("25.00"),
    }
    assert report.component("generation", "USD") == usd(50)
    assert report.component("run_rate", "USD") == usd(100)


def _check(open_part, actual, closed=0):
    """A past period whose open part forecast *open_part*, with *closed* already won and *actual* booked."""
    got = _Parts()
    got.add("pipeline", "ann", dt.date(2026, 1, 1), "USD", decimal.Decimal(open_part))
    got.add("closed", "ann", dt.date(2026, 1, 1), "USD", decimal.Decimal(closed))
    return (NOW, NOW, NOW, "USD", got, {"USD": decimal.Decimal(actual)})


def test_the_open_part_is_scaled_by_its_shrunk_past_ratio():
    """
    Four periods that did not overlap, the open part forecast 100 each and booked 80, 90, 70, 80 (with
    10 already won in the first, 90 in all): the logs of 0.8, 0.9, 0.7, 0.8 have mean m = -0.22708 and
    variance v = 0.010547; James-Stein keeps 1 - (v / 4) / m^2 = 0.9489 of m: the scale is
    e^(-0.21547) = 0.8062.  Ratios 0.5, 0.5, 2, 1 are mostly noise (1 - (0.4405 / 4) / 0.0300 < 0): the
    scale is 1.  Overlapping periods worth 0.8 each count as 3.2: 1 - (v / 3.2) / m^2 = 0.9361 of m is
    kept, 0.8085.
    """
    checks = [_check(100, 90, closed=10), _check(100, 90), _check(100, 70), _check(100, 80)]
    assert _scales(checks, ["USD"], 1.0)["USD"] == pytest.approx(0.80616, abs=1e-5)
    noisy = [_check(100, 50), _check(100, 50), _check(100, 200), _check(100, 100)]
    assert _scales(noisy, ["USD"], 1.0) == {"USD": 1.0}
    logs = [math.log(r) for r in (0.8, 0.9, 0.7, 0.8)]
    m, v = statistics.fmean(logs), statistics.variance(logs)
    assert _scales(checks, ["USD"], 0.8)["USD"] == pytest.approx(math.exp(m * (1 - v / 3.2 / m**2)))
    assert 1 - v / 3.2 / m**2 == pytest.approx(0.9361, abs=1e-4)


def test_no_scale_until_the_past_periods_are_worth_more_than_three():
    """
    The same four ratios 0.8, 0.9, 0.7, 0.8 worth 3/4 of an independent period each are worth 3; three
    of them, 3: with v estimated on n - 1 = 2 degrees of freedom, m / sqrt(v / n) is a Student t of
    infinite variance, noise that could explain any ratio: no scale.  Two are too few in any case.
    """
    checks = [_check(100, 90, closed=10), _check(100, 90), _check(100, 70), _check(100, 80)]
    assert _scales(checks, ["USD"], 0.75) == {"USD": 1.0}
    assert _scales(checks[:3], ["USD"], 1.0) == {"USD": 1.0}
    assert _scales(checks[:2], ["USD", "EUR"], 1.0) == {"EUR": 1.0, "USD": 1.0}
    assert _scales(checks, ["USD"], 0.76)["USD"] < 1  # worth 3.04: scaled


def test_split_deals_credit_each_rep_their_share():
    """
    x (open, 200 expected in February) is 3/4 ann's and 1/4 bob's: 150 and 50.  d2 (won for 100 on day
    20) is half bob's, and it is all the run rate's window on record booked: its 100 is 50 each
    (37.50 + 12.50 by month).  Of the 800 created, bob's share is 50 (d2) + 100 (x):
    of the generation's 25 a month, 4.6875 is his (4.69) and 20.3125 ann's (20.31).  Totals unchanged.
    """
    splits = CreditSplits(
        splits=[
            Split(opportunity_id="x", owner="ann", share="3/4"),
            Split(opportunity_id="x", owner="bob", share="1/4"),
            Split(opportunity_id="d2", owner="ann", share="1/2"),
            Split(opportunity_id="d2", owner="bob", share="1/2"),
        ]
    )
    report = expected_bookings(DEALS, EVENTS, PIPE, start=NOW, end=NOW + 20 * DAY, now=NOW, splits=splits)
    by_line = {(x.component, x.owner, x.month): x.amount for x in report.lines if x.amount}
    feb, mar = dt.date(2026, 2, 1), dt.date(2026, 3, 1)
    assert by_line == {
        ("pipeline", "ann", feb): usd("150.00"),
        ("pipeline", "bob", feb): usd("50.00"),
        ("generation", "ann", feb): usd("20.31"),
        ("generation", "ann", mar): usd("20.31"),
        ("generation", "bob", feb): usd("4.69"),
        ("generation", "bob", mar): usd("4.69"),
        ("run_rate", "ann", feb): usd("37.50"),
        ("run_rate", "ann", mar): usd("12.50"),
        ("run_rate", "bob", feb): usd("37.50"),
        ("run_rate", "bob", mar): usd("12.50"),
    }
    plain = expected_bookings(DEALS, EVENTS, PIPE, start=NOW, end=NOW + 20 * DAY, now=NOW)
    for name in COMPONENTS:
        assert report.component(name, "USD") == plain.component(name, "USD")
    assert report.total("USD") == plain.total("USD")


def test_a_past_period_is_judged_only_where_both_methods_could_forecast():
    """
    One past period fits after the first outcome (day 10): [20, 40) seen from day 20.  But then the
    run rate had no period on record ([0, 20) began before anything closed), so that period cannot
    judge the weight: no checks, weight 1 and scale 1, the total is the bottom-up's 200 + 50.
    """
    report = expected_bookings(DEALS, EVENTS, PIPE, start=NOW, end=NOW + 20 * DAY, now=NOW)
    assert report.checks == ()
    assert report.weights == {"USD": 1.0}
    assert report.scales == {"USD": 1.0}
    assert report.total("USD") == usd(250)
    assert report.quantile(0.9, "USD") is None  # no past error is no interval
    assert repr(report) == "<Bookings: 2026-02-14 to 2026-03-06 as of 2026-02-14: 250.00 USD>"


def test_the_weight_is_the_least_squares_one():
    """
    Past periods (B, R, A) = (50, 100, 100), (100, 60, 90), (80, 120, 100): sum (A - R)(B - R) =
    0 + 1200 + 800 and sum (B - R)^2 = 2500 + 1600 + 1600, so w = 2000 / 5700 = 20/57 (Bates & Granger
    1969, with the covariance); a run rate that never differed from the bottom-up gives 1/2, none 1.
    """

    def check(b, r, a, *, form="season"):
        got = _Parts()
        got.add("pipeline", "ann", dt.date(2026, 1, 1), "USD", decimal.Decimal(b))
        got.run_rate["USD"] = decimal.Decimal(r)
        got.forms = {"USD": form} if form != "plain" else {}
        return (NOW, NOW, NOW, "USD", got, {"USD": decimal.Decimal(a)})

    checks = [check(50, 100, 100), check(100, 60, 90), check(80, 120, 100)]
    assert _weights(checks, ["USD"], {})["USD"] == pytest.approx(20 / 57)
    assert _weights([check(70, 70, 90)], ["USD"], {}) == {"USD": 0.5}
    assert _weights([], ["USD"], {}) == {"USD": 1.0}


def test_the_weight_is_judged_on_run_rates_made_as_now():
    """
    The three periods above had the run rate's season on record; a fourth, (100, 0, 100), did not.
    With the season on record now, the three alone judge: 20/57.  Without it now, only one period is
    of its form (fewer than three), so all four judge: (2000 + 10000) / (5700 + 10000) = 120/157.
    """

    def check(b, r, a, *, form):
        got = _Parts()
        got.add("pipeline", "ann", dt.date(2026, 1, 1), "USD", decimal.Decimal(b))
        got.run_rate["USD"] = decimal.Decimal(r)
        got.forms = {"USD": form} if form != "plain" else {}
        return (NOW, NOW, NOW, "USD", got, {"USD": decimal.Decimal(a)})

    checks = [check(50, 100, 100, form="season"), check(100, 0, 100, form="plain")]
    checks += [check(100, 60, 90, form="season"), check(80, 120, 100, form="season")]
    assert _weights(checks, ["USD"], {}, forms={"USD": "season"})["USD"] == pytest.approx(20 / 57)
    assert _weights(checks, ["USD"], {}, forms={})["USD"] == pytest.approx(120 / 157)  # plain
    assert _weights(checks, ["USD"], {}, forms={"EUR": "season"})["USD"] == pytest.approx(120 / 157)
    assert _weights(checks, ["USD"], {})["USD"] == pytest.approx(120 / 157)  # no form given: all
    calendar = [check(50, 100, 100, form="calendar"), check(100, 60, 90, form="calendar")]
    calendar.append(check(80, 120, 100, form="calendar"))
    mixed = [*calendar, check(100, 0, 100, form="season")]
    assert _weights(mixed, ["USD"], {}, forms={"USD": "calendar"})["USD"] == pytest.approx(20 / 57)


def test_periods_before_the_first_outcome_are_not_on_record():
    """
    An export whose closes start on day 60 though its deals were created from day 0 (closes before
    it left out): w1 (100) won on day 60, w2 (200) on day 75, w3 (300) on day 90.  For [100, 120)
    seen at day 100, the run rate's 20-day periods on record are [80, 100) (300) and [60, 80) (300):
    300, not the 200 that counting [40, 60) as booking nothing would give.  The past periods judged
    start after the record does and need a run rate of their own: only the one seen from day 80.
    """
    deals = [
        deal("w1", 100, closed=60, won=True),
        deal("w2", 200, closed=75, won=True),
        deal("w3", 300, created=5, closed=90, won=True),
        deal("o", 50, created=50),
    ]
    events = [close("w1", 60, won=True), close("w2", 75, won=True)]
    events.append(attrs.evolve(close("w3", 90, won=True), time_in_stage=85 * DAY))
    now = T0 + 100 * DAY
    report = expected_bookings(deals, events, PIPE, start=now, end=now + 20 * DAY, now=now)
    assert report.component("run_rate", "USD") == usd(300)
    assert [k.now for k in report.checks] == [T0 + 80 * DAY]
    assert report.checks[0].run_rate == usd(100 + 200)  # [60, 80) alone was on record at day 80


def test_a_quiet_stretch_on_record_is_judged_with_a_run_rate_of_0():
    """
    Deals decided 30 days after creation (w90 after 25), 100 each: w0 won on day 30 (the record starts),
    l11, l21, l31, l41 lost on days 41 to 71, w55 won on day 85, w90 on day 115; o open since day 110.
    Seen from day 120 the past 20-day periods are judged from day 100, 80 and 60 (from day 40 the run
    rate had no period on record).  From day 80 and 60 its periods on record, [40, 80) and [40, 60),
    booked nothing: a run rate of 0, judged as such (the currency is on record), not left out.
    (B, R, A) by hand, the incidence of won by age 30 among the deals decided (Aalen-Johansen):

    - day 100: 2 won of 6, 1/3; w90 (age 10) wins within 20 days at 1/3: B = 33.33; R = [80, 100)
      booked 100 over the three periods on record: 33.33; A = 100 (w90);
    - day 80: 1 won of 5: w55 (age 25) at 1/5: B = 20; R = 0; A = 100 (w55);
    - day 60: 1 won of 3: l31 (age 29) and l41 (age 19) at 1/3 each: B = 66.67; R = 0; A = 0.

    No period ages 30 inside 20 days, so generation is 0; fewer than three scale 1.  The weight:
    sum (A - R)(B - R) / sum (B - R)^2 = (0 + 2000 + 0) / (0 + 400 + 40000/9) = 45/109 (with the
    quiet periods left out it was 1/2, the day-100 period alone, where B and R agree).
    """
    deals, events = [], []
    for oid, created, won, age in [
        ("w0", 0, True, 30), ("l11", 11, False, 30), ("l21", 21, False, 30), ("l31", 31, False, 30),
        ("l41", 41, False, 30), ("w55", 55, True, 30), ("w90", 90, True, 25),
    ]:  # fmt: skip
        deals.append(deal(oid, 100, created=created, closed=created + age, won=won))
        events.append(attrs.evolve(close(oid, created + age, won=won), time_in_stage=age * DAY))
    deals.append(deal("o", 100, created=110))
    now = T0 + 120 * DAY
    report = expected_bookings(deals, events, PIPE, start=now, end=now + 20 * DAY, now=now)
    judged = [((k.now - T0) / DAY, k.bottom_up, k.run_rate, k.actual) for k in report.checks]
    assert judged == [
        (100, usd("33.33"), usd("33.33"), usd(100)),
        (80, usd(20), usd(0), usd(100)),
        (60, usd("66.67"), usd(0), usd(0)),
    ]
    assert report.scales == {"USD": 1.0}
    assert report.weights["USD"] == pytest.approx(45 / 109)


def test_a_period_begun_before_now_counts_what_is_already_won():
    """From day 15 to day 35, seen at day 30: d2's 100 (won on day 20) is closed, known."""
    now = T0 + 30 * DAY
    report = expected_bookings(
        DEALS[:4], EVENTS, PIPE, start=T0 + 15 * DAY, end=T0 + 35 * DAY, now=now, backtests=0
    )
    assert report.component("closed", "USD") == usd(100)
    assert report.checks == ()
    assert report.weights == {"USD": 1.0}  # no past period: the bottom-up forecast alone


def test_what_was_not_known_at_now_is_refused():
    """An event after now, a deal created after now: look-ahead, refused by path."""
    with raises_problems(("events[1].at", "order")):
        expected_bookings(DEALS[:4], EVENTS, PIPE, start=T0 + 15 * DAY, end=T0 + 30 * DAY, now=T0 + 15 * DAY)
    with raises_problems(("opportunities[4].created_at", "order")):
        expected_bookings(DEALS, EVENTS, PIPE, start=NOW, end=NOW + DAY, now=T0 + 30 * DAY)


def test_bad_arguments_are_named():
    """Each option checked up front, with the code of what is wrong."""
    call = {"start": NOW, "end": NOW + DAY, "now": NOW}
    with raises_problems(("end", "order")):
        expected_bookings(DEALS, EVENTS, PIPE, start=NOW, end=NOW, now=NOW)
    with raises_problems(("end", "order")):
        expected_bookings(DEALS, EVENTS, PIPE, start=NOW - 9 * DAY, end=NOW - DAY, now=NOW)
    with raises_problems(("lookback", "range")):
        expected_bookings(DEALS, EVENTS, PIPE, **call, lookback=dt.timedelta(hours=1))
    with raises_problems(("season", "type")):
        expected_bookings(DEALS, EVENTS, PIPE, **call, season=365)
    with raises_problems(("backtests", "range")):
        expected_bookings(DEALS, EVENTS, PIPE, **call, backtests=61)
    with raises_problems(("pipeline", "type")):
        expected_bookings(DEALS, EVENTS, "p", **call)
    report = expected_bookings(DEALS, EVENTS, PIPE, **call)
    with raises_problems(("currency", "choice")):
        report.total("EUR")
    with raises_problems(("q", "range")):
        report.quantile(1.5, "USD")
    with raises_problems(("name", "choice")):
        report.component("hope", "USD")


def test_the_callers_decimal_context_changes_nothing():
    """Five digits and rounding up in the caller's context: the same report."""
    expected = expected_bookings(DEALS, EVENTS, PIPE, start=NOW, end=NOW + 20 * DAY, now=NOW)
    with decimal.localcontext(decimal.Context(prec=5, rounding=decimal.ROUND_UP)):
        got = expected_bookings(DEALS, EVENTS, PIPE, start=NOW, end=NOW + 20 * DAY, now=NOW)
    assert got == expected


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(0, 10**6), min_size=1, max_size=12),
    closes=st.lists(st.tuples(st.integers(1, 90), st.booleans() | st.none()), min_size=12, max_size=12),
    created=st.lists(st.integers(0, 89), min_size=12, max_size=12),
    window=st.tuples(st.integers(-30, 30), st.integers(1, 60)),
)
def test_the_parts_add_up_and_the_chances_are_chances(amounts, closes, created, window):
    """
    The lines add up to the components, the calibrated bottom-up is closed plus the scaled open part,
    the total is its weighted sum with the run rate (each to the half cent), every chance is in [0, 1].
    """
    now = T0 + 90 * DAY
    deals, events = [], []
    for i, amount in enumerate(amounts):
        day, won = closes[i]
        made = created[i]
        end = made + day
        oid = f"o{i}"
        if won is None or end > 90:
            deals.append(deal(oid, amount, created=made))
        else:
            deals.append(deal(oid, amount, created=made, closed=end, won=won))
            events.append(attrs.evolve(close(oid, end, won=won), time_in_stage=day * DAY))
    start = now + window[0] * DAY
    length = max(window[1], 1 - window[0])  # a period that ends after now
    report = expected_bookings(deals, events, PIPE, start=start, end=start + length * DAY, now=now)
    for name in ("closed", "pipeline", "generation", "run_rate"):
        lines = [x.amount for x in report.lines if x.component == name]
        assert Money.total(lines, currency="USD") == report.component(name, "USD")
    w, scale = Fraction(report.weights["USD"]), Fraction(report.scales["USD"])
    part = {name: Fraction(report.component(name, "USD").amount) for name in COMPONENTS}
    calibrated = part["closed"] + scale * (part["pipeline"] + part["generation"])
    assert abs(Fraction(report.calibrated("USD").amount) - calibrated) <= Fraction(1, 200)
    assert scale > 0
    assert 0 <= w <= 1
    exact = w * Fraction(report.calibrated("USD").amount) + (1 - w) * part["run_rate"]
    assert abs(Fraction(report.total("USD").amount) - exact) <= Fraction(1, 200)
    assert all(0 <= d.p_won_within <= 1 + 1e-12 for d in report.deals)
    assert {d.opportunity_id for d in report.deals} == {o.id for o in deals if o.status.value == "open"}
    assert all(k.now < now and k.end <= now for k in report.checks)


@settings(max_examples=40, deadline=None)
@given(
    amounts=st.lists(st.integers(1, 10**6), min_size=1, max_size=10),
    closes=st.lists(st.tuples(st.integers(1, 90), st.booleans()), min_size=10, max_size=10),
    created=st.lists(st.integers(0, 89), min_size=10, max_size=10),
    length=st.integers(5, 40),
    early=st.integers(1, 400),
)
def test_deals_older_than_the_first_outcome_leave_the_run_rate_alone(amounts, closes, created, length, early):
    """
    A deal created long before anything closed (still open) puts no earlier period on record: the run
    rate, and the past periods judged with their run rates and actuals, are the same with it or not.
    """
    now = T0 + 90 * DAY
    deals, events = [], []
    for i, amount in enumerate(amounts):
        (day, won), made = closes[i], created[i]
        if made + day > 90:
            deals.append(deal(f"o{i}", amount, created=made))
            continue
        deals.append(deal(f"o{i}", amount, created=made, closed=made + day, won=won))
        events.append(attrs.evolve(close(f"o{i}", made + day, won=won), time_in_stage=day * DAY))
    old = deal("old", 500, created=-early)
    call = {"start": now, "end": now + length * DAY, "now": now}
    plain = expected_bookings(deals, events, PIPE, **call)
    more = expected_bookings([old, *deals], events, PIPE, **call)
    assert more.component("run_rate", "USD") == plain.component("run_rate", "USD")
    assert [(k.now, k.run_rate, k.actual) for k in more.checks] == [
        (k.now, k.run_rate, k.actual) for k in plain.checks
    ]


def test_deals_in_another_currency_are_forecast_on_their_own():
    """Euros and dollars never mix: each currency has its own components and weight."""
    euros = [attrs.evolve(o, id=o.id + "e", amount=Money.of(o.amount.amount, "EUR")) for o in DEALS]
    euro_events = [attrs.evolve(e, opportunity_id=e.opportunity_id + "e") for e in EVENTS]
    report = expected_bookings(
        DEALS + euros, EVENTS + euro_events, PIPE, start=NOW, end=NOW + 20 * DAY, now=NOW
    )
    assert report.currencies == ("EUR", "USD")
    assert report.component("pipeline", "EUR") == Money.of("200", "EUR")
    assert report.component("pipeline", "USD") == usd(200)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_quantiles_are_a_prediction_interval_from_the_past_ratios(q):
    """
    With k past periods, the q quantile is the total times exp(m + t_q s sqrt(1 + 1/k)) for the mean m
    and standard deviation s of the logs of actual/forecast, t_q Student's with k - 1 degrees of freedom.
    """
    deals = [deal(f"w{i}", 100 + i, created=i, closed=i + 10, won=True) for i in range(0, 190, 5)]
    events = [close(o.id, (o.stage_entered_at - T0) // DAY, won=True) for o in deals]
    events = [attrs.evolve(e, time_in_stage=10 * DAY) for e in events]
    now = T0 + 200 * DAY
    report = expected_bookings(deals, events, PIPE, start=now, end=now + 20 * DAY, now=now)
    logs = [math.log(r) for r in report.ratios("USD")]
    k = len(logs)
    assert k >= 3
    mean = statistics.fmean(logs)
    factor = math.exp(mean + _student_t(q, k - 1) * statistics.stdev(logs) * math.sqrt(1 + 1 / k))
    expected = (report.total("USD").amount * decimal.Decimal(factor)).quantize(decimal.Decimal("0.01"))
    assert report.quantile(q, "USD") == Money.of(expected, "USD")


@pytest.mark.parametrize(
    ("df", "t90", "t975"),
    [(1, 3.078, 12.706), (2, 1.886, 4.303), (3, 1.638, 3.182), (5, 1.476, 2.571), (10, 1.372, 2.228)],
)
def test_student_t_quantiles_match_the_table(df, t90, t975):
    """Student's t quantiles as any table gives them (e.g. NIST/SEMATECH e-Handbook, 1.3.6.7.2)."""
    assert _student_t(0.9, df) == pytest.approx(t90, abs=5e-4)
    assert _student_t(0.975, df) == pytest.approx(t975, abs=5e-4)
    assert _student_t(0.1, df) == pytest.approx(-t90, abs=5e-4)


@given(q=st.floats(0.001, 0.999), df=st.sampled_from([1.0, 2.0]))
def test_student_t_quantiles_match_the_closed_forms(q, df):
    """
    With one degree of freedom t is Cauchy, ``tan(pi (q - 1/2))``; with two, ``(2q - 1) / sqrt(2 q (1 -
    q))`` (Hill 1970, Commun. ACM 13(10), algorithm 396): the quantile holds both to 1e-9.
    """
    exact = math.tan(math.pi * (q - 0.5)) if df == 1 else (2 * q - 1) / math.sqrt(2 * q * (1 - q))
    assert _student_t(q, df) == pytest.approx(exact, rel=1e-9, abs=1e-9)


def test_overlapping_past_periods_count_as_fewer():
    """
    A quarter judged on past quarters a month (30 days) apart: k = 12 ratios count as n = 12 * 30 / 91
    independent ones, so the interval uses t with n - 1 degrees of freedom and sqrt(1 + 1/n).
    """
    deals = [deal(f"w{i}", 100 + (i * 37) % 50, created=i, closed=i + 10, won=True) for i in range(0, 600, 3)]
    events = [attrs.evolve(close(o.id, (o.stage_entered_at - T0) // DAY, won=True), time_in_stage=10 * DAY)
              for o in deals]  # fmt: skip
    now = T0 + 610 * DAY
    report = expected_bookings(deals, events, PIPE, start=now, end=now + 91 * DAY, now=now)
    logs = [math.log(r) for r in report.ratios("USD")]
    k = len(logs)
    n = k * 30 / 91
    assert k == 12
    factor = math.exp(
        statistics.fmean(logs) + _student_t(0.9, n - 1) * statistics.stdev(logs) * math.sqrt(1 + 1 / n)
    )
    expected = (report.total("USD").amount * decimal.Decimal(factor)).quantize(decimal.Decimal("0.01"))
    assert report.quantile(0.9, "USD") == Money.of(expected, "USD")


def month_start(day):
    """The first instant of *day*'s month, UTC."""
    return dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC)


def months_back(t, k):
    """*t* k calendar months earlier, its day kept (or the month's last), written out for the tests."""
    m = t.year * 12 + t.month - 1 - k
    return t.replace(
        year=m // 12, month=m % 12 + 1, day=min(t.day, calendar.monthrange(m // 12, m % 12 + 1)[1])
    )


def lognormal_factor(q, parts):
    """
    The q quantile's factor from (share, past ratios) parts, written out: a lognormal with mean sum w a_i
    and sd sum w d_i, t at the fewest ratios less one.
    """
    whole = sum(share for share, _ in parts)
    a = sum(share / whole * statistics.fmean(r) for share, r in parts)
    d = sum(share / whole * statistics.stdev(r) for share, r in parts)
    n = min(len(r) for _, r in parts)
    s2 = math.log(1 + (d / a) ** 2)
    return math.exp(math.log(a) - s2 / 2 + _student_t(q, n - 1) * math.sqrt(s2) * math.sqrt(1 + 1 / n))


def test_too_few_whole_periods_judge_the_months_of_past_forecasts():
    """
    Six past quarters 30 days apart are worth 6 * 30 / 91 < 2: the quarter's interval comes from its
    parts instead: 7 to 30 September, October, and November with 1 to 7 December (six days, too few
    to stand alone: November's past ratios judge them), judged on the quarter's forecasts made whole
    calendar months before now (7 September) as far as each part had wholly ended: six ratios for
    the first, five for the second, four for the last.  Ending the quarter six hours later judges
    the same parts (its interval moves by less than 1 %).  Each part's actual is what its wins
    booked, and in both currencies apart its forecast what expected_bookings said for it then,
    combined with now's weight and scale.  The
    period's ratio is its parts' weighted by their shares w_i of the forecast, so it is taken as
    lognormal with mean sum w_i a_i and standard deviation sum w_i d_i (the parts' past ratios'
    means and sds), read with t at the fewest ratios less one (3).  With no past forecast judging
    the last part there is no interval.
    """
    usd_deals = [
        deal(f"w{i}", 100 + (i * 37) % 50, created=i, closed=i + 10, won=True) for i in range(0, 600, 3)
    ]
    eur_deals = [
        attrs.evolve(
            deal(f"e{i}", 1, created=i, closed=i + 12, won=True), amount=Money.of(80 + i * 13 % 70, "EUR")
        )
        for i in range(0, 600, 4)
    ]
    deals = usd_deals + eur_deals
    events = [attrs.evolve(close(o.id, (o.stage_entered_at - T0) // DAY, won=True), time_in_stage=10 * DAY)
              for o in deals]  # fmt: skip
    now = T0 + 610 * DAY
    call = {"start": now, "end": now + 91 * DAY, "now": now}
    fewer = expected_bookings(deals, events, PIPE, **call, backtests=6)
    for currency in ("EUR", "USD"):
        assert len(fewer.ratios(currency)) == 6
        assert [sum(k.currency == currency for k in part) for part in fewer.month_checks] == [6, 5, 4]
    parts = [
        [now.date().replace(day=1)],
        [dt.date(2027, 10, 1)],
        [dt.date(2027, 11, 1), dt.date(2027, 12, 1)],
    ]
    for part in fewer.month_checks:
        for k in part:
            back = next(j for j in range(1, 7) if months_back(now, j) == k.now)
            assert k.end <= now
            then = expected_bookings(
                as_of(deals, events, now=k.now), [e for e in events if e.at <= k.now], PIPE,
                start=months_back(now, back), end=months_back(now + 91 * DAY, back), now=k.now, backtests=0,
            )  # fmt: skip
            w, scale = fewer.weights[k.currency], fewer.scales[k.currency]
            factors = {"closed": w, "pipeline": w * scale, "generation": w * scale, "run_rate": 1 - w}
            first = k.start.date().replace(day=1)
            inside = [x for x in then.lines if first <= x.month and month_start(x.month) < k.end]
            said = sum(
                float(x.amount.amount) * factors[x.component]
                for x in inside
                if x.amount.currency == k.currency
            )
            assert float(k.combined.amount) == pytest.approx(said, abs=0.011)
            mine = [o for o in deals if o.amount.currency == k.currency]
            won = sum(o.amount.amount for o in mine if k.start <= o.stage_entered_at < k.end)
            assert k.actual == Money.of(won, k.currency)
    for currency in ("EUR", "USD"):
        w, scale = fewer.weights[currency], fewer.scales[currency]
        factors = {"closed": w, "pipeline": w * scale, "generation": w * scale, "run_rate": 1 - w}
        judged = []
        for firsts, part in zip(parts, fewer.month_checks, strict=True):
            said = sum(float(x.amount.amount) * factors[x.component] for x in fewer.lines
                       if x.amount.currency == currency and x.month in firsts)  # fmt: skip
            judged.append(
                (said, [float(k.actual.amount / k.combined.amount) for k in part if k.currency == currency])
            )
        expected = float(fewer.total(currency).amount) * lognormal_factor(0.9, judged)
        assert float(fewer.quantile(0.9, currency).amount) == pytest.approx(expected, abs=0.011)
        assert fewer.quantile(0.1, currency) < fewer.total(currency) < fewer.quantile(0.9, currency)
    assert all(k.start.day == 1 and months_back(k.end, 1) == k.start for k in fewer.month_checks[2])
    later = expected_bookings(
        deals, events, PIPE, **{**call, "end": call["end"] + dt.timedelta(hours=6)}, backtests=6
    )

    def spans(report):
        return [[(k.now, k.start, k.end, k.currency) for k in part] for part in report.month_checks]

    assert spans(later) == spans(fewer)  # the same parts judged; the run rates read 6 hours longer
    for q in (0.1, 0.9):
        assert float(later.quantile(q, "USD").amount) == pytest.approx(
            float(fewer.quantile(q, "USD").amount), rel=0.01
        )
    two = expected_bookings(deals, events, PIPE, **call, backtests=2)
    assert two.month_checks == ()  # no past forecast had the whole quarter behind it by now
    assert two.quantile(0.9, "USD") is None


def test_the_parts_interval_worked_by_hand():
    """
    A hand-made report for January to March 2026, 100 USD forecast in January and 300 in March, none
    in February.  January's past ratios 1.0 and 1.5 (mean 1.25, sd 0.35355), March's 0 and 0 (it
    booked nothing); February forecasts nothing, so its lack of past ratios does not matter.  With
    shares 1/4 and 3/4 the period's ratio has mean 0.3125 and sd at most 0.088388: lognormal with
    s^2 = ln(1 + 0.08) = 0.076961 and m = ln 0.3125 - s^2 / 2 = -1.20163; t at 1 degree of freedom
    (Cauchy: tan(0.4 pi) = 3.0777 for 90 %) gives exp(-1.20163 + 3.0777 * 0.27742 * sqrt(1.5)) =
    0.85561 of the 400 USD total, 342.25 USD.
    """
    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC)

    def check(month, actual, said):
        a = dt.datetime(2025, month, 1, tzinfo=dt.UTC)
        return BookingCheck(
            now=a, start=a, end=a + DAY, currency="USD", bottom_up=usd(said), run_rate=usd(said),
            combined=usd(said), actual=usd(actual),
        )  # fmt: skip

    lines = (
        BookingLine(component="pipeline", owner="ann", month=dt.date(2026, 1, 1), amount=usd(100)),
        BookingLine(component="pipeline", owner="ann", month=dt.date(2026, 3, 1), amount=usd(300)),
    )
    january = (check(1, 100, 100), check(2, 150, 100))
    march = (check(3, 0, 50), check(4, 0, 50))
    report = Bookings(start=start, end=end, now=start, lines=lines, deals=(), weights={"USD": 1.0}, checks=(),
                      month_checks=(january, (), march))  # fmt: skip
    s2 = math.log(1.08)
    by_hand = 400 * math.exp(math.log(0.3125) - s2 / 2 + math.tan(0.4 * math.pi) * math.sqrt(s2 * 1.5))
    assert by_hand == pytest.approx(342.25, abs=0.01)
    assert float(report.quantile(0.9, "USD").amount) == pytest.approx(by_hand, abs=0.006)
    parts = [(100, [1.0, 1.5]), (300, [0.0, 0.0])]
    assert 400 * lognormal_factor(0.9, parts) == pytest.approx(by_hand, rel=1e-12)
    short = attrs.evolve(report, month_checks=(january, (), march[:1]))
    assert short.quantile(0.9, "USD") is None  # March has one past ratio
    nothing = attrs.evolve(report, month_checks=((check(1, 0, 9), check(2, 0, 9)), (), march))
    assert nothing.quantile(0.9, "USD") is None  # every past part booked nothing: no scale to read


def test_a_short_first_piece_is_weighed_but_its_neighbour_judges_it():
    """
    A quarter from 31 July: its first piece, 31 July alone, joins August; the past forecasts judge
    that part on their whole Augusts' counterparts (1 July to 1 August a month back, and so on),
    never on a single day, and the interval reads their ratios for the share of both.
    """
    deals = [deal(f"w{i}", 100 + (i * 37) % 50, created=i, closed=i + 10, won=True) for i in range(0, 600, 3)]
    events = [attrs.evolve(close(o.id, (o.stage_entered_at - T0) // DAY, won=True), time_in_stage=10 * DAY)
              for o in deals]  # fmt: skip
    now = dt.datetime(2027, 7, 31, tzinfo=dt.UTC)
    known = [e for e in events if e.at <= now]
    report = expected_bookings(
        as_of(deals, events, now=now), known, PIPE, start=now, end=now + 92 * DAY, now=now, backtests=6
    )
    assert len(report.month_checks) == 3  # 31 July with August, September, October
    assert report.month_checks[0]
    for k in report.month_checks[0]:
        assert k.start.day == 1
        assert months_back(k.end, 1) == k.start  # a whole month
        assert k.end <= now
    assert report.quantile(0.9, "USD") is not None


def test_a_short_piece_at_either_end_joins_its_neighbour():
    """Pieces of 15 days or more stand alone; a shorter first or last one is judged with its neighbour."""

    def at(m, d):
        return dt.datetime(2027, m, d, tzinfo=dt.UTC)

    assert _pieces(_months(at(7, 31), at(10, 31))) == [[0, 1], [2], [3]]  # 31 July alone is one day
    assert _pieces(_months(at(7, 1), at(10, 6))) == [[0], [1], [2, 3]]  # 1 to 6 October
    assert _pieces(_months(at(7, 17), at(10, 16))) == [[0], [1], [2], [3]]  # 15 days at each end
    assert _pieces(_months(at(7, 25), at(8, 5))) == [[0, 1]]  # nothing left to judge apart


def test_past_errors_too_wild_for_an_interval_refuse_it_and_compare_shows_none():
    """
    Two past periods that booked 1/100 and 100 times their forecast: logs -4.6 and 4.6, so the 90 %
    quantile is exp(0 + 3.08 * 6.5 * sqrt(1.5)), more than a million times the forecast: quantile
    refuses it by naming q, and compare_forecasts, which asks for the 10-90 % interval itself, shows
    none rather than fail.
    """
    from funnelkit.forecast._comparison import _interval

    def check(actual):
        return BookingCheck(
            now=NOW - 60 * DAY, start=NOW - 60 * DAY, end=NOW - 40 * DAY, currency="USD", bottom_up=usd(100),
            run_rate=usd(100), combined=usd(100), actual=usd(actual),
        )  # fmt: skip

    line = BookingLine(component="pipeline", owner="ann", month=NOW.date().replace(day=1), amount=usd(100))
    report = Bookings(
        start=NOW, end=NOW + 20 * DAY, now=NOW, lines=(line,), deals=(), weights={"USD": 1.0},
        checks=(check(1), check(10_000)),
    )  # fmt: skip
    with raises_problems(("q", "range")):
        report.quantile(0.9, "USD")
    assert report.quantile(0.5, "USD") == usd(100)
    assert _interval(report, "USD") == (None, None)
