"""
Pipelines: ordered stages, their probabilities and exit requirements, and the
moves allowed between them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import inspect
import itertools
import typing
import warnings
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from .. import _checks as c
from .._checks import check
from ..errors import PipelineDefinitionError, PipelineWarning, Problem, ValidationError
from . import _limits as lim
from ._requirements import Predicate, Requirement, check_days

if TYPE_CHECKING:
    from statemachine import StateMachine


class StageOutcome(enum.StrEnum):
    """
    Whether a stage is still in play, or where a deal ends.
    """

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ForecastCategory(enum.StrEnum):
    """
    The forecast bucket of a stage, rolled up cumulatively by forecasts:
    commit includes closed; best case includes commit and closed.
    """

    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


class MoveKind(enum.StrEnum):
    """
    The kind of a stage change.
    """

    ADVANCE = "advance"
    BACK = "back"
    WIN = "win"
    LOSE = "lose"
    REOPEN = "reopen"


class ProbabilityCheck(enum.StrEnum):
    """
    What to do when probabilities fall along the forward path.
    """

    ERROR = "error"
    WARN = "warn"
    OFF = "off"


def _outcome(value: StageOutcome | str) -> StageOutcome:
    return lim.member(StageOutcome, value)


def _category(value: ForecastCategory | str) -> ForecastCategory:
    return lim.member(ForecastCategory, value)


def _default_category(self: Stage) -> ForecastCategory:
    if self.outcome is StageOutcome.WON:
        return ForecastCategory.CLOSED
    if self.outcome is StageOutcome.LOST:
        return ForecastCategory.OMITTED
    return ForecastCategory.PIPELINE


def _probability(value: Decimal | float | str) -> Decimal:
    return c.to_decimal(value)


def _check_probability(value: object) -> Problem | None:
    """
    A probability in [0, 1], in plain digits with at most 20 decimal places,
    so that it is written and read back as it is.
    """
    problem = c.probability(value)
    if problem is None and isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if not isinstance(exponent, int) or not -lim.MAX_PLACES <= exponent <= 0:
            return c.bad(
                "format",
                f"{c.show(value)} is not in plain digits with at most {lim.MAX_PLACES} decimal places; "
                "write a probability such as '0.25'",
            )
    return problem


def _requirements(value: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return lim.to_tuple(value)  # type: ignore[no-any-return]


def _positive_days(value: object) -> Problem | None:
    problem = check_days(value)
    if problem is None and value == 0:
        return c.bad("range", "0 is not positive; expected a number of days >= 1")
    return problem


@attrs.frozen(kw_only=True)
class Stage(c.Checked):
    """
    One step of a pipeline.

    *probability* is the chance of winning a deal at this stage, in [0, 1]
    with at most 20 decimal places;
    *category* defaults to ``pipeline`` for open stages, ``closed`` for won
    and ``omitted`` for lost.  A deal is stalled once it has spent more than
    *stall_after_days* (at most 36,500) in the stage; leaving before *min_dwell* makes the move
    hasty.  *requirements* must all be met before a deal may leave the stage
    forward (backward moves and losing need none).
    """

    key: str = attrs.field(metadata=check(c.identifier))
    label: str = attrs.field(metadata=check(c.name))
    probability: Decimal = attrs.field(metadata=check(_check_probability), converter=_probability)
    outcome: StageOutcome = attrs.field(
        default=StageOutcome.OPEN, metadata=check(c.member_of(StageOutcome)), converter=_outcome
    )
    category: ForecastCategory = attrs.field(
        default=attrs.Factory(_default_category, takes_self=True),
        metadata=check(c.member_of(ForecastCategory)),
        converter=_category,
    )
    stall_after_days: int | None = attrs.field(
        default=None, metadata=check(c.optional(_positive_days)), converter=c.to_optional_int
    )
    min_dwell: dt.timedelta | None = attrs.field(default=None, metadata=check(c.optional(c.duration)))
    requirements: tuple[Requirement, ...] = attrs.field(
        default=(),
        metadata=check(lim.limited(c.items(c.instance_of(Requirement, "a Requirement"), tuple))),
        converter=_requirements,
    )
    description: str | None = attrs.field(default=None, metadata=check(c.optional(c.text)))

    def _relations(self) -> list[Problem]:
        problems = []
        if self.outcome is StageOutcome.WON:
            if self.probability != 1:
                problems.append(
                    Problem(
                        path="probability",
                        code="conflict",
                        message=f"{self.probability} on a won stage; it must be 1",
                    )
                )
            if self.category is not ForecastCategory.CLOSED:
                problems.append(
                    Problem(
                        path="category",
                        code="conflict",
                        message=f"{self.category.value!r} on a won stage; it must be 'closed'",
                    )
                )
        if self.outcome is StageOutcome.LOST:
            if self.probability != 0:
                problems.append(
                    Problem(
                        path="probability",
                        code="conflict",
                        message=f"{self.probability} on a lost stage; it must be 0",
                    )
                )
            if self.category is not ForecastCategory.OMITTED:
                problems.append(
                    Problem(
                        path="category",
                        code="conflict",
                        message=f"{self.category.value!r} on a lost stage; it must be 'omitted'",
                    )
                )
        if self.outcome is not StageOutcome.WON and self.category is ForecastCategory.CLOSED:
            problems.append(
                Problem(path="category", code="conflict", message="'closed' is only for won stages")
            )
        if self.outcome is not StageOutcome.OPEN:
            for name in ("stall_after_days", "min_dwell"):
                if getattr(self, name) is not None:
                    problems.append(
                        Problem(
                            path=name,
                            code="conflict",
                            message=f"set on a {self.outcome.value} stage; deals do not stay there",
                        )
                    )
            if self.requirements:
                problems.append(
                    Problem(
                        path="requirements",
                        code="conflict",
                        message=f"set on a {self.outcome.value} stage; only open stages have exits",
                    )
                )
        return problems

    @property
    def is_open(self) -> bool:
        return self.outcome is StageOutcome.OPEN

    def to_dict(self) -> dict[str, Any]:
        """
        The stage as a JSON-safe document: the same as ``funnelkit.to_dict(self)``.

        Cost: O(size of its requirements).
        """
        from ..convert import to_dict

        return to_dict(self)  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True)
class Plan:
    """
    What a move from one stage to another takes: its kind, the requirements to
    meet (the current stage's, and those of every stage skipped), and the
    minimum dwell of the stage being left.
    """

    kind: MoveKind
    requirements: tuple[Requirement, ...]
    min_dwell: dt.timedelta | None
    reads_activities: bool = False


def _pairs(value: Iterable[Iterable[str]] | None) -> tuple[tuple[str, ...], ...] | None:
    read: Any = lim.bounded(value, lim.MAX_TRANSITIONS)
    if read is None or isinstance(read, lim.TooMany) or not c.is_iterable(read):
        return read  # type: ignore[no-any-return]
    # A pair longer than 3 items is refused anyway: read no more of it.
    return tuple(lim.to_tuple(p, 3) if c.is_iterable(p) else p for p in read)


def _check_pairs(value: object) -> c.Result:
    if value is None:
        return None
    if isinstance(value, lim.TooMany):
        return value.problem
    if not isinstance(value, tuple):
        return c.wrong_type(value, "a list of [from, to] pairs")
    problems = [
        Problem(path=f"[{i}]", code="type", message=f"{c.show(pair)} is not a [from, to] pair of stage keys")
        for i, pair in enumerate(value)
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(k, str) for k in pair))
    ]
    return problems or None


def _check_stages(value: object) -> c.Result:
    result = lim.limited(c.items(c.instance_of(Stage, "a Stage"), tuple))(value)
    if result is None and not value:
        return c.bad("empty", "() is empty; a pipeline needs stages")
    return result


def _probability_check(value: ProbabilityCheck | str) -> ProbabilityCheck:
    return lim.member(ProbabilityCheck, value)


def _stages(value: Iterable[Stage]) -> tuple[Stage, ...]:
    return lim.to_tuple(value, lim.MAX_STAGES)  # type: ignore[no-any-return]


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return lim.to_tuple(value)  # type: ignore[no-any-return]


# Where a warning should point: the first frame outside funnelkit, attrs and attrs' generated code.
_INSIDE = ("funnelkit.", "attr.", "attrs.")


def _warn_outside(message: str, category: type[Warning]) -> None:
    """
    Warn at the user's line, however the call reached us (``Pipeline(...)``,
    ``from_dict``, ``attrs.evolve``, wrappers): the first frame outside
    funnelkit and attrs, found by name rather than by counting frames.
    Reads frames only: no I/O.
    """
    frame = inspect.currentframe()
    while frame is not None and frame.f_back is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not (module.startswith(_INSIDE) or frame.f_code.co_filename.startswith("<attrs generated")):
            break
        frame = frame.f_back
    if frame is None:  # no frame support (not CPython): let warnings place it
        warnings.warn(message, category, stacklevel=2)
        return
    warnings.warn_explicit(
        message,
        category,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=str(frame.f_globals.get("__name__", "")),
        registry=frame.f_globals.setdefault("__warningregistry__", {}),
        module_globals=frame.f_globals,
    )


@attrs.frozen(kw_only=True)
class Pipeline:
    """
    An ordered list of stages and the moves allowed between them.

    Stages are listed in their forward order; lost stages may stand anywhere
    in the list.  "Forward" means later in the list, for listed transitions
    too: forward moves need the milestones, backward moves none.  By default
    a deal moves forward one step at a time and may be lost from any open
    stage.  *allow_skip* permits forward moves over
    several stages (the skipped stages' requirements must then be met too),
    *allow_backward* moves back to an earlier open stage, *allow_reopen* moves
    from a lost stage back to any open stage.  Or list *transitions*
    explicitly, as ``(from, to)`` pairs: then exactly those moves are allowed.

    *lost_reasons*, when given, is the list a lost reason must come from.
    *probability_check* says whether probabilities that fall along the
    forward path are an ``error`` (the default), a ``warn``-ing or ``off``.

    Building a pipeline checks it whole and raises one
    :class:`~funnelkit.errors.PipelineDefinitionError` listing every problem.
    A pipeline is immutable and safe to share between threads.
    """

    key: str = attrs.field(metadata=check(c.identifier))
    label: str = attrs.field(metadata=check(c.name))
    stages: tuple[Stage, ...] = attrs.field(metadata=check(_check_stages), converter=_stages)
    allow_skip: bool = attrs.field(default=False, metadata=check(c.boolean), converter=c.to_bool)
    allow_backward: bool = attrs.field(default=False, metadata=check(c.boolean), converter=c.to_bool)
    allow_reopen: bool = attrs.field(default=False, metadata=check(c.boolean), converter=c.to_bool)
    transitions: tuple[tuple[str, ...], ...] | None = attrs.field(
        default=None, metadata=check(_check_pairs), converter=_pairs
    )
    lost_reasons: tuple[str, ...] = attrs.field(
        default=(), metadata=check(lim.limited(c.items(c.name, tuple, unique=True))), converter=_names
    )
    probability_check: ProbabilityCheck = attrs.field(
        default=ProbabilityCheck.ERROR,
        metadata=check(c.member_of(ProbabilityCheck)),
        converter=_probability_check,
    )
    # Derived once, for the engine.
    _by_key: Mapping[str, Stage] = attrs.field(init=False, eq=False, repr=False)
    _moves: Mapping[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)
    _targets: Mapping[str, frozenset[str]] = attrs.field(init=False, eq=False, repr=False)
    _position: Mapping[str, int] = attrs.field(init=False, eq=False, repr=False)
    _next: Mapping[str, str] = attrs.field(init=False, eq=False, repr=False)
    _single_won: str | None = attrs.field(init=False, eq=False, repr=False)
    _lose_to: Mapping[str, str] = attrs.field(init=False, eq=False, repr=False)
    _reopen_to: Mapping[str, str] = attrs.field(init=False, eq=False, repr=False)
    # Plans are worked out on first use: a pipeline that allows every skip has
    # O(stages²) moves, each of whose plan lists O(stages) requirements.
    _plan_cache: dict[tuple[str, str], Plan] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems = c.field_problems(type(self), {f.name: getattr(self, f.name) for f in _INIT_FIELDS})
        unread = {_field_of(p.path) for p in problems}
        stages = self.stages if isinstance(self.stages, tuple) else ()
        nodes: list[_Node | None] = [_Node.of(s) if isinstance(s, Stage) else None for s in stages]
        more, moves, falling = _analyse(
            nodes,
            flags={f: _UNREAD if f in unread else getattr(self, f) for f in _FLAGS},
            transitions=_UNREAD if "transitions" in unread else self.transitions,
            probability_check=None if "probability_check" in unread else self.probability_check,
        )
        problems.extend(more)
        if problems:
            raise PipelineDefinitionError(problems)
        assert moves is not None  # noqa: S101 - no problems means the moves were worked out
        if falling and self.probability_check is ProbabilityCheck.WARN:
            _warn_outside(f"pipeline {self.key!r}: {falling}", PipelineWarning)
        by_key = {s.key: s for s in self.stages}
        forward = [s.key for s in self.stages if s.outcome is not StageOutcome.LOST]
        position = {k: i for i, k in enumerate(forward)}

        # The default targets come from the allowed moves, in pipeline order:
        # the first forward (to a stage later in the list, not lost), the first
        # lost, and for a lost stage the first stage (or else the first open one).
        index = {s.key: i for i, s in enumerate(self.stages)}
        lost = {s.key for s in self.stages if s.outcome is StageOutcome.LOST}
        nxt: dict[str, str] = {}
        lose_to: dict[str, str] = {}
        reopen_to: dict[str, str] = {}
        start = self.stages[0].key
        targets = {k: frozenset(v) for k, v in moves.items()}
        for k, ts in moves.items():
            if not ts:
                continue
            if k in lost:
                reopen_to[k] = start if start in targets[k] else ts[0]
                continue
            later = itertools.islice(ts, bisect.bisect_right(ts, index[k], key=index.__getitem__), None)
            if (t := next((d for d in later if d not in lost), None)) is not None:
                nxt[k] = t
            if (t := next((d for d in ts if d in lost), None)) is not None:
                lose_to[k] = t
        setter = object.__setattr__
        setter(self, "_by_key", MappingProxyType(by_key))
        setter(self, "_moves", MappingProxyType({k: tuple(v) for k, v in moves.items()}))
        setter(self, "_targets", MappingProxyType(targets))
        setter(self, "_position", MappingProxyType(position))
        setter(self, "_next", MappingProxyType(nxt))
        setter(self, "_lose_to", MappingProxyType(lose_to))
        setter(self, "_reopen_to", MappingProxyType(reopen_to))
        won = [s.key for s in self.stages if s.outcome is StageOutcome.WON]
        setter(self, "_single_won", won[0] if len(won) == 1 else None)
        setter(self, "_plan_cache", {})

    def _plan(self, src: str, dst: str) -> Plan | None:
        """
        The plan of *src* → *dst*, or None when the move is not allowed; for
        the engine, which has checked that both are str.
        """
        plan = self._plan_cache.get((src, dst))
        if plan is None:
            targets = self._targets.get(src)
            if targets is None or dst not in targets:
                return None
            plan = _plan(self._by_key, self._position, self.stages, src, dst)
            # Two threads may both work it out; they store equal values.
            self._plan_cache[src, dst] = plan
        return plan

    # --- queries ------------------------------------------------------------

    def stage(self, key: str) -> Stage:
        """
        The stage with *key*; a clear error when there is none.

        Cost: O(1) (O(stages) to build the error).
        """
        return self._stage(key, "key")

    def _stage(self, key: object, path: str) -> Stage:
        if isinstance(key, str):
            found = self._by_key.get(key)
            if found is not None:
                return found
        raise ValidationError.single(path, self._unknown(key), code="reference")

    def _unknown(self, key: object) -> str:
        known = ", ".join(repr(s.key) for s in self.stages[:_LISTED])
        if len(self.stages) > _LISTED:
            known += f", ... ({len(self.stages):,} in all)"
        return f"{c.show(key)} is not a stage of pipeline {self.key!r}; stages: {known}"

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._by_key

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages)

    @property
    def first(self) -> Stage:
        """
        Where new deals start.
        """
        return self.stages[0]

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.outcome is StageOutcome.OPEN)

    @property
    def won_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.outcome is StageOutcome.WON)

    @property
    def lost_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.outcome is StageOutcome.LOST)

    def moves_from(self, key: str) -> tuple[str, ...]:
        """
        The stages a deal at *key* may move to, in pipeline order.

        Cost: O(1).
        """
        self._stage(key, "key")
        return self._moves.get(key, ())

    def allows(self, from_stage: str, to_stage: str) -> bool:
        """
        Whether the pipeline allows a move *from_stage* → *to_stage* (False
        when either is not one of its stages).

        Cost: O(1).
        """
        _check_key(from_stage, "from_stage")
        _check_key(to_stage, "to_stage")
        targets = self._targets.get(from_stage)
        return targets is not None and to_stage in targets

    def next_stage(self, key: str) -> str | None:
        """
        The stage one step forward from *key* (the first forward move allowed,
        in pipeline order), or ``None`` where there is none.

        Cost: O(1).
        """
        self._stage(key, "key")
        return self._next.get(key)

    def plan(self, from_stage: str, to_stage: str) -> Plan | None:
        """
        What moving *from_stage* → *to_stage* takes, or ``None`` if not allowed.

        Cost: O(stages) the first time for a move, O(1) after.
        """
        _check_key(from_stage, "from_stage")
        _check_key(to_stage, "to_stage")
        return self._plan(from_stage, to_stage)

    # --- exports ------------------------------------------------------------

    def to_statechart(self) -> type[StateMachine]:
        """
        A python-statemachine class of this pipeline (see :func:`to_statechart`).

        Cost: O(stages + moves), plus python-statemachine's own.
        """
        from ._statechart import to_statechart

        return to_statechart(self)

    def to_mermaid(self) -> str:
        """
        A Mermaid state diagram of this pipeline (see :func:`to_mermaid`).

        Cost: O(stages + moves).
        """
        from ._statechart import to_mermaid

        return to_mermaid(self)

    def _repr_html_(self) -> str:
        """
        The stages as a table in a notebook: probability, category, stall
        threshold and exit requirements.
        """
        from .._repr import html_table

        rows = [
            (
                s.key,
                s.label,
                f"{s.probability:.0%}",
                s.outcome.value,
                s.category.value,
                s.stall_after_days,
                "; ".join(r.name for r in s.requirements),
            )
            for s in self.stages
        ]
        headers = ("stage", "label", "probability", "outcome", "category", "stall after days", "to leave it")
        return html_table(headers, rows, caption=f"pipeline {self.key!r}")

    # --- dicts --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-safe document that :meth:`from_dict` reads back to an equal
        pipeline: the same as ``funnelkit.to_dict(self)``.

        Cost: O(stages + their requirements + transitions).
        """
        from ..convert import to_dict

        return to_dict(self)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: object, *, predicates: Mapping[str, Predicate] | None = None) -> Pipeline:
        """
        Build a pipeline from a plain dict (as a host loads it from JSON, YAML
        or a database row).  Custom :class:`Predicate` requirements are found
        by name in *predicates*.  Raises one
        :class:`~funnelkit.errors.PipelineDefinitionError` listing every
        problem, with its path: those of each stage and those of the pipeline
        as a whole (duplicate keys, missing outcomes, moves, reachability),
        checked on every stage whose key and outcome could be read.

        Cost: O(size of the document + stages + moves).
        """
        from ..convert import _predicates_in_scope

        if isinstance(data, Pipeline):
            return data
        with _predicates_in_scope(predicates):
            return cls._read(data)

    @classmethod
    def _read(cls, data: object) -> Pipeline:
        from ..convert import _structure_fields

        if not isinstance(data, Mapping):
            msg = f"{c.show(data)} is {c.a_type(data)}; expected an object with key, label and stages"
            raise PipelineDefinitionError([Problem(path="", code="type", message=msg)])
        problems: list[Problem] = []
        stages: list[Stage] = []
        nodes: list[_Node | None] | None = None
        raw_stages = data.get("stages")
        if isinstance(raw_stages, list) and len(raw_stages) > lim.MAX_STAGES:
            problems.append(lim.TooMany(lim.MAX_STAGES, len(raw_stages)).problem.prefixed("stages"))
            raw_stages = []
        elif isinstance(raw_stages, list):
            nodes = []
            for i, raw in enumerate(raw_stages):
                try:
                    built = _stage_from_dict(raw)
                except ValidationError as e:
                    problems.extend(p.prefixed(f"stages[{i}]") for p in e.problems)
                    nodes.append(_Node.read(raw))
                else:
                    stages.append(built)
                    nodes.append(_Node.of(built))
        rest = {k: v for k, v in data.items() if k != "stages"}
        if "stages" in data:
            rest["stages"] = stages if isinstance(raw_stages, list) else raw_stages
        fields: _PipelineFields | None
        try:
            fields = _structure_fields(_PipelineFields, rest)
        except ValidationError as e:
            problems.extend(e.problems)
            fields = None
        if problems:
            if nodes:
                # The checks of the pipeline as a whole, on what could be read.
                check = lim.member(ProbabilityCheck, data.get("probability_check", ProbabilityCheck.ERROR))
                more, _, _ = _analyse(
                    nodes,
                    flags={f: _read_flag(data, f) for f in _FLAGS},
                    transitions=_read_transitions(data.get("transitions")),
                    probability_check=check if isinstance(check, ProbabilityCheck) else None,
                )
                problems.extend(more)
            raise PipelineDefinitionError(sorted(problems, key=lambda p: p.path))
        assert fields is not None  # noqa: S101 - no problems means it was built
        return cls(**attrs.asdict(fields, recurse=False))


