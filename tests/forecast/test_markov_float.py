"""Absorbing chains in floats: numpy or Gaussian elimination in Python, held to the exact solution."""

import datetime as dt
import importlib
import math
import random
from fractions import Fraction as F  # noqa: N817 - reads like the book

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from three_stages import TWO_STAGES

import funnelkit.forecast._markov as markov_module
from _problems import raises_problems
from funnelkit.forecast import AbsorbingChain, absorbing_chain, chain_from_events
from funnelkit.forecast._markov import MAX_TRANSIENT, MAX_TRANSIENT_NO_NUMPY
from funnelkit.stages import StageChanged


def _has_numpy() -> bool:
    try:
        importlib.import_module("numpy")
    except ImportError:
        return False
    return True


HAS_NUMPY = _has_numpy()
HALF = F(1, 2)
WALK = {"1": {"0": HALF, "2": HALF}, "2": {"1": HALF, "3": HALF}, "3": {"2": HALF, "4": HALF}}


def _hide_numpy(monkeypatch):
    monkeypatch.setattr(markov_module, "_numpy", lambda: None)


@pytest.mark.parametrize("numpy", [True, False], ids=["numpy", "python"])
def test_drunkards_walk_in_floats(numpy, monkeypatch):
    """
    Grinstead & Snell, Example 11.13 in floats: N = [[3/2, 1, 1/2], [1, 2, 1], [1/2, 1, 3/2]],
    t = (3, 4, 3), B = [[3/4, 1/4], [1/2, 1/2], [1/4, 3/4]], to the last bit or nearly.
    """
    if numpy and not HAS_NUMPY:
        pytest.skip("numpy is not installed")
    if not numpy:
        _hide_numpy(monkeypatch)
    chain = absorbing_chain(WALK, absorbing=["0", "4"], exact=False)
    assert not chain.exact
    expected_n = [[1.5, 1, 0.5], [1, 2, 1], [0.5, 1, 1.5]]
    for row, want in zip(chain.fundamental, expected_n, strict=True):
        assert row == pytest.approx(want, abs=1e-14)
        assert all(type(x) is float for x in row)
    assert [chain.expected_steps(s) for s in "123"] == pytest.approx([3, 4, 3], abs=1e-14)
    assert chain.probability("1", "4") == pytest.approx(0.25, abs=1e-15)
    assert type(chain.expected_steps("2")) is float
    assert (
        repr(chain)
        == "<AbsorbingChain: 3 transient, 2 absorbing states; from '1': 0 75.0%, 4 25.0%, 3 steps>"
    )


def _random_chain(data, n, m):
    """n transient states, m absorbing; each state absorbs directly with some weight (I - Q invertible)."""
    names = [f"t{i}" for i in range(n)]
    ends = [f"a{j}" for j in range(m)]
    matrix = {}
    for i, name in enumerate(names):
        targets = [*names, *ends]
        weights = data.draw(st.lists(st.integers(0, 9), min_size=len(targets), max_size=len(targets)))
        weights[n + i % m] += 1
        total = sum(weights)
        matrix[name] = {t: F(w, total) for t, w in zip(targets, weights, strict=True) if w}
    return matrix, ends


def _assert_close(fast: AbsorbingChain, exact: AbsorbingChain) -> None:
    """Every entry of N and B within 1e-9 of the exact one (relative, or absolute near 0)."""
    assert exact.exact
    assert not fast.exact
    for got, want in ((fast.fundamental, exact.fundamental), (fast.absorption, exact.absorption)):
        for row_got, row_want in zip(got, want, strict=True):
            for x, y in zip(row_got, row_want, strict=True):
                assert type(x) is float
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=50)
@given(st.data(), st.integers(1, 7), st.integers(1, 3))
def test_floats_agree_with_the_exact_chain(data, n, m):
    """On random chains of up to 7 states, numpy's solve and Python's elimination agree with the fractions."""
    matrix, ends = _random_chain(data, n, m)
    exact = absorbing_chain(matrix, absorbing=ends)
    with pytest.MonkeyPatch.context() as mp:
        _hide_numpy(mp)
        python = absorbing_chain(matrix, absorbing=ends, exact=False)
    _assert_close(python, exact)
    if HAS_NUMPY:
        _assert_close(absorbing_chain(matrix, absorbing=ends, exact=False), exact)
    for i, name in enumerate(exact.transient):
        assert math.isclose(python.expected_steps(name), exact.expected_steps(name), rel_tol=1e-9)
        assert math.fsum(python.absorption[i]) == pytest.approx(1, abs=1e-12)


def test_the_automatic_mode_switches_above_forty_states(monkeypatch):
    """Up to 40 transient states exactly; above, floats; exact=True keeps the limit, exact=False lifts it."""
    chain = {f"s{i}": {f"s{i + 1}": "1/2", "won": "1/2"} for i in range(MAX_TRANSIENT)}
    chain[f"s{MAX_TRANSIENT - 1}"] = {"won": 1}
    assert absorbing_chain(chain, absorbing=["won"]).exact
    assert not absorbing_chain(chain, absorbing=["won"], exact=False).exact
    bigger = {f"s{i}": {f"s{i + 1}": "1/2", "won": "1/2"} for i in range(MAX_TRANSIENT + 1)}
    bigger[f"s{MAX_TRANSIENT}"] = {"won": 1}
    floats = absorbing_chain(bigger, absorbing=["won"])
    assert not floats.exact
    assert floats.expected_steps("s0") == pytest.approx(2 - 0.5**40, abs=1e-12)  # 1 + 1/2 + ... + 1/2^40
    with raises_problems(("matrix", "limit")):
        absorbing_chain(bigger, absorbing=["won"], exact=True)
    many_ends = [f"w{j}" for j in range(MAX_TRANSIENT + 1)]
    assert not absorbing_chain({"a": {"w0": 1}}, absorbing=many_ends).exact
    with raises_problems(("absorbing", "limit")):
        absorbing_chain({"a": {"w0": 1}}, absorbing=many_ends, exact=True)
    _hide_numpy(monkeypatch)
    too_big = {f"s{i}": {"won": 1} for i in range(MAX_TRANSIENT_NO_NUMPY + 1)}
    with raises_problems(("matrix", "limit")):
        absorbing_chain(too_big, absorbing=["won"])


