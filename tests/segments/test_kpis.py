"""Tests for activity KPIs per period (DST included) and rep quartiles."""

import datetime as dt
import itertools
import tracemalloc
import zoneinfo
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Activity, Money
from funnelkit.segments import activity_kpis, kpi_records, period_start, quartiles

NY = zoneinfo.ZoneInfo("America/New_York")


def act(i, rep, kind, local, **kw):
    """An activity at a local New York wall time."""
    return Activity(id=f"a{i}", kind=kind, at=local.replace(tzinfo=NY), rep_id=rep, customer_id="c", **kw)


# The US spring-forward week of 2026: Monday 2 March .. Sunday 8 March, and the clocks go
# from 02:00 EST to 03:00 EDT on Sunday 8 March; then the next week begins Monday 9 March.
WEEK = [
    act(1, "ann", "visit", dt.datetime(2026, 3, 2, 9), purpose="intro", feedback="keen"),  # effective
    act(2, "ann", "visit", dt.datetime(2026, 3, 4, 15), purpose="demo"),  # no feedback
    act(
        3, "ann", "call", dt.datetime(2026, 3, 8, 1, 30), duration=dt.timedelta(minutes=12)
    ),  # before the jump
    act(4, "ann", "call", dt.datetime(2026, 3, 8, 23, 59), duration=dt.timedelta(minutes=3)),  # Sunday, EDT
    act(5, "ann", "email", dt.datetime(2026, 3, 9, 0, 1)),  # Monday: next week
    act(6, "bob", "meeting", dt.datetime(2026, 3, 8, 3, 0), purpose="terms", feedback="ok"),  # effective
]


def test_a_week_across_the_dst_change_worked_by_hand():
    """Per ISO week in New York: the Sunday of the clock change still belongs to its week."""
    rows = {(r.rep_id, str(r.start)): r for r in activity_kpis(WEEK, period="week", tz=NY)}
    assert set(rows) == {("ann", "2026-03-02"), ("ann", "2026-03-09"), ("bob", "2026-03-02")}
    ann = rows["ann", "2026-03-02"]
    assert (ann.visits, ann.effective_visits, ann.calls, ann.emails, ann.minutes) == (2, 1, 2, 0, 15)
    assert rows["ann", "2026-03-09"].emails == 1
    bob = rows["bob", "2026-03-02"]
    assert (bob.meetings, bob.effective_visits, bob.visits) == (1, 1, 0)


def test_activity_kpis_merge_by_hand():
    """
    The week split after ann's first Sunday call: her week adds to 2 calls and 12 + 3 = 15
    minutes again, and the merge equals one pass; another period or zone does not merge.
    """
    left, right = activity_kpis(WEEK[:3], period="week", tz=NY), activity_kpis(WEEK[3:], period="week", tz=NY)
    merged = left.merge(right)
    assert merged == activity_kpis(WEEK, period="week", tz=NY)
    ann = merged[0]
    assert (ann.rep_id, str(ann.start), ann.calls, ann.minutes) == ("ann", "2026-03-02", 2, 15)
    with raises_problems(("other.period", "conflict")):
        left.merge(activity_kpis(WEEK[3:], period="day", tz=NY))


def test_days_are_local_days():
    """The 23-hour day of the change is one day; 23:59 on it is still that day, 00:01 the next."""
    rows = [
        (r.rep_id, str(r.start), r.calls, r.emails)
        for r in activity_kpis(WEEK, period="day", tz="America/New_York")
    ]
    assert ("ann", "2026-03-08", 2, 0) in rows
    assert ("ann", "2026-03-09", 0, 1) in rows


def test_months_and_period_start():
    """Monthly buckets, and the start of each period for an instant."""
    rows = activity_kpis(WEEK, period="month", tz=NY)
    assert [(r.rep_id, str(r.start), r.visits + r.calls + r.emails + r.meetings) for r in rows] == [
        ("ann", "2026-03-01", 5),
        ("bob", "2026-03-01", 1),
    ]
    utc = dt.datetime(2026, 3, 9, 3, 59, tzinfo=dt.UTC)  # 23:59 EDT on Sunday 8 March
    assert period_start(at=utc, period="day", tz=NY) == dt.date(2026, 3, 8)


def test_custom_effective_rule_and_targets():
    """An effective visit may need a key person; attainment compares counts to targets."""
    rows = activity_kpis(WEEK, period="week", tz=NY, effective=lambda a: a.kind == "visit")
    ann = next(r for r in rows if r.rep_id == "ann" and str(r.start) == "2026-03-02")
    assert ann.effective_visits == 2
    assert ann.attainment({"calls": 5, "visits": 2}) == {"calls": Fraction(2, 5), "visits": Fraction(1)}
    with raises_problems(("targets", "choice")):
        ann.attainment({"naps": 1})
    assert kpi_records([ann])[0]["calls"] == 2


