"""
Absorbing Markov chains: win probabilities and expected steps to close.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import attrs

from .. import _checks as c
from .._optional import numpy as _numpy
from .._report import Report
from ..errors import Problem, ValidationError
from ..stages import HistoryColumns, Pipeline, StageChanged
from ._args import MAX_PROBLEMS
from ._args import exact as _exact

#: :func:`absorbing_chain` inverts an exact matrix in O(n^3) operations on
#: fractions whose size grows with n: at most this many transient (and
#: absorbing) states are solved exactly, about a second at the limit.  With
#: ``exact=None`` (the default) larger chains are solved in floats.
MAX_TRANSIENT = 40
#: The most transient (and absorbing) states :func:`absorbing_chain` solves in
#: floats: with numpy installed (``numpy.linalg.solve``; reading four million
#: probabilities and writing N take seconds at the limit), and without it
#: (Gaussian elimination in Python, seconds at the limit).
MAX_TRANSIENT_FLOAT = 2_000
MAX_TRANSIENT_NO_NUMPY = 200
#: In float mode each row of probabilities sums to 1 within this.
ROW_SUM_TOLERANCE = 1e-9
#: The largest smoothing pseudo-count :func:`chain_from_events` accepts.
MAX_SMOOTHING = 10**6


@attrs.frozen(kw_only=True, repr=False)
class AbsorbingChain(Report):
    """
    An absorbing Markov chain over named states.

    *transient* and *absorbing* name the states.  *fundamental* and
    *absorption* are exact (``Fraction``) or floats, as
    :func:`absorbing_chain` solved them (see :attr:`exact`).

    The fundamental matrix N = (I - Q)^-1 holds the expected visits to each
    transient state; t = N 1 the expected steps before absorption; B = N R
    the probability of ending in each absorbing state (Grinstead & Snell,
    *Introduction to Probability*, ch. 11, Theorems 11.4-11.6).

    A :class:`~funnelkit.Report`: its table has one row per transient
    state: the expected steps to absorption, ``p_<state>`` the probability
    of ending in each absorbing state, and ``visits_<state>`` the expected
    visits to each transient state (a row of N).

    It does not merge: N and B are a solve of the whole transition matrix.
    Merge what the matrix is counted from (the moves, see
    :func:`chain_from_events`) and solve once.
    """

    transient: tuple[str, ...]
    absorbing: tuple[str, ...]
    fundamental: tuple[tuple[Fraction | float, ...], ...]
    absorption: tuple[tuple[Fraction | float, ...], ...]

    def _summary(self) -> str:
        head = f"{len(self.transient)} transient, {len(self.absorbing)} absorbing states"
        if not (self.transient and self.absorption and self.fundamental):
            return head
        first = self.transient[0]
        ends = ", ".join(
            f"{name} {float(p):.1%}" for name, p in zip(self.absorbing, self.absorption[0], strict=False)
        )
        return f"{head}; from {first!r}: {ends}, {float(_total(self.fundamental[0])):.3g} steps"

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per transient state: expected steps, absorption probabilities, expected visits.
        """
        return [
            {
                "state": state,
                "expected_steps": _total(visits),
                **{f"p_{a}": p for a, p in zip(self.absorbing, ends, strict=False)},
                **{f"visits_{t}": v for t, v in zip(self.transient, visits, strict=False)},
            }
            for state, visits, ends in zip(self.transient, self.fundamental, self.absorption, strict=False)
        ]

    @property
    def exact(self) -> bool:
        """Whether the chain was solved exactly (``Fraction`` values) rather than in floats."""
        return not any(isinstance(x, float) for row in self.fundamental[:1] for x in row)

    def expected_steps(self, state: str) -> Fraction | float:
        """
        Expected number of steps from *state* until absorption (a float when
        the chain was solved in floats).  Cost: O(n) for n transient states.
        """
        i = self._index(state)
        return _total(self.fundamental[i])

    def probability(self, state: str, absorbed_in: str) -> Fraction | float:
        """
        Probability that a walk from transient *state* ends in *absorbed_in*
        (a float when the chain was solved in floats).  Cost: O(n) for n states.
        """
        i = self._index(state)
        if not isinstance(absorbed_in, str) or absorbed_in not in self.absorbing:
            msg = f"{c.show(absorbed_in)} is not an absorbing state; allowed: {_listed(self.absorbing)}"
            raise ValidationError.single("absorbed_in", msg, code="reference")
        return self.absorption[i][self.absorbing.index(absorbed_in)]

    def _index(self, state: str) -> int:
        if isinstance(state, str) and state in self.transient:
            return self.transient.index(state)
        msg = f"{c.show(state)} is not a transient state; allowed: {_listed(self.transient)}"
        raise ValidationError.single("state", msg, code="reference")


