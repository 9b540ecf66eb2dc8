"""A stage history table (deal, stage, time) as the events the engine would have emitted."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from _problems import raises_problems
from funnelkit import Opportunity, ValidationError
from funnelkit.forecast import funnel
from funnelkit.stages import MoveKind, default_pipeline, events_from_history, replay

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PIPELINE = default_pipeline()


def row(deal, stage, day, **more):
    return {"opportunity_id": deal, "stage": stage, "at": T0 + day * DAY, **more}


HISTORY = [
    row("won-1", "contact", 0),
    row("won-1", "needs_confirmed", 3),
    row("won-1", "proposal", 10),
    row("won-1", "won", 30, actor="ann"),
    row("lost-1", "contact", 1),
    row("lost-1", "lost", 4, lost_reason="price"),
    row("back-1", "contact", 2),
    row("back-1", "needs_confirmed", 5),
    row("back-1", "contact", 9),
    row("reopen-1", "contact", 0),
    row("reopen-1", "lost", 2),
    row("reopen-1", "contact", 7),
]


def test_a_history_becomes_named_moves_with_versions_and_times_in_stage():
    """Worked by hand: each deal's rows in time order give its moves, whatever order the table is in."""
    shuffled = HISTORY[:]
    random.Random(1).shuffle(shuffled)
    events = events_from_history(shuffled, PIPELINE, lost_reason="other")
    got = {(e.opportunity_id, e.version): (e.kind, e.from_stage, e.to_stage, e.time_in_stage.days, e.actor)
           for e in events}  # fmt: skip
    assert got == {
        ("won-1", 1): (MoveKind.ADVANCE, "contact", "needs_confirmed", 3, "import"),
        ("won-1", 2): (MoveKind.ADVANCE, "needs_confirmed", "proposal", 7, "import"),
        ("won-1", 3): (MoveKind.WIN, "proposal", "won", 20, "ann"),
        ("lost-1", 1): (MoveKind.LOSE, "contact", "lost", 3, "import"),
        ("back-1", 1): (MoveKind.ADVANCE, "contact", "needs_confirmed", 3, "import"),
        ("back-1", 2): (MoveKind.BACK, "needs_confirmed", "contact", 4, "import"),
        ("reopen-1", 1): (MoveKind.LOSE, "contact", "lost", 2, "import"),
        ("reopen-1", 2): (MoveKind.REOPEN, "lost", "contact", 5, "import"),
    }
    reasons = {e.opportunity_id: e.lost_reason for e in events if e.kind is MoveKind.LOSE}
    assert reasons == {"lost-1": "price", "reopen-1": "other"}  # the row's reason, else the default


def test_the_events_replay_and_feed_the_analytics():
    """Replaying a deal's imported events from its first row gives where it ended; the funnel reads them."""
    steps = [
        "contact",
        "needs_confirmed",
        "proposal",
        "approved",
        "shortlisted",
        "selected",
        "negotiation",
        "won",
    ]
    events = events_from_history([row("w", stage, 2 * i) for i, stage in enumerate(steps)], PIPELINE)
    start = Opportunity(
        id="w",
        customer_id="c",
        owner="ann",
        pipeline="default",
        stage="contact",
        created_at=T0,
        stage_entered_at=T0,
    )
    end = replay(start, events, pipeline=PIPELINE)
    assert (end.stage, end.status.value, end.version, end.stage_entered_at) == (
        "won",
        "won",
        7,
        T0 + 14 * DAY,
    )
    assert funnel([end], events, PIPELINE).won == 1


def test_every_bad_row_is_named_by_row_and_column():
    """One error lists each problem at rows[i].column."""
    rows = [
        row("a", "contact", 0),
        row("a", "nowhere", 1),
        {"opportunity_id": "b", "stage": "contact", "at": dt.datetime(2026, 3, 2)},
        {"opportunity_id": "c", "stage": "contact"},
        {**row("d", "contact", 0), "colour": "red"},
        row("e", "contact", 0),
        row("e", "lost", 1),
        row("f", "contact", 0),
        row("f", "needs_confirmed", 0),
        "not a row",
    ]
    with raises_problems(
        ("rows[1].stage", "reference"),
        ("rows[2].at", "timezone"),
        ("rows[3].at", "missing"),
        ("rows[4].colour", "unknown_field"),
        ("rows[6].lost_reason", "missing"),
        ("rows[8].at", "order"),
        ("rows[9]", "type"),
    ):
        events_from_history(rows, PIPELINE)


def test_a_won_deal_does_not_move_on():
    """A row after a win is refused: won is final."""
    with raises_problems(("rows[2].stage", "state")):
        events_from_history(
            [row("a", "negotiation", 0), row("a", "won", 1), row("a", "contact", 2)], PIPELINE
        )


def test_the_rows_of_a_pandas_table_read_as_they_are():
    """iterrows() gives Series: they read like dicts, with numpy-free values."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(HISTORY[:4])
    events = events_from_history((r for _, r in frame.iterrows()), PIPELINE)
    assert [e.to_stage for e in events] == ["needs_confirmed", "proposal", "won"]


def test_arguments_are_checked():
    """The pipeline, the default actor and lost reason, and the rows themselves are checked up front."""
    with raises_problems(("pipeline", "type")):
        events_from_history([], "default")
    with raises_problems(("actor", "empty")):
        events_from_history([], PIPELINE, actor="")
    with pytest.raises(ValidationError):
        events_from_history(5, PIPELINE)
