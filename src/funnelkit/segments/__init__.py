"""
Segmentation, prioritisation and sales KPIs: who deserves which effort.

Pure functions over entities; "now" and periods are arguments.
"""

from __future__ import annotations

from ._abc import AbcResult, AbcRow, TierSummary, abc, abc_customers

__all__ = [
    "AbcResult",
    "AbcRow",
    "TierSummary",
    "abc",
    "abc_customers",
]
