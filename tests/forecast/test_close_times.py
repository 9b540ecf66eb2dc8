"""time_to_close: the chain of moves and each stage's stays played forward, against answers by hand."""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import Opportunity, ValidationError
from funnelkit.forecast import CloseTimes, chain_from_events, close_dates, time_to_close
from funnelkit.stages import Pipeline, Stage, StageChanged

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def pipe(*, backward=False):
    """Stages a and b (open), won and lost; a deal may close from a (a skip)."""
    return Pipeline(
        key="p",
        label="P",
        allow_skip=True,
        allow_backward=backward,
        stages=[
            Stage(key="a", label="A", probability="0.3"),
            Stage(key="b", label="B", probability="0.6"),
            Stage(key="won", label="W", probability=1, outcome="won"),
            Stage(key="lost", label="L", probability=0, outcome="lost"),
        ],
    )


def move(i, src, dst, days, *, at=T0):
    """Deal d<i> leaving *src* for *dst* after *days* days there."""
    kind = {"won": "win", "lost": "lose"}.get(dst, "back" if (src, dst) == ("b", "a") else "advance")
    return StageChanged(
        opportunity_id=f"d{i}", pipeline="p", kind=kind, from_stage=src, to_stage=dst, at=at,
        actor="ann", version=1, time_in_stage=days * DAY, lost_reason="price" if kind == "lose" else None,
    )  # fmt: skip


def open_deal(i, stage, since):
    """An open deal in *stage* since *since*."""
    return Opportunity(
        id=f"o{i}", customer_id="c", owner="ann", pipeline="p", stage=stage, created_at=since,
        stage_entered_at=since,
    )  # fmt: skip


def test_a_straight_path_of_fixed_stays_takes_their_sum():
    """Every deal goes a (2 days) -> b (5 days) -> won: 7 days from a, 5 from b, at every quantile."""
    events = [move(i, "a", "b", 2) for i in range(4)] + [move(i, "b", "won", 5) for i in range(4)]
    report = time_to_close(events, pipe(), rng=1, trials=200, smoothing=0)
    a, b = report.stage("a"), report.stage("b")
    assert (a.p_won, b.p_won) == (Fraction(1), Fraction(1))
    assert (a.p10, a.p50, a.p90, a.mean, a.expected, a.p50_won) == (7 * DAY,) * 6
    assert (b.p10, b.p50, b.p90, b.mean, b.expected) == (5 * DAY,) * 5
    assert report.beyond == 0
    assert repr(report) == "<CloseTimes: 2 stages, 200 trials each; beyond the data 0.0%>"


def test_loops_back_add_their_expected_visits():
    """
    From b, half the deals go back to a: each deal visits a and b twice on average (a geometric
    number of rounds, mean 1 / (1/2)), so with one-day stays it closes in 4 days on average.
    """
    events = [move(i, "a", "b", 1) for i in range(4)]
    events += [move(i, "b", "a", 1) for i in range(2)] + [move(i, "b", "won", 1) for i in range(2, 4)]
    p = pipe(backward=True)
    report = time_to_close(events, p, rng=3, trials=20_000, smoothing=0)
    a = report.stage("a")
    assert a.expected == 4 * DAY  # N = (I - Q)^-1: two visits each, Grinstead & Snell th. 11.4
    assert abs(a.mean - 4 * DAY) < dt.timedelta(hours=2)  # 20,000 trials: standard error ~0.5 h
    assert a.p10 == 2 * DAY  # half close in the first round of two days
    assert a.p90 == 8 * DAY  # 15/16 by the fourth round (7/8 by the third): far from a coin flip
    assert chain_from_events(events, p, smoothing=0).probability("a", "won") == a.p_won == 1


