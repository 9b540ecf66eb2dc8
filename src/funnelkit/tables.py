"""
Tables in and out: entities from rows (any iterable of mappings) and from
tables (pandas, polars and pyarrow tables, or a dict of columns), and back.

A row's columns are the entity's fields by name (``columns=`` renames a
table's own), one cell each:

- a **blank** cell (``None``, NaN, pandas' ``NA`` and ``NaT``, or a column
  the table does not have) takes the field's default, or the value *fill*
  gives for it; a blank in a required field is a problem (``missing``);
- a cell holds the field's **value** (a str, an aware datetime, a date, an
  int, a ``Decimal``, a list for a tuple or a set, an enum member or its
  value), or the **text** funnelkit's documents write for it: ISO 8601
  datetimes with their offset, dates and durations;
- **table libraries' values** read as what they hold: numpy numbers and
  bools, pandas' ``Timestamp`` and ``Timedelta``, a datetime without a zone
  at midnight as a date (how pandas and pyarrow hold dates), a whole float
  as an int (how pandas holds an integer column with blanks: ``3.0``);
- **money** takes two columns, as reports' ``to_records()`` write it: the
  amount under the field's name (``amount``: a str such as ``"12.30"``, an
  int or a ``Decimal``, never a float, which is inexact: read that column as
  text, e.g. ``pd.read_csv(..., dtype={"amount": str})``) and the currency
  beside it with ``_currency`` appended (``amount_currency``).  A cell may
  also hold ``Money`` itself.

Reading is all or nothing: the entities come back only when every row is
fine; otherwise one :class:`~funnelkit.errors.ValidationError` names each
problem by row and column (``rows[12].stage_entered_at``,
``table[3].amount_currency``), in the table's own column names, and reading
stops after the first :data:`~funnelkit.errors.MAX_LISTED` problems.

>>> import datetime as dt
>>> from funnelkit import Opportunity
>>> from funnelkit.tables import from_rows, to_rows
>>> rows = [
...     {"id": "o-1", "customer_id": "c-1", "owner": "ann", "stage": "proposal",
...      "created_at": "2026-03-02T09:00:00+00:00", "stage_entered_at": "2026-03-09T09:00:00+00:00",
...      "amount": "12000", "amount_currency": "EUR"},
...     {"id": "o-2", "customer_id": "c-2", "owner": "bob", "stage": "contact",
...      "created_at": "2026-03-05T09:00:00+00:00", "stage_entered_at": "2026-03-05T09:00:00+00:00",
...      "amount": None, "amount_currency": None},
... ]
>>> deals = from_rows(Opportunity, rows, fill={"pipeline": "default"})
>>> [(d.id, d.stage, d.amount) for d in deals]
[('o-1', 'proposal', Money('12000', 'EUR')), ('o-2', 'contact', None)]
>>> to_rows(deals)[0]["amount"], to_rows(deals)[0]["amount_currency"]
(Decimal('12000'), 'EUR')

Every bad cell is named by its row and column, and nothing is returned
until every row is fine:

>>> from_rows(Opportunity, [rows[0], {**rows[1], "owner": " bob", "amount": 12.5, "amount_currency": "EUR"}],
...           fill={"pipeline": "default"})
Traceback (most recent call last):
...
funnelkit.errors.ValidationError: 2 problems:
  - rows[1].amount: 12.5 is a float; money refuses floats because they are inexact: ...
  - rows[1].owner: ' bob' has surrounding whitespace; an id must be stripped

With ``trusted=True``, rows the host has already validated (its own
database, a previous export of funnelkit's) are built without the checks;
see :func:`from_rows` for exactly what that skips.
"""

from __future__ import annotations

import enum
import itertools
import operator
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from . import _checks as c
from ._money import Money, currency_problem
from ._optional import required
from ._records import new_record
from ._tables import (
    MAX_ROWS,
    MISSING,
    PROGRESS_EVERY,
    Plan,
    Reader,
    UnknownColumns,
    _column_path,
    batch_of,
    check_choice,
    check_columns,
    check_flag,
    check_progress,
    joined,
    plan,
    read_all,
    read_columns,
    read_sequence,
    sources,
    table_of,
    told,
)
from .entities import ENTITY_TYPES, Opportunity
from .errors import MAX_LISTED, Problem, ValidationError

