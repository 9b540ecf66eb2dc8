"""
Retention: who keeps buying, who churned and when, and repeat-purchase
cohorts.

Definitions (source 003 asks for churn and retention per tier and the
repeat-purchase rate; these are funnelkit's choices, stated once here and in
each docstring):

- a customer **buys** in a period when one of its deals was won in it: a won
  deal closes when it entered its won stage (``stage_entered_at``);
- a customer is **active** in a period when it bought in it or in one of the
  ``window - 1`` periods before (``window=1``: it bought in this very
  period); with *activities*, a qualifying activity counts like a purchase;
- each period, every customer active in it or in the one before is counted
  once: **new** (active for the first time), **reactivated** (active again
  after a gap), **retained** (active in both) or **churned** (active in the
  period before, not in this one).  So ``active_before = retained + churned``
  and ``active = new + reactivated + retained``;
- only whole periods that ended by *now* are reported: the period holding
  *now* is not over, so its churn is not known yet.  Deals and activities
  after *now* are ignored (not refused), so the same tables give the report
  as of any earlier *now*: a backtest needs no filtering.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, cast

import attrs

from .. import _checks as c
from .._money import _CONTEXT, Money, _in_range, _make
from .._report import Report, conflict
from .._time import instant
from .._time import zone as zone_of
from ..entities import Activity, Opportunity, OpportunityStatus, Tier
from ..errors import Problem, ValidationError
from ._abc import AbcResult
from ._args import MAX_PROBLEMS, each_of, function_of_one, member, not_iterable
from ._migration import _tiers

Grain = Literal["week", "month", "quarter", "year"]
#: The lengths of period that retention and cohorts count by (local calendar; weeks start on Monday).
GRAINS: tuple[Grain, ...] = ("week", "month", "quarter", "year")
#: The most periods of inactivity *window* may allow.
MAX_WINDOW = 10_000

_WON = OpportunityStatus.WON
#: Tiers in report order; ``None`` (ungraded) last.
_TIERS: tuple[Tier | None, ...] = (Tier.A, Tier.B, Tier.C, None)
_RANK: dict[Tier | None, int] = {t: i for i, t in enumerate(_TIERS)}
_ZERO = Decimal(0)


# --- periods ---------------------------------------------------------------------------------


def grain_of(value: object) -> Grain:
    """*value* as a length of period; else a ValidationError at ``period`` (code ``choice``)."""
    if isinstance(value, str) and value in GRAINS:
        return value
    allowed = ", ".join(repr(g) for g in GRAINS)
    raise ValidationError.single(
        "period", f"{c.show(value)} is not a period; allowed: {allowed}", code="choice"
    )


def _start(index: int, grain: Grain) -> dt.date:
    """The first day of period *index* (see :meth:`_Clock.index`)."""
    if grain == "month":
        return dt.date(index // 12, index % 12 + 1, 1)
    if grain == "quarter":
        return dt.date(index // 4, index % 4 * 3 + 1, 1)
    if grain == "week":
        return dt.date.fromordinal(index * 7 + 1)
    return dt.date(index, 1, 1)


def _label(index: int, grain: Grain) -> str:
    """A period's name: ``2026-W05``, ``2026-03``, ``2026-Q1`` or ``2026``."""
    if grain == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if grain == "quarter":
        return f"{index // 4:04d}-Q{index % 4 + 1}"
    if grain == "week":
        year, week, _ = dt.date.fromordinal(index * 7 + 1).isocalendar()
        return f"{year:04d}-W{week:02d}"
    return f"{index:04d}"


