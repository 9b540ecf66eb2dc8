"""
Intake benchmark: tables in, side by side in one process, at two sizes.

1. Deals from rows: ``funnelkit.tables.from_rows`` / ``from_table`` (checked and
   trusted) against pydantic v2 with the same checks (when installed), cattrs
   structuring a bare attrs class, and the bare attrs constructor, all fed the
   same flat rows of a CRM export; plus the ``Opportunity`` constructor alone,
   which reading row by row calls once per row, and ``from_rows`` on an
   iterator of the rows, which it reads row by row (a list is read in batches).
2. A stage history (deal, stage, time) as engine events: ``events_from_history``
   on rows and on a DataFrame against a hand-written loop that sorts each deal's
   rows and builds the same ``StageChanged`` values with their constructor.

Each case prints its time per row (CPU time of this process, the best of five
rounds in which the cases take turns), its ratio to a baseline of the same run
and the growth exponent k of time ~ n^k over the two sizes (near 1: linear).
Only the ratios mean anything on a noisy machine.  ``--profile`` adds where the time
of the checked path goes.

    python benchmarks/bench_intake.py [--quick] [--profile]
"""

import cProfile
import datetime as dt
import enum
import io
import itertools
import math
import pstats
import random
import re
import sys
import time
from collections import Counter
from decimal import Decimal
from typing import Annotated

import attrs
import cattrs

from funnelkit import Money, Opportunity, known_currencies
from funnelkit.stages import StageChanged, default_pipeline, events_from_history
from funnelkit.tables import from_rows, from_table

try:
    import pandas as pd
except ImportError:  # pragma: no cover - the bench extra brings it
    pd = None
try:
    import pydantic
except ImportError:  # the bench extra brings it; skipped cleanly without
    pydantic = None

QUICK = "--quick" in sys.argv
PROFILE = "--profile" in sys.argv
DEALS = (1_000, 10_000) if QUICK else (4_000, 40_000)
HISTORY = (1_000, 10_000) if QUICK else (3_000, 30_000)  # deals; about 5 rows each
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


def interleaved(cases, rounds=5):
    """
    CPU seconds of this process per case: the best of *rounds* runs, the
    cases taking turns in each round so that a busy spell of the machine
    hits them all alike (CPU time: other processes' turns are not counted).
    """
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - start)
    return best


def growth(times):
    """k in time ~ n^k from the first and the last (n, seconds)."""
    (n1, t1), (n2, t2) = times[0], times[-1]
    return math.log(t2 / t1) / math.log(n2 / n1)


# --- 1. deals from rows -----------------------------------------------------------------


