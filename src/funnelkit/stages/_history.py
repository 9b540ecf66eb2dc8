"""
A stage history from a table: the rows a CRM exports (deal, stage, when it
got there) as the stage-change events the engine would have emitted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from .. import _checks as c
from .._optional import module
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
    is_arrow,
    is_polars,
    joined,
    read_datetime,
    sources,
    table_of,
    told,
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


class Parts(NamedTuple):
    """
    A history read by columns, checked: the deal ids, stage keys, actors
    and lost reasons (then ``None``) as object arrays, and per move its
    codes into them and its numbers (see ``_history_columns._ARRAYS``).
    """

    pipeline: str
    ids: Any
    stages: Any
    actors: Any
    reasons: Any
    arrays: tuple[Any, ...]


def read_history(
    rows: Iterable[Mapping[str, Any]] | Any,
    pipeline: Pipeline,
    *,
    columns: Mapping[Any, str] | None = None,
    unknown_columns: UnknownColumns = "refuse",
    actor: str = "import",
    lost_reason: str | None = None,
    progress: c.Progress | None = None,
) -> Parts | tuple[StageChanged, ...]:
    """
    A history table read and checked (see :func:`events_from_history`): its
    events, or a table read by columns as its checked parts, to be built
    when they are read.
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
        position = history.positions(table)
        fast = _vectorised(rows, table.rows, position, history, (actor, lost_reason))
        if fast is not None:  # every row as it should be: checked by columns
            told(progress, table.rows)
            return fast
        cells, total = history.table_rows(table, position), table.rows
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


