"""
A/B/C segmentation by the Pareto (80/20) rule.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import cast

import attrs

from .. import _checks as c
from .._money import Money
from .._report import Report
from ..entities import Customer, Tier
from ..errors import CurrencyMismatchError, Problem, ValidationError
from ._args import MAX_PROBLEMS, function_of_one, wrong_item

#: Values must be below 10 ** MAX_DIGITS.
MAX_DIGITS = 50
# Exact enough for every comparison of cumulative values with a threshold
# times the total (values are below 10 ** MAX_DIGITS).
_EXACT = decimal.Context(prec=120, traps=[decimal.InvalidOperation, decimal.Overflow])
# Shares for people: the usual 28 significant digits.

Measure = Money | Decimal | int | float


@attrs.frozen(kw_only=True)
class AbcRow:
    """
    One customer's place in the ranking.

    *cumulative_before* is the share of the total value held by the customers
    ranked above this one; it decides the tier.
    """

    id: str
    rank: int
    value: Decimal
    share: Fraction
    cumulative_before: Fraction
    tier: Tier


@attrs.frozen(kw_only=True)
class TierSummary:
    """
    How many customers a tier holds and what share of the value.
    """

    tier: Tier
    count: int
    value: Decimal
    share_of_value: Fraction
    share_of_customers: Fraction


@attrs.frozen(kw_only=True, repr=False)
class AbcResult(Report):
    """
    Every customer's tier, the ranking behind it, and a summary per tier.

    *currency* is set when the values were money.  ``result.tiers`` maps
    customer id to tier; ``rows()`` yields the ranking; ``str(result)`` is
    the summary per tier.  It is a :class:`~funnelkit.Report`:
    ``to_records()`` and ``to_frame()`` give one row per customer, in rank
    order (the value as money with its currency when the values were money).
    """

    a: Decimal
    b: Decimal
    total: Decimal
    currency: str | None
    summary: tuple[TierSummary, ...]
    tiers: Mapping[str, Tier] = attrs.field(eq=False)
    # The ranking, as parallel tuples (cheap for a million customers).
    _ids: tuple[str, ...]
    _values: tuple[Decimal, ...]
    _befores: tuple[Decimal, ...]

    def __len__(self) -> int:
        return len(self._ids)

    def tier_of(self, customer_id: str) -> Tier:
        """
        The tier of *customer_id*; a clear error for an id that was not graded.
        Cost: O(1).
        """
        try:
            return self.tiers[customer_id]
        except (KeyError, TypeError):
            raise ValidationError.single(
                "customer_id", f"{c.show(customer_id)} was not graded", code="reference"
            ) from None

    def rows(self) -> Iterator[AbcRow]:
        """
        The ranking, most valuable first.  Cost: O(n) in the number of customers.
        """
        total = self.total
        for rank, (cid, value, before) in enumerate(
            zip(self._ids, self._values, self._befores, strict=True), 1
        ):
            yield AbcRow(
                id=cid,
                rank=rank,
                value=value,
                share=Fraction(value) / Fraction(total),
                cumulative_before=Fraction(before) / Fraction(total),
                tier=self.tiers[cid],
            )

    def _summary(self) -> str:
        unit = f" {self.currency}" if self.currency else ""
        tiers = ", ".join(
            f"{s.tier.value} {s.count:,} ({float(s.share_of_value):.1%} of value)" for s in self.summary
        )
        return f"{c.counted(len(self), 'customer')}, total {self.total:f}{unit}; {tiers}"

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per customer, in rank order; the value as money when the
        values were money.
        """
        currency = self.currency
        for r in self.rows():
            yield {
                "id": r.id,
                "rank": r.rank,
                "value": r.value if currency is None else Money(amount=r.value, currency=currency),
                "share": r.share,
                "cumulative_before": r.cumulative_before,
                "tier": r.tier.value,
            }

    def __str__(self) -> str:
        unit = f" {self.currency}" if self.currency else ""
        lines = [
            f"A/B/C of {len(self)} customers, total {self.total:f}{unit} (A < {self.a:%}, B < {self.b:%})"
        ]
        for s in self.summary:
            lines.append(
                f"  {s.tier.value}: {s.count:>7} customers ({float(s.share_of_customers):>7.1%}) "
                f"hold {s.value:f}{unit} ({float(s.share_of_value):.1%})"
            )
        return "\n".join(lines)


def _threshold(name: str, value: object) -> tuple[Decimal | None, Problem | None]:
    number = c.to_decimal(value)  # type: ignore[arg-type]
    if not isinstance(number, Decimal) or not number.is_finite() or not Decimal(0) < number <= Decimal(1):
        code = "range" if isinstance(number, Decimal) else "type"
        return None, Problem(path=name, code=code, message=f"{c.show(value)} is not a share in (0, 1]")
    return number, None


