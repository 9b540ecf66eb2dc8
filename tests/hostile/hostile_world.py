"""
A small, valid sales world, and a valid value for every parameter name of the public API.

The hostile-input suite replaces one argument at a time of a call built from these values, so
each callable needs one call that works.  Values are looked up by the parameter's name (with a
per-callable override where one name means two things); a new function whose parameters use the
library's usual names is covered without a new row here.
"""

import datetime as dt
import random
from decimal import Decimal
from fractions import Fraction

import attrs
import cattrs

from funnelkit import (
    Activity,
    CreditSplits,
    Customer,
    Gap,
    KeyPerson,
    Lead,
    Money,
    Opportunity,
    Problem,
    SalesRep,
    Split,
)
from funnelkit.assignment import (
    AssignmentState,
    LoadBalance,
    Pool,
    Roulette,
    RoundRobin,
    Rule,
    Rules,
    Team,
    TierMatch,
    Unmoved,
    WeightedRandom,
    assign,
    convert_lead,
    fairness,
    reassign,
)
from funnelkit.duplicates import Contact, find_duplicates, merge
from funnelkit.forecast import (
    Hierarchy,
    PipelineChanges,
    absorbing_chain,
    against_targets,
    backtest,
    forecast_rollup,
    funnel,
    kaplan_meier,
    submit_call,
    weighted_forecast,
    win_count,
)
from funnelkit.segments import (
    DEFAULT_COVERAGE,
    FollowUpPolicy,
    Misalignment,
    Move,
    abc,
    activity_kpis,
    coverage,
    due_followups,
    migration,
)
from funnelkit.stages import (
    ActivityCount,
    Context,
    Override,
    Predicate,
    Stage,
    advance,
    default_pipeline,
    edits_from_history,
    events_from_history,
    lose,
    readiness,
    replay,
    win,
)
from funnelkit.tables import to_rows

NOW = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PIPELINE = default_pipeline()
OVERRIDE = Override(reason="pilot", by="boss")

REPS = (
    SalesRep(id="r1", name="Ann", capacity=10, territories=["north"]),
    SalesRep(id="r2", name="Bo", capacity=10),
    SalesRep(id="r3", name="Cy", capacity=10),
)
TEAM = Team(reps=REPS)
CUSTOMERS = tuple(
    Customer(
        id=f"c{i}",
        name=f"Customer {i}",
        created_at=T0,
        owner=f"r{i % 3 + 1}",
        purchasing_power=Money.of(str(1000 * (i + 1)), "USD"),
        territory="north",
    )
    for i in range(6)
)
KEY_PERSONS = (
    KeyPerson(id="k0", customer_id="c0", name="Dee", role="decision_maker", stance="supporter"),
    KeyPerson(id="k1", customer_id="c0", name="Eve", role="recommender"),
)
ACTIVITIES = tuple(
    Activity(
        id=f"a{i}",
        kind="visit",
        at=T0 + (i + 1) * DAY,
        rep_id="r1",
        customer_id=f"c{i % 3}",
        opportunity_id=f"o{i % 3}",
        key_person_ids=["k0"] if i % 3 == 0 else [],
        purpose="demo",
        needs_found="budget",
        duration=dt.timedelta(minutes=30),
    )
    for i in range(6)
)
LEADS = tuple(
    Lead(
        id=f"l{i}",
        source="web",
        created_at=T0 + i * DAY,
        company=f"Lead Co {i}",
        estimated_value=Money.of(str(500 * (i + 1)), "USD"),
        territory="north",
    )
    for i in range(4)
)


def _deal(i: int) -> Opportunity:
    return Opportunity(
        id=f"o{i}",
        customer_id=f"c{i}",
        owner=f"r{i % 3 + 1}",
        pipeline="default",
        stage="contact",
        created_at=T0,
        stage_entered_at=T0,
        amount=Money.of(str(10000 * (i + 1)), "USD"),
        expected_close=dt.date(2026, 12, 15),
    )


def _history() -> tuple[tuple[Opportunity, ...], tuple[Opportunity, ...], tuple]:
    """Six deals at their start, the same deals now, and the events between."""
    starts = tuple(_deal(i) for i in range(6))
    now_deals = []
    events = []
    for i, opp in enumerate(starts):
        at = T0 + DAY
        for _ in range((0, 1, 2, 3, 6, 2)[i]):
            opp, event = advance(opp, PIPELINE, now=at, actor="r1", override=OVERRIDE)
            events.append(event)
            at += 3 * DAY
        if i == 4:
            opp, event = win(opp, PIPELINE, now=at, actor="r1", override=OVERRIDE)
            events.append(event)
        if i == 5:
            opp, event = lose(opp, PIPELINE, now=at, actor="r1", reason="price")
            events.append(event)
        now_deals.append(opp)
    return starts, tuple(now_deals), tuple(events)


STARTS, OPPORTUNITIES, EVENTS = _history()
OPP = OPPORTUNITIES[1]
EVENT = EVENTS[0]
DECISIONS = assign(LEADS, team=TEAM, policy=LoadBalance(), now=NOW).decisions
RULES = Rules(rules=[Rule(name="north", to=["r1"], territory=["north"])], default="r2")
POOL = Pool(protect_for=dt.timedelta(days=7)).claim("c5", "r3", now=T0)[0]
ROULETTE, OFFER = Roulette(
    order=["r1", "r2", "r3"], window=dt.timedelta(minutes=5), then=LoadBalance()
).offer(LEADS[0], team=TEAM, now=NOW)
ABC = abc({c.id: c.purchasing_power.amount for c in CUSTOMERS})
KM = kaplan_meier([(3, True), (5, False), (7, True), (9, True)])
KM_STEP = KM.steps[0]  # the table holds columns: one step as a value of its own
FORECAST = weighted_forecast(OPPORTUNITIES, PIPELINE)
REPORT = funnel(OPPORTUNITIES, EVENTS, PIPELINE)
TARGETS = {"r1": Money.of("50000", "USD"), "r2": Money.of("50000", "USD"), "r3": Money.of("50000", "USD")}
CHAIN = absorbing_chain(
    {"a": {"a": "1/4", "b": "1/2", "won": "1/4"}, "b": {"a": "1/4", "won": "1/2", "lost": "1/4"}},
    absorbing=["won", "lost"],
)
CUTOFFS = ((T0 + 10 * DAY, T0 + 40 * DAY), (T0 + 20 * DAY, T0 + 50 * DAY))


