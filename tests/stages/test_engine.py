"""Tests for the stage engine: moves, refusals, events, replay, stalled and hasty deals."""

import datetime as dt
import json
import zoneinfo

import attrs
import pytest

from _problems import problems_of, raises_problems
from conftest import T0, at, gap, visit
from funnelkit import Activity, Money, OpportunityStatus, ValidationError, from_dict, to_dict
from funnelkit.errors import ConcurrencyConflict, MilestoneNotMet, TransitionNotAllowed
from funnelkit.stages import (
    ActivityCount,
    MoveKind,
    Override,
    Pipeline,
    RequiredFields,
    Stage,
    StageChanged,
    TimeInStage,
    advance,
    all_of,
    any_of,
    apply,
    hasty,
    lose,
    readiness,
    reopen,
    replay,
    stalled,
    win,
)


def ready_deal(opp, people):
    """The deal with everything the default pipeline asks for, except evidence and activities."""
    for p in people:
        if p.role == "decision_maker":
            people[people.index(p)] = attrs.evolve(p, stance="supporter")
    return attrs.evolve(
        opp,
        key_person_ids=["kp-dm", "kp-rec"],
        amount=Money.of("480000.00", "CNY"),
        expected_close=dt.date(2026, 6, 30),
        competitors=["Rival Systems"],
        evidence={"project_approved", "shortlisted", "selected", "contract_signed"},
        gaps=[gap("budget owner", closed=True)],
    )


class TestLifecycle:
    def test_eight_steps_to_won(self, pipeline, opp, people):
        """A well-documented deal walks contact -> ... -> won, one version per step, each event in order."""
        deal = ready_deal(opp, people)
        acts = [
            visit("a1", at(hours=2)),
            Activity(
                id="a2", kind="demo", at=at(days=2, hours=3), rep_id="rep-1", customer_id="c-1",
                opportunity_id="o-1", feedback="liked the dashboards",
            ),
        ]  # fmt: skip
        events = []
        path = ["needs_confirmed", "proposal", "approved", "shortlisted", "selected", "negotiation"]
        for day, stage in enumerate(path, start=1):
            deal, event = advance(
                deal, pipeline, now=at(days=day), actor="rep-1", activities=acts, key_persons=people
            )
            assert (deal.stage, deal.version, event.to_stage) == (stage, day, stage)
            events.append(event)
        deal, event = win(deal, pipeline, now=at(days=7), actor="rep-1", activities=acts, key_persons=people)
        events.append(event)
        assert (deal.stage, deal.status, deal.version, deal.stage_entered_at) == (
            "won",
            OpportunityStatus.WON,
            7,
            at(days=7),
        )
        assert [e.kind for e in events] == [MoveKind.ADVANCE] * 6 + [MoveKind.WIN]
        assert [e.time_in_stage for e in events] == [dt.timedelta(days=1)] * 7
        assert not hasty(events)
        assert replay(ready_deal(opp, people), events) == deal

    def test_missing_milestone_stops_the_deal(self, pipeline, opp, people):
        """Without a decision maker the deal cannot leave contact; the error carries the report."""
        with pytest.raises(MilestoneNotMet) as exc:
            advance(opp, pipeline, now=at(days=1), actor="rep-1", activities=[visit("a1", at(hours=2))])
        err = exc.value
        assert err.to_stage == "needs_confirmed"
        assert err.unmet == ("a decision maker identified: no decision maker",)
        target = err.report.target("needs_confirmed")
        assert [(o.name, o.met, o.detail) for o in target.verdicts] == [
            ("1 visit with purpose and needs found filled", True, "1 of 1"),
            ("a decision maker identified", False, "no decision maker"),
        ]
        assert "cannot move to 'needs_confirmed' yet" in str(err)

    def test_activities_outside_the_stage_or_deal_do_not_count(self, pipeline, opp, people):
        """Visits before the stage began, after now, or for another deal are ignored."""
        deal = attrs.evolve(opp, key_person_ids=["kp-dm"], stage_entered_at=at(days=1))
        acts = [
            visit("before", at(hours=2)),
            visit("later", at(days=5)),
            visit("other", at(days=2), opportunity_id="o-2"),
            visit("none", at(days=2), opportunity_id=None),
        ]
        with pytest.raises(MilestoneNotMet, match="0 of 1"):
            advance(deal, pipeline, now=at(days=3), actor="rep-1", activities=acts, key_persons=people)
        ok = [*acts, visit("good", at(days=2))]
        moved, _ = advance(deal, pipeline, now=at(days=3), actor="rep-1", activities=ok, key_persons=people)
        assert moved.stage == "needs_confirmed"


