"""
Pipeline generation and cohorts: the deals each owner created per period
against a target (teams need enough new pipeline to meet quota), and how
far each period's new deals have come by now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import attrs

from .. import _checks as c
from .._money import Money
from .._report import Report, conflict, money_cells
from .._time import instant
from .._time import zone as zone_of
from ..entities import Opportunity, OpportunityStatus
from ..errors import CurrencyMismatchError, Problem, ValidationError
from ..stages import Pipeline, StageChanged
from ._args import MAX_PROBLEMS, exact
from ._backtest import DealEvent
from ._bookings import _known_at  # the same refusal of look-ahead as expected_bookings
from ._winloss import (
    Grain,
    add_money,
    added,
    amount_cells,
    deals_listed,
    events_listed,
    first_day,
    grain_of,
    local_day,
    next_first_day,
    sums,
)

#: :func:`pipeline_generation` lists at most this many periods (twenty years of weeks).
MAX_PERIODS = 1_040
#: The largest coverage multiple :func:`pipeline_generation` takes.
MAX_COVERAGE = 1_000
_MICROSECOND = dt.timedelta(microseconds=1)
_WON, _LOST, _OPEN = OpportunityStatus.WON, OpportunityStatus.LOST, OpportunityStatus.OPEN


# --- pipeline generation ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class GenerationRow:
    """
    The deals one owner (``None``: the team) created in the period starting
    on *start* (local): how many, their amounts (one sum per currency, in
    currency order), and the owner's target of new pipeline for the period
    (``None`` without one).
    """

    owner: str | None
    start: dt.date
    deals: int
    amounts: tuple[Money, ...] = ()
    target: Money | None = None

    @property
    def created(self) -> Money | None:
        """
        The amount created in the target's currency (zero when none); ``None`` without a target.

        Cost: O(c) for c currencies.
        """
        if self.target is None:
            return None
        cur = self.target.currency
        return next((m for m in self.amounts if m.currency == cur), Money.zero(cur))

    @property
    def attainment(self) -> Fraction | None:
        """
        Created / target; ``None`` without a target or for a zero one.

        Cost: O(c) for c currencies.
        """
        made = self.created
        if made is None or self.target is None or self.target.is_zero():
            return None
        return made.ratio(self.target)

    @property
    def remaining(self) -> Money | None:
        """
        Target - created (negative once exceeded); ``None`` without a target.

        Cost: O(c) for c currencies.
        """
        made = self.created
        return None if made is None or self.target is None else self.target - made


@attrs.frozen(kw_only=True, repr=False)
class PipelineGeneration(Report):
    """
    New pipeline per owner and *period* (in zone *tz*) for the deals
    created in ``[start, end)``: a :class:`GenerationRow` per owner and
    period, sorted by owner then period.  Every owner with a target has a
    row for every period of the window (empty ones too: a period without
    new deals is the gap to see); an owner without one, for the periods in
    which they created deals.  *coverage* is the multiple of the targets
    given that each period's target is (``3``: three times quota).

    A :class:`~funnelkit.Report`: one row per owner and period with
    ``deals``, an ``amount_<currency>`` column per currency, ``target``,
    ``attainment`` and ``remaining``.  :attr:`totals` has the team's.

    :meth:`merge` adds the reports of partitions split by deal into exactly
    the report of the whole.
    """

    start: dt.datetime
    end: dt.datetime
    rows: tuple[GenerationRow, ...]
    period: Grain = "month"
    tz: dt.tzinfo = dt.UTC
    coverage: Fraction = Fraction(1)

    @property
    def totals(self) -> tuple[GenerationRow, ...]:
        """
        The team's row per period (owner ``None``): every owner's deals and
        amounts, and the sum of the targets when they share a currency.

        Cost: O(r log r) for r rows.
        """
        per: dict[dt.date, list[GenerationRow]] = {}
        for r in self.rows:
            per.setdefault(r.start, []).append(r)
        out = []
        for start, rows in sorted(per.items()):
            targets = [r.target for r in rows if r.target is not None]
            currencies = {t.currency for t in targets}
            target = None
            if len(currencies) == 1:
                (cur,) = currencies
                target = Money.total(targets, currency=cur)
            amounts: tuple[Money, ...] = ()
            for r in rows:
                amounts = added(amounts, r.amounts)
            out.append(
                GenerationRow(
                    owner=None, start=start, deals=sum(r.deals for r in rows), amounts=amounts, target=target
                )
            )
        return tuple(out)

    def merge(self, other: PipelineGeneration) -> PipelineGeneration:
        """
        The report over the deals of both (partitions split by deal): exactly
        what :func:`pipeline_generation` gives over all of them.  Reports of
        another window, period, zone, coverage or other targets are refused
        by name (``other.start``, ..., ``other.rows``; code ``conflict``).

        Cost: O((r + s) log(r + s)) for r and s rows.
        """
        c.require(other, PipelineGeneration, "a PipelineGeneration", "other")
        for field in ("start", "end", "period", "tz", "coverage"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "window")
        mine, theirs = _targets_of(self.rows), _targets_of(other.rows)
        if mine != theirs:
            raise conflict("rows", mine, theirs, "targets")
        acc: dict[tuple[str, dt.date], GenerationRow] = {}
        for r in (*self.rows, *other.rows):
            key = (cast("str", r.owner), r.start)
            got = acc.get(key)
            acc[key] = (
                r
                if got is None
                else attrs.evolve(got, deals=got.deals + r.deals, amounts=added(got.amounts, r.amounts))
            )
        return attrs.evolve(self, rows=tuple(acc[k] for k in sorted(acc)))

    def _summary(self) -> str:
        owners = len({r.owner for r in self.rows})
        deals = sum(r.deals for r in self.rows)
        amounts = ", ".join(str(m) for m in added((), tuple(m for r in self.rows for m in r.amounts))) or "-"
        return (
            f"{deals:,} deals created by {c.counted(owners, 'owner')}, {self.start.date()} to "
            f"{self.end.date()} (exclusive) by {self.period}: {amounts}"
        )

    def _rows(self) -> list[dict[str, object]]:
        currencies = sorted({m.currency for r in self.rows for m in r.amounts})
        return [
            {
                "owner": r.owner,
                "start": r.start,
                "deals": r.deals,
                **amount_cells("amount", r.amounts, currencies),
                **money_cells("target", r.target),
                "attainment": r.attainment,
                **money_cells("remaining", r.remaining),
            }
            for r in self.rows
        ]


def _targets_of(rows: Iterable[GenerationRow]) -> dict[str, Money]:
    """Each owner's target, from the rows that have one."""
    return {cast("str", r.owner): r.target for r in rows if r.target is not None}


