"""
Survival and Markov benchmark, ratios against baselines in the same process:

- ``kaplan_meier`` in float mode on ready numpy arrays (durations, event flags)
  against a hand-written numpy Kaplan-Meier on the same arrays (argsort, group,
  cumulative sums and product), at two sizes, with the growth exponent k
  (time ~ n^k); the exact mode (fractions) at small sizes; the same data as
  Python lists and pairs; the pure-Python float path (numpy hidden);
- ``absorbing_chain`` in float mode on dense random chains against
  ``numpy.linalg.solve`` called directly on ready matrices (and with the
  matrices built from the same dict of rows), at growing sizes; the exact
  mode at small sizes; Gaussian elimination in Python (numpy hidden).

Machines are noisy: only the ratios and exponents mean much.  numpy is needed
(``pip install numpy``).

    python benchmarks/bench_survival.py [--quick]
"""

import contextlib
import math
import os
import random
import sys
import time
from fractions import Fraction

import numpy as np

import funnelkit.forecast._markov as markov_module
import funnelkit.forecast._survival as survival_module
from funnelkit.forecast import absorbing_chain, kaplan_meier

QUICK = "--quick" in sys.argv
KM_SIZES = (20_000, 100_000) if QUICK else (100_000, 1_000_000)
KM_EXACT = (1_000, 2_000) if QUICK else (2_000, 5_000, 10_000)
CHAIN_SIZES = (50, 100) if QUICK else (100, 200, 400)
CHAIN_EXACT = (10, 20) if QUICK else (10, 20, 30)
CHAIN_PYTHON = (50, 100) if QUICK else (50, 100, 200)


@contextlib.contextmanager
def numpy_hidden(module):
    """*module* as if numpy were not installed."""
    real = module._numpy  # noqa: SLF001 - the benchmark times the pure-Python path on purpose
    module._numpy = lambda: None  # noqa: SLF001
    try:
        yield
    finally:
        module._numpy = real  # noqa: SLF001


def timed(fn, *args, repeat=3, **kwargs):
    """The best of *repeat* runs, and the result."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def growth(points):
    """k in time ~ n^k, fitted through the first and last (n, seconds)."""
    (n1, t1), (n2, t2) = points[0], points[-1]
    return math.log(t2 / t1) / math.log(n2 / n1)


def numpy_km(durations, events):
    """A Kaplan-Meier estimate as one writes it with numpy: the times, at risk, events, censored, S(t)."""
    order = np.argsort(durations)
    ordered = durations[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, len(ordered)))
    closed = np.add.reduceat(events[order], starts, dtype=np.int64)
    at_risk = len(ordered) - np.concatenate(([0], np.cumsum(counts)[:-1]))
    survival = np.cumprod(1.0 - closed / at_risk)
    return ordered[starts], at_risk, closed, counts - closed, survival


def numpy_band(at_risk, closed, survival, z=1.959963984540054):
    """Greenwood's log(-log) 95 % band as one writes it with numpy."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where((closed > 0) & (at_risk > closed), closed / (at_risk * (at_risk - closed)), 0.0)
        greenwood = np.cumsum(terms)
        log_s = np.log(survival)
        spread = z * np.sqrt(greenwood) / log_s
        inside = (survival > 0) & (survival < 1)
        lower = np.where(inside, np.exp(-np.exp(np.log(-log_s) - spread)), survival)
        upper = np.where(inside, np.exp(-np.exp(np.log(-log_s) + spread)), survival)
    return lower, upper


def sample(n, rng):
    """n continuous durations (exponential, mean 30 days) and a 70 % chance of each being a close."""
    return rng.exponential(30.0, n), rng.random(n) < 0.7