class TestRefusals:
    def test_transition_not_allowed(self, pipeline, opp):
        """Skipping in a pipeline that does not allow it names what is allowed."""
        with pytest.raises(TransitionNotAllowed) as exc:
            advance(opp, pipeline, now=at(days=1), actor="rep-1", to="selected")
        assert str(exc.value) == (
            "pipeline 'default' does not allow 'contact' -> 'selected'; from 'contact' it allows: "
            "'needs_confirmed', 'lost'"
        )
        assert exc.value.allowed == ("needs_confirmed", "lost")

    def test_override_does_not_open_forbidden_moves(self, pipeline, opp):
        """An override lets milestones through, never a move the pipeline forbids."""
        with pytest.raises(TransitionNotAllowed):
            advance(
                opp, pipeline, now=at(days=1), actor="rep-1", to="won", override=Override(reason="x", by="m")
            )

    def test_concurrency_conflict(self, pipeline, opp):
        """A stale expected_version is a ConcurrencyConflict naming both versions."""
        with pytest.raises(ConcurrencyConflict, match="at version 0, not the expected 3") as exc:
            lose(opp, pipeline, reason="price", now=at(days=1), actor="rep-1", expected_version=3)
        assert (exc.value.expected_version, exc.value.actual_version) == (3, 0)
        moved, _ = lose(opp, pipeline, reason="price", now=at(days=1), actor="rep-1", expected_version=0)
        assert moved.version == 1

    @pytest.mark.parametrize(
        ("kwargs", "path", "code"),
        [
            ({"now": dt.datetime(2026, 3, 3)}, "now", "timezone"),
            ({"now": T0 - dt.timedelta(days=1)}, "now", "order"),
            ({"actor": ""}, "actor", "empty"),
            ({"expected_version": -1}, "expected_version", "range"),
            ({"to": "nowhere"}, "to", "reference"),
            ({"to": "lost"}, "to", "conflict"),
            ({"override": "please"}, "override", "type"),
            ({"activities": ["a visit"]}, "activities[0]", "type"),
        ],
    )
    def test_bad_arguments(self, pipeline, opp, kwargs, path, code):
        """Each bad argument is named with the kind of problem; nothing moves."""
        args = {"now": at(days=1), "actor": "rep-1", "override": Override(reason="test", by="mgr"), **kwargs}
        with pytest.raises(ValidationError) as exc:
            advance(opp, pipeline, **args)
        assert (path, code) in problems_of(exc)

    def test_wrong_pipeline(self, pipeline, opp):
        """An opportunity of another pipeline is refused."""
        with raises_problems(("pipeline", "conflict")):
            advance(attrs.evolve(opp, pipeline="enterprise"), pipeline, now=at(days=1), actor="rep-1")

    def test_stage_unknown_to_the_pipeline(self, pipeline, opp):
        """An opportunity at a stage its pipeline lacks is refused by name."""
        with raises_problems(("opp.stage", "reference")):
            advance(attrs.evolve(opp, stage="prospecting"), pipeline, now=at(days=1), actor="rep-1")


class TestOverrideAndDwell:
    def test_override_is_recorded_and_hasty(self, pipeline, opp):
        """An override moves the deal and the event says who, why and what was bypassed."""
        moved, event = advance(
            opp, pipeline, now=at(days=1), actor="rep-1", override=Override(reason="CEO", by="mgr-1")
        )
        assert moved.stage == "needs_confirmed"
        assert (event.override_reason, event.override_by) == ("CEO", "mgr-1")
        assert event.bypassed == (
            "1 visit with purpose and needs found filled",
            "a decision maker identified",
        )
        assert event.hasty
        assert hasty([event]) == (event,)

    def test_minimum_dwell(self, opp):
        """Leaving before the minimum dwell needs an override; after it, it does not."""
        p = Pipeline(
            key="default",
            label="Dwell",
            stages=[
                Stage(key="contact", label="C", probability="0.2", min_dwell=dt.timedelta(days=2)),
                Stage(key="won", label="W", probability=1, outcome="won"),
                Stage(key="lost", label="L", probability=0, outcome="lost"),
            ],
        )
        with pytest.raises(MilestoneNotMet, match="minimum dwell of 2 days: 1 day 3 hours in stage"):
            win(opp, p, now=at(days=1, hours=3), actor="rep-1")
        _, event = win(
            opp, p, now=at(days=1), actor="rep-1", override=Override(reason="signed early", by="mgr")
        )
        assert event.bypassed == ("minimum dwell of 2 days",)
        won, event = win(opp, p, now=at(days=2), actor="rep-1")
        assert (won.status, event.hasty) == (OpportunityStatus.WON, False)

    def test_time_in_stage_across_dst(self, opp):
        """Elapsed time is real time: entered 00:30 EST, moved 04:30 EDT on the spring-forward night = 3 h."""
        ny = zoneinfo.ZoneInfo("America/New_York")
        entered = dt.datetime(2026, 3, 8, 0, 30, tzinfo=ny)
        p = Pipeline(
            key="default",
            label="Wait",
            stages=[
                Stage(key="contact", label="C", probability="0.2", requirements=[TimeInStage(days=0)]),
                Stage(key="won", label="W", probability=1, outcome="won"),
                Stage(key="lost", label="L", probability=0, outcome="lost"),
            ],
        )
        deal = attrs.evolve(opp, created_at=entered, stage_entered_at=entered)
        _, event = win(deal, p, now=dt.datetime(2026, 3, 8, 4, 30, tzinfo=ny), actor="rep-1")
        assert event.time_in_stage == dt.timedelta(hours=3)