_INIT_FIELDS = tuple(f for f in attrs.fields(Pipeline) if f.init)


@attrs.frozen(kw_only=True)
class _PipelineFields:
    """
    The fields of a pipeline as read from a dict, before the graph checks.
    """

    key: str
    label: str
    stages: tuple[Stage, ...]
    allow_skip: bool = False
    allow_backward: bool = False
    allow_reopen: bool = False
    transitions: tuple[tuple[str, ...], ...] | None = None
    lost_reasons: tuple[str, ...] = ()
    probability_check: ProbabilityCheck = ProbabilityCheck.ERROR


def _stage_from_dict(raw: object) -> Stage:
    from ..convert import _structure_fields

    raw = c.require(raw, Mapping, "a stage object", "")  # type: ignore[type-abstract]
    reqs = raw.get("requirements")
    if isinstance(reqs, list) and len(reqs) > lim.MAX_ITEMS:  # refused before reading them
        problems = [lim.TooMany(lim.MAX_ITEMS, len(reqs)).problem.prefixed("requirements")]
        try:
            _structure_fields(Stage, {**raw, "requirements": []})
        except ValidationError as e:
            problems.extend(e.problems)
        raise ValidationError(sorted(problems, key=lambda p: p.path))
    return _structure_fields(Stage, raw)


