"""
The things a sales process is made of: customers, key persons, opportunities,
activities, reps and leads.

Every entity is an immutable value (``attrs`` frozen, keyword-only), checked
when it is built: a bad field raises :class:`~funnelkit.errors.ValidationError`
naming **every** bad field and its value.  To change an entity, make a new one
with :func:`attrs.evolve`, which checks again; values are therefore safe to
share between threads.

>>> import datetime as dt
>>> from funnelkit import Customer, Tier
>>> acme = Customer(
...     id="c-1", name="Acme", tier="A",
...     created_at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc),
... )
>>> acme.tier
<Tier.A: 'A'>
>>> import attrs
>>> attrs.evolve(acme, owner="rep-7").owner
'rep-7'

Collections may be passed as lists or sets; they are stored as tuples (order
matters) or frozensets (order does not), so entities stay hashable.
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import repeat
from typing import Any, cast

import attrs

from . import _checks as c
from ._checks import check
from ._money import Money
from ._records import new_record, record
from ._time import canonical
from .errors import Problem

__all__ = [
    "ENTITY_TYPES",
    "Activity",
    "ActivityKind",
    "CompanySize",
    "Customer",
    "ForecastCategory",
    "Gap",
    "KeyPerson",
    "Lead",
    "LeadStatus",
    "Opportunity",
    "OpportunityStatus",
    "Role",
    "SalesRep",
    "Stance",
    "Tier",
]

# --- enumerations ---------------------------------------------------------


class Tier(enum.StrEnum):
    """
    A customer's value grade (the 80/20 rule): A is the most valuable.
    """

    A = "A"
    B = "B"
    C = "C"


class CompanySize(enum.StrEnum):
    """
    Size band of a company (by headcount, as the host defines the bands).
    """

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    ENTERPRISE = "enterprise"


class Role(enum.StrEnum):
    """
    The part a key person plays in the customer's buying decision.
    """

    #: Holds the right to decide (决策权).
    DECISION_MAKER = "decision_maker"
    #: Holds the right to recommend (建议权).
    RECOMMENDER = "recommender"
    #: The "lubricator" (润滑剂): a secretary or assistant who eases access.
    FACILITATOR = "facilitator"
    #: Will use what is bought.
    USER = "user"
    #: Sways the decision without a formal right.
    INFLUENCER = "influencer"


class Stance(enum.StrEnum):
    """
    How a key person stands toward us.
    """

    CHAMPION = "champion"
    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    OPPONENT = "opponent"
    UNKNOWN = "unknown"


class ForecastCategory(enum.StrEnum):
    """
    The forecast bucket of a stage, rolled up cumulatively by forecasts:
    commit includes closed; best case includes commit and closed.  A deal
    takes its stage's unless its ``forecast_category`` overrides it.
    """

    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


class OpportunityStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ActivityKind(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    DEMO = "demo"
    TRIAL = "trial"
    OTHER = "other"


class LeadStatus(enum.StrEnum):
    """
    Where a lead stands; a lead becomes an opportunity once its needs are known.
    """

    NEW = "new"
    WORKING = "working"
    QUALIFIED = "qualified"
    CONVERTED = "converted"
    DISQUALIFIED = "disqualified"


# Named converters (attrs' mypy plugin needs named functions).


def _tier(value: Tier | str | None) -> Tier | None:
    return None if value is None else c.to_enum(Tier, value)


def _size(value: CompanySize | str | None) -> CompanySize | None:
    return None if value is None else c.to_enum(CompanySize, value)


def _role(value: Role | str) -> Role:
    return c.to_enum(Role, value)


def _stance(value: Stance | str) -> Stance:
    return c.to_enum(Stance, value)


def _opp_status(value: OpportunityStatus | str) -> OpportunityStatus:
    return c.to_enum(OpportunityStatus, value)


def _category(value: ForecastCategory | str | None) -> ForecastCategory | None:
    return None if value is None else c.to_enum(ForecastCategory, value)


def _activity_kind(value: ActivityKind | str) -> ActivityKind:
    return c.to_enum(ActivityKind, value)


def _lead_status(value: LeadStatus | str) -> LeadStatus:
    return c.to_enum(LeadStatus, value)


def _opt_probability(value: Decimal | float | str | None) -> Decimal | None:
    return None if value is None else c.to_decimal(value)


def _strings(value: Iterable[str]) -> frozenset[str]:
    return c.to_frozenset(value)


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return c.to_tuple(value)


# these converters leave a value of their field's exact type as it is (see c.keeps_checked)
for _converter, _kept in (
    (_tier, Tier), (_size, CompanySize), (_role, Role), (_stance, Stance), (_opp_status, OpportunityStatus),
    (_activity_kind, ActivityKind), (_category, ForecastCategory), (_lead_status, LeadStatus),
    (_strings, frozenset), (_ids, tuple),
):  # fmt: skip
    c.keeps_checked(_converter, _kept)

_opt_id = c.optional(c.identifier)
_opt_name = c.optional(c.name)
_opt_text = c.optional(c.text)
_opt_money = c.optional(c.instance_of(Money, "Money"))
_opt_date = c.optional(c.calendar_date)
_tags = c.items(c.name, frozenset)
_id_tuple = c.items(c.identifier, tuple, unique=True)
_name_tuple = c.items(c.name, tuple, unique=True)


# --- entities -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Customer(c.Checked):
    """
    A company we sell to (or want to).

    *purchasing_power* is the funds it has available for what we sell; *owner*
    is the id of the rep who follows it (the customer belongs to the company,
    not the rep); *tier* is its A/B/C grade, or ``None`` when not graded yet.
    """

    id: str = attrs.field(metadata=check(c.identifier))
    name: str = attrs.field(metadata=check(c.name))
    created_at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    industry: str | None = attrs.field(metadata=check(_opt_name), default=None)
    territory: str | None = attrs.field(metadata=check(_opt_name), default=None)
    size: CompanySize | None = attrs.field(
        metadata=check(c.optional(c.member_of(CompanySize))), default=None, converter=_size
    )
    purchasing_power: Money | None = attrs.field(metadata=check(_opt_money), default=None)
    owner: str | None = attrs.field(metadata=check(_opt_id), default=None)
    tier: Tier | None = attrs.field(
        metadata=check(c.optional(c.member_of(Tier))), default=None, converter=_tier
    )
    tags: frozenset[str] = attrs.field(metadata=check(_tags), default=frozenset(), converter=_strings)

    def _relations(self) -> list[Problem]:
        if self.purchasing_power is not None and self.purchasing_power.amount < 0:
            return [
                Problem(
                    path="purchasing_power",
                    code="range",
                    message=f"{c.show(self.purchasing_power)} is negative",
                )
            ]
        return []


@attrs.frozen(kw_only=True)
class KeyPerson(c.Checked):
    """
    A person at a customer who matters to the decision (a key person, KP).

    *wants* records what this person wants from the deal, in their own terms.
    """

    id: str = attrs.field(metadata=check(c.identifier))
    customer_id: str = attrs.field(metadata=check(c.identifier))
    name: str = attrs.field(metadata=check(c.name))
    role: Role = attrs.field(metadata=check(c.member_of(Role)), converter=_role)
    stance: Stance = attrs.field(
        metadata=check(c.member_of(Stance)), default=Stance.UNKNOWN, converter=_stance
    )
    title: str | None = attrs.field(metadata=check(_opt_name), default=None)
    wants: str | None = attrs.field(metadata=check(_opt_text), default=None)


@attrs.frozen(kw_only=True)
class Gap(c.Checked):
    """
    A piece of missing information in a deal: what is
    missing, who closes it and how, and by when.
    """

    description: str = attrs.field(metadata=check(c.name))
    owner: str | None = attrs.field(metadata=check(_opt_id), default=None)
    action: str | None = attrs.field(metadata=check(_opt_text), default=None)
    due: dt.date | None = attrs.field(metadata=check(_opt_date), default=None)
    closed: bool = attrs.field(metadata=check(c.boolean), default=False, converter=c.to_bool)


@record
@attrs.frozen(kw_only=True)
class Opportunity(c.Checked):
    """
    A deal in progress: one customer, one pipeline, one stage at a time.

    *stage* is the key of a stage in the pipeline named by *pipeline*; the
    stage engine checks it against that pipeline.  *version* counts the changes
    made through the engine (optimistic concurrency).  *evidence* holds the keys
    of the milestone evidence recorded so far (``"project_approved"``,
    ``"contract_signed"``, ...): what the customer did, not what we did.
    *lost_reason* is set only when the status is ``lost``.  *lead_id* links
    back to the lead this opportunity was converted from, if any.
    *forecast_category* is the rep's override of the stage's forecast
    category (``None``: the stage's own).
    """

    id: str = attrs.field(metadata=check(c.identifier))
    customer_id: str = attrs.field(metadata=check(c.identifier))
    owner: str = attrs.field(metadata=check(c.identifier))
    pipeline: str = attrs.field(metadata=check(c.identifier))
    stage: str = attrs.field(metadata=check(c.identifier))
    created_at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    stage_entered_at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    status: OpportunityStatus = attrs.field(
        metadata=check(c.member_of(OpportunityStatus)), default=OpportunityStatus.OPEN, converter=_opp_status
    )
    amount: Money | None = attrs.field(metadata=check(_opt_money), default=None)
    expected_close: dt.date | None = attrs.field(metadata=check(_opt_date), default=None)
    key_person_ids: tuple[str, ...] = attrs.field(metadata=check(_id_tuple), default=(), converter=_ids)
    competitors: tuple[str, ...] = attrs.field(metadata=check(_name_tuple), default=(), converter=_ids)
    gaps: tuple[Gap, ...] = attrs.field(
        metadata=check(c.items(c.instance_of(Gap, "a Gap"), tuple)), default=(), converter=c.to_tuple
    )
    evidence: frozenset[str] = attrs.field(metadata=check(_tags), default=frozenset(), converter=_strings)
    lost_reason: str | None = attrs.field(metadata=check(_opt_name), default=None)
    version: int = attrs.field(metadata=check(c.non_negative_int), default=0, converter=c.to_int)
    lead_id: str | None = attrs.field(metadata=check(_opt_id), default=None)
    forecast_category: ForecastCategory | None = attrs.field(
        metadata=check(c.optional(c.member_of(ForecastCategory))), default=None, converter=_category
    )

    def _relations(self) -> list[Problem]:
        problems = []
        if self.stage_entered_at < self.created_at:
            problems.append(
                Problem(
                    path="stage_entered_at",
                    code="order",
                    message=f"{self.stage_entered_at.isoformat()} is before created_at "
                    f"{self.created_at.isoformat()}",
                )
            )
        if self.amount is not None and self.amount.amount < 0:
            problems.append(
                Problem(path="amount", code="range", message=f"{c.show(self.amount)} is negative")
            )
        if self.forecast_category is ForecastCategory.CLOSED and self.status is not OpportunityStatus.WON:
            problems.append(
                Problem(
                    path="forecast_category",
                    code="conflict",
                    message=f"'closed' is the category of a won deal; this one is {self.status.value!r}",
                )
            )
        if self.lost_reason is not None and self.status is not OpportunityStatus.LOST:
            problems.append(
                Problem(
                    path="lost_reason",
                    code="conflict",
                    message=f"{c.show(self.lost_reason)} is set but status is {self.status.value!r}; "
                    "only a lost opportunity has a lost reason",
                )
            )
        return problems

    @staticmethod
    def _breaking(column: Callable[[str], Sequence[Any]]) -> Iterator[bool]:
        """
        Per row of a table of deals whose every field is fine (each field's
        cells by *column(name)*), whether it breaks a rule of
        :meth:`_relations`, by C-level loops: a table's deals checked at once.
        """
        early = map(operator.lt, column("stage_entered_at"), column("created_at"))
        reasons, statuses = column("lost_reason"), column("status")
        stray = map(
            operator.and_,
            map(operator.is_not, reasons, repeat(None)),
            map(operator.is_not, statuses, repeat(OpportunityStatus.LOST)),
        )
        broken = map(operator.or_, early, stray)
        categories = column("forecast_category")
        if ForecastCategory.CLOSED in categories:  # rare: only then a loop over the column
            closed = map(
                operator.and_,
                map(operator.is_, categories, repeat(ForecastCategory.CLOSED)),
                map(operator.is_not, statuses, repeat(OpportunityStatus.WON)),
            )
            broken = map(operator.or_, broken, closed)
        amounts = column("amount")
        distinct = dict(zip(map(id, amounts), amounts, strict=True)).values()  # a Money is often shared
        negative = {id(m) for m in distinct if m is not None and m.amount < 0}
        if negative:
            broken = map(operator.or_, broken, map(negative.__contains__, map(id, amounts)))
        return broken

    @property
    def is_open(self) -> bool:
        return self.status is OpportunityStatus.OPEN

    @property
    def open_gaps(self) -> tuple[Gap, ...]:
        """
        The gaps not closed yet.
        """
        return tuple(g for g in self.gaps if not g.closed)


@attrs.frozen(kw_only=True)
class Activity(c.Checked):
    """
    One contact with a customer: a row of the rep's activity log.

    *purpose*, *dialogue* (the talk track), *needs_found*, *feedback* (the
    impression left) and *next_step* are what the company's standard asks each
    record to say; the stage engine's milestones judge activities by them.
    *replied* records whether an email (or call-back request) got an answer.
    """

    id: str = attrs.field(metadata=check(c.identifier))
    kind: ActivityKind = attrs.field(metadata=check(c.member_of(ActivityKind)), converter=_activity_kind)
    at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    rep_id: str = attrs.field(metadata=check(c.identifier))
    customer_id: str = attrs.field(metadata=check(c.identifier))
    opportunity_id: str | None = attrs.field(metadata=check(_opt_id), default=None)
    key_person_ids: tuple[str, ...] = attrs.field(metadata=check(_id_tuple), default=(), converter=_ids)
    duration: dt.timedelta | None = attrs.field(metadata=check(c.optional(c.duration)), default=None)
    purpose: str | None = attrs.field(metadata=check(_opt_text), default=None)
    dialogue: str | None = attrs.field(metadata=check(_opt_text), default=None)
    needs_found: str | None = attrs.field(metadata=check(_opt_text), default=None)
    feedback: str | None = attrs.field(metadata=check(_opt_text), default=None)
    next_step: str | None = attrs.field(metadata=check(_opt_text), default=None)
    next_step_due: dt.date | None = attrs.field(metadata=check(_opt_date), default=None)
    replied: bool = attrs.field(metadata=check(c.boolean), default=False, converter=c.to_bool)

    def _relations(self) -> list[Problem]:
        if self.next_step_due is not None and not (self.next_step or "").strip():
            return [
                Problem(
                    path="next_step_due",
                    code="conflict",
                    message=f"{self.next_step_due.isoformat()} is set but next_step is empty; "
                    "say what the next step is",
                )
            ]
        return []


@attrs.frozen(kw_only=True)
class SalesRep(c.Checked):
    """
    A member of the sales team.

    *capacity* is how many open leads and deals the rep can carry at once
    (assignment policies may use other windows), ``None`` when no limit is
    set; an inactive rep gets no new work.
    """

    id: str = attrs.field(metadata=check(c.identifier))
    name: str = attrs.field(metadata=check(c.name))
    active: bool = attrs.field(metadata=check(c.boolean), default=True, converter=c.to_bool)
    capacity: int | None = attrs.field(
        metadata=check(c.optional(c.non_negative_int)), default=None, converter=c.to_optional_int
    )
    territories: frozenset[str] = attrs.field(metadata=check(_tags), default=frozenset(), converter=_strings)
    skills: frozenset[str] = attrs.field(metadata=check(_tags), default=frozenset(), converter=_strings)


@attrs.frozen(kw_only=True)
class Lead(c.Checked):
    """
    A prospect not yet qualified into an opportunity.

    *estimated_value* is the funds available; *intent_score* is the probability
    of conversion in [0, 1] (a float is read as the number it prints as, so
    ``0.3`` is exactly ``Decimal('0.3')``).  Prospect value is their product.
    """

    id: str = attrs.field(metadata=check(c.identifier))
    source: str = attrs.field(metadata=check(c.name))
    created_at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    status: LeadStatus = attrs.field(
        metadata=check(c.member_of(LeadStatus)), default=LeadStatus.NEW, converter=_lead_status
    )
    company: str | None = attrs.field(metadata=check(_opt_name), default=None)
    contact_name: str | None = attrs.field(metadata=check(_opt_name), default=None)
    contact_email: str | None = attrs.field(metadata=check(_opt_name), default=None)
    contact_phone: str | None = attrs.field(metadata=check(_opt_name), default=None)
    industry: str | None = attrs.field(metadata=check(_opt_name), default=None)
    territory: str | None = attrs.field(metadata=check(_opt_name), default=None)
    size: CompanySize | None = attrs.field(
        metadata=check(c.optional(c.member_of(CompanySize))), default=None, converter=_size
    )
    needs: str | None = attrs.field(metadata=check(_opt_text), default=None)
    estimated_value: Money | None = attrs.field(metadata=check(_opt_money), default=None)
    intent_score: Decimal | None = attrs.field(
        metadata=check(c.optional(c.probability)), default=None, converter=_opt_probability
    )
    owner: str | None = attrs.field(metadata=check(_opt_id), default=None)

    def _relations(self) -> list[Problem]:
        if self.estimated_value is not None and self.estimated_value.amount < 0:
            return [
                Problem(
                    path="estimated_value",
                    code="range",
                    message=f"{c.show(self.estimated_value)} is negative",
                )
            ]
        return []

    @property
    def prospect_value(self) -> Money | None:
        """
        Available funds times probability of conversion (unrounded), or ``None``
        when either is unknown.
        """
        if self.estimated_value is None or self.intent_score is None:
            return None
        return self.estimated_value * self.intent_score


# --- the stage engine's trusted copy ------------------------------------------------


def moved_opportunity(  # noqa: PLR0917 - positional on purpose: the engine's hot path
    opp: Opportunity,
    stage: str,
    entered: dt.datetime,
    version: int,
    status: OpportunityStatus,
    lost_reason: str | None,
) -> Opportunity:
    """
    *opp* in another stage: a copy the stage engine vouches for, built from
    values it has checked, without the checks (one tuple, in field order).
    Not for callers: use the engine's moves or ``attrs.evolve``.
    """
    values = (
        opp.id, opp.customer_id, opp.owner, opp.pipeline, stage, opp.created_at, entered, status,
        opp.amount, opp.expected_close, opp.key_person_ids, opp.competitors, opp.gaps, opp.evidence,
        lost_reason, version, opp.lead_id, opp.forecast_category,
    )  # fmt: skip
    return cast("Opportunity", new_record(Opportunity, values))


#: Every entity class, for code that handles them generically.
ENTITY_TYPES: tuple[type, ...] = (Customer, KeyPerson, Opportunity, Activity, SalesRep, Lead)
