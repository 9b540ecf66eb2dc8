"""
assign(): route a batch of leads with a policy, and the decisions it returns.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, cast

import attrs

from .. import _checks as c
from .. import documents
from .._edits import Skip
from .._money import Money
from .._report import Report, money_cells
from .._time import canonical
from ..entities import Lead, LeadStatus
from ..errors import MAX_LISTED, Problem, ValidationError
from ._args import batch_of, bounded, items_of
from ._policies import Policy
from ._routing import _Context, _Item, lead_item
from ._team import Assigned, AssignmentState, Team


def _skips(value: Iterable[Skip]) -> tuple[Skip, ...]:
    return bounded(value, lambda x: isinstance(x, Skip))  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True)
class Decision(c.Checked):
    """
    Where one lead went and why, or why it went nowhere.

    *rep_id* is ``None`` for a lead that could not be placed; *reason* then
    says why.  *by* names the policy that decided, *skipped* lists the reps
    passed over (inactive, full) with their reason, *value* is the lead's
    estimated value for fairness reports.
    """

    #: Its tag in documents (an event log mixes kinds of events).
    type_name: ClassVar[str] = "decision"

    lead_id: str = attrs.field(metadata=c.check(c.identifier))
    rep_id: str | None = attrs.field(metadata=c.check(c.optional(c.identifier)))
    by: str | None = attrs.field(metadata=c.check(c.optional(c.name)))
    reason: str = attrs.field(metadata=c.check(c.name))
    at: dt.datetime = attrs.field(metadata=c.check(c.aware_datetime), converter=canonical)
    value: Money | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instance_of(Money, "Money")))
    )
    skipped: tuple[Skip, ...] = attrs.field(
        default=(),
        converter=_skips,
        metadata=c.check(c.items(c.instance_of(Skip, "a Skip"), tuple)),
    )

    @property
    def assigned(self) -> bool:
        return self.rep_id is not None

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-safe dict; :meth:`from_dict` reads it back (a host stores
        decisions for :func:`~funnelkit.assignment.fairness` and audits).
        Cost: O(size of the value).
        """
        return cast("dict[str, Any]", documents.to_dict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """
        Read a dict written by :meth:`to_dict`; one error listing every problem.
        Cost: O(size of data).
        """
        return cast("Decision", documents.from_dict(cls, data))


@attrs.frozen(kw_only=True, repr=False)
class AssignmentResult(Report):
    """
    The decisions of one :func:`assign` call, in the order of the leads, and
    the state to pass to the next call.

    Every lead given has exactly one decision.  ``to_records()`` and
    ``to_frame()`` give one row per decision: the lead's value split into
    amount and currency, the reps skipped joined into one string.

    Not mergeable, by nature: decisions, not sums.  Each decision moves the
    routing state the next one reads (loads, the round-robin cursor), so
    leads routed apart would not get the decisions of one run; route in
    order, passing *state* on.  Their fairness merges
    (:meth:`~funnelkit.assignment.FairnessReport.merge`).
    """

    decisions: tuple[Decision, ...]
    state: AssignmentState

    def __len__(self) -> int:
        return len(self.decisions)

    def __iter__(self) -> Iterator[Decision]:
        return iter(self.decisions)

    @property
    def assigned(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.rep_id is not None)

    @property
    def unassigned(self) -> tuple[Decision, ...]:
        """
        The leads that went nowhere, each with its reason.
        """
        return tuple(d for d in self.decisions if d.rep_id is None)

    @property
    def owners(self) -> Mapping[str, str]:
        """
        Lead id to rep id, for the leads placed.
        """
        return {d.lead_id: d.rep_id for d in self.decisions if d.rep_id is not None}

    def counts(self) -> dict[str, int]:
        """
        How many leads each rep got.  Cost: O(n) for n decisions.
        """
        return dict(Counter(d.rep_id for d in self.decisions if d.rep_id is not None))

    def apply(self, leads: Iterable[Lead]) -> tuple[Lead, ...]:
        """
        *leads* with the owners decided here set; the others unchanged.  Cost: O(n) for n leads.
        """
        c.require_iterable(leads, "Lead", "leads")
        owners = self.owners
        out = []
        for i, lead in enumerate(leads):
            c.require(lead, Lead, "a Lead", f"leads[{i}]")
            rep = owners.get(lead.id)
            out.append(lead if rep is None else attrs.evolve(lead, owner=rep))
        return tuple(out)

    def _summary(self) -> str:
        placed = sum(1 for d in self.decisions if d.rep_id is not None)
        reps = len({d.rep_id for d in self.decisions if d.rep_id is not None})
        unplaced = len(self.decisions) - placed
        return (
            f"{c.counted(len(self.decisions), 'lead')}: {placed:,} assigned to {c.counted(reps, 'rep')}, "
            f"{unplaced:,} unassigned"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per decision, in the order of the leads.
        """
        for d in self.decisions:
            yield {
                "lead_id": d.lead_id,
                "rep_id": d.rep_id,
                "by": d.by,
                "reason": d.reason,
                "at": d.at,
                **money_cells("value", d.value),
                "skipped": "; ".join(f"{s.rep_id}: {s.reason}" for s in d.skipped),
            }


def check_common(
    team: object, policy: object, now: object, state: object, rng: object, *, need_policy: bool = True
) -> tuple[Team, Policy | None, dt.datetime, AssignmentState, random.Random | None]:
    """
    The arguments every routing call shares, checked; one error for all.
    Without *need_policy*, a *policy* of ``None`` passes (a call that routes nothing).
    """
    rng = c.plain(rng)  # a numpy int seed
    if state is None:
        state = AssignmentState()
    problems = _type_problems(team, policy, now, state, rng, need_policy=need_policy)
    if not problems and isinstance(state, AssignmentState) and state.recent:
        problems.extend(_order_problems(cast("dt.datetime", now), state))
    if isinstance(team, Team) and isinstance(policy, Policy):
        problems.extend(_policy_problems(team, policy, rng))
    if problems:
        raise ValidationError(problems)
    generator = random.Random(rng) if isinstance(rng, int) else rng  # noqa: S311 - seeded routing, not crypto
    return (
        cast("Team", team),
        cast("Policy | None", policy),
        canonical(cast("dt.datetime", now)),
        cast("AssignmentState", state),
        cast("random.Random | None", generator),
    )


def _type_problems(
    team: object, policy: object, now: object, state: object, rng: object, *, need_policy: bool
) -> list[Problem]:
    """What is wrong with each shared routing argument on its own."""
    problems: list[Problem] = []
    if not isinstance(team, Team):
        problems.append(c.wrong_type(team, "a Team").prefixed("team"))
    if (need_policy or policy is not None) and not isinstance(policy, Policy):
        problems.append(c.wrong_type(policy, "a Policy").prefixed("policy"))
    problem = c.aware_datetime(now)
    if problem is not None:
        problems.append(problem.prefixed("now"))
    if not isinstance(state, AssignmentState):
        problems.append(c.wrong_type(state, "an AssignmentState").prefixed("state"))
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, int | random.Random)):
        problems.append(c.wrong_type(rng, "an int seed or a random.Random").prefixed("rng"))
    return problems


def _order_problems(now: dt.datetime, state: AssignmentState) -> list[Problem]:
    """A *now* before the last assignment *state* recorded (routing goes in time order)."""
    last = max(a.at for a in state.recent)
    if canonical(now) >= last:
        return []
    msg = (
        f"{canonical(now).isoformat()} is before the last recorded "
        f"assignment ({last.isoformat()}); route in time order"
    )
    return [Problem(path="now", code="order", message=msg)]


def _policy_problems(team: Team, policy: Policy, rng: object) -> list[Problem]:
    """What *policy* finds wrong with *team*, and a missing seed for a policy that draws at random."""
    problems = [p.prefixed("policy") for p in policy.problems(team)]
    if rng is None and policy._needs_rng():
        problems.append(
            Problem(
                path="rng",
                code="missing",
                message="None; this policy draws at random, so pass a seed or a random.Random",
            )
        )
    return problems


def require_reps(team: Team, *, leaving: str | None = None) -> None:
    """
    Refuse a *team* with no rep to route to: no reps at all, or none active
    (besides *leaving*, the rep whose book is being moved).
    """
    if not team.reps:
        msg = "the team has no reps; add at least one SalesRep to route to"
        raise ValidationError.single("team", msg, code="empty")
    if any(r.active and r.id != leaving for r in team.reps):
        return
    names = [r.id for r in team.reps if r.id != leaving]
    listed = ", ".join(repr(n) for n in names[:10])
    if len(names) > 10:
        listed += f" and {len(names) - 10} more"
    if not names:
        msg = f"the team has no rep besides {leaving!r}, who is leaving; add a SalesRep to route to"
    elif leaving is None:
        msg = f"no rep of the team is active (inactive: {listed}); activate one to route to"
    else:
        msg = (
            f"no rep of the team besides {leaving!r} is active (inactive: {listed}); activate one to route to"
        )
    raise ValidationError.single("team", msg, code="state")


def next_state(ctx: _Context, state: AssignmentState) -> AssignmentState:
    """
    The state after a call: its pointers, and the assignments that still
    count in the team's window.
    """
    start = ctx.window_start
    if start is None:
        recent: tuple[Assigned, ...] = ()
    else:
        kept = [a for a in state.recent if a.at >= start]
        now = ctx.now
        kept.extend(_assigned(item, rep, now) for item, rep in ctx.taken)
        recent = tuple(kept)
    return AssignmentState(pointers=ctx.pointers, recent=recent)


def _assigned(lead_id: str, rep_id: str, at: dt.datetime) -> Assigned:
    new = object.__new__(Assigned)
    object.__setattr__(new, "lead_id", lead_id)
    object.__setattr__(new, "rep_id", rep_id)
    object.__setattr__(new, "at", at)
    return new


_CLOSED = {
    LeadStatus.CONVERTED: "the lead is already converted",
    LeadStatus.DISQUALIFIED: "the lead is disqualified",
}


def assign(
    leads: Iterable[Lead],
    *,
    team: Team,
    policy: Policy,
    now: dt.datetime,
    state: AssignmentState | None = None,
    rng: random.Random | int | None = None,
    held: Mapping[str, str] | None = None,
) -> AssignmentResult:
    """
    Route *leads* to the reps of *team* with *policy*; one decision per lead.

    *held* maps a lead id to the rep who already holds its company (a known
    duplicate: :meth:`funnelkit.duplicates.DuplicateReport.holders`); such a
    lead goes to that rep (``by="account"``) whatever their load, so one
    company never has two owners, unless the rep is not in *team* or is
    inactive, when the policy routes it as any other.

    Deterministic: the same leads, team, policy, state, *now* and seed give
    the same decisions.  A lead that cannot be placed (already owned,
    converted, every rep full) comes back with the reason, never dropped.
    Pass the returned ``state`` to the next call.  A team with no active
    rep is refused.  Cost: O(n log m) for n leads and m reps (a weighted
    random draw or a round robin skipping full reps may take O(m) per lead).

    >>> import datetime as dt
    >>> from funnelkit import Lead, SalesRep
    >>> from funnelkit.assignment import RoundRobin, Team
    >>> now = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
    >>> team = Team(reps=[SalesRep(id="ann", name="Ann"), SalesRep(id="bob", name="Bob", capacity=1)],
    ...             load={"bob": 1})
    >>> leads = [Lead(id=f"l{i}", source="web", created_at=now) for i in range(2)]
    >>> result = assign(leads, team=team, policy=RoundRobin(), now=now)
    >>> for d in result:
    ...     print(d.lead_id, d.rep_id, "|", d.reason)
    l0 ann | round robin: first turn
    l1 ann | round robin: next after 'ann'
    >>> result.decisions[1].skipped
    (Skip(rep_id='bob', reason='full: 1 of 1 open'),)
    """
    team, _, now, state, generator = check_common(team, policy, now, state, rng)
    holders = _held(held)
    batch = batch_of(leads, Lead, "leads", "each lead is routed once")
    require_reps(team)
    ctx = _Context(team, state, now, generator)
    decisions = [_decide(lead, policy, ctx, holders) for lead in batch]
    return AssignmentResult(decisions=tuple(decisions), state=next_state(ctx, state))


def _held(held: object) -> Mapping[str, str]:
    """*held* checked: a mapping of lead id to rep id (a pandas Series read through), or empty."""
    if held is None:
        return {}
    held = c.to_mapping(held, "held")
    if not isinstance(held, Mapping):
        raise c.at("held", c.wrong_type(held, "a mapping of lead id to the rep holding its company"))
    problems = []
    for k, v in held.items():
        problem = c.identifier(k) or c.identifier(v)
        if problem is not None:
            problems.append(problem.prefixed(f"held[{c.show(k)}]"))
            if len(problems) >= MAX_LISTED:
                break
    if problems:
        raise ValidationError(problems)
    return held


def _decide(lead: Lead, policy: Policy, ctx: _Context, held: Mapping[str, str]) -> Decision:
    holder = held.get(lead.id) if held else None
    free = lead.owner is None and lead.status not in _CLOSED
    if holder is not None and free and holder in ctx.index and holder not in ctx.inactive:
        ctx.take(lead_item(lead), holder)
        why = f"its company is held by {holder!r} (a known duplicate): one company, one owner"
        return Decision(
            lead_id=lead.id, rep_id=holder, by="account", reason=why, at=ctx.now, value=lead.estimated_value
        )
    if lead.owner is not None:
        return Decision(
            lead_id=lead.id,
            rep_id=None,
            by=None,
            reason=f"already owned by {lead.owner!r}; use reassign() to move it",
            at=ctx.now,
            value=lead.estimated_value,
        )
    closed = _CLOSED.get(lead.status)
    if closed is not None:
        return Decision(
            lead_id=lead.id, rep_id=None, by=None, reason=closed, at=ctx.now, value=lead.estimated_value
        )
    return route(lead_item(lead), policy, ctx, lead.estimated_value)


def route(item: _Item, policy: Policy, ctx: _Context, value: Money | None) -> Decision:
    skips: list[Skip] = []
    rep, why, by = policy._choose(item, ctx, skips)
    return _decision(item.id, rep, by, why, ctx.now, value, tuple(skips))


_D_SLOTS = tuple(
    Decision.__dict__[f].__set__ for f in ("lead_id", "rep_id", "by", "reason", "at", "value", "skipped")
)


def _decision(*values: Any) -> Decision:
    """
    A Decision from values routing vouches for, in field order, without
    re-checking them (one per lead on the hot path).
    """
    new = object.__new__(Decision)
    for set_slot, value in zip(_D_SLOTS, values, strict=True):
        set_slot(new, value)
    return new


def record(state: AssignmentState, decisions: Iterable[Decision]) -> AssignmentState:
    """
    *state* with the assigned *decisions* added to its recent assignments,
    for decisions made outside :func:`assign` (roulette claims, a manager's
    hand) that must count against a windowed capacity.  The next routing call
    drops what falls out of the team's window.  Decisions are recorded in
    time order: one older than the last recorded assignment is refused.
    Cost: O(n) for n decisions.
    """
    c.require(state, AssignmentState, "an AssignmentState", "state")
    added = []
    last = max((a.at for a in state.recent), default=None)
    for i, d in enumerate(items_of(decisions, Decision, "decisions")):
        if d.rep_id is None:
            continue
        if last is not None and d.at < last:
            msg = (
                f"{d.at.isoformat()} is before the last recorded assignment ({last.isoformat()}); "
                "record in time order"
            )
            raise ValidationError.single(f"decisions[{i}].at", msg, code="order")
        last = d.at
        added.append(Assigned(lead_id=d.lead_id, rep_id=d.rep_id, at=d.at))
    return AssignmentState(pointers=state.pointers, recent=(*state.recent, *added))
