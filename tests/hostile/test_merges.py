"""
Every report that merges keeps the merge protocol; every other one says why it does not.

The reports are those of the report protocol test (REPORTS, found by the hostile battery's
working calls).  A report with ``merge`` needs a builder here: random data, cut into random
partitions by the unit its merge asks for (a deal with its events, a customer, a lead), and the
function that makes the report.  The properties, for every builder:

- the parts merged, in any order, are the report of the whole (one pass);
- the report over no data is the identity, on either side;
- merging is associative and commutative;
- a report sent through pickle (Dask, process pools) or a JSON document still merges.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import pickle
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reports import REPORTS, reports

import funnelkit
from _problems import raises_problems
from funnelkit import Activity, Customer, Money, Opportunity, from_dict, to_dict
from funnelkit.assignment import Decision, Offer, Team, fairness
from funnelkit.forecast import (
    CumulativeIncidence,
    KaplanMeier,
    against_targets,
    calibration,
    close_rates,
    cohorts,
    cumulative_incidence,
    flow,
    funnel,
    kaplan_meier,
    pipeline_changes,
    pipeline_generation,
    weighted_forecast,
    win_count,
    win_loss,
)
from funnelkit.segments import (
    account_plans,
    activity_kpis,
    at_risk,
    migration,
    purchase_cohorts,
    result_kpis,
    retention,
)
from funnelkit.stages import Pipeline, Stage, StageChanged

T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
PIPE = Pipeline(
    key="p",
    label="P",
    stages=[
        Stage(key="a", label="A", probability="0.2"),
        Stage(key="b", label="B", probability="0.4"),
        Stage(key="c", label="C", probability="0.7"),
        Stage(key="won", label="W", probability=1, outcome="won"),
        Stage(key="lost", label="L", probability=0, outcome="lost"),
    ],
)
ORDER = ("a", "b", "c", "won", "lost")
OWNERS = ("ann", "bob", "cy")
CUSTOMERS = ("c0", "c1", "c2", "c3")
ZONES = (dt.UTC, "Asia/Shanghai", "America/New_York")

#: Reports that do not merge, and why; the class docstring says so too.
NOT_MERGEABLE = {
    "AbcResult": "a tier is a place in the ranking of every customer",
    "ForecastComparison": "each method learns from every deal, the combination from the whole history",
    "Bookings": "weights and an interval chosen on the whole history: forecast a company in one call",
    "AbsorbingChain": "a solve of the whole transition matrix: merge the moves, solve once",
    "CloseTimes": "quantiles of simulated paths through one model: learn it once from all the history",
    "Company": "one company, not a partition",
    "DealCloses": "quantiles of simulated futures through one model: learn it once from all the history",
    "DuplicateReport": "a pair across two parts is found only by comparing the parts together",
    "AssignmentResult": "decisions: each moves the routing state the next one reads",
    "Backtest": "each cut-off's forecast is the caller's function of the whole book",
    "Calibration": "one row: its shrunk rate leans on the pipeline-wide rate (merge CalibrationReport)",
    "CoveragePlan": "a plan whose moves share the reps' room",
    "Moves": "what one batch of engine moves did, deal by deal: results, not a sum",
    "Readiness": "one deal's readiness for its next move, not a sum over deals",
    "Reassignment": "a plan of moves that share the receiving reps' room",
    "RevenueDistribution": "the whole's revenue is the parts' summed draw by draw; samples drawn apart do not pair",
    "RfmResult": "a score is a rank among every customer",
    "Rollup": "a manager's own call overrides their team's sum: roll up each subtree on its own",
    "ShapeReport": "a diagnosis of the whole book against the whole history",
    "SimulationResult": "one run is one whole company",
}


# --- data: random, and cut by unit ------------------------------------------------------------


def _when(draw: st.DrawFn) -> dt.datetime:
    """An instant in 2026 on a six-hour grid: ties of times and periods are common."""
    return T0 + draw(st.integers(0, 4 * 400)) * 6 * HOUR


def _usd(draw: st.DrawFn) -> Money | None:
    """An amount in USD, or none."""
    return draw(st.none() | st.integers(1, 10**7).map(lambda n: Money.from_minor(n, "USD")))


@st.composite
def _deal(draw: st.DrawFn, i: int) -> tuple[Opportunity, list[StageChanged]]:
    """
    Deal *i* of PIPE with a random path (forward, skip, back, win, lose, reopen), times in stage
    in whole days, and its events.
    """
    customer = draw(st.sampled_from(CUSTOMERS))
    oid = f"{customer}-d{i}"
    created = _when(draw)
    stage, at, events = "a", created, []
    for version in range(1, draw(st.integers(0, 5)) + 1):
        to = draw(st.sampled_from([s for s in ORDER if s != stage]))
        if stage in ("won", "lost"):
            to = draw(st.sampled_from(ORDER[:3]))
            kind = "reopen"
        else:
            kind = {"won": "win", "lost": "lose"}.get(to) or (
                "advance" if ORDER.index(to) > ORDER.index(stage) else "back"
            )
        stay = draw(st.integers(0, 30)) * DAY
        at += stay
        events.append(
            StageChanged(
                opportunity_id=oid, pipeline="p", kind=kind, from_stage=stage, to_stage=to, at=at,
                actor="ann", version=version, time_in_stage=stay, lost_reason="price" if kind == "lose" else None,
            )
        )  # fmt: skip
        stage = to
    status = stage if stage in ("won", "lost") else "open"
    deal = Opportunity(
        id=oid, customer_id=customer, owner=draw(st.sampled_from(OWNERS)), pipeline="p", stage=stage,
        status=status, created_at=created, stage_entered_at=at, amount=_usd(draw),
        expected_close=draw(st.none() | st.dates(dt.date(2026, 1, 1), dt.date(2027, 6, 30))),
        lost_reason="price" if status == "lost" else None, version=len(events),
    )  # fmt: skip
    return deal, events


@st.composite
def books(draw: st.DrawFn) -> list[tuple[str, object]]:
    """Deals with their events, each item under its deal's id; some event stored twice."""
    items: list[tuple[str, object]] = []
    for i in range(draw(st.integers(0, 8))):
        deal, events = draw(_deal(i))
        items.append((deal.id, deal))
        items += [(deal.id, e) for e in events]
        if events and draw(st.booleans()):
            items.append((deal.id, draw(st.sampled_from(events))))  # a host that stored it twice
    return items


