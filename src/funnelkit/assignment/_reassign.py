"""
Reassignment: when a rep leaves or is deactivated, their customers, open deals
and leads move to the remaining reps, with their history intact (customer
data belongs to the company, not the rep).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from typing import Literal, TypeVar

import attrs

from .. import _checks as c
from .._edits import OwnerChanged, Skip
from .._money import Money
from .._report import Report
from ..entities import Customer, Lead, LeadStatus, Opportunity
from ..errors import ValidationError
from ._args import batch_of
from ._assign import check_common, next_state, require_reps, route
from ._policies import Policy
from ._routing import _Context, _Item, customer_item, lead_item
from ._team import AssignmentState, Team

T = TypeVar("T", Customer, Opportunity, Lead)


@attrs.frozen(kw_only=True)
class Unmoved:
    """
    A record that could not be placed, left with its owner, and why.
    """

    kind: Literal["customer", "opportunity", "lead"]
    id: str
    reason: str
    skipped: tuple[Skip, ...] = ()


@attrs.frozen(kw_only=True, repr=False)
class Reassignment(Report):
    """
    The result of :func:`reassign`: every customer, opportunity and lead
    given, in the order given, with new owners where they moved; the list of
    moves; what could not be placed (each with its reason, left unchanged);
    and the routing state for the next call.

    ``to_records()`` and ``to_frame()`` give one row per move, then one per
    record left unmoved.

    Not mergeable, by nature: a plan of moves that share the receiving
    reps' room and the routing state, not a sum; reassign a book in one call.
    """

    customers: tuple[Customer, ...]
    opportunities: tuple[Opportunity, ...]
    leads: tuple[Lead, ...]
    moves: tuple[OwnerChanged, ...]
    unmoved: tuple[Unmoved, ...]
    state: AssignmentState

    def _summary(self) -> str:
        kinds = {k: sum(1 for m in self.moves if m.kind == k) for k in ("customer", "opportunity", "lead")}
        return (
            f"{len(self.moves):,} moved ({c.counted(kinds['customer'], 'customer')}, "
            f"{c.counted(kinds['opportunity'], 'opportunity', 'opportunities')}, "
            f"{c.counted(kinds['lead'], 'lead')}), {len(self.unmoved):,} unmoved"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per move, then one per record left unmoved (*moved* false,
        *why* the reason it stayed).
        """
        for m in self.moves:
            yield {
                "kind": m.kind,
                "id": m.id,
                "moved": True,
                "from_rep": m.from_rep,
                "to_rep": m.to_rep,
                "why": m.why,
                "skipped": "; ".join(f"{s.rep_id}: {s.reason}" for s in m.skipped),
                "version": m.version,
                "at": m.at,
                "actor": m.actor,
                "reason": m.reason,
            }
        for u in self.unmoved:
            yield {
                "kind": u.kind,
                "id": u.id,
                "moved": False,
                "from_rep": None,
                "to_rep": None,
                "why": u.reason,
                "skipped": "; ".join(f"{s.rep_id}: {s.reason}" for s in u.skipped),
                "version": None,
                "at": None,
                "actor": None,
                "reason": None,
            }


def _batch(values: object, cls: type[T], name: str) -> list[T]:
    return batch_of(values, cls, name, "each record once")


