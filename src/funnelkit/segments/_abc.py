"""
A/B/C segmentation by the Pareto (80/20) rule.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, cast

import attrs

from .. import _checks as c
from .. import _columns
from .._columns import Column
from .._money import Money, currency_minor_units, currency_problem
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

    A grading from columns (:func:`abc_columns`) builds its ranking and its
    ``tiers`` mapping on first use; they compare, hash and write as the
    tuples and the mapping :func:`abc` builds at once.

    It does not merge: a tier is a place in the ranking of every customer
    (the cumulative share of the whole book), so the gradings of two parts
    say nothing of the whole's.  Grade the concatenated values once.
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
    a_value, b_value = _thresholds(a, b)
    values = c.to_mapping(values, name)  # a pandas Series
    pairs = values.items() if isinstance(values, Mapping) else values
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        raise ValidationError.single(
            name, f"{c.show(values)} is not a mapping or (id, value) pairs", code="type"
        )
    ids, amounts, currency = _amounts(
        pairs, name=name, keyed=isinstance(values, Mapping), value_field=value_field
    )
    return _ranked(ids, amounts, currency=currency, a_value=a_value, b_value=b_value, name=name)


def _thresholds(a: object, b: object) -> tuple[Decimal, Decimal]:
    """*a* and *b* checked: shares in (0, 1] with a <= b."""
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
    return a_value, b_value


def _ranked(
    ids: list[str],
    amounts: list[Decimal],
    *,
    currency: str | None,
    a_value: Decimal,
    b_value: Decimal,
    name: str,
) -> AbcResult:
    """The grading of checked, distinct *ids* by their *amounts* (the exact path)."""
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


def abc_columns(
    ids: Column,
    values: Column,
    *,
    a: Decimal | str | float = "0.8",
    b: Decimal | str | float = "0.95",
    currency: str | None = None,
    trusted: bool = False,
) -> AbcResult:
    """
    :func:`abc` from two ready columns: the customers' ids and their values,
    row by row (lists, tuples, numpy arrays or pandas/polars ``Series``).
    The result is the same, exactly: the same tiers, summary, total and
    ranking (ties by id).

    *values* are plain numbers (ints, or floats read by their shortest repr
    as :func:`abc` reads them), or, with *currency*, integer counts of that
    currency's minor units (cents): the result's values are then money, as
    when :func:`abc` is given ``Money``.

    The columns line up by position (a pandas index is not looked at).
    With numpy installed (an optional extra) the values are ranked as int64
    arrays (a float column as decimals of at most 15 places, scaled to
    integers, so written with the column's common number of places: 1.50
    beside 0.25); only the customers tied in value at the A or B cut are
    sorted by id.  The full ranking (``rows()``, ``to_records()``, ``to_dict()``)
    and the ``tiers`` mapping are built on first use.  Values numpy cannot
    hold exactly (a float needing more places, totals beyond 2**63) and
    Python without numpy take :func:`abc`'s exact path.

    The ids are checked as :func:`abc` checks them (non-empty, stripped,
    printable, at most 256 characters, each once); **trusted=True** skips
    these checks of the ids, for a column the host has already validated
    (its own primary key).  Garbage in, garbage out: a repeated id then
    leaves one tier per id in ``tiers``.  Values are always checked.

    Cost: O(n log n) for n customers: a numeric sort with numpy (about
    0.1 us a customer trusted, a few tenths of a microsecond with the checks
    of the ids); the ranking's O(n log n) Python sort on first use.

    >>> r = abc_columns(["c1", "c2", "c3", "c4"], [500, 300, 150, 50])
    >>> r.summary[0].count, r.tier_of("c2"), r.tier_of("c4")
    (2, <Tier.A: 'A'>, <Tier.C: 'C'>)
    """
    a_value, b_value = _thresholds(a, b)
    np = _columns.module("numpy")
    problems: list[Problem] = []
    columns: dict[str, Any] = {}
    for path, value in (("ids", ids), ("values", values)):
        try:
            columns[path] = _columns.read(value, path, np)
        except ValidationError as e:
            problems.extend(e.problems)
    if currency is not None:
        problem = currency_problem(currency)
        if problem is not None:
            problems.append(problem.prefixed("currency"))
    if not isinstance(trusted, bool):
        problems.append(c.wrong_type(trusted, "a bool").prefixed("trusted"))
    if problems:
        raise ValidationError(problems)
    n = _columns.rows(columns)
    if not n:
        raise ValidationError.single("values", "no customers to grade", code="empty")
    id_column = columns["ids"]
    if not trusted:
        id_column = _checked_ids(id_column, np)
    if np is not None:
        result = _fast_abc(
            np, id_column, columns["values"], currency=currency, a_value=a_value, b_value=b_value
        )
        if result is not None:
            return result
    amounts = _column_values(_columns.as_list(columns["values"]), currency)
    ids_read = _columns.as_list(id_column)
    return _ranked(ids_read, amounts, currency=currency, a_value=a_value, b_value=b_value, name="values")


def _checked_ids(column: Any, np: Any) -> list[str]:
    """
    The ids of *column* as a list, each checked as :func:`abc` checks an id
    (and each once): in bulk first, row by row to name the bad ones.
    """
    # a numpy array's own fresh list (as_list would copy it again)
    ids = column.tolist() if np is not None and isinstance(column, np.ndarray) else _columns.as_list(column)
    if _ids_look_fine(ids, np):
        return ids
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, cid in enumerate(ids):
        problem = c.identifier(cid)
        if problem is not None:
            problems.append(problem.prefixed(f"ids[{i}]"))
        elif cid in seen:
            msg = f"{cid!r} appears twice; each customer once"
            problems.append(Problem(path=f"ids[{i}]", code="duplicate", message=msg))
        else:
            seen.add(cid)
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise ValidationError(problems)
    return ids


def _ids_look_fine(ids: list[str], np: Any) -> bool:
    """
    Whether every id (a str) passes :func:`~funnelkit._checks.identifier` and
    no id repeats, checked in bulk: printable (the only printable blank is
    the space, so stripped means no space at either end), 1 to 256
    characters, distinct.  ``False`` sends the ids to the row-by-row check,
    which names the bad ones (and clears the good ones this test defers).
    """
    try:
        joined = "\x00".join(ids)  # a TypeError for an item that is not a str
    except TypeError:
        return False
    if not joined:
        return False  # one empty id
    if np is not None and joined.isascii():
        return _ascii_ids_look_fine(np, joined.encode("ascii"), len(ids))
    spaced = " ".join(ids)
    # an empty id, or a space at an id's end, shows as two spaces (or one at either end);
    # so does a valid id with two spaces inside: the row-by-row check then clears it
    if not spaced.isprintable() or "  " in spaced or spaced[0] == " " or spaced[-1] == " ":
        return False
    return max(map(len, ids)) <= c.MAX_ID_LENGTH and _distinct(ids, np)


def _ascii_ids_look_fine(np: Any, joined: bytes, n: int) -> bool:
    """
    :func:`_ids_look_fine` of *n* ASCII ids joined by NUL bytes, with numpy
    on the bytes (the id objects are not read again): the NULs are the only
    control bytes (so every id is printable), no id is empty, starts or
    ends with a space, or is longer than 256, and no two ids hash alike
    (:func:`_byte_hashes`).
    """
    if b"\x7f" in joined:
        return False  # DEL, a control character
    raw = np.frombuffer(joined, dtype=np.uint8)
    separators = np.flatnonzero(raw < 32)
    if len(separators) != n - 1:
        return False  # a control character inside an id
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    np.add(separators, 1, out=starts[1:])
    ends = np.empty(n, dtype=np.int64)
    ends[:-1] = separators
    ends[-1] = len(raw)
    del separators
    lengths = ends - starts
    if int(lengths.min()) < 1 or int(lengths.max()) > c.MAX_ID_LENGTH:
        return False
    ends -= 1  # each id's last character
    if bool((raw[starts] == 32).any()) or bool((raw[ends] == 32).any()):
        return False
    hashes = _byte_hashes(np, joined, starts, ends, lengths)
    hashes.sort()
    return not bool((hashes[1:] == hashes[:-1]).any())


# The bytes of 0 to 8 characters of a little-endian word, and the multiplier of the hash.
_MASKS = tuple((1 << 8 * k) - 1 for k in range(9))
_MIX = 0x9E3779B97F4A7C15


def _byte_hashes(np: Any, joined: bytes, starts: Any, lasts: Any, lengths: Any) -> Any:
    """
    A 64-bit hash of each id of *joined* (its *lengths* bytes from *starts*
    to *lasts*, the index of its last byte; it uses up *lasts* and
    *lengths*): its length and its bytes read eight at a time as words,
    straight from the buffer, the last word ending where the id ends (so every word lies inside the id; an id
    shorter than a word reads its bytes masked).  Equal ids hash alike; two
    ids hashing alike send the ids to the row-by-row check, which compares
    them.
    """
    words = -(-int(lengths.max()) // 8)
    short = int(lengths.min()) < 8
    if short:  # a short id's word may read past the last id
        buffer = np.zeros(len(joined) + 8, dtype=np.uint8)
        buffer[: len(joined)] = np.frombuffer(joined, dtype=np.uint8)
        masks = np.array(_MASKS, dtype=np.uint64)[np.minimum(lengths, 8)]
    else:
        buffer = np.frombuffer(joined, dtype=np.uint8)
    windows = np.ndarray((len(buffer) - 7,), dtype="<u8", buffer=buffer, strides=(1,))
    last = np.subtract(lasts, 7, out=lasts)  # the word that ends with the id
    if short:
        np.maximum(last, starts, out=last)
    hashes = lengths.view(np.uint64)
    mix = np.uint64(_MIX)
    at = np.empty_like(starts)
    for k in range(words):
        if k:
            np.minimum(np.add(starts, 8 * k, out=at), last, out=at)
        word = windows[at if k else starts]  # the first word starts with the id
        if short:
            word &= masks
        hashes *= mix
        hashes += word
    return hashes


def _distinct(ids: list[str], np: Any) -> bool:
    """
    Whether no id repeats: with numpy, by sorting the ids' hashes (equal ids
    hash alike; two equal hashes send the ids to the row-by-row check, which
    compares them), else by a set.
    """
    if np is None:
        return len(set(ids)) == len(ids)
    hashes = np.fromiter(map(hash, ids), dtype=np.int64, count=len(ids))
    hashes.sort()
    return not bool((hashes[1:] == hashes[:-1]).any())


def _column_values(values: list[Any], currency: str | None) -> list[Decimal]:
    """The values of a column as Decimals, each checked as :func:`abc` checks one (the exact path)."""
    problems: list[Problem] = []
    out: list[Decimal] = []
    units = None if currency is None else currency_minor_units(currency)
    for i, raw in enumerate(values):
        value = c.plain(raw)
        if units is not None:
            minor = c.as_int(value)
            if minor is None:
                problems.append(
                    c.wrong_type(value, "an int (a count of minor units)").prefixed(f"values[{i}]")
                )
                continue
            number: object = Decimal(minor).scaleb(-units, _EXACT)
        elif isinstance(value, Money):
            problems.append(
                c.wrong_type(value, "a number (give currency= and minor units for money)").prefixed(
                    f"values[{i}]"
                )
            )
            continue
        else:
            number, _ = _number(value, None)
        problem = _value_problem(value, number, f"values[{i}]")
        if problem is not None:
            problems.append(problem)
        else:
            out.append(cast("Decimal", number))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise ValidationError(problems)
    return out


def _fast_abc(
    np: Any, ids: Any, values: Any, *, currency: str | None, a_value: Decimal, b_value: Decimal
) -> AbcResult | None:
    """
    :func:`abc_columns` on numpy arrays: the values scaled to int64, one
    numeric sort, ties sorted by id only at the two cuts; ``None`` when the
    values are not read exactly this way (the exact path then checks each).
    """
    scaled, places = _scaled(np, values, currency)
    if scaled is None or int(scaled.min()) < 0 or int(scaled.max()) * len(scaled) >= 1 << 63:
        return None  # a negative value is reported by the exact path; a total beyond int64 summed there
    n = len(scaled)
    total = int(scaled.sum())
    if not total:
        raise ValidationError.single(
            "values", "every value is 0; there is no share to grade by", code="range"
        )
    order = np.argsort(scaled)[::-1].copy()  # highest first; ties in any order, for now
    ranked = scaled[order]
    cumulative = np.cumsum(ranked)
    befores = cumulative - ranked
    cuts = []
    exact_total = Decimal(total).scaleb(-places, _EXACT)
    for share in (a_value, b_value):
        exact_cut = _EXACT.multiply(share, exact_total).scaleb(places, _EXACT)  # abc()'s, in last places
        least = int(exact_cut.to_integral_value(decimal.ROUND_CEILING, _EXACT))  # before < cut <=> < least
        cuts.append(int(np.searchsorted(befores, least, side="left")))
    ascending = ranked[::-1]
    for cut in sorted(set(cuts)):
        if 0 < cut < n and ranked[cut - 1] == ranked[cut]:  # a tie across the cut: its members by id
            value = ranked[cut]
            start = n - int(np.searchsorted(ascending, value, side="right"))
            stop = n - int(np.searchsorted(ascending, value, side="left"))
            members = order[start:stop]
            names = [ids[i] for i in members.tolist()]
            order[start:stop] = members[sorted(range(len(names)), key=names.__getitem__)]
    a_cut, b_cut = cuts
    held = [0] + [int(cumulative[k - 1]) if k else 0 for k in cuts] + [total]
    counts = [a_cut, b_cut - a_cut, n - b_cut]
    summary = tuple(
        TierSummary(
            tier=tier,
            count=count,
            value=Decimal(held[k + 1] - held[k]).scaleb(-places, _EXACT) if count else Decimal(0),
            share_of_value=Fraction(held[k + 1] - held[k], total),
            share_of_customers=Fraction(count, n),
        )
        for k, (tier, count) in enumerate(zip(Tier, counts, strict=True))
    )
    ranking = _Ranking(ids, scaled, order, places=places, a_cut=a_cut, b_cut=b_cut)
    return AbcResult(
        a=a_value,
        b=b_value,
        total=exact_total,
        currency=currency,
        summary=summary,
        tiers=_LazyTiers(ranking),
        ids=cast("tuple[str, ...]", _Lazy(n, ranking.ids)),
        values=cast("tuple[Decimal, ...]", _Lazy(n, ranking.values)),
        befores=cast("tuple[Decimal, ...]", _Lazy(n, ranking.befores)),
    )


def _scaled(np: Any, values: Any, currency: str | None) -> tuple[Any, int]:
    """
    The values as an int64 array of whole units of their last decimal place,
    and that place (10**-places): minor units with a currency, ints as they
    are, floats as decimals of their shortest repr; ``(None, 0)`` when not.
    """
    integers = _columns.int64(np, values)
    if integers is not None:
        return integers, 0 if currency is None else currency_minor_units(currency)
    floats = None if currency is not None else _columns.float64(np, values)
    if floats is None or not len(floats) or not bool(np.all(np.isfinite(floats) & (floats >= 0))):
        return None, 0
    found = _columns.decimal_floats(np, floats, limit=float(floats.max()))
    return (None, 0) if found is None else (found[0].astype(np.int64), found[1])


class _Ranking:
    """
    The ranking of a grading from columns, built on first use: the ids and
    scaled values in the columns' order, the order by value (exact at the
    cuts) and the two cuts.
    """

    __slots__ = ("_built", "_cuts", "_ids", "_order", "_places", "_scaled")

    def __init__(self, ids: Any, scaled: Any, order: Any, *, places: int, a_cut: int, b_cut: int) -> None:
        self._ids, self._scaled, self._order, self._places = ids, scaled, order, places
        self._cuts = (a_cut, b_cut)
        self._built: dict[str, Any] = {}

    def _ranked(self) -> tuple[list[str], list[int]]:
        """The ids and scaled values, most valuable first, ties by id (as :func:`abc` sorts)."""
        got = self._built.get("ranked")
        if got is None:
            ids, values = _columns.as_list(self._ids), self._scaled.tolist()
            order = sorted(range(len(ids)), key=ids.__getitem__)
            order.sort(key=values.__getitem__, reverse=True)
            got = self._built["ranked"] = ([ids[i] for i in order], [values[i] for i in order])
        return cast("tuple[list[str], list[int]]", got)

    def ids(self) -> tuple[str, ...]:
        return tuple(self._ranked()[0])

    def values(self) -> tuple[Decimal, ...]:
        places = -self._places
        return tuple(Decimal(v).scaleb(places, _EXACT) for v in self._ranked()[1])

    def befores(self) -> tuple[Decimal, ...]:
        places, before = -self._places, 0
        out: list[Decimal] = []
        for v in self._ranked()[1]:
            out.append(Decimal(before).scaleb(places, _EXACT) if out else Decimal(0))  # as abc() starts
            before += v
        return tuple(out)

    def tiers(self) -> dict[str, Tier]:
        """Each id's tier, from the order by value (its ties at the cuts sorted by id)."""
        a_cut, b_cut = self._cuts
        ids = self._ids
        if isinstance(ids, list):
            ranked = [ids[i] for i in self._order.tolist()]
        else:  # a numpy array
            ranked = ids[self._order].tolist()
        tiers = dict.fromkeys(ranked[b_cut:], Tier.C)
        tiers.update(dict.fromkeys(ranked[a_cut:b_cut], Tier.B))
        tiers.update(dict.fromkeys(ranked[:a_cut], Tier.A))
        return tiers


