"""
Segmentation, prioritisation and sales KPIs: who deserves which effort.

Pure functions over entities; "now" and periods are arguments.
"""

from __future__ import annotations

from .._time import Period, period_start  # the time module's; re-exported where they were first
from ._abc import AbcResult, AbcRow, TierSummary, abc, abc_columns, abc_customers
from ._account_plans import AccountPlan, AccountPlans, GapKind, PlanGap, RoleCover, account_plans
from ._at_risk import DEFAULT_SILENCE, AtRisk, AtRiskRow, at_risk
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
from ._retention import (
    PurchaseCohortRow,
    PurchaseCohorts,
    Retention,
    RetentionRow,
    purchase_cohorts,
    retention,
)
from ._rfm import RfmResult, RfmScore, rfm

__all__ = [
    "DEFAULT_COVERAGE",
    "DEFAULT_SILENCE",
    "AbcResult",
    "AbcRow",
    "AccountPlan",
    "AccountPlans",
    "ActivityKpis",
    "AtRisk",
    "AtRiskRow",
    "CoveragePlan",
    "FollowUp",
    "FollowUpPolicy",
    "GapKind",
    "Migration",
    "Misalignment",
    "Move",
    "Period",
    "PlanGap",
    "PurchaseCohortRow",
    "PurchaseCohorts",
    "Recommendation",
    "Relationship",
    "RepActivity",
    "RepResults",
    "ResultKpis",
    "Retention",
    "RetentionRow",
    "RfmResult",
    "RfmScore",
    "RoleCover",
    "TierSummary",
    "abc",
    "abc_columns",
    "abc_customers",
    "account_plans",
    "activity_kpis",
    "at_risk",
    "coverage",
    "default_effective",
    "due_followups",
    "kpi_records",
    "migration",
    "period_start",
    "purchase_cohorts",
    "quartiles",
    "relationships",
    "result_kpis",
    "retention",
    "rfm",
    "work_queue",
]
