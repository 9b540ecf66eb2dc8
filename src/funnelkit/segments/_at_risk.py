"""
Accounts at risk of churning: silent for longer than their tier allows
(source 003: churn by tier; source 001: every customer has a timer for the
next contact).  As of *now*: activities after it are ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import cast

import attrs

from .. import _checks as c
from .._money import Money, currency_problem
from .._report import Report
from .._time import instant
from ..entities import Activity, ActivityKind, Customer, Opportunity, OpportunityStatus, Tier
from ..errors import Problem, ValidationError
from ._abc import AbcResult
from ._args import MAX_PROBLEMS, each_of, member, not_iterable
from ._retention import _RANK, _TIERS, _add, _money_cells, _qualifying, _same, _sums, _tier_map, _tier_name

#: The most days a silence limit may be (about 270 years).
MAX_DAYS = 100_000
#: Days of silence after which an account is at risk, by tier (``None``: ungraded): A customers are
#: watched most closely.
DEFAULT_SILENCE: Mapping[Tier | str | None, int] = {Tier.A: 30, Tier.B: 60, Tier.C: 90, None: 90}

_DAY = dt.timedelta(days=1)
_OPEN = OpportunityStatus.OPEN
_ZERO = Decimal(0)


@attrs.frozen(kw_only=True)
class AtRiskRow:
    """
    An account silent for too long: no qualifying activity for *days_silent*
    whole days (since its last one, or since it was created when it never
    had one), at least the *limit_days* its tier allows.  The last activity
    (when, what, by whom), the owner, and its open deals as of now with
    their value per currency.
    """

    customer_id: str
    name: str
    owner: str | None
    tier: Tier | None
    days_silent: int
    limit_days: int
    last_activity_at: dt.datetime | None
    last_activity_kind: ActivityKind | None
    last_activity_rep: str | None
    open_deals: int
    open_pipeline: tuple[Money, ...] = ()


def _pipeline_key(amounts: tuple[Money, ...], currency: str | None) -> tuple[object, ...]:
    """Larger open pipeline first: in *currency* when given, then currency by currency in code order."""
    ranked = next((m.amount for m in amounts if m.currency == currency), _ZERO)
    return (not amounts, ranked.copy_negate(), [(m.currency, m.amount.copy_negate()) for m in amounts])


def _risk_key(row: AtRiskRow, currency: str | None) -> tuple[object, ...]:
    """The order of risk: tier (A first), days silent (most first), open pipeline (largest first), id."""
    return (_RANK[row.tier], -row.days_silent, *_pipeline_key(row.open_pipeline, currency), row.customer_id)


@attrs.frozen(kw_only=True, repr=False)
class AtRisk(Report):
    """
    The accounts at risk of churning, from :func:`at_risk`: each silent for
    at least its tier's limit, most at risk first (tier A first, then the
    longest silence, then the largest open pipeline, then id).

    ``to_records()`` and ``to_frame()`` give one row per account, with one
    ``open_pipeline_<currency>`` column per currency.

    A list of accounts, each judged on its own, so :meth:`merge` joins the
    lists of partitions split by customer (each customer with its
    activities and deals in one part) into exactly the list of the whole.
    """

    rows: tuple[AtRiskRow, ...]
    now: dt.datetime
    currency: str | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[AtRiskRow]:
        return iter(self.rows)

    def merge(self, other: AtRisk) -> AtRisk:
        """
        The accounts at risk among the customers of both, in order of risk.
        Lists as of another now or ranked in another currency are refused
        by name (``other.now``, ``other.currency``; code ``conflict``).  A
        customer listed in both counts once; listed otherwise in each, it
        is refused (``other.rows``).
        Cost: O(r log r) for r rows.
        """
        c.require(other, AtRisk, "an AtRisk", "other")
        _same(self, other, ("now", "currency"), "at-risk list")
        mine = {r.customer_id: r for r in self.rows}
        twice = next((r.customer_id for r in other.rows if mine.get(r.customer_id, r) != r), None)
        if twice is not None:
            msg = f"customer {twice!r} is listed otherwise in each list; merge lists made of the same data"
            raise ValidationError.single("other.rows", msg, code="conflict")
        rows = sorted(
            {**mine, **{r.customer_id: r for r in other.rows}}.values(),
            key=lambda r: _risk_key(r, self.currency),
        )
        return attrs.evolve(self, rows=tuple(rows))

    def _summary(self) -> str:
        tiers = ", ".join(
            f"{_tier_name(t)} {n:,}" for t in _TIERS if (n := sum(1 for r in self.rows if r.tier is t))
        )
        return f"{c.counted(len(self.rows), 'account')} at risk as of {self.now:%Y-%m-%d %H:%M}" + (
            f": {tiers}" if tiers else ""
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per account, most at risk first, with its open pipeline per currency.
        """
        currencies = sorted({m.currency for r in self.rows for m in r.open_pipeline})
        return [
            {
                "customer_id": r.customer_id,
                "name": r.name,
                "owner": r.owner,
                "tier": None if r.tier is None else r.tier.value,
                "days_silent": r.days_silent,
                "limit_days": r.limit_days,
                "last_activity_at": r.last_activity_at,
                "last_activity_kind": None if r.last_activity_kind is None else r.last_activity_kind.value,
                "last_activity_rep": r.last_activity_rep,
                "open_deals": r.open_deals,
                **_money_cells("open_pipeline", r.open_pipeline, currencies),
            }
            for r in self.rows
        ]


