"""
Retention and churn per period and tier, and repeat-purchase cohorts: books worked by hand, a
brute-force oracle, and properties (each customer counted once per period, order and decimal
context irrelevant, no look-ahead).
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import random
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Activity, Money, Opportunity
from funnelkit.segments import abc, purchase_cohorts, retention

UTC = dt.UTC
DAY = dt.timedelta(days=1)
T0 = dt.datetime(2025, 1, 1, tzinfo=UTC)


def won(
    i: str, customer: str, at: dt.datetime, amount: str | None = "10", currency: str = "USD"
) -> Opportunity:
    """A deal won at *at*."""
    return Opportunity(
        id=i, customer_id=customer, owner="ann", pipeline="p", stage="won", status="won", created_at=at,
        stage_entered_at=at, amount=None if amount is None else Money.of(amount, currency),
    )  # fmt: skip


def day(month: int, d: int = 10, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, d, tzinfo=UTC)


# --- a book worked by hand ----------------------------------------------------------------------
# Quarters of 2026, now = 1 October 2026 (Q1-Q3 over; Q4 not).  Purchases:
#   a (A): Q1, Q2          -> new Q1, retained Q2, churned Q3
#   b (B): Q1, Q3          -> new Q1, churned Q2, reactivated Q3
#   c (A): Q2, Q4 (Nov)    -> new Q2, churned Q3 (the Q4 deal is in a period not over)
#   d (A): Q1, Q1, Q2, Q3  -> new Q1, retained Q2, retained Q3
#   e (C): lost deal only  -> never active
BOOK = [
    won("1", "a", day(2), "100"),
    won("2", "a", day(5), "50"),
    won("3", "b", day(1), "70"),
    won("4", "b", day(8), "30"),
    won("5", "c", day(4), "20"),
    won("6", "c", day(11), "90"),
    won("7", "d", day(1), "5"),
    won("8", "d", day(3), "5", "EUR"),
    won("9", "d", day(6), "5"),
    won("10", "d", day(9), "5"),
    Opportunity(
        id="11", customer_id="e", owner="ann", pipeline="p", stage="lost", status="lost", created_at=day(2),
        stage_entered_at=day(3), lost_reason="price",
    ),
]  # fmt: skip
TIERS = {"a": "A", "b": "B", "c": "A", "d": "A", "e": "C"}
NOW = dt.datetime(2026, 10, 1, tzinfo=UTC)


def _table(report):
    return [
        (r.period, r.tier and r.tier.value, r.active_before, r.new, r.reactivated, r.retained, r.churned)
        for r in report
    ]


def test_a_book_worked_by_hand_per_quarter_and_tier():
    """Who is new, retained, reactivated and churned in each quarter and tier, as worked out above."""
    report = retention(BOOK, now=NOW, tiers=TIERS)
    assert _table(report) == [
        ("2026-Q1", "A", 0, 2, 0, 0, 0),  # a, d new
        ("2026-Q1", "B", 0, 1, 0, 0, 0),  # b new
        ("2026-Q2", "A", 2, 1, 0, 2, 0),  # a, d retained; c new
        ("2026-Q2", "B", 1, 0, 0, 0, 1),  # b churned
        ("2026-Q3", "A", 3, 0, 0, 1, 2),  # d retained; a, c churned
        ("2026-Q3", "B", 0, 0, 1, 0, 0),  # b back
    ]
    assert report.row("2026-Q3", "A").churned_ids == ("a", "c")
    assert report.row("2026-Q2", "B").churned_ids == ("b",)
    assert report.row("2026-Q2", "A").retention_rate == 1
    assert report.row("2026-Q3", "A").churn_rate == pytest.approx(2 / 3)
    assert report.row("2026-Q4", "A") is None


def test_revenue_is_summed_per_currency_never_across():
    """d's Q1 deals in USD and EUR stay two sums; Q1 A revenue is a's 100 + d's 5 USD, and 5 EUR."""
    q1 = retention(BOOK, now=NOW, tiers=TIERS).row("2026-Q1", "A")
    assert q1.revenue == (Money.of("5", "EUR"), Money.of("105", "USD"))
    records = retention(BOOK, now=NOW, tiers=TIERS).to_records()
    assert records[0]["revenue_EUR"] == 5
    assert records[0]["revenue_USD"] == 105


