"""
The weighted forecast: amount x stage probability, rounded per deal, summed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, cast

import attrs

from .. import _checks as c
from .. import _columns
from .._columns import Column
from .._money import _CONTEXT, MAX_INTEGER_DIGITS, Money, currency_minor_units, currency_problem
from .._money import _make as _money_of
from .._report import Report
from .._splits import CreditSplits, Split, splits_of
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


@attrs.frozen(kw_only=True)
class WeightedPipeline(c.Checked):
    """
    A forecaster for :func:`~funnelkit.forecast.backtest`: the weighted
    pipeline of the deals it is given (amount x stage probability, each
    deal rounded half-even to the minor unit) in *currency*, exactly
    ``weighted_forecast(deals, pipeline, by=()).total(currency)``; deals
    in other currencies are left out, as ``total`` leaves them out.

    Given a history kept as columns
    (:class:`~funnelkit.stages.HistoryColumns`), ``backtest`` works this
    forecast out on the columns for every cut-off at once, without
    building the deals of each cut-off.

    >>> import datetime as dt
    >>> from funnelkit import Money, Opportunity
    >>> from funnelkit.stages import default_pipeline
    >>> def deal(stage, amount, currency="USD"):
    ...     t = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
    ...     return Opportunity(id=stage, customer_id="c", owner="ann", pipeline="default", stage=stage,
    ...                        created_at=t, stage_entered_at=t, amount=Money.of(amount, currency))
    >>> forecast = WeightedPipeline(pipeline=default_pipeline(), currency="USD")
    >>> forecast([deal("contact", "50.05"), deal("negotiation", 2000), deal("proposal", 70, "EUR")])
    Money('1805.00', 'USD')
    """

    pipeline: Pipeline = attrs.field(metadata=c.check(c.instance_of(Pipeline, "a Pipeline")))
    currency: str = attrs.field(metadata=c.check(currency_problem))

    def __call__(self, opportunities: Iterable[Opportunity]) -> Money:
        """
        The weighted pipeline of *opportunities* in the forecaster's currency.

        Cost: O(n) for n deals.
        """
        return weighted_forecast(opportunities, self.pipeline, by=()).total(self.currency)


def weighted_forecast(
    opportunities: Iterable[Opportunity],
    pipelines: Pipeline | Mapping[str, Pipeline],
    *,
    by: Iterable[str] = ("owner",),
    tz: dt.tzinfo | str = "UTC",
    rates: Mapping[str, Decimal] | None = None,
    to_currency: str | None = None,
    tiers: Mapping[str, Tier | str] | None = None,
    splits: CreditSplits | Iterable[Split] | None = None,
) -> WeightedForecast:
    """
    Expected revenue = amount x stage probability, per deal rounded to the
    currency's minor unit (half-even, once, from the exact product), then
    summed per group.  Cost: O(n + g log g) for n deals and g groups.

    Open deals count at their stage's probability and are dated by their
    expected close; won deals count in full, dated when they were won; lost
    deals and deals without an amount are left out.  Groups: any of
    ``owner``, ``stage``, ``category`` (the stage's forecast category, or
    the rep's override in ``forecast_category`` while the deal is open),
    ``pipeline``, ``month`` and
    ``quarter`` (local to *tz*; ``None`` for an open deal with no expected
    close), ``customer``, ``tier`` (the customer's A/B/C tier from *tiers*,
    customer id to tier, e.g. ``abc(...).tiers``; ``None`` when not graded).

    Currencies are never summed raw: each gets its own lines, unless *rates*
    (currency -> rate into *to_currency*) convert every amount first; a deal
    is converted, then weighted and rounded.

    With *splits* (:class:`~funnelkit.CreditSplits`, or the
    :class:`~funnelkit.Split` records to build one), a split deal counts
    for each of its reps under ``owner``: its amount and its weighted
    amount allocated by their shares in whole minor units (so the lines
    still add up to the same totals), and the deal counted once in each
    rep's line.  Without ``owner`` among the groups, splits change nothing.

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
    credit = splits_of(splits)
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
        credit=credit if "owner" in dims else None,
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
    credit: CreditSplits | None = None,
) -> dict[tuple[tuple[Any, ...], str], list[Any]]:
    """Deals, amount and weighted amount per (group key, currency): the hot loop, kept whole for speed."""
    dated = "month" in dims or "quarter" in dims
    acc: dict[tuple[tuple[Any, ...], str], list[Any]] = {}
    getters = [_GETTERS[d] for d in dims]
    one = getters[0] if len(getters) == 1 else None  # the usual grouping: one getter, no list built
    add = _ADD
    multiply = _CONTEXT.multiply
    quantizers: dict[str, Decimal] = {}
    probability: dict[tuple[str, str], tuple[Decimal, ForecastCategory]] = {}
    split = frozenset(credit.deals) if credit is not None else frozenset()
    owner_at = dims.index("owner") if split else -1
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
        if not getters:
            key: tuple[Any, ...] = ()
        elif one is not None:
            key = (one(opp, category, when, tier_of),)
        else:
            key = tuple([f(opp, category, when, tier_of) for f in getters])
        if opp.id in split:  # credited to each rep by share: the parts add up to the deal's amounts
            minor = currency_minor_units(currency)
            parts = cast("CreditSplits", credit)._parts  # noqa: SLF001 - the forecast's own trusted path
            shares = (
                cast("list[Any]", parts(opp.id, amount, minor)),
                cast("list[Any]", parts(opp.id, weighted, minor)),
            )
            _credit(acc, key, owner_at, currency, shares)
            continue
        got = acc.get((key, currency))
        if got is None:
            acc[key, currency] = [1, amount, weighted]
        else:
            got[0] += 1
            got[1] = add(got[1], amount)
            got[2] = add(got[2], weighted)
    return acc


