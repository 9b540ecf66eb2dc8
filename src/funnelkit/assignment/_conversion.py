"""
Lead conversion: once a lead's needs are known it becomes an account
(customer, key persons) and an opportunity.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import attrs

from .. import _checks as c
from .._money import Money
from .._time import instant
from ..entities import Customer, KeyPerson, Lead, LeadStatus, Opportunity, Role
from ..errors import ClaimConflict, Problem, ValidationError
from ..stages import Pipeline


@attrs.frozen(kw_only=True)
class Conversion:
    """
    What a converted lead became: the lead (status ``converted``), the
    customer (new, or the existing one given), the key persons created, and
    the opportunity in the pipeline's first stage, whose ``lead_id`` links
    back to the lead.
    """

    lead: Lead
    customer: Customer
    key_persons: tuple[KeyPerson, ...]
    opportunity: Opportunity


def convert_lead(
    lead: Lead,
    *,
    pipeline: Pipeline,
    now: dt.datetime,
    opportunity_id: str,
    customer_id: str | None = None,
    customer: Customer | None = None,
    contact_id: str | None = None,
    contact_role: Role | str = Role.USER,
    amount: Money | None = None,
    expected_close: dt.date | None = None,
) -> Conversion:
    """
    Convert *lead* into a customer, key persons and an opportunity.  Cost: O(1).

    The lead must be owned (assign it first), still open, and have its
    *needs* written down: a lead becomes an opportunity once its needs are
    known.  Give *customer_id* for a new customer named after the lead's
    company, or an existing *customer*; a customer owned by another rep is
    refused with :class:`~funnelkit.errors.ClaimConflict` (two reps never own
    one customer).  Give *contact_id* to turn the lead's contact into a key
    person with *contact_role* (default ``user``: whoever signed up for a
    trial uses the product).  The opportunity's amount defaults to the
    lead's estimated value.  Ids come from the host; funnelkit makes none up.
    Every problem is reported at once and nothing is half-made.
    """
    c.require(lead, Lead, "a Lead", "lead")
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    now = instant(now)
    problems = [
        *_lead_problems(lead),
        *_customer_problems(lead, customer, customer_id),
        *_field_problems(
            lead,
            opportunity_id=opportunity_id,
            customer_id=customer_id,
            contact_id=contact_id,
            contact_role=contact_role,
            amount=amount,
            expected_close=expected_close,
        ),
    ]
    if amount is None:
        amount = lead.estimated_value
    if problems:
        raise ValidationError(problems)
    owner = cast("str", lead.owner)
    account = _account(lead, customer, customer_id, owner, now)
    people: tuple[KeyPerson, ...] = ()
    if contact_id is not None and lead.contact_name is not None:
        people = (
            KeyPerson(id=contact_id, customer_id=account.id, name=lead.contact_name, role=contact_role),
        )
    opportunity = Opportunity(
        id=opportunity_id,
        customer_id=account.id,
        owner=owner,
        pipeline=pipeline.key,
        stage=pipeline.first.key,
        created_at=now,
        stage_entered_at=now,
        amount=amount,
        expected_close=expected_close,
        key_person_ids=tuple(p.id for p in people),
        lead_id=lead.id,
    )
    return Conversion(
        lead=attrs.evolve(lead, status=LeadStatus.CONVERTED),
        customer=account,
        key_persons=people,
        opportunity=opportunity,
    )


def _lead_problems(lead: Lead) -> list[Problem]:
    """Why *lead* cannot convert: no owner, no longer open, or needs not written down."""
    problems = []
    if lead.owner is None:
        problems.append(
            Problem(
                path="lead.owner",
                code="missing",
                message="None; assign the lead to a rep before converting it",
            )
        )
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
        problems.append(
            Problem(
                path="lead.status", code="state", message=f"{lead.status.value!r}; only an open lead converts"
            )
        )
    if not (lead.needs or "").strip():
        problems.append(
            Problem(
                path="lead.needs",
                code="missing",
                message=f"{lead.needs!r}; a lead converts once its needs are known",
            )
        )
    return problems


def _customer_problems(lead: Lead, customer: object, customer_id: str | None) -> list[Problem]:
    """What is wrong with the customer to convert into: exactly one of *customer* and *customer_id*."""
    problems = []
    if (customer is None) == (customer_id is None):
        problems.append(
            Problem(
                path="customer_id",
                code="missing" if customer is None else "conflict",
                message="give either customer_id (a new customer) or customer",
            )
        )
    if customer is not None and not isinstance(customer, Customer):
        problems.append(c.wrong_type(customer, "a Customer").prefixed("customer"))
    if customer is None and customer_id is not None and lead.company is None:
        problems.append(
            Problem(
                path="lead.company",
                code="missing",
                message="None; a new customer needs the lead's company name",
            )
        )
    return problems


def _field_problems(
    lead: Lead,
    *,
    opportunity_id: object,
    customer_id: object,
    contact_id: object,
    contact_role: object,
    amount: object,
    expected_close: object,
) -> list[Problem]:
    """The problems of the ids, role, amount and close date given."""
    problems: list[Problem] = []
    for name, value, check in (
        ("opportunity_id", opportunity_id, c.identifier),
        ("customer_id", customer_id, c.optional(c.identifier)),
        ("contact_id", contact_id, c.optional(c.identifier)),
        ("contact_role", contact_role, c.member_of(Role)),
        ("amount", amount, c.optional(c.instance_of(Money, "Money"))),
        ("expected_close", expected_close, c.optional(c.calendar_date)),
    ):
        result = check(c.to_enum(Role, value) if name == "contact_role" else value)  # type: ignore[arg-type]
        if result:
            problems.extend(c.as_problems(result, name))
    if contact_id is not None and lead.contact_name is None:
        msg = f"{c.show(contact_id)} given, but the lead has no contact_name"
        problems.append(Problem(path="contact_id", code="conflict", message=msg))
    if isinstance(amount, Money) and amount.amount < 0:
        problems.append(Problem(path="amount", code="range", message=f"{amount!r} is negative"))
    return problems


def _account(
    lead: Lead, customer: Customer | None, customer_id: str | None, owner: str, now: dt.datetime
) -> Customer:
    """The existing *customer*, now owned by *owner*, or a new one named after the lead's company."""
    if customer is not None:
        if customer.owner is not None and customer.owner != owner:
            raise ClaimConflict(key=customer.id, holder=customer.owner, expires_at=None, requested_by=owner)
        return customer if customer.owner == owner else attrs.evolve(customer, owner=owner)
    return Customer(
        id=cast("str", customer_id),
        name=cast("str", lead.company),
        created_at=now,
        industry=lead.industry,
        territory=lead.territory,
        size=lead.size,
        owner=owner,
    )
