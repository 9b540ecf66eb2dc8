"""
Segmentation benchmark: A/B/C over N customers against a bare ``sorted()`` and
cumulative-sum loop doing the same grading, in the same process.  Only the
ratio means anything on a noisy machine.

    python benchmarks/bench_segments.py [--quick]
"""

import random
import sys
import time
from decimal import Decimal

from funnelkit.segments import abc

QUICK = "--quick" in sys.argv
N = 100_000 if QUICK else 1_000_000


def bare(values):
    """What a hand-written script does: sort, sum, walk."""
    total = sum(values.values())
    a_cut, b_cut = total * Decimal("0.8"), total * Decimal("0.95")
    tiers = {}
    before = Decimal(0)
    for cid, value in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])):
        tiers[cid] = "A" if before < a_cut else "B" if before < b_cut else "C"
        before += value
    return tiers


def timed(fn, *args):
    best, result = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    rng = random.Random(20261125)
    # Pareto-distributed revenues in cents: a few large customers, a long tail.
    values = {f"cust-{i:07d}": Decimal(int(rng.paretovariate(1.16) * 10_000)).scaleb(-2) for i in range(N)}
    ours, result = timed(abc, values)
    base, tiers = timed(bare, values)
    assert {k: t.value for k, t in result.tiers.items()} == tiers
    print(f"A/B/C over {N:,} customers (best of 3)")
    print(f"  funnelkit abc()               {ours:7.3f} s")
    print(
        f"  bare sorted() + cumsum loop   {base:7.3f} s   ratio funnelkit/bare {ours / base:5.2f} (goal <= 2)"
    )
    print(f"  {result!r}".replace("\n", "\n  "))


def kpis():
    """Activity KPIs over a generator of activities: throughput and peak memory."""
    import datetime as dt
    import tracemalloc

    from funnelkit import Activity
    from funnelkit.segments import activity_kpis

    n = N // 10 if QUICK else N
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    kinds = ["visit", "call", "email", "meeting"]

    def stream():
        for i in range(n):
            yield Activity(
                id=f"a{i}", kind=kinds[i % 4], at=start + dt.timedelta(minutes=7 * i), rep_id=f"rep-{i % 50}",
                customer_id=f"c{i % 997}", purpose="p", feedback="f" if i % 3 else None,
            )  # fmt: skip

    began = time.perf_counter()
    count = sum(1 for _ in stream())
    build_time = time.perf_counter() - began
    began = time.perf_counter()
    rows = activity_kpis(stream(), period="week", tz="Asia/Shanghai")
    elapsed = time.perf_counter() - began - build_time
    assert sum(r.calls + r.visits + r.emails + r.meetings for r in rows) == count
    tracemalloc.start()
    activity_kpis(stream(), period="week", tz="Asia/Shanghai")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"activity KPIs per rep and week over {n:,} streamed activities")
    print(
        f"  {len(rows):,} rows; {n / max(elapsed, 1e-9):,.0f} activities/s counted (building them excluded)"
    )
    print(f"  peak traced memory {peak / 1e6:.2f} MB: the rows and one activity at a time")


if __name__ == "__main__":
    main()
    kpis()
