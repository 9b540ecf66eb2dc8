"""
Win/loss, pipeline generation and cohorts at 10,000 and 100,000 deals against a hand-written
plain-Python loop doing the same grouping (and pandas groupby when pandas is installed), in the same
process.  On a noisy machine only the ratios and the growth exponent k (time ~ n^k, fitted from the
two sizes) mean anything; k near 1 is linear.

    python benchmarks/bench_winloss.py [--quick]

--quick runs 2,000 and 20,000 deals.
"""

import datetime as dt
import math
import random
import sys
import time
from decimal import Decimal

from funnelkit import Money, Opportunity
from funnelkit.forecast import cohorts, pipeline_generation, win_loss
from funnelkit.stages import StageChanged, default_pipeline

QUICK = "--quick" in sys.argv
SIZES = (2_000, 20_000) if QUICK else (10_000, 100_000)
PIPE = default_pipeline()
OPEN = [s.key for s in PIPE.open_stages]
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
NOW = T0 + 800 * DAY
REASONS = ("price", "timing", "no budget", "competitor", "no decision")
RIVALS = ("Rival", "Other", "Third", "Fourth")
OWNERS = tuple(f"rep-{k}" for k in range(40))


def book(n, seed=20261202):
    """*n* deals of the default pipeline, each with one move forward and a third closed, and their moves."""
    rng = random.Random(seed)
    deals, events = [], []
    for i in range(n):
        created = T0 + rng.randrange(0, 700 * 24) * dt.timedelta(hours=1)
        far = rng.randrange(len(OPEN))
        fate = rng.random()
        status = "won" if fate < 0.15 else "lost" if fate < 0.35 else "open"
        moved = created + rng.randrange(1, 60) * DAY
        oid = f"o{i}"
        version = 0
        if far:
            version += 1
            events.append(
                StageChanged(
                    opportunity_id=oid, pipeline="default", kind="advance", from_stage=OPEN[0],
                    to_stage=OPEN[far], at=moved, actor="x", version=version, time_in_stage=moved - created,
                    bypassed=["skip"], override_reason="bench", override_by="x",
                )
            )  # fmt: skip
        stage, entered, reason = OPEN[far], moved if far else created, None
        if status != "open":
            version += 1
            closed = moved + rng.randrange(1, 30) * DAY
            reason = rng.choice(REASONS) if status == "lost" else None
            events.append(
                StageChanged(
                    opportunity_id=oid, pipeline="default", kind="win" if status == "won" else "lose",
                    from_stage=OPEN[far], to_stage=status, at=closed, actor="x", version=version,
                    time_in_stage=closed - entered, lost_reason=reason,
                )
            )  # fmt: skip
            stage, entered = status, closed
        deals.append(
            Opportunity(
                id=oid, customer_id=f"c{i % 5000}", owner=rng.choice(OWNERS), pipeline="default", stage=stage,
                status=status, created_at=created, stage_entered_at=entered, lost_reason=reason,
                amount=Money.from_minor(rng.randrange(10**4, 10**8), "USD"), version=version,
                competitors=rng.sample(RIVALS, rng.randrange(3)),
            )
        )  # fmt: skip
    return deals, events


# --- the plain loops: what a script written by hand does --------------------------------------


def plain_lost_reasons(deals):
    """Won and lost count and amount by lost reason."""
    out = {}
    for o in deals:
        if o.status == "open":
            continue
        row = out.setdefault(o.lost_reason if o.status == "lost" else None, [0, 0, Decimal(0), Decimal(0)])
        side = 0 if o.status == "won" else 1
        row[side] += 1
        row[2 + side] += o.amount.amount
    return out


def plain_competitors(deals):
    """Won and lost count and amount by each competitor named."""
    out = {}
    for o in deals:
        if o.status == "open":
            continue
        side = 0 if o.status == "won" else 1
        for rival in o.competitors or (None,):
            row = out.setdefault(rival, [0, 0, Decimal(0), Decimal(0)])
            row[side] += 1
            row[2 + side] += o.amount.amount
    return out


