"""
The numpy path of :func:`~funnelkit.forecast.expected_bookings` for large
histories: the Aalen-Johansen estimate of each stage (the same arithmetic
as the pure-Python one, so the same floats) and the open deals' chances of
being won in each month of the period, found for every distinct age in a
stage at once (to within float rounding of the pure-Python sums, which
add the same terms one by one).  Imported only when numpy is installed
and the history is large; the pure-Python path is the oracle.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from .. import _optional
from ..entities import OpportunityStatus

if TYPE_CHECKING:
    from ..entities import Opportunity
    from ..stages import StageChanged


class _Chain(Protocol):
    """What this path reads of :class:`._bookings._Chain` (named by shape: no import back)."""

    won: set[str]
    horizon: int
    times: dict[str, list[float]]
    survival: dict[str, list[float]]
    jumps: dict[str, list[tuple[float, str, float]]]
    w: dict[str, list[float]]

    def grow(self, horizon: int) -> None: ...


class _Moves(Protocol):
    """What this path reads of :class:`._bookings._Moves`: each deal's moves in order."""

    moves: dict[str, list[StageChanged]]


_OPEN = OpportunityStatus.OPEN
_ID, _STAGE, _STATUS = operator.attrgetter("id"), operator.attrgetter("stage"), operator.attrgetter("status")


def aalen_johansen(
    observations: list[tuple[float, str | None]],
) -> tuple[list[float], list[float], list[tuple[float, str, float]]]:
    """
    :func:`._bookings._aalen_johansen` with numpy: the same survival
    products in the same order (a running product) and the same jump
    sizes ``survival * count / at_risk``, so the same floats.
    """
    np = _optional.numpy()
    if not observations:
        return [], [], []
    names = sorted({d for _, d in observations if d is not None})
    code_of: dict[str | None, int] = {d: i for i, d in enumerate(names)}
    censored = len(names)
    code_of[None] = censored
    x = np.fromiter((t for t, _ in observations), dtype=np.float64, count=len(observations))
    code = np.fromiter((code_of[d] for _, d in observations), dtype=np.int64, count=len(observations))
    return _estimate(np, x, code, names, np.arange(len(names) + 1))


def chances(
    chain: _Chain,
    deals: Sequence[Opportunity],
    ages: Sequence[float],
    notes: Sequence[str | None],
    bounds: Sequence[tuple[float, float]],
) -> list[list[float]]:
    """
    Each open deal's chance of being won in each month ``(t1, t2]`` days
    from now: ``max(W(t2) - W(t1), 0)`` as :meth:`._bookings._Chain.won_within`
    gives W, 0 for a deal whose *note* says the history cannot tell.
    """
    np = _optional.numpy()
    out = np.zeros((len(deals), len(bounds)))
    wanted = sorted({math.floor(t) for pair in bounds for t in pair if math.floor(t) >= 1})
    if not wanted or not deals:
        return cast("list[list[float]]", out.tolist())
    chain.grow(wanted[-1])
    column = {d: j for j, d in enumerate(wanted)}
    by_stage: dict[str, list[int]] = {}
    for i, (o, note) in enumerate(zip(deals, notes, strict=True)):
        if not note:
            by_stage.setdefault(o.stage, []).append(i)
    age = np.asarray(ages, dtype=np.float64)
    for stage in sorted(by_stage):
        rows = np.asarray(by_stage[stage], dtype=np.int64)
        quarters, inverse = np.unique(np.ceil(age[rows] * 4).astype(np.int64), return_inverse=True)
        won = _won_within(np, chain, stage, quarters, wanted)
        for m, (t1, t2) in enumerate(bounds):
            d1, d2 = math.floor(t1), math.floor(t2)
            w2 = won[inverse, column[d2]] if d2 >= 1 else 0.0
            w1 = won[inverse, column[d1]] if d1 >= 1 else 0.0
            out[rows, m] = np.maximum(w2 - w1, 0.0)
    return cast("list[list[float]]", out.tolist())


