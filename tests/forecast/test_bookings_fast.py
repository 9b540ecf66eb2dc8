"""expected_bookings' numpy path held to the pure-Python one (the oracle) on drawn small histories."""

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from three_stages import DAY, PIPE, T0

from funnelkit import Money, Opportunity
from funnelkit.forecast import _bookings, as_of, expected_bookings
from funnelkit.forecast._bookings import _aalen_johansen, _Chain, _Known, _Moves
from funnelkit.stages import AmountChanged, StageChanged, replay

np = pytest.importorskip("numpy")
fast = pytest.importorskip("funnelkit.forecast._bookings_fast")

#: The numpy path's chances are sums of the same terms in another order: this close to the pure ones.
TOLERANCE = 1e-9
NOW_DAY = 200
NEXT = {"a": "b", "b": "c", "c": "won"}


def usd(amount):
    """*amount* US dollars."""
    return Money.of(amount, "USD")


@st.composite
def histories(draw):
    """
    A small history of pipeline p at day 200: deals created on whole or quarter days (so stays tie),
    each moved forward, won or lost after drawn stays, some edited (amount), some still open; a deal
    may be created straight into stage c long ago (a stage no recent stay shows).
    """
    deals, events = [], []
    for i in range(draw(st.integers(0, 30))):
        oid = f"d{i}"
        created = draw(st.sampled_from([0.0, 0.25, 50.0, 150.0, 170.0, 180.0, 185.5, 190.0, 195.0])) + draw(
            st.integers(0, 3)
        )
        stage = draw(st.sampled_from(["a", "a", "a", "c"]))
        start = Opportunity(
            id=oid, customer_id="c", owner=draw(st.sampled_from(["ann", "bob"])), pipeline="p",
            stage=stage, created_at=T0 + created * DAY, stage_entered_at=T0 + created * DAY,
            amount=usd(draw(st.sampled_from([100, 250, 1000, 3333]))),
        )  # fmt: skip
        mine, at, version, amount = [], created, 0, start.amount
        while stage in NEXT and draw(st.integers(0, 3)):
            at += draw(st.sampled_from([1.0, 1.0, 2.5, 7.0, 30.0, 0.25]))
            if at > NOW_DAY:
                break
            version += 1
            if draw(st.integers(0, 4)) == 0:  # an edit of the amount first
                after = usd(draw(st.sampled_from([v for v in (50, 500, 2000) if usd(v) != amount])))
                mine.append(AmountChanged(
                    opportunity_id=oid, at=T0 + at * DAY, actor="ann", version=version, before=amount,
                    after=after,
                ))  # fmt: skip
                amount, version = after, version + 1
            to = draw(st.sampled_from([NEXT[stage], NEXT[stage], NEXT[stage], "lost", "won"]))
            kind = {"won": "win", "lost": "lose"}.get(to, "advance")
            mine.append(StageChanged(
                opportunity_id=oid, pipeline="p", kind=kind, from_stage=stage, to_stage=to,
                at=T0 + at * DAY, actor="ann", version=version,
                time_in_stage=dt.timedelta(0), lost_reason="price" if kind == "lose" else None,
            ))  # fmt: skip
            stage = to
        deals.append(replay(start, mine))
        events += mine
    return deals, events


def run(deals, events, *, numpy, lookback=365, backtests=3):
    """expected_bookings of days 200-291 at day 200, on the numpy path wherever it can, or never."""
    saved = _bookings._FAST_FROM, _bookings._FAST_STAYS
    _bookings._FAST_FROM = _bookings._FAST_STAYS = 0 if numpy else 10**18
    try:
        return expected_bookings(
            deals, events, PIPE, start=T0 + NOW_DAY * DAY, end=T0 + 291 * DAY, now=T0 + NOW_DAY * DAY,
            lookback=lookback * DAY, backtests=backtests,
        )  # fmt: skip
    finally:
        _bookings._FAST_FROM, _bookings._FAST_STAYS = saved


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.25, 1.0, 1.0, 2.5, 3.0, 7.75, 30.0]) | st.floats(0, 60),
            st.sampled_from([None, "won", "lost", "b", "c"]),
        ),
        max_size=40,
    )
)
def test_the_numpy_estimate_is_the_pure_one_float_for_float(observations):
    """Aalen-Johansen with numpy gives the very floats of the pure loop: ties, censoring, empty."""
    assert fast.aalen_johansen(observations) == _aalen_johansen(observations)


def test_the_estimate_by_hand():
    """Four stays (Kalbfleisch & Prentice): 10 won, 10 lost, 20 won, 40 censored -> jumps 1/4, 1/4, 1/4."""
    times, survival, jumps = fast.aalen_johansen([(10.0, "won"), (10.0, "lost"), (20.0, "won"), (40.0, None)])
    assert times == [10.0, 20.0, 40.0]
    assert survival == [0.5, 0.25, 0.25]
    assert jumps == [(10.0, "lost", 0.25), (10.0, "won", 0.25), (20.0, "won", 0.25)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.sampled_from([30, 365]), st.integers(0, 3))
