"""
Segmentation, prioritisation and sales KPIs: who deserves which effort.

Pure functions over entities; "now" and periods are arguments.
"""

from __future__ import annotations

from ._abc import AbcResult, AbcRow, TierSummary, abc, abc_customers
from ._migration import Migration, migration
from ._rfm import RfmScore, rfm

__all__ = [
    "AbcResult",
    "AbcRow",
    "Migration",
    "RfmScore",
    "TierSummary",
    "abc",
    "abc_customers",
    "migration",
    "rfm",
]
