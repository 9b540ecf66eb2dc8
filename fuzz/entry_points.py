"""
Coverage-guided fuzzing (atheris) of every entry point that reads outside
data: ``from_dict`` for every entity, pipelines, policies and the assignment
documents.  Each may only raise funnelkit's own errors; any other exception is
a crash that atheris reports (and that becomes a regression test in tests/).

Inputs are structure-aware: a valid document of the entry point with one
piece replaced by a value built from the fuzzer's bytes, or such a value alone.

    pip install atheris
    python fuzz/entry_points.py -max_total_time=300
"""

import contextlib
import datetime as dt
import json
import sys

import atheris

with atheris.instrument_imports():
    from funnelkit import FunnelkitError, Lead, Money, SalesRep, from_dict, to_dict
    from funnelkit.assignment import (
        AssignmentState,
        Decision,
        LoadBalance,
        Offer,
        Pool,
        Roulette,
        Rule,
        Rules,
        Team,
        policy_from_dict,
    )
    from funnelkit.entities import ENTITY_TYPES
    from funnelkit.stages import Pipeline, default_pipeline
    from funnelkit.strategies import sales_data

NOW = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)


def _samples():
    """(reader, a valid document) for every entry point."""
    found = {}
    strategy = sales_data(max_reps=2)
    while len(found) < len(ENTITY_TYPES):
        book = strategy.example()
        for name in ("reps", "customers", "key_persons", "opportunities", "activities", "leads"):
            for entity in getattr(book, name):
                found.setdefault(type(entity), entity)
    out = [(lambda data, cls=cls: from_dict(cls, data), to_dict(found[cls])) for cls in ENTITY_TYPES]
    policy = Rules(rules=[Rule(name="n", to=["a"], min_value=Money.of("1", "CNY"))]).or_else(LoadBalance())
    roulette, offer = Roulette(order=["a", "b"], window=dt.timedelta(minutes=5), then=policy).offer(
        Lead(id="l", source="web", created_at=NOW), team=Team(reps=[SalesRep(id="a", name="A")]), now=NOW
    )
    pool, _ = Pool(protect_for=dt.timedelta(days=1)).claim("c", "a", now=NOW)
    decision = Decision(lead_id="l", rep_id="a", by="x", reason="r", at=NOW, value=Money.of("1", "USD"))
    out += [
        (Pipeline.from_dict, default_pipeline().to_dict()),
        (policy_from_dict, policy.to_dict()),
        (Offer.from_dict, offer.to_dict()),
        (Roulette.from_dict, roulette.to_dict()),
        (Pool.from_dict, pool.to_dict()),
        (AssignmentState.from_dict, AssignmentState(pointers={"rr": "a"}).to_dict()),
        (Decision.from_dict, decision.to_dict()),
    ]
    return [(read, json.loads(json.dumps(doc))) for read, doc in out]


SAMPLES = _samples()


def _value(fdp, depth=0):
    kind = fdp.ConsumeIntInRange(0, 7 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return fdp.ConsumeInt(8)
    if kind == 3:
        return fdp.ConsumeRegularFloat()
    if kind in (4, 5):
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40))
    if kind == 6:
        return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    return {
        fdp.ConsumeUnicodeNoSurrogates(8): _value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))
    }


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    read, sample = SAMPLES[fdp.ConsumeIntInRange(0, len(SAMPLES) - 1)]
    if fdp.ConsumeBool():
        data = _value(fdp)
    else:
        paths = list(_paths(sample))
        path = paths[fdp.ConsumeIntInRange(0, len(paths) - 1)]
        data = json.loads(json.dumps(sample))
        if path:
            target = data
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = _value(fdp)
        else:
            data = _value(fdp)
    with contextlib.suppress(FunnelkitError):
        read(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
