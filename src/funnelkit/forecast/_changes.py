"""
What moved in the pipeline between two instants (a CRM's "pipeline
changes" or historical trending): each deal as it stood at the start
against as it stood at the end, from the stage history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal, cast

import attrs

from .. import _checks as c
from .._money import Money
from .._report import Report, conflict, money_cells
from .._time import instant
from ..entities import Opportunity, OpportunityStatus
from ..errors import ValidationError
from ..stages import Pipeline
from ._backtest import DealEvent, _unique, as_of
from ._funnel import _listed

Change = Literal["added", "advanced", "moved_back", "unchanged", "won", "lost", "reopened"]
#: The kinds of change, in the order the report lists their totals.
CHANGES: tuple[Change, ...] = ("added", "advanced", "moved_back", "unchanged", "won", "lost", "reopened")
Edited = Literal["amount_up", "amount_down", "pushed", "pulled"]
#: The edits between the two instants a deal there at both may show, as :attr:`PipelineChanges.edits` lists
#: them: its amount raised or lowered, its expected close pushed later or pulled in.
EDITED: tuple[Edited, ...] = ("amount_up", "amount_down", "pushed", "pulled")
#: What a :class:`ChangeTotal` counts: a kind of change or an edit.
Counted = Literal[Change, Edited]
_OPEN = OpportunityStatus.OPEN


@attrs.frozen(kw_only=True)
class DealChange:
    """
    One deal between the two instants: how it changed, its stage and
    status at the start (``None`` when it did not exist yet) and at the
    end, its amount and expected close at the end and at the start (as the
    edits in the log say they were).
    """

    opportunity_id: str
    change: Change
    stage_before: str | None
    status_before: OpportunityStatus | None
    stage_after: str
    status_after: OpportunityStatus
    amount: Money | None
    amount_before: Money | None = None
    close_before: dt.date | None = None
    close_after: dt.date | None = None

    @property
    def amount_delta(self) -> Money | None:
        """
        How much the amount grew (negative: shrank) between the instants: an
        amount set counts in full, one cleared as its loss; ``None`` for a
        deal not there at the start, without an amount at either instant,
        or whose amount changed currency.
        """
        a, b = self.amount_before, self.amount
        if self.status_before is None or (a is None and b is None):
            return None
        if a is None:
            return b
        if b is None:
            return -a
        return None if a.currency != b.currency else b - a

    @property
    def days_moved(self) -> int | None:
        """
        How many days later the deal is expected to close at the end than at
        the start (negative: pulled in); ``None`` without both dates.
        """
        if self.close_before is None or self.close_after is None:
            return None
        return (self.close_after - self.close_before).days

    @property
    def edited(self) -> tuple[Edited, ...]:
        """The edits it shows between the instants (see :data:`EDITED`), for a deal there at both."""
        if self.status_before is None:
            return ()
        delta, days = self.amount_delta, self.days_moved
        out: list[Edited] = []
        if delta is not None and delta.amount:
            out.append("amount_up" if delta.amount > 0 else "amount_down")
        if days:
            out.append("pushed" if days > 0 else "pulled")
        return tuple(out)


@attrs.frozen(kw_only=True)
class ChangeTotal:
    """
    How many deals changed one way, and their amounts, one sum per currency
    (for ``amount_up`` and ``amount_down``: the sums of the changes).
    """

    change: Counted
    deals: int
    amounts: tuple[Money, ...]


@attrs.frozen(kw_only=True, repr=False)
class PipelineChanges(Report):
    """
    What moved in *pipeline* from *start* to *end*: a :class:`DealChange`
    per deal that was in the pipeline (open) at either instant, in the
    order given, and :attr:`totals` per kind of change.

    A :class:`~funnelkit.Report`: its table has one row per deal.  It
    merges: the deals of partitions (each deal in one) are put together.
    """

    pipeline: str
    start: dt.datetime
    end: dt.datetime
    deals: tuple[DealChange, ...]

    @property
    def totals(self) -> tuple[ChangeTotal, ...]:
        """
        Per kind of change (in :data:`CHANGES` order, those with a deal):
        how many deals, and their amounts per currency.

        Cost: O(n) for n deals.
        """
        out = []
        for change in CHANGES:
            mine = [d for d in self.deals if d.change == change]
            if not mine:
                continue
            amounts = [d.amount for d in mine if d.amount is not None]
            out.append(ChangeTotal(change=change, deals=len(mine), amounts=_sums(amounts)))
        return tuple(out)

    @property
    def edits(self) -> tuple[ChangeTotal, ...]:
        """
        Per edit (in :data:`EDITED` order, those with a deal) of the deals
        there at both instants: how many deals, and per currency the sum of
        the amount changes (``amount_up``, ``amount_down``) or of the deals'
        amounts (``pushed``, ``pulled``).  A deal may show two edits.

        Cost: O(n) for n deals.
        """
        out = []
        for kind in EDITED:
            mine = [d for d in self.deals if kind in d.edited]
            if not mine:
                continue
            if kind in ("amount_up", "amount_down"):
                amounts = [cast("Money", d.amount_delta) for d in mine]
            else:
                amounts = [d.amount for d in mine if d.amount is not None]
            out.append(ChangeTotal(change=kind, deals=len(mine), amounts=_sums(amounts)))
        return tuple(out)

    def merge(self, other: PipelineChanges) -> PipelineChanges:
        """
        The changes of the deals of both (each deal in one of them); another
        pipeline or other instants are refused by name.

        Cost: O(n + m) for n and m deals.
        """
        c.require(other, PipelineChanges, "a PipelineChanges", "other")
        for field in ("pipeline", "start", "end"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "window")
        seen = {d.opportunity_id for d in self.deals}
        twice = next((d.opportunity_id for d in other.deals if d.opportunity_id in seen), None)
        if twice is not None:
            msg = f"{twice!r} is in both; give each deal to one partition"
            raise ValidationError.single("other", msg, code="duplicate")
        return attrs.evolve(self, deals=self.deals + other.deals)

    def _summary(self) -> str:
        parts = ", ".join(f"{t.deals:,} {t.change.replace('_', ' ')}" for t in self.totals) or "nothing"
        edits = ", ".join(f"{t.deals:,} {t.change.replace('_', ' ')}" for t in self.edits)
        return f"{self.pipeline}, {self.start.date()} to {self.end.date()}: {parts}" + (
            f"; edits: {edits}" if edits else ""
        )

    def _rows(self) -> list[dict[str, object]]:
        return [
            {
                "opportunity_id": d.opportunity_id,
                "change": d.change,
                "stage_before": d.stage_before,
                "status_before": None if d.status_before is None else d.status_before.value,
                "stage_after": d.stage_after,
                "status_after": d.status_after.value,
                **money_cells("amount", d.amount),
                **money_cells("amount_before", d.amount_before),
                "close_before": d.close_before,
                "close_after": d.close_after,
                "days_moved": d.days_moved,
                "edited": " ".join(d.edited),
            }
            for d in self.deals
        ]


def _sums(amounts: list[Money]) -> tuple[Money, ...]:
    """*amounts* summed per currency, the currencies in order."""
    currencies = sorted({m.currency for m in amounts})
    return tuple(Money.total([m for m in amounts if m.currency == k], currency=k) for k in currencies)


def pipeline_changes(
    opportunities: Sequence[Opportunity],
    events: Iterable[DealEvent],
    pipeline: Pipeline,
    *,
    start: dt.datetime,
    end: dt.datetime,
) -> PipelineChanges:
    """
    What moved in *pipeline* between *start* and *end*: each deal of the
    pipeline open at either instant, as :func:`as_of` rebuilds it at both,
    is ``added`` (created after *start*), ``won``, ``lost`` or
    ``reopened`` (open at one instant, closed at the other, or closed then
    open), or, open at both, ``advanced``, ``moved_back`` or ``unchanged``
    by its stage's place in the pipeline.  Deals closed at both instants
    did not move through the pipeline and are left out.

    *events* is the deals' log, as :func:`as_of` reads it: with the edits
    of amounts and close dates in it, each deal carries its amount and
    expected close at both instants, and :attr:`PipelineChanges.edits`
    counts the amounts raised or lowered and the close dates pushed or
    pulled (Salesforce's pipeline changes); without them, the amounts and
    dates are today's at both.

    >>> import datetime as dt
    >>> from funnelkit import Opportunity
    >>> from funnelkit.stages import StageChanged, default_pipeline
    >>> t, day = dt.datetime(2026, 3, 2, tzinfo=dt.UTC), dt.timedelta(days=1)
    >>> deal = Opportunity(id="o-1", customer_id="c", owner="ann", pipeline="default", stage="proposal",
    ...                    created_at=t, stage_entered_at=t + 5 * day)
    >>> moved = StageChanged(opportunity_id="o-1", pipeline="default", kind="advance", from_stage="contact",
    ...                      to_stage="proposal", at=t + 5 * day, actor="ann", version=1,
    ...                      time_in_stage=5 * day)
    >>> report = pipeline_changes([deal], [moved], default_pipeline(), start=t + day, end=t + 9 * day)
    >>> [(d.change, d.stage_before, d.stage_after) for d in report.deals]
    [('advanced', 'contact', 'proposal')]

    Cost: O(n + e log e) for n deals and e events, as two :func:`as_of`.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    first = instant(start, field="start")
    last = instant(end, field="end")
    if last <= first:
        raise ValidationError.single("end", f"{last.isoformat()} is not after start", code="order")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    deals = _listed(opportunities, Opportunity, "an Opportunity", "opportunities")  # refused as read
    given = _unique(events)
    before = {o.id: o for o in as_of(deals, given, now=first)}
    order = {k: i for i, k in enumerate(pipeline.keys)}
    out = []
    for o in as_of(deals, given, now=last):
        if o.pipeline != pipeline.key:
            continue
        b = before.get(o.id)
        change = _change(b, o, order)
        if change is None:
            continue
        out.append(
            DealChange(
                opportunity_id=o.id,
                change=change,
                stage_before=None if b is None else b.stage,
                status_before=None if b is None else b.status,
                stage_after=o.stage,
                status_after=o.status,
                amount=o.amount,
                amount_before=None if b is None else b.amount,
                close_before=None if b is None else b.expected_close,
                close_after=o.expected_close,
            )
        )
    return PipelineChanges(pipeline=pipeline.key, start=first, end=last, deals=tuple(out))


def _change(before: Opportunity | None, after: Opportunity, order: dict[str, int]) -> Change | None:
    """How a deal changed from *before* (``None``: not there yet) to *after*; ``None`` for closed at both."""
    if before is None:
        return "added"
    was_open, is_open = before.status is _OPEN, after.status is _OPEN
    if was_open and is_open:
        a, b = order.get(before.stage, -1), order.get(after.stage, -1)
        return "advanced" if b > a else "moved_back" if b < a else "unchanged"
    if is_open:
        return "reopened"
    if was_open or before.status is not after.status:
        return "won" if after.status is OpportunityStatus.WON else "lost"
    return None