class TestLoseAndReopen:
    def test_lose_needs_a_known_reason(self, pipeline, opp):
        """The reason must be one of the pipeline's lost reasons."""
        with raises_problems(("reason", "choice")):
            lose(opp, pipeline, reason="too expensive", now=at(days=1), actor="rep-1")
        with raises_problems(("reason", "empty")):
            lose(opp, pipeline, reason="", now=at(days=1), actor="rep-1")
        lost, event = lose(opp, pipeline, reason="price", now=at(days=1), actor="rep-1")
        assert (lost.status, lost.lost_reason, event.kind, event.lost_reason) == (
            OpportunityStatus.LOST,
            "price",
            MoveKind.LOSE,
            "price",
        )

    def test_reopen(self, pipeline, opp):
        """A lost deal reopens to any open stage, open again and without its lost reason."""
        lost, e1 = lose(opp, pipeline, reason="timing", now=at(days=1), actor="rep-1")
        back, e2 = reopen(lost, pipeline, to="proposal", now=at(days=30), actor="mgr-1")
        assert (back.status, back.stage, back.lost_reason, back.version) == (
            OpportunityStatus.OPEN,
            "proposal",
            None,
            2,
        )
        assert e2.kind is MoveKind.REOPEN
        assert replay(opp, [e1, e2]) == back

    def test_reopen_where_not_allowed(self, opp):
        """A pipeline without allow_reopen refuses to reopen."""
        p = Pipeline(
            key="default",
            label="Final",
            stages=[
                Stage(key="contact", label="C", probability="0.2"),
                Stage(key="won", label="W", probability=1, outcome="won"),
                Stage(key="lost", label="L", probability=0, outcome="lost"),
            ],
        )
        lost, _ = lose(opp, p, reason="price", now=at(days=1), actor="rep-1")
        with pytest.raises(TransitionNotAllowed, match="from 'lost' it allows: nowhere"):
            reopen(lost, p, now=at(days=2), actor="rep-1")

    def test_won_is_final(self, pipeline, opp):
        """Nothing leaves the won stage, not even to lost."""
        won = attrs.evolve(opp, stage="won", status="won")
        with pytest.raises(TransitionNotAllowed):
            lose(won, pipeline, reason="price", now=at(days=1), actor="rep-1")
        with pytest.raises(TransitionNotAllowed, match="'won' -> '<next>'"):
            advance(won, pipeline, now=at(days=1), actor="rep-1")


class TestEvents:
    def test_round_trip_through_json(self, pipeline, opp):
        """Events are plain values a host stores as JSON and reads back equal."""
        _, event = advance(
            opp, pipeline, now=at(days=1), actor="rep-1", override=Override(reason="ok", by="m")
        )
        data = json.loads(json.dumps(to_dict(event)))
        assert data["time_in_stage"] == "P1D"
        assert from_dict(StageChanged, data) == event

    def test_inconsistent_events_are_refused(self):
        """A lose event without a reason, or an override half given, is not an event."""
        base = {
            "opportunity_id": "o",
            "pipeline": "p",
            "kind": "lose",
            "from_stage": "a",
            "to_stage": "lost",
            "at": "2026-03-02T09:00:00+00:00",
            "actor": "r",
            "version": 1,
            "time_in_stage": "PT1H",
            "override_reason": "why",
        }
        with raises_problems(("lost_reason", "conflict"), ("override_by", "missing")):
            from_dict(StageChanged, base)

    def test_replay_against_the_pipeline(self, pipeline, opp):
        """With the pipeline, a replayed move must be one it allows, of the kind it allows."""
        won = attrs.evolve(opp, stage="won", status="won")
        forged = StageChanged(
            opportunity_id="o-1", pipeline="default", kind="reopen", from_stage="won", to_stage="proposal",
            at=at(days=1), actor="r", version=1, time_in_stage=dt.timedelta(days=1),
        )  # fmt: skip
        assert replay(won, [forged]).stage == "proposal"  # the events alone cannot tell
        with raises_problems(("events[0]", "state")):
            replay(won, [forged], pipeline=pipeline)

    def test_apply_refuses_events_that_do_not_follow(self, pipeline, opp):
        """Replaying someone else's event, or one out of order, is refused with the reason."""
        moved, event = lose(opp, pipeline, reason="price", now=at(days=1), actor="rep-1")
        with raises_problems(("from_stage", "conflict"), ("version", "order")):
            apply(moved, event)
        with raises_problems(("events[1].from_stage", "conflict"), ("events[1].version", "order")):
            replay(opp, [event, event])
        with raises_problems(("opportunity_id", "conflict")):
            apply(attrs.evolve(opp, id="o-9"), event)


