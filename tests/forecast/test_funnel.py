"""Tests for funnel analytics, worked by hand."""

import datetime as dt
from fractions import Fraction

from three_stages import DAY, T0, TWO_STAGES, four_deals, move, opp

from _problems import raises_problems
from funnelkit import Money, Opportunity
from funnelkit.forecast import funnel
from funnelkit.stages import StageChanged

PIPE = TWO_STAGES


def test_funnel_by_hand():
    """Four deals: one won, two lost, one open.  Stage a: 2 of 3 forward; b: 1 of 2; win rate 1/3."""
    opps, events = four_deals()
    r = funnel(opps, events, PIPE)
    a, b = r.stages
    assert (a.advanced, a.lost, a.conversion, a.loss_rate) == (2, 1, Fraction(2, 3), Fraction(1, 3))
    assert (a.median_time, a.mean_time, a.p90_time) == (2 * DAY, dt.timedelta(days=7 / 3), 4 * DAY)
    assert (b.conversion, b.median_time, b.p90_time) == (Fraction(1, 2), 3 * DAY, 6 * DAY)
    assert (r.won, r.lost, r.win_rate) == (1, 2, Fraction(1, 3))
    assert (r.mean_days_to_win, r.mean_days_to_lose) == (5, Fraction(11, 2))
    # velocity = 1 open deal x 100 average win x 1/3 win rate / 5 days = 6.67 a day
    assert (r.open_deals, r.velocity) == (1, Money.of("6.67", "USD"))


def test_empty_history():
    """No history: rates and times are unknown, not zero."""
    r = funnel([opp("o4", "a", 50)], [], PIPE)
    assert r.stages[0].conversion is None
    assert (r.win_rate, r.velocity, r.open_deals) == (None, None, 1)


def test_only_reports_made_by_funnel_merge():
    """A report built by hand has no tally behind it: merging it either way is refused by name."""
    import attrs

    from funnelkit.forecast import FunnelReport

    made = funnel([], [], PIPE)
    by_hand = FunnelReport(
        **{f.name: getattr(made, f.name) for f in attrs.fields(FunnelReport) if f.name != "tally"}
    )
    for left, right in ((made, by_hand), (by_hand, made)):
        with raises_problems(("other", "state")):
            left.merge(right)


def test_merge_by_hand_keeps_no_deals():
    """
    The by-hand funnel split in two (o1, o2 | o3, o4) merges back to it: stage a's times 2, 4 | 1
    give the median 2 and p90 4 of 1, 2, 4; the report holds counts and sums, not the deals.
    """
    opps, events = four_deals()
    left = funnel(opps[:2], events[:4], PIPE)
    right = funnel(opps[2:], events[4:], PIPE)
    whole = funnel(opps, events, PIPE)
    assert left.merge(right) == whole == right.merge(left)
    a = whole.stages[0]
    assert (a.median_time, a.p90_time, a.mean_time) == (2 * DAY, 4 * DAY, dt.timedelta(days=7 / 3))
    assert whole.tally.times[0] == ((DAY, 1), (2 * DAY, 1), (4 * DAY, 1))
    assert (whole.tally.days_to_win, whole.tally.dated_wins, whole.tally.won_amounts) == (
        5,
        1,
        (Money.of(100, "USD"),),
    )
    assert not any(isinstance(v, Opportunity | StageChanged) for v in vars_of(whole))


def vars_of(report):
    """Every value held by *report* and its tally, flattened one level."""
    import attrs

    out = []
    for holder in (report, report.tally):
        for f in attrs.fields(type(holder)):
            value = getattr(holder, f.name)
            out.extend(value if isinstance(value, tuple) else [value])
    return out


def test_merge_after_a_trip_through_json():
    """A report written as a document and read back still merges, to the same report as before."""
    import json

    from funnelkit import from_dict, to_dict
    from funnelkit.forecast import FunnelReport

    left = funnel([opp("o1", "won", 100)], [move("o1", "a", "won", 2, 2, 1)], PIPE)
    right = funnel([opp("o2", "a", 50)], [], PIPE)
    back = from_dict(FunnelReport, json.loads(json.dumps(to_dict(left))))
    assert back == left
    assert back.merge(right) == left.merge(right)
    assert json.loads(json.dumps(to_dict(left)))["tally"]["times"][0] == [["P2D", 1]]


def test_merge_refuses_another_pipeline_or_stages():
    """Reports of another pipeline key, or other open stages, do not merge: the field is named."""
    import attrs
    from three_stages import PIPE as THREE

    mine = funnel([], [], PIPE)
    other_key = funnel([], [], attrs.evolve(PIPE, key="q"))
    with raises_problems(("other.pipeline", "conflict")):
        mine.merge(other_key)
    with raises_problems(("other.stages", "conflict")):
        mine.merge(funnel([], [], THREE))


