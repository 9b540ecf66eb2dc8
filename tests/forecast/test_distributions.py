"""Tests for the Poisson-binomial distribution of deals won."""

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _problems import raises_problems
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
    with raises_problems(("probabilities[1]", "range")):
        win_count([0.5, 1.5])
    with raises_problems(("q", "range")):
        win_count([0.5]).quantile(0)


@given(st.lists(st.floats(0, 1).map(lambda p: round(p, 20)), max_size=60))
def test_properties(ps):
    """Probabilities sum to 1, the mean is the sum of p, quantiles are ordered (at most 20 places each)."""
    d = win_count(ps)
    assert len(d.pmf) == len(ps) + 1
    assert sum(d.pmf) == pytest.approx(1.0)
    assert d.mean == pytest.approx(sum(ps), abs=1e-9)
    assert d.p10 <= d.p50 <= d.p90


class TestMonteCarlo:
    def test_seeded_and_deterministic(self):
        """The same seed gives the same outcomes; a Random object works too."""
        import random

        from funnelkit import Money
        from funnelkit.forecast import simulate_revenue

        deals = [(Money.of(100, "USD"), "0.3"), (Money.of(250, "USD"), "0.6"), (Money.of(80, "USD"), 1)]
        a = simulate_revenue(deals, trials=2000, rng=42)
        b = simulate_revenue(deals, trials=2000, rng=random.Random(42))
        assert a.outcomes == b.outcomes
        assert a.p10 <= a.p50 <= a.p90
        # The certain deal is in every outcome; the mean is close to 0.3*100 + 0.6*250 + 80 = 260.
        assert a.outcomes[0] >= 80
        assert abs(a.mean.amount - 260) < 10
        assert a.probability_of_reaching(Money.of(80, "USD")) == 1.0

    def test_bad_input(self):
        """Currencies, trials, seeds and probabilities are checked."""
        from funnelkit import CurrencyMismatchError, Money
        from funnelkit.forecast import simulate_revenue

        with pytest.raises(CurrencyMismatchError):
            simulate_revenue([(Money.of(1, "USD"), 1), (Money.of(1, "EUR"), 1)], rng=1)
        with raises_problems(("trials", "range")):
            simulate_revenue([(Money.of(1, "USD"), 1)], trials=0, rng=1)
        with raises_problems(("rng", "type")):
            simulate_revenue([(Money.of(1, "USD"), 1)], rng="x")  # type: ignore[arg-type]
        with raises_problems(("deals[0][1]", "range")):
            simulate_revenue([(Money.of(1, "USD"), 2)], rng=1)
        with raises_problems(("deals", "empty")):
            simulate_revenue([], rng=1)


@given(
    st.lists(st.decimals(0, 1, places=2), max_size=15),
    st.lists(st.decimals(0, 1, places=2), max_size=15),
)
def test_win_count_merge_is_the_convolution(left, right):
    """Merging two partitions' distributions gives the one-pass distribution, up to float rounding."""
    merged = win_count(left).merge(win_count(right))
    whole = win_count(left + right)
    assert len(merged.pmf) == len(whole.pmf)
    assert all(abs(a - b) < 1e-12 for a, b in zip(merged.pmf, whole.pmf, strict=True))


def test_cdf_and_at_least_by_hand():
    """p = 0.9 and 0.5 (0.05, 0.5, 0.45): P(X <= k) and P(X >= k) at and beyond both ends."""
    d = win_count(["0.9", "0.5"])
    assert [d.cdf(k) for k in (-1, 0, 1, 2, 3)] == pytest.approx([0, 0.05, 0.55, 1, 1])
    assert [d.at_least(k) for k in (-1, 0, 1, 2, 3)] == pytest.approx([1, 1, 0.95, 0.45, 0])
    assert d.quantile(0.05) == 0  # exactly P(X <= 0)
    assert d.quantile(0.0500001) == 1
    assert d.quantile(0.55) == 1  # P(X <= 1) = 0.05 + 0.5: the sum, not the last term
    assert d.quantile(0.5500001) == 2
    assert d.quantile(1) == 2


