"""Tests for the Poisson-binomial distribution of deals won."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import ValidationError
from funnelkit.forecast import win_count


def test_equal_probabilities_give_the_binomial():
    """With one p for all deals the distribution is Binomial(n, p): C(n, k) p^k (1-p)^(n-k)."""
    n, p = 12, 0.3
    d = win_count([p] * n)
    for k in range(n + 1):
        assert d.pmf[k] == pytest.approx(math.comb(n, k) * p**k * (1 - p) ** (n - k), abs=1e-12)


def test_small_case_by_hand():
    """p = 0.9 and 0.5: P(0)=0.05, P(1)=0.5, P(2)=0.45; p10=1, p50=1, p90=2."""
    d = win_count(["0.9", "0.5"])
    assert d.pmf == pytest.approx((0.05, 0.5, 0.45))
    assert (d.p10, d.p50, d.p90) == (1, 1, 2)
    assert d.at_least(2) == pytest.approx(0.45)
    assert d.mean == pytest.approx(1.4)


def test_certain_and_hopeless_deals():
    """A sure deal always counts; a lost cause never does."""
    assert win_count([1, 0, 1]).pmf == (0.0, 0.0, 1.0, 0.0)


def test_bad_probabilities():
    """Probabilities outside [0, 1] are named by position."""
    with pytest.raises(ValidationError, match=r"\[1\]: 1.5 is outside \[0, 1\]"):
        win_count([0.5, 1.5])
    with pytest.raises(ValidationError, match="q: 0 is outside"):
        win_count([0.5]).quantile(0)


@given(st.lists(st.floats(0, 1), max_size=60))
def test_properties(ps):
    """Probabilities sum to 1, the mean is the sum of p, quantiles are ordered."""
    d = win_count(ps)
    assert len(d.pmf) == len(ps) + 1
    assert sum(d.pmf) == pytest.approx(1.0)
    assert d.mean == pytest.approx(sum(ps), abs=1e-9)
    assert d.p10 <= d.p50 <= d.p90