def _credit(
    acc: dict[tuple[tuple[Any, ...], str], list[Any]],
    key: tuple[Any, ...],
    owner_at: int,
    currency: str,
    parts: tuple[list[tuple[str, Decimal]], list[tuple[str, Decimal]]],
) -> None:
    for (rep, a), (_, w) in zip(*parts, strict=True):
        mine = (*key[:owner_at], rep, *key[owner_at + 1 :])
        got = acc.get((mine, currency))
        if got is None:
            acc[mine, currency] = [1, a, w]
        else:
            got[0] += 1
            got[1] = _ADD(got[1], a)
            got[2] = _ADD(got[2], w)


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
    dims: tuple[str, ...], acc: Mapping[tuple[tuple[Any, ...], str], list[Any]], *, checked: bool = True
) -> WeightedForecast:
    """
    The forecast of the sums *acc*, lines sorted by key and currency; with
    ``checked=False`` the amounts are known to be valid money (whole minor
    units, far within the limits) and are not checked again.
    """
    money = _checked_money if checked else _money_of
    lines = tuple(
        ForecastLine(
            key=key,
            currency=cur,
            deals=n,
            amount=money(total, cur),
            weighted=money(w, cur),
        )
        for (key, cur), (n, total, w) in sorted(acc.items(), key=lambda kv: (_sortable(kv[0][0]), kv[0][1]))
    )
    return WeightedForecast(by=dims, lines=lines)


def _checked_money(amount: Decimal, currency: str) -> Money:
    return Money(amount=amount, currency=currency)


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


def _category_of(opp: Opportunity, stage_category: ForecastCategory) -> ForecastCategory:
    """The deal's forecast category: its rep's override while it is open, else its stage's."""
    override = opp.forecast_category
    return stage_category if override is None or opp.status is not _OPEN else override


_OPEN = OpportunityStatus.OPEN