_LISTED = 20  # stages named in an "unknown stage" message

_FLAGS = ("allow_skip", "allow_backward", "allow_reopen")


class _Unread:
    """
    A field that could not be read: the checks that need it are skipped.
    """

    def __repr__(self) -> str:
        return "<unread>"


_UNREAD: Any = _Unread()


def _field_of(path: str) -> str:
    """
    The field a problem's *path* starts with: ``stages`` for ``stages[3].key``.
    """
    return path.split(".", 1)[0].split("[", 1)[0]


def _check_key(key: object, path: str) -> None:
    if type(key) is not str and not isinstance(key, str):
        raise c.at(path, c.wrong_type(key, "a stage key"))


@attrs.frozen
class _Node:
    """
    What the checks of a pipeline as a whole need of a stage: its key,
    outcome and probability, each ``None`` when it could not be read.
    """

    key: str | None
    outcome: StageOutcome | None
    probability: Decimal | None

    @classmethod
    def of(cls, stage: Stage) -> _Node:
        return cls(stage.key, stage.outcome, stage.probability)

    @classmethod
    def read(cls, raw: object) -> _Node | None:
        """
        The parts of a stage document that read well, though the stage as a whole does not.
        """
        if not isinstance(raw, Mapping):
            return None
        key = raw.get("key")
        outcome = lim.member(StageOutcome, raw.get("outcome", StageOutcome.OPEN))
        probability = raw.get("probability")
        probability = c.to_decimal(probability) if isinstance(probability, str | int | float) else None
        return cls(
            key if c.identifier(key) is None else None,
            outcome if isinstance(outcome, StageOutcome) else None,
            probability if _check_probability(probability) is None else None,
        )


