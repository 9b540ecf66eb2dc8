"""
What every report has: a short ``repr``, HTML for notebooks, JSON-safe
documents, flat records for tables, a pandas frame, and a picture where one
beats a table.

A report class subclasses :class:`Report`, is a frozen attrs class made with
``repr=False``, and provides two things: ``_summary()`` (one line) and
``_rows()`` (its table, exact values).  A report that draws itself also
provides ``to_svg()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from ._checks import show
from ._money import Money
from ._optional import required
from ._repr import html_table
from ._time import span
from .errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

Numbers = Literal["exact", "float"]

#: The longest repr a report has, whatever its size.
MAX_REPR = 200
#: The rows a report's HTML shows; the rest are counted, not shown.
MAX_HTML_ROWS = 50


def _numbers(value: object) -> Numbers:
    if value not in ("exact", "float"):
        msg = f"{show(value)} is not a kind of numbers; allowed: 'exact', 'float'"
        raise ValidationError.single("numbers", msg, code="choice")
    return value


def _as_float(value: object) -> object:
    """
    A cell as pandas reads it best: numbers as floats, times in UTC, days as
    their midnight in UTC.
    """
    if isinstance(value, Decimal | Fraction):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):  # a calendar day (a period's first): midnight, for datetime64
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value


def flat(row: Mapping[str, object], numbers: Numbers = "exact") -> dict[str, object]:
    """
    *row* with every ``Money`` split into its amount and a ``_currency``
    column beside it, and in ``"float"`` mode numbers as floats and times in
    UTC.
    """
    out: dict[str, object] = {}
    for key, value in row.items():
        if isinstance(value, Money):
            out[key] = value.amount
            out[f"{key}_currency"] = value.currency
        else:
            out[key] = value
    if numbers == "float":
        return {k: _as_float(v) for k, v in out.items()}
    return out


def money_cells(name: str, value: Money | None) -> dict[str, object]:
    """
    A row's cells for money that may be missing: *value* under *name* (the
    report splits it into amount and ``_currency``), or both cells empty, so
    that every row has the same columns.
    """
    if value is None:
        return {name: None, f"{name}_currency": None}
    return {name: value}


def conflict(field: str, mine: object, theirs: object, what: str) -> ValidationError:
    """
    The error for merging a report with one made with another *field* (its
    *what*: "period", "pipeline" ...): at ``other.<field>``, code
    ``conflict``, naming both values.  Every report's ``merge`` refuses so.
    """
    msg = f"{show(theirs)} is not the {what} of this report ({show(mine)}); only reports of one {what} merge"
    return ValidationError.single(f"other.{field}", msg, code="conflict")


def _cell(value: object) -> object:
    """
    A table cell as a person reads it: ratios and long decimals to four
    significant digits, times in ISO 8601, durations in words; records keep
    the exact values.
    """
    if isinstance(value, Fraction):
        return f"{float(value):.4g}"
    if isinstance(value, Decimal) and len(value.as_tuple().digits) > 8:
        return f"{float(value):.4g}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return span(value)
    return value


class Report:
    """
    Base of every report funnelkit returns.

    - ``repr(report)`` is one short line (at most 200 characters) whatever
      the report's size;
    - ``report._repr_html_()`` shows it in a notebook: the summary, its
      picture when it has one, and its table;
    - :meth:`to_dict` is a JSON-safe document that
      ``funnelkit.from_dict(type(report), data)`` reads back;
    - :meth:`to_records` is its table as flat rows, with exact numbers or
      floats;
    - :meth:`to_frame` is that table as a ``pandas.DataFrame`` (pandas is an
      optional extra).
    """

    __slots__ = ()

    def _summary(self) -> str:
        """
        The report in one line, for ``repr`` and the HTML caption.
        """
        raise NotImplementedError

    def _rows(self) -> Iterable[Mapping[str, object]]:
        """
        The report's table, one mapping per row, with exact values.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        text = f"<{type(self).__name__}: {self._summary()}>"
        if len(text) > MAX_REPR:
            text = text[: MAX_REPR - 4] + "...>"
        return text

    def _repr_html_(self) -> str:
        """
        The summary, the picture (if any) and the first rows of the table.
        """
        rows = [dict(row) for row in self._rows()]  # money whole: "12.30 USD" reads better than two cells
        keys = dict.fromkeys(k for row in rows for k in row)
        headers = tuple(
            k for k in keys if not (k.endswith("_currency") and k.removesuffix("_currency") in keys)
        )
        shown = [[_cell(row.get(h)) for h in headers] for row in rows[:MAX_HTML_ROWS]]
        more = len(rows) - len(shown)
        caption = f"{type(self).__name__}: {self._summary()}"
        if more > 0:
            caption += f" (first {len(shown)} of {len(rows):,} rows)"
        svg = self.to_svg() if hasattr(self, "to_svg") else ""
        if not headers:  # an empty report: its caption over an empty table
            headers, shown = ("rows",), [["none"]]
        return f"<div>{svg}{html_table(headers, shown, caption=caption)}</div>"

    def to_dict(self) -> Any:
        """
        The report as a JSON-safe document: the same as ``funnelkit.to_dict(self)``.

        Cost: O(size of the report).
        """
        from .documents import to_dict

        return to_dict(self)

    def to_records(self, *, numbers: Numbers = "exact") -> list[dict[str, object]]:
        """
        The report's table as flat rows: money split into an amount and a
        ``_currency`` column.  ``numbers="exact"`` keeps decimals, fractions
        and datetimes as they are; ``numbers="float"`` gives floats and UTC
        datetimes, which pandas reads as numeric and ``datetime64`` columns.

        Cost: O(rows).
        """
        mode = _numbers(numbers)
        return [flat(row, mode) for row in self._rows()]

    def to_frame(self, *, numbers: Numbers = "float") -> pd.DataFrame:
        """
        The report's table as a ``pandas.DataFrame`` (needs pandas: ``pip
        install 'funnelkit[pandas]'``), from :meth:`to_records`.

        Cost: O(rows).
        """
        mode = _numbers(numbers)
        pandas = required("pandas", "to_frame()")
        rows = self.to_records(numbers=mode)
        columns = list(dict.fromkeys(k for row in rows for k in row))
        frame: pd.DataFrame = pandas.DataFrame.from_records(rows, columns=columns)
        return frame
