"""Tests for the weighted forecast and category roll-ups."""

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Money, Opportunity
from funnelkit.forecast import category_rollup, weighted_forecast
from funnelkit.stages import default_pipeline

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
PIPE = default_pipeline()


def deal(oid, owner, stage, amount, *, currency="USD", close=None, customer_id="c", **kw):
    status = {"won": "won", "lost": "lost"}.get(stage, "open")
    return Opportunity(
        id=oid, customer_id=customer_id, owner=owner, pipeline="default", stage=stage, status=status,
        created_at=T0, stage_entered_at=T0, amount=Money.of(amount, currency), expected_close=close,
        lost_reason="price" if status == "lost" else None, **kw,
    )  # fmt: skip


def test_by_owner_worked_by_hand():
    """40 % of 1000.05 = 400.02; 90 % of 333.33 = 299.997 -> 300.00; won counts in full; lost not at all."""
    opps = [
        deal("o1", "ann", "proposal", "1000.05"),
        deal("o2", "ann", "negotiation", "333.33"),
        deal("o3", "bob", "won", "500"),
        deal("o4", "bob", "lost", "9999"),
        deal("o5", "ann", "contact", "100", currency="CNY"),
    ]
    f = weighted_forecast(opps, PIPE, by=["owner"])
    assert [(ln.key, ln.currency, ln.deals, ln.weighted) for ln in f.lines] == [
        (("ann",), "CNY", 1, Money.of("10.00", "CNY")),
        (("ann",), "USD", 2, Money.of("700.02", "USD")),
        (("bob",), "USD", 1, Money.of("500", "USD")),
    ]
    assert f.total("USD") == Money.of("1200.02", "USD")


def test_each_deal_is_rounded_before_the_sum():
    """Three deals of 0.01 at 50 %: each 0.005 rounds half-even to 0.00, so the sum is 0.00, not 0.02."""
    assert PIPE.stage("approved").probability == Decimal("0.50")
    opps = [deal(f"o{i}", "ann", "approved", "0.01") for i in range(3)]
    assert weighted_forecast(opps, PIPE).total("USD") == Money.of("0.00", "USD")


def test_by_month_and_quarter_in_a_zone():
    """Open deals by expected close; won deals by the local day they were won."""
    # 20:00 UTC on 31 March is already 1 April in Shanghai.
    won_late = Opportunity(
        id="w", customer_id="c", owner="ann", pipeline="default", stage="won", status="won", created_at=T0,
        stage_entered_at=dt.datetime(2026, 3, 31, 20, tzinfo=dt.UTC), amount=Money.of(10, "USD"),
    )  # fmt: skip
    opps = [
        deal("a", "ann", "selected", "100", close=dt.date(2026, 5, 10)),
        won_late,
        deal("x", "ann", "proposal", "5"),
    ]
    by_month = weighted_forecast(opps, PIPE, by=["month"], tz="Asia/Shanghai")
    assert [(ln.key, ln.weighted.amount) for ln in by_month.lines] == [
        (("2026-04",), Decimal(10)),
        (("2026-05",), Decimal("75.00")),
        ((None,), Decimal("2.00")),
    ]
    by_quarter = weighted_forecast(opps, PIPE, by=["quarter"], tz="UTC")
    assert [ln.key for ln in by_quarter.lines] == [("2026-Q1",), ("2026-Q2",), (None,)]


def test_currency_conversion_with_rates():
    """With rates, every deal is converted, then weighted and rounded, into one currency."""
    opps = [deal("u", "ann", "proposal", "100"), deal("c", "ann", "proposal", "700", currency="CNY")]
    f = weighted_forecast(opps, PIPE, rates={"USD": Decimal(1), "CNY": Decimal("0.14")}, to_currency="USD")
    assert [(ln.currency, ln.weighted) for ln in f.lines] == [("USD", Money.of("79.20", "USD"))]
    with raises_problems(("rates", "missing")):
        weighted_forecast(opps, PIPE, rates={"USD": Decimal(1)}, to_currency="USD")


def test_category_rollup():
    """Commit includes closed; best case includes commit and closed; pipeline everything."""
    opps = [deal("o1", "ann", "proposal", "100"), deal("o2", "ann", "won", "50")]
    roll = category_rollup(weighted_forecast(opps, PIPE, by=["category"]))
    assert roll["closed", "USD"] == Money.of(50, "USD")
    assert roll["commit", "USD"] == Money.of(50, "USD")
    assert roll["pipeline", "USD"] == Money.of("90.00", "USD")