def _total(row: Sequence[Fraction | float]) -> Fraction | float:
    """The sum of a row: exact for fractions, ``math.fsum`` for floats."""
    if any(isinstance(x, float) for x in row):
        return math.fsum(float(x) for x in row)
    return sum(row, Fraction(0))


def _listed(names: tuple[str, ...]) -> str:
    shown = ", ".join(c.show(n) for n in names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _invert(m: list[list[Fraction]]) -> list[list[Fraction]]:
    """
    Gauss-Jordan inverse of a square matrix of fractions (exact).
    """
    n = len(m)
    a = [row[:] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if a[r][col] != 0), None)
        if pivot is None:
            msg = "I - Q is singular: some transient state never reaches an absorbing one"
            raise ValidationError.single("matrix", msg, code="graph")
        a[col], a[pivot] = a[pivot], a[col]
        p = a[col][col]
        a[col] = [x / p for x in a[col]]
        for r in range(n):
            if r != col and a[r][col] != 0:
                f = a[r][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col], strict=True)]
    return [row[n:] for row in a]


def absorbing_chain(
    matrix: Mapping[str, Mapping[str, Fraction | int | str | float | Decimal]],
    *,
    absorbing: Sequence[str],
    exact: bool | None = None,
) -> AbsorbingChain:
    """
    Build the chain from transition probabilities of the transient states:
    ``Fraction``, int, finite ``Decimal`` or float, or a str such as ``"1/3"`` or
    ``"0.25"``.

    *exact* picks the numbers: ``True`` solves in ``Fraction`` values (each row
    summing to exactly 1; a float is read as the decimal it shows, 0.1 as
    1/10), ``False`` in floats (each row summing to 1 within 1e-9),
    ``None`` (the default) exactly up to 40 transient and 40 absorbing states
    (``MAX_TRANSIENT``) and in floats above.  In floats N = (I - Q)^-1 and
    B = N R come from one solve of (I - Q) X = [I | R]: ``numpy.linalg.solve``
    when numpy is installed, Gaussian elimination with partial pivoting in
    Python otherwise; they agree with the exact answer to about 1e-15 times
    the chain's condition number (the tests hold random chains to 1e-9).
    A transient state that can never be absorbed is refused in both modes,
    found from the moves themselves, not from rounding.

    Cost: O(n^3) for n transient states: exact operations on fractions
    (a second or two at 40 dense states), or floats: 100 states in
    milliseconds with numpy, at most 2,000 (``MAX_TRANSIENT_FLOAT``, seconds);
    without numpy at most 200 (``MAX_TRANSIENT_NO_NUMPY``, seconds).

    >>> from fractions import Fraction as F
    >>> walk = absorbing_chain(  # the drunkard's walk of Grinstead & Snell, Example 11.13
    ...     {"1": {"0": F(1, 2), "2": F(1, 2)}, "2": {"1": F(1, 2), "3": F(1, 2)},
    ...      "3": {"2": F(1, 2), "4": F(1, 2)}},
    ...     absorbing=["0", "4"],
    ... )
    >>> walk.expected_steps("2"), walk.probability("1", "4")
    (Fraction(4, 1), Fraction(1, 4))
    >>> loop = {"a": {"a": 0.5, "won": 0.25, "lost": 0.25}}
    >>> floats = absorbing_chain(loop, absorbing=["won", "lost"], exact=False)
    >>> floats.expected_steps("a"), floats.probability("a", "won")
    (2.0, 0.5)
    """
    mode = _exact_mode(exact)
    most = MAX_TRANSIENT if mode else MAX_TRANSIENT_FLOAT
    table = _rows_of(matrix, most, mode)
    transient = tuple(table)
    absorbed = _names(absorbing, most, mode)
    use_exact = (
        mode if mode is not None else len(transient) <= MAX_TRANSIENT and len(absorbed) <= MAX_TRANSIENT
    )
    np = None if use_exact else _numpy()
    if not use_exact and np is None:  # numpy is not installed: the pure-Python solve's limit
        for path, size, what in (
            ("matrix", len(transient), "transient"),
            ("absorbing", len(absorbed), "absorbing"),
        ):
            if size > MAX_TRANSIENT_NO_NUMPY:
                msg = _too_many(f"{size:,} {what} states", MAX_TRANSIENT_NO_NUMPY, mode)
                raise ValidationError.single(path, msg, code="limit")
    problems: list[Problem] = [
        Problem(path=f"matrix[{i}]", code="type", message=f"{c.show(s)} is not a state name (a str)")
        for i, s in enumerate(transient)
        if not isinstance(s, str)
    ]
    if problems:
        raise ValidationError(problems)
    overlap = set(transient) & set(absorbed)
    if overlap:
        problems.append(
            Problem(
                path="absorbing", code="conflict", message=f"{c.show(sorted(overlap))} are also transient"
            )
        )
    states = set(transient) | set(absorbed)
    rows: dict[str, dict[str, Fraction]] = {}
    for s, raw in table.items():
        if len(problems) >= MAX_PROBLEMS:
            break
        row = _read_row(s, raw, states, problems, exact=use_exact)
        if row is not None:
            rows[s] = row
    if problems:
        raise ValidationError(problems)
    _absorbed_from_each(transient, set(absorbed), rows)
    if use_exact:
        return _solved(transient, absorbed, rows)
    return _solved_in_floats(transient, absorbed, rows, np)