EVENT = {
    "opportunity_id": "o-1",
    "pipeline": "default",
    "kind": "advance",
    "from_stage": "contact",
    "to_stage": "needs_confirmed",
    "at": T0,
    "actor": "r",
    "version": 1,
    "time_in_stage": dt.timedelta(hours=1),
}


class TestEventConsistency:
    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({"lost_reason": "price"}, [("lost_reason", "conflict")]),
            (
                {"kind": "lose", "to_stage": "lost"},
                [("lost_reason", "conflict")],
            ),
            ({"override_reason": "why"}, [("override_by", "missing")]),
            ({"override_by": "mgr"}, [("override_reason", "missing")]),
            ({"bypassed": ["a visit"]}, [("bypassed", "conflict")]),
            ({"version": 0}, [("version", "range")]),
            (
                {"override_by": "mgr", "bypassed": ["a visit"], "version": 0},
                [("override_reason", "missing"), ("bypassed", "conflict"), ("version", "range")],
            ),
        ],
    )
    def test_fields_that_go_together(self, changes, expected):
        """An event whose fields contradict each other is refused with every contradiction, in order."""
        with raises_problems(*expected):
            StageChanged(**{**EVENT, **changes})

    def test_a_consistent_override_event_is_hasty(self):
        """Reason, by and bypassed together make a valid, hasty event."""
        event = StageChanged(**EVENT, override_reason="signed early", override_by="mgr", bypassed=["a visit"])
        assert event.hasty
        assert hasty([StageChanged(**EVENT), event]) == (event,)

    def test_apply_names_every_mismatch(self, opp):
        """Another deal, another pipeline, another stage, an old version and an earlier time: all named."""
        event = StageChanged(
            **{**EVENT, "opportunity_id": "o-2", "pipeline": "x", "from_stage": "proposal", "version": 3}
        )
        later = attrs.evolve(opp, version=3, stage_entered_at=at(days=1))
        with raises_problems(
            ("opportunity_id", "conflict"),
            ("pipeline", "conflict"),
            ("from_stage", "conflict"),
            ("version", "order"),
            ("at", "order"),
        ):
            apply(later, event)
        moved = apply(opp, StageChanged(**{**EVENT, "version": 4}))
        assert (moved.stage, moved.version, moved.stage_entered_at) == ("needs_confirmed", 4, T0)


class TestWinTarget:
    @pytest.fixture
    def two_wins(self):
        return Pipeline(
            key="default",
            label="Two wins",
            allow_skip=True,
            stages=[
                Stage(key="contact", label="C", probability="0.2"),
                Stage(key="won_new", label="New", probability=1, outcome="won"),
                Stage(key="won_renewal", label="Renewal", probability=1, outcome="won"),
                Stage(key="lost", label="L", probability=0, outcome="lost"),
            ],
        )

    def test_several_won_stages_need_a_target(self, two_wins, opp):
        """With two won stages, win() without to= names them; with to= it goes there."""
        with raises_problems(("to", "missing")):
            win(opp, two_wins, now=at(days=1), actor="r")
        second, event = win(opp, two_wins, now=at(days=1), actor="r", to="won_renewal")
        assert (second.stage, second.status, event.to_stage) == (
            "won_renewal",
            OpportunityStatus.WON,
            "won_renewal",
        )
        first, _ = win(opp, two_wins, now=at(days=1), actor="r", to="won_new")
        assert first.stage == "won_new"

    def test_win_checks_actor_and_version(self, pipeline, opp):
        """win() refuses a bad actor and a stale expected version like every move, and records the actor."""
        ready = attrs.evolve(opp, stage="negotiation", evidence={"contract_signed"})
        with raises_problems(("actor", "empty")):
            win(ready, pipeline, now=at(days=1), actor="")
        with pytest.raises(ConcurrencyConflict):
            win(ready, pipeline, now=at(days=1), actor="r", expected_version=4)
        won, event = win(ready, pipeline, now=at(days=1), actor="closer", expected_version=0)
        assert (won.stage, won.version, event.actor, event.kind) == ("won", 1, "closer", MoveKind.WIN)


