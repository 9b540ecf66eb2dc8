"""
The features of a lead: its own attributes and its early activity.

Every feature is a float, computed from the lead and the activities linked to
it that fall in its *window*: at or after the lead's creation, before
``created_at + window`` and before the cut-off (*now*, or when the lead
converted while a model learns): nothing later is read, so no score looks
ahead.  The features, by name:

``calls``, ``emails``, ``visits``
    activities of that kind in the window;
``meetings``
    meetings, demos and trials in the window;
``replies``
    activities in the window marked ``replied``;
``responded``
    1 when the window holds any activity, else 0;
``response_days``
    days (fractional) from the lead's creation to its first activity in the
    window, 0 when there is none (``responded`` tells the two apart);
``intent``, ``has_intent``
    the lead's ``intent_score`` as a float (0 when unknown), and 1 when known;
``value_log10``, ``has_value``
    ``log10(1 + estimated value)`` in the model's currency (0 when unknown or
    in another currency), and 1 when known in that currency;
``source=<s>``, ``industry=<i>``, ``territory=<t>``, ``size=<z>``
    1 for the lead's own value of each attribute (one-hot); a value the model
    never saw in training, or a missing one, has no column: its
    contribution is 0, the baseline.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from .. import _checks as c
from ..entities import Activity, ActivityKind, Lead, Opportunity
from ..errors import MAX_LISTED, Problem, ValidationError
from . import _args as a

#: The numeric features, in the order a model lists them.
NUMERIC_FEATURES: tuple[str, ...] = (
    "calls",
    "emails",
    "visits",
    "meetings",
    "replies",
    "responded",
    "response_days",
    "intent",
    "has_intent",
    "value_log10",
    "has_value",
)
#: The lead attributes read as categories (one column per value seen in training).
CATEGORICAL_FIELDS: tuple[str, ...] = ("source", "industry", "territory", "size")

_KIND_FEATURE = {
    ActivityKind.CALL: "calls",
    ActivityKind.EMAIL: "emails",
    ActivityKind.VISIT: "visits",
    ActivityKind.MEETING: "meetings",
    ActivityKind.DEMO: "meetings",
    ActivityKind.TRIAL: "meetings",
}
_DAY_SECONDS = 86_400.0


def categories(lead: Lead) -> list[str]:
    """The one-hot column names of *lead*'s categorical attributes that are set."""
    out = [f"source={lead.source}"]
    if lead.industry is not None:
        out.append(f"industry={lead.industry}")
    if lead.territory is not None:
        out.append(f"territory={lead.territory}")
    if lead.size is not None:
        out.append(f"size={lead.size.value}")
    return out


def window_end(lead: Lead, window: dt.timedelta, cut: dt.datetime) -> dt.datetime:
    """The end of *lead*'s window: ``created_at + window``, or *cut* when earlier."""
    try:
        end = lead.created_at + window
    except OverflowError:
        return cut
    return min(end, cut)


def features(
    lead: Lead, acts: Iterable[Activity], end: dt.datetime, currency: str | None
) -> dict[str, float]:
    """
    *lead*'s features (numeric, then its categories) from its activities
    *acts*, reading those in ``[created_at, end)`` only.
    """
    out = dict.fromkeys(NUMERIC_FEATURES, 0.0)
    start = lead.created_at
    first: dt.datetime | None = None
    for act in acts:
        if not start <= act.at < end:
            continue
        name = _KIND_FEATURE.get(act.kind)
        if name is not None:
            out[name] += 1.0
        if act.replied:
            out["replies"] += 1.0
        if first is None or act.at < first:
            first = act.at
    if first is not None:
        out["responded"] = 1.0
        out["response_days"] = (first - start).total_seconds() / _DAY_SECONDS
    if lead.intent_score is not None:
        out["intent"] = float(lead.intent_score)
        out["has_intent"] = 1.0
    value = lead.estimated_value
    if value is not None and currency is not None and value.currency == currency:
        out["value_log10"] = math.log10(1.0 + float(value.amount))
        out["has_value"] = 1.0
    for name in categories(lead):
        out[name] = 1.0
    return out


