"""Tests for A/B/C from ready columns, held to abc() (the oracle)."""

import contextlib
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
from funnelkit import Money, Tier, from_dict
from funnelkit.segments import AbcResult, abc, abc_columns

# The ten-customer table of test_abc.py, worked by hand there (A while the share before is < 80 %).
TEN = {"c1": 500, "c2": 200, "c3": 100, "c4": 60, "c5": 40, "c7": 30, "c6": 30, "c8": 20, "c9": 15, "c10": 5}


@contextlib.contextmanager
def without_numpy():
    """funnelkit's column reading sees neither numpy nor pandas: abc()'s exact path answers."""
    from funnelkit import _columns

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_columns, "module", lambda name: None)
        yield


def graded(ids, values, **kwargs):
    """abc_columns with numpy (when installed) and without, asserted equal to each other; the first."""
    fast = abc_columns(ids, values, **kwargs)
    with without_numpy():
        exact = abc_columns(ids, values, **kwargs)
    assert fast == exact
    assert dict(fast.tiers) == dict(exact.tiers)
    return fast


def same(result, oracle, *, text=True):
    """
    Everything a grading shows is equal: fields, tiers, ranking rows and records, and (*text*) its str.
    From a float column the decimals are written with the column's common places (1.50 for 1.5): equal
    numbers, other text.
    """
    assert result == oracle
    assert dict(result.tiers) == dict(oracle.tiers)
    assert list(result.rows()) == list(oracle.rows())
    assert result.to_records() == oracle.to_records()
    if text:
        assert str(result) == str(oracle)


def test_the_ten_customers_by_hand():
    """The hand-worked table of test_abc.py: A c1-c3, B c4-c7 (c6 before c7), C c8-c10."""
    r = graded(list(TEN), list(TEN.values()))
    same(r, abc(TEN))
    assert [r.tier_of(c).value for c in TEN] == list("AAABBBBCCC")
    assert [row.id for row in r.rows()][5:7] == ["c6", "c7"]


def test_a_tie_across_the_cut_is_split_by_id():
    """
    a, b, c hold 30 each and d 10 (total 100; A while before < 50 %): in any input order a (before 0) and
    b (before 30) are A, c (before 60) is not; with b = 60 % it is C as well, and so is d.
    """
    for order in (["c", "b", "a", "d"], ["a", "b", "c", "d"], ["d", "c", "a", "b"]):
        values = [{"a": 30, "b": 30, "c": 30, "d": 10}[i] for i in order]
        r = graded(order, values, a="0.5", b="0.6")
        assert {i: r.tier_of(i).value for i in order} == {"a": "A", "b": "A", "c": "C", "d": "C"}
        assert [s.count for s in r.summary] == [2, 0, 2]


def test_money_in_minor_units():
    """With currency=, values are cents: the result is abc() of the Money, its records with the currency."""
    r = graded(["x", "y"], [30_050, 10_000], currency="EUR")
    same(r, abc({"x": Money.of("300.50", "EUR"), "y": Money.of(100, "EUR")}))
    assert r.currency == "EUR"
    assert r.to_records()[0]["value_currency"] == "EUR"


ids_st = st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=4), min_size=1, max_size=40, unique=True)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    ids=ids_st,
    kind=st.sampled_from(["int", "cents", "float"]),
    a=st.sampled_from(["0.8", "0.5", "0.3", "0.95"]),
    trusted=st.booleans(),
)
def test_columns_equal_abc(data, ids, kind, a, trusted):
    """abc() is the oracle: the same grading for ints, money in cents and 2-place floats, with many ties."""
    values = data.draw(st.lists(st.integers(0, 12), min_size=len(ids), max_size=len(ids)))
    if not any(values):
        values[0] = 1
    if kind == "int":
        r = graded(ids, values, a=a, trusted=trusted)
        oracle = abc(dict(zip(ids, values, strict=True)), a=a)
    elif kind == "cents":
        r = graded(ids, [v * 1_001 for v in values], a=a, currency="USD", trusted=trusted)
        oracle = abc({i: Money.from_minor(v * 1_001, "USD") for i, v in zip(ids, values, strict=True)}, a=a)
    else:
        floats = [v * 1.01 for v in values]  # e.g. 3.0300000000000002: 16 places, the exact path
        r = graded(ids, [round(f, 2) for f in floats], a=a, trusted=trusted)
        oracle = abc({i: round(f, 2) for i, f in zip(ids, floats, strict=True)}, a=a)
        same(abc_columns(ids, floats, a=a), abc(dict(zip(ids, floats, strict=True)), a=a), text=False)
    same(r, oracle, text=kind != "float")


