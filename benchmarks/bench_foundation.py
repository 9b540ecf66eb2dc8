"""
Foundation benchmarks: funnelkit's checked values against bare baselines run in
the same process, reported as ratios (these machines are noisy; only ratios
mean anything).

    python benchmarks/bench_foundation.py [--quick]
"""

import datetime as dt
import sys
import timeit
from decimal import Decimal

import attrs
import cattrs

from funnelkit import Money, Opportunity, from_dict, to_dict

QUICK = "--quick" in sys.argv
N = 20_000 if QUICK else 200_000
T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


@attrs.frozen(kw_only=True)
class BareOpportunity:
    """The same fields as Opportunity, with no checks and no converters."""

    id: str
    customer_id: str
    owner: str
    pipeline: str
    stage: str
    created_at: dt.datetime
    stage_entered_at: dt.datetime
    status: str = "open"
    amount: Decimal | None = None
    currency: str | None = None
    expected_close: dt.date | None = None
    key_person_ids: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()
    lost_reason: str | None = None
    version: int = 0


def best(fn, number):
    """Best of 5 runs, seconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def report(name, ours, base, unit="op"):
    print(
        f"{name:<44} {ours * 1e6:9.2f} us/{unit}  "
        f"baseline {base * 1e6:9.2f} us/{unit}  ratio {ours / base:6.2f}x"
    )


def bench_money():
    amounts = [Decimal(i % 10_000).scaleb(-2) for i in range(N)]
    monies = [Money.of(a, "USD") for a in amounts]

    def plain():
        acc = Decimal(0)
        for a in amounts:
            acc += a
        return acc

    def ours():
        return Money.total(monies, currency="USD")

    assert ours().amount == plain()
    report(f"Money.total over {N:,} amounts", best(ours, 1) / N, best(plain, 1) / N, "item")

    a, b = monies[1], monies[2]
    da, db = amounts[1], amounts[2]
    report("Money + Money", best(lambda: a + b, N), best(lambda: da + db, N))
    p = Decimal("0.3")
    report("Money * Decimal('0.3')", best(lambda: a * p, N), best(lambda: da * p, N))
    report("Money.round()", best(a.round, N), best(lambda: da.quantize(Decimal("0.01")), N))


def bench_entities():
    kwargs = {
        "id": "o-1",
        "customer_id": "c-1",
        "owner": "rep-1",
        "pipeline": "default",
        "stage": "contact",
        "created_at": T0,
        "stage_entered_at": T0,
        "key_person_ids": ("kp-1", "kp-2"),
        "competitors": ("Rival",),
    }
    # the constructors alone: each is given its amount ready made (Money.of is measured below)
    money, amount = Money.of("1000.00", "USD"), Decimal("1000.00")
    ours = best(lambda: Opportunity(**kwargs, amount=money), N // 4)
    base = best(lambda: BareOpportunity(**kwargs, amount=amount, currency="USD"), N // 4)
    report("Opportunity(...) checked vs bare attrs", ours, base)
    report(
        "Opportunity(...) with lists and a str status",
        best(
            lambda: Opportunity(
                **(kwargs | {"key_person_ids": ["kp-1", "kp-2"]}), amount=money, status="open"
            ),
            N // 4,
        ),
        base,
    )
    report(
        'Money.of("1000.00", "USD") vs Decimal("1000.00")',
        best(lambda: Money.of("1000.00", "USD"), N // 4),
        best(lambda: Decimal("1000.00"), N // 4),
    )

    opp = Opportunity(**kwargs, amount=Money.of("1000.00", "USD"))
    bare = BareOpportunity(**kwargs, amount=Decimal("1000.00"), currency="USD")
    plain_conv = cattrs.Converter()
    plain_conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    plain_conv.register_structure_hook(dt.datetime, lambda v, _: dt.datetime.fromisoformat(v))
    plain_conv.register_unstructure_hook(Decimal, str)
    plain_conv.register_structure_hook(Decimal, lambda v, _: Decimal(v))
    data, bare_data = to_dict(opp), plain_conv.unstructure(bare)
    report(
        "to_dict(opportunity) vs default cattrs",
        best(lambda: to_dict(opp), N // 4),
        best(lambda: plain_conv.unstructure(bare), N // 4),
    )
    report(
        "from_dict(Opportunity) vs default cattrs",
        best(lambda: from_dict(Opportunity, data), N // 4),
        best(lambda: plain_conv.structure(bare_data, BareOpportunity), N // 4),
    )


if __name__ == "__main__":
    print(f"funnelkit foundation benchmarks (N={N:,}); ratio = funnelkit / baseline, lower is better")
    bench_money()
    bench_entities()