def _silence(value: object) -> dict[Tier | None, int]:
    """*value*: tier (or None, ungraded) -> whole days from 0 to MAX_DAYS; else a ValidationError."""
    table = c.to_mapping(value, "silent_days")  # a pandas Series
    if not isinstance(table, Mapping):
        raise c.at("silent_days", c.wrong_type(table, "a mapping of tier (or None) to a number of days"))
    out: dict[Tier | None, int] = {}
    problems: list[Problem] = []
    for key, raw in table.items():
        if len(problems) >= MAX_PROBLEMS:
            break
        tier = None if key is None else member(Tier, key)
        if key is not None and tier is None:
            msg = f"{c.show(key)} is not a tier; allowed: 'A', 'B', 'C' or None"
            problems.append(Problem(path=f"silent_days[{c.show(key)}] (key)", code="choice", message=msg))
            continue
        days = c.plain(raw)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
            code = "type" if isinstance(days, bool) or not isinstance(days, int) else "range"
            msg = f"{c.show(raw)} is not a number of days (an int from 0 to {MAX_DAYS:,})"
            problems.append(Problem(path=f"silent_days[{_tier_name(tier)!r}]", code=code, message=msg))
            continue
        out[tier] = days
    if problems:
        raise ValidationError(problems)
    return out


def unique_customers(customers: object) -> list[Customer]:
    """*customers* as a list, each id once; else a ValidationError naming each id met again."""
    out: list[Customer] = []
    seen: set[str] = set()
    problems: list[Problem] = []
    for i, cust in enumerate(each_of(customers, Customer, "customers")):
        if cust.id in seen:
            msg = f"{c.show(cust.id)} appears twice; each customer once"
            problems.append(Problem(path=f"customers[{i}].id", code="duplicate", message=msg))
            if len(problems) >= MAX_PROBLEMS:
                break
        seen.add(cust.id)
        out.append(cust)
    if problems:
        raise ValidationError(problems)
    return out


def open_at(o: Opportunity, now: dt.datetime) -> bool:
    """Whether deal *o* was open at *now*: created by then, and open still or closed after."""
    return o.created_at <= now and (o.status is _OPEN or o.stage_entered_at > now)


def open_pipelines(
    opportunities: object, now: dt.datetime, wanted: Mapping[str, object]
) -> dict[str, tuple[int, dict[str, Decimal]]]:
    """Per customer of *wanted*, its open deals at *now*: how many, and their value per currency."""
    out: dict[str, tuple[int, dict[str, Decimal]]] = {}
    for o in each_of(opportunities, Opportunity, "opportunities"):
        if o.customer_id not in wanted or not open_at(o, now):
            continue
        n, totals = out.get(o.customer_id, (0, {}))
        if o.amount is not None:
            _add(totals, o.amount.currency, o.amount.amount)
        out[o.customer_id] = (n + 1, totals)
    return out


def _currency(value: object) -> str | None:
    """*value*: None or a known currency; else a ValidationError at ``currency``."""
    if value is None:
        return None
    problem = currency_problem(value)
    if problem is not None:
        raise c.at("currency", problem)
    return cast("str", value)


