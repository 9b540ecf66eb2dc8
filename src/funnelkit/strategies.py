"""
Hypothesis strategies for funnelkit's values, for testing your own rules.

Needs the ``hypothesis`` extra (``pip install -e '.[hypothesis]'`` in a clone).  Every
strategy draws values that are valid by construction; :func:`sales_data` draws
a whole, consistent book of business (activities point at existing customers,
opportunities at their customer's key persons, and so on); :func:`pipelines`,
:func:`event_histories` and :func:`teams` draw pipelines, histories the stage
engine made, and teams.

funnelkit registers these strategies through hypothesis' entry point, so
``st.from_type(Opportunity)``, ``st.from_type(Pipeline)`` and
``st.builds(f)`` of a function taking funnelkit values draw valid ones too.

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
from typing import Any, NamedTuple, TypeVar

import attrs
from hypothesis import strategies as st

from ._checks import a_type, at, identifier, plain, show
from ._edits import Edit, OwnerChanged, edit
from ._money import Money, currency_minor_units, known_currencies
from ._time import canonical
from .assignment import Team, Window
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
from .errors import MilestoneNotMet, ValidationError
from .stages import (
    ActivityCount,
    EvidenceRecorded,
    ForecastCategory,
    MoveKind,
    NoOpenGaps,
    Override,
    Pipeline,
    Requirement,
    Stage,
    StageChanged,
    StageOutcome,
    TimeInStage,
    advance,
    lose,
    reopen,
)

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
        raise ValidationError.single(name, msg, code="type")


def _check_keys(name: str, value: object, *, empty_ok: bool) -> tuple[str, ...]:
    """
    *value* as a tuple of stage keys (non-empty strs), or a ValidationError at *name*.
    """
    if not isinstance(value, list | tuple) or not all(isinstance(k, str) and k for k in value):
        msg = f"{show(value)} is not a list or tuple of stage keys"
        raise ValidationError.single(name, msg, code="type")
    if not value and not empty_ok:
        raise ValidationError.single(name, "() is empty; give at least one stage key", code="empty")
    return tuple(value)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    value = plain(value)  # a numpy int as an int
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        msg = f"{show(value)} is not an int in [{low}, {high}]"
        code = "type" if isinstance(value, bool) or not isinstance(value, int) else "range"
        raise ValidationError.single(name, msg, code=code)
    return value


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
            raise ValidationError.single(
                bound, msg, code="type" if not isinstance(value, dt.datetime) else "timezone"
            )
    if min_value > max_value:
        msg = f"{min_value.isoformat()} is after max_value {max_value.isoformat()}"
        raise ValidationError.single("min_value", msg, code="order")
    if not isinstance(zones, list | tuple) or not all(isinstance(z, dt.tzinfo) for z in zones):
        msg = f"{show(zones)} is not a list or tuple of tzinfo objects"
        raise ValidationError.single("zones", msg, code="type")
    if not zones:
        raise ValidationError.single("zones", "() is empty; give at least one tzinfo", code="empty")
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
        raise ValidationError.single("max_minor", msg, code="order")
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
        forecast_category=draw(_opt(st.sampled_from(_OPEN_CATEGORIES)))
        if status is OpportunityStatus.OPEN
        else None,
    )


class _StagePlan(NamedTuple):
    """
    Where drawn opportunities stand: the pipeline's key, the stages to draw
    from, and which of them are won and lost.
    """

    key: str
    stages: tuple[str, ...]
    won: frozenset[str]
    lost: frozenset[str]


def _stage_plan(pipeline: object, stages: object, won_stages: object, lost_stages: object) -> _StagePlan:
    """
    The checked stage arguments of :func:`opportunities` and :func:`sales_data`.
    """
    if isinstance(pipeline, Pipeline):
        for name, value in (("won_stages", won_stages), ("lost_stages", lost_stages)):
            if value is not None:
                msg = (
                    f"{show(value)} given with a Pipeline, whose stages say which are won and lost; "
                    f"leave {name} out"
                )
                raise ValidationError.single(name, msg, code="conflict")
        keys = pipeline.keys
        if stages is not None:
            keys = _check_keys("stages", stages, empty_ok=False)
            unknown = [k for k in keys if k not in pipeline]
            if unknown:
                known = show(pipeline.keys)
                msg = f"{show(unknown)} are not stages of pipeline {pipeline.key!r}; give some of {known}"
                raise ValidationError.single("stages", msg, code="reference")
        won = frozenset(s.key for s in pipeline.won_stages)
        lost = frozenset(s.key for s in pipeline.lost_stages)
        return _StagePlan(pipeline.key, keys, won, lost)
    if not isinstance(pipeline, str):
        msg = f"{show(pipeline)} is {a_type(pipeline)}; expected a Pipeline or a pipeline key (a str)"
        raise ValidationError.single("pipeline", msg, code="type")
    problem = identifier(pipeline)
    if problem is not None:
        raise at("pipeline", problem)
    keys = _check_keys("stages", DEFAULT_STAGE_KEYS if stages is None else stages, empty_ok=False)
    won_keys = _check_keys("won_stages", ("won",) if won_stages is None else won_stages, empty_ok=True)
    lost_keys = _check_keys("lost_stages", ("lost",) if lost_stages is None else lost_stages, empty_ok=True)
    return _StagePlan(pipeline, keys, frozenset(won_keys), frozenset(lost_keys))


def opportunities(
    *,
    pipeline: Pipeline | str = "default",
    stages: Sequence[str] | None = None,
    won_stages: Sequence[str] | None = None,
    lost_stages: Sequence[str] | None = None,
) -> st.SearchStrategy[Opportunity]:
    """
    Opportunities in *pipeline*, at one of *stages*; the status agrees with the
    stage (won in a won stage, lost in a lost one, open elsewhere).

    *pipeline* is a :class:`~funnelkit.stages.Pipeline`, whose stages the
    opportunities stand at (*stages*, when given, narrows them; which are won
    and lost is the pipeline's to say), or a pipeline key: then *stages*
    (by default :data:`DEFAULT_STAGE_KEYS`), *won_stages* (``("won",)``) and
    *lost_stages* (``("lost",)``) say what the stages are.

    Cost: O(1) to build; each draw is bounded by hypothesis's own limits.
    """
    plan = _stage_plan(pipeline, stages, won_stages, lost_stages)

    @st.composite
    def build(draw: st.DrawFn) -> Opportunity:
        return _draw_opportunity(
            draw,
            id=draw(identifiers()),
            customer_id=draw(identifiers()),
            owner=draw(identifiers()),
            key_person_ids=(),
            pipeline=plan.key,
            stages=plan.stages,
            won_stages=plan.won,
            lost_stages=plan.lost,
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
    pipeline: Pipeline | str = "default",
    stages: Sequence[str] | None = None,
    won_stages: Sequence[str] | None = None,
    lost_stages: Sequence[str] | None = None,
) -> st.SearchStrategy[SalesData]:
    """
    Reps, customers, key persons, opportunities, activities and leads that
    refer to each other consistently: every customer's owner is one of the
    reps, every key person belongs to a drawn customer, every opportunity's
    key persons belong to its customer, every activity points at an existing
    rep, customer, and (if any) one of that customer's opportunities.
    Ids are unique per entity type.  *pipeline*, *stages*, *won_stages* and
    *lost_stages* say where the opportunities stand, as for :func:`opportunities`.

    Cost: O(1) to build; a draw is O(the max_* sizes).
    """
    sizes = _Sizes(
        *(
            _check_int(f"max_{name}", high, 0, 1000)
            for name, high in (
                ("reps", max_reps),
                ("customers", max_customers),
                ("opportunities", max_opportunities),
                ("activities", max_activities),
                ("leads", max_leads),
            )
        )
    )
    max_reps = sizes.reps
    if max_reps < 1:
        raise ValidationError.single("max_reps", "0 reps; need at least 1 to own the deals", code="range")
    plan = _stage_plan(pipeline, stages, won_stages, lost_stages)
    return _sales_data(sizes, plan.key, plan.stages, tuple(plan.won), tuple(plan.lost))


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


# --- pipelines, event histories, teams ---------------------------------------

#: The most open stages :func:`pipelines` may be asked for, and the most events
#: :func:`event_histories` and reps :func:`teams` may be asked for.
MAX_DRAWN_STAGES = 50
MAX_DRAWN_EVENTS = 1_000
MAX_DRAWN_REPS = 1_000


def _check_flag(name: str, value: object) -> bool:
    value = plain(value)  # numpy's bool as a bool
    if not isinstance(value, bool):
        msg = f"{show(value)} is {a_type(value)}; expected True or False"
        raise ValidationError.single(name, msg, code="type")
    return value


def _requirements() -> st.SearchStrategy[Requirement]:
    return st.one_of(
        st.builds(TimeInStage, days=st.integers(0, 30)),
        st.builds(
            ActivityCount,
            kinds=st.frozensets(st.sampled_from(ActivityKind), min_size=1, max_size=2),
            at_least=st.integers(1, 3),
        ),
        st.builds(NoOpenGaps),
        st.builds(EvidenceRecorded, key=names()),
    )


_OPEN_CATEGORIES = tuple(c for c in ForecastCategory if c is not ForecastCategory.CLOSED)


@st.composite
def _pipelines(draw: st.DrawFn, max_open: int, with_requirements: bool) -> Pipeline:
    allow_skip, allow_backward, allow_reopen = (draw(st.booleans()) for _ in range(3))
    n_open = draw(st.integers(1, max_open))
    n_won = draw(st.integers(1, 2)) if allow_skip else 1  # a second won stage is reached by a skip
    n_lost = draw(st.integers(1, 2))
    size = n_open + n_won + n_lost
    keys = draw(st.lists(identifiers(), min_size=size, max_size=size, unique=True))
    chances = sorted(draw(st.lists(st.integers(0, 1000), min_size=n_open, max_size=n_open)))
    reqs = st.lists(_requirements(), max_size=2) if with_requirements else st.just([])
    opens = [
        Stage(
            key=keys[i],
            label=draw(names()),
            probability=Decimal(chances[i]).scaleb(-3),
            category=draw(st.sampled_from(_OPEN_CATEGORIES)),
            stall_after_days=draw(_opt(st.integers(1, 365))),
            min_dwell=draw(_opt(st.timedeltas(dt.timedelta(0), dt.timedelta(days=3)))),
            requirements=draw(reqs),
        )
        for i in range(n_open)
    ]
    won = [
        Stage(key=keys[n_open + i], label=draw(names()), probability=Decimal(1), outcome=StageOutcome.WON)
        for i in range(n_won)
    ]
    stages = opens + won  # the forward path: open stages, then the won ones
    for i in range(n_lost):  # lost stages stand anywhere after the first
        key = keys[n_open + n_won + i]
        lost = Stage(key=key, label=draw(names()), probability=0, outcome=StageOutcome.LOST)
        stages.insert(draw(st.integers(1, len(stages))), lost)
    return Pipeline(
        key=draw(identifiers()),
        label=draw(names()),
        stages=stages,
        allow_skip=allow_skip,
        allow_backward=allow_backward,
        allow_reopen=allow_reopen,
        lost_reasons=draw(st.lists(names(), max_size=3, unique=True)),
    )


def pipelines(*, max_open_stages: int = 6, with_requirements: bool = True) -> st.SearchStrategy[Pipeline]:
    """
    Valid pipelines: 1 to *max_open_stages* open stages (at most 50) with
    probabilities that never fall, then one won stage (two when skips are
    allowed), and one or two lost stages anywhere after the first; any
    forecast categories, stall limits and minimum dwells; any mix of
    ``allow_skip``, ``allow_backward`` and ``allow_reopen``; sometimes a list
    of lost reasons.  With *with_requirements*, open stages carry up to two
    simple milestones (time in stage, activity counts, no open gaps,
    evidence recorded), which a deal rarely meets without an override.

    Cost: O(1) to build; a draw is O(max_open_stages).
    """
    max_open = _check_int("max_open_stages", max_open_stages, 1, MAX_DRAWN_STAGES)
    return _pipelines(max_open, _check_flag("with_requirements", with_requirements))


@attrs.frozen(kw_only=True)
class EventHistory:
    """
    The life of one deal, as :func:`event_histories` draws it: *start* in
    the first stage of *pipeline*, the *events* the engine made as it moved,
    and where it ended; ``replay(start, events, pipeline=pipeline) == end``.
    """

    pipeline: Pipeline
    start: Opportunity
    events: tuple[StageChanged | Edit | OwnerChanged, ...]
    end: Opportunity


_STEP = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=60))
_OVERRIDES = st.builds(Override, reason=names(), by=identifiers())


def _move(
    draw: st.DrawFn, opp: Opportunity, pipeline: Pipeline, to: str, now: dt.datetime
) -> tuple[Opportunity, StageChanged]:
    """
    One move of *opp* to *to* (a move the pipeline allows), as the engine makes it.
    """
    actor = draw(identifiers())
    plan = pipeline.plan(opp.stage, to)
    kind = plan.kind if plan is not None else None
    if kind is MoveKind.LOSE:
        reasons = pipeline.lost_reasons
        reason = draw(st.sampled_from(reasons) if reasons else names())
        return lose(opp, pipeline, reason=reason, now=now, actor=actor, to=to)
    if kind is MoveKind.REOPEN:
        return reopen(opp, pipeline, now=now, actor=actor, to=to)
    override = draw(_opt(_OVERRIDES))
    try:
        return advance(opp, pipeline, now=now, actor=actor, to=to, override=override)
    except MilestoneNotMet:  # no work was logged: a manager lets it through
        return advance(opp, pipeline, now=now, actor=actor, to=to, override=draw(_OVERRIDES))


def _edit(
    draw: st.DrawFn, opp: Opportunity, now: dt.datetime
) -> tuple[Opportunity, tuple[Edit | OwnerChanged, ...]]:
    """
    A rep's edit of *opp* at *now*: some of its amount, expected close and
    category override, as :func:`~funnelkit.stages.edit` makes it, or a
    change of owner.
    """
    actor = draw(identifiers())
    if draw(st.integers(0, 4)) == 0:
        to = draw(identifiers().filter(lambda rep: rep != opp.owner))
        version = opp.version + 1
        moved = OwnerChanged(
            kind="opportunity", id=opp.id, from_rep=opp.owner, to_rep=to, at=now, actor=actor,
            reason="reassigned", why="drawn", version=version,
        )  # fmt: skip
        return attrs.evolve(opp, owner=to, version=version), (moved,)
    currency = opp.amount.currency if opp.amount is not None else "USD"
    fields: dict[str, st.SearchStrategy[Any]] = {
        "amount": _opt(money(currency=currency)),
        "expected_close": _opt(_dates()),
        "forecast_category": _opt(st.sampled_from(_OPEN_CATEGORIES)),
    }
    chosen = draw(st.lists(st.sampled_from(tuple(fields)), min_size=1, max_size=3, unique=True))
    changed: dict[str, Any] = {name: draw(fields[name]) for name in chosen}
    return edit(opp, now=now, actor=actor, **changed)


@st.composite
def _histories(
    draw: st.DrawFn,
    pipeline: st.SearchStrategy[Pipeline],
    max_events: int,
    min_events: int = 0,
    edits: bool = False,
) -> EventHistory:
    chosen = draw(pipeline)
    created = draw(_CREATED)
    start = Opportunity(
        id=draw(identifiers()),
        customer_id=draw(identifiers()),
        owner=draw(identifiers()),
        pipeline=chosen.key,
        stage=chosen.first.key,
        created_at=created,
        stage_entered_at=created,
        amount=draw(_opt(_ANY_MONEY)),
    )
    opp, now = start, canonical(created)
    events: list[StageChanged | Edit | OwnerChanged] = []
    for _ in range(draw(st.integers(min_events, max_events))):  # a first stage is open: it has moves
        targets = chosen.moves_from(opp.stage)
        if edits and (not targets or draw(st.booleans())):
            now += draw(_STEP)
            opp, edited = _edit(draw, opp, now)
            events.extend(edited)
            continue
        if not targets:  # won, or lost for good
            break
        now += draw(_STEP)
        opp, event = _move(draw, opp, chosen, draw(st.sampled_from(targets)), now)
        events.append(event)
    return EventHistory(pipeline=chosen, start=start, events=tuple(events), end=opp)


def event_histories(
    *, pipeline: Pipeline | None = None, max_events: int = 8, edits: bool = False
) -> st.SearchStrategy[EventHistory]:
    """
    Histories of one deal that the stage engine accepts: a new opportunity in
    the first stage of *pipeline* (by default one drawn by :func:`pipelines`)
    and up to *max_events* moves (at most 1,000), each drawn among those the
    pipeline allows and made by :func:`~funnelkit.stages.advance`,
    :func:`~funnelkit.stages.lose` or :func:`~funnelkit.stages.reopen`, days
    apart; an unmet milestone is passed by an override, so some moves are
    hasty.  The history stops early at a final stage.

    With *edits*, about half the steps are instead a rep's edit of the
    amount (in the deal's currency), the expected close or the category
    override (:func:`~funnelkit.stages.edit`, one event per field changed),
    or now and then a change of owner, also after the deal closed.

    Cost: O(1) to build; a draw is O(max_events) engine moves.
    """
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        msg = f"{show(pipeline)} is {a_type(pipeline)}; expected a Pipeline, or None to draw one"
        raise ValidationError.single("pipeline", msg, code="type")
    most = _check_int("max_events", max_events, 0, MAX_DRAWN_EVENTS)
    with_edits = _check_flag("edits", edits)
    return _histories(pipelines() if pipeline is None else st.just(pipeline), most, edits=with_edits)


def teams(*, max_reps: int = 5) -> st.SearchStrategy[Team]:
    """
    Teams of 1 to *max_reps* reps (at most 1,000) with unique ids, the first
    of them active, what some of them have open (within their capacity or
    beyond it), any capacity window and any of :data:`ZONES`.

    Cost: O(1) to build; a draw is O(max_reps).
    """
    most = _check_int("max_reps", max_reps, 1, MAX_DRAWN_REPS)
    return _teams(most)


@st.composite
def _teams(draw: st.DrawFn, max_reps: int) -> Team:
    reps = draw(st.lists(_REPS, min_size=1, max_size=max_reps, unique_by=lambda r: r.id))
    reps[0] = attrs.evolve(reps[0], active=True)  # a team routes to its active reps: one at least
    load = {r.id: draw(st.integers(0, (r.capacity or 10) + 2)) for r in reps if draw(st.booleans())}
    return Team(reps=reps, load=load, window=draw(st.sampled_from(Window)), tz=draw(st.sampled_from(ZONES)))


def _stage_events() -> st.SearchStrategy[StageChanged]:
    """
    Single stage events, each from a history the engine made (for ``st.from_type(StageChanged)``).
    """
    return _histories(pipelines(), 8, 1).flatmap(lambda h: st.sampled_from(h.events))


def _stages() -> st.SearchStrategy[Stage]:
    """
    Single stages, each of a valid pipeline (for ``st.from_type(Stage)``).
    """
    return pipelines().flatmap(lambda p: st.sampled_from(p.stages))


# The classes defined here exist only once this module is imported: register
# them now.  Every other type is registered by funnelkit's hypothesis entry
# point (funnelkit._hypothesis), when hypothesis is imported.
st.register_type_strategy(SalesData, st.deferred(sales_data))
st.register_type_strategy(EventHistory, st.deferred(event_histories))


__all__ = [
    "DEFAULT_STAGE_KEYS",
    "MAX_DRAWN_EVENTS",
    "MAX_DRAWN_REPS",
    "MAX_DRAWN_STAGES",
    "ZONES",
    "EventHistory",
    "SalesData",
    "activities",
    "aware_datetimes",
    "currencies",
    "customers",
    "event_histories",
    "gaps",
    "identifiers",
    "key_persons",
    "leads",
    "money",
    "names",
    "opportunities",
    "pipelines",
    "sales_data",
    "sales_reps",
    "teams",
]
