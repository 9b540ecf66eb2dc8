"""
Credit splits: a deal's credit shared between reps (Salesforce's
opportunity splits), each rep's share an exact fraction, the shares of a
deal adding up to one.  Forecasts, targets and result KPIs that group by
owner credit each rep their share; money is allocated in whole units, so
no cent appears or disappears.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from . import _checks as c
from ._checks import check
from ._money import _CONTEXT, Money, _make
from .entities import Opportunity
from .errors import MAX_LISTED, Problem, ValidationError

#: The largest denominator of a share: a share is a plain ratio (60 %, 1/3), not a long fraction.
MAX_SHARE_DENOMINATOR = 10**9
#: The most reps one deal's credit is split between.
MAX_SPLIT_OWNERS = 1_000

_SHARE = "a share: a Fraction, Decimal, int or text such as '0.6' or '1/3'"


def _to_share(value: object) -> object:
    """
    *value* as a Fraction when it is an exact number of sensible size or its
    text (``"0.6"``, ``"1/3"``); anything else as it is, for the check to name.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    if isinstance(value, str) and len(value) <= 100:
        top, slash, bottom = value.strip().partition("/")
        if slash:
            try:
                return Fraction(int(top), int(bottom))
            except (ValueError, ZeroDivisionError):
                return value
        number = c.parse_decimal(top)
        return value if number is None else _to_share(number)
    if isinstance(value, Decimal) and value.is_finite() and -30 <= value.adjusted() <= 1:
        return Fraction(value)  # beyond: far outside (0, 1] or far finer than a share, named below
    return value


def _share(value: object) -> Problem | None:
    if isinstance(value, Decimal) and value.is_finite():  # too large or too fine to be made exact cheaply
        if not 0 < value <= 1:
            return Problem(
                path="", code="range", message=f"{c.show(value)} is not in (0, 1]; a share is a part of one"
            )
        msg = f"{c.show(value)} is finer than 1/{MAX_SHARE_DENOMINATOR:,}; give a plain ratio"
        return Problem(path="", code="limit", message=msg)
    if not isinstance(value, Fraction):
        return c.wrong_type(value, _SHARE)
    if not 0 < value <= 1:
        return Problem(
            path="", code="range", message=f"{c.show(value)} is not in (0, 1]; a share is a part of one"
        )
    if value.denominator > MAX_SHARE_DENOMINATOR:
        msg = f"{c.show(value)} has a denominator over {MAX_SHARE_DENOMINATOR:,}; give a plain ratio"
        return Problem(path="", code="limit", message=msg)
    return None


@attrs.frozen(kw_only=True)
class Split(c.Checked):
    """
    *owner*'s *share* of the credit for deal *opportunity_id*: an exact
    fraction in (0, 1] (``"0.6"``, ``"1/3"``, ``Fraction(1, 3)`` or a
    ``Decimal``; never a float, whose value is not the one written).

    >>> Split(opportunity_id="o-1", owner="ann", share="0.6").share
    Fraction(3, 5)
    """

    opportunity_id: str = attrs.field(metadata=check(c.identifier))
    owner: str = attrs.field(metadata=check(c.identifier))
    share: Fraction = attrs.field(metadata=check(_share), converter=_to_share)