def _forecast_total(opps: tuple[Opportunity, ...]) -> Money:
    return weighted_forecast(opps, PIPELINE, by=()).total("USD")


NEGOTIATION = replay(STARTS[4], EVENTS[6:12])
GAP = Gap(description="who signs?", owner="r1", due=dt.date(2026, 12, 1))
PROBLEM = Problem(path="items[0].id", code="type", message="bad")
CLAIM = POOL.holder("c5", now=T0)
CHAIN_OF_POLICIES = RULES.or_else(LoadBalance())
ROUND_ROBIN = RoundRobin(reps=["r1", "r2"])
WEIGHTED = WeightedRandom(weights={"r1": 1, "r2": 3})
TIER_MATCH = TierMatch.from_quartiles(
    {"r1": 1, "r2": 2, "r3": 4}, a_from=Money.of("5000", "USD"), b_from=Money.of("2000", "USD")
)
OFFER_STATUS = OFFER.status(now=NOW + dt.timedelta(minutes=7))
CLAIMED_OFFER = OFFER.claim("r1", now=NOW + dt.timedelta(minutes=1))
EXHAUSTED_OFFER = OFFER.decline("r1", now=NOW).decline("r2", now=NOW).decline("r3", now=NOW)
OWNED_LEAD = attrs.evolve(LEADS[1], owner="r1", needs="a CRM for 40 reps")
CONVERSION = convert_lead(OWNED_LEAD, pipeline=PIPELINE, now=NOW, opportunity_id="o-new", customer_id="c-new")
PREDICATE = Predicate(
    name="has amount",
    description="the deal has an amount",
    test=lambda ctx: ctx.opportunity.amount is not None,
)
FOLLOW_UP_POLICY = FollowUpPolicy(by_tier={"A": dt.timedelta(days=7), None: dt.timedelta(days=30)})
FOLLOW_UPS = due_followups(CUSTOMERS, activities=ACTIVITIES, policy=FOLLOW_UP_POLICY, now=NOW)
# Graded customers, some misaligned: a plan with moves and an unresolved customer.
COVERAGE = coverage(
    [attrs.evolve(c, tier=ABC.tier_of(c.id)) for c in CUSTOMERS],
    quartiles={"r1": 1, "r2": 2, "r3": 4},
    capacities={"r1": 3, "r2": 3, "r3": 3},
)
CONTEXT = Context(
    opportunity=OPPORTUNITIES[0], activities=ACTIVITIES, key_persons={k.id: k for k in KEY_PERSONS}, now=NOW
)
UNMOVED = Unmoved(kind="lead", id="l9", reason="no rep has room")
ABC_ROW = next(ABC.rows())
MISALIGNMENT = Misalignment(customer_id="c0", tier="A", owner="r3", owner_quartile=4, allowed=frozenset({1}))
MOVE = Move(customer_id="c0", from_rep="r3", to_rep="r1", reason="A customers go to the top quartile")
KPIS = activity_kpis(ACTIVITIES, period="month", tz="UTC")
# Forecast governance: a team of two managers over three reps, a rep's call and a manager's adjustment.
HIERARCHY = Hierarchy(parents={"team": None, "m1": "team", "m2": "team", "r1": "m1", "r2": "m1", "r3": "m2"})
QUARTER = (dt.date(2026, 10, 1), dt.date(2027, 1, 1))
CALLS, _ = submit_call(
    (), node="r1", period=QUARTER, category="commit", amount=Money.of("30000", "USD"), by="r1", at=T0,
    hierarchy=HIERARCHY,
)  # fmt: skip
CALLS, _ = submit_call(
    CALLS, node="r1", period=QUARTER, category="commit", amount=Money.of("20000", "USD"), by="m1",
    at=T0 + DAY, reason="slipped a week", hierarchy=HIERARCHY,
)  # fmt: skip
SYSTEM = {"r1": Money.of("25000", "USD"), "r2": Money.of("10000", "USD"), "r3": Money.of("5000", "USD")}
QUOTAS = {"m1": Money.of("60000", "USD"), "r3": Money.of("20000", "USD")}
ROLLUP = forecast_rollup(
    CALLS, HIERARCHY, period=QUARTER, category="commit", now=NOW, system=SYSTEM, quotas=QUOTAS, currency="USD"
)

