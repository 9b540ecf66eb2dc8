"""
The notebook benchmark (issue 16, item 5): a synthetic company's two years
in pandas DataFrames -- a million deals and about eight million rows of stage
history at full size -- through a notebook's workflow, each step beside the
same computation written by hand in plain pandas/numpy, in one process:

1. **intake**: the deals frame as checked deals and the history frame as
   their events, each kept as columns (``funnelkit.tables.OpportunityColumns``,
   ``funnelkit.stages.HistoryColumns``); by hand, the same checks
   as vectorised pandas, then the events as columns (sort, version, stage
   left, kind, time in stage);
2. **funnel**: ``funnel(deals, events, pipeline)``; by hand, per stage the
   forward moves, losses and times in stage (median, mean, p90 by nearest
   rank), entries, the win rate by each deal's last close, days to close and
   the velocity;
3. **weighted**: the weighted forecast by owner (won deals in full, open
   ones at their stage's probability) on ready columns
   (``weighted_forecast_columns``); by hand, pandas on the same frame;
4. **A/B/C**: customers graded by won revenue on ready columns
   (``abc_columns``); by hand, numpy's sort and cumulative sum;
5. **win count**: the distribution of the number of open deals won
   (``win_count``, numpy's FFT path); by hand, the same product of
   polynomials as a batched numpy FFT tree;
6. **Kaplan-Meier**: time to close with open deals censored
   (``kaplan_meier(durations=..., event_observed=...)``, float mode); by
   hand, numpy's sort, counts and cumulative product;
7. **backtest**: 52 weekly cut-offs, each forecasting the weighted pipeline
   open then (the ``WeightedPipeline`` forecaster) against what those
   deals won in the next 13 weeks (``backtest``); by hand, each deal's stage
   intervals against the cut-offs with ``searchsorted`` and ``bincount``.

Each pair is checked to agree (counts, medians, totals to the cent, the win
count's pmf, the KM median, every cut-off's forecast and actual) before it is
timed.  The table gives both times, their ratio and the growth exponent k of
time ~ n^k of each side between the two sizes (near 1: linear).  Only ratios
and exponents mean anything on a noisy machine.  Goal (issue 16): the whole
workflow under 60 s at a million deals, each step within 3x the hand-written
one.

    python benchmarks/bench_notebook.py [--quick | --tiny] [--no-gc] [--objects] [--profile STEP]

The full run takes 100,000 and 1,000,000 deals (about 12 minutes and 6.5 GB
on a 2-core machine); ``--quick`` 10,000 and 100,000 (a few minutes);
``--tiny`` 2,000 and 10,000 (a smoke run).  ``--profile STEP`` (``deals``,
``history``, ``funnel``, ``weighted``, ``abc``, ``win``, ``kaplan``,
``backtest``) prints where funnelkit's time goes in that step at the larger
size.  ``--objects`` runs the object path instead: the deals as
``Opportunity`` values (``from_table``), the history as ``StageChanged``
values (``events_from_history``) and the backtest with a forecaster
function called on the open deals of each cut-off.  ``--no-gc`` times
every step (both sides) with Python's cyclic garbage collector switched
off, as a notebook may switch it off around a bulk load: the object path
builds a Python value per deal and per event, and the collector walks them
all each time enough new ones have been made.
"""

import cProfile
import datetime as dt
import gc
import io
import math
import pstats
import resource
import sys
import time
from collections import Counter

import numpy as np
import pandas as pd

from funnelkit import Opportunity
from funnelkit.forecast import (
    WeightedPipeline,
    backtest,
    funnel,
    kaplan_meier,
    weighted_forecast,
    weighted_forecast_columns,
    win_count,
)
from funnelkit.segments import abc_columns
from funnelkit.stages import HistoryColumns, default_pipeline, events_from_history
from funnelkit.tables import OpportunityColumns, from_table

QUICK = "--quick" in sys.argv
#: The history as StageChanged values and the backtest with a forecaster function (the object path).
OBJECTS = "--objects" in sys.argv
#: Each step timed with Python's cyclic garbage collector off (both sides), as a notebook may run a bulk load.
NO_GC = "--no-gc" in sys.argv
PROFILE = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else None
SIZES = (2_000, 10_000) if "--tiny" in sys.argv else (10_000, 100_000) if QUICK else (100_000, 1_000_000)
SEED = 20260105
CURRENCY = "EUR"

