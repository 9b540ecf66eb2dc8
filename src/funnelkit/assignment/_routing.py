"""
What a routing policy sees: an item (a lead, or a customer being
reassigned), the per-call context that tracks what each rep has taken so
far, and the reps passed over.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from .. import _checks as c
from .._money import Money
from ..entities import CompanySize, Customer, Lead, Tier
from ._team import WINDOW_WORDS, AssignmentState, Team

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
        self.window_start = team.window_start(now=now)
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