def test_stays_under_way_are_counted_censored():
    """
    Stays of 1, 2 and 3 days ended, two under way for 10 days: Kaplan-Meier puts 1/5 on each ended
    stay and leaves 2/5 beyond 3 days, drawn as the longest seen (10 days): a mean stay of 5.2 days.
    """
    events = [move(i, "a", "won", d) for i, d in enumerate((1, 2, 3))]
    events += [move(9, "b", "won", 1)]
    now = T0 + 30 * DAY
    deals = [open_deal(i, "a", now - 10 * DAY) for i in range(2)]
    report = time_to_close(events, pipe(), rng=5, trials=20_000, open_deals=deals, now=now, smoothing=0)
    a = report.stage("a")
    assert a.expected == dt.timedelta(days=5, hours=4, minutes=48)  # 1/5 (1 + 2 + 3) + 2/5 x 10 days
    assert a.p90 == 10 * DAY
    # 2/5 of the stays in a are beyond the data, none in b (every stay there ended): 1/5 of all drawn
    assert abs(report.beyond - 0.2) < 0.01
    without = time_to_close(events, pipe(), rng=5, trials=2_000, smoothing=0).stage("a")
    assert without.expected == 2 * DAY  # the ended stays alone: shorter than they are


def test_the_same_seed_gives_the_same_figures():
    """A seed, or a random.Random in the same state: the same report; another seed, other draws."""
    events = [move(i, "a", "b", i % 5 + 1) for i in range(20)] + [
        move(i, "b", "won", i % 3 + 1) for i in range(20)
    ]
    first = time_to_close(events, pipe(), rng=11, trials=500)
    assert time_to_close(events, pipe(), rng=random.Random(11), trials=500) == first
    assert time_to_close(events, pipe(), rng=12, trials=500) != first
    assert isinstance(first, CloseTimes)
    assert [r["stage"] for r in first.to_records()] == ["a", "b"]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["b", "won", "lost"]), st.integers(0, 30)), min_size=1, max_size=20),
    st.lists(st.tuples(st.sampled_from(["won", "lost"]), st.integers(0, 30)), min_size=1, max_size=20),
    st.integers(0, 2**32),
)
def test_quantiles_are_ordered_and_within_the_stays_seen(from_a, from_b, seed):
    """p10 <= p50 <= p90; no trial closes sooner than the shortest path or later than the trials allow."""
    events = [move(i, "a", dst, d) for i, (dst, d) in enumerate(from_a)]
    events += [move(100 + i, "b", dst, d) for i, (dst, d) in enumerate(from_b)]
    report = time_to_close(events, pipe(), rng=seed, trials=300)
    for row in report.rows:
        assert row.p10 <= row.p50 <= row.p90
        assert dt.timedelta(0) <= row.p10
        assert 0 <= row.p_won <= 1
    longest_b = max(d for _, d in from_b) * DAY
    assert report.stage("b").p90 <= longest_b


def test_bad_arguments_are_refused_by_name():
    """A stage never left nor open, open deals without now, too many trials, a stage not open."""
    events = [move(1, "a", "won", 2)]
    with pytest.raises(ValidationError) as info:
        time_to_close(events, pipe(), rng=1)
    assert [(p.path, p.code) for p in info.value.problems] == [("events", "empty")]
    assert "'b'" in info.value.problems[0].message
    events.append(move(2, "b", "won", 1))
    with pytest.raises(ValidationError) as info:
        time_to_close(events, pipe(), rng=1, open_deals=[open_deal(1, "a", T0)])
    assert [(p.path, p.code) for p in info.value.problems] == [("now", "missing")]
    with pytest.raises(ValidationError) as info:
        time_to_close(events, pipe(), rng=1, trials=100_001)
    assert [(p.path, p.code) for p in info.value.problems] == [("trials", "range")]
    with pytest.raises(ValidationError) as info:
        time_to_close(events, pipe(), rng=1, open_deals=[open_deal(1, "a", T0 + DAY)], now=T0)
    assert [(p.path, p.code) for p in info.value.problems] == [("open_deals[0].stage_entered_at", "order")]
    with pytest.raises(ValidationError) as info:
        time_to_close(events, pipe(), rng=1, trials=10).stage("won")
    assert [(p.path, p.code) for p in info.value.problems] == [("key", "choice")]


