"""
A seeded synthetic company, driven through the public API, day by day.

``simulate()`` plays a sales team over a period: leads arrive in bursts and are
routed; reps work them until their needs are known and convert them; deals
move through the default pipeline only when their milestones are met, stall,
win and lose; reps leave and their books are reassigned.  At the end the
customers are graded A/B/C, the open pipeline is forecast and the forecast is
backtested.  Along the way it checks the invariants a sales team relies on,
and raises :class:`SimulationError` at the first one broken.

It is useful beyond funnelkit's own tests: for notebooks, demos, and load
tests of one's own rules.  Same arguments, same company: the output depends
only on them (randomness from a ``random.Random`` seeded by *seed*; "now"
advances from *start*).

>>> result = simulate(reps=4, leads=60, days=45, seed=7)
>>> result.leads == 60 and result.checks > 0
True
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import attrs

from . import _checks as c
from ._company import Company, CompanyTruth, simulate_company
from ._money import _CONTEXT, Money
from ._report import Report
from ._splits import CreditSplits, Split
from ._time import instant
from .assignment import AssignmentState as _State
from .assignment import Decision, LoadBalance, Team, assign, convert_lead, reassign
from .duplicates._plant import _Maker  # the spellings of a company that plant_duplicates uses
from .entities import (
    Activity,
    Customer,
    Gap,
    KeyPerson,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    SalesRep,
    Tier,
)
from .errors import FunnelkitError, MilestoneNotMet, Problem, ValidationError
from .forecast import backtest, weighted_forecast
from .segments import abc
from .stages import (
    ActivityCount,
    AllOf,
    AmountAtLeast,
    AnyOf,
    EvidenceRecorded,
    KeyPersonCoverage,
    NoOpenGaps,
    Pipeline,
    Predicate,
    RequiredFields,
    Requirement,
    StageChanged,
    TimeInStage,
    advance,
    default_pipeline,
    lose,
    readiness,
    replay,
    stalled,
    win,
)
from .stages._requirements import Verdict

__all__ = [
    "LEAD_TRUTH",
    "REPEAT_TRUTH",
    "RESPONSE_MEANS",
    "Company",
    "CompanyTruth",
    "SimulationError",
    "SimulationResult",
    "simulate",
    "simulate_company",
]

_DAY = dt.timedelta(days=1)
_SOURCES = ("web", "trial", "referral", "trade fair", "cold call")
_TERRITORIES = ("north", "south", "east", "west")
_SIZES = ("small", "medium", "large")

#: The planted log odds that an assigned lead converts (:func:`simulate`): the intercept is a
#: small web lead's; its source and size add their effect.  Territory, value and intent are noise.
LEAD_TRUTH: Mapping[str, float] = MappingProxyType({
    "(intercept)": 0.0,
    "source=referral": 1.5,
    "source=trade fair": 1.0,
    "source=trial": 0.0,
    "source=web": 0.0,
    "source=cold call": -1.5,
    "size=small": 0.0,
    "size=medium": 0.8,
    "size=large": 1.6,
})  # fmt: skip

#: The planted chance that a customer of :func:`simulate` who has bought opens a repeat deal in a
#: calendar month, by its tier (planted from its company's size: large A, medium B, small C).
REPEAT_TRUTH: Mapping[str, float] = MappingProxyType({"A": 0.1, "B": 0.05, "C": 0.02})

#: A converted lead's customer's tier, by the company's size (:data:`REPEAT_TRUTH`).
_TIER_OF_SIZE = MappingProxyType({"large": Tier.A, "medium": Tier.B, "small": Tier.C})

#: The mean first-response delays a rep of :func:`simulate` is drawn with (one each, uniformly):
#: each of their delays is uniform on ``[0, 2 * mean]``.
RESPONSE_MEANS: tuple[dt.timedelta, ...] = (
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=8),
    dt.timedelta(hours=24),
)


class SimulationError(FunnelkitError):
    """
    An invariant broke during a simulation: the day and what went wrong.
    """

    def __init__(self, day: int, message: str) -> None:
        self.day = day
        self.message = message
        super().__init__(f"day {day}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.day, self.message))


#: The check of a count of :class:`SimulationResult`: an int >= 0 (a document's too).
_COUNT = c.check(c.non_negative_int)


@attrs.frozen(kw_only=True, repr=False)
class SimulationResult(Report, c.Checked):
    """
    What happened: counts, the final entities and events, and the reports.

    *stalled* counts the open deals past their stage's ``stall_after_days``
    at the end (:func:`funnelkit.stages.stalled`): deals whose customer went
    quiet for a few weeks, or that wait on a milestone nobody works on.
    *activity_log* holds the activities logged on the deals and
    *key_persons* the customers' key persons; *splits* and *duplicates*
    the credit splits and the customers entered twice (see :func:`simulate`).
    *lead_records* holds every lead as it ended (status, owner, source,
    size), *lead_activities* the first responses and follow-ups logged
    against the leads (``customer_id`` is the lead's id, as
    :mod:`funnelkit.scoring` and :mod:`funnelkit.discipline` read them by
    default), *response_delays* each rep's planted mean delay to a
    first response (:data:`RESPONSE_MEANS`), and *decisions* the routing
    decisions of every lead (for :func:`funnelkit.assignment.fairness`).
    *repeats* counts the repeat deals that customers who had bought opened
    (:data:`REPEAT_TRUTH`; their ``lead_id`` is ``None``): every deal is
    a converted lead's or a repeat, so ``won + lost + open == converted +
    repeats``.  *departures* holds each rep who left and the instant they
    left (see :func:`simulate`).  The counts are ints >= 0: a document
    with a negative one is refused, naming the field.

    ``to_records()`` and ``to_frame()`` give one row of counts (without the
    entities), so the frames of several seeds concatenate into one table;
    ``to_dict()`` writes everything, entities and events included.

    Not mergeable, by nature: one run is one whole company, and two runs
    are two companies, not parts of one.  Runs of several seeds (in
    parallel, say) are compared side by side: concatenate their frames.
    """

    seed: int
    days: int = attrs.field(metadata=_COUNT)
    leads: int = attrs.field(metadata=_COUNT)
    assigned: int = attrs.field(metadata=_COUNT)
    returned: int = attrs.field(metadata=_COUNT)
    converted: int = attrs.field(metadata=_COUNT)
    disqualified: int = attrs.field(metadata=_COUNT)
    won: int = attrs.field(metadata=_COUNT)
    lost: int = attrs.field(metadata=_COUNT)
    open: int = attrs.field(metadata=_COUNT)
    stalled: int = attrs.field(metadata=_COUNT)
    moves: int = attrs.field(metadata=_COUNT)
    refused_moves: int = attrs.field(metadata=_COUNT)
    reassigned: int = attrs.field(metadata=_COUNT)
    checks: int = attrs.field(metadata=_COUNT)
    customers: tuple[Customer, ...] = attrs.field(repr=False)
    opportunities: tuple[Opportunity, ...] = attrs.field(repr=False)
    events: tuple[StageChanged, ...] = attrs.field(repr=False)
    activities: int = attrs.field(metadata=_COUNT)
    forecast_total: Money | None
    wape: Fraction | None
    abc_counts: Mapping[str, int]
    splits: CreditSplits = attrs.field(repr=False, factory=lambda: CreditSplits(splits=()))
    duplicates: tuple[tuple[str, str], ...] = attrs.field(repr=False, default=())
    activity_log: tuple[Activity, ...] = attrs.field(repr=False, default=())
    key_persons: tuple[KeyPerson, ...] = attrs.field(repr=False, default=())
    lead_records: tuple[Lead, ...] = attrs.field(repr=False, default=())
    lead_activities: tuple[Activity, ...] = attrs.field(repr=False, default=())
    response_delays: Mapping[str, dt.timedelta] = attrs.field(repr=False, factory=dict)
    decisions: tuple[Decision, ...] = attrs.field(repr=False, default=())
    repeats: int = attrs.field(default=0, metadata=_COUNT)
    departures: Mapping[str, dt.datetime] = attrs.field(repr=False, factory=dict)

    def _summary(self) -> str:
        deals = c.counted(self.converted + self.repeats, "deal")
        if self.repeats:
            deals += f" ({self.repeats:,} repeat)"
        return (
            f"seed {self.seed}, {c.counted(self.days, 'day')}: {c.counted(self.leads, 'lead')}, "
            f"{self.assigned:,} assigned; {deals}: {self.won:,} won, "
            f"{self.lost:,} lost, {self.open:,} open; {c.counted(self.checks, 'check')} held"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row: every count, the forecast, its WAPE and the customers per
        tier (a frame per seed concatenates into a table of runs).
        """
        row: dict[str, object] = {}
        for f in attrs.fields(SimulationResult):
            if f.name == "abc_counts":
                row.update((f"abc_{t.value}", self.abc_counts.get(t.value, 0)) for t in Tier)
            elif f.name == "forecast_total" and self.forecast_total is None:
                row.update(forecast_total=None, forecast_total_currency=None)  # the columns of money
            elif f.name not in _ENTITIES:
                row[f.name] = getattr(self, f.name)
        return [row]


