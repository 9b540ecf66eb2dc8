"""
Routes: the moves a pipeline allows between its stages, the checks of a
pipeline as a whole (keys, outcomes, reachability, probabilities), and what
each move takes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import typing
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from .. import _checks as c
from .._checks import check
from .._frozenmap import FrozenMap
from ..errors import Problem, ValidationError
from . import _limits as lim
from ._compiled import Move, compile_move
from ._requirements import Requirement
from ._stage import MoveKind, ProbabilityCheck, Stage, StageOutcome, _check_probability

_FORWARD = frozenset({MoveKind.ADVANCE, MoveKind.WIN, MoveKind.BACK})
_WIN_ONLY = frozenset({MoveKind.WIN})


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


def _keys(value: Iterable[str]) -> tuple[str, ...]:
    return lim.to_tuple(value, lim.MAX_STAGES)  # type: ignore[no-any-return]


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return FrozenMap(value) if isinstance(value, Mapping) else value  # else the checks report it


def _frozen_moves(value: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(value, Mapping) or len(value) > lim.MAX_STAGES:
        return value  # type: ignore[return-value]  # the checks report it
    return FrozenMap({k: lim.to_tuple(v, lim.MAX_STAGES) for k, v in value.items()})


def _table(what: str, *, moves: bool = False) -> c.Check:
    """
    A check of a table keyed by stage key: a mapping of at most MAX_STAGES
    entries, str keys, and str values (or tuples of str for *moves*).
    """
    item = lim.limited(c.items(c.identifier, tuple)) if moves else c.identifier

    def run(value: object) -> c.Result:
        if not isinstance(value, Mapping):
            return c.wrong_type(value, f"a mapping of stage key to {what}")
        if len(value) > lim.MAX_STAGES:
            return lim.TooMany(lim.MAX_STAGES, len(value)).problem
        problems: list[Problem] = []
        for k, v in value.items():
            for rule, found in ((c.identifier, k), (item, v)):
                result = rule(found)
                if result is not None:
                    problems.extend(c.as_problems(result, f"[{c.show(k)}]"))
        return problems or None

    return run


def _stage_table(value: object) -> c.Result:
    if not isinstance(value, Mapping):
        return c.wrong_type(value, "a mapping of stage key to Stage")
    if len(value) > lim.MAX_STAGES:
        return lim.TooMany(lim.MAX_STAGES, len(value)).problem
    return [
        c.wrong_type(v, "a Stage").prefixed(f"[{c.show(k)}]")
        for k, v in value.items()
        if not isinstance(v, Stage)
    ] or None


def _routes_problems(routes: Routes) -> list[Problem]:
    """
    What is inconsistent in routes read from a document or built by hand:
    every key a table names must be a stage, each stage under its own key.
    """
    problems: list[Problem] = []
    known = set(routes.order)
    if len(known) != len(routes.order) or not routes.order:
        problems.append(
            Problem(
                path="order",
                code="duplicate" if routes.order else "empty",
                message="the stage keys must be listed once each, at least one",
            )
        )
    for key, stage in routes.stages.items():
        if not isinstance(stage, Stage) or stage.key != key or key not in known:
            problems.append(
                Problem(
                    path=f"stages[{c.show(key)}]",
                    code="reference",
                    message=f"{c.show(stage)} is not the stage {c.show(key)} of order",
                )
            )
    if set(routes.stages) != known:
        problems.append(
            Problem(path="stages", code="reference", message="must hold exactly the stages of order")
        )
    for name in ("moves", "next", "lose_to", "reopen_to"):
        table = getattr(routes, name)
        for key, targets in table.items():
            listed = targets if isinstance(targets, tuple) else (targets,)
            if key not in known or not all(isinstance(t, str) and t in known for t in listed):
                problems.append(
                    Problem(
                        path=f"{name}[{c.show(key)}]",
                        code="reference",
                        message=f"{c.show(targets)} names a stage that is not in order",
                    )
                )
    if routes.won is not None and routes.won not in known:
        problems.append(
            Problem(path="won", code="reference", message=f"{c.show(routes.won)} is not in order")
        )
    return problems


@attrs.frozen(kw_only=True)
class Routes(c.Checked):
    """
    The moves a pipeline allows, worked out once when it is built: what the
    stage engine reads.  A pipeline's is ``pipeline.routes``.

    *order* lists the stage keys in pipeline order and *stages* maps each key
    to its stage; *moves* lists the stages each may move to, in pipeline
    order; *next*, *lose_to* and *reopen_to* give the default target of
    ``advance``, ``lose`` and ``reopen`` from each stage (absent where there
    is none); *won* is the won stage when there is exactly one.
    """

    pipeline: str = attrs.field(metadata=check(c.identifier))
    order: tuple[str, ...] = attrs.field(
        converter=_keys, metadata=check(lim.limited(c.items(c.identifier, tuple, unique=True)))
    )
    stages: Mapping[str, Stage] = attrs.field(converter=_frozen, metadata=check(_stage_table))
    moves: Mapping[str, tuple[str, ...]] = attrs.field(
        converter=_frozen_moves, metadata=check(_table("stage keys", moves=True))
    )
    next: Mapping[str, str] = attrs.field(converter=_frozen, metadata=check(_table("a stage key")))
    lose_to: Mapping[str, str] = attrs.field(converter=_frozen, metadata=check(_table("a stage key")))
    reopen_to: Mapping[str, str] = attrs.field(converter=_frozen, metadata=check(_table("a stage key")))
    won: str | None = attrs.field(default=None, metadata=check(c.optional(c.identifier)))
    # Worked out when built: what each stage may move to, and the forward order.
    _targets: Mapping[str, frozenset[str]] = attrs.field(init=False, eq=False, repr=False)
    _position: Mapping[str, int] = attrs.field(init=False, eq=False, repr=False)
    # Worked out on first use: a pipeline that allows every skip has O(stages²)
    # moves, each of whose plans lists O(stages) requirements.  Two threads may
    # both work one out; they store equal values.
    _plans: dict[tuple[str, str], Plan] = attrs.field(init=False, factory=dict, eq=False, repr=False)
    # The compiled moves of advance and win (see _compiled): the engine's fast path.  Those to the
    # default target (advance's next stage, win's one won stage) by the stage they leave, one str
    # lookup; those to a stage named by (from, to, win).  Only allowed moves are kept, so at most
    # 2 * (moves + stages).
    _next_movers: dict[str, Move] = attrs.field(init=False, factory=dict, eq=False, repr=False)
    _win_movers: dict[str, Move] = attrs.field(init=False, factory=dict, eq=False, repr=False)
    _movers: dict[tuple[str, str | None, bool], Move] = attrs.field(
        init=False, factory=dict, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()  # the field checks, then _relations
        forward = [k for k in self.order if self.stages[k].outcome is not StageOutcome.LOST]
        object.__setattr__(self, "_targets", FrozenMap({k: frozenset(v) for k, v in self.moves.items()}))
        object.__setattr__(self, "_position", FrozenMap({k: i for i, k in enumerate(forward)}))

    def __getstate__(self) -> dict[str, Any]:
        # the fields it was built from: the worked-out tables and compiled code are made again
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        for name in ("_plans", "_next_movers", "_win_movers", "_movers"):
            object.__setattr__(self, name, {})
        self.__attrs_post_init__()

    def _mover(self, stage: str, to: str | None, win: bool) -> Move | None:
        """
        The compiled move of ``advance`` (*win* false) or ``win`` from *stage*
        to *to* (``None``: the next stage, or the one won stage), made and
        kept on first use; ``None`` when the pipeline allows no such move.
        """
        dst = (self.won if win else self.next.get(stage)) if to is None else to
        if type(stage) is not str or type(dst) is not str:
            return None
        plan = self.plan(stage, dst)
        if plan is None or plan.kind not in (_WIN_ONLY if win else _FORWARD):
            return None
        move = compile_move(self.pipeline, plan.kind, stage, dst, plan.requirements, plan.min_dwell)
        if to is not None:
            self._movers[stage, to, win] = move
        else:
            (self._win_movers if win else self._next_movers)[stage] = move
        return move

    def _relations(self) -> list[Problem]:
        return _routes_problems(self)

    def allows(self, from_stage: str, to_stage: str) -> bool:
        """
        Whether a move *from_stage* → *to_stage* is allowed (False for keys
        that are not stages).

        Cost: O(1).
        """
        _check_key(from_stage, "from_stage")
        _check_key(to_stage, "to_stage")
        return self._allows(from_stage, to_stage)

    def _allows(self, src: str, dst: str) -> bool:
        targets = self._targets.get(src)
        return targets is not None and dst in targets

    def plan(self, from_stage: str, to_stage: str) -> Plan | None:
        """
        What moving *from_stage* → *to_stage* takes, or ``None`` if the move is
        not allowed (or either key is not a stage).

        Cost: O(stages) the first time for a move, O(1) after.
        """
        if type(from_stage) is str and type(to_stage) is str:  # the engine's case: one lookup
            plan = self._plans.get((from_stage, to_stage))
            if plan is not None:
                return plan
        _check_key(from_stage, "from_stage")
        _check_key(to_stage, "to_stage")
        plan = self._plans.get((from_stage, to_stage))
        if plan is None:
            if not self._allows(from_stage, to_stage):
                return None
            stages = tuple(self.stages[k] for k in self.order)
            plan = self._plans[from_stage, to_stage] = _plan(
                self.stages, self._position, stages, from_stage, to_stage
            )
        return plan

    def kind(self, from_stage: str, to_stage: str) -> MoveKind:
        """
        The kind a move *from_stage* → *to_stage* would be (lose, reopen,
        back, win or advance), allowed or not: how an imported history's
        moves are named.  Cost: O(1).
        """
        a = self.stages.get(from_stage) if isinstance(from_stage, str) else None
        b = self.stages.get(to_stage) if isinstance(to_stage, str) else None
        if a is None or b is None:
            path, key = ("from_stage", from_stage) if a is None else ("to_stage", to_stage)
            raise ValidationError.single(path, self.unknown(key), code="reference")
        if a.key == b.key or a.outcome is StageOutcome.WON:
            why = "goes nowhere" if a.key == b.key else "leaves a won stage; won is final"
            raise ValidationError.single("to_stage", f"{a.key!r} -> {b.key!r} {why}", code="state")
        return _kind(a, b, self._position)

    def unknown(self, key: object) -> str:
        """
        The message for *key*, which is not one of the stages: it lists them.

        Cost: O(1): at most 20 stages are listed.
        """
        known = ", ".join(repr(k) for k in self.order[:_LISTED])
        if len(self.order) > _LISTED:
            known += f", ... ({len(self.order):,} in all)"
        return f"{c.show(key)} is not a stage of pipeline {self.pipeline!r}; stages: {known}"


def compile_routes(key: str, stages: tuple[Stage, ...], moves: Mapping[str, list[str]]) -> Routes:
    """
    The routes of a pipeline whose stages and allowed *moves* are checked.

    The default targets come from the allowed moves, in pipeline order: the
    first forward (to a stage later in the list, not lost), the first lost,
    and for a lost stage the first stage (or else the first open one).
    """
    by_key = {s.key: s for s in stages}
    index = {s.key: i for i, s in enumerate(stages)}
    lost = {s.key for s in stages if s.outcome is StageOutcome.LOST}
    nxt: dict[str, str] = {}
    lose_to: dict[str, str] = {}
    reopen_to: dict[str, str] = {}
    start = stages[0].key
    for k, ts in moves.items():
        if not ts:
            continue
        if k in lost:
            reopen_to[k] = start if start in ts else ts[0]
            continue
        later = itertools.islice(ts, bisect.bisect_right(ts, index[k], key=index.__getitem__), None)
        if (t := next((d for d in later if d not in lost), None)) is not None:
            nxt[k] = t
        if (t := next((d for d in ts if d in lost), None)) is not None:
            lose_to[k] = t
    won = [s.key for s in stages if s.outcome is StageOutcome.WON]
    return Routes(
        pipeline=key,
        order=tuple(s.key for s in stages),
        stages=by_key,
        moves=moves,
        next=nxt,
        lose_to=lose_to,
        reopen_to=reopen_to,
        won=won[0] if len(won) == 1 else None,
    )


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
    problems = _key_problems(nodes)
    duplicates = bool(problems)
    complete = bool(nodes) and all(
        n is not None and n.key is not None and n.outcome is not None for n in nodes
    )
    problems.extend(_outcome_problems(nodes))
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


def _key_problems(nodes: list[_Node | None]) -> list[Problem]:
    """
    A key used by an earlier stage.
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, n in enumerate(nodes):
        if n is None or n.key is None:
            continue
        if n.key in seen:
            message = f"{n.key!r} is used by an earlier stage; keys must be unique"
            problems.append(Problem(path=f"stages[{i}].key", code="duplicate", message=message))
        seen.add(n.key)
    return problems


