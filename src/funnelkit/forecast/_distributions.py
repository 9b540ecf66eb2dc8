"""
The distribution of the number of deals won: Poisson-binomial, exact.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import attrs

from .. import _checks as c
from .._money import _CONTEXT, Money
from .._optional import numpy as _numpy
from .._report import Report
from .._repr import Axis, Bar, Mark, chart_svg, finite, nice_axis, percent
from ..errors import CurrencyMismatchError, Problem, ValidationError
from ._args import MAX_PROBLEMS

#: The most probabilities :func:`win_count` reads without numpy (its pure-Python
#: product tree takes well under a second for 20,000 deals).  Beyond, install numpy
#: or simulate with :func:`simulate_revenue`.
MAX_WIN_COUNT = 20_000
#: The most probabilities :func:`win_count` reads when numpy is installed (its fast path).
MAX_WIN_COUNT_NUMPY = 1_000_000
#: From this many deals on, win_count multiplies with numpy's FFT when numpy is installed.
_FFT_FROM = 2_000
#: From this many deals on, win_count without numpy multiplies in a product tree of
#: fixed-point polynomials (below, the O(n^2) recurrence is as fast).
_TREE_FROM = 300
#: The product tree's fixed point: every probability is an integer count of 2**-93.
_BITS = 93
#: Bytes per coefficient in a packed polynomial: a product of two coefficients
#: (each at most a little over 2**93) and its sum over a convolution fit in
#: 2 * 93 + 2 = 188 bits < 192.
_SLOT = 24
#: Deals multiplied exactly (big integers, one rounding) at the leaves of the tree.
_LEAF = 16
#: :func:`simulate_revenue` draws at most this many trials, and this many
#: deal-trials (deals x trials) in all: a few seconds of work at the limit.
MAX_TRIALS = 10**6
MAX_DEAL_TRIALS = 10**7


def _level(q: object) -> float:
    """*q* checked to be a quantile level in (0, 1], as a float."""
    q = c.plain(q)  # a numpy int as an int (numpy.float64 is a float)
    if isinstance(q, bool) or not isinstance(q, int | float | Decimal | Fraction):
        raise ValidationError.single("q", f"{c.show(q)} is not a number in (0, 1]", code="type")
    if isinstance(q, Decimal) and not q.is_finite():
        raise ValidationError.single("q", f"{c.show(q)} is outside (0, 1]", code="range")
    if not 0 < q <= 1:  # exact comparison (no float of a huge int); NaN fails too
        raise ValidationError.single("q", f"{c.show(q)} is outside (0, 1]", code="range")
    return float(q)


def _count(k: object) -> int:
    """*k* checked to be a number of deals (any int; below 0 and above n are allowed)."""
    k = c.plain(k)  # a numpy int as an int
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValidationError.single("k", f"{c.show(k)} is not an int", code="type")
    return k


#: The most bars a distribution's picture draws; more outcomes are grouped.
MAX_BARS = 60


def _marks(p10: object, p50: object, p90: object, at: list[float]) -> list[Mark]:
    """p10, p50 and p90 as marks at the xs *at*, labelled with their values."""
    named = zip(("p10", "p50", "p90"), (p10, p50, p90), at, strict=True)
    return [Mark(x, name, f"{name} = {value}") for name, value, x in named]


@attrs.frozen(kw_only=True, repr=False)
class WinCount(Report):
    """
    P(exactly k deals are won) for k = 0..n, with independent deals.

    Quantiles by nearest rank: ``p90`` is the count that 90 % of outcomes
    stay at or below (the smallest k with P(X <= k) >= 0.9).

    A :class:`~funnelkit.Report`: its table has one row per count k, with
    P(X = k), P(X <= k) and P(X >= k); :meth:`to_svg` draws the distribution
    with p10, p50 and p90 marked.
    """

    pmf: tuple[float, ...]

    def _summary(self) -> str:
        if not self.pmf:
            return "no outcomes"
        n = len(self.pmf) - 1
        return (
            f"{n:,} deal{'' if n == 1 else 's'}: {self.mean:,.2f} won on average, "
            f"p10/p50/p90 {self.p10:,}/{self.p50:,}/{self.p90:,}"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per count k = 0..n: P(X = k), P(X <= k) and P(X >= k).
        """
        tail = [0.0] * (len(self.pmf) + 1)
        for k in range(len(self.pmf) - 1, -1, -1):
            tail[k] = self.pmf[k] + tail[k + 1]
        rows: list[dict[str, object]] = []
        below = 0.0
        for k, p in enumerate(self.pmf):
            below += p
            rows.append({"won": k, "probability": p, "at_most": below, "at_least": tail[k]})
        return rows

    def to_svg(self) -> str:
        """
        The distribution as an inline SVG bar chart (no plotting dependency):
        one bar per count of deals won, its height the probability, with
        p10, p50 and p90 marked.  Counts beyond the 0.05 % tails are left out
        and, past 60 counts, neighbours share a bar.

        Cost: O(n) for n deals.
        """
        if not self.pmf:
            return chart_svg(title="deals won: no outcomes", x=nice_axis(0, 1), y=nice_axis(0, 1))
        low, high = 0, len(self.pmf) - 1
        if high + 1 > MAX_BARS:
            low = min(self.quantile(0.0005), self.p10)
            high = max(self.quantile(0.9995), self.p90)
        width = math.ceil((high - low + 1) / MAX_BARS)
        bars = []
        for first in range(low, high + 1, width):
            last = min(high, first + width - 1)
            p = math.fsum(self.pmf[first : last + 1])
            what = f"{first:,}" if first == last else f"{first:,} to {last:,}"
            inset = 0.4 if width == 1 else 0.5
            bars.append(Bar(first - inset, last + inset, p, f"{what} won: {p:.2%}"))
        x = nice_axis(low - 0.5, high + 0.5, integers=True)
        top = max((b.value for b in bars), default=0.0)
        return chart_svg(
            title="deals won: the chance of each count",
            x=Axis(low - 0.5, high + 0.5, tuple(t for t in x.ticks if low - 0.5 <= t[0] <= high + 0.5)),
            y=nice_axis(0, top or 1, label=percent),
            x_label="deals won",
            y_label="probability",
            bars=bars,
            marks=_marks(self.p10, self.p50, self.p90, [self.p10, self.p50, self.p90]),
        )

    @property
    def mean(self) -> float:
        return sum(k * p for k, p in enumerate(self.pmf))

    def merge(self, other: WinCount) -> WinCount:
        """
        The distribution over the deals of both (independent deals): the
        convolution of the two.  Equal to one pass up to float rounding.  Cost: O(n m) for n and m deals.
        """
        c.require(other, WinCount, "a WinCount", "other")
        a, b = (self.pmf, other.pmf) if len(self.pmf) >= len(other.pmf) else (other.pmf, self.pmf)
        out = [0.0] * (len(a) + len(b) - 1)
        for i, x in enumerate(b):
            if x:
                for j, y in enumerate(a):
                    out[i + j] += x * y
        return WinCount(pmf=tuple(out))

    def cdf(self, k: int) -> float:
        """
        P(X <= k).  Cost: O(n) for n deals.
        """
        return sum(self.pmf[: max(0, _count(k) + 1)])

    def at_least(self, k: int) -> float:
        """
        P(X >= k): the probability of winning at least *k* deals.  Cost: O(n) for n deals.
        """
        return sum(self.pmf[max(0, _count(k)) :])

    def quantile(self, q: float) -> int:
        """
        The smallest k with P(X <= k) >= *q* (q in (0, 1]).  Cost: O(n) for n deals.
        """
        level = _level(q)
        total = 0.0
        for k, p in enumerate(self.pmf):
            total += p
            if total >= level - 1e-12:  # float sums may fall a hair short of 1
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


