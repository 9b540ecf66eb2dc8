"""
Fairness of lead distribution over a period: what each rep got against what
their capacity entitles them to, and how unequal it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

import attrs

from .. import _checks as c
from .._money import _RATIO_CONTEXT, Money, currency_minor_units, decimal_of
from .._report import Report, conflict, money_cells
from .._splits import CreditSplits, Split, splits_of
from .._time import instant
from ..entities import Opportunity
from ..errors import MAX_LISTED, CurrencyMismatchError, Problem, ValidationError
from ._assign import Decision
from ._roulette import Offer
from ._team import Team


def _money(value: Fraction, currency: str) -> Money:
    """
    *value* as Money, rounded half-even to the currency's minor unit.
    """
    exp = Decimal(1).scaleb(-currency_minor_units(currency))
    return Money(amount=decimal_of(value).quantize(exp, context=_RATIO_CONTEXT), currency=currency)


def gini(values: Sequence[int | Decimal | Fraction]) -> Fraction:
    """
    The Gini coefficient of non-negative *values*: the mean absolute
    difference over every ordered pair, divided by twice the mean,
    ``sum |xi - xj| / (2 n^2 mean)``; 0 when all are equal, ``(n-1)/n`` when
    one value holds everything.  0 for no values or an all-zero list.  Cost: O(n log n) for n values.

    >>> gini([1, 2, 3, 4, 5])
    Fraction(4, 15)
    """
    if not c.is_iterable(values):
        raise c.at("values", c.wrong_type(values, "an iterable of numbers"))
    xs = []
    problems = []
    for i, v in enumerate(values):
        v = c.plain(v)  # noqa: PLW2901 - a numpy int read as an int
        ok = isinstance(v, int | Decimal | Fraction) and not isinstance(v, bool)
        if ok and isinstance(v, Decimal) and not v.is_finite():
            ok = False
        if not ok:
            problems.append(
                Problem(
                    path=f"values[{i}]",
                    code="range" if isinstance(v, Decimal) else "type",
                    message=f"{c.show(v)} is not a finite int, Decimal or Fraction",
                )
            )
        elif v < 0:
            problems.append(
                Problem(path=f"values[{i}]", code="range", message=f"{v} is negative; Gini needs values >= 0")
            )
        else:
            xs.append(Fraction(v))
    if problems:
        raise ValidationError(problems)
    xs.sort()
    n = len(xs)
    total = sum(xs, Fraction(0))
    if n == 0 or total == 0:
        return Fraction(0)
    # sorted ascending: G = 2 * sum(i * x_i) / (n * sum x) - (n + 1) / n, i = 1..n
    weighted = sum((i * x for i, x in enumerate(xs, 1)), Fraction(0))
    return Fraction(2) * weighted / (n * total) - Fraction(n + 1, n)


@attrs.frozen(kw_only=True)
class RepFairness:
    """
    One rep's share: *leads* and *value* received; *expected* leads and
    *expected_value* by capacity weight; *ratio* = leads / expected and
    *value_ratio* = value / expected value (``None`` when nothing was
    expected); and their roulette offers by outcome.  With credit splits
    (``fairness(splits=...)``) a lead whose deal is split counts by each
    rep's share, so *leads* may be a Fraction.
    """

    rep_id: str
    in_team: bool
    weight: int
    leads: int | Fraction
    value: Money | None
    expected: Decimal
    ratio: Fraction | None
    expected_value: Money | None = None
    value_ratio: Fraction | None = None
    claimed: int = 0
    declined: int = 0
    lapsed: int = 0
    skipped: int = 0


@attrs.frozen(kw_only=True, repr=False)
class FairnessReport(Report):
    """
    Lead distribution over ``[start, end)``; see :func:`fairness`.

    ``to_records()`` and ``to_frame()`` give one row per rep (the team's in
    its order, then the others by id), money split into amount and currency.

    Counts and sums per rep, so :meth:`merge` adds the reports of
    partitions split by lead (each lead with all its decisions in one
    partition; each offer in one) into exactly the report of the whole: the
    expected shares, ratios and Gini coefficients are worked out again from
    the sums.
    """

    start: dt.datetime
    end: dt.datetime
    leads: int
    unassigned: int
    gini: Fraction
    value_gini: Fraction | None
    rows: tuple[RepFairness, ...]

    def merge(self, other: FairnessReport) -> FairnessReport:
        """
        The fairness of the decisions and offers of both, for partitions
        split by lead: exactly what :func:`fairness` gives over all of them
        with the same team.  A report of another period, or another team
        (other reps or weights), is refused by name (``other.start``,
        ``other.end``, ``other.rows``; code ``conflict``); lead values in
        two currencies raise :class:`~funnelkit.errors.CurrencyMismatchError`,
        as one pass does.
        Cost: O(m log m) for m reps.
        """
        c.require(other, FairnessReport, "a FairnessReport", "other")
        for field in ("start", "end"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "period")
        team = {r.rep_id: r.weight for r in self.rows if r.in_team}
        theirs = {r.rep_id: r.weight for r in other.rows if r.in_team}
        if list(team.items()) != list(theirs.items()):
            raise conflict("rows", team, theirs, "team (reps and weights)")
        counts: dict[str, int | Fraction] = {}
        values: dict[str, Money] = {}
        currency: str | None = None
        outcomes: dict[str, dict[str, int]] = {}
        for r in (*self.rows, *other.rows):
            counts[r.rep_id] = counts.get(r.rep_id, 0) + r.leads
            if r.value is not None:
                if currency is None:
                    currency = r.value.currency
                elif r.value.currency != currency:
                    raise CurrencyMismatchError("sum lead values of", currency, r.value.currency)
                values[r.rep_id] = values[r.rep_id] + r.value if r.rep_id in values else r.value
            per = outcomes.setdefault(r.rep_id, {})
            for outcome in _OUTCOMES:
                per[outcome] = per.get(outcome, 0) + getattr(r, outcome)
        weights = {**team, **dict.fromkeys(sorted(counts.keys() - team.keys()), 0)}
        return _report(
            self.start,
            self.end,
            _Sums(counts, values, currency, self.unassigned + other.unassigned, outcomes),
            weights,
            team.keys(),
        )

    def row(self, rep_id: str) -> RepFairness:
        """
        The row of one rep.
        Cost: O(m) for m rows.
        """
        for r in self.rows:
            if r.rep_id == rep_id:
                return r
        raise ValidationError.single("rep_id", f"{c.show(rep_id)} is not in this report", code="reference")

    def _summary(self) -> str:
        value_gini = "" if self.value_gini is None else f", value Gini {float(self.value_gini):.4f}"
        return (
            f"{c.counted(self.leads, 'lead')} to {c.counted(len(self.rows), 'rep')} "
            f"({self.unassigned:,} unassigned), {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M}; "
            f"Gini {float(self.gini):.4f}{value_gini}"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per rep: what they got against what their weight entitles them to.
        """
        for r in self.rows:
            yield {
                "rep_id": r.rep_id,
                "in_team": r.in_team,
                "weight": r.weight,
                "leads": r.leads,
                **money_cells("value", r.value),
                "expected": r.expected,
                "ratio": r.ratio,
                **money_cells("expected_value", r.expected_value),
                "value_ratio": r.value_ratio,
                "claimed": r.claimed,
                "declined": r.declined,
                "lapsed": r.lapsed,
                "skipped": r.skipped,
            }


