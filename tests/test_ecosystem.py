"""
funnelkit among other libraries: numbers and mappings from numpy and pandas, hypothesis'
``st.from_type``, and what importing funnelkit loads.

numpy and pandas are read by duck typing (see funnelkit._checks): an integer is an int or any
object with ``__index__`` that is not a bool, a bool is a bool or numpy's bool, a ``numpy.float64``
is a float, and a mapping is a ``Mapping`` or a one-dimensional object with ``keys()``, ``items()``
and a length (a pandas ``Series``).  funnelkit never imports numpy or pandas itself.
"""

import datetime as dt
import importlib.metadata
import json
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    Customer,
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
from funnelkit.assignment import LoadBalance, Pool, Roulette, Team, TierMatch, WeightedRandom, assign, gini
from funnelkit.forecast import (
    absorbing_chain,
    against_targets,
    chain_from_events,
    flow,
    kaplan_meier,
    shrink,
    simulate_revenue,
    wape,
    weighted_forecast,
    win_count,
)
from funnelkit.segments import abc, coverage, migration, quartiles, relationships, rfm
from funnelkit.simulation import simulate
from funnelkit.stages import (
    ActivityCount,
    MoveKind,
    Override,
    Pipeline,
    Stage,
    StageChanged,
    StageOutcome,
    TimeInStage,
    advance,
    apply,
    default_pipeline,
    readiness,
    replay,
)
from funnelkit.strategies import (
    EventHistory,
    SalesData,
    event_histories,
    opportunities,
    pipelines,
    sales_data,
    teams,
)

try:  # optional: the tests that need numpy or pandas skip themselves without it
    import numpy as np
except ImportError:
    np = None
try:
    import pandas as pd
except ImportError:
    pd = None


@pytest.fixture
def needs_numpy():
    pytest.importorskip("numpy")


@pytest.fixture
def needs_pandas():
    pytest.importorskip("pandas")


T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=40)
PIPELINE = default_pipeline()
OPP = Opportunity(
    id="o1",
    customer_id="c1",
    owner="r1",
    pipeline="default",
    stage="contact",
    created_at=T0,
    stage_entered_at=T0,
    amount=Money.of(1000, "USD"),
)
REPS = (SalesRep(id="r1", name="Ann", capacity=5), SalesRep(id="r2", name="Bo", capacity=5))
TEAM = Team(reps=REPS)
LEADS = tuple(Lead(id=f"l{i}", source="web", created_at=T0) for i in range(4))
CUSTOMERS = tuple(
    Customer(id=f"c{i}", name=f"C{i}", created_at=T0, owner="r1", tier="A" if i else "C") for i in range(3)
)


# --- what importing funnelkit loads ---------------------------------------------------------

_SUBPACKAGES = (
    "funnelkit",
    "funnelkit.errors",
    "funnelkit.documents",
    "funnelkit.entities",
    "funnelkit.stages",
    "funnelkit.segments",
    "funnelkit.assignment",
    "funnelkit.forecast",
    "funnelkit.simulation",
)


def _loaded_after(*modules: str) -> set[str]:
    """The top-level modules in sys.modules after a fresh interpreter imports *modules*."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {list(modules)!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_importing_funnelkit_loads_neither_numpy_nor_pandas():
    """numpy and pandas values are read by duck typing: no public package imports either."""
    loaded = _loaded_after(*_SUBPACKAGES)
    assert {"numpy", "pandas"} & loaded == set()


def test_importing_the_stages_does_not_load_python_statemachine():
    """Only the statechart export needs python-statemachine; it is imported when called."""
    assert "statemachine" not in _loaded_after("funnelkit", "funnelkit.stages")
    code = (
        "import sys\nfrom funnelkit.stages import default_pipeline\n"
        "default_pipeline().to_statechart()\nprint('statemachine' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_importing_funnelkit_does_not_load_pendulum():
    """pendulum is imported by ensure_aware alone, when it is called."""
    assert "pendulum" not in _loaded_after(*_SUBPACKAGES)


def test_importing_hypothesis_registers_funnelkit_without_numpy():
    """The hypothesis entry point imports funnelkit's types, and still neither numpy nor pandas."""
    loaded = _loaded_after("hypothesis")
    assert "funnelkit" in loaded
    assert {"numpy", "pandas", "statemachine"} & loaded == set()