def pipeline_generation(
    opportunities: Iterable[Opportunity],
    *,
    start: dt.datetime,
    end: dt.datetime,
    period: str = "month",
    tz: dt.tzinfo | str = "UTC",
    targets: Mapping[str, Money] | None = None,
    coverage: Decimal | int | str = 1,
) -> PipelineGeneration:
    """
    The deals each owner created in ``[start, end)``, per local *period*
    (``week``, ``month``, ``quarter`` or ``year`` in zone *tz*), against a
    target of new pipeline per period: teams need enough new pipeline to
    meet quota (the sources' pipeline generation).

    *targets* maps an owner to their target per period: the new pipeline to
    create, or, with *coverage*, their quota, of which each period's target
    is *coverage* times (``coverage=3``: create three times quota, the usual
    rule of thumb), rounded to the currency's minor unit.  A target counts
    whole in a period the window cuts (it is not prorated: give a window of
    whole periods).  Attainment is the amount created in the target's
    currency over the target; a deal in another currency than its owner's
    target raises :class:`~funnelkit.errors.CurrencyMismatchError` naming
    it.  Deals without an amount count, adding nothing; every deal created
    in the window is in exactly one row.

    A book worked by hand: Ann's quota is 1,000 a month at 3x coverage, so
    her target of new pipeline is 3,000 a month; she created 1,200 + 900 in
    March and nothing in April.

    >>> import datetime as dt
    >>> from funnelkit import Money, Opportunity
    >>> def deal(i, day, amount):
    ...     t = dt.datetime(2026, 3, 1, tzinfo=dt.UTC) + dt.timedelta(days=day)
    ...     return Opportunity(id=i, customer_id="c", owner="ann", pipeline="default", stage="contact",
    ...                        created_at=t, stage_entered_at=t, amount=Money.of(amount, "USD"))
    >>> report = pipeline_generation(
    ...     [deal("a", 3, 1200), deal("b", 20, 900)], start=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    ...     end=dt.datetime(2026, 5, 1, tzinfo=dt.UTC), targets={"ann": Money.of(1000, "USD")}, coverage=3)
    >>> [(str(r.start), r.deals, str(r.created), str(r.target), str(r.attainment)) for r in report.rows]
    [('2026-03-01', 2, '2100 USD', '3000.00 USD', '7/10'), ('2026-04-01', 0, '0 USD', '3000.00 USD', '0')]

    Cost: O(n + t p + r log r) for n deals, t targets, p periods and r rows.
    """
    deals = deals_listed(opportunities)
    first = instant(start, field="start")
    last = instant(end, field="end")
    if last <= first:
        raise ValidationError.single("end", f"{last.isoformat()} is not after start", code="order")
    grain = grain_of(period)
    zone = zone_of(tz)
    multiple = _coverage(coverage)
    goal = {} if targets is None else _targets(targets, multiple)
    periods = _periods(first, last, grain, zone)
    acc: dict[tuple[str, dt.date], list[Any]] = {}
    for owner in goal:
        for p in periods:
            acc[owner, p] = [0, {}]
    for i, o in enumerate(deals):
        at = o.created_at
        if not first <= at < last:
            continue
        owner = o.owner
        target = goal.get(owner)
        amount = o.amount
        if target is not None and amount is not None and amount.currency != target.currency:
            raise CurrencyMismatchError(
                "compare a target and a deal in",
                target.currency,
                amount.currency,
                path=f"opportunities[{i}].amount",
            )
        p = first_day(local_day(at, zone, f"opportunities[{i}].created_at"), grain)
        got = acc.get((owner, p))
        if got is None:
            got = acc[owner, p] = [0, {}]
        got[0] += 1
        add_money(got[1], amount)
    rows = tuple(
        GenerationRow(owner=owner, start=p, deals=n, amounts=sums(money), target=goal.get(owner))
        for (owner, p), (n, money) in sorted(acc.items())
    )
    return PipelineGeneration(start=first, end=last, rows=rows, period=grain, tz=zone, coverage=multiple)


