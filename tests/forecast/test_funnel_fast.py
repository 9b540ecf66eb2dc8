"""
The funnel's columnar path (numpy) held to its exact path, one event at a time (the oracle).

The report must be the same value of the same types (ints, Fractions, timedeltas, Money), with the
same errors; unique_events and the deals' reading must keep today's behaviour, which the loops
copied here define.
"""

import contextlib
import datetime as dt
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from three_stages import DAY, T0, TWO_STAGES, four_deals, move, opp

from _problems import raises_problems
from funnelkit import Money, Opportunity
from funnelkit.forecast import FunnelReport, _funnel, funnel
from funnelkit.stages import MoveKind, StageChanged
from funnelkit.strategies import pipelines

np = pytest.importorskip("numpy")

OTHER = "zz"  # a stage key of no pipeline drawn here (identifiers() never draws it: see _pipeline)
IDS = ("d1", "d2", "d3", "d4", "d5", "d6")


# --- today's loops, copied: the definitions the faster readers are held to ----------------------


def old_unique_events(events, pipeline):
    """unique_events as it was: a set of those seen, one event at a time."""
    from funnelkit import _checks as c

    c.require_iterable(events, "StageChanged", "events")
    seen = set()
    out = []
    for i, e in enumerate(events):
        if not isinstance(e, StageChanged):
            c.require(e, StageChanged, "a StageChanged", f"events[{i}]")
        if (pipeline is None or e.pipeline == pipeline) and e not in seen:
            seen.add(e)
            out.append(e)
    return out


def old_deals_of(opportunities, pipeline):
    """_deals_of as it was: one deal at a time."""
    from funnelkit import _checks as c

    c.require_iterable(opportunities, "Opportunity", "opportunities")
    opps = {}
    for i, o in enumerate(opportunities):
        if not isinstance(o, Opportunity):
            c.require(o, Opportunity, "an Opportunity", f"opportunities[{i}]")
        if o.pipeline == pipeline:
            opps[o.id] = o
    return opps


def old_stage_stats(stage, advanced, lost, entered, times):
    """_stage_stats as it was: the loops that define the sums and ranks."""
    n = advanced + lost
    total = dt.timedelta(0)
    for time, count in times:
        total += time * count
    return _funnel.StageStats(
        stage=stage,
        advanced=advanced,
        lost=lost,
        conversion=Fraction(advanced, n) if n else None,
        loss_rate=Fraction(lost, n) if n else None,
        median_time=_funnel._nearest_rank(times, n, 0.5) if n else None,
        mean_time=total / n if n else None,
        p90_time=_funnel._nearest_rank(times, n, 0.9) if n else None,
        entered=entered,
    )


# --- comparing outcomes, types included ------------------------------------------------------------


def shape(value):
    """*value* with the type of every part spelled out (an np.int64 equals an int; this tells them apart)."""
    if type(value) in {tuple, list}:  # not a record: records are tuples that refuse to iterate
        return (type(value), tuple(shape(v) for v in value))
    if type(value) is dict:
        return (type(value), tuple((shape(k), shape(v)) for k, v in value.items()))
    if attrs.has(type(value)) and not isinstance(value, Money | Opportunity | StageChanged):
        return (
            type(value),
            tuple((f.name, shape(getattr(value, f.name))) for f in attrs.fields(type(value))),
        )
    if isinstance(value, Money):
        return (Money, shape(value.amount), value.currency)
    return (type(value), value)


def outcome(fn, *args):
    """What *fn* gives (its shape) or raises (type, message, problems)."""
    try:
        result = fn(*args)
    except Exception as e:  # noqa: BLE001 - compared, not swallowed
        return ("raised", type(e), str(e), [(p.path, p.code) for p in getattr(e, "problems", ())])
    return ("gave", shape(result))


