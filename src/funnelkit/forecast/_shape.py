"""
The funnel's shape and honesty: where deals pile up or run thin, whether the
configured stage probabilities match what happened, and how deals flow in and
out per period.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal, overload

import attrs

from .. import _checks as c
from .._money import decimal_of
from .._report import Report, conflict
from .._repr import funnel_svg
from .._time import period_start
from .._time import zone as zone_of
from ..entities import Opportunity, OpportunityStatus
from ..errors import Problem, ValidationError
from ..stages import MoveKind, Pipeline, StageChanged
from ._funnel import FunnelReport, StageStats, unique_events

_DAY = dt.timedelta(days=1)


# --- shape --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StageShape:
    """
    Open deals in one stage against what the history predicts.
    """

    stage: str
    observed: int
    expected: Decimal
    ratio: Fraction | None


@attrs.frozen(kw_only=True)
class Finding:
    """
    One thing wrong with the funnel's shape, with the numbers behind it.

    *kind* is ``bulge`` (deals piling up in a middle stage: the "pregnant
    funnel"), ``thin_top`` (too few new deals) or
    ``thin_bottom`` (too few deals reaching the close).
    """

    kind: Literal["bulge", "thin_top", "thin_bottom"]
    stage: str
    observed: int
    expected: Decimal
    ratio: Fraction | None
    threshold: Decimal
    message: str


@attrs.frozen(kw_only=True, repr=False)
class ShapeReport(Report):
    """
    Observed and expected open deals per stage, and what stands out.

    ``str(report)`` explains it line by line.  A :class:`~funnelkit.Report`:
    its table has one row per stage (observed, expected, their ratio, and
    the finding about the stage, if any); :meth:`to_svg` draws the funnel.

    Not mergeable, by design: a diagnosis compares the whole open book with
    the whole history, and a finding in a part says nothing about the
    whole.  Over partitions, merge the histories (:meth:`FunnelReport.merge`)
    and diagnose the open deals once: a single pass of O(n).
    """

    stages: tuple[StageShape, ...]
    findings: tuple[Finding, ...]

    def __str__(self) -> str:
        lines = [f"{s.stage:>16}: {s.observed:5d} open, {s.expected:8.1f} expected" for s in self.stages]
        lines += [f"  ! {f.message}" for f in self.findings] or ["  the shape matches the history"]
        return "\n".join(["ShapeReport", *lines])

    def _summary(self) -> str:
        open_deals = sum(s.observed for s in self.stages)
        head = f"{len(self.stages)} stages, {open_deals} open deals; "
        if not self.findings:
            return head + "the shape matches the history"
        more = f" (and {len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        return head + self.findings[0].message + more

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per stage: observed, expected, ratio, and the kind and text of its finding.
        """
        found = {f.stage: f for f in self.findings}
        return [
            {
                "stage": s.stage,
                "observed": s.observed,
                "expected": s.expected,
                "ratio": s.ratio,
                "finding": found[s.stage].kind if s.stage in found else None,
                "message": found[s.stage].message if s.stage in found else None,
            }
            for s in self.stages
        ]

    def to_svg(self) -> str:
        """
        Open deals per stage as an inline SVG funnel, each bar labelled with
        the observed and the expected count.
        Cost: O(s) for s stages.
        """
        bars = [
            (s.stage, float(s.observed), f"{s.observed} (expected {float(s.expected):.1f})")
            for s in self.stages
        ]
        return funnel_svg(bars, title="open deals per stage")


def _positive(value: object, name: str) -> Decimal:
    value = c.plain(value)  # a numpy int as an int
    number = (
        c.to_decimal(value)
        if isinstance(value, str | int | Decimal) and not isinstance(value, bool)
        else value
    )
    if not isinstance(number, Decimal) or not number.is_finite() or number <= 0:
        code = "range" if isinstance(number, Decimal) else "type"
        raise ValidationError.single(name, f"{c.show(value)} is not a positive number", code=code)
    return number


def diagnose(
    opportunities: Iterable[Opportunity],
    pipeline: Pipeline,
    *,
    history: FunnelReport,
    bulge: Decimal | str = "1.5",
    thin: Decimal | str = "0.5",
) -> ShapeReport:
    """
    Compare the open deals per stage with the shape the history predicts.
    Cost: O(n + s) for n deals and s stages.

    In a steady funnel the deals in a stage are proportional to how many
    enter it times how long they stay (Little's law, L = lambda W): stage k
    expects a share proportional to ``entered(k) * mean_time(k)`` from
    *history* (:func:`funnel`), scaled to today's number of open deals.
    Entries count every way in (created there, forward, skip, back, reopen),
    so skips and early wins do not distort the shape.

    A middle stage holding at least *bulge* times its expected count is a
    bulge (the "pregnant funnel"; also when the history expects none there);
    a first stage at or below *thin* times is a thin top (not enough new
    deals); a last open stage at or below *thin* times is a thin bottom (poor
    closing).  A stage that deals have entered but none has left yet has no
    time to go by and is reported as missing history.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    c.require(history, FunnelReport, "a FunnelReport", "history")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    high = _positive(bulge, "bulge")
    low = _positive(thin, "thin")
    stats = {s.stage: s for s in history.stages}
    keys = [s.key for s in pipeline.open_stages]
    missing = _history_problems(stats, keys)
    if missing:
        raise ValidationError(missing)
    counts = _open_counts(opportunities, pipeline.key, keys)
    weights = []
    for k in keys:
        s = stats[k]
        days = Fraction(0) if s.mean_time is None else Fraction(s.mean_time / _DAY).limit_denominator(10**9)
        weights.append(s.entered * days)
    total_weight = sum(weights, Fraction(0))
    observed_total = sum(counts.values())
    rows = []
    findings = []
    last = len(keys) - 1
    for i, (k, w) in enumerate(zip(keys, weights, strict=True)):
        expected = observed_total * w / total_weight if total_weight else Fraction(0)
        ratio = Fraction(counts[k]) / expected if expected else None
        rows.append(
            StageShape(
                stage=k,
                observed=counts[k],
                expected=decimal_of(expected),
                ratio=ratio,
            )
        )
        where: Literal["top", "middle", "bottom"] = (
            "middle" if 0 < i < last else "top" if i == 0 else "bottom"
        )
        finding = _finding(where, k, counts[k], expected, ratio, high=high, low=low)
        if finding is not None:
            findings.append(finding)
    return ShapeReport(stages=tuple(rows), findings=tuple(findings))


def _history_problems(stats: Mapping[str, StageStats], keys: list[str]) -> list[Problem]:
    """What *history* lacks to predict the shape of the open stages *keys*."""
    missing = []
    for k in keys:
        s = stats.get(k)
        if s is None:
            missing.append(
                Problem(
                    path=f"history.stages[{k!r}]",
                    code="missing",
                    message="not in the history; build it with funnel()",
                )
            )
        elif s.entered and s.mean_time is None:
            who = "1 deal" if s.entered == 1 else f"{s.entered} deals"
            msg = f"{who} entered but none has left yet; the time in it cannot be estimated"
            missing.append(Problem(path=f"history.stages[{k!r}]", code="missing", message=msg))
    if not missing and not any(stats[k].entered for k in keys):
        missing.append(
            Problem(path="history", code="empty", message="no deal entered any stage; build it with funnel()")
        )
    return missing


def _open_counts(opportunities: Iterable[Opportunity], pipeline: str, keys: list[str]) -> dict[str, int]:
    """The open deals of *pipeline* in each stage of *keys*, each deal checked."""
    counts = dict.fromkeys(keys, 0)
    for i, o in enumerate(opportunities):
        if not isinstance(o, Opportunity):
            c.require(o, Opportunity, "an Opportunity", f"opportunities[{i}]")
        if o.pipeline == pipeline and o.status is OpportunityStatus.OPEN and o.stage in counts:
            counts[o.stage] += 1
    return counts


def _finding(
    where: Literal["top", "middle", "bottom"],
    k: str,
    count: int,
    expected: Fraction,
    ratio: Fraction | None,
    *,
    high: Decimal,
    low: Decimal,
) -> Finding | None:
    """The finding for stage *k* (the first, a middle or the last open stage), if any."""
    deals = f"{count} open deal{'' if count == 1 else 's'}"
    if ratio is None:
        if where == "middle" and count:
            text = f"bulge at {k!r}: {deals} where the history predicts none"
            return Finding(kind="bulge", stage=k, observed=count, expected=Decimal(0), ratio=None,
                           threshold=high, message=text)  # fmt: skip
        return None
    said = f"{deals} where the history predicts {float(expected):.1f} ({float(ratio):.2f}x"
    kind: Literal["bulge", "thin_top", "thin_bottom"]
    if where == "middle" and ratio >= high:
        kind, limit, text = "bulge", high, f"bulge at {k!r}: {said}, threshold {high}x)"
    elif where == "top" and ratio <= low:
        kind, limit, text = (
            "thin_top",
            low,
            f"thin top at {k!r}: {said}, threshold {low}x): too few new deals",
        )
    elif where == "bottom" and ratio <= low:
        kind, limit, text = (
            "thin_bottom",
            low,
            f"thin bottom at {k!r}: {said}, threshold {low}x): poor closing",
        )
    else:
        return None
    return Finding(
        kind=kind,
        stage=k,
        observed=count,
        expected=decimal_of(expected),
        ratio=ratio,
        threshold=limit,
        message=text,
    )


# --- calibration ---------------------------------------------------------------------


@attrs.frozen(kw_only=True, repr=False)
class Calibration(Report):
    """
    One stage: its configured win probability against the observed win rate
    of the closed deals that passed through it.

    A :class:`~funnelkit.Report` of one row (:func:`calibration` returns one
    per open stage).  A row alone does not merge (its *shrunk* rate leans on
    the pipeline-wide win rate, which it does not hold): merge the
    :class:`CalibrationReport`.
    """

    stage: str
    configured: Decimal
    won: int
    lost: int
    observed: Fraction | None
    shrunk: Fraction | None = None

    def _summary(self) -> str:
        observed = "-" if self.observed is None else f"{float(self.observed):.1%}"
        shrunk = "" if self.shrunk is None else f", shrunk {float(self.shrunk):.1%}"
        return (
            f"{self.stage!r}: configured {float(self.configured):.1%}, observed {observed} "
            f"({self.won} won, {self.lost} lost){shrunk}"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        The stage's one row: configured, won, lost, observed, shrunk and their difference.
        """
        return [{**attrs.asdict(self, recurse=False), "difference": self.difference}]

    @property
    def difference(self) -> Fraction | None:
        """
        Observed minus configured (positive: the stage is better than its
        probability says).
        """
        return None if self.observed is None else self.observed - Fraction(self.configured)


@attrs.frozen(kw_only=True, repr=False)
class CalibrationReport(Report, Sequence[Calibration]):
    """
    Every open stage's configured probability against its observed win
    rate, from :func:`calibration`.

    A sequence of :class:`Calibration` rows (iterate it, index it, take its
    ``len``) and a :class:`~funnelkit.Report` whose table has one row per
    stage.  *pipeline* is the pipeline's key, *strength* the shrinkage
    asked for, and *won* and *lost* count the closed deals over all stages
    (their win rate is what *shrunk* leans toward), so :meth:`merge` adds
    the reports of partitions split by deal into exactly the report of the
    whole.
    """

    rows: tuple[Calibration, ...]
    pipeline: str | None = None
    strength: int | None = None
    won: int = 0
    lost: int = 0

    def merge(self, other: CalibrationReport) -> CalibrationReport:
        """
        The calibration over the closed deals of both, for partitions split
        by deal (each deal with all its events in one partition): exactly
        what :func:`calibration` gives over all the events.  Reports of
        another pipeline, other stage probabilities or another *strength*
        are refused by name (code ``conflict``); a report built by hand
        (no pipeline) does not merge (``state``).
        Cost: O(s) for s stages.
        """
        c.require(other, CalibrationReport, "a CalibrationReport", "other")
        if self.pipeline is None or other.pipeline is None:
            msg = "only reports made by calibration() can be merged"
            raise ValidationError.single("other", msg, code="state")
        if other.pipeline != self.pipeline:
            raise conflict("pipeline", self.pipeline, other.pipeline, "pipeline")
        if other.strength != self.strength:
            raise conflict("strength", self.strength, other.strength, "strength")
        mine = [(r.stage, r.configured) for r in self.rows]
        theirs = [(r.stage, r.configured) for r in other.rows]
        if mine != theirs:
            raise conflict("rows", mine, theirs, "stages and probabilities")
        sums = [
            (r.stage, r.configured, r.won + o.won, r.lost + o.lost) for r, o in zip(self, other, strict=True)
        ]
        return _calibrated(
            self.pipeline, sums, won=self.won + other.won, lost=self.lost + other.lost, strength=self.strength
        )

    @overload
    def __getitem__(self, index: int) -> Calibration: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Calibration, ...]: ...
    def __getitem__(self, index: int | slice) -> Calibration | tuple[Calibration, ...]:
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Calibration]:
        return iter(self.rows)

    def _summary(self) -> str:
        closed = max((r.won + r.lost for r in self.rows), default=0)
        apart = [r for r in self.rows if r.difference is not None and abs(r.difference) >= Fraction(1, 10)]
        return (
            f"{len(self.rows)} stages, up to {closed} closed deals each; "
            f"{len(apart)} off by 10 points or more"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per open stage: configured, won, lost, observed, shrunk and their difference.
        """
        return [row for r in self.rows for row in r._rows()]  # noqa: SLF001 - the rows' own


def _closed_paths(events: Iterable[StageChanged], pipeline: Pipeline) -> dict[str, tuple[set[str], bool]]:
    """
    For each deal whose last move closed it: the open stages it passed
    through, and whether it was won.
    """
    per: dict[str, list[StageChanged]] = {}
    for e in unique_events(events, pipeline.key):
        per.setdefault(e.opportunity_id, []).append(e)
    out = {}
    for oid, es in per.items():
        es.sort(key=lambda e: (e.version, e.at))
        last = es[-1]
        if last.kind not in (MoveKind.WIN, MoveKind.LOSE):
            continue
        stages = {e.from_stage for e in es} | {e.to_stage for e in es}
        out[oid] = (stages, last.kind is MoveKind.WIN)
    return out


def calibration(
    events: Iterable[StageChanged], pipeline: Pipeline, *, strength: int | None = None
) -> CalibrationReport:
    """
    Per open stage: of the closed deals that were in it at some point (a
    deal that skipped the stage was not), the share that was won, next to
    the probability the pipeline gives the stage.  A deal counts by its last
    close (after a reopen); deals still open are left out.  With *strength*,
    each stage's rate is also shrunk (:func:`shrink`) toward the pipeline's
    overall win rate, in ``shrunk``: use it for a rep's or a segment's few
    deals.  Cost: O(e log e + s d) for e events, s stages and d closed deals.

    >>> import datetime as dt
    >>> from funnelkit.stages import StageChanged, default_pipeline
    >>> t = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    >>> def move(o, kind, a, b, v, **kw):
    ...     return StageChanged(opportunity_id=o, pipeline="default", kind=kind, from_stage=a,
    ...                         to_stage=b, at=t + dt.timedelta(days=v), actor="x", version=v,
    ...                         time_in_stage=dt.timedelta(0), **kw)
    >>> events = [move("w", "win", "negotiation", "won", 1),
    ...           move("l", "lose", "negotiation", "lost", 1, lost_reason="price")]
    >>> rows = calibration(events, default_pipeline())
    >>> tuple((r.stage, r.won, r.lost, r.observed) for r in rows if r.observed is not None)
    (('negotiation', 1, 1, Fraction(1, 2)),)
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    if strength is not None:
        strength = c.plain(strength)  # a numpy int as an int
        problem = c.non_negative_int(strength)
        if problem is not None:
            raise c.at("strength", problem)
    paths = _closed_paths(events, pipeline)
    wins = sum(1 for _, w in paths.values() if w)
    sums = []
    for s in pipeline.open_stages:
        won = sum(1 for stages, w in paths.values() if s.key in stages and w)
        lost = sum(1 for stages, w in paths.values() if s.key in stages and not w)
        sums.append((s.key, s.probability, won, lost))
    return _calibrated(pipeline.key, sums, won=wins, lost=len(paths) - wins, strength=strength)


def _calibrated(
    pipeline: str, sums: list[tuple[str, Decimal, int, int]], *, won: int, lost: int, strength: int | None
) -> CalibrationReport:
    """
    The report from its counts (per open stage: key, configured probability,
    won, lost) and the closed deals over all stages: one pass and merges build it alike.
    """
    average = Fraction(won, won + lost) if won + lost else None
    rows = []
    for stage, configured, stage_won, stage_lost in sums:
        shrunk = None
        if strength is not None and average is not None:
            shrunk = shrink(stage_won, stage_won + stage_lost, toward=average, strength=strength)
        rows.append(
            Calibration(
                stage=stage,
                configured=configured,
                won=stage_won,
                lost=stage_lost,
                observed=Fraction(stage_won, stage_won + stage_lost) if stage_won + stage_lost else None,
                shrunk=shrunk,
            )
        )
    return CalibrationReport(rows=tuple(rows), pipeline=pipeline, strength=strength, won=won, lost=lost)


def shrink(won: int, closed: int, *, toward: Fraction | Decimal, strength: int) -> Fraction:
    """
    A win rate pulled toward *toward* (the pipeline or team average) as if
    *strength* more deals had closed at that average:
    ``(won + strength * toward) / (closed + strength)``.

    This is the posterior mean of a beta-binomial model whose prior is worth
    *strength* deals; a rep with 2 deals moves most of the way to the
    average, a rep with 200 barely moves.  Use it on per-rep or per-segment
    rows of :func:`calibration` or close rates before comparing them.

    *toward* is a ``Fraction``, or a ``Decimal`` of at most 20 decimal
    places, in [0, 1].  Cost: O(1).

    >>> shrink(2, 2, toward=Fraction(1, 4), strength=6)   # 2 of 2 won, team 25 %
    Fraction(7, 16)
    """
    won, closed, strength = c.plain(won), c.plain(closed), c.plain(strength)  # numpy ints as ints
    problems = []
    for name, value in (("won", won), ("closed", closed), ("strength", strength)):
        problem = c.non_negative_int(value)
        if problem is not None:
            problems.append(problem.prefixed(name))
    if not problems and won > closed:
        msg = f"{c.show(won)} is more than closed ({c.show(closed)})"
        problems.append(Problem(path="won", code="conflict", message=msg))
    rate = None
    if isinstance(toward, Fraction):
        rate = toward
    elif isinstance(toward, Decimal) and c.probability(toward) is None:  # at most 20 places: no huge Fraction
        rate = Fraction(toward)
    if rate is None or not 0 <= rate <= 1:
        code = "range" if isinstance(toward, Fraction | Decimal) else "type"
        problems.append(
            Problem(path="toward", code=code, message=f"{c.show(toward)} is not a rate in [0, 1]")
        )
    if problems:
        raise ValidationError(problems)
    assert rate is not None  # noqa: S101 - checked above
    if closed + strength == 0:
        return rate
    return (won + strength * rate) / (closed + strength)


# --- flow ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FlowRow:
    """
    One period: deals created (inflow), won and lost in it.
    """

    period: dt.date
    created: int
    won: int
    lost: int


@attrs.frozen(kw_only=True, repr=False)
class FlowReport(Report, Sequence[FlowRow]):
    """
    Deals created, won and lost per period, periods in order, from :func:`flow`.

    A sequence of :class:`FlowRow` (iterate it, index it, take its ``len``)
    and a :class:`~funnelkit.Report` whose table has one row per period.
    *period* and *tz* are the periods' length and zone: counts per period,
    so :meth:`merge` adds the reports of any partitions of the deals and
    events (each in one partition) into exactly the report of the whole.
    """

    rows: tuple[FlowRow, ...]
    period: Literal["day", "week", "month"] = "month"
    tz: dt.tzinfo = dt.UTC

    def merge(self, other: FlowReport) -> FlowReport:
        """
        The flow over the deals and events of both, each in one of them:
        exactly what :func:`flow` gives over all of them (a close event
        given to both counts twice; one pass counts it once).  Reports of
        another period or zone are refused by name (``other.period``,
        ``other.tz``; code ``conflict``).
        Cost: O(p log p) for p periods.
        """
        c.require(other, FlowReport, "a FlowReport", "other")
        for field in ("period", "tz"):
            if getattr(other, field) != getattr(self, field):
                raise conflict(field, getattr(self, field), getattr(other, field), "period")
        sums: dict[dt.date, list[int]] = {}
        for r in (*self.rows, *other.rows):
            got = sums.setdefault(r.period, [0, 0, 0])
            got[0] += r.created
            got[1] += r.won
            got[2] += r.lost
        rows = (FlowRow(period=k, created=v[0], won=v[1], lost=v[2]) for k, v in sorted(sums.items()))
        return FlowReport(rows=tuple(rows), period=self.period, tz=self.tz)

    @overload
    def __getitem__(self, index: int) -> FlowRow: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[FlowRow, ...]: ...
    def __getitem__(self, index: int | slice) -> FlowRow | tuple[FlowRow, ...]:
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[FlowRow]:
        return iter(self.rows)

    def _summary(self) -> str:
        if not self.rows:
            return "no deal created, won or lost"
        created = sum(r.created for r in self.rows)
        won = sum(r.won for r in self.rows)
        lost = sum(r.lost for r in self.rows)
        span = f"{self.rows[0].period} to {self.rows[-1].period}"
        return f"{len(self.rows)} periods from {span}: {created} created, {won} won, {lost} lost"

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per period: its first day, and the deals created, won and lost in it.
        """
        return [attrs.asdict(r, recurse=False) for r in self.rows]


#: One owner's closed deals: won, lost, and the close rate won / (won + lost).
CloseRate = tuple[int, int, Fraction]


@attrs.frozen(kw_only=True, repr=False, eq=False)
class CloseRates(Report, Mapping[str, CloseRate]):
    """
    Each owner's deals won, deals lost and close rate, from :func:`close_rates`.

    A mapping of owner to ``(won, lost, rate)`` (``report["ann"]``, ``in``,
    iteration over the owners, ``==`` with a plain mapping) and a
    :class:`~funnelkit.Report` whose table has one row per owner.
    *pipeline* is the pipeline's key: counts per owner, so :meth:`merge`
    adds the reports of partitions split by deal into exactly the report of
    the whole.
    """

    rates: Mapping[str, CloseRate]
    pipeline: str | None = None

    def merge(self, other: CloseRates) -> CloseRates:
        """
        The close rates over the deals of both, for partitions split by deal
        (each deal with all its events in one partition): exactly what
        :func:`close_rates` gives over all of them.  Rates of another
        pipeline are refused by name (``other.pipeline``, ``conflict``).
        Cost: O(r log r) for r owners.
        """
        c.require(other, CloseRates, "a CloseRates", "other")
        if other.pipeline != self.pipeline:
            raise conflict("pipeline", self.pipeline, other.pipeline, "pipeline")
        tally: dict[str, list[int]] = {}
        for owner, (won, lost, _) in (*self.rates.items(), *other.rates.items()):
            got = tally.setdefault(owner, [0, 0])
            got[0] += won
            got[1] += lost
        return _rates(tally, self.pipeline)

    def __getitem__(self, owner: str) -> CloseRate:
        return self.rates[owner]

    def __len__(self) -> int:
        return len(self.rates)

    def __iter__(self) -> Iterator[str]:
        return iter(self.rates)

    def _summary(self) -> str:
        if not self.rates:
            return "no owner has closed a deal"
        won = sum(w for w, _, _ in self.rates.values())
        lost = sum(lo for _, lo, _ in self.rates.values())
        rate = f"{won / (won + lost):.1%}" if won + lost else "-"
        return f"{len(self.rates)} owners: {won} won, {lost} lost, close rate {rate} in all"

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per owner: deals won, deals lost and the close rate.
        """
        return [{"owner": o, "won": w, "lost": lo, "close_rate": r} for o, (w, lo, r) in self.rates.items()]


def flow(
    opportunities: Iterable[Opportunity],
    events: Iterable[StageChanged],
    *,
    period: Literal["day", "week", "month"] = "month",
    tz: dt.tzinfo | str = "UTC",
) -> FlowReport:
    """
    Inflow and outflow per local period: deals created, won and lost (each
    close event counts in the period it happened), periods in order; a
    period with nothing happening is left out.  The :class:`FlowReport` is a
    sequence of :class:`FlowRow`.  Cost: O(n + e + p log p) for n deals, e events and p periods.
    """
    if period not in ("day", "week", "month"):
        msg = f"{c.show(period)} is not a period; allowed: 'day', 'week', 'month'"
        raise ValidationError.single("period", msg, code="choice")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    zone = zone_of(tz)
    created_at: Counter[dt.datetime] = Counter()
    won_at: Counter[dt.datetime] = Counter()
    lost_at: Counter[dt.datetime] = Counter()
    for i, o in enumerate(opportunities):
        if not isinstance(o, Opportunity):
            c.require(o, Opportunity, "an Opportunity", f"opportunities[{i}]")
        created_at[o.created_at] += 1
    for e in unique_events(events, None):
        if e.kind is MoveKind.WIN:
            won_at[e.at] += 1
        elif e.kind is MoveKind.LOSE:
            lost_at[e.at] += 1
    starts: dict[dt.datetime, dt.date] = {}  # each distinct instant's period, worked out once

    def per_period(counts: Counter[dt.datetime]) -> dict[dt.date, int]:
        out: dict[dt.date, int] = {}
        for at, n in counts.items():
            key = starts.get(at)
            if key is None:
                key = starts[at] = period_start(at=at, period=period, tz=zone)
            out[key] = out.get(key, 0) + n
        return out

    created, won, lost = per_period(created_at), per_period(won_at), per_period(lost_at)
    keys = sorted(set(created) | set(won) | set(lost))
    return FlowReport(
        rows=tuple(
            FlowRow(period=k, created=created.get(k, 0), won=won.get(k, 0), lost=lost.get(k, 0)) for k in keys
        ),
        period=period,
        tz=zone,
    )


def close_rates(
    opportunities: Iterable[Opportunity], events: Iterable[StageChanged], pipeline: Pipeline
) -> CloseRates:
    """
    Per owner with at least one closed deal: deals won, deals lost, and the
    close rate won / (won + lost), each deal counted by its last close;
    owners as the opportunities give them now, in order.  The
    :class:`CloseRates` is a mapping of owner to ``(won, lost, rate)``.
    Cost: O(n + e log e) for n deals and e events.
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    c.require_iterable(opportunities, "Opportunity", "opportunities")
    owners = {}
    for i, o in enumerate(opportunities):
        if not isinstance(o, Opportunity):
            c.require(o, Opportunity, "an Opportunity", f"opportunities[{i}]")
        owners[o.id] = o.owner
    tally: dict[str, list[int]] = {}
    for oid, (_, was_won) in _closed_paths(events, pipeline).items():
        owner = owners.get(oid)
        if owner is None:
            continue
        row = tally.setdefault(owner, [0, 0])
        row[0 if was_won else 1] += 1
    return _rates(tally, pipeline.key)


def _rates(tally: Mapping[str, list[int]], pipeline: str | None) -> CloseRates:
    """The close rates from each owner's deals won and lost, owners in order."""
    rates = {owner: (w, lo, Fraction(w, w + lo)) for owner, (w, lo) in sorted(tally.items())}
    return CloseRates(rates=rates, pipeline=pipeline)
