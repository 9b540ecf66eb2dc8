"""
Forecast governance: reps' and managers' forecast calls, rolled up a team
hierarchy beside the system forecast and the quotas.

A *call* is what a person commits to for a period and a forecast category
("commit 120,000 USD for Q3"), as opposed to the *system* figure the deals
add up to.  Each submission is a :class:`ForecastCall` event that keeps who
made it, when and why; a manager may adjust the call of anyone below them
(a Salesforce forecast adjustment, a HubSpot forecast submission), a rep
may not adjust a peer's.  :func:`forecast_rollup` reads the submissions
known at a given instant (never one made later) and rolls them up the
:class:`Hierarchy`: a manager's own call overrides the sum of their team's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from typing import ClassVar, cast

import attrs

from .. import _checks as c
from .._checks import check
from .._frozenmap import FrozenMap
from .._money import Money, currency_problem
from .._report import Report, money_cells
from .._time import canonical, instant
from ..entities import ForecastCategory
from ..errors import MAX_LISTED, CurrencyMismatchError, Problem, ValidationError

#: A hierarchy holds at most this many nodes (reps, managers and teams).
MAX_HIERARCHY_NODES = 100_000
#: A hierarchy is at most this many levels deep (a root is level 1).
MAX_HIERARCHY_DEPTH = 50

#: The categories a call may be made in (a call to omit makes no sense).
_CALLED = (
    ForecastCategory.COMMIT,
    ForecastCategory.BEST_CASE,
    ForecastCategory.PIPELINE,
    ForecastCategory.CLOSED,
)
_ALLOWED = ", ".join(repr(k.value) for k in _CALLED)


# --- the hierarchy -----------------------------------------------------------------------------


def _frozen_parents(value: object) -> Mapping[str, str | None]:
    value = c.to_mapping(value, "parents")  # a pandas Series reads through
    if isinstance(value, Mapping) and len(value) <= MAX_HIERARCHY_NODES:
        return FrozenMap(value)
    return value  # type: ignore[return-value]  # the check reports it


def _parents_table(value: object) -> c.Result:
    """A non-empty mapping of at most MAX_HIERARCHY_NODES ids to an id or None."""
    if not isinstance(value, Mapping):
        return c.wrong_type(value, "a mapping of node id to its parent's id (None for a root)")
    if not value:
        return c.bad("empty", "{} has no nodes; a hierarchy needs at least one")
    if len(value) > MAX_HIERARCHY_NODES:
        return c.bad("limit", f"{len(value):,} nodes; a hierarchy has at most {MAX_HIERARCHY_NODES:,}")
    problems: list[Problem] = []
    for key, parent in value.items():
        where = f"[{c.show(key)}]"
        for found in (c.identifier(key), None if parent is None else c.identifier(parent)):
            if found is not None:
                problems.extend(c.as_problems(found, where))
        if len(problems) >= MAX_LISTED:
            break
    return problems or None


def _depths(parents: Mapping[str, str | None]) -> tuple[dict[str, int], list[Problem]]:
    """
    Each node's depth (a root's is 0), and the problems of the tree: a parent
    that is not a node, a cycle (named by its smallest node), a node deeper
    than MAX_HIERARCHY_DEPTH levels.  O(n log n) for n nodes (sorted, so that the
    problems do not depend on the mapping's order).
    """
    depth: dict[str, int] = {}
    problems: list[Problem] = []
    for start in sorted(parents):
        trail: list[str] = []
        on_trail: set[str] = set()
        node: str | None = start
        while node is not None and node not in depth and node in parents and node not in on_trail:
            on_trail.add(node)
            trail.append(node)
            node = parents[node]
        if node is None or node not in parents:  # a root, or an unknown parent (reported below)
            level = -1
        elif node in depth:
            level = depth[node]
        else:  # back on the trail: a cycle, reported once by its smallest node
            cut = trail.index(node)
            loop = trail[cut:]
            first = loop.index(min(loop))
            ring = [*loop[first:], *loop[:first]]
            shown = " -> ".join(c.show(n) for n in [*ring[:8], ring[0]])
            if len(ring) > 8:
                shown = shown.replace(f" -> {c.show(ring[0])}", f" -> ... ({len(ring):,} nodes)", 1)
            problems.append(
                Problem(
                    path=f"parents[{c.show(ring[0])}]",
                    code="graph",
                    message=f"{c.show(ring[0])} is its own ancestor ({shown}); a hierarchy has no cycles",
                )
            )
            depth.update(dict.fromkeys(loop, 0))  # not a depth: the cycle is refused
            trail, level = trail[:cut], 0
        for n in reversed(trail):
            level += 1
            depth[n] = level
    for node, parent in sorted(parents.items()):
        if parent is not None and parent not in parents:
            problems.append(
                Problem(
                    path=f"parents[{c.show(node)}]",
                    code="reference",
                    message=f"{c.show(parent)} is not a node of the hierarchy; every parent is a key",
                )
            )
        elif depth.get(node) == (limit := MAX_HIERARCHY_DEPTH):  # the first node too deep on its branch
            problems.append(
                Problem(
                    path=f"parents[{c.show(node)}]",
                    code="limit",
                    message=f"{c.show(node)} is {limit + 1} levels deep; a hierarchy has at most {limit}",
                )
            )
        if len(problems) >= MAX_LISTED:
            break
    return depth, problems


@attrs.frozen(kw_only=True)
class Hierarchy(c.Checked):
    """
    A sales organisation as a tree (or several): *parents* maps each node
    (a rep, a manager, a team) to its parent, ``None`` for a root.  A node
    without children is a rep; the others are managers or teams.

    Refused: a parent that is not a node, a cycle (named by its smallest
    node), more than :data:`MAX_HIERARCHY_DEPTH` levels or :data:`MAX_HIERARCHY_NODES` nodes.
    Children, reps and the order of the tree are sorted by id, whatever the
    order of *parents*.

    >>> h = Hierarchy(parents={"team": None, "mia": "team", "ann": "mia", "bob": "mia"})
    >>> h.children("mia"), h.reps_under("team"), h.path("bob")
    (('ann', 'bob'), ('ann', 'bob'), ('team', 'mia', 'bob'))
    """

    parents: Mapping[str, str | None] = attrs.field(converter=_frozen_parents, metadata=check(_parents_table))
    # Worked out when built: each node's children (sorted) and depth.
    _children: Mapping[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)
    _depth: Mapping[str, int] = attrs.field(init=False, eq=False, repr=False)

    def _relations(self) -> list[Problem]:
        depth, problems = _depths(self.parents)
        object.__setattr__(self, "_depth", FrozenMap(depth))
        return problems

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()  # the field checks, then _relations (which sets _depth)
        below: dict[str, list[str]] = {node: [] for node in self.parents}
        for node, parent in self.parents.items():
            if parent is not None:
                below[parent].append(node)
        object.__setattr__(self, "_children", FrozenMap({k: tuple(sorted(v)) for k, v in below.items()}))

    def _node(self, node: object, path: str = "node") -> str:
        problem = c.identifier(node)
        if problem is not None:
            raise c.at(path, problem)
        if node not in self.parents:
            msg = f"{c.show(node)} is not a node of the hierarchy"
            raise ValidationError.single(path, msg, code="reference")
        return cast("str", node)

    @property
    def roots(self) -> tuple[str, ...]:
        """The nodes without a parent, sorted."""
        return tuple(sorted(n for n, p in self.parents.items() if p is None))

    def children(self, node: str) -> tuple[str, ...]:
        """
        The nodes whose parent is *node*, sorted (none for a rep).
        Cost: O(1).
        """
        return self._children[self._node(node)]

    def path(self, node: str) -> tuple[str, ...]:
        """
        The nodes from the root down to *node*, both included.
        Cost: O(depth).
        """
        current: str | None = self._node(node)
        out: list[str] = []
        while current is not None:
            out.append(current)
            current = self.parents[current]
        return tuple(reversed(out))

    def reps_under(self, node: str) -> tuple[str, ...]:
        """
        The reps (nodes without children) in *node*'s subtree, in tree order:
        *node* itself when it is a rep.
        Cost: O(size of the subtree).
        """
        return tuple(n for n in self._walk(self._node(node)) if not self._children[n])

    def subtree(self, node: str) -> Hierarchy:
        """
        *node* and everything below it, as a hierarchy of its own with *node*
        as its root (a manager's view of their team).
        Cost: O(size of the subtree).
        """
        top = self._node(node)
        return Hierarchy(parents={n: (None if n == top else self.parents[n]) for n in self._walk(top)})

    def _walk(self, top: str) -> Iterator[str]:
        """*top* and its subtree, parents before children, children in id order."""
        stack = [top]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(self._children[node]))

    def _order(self) -> Iterator[str]:
        """Every node, tree by tree, parents before children."""
        for root in self.roots:
            yield from self._walk(root)


# --- the call ----------------------------------------------------------------------------------


def _to_category(value: ForecastCategory | str) -> ForecastCategory:
    return c.to_enum(ForecastCategory, value)


def _category_problem(value: object) -> Problem | None:
    if not isinstance(value, ForecastCategory) or value not in _CALLED:
        return c.bad("choice", f"{c.show(value)} is not a category a call is made in; allowed: {_ALLOWED}")
    return None


@attrs.frozen(kw_only=True)
class ForecastCall(c.Checked):
    """
    One submission of a forecast call: *by* called *amount* for *node* (a
    rep, a manager, a team) in *category* over the dates
    ``[period_start, period_end)``, at *at*, with an optional *reason*.
    *version* numbers the submissions of one ``(node, period, category)``
    from 1; :func:`submit_call` makes them in order.  When *by* is not
    *node*, it is an adjustment by someone above the node.
    """

    #: Its tag in documents (an event log mixes kinds of events).
    type_name: ClassVar[str] = "forecast_call"

    node: str = attrs.field(metadata=check(c.identifier))
    period_start: dt.date = attrs.field(metadata=check(c.calendar_date))
    period_end: dt.date = attrs.field(metadata=check(c.calendar_date))
    category: ForecastCategory = attrs.field(converter=_to_category, metadata=check(_category_problem))
    amount: Money = attrs.field(metadata=check(c.instance_of(Money, "Money")))
    by: str = attrs.field(metadata=check(c.identifier))
    at: dt.datetime = attrs.field(converter=canonical, metadata=check(c.aware_datetime))
    version: int = attrs.field(converter=c.to_int, metadata=check(c.non_negative_int))
    reason: str | None = attrs.field(default=None, metadata=check(c.optional(c.name)))

    def _relations(self) -> list[Problem]:
        problems = []
        if self.period_end <= self.period_start:
            problems.append(
                Problem(
                    path="period_end",
                    code="order",
                    message=f"{self.period_end} is not after period_start {self.period_start}",
                )
            )
        if self.amount.amount < 0:
            problems.append(
                Problem(
                    path="amount", code="range", message=f"{c.show(self.amount)} is negative; a call is >= 0"
                )
            )
        if self.version < 1:
            problems.append(
                Problem(path="version", code="range", message="0 is no submission; versions start at 1")
            )
        return problems

    @property
    def key(self) -> tuple[str, dt.date, dt.date, ForecastCategory]:
        """What the versions count: ``(node, period_start, period_end, category)``."""
        return (self.node, self.period_start, self.period_end, self.category)

    @property
    def adjusted(self) -> bool:
        """Whether someone above *node* made this call (a manager's adjustment)."""
        return self.by != self.node


def _period(value: object) -> tuple[dt.date, dt.date]:
    """*value*, a ``(start, end)`` pair of dates with start before end; else an error at ``period``."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise c.at("period", c.wrong_type(value, "(start, end): two datetime.date, end after start"))
    problems = [p.prefixed(f"period[{i}]") for i, day in enumerate(value) if (p := c.calendar_date(day))]
    if problems:
        raise ValidationError(problems)
    start, end = value
    if end <= start:
        raise ValidationError.single("period", f"{end} is not after the start {start}", code="order")
    return start, end


def _category(value: object) -> ForecastCategory:
    found = c.to_enum(ForecastCategory, value) if isinstance(value, str) else value
    problem = _category_problem(found)
    if problem is not None:
        raise c.at("category", problem)
    return cast("ForecastCategory", found)


def submit_call(
    calls: Iterable[ForecastCall],
    *,
    node: str,
    period: tuple[dt.date, dt.date],
    category: ForecastCategory | str,
    amount: Money,
    by: str,
    at: dt.datetime,
    reason: str | None = None,
    hierarchy: Hierarchy,
) -> tuple[tuple[ForecastCall, ...], ForecastCall]:
    """
    Submit *by*'s call of *amount* for *node* in *category* over the dates
    ``[start, end)`` of *period*, at *at*: the submissions *calls* with the
    new one appended, and the new one, whose version is one more than the
    last of its ``(node, period, category)`` (1 for the first).  Pure: the
    caller stores the event.

    Refused by name: *by* that is neither *node* nor above it in
    *hierarchy* (``by``, code ``conflict``: a manager may adjust their
    reps' calls, a rep may not adjust a peer's), a node or actor that is not
    in it (``reference``), *at* before the last submission of the same key
    (``at``, code ``order``), and an amount in another currency than that
    submission's (:class:`~funnelkit.errors.CurrencyMismatchError`).
    Cost: O(n + depth) for n calls.

    >>> h = Hierarchy(parents={"mia": None, "ann": "mia"})
    >>> at = dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
    >>> q3 = (dt.date(2026, 7, 1), dt.date(2026, 10, 1))
    >>> calls, first = submit_call((), node="ann", period=q3, category="commit",
    ...                            amount=Money.of(100, "USD"), by="ann", at=at, hierarchy=h)
    >>> calls, second = submit_call(calls, node="ann", period=q3, category="commit", reason="slipped",
    ...                             amount=Money.of(80, "USD"), by="mia", at=at, hierarchy=h)
    >>> second.version, second.adjusted, len(calls)
    (2, True, 2)
    """
    tree = c.require(hierarchy, Hierarchy, "a Hierarchy", "hierarchy")
    known = tuple(c.items_of(calls, ForecastCall, "calls"))
    start, end = _period(period)
    draft = ForecastCall(
        node=node,
        period_start=start,
        period_end=end,
        category=_category(category),
        amount=amount,
        by=by,
        at=at,
        version=1,
        reason=reason,
    )
    path = tree.path(draft.node)
    tree._node(draft.by, "by")  # noqa: SLF001 - this module's own class
    if draft.by not in path:
        msg = f"{draft.by!r} is not {draft.node!r} nor above it ({' > '.join(path)}); only they may call it"
        raise ValidationError.single("by", msg, code="conflict")
    last: ForecastCall | None = None
    for call in known:
        if call.key == draft.key and (last is None or call.version >= last.version):
            last = call
    if last is None:
        return (*known, draft), draft
    if draft.at < last.at:
        last_at = last.at.isoformat()
        msg = f"{draft.at.isoformat()} is before the last submission, version {last.version} at {last_at}"
        raise ValidationError.single("at", msg, code="order")
    if draft.amount.currency != last.amount.currency:
        raise CurrencyMismatchError(
            "compare the calls in", last.amount.currency, draft.amount.currency, path="amount"
        )
    made = attrs.evolve(draft, version=last.version + 1)
    return (*known, made), made


# --- the roll-up -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RollupRow:
    """
    One node of a :class:`Rollup`.

    *call* is the node's own latest call known at the report's instant
    (``None``: none), made by *called_by* at *called_at* as submission
    *version* with *reason*.  *rolled_up* is that call when there is one
    (``source`` ``"call"``: a manager's call overrides their team's), else
    the sum of the children's (``"children"``), zero when nothing at or
    below the node is called (``"none"``).  *system* sums the system figures
    of the node and everything below it; *quota* is the node's own, else the
    sum of its children's (``None`` when none has one).  *attainment* =
    rolled_up / quota (``None`` without a quota above zero); *gap* =
    rolled_up - system.
    """

    node: str
    parent: str | None
    depth: int
    rep: bool
    call: Money | None
    called_by: str | None
    called_at: dt.datetime | None
    version: int | None
    reason: str | None
    rolled_up: Money
    source: str
    system: Money
    quota: Money | None
    attainment: Fraction | None
    gap: Money


@attrs.frozen(kw_only=True, repr=False)
class Rollup(Report):
    """
    Forecast calls rolled up a hierarchy for one period and category, as
    known at *now*: one row per node (tree by tree, parents before
    children, children by id), and the submissions known at *now*.

    A roll-up does not merge: a manager's own call overrides the sum of their team's,
    so the roll-up of a whole team is not the sum of roll-ups of its parts;
    roll up each subtree with :meth:`Hierarchy.subtree` instead.

    A :class:`~funnelkit.Report`: its table has one row per node with every
    field of :class:`RollupRow`.
    """

    period_start: dt.date
    period_end: dt.date
    category: ForecastCategory
    currency: str
    now: dt.datetime
    rows: tuple[RollupRow, ...]
    calls: tuple[ForecastCall, ...]

    def _summary(self) -> str:
        tops = [r for r in self.rows if r.parent is None]
        called = Money.total((r.rolled_up for r in tops), currency=self.currency)
        system = Money.total((r.system for r in tops), currency=self.currency)
        period = f"{self.period_start} to {self.period_end} (exclusive)"
        head = f"{len(self.rows)} nodes, {self.category.value} {period}"
        return f"{head}; called {called}, system {system}, gap {called - system}"

    def _rows(self) -> list[dict[str, object]]:
        """One row per node: every field of the row, optional amounts with an empty currency beside."""
        out = []
        for row in self.rows:
            cells: dict[str, object] = attrs.asdict(row, recurse=False)
            cells.update(money_cells("call", row.call))
            cells.update(money_cells("quota", row.quota))
            out.append(cells)
        return out

    def row(self, node: str) -> RollupRow:
        """
        The row of *node*.
        Cost: O(r) for r rows.
        """
        for r in self.rows:
            if r.node == node:
                return r
        raise ValidationError.single(
            "node", f"{c.show(node)} is not a node of this roll-up", code="reference"
        )

    def history(self, node: str) -> tuple[ForecastCall, ...]:
        """
        *node*'s submissions known at the report's instant, in order of
        version: who called what, when and why.
        Cost: O(r + s) for r rows and s submissions.
        """
        self.row(node)
        return tuple(call for call in self.calls if call.node == node)


def _money_table(
    value: object, name: str, tree: Hierarchy, currency: str, *, negative: bool
) -> dict[str, Money]:
    """*value*, a mapping of node to Money in *currency* (or None: empty); else an error at *name*."""
    if value is None:
        return {}
    value = c.to_mapping(value, name)
    if not isinstance(value, Mapping):
        raise c.at(name, c.wrong_type(value, "a mapping of node id to Money"))
    problems = []
    for key, money in value.items():
        if type(money) is Money and money.currency == currency and key in tree.parents and money.amount >= 0:
            continue  # the usual case, checked without building its path
        where = f"{name}[{c.show(key)}]"
        if not isinstance(key, str) or key not in tree.parents:
            problems.append(
                Problem(path=where, code="reference", message=f"{c.show(key)} is not a node of the hierarchy")
            )
        elif not isinstance(money, Money):
            problems.append(c.wrong_type(money, "Money").prefixed(where))
        elif money.currency != currency:
            raise CurrencyMismatchError("roll up", currency, money.currency, path=where)
        elif money.amount < 0 and not negative:
            problems.append(Problem(path=where, code="range", message=f"{c.show(money)} is negative"))
        if len(problems) >= MAX_LISTED:
            break
    if problems:
        raise ValidationError(problems)
    return cast("dict[str, Money]", dict(value))


def forecast_rollup(
    calls: Iterable[ForecastCall],
    hierarchy: Hierarchy,
    *,
    period: tuple[dt.date, dt.date],
    category: ForecastCategory | str,
    now: dt.datetime,
    system: Mapping[str, Money] | None = None,
    quotas: Mapping[str, Money] | None = None,
    currency: str,
) -> Rollup:
    """
    The forecast calls of *category* over the dates ``[start, end)`` of
    *period*, rolled up *hierarchy* as known at *now*: submissions made
    after *now* are ignored (no look-ahead), other periods and categories
    too.

    Per node: its latest call; the rolled-up call (its own call overrides
    the sum of its children's rolled-up calls); the *system* figure (a
    mapping of node, usually rep, to Money, e.g. the weighted forecast by
    owner: ``{ln.key[0]: ln.weighted for ln in weighted_forecast(deals,
    pipeline, by=("owner",)).lines}``) summed over the node and everything
    below it; the quota (*quotas*: the node's own, else the sum of its
    children's); attainment = call / quota and gap = call - system.  Money
    stays exact.

    Refused by name: calls of the period and category for a node not in the
    hierarchy (``calls[i].node``), keys of *system* or *quotas* that are not
    nodes, negative quotas; amounts in another currency than *currency*
    raise :class:`~funnelkit.errors.CurrencyMismatchError` with their path.
    Cost: O(n + s log s) for n nodes and s submissions.

    >>> h = Hierarchy(parents={"mia": None, "ann": "mia", "bob": "mia"})
    >>> at = dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
    >>> q3 = (dt.date(2026, 7, 1), dt.date(2026, 10, 1))
    >>> calls = ()
    >>> for who, amount in (("ann", 60), ("bob", 40)):
    ...     calls, _ = submit_call(calls, node=who, period=q3, category="commit",
    ...                            amount=Money.of(amount, "USD"), by=who, at=at, hierarchy=h)
    >>> report = forecast_rollup(calls, h, period=q3, category="commit", now=at, currency="USD",
    ...                          system={"ann": Money.of(50, "USD"), "bob": Money.of(70, "USD")},
    ...                          quotas={"mia": Money.of(200, "USD")})
    >>> mia = report.row("mia")
    >>> mia.rolled_up, mia.system, mia.gap, mia.attainment
    (Money('100', 'USD'), Money('120', 'USD'), Money('-20', 'USD'), Fraction(1, 2))
    """
    tree = c.require(hierarchy, Hierarchy, "a Hierarchy", "hierarchy")
    given = c.items_of(calls, ForecastCall, "calls")
    start, end = _period(period)
    kind = _category(category)
    when = instant(now, field="now")
    problem = currency_problem(currency)
    if problem is not None:
        raise c.at("currency", problem)
    systems = _money_table(system, "system", tree, currency, negative=True)
    targets = _money_table(quotas, "quotas", tree, currency, negative=False)
    problems = []
    scope: list[tuple[int, ForecastCall]] = []
    for i, call in enumerate(given):
        if call.period_start != start or call.period_end != end or call.category is not kind:
            continue
        if call.node not in tree.parents:
            msg = f"{call.node!r} is not a node of the hierarchy"
            problems.append(Problem(path=f"calls[{i}].node", code="reference", message=msg))
            if len(problems) >= MAX_LISTED:
                break
        elif call.amount.currency != currency:
            raise CurrencyMismatchError("roll up", currency, call.amount.currency, path=f"calls[{i}].amount")
        elif call.at <= when:
            scope.append((i, call))
    if problems:
        raise ValidationError(problems)
    order = list(tree._order())  # noqa: SLF001 - this module's own class
    place = {node: i for i, node in enumerate(order)}
    scope.sort(key=lambda ic: (place[ic[1].node], ic[1].version, ic[1].at, ic[0]))
    known = tuple(call for _, call in scope)
    latest = {call.node: call for call in known}  # the last of each node's, in version order
    rows = _rows(tree, order=order, latest=latest, systems=systems, targets=targets, currency=currency)
    return Rollup(
        period_start=start, period_end=end, category=kind, currency=currency, now=when, rows=rows, calls=known
    )


def _plus(zero: Money, amounts: Iterable[Money]) -> Money:
    """*zero* plus *amounts*, all in its currency (checked by the caller)."""
    for amount in amounts:
        zero = zero + amount
    return zero


def _rows(
    tree: Hierarchy,
    *,
    order: list[str],
    latest: Mapping[str, ForecastCall],
    systems: Mapping[str, Money],
    targets: Mapping[str, Money],
    currency: str,
) -> tuple[RollupRow, ...]:
    """The rows, worked out children first (the reverse of tree order), listed in tree order."""
    zero = Money.zero(currency)
    children = tree._children  # noqa: SLF001 - this module's own class
    depths = tree._depth  # noqa: SLF001 - this module's own class
    done: dict[str, RollupRow] = {}
    for node in reversed(order):
        below = [done[k] for k in children[node]]
        own = latest.get(node)
        if own is not None:
            rolled, source = own.amount, "call"
        else:
            rolled = _plus(zero, (r.rolled_up for r in below))
            source = "children" if any(r.source != "none" for r in below) else "none"
        quota = targets.get(node)
        if quota is None:
            quotas = [r.quota for r in below if r.quota is not None]
            quota = _plus(zero, quotas) if quotas else None
        system = _plus(systems.get(node, zero), (r.system for r in below))
        done[node] = RollupRow(
            node=node,
            parent=tree.parents[node],
            depth=depths[node],
            rep=not below,
            call=None if own is None else own.amount,
            called_by=None if own is None else own.by,
            called_at=None if own is None else own.at,
            version=None if own is None else own.version,
            reason=None if own is None else own.reason,
            rolled_up=rolled,
            source=source,
            system=system,
            quota=quota,
            attainment=None if quota is None or quota.is_zero() else rolled.ratio(quota),
            gap=rolled - system,
        )
    return tuple(done[node] for node in order)