@contextlib.contextmanager
def without_numpy():
    """funnel() sees no numpy: the exact path answers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_funnel, "_numpy", lambda: None)
        yield


def both_ways(opps, events, pipeline):
    """funnel() with numpy and without, asserted to give (or raise) the same; what it gave."""
    fast = outcome(funnel, opps, events, pipeline)
    with without_numpy():
        exact = outcome(funnel, opps, events, pipeline)
    assert fast == exact
    return fast


# --- drawing deals and histories --------------------------------------------------------------------

USUAL_TIMES = st.one_of(
    st.sampled_from(
        [dt.timedelta(0), DAY, 2 * DAY, dt.timedelta(hours=5), dt.timedelta(days=1, microseconds=1)]
    ),
    st.timedeltas(dt.timedelta(0), dt.timedelta(days=400)),
)
HUGE_TIMES = st.one_of(
    st.timedeltas(dt.timedelta(days=99_990), dt.timedelta(days=100_010)),  # either side of the columns' limit
    st.just(dt.timedelta.max),  # the sum of two leaves timedelta's range
)
TIMES = st.integers(0, 19).flatmap(lambda k: HUGE_TIMES if k == 0 else USUAL_TIMES)
MOMENTS = st.integers(-10, 60).map(lambda d: T0 + d * DAY) | st.datetimes(
    dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@st.composite
def deals(draw, stage_keys):
    """An Opportunity of pipeline p (sometimes q) in one of *stage_keys*, priced in USD (or EUR, or not)."""
    stage = draw(st.sampled_from(stage_keys))
    status = draw(st.sampled_from(["open", "won", "lost"]))
    amount = draw(st.one_of(st.none(), st.integers(0, 10**6).map(lambda n: Money.of(n, "USD"))))
    if amount is not None and draw(st.integers(0, 9)) == 0:
        amount = Money.of(amount.amount, "EUR")
    return Opportunity(
        id=draw(st.sampled_from(IDS)), customer_id="c", owner="ann",
        pipeline=draw(st.sampled_from(["p", "p", "p", "q"])), stage=stage, status=status,
        created_at=(made := draw(MOMENTS)), stage_entered_at=made, amount=amount,
        lost_reason="price" if status == "lost" else None,
    )  # fmt: skip


@st.composite
def moves(draw, stage_keys, open_keys=()):
    """
    A StageChanged of any kind between any two of *stage_keys* (a deal of IDS, pipeline p or q),
    more often from one of *open_keys* and a close, so that deals close more than once.
    """
    kind = draw(st.sampled_from([*MoveKind, MoveKind.WIN, MoveKind.LOSE, MoveKind.ADVANCE]))
    return StageChanged(
        opportunity_id=draw(st.sampled_from(IDS)), pipeline=draw(st.sampled_from(["p", "p", "p", "q"])),
        kind=kind, from_stage=draw(st.sampled_from([*stage_keys, *open_keys, *open_keys])),
        to_stage=draw(st.sampled_from(stage_keys)),
        at=draw(MOMENTS), actor="ann", version=draw(st.integers(1, 4)), time_in_stage=draw(TIMES),
        lost_reason="price" if kind is MoveKind.LOSE else None,
    )  # fmt: skip


@st.composite
def worlds(draw):
    """A drawn pipeline (key p), its deals and a history with repeats, reopens and stray stages."""
    pipeline = draw(pipelines(max_open_stages=4, with_requirements=False))
    assume(OTHER not in {s.key for s in pipeline.stages})
    pipeline = attrs.evolve(pipeline, key="p")
    keys = [s.key for s in pipeline.stages] + [OTHER]
    opps = draw(st.lists(deals(keys), max_size=8))
    events = draw(st.lists(moves(keys, [s.key for s in pipeline.open_stages]), max_size=30))
    if events and draw(st.booleans()):  # a host that stored some events twice
        events += draw(st.lists(st.sampled_from(events), max_size=5))
        events = draw(st.permutations(events))
    return pipeline, opps, events


# --- the properties ---------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(worlds())
def test_columnar_path_is_the_exact_path(world):
    """Any pipeline, deals and history: the same report (or error) with numpy as without it."""
    pipeline, opps, events = world
    both_ways(opps, events, pipeline)
    given_events = _funnel._of_pipeline(_funnel._checked_events(events), "p")
    mine = _funnel._deals_of(opps, "p")
    fast = outcome(_funnel._columnar_report, mine, given_events, pipeline)
    exact = outcome(_funnel._exact_report, mine, _funnel._unique(given_events), pipeline)
    if fast[0] == "gave" and fast[1][0] is type(None):
        return  # the exact path answers these (a time beyond 100,000 days): nothing to compare
    assert fast == exact


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(worlds(), st.data())
def test_merged_partitions_are_one_pass(world, data):
    """Deals split by id (each with its events): the merged reports are the whole one's, numpy or not."""
    pipeline, opps, events = world
    left_ids = data.draw(st.sets(st.sampled_from(IDS)))
    try:
        whole = funnel(opps, events, pipeline)
    except Exception:  # noqa: BLE001 - two currencies: covered by the test above
        return
    parts = []
    for side in (True, False):
        part_opps = [o for o in opps if (o.id in left_ids) is side]
        part_events = [e for e in events if (e.opportunity_id in left_ids) is side]
        parts.append(funnel(part_opps, part_events, pipeline))
    with contextlib.suppress(Exception):  # a velocity over two currencies raises in both
        assert shape(parts[0].merge(parts[1])) == shape(whole)


