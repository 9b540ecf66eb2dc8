"""
The backtest of the weighted pipeline on a history kept as columns: every
deal's stages as intervals, swept once through the cut-offs in time order
with numpy, the open deals' weighted amounts and the wins of each window
summed exactly in minor units.  :func:`backtest` falls back on its general
path (the definition this one is held to) for anything this one does not
number.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from itertools import compress, repeat
from operator import attrgetter, countOf, floordiv, is_not, itemgetter, sub
from typing import Any, NamedTuple

from .._columns import exponent, half_even
from .._money import _CONTEXT, Money, _in_range, _make, currency_minor_units
from .._optional import numpy
from .._time import EPOCH as _EPOCH
from ..entities import Opportunity, OpportunityStatus
from ..stages import HistoryColumns, MoveKind, Pipeline
from ..tables import OpportunityColumns
from ._weighted import WeightedPipeline

_MICROSECOND = dt.timedelta(microseconds=1)
_KIND = {k: i for i, k in enumerate(MoveKind)}
#: Amounts rewritten exactly, or refused.
_EXACT = decimal.Context(prec=100, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
#: Products and sums stay below this in int64.
_LIMIT = 2**62
_VALUE = attrgetter("amount")
_CURRENCY = attrgetter("currency")
_FIRST = itemgetter(0)
_EXPONENT = attrgetter("exponent")
_SECOND = itemgetter(1)


class Cutoff(NamedTuple):
    """One cut-off's open deals, weighted pipeline and amount won, as ``backtest`` reports them."""

    open_deals: int
    forecast: Money
    actual: Money


def swept(  # noqa: PLR0917 - backtest's arguments, checked
    opps: Sequence[Opportunity],
    history: HistoryColumns,
    pairs: list[tuple[dt.datetime, dt.datetime]],
    forecast: WeightedPipeline,
    currency: str,
    actual: str,
) -> list[Cutoff] | None:
    """
    Each cut-off's open deals, forecast and actual, as ``backtest`` finds
    them with *forecast* on the deals of *opps* (checked, each id once) and
    the events of *history*; ``None`` for what the general path must read:
    another pipeline or currency, an amount finer than the minor unit or
    too large for 64 bits, a stage the pipeline lacks, a deal's move before
    its creation, a history out of order.
    """
    np = numpy()  # a HistoryColumns exists: numpy is installed
    pipeline = forecast.pipeline
    if forecast.currency != currency or history.pipeline != pipeline.key:
        return None
    deals = _deals(np, opps, pipeline, currency)
    if deals is None:
        return None
    intervals = _intervals(np, deals, history, pipeline)
    if intervals is None:
        return None
    start, deal, is_open, weighted, by_deal, wins, won = intervals
    # the instants asked, in time order; each interval applied at the first that sees it, and only
    # the last of a deal's applied there (its state then): at most one per deal an instant
    instants = sorted({s for s, _ in pairs})
    stamps = np.array([_micros(t) for t in instants], dtype=np.int64)
    chunk = np.searchsorted(stamps, start, side="left").astype(np.int16 if len(stamps) < 2**15 else np.int64)
    grouped, at = deal[by_deal], chunk[by_deal]
    last = np.ones(len(by_deal), dtype=bool)
    np.not_equal(grouped[1:], grouped[:-1], out=last[:-1])
    last[:-1] |= at[1:] != at[:-1]
    kept = by_deal[last & (at < len(stamps))]
    kept = kept[np.argsort(chunk[kept], kind="stable")]  # small ints: a linear radix sort
    bounds = np.searchsorted(chunk[kept], np.arange(1, len(stamps) + 1)).tolist()
    win_times, win_deals = wins
    # the exponent of each winner's amount, at most 0: what Money.total writes their sum to
    exponents = np.zeros(len(opps), dtype=np.int64)
    ever = np.unique(win_deals)
    made = map(_EXPONENT, map(Decimal.as_tuple, deals.amounts[ever[deals.priced[ever]]].tolist()))
    exponents[ever[deals.priced[ever]]] = np.minimum(np.fromiter(made, np.int64), 0)
    asked: dict[dt.datetime, list[int]] = {}
    for j, (s, _) in enumerate(pairs):
        asked.setdefault(s, []).append(j)
    n = len(opps)
    counts = np.zeros(n, dtype=bool)  # open and created, per deal
    values = np.zeros(n, dtype=np.int64)  # its weighted amount when open
    total = opened = priced = lo = 0
    units = currency_minor_units(currency)
    out: list[Cutoff | None] = [None] * len(pairs)
    for t, hi in zip(instants, bounds, strict=True):
        if hi > lo:
            pick = kept[lo:hi]
            who = deal[pick]
            now_open = is_open[pick]
            now_value = np.where(now_open, weighted[pick], 0)
            total += int(now_value.sum()) - int(values[who].sum())
            opened += int(np.count_nonzero(now_open)) - int(np.count_nonzero(counts[who]))
            with_amount = deals.priced[who]
            priced += int(np.count_nonzero(now_open & with_amount)) - int(
                np.count_nonzero(counts[who] & with_amount)
            )
            values[who] = now_value
            counts[who] = now_open
            lo = hi
        # as Money.total adds the weighted amounts up: to the minor unit, or 0 for none
        forecast_then = _money(total, units, -units if priced else 0, currency)
        for j in asked[t]:
            a, b = np.searchsorted(win_times, [_micros(t), _micros(pairs[j][1])], side="right").tolist()
            winners = np.unique(win_deals[a:b])  # a deal won twice in the window counts once
            if actual == "pipeline":
                winners = winners[counts[winners]]  # the deals open at the cut-off
            winners = winners[deals.priced[winners]]
            places = int(exponents[winners].min(initial=0))
            got = _money(int(won[winners].sum()), units, places, currency)
            out[j] = Cutoff(opened, forecast_then, got)
    return [row for row in out if row is not None]