def test_without_tiers_every_customer_is_in_one_group():
    """No tiers: one row per quarter, the sums of the tiers' rows."""
    report = retention(BOOK, now=NOW)
    assert _table(report) == [
        ("2026-Q1", None, 0, 3, 0, 0, 0),
        ("2026-Q2", None, 3, 1, 0, 2, 1),
        ("2026-Q3", None, 3, 0, 1, 1, 2),
    ]


def test_an_abc_grading_gives_the_tiers():
    """An AbcResult is read through its tiers."""
    grading = abc({"a": 50, "b": 1, "c": 40, "d": 30, "e": 1})
    assert retention(BOOK, now=NOW, tiers=grading) == retention(BOOK, now=NOW, tiers=dict(grading.tiers))


def test_a_window_of_two_quarters_keeps_customers_active_a_quarter_longer():
    """window=2: active in a quarter after a purchase in it or the one before; churn comes a quarter later."""
    report = retention(BOOK, now=NOW, window=2)
    assert _table(report) == [
        ("2026-Q1", None, 0, 3, 0, 0, 0),
        ("2026-Q2", None, 3, 1, 0, 3, 0),
        ("2026-Q3", None, 4, 0, 0, 4, 0),
    ]
    later = retention(BOOK, now=dt.datetime(2027, 1, 1, tzinfo=UTC), window=2)
    q4 = later.row("2026-Q4")
    assert (q4.retained, q4.churned, q4.churned_ids) == (3, 1, ("a",))


def test_months_and_a_zone_place_a_deal_in_its_local_period():
    """A deal won at 23:00 UTC on 31 March is April in Shanghai."""
    deal = won("x", "a", dt.datetime(2026, 3, 31, 23, tzinfo=UTC))
    now = dt.datetime(2026, 6, 1, tzinfo=UTC)
    assert [r.period for r in retention([deal], now=now, period="month")] == ["2026-03", "2026-04"]
    assert [r.period for r in retention([deal], now=now, period="month", tz="Asia/Shanghai")] == [
        "2026-04",
        "2026-05",
    ]


def test_weeks_and_years_are_named_like_the_calendar():
    """ISO week names, and years."""
    deal = won("x", "a", dt.datetime(2026, 1, 1, 9, tzinfo=UTC))  # a Thursday: ISO week 2026-W01
    weekly = retention([deal], now=dt.datetime(2026, 1, 20, tzinfo=UTC), period="week")
    assert [(r.period, r.start, r.new, r.churned) for r in weekly] == [
        ("2026-W01", dt.date(2025, 12, 29), 1, 0),
        ("2026-W02", dt.date(2026, 1, 5), 0, 1),
    ]
    yearly = retention([deal], now=dt.datetime(2028, 1, 1, tzinfo=UTC), period="year")
    assert [(r.period, r.new, r.churned) for r in yearly] == [("2026", 1, 0), ("2027", 0, 1)]


def test_qualifying_activity_keeps_a_customer_active():
    """With activities, contact that qualifies counts as activity; other contact does not."""
    visit = Activity(id="v", kind="visit", at=day(8), rep_id="ann", customer_id="a")
    mail = Activity(id="m", kind="email", at=day(8), rep_id="ann", customer_id="a")
    book = [won("1", "a", day(2)), won("2", "a", day(5))]
    plain = retention(book, now=NOW)
    assert plain.row("2026-Q3").churned_ids == ("a",)
    counted = retention(book, now=NOW, activities=[visit, mail])
    assert counted.row("2026-Q3").retained == 1
    visits_only = retention(book, now=NOW, activities=[mail], qualifying=lambda a: a.kind == "visit")
    assert visits_only.row("2026-Q3").churned == 1


