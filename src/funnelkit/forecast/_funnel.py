"""
Funnel analytics from stage-change history: conversion and loss per stage,
time in stage, win rate, cycle length and sales velocity.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import reduce
from itertools import accumulate, compress, count, islice, repeat
from operator import attrgetter, countOf, eq, floordiv, is_, is_not, itemgetter, mul, not_, sub
from typing import Any, NamedTuple, cast

import attrs

from .. import _checks as c
from .._columns import half_even_int
from .._money import MAX_INTEGER_DIGITS, Money, _add, _in_range, _make, decimal_of
from .._optional import numpy as _numpy
from .._report import Report, conflict
from .._repr import funnel_svg
from .._time import EPOCH as _EPOCH
from ..entities import Opportunity, OpportunityStatus
from ..errors import CurrencyMismatchError, ValidationError
from ..stages import HistoryColumns, MoveKind, Pipeline, StageChanged
from ..tables import OpportunityColumns

_DAY = dt.timedelta(days=1)
_MICROSECOND = dt.timedelta(microseconds=1)
_MICROSECONDS_A_DAY = _DAY // _MICROSECOND
_FORWARD = (MoveKind.ADVANCE, MoveKind.WIN)

# Field readers: C-level reads of the records' fields, one column at a time.
_DEAL = attrgetter("opportunity_id")
_KIND = attrgetter("kind")
_FROM = attrgetter("from_stage")
_TO = attrgetter("to_stage")
_VERSION = attrgetter("version")
_TIME = attrgetter("time_in_stage")
_AT = attrgetter("at")
_PIPELINE = attrgetter("pipeline")
_ID = attrgetter("id")
_STAGE = attrgetter("stage")
_STATUS = attrgetter("status")
_CREATED = attrgetter("created_at")
_AMOUNT = attrgetter("amount")
_CURRENCY = attrgetter("currency")
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_DAYS = attrgetter("days")
_SECONDS = attrgetter("seconds")
_MICROSECONDS = attrgetter("microseconds")
#: Move kinds as the columnar path numbers them (it reads only values of type MoveKind: members).
_KIND_NUMBERS = {k: i for i, k in enumerate(MoveKind)}
_ADVANCE, _WIN, _LOSE = (_KIND_NUMBERS[k] for k in (MoveKind.ADVANCE, MoveKind.WIN, MoveKind.LOSE))
_INT64_LIMIT = 2**63
#: The longest time in stage the columnar path counts in int64 microseconds (with room for the stage).
_LONGEST_DAYS = 100_000
#: How many items of an iterator are read (and checked) at a time.
_CHUNK = 1 << 16
#: The first chunk: a bad item is refused having read at most twice the items before it, plus this.
_FIRST_CHUNK = 64


def _nearest_rank(times: Sequence[tuple[dt.timedelta, int]], n: int, q: float) -> dt.timedelta:
    """
    The q-quantile by nearest rank of the *n* times counted in *times*
    (``(time, how many)`` pairs in time order): the smallest time with at
    least q of them at or below it (how funnelkit defines p10, p50 and p90).
    """
    rank = max(0, math.ceil(q * n) - 1)
    seen = 0
    for time, how_many in times:
        seen += how_many
        if seen > rank:
            return time
    return times[-1][0]  # unreachable for counts that sum to n


@attrs.frozen(kw_only=True)
class StageStats:
    """
    What happened to the deals that left one stage.

    *entered* counts the deals that came into the stage (created in it, or
    moved into it by any move: forward, skip, back or reopen);
    *conversion* is the share of those that left which moved forward
    (``None`` when none left); *loss_rate* the share lost from it; the times
    are how long deals stayed before leaving (``None`` when none left).
    """

    stage: str
    advanced: int
    lost: int
    conversion: Fraction | None
    loss_rate: Fraction | None
    median_time: dt.timedelta | None
    mean_time: dt.timedelta | None
    p90_time: dt.timedelta | None
    entered: int = 0


@attrs.frozen(kw_only=True)
class FunnelTally:
    """
    The sufficient statistics behind a :class:`FunnelReport`: what
    :meth:`FunnelReport.merge` adds up, and no deal or event.

    *times* holds, per open stage in the report's order, the times in stage
    of the deals that left it, as ``(time, how many)`` pairs in time order:
    exact medians and p90s need every distinct time, so its size is the
    number of distinct times per stage (a few hundred for times in whole
    days or hours, up to one per move for times to the microsecond).
    *days_to_win* is the sum of the days from creation to each win whose
    deal was given (*dated_wins* of them), *days_to_lose* the same for
    losses; *won_amounts* the amounts of the won deals, one sum per currency
    in currency order, over the *priced_wins* wins with an amount.
    """

    times: tuple[tuple[tuple[dt.timedelta, int], ...], ...]
    days_to_win: Fraction = Fraction(0)
    dated_wins: int = 0
    days_to_lose: Fraction = Fraction(0)
    dated_losses: int = 0
    won_amounts: tuple[Money, ...] = ()
    priced_wins: int = 0


@attrs.frozen(kw_only=True, repr=False)
class FunnelReport(Report):
    """
    Funnel analytics of one pipeline.

    *velocity* is open deals x average won deal size x win rate / average
    days to win: the revenue the funnel produces per day (``None`` when any
    part is unknown).

    *pipeline* is the key of the pipeline, and *tally* (a
    :class:`FunnelTally`) the counts and sums the numbers are worked out
    from: the times in stage per stage, the days to each close and the won
    amounts per currency, not the deals or events themselves.  So
    :meth:`merge` combines the reports of partitions split by deal (each
    deal with all its events in one partition) into exactly the report of
    the whole, also after a trip through a document.  A report built by hand
    has no tally and does not merge.
    """

    stages: tuple[StageStats, ...]
    won: int
    lost: int
    win_rate: Fraction | None
    mean_days_to_win: Fraction | None
    mean_days_to_lose: Fraction | None
    open_deals: int
    velocity: Money | None
    pipeline: str | None = None
    tally: FunnelTally | None = None

    def merge(self, other: FunnelReport) -> FunnelReport:
        """
        The report over the deals and events of both, for partitions split
        by deal (each deal with all its events in one partition): exactly
        what :func:`funnel` gives over all of them.  An event given to two
        partitions counts twice (one pass would count it once), and a deal
        whose events are split between partitions counts by each part's.

        Refused by name when the reports are of another pipeline or other
        stages (``conflict``), or one was built by hand (``state``); a
        velocity over won deals in two currencies raises
        :class:`~funnelkit.errors.CurrencyMismatchError`, as one pass does.

        Cost: O(s t log t) for s stages and t distinct times in stage.
        """
        c.require(other, FunnelReport, "a FunnelReport", "other")
        if self.tally is None or other.tally is None:
            raise ValidationError.single("other", "only reports made by funnel() can be merged", code="state")
        if other.pipeline != self.pipeline:
            raise conflict("pipeline", self.pipeline, other.pipeline, "pipeline")
        keys = [s.stage for s in self.stages]
        if [s.stage for s in other.stages] != keys:
            raise conflict("stages", keys, [s.stage for s in other.stages], "open stages")
        mine, theirs = self.tally, other.tally
        for path, tally in (("self", mine), ("other", theirs)):
            if len(tally.times) != len(keys):
                msg = f"{len(tally.times)} stages of times for {len(keys)} open stages; the tally was altered"
                raise ValidationError.single(f"{path}.tally.times", msg, code="state")
        counts = [
            (a.stage, a.advanced + b.advanced, a.lost + b.lost, a.entered + b.entered)
            for a, b in zip(self.stages, other.stages, strict=True)
        ]
        amounts = {m.currency: m for m in mine.won_amounts}
        for m in theirs.won_amounts:
            amounts[m.currency] = amounts[m.currency] + m if m.currency in amounts else m
        tally = FunnelTally(
            times=tuple(_merged_times(a, b) for a, b in zip(mine.times, theirs.times, strict=True)),
            days_to_win=mine.days_to_win + theirs.days_to_win,
            dated_wins=mine.dated_wins + theirs.dated_wins,
            days_to_lose=mine.days_to_lose + theirs.days_to_lose,
            dated_losses=mine.dated_losses + theirs.dated_losses,
            won_amounts=tuple(amounts[k] for k in sorted(amounts)),
            priced_wins=mine.priced_wins + theirs.priced_wins,
        )
        return _report(
            self.pipeline,
            counts,
            won=self.won + other.won,
            lost=self.lost + other.lost,
            open_deals=self.open_deals + other.open_deals,
            tally=tally,
        )

    def reached(self) -> tuple[tuple[str, int], ...]:
        """
        How many deals left each open stage, forward or lost: the funnel's
        throughput, stage by stage.
        Cost: O(s) for s stages.
        """
        return tuple((s.stage, s.advanced + s.lost) for s in self.stages)

    def to_svg(self) -> str:
        """
        The funnel as an inline SVG chart (no plotting dependency): one bar
        per open stage, as wide as the deals that left it, labelled with the
        count and the conversion.
        Cost: O(s) for s stages.
        """
        bars = [
            (
                s.stage,
                float(s.advanced + s.lost),
                f"{s.advanced + s.lost}"
                + (f" ({float(s.conversion):.0%} on)" if s.conversion is not None else ""),
            )
            for s in self.stages
        ]
        return funnel_svg(bars, title="deals through each stage")

    def _summary(self) -> str:
        rate = "-" if self.win_rate is None else f"{float(self.win_rate):.0%}"
        velocity = "-" if self.velocity is None else f"{self.velocity} per day"
        return (
            f"{len(self.stages)} stages, {self.won} won, {self.lost} lost, {self.open_deals} open; "
            f"win rate {rate}, velocity {velocity}"
        )

    def _rows(self) -> Iterable[dict[str, object]]:
        """
        One row per open stage: its counts, conversion, loss rate and times.
        """
        return (attrs.asdict(s, recurse=False) for s in self.stages)


def _merged_times(
    a: tuple[tuple[dt.timedelta, int], ...], b: tuple[tuple[dt.timedelta, int], ...]
) -> tuple[tuple[dt.timedelta, int], ...]:
    """Two stages' ``(time, how many)`` pairs as one, in time order."""
    counts = Counter(dict(a))
    for time, n in b:
        counts[time] += n
    return tuple(sorted(counts.items()))


