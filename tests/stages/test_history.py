"""A stage history table (deal, stage, time) as the events the engine would have emitted."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _problems import problems_of, raises_problems
from funnelkit import Opportunity, ValidationError
from funnelkit.errors import MAX_LISTED
from funnelkit.forecast import funnel
from funnelkit.stages import MoveKind, StageChanged, default_pipeline, events_from_history, replay

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


# --- tables, renamed columns, bounds and progress ----------------------------------------


def crm_rows(deals, seed=0):
    """A CRM's history rows: deals that advance a few steps, then win, lose or stay open, shuffled."""
    rng = random.Random(seed)
    steps = list(PIPELINE.keys[:-2])  # the open stages, in order
    rows = []
    for d in range(deals):
        at = T0 + rng.randrange(90) * DAY
        path = steps[: rng.randint(1, len(steps))]
        if rng.random() < 0.2 and len(path) > 1:
            path.append(path[-2])  # a step back
        path.append(rng.choice(["won", "lost", None]))
        if path[-1] == "lost" and rng.random() < 0.3:
            path.append("contact")  # reopened
        for stage in filter(None, path):
            rows.append(
                {
                    "opportunity_id": f"d{d}",
                    "stage": stage,
                    "at": at,
                    "lost_reason": "price" if stage == "lost" else None,
                }
            )
            at += rng.randrange(1, 20) * DAY
    rng.shuffle(rows)
    return rows


def oracle(rows, pipeline):
    """The events, built one by one with the checked StageChanged constructor: the reference."""
    per = {}
    for i, r in enumerate(rows):
        per.setdefault(r["opportunity_id"], []).append((r["at"], i, r))
    out = []
    for deal, its in per.items():
        its.sort(key=lambda x: (x[0], x[1]))
        for version, ((_, _, a), (_, _, b)) in enumerate(itertools.pairwise(its), 1):
            kind = pipeline.routes.kind(a["stage"], b["stage"])
            out.append(
                StageChanged(
                    opportunity_id=deal, pipeline=pipeline.key, kind=kind, from_stage=a["stage"],
                    to_stage=b["stage"], at=b["at"], actor="import", version=version,
                    time_in_stage=b["at"] - a["at"],
                    lost_reason=b["lost_reason"] if kind is MoveKind.LOSE else None,
                )
            )  # fmt: skip
    return tuple(out)


@given(st.integers(1, 30), st.integers(0, 10**6))
def test_the_fast_path_matches_the_checked_constructor(deals, seed):
    """Events built without their constructor equal those the checked constructor builds, row by row."""
    rows = crm_rows(deals, seed)
    events = events_from_history(rows, PIPELINE)
    assert events == oracle(rows, PIPELINE)
    assert all(type(e) is StageChanged for e in events)


def test_a_table_reads_directly_with_renamed_columns():
    """A DataFrame, a dict of columns, a polars and a pyarrow table give the events the rows give."""
    pd = pytest.importorskip("pandas")
    rows = crm_rows(300, seed=3)
    expected = events_from_history(rows, PIPELINE)
    names = {"opportunity_id": "deal", "stage": "Stage", "at": "entered", "lost_reason": "why"}
    frame = pd.DataFrame(rows).rename(columns=names)
    renames = {v: k for k, v in names.items()}
    assert events_from_history(frame, PIPELINE, columns=renames) == expected
    columns = {names[k]: [r[k] for r in rows] for k in names}
    assert events_from_history(columns, PIPELINE, columns=renames) == expected
    pl = pytest.importorskip("polars")
    assert events_from_history(pl.from_pandas(frame), PIPELINE, columns=renames) == expected
    pa = pytest.importorskip("pyarrow")
    assert events_from_history(pa.Table.from_pandas(frame), PIPELINE, columns=renames) == expected


def test_times_read_from_text_and_from_any_zone():
    """ISO 8601 text with its offset, or a zoned pandas column: the same instants, in UTC."""
    pd = pytest.importorskip("pandas")
    text = [{**r, "at": r["at"].astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()} for r in HISTORY]
    assert events_from_history(text, PIPELINE, lost_reason="other") == events_from_history(
        HISTORY, PIPELINE, lost_reason="other"
    )
    frame = pd.DataFrame(HISTORY)
    frame["at"] = frame["at"].dt.tz_convert("Asia/Shanghai")
    assert events_from_history(frame, PIPELINE, lost_reason="other") == events_from_history(
        HISTORY, PIPELINE, lost_reason="other"
    )


def test_problems_name_the_tables_own_columns():
    """A renamed column is named as the table names it; a column no field reads is named once."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([row("a", "contact", 0), row("a", "nowhere", 1), row("a", "proposal", 0)])
    frame = frame.rename(columns={"stage": "Stage", "at": "entered"})
    with raises_problems(("rows[1].Stage", "reference"), ("rows[2].entered", "order")):
        events_from_history(frame, PIPELINE, columns={"Stage": "stage", "entered": "at"})
    with raises_problems(("rows.colour", "unknown_field")):
        events_from_history(frame.assign(colour="red"), PIPELINE, columns={"Stage": "stage", "entered": "at"})
    kept = frame.iloc[[0, 2]].assign(colour="red")
    kept["entered"] = [T0, T0 + DAY]
    events = events_from_history(
        kept, PIPELINE, columns={"Stage": "stage", "entered": "at"}, unknown_columns="ignore"
    )
    assert [(e.from_stage, e.to_stage) for e in events] == [("contact", "proposal")]
    with raises_problems(("columns['Stage']", "choice")):
        events_from_history(frame, PIPELINE, columns={"Stage": "phase"})


def test_reading_stops_after_the_listed_number_of_problems():
    """A million bad rows are not all read: the first MAX_LISTED problems are reported."""
    read = []

    def junk():
        for i in range(1_000_000):
            read.append(i)
            yield row("a", "nowhere", i)

    with pytest.raises(ValidationError) as info:
        events_from_history(junk(), PIPELINE)
    assert problems_of(info) == [(f"rows[{i}].stage", "reference") for i in range(MAX_LISTED)]
    assert len(read) == MAX_LISTED


def test_progress_is_told_as_rows_are_read():
    """After every thousand rows and at the end, with the total when the rows have a length."""
    rows = crm_rows(600, seed=1)
    seen = []
    events_from_history(rows, PIPELINE, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(n, len(rows)) for n in range(1000, len(rows), 1000)] + [(len(rows), len(rows))]
    with raises_problems(("progress", "type")):
        events_from_history(rows, PIPELINE, progress="bar")
