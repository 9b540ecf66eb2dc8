"""
Backtesting: rebuild the pipeline as it stood on a past date, forecast from
it, and score the forecast against what was won.
"""

from __future__ import annotations

import bisect
import datetime as dt
import decimal
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from operator import countOf
from typing import Any, Literal, cast

import attrs

from .. import _checks as c
from .._edits import EDITS, Edit, OwnerChanged
from .._money import Money, currency_problem
from .._report import Report, money_cells
from .._repr import INK, Axis, Band, Line, chart_svg, finite, nice_axis
from .._time import EPOCH as _EPOCH
from .._time import instant
from ..entities import Opportunity, OpportunityStatus, moved_opportunity
from ..errors import CurrencyMismatchError, Problem, ValidationError
from ..stages import HistoryColumns, MoveKind, StageChanged, apply, replay
from ..tables import OpportunityColumns
from ._args import MAX_PROBLEMS, function_of_one
from ._backtest_columns import Cutoff, field, swept
from ._funnel import _listed, unique_events
from ._weighted import WeightedPipeline

_CTX = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
#: Sums of amounts, exact: a sum that would need rounding is refused (it cannot happen below 10**6 pairs).
_SUM = decimal.Context(prec=1000, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])

#: :func:`wape`, :func:`bias` and :func:`pinball` score at most this many pairs.
MAX_SCORED = 1_000_000
#: :func:`backtest` replays the history once per cut-off: at most this many.
MAX_CUTOFFS = 1_000


def as_of(
    opportunities: Iterable[Opportunity], events: Iterable[DealEvent], *, now: dt.datetime
) -> tuple[Opportunity, ...]:
    """
    The deals as they stood at *now*: those created by then, each in the
    stage, status, version, amount, expected close, forecast category and
    owner its changes up to *now* give.

    *events* is a deal log: moves (:class:`~funnelkit.stages.StageChanged`),
    edits (:class:`~funnelkit.stages.AmountChanged`,
    :class:`~funnelkit.stages.CloseDateChanged`,
    :class:`~funnelkit.stages.CategoryChanged`) and changes of owner
    (:class:`~funnelkit.assignment.OwnerChanged`; those of customers and
    leads are passed over).  A deal's first move says where it started; the
    first edit of a field says what it held before; a field never edited,
    and a deal with no move at all, are taken as they are now.  So with
    every edit logged there is no look-ahead.  An inconsistent history is
    refused with the path of the bad event, and a deal given twice with its
    index.  Cost: O(n + e log e) for n deals and e events.
    """
    now = instant(now, field="now")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    per = _by_deal(_unique(events))
    out = []
    seen: set[str] = set()
    for i, o in enumerate(opportunities):
        if not isinstance(o, Opportunity):
            c.require(o, Opportunity, "an Opportunity", f"opportunities[{i}]")
        if o.id in seen:
            msg = f"{o.id!r} appears twice; give each deal once"
            raise ValidationError.single(f"opportunities[{i}].id", msg, code="duplicate")
        seen.add(o.id)
        if o.created_at <= now:
            out.append(_stood(i, o, per.get(o.id, []), now))
    return tuple(out)


#: A change in a deal's log: a move, an edit, or a change of owner.
DealEvent = StageChanged | Edit | OwnerChanged
#: The kinds of change a deal's log holds.
_CHANGES = (StageChanged, *EDITS, OwnerChanged)


def _deal_of(e: DealEvent) -> str:
    """The id of the deal *e* changes."""
    return e.id if type(e) is OwnerChanged else e.opportunity_id  # type: ignore[union-attr]


def _by_deal(events: list[DealEvent]) -> dict[str, list[DealEvent]]:
    """The events of each deal, by its id, in the order given."""
    per: dict[str, list[DealEvent]] = {}
    if countOf(map(type, events), StageChanged) != len(events):
        for e in events:
            per.setdefault(_deal_of(e), []).append(e)
        return per
    for e in events:
        got = per.get(e.opportunity_id)  # type: ignore[union-attr]  # moves, all of them
        if got is None:
            per[e.opportunity_id] = [e]  # type: ignore[union-attr]
        else:
            got.append(e)
    return per


def _stood(i: int, o: Opportunity, history: list[DealEvent], now: dt.datetime) -> Opportunity:
    """Deal *i*, *o*, as its *history* says it stood at *now* (its errors named as ``opportunities[i]``)."""
    history = sorted(history, key=_VERSION_AT)
    if not history:
        return o
    try:
        return replay(_rewound(o, history), [e for e in history if e.at <= now])
    except ValidationError as err:
        raise err.prefixed(f"opportunities[{i}]") from None


