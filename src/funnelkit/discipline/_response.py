"""
Response SLAs: speed to lead and first response, per lead, rep and source.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from fractions import Fraction
from typing import overload

import attrs

from .. import _checks as c
from .._report import Report, conflict
from ..assignment import Decision
from ..entities import Activity, ActivityKind, Lead
from ..errors import MAX_LISTED, Problem, ValidationError
from . import _args as a
from ._calendar import NEVER, Hours, WorkingCalendar, hours_of
from ._stats import P50, P90, percentile

#: What counts as a response by default: a call, email, visit, meeting or demo (not a trial or "other").
RESPONSE_KINDS: frozenset[ActivityKind] = frozenset({
    ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.VISIT, ActivityKind.MEETING, ActivityKind.DEMO,
})  # fmt: skip

_US = dt.timedelta(microseconds=1)


class ResponseStatus(enum.StrEnum):
    """
    Where a lead stands against its response target at *now*.
    """

    #: Answered at or before its deadline.
    MET = "met"
    #: Answered after its deadline, or not answered and the deadline has passed.
    BREACHED = "breached"
    #: Not answered, the deadline at most *warn* away.
    DUE_SOON = "due_soon"
    #: Not answered, the deadline further away.
    PENDING = "pending"


@attrs.frozen(kw_only=True)
class LeadResponse:
    """
    One lead against its response target: the clock *started* at its
    creation (or when routing placed it), the *due* instant, the first
    qualifying activity (*responded*, or ``None``), the *response_time*
    (working time with a calendar, elapsed time without; ``None`` while
    unanswered) and its *status*.  *due* is ``datetime.max`` (UTC) when the
    target ends beyond the range of ``datetime``.
    """

    lead_id: str
    source: str
    rep_id: str | None
    started: dt.datetime
    due: dt.datetime
    responded: dt.datetime | None
    response_time: dt.timedelta | None
    status: ResponseStatus

    @property
    def breached(self) -> bool:
        """Whether the target was missed (answered late, or overdue)."""
        return self.status is ResponseStatus.BREACHED


@attrs.frozen(kw_only=True)
class ResponseGroup:
    """
    The leads of one rep or one source (*key*; ``None``: no rep): how many
    met, breached, are due soon or pending, the response times' p50 (the
    median) and p90 by nearest rank (the smallest time that 50 %, 90 % of
    answered leads stay at or below; ``None`` with no answer yet), and the
    share met of the leads decided (met or breached; ``None`` when none is).
    """

    by: str
    key: str | None
    leads: int
    met: int
    breached: int
    due_soon: int
    pending: int
    p50: dt.timedelta | None
    p90: dt.timedelta | None
    share_met: Fraction | None


@attrs.frozen(kw_only=True, repr=False)
class ResponseSummary(Report):
    """
    The leads of a :class:`ResponseReport` grouped *by* rep or source: one
    :class:`ResponseGroup` per key, sorted by key (``None`` first).

    Not mergeable: percentiles of a group's leads; merge the
    :class:`ResponseReport` objects, then summarise.
    """

    by: str
    groups: tuple[ResponseGroup, ...]

    def __iter__(self) -> Iterator[ResponseGroup]:
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def _summary(self) -> str:
        leads = sum(g.leads for g in self.groups)
        breached = sum(g.breached for g in self.groups)
        return f"{c.counted(len(self.groups), self.by)}, {c.counted(leads, 'lead')}, {breached:,} breached"

    def _rows(self) -> list[dict[str, object]]:
        return [attrs.asdict(g, recurse=False) for g in self.groups]


def _sorted_rows(rows: Iterable[LeadResponse]) -> tuple[LeadResponse, ...]:
    return tuple(sorted(rows, key=lambda r: (r.due, r.lead_id)))


@attrs.frozen(kw_only=True, repr=False)
class ResponseReport(Report):
    """
    Every lead created by *now* against its response target, from
    :func:`response_times`: a sequence of :class:`LeadResponse` sorted by
    deadline (then lead id), with :meth:`by_rep` and :meth:`by_source`.
    *not_yet* counts the leads given that were created after *now*.

    Each lead's answer is its own: :meth:`merge` joins the reports of
    disjoint sets of leads (each with its activities) made at the same *now*
    and *warn* into the report of all of them.
    """

    rows: tuple[LeadResponse, ...]
    now: dt.datetime
    warn: dt.timedelta
    not_yet: int = 0

    @overload
    def __getitem__(self, index: int) -> LeadResponse: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[LeadResponse, ...]: ...
    def __getitem__(self, index: int | slice) -> LeadResponse | tuple[LeadResponse, ...]:
        if isinstance(index, slice):
            return self.rows[c.checked_slice(index, len(self.rows))]
        return self.rows[c.checked_index(index)]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[LeadResponse]:
        return iter(self.rows)

    @property
    def breached(self) -> tuple[LeadResponse, ...]:
        """The leads whose target was missed, by deadline."""
        return tuple(r for r in self.rows if r.status is ResponseStatus.BREACHED)

    @property
    def due_soon(self) -> tuple[LeadResponse, ...]:
        """The unanswered leads whose deadline is at most *warn* away, by deadline."""
        return tuple(r for r in self.rows if r.status is ResponseStatus.DUE_SOON)

    def by_rep(self) -> ResponseSummary:
        """
        The leads grouped by rep (``None``: a lead no rep holds).  Cost: O(n log n) for n leads.
        """
        return _summarise(self.rows, "rep", lambda r: r.rep_id)

    def by_source(self) -> ResponseSummary:
        """
        The leads grouped by source.  Cost: O(n log n) for n leads.
        """
        return _summarise(self.rows, "source", lambda r: r.source)

    def merge(self, other: ResponseReport) -> ResponseReport:
        """
        The report of the leads of both (each lead in one of them, with its
        activities); reports made at another *now* or *warn* are refused by
        name (``other.now``, ``other.warn``; code ``conflict``), a lead in
        both at ``other.rows``.  Cost: O(n log n) for n leads.
        """
        c.require(other, ResponseReport, "a ResponseReport", "other")
        for field in ("now", "warn"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), field)
        mine = {r.lead_id for r in self.rows}
        twice = sorted(r.lead_id for r in other.rows if r.lead_id in mine)
        if twice:
            msg = f"{c.show(twice[0])} is in both reports; merge reports of disjoint leads"
            raise ValidationError.single("other.rows", msg, code="duplicate")
        return ResponseReport(
            rows=_sorted_rows((*self.rows, *other.rows)),
            now=self.now,
            warn=self.warn,
            not_yet=self.not_yet + other.not_yet,
        )

    def _summary(self) -> str:
        counts = dict.fromkeys(ResponseStatus, 0)
        for r in self.rows:
            counts[r.status] += 1
        shown = ", ".join(f"{n:,} {s.value.replace('_', ' ')}" for s, n in counts.items())
        return f"{c.counted(len(self.rows), 'lead')} at {self.now.isoformat()}: {shown}"

    def _rows(self) -> list[dict[str, object]]:
        return [attrs.asdict(r, recurse=False) for r in self.rows]


def _summarise(
    rows: Iterable[LeadResponse], by: str, key: Callable[[LeadResponse], str | None]
) -> ResponseSummary:
    groups: dict[str | None, list[LeadResponse]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    out = []
    for k in sorted(groups, key=lambda k: (k is not None, k or "")):
        members = groups[k]
        counts = dict.fromkeys(ResponseStatus, 0)
        for r in members:
            counts[r.status] += 1
        times = sorted(r.response_time for r in members if r.response_time is not None)
        decided = counts[ResponseStatus.MET] + counts[ResponseStatus.BREACHED]
        out.append(
            ResponseGroup(
                by=by,
                key=k,
                leads=len(members),
                met=counts[ResponseStatus.MET],
                breached=counts[ResponseStatus.BREACHED],
                due_soon=counts[ResponseStatus.DUE_SOON],
                pending=counts[ResponseStatus.PENDING],
                p50=percentile(times, P50),
                p90=percentile(times, P90),
                share_met=Fraction(counts[ResponseStatus.MET], decided) if decided else None,
            )
        )
    return ResponseSummary(by=by, groups=tuple(out))


def response_times(
    leads: Iterable[Lead],
    *,
    activities: Iterable[Activity],
    targets: Mapping[str | None, dt.timedelta],
    now: dt.datetime,
    warn: dt.timedelta = dt.timedelta(hours=1),
    calendar: WorkingCalendar | None = None,
    kinds: Iterable[ActivityKind | str] = RESPONSE_KINDS,
    decisions: Iterable[Decision] = (),
    lead_of: Callable[[Activity], str | None] | None = None,
) -> ResponseReport:
    """
    Speed to lead: each lead created by *now* against its response target.

    A lead's clock starts when it is created or, when *decisions* (from
    :func:`~funnelkit.assignment.assign`) placed it with a rep, at the first
    such decision made by *now* (never before its creation; a decision after
    *now* is not known yet and is left out): that measures each rep's first
    response.  Its target is ``targets[lead.source]``, else
    ``targets[None]``; a lead with neither is refused.  With a *calendar*
    the target counts working time (a lead that arrives on Friday evening
    is due on Monday) and so does the response time; without one, elapsed
    time.  Its response is the first activity of one of *kinds* (by
    default :data:`RESPONSE_KINDS`) on the lead, at or after its creation
    and at or before *now*: an activity belongs to the lead whose id
    ``lead_of(activity)`` returns (by default the activity's
    ``customer_id``: a host logs its first contacts against the lead's id).

    Each lead is *met* (answered by its deadline), *breached* (answered
    late, or not answered and past its deadline: a breach stays a breach as
    *now* grows), *due soon* (not answered, the deadline at most *warn*
    away) or *pending*.  The rep of a lead is its owner, else the rep the
    first decision placed it with.  Leads created after *now* are left out
    and counted in ``not_yet``.

    Cost: O(a + l log l + w) for a activities, l leads and w working days
    walked (with a calendar: from each lead's start to its deadline and to
    its response).

    >>> import datetime as dt
    >>> from funnelkit import Activity, Lead
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> leads = [Lead(id="l1", source="web", created_at=t), Lead(id="l2", source="fair", created_at=t)]
    >>> call = Activity(id="a1", kind="call", at=t + dt.timedelta(minutes=20), rep_id="r1", customer_id="l1")
    >>> report = response_times(leads, activities=[call], targets={None: dt.timedelta(hours=1)},
    ...                         now=t + dt.timedelta(hours=2))
    >>> [(r.lead_id, r.status.value) for r in report]
    [('l1', 'met'), ('l2', 'breached')]
    """
    now = _check(now, warn, calendar)
    goal = a.spans_by_key(targets, "targets", "lead source")
    wanted = a.kinds_of(kinds)
    link = a.lead_link(lead_of)
    starts, not_yet = _starts(a.leads_of(leads), goal, _placements(decisions, now), now)
    created = {lid: entry[2].created_at for lid, entry in starts.items()}
    first: dict[str, dt.datetime] = {}
    for i, act in a.each_activity(activities):
        at = act.at
        if at > now or act.kind not in wanted:
            continue
        lid = act.customer_id if link is None else a.lead_id(link, act, i)
        made = created.get(lid)  # type: ignore[arg-type]
        if made is None or at < made:
            continue
        seen = first.get(lid)  # type: ignore[arg-type]
        if seen is None or at < seen:
            first[lid] = at  # type: ignore[index]
    hours = hours_of(calendar) if calendar is not None else None
    rows = [_row(entry, first.get(lid), hours, now, warn) for lid, entry in starts.items()]
    return ResponseReport(rows=_sorted_rows(rows), now=now, warn=warn, not_yet=not_yet)


_Start = tuple[dt.datetime, dt.timedelta, Lead, str | None]


def _check(now: object, warn: object, calendar: object) -> dt.datetime:
    """*now* as a UTC instant, *warn* and *calendar* checked; every problem at once."""
    problems: list[Problem] = []
    try:
        now = a.check_now(now)
    except ValidationError as e:
        problems += e.problems
    try:
        a.span(warn, "warn")
    except ValidationError as e:
        problems += e.problems
    if calendar is not None and not isinstance(calendar, WorkingCalendar):
        problems.append(c.wrong_type(calendar, "a WorkingCalendar or None").prefixed("calendar"))
    if problems:
        raise ValidationError(problems)
    return now  # type: ignore[return-value]


def _starts(
    leads: list[Lead],
    goal: Mapping[str | None, dt.timedelta],
    placed: Mapping[str, tuple[dt.datetime, str]],
    now: dt.datetime,
) -> tuple[dict[str, _Start], int]:
    """Per lead created by *now*: its clock's start, target, the lead and rep; and how many are not yet."""
    starts: dict[str, _Start] = {}
    missing: list[Problem] = []
    not_yet = 0
    for i, lead in enumerate(leads):
        target = goal.get(lead.source, goal.get(None))
        if target is None:
            msg = f"{c.show(lead.source)} has no response target and targets has no None (every other source)"
            missing.append(Problem(path=f"leads[{i}].source", code="missing", message=msg))
            if len(missing) >= MAX_LISTED:
                break
            continue
        if lead.created_at > now:
            not_yet += 1
            continue
        decision = placed.get(lead.id)
        start = lead.created_at if decision is None else max(lead.created_at, decision[0])
        starts[lead.id] = (start, target, lead, lead.owner or (decision[1] if decision else None))
    if missing:
        raise ValidationError(missing)
    return starts, not_yet


def _row(
    entry: _Start, answered: dt.datetime | None, hours: Hours | None, now: dt.datetime, warn: dt.timedelta
) -> LeadResponse:
    """One lead's row: its deadline, response time and status."""
    start, target, lead, rep = entry
    start_us = (start - _EPOCH) // _US
    if hours is not None:
        due = hours.deadline(start_us, target // _US) or NEVER
    else:
        try:
            due = start + target
        except OverflowError:
            due = NEVER
    took = None
    if answered is not None:
        if hours is not None:
            took = hours.between(start_us, (answered - _EPOCH) // _US) * _US
        else:
            took = max(answered - start, dt.timedelta(0))
        status = ResponseStatus.MET if answered <= due else ResponseStatus.BREACHED
    elif now > due:
        status = ResponseStatus.BREACHED
    elif due - now <= warn:
        status = ResponseStatus.DUE_SOON
    else:
        status = ResponseStatus.PENDING
    return LeadResponse(
        lead_id=lead.id, source=lead.source, rep_id=rep, started=start, due=due,
        responded=answered, response_time=took, status=status,
    )  # fmt: skip


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _placements(decisions: Iterable[Decision], now: dt.datetime) -> dict[str, tuple[dt.datetime, str]]:
    """Per lead, the first decision placing it with a rep by *now* (no look-ahead): its time and rep."""
    out: dict[str, tuple[dt.datetime, str]] = {}
    for d in c.each_of(decisions, Decision, "decisions"):
        if d.rep_id is None or d.at > now:
            continue
        seen = out.get(d.lead_id)
        if seen is None or (d.at, d.rep_id) < seen:
            out[d.lead_id] = (d.at, d.rep_id)
    return out
