"""
Forecast benchmark, ratios against baselines in the same process:

- the weighted forecast by owner and month over N opportunities against a bare
  loop doing the same sum (Decimal product, rounded per deal, summed per group);
- against pandas, counting the DataFrame built from the objects (if pandas is
  installed: ``pip install pandas``);
- the exact Poisson-binomial of 5,000 deals; Monte Carlo throughput;
- ``backtest`` with 52 weekly cut-offs against one replay of the history
  (``as_of`` at the last instant), on the notebook benchmark's synthetic
  company at two sizes: the backtest with a forecaster that costs nothing
  (the backtest's own work) and with the weighted pipeline forecast, each as
  a multiple of one replay, and the weighted pipeline on the deals and
  history kept as columns, with the growth exponent k;
- ``time_to_close`` against a plain loop walking the same chain with the
  empirical stays (no censoring), with the growth exponent k;
- ``expected_bookings`` of a quarter on simulated companies at two sizes,
  with its 12 past periods, against one replay of the history (``as_of`` at
  now) and a hand-written run rate (a loop summing the last three quarters'
  wins), with the growth exponent k.

    python benchmarks/bench_forecast.py [--quick]
"""

import datetime as dt
import math
import random
import sys
import time
from decimal import ROUND_HALF_EVEN, Decimal

from funnelkit import Money, Opportunity, OpportunityStatus
from funnelkit.forecast import simulate_revenue, weighted_forecast, win_count
from funnelkit.stages import default_pipeline

QUICK = "--quick" in sys.argv
N = 100_000 if QUICK else 1_000_000
T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def timed(fn, *args, repeat=3):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def make_deals(n, rng):
    """N checked-equivalent deals, built fast from one checked template (setup, not measured)."""
    pipeline = default_pipeline()
    stages = [s.key for s in pipeline.stages if s.key != "lost"]
    template = Opportunity(
        id="t",
        customer_id="c",
        owner="o",
        pipeline="default",
        stage="contact",
        created_at=T0,
        stage_entered_at=T0,
    )
    slots = {
        name: Opportunity.__dict__[name].__set__
        for name in ("id", "owner", "stage", "status", "amount", "expected_close")
    }
    out = []
    for i in range(n):
        o = object.__new__(Opportunity)
        for name in Opportunity.__attrs_attrs__:
            object.__setattr__(o, name.name, getattr(template, name.name))
        stage = rng.choice(stages)
        slots["id"](o, f"o{i}")
        slots["owner"](o, f"rep{rng.randrange(200):03d}")
        slots["stage"](o, stage)
        slots["status"](o, OpportunityStatus.WON if stage == "won" else OpportunityStatus.OPEN)
        slots["amount"](o, Money.of(f"{rng.randrange(1_000, 10_000_000)}.{rng.randrange(100):02d}", "CNY"))
        slots["expected_close"](o, dt.date(2026, rng.randint(1, 12), rng.randint(1, 28)))
        out.append(o)
    return pipeline, out


def bare(deals, pipeline):
    """What a hand-written script does: look up p, multiply, round per deal, sum per (owner, month)."""
    probs = {s.key: s.probability for s in pipeline.stages}
    cent = Decimal("0.01")
    acc = {}
    for o in deals:
        if o.status is OpportunityStatus.LOST or o.amount is None:
            continue
        a = o.amount.amount
        if o.status is OpportunityStatus.WON:
            w, when = a, o.stage_entered_at.date()
        else:
            w, when = (a * probs[o.stage]).quantize(cent, rounding=ROUND_HALF_EVEN), o.expected_close
        key = (o.owner, f"{when.year:04d}-{when.month:02d}")
        got = acc.get(key)
        acc[key] = w if got is None else got + w
    return acc


def with_pandas(deals, pipeline):
    import pandas as pd

    probs = {s.key: float(s.probability) for s in pipeline.stages}
    frame = pd.DataFrame(
        {
            "owner": [o.owner for o in deals],
            "stage": [o.stage for o in deals],
            "won": [o.status is OpportunityStatus.WON for o in deals],
            "amount": [o.amount.amount for o in deals],
            "when": [
                o.stage_entered_at.date() if o.status is OpportunityStatus.WON else o.expected_close
                for o in deals
            ],
        }
    )
    p = frame["stage"].map(probs)
    frame["weighted"] = [
        (a * Decimal(str(q))).quantize(Decimal("0.01")) if not w else a
        for a, q, w in zip(frame["amount"], p, frame["won"], strict=True)
    ]
    frame["month"] = pd.to_datetime(frame["when"]).dt.strftime("%Y-%m")
    return frame.groupby(["owner", "month"])["weighted"].sum()


