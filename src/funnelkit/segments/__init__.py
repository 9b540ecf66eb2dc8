"""
Segmentation, prioritisation and sales KPIs: who deserves which effort.

Pure functions over entities; "now" and periods are arguments.
"""

from __future__ import annotations

from .._time import Period, period_start  # the time module's; re-exported where they were first
from ._abc import AbcResult, AbcRow, TierSummary, abc, abc_customers
from ._coverage import (
    DEFAULT_COVERAGE,
    CoveragePlan,
    Misalignment,
    Move,
    Recommendation,
    Relationship,
    coverage,
    relationships,
)
from ._kpis import (
    RepOutcomes,
    RepPeriod,
    activity_kpis,
    default_effective,
    kpi_records,
    outcome_kpis,
    quartiles,
)
from ._migration import Migration, migration
from ._priority import FollowUp, FollowUpPolicy, due_followups, work_queue
from ._rfm import RfmResult, RfmScore, rfm

__all__ = [
    "DEFAULT_COVERAGE",
    "AbcResult",
    "AbcRow",
    "CoveragePlan",
    "FollowUp",
    "FollowUpPolicy",
    "Migration",
    "Misalignment",
    "Move",
    "Period",
    "Recommendation",
    "Relationship",
    "RepOutcomes",
    "RepPeriod",
    "RfmResult",
    "RfmScore",
    "TierSummary",
    "abc",
    "abc_customers",
    "activity_kpis",
    "coverage",
    "default_effective",
    "due_followups",
    "kpi_records",
    "migration",
    "outcome_kpis",
    "period_start",
    "quartiles",
    "relationships",
    "rfm",
    "work_queue",
]
