"""
Checked by ``mypy --strict`` (nox -s mypy), never run: the public API must type
as users will write it.  A line marked ``type: ignore[...]`` must stay an
error; mypy's warn_unused_ignores turns a fixed one into a failure.
"""

import datetime as dt
from fractions import Fraction

import attrs

import funnelkit
from funnelkit import (
    Activity,
    ActivityKind,
    Clock,
    Customer,
    FixedClock,
    Lead,
    Money,
    Opportunity,
    SalesRep,
    Tier,
    ValidationError,
    from_dict,
    to_dict,
)
from funnelkit.assignment import (
    AssignmentResult,
    AssignmentState,
    Decision,
    LoadBalance,
    Pool,
    Roulette,
    RoundRobin,
    Team,
    assign,
)
from funnelkit.strategies import SalesData, sales_data

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)

price: Money = Money.of("12.30", "USD") * 3 + Money.zero("USD")
share: Fraction = price.ratio(Money.of(1, "USD"))
rounded: Money = (price / 7).round()
parts: tuple[Money, ...] = price.allocate([1, 2])
cents: int = rounded.to_minor()
bigger: bool = price > Money.of(1, "USD")

# Enum fields take their values; list fields take lists.
customer = Customer(id="c", name="Acme", created_at=T0, tier="A", tags=["vip"])
tier: Tier | None = customer.tier
opp = Opportunity(
    id="o",
    customer_id="c",
    owner="r",
    pipeline="default",
    stage="contact",
    created_at=T0,
    stage_entered_at=T0,
    key_person_ids=["kp"],
)
ids: tuple[str, ...] = opp.key_person_ids
moved: Opportunity = attrs.evolve(opp, version=opp.version + 1)
activity = Activity(id="a", kind=ActivityKind.CALL, at=T0, rep_id="r", customer_id="c")
lead = Lead(id="l", source="web", created_at=T0, intent_score=0.4)
value: Money | None = lead.prospect_value

data = to_dict(opp)
back: Opportunity = from_dict(Opportunity, data)
many: list[Customer] = from_dict(list[Customer], [to_dict(customer)])

clock: Clock = FixedClock(at=T0)
now: dt.datetime = clock.now()

try:
    Money.of("1", "usd")
except ValidationError as e:
    paths: list[str] = [p.path for p in e.problems]

version: str = funnelkit.__version__
book_strategy = sales_data(max_reps=2)
books: list[SalesData] = []

rep = SalesRep(id="r", name="R", capacity=3)
team = Team(reps=[rep], load={"r": 1})
routed: AssignmentResult = assign([lead], team=team, policy=LoadBalance().or_else(RoundRobin()), now=T0)
first: Decision = routed.decisions[0]
owner: str | None = first.rep_id
saved: AssignmentState = routed.state
pool, claim = Pool(protect_for=dt.timedelta(days=3)).claim("c", "r", now=T0)
expires: dt.datetime = claim.expires_at
roulette, offer = Roulette(order=["r"], window=dt.timedelta(minutes=30)).offer(lead, team=team, now=T0)
holder: str | None = offer.status(now=T0).holder


def must_stay_type_errors() -> None:
    """Never called: each line is a mistake mypy must catch."""
    Money.of(0.1, "USD")  # type: ignore[arg-type]
    price * 0.5  # type: ignore[operator]
    Opportunity(id="o")  # type: ignore[call-arg]
    customer.name = "x"  # type: ignore[misc]
    assign([lead], team=team, policy="round_robin", now=T0)  # type: ignore[arg-type]
    offer.claim("r")  # type: ignore[call-arg]
