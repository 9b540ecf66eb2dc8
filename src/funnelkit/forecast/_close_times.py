"""
Time to close in calendar days: the pipeline's chain of moves (how often
each stage leads to each other one) with how long deals stay in each stage,
both learned from the history, played forward from every open stage.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, cast

import attrs

from .. import _checks as c
from .._report import Report
from .._time import instant
from ..entities import Opportunity, OpportunityStatus
from ..errors import ValidationError
from ..stages import HistoryColumns, Pipeline, StageChanged, StageOutcome
from ._distributions import MAX_DEAL_TRIALS, _trials_and_rng
from ._funnel import _listed
from ._markov import absorbing_chain, transitions
from ._survival import kaplan_meier

#: A simulation stops, refused, after this many moves in all (a chain that almost never closes).
MAX_MOVES = 2_000_000
#: At most this many trials per stage.
MAX_TRIALS = 100_000
_ZERO = dt.timedelta(0)
_MICROSECOND = dt.timedelta(microseconds=1)


def _microseconds(n: int) -> dt.timedelta:
    """*n* microseconds as a timedelta; refused, naming the events, beyond its range."""
    try:
        return dt.timedelta(microseconds=n)
    except OverflowError:
        msg = f"a time to close of {n:,} microseconds passes the longest timedelta: check the times in stage"
        raise ValidationError.single("events", msg, code="range") from None


@attrs.frozen(kw_only=True)
class CloseTime:
    """
    Time to close from one open stage: the chance of winning; the time to
    a close (won or lost) the model expects (each stage's expected visits
    times its mean stay), the trials' mean and quantiles; and the median
    time to a win among the trials that won (``None`` when none did).
    """

    stage: str
    p_won: Fraction | float
    expected: dt.timedelta
    mean: dt.timedelta
    p10: dt.timedelta
    p50: dt.timedelta
    p90: dt.timedelta
    p50_won: dt.timedelta | None


@attrs.frozen(kw_only=True, repr=False)
class CloseTimes(Report):
    """
    Time to close from each open stage (:class:`CloseTime`), from
    *trials* simulated deals per stage; *beyond* is the share of trials that
    drew a stay longer than any the history saw (the stay is then its
    longest, so the times are a lower bound by that much).

    It does not merge: each figure is a quantile of simulated paths through
    one model, not a sum; learn the model once from all the history.
    """

    rows: tuple[CloseTime, ...]
    trials: int
    beyond: float

    def _summary(self) -> str:
        stages = c.counted(len(self.rows), "stage")
        return f"{stages}, {self.trials:,} trials each; beyond the data {self.beyond:.1%}"

    def _rows(self) -> list[dict[str, object]]:
        return [attrs.asdict(r) for r in self.rows]

    def stage(self, key: str) -> CloseTime:
        """
        The time to close from open stage *key*.

        Cost: O(s) for s stages.
        """
        for r in self.rows:
            if r.stage == key:
                return r
        allowed = ", ".join(r.stage for r in self.rows)
        raise ValidationError.single(
            "key", f"{c.show(key)} is not an open stage; allowed: {allowed}", code="choice"
        )


def time_to_close(
    events: Iterable[StageChanged],
    pipeline: Pipeline,
    *,
    rng: random.Random | int,
    trials: int = 2_000,
    open_deals: Iterable[Opportunity] = (),
    now: dt.datetime | None = None,
    smoothing: Fraction | int | str = 1,
) -> CloseTimes:
    """
    How long deals take to close from each open stage, in calendar time:
    the moves between stages as :func:`chain_from_events` estimates them
    (with *smoothing*), and each stage's stay as the Kaplan-Meier estimate
    of the stays the events record (each event's ``time_in_stage`` for the
    stage it leaves), played forward *trials* times from each open stage
    with *rng* (a ``random.Random`` or a seed: the same seed, the same
    figures).

    *open_deals* with *now* adds the stays still under way: an open deal
    in a stage since ``stage_entered_at`` has stayed ``now -
    stage_entered_at`` so far (a censored stay), which keeps the stays
    from looking shorter than they are.  A trial that draws a stay longer
    than any seen takes the longest seen (counted in ``beyond``).

    >>> import datetime as dt
    >>> from funnelkit.stages import Pipeline, Stage, StageChanged
    >>> pipe = Pipeline(key="p", label="P", stages=[
    ...     Stage(key="a", label="A", probability="0.5"),
    ...     Stage(key="won", label="W", probability=1, outcome="won"),
    ...     Stage(key="lost", label="L", probability=0, outcome="lost")])
    >>> t, day = dt.datetime(2026, 1, 5, tzinfo=dt.UTC), dt.timedelta(days=1)
    >>> events = [StageChanged(opportunity_id=f"d{i}", pipeline="p", kind=kind, from_stage="a",
    ...                        to_stage=to, at=t + i * day, actor="ann", version=1, time_in_stage=i * day,
    ...                        lost_reason="price" if to == "lost" else None)
    ...           for i, (kind, to) in enumerate([("win", "won"), ("lose", "lost")] * 5, 1)]
    >>> a = time_to_close(events, pipe, rng=7, smoothing=0).stage("a")
    >>> a.p_won, a.p50 <= dt.timedelta(days=6) <= a.p90
    (Fraction(1, 2), True)

    Cost: O(e + n + t s m) for e events, n open deals, t trials (at most
    100,000 a stage), s open stages and m moves to a close on average (at
    most 2,000,000 moves in all: a chain that almost never closes is refused).
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    trials, rng = _trials_and_rng(trials, rng)
    if trials > MAX_TRIALS:
        msg = f"{trials:,} is more than {MAX_TRIALS:,} trials a stage"
        raise ValidationError.single("trials", msg, code="range")
    model = _Model(events, pipeline, open_deals, now, smoothing)
    chain, holds, won, opened = model.chain, model.holds, model.won, model.opened
    walk = _Walk(rng, model.moves, holds)
    rows = []
    for key in opened:
        micros, won_micros = [], []
        for _ in range(trials):
            spent, end = walk.from_stage(key)
            micros.append(spent)
            if end in won:
                won_micros.append(spent)
        times = sorted(map(_microseconds, micros))
        won_times = sorted(map(_microseconds, won_micros))
        visits = chain.fundamental[chain.transient.index(key)]
        visited = math.fsum(
            holds[t].mean_micros * float(v) for t, v in zip(chain.transient, visits, strict=True)
        )
        expected = _microseconds(round(visited))
        rows.append(
            CloseTime(
                stage=key,
                expected=expected,
                p_won=model.p_won(key),
                mean=dt.timedelta(microseconds=round(Fraction(sum(micros), trials))),
                p10=_rank(times, 0.1),
                p50=_rank(times, 0.5),
                p90=_rank(times, 0.9),
                p50_won=_rank(won_times, 0.5) if won_times else None,
            )
        )
    return CloseTimes(rows=tuple(rows), trials=trials, beyond=walk.beyond / max(walk.stays, 1))


