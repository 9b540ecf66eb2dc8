"""Tests for the entities: construction, validation, conversion and evolution."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import attrs
import pendulum
import pytest
from hypothesis import given, settings

from _problems import problems_of, raises_problems
from funnelkit import (
    Activity,
    ActivityKind,
    CompanySize,
    Customer,
    Gap,
    KeyPerson,
    Lead,
    LeadStatus,
    Money,
    Opportunity,
    OpportunityStatus,
    Role,
    SalesRep,
    Stance,
    Tier,
    ValidationError,
)
from funnelkit.strategies import sales_data

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
T1 = dt.datetime(2026, 1, 12, 9, tzinfo=UTC)

MINIMAL = {
    Customer: {"id": "c-1", "name": "Acme", "created_at": T0},
    KeyPerson: {"id": "kp-1", "customer_id": "c-1", "name": "Wang Li", "role": "decision_maker"},
    Opportunity: {
        "id": "o-1",
        "customer_id": "c-1",
        "owner": "rep-1",
        "pipeline": "default",
        "stage": "contact",
        "created_at": T0,
        "stage_entered_at": T0,
    },
    Activity: {"id": "a-1", "kind": "visit", "at": T0, "rep_id": "rep-1", "customer_id": "c-1"},
    SalesRep: {"id": "rep-1", "name": "Zhang San"},
    Lead: {"id": "l-1", "source": "web", "created_at": T0},
    Gap: {"description": "who signs the contract"},
}


def build(cls, **changes):
    return cls(**{**MINIMAL[cls], **changes})


class TestConstruction:
    @pytest.mark.parametrize("cls", list(MINIMAL))
    def test_minimal_fields_suffice(self, cls):
        """Each entity builds from its required fields; defaults fill the rest."""
        obj = build(cls)
        for name, value in MINIMAL[cls].items():
            assert getattr(obj, name) == value

    def test_defaults(self):
        """Defaults are the documented ones."""
        assert build(KeyPerson).stance is Stance.UNKNOWN
        opp = build(Opportunity)
        assert (opp.status, opp.version, opp.amount, opp.gaps) == (OpportunityStatus.OPEN, 0, None, ())
        assert build(Lead).status is LeadStatus.NEW
        rep = build(SalesRep)
        assert (rep.active, rep.capacity, rep.territories) == (True, None, frozenset())

    @pytest.mark.parametrize("cls", list(MINIMAL))
    def test_keyword_only(self, cls):
        """Fields are keyword-only: positional construction is a TypeError."""
        with pytest.raises(TypeError):
            cls(*MINIMAL[cls].values())

    def test_enum_values_are_converted(self):
        """Enum fields take the member or its value."""
        assert build(Customer, tier="A", size="large").tier is Tier.A
        assert build(Customer, size="large").size is CompanySize.LARGE
        assert build(KeyPerson, role="facilitator", stance="champion").role is Role.FACILITATOR
        assert build(Activity, kind=ActivityKind.EMAIL).kind is ActivityKind.EMAIL

    def test_collections_are_frozen(self):
        """Lists become tuples and sets become frozensets, so entities hash."""
        opp = build(Opportunity, key_person_ids=["kp-1", "kp-2"], competitors=["Rival"], gaps=[build(Gap)])
        assert opp.key_person_ids == ("kp-1", "kp-2")
        assert isinstance(opp.gaps, tuple)
        cust = build(Customer, tags=["vip", "cn"])
        assert cust.tags == frozenset({"vip", "cn"})
        assert hash(opp) == hash(
            build(Opportunity, key_person_ids=("kp-1", "kp-2"), competitors=("Rival",), gaps=(build(Gap),))
        )

    def test_times_stored_in_utc(self):
        """A pendulum DateTime in any zone is stored as the same instant, a stdlib UTC datetime."""
        p = pendulum.datetime(2026, 1, 5, 17, tz="Asia/Shanghai")
        c = build(Customer, created_at=p)
        assert type(c.created_at) is dt.datetime
        assert c.created_at == T0
        assert c.created_at.tzinfo is UTC

    def test_order_across_the_repeated_hour(self):
        """01:45 EDT then 01:30 EST is 45 minutes later, not earlier (DST fall-back night)."""
        ny = zoneinfo.ZoneInfo("America/New_York")
        first = dt.datetime(2026, 11, 1, 1, 45, tzinfo=ny, fold=0)
        second = dt.datetime(2026, 11, 1, 1, 30, tzinfo=ny, fold=1)
        opp = build(Opportunity, created_at=first, stage_entered_at=second)
        assert opp.stage_entered_at - opp.created_at == dt.timedelta(minutes=45)
        with raises_problems(("stage_entered_at", "order")):
            build(Opportunity, created_at=second, stage_entered_at=first)
        assert build(Opportunity, created_at=first, stage_entered_at=first) != build(
            Opportunity, created_at=second, stage_entered_at=second
        )

    def test_probability_from_float_is_what_was_typed(self):
        """intent_score 0.3 is exactly Decimal('0.3'), not 0.299999..."""
        assert build(Lead, intent_score=0.3).intent_score == Decimal("0.3")
        assert build(Lead, intent_score="1").intent_score == Decimal(1)
        assert build(Lead, intent_score=0).intent_score == Decimal(0)


# (entity, field, bad value, fragment of the message)
BAD_FIELDS = [
    (Customer, "id", "", "empty"),
    (Customer, "id", " c-1", "format"),
    (Customer, "id", 7, "type"),
    (Customer, "name", "   ", "empty"),
    (Customer, "created_at", dt.datetime(2026, 1, 5), "timezone"),
    (Customer, "created_at", "2026-01-05", "type"),
    (Customer, "tier", "D", "choice"),
    (
        Customer,
        "size",
        "huge",
        "choice",
    ),
    (Customer, "purchasing_power", 100, "type"),
    (Customer, "purchasing_power", Money.of(-1, "USD"), "range"),
    (Customer, "tags", "vip", "type"),
    (Customer, "tags", ["ok", ""], "empty"),
    (Customer, "tags[0]", [["x"]], "type"),
    (Customer, "owner", "", "empty"),
    (
        KeyPerson,
        "role",
        "boss",
        "choice",
    ),
    (KeyPerson, "stance", None, "choice"),
    (KeyPerson, "wants", 5, "type"),
    (
        Opportunity,
        "status",
        "pending",
        "choice",
    ),
    (Opportunity, "version", -1, "range"),
    (Opportunity, "version", True, "type"),
    (Opportunity, "amount", "1000", "type"),
    (Opportunity, "amount", Money.of("-0.01", "USD"), "range"),
    (Opportunity, "expected_close", T0, "type"),
    (Opportunity, "key_person_ids", ["kp-1", "kp-1"], "duplicate"),
    (Opportunity, "key_person_ids[1]", ["kp-1", 2], "type"),
    (Opportunity, "key_person_ids", {"kp-1", "kp-2"}, "type"),
    (Opportunity, "gaps[0]", [{"description": "x"}], "type"),
    (Opportunity, "id", "o\n1", "format"),
    (Opportunity, "id", "o" * 257, "limit"),
    (
        Opportunity,
        "stage_entered_at",
        dt.datetime(2026, 1, 1, tzinfo=UTC),
        "order",
    ),
    (
        Opportunity,
        "lost_reason",
        "price",
        "conflict",
    ),
    (Activity, "kind", "fax", "choice"),
    (Activity, "duration", dt.timedelta(minutes=-1), "range"),
    (Activity, "duration", 300, "type"),
    (Activity, "next_step_due", dt.date(2026, 1, 9), "conflict"),
    (Activity, "replied", "yes", "type"),
    (SalesRep, "capacity", 2.5, "type"),
    (Opportunity, "key_person_ids[0]", ["", "kp-2", ""], "empty"),
    (Opportunity, "key_person_ids[2]", ["", "kp-2", ""], "empty"),
    (SalesRep, "active", 1, "type"),
    (Lead, "intent_score", 1.5, "range"),
    (Lead, "intent_score", -0.1, "range"),
    (Lead, "intent_score", float("nan"), "type"),
    (Lead, "intent_score", "high", "type"),
    (Lead, "intent_score", True, "type"),
    (Lead, "estimated_value", Money.of(-5, "EUR"), "range"),
    (Gap, "due", "tomorrow", "type"),
    (Gap, "closed", None, "type"),
]


@pytest.mark.parametrize(("cls", "field", "value", "code"), BAD_FIELDS)
def test_bad_field_is_named_with_its_code(cls, field, value, code):
    """Every bad field raises ValidationError naming the field and the kind of problem."""
    with pytest.raises(ValidationError) as exc:
        build(cls, **{field.split("[")[0]: value})
    assert (field, code) in problems_of(exc)


def test_every_problem_is_reported_at_once():
    """One error lists every bad field, not just the first."""
    with raises_problems(
        ("id", "empty"),
        ("owner", "type"),
        ("created_at", "timezone"),
        ("status", "choice"),
        ("version", "range"),
    ) as exc:
        build(Opportunity, id="", owner=3, created_at=dt.datetime(2026, 1, 1), status="nope", version=-2)
    assert str(exc.value).startswith("5 problems:\n  - id: ")


def test_cross_field_rules_wait_for_valid_fields():
    """Cross-field rules run only once every field is valid on its own."""
    with raises_problems(("id", "empty")):
        build(Opportunity, id="", stage_entered_at=dt.datetime(2026, 1, 1, tzinfo=UTC))


def test_validation_error_is_a_value_error():
    """Hosts that catch ValueError catch funnelkit's input errors too."""
    with pytest.raises(ValueError) as exc:
        build(SalesRep, id="")
    assert problems_of(exc) == [("id", "empty")]


