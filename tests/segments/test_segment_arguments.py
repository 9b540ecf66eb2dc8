"""Hostile arguments to the segment functions: refused by name, fast, whatever the decimal context."""

import datetime as dt
import decimal
import itertools
import time
from decimal import Decimal

import pytest

from _problems import problems_of, raises_problems
from funnelkit import Activity, Customer, KeyPerson, Lead, Money, Opportunity, ValidationError
from funnelkit.errors import MAX_LISTED
from funnelkit.segments import (
    FollowUpPolicy,
    RepActivity,
    abc,
    abc_customers,
    activity_kpis,
    coverage,
    default_effective,
    due_followups,
    kpi_records,
    migration,
    period_start,
    relationships,
    result_kpis,
    rfm,
    work_queue,
)
from funnelkit.stages import StageChanged

NOW = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
POLICY = FollowUpPolicy(by_tier={"A": 7 * DAY, None: 30 * DAY})
HOSTILE = decimal.Context(prec=1, rounding=decimal.ROUND_DOWN, traps=list(decimal.Context().flags))


def _deep(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


class NoArgs:
    """A callable that takes no argument, with a stable repr."""

    def __call__(self):
        return 1

    def __repr__(self):
        return "NoArgs()"


def customer(cid, tier=None, owner="ann"):
    return Customer(id=cid, name=cid, created_at=NOW - 100 * DAY, tier=tier, owner=owner)


def activity(i, cid="c1", *, at=NOW - DAY, kind="visit"):
    return Activity(id=f"a{i}", kind=kind, at=at, rep_id="ann", customer_id=cid)


def lead(lid, intent, value):
    return Lead(
        id=lid, source="web", created_at=NOW, intent_score=intent, estimated_value=Money.of(value, "USD")
    )


class TestCollections:
    def test_not_an_iterable_names_the_parameter(self):
        """A collection argument that is not an iterable is refused at its own name."""
        with raises_problems(("activities", "type")):
            activity_kpis(None, period="day", tz="UTC")

    def test_a_str_is_not_a_collection(self):
        """A str is not taken for a collection of its characters."""
        with raises_problems(("leads", "type")):
            work_queue("x" * 1_000_000)

    def test_every_missing_collection_at_once(self):
        """due_followups reports every argument that is not an iterable."""
        with raises_problems(("customers", "type"), ("activities", "type"), ("opportunities", "type")):
            due_followups(1, activities=None, opportunities=2.5, policy=POLICY, now=NOW)

    def test_a_wrong_item_names_its_index(self):
        """An item of the wrong type is named by its index, with what was expected."""
        with raises_problems(("kpis[0]", "type"), ("kpis[1]", "type")):
            kpi_records([object, 3])

    @pytest.mark.parametrize(
        ("call", "path"),
        [
            (lambda junk: relationships([], activities=junk, key_persons=[], now=NOW), "activities[0]"),
            (lambda junk: relationships([], activities=[], key_persons=junk, now=NOW), "key_persons[0]"),
            (lambda junk: relationships(junk, activities=[], key_persons=[], now=NOW), "customers[0]"),
            (lambda junk: result_kpis([], [], period="day", tz="UTC", activities=junk), "activities[0]"),
            (lambda junk: result_kpis([], [], period="day", tz="UTC", customers=junk), "customers[0]"),
            (lambda junk: result_kpis(junk, [], period="day", tz="UTC"), "opportunities[0]"),
            (lambda junk: result_kpis([], junk, period="day", tz="UTC"), "events[0]"),
            (lambda junk: coverage(junk, quartiles={}, capacities={}), "customers[0]"),
            (abc_customers, "customers[0]"),
            (lambda junk: activity_kpis(junk, period="day", tz="UTC"), "activities[0]"),
            (lambda junk: due_followups([], activities=junk, policy=POLICY, now=NOW), "activities[0]"),
            (work_queue, "leads[0]"),
            (lambda junk: rfm(junk, now=NOW), "events[0]"),
        ],
    )
    def test_an_endless_generator_of_junk_is_refused_quickly(self, call, path):
        """Problems stop at MAX_LISTED, so an endless generator of junk ends in an error, not a hang."""
        start = time.monotonic()
        with pytest.raises(ValidationError) as e:
            call(itertools.count())
        assert time.monotonic() - start < 1
        assert problems_of(e)[0] == (path, "type")
        assert len(e.value.problems) <= MAX_LISTED


class TestFunctions:
    def test_not_a_function(self):
        """A profit that is not callable is refused before any lead is read."""
        with raises_problems(("profit", "type")):
            work_queue([], profit=5)

    def test_a_function_of_no_argument(self):
        """A function that cannot take the item is refused by name, not left to fail with a TypeError."""
        with raises_problems(("effective", "callable")):
            activity_kpis([], period="day", tz="UTC", effective=NoArgs())
        with raises_problems(("value", "callable")):
            abc_customers([customer("c1")], value=NoArgs())

    @pytest.mark.parametrize("junk", [object(), float("nan"), Decimal("NaN"), 10**40, True, "3"])
    def test_a_profit_that_returns_junk(self, junk):
        """A profit function's result is checked and named by the lead it was called with."""
        with raises_problems(("profit(leads[0])", "callable")):
            work_queue([lead("l1", "0.5", 10)], profit=lambda _lead: junk)

    def test_default_effective_needs_an_activity(self):
        """The default rule refuses anything but an Activity by name."""
        with raises_problems(("activity", "type")):
            default_effective(None)


class TestMappings:
    def test_targets_must_be_a_mapping(self):
        """attainment refuses targets that are not a mapping."""
        row = RepActivity(
            rep_id="ann", start=dt.date(2026, 3, 1), visits=4, effective_visits=2, calls=0, emails=0, meetings=0,
            minutes=0,
        )  # fmt: skip
        with raises_problems(("targets", "type")):
            row.attainment([("visits", 4)])

    def test_every_bad_target_at_once(self):
        """attainment reports every bad KPI name and target together."""
        row = RepActivity(
            rep_id="ann", start=dt.date(2026, 3, 1), visits=4, effective_visits=2, calls=0, emails=0, meetings=0,
            minutes=0,
        )  # fmt: skip
        with raises_problems(("targets", "choice"), ("targets['calls']", "range")):
            row.attainment({object(): 1, "calls": 0, "visits": 4})

    def test_coverage_mappings(self):
        """quartiles and capacities must be mappings keyed by rep id."""
        with raises_problems(("quartiles", "type")):
            coverage([], quartiles=None, capacities={})
        with pytest.raises(ValidationError) as e:
            coverage([], quartiles={"r1": 1}, capacities={object(): 1})
        ((path, code),) = problems_of(e)
        assert (path.startswith("capacities[<object object"), code) == (True, "type")
        with raises_problems(("quartiles['r1']", "type")):
            coverage([], quartiles={"r1": True}, capacities={})

    def test_coverage_policy(self):
        """A policy must give every tier a set of quartiles 1-4."""
        with raises_problems(("policy", "missing")):
            coverage([], quartiles={}, capacities={}, policy={"A": {1}})
        with raises_problems(("policy['B']", "range")):
            coverage([], quartiles={}, capacities={}, policy={"A": {1}, "B": {5}, "C": {4}})
        with raises_problems(("policy", "type")):
            coverage([], quartiles={}, capacities={}, policy=None)


class TestTiersAndPeriods:
    @pytest.mark.parametrize("junk", [_deep(10_000), [1], {"a": 1}, Decimal("sNaN"), "D"])
    def test_a_tier_that_is_not_one(self, junk):
        """Unhashable, deeply nested and unknown tiers are refused at the parameter."""
        with raises_problems(("tier", "choice")):
            POLICY.interval(tier=junk, stages=())
        m = migration({"c1": "B"}, {"c1": "A"})
        with raises_problems(("before", "choice")):
            m.cell(junk, "A")
        with raises_problems(("after", "choice")):
            m.count("A", junk)

    def test_a_deep_tier_in_a_grading(self):
        """A deeply nested value in a grading is refused, not a RecursionError."""
        with raises_problems(("before['c1']", "choice")):
            migration({"c1": _deep(10_000)}, {})

    def test_stages_must_be_strs(self):
        """interval's stages are an iterable of stage keys."""
        with raises_problems(("stages", "type")):
            POLICY.interval(tier="A", stages=None)
        with raises_problems(("stages[0]", "type")):
            POLICY.interval(tier="A", stages=[[1]])

    def test_a_deep_period(self):
        """A deeply nested period is refused by name."""
        with raises_problems(("period", "choice")):
            period_start(at=NOW, period=_deep(10_000), tz="UTC")

    def test_period_start_refuses_a_naive_time(self):
        """A naive datetime is refused, not read as local time."""
        with raises_problems(("at", "timezone")):
            period_start(at=dt.datetime(2026, 3, 1, 9), period="day", tz="UTC")

    @pytest.mark.parametrize("junk", [None, 1.7e9, "2026-01-01T00:00:00+00:00", dt.date(2026, 1, 1)])
    def test_period_start_needs_a_datetime(self, junk):
        """Anything but an aware datetime is refused at 'at'."""
        with raises_problems(("at", "type")):
            period_start(at=junk, period="day", tz="UTC")

    @pytest.mark.parametrize("tz", [None, "America", "Mars/Olympus_Mons", "UTC\x00", 5])
    def test_period_start_needs_a_zone(self, tz):
        """A bad zone is refused at 'tz'."""
        with raises_problems(("tz", "format" if isinstance(tz, str) else "type")):
            period_start(at=NOW, period="day", tz=tz)

    def test_period_start_takes_a_zone_name(self):
        """A zone may be given by its IANA name."""
        late = dt.datetime(2026, 3, 9, 3, 30, tzinfo=dt.UTC)
        assert period_start(at=late, period="day", tz="America/New_York") == dt.date(2026, 3, 8)

    def test_period_start_at_the_end_of_time(self):
        """An instant whose local day lies past datetime.max is refused, not an OverflowError."""
        with raises_problems(("at", "range")):
            period_start(at=dt.datetime.max.replace(tzinfo=dt.UTC), period="day", tz="Asia/Shanghai")


class TestNumbers:
    def test_rfm_bins_are_bounded(self):
        """bins has an upper limit."""
        with raises_problems(("bins", "range")):
            rfm([("a", NOW, 1)], now=NOW, bins=10**12)

    def test_rfm_reports_every_bad_event(self):
        """Each part of an (id, at, value) event is named, for every event at once."""
        events = [("", NOW, 1), ("a", dt.datetime(2026, 1, 1), 1), ("b", NOW, Decimal("1e999999999"))]
        with raises_problems(
            ("events[0][0]", "empty"), ("events[1][1]", "timezone"), ("events[2][2]", "range")
        ):
            rfm(events, now=NOW)

    def test_abc_values_are_bounded(self):
        """A value of 50 or more integer digits is refused, not a decimal Overflow."""
        with raises_problems(("values['a']", "limit")):
            abc({"a": Decimal("1e999999999"), "b": 1})

    @pytest.mark.parametrize("full", [0, -1, 10**7, 1.5, "3", None, True])
    def test_contacts_for_full_marks(self, full):
        """contacts_for_full_marks is an int from 1 to 1,000,000."""
        code = "range" if type(full) is int else "type"
        with raises_problems(("contacts_for_full_marks", code)):
            relationships([], activities=[], key_persons=[], now=NOW, contacts_for_full_marks=full)

    def test_contacts_for_full_marks_message(self):
        """The message gives the allowed range."""
        with raises_problems(("contacts_for_full_marks", "range")):
            relationships([], activities=[], key_persons=[], now=NOW, contacts_for_full_marks=0)

    @pytest.mark.parametrize("strong", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")])
    def test_strong_not_a_number(self, strong):
        """A NaN or infinite threshold is refused by name, not a decimal error."""
        with raises_problems(("strong", "range")):
            relationships([], activities=[], key_persons=[], now=NOW, strong=strong)


class TestEdgesOfTime:
    def test_a_window_past_the_first_datetime(self):
        """A window reaching back past datetime.min counts every contact instead of overflowing."""
        far = dt.datetime.min.replace(tzinfo=dt.UTC) + DAY
        (row,) = relationships(
            [customer("c1")], activities=[], key_persons=[], now=far, window=dt.timedelta.max
        )
        assert row.recency == 0

    def test_an_interval_past_the_last_datetime(self):
        """A follow-up interval that overflows datetime is never due."""
        policy = FollowUpPolicy(by_tier={None: dt.timedelta.max})
        assert due_followups([customer("c1")], activities=[], policy=policy, now=NOW) == ()

    def test_a_customer_without_an_interval_is_named(self):
        """A customer whose tier the policy lacks is named by its index."""
        with raises_problems(("customers[0].tier", "missing")):
            due_followups([customer("c1", tier="B")], activities=[], policy=POLICY, now=NOW)


class TestDecimalContext:
    def test_relationships_ignore_the_callers_context(self):
        """Strengths are the same under a one-digit, trap-everything decimal context."""
        customers = [customer("c1", tier="A"), customer("c2")]
        acts = [
            activity(1, at=NOW - 7 * DAY),
            activity(2, at=NOW - 40 * DAY),
            activity(3, "c2", at=NOW - DAY),
        ]
        kps = [KeyPerson(id="k1", customer_id="c1", name="Kim", role="decision_maker", stance="champion")]
        plain = relationships(customers, activities=acts, key_persons=kps, now=NOW)
        with decimal.localcontext(HOSTILE):
            hostile = relationships(customers, activities=acts, key_persons=kps, now=NOW)
        assert hostile == plain
        assert plain[0].recency == Decimal("0.96")  # 1 - 7/180, half-even to two places

    def test_rfm_ignores_the_callers_context(self):
        """Monetary sums are exact under a one-digit decimal context."""
        events = [("a", NOW - DAY, Decimal("12.34")), ("a", NOW, Decimal("0.01")), ("b", NOW, 5)]
        plain = rfm(events, now=NOW)
        with decimal.localcontext(HOSTILE):
            assert rfm(events, now=NOW) == plain
        assert plain[0].monetary == Decimal("12.35")

    def test_outcome_revenue_ignores_the_callers_context(self):
        """Revenue per currency is summed exactly under a one-digit decimal context."""
        opps = [
            Opportunity(
                id=f"o{i}", customer_id="c1", owner="ann", pipeline="p", stage="won", status="won",
                created_at=NOW - 9 * DAY, stage_entered_at=NOW - DAY, amount=Money.of(amount, "USD"),
            )
            for i, amount in enumerate(("1234.56", "0.01"))
        ]  # fmt: skip
        events = [
            StageChanged(
                opportunity_id=o.id, pipeline="p", kind="win", from_stage="neg", to_stage="won", at=NOW - DAY,
                actor="ann", version=1, time_in_stage=DAY,
            )
            for o in opps
        ]  # fmt: skip
        plain = result_kpis(opps, events, period="month", tz="UTC")
        with decimal.localcontext(HOSTILE):
            assert result_kpis(opps, events, period="month", tz="UTC") == plain
        assert plain[0].revenue["USD"] == Decimal("1234.57")

    def test_work_queue_ignores_the_callers_context(self):
        """Leads whose values differ beyond the caller's precision keep their order."""
        leads = [lead("l1", "0.5", "100"), lead("l2", "0.5", "190")]
        with decimal.localcontext(HOSTILE):
            assert [x.id for x in work_queue(leads)] == ["l2", "l1"]
