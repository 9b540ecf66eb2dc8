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
import calendar
import datetime as dt
import decimal
import functools
import math
import operator
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, cast, overload

import attrs

from .. import _checks as c
from .. import _optional
from .._money import Money, currency_minor_units
from .._report import Report
from .._splits import CreditSplits, Split, splits_of
from .._time import instant
from ..entities import Opportunity, OpportunityStatus
from ..errors import ValidationError
from ..stages import MoveKind, Pipeline, StageChanged
from ._backtest import _CHANGES, DealEvent, _deal_of, _Sweep, _timelines, _unique, as_of
from ._funnel import _listed

Component = Literal["closed", "pipeline", "generation", "run_rate"]
#: The calendar indexes :func:`expected_bookings` can learn: by month of the quarter.
CalendarIndex = Literal["quarter"]
# how a run rate was indexed: by its season, by the calendar's quarter index, or not at all
_Form = Literal["plain", "season", "calendar"]
_CALENDAR_INDEXES: tuple[CalendarIndex, ...] = ("quarter",)
#: The components of :func:`expected_bookings`, in the order its lines list them.
COMPONENTS: tuple[Component, ...] = ("closed", "pipeline", "generation", "run_rate")
#: At most this many past periods are replayed to choose the weights and the interval.
MAX_BACKTESTS = 60
#: The chain's chances of ending won are iterated at most this many times (a chain of back moves).
_MAX_SWEEPS = 10_000
#: The calendar index counts only when the chi-square of the months' wins against their days (2
#: degrees of freedom) passes this, its 0.1 % point (``-2 ln 0.001``, 13.8): a pattern chance makes
#: once in a thousand histories or more is taken as none (a forecast is made again every month, so
#: a rarer false alarm is worth the push it takes longer to see in a small company).
_CALENDAR_TEST = -2 * math.log(0.001)
#: The past periods that judge the methods start this far apart at most.
_PAST_STEP = dt.timedelta(days=30)
#: A quantile at most this far from the forecast in the log scale (a factor of a million).
_WIDEST = math.log(1e6)
#: The largest t quantile sought (beyond it, the interval is refused as too wide anyway).
_T_CAP = 1e12
#: The parts of the bottom-up forecast that its past record scales (closed is known, not forecast).
_OPEN_PART: tuple[Component, ...] = ("pipeline", "generation")
#: With numpy installed, the open deals' chances are found all at once from this many open deals on
#: (to within float rounding: fewer take the exact pure-Python arithmetic, which is the oracle).
_FAST_FROM = 200
#: With numpy installed, a chain learned from this many stays on estimates them with it (the same floats).
_FAST_STAYS = 1_000
#: The longest period forecast (ten years).
MAX_PERIOD = dt.timedelta(days=3660)

_DAY = dt.timedelta(days=1)
#: The weight is judged on the past periods whose run rate was made as now's, when at least this many.
_SAME_FORM = 3
#: The open part is scaled only by past periods worth more than this many independent ones (_scales).
_FEWEST_WORTH = 3.0
#: A first or last month piece of a period shorter than this is judged with its neighbour.
_SHORTEST_PIECE = dt.timedelta(days=15)
#: A past period that booked nothing counts as this ratio of actual to forecast in the log scale.
_SMALLEST_RATIO = 0.01
#: The instants a history is read between: past periods, seasons and lookbacks reach far back from them.
_EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
_CTX = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_FROM_FLOAT = _CTX.create_decimal_from_float
_WON, _LOST, _OPEN = OpportunityStatus.WON, OpportunityStatus.LOST, OpportunityStatus.OPEN
_CLOSING = {MoveKind.WIN: "won", MoveKind.LOSE: "lost"}
_VERSION_AT = operator.attrgetter("version", "at")


