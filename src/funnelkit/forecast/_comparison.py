"""
Forecast methods compared over rolling cut-offs: at each one, every method
forecasts the bookings of its period from what was known then, and is
scored against what was won.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import attrs

from .. import _checks as c
from .._money import Money, currency_problem
from .._report import Report, money_cells
from .._repr import BLUE, INK, ORANGE, RED, Axis, Band, Line, chart_svg, finite, nice_axis
from .._time import instant
from ..entities import Opportunity, OpportunityStatus
from ..errors import ValidationError
from ..stages import Pipeline
from ._backtest import DealEvent, _unique, as_of, bias, pinball, wape
from ._bookings import (
    _CTX,
    _DAY,
    _EARLIEST,
    _LATEST,
    MAX_PERIOD,
    Bookings,
    Component,
    _Known,
    _money,
    _of_pipeline,
    _sum,
    _times,
    _won_in,
    expected_bookings,
)
from ._funnel import _listed
from ._weighted import weighted_forecast

Method = Literal["weighted", "calibrated", "timing", "timing_generation", "run_rate", "combined"]
#: The methods :func:`compare_forecasts` scores, from the naive to the combination.
METHODS: tuple[Method, ...] = (
    "weighted",
    "calibrated",
    "timing",
    "timing_generation",
    "run_rate",
    "combined",
)
#: At most this many cut-offs (each replays the history up to it, and expected_bookings' own past periods).
MAX_COMPARED = 200
_COLORS = {"weighted": RED, "run_rate": ORANGE, "combined": BLUE}


@attrs.frozen(kw_only=True)
class ComparisonRow:
    """One method's forecast of one period, from its cut-off *start*, and what was won in it."""

    start: dt.datetime
    end: dt.datetime
    method: Method
    forecast: Money
    actual: Money
    p10: Money | None = None
    p90: Money | None = None


@attrs.frozen(kw_only=True)
class MethodScore:
    """
    One method over every cut-off: WAPE, bias, and for the combination the
    mean pinball loss of its 10 %, 50 % and 90 % quantiles and how often its
    10-90 % interval held the actual (*coverage*, of *intervals*).
    """

    method: Method
    wape: Fraction | None
    bias: Fraction | None
    pinball: Decimal | None = None
    coverage: Fraction | None = None
    intervals: int = 0


