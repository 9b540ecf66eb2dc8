"""
Intake benchmark: a CRM's stage history (deal, stage, time) as engine events,
``events_from_history`` against a hand-written loop that sorts each deal's rows
and builds the same ``StageChanged`` values without checking the rows, in the
same process, at two sizes; the growth exponent k of time ~ n^k says whether it
stays near-linear.  Only the ratios mean anything on a noisy machine.

    python benchmarks/bench_intake.py [--quick]
"""

import datetime as dt
import itertools
import math
import random
import sys
import time

from funnelkit.stages import StageChanged, default_pipeline, events_from_history

QUICK = "--quick" in sys.argv
SIZES = (2_000, 20_000) if QUICK else (10_000, 100_000)  # deals; about 4 rows each
T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
STEPS = [
    "contact",
    "needs_confirmed",
    "proposal",
    "approved",
    "shortlisted",
    "selected",
    "negotiation",
    "won",
]


def history(deals, seed=0):
    """Rows of deals that advance a few steps and then are won, lost or left open, shuffled."""
    rng = random.Random(seed)
    rows = []
    for d in range(deals):
        at = T0 + dt.timedelta(hours=rng.randrange(0, 24 * 90))
        path = STEPS[: rng.randint(1, len(STEPS))]
        if path[-1] != "won" and rng.random() < 0.3:
            path = [*path, "lost"]
        for stage in path:
            row = {"opportunity_id": f"d{d}", "stage": stage, "at": at}
            if stage == "lost":
                row["lost_reason"] = "price"
            rows.append(row)
            at += dt.timedelta(hours=rng.randrange(1, 24 * 20))
    rng.shuffle(rows)
    return rows


def by_hand(rows, pipeline):
    """What a script writes: group, sort, build the events (kinds from the stage order; rows unchecked)."""
    order = {key: i for i, key in enumerate(pipeline.keys)}
    per = {}
    for row in rows:
        per.setdefault(row["opportunity_id"], []).append(row)
    out = []
    for deal, its in per.items():
        its.sort(key=lambda r: r["at"])
        for version, (a, b) in enumerate(itertools.pairwise(its), 1):
            kind = "lose" if b["stage"] == "lost" else "win" if b["stage"] == "won" else "advance"
            if kind == "advance" and order[b["stage"]] < order[a["stage"]]:
                kind = "back"
            out.append(
                StageChanged(
                    opportunity_id=deal, pipeline=pipeline.key, kind=kind, from_stage=a["stage"],
                    to_stage=b["stage"], at=b["at"], actor="import", version=version,
                    time_in_stage=b["at"] - a["at"], lost_reason=b.get("lost_reason"),
                )
            )  # fmt: skip
    return out


def timed(fn, *args):
    best, result = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    pipeline = default_pipeline()
    print("stage history to events (best of 3)")
    times = []
    for deals in SIZES:
        rows = history(deals)
        fk, events = timed(events_from_history, rows, pipeline)
        hand, expected = timed(by_hand, rows, pipeline)
        key = lambda e: (e.opportunity_id, e.version)  # noqa: E731
        assert sorted(map(key, events)) == sorted(map(key, expected))
        times.append((len(rows), fk))
        print(
            f"  {len(rows):>9,} rows  funnelkit {fk:7.3f} s ({fk / len(rows) * 1e6:5.2f} us/row)"
            f"  by hand {hand:7.3f} s   ratio {fk / hand:5.2f}"
        )
    (n1, t1), (n2, t2) = times
    print(f"  growth: time ~ n^{math.log(t2 / t1) / math.log(n2 / n1):.2f}")


if __name__ == "__main__":
    main()
