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
from types import MappingProxyType
from typing import Any, cast

import attrs

from .. import _checks as c
from .._checks import check
from .._edits import EDITS, Edit, OwnerChanged, edited, order_problems
from .._records import new_record
from .._report import Report
from .._time import canonical, span
from ..entities import Activity, KeyPerson, Opportunity, OpportunityStatus, moved_opportunity
from ..errors import ConcurrencyConflict, MilestoneNotMet, Problem, TransitionNotAllowed, ValidationError
from ._compiled import STAGE as _STAGE
from ._compiled import Move
from ._event import StageChanged
from ._pipeline import Pipeline
from ._requirements import Context, Verdict, trusted_context
from ._routes import Plan
from ._stage import MoveKind, StageOutcome

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


@attrs.frozen(kw_only=True)
class TargetReadiness:
    """
    Whether an opportunity may move to one stage now, and why (not).
    """

    to: str
    allowed: bool
    ready: bool
    verdicts: tuple[Verdict, ...] = ()

    @property
    def unmet(self) -> tuple[str, ...]:
        return tuple(u for o in self.verdicts for u in o.unmet())


@attrs.frozen(kw_only=True, repr=False)
class Readiness(Report):
    """
    The readiness report: for each stage the opportunity could move to, each
    requirement met or not, with the detail.

    ``str(report)`` explains it line by line; it is a
    :class:`~funnelkit.Report`, with a short ``repr``, an HTML table in
    notebooks, ``to_dict()``, ``to_records()`` (one row per target and
    requirement) and ``to_frame()``.

    It does not merge: it is one deal's readiness for its next move, not a
    sum over deals.
    """

    opportunity_id: str
    pipeline: str
    stage: str
    now: dt.datetime
    targets: tuple[TargetReadiness, ...]

    def target(self, key: str) -> TargetReadiness:
        """
        The readiness for the move to stage *key*.

        Cost: O(targets).
        """
        if isinstance(key, str):
            for t in self.targets:
                if t.to == key:
                    return t
        known = ", ".join(repr(t.to) for t in self.targets)
        raise ValidationError.single(
            "key", f"{c.show(key)} is not in this report; it covers {known}", code="reference"
        )

    @property
    def ready(self) -> tuple[str, ...]:
        """
        The stages the opportunity may move to right now.
        """
        return tuple(t.to for t in self.targets if t.ready)

    def _summary(self) -> str:
        ready = ", ".join(self.ready) or "no stage"
        return f"{self.opportunity_id!r} at {self.stage!r}: ready for {ready} ({len(self.targets)} targets)"

    def _rows(self) -> list[dict[str, Any]]:
        """
        One flat row per (target, requirement), nested requirements included
        with their depth.
        """
        rows: list[dict[str, Any]] = []

        def add(t: TargetReadiness, o: Verdict, depth: int) -> None:
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
            if not t.verdicts:
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
            for o in t.verdicts:
                add(t, o, 0)
        return rows

    def __str__(self) -> str:
        lines = [
            (
                f"Readiness of {self.opportunity_id!r} at {self.stage!r} ({self.pipeline}), "
                f"{self.now.isoformat()}"
            )
        ]
        for t in self.targets:
            state = "ready" if t.ready else ("not allowed" if not t.allowed else "not ready")
            lines.append(f"  -> {t.to}: {state}")
            for o in t.verdicts:
                lines.extend(o.lines(indent=2))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = []
        records = self._rows()
        for t in self.targets:
            state = "ready" if t.ready else ("not allowed" if not t.allowed else "not ready")
            rows.append(f"<tr><th colspan='3' style='text-align:left'>&rarr; {e(t.to)}: {e(state)}</th></tr>")
            for r in records:
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
) -> dt.datetime:
    """
    Check the arguments every engine call shares; return *now* in UTC.

    The common case (all fine) costs a handful of type checks; the messages
    are only built when something is wrong.
    """
    if (
        type(opp) is Opportunity
        and type(pipeline) is Pipeline
        and type(now) is dt.datetime
        and now.tzinfo is dt.UTC
        and (actor is None or (type(actor) is str and c.good_id(actor)))
        and (
            expected_version is None
            or (type(expected_version) is int and 0 <= expected_version <= _MAX_VERSION)
        )
        and opp.pipeline == pipeline.key
        and opp.stage in pipeline.routes.stages
        and now >= opp.stage_entered_at
    ):
        return now
    problems = _argument_problems(opp, pipeline, now, actor, expected_version)
    if problems:
        raise ValidationError(problems)
    assert isinstance(opp, Opportunity)  # noqa: S101 - narrowed above
    assert isinstance(pipeline, Pipeline)  # noqa: S101
    assert isinstance(now, dt.datetime)  # noqa: S101
    now = canonical(now)
    # a stale read comes first: the caller must reload, whatever else is off
    _check_version(opp, c.to_optional_int(cast("int | None", expected_version)))
    problems = _relation_problems(opp, pipeline, now)
    if problems:
        raise ValidationError(problems)
    return now