def _money(minor: int, units: int, exponent: int, currency: str) -> Money:
    """*minor* minor units of *currency* (with *units* decimals) written to the exponent *exponent*."""
    amount = Decimal(minor).scaleb(-units, context=_CONTEXT)
    return _make(_in_range(amount.quantize(Decimal(1).scaleb(exponent), context=_EXACT)), currency)


def _micros(t: dt.datetime) -> int:
    """An instant in microseconds since the epoch."""
    return (t - _EPOCH) // _MICROSECOND


class _Deals(NamedTuple):
    """The deals' columns: position by id, creation (µs), stage (the pipeline's index), open, minor units."""

    position: dict[str, int]
    created: Any
    stage: Any
    open: Any
    minor: Any  # 0 for a deal without an amount
    priced: Any
    amounts: Any  # as given (objects: Decimal or None)


def field(opps: Sequence[Opportunity], name: str) -> Sequence[Any]:
    """One field of every deal: a column of deals kept as columns, read from each deal otherwise."""
    if isinstance(opps, OpportunityColumns):
        return opps.column(name)
    return list(map(attrgetter(name), opps))


def _deals(np: Any, opps: Sequence[Opportunity], pipeline: Pipeline, currency: str) -> _Deals | None:
    """The deals as columns, or ``None`` for one of another pipeline, stage or currency, or a finer amount."""
    n = len(opps)
    key = pipeline.key
    if countOf(field(opps, "pipeline"), key) != n:
        return None
    code = {k: i for i, k in enumerate(pipeline.keys)}
    stage = np.fromiter(map(code.get, field(opps, "stage"), repeat(-1)), np.int64, n)
    if n and int(stage.min()) < 0:
        return None
    scale = 10 ** currency_minor_units(currency)
    money = field(opps, "amount")
    priced = np.fromiter(map(is_not, money, repeat(None)), bool, n)
    given = list(compress(money, priced.tolist()))
    if countOf(map(_CURRENCY, given), currency) != len(given):
        return None
    amounts = list(map(_VALUE, given))
    # each amount as a ratio of ints (C calls): whole in minor units when its denominator divides theirs
    ratios = list(map(Decimal.as_integer_ratio, amounts))
    numerators, denominators = list(map(_FIRST, ratios)), list(map(_SECOND, ratios))
    if given and (max(denominators) > scale or max(numerators) >= _LIMIT // scale):
        return None
    dens = np.array(denominators, dtype=np.int64)
    if (scale % dens).any():
        return None
    minor = np.zeros(n, dtype=np.int64)
    minor[priced] = np.array(numerators, dtype=np.int64) * (scale // dens)
    exact = np.full(n, None, dtype=object)
    exact[priced] = np.fromiter(amounts, dtype=object, count=len(amounts))
    since = map(sub, field(opps, "created_at"), repeat(_EPOCH))
    created = np.fromiter(map(floordiv, since, repeat(_MICROSECOND)), np.int64, n)
    is_open = np.fromiter(map(OpportunityStatus.OPEN.__eq__, field(opps, "status")), bool, n)
    index = dict(zip(field(opps, "id"), range(n), strict=True))
    return _Deals(index, created, stage, is_open, minor, priced, exact)


def _intervals(np: Any, deals: _Deals, history: HistoryColumns, pipeline: Pipeline) -> tuple[Any, ...] | None:
    """
    Every deal's states as intervals begun at their start (µs), in time
    order: the deal, whether it is open, its weighted amount; the wins (time
    order, then deal) and each deal's amount won; ``None`` for a history
    out of order or a move before its deal's creation.
    """
    codes, ids = history.codes("opportunity_id")
    of = np.fromiter(map(deals.position.get, ids.tolist(), repeat(-1)), np.int64, len(ids))
    mine = of[codes] >= 0  # the events of the deals given
    deal = of[codes][mine]
    kind = history.codes("kind")[0][mine].astype(np.int64)
    stages = history.codes("to_stage")[1].tolist()
    code = {k: i for i, k in enumerate(pipeline.keys)}
    as_pipeline = np.array([code.get(k, -1) for k in stages], dtype=np.int64)
    source = as_pipeline[history.codes("from_stage")[0][mine]] if stages else deal
    target = as_pipeline[history.codes("to_stage")[0][mine]] if stages else deal
    at = history.column("at").view(np.int64)[mine]
    version = history.column("version")[mine]
    if len(deal) and (int(source.min()) < 0 or int(target.min()) < 0):  # pragma: no cover - one pipeline
        return None
    # each deal's events together (no deal's first event twice), by version, each move from where the
    # one before it ended and later (as read; a slice with a step breaks that: apply refuses it)
    first = np.concatenate(([True], deal[1:] != deal[:-1])) if len(deal) else np.zeros(0, bool)
    follows = (version[1:] > version[:-1]) & (source[1:] == target[:-1]) & (at[1:] > at[:-1])
    if len(deal) > 1 and not ((first[1:] | follows).all() and int(np.bincount(deal[first]).max()) == 1):
        return None
    if (at[first] < deals.created[deal[first]]).any():
        return None  # a move before the deal was made: the general path names it
    n = len(deals.created)
    moved = np.zeros(n, dtype=bool)
    moved[deal] = True
    closing = np.isin(kind, [_KIND[MoveKind.WIN], _KIND[MoveKind.LOSE]])
    # the state each deal is created in, then one per move
    state_stage = np.where(moved, 0, deals.stage)
    state_stage[deal[first]] = source[first]
    state_open = deals.open.copy()
    state_open[deal[first]] = kind[first] != _KIND[MoveKind.REOPEN]
    start = np.concatenate((deals.created, at))
    who = np.concatenate((np.arange(n), deal))
    stage = np.concatenate((state_stage, target))
    is_open = np.concatenate((state_open, ~closing))
    weighted = _weighted(np, deals, who, stage, pipeline)
    if weighted is None:
        return None
    # each deal's states in order, its creation first: the moves are by deal already
    heads = np.flatnonzero(first)
    resting = np.flatnonzero(~moved)
    by_deal = np.concatenate((resting, np.insert(np.arange(n, n + len(deal)), heads, deal[heads])))
    win = kind == _KIND[MoveKind.WIN]
    win_order = np.lexsort((deal[win], at[win]))
    won = np.where(deals.priced, deals.minor, 0)
    if int(won.sum()) >= _LIMIT:
        return None
    wins = (at[win][win_order], deal[win][win_order])
    return start, who, is_open, weighted, by_deal, wins, won


def _weighted(np: Any, deals: _Deals, who: Any, stage: Any, pipeline: Pipeline) -> Any:
    """
    Each state's weighted amount in minor units (amount x its stage's
    probability, rounded half-even: what ``weighted_forecast`` rounds), 0
    for a deal without an amount; ``None`` when a sum could pass 64 bits.
    """
    places = [max(0, -exponent(s.probability)) for s in pipeline.stages]
    scale = 10 ** max(places, default=0)
    if scale >= _LIMIT:  # probabilities of 19 or 20 places: the general path's Decimals
        return None
    numerators = np.array([int(Fraction(s.probability) * scale) for s in pipeline.stages], dtype=np.int64)
    minor = deals.minor[who]
    largest = int(deals.minor.max(initial=0))
    if largest * scale >= _LIMIT or largest * len(who) >= _LIMIT:
        return None
    products = minor * numerators[stage]
    return np.where(deals.priced[who], half_even(np, products, scale), 0)
