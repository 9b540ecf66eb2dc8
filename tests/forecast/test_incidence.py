"""cumulative_incidence: the Aalen-Johansen estimate of won and lost, against hand counts and Kaplan-Meier."""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import ValidationError
from funnelkit.forecast import CumulativeIncidence, cumulative_incidence, kaplan_meier

OUTCOMES = st.sampled_from(["won", "lost", None])
OBSERVATIONS = st.lists(st.tuples(st.integers(0, 30), OUTCOMES), min_size=1, max_size=40)


def test_a_table_worked_by_hand():
    """
    Ten deals in days, counted by hand with the Aalen-Johansen steps (Putter, Fiocco & Geskus
    2007): at each time the deals at risk end by each outcome in proportion to the survival before.
    """
    days = [
        (1, "won"),
        (2, "lost"),
        (2, "won"),
        (3, None),
        (4, "won"),
        (4, None),
        (6, "lost"),
        (7, "won"),
        (9, None),
        (9, None),
    ]
    ci = cumulative_incidence(days)
    # t=1: 10 at risk, 1 won: I_won 1/10, S 9/10
    # t=2: 9 at risk, 1 won 1 lost: I_won 1/10 + 9/10 * 1/9 = 1/5, I_lost 1/10, S 9/10 * 7/9 = 7/10
    # t=3: 7 at risk, 1 censored: nothing moves
    # t=4: 6 at risk, 1 won 1 censored: I_won 1/5 + 7/10 * 1/6 = 19/60, S 7/10 * 5/6 = 7/12
    # t=6: 4 at risk, 1 lost: I_lost 1/10 + 7/12 * 1/4 = 59/240, S 7/16
    # t=7: 3 at risk, 1 won: I_won 19/60 + 7/16 * 1/3 = 111/240, S 7/24
    assert ci.outcomes == ("lost", "won")
    assert ci.at_risk == (10, 9, 7, 6, 4, 3, 2)
    assert ci.probability("won", 7) == Fraction(111, 240)
    assert ci.probability("lost", 7) == Fraction(59, 240)
    assert ci.open_at(7) == Fraction(7, 24)
    assert ci.probability("won", 2.5) == Fraction(1, 5)
    assert ci.probability("won", 0) == 0
    assert ci.open_at(0) == 1
    assert repr(ci) == "<CumulativeIncidence: 10 observations (2 lost, 4 won, 4 censored) at 7 times>"


@settings(max_examples=100, deadline=None)
@given(OBSERVATIONS)
def test_survival_and_incidences_add_up_to_one(observations):
    """At every time the chance of being open and of each ending add up to exactly 1 (nothing is lost)."""
    ci = cumulative_incidence(observations, exact=True)
    for j in range(len(ci.times)):
        assert ci.survival[j] + sum(ci.incidence[j]) == 1
    for k in range(len(ci.outcomes)):
        column = [row[k] for row in ci.incidence]
        assert column == sorted(column)  # an incidence never falls


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["won", None])), min_size=1, max_size=40))
def test_with_one_outcome_survival_is_kaplan_meier(observations):
    """One way to end: S is Kaplan-Meier's estimate at every time, and the incidence 1 - S."""
    ci = cumulative_incidence(observations, exact=True)
    km = kaplan_meier([(t, o is not None) for t, o in observations], exact=True)
    for t, s in zip(ci.times, ci.survival, strict=True):
        assert s == km.survival(t)
        if ci.outcomes:
            assert ci.probability("won", t) == 1 - s


@settings(max_examples=100, deadline=None)
@given(OBSERVATIONS)
def test_counting_the_other_outcome_as_censored_overstates(observations):
    """1 - KM with lost deals censored is at least the incidence of won (the naive estimate's bias)."""
    ci = cumulative_incidence(observations, exact=True)
    if "won" not in ci.outcomes:
        return
    naive = kaplan_meier([(t, o == "won") for t, o in observations], exact=True)
    for t in ci.times:
        assert ci.probability("won", t) <= 1 - naive.survival(t)


@settings(max_examples=60, deadline=None)
@given(OBSERVATIONS, st.randoms(use_true_random=False))
def test_partitions_merge_to_the_one_pass_estimate(observations, rng):
    """Split anyhow, estimated apart, merged: the estimate of all, exactly; floats within 1e-12."""
    cut = rng.randint(1, len(observations))
    shuffled = list(observations)
    rng.shuffle(shuffled)
    left, right = shuffled[:cut], shuffled[cut:] or shuffled[:1]
    whole = cumulative_incidence(left + right, exact=True)
    merged = cumulative_incidence(left, exact=True).merge(cumulative_incidence(right, exact=True))
    assert merged == whole
    floats = cumulative_incidence(left + right, exact=False)
    assert not floats.exact
    for a, b in zip(floats.survival, whole.survival, strict=True):
        assert abs(a - float(b)) < 1e-12


def test_timedeltas_and_the_modes():
    """Times as timedeltas read as numbers do; a float time means floats; exact=True refuses floats."""
    day = dt.timedelta(days=1)
    ci = cumulative_incidence([(day, "won"), (2 * day, "lost"), (3 * day, None)])
    assert ci.exact
    assert ci.probability("won", day) == Fraction(1, 3)
    assert not cumulative_incidence([(1.5, "won"), (2, None)]).exact
    with pytest.raises(ValidationError) as info:
        cumulative_incidence([(1.5, "won")], exact=True)
    assert [(p.path, p.code) for p in info.value.problems] == [("exact", "conflict")]
    big = [(random.Random(i).randint(0, 100), "won") for i in range(10_001)]
    assert not cumulative_incidence(big).exact  # past 10,000 observations: floats


def test_bad_observations_are_named():
    """Not a pair, a negative or mixed time, an outcome that is not an id: each named, all at once."""
    with pytest.raises(ValidationError) as info:
        cumulative_incidence([(1, "won"), 3, (-1, "won"), (dt.timedelta(1), "lost"), (2, " won"), (2, 5)])
    assert [(p.path, p.code) for p in info.value.problems] == [
        ("observations[1]", "type"),
        ("observations[2][0]", "range"),
        ("observations[3][0]", "conflict"),
        ("observations[4][1]", "format"),
        ("observations[5][1]", "type"),
    ]
    with pytest.raises(ValidationError) as info:
        cumulative_incidence([])
    assert [(p.path, p.code) for p in info.value.problems] == [("observations", "empty")]
    ci = cumulative_incidence([(1, "won")])
    with pytest.raises(ValidationError) as info:
        ci.probability("lost", 1)
    assert [(p.path, p.code) for p in info.value.problems] == [("outcome", "choice")]
    with pytest.raises(ValidationError) as info:
        ci.open_at(dt.timedelta(1))
    assert [(p.path, p.code) for p in info.value.problems] == [("time", "conflict")]
    assert isinstance(ci, CumulativeIncidence)