class _Clock:
    """Reads instants as period numbers in one zone, as of one *now* (checked)."""

    def __init__(self, now: object, period: object, tz: object) -> None:
        self.now = instant(now, field="now")
        self.grain = grain_of(period)
        self.zone = zone_of(cast("dt.tzinfo | str", tz))
        self.utc = self.zone is dt.UTC
        try:
            current = self.index(self.now)
        except OverflowError:
            msg = (
                f"{self.now.isoformat()} is too close to the limits of datetime to fall on a day in the zone"
            )
            raise ValidationError.single("now", msg, code="range") from None
        #: The last whole period that ended by now.
        self.last = current - 1

    def index(self, at: dt.datetime) -> int:
        """The period number of instant *at* (a UTC datetime); OverflowError beyond the calendar."""
        local = at if self.utc else at.astimezone(self.zone)
        grain = self.grain
        if grain == "month":  # a datetime has the fields of its date: no date made per deal
            return local.year * 12 + local.month - 1
        if grain == "quarter":
            return local.year * 4 + (local.month - 1) // 3
        if grain == "week":
            return (local.toordinal() - 1) // 7
        return local.year

    def place(self, at: dt.datetime, path: str, problems: list[Problem]) -> int | None:
        """The period number of *at* if it lies in a whole period that ended by now, else ``None``."""
        if at > self.now:
            return None
        try:
            p = self.index(at)
        except OverflowError:
            msg = f"{at.isoformat()} is too close to the limits of datetime to fall on a day in the zone"
            problems.append(Problem(path=path, code="range", message=msg))
            return None
        return p if p <= self.last else None


def _window(value: object) -> int:
    """*value* as a number of periods from 1 to MAX_WINDOW; else a ValidationError at ``window``."""
    value = c.plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WINDOW:
        code = "type" if isinstance(value, bool) or not isinstance(value, int) else "range"
        msg = f"{c.show(value)} is not a number of periods (an int from 1 to {MAX_WINDOW:,})"
        raise ValidationError.single("window", msg, code=code)
    return value


def _tier_map(tiers: object) -> dict[str, Tier | None] | None:
    """*tiers* (customer id -> tier, or an AbcResult) read, or ``None`` when not given."""
    if tiers is None:
        return None
    return _tiers(cast("AbcResult | Mapping[str, Tier | str | None]", tiers), "tiers")


def _qualifying(fn: object) -> Callable[[Activity], object] | None:
    """*fn* checked to be a function of one activity, or ``None`` (every activity qualifies)."""
    if fn is None:
        return None
    return function_of_one(fn, "an Activity (True when it counts as contact)", "qualifying")


def _sums(totals: Mapping[str, Decimal]) -> tuple[Money, ...]:
    """Exact sums per currency as Money, in currency order."""
    return tuple(_make(_in_range(totals[k]), k) for k in sorted(totals))