def crm_deals(n, seed=0):
    """Flat rows of a CRM export of deals: ids, aware times, status, money as text and currency, lists."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        created = T0 + dt.timedelta(hours=rng.randrange(24 * 300))
        status = rng.choice(["open", "open", "won", "lost"])
        amount = f"{rng.randrange(100, 90_000)}.{rng.randrange(100):02d}" if rng.random() < 0.8 else None
        rows.append({
            "id": f"D-{i}", "customer_id": f"acct-{rng.randrange(900)}",
            "owner": f"agent-{rng.randrange(35)}", "pipeline": "default",
            "stage": {"won": "won", "lost": "lost"}.get(status, rng.choice(STEPS[:7])),
            "created_at": created, "stage_entered_at": created + dt.timedelta(days=rng.randrange(60)),
            "status": status,
            "amount": amount, "amount_currency": "EUR" if amount else None,
            "expected_close": (created + dt.timedelta(days=90)).date(),
            "key_person_ids": [f"kp-{i}-{k}" for k in range(rng.randrange(3))],
            "competitors": rng.sample(["Initech", "Globex", "Umbrella"], rng.randrange(2)),
            "evidence": ["needs_confirmed"] if rng.random() < 0.5 else [],
            "lost_reason": "price" if status == "lost" else None,
            "version": rng.randrange(9),
        })  # fmt: skip
    return rows


@attrs.frozen(kw_only=True)
class BareDeal:
    """The columns of a deal row, with no checks and no converters."""

    id: str
    customer_id: str
    owner: str
    pipeline: str
    stage: str
    created_at: dt.datetime
    stage_entered_at: dt.datetime
    status: str = "open"
    amount: str | None = None
    amount_currency: str | None = None
    expected_close: dt.date | None = None
    key_person_ids: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()
    evidence: frozenset[str] = frozenset()
    lost_reason: str | None = None
    version: int = 0


def cattrs_converter():
    """cattrs structuring BareDeal: times and dates passed through, lists to tuples and frozensets."""
    conv = cattrs.Converter()
    for kind in (dt.datetime, dt.date):
        conv.register_structure_hook(kind, lambda v, _t: v)
    return conv


def pydantic_model():
    """A pydantic v2 model of a deal row with about the same checks as Opportunity (None without pydantic)."""
    if pydantic is None:
        return None
    from pydantic import (
        AfterValidator,
        AwareDatetime,
        BaseModel,
        BeforeValidator,
        ConfigDict,
        StringConstraints,
        model_validator,
    )

    printable = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    Ident = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=printable)]  # noqa: N806 - a type
    Name = Annotated[str, StringConstraints(pattern=r"\S")]  # noqa: N806 - a type
    currencies = known_currencies()

    def known(code):
        if code not in currencies:
            raise ValueError(f"{code!r} is not a known currency")
        return code

    def unique(items):
        if len(set(items)) != len(items):
            raise ValueError("duplicate items")
        return items

    def no_float(value):
        if isinstance(value, float):
            raise ValueError("money refuses floats")  # noqa: TRY004 - what pydantic validators raise
        return value

    Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(known)]  # noqa: N806 - a type
    Amount = Annotated[  # noqa: N806 - a type
        Decimal,
        BeforeValidator(no_float),
        pydantic.Field(allow_inf_nan=False, max_digits=40, decimal_places=20),
    ]

    class Status(enum.StrEnum):
        OPEN = "open"
        WON = "won"
        LOST = "lost"

    class Deal(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

        id: Ident
        customer_id: Ident
        owner: Ident
        pipeline: Ident
        stage: Ident
        created_at: AwareDatetime
        stage_entered_at: AwareDatetime
        status: Status = Status.OPEN
        amount: Amount | None = None
        amount_currency: Currency | None = None
        expected_close: dt.date | None = None
        key_person_ids: Annotated[tuple[Ident, ...], AfterValidator(unique)] = ()
        competitors: Annotated[tuple[Name, ...], AfterValidator(unique)] = ()
        evidence: frozenset[Name] = frozenset()
        lost_reason: Name | None = None
        version: Annotated[int, pydantic.Field(ge=0)] = 0

        @model_validator(mode="after")
        def relations(self):
            if self.stage_entered_at < self.created_at:
                raise ValueError("stage_entered_at is before created_at")
            if (self.amount is None) != (self.amount_currency is None):
                raise ValueError("an amount needs its currency")
            if self.amount is not None and self.amount < 0:
                raise ValueError("a negative amount")
            if self.lost_reason is not None and self.status is not Status.LOST:
                raise ValueError("only a lost deal has a lost reason")
            return self

    return Deal


def constructor_kwargs(rows):
    """The rows as the Opportunity constructor's keywords, with money already built."""
    out = []
    for r in rows:
        kw = {k: v for k, v in r.items() if k != "amount_currency"}
        kw["amount"] = None if r["amount"] is None else Money.of(r["amount"], r["amount_currency"])
        out.append(kw)
    return out


def deal_cases(rows, frame, kwargs, model, adapter, conv):  # noqa: PLR0917 - what the cases read
    """The cases of part 1, each a function of no arguments."""
    cases = {
        "funnelkit from_rows, checked": lambda: from_rows(Opportunity, rows),
        "funnelkit from_rows, trusted": lambda: from_rows(Opportunity, rows, trusted=True),
        "funnelkit from_rows, checked, iterator": lambda: from_rows(Opportunity, iter(rows)),
        "Opportunity(**kw) alone": lambda: [Opportunity(**kw) for kw in kwargs],
        "cattrs structure, bare attrs class": lambda: conv.structure(rows, list[BareDeal]),
        "bare attrs class(**row)": lambda: [BareDeal(**r) for r in rows],
    }
    if frame is not None:
        cases["funnelkit from_table (pandas), checked"] = lambda: from_table(Opportunity, frame)
        cases["funnelkit from_table (pandas), trusted"] = lambda: from_table(Opportunity, frame, trusted=True)
    if model is not None:
        cases["pydantic v2, model_validate per row"] = lambda: [model.model_validate(r) for r in rows]
        cases["pydantic v2, TypeAdapter(list)"] = lambda: adapter.validate_python(rows)
    return cases