def funnel(
    opportunities: Iterable[Opportunity],
    events: Iterable[StageChanged],
    pipeline: Pipeline,
) -> FunnelReport:
    """
    Funnel analytics from the deals of *pipeline* and their stage changes:
    per open stage, how many deals moved forward or were lost and how long
    they stayed (median, mean, p90 by nearest rank); the win rate of closed
    deals (a reopened deal counts by its last close); the mean days from
    creation to a win or a loss; and the sales velocity.

    With numpy installed the events are counted column by column (the same
    report, exactly); without it, one event at a time.  A history kept as
    columns (:class:`~funnelkit.stages.HistoryColumns`), with its deals
    given as values or kept as columns
    (:class:`~funnelkit.tables.OpportunityColumns`), is read by its columns
    without building an event or a deal.

    Cost: O(n + e log e + s t log t) for n deals, e events, s stages and t distinct times in stage.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    if isinstance(events, HistoryColumns) and isinstance(opportunities, OpportunityColumns):
        return _history_report(_Deals(table=opportunities, pipeline=pipeline.key), events, pipeline)
    opps = _deals_of(opportunities, pipeline.key)
    if isinstance(events, HistoryColumns):  # a history kept as columns: read as it is
        return _history_report(_Deals(opps), events, pipeline)
    given = _of_pipeline(_checked_events(events), pipeline.key)
    report = _columnar_report(opps, given, pipeline)
    return _exact_report(opps, _unique(given), pipeline) if report is None else report


def _exact_report(
    opps: dict[str, Opportunity], events: list[StageChanged], pipeline: Pipeline
) -> FunnelReport:
    """
    The report from the deals and the (unique) events, one event at a time:
    the definition :func:`_columnar_report` is held to.
    """
    tally = _Tally(pipeline)
    tally.add_all(events)
    tally.count_starts(opps)
    won = [e for e in tally.closes.values() if e.kind is MoveKind.WIN]
    lost = [e for e in tally.closes.values() if e.kind is MoveKind.LOSE]
    to_win, dated_wins = _days(won, opps)
    to_lose, dated_losses = _days(lost, opps)
    amounts: dict[str, Money] = {}
    priced = 0
    for e in won:
        deal = opps.get(e.opportunity_id)
        if deal is not None and deal.amount is not None:
            priced += 1
            got = amounts.get(deal.amount.currency)
            amounts[deal.amount.currency] = deal.amount if got is None else got + deal.amount
    counts = [(s, *tally.left[s][:2], tally.entered[s]) for s in tally.left]
    return _report(
        pipeline.key,
        counts,
        won=len(won),
        lost=len(lost),
        open_deals=sum(1 for o in opps.values() if o.status is OpportunityStatus.OPEN),
        tally=FunnelTally(
            times=tuple(tuple(sorted(tally.left[s][2].items())) for s in tally.left),
            days_to_win=to_win,
            dated_wins=dated_wins,
            days_to_lose=to_lose,
            dated_losses=dated_losses,
            won_amounts=tuple(amounts[k] for k in sorted(amounts)),
            priced_wins=priced,
        ),
    )


def _columnar_report(
    opps: dict[str, Opportunity],
    events: list[StageChanged],
    pipeline: Pipeline,
    *,
    deduplicated: bool = False,
) -> FunnelReport | None:
    """
    :func:`_exact_report` of the deals and the events (repeated ones
    dropped here), worked out on columns with numpy: each field read once
    by a C-level loop, moves counted with ``bincount``, each deal's first
    move and last close found by a stable sort, the times in stage counted
    per stage in whole microseconds.  ``None`` (the exact path answers)
    without numpy, or for values it does not number: a kind that is not a
    MoveKind, a time in stage that is not exactly a ``timedelta`` or is
    longer than 100,000 days, a version beyond 64 bits.
    """
    np = _numpy()
    if np is None:
        return None
    int64 = np.int64
    n = len(events)
    keys = list(dict.fromkeys(s.key for s in pipeline.open_stages))
    stages = len(keys)
    code_of = {k: i for i, k in enumerate(keys)}  # the exact path's dicts: the same lookups
    deals: dict[str, int] = {}
    deal = np.fromiter(map(deals.setdefault, map(_DEAL, events), count()), int64, n)
    kinds = list(map(_KIND, events))
    if countOf(map(type, kinds), MoveKind) != n:
        return None
    try:
        version = np.fromiter(map(_VERSION, events), int64, n)
    except (OverflowError, TypeError, ValueError):
        return None
    # each deal's moves by version, then as given: a repeat shows as two equal neighbours
    by_deal, same_deal, repeated = _by_deal_and_version(np, deal, version)
    if repeated and not deduplicated:
        return _columnar_report(opps, _unique(events), pipeline, deduplicated=True)
    kind = np.fromiter(map(_KIND_NUMBERS.__getitem__, kinds), int64, n)
    source = np.fromiter(map(code_of.get, map(_FROM, events), repeat(stages)), int64, n)
    leaving = _leaving(kind, source, stages)
    times = _stage_times(np, events, leaving, source, stages)
    if times is None:
        return None
    entered = [0] * stages
    for stage, many in Counter(map(_TO, events)).items():
        i = code_of.get(stage)
        if i is not None:
            entered[i] += many

    def closed(at: Any) -> tuple[list[dt.datetime], list[str]]:
        closes = list(map(events.__getitem__, at.tolist()))
        return list(map(_AT, closes)), list(map(_DEAL, closes))

    moves = _Moves(deal, version, kind, source, leaving, deals.__contains__, entered, closed)
    return _counted(np, _Deals(opps), pipeline, moves, (by_deal, same_deal), times)


def _leaving(kind: Any, source: Any, stages: int) -> Any:
    """Which moves leave an open stage forward, to a win or to a loss (the moves timed and counted)."""
    return (source < stages) & ((kind == _ADVANCE) | (kind == _WIN) | (kind == _LOSE))


class _Moves(NamedTuple):
    """
    The events as columns: per event its deal's code, version, kind (as
    ``_KIND_NUMBERS``), the open stage it left (the number of open stages
    for another), whether it leaves an open stage (:func:`_leaving`);
    whether a deal id has events, the events into each open stage, and the
    times and deal ids of the closes at some positions.
    """

    deal: Any
    version: Any
    kind: Any
    source: Any
    leaving: Any
    moved: Callable[[str], bool]
    entered: list[int]
    closed: Callable[[Any], tuple[list[dt.datetime], list[str]]]


#: The stages' ``(time, how many)`` pairs and (median, mean, p90), as :func:`_stage_times` gives them.
_Times = list[
    tuple[tuple[tuple[dt.timedelta, int], ...], tuple[dt.timedelta, dt.timedelta, dt.timedelta] | None]
]


def _counted(  # noqa: PLR0917 - the columns and what was found from them
    np: Any,
    opps: _Deals,
    pipeline: Pipeline,
    m: _Moves,
    order: tuple[Any, Any],
    times: _Times,
) -> FunnelReport:
    """
    The report of the deals *opps* and the moves *m* (each once; *order*
    is their order by deal and version, and whether each is of the deal
    before it, as :func:`_by_deal_and_version` gives them) whose times in
    stage are *times*.
    """
    keys = list(dict.fromkeys(s.key for s in pipeline.open_stages))
    stages = len(keys)
    code_of = {k: i for i, k in enumerate(keys)}
    by_deal, same_deal = order
    source, lose = m.source, m.kind == _LOSE
    # where each deal started: its first move's origin, or where it still is
    first = by_deal[np.concatenate(([True], ~same_deal))] if len(by_deal) else by_deal
    still = np.fromiter(map(code_of.get, opps.stages_unless(m.moved), repeat(stages)), np.int64)
    starts = np.bincount(np.concatenate((source[first], still)), minlength=stages + 1)[:stages].tolist()
    entered = list(map(operator.add, starts, m.entered))
    advanced = np.bincount(source[m.leaving & ~lose], minlength=stages).tolist()
    lost_from = np.bincount(source[m.leaving & lose], minlength=stages).tolist()
    closes = np.flatnonzero(m.leaving & ((m.kind == _WIN) | lose))
    won_at, lost_at = _last_closes(np, closes, deal=m.deal, version=m.version, kind=m.kind)
    won, won_ids = m.closed(won_at)
    lost, lost_ids = m.closed(lost_at)
    created, known = opps.created(won_ids)
    to_win, dated_wins = _summed_days(won, created)
    to_lose, dated_losses = _summed_days(lost, opps.created(lost_ids)[0])
    amounts, priced = _won_amounts(opps.amounts(known))
    return _report(
        pipeline.key,
        [(key, advanced[i], lost_from[i], entered[i]) for i, key in enumerate(keys)],
        won=len(won),
        lost=len(lost),
        open_deals=opps.open_deals(),
        tally=FunnelTally(
            times=tuple(pairs for pairs, _ in times),
            days_to_win=to_win,
            dated_wins=dated_wins,
            days_to_lose=to_lose,
            dated_losses=dated_losses,
            won_amounts=amounts,
            priced_wins=priced,
        ),
        summaries=[summary for _, summary in times],
    )


def _history_report(opps: _Deals, history: HistoryColumns, pipeline: Pipeline) -> FunnelReport:
    """
    :func:`_exact_report` of the deals and a history kept as columns (its
    events each once, of one pipeline, each a move a table recorded): the
    columns read as they are, no event built.
    """
    np = _numpy()
    if history.pipeline != pipeline.key:
        return _exact_report(opps.mapping(), [], pipeline)
    deal, ids = history.codes("opportunity_id")
    kind, source, target = (history.codes(name)[0] for name in ("kind", "from_stage", "to_stage"))
    at, spent = history.column("at").view(np.int64), history.column("time_in_stage").view(np.int64)
    version = history.column("version")
    keys = list(dict.fromkeys(s.key for s in pipeline.open_stages))
    stages = len(keys)
    code_of = {k: i for i, k in enumerate(keys)}
    # the history's stage codes as the open stages' (another stage: their number)
    opened = np.array([code_of.get(k, stages) for k in history.codes("to_stage")[1].tolist()], dtype=np.int64)
    deal, kind = deal.astype(np.int64), kind.astype(np.int64)
    source = opened[source] if len(opened) else source.astype(np.int64)
    leaving = _leaving(kind, source, stages)
    micros = spent[leaving]
    times = _times_by_stage(
        np,
        micros,
        source[leaving],
        stages,
        lambda at: micros[at].view("timedelta64[us]").astype(object).tolist(),
    )
    if times is None:  # stays so long and stages so many that they pass 64 bits: one event at a time
        return _exact_report(opps.mapping(), list(history), pipeline)
    into = opened[target] if len(opened) else target.astype(np.int64)
    entered = np.bincount(into, minlength=stages + 1)[:stages].tolist()
    moved = set(ids[np.flatnonzero(np.bincount(deal, minlength=len(ids)))].tolist())

    def closed(where: Any) -> tuple[list[dt.datetime], list[str]]:
        since = at[where].view("timedelta64[us]").astype(object).tolist()
        return list(map(operator.add, repeat(_EPOCH), since)), ids[deal[where]].tolist()

    if (
        len(deal) > 1
        and (deal[1:] >= deal[:-1]).all()
        and ((deal[1:] != deal[:-1]) | (version[1:] > version[:-1])).all()
    ):  # grouped by deal, each deal's moves by version (as read): in order already
        by_deal, same_deal = np.arange(len(deal)), deal[1:] == deal[:-1]
    else:
        by_deal, same_deal, _ = _by_deal_and_version(np, deal, version)
    moves = _Moves(deal, version, kind, source, leaving, moved.__contains__, entered, closed)
    return _counted(np, opps, pipeline, moves, (by_deal, same_deal), times)


def _by_deal_and_version(np: Any, deal: Any, version: Any) -> tuple[Any, Any, bool]:
    """
    The order of the events by deal, then version, then as given; whether
    each (after the first) is of the same deal as the one before it; and
    whether some deal has two events of one version.
    """
    n = len(deal)
    if not n:
        return np.arange(0), np.zeros(0, bool), False
    width = int(version.max()) + 1
    if int(version.min()) >= 0 and n * width < _INT64_LIMIT:
        key = deal * width + version
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        same = ordered[1:] // width == ordered[:-1] // width
        return order, same, bool((ordered[1:] == ordered[:-1]).any())
    order = np.lexsort((version, deal))
    ordered_deal, ordered_version = deal[order], version[order]
    same = ordered_deal[1:] == ordered_deal[:-1]
    return order, same, bool((same & (ordered_version[1:] == ordered_version[:-1])).any())


def _stage_times(
    np: Any, events: list[StageChanged], leaving: Any, source: Any, stages: int
) -> (
    list[tuple[tuple[tuple[dt.timedelta, int], ...], tuple[dt.timedelta, dt.timedelta, dt.timedelta] | None]]
    | None
):
    """
    Per open stage, the ``(time, how many)`` pairs in time order of the
    events *leaving* it, and its (median, mean, p90) worked out on the
    microseconds (``None`` for a stage no event left); ``None`` for a time
    that is not exactly a ``timedelta`` or is longer than 100,000 days.
    """
    stamps = list(map(_TIME, compress(events, leaving.tolist())))
    m = len(stamps)
    if countOf(map(type, stamps), dt.timedelta) != m:
        return None
    days = np.fromiter(map(_DAYS, stamps), np.int64, m)
    if m and int(days.max()) > _LONGEST_DAYS:
        return None
    micros = days * _MICROSECONDS_A_DAY
    micros += np.fromiter(map(_SECONDS, stamps), np.int64, m) * 1_000_000
    micros += np.fromiter(map(_MICROSECONDS, stamps), np.int64, m)
    return _times_by_stage(
        np, micros, source[leaving], stages, lambda at: list(map(stamps.__getitem__, at.tolist()))
    )


def _times_by_stage(
    np: Any, micros: Any, source: Any, stages: int, stamps: Callable[[Any], list[dt.timedelta]]
) -> (
    list[tuple[tuple[tuple[dt.timedelta, int], ...], tuple[dt.timedelta, dt.timedelta, dt.timedelta] | None]]
    | None
):
    """
    :func:`_stage_times` of the times *micros* (whole microseconds, at least
    0) spent in the open stages *source*; *stamps(at)* are the times at
    the positions *at* as ``timedelta`` (the ones given, where there were
    some); ``None`` when the
    stages and times do not fit 64 bits.
    """
    m = len(micros)
    span = int(micros.max()) + 1 if m else 1
    if (stages + 1) * span >= _INT64_LIMIT:
        return None
    key, how_many = np.unique(source * span + micros, return_counts=True)
    # one timedelta of each value (a given one), looked up by value for each stage
    order = np.argsort(micros)
    ordered = micros[order]
    heads = np.concatenate(([True], ordered[1:] != ordered[:-1])) if m else np.zeros(0, bool)
    values = ordered[heads]
    distinct = np.empty(len(values), object)
    distinct[:] = stamps(order[heads])
    bounds = np.searchsorted(key, np.arange(stages + 1) * span).tolist()
    out = []
    for s in range(stages):
        lo, hi = bounds[s], bounds[s + 1]
        at, counts = key[lo:hi] - s * span, how_many[lo:hi]
        times = distinct[np.searchsorted(values, at)].tolist()
        out.append((tuple(zip(times, counts.tolist(), strict=True)), _summary(np, times, at, counts)))
    return out


def _summary(
    np: Any, stamps: list[dt.timedelta], micros: Any, counts: Any
) -> tuple[dt.timedelta, dt.timedelta, dt.timedelta] | None:
    """
    The median, mean and p90 of the times *stamps* (*micros* in
    microseconds) counted *counts* times, as :func:`_stage_stats` works them
    out (the mean exact however long the sum); ``None`` for no times.
    """
    n = int(counts.sum())
    if not n:
        return None
    if int(micros[-1]) * n < _INT64_LIMIT:
        total = int(np.dot(micros, counts))
    else:
        total = sum(map(mul, micros.tolist(), counts.tolist()))
    seen = np.cumsum(counts)
    median, p90 = (
        stamps[min(int(np.searchsorted(seen, max(0, math.ceil(q * n) - 1), side="right")), len(stamps) - 1)]
        for q in (0.5, 0.9)
    )
    return median, _mean_time(total, n), p90


def _mean_time(total: int, n: int) -> dt.timedelta:
    """
    *total* microseconds over *n*, rounded half-even as ``timedelta / int``
    rounds: the mean of times that are each a timedelta is one too, however
    far their sum leaves timedelta's range.
    """
    return dt.timedelta(microseconds=half_even_int(total, n))


def _last_closes(np: Any, closes: Any, *, deal: Any, version: Any, kind: Any) -> tuple[Any, Any]:
    """
    The positions of the last close of each deal among the events at
    *closes* (the highest version; the first given of equals), won and
    lost, each in the order the deals first closed (the exact path's dict
    order).
    """
    if not len(closes):
        return closes, closes
    who = deal[closes]
    newest = np.lexsort((-version[closes], who))  # per deal: highest version first, then as given
    by_deal = np.argsort(who, kind="stable")  # per deal: as given
    heads = np.concatenate(([True], who[newest][1:] != who[newest][:-1]))
    last = closes[newest[heads]]
    last = last[np.argsort(closes[by_deal[heads]])]
    won = kind[last] == _WIN
    return last[won], last[~won]


def _report(
    pipeline: str | None,
    counts: list[tuple[str, int, int, int]],
    *,
    won: int,
    lost: int,
    open_deals: int,
    tally: FunnelTally,
    summaries: Sequence[tuple[dt.timedelta, dt.timedelta, dt.timedelta] | None] | None = None,
) -> FunnelReport:
    """
    The report from its counts (per open stage: key, advanced, lost,
    entered), closes, open deals and tally: one pass and merges build it
    alike.  *summaries* are the stages' (median, mean, p90) when the caller
    has worked them out already (``None`` for one to work out here).
    """
    given = [None] * len(counts) if summaries is None else summaries
    stats = tuple(
        _stage_stats(key, advanced, lost_from, entered, times, summary)
        for (key, advanced, lost_from, entered), times, summary in zip(
            counts, tally.times, given, strict=True
        )
    )
    closed = won + lost
    win_rate = Fraction(won, closed) if closed else None
    to_win = tally.days_to_win / tally.dated_wins if tally.dated_wins else None
    return FunnelReport(
        stages=stats,
        won=won,
        lost=lost,
        win_rate=win_rate,
        mean_days_to_win=to_win,
        mean_days_to_lose=tally.days_to_lose / tally.dated_losses if tally.dated_losses else None,
        open_deals=open_deals,
        velocity=_velocity(tally, win_rate, to_win, open_deals),
        pipeline=pipeline,
        tally=tally,
    )


class _Deals:
    """
    The deals of one pipeline by id (see :func:`_deals_of`), for the
    columnar report: read from their values, or from the columns of an
    ``OpportunityColumns`` without building them.
    """

    def __init__(
        self,
        opps: dict[str, Opportunity] | None = None,
        *,
        table: OpportunityColumns | None = None,
        pipeline: str = "",
    ) -> None:
        self._opps = opps
        self._table = table
        self._created: tuple[dt.datetime | None, ...] | None = None
        if table is not None:
            ids = table.column("id")
            mine = list(map(eq, table.column("pipeline"), repeat(pipeline)))
            # the row of each id (its last), in the order ids first appear: the dict _deals_of makes
            self._row: dict[str, int] = dict(zip(compress(ids, mine), compress(count(), mine), strict=True))

    def mapping(self) -> dict[str, Opportunity]:
        """The deals by id as values (built from the columns when they are kept so)."""
        if self._opps is None:
            table = cast("OpportunityColumns", self._table)
            self._opps = {k: table[i] for k, i in self._row.items()}
        return self._opps

    def _field(self, name: str) -> tuple[Any, ...]:
        return cast("OpportunityColumns", self._table).column(name)

    def stages_unless(self, moved: Callable[[str], bool]) -> Iterable[str]:
        """The stages of the deals for which *moved* is false (in no particular order)."""
        if self._table is None:
            opps = self.mapping()
            return map(_STAGE, compress(opps.values(), map(not_, map(moved, opps))))
        rows = compress(self._row.values(), map(not_, map(moved, self._row)))
        return map(self._field("stage").__getitem__, rows)

    def open_deals(self) -> int:
        """How many are open."""
        if self._table is None:
            return sum(map(is_, map(_STATUS, self.mapping().values()), repeat(OpportunityStatus.OPEN)))
        statuses = map(self._field("status").__getitem__, self._row.values())
        return countOf(statuses, OpportunityStatus.OPEN)

    def created(self, ids: list[str]) -> tuple[list[dt.datetime | None], list[Any]]:
        """When each deal of *ids* was created (``None`` for one not given), and a key to those known."""
        if self._table is None:
            deals = list(map(self.mapping().get, ids))
            return [None if d is None else d.created_at for d in deals], deals
        rows = list(map(self._row.get, ids, repeat(-1)))
        if self._created is None:
            self._created = (*self._field("created_at"), None)  # -1: a deal not given
        return list(map(self._created.__getitem__, rows)), rows

    def amounts(self, known: list[Any]) -> Iterable[Money | None]:
        """The amounts of the deals *known* (from :meth:`created`) that were given."""
        if self._table is None:
            return map(_AMOUNT, compress(known, map(is_not, known, repeat(None))))
        return map(self._field("amount").__getitem__, filter((-1).__ne__, known))


def _deals_of(opportunities: Iterable[Opportunity], pipeline: str) -> dict[str, Opportunity]:
    """
    The deals of *pipeline* by id (the last given of an id, where its first
    stood), each checked to be an Opportunity.
    """
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    given = _listed(opportunities, Opportunity, "an Opportunity", "opportunities")
    mine = list(compress(given, map(eq, map(_PIPELINE, given), repeat(pipeline))))
    return dict(zip(map(_ID, mine), mine, strict=True))


def _listed(items: Iterable[Any], cls: type, what: str, path: str) -> list[Any]:
    """
    *items* as a list, checked to be *cls* values: the first that is not is
    refused as ``path[i]``, as soon as it is read (an endless iterator of
    junk is refused at its first item), also when the iteration fails after
    it (the failure itself is raised when every item before it was good).
    """
    if type(items) is list:
        _check_types(items, 0, cls, what, path)
        return items
    out: list[Any] = []
    given = iter(items)
    size = _FIRST_CHUNK
    while True:  # in chunks, each checked before the next is read, each as long as all before it
        chunk: list[Any] = []
        failure = None
        try:
            chunk.extend(islice(given, size))
        except Exception as e:  # noqa: BLE001 - re-raised below, after the items before it are checked
            failure = e
        _check_types(chunk, len(out), cls, what, path)
        if failure is not None:
            raise failure
        out += chunk
        if len(chunk) < size:
            return out
        size = min(2 * size, _CHUNK)


def _check_types(items: list[Any], offset: int, cls: type, what: str, path: str) -> None:
    """Refuse the first of *items* that is not a *cls* as ``path[offset + i]``."""
    if countOf(map(type, items), cls) != len(items):
        for i, item in enumerate(items):
            if not isinstance(item, cls):
                c.require(item, cls, what, f"{path}[{offset + i}]")


class _Tally:
    """
    What the events say per open stage: forward moves, losses and the times
    of the deals that left it; entries, first moves and closes.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self.left: dict[str, tuple[int, int, Counter[dt.timedelta]]] = {
            s.key: (0, 0, Counter()) for s in pipeline.open_stages
        }
        self.closes: dict[str, StageChanged] = {}
        self.entered = dict.fromkeys(self.left, 0)
        self.first: dict[str, StageChanged] = {}

    def add_all(self, events: list[StageChanged]) -> None:
        """Count the events, one pass (the tables bound to locals: it runs once per event)."""
        entered, first, left_of, closes = self.entered, self.first, self.left, self.closes
        forward_kinds, lose, closing = _FORWARD, MoveKind.LOSE, (MoveKind.WIN, MoveKind.LOSE)
        for e in events:
            to_stage, deal, kind, version = e.to_stage, e.opportunity_id, e.kind, e.version
            if to_stage in entered:
                entered[to_stage] += 1
            seen = first.get(deal)
            if seen is None or version < seen.version:
                first[deal] = e
            left = left_of.get(e.from_stage)
            if left is None:
                continue
            forward, lost, times = left
            if kind in forward_kinds:
                left_of[e.from_stage] = (forward + 1, lost, times)
                times[e.time_in_stage] += 1
            elif kind is lose:
                left_of[e.from_stage] = (forward, lost + 1, times)
                times[e.time_in_stage] += 1
            if kind in closing:
                last = closes.get(deal)
                if last is None or version > last.version:
                    closes[deal] = e  # the last close counts (after a reopen)

    def count_starts(self, opps: dict[str, Opportunity]) -> None:
        """Count where each deal started: its first move's origin, or where it still is."""
        starts = {oid: e.from_stage for oid, e in self.first.items()}
        starts.update((oid, o.stage) for oid, o in opps.items() if oid not in starts)
        for stage in starts.values():
            if stage in self.entered:
                self.entered[stage] += 1


