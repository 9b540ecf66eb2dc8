"""Tests for the simulated company: a short year through the public API, invariants checked."""

import datetime as dt
import json
import pickle
from fractions import Fraction

import pytest

from _problems import raises_problems
from funnelkit import Money, ValidationError, from_dict
from funnelkit.simulation import SimulationError, SimulationResult, simulate
from funnelkit.stages import (
    ActivityCount,
    AmountAtLeast,
    EvidenceRecorded,
    KeyPersonCoverage,
    Pipeline,
    RequiredFields,
    Stage,
    all_of,
)

DAY = dt.timedelta(days=1)


def test_a_short_year_keeps_every_invariant():
    """
    20 reps, 2,000 leads, a year: simulate() raises at the first broken invariant, so finishing
    is the check; the counts show every path was exercised (returns, refusals, reassignments,
    repeat deals); every deal is a converted lead's or a repeat deal (no lead).
    """
    result = simulate(reps=20, leads=2_000, days=365, seed=1, check_every=7)
    assert result.leads == 2_000
    assert result.assigned + result.returned == result.leads
    assert result.returned > 0  # some bursts found every rep full
    assert result.won + result.lost + result.open == len(result.opportunities)
    assert len(result.opportunities) == result.converted + result.repeats
    assert sum(d.lead_id is None for d in result.opportunities) == result.repeats > 0
    assert result.refused_moves > 0  # impatient reps were stopped by milestones
    assert result.reassigned > 0  # reps left and their books moved
    assert 0 < result.stalled <= result.open  # quiet customers left some deals stalled
    assert result.moves == len(result.events)
    assert sum(result.abc_counts.values()) == len(
        {d.customer_id for d in result.opportunities if d.status.value == "won"}
    )
    assert result.checks == 365 // 7 + 2


def test_same_seed_same_company():
    """The output depends only on the arguments."""
    one = simulate(reps=5, leads=150, days=90, seed=3)
    two = simulate(reps=5, leads=150, days=90, seed=3)
    other = simulate(reps=5, leads=150, days=90, seed=4)
    assert one.to_dict() == two.to_dict()
    assert one.events == two.events
    assert one.to_dict() != other.to_dict()


def test_the_result_is_a_report():
    """A short repr, one row of counts (the frames of several seeds stack), the whole run as a document."""
    result = simulate(reps=4, leads=60, days=45, seed=7)
    text = repr(result)
    assert text.startswith(f"<SimulationResult: seed 7, 45 days: 60 leads, {result.assigned} assigned; ")
    assert text.endswith(f"; {result.checks} checks held>")
    (row,) = result.to_records()
    assert row["leads"] == 60
    assert (row["won"], row["lost"], row["open"]) == (result.won, result.lost, result.open)
    assert row["repeats"] == result.repeats
    assert row["wape"] == result.wape
    if result.forecast_total is None:
        assert (row["forecast_total"], row["forecast_total_currency"]) == (None, None)
    else:
        assert (row["forecast_total"], row["forecast_total_currency"]) == (
            result.forecast_total.amount,
            result.forecast_total.currency,
        )
    assert {t: row[f"abc_{t}"] for t in "ABC"} == {t: result.abc_counts.get(t, 0) for t in "ABC"}
    assert "customers" not in row
    data = json.loads(json.dumps(result.to_dict()))
    assert len(data["opportunities"]) == len(result.opportunities)
    assert from_dict(SimulationResult, data) == result


def test_repeat_deals_are_counted_replayed_and_round_trip():
    """
    A run with repeat deals counts them (the deals without a lead) in its repr and row, plays them
    again from the same arguments, and comes back whole from its JSON document.
    """
    run = simulate(reps=4, leads=200, days=150, seed=5, check_every=30)
    assert run.repeats == sum(d.lead_id is None for d in run.opportunities) > 0
    assert f"({run.repeats} repeat)" in repr(run)
    assert run.to_records()[0]["repeats"] == run.repeats
    again = simulate(reps=4, leads=200, days=150, seed=5, check_every=30)
    assert [d for d in again.opportunities if d.lead_id is None] == [
        d for d in run.opportunities if d.lead_id is None
    ]
    data = json.loads(json.dumps(run.to_dict()))
    assert data["repeats"] == run.repeats
    assert from_dict(SimulationResult, data) == run


