"""Credit splits: a deal's credit shared between reps, honoured by forecasts, targets and result KPIs."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import CreditSplits, Money, Opportunity, Split, from_dict, to_dict
from funnelkit.forecast import against_targets, weighted_forecast
from funnelkit.segments import result_kpis
from funnelkit.stages import MoveKind, StageChanged, default_pipeline

T = dt.datetime(2026, 4, 2, 9, tzinfo=dt.UTC)
PIPE = default_pipeline()


def deal(oid, stage, amount, *, owner="ann", currency="USD"):
    """An open deal of *owner* in *stage*, expected to close on 1 May 2026."""
    return Opportunity(
        id=oid, customer_id=f"c-{oid}", owner=owner, pipeline="default", stage=stage, created_at=T,
        stage_entered_at=T, amount=Money.of(amount, currency), expected_close=dt.date(2026, 5, 1),
    )  # fmt: skip


def won(oid, amount, *, owner="ann"):
    """Deal *oid* won for *amount* a day after it was created, and the event of the win."""
    at = T + dt.timedelta(days=1)
    opp = Opportunity(
        id=oid, customer_id=f"c-{oid}", owner=owner, pipeline="default", stage="won", status="won",
        created_at=T, stage_entered_at=at, amount=Money.of(amount, "USD"), version=1,
    )  # fmt: skip
    event = StageChanged(
        opportunity_id=oid, pipeline="default", kind=MoveKind.WIN, from_stage="negotiation", to_stage="won",
        at=at, actor=owner, version=1, time_in_stage=dt.timedelta(days=1),
    )  # fmt: skip
    return opp, event


def split(oid, **shares):
    """Split records of deal *oid*: rep=share."""
    return [Split(opportunity_id=oid, owner=rep, share=share) for rep, share in shares.items()]


SPLITS = CreditSplits(splits=[*split("b", ann="0.6", bob="0.4"), *split("c", bob="1/3", cy="2/3")])


def test_a_split_reads_exact_shares():
    """Text, Decimal, int and Fraction shares are exact; a deal's split is listed by rep."""
    assert Split(opportunity_id="o", owner="a", share="1/3").share == Fraction(1, 3)
    assert Split(opportunity_id="o", owner="a", share=Decimal("0.25")).share == Fraction(1, 4)
    assert Split(opportunity_id="o", owner="a", share=1).share == 1
    assert SPLITS.shares("c", "ann") == (("bob", Fraction(1, 3)), ("cy", Fraction(2, 3)))
    assert SPLITS.shares("z", "ann") == (("ann", 1),)  # not split: all the owner's
    assert SPLITS.deals == ("b", "c")


@pytest.mark.parametrize(
    ("share", "code"),
    [
        (0.5, "type"),
        ("half", "type"),
        (0, "range"),
        ("3/2", "range"),
        ("-1/2", "range"),
        ("1/3000000007", "limit"),
    ],
)
def test_a_bad_share_is_refused_by_name(share, code):
    """A float, text that is no number, a share outside (0, 1] or a long fraction is refused at share."""
    with raises_problems(("share", code)):
        Split(opportunity_id="o", owner="a", share=share)


def test_shares_must_add_up_to_one_each_rep_once():
    """The shares of a deal add up to exactly one, each rep once: the problems name the split."""
    with raises_problems(("splits[0].share", "range"), ("splits[3].owner", "duplicate")) as info:
        CreditSplits(splits=[*split("o", a="1/3", b="1/2"), *split("p", a="0.5"), *split("p", a="0.5")])
    assert "the shares of 'o' add up to 5/6, not 1" in str(info.value)


def test_allocate_by_hand():
    """
    Thirds of 100.00 USD are 66.67 and 33.33 (the largest remainder takes the cent); of 100 JPY (no minor
    unit) 67 and 33; of one cent, the cent goes to the larger share.
    """
    s = CreditSplits(splits=split("o", ann="2/3", bob="1/3"))
    assert s.allocate("o", "x", Money.of("100.00", "USD")) == (
        ("ann", Money.of("66.67", "USD")),
        ("bob", Money.of("33.33", "USD")),
    )
    assert s.allocate("o", "x", Money.of(100, "JPY")) == (
        ("ann", Money.of(67, "JPY")),
        ("bob", Money.of(33, "JPY")),
    )
    assert s.allocate("o", "x", Money.of("0.01", "USD")) == (
        ("ann", Money.of("0.01", "USD")),
        ("bob", Money.of("0.00", "USD")),
    )


@given(
    cents=st.integers(0, 10**15),
    weights=st.lists(st.integers(1, 1000), min_size=1, max_size=8),
)
def test_allocation_conserves_every_cent(cents, weights):
    """However a deal is split, its parts add up to its amount exactly, each within a cent of its share."""
    total = sum(weights)
    s = CreditSplits(
        splits=[
            Split(opportunity_id="o", owner=f"r{i:02d}", share=Fraction(w, total))
            for i, w in enumerate(weights)
        ]
    )
    money = Money.from_minor(cents, "USD")
    parts = s.allocate("o", "x", money)
    assert Money.total([m for _, m in parts], currency="USD") == money
    for (_, m), w in zip(parts, weights, strict=True):
        assert abs(Fraction(m.to_minor()) - Fraction(cents * w, total)) < 1


def test_splits_round_trip_as_documents():
    """CreditSplits is a value: to_dict and from_dict give it back, shares exact."""
    assert from_dict(CreditSplits, to_dict(SPLITS)) == SPLITS