def _stage_stats(  # noqa: PLR0917 - the counts of one stage, in the report's order
    stage: str,
    advanced: int,
    lost: int,
    entered: int,
    times: tuple[tuple[dt.timedelta, int], ...],
    summary: tuple[dt.timedelta, dt.timedelta, dt.timedelta] | None = None,
) -> StageStats:
    """
    The counts, rates and times of one open stage.  Pairs of exact
    ``(object, int >= 0)`` tuples (every tally funnel() makes) are summed
    and ranked by C-level loops (``map``, ``accumulate``, ``bisect``); any
    other tally (one altered by hand) by the loops that define them.
    """
    n = advanced + lost
    if not n:
        median = mean = p90 = None
    elif summary is not None:
        median, mean, p90 = summary
    elif _plain_pairs(times):
        stamps, counts = list(map(_FIRST, times)), list(map(_SECOND, times))
        # the same products and sums, in the same order, as the loop below
        try:
            mean = sum(map(mul, stamps, counts), dt.timedelta(0)) / n
        except OverflowError:  # a sum beyond timedelta's range: in whole microseconds (each time is)
            mean = _mean_time(sum(map(mul, map(floordiv, stamps, repeat(_MICROSECOND)), counts)), n)
        seen = list(accumulate(counts))
        median, p90 = (_ranked(stamps, seen, n, q) for q in (0.5, 0.9))
    else:
        total = dt.timedelta(0)
        for time, how_many in times:
            total += time * how_many
        median, mean, p90 = _nearest_rank(times, n, 0.5), total / n, _nearest_rank(times, n, 0.9)
    return StageStats(
        stage=stage,
        advanced=advanced,
        lost=lost,
        conversion=Fraction(advanced, n) if n else None,
        loss_rate=Fraction(lost, n) if n else None,
        median_time=median,
        mean_time=mean,
        p90_time=p90,
        entered=entered,
    )


