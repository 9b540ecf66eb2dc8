"""
Changes to a deal outside its stage: its amount, its expected close, its
forecast category and its owner.  Each is an event with the deal's version
after it, the value before and the value after, so a host's log replays the
deal after every edit (``funnelkit.stages.replay``) and rebuilds it as it
stood on any past date (``funnelkit.forecast.as_of``), without look-ahead.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar, Literal, TypeAlias, cast

import attrs

from . import _checks as c
from ._checks import check
from ._money import Money
from ._time import canonical
from .entities import ForecastCategory, Opportunity, _category
from .errors import ConcurrencyConflict, Problem, ValidationError

#: The largest version an edit may expect (2**63 - 1), as the stage engine's moves.
_MAX_VERSION = 2**63 - 1


class Unchanged(enum.Enum):
    """The default of :func:`edit`'s fields: leave the field as it is."""

    UNCHANGED = "unchanged"

    def __repr__(self) -> str:
        return "UNCHANGED"


#: Leave the field as it is (the default of each of :func:`edit`'s fields).
UNCHANGED = Unchanged.UNCHANGED

_opt_money = c.optional(c.instance_of(Money, "Money"))
_opt_date = c.optional(c.calendar_date)
_opt_category = c.optional(c.member_of(ForecastCategory))
_opt_name = c.optional(c.name)


def _common_relations(event: Any) -> list[Problem]:
    """The rules every edit keeps: it changes something, and it follows a version."""
    problems = []
    if event.before == event.after:
        problems.append(
            Problem(
                path="after",
                code="conflict",
                message=f"{c.show(event.after)} is the value before; an edit changes its field",
            )
        )
    if event.version < 1:
        problems.append(
            Problem(
                path="version", code="range", message="0 cannot follow an edit; versions start at 1 after one"
            )
        )
    return problems


@attrs.frozen(kw_only=True)
class AmountChanged(c.Checked):
    """
    A deal's amount changed from *before* to *after* (``None``: no amount),
    by *actor* at *at*; *version* is the deal's version after the edit.
    """

    #: Its tag in documents (an event log mixes kinds of events).
    type_name: ClassVar[str] = "amount_changed"
    #: The deal's field it changes.
    field: ClassVar[str] = "amount"

    opportunity_id: str = attrs.field(metadata=check(c.identifier))
    at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    actor: str = attrs.field(metadata=check(c.identifier))
    version: int = attrs.field(metadata=check(c.non_negative_int), converter=c.to_int)
    before: Money | None = attrs.field(metadata=check(_opt_money))
    after: Money | None = attrs.field(metadata=check(_opt_money))
    reason: str | None = attrs.field(default=None, metadata=check(_opt_name))

    def _relations(self) -> list[Problem]:
        problems = _common_relations(self)
        for name in ("before", "after"):
            money = getattr(self, name)
            if money is not None and money.amount < 0:
                problems.append(Problem(path=name, code="range", message=f"{c.show(money)} is negative"))
        return problems

    @property
    def delta(self) -> Money | None:
        """
        *after* less *before* when both are amounts in one currency (``None``
        otherwise).
        """
        if self.before is None or self.after is None or self.before.currency != self.after.currency:
            return None
        return self.after - self.before


@attrs.frozen(kw_only=True)
class CloseDateChanged(c.Checked):
    """
    A deal's expected close moved from *before* to *after* (``None``: no
    date), by *actor* at *at*; *version* is the deal's version after the edit.
    """

    #: Its tag in documents (an event log mixes kinds of events).
    type_name: ClassVar[str] = "close_date_changed"
    #: The deal's field it changes.
    field: ClassVar[str] = "expected_close"

    opportunity_id: str = attrs.field(metadata=check(c.identifier))
    at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    actor: str = attrs.field(metadata=check(c.identifier))
    version: int = attrs.field(metadata=check(c.non_negative_int), converter=c.to_int)
    before: dt.date | None = attrs.field(metadata=check(_opt_date))
    after: dt.date | None = attrs.field(metadata=check(_opt_date))
    reason: str | None = attrs.field(default=None, metadata=check(_opt_name))

    def _relations(self) -> list[Problem]:
        return _common_relations(self)

    @property
    def days_moved(self) -> int | None:
        """
        How many days later the deal is now expected to close (negative:
        pulled in); ``None`` when either date is missing.
        """
        if self.before is None or self.after is None:
            return None
        return (self.after - self.before).days