def test_bad_arguments_are_named():
    """Sizes must be positive ints; the seed an int."""
    with raises_problems(("reps", "range"), ("leads", "range"), ("days", "type"), ("seed", "type")):
        simulate(reps=0, leads=-1, days=1.5, seed="x")
    with raises_problems(("capacity", "range")):
        simulate(reps=1, leads=1, days=1, capacity=(5, 2))
    for rate, code in ((0, "range"), (1.5, "range"), (True, "type"), ("0.3", "type")):
        with raises_problems(("work_rate", code)):
            simulate(reps=1, leads=1, days=1, work_rate=rate)
    with raises_problems(("start", "timezone")):
        simulate(reps=1, leads=1, days=1, start=dt.datetime(2026, 1, 1))


def test_simulation_errors_say_the_day_and_pickle():
    """The error names the day and survives pickling."""
    error = SimulationError(12, "a lead was routed twice, or never")
    assert str(error) == "day 12: a lead was routed twice, or never"
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_work_rate_drives_the_activity_volume():
    """Working deals more often logs more activities; every activity belongs to a worked deal."""
    slow = simulate(reps=5, leads=200, days=120, seed=5, work_rate=0.1)
    busy = simulate(reps=5, leads=200, days=120, seed=5, work_rate=0.9)
    assert busy.activities > 3 * slow.activities > 0
    assert busy.leads == slow.leads == 200


@pytest.mark.parametrize(("name", "value"), [("reps", 10**12), ("leads", 2**63), ("days", 10**6)])
def test_sizes_past_the_limits_are_refused(name, value):
    """Reps, leads and days have documented ceilings; past them the call is refused at once, by name."""
    with raises_problems((name, "limit")):
        simulate(**{name: value})


def test_a_start_at_the_end_of_time_is_refused():
    """A start with no room for the days is refused naming start, not an OverflowError."""
    with raises_problems(("start", "range")):
        simulate(reps=2, leads=5, days=5, start=dt.datetime.max.replace(tzinfo=dt.UTC))


def test_any_pipeline_of_funnelkit_requirements_can_be_simulated():
    """The work follows readiness, so a pipeline with its own stage keys and requirements still wins deals."""
    pipeline = Pipeline(
        key="smb",
        label="Small business",
        stages=[
            Stage(
                key="talk",
                label="Talk",
                probability="0.2",
                requirements=[
                    ActivityCount(kinds=["call"], at_least=2, filled=["next_step"]),
                    KeyPersonCoverage(role="decision_maker", stances=["supporter"]),
                ],
            ),
            Stage(
                key="quote",
                label="Quote",
                probability="0.6",
                requirements=[
                    all_of(RequiredFields(fields=["amount", "expected_close"]), EvidenceRecorded(key="po"))
                ],
            ),
            Stage(key="done", label="Done", probability="1", outcome="won"),
            Stage(key="gone", label="Gone", probability="0", outcome="lost"),
        ],
    )
    result = simulate(reps=4, leads=150, days=120, seed=2, pipeline=pipeline)
    row = result.to_records()[0]
    assert row["won"] > 0
    assert row["won"] + row["lost"] + row["open"] == row["converted"] + row["repeats"]


def test_the_pipeline_must_be_a_pipeline():
    """pipeline= is checked with the other arguments."""
    with pytest.raises(ValidationError) as exc:
        simulate(pipeline="default", days=0)
    assert {(p.path, p.code) for p in exc.value.problems} >= {("pipeline", "type"), ("days", "range")}


def test_a_minimum_dwell_and_a_stage_without_a_lost_move_are_simulated():
    """A minimum dwell adds a verdict that is no work; a stage that cannot be lost is never lost."""
    pipeline = Pipeline(
        key="short",
        label="Short",
        stages=[
            Stage(key="a", label="A", probability="0.3", min_dwell=dt.timedelta(days=1)),
            Stage(
                key="b",
                label="B",
                probability="0.6",
                requirements=[AmountAtLeast(minimum=Money.of("100000", "USD"))],
            ),
            Stage(key="won", label="Won", probability="1", outcome="won"),
            Stage(key="lost", label="Lost", probability="0", outcome="lost"),
        ],
        transitions=[("a", "b"), ("b", "won"), ("a", "lost")],
    )
    result = simulate(reps=3, leads=200, days=365, seed=3, pipeline=pipeline)
    row = result.to_records()[0]
    assert row["won"] > 0  # b's floor in USD was met by the work, whatever the leads' currency
    lost_from = {e.from_stage for e in result.events if e.to_stage == "lost"}
    assert lost_from <= {"a"}


