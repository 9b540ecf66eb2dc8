"""
Routing by tier: A, B and C customers to their own groups of reps, the tier
read from the customer or from the lead's estimated value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from .. import _checks as c
from .._edits import Skip
from .._frozenmap import FrozenMap
from .._money import Money
from ..entities import Customer, Lead, Tier
from ..errors import Problem, ValidationError
from ._args import bounded, is_str
from ._policies import _PICKS, Policy, _inner, _nonempty_ids, _opt_money
from ._routing import Choice, _Context, _Item, item_of

# --- tiers ----------------------------------------------------------------------


def _groups(
    value: Mapping[Tier, Iterable[str]] | Mapping[str, Iterable[str]],
) -> Mapping[Tier, tuple[str, ...]]:
    value = c.to_mapping(value, "groups")  # a pandas Series
    if not isinstance(value, Mapping):
        return value
    out: dict[Any, Any] = {}
    for tier, reps in value.items():
        try:
            key: Any = c.to_enum(Tier, tier)
        except (ValidationError, TypeError):
            key = tier
        try:
            out[key] = c.to_tuple(reps)
        except (ValidationError, TypeError):
            out[key] = reps
    return FrozenMap(out)


def _groups_check(value: object) -> c.Result:
    if not isinstance(value, Mapping) or not value:
        code = "empty" if isinstance(value, Mapping) else "type"
        return c.bad(code, f"{c.show(value)} is not a non-empty mapping of tier to rep ids")
    problems = []
    tier_ok = c.member_of(Tier)
    for tier, reps in value.items():
        if tier_ok(tier) is not None:
            problems.append(
                Problem(
                    path=f"[{c.show(tier)}]",
                    code="choice",
                    message=f"{c.show(tier)} is not a tier; allowed: 'A', 'B', 'C'",
                )
            )
            continue
        result = _nonempty_ids(reps)
        if result:
            problems.extend(c.as_problems(result, f"[{tier.value!r}]"))
    return problems or None


@attrs.frozen(kw_only=True)
class TierMatch(Policy):
    """
    A-tier leads to the strongest reps, C-tier to trainees (segment
    coverage): *groups* maps each tier to its reps, and the rep
    within the group is picked by load balance (or round robin).

    A lead's tier is its value against *a_from* (A at or above) and *b_from*
    (B at or above, C below); a customer being reassigned keeps its own tier.
    A lead whose tier cannot be told (no value, another currency, no
    thresholds) or whose tier has no group is returned with the reason;
    chain a fallback with :meth:`or_else`.  :meth:`from_quartiles` builds the
    groups from reps' KPI quartiles.
    """

    type_name: ClassVar[str] = "tier_match"
    groups: Mapping[Tier, tuple[str, ...]] = attrs.field(converter=_groups, metadata=c.check(_groups_check))
    a_from: Money | None = attrs.field(default=None, metadata=c.check(_opt_money))
    b_from: Money | None = attrs.field(default=None, metadata=c.check(_opt_money))
    pick: str = attrs.field(default="load_balance", metadata=c.check(c.one_of(_PICKS, "a pick")))
    name: str = attrs.field(default="tier_match", metadata=c.check(c.name))
    _inner: Mapping[Tier, Policy] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        inner = {t: _inner(self.pick, f"{self.name}:{t.value}", reps) for t, reps in self.groups.items()}
        object.__setattr__(self, "_inner", FrozenMap(inner))

    def _relations(self) -> list[Problem]:
        a, b = self.a_from, self.b_from
        if (a is None) != (b is None):
            return [
                Problem(
                    path="b_from" if b is None else "a_from",
                    code="missing",
                    message="give both a_from and b_from, or neither",
                )
            ]
        if a is not None and b is not None:
            if a.currency != b.currency:
                return [
                    Problem(
                        path="b_from",
                        code="currency",
                        message=f"{b!r} is not in {a.currency}, the currency of a_from",
                    )
                ]
            if b.amount > a.amount:
                return [Problem(path="b_from", code="order", message=f"{b!r} is above a_from {a!r}")]
        return []

    @classmethod
    def from_quartiles(
        cls,
        quartiles: Mapping[str, int],
        *,
        trainees: Iterable[str] = (),
        a_from: Money | None = None,
        b_from: Money | None = None,
        pick: str = "load_balance",
        name: str = "tier_match",
    ) -> TierMatch:
        """
        Groups from KPI quartiles (:func:`funnelkit.segments.quartiles`):
        A-tier leads to quartile 1, B to quartiles 1-3, C to quartiles 3-4
        and the *trainees*.  Tiers left without reps are left out.  Cost: O(m) for m reps.
        """
        quartiles = c.to_mapping(quartiles, "quartiles")  # a pandas Series
        if not isinstance(quartiles, Mapping):
            raise c.at("quartiles", c.wrong_type(quartiles, "a mapping of rep id to quartile"))
        bad = [
            Problem(
                path=f"quartiles[{r!r}]",
                code="type" if c.as_int(q) is None else "range",
                message=f"{c.show(q)} is not a quartile; expected 1, 2, 3 or 4",
            )
            for r, q in quartiles.items()
            if c.as_int(q) not in (1, 2, 3, 4)  # never a bool
        ]
        if bad:
            raise ValidationError(bad)
        trainee_ids = bounded(trainees, is_str)
        bad = [p.prefixed(f"quartiles[{c.show(r)}]") for r in quartiles if (p := c.identifier(r)) is not None]
        result = c.items(c.identifier, tuple)(trainee_ids)
        if result:
            bad.extend(c.as_problems(result, "trainees"))
        if bad:
            raise ValidationError(bad)
        spans = {Tier.A: (1,), Tier.B: (1, 2, 3), Tier.C: (3, 4)}
        groups: dict[Tier, tuple[str, ...]] = {}
        for tier, span in spans.items():
            reps = [r for r, q in quartiles.items() if q in span]
            if tier is Tier.C:
                reps += [t for t in trainee_ids if t not in reps]
            if reps:
                groups[tier] = tuple(reps)
        return cls(groups=groups, a_from=a_from, b_from=b_from, pick=pick, name=name)

    def tier_of(self, item: Lead | Customer) -> Tier | None:
        """
        The tier *item* is routed by: a customer's own tier, or a lead's
        value against *a_from* and *b_from*; ``None`` when it cannot be told.
        Cost: O(1).
        """
        return self._tier_of(item_of(item))

    def _tier_of(self, item: _Item) -> Tier | None:
        if item.tier is not None:
            return item.tier
        a, b, value = self.a_from, self.b_from, item.value
        if a is None or b is None or value is None or value.currency != a.currency:
            return None
        if value.amount >= a.amount:
            return Tier.A
        return Tier.B if value.amount >= b.amount else Tier.C

    def _choose(self, item: _Item, ctx: _Context, skips: list[Skip]) -> Choice:
        tier = self._tier_of(item)
        if tier is None:
            if self.a_from is None:
                return (
                    None,
                    "tier unknown (a lead has no tier and no a_from/b_from thresholds are set)",
                    self.name,
                )
            return (
                None,
                f"tier unknown (no value in {self.a_from.currency}, the thresholds' currency)",
                self.name,
            )
        inner = self._inner.get(tier)
        if inner is None:
            return None, f"no reps for tier {tier.value}", self.name
        rep, why, _ = inner._choose(item, ctx, skips)
        if rep is None:
            return None, f"tier {tier.value}: {why}", self.name
        return rep, f"tier {tier.value}; {why}", self.name

    def _rep_refs(self) -> Iterable[tuple[str, str]]:
        for tier, reps in self.groups.items():
            for j, rep in enumerate(reps):
                yield f"groups[{tier.value!r}][{j}]", rep