def _rewound(o: Opportunity, history: list[DealEvent]) -> Opportunity:
    """
    *o* where its *history* (in version order) starts: at the stage its
    first move leaves, from its creation (see :func:`_start_of`), each
    edited field holding the value its first edit found, one version before
    the first change.
    """
    first_move = next((e for e in history if type(e) is StageChanged), None)
    start = o if first_move is None else _start_of(o, first_move)
    before: dict[str, Any] = {}
    for e in history:
        if type(e) is OwnerChanged:
            before.setdefault("owner", e.from_rep)
        elif type(e) is not StageChanged:
            before.setdefault(type(e).field, e.before)  # type: ignore[union-attr]
    version = max(0, cast("int", history[0].version) - 1)
    if not before and version == start.version:
        return start
    return attrs.evolve(start, version=version, **before)


def _start_of(o: Opportunity, first: StageChanged) -> Opportunity:
    """
    *o* where its recorded history starts: in the stage its first change
    leaves, from its creation (a deal whose first change is a reopen was lost then).
    """
    status = OpportunityStatus.LOST if first.kind is MoveKind.REOPEN else OpportunityStatus.OPEN
    reason = "unknown (before the recorded history)" if status is OpportunityStatus.LOST else None
    # built from checked values that meet the deal's rules (entered at creation, a reason only when
    # lost, a version of at least 0): no second check
    return moved_opportunity(o, first.from_stage, o.created_at, max(0, first.version - 1), status, reason)


_OPEN = OpportunityStatus.OPEN
#: The status a change leaves a deal in, by its kind (open for every other kind), as ``apply`` sets it.
_STATUS_AFTER = {MoveKind.WIN: OpportunityStatus.WON, MoveKind.LOSE: OpportunityStatus.LOST}
_VERSION_AT = operator.attrgetter("version", "at")


class _Timeline:
    """
    One deal's history, replayed once and kept light: *events[k]* is its
    (k + 1)-th change, made at *times[k]*; the deal after its first k
    changes is built only when it is read (:meth:`state`), from *origin*
    and that change, exactly as ``apply`` builds it.  *error* is what
    replaying refused, for the instants from *error_at* on.
    """

    __slots__ = ("_first", "_k", "_start", "_state", "error", "error_at", "events", "origin", "times")

    def __init__(self, origin: Opportunity, first: StageChanged | None = None) -> None:
        self.origin, self._first = origin, first
        self._start: Opportunity | None = origin if first is None else None
        self.times: list[dt.datetime] = []
        self.events: list[StageChanged] = []
        self.error: ValidationError | None = None
        self.error_at: dt.datetime | None = None
        self._k, self._state = -1, origin

    @property
    def start(self) -> Opportunity:
        """The deal before its first recorded change (as it is now when it has none)."""
        if self._start is None:
            self._start = _start_of(self.origin, cast("StageChanged", self._first))
        return self._start

    def state(self, k: int) -> Opportunity:
        """The deal after its first *k* changes (the last one built is kept)."""
        if k == 0:
            return self.start
        if k != self._k:
            e = self.events[k - 1]
            status = _STATUS_AFTER.get(e.kind, _OPEN)
            # what apply builds from the state before: only these five fields ever change
            self._state = moved_opportunity(self.origin, e.to_stage, e.at, e.version, status, e.lost_reason)
            self._k = k
        return self._state

    def is_open(self, k: int) -> bool:
        """Whether the deal is open after its first *k* changes."""
        if k == 0:
            first = self._first  # the start is lost when the first change reopens it (see _start_of)
            return self.origin.status is _OPEN if first is None else first.kind is not MoveKind.REOPEN
        return self.events[k - 1].kind not in _STATUS_AFTER

    def at(self, now: dt.datetime) -> Opportunity:
        """The deal as it stood at *now* (created by then): what as_of gives."""
        if self.error is not None and self.error_at is not None and self.error_at <= now:
            raise self.error
        return self.state(bisect.bisect_right(self.times, now))


class _Replayed(_Timeline):
    """
    The timeline of a deal whose history edits its fields or changes its
    owner: every state is kept, each built by ``apply`` from the one before,
    starting where :func:`_rewound` puts it.
    """

    __slots__ = ("states",)

    def __init__(self, origin: Opportunity, start: Opportunity) -> None:
        super().__init__(origin)
        self._start = start
        self.states = [start]

    def state(self, k: int) -> Opportunity:
        """The deal after its first *k* changes."""
        return self.states[k]

    def is_open(self, k: int) -> bool:
        """Whether the deal is open after its first *k* changes."""
        return self.states[k].status is _OPEN


def _edited_line(i: int, o: Opportunity, history: list[DealEvent], until: dt.datetime) -> _Replayed | None:
    """
    Deal *i*'s timeline up to *until* when its history holds edits or
    changes of owner; ``None`` when the history, in version order, is not in
    time order or cannot be rewound (as_of reads it the slow way and names
    what is wrong).
    """
    history = sorted(history, key=_VERSION_AT)
    if any(map(operator.gt, (e.at for e in history), (e.at for e in history[1:]))):
        return None
    try:
        start = _rewound(o, history)
    except ValidationError:
        return None
    line = _Replayed(o, start)
    state = start
    for j, e in enumerate(history):
        if e.at > until:
            break
        try:
            state = apply(state, e)
        except ValidationError as err:
            line.error = err.prefixed(f"events[{j}]").prefixed(f"opportunities[{i}]")
            line.error_at = e.at
            break
        line.times.append(e.at)
        line.states.append(state)
    return line