class RowReader:
    """
    One read of a table of rows whose columns are *src* (in the order the
    rows' cells are read): its rows checked one by one by :meth:`_row` and
    grouped by deal; the problems at ``rows[i].column``, up to
    :data:`~funnelkit.errors.MAX_LISTED`.
    """

    def __init__(self, src: tuple[Any, ...], refuse: bool) -> None:
        self.src = src
        self.known = frozenset(src)
        self.refuse = refuse
        self.shown = tuple(_key_path(s) for s in src)
        self.allowed = ", ".join(map(str, src))
        self.problems: list[Problem] = []
        self.ids: set[str] = set()  # deal ids and actors found valid
        self.names: set[str] = set()  # reasons found valid

    def _row(self, i: int, cells: tuple[Any, ...]) -> tuple[str, Any] | None:
        """
        One row's deal and its checked cells, or ``None`` with its problems recorded.
        """
        raise NotImplementedError

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

    def positions(self, table: Table) -> dict[Any, int]:
        """
        Where each column read is in *table*; its names and size checked.
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
        return position

    def table_rows(self, table: Table, position: dict[Any, int]) -> Iterator[tuple[int, Any]]:
        """
        The cells of each row of *table*, read by columns.
        """
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
    ) -> dict[str, list[Any]]:
        """
        The rows checked one by one, grouped by deal.
        """
        by_deal: dict[str, list[Any]] = {}
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

    def _time(self, i: int, j: int, at: Any, bad: list[Problem]) -> Any:
        """
        The ``at`` cell (column *j*) as an aware datetime in UTC, or a problem.
        """
        if blank(at):
            bad.append(self._at(i, j, _REQUIRED))
            return at
        try:
            at = read_datetime(at)  # ISO 8601 text; a pandas Timestamp
        except ValidationError as e:
            bad.extend(self._at(i, j, p) for p in e.problems)
            return at
        problem = c.aware_datetime(at)
        if problem is not None:
            bad.append(self._at(i, j, problem))
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

    def _deal(self, i: int, deal: Any, bad: list[Problem]) -> None:
        """
        Check the deal cell (column 0) not yet known valid: remembered when
        it is, else a problem.
        """
        if blank(deal):
            bad.append(self._at(i, 0, _REQUIRED))
            return
        problem = c.identifier(deal)
        if problem is None:
            self.ids.add(deal)
        else:
            bad.append(self._at(i, 0, problem))


class _History(RowReader):
    """
    One read of a history table: its rows checked one by one and grouped by
    deal, then each deal's moves; the problems at ``rows[i].column``.
    """

    def __init__(self, pipeline: Pipeline, src: tuple[Any, ...], refuse: bool) -> None:
        super().__init__(src, refuse)
        self.pipeline = pipeline
        self.stages = frozenset(pipeline.keys)
        self.kinds: dict[tuple[str, str], MoveKind | ValidationError] = {}

    def _row(self, i: int, cells: tuple[Any, ...]) -> tuple[str, Row] | None:
        """
        One row's deal and its checked cells, or ``None`` with its problems recorded.
        """
        deal, stage, at, who, why = cells
        bad: list[Problem] = []
        if deal.__class__ is not str or deal not in self.ids:
            self._deal(i, deal, bad)
        if stage.__class__ is not str or stage not in self.stages:
            if blank(stage):
                bad.append(self._at(i, 1, _REQUIRED))
            else:
                message = self.pipeline.routes.unknown(stage)
                bad.append(self._at(i, 1, Problem(path="", code="reference", message=message)))
        if at.__class__ is not dt.datetime or at.tzinfo is not dt.UTC:
            at = self._time(i, 2, at, bad)
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


# --- a pandas table, checked a column at a time ------------------------------------

#: The types of the cells that read as blank in an optional column (a float only when NaN).
#: Move kinds by their code in a history's kind column.
KINDS = tuple(MoveKind)
_KIND_CODES = {k: i for i, k in enumerate(KINDS)}
_BLANK_CELLS = frozenset({"NoneType", "float", "NAType", "NaTType"})
#: Two days after the first and before the last instants a datetime holds, in microseconds from
#: the epoch: a time in another zone near them reads the same way one by one.
_FIRST_US, _LAST_US = (
    -62_135_596_800_000_000 + 2 * 86_400_000_000,
    253_402_300_799_999_999 - 2 * 86_400_000_000,
)
#: The fewest rows of a polars or pyarrow table for which pandas is imported to read it by columns.
_IMPORT_FROM = 10_000


def _vectorised(
    rows: object, n: int, position: dict[Any, int], history: _History, fills: tuple[str, str | None]
) -> Parts | None:
    """
    The checked parts of the events of a pandas, polars or pyarrow table of *n* rows whose every
    row reads as it should, checked a column at a time (a value once per
    distinct value); ``None`` for anything else, or
    anything unusual in the table: a blank or refused cell, a tie, a move
    the pipeline refuses, a loss without a reason.  The rows are then read
    one by one, and that read names the problems.  Only with numpy and
    pandas (imported here for a polars or pyarrow table of 10,000 rows or
    more).
    """
    if isinstance(rows, str | bytes | Mapping) or n == 0:
        return None
    polars, arrow = is_polars(rows), is_arrow(rows)
    # a pandas frame's own library is loaded already; pandas is loaded for another's only when worth it
    if type(rows).__module__.split(".")[0] != "pandas" and not (n >= _IMPORT_FROM and (polars or arrow)):
        return None
    pd, np = module("pandas"), module("numpy")  # optional extras
    if pd is None or np is None:
        return None
    frame: Any = rows
    read: Callable[[int], Any]
    if isinstance(frame, pd.DataFrame):
        read = lambda j: frame.iloc[:, j]  # noqa: E731 - one column, as a Series
    elif arrow:
        read = lambda j: frame.column(j).to_pandas()  # noqa: E731
    elif polars:
        read = lambda j: frame.to_series(j).to_pandas()  # noqa: E731
    else:
        return None
    try:
        return _by_columns(np, pd, read, n, position, history, fills, whole=arrow or polars)
    except Exception:  # noqa: BLE001 - anything unexpected: the rows one by one decide and name it
        return None


def _by_columns(  # noqa: PLR0917 - one table's columns, then its moves as arrays
    np: Any,
    pd: Any,
    read: Callable[[int], Any],
    n: int,
    position: dict[Any, int],
    h: _History,
    fills: tuple[str, str | None],
    *,
    whole: bool,
) -> Parts | None:
    """
    The checked parts of the events of a table of *n* rows whose columns *read* gives as pandas
    Series (see :func:`_vectorised`), or ``None``; *whole*: its times must
    be whole microseconds.
    """
    src, (actor, lost_reason) = h.src, fills
    if any(s not in position for s in src[:3]):
        return None
    series = [None if s not in position else read(position[s]) for s in src]
    # a library that contradicts itself about its number of rows is read row by row
    if any(x is not None and len(x) != n for x in series):  # pragma: no cover
        return None
    checked = _checked(np, pd, series, n, h, whole=whole)
    if checked is None:
        return None
    deal, stage, at, who, why = checked
    deals, stages = deal[0], stage[0]

    # each deal's rows in time order (ties in the table's order), the deals in order of first row
    if n > 1 and (at[1:] >= at[:-1]).all():  # a change log, in time order: the deals' rows stay in it
        order = np.argsort(deals * n + np.arange(n))  # by deal, then row: keys all distinct (n**2 < 2**63)
    else:
        order = np.lexsort((at, deals))  # stable
    sorted_deals = deals[order]
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(sorted_deals[1:], sorted_deals[:-1], out=first[1:])
    moved = np.flatnonzero(~first)  # every row but each deal's first is a move
    to_row, from_row = order[moved], order[moved - 1]
    when = at[to_row]
    gap = when - at[from_row]
    if not (gap > 0).all():  # a tie: a move takes some time
        return None
    to_stage, from_stage = stages[to_row], stages[from_row]
    k = len(stage[1])
    pair = from_stage * k + to_stage
    kinds: list[Any] = [None] * (k * k)  # by pair of stages, each move found once
    for p in np.flatnonzero(np.bincount(pair, minlength=k * k)).tolist():
        try:
            kinds[p] = h.pipeline.routes.kind(stage[1][p // k], stage[1][p % k])
        except ValidationError:
            return None
    kind_codes = np.array([_KIND_CODES.get(x, -1) for x in kinds], dtype=np.int8)
    kind = kind_codes[pair]
    lose = kind == _KIND_CODES[MoveKind.LOSE]
    reason = np.full(len(moved), -1, dtype=np.int64)
    if lose.any():
        given = why[0][to_row[lose]]
        if lost_reason is None and (given < 0).any():
            return None  # a loss without a reason
        # a blank (-1) takes the default, kept after the reasons read
        reason[lose] = np.where(given < 0, len(why[1]), given)
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    version = (np.arange(n) - start)[moved]
    # each name once, only those the events hold (a default the table also wrote is one name)
    deal_codes, deal_ids = compact(np, deals[to_row], list(deal[1]))
    actor_codes, actors = compact(
        np, np.where(who[0][to_row] < 0, len(who[1]), who[0][to_row]), [*who[1], actor]
    )
    reason_codes, reasons = compact(np, reason, [*why[1], lost_reason])
    # every value is checked as the rows one by one check it: the events are the trusted builder's
    return Parts(
        h.pipeline.key,
        objects(np, deal_ids),
        objects(np, stage[1]),
        objects(np, actors),
        objects(np, [*reasons, None]),  # no reason (-1): the last
        (
            narrow(np, deal_codes, len(deal_ids)),
            kind,
            narrow(np, from_stage, k),
            narrow(np, to_stage, k),
            when,
            narrow(np, actor_codes, len(actors)),
            narrow(np, version, n),
            gap,
            narrow(np, reason_codes, len(reasons) + 1),
        ),
    )


def compact(np: Any, codes: Any, values: list[Any]) -> tuple[Any, list[Any]]:
    """
    *codes* into *values* (-1 for none) rewritten into the values they
    use, each once, in the order of *values*: the same names, one code each.
    """
    used = np.zeros(len(values) + 1, dtype=bool)
    used[codes] = True  # -1 marks the extra last slot
    remap = np.full(len(values) + 1, -1, dtype=np.int64)
    kept: dict[Any, int] = {}
    for i in np.flatnonzero(used[:-1]).tolist():
        remap[i] = kept.setdefault(values[i], len(kept))
    return remap[codes], list(kept)


def _checked(
    np: Any, pd: Any, series: list[Any], n: int, h: _History, *, whole: bool
) -> tuple[Any, Any, Any, Any, Any] | None:
    """
    The five columns (``None`` when absent) checked as the rows one by one
    check their cells: each text column's codes and distinct values, the
    times in microseconds; ``None`` when a cell would be refused.
    """
    deal = _factorized(np, pd, series[0], n, blank=False)
    if deal is None or any(c.identifier(d) is not None for d in deal[1]):
        return None
    stage = _factorized(np, pd, series[1], n, blank=False)
    if stage is None or not h.stages.issuperset(stage[1]):
        return None
    at = _microseconds(np, series[2], whole=whole)
    if at is None:
        return None
    who = _factorized(np, pd, series[3], n, blank=True)
    if who is None or any(c.identifier(w) is not None for w in who[1]):
        return None
    why = _factorized(np, pd, series[4], n, blank=True)
    if why is None or any(c.name(w) is not None for w in why[1]):
        return None
    return deal, stage, at, who, why


def objects(np: Any, items: list[Any]) -> Any:
    """
    A numpy array of the Python objects *items*, one per item.
    """
    return np.fromiter(items, dtype=object, count=len(items))


def narrow(np: Any, codes: Any, size: int) -> Any:
    """*codes* (below *size*, or -1) in the narrowest signed integer type that holds them."""
    for t in (np.int8, np.int16, np.int32):
        if size < np.iinfo(t).max:
            return codes.astype(t)
    return codes.astype(np.int64)


def _factorized(np: Any, pd: Any, series: Any, rows: int, *, blank: bool) -> tuple[Any, list[str]] | None:
    """
    A text column as codes (blank cells -1, only when *blank* cells are
    allowed) and the distinct values in order of first appearance, when each
    cell is a ``str`` or (when allowed) blank; else ``None``.  An absent
    column is all blank.
    """
    if series is None:
        return (np.full(rows, -1, dtype=np.int64), []) if blank else None
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or (
        isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    ):
        pass  # its cells are its distinct values: checked below
    elif dtype.kind == "O" or isinstance(dtype, pd.StringDtype):  # each cell checked: any object
        kinds = set(map(type, series.to_numpy(dtype=object)))
        if not all(t is str or (blank and t.__name__ in _BLANK_CELLS) for t in kinds):
            return None
    elif blank and dtype.kind == "f" and series.isna().all():  # a column of NaN (an empty CSV column)
        return np.full(rows, -1, dtype=np.int64), []
    else:
        return None
    codes, uniques = pd.factorize(series)  # in order of first appearance; NaN, None, NA and NaT as -1
    values = list(uniques.tolist())
    if not all(type(v) is str for v in values) or (not blank and (codes < 0).any()):
        return None
    return codes.astype(np.int64, copy=False), values


def _microseconds(np: Any, series: Any, *, whole: bool) -> Any:
    """
    A zoned datetime column's instants as microseconds from the epoch, as
    the rows one by one read them; ``None`` for any other column, one with
    a blank cell, or (when *whole*) a time with nanoseconds.
    """
    if getattr(series.dtype, "kind", "O") != "M" or getattr(series.dt, "tz", None) is None:
        return None
    if series.isna().any():
        return None
    naive = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if whole and naive.dt.unit == "ns" and (naive.to_numpy().view(np.int64) % 1000).any():
        return None
    cells = naive.to_numpy(dtype="datetime64[us]")
    us = cells.view(np.int64)
    if us.min() < _FIRST_US or us.max() > _LAST_US:
        return None
    return us