class TestLoseAndReopenArguments:
    def test_actor_and_version_are_checked_and_recorded(self, pipeline, opp):
        """lose() and reopen() refuse a bad actor or a stale version, and record the actor and the version."""
        with raises_problems(("actor", "format")):
            lose(opp, pipeline, reason="price", now=at(days=1), actor=" x")
        with pytest.raises(ConcurrencyConflict, match="is at version 0, not the expected 2"):
            lose(opp, pipeline, reason="price", now=at(days=1), actor="r", expected_version=2)
        lost, event = lose(opp, pipeline, reason="timing", now=at(days=1), actor="ann", expected_version=0)
        assert (event.actor, event.version, event.lost_reason, lost.lost_reason) == (
            "ann",
            1,
            "timing",
            "timing",
        )
        with raises_problems(("actor", "empty")):
            reopen(lost, pipeline, now=at(days=2), actor="")
        with pytest.raises(ConcurrencyConflict, match="is at version 1, not the expected 0"):
            reopen(lost, pipeline, now=at(days=2), actor="r", expected_version=0)
        back, event = reopen(lost, pipeline, now=at(days=2), actor="bob", expected_version=1)
        assert (back.stage, back.status, back.lost_reason, event.actor, event.version) == (
            "contact",
            OpportunityStatus.OPEN,
            None,
            "bob",
            2,
        )

    def test_no_way_to_lose_or_reopen_is_a_transition_error(self, pipeline, opp):
        """Losing a won deal, or reopening an open one, is refused naming where the deal may go."""
        won = attrs.evolve(opp, stage="won", status="won")
        with pytest.raises(TransitionNotAllowed) as exc:
            lose(won, pipeline, reason="price", now=at(days=1), actor="r")
        assert (
            str(exc.value)
            == "pipeline 'default' does not allow 'won' -> '<lost>'; from 'won' it allows: nowhere"
        )
        with pytest.raises(TransitionNotAllowed) as exc:
            reopen(opp, pipeline, now=at(days=1), actor="r")
        assert str(exc.value) == (
            "pipeline 'default' does not allow 'contact' -> '<open>'; "
            "from 'contact' it allows: 'needs_confirmed', 'lost'"
        )
        assert (exc.value.from_stage, exc.value.to_stage) == ("contact", "<open>")

    def test_replay_names_a_move_of_the_wrong_kind(self, pipeline, opp):
        """An event calling a forward step a 'win' is refused with the kind the pipeline gives that move."""
        forged = StageChanged(**{**EVENT, "kind": "win"})
        with raises_problems(("events[0]", "state")):
            replay(opp, [forged], pipeline=pipeline)
        assert replay(opp, [StageChanged(**EVENT)], pipeline=pipeline).stage == "needs_confirmed"
        with raises_problems(("opp", "type")):
            replay("o", [])


class TestStalled:
    def test_thresholds_worked_by_hand(self, pipeline, opp):
        """contact stalls after 14 days, needs_confirmed after 21: exactly 14 days is not yet stalled."""
        now = at(days=40)
        deals = [
            attrs.evolve(opp, id="o-a", stage_entered_at=now - dt.timedelta(days=14)),  # at the limit
            attrs.evolve(opp, id="o-b", stage_entered_at=now - dt.timedelta(days=14, seconds=1)),  # just past
            attrs.evolve(
                opp, id="o-c", stage="needs_confirmed", stage_entered_at=now - dt.timedelta(days=30)
            ),
            attrs.evolve(opp, id="o-d", stage="lost", status="lost", stage_entered_at=T0),  # closed
            attrs.evolve(opp, id="o-e", stage_entered_at=now - dt.timedelta(days=20)),
        ]
        found = stalled(deals, pipeline, now=now)
        assert [(s.opportunity_id, s.days_in_stage, s.threshold_days, s.days_over) for s in found] == [
            ("o-c", 30, 21, 9),
            ("o-e", 20, 14, 6),
            ("o-b", 14, 14, 0),
        ]

    def test_most_overdue_is_the_earliest_to_pass_its_threshold(self, pipeline, opp):
        """Order is by the moment the threshold passed (entered + limit), not by entry time or days over."""
        now = at(days=60)
        deals = [
            # contact, 14 days: entered 20 days ago, passed its limit 6 days ago
            attrs.evolve(opp, id="o-a", owner="ann", stage_entered_at=now - dt.timedelta(days=20)),
            # needs_confirmed, 21 days: entered 24 days ago (earlier), passed its limit only 3 days ago
            attrs.evolve(
                opp,
                id="o-b",
                owner="bob",
                stage="needs_confirmed",
                stage_entered_at=now - dt.timedelta(days=24),
            ),
        ]
        found = stalled(deals, pipeline, now=now)
        assert [(s.opportunity_id, s.owner, s.stage, s.entered_at, s.days_over) for s in found] == [
            ("o-a", "ann", "contact", now - dt.timedelta(days=20), 6),
            ("o-b", "bob", "needs_confirmed", now - dt.timedelta(days=24), 3),
        ]

    def test_a_stage_without_a_limit_never_stalls(self, opp):
        """A stage with no stall_after_days is skipped, and the deals after it are still checked."""
        p = Pipeline(
            key="default",
            label="Two",
            stages=[
                Stage(key="contact", label="C", probability="0.2"),
                Stage(key="proposal", label="P", probability="0.5", stall_after_days=3),
                Stage(key="won", label="W", probability=1, outcome="won"),
                Stage(key="lost", label="L", probability=0, outcome="lost"),
            ],
        )
        deals = [attrs.evolve(opp, id="o-a"), attrs.evolve(opp, id="o-b", stage="proposal")]
        assert [s.opportunity_id for s in stalled(deals, p, now=at(days=400))] == ["o-b"]

    def test_other_pipelines_are_refused(self, pipeline, opp):
        """Mixing pipelines is an error, not a silent skip."""
        with raises_problems(("opps[0].pipeline", "conflict")):
            stalled([attrs.evolve(opp, pipeline="x")], pipeline, now=at(days=1))


