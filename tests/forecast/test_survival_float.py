"""Kaplan-Meier in floats: lifelines-style inputs, the automatic mode, held to the exact estimate."""

import datetime as dt
import importlib
import math
from fractions import Fraction as F  # noqa: N817 - reads like the book

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelkit.forecast._survival as survival_module
from _problems import raises_problems
from funnelkit.forecast import KaplanMeier, KmStep, KmTable, kaplan_meier
from funnelkit.forecast._survival import EXACT_UP_TO


def _has_numpy() -> bool:
    try:
        importlib.import_module("numpy")
    except ImportError:
        return False
    return True


HAS_NUMPY = _has_numpy()

# Freireich et al. (1963), remission weeks of the 6-MP group; False marks a censored time.
SIX_MP = [
    (6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True), (10, False),
    (11, False), (13, True), (16, True), (17, False), (19, False), (20, False), (22, True),
    (23, True), (25, False), (32, False), (32, False), (34, False), (35, False),
]  # fmt: skip


def _hide_numpy(monkeypatch):
    monkeypatch.setattr(survival_module, "_numpy", lambda: None)


def _numpy_for_all(monkeypatch):
    """numpy from the first observation on (it is used from 1,000), so that small cases take its path."""
    pytest.importorskip("numpy")
    monkeypatch.setattr(survival_module, "_NUMPY_FROM", 1)


def test_kaplan_and_meier_1958_example():
    """
    Kaplan & Meier (1958, JASA 53, section 2): deaths at 0.8, 3.1, 5.4, 9.2 and losses at 1.0, 2.7,
    7.0, 12.1 of 8 items.  P = 7/8 = 0.875 after 0.8; x 4/5 = 0.700 after 3.1 (5 at risk); x 3/4 =
    0.525 after 5.4; x 1/2 = 0.2625 after 9.2.  Continuous (float) times: floats by default.
    """
    deaths, losses = [0.8, 3.1, 5.4, 9.2], [1.0, 2.7, 7.0, 12.1]
    km = kaplan_meier(durations=deaths + losses, event_observed=[True] * 4 + [False] * 4)
    assert not km.exact
    assert [(s.time, s.at_risk) for s in km.steps if s.events] == [(0.8, 8), (3.1, 5), (5.4, 4), (9.2, 2)]
    assert [s.survival for s in km.steps if s.events] == pytest.approx([0.875, 0.7, 0.525, 0.2625], abs=1e-15)
    assert km.median == 9.2
    assert km.survival(3.0) == 0.875


def test_six_mp_with_greenwood_standard_errors():
    """
    Klein & Moeschberger (2003), Table 4.1A, the 6-MP group: S(t) and Greenwood's standard error
    S sqrt(sum d / (n (n - d))) at the event times 6, 7, 10, 13, 16, 22, 23.  The 95 % band on the
    log(-log) scale (their "log-transformed" interval, 4.3.2) at t = 6: theta = exp(1.96 x 0.0891 /
    ln 0.857) = 0.322, so (0.857^(1/theta), 0.857^theta) = (0.620, 0.952).
    """
    km = kaplan_meier(SIX_MP, exact=False)
    rows, greenwood = [], 0.0
    for s, band in zip(km.steps, km.confidence_band(), strict=True):
        if s.events:
            greenwood += s.events / (s.at_risk * (s.at_risk - s.events))
            rows.append((s.time, round(s.survival, 3), round(s.survival * math.sqrt(greenwood), 4), band))
    assert [r[:3] for r in rows] == [
        (6, 0.857, 0.0764), (7, 0.807, 0.0869), (10, 0.753, 0.0963), (13, 0.690, 0.1068),
        (16, 0.627, 0.1141), (22, 0.538, 0.1282), (23, 0.448, 0.1346),
    ]  # fmt: skip
    assert tuple(round(b, 3) for b in rows[0][3]) == (0.620, 0.952)
    assert km.median == 23
    exact_band = [b for pair in kaplan_meier(SIX_MP).confidence_band() for b in pair]
    assert [b for pair in km.confidence_band() for b in pair] == pytest.approx(exact_band, abs=1e-12)