# --- numbers and mappings from numpy and pandas ----------------------------------------------


def _same(python, numpy):
    """Both calls give equal results, or both raise the same problems."""
    try:
        expected = python()
    except ValidationError as e:
        with pytest.raises(ValidationError) as got:
            numpy()
        assert [(p.path, p.code) for p in got.value.problems] == [(p.path, p.code) for p in e.problems]
        return
    assert numpy() == expected


def _deals():
    deals = [attrs.evolve(OPP, id=f"o{i}", owner=f"r{i % 2 + 1}") for i in range(3)]
    deals[0], event = advance(
        deals[0], PIPELINE, now=T0 + dt.timedelta(days=1), actor="r1", override=Override(reason="x", by="b")
    )
    return deals, [event]


DEALS, EVENTS = _deals()
ACTS = tuple(
    Activity(id=f"a{i}", kind="visit", at=T0 + dt.timedelta(days=i), rep_id="r1", customer_id=f"c{i % 3}")
    for i in range(4)
)

#: (label, call with Python values, call with numpy values): the results must be equal.
NUMPY_CALLS = [
    ("Money.of", lambda: Money.of(5, "USD"), lambda: Money.of(np.int64(5), "USD")),
    (
        "Money.from_minor",
        lambda: Money.from_minor(1230, "USD"),
        lambda: Money.from_minor(np.int64(1230), "USD"),
    ),
    ("Money * int", lambda: Money.of("1.5", "USD") * 3, lambda: Money.of("1.5", "USD") * np.int64(3)),
    ("Money / int", lambda: Money.of(10, "EUR") / 4, lambda: Money.of(10, "EUR") / np.uint8(4)),
    (
        "SalesRep",
        lambda: SalesRep(id="r", name="R", capacity=3, active=False),
        lambda: SalesRep(id="r", name="R", capacity=np.int64(3), active=np.False_),
    ),
    (
        "Opportunity.version",
        lambda: attrs.evolve(OPP, version=2),
        lambda: attrs.evolve(OPP, version=np.int32(2)),
    ),
    (
        "Gap.closed",
        lambda: Gap(description="who signs?", closed=True),
        lambda: Gap(description="who signs?", closed=np.True_),
    ),
    (
        "Activity.replied",
        lambda: attrs.evolve(ACTS[0], replied=True),
        lambda: attrs.evolve(ACTS[0], replied=np.bool_(True)),
    ),
    (
        "Lead.intent_score",
        lambda: attrs.evolve(LEADS[0], intent_score=0.3),
        lambda: attrs.evolve(LEADS[0], intent_score=np.float64(0.3)),
    ),
    (
        "Lead.intent_score int",
        lambda: attrs.evolve(LEADS[0], intent_score=1),
        lambda: attrs.evolve(LEADS[0], intent_score=np.int64(1)),
    ),
    (
        "Stage",
        lambda: Stage(key="s", label="S", probability=0.25, stall_after_days=10),
        lambda: Stage(key="s", label="S", probability=np.float64(0.25), stall_after_days=np.int64(10)),
    ),
    (
        "Pipeline flags",
        lambda: attrs.evolve(PIPELINE, allow_skip=True),
        lambda: attrs.evolve(PIPELINE, allow_skip=np.True_),
    ),
    ("TimeInStage", lambda: TimeInStage(days=3), lambda: TimeInStage(days=np.int64(3))),
    (
        "ActivityCount",
        lambda: ActivityCount(kinds="visit", at_least=2, replied=True),
        lambda: ActivityCount(kinds="visit", at_least=np.int16(2), replied=np.True_),
    ),
    (
        "advance(expected_version)",
        lambda: advance(
            OPP, PIPELINE, now=NOW, actor="r1", expected_version=0, override=Override(reason="x", by="b")
        ),
        lambda: advance(
            OPP,
            PIPELINE,
            now=NOW,
            actor="r1",
            expected_version=np.int64(0),
            override=Override(reason="x", by="b"),
        ),
    ),
    (
        "abc",
        lambda: abc({"c1": 10, "c2": 5, "c3": 1}),
        lambda: abc({"c1": np.int64(10), "c2": np.int64(5), "c3": np.int64(1)}),
    ),
    (
        "abc a and b",
        lambda: abc({"c1": 10, "c2": 5}, a=0.5, b=0.9),
        lambda: abc({"c1": 10, "c2": 5}, a=np.float64(0.5), b=np.float64(0.9)),
    ),
    (
        "rfm",
        lambda: rfm([("c1", T0, 10), ("c2", T0, 20)], now=NOW, bins=2),
        lambda: rfm([("c1", T0, np.int64(10)), ("c2", T0, np.int64(20))], now=NOW, bins=np.int64(2)),
    ),
    (
        "quartiles",
        lambda: quartiles({"r1": 9, "r2": 3}),
        lambda: quartiles({"r1": np.int64(9), "r2": np.int64(3)}),
    ),
    (
        "coverage",
        lambda: coverage(CUSTOMERS, quartiles={"r1": 4, "r2": 1}, capacities={"r1": 3, "r2": 3}),
        lambda: coverage(
            CUSTOMERS,
            quartiles={"r1": np.int64(4), "r2": np.int64(1)},
            capacities={"r1": np.int8(3), "r2": np.int8(3)},
        ),
    ),
    (
        "relationships",
        lambda: relationships(CUSTOMERS, activities=ACTS, key_persons=(), now=NOW, contacts_for_full_marks=2),
        lambda: relationships(
            CUSTOMERS, activities=ACTS, key_persons=(), now=NOW, contacts_for_full_marks=np.int64(2)
        ),
    ),
    ("Team.load", lambda: Team(reps=REPS, load={"r1": 2}), lambda: Team(reps=REPS, load={"r1": np.int64(2)})),
    (
        "Team.describe_limit",
        lambda: TEAM.describe_limit("r1", 5),
        lambda: TEAM.describe_limit("r1", np.int64(5)),
    ),
    (
        "WeightedRandom",
        lambda: WeightedRandom(weights={"r1": 1, "r2": 3}),
        lambda: WeightedRandom(weights={"r1": np.int64(1), "r2": np.int64(3)}),
    ),
    (
        "TierMatch.from_quartiles",
        lambda: TierMatch.from_quartiles({"r1": 1, "r2": 4}),
        lambda: TierMatch.from_quartiles({"r1": np.int64(1), "r2": np.int64(4)}),
    ),
    (
        "Pool.max_claims",
        lambda: Pool(protect_for=dt.timedelta(days=7), max_claims=2),
        lambda: Pool(protect_for=dt.timedelta(days=7), max_claims=np.int64(2)),
    ),
    (
        "Roulette.start",
        lambda: Roulette(order=["r1", "r2"], window=dt.timedelta(minutes=5), start=1),
        lambda: Roulette(order=["r1", "r2"], window=dt.timedelta(minutes=5), start=np.int64(1)),
    ),
    (
        "assign(rng)",
        lambda: assign(LEADS, team=TEAM, policy=WeightedRandom(), now=NOW, rng=7),
        lambda: assign(LEADS, team=TEAM, policy=WeightedRandom(), now=NOW, rng=np.int64(7)),
    ),
    ("gini", lambda: gini([1, 2, 3, 10]), lambda: gini(np.array([1, 2, 3, 10]))),
    ("win_count", lambda: win_count([0.5, 0.25]), lambda: win_count(np.array([0.5, 0.25]))),
    ("win_count ints", lambda: win_count([1, 0]), lambda: win_count(np.array([1, 0]))),
    ("WinCount.cdf", lambda: win_count([0.5, 0.5]).cdf(1), lambda: win_count([0.5, 0.5]).cdf(np.int64(1))),
    (
        "simulate_revenue",
        lambda: simulate_revenue([(Money.of(100, "USD"), "0.5")], trials=50, rng=3),
        lambda: simulate_revenue([(Money.of(100, "USD"), "0.5")], trials=np.int64(50), rng=np.int64(3)),
    ),
    (
        "kaplan_meier",
        lambda: kaplan_meier([(3, True), (5, False), (7, True)]),
        lambda: kaplan_meier(list(zip(np.array([3, 5, 7]), np.array([True, False, True]), strict=True))),
    ),
    (
        "kaplan_meier floats",
        lambda: kaplan_meier([(3.5, True), (5.0, False)]),
        lambda: kaplan_meier([(np.float64(3.5), np.True_), (np.float64(5.0), np.False_)]),
    ),
    (
        "shrink",
        lambda: shrink(2, 2, toward=Fraction(1, 4), strength=6),
        lambda: shrink(np.int64(2), np.int64(2), toward=Fraction(1, 4), strength=np.int64(6)),
    ),
    (
        "absorbing_chain",
        lambda: absorbing_chain({"a": {"won": 1}}, absorbing=["won"]),
        lambda: absorbing_chain({"a": {"won": np.int64(1)}}, absorbing=["won"]),
    ),
    (
        "absorbing_chain floats",
        lambda: absorbing_chain({"a": {"a": 0.5, "won": 0.5}}, absorbing=["won"]),
        lambda: absorbing_chain({"a": {"a": np.float64(0.5), "won": np.float64(0.5)}}, absorbing=["won"]),
    ),
    (
        "chain_from_events",
        lambda: chain_from_events(EVENTS, PIPELINE, smoothing=1),
        lambda: chain_from_events(EVENTS, PIPELINE, smoothing=np.int64(1)),
    ),
    ("wape", lambda: wape([10, 20], [12, 18]), lambda: wape(np.array([10, 20]), np.array([12, 18]))),
    (
        "weighted_forecast rates",
        lambda: weighted_forecast(DEALS, PIPELINE, rates={"USD": 7}, to_currency="CNY"),
        lambda: weighted_forecast(DEALS, PIPELINE, rates={"USD": np.int64(7)}, to_currency="CNY"),
    ),
    (
        "simulate",
        lambda: simulate(reps=2, leads=5, days=3, seed=1, capacity=(2, 4), work_rate=0.5).opportunities,
        lambda: (
            simulate(
                reps=np.int64(2),
                leads=np.int64(5),
                days=np.int64(3),
                seed=np.int64(1),
                capacity=(np.int64(2), np.int64(4)),
                work_rate=np.float64(0.5),
            ).opportunities
        ),
    ),
]