#: A valid value for each parameter name, used wherever no override says otherwise.
BY_NAME: dict[str, object] = {
    "minimum": Money.of("50000", "USD"),
    "a": Decimal("0.8"),
    "a_from": Money.of("5000", "USD"),
    "absorbed_in": "won",
    "absorbing": ("won", "lost"),
    "activities": ACTIVITIES,
    "activity": ACTIVITIES[0],
    "actor": "r1",
    "actual": "pipeline",
    "actuals": (Decimal(10), Decimal(20), Decimal(30)),
    "after": {"c0": "A", "c1": "B", "c2": "C"},
    "after_shift": True,
    "amount": "12.30",
    "amount_edits": 0.1,
    "amount_median": Money.of("10000", "USD"),
    "amount_sigma": 0.5,
    "amounts": (Money.of("1.10", "USD"), Money.of("2", "USD")),
    "at": NOW,
    "b": Decimal("0.95"),
    "b_from": Money.of("2000", "USD"),
    "before": {"c0": "B", "c1": "B", "c2": "C"},
    "bins": 5,
    "bulge": "1.5",
    "by": ("owner",),
    "calls": CALLS,
    "capacities": {"r1": 3, "r2": 3, "r3": 3},
    "category": "commit",
    "check_every": 1,
    "closed": 10,
    "contacts_for_full_marks": 6,
    "ctx": CONTEXT,
    "currency": "USD",
    "customer": CUSTOMERS[0],
    "customer_id": "c0",
    "customers": CUSTOMERS,
    "cutoffs": CUTOFFS,
    "data": None,  # filled per class: its own to_dict()
    "unknown_fields": "refuse",
    "predicates": None,
    "days": 5,
    "deals_per_day": 2.0,
    "deals": ((Money.of("100", "USD"), "0.5"), (Money.of("300", "USD"), "0.25")),
    "decisions": DECISIONS,
    "delta": dt.timedelta(hours=3),
    "effective": lambda activity: activity.duration is not None,
    "end": NOW,
    "event": EVENT,
    "events": EVENTS,
    "expected_version": None,
    "forecast": _forecast_total,
    "forecasts": (Decimal(12), Decimal(18), Decimal(33)),
    "forward": {"lead": 0.5, "won_over": 0.7},
    "growth": 0.1,
    "size_effect": 0.5,
    "quarter_end": 0.5,
    "calendar_index": "quarter",
    "share": "1/2",
    "money": Money.of("12.30", "USD"),
    "hierarchy": HIERARCHY,
    "history": REPORT,
    "item": LEADS[0],
    "k": 1,
    "key": "contact",
    "key_persons": KEY_PERSONS,
    "lead": LEADS[0],
    "leads": LEADS,
    "level": 0.9,
    "max_events": 4,
    "max_open_stages": 3,
    "max_reps": 3,
    "matrix": {"a": {"a": "1/4", "b": "1/2", "won": "1/4"}, "b": {"a": "1/4", "won": "1/2", "lost": "1/4"}},
    "minor": 1230,
    "minor_units": 2,
    "name": "a name",
    "node": "r1",
    "now": NOW,
    "observations": ((3, True), (5, False), (7, True)),
    "offer": OFFER,
    "offers": (OFFER,),
    "opp": OPP,
    "opportunities": OPPORTUNITIES,
    "opportunity_id": "o-new",
    "opps": OPPORTUNITIES,
    "other": None,  # filled per class: an instance of the same class
    "owner": "r1",
    "parents": dict(HIERARCHY.parents),
    "parts": (ActivityCount(kinds="visit"),),
    "period": "month",
    "pipeline": PIPELINE,
    "pipelines": PIPELINE,
    "policy": LoadBalance(),
    "prefix": "items[0]",
    "probabilities": ("0.5", "0.25", "0.9"),
    "q": 0.5,
    "quotas": QUOTAS,
    "quartiles": {"r1": 1, "r2": 2, "r3": 4},
    "rates": None,
    "reason": "price",
    "rep_id": "r1",
    "reps": 3,
    "rng": 7,
    "rounding": "ROUND_HALF_EVEN",
    "scores": {"r1": 10, "r2": 20, "r3": 30, "r4": 40},
    "seasonality": (1.0, 1.0, 1.2, 1.2, 1.0, 0.8, 0.6, 0.6, 1.0, 1.2, 1.2, 1.0),
    "seed": 3,
    "shift": (20, {"lead": 0.4, "won_over": 0.8}),  # from day 20 of simulate_company's 60
    "slip": 0.3,
    "smoothing": 1,
    "start": T0,
    "state": AssignmentState(),
    "stays": {"lead": 10.0, "won_over": 20.0},
    "strength": 4,
    "strong": "0.5",
    "system": SYSTEM,
    "target": Money.of("100", "USD"),
    "targets": TARGETS,
    "team": TEAM,
    "thin": "0.5",
    "tier": "A",
    "time": 4,
    "to": None,
    "to_currency": None,
    "toward": Fraction(1, 2),
    "trainees": (),
    "trials": 200,
    "tz": "UTC",
    "used": 2,
    "value": Money.of("100", "USD"),
    "values": {"c0": Decimal(10), "c1": Decimal(5), "c2": Decimal(1)},
    "weights": (1, 2, 1),
    "when": NOW,
    "window": dt.timedelta(days=90),
    "with_requirements": True,
    "won": 4,
    "work_rate": 0.3,
}

#: Overrides where one parameter name means something else for one callable.
#: A history table's rows: a deal advanced, then lost.
HISTORY_ROWS = [
    {"opportunity_id": "o-1", "stage": "contact", "at": T0},
    {"opportunity_id": "o-1", "stage": "needs_confirmed", "at": T0 + DAY},
    {"opportunity_id": "o-1", "stage": "lost", "at": T0 + 2 * DAY, "lost_reason": "price"},
]
#: A field-history table's rows: the deal's amount set, then its expected close moved.
FIELD_ROWS = [
    {"opportunity_id": "o-1", "field": "amount", "before": None, "after": "1200", "at": T0, "currency": "USD"},
    {"opportunity_id": "o-1", "field": "expected_close", "before": "2026-04-30", "after": "2026-05-31", "at": T0},
]  # fmt: skip

