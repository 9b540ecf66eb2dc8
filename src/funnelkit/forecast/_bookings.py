"""
Expected bookings in a period: what will be won between two dates, from
what is known at "now", as the sum of what is already won in the period,
the open deals' chances of being won inside it, and the deals still to be
created and won inside it; beside a run rate of past bookings with the
previous cycle's seasonality; the two combined by weights chosen on the
history's own past periods, with an interval from the combination's past
errors.
"""

from __future__ import annotations

import bisect
import datetime as dt
import decimal
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, cast

import attrs

from .. import _checks as c
from .._money import Money, currency_minor_units
from .._report import Report
from .._time import instant
from ..entities import Opportunity, OpportunityStatus
from ..errors import ValidationError
from ..stages import MoveKind, Pipeline, StageChanged
from ._backtest import DealEvent, _unique, as_of
from ._funnel import _listed
from ._incidence import CumulativeIncidence, cumulative_incidence

Component = Literal["closed", "pipeline", "generation", "run_rate"]
#: The components of :func:`expected_bookings`, in the order its lines list them.
COMPONENTS: tuple[Component, ...] = ("closed", "pipeline", "generation", "run_rate")
#: At most this many past periods are replayed to choose the weights and the interval.
MAX_BACKTESTS = 60
#: The longest period forecast (ten years).
MAX_PERIOD = dt.timedelta(days=3660)

_DAY = dt.timedelta(days=1)
#: The instants a history is read between: past periods, seasons and lookbacks reach far back from them.
_EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
_CTX = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_WON, _LOST, _OPEN = OpportunityStatus.WON, OpportunityStatus.LOST, OpportunityStatus.OPEN
_CLOSING = {MoveKind.WIN: "won", MoveKind.LOSE: "lost"}


@attrs.frozen(kw_only=True)
class BookingLine:
    """
    One component's expected bookings for one owner (``None``: not a
    deal's, such as deals yet to be created or the run rate) in one month
    (its first day, in UTC) of the period.
    """

    component: Component
    owner: str | None
    month: dt.date
    amount: Money


@attrs.frozen(kw_only=True)
class DealBooking:
    """
    Why an open deal counts as it does: its stage and days in it at *now*,
    its chance of being won inside the period (*p_won_within*), and its
    amount times that chance (*expected*).  *note* says when the history
    could not tell (a stage never seen, a stay longer than any seen).
    """

    opportunity_id: str
    owner: str
    stage: str
    days_in_stage: float
    amount: Money
    p_won_within: float
    expected: Money
    note: str | None = None


@attrs.frozen(kw_only=True)
class BookingCheck:
    """
    One past period replayed from what was known at its own "now": the
    bottom-up forecast (closed + pipeline + generation), the run rate, the
    combination with the weight chosen, and what was actually won.
    """

    now: dt.datetime
    start: dt.datetime
    end: dt.datetime
    currency: str
    bottom_up: Money
    run_rate: Money
    combined: Money
    actual: Money


