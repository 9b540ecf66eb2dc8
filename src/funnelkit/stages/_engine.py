"""
The stage engine: readiness reports, moves that return a new opportunity and
an event, replay, and stalled / hasty detection.

Every function takes the state and "now" and returns new values; nothing is
stored, nothing is changed in place, and a refused move changes nothing.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .. import _checks as c
from .._checks import build_trusted, check, evolve_trusted
from .._time import canonical
from ..entities import Activity, KeyPerson, Opportunity, OpportunityStatus
from ..errors import ConcurrencyConflict, MilestoneNotMet, Problem, TransitionNotAllowed, ValidationError
from ._pipeline import MoveKind, Pipeline, Plan, StageOutcome
from ._requirements import Context, Outcome

_DAY = dt.timedelta(days=1)


@attrs.frozen(kw_only=True)
class Override(c.Checked):
    """
    Permission to leave a stage although its milestones are not met (or
    before its minimum dwell): who allowed it and why.  Recorded in the event,
    which is then *hasty*.
    """

    reason: str = attrs.field(metadata=check(c.name))
    by: str = attrs.field(metadata=check(c.identifier))


def _move_kind(value: MoveKind | str) -> MoveKind:
    return c.to_enum(MoveKind, value)


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return c.to_tuple(value)


@attrs.frozen(kw_only=True)
class StageChanged(c.Checked):
    """
    An opportunity moved from one stage to another: who, when, and on what
    grounds.  Events are values a host persists; :func:`replay` turns the
    initial opportunity and its events back into the current one.

    *version* is the opportunity's version after the move; *time_in_stage* is
    how long it spent in *from_stage*; *bypassed* lists what an override let
    through (unmet requirements, the minimum dwell).
    """

    opportunity_id: str = attrs.field(metadata=check(c.identifier))
    pipeline: str = attrs.field(metadata=check(c.identifier))
    kind: MoveKind = attrs.field(metadata=check(c.member_of(MoveKind)), converter=_move_kind)
    from_stage: str = attrs.field(metadata=check(c.identifier))
    to_stage: str = attrs.field(metadata=check(c.identifier))
    at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    actor: str = attrs.field(metadata=check(c.identifier))
    version: int = attrs.field(metadata=check(c.non_negative_int))
    time_in_stage: dt.timedelta = attrs.field(metadata=check(c.duration))
    lost_reason: str | None = attrs.field(default=None, metadata=check(c.optional(c.name)))
    override_reason: str | None = attrs.field(default=None, metadata=check(c.optional(c.name)))
    override_by: str | None = attrs.field(default=None, metadata=check(c.optional(c.identifier)))
    bypassed: tuple[str, ...] = attrs.field(
        default=(), metadata=check(c.items(c.name, tuple)), converter=_names
    )

    def _relations(self) -> list[Problem]:
        problems = []
        if (self.lost_reason is None) == (self.kind is MoveKind.LOSE):
            problems.append(
                Problem(path="lost_reason", message="a lose event needs a lost reason, and only it")
            )
        if (self.override_reason is None) != (self.override_by is None):
            problems.append(
                Problem(path="override_by", message="override reason and override by go together")
            )
        if self.bypassed and self.override_reason is None:
            problems.append(Problem(path="bypassed", message="only an override can bypass requirements"))
        if self.version < 1:
            problems.append(
                Problem(path="version", message="0 cannot follow a move; versions start at 1 after one")
            )
        return problems

    @property
    def hasty(self) -> bool:
        """
        Whether the deal left its stage by override, before its milestones
        were met or its minimum dwell had passed.
        """
        return bool(self.bypassed)


@attrs.frozen(kw_only=True)
class TargetReadiness:
    """
    Whether an opportunity may move to one stage now, and why (not).
    """

    to: str
    allowed: bool
    ready: bool
    outcomes: tuple[Outcome, ...] = ()

    @property
    def unmet(self) -> tuple[str, ...]:
        return tuple(u for o in self.outcomes for u in o.unmet())


@attrs.frozen(kw_only=True)
class Readiness:
    """
    The readiness report: for each stage the opportunity could move to, each
    requirement met or not, with the detail.

    Has a readable ``repr``, an HTML table in notebooks, ``to_dict()`` and
    ``to_records()`` (flat rows for ``pandas.DataFrame``).
    """

    opportunity_id: str
    pipeline: str
    stage: str
    now: dt.datetime
    targets: tuple[TargetReadiness, ...]

    def target(self, key: str) -> TargetReadiness:
        for t in self.targets:
            if t.to == key:
                return t
        known = ", ".join(repr(t.to) for t in self.targets)
        raise ValidationError.single("key", f"{key!r} is not in this report; it covers {known}")

    @property
    def ready(self) -> tuple[str, ...]:
        """
        The stages the opportunity may move to right now.
        """
        return tuple(t.to for t in self.targets if t.ready)

    def to_dict(self) -> dict[str, Any]:
        from ..convert import to_dict

        return to_dict(self)  # type: ignore[no-any-return]

    def to_records(self) -> list[dict[str, Any]]:
        """
        One flat row per (target, requirement), nested requirements included
        with their depth.
        """
        rows: list[dict[str, Any]] = []

        def add(t: TargetReadiness, o: Outcome, depth: int) -> None:
            rows.append(
                {
                    "opportunity_id": self.opportunity_id,
                    "stage": self.stage,
                    "to": t.to,
                    "allowed": t.allowed,
                    "ready": t.ready,
                    "requirement": o.name,
                    "depth": depth,
                    "met": o.met,
                    "detail": o.detail,
                }
            )
            for part in o.parts:
                add(t, part, depth + 1)

        for t in self.targets:
            if not t.outcomes:
                rows.append(
                    {
                        "opportunity_id": self.opportunity_id,
                        "stage": self.stage,
                        "to": t.to,
                        "allowed": t.allowed,
                        "ready": t.ready,
                        "requirement": None,
                        "depth": 0,
                        "met": None,
                        "detail": None,
                    }
                )
            for o in t.outcomes:
                add(t, o, 0)
        return rows

    def __repr__(self) -> str:
        lines = [
            (
                f"Readiness of {self.opportunity_id!r} at {self.stage!r} ({self.pipeline}), "
                f"{self.now.isoformat()}"
            )
        ]
        for t in self.targets:
            state = "ready" if t.ready else ("not allowed" if not t.allowed else "not ready")
            lines.append(f"  -> {t.to}: {state}")
            for o in t.outcomes:
                lines.extend(o.lines(indent=2))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = []
        for t in self.targets:
            state = "ready" if t.ready else ("not allowed" if not t.allowed else "not ready")
            rows.append(f"<tr><th colspan='3' style='text-align:left'>&rarr; {e(t.to)}: {e(state)}</th></tr>")
            for r in self.to_records():
                if r["to"] == t.to and r["requirement"] is not None:
                    mark = "&#10003;" if r["met"] else "&#10007;"
                    pad = "&nbsp;" * 4 * r["depth"]
                    rows.append(
                        f"<tr><td>{mark}</td><td>{pad}{e(r['requirement'])}</td><td>{e(r['detail'])}</td></tr>"
                    )
        head = (
            f"<b>Readiness of {e(self.opportunity_id)}</b> at <code>{e(self.stage)}</code> "
            f"({e(self.pipeline)})"
        )
        return f"<div>{head}<table>{''.join(rows)}</table></div>"


@attrs.frozen(kw_only=True)
class Stalled:
    """
    An open deal that has spent longer in its stage than the stage allows.
    """

    opportunity_id: str
    owner: str
    stage: str
    entered_at: dt.datetime
    days_in_stage: int
    threshold_days: int
    days_over: int


# --- argument checks ---------------------------------------------------------


def _check_common(
    opp: object,
    pipeline: object,
    now: object,
    actor: object,
    expected_version: object,
) -> None:
    problems = []
    if not isinstance(opp, Opportunity):
        problems.append(
            Problem(path="opp", message=f"{c.show(opp)} is {c.a_type(opp)}; expected an Opportunity")
        )
    if not isinstance(pipeline, Pipeline):
        problems.append(
            Problem(
                path="pipeline", message=f"{c.show(pipeline)} is {c.a_type(pipeline)}; expected a Pipeline"
            )
        )
    msg = c.aware_datetime(now)
    if msg is not None:
        problems.append(Problem(path="now", message=msg))
    if actor is not None:
        msg = c.identifier(actor)
        if msg is not None:
            problems.append(Problem(path="actor", message=msg))
    if expected_version is not None:
        msg = c.non_negative_int(expected_version)
        if msg is not None:
            problems.append(Problem(path="expected_version", message=msg))
    if not problems:
        assert isinstance(opp, Opportunity)  # noqa: S101 - narrowed above
        assert isinstance(pipeline, Pipeline)  # noqa: S101
        assert isinstance(now, dt.datetime)  # noqa: S101
        if opp.pipeline != pipeline.key:
            problems.append(
                Problem(
                    path="pipeline",
                    message=f"{pipeline.key!r} is not the opportunity's pipeline {opp.pipeline!r}",
                )
            )
        elif opp.stage not in pipeline:
            problems.append(Problem(path="opp.stage", message=pipeline._unknown(opp.stage)))  # noqa: SLF001
        if now < opp.stage_entered_at:
            problems.append(
                Problem(
                    path="now",
                    message=f"{now.isoformat()} is before the opportunity entered its stage "
                    f"({opp.stage_entered_at.isoformat()})",
                )
            )
    if problems:
        raise ValidationError(problems)


def _check_version(opp: Opportunity, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != opp.version:
        raise ConcurrencyConflict(
            opportunity_id=opp.id, expected_version=expected_version, actual_version=opp.version
        )


def _context(
    opp: Opportunity,
    activities: Iterable[Activity],
    key_persons: Iterable[KeyPerson] | Mapping[str, KeyPerson],
    now: dt.datetime,
) -> Context:
    entered = opp.stage_entered_at
    mine = []
    for i, a in enumerate(activities):
        if not isinstance(a, Activity):
            raise ValidationError.single(
                f"activities[{i}]", f"{c.show(a)} is {c.a_type(a)}; expected an Activity"
            )
        if a.opportunity_id == opp.id and entered <= a.at <= now:
            mine.append(a)
    if isinstance(key_persons, Mapping):
        people = key_persons
    else:
        people = {}
        for i, kp in enumerate(key_persons):
            if not isinstance(kp, KeyPerson):
                raise ValidationError.single(
                    f"key_persons[{i}]", f"{c.show(kp)} is {c.a_type(kp)}; expected a KeyPerson"
                )
            people[kp.id] = kp
    return build_trusted(Context, opportunity=opp, activities=tuple(mine), key_persons=people, now=now)


def _evaluate(plan: Plan, ctx: Context) -> tuple[Outcome, ...]:
    outcomes = tuple(r.evaluate(ctx) for r in plan.requirements)
    if plan.min_dwell is not None:
        elapsed = ctx.now - ctx.opportunity.stage_entered_at
        need = plan.min_dwell
        outcomes += (
            Outcome(
                name=f"minimum dwell of {_span(need)}",
                met=elapsed >= need,
                detail=f"{_span(elapsed)} in stage",
            ),
        )
    return outcomes


def _span(delta: dt.timedelta) -> str:
    days = delta // _DAY
    if delta >= _DAY:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = delta // dt.timedelta(hours=1)
    return f"{hours} hour{'s' if hours != 1 else ''}"


# --- the engine --------------------------------------------------------------


def readiness(
    opp: Opportunity,
    pipeline: Pipeline,
    *,
    now: dt.datetime,
    activities: Iterable[Activity] = (),
    key_persons: Iterable[KeyPerson] | Mapping[str, KeyPerson] = (),
    to: str | None = None,
) -> Readiness:
    """
    Report, for the stage *to* (or every stage the opportunity could move
    forward to), whether each requirement is met at *now*, and why.

    *activities* may be all of the host's activities: only this opportunity's,
    from the moment it entered its stage up to *now*, count.
    """
    _check_common(opp, pipeline, now, None, None)
    if to is not None and to not in pipeline:
        raise ValidationError.single("to", pipeline._unknown(to))  # noqa: SLF001
    ctx = _context(opp, activities, key_persons, now)
    if to is not None:
        targets = [to]
    else:
        targets = [
            k
            for k in pipeline.moves_from(opp.stage)
            if (p := pipeline.plan(opp.stage, k)) is not None and p.kind in (MoveKind.ADVANCE, MoveKind.WIN)
        ]
    out = []
    for key in targets:
        plan = pipeline.plan(opp.stage, key)
        if plan is None:
            out.append(TargetReadiness(to=key, allowed=False, ready=False))
            continue
        outcomes = _evaluate(plan, ctx)
        out.append(
            TargetReadiness(to=key, allowed=True, ready=all(o.met for o in outcomes), outcomes=outcomes)
        )
    return Readiness(
        opportunity_id=opp.id, pipeline=pipeline.key, stage=opp.stage, now=canonical(now), targets=tuple(out)
    )


def _refuse(pipeline: Pipeline, opp: Opportunity, to: str) -> TransitionNotAllowed:
    return TransitionNotAllowed(
        pipeline=pipeline.key, from_stage=opp.stage, to_stage=to, allowed=pipeline.moves_from(opp.stage)
    )


def _move(
    opp: Opportunity,
    pipeline: Pipeline,
    *,
    to: str,
    kinds: tuple[MoveKind, ...],
    now: dt.datetime,
    actor: str,
    activities: Iterable[Activity],
    key_persons: Iterable[KeyPerson] | Mapping[str, KeyPerson],
    expected_version: int | None,
    override: Override | None,
    lost_reason: str | None = None,
) -> tuple[Opportunity, StageChanged]:
    if override is not None and not isinstance(override, Override):
        raise ValidationError.single(
            "override", f"{c.show(override)} is {c.a_type(override)}; expected Override(reason=..., by=...)"
        )
    if to not in pipeline:
        raise ValidationError.single("to", pipeline._unknown(to))  # noqa: SLF001
    _check_version(opp, expected_version)
    plan = pipeline.plan(opp.stage, to)
    if plan is None:
        raise _refuse(pipeline, opp, to)
    if plan.kind not in kinds:
        use = {MoveKind.LOSE: "lose()", MoveKind.REOPEN: "reopen()", MoveKind.WIN: "win() or advance()"}
        hint = use.get(plan.kind, "advance()")
        raise ValidationError.single("to", f"{opp.stage!r} -> {to!r} is a {plan.kind.value} move; use {hint}")
    bypassed: tuple[str, ...] = ()
    if plan.requirements or plan.min_dwell is not None:
        ctx = _context(opp, activities, key_persons, now)
        outcomes = _evaluate(plan, ctx)
        if not all(o.met for o in outcomes):
            unmet = tuple(u for o in outcomes for u in o.unmet())
            if override is None:
                report = Readiness(
                    opportunity_id=opp.id,
                    pipeline=pipeline.key,
                    stage=opp.stage,
                    now=canonical(now),
                    targets=(TargetReadiness(to=to, allowed=True, ready=False, outcomes=outcomes),),
                )
                raise MilestoneNotMet(report, to_stage=to, unmet=unmet)
            bypassed = tuple(o.name for o in outcomes if not o.met)
    at = canonical(now)
    event = build_trusted(
        StageChanged,
        opportunity_id=opp.id,
        pipeline=pipeline.key,
        kind=plan.kind,
        from_stage=opp.stage,
        to_stage=to,
        at=at,
        actor=actor,
        version=opp.version + 1,
        time_in_stage=at - opp.stage_entered_at,
        lost_reason=lost_reason,
        override_reason=None if override is None else override.reason,
        override_by=None if override is None else override.by,
        bypassed=bypassed,
    )
    return _apply(opp, event), event


def advance(
    opp: Opportunity,
    pipeline: Pipeline,
    *,
    now: dt.datetime,
    actor: str,
    to: str | None = None,
    activities: Iterable[Activity] = (),
    key_persons: Iterable[KeyPerson] | Mapping[str, KeyPerson] = (),
    expected_version: int | None = None,
    override: Override | None = None,
) -> tuple[Opportunity, StageChanged]:
    """
    Move *opp* to stage *to* (by default the next stage forward) at *now*.

    Returns the new opportunity (one version up, ``stage_entered_at = now``)
    and the :class:`StageChanged` event.  Raises
    :class:`~funnelkit.errors.ConcurrencyConflict` when *expected_version* is
    not the opportunity's version,
    :class:`~funnelkit.errors.TransitionNotAllowed` when the pipeline does not
    allow the move, and :class:`~funnelkit.errors.MilestoneNotMet` (carrying
    the readiness report) when the stage's requirements or minimum dwell are
    not met and no *override* was given.  Backward moves need no milestones.
    """
    _check_common(opp, pipeline, now, actor, expected_version)
    if to is None:
        nxt = pipeline.next_stage(opp.stage)
        if nxt is None:
            raise _refuse(pipeline, opp, "<next>")
        to = nxt
    return _move(
        opp,
        pipeline,
        to=to,
        kinds=(MoveKind.ADVANCE, MoveKind.WIN, MoveKind.BACK),
        now=now,
        actor=actor,
        activities=activities,
        key_persons=key_persons,
        expected_version=expected_version,
        override=override,
    )


def win(
    opp: Opportunity,
    pipeline: Pipeline,
    *,
    now: dt.datetime,
    actor: str,
    to: str | None = None,
    activities: Iterable[Activity] = (),
    key_persons: Iterable[KeyPerson] | Mapping[str, KeyPerson] = (),
    expected_version: int | None = None,
    override: Override | None = None,
) -> tuple[Opportunity, StageChanged]:
    """
    Move *opp* to the won stage (or the won stage *to*, when there are
    several); the current stage's milestones apply as for :func:`advance`.
    """
    _check_common(opp, pipeline, now, actor, expected_version)
    if to is None:
        won = pipeline.won_stages
        if len(won) > 1:
            keys = ", ".join(repr(s.key) for s in won)
            raise ValidationError.single(
                "to", f"None; pipeline {pipeline.key!r} has several won stages: pick one of {keys}"
            )
        to = won[0].key
    return _move(
        opp,
        pipeline,
        to=to,
        kinds=(MoveKind.WIN,),
        now=now,
        actor=actor,
        activities=activities,
        key_persons=key_persons,
        expected_version=expected_version,
        override=override,
    )


def lose(
    opp: Opportunity,
    pipeline: Pipeline,
    *,
    reason: str,
    now: dt.datetime,
    actor: str,
    to: str | None = None,
    expected_version: int | None = None,
) -> tuple[Opportunity, StageChanged]:
    """
    Mark *opp* lost for *reason* (one of the pipeline's ``lost_reasons`` when
    it lists them).  Losing needs no milestones.
    """
    _check_common(opp, pipeline, now, actor, expected_version)
    msg = c.name(reason)
    if msg is not None:
        raise ValidationError.single("reason", msg)
    if pipeline.lost_reasons and reason not in pipeline.lost_reasons:
        allowed = ", ".join(repr(r) for r in pipeline.lost_reasons)
        raise ValidationError.single(
            "reason", f"{reason!r} is not a lost reason of {pipeline.key!r}; allowed: {allowed}"
        )
    if to is None:
        to = pipeline.lost_stages[0].key
    return _move(
        opp,
        pipeline,
        to=to,
        kinds=(MoveKind.LOSE,),
        now=now,
        actor=actor,
        activities=(),
        key_persons=(),
        expected_version=expected_version,
        override=None,
        lost_reason=reason,
    )


def reopen(
    opp: Opportunity,
    pipeline: Pipeline,
    *,
    now: dt.datetime,
    actor: str,
    to: str | None = None,
    expected_version: int | None = None,
) -> tuple[Opportunity, StageChanged]:
    """
    Bring a lost *opp* back to the open stage *to* (by default the first
    stage), where the pipeline allows it.
    """
    _check_common(opp, pipeline, now, actor, expected_version)
    return _move(
        opp,
        pipeline,
        to=pipeline.first.key if to is None else to,
        kinds=(MoveKind.REOPEN,),
        now=now,
        actor=actor,
        activities=(),
        key_persons=(),
        expected_version=expected_version,
        override=None,
    )


_STATUS = {
    MoveKind.WIN: OpportunityStatus.WON,
    MoveKind.LOSE: OpportunityStatus.LOST,
}


def _apply(opp: Opportunity, event: StageChanged) -> Opportunity:
    return evolve_trusted(
        opp,
        stage=event.to_stage,
        stage_entered_at=event.at,
        version=event.version,
        status=_STATUS.get(event.kind, OpportunityStatus.OPEN),
        lost_reason=event.lost_reason,
    )


def apply(opp: Opportunity, event: StageChanged) -> Opportunity:
    """
    The opportunity after *event*; refuses an event that does not follow from
    the opportunity as it is (another deal, another stage, a version gap, a
    time before it entered its stage).
    """
    problems = []
    if not isinstance(opp, Opportunity):
        raise ValidationError.single("opp", f"{c.show(opp)} is {c.a_type(opp)}; expected an Opportunity")
    if not isinstance(event, StageChanged):
        raise ValidationError.single(
            "event", f"{c.show(event)} is {c.a_type(event)}; expected a StageChanged"
        )
    if event.opportunity_id != opp.id:
        problems.append(
            Problem(
                path="opportunity_id", message=f"{event.opportunity_id!r} is not the opportunity {opp.id!r}"
            )
        )
    if event.pipeline != opp.pipeline:
        problems.append(
            Problem(
                path="pipeline",
                message=f"{event.pipeline!r} is not the opportunity's pipeline {opp.pipeline!r}",
            )
        )
    if event.from_stage != opp.stage:
        problems.append(
            Problem(
                path="from_stage", message=f"{event.from_stage!r} but the opportunity is at {opp.stage!r}"
            )
        )
    if event.version != opp.version + 1:
        problems.append(
            Problem(
                path="version",
                message=f"{event.version} does not follow the opportunity's version {opp.version}",
            )
        )
    if event.at < opp.stage_entered_at:
        problems.append(
            Problem(path="at", message=f"{event.at.isoformat()} is before the opportunity entered its stage")
        )
    if problems:
        raise ValidationError(problems)
    return _apply(opp, event)


def replay(opp: Opportunity, events: Sequence[StageChanged]) -> Opportunity:
    """
    Apply *events* in order to *opp*: the history of a deal, replayed.
    """
    for i, event in enumerate(events):
        try:
            opp = apply(opp, event)
        except ValidationError as e:
            raise e.prefixed(f"events[{i}]") from None
    return opp


def stalled(opps: Iterable[Opportunity], pipeline: Pipeline, *, now: dt.datetime) -> tuple[Stalled, ...]:
    """
    The open deals that have been in their stage longer than its
    ``stall_after_days``, the most overdue first (ties by id).
    """
    msg = c.aware_datetime(now)
    if msg is not None:
        raise ValidationError.single("now", msg)
    if not isinstance(pipeline, Pipeline):
        raise ValidationError.single(
            "pipeline", f"{c.show(pipeline)} is {c.a_type(pipeline)}; expected a Pipeline"
        )
    found = []
    for i, opp in enumerate(opps):
        if not isinstance(opp, Opportunity):
            raise ValidationError.single(
                f"opps[{i}]", f"{c.show(opp)} is {c.a_type(opp)}; expected an Opportunity"
            )
        if opp.pipeline != pipeline.key:
            raise ValidationError.single(f"opps[{i}].pipeline", f"{opp.pipeline!r} is not {pipeline.key!r}")
        if opp.status is not OpportunityStatus.OPEN:
            continue
        stage = pipeline.stage(opp.stage)
        limit = stage.stall_after_days
        if limit is None or stage.outcome is not StageOutcome.OPEN:
            continue
        elapsed = now - opp.stage_entered_at
        if elapsed > limit * _DAY:
            days = elapsed // _DAY
            found.append(
                Stalled(
                    opportunity_id=opp.id,
                    owner=opp.owner,
                    stage=opp.stage,
                    entered_at=opp.stage_entered_at,
                    days_in_stage=days,
                    threshold_days=limit,
                    days_over=(elapsed - limit * _DAY) // _DAY,
                )
            )
    found.sort(key=lambda s: (-(s.days_in_stage - s.threshold_days), s.opportunity_id))
    return tuple(found)


def hasty(events: Iterable[StageChanged]) -> tuple[StageChanged, ...]:
    """
    The moves that left a stage by override: before its milestones were met
    or its minimum dwell had passed (the "hasty" projects of the sources).
    """
    out = []
    for i, e in enumerate(events):
        if not isinstance(e, StageChanged):
            raise ValidationError.single(
                f"events[{i}]", f"{c.show(e)} is {c.a_type(e)}; expected a StageChanged"
            )
        if e.hasty:
            out.append(e)
    return tuple(out)
