"""
Tables in: the machinery behind :mod:`funnelkit.tables` and
:func:`funnelkit.stages.events_from_history`.

A *row* is a mapping of column to cell; a *table* is read by columns
(pandas, polars and pyarrow tables, recognised by their methods, or a dict
of column name to a list of cells).  funnelkit imports no table library: a
table's columns are read as lists of plain Python values, with a cheap
conversion for the column types whose cells are slow to read one by one
(pandas' datetime and timedelta columns).

Each entity class gets a *plan* once: for every field, where its cell is,
how a cell is read (text forms, table libraries' blanks and numbers), and
its default.  Rows are then read by the class's own constructor (checked)
or built directly from their converted cells (trusted, :func:`assembler`).
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import functools
import importlib
import inspect
import itertools
import operator
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal, cast

import attrs

from . import _checks as c
from ._formats import _parse_datetime, _parse_duration
from ._money import (
    Money,
    _make,
    _new,
    _set_amount,
    _set_currency,
    amount_problem,
    currency_problem,
    to_amount,
)
from ._optional import module
from ._reading import _key_path, _structure_money
from ._records import new_record
from .errors import MAX_LISTED, Problem, ValidationError

#: What a read does with a column that no field reads: refuse it, or ignore it.
UnknownColumns = Literal["refuse", "ignore"]

#: The most rows one call reads.
MAX_ROWS: Final = 10_000_000

#: Rows read between two calls of a progress callback.
PROGRESS_EVERY: Final = 1_000


class _Missing:
    """
    A cell that a row does not have (its column is absent).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()

_BLANK_TYPES = frozenset({"NAType", "NaTType"})
#: The types of cells that are never blank (a quick test before the full one).
_SOLID = frozenset(
    {str, int, bool, dt.datetime, dt.date, dt.timedelta, Decimal, list, tuple, frozenset, Money}
)


def blank(value: object) -> bool:
    """
    Whether a cell is empty: absent, ``None``, or the missing-value markers
    of table libraries (a float NaN, pandas' ``NA`` and ``NaT``).
    """
    if value is None or value is MISSING:
        return True
    if isinstance(value, float):
        return value != value  # noqa: PLR0124 - NaN
    return type(value).__name__ in _BLANK_TYPES


# --- tables, by duck typing ---------------------------------------------------------


@attrs.frozen
class Table:
    """
    A table as funnelkit reads it: its column names, its number of rows, and
    how to read a column (by position) as a list of Python values.
    """

    names: tuple[Any, ...]
    rows: int
    read: Callable[[int], list[Any]]
    path: str  # where the table is among the arguments

    def column(self, j: int) -> list[Any]:
        """
        The cells of column *j*; a column that cannot be read is refused at
        its path.
        """
        try:
            cells = self.read(j)
        except Exception as e:  # noqa: BLE001 - another library's failure, named by its column
            msg = f"the cells of this column cannot be read ({type(e).__name__}: {c.show(str(e))[1:-1]})"
            raise ValidationError.single(joined(self.path, self.names[j]), msg, code="type") from None
        if len(cells) != self.rows:  # pragma: no cover - a table library that contradicts itself
            msg = f"has {len(cells):,} cells in {self.rows:,} rows"
            raise ValidationError.single(joined(self.path, self.names[j]), msg, code="conflict")
        return cells


def _has(value: object, *names: str) -> bool:
    kind = type(value)
    return all(getattr(kind, name, None) is not None for name in names)


def is_arrow(value: object) -> bool:
    """Whether *value* is a pyarrow ``Table`` or ``RecordBatch`` (recognised by its methods)."""
    return _has(value, "column_names", "num_rows", "column")


def is_polars(value: object) -> bool:
    """Whether *value* is a polars ``DataFrame`` (recognised by its methods)."""
    return _has(value, "to_series", "height", "columns")


def table_of(value: object, path: str) -> Table | None:
    """
    *value* as a :class:`Table` when it is one: a pyarrow ``Table`` or
    ``RecordBatch``, a polars or pandas ``DataFrame`` (recognised by their
    methods), a dict of columns, or another library's table that pyarrow
    reads through the Arrow stream protocol (when pyarrow is installed);
    ``None`` when it is not a table at all.  A table whose shape cannot be
    read is refused at *path*.
    """
    if isinstance(value, Mapping):
        return _dict_table(value, path)
    table: Any = value
    try:
        if is_arrow(table):
            return Table(
                names=tuple(table.column_names),
                rows=int(table.num_rows),
                read=lambda j: table.column(j).to_pylist(),
                path=path,
            )
        if is_polars(table):
            return Table(
                names=tuple(table.columns),
                rows=int(table.height),
                read=lambda j: table.to_series(j).to_list(),
                path=path,
            )
        if _has(table, "iloc", "columns", "dtypes") and getattr(table, "ndim", 2) == 2:  # pandas
            return Table(
                names=tuple(table.columns),
                rows=len(table),
                read=lambda j: _pandas_column(table, j),
                path=path,
            )
    except Exception as e:  # noqa: BLE001 - a table-like object that fails to say what it holds
        msg = f"{c.show(value)} looks like a table but its columns cannot be read ({type(e).__name__})"
        raise ValidationError.single(path, msg, code="type") from None
    if _has(table, "__arrow_c_stream__"):  # another library's table, through pyarrow
        pa: Any = module("pyarrow")  # an optional extra
        if pa is None:
            return None
        try:
            arrow = pa.table(table)
        except Exception:  # noqa: BLE001 - not a table after all
            return None
        return table_of(arrow, path)
    return None


def _dict_table(columns: Mapping[Any, Any], path: str) -> Table:
    """
    A dict of column name to its cells (a list, a tuple, or anything with
    ``tolist()`` such as a numpy array or a pandas Series), all as long.
    """
    cells: list[list[Any]] = []
    problems: list[Problem] = []
    for name, column in columns.items():
        listed = _listed(column)
        if listed is None:
            problems.append(
                c.wrong_type(column, "a list of cells (one per row)").prefixed(joined(path, name))
            )
            if len(problems) >= MAX_LISTED:
                break
        else:
            cells.append(listed)
    if problems:
        raise ValidationError(problems)
    first = len(cells[0]) if cells else 0
    for name, column in zip(columns, cells, strict=True):
        if len(column) != first:
            msg = f"has {len(column):,} cells; the first column has {first:,}: a column has a cell per row"
            raise ValidationError.single(joined(path, name), msg, code="conflict")
    return Table(names=tuple(columns), rows=first, read=cells.__getitem__, path=path)


def _listed(column: object) -> list[Any] | None:
    """
    A column's cells as a list, or ``None`` when it is not a column.
    """
    if isinstance(column, list | tuple):
        return list(column)
    if getattr(type(column), "tolist", None) is None or isinstance(column, str | bytes):
        return None
    try:
        listed = column.tolist()  # type: ignore[attr-defined]  # checked above
    except Exception:  # noqa: BLE001 - not a column after all
        return None
    return listed if isinstance(listed, list) else None