@attrs.frozen(kw_only=True)
class CategoryChanged(c.Checked):
    """
    A rep set, changed or cleared the override of a deal's forecast
    category: *before* and *after* are overrides (``None``: the stage's own
    category), by *actor* at *at*; *version* is the deal's version after it.
    """

    #: Its tag in documents (an event log mixes kinds of events).
    type_name: ClassVar[str] = "category_changed"
    #: The deal's field it changes.
    field: ClassVar[str] = "forecast_category"

    opportunity_id: str = attrs.field(metadata=check(c.identifier))
    at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    actor: str = attrs.field(metadata=check(c.identifier))
    version: int = attrs.field(metadata=check(c.non_negative_int), converter=c.to_int)
    before: ForecastCategory | None = attrs.field(metadata=check(_opt_category), converter=_category)
    after: ForecastCategory | None = attrs.field(metadata=check(_opt_category), converter=_category)
    reason: str | None = attrs.field(default=None, metadata=check(_opt_name))

    def _relations(self) -> list[Problem]:
        return _common_relations(self)


@attrs.frozen
class Skip(c.Checked):
    """
    A rep passed over for one item, and why.
    """

    rep_id: str = attrs.field(metadata=c.check(c.identifier))
    reason: str = attrs.field(metadata=c.check(c.name))


@attrs.frozen(kw_only=True)
class OwnerChanged(c.Checked):
    """
    One record moved from one rep to another: *kind* is ``customer``,
    ``opportunity`` or ``lead``; *why* says how the new owner was chosen,
    *reason* is the caller's reason for the reassignment.  For an
    opportunity, *version* is its new version (one more than before), so a
    host can write the change with ``expected_version=version - 1``;
    customers and leads carry no version (``None``).
    """

    #: Its tag in documents (an event log mixes kinds of events).
    type_name: ClassVar[str] = "owner_changed"

    kind: Literal["customer", "opportunity", "lead"] = attrs.field(
        metadata=check(c.one_of(("customer", "opportunity", "lead"), "a kind of record"))
    )
    id: str = attrs.field(metadata=check(c.identifier))
    from_rep: str = attrs.field(metadata=check(c.identifier))
    to_rep: str = attrs.field(metadata=check(c.identifier))
    at: dt.datetime = attrs.field(metadata=check(c.aware_datetime))
    actor: str = attrs.field(metadata=check(c.identifier))
    reason: str = attrs.field(metadata=check(c.text))
    why: str = attrs.field(metadata=check(c.text))
    skipped: tuple[Skip, ...] = attrs.field(
        default=(), metadata=check(c.items(c.instance_of(Skip, "a Skip"), tuple)), converter=c.to_tuple
    )
    version: int | None = attrs.field(default=None, metadata=check(c.optional(c.non_negative_int)))

    def _relations(self) -> list[Problem]:
        if (self.version is None) == (self.kind == "opportunity"):
            msg = (
                "an opportunity's change of owner carries its new version"
                if self.version is None
                else f"a {self.kind}'s change of owner carries no version"
            )
            code = "missing" if self.version is None else "conflict"
            return [Problem(path="version", code=code, message=msg)]
        return []

    def to_dict(self) -> dict[str, Any]:
        """
        The event as a JSON-safe document, tagged with its ``"type"``: the
        same as ``funnelkit.to_dict(self)``.
        Cost: O(size of the value).
        """
        from .documents import to_dict

        return to_dict(self)  # type: ignore[no-any-return]


