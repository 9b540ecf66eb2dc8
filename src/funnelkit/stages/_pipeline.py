"""
Pipelines: ordered stages, their probabilities and exit requirements, and the
moves allowed between them.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import itertools
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
from ._requirements import Predicate, Requirement, check_days, requirement_from_dict

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
    return {
        StageOutcome.WON: ForecastCategory.CLOSED,
        StageOutcome.LOST: ForecastCategory.OMITTED,
    }.get(self.outcome, ForecastCategory.PIPELINE)


def _probability(value: Decimal | float | str) -> Decimal:
    return c.to_decimal(value)


def _check_probability(value: object) -> str | None:
    """
    A probability in [0, 1], in plain digits with at most 20 decimal places,
    so that it is written and read back as it is.
    """
    msg = c.probability(value)
    if msg is None:
        exponent = value.as_tuple().exponent  # type: ignore[union-attr]
        if not isinstance(exponent, int) or not -lim.MAX_PLACES <= exponent <= 0:
            return (
                f"{c.show(value)} is not in plain digits with at most {lim.MAX_PLACES} decimal places; "
                "write a probability such as '0.25'"
            )
    return msg


def _requirements(value: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return lim.to_tuple(value)  # type: ignore[no-any-return]


def _positive_days(value: object) -> str | None:
    msg = check_days(value)
    if msg is None and value == 0:
        return "0 is not positive; expected a number of days >= 1"
    return msg


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
    stall_after_days: int | None = attrs.field(default=None, metadata=check(c.optional(_positive_days)))
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
                    Problem(path="probability", message=f"{self.probability} on a won stage; it must be 1")
                )
            if self.category is not ForecastCategory.CLOSED:
                problems.append(
                    Problem(
                        path="category",
                        message=f"{self.category.value!r} on a won stage; it must be 'closed'",
                    )
                )
        if self.outcome is StageOutcome.LOST:
            if self.probability != 0:
                problems.append(
                    Problem(path="probability", message=f"{self.probability} on a lost stage; it must be 0")
                )
            if self.category is not ForecastCategory.OMITTED:
                problems.append(
                    Problem(
                        path="category",
                        message=f"{self.category.value!r} on a lost stage; it must be 'omitted'",
                    )
                )
        if self.outcome is not StageOutcome.WON and self.category is ForecastCategory.CLOSED:
            problems.append(Problem(path="category", message="'closed' is only for won stages"))
        if self.outcome is not StageOutcome.OPEN:
            for name in ("stall_after_days", "min_dwell"):
                if getattr(self, name) is not None:
                    problems.append(
                        Problem(
                            path=name, message=f"set on a {self.outcome.value} stage; deals do not stay there"
                        )
                    )
            if self.requirements:
                problems.append(
                    Problem(
                        path="requirements",
                        message=f"set on a {self.outcome.value} stage; only open stages have exits",
                    )
                )
        return problems

    @property
    def is_open(self) -> bool:
        return self.outcome is StageOutcome.OPEN

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-safe dict that :meth:`Pipeline.from_dict` reads back.

        Cost: O(size of its requirements).
        """
        from ..convert import format_duration

        return {
            "key": self.key,
            "label": self.label,
            "probability": str(self.probability),
            "outcome": self.outcome.value,
            "category": self.category.value,
            "stall_after_days": self.stall_after_days,
            "min_dwell": None if self.min_dwell is None else format_duration(self.min_dwell),
            "requirements": [r.to_dict() for r in self.requirements],
            "description": self.description,
        }


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
    value = lim.bounded(value, lim.MAX_TRANSITIONS)
    if value is None or isinstance(value, lim.TooMany) or not c.is_iterable(value):
        return value  # type: ignore[no-any-return]
    # A pair longer than 3 items is refused anyway: read no more of it.
    return tuple(lim.to_tuple(p, 3) if c.is_iterable(p) else p for p in value)


def _check_pairs(value: object) -> c.Result:
    if value is None:
        return None
    if isinstance(value, lim.TooMany):
        return value.message
    if not isinstance(value, tuple):
        return f"{c.show(value)} is {c.a_type(value)}; expected a list of [from, to] pairs"
    problems = [
        Problem(path=f"[{i}]", message=f"{c.show(pair)} is not a [from, to] pair of stage keys")
        for i, pair in enumerate(value)
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(k, str) for k in pair))
    ]
    return problems or None


