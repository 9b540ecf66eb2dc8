"""
Prioritisation: which prospect to work first, and who is due for a follow-up.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType

import attrs

from .. import _checks as c
from .._money import MAX_INTEGER_DIGITS, Money
from .._time import canonical
from ..entities import Activity, Customer, Lead, LeadStatus, Opportunity, Tier
from ..errors import CurrencyMismatchError, Problem, ValidationError
from ._args import function_of_one, items_of, member, not_iterable, plain_number

_DAY = dt.timedelta(days=1)
_WORKABLE = frozenset({LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED})


def _amount(value: Money | Decimal | int | None, currency: list[str]) -> Decimal | None:
    """
    *value* as a number to sort by; a plain number is first checked with
    :func:`~funnelkit.segments._args.plain_number`.
    """
    if value is None:
        return None
    if isinstance(value, Money):
        if not currency:
            currency.append(value.currency)
        elif value.currency != currency[0]:
            raise CurrencyMismatchError("compare", currency[0], value.currency)
        return value.amount
    return Decimal(value)


def work_queue(
    leads: Iterable[Lead],
    *,
    profit: Callable[[Lead], Money | Decimal | int | None] | None = None,
    scores: Mapping[str, float | Decimal | int] | None = None,
) -> tuple[Lead, ...]:
    """
    The order to work leads in: strong intent first, then profit, then
    value.

    Leads that are converted or disqualified are left out.  The rest are
    sorted by, in turn: *intent_score*, highest first; *profit* (a function
    of the lead the host supplies, optional), highest first; prospect value
    (estimated value x intent), highest first; then the oldest lead first and
    finally by id, so the order is total and the same on every run.  A lead
    missing a measure sorts after every lead that has it.  *profit* returns
    ``Money`` (one currency for all leads), a ``Decimal`` or an int, or
    ``None`` when unknown.

    *scores*, when given, maps lead ids to a learnt score (higher first:
    :attr:`funnelkit.scoring.LeadScores.probabilities`, say) that ranks
    before everything else; a lead without a score sorts after every lead
    with one, then as above.

    Cost: O(n log n) in the number of leads, plus one call of *profit* per
    workable lead.

    >>> import datetime as dt
    >>> from funnelkit import Lead, Money
    >>> t = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    >>> def lead(i, intent, value):
    ...     worth = Money.of(value, "CNY")
    ...     return Lead(id=i, source="web", created_at=t, intent_score=intent, estimated_value=worth)
    >>> leads = [lead("l1", "0.4", 900), lead("l2", "0.9", 100), lead("l3", "0.4", 50)]
    >>> " ".join(lead.id for lead in work_queue(leads))
    'l2 l1 l3'
    """
    checked = items_of(leads, Lead, "leads")
    if profit is not None:
        function_of_one(profit, "a Lead (its profit, or None)", "profit")
    ranks = None if scores is None else _scores(scores)
    currency: list[str] = []
    keyed = []
    zero = Decimal(0)
    for i, lead in enumerate(checked):
        if lead.status not in _WORKABLE:
            continue
        gain = None
        if profit is not None:
            raw = c.plain(profit(lead))  # a numpy int as an int
            if raw is not None and not isinstance(raw, Money) and not plain_number(raw):
                msg = (
                    f"{c.show(raw)} is {c.a_type(raw)}; profit must return Money, a finite Decimal "
                    f"or int of at most {MAX_INTEGER_DIGITS} digits, or None"
                )
                raise ValidationError.single(f"profit(leads[{i}])", msg, code="callable")
            gain = _amount(raw, currency)
        value = lead.prospect_value
        worth = _amount(value, currency)
        # copy_negate is exact: unary minus would round in the caller's decimal context.
        rank = None if ranks is None else ranks.get(lead.id)
        keyed.append(
            (
                (rank is None, -(rank or 0)),
                (lead.intent_score is None, (lead.intent_score or zero).copy_negate()),
                (gain is None, (gain or zero).copy_negate()),
                (worth is None, (worth or zero).copy_negate()),
                lead.created_at,
                lead.id,
                lead,
            )
        )
    keyed.sort(key=lambda k: k[:6])
    return tuple(k[6] for k in keyed)


def _scores(value: object) -> Mapping[str, float]:
    """
    *scores*, a mapping of lead id to a finite float, or a Decimal or int
    checked by :func:`~funnelkit.segments._args.plain_number` (a bool is not
    a number), each compared as a float; else an error naming the key.
    """
    value = c.to_mapping(value, "scores")  # a pandas Series
    if not isinstance(value, Mapping):
        raise c.at("scores", c.wrong_type(value, "a mapping of lead id to score"))
    out: dict[str, float] = {}
    problems = []
    for key, raw in value.items():
        number = c.plain(raw)
        ok = plain_number(number) or (isinstance(number, float) and math.isfinite(number))
        if not isinstance(key, str) or not ok:
            what = "a lead id (a str)" if not isinstance(key, str) else "a finite number"
            shown = key if not isinstance(key, str) else raw
            problems.append(c.wrong_type(shown, what).prefixed(f"scores[{c.show(key)}]"))
            if len(problems) >= 50:
                break
            continue
        out[key] = float(number)
    if problems:
        raise ValidationError(problems)
    return out


def _interval(value: object, where: str) -> dt.timedelta:
    """
    A positive timedelta, else an error at *where*.
    """
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        code = "range" if isinstance(value, dt.timedelta) else "type"
        raise ValidationError.single(where, f"{c.show(value)} is not a positive timedelta", code=code)
    return value


def _tier_map(value: Mapping[Tier | str | None, dt.timedelta]) -> Mapping[Tier | None, dt.timedelta]:
    value = c.to_mapping(value, "by_tier")  # a pandas Series
    if not isinstance(value, Mapping) or not value:
        raise ValidationError.single(
            "by_tier",
            f"{c.show(value)} is not a non-empty mapping of tier to timedelta",
            code="empty" if isinstance(value, Mapping) else "type",
        )
    out: dict[Tier | None, dt.timedelta] = {}
    for k, v in value.items():
        tier = None if k is None else member(Tier, k)
        if k is not None and tier is None:
            raise ValidationError.single(
                "by_tier", f"{c.show(k)} is not a tier; allowed: 'A', 'B', 'C' or None", code="choice"
            )
        out[tier] = _interval(v, f"by_tier[{_name(tier)}]")
    return MappingProxyType(out)


def _stage_map(value: Mapping[str, dt.timedelta]) -> Mapping[str, dt.timedelta]:
    value = c.to_mapping(value, "by_stage")  # a pandas Series
    if not isinstance(value, Mapping):
        raise c.at("by_stage", c.wrong_type(value, "a mapping of stage key to timedelta"))
    return MappingProxyType({k: _interval(v, f"by_stage[{c.show(k)}]") for k, v in value.items()})


def _name(tier: Tier | None) -> str:
    return "None" if tier is None else repr(tier.value)


@attrs.frozen(kw_only=True)
class FollowUpPolicy:
    """
    How often each customer must be contacted: an interval per tier (``None``
    for ungraded customers) and, overriding it, per stage of their open deals
    (the shortest applies).  Every customer has a timer.

    >>> import datetime as dt
    >>> policy = FollowUpPolicy(by_tier={"A": dt.timedelta(days=7), "B": dt.timedelta(days=14),
    ...                                  "C": dt.timedelta(days=30), None: dt.timedelta(days=30)})
    >>> policy.interval(tier="B", stages=())
    datetime.timedelta(days=14)
    """

    by_tier: Mapping[Tier | None, dt.timedelta] = attrs.field(converter=_tier_map)
    by_stage: Mapping[str, dt.timedelta] = attrs.field(factory=dict, converter=_stage_map)

    def interval(self, *, tier: Tier | str | None, stages: Iterable[str]) -> dt.timedelta:
        """
        The interval for a customer of *tier* (``None``: ungraded) with open
        deals in *stages* (stage keys): the shortest that applies.
        Cost: O(s) in the number of stages.
        """
        key = None if tier is None else member(Tier, tier)
        if tier is not None and key is None:
            raise ValidationError.single(
                "tier", f"{c.show(tier)} is not a tier; allowed: 'A', 'B', 'C' or None", code="choice"
            )
        return _pick(self, key, items_of(stages, str, "stages"))


_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


def _later(at: dt.datetime, interval: dt.timedelta) -> dt.datetime:
    """
    *at* + *interval*, or the last representable instant (never due) when
    that lies beyond the range of ``datetime``.
    """
    try:
        return at + interval
    except OverflowError:
        return _NEVER


def _pick(policy: FollowUpPolicy, tier: Tier | None, stages: Iterable[str]) -> dt.timedelta:
    """
    :meth:`FollowUpPolicy.interval` of checked arguments.
    """
    options = [policy.by_tier[tier]] if tier in policy.by_tier else []
    options += [policy.by_stage[s] for s in stages if s in policy.by_stage]
    if not options:
        shown = "None" if tier is None else repr(tier.value)
        raise ValidationError.single(
            "tier", f"{shown} has no follow-up interval in the policy", code="missing"
        )
    return min(options)


@attrs.frozen(kw_only=True)
class FollowUp:
    """
    A customer (or, with *opportunity_id*, one of its open deals) whose next
    contact is due (or overdue) at *now*.
    """

    customer_id: str
    opportunity_id: str | None
    owner: str | None
    last_contact: dt.datetime | None
    due_at: dt.datetime
    days_overdue: int


def due_followups(
    customers: Iterable[Customer],
    *,
    activities: Iterable[Activity],
    opportunities: Iterable[Opportunity] = (),
    policy: FollowUpPolicy,
    now: dt.datetime,
) -> tuple[FollowUp, ...]:
    """
    The customers and open deals due for contact at *now*, most overdue
    first (ties by id).

    A customer's timer runs from its last activity (or, never contacted, from
    when it was created) for the interval its tier and the stages of its open
    deals ask for.  A deal in a stage the policy names has its own timer,
    from its last activity in that stage (or from entering it).  Each is due
    once its time has come; *days_overdue* counts whole days past due (0 on
    the day it falls due).

    Cost: O((c + a + o) + d log d) for c customers, a activities, o
    opportunities and d follow-ups due.
    """
    problems: list[Problem] = []
    problem = c.aware_datetime(now)
    if problem is not None:
        problems.append(problem.prefixed("now"))
    if not isinstance(policy, FollowUpPolicy):
        problems.append(c.wrong_type(policy, "a FollowUpPolicy").prefixed("policy"))
    problems += not_iterable(
        (customers, Customer, "customers"),
        (activities, Activity, "activities"),
        (opportunities, Opportunity, "opportunities"),
    )
    if problems:
        raise ValidationError(problems)
    now = canonical(now)
    last, last_on_deal = _last_contacts(items_of(activities, Activity, "activities"), now)
    stages: dict[str, list[str]] = {}
    open_deals = []
    for o in items_of(opportunities, Opportunity, "opportunities"):
        if o.is_open:
            stages.setdefault(o.customer_id, []).append(o.stage)
            open_deals.append(o)
    due = _deals_due(open_deals, policy, last_on_deal, now)
    for i, cust in enumerate(items_of(customers, Customer, "customers")):
        start = last.get(cust.id)
        try:
            interval = _pick(policy, cust.tier, stages.get(cust.id, ()))
        except ValidationError as e:
            raise e.prefixed(f"customers[{i}]") from None
        due_at = _later(start or cust.created_at, interval)
        if due_at <= now:
            due.append(
                FollowUp(
                    customer_id=cust.id,
                    opportunity_id=None,
                    owner=cust.owner,
                    last_contact=start,
                    due_at=due_at,
                    days_overdue=(now - due_at) // _DAY,
                )
            )
    due.sort(key=lambda f: (f.due_at, f.customer_id, f.opportunity_id or ""))
    return tuple(due)


def _last_contacts(
    acts: list[Activity], now: dt.datetime
) -> tuple[dict[str, dt.datetime], dict[str, dt.datetime]]:
    """The last activity up to *now* per customer, and per deal."""
    last: dict[str, dt.datetime] = {}
    for a in acts:
        if a.at <= now and (a.customer_id not in last or a.at > last[a.customer_id]):
            last[a.customer_id] = a.at
    last_on_deal: dict[str, dt.datetime] = {}
    for a in acts:
        if a.opportunity_id is not None and a.at <= now:
            prev = last_on_deal.get(a.opportunity_id)
            if prev is None or a.at > prev:
                last_on_deal[a.opportunity_id] = a.at
    return last, last_on_deal


def _deals_due(
    open_deals: list[Opportunity],
    policy: FollowUpPolicy,
    last_on_deal: Mapping[str, dt.datetime],
    now: dt.datetime,
) -> list[FollowUp]:
    """The open deals in a stage the policy times whose follow-up is due at *now*."""
    due = []
    for o in open_deals:
        interval = policy.by_stage.get(o.stage)
        if interval is None:
            continue
        start = last_on_deal.get(o.id)
        due_at = _later(max(start or o.stage_entered_at, o.stage_entered_at), interval)
        if due_at <= now:
            due.append(
                FollowUp(
                    customer_id=o.customer_id,
                    opportunity_id=o.id,
                    owner=o.owner,
                    last_contact=start,
                    due_at=due_at,
                    days_overdue=(now - due_at) // _DAY,
                )
            )
    return due
