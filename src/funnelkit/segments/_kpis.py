"""
Activity KPIs per rep and period, and rep quartiles.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast, overload

import attrs

from .. import _checks as c
from .._frozenmap import FrozenMap
from .._money import _CONTEXT, Money
from .._report import Report, conflict
from .._splits import CreditSplits, Split, splits_of
from .._time import Period
from .._time import period_of as _period
from .._time import start_of as _start
from .._time import zone as zone_of
from ..entities import Activity, ActivityKind, Customer, Opportunity
from ..errors import Problem, ValidationError
from ..stages import MoveKind, StageChanged
from ._args import (
    MAX_PROBLEMS,
    each_of,
    function_of_one,
    items_of,
    not_iterable,
    plain_mapping,
    wrong_item,
)


#: What makes a visit "effective" by default: a purpose and feedback recorded.
def default_effective(activity: Activity) -> bool:
    """
    The default effective-visit rule: a visit or meeting whose purpose and
    feedback are both filled.
    Cost: O(1).
    """
    if not isinstance(activity, Activity):
        c.require(activity, Activity, "an Activity", "activity")
    return (
        activity.kind in (ActivityKind.VISIT, ActivityKind.MEETING)
        and bool((activity.purpose or "").strip())
        and bool((activity.feedback or "").strip())
    )


@attrs.frozen(kw_only=True)
class RepActivity:
    """
    One rep's activity counts in one period (starting on *start*, local).
    """

    rep_id: str
    start: dt.date
    visits: int
    effective_visits: int
    calls: int
    emails: int
    meetings: int
    minutes: int

    def attainment(self, targets: Mapping[str, int]) -> dict[str, Fraction]:
        """
        Each count against its target: ``{"calls": Fraction(4, 5)}`` for 40 of 50.

        *targets* maps KPI names (``visits``, ``calls`` ...) to positive ints.
        Cost: O(t) in the number of targets.
        """
        targets = plain_mapping(targets, "KPI name to target", "targets")
        out: dict[str, Fraction] = {}
        problems = []
        for name, target in targets.items():
            if not isinstance(name, str) or name not in _COUNTS:
                problems.append(
                    Problem(
                        path="targets",
                        code="choice",
                        message=f"{c.show(name)} is not a KPI; allowed: {', '.join(_COUNTS)}",
                    )
                )
            elif isinstance(target, bool) or not isinstance(target, int) or target <= 0:
                problems.append(
                    Problem(
                        path=f"targets[{name!r}]",
                        code="type" if isinstance(target, bool) or not isinstance(target, int) else "range",
                        message=f"{c.show(target)} is not a positive int",
                    )
                )
            else:
                out[name] = Fraction(getattr(self, name), target)
            if len(problems) >= MAX_PROBLEMS:
                break
        if problems:
            raise ValidationError(problems)
        return out


_COUNTS = ("visits", "effective_visits", "calls", "emails", "meetings", "minutes")


@attrs.frozen(kw_only=True, repr=False)
class ActivityKpis(Report, Sequence[RepActivity]):
    """
    Each rep's activity counts per *period* in zone *tz*, from
    :func:`activity_kpis`: rows sorted by rep, then period.

    A sequence of :class:`RepActivity` (iterate it, index it, take its
    ``len``) and a :class:`~funnelkit.Report` whose table has one row per
    rep and period.  Counts, so :meth:`merge` adds the KPIs of any
    partitions of the activities (each activity in one) into exactly the
    KPIs of all of them.
    """

    rows: tuple[RepActivity, ...]
    period: Period = Period.MONTH
    tz: dt.tzinfo = dt.UTC

    @overload
    def __getitem__(self, index: int) -> RepActivity: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[RepActivity, ...]: ...
    def __getitem__(self, index: int | slice) -> RepActivity | tuple[RepActivity, ...]:
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[RepActivity]:
        return iter(self.rows)

    def merge(self, other: ActivityKpis) -> ActivityKpis:
        """
        The KPIs of the activities of both, each activity in one of them:
        exactly what :func:`activity_kpis` gives over all of them (with the
        same *effective* rule, which the report cannot check).  KPIs of
        another period or zone are refused by name (``other.period``,
        ``other.tz``; code ``conflict``).
        Cost: O(p log p) for p (rep, period) rows.
        """
        c.require(other, ActivityKpis, "an ActivityKpis", "other")
        for field in ("period", "tz"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "period")
        counts: dict[tuple[str, dt.date], list[int]] = {}
        for r in (*self.rows, *other.rows):
            row = counts.setdefault((r.rep_id, r.start), [0] * len(_COUNTS))
            for i, name in enumerate(_COUNTS):
                row[i] += getattr(r, name)
        return _activity(counts, self.period, self.tz)

    def _summary(self) -> str:
        reps = len({r.rep_id for r in self.rows})
        periods = len({r.start for r in self.rows})
        totals = ", ".join(
            f"{sum(getattr(r, k) for r in self.rows):,} {k}" for k in ("visits", "calls", "emails")
        )
        return (
            f"{c.counted(reps, 'rep')} over {c.counted(periods, self.period.value)} ({_zone_name(self.tz)}): "
            f"{totals}"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per rep and period: the start of the period and every count.
        """
        return [attrs.asdict(r, recurse=False) for r in self.rows]


