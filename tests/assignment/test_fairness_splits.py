"""Fairness with credit splits: a split deal's lead credited to its reps by share, worked by hand."""

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st
from roster import NINE, rep

from _problems import raises_problems
from funnelkit import CreditSplits, Money, Opportunity, Split, from_dict
from funnelkit.assignment import Decision, FairnessReport, Team, fairness

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
TEAM = Team(reps=[rep("ann", 4), rep("bob", 6)])


def decision(lead_id, rep_id, value):
    """A decision at nine with a value in CNY."""
    money = None if value is None else Money.of(str(value), "CNY")
    return Decision(lead_id=lead_id, rep_id=rep_id, by="rules", reason="r", at=NINE, value=money)


def deal(deal_id, lead_id, owner="ann", at=NINE):
    """The opportunity lead *lead_id* became."""
    return Opportunity(
        id=deal_id, customer_id=f"c-{deal_id}", owner=owner, pipeline="default", stage="contact",
        created_at=at, stage_entered_at=at, lead_id=lead_id,
    )  # fmt: skip


def split(deal_id, **shares):
    """The splits of one deal, rep to share."""
    return [Split(opportunity_id=deal_id, owner=owner, share=share) for owner, share in shares.items()]


def test_split_leads_are_credited_by_share_worked_by_hand():
    """
    ann gets l1 (100.00) and l2 (50.00), bob l3 (30.00).  l1 became o1, split ann 2/3, bob 1/3;
    l3 became o3, split bob 1/2 and cat 1/2 (cat is not in the team: weight 0).
      credit: ann 2/3 + 1 = 5/3, bob 1/3 + 1/2 = 5/6, cat 1/2; total 3 leads, as without splits;
      value: o1's 100.00 allocated 66.67 / 33.33, o3's 30.00 as 15.00 / 15.00:
        ann 116.67, bob 48.33, cat 15.00; total 180.00;
      weights 4 + 6: expected ann 3 * 4/10 = 6/5, bob 9/5; ratio ann (5/3)/(6/5) = 25/18,
        bob (5/6)/(9/5) = 25/54;
      Gini of credit per weight (5/12, 5/36): |5/12 - 5/36| * 2 / (2 * 4 * 5/18) = 1/4.
    """
    decisions = [
        decision("l1", "ann", "100.00"),
        decision("l2", "ann", "50.00"),
        decision("l3", "bob", "30.00"),
    ]
    splits = CreditSplits(splits=[*split("o1", ann="2/3", bob="1/3"), *split("o3", bob="1/2", cat="1/2")])
    opps = [deal("o1", "l1"), deal("o3", "l3", owner="bob"), deal("o9", None)]
    report = fairness(decisions, team=TEAM, start=NINE, end=NINE + DAY, splits=splits, opportunities=opps)
    rows = {r.rep_id: r for r in report.rows}
    assert [r.rep_id for r in report.rows] == ["ann", "bob", "cat"]
    assert {k: r.leads for k, r in rows.items()} == {
        "ann": Fraction(5, 3),
        "bob": Fraction(5, 6),
        "cat": Fraction(1, 2),
    }
    assert {k: r.value for k, r in rows.items()} == {
        "ann": Money.of("116.67", "CNY"), "bob": Money.of("48.33", "CNY"), "cat": Money.of("15.00", "CNY"),
    }  # fmt: skip
    assert report.leads == 3
    assert (rows["ann"].expected, rows["bob"].expected, rows["cat"].expected) == (
        Decimal("1.2"), Decimal("1.8"), Decimal(0),
    )  # fmt: skip
    assert (rows["ann"].ratio, rows["bob"].ratio) == (Fraction(25, 18), Fraction(25, 54))
    assert report.gini == Fraction(1, 4)


def test_without_splits_or_a_link_nothing_changes():
    """No splits, no splits of a deal, or splits of deals no lead became: the report without splits."""
    decisions = [decision("l1", "ann", 100), decision("l2", "bob", 50)]
    plain = fairness(decisions, team=TEAM, start=NINE, end=NINE + DAY)
    splits = split("o1", ann="1/2", bob="1/2")
    for kwargs in (
        {"splits": [], "opportunities": [deal("o1", "l1")]},
        {"splits": splits, "opportunities": [deal("o1", "l7")]},
        {"splits": splits, "opportunities": []},
        {"splits": None, "opportunities": None},
    ):
        assert fairness(decisions, team=TEAM, start=NINE, end=NINE + DAY, **kwargs) == plain
    assert all(isinstance(r.leads, int) for r in plain.rows)


def test_splits_and_opportunities_come_together():
    """
    Splits without the opportunities that link them to leads (or the reverse) would credit nothing
    in silence: refused, naming the argument missing.
    """
    decisions = [decision("l1", "ann", 100)]
    args = {"team": TEAM, "start": NINE, "end": NINE + DAY}
    with raises_problems(("opportunities", "missing")):
        fairness(decisions, splits=split("o1", ann="1/2", bob="1/2"), **args)
    with raises_problems(("opportunities", "missing")):
        fairness(decisions, splits=CreditSplits(splits=()), **args)
    with raises_problems(("splits", "missing")):
        fairness(decisions, opportunities=[deal("o1", "l1")], **args)


