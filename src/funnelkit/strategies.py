"""
Hypothesis strategies for funnelkit's values, for testing your own rules.

Needs the ``hypothesis`` extra (``pip install funnelkit[hypothesis]``).  Every
strategy draws values that are valid by construction; :func:`sales_data` draws
a whole, consistent book of business (activities point at existing customers,
opportunities at their customer's key persons, and so on).

>>> from hypothesis import given
>>> from funnelkit.strategies import sales_data
>>> @given(sales_data())
... def test_every_activity_has_its_customer(data):
...     customers = {c.id for c in data.customers}
...     assert all(a.customer_id in customers for a in data.activities)
>>> test_every_activity_has_its_customer()
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple, TypeVar

import attrs
from hypothesis import strategies as st

from ._checks import a_type, identifier, show
from ._money import Money, currency_minor_units, known_currencies
from ._time import canonical
from .entities import (
    Activity,
    ActivityKind,
    CompanySize,
    Customer,
    Gap,
    KeyPerson,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    Role,
    SalesRep,
    Stance,
    Tier,
)
from .errors import ValidationError

#: The stage keys of funnelkit's default eight-step pipeline.
DEFAULT_STAGE_KEYS: tuple[str, ...] = (
    "contact",
    "needs_confirmed",
    "proposal",
    "approved",
    "shortlisted",
    "selected",
    "negotiation",
    "won",
    "lost",
)

#: Zones that exercise the awkward cases: no DST, DST in both hemispheres, a
#: half-hour DST shift, and fixed offsets that are not whole hours.
ZONES: tuple[dt.tzinfo, ...] = (
    dt.UTC,
    dt.timezone(dt.timedelta(hours=8)),
    dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
    zoneinfo.ZoneInfo("Asia/Shanghai"),
    zoneinfo.ZoneInfo("America/New_York"),
    zoneinfo.ZoneInfo("Europe/London"),
    zoneinfo.ZoneInfo("Australia/Lord_Howe"),
)

T = TypeVar("T")

_COMMON_CURRENCIES = ("USD", "EUR", "CNY", "JPY", "GBP", "KWD", "CLF")


def _check_strategy(name: str, value: object) -> None:
    """
    Refuse *value* unless it is ``None`` or a hypothesis strategy.
    """
    if value is not None and not isinstance(value, st.SearchStrategy):
        msg = f"{show(value)} is {a_type(value)}; expected a hypothesis strategy or None"
        raise ValidationError.single(name, msg)


def _check_keys(name: str, value: object, *, empty_ok: bool) -> tuple[str, ...]:
    """
    *value* as a tuple of stage keys (non-empty strs), or a ValidationError at *name*.
    """
    if not isinstance(value, list | tuple) or not all(isinstance(k, str) and k for k in value):
        msg = f"{show(value)} is not a list or tuple of stage keys"
        raise ValidationError.single(name, msg)
    if not value and not empty_ok:
        raise ValidationError.single(name, "() is empty; give at least one stage key")
    return tuple(value)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        msg = f"{show(value)} is not an int in [{low}, {high}]"
        raise ValidationError.single(name, msg)
    return value


def _check_range(name: str, low: int, high: int) -> None:
    if low < 0 or high < low:
        msg = f"min_{name}={low}, max_{name}={high}; need 0 <= min <= max"
        raise ValidationError.single(f"max_{name}", msg)


# Hypothesis takes naive wall-time bounds for aware datetimes.
_EARLIEST = dt.datetime(2000, 1, 1)  # noqa: DTZ001
_LATEST = dt.datetime(2099, 12, 31)  # noqa: DTZ001


def aware_datetimes(
    *,
    min_value: dt.datetime = _EARLIEST,
    max_value: dt.datetime = _LATEST,
    zones: Sequence[dt.tzinfo] = ZONES,
) -> st.SearchStrategy[dt.datetime]:
    """
    Timezone-aware datetimes in *zones*, including the repeated hours of DST
    changes (with either fold); never a skipped hour, which funnelkit refuses.
    *min_value* and *max_value* are naive wall times, as in
    :func:`hypothesis.strategies.datetimes`.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    for bound, value in (("min_value", min_value), ("max_value", max_value)):
        if not isinstance(value, dt.datetime) or value.tzinfo is not None:
            msg = f"{show(value)} is not a naive datetime; the bounds are wall times, as in hypothesis"
            raise ValidationError.single(bound, msg)
    if min_value > max_value:
        msg = f"{min_value.isoformat()} is after max_value {max_value.isoformat()}"
        raise ValidationError.single("min_value", msg)
    if not isinstance(zones, list | tuple) or not all(isinstance(z, dt.tzinfo) for z in zones):
        msg = f"{show(zones)} is not a list or tuple of tzinfo objects"
        raise ValidationError.single("zones", msg)
    if not zones:
        raise ValidationError.single("zones", "() is empty; give at least one tzinfo")
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=st.sampled_from(tuple(zones)),
        allow_imaginary=False,
    )


