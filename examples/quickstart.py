"""
funnelkit quickstart: a small sales team as typed, validated values.

Run it with ``python examples/quickstart.py``.  It grows with each capability;
it builds the entities, shows money and time handling, round-trips everything
through JSON, walks a deal through the default pipeline, grades customers
A/B/C, assigns a batch of leads, forecasts revenue with p10/p50/p90, plays a
synthetic company from a seed through the whole API (with the sales
operations a CRM runs on it: duplicates, credit splits, win/loss, pipeline
generation and cohorts, outcome targets, accounts at risk, account plans,
retention and repeat purchases by tier, a learnt lead score, speed to lead
and lead follow-up timers),
and shows what bad input looks like.
"""

import datetime as dt
import json
import zoneinfo
from decimal import Decimal

import attrs

from funnelkit import (
    Activity,
    Customer,
    FixedClock,
    Gap,
    KeyPerson,
    Lead,
    Money,
    Opportunity,
    SalesRep,
    ValidationError,
    from_dict,
    to_dict,
)
from funnelkit.assignment import LoadBalance, Roulette, Rule, Rules, Team, assign, fairness
from funnelkit.discipline import LeadFollowUpPolicy, due_lead_followups, response_times
from funnelkit.duplicates import find_duplicates
from funnelkit.errors import MilestoneNotMet
from funnelkit.forecast import cohorts, pipeline_generation, simulate_revenue, weighted_forecast, win_loss
from funnelkit.scoring import backtest_lead_scores, fit_lead_scores
from funnelkit.segments import abc, account_plans, at_risk, purchase_cohorts, result_kpis, retention
from funnelkit.simulation import REPEAT_TRUTH, simulate
from funnelkit.stages import advance, default_pipeline, hasty

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# funnelkit never reads the system clock: "now" is always given.
clock = FixedClock(at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI))
now = clock.now()


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * (60 - len(title)))


section("The team and the customer")
reps = [
    SalesRep(id="rep-1", name="Zhang Wei", capacity=30, territories={"East"}, skills={"manufacturing"}),
    SalesRep(id="rep-2", name="Li Na", capacity=25, territories={"South"}),
]
acme = Customer(
    id="cust-1",
    name="Acme Machinery",
    industry="manufacturing",
    territory="East",
    size="large",
    purchasing_power=Money.of("2000000", "CNY"),
    owner="rep-1",
    tier="A",
    created_at=now - dt.timedelta(days=90),
)
people = [
    KeyPerson(id="kp-1", customer_id=acme.id, name="Wang Jun", title="CTO", role="decision_maker"),
    KeyPerson(
        id="kp-2",
        customer_id=acme.id,
        name="Chen Yu",
        title="IT manager",
        role="recommender",
        stance="supporter",
        wants="a system his team can run without outside help",
    ),
    KeyPerson(
        id="kp-3", customer_id=acme.id, name="Zhao Min", title="Assistant to the CTO", role="facilitator"
    ),
]
for rep in reps:
    print(f"{rep.id}: {rep.name}, capacity {rep.capacity}, territories {sorted(rep.territories)}")
print(f"{acme.name}: tier {acme.tier}, purchasing power {acme.purchasing_power}, followed by {acme.owner}")
for p in people:
    print(f"  {p.name} ({p.title}): {p.role.value}, stance {p.stance.value}")

section("An opportunity and the visit that found it")
deal = Opportunity(
    id="opp-1",
    customer_id=acme.id,
    owner="rep-1",
    pipeline="default",
    stage="contact",
    created_at=now - dt.timedelta(days=3),
    stage_entered_at=now - dt.timedelta(days=3),
    amount=Money.of("480000.00", "CNY"),
    expected_close=dt.date(2026, 6, 30),
    key_person_ids=["kp-1", "kp-2"],
    competitors=["Rival Systems"],
    gaps=[
        Gap(
            description="who approves the budget",
            owner="rep-1",
            action="ask Chen Yu",
            due=dt.date(2026, 3, 9),
        )
    ],
)
visit = Activity(
    id="act-1",
    kind="visit",
    at=now - dt.timedelta(days=1),
    duration=dt.timedelta(minutes=50),
    rep_id="rep-1",
    customer_id=acme.id,
    opportunity_id=deal.id,
    key_person_ids=["kp-2"],
    purpose="understand the maintenance workflow",
    needs_found="downtime tracking across three plants",
    feedback="interested; wants a demo for the CTO",
    next_step="book the demo",
    next_step_due=dt.date(2026, 3, 6),
)
print(
    f"{deal.id}: {deal.amount} at stage {deal.stage!r}, open gaps: {[g.description for g in deal.open_gaps]}"
)
local = visit.at.astimezone(SHANGHAI)  # funnelkit keeps UTC; show it in any zone
print(f"{visit.kind.value} on {local:%Y-%m-%d %H:%M} Shanghai: needs found: {visit.needs_found}")

