"""Shared data for the stage engine tests: a small, hand-built account."""

import datetime as dt

import pytest

from funnelkit import Activity, Gap, KeyPerson, Opportunity
from funnelkit.stages import default_pipeline

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)


def at(days=0, hours=0):
    """T0 plus some time."""
    return T0 + dt.timedelta(days=days, hours=hours)


@pytest.fixture(scope="session")
def pipeline():
    return default_pipeline()


@pytest.fixture
def opp():
    return Opportunity(
        id="o-1",
        customer_id="c-1",
        owner="rep-1",
        pipeline="default",
        stage="contact",
        created_at=T0,
        stage_entered_at=T0,
    )


@pytest.fixture
def people():
    return [
        KeyPerson(id="kp-dm", customer_id="c-1", name="Wang Jun", role="decision_maker", stance="neutral"),
        KeyPerson(id="kp-rec", customer_id="c-1", name="Chen Yu", role="recommender", stance="champion"),
        KeyPerson(id="kp-sec", customer_id="c-1", name="Zhao Min", role="facilitator"),
    ]


def visit(act_id, when, **kw):
    base = {
        "id": act_id,
        "kind": "visit",
        "at": when,
        "rep_id": "rep-1",
        "customer_id": "c-1",
        "opportunity_id": "o-1",
        "purpose": "understand the plant",
        "needs_found": "downtime tracking",
    }
    base.update(kw)
    return Activity(**base)


def gap(description, closed=False):
    return Gap(description=description, closed=closed)