def fairness(
    decisions: Iterable[Decision],
    *,
    team: Team,
    start: dt.datetime,
    end: dt.datetime,
    offers: Iterable[Offer] = (),
    splits: CreditSplits | Iterable[Split] | None = None,
    opportunities: Iterable[Opportunity] | None = None,
) -> FairnessReport:
    """
    How fairly leads were spread over ``[start, end)``.
    Cost: O(d + o q + m + p) for d decisions, o offers of q reps each, m
    reps and p opportunities.

    Each active rep's *weight* is their capacity (a rep with no limit weighs
    like the largest limit in the team, or 1); their expected share of the
    period's assigned leads is ``leads * weight / sum of weights``.  *gini* is
    the Gini coefficient (:func:`gini`) of leads per unit of weight over the
    active reps: 0 is perfectly proportional to capacity; *value_gini* the
    same for lead value.  A lead with several decisions in the period (routed,
    then claimed in the roulette) counts once, by its latest.  Reps who got leads
    but are no longer in *team*, or are inactive, appear with weight 0.
    *offers* made in the period add each rep's roulette outcomes, as they
    stand at *end*.  Lead values must share one currency.

    With *splits* (:class:`~funnelkit.CreditSplits`) and the
    *opportunities* the leads became (an opportunity's ``lead_id`` names
    its lead; the earliest created, then by id, when several do), a lead
    whose deal is split is credited to the deal's reps by their shares: a
    rep with a third of it counts a third of a lead, and the lead's value
    is allocated by the shares in whole minor units
    (:meth:`CreditSplits.allocate`).  The leads and values credited add up
    to those placed, so the totals are unchanged; the ratios and Gini
    coefficients read the credit.  The two come together: *splits* without
    *opportunities*, or the reverse, is refused naming the one missing
    (code ``missing``), and so is an opportunity id listed twice
    (``opportunities[i].id``, code ``duplicate``).

    >>> import datetime as dt
    >>> from funnelkit import CreditSplits, Opportunity, SalesRep, Split
    >>> from funnelkit.assignment import Decision, Team
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> team = Team(reps=[SalesRep(id=r, name=r, capacity=10) for r in ("ann", "bob")])
    >>> made = [Decision(lead_id=f"l{i}", rep_id="ann", by=None, reason="routed", at=t) for i in (1, 2)]
    >>> deal = Opportunity(id="o1", customer_id="c1", owner="ann", pipeline="default", stage="contact",
    ...                    created_at=t, stage_entered_at=t, lead_id="l1")
    >>> splits = [Split(opportunity_id="o1", owner="ann", share="1/2"),
    ...           Split(opportunity_id="o1", owner="bob", share="1/2")]
    >>> report = fairness(made, team=team, start=t, end=t + dt.timedelta(days=1), splits=splits,
    ...                   opportunities=[deal])
    >>> [(r.rep_id, r.leads) for r in report.rows]
    [('ann', Fraction(3, 2)), ('bob', Fraction(1, 2))]
    """
    c.require(team, Team, "a Team", "team")
    start = instant(start, field="start")
    end = instant(end, field="end")
    if end <= start:
        raise ValidationError.single(
            "end", f"{end.isoformat()} is not after start {start.isoformat()}", code="order"
        )
    c.require_iterable(decisions, "Decision", "decisions")
    c.require_iterable(offers, "Offer", "offers")
    credit = splits_of(splits)
    deals = {} if opportunities is None else _deal_of_lead(opportunities)
    if (splits is None) != (opportunities is None):
        missing, given = ("opportunities", "splits") if opportunities is None else ("splits", "opportunities")
        msg = (
            f"missing; {given}= is read with {missing}= (the deals the leads became and their credit splits)"
        )
        raise ValidationError.single(missing, msg, code="missing")
    latest = _latest(decisions, start, end)
    counts, values, currency, unassigned = _counted(latest, credit, deals)
    outcomes = _offer_outcomes(offers, start, end)
    limits = [r.capacity for r in team.reps if r.capacity]
    unlimited = max(limits, default=1)
    weights = {r.id: (unlimited if r.capacity is None else r.capacity) if r.active else 0 for r in team.reps}
    for rep in sorted({*counts, *outcomes} - weights.keys()):  # by id: the order of the input does not count
        weights[rep] = 0
    sums = _Sums(counts, values, currency, unassigned, outcomes)
    return _report(start, end, sums, weights, {r.id for r in team.reps})


