"""Tests for Kaplan-Meier and absorbing Markov chains against textbook answers."""

import datetime as dt
from fractions import Fraction as F  # noqa: N817 - reads like the book

import pytest
from hypothesis import given
from hypothesis import strategies as st
from three_stages import PIPE, T0, TWO_STAGES

from _problems import raises_problems
from funnelkit.forecast import absorbing_chain, chain_from_events, kaplan_meier
from funnelkit.stages import StageChanged

# Freireich et al. (1963), remission times in weeks of the 6-MP group, as in every survival textbook
# (e.g. Kleinbaum & Klein, Survival Analysis, ch. 2); False marks a censored time.
SIX_MP = [
    (6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True), (10, False),
    (11, False), (13, True), (16, True), (17, False), (19, False), (20, False), (22, True),
    (23, True), (25, False), (32, False), (32, False), (34, False), (35, False),
]  # fmt: skip


def test_kaplan_meier_six_mp():
    """The textbook table: S(t) = .857, .807, .753, .690, .627, .538, .448 at t = 6, 7, 10, 13, 16, 22, 23."""
    km = kaplan_meier(SIX_MP)
    table = [(s.time, s.at_risk, s.events, round(float(s.survival), 3)) for s in km.steps if s.events]
    assert table == [
        (6, 21, 3, 0.857),
        (7, 17, 1, 0.807),
        (10, 15, 1, 0.753),
        (13, 12, 1, 0.690),
        (16, 11, 1, 0.627),
        (22, 7, 1, 0.538),
        (23, 6, 1, 0.448),
    ]
    assert km.median == 23
    assert km.survival(30) == km.survival(23)
    assert km.survival(5) == 1


def test_kaplan_meier_with_timedeltas():
    """Durations may be timedeltas."""
    km = kaplan_meier([(dt.timedelta(days=3), True), (dt.timedelta(days=5), False)])
    assert km.survival(dt.timedelta(days=4)) == F(1, 2)


@pytest.mark.parametrize(
    ("obs", "problem"),
    [
        ([], ("observations", "empty")),
        ([(1, "yes")], ("observations[0]", "type")),
        ([(1, True), ("a", True)], ("observations[1][0]", "type")),
    ],
)
def test_kaplan_meier_bad_input(obs, problem):
    """Bad observations are named."""
    with raises_problems(problem):
        kaplan_meier(obs)


def test_drunkards_walk():
    """Grinstead & Snell, Example 11.13: N, t and B of the drunkard's walk on 0..4, p = 1/2."""
    half = F(1, 2)
    chain = absorbing_chain(
        {"1": {"0": half, "2": half}, "2": {"1": half, "3": half}, "3": {"2": half, "4": half}},
        absorbing=["0", "4"],
    )
    assert chain.fundamental == (
        (F(3, 2), F(1), F(1, 2)),
        (F(1), F(2), F(1)),
        (F(1, 2), F(1), F(3, 2)),
    )
    assert [chain.expected_steps(s) for s in "123"] == [3, 4, 3]
    assert chain.absorption == ((F(3, 4), F(1, 4)), (F(1, 2), F(1, 2)), (F(1, 4), F(3, 4)))
    for s in "123":
        assert sum(chain.absorption[int(s) - 1]) == 1


def test_chain_bad_input():
    """Rows that do not sum to 1, unknown states and stuck chains are refused."""
    with raises_problems(("matrix['a']", "range")):
        absorbing_chain({"a": {"won": F(1, 2)}}, absorbing=["won"])
    with raises_problems(("matrix['a']['zz']", "reference")):
        absorbing_chain({"a": {"zz": 1}}, absorbing=["won"])
    with raises_problems(("matrix", "graph")):
        absorbing_chain({"a": {"b": 1}, "b": {"a": 1}}, absorbing=["won"])


def test_negative_time_refused():
    """A negative duration is refused."""
    with raises_problems(("observations[0][0]", "range")):
        kaplan_meier([(-1, True)])