#: Floats from here to 1 have at most 20 decimal places (17 significant digits after at most two
#: zeros), so they pass the probability check as they are; smaller ones take the check.
_FLOAT_FLOOR = 0.001


def win_count(probabilities: Iterable[Decimal | float | int | str]) -> WinCount:
    """
    The Poisson-binomial distribution of the number of deals won, each deal
    won independently with its own probability.

    Three ways, all in agreement (property tests hold the two fast ones to the
    first):

    - up to 300 deals, the usual dynamic-programming recurrence in floats:
      O(n^2);
    - from 300 deals on without numpy, the product of the deals' polynomials
      ``(1 - p) + p x`` in a product tree, in pure Python: each probability is
      a whole number of 2**-93, blocks of 16 deals are multiplied exactly and
      rounded once, and two polynomials multiply as two big integers (Kronecker
      substitution: CPython multiplies big integers by Karatsuba); counts whose
      probability rounds to 0 are dropped from the ends, so the tree works on
      the support that matters.  Under a second for 20,000 deals, at most
      20,000 (``MAX_WIN_COUNT``).  Error bound: the absolute errors of all
      counts together are at most n (log2 n + 2) 2**-93 (below 1e-22 for
      20,000 deals; each count's probability is then rounded to a float);
    - from 2,000 deals on with numpy installed (an optional extra), the same
      product by FFT, pairwise: O(n log^2 n), 100,000 deals in about half a
      second, at most 1,000,000 (``MAX_WIN_COUNT_NUMPY``); it agrees with the
      recurrence to about 1e-16 per count.

    Every path works on the probabilities as floats.  For more deals, simulate
    the outcomes with :func:`simulate_revenue` (Monte Carlo).

    Cost: O(n^2) up to 300 deals; then O(n^1.6) at worst without numpy (big
    integer products; near O(n log n) in practice, as the support shrinks to
    the deals' standard deviation), O(n log^2 n) with numpy.

    >>> d = win_count(["0.5", "0.5"])
    >>> d.pmf, d.p50, d.at_least(1)
    ((0.25, 0.5, 0.25), 1, 0.75)
    """
    c.require_iterable(probabilities, "probabilities", "probabilities")
    ps: list[float] = []
    problems: list[Problem] = []
    numpy = _numpy()
    most = MAX_WIN_COUNT if numpy is None else MAX_WIN_COUNT_NUMPY
    values: Iterable[Any] = probabilities
    dtype = getattr(probabilities, "dtype", None)
    if getattr(dtype, "kind", None) == "f" and getattr(probabilities, "ndim", 1) == 1:
        values = probabilities.tolist()  # type: ignore[attr-defined]  # a numpy array or a Series of floats
    for i, p in enumerate(values):
        if type(p) is float and (_FLOAT_FLOOR <= p <= 1.0 or p == 0.0) and i < most:
            ps.append(p)  # what the Decimal below would give back: a float of at most 20 places
            continue
        if i >= most:
            how = "install numpy (the fast path) or " if numpy is None else ""
            too_many = (
                f"more than {most:,} probabilities; {how}simulate this many deals with "
                "simulate_revenue (Monte Carlo) instead"
            )
            raise ValidationError.single("probabilities", too_many, code="limit")
        number = c.to_decimal(p)
        problem = c.probability(number)
        if problem is not None:
            problems.append(problem.prefixed(f"probabilities[{i}]"))
            if len(problems) >= MAX_PROBLEMS:
                break
        else:
            ps.append(float(number))
    if problems:
        raise ValidationError(problems)
    if numpy is not None and len(ps) >= _FFT_FROM:
        return WinCount(pmf=_pmf_fft(ps, numpy))
    if len(ps) >= _TREE_FROM:
        return WinCount(pmf=_pmf_tree(ps))
    return WinCount(pmf=_pmf_exact(ps))