class TestReadiness:
    def test_report_for_the_next_stage(self, pipeline, opp, people):
        """The report covers the forward moves, with each requirement's verdict."""
        report = readiness(
            opp, pipeline, now=at(days=1), activities=[visit("a1", at(hours=1))], key_persons=people
        )
        assert report.ready == ()
        assert [t.to for t in report.targets] == ["needs_confirmed"]
        assert report.target("needs_confirmed").unmet == ("a decision maker identified: no decision maker",)
        assert repr(report) == "<Readiness: 'o-1' at 'contact': ready for no stage (1 targets)>"
        assert str(report).splitlines() == [
            "Readiness of 'o-1' at 'contact' (default), 2026-03-03T09:00:00+00:00",
            "  -> needs_confirmed: not ready",
            "    [ok] 1 visit with purpose and needs found filled: 1 of 1",
            "    [--] a decision maker identified: no decision maker",
        ]

    def test_records_html_and_dict(self, pipeline, opp):
        """Flat records for pandas, an HTML table for notebooks, and a JSON-safe dict."""
        report = readiness(opp, pipeline, now=at(days=1))
        rows = report.to_records()
        assert [(r["requirement"], r["met"]) for r in rows] == [
            ("1 visit with purpose and needs found filled", False),
            ("a decision maker identified", False),
        ]
        assert set(rows[0]) == {
            "opportunity_id",
            "stage",
            "to",
            "allowed",
            "ready",
            "requirement",
            "depth",
            "met",
            "detail",
        }
        html = report._repr_html_()
        assert "<table>" in html
        assert "a decision maker identified" in html
        assert json.loads(json.dumps(report.to_dict()))["targets"][0]["to"] == "needs_confirmed"

    def test_records_and_html_of_nested_requirements_word_for_word(self, opp):
        """Nested any_of/all_of become rows with their depth, in order, and indented HTML rows with marks."""
        p = Pipeline(
            key="small",
            label="Small",
            allow_skip=True,
            stages=[
                Stage(
                    key="contact",
                    label="Contact",
                    probability="0.1",
                    stall_after_days=7,
                    requirements=[
                        any_of(
                            ActivityCount(kinds="visit"),
                            all_of(TimeInStage(days=2), RequiredFields(fields=["amount"])),
                        )
                    ],
                ),
                Stage(
                    key="proposal", label="Proposal", probability="0.5", requirements=[TimeInStage(days=1)]
                ),
                Stage(key="won", label="Won", probability=1, outcome="won"),
                Stage(key="lost", label="Lost", probability=0, outcome="lost"),
            ],
        )
        deal = attrs.evolve(opp, id="o<1>", pipeline="small")
        report = readiness(deal, p, now=at(days=3), to="proposal")
        nested = "any of: 1 visit; all of: at least 2 days in stage; amount recorded"
        both = "all of: at least 2 days in stage; amount recorded"
        common = {
            "opportunity_id": "o<1>",
            "stage": "contact",
            "to": "proposal",
            "allowed": True,
            "ready": False,
        }
        assert report.to_records() == [
            {**common, "requirement": nested, "depth": 0, "met": False, "detail": "0 of 2 met"},
            {**common, "requirement": "1 visit", "depth": 1, "met": False, "detail": "0 of 1"},
            {**common, "requirement": both, "depth": 1, "met": False, "detail": "1 of 2 met"},
            {
                **common,
                "requirement": "at least 2 days in stage",
                "depth": 2,
                "met": True,
                "detail": "3 of 2 days",
            },
            {
                **common,
                "requirement": "amount recorded",
                "depth": 2,
                "met": False,
                "detail": "missing amount",
            },
        ]
        pad = "&nbsp;" * 4
        assert report._repr_html_() == (
            "<div><b>Readiness of o&lt;1&gt;</b> at <code>contact</code> (small)<table>"
            "<tr><th colspan='3' style='text-align:left'>&rarr; proposal: not ready</th></tr>"
            f"<tr><td>&#10007;</td><td>{nested}</td><td>0 of 2 met</td></tr>"
            f"<tr><td>&#10007;</td><td>{pad}1 visit</td><td>0 of 1</td></tr>"
            f"<tr><td>&#10007;</td><td>{pad}{both}</td><td>1 of 2 met</td></tr>"
            f"<tr><td>&#10003;</td><td>{pad * 2}at least 2 days in stage</td><td>3 of 2 days</td></tr>"
            f"<tr><td>&#10007;</td><td>{pad * 2}amount recorded</td><td>missing amount</td></tr>"
            "</table></div>"
        )
        # A target without requirements is one row with blanks; a ready one says so.
        lost = readiness(deal, p, now=at(days=3), to="lost")
        assert lost.to_records() == [
            {
                **common,
                "to": "lost",
                "ready": True,
                "requirement": None,
                "depth": 0,
                "met": None,
                "detail": None,
            }
        ]
        assert lost._repr_html_() == (
            "<div><b>Readiness of o&lt;1&gt;</b> at <code>contact</code> (small)<table>"
            "<tr><th colspan='3' style='text-align:left'>&rarr; lost: ready</th></tr></table></div>"
        )
        # Every forward target is reported; the second one carries its own stage's requirement too.
        every = readiness(deal, p, now=at(days=3))
        assert [(r["to"], r["depth"], r["requirement"]) for r in every.to_records() if r["depth"] == 0] == [
            ("proposal", 0, nested),
            ("won", 0, nested),
            ("won", 0, "at least 1 day in stage"),
        ]
        assert p._repr_html_() == (
            "<table><caption>pipeline &#x27;small&#x27;</caption><thead><tr><th>stage</th><th>label</th>"
            "<th>probability</th><th>outcome</th><th>category</th><th>stall after days</th>"
            "<th>to leave it</th></tr></thead><tbody>"
            f"<tr><td>contact</td><td>Contact</td><td>10%</td><td>open</td><td>pipeline</td><td>7</td><td>{nested}</td></tr>"
            "<tr><td>proposal</td><td>Proposal</td><td>50%</td><td>open</td><td>pipeline</td><td></td>"
            "<td>at least 1 day in stage</td></tr>"
            "<tr><td>won</td><td>Won</td><td>100%</td><td>won</td><td>closed</td><td></td><td></td></tr>"
            "<tr><td>lost</td><td>Lost</td><td>0%</td><td>lost</td><td>omitted</td><td></td><td></td></tr>"
            "</tbody></table>"
        )

    def test_target_not_in_the_report(self, pipeline, opp):
        """Asking a report for a stage it does not cover names the stages it does."""
        report = readiness(opp, pipeline, now=at(days=1))
        with raises_problems(("key", "reference")):
            report.target("won")

    def test_html_of_a_move_not_allowed(self, pipeline, opp):
        """A forbidden target shows as 'not allowed' with no requirement rows."""
        report = readiness(opp, pipeline, now=at(days=1), to="won")
        assert report._repr_html_().endswith(
            "<tr><th colspan='3' style='text-align:left'>&rarr; won: not allowed</th></tr></table></div>"
        )

    def test_html_escapes(self, opp):
        """Names from users are escaped in the HTML view."""
        p = Pipeline(
            key="default",
            label="X",
            stages=[
                Stage(
                    key="contact",
                    label="C",
                    probability="0.2",
                    requirements=[TimeInStage(days=1, name="<b>wait</b>")],
                ),
                Stage(key="won", label="W", probability=1, outcome="won"),
                Stage(key="lost", label="L", probability=0, outcome="lost"),
            ],
        )
        html = readiness(opp, p, now=at(days=2))._repr_html_()
        assert "&lt;b&gt;wait&lt;/b&gt;" in html
        assert "<b>wait</b>" not in html

    def test_a_move_that_is_not_allowed(self, pipeline, opp):
        """Asking about a forbidden target says so instead of evaluating it."""
        report = readiness(opp, pipeline, now=at(days=1), to="won")
        assert (report.targets[0].allowed, report.targets[0].ready, report.targets[0].verdicts) == (
            False,
            False,
            (),
        )
        assert "-> won: not allowed" in str(report)


