"""
Batches: tables and lists of rows read column by column, held to the row-by-row reading (the oracle).

A record class (``Opportunity``) is read in batches: the rows whose every value passes its
field's fast test are built at once, any other row is read one by one.  Every test here reads
the same input both ways and asks for the same outcome: the same values (by ``repr`` and by the
type of every field), or the same problems (path, code and message, in order), or the same
exception, and the same calls of the progress callback.
"""

import contextlib
import datetime as dt
import math
import subprocess
import sys
import warnings
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import Money, Opportunity, OpportunityStatus, SalesRep, ValidationError, _tables
from funnelkit._checks import MAX_ID_LENGTH, identifier
from funnelkit.tables import from_rows, from_table

UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)


# --- the two ways -----------------------------------------------------------------------------


@contextlib.contextmanager
def row_by_row():
    """Every read in the block goes row by row (no class has a batch): the oracle."""
    saved = _tables.batch_of
    _tables.batch_of = lambda reader: None
    try:
        yield
    finally:
        _tables.batch_of = saved


@contextlib.contextmanager
def sizes(batch_rows, progress_every):
    """Batches of *batch_rows* rows and a progress call every *progress_every* rows, in the block."""
    saved = _tables.BATCH_ROWS, _tables.PROGRESS_EVERY
    _tables.BATCH_ROWS, _tables.PROGRESS_EVERY = batch_rows, progress_every
    try:
        yield
    finally:
        _tables.BATCH_ROWS, _tables.PROGRESS_EVERY = saved


def outcome(read):
    """What *read* (a function of a progress callback) gives, shown exactly, and its progress calls."""
    calls = []
    try:
        values = read(lambda done, total: calls.append((done, total)))
    except ValidationError as e:
        return ("problems", [(p.path, p.code, p.message) for p in e.problems]), calls
    except Exception as e:  # noqa: BLE001 - any failure must be the same both ways
        return ("raised", type(e).__name__, str(e)), calls
    shown = [(repr(v), tuple(type(getattr(v, f.name)) for f in attrs.fields(type(v)))) for v in values]
    return ("values", shown), calls


def assert_same(read):
    """*read* gives the same outcome and progress calls in batches and row by row; returns it."""
    fast = outcome(read)
    with row_by_row():
        slow = outcome(read)
    assert fast == slow
    return fast[0]


# --- drawn rows -------------------------------------------------------------------------------