def _pandas_column(frame: Any, j: int) -> list[Any]:
    """
    The cells of a pandas column as Python values: datetimes in UTC as
    standard-library datetimes and durations as timedeltas (a ``Timestamp``
    or ``Timedelta`` read one by one is twenty times slower), blanks as
    ``None``; any other column through ``tolist()``.
    """
    series = frame.iloc[:, j]
    kind = getattr(series.dtype, "kind", "O")
    if kind == "M":  # datetime64, with or without a zone
        zoned = getattr(series.dt, "tz", None) is not None
        if zoned:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        values = series.to_numpy(dtype="datetime64[us]")
        if zoned:
            aware = _utc_datetimes(values)
            if aware is not None:
                return aware
        cells: list[Any] = values.astype(object).tolist()
        if zoned:
            return [None if x is None else x.replace(tzinfo=dt.UTC) for x in cells]
        return cells
    if kind == "m":  # timedelta64
        return list(series.to_numpy(dtype="timedelta64[us]").astype(object).tolist())
    return list(series.tolist())


def _utc_datetimes(values: Any) -> list[Any] | None:
    """
    A numpy ``datetime64[us]`` array of times in UTC as aware datetimes in
    UTC (``None`` for NaT), each made from the ten bytes that pickle stores
    for a datetime (year, month, day, hour, minute, second, microsecond:
    one C call per cell instead of two); ``None`` when a time falls outside
    the years 1 to 9999.
    """
    np: Any = importlib.import_module("numpy")  # a pandas column: numpy is there
    micros = values.view("int64")
    nat = np.isnat(values)
    if nat.any():
        micros = np.where(nat, 0, micros)
    days, rest = np.divmod(micros, 86_400_000_000)
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    if len(year) and (int(year.min()) < 1 or int(year.max()) > 9999):
        return None
    state = np.empty((len(micros), 10), dtype=np.uint8)
    state[:, 0], state[:, 1] = year >> 8, year & 255
    state[:, 2] = months.astype(np.int64) % 12 + 1
    state[:, 3] = (dates - months).astype(np.int64) + 1
    seconds, micro = np.divmod(rest, 1_000_000)
    state[:, 4], state[:, 5], state[:, 6] = seconds // 3600, seconds // 60 % 60, seconds % 60
    state[:, 7], state[:, 8], state[:, 9] = micro >> 16, (micro >> 8) & 255, micro & 255
    make: Callable[[bytes, dt.tzinfo], dt.datetime] = dt.datetime  # type: ignore[assignment]  # pickle's form
    states = state.view("V10").ravel().tolist()
    cells: list[dt.datetime | None] = list(map(make, states, itertools.repeat(dt.UTC)))
    for i in np.flatnonzero(nat).tolist():
        cells[i] = None
    return cells


def _column_path(name: object) -> str:
    """
    How a column appears in a problem's path: its name when it reads as a
    field name, ``['Close Date']`` for any other.
    """
    return _key_path(name)


def joined(path: str, name: object) -> str:
    """
    The path of column *name* inside the argument at *path*: ``table.stage``,
    ``table['Close Date']``.
    """
    text = _key_path(name)
    return f"{path}{text}" if text.startswith("[") else f"{path}.{text}"


# --- reading cells -----------------------------------------------------------------


def _date_problem(value: dt.datetime) -> ValidationError:
    msg = (
        f"{c.show(value)} is a datetime; expected a date (a datetime without a zone at midnight, "
        "as a table library holds a date, reads as that date)"
    )
    return ValidationError.single("", msg, code="type")


def read_datetime(cell: Any) -> Any:
    """
    A datetime cell: ISO 8601 text parsed (it must carry its UTC offset);
    a pandas ``Timestamp`` as a standard-library datetime; anything else as
    it is, for the field's check.
    """
    kind = type(cell)
    if kind is dt.datetime:
        return cell
    if isinstance(cell, str):
        return _parse_datetime(cell)
    if isinstance(cell, dt.datetime):
        to_datetime = getattr(kind, "to_pydatetime", None)  # pandas' Timestamp
        if to_datetime is not None:
            try:
                return to_datetime(cell, warn=False)
            except Exception:  # noqa: BLE001 - read as it is: the check reports it
                return cell
    return cell


def read_date(cell: Any) -> Any:
    """
    A date cell: ISO 8601 text (``2026-03-31``) parsed; a datetime without
    a zone at midnight (how pandas, pyarrow and CSV readers hold a date) as
    its date; another datetime refused; anything else as it is.
    """
    kind = type(cell)
    if kind is dt.date:
        return cell
    if isinstance(cell, str):
        try:
            parsed = dt.date.fromisoformat(cell) if len(cell) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            msg = f"{c.show(cell)} is not an ISO 8601 date such as '2026-03-31'"
            raise ValidationError.single("", msg, code="format")
        return parsed
    if isinstance(cell, dt.datetime):
        midnight = (cell.hour, cell.minute, cell.second, cell.microsecond) == (0, 0, 0, 0)
        if cell.tzinfo is None and midnight and not getattr(cell, "nanosecond", 0):
            return dt.date(cell.year, cell.month, cell.day)
        raise _date_problem(cell)
    return cell


def read_duration(cell: Any) -> Any:
    """
    A duration cell: ISO 8601 text (``PT30M``) parsed; a pandas
    ``Timedelta`` as a plain timedelta; anything else as it is.
    """
    kind = type(cell)
    if kind is dt.timedelta:
        return cell
    if isinstance(cell, str):
        return _parse_duration(cell)
    if isinstance(cell, dt.timedelta):
        return dt.timedelta(days=cell.days, seconds=cell.seconds, microseconds=cell.microseconds)
    return cell


def read_int(cell: Any) -> Any:
    """
    An integer cell: a whole float as an int (pandas holds an integer
    column with blanks as floats: ``3.0``); anything else as it is.
    """
    if type(cell) is int:
        return cell
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    return cell


def read_items(cell: Any) -> Any:
    """
    A cell holding a collection: a numpy array (or anything else with
    ``tolist()``) as a list; anything else as it is.
    """
    if type(cell) in _COLLECTIONS or isinstance(cell, str | bytes | Mapping):
        return cell
    tolist = getattr(type(cell), "tolist", None)
    if tolist is not None:
        try:
            return cell.tolist()
        except Exception:  # noqa: BLE001 - read as it is: the check reports it
            return cell
    return cell


_COLLECTIONS = (list, tuple, set, frozenset)


def read_tuple(cell: Any) -> Any:
    """
    A cell holding an ordered collection: a list (or a numpy array) as a
    tuple; anything else as it is.
    """
    if type(cell) is tuple:
        return cell
    cell = read_items(cell)
    return tuple(cell) if type(cell) is list else cell


def read_set(cell: Any) -> Any:
    """
    A cell holding an unordered collection: a list, tuple or set (or a
    numpy array) of hashable items as a frozenset; anything else as it is.
    """
    if type(cell) is frozenset:
        return cell
    cell = read_items(cell)
    if type(cell) in _COLLECTIONS:
        try:
            return frozenset(cell)
        except TypeError:  # unhashable items: the check reports them
            return cell
    return cell


def _enum_reader(enum_cls: type[enum.Enum]) -> Callable[[Any], Any]:
    """
    A cell holding an enum member or its value (a str): as the member.
    """
    members = {m.value: m for m in enum_cls}

    def read(cell: Any) -> Any:
        return members.get(cell, cell) if type(cell) is str else cell

    return read