def _exact_mode(exact: object) -> bool | None:
    """*exact* checked to be True, False or None (automatic)."""
    exact = c.plain(exact)  # numpy's bool as a bool
    if exact is not None and not isinstance(exact, bool):
        msg = f"{c.show(exact)} is not True, False or None (automatic)"
        raise ValidationError.single("exact", msg, code="type")
    return exact


def _absorbed_from_each(
    transient: tuple[str, ...], absorbed: set[str], rows: Mapping[str, Mapping[str, Fraction | float]]
) -> None:
    """
    Refuse a chain in which some transient state can never be absorbed (then
    I - Q is singular): found by walking the moves of positive probability
    back from the absorbing states, the same in both modes.
    """
    reached = {s for s in transient if any(rows[s].get(a, 0) > 0 for a in absorbed)}
    if len(reached) == len(transient):  # each is absorbed in one move
        return
    into: dict[str, list[str]] = {s: [] for s in transient}
    for s in transient:
        for t, p in rows[s].items():
            if p > 0 and t in into:
                into[t].append(s)
    todo = list(reached)
    while todo:
        for s in into[todo.pop()]:
            if s not in reached:
                reached.add(s)
                todo.append(s)
    stuck = [s for s in transient if s not in reached]
    if stuck:
        msg = (
            "I - Q is singular: some transient state never reaches an absorbing one "
            f"({_listed(tuple(stuck))})"
        )
        raise ValidationError.single("matrix", msg, code="graph")


def _solved(
    transient: tuple[str, ...], absorbed: tuple[str, ...], rows: Mapping[str, Mapping[str, Fraction]]
) -> AbsorbingChain:
    """The chain of the checked *rows*: its fundamental matrix N = (I - Q)^-1 and absorption B = N R."""
    n = len(transient)
    i_minus_q = [
        [Fraction(int(i == j)) - rows[a].get(b, Fraction(0)) for j, b in enumerate(transient)]
        for i, a in enumerate(transient)
    ]
    fundamental = _invert(i_minus_q)
    r = [[rows[a].get(b, Fraction(0)) for b in absorbed] for a in transient]
    absorption = [
        [sum((fundamental[i][k] * r[k][j] for k in range(n)), Fraction(0)) for j in range(len(absorbed))]
        for i in range(n)
    ]
    return AbsorbingChain(
        transient=transient,
        absorbing=absorbed,
        fundamental=tuple(tuple(row) for row in fundamental),
        absorption=tuple(tuple(row) for row in absorption),
    )


