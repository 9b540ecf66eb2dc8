"""
Absorbing Markov chains: win probabilities and expected steps to close.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import cast

import attrs

from .. import _checks as c
from .._report import Report
from ..errors import Problem, ValidationError
from ..stages import Pipeline, StageChanged
from ._args import MAX_PROBLEMS, exact

#: :func:`absorbing_chain` inverts an exact matrix in O(n^3) operations on
#: fractions whose size grows with n: at most this many transient states.
MAX_TRANSIENT = 40
#: The largest smoothing pseudo-count :func:`chain_from_events` accepts.
MAX_SMOOTHING = 10**6


@attrs.frozen(kw_only=True, repr=False)
class AbsorbingChain(Report):
    """
    An absorbing Markov chain over named states.

    *transient* and *absorbing* name the states; *matrix* maps each transient
    state to its transition probabilities (a mapping of state to probability,
    summing to 1).  Everything is exact (``Fraction``).

    The fundamental matrix N = (I - Q)^-1 holds the expected visits to each
    transient state; t = N 1 the expected steps before absorption; B = N R
    the probability of ending in each absorbing state (Grinstead & Snell,
    *Introduction to Probability*, ch. 11, Theorems 11.4-11.6).

    A :class:`~funnelkit.Report`: its table has one row per transient
    state: the expected steps to absorption, ``p_<state>`` the probability
    of ending in each absorbing state, and ``visits_<state>`` the expected
    visits to each transient state (a row of N).
    """

    transient: tuple[str, ...]
    absorbing: tuple[str, ...]
    fundamental: tuple[tuple[Fraction, ...], ...]
    absorption: tuple[tuple[Fraction, ...], ...]

    def _summary(self) -> str:
        head = f"{len(self.transient)} transient, {len(self.absorbing)} absorbing states"
        if not (self.transient and self.absorption and self.fundamental):
            return head
        first = self.transient[0]
        ends = ", ".join(
            f"{name} {float(p):.1%}" for name, p in zip(self.absorbing, self.absorption[0], strict=False)
        )
        return f"{head}; from {first!r}: {ends}, {float(sum(self.fundamental[0], Fraction(0))):.3g} steps"

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per transient state: expected steps, absorption probabilities, expected visits.
        """
        return [
            {
                "state": state,
                "expected_steps": sum(visits, Fraction(0)),
                **{f"p_{a}": p for a, p in zip(self.absorbing, ends, strict=False)},
                **{f"visits_{t}": v for t, v in zip(self.transient, visits, strict=False)},
            }
            for state, visits, ends in zip(self.transient, self.fundamental, self.absorption, strict=False)
        ]

    def expected_steps(self, state: str) -> Fraction:
        """
        Expected number of steps from *state* until absorption.  Cost: O(n)
        for n transient states.
        """
        i = self._index(state)
        return sum(self.fundamental[i], Fraction(0))

    def probability(self, state: str, absorbed_in: str) -> Fraction:
        """
        Probability that a walk from transient *state* ends in *absorbed_in*.
        Cost: O(n) for n states.
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
    matrix: Mapping[str, Mapping[str, Fraction | int | str]],
    *,
    absorbing: Sequence[str],
) -> AbsorbingChain:
    """
    Build the chain from transition probabilities of the transient states:
    ``Fraction``, int, finite ``Decimal`` or float, or a str such as ``"1/3"`` or
    ``"0.25"``.

    Cost: O(n^3) exact operations for n transient states (Gauss-Jordan on
    fractions), so at most 40 (``MAX_TRANSIENT``) are accepted, and as many
    absorbing states.

    >>> from fractions import Fraction as F
    >>> walk = absorbing_chain(  # the drunkard's walk of Grinstead & Snell, Example 11.13
    ...     {"1": {"0": F(1, 2), "2": F(1, 2)}, "2": {"1": F(1, 2), "3": F(1, 2)},
    ...      "3": {"2": F(1, 2), "4": F(1, 2)}},
    ...     absorbing=["0", "4"],
    ... )
    >>> walk.expected_steps("2"), walk.probability("1", "4")
    (Fraction(4, 1), Fraction(1, 4))
    """
    table = _rows_of(matrix)
    transient = tuple(table)
    absorbed = _names(absorbing)
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
        row = _read_row(s, raw, states, problems)
        if row is not None:
            rows[s] = row
    if problems:
        raise ValidationError(problems)
    return _solved(transient, absorbed, rows)


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


def _rows_of(matrix: object) -> Mapping[str, object]:
    """*matrix* as a non-empty mapping of state to row (a pandas Series read through), within the limit."""
    matrix = c.to_mapping(matrix, "matrix")  # a pandas Series of rows
    if not isinstance(matrix, Mapping) or not matrix:
        code = "empty" if isinstance(matrix, Mapping) else "type"
        raise ValidationError.single(
            "matrix", f"{c.show(matrix)} is not a non-empty mapping of state to row", code=code
        )
    if len(matrix) > MAX_TRANSIENT:
        msg = (
            f"{len(matrix):,} transient states; at most {MAX_TRANSIENT} are solved exactly "
            "(the exact inverse is O(n^3) on growing fractions): merge states first"
        )
        raise ValidationError.single("matrix", msg, code="limit")
    return matrix


def _read_row(s: str, raw: object, states: set[str], problems: list[Problem]) -> dict[str, Fraction] | None:
    """
    The row of state *s* as exact probabilities (``None`` when it is not a mapping),
    its problems added to *problems* (up to MAX_PROBLEMS in all).
    """
    row = c.to_mapping(raw, f"matrix[{s!r}]")  # a pandas Series
    if not isinstance(row, Mapping):
        problems.append(c.wrong_type(row, "a mapping").prefixed(f"matrix[{s!r}]"))
        return None
    converted = {}
    found = len(problems)
    for t, p in row.items():
        where = f"matrix[{s!r}][{c.show(t)}]"
        q = exact(p)
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
    if len(problems) == found and sum(converted.values()) != 1:
        problems.append(
            Problem(path=f"matrix[{s!r}]", code="range", message=f"sums to {sum(converted.values())}, not 1")
        )
    return converted


def _names(absorbing: object) -> tuple[str, ...]:
    """
    *absorbing*, checked to be a sequence of state names (read with a bound).
    """
    if not c.is_iterable(absorbing):
        raise c.at("absorbing", c.wrong_type(absorbing, "an iterable of state names"))
    out: list[str] = []
    for i, name in enumerate(cast("Iterable[object]", absorbing)):  # checked just above
        if not isinstance(name, str):
            raise ValidationError.single(
                f"absorbing[{i}]", f"{c.show(name)} is not a state name (a str)", code="type"
            )
        if name in out:
            raise ValidationError.single(f"absorbing[{i}]", f"{c.show(name)} appears twice", code="duplicate")
        if len(out) == MAX_TRANSIENT:
            msg = f"more than {MAX_TRANSIENT} absorbing states; merge some first"
            raise ValidationError.single("absorbing", msg, code="limit")
        out.append(name)
    return tuple(out)


def chain_from_events(
    events: Iterable[StageChanged],
    pipeline: Pipeline,
    *,
    smoothing: Fraction | int | str = 1,
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
    10**6.

    Cost: O(e) for e events, plus :func:`absorbing_chain` on the open stages.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    c.require_iterable(events, "StageChanged", "events")
    alpha = exact(smoothing)
    if alpha is None or not 0 <= alpha <= MAX_SMOOTHING:
        msg = f"{c.show(smoothing)} is not a number from 0 to {MAX_SMOOTHING:,}"
        code = "range" if alpha is not None else "format" if isinstance(smoothing, str) else "type"
        raise ValidationError.single("smoothing", msg, code=code)
    transient = [s.key for s in pipeline.open_stages]
    counts: dict[str, dict[str, int]] = {k: dict.fromkeys(pipeline.moves_from(k), 0) for k in transient}
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
    absorbing = [s.key for s in pipeline.stages if not s.is_open]
    return absorbing_chain(matrix, absorbing=absorbing)