def _nested_reader(hint: Any) -> Callable[[Any], Any]:
    """
    A cell holding values of a funnelkit class (an opportunity's gaps): its
    items read as documents where they are mappings.
    """

    def read(cell: Any) -> Any:
        cell = read_items(cell)
        if isinstance(cell, list | tuple) and any(isinstance(x, Mapping) for x in cell):
            from .documents import _default  # the converter knows the values; they do not know it

            return _default().get_structure_hook(hint)(list(cell), hint)
        return tuple(cell) if type(cell) is list else cell

    return read


def _float_amount(value: float) -> Problem:
    msg = (
        f"{value!r} is a float; money refuses floats because they are inexact: read the column as text "
        "(pandas: dtype={'amount': str}) or as decimals"
    )
    return c.bad("type", msg)


# --- the plan of a class ----------------------------------------------------------


@attrs.frozen
class Field:
    """
    How one field of an entity is read from a row.
    """

    name: str  # the attrs field, and the column it reads by default
    alias: str  # its keyword in the constructor
    index: int  # its position among the class's fields
    required: bool
    default: Any
    read: Callable[[Any], Any] | None  # a cell as the field's value, before the field's converter
    convert: Callable[[Any], Any] | None  # the field's own converter (the trusted path runs it)
    final: frozenset[type]  # the types the converter leaves as they are
    check: Callable[[Any], Any] | None  # the field's own check (run on fill values up front)
    money: bool  # a Money field: its amount in this column, its currency in name + "_currency"


@attrs.frozen
class Plan:
    """
    How rows become values of *cls*: one :class:`Field` per field, and the
    targets (the column names the class reads, currency columns included).
    """

    cls: type
    fields: tuple[Field, ...]
    targets: tuple[str, ...]
    build: Callable[[list[Any]], Any]

    def currency(self, f: Field) -> str:
        """
        The target of the currency of Money field *f*.
        """
        return f"{f.name}_currency"


def _strip_optional(hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return hint


def _reader(hint: Any) -> tuple[Callable[[Any], Any] | None, bool]:
    """
    The cell reader for a field of type *hint*, and whether it is money.
    """
    base = _strip_optional(hint)
    if base is Money:
        return None, True
    simple: dict[Any, Callable[[Any], Any]] = {
        dt.datetime: read_datetime,
        dt.date: read_date,
        dt.timedelta: read_duration,
        int: read_int,
    }
    if base in simple:
        return simple[base], False
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return _enum_reader(base), False
    origin = typing.get_origin(base)
    if origin in (tuple, frozenset):
        items = [a for a in typing.get_args(base) if a is not Ellipsis]
        if any(attrs.has(a) for a in items if isinstance(a, type)):
            return _nested_reader(base), False
        return (read_tuple if origin is tuple else read_set), False
    return None, False


def _final(hint: Any) -> frozenset[type]:
    """
    The types of a field's values that its converter leaves as they are
    (a datetime is always converted: to UTC).
    """
    base = _strip_optional(hint)
    kinds: set[type] = {type(None)} if base is not hint else set()
    origin = typing.get_origin(base) or base
    if isinstance(origin, type) and origin is not dt.datetime:
        kinds.add(origin)
    return frozenset(kinds)


def _plain_converter(f: attrs.Attribute[Any]) -> Callable[[Any], Any] | None:
    converter = f.converter
    if converter is None:
        return None
    inner = getattr(converter, "converter", None)  # attrs.Converter
    if inner is not None:
        if getattr(converter, "takes_self", False) or getattr(converter, "takes_field", False):
            msg = f"the converter of {f.name!r} needs the instance; rows cannot be read trusted"
            raise TypeError(msg)
        return typing.cast("Callable[[Any], Any]", inner)
    return typing.cast("Callable[[Any], Any]", converter)


@functools.cache
def plan(cls: type) -> Plan:
    """
    How rows become values of *cls* (an attrs class), built once.
    """
    hints = typing.get_type_hints(cls)
    checks = dict(c.field_checks(cls))
    fields = []
    targets: list[str] = []
    for i, f in enumerate(attrs.fields(cls)):
        read, money = _reader(hints[f.name])
        default = f.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]  # a Factory instance
            default = default.factory()  # no funnelkit entity has one
        fields.append(
            Field(
                name=f.name,
                alias=f.alias,
                index=i,
                required=f.default is attrs.NOTHING,
                default=default,
                read=read,
                convert=_plain_converter(f),
                final=_final(hints[f.name]),
                check=checks.get(f.name),
                money=money,
            )
        )
        targets.append(f.name)
        if money:
            targets.append(f"{f.name}_currency")
    return Plan(cls=cls, fields=tuple(fields), targets=tuple(targets), build=assembler(cls))


def assembler(cls: type) -> Callable[[list[Any]], Any]:
    """
    How to make a *cls* from its field values, in field order, without its
    converters or checks: the one place that knows how an entity is stored.
    A record (see ``funnelkit._records``) is one tuple; an attrs slots class
    gets its slots set directly.  The trusted path builds every value here.
    """
    if issubclass(cls, tuple):  # a record

        def record(values: list[Any]) -> Any:
            return new_record(cls, values)

        return record
    setters = [cls.__dict__[f.name].__set__ for f in attrs.fields(typing.cast("Any", cls))]
    new = object.__new__

    def slots(values: list[Any]) -> Any:
        obj = new(cls)
        for set_slot, value in zip(setters, values, strict=True):
            set_slot(obj, value)
        return obj

    return slots


# --- reading rows ------------------------------------------------------------------

_HEAD = re.compile(r"[^.\[]*")


def _by_path(problem: Problem) -> str:
    return problem.path


_REQUIRED = Problem(path="", code="missing", message="missing; this column is required")
_NO_CURRENCY = Problem(path="", code="missing", message="missing; an amount needs its currency")