def _coverage(value: object) -> Fraction:
    """*value* as an exact multiple in (0, MAX_COVERAGE]; else an error at ``coverage``."""
    number = exact(value)
    if number is None:
        problem = c.wrong_type(value, "a number (an int, a Decimal or a str such as '3' or '2.5')")
        raise c.at("coverage", problem)
    if not 0 < number <= MAX_COVERAGE:
        msg = f"{c.show(value)} is not a multiple in (0, {MAX_COVERAGE}]"
        raise ValidationError.single("coverage", msg, code="range")
    return number


def _targets(targets: object, multiple: Fraction) -> dict[str, Money]:
    """*targets* (owner -> Money >= 0) times *multiple*, each rounded; a problem per bad entry."""
    table = c.to_mapping(targets, "targets")  # a pandas Series
    if not isinstance(table, Mapping):
        raise c.at("targets", c.wrong_type(table, "a mapping of owner to Money"))
    out: dict[str, Money] = {}
    problems: list[Problem] = []
    for owner, money in table.items():
        if not isinstance(owner, str) or not isinstance(money, Money) or money.amount < 0:
            code = "range" if isinstance(owner, str) and isinstance(money, Money) else "type"
            what = "an owner id (a str)" if not isinstance(owner, str) else "Money >= 0"
            value = owner if not isinstance(owner, str) else money
            problems.append(
                Problem(path=f"targets[{c.show(owner)}]", code=code, message=f"{c.show(value)} is not {what}")
            )
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        try:
            scaled = money * Decimal(multiple.numerator) / multiple.denominator
            product = money if multiple == 1 else scaled.round()
        except ValidationError:  # the product is more than Money holds: name the target, not the sum
            msg = f"{c.show(money)} times the coverage {multiple} is more than an amount may be"
            problems.append(Problem(path=f"targets[{c.show(owner)}]", code="limit", message=msg))
            continue
        out[owner] = product
    if problems:
        raise ValidationError(problems)
    return dict(sorted(out.items()))


def _periods(first: dt.datetime, last: dt.datetime, grain: Grain, zone: dt.tzinfo) -> list[dt.date]:
    """The first days of the periods ``[first, last)`` touches, in order (at most MAX_PERIODS)."""
    day = first_day(local_day(first, zone, "start"), grain)
    final = first_day(local_day(last - _MICROSECOND, zone, "end"), grain)
    out: list[dt.date] = []
    current: dt.date | None = day
    while current is not None and current <= final:
        if len(out) >= MAX_PERIODS:
            msg = f"{last.isoformat()} is more than {MAX_PERIODS:,} periods of a {grain} after start"
            raise ValidationError.single("end", msg, code="limit")
        out.append(current)
        current = next_first_day(current, grain)
    return out


# --- cohorts ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CohortRow:
    """
    The deals created in the period starting on *start* (local): how many,
    how many reached each open stage by now (*reached*, in the pipeline's
    order: at that stage or past it), how many are won, lost and still
    open, and the amounts created and won, one sum per currency.
    """

    start: dt.date
    created: int
    reached: tuple[int, ...]
    won: int
    lost: int
    open: int
    created_amounts: tuple[Money, ...] = ()
    won_amounts: tuple[Money, ...] = ()

    @property
    def win_rate(self) -> Fraction | None:
        """
        Won / created (a young cohort's still grows); ``None`` for an empty cohort.

        Cost: O(1).
        """
        return Fraction(self.won, self.created) if self.created else None