section("Money: exact, one currency at a time")
amount = deal.amount
assert amount is not None
print(f"30 % of {amount} = {(amount * Decimal('0.30')).round()}")
print(f"one third of {amount}, rounded half-even: {(amount / 3).round()}")
print(f"100.00 CNY split in three: {[str(m) for m in Money.of('100.00', 'CNY').allocate([1, 1, 1])]}")
try:
    amount + Money.of(100, "USD")
except ValueError as e:
    print(f"refused: {e}")

section("A lead and its prospect value")
lead = Lead(
    id="lead-1",
    source="trade fair",
    created_at=now,
    company="Bright Foods",
    estimated_value=Money.of("300000", "CNY"),
    intent_score=0.4,
)
print(f"{lead.company}: {lead.estimated_value} x {lead.intent_score} = {lead.prospect_value}")

section("JSON round trip")
payload = json.dumps(to_dict(deal), ensure_ascii=False)
print(payload[:120] + " ...")
assert from_dict(Opportunity, json.loads(payload)) == deal
print("from_dict(Opportunity, json.loads(payload)) == deal: True")

section("The deal moves through the default eight-step pipeline")
pipeline = default_pipeline()
try:
    # Without the record of the visit, the deal has no milestone to leave 'contact' on.
    advance(deal, pipeline, now=now, actor="rep-1", activities=[], key_persons=people)
except MilestoneNotMet as e:
    print("stopped:", e)
    print(e.report)
# With the visit on record it moves on; each later milestone is evidence the customer gave.
steps = [
    ("needs_confirmed", {}),
    ("proposal", {}),
    ("approved", {"evidence": {"project_approved"}}),
    ("shortlisted", {"evidence": {"project_approved", "shortlisted"}}),
    ("selected", {"evidence": {"project_approved", "shortlisted", "selected"}}),
    ("negotiation", {"gaps": [attrs.evolve(g, closed=True) for g in deal.gaps]}),
    ("won", {"evidence": {"project_approved", "shortlisted", "selected", "contract_signed"}}),
]
demo = Activity(
    id="act-2",
    kind="demo",
    at=now + dt.timedelta(days=7),
    rep_id="rep-1",
    customer_id=acme.id,
    opportunity_id=deal.id,
    feedback="the CTO asked for a pilot",
)
people = [attrs.evolve(p, stance="champion") if p.role.value == "decision_maker" else p for p in people]
history = []
moving = deal
for day, (stage, changes) in enumerate(steps, start=1):
    moving = attrs.evolve(moving, **changes) if changes else moving
    moving, event = advance(
        moving,
        pipeline,
        to=stage,
        now=now + dt.timedelta(days=3 * day),
        actor="rep-1",
        activities=[visit, demo],
        key_persons=people,
        expected_version=moving.version,
    )
    history.append(event)
    days = event.time_in_stage.days
    print(f"  {event.from_stage:>15} -> {event.to_stage:<15} after {days} days (v{moving.version})")
print(f"{moving.id} is {moving.status.value} with {moving.amount}; hasty moves: {len(hasty(history))}")

section("Which customers deserve the most effort: A/B/C by the 80/20 rule")
book = {
    "Acme Machinery": Money.of("2000000", "CNY"),
    "Bright Foods": Money.of("640000", "CNY"),
    "Coastal Logistics": Money.of("410000", "CNY"),
    "Delta Textiles": Money.of("160000", "CNY"),
    "Eastern Paper": Money.of("90000", "CNY"),
    "Fuji Components": Money.of("60000", "CNY"),
    "Golden Ceramics": Money.of("25000", "CNY"),
    "Harbour Tools": Money.of("15000", "CNY"),
}
grading = abc({name.lower().replace(" ", "-"): value for name, value in book.items()})
print(grading)
print("A customers:", [cid for cid, tier in grading.tiers.items() if tier.value == "A"])