PIPELINE = default_pipeline()
STAGES = [s.key for s in PIPELINE.stages]  # contact .. negotiation, won, lost
OPEN = [s.key for s in PIPELINE.open_stages]
WON, LOST = STAGES.index("won"), STAGES.index("lost")
#: Each stage's probability in hundredths (exact: 0.10 -> 10), by stage code.
PERCENT = np.array([int(s.probability * 100) for s in PIPELINE.stages], dtype=np.int64)
PROBABILITY = {s.key: float(s.probability) for s in PIPELINE.stages}

T0 = pd.Timestamp("2025-01-06", tz="UTC")
DAYS = 730  # two years of history
NOW = T0 + pd.Timedelta(days=DAYS)
#: The backtest's cut-offs: weekly, 52 of them, each looking 13 weeks ahead (all windows end by NOW).
HORIZON = pd.Timedelta(weeks=13)
CUTOFFS = [NOW - HORIZON - pd.Timedelta(weeks=52 - k) for k in range(52)]

# The synthetic company's behaviour, per open stage (contact .. negotiation): mean days in stage,
# and the chance that a deal leaving the stage is lost, or goes back a stage; the rest go forward.
MEAN_DAYS = np.array([6.0, 9.0, 14.0, 12.0, 10.0, 7.0, 9.0, 0.0, 30.0])  # won: none; lost: until a reopen
P_LOST = np.array([0.12, 0.10, 0.08, 0.07, 0.06, 0.05, 0.04])
P_BACK = np.array([0.00, 0.20, 0.24, 0.24, 0.24, 0.22, 0.20])
P_REOPEN = 0.04  # of the lost, reopened later (back to contact)
REASONS = np.array(["price", "timing", "competitor", "no budget", "no decision"], dtype=object)

# Move kinds as the hand-written code numbers them (funnelkit's MoveKind values by name).
KINDS = ("advance", "back", "win", "lose", "reopen")
ADVANCE, BACK, WIN, LOSE, REOPEN = range(5)


# --- the synthetic company -------------------------------------------------------------------