@attrs.frozen(kw_only=True, repr=False)
class ForecastComparison(Report):
    """
    The result of :func:`compare_forecasts`: a row per cut-off and method,
    :attr:`scores` per method, and :attr:`best`.  Its chart draws the
    actual and each method's forecast at every cut-off, with the
    combination's interval.

    Not mergeable: each method learns from every deal and the combination
    from the whole history; compare a company in one call.
    """

    currency: str
    rows: tuple[ComparisonRow, ...]

    @property
    def scores(self) -> tuple[MethodScore, ...]:
        """
        Each method's scores over the cut-offs, in :data:`METHODS` order.

        Cost: O(rows).
        """
        out = []
        for method in METHODS:
            mine = [r for r in self.rows if r.method == method]
            actuals = [r.actual.amount for r in mine]
            forecasts = [r.forecast.amount for r in mine]
            if not mine or not any(actuals):
                out.append(MethodScore(method=method, wape=None, bias=None))
                continue
            held = [
                (r.p10, r.forecast, r.p90, r.actual) for r in mine if r.p10 is not None and r.p90 is not None
            ]
            loss = None
            if held:
                truth = [a.amount for *_, a in held]
                losses = [
                    pinball(q, truth, [f[k].amount for f in held]) for k, q in enumerate((0.1, 0.5, 0.9))
                ]
                loss = _CTX.divide(_sum(losses), Decimal(3))
            covered = sum(1 for low, _, high, a in held if low <= a <= high)
            out.append(
                MethodScore(
                    method=method,
                    wape=wape(actuals, forecasts),
                    bias=bias(actuals, forecasts),
                    pinball=loss,
                    coverage=Fraction(covered, len(held)) if held else None,
                    intervals=len(held),
                )
            )
        return tuple(out)

    @property
    def best(self) -> Method | None:
        """
        The method with the lowest WAPE (the first in :data:`METHODS` on a
        tie); ``None`` when nothing was won.

        Cost: O(rows).
        """
        scored = [s for s in self.scores if s.wape is not None]
        return min(scored, key=lambda s: s.wape or 0).method if scored else None

    def _summary(self) -> str:
        cutoffs = len({r.start for r in self.rows})
        parts = ", ".join(f"{s.method} {float(s.wape):.1%}" for s in self.scores if s.wape is not None)
        return f"{cutoffs:,} cut-offs in {self.currency}; WAPE {parts or '-'}"

    def _rows(self) -> list[dict[str, object]]:
        return [
            {
                "start": r.start,
                "end": r.end,
                "method": r.method,
                "forecast": r.forecast,
                "actual": r.actual,
                **money_cells("p10", r.p10),
                **money_cells("p90", r.p90),
            }
            for r in self.rows
        ]

    def to_svg(self) -> str:
        """
        The actual and each method's forecast at every cut-off, as an inline
        SVG chart, with the combination's 10-90 % interval shaded.

        Cost: O(rows).
        """
        title = "forecast methods against actual"
        starts = sorted({r.start for r in self.rows})
        if not starts:
            return chart_svg(title=f"{title}: no cut-offs", x=nice_axis(0, 1), y=nice_axis(0, 1))
        xs = {t: (t - starts[0]) / _DAY for t in starts}
        pad = max(0.5, (max(xs.values()) - min(xs.values())) * 0.08)
        every = max(1, math.ceil(len(starts) / 6))
        ticks = tuple((xs[t], t.date().isoformat()) for t in starts[::every])
        x = Axis(min(xs.values()) - pad, max(xs.values()) + pad, ticks)
        combined = [r for r in self.rows if r.method == "combined"]
        actual = [(xs[r.start], finite(r.actual.amount)) for r in combined]
        lines = [Line("actual", actual, color=INK, markers="dot")]
        for method in METHODS:
            points = [(xs[r.start], finite(r.forecast.amount)) for r in self.rows if r.method == method]
            lines.append(Line(method, points, color=_COLORS.get(method, "#999"), dashed=method != "combined"))
        held = [r for r in combined if r.p10 is not None and r.p90 is not None]
        bands = []
        if held:
            upper = [(xs[r.start], finite(r.p90.amount)) for r in held if r.p90 is not None]
            lower = [(xs[r.start], finite(r.p10.amount)) for r in held if r.p10 is not None]
            bands.append(Band("combined 10-90 %", upper, lower))
        values = [v for line in lines for _, v in line.points] + [
            v for b in bands for _, v in (*b.upper, *b.lower)
        ]
        return chart_svg(
            title=title,
            x=x,
            y=nice_axis(min(0.0, *values), max(values)),
            x_label="cut-off",
            y_label=f"booked in the period ({self.currency})",
            bands=bands,
            lines=lines,
        )


def compare_forecasts(
    opportunities: Sequence[Opportunity],
    events: Iterable[DealEvent],
    pipeline: Pipeline,
    *,
    cutoffs: Iterable[tuple[dt.datetime, dt.datetime]],
    currency: str,
    lookback: dt.timedelta = dt.timedelta(days=365),
    season: dt.timedelta | None = dt.timedelta(days=365),
    backtests: int = 12,
) -> ForecastComparison:
    """
    Every forecast method over rolling cut-offs ``(start, end)``: at each,
    the deals and their log as they were at *start* forecast the bookings
    of ``[start, end)``, scored against what was won in it (each deal at
    the amount it stood at when the period ended).  The methods:

    - ``weighted``: the naive weighted pipeline, each open deal's amount
      times its stage's probability, whenever it closes;
    - ``calibrated``: each open deal's chance of ever being won, learned
      from the history (where each stage's deals went), whenever it closes;
    - ``timing``: what is won in the period by the open deals, from the
      chain of stays (:func:`expected_bookings`' closed and pipeline parts);
    - ``timing_generation``: that and the deals yet to be created;
    - ``run_rate``: past bookings with the previous season's index (or the
      calendar's where the season says nothing);
    - ``combined``: :func:`expected_bookings`' total, with its 10-90 %
      interval (none where the past errors are too few, or too wild for
      :meth:`~funnelkit.forecast.Bookings.quantile` to give one).

    Amounts in other currencies are left out of every method and actual.

    Cost: O(k b (n + e log e)) for k cut-offs (at most 200), b past periods
    each (see :func:`expected_bookings`), n deals and e events.
    """
    problem = currency_problem(currency)
    if problem is not None:
        raise c.at("currency", problem)
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    deals = _listed(opportunities, Opportunity, "an Opportunity", "opportunities")
    deals, log = _of_pipeline(deals, _unique(events), pipeline.key)
    pairs = _cutoffs(cutoffs)
    rows = []
    for start, end in pairs:
        then = list(as_of(deals, log, now=start))
        known = [e for e in log if e.at <= start]
        report = expected_bookings(
            then, known, pipeline, start=start, end=end, now=start, lookback=lookback, season=season,
            backtests=backtests,
        )  # fmt: skip
        actual = _money(_won_in(as_of(deals, log, now=end), start, end).get(currency, Decimal(0)), currency)
        open_then = [o for o in then if o.status is OpportunityStatus.OPEN]
        mine = [o for o in open_then if o.amount is not None and o.amount.currency == currency]
        chain = _Known(then, known, pipeline, start, lookback, season).chain
        calibrated = _sum(
            _times(o.amount.amount, chain.eventual(o.stage, max((start - o.stage_entered_at) / _DAY, 0.0)))
            for o in mine
            if o.amount is not None
        )
        weighted = weighted_forecast(mine, pipeline, by=()).total(currency) if mine else Money.of(0, currency)
        forecasts = _forecasts(report, currency, weighted, calibrated)
        has = currency in report.currencies
        low, high = _interval(report, currency) if has else (None, None)
        for method in METHODS:
            p10, p90 = (low, high) if method == "combined" else (None, None)
            forecast = forecasts[method]
            rows.append(
                ComparisonRow(
                    start=start, end=end, method=method, forecast=forecast, actual=actual, p10=p10, p90=p90
                )
            )
    return ForecastComparison(currency=currency, rows=tuple(rows))