@pytest.mark.usefixtures("needs_numpy")
@pytest.mark.parametrize(("label", "python", "numpy"), NUMPY_CALLS, ids=[c[0] for c in NUMPY_CALLS])
def test_numpy_numbers_are_read_as_python_numbers(label, python, numpy):
    """numpy ints, bools and float64s give the same result as the Python numbers they stand for."""
    _same(python, numpy)


@pytest.mark.usefixtures("needs_numpy")
def test_numpy_ints_are_stored_as_ints():
    """A numpy int or bool is converted on the way in: the value holds Python's, which to_dict can write."""
    rep = SalesRep(id="r", name="R", capacity=np.int64(3), active=np.True_)
    assert type(rep.capacity) is int
    assert type(rep.active) is bool
    assert type(Money.of(np.int64(5), "USD").amount) is Decimal
    assert type(attrs.evolve(OPP, version=np.uint64(2)).version) is int
    assert type(kaplan_meier([(np.float64(3.5), np.True_)]).steps[0].time) is float


@pytest.mark.usefixtures("needs_numpy")
@pytest.mark.parametrize(
    ("build", "path", "code"),
    [
        (lambda: SalesRep(id="r", name="R", capacity=np.True_), "capacity", "type"),
        (lambda: SalesRep(id="r", name="R", active=np.int64(1)), "active", "type"),
        (lambda: Money.of(np.float64(0.1), "USD"), "amount", "type"),
        (lambda: Money.of(np.float32(1), "USD"), "amount", "type"),
        (lambda: TimeInStage(days=np.float64(3.0)), "days", "type"),
        (lambda: rfm([("c1", T0, 10)], now=NOW, bins=np.True_), "bins", "type"),
    ],
    ids=["bool as int", "int as bool", "float64 money", "float32 money", "float64 days", "bool bins"],
)
def test_a_bool_is_no_int_and_no_float_is_money(build, path, code):
    """numpy's bool is never an integer, an integer never a bool, and money refuses numpy's floats too."""
    with pytest.raises(ValidationError) as e:
        build()
    assert (e.value.problems[0].path, e.value.problems[0].code) == (path, code)