#: The roulette outcomes a rep's row counts.
_OUTCOMES = ("claimed", "declined", "lapsed", "skipped")


@attrs.frozen
class _Sums:
    """Per rep: leads, lead value, roulette outcomes; the values' one currency; leads placed with no one."""

    counts: dict[str, int | Fraction]
    values: dict[str, Money]
    currency: str | None
    unassigned: int
    outcomes: dict[str, dict[str, int]]


def _report(
    start: dt.datetime, end: dt.datetime, sums: _Sums, weights: dict[str, int], team: Collection[str]
) -> FairnessReport:
    """
    The report from the sums per rep and each rep's weight (the *team*'s
    reps first, in order): one pass and merges build it alike.
    """
    counts, values, currency = sums.counts, sums.values, sums.currency
    total = sum(counts.values())
    total_value = Fraction(0)  # exact, whatever the caller's decimal context
    for v in values.values():
        total_value += Fraction(v.amount)
    total_weight = sum(weights.values())
    rows = []
    shares = []
    value_shares = []
    for rep, weight in weights.items():
        got = counts.get(rep, 0)
        value = values.get(rep)
        amount = Fraction(value.amount) if value is not None else Fraction(0)
        expected = Fraction(total * weight, total_weight) if total_weight else Fraction(0)
        expected_value = total_value * weight / total_weight if total_weight else Fraction(0)
        if weight:
            shares.append(Fraction(got, weight))
            value_shares.append(amount / weight)
        per = sums.outcomes.get(rep, {})
        rows.append(
            RepFairness(
                rep_id=rep,
                in_team=rep in team,
                weight=weight,
                leads=_whole(got),
                value=value,
                expected=decimal_of(expected),
                ratio=got / expected if expected else None,
                expected_value=None if currency is None else _money(expected_value, currency),
                value_ratio=amount / expected_value if expected_value else None,
                claimed=per.get("claimed", 0),
                declined=per.get("declined", 0),
                lapsed=per.get("lapsed", 0),
                skipped=per.get("skipped", 0),
            )
        )
    return FairnessReport(
        start=start,
        end=end,
        leads=int(total),  # each lead's shares add up to one: a whole number
        unassigned=sums.unassigned,
        gini=gini(shares),
        value_gini=None if currency is None else gini(value_shares),
        rows=tuple(rows),
    )


