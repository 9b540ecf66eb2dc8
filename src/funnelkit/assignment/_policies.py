"""
Routing policies: who gets the next lead.

A policy is a frozen value.  It picks a rep for one item (a lead, or a
customer being reassigned) against a per-call routing context that tracks
what each rep has taken so far; :func:`~funnelkit.assignment.assign` drives it.
This module holds the base and the policies that pick among reps (load
balance, round robin, weighted random) and chain them (fallback); rules and
tiers have their own modules.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar, cast

import attrs

from .. import _checks as c
from .._edits import Skip
from .._frozenmap import FrozenMap
from .._money import Money
from ..errors import Problem, ValidationError
from ._args import bounded, is_str
from ._routing import Choice, _Context, _Item
from ._team import Team

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
        from ..documents import to_dict

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


_PICKS = ("load_balance", "round_robin")

_opt_money = c.optional(c.instance_of(Money, "Money"))


def _inner(pick: str, name: str, reps: tuple[str, ...]) -> Policy:
    if pick == "round_robin":
        return RoundRobin(name=name, reps=reps)
    return LoadBalance(name=name, reps=reps)


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
    from ..documents import from_dict

    c.require(path, str, "a str", "path")
    try:
        return from_dict(Policy, data)
    except ValidationError as e:
        raise e.prefixed(path) from None
