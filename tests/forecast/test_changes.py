"""pipeline_changes: each deal at the start against the end, worked by hand and conserved."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import DAY, PIPE, T0, move, opp

from funnelkit import Money, ValidationError
from funnelkit.forecast import CHANGES, PipelineChanges, pipeline_changes


def deal(oid, stage, *, created=0, entered=0, amount=100, currency="USD"):
    """A deal of pipeline p created on day *created*, in *stage* since day *entered*."""
    o = opp(oid, stage, amount, currency)
    return attrs.evolve(o, created_at=T0 + created * DAY, stage_entered_at=T0 + entered * DAY)


def book():
    """Seven deals, one of each kind of change between day 10 and day 20 (worked out beside each)."""
    deals = [
        deal("adv", "c", entered=12),  # a on day 0 -> b day 5 -> c day 12: advanced (a at 10? no: b)
        deal("back", "a", entered=15),  # a -> b day 5 -> a day 15: moved back
        deal("same", "b", entered=5),  # a -> b day 5: unchanged
        deal("won", "won", entered=18, amount=300),  # b day 5 -> won day 18
        deal("lost", "lost", entered=11, amount=50),  # a -> lost day 11
        deal("new", "a", created=14, entered=14, amount=70),  # created day 14: added
        deal("re", "a", entered=13),  # lost day 2, reopened day 13: reopened
        deal("gone", "lost", entered=3),  # lost day 3: closed at both, left out
    ]
    events = [
        move("adv", "a", "b", 5, 5, 1),
        move("adv", "b", "c", 7, 12, 2),
        move("back", "a", "b", 5, 5, 1),
        move("back", "b", "a", 10, 15, 2, kind="back"),
        move("same", "a", "b", 5, 5, 1),
        move("won", "a", "b", 5, 5, 1),
        move("won", "b", "won", 13, 18, 2),
        move("lost", "a", "lost", 11, 11, 1),
        move("re", "a", "lost", 2, 2, 1),
        move("re", "lost", "a", 11, 13, 2, kind="reopen"),
        move("gone", "a", "lost", 3, 3, 1),
    ]
    return deals, events


def test_each_kind_of_change_worked_by_hand():
    """Day 10 to day 20: every deal that was open at either instant, with how it moved."""
    deals, events = book()
    report = pipeline_changes(deals, events, PIPE, start=T0 + 10 * DAY, end=T0 + 20 * DAY)
    got = [(d.opportunity_id, d.change, d.stage_before, d.stage_after) for d in report.deals]
    assert got == [
        ("adv", "advanced", "b", "c"),
        ("back", "moved_back", "b", "a"),
        ("same", "unchanged", "b", "b"),
        ("won", "won", "b", "won"),
        ("lost", "lost", "a", "lost"),
        ("new", "added", None, "a"),
        ("re", "reopened", "lost", "a"),
    ]
    totals = {t.change: (t.deals, t.amounts) for t in report.totals}
    assert totals["won"] == (1, (Money.of(300, "USD"),))
    assert totals["added"] == (1, (Money.of(70, "USD"),))
    assert [t.change for t in report.totals] == list(CHANGES)
    assert repr(report) == (
        "<PipelineChanges: p, 2026-01-15 to 2026-01-25: 1 added, 1 advanced, 1 moved back, 1 unchanged, "
        "1 won, 1 lost, 1 reopened>"
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 25), st.integers(1, 25))
def test_every_deal_open_at_either_instant_is_counted_once(a, span):
    """Whatever the window: the deals listed are exactly those open at the start or the end, each once."""
    deals, events = book()
    start, end = T0 + a * DAY, T0 + (a + span) * DAY
    report = pipeline_changes(deals, events, PIPE, start=start, end=end)
    from funnelkit.forecast import as_of

    open_ids = {o.id for now in (start, end) for o in as_of(deals, events, now=now) if o.is_open}
    listed = [d.opportunity_id for d in report.deals]
    assert sorted(listed) == sorted(set(listed))
    assert open_ids <= set(listed)
    # the others were made and closed inside the window
    assert set(listed) - open_ids <= {d.opportunity_id for d in report.deals if d.change == "added"}
    assert sum(t.deals for t in report.totals) == len(report.deals)
    total = sum((d.amount.amount for d in report.deals if d.amount is not None), start=0)
    assert sum(sum(m.amount for m in t.amounts) for t in report.totals) == total


@given(st.integers(0, 8))
def test_partitions_merge_to_the_whole(cut):
    """The deals split in two (each with its events), reported apart and merged: the report of all."""
    deals, events = book()
    window = {"start": T0 + 10 * DAY, "end": T0 + 20 * DAY}
    ids = {d.id for d in deals[:cut]}
    left = pipeline_changes(deals[:cut], [e for e in events if e.opportunity_id in ids], PIPE, **window)
    right = pipeline_changes(deals[cut:], [e for e in events if e.opportunity_id not in ids], PIPE, **window)
    assert left.merge(right) == pipeline_changes(deals, events, PIPE, **window)
    with pytest.raises(ValidationError) as info:
        left.merge(left) if left.deals else right.merge(right)
    assert [(p.path, p.code) for p in info.value.problems] == [("other", "duplicate")]


def test_bad_windows_and_merges_are_refused():
    """An end not after the start, a naive instant, reports of other windows: refused by name."""
    deals, events = book()
    with pytest.raises(ValidationError) as info:
        pipeline_changes(deals, events, PIPE, start=T0 + DAY, end=T0 + DAY)
    assert [(p.path, p.code) for p in info.value.problems] == [("end", "order")]
    with pytest.raises(ValidationError) as info:
        pipeline_changes(deals, events, PIPE, start=dt.datetime(2026, 1, 5), end=T0 + DAY)
    assert [p.path for p in info.value.problems] == ["start"]
    a = pipeline_changes(deals, events, PIPE, start=T0, end=T0 + DAY)
    b = pipeline_changes(deals, events, PIPE, start=T0, end=T0 + 2 * DAY)
    with pytest.raises(ValidationError) as info:
        a.merge(b)
    assert [(p.path, p.code) for p in info.value.problems] == [("other.end", "conflict")]
    assert isinstance(a, PipelineChanges)
