"""
Segment coverage: the best reps on the most valuable customers, and the
relationship model that says which customers to grow, keep or let go.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from .. import _checks as c
from .._report import Report
from .._time import canonical
from ..entities import Activity, Customer, KeyPerson, Role, Stance, Tier
from ..errors import Problem, ValidationError
from ._args import MAX_PROBLEMS, each_of, items_of, member, not_iterable, plain_mapping

#: Scores are worked out in this context, whatever the caller's.
_SCORE = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)

#: Which rep quartiles may cover each tier by default: top reps
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


@attrs.frozen(kw_only=True, repr=False)
class CoveragePlan(Report):
    """
    The misalignments found, the moves proposed to fix them, and those that
    could not be fixed (no eligible rep with room), with the reason.

    ``to_records()`` and ``to_frame()`` give one row per misaligned
    customer: its tier, owner and the quartiles allowed, and the rep it moves
    to (``None`` when unresolved) with the reason.

    Not mergeable, by nature: a plan, not a sum.  Every move uses room on a
    rep that the other moves share, so plans made for parts of the book can
    overbook a rep; plan over the whole book at once.
    """

    misaligned: tuple[Misalignment, ...]
    moves: tuple[Move, ...]
    unresolved: tuple[tuple[str, str], ...]
    load_after: Mapping[str, int]

    def _summary(self) -> str:
        return (
            f"{c.counted(len(self.misaligned), 'misaligned customer')}: "
            f"{c.counted(len(self.moves), 'move')} proposed, {len(self.unresolved):,} unresolved; "
            f"{c.counted(len(self.load_after), 'rep')} cover "
            f"{c.counted(sum(self.load_after.values()), 'customer')} after the moves"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per misaligned customer, with its move or why there is none.
        """
        moves = {m.customer_id: m for m in self.moves}
        unresolved = dict(self.unresolved)
        for m in self.misaligned:
            move = moves.get(m.customer_id)
            yield {
                "customer_id": m.customer_id,
                "tier": m.tier.value,
                "owner": m.owner,
                "owner_quartile": m.owner_quartile,
                "allowed": ", ".join(str(q) for q in sorted(m.allowed)),
                "to_rep": None if move is None else move.to_rep,
                "reason": move.reason if move is not None else unresolved.get(m.customer_id),
            }


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

    *quartiles* maps rep ids to quartiles 1-4 (see :func:`quartiles`),
    *capacities* rep ids to ints >= 0, and *policy* each tier to the set of
    quartiles allowed to cover it.

    Cost: O(n + m * r) for n customers, m misaligned ones and r reps.
    """
    c.require_iterable(customers, "Customer", "customers")
    quartiles = plain_mapping(quartiles, "rep id to quartile 1-4", "quartiles")
    capacities = plain_mapping(capacities, "rep id to capacity (an int >= 0)", "capacities")
    problems = _assignment_problems(quartiles, capacities)
    allowed_by_tier = _policy(policy, problems)
    if problems:
        raise ValidationError(problems[:MAX_PROBLEMS])
    graded: list[tuple[Customer, Tier]] = []
    load: dict[str, int] = dict.fromkeys(capacities, 0)
    for cust in items_of(customers, Customer, "customers"):
        if cust.owner is not None:
            load[cust.owner] = load.get(cust.owner, 0) + 1
        if cust.tier is not None:
            graded.append((cust, cust.tier))
    misaligned = []
    for cust, tier in graded:
        allowed = allowed_by_tier[tier]
        owner_q = quartiles.get(cust.owner) if cust.owner is not None else None
        if owner_q not in allowed:
            misaligned.append(
                Misalignment(
                    customer_id=cust.id, tier=tier, owner=cust.owner, owner_quartile=owner_q, allowed=allowed
                )
            )
    moves, unresolved = _reallocate(misaligned, quartiles, capacities, load)
    return CoveragePlan(
        misaligned=tuple(misaligned),
        moves=tuple(moves),
        unresolved=tuple(unresolved),
        load_after=MappingProxyType(load),
    )


def _assignment_problems(quartiles: Mapping[Any, object], capacities: Mapping[Any, object]) -> list[Problem]:
    """The problems of the rep ids, quartiles and capacities given."""
    problems: list[Problem] = []
    for rep, q in quartiles.items():
        if not _rep_id(rep, "quartiles", problems) and (
            isinstance(q, bool) or not isinstance(q, int) or q not in (1, 2, 3, 4)
        ):
            code = "type" if isinstance(q, bool) or not isinstance(q, int) else "range"
            problems.append(
                Problem(path=f"quartiles[{rep!r}]", code=code, message=f"{c.show(q)} is not a quartile 1-4")
            )
    for rep, cap in capacities.items():
        if not _rep_id(rep, "capacities", problems) and (
            isinstance(cap, bool) or not isinstance(cap, int) or cap < 0
        ):
            code = "type" if isinstance(cap, bool) or not isinstance(cap, int) else "range"
            problems.append(
                Problem(path=f"capacities[{rep!r}]", code=code, message=f"{c.show(cap)} is not an int >= 0")
            )
    return problems


def _reallocate(
    misaligned: list[Misalignment],
    quartiles: Mapping[str, int],
    capacities: Mapping[str, int],
    load: dict[str, int],
) -> tuple[list[Move], list[tuple[str, str]]]:
    """
    Move each misaligned customer (C before B before A) to the eligible rep with the most room,
    updating *load*: the moves, and the customers no rep had room for with the reason.
    """
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
    return moves, unresolved


def _rep_id(rep: object, where: str, problems: list[Problem]) -> bool:
    """
    Whether the key *rep* of mapping *where* is a bad rep id (then reported).
    """
    problem = c.identifier(rep)
    if problem is None:
        return False
    problems.append(problem.prefixed(f"{where}[{c.show(rep)}] (key)"))
    return True


def _policy(policy: object, problems: list[Problem]) -> dict[Tier, frozenset[int]]:
    """
    The quartiles allowed per tier (every tier present), checked; problems
    are added to *problems*.
    """
    out: dict[Tier, frozenset[int]] = {}
    if not isinstance(policy, Mapping):
        problems.append(
            c.wrong_type(policy, "a mapping of tier to a set of quartiles 1-4").prefixed("policy")
        )
        return out
    before = len(problems)
    for key, quarts in policy.items():
        tier = member(Tier, key)
        if tier is None:
            msg = f"{c.show(key)} is not a tier; allowed: 'A', 'B', 'C'"
            problems.append(Problem(path=f"policy[{c.show(key)}] (key)", code="choice", message=msg))
        elif not isinstance(quarts, set | frozenset | list | tuple) or not all(
            type(q) is int and 1 <= q <= 4 for q in quarts
        ):
            msg = f"{c.show(quarts)} is not a set of quartiles 1-4"
            code = "type" if not isinstance(quarts, set | frozenset | list | tuple) else "range"
            problems.append(Problem(path=f"policy[{tier.value!r}]", code=code, message=msg))
        else:
            out[tier] = frozenset(quarts)
    if len(problems) == before:
        missing = [t.value for t in Tier if t not in out]
        if missing:
            msg = (
                f"no quartiles for tier {', '.join(map(repr, missing))}; every tier needs a set of quartiles"
            )
            problems.append(Problem(path="policy", code="missing", message=msg))
    return out


class Recommendation(enum.StrEnum):
    """
    What to do with a customer, from its value and the strength of the
    relationship (:class:`Relationship`): not every customer should be kept
    or invested in.
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
_MICROSECOND = dt.timedelta(microseconds=1)
#: The most contacts *contacts_for_full_marks* may ask for.
MAX_CONTACTS = 1_000_000