@attrs.frozen(kw_only=True, repr=False)
class Bookings(Report):
    """
    The result of :func:`expected_bookings`: its :attr:`lines` by component,
    owner and month; per open deal its explanation (:attr:`deals`); the
    weight of the bottom-up forecast against the run rate per currency
    (:attr:`weights`), chosen on the past periods in :attr:`checks`; and
    :meth:`total` and :meth:`quantile` per currency.

    Not mergeable: the weights and the interval are chosen on the whole
    history; forecast a company in one call.
    """

    start: dt.datetime
    end: dt.datetime
    now: dt.datetime
    lines: tuple[BookingLine, ...]
    deals: tuple[DealBooking, ...]
    weights: Mapping[str, float]
    checks: tuple[BookingCheck, ...]

    @property
    def currencies(self) -> tuple[str, ...]:
        """The currencies forecast, in order."""
        return tuple(sorted({line.amount.currency for line in self.lines} | set(self.weights)))

    def component(self, name: Component, currency: str) -> Money:
        """
        One component's expected bookings in *currency* (before weighting).

        Cost: O(lines).
        """
        if name not in COMPONENTS:
            msg = f"{c.show(name)} is not a component; allowed: {', '.join(COMPONENTS)}"
            raise ValidationError.single("name", msg, code="choice")
        self._currency(currency)
        amounts = [x.amount for x in self.lines if x.component == name and x.amount.currency == currency]
        return Money.total(amounts, currency=currency)

    def bottom_up(self, currency: str) -> Money:
        """
        Closed + pipeline + generation in *currency*.

        Cost: O(lines).
        """
        parts = [self.component(name, currency) for name in ("closed", "pipeline", "generation")]
        return Money.total(parts, currency=currency)

    def total(self, currency: str) -> Money:
        """
        The forecast in *currency*: the bottom-up forecast and the run rate
        combined by the currency's weight, to the minor unit.

        Cost: O(lines).
        """
        self._currency(currency)
        w = self.weights.get(currency, 1.0)
        combined = _float_sum(
            [(self.bottom_up(currency).amount, w), (self.component("run_rate", currency).amount, 1.0 - w)]
        )
        return _money(combined, currency)

    def quantile(self, q: float, currency: str) -> Money | None:
        """
        The *q* quantile (0 < q < 1) of the bookings in *currency*: the
        total scaled by the *q* quantile of the ratios of actual to
        forecast in the past periods (:attr:`checks`); ``None`` with fewer
        than two past periods.  The interval is as wide as the method's own
        past errors, not as a model of independent deals would say.

        Cost: O(k log k) for k past periods.
        """
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q < 1:
            raise ValidationError.single("q", f"{c.show(q)} is not a number between 0 and 1", code="range")
        ratios = self.ratios(currency)
        if len(ratios) < 2:
            return None
        return _money(_times(self.total(currency).amount, _interpolated(ratios, q)), currency)

    def ratios(self, currency: str) -> tuple[float, ...]:
        """
        Actual / combined forecast of each past period in *currency* whose
        forecast was not zero, sorted.

        Cost: O(k log k) for k past periods.
        """
        self._currency(currency)
        return tuple(
            sorted(
                float(_CTX.divide(k.actual.amount, k.combined.amount))
                for k in self.checks
                if k.currency == currency and k.combined.amount
            )
        )

    def _currency(self, currency: object) -> None:
        if currency not in self.currencies:
            allowed = ", ".join(self.currencies) or "none"
            msg = f"{c.show(currency)} is not a currency forecast; allowed: {allowed}"
            raise ValidationError.single("currency", msg, code="choice")

    def _summary(self) -> str:
        totals = ", ".join(str(self.total(k)) for k in self.currencies) or "nothing"
        return f"{self.start.date()} to {self.end.date()} as of {self.now.date()}: {totals}"

    def _rows(self) -> list[dict[str, object]]:
        return [
            {"component": x.component, "owner": x.owner, "month": x.month, "amount": x.amount}
            for x in self.lines
        ]