def _zone_name(tz: dt.tzinfo) -> str:
    """A zone as people name it: its IANA key, or its name at no instant in particular."""
    return str(getattr(tz, "key", None) or tz.tzname(None) or tz)


def _activity(counts: Mapping[tuple[str, dt.date], list[int]], period: Period, tz: dt.tzinfo) -> ActivityKpis:
    """The KPIs from the counts per (rep, period start), rows in order."""
    return ActivityKpis(
        rows=tuple(
            RepActivity(rep_id=rep, start=start, **dict(zip(_COUNTS, row, strict=True)))
            for (rep, start), row in sorted(counts.items())
        ),
        period=period,
        tz=tz,
    )


def activity_kpis(
    activities: Iterable[Activity],
    *,
    period: Period | str,
    tz: dt.tzinfo | str,
    effective: Callable[[Activity], bool] = default_effective,
) -> ActivityKpis:
    """
    Count each rep's visits (effective ones apart), calls, emails, meetings
    and minutes of contact per day, ISO week or month in zone *tz*: an
    :class:`ActivityKpis`, a sequence of :class:`RepActivity`.

    One streaming pass: *activities* may be a generator of any length; the
    memory used grows with the number of (rep, period) pairs, not with the
    number of activities.  *effective* decides what counts as an effective
    visit (by default :func:`default_effective`).  Rows come sorted by rep,
    then period.  Cost: O(n + p log p) for n activities and p (rep, period) rows.
    """
    c.require_iterable(activities, "Activity", "activities")
    zone = zone_of(tz)
    kind = _period(period)
    function_of_one(effective, "an Activity (True when it is an effective visit)", "effective")
    problems: list[Problem] = []
    counts: dict[tuple[str, dt.date], list[int]] = {}
    visit, call, email, meeting = (
        ActivityKind.VISIT,
        ActivityKind.CALL,
        ActivityKind.EMAIL,
        ActivityKind.MEETING,
    )
    minute = dt.timedelta(minutes=1)
    for i, a in enumerate(activities):
        if not isinstance(a, Activity):
            problems.append(wrong_item(a, Activity, f"activities[{i}]"))
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        start = _start(a.at, kind, zone)
        if start is None:
            problems.append(_beyond(a.at, f"activities[{i}].at"))
            continue
        if problems:
            continue  # only look for more problems
        key = (a.rep_id, start)
        row = counts.get(key)
        if row is None:
            row = counts[key] = [0, 0, 0, 0, 0, 0]
        k = a.kind
        if k is visit:
            row[0] += 1
        if effective(a):
            row[1] += 1
        if k is call:
            row[2] += 1
        elif k is email:
            row[3] += 1
        elif k is meeting:
            row[4] += 1
        if a.duration is not None:
            row[5] += a.duration // minute
    if problems:
        raise ValidationError(problems)
    return _activity(counts, kind, zone)