def _won_within(np: Any, chain: _Chain, stage: str, quarters: Any, wanted: list[int]) -> Any:
    """
    W for deals ``quarters / 4`` days into *stage* (distinct, whole quarters) within each
    of *wanted* days: the jumps after the age, binned by ``B = ceil(t - f/4 - 1/2)``, each
    leaving ``max(1, B - n)`` days from now into its destination's chance of a win within the
    days left; over the chance of being still in the stage at that age.
    """
    jumps = chain.jumps[stage]
    tau = np.fromiter((t for t, _, _ in jumps), dtype=np.float64, count=len(jumps))
    size = np.fromiter((p for _, _, p in jumps), dtype=np.float64, count=len(jumps))
    names = sorted({d for _, d, _ in jumps})
    code_of = {d: i for i, d in enumerate(names)}
    code = np.fromiter((code_of[d] for _, d, _ in jumps), dtype=np.int64, count=len(jumps))
    horizon = chain.horizon
    value = np.zeros((max(len(names), 1), horizon + 1))  # each destination's chance of a win within t days
    for d, i in code_of.items():
        if d in chain.won:
            value[i] = 1.0
        elif d in chain.w:
            value[i] = chain.w[d]
    n, f, a = quarters // 4, quarters % 4, quarters / 4
    times = np.asarray(chain.times[stage], dtype=np.float64)
    survival = np.asarray(chain.survival[stage], dtype=np.float64)
    j = np.searchsorted(times, a, side="right") - 1
    alive = np.where(j < 0, 1.0, survival[np.maximum(j, 0)] if len(survival) else 1.0)
    total = np.zeros((len(quarters), len(wanted)))
    most = max(wanted)
    for fv in range(4):
        mine = np.flatnonzero(f == fv)
        if not len(mine) or not len(jumps):
            continue
        nn, aa = n[mine], a[mine]
        bins = np.ceil(tau - fv / 4 - 0.5).astype(np.int64)
        shift = 1 - min(int(bins[0]), 0)  # the first bin, at least -1, on row 1 or more
        rows = max(int(bins[-1]), int(nn.max()) + most) + shift + 1
        per_bin = np.zeros((rows, len(names)))
        np.add.at(per_bin, (bins + shift, code), size)
        binned = per_bin @ value  # per bin and days left, the chance of a win from its jumps
        lo = np.searchsorted(bins, nn, side="left")
        hi = np.searchsorted(bins, nn, side="right")
        start = np.maximum(lo, np.searchsorted(tau, aa, side="right"))
        for col, days in enumerate(wanted):
            # bin n: only the jumps after the age, each a day away at least
            ahead = np.concatenate(([0.0], np.cumsum(size * value[code, days - 1])))
            first = np.where(hi > start, ahead[hi] - ahead[np.minimum(start, hi)], 0.0)
            later = np.arange(1, days + 1)
            rest = binned[nn[:, None] + later[None, :] + shift, days - later[None, :]].sum(axis=1)
            total[mine, col] = first + rest
    return np.where(alive[:, None] > 0, total / np.where(alive > 0, alive, 1.0)[:, None], 0.0)


#: A microsecond, the unit of the instants kept as integers.
_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: A day in microseconds; differences of instants below 2**53 microseconds convert to floats exactly.
_DAY_US = 86_400_000_000
_EXACT = 2**53
_NEVER = 2**62


def _us(t: dt.datetime) -> int:
    return (t - _EPOCH) // _US


