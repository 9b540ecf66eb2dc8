"""
Routing policies: who gets the next lead.

A policy is a frozen value.  It picks a rep for one item (a lead, or a
customer being reassigned) against a per-call routing context that tracks
what each rep has taken so far; :func:`~funnelkit.assignment.assign` drives it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import heapq
import itertools
import random
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar, TypeVar, cast

import attrs

from .. import _checks as c
from .._frozenmap import FrozenMap
from .._money import Money
from ..entities import CompanySize, Customer, Lead, Tier
from ..errors import Problem, ValidationError
from ._args import bounded, is_str
from ._team import WINDOW_WORDS, AssignmentState, Team

E = TypeVar("E", bound=enum.Enum)

# --- what a policy sees of an item ------------------------------------------


class _Item:
    """
    The facts that routing reads from a lead or a customer.
    """

    __slots__ = ("id", "industry", "size", "source", "territory", "tier", "value", "weight")

    def __init__(  # noqa: PLR0917
        self,
        id: str,
        territory: str | None,
        industry: str | None,
        size: CompanySize | None,
        source: str | None,
        value: Money | None,
        tier: Tier | None,
        weight: int,
    ) -> None:
        self.id = id
        self.territory = territory
        self.industry = industry
        self.size = size
        self.source = source
        self.value = value
        self.tier = tier
        self.weight = weight


def lead_item(lead: Lead) -> _Item:
    return _Item(
        lead.id, lead.territory, lead.industry, lead.size, lead.source, lead.estimated_value, None, 1
    )


def customer_item(customer: Customer, weight: int) -> _Item:
    return _Item(
        customer.id,
        customer.territory,
        customer.industry,
        customer.size,
        None,
        customer.purchasing_power,
        customer.tier,
        weight,
    )


def item_of(item: object) -> _Item:
    """
    What routing reads of *item*, a Lead or a Customer; else an error naming ``item``.
    """
    if isinstance(item, Lead):
        return lead_item(item)
    if isinstance(item, Customer):
        return customer_item(item, 1)
    raise c.at("item", c.wrong_type(item, "a Lead or a Customer"))


@attrs.frozen
class Skip(c.Checked):
    """
    A rep passed over for one item, and why.
    """

    rep_id: str = attrs.field(metadata=c.check(c.identifier))
    reason: str = attrs.field(metadata=c.check(c.name))


# --- the per-call routing context --------------------------------------------


class _Context:
    """
    What one routing call knows and changes: each rep's count against their
    limit, the round-robin pointers, lazily built heaps, the random source.
    """

    def __init__(
        self,
        team: Team,
        state: AssignmentState,
        now: dt.datetime,
        rng: random.Random | None,
        *,
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        self.team = team
        self.now = now
        self.rng = rng
        self.index = {r.id: i for i, r in enumerate(team.reps)}
        self.limit = {r.id: r.capacity for r in team.reps}
        self.inactive = {r.id: "inactive" for r in team.reps if not r.active}
        for rep_id in exclude:
            if rep_id in self.index:
                self.inactive[rep_id] = "leaving"
        self.window_start = team.window_start(now)
        if self.window_start is None:
            self.used = {r.id: team.load.get(r.id, 0) for r in team.reps}
        else:
            self.used = dict.fromkeys(self.index, 0)
            start = self.window_start
            for a in state.recent:
                if a.at >= start and a.rep_id in self.used:
                    self.used[a.rep_id] += 1
        limits = [cap for cap in self.limit.values() if cap]
        #: A rep with no limit is weighted like the largest limit in the team.
        self.unlimited = max(limits, default=1)
        self.stamp = dict.fromkeys(self.index, 0)
        self.pointers = dict(state.pointers)
        self.cache: dict[object, Any] = {}
        self.taken: list[tuple[str, str]] = []  # (item id, rep id), in order

    def ids(self, reps: tuple[str, ...] | None) -> tuple[str, ...]:
        if reps is None:
            return self.team.ids
        return reps

    def unavailable(self, rep_id: str, weight: int) -> str | None:
        """
        Why *rep_id* cannot take an item of *weight* now, or ``None``.
        """
        reason = self.inactive.get(rep_id)
        if reason is not None:
            return reason
        limit = self.limit[rep_id]
        if limit is not None and self.used[rep_id] + weight > limit:
            said = self.team.describe_limit(rep_id, self.used[rep_id])
            if weight > 1 and self.used[rep_id] < limit:
                return f"{said}; this needs room for {weight}"
            return said
        return None

    def never(self, rep_id: str) -> bool:
        """
        Whether *rep_id* can take nothing more in this call.
        """
        if rep_id in self.inactive:
            return True
        limit = self.limit[rep_id]
        return limit is not None and self.used[rep_id] >= limit

    def ratio(self, rep_id: str) -> float:
        limit = self.limit[rep_id]
        return self.used[rep_id] / (limit or self.unlimited) if limit != 0 else float("inf")

    def standing(self, rep_id: str) -> str:
        limit = self.limit[rep_id]
        used = self.used[rep_id]
        words = WINDOW_WORDS[self.team.window]
        return f"{used} {words}" if limit is None else f"{used} of {limit} {words}"

    def no_room(self, reps: tuple[str, ...] | None, weight: int) -> str:
        """
        Why no rep of *reps* can take an item of *weight*: the first few
        reasons and how many reps there are.  Cached once every rep is out
        for good, since nobody's count goes down within a call.
        """
        key = ("no room", reps)
        said = self.cache.get(key)
        if said is not None:
            return str(said)
        ids = self.ids(reps)
        reasons = [f"{r}: {why}" for r in ids[:3] if (why := self.unavailable(r, weight)) is not None]
        more = f"; {len(ids) - 3} more" if len(ids) > 3 else ""
        text = f"no rep has room ({'; '.join(reasons)}{more})"
        if all(self.never(r) for r in ids):
            self.cache[key] = text
        return text

    def take(self, item: _Item, rep_id: str) -> None:
        self.used[rep_id] += item.weight
        self.stamp[rep_id] += 1
        # one record per unit of weight, so that a windowed capacity counts
        # a customer with k deals as k in later calls too
        self.taken.extend([(item.id, rep_id)] * item.weight)


#: (rep or None, why, the name of the policy that decided)
Choice = tuple[str | None, str, str]


# --- policies -----------------------------------------------------------------


def _opt_ids(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else bounded(value, is_str)


_ids_check = c.optional(c.items(c.identifier, tuple, unique=True))


def _nonempty_ids(value: object) -> c.Result:
    if isinstance(value, tuple) and not value:
        return c.bad("empty", "() is empty; give at least one rep id")
    return c.items(c.identifier, tuple, unique=True)(value)


def _opt_nonempty_ids(value: object) -> c.Result:
    return None if value is None else _nonempty_ids(value)


class Policy(c.Checked):
    """
    Base of routing policies.  Each is a frozen value with a *name* (used in
    every decision's ``by`` and as the key of its saved state); combine them
    with :meth:`or_else` or :class:`Fallback`.
    """

    __slots__ = ()
    type_name: ClassVar[str] = ""
    name: str

    def or_else(self, other: Policy) -> Fallback:
        """
        This policy, then *other* for what this one could not place.  Cost: O(p) for p policies in the chains.
        """
        c.require(other, Policy, "a Policy", "other")
        mine = self.policies if isinstance(self, Fallback) else (self,)
        theirs = other.policies if isinstance(other, Fallback) else (other,)
        return Fallback(policies=(*mine, *theirs))

    def _choose(self, item: _Item, ctx: _Context, skips: list[Skip]) -> Choice:
        raise NotImplementedError

    def _rep_refs(self) -> Iterable[tuple[str, str]]:
        """
        (path, rep id) for every rep this policy names, to check against a team.
        """
        return ()

    def _needs_rng(self) -> bool:
        return False

    def problems(self, team: Team) -> list[Problem]:
        """
        What is wrong with this policy for *team*: reps it names that are not
        in the team.  Cost: O(r) for r reps the policy names.
        """
        c.require(team, Team, "a Team", "team")
        return [
            Problem(path=path, code="reference", message=f"{rep!r} is not a rep of the team")
            for path, rep in self._rep_refs()
            if rep not in team
        ]

    def to_dict(self) -> dict[str, Any]:
        """
        The policy as a JSON-safe document, tagged with its ``"type"``: the
        same as ``funnelkit.to_dict(self)``; ``from_dict(Policy, data)``
        reads it back.  Cost: O(size of the value).
        """
        from ..convert import to_dict

        return to_dict(self)  # type: ignore[no-any-return]


def _heap_choose(
    key: object, ids: tuple[str, ...], item: _Item, ctx: _Context, skips: list[Skip]
) -> str | None:
    """
    The least-loaded available rep of *ids* (ties in team order), by a heap
    kept in the context: O(log m) per item.
    """
    heap = ctx.cache.get(key)
    if heap is None:
        heap = [(ctx.ratio(r), ctx.index[r], r, ctx.stamp[r]) for r in ids if not ctx.never(r)]
        heapq.heapify(heap)
        ctx.cache[key] = heap
    aside = []
    chosen = None
    stamp = ctx.stamp
    while heap:
        entry = heap[0]
        rep = entry[2]
        if entry[3] != stamp[rep]:  # stale: the rep took something through another heap
            heapq.heapreplace(heap, (ctx.ratio(rep), entry[1], rep, stamp[rep]))
            continue
        reason = ctx.unavailable(rep, item.weight)
        if reason is None:
            chosen = rep
            heapq.heappop(heap)  # the caller pushes it back with its new load
            break
        heapq.heappop(heap)
        skips.append(Skip(rep, reason))
        if not ctx.never(rep):  # too full for this item only: keep it for lighter ones
            aside.append(entry)
    for entry in aside:
        heapq.heappush(heap, entry)
    return chosen


def _refresh(key: object, rep: str, ctx: _Context) -> None:
    """
    Put *rep*, chosen and popped by :func:`_heap_choose`, back with its new load.
    """
    if not ctx.never(rep):
        heapq.heappush(ctx.cache[key], (ctx.ratio(rep), ctx.index[rep], rep, ctx.stamp[rep]))


@attrs.frozen(kw_only=True)
class LoadBalance(Policy):
    """
    The rep with the lowest load relative to their limit; ties go to the
    earlier rep in team order.

    Load is what counts against the limit in the team's window (see
    :class:`~funnelkit.assignment.Window`).  A rep with no limit is weighted
    like the largest limit in the team (1 if nobody has one).  *reps*
    restricts the choice to some reps, in team order.  O(log m) per lead.
    """

    type_name: ClassVar[str] = "load_balance"
    name: str = attrs.field(default="load_balance", metadata=c.check(c.name))
    reps: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_ids, metadata=c.check(_opt_nonempty_ids)
    )

    def _choose(self, item: _Item, ctx: _Context, skips: list[Skip]) -> Choice:
        key = ("heap", self.reps)
        rep = _heap_choose(key, ctx.ids(self.reps), item, ctx, skips)
        if rep is None:
            return None, ctx.no_room(self.reps, item.weight), self.name
        why = f"least loaded: {ctx.standing(rep)}"
        ctx.take(item, rep)
        _refresh(key, rep, ctx)
        return rep, why, self.name

    def _rep_refs(self) -> Iterable[tuple[str, str]]:
        return ((f"reps[{i}]", r) for i, r in enumerate(self.reps or ()))


@attrs.frozen(kw_only=True)
class RoundRobin(Policy):
    """
    Each rep in turn, in team order (or the order of *reps*), skipping reps
    who are inactive or full; resumes after the rep saved in the state under
    this policy's *name*.  Give two round robins different names.
    """

    type_name: ClassVar[str] = "round_robin"
    name: str = attrs.field(default="round_robin", metadata=c.check(c.name))
    reps: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_ids, metadata=c.check(_opt_nonempty_ids)
    )

    def _choose(self, item: _Item, ctx: _Context, skips: list[Skip]) -> Choice:
        ids = ctx.ids(self.reps)
        key = ("position", self.reps)
        position = ctx.cache.get(key)
        if position is None:
            position = ctx.cache[key] = {r: i for i, r in enumerate(ids)}
        out = ("no room", self.reps)
        if out in ctx.cache:  # every rep of the group is out for the rest of the call
            return None, str(ctx.cache[out]), self.name
        last = ctx.pointers.get(self.name)
        start = position[last] + 1 if last in position else 0
        n = len(ids)
        for k in range(n):
            rep = ids[(start + k) % n]
            reason = ctx.unavailable(rep, item.weight)
            if reason is not None:
                skips.append(Skip(rep, reason))
                continue
            if last in position:
                why = f"round robin: next after {last!r}"
            elif last is None:
                why = "round robin: first turn"
            else:
                why = f"round robin: {last!r} is no longer in the group; starting over"
            ctx.take(item, rep)
            ctx.pointers[self.name] = rep
            return rep, why, self.name
        return None, ctx.no_room(self.reps, item.weight), self.name

    def _rep_refs(self) -> Iterable[tuple[str, str]]:
        return ((f"reps[{i}]", r) for i, r in enumerate(self.reps or ()))


def _weights(value: Mapping[str, int | Decimal] | None) -> Mapping[str, Decimal] | None:
    value = c.to_mapping(value, "weights")  # a pandas Series
    if value is None or not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for k, v in value.items():
        try:
            out[k] = c.to_decimal(v) if not isinstance(v, bool) else v
        except ValidationError:
            out[k] = v
    return FrozenMap(out)


def _weights_check(value: object) -> c.Result:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        code = "empty" if isinstance(value, Mapping) else "type"
        return c.bad(code, f"{c.show(value)} is not a non-empty mapping of rep id to weight")
    problems = []
    for rep, w in value.items():
        problem = c.identifier(rep)
        if problem is None and not (isinstance(w, Decimal) and w.is_finite() and w >= 0):
            code = "range" if isinstance(w, Decimal) else "type"
            problem = c.bad(code, f"{c.show(w)} is not a weight; expected a finite number >= 0")
        if problem is not None:
            problems.append(problem.prefixed(f"[{rep!r}]"))
    if not problems and not any(value.values()):
        return c.bad("range", "every weight is 0; at least one must be positive")
    return problems or None


@attrs.frozen(kw_only=True)
class WeightedRandom(Policy):
    """
    A rep drawn at random with probability proportional to their weight,
    among those with room; needs ``rng`` (a seed or ``random.Random``).

    *weights* maps rep id to weight; without it each rep weighs their limit
    (a rep with no limit like the largest limit in the team).  O(log m) per
    lead.
    """

    type_name: ClassVar[str] = "weighted_random"
    name: str = attrs.field(default="weighted_random", metadata=c.check(c.name))
    weights: Mapping[str, Decimal] | None = attrs.field(
        default=None, converter=_weights, metadata=c.check(_weights_check)
    )

    def _needs_rng(self) -> bool:
        return True

    def _table(self, ctx: _Context) -> tuple[list[str], list[float]]:
        if self.weights is None:
            pairs = [(r, float(ctx.limit[r] or ctx.unlimited)) for r in ctx.team.ids]
        else:  # in team order, whatever order the mapping has; scaled so that the largest is 1
            # exact ratios, whatever the caller's decimal context
            top = Fraction(max(self.weights.values()))
            pairs = [(r, float(Fraction(self.weights[r]) / top)) for r in ctx.team.ids if r in self.weights]
        reps = [r for r, w in pairs if w > 0 and not ctx.never(r)]
        cum = list(itertools.accumulate(w for r, w in pairs if w > 0 and not ctx.never(r)))
        return reps, cum

    def _choose(self, item: _Item, ctx: _Context, skips: list[Skip]) -> Choice:
        key = ("weighted", id(self))
        table = ctx.cache.get(key)
        if table is None:
            table = ctx.cache[key] = self._table(ctx)
        reps, cum = table
        rng = cast("random.Random", ctx.rng)  # assign() refuses a random policy without one
        refused: set[str] = set()
        while reps:
            total = cum[-1]
            i = min(bisect.bisect_right(cum, rng.random() * total), len(reps) - 1)
            rep = reps[i]
            reason = ctx.unavailable(rep, item.weight)
            if reason is None:
                weight = cum[i] - (cum[i - 1] if i else 0.0)
                why = f"weighted random: weight {weight:g} of {total:g}"
                ctx.take(item, rep)
                if ctx.never(rep):
                    ctx.cache[key] = self._table(ctx)
                return rep, why, self.name
            skips.append(Skip(rep, reason))
            if ctx.never(rep):
                table = ctx.cache[key] = self._table(ctx)
                reps, cum = table
            else:  # too full for this item only: draw again without them
                refused.add(rep)
                pairs = [
                    (r, cum[j] - (cum[j - 1] if j else 0.0)) for j, r in enumerate(reps) if r not in refused
                ]
                reps = [r for r, _ in pairs]
                cum = list(itertools.accumulate(w for _, w in pairs))
        return (
            None,
            ctx.no_room(None if self.weights is None else tuple(self.weights), item.weight),
            self.name,
        )

    def _rep_refs(self) -> Iterable[tuple[str, str]]:
        return ((f"weights[{r!r}]", r) for r in (self.weights or {}))


# --- rules ----------------------------------------------------------------------

_PICKS = ("load_balance", "round_robin")


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


_opt_money = c.optional(c.instance_of(Money, "Money"))


def _inner(pick: str, name: str, reps: tuple[str, ...]) -> Policy:
    if pick == "round_robin":
        return RoundRobin(name=name, reps=reps)
    return LoadBalance(name=name, reps=reps)


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
                return [Problem(path="max_value", code="order", message=f"{hi!r} is not above min_value {lo!r}")]
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
                    Problem(path="b_from", code="currency", message=f"{b!r} is not in {a.currency}, the currency of a_from")
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


# --- chains -----------------------------------------------------------------------


def _policies(value: Iterable[Policy]) -> tuple[Policy, ...]:
    return bounded(value, lambda x: isinstance(x, Policy))  # type: ignore[no-any-return]


def _policies_check(value: object) -> c.Result:
    if isinstance(value, tuple) and not value:
        return c.bad("empty", "() is empty; give at least one policy")
    return c.items(c.instance_of(Policy, "a Policy"), tuple)(value)


@attrs.frozen(kw_only=True)
class Fallback(Policy):
    """
    Each policy in turn until one places the lead; the reason says why each
    earlier one could not.
    """

    type_name: ClassVar[str] = "fallback"
    policies: tuple[Policy, ...] = attrs.field(converter=_policies, metadata=c.check(_policies_check))
    name: str = attrs.field(default="fallback", metadata=c.check(c.name))

    def _relations(self) -> list[Problem]:
        seen: set[str] = set()
        problems = []
        for i, policy in enumerate(self.policies):
            if not isinstance(policy, RoundRobin):
                continue
            if policy.name in seen:
                msg = f"{policy.name!r} names two round robins; name each apart (it keys its pointer)"
                problems.append(Problem(path=f"policies[{i}].name", code="duplicate", message=msg))
            seen.add(policy.name)
        return problems

    def _choose(self, item: _Item, ctx: _Context, skips: list[Skip]) -> Choice:
        notes: list[str] = []
        for policy in self.policies:
            rep, why, by = policy._choose(item, ctx, skips)
            if rep is not None:
                if notes:
                    why = f"{'; '.join(notes)}; then {why}"
                return rep, why, by
            notes.append(f"{policy.name}: {why}")
        return None, "; ".join(notes), self.name

    def _needs_rng(self) -> bool:
        return any(p._needs_rng() for p in self.policies)

    def _rep_refs(self) -> Iterable[tuple[str, str]]:
        for i, policy in enumerate(self.policies):
            for path, rep in policy._rep_refs():
                yield f"policies[{i}].{path}", rep


# --- reading policies back ------------------------------------------------------------


def policy_from_dict(data: Mapping[str, Any], *, path: str = "") -> Policy:
    """
    Build a policy from a document written by its ``to_dict()`` (what a host
    stores in its database or YAML): the same as ``from_dict(Policy, data)``,
    with every problem located under *path*.  Cost: O(size of data).

    >>> policy_from_dict({"type": "round_robin", "reps": ["ann", "bob"]})
    RoundRobin(name='round_robin', reps=('ann', 'bob'))
    """
    from ..convert import from_dict

    c.require(path, str, "a str", "path")
    try:
        return from_dict(Policy, data)
    except ValidationError as e:
        raise e.prefixed(path) from None