def _amounts(
    items: Iterable[tuple[object, object]], *, name: str, keyed: bool, value_field: str = "value"
) -> tuple[list[str], list[Decimal], str | None]:
    """
    Check and convert (id, value) pairs; every problem is reported.

    Paths name the argument *name*: ``values['c1']`` for a mapping (*keyed*),
    ``values[3].id`` / ``values[3].value`` for a sequence of pairs.
    """
    ids: list[str] = []
    values: list[Decimal] = []
    currency: str | None = None
    seen: set[str] = set()
    problems: list[Problem] = []
    for i, pair in enumerate(items):
        if len(problems) >= MAX_PROBLEMS:
            break
        if not (isinstance(pair, tuple) and len(pair) == 2):
            problems.append(
                Problem(
                    path=f"{name}[{i}]", code="type", message=f"{c.show(pair)} is not an (id, value) pair"
                )
            )
            continue
        cid, value = pair
        value = c.plain(value)  # a numpy int as an int
        where = f"{name}[{c.show(cid)}]" if keyed else f"{name}[{i}]"
        id_path, value_path = (
            (f"{where} (key)", where) if keyed else (f"{where}.id", f"{where}.{value_field}")
        )
        id_problem = c.identifier(cid)
        if id_problem is not None:
            problems.append(id_problem.prefixed(id_path))
        elif cid in seen:
            problems.append(
                Problem(path=id_path, code="duplicate", message=f"{cid!r} appears twice; each customer once")
            )
        number, currency = _number(value, currency)
        problem = _value_problem(value, number, value_path)
        if problem is not None:
            problems.append(problem)
        else:
            ids.append(cid)  # type: ignore[arg-type]
            values.append(cast("Decimal", number))  # checked by _value_problem
        if id_problem is None:  # a bad id may not even hash
            seen.add(cid)  # type: ignore[arg-type]
    if problems:
        raise ValidationError(problems)
    return ids, values, currency


def _number(value: object, currency: str | None) -> tuple[object, str | None]:
    """
    *value* as a number to check (a Decimal when it reads as one), and the currency of the values
    so far; Money and plain numbers do not mix.
    """
    if isinstance(value, Money):
        if currency is None:
            currency = value.currency
        elif value.currency != currency:
            raise CurrencyMismatchError("rank", currency, value.currency)
        return value.amount, currency
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        if currency is not None:
            raise CurrencyMismatchError("rank", currency, "a plain number")
        return c.to_decimal(value), currency
    return value, currency


def _value_problem(value: object, number: object, value_path: str) -> Problem | None:
    """Why *value* (read as *number*) cannot be ranked: not a finite number, negative or too large."""
    if not isinstance(number, Decimal) or not number.is_finite():
        return Problem(
            path=value_path,
            code="range" if isinstance(number, Decimal | float) else "type",
            message=f"{c.show(value)} is not a finite number or Money",
        )
    if number < 0:
        return Problem(
            path=value_path, code="range", message=f"{c.show(value)} is negative; values must be >= 0"
        )
    if number and number.adjusted() >= MAX_DIGITS:
        msg = f"{c.show(value)} is too large; values must be below 1e{MAX_DIGITS}"
        return Problem(path=value_path, code="limit", message=msg)
    return None


def abc(
    values: Mapping[str, Measure] | Iterable[tuple[str, Measure]],
    *,
    a: Decimal | str | float = "0.8",
    b: Decimal | str | float = "0.95",
) -> AbcResult:
    """
    Grade customers A, B or C by their share of the total value.

    *values* maps each customer id to its value (revenue, profit contribution,
    purchasing power, or any score): ``Money`` in one currency, or plain
    numbers.  Customers are ranked by value, highest first, ties by id; a
    customer is **A** while the share of the value held by the customers
    ranked above it is below *a* (80 %), **B** while it is below *b* (95 %),
    and **C** after.  So the A tier is the smallest set of top customers that
    reaches 80 % of the value.

    >>> r = abc({"c1": 500, "c2": 200, "c3": 100, "c4": 60, "c5": 40, "c6": 30, "c7": 30, "c8": 20,
    ...          "c9": 15, "c10": 5})
    >>> print(r)
    A/B/C of 10 customers, total 1000 (A < 80%, B < 95%)
      A:       3 customers (  30.0%) hold 800 (80.0%)
      B:       4 customers (  40.0%) hold 160 (16.0%)
      C:       3 customers (  30.0%) hold 40 (4.0%)
    >>> r.tier_of("c4")
    <Tier.B: 'B'>

    Values must be below ``1e50``.  Cost: O(n log n) in the number of customers.
    """
    return _grade(values, a=a, b=b, name="values")


