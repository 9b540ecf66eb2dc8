"""
Forecasts against targets: attainment, gap and pipeline coverage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import cast

import attrs

from .. import _checks as c
from .._money import Money
from .._report import Report, conflict
from .._repr import html_table
from .._splits import CreditSplits, Split, splits_of
from .._time import zone as zone_of
from ..entities import Opportunity, OpportunityStatus
from ..errors import CurrencyMismatchError, Problem, ValidationError
from ..stages import Pipeline
from ._weighted import pipeline_table


@attrs.frozen(kw_only=True)
class TargetLine:
    """
    One owner (or the team, ``owner=None``) against their target for the
    period.

    *won*: deals won in the period.  *open_pipeline*: open deals expected to
    close in the period, at full amount; *weighted_open*: the same at their
    stage probability.  *attainment* = won / target; *remaining* = target -
    won (negative once exceeded); *coverage* = open pipeline / remaining
    (``None`` once the target is met); *forecast* = won + weighted open.
    """

    owner: str | None
    target: Money
    won: Money
    open_pipeline: Money
    weighted_open: Money
    attainment: Fraction | None
    remaining: Money
    coverage: Fraction | None
    forecast: Money


@attrs.frozen(kw_only=True, repr=False)
class TargetReport(Report):
    """
    Every owner with a target, and the team total (when all targets share a
    currency), for the local dates ``[start, end)`` in zone *tz*.

    Sums of deals, each rounded on its own: :meth:`merge` adds the reports
    of partitions of the deals into exactly the report of all of them.

    A :class:`~funnelkit.Report`: its table has one row per owner, then the
    team's (``owner`` ``None``), with every field of :class:`TargetLine`.
    """

    start: dt.date
    end: dt.date
    lines: tuple[TargetLine, ...]
    total: TargetLine | None
    tz: dt.tzinfo = dt.UTC

    def _summary(self) -> str:
        head = f"{len(self.lines)} owners, {self.start} to {self.end} (exclusive)"
        team = self.total
        if team is None:
            return f"{head}; targets in several currencies, no team total"
        attained = "-" if team.attainment is None else f"{float(team.attainment):.1%}"
        return f"{head}; team won {team.won} of {team.target} ({attained}), forecast {team.forecast}"

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per owner, then the team's: every field of the line, amounts as Money.
        """
        every = (*self.lines, *([self.total] if self.total else []))
        return [attrs.asdict(ln, recurse=False) for ln in every]

    def _repr_html_(self) -> str:
        """
        The summary, then one row per owner and the team's: amounts with
        their currency, attainment as a percentage, coverage as a multiple
        (a narrower table than the records, which split every amount).
        """
        headers = [
            *("owner", "target", "won", "attainment", "coverage"),
            *("open pipeline", "remaining", "forecast"),
        ]
        rows = [
            (
                ln.owner or "team",
                ln.target,
                ln.won,
                None if ln.attainment is None else f"{float(ln.attainment):.1%}",
                None if ln.coverage is None else f"{float(ln.coverage):.2f}x",
                ln.open_pipeline,
                ln.remaining,
                ln.forecast,
            )
            for ln in (*self.lines, *([self.total] if self.total else []))
        ]
        return f"<div>{html_table(headers, rows, caption=f'TargetReport: {self._summary()}')}</div>"

    def merge(self, other: TargetReport) -> TargetReport:
        """
        The report over the deals of both (partitions of the deals, each deal
        in one): exactly the report of all the deals.  Reports of another
        period, zone or other targets are refused by name (``other.start``,
        ``other.end``, ``other.tz``, ``other.lines``; code ``conflict``).
        Cost: O(t) for t targets.
        """
        c.require(other, TargetReport, "a TargetReport", "other")
        for field in ("start", "end", "tz"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "period")
        mine = {ln.owner: ln.target for ln in self.lines}
        theirs = {ln.owner: ln.target for ln in other.lines}
        if mine != theirs:
            raise conflict("lines", mine, theirs, "targets")
        by_owner = {ln.owner: ln for ln in other.lines}
        lines = tuple(_sum(ln, by_owner[ln.owner]) for ln in self.lines)
        total = None
        if self.total is not None and other.total is not None:
            total = _sum(self.total, other.total)
        return TargetReport(start=self.start, end=self.end, lines=lines, total=total, tz=self.tz)

    def line(self, owner: str) -> TargetLine:
        """
        The line of one owner.
        Cost: O(t) for t lines.
        """
        for ln in self.lines:
            if ln.owner == owner:
                return ln
        raise ValidationError.single(
            "owner", f"{c.show(owner)} has no target in this report", code="reference"
        )


