"""
The stage engine: pipelines of stages with milestone checks.

A company defines its stages, each stage's win probability and what must be
done before a deal may leave it; the engine enforces that.  Everything here is
a value or a pure function: ``(opportunity, pipeline, now) -> (new
opportunity, event)``.

>>> import datetime as dt
>>> from funnelkit import Opportunity
>>> from funnelkit.stages import advance, default_pipeline, readiness
>>> pipeline = default_pipeline()
>>> t0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
>>> opp = Opportunity(id="o-1", customer_id="c-1", owner="rep-1", pipeline="default",
...                   stage="contact", created_at=t0, stage_entered_at=t0)
>>> print(readiness(opp, pipeline, now=t0 + dt.timedelta(days=1)))
Readiness of 'o-1' at 'contact' (default), 2026-03-03T09:00:00+00:00
  -> needs_confirmed: not ready
    [--] 1 visit with purpose and needs found filled: 0 of 1
    [--] a decision maker identified: no decision maker
"""

from __future__ import annotations

from .._edits import UNCHANGED, AmountChanged, CategoryChanged, CloseDateChanged, Edit, edit
from ..entities import ForecastCategory
from ._batch import Moves, Refusal, advance_many
from ._engine import (
    Override,
    Readiness,
    Stalled,
    TargetReadiness,
    advance,
    apply,
    hasty,
    lose,
    readiness,
    reopen,
    replay,
    stalled,
    win,
)
from ._event import StageChanged
from ._field_history import edits_from_history, merge_history
from ._history_columns import HistoryColumns, events_from_history
from ._pipeline import Pipeline
from ._requirements import (
    ActivityCount,
    AllOf,
    AmountAtLeast,
    AnyOf,
    Context,
    EvidenceRecorded,
    KeyPersonCoverage,
    NoOpenGaps,
    Predicate,
    RequiredFields,
    Requirement,
    TimeInStage,
    Verdict,
    all_of,
    any_of,
)
from ._routes import Plan, Routes
from ._stage import MoveKind, ProbabilityCheck, Stage, StageOutcome
from ._statechart import to_mermaid, to_statechart
from ._templates import DEFAULT_LOST_REASONS, default_pipeline

__all__ = [
    "DEFAULT_LOST_REASONS",
    "UNCHANGED",
    "ActivityCount",
    "AllOf",
    "AmountAtLeast",
    "AmountChanged",
    "AnyOf",
    "CategoryChanged",
    "CloseDateChanged",
    "Context",
    "Edit",
    "EvidenceRecorded",
    "ForecastCategory",
    "HistoryColumns",
    "KeyPersonCoverage",
    "MoveKind",
    "Moves",
    "NoOpenGaps",
    "Override",
    "Pipeline",
    "Plan",
    "Predicate",
    "ProbabilityCheck",
    "Readiness",
    "Refusal",
    "RequiredFields",
    "Requirement",
    "Routes",
    "Stage",
    "StageChanged",
    "StageOutcome",
    "Stalled",
    "TargetReadiness",
    "TimeInStage",
    "Verdict",
    "advance",
    "advance_many",
    "all_of",
    "any_of",
    "apply",
    "default_pipeline",
    "edit",
    "edits_from_history",
    "events_from_history",
    "hasty",
    "lose",
    "merge_history",
    "readiness",
    "reopen",
    "replay",
    "stalled",
    "to_mermaid",
    "to_statechart",
    "win",
]