def _split(book: list[object]) -> tuple[list[Any], list[Any]]:
    """A book's deals and its events."""
    return [x for x in book if isinstance(x, Opportunity)], [x for x in book if isinstance(x, StageChanged)]


@st.composite
def customer_books(draw: st.DrawFn) -> list[tuple[str, object]]:
    """Customers, their deals with the deals' events, and activities, each under its customer."""
    items: list[tuple[str, object]] = []
    for cid in CUSTOMERS:
        if draw(st.booleans()):
            customer = Customer(
                id=cid, name=cid, created_at=_when(draw), owner=draw(st.none() | st.sampled_from(OWNERS))
            )
            items.append((cid, customer))
    for deal, events in (draw(_deal(i)) for i in range(draw(st.integers(0, 8)))):
        items.append((deal.customer_id, deal))
        items += [(deal.customer_id, e) for e in events]
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["visit", "meeting", "call"]))
            activity = Activity(
                id=f"{deal.id}-a{len(items)}", kind=kind, at=_when(draw), rep_id=deal.owner,
                customer_id=deal.customer_id, opportunity_id=deal.id,
            )  # fmt: skip
            items.append((deal.customer_id, activity))
    return items


def _of(kind: type, items: list[object]) -> list[Any]:
    """The items of one kind."""
    return [x for x in items if isinstance(x, kind)]


