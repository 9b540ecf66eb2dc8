"""
Cadences: ordered steps with day offsets, per tier and stage; the next step
due on every record and the overdue list, promised next steps included.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import cast, overload

import attrs

from .. import _checks as c
from .._frozenmap import FrozenMap
from .._report import Report, conflict
from ..entities import Activity, ActivityKind, Customer, Lead, LeadStatus, Opportunity, Tier
from ..errors import MAX_LISTED, Problem, ValidationError
from . import _args as a
from ._calendar import NEVER, Hours, WorkingCalendar, hours_of

_OPEN_LEADS = frozenset({LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED})
_DAY = dt.timedelta(days=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
#: A step's day offset is at most this (ten years of working days).
MAX_STEP_DAY = 3_660


def _kind(value: ActivityKind | str | None) -> ActivityKind | None:
    if value is None or isinstance(value, ActivityKind):
        return value
    kind = a.kind_or_none(value)
    if kind is None:
        allowed = ", ".join(repr(k.value) for k in ActivityKind)
        raise ValidationError.single(
            "kind", f"{c.show(value)} is not a kind of activity; allowed: {allowed} or None", code="choice"
        )
    return kind


def _day(value: int) -> int:
    value = c.plain(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise c.at("day", c.wrong_type(value, "an int >= 0"))
    if not 0 <= value <= MAX_STEP_DAY:
        msg = f"{c.show(value)} is not a day offset; allowed: 0 to {MAX_STEP_DAY:,}"
        raise ValidationError.single("day", msg, code="range")
    return value


@attrs.frozen(kw_only=True)
class Step:
    """
    One step of a cadence: an activity of *kind* (``None``: any kind) due
    by the end of working *day* counted from the cadence's start (day 0 is
    the first working day on or after it).
    """

    day: int = attrs.field(converter=_day)
    kind: ActivityKind | None = attrs.field(default=None, converter=_kind)

    @property
    def action(self) -> str:
        """What the step asks for: its kind, or ``"any"``."""
        return "any" if self.kind is None else self.kind.value


def _steps(value: Iterable[Step | tuple[int, ActivityKind | str | None]]) -> tuple[Step, ...]:
    if not c.is_iterable(value):
        raise c.at("steps", c.wrong_type(value, "an iterable of Step or (day, kind) pairs"))
    out: list[Step] = []
    problems: list[Problem] = []
    for i, raw in enumerate(value):
        try:
            if isinstance(raw, Step):
                step = raw
            elif isinstance(raw, tuple) and len(raw) == 2:
                step = Step(day=raw[0], kind=raw[1])
            else:
                raise c.at("", c.wrong_type(raw, "a Step or a (day, kind) pair"))
        except ValidationError as e:
            problems += e.prefixed(f"steps[{i}]").problems
        else:
            if out and step.day < out[-1].day:
                msg = f"day {step.day} comes before the day of the step before it ({out[-1].day})"
                problems.append(Problem(path=f"steps[{i}].day", code="order", message=msg))
            out.append(step)
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    if not out:
        raise ValidationError.single("steps", "is empty; a cadence has at least one step", code="empty")
    return tuple(out)


@attrs.frozen(kw_only=True)
class Cadence:
    """
    Ordered steps, each due by a working day counted from the cadence's
    start: ``Cadence(steps=[(0, "call"), (2, "email"), (5, "call")])`` is a
    call on day 0, an email by day 2, a call by day 5.  Days never go back.
    """

    steps: tuple[Step, ...] = attrs.field(converter=_steps)


def _cadence_map(value: Mapping[str, Cadence], path: str) -> Mapping[str, Cadence]:
    value = c.to_mapping(value, path)
    if not isinstance(value, Mapping):
        raise c.at(path, c.wrong_type(value, "a mapping of stage key to Cadence"))
    out: dict[str, Cadence] = {}
    problems = []
    for key, cadence in value.items():
        if not isinstance(key, str) or c.identifier(key) is not None:
            problems.append(c.wrong_type(key, "a stage key").prefixed(path))
        elif not isinstance(cadence, Cadence):
            problems.append(c.wrong_type(cadence, "a Cadence").prefixed(f"{path}[{key[:40]!r}]"))
        else:
            out[key] = cadence
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return FrozenMap(out)


def _stages(value: Mapping[str, Cadence]) -> Mapping[str, Cadence]:
    return _cadence_map(value, "stages")


def _tiers(value: Mapping[Tier | str, Mapping[str, Cadence]]) -> Mapping[Tier, Mapping[str, Cadence]]:
    value = c.to_mapping(value, "tiers")
    if not isinstance(value, Mapping):
        raise c.at("tiers", c.wrong_type(value, "a mapping of tier to (stage key to Cadence)"))
    out: dict[Tier, Mapping[str, Cadence]] = {}
    for key, stages in value.items():
        tier = (
            key
            if isinstance(key, Tier)
            else (Tier(key) if isinstance(key, str) and key in "ABC" and len(key) == 1 else None)
        )
        if tier is None:
            msg = f"{c.show(key)} is not a tier; allowed: 'A', 'B', 'C'"
            raise ValidationError.single("tiers", msg, code="choice")
        out[tier] = _cadence_map(stages, f"tiers[{tier.value!r}]")
    return FrozenMap(out)


def _lead_cadence(value: Cadence | None) -> Cadence | None:
    if value is not None and not isinstance(value, Cadence):
        raise c.at("leads", c.wrong_type(value, "a Cadence or None"))
    return value


@attrs.frozen(kw_only=True)
class CadencePlan:
    """
    Which cadence each record follows: open *leads* one cadence from their
    creation; an open deal the cadence of its stage from entering it,
    ``tiers[tier][stage]`` overriding ``stages[stage]`` for the deals of
    customers of that tier.  A record with no cadence has none (its promised
    next steps still count).

    >>> plan = CadencePlan(leads=Cadence(steps=[(0, "call"), (2, "email"), (5, "call")]))
    >>> [s.action for s in plan.leads.steps]
    ['call', 'email', 'call']
    """

    leads: Cadence | None = attrs.field(default=None, converter=_lead_cadence)
    stages: Mapping[str, Cadence] = attrs.field(factory=dict, converter=_stages)
    tiers: Mapping[Tier, Mapping[str, Cadence]] = attrs.field(factory=dict, converter=_tiers)

    def cadence_for(self, *, stage: str, tier: Tier | str | None = None) -> Cadence | None:
        """
        The cadence of a deal in *stage* whose customer has *tier*
        (``None``: not graded), or ``None``.  Cost: O(1).
        """
        problem = c.identifier(stage)
        if problem is not None:
            raise c.at("stage", problem)
        key = None if tier is None else a_tier(tier)
        return _cadence_of(self, stage, key)


def a_tier(value: object) -> Tier:
    """*value* as a Tier, else an error at ``tier``."""
    if isinstance(value, Tier):
        return value
    if isinstance(value, str) and value in ("A", "B", "C"):
        return Tier(value)
    raise ValidationError.single(
        "tier", f"{c.show(value)} is not a tier; allowed: 'A', 'B', 'C' or None", code="choice"
    )


def _cadence_of(plan: CadencePlan, stage: str, tier: Tier | None) -> Cadence | None:
    if tier is not None:
        found = plan.tiers.get(tier, {}).get(stage)
        if found is not None:
            return found
    return plan.stages.get(stage)


class StepStatus(enum.StrEnum):
    """Where a record's next step stands at *now*."""

    #: Its day has ended and it is not done.
    OVERDUE = "overdue"
    #: Due later (or by the end of today).
    UPCOMING = "upcoming"
    #: Every step done and no promise open.
    COMPLETE = "complete"