def test_lifelines_style_inputs_give_the_same_estimate_as_pairs():
    """durations with event_observed (bools or 1/0, lists or tuples) count what the pairs count."""
    durations = [t for t, _ in SIX_MP]
    flags = [e for _, e in SIX_MP]
    pairs = kaplan_meier(SIX_MP)
    assert kaplan_meier(durations=durations, event_observed=flags) == pairs
    assert kaplan_meier(durations=tuple(durations), event_observed=[int(f) for f in flags]) == pairs
    assert kaplan_meier(durations=iter(durations), event_observed=iter(flags)) == pairs
    everyone = kaplan_meier(durations=[3, 1, 2])
    assert [(s.time, s.events, s.survival) for s in everyone.steps] == [
        (1, 1, F(2, 3)),
        (2, 1, F(1, 3)),
        (3, 1, 0),
    ]


def test_numpy_and_pandas_columns():
    """numpy arrays and pandas Series are read as columns, ints staying ints, with the pairs' answer."""
    np = pytest.importorskip("numpy")
    durations = np.array([t for t, _ in SIX_MP])
    flags = np.array([e for _, e in SIX_MP])
    km = kaplan_meier(durations=durations, event_observed=flags)
    assert km == kaplan_meier(SIX_MP)
    assert km.exact
    assert type(km.steps.time[0]) is int
    assert kaplan_meier(durations=durations, event_observed=flags.astype(np.int8)) == km
    floats = kaplan_meier(durations=durations.astype(np.float32), event_observed=flags)
    assert not floats.exact
    assert floats.steps.survival == pytest.approx([float(s) for s in km.steps.survival], rel=1e-15)
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"days": durations, "won": flags})
    assert kaplan_meier(durations=frame["days"], event_observed=frame["won"]) == km


def test_the_automatic_mode():
    """Exact for ints, Fractions, Decimals and timedeltas up to EXACT_UP_TO; floats for a float or more."""
    assert kaplan_meier([(1, True), (F(3, 2), False)]).exact
    assert kaplan_meier([(dt.timedelta(days=1), True)]).exact
    assert not kaplan_meier([(1, True), (1.5, False)]).exact
    assert kaplan_meier(durations=range(EXACT_UP_TO)).exact
    assert not kaplan_meier(durations=range(EXACT_UP_TO + 1)).exact
    assert kaplan_meier([(1.5, True), (2.5, False)], exact=True).steps.survival == (F(1, 2), F(1, 2))
    assert kaplan_meier([(1, True), (2, False)], exact=False).steps.survival == (0.5, 0.5)
    assert type(kaplan_meier([(1, True)], exact=False).survival(0)) is float
    assert kaplan_meier([(1, True)]).survival(0) == F(1)


@pytest.mark.parametrize(
    ("call", "problems"),
    [
        (kaplan_meier, [("observations", "missing")]),
        (lambda: kaplan_meier(event_observed=[True]), [("durations", "missing")]),
        (lambda: kaplan_meier([(1, True)], durations=[1]), [("observations", "conflict")]),
        (lambda: kaplan_meier([(1, True)], event_observed=[True]), [("observations", "conflict")]),
        (lambda: kaplan_meier(durations=[1, 2], event_observed=[True]), [("event_observed", "conflict")]),
        (lambda: kaplan_meier(durations=[1], event_observed=[True, False]), [("event_observed", "conflict")]),
        (lambda: kaplan_meier(durations=[1], event_observed=iter([1, 1, 1])), [
            ("event_observed", "conflict")]),
        (lambda: kaplan_meier(durations=[]), [("durations", "empty")]),
        (lambda: kaplan_meier(durations=5), [("durations", "type")]),
        (lambda: kaplan_meier(durations=[1, -2.5, "3", math.nan]), [
            ("durations[1]", "range"), ("durations[2]", "type"), ("durations[3]", "type")]),
        (lambda: kaplan_meier(durations=[dt.timedelta(1), 2]), [("durations[1]", "conflict")]),
        (lambda: kaplan_meier(durations=[1, 2, 3], event_observed=[True, 2, "yes"]), [
            ("event_observed[1]", "range"), ("event_observed[2]", "type")]),
        (lambda: kaplan_meier(durations=[1], event_observed=[1.0]), [("event_observed[0]", "type")]),
        (lambda: kaplan_meier(durations=[1], event_observed=5), [("event_observed", "type")]),
        (lambda: kaplan_meier([(1, True)], exact="yes"), [("exact", "type")]),
        (lambda: kaplan_meier([(1, True)], exact=1), [("exact", "type")]),
    ],
)  # fmt: skip
def test_bad_lifelines_style_inputs_are_named(call, problems):
    """Both or neither input, unequal lengths, bad durations and flags: each named with its index."""
    with raises_problems(*problems):
        call()