def _read_flag(data: Mapping[str, object], name: str) -> object:
    value = data.get(name, False)
    return value if isinstance(value, bool) else _UNREAD


def _read_transitions(value: object) -> object:
    if value is None:
        return None
    if (
        isinstance(value, list)
        and len(value) <= lim.MAX_TRANSITIONS
        and all(
            isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(k, str) for k in p) for p in value
        )
    ):
        return tuple(tuple(p) for p in value)
    return _UNREAD


def _analyse(
    nodes: list[_Node | None],
    *,
    flags: Mapping[str, object],
    transitions: object,
    probability_check: ProbabilityCheck | None,
) -> tuple[list[Problem], dict[str, list[str]] | None, str | None]:
    """
    The problems of a pipeline as a whole, its moves, and what falls along
    its forward path.  Every check whose inputs could be read runs (a stage
    that is ``None``, a flag or *transitions* that is ``_UNREAD``, a
    *probability_check* that is ``None`` could not be), so that one error
    lists every problem.  The moves are ``None`` when they could not be
    worked out.

    Cost: O(stages + moves).
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    duplicates = False
    for i, n in enumerate(nodes):
        if n is None or n.key is None:
            continue
        if n.key in seen:
            duplicates = True
            problems.append(
                Problem(
                    path=f"stages[{i}].key",
                    code="duplicate",
                    message=f"{n.key!r} is used by an earlier stage; keys must be unique",
                )
            )
        seen.add(n.key)
    complete = bool(nodes) and all(
        n is not None and n.key is not None and n.outcome is not None for n in nodes
    )
    if nodes and all(n is not None and n.outcome is not None for n in nodes):
        for outcome in StageOutcome:
            if not any(n.outcome is outcome for n in nodes):  # type: ignore[union-attr]
                problems.append(
                    Problem(
                        path="stages",
                        code="missing",
                        message=f"no {outcome.value} stage; a pipeline needs at least one",
                    )
                )
    head = nodes[0] if nodes else None
    if head is not None and head.outcome is not None and head.outcome is not StageOutcome.OPEN:
        problems.append(
            Problem(
                path="stages[0]",
                code="graph",
                message=f"{c.show(head.key)} is {head.outcome.value}; the first stage must be open",
            )
        )
    moves = None
    if complete and not duplicates:
        sure = typing.cast("list[_Node]", nodes)
        more, moves = _moves(sure, flags, transitions)
        problems.extend(more)
        if moves is not None:
            problems.extend(_graph_problems(sure, moves))
    falling = None
    if probability_check is not None and probability_check is not ProbabilityCheck.OFF:
        falling = _falling(nodes)
        if falling and probability_check is ProbabilityCheck.ERROR:
            problems.append(
                Problem(
                    path="stages", code="order", message=falling + " (set probability_check='warn' to allow)"
                )
            )
    return problems, moves, falling


def _falling(nodes: list[_Node | None]) -> str | None:
    """
    What falls along the forward path (the stages that are not lost, in
    order, those of unknown outcome or probability left out); None when nothing does.
    """
    forward = [
        n
        for n in nodes
        if n is not None and n.outcome not in (None, StageOutcome.LOST) and n.probability is not None
    ]
    falling = [(a, b) for a, b in itertools.pairwise(forward) if b.probability < a.probability]  # type: ignore[operator]
    if not falling:
        return None
    text = "; ".join(f"{c.show(a.key)} {a.probability} > {c.show(b.key)} {b.probability}" for a, b in falling)
    return f"probabilities fall along the forward path: {text}"


def _moves(
    nodes: list[_Node], flags: Mapping[str, object], transitions: object
) -> tuple[list[Problem], dict[str, list[str]] | None]:
    """
    The allowed moves, from the flags or the explicit transitions; None
    when those could not be read.
    """
    problems: list[Problem] = []
    keys = [typing.cast("str", n.key) for n in nodes]
    by_key = {n.key: n for n in nodes}
    order = {k: i for i, k in enumerate(keys)}
    moves: dict[str, list[str]] = {k: [] for k in keys}
    if transitions is _UNREAD:
        return problems, None
    if transitions is not None:
        for flag in _FLAGS:
            if flags[flag] is True:
                problems.append(
                    Problem(
                        path=flag,
                        code="conflict",
                        message="has no effect when transitions are listed; list the moves instead",
                    )
                )
        pairs: set[tuple[str, ...]] = set()
        listed = ", ".join(map(repr, keys[:_LISTED])) + (
            f", ... ({len(keys):,} in all)" if len(keys) > _LISTED else ""
        )
        for i, pair in enumerate(typing.cast("tuple[tuple[str, str], ...]", transitions)):
            src, dst = pair
            where = f"transitions[{i}]"
            for k in (src, dst):
                if k not in by_key:
                    problems.append(
                        Problem(
                            path=where,
                            code="reference",
                            message=f"{c.show(k)} is not a stage; stages: {listed}",
                        )
                    )
            if src not in by_key or dst not in by_key:
                continue
            a, b = by_key[src], by_key[dst]
            if src == dst:
                problems.append(Problem(path=where, code="graph", message=f"{src!r} -> {dst!r} goes nowhere"))
            elif pair in pairs:
                problems.append(
                    Problem(path=where, code="duplicate", message=f"{src!r} -> {dst!r} is listed twice")
                )
            elif a.outcome is StageOutcome.WON:
                problems.append(
                    Problem(path=where, code="graph", message=f"{src!r} is a won stage; won is final")
                )
            elif a.outcome is StageOutcome.LOST and b.outcome is not StageOutcome.OPEN:
                problems.append(
                    Problem(
                        path=where,
                        code="graph",
                        message=f"{src!r} -> {dst!r}: a lost deal can only reopen to an open stage",
                    )
                )
            else:
                moves[src].append(dst)
            pairs.add(pair)
    elif any(flags[f] is _UNREAD for f in _FLAGS):
        return problems, None
    else:
        outcome = {n.key: n.outcome for n in nodes}
        forward = [k for k in keys if outcome[k] is not StageOutcome.LOST]
        is_open = {k for k in keys if outcome[k] is StageOutcome.OPEN}
        lost = [k for k in keys if outcome[k] is StageOutcome.LOST]
        opened = [k for k in keys if k in is_open]
        for i, k in enumerate(forward):
            if k not in is_open:
                continue
            targets = forward[i + 1 :] if flags["allow_skip"] else forward[i + 1 : i + 2]
            if flags["allow_backward"]:
                targets = [b for b in forward[:i] if b in is_open] + targets
            moves[k] = targets + lost
        if flags["allow_reopen"]:
            for k in lost:
                moves[k] = list(opened)
    for targets in moves.values():
        targets.sort(key=order.__getitem__)
    return problems, moves


def _closure(start: Iterable[str], edges: Mapping[str, list[str]]) -> set[str]:
    """
    Every node reachable from *start* along *edges*, *start* included.
    """
    reached = set(start)
    frontier = list(reached)
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    return reached


def _graph_problems(nodes: list[_Node], moves: Mapping[str, list[str]]) -> list[Problem]:
    problems = []
    start = typing.cast("str", nodes[0].key)
    reached = _closure([start], moves)
    for i, n in enumerate(nodes):
        if n.key not in reached:
            problems.append(
                Problem(
                    path=f"stages[{i}]",
                    code="graph",
                    message=f"{n.key!r} cannot be reached from the first stage {start!r}",
                )
            )
    won = [typing.cast("str", n.key) for n in nodes if n.outcome is StageOutcome.WON]
    if not won:  # reported already: every open stage would be a dead end
        return problems
    # Open stages must lead to a win: walk the moves backwards from the won stages.
    into: dict[str, list[str]] = {k: [] for k in moves}
    for src, targets in moves.items():
        for dst in targets:
            into[dst].append(src)
    winning = _closure(won, into)
    for i, n in enumerate(nodes):
        if n.outcome is StageOutcome.OPEN and n.key not in winning:
            problems.append(
                Problem(path=f"stages[{i}]", code="graph", message=f"{n.key!r} has no path to a won stage")
            )
    return problems


def _kind(a: Stage, b: Stage, position: Mapping[str, int]) -> MoveKind:
    """
    The kind of an allowed move from *a* to *b*.
    """
    if b.outcome is StageOutcome.LOST:
        return MoveKind.LOSE
    if a.outcome is StageOutcome.LOST:
        return MoveKind.REOPEN
    if position[b.key] < position[a.key]:
        return MoveKind.BACK
    return MoveKind.WIN if b.outcome is StageOutcome.WON else MoveKind.ADVANCE


def _plan(
    by_key: Mapping[str, Stage], position: Mapping[str, int], stages: tuple[Stage, ...], src: str, dst: str
) -> Plan:
    """
    The plan of an allowed move.  Cost: O(stages) for a forward move.
    """
    a, b = by_key[src], by_key[dst]
    kind = _kind(a, b, position)
    if kind not in (MoveKind.ADVANCE, MoveKind.WIN):
        return Plan(kind=kind, requirements=(), min_dwell=None)
    lo, hi = position[src], position[dst]
    skipped = [s for s in stages if s.is_open and lo < position[s.key] < hi]
    reqs = tuple(r for s in (a, *skipped) for r in s.requirements)
    reads = any(r.reads_activities() for r in reqs)
    return Plan(kind=kind, requirements=reqs, min_dwell=a.min_dwell, reads_activities=reads)