def _solved_in_floats(
    transient: tuple[str, ...], absorbed: tuple[str, ...], rows: Mapping[str, Mapping[str, Any]], np: Any
) -> AbsorbingChain:
    """
    The chain of the checked *rows* in floats: N and B from one solve of
    (I - Q) X = [I | R], with numpy when it is installed.
    """
    n, m = len(transient), len(absorbed)
    column = {s: i for i, s in enumerate(transient)} | {s: n + j for j, s in enumerate(absorbed)}
    if np is not None:
        at: list[int] = []
        into: list[int] = []
        values: list[Any] = []
        for i, s in enumerate(transient):
            row = rows[s]
            at += [i] * len(row)
            into += [column[t] for t in row]
            values += row.values()
        q_and_r = np.zeros((n, n + m))
        q_and_r[at, into] = values  # [Q | R]: each (state, target) once
        identity = np.eye(n)
        x = np.linalg.solve(identity - q_and_r[:, :n], np.hstack((identity, q_and_r[:, n:])))
        fundamental, absorption = x[:, :n].tolist(), x[:, n:].tolist()
    else:
        grid = []  # [I - Q | I | R], a row per transient state
        for i, s in enumerate(transient):
            cells = [0.0] * (2 * n + m)
            cells[i] = cells[n + i] = 1.0
            for t, p in rows[s].items():
                j = column[t]
                if j < n:
                    cells[j] -= float(p)
                else:
                    cells[n + j] = float(p)
            grid.append(cells)
        x = _gauss_jordan(grid, n)
        fundamental, absorption = [row[:n] for row in x], [row[n:] for row in x]
    return AbsorbingChain(
        transient=transient,
        absorbing=absorbed,
        fundamental=tuple(tuple(row) for row in fundamental),
        absorption=tuple(tuple(row) for row in absorption),
    )


def _gauss_jordan(rows: list[list[float]], n: int) -> list[list[float]]:
    """
    X with A X = B, for *rows* = [A | B] with A square (n x n), by
    Gauss-Jordan elimination with partial pivoting, in floats: the right
    part of the reduced rows.  A is invertible (checked from the moves).
    """
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        head = rows[col]
        p = head[col]
        head = rows[col] = head[:col] + [x / p for x in head[col:]]
        tail = head[col:]
        for r in range(n):
            if r != col:
                row = rows[r]
                f = row[col]
                if f:
                    row[col:] = [x - f * y for x, y in zip(row[col:], tail, strict=True)]
    return [row[n:] for row in rows]


def _rows_of(matrix: object, most: int, mode: bool | None) -> Mapping[str, object]:
    """*matrix* as a non-empty mapping of state to row (a pandas Series read through), within the limit."""
    matrix = c.to_mapping(matrix, "matrix")  # a pandas Series of rows
    if not isinstance(matrix, Mapping) or not matrix:
        code = "empty" if isinstance(matrix, Mapping) else "type"
        raise ValidationError.single(
            "matrix", f"{c.show(matrix)} is not a non-empty mapping of state to row", code=code
        )
    if len(matrix) > most:
        raise ValidationError.single(
            "matrix", _too_many(f"{len(matrix):,} transient states", most, mode), code="limit"
        )
    return matrix


def _too_many(found: str, most: int, mode: bool | None) -> str:
    """Why *found* is too many states for the *mode*, and what to do."""
    if mode:
        return (
            f"{found}; at most {most} are solved exactly (the exact inverse is O(n^3) on growing "
            "fractions): use exact=False (floats), or merge states first"
        )
    how = "" if most == MAX_TRANSIENT_FLOAT else "install numpy (the fast path) or "
    return f"{found}; at most {most:,} are solved in floats: {how}merge states first"