BY_CALLABLE: dict[str, dict[str, object]] = {
    "funnelkit.Money.of": {"amount": "12.30"},
    "funnelkit.Money.round": {"rounding": "ROUND_HALF_EVEN"},
    "funnelkit.register_currency": {"code": "XBT", "minor_units": 8},
    "funnelkit.currency_minor_units": {"code": "USD"},
    "funnelkit.ensure_aware": {"value": NOW},
    "funnelkit.from_dict": {"cls": Money, "data": {"amount": "1.50", "currency": "USD"}},
    "funnelkit.to_dict": {"obj": OPP},
    "funnelkit.documents.from_dict": {"cls": Money, "data": {"amount": "1.50", "currency": "USD"}},
    "funnelkit.documents.to_dict": {"obj": OPP},
    "funnelkit.documents.configure_converter": {"converter": cattrs.Converter()},
    "funnelkit.documents.format_datetime": {"value": NOW},
    "funnelkit.documents.format_duration": {"value": DAY},
    "funnelkit.documents.format_zone": {"value": dt.UTC},
    "funnelkit.documents.parse_datetime": {"text": "2026-03-02T09:30:00+08:00"},
    "funnelkit.documents.parse_duration": {"text": "P1DT2H"},
    "funnelkit.Problem.prefixed": {"prefix": "items[0]"},
    "funnelkit.stages.Pipeline.allows": {"from_stage": "contact", "to_stage": "needs_confirmed"},
    "funnelkit.stages.Pipeline.plan": {"from_stage": "contact", "to_stage": "needs_confirmed"},
    "funnelkit.stages.Routes.allows": {"from_stage": "contact", "to_stage": "needs_confirmed"},
    "funnelkit.stages.Routes.plan": {"from_stage": "contact", "to_stage": "needs_confirmed"},
    "funnelkit.stages.Routes.kind": {"from_stage": "contact", "to_stage": "needs_confirmed"},
    "funnelkit.stages.events_from_history": {"rows": HISTORY_ROWS},
    "funnelkit.stages.HistoryColumns": {"rows": HISTORY_ROWS},
    "funnelkit.stages.edits_from_history": {"rows": FIELD_ROWS},
    "funnelkit.stages.merge_history": {
        "moves": events_from_history(HISTORY_ROWS, PIPELINE),
        "edits": edits_from_history(FIELD_ROWS),
    },
    "funnelkit.forecast.close_dates": {"window": (NOW, NOW + 30 * DAY)},
    "funnelkit.forecast.expected_bookings": {"start": NOW, "end": NOW + 30 * DAY, "now": NOW},
    "funnelkit.forecast.Bookings.component": {"name": "pipeline", "currency": "USD"},
    "funnelkit.forecast.compare_forecasts": {"cutoffs": ((T0 + 30 * DAY, T0 + 60 * DAY),), "backtests": 2},
    "funnelkit.forecast.MethodScore": {"method": "combined", "wape": None, "bias": None},
    "funnelkit.forecast.BookingCheck": {
        "now": T0,
        "start": T0,
        "end": NOW,
        "currency": "USD",
        "bottom_up": Money.of("5", "USD"),
        "run_rate": Money.of("6", "USD"),
        "combined": Money.of("5.50", "USD"),
        "actual": Money.of("4", "USD"),
    },
    "funnelkit.forecast.ComparisonRow": {
        "start": T0,
        "end": NOW,
        "method": "combined",
        "forecast": Money.of("5", "USD"),
        "actual": Money.of("4", "USD"),
    },
    "funnelkit.forecast.ChangeTotal": {"change": "won", "deals": 1, "amounts": (Money.of(5, "USD"),)},
    "funnelkit.forecast.PipelineChanges.merge": {
        "other": PipelineChanges(pipeline="default", start=T0, end=NOW, deals=()),
    },
    "funnelkit.forecast.cumulative_incidence": {
        "observations": [(2, "won"), (3, "lost"), (3, None), (5, "won")]
    },
    "funnelkit.forecast.CumulativeIncidence.probability": {"outcome": "won", "time": 3},
    "funnelkit.forecast.CumulativeIncidence.open_at": {"time": 3},
    "funnelkit.stages.HistoryColumns.column": {"name": "at"},
    "funnelkit.stages.HistoryColumns.codes": {"name": "opportunity_id"},
    "funnelkit.tables.from_rows": {"cls": Opportunity, "rows": to_rows(OPPORTUNITIES)},
    "funnelkit.tables.from_table": {
        "cls": Opportunity,
        "table": {key: [r[key] for r in to_rows(OPPORTUNITIES)] for key in to_rows(OPPORTUNITIES)[0]},
    },
    "funnelkit.tables.to_rows": {"entities": OPPORTUNITIES},
    "funnelkit.tables.OpportunityColumns": {
        "table": {key: [r[key] for r in to_rows(OPPORTUNITIES)] for key in to_rows(OPPORTUNITIES)[0]},
    },
    "funnelkit.tables.OpportunityColumns.column": {"name": "stage"},
    "funnelkit.stages.Pipeline.moves_from": {"key": "contact"},
    "funnelkit.stages.Pipeline.next_stage": {"key": "contact"},
    "funnelkit.stages.Pipeline.stage": {"key": "contact"},
    "funnelkit.stages.Readiness.target": {"key": "needs_confirmed"},
    "funnelkit.stages.Verdict.lines": {"indent": 2},
    "funnelkit.stages.replay": {"opp": STARTS[3], "events": EVENTS[3:6]},
    "funnelkit.stages.edit": {
        "opp": OPPORTUNITIES[0],
        "amount": Money.of("150", "USD"),
        "expected_close": dt.date(2026, 12, 31),
        "forecast_category": "commit",
    },
    "funnelkit.stages.AmountChanged": {
        "opportunity_id": "o1",
        "at": NOW,
        "version": 1,
        "before": None,
        "after": Money.of("5", "USD"),
    },
    "funnelkit.stages.CloseDateChanged": {
        "opportunity_id": "o1",
        "at": NOW,
        "version": 1,
        "before": dt.date(2026, 5, 1),
        "after": dt.date(2026, 6, 1),
    },
    "funnelkit.stages.CategoryChanged": {
        "opportunity_id": "o1",
        "at": NOW,
        "version": 1,
        "before": None,
        "after": "commit",
    },
    "funnelkit.stages.apply": {"opp": STARTS[1], "event": EVENTS[0]},
    "funnelkit.stages.advance": {"override": OVERRIDE},
    "funnelkit.stages.Refusal": {
        "index": 0,
        "opportunity_id": "o1",
        "error": "MilestoneNotMet",
        "code": "state",
        "message": "not yet",
    },
    # deals ready to move (a visit and a decision maker): 100,000 of them move in about a second;
    # refusals cost more each (a readiness report and its message), and are tested in test_batch
    "funnelkit.stages.advance_many": {"opps": (attrs.evolve(_deal(0), key_person_ids=("k0",)),)},
    "funnelkit.stages.win": {"opp": NEGOTIATION, "override": OVERRIDE},
    "funnelkit.stages.reopen": {"opp": OPPORTUNITIES[5]},
    "funnelkit.stages.all_of": {"parts": (ActivityCount(kinds="visit"), ActivityCount(kinds="call"))},
    "funnelkit.stages.any_of": {"parts": (ActivityCount(kinds="visit"), ActivityCount(kinds="call"))},
    "funnelkit.stages.ActivityCount.counts": {"activity": ACTIVITIES[0]},
    "funnelkit.segments.period_start": {"at": NOW, "period": "month", "tz": dt.UTC},
    "funnelkit.segments.coverage": {
        "capacities": {"r1": 3, "r2": 3, "r3": 3, "r4": 3},
        "policy": DEFAULT_COVERAGE,
    },
    "funnelkit.segments.RepActivity.attainment": {"targets": {"visits": 4, "calls": 10}},
    "funnelkit.segments.RepResults.attainment": {"targets": {"won": 2, "close_rate": "1/2"}},
    "funnelkit.segments.AbcResult.tier_of": {"customer_id": "c0"},
    "funnelkit.segments.Migration.cell": {"before": "B", "after": "A"},
    "funnelkit.segments.Migration.count": {"before": "B", "after": "A"},
    "funnelkit.segments.FollowUpPolicy.interval": {"tier": "A", "stages": ("contact",)},
    "funnelkit.segments.relationships": {"window": dt.timedelta(days=180)},
    "funnelkit.segments.quartiles": {"scores": {"r1": 10, "r2": 20, "r3": 30, "r4": 40}},
    "funnelkit.segments.rfm": {
        "events": tuple(("c" + str(i % 3), T0 + i * DAY, Money.of(str(10 * i + 5), "USD")) for i in range(9))
    },
    "funnelkit.assignment.Team.describe_limit": {"used": 2},
    "funnelkit.assignment.Team.window_start": {"now": NOW},
    "funnelkit.assignment.Pool.claim": {"customer_id": "c0", "now": NOW},
    "funnelkit.assignment.Pool.release": {"customer_id": "c5", "rep_id": "r3", "now": T0 + DAY},
    "funnelkit.assignment.Pool.worked": {"customer_id": "c5", "rep_id": "r3", "now": T0 + DAY},
    "funnelkit.assignment.Pool.worked_from": {"now": T0 + 7 * DAY},
    "funnelkit.assignment.Pool.holder": {"customer_id": "c5"},
    "funnelkit.assignment.Offer.claim": {"now": NOW + dt.timedelta(minutes=1)},
    "funnelkit.assignment.Offer.decline": {"now": NOW + dt.timedelta(minutes=1)},
    "funnelkit.assignment.Roulette.fall_back": {"lead": LEADS[0], "offer": EXHAUSTED_OFFER},
    "funnelkit.assignment.policy_from_dict": {"data": CHAIN_OF_POLICIES.to_dict()},
    "funnelkit.assignment.TierMatch.tier_of": {"item": CUSTOMERS[3]},
    "funnelkit.assignment.Rule.match": {"item": LEADS[0]},
    "funnelkit.forecast.category_rollup": {
        "forecast": weighted_forecast(OPPORTUNITIES, PIPELINE, by=("category",))
    },
    "funnelkit.segments.abc_customers": {"value": "purchasing_power"},
    "funnelkit.segments.due_followups": {"policy": FOLLOW_UP_POLICY},
    "funnelkit.segments.kpi_records": {"kpis": KPIS},
    "funnelkit.assignment.gini": {"values": (1, 2, 3, 10)},
    "funnelkit.assignment.fairness": {"start": T0, "end": NOW + DAY},
    "funnelkit.assignment.record": {"decisions": DECISIONS},
    "funnelkit.assignment.convert_lead": {
        "lead": OWNED_LEAD,
        "opportunity_id": "o-new",
        "customer_id": "c-new",
        "customer": None,
        "amount": Money.of("900", "USD"),
    },
    "funnelkit.assignment.RoundRobin.or_else": {"other": LoadBalance()},
    "funnelkit.assignment.reassign": {"rep_id": "r1", "reason": "left the company"},
    "funnelkit.assignment.TierMatch.from_quartiles": {"quartiles": {"r1": 1, "r2": 2, "r3": 4}},
    "funnelkit.forecast.submit_call": {
        "period": QUARTER,
        "amount": Money.of("25000", "USD"),
        "by": "team",
        "at": NOW,
    },
    "funnelkit.forecast.forecast_rollup": {"period": QUARTER},
    "funnelkit.forecast.against_targets": {"start": dt.date(2026, 9, 1), "end": dt.date(2027, 1, 1)},
    "funnelkit.forecast.won_between": {"start": T0, "end": NOW},
    "funnelkit.forecast.kaplan_meier": {  # the lifelines-style call; observations are tried against it
        "observations": None,
        "durations": (3, 5, 7, 9),
        "event_observed": (True, False, True, True),
    },
    "funnelkit.forecast.AbsorbingChain.expected_steps": {"state": "a"},
    "funnelkit.forecast.AbsorbingChain.probability": {"state": "a", "absorbed_in": "won"},
    "funnelkit.forecast.TargetReport.line": {"owner": "r1"},
    "funnelkit.forecast.WeightedForecast.total": {"currency": "USD"},
    "funnelkit.forecast.RevenueDistribution.probability_of_reaching": {"target": Money.of("200", "USD")},
    "funnelkit.forecast.shrink": {"won": 4, "closed": 10},
    "funnelkit.forecast.simulate_revenue": {"trials": 200},
    "funnelkit.forecast.weighted_forecast_columns": {
        "amounts_minor": [100_005, 5_000, 1_999],
        "probabilities": [0.4, 1.0, 0.5],
        "currency": "USD",
        "by": {"owner": ["r1", "r2", "r1"]},
    },
    "funnelkit.segments.abc_columns": {"ids": ["c0", "c1", "c2"], "values": [10, 5, 1], "currency": None},
    "funnelkit.strategies.opportunities": {"pipeline": "default"},
    "funnelkit.strategies.sales_data": {"pipeline": "default"},
    "funnelkit.simulation.simulate": {
        "reps": 3,
        "leads": 20,
        "days": 10,
        "seed": 1,
        "capacity": (2, 4),
        "duplicates": 0.5,
        "splits": 0.5,
    },
    "funnelkit.simulation.simulate_company": {"days": 60, "deals_per_day": 2},
    "funnelkit.simulation.CompanyTruth.p_won": {"stage": "lead"},
    "funnelkit.simulation.CompanyTruth.mean_days_to_close": {"stage": "lead"},
    "funnelkit.simulation.CompanyTruth.creation_rate": {"day": dt.date(2026, 3, 1)},
    "funnelkit.simulation.CompanyTruth.quarter_index": {"day": dt.date(2026, 3, 1)},
    "funnelkit.assignment.FairnessReport.row": {"rep_id": "r1"},
}

