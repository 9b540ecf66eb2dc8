"""
Column benchmark (issue 16, item 2): funnelkit on ready columns beside the
hand-written numpy/pandas code on the same columns and beside funnelkit's own
object path, in one process, at two sizes; ratios and the growth exponent k
(time ~ n^k, fitted from the two sizes).  Only ratios mean anything on a
noisy machine.

- the weighted forecast by owner: ``weighted_forecast_columns`` (exact:
  integer cents, half-even per deal) against pandas on a ready frame (float
  product, ``round()``, ``groupby().sum()``) and numpy with ready owner codes
  (``rint`` + ``bincount``), and against ``weighted_forecast`` over
  ``Opportunity`` objects;
- A/B/C: ``abc_columns`` (checked ids, and ``trusted=True``) against numpy on
  a ready array (``argsort``, ``cumsum``, cuts) and against ``abc`` over a dict;
- ``win_count`` without numpy (the pure-Python product tree) at 5k/10k/20k
  deals, beside the O(n^2) recurrence and numpy's FFT;
- ``simulate_revenue`` with numpy against its Python loop (the same draws).

    python benchmarks/bench_columns.py [--quick]
"""

import datetime as dt
import math
import random
import sys
import time
from decimal import Decimal
from unittest import mock

import numpy as np
import pandas as pd

from funnelkit import Money, Opportunity
from funnelkit.forecast import (
    _distributions,
    simulate_revenue,
    weighted_forecast,
    weighted_forecast_columns,
    win_count,
)
from funnelkit.forecast._distributions import _pmf_exact, _pmf_tree
from funnelkit.segments import abc, abc_columns
from funnelkit.stages import default_pipeline

QUICK = "--quick" in sys.argv
SIZES = (20_000, 100_000) if QUICK else (100_000, 1_000_000)
WIN_SIZES = (2_000, 5_000) if QUICK else (5_000, 10_000, 20_000)
T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
PIPELINE = default_pipeline()
OPEN_STAGES = [s.key for s in PIPELINE.stages if s.key not in ("won", "lost")]