def _read_row(
    s: str, raw: object, states: set[str], problems: list[Problem], *, exact: bool
) -> dict[str, Any] | None:
    """
    The row of state *s* as probabilities (``None`` when it is not a
    mapping), its problems added to *problems* (up to MAX_PROBLEMS in all):
    ``Fraction`` values summing to exactly 1, or, not *exact*, floats summing to
    1 within ``ROW_SUM_TOLERANCE``.
    """
    row = c.to_mapping(raw, f"matrix[{s!r}]")  # a pandas Series
    if not isinstance(row, Mapping):
        problems.append(c.wrong_type(row, "a mapping").prefixed(f"matrix[{s!r}]"))
        return None
    if not exact and isinstance(row, dict) and _plain_floats(row, states):  # the usual case, read at once
        total = math.fsum(row.values())
        if abs(total - 1) > ROW_SUM_TOLERANCE:
            message = f"sums to {total!r}, not 1 (within {ROW_SUM_TOLERANCE})"
            problems.append(Problem(path=f"matrix[{s!r}]", code="range", message=message))
        return dict(row)
    converted: dict[str, Any] = {}
    found = len(problems)
    for t, p in row.items():
        q: Fraction | float | None
        if not exact and isinstance(p, float):
            q = float(p) if math.isfinite(p) else None  # numpy.float64 too: read as it is
        else:
            q = _exact(p)
            q = q if q is None or exact else float(q)
        where = f"matrix[{s!r}][{c.show(t)}]"
        if q is None:
            msg = f"{c.show(p)} is not a probability (a Fraction, int, Decimal, float or str like '1/3')"
            problems.append(Problem(path=where, code="format" if isinstance(p, str) else "type", message=msg))
        elif not isinstance(t, str) or t not in states:
            problems.append(Problem(path=where, code="reference", message=f"{c.show(t)} is not a state"))
        elif not 0 <= q <= 1:
            problems.append(Problem(path=where, code="range", message=f"{q} is outside [0, 1]"))
        else:
            converted[t] = q
        if len(problems) >= MAX_PROBLEMS:
            break
    if len(problems) == found:
        if exact and sum(converted.values()) != 1:
            message = f"sums to {sum(converted.values())}, not 1"
            problems.append(Problem(path=f"matrix[{s!r}]", code="range", message=message))
        elif not exact and abs((total := math.fsum(converted.values())) - 1) > ROW_SUM_TOLERANCE:
            message = f"sums to {total!r}, not 1 (within {ROW_SUM_TOLERANCE})"
            problems.append(Problem(path=f"matrix[{s!r}]", code="range", message=message))
    return converted


def _plain_floats(row: dict[Any, Any], states: set[str]) -> bool:
    """Whether *row* maps state names to Python floats in [0, 1] (then it needs no item-by-item reading)."""
    values = row.values()
    return (
        bool(row)
        and set(map(type, values)) == {float}
        and set(map(type, row)) == {str}
        and states.issuperset(row)
        and min(values) >= 0
        and max(values) <= 1
    )


def _names(absorbing: object, most: int, mode: bool | None) -> tuple[str, ...]:
    """
    *absorbing*, checked to be a sequence of state names (read with a bound).
    """
    if not c.is_iterable(absorbing):
        raise c.at("absorbing", c.wrong_type(absorbing, "an iterable of state names"))
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(cast("Iterable[object]", absorbing)):  # checked just above
        if not isinstance(name, str):
            raise ValidationError.single(
                f"absorbing[{i}]", f"{c.show(name)} is not a state name (a str)", code="type"
            )
        if name in seen:
            raise ValidationError.single(f"absorbing[{i}]", f"{c.show(name)} appears twice", code="duplicate")
        if len(out) == most:
            msg = _too_many(f"more than {most:,} absorbing states", most, mode)
            raise ValidationError.single("absorbing", msg, code="limit")
        out.append(name)
        seen.add(name)
    return tuple(out)