def test_bad_arguments():
    """Unknown dimensions, missing pipelines and half-given rates are refused."""
    with raises_problems(("by[0]", "choice")):
        weighted_forecast([], PIPE, by=["colour"])
    with raises_problems(("rates", "missing")):
        weighted_forecast([], PIPE, rates={"USD": Decimal(1)})
    with raises_problems(("opportunities[0].pipeline", "reference")):
        weighted_forecast([_in("enterprise")], PIPE)
    with raises_problems(("forecast", "state")):
        category_rollup(weighted_forecast([], PIPE))


def _in(pipeline_key):
    return Opportunity(
        id="z", customer_id="c", owner="ann", pipeline=pipeline_key, stage="x",
        created_at=T0, stage_entered_at=T0, amount=Money.of(1, "USD"),
    )  # fmt: skip


@given(st.lists(st.tuples(st.sampled_from([s.key for s in PIPE.stages]), st.integers(0, 10**7)), max_size=30))
def test_weighted_never_exceeds_total(raw):
    """The weighted sum never exceeds the amounts it weighs, and grouping conserves it."""
    opps = [
        deal(f"o{i}", f"r{i % 3}", stage, Decimal(cents).scaleb(-2)) for i, (stage, cents) in enumerate(raw)
    ]
    by_owner = weighted_forecast(opps, PIPE, by=["owner"])
    overall = weighted_forecast(opps, PIPE, by=[])
    for ln in by_owner.lines:
        assert ln.weighted <= ln.amount
    assert by_owner.total("USD") == overall.total("USD")


def test_by_customer_tier():
    """With tiers from an A/B/C grading, lines are per tier; ungraded customers have tier None."""
    opps = [
        deal("o1", "ann", "proposal", "1000", customer_id="big"),
        deal("o2", "ann", "negotiation", "100", customer_id="small"),
        deal("o3", "bob", "won", "50", customer_id="new"),
    ]
    f = weighted_forecast(opps, PIPE, by=["tier"], tiers={"big": "A", "small": "C"})
    assert [(ln.key, ln.weighted) for ln in f.lines] == [
        (("A",), Money.of("400.00", "USD")),
        (("C",), Money.of("90.00", "USD")),
        ((None,), Money.of("50", "USD")),
    ]
    with raises_problems(("tiers", "missing")):
        weighted_forecast(opps, PIPE, by=["tier"])
    with raises_problems(("tiers['big']", "choice")):
        weighted_forecast(opps, PIPE, by=["tier"], tiers={"big": "Z"})


def test_half_cent_rounds_half_even_once():
    """12.25 x 10 % = 1.225 -> 1.22 (half-even), and 12.35 x 10 % = 1.235 -> 1.24."""
    f = weighted_forecast(
        [deal("a", "ann", "contact", "12.25"), deal("b", "bob", "contact", "12.35")], PIPE, by=["owner"]
    )
    assert [ln.weighted for ln in f.lines] == [Money.of("1.22", "USD"), Money.of("1.24", "USD")]


DEALS = st.lists(
    st.tuples(
        st.sampled_from(["ann", "bob", "cat"]),
        st.sampled_from([s.key for s in PIPE.stages]),
        st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
        st.sampled_from(["USD", "EUR", "JPY"]),
        st.sampled_from([None, dt.date(2026, 3, 31), dt.date(2026, 7, 1)]),
    ),
    max_size=25,
)


def _deals(raw):
    return [
        deal(
            f"o{i}",
            owner,
            stage,
            str(amount.quantize(Decimal(1)) if cur == "JPY" else amount),
            currency=cur,
            close=close,
        )
        for i, (owner, stage, amount, cur, close) in enumerate(raw)
    ]


@given(
    DEALS,
    st.integers(0, 25),
    st.sampled_from([["owner"], ["stage", "quarter"], ["category", "month"], [], ["tier", "customer"]]),
    st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
    st.booleans(),
)
def test_merge_of_partitions_equals_one_pass(raw, cut, by, tz, convert):
    """Split the deals anywhere, forecast each part, merge: exactly the single-pass forecast."""
    deals = _deals(raw)
    options = {"by": by, "tz": tz, "tiers": {"c": "A"}}
    if convert:
        options.update(rates={"EUR": "1.0837", "JPY": "0.0067"}, to_currency="USD")
    whole = weighted_forecast(deals, PIPE, **options)
    left = weighted_forecast(deals[:cut], PIPE, **options)
    right = weighted_forecast(deals[cut:], PIPE, **options)
    assert left.merge(right) == whole
    assert right.merge(left) == whole


