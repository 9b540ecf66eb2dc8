"""
Follow-up timers for leads, as customers and deals have them
(:func:`funnelkit.segments.due_followups`): every open lead has a timer for
its next contact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import overload

import attrs

from .. import _checks as c
from .._frozenmap import FrozenMap
from .._report import Report, conflict
from ..entities import Activity, Lead, LeadStatus
from ..errors import Problem, ValidationError
from . import _args as a
from ._calendar import NEVER

_DAY = dt.timedelta(days=1)
_OPEN = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)


def _by_status(value: Mapping[LeadStatus | str, dt.timedelta]) -> Mapping[LeadStatus, dt.timedelta]:
    allowed = ", ".join(repr(s.value) for s in _OPEN)

    def open_status(key: object) -> LeadStatus | Problem:
        status = key if isinstance(key, LeadStatus) else None
        if isinstance(key, str) and not isinstance(key, LeadStatus):
            status = next((s for s in LeadStatus if s.value == key), None)
        if status is None or status not in _OPEN:
            return c.bad("choice", f"{c.show(key)} is not the status of an open lead; allowed: {allowed}")
        return status

    expected = "a mapping of lead status to timedelta"
    out = c.mapping_of(
        value, "by_status", expected, open_status, lambda raw, at: a.span(raw, at, positive=True)
    )
    return FrozenMap(dict(sorted(out.items())))


def _by_source(value: Mapping[str, dt.timedelta]) -> Mapping[str, dt.timedelta]:
    def source(key: object) -> str | Problem:
        if isinstance(key, str) and c.name(key) is None:
            return key
        return c.wrong_type(key, "a lead source")

    expected = "a mapping of lead source to timedelta"
    out = c.mapping_of(value, "by_source", expected, source, lambda raw, at: a.span(raw, at, positive=True))
    return FrozenMap(dict(sorted(out.items())))


@attrs.frozen(kw_only=True)
class LeadFollowUpPolicy:
    """
    How often each open lead must be contacted: an interval per status
    (``new``, ``working``, ``qualified``) and per source; where both apply
    the shorter wins.  A lead neither names has no timer; converted and
    disqualified leads never have one.  The lead counterpart of
    :class:`~funnelkit.segments.FollowUpPolicy`.

    >>> import datetime as dt
    >>> policy = LeadFollowUpPolicy(by_status={"new": dt.timedelta(hours=4), "working": dt.timedelta(days=3)},
    ...                             by_source={"referral": dt.timedelta(days=1)})
    >>> policy.interval(status="working", source="referral")
    datetime.timedelta(days=1)
    """

    by_status: Mapping[LeadStatus, dt.timedelta] = attrs.field(converter=_by_status)
    by_source: Mapping[str, dt.timedelta] = attrs.field(factory=dict, converter=_by_source)

    def __attrs_post_init__(self) -> None:
        if not self.by_status and not self.by_source:
            msg = "is empty and so is by_source; give an interval for a status or a source"
            raise ValidationError.single("by_status", msg, code="empty")

    def interval(self, *, status: LeadStatus | str, source: str) -> dt.timedelta | None:
        """
        The interval of a lead with *status* from *source*, or ``None`` (no
        timer).  Cost: O(1).
        """
        found = status if isinstance(status, LeadStatus) else None
        if isinstance(status, str) and found is None:
            found = next((s for s in LeadStatus if s.value == status), None)
        if found is None:
            allowed = ", ".join(repr(s.value) for s in LeadStatus)
            raise ValidationError.single(
                "status", f"{c.show(status)} is not a lead status; allowed: {allowed}", code="choice"
            )
        problem = c.name(source)
        if problem is not None:
            raise c.at("source", problem)
        return _pick(self, found, source)


def _pick(policy: LeadFollowUpPolicy, status: LeadStatus, source: str) -> dt.timedelta | None:
    if status not in _OPEN:
        return None
    options = [x for x in (policy.by_status.get(status), policy.by_source.get(source)) if x is not None]
    return min(options) if options else None


@attrs.frozen(kw_only=True)
class LeadFollowUp:
    """
    A lead whose next contact is due (or overdue) at *now*: its owner, last
    contact (``None``: never contacted), when it fell due and the whole days
    since.  The lead counterpart of :class:`~funnelkit.segments.FollowUp`.
    """

    lead_id: str
    owner: str | None
    last_contact: dt.datetime | None
    due_at: dt.datetime
    days_overdue: int


def _sorted(rows: Iterable[LeadFollowUp]) -> tuple[LeadFollowUp, ...]:
    return tuple(sorted(rows, key=lambda f: (f.due_at, f.lead_id)))


@attrs.frozen(kw_only=True, repr=False)
class LeadFollowUps(Report):
    """
    The leads due for contact at *now* (from :func:`due_lead_followups`),
    most overdue first (ties by id): a sequence of :class:`LeadFollowUp`.

    Each lead's timer is its own: :meth:`merge` joins the lists of disjoint
    sets of leads (each with its activities) made at the same *now*.
    """

    rows: tuple[LeadFollowUp, ...]
    now: dt.datetime

    @overload
    def __getitem__(self, index: int) -> LeadFollowUp: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[LeadFollowUp, ...]: ...
    def __getitem__(self, index: int | slice) -> LeadFollowUp | tuple[LeadFollowUp, ...]:
        if isinstance(index, slice):
            return self.rows[c.checked_slice(index, len(self.rows))]
        return self.rows[c.checked_index(index)]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[LeadFollowUp]:
        return iter(self.rows)

    def merge(self, other: LeadFollowUps) -> LeadFollowUps:
        """
        The leads due of both (each lead in one of them); one made at
        another *now* is refused at ``other.now`` (code ``conflict``), a lead
        in both at ``other.rows``.  Cost: O(n log n) for n leads due.
        """
        c.require(other, LeadFollowUps, "a LeadFollowUps", "other")
        if other.now != self.now:
            raise conflict("now", self.now, other.now, "now")
        mine = {r.lead_id for r in self.rows}
        twice = sorted(r.lead_id for r in other.rows if r.lead_id in mine)
        if twice:
            msg = f"{c.show(twice[0])} is in both lists; merge the lists of disjoint leads"
            raise ValidationError.single("other.rows", msg, code="duplicate")
        return LeadFollowUps(rows=_sorted((*self.rows, *other.rows)), now=self.now)

    def _summary(self) -> str:
        overdue = sum(r.days_overdue > 0 for r in self.rows)
        return (
            f"{c.counted(len(self.rows), 'lead')} due at {self.now.isoformat()}, {overdue:,} by a day or more"
        )

    def _rows(self) -> list[dict[str, object]]:
        return [attrs.asdict(r, recurse=False) for r in self.rows]


def due_lead_followups(
    leads: Iterable[Lead],
    *,
    activities: Iterable[Activity],
    policy: LeadFollowUpPolicy,
    now: dt.datetime,
    lead_of: Callable[[Activity], str | None] | None = None,
) -> LeadFollowUps:
    """
    The open leads due for contact at *now*, most overdue first (ties by id).

    A lead's timer runs from its last activity at or before *now* (or,
    never contacted, from its creation) for the interval *policy* gives its
    status and source; it is due once that time has come, and
    *days_overdue* counts whole days past due (0 on the day it falls due).
    An activity belongs to the lead whose id ``lead_of(activity)`` returns
    (by default its ``customer_id``).  Leads created after *now* are not
    due yet.

    Cost: O(a + l log l) for a activities and l leads.

    >>> import datetime as dt
    >>> from funnelkit import Lead
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> policy = LeadFollowUpPolicy(by_status={"new": dt.timedelta(hours=4)})
    >>> due = due_lead_followups([Lead(id="l1", source="web", created_at=t)], activities=[],
    ...                          policy=policy, now=t + dt.timedelta(days=1))
    >>> [(f.lead_id, f.due_at.hour, f.days_overdue) for f in due]
    [('l1', 13, 0)]
    """
    now = a.check_now(now)
    c.require(policy, LeadFollowUpPolicy, "a LeadFollowUpPolicy", "policy")
    link = a.lead_link(lead_of)
    checked = a.leads_of(leads)
    last: dict[str, dt.datetime] = {}
    for i, act in a.each_activity(activities):
        if act.at > now:
            continue
        lid = a.lead_id(link, act, i)
        if lid is not None:
            seen = last.get(lid)
            if seen is None or act.at > seen:
                last[lid] = act.at
    rows = []
    for lead in checked:
        interval = _pick(policy, lead.status, lead.source)
        if interval is None or lead.created_at > now:
            continue
        contact = last.get(lead.id)
        start = max(contact, lead.created_at) if contact is not None else lead.created_at
        try:
            due_at = start + interval
        except OverflowError:
            due_at = NEVER
        if due_at <= now:
            rows.append(
                LeadFollowUp(
                    lead_id=lead.id, owner=lead.owner, last_contact=contact, due_at=due_at,
                    days_overdue=(now - due_at) // _DAY,
                )
            )  # fmt: skip
    return LeadFollowUps(rows=_sorted(rows), now=now)