class Stays:
    """
    Every stay of every deal known at "now" (each deal's moves in the order
    :class:`._bookings._Moves` sorts them, ending with the stay under way),
    as arrays: the stays known at an earlier instant are then picked out
    (those ended by it) rather than rebuilt, and each open stage's estimate
    made from them as :class:`._bookings._Known` makes it from the deals
    one by one: the same observations, the same stages in the same order,
    the same floats.
    """

    def __init__(self, deals: Sequence[Opportunity], moves: _Moves) -> None:
        np = _optional.numpy()
        self.np = np
        self.position = {o.id: i for i, o in enumerate(deals)}
        deal: list[int] = []
        place: list[int] = []
        stage: list[str] = []
        began: list[int] = []
        ended: list[int] = []
        to: list[str | None] = []
        offset: list[int] = []
        for i, o in enumerate(deals):
            history = moves.moves.get(o.id, [])
            offset.append(len(deal))
            here, entered = (history[0].from_stage if history else o.stage), _us(o.created_at)
            for j, e in enumerate(history):
                at = _us(e.at)
                deal.append(i)
                place.append(j)
                stage.append(here)
                began.append(entered)
                ended.append(at)
                to.append(e.to_stage)
                here, entered = e.to_stage, at
            deal.append(i)
            place.append(len(history))
            stage.append(here)
            began.append(entered)
            ended.append(_NEVER)  # under way at now
            to.append(None)
        # the stages by a number each, in the order first seen
        self.names: dict[str, int] = {
            k: i for i, k in enumerate(dict.fromkeys(stage + [k for k in to if k is not None]))
        }
        names: dict[str | None, int] = dict(self.names.items())
        names[None] = -1
        self.deal = np.asarray(deal, dtype=np.int64)
        self.place = np.asarray(place, dtype=np.int64)
        self.stage = np.fromiter(map(names.__getitem__, stage), dtype=np.int64, count=len(stage))
        self.began = np.asarray(began, dtype=np.int64)
        self.ended = np.asarray(ended, dtype=np.int64)
        self.to = np.fromiter(map(names.__getitem__, to), dtype=np.int64, count=len(to))
        self.offset = np.asarray(offset, dtype=np.int64)
        self.count = len(deals)

    def _code(self, name: str) -> int:
        return self.names.setdefault(name, len(self.names))

    def estimates(
        self, deals: Sequence[Opportunity], now: dt.datetime, since: dt.datetime, open_stages: set[str]
    ) -> tuple[dict[str, Any], dict[str, int]] | None:
        """
        At *now*, for *deals* as they stood then (a part of those given, in
        their order): each open stage's Aalen-Johansen estimate over the
        stays begun from *since* on (those under way censored), the stages
        in the order the deals first show them; and how many deals started
        in each stage.  ``None`` when a deal is not among those given or a
        stay is too long for a float to hold its microseconds exactly.
        """
        np, n = self.np, len(deals)
        try:
            rows = np.fromiter(map(self.position.__getitem__, map(_ID, deals)), dtype=np.int64, count=n)
        except KeyError:
            return None
        is_open = np.fromiter(map(_OPEN.__eq__, map(_STATUS, deals)), dtype=bool, count=n)
        stages = list(map(_STAGE, deals))
        for k in set(stages) - self.names.keys():
            self._code(k)
        stood = np.fromiter(map(self.names.__getitem__, stages), dtype=np.int64, count=n)
        then, first_day = _us(now), _us(since)
        names = sorted(self.names, key=self.names.__getitem__)
        opened = np.zeros(len(names), dtype=bool)
        opened[[self.names[k] for k in open_stages if k in self.names]] = True
        present = np.zeros(self.count, dtype=bool)
        present[rows] = True
        made = (self.ended <= then) & (self.to >= 0)  # the moves made by now (each deal's come in order)
        moved = np.bincount(self.deal[made], minlength=self.count)[rows]
        # the stays ended by now, begun from since on, in an open stage, of the deals given
        closed = made & present[self.deal] & opened[self.stage] & (self.began >= first_day)
        # each deal's stay under way: its stage as it stood when it has made no move yet
        current = self.offset[rows] + moved
        where = np.where(moved == 0, stood, self.stage[current])
        began = self.began[current]
        live = is_open & opened[where] & (began >= first_day)
        spans = np.concatenate(((self.ended - self.began)[closed], then - began[live]))
        if len(spans) and int(np.abs(spans).max()) >= _EXACT:
            return None
        x = np.maximum(spans.astype(np.float64) / _DAY_US, 0.0)
        stage = np.concatenate((self.stage[closed], where[live]))
        dest = np.concatenate((self.to[closed], np.full(int(live.sum()), -1, dtype=np.int64)))
        # the order the deals show them in: by deal, then by stay (the one under way last)
        order_key = np.concatenate(
            (
                self.deal[closed] * (self.place.max(initial=0) + 2) + self.place[closed],
                rows[live] * (self.place.max(initial=0) + 2) + moved[live],
            )
        )
        out: dict[str, Any] = {}
        if len(stage):
            seen = np.unique(stage)
            firsts = [int(order_key[stage == s].min()) for s in seen.tolist()]
            rank = np.empty(len(names) + 1, dtype=np.int64)  # destinations by name, censored last
            rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))
            rank[-1] = len(names)
            for _, s in sorted(zip(firsts, seen.tolist(), strict=True)):
                mine = stage == s
                out[names[s]] = _estimate(np, x[mine], rank[dest[mine]], names, rank)
        first = np.where(moved == 0, stood, self.stage[self.offset[rows]])
        counts = np.bincount(first, minlength=len(names))
        starts = {names[i]: int(n) for i, n in enumerate(counts.tolist()) if n}
        return out, starts