def _argument_problems(
    opp: object, pipeline: object, now: object, actor: object, expected_version: object
) -> list[Problem]:
    """
    What is wrong with each argument an engine call shares, on its own.
    """
    problems = []
    if not isinstance(opp, Opportunity):
        problems.append(c.wrong_type(opp, "an Opportunity").prefixed("opp"))
    if not isinstance(pipeline, Pipeline):
        problems.append(c.wrong_type(pipeline, "a Pipeline").prefixed("pipeline"))
    problem = c.aware_datetime(now)
    if problem is not None:
        problems.append(problem.prefixed("now"))
    if actor is not None:
        problem = c.identifier(actor)
        if problem is not None:
            problems.append(problem.prefixed("actor"))
    if expected_version is not None:
        problem = c.non_negative_int(c.to_int(expected_version))  # type: ignore[arg-type]  # checked here
        if problem is None and expected_version > _MAX_VERSION:  # type: ignore[operator]
            msg = f"{c.show(expected_version)} is more than {_MAX_VERSION:,}; no opportunity gets that far"
            problem = c.bad("range", msg)
        if problem is not None:
            problems.append(problem.prefixed("expected_version"))
    return problems


def _relation_problems(opp: Opportunity, pipeline: Pipeline, now: dt.datetime) -> list[Problem]:
    """
    What is wrong between an engine call's checked arguments: another
    pipeline, an unknown stage, a time before the deal entered its stage.
    """
    problems = []
    if opp.pipeline != pipeline.key:
        problems.append(
            Problem(
                path="pipeline",
                code="conflict",
                message=f"{pipeline.key!r} is not the opportunity's pipeline {opp.pipeline!r}",
            )
        )
    elif opp.stage not in pipeline:
        problems.append(
            Problem(path="opp.stage", code="reference", message=pipeline.routes.unknown(opp.stage))
        )
    if now < opp.stage_entered_at:
        problems.append(
            Problem(
                path="now",
                code="order",
                message=f"{now.isoformat()} is before the opportunity entered its stage "
                f"({opp.stage_entered_at.isoformat()})",
            )
        )
    return problems


#: The largest version an engine call may expect (2**63 - 1).
_MAX_VERSION = 2**63 - 1