#: A change to one of a deal's fields outside its stage.
Edit: TypeAlias = AmountChanged | CloseDateChanged | CategoryChanged
#: The edit event of each field :func:`edited` changes, in the order it reports them.
EDITS: tuple[type[AmountChanged | CloseDateChanged | CategoryChanged], ...] = (
    AmountChanged,
    CloseDateChanged,
    CategoryChanged,
)


def order_problems(opp: Opportunity, version: int | None, at: dt.datetime) -> list[Problem]:
    """
    What is out of order in a change of *opp* made at *at* to *version*
    (``None``: no version to check): a version not after the deal's, a time
    before it entered its stage.  Moves and edits keep the same order.
    """
    problems = []
    if version is not None and version <= opp.version:
        problems.append(
            Problem(
                path="version",
                code="order",
                message=f"{version} is not after the opportunity's version {opp.version}; versions only grow",
            )
        )
    if at < opp.stage_entered_at:
        problems.append(
            Problem(
                path="at",
                code="order",
                message=f"{at.isoformat()} is before the opportunity entered its stage",
            )
        )
    return problems


def edited(opp: Opportunity, event: Edit | OwnerChanged) -> Opportunity:
    """
    *opp* after *event*, an edit or a change of owner; refuses an event
    that does not follow from it (another deal, a version that is not
    later, a time before the deal entered its stage, a value before that
    is not the deal's).
    """
    problems = []
    before: object
    after: object
    if isinstance(event, OwnerChanged):
        field, before, after, deal_id = "owner", event.from_rep, event.to_rep, event.id
        if event.kind != "opportunity":
            problems.append(
                Problem(
                    path="kind", code="conflict", message=f"{event.kind!r} is not an opportunity's change"
                )
            )
        if event.version is None:
            problems.append(
                Problem(
                    path="version", code="missing", message="a deal's change of owner carries its version"
                )
            )
        before_path = "from_rep"
    else:
        field, before, after, deal_id = event.field, event.before, event.after, event.opportunity_id
        before_path = "before"
    if deal_id != opp.id:
        path = "id" if isinstance(event, OwnerChanged) else "opportunity_id"
        problems.append(
            Problem(path=path, code="conflict", message=f"{deal_id!r} is not the opportunity {opp.id!r}")
        )
    version = event.version
    problems += order_problems(opp, version, event.at)
    current = getattr(opp, field)
    if current != before:
        problems.append(
            Problem(
                path=before_path,
                code="conflict",
                message=f"{c.show(before)} but the opportunity's {field} is {c.show(current)}",
            )
        )
    if problems:
        raise ValidationError(problems)
    changed: dict[str, Any] = {field: after, "version": version}
    return attrs.evolve(opp, **changed)