@attrs.frozen(kw_only=True)
class NextStep:
    """
    A record's next step at *now*: the *record* kind (``lead``,
    ``opportunity`` or ``customer``) and id, its *owner*, the cadence step
    (1-based *step*; ``None`` for a promise: an activity's ``next_step`` with
    its ``next_step_due``), the *action* (a kind of activity, ``"any"``, or the
    promised step in the rep's words), when it is *due* (the end of its local
    day; ``None`` when complete), its *status*, whole *days_overdue*, and the
    cadence steps *done* of *steps*.
    """

    record: str
    record_id: str
    owner: str | None
    step: int | None
    action: str | None
    due: dt.datetime | None
    status: StepStatus
    days_overdue: int
    done: int
    steps: int


def _sorted_steps(rows: Iterable[NextStep]) -> tuple[NextStep, ...]:
    return tuple(sorted(rows, key=lambda r: (r.due is None, r.due or NEVER, r.record, r.record_id)))


@attrs.frozen(kw_only=True, repr=False)
class CadenceReport(Report):
    """
    Every record with a cadence or an open promise, its next step at *now*
    (from :func:`cadence_due`): a sequence of :class:`NextStep`, soonest due
    first (complete records last); :attr:`overdue` is the overdue list.

    Each record's step is its own: :meth:`merge` joins the reports of
    disjoint sets of records (each with its activities) made at the same
    *now*.
    """

    rows: tuple[NextStep, ...]
    now: dt.datetime

    @overload
    def __getitem__(self, index: int) -> NextStep: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[NextStep, ...]: ...
    def __getitem__(self, index: int | slice) -> NextStep | tuple[NextStep, ...]:
        if isinstance(index, slice):
            return self.rows[c.checked_slice(index, len(self.rows))]
        return self.rows[c.checked_index(index)]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[NextStep]:
        return iter(self.rows)

    @property
    def overdue(self) -> tuple[NextStep, ...]:
        """The overdue steps, most overdue first."""
        return tuple(r for r in self.rows if r.status is StepStatus.OVERDUE)

    def merge(self, other: CadenceReport) -> CadenceReport:
        """
        The report of the records of both (each record in one of them, with
        its activities); one made at another *now* is refused at
        ``other.now`` (code ``conflict``), a record in both at ``other.rows``.
        Cost: O(n log n) for n records.
        """
        c.require(other, CadenceReport, "a CadenceReport", "other")
        if other.now != self.now:
            raise conflict("now", self.now, other.now, "now")
        mine = {(r.record, r.record_id) for r in self.rows}
        twice = sorted((r.record, r.record_id) for r in other.rows if (r.record, r.record_id) in mine)
        if twice:
            msg = f"{twice[0][0]} {c.show(twice[0][1])} is in both reports; merge reports of disjoint records"
            raise ValidationError.single("other.rows", msg, code="duplicate")
        return CadenceReport(rows=_sorted_steps((*self.rows, *other.rows)), now=self.now)

    def _summary(self) -> str:
        overdue = sum(r.status is StepStatus.OVERDUE for r in self.rows)
        complete = sum(r.status is StepStatus.COMPLETE for r in self.rows)
        return (
            f"{c.counted(len(self.rows), 'record')} at {self.now.isoformat()}: "
            f"{overdue:,} overdue, {complete:,} complete"
        )

    def _rows(self) -> list[dict[str, object]]:
        return [attrs.asdict(r, recurse=False) for r in self.rows]