#: The instance a method is called on, where the first one found will not do.
BY_SELF: dict[str, object] = {
    "funnelkit.assignment.Offer.decision": CLAIMED_OFFER,
}

#: Random state that a hostile value may not be: the rng a caller passes is theirs.
RNG = random.Random(5)
REPORTS = {
    "fairness": fairness(DECISIONS, team=TEAM, start=T0, end=NOW + DAY),
    "targets": against_targets(
        OPPORTUNITIES, PIPELINE, targets=TARGETS, start=dt.date(2026, 9, 1), end=dt.date(2027, 1, 1)
    ),
    "backtest": backtest(STARTS, EVENTS, cutoffs=CUTOFFS, forecast=_forecast_total, currency="USD"),
    "readiness": readiness(
        OPPORTUNITIES[0], PIPELINE, now=NOW, activities=ACTIVITIES, key_persons=KEY_PERSONS
    ),
    "reassignment": reassign(
        "r1",
        team=TEAM,
        policy=LoadBalance(),
        now=NOW,
        actor="boss",
        reason="left",
        customers=CUSTOMERS,
        opportunities=OPPORTUNITIES,
    ),
    "win_count": win_count(("0.5", "0.25", "0.9")),
    "migration": migration({"c0": "B", "c1": "B"}, {"c0": "A", "c1": "B"}),
    "followups": FollowUpPolicy(by_tier={"A": dt.timedelta(days=7), None: dt.timedelta(days=30)}),
    "stage": Stage(key="s", label="S", probability="0.3"),
}