def test_bad_arguments():
    """Unknown periods and zones are named."""
    with raises_problems(("period", "choice")):
        activity_kpis(WEEK, period="fortnight", tz=NY)
    with raises_problems(("tz", "format")):
        activity_kpis(WEEK, period="day", tz="Mars/Olympus")


def test_streaming_memory_does_not_grow_with_activities():
    """A generator of 20,000 activities for 2 reps in one week uses the memory of 2 rows, not 20,000."""

    def stream(n):
        start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
        for i in range(n):
            yield Activity(
                id=f"s{i}",
                kind="call",
                at=start + dt.timedelta(seconds=i),
                rep_id=f"r{i % 2}",
                customer_id="c",
            )

    def peak(n):
        tracemalloc.start()
        rows = activity_kpis(stream(n), period="week", tz=dt.UTC)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert sum(r.calls for r in rows) == n
        return top

    small, large = peak(2_000), peak(20_000)
    assert large < small * 2  # ten times the activities, not ten times the memory


class TestQuartiles:
    def test_by_hand(self):
        """Eight reps: two per quartile; ties share the better quartile."""
        scores = {"a": 80, "b": 70, "c": 60, "d": 50, "e": 40, "f": 40, "g": 20, "h": 10}
        assert quartiles(scores) == {"a": 1, "b": 1, "c": 2, "d": 2, "e": 3, "f": 3, "g": 4, "h": 4}

    def test_money_scores(self):
        """Revenue in one currency works; two currencies do not."""
        assert quartiles({"a": Money.of(5, "USD"), "b": Money.of(1, "USD")}) == {"a": 1, "b": 3}
        with raises_problems(("scores['b']", "currency")):
            quartiles({"a": Money.of(5, "USD"), "b": Money.of(1, "EUR")})

    def test_bad_input(self):
        """Empty or non-numeric scores are refused."""
        with raises_problems(("scores", "empty")):
            quartiles({})
        with raises_problems(("scores['a']", "type")):
            quartiles({"a": 1.5})

    @given(
        st.dictionaries(st.text(alphabet="abcdef", min_size=1, max_size=3), st.integers(0, 100), min_size=1)
    )
    def test_quartiles_order_reps(self, scores):
        """A better score never lands in a worse quartile; quartiles lie in 1..4; the best is 1."""
        q = quartiles(scores)
        assert set(q.values()) <= {1, 2, 3, 4}
        assert q[max(scores, key=scores.get)] == 1
        for x, y in itertools.permutations(scores, 2):
            if scores[x] > scores[y]:
                assert q[x] <= q[y]