def test_progress_is_reported_after_every_day():
    """progress(day, days) is called once per simulated day, in order, and a bad one is refused up front."""
    seen = []
    simulate(reps=2, leads=10, days=5, seed=1, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    with raises_problems(("progress", "type")):
        simulate(days=5, progress="a bar")


def test_an_error_in_the_progress_callback_is_the_callers():
    """A progress callback that raises stops the run with its own exception, untouched."""

    class Stop(Exception):
        pass

    def stop(done, total):
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        simulate(reps=2, leads=10, days=5, seed=1, progress=stop)


def test_duplicates_and_splits_are_planted_and_found():
    """
    With duplicates and splits the deals and events are those of the same seed without them; about a
    fifth of converted companies are entered twice, and find_duplicates finds nearly all of those pairs
    (recall >= 0.9, precision too: 58 of the 63 planted, no false pair, when measured); about a third
    of deals are split, and the weighted forecast by owner credits each rep their share with the
    total unchanged.
    """
    from funnelkit.duplicates import find_duplicates
    from funnelkit.forecast import weighted_forecast

    plain = simulate(reps=10, leads=1500, days=200, seed=3)
    run = simulate(reps=10, leads=1500, days=200, seed=3, duplicates=0.2, splits=0.3)
    assert (run.opportunities, run.events) == (plain.opportunities, plain.events)
    assert 0.1 * run.converted < len(run.duplicates) < 0.3 * run.converted
    assert len(run.customers) == len(plain.customers) + len(run.duplicates)
    found = {frozenset((p.left[1], p.right[1])) for p in find_duplicates(run.customers).pairs}
    planted = {frozenset(pair) for pair in run.duplicates}
    assert len(found & planted) >= 0.9 * len(planted)
    assert len(found & planted) >= 0.9 * len(found)
    assert 0.2 * run.converted < len(run.splits.deals) < 0.4 * run.converted
    deals = [d for d in run.opportunities if d.amount is not None]
    with_splits = weighted_forecast(deals, plain_pipeline(run), splits=run.splits)
    assert with_splits.total("CNY") == weighted_forecast(deals, plain_pipeline(run)).total("CNY")
    assert {ln.key for ln in with_splits.lines} >= {
        ln.key for ln in weighted_forecast(deals, plain_pipeline(run)).lines
    }


def plain_pipeline(run):
    """The default pipeline the simulation played (its deals name it)."""
    from funnelkit.stages import default_pipeline

    assert {d.pipeline for d in run.opportunities} == {"default"}
    return default_pipeline()


@pytest.mark.parametrize(("name", "value", "code"), [("duplicates", 1.5, "range"), ("splits", "0.1", "type")])
def test_duplicate_and_split_chances_are_checked(name, value, code):
    """A chance outside [0, 1] or not a number is refused by name."""
    with raises_problems((name, code)):
        simulate(reps=2, leads=10, days=5, **{name: value})


def test_the_result_holds_the_activity_log_and_key_persons():
    """The activities counted are those logged, each on a deal of the run; key persons of its customers."""
    run = simulate(reps=4, leads=200, days=90, seed=5)
    assert len(run.activity_log) == run.activities
    deals = {d.id for d in run.opportunities}
    assert all(a.opportunity_id in deals for a in run.activity_log)
    customers = {c.id for c in run.customers}
    assert run.key_persons
    assert all(p.customer_id in customers for p in run.key_persons)
    assert "activity_log" not in run.to_records()[0]


def test_nobody_works_after_leaving():
    """
    The reviewer's company (8 reps, a year, four leave): no activity on a deal or a lead, no stage
    move and no new deal (a repeat order included) by a rep after the instant they left; the leads
    reassign could not place (every rep full) stay with the rep who left, working and untouched.
    """
    run = simulate(reps=8, leads=800, days=365, seed=2026, duplicates=0.15, splits=0.2, check_every=7)
    gone = run.departures
    assert len(gone) == 4
    assert all(at.hour == 9 for at in gone.values())  # the start of a day
    after = [
        a for a in (*run.activity_log, *run.lead_activities) if a.rep_id in gone and a.at > gone[a.rep_id]
    ]
    assert after == []
    assert [e for e in run.events if e.actor in gone and e.at > gone[e.actor]] == []
    assert [d.id for d in run.opportunities if d.owner in gone and d.created_at > gone[d.owner]] == []
    left_with = {
        lead.id: lead.owner
        for lead in run.lead_records
        if lead.owner in gone and lead.status.value == "working"
    }
    assert left_with  # the documented case: not worked, not decided
    late = [
        a for a in run.lead_activities if a.customer_id in left_with and a.at > gone[left_with[a.customer_id]]
    ]
    assert late == []


def small_company(capacity):
    """A company of three reps of *capacity* each, every rep's mean response a day, nothing played yet."""
    from funnelkit.simulation import _Company
    from funnelkit.stages import default_pipeline

    company = _Company(
        reps=3, leads=3 * capacity, days=1, seed=1, start=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
        check_every=1, work_rate=0.3, pipeline=default_pipeline(),
    )  # fmt: skip
    company.hire(3, (capacity, capacity))
    company.delays = dict.fromkeys(company.reps, dt.timedelta(days=1))
    return company


def test_a_first_response_planned_after_a_leave_is_replanned_or_dropped():
    """
    Three reps of 40 get 120 leads at once, each to be answered within two days; an hour later one
    leaves.  The newcomer (room for 30) takes 30 of the 40: each of those the leaver had not answered
    is answered by the newcomer after the move; the 10 left behind lose their planned answer, are
    never worked, and the invariants (nobody logs after leaving) hold.
    """
    company = small_company(40)
    start = company.start
    company.arrivals(0, start)
    assert company.counts["assigned"] == 120
    planned = {lead_id: acts[0] for lead_id, acts in company.lead_acts.items()}
    leave = start + dt.timedelta(hours=1)
    company.rep_leaves(0, leave)
    (leaver,) = company.left
    mine = {lead_id for lead_id, act in planned.items() if act.rep_id == leaver}
    assert len(mine) == 40
    kept = {i for i in mine if company.leads[i].owner == leaver}
    assert len(kept) == 10
    for lead_id in mine:
        was = planned[lead_id]
        now = company.lead_acts.get(lead_id, [])
        if was.at <= leave:
            assert now == [was]  # answered before leaving: history stays
        elif lead_id in kept:
            assert now == []  # nobody answers it
        else:
            (act,) = now
            assert act.rep_id == company.leads[lead_id].owner != leaver
            assert leave <= act.at <= leave + 2 * DAY
    assert any(planned[i].at > leave for i in kept)
    for day in range(1, 6):
        company.work_leads(start + day * DAY)
    assert all(a.at <= leave for i in kept for a in company.lead_acts.get(i, []))
    assert all(company.leads[i].status.value == "working" for i in kept)
    company.check(5)


def test_the_check_catches_work_after_leaving():
    """An activity, a move or a new deal by a rep after they left breaks the simulation, naming the day."""
    from funnelkit import Activity

    company = small_company(2)
    company.left["rep000"] = company.start
    company.lead_acts["x"] = [
        Activity(id="x-r0", kind="call", at=company.start + DAY, rep_id="rep000", customer_id="x")
    ]
    with pytest.raises(
        SimulationError, match=r"day 3: rep000 logged x-r0 at 2026-01-06 09:00, after leaving"
    ):
        company.check_leavers(3)
    company.lead_acts["x"][0] = Activity(
        id="x-r0", kind="call", at=company.start, rep_id="rep000", customer_id="x"
    )
    company.check_leavers(3)  # at the very instant of leaving: still there


def test_repeat_deals_are_split_like_the_others():
    """With splits=1 every deal, a repeat deal as much as a converted lead's, has its credit split."""
    run = simulate(reps=6, leads=300, days=300, seed=4, splits=1.0, check_every=100)
    repeats = {d.id for d in run.opportunities if d.lead_id is None}
    assert repeats
    assert set(run.splits.deals) == {d.id for d in run.opportunities}
    for deal_id in repeats:
        shares = [s.share for s in run.splits.splits if s.opportunity_id == deal_id]
        assert min(shares) in (Fraction(1, 2), Fraction(1, 3), Fraction(1, 4))
        assert sum(shares) == 1


@pytest.mark.parametrize("field", ["repeats", "won", "leads", "activities"])
def test_a_document_with_a_negative_count_is_refused(field):
    """Counts are ints >= 0: from_dict names the field; an old document without repeats reads as 0."""
    run = simulate(reps=2, leads=20, days=20, seed=1)
    data = json.loads(json.dumps(run.to_dict()))
    with raises_problems((field, "range")):
        from_dict(SimulationResult, {**data, field: -3})
    old = {k: v for k, v in data.items() if k not in ("repeats", "departures")}
    assert from_dict(SimulationResult, old).repeats == 0