#: How each dimension reads a deal: (deal, stage category, date it counts on, tiers) -> key part.
# Each getter takes every argument so that the loop can call them alike.
_GETTERS: Mapping[str, _Getter] = {
    "owner": lambda o, cat, when, tiers: o.owner,  # noqa: ARG005
    "stage": lambda o, cat, when, tiers: o.stage,  # noqa: ARG005
    "category": lambda o, cat, when, tiers: _category_of(o, cat).value,  # noqa: ARG005
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


def weighted_forecast_columns(
    amounts_minor: Column,
    probabilities: Column,
    *,
    currency: str | Column,
    by: Mapping[str, Column] | None = None,
) -> WeightedForecast:
    """
    The weighted forecast of :func:`weighted_forecast` from ready columns,
    one row per deal: its amount as an integer count of minor units (cents),
    its probability, its currency and its group keys.  The result is the
    same, exactly: each deal's ``amount x probability`` rounded half-even to
    the minor unit, then summed per group and currency, in integers.

    *amounts_minor*, *probabilities* and the columns of *by* are lists,
    tuples, numpy arrays or pandas (polars) ``Series`` of the same length,
    lined up by position (a pandas index is not looked at).
    An amount is at least 0, as a deal's is.  A probability is read as
    :func:`weighted_forecast` reads one (a float as its shortest repr:
    ``0.3`` is 3/10), with at most 20 decimal places.
    *currency* is one ISO code for every row, or a column of codes.  *by*
    maps each grouping name to its column of keys, in the order of the
    result's ``by`` (any names; a missing key -- None, NaN, pandas' NA -- is
    ``None``).  Pass won deals with probability 1 and leave lost deals out, as
    :func:`weighted_forecast` does; the result merges
    (:meth:`WeightedForecast.merge`) with any forecast of the same grouping.

    With numpy installed (an optional extra), the rows are weighted and
    summed as integer arrays (and grouped by pandas' hashing when pandas is
    installed); without it, row by row in Python.  Both give the result of
    the exact Decimal arithmetic of :func:`weighted_forecast`: a float column
    whose floats need more than 15 decimal places, products beyond 2**63
    and keys numpy cannot group take exact Python integers.

    Cost: O(n + g log g) for n rows and g groups: about 0.1 us a row with
    numpy (pandas' own speed on a ready frame); without numpy somewhat less
    than the object path's per deal.

    >>> f = weighted_forecast_columns([100005, 5000, 1999], [0.4, 1, 0.5], currency="USD",
    ...                               by={"owner": ["ann", "bob", "ann"]})
    >>> [(ln.key, ln.deals, ln.weighted) for ln in f.lines]  # 400.02 + 10.00 (9.995, half-even)
    [(('ann',), 2, Money('410.02', 'USD')), (('bob',), 1, Money('50.00', 'USD'))]
    """
    np = _columns.module("numpy")
    problems: list[Problem] = []
    columns: dict[str, Any] = {}
    for path, value in (("amounts_minor", amounts_minor), ("probabilities", probabilities)):
        try:
            columns[path] = _columns.read(value, path, np)
        except ValidationError as e:
            problems.extend(e.problems)
    one_currency: str | None = None
    if isinstance(currency, str):
        problem = currency_problem(currency)
        if problem is not None:
            problems.append(problem.prefixed("currency"))
        one_currency = currency
    else:
        try:
            columns["currency"] = _columns.read(currency, "currency", np)
        except ValidationError as e:
            problems.extend(e.problems)
    names: list[str] = []
    if by is not None:
        groups = c.to_mapping(by, "by")
        if not isinstance(groups, Mapping):
            problems.append(c.wrong_type(by, "a mapping of name to column").prefixed("by"))
        else:
            for name, value in groups.items():
                path = f"by[{c.show(name)}]"
                problem = c.identifier(name)
                if problem is not None:
                    problems.append(problem.prefixed(f"{path} (key)"))
                    continue
                try:
                    columns[path] = _columns.read(value, path, np, keep_pandas=True)
                except ValidationError as e:
                    problems.extend(e.problems)
                    continue
                names.append(name)
    if problems:
        raise ValidationError(problems)
    n = _columns.rows(columns)
    keys = [columns[f"by[{c.show(name)}]"] for name in names]
    currencies = columns.get("currency")
    acc = None
    if np is not None and n:
        acc = _fast_columns(
            np,
            columns["amounts_minor"],
            columns["probabilities"],
            one_currency=one_currency,
            currencies=currencies,
            keys=keys,
        )
    if acc is not None:
        return _forecast(tuple(names), acc, checked=False)  # sums of int64 cents, checked below 10**30
    acc = _rows_exact(
        _columns.as_list(columns["amounts_minor"]),
        _columns.as_list(columns["probabilities"]),
        one_currency=one_currency,
        currencies=None if currencies is None else _columns.as_list(currencies),
        keys=[_columns.as_list(k) for k in keys],
        names=names,
    )
    return _forecast(tuple(names), acc)


def _rows_exact(
    amounts: list[Any],
    probabilities: list[Any],
    *,
    one_currency: str | None,
    currencies: list[Any] | None,
    keys: list[list[Any]],
    names: list[str],
) -> dict[tuple[tuple[Any, ...], str], list[Any]]:
    """
    :func:`weighted_forecast_columns` row by row in Python integers (the
    oracle of the numpy path): every problem is reported with its row.  A
    row of plain values takes a few dictionary lookups; any other row is
    read and checked in full by :func:`_checked_row`.
    """
    problems: list[Problem] = []
    ratios: dict[tuple[type, object], tuple[int, int] | Problem] = {}
    units_of: dict[str, int | Problem] = {}
    limits: dict[str, int] = {}  # a known currency -> the first count of its minor units past money's limit
    sums: dict[tuple[tuple[Any, ...], str], list[int]] = {}
    paths = [f"by[{c.show(name)}]" for name in names]
    column = [one_currency] * len(amounts) if currencies is None else currencies
    for i, row in enumerate(zip(amounts, probabilities, column, *keys, strict=True)):
        amount, p, cur = row[0], row[1], row[2]
        try:
            ratio = ratios[type(p), p]
            limit = limits[cur] if type(cur) is str else None
            key = tuple([k if type(k) is str else _columns.key_of(k) for k in row[3:]])
            plain = type(amount) is int and limit is not None and 0 <= amount < limit and type(ratio) is tuple
            got = sums.get((key, cur)) if plain else None
        except (KeyError, TypeError):  # a value met first, or one that does not hash
            plain = False
        if not plain:
            checked = _checked_row(i, row, paths, ratios, units_of)
            if isinstance(checked, list):
                problems.extend(checked)
                if len(problems) >= MAX_PROBLEMS:
                    break
                continue
            amount, ratio, cur, key = checked
            limits[cur] = 10 ** (MAX_INTEGER_DIGITS + cast("int", units_of[cur]))
            got = sums.get((key, cur))
        numerator, denominator = ratio  # type: ignore[misc]  # a ratio: a problem took the other branch
        weighted, twice = divmod(amount * numerator, denominator)  # half-even, inline: the hot loop
        twice += twice
        if twice > denominator or (twice == denominator and weighted & 1):
            weighted += 1
        if got is None:
            sums[key, cur] = [1, amount, weighted]
        else:
            got[0] += 1
            got[1] += amount
            got[2] += weighted
    if problems:
        raise ValidationError(problems)
    return {
        (key, cur): [n, _from_minor(total, cur), _from_minor(weighted, cur)]
        for (key, cur), (n, total, weighted) in sums.items()
    }


def _checked_row(
    i: int,
    row: tuple[Any, ...],
    paths: list[str],
    ratios: dict[tuple[type, object], tuple[int, int] | Problem],
    units_of: dict[str, int | Problem],
) -> list[Problem] | tuple[int, tuple[int, int], str, tuple[Any, ...]]:
    """
    Row *i* (amount, probability, currency, keys...) read in full: its
    problems, or ``(minor units, probability as a ratio, currency, key)``.
    """
    amount, p, raw_currency = row[0], row[1], c.plain(row[2])
    problems: list[Problem] = []
    cur = str(raw_currency) if isinstance(raw_currency, str) else raw_currency  # numpy's str as a str
    units = _units(cur, units_of)
    if isinstance(units, Problem):
        problems.append(units.prefixed(f"currency[{i}]"))
    minor = c.as_int(amount)
    if minor is None:
        problems.append(_not_minor(amount).prefixed(f"amounts_minor[{i}]"))
    elif minor < 0:
        msg = f"{c.show(minor)} is negative; a deal's amount is at least 0"
        problems.append(Problem(path=f"amounts_minor[{i}]", code="range", message=msg))
    elif isinstance(units, int) and minor >= 10 ** (MAX_INTEGER_DIGITS + units):
        msg = f"{c.show(minor)} minor units has more than {MAX_INTEGER_DIGITS} digits before the point"
        problems.append(Problem(path=f"amounts_minor[{i}]", code="limit", message=msg))
    ratio = _cached_ratio(p, ratios)
    if isinstance(ratio, Problem):
        problems.append(ratio.prefixed(f"probabilities[{i}]"))
    key = tuple([_columns.key_of(k) for k in row[3:]])
    for path, part in zip(paths, key, strict=True):
        if not _hashable(part):
            problems.append(c.wrong_type(part, "a hashable key").prefixed(f"{path}[{i}]"))
    if problems:
        return problems
    return cast("int", minor), cast("tuple[int, int]", ratio), cast("str", cur), key


def _units(currency: object, known: dict[str, int | Problem]) -> int | Problem:
    """The minor units of *currency*, or what is wrong with it (remembered per code in *known*)."""
    if not isinstance(currency, str):
        return cast("Problem", currency_problem(currency))
    got = known.get(currency)
    if got is None:
        problem = currency_problem(currency)
        got = known[currency] = currency_minor_units(currency) if problem is None else problem
    return got


def _not_minor(amount: object) -> Problem:
    """The problem of an amount that is not an integer count of minor units."""
    if isinstance(amount, float):
        msg = f"{c.show(amount)} is a float; amounts are integer counts of minor units (cents)"
        return Problem(path="", code="type", message=msg)
    return c.wrong_type(amount, "an int (a count of minor units)")


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except Exception:  # noqa: BLE001 - any failure to hash makes it no key
        return False
    return True


def _cached_ratio(
    p: object, cache: dict[tuple[type, object], tuple[int, int] | Problem]
) -> tuple[int, int] | Problem:
    """*p* read as a probability (see :func:`_ratio`), remembered per (type, value) when it hashes."""
    if not _hashable(p):
        return _ratio(p)
    key = (type(p), p)
    got = cache.get(key)
    if got is None:
        got = cache[key] = _ratio(p)
    return got


def _ratio(p: object) -> tuple[int, int] | Problem:
    """
    *p* as an exact probability ``numerator / 10**places`` (as weighted_forecast
    reads a stage's probability), or what is wrong with it.
    """
    number = c.to_decimal(c.plain(p))  # type: ignore[arg-type]
    problem = c.probability(number)
    if problem is not None:
        return problem
    places = max(0, -_columns.exponent(number))
    return int(number.scaleb(places, _CONTEXT)), 10**places


def _from_minor(minor: int, currency: str) -> Decimal:
    """*minor* units of *currency* as a Decimal amount (exact, whatever the caller's context)."""
    return Decimal(minor).scaleb(-currency_minor_units(currency), _CONTEXT)


def _fast_columns(
    np: Any,
    amounts: Any,
    probabilities: Any,
    *,
    one_currency: str | None,
    currencies: Any,
    keys: list[Any],
) -> dict[tuple[tuple[Any, ...], str], list[Any]] | None:
    """
    :func:`weighted_forecast_columns` on numpy arrays; ``None`` for any
    column it does not read exactly (the row-by-row path then reads every
    row and names each bad one).
    """
    minor = _columns.int64(np, amounts)
    if minor is None or not len(minor) or int(minor.min()) < 0:
        return None  # the row-by-row path names the negative amounts
    largest = int(minor.max())
    if largest * len(minor) >= 10**MAX_INTEGER_DIGITS:
        return None  # a sum might pass money's limit: the row-by-row path builds checked money
    ratio = _fast_ratio(np, probabilities)
    if ratio is None:
        return None
    numerators, places = ratio
    if currencies is None:
        currency_codes, currency_keys = np.zeros(len(minor), dtype=np.int64), [cast("object", one_currency)]
    else:
        found = _columns.factorize(np, currencies)
        if found is None or not all(isinstance(k, str) and currency_problem(k) is None for k in found[1]):
            return None
        currency_codes, currency_keys = found
    weighted, minor_floats = _fast_weighted(np, minor, numerators, 10**places, largest=largest)
    codes: list[Any] = []
    decoders: list[list[object]] = []
    for column in keys:
        found = _columns.factorize(np, column)
        if found is None:
            return None
        codes.append(found[0])
        decoders.append(found[1])
    codes.append(currency_codes)
    decoders.append(currency_keys)
    grouped = _group_codes(np, codes, [len(d) for d in decoders])
    if grouped is None:
        return None
    combined, groups, members = grouped
    counts = np.bincount(combined, minlength=groups).tolist()
    amount_sums = _columns.group_sums(np, combined, minor_floats, groups, largest=largest)
    weighted_sums = _columns.group_sums(np, combined, weighted, groups, largest=largest)  # |w| <= |amount|
    acc: dict[tuple[tuple[Any, ...], str], list[Any]] = {}
    exponents: dict[str, int] = {}
    for g, count in enumerate(counts):
        if not count:
            continue
        parts = [decoder[code] for decoder, code in zip(decoders, members(g), strict=True)]
        cur = cast("str", parts.pop())
        exponent = exponents.get(cur)
        if exponent is None:
            exponent = exponents[cur] = -currency_minor_units(cur)
        amount = Decimal(amount_sums[g]).scaleb(exponent, _CONTEXT)
        weight = Decimal(weighted_sums[g]).scaleb(exponent, _CONTEXT)
        got = acc.get((tuple(parts), cur))
        if got is None:  # two codes may share a key: None and NaN are both missing
            acc[tuple(parts), cur] = [count, amount, weight]
        else:
            got[0] += count
            got[1] = _ADD(got[1], amount)
            got[2] = _ADD(got[2], weight)
    return acc


def _fast_ratio(np: Any, probabilities: Any) -> tuple[Any, int] | None:
    """
    The probabilities as ``(numerators, places)``: exact decimals
    ``numerators / 10**places`` (whole float64 numbers below 2**52, or
    Python ints in an object array); ``None`` when one is not a probability
    or not a float or int column.
    """
    floats = _columns.float64(np, probabilities)
    if floats is not None:
        if len(floats) and not (float(floats.min()) >= 0 and float(floats.max()) <= 1):  # NaN fails too
            return None
        found = _columns.decimal_floats(np, floats)
        if found is not None:
            return found
        numerators, places = _columns.exact_decimals(np, floats)
        return (numerators, places) if places <= c.MAX_PROBABILITY_PLACES else None
    integers = _columns.int64(np, probabilities)
    if integers is not None and (
        not len(integers) or (int(integers.min()) >= 0 and int(integers.max()) <= 1)
    ):
        return integers.astype(np.float64), 0
    return None


def _fast_weighted(
    np: Any, minor: Any, numerators: Any, denominator: int, *, largest: int
) -> tuple[Any, Any]:
    """
    Each row's ``minor x numerator / denominator`` rounded half-even, and the
    amounts to sum: whole float64 numbers, or int64 (|result| <= |minor| <=
    *largest*).  In floats while every product stays below 2**52, in int64
    below 2**62, else in Python ints.
    """
    top = int(numerators.max()) if numerators.dtype == np.float64 else None
    if top is not None and largest * max(top, 1) < 1 << 52:
        amounts = minor.astype(np.float64)  # exact: below 2**52
        return _columns.half_even_floats(np, amounts * numerators, denominator), amounts
    if top is not None and largest * top < 1 << 62:  # room for the rounding's half
        return _columns.half_even(np, minor * numerators.astype(np.int64), denominator), minor
    rounded = [
        _columns.half_even_int(m * int(p), denominator)
        for m, p in zip(minor.tolist(), numerators.tolist(), strict=True)
    ]
    return np.array(rounded, dtype=np.int64), minor


def _group_codes(
    np: Any, codes: list[Any], sizes: list[int]
) -> tuple[Any, int, Callable[[int], list[int]]] | None:
    """
    One group code per row from the codes of each key column (mixed radix),
    compacted by ``numpy.unique`` when the radix space is much larger than
    the rows: ``(codes, number of groups, group -> each column's code)``.
    A column with a single code adds nothing to the radix.
    """
    strides = [max(1, size) for size in sizes]
    space = math.prod(strides)
    if space >= 1 << 62:
        return None
    combined = None
    for code, size in zip(codes, strides, strict=True):
        if size > 1:
            combined = code if combined is None else combined * size + code
    if combined is None:
        combined = np.zeros(len(codes[0]), dtype=np.int64)

    def split(value: int) -> list[int]:
        out = []
        for size in reversed(strides):
            value, part = divmod(value, size)
            out.append(part)
        return out[::-1]

    if space <= 4 * len(combined) + 1024:
        return combined, space, split
    distinct, inverse = np.unique(combined, return_inverse=True)
    firsts = distinct.tolist()
    return inverse.astype(np.int64, copy=False), len(firsts), lambda g: split(firsts[g])