class TestFastBuilders:
    def test_moved_copies_every_field(self, opp):
        """The engine's slot-setting copy equals attrs.evolve for a deal with every field set."""
        from funnelkit.entities import moved_opportunity

        full = attrs.evolve(
            opp,
            amount=Money.of(5, "EUR"),
            expected_close=dt.date(2026, 9, 1),
            key_person_ids=["kp-dm"],
            competitors=["Rival"],
            gaps=[gap("budget")],
            evidence={"selected"},
            version=4,
        )
        moved = moved_opportunity(full, "lost", at(days=3), 5, OpportunityStatus.LOST, "price")
        expected = attrs.evolve(
            full, stage="lost", stage_entered_at=at(days=3), version=5, status="lost", lost_reason="price"
        )
        assert moved == expected
        assert attrs.asdict(moved) == attrs.asdict(expected)  # every slot is set

    def test_event_sets_every_field(self):
        """The engine's event builder gives the same value as the checked constructor."""
        from funnelkit.stages._engine import _event

        values = {
            "opportunity_id": "o",
            "pipeline": "p",
            "kind": MoveKind.LOSE,
            "from_stage": "a",
            "to_stage": "lost",
            "at": at(days=1),
            "actor": "r",
            "version": 3,
            "time_in_stage": dt.timedelta(days=1),
            "lost_reason": "price",
            "override_reason": None,
            "override_by": None,
            "bypassed": (),
        }
        assert [f.name for f in attrs.fields(StageChanged)] == list(values)
        built = _event(*values.values())
        assert built == StageChanged(**values)
        assert attrs.asdict(built) == values


