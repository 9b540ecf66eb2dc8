"""
A move's milestone checks, compiled: one generated Python function per plan.

The engine's first answer to "may this deal make this move now?" comes from a
function written, once per plan, as Python source from the plan's
requirements: one pass over the activities counts every activity requirement,
the key persons are looked up once, and each requirement is a line of
comparisons against constants, with no context object and no method calls.

The function makes the move only when it is sure: every input is of the
plain shape the engine expects (a tuple or list of :class:`Activity`, a dict,
tuple or list of :class:`KeyPerson`) and every requirement and the minimum
dwell are met.  Anything else (a requirement unmet, an input of another shape,
a value of the wrong type) answers ``None``, and the engine takes its general
path, which gives the verdicts, the explanations and the refusals.  So a
refusal is always the general path's; the compiled function can only make the
common case fast.  A tuple of activities or key persons, or an actor, that
the last call found good is not checked again (see :class:`_Checked`): the
steps of one deal's lifecycle are usually given the same ones.

Requirements of other kinds (a :class:`Predicate`, :class:`AllOf`,
:class:`AnyOf`, a caller's own class) are asked through their ``_met`` with a
context built from the same pass.

Nothing of the caller's reaches the source text: every value is a constant in
the function's namespace, and the only names written into it are field names
from closed lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from .. import _checks as c
from ..entities import Activity, KeyPerson, Opportunity, OpportunityStatus
from ._event import StageChanged
from ._requirements import (
    ActivityCount,
    AmountAtLeast,
    EvidenceRecorded,
    KeyPersonCoverage,
    NoOpenGaps,
    RequiredFields,
    Requirement,
    TimeInStage,
    trusted_context,
)
from ._stage import MoveKind

#: A compiled move: (the opportunity's fields as a plain tuple, now, actor, expected version, activities,
#: key persons) -> values or None.
Move = Callable[[tuple[Any, ...], Any, Any, Any, Any, Any], tuple[Opportunity, StageChanged] | None]

_ACTIVITY_TEXT = frozenset(f.name for f in attrs.fields(Activity) if f.name != "id")
_OPPORTUNITY_FIELDS = frozenset(f.name for f in attrs.fields(Opportunity))
#: The opportunity's fields that hold a collection (empty when "not recorded"); the others hold None then.
_COLLECTION_FIELDS = frozenset({"key_person_ids", "competitors", "gaps", "evidence"})
_ZERO = dt.timedelta(0)
#: Where the plain tuple of an opportunity's fields holds its stage: the key its moves are found by.
#: The record is a tuple that refuses iteration; ``() + opp`` copies it into a plain tuple, in field
#: order (tuple concatenation: the record has no ``__radd__``, so tuple's own ``+`` makes it, in C,
#: with no call), which a compiled move unpacks in one step.
STAGE = [f.name for f in attrs.fields(Opportunity)].index("stage")


class _Checked:
    """
    What a compiled move last found good, shared by every compiled move: the
    last tuple of activities and the last tuple of key persons that held only
    values of the exact type it reads (:class:`Activity`, :class:`KeyPerson`),
    and the last actor that was a valid id.

    A caller that gives the same tuple or actor to move after move (the eight
    steps of a deal's lifecycle, a loop over deals with one activity log) has
    it checked once.  Only a tuple is kept: it cannot change, nor can the type
    of an item of it (the frozen classes refuse ``__class__``), so once found
    good it stays good; a ``str`` cannot change either.  A list or a dict may
    change between calls and is checked every time.  The object is held, not
    its ``id()``, so the identity test ``is`` cannot be fooled by a new object
    at a recycled address.  Threads share it safely: each slot holds one good
    object at any time (a slot's store is one step), and a thread stores an
    object only after checking it whole; two threads at once only check an
    object twice.  A tuple longer than :data:`KEPT_AT_MOST` is not kept, so
    that a large log the caller has dropped is not held alive here.
    """

    __slots__ = ("activities", "actor", "key_persons")

    def __init__(self) -> None:
        self.activities: tuple[Any, ...] = ()
        self.key_persons: tuple[Any, ...] = ()
        self.actor: object = object()  # no actor is this: the first one is checked


#: What the compiled moves last found good (see :class:`_Checked`).
CHECKED = _Checked()
#: The longest tuple remembered: a longer one is checked on every move, so that the cache never keeps
#: a caller's large log alive after they let it go (10,000 activities hold a few megabytes at most).
KEPT_AT_MOST = 10_000


def _field(name: str, allowed: frozenset[str]) -> str:
    if (
        name not in allowed or not name.isidentifier()
    ):  # pragma: no cover - the requirement's checks refuse it
        msg = f"not a field: {name!r}"
        raise AssertionError(msg)
    return name


class _Source:
    """
    The lines of one generated function and the constants they name.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"Activity": Activity, "KeyPerson": KeyPerson}

    def const(self, value: object) -> str:
        name = f"C{len(self.names)}"
        self.names[name] = value
        return name

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _activity_test(r: ActivityCount, src: _Source, *, kinds: bool = True) -> str:
    """
    The condition under which one activity ``a`` counts for *r* (its kinds
    left out when not *kinds*: tested before).
    """
    parts = [f"a.kind in {src.const(r.kinds)}"] if kinds else []
    if r.min_duration is not None:
        parts.append(f"a.duration is not None and a.duration >= {src.const(r.min_duration)}")
    if r.replied:
        parts.append("a.replied")
    if r.with_key_person:
        parts.append("a.key_person_ids")
    for i, f in enumerate(r.filled):
        v = f"v{len(src.lines)}_{i}"
        parts.append(f"({v} := a.{_field(f, _ACTIVITY_TEXT)}) is not None and {v}.strip() != ''")
    return " and ".join(f"({p})" for p in parts) or "True"


#: Whether the activity ``a`` (its time read as ``at``) is this deal's and in the window of
#: _context: (entered, now], and the moment of creation in a first stage.
_WINDOW = (
    "a.opportunity_id == o_id and at <= now and (o_stage_entered_at < at or "
    "(at == o_stage_entered_at and o_stage_entered_at == o_created_at))"
)


def _check_activities(reqs: tuple[Requirement, ...], fallback: bool, src: _Source) -> list[int]:
    """
    Type-check every activity, unless they are the tuple last found all
    activities (see :class:`_Checked`); count those of this deal in its stage
    for each activity requirement (and gather them for the fallback's context).
    """
    counted = [i for i, r in enumerate(reqs) if type(r) is ActivityCount]
    read = bool(counted) or fallback
    src.add(1, "if activities is not CHECKED.activities:")
    src.add(2, "ta = type(activities)")
    src.add(2, "if ta is tuple:")
    src.add(3, "for a in activities:")
    src.add(4, "if type(a) is not Activity:")
    src.add(5, "return None")
    src.add(3, f"if len(activities) <= {KEPT_AT_MOST}:")
    src.add(4, "CHECKED.activities = activities")
    src.add(2, "elif ta is list:")
    if read:  # one snapshot, checked and then read: what the list holds now
        src.add(3, "activities = tuple(activities)")
    src.add(3, "for a in activities:")
    src.add(4, "if type(a) is not Activity:")
    src.add(5, "return None")
    src.add(2, "else:")
    src.add(3, "return None")
    if not read:
        return counted
    for i in counted:
        src.add(1, f"n{i} = 0")
    if fallback:
        src.add(1, "mine = []")
    src.add(1, "for a in activities:")
    if len(counted) == 1 and not fallback:
        # one count: its kinds first, the cheapest test and the one most activities fail (every test
        # here reads fields of an Activity and compares built-in values: none can raise or run code)
        r = reqs[counted[0]]
        assert isinstance(r, ActivityCount)  # noqa: S101 - chosen by type above
        src.add(2, f"if a.kind in {src.const(r.kinds)}:")
        src.add(3, "at = a.at")
        rest = _activity_test(r, src, kinds=False)
        src.add(3, f"if {_WINDOW}:" if rest == "True" else f"if {_WINDOW} and {rest}:")
        src.add(4, f"n{counted[0]} += 1")
        return counted
    src.add(2, "at = a.at")
    src.add(2, f"if {_WINDOW}:")
    if fallback:
        src.add(3, "mine.append(a)")
    for i in counted:
        r = reqs[i]
        assert isinstance(r, ActivityCount)  # noqa: S101 - chosen by type above
        src.add(3, f"if {_activity_test(r, src)}:")
        src.add(4, f"n{i} += 1")
    return counted


def _check_people(src: _Source, *, read: bool) -> None:
    """
    Type-check every key person (unless they are the tuple last found all key
    persons, see :class:`_Checked`); when a requirement reads them (*read*),
    index them by id as ``people``.
    """
    src.add(1, "tk = type(key_persons)")
    src.add(1, "if tk is dict:")
    if read:
        src.add(2, "people = key_persons")
    src.add(2, "for kp in key_persons.values():")
    src.add(3, "if type(kp) is not KeyPerson:")
    src.add(4, "return None")
    src.add(1, "elif key_persons is CHECKED.key_persons:")
    if read:
        src.add(2, "people = {}")
        src.add(2, "for kp in key_persons:")
        src.add(3, "people[kp.id] = kp")
    else:
        src.add(2, "pass")
    src.add(1, "elif tk is tuple or tk is list:")
    if read:
        src.add(2, "people = {}")
    src.add(2, "for kp in key_persons:")
    src.add(3, "if type(kp) is not KeyPerson:")
    src.add(4, "return None")
    if read:
        src.add(3, "people[kp.id] = kp")
    src.add(2, f"if tk is tuple and len(key_persons) <= {KEPT_AT_MOST}:")
    src.add(3, "CHECKED.key_persons = key_persons")
    src.add(1, "else:")
    src.add(2, "return None")


def _check_requirement(i: int, r: Requirement, src: _Source) -> None:
    kind = type(r)
    if kind is ActivityCount:
        src.add(1, f"if n{i} < {r.at_least}:")  # type: ignore[attr-defined]
        src.add(2, "return None")
    elif kind is RequiredFields:
        for f in r.fields:  # type: ignore[attr-defined]
            # the opportunity's own checks fix each field's type: a collection is empty, anything else None
            empty = "not o_{}" if f in _COLLECTION_FIELDS else "o_{} is None"
            src.add(1, f"if {empty.format(_field(f, _OPPORTUNITY_FIELDS))}:")
            src.add(2, "return None")
    elif kind is NoOpenGaps:
        src.add(1, "for g in o_gaps:")
        src.add(2, "if not g.closed:")
        src.add(3, "return None")
    elif kind is KeyPersonCoverage:
        stances = r.stances  # type: ignore[attr-defined]
        test = f"kp.role is {src.const(r.role)}"  # type: ignore[attr-defined]
        if stances:
            test += f" and kp.stance in {src.const(stances)}"
        one = r.at_least == 1  # type: ignore[attr-defined]
        if not one:
            src.add(1, f"need = {r.at_least}")  # type: ignore[attr-defined]
        src.add(1, "for k in o_key_person_ids:")
        src.add(2, "kp = people.get(k)")
        src.add(2, f"if kp is not None and {test}:")
        if one:  # the common case: the first one found will do
            src.add(3, "break")
        else:
            src.add(3, "need -= 1")
            src.add(3, "if not need:")
            src.add(4, "break")
        src.add(1, "else:")
        src.add(2, "return None")
    elif kind is EvidenceRecorded:
        src.add(1, f"if {src.const(r.key)} not in o_evidence:")  # type: ignore[attr-defined]
        src.add(2, "return None")
    elif kind is TimeInStage:
        src.add(1, f"if in_stage < {src.const(dt.timedelta(days=r.days))}:")  # type: ignore[attr-defined]
        src.add(2, "return None")
    elif kind is AmountAtLeast:
        minimum = r.minimum  # type: ignore[attr-defined]
        src.add(1, "amount = o_amount")
        src.add(
            1,
            f"if amount is None or amount.currency != {src.const(minimum.currency)} "
            f"or amount.amount < {src.const(minimum.amount)}:",
        )
        src.add(2, "return None")
    else:  # another kind: asked through its own verdict, with the context the engine would build
        src.add(1, "if ctx is None:")
        src.add(2, "ctx = trusted_context(new(Opportunity, fields), tuple(mine), people, now)")
        src.add(1, f"if not {src.const(r)}._met(ctx):")
        src.add(2, "return None")


_COMPILED = frozenset({ActivityCount, RequiredFields, NoOpenGaps, KeyPersonCoverage, EvidenceRecorded,
                       TimeInStage, AmountAtLeast})  # fmt: skip


def _body(requirements: tuple[Requirement, ...], min_dwell: dt.timedelta | None, src: _Source) -> None:
    """
    The lines that return ``None`` unless every input has the plain shape
    and every requirement and the dwell are met.
    """
    fallback = any(type(r) not in _COMPILED for r in requirements)
    _check_activities(requirements, fallback, src)
    _check_people(src, read=fallback or any(type(r) is KeyPersonCoverage for r in requirements))
    if min_dwell is not None:
        src.add(1, f"if in_stage < {src.const(min_dwell)}:")
        src.add(2, "return None")
    if fallback:
        src.names["trusted_context"] = trusted_context
        src.add(1, "ctx = None")
    for i, r in enumerate(requirements):
        _check_requirement(i, r, src)


#: The names a generated function reads once per item of the activities or key persons: each is
#: the default of a parameter after those its caller gives, so a local, read in one step (a global's
#: read checks the namespace's version every time).
_LOCAL = ("type", "Activity", "KeyPerson")


def _define(src: _Source, name: str) -> Any:
    namespace = {**src.names, "type": type}
    head, sep, tail = src.lines[0].rpartition("):")
    if not sep or tail:  # pragma: no cover - every function here is one "def f(...):" line, then its body
        msg = f"not a def line: {src.lines[0]!r}"
        raise AssertionError(msg)
    src.lines[0] = head + "".join(f", {k}={k}" for k in _LOCAL) + "):"
    compiled = compile("\n".join(src.lines), f"<funnelkit compiled {name}>", "exec")
    exec(compiled, namespace)  # noqa: S102 - source built here from constants and closed field names
    return namespace[name]


def compile_move(  # noqa: PLR0917 - what one move is
    pipeline: str,
    kind: MoveKind,
    from_stage: str,
    to_stage: str,
    requirements: tuple[Requirement, ...],
    min_dwell: dt.timedelta | None,
) -> Move:
    """
    The compiled move *from_stage* → *to_stage* of *pipeline*: given
    ``(fields, now, actor, expected_version, activities, key_persons)``, with
    *fields* the opportunity's fields as a plain tuple (``() + opp``, see
    :data:`STAGE`), the new opportunity and its event when every argument is
    of the plain kind (an opportunity of this pipeline, a UTC time no earlier
    than it entered, a valid actor, the expected version or none) and the
    move's requirements and minimum dwell are surely met; ``None`` otherwise.  The caller finds the
    move by the opportunity's stage, so that is *from_stage*.  It builds both
    values as records, in field order, changing what the move changes (stage,
    time entered, status, version) and nothing else.

    Cost: O(requirements) once; the function it returns costs
    O(activities + key persons + requirements) per call.
    """
    src = _Source()
    src.names.update(
        Opportunity=Opportunity, StageChanged=StageChanged, new=tuple.__new__, datetime=dt.datetime,
        UTC=dt.UTC, GOOD=c.GOOD_IDS, good_id=c.good_id, CHECKED=CHECKED,
    )  # fmt: skip
    src.add(0, "def move(fields, now, actor, expected_version, activities, key_persons):")
    # every field at once, as locals o_<field>: far cheaper than a field read each.  The caller gives
    # the opportunity's fields as a plain tuple (see STAGE), which unpacks in one step.
    names = ", ".join(f"o_{_field(f.name, _OPPORTUNITY_FIELDS)}" for f in attrs.fields(Opportunity))
    src.add(1, f"{names} = fields")
    src.add(1, "if not (")
    src.add(2, "type(now) is datetime and now.tzinfo is UTC")
    src.add(
        2,
        "and (expected_version is None or (type(expected_version) is int and expected_version == o_version))",
    )
    src.add(2, f"and o_pipeline == {src.const(pipeline)}")  # its stage is the key it was found by
    src.add(1, "):")
    src.add(2, "return None")
    # the actor last found a valid id needs no check (see _Checked); the type first, so that no
    # hash or equality of the caller's runs
    src.add(1, "if actor is not CHECKED.actor:")
    src.add(2, "if type(actor) is not str or not (actor in GOOD or good_id(actor)):")
    src.add(3, "return None")
    src.add(2, "CHECKED.actor = actor")
    # the time in stage, which the event records: the move needs it not negative (now >= entered)
    src.add(1, "in_stage = now - o_stage_entered_at")
    src.add(1, f"if in_stage < {src.const(_ZERO)}:")
    src.add(2, "return None")
    if requirements or min_dwell is not None:
        _body(requirements, min_dwell, src)
    status = OpportunityStatus.WON if kind is MoveKind.WIN else OpportunityStatus.OPEN
    to = src.const(to_stage)
    changed = {
        "stage": to, "stage_entered_at": "now", "status": src.const(status), "lost_reason": "None",
        "version": "version",
    }  # fmt: skip
    opp_values = ", ".join(changed.get(f.name, f"o_{f.name}") for f in attrs.fields(Opportunity))
    event = {
        "opportunity_id": "o_id", "pipeline": src.const(pipeline), "kind": src.const(kind),
        "from_stage": src.const(from_stage), "to_stage": to, "at": "now", "actor": "actor",
        "version": "version", "time_in_stage": "in_stage", "lost_reason": "None",
        "override_reason": "None", "override_by": "None", "bypassed": "()",
    }  # fmt: skip
    event_values = ", ".join(event[f.name] for f in attrs.fields(StageChanged))
    src.add(1, "version = o_version + 1")
    src.add(1, f"return new(Opportunity, ({opp_values})), new(StageChanged, ({event_values}))")
    return _define(src, "move")  # type: ignore[no-any-return]