def test_revenue_quantiles_are_order_statistics():
    """
    Ten outcomes 0, 10, ..., 90: the q-quantile is the ceil(10 q)-th smallest (DOMAIN.md: p90 is
    the revenue 90 % of outcomes stay at or below): p10 = 0, p50 = 40, p90 = 80, q = 1 the largest.
    Reaching 40 happens in 6 of 10 outcomes; reaching 41 in 5; 0 always; above 90 never.
    """
    from decimal import Decimal
    from fractions import Fraction

    from funnelkit import Money
    from funnelkit.forecast._distributions import RevenueDistribution

    d = RevenueDistribution(currency="USD", outcomes=tuple(Decimal(10 * i) for i in range(10)))
    assert (d.p10, d.p50, d.p90) == (Money.of(0, "USD"), Money.of(40, "USD"), Money.of(80, "USD"))
    assert d.quantile(1) == d.quantile(Decimal("0.95")) == Money.of(90, "USD")
    assert d.quantile(Fraction(11, 100)) == Money.of(10, "USD")
    assert d.mean == Money.of("45.00", "USD")
    reach = [d.probability_of_reaching(Money.of(x, "USD")) for x in (0, 40, 41, 90, 91)]
    assert reach == [1.0, 0.6, 0.5, 0.1, 0.0]


def test_revenue_outcomes_conserve_money():
    """Every simulated outcome is a sum of a subset of the amounts: between the sure deals and all."""
    from decimal import Decimal

    from funnelkit import Money
    from funnelkit.forecast import simulate_revenue

    deals = [(Money.of("100.10", "USD"), "0.5"), (Money.of("5", "USD"), 1), (Money.of("9", "USD"), 0)]
    d = simulate_revenue(deals, trials=500, rng=3)
    assert set(d.outcomes) == {Decimal(5), Decimal("105.10")}
    assert list(d.outcomes) == sorted(d.outcomes)
    assert len(d.outcomes) == 500


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2_000, 2_600), certain=st.floats(0, 1))
def test_the_fft_path_agrees_with_the_recurrence(seed, n, certain):
    """From 2,000 deals numpy multiplies by FFT; every count agrees with the exact recurrence to 1e-12."""
    pytest.importorskip("numpy")
    from funnelkit.forecast._distributions import _pmf_exact

    rng = random.Random(seed)  # a share *certain* of deals sure to be won or lost, the rest anywhere between
    ps = [float(rng.random() < 0.5) if rng.random() < certain else round(rng.random(), 9) for _ in range(n)]

    fast = win_count(ps).pmf
    exact = _pmf_exact(ps)
    assert len(fast) == len(exact) == len(ps) + 1
    assert max(abs(a - b) for a, b in zip(fast, exact, strict=True)) < 1e-12
    assert abs(sum(fast) - 1) < 1e-12


def test_a_hundred_thousand_deals_with_numpy():
    """With numpy the count reads 100,000 deals (more than the pure-Python limit) and its mean is sum(p)."""
    pytest.importorskip("numpy")
    ps = [(i % 10) / 10 for i in range(100_000)]
    dist = win_count(ps)
    assert len(dist.pmf) == 100_001
    assert abs(dist.mean - sum(ps)) < 1e-6


# --- win_count without numpy: the product tree ------------------------------------------------


