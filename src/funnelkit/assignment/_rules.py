"""
First-match routing rules on a lead's fields, each with its reps and how to
pick among them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar, cast

import attrs

from .. import _checks as c
from .._edits import Skip
from .._money import Money
from ..entities import CompanySize, Customer, Lead, Tier
from ..errors import Problem, ValidationError
from ._args import bounded, is_str
from ._policies import _PICKS, Policy, _inner, _nonempty_ids, _opt_money
from ._routing import Choice, _Context, _Item, item_of

E = TypeVar("E", bound=enum.Enum)


# --- rules ----------------------------------------------------------------------


def _opt_strings(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else c.to_frozenset(bounded(value, is_str))


def _opt_enum_set(enum_cls: type[E], value: Iterable[E | str] | None) -> frozenset[E] | None:
    """
    A set of *enum_cls* members from members or their values; anything else
    is left as it is for the field check to report.
    """
    if value is None:
        return None
    if not c.is_iterable(value):
        return value  # type: ignore[return-value]  # the check reports it
    items = c.to_frozenset(bounded(value, lambda x: isinstance(x, enum_cls | str)))
    try:
        return frozenset(c.to_enum(enum_cls, v) for v in items)
    except (ValidationError, TypeError):
        return items


# Named converters (attrs' mypy plugin needs named functions).
def _opt_sizes(value: Iterable[CompanySize | str] | None) -> frozenset[CompanySize] | None:
    return _opt_enum_set(CompanySize, value)


def _opt_tiers(value: Iterable[Tier | str] | None) -> frozenset[Tier] | None:
    return _opt_enum_set(Tier, value)


def _nonempty(check: c.Check) -> c.Check:
    inner = c.items(check, frozenset)

    def run(value: object) -> c.Result:
        if value is None:
            return None
        if isinstance(value, frozenset) and not value:
            return c.bad("empty", "empty; leave it out (None) to match anything")
        return inner(value)

    return run


@attrs.frozen(kw_only=True)
class Rule(c.Checked):
    """
    A first-match routing rule: when a lead matches every condition given,
    it goes to one of *to* (picked by load balance, or round robin).

    Conditions left out match anything.  *territory*, *industry*, *source*,
    *size* and *tier* are sets of allowed values; *min_value* (inclusive)
    and *max_value* (exclusive) bound the lead's estimated value, and a lead
    with no value or a value in another currency does not match them.
    *tier* matches customers being reassigned (a lead has no tier: route
    leads by tier with :class:`TierMatch`, which derives it from the value).
    """

    name: str = attrs.field(metadata=c.check(c.name))
    to: tuple[str, ...] = attrs.field(converter=c.to_tuple, metadata=c.check(_nonempty_ids))
    territory: frozenset[str] | None = attrs.field(
        default=None, converter=_opt_strings, metadata=c.check(_nonempty(c.name))
    )
    industry: frozenset[str] | None = attrs.field(
        default=None, converter=_opt_strings, metadata=c.check(_nonempty(c.name))
    )
    source: frozenset[str] | None = attrs.field(
        default=None, converter=_opt_strings, metadata=c.check(_nonempty(c.name))
    )
    size: frozenset[CompanySize] | None = attrs.field(
        default=None, converter=_opt_sizes, metadata=c.check(_nonempty(c.member_of(CompanySize)))
    )
    tier: frozenset[Tier] | None = attrs.field(
        default=None, converter=_opt_tiers, metadata=c.check(_nonempty(c.member_of(Tier)))
    )
    min_value: Money | None = attrs.field(default=None, metadata=c.check(_opt_money))
    max_value: Money | None = attrs.field(default=None, metadata=c.check(_opt_money))
    pick: str = attrs.field(default="load_balance", metadata=c.check(c.one_of(_PICKS, "a pick")))
    _conds: tuple[tuple[str, frozenset[Any]], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        fields = ("territory", "industry", "source", "size", "tier")
        conds = tuple((f, getattr(self, f)) for f in fields if getattr(self, f) is not None)
        object.__setattr__(self, "_conds", conds)

    def _relations(self) -> list[Problem]:
        lo, hi = self.min_value, self.max_value
        if lo is not None and hi is not None:
            if lo.currency != hi.currency:
                return [
                    Problem(
                        path="max_value",
                        code="currency",
                        message=f"{hi!r} is not in {lo.currency}, the currency of min_value",
                    )
                ]
            if hi.amount <= lo.amount:
                return [
                    Problem(path="max_value", code="order", message=f"{hi!r} is not above min_value {lo!r}")
                ]
        return []

    def match(self, item: Lead | Customer) -> str | None:
        """
        The conditions that *item* (a Lead, or a Customer being reassigned)
        meets, spelled out, or ``None`` when one fails.  Cost: O(conditions).
        """
        return self._match(item_of(item))

    def _match(self, item: _Item) -> str | None:
        for field, allowed in self._conds:
            if getattr(item, field) not in allowed:
                return None
        lo, hi = self.min_value, self.max_value
        if lo is not None or hi is not None:
            value = item.value
            currency = (lo or hi).currency  # type: ignore[union-attr]  # one of them is set
            if value is None or value.currency != currency:
                return None
            if lo is not None and value.amount < lo.amount:
                return None
            if hi is not None and value.amount >= hi.amount:
                return None
        said = [f"{field} {str(getattr(item, field))!r}" for field, _ in self._conds]
        if lo is not None or hi is not None:
            said.append(f"value {item.value}")
        return ", ".join(said) or "matches anything"


def _rules(value: Iterable[Rule]) -> tuple[Rule, ...]:
    return bounded(value, lambda x: isinstance(x, Rule))  # type: ignore[no-any-return]


def _rules_check(value: object) -> c.Result:
    problems = c.items(c.instance_of(Rule, "a Rule"), tuple)(value)
    if problems:
        return problems
    seen: set[str] = set()
    out = []
    for i, rule in enumerate(cast("tuple[Rule, ...]", value)):
        if rule.name in seen:
            out.append(
                Problem(
                    path=f"[{i}].name",
                    code="duplicate",
                    message=f"{rule.name!r} appears twice; rule names must be unique",
                )
            )
        seen.add(rule.name)
    return out or None


@attrs.frozen(kw_only=True)
class Rules(Policy):
    """
    First-match rules on lead fields, with an optional default owner.

    The first rule that matches and has a rep with room decides.  A matching
    rule whose reps are all full is noted in the reason and the next rule is
    tried; when none places the lead, it goes to *default* (a rep id) if that
    rep has room.
    """

    type_name: ClassVar[str] = "rules"
    rules: tuple[Rule, ...] = attrs.field(converter=_rules, metadata=c.check(_rules_check))
    default: str | None = attrs.field(default=None, metadata=c.check(c.optional(c.identifier)))
    name: str = attrs.field(default="rules", metadata=c.check(c.name))
    _inner: tuple[Policy, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # each rule picks through its own policy, named after this one and the rule: the key
        # of its saved round-robin pointer
        inner = tuple(_inner(r.pick, f"{self.name}:{r.name}", r.to) for r in self.rules)
        object.__setattr__(self, "_inner", inner)

    def _choose(self, item: _Item, ctx: _Context, skips: list[Skip]) -> Choice:
        notes: list[str] = []
        for rule, inner in zip(self.rules, self._inner, strict=True):
            matched = rule._match(item)
            if matched is None:
                continue
            rep, why, _ = inner._choose(item, ctx, skips)
            if rep is not None:
                said = f"rule {rule.name!r} matched ({matched}); {why}"
                return rep, "; ".join([*notes, said]), self.name
            notes.append(f"rule {rule.name!r} matched but {why}")
        head = "; ".join(notes) if notes else "no rule matched"
        if self.default is not None:
            reason = ctx.unavailable(self.default, item.weight)
            if reason is None:
                ctx.take(item, self.default)
                return self.default, f"{head}; default owner", self.name
            skips.append(Skip(self.default, reason))
            return None, f"{head}; default owner {self.default!r} is {reason}", self.name
        return None, head, self.name

    def _rep_refs(self) -> Iterable[tuple[str, str]]:
        for i, rule in enumerate(self.rules):
            for j, rep in enumerate(rule.to):
                yield f"rules[{i}].to[{j}]", rep
        if self.default is not None:
            yield "default", self.default