@st.composite
def activities(draw: st.DrawFn) -> list[tuple[str, object]]:
    """Activities of reps, each its own unit."""
    out: list[tuple[str, object]] = []
    for i in range(draw(st.integers(0, 12))):
        activity = Activity(
            id=f"a{i}", kind=draw(st.sampled_from(["visit", "meeting", "call", "email", "other"])), at=_when(draw),
            rep_id=draw(st.sampled_from(OWNERS)), customer_id="c0",
            duration=draw(st.none() | st.integers(0, 120).map(lambda m: m * dt.timedelta(minutes=1))),
            purpose=draw(st.none() | st.just("demo")), feedback=draw(st.none() | st.just("liked it")),
        )  # fmt: skip
        out.append((activity.id, activity))
    return out


TEAM = Team(
    reps=[
        funnelkit.SalesRep(id="ann", name="Ann", capacity=4),
        funnelkit.SalesRep(id="bob", name="Bob"),
        funnelkit.SalesRep(id="cat", name="Cat", capacity=6, active=False),
    ]
)
PERIOD = {"start": T0, "end": T0 + 400 * DAY}


@st.composite
def routings(draw: st.DrawFn) -> list[tuple[str, object]]:
    """Decisions (some leads decided twice, some before or after the period) and offers, under their lead."""
    out: list[tuple[str, object]] = []
    for i in range(draw(st.integers(0, 10))):
        lead = f"l{i}"
        for _ in range(draw(st.integers(1, 2))):
            value = draw(st.none() | st.integers(0, 10**5).map(lambda n: Money.from_minor(n, "CNY")))
            at = _when(draw) - draw(st.sampled_from([dt.timedelta(0), 500 * DAY]))
            rep = draw(st.none() | st.sampled_from(["ann", "bob", "cat", "dan", "eve"]))
            out.append((lead, Decision(lead_id=lead, rep_id=rep, by="rules", reason="r", at=at, value=value)))
        if draw(st.booleans()):
            queue = tuple(
                draw(st.lists(st.sampled_from(["ann", "bob", "dan"]), min_size=1, max_size=3, unique=True))
            )
            offer = Offer(lead_id=lead, offered_at=_when(draw), window=dt.timedelta(minutes=30), queue=queue)
            out.append((lead, offer))
    return out


@st.composite
def gradings(draw: st.DrawFn) -> list[tuple[str, object]]:
    """Customers graded before and after (None: not graded then), each its own unit."""
    tiers = st.sampled_from(["A", "B", "C", None])
    out: list[tuple[str, object]] = []
    for i in range(draw(st.integers(0, 12))):
        before, after = draw(tiers), draw(tiers)
        out.append((f"c{i}", (f"c{i}", before, after)))
    return out


def _migration(items: list[Any]) -> Any:
    """The migration of (customer, before, after) triples; None leaves the customer out of that grading."""
    before = {cid: t for cid, t, _ in items if t is not None}
    after = {cid: t for cid, _, t in items if t is not None}
    return migration(before, after)


def _pmf_close(a: Any, b: Any) -> bool:
    """Two win counts equal up to float rounding."""
    return len(a.pmf) == len(b.pmf) and all(abs(x - y) < 1e-12 for x, y in zip(a.pmf, b.pmf, strict=True))


@attrs.frozen
class Builder:
    """Random data as (unit, item) pairs, and the report of a list of items."""

    data: st.SearchStrategy[list[tuple[str, object]]]
    make: Callable[[list[Any]], Any]
    same: Callable[[Any, Any], bool] = lambda a, b: a == b and type(a) is type(b)


_NO_INCIDENCE = CumulativeIncidence(
    outcomes=(), times=(), at_risk=(), events=(), censored=(), survival=(), incidence=(), exact=True
)
TARGETS = {"ann": Money.of("5000", "USD"), "bob": Money.of("90000", "USD")}