def expected_bookings(
    opportunities: Sequence[Opportunity],
    events: Iterable[DealEvent],
    pipeline: Pipeline,
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    lookback: dt.timedelta = dt.timedelta(days=365),
    season: dt.timedelta | None = dt.timedelta(days=365),
    backtests: int = 12,
) -> Bookings:
    """
    What will be booked (won) in ``[start, end)``, from what is known at
    *now*: *opportunities* as they stand at *now* and their log *events*
    (moves, edits, changes of owner), none later than *now*.  Four parts:

    - ``closed``: the deals already won in the period before *now*;
    - ``pipeline``: each open deal's amount times its chance of being won
      inside what is left of the period, given its stage and how long it
      has been in it: from the cumulative incidence of won and lost by time
      since entering that stage (Aalen-Johansen, the deals still open
      censored), ``(F_won(a + t2) - F_won(a + t1)) / S(a)`` for a deal in
      its stage for *a*;
    - ``generation``: deals yet to be created in the period and won inside
      it: the amount created per day over *lookback*, times the chance a
      new deal is won within what is left of the period after its creation;
    - ``run_rate``: the mean bookings of the three periods of the same
      length just before *now*, times the previous *season*'s index (its
      period against the three before it), when the history reaches back.

    The bottom-up forecast (the first three) and the run rate are combined
    per currency by the weight that minimises their squared error on up to
    *backtests* past periods of the same length, each forecast from what
    was known at its own "now"; :meth:`Bookings.quantile` scales the total
    by the quantiles of those periods' actual/forecast ratios.

    Refused: an event or a deal created after *now* (look-ahead), an
    inconsistent history (as :func:`as_of` refuses it), a period that does
    not end after it starts.

    Cost: O(b (n + e log e)) for b past periods, n deals and e events.
    """
    first, last, at = _instants(start, end, now)
    lookback = _positive_span(lookback, "lookback", 36_600)
    cycle = None if season is None else _positive_span(season, "season", 3_660)
    k_max = _count(backtests)
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    deals = _listed(opportunities, Opportunity, "an Opportunity", "opportunities")
    log = _unique(events)
    _known_at(deals, log, at)
    deals = list(as_of(deals, log, now=at))  # checks the history; the deals as they stood at now
    known = _Known(deals, log, pipeline, at, lookback, cycle)
    parts = known.forecast(first, last)
    length = last - first
    checks = []
    k = max(1, math.ceil((last - at) / length))
    replayed = 0
    while replayed < k_max and at - k * length > known.earliest:
        replayed += 1
        then = at - k * length
        past = _Known(
            list(as_of(deals, [e for e in log if e.at <= then], now=then)),
            [e for e in log if e.at <= then],
            pipeline,
            then,
            lookback,
            cycle,
        )
        got = past.forecast(first - k * length, last - k * length)
        actual = _won_in(deals, first - k * length, last - k * length)
        for currency in sorted({*got.currencies, *actual}):
            checks.append((then, first - k * length, last - k * length, currency, got, actual))
        k += 1
    weights = _weights(checks, parts.currencies)
    reported = tuple(
        BookingCheck(
            now=then,
            start=s,
            end=e,
            currency=currency,
            bottom_up=_money(got.bottom_up(currency), currency),
            run_rate=_money(got.run_rate.get(currency, Decimal(0)), currency),
            combined=_money(got.combined(currency, weights.get(currency, 1.0)), currency),
            actual=_money(actual.get(currency, Decimal(0)), currency),
        )
        for then, s, e, currency, got, actual in checks
    )
    return Bookings(
        start=first,
        end=last,
        now=at,
        lines=parts.lines(),
        deals=tuple(parts.deals),
        weights=weights,
        checks=reported,
    )


# --- arguments -------------------------------------------------------------------------------


def _instants(start: object, end: object, now: object) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    first = instant(start, field="start")
    last = instant(end, field="end")
    at = instant(now, field="now")
    if last <= first:
        raise ValidationError.single("end", f"{last.isoformat()} is not after start", code="order")
    if last <= at:
        msg = f"{last.isoformat()} is not after now; the period is already over (see won_between)"
        raise ValidationError.single("end", msg, code="order")
    for name, value in (("start", first), ("end", last), ("now", at)):
        if not _EARLIEST <= value <= _LATEST:
            msg = f"{value.isoformat()} is outside the years {_EARLIEST.year}-{_LATEST.year}"
            raise ValidationError.single(name, msg, code="range")
    if last - first > MAX_PERIOD:
        msg = f"{c.show(last - first)} after start is longer than {MAX_PERIOD.days:,} days; forecast less"
        raise ValidationError.single("end", msg, code="range")
    return first, last, at


def _positive_span(value: object, name: str, most_days: int) -> dt.timedelta:
    if not isinstance(value, dt.timedelta):
        raise c.at(name, c.wrong_type(value, "a timedelta"))
    if not _DAY <= value <= most_days * _DAY:
        msg = f"{c.show(value)} is not between a day and {most_days:,} days"
        raise ValidationError.single(name, msg, code="range")
    return value