def test_a_chain_that_almost_never_closes_is_refused():
    """A thousand moves back for each close: the simulation stops at its limit instead of running on."""
    events = [move(i, "a", "b", 1) for i in range(1000)]
    events += [move(i, "b", "a", 1) for i in range(999)] + [move(5000, "b", "won", 1)]
    with pytest.raises(ValidationError) as info:
        time_to_close(events, pipe(backward=True), rng=1, trials=100_000, smoothing=0)
    assert [(p.path, p.code) for p in info.value.problems] == [("trials", "limit")]


def test_a_deal_in_a_path_of_fixed_stays_closes_on_a_date_worked_by_hand():
    """Stays of 3 days in a, 5 in b: a deal 1 day into a closes 2 + 5 days from now, at every quantile."""
    events = [move(i, "a", "b", 3) for i in range(4)] + [move(i, "b", "won", 5) for i in range(4)]
    now = T0 + 40 * DAY
    deal = open_deal(1, "a", now - DAY)
    (row,) = close_dates([deal], events, pipe(), now=now, rng=2, trials=300, smoothing=0).rows
    assert (row.opportunity_id, row.stage, row.p_won) == ("o1", "a", 1)
    assert row.p10 == row.p50 == row.p90 == row.p50_won == now + 7 * DAY


def test_a_deal_older_than_every_stay_seen_is_due_now():
    """Ten days into a when no stay there lasted more than 3: the rest of its stay is nothing (beyond)."""
    events = [move(i, "a", "won", d) for i, d in enumerate((1, 2, 3))] + [move(9, "b", "won", 1)]
    now = T0 + 40 * DAY
    deal = open_deal(1, "a", now - 10 * DAY)
    report = close_dates([deal], events, pipe(), now=now, rng=2, trials=100, smoothing=0)
    (row,) = report.rows
    assert row.p10 == row.p90 == now
    assert report.beyond == 1
    assert repr(report).startswith("<DealCloses: 1 deal at 2026-02-14T00:00:00+00:00")


def test_deals_not_open_or_of_another_pipeline_are_left_out():
    """A won deal and one of another pipeline have no close ahead in this pipeline: no row."""
    events = [move(i, "a", "b", 3) for i in range(4)] + [move(i, "b", "won", 5) for i in range(4)]
    now = T0 + 40 * DAY
    won = Opportunity(
        id="w", customer_id="c", owner="ann", pipeline="p", stage="won", status="won", created_at=T0,
        stage_entered_at=T0 + DAY,
    )  # fmt: skip
    other = Opportunity(
        id="x", customer_id="c", owner="ann", pipeline="q", stage="a", created_at=T0, stage_entered_at=T0
    )
    deals = [won, open_deal(1, "b", now - DAY), other]
    report = close_dates(deals, events, pipe(), now=now, rng=2, trials=50, smoothing=0)
    assert [(r.opportunity_id, r.p50) for r in report.rows] == [("o1", now + 4 * DAY)]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 30), min_size=1, max_size=12),
    st.lists(st.integers(0, 40), min_size=1, max_size=6),
    st.integers(0, 2**32),
)
def test_dates_are_ordered_and_not_before_now(stays, ages, seed):
    """p10 <= p50 <= p90, none before now; an older deal in a never closes sooner than a younger one."""
    events = [move(i, "a", "won", d) for i, d in enumerate(stays)] + [move(99, "b", "won", 1)]
    now = T0 + 60 * DAY
    deals = [open_deal(i, "a", now - age * DAY) for i, age in enumerate(ages)]
    report = close_dates(deals, events, pipe(), now=now, rng=seed, trials=200)
    for row in report.rows:
        assert now <= row.p10 <= row.p50 <= row.p90
        # no stay longer than the longest seen in a (ended or under way), then b's one day at most
        assert row.p90 <= now + (max(stays + ages) + 1) * DAY
    assert len(report.rows) == len(deals)


