"""
The weighted forecast: amount x stage probability, rounded per deal, summed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, cast

import attrs

from .. import _checks as c
from .._money import _CONTEXT, Money, currency_minor_units, currency_problem
from .._report import Report
from .._time import zone as zone_of
from ..entities import Opportunity, OpportunityStatus, Tier
from ..errors import Problem, ValidationError
from ..stages import ForecastCategory, Pipeline
from ._args import MAX_PROBLEMS

#: The dimensions a forecast can be grouped by.
DIMENSIONS = ("owner", "stage", "category", "pipeline", "month", "quarter", "customer", "tier")

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


@attrs.frozen(kw_only=True, repr=False)
class WeightedForecast(Report):
    """
    The forecast lines, grouped by *by*; a line per group and currency.

    A :class:`~funnelkit.Report`: its table has one row per line, the
    grouping columns first, then ``deals``, ``amount`` and ``weighted``
    (each amount with its ``_currency`` column).
    """

    by: tuple[str, ...]
    lines: tuple[ForecastLine, ...]

    def _summary(self) -> str:
        deals = sum(ln.deals for ln in self.lines)
        totals = []
        for cur in sorted({ln.currency for ln in self.lines}):
            amount = Money.total((ln.amount for ln in self.lines if ln.currency == cur), currency=cur)
            totals.append(f"{self.total(cur)} of {amount}")
        grouping = ", ".join(self.by) or "nothing"
        weighted = ", ".join(totals) or "nothing"
        return f"{len(self.lines)} lines by {grouping}, {deals} deals; weighted {weighted}"

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per line: the group's key by dimension, the deals, the amount and the weighted amount.
        """
        return [
            {
                **dict(zip(self.by, ln.key, strict=True)),
                "deals": ln.deals,
                "amount": ln.amount,
                "weighted": ln.weighted,
            }
            for ln in self.lines
        ]

    def merge(self, other: WeightedForecast) -> WeightedForecast:
        """
        This forecast and *other*, computed over different deals, as one:
        exactly what one pass over all the deals gives (each deal is rounded
        on its own, so sums of parts are sums of the whole).  For partitions
        computed in other processes, with Dask or Spark.  Cost: O(g log g) for g lines.
        """
        c.require(other, WeightedForecast, "a WeightedForecast", "other")
        if other.by != self.by:
            msg = f"{list(other.by)} is not the grouping of this forecast ({list(self.by)})"
            raise ValidationError.single("other.by", msg, code="conflict")
        acc: dict[tuple[tuple[Any, ...], str], list[Any]] = {}
        for ln in (*self.lines, *other.lines):
            got = acc.get((ln.key, ln.currency))
            if got is None:
                acc[ln.key, ln.currency] = [ln.deals, ln.amount.amount, ln.weighted.amount]
            else:
                got[0] += ln.deals
                got[1] = _ADD(got[1], ln.amount.amount)
                got[2] = _ADD(got[2], ln.weighted.amount)
        return _forecast(self.by, acc)

    def total(self, currency: str) -> Money:
        """
        The weighted total in *currency* over every line.  Cost: O(g) for g lines.
        """
        return Money.total((ln.weighted for ln in self.lines if ln.currency == currency), currency=currency)