class TestOutcomes:
    @staticmethod
    def book():
        """Deals o1-o4 of acme, bolt and cog, their closes in February and March, meetings, and bolt."""
        from funnelkit import Customer, Opportunity
        from funnelkit.stages import StageChanged

        t0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)

        def opp(oid, customer, amount):
            return Opportunity(
                id=oid, customer_id=customer, owner="ann", pipeline="p", stage="won", status="won",
                created_at=t0, stage_entered_at=t0, amount=Money.of(amount, "CNY"),
            )  # fmt: skip

        def closed(oid, kind, when, version=1):
            to = "won" if kind == "win" else "lost"
            return StageChanged(
                opportunity_id=oid, pipeline="p", kind=kind, from_stage="neg", to_stage=to, at=when,
                actor="ann", version=version, time_in_stage=dt.timedelta(days=1),
                lost_reason="price" if kind == "lose" else None,
            )  # fmt: skip

        opps = [
            opp("o1", "acme", "100.00"),
            opp("o2", "bolt", "50.00"),
            opp("o3", "acme", "70.00"),
            opp("o4", "cog", "5"),
        ]
        events = [
            closed("o1", "win", dt.datetime(2026, 2, 20, tzinfo=dt.UTC)),  # February: acme's first purchase
            closed("o3", "win", dt.datetime(2026, 3, 3, tzinfo=dt.UTC)),  # March: acme buys again
            closed("o2", "win", dt.datetime(2026, 3, 9, tzinfo=dt.UTC)),
            closed("o4", "lose", dt.datetime(2026, 3, 20, tzinfo=dt.UTC)),
        ]

        def meeting(mid, kind, day, customer, oid):
            when = dt.datetime(2026, 3, day, tzinfo=dt.UTC)
            return Activity(
                id=mid, kind=kind, at=when, rep_id="ann", customer_id=customer, opportunity_id=oid
            )

        meetings = [
            meeting("m1", "visit", 1, "acme", "o3"),
            meeting("m2", "meeting", 2, "acme", "o3"),
            meeting("m3", "visit", 8, "bolt", "o2"),
        ]
        customers = [
            Customer(id="bolt", name="Bolt", created_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC), owner="ann")
        ]
        return opps, events, meetings, customers

    def test_by_hand(self):
        """Two wins and a loss in March for ann: close rate 2/3, one single-meeting win, one repeat buyer."""
        from funnelkit.segments import result_kpis

        opps, events, meetings, customers = self.book()
        rows = result_kpis(opps, events, period="month", tz="UTC", activities=meetings, customers=customers)
        feb, mar = rows
        assert (str(feb.start), feb.won, feb.repeat_customers) == ("2026-02-01", 1, 0)
        assert (mar.won, mar.lost, mar.close_rate) == (2, 1, Fraction(2, 3))
        assert dict(mar.revenue) == {"CNY": Decimal("120.00")}
        assert (mar.single_meeting_wins, mar.multi_meeting_wins) == (1, 1)
        assert (mar.new_customers, mar.buying_customers, mar.repeat_customers) == (1, 2, 1)
        assert mar.repeat_purchase_rate == Decimal("0.5")

    def test_split_by_customer_merges_to_one_pass(self):
        """
        acme (o1, o3 and their meetings) | bolt and cog: the merge is the one-pass KPIs, acme's
        repeat purchase included.  Splitting acme itself (o1 | o3) loses the repeat: the merge
        needs each customer whole, as documented.
        """
        from funnelkit.segments import ResultKpis, result_kpis

        opps, events, meetings, customers = self.book()

        def kpis(keep):
            return result_kpis(
                [o for o in opps if keep(o.customer_id, o.id)],
                [
                    e
                    for e in events
                    if keep(next(o.customer_id for o in opps if o.id == e.opportunity_id), e.opportunity_id)
                ],
                period="month",
                tz="UTC",
                activities=[m for m in meetings if keep(m.customer_id, m.opportunity_id)],
                customers=[c for c in customers if keep(c.id, None)],
            )

        whole = kpis(lambda customer, deal: True)
        acme = kpis(lambda customer, deal: customer == "acme")
        rest = kpis(lambda customer, deal: customer != "acme")
        assert isinstance(whole, ResultKpis)
        assert acme.merge(rest) == whole == rest.merge(acme)
        first = kpis(lambda customer, deal: deal != "o3" and customer != "bolt")
        second = kpis(lambda customer, deal: deal == "o3" or customer == "bolt")
        assert first.merge(second)[1].repeat_customers == 0 != whole[1].repeat_customers


def _results(**counts):
    """A rep's outcomes in April 2026: 3 won of 4 closed, 4,500 USD, unless *counts* say otherwise."""
    from funnelkit.segments import RepResults

    fields = {
        "rep_id": "ann", "start": dt.date(2026, 4, 1), "won": 3, "lost": 1, "revenue": {"USD": Decimal(4500)},
        "single_meeting_wins": 1, "multi_meeting_wins": 2, "new_customers": 2, "buying_customers": 3,
        "repeat_customers": 1,
    }  # fmt: skip
    return RepResults(**{**fields, **counts})


def test_outcomes_have_targets_as_activities_do():
    """
    Won 3 of a target of 4 is 3/4; 4,500 USD of 6,000 is 3/4, and of a EUR target nothing; a close
    rate of 3/4 against a target of 1/2 is 3/2; with nothing closed the close rate's attainment is None.
    """
    r = _results()
    got = r.attainment({"won": 4, "revenue": Money.of(6000, "USD"), "close_rate": "1/2", "new_customers": 1})
    assert got == {
        "won": Fraction(3, 4),
        "revenue": Fraction(3, 4),
        "close_rate": Fraction(3, 2),
        "new_customers": 2,
    }
    assert r.attainment({"revenue": Money.of(100, "EUR")}) == {"revenue": 0}
    assert _results(won=0, lost=0).attainment({"close_rate": Decimal("0.4")}) == {"close_rate": None}


def test_bad_outcome_targets_are_named():
    """An unknown KPI, a non-positive count, revenue that is not Money and a rate outside (0, 1] are named."""
    with raises_problems(
        ("targets", "choice"),
        ("targets['won']", "range"),
        ("targets['revenue']", "type"),
        ("targets['close_rate']", "range"),
    ):
        _results().attainment({"naps": 1, "won": 0, "revenue": 6000, "close_rate": "1.5"})
    with raises_problems(("targets['close_rate']", "range")):
        _results().attainment({"close_rate": Decimal("1e999999999")})