def _plain_pairs(times: Sequence[Any]) -> bool:
    """Whether *times* is a non-empty tuple of 2-tuples counting ints >= 0 (running counts never fall)."""
    if type(times) is not tuple or not times or countOf(map(type, times), tuple) != len(times):
        return False
    if countOf(map(len, times), 2) != len(times):
        return False
    counts = list(map(_SECOND, times))
    return countOf(map(type, counts), int) == len(counts) and (not counts or min(counts) >= 0)


def _ranked(stamps: list[dt.timedelta], seen: list[int], n: int, q: float) -> dt.timedelta:
    """
    :func:`_nearest_rank` over times *stamps* whose counts add up to *seen*
    (never falling): the first time whose running count passes the rank.
    """
    i = bisect_right(seen, max(0, math.ceil(q * n) - 1))
    return stamps[i] if i < len(stamps) else stamps[-1]


def _days(es: list[StageChanged], opps: dict[str, Opportunity]) -> tuple[Fraction, int]:
    """
    The sum of the days from creation to the closes *es* record (exact: whole microseconds over
    a day's), and how many of them had their deal.
    """
    micros = 0
    n = 0
    for e in es:
        deal = opps.get(e.opportunity_id)
        if deal is not None:
            micros += (e.at - deal.created_at) // _MICROSECOND
            n += 1
    return Fraction(micros, _MICROSECONDS_A_DAY), n


