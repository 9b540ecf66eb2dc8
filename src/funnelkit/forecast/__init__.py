"""
Forecasting and funnel analytics: weighted, probabilistic and backtested.

Pure functions over opportunities and their stage-change events; periods and
"now" are arguments.
"""

from __future__ import annotations

from ._distributions import WinCount, win_count
from ._markov import AbsorbingChain, absorbing_chain
from ._survival import KaplanMeier, KmStep, kaplan_meier

__all__ = [
    "AbsorbingChain",
    "KaplanMeier",
    "KmStep",
    "WinCount",
    "absorbing_chain",
    "kaplan_meier",
    "win_count",
]
