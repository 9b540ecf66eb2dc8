"""
Pipelines: ordered stages, the moves allowed between them, and reading a
pipeline from a document with every problem reported at once.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .. import _checks as c
from .._checks import check
from ..errors import PipelineDefinitionError, PipelineWarning, Problem, ValidationError
from . import _limits as lim
from ._requirements import Predicate
from ._routes import (
    _FLAGS,
    _UNREAD,
    Plan,
    Routes,
    _analyse,
    _field_of,
    _Node,
    _read_flag,
    _read_transitions,
    compile_routes,
)
from ._stage import ProbabilityCheck, Stage, StageOutcome

if TYPE_CHECKING:
    from statemachine import StateMachine


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
    #: The moves allowed, worked out once when the pipeline is built: what the engine reads.
    routes: Routes = attrs.field(init=False, eq=False, repr=False)

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
        routes = compile_routes(self.key, self.stages, moves)
        object.__setattr__(self, "routes", routes)

    # --- queries ------------------------------------------------------------

    def stage(self, key: str) -> Stage:
        """
        The stage with *key*; a clear error when there is none.

        Cost: O(1) (O(stages) to build the error).
        """
        return self._stage(key, "key")

    def _stage(self, key: object, path: str) -> Stage:
        if isinstance(key, str):
            found = self.routes.stages.get(key)
            if found is not None:
                return found
        code = "reference" if isinstance(key, str) else "type"
        raise ValidationError.single(path, self.routes.unknown(key), code=code)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.routes.stages

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
        return self.routes.moves.get(key, ())

    def allows(self, from_stage: str, to_stage: str) -> bool:
        """
        Whether the pipeline allows a move *from_stage* → *to_stage* (False
        when either is not one of its stages).

        Cost: O(1).
        """
        return self.routes.allows(from_stage, to_stage)

    def next_stage(self, key: str) -> str | None:
        """
        The stage one step forward from *key* (the first forward move allowed,
        in pipeline order), or ``None`` where there is none.

        Cost: O(1).
        """
        self._stage(key, "key")
        return self.routes.next.get(key)

    def plan(self, from_stage: str, to_stage: str) -> Plan | None:
        """
        What moving *from_stage* → *to_stage* takes, or ``None`` if not allowed.

        Cost: O(stages) the first time for a move, O(1) after.
        """
        return self.routes.plan(from_stage, to_stage)

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
        from ..documents import to_dict

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
        from .._reading import _predicates_in_scope

        if isinstance(data, Pipeline):
            return data
        with _predicates_in_scope(predicates):
            return cls._read(data)

    @classmethod
    def _read(cls, data: object) -> Pipeline:
        from ..documents import _structure_fields

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
    from ..documents import _structure_fields

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