def chain_from_events(
    events: Iterable[StageChanged],
    pipeline: Pipeline,
    *,
    smoothing: Fraction | int | str = 1,
    exact: bool | None = None,
) -> AbsorbingChain:
    """
    Estimate the absorbing chain of a pipeline from observed stage changes.

    The open stages are transient; won and lost stages absorb (reopening is
    not modelled).  From each open stage, the probability of each move the
    pipeline allows is ``(times observed + smoothing) / (moves observed from
    that stage + smoothing x moves allowed)``: additive (Laplace) smoothing,
    so a move never seen keeps a little probability, and a stage never left
    spreads evenly over its moves.  ``smoothing=0`` uses the raw frequencies
    (then every open stage must have been left at least once).

    ``chain.probability(stage, won)`` is the chance of winning from *stage*;
    ``chain.expected_steps(stage)`` the expected number of moves to close.
    *smoothing* is a ``Fraction``, int, finite ``Decimal`` or str from 0 to
    10**6.  *exact* is passed on to :func:`absorbing_chain` (exact up to 40
    open stages by default).

    Cost: O(e) for e events, plus :func:`absorbing_chain` on the open stages.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    c.require_iterable(events, "StageChanged", "events")
    mode = _exact_mode(exact)
    matrix = transitions(events, pipeline, smoothing=smoothing)
    absorbing = [s.key for s in pipeline.stages if not s.is_open]
    return absorbing_chain(matrix, absorbing=absorbing, exact=mode)


def _count_columns(history: HistoryColumns, pipeline: Pipeline, counts: dict[str, dict[str, int]]) -> None:
    """
    Add the moves of *history* to *counts*, as the loop over its events
    adds them: the moves of another pipeline, or out of a closed stage, left
    out; a move the pipeline does not allow refused at its first event.
    """
    if history.pipeline != pipeline.key or not len(history):
        return
    np = _numpy()
    source, stages = history.codes("from_stage")
    target = history.codes("to_stage")[0]
    k = len(stages)
    pair = source.astype(np.int64) * k + target
    names = stages.tolist()
    refused = []
    for p, n in enumerate(np.bincount(pair, minlength=k * k).tolist()):
        src, dst = names[p // k], names[p % k]
        if n and src in counts:
            if dst in counts[src]:
                counts[src][dst] += n
            else:
                refused.append(p)
    if refused:  # the first event of a move not allowed, as the loop meets it
        i = int(np.flatnonzero(np.isin(pair, refused))[0])
        src, dst = names[int(pair[i]) // k], names[int(pair[i]) % k]
        msg = f"{src!r} -> {dst!r} is not a move of pipeline {pipeline.key!r}"
        raise ValidationError.single(f"events[{i}]", msg, code="state")


def transitions(
    events: Iterable[StageChanged], pipeline: Pipeline, *, smoothing: object
) -> dict[str, dict[str, Fraction]]:
    """
    The chance of each move from each open stage, as :func:`chain_from_events`
    estimates it from *events* (checked) with *smoothing* (checked).
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    c.require_iterable(events, "StageChanged", "events")
    alpha = _exact(smoothing)
    if alpha is None or not 0 <= alpha <= MAX_SMOOTHING:
        msg = f"{c.show(smoothing)} is not a number from 0 to {MAX_SMOOTHING:,}"
        code = "range" if alpha is not None else "format" if isinstance(smoothing, str) else "type"
        raise ValidationError.single("smoothing", msg, code=code)
    transient = [s.key for s in pipeline.open_stages]
    counts: dict[str, dict[str, int]] = {k: dict.fromkeys(pipeline.moves_from(k), 0) for k in transient}
    if isinstance(events, HistoryColumns):  # counted by columns, each pair of stages once
        _count_columns(events, pipeline, counts)
        events = ()
    for i, e in enumerate(events):
        if not isinstance(e, StageChanged):
            c.require(e, StageChanged, "a StageChanged", f"events[{i}]")
        if e.pipeline != pipeline.key or e.from_stage not in counts:
            continue
        if e.to_stage not in counts[e.from_stage]:
            msg = f"{e.from_stage!r} -> {e.to_stage!r} is not a move of pipeline {pipeline.key!r}"
            raise ValidationError.single(f"events[{i}]", msg, code="state")
        counts[e.from_stage][e.to_stage] += 1
    matrix: dict[str, dict[str, Fraction]] = {}
    for src, moves in counts.items():
        total = sum(moves.values()) + alpha * len(moves)
        if total == 0:
            raise ValidationError.single(
                "events", f"no move out of {src!r} was observed; use smoothing > 0", code="empty"
            )
        matrix[src] = {dst: (n + alpha) / total for dst, n in moves.items()}
    return matrix