def _sum(a: TargetLine, b: TargetLine) -> TargetLine:
    """
    One owner's line over the deals of both.
    """
    sums = [a.won + b.won, a.open_pipeline + b.open_pipeline, a.weighted_open + b.weighted_open]
    return _line(a.owner, a.target, sums)


def _line(owner: str | None, target: Money, sums: list[Money]) -> TargetLine:
    won, pipeline, weighted = sums
    remaining = target - won
    return TargetLine(
        owner=owner,
        target=target,
        won=won,
        open_pipeline=pipeline,
        weighted_open=weighted,
        attainment=None if target.is_zero() else Fraction(won.amount) / Fraction(target.amount),
        remaining=remaining,
        coverage=Fraction(pipeline.amount) / Fraction(remaining.amount) if remaining.amount > 0 else None,
        forecast=won + weighted,
    )


def against_targets(
    opportunities: Iterable[Opportunity],
    pipelines: Pipeline | Mapping[str, Pipeline],
    *,
    targets: Mapping[str, Money],
    start: dt.date,
    end: dt.date,
    tz: dt.tzinfo | str = "UTC",
    splits: CreditSplits | Iterable[Split] | None = None,
) -> TargetReport:
    """
    Each owner's deals against their target over the local dates
    ``[start, end)`` in *tz*: won in the period (by the day the deal was
    won), open deals expected to close in it (full and weighted, rounded per
    deal), attainment, what remains, pipeline coverage (open pipeline /
    remaining target: the usual rule of thumb wants 3x) and the forecast.

    Deals of owners without a target are left out; deals in another currency
    than their owner's target raise :class:`~funnelkit.errors.CurrencyMismatchError`
    (convert them first), naming the deal.  With *splits*
    (:class:`~funnelkit.CreditSplits`), a split deal counts for each of its
    reps with a target by their share: its amount, and its weighted amount
    rounded once for the deal, allocated in whole minor units.  Cost: O(n +
    t) for n deals and t targets.

    >>> import datetime as dt
    >>> from funnelkit.stages import default_pipeline
    >>> t = dt.datetime(2026, 4, 2, tzinfo=dt.UTC)
    >>> def deal(i, stage, amount):
    ...     return Opportunity(id=i, customer_id="c", owner="ann", pipeline="default", stage=stage,
    ...                        status="won" if stage == "won" else "open", created_at=t, stage_entered_at=t,
    ...                        amount=Money.of(amount, "USD"), expected_close=dt.date(2026, 5, 1))
    >>> deals = [deal("a", "won", "400"), deal("b", "proposal", "1000"), deal("c", "negotiation", "500")]
    >>> report = against_targets(deals, default_pipeline(), targets={"ann": Money.of("1000", "USD")},
    ...                          start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1))
    >>> ln = report.line("ann")
    >>> ln.attainment, ln.remaining, ln.coverage, ln.forecast
    (Fraction(2, 5), Money('600', 'USD'), Fraction(5, 2), Money('1250.00', 'USD'))
    """
    table = pipeline_table(pipelines)
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    targets, problems = _target_problems(targets, start, end)
    if problems:
        raise ValidationError(problems)
    credit = splits_of(splits)
    split = frozenset(credit.deals) if credit is not None else frozenset()
    zone = zone_of(tz)
    sums = {owner: [Money.zero(t.currency)] * 3 for owner, t in targets.items()}
    for i, opp in enumerate(opportunities):
        if not isinstance(opp, Opportunity):
            c.require(opp, Opportunity, "an Opportunity", f"opportunities[{i}]")
        if opp.amount is None or opp.status is OpportunityStatus.LOST:
            continue
        if opp.id not in split:  # the usual deal: all its owner's
            acc = sums.get(opp.owner)
            if acc is None:
                continue
            _same_currency(opp, i, targets[opp.owner].currency)
            counted = _counted(opp, i, table=table, start=start, end=end, zone=zone)
            if counted is not None:
                slot, amount, weighted = counted
                acc[slot] += amount
                if weighted is not None:
                    acc[2] += weighted
            continue
        _add_split(
            sums, targets, opp, i, cast("CreditSplits", credit), table=table, start=start, end=end, zone=zone
        )
    lines = tuple(_line(owner, targets[owner], sums[owner]) for owner in targets)
    currencies = {t.currency for t in targets.values()}
    total = None
    if len(currencies) == 1:
        (cur,) = currencies
        team = [Money.total((s[k] for s in sums.values()), currency=cur) for k in range(3)]
        total = _line(None, Money.total(targets.values(), currency=cur), team)
    return TargetReport(start=start, end=end, lines=lines, total=total, tz=zone)