def main():
    rng = random.Random(20261125)
    pipeline, deals = make_deals(N, rng)
    print(f"weighted forecast by owner and month, {N:,} deals (best of 3)")
    ours, forecast = timed(lambda: weighted_forecast(deals, pipeline, by=["owner", "month"]))
    base, plain = timed(bare, deals, pipeline)
    assert {ln.key: ln.weighted.amount for ln in forecast.lines} == plain
    print(f"  funnelkit {ours:6.3f} s   bare loop {base:6.3f} s   ratio {ours / base:5.2f} (goal <= 1.5)")
    try:
        import pandas as pd  # noqa: F401
    except ImportError:
        print("  pandas is not installed: pip install pandas to compare")
    else:
        pan, _ = timed(with_pandas, deals, pipeline, repeat=1)
        print(
            f"  pandas (DataFrame from the objects + groupby) {pan:6.3f} s   "
            f"ratio funnelkit/pandas {ours / pan:5.2f}"
        )

    from funnelkit.forecast._distributions import _pmf_exact

    times = []
    for n in (5_000, 20_000, 100_000):
        probs = [Decimal(rng.randrange(1, 100)) / 100 for _ in range(n)]
        t, dist = timed(win_count, probs, repeat=1)
        times.append((n, t))
        print(f"Poisson-binomial of {n:>7,} deals: {t:6.3f} s; p10/p50/p90 {dist.p10}/{dist.p50}/{dist.p90}")
    (n1, t1), (n2, t2) = times[1], times[2]
    k = math.log(t2 / t1) / math.log(n2 / n1)
    print(f"  growth: time ~ n^{k:.2f} (the numpy path when numpy is installed)")
    floats = [float(p) for p in probs[:5_000]]
    t, _ = timed(_pmf_exact, floats, repeat=1)
    print(f"  the pure-Python recurrence (no numpy) of 5,000 deals: {t:6.3f} s")

    pairs = [(d.amount, pipeline.stage(d.stage).probability) for d in deals[:1_000]]
    t, _ = timed(lambda: simulate_revenue(pairs, trials=2_000, rng=7), repeat=1)
    print(
        f"Monte Carlo: 1,000 deals x 2,000 trials in {t:6.3f} s = {2_000_000 / t / 1e6:5.2f} M deal-trials/s"
    )

    bench_backtest()
    bench_close_times()
    bench_bookings()


def bench_backtest():
    """52 weekly cut-offs against one replay (as_of), on the notebook benchmark's company."""
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    import bench_notebook as nb

    from funnelkit.forecast import WeightedPipeline, as_of, backtest
    from funnelkit.stages import HistoryColumns, events_from_history
    from funnelkit.tables import OpportunityColumns, from_table

    cutoffs = [(t.to_pydatetime(), (t + nb.HORIZON).to_pydatetime()) for t in nb.CUTOFFS]
    last = cutoffs[-1][1]

    def free(_open_deals):
        return Money.of(0, nb.CURRENCY)

    print("\nbacktest, 52 weekly cut-offs, against one replay (as_of at the last instant); CPU s, best of 3")
    sizes = (5_000, 20_000) if QUICK else (20_000, 100_000)
    seen = {}
    for n in sizes:
        deals, history = nb.company(n)
        opps, events = from_table(Opportunity, deals), events_from_history(history, nb.PIPELINE)
        table, columns = OpportunityColumns(deals), HistoryColumns(history, nb.PIPELINE)
        forecast = WeightedPipeline(pipeline=nb.PIPELINE, currency=nb.CURRENCY)
        replay = cpu(lambda o=opps, e=events: as_of(o, e, now=last))
        own = cpu(lambda o=opps, e=events: backtest(o, e, cutoffs=cutoffs, forecast=free, currency="EUR"))
        weighted = cpu(
            lambda o=opps, e=events, f=forecast: backtest(o, e, cutoffs=cutoffs, forecast=f, currency="EUR")
        )
        swept = cpu(
            lambda o=table, e=columns, f=forecast: backtest(o, e, cutoffs=cutoffs, forecast=f, currency="EUR")
        )
        seen[n] = (replay, own, weighted, swept)
        print(
            f"  {n:>7,} deals, {len(events):>9,} events: one replay {replay:6.3f} s; backtest "
            f"{own:6.3f} s = {own / replay:4.2f} replays (goal <= 2), with the weighted forecast "
            f"{weighted:6.3f} s = {weighted / replay:4.2f} replays; on columns {swept:6.3f} s = "
            f"{swept / replay:4.2f} replays"
        )
    (n1, a), (n2, b) = seen.items()
    ks = [math.log(y / x) / math.log(n2 / n1) for x, y in zip(a, b, strict=True)]
    print(
        f"  growth k: replay {ks[0]:.2f}, backtest {ks[1]:.2f}, with the forecast {ks[2]:.2f}, "
        f"on columns {ks[3]:.2f}"
    )