# --- duplicates: a book with two entries of one company, and a merge of them ----------------------
DUP_RECORDS = (
    *CUSTOMERS,
    Customer(id="c-acme", name="Acme", created_at=T0, owner="r1"),
    Customer(id="c-acme-co", name="\uff21\uff23\uff2d\uff25有限公司", created_at=T0, industry="retail"),
    *LEADS,
    *KEY_PERSONS,
)
DUP_CONTACTS = {"c-acme": Contact(phones=["+86 138 1234 5678"], websites=["https://www.acme.com/"])}
DUP_REPORT = find_duplicates(DUP_RECORDS, contacts=DUP_CONTACTS, country_code="86")
DUP_MERGE = merge(
    CUSTOMERS[0], [CUSTOMERS[1]], now=NOW, actor="r1", opportunities=OPPORTUNITIES, activities=ACTIVITIES,
    key_persons=KEY_PERSONS, pool=POOL,
)  # fmt: skip
BY_CALLABLE.update({
    "funnelkit.duplicates.find_duplicates": {"records": DUP_RECORDS, "contacts": DUP_CONTACTS, "country_code": "86"},
    "funnelkit.duplicates.normalize_name": {"text": "\uff21\uff23\uff2d\uff25 Co., Ltd."},
    "funnelkit.duplicates.name_tokens": {"text": "\uff21\uff23\uff2d\uff25 Co., Ltd."},
    "funnelkit.duplicates.normalize_phone": {"text": "+86 138-1234-5678", "country_code": "86"},
    "funnelkit.duplicates.normalize_email": {"text": "Ann.Lee@ACME.com"},
    "funnelkit.duplicates.normalize_domain": {"text": "https://www.acme.com/about"},
    "funnelkit.duplicates.merge": {"survivor": CUSTOMERS[0], "duplicates": (CUSTOMERS[1],), "pool": POOL},
    "funnelkit.duplicates.apply_merge": {"event": DUP_MERGE.event, "records": CUSTOMERS, "pool": POOL},
    "funnelkit.duplicates.plant_duplicates": {"companies": 40},
    "funnelkit.duplicates.Planted.precision_recall": {"report": DUP_REPORT},
    "funnelkit.assignment.Pool.claim": {
        **BY_CALLABLE["funnelkit.assignment.Pool.claim"],
        "aliases": {"c0": "c0", "c5": "c0"},
    },
})  # fmt: skip