def test_bad_numpy_columns_are_named():
    """A negative or NaN duration and a flag of 2 in numpy columns are named by index."""
    np = pytest.importorskip("numpy")
    with raises_problems(("durations[1]", "range"), ("durations[3]", "type")):
        kaplan_meier(durations=np.array([1.0, -1.0, 2.0, np.nan]))
    with raises_problems(("durations[0]", "range")):
        kaplan_meier(durations=np.array([-3, 2]))
    with raises_problems(("event_observed[1]", "range")):
        kaplan_meier(durations=np.array([1, 2]), event_observed=np.array([1, 2]))
    with raises_problems(("event_observed", "conflict")):
        kaplan_meier(durations=np.array([1, 2]), event_observed=np.array([True]))
    with raises_problems(("durations[0]", "type"), ("durations[1]", "type")):
        kaplan_meier(durations=np.array([True, False]))
    with raises_problems(("durations[0]", "type")):
        kaplan_meier(durations=np.array([[1.0, 2.0]]))


TIMES = st.one_of(
    st.integers(0, 40),
    st.floats(0, 40, allow_nan=False, allow_infinity=False),
    st.integers(0, 2**60),
)
OBSERVATIONS = st.lists(st.tuples(TIMES, st.booleans()), min_size=1, max_size=60)


