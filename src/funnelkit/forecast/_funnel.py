"""
Funnel analytics from stage-change history: conversion and loss per stage,
time in stage, win rate, cycle length and sales velocity.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from fractions import Fraction

import attrs

from .. import _checks as c
from .._money import Money, decimal_of
from .._report import Report, conflict
from .._repr import funnel_svg
from ..entities import Opportunity, OpportunityStatus
from ..errors import CurrencyMismatchError, ValidationError
from ..stages import MoveKind, Pipeline, StageChanged

_DAY = dt.timedelta(days=1)
_MICROSECOND = dt.timedelta(microseconds=1)
_MICROSECONDS_A_DAY = _DAY // _MICROSECOND
_FORWARD = (MoveKind.ADVANCE, MoveKind.WIN)


def _nearest_rank(times: Sequence[tuple[dt.timedelta, int]], n: int, q: float) -> dt.timedelta:
    """
    The q-quantile by nearest rank of the *n* times counted in *times*
    (``(time, how many)`` pairs in time order): the smallest time with at
    least q of them at or below it (how funnelkit defines p10, p50 and p90).
    """
    rank = max(0, math.ceil(q * n) - 1)
    seen = 0
    for time, count in times:
        seen += count
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

    Cost: O(n + e + s t log t) for n deals, e events, s stages and t distinct times in stage.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    opps = _deals_of(opportunities, pipeline.key)
    tally = _Tally(pipeline)
    tally.add_all(unique_events(events, pipeline.key))
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


def _report(
    pipeline: str | None,
    counts: list[tuple[str, int, int, int]],
    *,
    won: int,
    lost: int,
    open_deals: int,
    tally: FunnelTally,
) -> FunnelReport:
    """
    The report from its counts (per open stage: key, advanced, lost,
    entered), closes, open deals and tally: one pass and merges build it alike.
    """
    stats = tuple(
        _stage_stats(key, advanced, lost_from, entered, times)
        for (key, advanced, lost_from, entered), times in zip(counts, tally.times, strict=True)
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


def _deals_of(opportunities: Iterable[Opportunity], pipeline: str) -> dict[str, Opportunity]:
    """The deals of *pipeline* by id, each checked to be an Opportunity."""
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    opps = {}
    for i, o in enumerate(opportunities):
        if not isinstance(o, Opportunity):
            c.require(o, Opportunity, "an Opportunity", f"opportunities[{i}]")
        if o.pipeline == pipeline:
            opps[o.id] = o
    return opps


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


def _stage_stats(
    stage: str, advanced: int, lost: int, entered: int, times: tuple[tuple[dt.timedelta, int], ...]
) -> StageStats:
    """The counts, rates and times of one open stage."""
    n = advanced + lost
    total = dt.timedelta(0)
    for time, count in times:
        total += time * count
    return StageStats(
        stage=stage,
        advanced=advanced,
        lost=lost,
        conversion=Fraction(advanced, n) if n else None,
        loss_rate=Fraction(lost, n) if n else None,
        median_time=_nearest_rank(times, n, 0.5) if n else None,
        mean_time=total / n if n else None,
        p90_time=_nearest_rank(times, n, 0.9) if n else None,
        entered=entered,
    )


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
    must not count a move twice), checked to be events.
    """
    c.require_iterable(events, "StageChanged", "events")
    seen: set[StageChanged] = set()
    out = []
    for i, e in enumerate(events):
        if not isinstance(e, StageChanged):
            c.require(e, StageChanged, "a StageChanged", f"events[{i}]")
        if (pipeline is None or e.pipeline == pipeline) and e not in seen:
            seen.add(e)
            out.append(e)
    return out
