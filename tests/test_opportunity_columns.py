"""OpportunityColumns: a table of deals kept as columns, the same deals and errors as from_table."""

from __future__ import annotations

import copy
import datetime as dt
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import Money, Opportunity, ValidationError, strategies
from funnelkit.tables import OpportunityColumns, from_table, to_rows
from test_tables_fast import columns_of, deal_rows, valid_row

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
TABLE = columns_of([valid_row(i) for i in range(7)])


def outcome(read, table, **options):
    """The deals as a tuple with their fields' types, or the error's problems, and what progress was told."""
    told = []
    try:
        deals = tuple(read(table, progress=lambda *a: told.append(a), **options))
    except ValidationError as e:
        return "error", [(p.path, p.code, p.message) for p in e.problems], told
    types = [tuple(type(getattr(d, f.name)) for f in Opportunity.__attrs_attrs__) for d in deals]
    return "deals", repr(deals), types, told  # repr: a trusted read may hold NaN, unequal to itself


def by_from_table(table, **options):
    """from_table(Opportunity, ...): the oracle."""
    return from_table(Opportunity, table, **options)


@settings(max_examples=80, deadline=None)
@given(drawn=deal_rows())
def test_a_dict_of_columns_reads_as_from_table(drawn):
    """The same deals (to the types of their fields), or the same problems, and the same progress."""
    rows, options = drawn
    table = columns_of(rows)
    assert outcome(OpportunityColumns, table, **options) == outcome(by_from_table, table, **options)


@settings(max_examples=40, deadline=None)
@given(drawn=deal_rows())
def test_a_pandas_frame_reads_as_from_table(drawn):
    """A DataFrame whose column types pandas infers: the same outcome as from_table."""
    pd = pytest.importorskip("pandas")
    rows, options = drawn
    frame = pd.DataFrame(columns_of(rows))
    assert outcome(OpportunityColumns, frame, **options) == outcome(by_from_table, frame, **options)


def test_rules_across_fields_are_refused_as_from_table_refuses_them():
    """A lost reason on an open deal, a stage entered before creation: named by row and field."""
    table = {**TABLE, "lost_reason": [None, "price", *[None] * 5]}
    table["stage_entered_at"] = [
        *table["stage_entered_at"][:3],
        T0 - dt.timedelta(days=400),
        *table["stage_entered_at"][4:],
    ]
    with pytest.raises(ValidationError) as ours:
        OpportunityColumns(table)
    with pytest.raises(ValidationError) as theirs:
        from_table(Opportunity, table)
    assert ours.value.problems == theirs.value.problems
    assert [(p.path, p.code) for p in ours.value.problems] == [
        ("table[1].lost_reason", "conflict"),
        ("table[3].stage_entered_at", "order"),
    ]


def test_a_sequence_of_deals():
    """Length, indexing from either end, slices, iteration and columns, as the tuple from_table gives."""
    deals = OpportunityColumns(TABLE)
    expected = from_table(Opportunity, TABLE)
    assert len(deals) == 7
    assert deals[0] == expected[0]
    assert deals[-1] == expected[-1]
    assert tuple(deals[2:5]) == expected[2:5]
    assert isinstance(deals[2:5], OpportunityColumns)
    assert tuple(deals[::-2]) == expected[::-2]
    assert list(deals) == list(expected)
    assert deals.column("stage") == tuple(d.stage for d in expected)
    assert deals.column("amount")[0] == Money.of(100, "EUR")
    assert repr(deals) == "OpportunityColumns(deals=7)"
    assert expected[3] in deals


def test_bad_indexes_and_names_are_refused():
    """Past the end: IndexError; a non-int index or an unknown field: a typed error naming it."""
    deals = OpportunityColumns(TABLE)
    with pytest.raises(IndexError, match="deal 7 of 7"):
        deals[7]
    with pytest.raises(ValidationError) as info:
        deals[1.0]  # type: ignore[call-overload]
    assert [(p.path, p.code) for p in info.value.problems] == [("index", "type")]
    with pytest.raises(ValidationError) as info:
        deals.column("amount_currency")
    assert [(p.path, p.code) for p in info.value.problems] == [("name", "choice")]