def _velocity(
    tally: FunnelTally, win_rate: Fraction | None, to_win: Fraction | None, open_deals: int
) -> Money | None:
    """Open deals x average won deal size x win rate / average days to win (``None`` when unknown)."""
    if not (tally.priced_wins and win_rate is not None and to_win):
        return None
    if len(tally.won_amounts) > 1:
        first, second = tally.won_amounts[:2]
        raise CurrencyMismatchError("average", first.currency, second.currency)
    average = tally.won_amounts[0] / tally.priced_wins
    # in funnelkit's own context, whatever the caller's
    rate, per_day = decimal_of(win_rate), decimal_of(to_win)
    return (average * open_deals * rate / per_day).round()


def unique_events(events: Iterable[StageChanged], pipeline: str | None) -> list[StageChanged]:
    """
    The events of *pipeline* (of every pipeline for ``None``), each once (a host that stored an event twice
    must not count a move twice: the first given stays), checked to be events.
    """
    return _unique(_of_pipeline(_checked_events(events), pipeline))


def _checked_events(events: Iterable[StageChanged]) -> list[StageChanged]:
    """*events* as a list, each checked to be a StageChanged (``events[i]`` names the first that is not)."""
    c.require_iterable(events, "StageChanged", "events")
    return _listed(events, StageChanged, "a StageChanged", "events")