def _count(value: object) -> int:
    value = c.plain(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise c.at("backtests", c.wrong_type(value, "an int"))
    if not 0 <= value <= MAX_BACKTESTS:
        msg = f"{c.show(value)} is not between 0 and {MAX_BACKTESTS}"
        raise ValidationError.single("backtests", msg, code="range")
    return value


def _known_at(deals: list[Opportunity], log: list[DealEvent], now: dt.datetime) -> None:
    """Refuse what was not known at *now*: an event after it, a deal created after it."""
    for i, e in enumerate(log):
        if e.at > now:
            msg = f"{e.at.isoformat()} is after now ({now.isoformat()}); give only what was known then"
            raise ValidationError.single(f"events[{i}].at", msg, code="order")
    for i, o in enumerate(deals):
        if o.created_at > now:
            msg = (
                f"{o.created_at.isoformat()} is after now ({now.isoformat()}); give only what was known then"
            )
            raise ValidationError.single(f"opportunities[{i}].created_at", msg, code="order")


# --- what is known at one instant ----------------------------------------------------------------


class _Parts:
    """One forecast's parts per currency: lines by (component, owner, month), per-deal explanations."""

    def __init__(self) -> None:
        self.by: dict[tuple[Component, str | None, dt.date, str], Decimal] = {}
        self.deals: list[DealBooking] = []
        self.run_rate: dict[str, Decimal] = {}

    def add(self, component: Component, owner: str | None, month: dt.date, currency: str, v: Decimal) -> None:
        key = (component, owner, month, currency)
        self.by[key] = _CTX.add(self.by.get(key, Decimal(0)), v)

    @property
    def currencies(self) -> set[str]:
        return {k[3] for k in self.by} | set(self.run_rate)

    def bottom_up(self, currency: str) -> Decimal:
        return _sum(v for (comp, _, _, cur), v in self.by.items() if cur == currency and comp != "run_rate")

    def combined(self, currency: str, w: float) -> Decimal:
        return _float_sum([(self.bottom_up(currency), w), (self.run_rate.get(currency, Decimal(0)), 1.0 - w)])

    def lines(self) -> tuple[BookingLine, ...]:
        order = {name: i for i, name in enumerate(COMPONENTS)}
        keys = sorted(self.by, key=lambda k: (order[k[0]], k[3], k[1] or "", k[2]))
        return tuple(
            BookingLine(component=k[0], owner=k[1], month=k[2], amount=_money(self.by[k], k[3])) for k in keys
        )


class _Known:
    """
    What the history tells at *now*: per open stage, the incidence of won
    and lost by days since entering it; from creation, the same; the
    amounts created per day over *lookback*; the bookings of past periods.
    """

    def __init__(  # noqa: PLR0917 - private, called twice
        self,
        deals: list[Opportunity],
        log: Sequence[DealEvent],
        pipeline: Pipeline,
        now: dt.datetime,
        lookback: dt.timedelta,
        season: dt.timedelta | None,
    ) -> None:
        self.deals, self.pipeline, self.now = deals, pipeline, now
        self.lookback, self.season = lookback, season
        self.earliest = min((o.created_at for o in deals), default=now)
        moves: dict[str, list[StageChanged]] = {}
        for e in log:
            if type(e) is StageChanged:
                moves.setdefault(e.opportunity_id, []).append(e)
        open_stages = {s.key for s in pipeline.open_stages}
        by_stage: dict[str, list[tuple[float, str | None]]] = {}
        from_creation: list[tuple[float, str | None]] = []
        for o in deals:
            history = sorted(moves.get(o.id, ()), key=lambda e: (e.version, e.at))
            entries = [(o.created_at, history[0].from_stage if history else o.stage)]
            entries += [(e.at, e.to_stage) for e in history]
            # the observation from entry j: the first close among the moves after it, or censored at now
            for j, (entered, stage) in enumerate(entries):
                after = _first_close(history, j)
                observed = _days(after[0] - entered) if after else _days(now - entered)
                obs = (max(observed, 0.0), after[1] if after else None)
                if j == 0:
                    from_creation.append(obs if history or o.status is _OPEN else _closed(o))
                if stage in open_stages:
                    by_stage.setdefault(stage, []).append(obs)
        self.by_stage = {s: _incidence(obs) for s, obs in by_stage.items()}
        self.from_creation = _incidence(from_creation) if from_creation else None

    def forecast(self, start: dt.datetime, end: dt.datetime) -> _Parts:
        parts = _Parts()
        self._closed(parts, start, end)
        self._pipeline(parts, start, end)
        self._generation(parts, start, end)
        self._run_rate(parts, start, end)
        return parts

    def _closed(self, parts: _Parts, start: dt.datetime, end: dt.datetime) -> None:
        for o in self.deals:
            if o.status is _WON and o.amount is not None and start <= o.stage_entered_at < min(end, self.now):
                parts.add("closed", o.owner, _month(o.stage_entered_at), o.amount.currency, o.amount.amount)

    def _pipeline(self, parts: _Parts, start: dt.datetime, end: dt.datetime) -> None:
        begin = max(start, self.now)
        months = _months(begin, end)
        for o in self.deals:
            if o.status is not _OPEN or o.amount is None:
                continue
            a = max(_days(self.now - o.stage_entered_at), 0.0)
            ci = self.by_stage.get(o.stage)
            note = None
            total = 0.0
            for m_start, m_end in months:
                t1, t2 = _days(m_start - self.now), _days(m_end - self.now)
                p, note = _within(ci, a, t1, t2)
                total += p
                parts.add("pipeline", o.owner, _month(m_start), o.amount.currency, _times(o.amount.amount, p))
            parts.deals.append(
                DealBooking(
                    opportunity_id=o.id,
                    owner=o.owner,
                    stage=o.stage,
                    days_in_stage=a,
                    amount=o.amount,
                    p_won_within=total,
                    expected=_money(_times(o.amount.amount, total), o.amount.currency),
                    note=note,
                )
            )

    def _generation(self, parts: _Parts, start: dt.datetime, end: dt.datetime) -> None:
        ci = self.from_creation
        begin = max(start, self.now)
        since = self.now - self.lookback
        span = _days(min(self.lookback, self.now - self.earliest))
        if ci is None or span <= 0:
            return
        created: dict[str, Decimal] = {}
        for o in self.deals:
            if o.amount is not None and since <= o.created_at < self.now:
                created[o.amount.currency] = _CTX.add(
                    created.get(o.amount.currency, Decimal(0)), o.amount.amount
                )
        for m_start, m_end in _months(begin, end):
            # deals created at u in [m_start, m_end) and won by the period's end: the mean of F(end - u)
            share = _mean_incidence(ci, _days(end - m_end), _days(end - m_start))
            days = _days(m_end - m_start)
            for currency, amount in created.items():
                per_day = _CTX.divide(amount, Decimal(repr(span)))
                parts.add("generation", None, _month(m_start), currency, _times(per_day, share * days))

    def _run_rate(self, parts: _Parts, start: dt.datetime, end: dt.datetime) -> None:
        length = end - start
        windows = [self._won(self.now - (j + 1) * length, self.now - j * length) for j in range(3)]
        recent = [r for r, ok in windows if ok]
        if not recent:
            return
        currencies = sorted({k for r in recent for k in r})
        index: dict[str, float] = {}
        if self.season is not None:
            then, ok = self._won(start - self.season, end - self.season)
            before = [
                self._won(start - self.season - (j + 1) * length, start - self.season - j * length)
                for j in range(3)
            ]
            base = [b for b, fine in before if fine]
            if ok and base:
                for k in currencies:
                    mean = _CTX.divide(_sum(b.get(k, Decimal(0)) for b in base), Decimal(len(base)))
                    if mean > 0:
                        index[k] = float(_CTX.divide(then.get(k, Decimal(0)), mean))
        months = _months(start, end)
        whole = _days(length)
        for k in currencies:
            mean = _CTX.divide(_sum(r.get(k, Decimal(0)) for r in recent), Decimal(len(recent)))
            rate = _times(mean, index.get(k, 1.0))
            parts.run_rate[k] = rate
            for m_start, m_end in months:
                parts.add("run_rate", None, _month(m_start), k, _times(rate, _days(m_end - m_start) / whole))

    def _won(self, start: dt.datetime, end: dt.datetime) -> tuple[dict[str, Decimal], bool]:
        """The bookings per currency won in ``[start, end)``, and whether the history covers it."""
        if start < self.earliest or end > self.now:
            return {}, False
        return _won_in(self.deals, start, end), True


def _won_in(deals: Iterable[Opportunity], start: dt.datetime, end: dt.datetime) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for o in deals:
        if o.status is _WON and o.amount is not None and start <= o.stage_entered_at < end:
            out[o.amount.currency] = _CTX.add(out.get(o.amount.currency, Decimal(0)), o.amount.amount)
    return out


def _first_close(history: list[StageChanged], j: int) -> tuple[dt.datetime, str] | None:
    """The first move from the *j*-th on (the move j is the one after entry j) that closes the deal."""
    for e in history[j:]:
        if e.kind in _CLOSING:
            return e.at, _CLOSING[e.kind]
    return None


def _closed(o: Opportunity) -> tuple[float, str | None]:
    """A closed deal with no moves logged: from creation to its close."""
    return max(_days(o.stage_entered_at - o.created_at), 0.0), "won" if o.status is _WON else "lost"


def _incidence(observations: list[tuple[float, str | None]]) -> CumulativeIncidence:
    return cumulative_incidence(observations, exact=False)


def _within(ci: CumulativeIncidence | None, a: float, t1: float, t2: float) -> tuple[float, str | None]:
    """P(won in (a + t1, a + t2] | open at a), and a note when the history cannot tell."""
    if ci is None:
        return 0.0, "no history of this stage"
    alive = float(ci.open_at(a))
    if alive <= 0:
        return 0.0, "in its stage longer than any deal that closed"
    won = _won_of(ci)
    return max(0.0, (won(a + t2) - won(a + t1)) / alive), None


def _won_of(ci: CumulativeIncidence) -> Any:
    if "won" not in ci.outcomes:
        return lambda _t: 0.0
    return lambda t: float(ci.probability("won", t))


def _mean_incidence(ci: CumulativeIncidence, lo: float, hi: float) -> float:
    """The mean of F_won(t) for t uniform in ``[lo, hi]`` (a step function: exact)."""
    if hi <= lo or "won" not in ci.outcomes:
        return 0.0
    k = ci.outcomes.index("won")
    times = [float(cast("float", t)) for t in ci.times]
    values = [float(row[k]) for row in ci.incidence]
    area = 0.0
    j = bisect.bisect_right(times, lo) - 1
    t = lo
    while t < hi:
        value = values[j] if j >= 0 else 0.0
        nxt = times[j + 1] if j + 1 < len(times) else hi
        step_end = min(nxt, hi)
        area += value * (step_end - t)
        t = step_end
        j += 1
    return area / (hi - lo)


def _weights(checks: list[Any], currencies: Iterable[str]) -> dict[str, float]:
    """Per currency, the weight of the bottom-up forecast against the run rate, least squares, in [0, 1]."""
    out = {}
    for k in sorted(set(currencies) | {x[3] for x in checks}):
        mine = [(float(got.bottom_up(k)), float(got.run_rate.get(k, 0)), float(actual.get(k, 0)))
                for _, _, _, cur, got, actual in checks if cur == k]  # fmt: skip
        with_rate = [x for x in mine if x[1] or x[0]]
        denominator = sum((b - r) ** 2 for b, r, _ in with_rate)
        if not mine or not any(r for _, r, _ in mine):
            out[k] = 1.0  # no run rate to weigh against
        elif denominator == 0:
            out[k] = 0.5
        else:
            w = sum((a - r) * (b - r) for b, r, a in with_rate) / denominator
            out[k] = min(1.0, max(0.0, w))
    return out


def _interpolated(values: Sequence[float], q: float) -> float:
    """The *q* quantile of sorted *values*, linearly between order statistics."""
    position = q * (len(values) - 1)
    lo = math.floor(position)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (position - lo)


def _days(span: dt.timedelta) -> float:
    return span / _DAY


def _month(t: dt.datetime) -> dt.date:
    return dt.date(t.year, t.month, 1)


def _months(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """``[start, end)`` cut at the first instant of each month (UTC)."""
    out = []
    t = start
    while t < end:
        nxt = dt.datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=dt.UTC)
        out.append((t, min(nxt, end)))
        t = nxt
    return out


def _times(amount: Decimal, p: float) -> Decimal:
    return _CTX.multiply(amount, Decimal(p))


def _float_sum(pairs: list[tuple[Decimal, float]]) -> Decimal:
    return _sum(_times(v, w) for v, w in pairs)


def _sum(values: Iterable[Decimal]) -> Decimal:
    """*values* added up in funnelkit's own context, not the caller's."""
    total = Decimal(0)
    for v in values:
        total = _CTX.add(total, v)
    return total


def _money(amount: Decimal, currency: str) -> Money:
    exp = Decimal(1).scaleb(-currency_minor_units(currency))
    return Money.of(amount.quantize(exp, rounding=decimal.ROUND_HALF_EVEN, context=_CTX), currency)