def _timelines(opps: list[Opportunity], evs: list[DealEvent], until: dt.datetime) -> list[_Timeline | None]:
    """
    Every deal's timeline up to *until*, for as_of at many instants in one
    pass; ``None`` for a deal whose history is not in time order (as_of reads
    it the slow way).  A deal given twice is refused as as_of refuses it.
    """
    per = _by_deal(evs)
    _check_unique(opps)
    out: list[_Timeline | None] = []
    for i, o in enumerate(opps):
        history = per.get(o.id)
        if not history:
            out.append(_Timeline(o))  # taken as it is now
            continue
        if countOf(map(type, history), StageChanged) != len(history):
            out.append(_edited_line(i, o, history, until))
            continue
        moves = cast("list[StageChanged]", history)
        line = _replayed(i, o, moves, until)
        if line is None:  # not in version order as given: sorted, then read again
            moves.sort(key=_VERSION_AT)
            line = _replayed(i, o, moves, until, ordered=True)
        out.append(line if line is not False else None)
    return out


def _check_unique(opps: Sequence[Opportunity]) -> None:
    """Refuse a deal given twice, by its second place (as as_of refuses it)."""
    if len(set(field(opps, "id"))) == len(opps):
        return
    seen: set[str] = set()
    for i, o in enumerate(opps):
        if o.id in seen:
            msg = f"{o.id!r} appears twice; give each deal once"
            raise ValidationError.single(f"opportunities[{i}].id", msg, code="duplicate")
        seen.add(o.id)


def _reported(
    pairs: list[tuple[dt.datetime, dt.datetime]], found: list[Cutoff], progress: c.Progress | None
) -> Backtest:
    """The backtest of the cut-offs *pairs* whose open deals, forecasts and actuals are *found*."""
    rows = []
    for n, ((start, end), row) in enumerate(zip(pairs, found, strict=True)):
        rows.append(
            BacktestRow(
                as_of=start,
                until=end,
                open_deals=row.open_deals,
                forecast=row.forecast,
                quantiles={},
                actual=row.actual,
            )
        )
        if progress is not None:
            progress(n + 1, len(pairs))
    if not rows:
        raise ValidationError.single("cutoffs", "empty; give at least one (as_of, until) pair", code="empty")
    return _scored(rows)


def _replayed(
    i: int, o: Opportunity, history: list[StageChanged], until: dt.datetime, *, ordered: bool = False
) -> _Timeline | Literal[False] | None:
    """
    Deal *i*'s timeline: its history applied up to *until*; ``None`` when
    the history is not *ordered* by version and is not in increasing
    versions (sort it by version and time, then read it again); ``False``
    when it is not in time order (as_of reads it the slow way: a history
    in version order with a change earlier than the one before is out of
    time order however it is sorted).  A change
    that follows from the state before as ``apply``'s common case does is
    taken as it is; any other is given to ``apply`` itself, which names what
    is wrong.
    """
    first = history[0]
    line = _Timeline(o, first)
    stage, version, entered, pipeline = first.from_stage, max(0, first.version - 1), o.created_at, o.pipeline
    times, events = line.times, line.events
    last_version, last_at = -1, first.at
    reading = True
    for j, e in enumerate(history):
        at, v = e.at, e.version
        if v <= last_version and not ordered:  # equal versions go by time: only a sort can tell
            return None
        if at < last_at:
            return False
        last_version, last_at = v, at
        if not reading:
            continue
        if at > until:
            reading = False
        elif (
            type(e) is StageChanged
            and e.from_stage == stage
            and v > version
            and at >= entered
            and e.pipeline == pipeline
        ):
            stage, version, entered = e.to_stage, v, at
            times.append(at)
            events.append(e)
        else:
            try:
                state = apply(line.state(len(events)), e)
            except ValidationError as err:
                line.error = err.prefixed(f"events[{j}]").prefixed(f"opportunities[{i}]")
                line.error_at = at
                reading = False
                continue
            stage, version, entered = state.stage, state.version, state.stage_entered_at
            times.append(at)
            events.append(e)
    return line


def _as_of_all(
    opps: list[Opportunity],
    per: dict[str, list[DealEvent]],
    lines: list[_Timeline | None],
    now: dt.datetime,
) -> tuple[Opportunity, ...]:
    """
    as_of(opps, evs, now=now) of the events *per* deal, read from the
    timelines (the slow way for a deal out of time order, named by its own
    place).
    """
    deals: list[Opportunity] = []
    for i, (o, line) in enumerate(zip(opps, lines, strict=True)):
        if o.created_at > now:
            continue
        if line is None:
            deals.append(_stood(i, o, per.get(o.id, []), now))
        else:
            deals.append(line.at(now))
    return tuple(deals)


