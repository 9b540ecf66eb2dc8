"""
A stage history kept as columns: the events :func:`events_from_history`
reads from a table, held as numpy arrays (a few bytes an event, not a
Python value each) and built as ``StageChanged`` values only when read.
The funnel and the backtest read the columns themselves.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from .. import _checks as c
from .._optional import required
from .._records import new_record
from .._tables import UnknownColumns
from .._time import EPOCH as _EPOCH
from ..errors import ValidationError
from ._event import StageChanged
from ._history import KINDS, Parts, narrow, objects, read_history
from ._pipeline import Pipeline

_MICROSECOND = dt.timedelta(microseconds=1)
#: Events built at a time when read in order.
_CHUNK = 1 << 16
#: The arrays of a history, in the order :class:`Parts` holds them.
_ARRAYS = ("deal", "kind", "from_stage", "to_stage", "at", "actor", "version", "time_in_stage", "reason")


def _kinds(np: Any) -> Any:
    """The move kinds by their code, as a read-only object array."""
    kinds = np.array(KINDS, dtype=object)
    kinds.flags.writeable = False
    return kinds


def _built(parts: Parts) -> HistoryColumns:
    """A history from checked parts (see :class:`Parts`)."""
    self = object.__new__(HistoryColumns)
    self._set(*parts)
    return self


def _numpy() -> Any:
    """numpy, which HistoryColumns needs."""
    return required("numpy", "HistoryColumns")


class HistoryColumns(Sequence[StageChanged]):
    """
    The stage changes of a history table, as :func:`events_from_history`
    reads them (the same rows, the same checks, the same errors), kept as
    columns: a sequence of ``StageChanged`` built one by one as they are
    read, in the order :func:`events_from_history` gives them (each deal's
    moves in time order, the deals in order of their first row).

    :func:`~funnelkit.forecast.funnel` and
    :func:`~funnelkit.forecast.backtest` (with a
    :class:`~funnelkit.forecast.WeightedPipeline` forecaster) read its
    columns directly, without building the events; anything else that
    takes events takes it as a sequence.  Needs numpy (and pandas to read
    a DataFrame by columns; without pandas a table is read row by row).
    Immutable; equal to another with the same events.

    >>> import datetime as dt
    >>> from funnelkit.stages import default_pipeline
    >>> day = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), dt.timedelta(days=1)
    >>> history = HistoryColumns(
    ...     {"opportunity_id": ["a", "b", "a", "a"], "stage": ["contact", "proposal", "proposal", "won"],
    ...      "at": [day[0], day[0], day[0] + 2 * day[1], day[0] + 9 * day[1]]},
    ...     default_pipeline(),
    ... )
    >>> history
    HistoryColumns(pipeline='default', events=2, deals=1)
    >>> [(e.opportunity_id, e.kind.value, e.to_stage, e.time_in_stage.days) for e in history]
    [('a', 'advance', 'proposal', 2), ('a', 'win', 'won', 7)]

    Cost: O(r log r) for r rows (at most 10,000,000), as
    :func:`events_from_history`.
    """

    __slots__ = ("_actors", "_arrays", "_ids", "_pipeline", "_reasons", "_stages")

    _pipeline: str
    _ids: Any  # object array: the deal ids, by code
    _stages: Any  # object array: the stage keys, by code
    _actors: Any  # object array: the actors, by code
    _reasons: Any  # object array: the lost reasons by code, then None (code -1)
    _arrays: tuple[Any, ...]  # the columns of _ARRAYS, one entry an event

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]] | Any,
        pipeline: Pipeline,
        *,
        columns: Mapping[Any, str] | None = None,
        unknown_columns: UnknownColumns = "refuse",
        actor: str = "import",
        lost_reason: str | None = None,
        progress: c.Progress | None = None,
    ) -> None:
        np = _numpy()
        read = read_history(
            rows,
            pipeline,
            columns=columns,
            unknown_columns=unknown_columns,
            actor=actor,
            lost_reason=lost_reason,
            progress=progress,
        )
        parts = read if isinstance(read, Parts) else _from_events(np, read, pipeline.key)
        self._set(*parts)

    def _set(  # noqa: PLR0917 - the history's parts, as they are kept
        self, pipeline: str, ids: Any, stages: Any, actors: Any, reasons: Any, arrays: tuple[Any, ...]
    ) -> None:
        for a in (ids, stages, actors, reasons, *arrays):
            a.flags.writeable = False
        set_ = object.__setattr__
        set_(self, "_pipeline", pipeline)
        set_(self, "_ids", ids)
        set_(self, "_stages", stages)
        set_(self, "_actors", actors)
        set_(self, "_reasons", reasons)
        set_(self, "_arrays", arrays)

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"HistoryColumns is immutable; cannot set {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        msg = f"HistoryColumns is immutable; cannot delete {name!r}"
        raise AttributeError(msg)

    # --- what it holds ------------------------------------------------------

    @property
    def pipeline(self) -> str:
        """The key of the pipeline whose stages the history names.  Cost: O(1)."""
        return self._pipeline

    @property
    def deals(self) -> int:
        """How many deals the events move.  Cost: O(e) for e events."""
        np = _numpy()
        return int(np.count_nonzero(np.bincount(self._arrays[0], minlength=1)))

    def column(self, name: str) -> Any:
        """
        One column as a read-only numpy array, one entry an event:
        ``opportunity_id``, ``kind``, ``from_stage``, ``to_stage``,
        ``actor``, ``lost_reason`` (object arrays of ``str``, ``MoveKind``
        or ``None``), ``at`` (``datetime64[us]``, UTC), ``version``
        (``int64``) or ``time_in_stage`` (``timedelta64[us]``).

        Cost: O(e) for e events.
        """
        np = _numpy()
        deal, kind, source, target, at, actor, version, spent, reason = self._arrays
        decoded = {
            "opportunity_id": lambda: self._ids[deal],
            "kind": lambda: np.array(KINDS, dtype=object)[kind],
            "from_stage": lambda: self._stages[source],
            "to_stage": lambda: self._stages[target],
            "at": lambda: at.view("datetime64[us]"),
            "actor": lambda: self._actors[actor],
            "version": lambda: version.astype(np.int64),
            "time_in_stage": lambda: spent.view("timedelta64[us]"),
            "lost_reason": lambda: self._reasons[reason],
        }
        if not isinstance(name, str) or name not in decoded:
            allowed = ", ".join(decoded)
            msg = f"{c.show(name)} is not a column; allowed: {allowed}"
            raise ValidationError.single("name", msg, code="choice")
        out = decoded[name]()
        out.flags.writeable = False
        return out

    def codes(self, name: str) -> tuple[Any, Any]:
        """
        A column of names as codes and the names they stand for, both
        read-only numpy arrays (``values[codes]`` is :meth:`column`): the
        cheap form to count or group by.  *name* is ``opportunity_id``,
        ``kind``, ``from_stage``, ``to_stage`` (the two share their
        values), ``actor`` or ``lost_reason`` (code -1 for no reason).

        >>> import datetime as dt
        >>> from funnelkit.stages import default_pipeline
        >>> t = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
        >>> rows = [{"opportunity_id": d, "stage": s, "at": t + dt.timedelta(days=i)}
        ...         for d in ("a", "b") for i, s in enumerate(["contact", "needs_confirmed"])]
        >>> codes, values = HistoryColumns(rows, default_pipeline()).codes("opportunity_id")
        >>> codes.tolist(), values.tolist()
        ([0, 1], ['a', 'b'])

        Cost: O(1).
        """
        np = _numpy()
        deal, kind, source, target, _, actor, _, _, reason = self._arrays
        if name == "lost_reason":
            out, values = reason, self._reasons[:-1]  # the last value is None: no reason (-1)
        elif name == "kind":
            out, values = kind, _kinds(np)
        else:
            found = (
                {
                    "opportunity_id": (deal, self._ids),
                    "from_stage": (source, self._stages),
                    "to_stage": (target, self._stages),
                    "actor": (actor, self._actors),
                }.get(name)
                if isinstance(name, str)
                else None
            )
            if found is None:
                allowed = "opportunity_id, kind, from_stage, to_stage, actor, lost_reason"
                msg = f"{c.show(name)} is not a column of names; allowed: {allowed}"
                raise ValidationError.single("name", msg, code="choice")
            out, values = found
        # views of read-only arrays: numpy refuses to make them writable again
        return out.view(), values.view()

    def to_frame(self) -> Any:
        """
        The events as a ``pandas.DataFrame``, a row an event, with the
        columns of :meth:`column` (the times zoned UTC); needs pandas.

        Cost: O(e) for e events.
        """
        pd = required("pandas", "to_frame()")
        names = ("opportunity_id", "kind", "from_stage", "to_stage", "at", "actor", "version")
        data = {name: self.column(name) for name in names}
        data["at"] = pd.DatetimeIndex(data["at"]).tz_localize("UTC")
        data["kind"] = [k.value for k in data["kind"]]
        data["time_in_stage"] = self.column("time_in_stage")
        data["lost_reason"] = self.column("lost_reason")
        return pd.DataFrame(data)

    # --- the sequence -------------------------------------------------------

    def __len__(self) -> int:
        return len(self._arrays[0])

    @overload
    def __getitem__(self, index: int) -> StageChanged: ...

    @overload
    def __getitem__(self, index: slice) -> HistoryColumns: ...

    def __getitem__(self, index: int | slice) -> StageChanged | HistoryColumns:
        n = len(self)
        if isinstance(index, slice):
            arrays = tuple(a[c.checked_slice(index, n)] for a in self._arrays)
            return _built(Parts(self._pipeline, self._ids, self._stages, self._actors, self._reasons, arrays))
        i = c.checked_index(index)
        if not -n <= i < n:
            msg = f"event {i} of a history of {n:,}"
            raise IndexError(msg)
        i %= n
        return next(self._events(i, i + 1))

    def __iter__(self) -> Iterator[StageChanged]:
        n = len(self)
        for lo in range(0, n, _CHUNK):
            yield from self._events(lo, min(n, lo + _CHUNK))

    def _events(self, lo: int, hi: int) -> Iterator[StageChanged]:
        """Events *lo* to *hi*, built from the columns (checked when they were read)."""
        deal, kind, source, target, at, actor, version, spent, reason = (a[lo:hi] for a in self._arrays)
        np = _numpy()
        fields = (
            self._ids[deal],
            itertools.repeat(self._pipeline),
            np.array(KINDS, dtype=object)[kind],
            self._stages[source],
            self._stages[target],
            map(operator.add, itertools.repeat(_EPOCH), at.view("timedelta64[us]").astype(object)),
            self._actors[actor],
            version.astype(object),  # Python ints
            spent.view("timedelta64[us]").astype(object),  # Python timedeltas
            self._reasons[reason],
            itertools.repeat(None),
            itertools.repeat(None),
            itertools.repeat(()),
        )
        return map(new_record, itertools.repeat(StageChanged), zip(*fields, strict=False))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HistoryColumns):
            return NotImplemented
        if self._pipeline != other._pipeline or len(self) != len(other):
            return False
        np = _numpy()
        return all(
            np.array_equal(self.column(name), other.column(name))
            for name in ("opportunity_id", "kind", "from_stage", "to_stage", "at", "actor", "version")
        ) and all(
            np.array_equal(self.column(name), other.column(name)) for name in ("time_in_stage", "lost_reason")
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, holds arrays: unhashable, as a list is

    def __repr__(self) -> str:
        return f"HistoryColumns(pipeline={self._pipeline!r}, events={len(self)}, deals={self.deals})"

    def __reduce__(self) -> tuple[Any, ...]:
        parts = (self._pipeline, self._ids, self._stages, self._actors, self._reasons, self._arrays)
        return _built, (Parts(*parts),)


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

    With numpy and pandas installed, a pandas, polars or pyarrow table whose
    ``at`` column holds zoned datetimes is read by columns: each distinct id,
    stage and reason checked once, the moves found with numpy; a table with
    any problem in it is read row by row, which names the problems.

    Problems are named by row and column (``rows[3].stage``, in the table's
    own column names; a row's position counts from 0); reading stops after
    the first :data:`~funnelkit.errors.MAX_LISTED`.  The moves are not
    checked against the pipeline's allowed moves or milestones: a history
    records what happened.  A CRM's field history (the amount, expected
    close, forecast category and owner changes) reads with
    :func:`~funnelkit.stages.edits_from_history`, and
    :func:`~funnelkit.stages.merge_history` makes one log of both.

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
    read = read_history(
        rows,
        pipeline,
        columns=columns,
        unknown_columns=unknown_columns,
        actor=actor,
        lost_reason=lost_reason,
        progress=progress,
    )
    return tuple(_built(read)) if isinstance(read, Parts) else read


def _from_events(np: Any, events: Sequence[StageChanged], pipeline: str) -> Parts:
    """
    The columns of *events* as :func:`events_from_history` reads them (a
    history's, without overrides): each deal's moves together, in version
    order.
    """
    n = len(events)
    ids: dict[str, int] = {}
    stages: dict[str, int] = {}
    actors: dict[str, int] = {}
    reasons: dict[str, int] = {}
    code = {k: i for i, k in enumerate(KINDS)}
    deal = np.fromiter((ids.setdefault(e.opportunity_id, len(ids)) for e in events), np.int64, n)
    kind = np.fromiter((code[e.kind] for e in events), np.int8, n)
    source = np.fromiter((stages.setdefault(e.from_stage, len(stages)) for e in events), np.int64, n)
    target = np.fromiter((stages.setdefault(e.to_stage, len(stages)) for e in events), np.int64, n)
    at = np.fromiter(((e.at - _EPOCH) // _MICROSECOND for e in events), np.int64, n)
    actor = np.fromiter((actors.setdefault(e.actor, len(actors)) for e in events), np.int64, n)
    version = np.fromiter((e.version for e in events), np.int64, n)
    spent = np.fromiter((e.time_in_stage // _MICROSECOND for e in events), np.int64, n)
    reason = np.fromiter(
        (-1 if e.lost_reason is None else reasons.setdefault(e.lost_reason, len(reasons)) for e in events),
        np.int64,
        n,
    )
    return Parts(
        pipeline,
        objects(np, list(ids)),
        objects(np, list(stages)),
        objects(np, list(actors)),
        objects(np, [*reasons, None]),
        (
            narrow(np, deal, len(ids)),
            kind,
            narrow(np, source, len(stages)),
            narrow(np, target, len(stages)),
            at,
            narrow(np, actor, len(actors)),
            narrow(np, version, int(version.max(initial=0)) + 1),
            spent,
            narrow(np, reason, len(reasons)),
        ),
    )
