"""Hostile arguments to the segment functions: refused by name, fast, whatever the decimal context."""

import datetime as dt
import decimal
import itertools
import time
from decimal import Decimal

import pytest

from funnelkit import Activity, Customer, KeyPerson, Lead, Money, Opportunity, ValidationError
from funnelkit.errors import MAX_LISTED
from funnelkit.segments import (
    FollowUpPolicy,
    RepPeriod,
    abc,
    abc_customers,
    activity_kpis,
    coverage,
    default_effective,
    due_followups,
    kpi_records,
    migration,
    outcome_kpis,
    period_start,
    relationships,
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


def problem(exc_info):
    """The only problem of a raised ValidationError."""
    (only,) = exc_info.value.problems
    return only


class TestCollections:
    def test_not_an_iterable_names_the_parameter(self):
        """A collection argument that is not an iterable is refused at its own name."""
        with pytest.raises(ValidationError) as e:
            activity_kpis(None, period="day", tz="UTC")
        assert str(problem(e)) == "activities: None is not an iterable of Activity"

    def test_a_str_is_not_a_collection(self):
        """A str is not taken for a collection of its characters."""
        with pytest.raises(ValidationError) as e:
            work_queue("x" * 1_000_000)
        assert problem(e).path == "leads"

    def test_every_missing_collection_at_once(self):
        """due_followups reports every argument that is not an iterable."""
        with pytest.raises(ValidationError) as e:
            due_followups(1, activities=None, opportunities=2.5, policy=POLICY, now=NOW)
        assert [p.path for p in e.value.problems] == ["customers", "activities", "opportunities"]

    def test_a_wrong_item_names_its_index(self):
        """An item of the wrong type is named by its index, with what was expected."""
        with pytest.raises(ValidationError) as e:
            kpi_records([object, 3])
        assert [p.path for p in e.value.problems] == ["kpis[0]", "kpis[1]"]
        assert e.value.problems[1].message == "3 is an int; expected a RepPeriod"

    @pytest.mark.parametrize(
        ("call", "path"),
        [
            (lambda junk: relationships([], activities=junk, key_persons=[], now=NOW), "activities[0]"),
            (lambda junk: relationships([], activities=[], key_persons=junk, now=NOW), "key_persons[0]"),
            (lambda junk: relationships(junk, activities=[], key_persons=[], now=NOW), "customers[0]"),
            (lambda junk: outcome_kpis([], [], period="day", tz="UTC", activities=junk), "activities[0]"),
            (lambda junk: outcome_kpis([], [], period="day", tz="UTC", customers=junk), "customers[0]"),
            (lambda junk: outcome_kpis(junk, [], period="day", tz="UTC"), "opportunities[0]"),
            (lambda junk: outcome_kpis([], junk, period="day", tz="UTC"), "events[0]"),
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
        assert e.value.problems[0].path == path
        assert len(e.value.problems) <= MAX_LISTED


class TestFunctions:
    def test_not_a_function(self):
        """A profit that is not callable is refused before any lead is read."""
        with pytest.raises(ValidationError) as e:
            work_queue([], profit=5)
        assert str(problem(e)) == "profit: 5 is an int; expected a function of a Lead (its profit, or None)"

    def test_a_function_of_no_argument(self):
        """A function that cannot take the item is refused by name, not left to fail with a TypeError."""
        with pytest.raises(ValidationError) as e:
            activity_kpis([], period="day", tz="UTC", effective=NoArgs())
        assert str(problem(e)) == (
            "effective: NoArgs() cannot be called with one argument; "
            "expected a function of an Activity (True when it is an effective visit)"
        )
        with pytest.raises(ValidationError) as e:
            abc_customers([customer("c1")], value=NoArgs())
        assert problem(e).path == "value"

    @pytest.mark.parametrize("junk", [object(), float("nan"), Decimal("NaN"), 10**40, True, "3"])
    def test_a_profit_that_returns_junk(self, junk):
        """A profit function's result is checked and named by the lead it was called with."""
        with pytest.raises(ValidationError) as e:
            work_queue([lead("l1", "0.5", 10)], profit=lambda _lead: junk)
        assert problem(e).path == "profit(leads[0])"

    def test_a_profit_message(self):
        """The message says what a profit function may return."""
        with pytest.raises(ValidationError) as e:
            work_queue([lead("l1", "0.5", 10)], profit=lambda _lead: 1.5)
        assert problem(e).message == (
            "1.5 is a float; profit must return Money, a finite Decimal or int of at most 30 digits, or None"
        )

    def test_default_effective_needs_an_activity(self):
        """The default rule refuses anything but an Activity by name."""
        with pytest.raises(ValidationError) as e:
            default_effective(None)
        assert str(problem(e)) == "activity: None is a NoneType; expected an Activity"


class TestMappings:
    def test_targets_must_be_a_mapping(self):
        """attainment refuses targets that are not a mapping."""
        row = RepPeriod(
            rep_id="ann", start=dt.date(2026, 3, 1), visits=4, effective_visits=2, calls=0, emails=0, meetings=0,
            minutes=0,
        )  # fmt: skip
        with pytest.raises(ValidationError) as e:
            row.attainment([("visits", 4)])
        assert (
            str(problem(e)) == "targets: [('visits', 4)] is a list; expected a mapping of KPI name to target"
        )

    def test_every_bad_target_at_once(self):
        """attainment reports every bad KPI name and target together."""
        row = RepPeriod(
            rep_id="ann", start=dt.date(2026, 3, 1), visits=4, effective_visits=2, calls=0, emails=0, meetings=0,
            minutes=0,
        )  # fmt: skip
        with pytest.raises(ValidationError) as e:
            row.attainment({object(): 1, "calls": 0, "visits": 4})
        assert [p.path for p in e.value.problems] == ["targets", "targets['calls']"]

    def test_coverage_mappings(self):
        """quartiles and capacities must be mappings keyed by rep id."""
        with pytest.raises(ValidationError) as e:
            coverage([], quartiles=None, capacities={})
        assert problem(e).path == "quartiles"
        with pytest.raises(ValidationError) as e:
            coverage([], quartiles={"r1": 1}, capacities={object(): 1})
        assert problem(e).path.startswith("capacities[")
        with pytest.raises(ValidationError) as e:
            coverage([], quartiles={"r1": True}, capacities={})
        assert problem(e).path == "quartiles['r1']"

    def test_coverage_policy(self):
        """A policy must give every tier a set of quartiles 1-4."""
        with pytest.raises(ValidationError) as e:
            coverage([], quartiles={}, capacities={}, policy={"A": {1}})
        assert (
            str(problem(e)) == "policy: no quartiles for tier 'B', 'C'; every tier needs a set of quartiles"
        )
        with pytest.raises(ValidationError) as e:
            coverage([], quartiles={}, capacities={}, policy={"A": {1}, "B": {5}, "C": {4}})
        assert problem(e).path == "policy['B']"
        with pytest.raises(ValidationError) as e:
            coverage([], quartiles={}, capacities={}, policy=None)
        assert problem(e).path == "policy"


class TestTiersAndPeriods:
    @pytest.mark.parametrize("junk", [_deep(10_000), [1], {"a": 1}, Decimal("sNaN"), "D"])
    def test_a_tier_that_is_not_one(self, junk):
        """Unhashable, deeply nested and unknown tiers are refused at the parameter."""
        with pytest.raises(ValidationError) as e:
            POLICY.interval(tier=junk, stages=())
        assert problem(e).path == "tier"
        m = migration({"c1": "B"}, {"c1": "A"})
        with pytest.raises(ValidationError) as e:
            m.cell(junk, "A")
        assert problem(e).path == "before"
        with pytest.raises(ValidationError) as e:
            m.count("A", junk)
        assert problem(e).path == "after"

    def test_a_deep_tier_in_a_grading(self):
        """A deeply nested value in a grading is refused, not a RecursionError."""
        with pytest.raises(ValidationError) as e:
            migration({"c1": _deep(10_000)}, {})
        assert problem(e).path == "before['c1']"

    def test_stages_must_be_strs(self):
        """interval's stages are an iterable of stage keys."""
        with pytest.raises(ValidationError) as e:
            POLICY.interval(tier="A", stages=None)
        assert problem(e).path == "stages"
        with pytest.raises(ValidationError) as e:
            POLICY.interval(tier="A", stages=[[1]])
        assert problem(e).path == "stages[0]"

    def test_a_deep_period(self):
        """A deeply nested period is refused by name."""
        with pytest.raises(ValidationError) as e:
            period_start(NOW, _deep(10_000), "UTC")
        assert problem(e).path == "period"

    def test_period_start_refuses_a_naive_time(self):
        """A naive datetime is refused, not read as local time."""
        with pytest.raises(ValidationError) as e:
            period_start(dt.datetime(2026, 3, 1, 9), "day", "UTC")
        assert problem(e).path == "at"
        assert "is naive" in problem(e).message

    @pytest.mark.parametrize("junk", [None, 1.7e9, "2026-01-01T00:00:00+00:00", dt.date(2026, 1, 1)])
    def test_period_start_needs_a_datetime(self, junk):
        """Anything but an aware datetime is refused at 'at'."""
        with pytest.raises(ValidationError) as e:
            period_start(junk, "day", "UTC")
        assert problem(e).path == "at"

    @pytest.mark.parametrize("tz", [None, "America", "Mars/Olympus_Mons", "UTC\x00", 5])
    def test_period_start_needs_a_zone(self, tz):
        """A bad zone is refused at 'tz'."""
        with pytest.raises(ValidationError) as e:
            period_start(NOW, "day", tz)
        assert problem(e).path == "tz"

    def test_period_start_takes_a_zone_name(self):
        """A zone may be given by its IANA name."""
        late = dt.datetime(2026, 3, 9, 3, 30, tzinfo=dt.UTC)
        assert period_start(late, "day", "America/New_York") == dt.date(2026, 3, 8)

    def test_period_start_at_the_end_of_time(self):
        """An instant whose local day lies past datetime.max is refused, not an OverflowError."""
        with pytest.raises(ValidationError) as e:
            period_start(dt.datetime.max.replace(tzinfo=dt.UTC), "day", "Asia/Shanghai")
        assert str(problem(e)) == (
            "at: 9999-12-31T23:59:59.999999+00:00 is too close to the limits of datetime to fall in a period of 'Asia/Shanghai'"
        )


class TestNumbers:
    def test_rfm_bins_are_bounded(self):
        """bins has an upper limit."""
        with pytest.raises(ValidationError) as e:
            rfm([("a", NOW, 1)], now=NOW, bins=10**12)
        assert str(problem(e)) == "bins: 1000000000000 is not an int from 1 to 1,000"

    def test_rfm_reports_every_bad_event(self):
        """Each part of an (id, at, value) event is named, for every event at once."""
        events = [("", NOW, 1), ("a", dt.datetime(2026, 1, 1), 1), ("b", NOW, Decimal("1e999999999"))]
        with pytest.raises(ValidationError) as e:
            rfm(events, now=NOW)
        assert [p.path for p in e.value.problems] == ["events[0][0]", "events[1][1]", "events[2][2]"]
        assert e.value.problems[2].message == (
            "1E+999999999 is not a finite Decimal, int or Money (with at most 30 digits before the point)"
        )

    def test_abc_values_are_bounded(self):
        """A value of 50 or more integer digits is refused, not a decimal Overflow."""
        with pytest.raises(ValidationError) as e:
            abc({"a": Decimal("1e999999999"), "b": 1})
        assert str(problem(e)) == "values['a']: 1E+999999999 is too large; values must be below 1e50"

    @pytest.mark.parametrize("full", [0, -1, 10**7, 1.5, "3", None, True])
    def test_contacts_for_full_marks(self, full):
        """contacts_for_full_marks is an int from 1 to 1,000,000."""
        with pytest.raises(ValidationError) as e:
            relationships([], activities=[], key_persons=[], now=NOW, contacts_for_full_marks=full)
        assert problem(e).path == "contacts_for_full_marks"

    def test_contacts_for_full_marks_message(self):
        """The message gives the allowed range."""
        with pytest.raises(ValidationError) as e:
            relationships([], activities=[], key_persons=[], now=NOW, contacts_for_full_marks=0)
        assert str(problem(e)) == "contacts_for_full_marks: 0 is not an int from 1 to 1,000,000"

    @pytest.mark.parametrize("strong", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")])
    def test_strong_not_a_number(self, strong):
        """A NaN or infinite threshold is refused by name, not a decimal error."""
        with pytest.raises(ValidationError) as e:
            relationships([], activities=[], key_persons=[], now=NOW, strong=strong)
        assert problem(e).path == "strong"


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
        with pytest.raises(ValidationError) as e:
            due_followups([customer("c1", tier="B")], activities=[], policy=POLICY, now=NOW)
        assert str(problem(e)) == "customers[0].tier: 'B' has no follow-up interval in the policy"


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
        plain = outcome_kpis(opps, events, period="month", tz="UTC")
        with decimal.localcontext(HOSTILE):
            assert outcome_kpis(opps, events, period="month", tz="UTC") == plain
        assert plain[0].revenue["USD"] == Decimal("1234.57")

    def test_work_queue_ignores_the_callers_context(self):
        """Leads whose values differ beyond the caller's precision keep their order."""
        leads = [lead("l1", "0.5", "100"), lead("l2", "0.5", "190")]
        with decimal.localcontext(HOSTILE):
            assert [x.id for x in work_queue(leads)] == ["l2", "l1"]