class _Sweep:
    """
    :func:`_as_of_all` at the given *instants*, asked in any order, in one
    pass over every deal's creation and changes: each is put once in the
    bucket of the first instant that sees it, and an instant applies the
    buckets since the one before (an earlier instant starts again).  The
    open deals are kept as a set, so reading them costs their number, and
    a deal is built only when it is read in a new state.  Deals out of
    time order take :func:`_as_of_all`.
    """

    def __init__(
        self,
        opps: list[Opportunity],
        evs: list[DealEvent],
        lines: list[_Timeline | None],
        instants: Iterable[dt.datetime],
    ) -> None:
        self.opps, self.evs, self.lines = opps, evs, lines
        self.per: dict[str, list[DealEvent]] | None = None  # the events by deal, when read the slow way
        self.general = any(line is None for line in lines)
        self.errors = [
            (i, line) for i, line in enumerate(lines) if line is not None and line.error is not None
        ]
        points = sorted(set(instants))
        self.index = {t: p for p, t in enumerate(points)}
        # bucket p: (deal, -1) for a creation, (deal, k) for "k changes made by then"
        buckets: list[list[tuple[int, int]]] = [[] for _ in points]
        last = len(points)
        if not self.general:
            find = bisect.bisect_left
            for i, (o, line) in enumerate(zip(opps, lines, strict=True)):
                b = find(points, o.created_at)
                if b < last:
                    buckets[b].append((i, -1))
                before, lo = -1, 0
                for k, at in enumerate(cast("_Timeline", line).times, 1):
                    b = lo = find(points, at, lo)
                    if b >= last:
                        break
                    if b == before:
                        buckets[b][-1] = (i, k)
                    else:
                        buckets[b].append((i, k))
                        before = b
        self.buckets = buckets
        self._reset()

    def _reset(self) -> None:
        self.p = -1
        self.made = [0] * len(self.lines)  # changes made, per deal
        self.created = [False] * len(self.lines)
        self.live: set[int] = set()  # the deals created and open

    def _advance(self, now: dt.datetime) -> None:
        p = self.index[now]
        if p < self.p:
            self._reset()
        lines, made, created, live = self.lines, self.made, self.created, self.live
        for bucket in self.buckets[self.p + 1 : p + 1]:
            for i, k in bucket:
                if k < 0:
                    created[i] = True
                else:
                    made[i] = k
                if created[i]:
                    if lines[i].is_open(made[i]):  # type: ignore[union-attr]  # None lines are general
                        live.add(i)
                    else:
                        live.discard(i)
        self.p = p
        for i, line in self.errors:  # the first deal, in the order given, whose replay failed by now
            if line.error_at is not None and line.error_at <= now and self.opps[i].created_at <= now:
                raise line.error  # type: ignore[misc]

    def at(self, now: dt.datetime) -> tuple[Opportunity, ...]:
        """The deals created by *now*, as they stood then, in the order given."""
        if self.general:
            per = self.per
            if per is None:
                per = self.per = _by_deal(self.evs)
            return _as_of_all(self.opps, per, self.lines, now)
        self._advance(now)
        lines, made = self.lines, self.made
        return tuple(
            lines[i].state(made[i])  # type: ignore[union-attr]
            for i, created in enumerate(self.created)
            if created
        )

    def open_at(self, now: dt.datetime) -> tuple[Opportunity, ...]:
        """The deals created by *now* and open then, as they stood, in the order given."""
        if self.general:
            return tuple(o for o in self.at(now) if o.status is _OPEN)
        self._advance(now)
        lines, made = self.lines, self.made
        return tuple(lines[i].state(made[i]) for i in sorted(self.live))  # type: ignore[union-attr]


def won_between(
    opportunities: Iterable[Opportunity],
    events: Iterable[DealEvent],
    *,
    start: dt.datetime,
    end: dt.datetime,
) -> dict[str, dt.datetime]:
    """
    The deals won in ``(start, end]`` and when, by their win events (a deal
    reopened and lost again later still counts as won in the window).
    Cost: O(n + e) for n deals and e events.
    """
    start = instant(start, field="start")
    end = instant(end, field="end")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    ids = set()
    for i, o in enumerate(opportunities):
        c.require(o, Opportunity, "an Opportunity", f"opportunities[{i}]")
        ids.add(o.id)
    out = {}
    for e in _unique(events):
        if (
            type(e) is StageChanged
            and e.kind is MoveKind.WIN
            and start < e.at <= end
            and e.opportunity_id in ids
        ):
            out[e.opportunity_id] = e.at
    return out


def _won_in(
    wins: list[tuple[dt.datetime, str]], ids: set[str], start: dt.datetime, end: dt.datetime
) -> dict[str, dt.datetime]:
    """won_between read from the time-ordered wins: the deals of *ids* won in ``(start, end]``, and when."""
    lo = bisect.bisect_right(wins, (start, chr(0x10FFFF)))
    hi = bisect.bisect_right(wins, (end, chr(0x10FFFF)))
    return {deal: at for at, deal in wins[lo:hi] if deal in ids}