BUILDERS: dict[str, Builder] = {
    "FunnelReport": Builder(books(), lambda items: funnel(*_split(items), PIPE)),
    "FlowReport": Builder(books(), lambda items: flow(*_split(items), period="week", tz="Asia/Shanghai")),
    "PipelineChanges": Builder(
        books(),
        lambda items: pipeline_changes(*_split(items), PIPE, start=T0 + 2 * DAY, end=T0 + 20 * DAY),
        # each deal's change as one pass finds it; the partitions list their deals in their own order
        lambda a, b: sorted(a.deals, key=repr) == sorted(b.deals, key=repr) and a.totals == b.totals,
    ),
    "CloseRates": Builder(
        books(),
        lambda items: close_rates(*_split(items), PIPE),
        lambda a, b: (dict(a), a.pipeline) == (dict(b), b.pipeline),
    ),
    "CalibrationReport": Builder(books(), lambda items: calibration(_split(items)[1], PIPE, strength=5)),
    "TargetReport": Builder(
        books(),
        lambda items: against_targets(
            _split(items)[0],
            PIPE,
            targets=TARGETS,
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 7, 1),
            tz="Asia/Tokyo",
        ),
    ),
    "WeightedForecast": Builder(
        books(), lambda items: weighted_forecast(_split(items)[0], PIPE, by=["owner", "stage", "quarter"])
    ),
    "FairnessReport": Builder(
        routings(),
        lambda items: fairness(_of(Decision, items), team=TEAM, offers=_of(Offer, items), **PERIOD),
    ),
    "Migration": Builder(gradings(), _migration),
    "ActivityKpis": Builder(
        activities(), lambda items: activity_kpis(items, period="week", tz="America/New_York")
    ),
    "ResultKpis": Builder(
        customer_books(),
        lambda items: result_kpis(
            _of(Opportunity, items),
            _of(StageChanged, items),
            period="month",
            tz="Asia/Shanghai",
            activities=_of(Activity, items),
            customers=_of(Customer, items),
        ),
    ),
    "KaplanMeier": Builder(
        st.lists(st.tuples(st.integers(0, 20), st.booleans())).map(
            lambda xs: [(str(i), x) for i, x in enumerate(xs)]
        ),
        lambda items: kaplan_meier(items) if items else KaplanMeier(steps=()),  # kaplan_meier([]) refuses
    ),
    "CumulativeIncidence": Builder(
        st.lists(st.tuples(st.integers(0, 20), st.sampled_from(["won", "lost", None]))).map(
            lambda xs: [(str(i), x) for i, x in enumerate(xs)]
        ),
        lambda items: cumulative_incidence(items) if items else _NO_INCIDENCE,  # it refuses no observations
    ),
    "WinCount": Builder(
        st.lists(st.integers(0, 100).map(lambda n: Decimal(n) / 100), max_size=12).map(
            lambda xs: [(str(i), x) for i, x in enumerate(xs)]
        ),
        win_count,
        _pmf_close,
    ),
    "WinLoss": Builder(
        books(),
        lambda items: win_loss(
            *_split(items), by=["lost_reason", "stage", "owner", "period"], tz="Asia/Shanghai"
        ),
    ),
    "PipelineGeneration": Builder(
        books(),
        lambda items: pipeline_generation(
            _split(items)[0], start=T0, end=T0 + 400 * DAY, period="quarter", tz="Asia/Tokyo", targets=TARGETS
        ),
    ),
    "Cohorts": Builder(books(), lambda items: cohorts(*_split(items), PIPE, now=T0 + 600 * DAY)),
    # retention, cohorts of buyers, accounts at risk and account plans: split by customer
    "Retention": Builder(
        customer_books(),
        lambda items: retention(
            _of(Opportunity, items),
            now=T0 + 400 * DAY,
            period="month",
            tz="Asia/Shanghai",
            tiers={"c0": "A", "c1": "B"},
            activities=_of(Activity, items),
            window=2,
        ),
    ),
    "PurchaseCohorts": Builder(
        customer_books(),
        lambda items: purchase_cohorts(_of(Opportunity, items), now=T0 + 400 * DAY, tz="Asia/Tokyo"),
    ),
    "AtRisk": Builder(
        customer_books(),
        lambda items: at_risk(
            _of(Customer, items),
            _of(Activity, items),
            _of(Opportunity, items),
            now=T0 + 200 * DAY,
            tiers={"c0": "A", "c1": "B"},
        ),
    ),
    "AccountPlans": Builder(
        customer_books(),
        lambda items: account_plans(
            _of(Customer, items),
            (),
            _of(Activity, items),
            _of(Opportunity, items),
            now=T0 + 200 * DAY,
            tiers=dict.fromkeys(CUSTOMERS, "A"),
        ),
    ),
}