@given(
    st.lists(
        st.tuples(st.integers(0, 10**12), st.integers(0, 5)).map(
            lambda p: (dt.timedelta(microseconds=p[0]), p[1])
        ),
        max_size=12,
    ),
    st.integers(0, 40),
    st.integers(0, 40),
)
def test_stage_stats_are_the_loops(pairs, advanced, lost):
    """Sums and nearest ranks by accumulate and bisect: the loops' answers, also when counts and n differ."""
    times = tuple(sorted(dict(pairs).items()))
    assert outcome(_funnel._stage_stats, "a", advanced, lost, 3, times) == outcome(
        old_stage_stats, "a", advanced, lost, 3, times
    )


def test_stage_stats_of_an_altered_tally_are_the_loops():
    """An altered tally (counts below zero or not ints, no times, triples) is worked out by the loops."""
    for times in ((), ((DAY, -1), (2 * DAY, 3)), ((DAY, 1.5),), ((DAY, True),), [(DAY, 1)], ((DAY, 1, 0),)):
        assert outcome(_funnel._stage_stats, "a", 1, 1, 0, times) == outcome(
            old_stage_stats, "a", 1, 1, 0, times
        )


def test_a_mean_time_whose_sum_leaves_timedeltas_range_is_still_exact():
    """The loops raised a bare OverflowError; the mean of timedeltas is worked out in microseconds."""
    top = dt.timedelta.max
    stats = _funnel._stage_stats("a", 3, 0, 0, ((top - dt.timedelta(microseconds=1), 1), (top, 2)))
    assert stats.mean_time == top  # (3 * max - 1 us) / 3 rounds to max
    stats = _funnel._stage_stats("a", 2, 0, 0, ((DAY, 1), (top, 1)))
    us = dt.timedelta(microseconds=1)
    assert stats.mean_time == dt.timedelta(microseconds=round(Fraction(top // us + DAY // us, 2)))
    assert outcome(old_stage_stats, "a", 2, 0, 0, ((top, 1), (top, 1)))[:2] == ("raised", OverflowError)
    # half-even, as timedelta / int rounds: 3 us / 2 = 2 us, 5 us / 2 = 2 us
    assert _funnel._mean_time(3, 2) == dt.timedelta(microseconds=3) / 2 == dt.timedelta(microseconds=2)
    assert _funnel._mean_time(5, 2) == dt.timedelta(microseconds=5) / 2 == dt.timedelta(microseconds=2)


@st.composite
def mixed_items(draw):
    """Events of pipelines p and q, some repeated, sometimes with a non-event among them."""
    events = draw(st.lists(moves(["a", "b", "won", "lost"]), max_size=12))
    events += draw(st.lists(st.sampled_from(events), max_size=4)) if events else []
    events = draw(st.permutations(events))
    if draw(st.booleans()):
        events.insert(draw(st.integers(0, len(events))), draw(st.sampled_from([None, "e", 3, ("a",)])))
    return events


@given(mixed_items(), st.sampled_from(["p", "q", None, "r"]), st.sampled_from([list, tuple, iter]))
def test_unique_events_keeps_todays_behaviour(items, pipeline, container):
    """unique_events (the backtest reads it too): the same events in the same order, the same refusals."""
    assert outcome(_funnel.unique_events, container(items), pipeline) == outcome(
        old_unique_events, container(items), pipeline
    )


@given(st.lists(deals(["a", "b", "won", "lost"]), max_size=8), st.sampled_from(["p", "q"]), st.data())
def test_deals_are_read_as_before(opps, pipeline, data):
    """The deals of a pipeline by id (the last of an id, where the first stood), or the same refusal."""
    if opps and data.draw(st.booleans()):
        opps.insert(data.draw(st.integers(0, len(opps))), data.draw(st.sampled_from([None, "o", 1.5])))
    for container in (list, tuple, iter):
        assert outcome(_funnel._deals_of, container(opps), pipeline) == outcome(
            old_deals_of, container(opps), pipeline
        )


def failing_after(items, error):
    """A generator of *items* that then raises *error*."""
    yield from items
    raise error


def test_a_failing_iterator_is_refused_at_its_first_wrong_item_as_before():
    """A generator failing after a non-event: the item is named; after good items, its error passes."""
    good = move("d1", "a", "b", 1, 1, 1)
    with raises_problems(("events[1]", "type")):
        _funnel.unique_events(failing_after([good, "x"], RuntimeError("gone")), None)
    with pytest.raises(RuntimeError, match="gone"):
        _funnel.unique_events(failing_after([good], RuntimeError("gone")), None)
    with raises_problems(("opportunities[0]", "type")):
        funnel(failing_after([None], RuntimeError("gone")), [], TWO_STAGES)


def test_an_endless_iterator_of_junk_is_refused_at_its_first_item():
    """Items are read in chunks, each checked before the next: an endless generator of ints fails at [0]."""
    import itertools

    with raises_problems(("events[0]", "type")):
        _funnel.unique_events(itertools.count(), None)
    with raises_problems(("opportunities[0]", "type")):
        funnel(itertools.count(), [], TWO_STAGES)


@given(mixed_items(), st.integers(1, 4))
def test_items_read_in_small_chunks_are_refused_where_they_stand(items, size):
    """Chunks of 1 to 4 items: a non-event is named by its index in the whole, as one pass names it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_funnel, "_CHUNK", size)
        assert outcome(_funnel.unique_events, iter(items), "p") == outcome(
            old_unique_events, iter(items), "p"
        )


# --- known answers, both ways -----------------------------------------------------------------------


def test_by_hand_both_ways():
    """test_funnel's four deals (one won, two lost, one open): the worked answers, numpy or not."""
    opps, events = four_deals()
    both_ways(opps, events, TWO_STAGES)
    r = funnel(opps, events, TWO_STAGES)
    a, b = r.stages
    assert (a.advanced, a.lost, a.median_time, a.mean_time, a.p90_time) == (
        2, 1, 2 * DAY, dt.timedelta(days=7 / 3), 4 * DAY,
    )  # fmt: skip
    assert (b.conversion, b.median_time, b.p90_time) == (Fraction(1, 2), 3 * DAY, 6 * DAY)
    assert (r.won, r.lost, r.win_rate, r.mean_days_to_win, r.velocity) == (
        1, 2, Fraction(1, 3), 5, Money.of("6.67", "USD"),
    )  # fmt: skip
    assert all(type(x) is int for s in r.stages for x in (s.advanced, s.lost, s.entered))


def test_repeated_events_reopens_and_ties_both_ways():
    """
    o1 lost from a, reopened, won; given newest first and each twice: one win at day 6.  o2 has two
    different version-1 moves (a to b first given): its start is a, its first given close counts.
    """
    reopened = move("o1", "lost", "a", 2, 3, 2, kind="reopen")
    history = [
        move("o1", "a", "lost", 1, 1, 1),
        reopened,
        move("o1", "a", "b", 1, 4, 3),
        move("o1", "b", "won", 2, 6, 4),
    ]
    ties = [move("o2", "a", "won", 1, 2, 1), move("o2", "b", "lost", 1, 3, 1)]
    events = history[::-1] + history + ties
    opps = [opp("o1", "won", 100), opp("o2", "won", 50)]
    r = both_ways(opps, events, TWO_STAGES)
    assert r[0] == "gave"
    report = funnel(opps, events, TWO_STAGES)
    a, b = report.stages
    assert (a.advanced, a.lost, a.entered, b.advanced, b.lost, b.entered) == (2, 1, 3, 1, 1, 1)
    assert (report.won, report.lost, report.mean_days_to_win) == (2, 0, Fraction(6 + 2, 2))
    assert report.tally.won_amounts == (Money.of(150, "USD"),)


def test_no_events_no_deals_and_a_stage_nobody_left_both_ways():
    """Empty input, deals without events, and a stage no deal left: counts, None rates, both ways."""
    assert both_ways([], [], TWO_STAGES)[0] == "gave"
    r = funnel([opp("o1", "a", 5), opp("o2", "b", 5)], [], TWO_STAGES)
    assert both_ways([opp("o1", "a", 5), opp("o2", "b", 5)], [], TWO_STAGES)[0] == "gave"
    assert [(s.entered, s.conversion, s.median_time) for s in r.stages] == [(1, None, None), (1, None, None)]
    assert r.tally.times == ((), ())


def test_won_amounts_in_two_currencies_refuse_both_ways():
    """A USD and a EUR win: the velocity cannot average them, with numpy as without."""
    opps = [opp("o1", "won", 100), opp("o2", "won", 100, "EUR"), opp("o3", "a", 1)]
    events = [move("o1", "a", "won", 2, 2, 1), move("o2", "a", "won", 2, 2, 1)]
    got = both_ways(opps, events, TWO_STAGES)
    assert got[:2] == ("raised", _funnel.CurrencyMismatchError)


def test_a_sum_of_amounts_beyond_thirty_digits_refuses_both_ways():
    """Two wins whose sum has 31 digits before the point: the same refusal of the running sum."""
    big = Decimal("9" * 30)
    opps = [opp("o1", "won", big), opp("o2", "won", big), opp("o3", "a", 1)]
    events = [move("o1", "a", "won", 2, 2, 1), move("o2", "a", "won", 2, 2, 1)]
    got = both_ways(opps, events, TWO_STAGES)
    assert got[0] == "raised"
    assert got[3] == [("amount", "limit")]


def test_events_counted_per_stage_match_a_counter():
    """A bigger history (400 deals): the per-stage counts are what a Counter of the events says."""
    rng = np.random.default_rng(7)
    events, opps = [], []
    for i in range(400):
        oid = f"o{i}"
        opps.append(opp(oid, "a", int(rng.integers(1, 1000))))
        if rng.random() < 0.7:
            dst = "won" if rng.random() < 0.5 else "lost"
            events.append(move(oid, "a", "b", int(rng.integers(0, 9)), 3, 1))
            events.append(move(oid, "b", dst, int(rng.integers(0, 9)), 9, 2))
    both_ways(opps, events, TWO_STAGES)
    r = funnel(opps, events, TWO_STAGES)
    counted = Counter((e.from_stage, e.kind) for e in events)
    assert r.stages[0].advanced == counted["a", MoveKind.ADVANCE]
    assert (r.stages[1].advanced, r.stages[1].lost) == (
        counted["b", MoveKind.WIN],
        counted["b", MoveKind.LOSE],
    )
    assert sum(n for _, n in r.tally.times[1]) == r.stages[1].advanced + r.stages[1].lost
    assert isinstance(r, FunnelReport)


def test_summaries_of_long_times_are_the_loops():
    """
    Long times counted many times: a sum beyond 64 bits is added as Python ints, one beyond timedelta's
    range still gives the exact mean (the loops raised); medians and means agree with the loops' otherwise.
    """
    for days, counts in (([1, 50_000], [3, 15_000]), ([5, 99_999], [1, 20_000]), ([2], [1])):
        stamps = [d * DAY for d in days]
        micros = np.array([d * 86_400_000_000 for d in days], dtype=np.int64)
        summary = _funnel._summary(np, stamps, micros, np.array(counts, dtype=np.int64))
        times = tuple(zip(stamps, counts, strict=True))
        old = outcome(old_stage_stats, "a", sum(counts), 0, 0, times)
        if old[0] == "raised":
            assert old[1] is OverflowError
            total = sum(d * 86_400_000_000 * c for d, c in zip(days, counts, strict=True))
            assert summary[1] == dt.timedelta(microseconds=round(Fraction(total, sum(counts))))
        else:
            stats = old_stage_stats("a", sum(counts), 0, 0, times)
            assert shape(summary) == shape((stats.median_time, stats.mean_time, stats.p90_time))


class Span(dt.timedelta):
    """A timedelta of another type (as pandas' Timedelta is): the exact path keeps it."""


def test_values_the_columns_do_not_number_go_the_exact_way():
    """A kind that is a plain str, a version beyond 64 bits, a timedelta subclass: the exact path answers."""
    from funnelkit._records import new_record

    plain = move("o1", "a", "won", 2, 2, 1)
    fields = [getattr(plain, f.name) for f in attrs.fields(StageChanged)]
    fields[[f.name for f in attrs.fields(StageChanged)].index("kind")] = "win"
    unchecked = new_record(StageChanged, tuple(fields))
    huge_version = attrs.evolve(move("o2", "a", "won", 2, 2, 1), version=2**70)
    subclassed = attrs.evolve(move("o3", "a", "b", 2, 2, 1), time_in_stage=Span(days=2))
    opps = [opp("o1", "won", 10), opp("o2", "won", 20), opp("o3", "b", 30)]
    for events in ([unchecked], [huge_version], [subclassed]):
        mine = _funnel._deals_of(opps, "p")
        assert _funnel._columnar_report(mine, events, TWO_STAGES) is None
        both_ways(opps, events, TWO_STAGES)
    r = funnel(opps, [subclassed], TWO_STAGES)
    assert type(r.tally.times[0][0][0]) is Span


def test_days_to_win_beyond_timedeltas_range_are_exact():
    """300 deals made in year 2 and won in year 9998: the days add up past timedelta's range, exactly."""
    made, won = dt.datetime(2, 1, 1, tzinfo=dt.UTC), dt.datetime(9998, 1, 1, tzinfo=dt.UTC)
    opps = [attrs.evolve(opp(f"o{i}", "won", 1), created_at=made, stage_entered_at=made) for i in range(300)]
    events = [attrs.evolve(move(f"o{i}", "a", "won", 1, 0, 1), at=won) for i in range(300)]
    both_ways(opps, events, TWO_STAGES)
    r = funnel(opps, events, TWO_STAGES)
    assert r.tally.days_to_win == 300 * (won - made).days
    assert r.mean_days_to_win == (won - made).days


def test_a_bad_item_is_refused_without_reading_far_past_it():
    """Chunks grow from 64: a bad event at 1,000 of 200,000 is refused having read about twice as many."""
    pulled = []

    def events():
        good = move("o1", "a", "b", 1, 1, 1)
        for i in range(200_000):
            pulled.append(i)
            yield good if i != 1_000 else "not an event"

    with raises_problems(("events[1000]", "type")):
        _funnel.unique_events(events(), None)
    assert 1_001 <= len(pulled) <= 2 * 1_000 + 64 + 64
