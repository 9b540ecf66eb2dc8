"""
plant_lead_history(): seeded leads, early activity and conversions with a
known signal, to measure a lead score against the truth.

A history of leads alone, without the rest of a company: the work done on
each lead (calls, emails, visits, time to first contact) shifts its odds as
well as its source and size.  :func:`funnelkit.simulation.simulate` plants a
signal in its leads' source and size only (``LEAD_TRUTH``), inside a whole
company.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

import attrs

from .. import _checks as c
from .._money import Money
from ..entities import Activity, Lead, Opportunity
from ..errors import Problem, ValidationError

#: The most leads one call plants.
MAX_PLANTED = 1_000_000
_T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
_DAY = dt.timedelta(days=1)

#: The planted effects on the log odds of converting within 90 days.
TRUTH: Mapping[str, float] = MappingProxyType({
    "(intercept)": -2.2,
    "source=referral": 1.2,
    "source=fair": 0.7,
    "source=web": 0.0,
    "source=ads": -0.4,
    "source=cold": -0.9,
    "size=large": 0.5,
    "calls": 0.35,
    "emails": 0.1,
    "visits": 0.8,
    "response_days": -0.4,
})  # fmt: skip
_SOURCES = ("referral", "fair", "web", "ads", "cold")
_TERRITORIES = ("north", "south", "east", "west")
_SIZES = ("small", "medium", "large")


@attrs.frozen(kw_only=True)
class LeadHistory:
    """
    Planted history (:func:`plant_lead_history`): *leads*, their
    *activities* (logged against the lead's id as ``customer_id``; some
    after the first 14 days, which a 14-day window must ignore), the
    *opportunities* they converted into (``lead_id`` set), the *truth*
    (the planted log-odds effects, by feature name) and *end*, the first
    instant after the history.
    """

    leads: tuple[Lead, ...]
    activities: tuple[Activity, ...]
    opportunities: tuple[Opportunity, ...]
    truth: Mapping[str, float]
    end: dt.datetime


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; small means only)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def plant_lead_history(*, leads: int = 2_000, days: int = 365, seed: int = 0) -> LeadHistory:
    """
    *leads* leads created over *days* days, each with early activity in its
    first 14 days and a conversion within 90 days drawn from a planted
    logistic model (:data:`TRUTH`): referrals and fairs convert more, cold
    calls less, large companies more; each call, email and visit in the
    first 14 days raises the odds, each day waited for the first contact
    lowers them.  Territory and the lead's own intent score are noise.  A
    converted lead gets a meeting on the day it converts (after its
    window: a score that looked ahead would find it).  Seeded: one *seed*,
    one history.  At most 1,000,000 leads and 3,650 days.

    Cost: O(n) for n leads.
    """
    leads, days, seed = c.plain(leads), c.plain(days), c.plain(seed)
    problems: list[Problem] = []
    for name, value, most in (("leads", leads, MAX_PLANTED), ("days", days, 3650)):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(c.wrong_type(value, "an int >= 1").prefixed(name))
        elif not 1 <= value <= most:
            msg = f"{c.show(value)} is not an int from 1 to {most:,}"
            problems.append(Problem(path=name, code="range", message=msg))
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.append(c.wrong_type(seed, "an int").prefixed("seed"))
    if problems:
        raise ValidationError(problems)
    rng = random.Random(seed)  # noqa: S311 - seeded test data, not cryptography
    out_leads: list[Lead] = []
    acts: list[Activity] = []
    opps: list[Opportunity] = []
    for i in range(leads):
        lid = f"lead{i:06d}"
        created = _T0 + dt.timedelta(seconds=rng.randrange(days * 86_400))
        source = rng.choice(_SOURCES)
        size = rng.choice(_SIZES)
        out_leads.append(
            Lead(
                id=lid,
                source=source,
                created_at=created,
                territory=rng.choice(_TERRITORIES),
                size=size,
                estimated_value=Money.of(rng.randrange(5, 500) * 1000, "CNY"),
                intent_score=Decimal(f"0.{rng.randrange(1, 100):02d}"),  # exact, whatever the context
            )
        )
        eta = (
            TRUTH["(intercept)"] + TRUTH[f"source={source}"] + (TRUTH["size=large"] if size == "large" else 0)
        )
        n = 0
        if rng.random() < 0.8:  # someone answers the lead
            wait = min(rng.expovariate(1.0), 13.0)
            eta += TRUTH["response_days"] * wait
            first = created + dt.timedelta(days=wait)
            kinds = ["call"] * (1 + _poisson(rng, 1.0)) + ["email"] * _poisson(rng, 1.5)
            kinds += ["visit"] * (rng.random() < 0.25)
            for j, kind in enumerate(kinds):
                at = first if j == 0 else first + dt.timedelta(days=rng.uniform(0, 13.5 - wait))
                eta += TRUTH[kind + "s"]
                acts.append(Activity(id=f"{lid}-a{n}", kind=kind, at=at, rep_id="rep01", customer_id=lid))
                n += 1
        if rng.random() < 1 / (1 + math.exp(-eta)):
            won = created + dt.timedelta(days=rng.uniform(15, 85))
            opps.append(
                Opportunity(
                    id=f"opp-{lid}",
                    customer_id=f"cust-{lid}",
                    owner="rep01",
                    pipeline="default",
                    stage="contact",
                    created_at=won,
                    stage_entered_at=won,
                    lead_id=lid,
                )
            )
            acts.append(Activity(id=f"{lid}-a{n}", kind="meeting", at=won, rep_id="rep01", customer_id=lid))
    return LeadHistory(
        leads=tuple(out_leads),
        activities=tuple(acts),
        opportunities=tuple(opps),
        truth=TRUTH,
        end=_T0 + (days + 90) * _DAY,
    )