#: The fields of a result that hold records, not counts: left out of its one row.
_ENTITIES = frozenset({
    "customers", "opportunities", "events", "splits", "duplicates", "activity_log", "key_persons",
    "lead_records", "lead_activities", "response_delays", "decisions", "departures",
})  # fmt: skip

#: The largest company :func:`simulate` plays: reps, leads and days.
MAX_REPS = 1_000
MAX_LEADS = 1_000_000
MAX_DAYS = 3_650


def _positive(name: str, value: object, problems: list[Problem], most: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        code = "type" if isinstance(value, bool) or not isinstance(value, int) else "range"
        problems.append(Problem(path=name, code=code, message=f"{c.show(value)} is not an int >= 1"))
    elif most is not None and value > most:
        msg = f"{c.show(value)} is more than {most:,}, the most allowed"
        problems.append(Problem(path=name, code="limit", message=msg))


def simulate(
    *,
    reps: int = 20,
    leads: int = 2_000,
    days: int = 365,
    seed: int = 0,
    start: dt.datetime | None = None,
    check_every: int = 1,
    capacity: tuple[int, int] = (4, 16),
    work_rate: float = 0.3,
    pipeline: Pipeline | None = None,
    progress: c.Progress | None = None,
    duplicates: float = 0.0,
    splits: float = 0.0,
) -> SimulationResult:
    """
    Play a company of *reps* over *days* days while *leads* leads arrive,
    and check the invariants every *check_every* days and at the end.  Each
    rep can hold between ``capacity[0]`` and ``capacity[1]`` open leads and
    deals (drawn per rep); small capacities make bursts overflow, so some
    leads come back unassigned, as they should.  Each day, an open deal is
    worked with probability *work_rate*: its owner logs one activity (the
    stage's own work, or a follow-up call or email), good or sloppy.  The
    work is what the deal's next move still lacks, as :func:`readiness`
    reports it for *pipeline* (by default :func:`default_pipeline`), so any
    pipeline built from funnelkit's requirements can be simulated.
    *progress*, when given, is called as ``progress(day, days)`` after each
    simulated day (funnelkit does no I/O: plug a progress bar in there).

    With *duplicates* (a chance in [0, 1]), a converted lead's company is
    entered a second time, as an unowned customer spelled another way (its
    legal form, case, spacing, full-width letters or a typo: see
    :func:`funnelkit.duplicates.plant_duplicates`), and the pairs of ids
    are the result's *duplicates*; companies then get made-up names.  With
    *splits* (a chance in [0, 1]), a new deal's credit (a converted lead's
    or a repeat deal's, alike) is split between its owner and another rep
    (a half, a third or a quarter theirs), in the result's *splits*
    (:class:`~funnelkit.CreditSplits`).  Both draw from
    their own generator seeded by *seed*, so the rest of the company is the
    one played without them.

    Leads carry a planted conversion signal, for lead scoring
    (:mod:`funnelkit.scoring`): each lead has a company size (small, medium
    or large, equally likely), and an assigned lead converts with
    probability ``1 / (1 + exp(-eta))``, where *eta* is
    ``LEAD_TRUTH["(intercept)"]`` plus the effects of its source and size
    (:data:`LEAD_TRUTH`: referrals and trade fairs convert more, cold calls
    less, larger companies more); territory, value and intent score are
    noise.  Once answered, a lead is decided on each day with probability
    0.12 (converted, or disqualified when it was not to convert), so its
    outcome is known within a few weeks.  A lead that came back unassigned
    never converts.  Each rep answers new leads after a delay uniform on
    ``[0, 2 * mean]`` for their own mean (one of :data:`RESPONSE_MEANS`:
    half an hour to a day, so the slow reps breach a first-response SLA of
    a few hours), a call or an email logged against the lead; a lead being
    worked gets a follow-up call or email on three days in ten.  The
    result's *lead_records*, *lead_activities* and *response_delays* hold
    the leads, those activities and each rep's mean.

    Customers come back, for retention (:mod:`funnelkit.segments`): a
    converted lead's customer gets a tier from its company's size (large
    A, medium B, small C), and from the calendar month (UTC) after the one
    of its first won deal, it opens a repeat deal in each month with the
    chance :data:`REPEAT_TRUTH` gives its tier (10 % for A, 5 % for B, 2 %
    for C; drawn day by day, independently of everything else).  A repeat
    deal is owned by the customer's owner, has no lead (``lead_id=None``)
    and names the customer's known key persons; its first activity is the
    customer's request (a call or an email, ``purpose="repeat order"``),
    and it is worked, moved, won and lost like any other deal.  The draws
    come from a generator of their own seeded by *seed*; the repeat deals
    weigh on their reps' capacity as any deal does, so the company differs
    from one played without them.  The result's *repeats* counts them.

    Reps leave: at the start of every 90th day (while more than two remain)
    one rep leaves and a newcomer joins, and the leaver's customers, deals
    and leads are reassigned by load (:func:`funnelkit.assignment.reassign`).
    A lead the leaver had not answered yet is answered by its new owner,
    with that owner's delay counted from the move.  What reassign cannot
    place (every rep full) stays with the rep who left and is not worked:
    such a lead is never answered, followed up or decided (it stays
    working), such a deal is never worked, moved, won or lost (it stalls
    open), and such a customer opens no repeat deal.  Nobody logs anything
    after leaving.  The result's *departures* holds who left and when.

    The invariants:

    - every lead is assigned once or returned with a reason;
    - no customer has two owners, and an open deal is owned by its
      customer's owner;
    - versions only grow, one per move; replaying each deal's events gives
      the deal as it is;
    - amounts per currency are conserved (no money appears or disappears),
      and so are deals: each is a converted lead's or a repeat;
    - no deal sits in a stage its pipeline lacks;
    - a move refused for a missing milestone changes nothing;
    - a rep who has left logs no activity (on a deal or a lead), moves no
      deal and gets no new deal after leaving.

    At most 1,000 reps, 1,000,000 leads and 3,650 days (``MAX_REPS``,
    ``MAX_LEADS``, ``MAX_DAYS``).  Cost: O(d (l + o)) for d days, l leads
    and o deals, plus O(o e + a) for each check of the invariants (e events
    per deal, a activities); a year with 2,000 leads takes a few seconds.
    """
    reps, leads, days = c.plain(reps), c.plain(leads), c.plain(days)  # numpy ints as ints
    seed, check_every, work_rate = c.plain(seed), c.plain(check_every), c.plain(work_rate)
    if isinstance(capacity, tuple):
        capacity = tuple(map(c.plain, capacity))  # type: ignore[assignment]  # checked below
    problems = _simulate_problems(
        reps=reps,
        leads=leads,
        days=days,
        seed=seed,
        check_every=check_every,
        capacity=capacity,
        work_rate=work_rate,
        pipeline=pipeline,
    )
    problem = c.progress_problem(progress)
    if problem is not None:
        problems.append(problem.prefixed("progress"))
    duplicates, splits = c.plain(duplicates), c.plain(splits)
    for name, chance in (("duplicates", duplicates), ("splits", splits)):
        number = isinstance(chance, float | int) and not isinstance(chance, bool)
        if not number or not 0 <= chance <= 1:
            msg = f"{c.show(chance)} is not a chance in [0, 1]"
            problems.append(Problem(path=name, code="range" if number else "type", message=msg))
    if problems:
        raise ValidationError(problems)
    begin = _first_day(start, days)
    company = _Company(
        pipeline=default_pipeline() if pipeline is None else pipeline,
        reps=reps,
        leads=leads,
        days=days,
        seed=seed,
        start=begin,
        check_every=check_every,
        work_rate=float(work_rate),
        duplicates=float(duplicates),
        splits=float(splits),
    )
    company.hire(reps, capacity)
    return company.run(progress)


def _simulate_problems(
    *,
    reps: Any,
    leads: Any,
    days: Any,
    seed: Any,
    check_every: Any,
    capacity: Any,
    work_rate: Any,
    pipeline: object,
) -> list[Problem]:
    """The problems of :func:`simulate`'s arguments (numpy numbers already read as Python ones)."""
    problems: list[Problem] = []
    for name, value, most in (
        ("reps", reps, MAX_REPS),
        ("leads", leads, MAX_LEADS),
        ("days", days, MAX_DAYS),
        ("check_every", check_every, None),
    ):
        _positive(name, value, problems, most)
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.append(Problem(path="seed", code="type", message=f"{c.show(seed)} is not an int"))
    ok = isinstance(capacity, tuple) and len(capacity) == 2
    ok = ok and all(isinstance(x, int) and not isinstance(x, bool) for x in capacity)
    if not ok or not 0 < capacity[0] <= capacity[1]:
        problems.append(
            Problem(
                path="capacity",
                code="range" if ok else "type",
                message=f"{c.show(capacity)} is not a (low, high) pair, 0 < low <= high",
            )
        )
    rate_ok = isinstance(work_rate, float | int) and not isinstance(work_rate, bool)
    if not rate_ok or not 0 < work_rate <= 1:
        code = "range" if rate_ok else "type"
        problems.append(
            Problem(path="work_rate", code=code, message=f"{c.show(work_rate)} is not a number in (0, 1]")
        )
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        problems.append(c.wrong_type(pipeline, "a Pipeline").prefixed("pipeline"))
    return problems


def _first_day(start: dt.datetime | None, days: int) -> dt.datetime:
    """The simulation's first day: *start* checked (with room for *days* days after it), or the default."""
    begin = instant(start, field="start") if start is not None else dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    try:
        begin + (days + 200) * _DAY  # the last day, and the close dates drawn past it
        begin - _DAY
    except OverflowError:
        msg = f"{begin.isoformat()} leaves no room for {days:,} days within the range of datetime"
        raise ValidationError.single("start", msg, code="range") from None
    return begin


def _unmet(requirements: tuple[Requirement, ...], verdicts: tuple[Verdict, ...]) -> list[Requirement]:
    """
    The simple requirements behind the unmet *verdicts* (which readiness lists
    in the order of *requirements*, parts in the order of parts): all unmet
    parts of an all-of; of an any-of, the first unmet part work can meet (not
    a wait or a custom predicate), or else its first unmet part.
    """
    found: list[Requirement] = []
    for requirement, verdict in zip(requirements, verdicts, strict=True):
        if verdict.met:
            continue
        if isinstance(requirement, AllOf | AnyOf):
            parts = _unmet(requirement.parts, verdict.parts)
            if isinstance(requirement, AnyOf):
                workable = [p for p in parts if not isinstance(p, TimeInStage | Predicate)]
                parts = (workable or parts)[:1]
            found.extend(parts)
        else:
            found.append(requirement)
    return found


_SAMPLE_TEXT = "noted"


def _sample_field(name: str, deal: Opportunity, when: dt.datetime, rng: random.Random) -> Any:
    """A value the work finds out for the opportunity field *name*, or None for one it cannot."""
    if name == "amount":
        return deal.amount or Money.of(rng.randrange(20, 500) * 1000, "CNY")
    if name == "expected_close":
        return deal.expected_close or (when + dt.timedelta(days=rng.randint(30, 150))).date()
    if name == "competitors":
        return deal.competitors or ("Rival",)
    return None


def _activity(deal: Opportunity, n: int, kind: str, when: dt.datetime, **fields: Any) -> Activity:
    """The *n*-th activity of *deal*, by its owner."""
    return Activity(
        id=f"{deal.id}-a{n}",
        kind=kind,
        at=when,
        rep_id=deal.owner,
        customer_id=deal.customer_id,
        opportunity_id=deal.id,
        **fields,
    )


class _Company:
    """The simulator's working state: the host's database, in memory."""

    def __init__(
        self,
        *,
        reps: int,
        leads: int,
        days: int,
        seed: int,
        start: dt.datetime,
        check_every: int,
        work_rate: float,
        pipeline: Pipeline,
        duplicates: float = 0.0,
        splits: float = 0.0,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not cryptography
        # duplicates and splits draw from their own generator: the company is the one played without them
        self.extra = random.Random(2 * seed + 1)  # noqa: S311 - a seeded simulation; not the main draws
        self.duplicate_rate, self.split_rate = duplicates, splits
        # lead sizes, fates and the work on leads: a generator of their own (not the main draws either)
        seeded = seed.to_bytes(seed.bit_length() // 8 + 1, "big", signed=True)
        self.leadgen = random.Random(b"funnelkit.simulate.leads:" + seeded)  # noqa: S311 - not cryptography
        # whether a customer comes back for more: a generator of its own too (REPEAT_TRUTH)
        self.repeatgen = random.Random(b"funnelkit.simulate.repeats:" + seeded)  # noqa: S311 - not cryptography
        # the customers who have won a deal, in the order of the first, and the (year, month) of that one
        self.buyers: dict[str, tuple[int, int]] = {}
        self.repeat_deals: Counter[str] = Counter()  # customer id -> its repeat deals so far
        self.fate: dict[str, bool] = {}  # lead id -> converts once decided
        self.answered: dict[str, dt.datetime] = {}  # lead id -> its first response
        self.lead_acts: dict[str, list[Activity]] = {}  # lead id -> the activities logged against it
        self.delays: dict[str, dt.timedelta] = {}  # rep id -> their mean delay to a first response
        self.left: dict[str, dt.datetime] = {}  # rep id -> the instant they left, in order
        self.decisions: list[Decision] = []  # every routing decision, in order
        self.names = _Maker(self.extra)
        self.splits: list[Split] = []
        self.duplicates: list[tuple[str, str]] = []
        self.seed = seed
        self.total_leads = leads
        self.days = days
        self.start = start
        self.check_every = check_every
        self.work_rate = work_rate
        self.pipeline = pipeline
        self.reps: dict[str, SalesRep] = {}
        self.next_rep = reps
        self.state = _State()
        self.leads: dict[str, Lead] = {}
        self.decided: Counter[str] = Counter()
        self.customers: dict[str, Customer] = {}
        self.people: dict[str, dict[str, KeyPerson]] = {}
        self.deals: dict[str, Opportunity] = {}
        self.initial: dict[str, Opportunity] = {}
        self.events: dict[str, list[StageChanged]] = {}
        self.activities: dict[str, list[Activity]] = {}
        self.quiet: dict[str, int] = {}  # deal id -> last day of its quiet spell
        self.created_amounts: dict[str, Decimal] = {}
        self.counts = Counter[str]()
        self.checks = 0
        self.made = 0

    def hire(self, reps: int, capacity: tuple[int, int]) -> None:
        """The starting team, with capacities drawn from *capacity*."""
        low, high = capacity
        for i in range(reps):
            rep_id = f"rep{i:03d}"
            self.reps[rep_id] = SalesRep(id=rep_id, name=f"Rep {i}", capacity=self.rng.randint(low, high))
            self.delays[rep_id] = self.leadgen.choice(RESPONSE_MEANS)

    # --- the days ------------------------------------------------------------------

    def run(self, progress: c.Progress | None = None) -> SimulationResult:
        for day in range(self.days):
            now = self.start + day * _DAY
            if day % 90 == 89 and len(self.reps) > 2:
                self.rep_leaves(day, now)  # first thing: the day's work is by the reps still there
            self.arrivals(day, now)
            self.work_leads(now)
            self.repeat_orders(now)
            self.work_deals(day, now)
            if day % self.check_every == 0:
                self.check(day)
            if progress is not None:
                progress(day + 1, self.days)
        self.check(self.days)
        return self.report()

    def team(self) -> Team:
        load: Counter[str] = Counter()
        for lead in self.leads.values():
            if lead.owner in self.reps and lead.status not in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
                load[lead.owner] += 1
        for deal in self.deals.values():
            if deal.is_open and deal.owner in self.reps:
                load[deal.owner] += 1
        return Team(reps=list(self.reps.values()), load=load)

    def arrivals(self, day: int, now: dt.datetime) -> None:
        remaining = self.total_leads - self.made
        days_left = self.days - day
        if remaining <= 0:
            return
        mean = remaining / days_left
        burst = self.rng.random() < 0.08  # a trade fair, a campaign
        n = (
            remaining
            if days_left == 1
            else min(remaining, int(self.rng.expovariate(1 / max(mean, 0.01)) * (3 if burst else 1)))
        )
        batch = []
        for _ in range(n):
            i = self.made
            self.made += 1
            value = Money.of(str(self.rng.randrange(5, 500) * 1000), "CNY")
            lead = Lead(
                id=f"lead{i:06d}",
                source=self.rng.choice(_SOURCES),
                created_at=now,
                territory=self.rng.choice(_TERRITORIES),
                size=self.leadgen.choice(_SIZES),
                estimated_value=value,
                intent_score=Decimal(self.rng.randrange(1, 100)).scaleb(-2, context=_CONTEXT),
            )
            self.fate[lead.id] = self.leadgen.random() < _converts(lead)
            batch.append(lead)
        if not batch:
            return
        result = assign(batch, team=self.team(), policy=LoadBalance(), now=now, state=self.state)
        self.state = result.state
        self.decisions.extend(result.decisions)
        for lead, decision in zip(batch, result.decisions, strict=True):
            self.decided[lead.id] += 1
            if decision.rep_id is None:
                if not decision.reason:
                    raise SimulationError(day, f"lead {lead.id} returned without a reason")
                self.counts["returned"] += 1
                routed = attrs.evolve(lead, status=LeadStatus.DISQUALIFIED)
            else:
                self.counts["assigned"] += 1
                routed = attrs.evolve(lead, owner=decision.rep_id, status=LeadStatus.WORKING)
                self.first_response(routed, decision.rep_id)
            self.leads[lead.id] = routed

    def first_response(self, lead: Lead, rep: str, since: dt.datetime | None = None) -> None:
        """
        *rep* answers *lead* after a delay uniform on ``[0, 2 * mean]`` for their mean, from the lead's
        creation or from *since* (when the lead came to them): a call or email.
        """
        at = (lead.created_at if since is None else since) + self.leadgen.uniform(0, 2) * self.delays[rep]
        self.answered[lead.id] = at
        kind = self.leadgen.choice(("call", "email"))
        act = Activity(
            id=f"{lead.id}-r0", kind=kind, at=at, rep_id=rep, customer_id=lead.id, purpose="first response"
        )
        self.lead_acts[lead.id] = [act]

    def follow_up(self, lead: Lead, now: dt.datetime) -> None:
        """A follow-up on *lead* by its owner on three days in ten, within eight hours after *now*."""
        if lead.owner is None or self.leadgen.random() >= 0.3:
            return
        acts = self.lead_acts.setdefault(lead.id, [])
        at = max(now + self.leadgen.uniform(0, 8) * dt.timedelta(hours=1), self.answered[lead.id])
        kind = self.leadgen.choice(("call", "email"))
        acts.append(
            Activity(
                id=f"{lead.id}-r{len(acts)}", kind=kind, at=at, rep_id=lead.owner, customer_id=lead.id,
                purpose="follow-up",
            )
        )  # fmt: skip

    def work_leads(self, now: dt.datetime) -> None:
        for lead in list(self.leads.values()):
            answered = self.answered.get(lead.id)
            if lead.status is not LeadStatus.WORKING or answered is None or answered > now:
                continue  # closed, or not answered yet: nobody qualifies a lead before the first contact
            if lead.owner not in self.reps:
                continue  # left with a rep who has gone (nobody had room): nobody works it
            roll = self.rng.random()
            if roll >= 0.12:  # not decided today: perhaps a follow-up
                self.follow_up(lead, now)
            elif not self.fate[lead.id]:  # qualified out: no fit (the planted signal, see LEAD_TRUTH)
                self.leads[lead.id] = attrs.evolve(lead, status=LeadStatus.DISQUALIFIED)
                self.counts["disqualified"] += 1
            else:
                company = self.names.company() if self.duplicate_rate else None
                known = attrs.evolve(
                    lead,
                    needs="file sharing for the team",
                    company=f"Company {lead.id}"
                    if company is None
                    else self.names.name(company, variant=False),
                    contact_name=f"Contact {lead.id}",
                )
                made = convert_lead(
                    known,
                    pipeline=self.pipeline,
                    now=now,
                    customer_id=f"cust-{lead.id}",
                    opportunity_id=f"deal-{lead.id}",
                    contact_id=f"kp-{lead.id}",
                )
                self.leads[lead.id] = made.lead
                size = "" if lead.size is None else lead.size.value
                self.customers[made.customer.id] = attrs.evolve(made.customer, tier=_TIER_OF_SIZE.get(size))
                if company is not None and self.extra.random() < self.duplicate_rate:
                    twin = Customer(
                        id=f"{made.customer.id}-2",
                        name=self.names.name(company, variant=True),
                        created_at=now,
                    )
                    self.customers[twin.id] = twin
                    self.duplicates.append((made.customer.id, twin.id))
                self.people[made.customer.id] = {p.id: p for p in made.key_persons}
                deal = attrs.evolve(
                    made.opportunity, competitors=("Rival",) if self.rng.random() < 0.5 else ()
                )
                self.deals[deal.id] = self.initial[deal.id] = deal
                if self.split_rate and self.extra.random() < self.split_rate and len(self.reps) > 1:
                    self.split(deal)
                self.events[deal.id] = []
                self.activities[deal.id] = []
                if deal.amount is not None:
                    cur = deal.amount.currency
                    before = self.created_amounts.get(cur, Decimal(0))
                    self.created_amounts[cur] = _CONTEXT.add(before, deal.amount.amount)
                self.counts["converted"] += 1

    def repeat_orders(self, now: dt.datetime) -> None:
        """
        Each customer who won a deal before this month (UTC) opens a repeat deal today with the daily
        chance that makes its tier's monthly chance (:data:`REPEAT_TRUTH`) over the days of this month.
        """
        month = (now.year, now.month)
        days = calendar.monthrange(now.year, now.month)[1]
        daily = {t: 1 - (1 - p) ** (1 / days) for t, p in REPEAT_TRUTH.items()}
        for customer_id, first in list(self.buyers.items()):
            if first >= month:
                continue
            customer = self.customers[customer_id]
            chance = 0.0 if customer.tier is None else daily[customer.tier.value]
            asks = self.repeatgen.random() < chance
            if asks and customer.owner is not None and customer.owner in self.reps:  # else: the owner left
                self.repeat_order(customer, customer.owner, now)

    def repeat_order(self, customer: Customer, owner: str, now: dt.datetime) -> None:
        """A repeat deal of *customer*, owned by *owner*, opened by its request: a call or email."""
        self.repeat_deals[customer.id] += 1
        value = Money.of(str(self.repeatgen.randrange(5, 500) * 1000), "CNY")
        deal = Opportunity(
            id=f"{customer.id}-repeat{self.repeat_deals[customer.id]}",
            customer_id=customer.id,
            owner=owner,
            pipeline=self.pipeline.key,
            stage=self.pipeline.first.key,
            created_at=now,
            stage_entered_at=now,
            amount=value,
            key_person_ids=tuple(self.people[customer.id]),
            competitors=("Rival",) if self.repeatgen.random() < 0.25 else (),
        )
        kind = self.repeatgen.choice(("call", "email"))
        self.deals[deal.id] = self.initial[deal.id] = deal
        self.events[deal.id] = []
        self.activities[deal.id] = [_activity(deal, 0, kind, now, purpose="repeat order")]
        self.created_amounts["CNY"] = _CONTEXT.add(self.created_amounts.get("CNY", Decimal(0)), value.amount)
        self.counts["repeats"] += 1
        if self.split_rate and self.extra.random() < self.split_rate and len(self.reps) > 1:
            self.split(deal)  # a repeat deal's credit is split like a converted lead's

    def split(self, deal: Opportunity) -> None:
        """Share *deal*'s credit between its owner and another rep: a half, a third or a quarter theirs."""
        other = self.extra.choice(sorted(r for r in self.reps if r != deal.owner))
        share = self.extra.choice((Fraction(1, 2), Fraction(1, 3), Fraction(1, 4)))
        self.splits.append(Split(opportunity_id=deal.id, owner=deal.owner, share=1 - share))
        self.splits.append(Split(opportunity_id=deal.id, owner=other, share=share))

    def work_deals(self, day: int, now: dt.datetime) -> None:
        for deal_id in list(self.deals):
            deal = self.deals[deal_id]
            if not deal.is_open or deal.owner not in self.reps:
                continue  # closed, or left with a rep who has gone (nobody had room): nobody works it
            if self.rng.random() < 0.006 and deal.stage in self.pipeline.routes.lose_to:
                reason = self.rng.choice(self.pipeline.lost_reasons or ("other",))
                self.record(
                    *lose(
                        deal,
                        self.pipeline,
                        reason=reason,
                        now=now,
                        actor=deal.owner,
                        expected_version=deal.version,
                    )
                )
                self.counts["lost"] += 1
                continue
            if self.quiet.get(deal_id, -1) >= day:
                continue  # the customer has gone quiet: nobody works the deal, it stalls
            if self.rng.random() < 0.004:
                self.quiet[deal_id] = day + self.rng.randint(20, 60)
                self.counts["quiet_spells"] += 1
                continue
            if self.rng.random() < self.work_rate:
                deal = self.do_work(deal, now)
            if self.rng.random() < 0.5:
                self.try_move(day, deal, now)

    def do_work(self, deal: Opportunity, now: dt.datetime) -> Opportunity:
        """
        One piece of work on *deal*, good or sloppy: whatever the move ahead
        still lacks, as the pipeline's readiness report says, whatever the
        pipeline (the default one or the caller's own).
        """
        good = self.rng.random() < 0.75
        acts = self.activities[deal.id]
        people = self.people[deal.customer_id]
        report = readiness(deal, self.pipeline, now=now, activities=acts, key_persons=people)
        target = next((t for t in report.targets if t.allowed), None)
        plan = None if target is None else self.pipeline.routes.plan(deal.stage, target.to)
        unmet = []
        if plan is not None and target is not None:  # readiness adds a verdict for a minimum dwell: not work
            unmet = _unmet(plan.requirements, target.verdicts[: len(plan.requirements)])
        when = now - dt.timedelta(hours=1) if now - dt.timedelta(hours=1) > deal.stage_entered_at else now
        if not unmet:  # nothing lacking: a follow-up (a sloppy one names no next step)
            kind = "call" if self.rng.random() < 0.6 else "email"
            fields = {"purpose": "follow-up", "next_step": "send the agenda" if good else None}
            acts.append(_activity(deal, len(acts), kind, when, replied=kind == "email" and good, **fields))
        for requirement in unmet[:1]:  # one thing at a time
            deal = self.meet(requirement, deal, when, good=good)
        self.deals[deal.id] = deal
        return deal

    def meet(
        self, requirement: Requirement, deal: Opportunity, when: dt.datetime, *, good: bool
    ) -> Opportunity:
        """Work towards one unmet requirement: well when *good*, sloppily (leaving it unmet) when not."""
        if isinstance(requirement, ActivityCount):
            self.log_activity(requirement, deal, when, good=good)
            return deal
        if isinstance(requirement, KeyPersonCoverage):
            return self.find_person(requirement, deal) if good else deal
        if isinstance(requirement, RequiredFields) and good:
            values = {
                f: v for f in requirement.fields if (v := _sample_field(f, deal, when, self.rng)) is not None
            }
            return self.priced(deal, attrs.evolve(deal, **values))
        if isinstance(requirement, AmountAtLeast) and good:  # the deal is sized up to the floor
            return self.priced(
                deal, attrs.evolve(deal, amount=requirement.minimum * self.rng.choice((1, 2, 3)))
            )
        if isinstance(requirement, EvidenceRecorded) and good and self.rng.random() < 0.6:
            return attrs.evolve(deal, evidence=deal.evidence | {requirement.key})
        if isinstance(requirement, NoOpenGaps) and good:
            return attrs.evolve(deal, gaps=tuple(attrs.evolve(g, closed=True) for g in deal.gaps))
        if isinstance(requirement, NoOpenGaps) and not deal.gaps:  # the work found a question
            return attrs.evolve(deal, gaps=(Gap(description="who signs", closed=False),))
        return deal  # time in stage, custom predicates: nothing to do but wait

    def priced(self, before: Opportunity, after: Opportunity) -> Opportunity:
        """*after*, its change of amount (if any) entered in the ledger the conservation check reads."""
        for amount, add in ((before.amount, _CONTEXT.subtract), (after.amount, _CONTEXT.add)):
            if amount is not None:
                total = self.created_amounts.get(amount.currency, Decimal(0))
                self.created_amounts[amount.currency] = add(total, amount.amount)
        for currency in [k for k, v in self.created_amounts.items() if not v]:
            del self.created_amounts[currency]
        return after

    def log_activity(
        self, requirement: ActivityCount, deal: Opportunity, when: dt.datetime, *, good: bool
    ) -> None:
        """An activity of the kind *requirement* counts, its fields filled only when *good*."""
        fields: dict[str, Any] = dict.fromkeys(requirement.filled, _SAMPLE_TEXT if good else None)
        if requirement.replied:
            fields["replied"] = good
        if requirement.with_key_person and good and deal.key_person_ids:
            fields["key_person_ids"] = deal.key_person_ids[:1]
        if requirement.min_duration is not None and good:
            fields["duration"] = requirement.min_duration
        acts = self.activities[deal.id]
        acts.append(_activity(deal, len(acts), min(k.value for k in requirement.kinds), when, **fields))

    def find_person(self, requirement: KeyPersonCoverage, deal: Opportunity) -> Opportunity:
        """Win over a person of the role *requirement* names, or find one more."""
        people = self.people[deal.customer_id]
        stance = min((s.value for s in requirement.stances), default="neutral")
        mine = [people[k] for k in deal.key_person_ids if k in people]
        found = next(
            (p for p in mine if p.role is requirement.role and p.stance not in requirement.stances), None
        )
        if found is not None and requirement.stances:
            people[found.id] = attrs.evolve(found, stance=stance)
            return deal
        role = requirement.role.value
        person = KeyPerson(
            id=f"{deal.id}-{role}-{len(mine)}",
            customer_id=deal.customer_id,
            name=role.replace("_", " ").title(),
            role=role,
            stance=stance,
        )
        people[person.id] = person
        return attrs.evolve(deal, key_person_ids=(*deal.key_person_ids, person.id))

    def try_move(self, day: int, deal: Opportunity, now: dt.datetime) -> None:
        acts = self.activities[deal.id]
        people = self.people[deal.customer_id]
        report = readiness(deal, self.pipeline, now=now, activities=acts, key_persons=people)
        target = next((t for t in report.targets if t.allowed), None)
        if target is None:
            return
        step = {"now": now, "actor": deal.owner, "to": target.to, "activities": acts, "key_persons": people}
        if not target.ready:
            if self.rng.random() < 0.1:  # an impatient rep: the engine must refuse and change nothing
                try:
                    advance(deal, self.pipeline, **step)  # type: ignore[arg-type]
                except MilestoneNotMet:
                    self.counts["refused"] += 1
                    if self.deals[deal.id] is not deal:
                        raise SimulationError(day, f"a refused move changed {deal.id}") from None
                    return
                raise SimulationError(day, f"{deal.id} moved to {target.to!r} with milestones unmet")
            return
        if self.rng.random() > float(self.pipeline.stage(target.to).probability) + 0.35:
            return  # the customer is not ready yet
        move = win if self.pipeline.stage(target.to).outcome.value == "won" else advance
        self.record(*move(deal, self.pipeline, expected_version=deal.version, **step))  # type: ignore[arg-type]
        if move is win:
            self.counts["won"] += 1
            self.buyers.setdefault(deal.customer_id, (now.year, now.month))

    def record(self, deal: Opportunity, event: StageChanged) -> None:
        before = self.deals[deal.id]
        if deal.version != before.version + 1 or event.version != deal.version:
            raise SimulationError(
                -1, f"{deal.id}: version {before.version} -> {deal.version}, event {event.version}"
            )
        self.deals[deal.id] = deal
        self.events[deal.id].append(event)
        self.counts["moves"] += 1

    def rep_leaves(self, day: int, now: dt.datetime) -> None:
        leaver = self.rng.choice(sorted(self.reps))
        del self.reps[leaver]
        self.left[leaver] = now
        newcomer = f"rep{self.next_rep:03d}"
        self.next_rep += 1
        self.reps[newcomer] = SalesRep(id=newcomer, name=f"Rep {self.next_rep}", capacity=30)
        self.delays[newcomer] = self.leadgen.choice(RESPONSE_MEANS)
        owned_leads = [lead for lead in self.leads.values() if lead.owner == leaver]
        owned_customers = [cu for cu in self.customers.values() if cu.owner == leaver]
        owned_deals = [d for d in self.deals.values() if d.owner == leaver]
        moved = reassign(
            leaver,
            team=self.team(),
            policy=LoadBalance(),
            now=now,
            actor="manager",
            reason="left the company",
            customers=owned_customers,
            opportunities=owned_deals,
            leads=owned_leads,
            state=self.state,
        )
        self.state = moved.state
        for cu in moved.customers:
            self.customers[cu.id] = cu
        versions = {m.id: m.version for m in moved.moves if m.kind == "opportunity"}
        for d in moved.opportunities:
            if d is not self.deals[d.id]:
                before = self.deals[d.id].version
                if not d.version == versions.get(d.id) == before + 1:
                    raise SimulationError(
                        day,
                        f"{d.id}: reassigned from version {before} to {d.version}, "
                        f"move says {versions.get(d.id)}",
                    )
                self.deals[d.id] = d  # the owner changed: version + 1, no stage event
                self.initial[d.id] = attrs.evolve(self.initial[d.id], owner=d.owner)
        for lead in moved.leads:
            self.leads[lead.id] = lead
        for lead in owned_leads:  # a first response planned for after the leave is not the leaver's
            planned = self.answered.get(lead.id)
            if planned is None or planned <= now:
                continue  # answered already: the new owner (if any) follows up
            owner = self.leads[lead.id].owner
            if owner is not None and owner in self.reps:  # moved: the new owner answers, from now
                self.first_response(self.leads[lead.id], owner, since=now)
            else:  # left with the leaver: nobody answers it
                del self.answered[lead.id], self.lead_acts[lead.id]
        self.counts["reassigned"] += len(moved.moves)
        for u in moved.unmoved:
            if not u.reason:
                raise SimulationError(day, f"{u.kind} {u.id} left unmoved without a reason")

    # --- the invariants --------------------------------------------------------------

    def check(self, day: int) -> None:
        self.checks += 1
        if any(n != 1 for n in self.decided.values()) or len(self.decided) != self.made:
            raise SimulationError(day, "a lead was routed twice, or never")
        if len(self.deals) != self.counts["converted"] + self.counts["repeats"]:
            raise SimulationError(day, f"{len(self.deals):,} deals, not one per converted lead or repeat")
        stages = set(self.pipeline.keys)
        totals: dict[str, Decimal] = {}
        for deal in self.deals.values():
            if deal.stage not in stages:
                raise SimulationError(day, f"{deal.id} sits in {deal.stage!r}, which the pipeline lacks")
            customer = self.customers[deal.customer_id]
            if deal.is_open and customer.owner != deal.owner:
                raise SimulationError(
                    day,
                    f"{deal.customer_id} is owned by {customer.owner}, its deal {deal.id} by {deal.owner}",
                )
            events = self.events[deal.id]
            moves = sum(1 for e in events)
            if [e.version for e in events] != sorted({e.version for e in events}):
                raise SimulationError(day, f"{deal.id}: versions do not grow")
            replayed = replay(self.initial[deal.id], events, pipeline=self.pipeline)
            if (replayed.stage, replayed.status, replayed.stage_entered_at) != (
                deal.stage,
                deal.status,
                deal.stage_entered_at,
            ):
                raise SimulationError(
                    day, f"{deal.id}: replaying {moves} events gives {replayed.stage!r}, not {deal.stage!r}"
                )
            if deal.amount is not None:
                cur = deal.amount.currency
                totals[cur] = _CONTEXT.add(totals.get(cur, Decimal(0)), deal.amount.amount)
        if totals != self.created_amounts:
            raise SimulationError(
                day, f"amounts per currency changed: {dict(totals)} != {dict(self.created_amounts)}"
            )
        self.check_leavers(day)

    def check_leavers(self, day: int) -> None:
        """Nobody who has left logs an activity, moves a deal or gets a new deal after leaving."""
        left = self.left
        if not left:
            return
        logs = (*self.activities.values(), *self.lead_acts.values())
        for act in (a for log in logs for a in log):
            gone = left.get(act.rep_id)
            if gone is not None and act.at > gone:
                raise SimulationError(
                    day, f"{act.rep_id} logged {act.id} at {act.at:%Y-%m-%d %H:%M}, after leaving"
                )
        for deal_id, events in self.events.items():
            for e in events:
                gone = left.get(e.actor)
                if gone is not None and e.at > gone:
                    raise SimulationError(
                        day, f"{e.actor} moved {deal_id} at {e.at:%Y-%m-%d %H:%M}, after leaving"
                    )
        for deal in self.deals.values():
            gone = left.get(deal.owner)
            if gone is not None and deal.created_at > gone:
                raise SimulationError(day, f"{deal.id} was opened for {deal.owner}, who had left")

    # --- the end ----------------------------------------------------------------------

    def report(self) -> SimulationResult:
        deals = tuple(self.deals.values())
        events = tuple(e for es in self.events.values() for e in es)
        open_deals = [d for d in deals if d.is_open]
        # The company's currency is CNY; a pipeline may ask for amounts in another (AmountAtLeast):
        # forecasts and backtests add one currency, so they read the deals in CNY or without amount.
        in_cny = tuple(d for d in deals if d.amount is None or d.amount.currency == "CNY")
        open_cny = [d for d in in_cny if d.is_open]
        forecast_total = weighted_forecast(open_cny, self.pipeline, by=[]).total("CNY") if open_cny else None
        end = self.start + self.days * _DAY
        return SimulationResult(
            seed=self.seed,
            days=self.days,
            leads=self.made,
            assigned=self.counts["assigned"],
            returned=self.counts["returned"],
            converted=self.counts["converted"],
            disqualified=self.counts["disqualified"],
            won=sum(1 for d in deals if d.status is OpportunityStatus.WON),
            lost=sum(1 for d in deals if d.status is OpportunityStatus.LOST),
            open=len(open_deals),
            stalled=len(stalled(open_deals, self.pipeline, now=end)),
            moves=self.counts["moves"],
            refused_moves=self.counts["refused"],
            reassigned=self.counts["reassigned"],
            checks=self.checks,
            customers=tuple(self.customers.values()),
            opportunities=deals,
            events=events,
            activities=sum(len(a) for a in self.activities.values()),
            forecast_total=forecast_total,
            wape=self._wape(in_cny, events, end),
            abc_counts=_abc_counts(deals),
            splits=CreditSplits(splits=tuple(self.splits)),
            duplicates=tuple(self.duplicates),
            activity_log=tuple(a for log in self.activities.values() for a in log),
            key_persons=tuple(p for people in self.people.values() for p in people.values()),
            lead_records=tuple(self.leads.values()),
            lead_activities=tuple(a for log in self.lead_acts.values() for a in log if a.at < end),
            response_delays={rep: self.delays[rep] for rep in sorted(self.delays)},
            decisions=tuple(self.decisions),
            repeats=self.counts["repeats"],
            departures=dict(self.left),
        )

    def _wape(
        self, deals: tuple[Opportunity, ...], events: tuple[StageChanged, ...], end: dt.datetime
    ) -> Fraction | None:
        """The WAPE of the weighted forecast backtested over 90-day windows a month apart up to *end*."""
        cutoffs = [(self.start + k * 30 * _DAY, self.start + (k + 3) * 30 * _DAY) for k in range(1, 12)]
        cutoffs = [(a, b) for a, b in cutoffs if b <= end]
        if not cutoffs:
            return None
        try:
            result = backtest(
                deals,
                events,
                cutoffs=cutoffs,
                currency="CNY",
                forecast=lambda ds: weighted_forecast(ds, self.pipeline, by=[]).total("CNY"),
            )
        except ValidationError:  # nothing won in any window: WAPE is undefined
            return None
        return result.wape


def _converts(lead: Lead) -> float:
    """The planted chance that *lead*, once assigned, converts (:data:`LEAD_TRUTH`)."""
    size = "" if lead.size is None else lead.size.value
    eta = LEAD_TRUTH["(intercept)"] + LEAD_TRUTH[f"source={lead.source}"] + LEAD_TRUTH[f"size={size}"]
    return 1 / (1 + math.exp(-eta))


def _abc_counts(deals: tuple[Opportunity, ...]) -> dict[str, int]:
    """The customers per A/B/C tier, graded by the amounts they won."""
    won_by_customer: dict[str, Decimal] = {}
    for d in deals:
        if d.status is OpportunityStatus.WON and d.amount is not None:
            won_by_customer[d.customer_id] = _CONTEXT.add(
                won_by_customer.get(d.customer_id, Decimal(0)), d.amount.amount
            )
    if not won_by_customer:
        return {}
    grading = abc(dict(won_by_customer))
    return {s.tier.value: s.count for s in grading.summary}