class Reader:
    """
    Reads rows of cells (in the plan's target order) into values of the
    plan's class, collecting the problems of each row at ``where[i].column``;
    reading stops once :data:`~funnelkit.errors.MAX_LISTED` problems are found.

    A blank cell takes the fill value, else the field's default (a
    required field has none: a problem).  The checked path hands the
    fields to the class's constructor; the trusted path runs each field's
    converter (where the value is not already of a type it keeps) and
    builds the value with :func:`assembler`.
    """

    def __init__(
        self,
        the_plan: Plan,
        *,
        shown: tuple[str, ...],
        fill: Mapping[str, Any],
        trusted: bool,
        where: str,
    ) -> None:
        self.where = where
        self.shown = shown  # per target: how its column appears in a path
        self.problems: list[Problem] = []
        index = {t: j for j, t in enumerate(the_plan.targets)}
        self.column_of = {f.name: index[f.name] for f in the_plan.fields}
        steps = [
            (
                index[f.name],
                f.index,
                f.read,
                f.convert if trusted else None,
                f.final,
                fill.get(f.name, MISSING if f.required else f.default),
            )
            for f in the_plan.fields
            if not f.money
        ]
        # the fields read as they are (text): a quicker loop
        self.plain = tuple(
            (j, k, fallback) for j, k, read, convert, _, fallback in steps if read is convert is None
        )
        self.steps = tuple(step for step in steps if step[2] is not None or step[3] is not None)
        self.money = tuple(
            (
                f.index,
                index[f.name],
                index[the_plan.currency(f)],
                fill.get(f.name, MISSING if f.required else f.default),
                fill.get(the_plan.currency(f), MISSING),
            )
            for f in the_plan.fields
            if f.money
        )
        self.trusted = trusted
        self.aliases = tuple(f.alias for f in the_plan.fields)
        self.names = tuple(f.name for f in the_plan.fields)
        self.converters = tuple(f.convert for f in the_plan.fields)
        self.defaults = [f.default for f in the_plan.fields]
        self.cls = the_plan.cls
        self.build = the_plan.build
        self.plan = the_plan
        self.fill = dict(fill)

    @property
    def full(self) -> bool:
        """
        Whether enough problems were found to stop reading.
        """
        return len(self.problems) >= MAX_LISTED

    def _at(self, i: int, j: int, problem: Problem) -> Problem:
        return problem.prefixed(self.shown[j]).prefixed(f"{self.where}[{i}]")

    def add(self, problems: Iterable[Problem]) -> None:
        """
        Record *problems*, up to MAX_LISTED in all.
        """
        room = MAX_LISTED - len(self.problems)
        self.problems.extend(itertools.islice(problems, max(room, 0)))

    def row(self, cells: tuple[Any, ...] | list[Any], i: int) -> Any:
        """
        The value that row *i* holds, or ``None`` with its problems recorded.
        """
        values = self.defaults[:]
        bad: list[Problem] = []
        for j, k, fallback in self.plain:
            cell = cells[j]
            if cell.__class__ is str or not blank(cell):
                values[k] = cell
            elif fallback is MISSING:
                bad.append(self._at(i, j, _REQUIRED))
            else:
                values[k] = fallback
        for j, k, read, convert, final, fallback in self.steps:
            cell = cells[j]
            if cell.__class__ not in _SOLID and blank(cell):
                if fallback is MISSING:
                    bad.append(self._at(i, j, _REQUIRED))
                else:
                    values[k] = fallback
                continue
            if read is not None:
                try:
                    cell = read(cell)
                except ValidationError as e:
                    bad.extend(self._at(i, j, p) for p in e.problems)
                    continue
            if convert is not None and cell.__class__ not in final:
                cell = convert(cell)
            values[k] = cell
        for k, ja, jc, fallback, fill_currency in self.money:
            found = self._money(cells[ja], cells[jc], i, ja, jc, fallback, fill_currency, bad)
            if found is not MISSING:
                values[k] = found
        if bad:
            found = bad if self.trusted else [*bad, *self._checked_too(values, i)]
            self.add(sorted(found, key=_by_path))
            return None
        if self.trusted:
            return self.build(values)
        try:
            return self.cls(**dict(zip(self.aliases, values, strict=True)))
        except ValidationError as e:
            self.add([self._relocated(i, p) for p in e.problems])
            return None

    def _money(  # noqa: PLR0917 - one money field's cells and fills
        self,
        amount: Any,
        currency: Any,
        i: int,
        ja: int,
        jc: int,
        fallback: Any,
        fill_currency: Any,
        bad: list[Problem],
    ) -> Any:
        """
        The Money that an amount cell and a currency cell hold (the
        currency column may be left out when the amount cell holds Money),
        or MISSING when the field is blank; problems go to *bad*.
        """
        if currency.__class__ is not str and blank(currency):
            currency = fill_currency
        kind = amount.__class__
        if kind is str or kind is Decimal or kind is int:
            if currency is MISSING:
                bad.append(self._at(i, jc, _NO_CURRENCY))
                return MISSING
            number = c.parse_decimal(amount) if kind is str else to_amount(amount)
            if self.trusted:
                if number.__class__ is not Decimal:
                    problem = amount_problem(amount) or c.wrong_type(amount, "a decimal amount")
                    bad.append(self._at(i, ja, problem))
                    return MISSING
                return _make(number, currency)
            if (
                number.__class__ is Decimal
                and amount_problem(number) is None
                and currency.__class__ is str
                and currency_problem(currency) is None
            ):
                return _make(number, currency)  # Money's own checks passed: built as Money builds it
            try:
                return Money(amount=amount, currency=currency)
            except ValidationError as e:
                for p in e.problems:
                    column, where = (jc, "currency") if p.path.startswith("currency") else (ja, "amount")
                    moved = Problem(path=p.path.removeprefix(where), code=p.code, message=p.message)
                    bad.append(self._at(i, column, moved))
                return MISSING
        if blank(amount):
            if fallback is MISSING:
                bad.append(self._at(i, ja, _REQUIRED))
            return fallback
        integer = c.as_int(amount)  # another library's integer (numpy)
        if integer is not None:
            return self._money(integer, currency, i, ja, jc, fallback, fill_currency, bad)
        return self._money_value(amount, currency, i, ja, jc, bad)

    def _money_value(  # noqa: PLR0917 - one money field's cells
        self, amount: Any, currency: Any, i: int, ja: int, jc: int, bad: list[Problem]
    ) -> Any:
        """
        An amount cell that is not a plain number: Money itself, a document
        (``{"amount": ..., "currency": ...}``), or a problem.
        """
        if isinstance(amount, Money):
            if currency is not MISSING and currency != amount.currency:
                msg = f"{c.show(currency)} is not the currency of {c.show(amount)}"
                bad.append(self._at(i, jc, c.bad("conflict", msg)))
            return amount
        if isinstance(amount, Mapping):
            try:
                return _structure_money(amount, Money)
            except ValidationError as e:
                bad.extend(self._at(i, ja, p) for p in e.problems)
                return MISSING
        if isinstance(amount, float):
            bad.append(self._at(i, ja, _float_amount(amount)))
        elif isinstance(amount, str):  # a str subclass (numpy's): as the str it is
            return self._money(str(amount), currency, i, ja, jc, MISSING, MISSING, bad)
        else:
            expected = "an amount: a str such as '12.30', an int or a Decimal"
            bad.append(self._at(i, ja, c.wrong_type(amount, expected)))
        return MISSING

    def _checked_too(self, values: list[Any], i: int) -> list[Problem]:
        """
        The problems of the fields of a row that did read, when others did
        not (the constructor is not called then): every problem at once.
        """
        present = {}
        for name, convert, value in zip(self.names, self.converters, values, strict=True):
            if value is not attrs.NOTHING:
                present[name] = value if convert is None else convert(value)
        return [self._relocated(i, p) for p in c.field_problems(self.cls, present)]

    def _relocated(self, i: int, problem: Problem) -> Problem:
        """
        A problem the constructor found at a field, at that field's column.
        """
        head = _HEAD.match(problem.path)
        name = head.group(0) if head else ""
        j = self.column_of.get(name)
        if j is None:
            return problem.prefixed(f"{self.where}[{i}]")
        moved = Problem(
            path=problem.path[len(name) :].removeprefix("."), code=problem.code, message=problem.message
        )
        return self._at(i, j, moved)


# --- many rows at once -------------------------------------------------------------
#
# A record class (see funnelkit._records) whose constructor is compiled builds a row at once when
# every value passes its field's fast test and the cross-field rules hold.  A batch does the same
# for many rows, column by column: each column's cells are read as Reader.row reads them (a value
# that repeats once per distinct value), tested with the same fast tests, and the rows whose every
# value passed are built with new_record, as the compiled constructor builds them.  Any other row
# (a blank in a required column, a value to convert or refuse, a broken rule) is read by
# Reader.row, so that its value or its problems are exactly those of the row-by-row path.