def _exact_pmf(ps):
    """The Poisson-binomial of the floats *ps* in exact rationals (the recurrence over Fractions)."""
    dist = [Fraction(1)]
    for p in map(Fraction, ps):
        dist = [a * (1 - p) + b * p for a, b in zip([*dist, 0], [0, *dist], strict=True)]
    return dist


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 1e-30, 1 - 1e-16])), max_size=70))
def test_the_product_tree_is_within_its_error_bound_of_the_exact_distribution(ps):
    """Summed over all counts, the tree's error is within n (log2 n + 2) 2**-93, plus float rounding."""
    from funnelkit.forecast._distributions import _pmf_tree

    tree = _pmf_tree(ps)
    exact = _exact_pmf(ps)
    n = max(2, len(ps))
    bound = n * (math.log2(n) + 2) * 2.0**-93 + 2.0**-52  # the fixed point's, then each float's rounding
    assert len(tree) == len(exact)
    assert float(sum(abs(a - b) for a, b in zip(map(Fraction, tree), exact, strict=True))) <= bound


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(300, 900), certain=st.floats(0, 1))
def test_without_numpy_the_tree_agrees_with_the_recurrence(seed, n, certain):
    """Without numpy, from 300 deals win_count multiplies in the tree; it agrees with the recurrence."""
    from funnelkit.forecast import _distributions
    from funnelkit.forecast._distributions import _pmf_exact

    rng = random.Random(seed)  # a share *certain* of deals sure to be won or lost, the rest anywhere between
    ps = [float(rng.random() < 0.5) if rng.random() < certain else round(rng.random(), 9) for _ in range(n)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_distributions, "_numpy", lambda: None)
        patch.setattr(_distributions, "_pmf_exact", None)  # the tree, not the recurrence, answers
        fast = win_count(ps).pmf
    exact = _pmf_exact(ps)
    assert len(fast) == len(exact) == n + 1
    assert max(abs(a - b) for a, b in zip(fast, exact, strict=True)) < 1e-13
    assert abs(sum(fast) - 1) < 1e-13


def test_twenty_thousand_deals_without_numpy(monkeypatch):
    """Without numpy, 20,000 deals (the pure limit) are read: mean sum(p), median 9,000, binomial pmf."""
    from funnelkit.forecast import _distributions

    monkeypatch.setattr(_distributions, "_numpy", lambda: None)
    ps = [(i % 10) / 10 for i in range(20_000)]
    dist = win_count(ps)
    assert len(dist.pmf) == 20_001
    assert abs(dist.mean - sum(ps)) < 1e-9
    assert abs(sum(dist.pmf) - 1) < 1e-12
    assert dist.p50 == 9_000  # symmetric about the mean 9,000: P(X <= 9,000) just above 1/2
    assert dist.pmf[0] == 0.0  # the deals with p = 0.9 ... make 0 wins underflow; no noise is left
    half = win_count([0.5] * 1_000)  # Binomial(1000, 1/2): C(1000, 500) / 2**1000
    assert half.pmf[500] == pytest.approx(math.comb(1000, 500) / 2**1000, rel=1e-12)


def test_the_tree_keeps_sure_deals_exact(monkeypatch):
    """Sure deals shift the distribution by whole counts: 400 sure wins and 300 sure losses give 400."""
    from funnelkit.forecast import _distributions

    monkeypatch.setattr(_distributions, "_numpy", lambda: None)
    dist = win_count([1.0] * 400 + [0.0] * 300)
    assert dist.pmf[400] == 1.0
    assert sum(dist.pmf) == 1.0


# --- simulate_revenue: numpy and the loop draw alike -------------------------------------------

_amounts = st.decimals(-(10**6), 10**6, places=2).map(lambda d: d.normalize() if d.is_finite() else d)


@settings(max_examples=40, deadline=None)
@given(
    deals=st.lists(
        st.tuples(
            _amounts.filter(lambda d: d.is_finite()), st.sampled_from(["0", "1", "0.5", "0.01", "0.999", 0.3])
        ),
        min_size=1,
        max_size=12,
    ),
    trials=st.integers(1, 300),
    seed=st.integers(0, 2**64),
)
def test_numpy_and_the_loop_give_the_same_outcomes_draw_for_draw(deals, trials, seed):
    """With and without numpy: the same outcomes, written alike, and the caller's rng in the same state."""
    pytest.importorskip("numpy")
    from funnelkit import Money
    from funnelkit.forecast import _distributions, simulate_revenue

    pairs = [(Money(amount=a, currency="USD"), p) for a, p in deals]
    with_numpy, without = random.Random(seed), random.Random(seed)
    fast = simulate_revenue(pairs, trials=trials, rng=with_numpy)
    patch = pytest.MonkeyPatch()
    patch.setattr(_distributions, "_numpy", lambda: None)
    try:
        slow = simulate_revenue(pairs, trials=trials, rng=without)
    finally:
        patch.undo()
    assert [str(x) for x in fast.outcomes] == [str(x) for x in slow.outcomes]
    assert with_numpy.getstate() == without.getstate()