class TestValues:
    def test_frozen(self):
        """Entities cannot be changed in place."""
        opp = build(Opportunity)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            opp.stage = "won"  # type: ignore[misc]

    def test_evolve_checks_again(self):
        """attrs.evolve returns a new, checked entity and leaves the old one alone."""
        opp = build(Opportunity)
        moved = attrs.evolve(opp, stage="needs_confirmed", stage_entered_at=T1, version=1)
        assert (opp.stage, moved.stage, moved.version) == ("contact", "needs_confirmed", 1)
        with raises_problems(("version", "range")):
            attrs.evolve(opp, version=-1)

    def test_equality_is_by_value(self):
        """Two entities with equal fields are equal, whatever zone their times were given in."""
        a = build(Customer, created_at=T0)
        b = build(Customer, created_at=T0.astimezone(dt.timezone(dt.timedelta(hours=8))))
        assert a == b


class TestDerived:
    def test_prospect_value(self):
        """Prospect value = available funds x probability of conversion (DOMAIN.md, 002)."""
        lead = build(Lead, estimated_value=Money.of("50000", "CNY"), intent_score="0.4")
        assert lead.prospect_value == Money.of("20000", "CNY")
        assert build(Lead, estimated_value=Money.of(1, "CNY")).prospect_value is None

    def test_open_gaps(self):
        """open_gaps lists the gaps not closed, in order."""
        g1, g2, g3 = (
            build(Gap, description="a"),
            build(Gap, description="b", closed=True),
            build(Gap, description="c"),
        )
        assert build(Opportunity, gaps=[g1, g2, g3]).open_gaps == (g1, g3)

    def test_is_open(self):
        """Only an open opportunity is open."""
        assert build(Opportunity).is_open
        assert not build(Opportunity, status="lost", lost_reason="price").is_open


