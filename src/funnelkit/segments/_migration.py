"""
Tier migration between two periods, and the B/C -> A conversion rate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction

import attrs

from .. import _checks as c
from .._report import Report
from .._repr import html_table
from ..entities import Tier
from ..errors import Problem, ValidationError
from ._abc import AbcResult
from ._args import MAX_PROBLEMS, tier_or_none

#: Row and column labels of the matrix: the tiers, then ``None`` for "not graded in that period".
STATES: tuple[Tier | None, ...] = (Tier.A, Tier.B, Tier.C, None)


def _label(state: Tier | None) -> str:
    return "-" if state is None else state.value


def _move(key: tuple[Tier | None, Tier | None]) -> str:
    """A cell as words: 'B -> A', '- -> C'."""
    return f"{_label(key[0])} -> {_label(key[1])}"


@attrs.frozen(kw_only=True, repr=False)
class Migration(Report):
    """
    Who moved between tiers from one period to the next.

    ``cell(before, after)`` is the sorted tuple of customer ids that were in
    tier *before* and are in tier *after*; ``None`` stands for "not graded in
    that period" (a new or a lost customer).  *conversion_to_a* is the share
    of the customers graded B or C in the first period who are A in the
    second (customers no longer graded count as not converted), or ``None``
    when there were no B or C customers.

    ``str(migration)`` is the matrix of counts; in a notebook it shows as a
    table.  ``to_records()`` and ``to_frame()`` give one row per customer:
    its tier before and after (``None``: not graded in that period).

    The customers behind each cell are kept, so :meth:`merge` combines the
    migrations of partitions of the customers into exactly the migration of
    all of them (the gradings themselves rank the whole book: grade it
    whole, then split it).
    """

    cells: Mapping[tuple[Tier | None, Tier | None], tuple[str, ...]]
    conversion_to_a: Fraction | None

    def merge(self, other: Migration) -> Migration:
        """
        The migration of the customers of both: exactly what :func:`migration`
        gives over the gradings of all of them.  A customer in both counts
        once; in two different cells, it is refused by name
        (``other.cells``, code ``conflict``).
        Cost: O(n log n) for n customers.
        """
        c.require(other, Migration, "a Migration", "other")
        moves = {cid: key for key, ids in self.cells.items() for cid in ids}
        for key, ids in other.cells.items():
            for cid in ids:
                seen = moves.setdefault(cid, key)
                if seen != key:
                    msg = (
                        f"customer {cid!r} moved {_move(seen)} in this migration and {_move(key)} in the "
                        "other; merge migrations of the same two gradings"
                    )
                    raise ValidationError.single("other.cells", msg, code="conflict")
        return _migration(moves)

    def cell(self, before: Tier | str | None, after: Tier | str | None) -> tuple[str, ...]:
        """
        The ids of the customers in tier *before*, then *after* (``'A'``,
        ``'B'``, ``'C'`` or ``None``: not graded).  Cost: O(1).
        """
        return self.cells.get((tier_or_none(before, "before"), tier_or_none(after, "after")), ())

    def count(self, before: Tier | str | None, after: Tier | str | None) -> int:
        """
        How many customers moved from tier *before* to *after*.  Cost: O(1).
        """
        return len(self.cell(before, after))

    def matrix(self) -> list[list[int]]:
        """
        Counts, rows = tier before (A, B, C, none), columns = tier after.
        Cost: O(1).
        """
        return [[len(self.cells.get((b, a), ())) for a in STATES] for b in STATES]

    def _summary(self) -> str:
        customers = sum(len(ids) for ids in self.cells.values())
        moved = sum(len(ids) for (b, a), ids in self.cells.items() if b != a and None not in (b, a))
        new = sum(len(ids) for (b, a), ids in self.cells.items() if b is None and a is not None)
        lost = sum(len(ids) for (b, a), ids in self.cells.items() if b is not None and a is None)
        rate = "n/a" if self.conversion_to_a is None else f"{float(self.conversion_to_a):.1%}"
        return (
            f"{c.counted(customers, 'customer')}: {moved:,} changed tier, {new:,} new, {lost:,} lost; "
            f"B/C -> A {rate}"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per customer: the tier before and after (``None``: not graded).
        """
        for (b, a), ids in sorted(
            self.cells.items(), key=lambda kv: (STATES.index(kv[0][0]), STATES.index(kv[0][1]))
        ):
            for cid in ids:
                yield {
                    "customer_id": cid,
                    "before": None if b is None else b.value,
                    "after": None if a is None else a.value,
                }

    def __str__(self) -> str:
        head = "before \\ after " + "".join(f"{_label(s):>6}" for s in STATES)
        rows = [
            f"{_label(b):>14} " + "".join(f"{n:>6}" for n in row)
            for b, row in zip(STATES, self.matrix(), strict=True)
        ]
        rate = "n/a" if self.conversion_to_a is None else f"{float(self.conversion_to_a):.1%}"
        return "\n".join(["Tier migration", head, *rows, f"B/C -> A conversion: {rate}"])

    def _repr_html_(self) -> str:
        """
        The matrix of counts (a per-customer list says less at a glance).
        """
        headers = ("before \\ after", *(_label(s) for s in STATES))
        rows = [(_label(b), *row) for b, row in zip(STATES, self.matrix(), strict=True)]
        return f"<div>{html_table(headers, rows, caption=f'Migration: {self._summary()}')}</div>"