def test_chain_from_events_by_hand():
    """From a: 3 to b, 1 lost; from b: 2 won, 2 lost.  Raw: win from a = 3/4 x 1/2; Laplace: 2/3 x 1/2."""
    p = TWO_STAGES
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def ev(i, src, dst):
        kind = {"won": "win", "lost": "lose"}.get(dst, "advance")
        return StageChanged(
            opportunity_id=f"o{i}", pipeline="p", kind=kind, from_stage=src, to_stage=dst, at=t, actor="r",
            version=1, time_in_stage=dt.timedelta(0), lost_reason="price" if kind == "lose" else None,
        )  # fmt: skip

    moves = [("a", "b")] * 3 + [("a", "lost")] + [("b", "won")] * 2 + [("b", "lost")] * 2
    events = [ev(i, s, d) for i, (s, d) in enumerate(moves)]
    raw = chain_from_events(events, p, smoothing=0)
    assert raw.probability("a", "won") == F(3, 8)
    assert raw.expected_steps("a") == F(7, 4)  # a once, then b with probability 3/4
    smooth = chain_from_events(events, p)
    assert smooth.probability("a", "won") == F(1, 3)
    assert chain_from_events([], p).probability("b", "won") == F(1, 2)
    with raises_problems(("events", "empty")):
        chain_from_events([], p, smoothing=0)


@given(
    st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=20),
    st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=20),
)
def test_kaplan_meier_merge_equals_one_pass(left, right):
    """The estimate merged from two partitions is exactly the estimate over all observations."""
    assert kaplan_meier(left).merge(kaplan_meier(right)) == kaplan_meier(left + right)


def test_chain_from_events_ignores_other_pipelines_and_reopens():
    """Only moves out of this pipeline's open stages count: other pipelines' and reopenings do not."""

    def ev(src, dst, pipeline="p", kind="advance"):
        return StageChanged(
            opportunity_id="o", pipeline=pipeline, kind=kind, from_stage=src, to_stage=dst, at=T0,
            actor="r", version=1, time_in_stage=dt.timedelta(0),
        )  # fmt: skip

    mine = [ev("a", "b"), ev("a", "b"), ev("b", "c"), ev("c", "won", kind="win")]
    noise = [ev("a", "lost", pipeline="other", kind="advance"), ev("won", "c", kind="reopen")]
    raw = chain_from_events(mine, PIPE, smoothing=0)
    assert raw == chain_from_events(mine + noise, PIPE, smoothing=0)
    assert raw.transient == ("a", "b", "c")
    assert raw.absorbing == ("won", "lost")
    assert raw.probability("a", "won") == 1
    assert raw.expected_steps("a") == 3  # a, b, c: one step each
    with raises_problems(("events[0]", "state")):
        chain_from_events([ev("a", "a")], PIPE)


def test_smoothing_spreads_over_the_allowed_moves():
    """Laplace smoothing by hand: from a, 2 seen to b, moves allowed k; P(a->b) = (2 + s) / (2 + s k)."""
    a_moves = PIPE.moves_from("a")
    e = StageChanged(
        opportunity_id="o", pipeline="p", kind="advance", from_stage="a", to_stage="b", at=T0,
        actor="r", version=1, time_in_stage=dt.timedelta(0),
    )  # fmt: skip
    for s in (F(1), F(1, 2), F(3)):
        chain = chain_from_events([e, e], PIPE, smoothing=str(s))
        q_ab = chain.fundamental[0][1] / chain.fundamental[1][1]  # N[a][b] = P(a->b) N[b][b] here
        assert q_ab == (2 + s) / (2 + s * len(a_moves))


STATES = st.integers(min_value=1, max_value=4)


@given(st.data())
def test_absorption_conserves_probability(data):
    """Every walk ends somewhere: each row of B sums to 1, and N (I - Q) = I exactly."""
    n = data.draw(STATES, label="transient")
    names = [f"t{i}" for i in range(n)]
    absorbing = ["won", "lost"]
    matrix = {}
    for i, name in enumerate(names):
        targets = [*names, *absorbing]
        weights = data.draw(st.lists(st.integers(0, 5), min_size=len(targets), max_size=len(targets)))
        weights[n + i % 2] += 1  # each state can be absorbed directly: I - Q is invertible
        total = sum(weights)
        matrix[name] = {t: F(w, total) for t, w in zip(targets, weights, strict=True) if w}
    chain = absorbing_chain(matrix, absorbing=absorbing)
    for i, name in enumerate(names):
        assert sum(chain.absorption[i]) == 1
        assert chain.probability(name, "won") + chain.probability(name, "lost") == 1
        for j, other in enumerate(names):
            q = [matrix[name].get(x, F(0)) for x in names]
            identity_ij = sum(
                chain.fundamental[i][k] * ((k == j) - matrix[names[k]].get(other, F(0))) for k in range(n)
            )
            assert identity_ij == (i == j), (q, i, j)
        assert chain.expected_steps(name) == sum(chain.fundamental[i])