# --- response discipline: each lead (with its activities) is a unit; work logs merge by activity ---
from funnelkit import Lead  # noqa: E402
from funnelkit.discipline import (  # noqa: E402
    Cadence,
    CadencePlan,
    LeadFollowUpPolicy,
    WorkingCalendar,
    cadence_due,
    due_lead_followups,
    response_times,
    work_log,
)

NOT_MERGEABLE.update({
    "ResponseSummary": "percentiles of a group's leads: merge the ResponseReports, then summarise",
    "WorkLogSummary": "runs of days of one log: merge the WorkLogs, then summarise",
})  # fmt: skip
NOT_MERGEABLE.update({
    "LeadScoreModel": "a fit of the whole training set: fit once on all the history",
    "LeadScores": "the scores of one model at one instant: score the leads in one call",
    "ScoreBacktest": "each period's model learns from all the history before it",
    "ScoreReliability": "one model judged on one set of leads: compute it once on all of them",
})  # fmt: skip
_BERLIN = WorkingCalendar(tz="Europe/Berlin", holidays=[dt.date(2026, 4, 3)])


@st.composite
def lead_books(draw: st.DrawFn) -> list[tuple[str, object]]:
    """Leads of two sources, each with a few activities (some promising a next step), under the lead."""
    out: list[tuple[str, object]] = []
    for i in range(draw(st.integers(0, 8))):
        lid = f"l{i}"
        created = T0 + draw(st.integers(0, 4 * 60)) * 6 * HOUR
        status = draw(st.sampled_from(["new", "working", "qualified", "disqualified"]))
        owner = draw(st.none() | st.sampled_from(OWNERS))
        out.append((lid, Lead(id=lid, source=draw(st.sampled_from(["web", "fair"])), created_at=created,
                              status=status, owner=owner)))  # fmt: skip
        for k in range(draw(st.integers(0, 3))):
            promise = draw(st.none() | st.dates(dt.date(2026, 1, 1), dt.date(2026, 4, 30)))
            activity = Activity(
                id=f"{lid}-a{k}", kind=draw(st.sampled_from(["call", "email", "other"])),
                at=created + draw(st.integers(-2, 40)) * 3 * HOUR, rep_id=draw(st.sampled_from(OWNERS)),
                customer_id=lid, next_step="call again" if promise else None, next_step_due=promise,
            )  # fmt: skip
            out.append((lid, activity))
    return out