@attrs.frozen(kw_only=True)
class CreditSplits(c.Checked):
    """
    The credit splits of a book of deals: for each deal split, its reps'
    shares, each rep once, adding up to exactly one.  A deal without a
    split is all its owner's.  Pass it as ``splits=`` to
    :func:`funnelkit.forecast.weighted_forecast`,
    :func:`funnelkit.forecast.against_targets`,
    :func:`funnelkit.forecast.expected_bookings` (its lines by owner) and
    :func:`funnelkit.segments.result_kpis`.

    >>> from funnelkit import Money
    >>> splits = CreditSplits(splits=[
    ...     Split(opportunity_id="o-1", owner="ann", share="2/3"),
    ...     Split(opportunity_id="o-1", owner="bob", share="1/3"),
    ... ])
    >>> splits.allocate("o-1", "ann", Money.of("100.00", "USD"))
    (('ann', Money('66.67', 'USD')), ('bob', Money('33.33', 'USD')))
    """

    splits: tuple[Split, ...] = attrs.field(
        metadata=check(c.items(c.instance_of(Split, "a Split"), tuple)), converter=c.to_tuple
    )
    _by_deal: Mapping[str, tuple[tuple[str, Fraction], ...]] = attrs.field(
        init=False, eq=False, repr=False, default=None
    )
    #: Per split deal, its reps and their shares as whole weights over a common total.
    _weights: Mapping[str, tuple[tuple[str, ...], tuple[int, ...], int]] = attrs.field(
        init=False, eq=False, repr=False, default=None
    )

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        by_deal: dict[str, list[tuple[str, Fraction]]] = {}
        for s in self.splits:
            by_deal.setdefault(s.opportunity_id, []).append((s.owner, s.share))
        shares = {k: tuple(sorted(v)) for k, v in sorted(by_deal.items())}
        object.__setattr__(self, "_by_deal", shares)
        object.__setattr__(self, "_weights", {k: _whole(v) for k, v in shares.items()})

    def _relations(self) -> list[Problem]:
        problems: list[Problem] = []
        first: dict[str, int] = {}
        owners: dict[tuple[str, str], int] = {}
        sums: dict[str, Fraction] = {}
        counts: dict[str, int] = {}
        for i, s in enumerate(self.splits):
            first.setdefault(s.opportunity_id, i)
            sums[s.opportunity_id] = sums.get(s.opportunity_id, Fraction(0)) + s.share
            counts[s.opportunity_id] = counts.get(s.opportunity_id, 0) + 1
            seen = owners.setdefault((s.opportunity_id, s.owner), i)
            if seen != i:
                msg = (
                    f"{s.owner!r} already has a share of {s.opportunity_id!r} (splits[{seen}]); once per deal"
                )
                problems.append(Problem(path=f"splits[{i}].owner", code="duplicate", message=msg))
        for deal, total in sums.items():
            if total != 1:
                msg = f"the shares of {deal!r} add up to {total}, not 1"
                problems.append(Problem(path=f"splits[{first[deal]}].share", code="range", message=msg))
            if counts[deal] > MAX_SPLIT_OWNERS:
                msg = f"{deal!r} is split {counts[deal]:,} ways, more than {MAX_SPLIT_OWNERS:,}"
                problems.append(Problem(path=f"splits[{first[deal]}]", code="limit", message=msg))
        problems.sort(key=lambda p: _index(p.path))
        return problems[:MAX_LISTED]

    @property
    def deals(self) -> tuple[str, ...]:
        """The ids of the deals that are split, in order."""
        return tuple(self._by_deal)

    def shares(self, opportunity_id: str, owner: str) -> tuple[tuple[str, Fraction], ...]:
        """
        The reps and their shares of deal *opportunity_id*, by rep; all of
        it *owner*'s (the deal's owner) when the deal is not split.

        Cost: O(1).
        """
        _ids(opportunity_id=opportunity_id, owner=owner)
        found = self._by_deal.get(opportunity_id)
        return ((owner, Fraction(1)),) if found is None else found

    def allocate(self, opportunity_id: str, owner: str, money: Money) -> tuple[tuple[str, Money], ...]:
        """
        *money* credited to the reps of deal *opportunity_id* by their
        shares (see :meth:`shares`), in whole units of its last digit
        (largest remainder, ties to the rep first by id): the parts add up
        to *money* exactly.

        Cost: O(r log r) for r reps.
        """
        c.require(money, Money, "Money", "money")
        _ids(opportunity_id=opportunity_id, owner=owner)
        return self._allocate(opportunity_id, owner, money)

    def _allocate(self, opportunity_id: str, owner: str, money: Money) -> tuple[tuple[str, Money], ...]:
        """:meth:`allocate` of checked arguments (the hot path of the forecasts)."""
        found = self._weights.get(opportunity_id)
        if found is None:
            return ((owner, money),)
        reps, weights, total = found
        amounts = _split(money.amount, weights, total, money.minor_units)
        return tuple((rep, _make(a, money.currency)) for rep, a in zip(reps, amounts, strict=True))

    def _parts(self, opportunity_id: str, value: Decimal, minor: int) -> list[tuple[str, Decimal]] | None:
        """*value* split among the reps of deal *opportunity_id* (checked), or None when it is not split."""
        found = self._weights.get(opportunity_id)
        if found is None:
            return None
        reps, weights, total = found
        return list(zip(reps, _split(value, weights, total, minor), strict=True))

    def of(self, opportunity: Opportunity) -> tuple[tuple[str, Fraction], ...]:
        """
        The reps and their shares of *opportunity*'s credit (its owner's
        alone when it is not split).

        Cost: O(1).
        """
        c.require(opportunity, Opportunity, "an Opportunity", "opportunity")
        return self.shares(opportunity.id, opportunity.owner)


