"""
The weighted forecast: amount x stage probability, rounded per deal, summed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from .. import _checks as c
from .._money import Money
from .._time import zone as zone_of
from ..entities import Opportunity, OpportunityStatus
from ..errors import Problem, ValidationError
from ..stages import ForecastCategory, Pipeline

#: The dimensions a forecast can be grouped by.
DIMENSIONS = ("owner", "stage", "category", "pipeline", "month", "quarter", "customer")

#: Cumulative forecast categories: each includes those after it (commit includes closed, ...).
ROLLUP: tuple[ForecastCategory, ...] = (
    ForecastCategory.PIPELINE,
    ForecastCategory.BEST_CASE,
    ForecastCategory.COMMIT,
    ForecastCategory.CLOSED,
)


@attrs.frozen(kw_only=True)
class ForecastLine:
    """
    One group of the forecast, in one currency: how many deals, their total
    amount, and the weighted amount (each deal rounded to the minor unit,
    then summed).
    """

    key: tuple[Any, ...]
    currency: str
    deals: int
    amount: Money
    weighted: Money


@attrs.frozen(kw_only=True)
class WeightedForecast:
    """
    The forecast lines, grouped by *by*; a line per group and currency.
    """

    by: tuple[str, ...]
    lines: tuple[ForecastLine, ...]

    def total(self, currency: str) -> Money:
        """
        The weighted total in *currency* over every line.
        """
        return Money.total((ln.weighted for ln in self.lines if ln.currency == currency), currency=currency)

    def to_records(self) -> list[dict[str, Any]]:
        """
        One flat dict per line, for ``pandas.DataFrame``.
        """
        return [
            {
                **dict(zip(self.by, ln.key, strict=True)),
                "currency": ln.currency,
                "deals": ln.deals,
                "amount": ln.amount.amount,
                "weighted": ln.weighted.amount,
            }
            for ln in self.lines
        ]


def weighted_forecast(
    opportunities: Iterable[Opportunity],
    pipelines: Pipeline | Mapping[str, Pipeline],
    *,
    by: Iterable[str] = ("owner",),
    tz: dt.tzinfo | str = "UTC",
    rates: Mapping[str, Decimal] | None = None,
    to_currency: str | None = None,
) -> WeightedForecast:
    """
    Expected revenue = amount x stage probability, per deal rounded to the
    currency's minor unit (half-even), then summed per group (DOMAIN.md).

    Open deals count at their stage's probability and are dated by their
    expected close; won deals count in full, dated when they were won; lost
    deals and deals without an amount are left out.  Groups: any of
    ``owner``, ``stage``, ``category``, ``pipeline``, ``month`` and
    ``quarter`` (local to *tz*; ``None`` for an open deal with no expected
    close), ``customer``.

    Currencies are never summed raw: each gets its own lines, unless *rates*
    (currency -> rate into *to_currency*) convert every amount first; a deal
    is converted, then weighted and rounded.

    >>> import datetime as dt
    >>> from funnelkit import Money, Opportunity
    >>> from funnelkit.stages import default_pipeline
    >>> t = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
    >>> deal = Opportunity(id="o", customer_id="c", owner="ann", pipeline="default", stage="proposal",
    ...                    created_at=t, stage_entered_at=t, amount=Money.of("1000.05", "USD"))
    >>> weighted_forecast([deal], default_pipeline()).lines[0].weighted  # 40 % of 1000.05 = 400.02
    Money('400.02', 'USD')
    """
    table = {pipelines.key: pipelines} if isinstance(pipelines, Pipeline) else dict(pipelines)
    dims = tuple(by)
    problems = []
    for d in dims:
        if d not in DIMENSIONS:
            problems.append(
                Problem(
                    path="by", message=f"{c.show(d)} is not a dimension; allowed: {', '.join(DIMENSIONS)}"
                )
            )
    if (rates is None) != (to_currency is None):
        problems.append(Problem(path="rates", message="rates and to_currency go together"))
    if problems:
        raise ValidationError(problems)
    zone = zone_of(tz)
    groups: dict[tuple[tuple[Any, ...], str], list[Any]] = {}
    for i, opp in enumerate(opportunities):
        if not isinstance(opp, Opportunity):
            c.require(opp, Opportunity, "an Opportunity", f"opportunities[{i}]")
        if opp.status is OpportunityStatus.LOST or opp.amount is None:
            continue
        pipeline = table.get(opp.pipeline)
        if pipeline is None:
            raise ValidationError.single(
                f"opportunities[{i}].pipeline", f"{opp.pipeline!r} is not among the pipelines given"
            )
        if opp.stage not in pipeline:
            raise ValidationError.single(f"opportunities[{i}].stage", pipeline._unknown(opp.stage))  # noqa: SLF001
        stage = pipeline.stage(opp.stage)
        amount = opp.amount
        if rates is not None and to_currency is not None:
            rate = rates.get(amount.currency)
            if rate is None:
                raise ValidationError.single("rates", f"no rate for {amount.currency}")
            amount = Money(amount=(amount * rate).round().amount, currency=to_currency)
        won = opp.status is OpportunityStatus.WON
        weighted = amount if won else (amount * stage.probability).round()
        when = opp.stage_entered_at.astimezone(zone).date() if won else opp.expected_close
        key = tuple(_dimension(d, opp, stage.category, when) for d in dims)
        acc = groups.setdefault(
            (key, amount.currency), [0, Money.zero(amount.currency), Money.zero(amount.currency)]
        )
        acc[0] += 1
        acc[1] += amount
        acc[2] += weighted
    lines = tuple(
        ForecastLine(key=key, currency=cur, deals=n, amount=total, weighted=w)
        for (key, cur), (n, total, w) in sorted(
            groups.items(), key=lambda kv: (_sortable(kv[0][0]), kv[0][1])
        )
    )
    return WeightedForecast(by=dims, lines=lines)


def _dimension(name: str, opp: Opportunity, category: ForecastCategory, when: dt.date | None) -> Any:
    if name == "month":
        return None if when is None else f"{when.year:04d}-{when.month:02d}"
    if name == "quarter":
        return None if when is None else f"{when.year:04d}-Q{(when.month - 1) // 3 + 1}"
    if name == "category":
        return category.value
    if name == "customer":
        return opp.customer_id
    return getattr(opp, name)


def _sortable(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((k is None, "" if k is None else str(k)) for k in key)


def category_rollup(forecast: WeightedForecast) -> Mapping[tuple[str, str], Money]:
    """
    Cumulative totals per forecast category and currency, from a forecast
    grouped by ``category``: closed; commit = commit + closed; best case =
    best case + commit + closed; pipeline = all of them.
    """
    if "category" not in forecast.by:
        raise ValidationError.single("forecast", "group the forecast by 'category' first")
    at = forecast.by.index("category")
    out: dict[tuple[str, str], Money] = {}
    currencies = sorted({ln.currency for ln in forecast.lines})
    for cur in currencies:
        for i, cat in enumerate(ROLLUP):
            included = {k.value for k in ROLLUP[i:]}
            out[cat.value, cur] = Money.total(
                (ln.weighted for ln in forecast.lines if ln.currency == cur and ln.key[at] in included),
                currency=cur,
            )
    return MappingProxyType(out)