def test_outcomes_are_written_with_the_amounts_most_places():
    """100.10 and 5 USD: every outcome has two places, 5.00 as much as 105.10 (with or without numpy)."""
    from funnelkit import Money
    from funnelkit.forecast import simulate_revenue

    deals = [(Money.of("100.10", "USD"), "0.5"), (Money.of("5", "USD"), 1)]
    d = simulate_revenue(deals, trials=200, rng=3)
    assert {str(x) for x in d.outcomes} == {"5.00", "105.10"}


def test_amounts_beyond_exact_float_sums_take_the_loop_with_the_same_draws():
    """Amounts summing past 2**53 cents are added as Decimals, from the same draws as numpy would make."""
    pytest.importorskip("numpy")
    from decimal import Decimal

    from funnelkit import Money
    from funnelkit.forecast import simulate_revenue

    big = Money(amount=Decimal("99999999999999999.99"), currency="USD")  # 10**19 cents: past 2**53
    deals = [(big, "0.5"), (Money.of("0.01", "USD"), "0.5")]
    d = simulate_revenue(deals, trials=400, rng=11)
    assert set(d.outcomes) == {Decimal(0), Decimal("0.01"), big.amount, big.amount + Decimal("0.01")}
    reference = random.Random(11)  # the loop: deal by deal, trial by trial
    expected = sorted(
        sum((a.amount for a, p in deals if reference.random() < float(p)), Decimal("0.00"))
        for _ in range(400)
    )
    assert list(d.outcomes) == expected


def test_a_subclass_of_random_keeps_its_own_draws():
    """A random.Random subclass with its own random() is drawn from, one call per deal and trial."""
    from funnelkit import Money
    from funnelkit.forecast import simulate_revenue

    class Always(random.Random):
        def random(self):
            return 0.0  # below every probability above 0: every such deal is won

    deals = [(Money.of(10, "USD"), "0.001"), (Money.of(1, "USD"), 0)]
    d = simulate_revenue(deals, trials=50, rng=Always(1))
    assert set(d.outcomes) == {Money.of(10, "USD").amount}


def test_the_mean_of_many_trials_is_near_the_expected_revenue():
    """5,000 trials of 20 deals: the mean is within 4 standard errors of sum(amount x p), exactly computed."""
    from decimal import Decimal

    from funnelkit import Money
    from funnelkit.forecast import simulate_revenue

    rng = random.Random(2)
    deals = [
        (Money.of(rng.randrange(100, 10_000), "USD"), str(rng.randrange(1, 100) / 100)) for _ in range(20)
    ]
    expected = sum(m.amount * Decimal(p) for m, p in deals)
    variance = sum(float(m.amount) ** 2 * float(p) * (1 - float(p)) for m, p in deals)
    d = simulate_revenue(deals, trials=5_000, rng=2)
    assert abs(float(d.mean.amount - expected)) < 4 * math.sqrt(variance / 5_000)


@given(st.lists(st.floats() | st.floats(0, 1) | st.floats(0, 1e-3), max_size=40))
def test_floats_read_as_their_decimals(ps):
    """A float probability gives what its shortest decimal gives: the same counts, or the same problems."""
    from decimal import Decimal

    from funnelkit import ValidationError

    def outcome(values):
        try:
            return win_count(values).pmf
        except ValidationError as e:
            return [(p.path, p.code) for p in e.problems]

    assert outcome(ps) == outcome([Decimal(repr(p)) if math.isfinite(p) else p for p in ps])


def test_a_numpy_array_of_floats_reads_as_its_list():
    """A numpy float array gives the list's counts, and its bad cells are named by index."""
    np = pytest.importorskip("numpy")
    ps = [0.25, 0.5, 0.0, 1.0, 0.0005]
    assert win_count(np.array(ps)).pmf == win_count(ps).pmf
    with raises_problems(("probabilities[1]", "range")):
        win_count(np.array([0.5, 1.5]))