NAN = math.nan
BLANKS = st.sampled_from([None, NAN])
IDS = st.sampled_from(["o-1", "c-2", "ann", "default", "proposal", "D0000001", "x" * MAX_ID_LENGTH])
BAD_IDS = st.sampled_from(["", " ann", "ann ", "a\x00b", "x" * (MAX_ID_LENGTH + 1), 5, 1.5, True, b"ann"])
TIMES = st.builds(lambda minutes: T0 + dt.timedelta(minutes=minutes), st.integers(-5, 5))
ODD_TIMES = st.sampled_from([
    T0.astimezone(PLUS2),
    T0.astimezone(ZoneInfo("Europe/Paris")),
    T0.replace(tzinfo=None),
    dt.datetime(1960, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
    "2026-03-02T09:00:00+00:00",
    "2026-03-02T11:00:00+02:00",
    "2026-03-02T09:00:00",
    "yesterday",
    dt.date(2026, 3, 2),
    5,
])  # fmt: skip
STATUSES = st.sampled_from(["open", "won", "lost", OpportunityStatus.WON, "OPEN", "bogus", 3])
AMOUNTS = st.one_of(
    st.integers(-3, 10**6),
    st.sampled_from([
        10**40, "12.30", "12.3", "1e3", " 1", "abc", "-0", Decimal("1.50"), Decimal("NaN"), 12.5, 3.0,
        True, Money.of("2", "EUR"), Money.of("2", "USD"), {"amount": "3", "currency": "EUR"},
    ]),
)  # fmt: skip
CURRENCIES = st.sampled_from(["EUR", "EUR", "USD", "JPY", "eur", "XXQ", 5])
REASONS = st.sampled_from(["price", "timing", "", "  ", 5])
VERSIONS = st.sampled_from([0, 3, -1, 3.0, 2.5, True, "3"])
CLOSES = st.sampled_from([
    dt.date(2026, 6, 30), dt.datetime(2026, 6, 30), dt.datetime(2026, 6, 30, 1), T0, "2026-06-30",
    "2026-6-30", 7,
])  # fmt: skip
LISTS = st.sampled_from([[], ["kp-1"], ["kp-1", "kp-2"], ["kp-1", "kp-1"], ("kp-3",), ["", "x"], ["a b"]])
ODD_LISTS = st.sampled_from(["kp-1", 4, [["kp-1"]], [1, 2], {"kp-1"}, ["kp-1", 5]])


#: Per column: its usual cells, and unusual ones (bad, or to convert).
CELLS = {
    "id": (IDS, BAD_IDS),
    "customer_id": (IDS, BAD_IDS),
    "owner": (IDS, BAD_IDS),
    "pipeline": (st.just("default"), BAD_IDS),
    "stage": (IDS, BAD_IDS),
    "created_at": (TIMES, ODD_TIMES),
    "stage_entered_at": (TIMES, ODD_TIMES),
    "status": (STATUSES, STATUSES),
    "amount": (AMOUNTS, AMOUNTS),
    "amount_currency": (CURRENCIES, CURRENCIES),
    "expected_close": (CLOSES, CLOSES),
    "key_person_ids": (LISTS, ODD_LISTS),
    "competitors": (LISTS, ODD_LISTS),
    "evidence": (LISTS, ODD_LISTS),
    "lost_reason": (REASONS, REASONS),
    "version": (VERSIONS, VERSIONS),
    "lead_id": (IDS, BAD_IDS),
}
COLUMNS = {
    name: st.sampled_from([
        st.one_of(usual, usual, usual, unusual, BLANKS),  # mostly usual cells, now and then others
        usual,  # usual cells only: read at once
        unusual,  # unusual cells only
        st.one_of(usual, unusual),
    ])
    for name, (usual, unusual) in CELLS.items()
}  # fmt: skip
#: The columns of a CRM's export of deals, always there unless a draw leaves one out.
USUAL = ("id", "customer_id", "owner", "stage", "created_at", "stage_entered_at", "status", "amount")
FILLS = st.sampled_from([
    None, {"pipeline": "default"}, {"amount_currency": "EUR"}, {"status": "won"},
    {"pipeline": "default", "version": 2, "lost_reason": "price"}, {"amount": Money.of("5", "USD")},
])  # fmt: skip


@st.composite
def deal_rows(draw, *, max_kinds=5, max_rows=30):
    """
    Rows of deals with the same columns: a few kinds of rows drawn cell by cell, repeated in a
    drawn order (so that values repeat, as in an export), and the options of a read.
    """
    optional = draw(st.sets(st.sampled_from([c for c in COLUMNS if c not in USUAL])))
    dropped = draw(st.sets(st.sampled_from(USUAL), max_size=1)) if draw(st.booleans()) else set()
    names = [c for c in COLUMNS if (c in USUAL and c not in dropped) or c in optional]
    strategies = {c: draw(COLUMNS[c]) for c in names}  # how each column's cells are drawn
    kinds = draw(st.lists(st.fixed_dictionaries(strategies), min_size=1, max_size=max_kinds))
    order = draw(st.lists(st.integers(0, len(kinds) - 1), max_size=max_rows))
    rows = [dict(kinds[k]) for k in order]
    options = {"fill": draw(FILLS), "trusted": draw(st.booleans())}
    if draw(st.booleans()):
        options["columns"] = {"deal": "id"}
        for r in rows:
            r["deal"] = r.pop("id", None)
    if draw(st.booleans()):
        options["unknown_columns"] = "ignore"
        for r in rows:
            r["colour"] = "red"
    return rows, options


def columns_of(rows):
    """The rows as a dict of column name to its cells."""
    names = list(rows[0]) if rows else []
    return {name: [r[name] for r in rows] for name in names}


SIZES = st.sampled_from([None, (1, 1), (2, 3), (5, 2), (7, 7)])


def within(size):
    """The batch and progress sizes drawn, or the module's own."""
    return contextlib.nullcontext() if size is None else sizes(*size)


# --- properties -------------------------------------------------------------------------------


class TestSameAsRowByRow:
    @given(drawn=deal_rows(), size=SIZES)
    def test_a_list_of_rows(self, drawn, size):
        """from_rows on a list: the same values or the same problems, in batches as row by row."""
        rows, options = drawn
        with within(size):
            assert_same(lambda progress: from_rows(Opportunity, rows, progress=progress, **options))

    @given(drawn=deal_rows(), size=SIZES)
    def test_a_dict_of_columns(self, drawn, size):
        """from_table on a dict of lists (no table library): the same outcome both ways."""
        rows, options = drawn
        table = columns_of(rows)
        with within(size):
            assert_same(lambda progress: from_table(Opportunity, table, progress=progress, **options))

    @given(drawn=deal_rows(), size=SIZES, twice=st.booleans())
    def test_a_pandas_frame(self, drawn, size, twice):
        """
        from_table on a DataFrame whose column types pandas infers (zoned and naive datetime
        columns, int and float columns, pandas' blanks), a column read twice now and then.
        """
        pd = pytest.importorskip("pandas")
        rows, options = drawn
        frame = pd.DataFrame(columns_of(rows))
        if twice and len(frame.columns):
            frame = pd.concat([frame, frame.iloc[:, :1]], axis=1)
        with within(size):
            assert_same(lambda progress: from_table(Opportunity, frame, progress=progress, **options))

    @given(drawn=deal_rows(max_kinds=3, max_rows=12), blanks=st.lists(st.integers(0, 11), max_size=4))
    def test_pandas_typed_columns_with_blanks(self, drawn, blanks):
        """Typed pandas columns with their own blanks (NaT, NA, nullable ints) read the same both ways."""
        pd = pytest.importorskip("pandas")
        rows, options = drawn
        frame = pd.DataFrame(columns_of(rows))
        for name in ("created_at", "stage_entered_at"):
            if name in frame and len(frame):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # pandas parsing text cell by cell
                        frame[name] = pd.to_datetime(frame[name], utc=True)
                except (TypeError, ValueError):
                    continue
                for i in blanks:
                    if i < len(frame):
                        frame.loc[i, name] = pd.NaT
        if "amount" in frame and frame["amount"].map(lambda x: type(x) is int and abs(x) < 2**63).all():
            frame["amount"] = frame["amount"].astype("Int64")
            for i in blanks:
                if i < len(frame):
                    frame.loc[i, "amount"] = pd.NA
        assert_same(lambda progress: from_table(Opportunity, frame, progress=progress, **options))

    @settings(max_examples=40)  # 2,500 rows read four ways an example: the CI profile's 200 took 45 s
    @given(
        bad=st.lists(st.integers(0, 2_499), max_size=60),
        kind=st.sampled_from(["owner", "created_at", "relation"]),
        trusted=st.booleans(),
    )
    def test_many_rows_with_bad_ones_here_and_there(self, bad, kind, trusted):
        """
        2,500 rows with bad ones at drawn places (sometimes more than are listed): the same
        problems, and the same progress calls, whether reading stops early or not.
        """
        rows = [valid_row(i) for i in range(2_500)]
        for i in bad:
            rows[i] = {**rows[i], **BREAKS[kind]}
        table = columns_of(rows)
        assert_same(lambda progress: from_rows(Opportunity, rows, progress=progress, trusted=trusted))
        assert_same(lambda progress: from_table(Opportunity, table, progress=progress, trusted=trusted))

    @given(
        amounts=st.lists(
            st.one_of(
                st.integers(-(10**3), 10**6),
                st.sampled_from([10**40, -(10**40), 10**17, 10**18 - 1, 10**18, 10**19, -1, 0]),
                st.integers(),
            ),
            min_size=1,
            max_size=20,
        )
        | st.lists(
            st.sampled_from(
                [
                    "12.30",
                    "12.3",
                    "0",
                    "-0",
                    "1e3",
                    "1E-2",
                    ".5",
                    "5.",
                    "-7.25",
                    "+3",
                    "1" * 41,
                    "9" * 18,
                    "0." + "0" * 20 + "1",
                    "0." + "0" * 19 + "1",
                    "1e999",
                    " 1",
                    "1_000",
                    "\u0661",
                    "NaN",
                    "",
                    "1\n2",
                ]
            )
            | st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{0,25})?", fullmatch=True),
            min_size=1,
            max_size=20,
        ),
        currency=st.sampled_from(["EUR", "JPY", "KWD", "eur", "XXQ", None]),
        blank=st.booleans(),
        trusted=st.booleans(),
    )
    def test_amounts_in_one_currency(self, amounts, currency, blank, trusted):
        """A column of int or of text amounts in one currency (an export) gives the same money both ways."""
        rows = [{**valid_row(i), "amount": a, "amount_currency": currency} for i, a in enumerate(amounts)]
        if blank:
            rows[0]["amount"] = None
        assert_same(lambda progress: from_rows(Opportunity, rows, progress=progress, trusted=trusted))

    @given(
        column=st.sampled_from(["key_person_ids", "competitors", "evidence"]),
        cells=st.lists(
            st.lists(st.sampled_from(["kp-1", "kp-2", "Initech", "a b", "", " ", "x" * 257]), max_size=3)
            | st.tuples(st.sampled_from(["kp-1", "kp-2"])),
            min_size=1,
            max_size=12,
        ),
        trusted=st.booleans(),
    )
    def test_list_columns(self, column, cells, trusted):
        """Columns of lists (ids, names; each once or not; tuples too) read the same both ways."""
        rows = [{**valid_row(i), column: cell} for i, cell in enumerate(cells)]
        assert_same(lambda progress: from_rows(Opportunity, rows, progress=progress, trusted=trusted))


