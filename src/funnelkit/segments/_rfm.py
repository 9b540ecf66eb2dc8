"""
RFM scoring: recency, frequency and monetary value, by quantile.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, overload

import attrs

from .. import _checks as c
from .._money import _CONTEXT, MAX_INTEGER_DIGITS, Money
from .._report import Report
from .._time import canonical
from ..entities import Activity
from ..errors import CurrencyMismatchError, Problem, ValidationError
from ._args import MAX_PROBLEMS, plain_number

_DAY = dt.timedelta(days=1)
#: The most bins a score may have.
MAX_BINS = 1_000


@attrs.frozen(kw_only=True)
class RfmScore:
    """
    One customer's RFM: the raw measures and their scores, 1 (worst) to
    *bins* (best).  *code* is the three scores, e.g. ``"545"``.
    """

    customer_id: str
    recency_days: int
    frequency: int
    monetary: Decimal
    r: int
    f: int
    m: int

    @property
    def code(self) -> str:
        return f"{self.r}{self.f}{self.m}"


@attrs.frozen(kw_only=True, repr=False)
class RfmResult(Report, Sequence[RfmScore]):
    """
    Every customer's RFM score, sorted by customer id; see :func:`rfm`.

    It reads like the tuple of :class:`RfmScore` it holds (``len``,
    iteration, indexing, slicing, ``in``); :meth:`score_of` finds one
    customer.  *currency* is set when the values were money.  It is a
    :class:`~funnelkit.Report`: ``to_records()`` and ``to_frame()`` give one
    row per customer with the measures, the three scores and the code.

    Not mergeable, by nature: a score is a rank among every customer scored,
    so one customer's score changes when another's purchases are added.
    Over partitions, gather the ``(customer, time, value)`` events (or each
    customer's three measures) and score once.
    """

    now: dt.datetime
    bins: int
    currency: str | None
    scores: tuple[RfmScore, ...]

    def __len__(self) -> int:
        return len(self.scores)

    def __iter__(self) -> Iterator[RfmScore]:
        return iter(self.scores)

    @overload
    def __getitem__(self, index: int) -> RfmScore: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[RfmScore, ...]: ...

    def __getitem__(self, index: int | slice) -> RfmScore | tuple[RfmScore, ...]:
        return self.scores[index]

    def score_of(self, customer_id: str) -> RfmScore:
        """
        The score of *customer_id*; a clear error for a customer that was not scored.
        Cost: O(log n) for n customers.
        """
        if not isinstance(customer_id, str):
            raise c.at("customer_id", c.wrong_type(customer_id, "a customer id (a str)"))
        i = bisect.bisect_left(self.scores, customer_id, key=lambda s: s.customer_id)
        if i < len(self.scores) and self.scores[i].customer_id == customer_id:
            return self.scores[i]
        raise ValidationError.single("customer_id", f"{c.show(customer_id)} was not scored", code="reference")

    def _summary(self) -> str:
        top = "".join(str(self.bins) for _ in range(3))
        best = sum(1 for s in self.scores if s.r == s.f == s.m == self.bins)
        total = Decimal(0)
        for s in self.scores:
            total = _CONTEXT.add(total, s.monetary)  # exact, whatever the caller's context
        unit = f" {self.currency}" if self.currency else ""
        return (
            f"{c.counted(len(self.scores), 'customer')} on a scale of 1-{self.bins} as of "
            f"{self.now:%Y-%m-%d %H:%M}; {best:,} scored {top}; monetary total {total:f}{unit}"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per customer: the measures (money when the values were money), the scores and the code.
        """
        currency = self.currency
        for s in self.scores:
            yield {
                "customer_id": s.customer_id,
                "recency_days": s.recency_days,
                "frequency": s.frequency,
                "monetary": s.monetary if currency is None else Money(amount=s.monetary, currency=currency),
                "r": s.r,
                "f": s.f,
                "m": s.m,
                "code": s.code,
            }


def _score(value: Any, ordered: list[Any], n: int, bins: int) -> int:
    """
    1 + how many customers are strictly worse, scaled to 1..bins.

    *ordered* holds every customer's measure, worst first.  Customers with
    equal measures are strictly worse than none of each other, so ties always
    share a score; with fewer customers than bins the scores still lie on the
    1..bins scale (the best of two distinct customers scores 1 + bins // 2).
    """
    worse = bisect.bisect_left(ordered, value)
    return 1 + (bins * worse) // n


def rfm(
    events: Iterable[Activity | tuple[str, dt.datetime, Money | Decimal | int]],
    *,
    now: dt.datetime,
    bins: int = 5,
) -> RfmResult:
    """
    Score every customer on **r**ecency (days since the last event; fewer is
    better), **f**requency (number of events) and **m**onetary value (sum of
    the events' values), each from 1 to *bins* by quantile, ``now`` given.

    *events* are orders as ``(customer_id, at, value)`` triples, or
    activities (then every event has value 0 and all customers tie on m).
    A customer's score on a measure is ``1 + bins * (customers strictly
    worse) // customers``: ties share a score, and the scale stays 1..bins
    even with fewer customers than bins.  Events after *now* are refused;
    *bins* is an int from 1 to 1,000; a plain value has at most 30 digits
    before the point, like money.

    Returns an :class:`RfmResult`: the scores sorted by customer id, read
    like a tuple, with records and a frame for pandas.

    Cost: O(n + c log c) for n events and c customers.

    >>> import datetime as dt
    >>> now = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    >>> day = dt.timedelta(days=1)
    >>> orders = [("a", now - 2 * day, 100), ("a", now - 40 * day, 50), ("b", now - 90 * day, 500),
    ...           ("c", now - 10 * day, 20)]
    >>> scores = rfm(orders, now=now, bins=3)
    >>> scores
    <RfmResult: 3 customers on a scale of 1-3 as of 2026-03-01 00:00; 0 scored 333; monetary total 670>
    >>> {s.customer_id: s.code for s in scores}
    {'a': '332', 'b': '113', 'c': '211'}
    >>> scores.score_of("b").monetary
    Decimal('500')
    """
    bins = c.plain(bins)
    problems = _rfm_problems(now, bins)
    c.require_iterable(events, "Activity or (id, at, value)", "events")
    if problems:
        raise ValidationError(problems)
    now = canonical(now)
    last: dict[str, dt.datetime] = {}
    count: dict[str, int] = {}
    total: dict[str, Decimal] = {}
    reader = _EventReader(problems)
    add = _CONTEXT.add
    zero = Decimal(0)
    for i, event in enumerate(events):
        if len(problems) >= MAX_PROBLEMS:
            break
        read = reader.read(event, i)
        if read is None:
            continue
        cid, at, value = read
        if at > now:
            msg = f"{at.isoformat()} is after now ({now.isoformat()})"
            problems.append(Problem(path=f"events[{i}]", code="order", message=msg))
            continue
        if problems:
            continue  # only look for more problems
        if cid not in last or at > last[cid]:
            last[cid] = at
        count[cid] = count.get(cid, 0) + 1
        total[cid] = add(total.get(cid, zero), value)
    if problems:
        raise ValidationError(problems)
    if not last:
        raise ValidationError.single("events", "no events to score", code="empty")
    n = len(last)
    recency = {cid: (now - at) // _DAY for cid, at in last.items()}
    # Worst first: most days since the last event, fewest events, least value.
    by_recency = sorted(-d for d in recency.values())
    by_frequency = sorted(count.values())
    by_monetary = sorted(total.values())
    scores = tuple(
        RfmScore(
            customer_id=cid,
            recency_days=recency[cid],
            frequency=count[cid],
            monetary=total[cid],
            r=_score(-recency[cid], by_recency, n, bins),
            f=_score(count[cid], by_frequency, n, bins),
            m=_score(total[cid], by_monetary, n, bins),
        )
        for cid in sorted(last)
    )
    return RfmResult(now=now, bins=bins, currency=reader.currency, scores=scores)


def _rfm_problems(now: object, bins: object) -> list[Problem]:
    """The problems of *now* and *bins*."""
    problems: list[Problem] = []
    problem = c.aware_datetime(now)
    if problem is not None:
        problems.append(problem.prefixed("now"))
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_BINS:
        code = "type" if isinstance(bins, bool) or not isinstance(bins, int) else "range"
        problems.append(
            Problem(path="bins", code=code, message=f"{c.show(bins)} is not an int from 1 to {MAX_BINS:,}")
        )
    return problems


class _EventReader:
    """Reads events one by one: their problems go to *problems*; the values must share one currency."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.currency: str | None = None

    def read(self, event: object, i: int) -> tuple[str, dt.datetime, Decimal] | None:
        """Event *i* as (customer id, time, value), or ``None`` when it has problems (then recorded)."""
        if isinstance(event, Activity):
            return event.customer_id, event.at, Decimal(0)
        if not (isinstance(event, tuple) and len(event) == 3):
            msg = f"{c.show(event)} is not an Activity or (id, at, value)"
            self.problems.append(Problem(path=f"events[{i}]", code="type", message=msg))
            return None
        cid, at, raw = event
        bad = len(self.problems)
        problem = c.identifier(cid)
        if problem is not None:
            self.problems.append(problem.prefixed(f"events[{i}][0]"))
        problem = c.aware_datetime(at)
        if problem is not None:
            self.problems.append(problem.prefixed(f"events[{i}][1]"))
        value = self._value(c.plain(raw), i)  # a numpy int as an int
        if len(self.problems) > bad or value is None:
            return None
        return cid, canonical(at), value

    def _value(self, raw: Any, i: int) -> Decimal | None:
        """The value of event *i* as a Decimal, or ``None`` when it is not one (then recorded)."""
        if isinstance(raw, Money):
            if self.currency is None:
                self.currency = raw.currency
            elif raw.currency != self.currency:
                raise CurrencyMismatchError("sum", self.currency, raw.currency)
            return raw.amount
        if plain_number(raw):
            return Decimal(raw)
        msg = (
            f"{c.show(raw)} is not a finite Decimal, int or Money "
            f"(with at most {MAX_INTEGER_DIGITS} digits before the point)"
        )
        code = "type" if isinstance(raw, bool) or not isinstance(raw, Decimal | int) else "range"
        self.problems.append(Problem(path=f"events[{i}][2]", code=code, message=msg))
        return None