def test_numpy_and_pandas_columns():
    """numpy arrays and pandas Series (ids as arrow strings or objects) give the list result."""
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    expected = abc(TEN)
    frame = pd.DataFrame({"id": list(TEN), "value": list(TEN.values())})
    same(abc_columns(frame["id"], frame["value"]), expected)
    same(abc_columns(frame["id"].astype(object), frame["value"].astype("float64")), expected, text=False)
    same(
        abc_columns(np.array(list(TEN)), np.array(list(TEN.values()), dtype=np.uint16), trusted=True),
        expected,
    )


def test_the_ranking_is_built_on_first_use_and_reads_back():
    """A result from columns writes the document abc() writes, which reads back as an equal result."""
    r = abc_columns(list(TEN), list(TEN.values()))
    data = json.loads(json.dumps(r.to_dict()))
    assert data == abc(TEN).to_dict()
    back = from_dict(AbcResult, data)
    assert back == r
    assert back.tier_of("c4") is Tier.B
    assert len(r) == 10


def test_values_beyond_the_fast_path_take_the_exact_one():
    """Ints past 2**63 in total and floats past 15 places grade exactly, as abc() does."""
    huge = [10**30, 10**29, 1]
    same(graded(["a", "b", "c"], huge), abc(dict(zip("abc", huge, strict=True))))
    thirds = [1 / 3, 2 / 3, 1e-9]
    same(graded(["a", "b", "c"], thirds), abc(dict(zip("abc", thirds, strict=True))), text=False)


def test_errors_name_the_column_and_the_row():
    """Bad ids and values are named by row, with and without numpy."""
    for call in (abc_columns, _without_numpy(abc_columns)):
        with raises_problems(("ids[1]", "duplicate"), ("ids[2]", "format"), ("ids[3]", "type")):
            call(["a", "a", " b", 5], [1, 2, 3, 4])
        with raises_problems(("ids[0]", "empty")):
            call([""], [1])
        with raises_problems(("ids[2]", "duplicate")):
            call(["a", "b", "a"], [1, 2, 3])
        with raises_problems(("values[1]", "range"), ("values[2]", "range")):
            call(["a", "b", "c"], [1, -2, float("nan")])
        with raises_problems(("values[1]", "type")):
            call(["a", "b"], [100, 1.5], currency="USD")
        with raises_problems(("values", "range")):
            call(["a", "b"], [0, 0])
        with raises_problems(("values", "empty")):
            call([], [])


def _without_numpy(fn):
    def call(*args, **kwargs):
        with without_numpy():
            return fn(*args, **kwargs)

    return call


def test_bad_columns_and_options_are_refused():
    """Different lengths, a mapping, an iterator, a bad currency, a non-bool trusted and bad shares."""
    with raises_problems(("values", "conflict")):
        abc_columns(["a", "b"], [1])
    with raises_problems(("ids", "type"), ("values", "type")):
        abc_columns({"a": 1}, iter([1]))  # type: ignore[arg-type]
    with raises_problems(("currency", "format"), ("trusted", "type")):
        abc_columns(["a"], [1], currency="usd", trusted="yes")  # type: ignore[arg-type]
    with raises_problems(("b", "order")):
        abc_columns(["a"], [1], a="0.9", b="0.5")


def test_trusted_skips_only_the_checks_of_the_ids():
    """trusted=True grades ids it would refuse (a padded id); values are still checked."""
    r = abc_columns([" a ", "b"], [3, 1], trusted=True)
    assert r.tier_of(" a ") is Tier.A
    with raises_problems(("values[1]", "range")):
        abc_columns(["a", "b"], [3, -1], trusted=True)


def test_ids_with_two_spaces_inside_are_fine():
    """An id with two spaces inside passes (the bulk check defers it to the row-by-row one)."""
    r = abc_columns(["a  b", "c"], [Decimal(2), Decimal(1)])
    assert r.tier_of("a  b") is Tier.A


# --- the bulk check of the ids, held to the row-by-row one ---------------------------------------

_ODD_IDS = [
    "",
    " ",
    " a",
    "a ",
    "a  b",
    "a b",
    "a\x00b",
    "\x00",
    "a\tb",
    "\n",
    "a\x7f",
    "\x1f",
    "é",
    "naïve",
    "a\u00a0",
    "\u2028",
    "\u200b",
    "x" * 256,
    "y" * 257,
    "z" * 9,
    "z" * 10,
]
_ID_ITEMS = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=20),
    st.text(alphabet="ab ", min_size=0, max_size=3),  # repeats, spaces at the ends and inside
    st.text(alphabet="ab", min_size=250, max_size=260),  # about the 256-character limit
    st.sampled_from(_ODD_IDS),
    st.text(max_size=6),  # any characters: controls, non-printables, non-ASCII
    st.integers(-3, 3),
    st.none(),
    st.binary(max_size=3),
)
_ID_LISTS = st.lists(_ID_ITEMS, min_size=1, max_size=40).flatmap(
    lambda ids: st.lists(st.sampled_from(ids), max_size=3).map(lambda again: ids + again)  # duplicates
)