def quartiles(scores: Mapping[str, Decimal | int | Money]) -> dict[str, int]:
    """
    Each rep's quartile on an outcome KPI: 1 is the top 25 %, 4 the bottom.

    A rep's quartile is ``1 + 4 * (reps strictly better) // reps``: tied reps
    share a quartile, the best rep is always in quartile 1, and with fewer
    than four reps some quartiles stay empty.  Cost: O(n log n) in the
    number of reps.

    >>> quartiles({"ann": 90, "bob": 70, "cat": 70, "dan": 10})
    {'ann': 1, 'bob': 2, 'cat': 2, 'dan': 4}
    """
    scores = c.to_mapping(scores, "scores")  # a pandas Series
    if not isinstance(scores, Mapping) or not scores:
        raise ValidationError.single(
            "scores",
            f"{c.show(scores)} is not a non-empty mapping of rep id to score",
            code="type" if not isinstance(scores, Mapping) else "empty",
        )
    values: dict[str, Decimal] = {}
    problems = []
    currency = None
    for rep, raw in scores.items():
        score = c.plain(raw)  # a numpy int as an int
        if isinstance(score, Money):
            if currency not in (None, score.currency):
                problems.append(
                    Problem(
                        path=f"scores[{rep!r}]", code="currency", message=f"{score!r} is not in {currency}"
                    )
                )
                continue
            currency = score.currency
            values[rep] = score.amount
        elif isinstance(score, Decimal | int) and not isinstance(score, bool) and Decimal(score).is_finite():
            values[rep] = Decimal(score)
        else:
            problems.append(
                Problem(
                    path=f"scores[{rep!r}]",
                    code="range" if isinstance(score, Decimal) else "type",
                    message=f"{c.show(score)} is not a number or Money",
                )
            )
    if problems:
        raise ValidationError(problems)
    ascending = sorted(values.values())
    n = len(ascending)
    # 1 + 4 * (reps strictly better) // reps
    return {rep: 1 + (4 * (n - bisect.bisect_right(ascending, v))) // n for rep, v in values.items()}


def kpi_records(kpis: Iterable[RepActivity]) -> list[dict[str, Any]]:
    """
    Flat dicts for ``pandas.DataFrame``, one per :class:`RepActivity`.
    Cost: O(n) in the number of rows.
    """
    return [attrs.asdict(k) for k in items_of(kpis, RepActivity, "kpis")]


def _beyond(at: dt.datetime, path: str) -> Problem:
    msg = f"{at.isoformat()} is too close to the limits of datetime to fall in a local period"
    return Problem(path=path, code="range", message=msg)


@attrs.frozen(kw_only=True)
class RepResults:
    """
    One rep's outcomes in one period (starting on *start*, local): deals won
    and lost, revenue per currency, wins after one meeting or several, new
    customers, and customers buying again.
    """

    rep_id: str
    start: dt.date
    won: int
    lost: int
    revenue: Mapping[str, Decimal]
    single_meeting_wins: int
    multi_meeting_wins: int
    new_customers: int
    buying_customers: int
    repeat_customers: int

    @property
    def close_rate(self) -> Fraction | None:
        """
        Won / (won + lost) in the period; ``None`` when nothing closed.
        """
        closed = self.won + self.lost
        return None if not closed else Fraction(self.won, closed)

    @property
    def repeat_purchase_rate(self) -> Fraction | None:
        """
        Of the customers who bought in the period, the share who had bought before.
        """
        if not self.buying_customers:
            return None
        return Fraction(self.repeat_customers, self.buying_customers)

    def attainment(
        self, targets: Mapping[str, int | Money | Fraction | Decimal | str]
    ) -> dict[str, Fraction | None]:
        """
        Each outcome against its target, as :meth:`RepActivity.attainment`
        does for activities: a count (``won``, ``new_customers``,
        ``buying_customers``, ``repeat_customers``, ``single_meeting_wins``,
        ``multi_meeting_wins``) against a positive int; ``revenue`` against
        :class:`~funnelkit.Money` (the revenue in its currency, 0 when none);
        ``close_rate`` against a rate in (0, 1] (a Fraction, a Decimal or
        its text; ``None`` when nothing closed in the period).

        >>> r = RepResults(rep_id="ann", start=dt.date(2026, 4, 1), won=3, lost=1,
        ...                revenue={"USD": Decimal("4500")}, single_meeting_wins=1,
        ...                multi_meeting_wins=2, new_customers=2, buying_customers=3,
        ...                repeat_customers=1)
        >>> r.attainment({"won": 4, "revenue": Money.of(6000, "USD"), "close_rate": "0.5"})
        {'won': Fraction(3, 4), 'revenue': Fraction(3, 4), 'close_rate': Fraction(3, 2)}

        Cost: O(t) in the number of targets.
        """
        targets = plain_mapping(targets, "outcome KPI name to target", "targets")
        out: dict[str, Fraction | None] = {}
        problems = []
        for name, target in targets.items():
            path = f"targets[{c.show(name)}]"
            if not isinstance(name, str) or name not in _OUTCOME_TARGETS:
                msg = f"{c.show(name)} is not an outcome KPI; allowed: {', '.join(_OUTCOME_TARGETS)}"
                problems.append(Problem(path="targets", code="choice", message=msg))
            elif name == "revenue":
                if not isinstance(target, Money) or target.amount <= 0:
                    code = "type" if not isinstance(target, Money) else "range"
                    problems.append(
                        Problem(path=path, code=code, message=f"{c.show(target)} is not Money > 0")
                    )
                else:
                    done = self.revenue.get(target.currency, Decimal(0))
                    out[name] = Fraction(done) / Fraction(target.amount)
            elif name == "close_rate":
                rate = _rate(target)
                if rate is None:
                    msg = f"{c.show(target)} is not a rate in (0, 1]: a Fraction, a Decimal or its text"
                    problems.append(Problem(path=path, code="range", message=msg))
                else:
                    out[name] = None if self.close_rate is None else self.close_rate / rate
            elif isinstance(target, bool) or not isinstance(target, int) or target <= 0:
                code = "type" if isinstance(target, bool) or not isinstance(target, int) else "range"
                problems.append(
                    Problem(path=path, code=code, message=f"{c.show(target)} is not a positive int")
                )
            else:
                out[name] = Fraction(getattr(self, name), target)
            if len(problems) >= MAX_PROBLEMS:
                break
        if problems:
            raise ValidationError(problems)
        return out


#: The outcomes a target may be set for.
_OUTCOME_TARGETS = (
    "won",
    "close_rate",
    "revenue",
    "new_customers",
    "buying_customers",
    "repeat_customers",
    "single_meeting_wins",
    "multi_meeting_wins",
)


def _rate(value: object) -> Fraction | None:
    """A rate in (0, 1] read exactly from a Fraction, a finite Decimal, an int or their text; else None."""
    if isinstance(value, str) and len(value) <= 50:
        top, slash, bottom = value.strip().partition("/")
        try:
            value = Fraction(int(top), int(bottom)) if slash else c.parse_decimal(top)
        except (ValueError, ZeroDivisionError):
            return None
    if isinstance(value, Decimal) and value.is_finite() and -30 <= value.adjusted() <= 1:
        value = Fraction(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = Fraction(value)
    return value if isinstance(value, Fraction) and 0 < value <= 1 else None


#: The counts of a RepResults that merges add up, in field order.
_RESULT_COUNTS = (
    "won",
    "lost",
    "single_meeting_wins",
    "multi_meeting_wins",
    "new_customers",
    "buying_customers",
    "repeat_customers",
)


@attrs.frozen(kw_only=True, repr=False)
class ResultKpis(Report, Sequence[RepResults]):
    """
    Each rep's outcomes per *period* in zone *tz*, from :func:`result_kpis`:
    rows sorted by rep, then period.

    A sequence of :class:`RepResults` (iterate it, index it, take its
    ``len``) and a :class:`~funnelkit.Report` whose table has one row per
    rep and period, with the close rate, the repeat purchase rate and one
    ``revenue_<currency>`` column per currency.

    :meth:`merge` adds the KPIs of partitions split by customer (each
    customer with its deals, their events and its activities in one
    partition) into exactly the KPIs of the whole: buyers and repeat buyers
    are distinct customers, and a repeat purchase needs the customer's
    earlier wins, so a customer must not be split.
    """

    rows: tuple[RepResults, ...]
    period: Period = Period.MONTH
    tz: dt.tzinfo = dt.UTC

    @overload
    def __getitem__(self, index: int) -> RepResults: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[RepResults, ...]: ...
    def __getitem__(self, index: int | slice) -> RepResults | tuple[RepResults, ...]:
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[RepResults]:
        return iter(self.rows)

    def merge(self, other: ResultKpis) -> ResultKpis:
        """
        The KPIs of the customers of both, for partitions split by customer:
        exactly what :func:`result_kpis` gives over all of them.  KPIs of
        another period or zone are refused by name (``other.period``,
        ``other.tz``; code ``conflict``).
        Cost: O(p log p) for p (rep, period) rows.
        """
        c.require(other, ResultKpis, "a ResultKpis", "other")
        for field in ("period", "tz"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "period")
        sums: dict[tuple[str, dt.date], tuple[list[int], dict[str, Decimal]]] = {}
        for r in (*self.rows, *other.rows):
            counts, revenue = sums.setdefault((r.rep_id, r.start), ([0] * len(_RESULT_COUNTS), {}))
            for i, name in enumerate(_RESULT_COUNTS):
                counts[i] += getattr(r, name)
            for currency, amount in r.revenue.items():
                revenue[currency] = _CONTEXT.add(revenue.get(currency, Decimal(0)), amount)
        rows = (
            RepResults(
                rep_id=rep,
                start=start,
                revenue=FrozenMap(dict(sorted(revenue.items()))),
                **dict(zip(_RESULT_COUNTS, counts, strict=True)),
            )
            for (rep, start), (counts, revenue) in sorted(sums.items())
        )
        return ResultKpis(rows=tuple(rows), period=self.period, tz=self.tz)

    def _summary(self) -> str:
        reps = len({r.rep_id for r in self.rows})
        periods = len({r.start for r in self.rows})
        won = sum(r.won for r in self.rows)
        lost = sum(r.lost for r in self.rows)
        return (
            f"{c.counted(reps, 'rep')} over {c.counted(periods, self.period.value)} ({_zone_name(self.tz)}): "
            f"{won:,} won, {lost:,} lost"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per rep and period: the counts, the two rates and the revenue per currency.
        """
        currencies = sorted({cur for r in self.rows for cur in r.revenue})
        return [
            {
                "rep_id": r.rep_id,
                "start": r.start,
                "won": r.won,
                "lost": r.lost,
                "close_rate": r.close_rate,
                **{f"revenue_{cur}": r.revenue.get(cur, Decimal(0)) for cur in currencies},
                "single_meeting_wins": r.single_meeting_wins,
                "multi_meeting_wins": r.multi_meeting_wins,
                "new_customers": r.new_customers,
                "buying_customers": r.buying_customers,
                "repeat_customers": r.repeat_customers,
                "repeat_purchase_rate": r.repeat_purchase_rate,
            }
            for r in self.rows
        ]


def _row(rows: dict[tuple[str, dt.date], dict[str, Any]], rep: str, start: dt.date) -> dict[str, Any]:
    """The counters of *rep* in the period starting *start* (made empty on first use)."""
    return rows.setdefault(
        (rep, start),
        {
            "won": 0,
            "lost": 0,
            "revenue": {},
            "single": 0,
            "multi": 0,
            "new": 0,
            "buyers": set(),
            "repeat": set(),
        },
    )


def _closing(
    events: Iterable[StageChanged],
    opps: Mapping[str, Opportunity],
    kind: Period,
    zone: dt.tzinfo,
    problems: list[Problem],
) -> list[tuple[StageChanged, dt.date]]:
    """The wins and losses among *events*, each with the start of its period; problems go to *problems*."""
    closing = []
    for i, e in enumerate(events):
        if not isinstance(e, StageChanged):
            problems.append(wrong_item(e, StageChanged, f"events[{i}]"))
        elif e.kind in (MoveKind.WIN, MoveKind.LOSE):
            if e.opportunity_id not in opps:
                problems.append(
                    Problem(
                        path=f"events[{i}].opportunity_id",
                        code="reference",
                        message=f"{c.show(e.opportunity_id)} is not among the opportunities",
                    )
                )
                continue
            start = _start(e.at, kind, zone)
            if start is None:
                problems.append(_beyond(e.at, f"events[{i}].at"))
                continue
            closing.append((e, start))
        if len(problems) >= MAX_PROBLEMS:
            break
    return closing


def _count_close(  # noqa: PLR0917 - one close in one rep's row
    r: dict[str, Any],
    e: StageChanged,
    opp: Opportunity,
    revenue: Money | None,
    meetings: Mapping[str, list[dt.datetime]],
    repeat: bool,
) -> None:
    """Count one win or loss *e* of *opp* in a rep's row *r*, with their *revenue* of it."""
    if e.kind is MoveKind.LOSE:
        r["lost"] += 1
        return
    r["won"] += 1
    if revenue is not None:
        r["revenue"][revenue.currency] = _CONTEXT.add(
            r["revenue"].get(revenue.currency, Decimal(0)), revenue.amount
        )
    held = sum(1 for at in meetings.get(opp.id, ()) if at <= e.at)
    r["single" if held <= 1 else "multi"] += 1
    r["buyers"].add(opp.customer_id)
    if repeat:
        r["repeat"].add(opp.customer_id)


def result_kpis(
    opportunities: Iterable[Opportunity],
    events: Iterable[StageChanged],
    *,
    period: Period | str,
    tz: dt.tzinfo | str,
    activities: Iterable[Activity] = (),
    customers: Iterable[Customer] = (),
    splits: CreditSplits | Iterable[Split] | None = None,
) -> ResultKpis:
    """
    Result KPIs per rep (the opportunity's owner) and period, from the
    stage-change events, as a :class:`ResultKpis` (a sequence of
    :class:`RepResults`): deals won and lost (by the period of the win or
    loss), close rate, revenue of the won deals per currency, single-meeting
    vs multi-meeting wins (visits and meetings of the deal up to its win:
    at most one is a single-meeting win), new customers (by *customers*'
    creation and owner) and repeat purchases (a customer with a win in the
    period who had won deals before).  With *splits*
    (:class:`~funnelkit.CreditSplits`), a split deal's win or loss counts in
    each of its reps' rows, and its revenue is allocated by their shares in
    whole minor units (the revenue adds up to the deals'; the counts to more
    than the deals).

    Cost: O(n log n) in the number of events, plus O(m) for the opportunities,
    activities and customers.
    """
    problems = not_iterable(
        (opportunities, Opportunity, "opportunities"),
        (events, StageChanged, "events"),
        (activities, Activity, "activities"),
        (customers, Customer, "customers"),
    )
    if problems:
        raise ValidationError(problems)
    credit = splits_of(splits)
    zone = zone_of(tz)
    kind = _period(period)
    opps = {o.id: o for o in items_of(opportunities, Opportunity, "opportunities")}
    meetings: dict[str, list[dt.datetime]] = {}
    for a in each_of(activities, Activity, "activities"):
        if a.opportunity_id is not None and a.kind in (ActivityKind.VISIT, ActivityKind.MEETING):
            meetings.setdefault(a.opportunity_id, []).append(a.at)
    people = items_of(customers, Customer, "customers")
    closing = _closing(events, opps, kind, zone, problems)
    new: list[tuple[str, dt.date]] = []
    for i, cust in enumerate(people):
        if cust.owner is not None:
            start = _start(cust.created_at, kind, zone)
            if start is None:
                problems.append(_beyond(cust.created_at, f"customers[{i}].created_at"))
            else:
                new.append((cust.owner, start))
    if problems:
        raise ValidationError(problems[:MAX_PROBLEMS])
    rows: dict[tuple[str, dt.date], dict[str, Any]] = {}
    closing.sort(key=lambda es: (es[0].at, es[0].opportunity_id))
    bought_before: set[str] = set()
    split = frozenset(credit.deals) if credit is not None else frozenset()
    for e, start in closing:
        opp = opps[e.opportunity_id]
        repeat = opp.customer_id in bought_before
        if opp.id not in split:
            _count_close(_row(rows, opp.owner, start), e, opp, opp.amount, meetings, repeat)
        elif opp.amount is None:
            for rep, _ in cast("CreditSplits", credit).of(opp):
                _count_close(_row(rows, rep, start), e, opp, None, meetings, repeat)
        else:
            for rep, money in cast("CreditSplits", credit)._allocate(opp.id, opp.owner, opp.amount):  # noqa: SLF001
                _count_close(_row(rows, rep, start), e, opp, money, meetings, repeat)
        if e.kind is MoveKind.WIN:
            bought_before.add(opp.customer_id)
    for owner, start in new:
        _row(rows, owner, start)["new"] += 1
    return ResultKpis(
        rows=tuple(
            RepResults(
                rep_id=rep,
                start=start,
                won=r["won"],
                lost=r["lost"],
                revenue=FrozenMap(dict(sorted(r["revenue"].items()))),
                single_meeting_wins=r["single"],
                multi_meeting_wins=r["multi"],
                new_customers=r["new"],
                buying_customers=len(r["buyers"]),
                repeat_customers=len(r["repeat"]),
            )
            for (rep, start), r in sorted(rows.items())
        ),
        period=kind,
        tz=zone,
    )
