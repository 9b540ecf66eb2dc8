"""
Ready-made pipelines.
"""

from __future__ import annotations

from ..entities import ActivityKind, Role, Stance
from ._pipeline import Pipeline
from ._requirements import (
    ActivityCount,
    EvidenceRecorded,
    KeyPersonCoverage,
    NoOpenGaps,
    RequiredFields,
)
from ._stage import Stage, StageOutcome

#: Lost reasons of the default pipeline.
DEFAULT_LOST_REASONS: tuple[str, ...] = (
    "price",
    "competitor",
    "no_budget",
    "no_decision",
    "timing",
    "requirements_not_met",
    "relationship",
    "other",
)

_FAVOURABLE = frozenset({Stance.SUPPORTER, Stance.CHAMPION})


def default_pipeline() -> Pipeline:
    """
    A common eight-step B2B sales process, with the probabilities sales
    teams often use (30 / 60 / 90 % at the second, fifth and seventh step,
    the rest interpolated) and these exit requirements, each the evidence that the
    customer has really moved on:

    1. ``contact`` (10 %) - establish contact and find the opportunity.
       Leave with: **1 visit with purpose and needs found filled** (an
       effective visit that uncovered needs) and **a decision maker
       identified**.
    2. ``needs_confirmed`` (30 %) - the customer's needs are confirmed.
       Leave with: **amount, expected close, competitors recorded** (we can
       size, time and position the deal).
    3. ``proposal`` (40 %) - propose a solution and win the customer's
       support.  Leave with: **1 meeting or demo or trial with feedback filled**
       (the solution was shown and the reaction recorded) and **a recommender
       who is champion or supporter**.
    4. ``approved`` (50 %) - the customer approved the project (立项).
       Entering it needs **project approved recorded** in the evidence, so the
       requirement sits on ``proposal``'s exit; leaving it needs **shortlisted
       recorded**.
    5. ``shortlisted`` (60 %) - we are on the shortlist (入围).  Leave with:
       **selected recorded** and **a decision maker who is champion or
       supporter**.
    6. ``selected`` (75 %) - the customer chose us (选中).  Leave with: **no
       open gaps** (missing information) on the deal.
    7. ``negotiation`` (90 %) - commercial terms.  Leave (to won) with:
       **contract signed recorded**.
    8. ``won`` (100 %) or ``lost`` (0 %).

    Moves go forward one step at a time, any open stage may be lost, and a
    lost deal may be reopened.  Stall thresholds run from 14 to 30 days.

    Cost: O(1): a fresh, equal pipeline on every call.

    >>> p = default_pipeline()
    >>> [(s.key, str(s.probability)) for s in p.stages]  # doctest: +NORMALIZE_WHITESPACE
    [('contact', '0.10'), ('needs_confirmed', '0.30'), ('proposal', '0.40'), ('approved', '0.50'),
     ('shortlisted', '0.60'), ('selected', '0.75'), ('negotiation', '0.90'), ('won', '1'), ('lost', '0')]
    """
    return Pipeline(
        key="default",
        label="Eight-step sales process",
        allow_reopen=True,
        lost_reasons=DEFAULT_LOST_REASONS,
        stages=(
            Stage(
                key="contact",
                label="Establish contact",
                probability="0.10",
                stall_after_days=14,
                description="Find the opportunity and the people behind it.",
                requirements=(
                    ActivityCount(kinds=ActivityKind.VISIT, filled=("purpose", "needs_found")),
                    KeyPersonCoverage(role=Role.DECISION_MAKER),
                ),
            ),
            Stage(
                key="needs_confirmed",
                label="Needs confirmed",
                probability="0.30",
                stall_after_days=21,
                description="The customer's needs are understood and confirmed.",
                requirements=(RequiredFields(fields=("amount", "expected_close", "competitors")),),
            ),
            Stage(
                key="proposal",
                label="Proposal and support",
                probability="0.40",
                stall_after_days=30,
                description="Propose a solution and win the customer's support.",
                requirements=(
                    ActivityCount(
                        kinds=(ActivityKind.DEMO, ActivityKind.MEETING, ActivityKind.TRIAL),
                        filled=("feedback",),
                    ),
                    KeyPersonCoverage(role=Role.RECOMMENDER, stances=_FAVOURABLE),
                    EvidenceRecorded(key="project_approved"),
                ),
            ),
            Stage(
                key="approved",
                label="Project approved",
                probability="0.50",
                stall_after_days=30,
                description="The customer approved the project (立项).",
                requirements=(EvidenceRecorded(key="shortlisted"),),
            ),
            Stage(
                key="shortlisted",
                label="Shortlisted",
                probability="0.60",
                stall_after_days=21,
                description="We are on the customer's shortlist (入围).",
                requirements=(
                    EvidenceRecorded(key="selected"),
                    KeyPersonCoverage(role=Role.DECISION_MAKER, stances=_FAVOURABLE),
                ),
            ),
            Stage(
                key="selected",
                label="Selected",
                probability="0.75",
                stall_after_days=14,
                description="The customer chose us (选中).",
                requirements=(NoOpenGaps(),),
            ),
            Stage(
                key="negotiation",
                label="Negotiation",
                probability="0.90",
                stall_after_days=21,
                description="Commercial terms and contract.",
                requirements=(EvidenceRecorded(key="contract_signed"),),
            ),
            Stage(key="won", label="Won", probability=1, outcome=StageOutcome.WON),
            Stage(key="lost", label="Lost", probability=0, outcome=StageOutcome.LOST),
        ),
    )