def test_deals_and_activities_after_now_are_ignored():
    """No look-ahead: the report as of an earlier now equals the report of the book cut at that now."""
    early = dt.datetime(2026, 7, 1, tzinfo=UTC)
    visit = Activity(id="v", kind="visit", at=day(9), rep_id="ann", customer_id="a")
    cut = [o for o in BOOK if o.stage_entered_at <= early]
    assert retention(BOOK, now=early, activities=[visit]) == retention(cut, now=early)
    assert [r.period for r in retention(BOOK, now=early)] == ["2026-Q1", "2026-Q2"]


def test_the_period_holding_now_is_left_out():
    """A period that is not over has no row: its churn is not known yet."""
    report = retention(BOOK, now=dt.datetime(2026, 9, 30, 23, tzinfo=UTC))
    assert [r.period for r in report] == ["2026-Q1", "2026-Q2"]
    assert retention(BOOK, now=dt.datetime(2026, 1, 5, tzinfo=UTC)).rows == ()


def test_refuses_bad_arguments_by_name():
    """Each bad argument is named, with the item index where there is one."""
    with raises_problems(("period", "choice")):
        retention(BOOK, now=NOW, period="decade")
    with raises_problems(("window", "range")):
        retention(BOOK, now=NOW, window=0)
    with raises_problems(("window", "type")):
        retention(BOOK, now=NOW, window=dt.timedelta(days=90))
    with raises_problems(("now", "timezone")):
        retention(BOOK, now=dt.datetime(2026, 10, 1))
    with raises_problems(("opportunities[1]", "type")):
        retention([BOOK[0], "deal"], now=NOW)
    with raises_problems(("activities", "type")):
        retention(BOOK, now=NOW, activities="visits")
    with raises_problems(("tiers['a']", "choice")):
        retention(BOOK, now=NOW, tiers={"a": "D"})
    with raises_problems(("qualifying", "type")):
        retention(BOOK, now=NOW, qualifying=5)
    with raises_problems(("other", "type")):
        retention(BOOK, now=NOW).merge(5)
    with raises_problems(("other.window", "conflict")):
        retention(BOOK, now=NOW).merge(retention(BOOK, now=NOW, window=2))


# --- cohorts by hand ------------------------------------------------------------------------


def test_repeat_purchase_cohorts_by_hand():
    """
    Quarterly cohorts of BOOK (now 1 Oct 2026): Q1 = {a, b, d}, Q2 = {c}.  Repeats: d bought twice in
    Q1 (repeat at +0), a again in Q2 (+1), b again in Q3 (+2); c's second deal is in Q4 (not over).
    """
    cohorts = purchase_cohorts(BOOK, now=NOW, period="quarter")
    assert [(r.cohort, r.offset, r.customers, r.buyers, r.repeated) for r in cohorts] == [
        ("2026-Q1", 0, 3, 3, 1),
        ("2026-Q1", 1, 3, 2, 2),
        ("2026-Q1", 2, 3, 2, 3),
        ("2026-Q2", 0, 1, 1, 0),
        ("2026-Q2", 1, 1, 0, 0),
    ]
    first = cohorts.rows[0]
    assert first.revenue == (Money.of("5", "EUR"), Money.of("175", "USD"))
    assert cohorts.rows[2].repeat_share == 1
    assert "2026-Q1" in str(cohorts)


def test_cohorts_refuse_bad_arguments_by_name():
    """The period, now and items are named."""
    with raises_problems(("period", "choice")):
        purchase_cohorts(BOOK, now=NOW, period="day")
    with raises_problems(("opportunities[0]", "type")):
        purchase_cohorts([None], now=NOW)
    with raises_problems(("other.now", "conflict")):
        purchase_cohorts(BOOK, now=NOW).merge(purchase_cohorts(BOOK, now=NOW + DAY))


# --- an oracle: every customer, every period, by brute force ----------------------------------

GRAINS = {"week": 7, "month": 31, "quarter": 92, "year": 366}