def _pmf_exact(ps: list[float]) -> tuple[float, ...]:
    """The Poisson-binomial pmf by the recurrence: each deal in turn, O(n^2)."""
    dist = [1.0]
    for p in ps:
        q = 1.0 - p
        dist = [a * q + b * p for a, b in zip([*dist, 0.0], [0.0, *dist], strict=True)]
    return tuple(dist)


_ONE = 1 << _BITS
_HALF = 1 << (_BITS - 1)


def _pmf_tree(ps: list[float]) -> tuple[float, ...]:
    """
    The same pmf as the product of the deals' polynomials ``(1 - p) + p x``
    in fixed point (integer counts of 2**-93), multiplied in a product tree:
    blocks of :data:`_LEAF` deals exactly, then pairs by big-integer products.
    Each polynomial is kept as (offset, coefficients) with its zero ends
    dropped.  See :func:`win_count` for the error bound.
    """
    polys = [_leaf(ps[i : i + _LEAF]) for i in range(0, len(ps), _LEAF)] or [(0, [_ONE])]
    while len(polys) > 1:
        paired = [_times(a, b) for a, b in zip(polys[::2], polys[1::2], strict=False)]
        if len(polys) % 2:
            paired.append(polys[-1])
        polys = paired
    offset, coefficients = polys[0]
    pmf = [0.0] * (len(ps) + 1)
    pmf[offset : offset + len(coefficients)] = [math.ldexp(x, -_BITS) for x in coefficients]
    return tuple(pmf)