__all__ = [
    "MAX_ROWS",
    "PROGRESS_EVERY",
    "OpportunityColumns",
    "UnknownColumns",
    "from_rows",
    "from_table",
    "to_rows",
]

T = TypeVar("T")

_ENTITY_NAMES = ", ".join(t.__name__ for t in ENTITY_TYPES)


def from_rows(
    cls: type[T],
    rows: Iterable[Mapping[Any, Any]],
    *,
    columns: Mapping[Any, str] | None = None,
    fill: Mapping[str, Any] | None = None,
    unknown_columns: UnknownColumns = "refuse",
    trusted: bool = False,
    progress: c.Progress | None = None,
) -> tuple[T, ...]:
    """
    The entities of class *cls* (``Customer``, ``KeyPerson``,
    ``Opportunity``, ``Activity``, ``SalesRep`` or ``Lead``) that *rows*
    hold, one per row, in order.

    Each row is a mapping of column to cell (a dict, a ``csv.DictReader``
    row, a pandas ``Series`` from ``iterrows()``); the module's docstring
    says how cells read.  *columns* renames columns to fields, as
    ``DataFrame.rename`` does (``{"deal": "id", "entered":
    "stage_entered_at"}``); problems still name the row's own columns.
    *fill* gives values for columns that rows leave out or blank, by field
    name (``{"pipeline": "default", "amount_currency": "EUR"}``; a money
    field's fill is ``Money``, its currency column fills alone); they are
    checked once, up front.  A column that no field reads is refused, or
    skipped with ``unknown_columns="ignore"``.  *progress*, when given, is
    called as ``progress(done, total)`` after every 1,000 rows
    (:data:`PROGRESS_EVERY`) and at the end; *total* is ``len(rows)`` when
    rows has a length, else ``None``.

    **trusted=True** is for rows that the host has already validated: each
    row is built directly from its cells, without the entity's constructor.
    It still reads the cells as above (blanks, fills, text forms, table
    libraries' values, money from two columns), runs each field's
    converter (an enum's value to its member, a list to a tuple, a time to
    UTC), and refuses what cannot be built at all: a required column that
    is missing or blank, an unknown column, text that does not parse as its
    ISO form, a money amount that is a float or not a number, an amount
    without a currency.  It skips every **check** of a value: types, id
    formats, names, enum membership, currency codes, aware times, ranges,
    and the cross-field rules (a deal that entered its stage before it was
    created, a lost reason on an open deal).  Garbage in, garbage out: a
    value that would have been refused is kept as it is, and whatever reads
    it later may fail in any way.  On valid rows both paths give equal
    entities.

    Cost: O(r * f) for r rows (at most 10,000,000) of f fields.
    """
    reader, known, src = _prepare(cls, columns, fill, unknown_columns, trusted, progress, "rows")
    if _is_table(rows):
        msg = (
            f"{c.show(rows)} is a table; read it with from_table() (from_rows reads an iterable of mappings)"
        )
        raise ValidationError.single("rows", msg, code="type")
    c.require_iterable(rows, "rows (mappings of column to cell)", "rows")
    total = _length(rows)
    refuse = unknown_columns == "refuse"
    allowed = ", ".join(map(str, sorted(known, key=repr)))
    missing = tuple(MISSING for _ in src)
    every = operator.itemgetter(*src)

    def cells() -> Iterator[tuple[int, Any, list[Problem] | tuple[()]]]:
        whole = True  # the rows so far have every column: taken by one C call
        for i, given in enumerate(rows):
            if i >= MAX_ROWS:
                yield i, None, [Problem(path="rows", code="limit", message=f"more than {MAX_ROWS:,} rows")]
                return
            row = given
            if type(row) is not dict:
                try:
                    row = c.to_mapping(given, f"rows[{i}]")  # a pandas Series (a DataFrame's row) reads too
                except ValidationError as e:
                    yield i, None, list(e.problems)
                    continue
                if not isinstance(row, Mapping):
                    wrong = c.wrong_type(row, "a row (a mapping of column to cell)")
                    yield i, None, [wrong.prefixed(f"rows[{i}]")]
                    continue
            extra: list[Problem] | tuple[()] = ()
            if refuse and not row.keys() <= known:
                extra = [p.prefixed(f"rows[{i}]") for p in _unknown(row, known, allowed)]
            try:
                cells = every(row) if whole and type(row) is dict else None
            except KeyError:
                whole = False  # rows that leave columns out: each cell by its name from now on
                cells = None
            yield i, cells or tuple(map(row.get, src, missing)), extra

    # a list of dicts in batches: taking a row too many from it has no effect (another mapping may raise)
    plain = type(rows) in (list, tuple) and operator.countOf(map(type, rows), dict) == total
    read = read_sequence if plain else read_all
    return read(reader, cells(), total=total, progress=progress)


