"""
Response discipline at 10,000 leads / 100,000 activities and 100,000 leads / 1,000,000 activities,
against hand-written plain-Python loops doing the same work, in the same process.  On a noisy
machine only the ratios and the growth exponent k (time ~ n^k, fitted from the two sizes) mean
anything; k near 1 is linear.

    python benchmarks/bench_discipline.py [--quick]

--quick runs 2,000 / 20,000 and 20,000 / 200,000.
"""

import datetime as dt
import gc
import math
import random
import sys
import time

from funnelkit import Activity, Lead
from funnelkit.discipline import WorkingCalendar, response_times, work_log

QUICK = "--quick" in sys.argv
SIZES = ((2_000, 20_000), (20_000, 200_000)) if QUICK else ((10_000, 100_000), (100_000, 1_000_000))
T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=200)
H = dt.timedelta(hours=1)
TARGETS = {"web": 2 * H, "fair": 8 * H, None: 4 * H}
KINDS = ("call", "email", "visit", "meeting", "demo", "trial", "other")
COUNTED = frozenset(KINDS) - {"trial", "other"}
REPS = tuple(f"rep-{k}" for k in range(50))
CAL = WorkingCalendar(tz="Asia/Shanghai")
START, END = dt.date(2026, 1, 5), dt.date(2026, 7, 1)


def world(leads: int, activities: int, seed: int = 20261202) -> tuple[list[Lead], list[Activity]]:
    """*leads* leads over 180 days and *activities* activities on them, most soon after creation."""
    rng = random.Random(seed)
    out = [
        Lead(id=f"l{i}", source=rng.choice(("web", "fair", "ads")),
             created_at=T0 + rng.randrange(180 * 96) * H / 4, owner=rng.choice(REPS))
        for i in range(leads)
    ]  # fmt: skip
    acts = []
    for k in range(activities):
        lead = out[rng.randrange(leads)]
        acts.append(
            Activity(id=f"a{k}", kind=rng.choice(KINDS), rep_id=lead.owner, customer_id=lead.id,
                     at=lead.created_at + rng.randrange(1, 30 * 24 * 4) * H / 4)
        )  # fmt: skip
    return out, acts


# --- the plain loops: what a script written by hand does ----------------------------------------


def plain_response(leads: list[Lead], acts: list[Activity]) -> dict[str, str]:
    """First counted activity per lead up to now, deadline by elapsed time, status."""
    first: dict[str, dt.datetime] = {}
    created = {lead.id: lead.created_at for lead in leads}
    for a in acts:
        if a.kind.value in COUNTED and a.at <= NOW:
            c = created.get(a.customer_id)
            if c is not None and a.at >= c:
                seen = first.get(a.customer_id)
                if seen is None or a.at < seen:
                    first[a.customer_id] = a.at
    out = {}
    for lead in leads:
        if lead.created_at > NOW:
            continue
        due = lead.created_at + TARGETS.get(lead.source, TARGETS[None])
        answered = first.get(lead.id)
        if answered is not None:
            out[lead.id] = "met" if answered <= due else "breached"
        else:
            out[lead.id] = "breached" if due < NOW else ("due_soon" if due - NOW <= H else "pending")
    return out


def plain_work_log(acts: list[Activity]) -> dict[tuple[str, dt.date], int]:
    """Counted activities per rep and local day, then every weekday of every rep."""
    tz = CAL.tz
    counts: dict[tuple[str, dt.date], int] = {}
    for a in acts:
        if a.kind.value != "other":
            day = a.at.astimezone(tz).date()
            if START <= day < END:
                counts[a.rep_id, day] = counts.get((a.rep_id, day), 0) + 1
    out = {}
    for rep in REPS:
        day = START
        while day < END:
            if day.weekday() < 5:
                out[rep, day] = counts.get((rep, day), 0)
            day += dt.timedelta(days=1)
    return out


def best(fn, repeat: int = 3) -> float:
    """The best of *repeat* runs, in seconds, with the garbage collector off (as timeit does)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        finally:
            gc.enable()
    return min(times)


def main() -> None:
    rows = []
    for n_leads, n_acts in SIZES:
        leads, acts = world(n_leads, n_acts)
        mine = response_times(leads, activities=acts, targets=TARGETS, now=NOW)
        assert {r.lead_id: r.status.value for r in mine} == plain_response(leads, acts)  # same answers
        log = work_log(acts, reps=REPS, start=START, end=END, calendar=CAL)
        assert {(d.rep_id, d.day): d.activities for d in log} == plain_work_log(acts)
        repeat = 2 if n_acts >= 1_000_000 else 3
        runs = {
            "plain response loop": lambda ls=leads, xs=acts: plain_response(ls, xs),
            "response_times (elapsed)": lambda ls=leads, xs=acts: response_times(
                ls, activities=xs, targets=TARGETS, now=NOW
            ),
            "response_times (calendar)": lambda ls=leads, xs=acts: response_times(
                ls, activities=xs, targets=TARGETS, now=NOW, calendar=CAL
            ),
            "plain work-log loop": lambda xs=acts: plain_work_log(xs),
            "work_log": lambda xs=acts: work_log(xs, reps=REPS, start=START, end=END, calendar=CAL),
        }
        timings = {name: best(run, repeat) for name, run in runs.items()}
        rows.append((n_leads, n_acts, timings))
    (n1, a1, t1), (n2, a2, t2) = rows
    print(f"{'':28}{f'{n1:,}/{a1:,}':>20}{f'{n2:,}/{a2:,}':>22}   ratio (large)   k")
    for name in t1:
        base = "plain response loop" if "response" in name else "plain work-log loop"
        ratio = t2[name] / t2[base]
        k = math.log(t2[name] / t1[name]) / math.log(a2 / a1)
        print(f"{name:28}{t1[name]:>18.3f} s{t2[name]:>20.3f} s   {ratio:>10.2f}x   {k:.2f}")


if __name__ == "__main__":
    main()