def _row_by_row(ids):
    """The oracle: each id checked as abc() checks it, then its repeats; the problems abc_columns raises."""
    from funnelkit import _checks as c
    from funnelkit.errors import Problem
    from funnelkit.segments._args import MAX_PROBLEMS

    problems = []
    seen = set()
    for i, cid in enumerate(ids):
        problem = c.identifier(cid)
        if problem is not None:
            problems.append(problem.prefixed(f"ids[{i}]"))
        elif cid in seen:
            msg = f"{cid!r} appears twice; each customer once"
            problems.append(Problem(path=f"ids[{i}]", code="duplicate", message=msg))
        else:
            seen.add(cid)
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems


def _checked(ids, np):
    """What _checked_ids does with *ids*: the list it returns, or the problems it raises."""
    from funnelkit.errors import ValidationError
    from funnelkit.segments._abc import _checked_ids

    try:
        return _checked_ids(ids, np)
    except ValidationError as e:
        return list(e.problems)


@settings(max_examples=300, deadline=None)
@given(ids=_ID_LISTS)
def test_the_bulk_check_of_the_ids_is_the_row_by_row_one(ids):
    """
    The bulk check passes only ids the row-by-row check passes (with numpy, without, from a numpy
    array); it passes every clean list of ASCII ids with numpy; the problems raised are the oracle's.
    """
    from funnelkit.segments._abc import _ids_look_fine

    problems = _row_by_row(ids)
    np = pytest.importorskip("numpy")
    for module in (np, None):
        if _ids_look_fine(ids, module):
            assert problems == []
        assert _checked(ids, module) == (problems or ids)
    array = np.empty(len(ids), dtype=object)
    array[:] = ids
    assert _checked(array, np) == (problems or ids)
    ascii_strs = all(isinstance(i, str) and i.isascii() for i in ids)
    if ascii_strs and not problems:
        assert _ids_look_fine(ids, np)  # the fast test does not defer clean ASCII ids


@settings(max_examples=100, deadline=None)
@given(ids=_ID_LISTS)
def test_colliding_hashes_send_the_ids_to_the_row_by_row_check(ids):
    """Every id hashing alike (a collision the bulk test cannot tell from a repeat): the oracle's answer."""
    np = pytest.importorskip("numpy")
    from funnelkit.segments import _abc

    problems = _row_by_row(ids)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_abc, "_byte_hashes", lambda np, *args: np.zeros(len(args[0]), dtype=np.uint64))
        patch.setattr(_abc, "_distinct", lambda ids, np: False)
        assert _checked(ids, np) == (problems or ids)
        if not problems and len(ids) > 1:
            assert not _abc._ids_look_fine(ids, np)


def test_byte_hashes_are_those_of_the_ids():
    """Equal ids hash alike wherever they sit (any alignment, beside any id); ids a byte apart do not."""
    np = pytest.importorskip("numpy")
    from funnelkit.segments._abc import _ascii_ids_look_fine, _byte_hashes

    words = ["a", "abcdefg", "abcdefgh", "abcdefghi", "x" * 17, "y" * 256, "p q", "tail"]
    for pad in range(9):
        ids = ["#" * pad, *words, *words] if pad else [*words, *words]
        joined = "\x00".join(ids).encode("ascii")
        assert not _ascii_ids_look_fine(np, joined, len(ids))  # the repeats are found
        raw = np.frombuffer(joined, dtype=np.uint8)
        ends = np.append(np.flatnonzero(raw == 0), len(raw))
        starts = np.concatenate(([0], ends[:-1] + 1))
        hashes = _byte_hashes(np, joined, starts, ends - 1, ends - starts).tolist()
        n = len(words)
        assert hashes[-2 * n : -n] == hashes[-n:]
        assert len(set(hashes[-n:])) == n
    assert _ascii_ids_look_fine(np, "\x00".join(words).encode("ascii"), len(words))
    assert _ascii_ids_look_fine(np, b"ab", 1)


def test_bad_ids_in_a_numpy_column_are_named():
    """The bulk check of a numpy column defers to the row-by-row one, which names each bad id."""
    np = pytest.importorskip("numpy")
    ids = np.array(["a", "b\x00", "a", "c ", "d" * 257, "ok"], dtype=object)
    with raises_problems(
        ("ids[1]", "format"), ("ids[2]", "duplicate"), ("ids[3]", "format"), ("ids[4]", "limit")
    ):
        abc_columns(ids, [1, 2, 3, 4, 5, 6])