section("Assigning a batch of leads")
team = Team(
    reps=[SalesRep(id=r, name=r.title(), capacity=c) for r, c in [("wang", 10), ("zhao", 8), ("sun", 5)]],
    load={"wang": 5, "zhao": 5, "sun": 5},
)
regions = ["east", "north", "east", "west", "north", "east"]
batch = [
    Lead(id=f"web-{i}", source="web", created_at=now, territory=t, estimated_value=Money.of(v, "CNY"))
    for i, (t, v) in enumerate(
        zip(regions, ["90000", "12000", "300000", "8000", "45000", "20000"], strict=True)
    )
]
routing = Rules(
    rules=[
        Rule(name="east key accounts", to=["wang"], territory=["east"], min_value=Money.of("100000", "CNY"))
    ]
)
result = assign(batch, team=team, policy=routing.or_else(LoadBalance()), now=now)
for d in result:
    print(f"  {d.lead_id}: {d.rep_id or '-':5} {d.reason}")
print(" ", result)
# The timed roulette: sun is saturated and skipped; wang holds the first window.
roulette = Roulette(order=["sun", "wang", "zhao"], window=dt.timedelta(minutes=30))
roulette, offer = roulette.offer(Lead(id="trial-7", source="trial", created_at=now), team=team, now=now)
status = offer.status(now=now + dt.timedelta(minutes=10))
print(f"  roulette: skipped {[(s.rep_id, s.reason) for s in offer.skipped]}, ", end="")
print(f"{status.holder} holds it until {status.until.astimezone(SHANGHAI):%H:%M}")

section("Forecast: weighted, and a revenue distribution")
quarter = [
    attrs.evolve(
        deal, id=f"q-{i}", stage=stage, amount=Money.of(amount, "CNY"), expected_close=dt.date(2026, 5, 20)
    )
    for i, (stage, amount) in enumerate(
        [("proposal", "480000"), ("shortlisted", "260000"), ("negotiation", "150000"), ("contact", "900000")]
    )
]
for line in weighted_forecast(quarter, pipeline, by=["stage"]).lines:
    print(f"  {line.key[0]:>12}: {line.deals} deal(s), weighted {line.weighted}")
odds = [(d.amount, pipeline.stage(d.stage).probability) for d in quarter]
dist = simulate_revenue(odds, trials=20_000, rng=2026)
print(f"  revenue p10 {dist.p10}, p50 {dist.p50}, p90 {dist.p90} (20,000 seeded trials)")

section("A synthetic company from a seed: a year through the whole API")
year = simulate(reps=8, leads=800, days=365, seed=2026, duplicates=0.15, splits=0.2, check_every=7)
print(f"  {year.leads} leads: {year.assigned} assigned, {year.returned} returned with the reason (all full)")
print(
    f"  {year.converted + year.repeats} deals ({year.converted} from leads, {year.repeats} repeat deals of"
    f" customers who came back): {year.won} won, {year.lost} lost, {year.open} open ({year.stalled} stalled);"
    f" {year.moves} stage moves, {year.activities} activities"
)
print(f"  {year.refused_moves} moves refused for missing milestones; {year.reassigned} records reassigned")
print(f"  A/B/C of the customers who bought: {dict(year.abc_counts)}")
print(
    f"  open pipeline, weighted: {year.forecast_total}; "
    f"backtested WAPE of that forecast: {float(year.wape):.2f}"
)
print(f"  {year.checks} invariant checks held (one owner per account, versions, replay, money)")

section("Sales operations: duplicates, credit splits, win/loss")
found = find_duplicates(year.customers)
planted = {frozenset(pair) for pair in year.duplicates}
hits = sum(frozenset((p.left[1], p.right[1])) in planted for p in found.pairs)
print(f"  {len(planted)} companies entered twice; {found}")
print(f"  {hits} of the pairs found were planted: claims on either entry now count as one account")
split_forecast = weighted_forecast(year.opportunities, pipeline, by=["owner"], splits=year.splits)
print(f"  {len(year.splits.deals)} deals split between two reps; weighted by owner with splits:")
for line in split_forecast.lines[:3]:
    print(f"    {line.key[0]}: {line.deals} deal(s), weighted {line.weighted}")
print(" ", win_loss(year.opportunities, year.events, by=["stage"]))
end = year.lead_records[0].created_at + dt.timedelta(days=year.days)  # the first instant after the run
team_now = Team(reps=[SalesRep(id=r, name=r, capacity=10) for r in year.response_delays])
credit = fairness(
    year.decisions, team=team_now, start=end - dt.timedelta(days=year.days), end=end,
    splits=year.splits, opportunities=year.opportunities,
)  # fmt: skip
print(f"  fairness with split deals credited by share: {credit}")