def _assert_close(fast: KaplanMeier, exact: KaplanMeier) -> None:
    """Same counts and times; S(t), the median and the band within 1e-9 relative."""
    assert exact.exact
    assert not fast.exact
    assert fast.steps.time == exact.steps.time
    assert (fast.steps.at_risk, fast.steps.events, fast.steps.censored) == (
        exact.steps.at_risk,
        exact.steps.events,
        exact.steps.censored,
    )
    for f, e in zip(fast.steps.survival, exact.steps.survival, strict=True):
        assert type(f) is float
        assert math.isclose(f, e, rel_tol=1e-9, abs_tol=1e-300)
    assert fast.median == exact.median
    for (fl, fu), (el, eu) in zip(fast.confidence_band(), exact.confidence_band(), strict=True):
        assert math.isclose(fl, el, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(fu, eu, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=60)
@given(OBSERVATIONS)
def test_the_float_mode_agrees_with_the_exact_one(observations):
    """In floats, pure Python and numpy alike, every S(t) is the exact one within 1e-9, the counts equal."""
    exact = kaplan_meier(observations, exact=True)
    with pytest.MonkeyPatch.context() as mp:
        _hide_numpy(mp)
        python = kaplan_meier(observations, exact=False)
    _assert_close(python, exact)
    if not HAS_NUMPY:
        return
    with pytest.MonkeyPatch.context() as mp:
        _numpy_for_all(mp)
        fast = kaplan_meier(observations, exact=False)
        columns = kaplan_meier(
            durations=[t for t, _ in observations], event_observed=[e for _, e in observations], exact=False
        )
    _assert_close(fast, exact)
    assert fast.steps.survival == python.steps.survival  # the same products in the same order
    assert columns == fast


@settings(max_examples=40)
@given(OBSERVATIONS, OBSERVATIONS)
def test_float_estimates_merge_to_the_one_pass_estimate(left, right):
    """Merging float estimates equals the float estimate of all (exactly); exact with float gives floats."""
    whole = kaplan_meier(left + right, exact=False)
    assert kaplan_meier(left, exact=False).merge(kaplan_meier(right, exact=False)) == whole
    mixed = kaplan_meier(left, exact=True).merge(kaplan_meier(right, exact=False))
    assert not mixed.exact
    assert mixed.steps.survival == whole.steps.survival
    assert kaplan_meier(left, exact=True).merge(kaplan_meier(right, exact=True)) == kaplan_meier(
        left + right, exact=True
    )
    if not HAS_NUMPY:
        return
    with pytest.MonkeyPatch.context() as mp:
        _numpy_for_all(mp)
        assert kaplan_meier(left, exact=False).merge(kaplan_meier(right, exact=False)) == whole


def test_merging_times_of_two_kinds_is_refused():
    """A curve over timedeltas does not merge with one over numbers."""
    days = kaplan_meier([(dt.timedelta(days=1), True)], exact=False)
    with raises_problems(("other", "conflict")):
        days.merge(kaplan_meier([(1.0, True)]))
    assert days.merge(KaplanMeier(steps=())) == days


def test_timedeltas_in_floats_with_and_without_numpy(monkeypatch):
    """Timedeltas are counted as whole microseconds by numpy: the same table as the pure-Python path."""
    times = [(dt.timedelta(days=i % 37, microseconds=i % 3), i % 4 != 0) for i in range(2_500)]
    fast = kaplan_meier(times, exact=False)
    assert type(fast.steps.time[0]) is dt.timedelta
    _hide_numpy(monkeypatch)
    assert kaplan_meier(times, exact=False) == fast


def test_a_large_float_estimate_prints_in_one_line():
    """200,000 continuous times: counted by numpy, a one-line repr, the table by columns."""
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(7)
    durations = rng.exponential(30.0, 200_000)
    closed = rng.random(200_000) < 0.7
    km = kaplan_meier(durations=durations, event_observed=closed)
    assert not km.exact
    assert len(km.steps) == len(np.unique(durations))
    assert sum(km.steps.events) == int(closed.sum())
    assert km.steps.at_risk[0] == 200_000
    text = repr(km)
    assert "\n" not in text
    assert len(text) <= 200
    assert text.startswith("<KaplanMeier: 200,000 observations")
    assert repr(km.steps).startswith("<KmTable: ")
    surv = np.array(km.steps.survival)
    assert (np.diff(surv) <= 0).all()
    half = int(np.argmax(surv <= 0.5))
    assert km.median == km.steps.time[half]


def test_the_table_is_a_sequence_of_steps():
    """A KmTable indexes, slices and iterates as steps; KaplanMeier(steps=...) takes steps or a table."""
    km = kaplan_meier(SIX_MP)
    table = km.steps
    assert isinstance(table, KmTable)
    assert len(table) == 16
    assert table[0] == KmStep(time=6, at_risk=21, events=3, censored=1, survival=F(6, 7))
    assert table[-1].time == 35
    assert list(table[:2]) == [table[0], table[1]]
    assert KaplanMeier(steps=list(table)) == km
    assert KaplanMeier(steps=table[:2]).steps == table[:2]
    assert KaplanMeier(steps=()).median is None
    assert repr(KmTable()) == "<KmTable: no steps>"


@pytest.mark.parametrize(
    ("call", "problems"),
    [
        (lambda: KaplanMeier(steps=5), [("steps", "type")]),
        (lambda: KaplanMeier(steps=[KmStep(time=1, at_risk=1, events=1, censored=0, survival=0), 5]), [
            ("steps[1]", "type")]),
        (lambda: KmTable(time=(1, 2), at_risk=(2, 1), events=(1, 1), censored=(0, 0), survival=(0.5,)), [
            ("survival", "conflict")]),
        (lambda: KmTable(time=iter([1])), [("time", "type")]),
    ],
)  # fmt: skip
def test_bad_tables_are_refused(call, problems):
    """A table's columns are tuples (or lists) of one length; steps are KmStep values."""
    with raises_problems(*problems):
        call()


def test_a_long_curve_is_drawn_through_fewer_points(monkeypatch):
    """Past 1,000 steps the curve keeps the points 1/1000 of an axis apart: the same with numpy or not."""
    observations = [(i / 7, i % 3 != 0) for i in range(30_000)]
    km = kaplan_meier(observations)
    svg = km.to_svg()
    assert len(svg) < 300_000
    xs = [s / 7 for s in range(30_000)]
    ys = [float(s) for s in km.steps.survival]
    drawn = list(survival_module._drawn(xs, ys))
    assert drawn[0] == 0
    assert drawn[-1] == len(xs) - 1
    assert len(drawn) <= 2_001
    _hide_numpy(monkeypatch)
    assert list(survival_module._drawn(xs, ys)) == drawn


TIED = st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.one_of(OBSERVATIONS, TIED), st.integers(1, 300))
def test_the_numpy_table_is_the_pure_python_one(observations, copies):
    """
    The numpy table's columns are tuples of Python ints and floats, item for item the pure-Python
    path's: equal, hashing alike, pickling and writing alike (counts of 256 and more among them).
    """
    import pickle

    np = pytest.importorskip("numpy")
    observations = observations * (copies if len(observations) * copies < 3_000 else 1)
    with pytest.MonkeyPatch.context() as mp:
        _hide_numpy(mp)
        python = kaplan_meier(observations, exact=False)
    with pytest.MonkeyPatch.context() as mp:
        _numpy_for_all(mp)
        fast = kaplan_meier(observations, exact=False)
        columns = kaplan_meier(
            durations=np.array([float(t) for t, _ in observations]),
            event_observed=np.array([e for _, e in observations]),
        )
    assert fast == python
    assert hash(fast.steps) == hash(python.steps)
    one_kind = len({type(t) for t, _ in observations}) == 1  # mixed, numpy's times are all floats
    for name in ("time", "at_risk", "events", "censored", "survival")[0 if one_kind else 1 :]:
        ours, theirs = getattr(fast.steps, name), getattr(python.steps, name)
        assert type(ours) is tuple
        assert list(map(type, ours)) == list(map(type, theirs))
    assert pickle.loads(pickle.dumps(fast)) == python
    assert fast.to_dict() == python.to_dict()
    assert fast.to_records() == python.to_records()
    if one_kind:
        assert repr(fast.steps) == repr(python.steps)
    assert columns.steps.at_risk == python.steps.at_risk
    assert columns.steps.events == python.steps.events