BREAKS = {
    "owner": {"owner": " ann"},
    "created_at": {"created_at": "2026-03-02T09:00:00"},
    "relation": {"lost_reason": "price"},  # on an open deal
}


def valid_row(i):
    """A valid flat deal row, values repeating as in an export."""
    return {
        "id": f"D{i:07d}",
        "customer_id": f"C{i % 97:04d}",
        "owner": f"rep{i % 13}",
        "pipeline": "default",
        "stage": ("contact", "proposal", "won")[i % 3],
        "created_at": T0 + dt.timedelta(minutes=i),
        "stage_entered_at": T0 + dt.timedelta(minutes=2 * i),
        "status": "won" if i % 3 == 2 else "open",
        "amount": 100 + i % 250,
        "amount_currency": "EUR",
        "lost_reason": None,
    }


# --- the batch's own pieces, against the checks they stand for ---------------------------------


class TestPieces:
    @given(st.lists(st.text(max_size=MAX_ID_LENGTH + 2) | st.sampled_from(["", " ", "a\n", "x" * 257])))
    def test_ids_at_once_are_ids_one_by_one(self, values):
        """A column of str passes the id test at once exactly when each str passes the identifier check."""
        assert _tables._identifiers(values) == all(identifier(v) is None for v in values)

    @given(
        st.lists(
            st.one_of(
                st.none(),
                st.integers(-62_135_596_800_000_000, 253_402_300_799_999_999),
                st.sampled_from([-62_135_596_800_000_000, 253_402_300_799_999_999, -1, 0, 86_400_000_000]),
            ),
            max_size=30,
        )
    )
    def test_utc_datetimes_are_those_of_numpy_one_by_one(self, micros):
        """Datetimes made at once from a datetime64[us] array equal numpy's own, with UTC attached."""
        np = pytest.importorskip("numpy")
        values = np.array([np.datetime64("NaT") if m is None else m for m in micros], dtype="datetime64[us]")
        made = _tables._utc_datetimes(values)
        expected = [None if x is None else x.replace(tzinfo=UTC) for x in values.astype(object).tolist()]
        assert made == expected
        assert all(x is None or (type(x) is dt.datetime and x.tzinfo is UTC) for x in made)

    def test_times_outside_datetimes_years_are_left_to_the_old_way(self):
        """A time after the year 9999 makes no datetimes at once (the column is read as before)."""
        np = pytest.importorskip("numpy")
        assert _tables._utc_datetimes(np.array(["10000-01-01"], dtype="datetime64[us]")) is None
        assert _tables._utc_datetimes(np.array([], dtype="datetime64[us]")) == []

    def test_valid_rows_are_not_read_one_by_one(self):
        """A batch of valid rows builds every row at once: the row-by-row reader is never called."""
        calls = []
        row = _tables.Reader.row

        def counted(self, cells, i):
            calls.append(i)
            return row(self, cells, i)

        rows = [valid_row(i) for i in range(300)]
        rows[7] = {**rows[7], "owner": " ann"}
        _tables.Reader.row = counted
        try:
            with pytest.raises(ValidationError):
                from_rows(Opportunity, rows)
            assert calls == [7]
            calls.clear()
            deals = from_rows(Opportunity, rows[8:])
            assert calls == []
        finally:
            _tables.Reader.row = row
        assert deals[0] == Opportunity(**{
            **{k: v for k, v in valid_row(8).items() if k not in {"amount", "amount_currency"}},
            "amount": Money.of(108, "EUR"),
        })  # fmt: skip

    def test_a_class_without_a_compiled_constructor_is_read_row_by_row(self):
        """Only records with a compiled constructor have a batch; SalesRep reads as before."""
        assert _tables._fast_tests(SalesRep) is None
        assert _tables._fast_tests(Opportunity) is not None
        reps = from_rows(
            SalesRep, [{"id": "ann", "name": "Ann"}, {"id": "bob", "name": "Bob", "capacity": 3.0}]
        )
        assert [(r.id, r.capacity) for r in reps] == [("ann", None), ("bob", 3)]

    def test_without_numpy(self):
        """Without numpy (nor pandas) a list of rows and a dict of columns still read in batches."""
        code = (
            "import sys; sys.modules['numpy'] = sys.modules['pandas'] = None\n"
            "import datetime as dt\n"
            "from funnelkit import Opportunity\n"
            "from funnelkit.tables import from_rows, from_table\n"
            "t = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)\n"
            "rows = [dict(id=f'o-{i}', customer_id='c', owner='ann', pipeline='default', stage='won',\n"
            "             created_at=t, stage_entered_at=t, amount=i, amount_currency='EUR')\n"
            "        for i in range(50)]\n"
            "table = {k: [r[k] for r in rows] for k in rows[0]}\n"
            "assert from_rows(Opportunity, rows) == from_table(Opportunity, table)\n"
            "print(len(from_table(Opportunity, table)))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "50"


def test_a_list_with_another_mapping_is_read_row_by_row():
    """A row of the caller's own Mapping is never taken ahead: reading stops where one by one stops."""
    from collections.abc import Mapping

    from funnelkit.errors import MAX_LISTED

    t0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    good = {"id": "o-1", "customer_id": "c-1", "owner": "ann", "pipeline": "default", "stage": "proposal",
            "created_at": t0, "stage_entered_at": t0}  # fmt: skip

    class Exploding(Mapping):
        def __getitem__(self, key):
            msg = "connection lost"
            raise RuntimeError(msg)

        def __iter__(self):
            return iter(good)

        def __len__(self):
            return len(good)

    rows = [dict(good, id="") for _ in range(MAX_LISTED)] + [Exploding()]
    with pytest.raises(ValidationError) as listed:
        from_rows(Opportunity, rows)
    with pytest.raises(ValidationError) as one_by_one:
        from_rows(Opportunity, iter(rows))
    assert listed.value.problems == one_by_one.value.problems
    assert len(listed.value.problems) == MAX_LISTED