# --- pandas Series where a mapping is taken --------------------------------------------------


def _series(data):
    return pd.Series(data, dtype=object) if not data else pd.Series(data)


SERIES_CALLS = [
    ("abc", abc, {"c1": 10, "c2": 5, "c3": 1}),
    ("quartiles", quartiles, {"r1": 9, "r2": 3, "r3": 5}),
    ("migration", lambda m: migration(m, m), {"c1": "A", "c2": "B"}),
    (
        "coverage quartiles",
        lambda m: coverage(CUSTOMERS, quartiles=m, capacities={"r1": 3, "r2": 3}),
        {"r1": 4, "r2": 1},
    ),
    (
        "coverage capacities",
        lambda m: coverage(CUSTOMERS, quartiles={"r1": 4, "r2": 1}, capacities=m),
        {"r1": 3, "r2": 3},
    ),
    ("Team.load", lambda m: Team(reps=REPS, load=m), {"r1": 2, "r2": 0}),
    ("WeightedRandom", lambda m: WeightedRandom(weights=m), {"r1": 1, "r2": 3}),
    ("TierMatch.from_quartiles", TierMatch.from_quartiles, {"r1": 1, "r2": 4}),
    (
        "weighted_forecast rates",
        lambda m: weighted_forecast(DEALS, PIPELINE, rates=m, to_currency="CNY"),
        {"USD": 7},
    ),
    (
        "against_targets",
        lambda m: against_targets(
            DEALS, PIPELINE, targets=m, start=dt.date(2026, 1, 1), end=dt.date(2027, 1, 1)
        ),
        {"r1": Money.of(5000, "USD"), "r2": Money.of(100, "USD")},
    ),
    (
        "absorbing_chain row",
        lambda m: absorbing_chain({"a": m}, absorbing=["won", "lost"]),
        {"won": "1/2", "lost": "1/2"},
    ),
    ("RepActivity.attainment", lambda m: _kpis().attainment(m), {"visits": 4}),
]


