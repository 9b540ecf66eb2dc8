"""
Retention (churn per month and tier) at 10,000 customers / 100,000 deals and 100,000 customers /
1,000,000 deals, against a hand-written plain-Python loop doing the same count (every customer
checked in every month) and, when pandas is installed, a pandas customer x month table, in the same
process.  On a noisy machine only the ratios and the growth exponent k (time ~ n^k, fitted from the
two sizes) mean anything; k near 1 is linear.

    python benchmarks/bench_retention.py [--quick]

--quick runs 2,000 customers / 20,000 deals and 20,000 customers / 200,000 deals.
"""

import datetime as dt
import math
import random
import sys
import time
from collections import Counter

from funnelkit import Money, Opportunity
from funnelkit.segments import purchase_cohorts, retention

QUICK = "--quick" in sys.argv
SIZES = ((2_000, 20_000), (20_000, 200_000)) if QUICK else ((10_000, 100_000), (100_000, 1_000_000))
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TIERS = ("A", "B", "C")


def book(customers, deals, seed=20261202):
    """*deals* deals of *customers* customers over two years, 60 % won, and a tier per customer."""
    rng = random.Random(seed)
    amounts = [Money.from_minor(rng.randrange(10**4, 10**7), "USD") for _ in range(1000)]
    out = []
    for i in range(deals):
        at = T0 + rng.randrange(0, 730 * 24) * dt.timedelta(hours=1)
        won = rng.random() < 0.6
        out.append(
            Opportunity(
                id=f"o{i}", customer_id=f"c{rng.randrange(customers)}", owner="ann", pipeline="p",
                stage="won" if won else "contact", status="won" if won else "open", created_at=at,
                stage_entered_at=at, amount=amounts[i % 1000],
            )
        )  # fmt: skip
    tiers = {f"c{k}": TIERS[k % 3] for k in range(customers)}
    return out, tiers


def _month(at):
    return at.year * 12 + at.month - 1


def plain(deals, tiers):
    """What a script does by hand: each customer's months, then every customer in every month."""
    last = _month(NOW) - 1
    months: dict[str, set[int]] = {}
    for o in deals:
        if o.status == "won" and o.stage_entered_at <= NOW and _month(o.stage_entered_at) <= last:
            months.setdefault(o.customer_id, set()).add(_month(o.stage_entered_at))
    first = min(min(s) for s in months.values())
    counts = Counter()
    for p in range(first, last + 1):
        for cid, mine in months.items():
            now_on, before = p in mine, p - 1 in mine
            if now_on and before:
                counts[(p, tiers[cid], "retained")] += 1
            elif now_on:
                counts[(p, tiers[cid], "new" if min(mine) == p else "reactivated")] += 1
            elif before:
                counts[(p, tiers[cid], "churned")] += 1
    return counts


def with_pandas(pd, deals, tiers):
    """A customer x month table of purchases, shifted by a month, counted per month and tier."""
    last = _month(NOW) - 1
    frame = pd.DataFrame(
        {"c": [o.customer_id for o in deals], "m": [_month(o.stage_entered_at) for o in deals],
         "won": [o.status == "won" for o in deals]}
    )  # fmt: skip
    frame = frame[frame.won & (frame.m <= last)]
    table = pd.crosstab(frame.c, frame.m).reindex(columns=range(frame.m.min(), last + 1), fill_value=0) > 0
    before = table.shift(1, axis=1, fill_value=False)
    ever = table.cummax(axis=1).shift(1, axis=1, fill_value=False)
    tier = pd.Series(tiers).reindex(table.index)
    out = {}
    for name, cells in (
        ("retained", table & before),
        ("new", table & ~before & ~ever),
        ("reactivated", table & ~before & ever),
        ("churned", ~table & before),
    ):
        out[name] = cells.groupby(tier).sum()
    return out


def _retention(deals, tiers):
    return retention(deals, now=NOW, period="month", tiers=tiers)


def _cohorts(deals):
    return purchase_cohorts(deals, now=NOW, period="month")


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main():
    try:
        import pandas as pd
    except ImportError:
        pd = None
    rows = []
    for customers, deals in SIZES:
        made, tiers = book(customers, deals)
        t_fk, report = timed(_retention, made, tiers)
        t_cohorts, _ = timed(_cohorts, made)
        t_plain, counts = timed(plain, made, tiers)
        mine = Counter()
        for r in report:
            for status in ("new", "reactivated", "retained", "churned"):
                if getattr(r, status):
                    mine[(r.start.year * 12 + r.start.month - 1, r.tier.value, status)] += getattr(r, status)
        assert mine == counts, "retention and the plain loop disagree"
        t_pd = timed(with_pandas, pd, made, tiers)[0] if pd is not None else None
        rows.append((customers, deals, t_fk, t_cohorts, t_plain, t_pd))
        pandas_text = "n/a" if t_pd is None else f"{t_pd:.2f} s (funnelkit / pandas {t_fk / t_pd:.2f})"
        print(
            f"{customers:>7,} customers {deals:>9,} deals: retention {t_fk:.2f} s, "
            f"cohorts {t_cohorts:.2f} s, "
            f"plain loop {t_plain:.2f} s (funnelkit / plain {t_fk / t_plain:.2f}), pandas {pandas_text}"
        )
    (_, n1, f1, c1, p1, d1), (_, n2, f2, c2, p2, d2) = rows
    scale = math.log(n2 / n1)
    print(
        f"growth exponent k: retention {math.log(f2 / f1) / scale:.2f}, "
        f"cohorts {math.log(c2 / c1) / scale:.2f}, "
        f"plain loop {math.log(p2 / p1) / scale:.2f}"
        + ("" if d1 is None else f", pandas {math.log(d2 / d1) / scale:.2f}")
    )


if __name__ == "__main__":
    main()