def _leaf(ps: list[float]) -> tuple[int, list[int]]:
    """The exact product of a few deals' polynomials, rounded once to fixed point."""
    dist = [1]
    for p in ps:
        won = int(math.ldexp(p, _BITS))  # exact for p >= 2**-41; below, short by less than 2**-93
        lost = _ONE - won
        dist = [a * lost + b * won for a, b in zip([*dist, 0], [0, *dist], strict=True)]
    shift = _BITS * (len(ps) - 1)
    if shift:
        half = 1 << (shift - 1)
        dist = [(x + half) >> shift for x in dist]
    return _trimmed(0, dist)


def _times(a: tuple[int, list[int]], b: tuple[int, list[int]]) -> tuple[int, list[int]]:
    """The product of two fixed-point polynomials (offset, coefficients), rounded to fixed point."""
    (a_at, xs), (b_at, ys) = a, b
    if len(xs) < len(ys):
        xs, ys = ys, xs
    if len(ys) <= 4:  # a short factor: term by term
        out = [0] * (len(xs) + len(ys) - 1)
        for j, y in enumerate(ys):
            for i, x in enumerate(xs, j):
                out[i] += x * y
    else:  # Kronecker substitution: each polynomial one big integer, a coefficient per 24 bytes
        size = len(xs) + len(ys) - 1
        product = _packed(xs) * _packed(ys)
        data = product.to_bytes(_SLOT * size, "little")
        read = int.from_bytes
        out = [read(data[i : i + _SLOT], "little") for i in range(0, _SLOT * size, _SLOT)]
    return _trimmed(a_at + b_at, [(x + _HALF) >> _BITS for x in out])


def _packed(coefficients: list[int]) -> int:
    """The polynomial's value at x = 2**192: its coefficients side by side in one integer."""
    return int.from_bytes(b"".join([x.to_bytes(_SLOT, "little") for x in coefficients]), "little")


def _trimmed(offset: int, coefficients: list[int]) -> tuple[int, list[int]]:
    """(offset, coefficients) without the zero coefficients at either end (one is kept)."""
    low, high = 0, len(coefficients)
    while low < high - 1 and not coefficients[low]:
        low += 1
    while high > low + 1 and not coefficients[high - 1]:
        high -= 1
    return offset + low, coefficients[low:high]


def _pmf_fft(ps: list[float], np: Any) -> tuple[float, ...]:
    """
    The same pmf as the product of the deals' polynomials ``(1 - p) + p x``,
    multiplied pairwise a level at a time (padded with the polynomial 1 to a
    power of two), every pair of a level in one batched real FFT:
    O(n log^2 n) with no Python loop per deal or per pair.  A product of two
    polynomials of degree below d has degree below 2d, so the transforms
    2d long do not wrap around.  FFT noise below zero is clipped, and the
    total put back to 1.
    """
    n = len(ps)
    size = 1 << max(0, (n - 1).bit_length())
    polys = np.zeros((size, 2))
    polys[:, 0] = 1.0
    won = np.array(ps, dtype=np.float64)
    polys[:n, 0] = 1.0 - won
    polys[:n, 1] = won
    rfft, irfft = np.fft.rfft, np.fft.irfft
    while len(polys) > 1:
        width = 2 * polys.shape[1]
        polys = irfft(rfft(polys[0::2], width, axis=1) * rfft(polys[1::2], width, axis=1), width, axis=1)
    dist = np.clip(polys[0, : n + 1], 0.0, None)
    return tuple((dist / dist.sum()).tolist())


