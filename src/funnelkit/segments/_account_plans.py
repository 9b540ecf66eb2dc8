"""
Account plans for the most valuable customers (source 000: a customer
business plan for strategic accounts; source 003: the key persons by role).

For each account of a tier (A by default): how well its key-person map is
covered (the decision maker, the recommender and the facilitator: found or
not, and where each stands), the gaps left open, and a plain next step for
each, with the accounts that miss most listed first.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

import attrs

from .. import _checks as c
from .._money import Money
from .._report import Report
from .._time import instant
from ..entities import Activity, Customer, KeyPerson, Opportunity, Role, Stance, Tier
from ..errors import Problem, ValidationError
from ._abc import AbcResult
from ._args import each_of, member, not_iterable
from ._at_risk import open_pipelines, unique_customers
from ._retention import _same, _sums, _tier_map

_DAY = dt.timedelta(days=1)
#: The most days *contact_days* may be (about 270 years).
MAX_DAYS = 100_000
#: The roles of the key-person map, in the order an account plan lists them.
MAP_ROLES: tuple[Role, ...] = (Role.DECISION_MAKER, Role.RECOMMENDER, Role.FACILITATOR)
_WORDS = {
    Role.DECISION_MAKER: "decision maker",
    Role.RECOMMENDER: "recommender",
    Role.FACILITATOR: "facilitator",
}


class GapKind(enum.StrEnum):
    """
    What an account plan can find missing, most serious first.
    """

    #: Nobody with the right to decide (决策权) is known.
    NO_DECISION_MAKER = "no_decision_maker"
    #: A key person of the map opposes us.
    OPPOSED = "opposed"
    #: Nobody with the right to recommend (建议权) is known.
    NO_RECOMMENDER = "no_recommender"
    #: No facilitator (润滑剂: an assistant or secretary who eases access) is known.
    NO_FACILITATOR = "no_facilitator"
    #: Where a key person of the map stands is not known.
    STANCE_UNKNOWN = "stance_unknown"
    #: No activity with the decision maker for *contact_days* or more (or never).
    DECISION_MAKER_NOT_CONTACTED = "decision_maker_not_contacted"
    #: No deal open with the account.
    NO_OPEN_DEAL = "no_open_deal"


_SEVERITY = {kind: i for i, kind in enumerate(GapKind)}
_MISSING = {
    Role.DECISION_MAKER: GapKind.NO_DECISION_MAKER,
    Role.RECOMMENDER: GapKind.NO_RECOMMENDER,
    Role.FACILITATOR: GapKind.NO_FACILITATOR,
}


@attrs.frozen(kw_only=True)
class RoleCover:
    """
    One role of an account's key-person map: the key persons who hold it
    (ids, names, and each one's stance, in id order); none when the role is
    not found yet.
    """

    role: Role
    key_person_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    stances: tuple[Stance, ...] = ()

    @property
    def found(self) -> bool:
        """Whether somebody holds the role."""
        return bool(self.key_person_ids)


@attrs.frozen(kw_only=True)
class PlanGap:
    """
    One gap of an account plan: its kind, the key person it is about (when
    it is about one), and the next step that closes it.
    """

    kind: GapKind
    next_step: str
    key_person_id: str | None = None


@attrs.frozen(kw_only=True)
class AccountPlan:
    """
    One account's plan: who covers each role of the key-person map, the
    last contact with its decision maker, its open deals at *now* (value
    per currency), and the gaps with their next steps, most serious first.
    The next steps are the owner's to take.
    """

    customer_id: str
    name: str
    owner: str | None
    tier: Tier | None
    decision_maker: RoleCover
    recommender: RoleCover
    facilitator: RoleCover
    last_decision_maker_contact: dt.datetime | None
    open_deals: int
    open_pipeline: tuple[Money, ...]
    gaps: tuple[PlanGap, ...]

    @property
    def coverage(self) -> tuple[RoleCover, ...]:
        """The three roles of the map, decision maker first."""
        return (self.decision_maker, self.recommender, self.facilitator)


def _plan_key(plan: AccountPlan) -> tuple[object, ...]:
    """Most gaps first, then the most serious first gap, then customer id."""
    first = _SEVERITY[plan.gaps[0].kind] if plan.gaps else len(_SEVERITY)
    return (-len(plan.gaps), first, plan.customer_id)


def _people(cover: RoleCover) -> str:
    return ", ".join(f"{n} ({s.value})" for n, s in zip(cover.names, cover.stances, strict=True))


@attrs.frozen(kw_only=True, repr=False)
class AccountPlans(Report):
    """
    The account plans of one tier's customers, from :func:`account_plans`:
    one :class:`AccountPlan` per account, listed by what is missing (most
    gaps first, then the most serious first gap, then customer id).

    ``to_records()`` and ``to_frame()`` give one row per account: who holds
    each role and their stances, the gaps and the next steps (joined with
    ``"; "``), the open deals and the last contact with the decision maker.

    Each plan is one account's own, so :meth:`merge` joins the plans of
    partitions split by customer (each customer with its key persons,
    activities and deals in one part) into exactly the plans of the whole.
    """

    plans: tuple[AccountPlan, ...]
    now: dt.datetime
    tier: Tier
    contact_days: int

    def __len__(self) -> int:
        return len(self.plans)

    def __iter__(self) -> Iterator[AccountPlan]:
        return iter(self.plans)

    def merge(self, other: AccountPlans) -> AccountPlans:
        """
        The plans of the accounts of both, listed by what is missing.  Plans
        made as of another now, for another tier or contact limit are
        refused by name (``other.now`` ...; code ``conflict``).  An account
        planned alike in both counts once; planned otherwise in each, it is
        refused (``other.plans``).
        Cost: O(p log p) for p plans.
        """
        c.require(other, AccountPlans, "an AccountPlans", "other")
        _same(self, other, ("now", "tier", "contact_days"), "account plans")
        mine = {p.customer_id: p for p in self.plans}
        twice = next((p.customer_id for p in other.plans if mine.get(p.customer_id, p) != p), None)
        if twice is not None:
            msg = f"account {twice!r} is planned otherwise in each; merge plans made of the same data"
            raise ValidationError.single("other.plans", msg, code="conflict")
        plans = {**mine, **{p.customer_id: p for p in other.plans}}
        return attrs.evolve(self, plans=tuple(sorted(plans.values(), key=_plan_key)))

    def _summary(self) -> str:
        gaps = sum(len(p.gaps) for p in self.plans)
        full = sum(1 for p in self.plans if all(cover.found for cover in p.coverage))
        return (
            f"{c.counted(len(self.plans), f'{self.tier.value} account')} as of {self.now:%Y-%m-%d %H:%M}: "
            f"{full:,} with the key-person map complete, {c.counted(gaps, 'gap')} open"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per account: the map, the gaps and next steps, the open deals.
        """
        currencies = sorted({m.currency for p in self.plans for m in p.open_pipeline})
        rows: list[dict[str, object]] = []
        for p in self.plans:
            amounts = {m.currency: m.amount for m in p.open_pipeline}
            rows.append(
                {
                    "customer_id": p.customer_id,
                    "name": p.name,
                    "owner": p.owner,
                    "tier": None if p.tier is None else p.tier.value,
                    **{_WORDS[cover.role].replace(" ", "_"): _people(cover) or None for cover in p.coverage},
                    "last_decision_maker_contact": p.last_decision_maker_contact,
                    "open_deals": p.open_deals,
                    **{f"open_pipeline_{cur}": amounts.get(cur, Decimal(0)) for cur in currencies},
                    "gaps": len(p.gaps),
                    "missing": ", ".join(g.kind.value for g in p.gaps) or None,
                    "next_steps": "; ".join(g.next_step for g in p.gaps) or None,
                }
            )
        return rows


def _days(value: object) -> int:
    """*value* as whole days from 1 to MAX_DAYS; else a ValidationError at ``contact_days``."""
    value = c.plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        code = "type" if isinstance(value, bool) or not isinstance(value, int) else "range"
        msg = f"{c.show(value)} is not a number of days (an int from 1 to {MAX_DAYS:,})"
        raise ValidationError.single("contact_days", msg, code=code)
    return value


def _tier(value: object) -> Tier:
    """*value* as a tier; else a ValidationError at ``tier`` (code ``choice``)."""
    tier = member(Tier, value)
    if tier is None:
        msg = f"{c.show(value)} is not a tier; allowed: 'A', 'B', 'C'"
        raise ValidationError.single("tier", msg, code="choice")
    return tier


def _cover(role: Role, people: list[KeyPerson]) -> RoleCover:
    holders = sorted((k for k in people if k.role is role), key=lambda k: (k.id, k.name, k.stance.value))
    return RoleCover(
        role=role,
        key_person_ids=tuple(k.id for k in holders),
        names=tuple(k.name for k in holders),
        stances=tuple(k.stance for k in holders),
    )


def _gaps(
    covers: tuple[RoleCover, ...],
    last_contact: dt.datetime | None,
    now: dt.datetime,
    limit: int,
    open_deals: int,
) -> list[PlanGap]:
    """
    The gaps of one account and their next steps, by these rules (most serious first):

    - a role of the map held by nobody: find who holds it (ask the people already known);
    - a key person who opposes us: learn why and answer it, and win a supporter who can sway them;
    - a key person whose stance is unknown: meet them to learn where they stand and what they want;
    - no contact with the decision maker for *limit* days or more: contact them;
    - no open deal: look for the next need and open a deal.
    """
    decision = covers[0]
    known = [n for cover in covers for n in cover.names]
    ask = f"ask {known[0]}" if known else "ask the contacts you have"
    gaps: list[PlanGap] = []
    steps = {
        Role.DECISION_MAKER: f"Find the decision maker: {ask} who approves the purchase",
        Role.RECOMMENDER: f"Find the recommender: {ask} whose evaluation the decision maker relies on",
        Role.FACILITATOR: "Find a facilitator: an assistant who eases access to the decision maker",
    }
    for cover in covers:
        if not cover.found:
            gaps.append(PlanGap(kind=_MISSING[cover.role], next_step=steps[cover.role]))
    for cover in covers:
        for kid, name, stance in zip(cover.key_person_ids, cover.names, cover.stances, strict=True):
            who = f"{name} ({_WORDS[cover.role]})"
            if stance is Stance.OPPONENT:
                step = f"Learn why {who} opposes us and answer it; win a supporter who can sway them"
                gaps.append(PlanGap(kind=GapKind.OPPOSED, next_step=step, key_person_id=kid))
            elif stance is Stance.UNKNOWN:
                step = f"Meet {who} to learn where they stand and what they want"
                gaps.append(PlanGap(kind=GapKind.STANCE_UNKNOWN, next_step=step, key_person_id=kid))
    if decision.found:
        days = None if last_contact is None else (now - last_contact) // _DAY
        if days is None or days >= limit:
            names = " or ".join(decision.names)
            when = "never contacted" if days is None else f"last contact {days:,} days ago"
            step = f"Contact {names} (decision maker): {when}"
            gaps.append(PlanGap(kind=GapKind.DECISION_MAKER_NOT_CONTACTED, next_step=step))
    if not open_deals:
        whom = decision.names[0] if decision.found else (known[0] if known else "the account")
        gaps.append(
            PlanGap(kind=GapKind.NO_OPEN_DEAL, next_step=f"Open a deal: look for the next need with {whom}")
        )
    gaps.sort(key=lambda g: _SEVERITY[g.kind])  # stable: within a kind, in role and id order
    return gaps


def account_plans(
    customers: Iterable[Customer],
    key_persons: Iterable[KeyPerson],
    activities: Iterable[Activity] = (),
    opportunities: Iterable[Opportunity] = (),
    *,
    now: dt.datetime,
    tier: Tier | str = "A",
    tiers: AbcResult | Mapping[str, Tier | str | None] | None = None,
    contact_days: int = 30,
) -> AccountPlans:
    """
    An account plan for each customer of *tier* (A by default; source 000:
    a business plan for each strategic account): the coverage of its
    key-person map (source 003: who decides, who recommends, who eases
    access, and where each stands), the gaps left open and a next step for
    each, listed by what is missing (most gaps first).

    A customer's tier comes from *tiers* (customer id -> tier, or an
    :class:`AbcResult`) when given, else from its own ``tier`` field.  The
    gaps, most serious first (see :class:`GapKind`), and their next steps:

    - ``no_decision_maker``, ``no_recommender``, ``no_facilitator``: nobody
      holds the role; find who does, asking the key persons already known;
    - ``opposed``: a key person of the map opposes us; learn why, answer
      it, and win a supporter who can sway them;
    - ``stance_unknown``: where a key person of the map stands is unknown;
      meet them to learn it and what they want;
    - ``decision_maker_not_contacted``: no activity naming a decision maker
      (``Activity.key_person_ids``) for *contact_days* whole days or more,
      or never; contact them;
    - ``no_open_deal``: no deal open at *now*; look for the next need.

    As of *now*: activities after it, customers created after it, and deals
    created after it are ignored; a deal closed after *now* counts as open.
    Key persons of other customers, and users and influencers, are not part
    of the map.

    >>> import datetime as dt
    >>> from funnelkit import Activity, Customer, KeyPerson
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    >>> book = [Customer(id="acme", name="Acme", created_at=t0, tier="A", owner="ann"),
    ...         Customer(id="bolt", name="Bolt", created_at=t0, tier="A", owner="bo")]
    >>> def kp(i, customer, name, role, stance="unknown"):
    ...     return KeyPerson(id=i, customer_id=customer, name=name, role=role, stance=stance)
    >>> people = [kp("k1", "acme", "Dee", "decision_maker", "supporter"),
    ...           kp("k2", "acme", "Eve", "recommender", "opponent"), kp("k3", "bolt", "Fay", "recommender")]
    >>> log = [Activity(id="a1", kind="visit", at=now - dt.timedelta(days=3), rep_id="ann",
    ...                 customer_id="acme", key_person_ids=["k1"])]
    >>> for plan in account_plans(book, people, log, now=now):
    ...     print(plan.customer_id, [g.kind.value for g in plan.gaps])
    bolt ['no_decision_maker', 'no_facilitator', 'stance_unknown', 'no_open_deal']
    acme ['opposed', 'no_facilitator', 'no_open_deal']

    Cost: O(c + k log k + a + n + p log p) for c customers, k key persons,
    a activities, n deals and p plans.
    """
    problems: list[Problem] = not_iterable(
        (customers, Customer, "customers"),
        (key_persons, KeyPerson, "key_persons"),
        (activities, Activity, "activities"),
        (opportunities, Opportunity, "opportunities"),
    )
    if problems:
        raise ValidationError(problems)
    when = instant(now, field="now")
    wanted_tier = _tier(tier)
    tier_of = _tier_map(tiers)
    limit = _days(contact_days)
    accounts: dict[str, tuple[Customer, Tier | None]] = {}
    for cust in unique_customers(customers):
        grade = cust.tier if tier_of is None else tier_of.get(cust.id)
        if grade is wanted_tier and cust.created_at <= when:
            accounts[cust.id] = (cust, grade)
    people: dict[str, list[KeyPerson]] = {}
    deciders: dict[str, str] = {}  # decision maker's id -> customer id
    for k in each_of(key_persons, KeyPerson, "key_persons"):
        if k.customer_id in accounts and k.role in _WORDS:
            people.setdefault(k.customer_id, []).append(k)
            if k.role is Role.DECISION_MAKER:
                deciders[k.id] = k.customer_id
    last: dict[str, dt.datetime] = {}
    for a in each_of(activities, Activity, "activities"):
        if a.at > when or not a.key_person_ids:
            continue
        for kid in a.key_person_ids:
            cid = deciders.get(kid)
            if cid is not None and (cid not in last or a.at > last[cid]):
                last[cid] = a.at
    pipelines = open_pipelines(opportunities, when, accounts)
    plans = []
    for cid, (cust, grade) in accounts.items():
        covers = tuple(_cover(role, people.get(cid, [])) for role in MAP_ROLES)
        n, totals = pipelines.get(cid, (0, {}))
        gaps = tuple(_gaps(covers, last.get(cid), when, limit, n))
        plans.append(
            AccountPlan(
                customer_id=cid, name=cust.name, owner=cust.owner, tier=grade, decision_maker=covers[0],
                recommender=covers[1], facilitator=covers[2], last_decision_maker_contact=last.get(cid),
                open_deals=n, open_pipeline=_sums(totals), gaps=gaps,
            )
        )  # fmt: skip
    plans.sort(key=_plan_key)
    return AccountPlans(plans=tuple(plans), now=when, tier=wanted_tier, contact_days=limit)
