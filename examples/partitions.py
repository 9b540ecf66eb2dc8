"""
The weighted forecast over partitions, merged: the answer of one pass.

Run it with ``python examples/partitions.py``.  With Dask installed
(``pip install 'dask[delayed]'``) each partition is a Dask task; without it, a
process pool does the same.  Either way the merged forecast equals the
single-pass forecast exactly, because every deal is rounded on its own.
"""

import datetime as dt
import importlib.util
import random
from concurrent.futures import ProcessPoolExecutor

from funnelkit import Money, Opportunity
from funnelkit.forecast import WeightedForecast, weighted_forecast
from funnelkit.stages import default_pipeline

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
BY = ["owner", "quarter"]


def book(n: int, seed: int) -> list[Opportunity]:
    """A seeded book of open and won deals."""
    rng = random.Random(seed)
    stages = [s.key for s in default_pipeline().stages if s.key != "lost"]
    deals = []
    for i in range(n):
        stage = rng.choice(stages)
        deals.append(
            Opportunity(
                id=f"o{i}",
                customer_id=f"c{rng.randrange(500)}",
                owner=f"rep{rng.randrange(12):02d}",
                pipeline="default",
                stage=stage,
                status="won" if stage == "won" else "open",
                created_at=T0,
                stage_entered_at=T0,
                amount=Money.of(f"{rng.randrange(1_000, 900_000)}.{rng.randrange(100):02d}", "CNY"),
                expected_close=dt.date(2026, rng.randint(1, 12), rng.randint(1, 28)),
            )
        )
    return deals


def forecast_part(deals: list[Opportunity]) -> WeightedForecast:
    """What each worker runs: the forecast of its partition."""
    return weighted_forecast(deals, default_pipeline(), by=BY)


def main() -> None:
    deals = book(20_000, seed=2026)
    parts = [deals[i::4] for i in range(4)]
    if importlib.util.find_spec("dask") is not None:
        import dask

        results = dask.compute(*[dask.delayed(forecast_part)(p) for p in parts])
        how = "Dask"
    else:
        with ProcessPoolExecutor(max_workers=2) as pool:
            results = tuple(pool.map(forecast_part, parts))
        how = "a process pool (install dask to use Dask)"
    merged = results[0]
    for part in results[1:]:
        merged = merged.merge(part)
    single = forecast_part(deals)
    print(f"{len(deals):,} deals in {len(parts)} partitions with {how}")
    print(f"  merged == single pass: {merged == single}")
    print(f"  weighted total: {merged.total('CNY')} over {len(merged.lines)} owner-quarter lines")
    if merged != single:
        raise SystemExit("the merged forecast differs from the single pass")


if __name__ == "__main__":
    main()