def weighted_forecast(
    opportunities: Iterable[Opportunity],
    pipelines: Pipeline | Mapping[str, Pipeline],
    *,
    by: Iterable[str] = ("owner",),
    tz: dt.tzinfo | str = "UTC",
    rates: Mapping[str, Decimal] | None = None,
    to_currency: str | None = None,
    tiers: Mapping[str, Tier | str] | None = None,
) -> WeightedForecast:
    """
    Expected revenue = amount x stage probability, per deal rounded to the
    currency's minor unit (half-even, once, from the exact product), then
    summed per group.  Cost: O(n + g log g) for n deals and g groups.

    Open deals count at their stage's probability and are dated by their
    expected close; won deals count in full, dated when they were won; lost
    deals and deals without an amount are left out.  Groups: any of
    ``owner``, ``stage``, ``category``, ``pipeline``, ``month`` and
    ``quarter`` (local to *tz*; ``None`` for an open deal with no expected
    close), ``customer``, ``tier`` (the customer's A/B/C tier from *tiers*,
    customer id to tier, e.g. ``abc(...).tiers``; ``None`` when not graded).

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
    table = pipeline_table(pipelines)
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    if not c.is_iterable(by):
        raise c.at("by", c.wrong_type(by, f"an iterable of dimensions ({', '.join(DIMENSIONS)})"))
    dims, problems = _read_dimensions(by)
    if (rates is None) != (to_currency is None):
        problems.append(Problem(path="rates", code="missing", message="rates and to_currency go together"))
    table_rates: dict[str, Decimal] = {}
    if rates is not None and to_currency is not None:
        table_rates = _read_rates(rates, to_currency, problems)
    if problems:
        raise ValidationError(problems)
    zone = zone_of(tz)
    if "tier" in dims and tiers is None:
        raise ValidationError.single(
            "tiers", "None; grouping by 'tier' needs tiers= (customer id -> tier)", code="missing"
        )
    tier_of: Mapping[str, Any] = {} if tiers is None else _tiers(tiers)
    acc = _accumulate(
        opportunities,
        table,
        dims,
        zone=zone,
        table_rates=table_rates,
        to_currency=to_currency,
        tier_of=tier_of,
    )
    return _forecast(dims, acc)


def _read_dimensions(by: Iterable[object]) -> tuple[tuple[str, ...], list[Problem]]:
    """The dimensions of *by*, and a problem for each item that is not one (at most MAX_PROBLEMS)."""
    dims_read: list[str] = []
    problems = []
    for i, d in enumerate(by):
        if not isinstance(d, str) or d not in DIMENSIONS:
            wrong = f"{c.show(d)} is not a dimension; allowed: {', '.join(DIMENSIONS)}"
            problems.append(Problem(path=f"by[{i}]", code="choice", message=wrong))
            if len(problems) >= MAX_PROBLEMS:
                break
        else:
            dims_read.append(d)
    return tuple(dims_read), problems


def _read_rates(rates: object, to_currency: str, problems: list[Problem]) -> dict[str, Decimal]:
    """*rates* as currency -> rate (with *to_currency* at 1), each problem added to *problems*."""
    table_rates: dict[str, Decimal] = {}
    problem = currency_problem(to_currency)
    if problem is not None:
        problems.append(problem.prefixed("to_currency"))
    rates = c.to_mapping(rates, "rates")  # a pandas Series
    if not isinstance(rates, Mapping):
        problems.append(
            Problem(
                path="rates", code="type", message=f"{c.show(rates)} is not a mapping of currency to rate"
            )
        )
        return table_rates
    for code, raw in rates.items():
        rate = c.plain(raw)  # a numpy int as an int
        number = (
            c.to_decimal(rate)
            if isinstance(rate, str | int | Decimal) and not isinstance(rate, bool)
            else rate
        )
        if not isinstance(number, Decimal) or not number.is_finite() or number <= 0:
            problems.append(
                Problem(
                    path=f"rates[{c.show(code)}]",
                    code="range" if isinstance(number, Decimal) else "type",
                    message=f"{c.show(rate)} is not a rate > 0",
                )
            )
        else:
            table_rates[code] = number
    table_rates.setdefault(to_currency, Decimal(1))
    return table_rates


def _accumulate(
    opportunities: Iterable[Opportunity],
    table: Mapping[str, Pipeline],
    dims: tuple[str, ...],
    *,
    zone: dt.tzinfo,
    table_rates: Mapping[str, Decimal],
    to_currency: str | None,
    tier_of: Mapping[str, Any],
) -> dict[tuple[tuple[Any, ...], str], list[Any]]:
    """Deals, amount and weighted amount per (group key, currency): the hot loop, kept whole for speed."""
    dated = "month" in dims or "quarter" in dims
    acc: dict[tuple[tuple[Any, ...], str], list[Any]] = {}
    getters = [_GETTERS[d] for d in dims]
    add = _ADD
    multiply = _CONTEXT.multiply
    quantizers: dict[str, Decimal] = {}
    probability: dict[tuple[str, str], tuple[Decimal, ForecastCategory]] = {}
    for i, opp in enumerate(opportunities):
        if type(opp) is not Opportunity and not isinstance(opp, Opportunity):
            c.require(opp, Opportunity, "an Opportunity", f"opportunities[{i}]")
        status = opp.status
        money = opp.amount
        if status is _LOST or money is None:
            continue
        found = probability.get((opp.pipeline, opp.stage))
        if found is None:
            found = _stage_of(table, opp, i)
            probability[opp.pipeline, opp.stage] = found
        p, category = found
        currency = money.currency
        exact = money.amount
        if table_rates:
            if currency not in table_rates:
                msg = f"no rate for {currency} (opportunities[{i}]); every currency needs a rate"
                raise ValidationError.single("rates", msg, code="missing")
            exact = multiply(exact, table_rates[currency])
            currency = cast("str", to_currency)
        exp = quantizers.get(currency)
        if exp is None:
            exp = quantizers[currency] = Decimal(1).scaleb(-currency_minor_units(currency))
        # the exact amount (converted, weighted: the context is wide enough), rounded once, half-even
        if status is _WON:
            amount = weighted = exact.quantize(exp, None, _CONTEXT)
            when = opp.stage_entered_at.astimezone(zone).date() if dated else None
        else:
            amount = exact if not table_rates else exact.quantize(exp, None, _CONTEXT)
            weighted = multiply(exact, p).quantize(exp, None, _CONTEXT)
            when = opp.expected_close
        key = tuple([f(opp, category, when, tier_of) for f in getters])
        got = acc.get((key, currency))
        if got is None:
            acc[key, currency] = [1, amount, weighted]
        else:
            got[0] += 1
            got[1] = add(got[1], amount)
            got[2] = add(got[2], weighted)
    return acc


_LOST = OpportunityStatus.LOST
_WON = OpportunityStatus.WON
_ADD = _CONTEXT.add


def pipeline_table(pipelines: object) -> Mapping[str, Pipeline]:
    """
    *pipelines* (one Pipeline, or a mapping of key to Pipeline), checked, as a mapping.
    """
    if isinstance(pipelines, Pipeline):
        return {pipelines.key: pipelines}
    if not isinstance(pipelines, Mapping):
        raise ValidationError.single(
            "pipelines", f"{c.show(pipelines)} is not a Pipeline or a mapping of key to Pipeline", code="type"
        )
    problems = [
        c.wrong_type(v, "a Pipeline").prefixed(f"pipelines[{k!r}]")
        for k, v in pipelines.items()
        if not isinstance(v, Pipeline)
    ]
    if problems:
        raise ValidationError(problems)
    return dict(pipelines)


def _stage_of(table: Mapping[str, Pipeline], opp: Opportunity, i: int) -> tuple[Decimal, ForecastCategory]:
    pipeline = table.get(opp.pipeline)
    if pipeline is None:
        raise ValidationError.single(
            f"opportunities[{i}].pipeline",
            f"{opp.pipeline!r} is not among the pipelines given",
            code="reference",
        )
    if opp.stage not in pipeline:
        raise ValidationError.single(
            f"opportunities[{i}].stage", pipeline.routes.unknown(opp.stage), code="reference"
        )
    stage = pipeline.stage(opp.stage)
    return stage.probability, stage.category


def _forecast(
    dims: tuple[str, ...], acc: Mapping[tuple[tuple[Any, ...], str], list[Any]]
) -> WeightedForecast:
    lines = tuple(
        ForecastLine(
            key=key,
            currency=cur,
            deals=n,
            amount=Money(amount=total, currency=cur),
            weighted=Money(amount=w, currency=cur),
        )
        for (key, cur), (n, total, w) in sorted(acc.items(), key=lambda kv: (_sortable(kv[0][0]), kv[0][1]))
    )
    return WeightedForecast(by=dims, lines=lines)


def _tiers(tiers: Mapping[str, Tier | str]) -> Mapping[str, Tier]:
    tiers = c.to_mapping(tiers, "tiers")  # a pandas Series
    if not isinstance(tiers, Mapping):
        raise ValidationError.single(
            "tiers", f"{c.show(tiers)} is not a mapping of customer id to tier", code="type"
        )
    out: dict[str, Tier] = {}
    problems: list[Problem] = []
    for cid, tier in tiers.items():
        value = c.to_enum(Tier, tier)
        if not isinstance(value, Tier):
            problems.append(
                Problem(
                    path=f"tiers[{cid!r}]",
                    code="choice",
                    message=f"{c.show(tier)} is not a tier; allowed: 'A', 'B', 'C'",
                )
            )
        else:
            out[cid] = value
    if problems:
        raise ValidationError(problems)
    return out


def _month(when: dt.date | None) -> str | None:
    return None if when is None else _MONTHS[when.month - 1].replace("YYYY", f"{when.year:04d}")


def _quarter(when: dt.date | None) -> str | None:
    return None if when is None else f"{when.year:04d}-Q{(when.month - 1) // 3 + 1}"


def _tier(opp: Opportunity, tiers: Mapping[str, Tier]) -> str | None:
    tier = tiers.get(opp.customer_id)
    return None if tier is None else tier.value


_MONTHS = tuple(f"YYYY-{m:02d}" for m in range(1, 13))
_Getter = Callable[[Opportunity, ForecastCategory, "dt.date | None", Mapping[str, Tier]], Any]
#: How each dimension reads a deal: (deal, stage category, date it counts on, tiers) -> key part.
# Each getter takes every argument so that the loop can call them alike.
_GETTERS: Mapping[str, _Getter] = {
    "owner": lambda o, cat, when, tiers: o.owner,  # noqa: ARG005
    "stage": lambda o, cat, when, tiers: o.stage,  # noqa: ARG005
    "category": lambda o, cat, when, tiers: cat.value,  # noqa: ARG005
    "pipeline": lambda o, cat, when, tiers: o.pipeline,  # noqa: ARG005
    "month": lambda o, cat, when, tiers: _month(when),  # noqa: ARG005
    "quarter": lambda o, cat, when, tiers: _quarter(when),  # noqa: ARG005
    "customer": lambda o, cat, when, tiers: o.customer_id,  # noqa: ARG005
    "tier": lambda o, cat, when, tiers: _tier(o, tiers),  # noqa: ARG005
}


def _sortable(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((k is None, "" if k is None else str(k)) for k in key)


def category_rollup(forecast: WeightedForecast) -> Mapping[tuple[str, str], Money]:
    """
    Cumulative totals per forecast category and currency, from a forecast
    grouped by ``category``: closed; commit = commit + closed; best case =
    best case + commit + closed; pipeline = all of them.  Cost: O(g c) for g lines and c currencies.
    """
    c.require(forecast, WeightedForecast, "a WeightedForecast", "forecast")
    if "category" not in forecast.by:
        raise ValidationError.single("forecast", "group the forecast by 'category' first", code="state")
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