def currencies() -> st.SearchStrategy[str]:
    """
    Known currency codes, with the common ones (0, 2, 3 and 4 minor units) first.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    others = sorted(known_currencies() - set(_COMMON_CURRENCIES))
    return st.sampled_from(_COMMON_CURRENCIES) | st.sampled_from(others)


def money(
    *,
    currency: str | None = None,
    min_minor: int = 0,
    max_minor: int = 10**12,
) -> st.SearchStrategy[Money]:
    """
    Amounts that are whole numbers of minor units, from *min_minor* to
    *max_minor* minor units (cents), in *currency* or any known one.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    # Whole amounts of at most 30 digits in any currency (4 minor units at most here).
    limit = 10**30
    _check_int("min_minor", min_minor, -limit, limit)
    _check_int("max_minor", max_minor, -limit, limit)
    if min_minor > max_minor:
        msg = f"min_minor={min_minor} > max_minor={max_minor}"
        raise ValidationError.single("max_minor", msg)
    if currency is not None:
        currency_minor_units(currency)  # raises on an unknown code
    codes = st.just(currency) if currency is not None else currencies()

    def build(code: str) -> st.SearchStrategy[Money]:
        places = currency_minor_units(code)
        return st.integers(min_minor, max_minor).map(
            lambda n: Money(amount=Decimal(n).scaleb(-places), currency=code)
        )

    return codes.flatmap(build)


# Letters, numbers, punctuation and symbols of every script: printable, no spaces.
_ID_ALPHABET = st.characters(categories=("L", "N", "P", "S"))


def identifiers() -> st.SearchStrategy[str]:
    """
    Ids: non-empty printable strings without surrounding whitespace, any script.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    return st.text(alphabet=_ID_ALPHABET, min_size=1, max_size=12)


def names() -> st.SearchStrategy[str]:
    """
    Human-readable names: strings with at least one non-blank character.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    return st.text(min_size=1, max_size=16).filter(lambda s: s.strip() != "")


def _free_text() -> st.SearchStrategy[str]:
    return st.text(max_size=20)


def _opt(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


def _dates() -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))


def _probabilities() -> st.SearchStrategy[Decimal]:
    return st.integers(0, 1000).map(lambda n: Decimal(n).scaleb(-3))


def gaps() -> st.SearchStrategy[Gap]:
    """
    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    return st.builds(
        Gap,
        description=names(),
        owner=_opt(identifiers()),
        action=_opt(_free_text()),
        due=_opt(_dates()),
        closed=st.booleans(),
    )


def customers(
    *,
    ids: st.SearchStrategy[str] | None = None,
    owners: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[Customer]:
    """
    Customers; *ids* and *owners* (rep ids, or ``None``) narrow the draw.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    _check_strategy("ids", ids)
    _check_strategy("owners", owners)
    return st.builds(
        Customer,
        id=ids if ids is not None else identifiers(),
        name=names(),
        created_at=aware_datetimes(),
        industry=_opt(names()),
        territory=_opt(names()),
        size=_opt(st.sampled_from(CompanySize)),
        purchasing_power=_opt(money()),
        owner=owners if owners is not None else _opt(identifiers()),
        tier=_opt(st.sampled_from(Tier)),
        tags=st.frozensets(names(), max_size=3),
    )


