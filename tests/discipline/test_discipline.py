"""
Response discipline, worked by hand on one week in Berlin.

The week of Monday 23 March 2026, Europe/Berlin, working 09:00 to 18:00 Monday to Friday,
with a company holiday on Wednesday 25 March; the clocks go forward on Sunday 29 March
(CET, UTC+1, becomes CEST, UTC+2), so the Monday after opens at 07:00 UTC, not 08:00.

    day        local hours (UTC)         working?
    Mon 23     09:00-18:00 (08:00-17:00) yes   working day 0 of a lead created that morning
    Tue 24     09:00-18:00 (08:00-17:00) yes   day 1
    Wed 25     -                         no    holiday
    Thu 26     09:00-18:00 (08:00-17:00) yes   day 2
    Fri 27     09:00-18:00 (08:00-17:00) yes   day 3
    Sat 28, Sun 29                       no    weekend; DST starts Sunday
    Mon 30     09:00-18:00 (07:00-16:00) yes   day 4
    Tue 31     09:00-18:00 (07:00-16:00) yes   day 5

Response targets: web 2 working hours, every other source 4; now is Monday 30 at 09:30 UTC
(11:30 CEST), warn one hour.

    lead  source created (UTC)  due (UTC)                           first response          status
    L1    web    Mon 23 08:00   Mon 23 10:00                        call Mon 23 09:30 (1.5h) met
    L2    web    Tue 24 16:00   1h Tue, Wed off, 1h Thu: Thu 26 09:00 email Wed 25 10:00 (1h)  met
    L3    fair   Fri 27 16:00   1h Fri, 3h Mon (CEST): Mon 30 10:00 none ("other" only)    due soon
    L4    fair   Thu 26 08:00   Thu 26 12:00                        call Thu 26 13:00 (5h)   breached
    L5    fair   Mon 30 08:00   Mon 30 12:00                        none                     pending
    L6    web    Mon 30 10:00   after now: not yet
"""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Activity, Lead, ValidationError
from funnelkit.assignment import Decision
from funnelkit.discipline import (
    Cadence,
    CadencePlan,
    LeadFollowUpPolicy,
    ResponseStatus,
    StepStatus,
    WorkingCalendar,
    cadence_due,
    due_lead_followups,
    response_times,
    work_log,
)

UTC = dt.UTC
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
BERLIN = WorkingCalendar(tz="Europe/Berlin", holidays=[dt.date(2026, 3, 25)])
TARGETS = {"web": 2 * H, None: 4 * H}
NOW = dt.datetime(2026, 3, 30, 9, 30, tzinfo=UTC)