def _add(totals: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    """*amount* added to its currency's sum, exactly (whatever the caller's decimal context)."""
    totals[currency] = _CONTEXT.add(totals.get(currency, _ZERO), amount)


def _added(a: tuple[Money, ...], b: tuple[Money, ...]) -> tuple[Money, ...]:
    """Two tuples of sums per currency added, currency by currency."""
    totals: dict[str, Decimal] = {}
    for m in (*a, *b):
        _add(totals, m.currency, m.amount)
    return _sums(totals)


def _money_cells(name: str, amounts: tuple[Money, ...], currencies: Iterable[str]) -> dict[str, object]:
    """One ``<name>_<currency>`` cell per currency of the report: the sum, or 0."""
    mine = {m.currency: m.amount for m in amounts}
    return {f"{name}_{cur}": mine.get(cur, _ZERO) for cur in currencies}


def _tier_name(tier: Tier | None) -> str:
    return "ungraded" if tier is None else tier.value


def _share(part: int, whole: int) -> Fraction | None:
    return None if not whole else Fraction(part, whole)


def _percent(value: Fraction | None) -> str:
    return "n/a" if value is None else f"{float(value):.1%}"


def _same(mine: object, other: object, fields: tuple[str, ...], what: str) -> None:
    """Refuse to merge reports made with another value of one of *fields* (code ``conflict``)."""
    for field in fields:
        if getattr(other, field) != getattr(mine, field):
            raise conflict(field, getattr(mine, field), getattr(other, field), what)


# --- retention and churn -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RetentionRow:
    """
    One tier's customers in one period (*period* names it, *start* is its
    first local day): how many were active in the period before
    (*active_before*), and what became of each customer active in either.

    ``active_before == retained + churned`` and ``active == new +
    reactivated + retained``.  *revenue* is what the tier's customers bought
    in the period, per currency; *churned_ids* names the churned customers.
    """

    period: str
    start: dt.date
    tier: Tier | None
    active_before: int
    new: int
    reactivated: int
    retained: int
    churned: int
    revenue: tuple[Money, ...] = ()
    churned_ids: tuple[str, ...] = ()

    @property
    def active(self) -> int:
        """The customers active in the period: new, reactivated and retained."""
        return self.new + self.reactivated + self.retained

    @property
    def retention_rate(self) -> Fraction | None:
        """Of the customers active in the period before, the share still active; ``None`` when none were."""
        return _share(self.retained, self.active_before)

    @property
    def churn_rate(self) -> Fraction | None:
        """Of the customers active in the period before, the share who churned; ``None`` when none were."""
        return _share(self.churned, self.active_before)


@attrs.frozen(kw_only=True, repr=False)
class Retention(Report):
    """
    Churn and retention per period and tier, from :func:`retention`: one
    :class:`RetentionRow` per period and tier that had a customer active in
    the period or the one before, sorted by period, then tier (A, B, C,
    ungraded).

    ``to_records()`` and ``to_frame()`` give one row per period and tier:
    the counts, the two rates and one ``revenue_<currency>`` column per
    currency.  Iterate it (or read ``rows``) for the rows themselves, with
    the churned customers' ids.

    Every count is a count of customers, each on its own, so :meth:`merge`
    adds the reports of partitions split by customer (each customer with
    all its deals and activities in one part) into exactly the report of
    the whole.
    """

    rows: tuple[RetentionRow, ...]
    period: Grain
    tz: dt.tzinfo
    now: dt.datetime
    window: int

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[RetentionRow]:
        return iter(self.rows)

    def row(self, period: str, tier: Tier | str | None = None) -> RetentionRow | None:
        """
        The row of the period named *period* (``"2026-Q1"``) and *tier*
        (``None``: ungraded, or every customer when no tiers were given);
        ``None`` when no customer of the tier was active then.
        Cost: O(r) for r rows.
        """
        if not isinstance(period, str):
            raise c.at("period", c.wrong_type(period, "a period name such as '2026-Q1'"))
        wanted = None if tier is None else member(Tier, tier)
        if tier is not None and wanted is None:
            msg = f"{c.show(tier)} is not a tier; allowed: 'A', 'B', 'C' or None"
            raise ValidationError.single("tier", msg, code="choice")
        return next((r for r in self.rows if r.period == period and r.tier is wanted), None)

    def merge(self, other: Retention) -> Retention:
        """
        The report of the customers of both, for partitions split by
        customer: exactly what :func:`retention` gives over all of them
        (with the same *qualifying* rule, which the report cannot check).
        Reports of another period, zone, now or window are refused by name
        (``other.period`` ...; code ``conflict``).
        Cost: O(r log r) for r rows.
        """
        c.require(other, Retention, "a Retention", "other")
        _same(self, other, ("period", "tz", "now", "window"), "retention")
        acc: dict[tuple[dt.date, int], list[Any]] = {}
        for r in (*self.rows, *other.rows):
            key = (r.start, _RANK[r.tier])
            got = acc.get(key)
            if got is None:
                acc[key] = [r.period, r.tier, r.active_before, r.new, r.reactivated, r.retained, r.churned,
                            r.revenue, r.churned_ids]  # fmt: skip
            else:
                for i, value in enumerate((r.active_before, r.new, r.reactivated, r.retained, r.churned), 2):
                    got[i] += value
                got[7] = _added(got[7], r.revenue)
                got[8] = tuple(sorted((*got[8], *r.churned_ids)))
        rows = tuple(
            RetentionRow(
                period=v[0], start=start, tier=v[1], active_before=v[2], new=v[3], reactivated=v[4],
                retained=v[5], churned=v[6], revenue=v[7], churned_ids=v[8],
            )
            for (start, _), v in sorted(acc.items(), key=lambda kv: kv[0])
        )  # fmt: skip
        return attrs.evolve(self, rows=rows)

    def _summary(self) -> str:
        periods = len({r.start for r in self.rows})
        churned = sum(r.churned for r in self.rows)
        before = sum(r.active_before for r in self.rows)
        rate = _percent(_share(churned, before))
        return (
            f"{c.counted(periods, self.period)} as of {self.now:%Y-%m-%d %H:%M} (window {self.window}): "
            f"{churned:,} churned of {before:,} active before ({rate}), "
            f"{sum(r.new for r in self.rows):,} new, {sum(r.reactivated for r in self.rows):,} reactivated"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per period and tier: the counts, the rates and the revenue per currency.
        """
        currencies = sorted({m.currency for r in self.rows for m in r.revenue})
        return [
            {
                "period": r.period,
                "start": r.start,
                "tier": None if r.tier is None else r.tier.value,
                "active_before": r.active_before,
                "new": r.new,
                "reactivated": r.reactivated,
                "retained": r.retained,
                "churned": r.churned,
                "active": r.active,
                "retention_rate": r.retention_rate,
                "churn_rate": r.churn_rate,
                **_money_cells("revenue", r.revenue, currencies),
            }
            for r in self.rows
        ]


class _Book:
    """What a pass over deals (and activities) learns of each customer: its active periods and revenue."""

    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.problems: list[Problem] = []
        #: customer id -> the periods it bought (or had qualifying contact) in
        self.active: dict[str, set[int]] = {}
        #: (customer id, period) -> {currency: amount}
        self.revenue: dict[tuple[str, int], dict[str, Decimal]] = {}

    def deals(self, opportunities: object) -> None:
        """Read the won deals: a purchase in the period each closed in."""
        place, problems, active, revenue = self.clock.place, self.problems, self.active, self.revenue
        for i, o in enumerate(each_of(opportunities, Opportunity, "opportunities")):
            if o.status is not _WON:
                continue
            p = place(o.stage_entered_at, f"opportunities[{i}].stage_entered_at", problems)
            if p is None:
                if len(problems) >= MAX_PROBLEMS:
                    break
                continue
            cid = o.customer_id
            got = active.get(cid)
            if got is None:
                active[cid] = {p}
            else:
                got.add(p)
            amount = o.amount
            if amount is not None:
                key = (cid, p)
                totals = revenue.get(key)
                if totals is None:
                    revenue[key] = {amount.currency: amount.amount}
                else:
                    _add(totals, amount.currency, amount.amount)

    def activities(self, activities: object, qualifying: Callable[[Activity], object] | None) -> None:
        """Read the qualifying activities: contact in the period each happened in."""
        place, problems, active = self.clock.place, self.problems, self.active
        for i, a in enumerate(each_of(activities, Activity, "activities")):
            p = place(a.at, f"activities[{i}].at", problems)
            if p is None:
                if len(problems) >= MAX_PROBLEMS:
                    break
                continue
            if qualifying is not None and not qualifying(a):
                continue
            active.setdefault(a.customer_id, set()).add(p)


def _runs(periods: Iterable[int], window: int, last: int) -> list[tuple[int, int]]:
    """
    The customer's runs of active periods ``(first, last)``: a period is active when it or one of the
    ``window - 1`` before holds a purchase; runs end at *last* at the latest.
    """
    runs: list[tuple[int, int]] = []
    for p in sorted(periods):
        end = min(p + window - 1, last)
        if runs and p <= runs[-1][1] + 1:
            if end > runs[-1][1]:
                runs[-1] = (runs[-1][0], end)
        else:
            runs.append((p, end))
    return runs


def retention(
    opportunities: Iterable[Opportunity],
    *,
    now: dt.datetime,
    period: str = "quarter",
    tz: dt.tzinfo | str = "UTC",
    tiers: AbcResult | Mapping[str, Tier | str | None] | None = None,
    activities: Iterable[Activity] = (),
    qualifying: Callable[[Activity], object] | None = None,
    window: int = 1,
) -> Retention:
    """
    Churn and retention per *period* (``week``, ``month``, ``quarter`` or
    ``year``, local to zone *tz*) and tier: who stayed, who churned, who is
    new and who came back (source 003: churn and retention by tier).

    - A customer **buys** in a period when one of its deals was won in it
      (the deal's ``stage_entered_at``); with *activities*, an activity that
      *qualifying* accepts (every activity when *qualifying* is ``None``)
      counts like a purchase.
    - It is **active** in a period when it bought in it or in one of the
      ``window - 1`` periods before: with ``window=4`` quarters, a customer
      churns once four quarters in a row pass without a purchase.
    - Each period, each customer active in it or in the period before is
      **new** (active for the first time), **reactivated** (active again
      after a gap), **retained** (active in both) or **churned** (active
      before, not now): ``active_before = retained + churned``.
    - *tiers* maps customer ids to tiers (``abc(...).tiers``, an
      :class:`AbcResult`, or any mapping; a customer not in it is ungraded,
      ``None``).  One grading for every period: to follow tier moves, see
      :func:`migration`.  Without *tiers*, every customer is in one group
      (tier ``None``): the overall rates.
    - Only whole periods that ended by *now* are reported.  Deals and
      activities after *now* are ignored, so one call on the full tables
      gives the report as it stood at any earlier *now*.
    - Revenue is summed per currency, never across.

    A book worked by hand: quarters of 2026, ``now`` on 1 October (Q1 to Q3
    are over).  ``a`` buys in Q1 and Q2, ``b`` in Q1 and Q3, ``c`` in Q2.

    >>> import datetime as dt
    >>> from funnelkit import Money, Opportunity
    >>> def won(i, customer, month, amount):
    ...     t = dt.datetime(2026, month, 10, tzinfo=dt.UTC)
    ...     return Opportunity(id=i, customer_id=customer, owner="ann", pipeline="p", stage="won",
    ...                        status="won", created_at=t, stage_entered_at=t,
    ...                        amount=Money.of(amount, "USD"))
    >>> book = [won("1", "a", 2, 100), won("2", "a", 5, 50), won("3", "b", 1, 70),
    ...         won("4", "b", 8, 30), won("5", "c", 4, 20), won("6", "c", 11, 90)]
    >>> report = retention(book, now=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    >>> for r in report:
    ...     print(r.period, r.active_before, r.new, r.reactivated, r.retained, r.churned, r.churned_ids)
    2026-Q1 0 2 0 0 0 ()
    2026-Q2 2 1 0 1 1 ('b',)
    2026-Q3 2 0 1 0 2 ('a', 'c')

    In Q2, ``a`` is retained, ``b`` churned and ``c`` is new; in Q3 ``b``
    comes back while ``a`` and ``c`` churn.  ``c``'s deal of November falls
    in Q4, which is not over.  With a window of two quarters nobody churns
    before Q4:

    >>> [(r.period, r.retained, r.churned) for r in retention(book, now=report.now, window=2)]
    [('2026-Q1', 0, 0), ('2026-Q2', 2, 0), ('2026-Q3', 3, 0)]

    Cost: O(n + a + c log c + p t) for n deals, a activities, c customers'
    active periods, p periods and t tiers.
    """
    problems = not_iterable(
        (opportunities, Opportunity, "opportunities"), (activities, Activity, "activities")
    )
    if problems:
        raise ValidationError(problems)
    clock = _Clock(now, period, tz)
    span = _window(window)
    tier_of = _tier_map(tiers)
    rule = _qualifying(qualifying)
    book = _Book(clock)
    book.deals(opportunities)
    book.activities(activities, rule)
    if book.problems:
        raise ValidationError(book.problems[:MAX_PROBLEMS])
    return _retention(book, clock, span, tier_of)


def _retention(
    book: _Book, clock: _Clock, window: int, tier_of: Mapping[str, Tier | None] | None
) -> Retention:
    """The report from the customers' active periods."""
    last = clock.last
    # (tier rank, period) -> counts; retained by differences: +1 where a run's second period starts,
    # -1 after its last.
    new: dict[tuple[int, int], int] = {}
    back: dict[tuple[int, int], int] = {}
    gone: dict[tuple[int, int], list[str]] = {}
    steps: dict[tuple[int, int], int] = {}
    for cid, periods in book.active.items():
        t = 3 if tier_of is None else _RANK[tier_of.get(cid)]
        for k, (first, end) in enumerate(_runs(periods, window, last)):
            key = (t, first)
            target = back if k else new
            target[key] = target.get(key, 0) + 1
            if end > first:
                steps[(t, first + 1)] = steps.get((t, first + 1), 0) + 1
                steps[(t, end + 1)] = steps.get((t, end + 1), 0) - 1
            if end < last:
                gone.setdefault((t, end + 1), []).append(cid)
    revenue: dict[tuple[int, int], dict[str, Decimal]] = {}
    for (cid, p), totals in book.revenue.items():
        t = 3 if tier_of is None else _RANK[tier_of.get(cid)]
        mine = revenue.setdefault((t, p), {})
        for cur, amount in totals.items():
            _add(mine, cur, amount)
    rows: list[RetentionRow] = []
    for t in range(len(_TIERS)):
        points = sorted({p for tt, p in (*new, *back, *steps, *gone) if tt == t})
        changes = sorted((p, d) for (tt, p), d in steps.items() if tt == t)
        retained = j = 0
        k = 0  # points[k] is the next period where something starts, changes or ends
        p = points[0] if points else last + 1
        while p <= last:
            while j < len(changes) and changes[j][0] <= p:
                retained += changes[j][1]
                j += 1
            key = (t, p)
            churned = sorted(gone.get(key, ()))
            n, r = new.get(key, 0), back.get(key, 0)
            if n or r or retained or churned:
                rows.append(
                    RetentionRow(
                        period=_label(p, clock.grain), start=_start(p, clock.grain), tier=_TIERS[t],
                        active_before=retained + len(churned), new=n, reactivated=r, retained=retained,
                        churned=len(churned), revenue=_sums(revenue.get(key, {})), churned_ids=tuple(churned),
                    )
                )  # fmt: skip
            while k < len(points) and points[k] <= p:
                k += 1
            if retained:
                p += 1  # the retained go on: every period until the next change has a row
            elif k < len(points):
                p = points[k]  # nobody active: jump to the next period where something happens
            else:
                break
    rows.sort(key=lambda r: (r.start, _RANK[r.tier]))
    return Retention(rows=tuple(rows), period=clock.grain, tz=clock.zone, now=clock.now, window=window)


# --- repeat-purchase cohorts ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PurchaseCohortRow:
    """
    One cohort (the customers whose first purchase fell in the period
    *cohort*, starting on *start*) *offset* periods after that first period:
    how many customers it has, how many bought in that period (*buyers*),
    how many had bought again by its end (*repeated*, cumulative: a second
    won deal, in the first period or later), and what they bought, per
    currency.
    """

    cohort: str
    start: dt.date
    offset: int
    customers: int
    buyers: int
    repeated: int
    revenue: tuple[Money, ...] = ()

    @property
    def buying_share(self) -> Fraction:
        """The share of the cohort who bought in this period (1 at offset 0)."""
        return Fraction(self.buyers, self.customers) if self.customers else Fraction(0)

    @property
    def repeat_share(self) -> Fraction:
        """The share of the cohort who had bought again by the end of this period."""
        return Fraction(self.repeated, self.customers) if self.customers else Fraction(0)


@attrs.frozen(kw_only=True, repr=False)
class PurchaseCohorts(Report):
    """
    Repeat-purchase cohorts, from :func:`purchase_cohorts`: one
    :class:`PurchaseCohortRow` per cohort (period of first purchase) and offset
    (periods since), for every whole period up to *now*; sorted by cohort,
    then offset.

    ``str(cohorts)`` is the triangle of repeat shares; ``to_records()`` and
    ``to_frame()`` give one row per cohort and offset with the counts, the
    two shares and one ``revenue_<currency>`` column per currency.

    Counts of customers and sums of their deals, so :meth:`merge` adds the
    cohorts of partitions split by customer (each customer with all its
    deals in one part) into exactly the cohorts of the whole.
    """

    rows: tuple[PurchaseCohortRow, ...]
    period: Grain
    tz: dt.tzinfo
    now: dt.datetime

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[PurchaseCohortRow]:
        return iter(self.rows)

    def merge(self, other: PurchaseCohorts) -> PurchaseCohorts:
        """
        The cohorts of the customers of both, for partitions split by
        customer: exactly what :func:`purchase_cohorts` gives over all of
        them.  Cohorts of another period, zone or now are refused by name
        (``other.period`` ...; code ``conflict``).
        Cost: O(r log r) for r rows.
        """
        c.require(other, PurchaseCohorts, "a PurchaseCohorts", "other")
        _same(self, other, ("period", "tz", "now"), "cohorts")
        acc: dict[tuple[dt.date, int], PurchaseCohortRow] = {}
        for r in (*self.rows, *other.rows):
            key = (r.start, r.offset)
            got = acc.get(key)
            acc[key] = (
                r
                if got is None
                else attrs.evolve(
                    got, customers=got.customers + r.customers, buyers=got.buyers + r.buyers,
                    repeated=got.repeated + r.repeated, revenue=_added(got.revenue, r.revenue),
                )
            )  # fmt: skip
        return attrs.evolve(self, rows=tuple(acc[k] for k in sorted(acc)))

    def _summary(self) -> str:
        firsts = [r for r in self.rows if r.offset == 0]
        customers = sum(r.customers for r in firsts)
        last = {r.start: r.repeated for r in self.rows}  # rows come by offset: the last one is cumulative
        repeated = sum(last.values())
        return (
            f"{c.counted(len(firsts), 'cohort')} by {self.period} as of {self.now:%Y-%m-%d %H:%M}: "
            f"{c.counted(customers, 'customer')}, {repeated:,} bought again "
            f"({_percent(_share(repeated, customers))})"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per cohort and offset: the counts, the two shares and the revenue per currency.
        """
        currencies = sorted({m.currency for r in self.rows for m in r.revenue})
        return [
            {
                "cohort": r.cohort,
                "start": r.start,
                "offset": r.offset,
                "customers": r.customers,
                "buyers": r.buyers,
                "repeated": r.repeated,
                "buying_share": r.buying_share,
                "repeat_share": r.repeat_share,
                **_money_cells("revenue", r.revenue, currencies),
            }
            for r in self.rows
        ]

    def __str__(self) -> str:
        by_cohort: dict[str, list[PurchaseCohortRow]] = {}
        for r in self.rows:
            by_cohort.setdefault(r.cohort, []).append(r)
        width = max((len(rows) for rows in by_cohort.values()), default=0)
        head = f"{'cohort':>10} {'customers':>9} " + "".join(f"{'+' + str(k):>7}" for k in range(width))
        lines = ["Repeat purchase: share who bought again, by periods since the first", head]
        for name, rows in by_cohort.items():
            cells = "".join(f"{float(r.repeat_share):>7.0%}" for r in rows)
            lines.append(f"{name:>10} {rows[0].customers:>9} {cells}")
        return "\n".join(lines)


def purchase_cohorts(
    opportunities: Iterable[Opportunity],
    *,
    now: dt.datetime,
    period: str = "month",
    tz: dt.tzinfo | str = "UTC",
) -> PurchaseCohorts:
    """
    Repeat-purchase cohorts (source 003: the repeat-purchase rate): the
    customers grouped by the *period* of their first purchase (``week``,
    ``month``, ``quarter`` or ``year``, local to zone *tz*), then followed
    period by period: how many bought in each period after the first, how
    many had bought again by then, and the revenue per currency.

    A purchase is a won deal, in the period it was won
    (``stage_entered_at``).  "Bought again" means a second won deal, in the
    first period or later; the count is cumulative, so it never falls, and
    no count ever exceeds the cohort's size.  Only whole periods that ended
    by *now* are counted; deals after *now* are ignored.

    A book worked by hand (months of 2026, now on 1 April: January to March
    are over).  ``a`` buys in January and March, ``b`` twice in January,
    ``c`` in February only.

    >>> import datetime as dt
    >>> from funnelkit import Money, Opportunity
    >>> def won(i, customer, month, day, amount):
    ...     t = dt.datetime(2026, month, day, tzinfo=dt.UTC)
    ...     return Opportunity(id=i, customer_id=customer, owner="ann", pipeline="p", stage="won",
    ...                        status="won", created_at=t, stage_entered_at=t,
    ...                        amount=Money.of(amount, "EUR"))
    >>> book = [won("1", "a", 1, 5, 100), won("2", "a", 3, 9, 40), won("3", "b", 1, 7, 60),
    ...         won("4", "b", 1, 20, 10), won("5", "c", 2, 2, 80)]
    >>> cohorts = purchase_cohorts(book, now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    >>> [(r.cohort, r.offset, r.customers, r.buyers, r.repeated, str(r.revenue[0]) if r.revenue else "-")
    ...  for r in cohorts]  # doctest: +NORMALIZE_WHITESPACE
    [('2026-01', 0, 2, 2, 1, '170 EUR'), ('2026-01', 1, 2, 0, 1, '-'), ('2026-01', 2, 2, 1, 2, '40 EUR'),
     ('2026-02', 0, 1, 1, 0, '80 EUR'), ('2026-02', 1, 1, 0, 0, '-')]
    >>> print(cohorts)
    Repeat purchase: share who bought again, by periods since the first
        cohort customers      +0     +1     +2
       2026-01         2     50%    50%   100%
       2026-02         1      0%     0%

    Cost: O(n + b log b + r) for n deals, b purchases and r rows.
    """
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    clock = _Clock(now, period, tz)
    problems: list[Problem] = []
    bought: dict[str, list[int]] = {}
    revenue: dict[tuple[str, int], dict[str, Decimal]] = {}
    for i, o in enumerate(each_of(opportunities, Opportunity, "opportunities")):
        if o.status is not _WON:
            continue
        p = clock.place(o.stage_entered_at, f"opportunities[{i}].stage_entered_at", problems)
        if p is None:
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        bought.setdefault(o.customer_id, []).append(p)
        if o.amount is not None:
            _add(revenue.setdefault((o.customer_id, p), {}), o.amount.currency, o.amount.amount)
    if problems:
        raise ValidationError(problems[:MAX_PROBLEMS])
    last = clock.last
    size: dict[int, int] = {}
    buyers: dict[tuple[int, int], int] = {}
    again: dict[tuple[int, int], int] = {}  # (cohort, offset of the second purchase)
    money: dict[tuple[int, int], dict[str, Decimal]] = {}
    for cid, periods in bought.items():
        periods.sort()
        first = periods[0]
        size[first] = size.get(first, 0) + 1
        for p in set(periods):
            buyers[(first, p - first)] = buyers.get((first, p - first), 0) + 1
            for cur, amount in revenue.get((cid, p), {}).items():
                _add(money.setdefault((first, p - first), {}), cur, amount)
        if len(periods) > 1:
            key = (first, periods[1] - first)
            again[key] = again.get(key, 0) + 1
    rows: list[PurchaseCohortRow] = []
    for first in sorted(size):
        name, start = _label(first, clock.grain), _start(first, clock.grain)
        repeated = 0
        for k in range(last - first + 1):
            repeated += again.get((first, k), 0)
            rows.append(
                PurchaseCohortRow(
                    cohort=name, start=start, offset=k, customers=size[first],
                    buyers=buyers.get((first, k), 0), repeated=repeated,
                    revenue=_sums(money.get((first, k), {})),
                )
            )  # fmt: skip
    return PurchaseCohorts(rows=tuple(rows), period=clock.grain, tz=clock.zone, now=clock.now)
