"""Every argument of the stage engine refuses a wrong value with its own path and message."""

import datetime as dt

import attrs
import pytest

from funnelkit import Opportunity, ValidationError
from funnelkit.errors import MilestoneNotMet
from funnelkit.stages import advance, apply, default_pipeline, hasty, lose, readiness, replay, stalled, win

P = default_pipeline()
T = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NAIVE = dt.datetime(2026, 1, 1)
IS_NAIVE = (
    "datetime.datetime(2026, 1, 1, 0, 0) is naive; expected a timezone-aware datetime (attach a tzinfo, "
    "e.g. datetime.timezone.utc or zoneinfo.ZoneInfo('Asia/Shanghai'))"
)
DEAL = Opportunity(
    id="o", customer_id="c", owner="r", pipeline="default", stage="contact", created_at=T, stage_entered_at=T
)
STAGES = "'contact', 'needs_confirmed', 'proposal', 'approved', 'shortlisted', 'selected', 'negotiation', 'won', 'lost'"
REASONS = "'price', 'competitor', 'no_budget', 'no_decision', 'timing', 'requirements_not_met', 'relationship', 'other'"

CASES = [
    (lambda: advance(DEAL, P, now=T, actor="r", to=5), "to: 5 is an int; expected a stage key"),
    (lambda: advance(DEAL, P, now=T, actor="r", override="x"), "override: 'x' is a str; expected Override(reason=..., by=...)"),
    (lambda: advance(DEAL, P, now=T, actor="r", to="zz"), f"to: 'zz' is not a stage of pipeline 'default'; stages: {STAGES}"),
    (lambda: advance(DEAL, P, now=T, actor="r", to="lost"), "to: 'contact' -> 'lost' is a lose move; use lose()"),
    (lambda: win(DEAL, P, now=T, actor="r", to="needs_confirmed"), "to: 'contact' -> 'needs_confirmed' is an advance move; use advance()"),
    (lambda: advance("x", P, now=T, actor="r"), "opp: 'x' is a str; expected an Opportunity"),
    (lambda: advance(DEAL, "p", now=T, actor="r"), "pipeline: 'p' is a str; expected a Pipeline"),
    (lambda: advance(DEAL, P, now=NAIVE, actor="r"), f"now: {IS_NAIVE}"),
    (lambda: advance(DEAL, P, now=T, actor=" r"), "actor: ' r' has surrounding whitespace; an id must be stripped"),
    (lambda: advance(DEAL, P, now=T, actor="r", expected_version=-1), "expected_version: -1 is negative; expected an int >= 0"),
    (lambda: advance(DEAL, P, now=T, actor="r", activities=5), "activities: 5 is an int; expected a list of activities"),
    (lambda: advance(DEAL, P, now=T, actor="r", key_persons={"k": 5}), "key_persons['k']: 5 is an int; expected a KeyPerson"),
    (lambda: advance(DEAL, P, now=T, actor="r", key_persons=[5]), "key_persons[0]: 5 is an int; expected a KeyPerson"),
    (lambda: advance(DEAL, P, now=T, actor="r", key_persons=7), "key_persons: 7 is an int; expected a list of key persons"),
    (lambda: advance(DEAL, P, now=T, actor="r", activities=[5]), "activities[0]: 5 is an int; expected an Activity"),
    (lambda: advance(DEAL, P, now=T, actor=5), "actor: 5 is an int; an id must be a non-empty str"),
    (lambda: advance(DEAL, P, now=T, actor="r", expected_version=True), "expected_version: True is a bool; expected an int >= 0"),
    (lambda: advance(DEAL, P, now=T - dt.timedelta(seconds=1), actor="r"), "now: 2026-03-02T08:59:59+00:00 is before the opportunity entered its stage (2026-03-02T09:00:00+00:00)"),
    (lambda: apply("x", None), "opp: 'x' is a str; expected an Opportunity"),
    (lambda: apply(DEAL, "x"), "event: 'x' is a str; expected a StageChanged"),
    (lambda: replay(DEAL, [], pipeline="p"), "pipeline: 'p' is a str; expected a Pipeline"),
    (lambda: replay(DEAL, 5), "events: 5 is an int; expected a list of events"),
    (lambda: stalled([DEAL], P, now=NAIVE), f"now: {IS_NAIVE}"),
    (lambda: stalled([DEAL], "p", now=T), "pipeline: 'p' is a str; expected a Pipeline"),
    (lambda: stalled([DEAL, "o"], P, now=T), "opps[1]: 'o' is a str; expected an Opportunity"),
    (lambda: stalled([DEAL, attrs.evolve(DEAL, stage="zz")], P, now=T), f"opps[1].stage: 'zz' is not a stage of pipeline 'default'; stages: {STAGES}"),
    (lambda: stalled(5, P, now=T), "opps: 5 is an int; expected a list of opportunities"),
    (lambda: hasty(["e"]), "events[0]: 'e' is a str; expected a StageChanged"),
    (lambda: readiness("x", P, now=T), "opp: 'x' is a str; expected an Opportunity"),
    (lambda: readiness(DEAL, None, now=T), "pipeline: None is a NoneType; expected a Pipeline"),
    (lambda: readiness(attrs.evolve(DEAL, pipeline="other"), P, now=T), "pipeline: 'default' is not the opportunity's pipeline 'other'"),
    (lambda: readiness(DEAL, P, now=T, to="zz"), f"to: 'zz' is not a stage of pipeline 'default'; stages: {STAGES}"),
    (lambda: lose(DEAL, P, reason="weather", now=T, actor="r"), f"reason: 'weather' is not a lost reason of 'default'; allowed: {REASONS}"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_argument_names_itself(call, expected):
    """The one problem names the argument, the value and what is allowed."""
    with pytest.raises(ValidationError) as e:
        call()
    assert [str(p) for p in e.value.problems] == [expected]


def test_a_refusal_carries_the_report_of_the_move_asked_for():
    """MilestoneNotMet's report names the deal, its stage and the refused target as allowed but not ready."""
    with pytest.raises(MilestoneNotMet) as e:
        advance(DEAL, P, now=T, actor="r")
    report = e.value.report
    assert (report.opportunity_id, report.pipeline, report.stage, report.now) == (
        "o",
        "default",
        "contact",
        T,
    )
    (target,) = report.targets
    assert (target.to, target.allowed, target.ready) == ("needs_confirmed", True, False)


def test_moves_keep_the_link_to_the_lead():
    """lead_id (and every other field the engine does not own) survives a move and a loss."""
    deal = attrs.evolve(DEAL, lead_id="lead-7")
    moved, _ = lose(deal, P, reason="price", now=T, actor="r")
    assert moved.lead_id == "lead-7"
