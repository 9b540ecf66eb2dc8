"""
A deal's field history from a table: the rows a CRM writes when a field of a
deal changes (which deal, which field, the value before and after, when, by
whom) as the edit events :func:`~funnelkit.stages.edit` makes; and one log of
a deal's moves and edits, numbered in time order, that ``replay`` and
``as_of`` read.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal, TypeAlias

import attrs

from .. import _checks as c
from .._edits import EDITS, CategoryChanged, Edit, OwnerChanged
from .._money import Money, amount_problem, currency_problem
from .._tables import (
    MISSING,
    UnknownColumns,
    blank,
    check_choice,
    check_columns,
    check_progress,
    read_date,
    sources,
    table_of,
)
from ..entities import ForecastCategory, OpportunityStatus
from ..errors import MAX_LISTED, Problem, ValidationError
from ._event import StageChanged
from ._history import RowReader, _length, _row_of
from ._stage import MoveKind

#: The columns a field-history row may have; the first two and ``at`` are required.
FIELD_COLUMNS = ("opportunity_id", "field", "before", "after", "at", "actor", "currency", "reason")
#: The fields a field-history row may change.
FIELDS = ("amount", "expected_close", "forecast_category", "owner")

#: What :func:`edits_from_history` does with a field's change whose value before is not the value
#: after its previous change (``"refuse"``), or that changes nothing: refuse it, or mend the chain.
Chain = Literal["refuse", "mend"]
#: A change in a deal's log: a move, an edit, or a change of owner.
DealEvent: TypeAlias = StageChanged | Edit | OwnerChanged

_REQUIRED = Problem(path="", code="missing", message="missing; this column is required")
_NO_OWNER = Problem(path="", code="missing", message="missing; a deal always has an owner")
_NO_CURRENCY = Problem(
    path="", code="missing", message="missing; an amount needs its currency (this column, or currency=...)"
)
_EDIT_OF = {cls.field: cls for cls in EDITS}
#: A forecast category by its name folded: lower case, spaces and hyphens as underscores.
_CATEGORIES: dict[str, ForecastCategory] = {
    **{m.value: m for m in ForecastCategory},
    "omit": ForecastCategory.OMITTED,
}
_CATEGORY_NAMES = ", ".join(repr(m.value) for m in ForecastCategory)
#: The owner's change read from a table says so in its ``why``.
_WHY = "read from a history table"
_OWNER_REASON = "history"
#: The most field names a message lists.
_LISTED_NAMES = 12


def _folded(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


class _FieldHistory(RowReader):
    """
    One read of a field-history table: its rows checked one by one and
    grouped by deal, then each deal's edits; the problems at ``rows[i].column``.
    """

    def __init__(
        self,
        src: tuple[Any, ...],
        refuse: bool,
        field_of: Mapping[str, str],
        skip_unknown: bool,
        currency: str | None,
    ) -> None:
        super().__init__(src, refuse)
        self.field_of = field_of
        self.skip_unknown = skip_unknown
        self.currency = currency
        self.currencies: set[str] = set()  # currency cells found valid
        named = [*FIELDS, *sorted(k for k in field_of if k not in FIELDS)]  # and a CRM's names of them
        self.fields = ", ".join(named[:_LISTED_NAMES]) + (", ..." if len(named) > _LISTED_NAMES else "")

    def _row(self, i: int, cells: tuple[Any, ...]) -> tuple[str, Any] | None:
        """
        One row's deal and its checked cells, or ``None``: with its problems
        recorded, or a change of a field that is not read.
        """
        deal, field, before, after, at, who, money_in, why = cells
        bad: list[Problem] = []
        name = self.field_of.get(field) if isinstance(field, str) else None
        if name is None:
            if blank(field):
                bad.append(self._at(i, 1, _REQUIRED))
            elif not isinstance(field, str):
                bad.append(self._at(i, 1, c.wrong_type(field, "a field's name (a str)")))
            elif self.skip_unknown:
                return None  # a change of another field: passed over
            else:
                msg = (
                    f"{c.show(field)} is not a field this reads; allowed: {self.fields} (or map it: fields=)"
                )
                bad.append(self._at(i, 1, c.bad("choice", msg)))
        if deal.__class__ is not str or deal not in self.ids:
            self._deal(i, deal, bad)
        if at.__class__ is not dt.datetime or at.tzinfo is not dt.UTC:
            at = self._time(i, 4, at, bad)
        if who is MISSING or who is None:
            who = None
        elif who.__class__ is not str or who not in self.ids:
            who = self._optional(i, 5, who, c.identifier, self.ids, bad)
        if why is MISSING or why is None:
            why = None
        elif why.__class__ is not str or why not in self.names:
            why = self._optional(i, 7, why, c.name, self.names, bad)
        if name is not None:
            before = self._value(i, 2, name, before, money_in, bad)
            after = self._value(i, 3, name, after, money_in, bad)
        if bad:
            self.add(bad)
            return None
        return deal, (at, i, name, before, after, who, why)

    def _value(  # noqa: PLR0917 - one value cell, its field and the row's currency
        self, i: int, j: int, name: str, cell: Any, money_in: Any, bad: list[Problem]
    ) -> Any:
        """
        A value before or after (column *j*) as the field holds it: ``None``
        when blank (cleared), else the value read, or a problem.
        """
        if _empty(cell):
            if name == "owner":
                bad.append(self._at(i, j, _NO_OWNER))
            return None
        problem: Problem | None
        if name == "amount":
            return self._money(i, j, cell, money_in, bad)
        if name == "expected_close":
            try:
                cell = read_date(cell)  # ISO 8601 text; a datetime at midnight without a zone
            except ValidationError as e:
                bad.extend(self._at(i, j, p) for p in e.problems)
                return None
            problem = c.calendar_date(cell)
        elif name == "forecast_category":
            found = _CATEGORIES.get(_folded(cell)) if isinstance(cell, str) else None
            if found is not None:
                return found
            problem = (
                c.bad("choice", f"{c.show(cell)} is not a forecast category; allowed: {_CATEGORY_NAMES}")
                if isinstance(cell, str)
                else c.wrong_type(cell, "a forecast category (a str)")
            )
        else:  # the owner
            problem = c.identifier(cell)
        if problem is not None:
            bad.append(self._at(i, j, problem))
        return cell

    def _money(self, i: int, j: int, cell: Any, money_in: Any, bad: list[Problem]) -> Money | None:
        """
        An amount cell (column *j*) as Money in the row's currency, or a problem.
        """
        given = None if _empty(money_in) else money_in
        if given is not None and (given.__class__ is not str or given not in self.currencies):
            problem = currency_problem(given)
            if problem is not None:
                named = self._at(i, 6, problem)
                if named not in bad:  # before and after share the row's currency: one problem
                    bad.append(named)
                return None
            self.currencies.add(given)
        if isinstance(cell, Money):
            problem = (
                None
                if given is None or given == cell.currency
                else c.bad("conflict", f"{c.show(given)} is not the currency of {c.show(cell)}")
            )
            if problem is not None:
                bad.append(self._at(i, 6, problem))
                return None
            money: Money = cell
        else:
            number = _number(cell)
            if not isinstance(number, Decimal):
                bad.append(self._at(i, j, number))
                return None
            problem = amount_problem(number)
            if problem is not None:
                bad.append(self._at(i, j, problem))
                return None
            currency = given if given is not None else self.currency
            if currency is None:
                bad.append(self._at(i, 6, _NO_CURRENCY))
                return None
            money = Money(amount=number, currency=currency)  # both checked: it builds
        if money.amount < 0:
            bad.append(self._at(i, j, c.bad("range", f"{c.show(cell)} is negative")))
            return None
        return money

    def edits(self, deal: str, rows: list[Any], actor: str, *, mend: bool) -> list[Edit | OwnerChanged]:
        """
        One deal's edits, from its rows in time order (ties in the table's
        order), each field's changes chained: the value before one is the
        value after the one before it.
        """
        out: list[Edit | OwnerChanged] = []
        last: dict[str, tuple[int, Any]] = {}  # per field: the row that changed it last, and its value after
        before_path, after_path = self.shown[2], self.shown[3]
        version = 0
        for at, i, name, given, after, who, why in rows:
            before = given
            previous = last.get(name)
            if previous is not None and before != previous[1]:
                if mend:
                    before = previous[1]
                else:
                    msg = (
                        f"{c.show(before)} but rows[{previous[0]}] left the {name} at {c.show(previous[1])}; "
                        "a field's changes follow one another (chain='mend' takes each value after as it is)"
                    )
                    self.add([Problem(path=f"rows[{i}].{before_path}", code="conflict", message=msg)])
            if before == after:
                if mend:
                    continue  # it changes nothing
                msg = (
                    f"{c.show(after)} is the value before; a change changes its field "
                    "(chain='mend' passes over such a row)"
                )
                self.add([Problem(path=f"rows[{i}].{after_path}", code="conflict", message=msg)])
            version += 1
            last[name] = (i, after)
            if not self.problems:
                out.append(_edit(deal, name, before, after, at, who or actor, why, version))
        return out


def _empty(cell: Any) -> bool:
    """Whether a value cell is empty: blank, or text with nothing in it (a CSV's empty cell)."""
    if cell.__class__ is str:
        return not cell.strip()
    return blank(cell)


def _number(cell: Any) -> Decimal | Problem:
    """An amount cell's number, or what keeps it from being one."""
    if isinstance(cell, Decimal):
        return cell
    if isinstance(cell, str):
        number = c.parse_decimal(str(cell))  # a str subclass (numpy's) as the str it is
        return number if number is not None else amount_problem(str(cell)) or c.bad("format", "not a number")
    if isinstance(cell, float):
        msg = (
            f"{cell!r} is a float; money refuses floats because they are inexact: read the column as text "
            "(pandas: dtype={'before': str, 'after': str}) or as decimals"
        )
        return c.bad("type", msg)
    integer = c.as_int(cell)  # an int, or another library's integer (numpy)
    if integer is not None:
        return Decimal(integer)
    return c.wrong_type(cell, "an amount: a str such as '12.30', an int or a Decimal")


def _edit(  # noqa: PLR0917 - one checked row's event
    deal: str, name: str, before: Any, after: Any, at: dt.datetime, actor: str, why: str | None, version: int
) -> Edit | OwnerChanged:
    """The event of one checked row."""
    if name == "owner":
        return OwnerChanged(
            kind="opportunity",
            id=deal,
            from_rep=before,
            to_rep=after,
            at=at,
            actor=actor,
            reason=why or _OWNER_REASON,
            why=_WHY,
            version=version,
        )
    cls = _EDIT_OF[name]
    return cls(
        opportunity_id=deal, at=at, actor=actor, version=version, before=before, after=after, reason=why
    )


def _check_fields(fields: object) -> dict[str, str]:
    """*fields*, a mapping of a CRM's field name to the field it is, checked; with the own names."""
    own = {name: name for name in FIELDS}
    if fields is None:
        return own
    mapping = c.to_mapping(fields, "fields")
    if not isinstance(mapping, Mapping):
        raise c.at("fields", c.wrong_type(fields, "a mapping of a CRM's field name to a field, or None"))
    problems = []
    for key, target in mapping.items():
        where = f"fields[{c.show(key)}]"
        problem = c.name(key)
        if problem is not None:
            problems.append(problem.prefixed(where))
        elif not isinstance(target, str) or target not in FIELDS:
            msg = f"{c.show(target)} is not a field this reads; allowed: {', '.join(FIELDS)}"
            problems.append(Problem(path=where, code="choice", message=msg))
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return {**own, **mapping}


def _check_chain(chain: object) -> Chain:
    if not isinstance(chain, str) or chain not in ("refuse", "mend"):
        msg = f"{c.show(chain)} is not a policy for a broken chain of changes; allowed: 'refuse', 'mend'"
        raise ValidationError.single("chain", msg, code="choice")
    return chain  # type: ignore[return-value]  # one of the two, checked above


def edits_from_history(
    rows: Iterable[Mapping[str, Any]] | Any,
    *,
    columns: Mapping[Any, str] | None = None,
    fields: Mapping[str, str] | None = None,
    unknown_columns: UnknownColumns = "refuse",
    unknown_fields: UnknownColumns = "refuse",
    actor: str = "import",
    currency: str | None = None,
    chain: Chain = "refuse",
    progress: c.Progress | None = None,
) -> tuple[Edit | OwnerChanged, ...]:
    """
    The edits of a field-history table: one row per change of a deal's
    field, with its ``opportunity_id``, the ``field`` (``amount``,
    ``expected_close``, ``forecast_category`` or ``owner``), the value
    ``before`` and ``after`` it, ``at`` (an aware datetime, or ISO 8601
    text with its offset), and optionally the ``actor``, the amount's
    ``currency`` and the ``reason``: the
    :class:`~funnelkit.stages.AmountChanged`,
    :class:`~funnelkit.stages.CloseDateChanged`,
    :class:`~funnelkit.stages.CategoryChanged` and
    :class:`~funnelkit.assignment.OwnerChanged` events
    :func:`~funnelkit.stages.edit` and a reassignment make.  Each deal's
    changes are read in time order (ties in the table's order) and numbered
    1, 2, ... as its versions; :func:`merge_history` numbers them with the
    deal's moves in one sequence.

    *fields* names a CRM's own fields (``{"Amount": "amount", "CloseDate":
    "expected_close", "ForecastCategoryName": "forecast_category"}``); a
    row of any other field is refused, or passed over unread with
    ``unknown_fields="ignore"``.  A blank value (``None``, ``""``, NaN) is
    a cleared field (``None``); an owner is never blank.  An amount is
    decimal text (``"12000.50"``), an int or a ``Decimal`` (never a float)
    in the row's ``currency``, else *currency*; a date is ISO 8601 text
    (``"2026-04-30"``) or a date; a category is its name in any case, with
    spaces or hyphens for underscores (``"Best Case"``; ``"omit"`` for
    ``omitted``).  ``closed`` is read as it is: :func:`merge_history`
    checks it against the deal's moves.  *actor* fills a blank actor; an
    owner's change without a reason has the reason ``"history"``.

    A field's changes chain: the value before each is the value after the
    one before it (the first one's value before is what the field held
    before the history: ``as_of`` rewinds to it), and each changes its
    value.  A row that breaks the chain (a CRM that dropped a row) or that
    changes nothing is refused, or with ``chain="mend"`` its value before
    is taken to be the previous value after and a row that then changes
    nothing is passed over: the values after, which say what the field held
    from each instant on, are kept as they are.

    *rows*, *columns*, *unknown_columns* and *progress* are as
    :func:`~funnelkit.stages.events_from_history` takes them: an iterable
    of mappings, or a pandas, polars or pyarrow table or a dict of columns,
    at most 10,000,000 rows; columns renamed by *columns*; problems named
    by row and column (``rows[3].NewValue``, in the table's own column
    names), reading stopped after the first
    :data:`~funnelkit.errors.MAX_LISTED`; nothing is returned unless every
    row is fine.

    >>> rows = [
    ...     {"OpportunityId": "o-1", "Field": "Amount", "OldValue": "12000", "NewValue": "15000",
    ...      "CreatedDate": "2026-03-05T09:00:00Z"},
    ...     {"OpportunityId": "o-1", "Field": "CloseDate", "OldValue": "2026-04-30",
    ...      "NewValue": "2026-05-31", "CreatedDate": "2026-03-05T09:00:00Z"},
    ...     {"OpportunityId": "o-1", "Field": "Amount", "OldValue": "15000", "NewValue": None,
    ...      "CreatedDate": "2026-03-09T09:00:00Z"},
    ... ]
    >>> edits = edits_from_history(
    ...     rows, currency="EUR",
    ...     columns={"OpportunityId": "opportunity_id", "Field": "field", "OldValue": "before",
    ...              "NewValue": "after", "CreatedDate": "at"},
    ...     fields={"Amount": "amount", "CloseDate": "expected_close"},
    ... )
    >>> [(type(e).__name__, e.version, str(e.before), str(e.after)) for e in edits]
    [('AmountChanged', 1, '12000 EUR', '15000 EUR'), ('CloseDateChanged', 2, '2026-04-30', '2026-05-31'),
     ('AmountChanged', 3, '15000 EUR', 'None')]

    Cost: O(r log r) for r rows (at most 10,000,000).
    """
    problems: list[Problem] = []
    checks: list[tuple[str, Any]] = [
        ("actor", lambda: _raise(c.identifier(actor), "actor")),
        ("currency", lambda: None if currency is None else _raise(currency_problem(currency), "currency")),
        ("columns", lambda: check_columns(columns, FIELD_COLUMNS)),
        ("fields", lambda: _check_fields(fields)),
        ("unknown_columns", lambda: check_choice(unknown_columns, "unknown_columns")),
        ("unknown_fields", lambda: _check_unknown_fields(unknown_fields)),
        ("chain", lambda: _check_chain(chain)),
        ("progress", lambda: check_progress(progress)),
    ]
    checked: dict[str, Any] = {}
    for name, check in checks:
        try:
            checked[name] = check()
        except ValidationError as e:
            problems.extend(e.problems)
    if problems:
        raise ValidationError(problems[:MAX_LISTED])
    src = sources(FIELD_COLUMNS, checked["columns"])
    history = _FieldHistory(
        src, unknown_columns == "refuse", checked["fields"], unknown_fields == "ignore", currency
    )
    table = table_of(rows, "rows") if not isinstance(rows, str | bytes) else None
    total: int | None
    if table is not None:
        position = history.positions(table)
        cells, total = history.table_rows(table, position), table.rows
    else:
        c.require_iterable(rows, "row", "rows")
        cells, total = history.mapping_rows(rows), _length(rows)
    by_deal = history.read(cells, progress, total)
    out: list[Edit | OwnerChanged] = []
    if not history.full:
        for deal, deal_rows in by_deal.items():
            deal_rows.sort(key=_by_time)  # by time; ties in the table's order
            out.extend(history.edits(deal, deal_rows, actor, mend=chain == "mend"))
            if history.full:
                break
    if history.problems:
        raise ValidationError(sorted(history.problems, key=lambda p: _row_of(p.path)))
    return tuple(out)


def _raise(problem: Problem | None, path: str) -> None:
    if problem is not None:
        raise c.at(path, problem)


def _check_unknown_fields(value: object) -> UnknownColumns:
    if not isinstance(value, str) or value not in ("refuse", "ignore"):
        msg = f"{c.show(value)} is not a policy for unknown fields; allowed: 'refuse', 'ignore'"
        raise ValidationError.single("unknown_fields", msg, code="choice")
    return value  # type: ignore[return-value]  # one of the two, checked above


def _by_time(row: tuple[Any, ...]) -> tuple[dt.datetime, int]:
    return row[0], row[1]


# --- one log of moves and edits ------------------------------------------------------

_STATUS_AFTER = {MoveKind.WIN: OpportunityStatus.WON, MoveKind.LOSE: OpportunityStatus.LOST}


def merge_history(
    moves: Iterable[StageChanged], edits: Iterable[Edit | OwnerChanged]
) -> tuple[DealEvent, ...]:
    """
    One log of the deals' *moves* (``StageChanged``, as
    :func:`~funnelkit.stages.events_from_history` reads them) and *edits*
    (``AmountChanged``, ``CloseDateChanged``, ``CategoryChanged`` and a
    deal's ``OwnerChanged``, as :func:`edits_from_history` reads them), each
    deal's events in time order and numbered 1, 2, ... in one sequence as
    its versions, so that :func:`~funnelkit.stages.replay`,
    :func:`~funnelkit.forecast.as_of` and the backtest read them together.
    At one instant a deal's moves come before its edits (a field set as
    the deal moves is set in its new stage), then each source's events by
    their own versions, then in the order given.  The deals come in the
    order they first appear (the moves first).

    Refused, every problem named (``moves[i]``, ``edits[i]``): an item of
    the wrong type, a customer's or a lead's change of owner, and a
    category set to ``closed`` at a time the deal's moves say it was not
    won.  Each source's own order is kept; whether the events follow from
    each other (a move from the stage the deal is in, a value before that
    is the deal's) is for ``replay`` to say.

    >>> import datetime as dt
    >>> from funnelkit.stages import default_pipeline, edits_from_history, events_from_history
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> moves = events_from_history(
    ...     [{"opportunity_id": "o-1", "stage": "contact", "at": t},
    ...      {"opportunity_id": "o-1", "stage": "proposal", "at": t + dt.timedelta(days=4)}],
    ...     default_pipeline())
    >>> edits = edits_from_history(
    ...     [{"opportunity_id": "o-1", "field": "amount", "before": None, "after": "9000",
    ...       "at": t + dt.timedelta(days=1)},
    ...      {"opportunity_id": "o-1", "field": "amount", "before": "9000", "after": "12000",
    ...       "at": t + dt.timedelta(days=4)}], currency="EUR")
    >>> [(type(e).__name__, e.version, e.at.day) for e in merge_history(moves, edits)]
    [('AmountChanged', 1, 3), ('StageChanged', 2, 6), ('AmountChanged', 3, 6)]

    Cost: O(e log e) for e events.
    """
    c.require_iterable(moves, "StageChanged", "moves")
    c.require_iterable(
        edits, "edits (AmountChanged, CloseDateChanged, CategoryChanged, OwnerChanged)", "edits"
    )
    per = _per_deal(moves, edits)
    problems: list[Problem] = []
    out: list[DealEvent] = []
    for deal, items in per.items():
        items.sort(key=_key)
        out.extend(_numbered(deal, items, problems))
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(sorted(problems[:MAX_LISTED], key=_by_index))
    return tuple(out)


#: A deal's event, and where it sorts: its time, 0 for a move or 1 for an edit, its version, its index.
_Keyed: TypeAlias = tuple[tuple[dt.datetime, int, int, int], DealEvent]


def _per_deal(moves: Iterable[StageChanged], edits: Iterable[Edit | OwnerChanged]) -> dict[str, list[_Keyed]]:
    """
    The events of each deal, keyed by where they sort; every item checked
    (a ValidationError naming the bad ones).
    """
    problems: list[Problem] = []
    per: dict[str, list[_Keyed]] = {}
    for i, move in enumerate(moves):
        if not isinstance(move, StageChanged):
            problems.append(c.wrong_type(move, "a StageChanged").prefixed(f"moves[{i}]"))
        else:
            per.setdefault(move.opportunity_id, []).append(((move.at, 0, move.version, i), move))
        if len(problems) >= MAX_LISTED:
            break
    for i, e in enumerate(edits):
        if len(problems) >= MAX_LISTED:
            break
        if isinstance(e, OwnerChanged):
            if e.kind != "opportunity" or e.version is None:
                msg = f"a {e.kind}'s change of owner; a deal's log holds the changes of deals"
                problems.append(Problem(path=f"edits[{i}].kind", code="conflict", message=msg))
                continue
            per.setdefault(e.id, []).append(((e.at, 1, e.version, i), e))
        elif isinstance(e, EDITS):
            per.setdefault(e.opportunity_id, []).append(((e.at, 1, e.version, i), e))
        else:
            expected = "an AmountChanged, CloseDateChanged, CategoryChanged or OwnerChanged"
            problems.append(c.wrong_type(e, expected).prefixed(f"edits[{i}]"))
    if problems:
        raise ValidationError(problems)
    return per


def _numbered(deal: str, items: list[_Keyed], problems: list[Problem]) -> list[DealEvent]:
    """
    One deal's events, sorted, numbered 1, 2, ...; a category set to
    ``closed`` while its moves say it is not won goes to *problems*.
    """
    first = next((e for _, e in items if type(e) is StageChanged), None)
    # as replay rebuilds it: open where its history starts (lost when it starts by a reopen)
    reopened = first is not None and first.kind is MoveKind.REOPEN
    status = OpportunityStatus.LOST if reopened else OpportunityStatus.OPEN
    out: list[DealEvent] = []
    for version, ((_, _, _, i), e) in enumerate(items, 1):
        if isinstance(e, StageChanged):
            status = _STATUS_AFTER.get(e.kind, OpportunityStatus.OPEN)
        elif (
            first is not None
            and isinstance(e, CategoryChanged)
            and e.after is ForecastCategory.CLOSED
            and status is not OpportunityStatus.WON
        ):
            msg = (
                f"'closed' is the category of a won deal; {deal!r} is {status.value} "
                f"at {e.at.isoformat()}, by its moves"
            )
            problems.append(Problem(path=f"edits[{i}].after", code="state", message=msg))
        out.append(e if e.version == version else attrs.evolve(e, version=version))
    return out


def _key(item: _Keyed) -> tuple[dt.datetime, int, int, int]:
    return item[0]


def _by_index(problem: Problem) -> int:
    """Sort key of a problem at ``edits[i]...``: *i*."""
    number = problem.path.partition("[")[2]
    return int("".join(itertools.takewhile(str.isdigit, number)) or -1)