class TestReviewedEdges:
    @pytest.mark.parametrize(
        ("call", "problem"),
        [
            (lambda p, o: advance(o, p, now=at(days=1), actor="r", to=["x"]), ("to", "type")),
            (lambda p, o: readiness(o, p, now=at(days=1), to=["x"]), ("to", "type")),
            (lambda p, o: advance(o, p, now=at(days=1), actor="r", activities=None), ("activities", "type")),
            (
                lambda p, o: advance(o, p, now=at(days=1), actor="r", key_persons=None),
                ("key_persons", "type"),
            ),
            (
                lambda p, o: advance(o, p, now=at(days=1), actor="r", key_persons={"k": 1}),
                ("key_persons['k']", "type"),
            ),
            (lambda p, o: stalled(None, p, now=at(days=1)), ("opps", "type")),
            (lambda p, o: replay(o, None), ("events", "type")),
            (lambda p, o: replay(None, []), ("opp", "type")),
            (lambda p, o: hasty(None), ("events", "type")),
        ],
    )
    def test_bad_containers_are_validation_errors(self, pipeline, opp, call, problem):
        """Wrong types for arguments are ValidationErrors that name the argument."""
        with raises_problems(problem):
            call(pipeline, opp)

    def test_activity_at_the_moment_of_a_move_counts_once(self, opp):
        """A call at the instant of a move counts for the stage left, not again for the stage entered."""
        p = Pipeline(
            key="default",
            label="Calls",
            stages=[
                Stage(key="a", label="A", probability="0.1", requirements=[ActivityCount(kinds="call")]),
                Stage(key="b", label="B", probability="0.2", requirements=[ActivityCount(kinds="call")]),
                Stage(key="won", label="W", probability=1, outcome="won"),
                Stage(key="lost", label="L", probability=0, outcome="lost"),
            ],
        )
        deal = attrs.evolve(opp, stage="a")
        one_call = [visit("c1", at(days=1), kind="call")]
        moved, _ = advance(deal, p, now=at(days=1), actor="r", activities=one_call)
        with pytest.raises(MilestoneNotMet, match="1 call: 0 of 1"):
            advance(moved, p, now=at(days=2), actor="r", activities=one_call)

    def test_activity_at_creation_counts_in_the_first_stage(self, opp):
        """The visit that created the deal, logged at the same instant, counts in its first stage."""
        acts = [visit("v", T0)]
        report = readiness(opp, default_pipeline_for_tests(), now=at(days=1), activities=acts)
        assert report.targets[0].verdicts[0].met

    def test_defaults_follow_explicit_transitions(self, opp):
        """next, lose and reopen defaults come from the listed moves, not the list order."""
        p = Pipeline(
            key="default",
            label="Explicit",
            stages=[
                Stage(key="a", label="A", probability="0.1"),
                Stage(key="b", label="B", probability="0.2"),
                Stage(key="c", label="C", probability="0.3"),
                Stage(key="won", label="W", probability=1, outcome="won"),
                Stage(key="dead", label="Dead", probability=0, outcome="lost"),
                Stage(key="lost", label="L", probability=0, outcome="lost"),
            ],
            transitions=[
                ("a", "c"),
                ("c", "b"),
                ("b", "won"),
                ("b", "dead"),
                ("a", "lost"),
                ("c", "lost"),
                ("lost", "c"),
            ],
            probability_check="off",
        )
        deal = attrs.evolve(opp, stage="a")
        assert p.next_stage("a") == "c"
        moved, _ = advance(deal, p, now=at(days=1), actor="r")
        assert moved.stage == "c"
        lost, _ = lose(moved, p, reason="price", now=at(days=2), actor="r")
        assert lost.stage == "lost"
        back, _ = reopen(lost, p, now=at(days=3), actor="r")
        assert back.stage == "c"


def default_pipeline_for_tests():
    from funnelkit.stages import default_pipeline

    return default_pipeline()
