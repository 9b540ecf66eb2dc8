"""
Segmentation, prioritisation and sales KPIs: who deserves which effort.

Pure functions over entities; "now" and periods are arguments.
"""

from __future__ import annotations

from .._time import Period, period_start  # the time module's; re-exported where they were first
from ._abc import AbcResult, AbcRow, TierSummary, abc, abc_columns, abc_customers
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
    ActivityKpis,
    RepActivity,
    RepResults,
    ResultKpis,
    activity_kpis,
    default_effective,
    kpi_records,
    quartiles,
    result_kpis,
)
from ._migration import Migration, migration
from ._priority import FollowUp, FollowUpPolicy, due_followups, work_queue
from ._rfm import RfmResult, RfmScore, rfm

__all__ = [
    "DEFAULT_COVERAGE",
    "AbcResult",
    "AbcRow",
    "ActivityKpis",
    "CoveragePlan",
    "FollowUp",
    "FollowUpPolicy",
    "Migration",
    "Misalignment",
    "Move",
    "Period",
    "Recommendation",
    "Relationship",
    "RepActivity",
    "RepResults",
    "ResultKpis",
    "RfmResult",
    "RfmScore",
    "TierSummary",
    "abc",
    "abc_columns",
    "abc_customers",
    "activity_kpis",
    "coverage",
    "default_effective",
    "due_followups",
    "kpi_records",
    "migration",
    "period_start",
    "quartiles",
    "relationships",
    "result_kpis",
    "rfm",
    "work_queue",
]
