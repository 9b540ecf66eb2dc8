"""
Segment coverage: the best reps on the most valuable customers, and the
relationship model that says which customers to grow, keep or let go.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType

import attrs

from .. import _checks as c
from .._time import canonical
from ..entities import Activity, Customer, KeyPerson, Role, Stance, Tier
from ..errors import Problem, ValidationError

#: Which rep quartiles may cover each tier by default (DOMAIN.md, 002): top reps
#: on A customers, the middle grown by all but the bottom quartile, C customers
#: left to the lower half (or trainees).
DEFAULT_COVERAGE: Mapping[Tier, frozenset[int]] = MappingProxyType(
    {Tier.A: frozenset({1}), Tier.B: frozenset({1, 2, 3}), Tier.C: frozenset({3, 4})}
)


@attrs.frozen(kw_only=True)
class Misalignment:
    """
    A customer covered by a rep whose quartile its tier does not call for.
    """

    customer_id: str
    tier: Tier
    owner: str | None
    owner_quartile: int | None
    allowed: frozenset[int]


@attrs.frozen(kw_only=True)
class Move:
    """
    One proposed change of owner.
    """

    customer_id: str
    from_rep: str | None
    to_rep: str
    reason: str


@attrs.frozen(kw_only=True)
class CoveragePlan:
    """
    The misalignments found, the moves proposed to fix them, and those that
    could not be fixed (no eligible rep with room), with the reason.
    """

    misaligned: tuple[Misalignment, ...]
    moves: tuple[Move, ...]
    unresolved: tuple[tuple[str, str], ...]
    load_after: Mapping[str, int]


def coverage(
    customers: Iterable[Customer],
    *,
    quartiles: Mapping[str, int],
    capacities: Mapping[str, int],
    policy: Mapping[Tier, frozenset[int]] = DEFAULT_COVERAGE,
) -> CoveragePlan:
    """
    Check that each graded customer is covered by a rep of a quartile its
    tier allows (*policy*), and propose a reallocation that moves only the
    misaligned customers and never puts a rep over its capacity (the number
    of customers it may cover).

    Moves that free room on the top reps come first (C before B before A
    customers); each customer goes to the eligible rep with the most room
    left, ties by rep id.  Customers without a tier are left alone.
    """
    problems = []
    for rep, q in quartiles.items():
        if q not in (1, 2, 3, 4):
            problems.append(Problem(path=f"quartiles[{rep!r}]", message=f"{c.show(q)} is not a quartile 1-4"))
    for rep, cap in capacities.items():
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            problems.append(Problem(path=f"capacities[{rep!r}]", message=f"{c.show(cap)} is not an int >= 0"))
    if problems:
        raise ValidationError(problems)
    graded: list[tuple[Customer, Tier]] = []
    load: dict[str, int] = dict.fromkeys(capacities, 0)
    for i, cust in enumerate(customers):
        if not isinstance(cust, Customer):
            c.require(cust, Customer, "a Customer", f"customers[{i}]")
        if cust.owner is not None:
            load[cust.owner] = load.get(cust.owner, 0) + 1
        if cust.tier is not None:
            graded.append((cust, cust.tier))
    misaligned = []
    for cust, tier in graded:
        allowed = policy[tier]
        owner_q = quartiles.get(cust.owner) if cust.owner is not None else None
        if owner_q not in allowed:
            misaligned.append(
                Misalignment(
                    customer_id=cust.id, tier=tier, owner=cust.owner, owner_quartile=owner_q, allowed=allowed
                )
            )
    order = {Tier.C: 0, Tier.B: 1, Tier.A: 2}
    moves, unresolved = [], []
    for m in sorted(misaligned, key=lambda m: (order[m.tier], m.customer_id)):
        room = [
            (capacities[rep] - load.get(rep, 0), rep)
            for rep, q in quartiles.items()
            if q in m.allowed and rep in capacities and capacities[rep] - load.get(rep, 0) > 0
        ]
        if not room:
            unresolved.append((m.customer_id, f"no rep of quartile {sorted(m.allowed)} has room"))
            continue
        _, best = min(room, key=lambda r: (-r[0], r[1]))  # most room, then rep id
        if m.owner is not None:
            load[m.owner] -= 1
        load[best] = load.get(best, 0) + 1
        reason = f"tier {m.tier.value} calls for quartile {sorted(m.allowed)}, owner is in {m.owner_quartile}"
        moves.append(Move(customer_id=m.customer_id, from_rep=m.owner, to_rep=best, reason=reason))
    return CoveragePlan(
        misaligned=tuple(misaligned),
        moves=tuple(moves),
        unresolved=tuple(unresolved),
        load_after=MappingProxyType(load),
    )


class Recommendation(enum.StrEnum):
    """
    What to do with a customer, from the relationship model (DOMAIN.md, 000):
    not every customer should be kept or invested in.
    """

    GROW = "keep_and_grow"
    MAINTAIN = "maintain"
    REDUCE = "reduce_investment"


@attrs.frozen(kw_only=True)
class Relationship:
    """
    A customer placed on value (its tier) x relationship strength (0 to 1),
    with the recommendation and the reason for it.
    """

    customer_id: str
    tier: Tier | None
    strength: Decimal
    recency: Decimal
    frequency: Decimal
    people: Decimal
    recommendation: Recommendation
    reason: str


_TWO = Decimal("0.01")
_FAVOURABLE = frozenset({Stance.SUPPORTER, Stance.CHAMPION})


def relationships(
    customers: Iterable[Customer],
    *,
    activities: Iterable[Activity],
    key_persons: Iterable[KeyPerson],
    now: dt.datetime,
    window: dt.timedelta = dt.timedelta(days=180),
    contacts_for_full_marks: int = 6,
    strong: Decimal | str = "0.5",
) -> tuple[Relationship, ...]:
    """
    Score each customer's relationship strength from three parts, each 0 to 1,
    averaged:

    - **recency**: 1 for a contact today, falling linearly to 0 at *window*
      ago (0 when never contacted in the window);
    - **frequency**: contacts in the window / *contacts_for_full_marks*, at most 1;
    - **people**: 0.5 when a decision maker is known, plus 0.5 when some key
      person is a supporter or champion; 0 when the decision maker opposes us.

    A customers are kept and grown (strong relationship: grow the account;
    weak: invest to strengthen it); B and C customers with a strong
    relationship (at least *strong*) are maintained; the rest get reduced
    investment.  Ungraded customers are treated as C.
    """
    msg = c.aware_datetime(now)
    if msg is not None:
        raise ValidationError.single("now", msg)
    if not isinstance(window, dt.timedelta) or window <= dt.timedelta(0):
        raise ValidationError.single("window", f"{c.show(window)} is not a positive timedelta")
    threshold = c.to_decimal(strong)
    if not isinstance(threshold, Decimal) or not Decimal(0) <= threshold <= Decimal(1):
        raise ValidationError.single("strong", f"{c.show(strong)} is not a share in [0, 1]")
    now = canonical(now)
    since = now - window
    last: dict[str, dt.datetime] = {}
    count: dict[str, int] = {}
    for a in activities:
        if since <= a.at <= now:
            count[a.customer_id] = count.get(a.customer_id, 0) + 1
            if a.customer_id not in last or a.at > last[a.customer_id]:
                last[a.customer_id] = a.at
    people: dict[str, list[KeyPerson]] = {}
    for kp in key_persons:
        people.setdefault(kp.customer_id, []).append(kp)
    out = []
    for cust in customers:
        recency = Decimal(0)
        if cust.id in last:
            age = (now - last[cust.id]) / window
            recency = max(Decimal(0), Decimal(1) - Decimal(str(age)))
        frequency = min(Decimal(1), Decimal(count.get(cust.id, 0)) / Decimal(contacts_for_full_marks))
        kps = people.get(cust.id, [])
        dms = [k for k in kps if k.role is Role.DECISION_MAKER]
        if any(k.stance is Stance.OPPONENT for k in dms):
            warmth = Decimal(0)
        else:
            warmth = (Decimal("0.5") if dms else Decimal(0)) + (
                Decimal("0.5") if any(k.stance in _FAVOURABLE for k in kps) else Decimal(0)
            )
        strength = ((recency + frequency + warmth) / 3).quantize(_TWO)
        tier = cust.tier
        if tier is Tier.A:
            rec = Recommendation.GROW
            why = (
                "A customer: grow the account"
                if strength >= threshold
                else "A customer, weak relationship: invest to strengthen it"
            )
        else:
            label = tier.value if tier else "ungraded"
            if strength >= threshold:
                rec, why = (
                    Recommendation.MAINTAIN,
                    f"{label} customer, strong relationship: maintain at low cost",
                )
            else:
                rec, why = Recommendation.REDUCE, f"{label} customer, weak relationship: reduce investment"
        out.append(
            Relationship(
                customer_id=cust.id,
                tier=tier,
                strength=strength,
                recency=recency.quantize(_TWO),
                frequency=frequency.quantize(_TWO),
                people=warmth,
                recommendation=rec,
                reason=why,
            )
        )
    return tuple(out)