def from_table(
    cls: type[T],
    table: Any,
    *,
    columns: Mapping[Any, str] | None = None,
    fill: Mapping[str, Any] | None = None,
    unknown_columns: UnknownColumns = "refuse",
    trusted: bool = False,
    progress: c.Progress | None = None,
) -> tuple[T, ...]:
    """
    The entities of class *cls* that *table* holds, one per row, in order:
    :func:`from_rows` for a table read by columns.

    *table* is a pandas ``DataFrame``, a polars ``DataFrame``, a pyarrow
    ``Table`` or ``RecordBatch`` (recognised by their methods: funnelkit
    imports none of them), another library's table that pyarrow reads
    through the Arrow stream protocol (when pyarrow is installed), or a
    dict of column name to a list of cells.  Only the columns that fields
    read are converted, each at once (pandas' datetime and timedelta
    columns without making a ``Timestamp`` per cell).  Opportunities are
    checked column by column (each distinct id, stage or amount once), and
    the rows whose every cell passed are built at once; any other row is
    read by itself, so its value or its problems are those of a row read
    alone (:func:`from_rows` reads a list of rows the same way).  A problem is named
    by the row's position, counting from 0 (``table.iloc[3]`` in pandas, not
    its index label), and the table's column: ``table[3].close_date``; a
    problem with a whole column by the column: ``table.colour``.  The
    options are those of :func:`from_rows`; *progress*'s total is the
    number of rows.

    >>> import pandas as pd
    >>> from funnelkit import SalesRep
    >>> team = pd.DataFrame({"rep": ["ann", "bob"], "name": ["Ann", "Bob"], "capacity": [12, None]})
    >>> [(rep.id, rep.capacity) for rep in from_table(SalesRep, team, columns={"rep": "id"})]
    [('ann', 12), ('bob', None)]

    Cost: O(r * f) for r rows (at most 10,000,000) of f fields.
    """
    reader, known, src = _prepare(cls, columns, fill, unknown_columns, trusted, progress, "table")
    cells, rows = _table_cells(table, known, src, unknown_columns)
    return read_columns(reader, cells, rows, progress=progress)


def _table_cells(
    table: Any, known: frozenset[Any], src: tuple[Any, ...], unknown_columns: object
) -> tuple[list[typing.Sequence[Any] | None], int]:
    """
    The cells of *table* per column read (``None`` for one it does not
    have) and its number of rows; the table and its columns checked.
    """
    found = table_of(table, "table")
    if found is None:
        expected = "a table (pandas, polars or pyarrow) or a dict of column name to a list of cells"
        raise c.at("table", c.wrong_type(table, expected))
    if found.rows > MAX_ROWS:
        msg = f"has {found.rows:,} rows; at most {MAX_ROWS:,} are read at once"
        raise ValidationError.single("table", msg, code="limit")
    problems = _column_problems(found.names, known, unknown_columns, "table")
    if problems:
        raise ValidationError(problems)
    position = {name: j for j, name in enumerate(found.names)}
    cells: list[typing.Sequence[Any] | None] = [
        None if position.get(source) is None else found.column(position[source]) for source in src
    ]
    return cells, found.rows


