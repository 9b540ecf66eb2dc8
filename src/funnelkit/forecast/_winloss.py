"""
Win/loss analytics: the deals won and lost, grouped by why they were lost,
whom they were lost to, the stage they were lost from, owner, tier, segment
and period, with the win rate of each group (against each competitor).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from itertools import product
from operator import attrgetter, countOf
from typing import Any, Literal, cast

import attrs

from .. import _checks as c
from .._money import Money, _add, _in_range, _make
from .._report import Report, conflict
from .._repr import BLUE, Axis, Line, chart_svg, funnel_svg, nice_axis, percent
from .._time import instant
from .._time import zone as zone_of
from ..entities import Opportunity, OpportunityStatus, Tier
from ..errors import Problem, ValidationError
from ..stages import MoveKind, StageChanged
from ._args import MAX_PROBLEMS
from ._backtest import _CHANGES, DealEvent
from ._funnel import _listed
from ._weighted import _tiers

Dimension = Literal["lost_reason", "competitor", "stage", "owner", "tier", "segment", "period", "pipeline"]
#: What :func:`win_loss` groups by.
WIN_LOSS_DIMENSIONS: tuple[Dimension, ...] = (
    "lost_reason",
    "competitor",
    "stage",
    "owner",
    "tier",
    "segment",
    "period",
    "pipeline",
)
Grain = Literal["week", "month", "quarter", "year"]
#: The lengths of period that win/loss, pipeline generation and cohorts group by (local calendar).
PERIODS: tuple[Grain, ...] = ("week", "month", "quarter", "year")
_WON, _LOST, _OPEN = OpportunityStatus.WON, OpportunityStatus.LOST, OpportunityStatus.OPEN
_CLOSES = {MoveKind.WIN: _WON, MoveKind.LOSE: _LOST}
_WHAT_EVENTS = "a StageChanged, an edit or an OwnerChanged"
#: Bars a win/loss chart draws at most (the groups with the most closed deals).
_MOST_BARS = 12


# --- periods: shared with pipeline generation and cohorts ---------------------------------------


def grain_of(value: object) -> Grain:
    """*value* as a length of period; else a ValidationError at ``period`` (code ``choice``)."""
    if isinstance(value, str) and value in PERIODS:
        return value
    allowed = ", ".join(repr(g) for g in PERIODS)
    raise ValidationError.single(
        "period", f"{c.show(value)} is not a period; allowed: {allowed}", code="choice"
    )


def first_day(day: dt.date, grain: Grain) -> dt.date:
    """The first day of the period of length *grain* that holds *day* (weeks start on Monday)."""
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())  # 0001-01-01 is a Monday: never before date.min
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def next_first_day(first: dt.date, grain: Grain) -> dt.date | None:
    """The first day of the period after the one starting on *first*; ``None`` past the calendar's end."""
    try:
        if grain == "week":
            return first + dt.timedelta(days=7)
        months = {"month": 1, "quarter": 3, "year": 12}[grain]
        index = first.year * 12 + first.month - 1 + months
        return dt.date(index // 12, index % 12 + 1, 1)
    except (OverflowError, ValueError):
        return None


def label(first: dt.date, grain: Grain) -> str:
    """A period's name: ``2026-W05``, ``2026-03``, ``2026-Q1`` or ``2026``."""
    if grain == "week":
        year, week, _ = first.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if grain == "month":
        return f"{first.year:04d}-{first.month:02d}"
    if grain == "quarter":
        return f"{first.year:04d}-Q{(first.month - 1) // 3 + 1}"
    return f"{first.year:04d}"


def local_day(at: dt.datetime, zone: dt.tzinfo, path: str) -> dt.date:
    """The local day of instant *at* in *zone*; a ValidationError at *path* beyond the calendar's range."""
    try:
        return at.astimezone(zone).date()
    except OverflowError:
        msg = f"{at.isoformat()} is too close to the limits of datetime to fall on a day in {c.show(zone)}"
        raise ValidationError.single(path, msg, code="range") from None


def sums(totals: Mapping[str, Decimal]) -> tuple[Money, ...]:
    """Exact sums per currency as Money, in currency order."""
    if len(totals) <= 1:  # the usual case: one currency, or none
        return tuple(_make(_in_range(v), k) for k, v in totals.items())
    return tuple(_make(_in_range(totals[k]), k) for k in sorted(totals))


def add_money(totals: dict[str, Decimal], amount: Money | None) -> None:
    """Add *amount* (if any) to its currency's sum in *totals*."""
    if amount is not None:
        cur = amount.currency
        totals[cur] = _add(totals.get(cur, Decimal(0)), amount.amount)


def added(a: tuple[Money, ...], b: tuple[Money, ...]) -> tuple[Money, ...]:
    """Two tuples of sums per currency added, currency by currency."""
    totals: dict[str, Decimal] = {}
    for m in (*a, *b):
        add_money(totals, m)
    return sums(totals)


def amount_cells(name: str, amounts: tuple[Money, ...], currencies: Iterable[str]) -> dict[str, object]:
    """One ``<name>_<currency>`` cell per currency of the report: the sum, or 0."""
    mine = {m.currency: m.amount for m in amounts}
    return {f"{name}_{cur}": mine.get(cur, Decimal(0)) for cur in currencies}


def events_listed(events: object) -> list[DealEvent]:
    """*events* as a list, each checked to be a deal's change (``events[i]`` names the first that is not)."""
    c.require_iterable(events, "StageChanged", "events")
    if type(events) is list and countOf(map(type, events), StageChanged) == len(events):
        return cast("list[DealEvent]", events)  # a log of moves, checked at C speed
    return _listed(cast("Iterable[Any]", events), cast("type", _CHANGES), _WHAT_EVENTS, "events")


def deals_listed(opportunities: object) -> list[Opportunity]:
    """*opportunities* as a list of Opportunity, each id once (``opportunities[i]`` names the bad one)."""
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    deals: list[Opportunity] = _listed(
        cast("Iterable[Any]", opportunities), Opportunity, "an Opportunity", "opportunities"
    )
    ids = list(map(_ID, deals))
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for i, k in enumerate(ids):
            if k in seen:
                msg = f"{k!r} appears twice; give each deal once"
                raise ValidationError.single(f"opportunities[{i}].id", msg, code="duplicate")
            seen.add(k)
    return deals


def window(start: object, end: object) -> tuple[dt.datetime | None, dt.datetime | None]:
    """*start* and *end* as UTC instants (either may be ``None``); *end* after *start*."""
    first = None if start is None else instant(start, field="start")
    last = None if end is None else instant(end, field="end")
    if first is not None and last is not None and last <= first:
        raise ValidationError.single("end", f"{last.isoformat()} is not after start", code="order")
    return first, last


_ID = attrgetter("id")


# --- the report ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class WinLossRow:
    """
    One group of closed deals: its *key* (one value per dimension of the
    report's ``by``, ``None`` where the deal has none), how many were won
    and lost, and their amounts, one sum per currency in currency order.
    """

    key: tuple[Any, ...]
    won: int
    lost: int
    won_amounts: tuple[Money, ...] = ()
    lost_amounts: tuple[Money, ...] = ()

    @property
    def closed(self) -> int:
        """
        Won + lost.

        Cost: O(1).
        """
        return self.won + self.lost

    @property
    def win_rate(self) -> Fraction | None:
        """
        Won / (won + lost); ``None`` when none closed.

        Cost: O(1).
        """
        return Fraction(self.won, self.closed) if self.closed else None


@attrs.frozen(kw_only=True, repr=False)
class WinLoss(Report):
    """
    The deals closed in ``[start, end)`` (``None``: unbounded), won and
    lost, grouped by *by* (see :func:`win_loss`): a :class:`WinLossRow`
    per group, sorted by key (``None`` last), and the totals over every
    deal, each deal once.

    A :class:`~funnelkit.Report`: its table has one row per group, the
    grouping columns first, then ``won``, ``lost``, ``closed``,
    ``win_rate`` and a ``won_amount_<currency>`` and
    ``lost_amount_<currency>`` column per currency.  Its chart draws the
    win rate per period when grouped by period alone, else the groups with
    the most closed deals.

    :meth:`merge` adds the reports of partitions split by deal (each deal
    with its events in one partition) into exactly the report of the whole.
    """

    by: tuple[Dimension, ...]
    rows: tuple[WinLossRow, ...]
    won: int = 0
    lost: int = 0
    won_amounts: tuple[Money, ...] = ()
    lost_amounts: tuple[Money, ...] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    period: Grain = "month"
    tz: dt.tzinfo = dt.UTC

    @property
    def win_rate(self) -> Fraction | None:
        """
        Won / (won + lost) over every deal; ``None`` when none closed.

        Cost: O(1).
        """
        closed = self.won + self.lost
        return Fraction(self.won, closed) if closed else None

    @property
    def currencies(self) -> tuple[str, ...]:
        """
        The currencies of the amounts, in order.

        Cost: O(c) for c currencies.
        """
        return tuple(sorted({m.currency for m in (*self.won_amounts, *self.lost_amounts)}))

    def merge(self, other: WinLoss) -> WinLoss:
        """
        The report over the deals of both (partitions split by deal, each
        deal with its events in one): exactly what :func:`win_loss` gives
        over all of them.  Reports grouped otherwise, or of another window,
        period or zone, are refused by name (``other.by``, ``other.start``,
        ...; code ``conflict``).

        Cost: O((g + h) log(g + h)) for g and h groups.
        """
        c.require(other, WinLoss, "a WinLoss", "other")
        for field in ("by", "start", "end", "period", "tz"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "grouping")
        acc: dict[tuple[Any, ...], list[Any]] = {}
        for r in (*self.rows, *other.rows):
            got = acc.get(r.key)
            acc[r.key] = (
                [r.won, r.lost, r.won_amounts, r.lost_amounts]
                if got is None
                else [
                    got[0] + r.won,
                    got[1] + r.lost,
                    added(got[2], r.won_amounts),
                    added(got[3], r.lost_amounts),
                ]
            )
        rows = tuple(
            WinLossRow(key=k, won=w, lost=lo, won_amounts=wa, lost_amounts=la)
            for k, (w, lo, wa, la) in sorted(acc.items(), key=_by_key)
        )
        return attrs.evolve(
            self,
            rows=rows,
            won=self.won + other.won,
            lost=self.lost + other.lost,
            won_amounts=added(self.won_amounts, other.won_amounts),
            lost_amounts=added(self.lost_amounts, other.lost_amounts),
        )

    def _summary(self) -> str:
        rate = "-" if self.win_rate is None else f"{float(self.win_rate):.1%}"
        by = ", ".join(self.by) or "nothing"
        return f"{self.won:,} won, {self.lost:,} lost (win rate {rate}); {len(self.rows):,} groups by {by}"

    def _rows(self) -> list[dict[str, object]]:
        currencies = self.currencies
        return [
            {
                **dict(zip(self.by, r.key, strict=True)),
                "won": r.won,
                "lost": r.lost,
                "closed": r.closed,
                "win_rate": r.win_rate,
                **amount_cells("won_amount", r.won_amounts, currencies),
                **amount_cells("lost_amount", r.lost_amounts, currencies),
            }
            for r in self.rows
        ]

    def to_svg(self) -> str:
        """
        The win rate per period as a line when the report is grouped by
        period alone; else a bar per group (the twelve with the most closed
        deals), as wide as its closed deals, labelled with won, lost and
        the win rate.

        Cost: O(g log g) for g groups.
        """
        if self.by == ("period",) and self.rows:
            dated = [
                (i, r) for i, r in enumerate(self.rows) if r.key[0] is not None and r.win_rate is not None
            ]
            points = [(float(i), float(cast("Fraction", r.win_rate))) for i, r in dated]
            every = max(1, -(-len(dated) // 6))
            ticks = tuple((float(i), str(r.key[0])) for i, r in dated[::every])
            x = Axis(-0.5, max(0.5, len(self.rows) - 0.5), ticks)
            return chart_svg(
                title=f"win rate per {self.period}",
                x=x,
                y=nice_axis(0, 1, label=percent),
                x_label=self.period,
                y_label="won / closed",
                lines=[Line("win rate", points, color=BLUE, markers="dot")],
            )
        top = sorted(self.rows, key=lambda r: -r.closed)[:_MOST_BARS]
        bars = [
            (
                " / ".join("-" if v is None else str(v) for v in r.key) or "all",
                float(r.closed),
                f"{r.won:,} won, {r.lost:,} lost ({_percent(r.win_rate)})",
            )
            for r in top
        ]
        title = f"closed deals by {', '.join(self.by) or 'nothing'}"
        if not bars:
            return chart_svg(title=f"{title}: none", x=nice_axis(0, 1), y=nice_axis(0, 1))
        return funnel_svg(bars, title=title)


def _percent(rate: Fraction | None) -> str:
    """A rate as a percentage, ``-`` for none."""
    return "-" if rate is None else percent(float(rate))


def _by_key(item: tuple[tuple[Any, ...], Any]) -> tuple[tuple[int, str], ...]:
    """A group's key as it sorts: values in order, ``None`` after every value."""
    return tuple((1, "") if v is None else (0, str(v)) for v in item[0])


# --- the function -------------------------------------------------------------------------------


def win_loss(
    opportunities: Iterable[Opportunity],
    events: Iterable[DealEvent] = (),
    *,
    by: Iterable[str] = ("lost_reason",),
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    period: str = "month",
    tz: dt.tzinfo | str = "UTC",
    tiers: Mapping[str, Tier | str] | None = None,
    segments: Mapping[str, str] | None = None,
) -> WinLoss:
    """
    The deals won and lost, counted and summed per group: why they were
    lost, whom to, from which stage, by owner, tier, segment and period.

    A deal counts when it is closed (won or lost, as given: a deal lost and
    reopened counts by its last close) and entered its closing stage
    (``stage_entered_at``) in ``[start, end)``; ``None`` leaves that side
    open.  Open deals are left out.  The dimensions of *by*, in any
    number and order (see :data:`WIN_LOSS_DIMENSIONS`):

    - ``lost_reason``: the deal's lost reason (``None`` for won deals);
    - ``competitor``: each competitor the deal names (``Opportunity.competitors``),
      so a deal naming two competitors counts in both groups, and one naming
      none under ``None``: each group's win rate is the win rate against that
      competitor (Salesforce's and HubSpot's competitor win rate).  Names are
      taken as written (normalise them first);
    - ``stage``: the stage the deal was lost (or won) from: the
      ``from_stage`` of its last ``lose`` (or ``win``) move in *events*;
      ``None`` without one;
    - ``owner``, ``pipeline``;
    - ``tier``: the customer's A/B/C tier from *tiers* (customer id to
      tier, e.g. ``abc(...).tiers``); ``segment``: the customer's segment
      from *segments* (customer id to any label: industry, region, size);
      ``None`` for customers not in the mapping;
    - ``period``: the local *period* (``week``, ``month``, ``quarter`` or
      ``year`` in zone *tz*) the deal closed in, named ``2026-W05``,
      ``2026-03``, ``2026-Q1`` or ``2026``: the trend.

    Amounts are summed per currency, never across; deals without an
    amount count but add nothing.  The report's totals count each deal
    once, also when grouped by competitor.

    A book worked by hand: three deals lost, two won, one open.

    >>> import datetime as dt
    >>> from funnelkit import Money, Opportunity
    >>> t = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    >>> def deal(i, status, amount, competitors=(), reason=None):
    ...     stage = {"open": "proposal"}.get(status, status)
    ...     return Opportunity(id=i, customer_id="c", owner="ann", pipeline="default", stage=stage,
    ...                        status=status, created_at=t, stage_entered_at=t, lost_reason=reason,
    ...                        amount=Money.of(amount, "USD"), competitors=competitors)
    >>> book = [deal("a", "lost", 100, ["Rival"], "price"), deal("b", "lost", 200, ["Rival"], "price"),
    ...         deal("c", "lost", 300, [], "timing"), deal("d", "won", 400, ["Rival", "Other"]),
    ...         deal("e", "won", 500), deal("f", "open", 600)]
    >>> report = win_loss(book, by=["lost_reason"])
    >>> [(r.key, r.won, r.lost, [str(m) for m in r.lost_amounts]) for r in report.rows]
    [(('price',), 0, 2, ['300 USD']), (('timing',), 0, 1, ['300 USD']), ((None,), 2, 0, [])]
    >>> rivals = win_loss(book, by=["competitor"])
    >>> [(r.key[0], r.won, r.lost, str(r.win_rate)) for r in rivals.rows]
    [('Other', 1, 0, '1'), ('Rival', 1, 2, '1/3'), (None, 1, 1, '1/2')]
    >>> rivals.won, rivals.lost, rivals.win_rate
    (2, 3, Fraction(2, 5))

    Cost: O(n k + e + g log g) for n deals, k groups per deal (competitors
    named), e events and g groups.
    """
    deals = deals_listed(opportunities)
    moves = events_listed(events)
    dims = _dimensions(by)
    first, last = window(start, end)
    grain = grain_of(period)
    zone = zone_of(tz)
    tier_of, segment_of = _mappings(dims, tiers, segments)
    closed_from = _closed_from(moves) if "stage" in dims else {}
    getters = [
        _getter(d, tier_of=tier_of, segment_of=segment_of, closed_from=closed_from, grain=grain, zone=zone)
        for d in dims
    ]
    many = "competitor" in dims
    acc: dict[tuple[Any, ...], list[Any]] = {}
    totals: list[Any] = [0, 0, {}, {}]
    for i, o in enumerate(deals):
        status = o.status
        if status is _OPEN:
            continue
        at = o.stage_entered_at
        if (first is not None and at < first) or (last is not None and at >= last):
            continue
        side = 0 if status is _WON else 1
        amount = o.amount
        if not many:  # each deal in one group: the totals are the groups' sums, added up below
            key = tuple([g(o, i) for g in getters])
            got = acc.get(key)
            if got is None:
                got = acc[key] = [0, 0, {}, {}]
            got[side] += 1
            add_money(got[2 + side], amount)
            continue
        totals[side] += 1
        add_money(totals[2 + side], amount)
        parts = [g(o, i) for g in getters]
        for key in product(*(p if d == "competitor" else (p,) for d, p in zip(dims, parts, strict=True))):
            got = acc.get(key)
            if got is None:
                got = acc[key] = [0, 0, {}, {}]
            got[side] += 1
            add_money(got[2 + side], amount)
    if not many:
        for w, lo, wa, la in acc.values():
            totals[0] += w
            totals[1] += lo
            for mine, theirs in ((totals[2], wa), (totals[3], la)):
                for cur, value in theirs.items():
                    mine[cur] = _add(mine.get(cur, Decimal(0)), value)
    rows = tuple(
        WinLossRow(key=k, won=w, lost=lo, won_amounts=sums(wa), lost_amounts=sums(la))
        for k, (w, lo, wa, la) in sorted(acc.items(), key=_by_key)
    )
    return WinLoss(
        by=dims,
        rows=rows,
        won=totals[0],
        lost=totals[1],
        won_amounts=sums(totals[2]),
        lost_amounts=sums(totals[3]),
        start=first,
        end=last,
        period=grain,
        tz=zone,
    )


def _mappings(
    dims: tuple[Dimension, ...], tiers: object, segments: object
) -> tuple[Mapping[str, Tier], Mapping[str, str]]:
    """*tiers* and *segments* read (each refused when bad, used or not), and needed when grouped by."""
    for dim, name, given in (("tier", "tiers", tiers), ("segment", "segments", segments)):
        if dim in dims and given is None:
            msg = f"None; grouping by {dim!r} needs {name}= (customer id -> {dim})"
            raise ValidationError.single(name, msg, code="missing")
    tier_of = {} if tiers is None else _tiers(cast("Mapping[str, Tier | str]", tiers))
    segment_of = {} if segments is None else _segments(segments)
    return tier_of, segment_of


def _dimensions(by: object) -> tuple[Dimension, ...]:
    """*by* as dimensions, each once; a problem per bad item (at most MAX_PROBLEMS)."""
    allowed = ", ".join(WIN_LOSS_DIMENSIONS)
    if not c.is_iterable(by):
        raise c.at("by", c.wrong_type(by, f"an iterable of dimensions ({allowed})"))
    out: list[Dimension] = []
    problems: list[Problem] = []
    for i, d in enumerate(cast("Iterable[object]", by)):
        if len(problems) >= MAX_PROBLEMS or i >= len(WIN_LOSS_DIMENSIONS) + MAX_PROBLEMS:
            break
        if not isinstance(d, str) or d not in WIN_LOSS_DIMENSIONS:
            msg = f"{c.show(d)} is not a dimension; allowed: {allowed}"
            problems.append(Problem(path=f"by[{i}]", code="choice", message=msg))
        elif d in out:
            problems.append(Problem(path=f"by[{i}]", code="duplicate", message=f"{d!r} is given twice"))
        else:
            out.append(d)
    if problems:
        raise ValidationError(problems)
    return tuple(out)


def _segments(segments: object) -> dict[str, str]:
    """*segments* as customer id -> segment label; a problem per bad entry."""
    table = c.to_mapping(segments, "segments")  # a pandas Series
    if not isinstance(table, Mapping):
        raise c.at("segments", c.wrong_type(table, "a mapping of customer id to segment"))
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for cid, segment in table.items():
        if not isinstance(cid, str) or not isinstance(segment, str) or not segment.strip():
            what = "customer id" if not isinstance(cid, str) else "segment"
            value = cid if not isinstance(cid, str) else segment
            msg = f"{c.show(value)} is not a {what}: a non-blank str"
            problems.append(Problem(path=f"segments[{c.show(cid)}]", code="type", message=msg))
            if len(problems) >= MAX_PROBLEMS:
                break
        else:
            out[cid] = segment
    if problems:
        raise ValidationError(problems)
    return out


def _closed_from(moves: list[DealEvent]) -> dict[str, tuple[OpportunityStatus, str]]:
    """Per deal, the status its last closing move (by version, then time) gave, and the stage it left."""
    last: dict[str, tuple[int, dt.datetime, OpportunityStatus, str]] = {}
    for e in moves:
        if type(e) is not StageChanged or e.kind not in _CLOSES:
            continue
        mine = (e.version, e.at, _CLOSES[e.kind], e.from_stage)
        got = last.get(e.opportunity_id)
        if got is None or mine[:2] > got[:2]:
            last[e.opportunity_id] = mine
    return {k: (status, stage) for k, (_, _, status, stage) in last.items()}


_Get = Callable[[Opportunity, int], Any]


def _getter(
    dim: Dimension,
    *,
    tier_of: Mapping[str, Tier],
    segment_of: Mapping[str, str],
    closed_from: Mapping[str, tuple[OpportunityStatus, str]],
    grain: Grain,
    zone: dt.tzinfo,
) -> _Get:
    """How one dimension reads a closed deal (*i*: its place, for errors)."""
    if dim == "lost_reason":
        return lambda o, _i: o.lost_reason if o.status is _LOST else None
    if dim == "competitor":
        return lambda o, _i: tuple(dict.fromkeys(o.competitors)) or (None,)
    if dim == "owner":
        return lambda o, _i: o.owner
    if dim == "pipeline":
        return lambda o, _i: o.pipeline
    if dim == "tier":
        return lambda o, _i: None if (t := tier_of.get(o.customer_id)) is None else t.value
    if dim == "segment":
        return lambda o, _i: segment_of.get(o.customer_id)
    if dim == "stage":

        def stage(o: Opportunity, _i: int) -> str | None:
            got = closed_from.get(o.id)
            return got[1] if got is not None and got[0] is o.status else None

        return stage
    labels: dict[dt.date, str] = {}

    def period(o: Opportunity, i: int) -> str:
        first = first_day(local_day(o.stage_entered_at, zone, f"opportunities[{i}].stage_entered_at"), grain)
        name = labels.get(first)
        if name is None:
            name = labels[first] = label(first, grain)
        return name

    return period