def _outcome_problems(nodes: list[_Node | None]) -> list[Problem]:
    """
    An outcome no stage has, and a first stage that is not open.
    """
    problems: list[Problem] = []
    if nodes and all(n is not None and n.outcome is not None for n in nodes):
        for outcome in StageOutcome:
            if not any(n.outcome is outcome for n in nodes):  # type: ignore[union-attr]
                message = f"no {outcome.value} stage; a pipeline needs at least one"
                problems.append(Problem(path="stages", code="missing", message=message))
    head = nodes[0] if nodes else None
    if head is not None and head.outcome is not None and head.outcome is not StageOutcome.OPEN:
        message = f"{c.show(head.key)} is {head.outcome.value}; the first stage must be open"
        problems.append(Problem(path="stages[0]", code="graph", message=message))
    return problems


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
    keys = [typing.cast("str", n.key) for n in nodes]
    if transitions is _UNREAD:
        return [], None
    if transitions is not None:
        problems = [
            Problem(
                path=flag,
                code="conflict",
                message="has no effect when transitions are listed; list the moves instead",
            )
            for flag in _FLAGS
            if flags[flag] is True
        ]
        moves = _listed_moves(nodes, typing.cast("tuple[tuple[str, str], ...]", transitions), problems)
    elif any(flags[f] is _UNREAD for f in _FLAGS):
        return [], None
    else:
        problems, moves = [], _flag_moves(nodes, flags)
    order = {k: i for i, k in enumerate(keys)}
    for targets in moves.values():
        targets.sort(key=order.__getitem__)
    return problems, moves