def _grade(
    values: Mapping[str, Measure] | Iterable[tuple[str, Measure]],
    *,
    a: Decimal | str | float,
    b: Decimal | str | float,
    name: str,
    value_field: str = "value",
) -> AbcResult:
    """
    :func:`abc`, with problems reported under the caller's argument *name*.
    """
    problems = []
    a_value, p = _threshold("a", a)
    if p:
        problems.append(p)
    b_value, p = _threshold("b", b)
    if p:
        problems.append(p)
    if a_value is not None and b_value is not None and a_value > b_value:
        problems.append(
            Problem(path="b", code="order", message=f"{b_value} is below a={a_value}; need a <= b")
        )
    if problems:
        raise ValidationError(problems)
    assert a_value is not None  # noqa: S101 - checked above
    assert b_value is not None  # noqa: S101
    values = c.to_mapping(values, name)  # a pandas Series
    pairs = values.items() if isinstance(values, Mapping) else values
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        raise ValidationError.single(
            name, f"{c.show(values)} is not a mapping or (id, value) pairs", code="type"
        )
    ids, amounts, currency = _amounts(
        pairs, name=name, keyed=isinstance(values, Mapping), value_field=value_field
    )
    if not ids:
        raise ValidationError.single(name, "no customers to grade", code="empty")
    order = sorted(range(len(ids)), key=lambda i: ids[i])  # ties by id ...
    order.sort(key=lambda i: amounts[i], reverse=True)  # ... under value, highest first (stable)
    total = Decimal(0)
    for v in amounts:
        total = _EXACT.add(total, v)
    if not total:
        raise ValidationError.single(name, "every value is 0; there is no share to grade by", code="range")
    a_cut = _EXACT.multiply(a_value, total)
    b_cut = _EXACT.multiply(b_value, total)
    tiers: dict[str, Tier] = {}
    ranked_ids, ranked_values, befores = [], [], []
    counts = dict.fromkeys(Tier, 0)
    sums = dict.fromkeys(Tier, Decimal(0))
    before = Decimal(0)
    add = _EXACT.add
    tier_a, tier_b, tier_c = Tier.A, Tier.B, Tier.C
    for i in order:
        cid, value = ids[i], amounts[i]
        tier = tier_a if before < a_cut else tier_b if before < b_cut else tier_c
        tiers[cid] = tier
        ranked_ids.append(cid)
        ranked_values.append(value)
        befores.append(before)
        counts[tier] += 1
        sums[tier] = add(sums[tier], value)
        before = add(before, value)
    n = len(ids)
    summary = tuple(
        TierSummary(
            tier=t,
            count=counts[t],
            value=sums[t],
            share_of_value=Fraction(sums[t]) / Fraction(total),
            share_of_customers=Fraction(counts[t], n),
        )
        for t in Tier
    )
    return AbcResult(
        a=a_value,
        b=b_value,
        total=total,
        currency=currency,
        summary=summary,
        tiers=MappingProxyType(tiers),
        ids=tuple(ranked_ids),
        values=tuple(ranked_values),
        befores=tuple(befores),
    )


_CUSTOMER_FIELDS = frozenset(f.name for f in attrs.fields(Customer))


def abc_customers(
    customers: Iterable[Customer],
    *,
    value: Callable[[Customer], Measure | None] | str = "purchasing_power",
    a: Decimal | str | float = "0.8",
    b: Decimal | str | float = "0.95",
) -> AbcResult:
    """
    :func:`abc` over customers, valued by *value*: the name of a Customer
    field (``"purchasing_power"``) or a function of the customer (for
    revenue or profit kept by the host).  A customer whose value is ``None``
    is an error: grade only customers whose value is known.

    Returns the result; ``attrs.evolve(customer, tier=result.tier_of(customer.id))``
    records a tier on a customer.

    Cost: O(n log n) in the number of customers, plus one call of *value*
    per customer.
    """
    c.require_iterable(customers, "Customer", "customers")
    measure: Callable[[Customer], Measure | None]
    if isinstance(value, str):
        if value not in _CUSTOMER_FIELDS:
            raise ValidationError.single("value", f"{c.show(value)} is not a Customer field", code="choice")
        field = value

        def measure(cust: Customer) -> Measure | None:
            return getattr(cust, field)  # type: ignore[no-any-return]

    elif callable(value):
        measure = function_of_one(value, "a Customer (its value)", "value")
    else:
        raise ValidationError.single(
            "value", f"{c.show(value)} is neither a field name nor a function", code="type"
        )
    pairs = []
    problems = []
    for i, cust in enumerate(customers):
        if not isinstance(cust, Customer):
            problems.append(wrong_item(cust, Customer, f"customers[{i}]"))
        else:
            v = measure(cust)
            if v is None:
                problems.append(
                    Problem(
                        path=f"customers[{i}]",
                        code="missing",
                        message=f"{cust.id!r} has no value to grade by",
                    )
                )
            else:
                pairs.append((cust.id, v))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise ValidationError(problems)
    return _grade(pairs, a=a, b=b, name="customers", value_field=value if isinstance(value, str) else "value")