def timed(fn, *, repeat=3):
    """The best of *repeat* runs, in seconds, and the last result."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def growth(times):
    """The exponent k of time ~ n^k between the first and the last (n, seconds)."""
    (n1, t1), (n2, t2) = times[0], times[-1]
    return math.log(t2 / t1) / math.log(n2 / n1)


# --- the weighted forecast -------------------------------------------------------------------


def deal_columns(n, rng):
    """n open deals: cents, stage probabilities as floats, owners (200 reps) as strs and as codes."""
    cents = rng.integers(100_000, 1_000_000_000, n)
    stage_index = rng.integers(0, len(OPEN_STAGES), n)
    probabilities = np.array([float(PIPELINE.stage(s).probability) for s in OPEN_STAGES])[stage_index]
    reps = np.array([f"rep{i:03d}" for i in range(200)], dtype=object)
    codes = rng.integers(0, 200, n)
    return cents, probabilities, stage_index, reps[codes], codes


def deal_objects(cents, stage_index, owners):
    """The same deals as checked Opportunity objects (setup, not measured)."""
    return [
        Opportunity(
            id=f"o{i}",
            customer_id="c",
            owner=owner,
            pipeline="default",
            stage=OPEN_STAGES[s],
            created_at=T0,
            stage_entered_at=T0,
            amount=Money.from_minor(c, "CNY"),
        )
        for i, (c, s, owner) in enumerate(
            zip(cents.tolist(), stage_index.tolist(), owners.tolist(), strict=True)
        )
    ]


def numpy_hidden():
    """win_count and simulate_revenue without numpy: their pure-Python paths."""
    return mock.patch.object(_distributions, "_numpy", return_value=None)


def pandas_forecast(frame):
    """The hand-written pandas: float product rounded (half-even on floats), sums per owner."""
    weighted = (frame["cents"] * frame["p"]).round()
    return (
        frame.assign(weighted=weighted)
        .groupby("owner")
        .agg(deals=("cents", "size"), amount=("cents", "sum"), weighted=("weighted", "sum"))
    )


def numpy_forecast(cents, probabilities, codes):
    """The hand-written numpy with ready owner codes: rint and bincount."""
    weighted = np.rint(cents * probabilities)
    return (
        np.bincount(codes, minlength=200),
        np.bincount(codes, weights=cents, minlength=200),
        np.bincount(codes, weights=weighted, minlength=200),
    )


def bench_weighted():
    print("weighted forecast by owner (200 owners), exact in cents; best of 3")
    print(
        f"  {'rows':>9}  {'ours/frame':>10}  {'pandas':>8}  {'ratio':>5}  {'ours/codes':>10}  {'numpy':>8}  "
        f"{'ratio':>5}"
    )
    rows = {key: [] for key in ("ours", "pandas", "codes", "numpy")}
    for n in SIZES:
        cents, probabilities, _, owners, codes = deal_columns(n, np.random.default_rng(n))
        frame = pd.DataFrame({"cents": cents, "p": probabilities, "owner": owners})
        t_ours, ours = timed(
            lambda f=frame: weighted_forecast_columns(
                f["cents"], f["p"], currency="CNY", by={"owner": f["owner"]}
            )
        )
        t_pandas, table = timed(lambda f=frame: pandas_forecast(f))
        t_codes, _ = timed(
            lambda a=cents, p=probabilities, k=codes: weighted_forecast_columns(
                a, p, currency="CNY", by={"owner": k}
            )
        )
        t_numpy, _ = timed(lambda a=cents, p=probabilities, k=codes: numpy_forecast(a, p, k))
        exact = {ln.key[0]: ln.weighted.to_minor() for ln in ours.lines}
        off = sum(1 for owner, w in table["weighted"].items() if int(w) != exact[owner])
        for key, t in (("ours", t_ours), ("pandas", t_pandas), ("codes", t_codes), ("numpy", t_numpy)):
            rows[key].append((n, t))
        print(
            f"  {n:>9,}  {t_ours:9.3f}s  {t_pandas:7.3f}s  {t_ours / t_pandas:5.2f}  {t_codes:9.3f}s  "
            f"{t_numpy:7.3f}s  {t_codes / t_numpy:5.2f}   per row: ours {t_ours / n * 1e6:.3f} us, "
            f"pandas {t_pandas / n * 1e6:.3f} us; pandas' float sums miss the exact cents for {off} of "
            f"{len(exact)} owners"
        )
    print("  growth k: " + ", ".join(f"{key} {growth(times):.2f}" for key, times in rows.items()))
    print("  against the object path (Opportunity objects built first, not measured), one run each:")
    times = []
    for n in (SIZES[0] // 5, SIZES[0]):
        cents, _, stage_index, owners, _ = deal_columns(n, np.random.default_rng(n))
        probabilities = np.array(
            [float(PIPELINE.stage(OPEN_STAGES[s]).probability) for s in stage_index.tolist()]
        )
        deals = deal_objects(cents, stage_index, owners)
        t_objects, objects = timed(lambda d=deals: weighted_forecast(d, PIPELINE, by=["owner"]), repeat=1)
        t_ours, ours = timed(
            lambda a=cents, p=probabilities, o=owners: weighted_forecast_columns(
                a, p, currency="CNY", by={"owner": o}
            )
        )
        assert objects == ours
        times.append((n, t_objects))
        print(
            f"  {n:>9,}  objects {t_objects:6.3f} s ({t_objects / n * 1e6:.2f} us a deal)   "
            f"columns {t_ours:6.3f} s"
            f"   objects/columns {t_objects / t_ours:5.1f}"
        )
    print(f"  growth k: objects {growth(times):.2f}")


# --- A/B/C ------------------------------------------------------------------------------------


def numpy_abc(values):
    """The hand-written numpy: sort, cumulative sum, cuts, tiers back in the rows' order (ties unbroken)."""
    order = np.argsort(-values)
    ranked = values[order]
    before = np.cumsum(ranked) - ranked
    total = ranked.sum()
    tiers = np.where(before < 0.8 * total, 0, np.where(before < 0.95 * total, 1, 2)).astype(np.int8)
    out = np.empty(len(values), np.int8)
    out[order] = tiers
    return out