def reassign(
    rep_id: str,
    *,
    team: Team,
    policy: Policy,
    now: dt.datetime,
    actor: str,
    reason: str,
    customers: Iterable[Customer] = (),
    opportunities: Iterable[Opportunity] = (),
    leads: Iterable[Lead] = (),
    state: AssignmentState | None = None,
    rng: random.Random | int | None = None,
) -> Reassignment:
    """
    Move everything *rep_id* owns to the other reps of *team*, balanced by
    *policy*.

    - Each customer *rep_id* owns moves together with the rep's open deals on
      it, to one new owner (one account, one owner); a customer with *k* open
      deals counts *k* against the new owner's capacity (at least 1).
      Customers with more deals are placed first, which balances better.
    - An open deal of *rep_id* on a customer owned by someone else follows
      that customer's owner when they have room; otherwise it is routed.
    - Open leads (not converted or disqualified) are routed one by one.
    - Won and lost deals, and converted or disqualified leads, keep their
      owner: the credit for past work stays where it was earned.

    *rep_id* gets nothing, whether or not it is still in *team*.  A moved
    opportunity's *version* goes up by one.  What cannot be placed is listed
    in ``unmoved`` with the reason and left unchanged: nothing is lost.  A
    team with no active rep besides *rep_id* is refused.

    Cost: O((c + o + l) log m) for c customers, o opportunities, l leads and m reps.
    """
    problem = c.identifier(rep_id)
    if problem is not None:
        raise c.at("rep_id", problem)
    team, _, now, state, generator = check_common(team, policy, now, state, rng)
    checked = (("actor", c.identifier(actor)), ("reason", c.name(reason)))
    problems = [p.prefixed(path) for path, p in checked if p is not None]
    if problems:
        raise ValidationError(problems)
    all_customers = _batch(customers, Customer, "customers")
    all_opps = _batch(opportunities, Opportunity, "opportunities")
    all_leads = _batch(leads, Lead, "leads")
    require_reps(team, leaving=rep_id)

    ctx = _Context(team, state, now, generator, exclude=frozenset({rep_id}))
    mine = [cu for cu in all_customers if cu.owner == rep_id]
    deals, orphans = _open_deals(all_opps, rep_id, {cu.id for cu in mine})
    plan = _Plan(rep_id, team, policy, ctx)
    plan.place_customers(mine, deals)
    plan.place_orphans(orphans, {cu.id: cu for cu in all_customers})
    plan.place_leads(all_leads)

    moves: list[OwnerChanged] = []

    def move(
        kind: Literal["customer", "opportunity", "lead"], ident: str, version: int | None = None
    ) -> str | None:
        got = plan.new_owner.get((kind, ident))
        if got is None:
            return None
        moves.append(
            OwnerChanged(
                kind=kind,
                id=ident,
                from_rep=rep_id,
                to_rep=got[0],
                at=now,
                actor=actor,
                reason=reason,
                why=got[1],
                skipped=got[2],
                version=version,
            )
        )
        return got[0]

    out_customers = [_moved(cu, move("customer", cu.id)) for cu in all_customers]
    out_opps = []
    for o in all_opps:
        version = o.version + 1
        to = move("opportunity", o.id, version)
        out_opps.append(o if to is None else attrs.evolve(o, owner=to, version=version))
    out_leads = [_moved(lead, move("lead", lead.id)) for lead in all_leads]
    return Reassignment(
        customers=tuple(out_customers),
        opportunities=tuple(out_opps),
        leads=tuple(out_leads),
        moves=tuple(moves),
        unmoved=tuple(plan.unmoved),
        state=next_state(ctx, state),
    )


def _open_deals(
    opportunities: list[Opportunity], rep_id: str, mine: set[str]
) -> tuple[dict[str, list[Opportunity]], list[Opportunity]]:
    """
    The open deals of *rep_id*: by customer for the customers they own (*mine*), and the
    others (on customers someone else owns, or no one).
    """
    deals: dict[str, list[Opportunity]] = {}
    orphans: list[Opportunity] = []
    for o in opportunities:
        if o.owner == rep_id and o.is_open:
            if o.customer_id in mine:
                deals.setdefault(o.customer_id, []).append(o)
            else:
                orphans.append(o)
    return deals, orphans