section("Accounts and outcomes: pipeline created, targets, accounts at risk, plans")
first = min(d.created_at for d in year.opportunities)
last = max(e.at for e in year.events)
print(
    " ", pipeline_generation(year.opportunities, start=first, end=last + dt.timedelta(days=1), period="month")
)
months = result_kpis(year.opportunities, year.events, period="month", tz=SHANGHAI, splits=year.splits)
top = max(months, key=lambda r: (r.won, r.rep_id))
goals = top.attainment({"won": 10, "close_rate": "0.5"})
print(
    f"  best month: {top.rep_id} won {top.won} in {top.start:%Y-%m}: {float(goals['won']):.0%} of 10 wins, ",
    end="",
)
rate, attained = float(top.close_rate or 0), float(goals["close_rate"] or 0)
print(f"close rate {rate:.2f} against a target of 0.50: {attained:.0%} attained")
# Each simulated customer has a tier (planted from its company's size: large A, medium B, small C).
print(" ", at_risk(year.customers, year.activity_log, year.opportunities, now=last))
plans = account_plans(year.customers, year.key_persons, year.activity_log, year.opportunities, now=last)
print(" ", plans)
print(" ", cohorts(year.opportunities, year.events, pipeline, now=end))

section("Retention: customers who come back, by tier")
# A customer who has bought opens a repeat deal in a month with its tier's planted chance
# (funnelkit.simulation.REPEAT_TRUTH); the repeat deal is worked and won or lost like any other.
planted = ", ".join(f"{t} {p:.0%}" for t, p in REPEAT_TRUTH.items())
print(f"  {year.repeats} repeat deals opened (planted chance a month: {planted})")
tiers = {c.id: c.tier for c in year.customers if c.tier is not None}
churn = retention(year.opportunities, now=end, period="quarter", tiers=tiers)
print(" ", churn)
for tier in ("A", "B", "C"):
    rows = [r for r in churn if r.tier is not None and r.tier.value == tier]
    kept, before = sum(r.retained for r in rows), sum(r.active_before for r in rows)
    print(f"    tier {tier}: {kept} of {before} customers who bought in a quarter bought again the next")
print(purchase_cohorts(year.opportunities, now=end, period="quarter"))

section("Leads: a learnt score, speed to lead, follow-up timers")
# The simulated leads carry a planted signal (funnelkit.simulation.LEAD_TRUTH): referrals and
# trade fairs convert more, cold calls less, larger companies more.  Only answered leads convert.
answered = [lead for lead in year.lead_records if lead.owner is not None]
horizon = dt.timedelta(days=45)
model = fit_lead_scores(
    answered, year.lead_activities, opportunities=year.opportunities, now=end, horizon=horizon
)
w = model.weights
learnt = {s: round(w[f"source={s}"] - w["source=web"], 1) for s in ("referral", "trade fair", "cold call")}
print(f"  {model}\n  learnt log odds against web leads (planted +1.5, +1.0, -1.5): {learnt}")
backtested = backtest_lead_scores(
    answered, year.lead_activities, opportunities=year.opportunities,
    cutoffs=[end - dt.timedelta(days=90)], now=end, horizon=horizon,
)  # fmt: skip
print(f"  trained until 90 days before the end, tested on the leads after: {backtested}")
sla = response_times(
    answered, activities=year.lead_activities, targets={None: dt.timedelta(hours=4)}, now=end
)
print(f"  first response within 4 hours: {sla}")
# Per rep, only the leads routed to, answered by and still owned by one rep: a lead reassigned when
# its rep left is answered by the new owner, late, and would count against them.
routed = {d.lead_id: d.rep_id for d in year.decisions}
first = {a.customer_id: a.rep_id for a in year.lead_activities if a.purpose == "first response"}
own = [lead for lead in answered if routed[lead.id] == first.get(lead.id) == lead.owner]
print(f"  of those, the {len(own)} leads routed to, answered by and still owned by one rep, by rep:")
mine = response_times(own, activities=year.lead_activities, targets={None: dt.timedelta(hours=4)}, now=end)
for g in mine.by_rep():
    if g.breached:
        mean = year.response_delays[g.key]
        print(f"    {g.key} (answers in {mean} on average): {g.breached} of {g.leads} breached")
policy = LeadFollowUpPolicy(by_status={"working": dt.timedelta(days=2)})
print(" ", due_lead_followups(year.lead_records, activities=year.lead_activities, policy=policy, now=end))

section("Bad input is refused, with every problem named")
bad = json.loads(payload)
bad.update(id="", amount={"amount": 480000.0, "currency": "cny"}, created_at="2026-02-27T09:30:00")
try:
    from_dict(Opportunity, bad)
except ValidationError as e:
    print(e)
