"""HistoryColumns: a history table kept as columns, the same events as events_from_history, read lazily."""

from __future__ import annotations

import copy
import datetime as dt
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import ValidationError
from funnelkit.errors import MissingDependencyError
from funnelkit.stages import HistoryColumns, MoveKind, StageChanged, default_pipeline, events_from_history

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from test_history_fast import frames, histories, rows_one_by_one  # noqa: E402 - after the extras

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PIPELINE = default_pipeline()
ROWS = [
    {"opportunity_id": "o-1", "stage": "contact", "at": T0},
    {"opportunity_id": "o-2", "stage": "contact", "at": T0 + DAY},
    {"opportunity_id": "o-1", "stage": "needs_confirmed", "at": T0 + 3 * DAY, "actor": "ann"},
    {"opportunity_id": "o-1", "stage": "lost", "at": T0 + 5 * DAY, "lost_reason": "price"},
    {"opportunity_id": "o-3", "stage": "contact", "at": T0},
    {"opportunity_id": "o-2", "stage": "needs_confirmed", "at": T0 + 2 * DAY},
]


def outcome(read, rows, **options):
    """The events read (as a tuple) or the problems of the error."""
    try:
        return "events", tuple(read(rows, PIPELINE, **options))
    except ValidationError as e:
        return "error", [(p.path, p.code, p.message) for p in e.problems]


def test_the_events_of_a_small_table():
    """Three deals' rows give the moves worked by hand, in the order events_from_history gives them."""
    history = HistoryColumns(ROWS, PIPELINE)
    got = [(e.opportunity_id, e.kind, e.from_stage, e.to_stage, e.version, e.time_in_stage) for e in history]
    assert got == [
        ("o-1", MoveKind.ADVANCE, "contact", "needs_confirmed", 1, 3 * DAY),
        ("o-1", MoveKind.LOSE, "needs_confirmed", "lost", 2, 2 * DAY),
        ("o-2", MoveKind.ADVANCE, "contact", "needs_confirmed", 1, DAY),
    ]
    assert [e.actor for e in history] == ["ann", "import", "import"]
    assert [e.lost_reason for e in history] == [None, "price", None]
    assert (len(history), history.deals, history.pipeline) == (3, 2, "default")
    assert repr(history) == "HistoryColumns(pipeline='default', events=3, deals=2)"


@settings(max_examples=60, deadline=None)
@given(histories())
def test_a_list_of_rows_reads_as_events_from_history(rows):
    """Rows one by one: the same events, or the same problems, as events_from_history."""
    assert outcome(HistoryColumns, rows) == outcome(events_from_history, rows)


@settings(max_examples=60, deadline=None)
@given(frames())
def test_a_table_reads_as_events_from_history(frame):
    """A pandas, polars or pyarrow table (spoiled or not): the same events or problems, by columns or not."""
    ours = outcome(HistoryColumns, frame, lost_reason="other")
    assert ours == outcome(events_from_history, frame, lost_reason="other")
    with rows_one_by_one():  # read row by row, then turned into columns
        assert outcome(HistoryColumns, frame, lost_reason="other") == ours


def test_options_apply_as_in_events_from_history():
    """Renamed columns, the default actor and lost reason, progress: as events_from_history takes them."""
    frame = pd.DataFrame(ROWS).rename(columns={"opportunity_id": "deal"}).drop(columns="lost_reason")
    told_ours, told_theirs = [], []
    options = {"columns": {"deal": "opportunity_id"}, "actor": "crm", "lost_reason": "unknown"}
    ours = HistoryColumns(frame, PIPELINE, progress=lambda *a: told_ours.append(a), **options)
    theirs = events_from_history(frame, PIPELINE, progress=lambda *a: told_theirs.append(a), **options)
    assert tuple(ours) == theirs
    assert [e.actor for e in ours] == ["ann", "crm", "crm"]
    assert ours[1].lost_reason == "unknown"
    assert told_ours == told_theirs == [(6, 6)]


def test_indexing_and_slicing():
    """An int gives one event (from the end when negative); a slice gives the history of those events."""
    history = HistoryColumns(ROWS, PIPELINE)
    events = events_from_history(ROWS, PIPELINE)
    assert history[0] == events[0]
    assert history[-1] == events[-1]
    part = history[1:]
    assert isinstance(part, HistoryColumns)
    assert tuple(part) == events[1:]
    assert part.deals == 2
    assert tuple(history[::-1]) == events[::-1]
    assert history[5:].deals == 0
    assert list(history[5:]) == []


def test_a_bad_index_is_refused():
    """Past the end: IndexError, as any sequence; a non-int: a typed error naming the index."""
    history = HistoryColumns(ROWS, PIPELINE)
    with pytest.raises(IndexError, match="event 3 of a history of 3"):
        history[3]
    with pytest.raises(IndexError):
        history[-4]
    with pytest.raises(ValidationError) as info:
        history["0"]  # type: ignore[call-overload]
    assert [(p.path, p.code) for p in info.value.problems] == [("index", "type")]


