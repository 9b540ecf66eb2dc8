"""Hardening: fuzzing every entry point that reads outside data, and use from many threads."""

import contextlib
import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import FunnelkitError, Lead, Money, Opportunity, SalesRep
from funnelkit.assignment import (
    AssignmentState,
    Decision,
    LoadBalance,
    Offer,
    Pool,
    Roulette,
    RoundRobin,
    Rule,
    Rules,
    Team,
    assign,
    policy_from_dict,
)
from funnelkit.errors import ConcurrencyConflict
from funnelkit.forecast import against_targets, backtest, weighted_forecast
from funnelkit.stages import Override, advance, default_pipeline, replay

NOW = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
POLICY = Rules(
    rules=[Rule(name="n", to=["a"], territory=["north"], min_value=Money.of("10", "CNY"))]
).or_else(LoadBalance())
_roulette, _offer = Roulette(order=["a", "b"], window=dt.timedelta(minutes=5), then=POLICY).offer(
    Lead(id="l", source="web", created_at=NOW), team=Team(reps=[SalesRep(id="a", name="A")]), now=NOW
)
SAMPLES = {
    "policy": (policy_from_dict, POLICY.to_dict()),
    "offer": (Offer.from_dict, _offer.to_dict()),
    "roulette": (Roulette.from_dict, _roulette.to_dict()),
    "pool": (Pool.from_dict, Pool(protect_for=dt.timedelta(days=1)).claim("c", "a", now=NOW)[0].to_dict()),
    "state": (AssignmentState.from_dict, AssignmentState(pointers={"rr": "a"}).to_dict()),
    "decision": (
        Decision.from_dict,
        Decision(lead_id="l", rep_id="a", by="x", reason="r", at=NOW, value=Money.of("1", "USD")).to_dict(),
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
@given(data=JSON)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_json_only_raises_funnelkit_errors(name, data):
    """Whatever JSON arrives, reading it either works or raises a funnelkit error."""
    read, _ = SAMPLES[name]
    with contextlib.suppress(FunnelkitError):
        read(data)


def _paths(value, prefix=()):
    """Every path into a JSON value, for replacing one piece of a valid document."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _replace(value, path, new):
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy


@pytest.mark.parametrize("name", sorted(SAMPLES))
@given(data=st.data(), junk=JSON)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_valid_documents_with_one_piece_replaced(name, data, junk):
    """A valid document with any one piece replaced by junk reads back or is refused with a path."""
    read, sample = SAMPLES[name]
    path = data.draw(st.sampled_from(list(_paths(sample))))
    try:
        read(_replace(sample, path, junk))
    except FunnelkitError as e:
        assert str(e)


ANYTHING = st.one_of(JSON, st.just([object()]), st.just({"default": 5}), st.just(dt.datetime(2026, 1, 1)))


@given(deals=ANYTHING, pipelines=ANYTHING, by=ANYTHING, tz=ANYTHING)
def test_forecast_inputs_only_raise_funnelkit_errors(deals, pipelines, by, tz):
    """Junk in any argument of the forecasting entry points is refused with a funnelkit error."""
    for call in (
        lambda: weighted_forecast(deals, pipelines, by=by, tz=tz),
        lambda: against_targets(deals, pipelines, targets=by, start=tz, end=tz),
        lambda: backtest(deals, by, cutoffs=tz, forecast=lambda _: Money.of("1", "USD"), currency="USD"),
    ):
        with contextlib.suppress(FunnelkitError):
            call()


# --- many threads ------------------------------------------------------------------


def _lifecycle(i):
    """One deal pushed to 'won' with overrides, from one thread; returns its final state."""
    pipeline = default_pipeline()
    deal = Opportunity(
        id=f"o{i}", customer_id="c", owner="r", pipeline="default", stage="contact", created_at=NOW,
        stage_entered_at=NOW, amount=Money.of(str(1000 + i), "USD"),
    )  # fmt: skip
    events = []
    for step in range(1, 8):
        deal, event = advance(
            deal, pipeline, now=NOW + dt.timedelta(days=step), actor="r",
            override=Override(reason="test", by="boss"), expected_version=deal.version,
        )  # fmt: skip
        events.append(event)
    return deal, tuple(events)


def test_eight_threads_give_the_sequential_results():
    """Pipelines, policies and the engine shared by 8 threads: the same results as one thread."""
    sequential = [_lifecycle(i) for i in range(64)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(_lifecycle, range(64)))
    assert parallel == sequential
    team = Team(
        reps=[SalesRep(id=i, name=i.upper(), capacity=50) for i in ("a", *(f"r{k}" for k in range(9)))]
    )
    leads = [Lead(id=f"l{i}", source="web", created_at=NOW, territory="north") for i in range(200)]

    def route(_):
        return assign(leads, team=team, policy=POLICY.or_else(RoundRobin()), now=NOW)

    expected = route(0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(route, range(16)))
    assert all(r.decisions == expected.decisions and r.state == expected.state for r in results)


def test_lost_updates_become_conflicts():
    """
    Eight clients read a deal at version 0 and all try to move it; with versions checked, exactly
    one move lands and seven get ConcurrencyConflict; nothing is silently overwritten.
    """
    pipeline = default_pipeline()
    start = Opportunity(
        id="o", customer_id="c", owner="r", pipeline="default", stage="contact", created_at=NOW,
        stage_entered_at=NOW,
    )  # fmt: skip
    store = {"deal": start, "events": []}
    lock = threading.Lock()
    barrier = threading.Barrier(8)
    outcomes = []

    def client(k):
        seen = store["deal"]  # every client reads version 0
        barrier.wait()
        with lock:  # the host's transaction
            try:
                moved, event = advance(
                    store["deal"], pipeline, now=NOW + dt.timedelta(hours=k + 1), actor=f"c{k}",
                    override=Override(reason="race", by="boss"), expected_version=seen.version,
                )  # fmt: skip
            except ConcurrencyConflict:
                outcomes.append("conflict")
                return
            store["deal"] = moved
            store["events"].append(event)
            outcomes.append("moved")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["moved"]
    assert store["deal"].version == 1
    assert replay(start, store["events"]) == store["deal"]


def test_a_stale_read_is_reported_before_anything_else():
    """A client with an old version hears 'reload', even if its clock is also behind."""
    deal = Opportunity(
        id="o", customer_id="c", owner="r", pipeline="default", stage="contact", created_at=NOW,
        stage_entered_at=NOW + dt.timedelta(hours=5), version=3,
    )  # fmt: skip
    with pytest.raises(ConcurrencyConflict, match="is at version 3, not the expected 2"):
        advance(deal, default_pipeline(), now=NOW, actor="r", expected_version=2)


def test_replay_allows_version_gaps_but_not_going_back():
    """A reassignment counts a version without a stage event: a gap replays; an older version does not."""
    _, events = _lifecycle(0)
    start = Opportunity(
        id="o0", customer_id="c", owner="r", pipeline="default", stage="contact", created_at=NOW,
        stage_entered_at=NOW, amount=Money.of("1000", "USD"),
    )  # fmt: skip
    gapped = [events[0], *(attrs.evolve(e, version=e.version + 1) for e in events[1:])]
    assert replay(start, gapped).version == 8
    stale = attrs.evolve(events[1], version=1)  # the second move claiming the first move's version
    with raises_problems(("events[1].version", "order")):
        replay(start, [events[0], stale])
