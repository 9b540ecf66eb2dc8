"""
Funnel analytics from stage-change history: conversion and loss per stage,
time in stage, win rate, cycle length and sales velocity.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from fractions import Fraction

import attrs

from .. import _checks as c
from .._money import Money, decimal_of
from .._report import Report
from .._repr import funnel_svg
from ..entities import Opportunity, OpportunityStatus
from ..errors import CurrencyMismatchError, ValidationError
from ..stages import MoveKind, Pipeline, StageChanged

_DAY = dt.timedelta(days=1)
_FORWARD = (MoveKind.ADVANCE, MoveKind.WIN)


def _nearest_rank(values: list[dt.timedelta], q: float) -> dt.timedelta:
    """
    The q-quantile by nearest rank: the smallest value with at least q of the
    values at or below it (how funnelkit defines p10, p50 and p90).
    """
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


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


@attrs.frozen(kw_only=True, repr=False)
class FunnelReport(Report):
    """
    Funnel analytics of one pipeline.

    *velocity* is open deals x average won deal size x win rate / average
    days to win: the revenue the funnel produces per day (``None`` when any
    part is unknown).

    Medians and "the last close counts" need the deals and events
    themselves, so the report keeps (references to) them: :meth:`merge`
    combines reports of partitions split by deal into exactly the report of
    the whole.
    """

    stages: tuple[StageStats, ...]
    won: int
    lost: int
    win_rate: Fraction | None
    mean_days_to_win: Fraction | None
    mean_days_to_lose: Fraction | None
    open_deals: int
    velocity: Money | None
    _pipeline: Pipeline | None = attrs.field(default=None, repr=False, eq=False, alias="_pipeline")
    _deals: tuple[Opportunity, ...] = attrs.field(default=(), repr=False, eq=False, alias="_deals")
    _events: tuple[StageChanged, ...] = attrs.field(default=(), repr=False, eq=False, alias="_events")

    def merge(self, other: FunnelReport) -> FunnelReport:
        """
        The report over the deals and events of both (split by deal, or
        overlapping: an event present in both counts once).
        Cost: that of funnel() over the deals and events of both.
        """
        c.require(other, FunnelReport, "a FunnelReport", "other")
        if self._pipeline is None or other._pipeline is None:
            raise ValidationError.single("other", "only reports made by funnel() can be merged", code="state")
        if other._pipeline != self._pipeline:
            msg = f"{other._pipeline.key!r} is not the pipeline of this report ({self._pipeline.key!r})"
            raise ValidationError.single("other", msg, code="conflict")
        deals = {o.id: o for o in (*self._deals, *other._deals)}
        return funnel(deals.values(), (*self._events, *other._events), self._pipeline)

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

    Cost: O(n + e log e) for n deals and e events.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    opps = _deals_of(opportunities, pipeline.key)
    kept = unique_events(events, pipeline.key)
    tally = _Tally(pipeline)
    for e in kept:
        tally.add(e)
    tally.count_starts(opps)
    stats = [_stage_stats(s.key, tally) for s in pipeline.open_stages]
    won = [e for e in tally.closes.values() if e.kind is MoveKind.WIN]
    lost_events = [e for e in tally.closes.values() if e.kind is MoveKind.LOSE]
    closed = len(won) + len(lost_events)
    win_rate = Fraction(len(won), closed) if closed else None
    to_win = _mean_days(won, opps)
    open_deals = sum(1 for o in opps.values() if o.status is OpportunityStatus.OPEN)
    return FunnelReport(
        stages=tuple(stats),
        won=len(won),
        lost=len(lost_events),
        win_rate=win_rate,
        mean_days_to_win=to_win,
        mean_days_to_lose=_mean_days(lost_events, opps),
        open_deals=open_deals,
        velocity=_velocity(won, opps, win_rate, to_win, open_deals),
        _pipeline=pipeline,
        _deals=tuple(opps.values()),
        _events=tuple(kept),
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
    """What the events say per open stage: times of the deals that left it, entries, first moves, closes."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.left: dict[str, dict[str, list[dt.timedelta]]] = {
            s.key: {"forward": [], "lost": []} for s in pipeline.open_stages
        }
        self.closes: dict[str, StageChanged] = {}
        self.entered = dict.fromkeys(self.left, 0)
        self.first: dict[str, StageChanged] = {}

    def add(self, e: StageChanged) -> None:
        """Count one event."""
        if e.to_stage in self.entered:
            self.entered[e.to_stage] += 1
        seen = self.first.get(e.opportunity_id)
        if seen is None or e.version < seen.version:
            self.first[e.opportunity_id] = e
        if e.from_stage not in self.left:
            return
        if e.kind in _FORWARD:
            self.left[e.from_stage]["forward"].append(e.time_in_stage)
        elif e.kind is MoveKind.LOSE:
            self.left[e.from_stage]["lost"].append(e.time_in_stage)
        if e.kind in (MoveKind.WIN, MoveKind.LOSE):
            last = self.closes.get(e.opportunity_id)
            if last is None or e.version > last.version:
                self.closes[e.opportunity_id] = e  # the last close counts (after a reopen)

    def count_starts(self, opps: dict[str, Opportunity]) -> None:
        """Count where each deal started: its first move's origin, or where it still is."""
        starts = {oid: e.from_stage for oid, e in self.first.items()}
        starts.update((oid, o.stage) for oid, o in opps.items() if oid not in starts)
        for stage in starts.values():
            if stage in self.entered:
                self.entered[stage] += 1


def _stage_stats(stage: str, tally: _Tally) -> StageStats:
    """The counts, rates and times of one open stage."""
    fwd, lost = tally.left[stage]["forward"], tally.left[stage]["lost"]
    times = fwd + lost
    n = len(times)
    return StageStats(
        stage=stage,
        advanced=len(fwd),
        lost=len(lost),
        conversion=Fraction(len(fwd), n) if n else None,
        loss_rate=Fraction(len(lost), n) if n else None,
        median_time=_nearest_rank(times, 0.5) if n else None,
        mean_time=sum(times, dt.timedelta(0)) / n if n else None,
        p90_time=_nearest_rank(times, 0.9) if n else None,
        entered=tally.entered[stage],
    )


def _mean_days(es: list[StageChanged], opps: dict[str, Opportunity]) -> Fraction | None:
    """The mean days from creation to the close *es* record (``None`` for none)."""
    days = [
        Fraction((e.at - opps[e.opportunity_id].created_at) / _DAY).limit_denominator(10**6)
        for e in es
        if e.opportunity_id in opps
    ]
    return sum(days, Fraction(0)) / len(days) if days else None


def _velocity(
    won: list[StageChanged],
    opps: dict[str, Opportunity],
    win_rate: Fraction | None,
    to_win: Fraction | None,
    open_deals: int,
) -> Money | None:
    """Open deals x average won deal size x win rate / average days to win (``None`` when unknown)."""
    sizes = [opps[e.opportunity_id].amount for e in won if e.opportunity_id in opps]
    amounts = [a for a in sizes if a is not None]
    if not (amounts and win_rate is not None and to_win):
        return None
    currency = amounts[0].currency
    for a in amounts:
        if a.currency != currency:
            raise CurrencyMismatchError("average", currency, a.currency)
    average = Money.total(amounts, currency=currency) / len(amounts)
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
