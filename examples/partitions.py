"""
A company's stage history in partitions, analysed apart and merged: the answer of one pass.

Run it with ``python examples/partitions.py`` (about 50,000 events: seconds), or at scale with
``python examples/partitions.py --events 10_000_000 --partitions 16``.  Each partition is the
history of its own deals, as a worker would load it from its own shard: the CRM's stage-history
rows, read by ``events_from_history``, and the deals.  Each partition's funnel, calibration,
flow, close rates and weighted forecast are computed apart and merged (``report.merge``); then the
whole history is analysed in one pass, and the two must be equal, exactly.

With Dask installed (``pip install 'dask[bag]'``) the partitions are a ``dask.bag`` whose reports
fold pairwise in a tree of merges on a pool of processes; without it (or with ``--no-dask``), a
plain loop runs them one after the other.  Every report is made of counts and sums (the funnel
keeps its times in stage as counts per distinct time, not the deals), so what crosses between
processes is small, and merging in any order gives the same report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib.util
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

from funnelkit import Money, Opportunity
from funnelkit.forecast import calibration, close_rates, flow, funnel, weighted_forecast
from funnelkit.stages import StageChanged, default_pipeline, events_from_history

PIPELINE = default_pipeline()
OPEN = [s.key for s in PIPELINE.open_stages]
T0 = dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
OWNERS = [f"rep{i:02d}" for i in range(40)]
#: Stage changes per deal, on average, as history() draws them.
EVENTS_PER_DEAL = 7
#: The reports each partition makes, and the single pass too.
NAMES = ("funnel", "calibration", "flow", "close rates", "weighted forecast")


def history(index: int, deals: int, seed: int) -> tuple[list[Opportunity], list[dict[str, Any]]]:
    """
    Partition *index*: *deals* deals and their stage-history rows (a deal, the stage it entered
    and when, in whole days, as CRMs export it).  Deals wander: forward mostly, back sometimes,
    lost and reopened now and then; most close, some are still open.  Seeded: the same every time.
    """
    rng = random.Random(f"{seed}-{index}")
    opps, rows = [], []
    for n in range(deals):
        oid = f"p{index}-d{n}"
        created = T0 + rng.randrange(700) * DAY
        at, stage, position, version = created, OPEN[0], 0, 0
        rows.append({"opportunity_id": oid, "stage": stage, "at": at})
        while True:
            at += rng.randrange(1, 40) * DAY
            roll = rng.random()
            if stage in ("won", "lost"):
                if stage == "won" or roll > 0.3:
                    break
                position = rng.randrange(3)  # reopened: back to one of the first stages
                stage = OPEN[position]
            elif roll < 0.09:
                stage = "lost"
            elif roll < 0.24 and position > 0:
                position -= 1
                stage = OPEN[position]
            elif position == len(OPEN) - 1:
                stage = "won"
            elif roll > 0.97:
                break  # still open
            else:
                position += 1
                stage = OPEN[position]
            version += 1
            row = {"opportunity_id": oid, "stage": stage, "at": at}
            if stage == "lost":
                row["lost_reason"] = rng.choice(["price", "timing", "competitor"])
            rows.append(row)
        status = stage if stage in ("won", "lost") else "open"
        opps.append(
            Opportunity(
                id=oid,
                customer_id=f"c{index}-{rng.randrange(deals // 3 + 1)}",
                owner=rng.choice(OWNERS),
                pipeline="default",
                stage=stage,
                status=status,
                created_at=created,
                stage_entered_at=at,
                amount=Money.from_minor(rng.randrange(100_000, 90_000_000), "USD"),
                expected_close=(at + rng.randrange(90) * DAY).date(),
                lost_reason=rows[-1].get("lost_reason") if status == "lost" else None,
                version=version,
            )
        )
    return opps, rows


def reports(opps: Sequence[Opportunity], events: Sequence[StageChanged]) -> tuple[Any, ...]:
    """The reports of one partition, or of the whole history: all of them merge."""
    return (
        funnel(opps, events, PIPELINE),
        calibration(events, PIPELINE, strength=20),
        flow(opps, events, period="month", tz="Asia/Shanghai"),
        close_rates(opps, events, PIPELINE),
        weighted_forecast(opps, PIPELINE, by=["owner", "quarter"]),
    )


def partition(index: int, deals: int, seed: int) -> tuple[Any, ...]:
    """What each worker runs: load (here: make) its partition, and report on it."""
    opps, rows = history(index, deals, seed)
    return reports(opps, events_from_history(rows, PIPELINE))


def merge(left: tuple[Any, ...], right: tuple[Any, ...]) -> tuple[Any, ...]:
    """Two partitions' reports as one: each report merged with its own kind."""
    return tuple(a.merge(b) for a, b in zip(left, right, strict=True))


def run(*, events: int, partitions: int, seed: int = 2026, use_dask: bool = True) -> dict[str, Any]:
    """
    About *events* stage changes in *partitions* partitions: the merged reports, the single-pass
    reports, and the seconds each took.
    """
    deals = max(1, events // EVENTS_PER_DEAL // partitions)
    task = functools.partial(partition, deals=deals, seed=seed)
    started = time.perf_counter()
    if use_dask and importlib.util.find_spec("dask") is not None:
        import dask.bag

        bag = dask.bag.from_sequence(range(partitions), npartitions=partitions).map(task)
        merged = bag.fold(merge).compute(scheduler="processes")
        how = f"Dask ({dask.__version__}), a bag folded on a pool of processes"
    else:
        merged = functools.reduce(merge, (task(i) for i in range(partitions)))
        how = "a plain loop (install dask to use Dask)"
    apart = time.perf_counter() - started
    started = time.perf_counter()
    opps: list[Opportunity] = []
    all_events: list[StageChanged] = []
    for i in range(partitions):  # each shard's history read as it comes (a table holds at most 10M rows)
        o, r = history(i, deals, seed)
        opps += o
        all_events += events_from_history(r, PIPELINE)
    single = reports(opps, all_events)  # then every report in one pass over all the events
    whole = time.perf_counter() - started
    return {
        "how": how,
        "deals": len(opps),
        "events": len(all_events),
        "partitions": partitions,
        "merged": merged,
        "single": single,
        "apart_seconds": apart,
        "single_seconds": whole,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse the size, run, print what was found, and fail loudly if the merge is not the single pass."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=50_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-dask", action="store_true", help="a plain loop even when Dask is installed")
    args = parser.parse_args(argv)
    found = run(events=args.events, partitions=args.partitions, seed=args.seed, use_dask=not args.no_dask)
    print(f"{found['events']:,} events of {found['deals']:,} deals in {found['partitions']} partitions")
    print(f"  partitions with {found['how']}: {found['apart_seconds']:.1f} s")
    print(f"  one pass over the whole history: {found['single_seconds']:.1f} s")
    for name, merged, single in zip(NAMES, found["merged"], found["single"], strict=True):
        print(f"  {name:>17}: merged == single pass: {merged == single}  {merged!r:.110}")
    different = [n for n, m, s in zip(NAMES, found["merged"], found["single"], strict=True) if m != s]
    if different:
        raise SystemExit(f"merged reports differ from the single pass: {', '.join(different)}")
    return found


if __name__ == "__main__":
    main(sys.argv[1:])