# --- win/loss, pipeline generation and cohorts ---------------------------------------------------
BY_CALLABLE.update({
    "funnelkit.forecast.win_loss": {
        "by": ("lost_reason", "competitor", "stage", "tier", "segment", "period"),
        "tiers": {"c0": "A", "c1": "B"},
        "segments": {"c0": "retail", "c1": "banks"},
    },
    "funnelkit.forecast.pipeline_generation": {"coverage": "3"},
})  # fmt: skip

# --- retention, repeat-purchase cohorts, accounts at risk and account plans ----------------------
RETENTION_TIERS = {"c0": "A", "c1": "A", "c3": "A", "c4": "A", "c2": "B"}
BY_CALLABLE.update({
    "funnelkit.segments.retention": {
        "tiers": RETENTION_TIERS, "qualifying": lambda activity: activity.kind == "visit", "window": 2,
    },
    "funnelkit.segments.Retention.row": {"period": "2026-09", "tier": "A"},
    "funnelkit.segments.at_risk": {
        "tiers": RETENTION_TIERS, "silent_days": {"A": 30, "B": 60, None: 90},
        "qualifying": lambda activity: activity.kind == "visit", "currency": "USD",
    },
    "funnelkit.segments.account_plans": {"tiers": RETENTION_TIERS, "contact_days": 30},
})  # fmt: skip


# --- credit splits: a deal of the world shared between two reps ---------------------------------
SPLIT_RECORDS = (
    Split(opportunity_id=OPPORTUNITIES[1].id, owner="r1", share="1/2"),
    Split(opportunity_id=OPPORTUNITIES[1].id, owner="r2", share="1/2"),
)
BY_NAME["splits"] = CreditSplits(splits=SPLIT_RECORDS)
BY_CALLABLE.update({
    "funnelkit.CreditSplits": {"splits": SPLIT_RECORDS},
    "funnelkit.CreditSplits.shares": {"opportunity_id": OPPORTUNITIES[1].id, "owner": "r1"},
    "funnelkit.CreditSplits.allocate": {"opportunity_id": OPPORTUNITIES[1].id, "owner": "r1"},
    "funnelkit.CreditSplits.of": {"opportunity": OPPORTUNITIES[1]},
})  # fmt: skip

# --- response discipline: SLAs, cadences, the daily work log, lead timers ---------------------------
from funnelkit.discipline import (  # noqa: E402
    Cadence,
    CadencePlan,
    CadenceReport,
    LeadFollowUpPolicy,
    LeadFollowUps,
    ResponseReport,
    WorkingCalendar,
    cadence_due,
    due_lead_followups,
    response_times,
    work_log,
)