@attrs.frozen(kw_only=True)
class BookingLine:
    """
    One component's expected bookings for one owner in one month (its
    first day, in UTC) of the period: a deal's owner for ``closed`` and
    ``pipeline``; for ``generation`` and ``run_rate``, each owner's share of
    the amount created over the lookback and of the run rate's bookings
    (``None`` only for a run rate of nothing booked).
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
    owner and month; per open deal its explanation (:attr:`deals`); per
    currency the factor on the open part of the bottom-up forecast
    (:attr:`scales`) and its weight against the run rate (:attr:`weights`),
    both chosen on the past periods in :attr:`checks`; and :meth:`total`
    and :meth:`quantile` per currency.  :attr:`quarter_index` is the
    calendar index of wins by month of the quarter that timed the pipeline
    and generation parts (``None``: not asked for, no whole quarter on
    record, or no pattern beyond chance).  :attr:`month_checks`, one tuple
    per part of the period (its calendar months, the first and last cut at
    the period's ends, a piece shorter than 15 days joined to its
    neighbour), are the period forecast from whole calendar months before
    now and judged part by part on its parts wholly ended by now (where the
    run rate could forecast then too, as in :attr:`checks`): made only when
    the past periods of the whole length are worth fewer than two
    independent ones, the period has two parts or more and at least two
    past forecasts judge its last part, for :meth:`quantile`.

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
    scales: Mapping[str, float] = attrs.field(factory=dict)
    quarter_index: tuple[float, float, float] | None = None
    month_checks: tuple[tuple[BookingCheck, ...], ...] = ()

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

    def calibrated(self, currency: str) -> Money:
        """
        The bottom-up forecast in *currency* as the past periods corrected
        it: closed + (pipeline + generation) times the currency's
        :attr:`scales` factor, to the minor unit.

        Cost: O(lines).
        """
        self._currency(currency)
        scaled = _float_sum(
            [
                (self.component("closed", currency).amount, 1.0),
                (self.component("pipeline", currency).amount, self.scales.get(currency, 1.0)),
                (self.component("generation", currency).amount, self.scales.get(currency, 1.0)),
            ]
        )
        return _money(scaled, currency)

    def total(self, currency: str) -> Money:
        """
        The forecast in *currency*: the calibrated bottom-up forecast and
        the run rate combined by the currency's weight, to the minor unit.

        Cost: O(lines).
        """
        self._currency(currency)
        w = self.weights.get(currency, 1.0)
        combined = _float_sum(
            [(self.calibrated(currency).amount, w), (self.component("run_rate", currency).amount, 1.0 - w)]
        )
        return _money(combined, currency)

    def quantile(self, q: float, currency: str) -> Money | None:
        """
        The *q* quantile (0 < q < 1) of the bookings in *currency*, from
        the method's own past errors: the logs of the ratios of actual to
        forecast in the past periods (:attr:`checks`) taken as a sample, the
        total is scaled by ``exp(m + t_q s sqrt(1 + 1/n))`` for their mean m
        and standard deviation s, t_q the Student t quantile with n - 1
        degrees of freedom, n the number of independent periods they are
        worth: k periods of length L a step of d apart overlap when d < L,
        so they count as ``n = k d / L`` (Hansen & Hodrick 1980: a quarter
        judged a month apart repeats two thirds of its neighbour).  A
        prediction interval, so few periods give a wide one.  The interval
        is as wide as the method's past errors, not as a model of
        independent deals would say.

        When the past periods are worth fewer than two (a quarter in a
        company with half a year on record), each part of the period (its
        calendar months; a first or last piece shorter than 15 days joins its
        neighbour) is judged apart instead, on :attr:`month_checks` (the
        period forecast from whole calendar months before now, a month
        apart, so each worth one).  The period's ratio of actual to forecast
        is the mean of its parts' weighted by their shares w_i of the
        forecast, so its mean is ``a = sum w_i a_i`` for the means a_i of the
        parts' past ratios, and its standard deviation at most ``d = sum w_i
        d_i`` for theirs (as much if the parts' errors move together, less if
        they cancel: the spread errs wide, not narrow; no interval from past
        errors foresees a change of process).  It is taken as
        lognormal with those moments (``s^2 = ln(1 + d^2/a^2)``, ``m = ln a
        - s^2/2``; a part that booked nothing is a ratio of 0, no clamp), the
        factor ``exp(m + t_q s sqrt(1 + 1/n))`` with t at n - 1 degrees of
        freedom for the fewest past ratios n of a part (with two, one degree
        of freedom: an interval many times the forecast).  ``None`` when a
        part the period forecasts anything for has fewer than two past
        ratios, every past ratio is 0, or the period is a single part.

        Cost: O(k) for k past periods (and months of them).
        """
        if isinstance(q, bool) or not isinstance(q, int | float | Decimal | Fraction):
            raise c.at("q", c.wrong_type(q, "a number between 0 and 1"))
        if (isinstance(q, Decimal) and not q.is_finite()) or not 0 < q < 1:
            raise ValidationError.single("q", f"{c.show(q)} is not between 0 and 1", code="range")
        ratios = self.ratios(currency)
        length = self.end - self.start
        n = len(ratios) * (min(length, _PAST_STEP) / length)  # the periods overlap when a step is shorter
        if len(ratios) >= 2 and n >= 2:
            return _money(_times(self.total(currency).amount, _factor(q, ratios, n)), currency)
        months = _months(self.start, self.end)
        groups = _pieces(months)
        if len(self.month_checks) != len(groups) or len(groups) < 2:
            return None
        forecasts = self._by_month(currency)
        parts = []
        for group, checks in zip(groups, self.month_checks, strict=True):
            said = math.fsum(float(forecasts.get(_month(months[h][0]), Decimal(0))) for h in group)
            if said <= 0:
                continue  # nothing forecast in this part of the period: its ratios weigh nothing
            past = [float(_CTX.divide(k.actual.amount, k.combined.amount))
                    for k in checks if k.currency == currency and k.combined.amount > 0]  # fmt: skip
            if len(past) < 2:
                return None
            parts.append((said, past))
        whole = math.fsum(said for said, _ in parts)
        # the period's ratio is the share-weighted mean of its parts': its mean is theirs, and its
        # spread at most the weighted mean of theirs (as wide if they move together)
        mean = math.fsum(said / whole * statistics.fmean(r) for said, r in parts) if parts else 0.0
        if mean <= 0:
            return None  # every past part booked nothing: no scale to read
        spread = math.fsum(said / whole * statistics.stdev(r) for said, r in parts)
        factor = _lognormal(q, mean, spread, min(len(r) for _, r in parts))
        return _money(_times(self.total(currency).amount, factor), currency)

    def _by_month(self, currency: str) -> dict[dt.date, Decimal]:
        """The combined forecast of each month of the period (as :meth:`total`, month by month)."""
        w, scale = self.weights.get(currency, 1.0), self.scales.get(currency, 1.0)
        factor = {"closed": w, "pipeline": w * scale, "generation": w * scale, "run_rate": 1.0 - w}
        months: dict[dt.date, list[tuple[Decimal, float]]] = {}
        for x in self.lines:
            if x.amount.currency == currency:
                months.setdefault(x.month, []).append((x.amount.amount, factor[x.component]))
        return {m: _float_sum(v) for m, v in months.items()}

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
        index = ""
        if self.quarter_index is not None:
            index = "; wins by month of the quarter x " + "/".join(f"{x:.2f}" for x in self.quarter_index)
        return f"{self.start.date()} to {self.end.date()} as of {self.now.date()}: {totals}{index}"

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
    splits: CreditSplits | Iterable[Split] | None = None,
    calendar_index: CalendarIndex | None = "quarter",
) -> Bookings:
    """
    What will be booked (won) in ``[start, end)``, from what is known at
    *now*: *opportunities* as they stand at *now* and their log *events*
    (moves, edits, changes of owner), none later than *now*; only the
    deals of *pipeline* count.  Four parts:

    - ``closed``: the deals already won in the period before *now*;
    - ``pipeline``: each open deal's amount times its chance of being won
      inside what is left of the period, given its stage and how long it
      has been in it, through the chain of the stages: for each stage,
      where its deals went next and after how many days (Aalen-Johansen
      over the stays begun within *lookback*, those still under way
      censored), on a grid of whole days;
    - ``generation``: deals created from *now* on and won inside the
      period: the amount created a day over *lookback*, times the chance a
      new deal is won inside the period, by month of booking, each owner's
      in the share they created;
    - ``run_rate``: the mean bookings of the three periods of the same
      length just before *now*, times the previous *season*'s index (its
      period against the three before it), pulled towards 1 by as much as
      its own noise could explain (where that index says nothing, the season
      not on record, nothing booked in the currency in the three periods
      before it, or its index pulled all the way to 1, the calendar index
      below, if learned, instead: the period's days, each
      weighted by its month of the quarter, over the mean weight of the
      periods read); each owner's in the share they booked
      in those periods; 0 in a currency on record (a deal in it won or
      lost by *now*) that booked nothing in them.  Bookings are on record
      from the day of the first outcome (won or lost): a period begun
      before it counts in neither (an export that keeps only the deals
      closed since some date shows the months before it empty, though
      they were not).

    Up to *backtests* past periods of the same length, a month apart at
    most, each forecast from what was known at its own "now" (from the first
    outcome on, and only where the run rate had a period on record too:
    where both could forecast; a quiet stretch on record is a run rate of
    0, judged as such), judge the parts: the open part of the
    bottom-up forecast (pipeline + generation) is scaled by its past ratio
    of actual to forecast, pulled towards 1 by as much as its noise could
    explain, and left at 1 until the periods are worth more than three
    independent ones (:attr:`Bookings.scales`; a model that learned wrong, such as
    large deals winning less often than the count of deals says, or a
    process that changed, is corrected by its own record); the calibrated
    bottom-up forecast and the run rate are then combined per currency by
    the least-squares weight (:attr:`Bookings.weights`);
    :meth:`Bookings.quantile` is a prediction interval from the past
    periods' actual/forecast ratios, as wide as the independent periods they
    are worth (overlapping periods count for less) ask.

    Refused: an event after *now*, or a deal created or moved after it
    (look-ahead), each by its place as given; an inconsistent history (as
    :func:`as_of` refuses it); a period that does not end after it starts
    and after *now*, or longer than ten years.

    With numpy installed (an optional extra) a large history takes a
    faster path: the same estimates float for float, and from 200 open
    deals on each one's chances found for all its stage's ages at once
    (to within float rounding, about 1e-15); smaller ones take the
    pure-Python arithmetic, which is the reference.

    With *calendar_index* ``"quarter"`` (the default; ``None`` switches
    it off), the pipeline and generation parts are timed by the calendar
    too: the end-of-quarter push of B2B sales (wins crowd into a quarter's
    last month) is one the chain of stages cannot see, its timing being
    only a deal's age and days in its stage.  The wins known at *now*
    within *lookback*, over the whole calendar quarters (UTC) on record,
    give each month of the quarter its wins a day over the quarters' mean
    a day, pulled towards 1 by as much as its Poisson noise could explain
    (as the run rate's season index is; :attr:`Bookings.quarter_index`),
    and only when the months' counts differ more than chance makes them
    once in a thousand histories (Pearson's chi-square against the days,
    2 degrees of freedom: an index of pure noise, even shrunk, moves the
    months and costs a steady company accuracy);
    each month's weight (its index over the quarter's mean, so that the
    weights average 1 over a whole quarter) then scales the month's hazard
    of a win: a deal's (or a month's new deals') chance c of a win in the
    month, of what it has left to win, becomes ``1 - (1 - c) ** weight`` of
    what the months before left, so that no deal's chances add up to more
    than its chance of a win at all.  A run rate whose season says nothing
    is indexed by the same weights.  The past periods that judge
    the parts are forecast the same way, each from its own history.

    With *splits* (:class:`~funnelkit.CreditSplits`), a split deal's
    closed and pipeline lines, and its part of the amounts created and
    booked that share out the generation and the run rate, go to its reps
    by their shares (in whole units); the totals do not change.

    Cost: O(e log e + b (n + s + a h + q log n)) for b past periods (at
    most twice *backtests*, with :attr:`Bookings.month_checks`), n
    deals, e events, s stays within *lookback*, a distinct ages (to the
    quarter day) of the open deals per stage, h days to the period's end
    and q calendar quarters within *lookback* (the calendar index).
    """
    first, last, at = _instants(start, end, now)
    lookback = _positive_span(lookback, "lookback", 36_600)
    cycle = None if season is None else _positive_span(season, "season", 3_660)
    k_max = _count(backtests)
    quarterly = _calendar_index(calendar_index)
    credit = splits_of(splits)
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    deals = _listed(opportunities, Opportunity, "an Opportunity", "opportunities")
    c.require_iterable(events, "StageChanged", "events")
    given = _listed(events, cast("type", _CHANGES), "a StageChanged, an edit or an OwnerChanged", "events")
    _known_at(deals, given, at)
    deals, log = _of_pipeline(deals, _unique(given), pipeline.key)
    deals = list(as_of(deals, log, now=at))  # checks the history; the deals as they stood at now
    moves = _Moves(log)  # sorted once: every past instant reads a prefix of each deal's
    moves.flatten(deals)
    known = _Known(deals, log, pipeline, at, lookback, cycle, moves=moves, credit=credit, quarterly=quarterly)
    parts = known.forecast(first, last)
    # the past periods of the same length, each a step further back (a month at most, so that a
    # quarter's forecast is judged on a dozen periods within a year, overlapping)
    step = min(last - first, _PAST_STEP)
    checks = []
    k0 = max(1, math.ceil((last - at) / step))
    # only periods from when outcomes are on record: before it a past forecast knows nothing
    since = known.recorded or at
    instants = [at - k * step for k in range(k0, k0 + k_max) if at - k * step > since]
    # the deals as they stood at every past instant, from one replay of each deal's history
    sweep = _Sweep(deals, log, _timelines(deals, log, at), instants) if instants else None
    for k, then in enumerate(instants, k0):
        shift = k * step
        past = _Known(
            list(cast("_Sweep", sweep).at(then)),  # rewound through the whole log known at now
            (),  # its moves are those of *moves* made by then
            pipeline,
            then,
            lookback,
            cycle,
            moves=moves,
            explain=False,  # only its sums are read
            quarterly=quarterly,
        )
        got = past.forecast(first - shift, last - shift)
        actual = known.wins.booked(first - shift, last - shift)
        for currency in sorted({*got.currencies, *actual}):
            if currency not in got.run_rate:
                continue  # judged only where both methods could forecast (a period of bookings on record)
            checks.append((then, first - shift, last - shift, currency, got, actual))
    worth = step / (last - first)  # a past period's share of an independent one
    scales = _scales(checks, parts.currencies, worth)
    weights = _weights(checks, parts.currencies, scales, forms=parts.forms)
    reported = tuple(
        BookingCheck(
            now=then,
            start=s,
            end=e,
            currency=currency,
            bottom_up=_money(got.bottom_up(currency), currency),
            run_rate=_money(got.run_rate.get(currency, Decimal(0)), currency),
            combined=_money(
                got.combined(currency, weights.get(currency, 1.0), scales.get(currency, 1.0)), currency
            ),
            actual=_money(actual.get(currency, Decimal(0)), currency),
        )
        for then, s, e, currency, got, actual in checks
    )
    # too few past periods of the whole length for an interval: each month of it judged apart
    month_checks: tuple[tuple[BookingCheck, ...], ...] = ()
    if len(_months(first, last)) > 1 and any(
        sum(1 for x in reported if x.currency == k and x.combined.amount) * worth < 2
        for k in parts.currencies
    ):
        month_checks = _month_checks(
            known,
            (deals, log, moves),
            (first, last, since),
            k_max=k_max,
            weights=weights,
            scales=scales,
            currencies=parts.currencies,
        )
    return Bookings(
        start=first,
        end=last,
        now=at,
        lines=parts.lines(),
        deals=tuple(parts.deals),
        weights=weights,
        checks=reported,
        scales=scales,
        quarter_index=known.quarter_index,
        month_checks=month_checks,
    )


def _month_checks(
    known: _Known,
    history: tuple[list[Opportunity], list[DealEvent], _Moves],
    period: tuple[dt.datetime, dt.datetime, dt.datetime],
    *,
    k_max: int,
    weights: Mapping[str, float],
    scales: Mapping[str, float],
    currencies: Iterable[str],
) -> tuple[tuple[BookingCheck, ...], ...]:
    """
    :attr:`Bookings.month_checks`: the period [first, last) forecast from
    whole calendar months before now (up to *k_max*, after *since*, the
    first outcome), each of its parts (:func:`_pieces`) wholly ended by now
    judged against what it booked, with the weights and scales chosen now;
    none unless two past forecasts judge the last part; a past forecast
    only where its run rate had a period of the length on record (as the
    past periods of the whole length are judged: the method's record before
    that is another's).
    """
    deals, log, moves = history
    first, last, since = period
    at, months = known.now, _months(first, last)
    groups = _pieces(months)
    # a short piece joined to its neighbour weighs in its share but is not judged: the neighbour's
    # whole month is (its few days would wait for a past forecast whose period ended later)
    judged = [[h for h in g if months[h][1] - months[h][0] >= _SHORTEST_PIECE] or g for g in groups]
    # a past forecast is judged only where its run rate had a period of its length on record
    shifts = []
    for k in range(1, k_max + 1):
        then, begin, end = _months_back(at, k), _months_back(first, k), _months_back(last, k)
        if then - (end - begin) >= since:
            shifts.append((then, begin, end, _months(begin, end)))
    # the last part ends last: with fewer than two past forecasts judging it, no interval can come
    if len(groups) < 2 or sum(1 for *_, shifted in shifts if shifted[judged[-1][-1]][1] <= at) < 2:
        return ()
    out: list[list[BookingCheck]] = [[] for _ in groups]
    sweep = _Sweep(deals, log, _timelines(deals, log, at), [then for then, *_ in shifts])
    for then, begin, end, shifted in shifts:
        spans = [(shifted[g[0]][0], shifted[g[-1]][1], g) for g in judged if g[-1] < len(shifted)]
        ended = [(h, span) for h, span in enumerate(spans) if span[1] <= at]
        if not ended:
            continue
        past = _Known(
            list(sweep.at(then)), (), known.pipeline, then, known.lookback, known.season,
            moves=moves, explain=False, quarterly=known.quarterly,
        )  # fmt: skip
        got = past.forecast(begin, end)
        for currency in sorted(currencies):
            if currency not in got.run_rate:
                continue  # judged only where both methods could forecast
            w = weights.get(currency, 1.0)
            scale = scales.get(currency, 1.0)
            for h, (a, b, group) in ended:
                sums = [got.month(currency, _month(shifted[i][0])) for i in group]
                closed, opened, rate = (_sum(x[j] for x in sums) for j in range(3))
                combined = _float_sum([(closed, w), (opened, w * scale), (rate, 1.0 - w)])
                out[h].append(
                    BookingCheck(
                        now=then, start=a, end=b, currency=currency,
                        bottom_up=_money(_sum((closed, opened)), currency),
                        run_rate=_money(rate, currency),
                        combined=_money(combined, currency),
                        actual=_money(known.wins.booked(a, b).get(currency, Decimal(0)), currency),
                    )
                )  # fmt: skip
    return tuple(tuple(x) for x in out) if any(out) else ()


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


def _calendar_index(value: object) -> bool:
    """Whether *calendar_index* asks for the index by month of the quarter (``"quarter"``) or none."""
    if value is None:
        return False
    if not isinstance(value, str) or value not in _CALENDAR_INDEXES:
        allowed = ", ".join(map(repr, _CALENDAR_INDEXES))
        msg = f"{c.show(value)} is not a calendar index; allowed: None, {allowed}"
        raise ValidationError.single("calendar_index", msg, code="choice")
    return True


def _known_at(deals: list[Opportunity], log: list[DealEvent], now: dt.datetime) -> None:
    """
    Refuse what was not known at *now*: an event after it, a deal created or
    moved after it (each by its place in what the caller gave).
    """
    for i, e in enumerate(log):
        if e.at > now:
            msg = f"{e.at.isoformat()} is after now ({now.isoformat()}); give only what was known then"
            raise ValidationError.single(f"events[{i}].at", msg, code="order")
    for i, o in enumerate(deals):
        for field in ("created_at", "stage_entered_at"):
            value: dt.datetime = getattr(o, field)
            if value > now:
                msg = (
                    f"{value.isoformat()} is after now ({now.isoformat()}); give the deals as they were then"
                )
                raise ValidationError.single(f"opportunities[{i}].{field}", msg, code="order")


def _of_pipeline(
    deals: list[Opportunity], log: list[DealEvent], key: str
) -> tuple[list[Opportunity], list[DealEvent]]:
    """The deals of the pipeline *key*, and the events of those deals."""
    if all(o.pipeline == key for o in deals):
        return deals, log
    mine = [o for o in deals if o.pipeline == key]
    ids = {o.id for o in mine}
    return mine, [e for e in log if _deal_of(e) in ids]


# --- what is known at one instant ----------------------------------------------------------------


class _Parts:
    """One forecast's parts per currency: lines by (component, owner, month), per-deal explanations."""

    def __init__(self) -> None:
        self.by: dict[tuple[Component, str | None, dt.date, str], Decimal] = {}
        self.deals: list[DealBooking] = []
        self.run_rate: dict[str, Decimal] = {}
        # per currency, how the run rate was indexed: by its season (that period and the ones before
        # it on record), by the calendar's quarter index, or not at all (absent)
        self.forms: dict[str, _Form] = {}

    def add(self, component: Component, owner: str | None, month: dt.date, currency: str, v: Decimal) -> None:
        key = (component, owner, month, currency)
        self.by[key] = _CTX.add(self.by.get(key, Decimal(0)), v)

    @property
    def currencies(self) -> set[str]:
        return {k[3] for k in self.by} | set(self.run_rate)

    def part(self, currency: str, *components: Component) -> Decimal:
        return _sum(v for (comp, _, _, cur), v in self.by.items() if cur == currency and comp in components)

    def bottom_up(self, currency: str) -> Decimal:
        return self.part(currency, "closed", "pipeline", "generation")

    def calibrated(self, currency: str, scale: float) -> Decimal:
        return _float_sum([(self.part(currency, "closed"), 1.0), (self.part(currency, *_OPEN_PART), scale)])

    def combined(self, currency: str, w: float, scale: float) -> Decimal:
        run_rate = self.run_rate.get(currency, Decimal(0))
        return _float_sum([(self.calibrated(currency, scale), w), (run_rate, 1.0 - w)])

    def month(self, currency: str, month: dt.date) -> tuple[Decimal, Decimal, Decimal]:
        """One month's closed part, open part (pipeline + generation) and run rate in *currency*."""
        sums = {name: Decimal(0) for name in COMPONENTS}
        for (comp, _, m, cur), v in self.by.items():
            if cur == currency and m == month:
                sums[comp] = _CTX.add(sums[comp], v)
        return sums["closed"], _CTX.add(sums["pipeline"], sums["generation"]), sums["run_rate"]

    def lines(self) -> tuple[BookingLine, ...]:
        order = {name: i for i, name in enumerate(COMPONENTS)}
        keys = sorted(self.by, key=lambda k: (order[k[0]], k[3], k[1] or "", k[2]))
        return tuple(
            BookingLine(component=k[0], owner=k[1], month=k[2], amount=_money(self.by[k], k[3])) for k in keys
        )


class _Moves:
    """
    Each deal's moves in (version, time) order, sorted once for every
    instant the history is read at: those made by an instant are a prefix
    when the times follow the versions (else they are picked out).
    """

    def __init__(self, log: Iterable[DealEvent]) -> None:
        moves: dict[str, list[StageChanged]] = {}
        for e in log:
            if type(e) is StageChanged:
                moves.setdefault(e.opportunity_id, []).append(e)
        self.moves = {k: sorted(v, key=_VERSION_AT) for k, v in moves.items()}
        self.times = {k: [e.at for e in v] for k, v in self.moves.items()}
        self.ordered = {k: all(map(operator.le, t, t[1:])) for k, t in self.times.items()}
        self.flat: Any = None  # with numpy, every stay as arrays (:class:`._bookings_fast.Stays`)

    def flatten(self, deals: list[Opportunity]) -> None:
        """With numpy, on many deals whose moves follow their versions in time, keep every stay as arrays."""
        if len(deals) >= _FAST_STAYS and all(self.ordered.values()) and _optional.numpy() is not None:
            self.flat = _fast().Stays(deals, self)

    def until(self, deal: str, now: dt.datetime) -> list[StageChanged]:
        """The moves of *deal* made by *now*, in (version, time) order."""
        history = self.moves.get(deal)
        if not history:
            return []
        if self.ordered[deal]:
            times = self.times[deal]
            return history if times[-1] <= now else history[: bisect.bisect_right(times, now)]
        return [e for e in history if e.at <= now]


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
        *,
        moves: _Moves | None = None,
        explain: bool = True,
        credit: CreditSplits | None = None,
        quarterly: bool = False,
    ) -> None:
        self.deals, self.pipeline, self.now = deals, pipeline, now
        self.quarterly = quarterly  # whether the wins are timed by the calendar index by month of quarter
        self._index: tuple[float, float, float] | None = None
        self._indexed = False  # whether :attr:`quarter_index` was learned
        self.credit = credit  # the owners' shares of split deals, for the lines by owner
        self.lookback, self.season = lookback, season
        self.explain = explain
        self.earliest = min((o.created_at for o in deals), default=now)
        # bookings are on record from the day of the first outcome: before it, an export that
        # keeps only later closes shows empty periods that were not empty (and a new company's
        # first weeks, with nothing closed yet, say nothing of its rate)
        ends = [o.stage_entered_at for o in deals if o.status is _WON or o.status is _LOST]
        self.recorded = _day_of(min(ends)) if ends else None
        # the currencies on record: those of the deals won or lost by now (with an amount)
        decided = (o for o in deals if o.status is _WON or o.status is _LOST)
        self.on_record = sorted({o.amount.currency for o in decided if o.amount is not None})
        self._wins: _Wins | None = None
        if moves is None:
            moves = _Moves(log)
        open_stages = {x.key for x in pipeline.open_stages}
        since = now - lookback
        won = {x.key for x in pipeline.stages if x.outcome.value == "won"}
        found = None if moves.flat is None else moves.flat.estimates(deals, now, since, open_stages)
        if found is not None:  # the same estimates from the stays picked out of arrays
            estimates, starts = found
            self.chain = _Chain({}, open_stages, won, estimates=estimates)
        else:
            self.chain, starts = self._chain(deals, moves, open_stages, won, since)
        # where new deals start: the stage most deals were created in (the pipeline's first on a tie)
        self.first = max(starts, key=lambda k: (starts[k], k == pipeline.first.key, k)) if starts else None

    def _chain(
        self,
        deals: list[Opportunity],
        moves: _Moves,
        open_stages: set[str],
        won: set[str],
        since: dt.datetime,
    ) -> tuple[_Chain, dict[str, int]]:
        """The chain learned from the deals' stays, read one deal at a time, and where deals started."""
        now = self.now
        stays: dict[str, list[tuple[float, str | None]]] = {}
        starts: dict[str, int] = {}
        for o in deals:
            history = moves.until(o.id, now)
            first = history[0].from_stage if history else o.stage
            starts[first] = starts.get(first, 0) + 1
            # each stay in an open stage begun within the lookback: how long, and where it went (None:
            # still there at now), so a process that changed is read as it is now
            entered, stage = o.created_at, first
            for e in history:
                if stage in open_stages and entered >= since:
                    stays.setdefault(stage, []).append((max(_days(e.at - entered), 0.0), e.to_stage))
                entered, stage = e.at, e.to_stage
            if stage in open_stages and o.status is _OPEN and entered >= since:
                stays.setdefault(stage, []).append((max(_days(now - entered), 0.0), None))
        return _Chain(stays, open_stages, won), starts

    def forecast(self, start: dt.datetime, end: dt.datetime) -> _Parts:
        parts = _Parts()
        self.chain.grow(math.floor(_days(end - self.now)) + 1)  # once, to the period's end
        self._closed(parts, start, end)
        self._pipeline(parts, start, end)
        self._generation(parts, start, end)
        self._run_rate(parts, start, end)
        return parts

    @property
    def quarter_index(self) -> tuple[float, float, float] | None:
        """
        The wins a day in each month of the calendar quarter (UTC) over the
        quarters' mean a day, pooled over the whole quarters on record
        within the lookback and each pulled towards 1 by its Poisson noise
        (:func:`_shrunk`): ``None`` when not asked for, when no quarter is
        on record, or when the months' counts differ no more than chance
        would make them (:data:`_CALENDAR_TEST`).
        """
        if not self.quarterly or self.recorded is None:
            return None
        if not self._indexed:
            self._index, self._indexed = self._learn_quarter_index(self.recorded), True
        return self._index

    def _learn_quarter_index(self, recorded: dt.datetime) -> tuple[float, float, float] | None:
        """:attr:`quarter_index` learned from the wins known at now (from *recorded* on)."""
        since = max(recorded, self.now - self.lookback)
        counts, days = [0, 0, 0], [0.0, 0.0, 0.0]
        begin = dt.datetime(since.year, 3 * ((since.month - 1) // 3) + 1, 1, tzinfo=dt.UTC)
        if begin < since:
            begin = _quarter_after(begin)
        while (after := _quarter_after(begin)) <= self.now:
            for i, (a, b) in enumerate(_months(begin, after)):
                counts[i] += self.wins.count(a, b)
                days[i] += _days(b - a)
            begin = after
        total = sum(counts)
        if not total:
            return None
        rate = total / sum(days)
        # Pearson's chi-square of the counts against the days (2 degrees of freedom): a pattern that
        # chance makes this often is none (a shrunk index of pure noise still moves the months)
        if (
            math.fsum((n - rate * d) ** 2 / (rate * d) for n, d in zip(counts, days, strict=True))
            < _CALENDAR_TEST
        ):
            return None
        # index i is n_i / (d_i rate), n_i a part of the total: its relative variance by the delta
        # method is (1 - s)^2 (1/n_i + 1/(total - n_i)) for its share s of the wins.  A month with no
        # wins (or all of them) has no such variance: every count then gets half a win more
        # (Haldane-Anscombe), so that an empty month's index is small, not 0 and not 1
        adjusted = [n + 0.5 for n in counts] if 0 in counts or total in counts else [float(n) for n in counts]
        whole = math.fsum(adjusted)
        rate = whole / math.fsum(days)
        return cast(
            "tuple[float, float, float]",
            tuple(
                _shrunk(n / d / rate, (1 - n / whole) ** 2 * (1 / n + 1 / (whole - n)))
                for n, d in zip(adjusted, days, strict=True)
            ),
        )

    def _timing(self, month: dt.datetime) -> float:
        """The weight of a win's chance on the days of *month*'s month: its index over its quarter's mean."""
        index = self.quarter_index
        if index is None:
            return 1.0
        first = dt.datetime(month.year, 3 * ((month.month - 1) // 3) + 1, 1, tzinfo=dt.UTC)
        spans = [_days(b - a) for a, b in _months(first, _quarter_after(first))]
        mean = math.fsum(x * d for x, d in zip(index, spans, strict=True)) / math.fsum(spans)
        return index[(month.month - 1) % 3] / mean

    @property
    def wins(self) -> _Wins:
        """The deals won, by when (built once)."""
        if self._wins is None:
            self._wins = _Wins(self.deals)
        return self._wins

    def _closed(self, parts: _Parts, start: dt.datetime, end: dt.datetime) -> None:
        for o in self.wins.between(start, min(end, self.now)):
            amount = cast("Money", o.amount)
            for rep, part in self._owners(o, amount.amount, amount.currency):
                parts.add("closed", rep, _month(o.stage_entered_at), amount.currency, part)

    def _pipeline(self, parts: _Parts, start: dt.datetime, end: dt.datetime) -> None:
        months = _months(max(start, self.now), end)
        bounds = [(_days(m_start - self.now), _days(m_end - self.now)) for m_start, m_end in months]
        firsts = [_month(m_start) for m_start, _ in months]
        deals = [o for o in self.deals if o.status is _OPEN and o.amount is not None]
        ages = [max(_days(self.now - o.stage_entered_at), 0.0) for o in deals]
        notes = [self.chain.unknown(o.stage, a) for o, a in zip(deals, ages, strict=True)]
        chances = self._chances(deals, ages, notes, bounds)
        timing = [self._timing(m_start) for m_start, _ in months]
        timed = any(g != 1.0 for g in timing)
        for o, a, note, ps in zip(deals, ages, notes, chances, strict=True):
            amount = cast("Money", o.amount)
            if timed and not note:  # the calendar's index scales each month's hazard of a win
                left = self.chain.eventual(o.stage, a) - self.chain.won_within(o.stage, a, bounds[0][0])
                ps = _timed(ps, timing, left)  # noqa: PLW2901 - the chances timed
            total = 0.0
            for month, p in zip(firsts, ps, strict=True):
                total += p
                for rep, part in self._owners(o, _times(amount.amount, p), amount.currency):
                    parts.add("pipeline", rep, month, amount.currency, part)
            if not self.explain:
                continue
            parts.deals.append(
                DealBooking(
                    opportunity_id=o.id,
                    owner=o.owner,
                    stage=o.stage,
                    days_in_stage=a,
                    amount=amount,
                    p_won_within=total,
                    expected=_money(_times(amount.amount, total), amount.currency),
                    note=note,
                )
            )

    def _chances(
        self,
        deals: list[Opportunity],
        ages: list[float],
        notes: list[str | None],
        bounds: list[tuple[float, float]],
    ) -> list[list[float]]:
        """
        Each open deal's chance of being won in each month ``(t1, t2]`` days from now: ``W(t2) -
        W(t1)`` given its stage and days in it, 0 where the history cannot tell; with numpy, on many
        deals, all at once (:mod:`._bookings_fast`, to within float rounding).
        """
        if len(deals) >= _FAST_FROM:
            fast = _optional.numpy() and _fast()
            if fast:
                return cast("list[list[float]]", fast.chances(self.chain, deals, ages, notes, bounds))
        chain = self.chain
        return [
            [0.0] * len(bounds)
            if note
            else [
                max(chain.won_within(o.stage, a, t2) - chain.won_within(o.stage, a, t1), 0.0)
                for t1, t2 in bounds
            ]
            for o, a, note in zip(deals, ages, notes, strict=True)
        ]

    def _generation(self, parts: _Parts, start: dt.datetime, end: dt.datetime) -> None:
        """
        The deals created from now on (also before *start*) and won inside the period, each
        month of booking apart: for a deal created at u, ``W(m_end - u) - W(m_start - u)``
        for the booking month ``[m_start, m_end)``, W the chance of a win within so many days
        of creation; its mean over u in each month of creation, times the days and the amount
        created a day.
        """
        if self.first is None or self.chain.unknown(self.first, 0.0):
            return
        created = self.created_per_day(by_owner=True)
        mean = functools.partial(self.chain.mean_won_within, self.first)
        booking = _months(max(start, self.now), end)
        timing = [self._timing(b_start) for b_start, _ in booking]
        timed = any(g != 1.0 for g in timing)
        eventual = self.chain.eventual(self.first, 0.0) if timed else 0.0
        shares = [0.0] * len(booking)  # deal-days created that are won in each month
        # each month of creation apart (those after a month of booking add nothing to it), so that
        # the calendar's index scales the hazard of each cohort of new deals (see _timed)
        for c_start, c_end in _months(self.now, booking[-1][1]) if booking else ():
            days = _days(c_end - c_start)
            ps: list[float] = []
            for b_start, b_end in booking:
                if b_end <= c_start:
                    ps.append(0.0)
                    continue
                won_by_end = mean(_days(b_end - c_end), _days(b_end - c_start))
                won_before = mean(_days(b_start - c_end), _days(b_start - c_start))
                ps.append(won_by_end - won_before)
            if timed:
                b_first = booking[0][0]
                ps = _timed(ps, timing, eventual - mean(_days(b_first - c_end), _days(b_first - c_start)))
            for i, p in enumerate(ps):
                shares[i] += p * days
        for (b_start, _), share in zip(booking, shares, strict=True):
            for (owner, currency), per_day in created.items():
                parts.add("generation", owner, _month(b_start), currency, _times(per_day, share))

    @overload
    def created_per_day(self) -> dict[str, Decimal]: ...
    @overload
    def created_per_day(self, *, by_owner: Literal[True]) -> dict[tuple[str, str], Decimal]: ...
    def created_per_day(self, *, by_owner: bool = False) -> Mapping[Any, Decimal]:
        """
        The amount created per day over the lookback (or the history, if shorter), per currency,
        or per owner and currency (who created it: the deals yet to come are theirs in that share).
        """
        since = self.now - self.lookback
        span = _days(min(self.lookback, self.now - self.earliest))
        created: dict[Any, Decimal] = {}
        if span <= 0:
            return created
        for o in self.deals:
            if o.amount is not None and since <= o.created_at < self.now:
                cur = o.amount.currency
                if not by_owner:
                    created[cur] = _CTX.add(created.get(cur, Decimal(0)), o.amount.amount)
                    continue
                for rep, part in self._owners(o, o.amount.amount, cur):
                    created[rep, cur] = _CTX.add(created.get((rep, cur), Decimal(0)), part)
        return {k: _CTX.divide(v, Decimal(repr(span))) for k, v in sorted(created.items())}

    def _run_rate(self, parts: _Parts, start: dt.datetime, end: dt.datetime) -> None:
        length = end - start
        windows = [self._won(self.now - (j + 1) * length, self.now - j * length) for j in range(3)]
        recent = [r for r, ok in windows if ok]
        if not recent:
            return
        # every currency on record by now, not only those booked in the windows: a quiet stretch
        # forecasts 0 (and is judged as such)
        currencies = self.on_record
        seasonal: dict[str, float] = {}
        on_record = False  # whether the season's period and those before it are on record
        if self.season is not None:
            then, ok = self._won(start - self.season, end - self.season)
            before = [
                self._won(start - self.season - (j + 1) * length, start - self.season - j * length)
                for j in range(3)
            ]
            base = [b for b, fine in before if fine]
            on_record = ok and bool(base)
            for k in currencies if on_record else ():
                mean = _CTX.divide(_sum(b.get(k, Decimal(0)) for b in base), Decimal(len(base)))
                if mean > 0:
                    raw = float(_CTX.divide(then.get(k, Decimal(0)), mean))
                    seasonal[k] = _shrunk(raw, self._noise(k, start - self.season, end - self.season, base))
        calendar = None
        if self.quarter_index is not None:
            # the period's weight (its days, each by its month's timing) over the windows' mean
            read = [self._weight(self.now - (j + 1) * length, self.now - j * length)
                    for j, (_, ok) in enumerate(windows) if ok]  # fmt: skip
            calendar = self._weight(start, end) / statistics.fmean(read)
        index: dict[str, float] = {}
        for k in currencies:
            # the season's index where it says something; else the calendar's, where learned (no
            # season on record, nothing booked in the periods before it in this currency, or an
            # index that shows nothing beyond its noise); else none
            if calendar is not None and seasonal.get(k, 1.0) == 1.0:
                parts.forms[k], index[k] = "calendar", calendar
            elif k in seasonal:
                parts.forms[k], index[k] = "season", seasonal[k]
        months = _months(start, end)
        whole = _days(length)
        shares = self._booked_by_owner(self.now - len(recent) * length)  # the same deals as recent
        for k in currencies:
            booked = _sum(r.get(k, Decimal(0)) for r in recent)
            rate = _times(_CTX.divide(booked, Decimal(len(recent))), index.get(k, 1.0))
            parts.run_rate[k] = rate
            owners = {o: v for (o, cur), v in shares.items() if cur == k} if booked else {None: booked}
            for owner, part in owners.items():
                mine = _CTX.divide(_CTX.multiply(rate, part), booked) if booked else rate
                for m_start, m_end in months:
                    parts.add(
                        "run_rate", owner, _month(m_start), k, _times(mine, _days(m_end - m_start) / whole)
                    )

    def _weight(self, start: dt.datetime, end: dt.datetime) -> float:
        """The calendar's weight of ``[start, end)``: the days of each month times its timing, summed."""
        total = 0.0
        for a, b in _months(start, end):
            total += _days(b - a) * self._timing(a)
        return total

    def _booked_by_owner(self, since: dt.datetime) -> dict[Any, Decimal]:
        """What each owner booked per currency from *since* to now (the run rate's windows)."""
        out: dict[Any, Decimal] = {}
        for o in self.wins.between(since, self.now):
            amount = cast("Money", o.amount)
            for rep, part in self._owners(o, amount.amount, amount.currency):
                key = (rep, amount.currency)
                out[key] = _CTX.add(out.get(key, Decimal(0)), part)
        return dict(sorted(out.items()))

    def _owners(self, deal: Opportunity, value: Decimal, currency: str) -> list[tuple[str, Decimal]]:
        """*value* of *deal* by owner: all its owner's, or split by the credit splits' shares."""
        if self.credit is not None:
            parts = self.credit._parts(deal.id, value, currency_minor_units(currency))  # noqa: SLF001
            if parts is not None:
                return parts
        return [(deal.owner, value)]

    def _noise(self, currency: str, start: dt.datetime, end: dt.datetime, base: list[Any]) -> float:
        """
        The relative variance of a seasonal index: that period's bookings over the mean of *base*
        periods, each a sum of a random number of random amounts (compound Poisson: the relative
        variance of a sum of n wins is ``(1 + cv^2) / n`` for the amounts' coefficient of variation).
        """
        length = end - start
        counts, amounts = [], []
        for j in range(len(base) + 1):
            lo, hi = start - j * length, end - j * length
            won = [float(o.amount.amount) for o in self.wins.between(lo, hi)
                   if o.amount is not None and o.amount.currency == currency]  # fmt: skip
            counts.append(len(won))
            amounts += won
        if counts[0] == 0 or sum(counts[1:]) == 0 or len(amounts) < 2:
            return math.inf
        cv2 = statistics.pvariance(amounts) / statistics.fmean(amounts) ** 2
        return _ratio_noise(counts[0], sum(counts[1:]), cv2)

    def _won(self, start: dt.datetime, end: dt.datetime) -> tuple[dict[str, Decimal], bool]:
        """The bookings per currency won in ``[start, end)``, and whether the history covers it."""
        if self.recorded is None or start < self.recorded or end > self.now:
            return {}, False
        return self.wins.booked(start, end), True


def _fast() -> Any:
    """The numpy path (:mod:`._bookings_fast`), imported only when it is used."""
    from . import _bookings_fast

    return _bookings_fast


def _ratio_noise(here: int, base: int, cv2: float = 0.0) -> float:
    """
    The relative variance of the ratio of two independent compound Poisson
    sums of *here* and *base* wins (> 0) whose amounts have the squared
    coefficient of variation *cv2* (0: counts of wins): ``(1 + cv2) * (1 /
    here + 1 / base)``.
    """
    return (1 + cv2) * (1 / here + 1 / base)


def _factor(q: object, ratios: Sequence[float], n: float) -> float:
    """
    The factor on a forecast for its *q* quantile from past *ratios* of
    actual to forecast worth *n* independent ones (>= 2): ``exp(m + t_q s
    sqrt(1 + 1/n))`` for the logs' mean m and standard deviation s, t_q the
    Student t quantile with n - 1 degrees of freedom; refused (by *q*) when
    more than :data:`_WIDEST` from 1 in the log scale.
    """
    logs = [math.log(max(r, _SMALLEST_RATIO)) for r in ratios]
    k = len(logs)
    mean = sum(logs) / k
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (k - 1))
    return _predicted(q, mean, sd, n)


def _lognormal(q: object, mean: float, sd: float, n: int) -> float:
    """
    The *q* quantile of a ratio of actual to forecast with this *mean* (> 0)
    and standard deviation *sd*, read from *n* (>= 2) past ratios: lognormal
    with those moments (``s^2 = ln(1 + sd^2 / mean^2)``, ``m = ln mean -
    s^2 / 2``; a ratio of 0 needs no clamp), ``exp(m + t_q s sqrt(1 +
    1/n))`` with t Student's at n - 1 degrees of freedom.
    """
    s = math.sqrt(math.log1p((sd / mean) ** 2))
    return _predicted(q, math.log(mean) - s * s / 2, s, n)


def _pieces(months: list[tuple[dt.datetime, dt.datetime]]) -> list[list[int]]:
    """
    The parts a period's month pieces are judged in (indexes into
    *months*): each piece alone, but a first or last piece shorter than
    :data:`_SHORTEST_PIECE` joins its neighbour, whose past ratios then
    judge its share of the forecast too, so that a few days at an end (with
    fewer past forecasts judging them) neither set nor veto the interval.
    """
    groups = [[h] for h in range(len(months))]
    if len(groups) > 1 and months[-1][1] - months[-1][0] < _SHORTEST_PIECE:
        groups[-2:] = [groups[-2] + groups[-1]]
    if len(groups) > 1 and months[0][1] - months[0][0] < _SHORTEST_PIECE:
        groups[:2] = [groups[0] + groups[1]]
    return groups


def _predicted(q: object, m: float, s: float, n: float) -> float:
    """
    The factor of a prediction interval's *q* quantile in the log scale, for
    a mean *m* and standard deviation *s* read from *n* past periods:
    ``exp(m + t_q s sqrt(1 + 1/n))``, t Student's at n - 1 degrees of
    freedom; refused (by *q*) when more than :data:`_WIDEST` from 1 in the
    log scale.
    """
    exponent = m + _student_t(float(cast("float", q)), n - 1) * s * math.sqrt(1 + 1 / n)
    if abs(exponent) > _WIDEST:
        msg = (
            f"the {c.show(q)} quantile of the past errors is {math.exp(min(exponent, 700)):.3g} times "
            "the forecast: the past periods are too few or too wild to tell; ask a level nearer 0.5"
        )
        raise ValidationError.single("q", msg, code="range")
    return math.exp(exponent)


def _timed(chances: list[float], timing: list[float], left: float) -> list[float]:
    """
    A deal's (or a cohort's) *chances* of a win in each month, timed by the
    calendar's weights *timing*: each month's hazard of a win scaled by its
    weight g, the chance c of a win in the month of what is left to win
    becoming ``1 - (1 - c) ** g``, on what the months before left to win.
    What is left to win at the first month is *left* (the chance of a win at
    all less that of one before the first month), or the chances' sum if
    more: a month with all that is left keeps it whatever its weight, and no
    month's weight makes the chances add up to more than was left to win.
    With every weight 1 the chances are as given.
    """
    base = max(left, math.fsum(chances))
    timed_left = base
    out = []
    for p, g in zip(chances, timing, strict=True):
        c = min(max(p, 0.0) / base, 1.0) if base > 0 else 0.0
        q = p if g == 1.0 and timed_left == base else timed_left * (1.0 - (1.0 - c) ** g)
        out.append(q)
        base = max(base - p, 0.0)
        timed_left = max(timed_left - q, 0.0)
    return out


def _shrunk(index: float, noise: float) -> float:
    """
    A seasonal *index* pulled towards 1 by how much of its distance from 1
    its own relative variance *noise* could explain (positive-part
    James-Stein): a season that shows only noise counts for nothing.
    """
    gap = (index - 1) ** 2
    if gap == 0 or math.isinf(noise):
        return 1.0
    return 1 + (index - 1) * max(0.0, 1 - noise * index**2 / gap)


def _won_in(deals: Iterable[Opportunity], start: dt.datetime, end: dt.datetime) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for o in deals:
        if o.status is _WON and o.amount is not None and start <= o.stage_entered_at < end:
            out[o.amount.currency] = _CTX.add(out.get(o.amount.currency, Decimal(0)), o.amount.amount)
    return out


class _Wins:
    """
    The deals won with an amount, by the instant they were won, so that
    a window's are found by bisection and still read in the order given
    (their sums in Decimals are the same as a pass over every deal).
    """

    def __init__(self, deals: Iterable[Opportunity]) -> None:
        won = [
            (o.stage_entered_at, i, o)
            for i, o in enumerate(deals)
            if o.status is _WON and o.amount is not None
        ]
        won.sort(key=operator.itemgetter(0))  # stable: the order given among those won at once
        self.times = [x[0] for x in won]
        self.won = [(i, o) for _, i, o in won]

    def between(self, start: dt.datetime, end: dt.datetime) -> list[Opportunity]:
        """The deals won in ``[start, end)``, in the order given."""
        lo, hi = bisect.bisect_left(self.times, start), bisect.bisect_left(self.times, end)
        if hi <= lo:
            return []
        return [o for _, o in sorted(self.won[lo:hi], key=operator.itemgetter(0))]

    def count(self, start: dt.datetime, end: dt.datetime) -> int:
        """How many deals were won in ``[start, end)``."""
        return max(0, bisect.bisect_left(self.times, end) - bisect.bisect_left(self.times, start))

    def booked(self, start: dt.datetime, end: dt.datetime) -> dict[str, Decimal]:
        """What :func:`_won_in` gives: the amounts won in ``[start, end)`` per currency."""
        out: dict[str, Decimal] = {}
        for o in self.between(start, end):
            amount = cast("Money", o.amount)
            out[amount.currency] = _CTX.add(out.get(amount.currency, Decimal(0)), amount.amount)
        return out


def _aalen_johansen(
    observations: list[tuple[float, str | None]],
) -> tuple[list[float], list[float], list[tuple[float, str, float]]]:
    """
    The Aalen-Johansen estimate over ``(days, destination)`` stays (``None``:
    still under way), as :func:`cumulative_incidence` makes it in floats:
    the distinct times, the survival after each, and each jump of a
    destination's incidence ``(time, destination, size)``, in time order.
    """
    counts: dict[float, Counter[str | None]] = {}
    for x, d in observations:
        counts.setdefault(x, Counter())[d] += 1
    at_risk = len(observations)
    survival = 1.0
    times: list[float] = []
    survivals: list[float] = []
    jumps: list[tuple[float, str, float]] = []
    for t in sorted(counts):
        here = counts[t]
        censored = here.pop(None, 0)
        ended = sum(here.values())
        for d in sorted(cast("Counter[str]", here)):
            jumps.append((t, d, survival * here[d] / at_risk))
        survival *= 1.0 - ended / at_risk
        times.append(t)
        survivals.append(survival)
        at_risk -= ended + censored
    return times, survivals, jumps


class _Chain:
    """
    The stages as a semi-Markov chain on a grid of days: for each open
    stage, how long deals stay and where they go next (the Aalen-Johansen
    incidence of each next stage by days in it, the stays still under way
    censored), and from that the chance that a deal entering a stage is won
    within t days, ``W[s][t]``, a stay of x days counted as x rounded to
    the nearest day (at least 1).
    """

    def __init__(
        self,
        stays: dict[str, list[tuple[float, str | None]]],
        open_stages: set[str],
        won: set[str],
        *,
        estimates: Mapping[str, tuple[list[float], list[float], list[tuple[float, str, float]]]]
        | None = None,
    ) -> None:
        self.open_stages, self.won = open_stages, won
        # per stage: the distinct times, the survival after each, and each jump of an exit's incidence
        self.times: dict[str, list[float]] = {}
        self.survival: dict[str, list[float]] = {}
        self.jumps: dict[str, list[tuple[float, str, float]]] = {}
        # per stage, made when first asked: each jump's time, and its bin for each quarter day f
        self._taus: dict[str, list[float]] = {}
        self._bins: dict[str, list[tuple[list[int], list[int]]]] = {}
        self._rows_of: dict[str, tuple[list[float], list[list[float]]]] = {}
        estimate = _aalen_johansen
        if sum(map(len, stays.values())) >= _FAST_STAYS and _optional.numpy() is not None:
            estimate = _fast().aalen_johansen  # the same floats, sooner
        for k, obs in stays.items():
            self.times[k], self.survival[k], self.jumps[k] = estimate(obs)
        for k, (times, survival, jumps) in (estimates or {}).items():  # made already
            self.times[k], self.survival[k], self.jumps[k] = times, survival, jumps
        self.horizon = 0
        self.w: dict[str, list[float]] = {}
        self._conditional: dict[tuple[str, int, int], float] = {}
        self._eventual: dict[str, float] | None = None
        self._won_after: dict[str, tuple[list[float], list[float], list[float]]] = {}

    def _open_at(self, stage: str, a: float) -> float:
        """The chance a deal entering *stage* is still in it after *a* days."""
        j = bisect.bisect_right(self.times[stage], a) - 1
        return 1.0 if j < 0 else self.survival[stage][j]

    def unknown(self, stage: str, age: float) -> str | None:
        """Why the history cannot tell the chances in *stage* after *age* days in it (``None``: it can)."""
        if stage not in self.jumps:
            return "no history of this stage"
        if self._open_at(stage, age) <= 0:
            return "in its stage longer than any deal that left it"
        return None

    def won_within(self, stage: str, age: float, t: float) -> float:
        """
        The chance that a deal *age* days into *stage* (to the quarter day,
        rounded up: exits it may already have outlived are not counted) is
        won within *t* days (0 for t < 1: a stay is counted in whole days).
        """
        days = math.floor(t)
        if days < 1:
            return 0.0
        self.grow(days)
        quarters = math.ceil(age * 4)
        n, f = divmod(quarters, 4)
        a = quarters / 4
        key = (stage, quarters, days)
        got = self._conditional.get(key)
        if got is None:
            alive = self._open_at(stage, a)
            total = 0.0
            taus, bins = self._binned(stage)
            values, starts = bins[f]
            sizes, rows = self._rows(stage)
            # the jumps after a in the bins n to n + days, in time order (the bins grow with the
            # time): a stay that ends at tau in bin B leaves u = max(1, B - n) whole days from now,
            # and is then won within the days left as its destination says (1 won, 0 lost)
            after = bisect.bisect_right(taus, a)
            j, top = bisect.bisect_left(values, n), n + days
            while j < len(values) and values[j] <= top:
                lo, hi = max(starts[j], after), starts[j + 1]
                left = days - max(1, values[j] - n)
                for p, row in zip(sizes[lo:hi], rows[lo:hi], strict=True):
                    total += p * row[left]
                j += 1
            got = total / alive if alive > 0 else 0.0
            self._conditional[key] = got
        return got

    def _binned(self, stage: str) -> tuple[list[float], list[tuple[list[int], list[int]]]]:
        """
        The times of *stage*'s jumps and, for a deal n + f/4 days into it, the jumps' bins
        ``B = ceil(t - f/4 - 1/2)`` (a stay that ends at t leaves max(1, B - n) whole days later):
        the distinct bins, in order, and where each one's jumps start (and the last ends).
        """
        if stage not in self._taus:
            taus = [t for t, _, _ in self.jumps[stage]]
            self._taus[stage] = taus
            per_f = []
            for f in range(4):
                values: list[int] = []
                starts: list[int] = []
                for i, t in enumerate(taus):
                    b = math.ceil(t - f / 4 - 0.5)
                    if not values or b != values[-1]:
                        values.append(b)
                        starts.append(i)
                starts.append(len(taus))
                per_f.append((values, starts))
            self._bins[stage] = per_f
        return self._taus[stage], self._bins[stage]

    def _rows(self, stage: str) -> tuple[list[float], list[list[float]]]:
        """
        Each jump of *stage*'s size and the row of its destination's chance of a win within t days
        (ones when it is won, zeros when it is neither won nor an open stage seen), as grown.
        """
        got = self._rows_of.get(stage)
        if got is None:
            ones, zeros = [1.0] * (self.horizon + 1), [0.0] * (self.horizon + 1)
            jumps, won, w = self.jumps[stage], self.won, self.w
            got = [p for _, _, p in jumps], [ones if d in won else w.get(d, zeros) for _, d, _ in jumps]
            self._rows_of[stage] = got
        return got

    def eventual(self, stage: str, age: float) -> float:
        """
        The chance that a deal *age* days into *stage* is won at all, whenever:
        where each stage's deals went once they left it (the stays still
        under way taken to end as those that ended), through the chain,
        timing ignored.  Found by a binary search in running sums of the
        stage's jumps, made once per stage, so that asking it for every open
        deal costs no pass over the history each.
        """
        if self.unknown(stage, age):
            return 0.0
        got = self._won_after.get(stage)
        if got is None:
            if self._eventual is None:
                self._eventual = self._absorbed()
            jumps = self.jumps[stage]
            won_after, all_after = [0.0] * (len(jumps) + 1), [0.0] * (len(jumps) + 1)
            for i in range(len(jumps) - 1, -1, -1):  # the jumps are in time order
                _, d, p = jumps[i]
                value = 1.0 if d in self.won else self._eventual.get(d, 0.0)
                won_after[i], all_after[i] = won_after[i + 1] + p * value, all_after[i + 1] + p
            got = self._won_after[stage] = [t for t, _, _ in jumps], won_after, all_after
        taus, won_after, all_after = got
        k = bisect.bisect_right(taus, age)
        return won_after[k] / all_after[k] if all_after[k] > 0 else 0.0

    def _leaving(self, stage: str, a: float) -> dict[str, float]:
        """Where a deal *a* days into *stage* goes when it leaves, each destination's chance."""
        out: dict[str, float] = {}
        for t, d, p in self.jumps[stage]:
            if t > a:
                out[d] = out.get(d, 0.0) + p
        total = sum(out.values())
        return {d: q / total for d, q in out.items()} if total > 0 else {}

    def _absorbed(self) -> dict[str, float]:
        """Each open stage's chance of ending won, by iterating the chain of where deals go next."""
        moves = {k: self._leaving(k, -1.0) for k in self.jumps}
        p = dict.fromkeys(moves, 0.0)
        for _ in range(_MAX_SWEEPS):
            change = 0.0
            for k, leave in moves.items():
                value = sum(q * (1.0 if d in self.won else p.get(d, 0.0)) for d, q in leave.items())
                change = max(change, abs(value - p[k]))
                p[k] = value
            if change < 1e-12:
                break
        return p

    def mean_won_within(self, stage: str, lo: float, hi: float) -> float:
        """The mean over t in ``[lo, hi]`` of the chance a deal entering *stage* is won within t days."""
        if hi <= lo:
            return 0.0
        self.grow(math.floor(hi))
        w = self.w[stage]
        area, t = 0.0, max(lo, 0.0)
        while t < hi:
            step_end = min(math.floor(t) + 1.0, hi)
            area += w[math.floor(t)] * (step_end - t)
            t = step_end
        return area / (hi - lo)

    def grow(self, horizon: int) -> None:
        """W[s][t] for every open stage s seen and t up to *horizon*, by days in increasing t."""
        if horizon <= self.horizon and self.w:
            return
        steps: dict[str, list[tuple[int, str, float]]] = {}
        for k, jumps in self.jumps.items():
            if len(jumps) >= _FAST_STAYS and _optional.numpy() is not None:
                steps[k] = _fast().steps(jumps, horizon)  # the same sums, sooner
                continue
            binned: dict[tuple[int, str], float] = {}
            for tau, d, p in jumps:
                u = max(1, math.ceil(tau - 0.5))
                if u <= horizon:
                    binned[u, d] = binned.get((u, d), 0.0) + p
            steps[k] = sorted((u, d, p) for (u, d), p in binned.items())
        if sum(map(len, self.jumps.values())) >= _FAST_STAYS and _optional.numpy() is not None:
            self.w = _fast().grid(steps, self.won, horizon)  # the same sums, sooner
            self.horizon = horizon
            self._conditional.clear()
            self._rows_of.clear()
            return
        w = {k: [0.0] * (horizon + 1) for k in self.jumps}
        self.w = w
        won = self.won
        for t in range(1, horizon + 1):
            for k, row in steps.items():
                total = 0.0
                for u, d, p in row:
                    if u > t:
                        break
                    total += p * (1.0 if d in won else w[d][t - u] if d in w else 0.0)
                w[k][t] = total
        self.horizon = horizon
        self._conditional.clear()
        self._rows_of.clear()


def _scales(checks: list[Any], currencies: Iterable[str], worth: float) -> dict[str, float]:
    """
    Per currency, the factor on the open part of the bottom-up forecast
    (pipeline + generation): the geometric mean over the past periods of
    what the open part booked (actual less closed) over what it forecast,
    its log m pulled towards 0 by positive-part James-Stein shrinkage,
    ``m * max(0, 1 - v / (n m^2))`` for the logs' variance v and the n
    independent periods they are worth (k periods times *worth*): a ratio
    that the noise of a few periods explains counts for nothing.  1 while
    the periods whose open part forecast something are worth no more than
    :data:`_FEWEST_WORTH` (3) independent ones: with v estimated on n - 1
    <= 2 degrees of freedom, m / sqrt(v / n) is a Student t whose variance
    is infinite, so the noise could explain any ratio (on simulated young
    companies the scale of three months cost more than it saved).
    """
    out = {}
    for k in sorted(set(currencies) | {x[3] for x in checks}):
        logs = []
        for _, _, _, cur, got, actual in checks:
            forecast = float(got.part(k, *_OPEN_PART)) if cur == k else 0.0
            if forecast > 0:
                booked = float(actual.get(k, 0)) - float(got.part(k, "closed"))
                logs.append(math.log(max(booked / forecast, _SMALLEST_RATIO)))
        n = len(logs) * worth
        if len(logs) < 2 or n <= _FEWEST_WORTH:
            out[k] = 1.0
            continue
        m = statistics.fmean(logs)
        noise = statistics.variance(logs) / n
        out[k] = 1.0 if m == 0 else math.exp(m * max(0.0, 1 - noise / (m * m)))
    return out


def _weights(
    checks: list[Any],
    currencies: Iterable[str],
    scales: Mapping[str, float],
    *,
    forms: Mapping[str, _Form] | None = None,
) -> dict[str, float]:
    """
    Per currency, the weight w of the calibrated bottom-up forecast B (see
    :func:`_scales`) against the run rate R: the least-squares weight that
    minimises the squared error of ``w B + (1 - w) R`` over the past
    periods, in [0, 1] (Bates & Granger 1969 with the covariance: both
    forecasts miss the same noise of what is booked, so the weights that
    ignore it pull towards one half): ``w = sum (A - R)(B - R) / sum (B -
    R)^2``; the bottom-up alone without a run rate or past periods to judge
    by, one half when the two never differed.  Given *forms* (per currency,
    how the run rate now was indexed: ``"season"`` or ``"calendar"``,
    ``"plain"`` if absent), only the past periods whose run rate was made
    the same way count, when there are at least :data:`_SAME_FORM` of them:
    a run rate before its season (or the calendar's index) was on record
    is another forecaster.
    """
    out = {}
    for k in sorted(set(currencies) | {x[3] for x in checks}):
        scale = scales.get(k, 1.0)
        mine = [(float(got.calibrated(k, scale)), float(got.run_rate.get(k, 0)), float(actual.get(k, 0)))
                for _, _, _, cur, got, actual in checks if cur == k]  # fmt: skip
        if forms is not None:
            form = forms.get(k, "plain")
            same = [m for m, x in zip(mine, [x for x in checks if x[3] == k], strict=True)
                    if x[4].forms.get(k, "plain") == form]  # fmt: skip
            if len(same) >= _SAME_FORM:
                mine = same
        if not mine or not any(r for _, r, _ in mine):
            out[k] = 1.0  # no run rate to weigh against
            continue
        spread = sum((b - r) ** 2 for b, r, _ in mine)
        if spread == 0:
            out[k] = 0.5
            continue
        out[k] = min(1.0, max(0.0, sum((a - r) * (b - r) for b, r, a in mine) / spread))
    return out


def _student_t(q: float, df: float) -> float:
    """
    The *q* quantile of Student's t with *df* > 0 degrees of freedom (not
    only whole ones), by bisection on its distribution function: ``1 -
    I_x(df/2, 1/2) / 2`` at ``x = df / (df + t**2)`` for t > 0, I the
    regularised incomplete beta function (Abramowitz & Stegun 26.7.1), to
    1e-12; capped at 1e12 (past it an interval is refused as too wide).
    """
    if q == 0.5:
        return 0.0
    p = max(q, 1 - q)
    lo, hi = 0.0, 1.0
    while _t_below(hi, df) < p and hi < _T_CAP:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if _t_below(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    t = (lo + hi) / 2
    return t if q > 0.5 else -t


def _t_below(t: float, df: float) -> float:
    """The chance that Student's t with *df* degrees of freedom is below *t* >= 0."""
    return 1 - _beta_regularised(df / 2, 0.5, df / (df + t * t)) / 2


def _beta_regularised(a: float, b: float, x: float) -> float:
    """
    ``I_x(a, b)``, by its continued fraction (Numerical Recipes, 3rd ed.,
    6.4, modified Lentz), on the side of ``(a + 1) / (a + b + 2)`` where it
    converges fast.
    """
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1 - front * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):  # fmt: skip
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return h


def _days(span: dt.timedelta) -> float:
    return span / _DAY


def _day_of(t: dt.datetime) -> dt.datetime:
    """The first instant of *t*'s day in UTC."""
    return dt.datetime(t.year, t.month, t.day, tzinfo=dt.UTC)


def _quarter_after(first: dt.datetime) -> dt.datetime:
    """The first instant (UTC) of the calendar quarter after the one that begins at *first*."""
    month = first.month + 3
    return dt.datetime(first.year + (month > 12), (month - 1) % 12 + 1, 1, tzinfo=dt.UTC)


def _month(t: dt.datetime) -> dt.date:
    return dt.date(t.year, t.month, 1)


def _months_back(t: dt.datetime, k: int) -> dt.datetime:
    """*t* k calendar months earlier, at its day of the month (the month's last, if it is shorter)."""
    m = t.year * 12 + t.month - 1 - k
    year, month = divmod(m, 12)
    return t.replace(year=year, month=month + 1, day=min(t.day, calendar.monthrange(year, month + 1)[1]))


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
    return _CTX.multiply(amount, _FROM_FLOAT(p))  # exact, whatever traps the caller set


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