def _of_pipeline(events: list[StageChanged], pipeline: str | None) -> list[StageChanged]:
    """The *events* of *pipeline*, in order (all of them for ``None``)."""
    if pipeline is None:
        return events
    if countOf(map(_PIPELINE, events), pipeline) == len(events):  # identity or ==, as == alone says for a str
        return events
    return list(compress(events, map(eq, map(_PIPELINE, events), repeat(pipeline))))


def _unique(events: list[StageChanged]) -> list[StageChanged]:
    """*events* without repeats, each where it was first given (as a set of those seen would keep them)."""
    return list(dict.fromkeys(events))


def _summed_days(closed: list[dt.datetime], created: list[dt.datetime | None]) -> tuple[Fraction, int]:
    """
    :func:`_days` of the closes made at *closed* of deals *created* then
    (``None`` for a deal not given), by C-level loops: the same
    differences, added up and floored to microseconds (each is whole
    microseconds, so the sum is exact).
    """
    known = list(map(is_not, created, repeat(None)))
    differences = map(sub, compress(closed, known), compress(created, known))
    try:
        micros = sum(differences, dt.timedelta(0)) // _MICROSECOND
    except OverflowError:  # beyond timedelta's range: add them up as integers
        differences = map(sub, compress(closed, known), compress(created, known))
        micros = sum(map(floordiv, differences, repeat(_MICROSECOND)))
    return Fraction(micros, _MICROSECONDS_A_DAY), countOf(known, True)


