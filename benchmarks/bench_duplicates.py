"""
Duplicates benchmark: find_duplicates (blocking) over planted books of
customers, against scoring every pair (the naive all-pairs baseline, run in
the same process at small sizes), with the growth exponent k of each
(time ∝ n^k, fitted from the sizes run) and precision and recall against
the planted truth.  Only ratios and exponents mean anything on a noisy
machine; the seconds for 100,000 customers are printed for scale.

    python benchmarks/bench_duplicates.py [--quick]
"""

import math
import sys
import time

from funnelkit.duplicates import find_duplicates, plant_duplicates
from funnelkit.duplicates._match import all_pairs

QUICK = "--quick" in sys.argv
SIZES = (5_000, 10_000, 20_000) if QUICK else (25_000, 50_000, 100_000)
SMALL = (500, 1_000) if QUICK else (1_000, 2_000)


def book(n, seed=1):
    """n customers (and their contacts) from a planted book."""
    planted = plant_duplicates(companies=math.ceil(n / 1.2) + 10, seed=seed)
    customers = planted.customers[:n]
    contacts = {c.id: planted.contacts[c.id] for c in customers if c.id in planted.contacts}
    return planted, customers, contacts


def timed(fn, *args, repeat=1, **kwargs):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def exponent(points):
    """The least-squares slope of log time against log n."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def calibration():
    """CPU seconds of ten million additions in a Python loop: the speed of this machine now."""
    start = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - start


def main():
    print(f"find_duplicates vs all pairs ({'quick' if QUICK else 'full'})")
    print(
        f"this machine: 10M additions in a loop take {calibration():.2f} s of CPU (scale the seconds by it)"
    )
    naive, blocked_small = [], []
    print(
        f"{'n':>8} {'all pairs s':>12} {'blocked s':>10} {'ratio':>7} "
        f"{'pairs (all/blocked)':>20} {'compared':>22}"
    )
    for n in SMALL:
        _, customers, contacts = book(n)
        t_all, oracle = timed(all_pairs, customers, contacts=contacts, country_code="86", repeat=2)
        t_blk, found = timed(find_duplicates, customers, contacts=contacts, country_code="86", repeat=3)
        naive.append((n, t_all))
        blocked_small.append((n, t_blk))
        assert set(found.pairs) <= set(oracle.pairs)
        print(
            f"{n:>8,} {t_all:>12.3f} {t_blk:>10.3f} {t_all / t_blk:>6.0f}x "
            f"{len(oracle.pairs):>9,}/{len(found.pairs):<10,} {oracle.compared:>11,}/{found.compared:<10,}"
        )
    print(
        f"growth exponent k: all pairs {exponent(naive):.2f}, blocked {exponent(blocked_small):.2f} (small n)"
    )
    print()
    points = []
    print(
        f"{'customers':>10} {'seconds':>8} {'cpu s':>6} {'compared':>10} {'pairs':>8} "
        f"{'precision':>9} {'recall':>7}"
    )
    for n in SIZES:
        planted, customers, contacts = book(n)
        cpu = time.process_time()
        seconds, report = timed(find_duplicates, customers, contacts=contacts, country_code="86")
        cpu = time.process_time() - cpu
        points.append((n, seconds))
        truth = {m for cluster in planted.truth for m in cluster if m[0] == "customer"}
        kept = {c.id for c in customers}
        planted_truth = tuple(
            t for t in (tuple(m for m in cluster if m in truth and m[1] in kept) for cluster in planted.truth)
            if len(t) > 1
        )  # fmt: skip
        precision, recall = type(planted)(
            customers=(), leads=(), contacts={}, truth=planted_truth
        ).precision_recall(report)
        print(
            f"{n:>10,} {seconds:>8.2f} {cpu:>6.2f} {report.compared:>10,} {len(report.pairs):>8,} "
            f"{float(precision):>9.3f} {float(recall):>7.3f}"
        )
    k = exponent(points)
    print(f"growth exponent k (blocked, {SIZES[0]:,} to {SIZES[-1]:,}): {k:.2f}")
    n_big, t_big = points[-1]
    n_small, t_small = naive[-1]
    projected = t_small * (n_big / n_small) ** 2
    print(
        f"all pairs at {n_big:,} projected from {n_small:,} by n^2: {projected:,.0f} s "
        f"({projected / t_big:,.0f}x the blocked {t_big:.1f} s)"
    )


if __name__ == "__main__":
    main()