def company(n, seed=SEED):
    """
    *n* deals created over two years, each moving through the default
    pipeline until it is won, lost or still open at NOW: the deals frame (as
    a CRM exports it: ids, owner, customer, stage, times, amount in whole
    euros, status) and the history frame (deal, stage, when, lost reason),
    one row per stage a deal entered, in time order (a change log).
    """
    rng = np.random.default_rng(seed)
    minutes = DAYS * 1440
    created = rng.integers(0, DAYS, n) * 1440 + rng.integers(8 * 60, 19 * 60, n)  # office hours
    stage = np.zeros(n, dtype=np.int64)
    at = created.copy()
    reason = np.full(n, None, dtype=object)
    parts = [(np.arange(n), stage.copy(), at.copy(), np.full(n, None, dtype=object))]
    active = np.arange(n)
    while len(active):
        s = stage[active]
        dwell = rng.gamma(1.6, MEAN_DAYS[s] / 1.6) * 1440
        later = at[active] + np.maximum(np.rint(dwell).astype(np.int64), 1)
        moving = later < minutes
        active, s, later = active[moving], s[moving], later[moving]
        u = rng.random(len(active))
        was_lost = s == LOST
        stays = was_lost & (u >= P_REOPEN)  # a loss that stays lost: no more rows
        go = ~stays
        active, s, later, u, was_lost = active[go], s[go], later[go], u[go], was_lost[go]
        openish = np.minimum(s, len(OPEN) - 1)
        lost = ~was_lost & (u < P_LOST[openish])
        back = ~was_lost & ~lost & (u < P_LOST[openish] + P_BACK[openish])
        new = np.where(was_lost, 0, np.where(lost, LOST, np.where(back, s - 1, s + 1)))
        why = np.full(len(active), None, dtype=object)
        why[lost] = REASONS[rng.integers(0, len(REASONS), int(lost.sum()))]
        parts.append((active, new, later, why))
        stage[active], at[active] = new, later
        reason[active] = np.where(lost, why, None)
        active = active[new != WON]  # a lost deal may still reopen: decided at its next step
    ids = np.array([f"D{i:07d}" for i in range(n)], dtype=object)
    deal = np.concatenate([p[0] for p in parts])
    when = np.concatenate([p[2] for p in parts])
    order = np.argsort(when, kind="stable")
    history = pd.DataFrame(
        {
            "opportunity_id": ids[deal[order]],
            "stage": np.array(STAGES, dtype=object)[np.concatenate([p[1] for p in parts])[order]],
            "at": T0 + pd.to_timedelta(when[order], unit="m"),
            "lost_reason": np.concatenate([p[3] for p in parts])[order],
        }
    )
    customers = np.array([f"C{i:06d}" for i in range(max(1, n // 5))], dtype=object)
    owners = np.array([f"rep{i:03d}" for i in range(200)], dtype=object)
    status = np.where(stage == WON, "won", np.where(stage == LOST, "lost", "open")).astype(object)
    deals = pd.DataFrame(
        {
            "id": ids,
            "customer_id": customers[rng.integers(0, len(customers), n)],
            "owner": owners[rng.integers(0, len(owners), n)],
            "pipeline": "default",
            "stage": np.array(STAGES, dtype=object)[stage],
            "created_at": T0 + pd.to_timedelta(created, unit="m"),
            "stage_entered_at": T0 + pd.to_timedelta(at, unit="m"),
            "status": status,
            "amount": np.rint(rng.lognormal(np.log(20_000), 0.9, n)).astype(np.int64) + 500,
            "amount_currency": CURRENCY,
            "lost_reason": np.where(stage == LOST, reason, None),
        }
    )
    return deals, history


# --- 1. intake -------------------------------------------------------------------------------


def fk_deals(deals):
    """
    The deals frame as checked deals: kept as columns (``OpportunityColumns``),
    or with ``--objects`` as Opportunity values (``from_table``).
    """
    if OBJECTS:
        return from_table(Opportunity, deals)
    return OpportunityColumns(deals)


def fk_history(history):
    """
    The history frame as its events: kept as columns (``HistoryColumns``),
    or with ``--objects`` as StageChanged values (``events_from_history``).
    """
    if OBJECTS:
        return events_from_history(history, PIPELINE)
    return HistoryColumns(history, PIPELINE)


def _identifiers(column):
    """Whether every cell is an id as funnelkit checks one: a str, 1-256 long, stripped, printable."""
    values = pd.Series(column.unique()) if column.nunique() < len(column) // 2 else column
    return bool(
        pd.api.types.infer_dtype(values, skipna=False) == "string"
        and values.str.len().between(1, 256).all()
        and (values.str.strip() == values).all()
        and all(map(str.isprintable, values))
    )


def _utc(column):
    """A zoned datetime column as naive UTC datetime64 values."""
    return column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def hand_deals(deals):
    """
    The deals' checks in pandas: ids, stages, aware times in order,
    statuses, amounts, the currency and lost reasons only on lost deals.
    """
    ok = all(_identifiers(deals[col]) for col in ("id", "customer_id", "owner", "pipeline"))
    ok &= deals["stage"].isin(STAGES).all()
    ok &= all(isinstance(deals[col].dtype, pd.DatetimeTZDtype) for col in ("created_at", "stage_entered_at"))
    ok &= (deals["stage_entered_at"] >= deals["created_at"]).all()
    ok &= deals["status"].isin(("open", "won", "lost")).all()
    ok &= deals["amount"].dtype.kind == "i" and (deals["amount"] >= 0).all()
    ok &= deals["amount_currency"].eq(CURRENCY).all()
    ok &= (deals["lost_reason"].notna() == deals["status"].eq("lost")).all()
    assert ok, "the synthetic deals are valid"
    return deals


def hand_history(deals, history):
    """
    The history's checks in pandas (ids, stages, aware times), then its
    rows as event columns: each deal's rows in time order, its version, the
    stage left, the move's kind and the time in the stage left; and each
    deal's first stage.
    """
    ok = _identifiers(history["opportunity_id"])
    ok &= isinstance(history["at"].dtype, pd.DatetimeTZDtype) and history["at"].notna().all()
    stage = pd.Categorical(history["stage"], categories=STAGES).codes.astype(np.int64)
    ok &= (stage >= 0).all()  # every stage is the pipeline's
    assert ok, "the synthetic history is valid"
    deal = pd.Categorical(history["opportunity_id"], categories=deals["id"]).codes.astype(np.int64)
    ok &= (deal >= 0).all()  # every row's deal is a deal
    at = _utc(history["at"])
    order = np.lexsort((at, deal))
    deal = deal[order]
    to = stage[order]
    at = at[order]
    reason = history["lost_reason"].to_numpy()[order]
    first = np.concatenate(([True], deal[1:] != deal[:-1]))
    version = np.arange(len(deal)) - np.maximum.accumulate(np.where(first, np.arange(len(deal)), 0))
    move = ~first
    frm = np.roll(to, 1)[move]
    tos = to[move]
    in_stage = (at - np.roll(at, 1))[move]
    kind = np.select(
        [tos == LOST, frm == LOST, tos < frm, tos == WON],
        [LOSE, REOPEN, BACK, WIN],
        ADVANCE,
    )
    assert (in_stage > np.timedelta64(0)).all()
    assert pd.notna(reason[move][kind == LOSE]).all()
    events = pd.DataFrame(
        {
            "deal": deal[move],
            "from_stage": frm,
            "to_stage": tos,
            "kind": kind,
            "version": version[move],
            "at": at[move],
            "time_in_stage": in_stage,
        }
    )
    start = pd.Series(to[first], index=deal[first])  # each deal's first stage, by deal code
    return events, start


def check_deals(opps, deals):
    """As many deals, with the same total amount."""
    assert len(opps) == len(deals)
    assert sum(o.amount.to_minor() for o in opps) == int(deals["amount"].sum()) * 100


def check_history(events, hand):
    """The same events: as many, of the same kinds, with the same versions and times in stage."""
    frame, _ = hand
    assert len(events) == len(frame)
    kinds = np.bincount(frame["kind"], minlength=len(KINDS))
    counted = Counter(e.kind.value for e in events)
    assert [counted[k] for k in KINDS] == kinds.tolist()
    assert sum(e.version for e in events) == int(frame["version"].sum())
    total = sum((e.time_in_stage for e in events), dt.timedelta(0))
    assert total == frame["time_in_stage"].sum().to_pytimedelta()


# --- 2. funnel -------------------------------------------------------------------------------


def fk_funnel(opps, events):
    """funnelkit's funnel report."""
    return funnel(opps, events, PIPELINE)


def _nearest_rank(times, q):
    """The q-quantile by nearest rank of an unsorted array (how funnelkit defines p50 and p90)."""
    rank = max(0, math.ceil(q * len(times)) - 1)
    return np.partition(times, rank)[rank]


def hand_funnel(deals, events, start):
    """The funnel report's numbers from the event columns, in pandas/numpy."""
    kind, frm = events["kind"].to_numpy(), events["from_stage"].to_numpy()
    times = events["time_in_stage"].to_numpy()
    left = (kind == ADVANCE) | (kind == WIN) | (kind == LOSE)
    entered = np.bincount(events["to_stage"], minlength=len(STAGES)) + np.bincount(
        start.to_numpy(), minlength=len(STAGES)
    )
    stages = []
    for s, key in enumerate(OPEN):
        mine = left & (frm == s)
        t = times[mine]
        stages.append(
            {
                "stage": key,
                "advanced": int(np.count_nonzero(mine & (kind != LOSE))),
                "lost": int(np.count_nonzero(mine & (kind == LOSE))),
                "median_time": _nearest_rank(t, 0.5) if len(t) else None,
                "mean_time": t.mean() if len(t) else None,
                "p90_time": _nearest_rank(t, 0.9) if len(t) else None,
                "entered": int(entered[s]),
            }
        )
    closes = events[(kind == WIN) | (kind == LOSE)]
    last = closes.loc[closes.groupby("deal")["version"].idxmax()]  # a reopened deal counts by its last close
    created = _utc(deals["created_at"])
    days = (last["at"].to_numpy() - created[last["deal"].to_numpy()]) / np.timedelta64(1, "D")
    is_win = last["kind"].to_numpy() == WIN
    won, lost = int(is_win.sum()), int((~is_win).sum())
    open_deals = int(deals["status"].eq("open").sum())
    to_win = days[is_win].mean()
    average = deals["amount"].to_numpy()[last["deal"].to_numpy()[is_win]].mean()
    return {
        "stages": stages,
        "won": won,
        "lost": lost,
        "win_rate": won / (won + lost),
        "mean_days_to_win": to_win,
        "mean_days_to_lose": days[~is_win].mean(),
        "open_deals": open_deals,
        "velocity": average * open_deals * (won / (won + lost)) / to_win,
    }


def check_funnel(report, hand):
    """The same counts and times per stage, closes, win rate, days to close and velocity."""
    assert (report.won, report.lost, report.open_deals) == (hand["won"], hand["lost"], hand["open_deals"])
    assert math.isclose(float(report.win_rate), hand["win_rate"], rel_tol=1e-12)
    assert math.isclose(float(report.mean_days_to_win), hand["mean_days_to_win"], rel_tol=1e-6)
    assert math.isclose(float(report.mean_days_to_lose), hand["mean_days_to_lose"], rel_tol=1e-6)
    assert math.isclose(float(report.velocity.amount), hand["velocity"], rel_tol=1e-6)
    for ours, theirs in zip(report.stages, hand["stages"], strict=True):
        assert (ours.stage, ours.advanced, ours.lost, ours.entered) == (
            theirs["stage"],
            theirs["advanced"],
            theirs["lost"],
            theirs["entered"],
        )
        assert ours.median_time == pd.Timedelta(theirs["median_time"]).to_pytimedelta()
        assert ours.p90_time == pd.Timedelta(theirs["p90_time"]).to_pytimedelta()
        mean = pd.Timedelta(theirs["mean_time"]).to_pytimedelta()
        assert abs(ours.mean_time - mean) <= dt.timedelta(microseconds=1)  # numpy truncates


# --- 3. the weighted pipeline, 4. A/B/C, on ready columns -------------------------------------------


def ready_columns(deals):
    """
    The columns a notebook has at hand (not timed): the cents, stage
    probabilities and owners of the deals a weighted forecast counts (open
    ones at their stage's probability, won ones in full, as
    ``weighted_forecast`` counts them), and whether each is open.
    """
    counted = deals[deals["status"].ne("lost")]
    return pd.DataFrame(
        {
            "cents": counted["amount"].to_numpy() * 100,
            "p": counted["stage"].map(PROBABILITY).to_numpy(),
            "owner": counted["owner"].to_numpy(),
            "open": counted["status"].eq("open").to_numpy(),
        }
    )


def fk_weighted(frame):
    """The weighted forecast by owner, exact in cents."""
    return weighted_forecast_columns(
        frame["cents"], frame["p"], currency=CURRENCY, by={"owner": frame["owner"]}
    )


def hand_weighted(frame):
    """pandas: the float product rounded, summed per owner."""
    weighted = (frame["cents"] * frame["p"]).round()
    return (
        frame.assign(weighted=weighted)
        .groupby("owner")
        .agg(deals=("cents", "size"), amount=("cents", "sum"), weighted=("weighted", "sum"))
    )


def check_weighted(forecast, table):
    """Every owner's deals and weighted amount, to the cent."""
    ours = {ln.key[0]: (ln.deals, ln.weighted.to_minor()) for ln in forecast.lines}
    theirs = {k: (int(r.deals), int(r.weighted)) for k, r in table.iterrows()}
    assert ours == theirs


def customer_revenue(deals):
    """Won revenue per customer in cents (not timed): the A/B/C input."""
    won = deals[deals["status"].eq("won")]
    revenue = won.groupby("customer_id")["amount"].sum() * 100
    return revenue.index.to_numpy(), revenue.to_numpy()


def fk_abc(ids, cents):
    """A/B/C tiers by won revenue (80 % / 95 % of the total)."""
    return abc_columns(ids, cents, currency=CURRENCY)


def hand_abc(ids, cents):
    """numpy: highest first, cumulative share before each customer against the cuts."""
    order = np.argsort(cents, kind="stable")[::-1]
    ranked = cents[order]
    before = np.cumsum(ranked) - ranked
    total = int(ranked.sum())
    a_cut = int(np.searchsorted(before, math.ceil(total * 8 / 10), side="left"))
    b_cut = int(np.searchsorted(before, math.ceil(total * 95 / 100), side="left"))
    return ids[order], (a_cut, b_cut - a_cut, len(ranked) - b_cut)


def check_abc(result, hand):
    """The same number of customers in each tier."""
    assert tuple(s.count for s in result.summary) == hand[1]


# --- 5. the win count ------------------------------------------------------------------------------


def hand_win_count(p):
    """
    The Poisson-binomial pmf as the product of the deals' polynomials
    ``(1 - p) + p x``, multiplied pairwise a level at a time, every pair of
    a level in one batched numpy FFT: O(n log^2 n) without a Python loop
    per deal.
    """
    n = len(p)
    size = 1 << max(0, (n - 1).bit_length())
    polys = np.zeros((size, 2))
    polys[:, 0] = 1.0  # padding: the polynomial 1
    polys[:n, 0] = 1.0 - p
    polys[:n, 1] = p
    while len(polys) > 1:
        width = 2 * polys.shape[1]  # a product of two of degree < d has degree < 2d: no wrap-around
        spectra = np.fft.rfft(polys[0::2], width, axis=1) * np.fft.rfft(polys[1::2], width, axis=1)
        polys = np.fft.irfft(spectra, width, axis=1)
    pmf = np.clip(polys[0, : n + 1], 0.0, None)
    return pmf / pmf.sum()


def check_win_count(dist, pmf):
    """The same pmf to 1e-12 per count, and the same mean."""
    ours = np.array(dist.pmf)
    assert len(ours) == len(pmf)
    assert float(np.abs(ours - pmf).max()) < 1e-12
    assert math.isclose(float(ours @ np.arange(len(ours))), float(pmf @ np.arange(len(pmf))), rel_tol=1e-9)


# --- 6. Kaplan-Meier ----------------------------------------------------------------------------


def km_columns(deals):
    """Days from creation to close, or to NOW for open deals (censored), and the close flags (not timed)."""
    closed = deals["status"].ne("open").to_numpy()
    end = np.where(closed, _utc(deals["stage_entered_at"]), NOW.to_datetime64())
    return (end - _utc(deals["created_at"])) / np.timedelta64(1, "D"), closed


def fk_km(durations, closed):
    """funnelkit's Kaplan-Meier, float mode (lifelines-style inputs)."""
    return kaplan_meier(durations=durations, event_observed=closed)


def hand_km(durations, closed):
    """numpy: one sort, the counts at each distinct time, S(t) by cumulative product; and the median."""
    order = np.argsort(durations)
    ordered = durations[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, len(ordered)))
    events = np.add.reduceat(closed[order], starts, dtype=np.int64)
    at_risk = len(ordered) - np.concatenate(([0], np.cumsum(counts)[:-1]))
    survival = np.cumprod(1.0 - events / at_risk)
    below = np.flatnonzero(survival <= 0.5 * (1 + 1e-9))
    return ordered[starts], survival, ordered[starts][below[0]] if len(below) else None


def check_km(km, hand):
    """The same steps, S(t) to 1e-9 and the same median."""
    assert len(km.steps) == len(hand[0])
    assert float(np.abs(np.array(km.steps.survival) - hand[1]).max()) < 1e-9
    assert km.median == hand[2]


# --- 7. the backtest ---------------------------------------------------------------------------


def _pipeline_forecast(open_deals):
    return weighted_forecast(open_deals, PIPELINE, by=()).total(CURRENCY)


def fk_backtest(opps, events):
    """
    52 weekly cut-offs, the weighted pipeline forecast against what those
    deals won in 13 weeks: with the ``WeightedPipeline`` forecaster (on a
    ``HistoryColumns``, worked out on its columns), or with ``--objects``
    a forecaster function of the open deals of each cut-off.
    """
    cutoffs = [(t.to_pydatetime(), (t + HORIZON).to_pydatetime()) for t in CUTOFFS]
    forecast = _pipeline_forecast if OBJECTS else WeightedPipeline(pipeline=PIPELINE, currency=CURRENCY)
    return backtest(opps, events, cutoffs=cutoffs, forecast=forecast, currency=CURRENCY)


def hand_backtest(deals, events, start):
    """
    Each deal's stages as intervals [entered, left) (the first from its
    creation); per interval in an open stage the cut-offs it covers
    (``searchsorted``) and the cut-offs whose window holds the deal's win;
    the weighted amounts and the won amounts summed per cut-off by
    difference arrays: O(e log k) for e events and k cut-offs.
    """
    cut = np.array([t.to_datetime64() for t in CUTOFFS], dtype="datetime64[ns]")
    k = len(cut)
    deal = events["deal"].to_numpy()
    at = events["at"].to_numpy()
    n = len(deals)
    created = _utc(deals["created_at"])
    # intervals: each deal's first stage from its creation, then one per event
    all_deal = np.concatenate((np.arange(n), deal))
    all_stage = np.concatenate((start.reindex(range(n)).to_numpy(), events["to_stage"].to_numpy()))
    all_enter = np.concatenate((created, at))
    order = np.lexsort((all_enter, all_deal))
    all_deal, all_stage, all_enter = all_deal[order], all_stage[order], all_enter[order]
    last = np.concatenate((all_deal[1:] != all_deal[:-1], [True]))
    leave = np.where(last, np.datetime64("2262-01-01", "ns"), np.roll(all_enter, -1))
    keep = all_stage < len(OPEN)
    all_deal, all_stage, all_enter, leave = all_deal[keep], all_stage[keep], all_enter[keep], leave[keep]
    lo = np.searchsorted(cut, all_enter, side="left")  # the first cut-off at or after entering
    hi = np.searchsorted(cut, leave, side="left")  # the first cut-off at or after leaving
    cents = deals["amount"].to_numpy()[all_deal] * 100
    weighted = cents * PERCENT[all_stage] // 100  # exact: whole euros at whole percents
    forecast = np.bincount(lo, weighted, k + 1) - np.bincount(hi, weighted, k + 1)
    open_deals = np.bincount(lo, minlength=k + 1) - np.bincount(hi, minlength=k + 1)
    won_at = np.full(n, np.datetime64("NaT", "ns"))
    wins = events["kind"].to_numpy() == WIN
    won_at[deal[wins]] = at[wins]
    w = won_at[all_deal]
    has = ~np.isnat(w)
    # a cut-off t counts the win when t < won_at <= t + horizon
    w_lo = np.searchsorted(cut, w[has] - HORIZON.to_timedelta64(), side="left")
    w_hi = np.searchsorted(cut, w[has], side="left")
    a, b = np.maximum(lo[has], w_lo), np.minimum(hi[has], w_hi)
    fine = a < b
    actual = np.bincount(a[fine], cents[has][fine], k + 1) - np.bincount(b[fine], cents[has][fine], k + 1)
    return (
        np.cumsum(open_deals)[:k],
        np.rint(np.cumsum(forecast)[:k]).astype(np.int64),
        np.rint(np.cumsum(actual)[:k]).astype(np.int64),
    )


def check_backtest(result, hand):
    """Every cut-off's open deals, forecast and actual, to the cent."""
    open_deals, forecast, actual = hand
    assert [r.open_deals for r in result.rows] == open_deals.tolist()
    assert [r.forecast.to_minor() for r in result.rows] == forecast.tolist()
    assert [r.actual.to_minor() for r in result.rows] == actual.tolist()


# --- the run ---------------------------------------------------------------------------------


def clocked(fn, *args):
    """
    The CPU seconds and wall seconds of one call, and its result (garbage
    collected first, so that earlier garbage is not billed to it).  CPU time
    is the measure: on a shared machine the wall clock also counts the time
    other processes held the core.
    """
    gc.collect()
    if NO_GC:
        gc.disable()
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn(*args)
        return (time.process_time() - cpu, time.perf_counter() - wall), result
    finally:
        gc.enable()


def best(fn, *args, repeat):
    """The best of *repeat* calls (by CPU time), and the last result."""
    seconds, result = (math.inf, math.inf), None
    for _ in range(repeat):
        t, result = clocked(fn, *args)
        seconds = min(seconds, t)
    return seconds, result


def profiled(fn, *args):
    """Where *fn*'s time goes: the top of cProfile's cumulative listing."""
    profile = cProfile.Profile()
    profile.enable()
    fn(*args)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def run(n, *, repeat):
    """
    Every step at *n* deals, both ways, checked to agree: {step: (funnelkit
    (cpu, wall), by hand (cpu, wall))}, the data's sizes, and each step's
    funnelkit call (for ``--profile``).
    """
    deals, history = company(n)
    times = {}
    steps = {}
    t_fk, opps = clocked(fk_deals, deals)
    t_hand, _ = best(hand_deals, deals, repeat=repeat)
    check_deals(opps, deals)
    times["deals in"] = (t_fk, t_hand)
    steps["deals in"] = (fk_deals, (deals,))
    t_fk, events = clocked(fk_history, history)
    t_hand, (frame, start) = best(hand_history, deals, history, repeat=repeat)
    check_history(events, (frame, start))
    times["history in"] = (t_fk, t_hand)
    steps["history in"] = (fk_history, (history,))
    columns = ready_columns(deals)
    ids, cents = customer_revenue(deals)
    p = columns["p"].to_numpy()[columns["open"].to_numpy()]  # the open deals' probabilities
    durations, closed = km_columns(deals)
    cases = [
        ("funnel", fk_funnel, (opps, events), hand_funnel, (deals, frame, start), check_funnel),
        ("weighted", fk_weighted, (columns,), hand_weighted, (columns,), check_weighted),
        ("A/B/C", fk_abc, (ids, cents), hand_abc, (ids, cents), check_abc),
        ("win count", win_count, (p,), hand_win_count, (p,), check_win_count),
        ("Kaplan-Meier", fk_km, (durations, closed), hand_km, (durations, closed), check_km),
        ("backtest", fk_backtest, (opps, events), hand_backtest, (deals, frame, start), check_backtest),
    ]
    for name, fk, fk_args, by_hand, hand_args, check in cases:
        slow = name in ("funnel", "backtest")
        t_fk, ours = best(fk, *fk_args, repeat=1 if slow else repeat)
        t_hand, theirs = best(by_hand, *hand_args, repeat=repeat)
        check(ours, theirs)
        times[name] = (t_fk, t_hand)
        steps[name] = (fk, fk_args)
        del ours, theirs
    size = {"rows": len(history), "events": len(events), "open": len(p), "customers": len(ids)}
    return times, size, steps


def growth(n1, t1, n2, t2):
    """The exponent k of time ~ n^k through two (n, seconds)."""
    return math.log(t2 / t1) / math.log(n2 / n1)


def summed(times):
    """The steps' times added up: ((funnelkit cpu, wall), (by hand cpu, wall))."""
    return tuple(tuple(sum(t[side][k] for t in times.values()) for k in (0, 1)) for side in (0, 1))


def table(small, large, n1, n2):
    """The report: per step both CPU times, their ratio, k each way and funnelkit's wall time; the totals."""
    print(
        f"{'step':<13} {'funnelkit s':>11} {'by hand s':>10} {'ratio':>7} {'k funnelkit':>12} "
        f"{'k by hand':>10} {'funnelkit wall s':>17}"
    )
    rows = [*large.items(), ("total", summed(large))]
    small = {**small, "total": summed(small)}
    for name, ((fk, fk_wall), (hand, _)) in rows:
        k_fk = growth(n1, small[name][0][0], n2, fk)
        k_hand = growth(n1, small[name][1][0], n2, hand)
        flag = "" if fk <= 3 * hand else "  > 3x"
        print(
            f"{name:<13} {fk:>11.3f} {hand:>10.3f} {fk / hand:>7.1f} {k_fk:>12.2f} {k_hand:>10.2f} "
            f"{fk_wall:>17.3f}{flag}"
        )


def _plain(name):
    """A step's name as ``--profile`` matches it: letters and digits, lower case."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def main():
    print(__doc__.split("\n\n")[0].replace("\n", " "))
    print()
    results = []
    for i, n in enumerate(SIZES):
        times, size, steps = run(n, repeat=3 if n < 1_000_000 else 1)
        results.append((n, times))
        print(
            f"n = {n:,} deals: {size['rows']:,} history rows -> {size['events']:,} events; "
            f"{size['open']:,} open deals, {size['customers']:,} customers with wins; "
            f"peak memory so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GB"
        )
        if PROFILE and i == len(SIZES) - 1:
            name = next(k for k in steps if _plain(k).startswith(_plain(PROFILE)))
            fn, args = steps[name]
            print(f"\nwhere funnelkit's time goes in {name!r} at n = {n:,}:")
            print(profiled(fn, *args))
        del steps
    print()
    (n1, small), (n2, large) = results[0], results[-1]
    print(f"CPU seconds at n = {n2:,} deals; k fitted between n = {n1:,} and {n2:,}")
    table(small, large, n1, n2)
    print("\ngoal: the whole workflow under 60 s at 1,000,000 deals, each step within 3x by hand")


if __name__ == "__main__":
    main()