def _won_amounts(given: Iterable[Money | None]) -> tuple[tuple[Money, ...], int]:
    """
    The amounts *given* of the won deals (``None`` for a deal without one),
    one sum per currency in currency order, and how many there were: the
    exact path's ``Money`` sums, added as ``Money.__add__`` adds them (the
    same checked steps, in the same order) without a ``Money`` per step.
    """
    amounts = [m for m in given if m is not None]
    if not amounts:
        return (), 0
    numbers = list(map(_AMOUNT, amounts))
    first = amounts[0]
    if countOf(map(_CURRENCY, amounts), first.currency) == len(amounts) and min(numbers) >= 0:
        # one currency, no amount below zero: every running sum lies within the last
        total = reduce(_add, numbers)
        if total.adjusted() < MAX_INTEGER_DIGITS:
            return (first if len(amounts) == 1 else _make(total, first.currency),), len(amounts)
    sums: dict[str, Decimal] = {}
    firsts: dict[str, Money] = {}
    for m in amounts:
        currency = m.currency
        got = sums.get(currency)
        if got is None:
            sums[currency], firsts[currency] = m.amount, m
        else:
            sums[currency] = _in_range(_add(got, m.amount))
    once = Counter(map(_CURRENCY, amounts))
    totals = {k: m if once[k] == 1 else _make(sums[k], m.currency) for k, m in firsts.items()}
    return tuple(totals[k] for k in sorted(totals)), len(amounts)