def by_lead(
    activities: Iterable[Activity], link: a.LeadOf | None, ids: set[str]
) -> dict[str, list[Activity]]:
    """The activities of each lead of *ids* (read through *link*), checked as ``activities[i]``."""
    out: dict[str, list[Activity]] = {}
    for i, act in enumerate(c.each_of(activities, Activity, "activities")):
        lid = a.lead_id_of(link, act, i)
        if lid is not None and lid in ids:
            out.setdefault(lid, []).append(act)
    return out


def converted_at(opportunities: Iterable[Opportunity]) -> dict[str, dt.datetime]:
    """When each lead converted: the earliest ``created_at`` of the opportunities naming it."""
    out: dict[str, dt.datetime] = {}
    for opp in c.each_of(opportunities, Opportunity, "opportunities"):
        if opp.lead_id is not None:
            prev = out.get(opp.lead_id)
            if prev is None or opp.created_at < prev:
                out[opp.lead_id] = opp.created_at
    return out


def checked_leads(leads: object, path: str = "leads") -> list[Lead]:
    """*leads*, each a Lead with an id of its own, else one error naming each bad item."""
    items = list(c.each_of(leads, Lead, path))
    seen: set[str] = set()
    problems = []
    for i, lead in enumerate(items):
        if lead.id in seen:
            msg = f"{c.show(lead.id)} appears twice; each lead is counted once"
            problems.append(Problem(path=f"{path}[{i}].id", code="duplicate", message=msg))
            if len(problems) >= MAX_LISTED:
                break
        seen.add(lead.id)
    if problems:
        raise ValidationError(problems)
    return items


def lead_features(
    lead: Lead,
    activities: Iterable[Activity],
    *,
    window: dt.timedelta,
    now: dt.datetime,
    currency: str | None = None,
    lead_of: a.LeadOf | None = None,
) -> dict[str, float]:
    """
    The features of *lead* at *now*: its attributes and the activities
    linked to it in its *window* (at or after its creation, before
    ``created_at + window`` and before *now*), by name, as the module
    docstring lists them.  *currency* is the currency whose values count
    for ``value_log10``; ``lead_of(activity)`` names an activity's lead
    (by default its ``customer_id``: a host logs first contacts against the
    lead's id).  Deterministic; a lead created after *now* is refused.

    Cost: O(a) for a activities.

    >>> import datetime as dt
    >>> from funnelkit import Activity, Lead
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> lead = Lead(id="l1", source="fair", created_at=t)
    >>> call = Activity(id="a1", kind="call", at=t + dt.timedelta(hours=6), rep_id="r1", customer_id="l1")
    >>> late = Activity(id="a2", kind="call", at=t + dt.timedelta(days=9), rep_id="r1", customer_id="l1")
    >>> f = lead_features(lead, [call, late], window=dt.timedelta(days=7), now=t + dt.timedelta(days=30))
    >>> f["calls"], f["responded"], f["response_days"], f["source=fair"]
    (1.0, 1.0, 0.25, 1.0)
    """
    c.require(lead, Lead, "a Lead", "lead")
    problems = [p for p in (a.span_problem(window, "window"), a.now_problem(now)) if p is not None]
    if currency is not None and not isinstance(currency, str):
        problems.append(c.wrong_type(currency, "a currency code or None").prefixed("currency"))
    if problems:
        raise ValidationError(problems)
    link = a.lead_link(lead_of)
    now = a.instant(now)
    if lead.created_at > now:
        msg = (
            f"{lead.created_at.isoformat()} is after now ({now.isoformat()}); a lead is scored once it exists"
        )
        raise ValidationError.single("lead.created_at", msg, code="order")
    acts = by_lead(activities, link, {lead.id}).get(lead.id, [])
    return features(lead, acts, window_end(lead, window, now), currency)
