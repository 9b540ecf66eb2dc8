"""
expected_bookings at scale, ratios against baselines in the same process.

Simulated companies (``simulate_company``, each simulated once per run and
reused) of about 10k, 30k and 100k deals (``--huge``: also a million, a
thousand deals a day over a thousand days; ``--quick``: 3k and 10k), each
forecast for a quarter from a "now" ten days before the end of its history:

- ``expected_bookings`` with its default 12 past periods and with none, in
  CPU seconds (``time.process_time``), with numpy (the fast path above its
  thresholds) and, on the two smallest sizes, the pure-Python path alone
  (numpy's path switched off): the pure path is the oracle, numpy's the one
  a large history takes;
- the baseline: a hand-written numpy computation of the core of the same
  thing from ready arrays (built before the clock starts): the
  Aalen-Johansen estimate of each stage over its stays (a sort, the
  distinct times, a running product) and the weighted sum over the open
  deals of amount times each stage's chance of ending won; ratios of
  ``expected_bookings`` to it (for 12 past periods, to 13 of it: one per
  instant forecast);
- the growth exponent k (time proportional to n^k) between each pair of
  sizes, and a cProfile of the largest size's run with 12 past periods:
  where the time goes.

    python benchmarks/bench_bookings.py [--quick] [--huge]
"""

import cProfile
import datetime as dt
import io
import itertools
import math
import pstats
import sys
import time

from funnelkit.forecast import _bookings, as_of, expected_bookings
from funnelkit.simulation import simulate_company

QUICK = "--quick" in sys.argv
HUGE = "--huge" in sys.argv
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
#: (deals a day, days): about 10k, 30k, 100k deals (and a million with --huge).
SIZES = [(3.0, 1000), (10.0, 1000)] if QUICK else [(10.0, 1000), (30.0, 1000), (100.0, 1000)]
if HUGE:
    SIZES.append((1000.0, 1000))
#: The sizes also run on the pure-Python path alone (it is the slow one).
PURE_SIZES = 2


def cpu(fn):
    """CPU seconds of one call of *fn*, and its result."""
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def company(per_day, days):
    """A simulated company and what was known ten days before its history ends."""
    co = simulate_company(seed=3, start=START, days=days, deals_per_day=per_day)
    now = START + dt.timedelta(days=days - 10)
    deals = list(as_of(co.opportunities, co.events, now=now))
    known = [e for e in co.events if e.at <= now]
    return co, now, deals, known


def ready_arrays(np, co, now, deals, known):
    """
    The baseline's input, made before the clock starts: per open stage, the days of each stay begun
    within a year and its destination code (-1 still under way); the open deals' amounts and stages.
    """
    open_stages = sorted(x.key for x in co.pipeline.open_stages)
    code = {k: i for i, k in enumerate(sorted(x.key for x in co.pipeline.stages))}
    since = now - dt.timedelta(days=365)
    moves = {}
    for e in known:
        if type(e).__name__ == "StageChanged":
            moves.setdefault(e.opportunity_id, []).append(e)
    stays = {k: ([], []) for k in open_stages}
    for o in deals:
        history = sorted(moves.get(o.id, ()), key=lambda e: (e.version, e.at))
        entered, stage = o.created_at, history[0].from_stage if history else o.stage
        for e in history:
            if stage in stays and entered >= since:
                stays[stage][0].append(max((e.at - entered) / dt.timedelta(days=1), 0.0))
                stays[stage][1].append(code[e.to_stage])
            entered, stage = e.at, e.to_stage
        if stage in stays and o.status.value == "open" and entered >= since:
            stays[stage][0].append(max((now - entered) / dt.timedelta(days=1), 0.0))
            stays[stage][1].append(-1)
    arrays = {k: (np.array(x, dtype=float), np.array(d, dtype=np.int64)) for k, (x, d) in stays.items()}
    mine = [o for o in deals if o.status.value == "open" and o.amount is not None and o.stage in arrays]
    amounts = np.array([float(o.amount.amount) for o in mine])
    stage_of = np.array([open_stages.index(o.stage) for o in mine], dtype=np.int64)
    won = code[next(x.key for x in co.pipeline.stages if x.outcome.value == "won")]
    return open_stages, arrays, amounts, stage_of, won


