"""
Lead scoring that explains itself: learnt from history, calibrated and
backtested.

Prospect management (source 002) works strong intent first; this package
learns that intent from what happened to past leads.  :func:`fit_lead_scores`
fits an L2-regularised logistic regression to each lead's attributes
(source, industry, territory, size, value, intent) and its early activity
(calls, emails, visits, replies and time to first response in a *window*
after its creation; nothing later, so no score looks ahead), labelled by
whether it converted into an opportunity within a *horizon*.  The fit is a
deterministic Newton method in pure Python, with numpy as an optional
faster engine that agrees with it.  :meth:`LeadScoreModel.score` gives a
lead's probability, a 0-100 score and each feature's contribution to the
log odds, an exact additive explanation; :func:`calibration` builds a
reliability table and :func:`backtest_lead_scores` the AUC and Brier score
on held-out periods.  The scores feed :func:`funnelkit.segments.work_queue`
(``scores=``).

Everything is a pure function of its arguments and *now*: no I/O, no global
random state.
"""

from __future__ import annotations

from ._evaluate import (
    BacktestFold,
    ReliabilityBin,
    ScoreBacktest,
    ScoreReliability,
    auc,
    backtest_lead_scores,
    brier,
    calibration,
)
from ._features import CATEGORICAL_FIELDS, NUMERIC_FEATURES, lead_features
from ._fit import MAX_ITERATIONS, TOLERANCE
from ._model import Contribution, LeadScore, LeadScoreModel, LeadScores, fit_lead_scores
from ._plant import TRUTH, LeadHistory, plant_lead_history

__all__ = [
    "CATEGORICAL_FIELDS",
    "MAX_ITERATIONS",
    "NUMERIC_FEATURES",
    "TOLERANCE",
    "TRUTH",
    "BacktestFold",
    "Contribution",
    "LeadHistory",
    "LeadScore",
    "LeadScoreModel",
    "LeadScores",
    "ReliabilityBin",
    "ScoreBacktest",
    "ScoreReliability",
    "auc",
    "backtest_lead_scores",
    "brier",
    "calibration",
    "fit_lead_scores",
    "lead_features",
    "plant_lead_history",
]