def _unique(events: Iterable[DealEvent]) -> list[DealEvent]:
    """
    *events*, each once, checked to be changes of deals (a stored duplicate
    must not count twice); changes of owner of customers and leads left out.
    """
    c.require_iterable(events, "StageChanged", "events")
    what = "a StageChanged, an edit or an OwnerChanged"
    listed = _listed(events, cast("type", _CHANGES), what, "events")  # each refused as soon as it is read
    if countOf(map(type, listed), StageChanged) == len(listed):  # a log of moves: as ever
        return unique_events(listed, None)  # type: ignore[return-value]
    kept = [e for e in listed if type(e) is not OwnerChanged or e.kind == "opportunity"]
    return list(dict.fromkeys(kept))


def _numbers(values: object, name: str) -> list[Decimal]:
    """
    *values* as Decimals: each a finite Decimal, an int or Money; else an error naming it.
    """
    if not c.is_iterable(values):
        raise c.at(name, c.wrong_type(values, "an iterable of amounts"))
    out = []
    problems: list[Problem] = []
    for i, v in enumerate(cast("Iterable[object]", values)):
        if i >= MAX_SCORED:
            raise ValidationError.single(
                name, f"more than {MAX_SCORED:,} amounts; score at most that many", code="limit"
            )
        if len(problems) >= MAX_PROBLEMS:
            break
        number = v.amount if isinstance(v, Money) else c.plain(v)  # a numpy int as an int
        if isinstance(number, int) and not isinstance(number, bool):
            number = Decimal(number)
        if not isinstance(number, Decimal) or not number.is_finite():
            problems.append(
                Problem(
                    path=f"{name}[{i}]",
                    code="range" if isinstance(number, Decimal) else "type",
                    message=f"{c.show(v)} is not a finite Decimal, int or Money",
                )
            )
        else:
            out.append(number)
    if problems:
        raise ValidationError(problems)
    return out


#: What a forecaster returns: a point forecast, or quantiles (level -> value).
Forecast = Money | Mapping[float, Money]


@attrs.frozen(kw_only=True)
class BacktestRow:
    """
    One cut-off: the forecast made from the deals open at *as_of*, and the
    amount of those deals actually won in ``(as_of, until]``.
    """

    as_of: dt.datetime
    until: dt.datetime
    open_deals: int
    forecast: Money | None
    quantiles: Mapping[float, Money]
    actual: Money


#: At most this many cut-offs are named under a backtest's picture.
_DATE_TICKS = 6