def plain_stage_owner_month(deals, events):
    """Won and lost count and amount by the stage closed from (the last close move), owner and month."""
    closes = {}
    for e in events:
        if e.kind in ("win", "lose"):
            got = closes.get(e.opportunity_id)
            if got is None or e.version > got.version:
                closes[e.opportunity_id] = e
    out = {}
    for o in deals:
        if o.status == "open":
            continue
        side = 0 if o.status == "won" else 1
        move = closes.get(o.id)
        month = o.stage_entered_at.astimezone(dt.UTC).strftime("%Y-%m")
        key = (None if move is None else move.from_stage, o.owner, month)
        row = out.setdefault(key, [0, 0, Decimal(0), Decimal(0)])
        row[side] += 1
        row[2 + side] += o.amount.amount
    return sorted(out.items(), key=lambda kv: tuple("" if v is None else v for v in kv[0]))


def plain_generation(deals):
    """Deals and amount created per owner and month."""
    out = {}
    for o in deals:
        day = o.created_at.date()
        row = out.setdefault((o.owner, day.replace(day=1)), [0, Decimal(0)])
        row[0] += 1
        row[1] += o.amount.amount
    return out


def plain_cohorts(deals, events):
    """Per creation month: created, reached per stage, won, lost."""
    place = {k: n for n, k in enumerate(OPEN)}
    far = {o.id: place.get(o.stage, 0) for o in deals}
    for e in events:
        for key in (e.from_stage, e.to_stage):
            if key in place and place[key] > far[e.opportunity_id]:
                far[e.opportunity_id] = place[key]
    out = {}
    for o in deals:
        row = out.setdefault(o.created_at.date().replace(day=1), [0, [0] * len(OPEN), 0, 0])
        row[0] += 1
        reach = len(OPEN) - 1 if o.status == "won" else far[o.id]
        for k in range(reach + 1):
            row[1][k] += 1
        row[2] += o.status == "won"
        row[3] += o.status == "lost"
    return out


def pandas_lost_reasons(frame):
    """The same with pandas groupby, the frame built beforehand (not timed)."""
    closed = frame[frame.status != "open"]
    return closed.groupby(["lost_reason", "status"], dropna=False)["amount"].agg(["count", "sum"])


def timed(fn, *args, repeat=3):
    """The best of *repeat* runs, in seconds, and the result."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    """Time each call at both sizes: ratio to the plain loop, and the growth exponent."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        pd = None
    cases = {
        "win_loss by lost_reason": (
            lambda d, e: win_loss(d, e, by=["lost_reason"]),
            lambda d, _e: plain_lost_reasons(d),
        ),
        "win_loss by competitor": (
            lambda d, e: win_loss(d, e, by=["competitor"]),
            lambda d, _e: plain_competitors(d),
        ),
        "win_loss by stage, owner, month": (
            lambda d, e: win_loss(d, e, by=["stage", "owner", "period"]),
            plain_stage_owner_month,
        ),
        "pipeline_generation by month": (
            lambda d, _e: pipeline_generation(d, start=T0, end=NOW),
            lambda d, _e: plain_generation(d),
        ),
        "cohorts by month": (
            lambda d, e: cohorts(d, e, PIPE, now=NOW),
            plain_cohorts,
        ),
    }
    times = {}
    for n in SIZES:
        deals, events = book(n)
        print(f"{n:,} deals, {len(events):,} events (best of 3)")
        for name, (ours, plain) in cases.items():
            mine, _ = timed(ours, deals, events)
            base, _ = timed(plain, deals, events)
            times.setdefault(name, []).append((n, mine, base))
            print(f"  {name:34s} funnelkit {mine:7.3f} s  plain loop {base:7.3f} s  ratio {mine / base:5.2f}")
        if pd is not None:
            frame = pd.DataFrame(
                {
                    "status": [o.status.value for o in deals],
                    "lost_reason": [o.lost_reason for o in deals],
                    "amount": [float(o.amount.amount) for o in deals],
                }
            )
            panda, _ = timed(pandas_lost_reasons, frame)
            mine = times["win_loss by lost_reason"][-1][1]
            name = "pandas groupby (frame prebuilt)"
            print(f"  {name:34s} {panda:7.3f} s  funnelkit/pandas {mine / panda:5.1f}")
    (n1, n2) = SIZES
    print("growth exponent k (time ~ n^k) from the two sizes:")
    for name, rows in times.items():
        (_, a1, b1), (_, a2, b2) = rows
        k = math.log(a2 / a1) / math.log(n2 / n1)
        kb = math.log(b2 / b1) / math.log(n2 / n1)
        print(f"  {name:34s} funnelkit k = {k:4.2f}   plain loop k = {kb:4.2f}")


if __name__ == "__main__":
    main()