def test_an_opportunity_listed_twice_is_refused():
    """Two opportunities with one id would credit a lead by whichever came first: refused at the second."""
    decisions = [decision("l1", "ann", 100), decision("l2", "ann", 100)]
    args = {"team": TEAM, "start": NINE, "end": NINE + DAY, "splits": split("o1", ann="1/2", bob="1/2")}
    with raises_problems(("opportunities[1].id", "duplicate")):
        fairness(decisions, opportunities=[deal("o1", "l1"), deal("o1", "l2")], **args)
    with raises_problems(("opportunities[2].id", "duplicate")):
        fairness(
            decisions,
            opportunities=(d for d in [deal("o1", "l1"), deal("o2", "l2"), deal("o1", "l1")]),
            **args,
        )


def test_the_earliest_deal_of_a_lead_carries_its_credit():
    """A lead that became two deals is credited by the earlier one's split (then the smaller id)."""
    decisions = [decision("l1", "ann", None)]
    splits = [*split("o1", ann="1/2", bob="1/2"), *split("o2", bob=1)]
    opps = [deal("o2", "l1", at=NINE + HOUR), deal("o1", "l1", at=NINE + HOUR)]
    report = fairness(decisions, team=TEAM, start=NINE, end=NINE + DAY, splits=splits, opportunities=opps)
    assert {r.rep_id: r.leads for r in report.rows} == {"ann": Fraction(1, 2), "bob": Fraction(1, 2)}
    opps.append(deal("o2b", "l1", at=NINE))
    report = fairness(
        decisions, team=TEAM, start=NINE, end=NINE + DAY, splits=[*splits, *split("o2b", bob=1)],
        opportunities=opps,
    )  # fmt: skip
    assert {r.rep_id: r.leads for r in report.rows} == {"ann": 0, "bob": 1}


def test_merged_partitions_give_the_credit_of_the_whole():
    """Split credit adds up over partitions split by lead, exactly; the report round-trips as a document."""
    decisions = [decision("l1", "ann", "100.00"), decision("l2", "bob", "50.00")]
    splits = [*split("o1", ann="1/3", bob="2/3"), *split("o2", ann="1/3", bob="2/3")]
    opps = [deal("o1", "l1"), deal("o2", "l2", owner="bob")]
    kw = {"team": TEAM, "start": NINE, "end": NINE + DAY, "splits": splits, "opportunities": opps}
    whole = fairness(decisions, **kw)
    assert fairness(decisions[:1], **kw).merge(fairness(decisions[1:], **kw)) == whole
    assert from_dict(FairnessReport, json.loads(json.dumps(whole.to_dict()))) == whole  # shares as "2/3"
    assert {r.rep_id: r.leads for r in whole.rows} == {"ann": Fraction(2, 3), "bob": Fraction(4, 3)}


def test_bad_splits_and_opportunities_are_named():
    """splits must be a CreditSplits or Splits; opportunities Opportunity items."""
    args = {"team": TEAM, "start": NINE, "end": NINE + DAY}
    with raises_problems(("splits", "type")):
        fairness([], splits="ann", **args)
    with raises_problems(("splits[0].share", "range")):
        fairness([], splits=split("o1", ann="1/2", bob="1/3"), **args)
    with raises_problems(("opportunities[0]", "type")):
        fairness([], splits=[], opportunities=["o1"], **args)


SHARES = st.sampled_from([Fraction(1, 2), Fraction(1, 3), Fraction(1, 4), Fraction(2, 5)])


@given(
    leads=st.lists(
        st.tuples(
            st.sampled_from(["ann", "bob", "cat"]),
            st.integers(0, 10**7),
            st.one_of(st.none(), st.tuples(st.sampled_from(["ann", "bob", "dan"]), SHARES)),
        ),
        max_size=12,
    )
)
def test_splits_conserve_the_leads_and_the_value(leads):
    """
    Whatever the splits, the leads credited and their value add up to those placed, each rep's
    credit lies between nothing and all of their leads plus the shares given them, and the report
    without splits is that of splits of nobody.
    """
    decisions, splits, opps = [], [], []
    for i, (owner, cents, shared) in enumerate(leads):
        decisions.append(decision(f"l{i}", owner, Decimal(cents).scaleb(-2)))
        opps.append(deal(f"o{i}", f"l{i}", owner=owner))
        if shared is not None and shared[0] != owner:
            splits += split(f"o{i}", **{owner: 1 - shared[1], shared[0]: shared[1]})
    args = {"team": TEAM, "start": NINE, "end": NINE + DAY}
    plain = fairness(decisions, **args)
    credited = fairness(decisions, splits=splits, opportunities=opps, **args)
    assert credited.leads == plain.leads == len(decisions)
    assert sum(r.leads for r in credited.rows) == len(decisions)
    total = sum((r.value.amount for r in credited.rows if r.value is not None), Decimal(0))
    assert total == sum((d.value.amount for d in decisions), Decimal(0))
    mine = {r.rep_id: r.leads for r in plain.rows}
    for r in credited.rows:
        assert 0 <= r.leads <= mine.get(r.rep_id, 0) + sum(1 for s in splits if s.owner == r.rep_id)
    assert fairness(decisions, splits=[], opportunities=opps, **args) == plain