def _kpis():
    from funnelkit.segments import activity_kpis

    return activity_kpis(ACTS, period="month", tz="UTC")[0]


@pytest.mark.usefixtures("needs_pandas")
@pytest.mark.parametrize(("label", "call", "data"), SERIES_CALLS, ids=[c[0] for c in SERIES_CALLS])
def test_a_series_is_read_like_a_dict(label, call, data):
    """A pandas Series is read through .items(), with the same result as the dict it holds."""
    _same(lambda: call(dict(data)), lambda: call(_series(data)))


@pytest.mark.usefixtures("needs_pandas")
def test_a_series_with_a_repeated_label_is_refused():
    """A key met twice is refused at the argument, never silently dropped."""
    with pytest.raises(ValidationError) as e:
        quartiles(pd.Series([9, 3], index=["r1", "r1"]))
    assert [(p.path, p.code) for p in e.value.problems] == [("scores", "duplicate")]
    assert "'r1' appears twice in a Series" in e.value.problems[0].message


@pytest.mark.usefixtures("needs_pandas")
def test_a_data_frame_is_not_a_mapping():
    """A DataFrame's items() are its columns: read as a mapping, a table would be transposed."""
    frame = pd.DataFrame({"won": [0.5], "a": [0.5]}, index=["a"])
    with pytest.raises(ValidationError) as e:
        absorbing_chain(frame, absorbing=["won"])
    assert e.value.problems[0].path == "matrix"