def bench_kaplan_meier():
    rng = np.random.default_rng(20261201)
    print("kaplan_meier, float mode on ready numpy arrays (continuous times), best of 3")
    ours_points, base_points, band_points = [], [], []
    for n in KM_SIZES:
        durations, events = sample(n, rng)
        ours, km = timed(kaplan_meier, durations=durations, event_observed=events)
        base, hand = timed(numpy_km, durations, events)
        assert len(km.steps) == len(hand[0])
        assert max(abs(a - b) for a, b in zip(km.steps.survival, hand[4].tolist(), strict=True)) < 1e-9
        band, _ = timed(km.confidence_band, repeat=1)
        hand_band, _ = timed(numpy_band, hand[1], hand[2], hand[4], repeat=1)
        ours_points.append((n, ours))
        base_points.append((n, base))
        band_points.append((n, band))
        print(
            f"  n = {n:>9,}: funnelkit {ours:7.3f} s   hand-written numpy {base:7.3f} s   "
            f"ratio {ours / base:5.2f}   (95 % band: funnelkit {band:6.3f} s, numpy {hand_band:6.3f} s)"
        )
    print(
        f"  growth: funnelkit n^{growth(ours_points):.2f}, numpy n^{growth(base_points):.2f}, "
        f"band n^{growth(band_points):.2f}; goal: 1,000,000 under 2 s"
    )
    n = KM_SIZES[-1]
    durations, events = sample(n, rng)
    as_lists = durations.tolist(), events.tolist()
    t_lists, _ = timed(kaplan_meier, durations=as_lists[0], event_observed=as_lists[1], repeat=1)
    pairs = list(zip(*as_lists, strict=True))
    t_pairs, _ = timed(kaplan_meier, pairs, repeat=1)
    base, _ = timed(numpy_km, durations, events)
    print(
        f"  n = {n:,} from Python lists {t_lists:6.3f} s (ratio {t_lists / base:5.2f}), "
        f"from (time, closed) pairs {t_pairs:6.3f} s (ratio {t_pairs / base:5.2f})"
    )
    small = KM_SIZES[0]
    durations, events = sample(small, rng)
    with numpy_hidden(survival_module):
        lists = durations.tolist(), events.tolist()
        t_python, _ = timed(kaplan_meier, durations=lists[0], event_observed=lists[1], repeat=1)
    base, _ = timed(numpy_km, durations, events)
    print(
        f"  pure-Python float path (numpy hidden), n = {small:,}: {t_python:6.3f} s "
        f"(ratio {t_python / base:5.1f})"
    )

    print("kaplan_meier, exact mode (fractions) against the float mode, the same continuous times")
    exact_points = []
    for n in KM_EXACT:
        durations, events = sample(n, rng)
        t_exact, exact = timed(kaplan_meier, durations=durations, event_observed=events, exact=True, repeat=1)
        t_float, fast = timed(kaplan_meier, durations=durations, event_observed=events)
        worst = max(abs(float(a) - b) for a, b in zip(exact.steps.survival, fast.steps.survival, strict=True))
        exact_points.append((n, t_exact))
        print(
            f"  n = {n:>6,}: exact {t_exact:7.3f} s   float {t_float:7.4f} s   "
            f"ratio exact/float {t_exact / t_float:7.1f}   largest difference {worst:.1e}"
        )
    print(f"  growth of the exact mode: n^{growth(exact_points):.2f}")


def dense_chain(n, rng, *, exact=False):
    """
    n transient states and 2 absorbing, every move possible with an integer
    weight from 1 to 99: float probabilities summing to 1 (to rounding), or
    the same as fractions summing to exactly 1.
    """
    names = [f"s{i}" for i in range(n)]
    targets = [*names, "won", "lost"]
    matrix = {}
    for name in names:
        weights = [rng.randrange(1, 100) for _ in targets]
        total = sum(weights)
        if exact:
            matrix[name] = {t: Fraction(w, total) for t, w in zip(targets, weights, strict=True)}
        else:
            matrix[name] = {t: w / total for t, w in zip(targets, weights, strict=True)}
    return matrix