def test_equal_by_value_immutable_and_pickled():
    """Equal to another of the same deals; unhashable; immutable; pickles and copies to an equal one."""
    deals = OpportunityColumns(TABLE)
    assert deals == OpportunityColumns(dict(TABLE))
    assert deals != deals[1:]
    assert deals != from_table(Opportunity, TABLE)
    assert pickle.loads(pickle.dumps(deals)) == deals
    assert copy.deepcopy(deals) == deals
    with pytest.raises(TypeError):
        hash(deals)
    with pytest.raises(AttributeError):
        deals._fields = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del deals._fields


def test_rows_that_need_converting_are_read_as_from_table_reads_them():
    """Text times and int amounts read one by one: the same deals as from_table, kept as columns."""
    table = {**TABLE, "created_at": [t.isoformat() for t in TABLE["created_at"]]}
    assert tuple(OpportunityColumns(table)) == from_table(Opportunity, table)


@given(st.lists(st.integers(0, 6), min_size=1, max_size=7))
def test_trusted_rows_read_as_from_table_trusts_them(order):
    """trusted=True: the same deals as from_table(trusted=True), whatever the rows' order."""
    table = columns_of([valid_row(i) for i in order])
    expected = from_table(Opportunity, table, trusted=True)
    assert tuple(OpportunityColumns(table, trusted=True)) == expected


def test_an_empty_table_holds_no_deals():
    """A table without rows: no deals, and progress told once."""
    told = []
    deals = OpportunityColumns({name: [] for name in TABLE}, progress=lambda *a: told.append(a))
    assert (len(deals), list(deals), told) == (0, [], [(0, 0)])


def test_numpy_ints_index_deals():
    """A numpy int indexes as an int does, in a slice too."""
    np = pytest.importorskip("numpy")
    deals = OpportunityColumns(TABLE)
    assert deals[np.int64(2)] == deals[2]
    assert tuple(deals[np.int64(5) :]) == tuple(deals)[5:]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-3, 3),  # stage entered this many days after creation
            st.sampled_from(["open", "won", "lost"]),
            st.sampled_from([None, "price"]),
            st.sampled_from([None, "0", "-0", "5", "-0.01"]),
        ),
        max_size=12,
    )
)
def test_the_rules_by_columns_are_the_rules_deal_by_deal(rows):
    """Opportunity._breaking flags exactly the deals whose _relations() finds a problem, rule by rule."""
    from funnelkit._records import new_record
    from funnelkit.entities import OpportunityStatus

    names = [f.name for f in Opportunity.__attrs_attrs__]
    base = from_table(Opportunity, TABLE)[0]
    deals = []
    for days, status, reason, amount in rows:
        fields = dict(zip(names, tuple.__getnewargs__(base)[0], strict=True))
        fields.update(
            stage_entered_at=fields["created_at"] + dt.timedelta(days=days),
            status=OpportunityStatus(status),
            lost_reason=reason,
            amount=None if amount is None else Money.of(amount, "EUR"),
        )
        deals.append(new_record(Opportunity, tuple(fields[n] for n in names)))  # unchecked, on purpose
    columns = {n: [getattr(d, n) for d in deals] for n in names}
    flags = list(Opportunity._breaking(columns.__getitem__))
    assert flags == [bool(d._relations()) for d in deals]


@settings(max_examples=40, deadline=None)
@given(st.lists(strategies.opportunities(), max_size=8))
def test_to_frame_reads_back_to_the_same_deals(deals):
    """Deals as columns, out as a DataFrame and read back: equal deals (money, enums, lists, gaps)."""
    pytest.importorskip("pandas")
    rows = to_rows(deals)
    table = {name: [r[name] for r in rows] for name in rows[0]} if rows else {"id": []}
    kept = OpportunityColumns(table)
    frame = kept.to_frame()
    if rows:
        assert list(frame.columns) == list(rows[0])  # the columns to_rows writes, in its order
    assert len(frame) == len(deals)
    assert OpportunityColumns(frame) == kept


def test_to_frame_without_pandas_says_what_to_install(monkeypatch):
    """Without pandas: a clear error naming the extra."""
    from funnelkit import _optional
    from funnelkit.errors import MissingDependencyError

    monkeypatch.setattr(_optional, "module", lambda name: None)  # no optional extra is installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'funnelkit\[pandas\]'"):
        OpportunityColumns(TABLE).to_frame()