class _Plan:
    """Where each record of the leaving rep goes: the new owners by (kind, id), and what stays."""

    def __init__(self, rep_id: str, team: Team, policy: Policy, ctx: _Context) -> None:
        self.rep_id = rep_id
        self.team = team
        self.policy = policy
        self.ctx = ctx
        # (kind, id) -> (rep, why, skipped)
        self.new_owner: dict[tuple[str, str], tuple[str, str, tuple[Skip, ...]]] = {}
        self.unmoved: list[Unmoved] = []

    def place_customers(self, mine: list[Customer], deals: dict[str, list[Opportunity]]) -> None:
        """Route each customer of the leaver with its open deals, those with more deals first."""
        order = sorted(range(len(mine)), key=lambda i: -len(deals.get(mine[i].id, ())))
        for i in order:
            cu = mine[i]
            bundle = deals.get(cu.id, [])
            decision = route(
                customer_item(cu, max(1, len(bundle))), self.policy, self.ctx, cu.purchasing_power
            )
            if decision.rep_id is None:
                self.unmoved.append(
                    Unmoved(kind="customer", id=cu.id, reason=decision.reason, skipped=decision.skipped)
                )
                self.unmoved.extend(
                    Unmoved(
                        kind="opportunity",
                        id=o.id,
                        reason=f"follows customer {cu.id!r}, which could not be placed",
                    )
                    for o in bundle
                )
                continue
            self.new_owner["customer", cu.id] = (decision.rep_id, decision.reason, decision.skipped)
            for o in bundle:
                self.new_owner["opportunity", o.id] = (decision.rep_id, f"follows customer {cu.id!r}", ())

    def place_orphans(self, orphans: list[Opportunity], by_customer: dict[str, Customer]) -> None:
        """
        Place the leaver's open deals on customers they do not own: all the deals of one customer go
        to one rep, the customer's owner when there is one (one account, one owner).
        """
        by_account: dict[str, list[Opportunity]] = {}
        for o in orphans:
            by_account.setdefault(o.customer_id, []).append(o)
        for cid, group in by_account.items():
            account = by_customer.get(cid)
            holder = None if account is None else account.owner
            item = _deal_item(group, account)
            team = self.team
            if holder is not None and holder != self.rep_id and holder in team and team.rep(holder).active:
                self._follow_owner(cid, group, item, holder)
                continue
            decision = route(item, self.policy, self.ctx, item.value)
            for o in group:
                if decision.rep_id is None:
                    self.unmoved.append(
                        Unmoved(kind="opportunity", id=o.id, reason=decision.reason, skipped=decision.skipped)
                    )
                else:
                    self.new_owner["opportunity", o.id] = (decision.rep_id, decision.reason, decision.skipped)

    def _follow_owner(self, cid: str, group: list[Opportunity], item: _Item, holder: str) -> None:
        """Give the deals on customer *cid* to its owner *holder* when they have room."""
        full = self.ctx.unavailable(holder, item.weight)
        if full is None:
            self.ctx.take(item, holder)
            for o in group:
                self.new_owner["opportunity", o.id] = (holder, f"follows the owner of customer {cid!r}", ())
        else:
            said = f"follows the owner of customer {cid!r}, {holder!r}, who is {full}"
            self.unmoved.extend(
                Unmoved(kind="opportunity", id=o.id, reason=said, skipped=(Skip(holder, full),))
                for o in group
            )

    def place_leads(self, leads: list[Lead]) -> None:
        """Route the leaver's open leads (not converted or disqualified) one by one."""
        for lead in leads:
            if lead.owner == self.rep_id and lead.status not in (
                LeadStatus.CONVERTED,
                LeadStatus.DISQUALIFIED,
            ):
                decision = route(lead_item(lead), self.policy, self.ctx, lead.estimated_value)
                if decision.rep_id is None:
                    self.unmoved.append(
                        Unmoved(
                            kind="lead", id=decision.lead_id, reason=decision.reason, skipped=decision.skipped
                        )
                    )
                else:
                    self.new_owner["lead", lead.id] = (decision.rep_id, decision.reason, decision.skipped)


def _moved(entity: T, to: str | None) -> T:
    return entity if to is None else attrs.evolve(entity, owner=to)


def _deal_item(group: list[Opportunity], customer: Customer | None) -> _Item:
    """
    The deals of one customer routed as one item: the customer's facts, the
    deals' total value when they share a currency, weight = how many deals.
    """
    amounts = [o.amount for o in group if o.amount is not None]
    value = None
    if amounts and all(a.currency == amounts[0].currency for a in amounts):
        value = Money.total(amounts, currency=amounts[0].currency)
    if customer is None:
        return _Item(group[0].customer_id, None, None, None, None, value, None, len(group))
    item = customer_item(customer, len(group))
    item.value = value
    return item
