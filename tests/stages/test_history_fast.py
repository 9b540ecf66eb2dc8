"""A pandas history table read by columns: the same events, or the same error, as its rows one by one."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import ValidationError
from funnelkit.stages import StageChanged, _history, default_pipeline, events_from_history

pd = pytest.importorskip("pandas")

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
PIPELINE = default_pipeline()
STAGES = list(PIPELINE.keys)
FIELDS = [f.name for f in attrs.fields(StageChanged)]


@contextmanager
def rows_one_by_one() -> Iterator[None]:
    """Within it, every table is read row by row (today's path, the oracle)."""
    fast = _history._vectorised
    _history._vectorised = lambda *args: None  # the by-columns read declines
    try:
        yield
    finally:
        _history._vectorised = fast


def outcome(rows, **options):
    """The events with each field's type, or the problems (path, code, message) of the error."""
    try:
        events = events_from_history(rows, PIPELINE, **options)
    except ValidationError as e:
        return "error", [(p.path, p.code, p.message) for p in e.problems]
    return "events", events, [tuple(type(getattr(e, f)) for f in FIELDS) for e in events]


def both(rows, **options):
    """The outcome by columns and the outcome row by row."""
    fast = outcome(rows, **options)
    with rows_one_by_one():
        slow = outcome(rows, **options)
    return fast, slow


@st.composite
def histories(draw):
    """Rows of deals walking through the pipeline (any stage but the one they are in; none after won)."""
    rows = []
    for d in range(draw(st.integers(1, 5))):
        at = T0 + draw(st.integers(0, 48)) * HOUR
        stage = draw(st.sampled_from(STAGES[:-2]))
        for m in range(draw(st.integers(0, 5)) + 1):
            if m:
                if stage == "won":
                    break
                stage = draw(st.sampled_from([s for s in STAGES if s != stage]))
                at += draw(st.integers(1, 72)) * HOUR
            reason = draw(st.sampled_from(["price", None])) if stage == "lost" else None
            actor = draw(st.sampled_from([None, "ann", "bob"]))
            rows.append(
                {"opportunity_id": f"d{d}", "stage": stage, "at": at, "actor": actor, "lost_reason": reason}
            )
    return rows


BAD = {
    "opportunity_id": ["", " d0", 5, None, math.nan, "d1"],
    "stage": ["nowhere", None, 3, "won", "contact"],
    "at": [None, T0, T0 + HOUR],
    "actor": ["", " x", 3, math.nan],
    "lost_reason": ["  ", 4, None, math.nan, "timing"],
}


@st.composite
def frames(draw):
    """A DataFrame of a drawn history, maybe spoiled here and there, in one of the ways tables hold cells."""
    rows = draw(histories())
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        i = draw(st.integers(0, len(rows) - 1))
        column = draw(st.sampled_from(sorted(BAD)))
        rows[i] = {**rows[i], column: draw(st.sampled_from(BAD[column]))}
    if draw(st.booleans()):
        rows = draw(st.permutations(rows))
    frame = pd.DataFrame(rows)
    for column in ("actor", "lost_reason"):
        if draw(st.booleans()):
            frame = frame.drop(columns=column)
    text = draw(st.sampled_from(["object", "str", "category"]))
    for column in ("opportunity_id", "stage", "actor", "lost_reason"):
        if column in frame and text != "object":
            frame[column] = frame[column].astype(text)
    if frame["at"].dtype.kind == "M":
        time = draw(st.sampled_from(["UTC", "Asia/Shanghai", "naive", "text", "ns"]))
        if time == "Asia/Shanghai":
            frame["at"] = frame["at"].dt.tz_convert(time)
        elif time == "naive":
            frame["at"] = frame["at"].dt.tz_localize(None)
        elif time == "text":
            frame["at"] = [x.isoformat() for x in frame["at"]]
        elif time == "ns":  # nanoseconds: read to the microsecond, so 500 ns apart may tie
            nanoseconds = draw(st.lists(st.sampled_from([0, 500]), min_size=len(frame), max_size=len(frame)))
            frame["at"] = frame["at"].astype("datetime64[ns, UTC]") + pd.to_timedelta(nanoseconds, unit="ns")
    return converted(frame, draw(st.sampled_from(["pandas", "pyarrow", "polars"])))


def converted(frame, library):
    """The frame as a pyarrow or polars table, when that library is installed and holds its cells."""
    module = None if library == "pandas" else importlib.util.find_spec(library)
    if module is None:
        return frame
    try:
        if library == "pyarrow":
            return importlib.import_module("pyarrow").Table.from_pandas(frame, preserve_index=False)
        return importlib.import_module("polars").from_pandas(frame)
    except Exception:  # noqa: BLE001 - mixed cells the library does not hold: the pandas frame
        return frame


@settings(max_examples=300, deadline=None)
@given(frames(), st.sampled_from([None, "other"]), st.sampled_from(["import", "ops"]))
def test_by_columns_a_frame_gives_what_its_rows_give(frame, lost_reason, actor):
    """Good or spoiled: the same events (values and types), or the same error (paths, codes, messages)."""
    fast, slow = both(frame, lost_reason=lost_reason, actor=actor)
    assert fast == slow


def test_the_by_columns_read_is_taken_for_a_good_frame(monkeypatch):
    """A clean frame never reaches the row-by-row read, and gives the events its rows give."""
    rows = [
        {"opportunity_id": "a", "stage": "contact", "at": T0, "actor": None, "lost_reason": None},
        {"opportunity_id": "b", "stage": "contact", "at": T0 + HOUR, "actor": "ann", "lost_reason": None},
        {"opportunity_id": "a", "stage": "proposal", "at": T0 + 2 * HOUR, "actor": None, "lost_reason": None},
        {"opportunity_id": "b", "stage": "lost", "at": T0 + 3 * HOUR, "actor": "ann", "lost_reason": "price"},
        {
            "opportunity_id": "a",
            "stage": "lost",
            "at": T0 + 4 * HOUR,
            "actor": "bob",
            "lost_reason": math.nan,
        },
    ]
    expected = events_from_history(rows, PIPELINE, lost_reason="other")
    frame = pd.DataFrame(rows)

    def refuse(*args):
        raise AssertionError("read row by row")

    monkeypatch.setattr(_history._History, "read", refuse)
    events = events_from_history(frame, PIPELINE, lost_reason="other")
    assert events == expected
    assert [(e.opportunity_id, e.version, e.kind.value, e.actor, e.lost_reason) for e in events] == [
        ("a", 1, "advance", "import", None),
        ("a", 2, "lose", "bob", "other"),
        ("b", 1, "lose", "ann", "price"),
    ]
    shuffled = frame.iloc[[3, 4, 0, 2, 1]].reset_index(drop=True)  # not in time order: sorted by deal, time
    assert events_from_history(shuffled, PIPELINE, lost_reason="other") == (
        expected[2],
        expected[0],
        expected[1],
    )  # deals in the order of their first row in the table: b, then a


def test_a_frame_with_a_problem_is_named_by_the_rows():
    """A tie, an unknown stage, a loss without a reason: the row-by-row read's error, at row and column."""
    frame = pd.DataFrame(
        {
            "opportunity_id": ["a", "a", "b", "b", "c", "c"],
            "stage": ["contact", "proposal", "contact", "lost", "contact", "nowhere"],
            "at": [T0, T0, T0, T0 + HOUR, T0, T0 + HOUR],
        }
    )
    fast, slow = both(frame)
    assert fast == slow
    assert [(path, code) for path, code, _ in fast[1]] == [
        ("rows[1].at", "order"),
        ("rows[3].lost_reason", "missing"),
        ("rows[5].stage", "reference"),
    ]


def test_progress_is_told_as_if_read_row_by_row():
    """The same calls, after every thousand rows and at the end."""
    frame = pd.DataFrame(
        {
            "opportunity_id": [f"d{i // 2}" for i in range(2500)],
            "stage": ["contact", "proposal"] * 1250,
            "at": [T0 + i * HOUR for i in range(2500)],
        }
    )
    told, seen = [], []
    events = events_from_history(frame, PIPELINE, progress=lambda done, total: told.append((done, total)))
    with rows_one_by_one():
        assert events_from_history(frame, PIPELINE, progress=lambda d, t: seen.append((d, t))) == events
    assert told == seen == [(1000, 2500), (2000, 2500), (2500, 2500)]
    assert len(events) == 1250


def test_an_empty_column_of_nan_and_renamed_columns_read_by_columns(monkeypatch):
    """An all-NaN optional column is blank; renamed and ignored columns read as the rows read them."""
    frame = pd.DataFrame(
        {
            "deal": ["a", "a"],
            "Stage": ["contact", "won"],
            "entered": [T0, T0 + HOUR],
            "who": [math.nan, math.nan],
            "colour": ["red", "blue"],
        }
    )
    options = {
        "columns": {"deal": "opportunity_id", "Stage": "stage", "entered": "at", "who": "actor"},
        "unknown_columns": "ignore",
    }
    fast, slow = both(frame, **options)
    assert fast == slow
    monkeypatch.setattr(_history._History, "read", None)  # not called: read by columns
    (event,) = events_from_history(frame, PIPELINE, **options)
    assert (event.kind.value, event.actor, event.time_in_stage) == ("win", "import", HOUR)


def test_mappings_and_frames_without_pandas_read_row_by_row(monkeypatch):
    """An iterable of mappings never takes the by-columns read; nor a frame when pandas is not imported."""
    rows = [
        {"opportunity_id": "a", "stage": "contact", "at": T0},
        {"opportunity_id": "a", "stage": "won", "at": T0 + HOUR},
    ]
    frame = pd.DataFrame(rows)
    expected = events_from_history(rows, PIPELINE)
    assert events_from_history(iter(rows), PIPELINE) == expected
    assert events_from_history((r for _, r in frame.iterrows()), PIPELINE) == expected
    assert _history._vectorised(rows, 2, {}, None, ("import", None)) is None
    monkeypatch.setitem(sys.modules, "pandas", None)
    assert _history._vectorised(frame, 2, {}, None, ("import", None)) is None


@pytest.mark.parametrize("library", ["pyarrow", "polars"])
def test_a_pyarrow_or_polars_table_reads_by_columns_too(library, monkeypatch):
    """Through pandas, column by column: the events its rows give, and never the row-by-row read."""
    module = pytest.importorskip(library)
    pytest.importorskip("pyarrow")  # polars hands its columns to pandas through Arrow
    monkeypatch.setattr(_history, "_IMPORT_FROM", 0)  # pandas is imported for such a table of any size
    rows = [
        {"opportunity_id": "a", "stage": "contact", "at": T0, "lost_reason": None},
        {"opportunity_id": "a", "stage": "lost", "at": T0 + HOUR, "lost_reason": "price"},
        {"opportunity_id": "a", "stage": "contact", "at": T0 + 5 * HOUR, "lost_reason": None},
    ]
    frame = pd.DataFrame(rows)
    frame["at"] = frame["at"].dt.tz_convert("Europe/Paris")
    table = module.Table.from_pandas(frame) if library == "pyarrow" else module.from_pandas(frame)
    expected = events_from_history(rows, PIPELINE)
    with rows_one_by_one():
        assert events_from_history(table, PIPELINE) == expected
    monkeypatch.setattr(_history._History, "read", None)  # not called: read by columns
    events = events_from_history(table, PIPELINE)
    assert events == expected
    assert [(e.kind.value, e.time_in_stage) for e in events] == [("lose", HOUR), ("reopen", 4 * HOUR)]