def _latest(decisions: Iterable[Decision], start: dt.datetime, end: dt.datetime) -> dict[str, Decision]:
    """The checked decisions in ``[start, end)``: per lead the latest (a lead routed twice counts once)."""
    latest: dict[str, Decision] = {}
    for i, d in enumerate(decisions):
        if not isinstance(d, Decision):
            c.require(d, Decision, "a Decision", f"decisions[{i}]")
        if start <= d.at < end:
            seen = latest.get(d.lead_id)
            if seen is None or seen.at <= d.at:
                latest[d.lead_id] = d
    return latest


def _whole(value: int | Fraction) -> int | Fraction:
    """*value* as an int when it is whole (a rep credited whole leads), else the Fraction."""
    return value.numerator if isinstance(value, Fraction) and value.denominator == 1 else value


def _deal_of_lead(opportunities: Iterable[Opportunity]) -> dict[str, str]:
    """
    Lead id -> the id of the deal it became: the earliest created naming it,
    then by id; the opportunities checked (each an Opportunity, each id once).
    """
    first: dict[str, tuple[dt.datetime, str]] = {}
    index: dict[str, int] = {}  # deal id -> where it was first listed
    problems: list[Problem] = []
    for i, opp in enumerate(c.each_of(opportunities, Opportunity, "opportunities")):
        if index.setdefault(opp.id, i) != i:
            msg = f"{c.show(opp.id)} appears twice (opportunities[{index[opp.id]}]); each deal is listed once"
            problems.append(Problem(path=f"opportunities[{i}].id", code="duplicate", message=msg))
            if len(problems) >= MAX_LISTED:
                break
        elif opp.lead_id is not None:
            key = (opp.created_at, opp.id)
            seen = first.get(opp.lead_id)
            if seen is None or key < seen:
                first[opp.lead_id] = key
    if problems:
        raise ValidationError(problems)
    return {lead: deal for lead, (_, deal) in first.items()}


def _counted(
    latest: dict[str, Decision], credit: CreditSplits | None = None, deals: Mapping[str, str] | None = None
) -> tuple[dict[str, int | Fraction], dict[str, Money], str | None, int]:
    """
    Leads and lead value per rep (a split deal's lead credited by shares),
    the values' one currency, and the leads placed with no one.
    """
    counts: dict[str, int | Fraction] = {}
    values: dict[str, Money] = {}
    currency: str | None = None
    unassigned = 0
    for d in latest.values():
        if d.rep_id is None:
            unassigned += 1
            continue
        deal = None if credit is None or deals is None else deals.get(d.lead_id)
        if credit is None or deal is None:
            shares: tuple[tuple[str, int | Fraction], ...] = ((d.rep_id, 1),)
        else:
            shares = credit.shares(deal, d.rep_id)
        for rep, share in shares:
            counts[rep] = counts.get(rep, 0) + share
        if d.value is not None:
            if currency is None:
                currency = d.value.currency
            elif d.value.currency != currency:
                raise CurrencyMismatchError("sum lead values of", currency, d.value.currency)
            parts = (
                ((d.rep_id, d.value),)
                if credit is None or deal is None
                else credit.allocate(deal, d.rep_id, d.value)
            )
            for rep, part in parts:
                values[rep] = values[rep] + part if rep in values else part
    return counts, values, currency, unassigned


def _offer_outcomes(
    offers: Iterable[Offer], start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, int]]:
    """Per rep, how the offers made in ``[start, end)`` ended for them as they stand at *end*."""
    outcomes: dict[str, dict[str, int]] = {}
    for i, offer in enumerate(offers):
        c.require(offer, Offer, "an Offer", f"offers[{i}]")
        if not start <= offer.offered_at < end:
            continue
        for rep, outcome in offer.outcomes(now=end).items():
            per = outcomes.setdefault(rep, {})
            per[outcome] = per.get(outcome, 0) + 1
    return outcomes