class OpportunityColumns(Sequence[Opportunity]):
    """
    The deals of a table, read and checked as ``from_table(Opportunity,
    table, ...)`` reads them (the same options, the same errors), kept as
    columns: a sequence of ``Opportunity`` built one by one as they are
    read.  Reading a big table this way makes no Python value per deal,
    so it is quicker, and lighter on Python's garbage collector, than
    building every deal at once; :func:`~funnelkit.forecast.funnel` and
    :func:`~funnelkit.forecast.backtest` read its columns directly.
    Anything else that takes deals takes it as a sequence.  Immutable;
    equal to another of the same deals.

    >>> import datetime as dt
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> deals = OpportunityColumns({
    ...     "id": ["o-1", "o-2"], "customer_id": ["c-1", "c-2"], "owner": ["ann", "bob"],
    ...     "pipeline": ["default", "default"], "stage": ["proposal", "contact"],
    ...     "created_at": [t, t], "stage_entered_at": [t, t],
    ...     "amount": ["12000", None], "amount_currency": ["EUR", None],
    ... })
    >>> deals
    OpportunityColumns(deals=2)
    >>> deals[0].amount, deals.column("stage")
    (Money('12000', 'EUR'), ('proposal', 'contact'))

    Cost: O(r * f) for r rows (at most 10,000,000) of f fields, as
    :func:`from_table`.
    """

    __slots__ = ("_fields",)

    _fields: tuple[tuple[Any, ...], ...]  # per field of Opportunity, in field order: a value per deal

    def __init__(
        self,
        table: Any,
        *,
        columns: Mapping[Any, str] | None = None,
        fill: Mapping[str, Any] | None = None,
        unknown_columns: UnknownColumns = "refuse",
        trusted: bool = False,
        progress: c.Progress | None = None,
    ) -> None:
        reader, known, src = _prepare(Opportunity, columns, fill, unknown_columns, trusted, progress, "table")
        cells, rows = _table_cells(table, known, src, unknown_columns)
        batch = batch_of(reader)
        fields = None if batch is None else batch.fields(cells, rows)
        if fields is None:  # some row is read by itself: its value or its problems, as from_table
            deals = read_columns(reader, cells, rows, progress=progress)
            fields = [list(map(operator.attrgetter(name), deals)) for name in _OPPORTUNITY_FIELDS]
        else:
            told(progress, rows)
        object.__setattr__(self, "_fields", tuple(map(tuple, fields)))

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"OpportunityColumns is immutable; cannot set {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        msg = f"OpportunityColumns is immutable; cannot delete {name!r}"
        raise AttributeError(msg)

    def column(self, name: str) -> tuple[Any, ...]:
        """
        One field of every deal, in order: ``column("stage")``.

        Cost: O(1).
        """
        at = _FIELD_INDEX.get(name) if isinstance(name, str) else None
        if at is None:
            msg = f"{c.show(name)} is not a field of Opportunity; allowed: {', '.join(_OPPORTUNITY_FIELDS)}"
            raise ValidationError.single("name", msg, code="choice")
        return self._fields[at]

    def to_frame(self) -> Any:
        """
        The deals as a ``pandas.DataFrame``, a row a deal, with the columns
        :func:`to_rows` writes (money as an amount and a ``_currency``
        column, enums as their values, tuples and sets as lists): a table
        ``OpportunityColumns`` reads back to equal deals.  Needs pandas.

        Cost: O(n * f) for n deals of f fields.
        """
        pd = required("pandas", "to_frame()")
        the_plan = plan(Opportunity)
        data: dict[str, list[Any]] = {}
        for f in the_plan.fields:
            cells = self._fields[_FIELD_INDEX[f.name]]
            if f.money:
                data[f.name] = [None if m is None else m.amount for m in cells]
                data[the_plan.currency(f)] = [None if m is None else m.currency for m in cells]
            elif any(isinstance(v, enum.Enum) for v in cells):  # an optional enum may start with None
                data[f.name] = [None if v is None else v.value for v in cells]
            elif cells and isinstance(cells[0], tuple):
                data[f.name] = list(map(list, cells))
            elif cells and isinstance(cells[0], frozenset):
                data[f.name] = [sorted(v, key=lambda x: (str(type(x)), x)) for v in cells]
            else:
                data[f.name] = list(cells)
        return pd.DataFrame(data, columns=list(data))

    def __len__(self) -> int:
        return len(self._fields[0])

    @typing.overload
    def __getitem__(self, index: int) -> Opportunity: ...

    @typing.overload
    def __getitem__(self, index: slice) -> OpportunityColumns: ...

    def __getitem__(self, index: int | slice) -> Opportunity | OpportunityColumns:
        n = len(self)
        if isinstance(index, slice):
            return _built(tuple(f[c.checked_slice(index, n)] for f in self._fields))
        i = c.checked_index(index)
        if not -n <= i < n:
            msg = f"deal {i} of {n:,}"
            raise IndexError(msg)
        return typing.cast("Opportunity", new_record(Opportunity, tuple(f[i] for f in self._fields)))

    def __iter__(self) -> Iterator[Opportunity]:
        # every value was checked as from_table checks it: the trusted builder's inputs
        return map(new_record, itertools.repeat(Opportunity), zip(*self._fields, strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpportunityColumns):
            return NotImplemented
        return self._fields == other._fields

    __hash__ = None  # type: ignore[assignment]  # equal by value, as a list: unhashable

    def __repr__(self) -> str:
        return f"OpportunityColumns(deals={len(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return _built, (self._fields,)


def _built(fields: tuple[tuple[Any, ...], ...]) -> OpportunityColumns:
    """Deals kept as columns from checked fields (see :class:`OpportunityColumns`)."""
    self = object.__new__(OpportunityColumns)
    object.__setattr__(self, "_fields", fields)
    return self


_OPPORTUNITY_FIELDS = tuple(f.name for f in attrs.fields(Opportunity))
_FIELD_INDEX = {name: i for i, name in enumerate(_OPPORTUNITY_FIELDS)}


def to_rows(entities: Iterable[Any]) -> list[dict[str, object]]:
    """
    Each entity as a flat row that :func:`from_rows` reads back to an equal
    entity: its fields by name, money as an amount and a ``_currency``
    column (both ``None`` when there is none), enums as their values,
    tuples as lists and sets as sorted lists.  ``pandas.DataFrame(to_rows(deals))``
    is a table :func:`from_table` reads back.

    Cost: O(n * f) for n entities of f fields.
    """
    c.require_iterable(entities, "entities", "entities")
    out: list[dict[str, object]] = []
    problems: list[Problem] = []
    for i, entity in enumerate(entities):
        if not any(type(entity) is t for t in ENTITY_TYPES):
            problems.append(c.wrong_type(entity, f"an entity ({_ENTITY_NAMES})").prefixed(f"entities[{i}]"))
            if len(problems) >= MAX_LISTED:
                break
            continue
        if not problems:
            out.append(_row_of(entity, plan(typing.cast("type", type(entity)))))
    if problems:
        raise ValidationError(problems)
    return out


# --- helpers ----------------------------------------------------------------------


def _row_of(entity: Any, the_plan: Plan) -> dict[str, object]:
    row: dict[str, object] = {}
    for f in the_plan.fields:
        value = getattr(entity, f.name)
        if f.money:
            row[f.name] = None if value is None else value.amount
            row[the_plan.currency(f)] = None if value is None else value.currency
        elif isinstance(value, enum.Enum):
            row[f.name] = value.value
        elif isinstance(value, tuple):
            row[f.name] = list(value)
        elif isinstance(value, frozenset):
            row[f.name] = sorted(value, key=lambda x: (str(type(x)), x))
        else:
            row[f.name] = value
    return row


def _is_table(value: object) -> bool:
    """
    Whether *value* is a table of a table library (not an iterable of rows).
    """
    kind = type(value)
    return any(
        all(getattr(kind, name, None) is not None for name in names)
        for names in (("column_names", "num_rows"), ("to_series", "height"), ("iloc", "columns", "dtypes"))
    )


def _length(rows: object) -> int | None:
    try:
        return len(rows) if isinstance(rows, list | tuple) else None
    except Exception:  # noqa: BLE001 - pragma: no cover
        return None


def _prepare(  # noqa: PLR0917 - the shared options, checked once
    cls: object,
    columns: object,
    fill: object,
    unknown_columns: object,
    trusted: object,
    progress: object,
    where: str,
) -> tuple[Reader, frozenset[Any], tuple[Any, ...]]:
    """
    The options of a read, checked up front (every problem at once), and
    the reader they make.
    """
    if not any(cls is t for t in ENTITY_TYPES):
        msg = f"{c.show(cls)} is not an entity class; expected one of {_ENTITY_NAMES}"
        raise ValidationError.single("cls", msg, code="type")
    the_plan = plan(typing.cast("type", cls))  # checked above
    problems: list[Problem] = []
    renames: dict[Any, str] = {}
    fills: dict[str, Any] = {}
    for check in (
        lambda: renames.update(check_columns(columns, the_plan.targets)),
        lambda: fills.update(_check_fill(fill, the_plan)),
        lambda: check_choice(unknown_columns, "unknown_columns"),
        lambda: check_flag(trusted, "trusted"),
        lambda: check_progress(progress),
    ):
        try:
            check()
        except ValidationError as e:
            problems.extend(e.problems)
    if problems:
        raise ValidationError(problems)
    src = sources(the_plan.targets, renames)
    reader = Reader(
        the_plan,
        shown=tuple(_column_path(s) for s in src),
        fill=fills,
        trusted=bool(trusted),
        where=where,
    )
    return reader, frozenset(src), src


def _check_fill(fill: object, the_plan: Plan, path: str = "fill") -> dict[str, Any]:
    """
    *fill*, a mapping of field name to the value that fills a blank or
    missing column, each value read and checked as the field's.
    """
    if fill is None:
        return {}
    mapping = c.to_mapping(fill, path)
    if not isinstance(mapping, Mapping):
        raise c.at(path, c.wrong_type(fill, "a mapping of field name to value, or None"))
    by_name = {f.name: f for f in the_plan.fields}
    currencies = {the_plan.currency(f) for f in the_plan.fields if f.money}
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        where = joined(path, key)
        f = by_name.get(key) if isinstance(key, str) else None
        read: object = value
        problem: Problem | list[Problem] | None
        if key in currencies:
            problem = currency_problem(value)
        elif f is None:
            msg = f"{c.show(key)} is not a field; allowed: {', '.join(the_plan.targets)}"
            problem = c.bad("choice", msg)
        elif f.money:
            problem = _amount_problem(value)
        else:
            read, problem = _fill_value(f, value)
        if problem is not None:
            found = problem if isinstance(problem, list) else [problem]
            problems.extend(p.prefixed(where) for p in found)
        else:
            out[key] = read
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return out


def _amount_problem(value: object) -> Problem | None:
    """
    The fill of a money field: Money, or ``None``.
    """
    if value is None or isinstance(value, Money):
        return None
    return c.wrong_type(value, "Money (fill the currency column alone by its name, e.g. 'amount_currency')")


def _fill_value(f: Any, value: object) -> tuple[object, Problem | list[Problem] | None]:
    """
    A fill value read and converted as the field's cells are, and its check.
    """
    try:
        if f.read is not None:
            value = f.read(value)
    except ValidationError as e:
        return value, list(e.problems)
    if f.convert is not None:
        value = f.convert(value)
    check: Callable[[Any], Any] | None = f.check
    return value, None if check is None else check(value)


def _unknown(row: Mapping[Any, Any], known: frozenset[Any], allowed: str) -> Iterator[Problem]:
    for key in sorted((k for k in row if k not in known), key=repr):
        yield Problem(
            path=_column_path(key), code="unknown_field", message=f"unknown column; allowed: {allowed}"
        )


def _column_problems(
    names: tuple[Any, ...], known: frozenset[Any], unknown_columns: object, where: str
) -> list[Problem]:
    """
    What is wrong with a table's columns as a whole: a column that appears
    twice (and is read), and unknown columns unless they are ignored.
    """
    problems = []
    seen: set[Any] = set()
    allowed = ", ".join(map(str, sorted(known, key=repr)))
    for name in names:
        path = joined(where, name)
        try:
            is_known = name in known
        except TypeError:  # an unhashable column name
            is_known = False
        if is_known and name in seen:
            msg = f"{c.show(name)} appears twice; each column may appear once"
            problems.append(Problem(path=path, code="duplicate", message=msg))
        elif not is_known and unknown_columns == "refuse":
            problems.append(
                Problem(path=path, code="unknown_field", message=f"unknown column; allowed: {allowed}")
            )
        if is_known:
            seen.add(name)
        if len(problems) >= MAX_LISTED:
            break
    return problems