def bench_deals():
    model = pydantic_model()
    conv = cattrs_converter()
    adapter = pydantic.TypeAdapter(list[model]) if model is not None else None
    print(f"deals from rows: {DEALS[0]:,} and {DEALS[-1]:,} rows, best of 5 taking turns (us per row)")
    results = {}
    for n in DEALS:
        rows = crm_deals(n)
        frame = pd.DataFrame(rows) if pd is not None else None
        kwargs = constructor_kwargs(rows)
        cases = deal_cases(rows, frame, kwargs, model, adapter, conv)
        checked = from_rows(Opportunity, rows)
        assert from_rows(Opportunity, rows, trusted=True) == checked
        assert from_rows(Opportunity, iter(rows)) == checked  # row by row
        if frame is not None:
            assert from_table(Opportunity, frame) == checked
        for name, seconds in interleaved(cases).items():
            results.setdefault(name, []).append((n, seconds))
    base = "pydantic v2, model_validate per row" if model is not None else "bare attrs class(**row)"
    if model is None:
        print("  (pydantic is not installed: pip install 'funnelkit[bench]'; ratios are to bare attrs)")
    print(f"  {'case':<42} {'small':>8} {'large':>8}  {'ratio':>7}  {'k':>5}   (ratio: to {base}, large)")
    for name, times in results.items():
        per_row = [t / n * 1e6 for n, t in times]
        ratio = times[-1][1] / results[base][-1][1]
        print(f"  {name:<42} {per_row[0]:8.2f} {per_row[-1]:8.2f}  {ratio:6.2f}x  {growth(times):5.2f}")
    bare = results["bare attrs class(**row)"][-1][1]
    checked = results["funnelkit from_rows, checked"][-1][1]
    if model is not None:
        print(
            f"  checked from_rows / pydantic v2 per row: {checked / results[base][-1][1]:.2f}; "
            f"row by row (an iterator) / pydantic: "
            f"{results['funnelkit from_rows, checked, iterator'][-1][1] / results[base][-1][1]:.2f}"
        )
    print(
        f"  checked intake per row / Opportunity(**kw): "
        f"{results['funnelkit from_rows, checked'][-1][1] / results['Opportunity(**kw) alone'][-1][1]:.2f}; "
        f"Opportunity(**kw) / bare attrs: {results['Opportunity(**kw) alone'][-1][1] / bare:.2f}; "
        f"trusted / bare attrs: {results['funnelkit from_rows, trusted'][-1][1] / bare:.2f}"
    )


def profile_checked():
    """Where the checked path's time goes: the constructor's share, and the top functions."""
    rows = crm_deals(DEALS[0])
    profile = cProfile.Profile()
    profile.runcall(from_rows, Opportunity, rows)
    stats = pstats.Stats(profile)
    total = stats.total_tt
    by_file = Counter()
    for (path, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        where = re.sub(r".*/(src/funnelkit/|site-packages/|lib/python3\.\d+/)", "", path)
        by_file[f"{where}:{func}"] += tt
    print(f"\nwhere the checked path's time goes (cProfile, {len(rows):,} rows; shares of own time)")
    for where, tt in by_file.most_common(14):
        print(f"  {tt / total:6.1%}  {where}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(r"__new__|__init__|_money|row\b")
    lines = [line for line in out.getvalue().splitlines() if re.search(r"\d+\.\d+ +\d+\.\d+ ", line)]
    print("  cumulative:")
    for line in lines[:8]:
        print("   ", line.strip())


# --- 2. a stage history -----------------------------------------------------------------


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


def history_cases(rows, pipeline):
    """The cases of part 2, each a function of no arguments."""
    cases = {
        "events_from_history, rows": lambda: events_from_history(rows, pipeline),
        "by hand, StageChanged(...) per move": lambda: by_hand(rows, pipeline),
    }
    if pd is not None:
        frame = pd.DataFrame(rows)
        cases["events_from_history, DataFrame"] = lambda: events_from_history(frame, pipeline)
    return cases


def bench_history():
    pipeline = default_pipeline()
    sizes = f"{HISTORY[0]:,} and {HISTORY[-1]:,} deals"
    print(f"\nstage history to events: {sizes}, best of 5 taking turns (us per row)")
    results = {}
    rows_read = []
    for deals in HISTORY:
        rows = history(deals)
        rows_read.append(len(rows))
        cases = history_cases(rows, pipeline)
        expected = None
        for name, fn in cases.items():
            key = sorted((e.opportunity_id, e.version, e.kind, e.at) for e in fn())
            assert expected is None or key == expected, name
            expected = key
        for name, seconds in interleaved(cases).items():
            results.setdefault(name, []).append((len(rows), seconds))
    base = "by hand, StageChanged(...) per move"
    header = f"  {'case':<42} {'small':>8} {'large':>8}  {'ratio':>7}  {'k':>5}"
    print(f"{header}   (rows: {rows_read[0]:,}, {rows_read[-1]:,})")
    for name, times in results.items():
        per_row = [t / n * 1e6 for n, t in times]
        ratio = times[-1][1] / results[base][-1][1]
        print(f"  {name:<42} {per_row[0]:8.2f} {per_row[-1]:8.2f}  {ratio:6.2f}x  {growth(times):5.2f}")


def main():
    bench_deals()
    if PROFILE:
        profile_checked()
    bench_history()


if __name__ == "__main__":
    main()