@attrs.frozen(kw_only=True, repr=False)
class Backtest(Report):
    """
    Every cut-off and the scores over all of them (``None`` where the
    forecaster gave no point forecast, or no quantiles).

    A :class:`~funnelkit.Report`: its table has one row per cut-off (the
    window, the open deals, the forecast or its quantiles ``q0.1``, ...,
    the actual and the error, forecast - actual); :meth:`to_svg` draws the
    forecast against the actual.

    Not mergeable, by nature: each cut-off's forecast is the caller's
    function of the whole book as it stood, and a forecast of the whole is
    not the sum of the forecasts of parts in general (quantiles never add),
    nor are the scores.  Backtest the whole history in one process: one
    sweep over the time-ordered events serves every cut-off.
    """

    rows: tuple[BacktestRow, ...]
    wape: Fraction | None
    bias: Fraction | None
    pinball: Mapping[float, Decimal]

    def _summary(self) -> str:
        if not self.rows:
            return "no cut-offs"
        first, last = self.rows[0].as_of.date(), self.rows[-1].as_of.date()
        scores = [
            "WAPE -" if self.wape is None else f"WAPE {float(self.wape):.1%}",
            "bias -" if self.bias is None else f"bias {float(self.bias):+.1%}",
        ]
        scores += [f"pinball({q:g}) {float(loss):,.2f}" for q, loss in sorted(self.pinball.items())]
        return f"{len(self.rows)} cut-offs from {first} to {last}; {', '.join(scores)}"

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per cut-off: its window, open deals, forecast, quantiles, actual and error.
        """
        return [
            {
                "as_of": r.as_of,
                "until": r.until,
                "open_deals": r.open_deals,
                **money_cells("forecast", r.forecast),
                **{f"q{q:g}": v for q, v in sorted(r.quantiles.items())},
                "actual": r.actual,
                **money_cells("error", None if r.forecast is None else r.forecast - r.actual),
            }
            for r in self.rows
        ]

    def to_svg(self) -> str:
        """
        The forecast against the actual at each cut-off, as an inline SVG
        chart (no plotting dependency): the actual and the point forecast
        as lines with a dot per cut-off, and for quantile forecasts the band
        from the lowest to the highest level, with the median dashed.  Cut-offs
        are placed by their date; up to six of them are named under the chart.

        Cost: O(k) for k cut-offs.
        """
        currency = self.rows[0].actual.currency if self.rows else ""
        title = "backtest: forecast against actual"
        if not self.rows:
            return chart_svg(title=f"{title}: no cut-offs", x=nice_axis(0, 1), y=nice_axis(0, 1))
        start = self.rows[0].as_of
        xs = [(r.as_of - start) / dt.timedelta(days=1) for r in self.rows]
        pad = max(0.5, (max(xs) - min(xs)) * 0.08)
        every = max(1, math.ceil(len(self.rows) / _DATE_TICKS))
        ticks = tuple((xs[i], self.rows[i].as_of.date().isoformat()) for i in range(0, len(self.rows), every))
        x = Axis(min(xs) - pad, max(xs) + pad, ticks)

        def money(values: Sequence[Money | None]) -> list[tuple[float, float]]:
            return [(t, finite(v.amount)) for t, v in zip(xs, values, strict=True) if v is not None]

        actual = money([r.actual for r in self.rows])
        lines = [Line("actual", actual, color=INK, markers="dot")]
        bands = []
        levels = sorted(self.rows[0].quantiles)
        if all(r.forecast is not None for r in self.rows):
            lines.append(Line("forecast", money([r.forecast for r in self.rows]), markers="dot"))
        if levels and all(sorted(r.quantiles) == levels for r in self.rows):
            low, high = levels[0], levels[-1]
            upper = money([r.quantiles[high] for r in self.rows])
            lower = money([r.quantiles[low] for r in self.rows])
            bands.append(Band(f"q{low:g} to q{high:g}", upper, lower))
            if 0.5 in levels:
                median = money([r.quantiles[0.5] for r in self.rows])
                lines.append(Line("median forecast", median, dashed=True))
        values = [v for line in lines for _, v in line.points]
        values += [v for b in bands for _, v in (*b.upper, *b.lower)]
        return chart_svg(
            title=title,
            x=x,
            y=nice_axis(min(0.0, *values), max(values)),
            x_label="cut-off (as of)",
            y_label=f"won in the window ({currency})",
            bands=bands,
            lines=lines,
        )


def _pairs(actuals: object, forecasts: object) -> tuple[list[Decimal], list[Decimal]]:
    a = _numbers(actuals, "actuals")
    f = _numbers(forecasts, "forecasts")
    if len(a) != len(f) or not a:
        msg = f"{len(a)} actuals and {len(f)} forecasts; give as many of each, at least one"
        raise ValidationError.single("forecasts", msg, code="conflict" if len(a) != len(f) else "empty")
    return a, f


def wape(actuals: Sequence[Decimal], forecasts: Sequence[Decimal]) -> Fraction:
    """
    Weighted absolute percentage error: ``sum |actual - forecast| / sum |actual|``
    (Kolassa & Schütz 2007, "Advantages of the MAD/MEAN ratio over the MAPE").
    Cost: O(n) for n pairs (at most 10**6, ``MAX_SCORED``).

    >>> wape([Decimal(100), Decimal(200)], [Decimal(110), Decimal(170)])
    Fraction(2, 15)
    """
    a, f = _pairs(actuals, forecasts)
    add, sub = _SUM.add, _SUM.subtract
    denominator = Decimal(0)
    errors = Decimal(0)
    for x, y in zip(a, f, strict=True):
        denominator = add(denominator, x.copy_abs())  # abs() would round in the caller's context
        errors = add(errors, sub(x, y).copy_abs())
    if not denominator:
        raise ValidationError.single("actuals", "all zero; WAPE is undefined", code="range")
    return Fraction(errors) / Fraction(denominator)


def bias(actuals: Sequence[Decimal], forecasts: Sequence[Decimal]) -> Fraction:
    """
    Relative bias: ``sum (forecast - actual) / sum actual``; positive means
    the forecasts ran high.  Cost: O(n) for n pairs (at most 10**6).

    >>> bias([Decimal(100), Decimal(200)], [Decimal(110), Decimal(170)])
    Fraction(-1, 15)
    """
    a, f = _pairs(actuals, forecasts)
    add, sub = _SUM.add, _SUM.subtract
    denominator = Decimal(0)
    errors = Decimal(0)
    for x, y in zip(a, f, strict=True):
        denominator = add(denominator, x)
        errors = add(errors, sub(y, x))
    if not denominator:
        raise ValidationError.single("actuals", "sum to zero; the relative bias is undefined", code="range")
    return Fraction(errors) / Fraction(denominator)


def pinball(level: float, actuals: Sequence[Decimal], forecasts: Sequence[Decimal]) -> Decimal:
    """
    The mean pinball (quantile) loss of forecasts of the *level* quantile:
    ``level * (a - f)`` when the actual is above the forecast, else
    ``(1 - level) * (f - a)`` (Koenker & Bassett 1978; Hyndman &
    Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., 5.9).
    Lower is better; a p90 forecast is punished nine times more for being
    too low than for being too high.  Cost: O(n) for n pairs (at most 10**6).

    >>> pinball(0.9, [Decimal(100), Decimal(100)], [Decimal(80), Decimal(130)])
    Decimal('10.5')
    """
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        code = "type" if isinstance(level, bool) or not isinstance(level, float | int) else "range"
        raise ValidationError.single("level", f"{c.show(level)} is not a quantile level in (0, 1)", code=code)
    a, f = _pairs(actuals, forecasts)
    q = Decimal(str(level))
    total = Decimal(0)
    mul, sub, add = _CTX.multiply, _CTX.subtract, _CTX.add
    for x, y in zip(a, f, strict=True):
        total = add(total, mul(q, sub(x, y)) if x >= y else mul(sub(1, q), sub(y, x)))
    return _CTX.divide(total, Decimal(len(a)))


def backtest(
    opportunities: Sequence[Opportunity],
    events: Sequence[DealEvent],
    *,
    cutoffs: Iterable[tuple[dt.datetime, dt.datetime]],
    forecast: Callable[[tuple[Opportunity, ...]], Forecast],
    currency: str,
    actual: Literal["pipeline", "bookings"] = "pipeline",
    progress: c.Progress | None = None,
) -> Backtest:
    """
    Run *forecast* on the open deals as they stood at each cut-off
    ``(as_of, until)`` and compare it with the amount of those deals won in
    ``(as_of, until]``; score all cut-offs together with :func:`wape`,
    :func:`bias` and, for quantile forecasts, :func:`pinball`.

    *forecast* receives the open deals at the cut-off and returns a point
    forecast (``Money``) or quantiles (a mapping of level to ``Money``, such
    as ``{0.1: d.p10, 0.5: d.p50, 0.9: d.p90}`` from
    :func:`simulate_revenue`).  All amounts must be in *currency*.  This is
    how to check a "90-95 % accurate" claim on one's own data:
    accuracy = 1 - WAPE.

    *actual* is ``"pipeline"`` (the default: what the deals open at the
    cut-off went on to win, the quantity a pipeline forecast predicts) or
    ``"bookings"`` (everything won in the window, deals created after the
    cut-off included).

    *events* is the deals' log as :func:`as_of` reads it.  Beware of
    look-ahead: with the edits of amounts, close dates and categories in the
    log (:func:`funnelkit.stages.edit`), each cut-off sees the deals as they
    were, and a won deal counts at the amount it stood at when its window
    ended; a field the log never edits is today's.  A forecaster that picks
    deals by ``expected_close`` from a log of moves only uses close dates
    often corrected at the win, and looks more accurate than it was.

    *progress*, when given, is called as ``progress(done, total)`` after
    each cut-off.

    Each deal's history is replayed once, up to the last cut-off, and read
    at every cut-off.  Cost: O(e log e + k n log e) for k cut-offs (at
    most 1,000, ``MAX_CUTOFFS``), n deals and e events, plus the
    forecaster's own.
    """
    opps = _check_backtest(
        opportunities, cutoffs=cutoffs, forecast=forecast, currency=currency, actual=actual
    )
    problem = c.progress_problem(progress)
    if problem is not None:
        raise c.at("progress", problem)
    pairs = []
    for n, pair in enumerate(cutoffs):
        if n >= MAX_CUTOFFS:
            msg = (
                f"more than {MAX_CUTOFFS:,} cut-offs; each forecasts the pipeline, so give at most that many"
            )
            raise ValidationError.single("cutoffs", msg, code="limit")
        pairs.append(_cutoff(pair, n))
    # the weighted pipeline itself (a subclass may forecast otherwise) on a history kept as columns
    if isinstance(events, HistoryColumns) and type(forecast) is WeightedPipeline:
        _check_unique(opps)
        found = swept(opps, events, pairs, forecast, currency, actual)
        if found is not None:  # the weighted pipeline on the history's columns, every cut-off at once
            return _reported(pairs, found, progress)
    opps = list(opps)  # deals kept as columns: built
    evs = _unique(events)
    # each deal's history replayed once, up to the last instant asked: one sweep, not one per cut-off
    lines = _timelines(opps, evs, max((end for _, end in pairs), default=_EPOCH))
    wins = sorted((e.at, e.opportunity_id) for e in evs if type(e) is StageChanged and e.kind is MoveKind.WIN)
    starts = _Sweep(opps, evs, lines, (start for start, _ in pairs))  # in any order; sorted is cheapest
    # with amounts edited, a deal's won amount is the one it stood at when the window ended
    edited = countOf(map(type, evs), StageChanged) != len(evs)
    booked = actual == "bookings" or edited
    ends = _Sweep(opps, evs, lines, (end for _, end in pairs)) if booked else starts
    rows = []
    for n, (start, end) in enumerate(pairs):
        open_then = starts.open_at(start)
        if actual == "bookings":
            pool = ends.at(end)
        elif edited:
            standing = {o.id: o for o in ends.at(end)}
            pool = tuple(standing[o.id] for o in open_then)
        else:
            pool = open_then
        won = _won_in(wins, {o.id for o in pool}, start, end)
        got = _won_total(pool, won, currency, n)
        made = forecast(open_then)
        point, quantiles = _read(made, currency, n)
        rows.append(
            BacktestRow(
                as_of=start,
                until=end,
                open_deals=len(open_then),
                forecast=point,
                quantiles=quantiles,
                actual=got,
            )
        )
        if progress is not None:
            progress(n + 1, len(pairs))
    if not rows:
        raise ValidationError.single("cutoffs", "empty; give at least one (as_of, until) pair", code="empty")
    return _scored(rows)


def _check_backtest(
    opportunities: Sequence[Opportunity],
    *,
    cutoffs: object,
    forecast: object,
    currency: str,
    actual: object,
) -> Sequence[Opportunity]:
    """
    The arguments of :func:`backtest` checked (the first problem raised),
    and the deals: a list, or deals kept as columns as they are.
    """
    if actual not in ("pipeline", "bookings"):
        raise ValidationError.single(
            "actual", f"{c.show(actual)} is not 'pipeline' or 'bookings'", code="choice"
        )
    if not c.is_iterable(cutoffs):
        raise c.at("cutoffs", c.wrong_type(cutoffs, "an iterable of (as_of, until) pairs"))
    money_problem = currency_problem(currency)
    if money_problem is not None:
        raise c.at("currency", money_problem)
    function_of_one(forecast, "the open deals", "forecast")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    if isinstance(opportunities, OpportunityColumns):  # deals by construction, kept as columns
        return opportunities
    # each refused as soon as it is read, the good ones checked by one C loop
    return _listed(opportunities, Opportunity, "an Opportunity", "opportunities")


def _cutoff(pair: object, n: int) -> tuple[dt.datetime, dt.datetime]:
    """Cut-off *n*, an ``(as_of, until)`` pair, checked: its two instants."""
    if not (isinstance(pair, tuple) and len(pair) == 2):
        raise ValidationError.single(
            f"cutoffs[{n}]", f"{c.show(pair)} is not an (as_of, until) pair", code="type"
        )
    start = instant(pair[0], field=f"cutoffs[{n}][0]")
    end = instant(pair[1], field=f"cutoffs[{n}][1]")
    if end <= start:
        raise ValidationError.single(
            f"cutoffs[{n}]", f"until {end.isoformat()} is not after as_of", code="order"
        )
    return start, end


def _scored(rows: list[BacktestRow]) -> Backtest:
    """The backtest of *rows* (at least one), scored: WAPE, bias and pinball loss per quantile level."""
    actuals = [r.actual.amount for r in rows]
    points = [r.forecast.amount for r in rows if r.forecast is not None]
    scored = len(points) == len(rows) and any(actuals)
    levels = set(rows[0].quantiles)
    for n, r in enumerate(rows):
        if set(r.quantiles) != levels:
            msg = f"quantile levels {sorted(r.quantiles)} differ from the first cut-off's {sorted(levels)}"
            raise ValidationError.single(f"forecast(cutoffs[{n}])", msg, code="callable")
    losses = {q: pinball(q, actuals, [r.quantiles[q].amount for r in rows]) for q in sorted(levels)}
    return Backtest(
        rows=tuple(rows),
        wape=wape(actuals, points) if scored else None,
        bias=bias(actuals, points) if scored and _sum(actuals) else None,
        pinball=losses,
    )


def _sum(values: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for v in values:
        total = _CTX.add(total, v)
    return total


def _won_total(pool: tuple[Opportunity, ...], won: Mapping[str, Any], currency: str, n: int) -> Money:
    """
    The amount of the deals of *pool* won, in *currency*; a deal in another
    currency is named.
    """
    amounts = []
    for o in pool:
        if o.id in won and o.amount is not None:
            if o.amount.currency != currency:
                where = f"opportunities[{o.id!r}].amount"
                raise CurrencyMismatchError(
                    f"score cut-off {n} against", currency, o.amount.currency, path=where
                )
            amounts.append(o.amount)
    return Money.total(amounts, currency=currency)


def _read(made: object, currency: str, n: int) -> tuple[Money | None, Mapping[float, Money]]:
    where = f"forecast(cutoffs[{n}])"
    if isinstance(made, Money):
        if made.currency != currency:
            raise CurrencyMismatchError("score", currency, made.currency, path=where)
        return made, {}
    made = c.to_mapping(made, where)  # a pandas Series of quantile level to Money
    if isinstance(made, Mapping) and made:
        problems = []
        for q, v in made.items():
            if isinstance(q, bool) or not isinstance(q, float | int) or not 0 < q < 1:
                problems.append(
                    Problem(
                        path=f"{where}[{q!r}]",
                        code="callable",
                        message="the key is not a quantile level in (0, 1)",
                    )
                )
            elif not isinstance(v, Money):
                problems.append(
                    Problem(path=f"{where}[{q!r}]", code="callable", message=f"{c.show(v)} is not Money")
                )
            elif v.currency != currency:
                raise CurrencyMismatchError("score", currency, v.currency, path=f"{where}[{q!r}]")
        if problems:
            raise ValidationError(problems)
        return None, dict(made)
    raise ValidationError.single(
        where, f"{c.show(made)} is neither Money nor a mapping of quantile level to Money", code="callable"
    )