def _interval(report: Bookings, currency: str) -> tuple[Money | None, Money | None]:
    """The 10-90 % interval, or none where the past errors are too wild for one (quantile refuses)."""
    try:
        return report.quantile(0.1, currency), report.quantile(0.9, currency)
    except ValidationError:
        return None, None


def _forecasts(report: Bookings, currency: str, weighted: Money, calibrated: Decimal) -> dict[Method, Money]:
    """Each method's forecast in *currency* from one cut-off's bookings report (zero without its deals)."""
    if currency not in report.currencies:
        zero = Money.of(0, currency)
        return {
            "weighted": weighted,
            "calibrated": _money(calibrated, currency),
            "timing": zero,
            "timing_generation": zero,
            "run_rate": zero,
            "combined": zero,
        }

    def part(*names: Component) -> Money:
        return Money.total([report.component(n, currency) for n in names], currency=currency)

    return {
        "weighted": weighted,
        "calibrated": _money(_CTX.add(calibrated, part("closed").amount), currency),
        "timing": part("closed", "pipeline"),
        "timing_generation": part("closed", "pipeline", "generation"),
        "run_rate": part("run_rate"),
        "combined": report.total(currency),
    }


def _cutoffs(cutoffs: object) -> list[tuple[dt.datetime, dt.datetime]]:
    if not c.is_iterable(cutoffs):
        raise c.at("cutoffs", c.wrong_type(cutoffs, "an iterable of (start, end) pairs"))
    pairs = []
    given: Iterable[object] = cutoffs  # type: ignore[assignment]  # checked iterable above
    for n, pair in enumerate(given):
        if n >= MAX_COMPARED:
            msg = f"more than {MAX_COMPARED} cut-offs; each replays the history, so give at most that many"
            raise ValidationError.single("cutoffs", msg, code="limit")
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValidationError.single(
                f"cutoffs[{n}]", f"{c.show(pair)} is not a (start, end) pair", code="type"
            )
        start = instant(pair[0], field=f"cutoffs[{n}][0]")
        end = instant(pair[1], field=f"cutoffs[{n}][1]")
        if end <= start:
            raise ValidationError.single(
                f"cutoffs[{n}]", f"{end.isoformat()} is not after {start.isoformat()}", code="order"
            )
        for k, value in enumerate((start, end)):
            if not _EARLIEST <= value <= _LATEST:
                msg = f"{value.isoformat()} is outside the years {_EARLIEST.year}-{_LATEST.year}"
                raise ValidationError.single(f"cutoffs[{n}][{k}]", msg, code="range")
        if end - start > MAX_PERIOD:
            msg = f"{c.show(end - start)} long, more than {MAX_PERIOD.days:,} days; compare shorter periods"
            raise ValidationError.single(f"cutoffs[{n}]", msg, code="range")
        pairs.append((start, end))
    if not pairs:
        raise ValidationError.single("cutoffs", "empty; give at least one (start, end) pair", code="empty")
    return pairs