def _check_stages(value: object) -> c.Result:
    msg = lim.limited(c.items(c.instance_of(Stage, "a Stage"), tuple))(value)
    if msg is None and not value:
        return "() is empty; a pipeline needs stages"
    return msg


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
    allow_skip: bool = attrs.field(default=False, metadata=check(c.boolean))
    allow_backward: bool = attrs.field(default=False, metadata=check(c.boolean))
    allow_reopen: bool = attrs.field(default=False, metadata=check(c.boolean))
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
        nodes = [_Node.of(s) if isinstance(s, Stage) else None for s in stages]
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

        def first(src: str, kinds: tuple[MoveKind, ...]) -> str | None:
            a = by_key[src]
            return next((dst for dst in moves[src] if _kind(a, by_key[dst], position) in kinds), None)

        # The default targets come from the allowed moves, in pipeline order.
        nxt = {k: t for k in moves if (t := first(k, (MoveKind.ADVANCE, MoveKind.WIN))) is not None}
        lose_to = {k: t for k in moves if (t := first(k, (MoveKind.LOSE,))) is not None}
        start = self.stages[0].key
        targets = {k: frozenset(v) for k, v in moves.items()}
        reopen_to = {
            k: start if start in targets[k] else t for k in moves if (t := first(k, (MoveKind.REOPEN,)))
        }
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
        if type(key) is str:
            found = self._by_key.get(key)
            if found is not None:
                return found
        raise ValidationError.single(path, self._unknown(key))

    def _unknown(self, key: object) -> str:
        known = ", ".join(repr(s.key) for s in self.stages[:_LISTED])
        if len(self.stages) > _LISTED:
            known += f", ... ({len(self.stages):,} in all)"
        return f"{c.show(key)} is not a stage of pipeline {self.key!r}; stages: {known}"

    def __contains__(self, key: object) -> bool:
        return type(key) is str and key in self._by_key

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
        """
        from ._statechart import to_statechart

        return to_statechart(self)

    def to_mermaid(self) -> str:
        """
        A Mermaid state diagram of this pipeline (see :func:`to_mermaid`).
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
        A JSON-safe dict that :meth:`from_dict` reads back to an equal pipeline.
        """
        return {
            "key": self.key,
            "label": self.label,
            "stages": [s.to_dict() for s in self.stages],
            "allow_skip": self.allow_skip,
            "allow_backward": self.allow_backward,
            "allow_reopen": self.allow_reopen,
            "transitions": None if self.transitions is None else [list(p) for p in self.transitions],
            "lost_reasons": list(self.lost_reasons),
            "probability_check": self.probability_check.value,
        }

    @classmethod
    def from_dict(cls, data: object, *, predicates: Mapping[str, Predicate] | None = None) -> Pipeline:
        """
        Build a pipeline from a plain dict (as a host loads it from JSON, YAML
        or a database row).  Custom :class:`Predicate` requirements are found
        by name in *predicates*.  Raises one
        :class:`~funnelkit.errors.PipelineDefinitionError` listing every
        problem, with its path.
        """
        from ..convert import from_dict

        if isinstance(data, Pipeline):
            return data
        if not isinstance(data, Mapping):
            msg = f"{c.show(data)} is {c.a_type(data)}; expected an object with key, label and stages"
            raise PipelineDefinitionError([Problem(path="", message=msg)])
        problems: list[Problem] = []
        stages: list[Stage] = []
        raw_stages = data.get("stages")
        if isinstance(raw_stages, list):
            stages, problems = c.build_each(
                raw_stages, lambda raw: _stage_from_dict(raw, predicates), "stages"
            )
        rest = {k: v for k, v in data.items() if k != "stages"}
        if "stages" in data:
            rest["stages"] = stages if isinstance(raw_stages, list) else raw_stages
        fields: _PipelineFields | None
        try:
            fields = from_dict(_PipelineFields, rest)
        except ValidationError as e:
            problems.extend(e.problems)
            fields = None
        if problems:
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


def _register() -> None:
    from .. import convert

    convert.register(Requirement, unstructure=Requirement.to_dict, structure=requirement_from_dict)
    convert.register(Stage, unstructure=Stage.to_dict, structure=lambda d: _stage_from_dict(d, None))
    convert.register(Pipeline, unstructure=Pipeline.to_dict, structure=Pipeline.from_dict)


def _stage_from_dict(raw: object, predicates: Mapping[str, Predicate] | None) -> Stage:
    from ..convert import structure_fields

    raw = c.require(raw, Mapping, "a stage object", "")  # type: ignore[type-abstract]
    reqs = raw.get("requirements")
    if not isinstance(reqs, list):
        return structure_fields(Stage, raw)
    built, problems = c.build_each(
        reqs, lambda r: requirement_from_dict(r, predicates=predicates), "requirements"
    )
    try:
        stage = structure_fields(Stage, {**raw, "requirements": built})
    except ValidationError as e:
        # The requirements passed on are all built, so the stage's problems are
        # its own (such as requirements on a won stage): keep them all.
        problems.extend(e.problems)
        raise ValidationError(sorted(problems, key=lambda p: p.path)) from None
    if problems:
        raise ValidationError(problems)
    return stage


def _build_moves(p: Pipeline) -> tuple[list[Problem], dict[str, list[str]]]:
    """
    The allowed moves, from the flags or the explicit transitions.
    """
    problems: list[Problem] = []
    keys = [s.key for s in p.stages]
    seen: set[str] = set()
    for i, k in enumerate(keys):
        if k in seen:
            problems.append(
                Problem(
                    path=f"stages[{i}].key", message=f"{k!r} is used by an earlier stage; keys must be unique"
                )
            )
        seen.add(k)
    by_key = {s.key: s for s in p.stages}
    for outcome in StageOutcome:
        if not any(s.outcome is outcome for s in p.stages):
            problems.append(
                Problem(path="stages", message=f"no {outcome.value} stage; a pipeline needs at least one")
            )
    if p.stages and not p.stages[0].is_open:
        problems.append(
            Problem(
                path="stages[0]",
                message=f"{p.stages[0].key!r} is {p.stages[0].outcome.value}; the first stage must be open",
            )
        )
    moves: dict[str, list[str]] = {k: [] for k in by_key}
    if p.transitions is not None:
        for flag in ("allow_skip", "allow_backward", "allow_reopen"):
            if getattr(p, flag):
                problems.append(
                    Problem(
                        path=flag, message="has no effect when transitions are listed; list the moves instead"
                    )
                )
        pairs: set[tuple[str, ...]] = set()
        for i, pair in enumerate(p.transitions):
            src, dst = pair
            where = f"transitions[{i}]"
            for k in (src, dst):
                if k not in by_key:
                    problems.append(
                        Problem(
                            path=where, message=f"{k!r} is not a stage; stages: {', '.join(map(repr, keys))}"
                        )
                    )
            if src not in by_key or dst not in by_key:
                continue
            if src == dst:
                problems.append(Problem(path=where, message=f"{src!r} -> {dst!r} goes nowhere"))
            elif pair in pairs:
                problems.append(Problem(path=where, message=f"{src!r} -> {dst!r} is listed twice"))
            elif by_key[src].outcome is StageOutcome.WON:
                problems.append(Problem(path=where, message=f"{src!r} is a won stage; won is final"))
            elif by_key[src].outcome is StageOutcome.LOST and not by_key[dst].is_open:
                problems.append(
                    Problem(
                        path=where,
                        message=f"{src!r} -> {dst!r}: a lost deal can only reopen to an open stage",
                    )
                )
            else:
                moves[src].append(dst)
            pairs.add(pair)
        order = {k: i for i, k in enumerate(keys)}
        for targets in moves.values():
            targets.sort(key=order.__getitem__)
        return problems, moves
    if problems:
        return problems, moves
    forward = [s.key for s in p.stages if s.outcome is not StageOutcome.LOST]
    lost = [s.key for s in p.stages if s.outcome is StageOutcome.LOST]
    open_keys = [s.key for s in p.stages if s.is_open]
    for i, k in enumerate(forward):
        if not by_key[k].is_open:
            continue
        targets = forward[i + 1 :] if p.allow_skip else forward[i + 1 : i + 2]
        if p.allow_backward:
            targets = [b for b in forward[:i] if by_key[b].is_open] + targets
        moves[k] = targets + lost
    if p.allow_reopen:
        for k in lost:
            moves[k] = list(open_keys)
    order = {k: i for i, k in enumerate(keys)}
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


def _graph_problems(p: Pipeline, moves: Mapping[str, list[str]]) -> list[Problem]:
    problems = []
    start = p.stages[0].key
    reached = _closure([start], moves)
    for i, s in enumerate(p.stages):
        if s.key not in reached:
            problems.append(
                Problem(
                    path=f"stages[{i}]", message=f"{s.key!r} cannot be reached from the first stage {start!r}"
                )
            )
    # Open stages must lead to a win: walk the moves backwards from the won stages.
    into: dict[str, list[str]] = {k: [] for k in moves}
    for src, targets in moves.items():
        for dst in targets:
            into[dst].append(src)
    winning = _closure((s.key for s in p.stages if s.outcome is StageOutcome.WON), into)
    for i, s in enumerate(p.stages):
        if s.is_open and s.key not in winning:
            problems.append(Problem(path=f"stages[{i}]", message=f"{s.key!r} has no path to a won stage"))
    return problems


def _plan(
    by_key: Mapping[str, Stage], forward: list[str], position: Mapping[str, int], src: str, dst: str
) -> Plan:
    a, b = by_key[src], by_key[dst]
    if b.outcome is StageOutcome.LOST:
        return Plan(kind=MoveKind.LOSE, requirements=(), min_dwell=None)
    if a.outcome is StageOutcome.LOST:
        return Plan(kind=MoveKind.REOPEN, requirements=(), min_dwell=None)
    if position[dst] < position[src]:
        return Plan(kind=MoveKind.BACK, requirements=(), min_dwell=None)
    skipped = [by_key[k] for k in forward[position[src] + 1 : position[dst]] if by_key[k].is_open]
    reqs = tuple(r for s in (a, *skipped) for r in s.requirements)
    kind = MoveKind.WIN if b.outcome is StageOutcome.WON else MoveKind.ADVANCE
    reads = any(r.reads_activities() for r in reqs)
    return Plan(kind=kind, requirements=reqs, min_dwell=a.min_dwell, reads_activities=reads)


_register()
