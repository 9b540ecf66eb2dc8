"""
Assignment benchmark: 100,000 leads to 500 reps under load balancing and
under first-match rules, each against a bare heapq loop doing the same
routing in the same process; and a roulette step with few and with many past
offers.  Only the ratios mean anything on a noisy machine.

    python benchmarks/bench_assignment.py [--quick]
"""

import datetime as dt
import heapq
import random
import sys
import time

from funnelkit import Lead, Money, SalesRep
from funnelkit.assignment import LoadBalance, Offer, Roulette, Rule, Rules, Team, assign

QUICK = "--quick" in sys.argv
N = 20_000 if QUICK else 100_000
M = 500
NOW = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
TERRITORIES = [f"t{i}" for i in range(20)]


def timed(fn, *args, repeat=3):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def bare_balance(leads, reps, load):
    """What a hand-written script does: a heap of (load/capacity, index), pop, push."""
    heap = [(load[r.id] / r.capacity, i, r.id) for i, r in enumerate(reps)]
    heapq.heapify(heap)
    used = dict(load)
    cap = {r.id: r.capacity for r in reps}
    out = []
    for lead in leads:
        while heap and used[heap[0][2]] >= cap[heap[0][2]]:
            heapq.heappop(heap)
        if not heap:
            out.append((lead.id, None))
            continue
        _, i, rep = heap[0]
        used[rep] += 1
        heapq.heapreplace(heap, (used[rep] / cap[rep], i, rep))
        out.append((lead.id, rep))
    return out


def bare_rules(leads, reps, load, groups):
    """Rules by territory, each group balanced by its own heap (what a script would do)."""
    used = dict(load)
    cap = {r.id: r.capacity for r in reps}
    index = {r.id: i for i, r in enumerate(reps)}
    heaps = {}
    out = []
    for lead in leads:
        group = groups.get(lead.territory)
        if group is None:
            out.append((lead.id, None))
            continue
        heap = heaps.get(lead.territory)
        if heap is None:
            heap = heaps[lead.territory] = [(used[r] / cap[r], index[r], r) for r in group]
            heapq.heapify(heap)
        while heap:
            ratio, i, rep = heap[0]
            if ratio != used[rep] / cap[rep]:
                heapq.heapreplace(heap, (used[rep] / cap[rep], i, rep))
                continue
            if used[rep] >= cap[rep]:
                heapq.heappop(heap)
                continue
            break
        if not heap:
            out.append((lead.id, None))
            continue
        used[rep] += 1
        heapq.heapreplace(heap, (used[rep] / cap[rep], i, rep))
        out.append((lead.id, rep))
    return out


def main():
    rng = random.Random(20261125)
    reps = [SalesRep(id=f"rep{i:03d}", name=f"Rep {i}", capacity=rng.randint(150, 400)) for i in range(M)]
    load = {r.id: rng.randint(0, 100) for r in reps}
    team = Team(reps=reps, load=load)
    leads = [
        Lead(
            id=f"lead{i:06d}",
            source="web",
            created_at=NOW,
            territory=rng.choice(TERRITORIES),
            estimated_value=Money.of(str(rng.randint(100, 100_000)), "CNY"),
        )
        for i in range(N)
    ]
    print(f"{N:,} leads to {M} reps (best of 3)")

    ours, result = timed(lambda: assign(leads, team=team, policy=LoadBalance(), now=NOW))
    base, plain = timed(bare_balance, leads, reps, load)
    assert [(d.lead_id, d.rep_id) for d in result] == plain
    print(f"  load balance   funnelkit {ours:6.3f} s   bare heapq {base:6.3f} s   ratio {ours / base:5.2f}")

    groups = {t: tuple(r.id for r in reps[i::20]) for i, t in enumerate(TERRITORIES)}
    rules = Rules(rules=[Rule(name=t, to=groups[t], territory=[t]) for t in TERRITORIES])
    ours, result = timed(lambda: assign(leads, team=team, policy=rules, now=NOW))
    base, plain = timed(bare_rules, leads, reps, load, groups)
    assert [(d.lead_id, d.rep_id) for d in result] == plain
    print(f"  20 rules       funnelkit {ours:6.3f} s   bare heapq {base:6.3f} s   ratio {ours / base:5.2f}")

    # Roulette: the roulette keeps only where the next offer starts, and each offer is its own
    # value, so a step (offer, status, decline, status, claim) does not grow with past offers.
    small = Team(reps=reps[:6])
    roulette = Roulette(order=small.ids, window=dt.timedelta(minutes=30))
    for past in (10, 10_000):
        offers = []
        r = roulette
        for i in range(past):
            r, offer = r.offer(leads[i % N], team=small, now=NOW)
            offers.append(offer)

        def step(r=r):
            _, offer = r.offer(leads[0], team=small, now=NOW)
            offer = offer.decline(offer.status(now=NOW).holder, now=NOW + dt.timedelta(minutes=5))
            return offer.claim(
                offer.status(now=NOW + dt.timedelta(minutes=6)).holder, now=NOW + dt.timedelta(minutes=6)
            )

        per, _ = timed(lambda step=step: [step() for _ in range(1000)])
        print(f"  roulette step (offer, decline, claim) after {past:>6,} past offers: {per * 1000:6.1f} µs")
    assert isinstance(offers[0], Offer)


if __name__ == "__main__":
    main()
