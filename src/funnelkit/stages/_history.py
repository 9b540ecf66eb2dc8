"""
A stage history from a table: the rows a CRM exports (deal, stage, when it
got there) as the stage-change events the engine would have emitted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .. import _checks as c
from .._reading import _key_path
from .._tables import (
    MISSING,
    PROGRESS_EVERY,
    Table,
    UnknownColumns,
    blank,
    check_choice,
    check_columns,
    check_progress,
    joined,
    read_datetime,
    sources,
    table_of,
)
from .._time import canonical
from ..errors import MAX_LISTED, Problem, ValidationError
from ._engine import _event  # the engine's builder of the events it vouches for
from ._event import StageChanged
from ._pipeline import Pipeline
from ._stage import MoveKind

#: The columns a history row may have; the first three are required.
COLUMNS = ("opportunity_id", "stage", "at", "actor", "lost_reason")

#: The most rows one call reads (a million deals with ten moves each).
MAX_ROWS = 10_000_000


def events_from_history(
    rows: Iterable[Mapping[str, Any]] | Any,
    pipeline: Pipeline,
    *,
    columns: Mapping[Any, str] | None = None,
    unknown_columns: UnknownColumns = "refuse",
    actor: str = "import",
    lost_reason: str | None = None,
    progress: c.Progress | None = None,
) -> tuple[StageChanged, ...]:
    """
    The stage changes of a history table: one row per stage a deal entered,
    with its ``opportunity_id``, ``stage`` and ``at`` (an aware datetime,
    or ISO 8601 text with its offset), and optionally the ``actor`` and the
    ``lost_reason`` of a loss.  Each deal's first row is where it started;
    every later row is a move, named by the pipeline (advance, back, win,
    lose, reopen), with the deal's version (1, 2, ...) and the time it
    spent in the stage it left.  Rows may come in any order (a deal's rows
    are read in time order); *actor* and *lost_reason* fill the columns a
    row leaves out or blank.

    *rows* is an iterable of mappings (dicts, a DataFrame's ``iterrows()``)
    or a table: a pandas, polars or pyarrow table, or a dict of columns (see
    :func:`funnelkit.tables.from_table`), read by columns.  *columns*
    renames columns (``{"deal": "opportunity_id", "entered": "at"}``); a
    column that is none of the five is refused, or skipped with
    ``unknown_columns="ignore"``.  *progress*, when given, is called as
    ``progress(done, total)`` after every 1,000 rows read and at the end
    (*total* is ``None`` for an iterable without a length).

    Problems are named by row and column (``rows[3].stage``, in the table's
    own column names; a row's position counts from 0); reading stops after
    the first :data:`~funnelkit.errors.MAX_LISTED`.  The moves are not
    checked against the pipeline's allowed moves or milestones: a history
    records what happened.

    >>> import datetime as dt
    >>> from funnelkit.stages import default_pipeline
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> rows = [
    ...     {"opportunity_id": "o-1", "stage": "contact", "at": t},
    ...     {"opportunity_id": "o-1", "stage": "needs_confirmed", "at": t + dt.timedelta(days=3)},
    ...     {"opportunity_id": "o-1", "stage": "lost", "at": t + dt.timedelta(days=5),
    ...      "lost_reason": "price"},
    ... ]
    >>> events = events_from_history(rows, default_pipeline())
    >>> [(e.kind.value, e.version, e.time_in_stage.days) for e in events]
    [('advance', 1, 3), ('lose', 2, 2)]

    Cost: O(r log r) for r rows (at most 10,000,000).
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    problems: list[Problem] = []
    problem = c.identifier(actor)
    if problem is not None:
        problems.append(problem.prefixed("actor"))
    problem = None if lost_reason is None else c.name(lost_reason)
    if problem is not None:
        problems.append(problem.prefixed("lost_reason"))
    renames: dict[Any, str] = {}
    try:
        renames = check_columns(columns, COLUMNS)
    except ValidationError as e:
        problems.extend(e.problems)
    try:
        check_choice(unknown_columns, "unknown_columns")
    except ValidationError as e:
        problems.extend(e.problems)
    try:
        check_progress(progress)
    except ValidationError as e:
        problems.extend(e.problems)
    if problems:
        raise ValidationError(problems)
    src = sources(COLUMNS, renames)
    history = _History(pipeline, src, unknown_columns == "refuse")
    table = table_of(rows, "rows") if not isinstance(rows, str | bytes) else None
    total: int | None
    if table is not None:
        cells, total = history.table_rows(table), table.rows
    else:
        c.require_iterable(rows, "row", "rows")
        cells, total = history.mapping_rows(rows), _length(rows)
    by_deal = history.read(cells, progress, total)
    events: list[StageChanged] = []
    if not history.full:
        for deal_id, deal_rows in by_deal.items():
            deal_rows.sort(key=_by_time)  # by time; ties in the table's order
            events.extend(history.moves(deal_id, deal_rows, actor, lost_reason))
            if history.full:
                break
    if history.problems:
        raise ValidationError(sorted(history.problems, key=lambda p: _row_of(p.path)))
    return tuple(events)


Row = tuple[dt.datetime, int, str, str | None, str | None]  # at, index, stage, actor, lost reason


def _by_time(row: Row) -> tuple[dt.datetime, int]:
    return row[0], row[1]


def _length(rows: object) -> int | None:
    return len(rows) if isinstance(rows, list | tuple) else None


_REQUIRED = Problem(path="", code="missing", message="missing; this column is required")


class _History:
    """
    One read of a history table: its rows checked one by one and grouped by
    deal, then each deal's moves; the problems at ``rows[i].column``.
    """

    def __init__(self, pipeline: Pipeline, src: tuple[Any, ...], refuse: bool) -> None:
        self.pipeline = pipeline
        self.src = src
        self.known = frozenset(src)
        self.refuse = refuse
        self.shown = tuple(_key_path(s) for s in src)
        self.allowed = ", ".join(map(str, src))
        self.problems: list[Problem] = []
        self.stages = frozenset(pipeline.keys)
        self.ids: set[str] = set()  # deal ids and actors found valid
        self.names: set[str] = set()  # lost reasons found valid
        self.kinds: dict[tuple[str, str], MoveKind | ValidationError] = {}

    @property
    def full(self) -> bool:
        """
        Whether enough problems were found to stop reading.
        """
        return len(self.problems) >= MAX_LISTED

    def add(self, problems: Iterable[Problem]) -> None:
        room = MAX_LISTED - len(self.problems)
        self.problems.extend(itertools.islice(problems, max(room, 0)))

    def _at(self, i: int, j: int, problem: Problem) -> Problem:
        return problem.prefixed(self.shown[j]).prefixed(f"rows[{i}]")

    def table_rows(self, table: Table) -> Iterator[tuple[int, Any]]:
        """
        The cells of each row of *table*, read by columns.
        """
        names = table.names
        position: dict[Any, int] = {}
        problems = []
        for j, name in enumerate(names):
            path = joined("rows", name)
            try:
                known = name in self.known
            except TypeError:  # an unhashable column name
                known = False
            if known and name in position:
                msg = f"{c.show(name)} appears twice; each column may appear once"
                problems.append(Problem(path=path, code="duplicate", message=msg))
            elif known:
                position[name] = j
            elif self.refuse:
                message = f"unknown column; allowed: {self.allowed}"
                problems.append(Problem(path=path, code="unknown_field", message=message))
        if table.rows > MAX_ROWS:
            msg = f"has {table.rows:,} rows; at most {MAX_ROWS:,} are read at once"
            problems.append(Problem(path="rows", code="limit", message=msg))
        if problems:
            raise ValidationError(problems[:MAX_LISTED])
        lists = [
            itertools.repeat(MISSING, table.rows) if s not in position else table.column(position[s])
            for s in self.src
        ]
        return enumerate(zip(*lists, strict=False))

    def mapping_rows(self, rows: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        """
        The cells of each row of an iterable of mappings, or the problems
        that keep it from being a row.
        """
        src, known, missing = self.src, self.known, tuple(MISSING for _ in self.src)
        every = operator.itemgetter(*src)
        for i, given in enumerate(rows):
            if i >= MAX_ROWS:
                yield i, [Problem(path="rows", code="limit", message=f"more than {MAX_ROWS:,} rows")]
                return
            row = given
            if type(row) is not dict:
                try:
                    row = c.to_mapping(given, f"rows[{i}]")  # a pandas Series (a DataFrame's row) reads too
                except ValidationError as e:
                    yield i, list(e.problems)
                    continue
                if not isinstance(row, Mapping):
                    wrong = c.wrong_type(row, "a row (a mapping of column to value)").prefixed(f"rows[{i}]")
                    yield i, [wrong]
                    continue
            if self.refuse and not row.keys() <= known:
                message = f"unknown column; allowed: {self.allowed}"
                extra = [
                    Problem(path=_key_path(k), code="unknown_field", message=message).prefixed(f"rows[{i}]")
                    for k in sorted((k for k in row if k not in known), key=repr)
                ]
                self.add(extra)
            try:
                cells = every(row) if type(row) is dict else None  # every column there: one C call
            except KeyError:
                cells = None
            yield i, cells or tuple(map(row.get, src, missing))

    def read(
        self, rows: Iterator[tuple[int, Any]], progress: c.Progress | None, total: int | None
    ) -> dict[str, list[Row]]:
        """
        The rows checked one by one, grouped by deal.
        """
        by_deal: dict[str, list[Row]] = {}
        done = 0
        for i, cells in rows:
            done = i + 1
            if isinstance(cells, list):  # not a row: its problems
                self.add(cells)
            else:
                found = self._row(i, cells)
                if found is not None:
                    deal, row = found
                    group = by_deal.get(deal)
                    if group is None:
                        by_deal[deal] = [row]
                    else:
                        group.append(row)
            if self.full:
                break
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
        if progress is not None and not self.full and (done == 0 or done % PROGRESS_EVERY):
            progress(done, total)
        return by_deal

    def _row(self, i: int, cells: tuple[Any, ...]) -> tuple[str, Row] | None:
        """
        One row's deal and its checked cells, or ``None`` with its problems recorded.
        """
        deal, stage, at, who, why = cells
        bad: list[Problem] = []
        if deal.__class__ is not str or deal not in self.ids:
            if blank(deal):
                bad.append(self._at(i, 0, _REQUIRED))
            else:
                problem = c.identifier(deal)
                if problem is None:
                    self.ids.add(deal)
                else:
                    bad.append(self._at(i, 0, problem))
        if stage.__class__ is not str or stage not in self.stages:
            if blank(stage):
                bad.append(self._at(i, 1, _REQUIRED))
            else:
                message = self.pipeline.routes.unknown(stage)
                bad.append(self._at(i, 1, Problem(path="", code="reference", message=message)))
        if at.__class__ is not dt.datetime or at.tzinfo is not dt.UTC:
            at = self._time(i, at, bad)
        if who is MISSING or who is None:
            who = None
        elif who.__class__ is not str or who not in self.ids:
            who = self._optional(i, 3, who, c.identifier, self.ids, bad)
        if why is MISSING or why is None:
            why = None
        elif why.__class__ is not str or why not in self.names:
            why = self._optional(i, 4, why, c.name, self.names, bad)
        if bad:
            self.add(bad)
            return None
        return deal, (at, i, stage, who, why)

    def _time(self, i: int, at: Any, bad: list[Problem]) -> Any:
        """
        The ``at`` cell as an aware datetime in UTC, or a problem.
        """
        if blank(at):
            bad.append(self._at(i, 2, _REQUIRED))
            return at
        try:
            at = read_datetime(at)  # ISO 8601 text; a pandas Timestamp
        except ValidationError as e:
            bad.extend(self._at(i, 2, p) for p in e.problems)
            return at
        problem = c.aware_datetime(at)
        if problem is not None:
            bad.append(self._at(i, 2, problem))
            return at
        return canonical(at)

    def _optional(  # noqa: PLR0917 - one optional cell and how to check it
        self,
        i: int,
        j: int,
        cell: Any,
        check: Callable[[Any], Problem | None],
        valid: set[str],
        bad: list[Problem],
    ) -> Any:
        """
        An optional cell: ``None`` when blank, else itself once checked.
        """
        if blank(cell):
            return None
        problem = check(cell)
        if problem is not None:
            bad.append(self._at(i, j, problem))
        else:
            valid.add(cell)
        return cell

    def moves(
        self, deal_id: str, history: list[Row], actor: str, lost_reason: str | None
    ) -> list[StageChanged]:
        """
        One deal's moves, from its rows in time order.
        """
        out = []
        kinds, key = self.kinds, self.pipeline.key
        entered, _, before, _, _ = history[0]
        for version, (at, i, stage, who, why) in enumerate(itertools.islice(history, 1, None), 1):
            kind = kinds.get((before, stage))
            if kind is None:
                try:
                    kind = self.pipeline.routes.kind(before, stage)
                except ValidationError as e:
                    kind = e
                kinds[before, stage] = kind
            if isinstance(kind, ValidationError):
                self.add(
                    Problem(path=f"rows[{i}].{self.shown[1]}", code=p.code, message=p.message)
                    for p in kind.problems
                )
            elif at == entered:
                message = f"{at.isoformat()} is when {deal_id!r} entered {before!r}; a move takes some time"
                self.add([Problem(path=f"rows[{i}].{self.shown[2]}", code="order", message=message)])
            else:
                reason = (why or lost_reason) if kind is MoveKind.LOSE else None
                if kind is MoveKind.LOSE and reason is None:
                    message = "missing; a loss needs a lost reason (the column, or lost_reason=...)"
                    self.add([Problem(path=f"rows[{i}].{self.shown[4]}", code="missing", message=message)])
                elif not self.problems:
                    out.append(
                        _event(
                            deal_id,
                            key,
                            kind,
                            before,
                            stage,
                            at,
                            who or actor,
                            version,
                            at - entered,
                            reason,
                            None,
                            None,
                            (),
                        )
                    )
            before, entered = stage, at
        return out


def _row_of(path: str) -> tuple[int, str]:
    """Sort key of a problem: its row number, then its path."""
    head = path.split("]", 1)[0]
    number = head.removeprefix("rows[")
    return (int(number), path) if number.isdigit() else (-1, path)