_LATER = T0 + 40 * DAY
BUILDERS.update({
    "ResponseReport": Builder(
        lead_books(),
        lambda items: response_times(
            _of(Lead, items), activities=_of(Activity, items), now=_LATER, calendar=_BERLIN,
            targets={"web": 4 * HOUR, None: 2 * DAY},
        ),
    ),
    "CadenceReport": Builder(
        lead_books(),
        lambda items: cadence_due(
            CadencePlan(leads=Cadence(steps=[(0, "call"), (2, "email"), (5, "call")])),
            activities=_of(Activity, items), leads=_of(Lead, items), now=_LATER, calendar=_BERLIN,
        ),
    ),
    "LeadFollowUps": Builder(
        lead_books(),
        lambda items: due_lead_followups(
            _of(Lead, items), activities=_of(Activity, items), now=_LATER,
            policy=LeadFollowUpPolicy(by_status={"new": 4 * HOUR, "working": 3 * DAY}),
        ),
    ),
    "WorkLog": Builder(
        activities(),
        lambda items: work_log(
            items, reps=OWNERS, start=dt.date(2026, 1, 1), end=dt.date(2027, 3, 1), calendar=_BERLIN,
            calendars={"bob": WorkingCalendar(tz="Asia/Shanghai")},
        ),
    ),
})  # fmt: skip


@st.composite
def cuts(draw: st.DrawFn, builder: Builder) -> tuple[list[Any], list[list[Any]]]:
    """The builder's data, and the same items in three parts, each unit whole in one part."""
    pairs = draw(builder.data)
    units = sorted({u for u, _ in pairs})
    part = dict(
        zip(units, draw(st.lists(st.integers(0, 2), min_size=len(units), max_size=len(units))), strict=True)
    )
    return [x for _, x in pairs], [[x for u, x in pairs if part[u] == i] for i in range(3)]


def _merged(parts: list[Any]) -> Any:
    """The reports merged left to right."""
    return functools.reduce(lambda a, b: a.merge(b), parts)


def _classes() -> dict[str, type]:
    """Every report class, by name."""
    return {name: type(value) for name, value in reports().items()}


# --- the protocol ---------------------------------------------------------------------------


def test_every_report_merges_or_says_why():
    """A report with merge has a builder here; one without is listed with its reason and says so itself."""
    classes = _classes()
    assert set(classes) == REPORTS
    mergeable = {name for name, cls in classes.items() if callable(getattr(cls, "merge", None))}
    assert mergeable == set(BUILDERS), "every report with merge is held to the protocol: add its builder"
    assert REPORTS - mergeable == set(NOT_MERGEABLE)
    for name in NOT_MERGEABLE:
        assert "does not merge" in classes[name].__doc__ or "Not mergeable" in classes[name].__doc__, name


SETTINGS = settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", sorted(BUILDERS))
@SETTINGS
@given(data=st.data())
def test_the_parts_merged_are_the_report_of_the_whole(name, data):
    """report(A u B u C) == report(A).merge(report(B)).merge(report(C)), in any order of the parts."""
    builder = BUILDERS[name]
    whole, parts = data.draw(cuts(builder))
    reports = [builder.make(p) for p in parts]
    single = builder.make(whole)
    assert builder.same(_merged(reports), single)
    assert builder.same(_merged(reports[::-1]), single)
    assert builder.same(reports[0].merge(reports[1]), reports[1].merge(reports[0]))


@pytest.mark.parametrize("name", sorted(BUILDERS))
@SETTINGS
@given(data=st.data())
def test_the_empty_report_is_the_identity_and_merging_is_associative(name, data):
    """r.merge(empty) == r == empty.merge(r); (a.merge(b)).merge(c) == a.merge(b.merge(c))."""
    builder = BUILDERS[name]
    _, parts = data.draw(cuts(builder))
    a, b, c = (builder.make(p) for p in parts)
    empty = builder.make([])
    for r in (a, b, c):
        assert builder.same(r.merge(empty), r)
        assert builder.same(empty.merge(r), r)
    assert builder.same(a.merge(b).merge(c), a.merge(b.merge(c)))