class _Model:
    """The chain of moves and each open stage's stays, learned from the events and the open deals."""

    def __init__(
        self,
        events: Iterable[StageChanged],
        pipeline: Pipeline,
        open_deals: Iterable[Opportunity],
        now: dt.datetime | None,
        smoothing: object,
        *,
        where: str = "open_deals",
    ) -> None:
        c.require_iterable(events, "StageChanged", "events")
        given: list[StageChanged] | HistoryColumns = (
            events
            if isinstance(events, HistoryColumns)
            else _listed(events, StageChanged, "a StageChanged", "events")
        )  # a history kept as columns is read by columns; other events are refused as read
        matrix = transitions(given, pipeline, smoothing=smoothing)
        absorbing = [s.key for s in pipeline.stages if not s.is_open]
        self.chain = absorbing_chain(matrix, absorbing=absorbing)
        c.require_iterable(open_deals, "Opportunity", where)
        self.deals = _listed(open_deals, Opportunity, "an Opportunity", where)
        stays = _stays(given, pipeline, self.deals, now, where)
        self.opened = [s.key for s in pipeline.open_stages]
        self.won = {s.key for s in pipeline.stages if s.outcome is StageOutcome.WON}
        self.moves = {k: _cumulative(matrix[k]) for k in self.opened}
        self.holds = {k: _Stay(stays[k]) for k in self.opened}

    def p_won(self, key: str) -> Fraction | float:
        """The chance of winning from open stage *key*."""
        chain = self.chain
        return sum((chain.probability(key, w) for w in self.won), Fraction(0) if chain.exact else 0.0)