class _Lazy(Sequence[Any]):
    """
    A tuple built on first use: a ranking column of a grading from columns.
    It compares and hashes as the tuple it stands for.
    """

    __slots__ = ("_items", "_make", "_n")

    def __init__(self, n: int, make: Callable[[], tuple[Any, ...]]) -> None:
        self._n, self._make = n, make
        self._items: tuple[Any, ...] | None = None

    def _tuple(self) -> tuple[Any, ...]:
        if self._items is None:
            self._items = self._make()
        return self._items

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        return self._tuple()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._tuple())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Lazy):
            other = other._tuple()
        return isinstance(other, tuple) and self._tuple() == other

    def __hash__(self) -> int:
        return hash(self._tuple())

    def __repr__(self) -> str:
        return f"<{self._n:,} ranked items>"


class _LazyTiers(Mapping[str, Tier]):
    """The ``tiers`` mapping of a grading from columns, built on first use; read-only."""

    __slots__ = ("_dict", "_ranking")

    def __init__(self, ranking: _Ranking) -> None:
        self._ranking = ranking
        self._dict: dict[str, Tier] | None = None

    def _tiers(self) -> dict[str, Tier]:
        if self._dict is None:
            self._dict = self._ranking.tiers()
        return self._dict

    def __getitem__(self, key: str) -> Tier:
        return self._tiers()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tiers())

    def __len__(self) -> int:
        return len(self._tiers())

    def __contains__(self, key: object) -> bool:
        return key in self._tiers()

    def keys(self) -> KeysView[str]:
        return self._tiers().keys()

    def items(self) -> ItemsView[str, Tier]:
        return self._tiers().items()

    def values(self) -> ValuesView[Tier]:
        return self._tiers().values()

    def __repr__(self) -> str:
        return f"<tiers of {len(self):,} customers>"