def bench_abc():
    print("\nA/B/C of revenue in cents (Pareto: many ties), exact, ties by id; best of 3 (dict: 1 run)")
    print(
        f"  {'customers':>9}  {'trusted':>8}  {'checked':>8}  {'numpy':>8}  {'trusted/np':>10}  "
        f"{'checked/np':>10}  {'abc(dict)':>9}  {'dict/trusted':>12}"
    )
    rows = {key: [] for key in ("trusted", "checked", "numpy", "dict")}
    for n in SIZES:
        rng = random.Random(n)
        ids = np.array([f"cust-{i:07d}" for i in range(n)], dtype=object)
        cents = np.array([int(rng.paretovariate(1.16) * 10_000) for _ in range(n)], dtype=np.int64)
        t_trusted, ours = timed(lambda i=ids, v=cents: abc_columns(i, v, currency="USD", trusted=True))
        t_checked, _ = timed(lambda i=ids, v=cents: abc_columns(i, v, currency="USD"))
        t_numpy, _ = timed(lambda v=cents: numpy_abc(v))
        values = {i: Decimal(c).scaleb(-2) for i, c in zip(ids.tolist(), cents.tolist(), strict=True)}
        t_dict, oracle = timed(lambda v=values: abc(v), repeat=1)
        assert [s.count for s in ours.summary] == [s.count for s in oracle.summary]
        assert ours.tiers == oracle.tiers
        for key, t in (("trusted", t_trusted), ("checked", t_checked), ("numpy", t_numpy), ("dict", t_dict)):
            rows[key].append((n, t))
        print(
            f"  {n:>9,}  {t_trusted:7.3f}s  {t_checked:7.3f}s  {t_numpy:7.3f}s  {t_trusted / t_numpy:10.2f}  "
            f"{t_checked / t_numpy:10.2f}  {t_dict:8.2f}s  {t_dict / t_trusted:12.1f}"
        )
    print("  growth k: " + ", ".join(f"{key} {growth(times):.2f}" for key, times in rows.items()))


# --- win_count and simulate_revenue -------------------------------------------------------------


def bench_win_count():
    print("\nwin_count without numpy (the pure-Python product tree), one run each")
    times = []
    rng = random.Random(7)
    for n in WIN_SIZES:
        ps = [rng.randrange(1, 100) / 100 for _ in range(n)]
        with numpy_hidden():
            t, dist = timed(lambda ps=ps: win_count(ps), repeat=1)
        t_fft, fast = timed(lambda ps=ps: win_count(ps), repeat=1)
        worst = max(abs(a - b) for a, b in zip(dist.pmf, fast.pmf, strict=True))
        times.append((n, t))
        print(f"  {n:>7,} deals: {t:6.3f} s   numpy FFT {t_fft:6.3f} s   largest difference {worst:.1e}")
    print(f"  growth k (pure): {growth(times):.2f}   goal: 20,000 deals under 2 s without numpy")
    n = WIN_SIZES[0]
    ps = [rng.randrange(1, 100) / 100 for _ in range(n)]
    t_old, _ = timed(lambda: _pmf_exact(ps), repeat=1)
    t_new, _ = timed(lambda: _pmf_tree(ps), repeat=1)
    print(
        f"  {n:,} deals: the O(n^2) recurrence {t_old:.3f} s, the tree {t_new:.3f} s ({t_old / t_new:.1f}x)"
    )


def bench_simulate():
    print("\nsimulate_revenue, 1,000 deals: numpy against the Python loop (the same draws), one run each")
    rng = random.Random(3)
    deals = [
        (Money.from_minor(rng.randrange(10_000, 10**8), "USD"), str(rng.randrange(1, 100) / 100))
        for _ in range(1_000)
    ]
    times = {"numpy": [], "loop": []}
    for trials in (500, 2_000) if QUICK else (1_000, 4_000):
        t_np, fast = timed(lambda trials=trials: simulate_revenue(deals, trials=trials, rng=5), repeat=1)
        with numpy_hidden():
            t_loop, slow = timed(
                lambda trials=trials: simulate_revenue(deals, trials=trials, rng=5), repeat=1
            )
        assert fast.outcomes == slow.outcomes
        times["numpy"].append((trials, t_np))
        times["loop"].append((trials, t_loop))
        print(
            f"  {trials:>6,} trials: numpy {t_np:6.3f} s   loop {t_loop:6.3f} s   "
            f"loop/numpy {t_loop / t_np:5.1f}"
            f"   ({1_000 * trials / t_np / 1e6:.1f} M deal-trials/s)"
        )
    print("  growth k: " + ", ".join(f"{key} {growth(t):.2f}" for key, t in times.items()))


def main():
    bench_weighted()
    bench_abc()
    bench_win_count()
    bench_simulate()


if __name__ == "__main__":
    main()