@pytest.mark.parametrize("name", sorted(BUILDERS))
@settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_reports_merge_after_pickle_and_json(name, data):
    """A report sent through pickle (Dask, a process pool) or a JSON document merges as the one sent."""
    builder = BUILDERS[name]
    _, parts = data.draw(cuts(builder))
    a, b, _ = (builder.make(p) for p in parts)
    expected = a.merge(b)
    pickled = pickle.loads(pickle.dumps(a))
    document = from_dict(type(a), json.loads(json.dumps(to_dict(a))))
    assert builder.same(pickled.merge(b), expected)
    assert builder.same(document.merge(b), expected)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_merge_refuses_another_kind_of_value(name):
    """Anything but a report of the same class is refused at 'other' as a type problem."""
    mine = BUILDERS[name].make([])
    other = BUILDERS["Migration" if name != "Migration" else "FlowReport"].make([])
    for value in (None, 5, other):
        with raises_problems(("other", "type")):
            mine.merge(value)


def _book(*pairs: tuple[str, object]) -> list[Any]:
    return [x for _, x in pairs]


OTHER_PIPE = attrs.evolve(PIPE, key="q")
MOVED = attrs.evolve(
    PIPE, stages=[attrs.evolve(s, probability="0.3") if s.key == "b" else s for s in PIPE.stages]
)

#: Reports made with different parameters, and the field named when they are merged.
CONFLICTS = [
    (lambda: flow([], [], period="week").merge(flow([], [], period="month")), "other.period"),
    (lambda: flow([], [], tz="UTC").merge(flow([], [], tz="Asia/Shanghai")), "other.tz"),
    (lambda: close_rates([], [], PIPE).merge(close_rates([], [], OTHER_PIPE)), "other.pipeline"),
    (lambda: calibration([], PIPE).merge(calibration([], OTHER_PIPE)), "other.pipeline"),
    (lambda: calibration([], PIPE, strength=5).merge(calibration([], PIPE)), "other.strength"),
    (lambda: calibration([], PIPE).merge(calibration([], MOVED)), "other.rows"),
    (lambda: funnel([], [], PIPE).merge(funnel([], [], OTHER_PIPE)), "other.pipeline"),
    (
        lambda: fairness([], team=TEAM, **PERIOD).merge(fairness([], team=TEAM, start=T0, end=T0 + DAY)),
        "other.end",
    ),
    (
        lambda: fairness([], team=TEAM, **PERIOD).merge(
            fairness([], team=Team(reps=TEAM.reps[:2]), **PERIOD)
        ),
        "other.rows",
    ),
    (
        lambda: activity_kpis([], period="week", tz="UTC").merge(activity_kpis([], period="day", tz="UTC")),
        "other.period",
    ),
    (
        lambda: result_kpis([], [], period="week", tz="UTC").merge(
            result_kpis([], [], period="week", tz="Asia/Tokyo")
        ),
        "other.tz",
    ),
    (lambda: migration({"c1": "B"}, {"c1": "A"}).merge(migration({"c1": "B"}, {"c1": "C"})), "other.cells"),
    (lambda: win_loss([], by=["owner"]).merge(win_loss([], by=["stage"])), "other.by"),
    (
        lambda: pipeline_generation([], **PERIOD).merge(pipeline_generation([], **PERIOD, period="week")),
        "other.period",
    ),
    (
        lambda: pipeline_generation([], **PERIOD, targets=TARGETS).merge(pipeline_generation([], **PERIOD)),
        "other.rows",
    ),
    (lambda: cohorts([], [], PIPE, now=T0).merge(cohorts([], [], PIPE, now=T0 + DAY)), "other.now"),
]


@pytest.mark.parametrize(("merge", "path"), CONFLICTS)
def test_merge_refuses_reports_made_otherwise_by_name(merge, path):
    """Another period, zone, pipeline, strength, team or grading: a conflict at the field that differs."""
    with raises_problems((path, "conflict")):
        merge()


def test_a_report_built_by_hand_does_not_merge():
    """Calibration reports without their pipeline and totals cannot merge; the state is named."""
    made = calibration([], PIPE)
    by_hand = funnelkit.forecast.CalibrationReport(rows=made.rows)
    for left, right in ((made, by_hand), (by_hand, made)):
        with raises_problems(("other", "state")):
            left.merge(right)