def _first_day(d: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return d - dt.timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
    return d.replace(month=1, day=1)


def _oracle(deals, activities, *, now, grain, tz, tiers, window):
    """Counts per (period start, tier) by checking every customer in every period."""
    zone = ZoneInfo(tz) if tz != "UTC" else UTC
    current = _first_day(now.astimezone(zone).date(), grain)
    bought: dict[str, set[dt.date]] = {}
    for o in deals:
        if o.status == "won" and o.stage_entered_at <= now:
            first = _first_day(o.stage_entered_at.astimezone(zone).date(), grain)
            if first < current:
                bought.setdefault(o.customer_id, set()).add(first)
    for a in activities:
        if a.at <= now:
            first = _first_day(a.at.astimezone(zone).date(), grain)
            if first < current:
                bought.setdefault(a.customer_id, set()).add(first)
    if not bought:
        return Counter()
    periods = [min(min(s) for s in bought.values())]
    while (nxt := _first_day(periods[-1] + dt.timedelta(days=GRAINS[grain]), grain)) < current:
        periods.append(nxt)
    index = {p: i for i, p in enumerate(periods)}

    def active(cid, i):
        return i >= 0 and any(
            0 <= i - k < len(periods) and periods[i - k] in bought[cid] for k in range(window)
        )

    counts: Counter = Counter()
    for cid, mine in bought.items():
        tier = tiers.get(cid)
        for p, i in index.items():
            now_on, before = active(cid, i), active(cid, i - 1)
            ever = any(q in mine for q in periods[:i])
            if now_on and before:
                counts[(p, tier, "retained")] += 1
            elif now_on:
                counts[(p, tier, "reactivated" if ever else "new")] += 1
            elif before:
                counts[(p, tier, "churned")] += 1
    return counts


def _counts(report):
    out: Counter = Counter()
    for r in report:
        tier = None if r.tier is None else r.tier.value
        for status in ("new", "reactivated", "retained", "churned"):
            if getattr(r, status):
                out[(r.start, tier, status)] += getattr(r, status)
    return out


@st.composite
def books(draw):
    """Deals (won, lost, open; USD or EUR) and activities of six customers over two years."""
    deals, activities = [], []
    for i in range(draw(st.integers(0, 25))):
        at = T0 + draw(st.integers(0, 730 * 4)) * dt.timedelta(hours=6)
        status = draw(st.sampled_from(["won", "won", "won", "lost", "open"]))
        customer = f"c{draw(st.integers(0, 5))}"
        amount = Money.of(draw(st.integers(1, 1000)), draw(st.sampled_from(["USD", "EUR"])))
        deals.append(
            Opportunity(
                id=f"o{i}", customer_id=customer, owner="ann", pipeline="p", stage=status, status=status,
                created_at=at - DAY, stage_entered_at=at, amount=amount,
                lost_reason="price" if status == "lost" else None,
            )
        )  # fmt: skip
    for i in range(draw(st.integers(0, 6))):
        at = T0 + draw(st.integers(0, 730)) * DAY
        activities.append(
            Activity(id=f"a{i}", kind="call", at=at, rep_id="ann", customer_id=f"c{draw(st.integers(0, 5))}")
        )
    return deals, activities


TIER_DRAW = st.dictionaries(st.sampled_from([f"c{i}" for i in range(6)]), st.sampled_from(["A", "B", "C"]))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    book=books(),
    tiers=TIER_DRAW,
    grain=st.sampled_from(list(GRAINS)),
    tz=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
    window=st.integers(1, 4),
    days=st.integers(0, 800),
)
def test_the_report_is_the_brute_force_count(book, tiers, grain, tz, window, days):  # noqa: PLR0917
    """Every customer's status in every period, found by checking each one, is what the report counts."""
    deals, activities = book
    now = T0 + days * DAY + dt.timedelta(hours=5)
    report = retention(deals, now=now, period=grain, tz=tz, tiers=tiers, activities=activities, window=window)
    assert _counts(report) == _oracle(
        deals, activities, now=now, grain=grain, tz=tz, tiers=tiers, window=window
    )