@pytest.mark.usefixtures("needs_pandas")
def test_series_of_numpy_values_in_a_dict():
    """A dict of Series (rows of a transition matrix) reads like a dict of dicts."""
    rows = {"a": pd.Series({"a": Fraction(1, 2), "won": Fraction(1, 2)})}
    assert absorbing_chain(rows, absorbing=["won"]) == absorbing_chain(
        {"a": {"a": Fraction(1, 2), "won": Fraction(1, 2)}}, absorbing=["won"]
    )


# --- hypothesis: st.from_type and the new strategies -----------------------------------------

REGISTERED = [
    Money,
    Gap,
    Customer,
    KeyPerson,
    Opportunity,
    Activity,
    SalesRep,
    Lead,
    Pipeline,
    Stage,
    StageChanged,
    Team,
    SalesData,
    EventHistory,
]


def test_the_entry_point_is_installed():
    """pyproject.toml names funnelkit's hook in hypothesis' entry-point group."""
    hooks = {e.value for e in importlib.metadata.entry_points(group="hypothesis")}
    assert "funnelkit._hypothesis:_hypothesis_setup_hook" in hooks


@pytest.mark.parametrize("cls", REGISTERED, ids=lambda c: c.__name__)
@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_from_type_draws_valid_values(cls, data):
    """st.from_type(X) draws an X, valid by construction (building it again gives the same value)."""
    value = data.draw(st.from_type(cls))
    assert type(value) is cls
    if attrs.has(cls) and cls not in (SalesData, EventHistory, Pipeline):
        assert attrs.evolve(value) == value


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(event_histories())
def test_event_histories_are_what_the_engine_made(history):
    """Every history replays, event by event and as a whole, to where it ended."""
    assert replay(history.start, history.events, pipeline=history.pipeline) == history.end
    opp = history.start
    for event in history.events:
        assert history.pipeline.allows(event.from_stage, event.to_stage)
        opp = apply(opp, event)
    assert opp == history.end
    assert [e.version for e in history.events] == list(range(1, len(history.events) + 1))


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_pipelines_are_valid_and_usable(pipeline):
    """A drawn pipeline is built again from its own fields, and a new deal in it can move."""
    assert attrs.evolve(pipeline) == pipeline
    assert pipeline.first.outcome is StageOutcome.OPEN
    deal = Opportunity(
        id="o",
        customer_id="c",
        owner="r",
        pipeline=pipeline.key,
        stage=pipeline.first.key,
        created_at=T0,
        stage_entered_at=T0,
    )
    moved, event = advance(deal, pipeline, now=NOW, actor="r", override=Override(reason="test", by="boss"))
    assert event.kind in (MoveKind.ADVANCE, MoveKind.WIN)
    assert moved.stage == pipeline.next_stage(deal.stage)


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_opportunities_of_a_pipeline_stand_at_its_stages(data):
    """opportunities(pipeline=p) draws deals at p's stages, with the status their stage says."""
    pipeline = data.draw(pipelines(max_open_stages=4))
    opp = data.draw(opportunities(pipeline=pipeline))
    assert opp.pipeline == pipeline.key
    outcome = pipeline.stage(opp.stage).outcome
    assert opp.status.value == {"open": "open", "won": "won", "lost": "lost"}[outcome.value]
    if outcome is StageOutcome.OPEN:
        readiness(opp, pipeline, now=opp.stage_entered_at + dt.timedelta(days=1))


@settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sales_data_of_a_pipeline(data):
    """sales_data(pipeline=p) puts every deal at one of p's stages."""
    drawn = data.draw(sales_data(pipeline=PIPELINE, max_opportunities=3))
    assert all(o.stage in PIPELINE for o in drawn.opportunities)


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(teams())
def test_teams_route_leads(team):
    """A drawn team has unique rep ids and routes leads."""
    assert len({r.id for r in team.reps}) == len(team.reps) >= 1
    assign(LEADS, team=team, policy=LoadBalance(), now=NOW)


