"""
Forecasting and funnel analytics: weighted, probabilistic and backtested.

Pure functions over opportunities and their stage-change events; periods and
"now" are arguments.
"""

from __future__ import annotations

from ._backtest import Backtest, BacktestRow, as_of, backtest, bias, pinball, wape, won_between
from ._bookings import COMPONENTS, BookingCheck, BookingLine, Bookings, DealBooking, expected_bookings
from ._calls import (
    MAX_HIERARCHY_DEPTH,
    MAX_HIERARCHY_NODES,
    ForecastCall,
    Hierarchy,
    Rollup,
    RollupRow,
    forecast_rollup,
    submit_call,
)
from ._changes import CHANGES, EDITED, ChangeTotal, DealChange, PipelineChanges, pipeline_changes
from ._close_times import CloseTime, CloseTimes, DealClose, DealCloses, close_dates, time_to_close
from ._cohorts import (
    MAX_PERIODS,
    CohortRow,
    Cohorts,
    GenerationRow,
    PipelineGeneration,
    cohorts,
    pipeline_generation,
)
from ._comparison import METHODS, ComparisonRow, ForecastComparison, MethodScore, compare_forecasts
from ._distributions import RevenueDistribution, WinCount, simulate_revenue, win_count
from ._funnel import FunnelReport, FunnelTally, StageStats, funnel
from ._incidence import CumulativeIncidence, cumulative_incidence
from ._markov import AbsorbingChain, absorbing_chain, chain_from_events
from ._shape import (
    Calibration,
    CalibrationReport,
    CloseRates,
    Finding,
    FlowReport,
    FlowRow,
    ShapeReport,
    StageShape,
    calibration,
    close_rates,
    diagnose,
    flow,
    shrink,
)
from ._survival import KaplanMeier, KmStep, KmTable, kaplan_meier
from ._targets import TargetLine, TargetReport, against_targets
from ._weighted import (
    DIMENSIONS,
    ForecastLine,
    WeightedForecast,
    WeightedPipeline,
    category_rollup,
    weighted_forecast,
    weighted_forecast_columns,
)
from ._winloss import PERIODS, WIN_LOSS_DIMENSIONS, WinLoss, WinLossRow, win_loss

__all__ = [
    "CHANGES",
    "COMPONENTS",
    "DIMENSIONS",
    "EDITED",
    "MAX_HIERARCHY_DEPTH",
    "MAX_HIERARCHY_NODES",
    "MAX_PERIODS",
    "METHODS",
    "PERIODS",
    "WIN_LOSS_DIMENSIONS",
    "AbsorbingChain",
    "Backtest",
    "BacktestRow",
    "BookingCheck",
    "BookingLine",
    "Bookings",
    "Calibration",
    "CalibrationReport",
    "ChangeTotal",
    "CloseRates",
    "CloseTime",
    "CloseTimes",
    "CohortRow",
    "Cohorts",
    "ComparisonRow",
    "CumulativeIncidence",
    "DealBooking",
    "DealChange",
    "DealClose",
    "DealCloses",
    "Finding",
    "FlowReport",
    "FlowRow",
    "ForecastCall",
    "ForecastComparison",
    "ForecastLine",
    "FunnelReport",
    "FunnelTally",
    "GenerationRow",
    "Hierarchy",
    "KaplanMeier",
    "KmStep",
    "KmTable",
    "MethodScore",
    "PipelineChanges",
    "PipelineGeneration",
    "RevenueDistribution",
    "Rollup",
    "RollupRow",
    "ShapeReport",
    "StageShape",
    "StageStats",
    "TargetLine",
    "TargetReport",
    "WeightedForecast",
    "WeightedPipeline",
    "WinCount",
    "WinLoss",
    "WinLossRow",
    "absorbing_chain",
    "against_targets",
    "as_of",
    "backtest",
    "bias",
    "calibration",
    "category_rollup",
    "chain_from_events",
    "close_dates",
    "close_rates",
    "cohorts",
    "compare_forecasts",
    "cumulative_incidence",
    "diagnose",
    "expected_bookings",
    "flow",
    "forecast_rollup",
    "funnel",
    "kaplan_meier",
    "pinball",
    "pipeline_changes",
    "pipeline_generation",
    "shrink",
    "simulate_revenue",
    "submit_call",
    "time_to_close",
    "wape",
    "weighted_forecast",
    "weighted_forecast_columns",
    "win_count",
    "win_loss",
    "won_between",
]