def test_too_many_deal_trials_are_refused():
    """Ten thousand and one deals at a thousand trials each pass the limit: refused, naming trials."""
    events = [move(1, "a", "won", 2), move(2, "b", "won", 1)]
    deals = [open_deal(i, "a", T0) for i in range(10_001)]
    with pytest.raises(ValidationError) as info:
        close_dates(deals, events, pipe(), now=T0 + DAY, rng=1)
    assert [(p.path, p.code) for p in info.value.problems] == [("trials", "limit")]


def test_the_chance_of_booking_inside_a_window():
    """
    Fixed stays: the deal closes, won, exactly 7 days from now; half the deals leaving b are lost, so
    a deal in b wins inside a window holding its close about half the time.
    """
    events = [move(i, "a", "b", 3) for i in range(4)] + [move(i, "b", "won", 5) for i in range(4)]
    now = T0 + 40 * DAY
    deal = open_deal(1, "a", now - DAY)

    def within(start, end, evs=events, d=deal):
        rows = close_dates(
            [d], evs, pipe(), now=now, rng=4, trials=200, smoothing=0, window=(start, end)
        ).rows
        return rows[0].p_won_within

    assert within(now + 6 * DAY, now + 8 * DAY) == 1
    assert within(now, now + 7 * DAY) == 0  # the end is not in the window
    assert within(now + 7 * DAY, now + 30 * DAY) == 1
    half = events + [move(10 + i, "b", "lost", 5) for i in range(4)]
    p = within(now, now + 30 * DAY, half, open_deal(2, "b", now - DAY))
    assert abs(p - 0.5) < 0.1  # 200 trials: standard error 0.035
    assert close_dates([deal], events, pipe(), now=now, rng=4, trials=10).rows[0].p_won_within is None


def test_a_bad_window_is_refused_by_name():
    """Not a pair, a naive time, an end not after the start: each refused at window."""
    events = [move(1, "a", "won", 2), move(2, "b", "won", 1)]
    deal = open_deal(1, "a", T0)
    cases = {
        (T0,): ("window", "type"),
        (T0.replace(tzinfo=None), T0 + DAY): ("window[0]", "timezone"),
        (T0 + DAY, T0 + DAY): ("window", "order"),
    }
    for window, expected in cases.items():
        with pytest.raises(ValidationError) as info:
            close_dates([deal], events, pipe(), now=T0 + DAY, rng=1, trials=10, window=window)
        assert [(p.path, p.code) for p in info.value.problems] == [expected]


def test_times_past_timedeltas_range_are_refused_by_name():
    """Stays of 999,999,000 days, two of them to a close: past timedelta's range, refused at events."""
    events = [move(1, "a", "b", 999_999_000), move(2, "b", "won", 999_999_000)]
    with pytest.raises(ValidationError) as info:
        time_to_close(events, pipe(), rng=1, trials=10, smoothing=0)
    assert [(p.path, p.code) for p in info.value.problems] == [("events", "range")]


def test_one_endless_walk_is_stopped_inside_it(monkeypatch):
    """A chain that closes once in a hundred million moves: stopped at the limit within the first walk."""
    from funnelkit.forecast import _close_times

    monkeypatch.setattr(_close_times, "MAX_MOVES", 50_000)
    events = [move(i, "a", "b", 1) for i in range(10)] + [move(i, "b", "a", 1) for i in range(10)]
    with pytest.raises(ValidationError) as info:
        time_to_close(events, pipe(backward=True), rng=1, trials=1, smoothing=Fraction(1, 10**8))
    assert [(p.path, p.code) for p in info.value.problems] == [("trials", "limit")]