def baseline(np, prepared):
    """Aalen-Johansen per stage with numpy, then the open deals' amounts times their stage's chance."""
    open_stages, arrays, amounts, stage_of, won = prepared
    chance = np.zeros(len(open_stages))
    for s, stage in enumerate(open_stages):
        x, dest = arrays[stage]
        if not len(x):
            continue
        order = np.argsort(x, kind="stable")
        x, dest = x[order], dest[order]
        _, first = np.unique(x, return_index=True)
        removed = np.diff(np.append(first, len(x)))
        ended = np.add.reduceat((dest >= 0).astype(np.int64), first)
        at_risk = len(x) - np.concatenate(([0], np.cumsum(removed)[:-1]))
        survival = np.cumprod(1.0 - ended / at_risk)
        before = np.concatenate(([1.0], survival[:-1]))
        wins = np.add.reduceat((dest == won).astype(np.int64), first)
        chance[s] = float(np.sum(before * wins / at_risk))
    return float(amounts @ chance[stage_of])


def growth(sizes, values):
    """The exponent k of time = c n^k between consecutive sizes."""
    out = []
    for (n1, t1), (n2, t2) in itertools.pairwise(zip(sizes, values, strict=True)):
        if t1 > 0 and t2 > 0 and n2 != n1:
            out.append(f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}")
        else:
            out.append("n/a")
    return ", ".join(out)


def main():
    """Each size: expected_bookings (fast, and pure on the small ones) against the numpy baseline."""
    import numpy as np

    print(
        "expected_bookings of a quarter, CPU seconds (time.process_time); baseline: numpy AJ + weighted sum"
    )
    rows = []
    last_profile = None
    for index, (per_day, days) in enumerate(SIZES):
        simulated, (co, now, deals, known) = cpu(lambda p=per_day, d=days: company(p, d))
        end = now + dt.timedelta(days=91)
        args = (deals, known, co.pipeline)
        kw = {"start": now, "end": end, "now": now}
        if index == 0:  # warm up (imports, caches) before the first clock
            expected_bookings(*args, **kw, backtests=1)
        prepared = ready_arrays(np, co, now, deals, known)
        base, total = min(cpu(lambda p=prepared: baseline(np, p)) for _ in range(5))
        t12, report = cpu(lambda a=args, k=kw: expected_bookings(*a, **k, backtests=12))
        t0, _ = cpu(lambda a=args, k=kw: expected_bookings(*a, **k, backtests=0))
        pure12 = pure0 = float("nan")
        if index < PURE_SIZES:
            # the pure-Python path on purpose: numpy's thresholds out of reach
            saved = _bookings._FAST_FROM, _bookings._FAST_STAYS  # noqa: SLF001
            _bookings._FAST_FROM = _bookings._FAST_STAYS = 10**18  # noqa: SLF001
            try:
                pure12, same = cpu(lambda a=args, k=kw: expected_bookings(*a, **k, backtests=12))
                pure0, _ = cpu(lambda a=args, k=kw: expected_bookings(*a, **k, backtests=0))
            finally:
                _bookings._FAST_FROM, _bookings._FAST_STAYS = saved  # noqa: SLF001
            if repr(same) != repr(report):
                print(f"  note: the pure path says {same!r}, numpy's {report!r}")
        opened = sum(o.status.value == "open" for o in deals)
        rows.append((len(deals), t12, t0, pure12, pure0, base))
        print(
            f"  {len(deals):>9,} deals ({opened:,} open, {len(known):,} events; "
            f"simulated in {simulated:.1f} s): 12 past {t12:8.2f} s, none {t0:7.2f} s; "
            f"pure path 12 past {pure12:8.2f} s, none {pure0:7.2f} s; "
            f"baseline {base * 1e3:7.2f} ms (expected {total:,.0f})"
        )
        print(
            f"  {'':>9}  ratios: 12 past / (13 x baseline) {t12 / (13 * base):8.0f}, "
            f"none / baseline {t0 / base:8.0f}, pure / numpy path (12 past) {pure12 / t12:5.1f}, "
            f"12 past / none {t12 / t0:5.1f}"
        )
        print(f"  {'':>9}  {report!r}")
        if index == len(SIZES) - 1:
            profile = cProfile.Profile()
            profile.enable()
            expected_bookings(*args, **kw, backtests=12)
            profile.disable()
            last_profile = profile
    sizes = [r[0] for r in rows]
    print(
        f"growth k (time ~ n^k) between sizes: 12 past {growth(sizes, [r[1] for r in rows])}; "
        f"none {growth(sizes, [r[2] for r in rows])}; baseline {growth(sizes, [r[5] for r in rows])}"
    )
    pure = [(r[0], r[3]) for r in rows if not math.isnan(r[3])]
    if len(pure) >= 2:
        print(f"growth k, pure path (12 past): {growth([n for n, _ in pure], [t for _, t in pure])}")
    if last_profile is not None:
        out = io.StringIO()
        pstats.Stats(last_profile, stream=out).sort_stats("tottime").print_stats(15)
        print(f"\nwhere the time goes at {sizes[-1]:,} deals (12 past periods), by own time:")
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


if __name__ == "__main__":
    main()
