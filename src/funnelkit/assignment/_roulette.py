"""
Timed roulette (轮盘机制, "roulette mechanism"): a quality lead is offered to
the reps in turn, each with an exclusive window to claim it.

funnelkit runs no timers.  An :class:`Offer` records when it was made, to whom
in what order, and who declined or claimed when; who holds it at any instant
is computed from that record and ``now``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any, Literal, cast

import attrs

from .. import _checks as c
from .. import documents
from .._edits import Skip
from .._money import Money
from .._time import canonical, instant
from ..entities import Lead, LeadStatus
from ..errors import AssignmentError, ClaimConflict, Problem, ValidationError
from ._args import bounded, is_str, window_duration
from ._assign import AssignmentResult, Decision, assign, check_common
from ._policies import Policy
from ._routing import _Context
from ._team import AssignmentState, Team

TurnOutcome = Literal["claimed", "declined", "lapsed", "holding", "waiting"]


@attrs.frozen
class Turn:
    """
    One rep's window on an offer: from *start* to *end* (exclusive), and how
    it ended: ``claimed``, ``declined``, ``lapsed``, ``holding`` (the window
    is open at the time asked) or ``waiting`` (not reached yet).
    """

    rep_id: str
    start: dt.datetime
    end: dt.datetime
    outcome: TurnOutcome


@attrs.frozen
class Declined(c.Checked):
    """
    A rep who passed on an offer, and when.
    """

    rep_id: str = attrs.field(metadata=c.check(c.identifier))
    at: dt.datetime = attrs.field(metadata=c.check(c.aware_datetime), converter=canonical)


@attrs.frozen(kw_only=True)
class OfferStatus:
    """
    An offer at one instant.

    *state* is ``open`` (``holder`` has it until ``until``), ``claimed``
    (``holder`` claimed it) or ``exhausted`` (every window passed, since
    ``until``; the lead falls back to the roulette's policy).
    """

    state: Literal["open", "claimed", "exhausted"]
    holder: str | None
    until: dt.datetime | None
    turns: tuple[Turn, ...]


def _positive(value: object) -> Problem | None:
    return window_duration(value, "each rep needs a window of some length")


def _ids(value: object) -> Any:
    return bounded(value, is_str)


def _skips(value: object) -> Any:
    return bounded(value, lambda x: isinstance(x, Skip))


def _declines(value: object) -> Any:
    return bounded(value, lambda x: isinstance(x, Declined))


_declined_check = c.items(c.instance_of(Declined, "a Declined"), tuple)
_skips_check = c.items(c.instance_of(Skip, "a Skip"), tuple)


@attrs.frozen(kw_only=True)
class Offer(c.Checked):
    """
    One lead offered round the reps of *queue*, in that order, each for
    *window* (at most ten years); *skipped* lists the reps passed over when
    it was made (full, inactive) with the reason.  A rep who declines ends
    their window early.  Declines and the claim are recorded in time order.

    >>> import datetime as dt
    >>> nine = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
    >>> offer = Offer(lead_id="l1", offered_at=nine, window=dt.timedelta(minutes=30), queue=("a", "b"))
    >>> offer.status(now=nine + dt.timedelta(minutes=40)).holder
    'b'
    >>> offer = offer.decline("b", now=nine + dt.timedelta(minutes=45))
    >>> offer.status(now=nine + dt.timedelta(minutes=45)).state
    'exhausted'
    """

    lead_id: str = attrs.field(metadata=c.check(c.identifier))
    offered_at: dt.datetime = attrs.field(metadata=c.check(c.aware_datetime), converter=canonical)
    window: dt.timedelta = attrs.field(metadata=c.check(_positive))
    queue: tuple[str, ...] = attrs.field(
        converter=_ids, metadata=c.check(c.items(c.identifier, tuple, unique=True))
    )
    skipped: tuple[Skip, ...] = attrs.field(default=(), converter=_skips, metadata=c.check(_skips_check))
    declined: tuple[Declined, ...] = attrs.field(
        default=(), converter=_declines, metadata=c.check(_declined_check)
    )
    claimed_by: str | None = attrs.field(default=None, metadata=c.check(c.optional(c.identifier)))
    claimed_at: dt.datetime | None = attrs.field(
        default=None,
        metadata=c.check(c.optional(c.aware_datetime)),
        converter=attrs.converters.optional(canonical),
    )

    def _relations(self) -> list[Problem]:
        problems = []
        if (self.claimed_by is None) != (self.claimed_at is None):
            problems.append(
                Problem(path="claimed_at", code="missing", message="claimed_by and claimed_at go together")
            )
        for i, d in enumerate(self.declined):
            if d.rep_id not in self.queue:
                problems.append(
                    Problem(
                        path=f"declined[{i}].rep_id",
                        code="reference",
                        message=f"{d.rep_id!r} is not in the queue",
                    )
                )
        if self.claimed_by is not None and self.claimed_by not in self.queue:
            problems.append(
                Problem(
                    path="claimed_by", code="reference", message=f"{self.claimed_by!r} is not in the queue"
                )
            )
        try:
            self.offered_at + self.window * max(1, len(self.queue))
        except OverflowError:
            msg = f"{len(self.queue)} windows of {self.window} from offered_at run past the range of datetime"
            problems.append(Problem(path="window", code="range", message=msg))
        return problems

    def turns(self, *, now: dt.datetime) -> tuple[Turn, ...]:
        """
        Every rep's window as it stands at *now*, in queue order.

        Only declines and a claim made at or before *now* count, so asking
        about a past instant gives the answer one would have had then.
        Cost: O(len(queue)), whatever else has been offered before.
        """
        now = self._since_offer(now)
        declined = {d.rep_id: d.at for d in self.declined if d.at <= now}
        claimed = self.claimed_by if self.claimed_at is not None and self.claimed_at <= now else None
        turns = []
        t = self.offered_at
        window = self.window
        reached = True
        for rep in self.queue:
            end = t + window
            if not reached:
                turns.append(Turn(rep, t, end, "waiting"))
                t = end
                continue
            if rep == claimed and self.claimed_at is not None:
                turns.append(Turn(rep, t, self.claimed_at, "claimed"))
                reached = False
                t = end
                continue
            at = declined.get(rep)
            if at is not None and at < end:
                turns.append(Turn(rep, t, max(at, t), "declined"))
                t = max(at, t)
                continue
            if now < end:
                turns.append(Turn(rep, t, end, "holding"))
                reached = False
                t = end
                continue
            turns.append(Turn(rep, t, end, "lapsed"))
            t = end
        return tuple(turns)

    def _since_offer(self, now: dt.datetime) -> dt.datetime:
        """
        *now* as a UTC instant, refused when it comes before the offer.
        """
        now = instant(now)
        if now < self.offered_at:
            made = self.offered_at.isoformat()
            msg = f"{now.isoformat()} is before the offer of lead {self.lead_id!r} was made ({made})"
            raise ValidationError.single("now", msg, code="order")
        return now

    def status(self, *, now: dt.datetime) -> OfferStatus:
        """
        Who holds the offer at *now*, until when; or that it was claimed, or
        that it went round every rep.  Cost: O(len(queue)).
        """
        turns = self.turns(now=now)
        for turn in turns:
            if turn.outcome == "claimed":
                return OfferStatus(state="claimed", holder=turn.rep_id, until=None, turns=turns)
            if turn.outcome == "holding":
                return OfferStatus(state="open", holder=turn.rep_id, until=turn.end, turns=turns)
        until = turns[-1].end if turns else self.offered_at
        return OfferStatus(state="exhausted", holder=None, until=until, turns=turns)

    def claim(
        self, rep_id: str, *, now: dt.datetime, team: Team | None = None, state: AssignmentState | None = None
    ) -> Offer:
        """
        *rep_id* takes the lead; only the rep whose window is open can.

        Give *team* (and *state*, for a windowed capacity) to refuse a rep
        who has become full since the offer was made: they should decline.
        Then record the claim with :meth:`decision` and
        :func:`~funnelkit.assignment.record`, so that it counts against the
        rep's capacity and in :func:`~funnelkit.assignment.fairness`.
        A claim older than the offer's last record is refused.  Cost:
        O(len(queue)), plus O(m + r) for m reps and r recent assignments
        with *team*.
        """
        self._turn_of(rep_id, now, "claim")
        at = instant(now)
        if team is not None or state is not None:
            c.require(team, Team, "a Team", "team")
            if state is not None:
                c.require(state, AssignmentState, "an AssignmentState", "state")
            assert team is not None  # noqa: S101 - checked just above
            if rep_id not in team:
                msg = f"rep {rep_id!r} is not in the team and cannot claim lead {self.lead_id!r}"
                raise AssignmentError(msg)
            full = _Context(team, state or AssignmentState(), at, None).unavailable(rep_id, 1)
            if full is not None:
                msg = f"rep {rep_id!r} is {full} and cannot claim lead {self.lead_id!r}; decline it instead"
                raise AssignmentError(msg)
        return attrs.evolve(self, claimed_by=rep_id, claimed_at=at)

    def decision(self, *, value: Money | None = None) -> Decision:
        """
        The claim as a :class:`~funnelkit.assignment.Decision`, dated when it
        was claimed, for :func:`~funnelkit.assignment.record` and
        :func:`~funnelkit.assignment.fairness`; *value* is the lead's value.
        Cost: O(len(queue)).
        """
        if self.claimed_by is None or self.claimed_at is None:
            msg = f"the offer of lead {self.lead_id!r} has not been claimed"
            raise AssignmentError(msg)
        turn = self.queue.index(self.claimed_by) + 1
        return Decision(
            lead_id=self.lead_id,
            rep_id=self.claimed_by,
            by="roulette",
            reason=f"claimed in the roulette, turn {turn} of {len(self.queue)}",
            at=self.claimed_at,
            value=value,
            skipped=self.skipped,
        )

    def decline(self, rep_id: str, *, now: dt.datetime) -> Offer:
        """
        *rep_id* passes: the next rep's window starts at once.  A decline
        older than the offer's last record is refused.  Cost: O(len(queue)).
        """
        self._turn_of(rep_id, now, "decline")
        return attrs.evolve(self, declined=(*self.declined, Declined(rep_id, instant(now))))

    def _turn_of(self, rep_id: str, now: dt.datetime, verb: str) -> OfferStatus:
        problem = c.identifier(rep_id)
        if problem is not None:
            raise c.at("rep_id", problem)
        now = self._since_offer(now)
        records = [(d.at, f"declined by {d.rep_id!r}") for d in self.declined]
        if self.claimed_at is not None:
            records.append((self.claimed_at, f"claimed by {self.claimed_by!r}"))
        if records:
            latest, what = max(records, key=lambda r: r[0])
            if now < latest:
                msg = (
                    f"{now.isoformat()} is before the last record of the offer of lead {self.lead_id!r} "
                    f"({what} at {latest.isoformat()}); record in time order"
                )
                raise ValidationError.single("now", msg, code="order")
        status = self.status(now=now)
        if status.state == "claimed":
            raise ClaimConflict(
                key=self.lead_id, holder=str(status.holder), expires_at=None, requested_by=rep_id, what="lead"
            )
        if status.state == "exhausted":
            msg = (
                f"the offer of lead {self.lead_id!r} went round every rep "
                f"and lapsed at {_iso(status.until)}; "
                f"{rep_id!r} cannot {verb} it (it falls back to the roulette's policy)"
            )
            raise AssignmentError(msg)
        if status.holder != rep_id:
            skipped = {s.rep_id: s.reason for s in self.skipped}
            if rep_id in skipped:
                why = skipped[rep_id]
                msg = f"rep {rep_id!r} was skipped for lead {self.lead_id!r} ({why}); cannot {verb} it"
                raise AssignmentError(msg)
            if rep_id not in self.queue:
                msg = f"rep {rep_id!r} is not in the offer of lead {self.lead_id!r}"
                raise AssignmentError(msg)
            raise ClaimConflict(
                key=self.lead_id,
                holder=str(status.holder),
                expires_at=status.until,
                requested_by=rep_id,
                what="lead",
            )
        return status

    def outcomes(self, *, now: dt.datetime) -> dict[str, str]:
        """
        Each rep's part in this offer at *now*: the turn outcome, or
        ``skipped`` for the reps passed over when it was made.  Cost:
        O(len(queue) + len(skipped)).
        """
        out = {s.rep_id: "skipped" for s in self.skipped}
        out.update((t.rep_id, t.outcome) for t in self.turns(now=now))
        return out

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-safe dict (times ISO 8601, the window an ISO duration);
        :meth:`from_dict` reads it back.
        Cost: O(size of the value).
        """
        return cast("dict[str, Any]", documents.to_dict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Offer:
        """
        Read a dict written by :meth:`to_dict`; one error listing every problem.
        Cost: O(size of data).
        """
        return cast("Offer", documents.from_dict(cls, data))


def _order_check(value: object) -> c.Result:
    if isinstance(value, tuple) and not value:
        return c.bad("empty", "() is empty; give at least one rep id")
    return c.items(c.identifier, tuple, unique=True)(value)


@attrs.frozen(kw_only=True)
class Roulette(c.Checked):
    """
    The roulette's set-up and where it stands: the reps in turn *order*, each
    rep's exclusive *window*, the policy *then* for a lead that went round
    every rep unclaimed, and *start*, the position in *order* of the rep who
    sees the next lead first.  Each offer starts one rep further on, so every
    rep gets to be first in turn.
    """

    order: tuple[str, ...] = attrs.field(converter=_ids, metadata=c.check(_order_check))
    window: dt.timedelta = attrs.field(metadata=c.check(_positive))
    then: Policy | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instance_of(Policy, "a Policy")))
    )
    start: int = attrs.field(default=0, metadata=c.check(c.non_negative_int), converter=c.to_int)

    def _relations(self) -> list[Problem]:
        if self.start >= len(self.order):
            return [
                Problem(
                    path="start",
                    code="range",
                    message=f"{c.show(self.start)} is not a position in order (0 to {len(self.order) - 1})",
                )
            ]
        return []

    def offer(
        self, lead: Lead, *, team: Team, now: dt.datetime, state: AssignmentState | None = None
    ) -> tuple[Roulette, Offer]:
        """
        Offer *lead* round the reps, starting at :attr:`start`; the roulette
        moved on by one, and the offer.

        Reps who are inactive, full (by the team's window; *state* gives the
        recent assignments for a windowed capacity) or not in *team* are
        skipped, with the reason, and get no window.  Cost: O(m + r) for m
        reps and r recent assignments.
        """
        c.require(lead, Lead, "a Lead", "lead")
        c.require(team, Team, "a Team", "team")
        if lead.owner is not None:
            msg = f"lead {lead.id!r} is already owned by {lead.owner!r}; only an unowned lead is offered"
            raise AssignmentError(msg)
        if lead.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
            msg = f"lead {lead.id!r} is {lead.status.value}; only an open lead is offered"
            raise AssignmentError(msg)
        now = instant(now)
        try:
            now + self.window * len(self.order)
        except OverflowError:
            msg = f"{now.isoformat()} leaves no room for {len(self.order)} windows of {self.window}"
            raise ValidationError.single("now", msg, code="range") from None
        if state is not None:
            c.require(state, AssignmentState, "an AssignmentState", "state")
        ctx = _Context(team, state or AssignmentState(), now, None)
        n = len(self.order)
        queue = []
        skipped = []
        for k in range(n):
            rep = self.order[(self.start + k) % n]
            if rep not in team:
                skipped.append(Skip(rep, "not in the team"))
                continue
            reason = ctx.unavailable(rep, 1)
            if reason is None:
                queue.append(rep)
            else:
                skipped.append(Skip(rep, reason))
        offer = Offer(lead_id=lead.id, offered_at=now, window=self.window, queue=queue, skipped=skipped)
        return attrs.evolve(self, start=(self.start + 1) % n), offer

    def fall_back(
        self,
        offer: Offer,
        lead: Lead,
        *,
        team: Team,
        now: dt.datetime,
        state: AssignmentState | None = None,
        rng: random.Random | int | None = None,
    ) -> AssignmentResult:
        """
        Route a lead whose offer went round every rep with :attr:`then`.

        Without a fallback policy, the lead comes back unassigned with the
        reason.  Refused while the offer is still open or was claimed.
        Cost: that of :func:`~funnelkit.assignment.assign` for one lead.
        """
        c.require(offer, Offer, "an Offer", "offer")
        c.require(lead, Lead, "a Lead", "lead")
        if lead.id != offer.lead_id:
            msg = f"{lead.id!r} is not the lead of this offer ({offer.lead_id!r})"
            raise ValidationError.single("lead.id", msg, code="conflict")
        c.require(team, Team, "a Team", "team")
        status = offer.status(now=now)
        if status.state != "exhausted":
            msg = f"the offer of lead {lead.id!r} is {status.state} ({status.holder!r}); no fallback yet"
            raise AssignmentError(msg)
        if self.then is None:
            team, _, at, state, _ = check_common(team, None, now, state, rng, need_policy=False)
            decision = Decision(
                lead_id=lead.id,
                rep_id=None,
                by="roulette",
                reason=f"went round every rep unclaimed by {_iso(status.until)}; "
                "the roulette has no fallback policy",
                at=at,
                value=lead.estimated_value,
            )
            return AssignmentResult(decisions=(decision,), state=state)
        return assign([lead], team=team, policy=self.then, now=now, state=state, rng=rng)

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-safe dict, the fallback policy included; :meth:`from_dict`
        reads it back.
        Cost: O(size of the value).
        """
        return cast("dict[str, Any]", documents.to_dict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Roulette:
        """
        Read a dict written by :meth:`to_dict`; one error listing every problem.
        Cost: O(size of data).
        """
        return cast("Roulette", documents.from_dict(cls, data))


def _iso(at: dt.datetime | None) -> str:
    return "?" if at is None else at.isoformat()
