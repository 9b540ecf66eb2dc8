"""The six reps A-F of source 004, and small builders for leads and reps."""

import datetime as dt

from funnelkit import Lead, Money, SalesRep
from funnelkit.assignment import Team

NINE = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def rep(rep_id, capacity=None, *, active=True, **kw):
    """A rep named after its id."""
    return SalesRep(id=rep_id, name=rep_id.upper(), capacity=capacity, active=active, **kw)


def lead(lead_id, *, at=NINE, value=None, currency="CNY", **kw):
    """An unowned web lead, optionally with an estimated value."""
    money = None if value is None else Money.of(str(value), currency)
    return Lead(id=lead_id, source=kw.pop("source", "web"), created_at=at, estimated_value=money, **kw)


def six_reps(**load):
    """
    Source 004's team: A is the strongest, F the weakest; each has five
    customers, which saturates F (capacity 5) but leaves A room for three.
    """
    reps = [rep("a", 8), rep("b", 7), rep("c", 6), rep("d", 6), rep("e", 6), rep("f", 5)]
    return Team(reps=reps, load={**dict.fromkeys("abcdef", 5), **load})