def _two_places(value: Decimal) -> Decimal:
    """
    *value* rounded half-even to two places, whatever the caller's decimal context.
    """
    return value.quantize(_TWO, context=_SCORE)


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

    *contacts_for_full_marks* is an int from 1 to 1,000,000.  All arithmetic
    runs in funnelkit's own decimal context.  Cost: O(c + a + k) for c
    customers, a activities and k key persons.
    """
    full = c.plain(contacts_for_full_marks)
    threshold = c.to_decimal(strong)
    problems = _relationship_problems(now, window, full, threshold, strong)
    problems += not_iterable(
        (customers, Customer, "customers"),
        (activities, Activity, "activities"),
        (key_persons, KeyPerson, "key_persons"),
    )
    if problems:
        raise ValidationError(problems)
    now = canonical(now)
    try:
        since = now - window
    except OverflowError:  # the window reaches back past the first datetime: every contact counts
        since = dt.datetime.min.replace(tzinfo=dt.UTC)
    last, count = _contacts(activities, since, now)
    warmth_of = _warmth(key_persons)
    scorer = _Scorer(now=now, span=Decimal(window // _MICROSECOND), full=full, threshold=threshold)
    out = []
    scored: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for cust in each_of(customers, Customer, "customers"):
        cid, tier = cust.id, cust.tier
        key = (last.get(cid), count.get(cid, 0), warmth_of.get(cid, _ZERO), tier)
        fields = scored.get(key)
        if fields is None:
            fields = scored[key] = scorer.score(*key)
        strength, recency, frequency, warmth, rec, why = fields
        out.append(
            Relationship(
                customer_id=cid,
                tier=tier,
                strength=strength,
                recency=recency,
                frequency=frequency,
                people=warmth,
                recommendation=rec,
                reason=why,
            )
        )
    return tuple(out)


def _relationship_problems(
    now: object, window: object, full: object, threshold: object, strong: object
) -> list[Problem]:
    """The problems of *now*, *window*, *full* (contacts_for_full_marks) and *threshold* (*strong* read)."""
    problems: list[Problem] = []
    problem = c.aware_datetime(now)
    if problem is not None:
        problems.append(problem.prefixed("now"))
    if not isinstance(window, dt.timedelta) or window <= dt.timedelta(0):
        code = "range" if isinstance(window, dt.timedelta) else "type"
        problems.append(
            Problem(path="window", code=code, message=f"{c.show(window)} is not a positive timedelta")
        )
    if isinstance(full, bool) or not isinstance(full, int) or not 1 <= full <= MAX_CONTACTS:
        msg = f"{c.show(full)} is not an int from 1 to {MAX_CONTACTS:,}"
        code = "type" if isinstance(full, bool) or not isinstance(full, int) else "range"
        problems.append(Problem(path="contacts_for_full_marks", code=code, message=msg))
    if not isinstance(threshold, Decimal) or not threshold.is_finite() or not 0 <= threshold <= 1:
        code = "range" if isinstance(threshold, Decimal) else "type"
        problems.append(
            Problem(path="strong", code=code, message=f"{c.show(strong)} is not a share in [0, 1]")
        )
    return problems


def _contacts(
    activities: Iterable[Activity], since: dt.datetime, now: dt.datetime
) -> tuple[dict[str, dt.datetime], dict[str, int]]:
    """Per customer, the last contact in ``[since, now]`` and how many there were."""
    last: dict[str, dt.datetime] = {}
    count: dict[str, int] = {}
    for a in each_of(activities, Activity, "activities"):
        if since <= a.at <= now:
            count[a.customer_id] = count.get(a.customer_id, 0) + 1
            if a.customer_id not in last or a.at > last[a.customer_id]:
                last[a.customer_id] = a.at
    return last, count


_ZERO, _ONE, _HALF, _THREE = Decimal(0), Decimal(1), Decimal("0.5"), Decimal(3)


def _warmth(key_persons: Iterable[KeyPerson]) -> dict[str, Decimal]:
    """
    Per customer with key persons, the people part of the score: 0.5 for a known decision maker
    plus 0.5 for a supporter or champion; 0 when a decision maker opposes us.
    """
    people: dict[str, list[KeyPerson]] = {}
    for kp in each_of(key_persons, KeyPerson, "key_persons"):
        people.setdefault(kp.customer_id, []).append(kp)
    warmth_of: dict[str, Decimal] = {}
    for cid, kps in people.items():
        dms = [k for k in kps if k.role is Role.DECISION_MAKER]
        if any(k.stance is Stance.OPPONENT for k in dms):
            warmth_of[cid] = _ZERO
        else:
            warmth_of[cid] = _SCORE.add(
                _HALF if dms else _ZERO, _HALF if any(k.stance in _FAVOURABLE for k in kps) else _ZERO
            )
    return warmth_of


@attrs.frozen(kw_only=True)
class _Scorer:
    """Scores relationships as of *now* over a window of *span* microseconds."""

    now: dt.datetime
    span: Decimal
    full: int
    threshold: Decimal

    def score(self, at: dt.datetime | None, n: int, warmth: Decimal, tier: Tier | None) -> tuple[Any, ...]:
        """The fields of a relationship from its measures (many customers share them)."""
        ctx = _SCORE
        recency = _ZERO
        if at is not None:
            age = ctx.divide(Decimal((self.now - at) // _MICROSECOND), self.span)
            recency = max(_ZERO, ctx.subtract(_ONE, age))
        frequency = min(_ONE, ctx.divide(Decimal(n), Decimal(self.full)))
        strength = _two_places(ctx.divide(ctx.add(ctx.add(recency, frequency), warmth), _THREE))
        rec, why = _recommend(tier, strength, self.threshold)
        return strength, _two_places(recency), _two_places(frequency), warmth, rec, why


def _recommend(tier: Tier | None, strength: Decimal, threshold: Decimal) -> tuple[Recommendation, str]:
    """What to do with a customer of *tier* whose relationship has *strength*, and why."""
    if tier is Tier.A:
        why = (
            "A customer: grow the account"
            if strength >= threshold
            else "A customer, weak relationship: invest to strengthen it"
        )
        return Recommendation.GROW, why
    label = tier.value if tier else "ungraded"
    if strength >= threshold:
        return Recommendation.MAINTAIN, f"{label} customer, strong relationship: maintain at low cost"
    return Recommendation.REDUCE, f"{label} customer, weak relationship: reduce investment"