def edit(
    opp: Opportunity,
    *,
    now: dt.datetime,
    actor: str,
    amount: Money | Unchanged | None = UNCHANGED,
    expected_close: dt.date | Unchanged | None = UNCHANGED,
    forecast_category: ForecastCategory | str | Unchanged | None = UNCHANGED,
    reason: str | None = None,
    expected_version: int | None = None,
) -> tuple[Opportunity, tuple[Edit, ...]]:
    """
    Change *opp*'s amount, expected close or forecast category override at
    *now*: the deal after the edit and one event per field whose value
    changed (:class:`AmountChanged`, :class:`CloseDateChanged`,
    :class:`CategoryChanged`, in that order), each one version up.  A field
    left :data:`UNCHANGED` (the default), or given its present value, makes
    no event; ``None`` clears it (for the category: back to the stage's own).

    Refused, with nothing changed: an argument that is not what it should be
    (named), a negative amount, a time before the deal entered its stage,
    and :class:`~funnelkit.errors.ConcurrencyConflict` when
    *expected_version* is not the deal's version.

    >>> import datetime as dt
    >>> from funnelkit import Money, Opportunity
    >>> from funnelkit.stages import edit
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> deal = Opportunity(id="o-1", customer_id="c-1", owner="ann", pipeline="b2b",
    ...                    stage="proposal", created_at=t, stage_entered_at=t,
    ...                    amount=Money.of("12000", "EUR"), expected_close=dt.date(2026, 4, 30))
    >>> deal, events = edit(deal, now=t + dt.timedelta(days=3), actor="ann",
    ...                     amount=Money.of("15000", "EUR"), expected_close=dt.date(2026, 5, 31))
    >>> [(type(e).__name__, e.version) for e in events]
    [('AmountChanged', 1), ('CloseDateChanged', 2)]
    >>> events[1].days_moved, deal.version
    (31, 2)

    Cost: O(1).
    """
    wanted = _wanted(opp, now, actor, reason, expected_version, amount, expected_close, forecast_category)
    now = canonical(now)
    if expected_version is not None and expected_version != opp.version:
        raise ConcurrencyConflict(
            opportunity_id=opp.id, expected_version=expected_version, actual_version=opp.version
        )
    if now < opp.stage_entered_at:
        msg = (
            f"{now.isoformat()} is before the opportunity entered its stage "
            f"({opp.stage_entered_at.isoformat()})"
        )
        raise ValidationError.single("now", msg, code="order")
    events: list[Edit] = []
    version = opp.version
    for cls in EDITS:
        if cls.field not in wanted or wanted[cls.field] == getattr(opp, cls.field):
            continue
        version += 1
        events.append(
            cls(
                opportunity_id=opp.id,
                at=now,
                actor=actor,
                version=version,
                before=getattr(opp, cls.field),
                after=wanted[cls.field],
                reason=reason,
            )
        )
    if not events:
        return opp, ()
    changed: dict[str, Any] = {type(e).field: e.after for e in events}
    return attrs.evolve(opp, version=version, **changed), tuple(events)


def _wanted(  # noqa: PLR0917 - edit's arguments, checked together
    opp: object,
    now: object,
    actor: object,
    reason: object,
    expected_version: object,
    amount: object,
    expected_close: object,
    forecast_category: object,
) -> dict[str, Any]:
    """:func:`edit`'s arguments checked, every problem named at once; the fields to set, by name."""
    problems = []
    if not isinstance(opp, Opportunity):
        problems.append(c.wrong_type(opp, "an Opportunity").prefixed("opp"))
    for name, value, test in (
        ("now", now, c.aware_datetime),
        ("actor", actor, c.identifier),
        ("reason", reason, _opt_name),
    ):
        problem = cast("Problem | None", test(value))  # these checks report the value itself
        if problem is not None:
            problems.append(problem.prefixed(name))
    if expected_version is not None:
        problem = c.non_negative_int(expected_version)
        if problem is None and cast("int", expected_version) > _MAX_VERSION:
            msg = f"{c.show(expected_version)} is more than {_MAX_VERSION:,}; no opportunity gets that far"
            problem = c.bad("range", msg)
        if problem is not None:
            problems.append(problem.prefixed("expected_version"))
    wanted: dict[str, Any] = {}
    for name, value, test in (
        ("amount", amount, _opt_money),
        ("expected_close", expected_close, _opt_date),
        ("forecast_category", forecast_category, _opt_category),
    ):
        if value is UNCHANGED:
            continue
        given = _category(value) if name == "forecast_category" else value  # type: ignore[arg-type]
        problem = cast("Problem | None", test(given))
        if problem is None and isinstance(given, Money) and given.amount < 0:
            problem = c.bad("range", f"{c.show(given)} is negative")
        if problem is not None:
            problems.append(problem.prefixed(name))
        wanted[name] = given
    if problems:
        raise ValidationError(problems)
    return wanted