def arrays_of(matrix):
    """I - Q and [I | R] as numpy arrays, from the dict of rows, as one writes it."""
    names = list(matrix)
    n = len(names)
    q = np.array([[matrix[s].get(t, 0.0) for t in names] for s in names])
    r = np.array([[matrix[s].get("won", 0.0), matrix[s].get("lost", 0.0)] for s in names])
    return np.eye(n) - q, np.hstack((np.eye(n), r))


def bench_absorbing_chain():
    rng = random.Random(20261201)
    for _ in range(5):  # wake numpy's BLAS threads before timing anything
        np.linalg.solve(np.eye(50) * 2, np.ones((50, 52)))
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "as many as cores")
    print(
        "absorbing_chain, float mode on dense chains against numpy.linalg.solve, best of 5 "
        f"(OpenBLAS threads: {threads}; on a busy machine threaded BLAS slows both sides alike)"
    )
    ours_points, base_points = [], []
    for n in CHAIN_SIZES:
        matrix = dense_chain(n, rng)
        a, rhs = arrays_of(matrix)
        ours, chain = timed(absorbing_chain, matrix, absorbing=["won", "lost"], repeat=5)
        base, x = timed(np.linalg.solve, a, rhs, repeat=5)
        built, _ = timed(lambda m=matrix: np.linalg.solve(*arrays_of(m)), repeat=5)
        assert np.allclose(np.array(chain.fundamental), x[:, :n], atol=1e-9)
        ours_points.append((n, ours))
        base_points.append((n, built))
        print(
            f"  {n:>4} states: funnelkit {ours * 1e3:8.2f} ms   solve on ready arrays {base * 1e3:7.2f} ms "
            f"(ratio {ours / base:6.1f})   arrays built from the rows + solve {built * 1e3:7.2f} ms "
            f"(ratio {ours / built:5.2f})"
        )
    print(
        f"  growth: funnelkit n^{growth(ours_points):.2f}, rows + solve n^{growth(base_points):.2f} "
        "(reading n^2 probabilities dominates); goal: 100 states in milliseconds"
    )

    print("absorbing_chain, exact mode (fractions) against the float mode on the same fractions")
    exact_points = []
    for n in CHAIN_EXACT:
        fractions = dense_chain(n, rng, exact=True)
        t_exact, exact = timed(absorbing_chain, fractions, absorbing=["won", "lost"], repeat=1)
        t_float, fast = timed(absorbing_chain, fractions, absorbing=["won", "lost"], exact=False, repeat=5)
        worst = max(
            abs(float(a) - b)
            for ra, rb in zip(exact.fundamental, fast.fundamental, strict=True)
            for a, b in zip(ra, rb, strict=True)
        )
        exact_points.append((n, t_exact))
        print(
            f"  {n:>4} states: exact {t_exact:7.3f} s   float {t_float * 1e3:7.2f} ms   "
            f"ratio exact/float {t_exact / t_float:8.1f}   largest difference in N {worst:.1e}"
        )
    print(f"  growth of the exact mode: n^{growth(exact_points):.2f}")

    print("absorbing_chain in floats without numpy (Gaussian elimination in Python)")
    python_points = []
    with numpy_hidden(markov_module):
        for n in CHAIN_PYTHON:
            matrix = dense_chain(n, rng)
            t_python, _ = timed(absorbing_chain, matrix, absorbing=["won", "lost"], repeat=1)
            base, _ = timed(lambda m=matrix: np.linalg.solve(*arrays_of(m)), repeat=5)
            python_points.append((n, t_python))
            print(f"  {n:>4} states: {t_python:7.3f} s   (rows + numpy solve {base * 1e3:6.2f} ms)")
    print(f"  growth: n^{growth(python_points):.2f}")


def main():
    bench_kaplan_meier()
    print()
    bench_absorbing_chain()


if __name__ == "__main__":
    main()