@settings(max_examples=60)  # a whole sales book an example: 60 cover it, 200 took 12 s
@given(sales_data())
def test_generated_data_is_consistent(data):
    """Strategies draw consistent books: every reference resolves and ids are unique."""
    rep_ids = {r.id for r in data.reps}
    cust_ids = {c.id for c in data.customers}
    kp_customer = {p.id: p.customer_id for p in data.key_persons}
    opp_customer = {o.id: o.customer_id for o in data.opportunities}
    for entities in (
        data.reps,
        data.customers,
        data.key_persons,
        data.opportunities,
        data.activities,
        data.leads,
    ):
        assert len({e.id for e in entities}) == len(entities)
    assert all(c.owner is None or c.owner in rep_ids for c in data.customers)
    assert all(p.customer_id in cust_ids for p in data.key_persons)
    for o in data.opportunities:
        assert o.owner in rep_ids
        assert o.customer_id in cust_ids
        assert all(kp_customer[k] == o.customer_id for k in o.key_person_ids)
        assert (o.status is OpportunityStatus.WON) == (o.stage == "won")
        assert (o.status is OpportunityStatus.LOST) == (o.stage == "lost")
    for a in data.activities:
        assert a.rep_id in rep_ids
        assert a.customer_id in cust_ids
        assert a.opportunity_id is None or opp_customer[a.opportunity_id] == a.customer_id
        assert all(kp_customer[k] == a.customer_id for k in a.key_person_ids)
