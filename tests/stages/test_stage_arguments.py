"""Every argument of the stage engine refuses a wrong value with its own path and code."""

import datetime as dt

import attrs
import pytest

from _problems import raises_problems
from funnelkit import Opportunity
from funnelkit.errors import MilestoneNotMet
from funnelkit.stages import advance, apply, default_pipeline, hasty, lose, readiness, replay, stalled, win

P = default_pipeline()
T = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NAIVE = dt.datetime(2026, 1, 1)
DEAL = Opportunity(
    id="o", customer_id="c", owner="r", pipeline="default", stage="contact", created_at=T, stage_entered_at=T
)
STAGES = "'contact', 'needs_confirmed', 'proposal', 'approved', 'shortlisted', 'selected', 'negotiation', 'won', 'lost'"
REASONS = "'price', 'competitor', 'no_budget', 'no_decision', 'timing', 'requirements_not_met', 'relationship', 'other'"

CASES = [
    (lambda: advance(DEAL, P, now=T, actor="r", to=5), ("to", "type")),
    (lambda: advance(DEAL, P, now=T, actor="r", override="x"), ("override", "type")),
    (lambda: advance(DEAL, P, now=T, actor="r", to="zz"), ("to", "reference")),
    (lambda: advance(DEAL, P, now=T, actor="r", to="lost"), ("to", "conflict")),
    (lambda: win(DEAL, P, now=T, actor="r", to="needs_confirmed"), ("to", "conflict")),
    (lambda: advance("x", P, now=T, actor="r"), ("opp", "type")),
    (lambda: advance(DEAL, "p", now=T, actor="r"), ("pipeline", "type")),
    (lambda: advance(DEAL, P, now=NAIVE, actor="r"), ("now", "timezone")),
    (lambda: advance(DEAL, P, now=T, actor=" r"), ("actor", "format")),
    (lambda: advance(DEAL, P, now=T, actor="r", expected_version=-1), ("expected_version", "range")),
    (lambda: advance(DEAL, P, now=T, actor="r", activities=5), ("activities", "type")),
    (lambda: advance(DEAL, P, now=T, actor="r", key_persons={"k": 5}), ("key_persons['k']", "type")),
    (lambda: advance(DEAL, P, now=T, actor="r", key_persons=[5]), ("key_persons[0]", "type")),
    (lambda: advance(DEAL, P, now=T, actor="r", key_persons=7), ("key_persons", "type")),
    (lambda: advance(DEAL, P, now=T, actor="r", activities=[5]), ("activities[0]", "type")),
    (lambda: advance(DEAL, P, now=T, actor=5), ("actor", "type")),
    (lambda: advance(DEAL, P, now=T, actor="r", expected_version=True), ("expected_version", "type")),
    (lambda: advance(DEAL, P, now=T - dt.timedelta(seconds=1), actor="r"), ("now", "order")),
    (lambda: apply("x", None), ("opp", "type")),
    (lambda: apply(DEAL, "x"), ("event", "type")),
    (lambda: replay(DEAL, [], pipeline="p"), ("pipeline", "type")),
    (lambda: replay(DEAL, 5), ("events", "type")),
    (lambda: stalled([DEAL], P, now=NAIVE), ("now", "timezone")),
    (lambda: stalled([DEAL], "p", now=T), ("pipeline", "type")),
    (lambda: stalled([DEAL, "o"], P, now=T), ("opps[1]", "type")),
    (lambda: stalled([DEAL, attrs.evolve(DEAL, stage="zz")], P, now=T), ("opps[1].stage", "reference")),
    (lambda: stalled(5, P, now=T), ("opps", "type")),
    (lambda: hasty(["e"]), ("events[0]", "type")),
    (lambda: readiness("x", P, now=T), ("opp", "type")),
    (lambda: readiness(DEAL, None, now=T), ("pipeline", "type")),
    (lambda: readiness(attrs.evolve(DEAL, pipeline="other"), P, now=T), ("pipeline", "conflict")),
    (lambda: readiness(DEAL, P, now=T, to="zz"), ("to", "reference")),
    (lambda: lose(DEAL, P, reason="weather", now=T, actor="r"), ("reason", "choice")),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_argument_names_itself(call, expected):
    """The one problem names the argument and the kind of problem."""
    with raises_problems(expected):
        call()


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
