"""
Forecasting and funnel analytics: weighted, probabilistic and backtested.

Pure functions over opportunities and their stage-change events; periods and
"now" are arguments.
"""

from __future__ import annotations

from ._distributions import RevenueDistribution, WinCount, simulate_revenue, win_count
from ._funnel import FunnelReport, StageStats, funnel
from ._markov import AbsorbingChain, absorbing_chain, chain_from_events
from ._survival import KaplanMeier, KmStep, kaplan_meier
from ._weighted import DIMENSIONS, ForecastLine, WeightedForecast, category_rollup, weighted_forecast

__all__ = [
    "DIMENSIONS",
    "AbsorbingChain",
    "ForecastLine",
    "FunnelReport",
    "KaplanMeier",
    "KmStep",
    "RevenueDistribution",
    "StageStats",
    "WeightedForecast",
    "WinCount",
    "absorbing_chain",
    "category_rollup",
    "chain_from_events",
    "funnel",
    "kaplan_meier",
    "simulate_revenue",
    "weighted_forecast",
    "win_count",
]