@pytest.mark.parametrize("numpy", [True, False], ids=["numpy", "python"])
def test_a_hundred_dense_states(numpy, monkeypatch):
    """100 states, every move possible: B's rows sum to 1 and N (I - Q) = I to 1e-9."""
    if numpy and not HAS_NUMPY:
        pytest.skip("numpy is not installed")
    if not numpy:
        _hide_numpy(monkeypatch)
    rng = random.Random(16)
    names = [f"s{i}" for i in range(100)]
    matrix = {}
    for name in names:
        weights = [rng.random() for _ in range(102)]
        total = math.fsum(weights)
        matrix[name] = dict(zip([*names, "won", "lost"], [w / total for w in weights], strict=True))
    chain = absorbing_chain(matrix, absorbing=["won", "lost"])
    assert not chain.exact
    for i, a in enumerate(names):
        assert math.fsum(chain.absorption[i]) == pytest.approx(1, abs=1e-9)
        for j, b in enumerate(names):
            product = math.fsum(
                chain.fundamental[i][k] * ((k == j) - matrix[names[k]][b]) for k in range(len(names))
            )
            assert product == pytest.approx(float(i == j), abs=1e-9), (a, b)


@pytest.mark.parametrize("exact", [True, False])
def test_a_state_never_absorbed_is_refused_in_both_modes(exact):
    """a and b only move between themselves: refused from the moves (graph), naming them, in both modes."""
    matrix = {"a": {"b": 1}, "b": {"a": "1/2", "b": "1/2"}, "c": {"a": "1/2", "won": "1/2"}}
    with raises_problems(("matrix", "graph")) as e:
        absorbing_chain(matrix, absorbing=["won"], exact=exact)
    assert "'a', 'b'" in str(e.value)


def test_a_barely_absorbing_chain_is_solved_in_floats():
    """An escape of 1e-12 still reaches absorption: not singular, the expected steps near 1e12."""
    chain = absorbing_chain({"a": {"a": 1 - 1e-12, "won": 1e-12}}, absorbing=["won"], exact=False)
    assert chain.expected_steps("a") == pytest.approx(1e12, rel=1e-3)


def test_float_rows_sum_to_one_within_a_tolerance():
    """Thirds written as floats: refused exactly (0.3333333333333333 x 3 < 1), accepted in floats."""
    third = 1 / 3
    matrix = {"a": {"a": third, "won": third, "lost": third}}
    with raises_problems(("matrix['a']", "range")):
        absorbing_chain(matrix, absorbing=["won", "lost"])
    chain = absorbing_chain(matrix, absorbing=["won", "lost"], exact=False)
    assert chain.probability("a", "won") == pytest.approx(0.5, abs=1e-15)
    with raises_problems(("matrix['a']", "range")):
        absorbing_chain({"a": {"a": 0.5, "won": 0.4}}, absorbing=["won"], exact=False)


@pytest.mark.parametrize(
    ("call", "problems"),
    [
        (lambda: absorbing_chain({"a": {"won": 1}}, absorbing=["won"], exact="no"), [("exact", "type")]),
        (lambda: absorbing_chain({"a": {"won": math.nan}}, absorbing=["won"], exact=False), [
            ("matrix['a']['won']", "type")]),
        (lambda: absorbing_chain({"a": {"won": 1.5, "x": -0.5}}, absorbing=["won"], exact=False), [
            ("matrix['a']['won']", "range"), ("matrix['a']['x']", "reference")]),
        (lambda: absorbing_chain({"a": {"won": "1/0"}}, absorbing=["won"], exact=False), [
            ("matrix['a']['won']", "format")]),
        (lambda: chain_from_events([], TWO_STAGES, exact=2), [("exact", "type")]),
    ],
)  # fmt: skip
def test_bad_input_in_float_mode_is_named(call, problems):
    """Float mode reads and refuses probabilities as the exact mode does, each named."""
    with raises_problems(*problems):
        call()


def test_chain_from_events_in_floats():
    """chain_from_events(exact=False) is the exact estimate in floats (raw: win from a = 3/4 x 1/2)."""
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def ev(i, src, dst):
        kind = {"won": "win", "lost": "lose"}.get(dst, "advance")
        return StageChanged(
            opportunity_id=f"o{i}", pipeline="p", kind=kind, from_stage=src, to_stage=dst, at=t, actor="r",
            version=1, time_in_stage=dt.timedelta(0), lost_reason="price" if kind == "lose" else None,
        )  # fmt: skip

    moves = [("a", "b")] * 3 + [("a", "lost")] + [("b", "won")] * 2 + [("b", "lost")] * 2
    events = [ev(i, s, d) for i, (s, d) in enumerate(moves)]
    floats = chain_from_events(events, TWO_STAGES, smoothing=0, exact=False)
    assert floats.probability("a", "won") == pytest.approx(3 / 8, abs=1e-15)
    assert floats.expected_steps("a") == pytest.approx(7 / 4, abs=1e-15)
    _assert_close(floats, chain_from_events(events, TWO_STAGES, smoothing=0))