def test_the_weighted_forecast_credits_each_rep_their_share():
    """
    b (1000 USD in proposal, 40 %: 400 weighted) is 60 % ann's and 40 % bob's: ann 600 / 240, bob 400 /
    160; c (900 in negotiation, 90 %: 810) is a third bob's, two thirds cy's: bob 300 / 270, cy 600 / 540;
    a (500 in proposal: 200) is ann's alone.  The deals count once in each rep's line.
    """
    deals = [deal("a", "proposal", 500), deal("b", "proposal", 1000), deal("c", "negotiation", 900)]
    report = weighted_forecast(deals, PIPE, splits=SPLITS)
    got = {ln.key[0]: (ln.deals, ln.amount, ln.weighted) for ln in report.lines}
    usd = lambda x: Money.of(x, "USD")  # noqa: E731
    assert got == {
        "ann": (2, usd("1100"), usd("440.00")),
        "bob": (2, usd("700"), usd("430.00")),
        "cy": (1, usd("600"), usd("540.00")),
    }
    plain = weighted_forecast(deals, PIPE)
    assert report.total("USD") == plain.total("USD")  # money neither appears nor disappears
    by_stage = weighted_forecast(deals, PIPE, by=("stage",), splits=SPLITS)
    assert by_stage == weighted_forecast(deals, PIPE, by=("stage",))  # no owner: splits change nothing


@given(
    amounts=st.lists(st.integers(0, 10**9), min_size=1, max_size=6),
    thirds=st.lists(st.integers(1, 5), min_size=6, max_size=6),
)
def test_splits_conserve_the_forecast(amounts, thirds):
    """With any splits, the forecast by owner and stage adds up per stage to the forecast without."""
    deals = [
        deal(f"d{i}", "proposal" if i % 2 else "negotiation", Decimal(a) / 100) for i, a in enumerate(amounts)
    ]
    splits = CreditSplits(
        splits=[
            s
            for i in range(len(deals))
            for s in split(f"d{i}", ann=Fraction(thirds[i], 6), bob=Fraction(6 - thirds[i], 6))
            if thirds[i] < 6
        ]
        + [s for i in range(len(deals)) if thirds[i] == 6 for s in split(f"d{i}", cy=1)]
    )
    with_splits = weighted_forecast(deals, PIPE, by=("stage", "owner"), splits=splits)
    without = weighted_forecast(deals, PIPE, by=("stage",))
    for ln in without.lines:
        mine = [x for x in with_splits.lines if x.key[0] == ln.key[0]]
        assert Money.total([x.amount for x in mine], currency="USD") == ln.amount
        assert Money.total([x.weighted for x in mine], currency="USD") == ln.weighted


def test_targets_count_each_reps_share():
    """
    b (1000, proposal, 40 %) split ann 60 % / bob 40 %; c won for 900, a third bob's, two thirds cy's.
    ann: open 600, weighted 240; bob: won 300, open 400, weighted 160; cy has no target: left out.
    """
    b = deal("b", "proposal", 1000)
    c, _ = won("c", 900)
    targets = {"ann": Money.of(1000, "USD"), "bob": Money.of(1000, "USD")}
    report = against_targets(
        [b, c], PIPE, targets=targets, start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1), splits=SPLITS
    )
    ann, bob = report.line("ann"), report.line("bob")
    assert (ann.won, ann.open_pipeline, ann.weighted_open) == (
        Money.of(0, "USD"),
        Money.of(600, "USD"),
        Money.of(240, "USD"),
    )
    assert (bob.won, bob.open_pipeline, bob.weighted_open) == (
        Money.of(300, "USD"),
        Money.of(400, "USD"),
        Money.of(160, "USD"),
    )


def test_targets_refuse_a_split_rep_whose_target_is_in_another_currency():
    """A split credits bob, whose target is in EUR: the deal is named, as for its owner."""
    from funnelkit.errors import CurrencyMismatchError

    targets = {"ann": Money.of(1000, "USD"), "bob": Money.of(1000, "EUR")}
    with pytest.raises(CurrencyMismatchError) as info:
        against_targets(
            [deal("b", "proposal", 1000)], PIPE, targets=targets, start=dt.date(2026, 4, 1),
            end=dt.date(2026, 7, 1), splits=SPLITS,
        )  # fmt: skip
    assert info.value.path == "opportunities[0].amount"


def test_result_kpis_split_the_revenue_and_count_the_win_for_each_rep():
    """c, won for 900 by bob's and cy's team (a third, two thirds): bob 300 and one win, cy 600 and one."""
    c, event = won("c", 900, owner="bob")
    report = result_kpis([c], [event], period="month", tz="UTC", splits=SPLITS)
    rows = {r.rep_id: (r.won, r.revenue) for r in report}
    assert rows == {"bob": (1, {"USD": Decimal("300.00")}), "cy": (1, {"USD": Decimal("600.00")})}
    plain = result_kpis([c], [event], period="month", tz="UTC")
    assert [(r.rep_id, r.won, r.revenue) for r in plain] == [("bob", 1, {"USD": Decimal(900)})]


def test_splits_must_be_splits():
    """splits= takes a CreditSplits or Split records; anything else is refused by name."""
    with raises_problems(("splits", "type")):
        weighted_forecast([], PIPE, splits="ann=0.5")
    with raises_problems(("splits[0]", "type")):
        weighted_forecast([], PIPE, splits=[{"opportunity_id": "o"}])
    assert weighted_forecast(
        [deal("b", "proposal", 10)], PIPE, splits=split("b", ann="1/2", bob="1/2")
    ).total("USD") == Money.of("4.00", "USD")