#: Rows a batch reads at once (without a progress callback; with one, PROGRESS_EVERY).
BATCH_ROWS: Final = 16 * PROGRESS_EVERY

_SLOW: Final[Any] = _Missing()  # a value that its row must read one by one
_DEDUP_KINDS = (frozenset({str, type(None), float, _Missing}), frozenset({int, type(None), float, _Missing}))
#: The readers that return a cell of this exact type as it is.
_KEPT_BY: Final[dict[Any, type]] = {
    read_datetime: dt.datetime,
    read_date: dt.date,
    read_duration: dt.timedelta,
    read_int: int,
    read_tuple: tuple,
    read_set: frozenset,
}
#: The readers that read every cell of these exact types as one type's constructor does.
_MADE_BY: Final[dict[Any, tuple[frozenset[type], type]]] = {
    read_tuple: (frozenset({list, tuple}), tuple),
    read_set: (frozenset({list, tuple, set, frozenset}), frozenset),
}
_NONE_TYPE = type(None)


def _never_blank(kind: type) -> bool:
    """
    Whether no cell of exact type *kind* is blank (see :func:`blank`).
    """
    return not (
        kind is _NONE_TYPE or kind is _Missing or issubclass(kind, float) or kind.__name__ in _BLANK_TYPES
    )


@functools.cache
def _fast_tests(cls: type) -> tuple[tuple[Callable[[Any], Any], Callable[[Any], list[int]]], ...] | None:
    """
    Per field of the record class *cls*, in order, its check's fast test
    (see ``_checks.FastTest``) as a function of one value, and as a function
    of a sequence of values that returns the positions where it fails;
    ``None`` unless *cls* is a record whose constructor is compiled from
    these tests (see ``funnelkit._records``).
    """
    made = getattr(getattr(cls, "__new__", None), "__code__", None)
    if not issubclass(cls, tuple) or not getattr(made, "co_filename", "").startswith(
        "<funnelkit compiled constructor"
    ):
        return None
    names: dict[str, Any] = {}

    def const(value: object) -> str:
        key = f"_fk_c{len(names)}"
        names[key] = value
        return key

    src: list[str] = []
    fields = attrs.fields(typing.cast("Any", cls))
    for k, f in enumerate(fields):
        test = c.fast_test(f.metadata.get("funnelkit_check"))
        if test is None:  # pragma: no cover - the compiled constructor has a test for every field
            return None
        expr = test("_fk_v", const)
        src += [
            f"def _fk_one_{k}(_fk_v):",
            f"    return {expr}",
            f"def _fk_many_{k}(_fk_cells):",
            f"    return [_fk_i for _fk_i, _fk_v in enumerate(_fk_cells) if not ({expr})]",
        ]
    compiled = compile("\n".join(src), f"<funnelkit fast tests of {cls.__name__}>", "exec")
    exec(compiled, names)  # noqa: S102 - source built here from the checks' own fast tests
    return tuple((names[f"_fk_one_{k}"], names[f"_fk_many_{k}"]) for k in range(len(fields)))


def batch_of(reader: Reader) -> Batch | None:
    """
    The batch that reads rows for *reader*, or ``None`` when its class is
    read row by row only.
    """
    tests = _fast_tests(reader.cls)
    return None if tests is None else Batch(reader, tests)


class Batch:
    """
    Reads many rows of a record class at once, column by column (see the
    comment above).
    """

    def __init__(
        self, reader: Reader, tests: tuple[tuple[Callable[[Any], Any], Callable[[Any], list[int]]], ...]
    ) -> None:
        self.reader = reader
        the_plan = reader.plan
        index = {t: j for j, t in enumerate(the_plan.targets)}
        fill = reader.fill
        self.plain: list[
            tuple[int, int, Any, Any, Callable[[Any], Any], Callable[[Any], list[int]], Any]
        ] = []
        self.money: list[tuple[int, int, int, Any, Any, Callable[[Any], Any]]] = []
        for f in the_plan.fields:
            one, many = tests[f.index]
            fallback = fill.get(f.name, MISSING if f.required else f.default)
            if f.money:
                currency = the_plan.currency(f)
                self.money.append(
                    (f.index, index[f.name], index[currency], fallback, fill.get(currency, MISSING), one)
                )
            else:
                bulk = _bulk_test(f.check)
                self.plain.append((f.index, index[f.name], f.read, fallback, one, many, bulk))
        self.width = len(the_plan.fields)
        self.cls = the_plan.cls
        relations = getattr(the_plan.cls, "_relations", None)
        self.relations: Callable[[Any], Any] | None = None if reader.trusted else relations
        #: The rows that break the rules, found from the columns by the class (see Opportunity._breaking).
        self.breaking: Callable[[Callable[[str], Sequence[Any]]], Iterable[Any]] | None = (
            None if self.relations is None else getattr(the_plan.cls, "_breaking", None)
        )
        self.field_index = {f.name: f.index for f in the_plan.fields}

    def read(self, columns: typing.Sequence[Any], n: int) -> tuple[list[Any], list[int]]:
        """
        The values of *n* rows whose cells *columns* hold (per target of the
        plan: a sequence of *n* cells, or ``None`` for a column the rows do
        not have), and the positions of the rows to read one by one (their
        places in the values hold nothing meaningful).
        """
        found = self._by_field(columns, n)
        if found is None:
            return [None] * n, list(range(n))
        by_field, slow = found
        broken = self._breaking(by_field, n) if not slow else None
        values = list(map(new_record, itertools.repeat(self.cls, n), zip(*by_field, strict=False)))
        if self.relations is not None:
            slow.update(_broken(self.relations, values, slow) if broken is None else broken)
        return values, sorted(slow)

    def fields(self, columns: typing.Sequence[Any], n: int) -> list[list[Any]] | None:
        """
        The values of *n* rows field by field (a list of *n* values per
        field, in field order), when every row is fine as it is; ``None``
        when some row must be read by itself (a problem, or a cell to
        convert), or the rows' cross-field rules cannot be read by columns.
        """
        found = self._by_field(columns, n)
        if found is None or found[1]:
            return None
        by_field = found[0]
        if self.relations is not None and self._breaking(by_field, n) != []:
            return None
        return [cells if isinstance(cells, list) else list(cells) for cells in by_field]

    def _by_field(self, columns: typing.Sequence[Any], n: int) -> tuple[list[Any], set[int]] | None:
        """
        Each field's values (a sequence of *n*), and the rows to read one by
        one; ``None`` when every row is.
        """
        by_field: list[Any] = [None] * self.width
        slow: set[int] = set()
        for k, j, read, fallback, one, many, bulk in self.plain:
            got = _column(columns[j], n, read, fallback, one, many, bulk=bulk)
            if got is None:
                return None
            by_field[k], bad = got
            slow.update(bad)
        for k, ja, jc, fallback, fill_currency, one in self.money:
            got = self._money_column(columns[ja], columns[jc], n, ja, jc, fallback, fill_currency, one)
            if got is None:
                return None
            by_field[k], bad = got
            slow.update(bad)
        return by_field, slow

    def _breaking(self, by_field: list[Any], n: int) -> list[int] | None:
        """
        The positions of the rows (every field of each fine) that break the
        class's cross-field rules, found by its ``_breaking`` from the
        columns; ``None`` when it has none or it fails (each row is then
        checked by itself).
        """
        if self.breaking is None:
            return None
        index = self.field_index

        def column(name: str) -> Sequence[Any]:
            k = index[name]
            cells = by_field[k]
            if not isinstance(cells, list | tuple):  # a repeated fill: made a list, read twice
                cells = by_field[k] = list(cells)
            return cast("Sequence[Any]", cells)

        try:
            return list(itertools.compress(range(n), self.breaking(column)))
        except Exception:  # noqa: BLE001 - each row checked by itself, as without it
            return None

    def _money_column(  # noqa: PLR0917 - one money field's columns and fills
        self,
        amounts: typing.Sequence[Any] | None,
        currencies: typing.Sequence[Any] | None,
        n: int,
        ja: int,
        jc: int,
        fallback: Any,
        fill_currency: Any,
        one: Callable[[Any], Any],
    ) -> tuple[Any, list[int]] | None:
        """
        A money field's values from its amount and currency columns, each
        distinct pair read once by :meth:`Reader._money`, and the positions
        whose value is not fine; ``None`` when no row is.
        """
        money = self.reader._money  # noqa: SLF001 - the row-by-row reading of one pair, reused

        def value(amount: Any, currency: Any) -> Any:
            bad: list[Problem] = []
            try:
                found = money(amount, currency, 0, ja, jc, fallback, fill_currency, bad)
                return _SLOW if bad or not one(found) else found
            except Exception:  # noqa: BLE001 - the row-by-row path meets it again and reports it as it does
                return _SLOW

        if amounts is None and currencies is None:
            found = value(MISSING, MISSING)
            return None if found is _SLOW else (itertools.repeat(found, n), [])
        amounts = [MISSING] * n if amounts is None else amounts
        currencies = [MISSING] * n if currencies is None else currencies
        once = _distinct(amounts)
        codes = _distinct(currencies)
        if once is None or codes is None:
            values = list(map(value, amounts, currencies))
            return values, [i for i, v in enumerate(values) if v is _SLOW]
        single = len(codes) == 1  # one currency (or none): keyed by the amount alone
        keys = amounts if single else list(zip(amounts, currencies, strict=True))
        by_code: dict[Any, list[Any]] = {}
        if single:
            by_code[next(iter(codes))] = list(once)
        else:
            for amount, code in set(keys):
                by_code.setdefault(code, []).append(amount)
        table: dict[Any, Any] = {}
        for code, group in by_code.items():
            made = _made_money(group, code, one) or [value(amount, code) for amount in group]
            table.update(zip(group if single else zip(group, itertools.repeat(code)), made, strict=True))
        values = list(map(table.__getitem__, keys))
        if not any(v is _SLOW for v in table.values()):
            return values, []
        return values, [i for i, v in enumerate(values) if v is _SLOW]