@attrs.frozen(kw_only=True)
class DealClose:
    """
    When one open deal will close: its stage, its chance of winning from
    there, and the 10th, 50th and 90th percentile dates of its close (won
    or lost), with the median date of a win among the trials that won
    (``None`` when none did); with a window, the chance it is won with its
    close inside it.
    """

    opportunity_id: str
    stage: str
    p_won: Fraction | float
    p10: dt.datetime
    p50: dt.datetime
    p90: dt.datetime
    p50_won: dt.datetime | None
    p_won_within: float | None = None


@attrs.frozen(kw_only=True, repr=False)
class DealCloses(Report):
    """
    When each open deal will close (:class:`DealClose`), from *trials*
    simulated futures per deal at *now*; *beyond* as in :class:`CloseTimes`.

    It does not merge: each row is a quantile of simulated futures through
    one model; learn the model once from all the history.
    """

    rows: tuple[DealClose, ...]
    now: dt.datetime
    trials: int
    beyond: float

    def _summary(self) -> str:
        deals = c.counted(len(self.rows), "deal")
        return f"{deals} at {self.now.isoformat()}, {self.trials:,} trials each"

    def _rows(self) -> list[dict[str, object]]:
        return [attrs.asdict(r) for r in self.rows]


def close_dates(
    opportunities: Iterable[Opportunity],
    events: Iterable[StageChanged],
    pipeline: Pipeline,
    *,
    now: dt.datetime,
    rng: random.Random | int,
    trials: int = 1_000,
    smoothing: Fraction | int | str = 1,
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> DealCloses:
    """
    When each open deal of *pipeline* among *opportunities* will close:
    the model of :func:`time_to_close` (the open deals' stays under way
    counted as censored), played forward *trials* times from each deal as
    it stands at *now*.  A deal's stay in its stage so far counts: the rest
    of it is drawn from the stays that lasted longer.  Deals that are not
    open, or of another pipeline, are left out.

    With *window* ``(start, end)``, each row also gives ``p_won_within``:
    the share of its trials won with the close in ``[start, end)``, the
    chance that the deal books in that period (for a forecast of the
    period's bookings, amount times this chance).

    Each deal's trials are paired with the same draws of the moves after
    its stage as the other deals in that stage: each deal's dates are right
    on their own, but do not add the dates of many deals up.

    >>> import datetime as dt
    >>> from funnelkit import Opportunity
    >>> from funnelkit.stages import Pipeline, Stage, StageChanged
    >>> pipe = Pipeline(key="p", label="P", stages=[
    ...     Stage(key="a", label="A", probability="0.5"),
    ...     Stage(key="won", label="W", probability=1, outcome="won"),
    ...     Stage(key="lost", label="L", probability=0, outcome="lost")])
    >>> t, day = dt.datetime(2026, 1, 5, tzinfo=dt.UTC), dt.timedelta(days=1)
    >>> events = [StageChanged(opportunity_id=f"d{i}", pipeline="p", kind="win", from_stage="a",
    ...                        to_stage="won", at=t, actor="ann", version=1, time_in_stage=i * day)
    ...           for i in (2, 4, 6, 8)]
    >>> deal = Opportunity(id="o", customer_id="c", owner="ann", pipeline="p", stage="a",
    ...                    created_at=t, stage_entered_at=t)
    >>> (row,) = close_dates([deal], events, pipe, now=t + 5 * day, rng=1, smoothing=0).rows
    >>> row.p10.date(), row.p90.date()  # five days in: only the stays of 6 and 8 days remain
    (datetime.date(2026, 1, 11), datetime.date(2026, 1, 13))

    Cost: O(e + n t m) for e events, n open deals, t trials (at most
    10,000,000 deal-trials) and m moves to a close on average.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    at = instant(now, field="now")
    trials, rng = _trials_and_rng(trials, rng)
    lo, hi = _window(window, at)
    model = _Model(events, pipeline, opportunities, at, smoothing, where="opportunities")
    mine = [o for o in model.deals if o.status is OpportunityStatus.OPEN and o.pipeline == pipeline.key]
    if len(mine) * trials > MAX_DEAL_TRIALS:
        msg = (
            f"{len(mine):,} open opportunities x {trials:,} trials: at most {MAX_DEAL_TRIALS:,} in all; "
            "give fewer trials or fewer deals"
        )
        raise ValidationError.single("trials", msg, code="limit")
    walk = _Walk(rng, model.moves, model.holds)
    onward: dict[str, list[tuple[int, str]]] = {}  # per stage: the futures after it, shared
    rows = []
    draw = rng.random
    for o in mine:
        key = o.stage
        if key not in onward:
            onward[key] = [walk.onward(key) for _ in range(trials)]
        hold, age = model.holds[key], (at - o.stage_entered_at) // _MICROSECOND
        micros, won_micros = [], []
        within = 0
        for after, end in onward[key]:
            rest, beyond = hold.rest(age, draw())
            walk.stays += 1
            walk.beyond += beyond
            micros.append(rest + after)
            if end in model.won:
                won_micros.append(rest + after)
                within += lo <= rest + after < hi
        micros.sort()
        won_micros.sort()
        rows.append(
            DealClose(
                opportunity_id=o.id,
                stage=key,
                p_won=model.p_won(key),
                p10=_date(at, _rank(micros, 0.1)),
                p50=_date(at, _rank(micros, 0.5)),
                p90=_date(at, _rank(micros, 0.9)),
                p50_won=_date(at, _rank(won_micros, 0.5)) if won_micros else None,
                p_won_within=None if window is None else within / trials,
            )
        )
    return DealCloses(rows=tuple(rows), now=at, trials=trials, beyond=walk.beyond / max(walk.stays, 1))


def _window(window: object, now: dt.datetime) -> tuple[float, float]:
    """A window ``(start, end)`` (checked) as microseconds from *now* (no window: nothing is in it)."""
    if window is None:
        return 0.0, 0.0
    if not (isinstance(window, tuple) and len(window) == 2):
        raise ValidationError.single("window", f"{c.show(window)} is not a (start, end) pair", code="type")
    start, end = instant(window[0], field="window[0]"), instant(window[1], field="window[1]")
    if end <= start:
        raise ValidationError.single("window", f"end {end.isoformat()} is not after start", code="order")
    return (start - now) / _MICROSECOND, (end - now) / _MICROSECOND


def _date(now: dt.datetime, micros: int) -> dt.datetime:
    """*micros* microseconds after *now*; refused, naming *now*, past the last datetime."""
    later = _microseconds(micros)
    try:
        return now + later
    except OverflowError:
        msg = f"a close {later} after {now.isoformat()} is past the last datetime"
        raise ValidationError.single("now", msg, code="range") from None


def _rank(times: Sequence[Any], q: float) -> Any:
    """The q-quantile by nearest rank of sorted *times* (as the funnel's p50 and p90)."""
    return times[max(0, math.ceil(q * len(times)) - 1)]


def _stays(
    events: list[StageChanged] | HistoryColumns,
    pipeline: Pipeline,
    open_deals: Iterable[Opportunity],
    now: dt.datetime | None,
    where: str,
) -> dict[str, tuple[list[int], list[bool]]]:
    """
    Per open stage, its stays: microseconds and whether each ended (False
    for a stay still under way at *now*).
    """
    stays: dict[str, tuple[list[int], list[bool]]] = {s.key: ([], []) for s in pipeline.open_stages}
    if isinstance(events, HistoryColumns):  # read by columns: each stage's times at once
        if events.pipeline == pipeline.key and len(events):
            source, names = events.codes("from_stage")
            spent = events.column("time_in_stage").view("int64")
            for code, key in enumerate(names.tolist()):
                if key in stays:
                    ended = spent[source == code].tolist()
                    stays[key][0].extend(ended)
                    stays[key][1].extend([True] * len(ended))
    else:
        for e in events:
            if e.pipeline == pipeline.key and e.from_stage in stays:
                micros, ended = stays[e.from_stage]
                micros.append(e.time_in_stage // _MICROSECOND)
                ended.append(True)
    deals = list(open_deals)
    if deals and now is None:
        raise ValidationError.single(
            "now", "missing; the stays of open deals are measured to now", code="missing"
        )
    at = None if now is None else instant(now, field="now")
    for i, o in enumerate(deals):
        c.require(o, Opportunity, "an Opportunity", f"{where}[{i}]")
        if o.status is not OpportunityStatus.OPEN or o.pipeline != pipeline.key or o.stage not in stays:
            continue
        assert at is not None  # noqa: S101 - deals without now are refused above
        if o.stage_entered_at > at:
            msg = f"entered {o.stage!r} at {o.stage_entered_at.isoformat()}, after now {at.isoformat()}"
            raise ValidationError.single(f"{where}[{i}].stage_entered_at", msg, code="order")
        micros, ended = stays[o.stage]
        micros.append((at - o.stage_entered_at) // _MICROSECOND)
        ended.append(False)
    for key, (found, _) in stays.items():
        if not found:
            msg = f"no stay in {key!r} was observed, ended or under way; its time cannot be estimated"
            raise ValidationError.single("events", msg, code="empty")
    return stays


def _cumulative(row: Any) -> tuple[list[float], list[str]]:
    """A chain's row of move probabilities as running totals (floats) and the stages they lead to."""
    targets = list(row)
    totals, running = [], 0.0
    for t in targets:
        running += float(row[t])
        totals.append(running)
    return totals, targets


class _Stay:
    """One stage's stays as a distribution to draw from: the Kaplan-Meier estimate's steps, in µs."""

    def __init__(self, stays: tuple[list[int], list[bool]]) -> None:
        micros, ended = stays
        steps = kaplan_meier(durations=micros, event_observed=ended, exact=False).steps
        closed = [n > 0 for n in steps.events]
        # the times are the microseconds given: ints
        self.times: list[int] = [cast("int", t) for t, k in zip(steps.time, closed, strict=True) if k]
        self.reached = [1.0 - float(s) for s, k in zip(steps.survival, closed, strict=True) if k]
        self.longest = max(micros)
        # the mean stay of this distribution: each drawn stay by its chance, the rest at the longest
        reached, mean = 0.0, 0.0
        for t, f in zip(self.times, self.reached, strict=True):
            mean += t * (f - reached)
            reached = f
        self.mean_micros = mean + self.longest * (1.0 - reached)

    def rest(self, age: int, u: float) -> tuple[int, bool]:
        """
        The rest of a stay already *age* µs long, drawn at *u* from the
        stays that lasted longer (S(t) / S(age)), and whether it is beyond the data.
        """
        below = (
            self.reached[bisect.bisect_right(self.times, age) - 1]
            if self.times and self.times[0] <= age
            else 0.0
        )
        i = bisect.bisect_left(self.reached, below + u * (1.0 - below))
        if i < len(self.times) and self.times[i] > age:
            return self.times[i] - age, False
        return max(self.longest - age, 0), True


class _Walk:
    """Trials of the chain: each a walk from a stage to a close, its stays drawn as it goes."""

    def __init__(
        self,
        rng: random.Random,
        moves: dict[str, tuple[list[float], list[str]]],
        holds: dict[str, _Stay],
    ) -> None:
        self.rng = rng
        # per open stage: its stays' times and distribution function, the longest, its moves
        self.table = {k: (h.times, h.reached, len(h.times), h.longest, *moves[k]) for k, h in holds.items()}
        self.beyond = self.stays = 0

    def onward(self, key: str) -> tuple[int, str]:
        """One trial from leaving *key*: its next move drawn, then on to a close from there."""
        totals, targets = self.table[key][4:]
        after = targets[min(bisect.bisect_right(totals, self.rng.random() * totals[-1]), len(targets) - 1)]
        return self.from_stage(after)

    def from_stage(self, key: str) -> tuple[int, str]:
        """One trial from *key*: the microseconds to a close, and the stage it closed in."""
        draw, table, find, after = self.rng.random, self.table, bisect.bisect_left, bisect.bisect_right
        spent = stays = beyond = 0
        room = MAX_MOVES - self.stays  # the moves this walk may still make
        row = table.get(key)
        while row is not None:
            if stays >= room:
                msg = f"more than {MAX_MOVES:,} moves simulated; the chain almost never closes"
                raise ValidationError.single("trials", msg, code="limit")
            times, reached, n, longest, totals, targets = row
            i = find(reached, draw())
            if i < n:
                spent += times[i]
            else:  # longer than any stay seen: the longest
                spent += longest
                beyond += 1
            stays += 1
            key = targets[min(after(totals, draw() * totals[-1]), len(targets) - 1)]
            row = table.get(key)
        self.stays += stays
        self.beyond += beyond
        return spent, key