@attrs.frozen(kw_only=True, repr=False)
class Cohorts(Report):
    """
    The deals of one pipeline by the *period* they were created in (zone
    *tz*), and how far each cohort had come at *now*: a
    :class:`CohortRow` per period with a deal, in order.  *stages* are the
    pipeline's open stages, in order: ``reached`` counts per stage.

    A :class:`~funnelkit.Report`: one row per cohort with ``created``, a
    ``reached_<stage>`` column per open stage, ``won``, ``lost``, ``open``,
    ``win_rate`` and ``created_amount_<currency>`` and
    ``won_amount_<currency>`` columns.

    :meth:`merge` adds the cohorts of partitions split by deal (each deal
    with its events in one partition) into exactly the cohorts of the whole.
    """

    pipeline: str
    stages: tuple[str, ...]
    now: dt.datetime
    rows: tuple[CohortRow, ...]
    period: Grain = "month"
    tz: dt.tzinfo = dt.UTC

    def merge(self, other: Cohorts) -> Cohorts:
        """
        The cohorts of the deals of both (partitions split by deal): exactly
        what :func:`cohorts` gives over all of them.  Cohorts of another
        pipeline, stages, instant, period or zone are refused by name
        (``other.pipeline``, ...; code ``conflict``).

        Cost: O((r + s) (k + log(r + s))) for r and s rows and k stages.
        """
        c.require(other, Cohorts, "a Cohorts", "other")
        for field in ("pipeline", "stages", "now", "period", "tz"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "cohorts")
        acc: dict[dt.date, CohortRow] = {}
        for r in (*self.rows, *other.rows):
            got = acc.get(r.start)
            acc[r.start] = r if got is None else _sum_rows(got, r)
        return attrs.evolve(self, rows=tuple(acc[k] for k in sorted(acc)))

    def _summary(self) -> str:
        created = sum(r.created for r in self.rows)
        won = sum(r.won for r in self.rows)
        return (
            f"{self.pipeline}: {created:,} deals in {c.counted(len(self.rows), 'cohort')} by {self.period}, "
            f"{won:,} won at {self.now.isoformat()}"
        )

    def _rows(self) -> list[dict[str, object]]:
        created = sorted({m.currency for r in self.rows for m in r.created_amounts})
        won = sorted({m.currency for r in self.rows for m in r.won_amounts})
        return [
            {
                "start": r.start,
                "created": r.created,
                **{f"reached_{s}": n for s, n in zip(self.stages, r.reached, strict=True)},
                "won": r.won,
                "lost": r.lost,
                "open": r.open,
                "win_rate": r.win_rate,
                **amount_cells("created_amount", r.created_amounts, created),
                **amount_cells("won_amount", r.won_amounts, won),
            }
            for r in self.rows
        ]


def _sum_rows(a: CohortRow, b: CohortRow) -> CohortRow:
    """One cohort over the deals of both."""
    return CohortRow(
        start=a.start,
        created=a.created + b.created,
        reached=tuple(x + y for x, y in zip(a.reached, b.reached, strict=True)),
        won=a.won + b.won,
        lost=a.lost + b.lost,
        open=a.open + b.open,
        created_amounts=added(a.created_amounts, b.created_amounts),
        won_amounts=added(a.won_amounts, b.won_amounts),
    )