def _target_problems(
    targets: object, start: dt.date, end: dt.date
) -> tuple[Mapping[str, Money], list[Problem]]:
    """*targets* as a mapping (a pandas Series read through), and the problems of the arguments."""
    problems = []
    targets = c.to_mapping(targets, "targets")  # a pandas Series
    if not isinstance(targets, Mapping) or not targets:
        problems.append(
            Problem(
                path="targets",
                code="empty" if isinstance(targets, Mapping) else "type",
                message=f"{c.show(targets)} is not a non-empty mapping of owner to Money",
            )
        )
    else:
        for owner, money in targets.items():
            if not isinstance(money, Money) or money.amount < 0:
                problems.append(
                    Problem(
                        path=f"targets[{c.show(owner)}]",
                        code="range" if isinstance(money, Money) else "type",
                        message=f"{c.show(money)} is not Money >= 0",
                    )
                )
    for name, day in (("start", start), ("end", end)):
        problem = c.calendar_date(day)
        if problem is not None:
            problems.append(problem.prefixed(name))
    if not problems and end <= start:
        problems.append(Problem(path="end", code="order", message=f"{end} is not after start {start}"))
    return cast("Mapping[str, Money]", targets), problems


def _add_split(
    sums: dict[str, list[Money]],
    targets: Mapping[str, Money],
    opp: Opportunity,
    i: int,
    credit: CreditSplits,
    *,
    table: Mapping[str, Pipeline],
    start: dt.date,
    end: dt.date,
    zone: dt.tzinfo,
) -> None:
    """Add a split deal's won or open amount to each of its reps with a target, by their shares."""
    reps = credit._weights[opp.id][0]  # noqa: SLF001 - the deal is split, and checked
    if not any(rep in sums for rep in reps):
        return
    for rep in reps:
        if rep in sums:
            _same_currency(opp, i, targets[rep].currency)
    counted = _counted(opp, i, table=table, start=start, end=end, zone=zone)
    if counted is None:
        return
    slot, amount, weighted = counted
    for rep, part in credit._allocate(opp.id, opp.owner, amount):  # noqa: SLF001 - checked arguments
        if rep in sums:
            sums[rep][slot] += part
    if weighted is not None:
        for rep, part in credit._allocate(opp.id, opp.owner, weighted):  # noqa: SLF001 - checked arguments
            if rep in sums:
                sums[rep][2] += part


def _same_currency(opp: Opportunity, i: int, currency: str) -> None:
    """Refuse a deal in another currency than the target it counts towards."""
    amount = cast("Money", opp.amount)
    if amount.currency != currency:
        raise CurrencyMismatchError(
            "compare a target and a deal in",
            currency,
            amount.currency,
            path=f"opportunities[{i}].amount",
        )


def _counted(
    opp: Opportunity,
    i: int,
    *,
    table: Mapping[str, Pipeline],
    start: dt.date,
    end: dt.date,
    zone: dt.tzinfo,
) -> tuple[int, Money, Money | None] | None:
    """
    How one deal (with an amount, not lost) counts: won in the period (slot
    0, its amount), or open and expected to close in it (slot 1, its amount
    and its weighted amount, rounded); ``None`` when it does not count.
    """
    amount = cast("Money", opp.amount)
    if opp.status is OpportunityStatus.WON:
        if start <= opp.stage_entered_at.astimezone(zone).date() < end:
            return 0, amount, None
        return None
    if opp.expected_close is None or not start <= opp.expected_close < end:
        return None
    pipeline = table.get(opp.pipeline)
    if pipeline is None or opp.stage not in pipeline:
        msg = f"{opp.pipeline!r}/{opp.stage!r} is not a stage of the pipelines given"
        raise ValidationError.single(f"opportunities[{i}].stage", msg, code="reference")
    return 1, amount, (amount * pipeline.stage(opp.stage).probability).round()