def _check_version(opp: Opportunity, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != opp.version:
        raise ConcurrencyConflict(
            opportunity_id=opp.id, expected_version=expected_version, actual_version=opp.version
        )


_PLAIN_COLLECTIONS = frozenset({tuple, list, dict, set, frozenset, MappingProxyType})


def _check_collection(value: object, name: str, items: str | None = None) -> None:
    if type(value) in _PLAIN_COLLECTIONS:  # the common case, without the ABC check
        return
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        what = items or name
        raise c.at(name, c.wrong_type(value, f"an iterable of {what}"))


def _context(
    opp: Opportunity,
    activities: Iterable[Activity],
    key_persons: Iterable[KeyPerson] | Mapping[str, KeyPerson],
    now: dt.datetime,
    *,
    gather: bool = True,
) -> Context:
    """
    What the requirements see.  With *gather* false (no requirement reads
    activities) the activities are only type-checked, not filtered.
    """
    # An activity belongs to the stage the deal was in when it happened: the
    # window is (entered, now], so one at the very moment of a move counts for
    # the stage left, not the stage entered; in a deal's first stage the
    # moment of creation counts too.
    entered, opp_id = opp.stage_entered_at, opp.id
    first = entered == opp.created_at
    _check_collection(activities, "activities")
    _check_collection(key_persons, "key_persons", "key persons")
    mine = []
    for i, a in enumerate(activities):
        if not isinstance(a, Activity):
            c.require(a, Activity, "an Activity", f"activities[{i}]")
        if (
            gather
            and a.opportunity_id == opp_id
            and (entered < a.at or (first and entered == a.at))
            and a.at <= now
        ):
            mine.append(a)
    if isinstance(key_persons, Mapping):
        people = key_persons
        for k, kp in key_persons.items():
            if not isinstance(kp, KeyPerson):
                c.require(kp, KeyPerson, "a KeyPerson", f"key_persons[{c.show(k)}]")
    else:
        people = {}
        for i, kp in enumerate(key_persons):
            if not isinstance(kp, KeyPerson):
                c.require(kp, KeyPerson, "a KeyPerson", f"key_persons[{i}]")
            people[kp.id] = kp
    return trusted_context(opp, tuple(mine), people, now)


def _evaluate(plan: Plan, ctx: Context) -> tuple[Verdict, ...]:
    verdicts = tuple(r._evaluate(ctx) for r in plan.requirements)  # noqa: SLF001 - ctx is the engine's own
    if plan.min_dwell is not None:
        elapsed = ctx.now - ctx.opportunity.stage_entered_at
        need = plan.min_dwell
        verdicts += (
            Verdict(
                name=f"minimum dwell of {span(need)}",
                met=elapsed >= need,
                detail=f"{span(elapsed)} in stage",
            ),
        )
    return verdicts


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

    Cost: O(activities + key persons + targets * their requirements).
    """
    now = _check_common(opp, pipeline, now, None, None)
    if to is not None and (type(to) is not str or to not in pipeline):
        code = "reference" if type(to) is str else "type"
        raise ValidationError.single("to", pipeline.routes.unknown(to), code=code)
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
        verdicts = _evaluate(plan, ctx)
        out.append(
            TargetReadiness(to=key, allowed=True, ready=all(o.met for o in verdicts), verdicts=verdicts)
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
    # *now* is in UTC here (see _check_common).
    if type(to) is not str:
        raise c.at("to", c.wrong_type(to, "a stage key"))
    if override is not None and not isinstance(override, Override):
        raise c.at("override", c.wrong_type(override, "Override(reason=..., by=...)"))
    _check_version(opp, expected_version)
    plan = pipeline.routes.plan(opp.stage, to)
    if plan is None:
        if to not in pipeline:
            raise ValidationError.single("to", pipeline.routes.unknown(to), code="reference")
        raise _refuse(pipeline, opp, to)
    if plan.kind not in kinds:
        use = {MoveKind.LOSE: "lose()", MoveKind.REOPEN: "reopen()", MoveKind.WIN: "win() or advance()"}
        hint = use.get(plan.kind, "advance()")
        raise ValidationError.single(
            "to", f"{opp.stage!r} -> {to!r} is {c.article(plan.kind.value)} move; use {hint}", code="conflict"
        )
    bypassed: tuple[str, ...] = ()
    if plan.requirements or plan.min_dwell is not None:
        ctx = _context(opp, activities, key_persons, now, gather=plan.reads_activities)
        # Fast path: the verdicts alone; explanations only when one fails.
        dwell = plan.min_dwell
        if not (
            all(r._met(ctx) for r in plan.requirements)  # noqa: SLF001 - ctx is the engine's own
            and (dwell is None or now - opp.stage_entered_at >= dwell)
        ):
            verdicts = _evaluate(plan, ctx)
            unmet = tuple(u for o in verdicts for u in o.unmet())
            if override is None:
                report = Readiness(
                    opportunity_id=opp.id,
                    pipeline=pipeline.key,
                    stage=opp.stage,
                    now=now,
                    targets=(TargetReadiness(to=to, allowed=True, ready=False, verdicts=verdicts),),
                )
                raise MilestoneNotMet(report, to_stage=to, unmet=unmet)
            bypassed = tuple(o.name for o in verdicts if not o.met)
    event = _event(
        opp.id,
        pipeline.key,
        plan.kind,
        opp.stage,
        to,
        now,
        actor,
        opp.version + 1,
        now - opp.stage_entered_at,
        lost_reason,
        None if override is None else override.reason,
        None if override is None else override.by,
        bypassed,
    )
    return _apply(opp, event), event


# --- building values the engine vouches for -------------------------------------
#
# The engine builds a new opportunity and an event on every move from values
# that are already checked.  The opportunity and the event are records (see
# funnelkit._records): these builders make the tuple directly, in field order,
# with no converters and no checks.  Each lives beside its class (the
# opportunity's in entities, the context's in requirements); test_engine.py
# checks that they set every field, so a new field cannot be forgotten.


def _event(  # noqa: PLR0917 - positional on purpose: the engine's hot path
    opportunity_id: str,
    pipeline: str,
    kind: MoveKind,
    from_stage: str,
    to_stage: str,
    at: dt.datetime,
    actor: str,
    version: int,
    time_in_stage: dt.timedelta,
    lost_reason: str | None,
    override_reason: str | None,
    override_by: str | None,
    bypassed: tuple[str, ...],
) -> StageChanged:
    """
    A StageChanged from its field values, in field order.
    """
    values = (
        opportunity_id, pipeline, kind, from_stage, to_stage, at, actor, version, time_in_stage,
        lost_reason, override_reason, override_by, bypassed,
    )  # fmt: skip
    return cast("StageChanged", new_record(StageChanged, values))


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

    Cost: O(activities + key persons + the move's requirements); O(1) for a
    move with no requirements.
    """
    if type(opp) is Opportunity and type(pipeline) is Pipeline and override is None:
        # the common case: the move compiled for this pipeline (see _compiled) makes it, or says
        # None and the general path below decides, explains or refuses.  Written out here and in
        # win(), not shared: the hot path of the engine, one call less per move.
        # its fields as a plain tuple, which the compiled move unpacks at once (see _compiled.STAGE)
        fields: tuple[Any, ...] = () + opp  # type: ignore[operator]  # noqa: RUF005 - (*opp,) would raise
        stage, routes = fields[_STAGE], pipeline.routes
        move: Move | None
        if to is None:
            try:
                move = routes._next_movers[stage]  # noqa: SLF001
            except KeyError:  # not made yet, or no such move
                move = routes._mover(stage, None, False)  # noqa: SLF001
        elif type(to) is str:
            move = routes._movers.get((stage, to, False)) or routes._mover(stage, to, False)  # noqa: SLF001
        else:
            move = None
        if move is not None and (
            moved := move(fields, now, actor, expected_version, activities, key_persons)
        ):
            return moved
    now = _check_common(opp, pipeline, now, actor, expected_version)
    if to is None:
        nxt = pipeline.routes.next.get(opp.stage)
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

    Cost: as :func:`advance`.
    """
    if type(opp) is Opportunity and type(pipeline) is Pipeline and override is None:
        # the common case: the move compiled for this pipeline (see _compiled) makes it, or says
        # None and the general path below decides, explains or refuses
        fields: tuple[Any, ...] = () + opp  # type: ignore[operator]  # noqa: RUF005 - as in advance()
        stage, routes = fields[_STAGE], pipeline.routes
        move: Move | None
        if to is None:
            try:
                move = routes._win_movers[stage]  # noqa: SLF001
            except KeyError:  # not made yet, or no such move
                move = routes._mover(stage, None, True)  # noqa: SLF001
        elif type(to) is str:
            move = routes._movers.get((stage, to, True)) or routes._mover(stage, to, True)  # noqa: SLF001
        else:
            move = None
        if move is not None and (
            moved := move(fields, now, actor, expected_version, activities, key_persons)
        ):
            return moved
    now = _check_common(opp, pipeline, now, actor, expected_version)
    if to is None and pipeline.routes.won is not None:
        to = pipeline.routes.won
    if to is None:
        won = pipeline.won_stages
        if len(won) > 1:
            keys = ", ".join(repr(s.key) for s in won)
            raise ValidationError.single(
                "to",
                f"None; pipeline {pipeline.key!r} has several won stages: pick one of {keys}",
                code="missing",
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

    Cost: O(lost reasons).
    """
    now = _check_common(opp, pipeline, now, actor, expected_version)
    problem = c.name(reason)
    if problem is not None:
        raise c.at("reason", problem)
    if pipeline.lost_reasons and reason not in pipeline.lost_reasons:
        allowed = ", ".join(repr(r) for r in pipeline.lost_reasons)
        raise ValidationError.single(
            "reason",
            f"{c.show(reason)} is not a lost reason of {pipeline.key!r}; allowed: {allowed}",
            code="choice",
        )
    if to is None:
        to = pipeline.routes.lose_to.get(opp.stage)
        if to is None:
            raise _refuse(pipeline, opp, "<lost>")
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

    Cost: O(1).
    """
    now = _check_common(opp, pipeline, now, actor, expected_version)
    if to is None:
        to = pipeline.routes.reopen_to.get(opp.stage)
        if to is None:
            raise _refuse(pipeline, opp, "<open>")
    return _move(
        opp,
        pipeline,
        to=to,
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
    return moved_opportunity(
        opp,
        event.to_stage,
        event.at,
        event.version,
        _STATUS.get(event.kind, OpportunityStatus.OPEN),
        event.lost_reason,
    )


#: The events :func:`apply` reads that are not moves.
_NOT_MOVES = (*EDITS, OwnerChanged)


def apply(opp: Opportunity, event: StageChanged | Edit | OwnerChanged) -> Opportunity:
    """
    The opportunity after *event*: a move (:class:`StageChanged`), an edit
    of a field (:class:`AmountChanged`, :class:`CloseDateChanged`,
    :class:`CategoryChanged`) or a change of owner
    (:class:`~funnelkit.assignment.OwnerChanged`).  Refuses an event that
    does not follow from the opportunity as it is (another deal, another
    stage, a value before that is not the deal's, a version that is not
    later, a time before it entered its stage).  A gap in versions is
    allowed: a host's log may hold only some kinds of changes.

    Cost: O(1).
    """
    if (  # the common case, checked at once; otherwise every problem is named below
        type(opp) is Opportunity
        and type(event) is StageChanged
        and event.opportunity_id == opp.id
        and event.pipeline == opp.pipeline
        and event.from_stage == opp.stage
        and event.version > opp.version
        and event.at >= opp.stage_entered_at
    ):
        return _apply(opp, event)
    problems = []
    c.require(opp, Opportunity, "an Opportunity", "opp")
    if isinstance(event, _NOT_MOVES):
        return edited(opp, event)
    event = c.require(event, StageChanged, "a StageChanged, an edit or an OwnerChanged", "event")
    if event.opportunity_id != opp.id:
        problems.append(
            Problem(
                path="opportunity_id",
                code="conflict",
                message=f"{event.opportunity_id!r} is not the opportunity {opp.id!r}",
            )
        )
    if event.pipeline != opp.pipeline:
        problems.append(
            Problem(
                path="pipeline",
                code="conflict",
                message=f"{event.pipeline!r} is not the opportunity's pipeline {opp.pipeline!r}",
            )
        )
    if event.from_stage != opp.stage:
        problems.append(
            Problem(
                path="from_stage",
                code="conflict",
                message=f"{event.from_stage!r} but the opportunity is at {opp.stage!r}",
            )
        )
    problems += order_problems(opp, event.version, event.at)
    if problems:
        raise ValidationError(problems)
    return _apply(opp, event)


def replay(
    opp: Opportunity,
    events: Sequence[StageChanged | Edit | OwnerChanged],
    *,
    pipeline: Pipeline | None = None,
) -> Opportunity:
    """
    Apply *events* in order to *opp*: the history of a deal, replayed, its
    moves, edits and changes of owner alike (see :func:`apply`).

    With *pipeline*, each move must also be one that pipeline allows, of
    the kind it allows it as (so an imported history cannot smuggle in a move
    out of a won stage).

    Cost: O(events).
    """
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        raise c.at("pipeline", c.wrong_type(pipeline, "a Pipeline"))
    c.require(opp, Opportunity, "an Opportunity", "opp")
    _check_collection(events, "events")
    for i, event in enumerate(events):
        try:
            opp_before = opp
            opp = apply(opp, event)
        except ValidationError as e:
            raise e.prefixed(f"events[{i}]") from None
        if pipeline is not None and isinstance(event, StageChanged):
            plan = pipeline.plan(opp_before.stage, event.to_stage)
            if plan is None or plan.kind is not event.kind:
                allowed = "not allowed" if plan is None else f"{plan.kind.value}, not {event.kind.value}"
                msg = f"{event.from_stage!r} -> {event.to_stage!r} in pipeline {pipeline.key!r}: {allowed}"
                raise ValidationError.single(f"events[{i}]", msg, code="state")
    return opp


def stalled(opps: Iterable[Opportunity], pipeline: Pipeline, *, now: dt.datetime) -> tuple[Stalled, ...]:
    """
    The open deals that have been in their stage longer than its
    ``stall_after_days``, the most overdue first (ties by id).

    Cost: O(n log n) for n opportunities.
    """
    problem = c.aware_datetime(now)
    if problem is not None:
        raise c.at("now", problem)
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    _check_collection(opps, "opps", "opportunities")
    now = canonical(now)
    found = []
    for i, opp in enumerate(opps):
        if not isinstance(opp, Opportunity):
            c.require(opp, Opportunity, "an Opportunity", f"opps[{i}]")
        if opp.pipeline != pipeline.key:
            raise ValidationError.single(
                f"opps[{i}].pipeline", f"{opp.pipeline!r} is not {pipeline.key!r}", code="conflict"
            )
        if opp.status is not OpportunityStatus.OPEN:
            continue
        if opp.stage not in pipeline:
            raise ValidationError.single(
                f"opps[{i}].stage", pipeline.routes.unknown(opp.stage), code="reference"
            )
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
    # Most overdue first: the earliest moment the threshold passed, then id.
    found.sort(key=lambda s: (s.entered_at + s.threshold_days * _DAY, s.opportunity_id))
    return tuple(found)


def hasty(events: Iterable[StageChanged]) -> tuple[StageChanged, ...]:
    """
    The moves that left a stage by override: before its milestones were met
    or its minimum dwell had passed ("hasty" deals, rushed through a stage).

    Cost: O(events).
    """
    _check_collection(events, "events")
    out = []
    for i, e in enumerate(events):
        if not isinstance(e, StageChanged):
            c.require(e, StageChanged, "a StageChanged", f"events[{i}]")
        if e.hasty:
            out.append(e)
    return tuple(out)