def bench_close_times():
    """time_to_close against a plain loop walking the same chain, over trials and over history."""
    import pathlib

    import attrs

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    import bench_notebook as nb

    from funnelkit.forecast import time_to_close
    from funnelkit.stages import events_from_history

    pipeline = attrs.evolve(nb.PIPELINE, allow_backward=True)  # the company's deals go back too
    print("\ntime_to_close against a plain loop (empirical stays, random.choices); CPU s, best of 3")
    seen = {}
    for n, trials in ((5_000, 500), (20_000, 2_000)) if QUICK else ((20_000, 1_000), (80_000, 4_000)):
        _, history = nb.company(n)
        events = events_from_history(history, pipeline)
        ours = cpu(lambda e=events, t=trials: time_to_close(e, pipeline, rng=1, trials=t), repeat=1)
        loop = cpu(lambda e=events, t=trials: plain_walks(e, pipeline, t), repeat=1)
        seen[n] = (ours, loop)
        print(
            f"  {n:>7,} deals ({len(events):,} events), {trials:,} trials a stage: time_to_close "
            f"{ours:6.3f} s, plain loop {loop:6.3f} s, ratio {ours / loop:4.2f}"
        )
    (n1, a), (n2, b) = seen.items()
    ks = [math.log(y / x) / math.log(n2 / n1) for x, y in zip(a, b, strict=True)]
    print(
        f"  growth k (history and trials grown together): time_to_close {ks[0]:.2f}, plain loop {ks[1]:.2f}"
    )


def bench_bookings():
    """expected_bookings of a quarter against one replay and a hand-written run rate, at two sizes."""
    from funnelkit.forecast import as_of, expected_bookings
    from funnelkit.simulation import simulate_company

    print("\nexpected_bookings of a quarter (12 past periods) on simulated companies; CPU s, best of 3")
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    now = start + dt.timedelta(days=800)
    end = now + dt.timedelta(days=91)
    seen = {}
    for per_day in (1.5, 6.0) if QUICK else (3.0, 12.0):
        co = simulate_company(seed=3, start=start, days=900, deals_per_day=per_day)
        deals = list(as_of(co.opportunities, co.events, now=now))
        known = [e for e in co.events if e.at <= now]
        ours = cpu(
            lambda d=deals, k=known, c=co: expected_bookings(d, k, c.pipeline, start=now, end=end, now=now)
        )
        replay = cpu(lambda c=co: as_of(c.opportunities, c.events, now=now))
        rate = cpu(lambda d=deals: plain_run_rate(d, now, dt.timedelta(days=91)))
        seen[len(deals)] = (ours, replay, rate)
        print(
            f"  {len(deals):>7,} deals ({len(known):,} events): expected_bookings {ours:6.3f} s, one replay "
            f"{replay:6.3f} s (ratio {ours / replay:5.1f}), hand-written run rate {rate:6.3f} s"
        )
    (n1, a), (n2, b) = seen.items()
    ks = [math.log(y / x) / math.log(n2 / n1) for x, y in zip(a, b, strict=True)]
    print(f"  growth k: expected_bookings {ks[0]:.2f}, one replay {ks[1]:.2f}, run rate {ks[2]:.2f}")


def plain_run_rate(deals, now, length):
    """The mean of the last three periods' won amounts, by hand."""
    total = Decimal(0)
    for j in range(3):
        lo, hi = now - (j + 1) * length, now - j * length
        total += sum(
            (o.amount.amount for o in deals if o.status is OpportunityStatus.WON and o.amount is not None
             and lo <= o.stage_entered_at < hi),
            Decimal(0),
        )  # fmt: skip
    return total / 3


def plain_walks(events, pipeline, trials):
    """
    The hand-written simulation: the moves and the stays counted from the events, then from each
    stage a walk to a close drawing the stays seen.
    """
    from funnelkit.forecast._markov import transitions

    matrix = transitions(events, pipeline, smoothing=1)
    stays = {k: [] for k in matrix}
    for e in events:
        if e.from_stage in stays:
            stays[e.from_stage].append(e.time_in_stage)
    rng = random.Random(1)
    rows = {k: (list(v), [float(p) for p in v.values()]) for k, v in matrix.items()}
    out = {}
    for start in matrix:
        times = []
        for _ in range(trials):
            key, spent = start, dt.timedelta(0)
            while key in rows:
                spent += rng.choice(stays[key])
                targets, weights = rows[key]
                key = rng.choices(targets, weights)[0]
            times.append(spent)
        times.sort()
        out[start] = times[len(times) // 2]
    return out


def cpu(fn, repeat=3):
    """The best CPU time of *repeat* calls of *fn*."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


if __name__ == "__main__":
    main()