def test_columns_and_codes():
    """Each column decoded, and the names as codes into their values (values[codes] is the column)."""
    history = HistoryColumns(ROWS, PIPELINE)
    assert history.column("opportunity_id").tolist() == ["o-1", "o-1", "o-2"]
    assert history.column("at").tolist() == [
        dt.datetime(2026, 3, 5, 9),
        dt.datetime(2026, 3, 7, 9),
        dt.datetime(2026, 3, 4, 9),
    ]
    assert history.column("time_in_stage").tolist() == [3 * DAY, 2 * DAY, DAY]
    assert history.column("version").tolist() == [1, 2, 1]
    for name in ("opportunity_id", "kind", "from_stage", "to_stage", "actor", "lost_reason"):
        codes, values = history.codes(name)
        decoded = [None if c < 0 else values[c] for c in codes.tolist()]
        assert decoded == history.column(name).tolist()
    assert history.codes("lost_reason")[0].tolist() == [-1, 0, -1]
    with pytest.raises(ValueError, match="read-only"):
        history.column("version")[0] = 7


def test_a_column_not_there_is_refused():
    """An unknown column name: a typed error that lists the names allowed."""
    history = HistoryColumns(ROWS, PIPELINE)
    with pytest.raises(ValidationError) as info:
        history.column("stage")
    assert info.value.problems[0].code == "choice"
    assert info.value.problems[0].message == (
        "'stage' is not a column; allowed: opportunity_id, kind, from_stage, to_stage, at, actor, "
        "version, time_in_stage, lost_reason"
    )
    with pytest.raises(ValidationError) as info:
        history.codes("at")
    assert [(p.path, p.code) for p in info.value.problems] == [("name", "choice")]


def test_to_frame_holds_the_events():
    """A DataFrame, a row an event: its rows read back as the same events."""
    history = HistoryColumns(ROWS, PIPELINE)
    frame = history.to_frame()
    assert list(frame.columns) == [
        "opportunity_id",
        "kind",
        "from_stage",
        "to_stage",
        "at",
        "actor",
        "version",
        "time_in_stage",
        "lost_reason",
    ]
    assert str(frame["at"].dtype) == "datetime64[us, UTC]"
    rebuilt = [
        StageChanged(**{**row, "pipeline": "default", "at": row["at"].to_pydatetime()})
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]
    assert rebuilt == list(history)


def test_equal_by_value_immutable_and_pickled():
    """Equal to another of the same events; unhashable; no attribute can be set; pickles and copies."""
    history = HistoryColumns(ROWS, PIPELINE)
    same = HistoryColumns(pd.DataFrame(ROWS), PIPELINE)
    assert history == same
    assert history != history[1:]
    assert history != tuple(history)  # a sequence of events, not equal to a tuple (as a list is not)
    assert pickle.loads(pickle.dumps(history)) == history
    assert copy.deepcopy(history) == history
    with pytest.raises(TypeError):
        hash(history)
    with pytest.raises(AttributeError):
        history._pipeline = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del history._ids
    clone = pickle.loads(pickle.dumps(history))
    with pytest.raises(ValueError, match="read-only"):
        clone.codes("kind")[0][0] = 2


def test_without_numpy_a_clear_error(monkeypatch):
    """Without numpy it says what to install."""
    from funnelkit import _optional

    monkeypatch.setattr(_optional, "module", lambda name: None)  # no optional extra is installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'funnelkit\[numpy\]'"):
        HistoryColumns(ROWS, PIPELINE)


@settings(max_examples=30, deadline=None)
@given(histories(), st.data())
def test_slices_hold_the_same_events(rows, data):
    """Any slice of a history holds the events of the same slice of events_from_history."""
    try:
        events = events_from_history(rows, PIPELINE)
    except ValidationError:
        return
    history = HistoryColumns(rows, PIPELINE)
    n = len(events)
    lo, hi = data.draw(st.integers(-n - 1, n + 1)), data.draw(st.integers(-n - 1, n + 1))
    step = data.draw(st.sampled_from([1, 2, -1, -3, None]))
    assert tuple(history[lo:hi:step]) == events[lo:hi:step]
    assert list(history) == list(events)


def test_codes_cannot_be_made_writable_again():
    """codes() hands out views of read-only arrays: numpy refuses to make them writable."""
    history = HistoryColumns(ROWS, PIPELINE)
    for name in ("opportunity_id", "kind", "from_stage", "to_stage", "actor", "lost_reason"):
        for array in history.codes(name):
            with pytest.raises(ValueError, match="WRITEABLE"):
                array.flags.writeable = True


@settings(max_examples=40, deadline=None)
@given(frames(), st.sampled_from(["ann", "import", "bob"]), st.sampled_from([None, "price", "other"]))
def test_codes_name_each_value_once_and_only_those_used(frame, actor, lost_reason):
    """A default the table also holds is one name with one code; values hold only names the events use."""
    try:
        history = HistoryColumns(frame, PIPELINE, actor=actor, lost_reason=lost_reason)
    except ValidationError:
        return
    for name in ("opportunity_id", "kind", "from_stage", "to_stage", "actor", "lost_reason"):
        codes, values = history.codes(name)
        assert len(set(values.tolist())) == len(values)
        assert None not in values.tolist()
        if name not in ("kind", "from_stage", "to_stage"):
            assert set(codes[codes >= 0].tolist()) == set(range(len(values)))


def test_numpy_ints_index_and_bad_slices_are_refused_by_name():
    """A numpy int indexes as an int does; a slice with a step of 0 or text in it: a typed error."""
    np_ = pytest.importorskip("numpy")
    history = HistoryColumns(ROWS, PIPELINE)
    assert history[np_.int64(1)] == history[1]
    assert tuple(history[np_.int64(1) :]) == tuple(history)[1:]
    for bad in (slice(None, None, 0), slice("a", None)):
        with pytest.raises(ValidationError) as info:
            history[bad]
        assert [(p.path, p.code) for p in info.value.problems] == [("index", "type")]