def key_persons(
    *,
    ids: st.SearchStrategy[str] | None = None,
    customer_ids: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[KeyPerson]:
    """
    Key persons; *ids* and *customer_ids* narrow the draw.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    _check_strategy("ids", ids)
    _check_strategy("customer_ids", customer_ids)
    return st.builds(
        KeyPerson,
        id=ids if ids is not None else identifiers(),
        customer_id=customer_ids if customer_ids is not None else identifiers(),
        name=names(),
        role=st.sampled_from(Role),
        stance=st.sampled_from(Stance),
        title=_opt(names()),
        wants=_opt(_free_text()),
    )


def _draw_opportunity(
    draw: st.DrawFn,
    *,
    id: str,
    customer_id: str,
    owner: str,
    key_person_ids: Sequence[str],
    pipeline: str,
    stages: Sequence[str],
    won_stages: frozenset[str],
    lost_stages: frozenset[str],
) -> Opportunity:
    created_at = draw(_CREATED)
    entered = canonical(created_at) + draw(_DWELL)  # elapsed time, not wall time
    stage = draw(st.sampled_from(tuple(stages)))
    if stage in won_stages:
        status, lost_reason = OpportunityStatus.WON, None
    elif stage in lost_stages:
        status, lost_reason = OpportunityStatus.LOST, draw(_opt(names()))
    else:
        status, lost_reason = OpportunityStatus.OPEN, None
    kps = (
        draw(st.lists(st.sampled_from(tuple(key_person_ids)), unique=True, max_size=3))
        if key_person_ids
        else []
    )
    return Opportunity(
        id=id,
        customer_id=customer_id,
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        created_at=created_at,
        stage_entered_at=entered,
        status=status,
        amount=draw(_opt(_ANY_MONEY)),
        expected_close=draw(_opt(_dates())),
        key_person_ids=kps,
        competitors=draw(st.lists(names(), unique=True, max_size=3)),
        gaps=draw(st.lists(_GAPS, max_size=2)),
        evidence=draw(st.frozensets(names(), max_size=2)),
        lost_reason=lost_reason,
        version=draw(st.integers(0, 50)),
    )


def _check_pipeline(pipeline: object, stages: object, won: object, lost: object) -> None:
    problem = identifier(pipeline)
    if problem is not None:
        raise ValidationError.single("pipeline", problem)
    _check_keys("stages", stages, empty_ok=False)
    _check_keys("won_stages", won, empty_ok=True)
    _check_keys("lost_stages", lost, empty_ok=True)


def opportunities(
    *,
    pipeline: str = "default",
    stages: Sequence[str] = DEFAULT_STAGE_KEYS,
    won_stages: Sequence[str] = ("won",),
    lost_stages: Sequence[str] = ("lost",),
) -> st.SearchStrategy[Opportunity]:
    """
    Opportunities in *pipeline*, at one of *stages*; the status agrees with the
    stage (won in a won stage, lost in a lost one, open elsewhere).

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    _check_pipeline(pipeline, stages, won_stages, lost_stages)
    won, lost = frozenset(won_stages), frozenset(lost_stages)

    @st.composite
    def build(draw: st.DrawFn) -> Opportunity:
        return _draw_opportunity(
            draw,
            id=draw(identifiers()),
            customer_id=draw(identifiers()),
            owner=draw(identifiers()),
            key_person_ids=(),
            pipeline=pipeline,
            stages=tuple(stages),
            won_stages=won,
            lost_stages=lost,
        )

    return build()


def _draw_activity(
    draw: st.DrawFn,
    *,
    id: str,
    rep_id: str,
    customer_id: str,
    opportunity_ids: Sequence[str],
    key_person_ids: Sequence[str],
) -> Activity:
    next_step = draw(_opt(_free_text()))
    due = draw(_opt(_dates())) if isinstance(next_step, str) and next_step.strip() else None
    kps = (
        draw(st.lists(st.sampled_from(tuple(key_person_ids)), unique=True, max_size=3))
        if key_person_ids
        else []
    )
    return Activity(
        id=id,
        kind=draw(st.sampled_from(ActivityKind)),
        at=draw(_DATETIMES),
        rep_id=rep_id,
        customer_id=customer_id,
        opportunity_id=draw(_opt(st.sampled_from(tuple(opportunity_ids)))) if opportunity_ids else None,
        key_person_ids=kps,
        duration=draw(_opt(_DURATIONS)),
        purpose=draw(_opt(_free_text())),
        dialogue=draw(_opt(_free_text())),
        needs_found=draw(_opt(_free_text())),
        feedback=draw(_opt(_free_text())),
        next_step=next_step,
        next_step_due=due,
        replied=draw(st.booleans()),
    )


def activities() -> st.SearchStrategy[Activity]:
    """
    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    return _ACTIVITIES


@st.composite
def _activities(draw: st.DrawFn) -> Activity:
    return _draw_activity(
        draw,
        id=draw(identifiers()),
        rep_id=draw(identifiers()),
        customer_id=draw(identifiers()),
        opportunity_ids=(),
        key_person_ids=(),
    )


def sales_reps(*, ids: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[SalesRep]:
    """
    Sales reps; *ids* narrows the draw.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    _check_strategy("ids", ids)
    return st.builds(
        SalesRep,
        id=ids if ids is not None else identifiers(),
        name=names(),
        active=st.booleans(),
        capacity=_opt(st.integers(0, 200)),
        territories=st.frozensets(names(), max_size=3),
        skills=st.frozensets(names(), max_size=3),
    )


def leads(*, ids: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Lead]:
    """
    Leads from any source, with or without an owner; *ids* narrows the draw.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    _check_strategy("ids", ids)
    return st.builds(
        Lead,
        id=ids if ids is not None else identifiers(),
        source=names(),
        created_at=aware_datetimes(),
        status=st.sampled_from(LeadStatus),
        company=_opt(names()),
        contact_name=_opt(names()),
        contact_email=_opt(names()),
        contact_phone=_opt(names()),
        industry=_opt(names()),
        territory=_opt(names()),
        size=_opt(st.sampled_from(CompanySize)),
        needs=_opt(_free_text()),
        estimated_value=_opt(money()),
        intent_score=_opt(_probabilities()),
        owner=_opt(identifiers()),
    )


# Built once: hypothesis validates each new strategy object on first use.
_DATETIMES = aware_datetimes()
_CREATED = aware_datetimes(max_value=dt.datetime(2098, 1, 1))  # noqa: DTZ001 - a naive bound
_DWELL = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=400))
_DURATIONS = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(hours=8))
_ANY_MONEY = money()
_GAPS = gaps()
_REPS = sales_reps()
_CUSTOMERS = customers()
_KEY_PERSONS = key_persons()
_LEADS = leads()
_ACTIVITIES = _activities()


@attrs.frozen(kw_only=True)
class SalesData:
    """
    A consistent book of business, as :func:`sales_data` draws it.
    """

    reps: tuple[SalesRep, ...]
    customers: tuple[Customer, ...]
    key_persons: tuple[KeyPerson, ...]
    opportunities: tuple[Opportunity, ...]
    activities: tuple[Activity, ...]
    leads: tuple[Lead, ...]


def sales_data(
    *,
    max_reps: int = 4,
    max_customers: int = 6,
    max_opportunities: int = 6,
    max_activities: int = 8,
    max_leads: int = 4,
    pipeline: str = "default",
    stages: Sequence[str] = DEFAULT_STAGE_KEYS,
    won_stages: Sequence[str] = ("won",),
    lost_stages: Sequence[str] = ("lost",),
) -> st.SearchStrategy[SalesData]:
    """
    Reps, customers, key persons, opportunities, activities and leads that
    refer to each other consistently: every customer's owner is one of the
    reps, every key person belongs to a drawn customer, every opportunity's
    key persons belong to its customer, every activity points at an existing
    rep, customer, and (if any) one of that customer's opportunities.
    Ids are unique per entity type.

    Cost: O(1) to build; a draw is O(the max_* sizes).
    """
    for name, high in (
        ("reps", max_reps),
        ("customers", max_customers),
        ("opportunities", max_opportunities),
        ("activities", max_activities),
        ("leads", max_leads),
    ):
        _check_int(f"max_{name}", high, 0, 1000)
        _check_range(name, 0, high)
    if max_reps < 1:
        raise ValidationError.single("max_reps", "0 reps; need at least 1 to own the deals")
    _check_pipeline(pipeline, stages, won_stages, lost_stages)
    sizes = _Sizes(max_reps, max_customers, max_opportunities, max_activities, max_leads)
    return _sales_data(sizes, pipeline, tuple(stages), tuple(won_stages), tuple(lost_stages))


class _Sizes(NamedTuple):
    reps: int
    customers: int
    opportunities: int
    activities: int
    leads: int


@st.composite
def _sales_data(  # noqa: PLR0917 - private, called once with everything checked
    draw: st.DrawFn,
    sizes: _Sizes,
    pipeline: str,
    stages: tuple[str, ...],
    won_stages: tuple[str, ...],
    lost_stages: tuple[str, ...],
) -> SalesData:
    max_reps, max_customers, max_opportunities, max_activities, max_leads = sizes
    reps = tuple(attrs.evolve(draw(_REPS), id=f"rep-{i}") for i in range(draw(st.integers(1, max_reps))))
    rep_ids = st.sampled_from(tuple(r.id for r in reps))
    customers_ = tuple(
        attrs.evolve(draw(_CUSTOMERS), id=f"cust-{i}", owner=draw(st.none() | rep_ids))
        for i in range(draw(st.integers(0, max_customers)))
    )
    persons = [
        attrs.evolve(draw(_KEY_PERSONS), id=f"kp-{cust.id}-{j}", customer_id=cust.id)
        for cust in customers_
        for j in range(draw(st.integers(0, 3)))
    ]
    kps_of = {c.id: tuple(p.id for p in persons if p.customer_id == c.id) for c in customers_}
    won, lost = frozenset(won_stages), frozenset(lost_stages)

    opps: list[Opportunity] = []
    for i in range(draw(st.integers(0, max_opportunities)) if customers_ else 0):
        cust = draw(st.sampled_from(customers_))
        opps.append(
            _draw_opportunity(
                draw,
                id=f"opp-{i}",
                customer_id=cust.id,
                owner=draw(rep_ids),
                key_person_ids=kps_of[cust.id],
                pipeline=pipeline,
                stages=tuple(stages),
                won_stages=won,
                lost_stages=lost,
            )
        )
    opps_of = {c.id: tuple(o.id for o in opps if o.customer_id == c.id) for c in customers_}

    acts: list[Activity] = []
    for i in range(draw(st.integers(0, max_activities)) if customers_ else 0):
        cust = draw(st.sampled_from(customers_))
        acts.append(
            _draw_activity(
                draw,
                id=f"act-{i}",
                rep_id=draw(rep_ids),
                customer_id=cust.id,
                opportunity_ids=opps_of[cust.id],
                key_person_ids=kps_of[cust.id],
            )
        )
    leads_ = tuple(attrs.evolve(draw(_LEADS), id=f"lead-{i}") for i in range(draw(st.integers(0, max_leads))))
    return SalesData(
        reps=reps,
        customers=customers_,
        key_persons=tuple(persons),
        opportunities=tuple(opps),
        activities=tuple(acts),
        leads=leads_,
    )


__all__ = [
    "DEFAULT_STAGE_KEYS",
    "ZONES",
    "SalesData",
    "activities",
    "aware_datetimes",
    "currencies",
    "customers",
    "gaps",
    "identifiers",
    "key_persons",
    "leads",
    "money",
    "names",
    "opportunities",
    "sales_data",
    "sales_reps",
]