def _tiers(grading: AbcResult | Mapping[str, Tier | str | None], where: str) -> dict[str, Tier | None]:
    if isinstance(grading, AbcResult):
        return dict(grading.tiers)
    grading = c.to_mapping(grading, where)  # a pandas Series
    if not isinstance(grading, Mapping):
        raise ValidationError.single(
            where, f"{c.show(grading)} is not an AbcResult or a mapping of id to tier", code="type"
        )
    out: dict[str, Tier | None] = {}
    problems: list[Problem] = []
    for cid, tier in grading.items():
        if len(problems) >= MAX_PROBLEMS:
            break
        problem = c.identifier(cid)
        if problem is not None:
            problems.append(problem.prefixed(f"{where}[{c.show(cid)}]"))
            continue
        try:
            out[cid] = tier_or_none(tier, f"{where}[{cid!r}]")
        except ValidationError as e:
            problems.extend(e.problems)
    if problems:
        raise ValidationError(problems)
    return out


def migration(
    before: AbcResult | Mapping[str, Tier | str | None],
    after: AbcResult | Mapping[str, Tier | str | None],
) -> Migration:
    """
    The matrix of tier moves between two gradings (two :func:`abc` results,
    or mappings of customer id to tier), the customers behind each cell, and
    the B/C -> A conversion rate.

    >>> q1 = {"c1": "A", "c2": "B", "c3": "C", "c4": "C"}
    >>> q2 = {"c1": "A", "c2": "A", "c3": "B", "c5": "C"}
    >>> m = migration(q1, q2)
    >>> m.cell("B", "A"), m.cell("C", None), m.cell(None, "C")
    (('c2',), ('c4',), ('c5',))
    >>> m.conversion_to_a  # 1 of the 3 B/C customers became A
    Fraction(1, 3)

    Cost: O(n log n) in the number of customers graded in either period.
    """
    first, second = _tiers(before, "before"), _tiers(after, "after")
    return _migration({cid: (first.get(cid), second.get(cid)) for cid in first.keys() | second.keys()})


def _migration(moves: Mapping[str, tuple[Tier | None, Tier | None]]) -> Migration:
    """The migration of each customer's (tier before, tier after): one pass and merges build it alike."""
    cells: dict[tuple[Tier | None, Tier | None], list[str]] = {}
    for cid in sorted(moves):
        cells.setdefault(moves[cid], []).append(cid)
    from_bc = sum(len(ids) for (b, _), ids in cells.items() if b in (Tier.B, Tier.C))
    converted = sum(len(ids) for (b, a), ids in cells.items() if b in (Tier.B, Tier.C) and a is Tier.A)
    rate = None if not from_bc else Fraction(converted, from_bc)
    return Migration(cells={k: tuple(v) for k, v in cells.items()}, conversion_to_a=rate)