def t(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An instant in March 2026, UTC."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def act(i: str, kind: str, at: dt.datetime, on: str, rep: str = "ann", **kw: object) -> Activity:
    """An activity of *rep* on lead or customer *on*."""
    return Activity(id=i, kind=kind, at=at, rep_id=rep, customer_id=on, **kw)


LEADS = [
    Lead(id="L1", source="web", created_at=t(23, 8), owner="ann"),
    Lead(id="L2", source="web", created_at=t(24, 16), owner="ann"),
    Lead(id="L3", source="fair", created_at=t(27, 16), owner="bob"),
    Lead(id="L4", source="fair", created_at=t(26, 8), owner="bob"),
    Lead(id="L5", source="fair", created_at=t(30, 8)),
    Lead(id="L6", source="web", created_at=t(30, 10)),
]
ACTIVITIES = [
    act("a1", "call", t(23, 9, 30), "L1"),
    act("a2", "email", t(25, 10), "L2"),
    act("a3", "other", t(27, 17), "L3", rep="bob"),
    act("a4", "call", t(26, 13), "L4", rep="bob"),
    act("a5", "call", t(26, 14), "L4", rep="bob"),
]


# --- the calendar ------------------------------------------------------------------------------


def test_the_week_has_four_working_days_and_the_holiday_is_off():
    """Mon, Tue, Thu, Fri of the week are working days; Wednesday's holiday and the weekend are not."""
    days = BERLIN.working_days(dt.date(2026, 3, 23), dt.date(2026, 3, 30))
    assert [d.day for d in days] == [23, 24, 26, 27]


def test_a_deadline_over_the_weekend_lands_in_summer_time():
    """Friday 17:00 CET + 4 working hours is Monday 12:00 CEST, 10:00 UTC (not 11:00: the clocks moved)."""
    assert BERLIN.deadline(t(27, 16), 4 * H) == t(30, 10)
    assert BERLIN.working_time(t(27, 16), t(30, 10)) == 4 * H


def test_a_deadline_skips_the_holiday():
    """Tuesday 17:00 + 2 working hours: one on Tuesday, none on Wednesday, one on Thursday (09:00 UTC)."""
    assert BERLIN.deadline(t(24, 16), 2 * H) == t(26, 9)
    assert BERLIN.working_time(t(24, 16), t(26, 9)) == 2 * H


def test_shanghai_works_a_make_up_saturday_and_has_no_dst():
    """A make-up Saturday is a working day; Shanghai's hours are 01:00-10:00 UTC all year."""
    cal = WorkingCalendar(
        tz="Asia/Shanghai", make_up_days=[dt.date(2026, 3, 28)], holidays=[dt.date(2026, 3, 27)]
    )
    assert cal.is_working_day(dt.date(2026, 3, 28))
    assert not cal.is_working_day(dt.date(2026, 3, 27))
    assert cal.deadline(t(26, 9), 2 * H) == t(28, 2)  # 1h on Thursday, Friday off, 1h on the Saturday


def test_a_calendar_refuses_hours_out_of_order_and_a_day_both_off_and_worked():
    """closes not after opens is an order problem; a holiday that is also a make-up day a conflict."""
    with raises_problems(("closes", "order"), ("make_up_days", "conflict")):
        WorkingCalendar(
            tz="UTC", opens=dt.time(18), closes=dt.time(9),
            holidays=[dt.date(2026, 1, 1)], make_up_days=[dt.date(2026, 1, 1)],
        )  # fmt: skip


# --- response SLAs -----------------------------------------------------------------------------


def test_the_worked_week_of_responses():
    """The table of the module docstring, lead by lead."""
    report = response_times(LEADS, activities=ACTIVITIES, targets=TARGETS, now=NOW, calendar=BERLIN)
    got = {r.lead_id: (r.due, r.responded, r.response_time, r.status) for r in report}
    assert got == {
        "L1": (t(23, 10), t(23, 9, 30), 1.5 * H, ResponseStatus.MET),
        "L2": (t(26, 9), t(25, 10), H, ResponseStatus.MET),
        "L3": (t(30, 10), None, None, ResponseStatus.DUE_SOON),
        "L4": (t(26, 12), t(26, 13), 5 * H, ResponseStatus.BREACHED),
        "L5": (t(30, 12), None, None, ResponseStatus.PENDING),
    }
    assert report.not_yet == 1
    assert [r.lead_id for r in report.breached] == ["L4"]
    assert [r.lead_id for r in report.due_soon] == ["L3"]


def test_the_worked_week_by_source_and_by_rep():
    """p50 is the lower median by nearest rank; the share met counts decided leads only."""
    report = response_times(LEADS, activities=ACTIVITIES, targets=TARGETS, now=NOW, calendar=BERLIN)
    web, fair = {g.key: g for g in report.by_source()}["web"], {g.key: g for g in report.by_source()}["fair"]
    assert (web.leads, web.met, web.p50, web.p90, web.share_met) == (2, 2, H, 1.5 * H, Fraction(1))
    assert (fair.leads, fair.breached, fair.due_soon, fair.pending, fair.share_met) == (
        3,
        1,
        1,
        1,
        Fraction(0),
    )
    assert (fair.p50, fair.p90) == (5 * H, 5 * H)
    assert [(g.key, g.leads) for g in report.by_rep()] == [(None, 1), ("ann", 2), ("bob", 2)]


def test_without_a_calendar_targets_are_elapsed_time():
    """L2's two hours run through the night: due Tuesday 18:00 UTC, so Wednesday's email is late."""
    report = response_times(LEADS, activities=ACTIVITIES, targets=TARGETS, now=NOW)
    row = next(r for r in report if r.lead_id == "L2")
    assert (row.due, row.response_time, row.status) == (t(24, 18), 18 * H, ResponseStatus.BREACHED)


def test_routing_decisions_start_a_reps_clock():
    """Measured from the decision that placed L4 (Thu 10:00 UTC), the 13:00 call is within four hours."""
    placed = Decision(lead_id="L4", rep_id="cy", by="rules", reason="territory", at=t(26, 10))
    report = response_times(
        LEADS, activities=ACTIVITIES, targets=TARGETS, now=NOW, calendar=BERLIN, decisions=[placed]
    )
    row = next(r for r in report if r.lead_id == "L4")
    assert (row.started, row.due, row.status, row.rep_id) == (t(26, 10), t(26, 14), ResponseStatus.MET, "bob")


def test_response_refusals_name_the_argument_and_the_item():
    """A source without a target, a lead twice, a naive now and an unknown kind are refused by name."""
    with raises_problems(("leads[0].source", "missing")):
        response_times([LEADS[2]], activities=(), targets={"web": H}, now=NOW)
    with raises_problems(("leads[1].id", "duplicate")):
        response_times([LEADS[0], LEADS[0]], activities=(), targets=TARGETS, now=NOW)
    with raises_problems(("now", "timezone")):
        response_times(LEADS, activities=(), targets=TARGETS, now=dt.datetime(2026, 3, 30))
    with raises_problems(("kinds[1]", "choice")):
        response_times(LEADS, activities=(), targets=TARGETS, now=NOW, kinds=["call", "fax"])
    with raises_problems(("targets['web']", "range")):
        response_times(LEADS, activities=(), targets={"web": -H}, now=NOW)


# --- properties ------------------------------------------------------------------------------------

SOURCES = ("web", "fair", "ads")
ZONES = (BERLIN, WorkingCalendar(tz="Asia/Shanghai", holidays=[dt.date(2026, 3, 27)]), None)


@st.composite
def books(draw: st.DrawFn) -> tuple[list[Lead], list[Activity]]:
    """Leads over a month around the DST change, and activities on them (some before, some long after)."""
    leads, acts = [], []
    for i in range(draw(st.integers(0, 12))):
        created = t(10, 0) + draw(st.integers(0, 30 * 24 * 4)) * dt.timedelta(minutes=15)
        leads.append(Lead(id=f"l{i}", source=draw(st.sampled_from(SOURCES)), created_at=created,
                          owner=draw(st.none() | st.sampled_from(["ann", "bob"]))))  # fmt: skip
        for k in range(draw(st.integers(0, 3))):
            at = created + draw(st.integers(-4, 24 * 8)) * dt.timedelta(minutes=30)
            kind = draw(st.sampled_from(["call", "email", "other", "visit"]))
            acts.append(act(f"l{i}-{k}", kind, at, f"l{i}"))
    return leads, acts


@settings(max_examples=60, deadline=None)
@given(book=books(), cal=st.sampled_from(ZONES), hours=st.integers(0, 24 * 12))
def test_every_lead_is_counted_once_and_a_breach_stays_a_breach(book, cal, hours):
    """Rows plus not-yet leads are the leads; as now grows, breached and met leads stay so."""
    leads, acts = book
    early = t(20, 0) + hours * H
    first = response_times(leads, activities=acts, targets=TARGETS, now=early, calendar=cal)
    later = response_times(leads, activities=acts, targets=TARGETS, now=early + 5 * DAY, calendar=cal)
    for report in (first, later):
        assert sorted(r.lead_id for r in report) == sorted(
            lead.id for lead in leads if lead.created_at <= report.now
        )
        assert len(report) + report.not_yet == len(leads)
    after = {r.lead_id: r.status for r in later}
    for r in first:
        if r.status in (ResponseStatus.BREACHED, ResponseStatus.MET):
            assert after[r.lead_id] is r.status


@settings(max_examples=60, deadline=None)
@given(book=books(), seed=st.integers(0, 2**32))
def test_the_order_of_the_inputs_is_irrelevant(book, seed):
    """Shuffled leads and activities give the same report, and the same targets given in another order too."""
    leads, acts = book
    rng = random.Random(seed)
    shuffled_leads, shuffled_acts = rng.sample(leads, len(leads)), rng.sample(acts, len(acts))
    one = response_times(leads, activities=acts, targets=TARGETS, now=NOW, calendar=BERLIN)
    two = response_times(
        shuffled_leads,
        activities=shuffled_acts,
        targets=dict(reversed(TARGETS.items())),
        now=NOW,
        calendar=BERLIN,
    )
    assert one == two
    assert one.by_source() == two.by_source()


SHANGHAI = WorkingCalendar(tz="Asia/Shanghai")


@settings(max_examples=60, deadline=None)
@given(book=books())
def test_shifting_every_time_by_a_week_shifts_only_the_dates(book):
    """Without DST and holidays, every time a week later gives the same report, a week later."""
    leads, acts = book
    week = 7 * DAY

    one = response_times(leads, activities=acts, targets=TARGETS, now=NOW, calendar=SHANGHAI)
    two = response_times(
        [attrs.evolve(lead, created_at=lead.created_at + week) for lead in leads],
        activities=[attrs.evolve(a, at=a.at + week) for a in acts],
        targets=TARGETS,
        now=NOW + week,
        calendar=SHANGHAI,
    )
    assert [(r.lead_id, r.status, r.response_time) for r in one] == [
        (r.lead_id, r.status, r.response_time) for r in two
    ]
    assert [(r.started + week, r.due + week) for r in one] == [(r.started, r.due) for r in two]
    assert [None if r.responded is None else r.responded + week for r in one] == [r.responded for r in two]


# --- cadences ------------------------------------------------------------------------------------

PLAN = CadencePlan(leads=Cadence(steps=[(0, "call"), (2, "email"), (5, "call")]))
NEW = Lead(id="N1", source="web", created_at=t(23, 8), owner="ann")


def test_the_worked_cadence_email_is_overdue_after_the_holiday():
    """Day 2 is Thursday (Wednesday is off): the email is due by its end, 23:00 UTC; overdue on Friday."""
    report = cadence_due(
        PLAN, activities=[act("c1", "call", t(23, 9), "N1")], leads=[NEW], now=t(27, 10), calendar=BERLIN
    )
    row = report[0]
    assert (row.step, row.action, row.due, row.status, row.days_overdue, row.done) == (
        2, "email", t(26, 23), StepStatus.OVERDUE, 0, 1
    )  # fmt: skip
    assert report.overdue == (row,)


def test_the_worked_cadence_last_call_is_due_in_summer_time():
    """After the email, day 5 is Tuesday 31: its end is 22:00 UTC in summer time."""
    acts = [act("c1", "call", t(23, 9), "N1"), act("c2", "email", t(27, 8), "N1")]
    row = cadence_due(PLAN, activities=acts, leads=[NEW], now=t(27, 10), calendar=BERLIN)[0]
    assert (row.step, row.action, row.due, row.status) == (3, "call", t(31, 22), StepStatus.UPCOMING)


def test_a_promised_next_step_counts_and_a_later_activity_keeps_it():
    """A customer's step promised for Friday 27 is overdue on Saturday; a later activity keeps the promise."""
    promise = act(
        "p1", "visit", t(24, 9), "c9", next_step="send the quote", next_step_due=dt.date(2026, 3, 27)
    )
    row = cadence_due(PLAN, activities=[promise], now=t(28, 9), calendar=BERLIN)[0]
    assert (row.record, row.record_id, row.step, row.action, row.due, row.status) == (
        "customer", "c9", None, "send the quote", t(27, 23), StepStatus.OVERDUE
    )  # fmt: skip
    kept = cadence_due(
        PLAN, activities=[promise, act("p2", "email", t(27, 9), "c9")], now=t(28, 9), calendar=BERLIN
    )
    assert len(kept) == 0


def test_a_finished_cadence_is_complete_and_a_closed_lead_has_none():
    """Three steps done: complete; a disqualified lead is left out."""
    acts = [
        act("c1", "call", t(23, 9), "N1"),
        act("c2", "email", t(23, 10), "N1"),
        act("c3", "call", t(24, 9), "N1"),
    ]
    gone = Lead(id="N2", source="web", created_at=t(23, 8), status="disqualified")
    report = cadence_due(PLAN, activities=acts, leads=[NEW, gone], now=t(27, 10), calendar=BERLIN)
    assert [(r.record_id, r.status, r.done) for r in report] == [("N1", StepStatus.COMPLETE, 3)]


# --- the daily work log -------------------------------------------------------------------------


def test_the_worked_work_log_in_each_reps_local_days():
    """ann (Berlin) logs Monday late evening and on Saturday; bob (Shanghai) logs early on Tuesday."""
    acts = [
        act("w1", "call", t(23, 22, 30), "c1", rep="ann"),  # Mon 23:30 CET
        act("w2", "call", t(28, 10), "c1", rep="ann"),  # Saturday: not a working day
        act("w3", "email", t(23, 17), "c1", rep="bob"),  # Tue 01:00 in Shanghai
        act("w4", "other", t(26, 3), "c1", rep="bob"),  # "other" is not effective work
    ]
    log = work_log(
        acts, reps=["ann", "bob"], start=dt.date(2026, 3, 23), end=dt.date(2026, 3, 30), calendar=BERLIN,
        calendars={"bob": WorkingCalendar(tz="Asia/Shanghai")},
    )  # fmt: skip
    logged = {(d.rep_id, d.day.day): d.logged for d in log}
    assert logged == {
        ("ann", 23): True, ("ann", 24): False, ("ann", 26): False, ("ann", 27): False,
        ("bob", 23): False, ("bob", 24): True, ("bob", 25): False, ("bob", 26): False, ("bob", 27): False,
    }  # fmt: skip
    ann, bob = log.by_rep()
    assert (ann.working_days, ann.logged, ann.gaps, ann.longest_gap, ann.share) == (
        4,
        1,
        3,
        3,
        Fraction(1, 4),
    )
    assert (bob.working_days, bob.gaps, bob.longest_gap, bob.last_logged) == (5, 4, 3, dt.date(2026, 3, 24))


def test_the_work_log_refuses_a_rep_twice_and_a_minimum_of_zero():
    """reps are unique; minimum is an int >= 1."""
    with raises_problems(("reps[1]", "duplicate")):
        work_log(
            (), reps=["ann", "ann"], start=dt.date(2026, 3, 23), end=dt.date(2026, 3, 30), calendar=BERLIN
        )
    with raises_problems(("minimum", "range")):
        work_log(
            (), reps=["ann"], start=dt.date(2026, 3, 23), end=dt.date(2026, 3, 30), calendar=BERLIN, minimum=0
        )


# --- lead timers ---------------------------------------------------------------------------------


def test_lead_timers_run_from_the_last_contact_by_status_and_source():
    """New L1 (4h) was called Mon 09:30: due 13:30, two days overdue on Wed 14:00; L5 is too young."""
    policy = LeadFollowUpPolicy(by_status={"new": 4 * H}, by_source={"fair": 30 * DAY})
    due = due_lead_followups(LEADS[:1] + LEADS[4:5], activities=ACTIVITIES, policy=policy, now=t(25, 14))
    assert [(f.lead_id, f.last_contact, f.due_at, f.days_overdue) for f in due] == [
        ("L1", t(23, 9, 30), t(23, 13, 30), 2)
    ]


def test_a_lead_policy_refuses_a_closed_status():
    """A converted lead has no timer: by_status refuses it."""
    with raises_problems(("by_status", "choice")):
        LeadFollowUpPolicy(by_status={"converted": DAY})


def test_errors_are_validation_errors():
    """A junk calendar is refused with a typed error."""
    with pytest.raises(ValidationError):
        response_times(LEADS, activities=(), targets=TARGETS, now=NOW, calendar="Europe/Berlin")


@settings(max_examples=40, deadline=None)
@given(book=books(), seed=st.integers(0, 2**32), cal=st.sampled_from(ZONES))
def test_cadences_timers_and_logs_ignore_the_order_of_their_inputs(book, seed, cal):
    """Shuffled leads and activities give the same cadence report, lead timers and work log."""
    leads, acts = book
    rng = random.Random(seed)
    other_leads, other_acts = rng.sample(leads, len(leads)), rng.sample(acts, len(acts))
    policy = LeadFollowUpPolicy(by_status={"new": 4 * H}, by_source={"fair": DAY})

    def run(ls, xs):
        return (
            cadence_due(PLAN, activities=xs, leads=ls, now=NOW, calendar=cal),
            due_lead_followups(ls, activities=xs, policy=policy, now=NOW),
            work_log(
                xs, reps=["ann", "bob"], start=dt.date(2026, 3, 1), end=dt.date(2026, 5, 1), calendar=BERLIN
            ),
        )

    assert run(leads, acts) == run(other_leads, other_acts)


@settings(max_examples=40, deadline=None)
@given(book=books())
def test_every_open_lead_has_one_cadence_row(book):
    """Each open lead created by now appears once in the cadence report, and no record twice."""
    leads, acts = book
    report = cadence_due(PLAN, activities=acts, leads=leads, now=NOW, calendar=BERLIN)
    keys = [(r.record, r.record_id) for r in report]
    assert len(keys) == len(set(keys))
    assert {i for kind, i in keys if kind == "lead"} == {lead.id for lead in leads if lead.created_at <= NOW}


def test_an_every_day_calendar_counts_elapsed_time_across_the_dst_night():
    """Every day, all day, in Berlin: the night the clocks go forward has 23 hours."""
    cal = WorkingCalendar.every_day("Europe/Berlin")
    assert cal.working_time(t(28, 23), t(29, 23)) == 24 * H  # elapsed: a day of 23 local hours plus one
    assert cal.deadline(t(28, 12), 30 * H) == t(29, 18)
    assert WorkingCalendar(tz="UTC", opens=dt.time(8, 30), closes=dt.timedelta(hours=24)).opens == 8.5 * H


def test_the_calendar_refuses_spans_beyond_its_limits():
    """working_time over more than MAX_DAYS days and a deadline past the range of datetime are refused."""
    with raises_problems(("end", "limit")):
        BERLIN.working_time(dt.datetime(1900, 1, 1, tzinfo=UTC), NOW)
    with raises_problems(("span", "range")):
        BERLIN.deadline(dt.datetime.max.replace(tzinfo=UTC), H)


def test_a_decision_after_now_is_not_known_yet():
    """A lead overdue at now stays breached whatever a routing decision dated after now says."""
    from funnelkit.assignment import Decision
    from funnelkit.discipline import response_times

    t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    leads = [Lead(id="l1", source="web", created_at=t)]
    now = t + dt.timedelta(hours=2)
    future = Decision(lead_id="l1", rep_id="r1", by="roulette", reason="x", at=t + dt.timedelta(days=3))
    plain, later = (
        response_times(leads, activities=[], targets={None: dt.timedelta(hours=1)}, now=now, decisions=ds)[0]
        for ds in ([], [future])
    )
    assert plain == later
    assert (later.status.value, later.started, later.rep_id) == ("breached", t, None)


def test_an_activity_at_the_end_of_time_is_outside_any_window():
    """An activity whose local day is past datetime's range (9999-12-31 22:00 UTC, Shanghai) counts not."""
    from funnelkit.discipline import WorkingCalendar, work_log

    act = Activity(
        id="a1", kind="call", at=dt.datetime(9999, 12, 31, 22, tzinfo=dt.UTC), rep_id="r1", customer_id="c1"
    )
    log = work_log(
        [act],
        reps=["r1"],
        start=dt.date(2026, 3, 2),
        end=dt.date(2026, 3, 9),
        calendar=WorkingCalendar(tz="Asia/Shanghai"),
    )
    assert log.rows
    assert not any(d.logged for d in log.rows)