def at_risk(
    customers: Iterable[Customer],
    activities: Iterable[Activity],
    opportunities: Iterable[Opportunity] = (),
    *,
    now: dt.datetime,
    tiers: AbcResult | Mapping[str, Tier | str | None] | None = None,
    silent_days: Mapping[Tier | str | None, int] = DEFAULT_SILENCE,
    qualifying: Callable[[Activity], object] | None = None,
    currency: str | None = None,
) -> AtRisk:
    """
    The accounts at risk of churning: no qualifying activity for at least
    the number of days their tier allows (*silent_days*: tier, or ``None``
    for ungraded, to whole days; by default A 30, B 60, C 90, ungraded 90),
    as of *now*, most at risk first.

    - A customer's tier comes from *tiers* (customer id -> tier, or an
      :class:`AbcResult`; missing: ungraded) when given, else from its own
      ``tier`` field.  A tier without a limit in *silent_days* is not watched.
    - Silence is counted in whole days from the last activity that
      *qualifying* accepts (every activity when it is ``None``), or from the
      customer's creation when it never had one.  Activities after *now*,
      and customers created after it, are ignored: the list as it stood then.
    - Each account shows its owner, its last activity (when, what, by whom)
      and its open deals at *now* (created by then and not closed by then)
      with their value per currency, never summed across.
    - Most at risk first: tier A first, then the longest silence, then the
      largest open pipeline (in *currency* when given; else compared
      currency by currency in code order), then customer id.

    >>> import datetime as dt
    >>> from funnelkit import Activity, Customer
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    >>> book = [Customer(id=i, name=i.upper(), created_at=t0, tier=tier, owner="ann")
    ...         for i, tier in (("a1", "A"), ("a2", "A"), ("b1", "B"))]
    >>> log = [Activity(id="x", kind="call", at=now - dt.timedelta(days=45), rep_id="bo", customer_id="a1"),
    ...        Activity(id="y", kind="visit", at=now - dt.timedelta(days=5), rep_id="bo", customer_id="a2"),
    ...        Activity(id="z", kind="email", at=now - dt.timedelta(days=61), rep_id="bo", customer_id="b1")]
    >>> risky = at_risk(book, log, now=now)
    >>> [(r.customer_id, r.days_silent, r.limit_days, r.last_activity_kind.value) for r in risky]
    [('a1', 45, 30, 'call'), ('b1', 61, 60, 'email')]

    Cost: O(c + a + n + r log r) for c customers, a activities, n deals and r accounts at risk.
    """
    problems = not_iterable(
        (customers, Customer, "customers"),
        (activities, Activity, "activities"),
        (opportunities, Opportunity, "opportunities"),
    )
    if problems:
        raise ValidationError(problems)
    when = instant(now, field="now")
    tier_of = _tier_map(tiers)
    limits = _silence(silent_days)
    rule = _qualifying(qualifying)
    rank = _currency(currency)
    book: dict[str, tuple[Customer, Tier | None, int]] = {}
    for cust in unique_customers(customers):
        tier = cust.tier if tier_of is None else tier_of.get(cust.id)
        limit = limits.get(tier)
        if limit is not None and cust.created_at <= when:
            book[cust.id] = (cust, tier, limit)
    last: dict[str, Activity] = {}
    for a in each_of(activities, Activity, "activities"):
        if a.customer_id not in book or a.at > when:
            continue
        seen = last.get(a.customer_id)
        if (seen is None or (a.at, a.id) > (seen.at, seen.id)) and (rule is None or rule(a)):
            last[a.customer_id] = a
    silent: list[tuple[Customer, Tier | None, int, int, Activity | None]] = []
    for cid, (cust, tier, limit) in book.items():
        seen = last.get(cid)
        days = (when - (cust.created_at if seen is None else seen.at)) // _DAY
        if days >= limit:
            silent.append((cust, tier, limit, days, seen))
    pipelines = open_pipelines(opportunities, when, {s[0].id: s for s in silent})
    rows = []
    for cust, tier, limit, days, seen in silent:
        n, totals = pipelines.get(cust.id, (0, {}))
        rows.append(
            AtRiskRow(
                customer_id=cust.id, name=cust.name, owner=cust.owner, tier=tier, days_silent=days,
                limit_days=limit, last_activity_at=None if seen is None else seen.at,
                last_activity_kind=None if seen is None else seen.kind,
                last_activity_rep=None if seen is None else seen.rep_id, open_deals=n,
                open_pipeline=_sums(totals),
            )
        )  # fmt: skip
    rows.sort(key=lambda r: _risk_key(r, rank))
    return AtRisk(rows=tuple(rows), now=when, currency=rank)