def steps(jumps: list[tuple[float, str, float]], horizon: int) -> list[tuple[int, str, float]]:
    """
    What :meth:`._bookings._Chain.grow` bins: each (whole day u, destination)'s sum of
    the jumps that leave after u days (at least 1, up to *horizon*), added in the same
    order (an unbuffered add, one jump after another), so the same floats; sorted.
    """
    np = _optional.numpy()
    if not jumps:
        return []
    names = sorted({d for _, d, _ in jumps})
    code_of = {d: i for i, d in enumerate(names)}
    tau = np.fromiter(map(_FIRST, jumps), dtype=np.float64, count=len(jumps))
    size = np.fromiter(map(_LAST, jumps), dtype=np.float64, count=len(jumps))
    code = np.fromiter(map(code_of.__getitem__, map(_MIDDLE, jumps)), dtype=np.int64, count=len(jumps))
    u = np.maximum(1, np.ceil(tau - 0.5)).astype(np.int64)
    keep = u <= horizon
    u, code, size = u[keep], code[keep], size[keep]
    sums = np.zeros((horizon + 1) * len(names))
    np.add.at(sums, u * len(names) + code, size)
    hit = np.zeros(len(sums), dtype=bool)
    hit[u * len(names) + code] = True
    where = np.flatnonzero(hit)  # in (u, name) order
    return list(zip((where // len(names)).tolist(), [names[i] for i in (where % len(names)).tolist()],
                    sums[where].tolist(), strict=True))  # fmt: skip


def grid(
    steps: dict[str, list[tuple[int, str, float]]], won: set[str], horizon: int
) -> dict[str, list[float]]:
    """
    What :meth:`._bookings._Chain.grow` makes of its *steps*: for each
    stage, the chance of a win within t = 0 to *horizon* days, by days in
    increasing t, each a sum of the same products added one after another
    in the same order (a running sum), so the same floats.
    """
    np = _optional.numpy()
    stages = list(steps)
    index = {k: i for i, k in enumerate(stages)}
    ones, zeros = len(stages), len(stages) + 1
    values = np.zeros((len(stages) + 2, horizon + 1))  # each stage's W, then ones (won), then zeros
    values[ones] = 1.0
    rows = []
    for k, row in steps.items():
        u = np.fromiter(map(_FIRST, row), dtype=np.int64, count=len(row))
        p = np.fromiter(map(_LAST, row), dtype=np.float64, count=len(row))
        to = np.fromiter(
            (ones if d in won else index.get(d, zeros) for _, d, _ in row), dtype=np.int64, count=len(row)
        )
        rows.append((index[k], u, p, to))
    add = np.add.accumulate
    for t in range(1, horizon + 1):
        for i, u, p, to in rows:
            m = int(np.searchsorted(u, t, side="right"))  # the steps of at most t days (sorted by days)
            if m:
                values[i, t] = add(p[:m] * values[to[:m], t - u[:m]])[-1]
    return {k: values[index[k]].tolist() for k in stages}


_FIRST, _MIDDLE, _LAST = operator.itemgetter(0), operator.itemgetter(1), operator.itemgetter(2)


def _estimate(
    np: Any, x: Any, rank: Any, names: list[str], ranks: Any
) -> tuple[list[float], list[float], list[tuple[float, str, float]]]:
    """
    :func:`aalen_johansen` of stays of *x* days that ended in the stages whose ranks by name are
    *rank* (``len(names)``: under way), *ranks* the rank of each of *names* (and ``len(names)``).
    """
    censored = len(names)
    by_rank = [""] * len(names)
    for i, r in enumerate(ranks[:-1].tolist()):
        by_rank[r] = names[i]
    order = np.lexsort((rank, x))
    x, code = x[order], rank[order]
    times, first = np.unique(x, return_index=True)
    removed = np.append(first[1:], len(x)) - first
    ended = np.add.reduceat((code != censored).astype(np.int64), first)
    at_risk = len(x) - np.concatenate(([0], np.cumsum(removed)[:-1]))
    survival = np.multiply.accumulate(1.0 - ended / at_risk)
    before = np.concatenate(([1.0], survival[:-1]))
    run_start = np.flatnonzero(np.concatenate(([True], (x[1:] != x[:-1]) | (code[1:] != code[:-1]))))
    run_end = np.append(run_start[1:], len(x))
    real = code[run_start] != censored
    run_start, run_end = run_start[real], run_end[real]
    at = np.searchsorted(times, x[run_start])
    sizes = before[at] * (run_end - run_start).astype(np.float64) / at_risk[at].astype(np.float64)
    jumps = list(
        zip(
            x[run_start].tolist(), [by_rank[r] for r in code[run_start].tolist()], sizes.tolist(), strict=True
        )
    )
    return times.tolist(), survival.tolist(), jumps