def test_merge_refuses_won_amounts_in_two_currencies_as_one_pass_does():
    """A USD win in one part and a EUR win in the other: the merged velocity cannot average them."""
    import pytest

    from funnelkit import CurrencyMismatchError

    euro = attrs_evolve(opp("o2", "won", 100), amount=Money.of(100, "EUR"))
    left = funnel([opp("o1", "won", 100), opp("o3", "a", 1)], [move("o1", "a", "won", 2, 2, 1)], PIPE)
    right = funnel([euro], [move("o2", "a", "won", 2, 2, 1)], PIPE)
    with pytest.raises(CurrencyMismatchError):
        funnel([opp("o1", "won", 100), opp("o3", "a", 1), euro], [
            move("o1", "a", "won", 2, 2, 1), move("o2", "a", "won", 2, 2, 1)], PIPE)  # fmt: skip
    with pytest.raises(CurrencyMismatchError):
        left.merge(right)


def test_velocity_averages_wins_over_days():
    """
    Won: w1 (300) on day 2, w2 (600) on day 5; lost: l1 on day 1; open: o1, o2, o3.  Win rate 2/3,
    average win 450, mean days to win 7/2: velocity = 3 x 450 x 2/3 / 3.5 = 257.142... -> 257.14.
    An event of another pipeline (w1 "lost" there) is not this funnel's.
    """
    import pytest

    from funnelkit import CurrencyMismatchError

    opps = [opp("w1", "won", 300), opp("w2", "won", 600), opp("l1", "lost", 80)]
    opps += [opp(f"o{i}", "a", 10) for i in (1, 2, 3)]
    elsewhere = StageChanged(
        opportunity_id="w1", pipeline="q", kind="lose", from_stage="b", to_stage="lost", at=T0 + 9 * DAY,
        actor="ann", version=9, time_in_stage=DAY, lost_reason="price",
    )  # fmt: skip
    events = [
        move("w1", "a", "b", 1, 1, 1),
        move("w1", "b", "won", 1, 2, 2),
        move("w2", "a", "b", 2, 2, 1),
        move("w2", "b", "won", 3, 5, 2),
        move("l1", "a", "lost", 1, 1, 1),
        elsewhere,
    ]
    r = funnel(opps, events, PIPE)
    assert (r.won, r.lost, r.win_rate, r.mean_days_to_win, r.mean_days_to_lose) == (
        2,
        1,
        Fraction(2, 3),
        Fraction(7, 2),
        1,
    )
    assert (r.open_deals, r.velocity) == (3, Money.of("257.14", "USD"))
    euro = attrs_evolve(opps[1], amount=Money.of(600, "EUR"))
    with pytest.raises(CurrencyMismatchError) as e:
        funnel([opps[0], euro, *opps[2:]], events, PIPE)
    assert (
        str(e.value)
        == "cannot average EUR and USD: amounts are in different currencies; convert one of them first"
    )


def attrs_evolve(o, **changes):
    """*o* with *changes*."""
    import attrs

    return attrs.evolve(o, **changes)


def test_a_reopened_deal_counts_by_its_last_close_in_any_event_order():
    """
    o1 is lost from a (day 1), reopened (day 3), moved to b (day 4) and won (day 6).  Given newest
    first, it still counts once, as a win at day 6; a has one deal forward and one lost, and was
    entered twice (its start and the reopen).
    """
    reopened = StageChanged(
        opportunity_id="o1", pipeline="p", kind="reopen", from_stage="lost", to_stage="a", at=T0 + 3 * DAY,
        actor="ann", version=2, time_in_stage=2 * DAY,
    )  # fmt: skip
    events = [
        move("o1", "a", "lost", 1, 1, 1),
        reopened,
        move("o1", "a", "b", 1, 4, 3),
        move("o1", "b", "won", 2, 6, 4),
    ]
    for given in (events, events[::-1]):
        r = funnel([opp("o1", "won", 100)], given, PIPE)
        a, b = r.stages
        assert (a.advanced, a.lost, a.entered, b.advanced, b.entered) == (1, 1, 2, 1, 1)
        assert (r.won, r.lost, r.win_rate, r.mean_days_to_win, r.mean_days_to_lose) == (1, 0, 1, 6, None)


def test_no_velocity_without_amounts_or_time():
    """A win at the instant the deal was created has no days to divide by; wins without amounts no size."""
    instant = funnel([opp("o1", "won", 100), opp("o2", "a", 50)], [move("o1", "a", "won", 0, 0, 1)], PIPE)
    assert (instant.won, instant.mean_days_to_win, instant.open_deals, instant.velocity) == (1, 0, 1, None)
    unsized = Opportunity(
        id="o3", customer_id="c", owner="ann", pipeline="p", stage="won", status="won", created_at=T0,
        stage_entered_at=T0,
    )  # fmt: skip
    r = funnel([unsized, opp("o2", "a", 50)], [move("o3", "a", "won", 2, 2, 1)], PIPE)
    assert (r.won, r.mean_days_to_win, r.velocity) == (1, 2, None)
