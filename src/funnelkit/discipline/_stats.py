"""Nearest-rank percentiles of durations, and the shared parts of the reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fractions import Fraction


def percentile(ordered: Sequence[dt.timedelta], q: Fraction) -> dt.timedelta | None:
    """
    The nearest-rank percentile *q* of the sorted *ordered*: the smallest
    value that at least a share *q* of the values stay at or below (None for
    no values).  Exact: always one of the values.
    """
    n = len(ordered)
    if not n:
        return None
    rank = -(-q.numerator * n // q.denominator)  # ceil(q n)
    return ordered[max(rank, 1) - 1]


P50 = Fraction(1, 2)
P90 = Fraction(9, 10)


def zone_name(tz: dt.tzinfo) -> str:
    """A zone as people name it: its IANA key, or its name."""
    return str(getattr(tz, "key", None) or tz.tzname(None) or tz)
