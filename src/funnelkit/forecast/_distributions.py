"""
The distribution of the number of deals won: Poisson-binomial, exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import attrs

from .. import _checks as c
from ..errors import Problem, ValidationError


@attrs.frozen(kw_only=True)
class WinCount:
    """
    P(exactly k deals are won) for k = 0..n, with independent deals.

    Quantiles follow DOMAIN.md: ``p90`` is the count that 90 % of outcomes
    stay at or below (the smallest k with P(X <= k) >= 0.9).
    """

    pmf: tuple[float, ...]

    @property
    def mean(self) -> float:
        return sum(k * p for k, p in enumerate(self.pmf))

    def cdf(self, k: int) -> float:
        """
        P(X <= k).
        """
        return sum(self.pmf[: max(0, k + 1)])

    def at_least(self, k: int) -> float:
        """
        P(X >= k): the probability of winning at least *k* deals.
        """
        return sum(self.pmf[max(0, k) :])

    def quantile(self, q: float) -> int:
        """
        The smallest k with P(X <= k) >= *q* (q in (0, 1]).
        """
        if not 0 < q <= 1:
            raise ValidationError.single("q", f"{c.show(q)} is outside (0, 1]")
        total = 0.0
        for k, p in enumerate(self.pmf):
            total += p
            if total >= q - 1e-12:  # float sums may fall a hair short of 1
                return k
        return len(self.pmf) - 1

    @property
    def p10(self) -> int:
        return self.quantile(0.1)

    @property
    def p50(self) -> int:
        return self.quantile(0.5)

    @property
    def p90(self) -> int:
        return self.quantile(0.9)


def win_count(probabilities: Iterable[Decimal | float | int | str]) -> WinCount:
    """
    The exact Poisson-binomial distribution of the number of deals won, each
    deal won independently with its own probability (the usual
    dynamic-programming recurrence, O(n^2): 5,000 deals take about a second).

    >>> d = win_count(["0.5", "0.5"])
    >>> d.pmf, d.p50, d.at_least(1)
    ((0.25, 0.5, 0.25), 1, 0.75)
    """
    ps: list[float] = []
    problems = []
    for i, p in enumerate(probabilities):
        number = c.to_decimal(p)
        msg = c.probability(number)
        if msg is not None:
            problems.append(Problem(path=f"[{i}]", message=msg))
        else:
            ps.append(float(number))
    if problems:
        raise ValidationError(problems)
    dist = [1.0]
    for p in ps:
        q = 1.0 - p
        dist = [a * q + b * p for a, b in zip([*dist, 0.0], [0.0, *dist], strict=True)]
    return WinCount(pmf=tuple(dist))