#: The quantile levels in a revenue distribution's table (0 is the lowest outcome).
LEVELS = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0)


@attrs.frozen(kw_only=True, repr=False)
class RevenueDistribution(Report):
    """
    Simulated revenue outcomes (one currency), sorted, from :func:`simulate_revenue`.

    Quantiles by nearest rank: ``p90`` is the revenue that 90 % of the
    simulated outcomes stay at or below.

    A :class:`~funnelkit.Report`: its table holds the quantiles at the
    levels 0 (the lowest outcome), 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95
    and 1 (the highest); every outcome is in ``outcomes`` and in
    ``to_dict()``.  :meth:`to_svg` draws the distribution with p10, p50
    and p90 marked.

    It does not merge: the revenue of the whole is the sum of the parts'
    revenues draw by draw, and two samples drawn apart do not pair up.
    Simulate the whole book once (or merge the exact :class:`WinCount`).
    """

    currency: str
    outcomes: tuple[Decimal, ...] = attrs.field(repr=False)

    def _summary(self) -> str:
        if not self.outcomes:
            return f"no outcomes in {self.currency}"
        return (
            f"{len(self.outcomes):,} trials: p10 {self.p10}, p50 {self.p50}, p90 {self.p90}; mean {self.mean}"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per level of LEVELS: the level and the revenue at it.
        """
        if not self.outcomes:
            return []
        lowest = Money(amount=self.outcomes[0], currency=self.currency)
        return [{"quantile": q, "revenue": self.quantile(q) if q else lowest} for q in LEVELS]

    def to_svg(self) -> str:
        """
        The distribution as an inline SVG histogram (no plotting dependency),
        with p10, p50 and p90 marked: one bar per distinct revenue when there
        are at most 60 of them, else 60 bars of equal width from the lowest
        outcome to the highest; a bar's height is the share of trials.

        Cost: O(t) for t trials.
        """
        title = f"simulated revenue ({self.currency})"
        if not self.outcomes:
            return chart_svg(title=f"{title}: no outcomes", x=nice_axis(0, 1), y=nice_axis(0, 1))
        values = [float(v) for v in self.outcomes]  # a Decimal beyond floats is infinite, not an error
        if not (math.isfinite(values[0]) and math.isfinite(values[-1])):
            values = [finite(v) for v in values]
        n = len(values)
        distinct: list[float] = []
        i = 0
        while i < n and len(distinct) <= MAX_BARS:
            distinct.append(values[i])
            i = bisect.bisect_right(values, values[i], i)
        low, high = values[0], values[-1]
        bars = []
        if len(distinct) <= MAX_BARS:
            gaps = [b - a for a, b in itertools.pairwise(distinct)]
            half = 0.4 * min(gaps) if gaps else max(abs(low), 1.0) * 0.05
            for v in distinct:
                count = bisect.bisect_right(values, v) - bisect.bisect_left(values, v)
                bars.append(Bar(v - half, v + half, count / n, f"{v:,.2f} {self.currency}: {count / n:.2%}"))
            low, high = low - half, high + half
        else:
            step = (high - low) / MAX_BARS
            edges = [low + j * step for j in range(MAX_BARS)] + [high]
            start = 0
            for j in range(MAX_BARS):
                end = n if j == MAX_BARS - 1 else bisect.bisect_left(values, edges[j + 1], start)
                share = (end - start) / n
                note = f"{edges[j]:,.2f} to {edges[j + 1]:,.2f} {self.currency}: {share:.2%}"
                bars.append(Bar(edges[j], edges[j + 1], share, note))
                start = end
        at = [finite(m.amount) for m in (self.p10, self.p50, self.p90)]
        return chart_svg(
            title=title,
            x=nice_axis(low, high),
            y=nice_axis(0, max(b.value for b in bars), label=percent),
            x_label=f"revenue ({self.currency})",
            y_label="share of trials",
            bars=bars,
            marks=_marks(self.p10, self.p50, self.p90, at),
        )

    def quantile(self, q: float) -> Money:
        """
        The smallest simulated revenue with at least *q* of outcomes at or below it.  Cost: O(1).
        """
        index = max(0, math.ceil(_level(q) * len(self.outcomes)) - 1)
        return Money(amount=self.outcomes[index], currency=self.currency)

    @property
    def p10(self) -> Money:
        return self.quantile(0.1)

    @property
    def p50(self) -> Money:
        return self.quantile(0.5)

    @property
    def p90(self) -> Money:
        return self.quantile(0.9)

    @property
    def mean(self) -> Money:
        total = Decimal(0)
        for x in self.outcomes:
            total = _CONTEXT.add(total, x)
        return (Money(amount=total, currency=self.currency) / len(self.outcomes)).round()

    def probability_of_reaching(self, target: Money) -> float:
        """
        The share of simulated outcomes at or above *target*.  Cost: O(log t) for t trials.
        """
        if not isinstance(target, Money) or target.currency != self.currency:
            code = "currency" if isinstance(target, Money) else "type"
            raise ValidationError.single(
                "target", f"{c.show(target)} is not Money in {self.currency}", code=code
            )
        first = bisect.bisect_left(self.outcomes, target.amount)
        return (len(self.outcomes) - first) / len(self.outcomes)


def simulate_revenue(
    deals: Iterable[tuple[Money, Decimal | float | str]],
    *,
    trials: int = 10_000,
    rng: random.Random | int,
) -> RevenueDistribution:
    """
    Monte Carlo distribution of revenue: in each trial every deal is won
    with its probability, independently; the revenue is the sum of the
    amounts won.  *rng* is a ``random.Random`` or a seed: the same seed gives
    the same outcomes, and funnelkit never touches the global random state.

    Trial after trial, deal after deal, a deal is won when ``rng.random()``
    falls below its probability; every outcome is an exact sum, written with
    the most decimal places of the amounts.  With numpy installed (an
    optional extra) and *rng* a ``random.Random`` or a seed, the draws are
    made in bulk by numpy's Mersenne Twister started from *rng*'s state (the
    generator ``random.Random`` uses), and the sums as a matrix product
    (exact while the amounts add up to less than 2**53 units of the last
    place; beyond, the loop): the outcomes are the same, draw for draw, with
    or without numpy, and *rng* is left in the same state.  A subclass of
    ``random.Random`` (its own ``random()``) always takes the loop.

    Cost: O(t n) for t trials and n deals (with numpy some 20 times faster);
    at most 10**6 trials (``MAX_TRIALS``) and 10**7 deal-trials
    (``MAX_DEAL_TRIALS``, a few seconds without numpy) are accepted.

    >>> d = simulate_revenue([(Money.of(100, "USD"), "0.5"), (Money.of(50, "USD"), "1")], trials=1000, rng=7)
    >>> d.p10, d.p90
    (Money('50', 'USD'), Money('150', 'USD'))
    """
    trials, rng = _trials_and_rng(trials, rng)
    amounts, ps, currency = _read_deals(deals, trials)
    places = max(0, *(-_exponent(a) for a in amounts))
    numpy = _numpy()
    if numpy is not None and type(rng) is random.Random:
        fast = _simulate_numpy(numpy, amounts, ps, trials=trials, rng=rng, places=places)
        if fast is not None:
            return RevenueDistribution(currency=currency, outcomes=fast)
    draw = rng.random
    add = _CONTEXT.add  # exact sums, whatever the caller's decimal context
    zero = Decimal(0).scaleb(-places, _CONTEXT)  # every outcome with the amounts' most places
    outcomes = []
    for _ in range(trials):
        total = zero
        for value, chance in zip(amounts, ps, strict=True):
            if draw() < chance:
                total = add(total, value)
        outcomes.append(total)
    outcomes.sort()
    return RevenueDistribution(currency=currency, outcomes=tuple(outcomes))


def _exponent(value: Decimal) -> int:
    """The exponent of a finite Decimal (an amount of money)."""
    return cast("int", value.as_tuple().exponent)


#: The most draws numpy makes at once in :func:`simulate_revenue` (8 MB of floats).
_DRAWS_AT_ONCE = 1 << 20


def _simulate_numpy(
    np: Any, amounts: list[Decimal], ps: list[float], *, trials: int, rng: random.Random, places: int
) -> tuple[Decimal, ...] | None:
    """
    The outcomes of :func:`simulate_revenue`, the same draw for draw, with
    numpy: ``None`` when the amounts are too large for exact float sums.
    """
    units = [int(a.scaleb(places, _CONTEXT)) for a in amounts]  # exact: *places* is the most places
    if sum(abs(u) for u in units) >= 1 << 53:
        return None  # a subset's sum might not be a float exactly: the loop sums Decimals
    values = np.array(units, dtype=np.float64)
    chances = np.array(ps, dtype=np.float64)
    version, state, gauss = rng.getstate()
    bits = np.random.MT19937()
    key = np.array(state[:-1], dtype=np.uint32)
    bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": state[-1]}}
    draws = np.random.Generator(bits)  # next_double is random.Random's: (a >> 5, b >> 6) / 2**53
    rows = max(1, _DRAWS_AT_ONCE // len(units))
    totals = np.empty(trials, dtype=np.float64)
    for start in range(0, trials, rows):
        stop = min(trials, start + rows)
        won = draws.random((stop - start, len(units))) < chances  # row-major: trial by trial, deal by deal
        totals[start:stop] = won.astype(np.float64) @ values  # integers below 2**53: exact
    after = bits.state["state"]
    rng.setstate((version, (*after["key"].tolist(), int(after["pos"])), gauss))
    totals.sort()
    return tuple(Decimal(int(x)).scaleb(-places, _CONTEXT) for x in totals.tolist())


def _trials_and_rng(trials: object, rng: object) -> tuple[int, random.Random]:
    """*trials* checked, and *rng* as a ``random.Random`` (a seed makes one)."""
    trials, rng = c.plain(trials), c.plain(rng)  # numpy ints as ints
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= MAX_TRIALS:
        code = "type" if isinstance(trials, bool) or not isinstance(trials, int) else "range"
        raise ValidationError.single(
            "trials", f"{c.show(trials)} is not an int from 1 to {MAX_TRIALS:,}", code=code
        )
    if isinstance(rng, int) and not isinstance(rng, bool):
        rng = random.Random(rng)  # noqa: S311 - a seeded simulation, not cryptography
    if not isinstance(rng, random.Random):
        raise ValidationError.single(
            "rng", f"{c.show(rng)} is not a random.Random or an int seed", code="type"
        )
    return trials, rng


def _read_deals(
    deals: Iterable[tuple[Money, Decimal | float | str]], trials: int
) -> tuple[list[Decimal], list[float], str]:
    """The amounts, probabilities (as floats) and currency of *deals*, checked."""
    c.require_iterable(deals, "(Money, probability) pairs", "deals")
    amounts: list[Decimal] = []
    ps: list[float] = []
    currency = None
    problems: list[Problem] = []
    most = MAX_DEAL_TRIALS // trials
    for i, pair in enumerate(deals):
        if len(problems) >= MAX_PROBLEMS:
            break
        if i >= most:
            too_many = (
                f"more than {most:,} deals for {trials:,} trials; at most {MAX_DEAL_TRIALS:,} "
                "deal-trials are simulated: give fewer trials or fewer deals"
            )
            raise ValidationError.single("deals", too_many, code="limit")
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Money)):
            problems.append(
                Problem(
                    path=f"deals[{i}]",
                    code="type",
                    message=f"{c.show(pair)} is not a (Money, probability) pair",
                )
            )
            continue
        amount, p = pair
        if currency is None:
            currency = amount.currency
        elif amount.currency != currency:
            raise CurrencyMismatchError("simulate", currency, amount.currency, path=f"deals[{i}][0]")
        number = c.to_decimal(p)
        problem = c.probability(number)
        if problem is not None:
            problems.append(problem.prefixed(f"deals[{i}][1]"))
            continue
        amounts.append(amount.amount)
        ps.append(float(number))
    if problems:
        raise ValidationError(problems)
    if currency is None:
        raise ValidationError.single("deals", "no deals to simulate", code="empty")
    return amounts, ps, currency