def cadence_due(
    plan: CadencePlan,
    *,
    activities: Iterable[Activity],
    now: dt.datetime,
    leads: Iterable[Lead] = (),
    opportunities: Iterable[Opportunity] = (),
    customers: Iterable[Customer] = (),
    calendar: WorkingCalendar | None = None,
    lead_of: Callable[[Activity], str | None] | None = None,
) -> CadenceReport:
    """
    The next step due on every record at *now*, and so the overdue list.

    Open leads (new, working, qualified) follow ``plan.leads`` from their
    creation; open deals the cadence of their stage (by their customer's
    tier, from *customers*) from when they entered it.  The activities on a
    record at or after its start and at or before *now* do its steps in
    order: each step is done by the first later activity of its kind
    (early is fine: an email on day 1 does a day-2 email step).  A step is
    due by the end of its working day in *calendar* (day 0: the first
    working day on or after the start; without a calendar, every day in
    UTC) and overdue once that day has ended.

    A promise counts too: when the latest activity on a record has a
    ``next_step_due``, that step is due by the end of that day, and the
    record's next step is whichever of the two is due first.  A promise is
    kept by any later activity on the record.  Records are the deal of an
    activity's ``opportunity_id``, else the lead ``lead_of(activity)`` names
    (by default its ``customer_id``) when it is one of *leads*, else its
    customer; closed leads and deals given are left out.

    Cost: O(a log a + r + w) for a activities, r records and w working days walked.

    >>> import datetime as dt
    >>> from funnelkit import Activity, Lead
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)  # a Monday
    >>> plan = CadencePlan(leads=Cadence(steps=[(0, "call"), (2, "email")]))
    >>> call = Activity(id="a1", kind="call", at=t, rep_id="r1", customer_id="l1")
    >>> report = cadence_due(plan, activities=[call], now=t + dt.timedelta(days=3),
    ...                      leads=[Lead(id="l1", source="web", created_at=t, owner="r1")])
    >>> row = report[0]
    >>> row.step, row.action, row.due.isoformat(), row.status.value, row.days_overdue
    (2, 'email', '2026-03-05T00:00:00+00:00', 'overdue', 0)
    """
    c.require(plan, CadencePlan, "a CadencePlan", "plan")
    now = a.check_now(now)
    if calendar is None:
        cal = WorkingCalendar.every_day(dt.UTC)
    else:
        cal = c.require(calendar, WorkingCalendar, "a WorkingCalendar or None", "calendar")
    link = a.lead_link(lead_of)
    lead_list = a.unique(leads, Lead, "leads")
    deals = a.unique(opportunities, Opportunity, "opportunities")
    tiers = {x.id: x.tier for x in a.unique(customers, Customer, "customers")}
    records, closed = _records(plan, lead_list, deals, tiers, now)
    lead_ids = {lead.id for lead in lead_list}
    on: dict[tuple[str, str], list[Activity]] = {}
    for i, act in a.each_activity(activities):
        if act.at > now:
            continue
        if act.opportunity_id is not None:
            key = ("opportunity", act.opportunity_id)
        else:
            lid = a.lead_id(link, act, i)
            key = ("lead", lid) if lid in lead_ids else ("customer", act.customer_id)  # type: ignore[assignment]
        if key not in closed:
            on.setdefault(key, []).append(act)
    hours = hours_of(cal)
    rows = []
    for key in records.keys() | on.keys():
        row = _next(key, records.get(key, (None, None, None)), on.get(key, []), hours, now)
        if row is not None:
            rows.append(row)
    return CadenceReport(rows=_sorted_steps(rows), now=now)