def test_array_items_are_those_of_tolist():
    """_items gives tolist()'s Python ints and floats as a tuple: small counts, large, negative, floats."""
    np = pytest.importorskip("numpy")
    from funnelkit.forecast._survival import _items

    for values, dtype in (
        ([], np.int64),
        ([0, 1, 255], np.int64),
        ([0, 256], np.int64),
        ([3, -1], np.int64),
        ([2**62, 7], np.int64),
        ([], np.float64),
        ([0.0, 0.1, 1e308, 5e-324, 2.5], np.float64),
    ):
        array = np.array(values, dtype=dtype)
        for column in (array, array[::-1]):  # a strided view too
            got = _items(np, column)
            assert type(got) is tuple
            assert got == tuple(column.tolist())
            assert list(map(type, got)) == list(map(type, column.tolist()))


def test_times_in_another_byte_order_read_as_the_machines_own():
    """Big-endian int times (from a file or a buffer) give the estimate native ones give (a review's find)."""
    np = pytest.importorskip("numpy")
    native = np.arange(2_000, dtype=np.int64) % 400 + 1  # times above 255: not read as bytes
    flags = np.arange(2_000) % 3 != 0
    expected = kaplan_meier(durations=native, event_observed=flags, exact=False)
    for dtype in (">i8", ">u4"):
        got = kaplan_meier(durations=native.astype(dtype), event_observed=flags, exact=False)
        assert got == expected
        assert type(got.steps.time[0]) is int