def _made_money(amounts: list[Any], code: Any, one: Callable[[Any], Any]) -> list[Money] | None:
    """
    The Money of each amount (distinct ints and str) in the currency
    *code*, made at once as :meth:`Reader._money` makes each (checked or
    trusted alike: the amount read as a Decimal, then ``_make``) when the
    currency is known and every amount passes Money's check; ``None``
    otherwise.  An int's check is its number of digits: the smallest and
    the largest are enough.
    """
    if not amounts or code.__class__ is not str or currency_problem(code) is not None:
        return None
    kinds = set(map(type, amounts))
    if kinds == {int}:
        low, high = Decimal(min(amounts)), Decimal(max(amounts))
        if amount_problem(low) is not None or amount_problem(high) is not None:
            return None
        numbers = list(map(Decimal, amounts))
    elif kinds == {str}:
        parsed = _decimals(amounts)
        if parsed is None or any(p is not None for p in map(amount_problem, parsed)):
            return None
        numbers = parsed
    else:
        return None
    made = list(map(_new, itertools.repeat(Money, len(numbers))))  # each as _make makes it
    collections.deque(map(_set_amount, made, numbers), 0)
    collections.deque(map(_set_currency, made, itertools.repeat(code)), 0)
    return made if one(made[0]) else None


def _decimals(texts: list[str]) -> list[Decimal] | None:
    """
    The Decimal that each text writes when every one is what
    :func:`funnelkit._checks.parse_decimal` reads (plain ASCII notation, at
    most 200 characters), matched all at once; ``None`` otherwise.
    """
    joined = "\n".join(texts)  # no number holds a line break: one match per text
    if max(map(len, texts)) > 200 or joined.count("\n") != len(texts) - 1:
        return None
    return list(map(Decimal, texts)) if _DECIMALS.fullmatch(joined) else None


_DECIMALS = re.compile(rf"(?:{c._DECIMAL.pattern})(?:\n(?:{c._DECIMAL.pattern}))*")  # noqa: SLF001 - its own


def _distinct(cells: typing.Sequence[Any]) -> set[Any] | None:
    """
    The distinct cells of a column, when a cell equal to another always
    reads as it does (str or int cells, blanks; a float only when NaN);
    ``None`` otherwise.
    """
    kinds = set(map(type, cells))
    if not (kinds <= _DEDUP_KINDS[0] or kinds <= _DEDUP_KINDS[1]):
        return None
    distinct = set(cells)
    if float in kinds and any(type(v) is float and v == v for v in distinct):  # noqa: PLR0124 - NaN
        return None
    return distinct


def _column(  # noqa: PLR0917 - one field's column, reader, fallback and tests
    cells: typing.Sequence[Any] | None,
    n: int,
    read: Callable[[Any], Any] | None,
    fallback: Any,
    one: Callable[[Any], Any],
    many: Callable[[Any], list[int]],
    *,
    bulk: tuple[type, Callable[[Any], bool]] | None,
) -> tuple[Any, list[int]] | None:
    """
    A field's values from its column's cells, read as :meth:`Reader.row`
    reads them, and the positions whose value is not fine (to read one by
    one); ``None`` when no row is.  *bulk*, when given, is a type and a
    test of a whole column of cells of that exact type (see :data:`_BULK_TESTS`).
    """

    def value(cell: Any) -> Any:
        try:
            if cell.__class__ is not str and blank(cell):
                if fallback is MISSING:
                    return _SLOW
                cell = fallback
            elif read is not None:
                cell = read(cell)
            return cell if one(cell) else _SLOW
        except Exception:  # noqa: BLE001 - the row-by-row path meets it again and reports it as it does
            return _SLOW

    kinds: set[type] = set(map(type, cells)) if cells is not None else {_Missing}
    if kinds == {_Missing}:  # a column the rows do not have
        found = value(MISSING)
        return None if found is _SLOW else (itertools.repeat(found, n), [])
    cells = typing.cast("typing.Sequence[Any]", cells)
    try:
        at_once = _at_once(cells, kinds, read, many, bulk)
    except Exception:  # noqa: BLE001 - read cell by cell below
        at_once = None
    if at_once is not None:
        return at_once
    distinct = _distinct(cells)
    if distinct is not None:
        table = {cell: value(cell) for cell in distinct}
        if all(v is k for k, v in table.items()):
            return cells, []
        values = list(map(table.__getitem__, cells))
        if not any(v is _SLOW for v in table.values()):
            return values, []
    else:
        values = list(map(value, cells))
    return values, [i for i, v in enumerate(values) if v is _SLOW]