@pytest.mark.parametrize(
    ("make", "path", "code"),
    [
        (lambda: pipelines(max_open_stages=0), "max_open_stages", "range"),
        (lambda: pipelines(max_open_stages=51), "max_open_stages", "range"),
        (lambda: pipelines(max_open_stages="3"), "max_open_stages", "type"),
        (lambda: pipelines(with_requirements=1), "with_requirements", "type"),
        (lambda: event_histories(pipeline="default"), "pipeline", "type"),
        (lambda: event_histories(max_events=-1), "max_events", "range"),
        (lambda: event_histories(max_events=True), "max_events", "type"),
        (lambda: teams(max_reps=0), "max_reps", "range"),
        (lambda: teams(max_reps=1.5), "max_reps", "type"),
        (lambda: opportunities(pipeline=7), "pipeline", "type"),
        (lambda: opportunities(pipeline=PIPELINE, won_stages=("won",)), "won_stages", "conflict"),
        (lambda: opportunities(pipeline=PIPELINE, stages=("nowhere",)), "stages", "reference"),
        (lambda: sales_data(pipeline=PIPELINE, lost_stages=()), "lost_stages", "conflict"),
    ],
    ids=[
        "no open stages",
        "too many stages",
        "stages as str",
        "flag as int",
        "pipeline key",
        "negative events",
        "bool events",
        "no reps",
        "float reps",
        "pipeline int",
        "won with a Pipeline",
        "unknown stage",
        "lost with a Pipeline",
    ],
)
def test_strategies_check_their_arguments_up_front(make, path, code):
    """A bad argument is refused when the strategy is built, naming it and what is allowed."""
    with pytest.raises(ValidationError) as e:
        make()
    assert [(p.path, p.code) for p in e.value.problems] == [(path, code)]


@settings(max_examples=5)
@given(data=st.data())
def test_strategies_take_numpy_ints(data):
    """The sizes of a strategy may be numpy ints too."""
    pytest.importorskip("numpy")
    assert isinstance(data.draw(teams(max_reps=np.int64(2))), Team)
    assert isinstance(data.draw(event_histories(pipeline=PIPELINE, max_events=np.int64(2))), EventHistory)


def test_records_of_a_pandas_table_read_as_documents():
    """A CRM export read by pandas (int64 and bool columns) reads back as reps, exactly."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {"id": ["ann", "bob"], "name": ["Ann", "Bob"], "capacity": [12, 30], "active": [True, False]}
    )
    # cell by cell, as row-wise code reads a frame: numpy scalars (to_dict("records") may give Python ones)
    records = [{column: frame[column].iloc[i] for column in frame.columns} for i in range(len(frame))]
    assert type(records[0]["capacity"]).__module__ == "numpy"
    assert type(records[0]["active"]).__module__ == "numpy"
    reps = from_dict(list[SalesRep], records)
    assert reps == [
        SalesRep(id="ann", name="Ann", capacity=12, active=True),
        SalesRep(id="bob", name="Bob", capacity=30, active=False),
    ]
    assert type(reps[0].capacity) is int
    assert type(reps[1].active) is bool


def test_numpy_integers_in_money_and_ratio_documents():
    """A money amount or a ratio given as numpy's int reads as the Python int would."""
    np = pytest.importorskip("numpy")
    assert from_dict(Money, {"amount": np.int64(5), "currency": "USD"}) == Money.of(5, "USD")
    assert from_dict(Fraction, np.int64(3)) == Fraction(3)


def test_a_team_in_utc_reads_back_equal():
    """tz='UTC' is the one UTC documents read back, so a team's document round-trips."""
    team = Team(reps=[SalesRep(id="ann", name="Ann")], tz="UTC")
    assert from_dict(Team, json.loads(json.dumps(to_dict(team)))) == team


def test_days_in_float_records_are_datetime64_columns():
    """A report's calendar days come out of float records as midnight, which pandas reads as datetime64."""
    pd = pytest.importorskip("pandas")
    deals = [
        Opportunity(
            id=f"o{i}",
            customer_id="c",
            owner="ann",
            pipeline="default",
            stage="contact",
            created_at=T0 + dt.timedelta(days=i),
            stage_entered_at=T0 + dt.timedelta(days=i),
        )
        for i in range(3)
    ]
    frame = flow(deals, [], period="day", tz="UTC").to_frame()
    assert pd.api.types.is_datetime64_any_dtype(frame["period"])