@SETTINGS
@given(book=books(), tiers=TIER_DRAW, window=st.integers(1, 3), seed=st.integers(0, 2**32))
def test_each_customer_is_counted_once_per_period_and_order_is_irrelevant(book, tiers, window, seed):
    """active_before = retained + churned, active = new + reactivated + retained; order changes nothing."""
    deals, activities = book
    now = T0 + 800 * DAY
    report = retention(deals, now=now, period="month", tiers=tiers, activities=activities, window=window)
    previous: dict[object, int] = {}
    for r in report:
        assert r.active_before == r.retained + r.churned
        assert r.active == r.new + r.reactivated + r.retained
        assert r.churned == len(r.churned_ids) == len(set(r.churned_ids))
        previous[r.tier] = r.active
    rng = random.Random(seed)
    shuffled_deals, shuffled_activities = deals[:], activities[:]
    rng.shuffle(shuffled_deals)
    rng.shuffle(shuffled_activities)
    reordered = dict(reversed(list(tiers.items())))
    again = retention(
        shuffled_deals,
        now=now,
        period="month",
        tiers=reordered,
        activities=shuffled_activities,
        window=window,
    )
    assert again == report
    with decimal.localcontext(decimal.Context(prec=1, traps=[decimal.Inexact, decimal.Rounded])):
        assert (
            retention(deals, now=now, period="month", tiers=tiers, activities=activities, window=window)
            == report
        )


@SETTINGS
@given(book=books(), days=st.integers(0, 800))
def test_active_before_is_last_periods_active(book, days):
    """Counted per period, the customers active before are those active in the row of the period before."""
    deals, _ = book
    report = retention(deals, now=T0 + days * DAY, period="month")
    rows = list(report)
    for before, after in itertools.pairwise(rows):
        if (after.start.year * 12 + after.start.month) - (before.start.year * 12 + before.start.month) == 1:
            assert after.active_before == before.active
        else:
            assert after.active_before == 0


@SETTINGS
@given(
    book=books(), grain=st.sampled_from(list(GRAINS)), days=st.integers(0, 800), seed=st.integers(0, 2**32)
)
def test_cohort_sizes_never_grow(book, grain, days, seed):
    """Buyers never exceed the cohort; repeats only grow and stay within it; order changes nothing."""
    deals, _ = book
    now = T0 + days * DAY
    cohorts = purchase_cohorts(deals, now=now, period=grain, tz="Asia/Tokyo")
    by_cohort: dict[str, list] = {}
    for r in cohorts:
        by_cohort.setdefault(r.cohort, []).append(r)
    firsts = 0
    for rows in by_cohort.values():
        assert [r.offset for r in rows] == list(range(len(rows)))
        assert rows[0].buyers == rows[0].customers
        assert all(r.customers == rows[0].customers and r.buyers <= r.customers for r in rows)
        assert all(a.repeated <= b.repeated <= b.customers for a, b in itertools.pairwise(rows))
        firsts += rows[0].customers
    zone = ZoneInfo("Asia/Tokyo")
    current = _first_day(now.astimezone(zone).date(), grain)
    buyers = {
        o.customer_id
        for o in deals
        if o.status == "won"
        and o.stage_entered_at <= now
        and _first_day(o.stage_entered_at.astimezone(zone).date(), grain) < current
    }
    assert firsts == len(buyers)
    shuffled = deals[:]
    random.Random(seed).shuffle(shuffled)
    assert purchase_cohorts(shuffled, now=now, period=grain, tz="Asia/Tokyo") == cohorts


@SETTINGS
@given(book=books(), seed=st.integers(0, 2**32))
def test_reports_of_parts_split_by_customer_merge_into_the_whole(book, seed):
    """Retention and cohorts of customers split in two, merged, are those of all of them."""
    deals, activities = book
    rng = random.Random(seed)
    side = {f"c{i}": rng.random() < 0.5 for i in range(6)}
    now = T0 + 700 * DAY
    parts = [[o for o in deals if side[o.customer_id] is s] for s in (True, False)]
    acts = [[a for a in activities if side[a.customer_id] is s] for s in (True, False)]
    made = [
        retention(p, now=now, period="month", activities=a, window=2)
        for p, a in zip(parts, acts, strict=True)
    ]
    assert made[0].merge(made[1]) == retention(
        deals, now=now, period="month", activities=activities, window=2
    )
    cohorts = [purchase_cohorts(p, now=now) for p in parts]
    assert cohorts[0].merge(cohorts[1]) == purchase_cohorts(deals, now=now)