def _ids(**ids: object) -> None:
    """Refuse, by name, any of *ids* that is not an identifier."""
    problems = [p.prefixed(name) for name, value in ids.items() if (p := c.identifier(value)) is not None]
    if problems:
        raise ValidationError(problems)


def _index(path: str) -> int:
    return int(path.split("[", 1)[1].split("]", 1)[0]) if path.startswith("splits[") else -1


def _whole(shares: tuple[tuple[str, Fraction], ...]) -> tuple[tuple[str, ...], tuple[int, ...], int]:
    """Reps and their shares as whole weights over the least common denominator."""
    total = math.lcm(*(s.denominator for _, s in shares))
    weights = tuple(s.numerator * (total // s.denominator) for _, s in shares)
    return tuple(r for r, _ in shares), weights, total


def split_amount(value: Decimal, shares: list[Fraction], minor: int) -> list[Decimal]:
    """
    *value* split by *shares* (adding up to one) in whole minor units (the
    currency has *minor* digits after the point), or units of its own last
    digit when it has more: the largest-remainder method, ties to the
    earlier share.  The parts add up to *value* exactly.
    """
    _, weights, total = _whole(tuple(("", s) for s in shares))
    return _split(value, weights, total, minor)


def _split(value: Decimal, weights: tuple[int, ...], total: int, minor: int) -> list[Decimal]:
    """*value* in parts proportional to whole *weights* adding up to *total*, by the largest remainder."""
    own = value.as_tuple().exponent
    exponent = min(own if isinstance(own, int) else 0, -minor)  # a Money's amount is finite: an int
    units = int(value.scaleb(-exponent, _CONTEXT))  # exact in the wide local context, never the caller's
    products = [units * w for w in weights]
    floors = [p // total for p in products]
    left = units - sum(floors)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-(products[i] - floors[i] * total), i))
        for i in order[:left]:
            floors[i] += 1
    return [Decimal(f"{f}E{exponent}") for f in floors]


def splits_of(splits: object, path: str = "splits") -> CreditSplits | None:
    """*splits* checked: ``None`` or a :class:`CreditSplits` (an iterable of :class:`Split` is built)."""
    if splits is None or isinstance(splits, CreditSplits):
        return splits
    if isinstance(splits, str | bytes | Mapping) or not isinstance(splits, Iterable):
        raise c.at(path, c.wrong_type(splits, "a CreditSplits or an iterable of Split"))
    items: list[Any] = list(splits)
    try:
        return CreditSplits(splits=tuple(items))
    except ValidationError as e:  # its paths already start with "splits"
        if path == "splits":
            raise
        raise ValidationError([p.prefixed(path) for p in e.problems]) from None