WORK_CALENDAR = WorkingCalendar(
    tz="Asia/Shanghai", holidays=[dt.date(2026, 10, 1)], make_up_days=[dt.date(2026, 9, 27)]
)
LEAD_CADENCE = Cadence(steps=[(0, "call"), (2, "email"), (5, "call")])
CADENCE_PLAN = CadencePlan(
    leads=LEAD_CADENCE, stages={"contact": LEAD_CADENCE}, tiers={"A": {"contact": LEAD_CADENCE}}
)
LEAD_POLICY = LeadFollowUpPolicy(by_status={"new": 4 * dt.timedelta(hours=1)}, by_source={"web": 3 * DAY})
LEAD_ACTIVITIES = tuple(
    Activity(id=f"la{i}", kind=("call", "email")[i % 2], at=T0 + i * DAY + dt.timedelta(hours=2), rep_id="r1",
             customer_id=f"l{i % 2}", next_step="call back" if i == 3 else None,
             next_step_due=dt.date(2026, 9, 10) if i == 3 else None)
    for i in range(4)
)  # fmt: skip
RESPONSES = response_times(
    LEADS,
    activities=LEAD_ACTIVITIES,
    targets={None: 4 * dt.timedelta(hours=1)},
    now=NOW,
    calendar=WORK_CALENDAR,
)
CADENCES = cadence_due(
    CADENCE_PLAN, activities=LEAD_ACTIVITIES, now=T0 + 9 * DAY, leads=LEADS, calendar=WORK_CALENDAR
)
WORK_LOG = work_log(
    LEAD_ACTIVITIES, reps=["r1", "r2"], start=T0.date(), end=T0.date() + 14 * DAY, calendar=WORK_CALENDAR
)
SUMMARIES = (RESPONSES.by_rep(), WORK_LOG.by_rep())
LEAD_FOLLOW_UPS = due_lead_followups(LEADS, activities=LEAD_ACTIVITIES, policy=LEAD_POLICY, now=NOW)
BY_NAME.update({
    "warn": dt.timedelta(hours=1),
    "calendar": WORK_CALENDAR,
    "calendars": {"r2": WorkingCalendar(tz="Europe/Berlin")},
    "lead_of": lambda activity: activity.customer_id,
    "plan": CADENCE_PLAN,
    "by_status": {"new": 4 * dt.timedelta(hours=1)},
    "by_source": {"web": DAY},
    "weekdays": (0, 1, 2, 3, 4),
    "holidays": (dt.date(2026, 10, 1),),
    "make_up_days": (dt.date(2026, 9, 27),),
    "opens": dt.timedelta(hours=9),
    "closes": dt.timedelta(hours=18),
})  # fmt: skip
BY_CALLABLE.update({
    "funnelkit.discipline.response_times": {
        "activities": LEAD_ACTIVITIES, "targets": {None: 4 * dt.timedelta(hours=1)}, "kinds": ("call", "email"),
    },
    "funnelkit.discipline.cadence_due": {"activities": LEAD_ACTIVITIES, "now": T0 + 9 * DAY, "opportunities": OPPORTUNITIES},
    "funnelkit.discipline.work_log": {
        "activities": LEAD_ACTIVITIES, "reps": ("r1", "r2"), "start": T0.date(), "end": T0.date() + 14 * DAY, "minimum": 1,
        "kinds": ("call", "email", "visit"),
    },
    "funnelkit.discipline.due_lead_followups": {"activities": LEAD_ACTIVITIES, "policy": LEAD_POLICY},
    "funnelkit.discipline.WorkingCalendar.working_days": {"start": T0.date(), "end": T0.date() + 14 * DAY},
    "funnelkit.discipline.WorkingCalendar.working_time": {"start": T0, "end": T0 + 3 * DAY},
    "funnelkit.discipline.WorkingCalendar.deadline": {"start": T0, "span": 4 * dt.timedelta(hours=1)},
    "funnelkit.discipline.WorkingCalendar.is_working_day": {"day": dt.date(2026, 9, 27)},
    "funnelkit.discipline.WorkingCalendar.every_day": {"tz": "Europe/Berlin"},
    "funnelkit.discipline.CadencePlan.cadence_for": {"tier": "A", "stage": "contact"},
    "funnelkit.discipline.LeadFollowUpPolicy.interval": {"status": "new", "source": "web"},
    "funnelkit.discipline.Cadence": {"steps": ((0, "call"), (2, "email"))},
    "funnelkit.discipline.Step": {"day": 2, "kind": "email"},
    # merges join disjoint records: the other part is an empty report of the same instant
    "funnelkit.discipline.ResponseReport.merge": {"other": ResponseReport(rows=(), now=NOW, warn=dt.timedelta(hours=1))},
    "funnelkit.discipline.CadenceReport.merge": {"other": CadenceReport(rows=(), now=T0 + 9 * DAY)},
    "funnelkit.discipline.LeadFollowUps.merge": {"other": LeadFollowUps(rows=(), now=NOW)},
})  # fmt: skip

# --- lead scoring: features, the model, calibration, backtest ---------------------------------------
from funnelkit.scoring import fit_lead_scores, plant_lead_history  # noqa: E402

SCORING_HISTORY = plant_lead_history(leads=120, days=60, seed=7)
SCORING_NOW = SCORING_HISTORY.end
SCORING_MODEL = fit_lead_scores(
    SCORING_HISTORY.leads,
    SCORING_HISTORY.activities,
    opportunities=SCORING_HISTORY.opportunities,
    now=SCORING_NOW,
)
_SCORING_DATA = {
    "leads": SCORING_HISTORY.leads, "activities": SCORING_HISTORY.activities,
    "opportunities": SCORING_HISTORY.opportunities, "now": SCORING_NOW,
}  # fmt: skip
BY_NAME.update({
    "horizon": 90 * DAY,
    "l2": 1.0,
    "engine": "python",
    "model": SCORING_MODEL,
})  # fmt: skip
BY_CALLABLE.update({
    "funnelkit.scoring.fit_lead_scores": {**_SCORING_DATA, "window": 14 * DAY},
    "funnelkit.scoring.backtest_lead_scores": {
        **_SCORING_DATA, "window": 14 * DAY, "cutoffs": (SCORING_NOW - 70 * DAY, SCORING_NOW - 40 * DAY),
        "horizon": 30 * DAY,
    },
    "funnelkit.scoring.calibration": {**_SCORING_DATA, "bins": 5},
    "funnelkit.scoring.auc": {"scores": (0.9, 0.8, 0.8, 0.1), "outcomes": (True, False, True, False)},
    "funnelkit.scoring.brier": {"probabilities": (0.9, 0.2, 0.5, 0.1), "outcomes": (True, False, True, False)},
    "funnelkit.scoring.plant_lead_history": {"leads": 40, "days": 30},
    "funnelkit.scoring.lead_features": {"lead": SCORING_HISTORY.leads[0], "activities": SCORING_HISTORY.activities,
                                        "window": 14 * DAY, "now": SCORING_NOW, "currency": "CNY"},
    "funnelkit.scoring.LeadScoreModel.score": {"lead": SCORING_HISTORY.leads[0], "activities": SCORING_HISTORY.activities,
                                               "now": SCORING_NOW},
    "funnelkit.scoring.LeadScoreModel.score_all": _SCORING_DATA | {"opportunities": None},
})  # fmt: skip
BY_CALLABLE["funnelkit.scoring.LeadScoreModel.score_all"].pop("opportunities")
SCORING_SCORES = SCORING_MODEL.score_all(
    SCORING_HISTORY.leads[:5], SCORING_HISTORY.activities, now=SCORING_NOW
)