def _at_once(
    cells: typing.Sequence[Any],
    kinds: set[type],
    read: Callable[[Any], Any] | None,
    many: Callable[[Any], list[int]],
    bulk: tuple[type, Callable[[Any], bool]] | None,
) -> tuple[Any, list[int]] | None:
    """
    A field's values and the positions whose value is not fine, read
    without a call per cell, when its cells allow: every cell its own value
    (tested at once, once per distinct str or int), or a collection per
    cell that one C call makes (a list as a tuple); ``None`` otherwise.
    """
    kept = _KEPT_BY.get(read)
    if kinds == {kept} if read is not None else all(map(_never_blank, kinds)):
        once = _fewer(cells) if len(kinds) == 1 and (str in kinds or int in kinds) else cells
        if (bulk is not None and kinds == {bulk[0]} and bulk[1](once)) or not many(once):
            return cells, []
        return cells, many(cells)
    made = _MADE_BY.get(read)
    if made is None or not kinds <= made[0]:
        return None
    values = list(map(made[1], cells))  # unhashable items in a set: TypeError, read cell by cell
    if bulk is not None and bulk[0] is made[1] and bulk[1](values):
        return values, []
    items = set(map(type, itertools.chain.from_iterable(values)))
    if (items <= {str} or items <= {int}) and not many(_fewer(values)):
        return values, []
    return values, many(values)


def _fewer(cells: typing.Sequence[Any]) -> typing.Sequence[Any]:
    """
    The distinct cells of a column of hashable cells when they repeat (its
    first 1,024 cells have at most half as many distinct values), else the
    cells themselves (in their order: quicker to visit).
    """
    head = cells[:1024]
    return list(set(cells)) if len(set(head)) * 2 <= len(head) else cells


def _identifiers(values: typing.Sequence[str]) -> bool:
    """
    Whether every str of *values* is an id, by the rules of
    :func:`funnelkit._checks.identifier` applied to all at once: non-empty,
    at most ``MAX_ID_LENGTH`` characters, stripped, printable.
    """
    return (
        min(map(len, values), default=1) >= 1
        and max(map(len, values), default=0) <= c.MAX_ID_LENGTH
        and all(map(str.isprintable, values))
        and list(map(str.strip, values)) == list(values)
    )


def _utc_times(values: typing.Sequence[dt.datetime]) -> bool:
    """
    Whether every datetime of *values* is in UTC (``tzinfo`` is
    ``datetime.UTC``): the fast test of
    :func:`funnelkit._checks.aware_datetime`, applied to all at once.
    """
    return all(map(operator.is_, map(_TZINFO, values), itertools.repeat(dt.UTC)))


_TZINFO = operator.attrgetter("tzinfo")


def _names(values: typing.Sequence[str]) -> bool:
    """
    Whether every str of *values* is a name: the fast test of
    :func:`funnelkit._checks.name` (not empty, not blank), applied to all at once.
    """
    return all(values) and not any(map(str.isspace, values))


#: Checks (by identity) that a column of values of one exact type can pass at once, quicker than
#: value by value, and that column test; held to the checks by the property tests.
_BULK_TESTS: Final[dict[Any, tuple[type, Callable[[Any], bool]]]] = {
    c.identifier: (str, _identifiers),
    c.aware_datetime: (dt.datetime, _utc_times),
    c.name: (str, _names),
}


def _bulk_test(check: object) -> tuple[type, Callable[[Any], bool]] | None:
    """
    The test of a whole column of values of one exact type that *check* (a
    field's check) passes at once: one of :data:`_BULK_TESTS`, or for
    ``_checks.items(inner, tuple or frozenset, unique=...)`` of such an
    inner check of str, its items tested together as the fast test of
    ``items`` tests them (every item of the exact type, and no item twice
    in a tuple that must be unique); ``None`` for any other check.
    """
    found = _BULK_TESTS.get(check)
    if found is not None or getattr(check, "__qualname__", None) != "items.<locals>.check_items":
        return found
    try:
        bound = inspect.getclosurevars(typing.cast("Callable[..., Any]", check)).nonlocals
    except (TypeError, ValueError):  # pragma: no cover - not the closure it is named after
        return None
    inner, kind, unique = _BULK_TESTS.get(bound.get("check")), bound.get("kind"), bound.get("unique")
    if inner is None or inner[0] is not str or kind not in {tuple, frozenset} or type(unique) is not bool:
        return None
    test_items = inner[1]
    once = unique and kind is tuple

    def bulk(values: typing.Sequence[Any]) -> bool:
        items = list(itertools.chain.from_iterable(values))
        if not set(map(type, items)) <= {str} or not test_items(items):
            return False
        return not once or all(len(set(v)) == len(v) for v in values if len(v) > 1)

    return kind, bulk


def _broken(relations: Callable[[Any], Any], values: list[Any], slow: set[int]) -> list[int]:
    """
    The positions of *values* (but those in *slow*) that break their
    class's cross-field rules, or whose rules fail to run.
    """
    if not slow:
        try:
            return [i for i, problems in enumerate(map(relations, values)) if problems]
        except Exception:  # noqa: BLE001, S110 - one by one below
            pass
    broken = []
    for i, value in enumerate(values):
        if i in slow:
            continue
        try:
            if relations(value):
                broken.append(i)
        except Exception:  # noqa: BLE001 - the row-by-row path meets it again and reports it as it does
            broken.append(i)
    return broken


def read_sequence(
    reader: Reader,
    rows: Iterable[tuple[int, Any, Iterable[Problem]]],
    *,
    total: int | None,
    progress: c.Progress | None,
) -> tuple[Any, ...]:
    """
    What :func:`read_all` gives, reading the rows of a record class in
    batches (see :class:`Batch`).  A batch takes its rows from *rows* before
    reading them: the rows must come from a sequence (a list or a tuple),
    where taking a row too many has no effect; :func:`read_all` takes none
    after the one where reading stops.
    """
    batch = batch_of(reader)
    if batch is None:
        return read_all(reader, rows, total=total, progress=progress)
    size = BATCH_ROWS if progress is None else PROGRESS_EVERY
    blank_row = (MISSING,) * len(reader.shown)
    out: list[Any] = []
    done = 0
    given = iter(rows)
    while not reader.full:
        first = done
        cells_of: list[Any] = []  # each row's cells, until they are made columns
        earlier: dict[int, tuple[Iterable[Problem], bool]] = {}  # the rows with problems, or no cells
        for k, (_, cells, found) in enumerate(itertools.islice(given, size)):
            if found or cells is None:
                earlier[k] = found, cells is None
            cells_of.append(blank_row if cells is None else cells)
        n = len(cells_of)
        if n:
            columns = list(zip(*cells_of, strict=True))
            cells_of.clear()  # the rows' own tuples go before the values are made

            def row(
                k: int, first: int = first, columns: list[Any] = columns, earlier: dict[int, Any] = earlier
            ) -> tuple[int, Any, Any]:
                found, empty = earlier.get(k, ((), False))
                return first + k, None if empty else tuple(column[k] for column in columns), found

            read = _read_batch(reader, batch, columns, n, first, sorted(earlier), row, out, progress, total)
            done = first + read
        if n < size:
            break
    return _finish(reader, out, done, total, progress)


