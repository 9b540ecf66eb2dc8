"""
The lead pool: reps claim customers (or leads) from a shared pool; a claim
protects the customer for a while and lapses back to the pool when unworked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, cast

import attrs

from .. import _checks as c
from .. import documents
from .._frozenmap import FrozenMap
from .._time import canonical, instant
from ..entities import Activity
from ..errors import AssignmentError, ClaimConflict, Problem, ValidationError
from ._args import bounded, window_duration
from ._team import Team


@attrs.frozen(kw_only=True)
class Claim(c.Checked):
    """
    A rep's protected hold on a customer: from *claimed_at*, last worked at
    *worked_at*, protected until *expires_at* (exclusive).
    """

    customer_id: str = attrs.field(metadata=c.check(c.identifier))
    rep_id: str = attrs.field(metadata=c.check(c.identifier))
    claimed_at: dt.datetime = attrs.field(metadata=c.check(c.aware_datetime), converter=canonical)
    worked_at: dt.datetime = attrs.field(metadata=c.check(c.aware_datetime), converter=canonical)
    expires_at: dt.datetime = attrs.field(metadata=c.check(c.aware_datetime), converter=canonical)

    def _relations(self) -> list[Problem]:
        if not self.claimed_at <= self.worked_at < self.expires_at:
            return [
                Problem(
                    path="expires_at",
                    code="order",
                    message=f"claimed_at {self.claimed_at.isoformat()} <= "
                    f"worked_at {self.worked_at.isoformat()} "
                    f"< expires_at {self.expires_at.isoformat()} does not hold",
                )
            ]
        return []

    def active(self, *, now: dt.datetime) -> bool:
        """
        Whether the claim protects the customer at *now*.  Cost: O(1).
        """
        return self.claimed_at <= instant(now) < self.expires_at


def _positive_duration(value: object) -> Problem | None:
    return window_duration(value, "a claim must protect for some time")


def _claims(value: Mapping[str, Claim] | Iterable[Claim]) -> Mapping[str, Claim]:
    if isinstance(value, Mapping):
        return FrozenMap(dict(value))
    if c.is_iterable(value):
        items = list(bounded(value, lambda x: isinstance(x, Claim)))
        if all(isinstance(x, Claim) for x in items) and len({x.customer_id for x in items}) == len(items):
            return FrozenMap({x.customer_id: x for x in items})
        return items  # type: ignore[return-value]  # the check reports it
    return value  # type: ignore[return-value]  # the check reports it


def _claims_check(value: object) -> c.Result:
    if isinstance(value, list):
        problems = []
        seen: set[str] = set()
        for i, claim in enumerate(value):
            if not isinstance(claim, Claim):
                problems.append(c.wrong_item(claim, Claim, f"[{i}]"))
            elif claim.customer_id in seen:
                msg = f"{claim.customer_id!r} appears twice; a customer has one holder at most"
                problems.append(Problem(path=f"[{i}].customer_id", code="duplicate", message=msg))
            else:
                seen.add(claim.customer_id)
        return problems or None
    if not isinstance(value, Mapping):
        return c.wrong_type(value, "claims")
    problems = []
    for key, claim in value.items():
        if not isinstance(claim, Claim):
            problems.append(c.wrong_item(claim, Claim, f"[{key!r}]"))
        elif claim.customer_id != key:
            problems.append(
                Problem(path=f"[{key!r}]", code="conflict", message=f"holds a claim on {claim.customer_id!r}")
            )
    return problems or None


@attrs.frozen(kw_only=True)
class Pool(c.Checked):
    """
    Claims on customers, one holder at most per customer at any time.

    A claim protects the customer for *protect_for* from the last time the
    holder worked it; after that it lapses back to the pool (at once: a
    lapsed claim is ignored; :meth:`expire` drops it from the value).
    *protect_for* is at most ten years (3,650 days).
    *max_claims* caps how many customers a rep may hold at once.  Every
    method returns a new pool; nothing is changed in place, and a refused
    call changes nothing.

    Use the customer id as the key, or for a lead not yet a customer, the
    lead id or whatever key the host uses to tell companies apart.

    >>> import datetime as dt
    >>> nine = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
    >>> pool = Pool(protect_for=dt.timedelta(days=3))
    >>> pool, claim = pool.claim("acme", "ann", now=nine)
    >>> pool.claim("acme", "bob", now=nine + dt.timedelta(hours=1))
    Traceback (most recent call last):
    ...
    funnelkit.errors.ClaimConflict: customer 'acme' is held by 'ann' until 2026-11-28T09:00:00+00:00; ...
    >>> pool.holder("acme", now=nine + dt.timedelta(days=3)) is None  # unworked: back in the pool
    True
    """

    protect_for: dt.timedelta = attrs.field(metadata=c.check(_positive_duration))
    max_claims: int | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.non_negative_int)), converter=c.to_optional_int
    )
    claims: Mapping[str, Claim] = attrs.field(
        factory=dict, converter=_claims, metadata=c.check(_claims_check)
    )

    def holder(self, customer_id: str, *, now: dt.datetime) -> Claim | None:
        """
        The claim protecting *customer_id* at *now*, or ``None``.  Cost: O(1).
        """
        now = instant(now)
        problem = c.identifier(customer_id)
        if problem is not None:
            raise c.at("customer_id", problem)
        claim = self.claims.get(customer_id)
        return claim if claim is not None and claim.active(now=now) else None

    def held_by(self, rep_id: str, *, now: dt.datetime) -> tuple[Claim, ...]:
        """
        The claims *rep_id* holds at *now*, oldest first.  Cost: O(n log n)
        for n claims in the pool.
        """
        now = instant(now)
        _ids(rep_id=rep_id)
        mine = [k for k in self.claims.values() if k.rep_id == rep_id and k.active(now=now)]
        return tuple(sorted(mine, key=lambda k: (k.claimed_at, k.customer_id)))

    def claim(
        self,
        customer_id: str,
        rep_id: str,
        *,
        now: dt.datetime,
        team: Team | None = None,
        owner: str | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> tuple[Pool, Claim]:
        """
        *rep_id* claims *customer_id*: a new pool and the claim.

        Refused with :class:`~funnelkit.errors.ClaimConflict` (naming the
        holder and the expiry) when another rep holds it, and with
        :class:`~funnelkit.errors.AssignmentError` when the rep already holds
        *max_claims* or, given *team*, is not an active rep of it.  Claiming
        what one already holds renews the protection.  Pass the customer's
        current *owner* (``Customer.owner``) when it is an account already:
        an account owned by another rep is refused too, so that the pool and
        the accounts never give one customer two owners.  A claim older than
        the customer's last record is refused: time only moves forward.
        Pass *aliases* (an id to the id of its account, such as
        ``DuplicateReport.accounts()`` of :mod:`funnelkit.duplicates`) to
        treat known duplicates as one account: a claim on ``acme-co`` is
        refused while another rep holds ``acme`` of the same account.
        Cost: O(1), or O(n) for n claims with *max_claims*, plus O(a) for
        a aliases.
        """
        now = instant(now)
        _ids(customer_id=customer_id, rep_id=rep_id)
        if owner is not None:
            _ids(owner=owner)
        if team is not None:
            c.require(team, Team, "a Team", "team")
            rep = team.rep(rep_id)
            if not rep.active:
                msg = f"rep {rep_id!r} is inactive and cannot claim {customer_id!r}"
                raise AssignmentError(msg)
        if owner is not None and owner != rep_id:
            raise ClaimConflict(key=customer_id, holder=owner, expires_at=None, requested_by=rep_id)
        self._in_order(customer_id, now)
        current = self.holder(customer_id, now=now)
        if current is not None and current.rep_id != rep_id:
            raise ClaimConflict(
                key=customer_id, holder=current.rep_id, expires_at=current.expires_at, requested_by=rep_id
            )
        if aliases is not None:
            self._alias_conflict(customer_id, rep_id, now, aliases)
        if current is None and self.max_claims is not None:
            held = len(self.held_by(rep_id, now=now))
            if held >= self.max_claims:
                msg = (
                    f"rep {rep_id!r} already holds {held} claims (max_claims={self.max_claims}); "
                    "release one first"
                )
                raise AssignmentError(msg)
        claimed_at = now if current is None else current.claimed_at
        new = Claim(
            customer_id=customer_id,
            rep_id=rep_id,
            claimed_at=claimed_at,
            worked_at=now,
            expires_at=self._expiry(now, "now"),
        )
        return self._with({customer_id: new}), new

    def worked(self, customer_id: str, rep_id: str, *, now: dt.datetime) -> Pool:
        """
        Record that the holder worked the customer at *now*: the protection
        runs again from *now*.  Only the holder can; a lapsed claim cannot be
        renewed this way (claim it again).  Refused when older than the
        customer's last record.  Cost: O(1).
        """
        now = instant(now)
        _ids(customer_id=customer_id, rep_id=rep_id)
        self._in_order(customer_id, now)
        current = self._held(customer_id, rep_id, now)
        if now <= current.worked_at:
            return self
        new = attrs.evolve(current, worked_at=now, expires_at=self._expiry(now, "now"))
        return self._with({customer_id: new})

    def worked_from(self, activities: Iterable[Activity], *, now: dt.datetime) -> Pool:
        """
        Renew every claim whose holder logged an activity with the customer
        while the claim protected it, up to *now*; other activities are
        ignored.  Activities may come in any order.  Cost: O(n log n) for n
        activities.
        """
        now = instant(now)
        c.require_iterable(activities, "Activity", "activities")
        acts = []
        for i, a in enumerate(activities):
            if not isinstance(a, Activity):
                c.require(a, Activity, "an Activity", f"activities[{i}]")
            acts.append(a)
        changed: dict[str, Claim] = {}
        for a in sorted(acts, key=lambda a: a.at):
            claim = changed.get(a.customer_id) or self.claims.get(a.customer_id)
            if claim is None or claim.rep_id != a.rep_id or a.at > now:
                continue
            if claim.worked_at < a.at < claim.expires_at:
                changed[a.customer_id] = attrs.evolve(
                    claim, worked_at=a.at, expires_at=self._expiry(a.at, "activities")
                )
        return self._with(changed) if changed else self

    def release(self, customer_id: str, rep_id: str, *, now: dt.datetime) -> Pool:
        """
        The holder gives the customer back to the pool.  Refused when older
        than the customer's last record (before it was claimed, say).
        Cost: O(n) for n claims (the new pool is a copy).
        """
        now = instant(now)
        _ids(customer_id=customer_id, rep_id=rep_id)
        self._in_order(customer_id, now)
        self._held(customer_id, rep_id, now)
        claims = dict(self.claims)
        del claims[customer_id]
        return attrs.evolve(self, claims=claims)

    def expire(self, *, now: dt.datetime) -> tuple[Pool, tuple[Claim, ...]]:
        """
        Drop the claims lapsed at *now*: the new pool and the lapsed claims
        (for the host to show "back in the pool" or to notify).  Cost: O(n)
        for n claims.
        """
        now = instant(now)
        lapsed = tuple(k for k in self.claims.values() if k.expires_at <= now)
        if not lapsed:
            return self, ()
        kept = {k: v for k, v in self.claims.items() if now < v.expires_at}
        return attrs.evolve(self, claims=kept), lapsed

    def _in_order(self, customer_id: str, now: dt.datetime) -> None:
        """
        Refuse *now* when it comes before the last record of *customer_id*.
        """
        latest = self.claims.get(customer_id)
        if latest is not None and now < latest.worked_at:
            what = "claimed" if latest.worked_at == latest.claimed_at else "last worked"
            msg = (
                f"{now.isoformat()} is before the last record of {customer_id!r} "
                f"({what} by {latest.rep_id!r} at {latest.worked_at.isoformat()}); keep time order"
            )
            raise ValidationError.single("now", msg, code="order")

    def _alias_conflict(self, customer_id: str, rep_id: str, now: dt.datetime, aliases: object) -> None:
        """
        Refuse *rep_id* when another rep holds another id of *customer_id*'s
        account in *aliases* (checked: a mapping of id to account id).
        """
        aliases = c.to_mapping(aliases, "aliases")
        if not isinstance(aliases, Mapping):
            raise c.at("aliases", c.wrong_type(aliases, "a mapping of id to account id"))
        problems = [
            p.prefixed(f"aliases[{c.show(k)}]")
            for k, v in aliases.items()
            if (p := c.identifier(k) or c.identifier(v)) is not None
        ]
        if problems:
            raise ValidationError(problems[:50])
        account = aliases.get(customer_id, customer_id)
        same = sorted({account, *(k for k, v in aliases.items() if v == account)} - {customer_id})
        for other in same:
            held = self.holder(other, now=now)
            if held is not None and held.rep_id != rep_id:
                raise ClaimConflict(
                    key=other, holder=held.rep_id, expires_at=held.expires_at, requested_by=rep_id
                )

    def _expiry(self, at: dt.datetime, path: str) -> dt.datetime:
        """
        When a claim worked at *at* lapses; an error at *path* past the range of datetime.
        """
        try:
            return at + self.protect_for
        except OverflowError:
            msg = f"{at.isoformat()} + protect_for ({self.protect_for}) is past the range of datetime"
            raise ValidationError.single(path, msg, code="range") from None

    def _held(self, customer_id: str, rep_id: str, now: dt.datetime) -> Claim:
        current = self.holder(customer_id, now=now)
        if current is None:
            msg = f"customer {customer_id!r} is not held by anyone at {now.isoformat()}; claim it first"
            raise AssignmentError(msg)
        if current.rep_id != rep_id:
            raise ClaimConflict(
                key=customer_id, holder=current.rep_id, expires_at=current.expires_at, requested_by=rep_id
            )
        return current

    def _with(self, changes: Mapping[str, Claim]) -> Pool:
        claims = dict(self.claims)
        claims.update(changes)
        return attrs.evolve(self, claims=claims)

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-safe dict (times ISO 8601, durations ISO 8601); :meth:`from_dict`
        reads it back.
        Cost: O(size of the value).
        """
        return cast("dict[str, Any]", documents.to_dict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pool:
        """
        Read a dict written by :meth:`to_dict`; one error listing every problem.
        Cost: O(size of data).
        """
        return cast("Pool", documents.from_dict(cls, data))


def _ids(**ids: object) -> None:
    problems = [p.prefixed(k) for k, v in ids.items() if (p := c.identifier(v)) is not None]
    if problems:
        raise ValidationError(problems)