def test_the_numpy_path_is_the_pure_one_to_rounding(history, lookback, backtests):
    """
    On drawn histories (ties, edits, a stage never seen, none, one deal) the numpy path gives each
    open deal's chance to within 1e-9 of the pure path, the same notes, and each line to the cent.
    """
    deals, events = history
    pure = run(deals, events, numpy=False, lookback=lookback, backtests=backtests)
    ours = run(deals, events, numpy=True, lookback=lookback, backtests=backtests)
    assert [(d.opportunity_id, d.note, d.days_in_stage) for d in ours.deals] == [
        (d.opportunity_id, d.note, d.days_in_stage) for d in pure.deals
    ]
    for a, b in zip(ours.deals, pure.deals, strict=True):
        assert math.isclose(a.p_won_within, b.p_won_within, rel_tol=0, abs_tol=TOLERANCE)
        assert abs(a.expected.amount - b.expected.amount) <= 0.01
    assert [(x.component, x.owner, x.month) for x in ours.lines] == [
        (x.component, x.owner, x.month) for x in pure.lines
    ]
    for a, b in zip(ours.lines, pure.lines, strict=True):
        assert abs(a.amount.amount - b.amount.amount) <= 0.01
    assert ours.weights.keys() == pure.weights.keys()
    for k in pure.weights:
        assert math.isclose(ours.weights[k], pure.weights[k], abs_tol=1e-6)
        assert math.isclose(ours.scales[k], pure.scales[k], abs_tol=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.sampled_from([30, 365]))
def test_the_chances_of_every_age_match_won_within(history, lookback):
    """Each open deal's chance in each month, all at once with numpy, is W(t2) - W(t1) of the pure chain."""
    deals, events = history
    now = T0 + NOW_DAY * DAY
    stood = list(as_of(deals, events, now=now))
    known = _Known(stood, events, PIPE, now, lookback * DAY, None)
    chain = known.chain
    chain.grow(100)
    mine = [o for o in stood if o.status.value == "open"]
    ages = [max((now - o.stage_entered_at) / DAY, 0.0) for o in mine]
    notes = [chain.unknown(o.stage, a) for o, a in zip(mine, ages, strict=True)]
    bounds = [(0.0, 0.5), (0.5, 11.0), (11.0, 41.25), (41.25, 99.0)]
    got = fast.chances(chain, mine, ages, notes, bounds)
    for o, a, note, row in zip(mine, ages, notes, got, strict=True):
        for (t1, t2), p in zip(bounds, row, strict=True):
            want = (
                0.0 if note else max(chain.won_within(o.stage, a, t2) - chain.won_within(o.stage, a, t1), 0.0)
            )
            assert math.isclose(p, want, rel_tol=0, abs_tol=TOLERANCE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.sampled_from([30, 365]), st.sampled_from([0, 40, 90, 150, 200]))
def test_the_stays_picked_from_arrays_make_the_very_chain(history, lookback, back):
    """
    At each instant, the chain learned from the stays picked out of arrays is the pure one float for
    float: the same stages in the same order, times, survivals and jumps, and the same first stage.
    """
    deals, events = history
    now = T0 + NOW_DAY * DAY
    stood = list(as_of(deals, events, now=now))
    moves = _Moves(events)
    moves.flat = fast.Stays(stood, moves)
    then = now - back * DAY
    earlier = list(as_of(stood, events, now=then))
    ours = _Known(earlier, (), PIPE, then, lookback * DAY, None, moves=moves)
    pure = _Known(earlier, (), PIPE, then, lookback * DAY, None, moves=_Moves(events))
    assert list(ours.chain.jumps) == list(pure.chain.jumps)
    assert (ours.chain.times, ours.chain.survival, ours.chain.jumps) == (
        pure.chain.times,
        pure.chain.survival,
        pure.chain.jumps,
    )
    assert ours.first == pure.first


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.5, 9.75]) | st.floats(0, 30),
                  st.sampled_from([None, "won", "lost", "b", "c"])),
        max_size=50,
    ),
    st.integers(1, 40),
)  # fmt: skip
def test_the_daily_grid_is_binned_float_for_float(observations, horizon):
    """The chain's daily grid W from numpy's binning of the jumps is the pure grid, float for float."""
    chains = []
    for numpy in (False, True):
        saved = _bookings._FAST_STAYS
        _bookings._FAST_STAYS = 0 if numpy else 10**18
        try:
            chain = _Chain({"a": observations, "b": observations[::2]}, {"a", "b", "c"}, {"won"})
            chain.grow(horizon)
        finally:
            _bookings._FAST_STAYS = saved
        chains.append(chain)
    assert chains[0].w == chains[1].w


def test_a_chain_of_nothing_gives_nothing():
    """No stays: no chances, and no deals no lines, on either path."""
    chain = _Chain({}, {"a", "b", "c"}, {"won"})
    assert fast.chances(chain, [], [], [], [(0.0, 30.0)]) == []
    assert fast.aalen_johansen([]) == ([], [], [])
    assert run([], [], numpy=True).lines == run([], [], numpy=False).lines == ()


def test_without_numpy_the_pure_path_answers(monkeypatch):
    """With numpy missing (the optional module not found), the forecast is the pure path's, exactly."""
    deals = [
        Opportunity(
            id=f"d{i}",
            customer_id="c",
            owner="ann",
            pipeline="p",
            stage="a",
            created_at=T0 + i * DAY,
            stage_entered_at=T0 + i * DAY,
            amount=usd(100 + i),
        )
        for i in range(5)
    ]
    pure = run(deals, [], numpy=False)
    monkeypatch.setattr(_bookings._optional, "numpy", lambda: None)
    assert run(deals, [], numpy=True) == pure