def test_merge_refuses_other_groupings():
    """Forecasts grouped differently do not merge."""
    a = weighted_forecast([], PIPE, by=["owner"])
    with raises_problems(("other.by", "conflict")):
        a.merge(weighted_forecast([], PIPE, by=["stage"]))


def test_conversion_rounds_once_in_the_target_currency():
    """
    1,234 JPY at 0.0067 is 8.2678 USD: won, it counts 8.27; at 40 % it is 3.30712 -> 3.31.
    10.00 USD at 150.123 JPY is 1,501.23 JPY: won, 1,501 yen (no decimals); 40 % -> 600.492 -> 600.
    A bad rate is named; the target currency needs no rate.
    """
    won_jpy = deal("w", "ann", "won", "1234", currency="JPY")
    open_jpy = deal("o", "bob", "proposal", "1234", currency="JPY")
    to_usd = weighted_forecast([won_jpy, open_jpy], PIPE, rates={"JPY": "0.0067"}, to_currency="USD")
    assert [(ln.key, ln.amount, ln.weighted) for ln in to_usd.lines] == [
        (("ann",), Money.of("8.27", "USD"), Money.of("8.27", "USD")),
        (("bob",), Money.of("8.27", "USD"), Money.of("3.31", "USD")),
    ]
    usd = [deal("w", "ann", "won", "10.00"), deal("o", "bob", "proposal", "10.00")]
    to_jpy = weighted_forecast(usd, PIPE, rates={"USD": "150.123"}, to_currency="JPY")
    assert [ln.weighted for ln in to_jpy.lines] == [Money.of("1501", "JPY"), Money.of("600", "JPY")]
    with raises_problems(("rates['USD']", "range")):
        weighted_forecast(usd, PIPE, rates={"USD": -1}, to_currency="JPY")


def test_won_deals_are_rounded_too():
    """A won amount finer than the minor unit is rounded like the others: 100.125 -> 100.12 (half-even)."""
    f = weighted_forecast([deal("w", "ann", "won", "100.125")], PIPE, by=[])
    assert f.lines[0].weighted == Money.of("100.12", "USD")


def test_bad_collections_are_refused():
    """Wrong types for the deals, the pipelines and the grouping are named."""
    with raises_problems(("opportunities", "type")):
        weighted_forecast(None, PIPE)
    with raises_problems(("pipelines['default']", "type")):
        weighted_forecast([], {"default": "x"})
    with raises_problems(("by", "type")):
        weighted_forecast([], PIPE, by=None)
    with raises_problems(("forecast", "type")):
        category_rollup(None)


def test_the_target_currency_needs_no_rate_of_its_own():
    """Converting into USD with only a EUR rate: USD deals count at 1, EUR deals at the rate."""
    opps = [deal("u", "ann", "proposal", "100"), deal("e", "ann", "proposal", "100", currency="EUR")]
    f = weighted_forecast(opps, PIPE, by=[], rates={"EUR": "1.1"}, to_currency="USD")
    assert [(ln.currency, ln.deals, ln.amount, ln.weighted) for ln in f.lines] == [
        ("USD", 2, Money.of("210.00", "USD"), Money.of("84.00", "USD"))
    ]


def test_the_callers_decimal_context_does_not_matter():
    """A caller's low-precision, trapping context changes nothing: funnelkit computes in its own."""
    import decimal

    opps = [deal("o1", "ann", "proposal", "1234567.89"), deal("o2", "ann", "won", "987654.321")]
    plain = weighted_forecast(opps, PIPE, by=["owner"])
    with decimal.localcontext(prec=3, traps=[decimal.Inexact, decimal.Rounded]):
        odd = weighted_forecast(opps, PIPE, by=["owner"])
    assert odd == plain
    assert plain.lines[0].weighted == Money.of("1481481.48", "USD")  # 493827.156 -> .16, + 987654.32


def test_a_bad_deal_after_good_ones_is_named():
    """The type check runs on every item, not only the first."""
    with raises_problems(("opportunities[1]", "type")):
        weighted_forecast([deal("o1", "ann", "proposal", "1"), None], PIPE)


def test_every_month_falls_in_its_quarter():
    """January-March are Q1, April-June Q2, July-September Q3, October-December Q4."""
    opps = [deal(f"m{m}", "ann", "proposal", "1", close=dt.date(2026, m, 15)) for m in range(1, 13)]
    by = weighted_forecast(opps, PIPE, by=["quarter"])
    assert [(ln.key, ln.deals) for ln in by.lines] == [
        (("2026-Q1",), 3),
        (("2026-Q2",), 3),
        (("2026-Q3",), 3),
        (("2026-Q4",), 3),
    ]