def _listed_moves(
    nodes: list[_Node], transitions: tuple[tuple[str, str], ...], problems: list[Problem]
) -> dict[str, list[str]]:
    """
    The moves an explicit list of transitions allows; what is wrong with a pair goes to *problems*.
    """
    keys = [typing.cast("str", n.key) for n in nodes]
    by_key = {n.key: n for n in nodes}
    moves: dict[str, list[str]] = {k: [] for k in keys}
    listed = ", ".join(map(repr, keys[:_LISTED])) + (
        f", ... ({len(keys):,} in all)" if len(keys) > _LISTED else ""
    )
    pairs: set[tuple[str, ...]] = set()
    for i, pair in enumerate(transitions):
        where = f"transitions[{i}]"
        unknown = [k for k in pair if k not in by_key]
        problems.extend(
            Problem(path=where, code="reference", message=f"{c.show(k)} is not a stage; stages: {listed}")
            for k in unknown
        )
        if unknown:
            continue
        problem = _pair_problem(by_key[pair[0]], by_key[pair[1]], seen=pair in pairs)
        if problem is None:
            moves[pair[0]].append(pair[1])
        else:
            problems.append(Problem(path=where, code=problem[0], message=problem[1]))
        pairs.add(pair)
    return moves


def _pair_problem(a: _Node, b: _Node, *, seen: bool) -> tuple[str, str] | None:
    """
    The code and message of what is wrong with the transition *a* -> *b*, or None.
    """
    src, dst = a.key, b.key
    if src == dst:
        return "graph", f"{src!r} -> {dst!r} goes nowhere"
    if seen:
        return "duplicate", f"{src!r} -> {dst!r} is listed twice"
    if a.outcome is StageOutcome.WON:
        return "graph", f"{src!r} is a won stage; won is final"
    if a.outcome is StageOutcome.LOST and b.outcome is not StageOutcome.OPEN:
        return "graph", f"{src!r} -> {dst!r}: a lost deal can only reopen to an open stage"
    return None


def _flag_moves(nodes: list[_Node], flags: Mapping[str, object]) -> dict[str, list[str]]:
    """
    The moves the flags allow: one step forward (any with skip, back with
    backward), lose from any open stage, reopen from a lost one.
    """
    keys = [typing.cast("str", n.key) for n in nodes]
    moves: dict[str, list[str]] = {k: [] for k in keys}
    outcome = {n.key: n.outcome for n in nodes}
    forward = [k for k in keys if outcome[k] is not StageOutcome.LOST]
    is_open = {k for k in keys if outcome[k] is StageOutcome.OPEN}
    lost = [k for k in keys if outcome[k] is StageOutcome.LOST]
    for i, k in enumerate(forward):
        if k not in is_open:
            continue
        targets = forward[i + 1 :] if flags["allow_skip"] else forward[i + 1 : i + 2]
        if flags["allow_backward"]:
            targets = [b for b in forward[:i] if b in is_open] + targets
        moves[k] = targets + lost
    if flags["allow_reopen"]:
        for k in lost:
            moves[k] = [k2 for k2 in keys if k2 in is_open]
    return moves


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
