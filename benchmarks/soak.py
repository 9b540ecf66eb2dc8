"""
The soak run: a full simulated year of a 50-rep company with 20,000 leads,
every invariant checked every week.  Prints throughput and peak memory.

    python benchmarks/soak.py [--reps 50] [--leads 20000] [--days 365] [--seed 0] [--work-rate 0.6]
"""

import argparse
import time
import tracemalloc

from funnelkit.simulation import simulate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check-every", type=int, default=7)
    parser.add_argument("--capacity", type=int, nargs=2, default=(40, 120), metavar=("LOW", "HIGH"))
    parser.add_argument("--work-rate", type=float, default=0.6)
    args = parser.parse_args()
    tracemalloc.start()
    start = time.perf_counter()
    result = simulate(
        reps=args.reps,
        leads=args.leads,
        days=args.days,
        seed=args.seed,
        check_every=args.check_every,
        capacity=tuple(args.capacity),
        work_rate=args.work_rate,
    )
    took = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"simulated {args.days} days, {args.reps} reps, {result.leads:,} leads in {took:.1f} s")
    print(
        f"  {result.moves:,} stage moves, {result.refused_moves:,} refused, {result.activities:,} activities,"
    )
    print(
        f"  {result.converted + result.repeats:,} deals ({result.converted:,} from leads, "
        f"{result.repeats:,} repeat; {result.won:,} won, {result.lost:,} lost, {result.open:,} open, "
        f"{result.stalled:,} of them stalled),"
    )
    print(f"  {result.reassigned:,} records reassigned, {result.checks} invariant checks: all held")
    print(
        f"  {result.leads / took:,.0f} leads/s, {result.moves / took:,.0f} moves/s, "
        f"peak memory {peak / 2**20:.0f} MiB"
    )
    print(f"  backtest WAPE of the weighted forecast: {result.wape}")


if __name__ == "__main__":
    main()