def cohorts(
    opportunities: Iterable[Opportunity],
    events: Iterable[DealEvent],
    pipeline: Pipeline,
    *,
    now: dt.datetime,
    period: str = "month",
    tz: dt.tzinfo | str = "UTC",
) -> Cohorts:
    """
    A cohort table of *pipeline*'s deals: by the local *period* (``week``,
    ``month``, ``quarter`` or ``year`` in zone *tz*) they were created in,
    how many reached each open stage by *now*, and how many are won, lost
    and open.

    A deal reached a stage when it was in it or in a later open stage at
    any time up to *now*: its stage as given, and the stages its moves in
    *events* left and entered (a move back does not undo the furthest
    reached; a skip passes the stages between).  A won deal reached every
    open stage; every deal reached the first.  So each row's ``reached``
    never grows along the stages, and ``won + lost + open = created``.

    What was not known at *now* is refused, as :func:`expected_bookings`
    refuses it: an event after it (``events[i].at``), a deal created or
    moved after it (``opportunities[i].created_at``, ``.stage_entered_at``).
    Deals of other pipelines are left out.

    A book worked by hand, in the default pipeline: in March ``a`` was
    created and won, ``b`` went from contact to proposal and was lost, ``c``
    was created and still sits in contact; in April ``d`` was created.

    >>> import datetime as dt
    >>> from funnelkit import Opportunity
    >>> from funnelkit.stages import StageChanged, default_pipeline
    >>> t, day = dt.datetime(2026, 3, 2, tzinfo=dt.UTC), dt.timedelta(days=1)
    >>> def deal(i, stage, status, created, moved):
    ...     return Opportunity(id=i, customer_id="c", owner="ann", pipeline="default", stage=stage,
    ...                        status=status, created_at=created, stage_entered_at=moved,
    ...                        lost_reason="price" if status == "lost" else None)
    >>> def move(i, kind, a, b, at, version):
    ...     return StageChanged(opportunity_id=i, pipeline="default", kind=kind, from_stage=a, to_stage=b,
    ...                         at=at, actor="ann", version=version, time_in_stage=day,
    ...                         lost_reason="price" if kind == "lose" else None)
    >>> book = [deal("a", "won", "won", t, t + 9 * day), deal("b", "lost", "lost", t, t + 6 * day),
    ...         deal("c", "contact", "open", t, t), deal("d", "contact", "open", t + 31 * day, t + 31 * day)]
    >>> log = [move("b", "advance", "contact", "needs_confirmed", t + 2 * day, 1),
    ...        move("b", "advance", "needs_confirmed", "proposal", t + 4 * day, 2),
    ...        move("b", "lose", "proposal", "lost", t + 6 * day, 3)]
    >>> table = cohorts(book, log, default_pipeline(), now=t + 40 * day)
    >>> [(str(r.start), r.created, r.reached[:4], r.won, r.lost, r.open) for r in table.rows]
    [('2026-03-01', 3, (3, 2, 2, 1), 1, 1, 1), ('2026-04-01', 1, (1, 0, 0, 0), 0, 0, 1)]

    Cost: O(n + e) for n deals and e events, and O(g log g) for g cohorts.
    """
    deals = deals_listed(opportunities)
    given = events_listed(events)
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    at = instant(now, field="now")
    grain = grain_of(period)
    zone = zone_of(tz)
    _known_at(deals, given, at)
    stages = tuple(s.key for s in pipeline.open_stages)
    place = {k: n for n, k in enumerate(stages)}
    every = len(stages) - 1
    furthest: dict[str, int] = {}
    mine: list[tuple[int, Opportunity]] = []
    for i, o in enumerate(deals):
        if o.pipeline != pipeline.key:
            continue
        if o.stage not in pipeline:
            msg = f"{o.stage!r} is not a stage of {pipeline.key!r}"
            raise ValidationError.single(f"opportunities[{i}].stage", msg, code="reference")
        mine.append((i, o))
        furthest[o.id] = max(0, place.get(o.stage, 0))
    for i, e in enumerate(given):
        if type(e) is not StageChanged or e.pipeline != pipeline.key:
            continue
        got = furthest.get(e.opportunity_id)
        if got is None:
            continue
        for field in ("from_stage", "to_stage"):
            key = getattr(e, field)
            if key not in pipeline:
                msg = f"{key!r} is not a stage of {pipeline.key!r}"
                raise ValidationError.single(f"events[{i}].{field}", msg, code="reference")
            got = max(got, place.get(key, 0))
        furthest[e.opportunity_id] = got
    acc: dict[dt.date, list[Any]] = {}
    for i, o in mine:
        p = first_day(local_day(o.created_at, zone, f"opportunities[{i}].created_at"), grain)
        row = acc.get(p)
        if row is None:
            row = acc[p] = [0, [0] * len(stages), 0, 0, 0, {}, {}]
        row[0] += 1
        reach = every if o.status is _WON else furthest[o.id]
        counts = row[1]
        for k in range(reach + 1):
            counts[k] += 1
        row[2 if o.status is _WON else 3 if o.status is _LOST else 4] += 1
        add_money(row[5], o.amount)
        if o.status is _WON:
            add_money(row[6], o.amount)
    rows = tuple(
        CohortRow(
            start=p,
            created=n,
            reached=tuple(reached),
            won=won,
            lost=lost,
            open=still,
            created_amounts=sums(made),
            won_amounts=sums(booked),
        )
        for p, (n, reached, won, lost, still, made, booked) in sorted(acc.items())
    )
    return Cohorts(pipeline=pipeline.key, stages=stages, now=at, rows=rows, period=grain, tz=zone)