_Record = tuple[str | None, dt.datetime | None, Cadence | None]


def _records(
    plan: CadencePlan,
    leads: list[Lead],
    deals: list[Opportunity],
    tiers: Mapping[str, Tier | None],
    now: dt.datetime,
) -> tuple[dict[tuple[str, str], _Record], set[tuple[str, str]]]:
    """The open records by (kind, id): owner, start and cadence; and the closed ones."""
    closed: set[tuple[str, str]] = set()
    records: dict[tuple[str, str], _Record] = {}
    for lead in leads:
        if lead.status not in _OPEN_LEADS or lead.created_at > now:
            closed.add(("lead", lead.id))
        else:
            records["lead", lead.id] = (lead.owner, lead.created_at, plan.leads)
    for deal in deals:
        if not deal.is_open or deal.stage_entered_at > now:
            closed.add(("opportunity", deal.id))
        else:
            cadence = _cadence_of(plan, deal.stage, tiers.get(deal.customer_id))
            records["opportunity", deal.id] = (deal.owner, deal.stage_entered_at, cadence)
    return records, closed


def _next(
    key: tuple[str, str], record: _Record, acts: list[Activity], hours: Hours, now: dt.datetime
) -> NextStep | None:
    """The record's next step: its cadence's next undone step or its open promise, whichever is due first."""
    owner, start, cadence = record
    acts.sort(key=lambda x: (x.at, x.id))
    done, total, step_due, step = 0, 0, None, None
    if cadence is not None and start is not None:
        total = len(cadence.steps)
        for act in acts:
            if done < total and act.at >= start:
                want = cadence.steps[done].kind
                if want is None or act.kind is want:
                    done += 1
        if done < total:
            step = cadence.steps[done]
            first = hours.day_of((start - _EPOCH) // _US)
            nth = None if first is None else hours.nth_working_day(first, step.day)
            step_due = NEVER if nth is None else hours.day_end(nth)
    promise = acts[-1] if acts and acts[-1].next_step_due is not None else None
    if promise is not None:
        owner = owner or promise.rep_id
    if step is None and promise is None:
        if cadence is None:
            return None
        return NextStep(
            record=key[0], record_id=key[1], owner=owner, step=None, action=None, due=None,
            status=StepStatus.COMPLETE, days_overdue=0, done=done, steps=total,
        )  # fmt: skip
    promised = None if promise is None else hours.day_end(promise.next_step_due.toordinal())  # type: ignore[union-attr]
    due: dt.datetime
    if step_due is not None and (promised is None or step_due <= promised):
        due, number, action = step_due, done + 1, step.action  # type: ignore[union-attr]
    else:
        due, number, action = cast("dt.datetime", promised), None, promise.next_step  # type: ignore[union-attr]
    late = now > due
    return NextStep(
        record=key[0], record_id=key[1], owner=owner, step=number, action=action, due=due,
        status=StepStatus.OVERDUE if late else StepStatus.UPCOMING,
        days_overdue=(now - due) // _DAY if late else 0, done=done, steps=total,
    )  # fmt: skip