def read_columns(
    reader: Reader,
    columns: typing.Sequence[typing.Sequence[Any] | None],
    rows: int,
    *,
    progress: c.Progress | None,
) -> tuple[Any, ...]:
    """
    Every row's value of a table read by columns (per target of the plan, a
    sequence of a cell per row, or ``None`` for a column the table does not
    have), as :func:`read_all` reads its rows, in batches for a record class
    (see :class:`Batch`).
    """
    batch = batch_of(reader)
    if batch is None:
        lists = [itertools.repeat(MISSING, rows) if col is None else col for col in columns]
        numbered = zip(itertools.count(), zip(*lists, strict=False), itertools.repeat(()), strict=False)
        return read_all(reader, numbered, total=rows, progress=progress)
    size = rows if progress is None else BATCH_ROWS
    out: list[Any] = []
    done = 0
    for start in range(0, rows, max(size, 1)):
        stop = min(start + size, rows)
        part = columns if stop - start == rows else [None if c is None else c[start:stop] for c in columns]

        def row(k: int, start: int = start) -> tuple[int, Any, Iterable[Problem]]:
            i = start + k
            return i, tuple(MISSING if c is None else c[i] for c in columns), ()

        done = start + _read_batch(reader, batch, part, stop - start, start, [], row, out, progress, rows)
        if reader.full:
            break
    return _finish(reader, out, done, rows, progress)


def _read_batch(  # noqa: PLR0917 - one batch, and where its rows go
    reader: Reader,
    batch: Batch,
    columns: typing.Sequence[Any],
    n: int,
    first: int,
    forced: list[int],
    row: Callable[[int], tuple[int, Any, Iterable[Problem]]],
    out: list[Any],
    progress: c.Progress | None,
    total: int | None,
) -> int:
    """
    Read *n* rows numbered from *first* whose cells *columns* hold, adding
    their values to *out* (meaningful only while no row has a problem);
    *forced* rows (and any row whose values are not all fine) are read one by
    one from *row* (their number, cells and earlier problems), as
    :func:`read_all` reads them.  Returns how many rows were read: fewer
    than *n* when enough problems were found.
    """
    values, slow = batch.read(columns, n)
    if forced:
        slow = sorted({*slow, *forced})
    read = n
    for k in slow:
        i, cells, found = row(k)
        if found:
            reader.add(found)
        if cells is not None:
            value = reader.row(cells, i)
            if value is not None:
                values[k] = value
        if reader.full:
            read = k + 1
            break
    if not reader.problems:
        out.extend(values)
    if progress is not None:
        last = first + read - (1 if reader.full else 0)  # the rows after which a call is due
        for done in range((first // PROGRESS_EVERY + 1) * PROGRESS_EVERY, last + 1, PROGRESS_EVERY):
            progress(done, total)
    return read


def _finish(
    reader: Reader, out: list[Any], done: int, total: int | None, progress: c.Progress | None
) -> tuple[Any, ...]:
    """
    The values read, or the error of the problems found; the last call of
    the progress callback.
    """
    if reader.problems:
        raise ValidationError(reader.problems)
    if progress is not None and (done == 0 or done % PROGRESS_EVERY):
        progress(done, total)
    return tuple(out)


def told(progress: c.Progress | None, rows: int) -> None:
    """
    Tell *progress* what reading *rows* rows one by one would have told it:
    every ``PROGRESS_EVERY`` rows, and at the end.
    """
    if progress is None:
        return
    for done in range(PROGRESS_EVERY, rows + 1, PROGRESS_EVERY):
        progress(done, rows)
    if rows == 0 or rows % PROGRESS_EVERY:
        progress(rows, rows)


def read_all(
    reader: Reader,
    rows: Iterable[tuple[int, Any, Iterable[Problem]]],
    *,
    total: int | None,
    progress: c.Progress | None,
) -> tuple[Any, ...]:
    """
    Every row's value, all or nothing: the values when no row has a
    problem, else one ValidationError listing the first problems found.
    *rows* yields each row's number, its cells (``None`` for what is not a
    row at all) and the problems found in it before its cells were read.
    """
    out: list[Any] = []
    done = 0
    for i, cells, found in rows:
        if found:
            reader.add(found)
        if cells is not None:
            value = reader.row(cells, i)
            if value is not None and not reader.problems:
                out.append(value)
        done = i + 1
        if reader.full:
            break
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
    return _finish(reader, out, done, total, progress)


# --- arguments --------------------------------------------------------------------


def check_columns(columns: object, targets: tuple[str, ...], path: str = "columns") -> dict[Any, str]:
    """
    *columns*, a mapping of a table's column name to the name it reads as
    (one of *targets*), checked; an empty dict for ``None``.
    """
    if columns is None:
        return {}
    mapping = c.to_mapping(columns, path)
    if not isinstance(mapping, Mapping):
        raise c.at(path, c.wrong_type(columns, "a mapping of column name to field name, or None"))
    problems = []
    seen: dict[str, object] = {}
    for key, target in mapping.items():
        where = f"{path}{_bracket(key)}"
        if not isinstance(target, str) or target not in targets:
            msg = f"{c.show(target)} is not a column this reads; allowed: {', '.join(targets)}"
            problems.append(Problem(path=where, code="choice", message=msg))
        elif target in seen:
            msg = f"{c.show(key)} and {c.show(seen[target])} both read as {target!r}; one column per name"
            problems.append(Problem(path=where, code="duplicate", message=msg))
        else:
            seen[target] = key
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return dict(mapping)


def _bracket(key: object) -> str:
    return f"[{c.show(key)}]"


def check_choice(value: object, path: str) -> UnknownColumns:
    """
    *value*, checked to be ``"refuse"`` or ``"ignore"``.
    """
    if value not in ("refuse", "ignore") or not isinstance(value, str):
        msg = f"{c.show(value)} is not a policy for unknown columns; allowed: 'refuse', 'ignore'"
        raise ValidationError.single(path, msg, code="choice")
    return value


def check_flag(value: object, path: str) -> bool:
    """
    *value*, checked to be ``True`` or ``False``.
    """
    problem = c.boolean(value)
    if problem is not None:
        raise c.at(path, problem)
    return typing.cast("bool", value)


def check_progress(value: object, path: str = "progress") -> c.Progress | None:
    """
    *value*, checked to be ``None`` or a callable of ``(done, total)``.
    """
    problem = c.progress_problem(value)
    if problem is not None:
        raise c.at(path, problem)
    if value is not None:
        try:
            signature = inspect.signature(typing.cast("Callable[..., Any]", value))
        except (TypeError, ValueError):
            return typing.cast("c.Progress", value)  # a builtin without a signature: trusted
        try:
            signature.bind(0, 0)
        except TypeError:
            msg = f"{c.show(value)} cannot be called with (done, total); expected a function of two arguments"
            raise ValidationError.single(path, msg, code="callable") from None
    return typing.cast("c.Progress | None", value)


def sources(targets: tuple[str, ...], columns: Mapping[Any, str]) -> tuple[Any, ...]:
    """
    Per target, the column it reads: its own name, or the column *columns*
    renames to it.
    """
    renamed = {target: column for column, target in columns.items()}
    return tuple(renamed.get(t, t) for t in targets)
