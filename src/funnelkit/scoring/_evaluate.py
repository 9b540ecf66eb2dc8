"""
How good a lead score is: AUC and Brier score, a reliability table, and a
rolling backtest on held-out periods.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from typing import Any

import attrs

from .. import _checks as c
from .._report import Report
from .._time import canonical
from ..entities import Activity, Lead, Opportunity
from ..errors import Problem, ValidationError
from . import _args as a
from . import _features as f
from ._model import LeadScoreModel, fit_problems, fitted, labelled

# --- the measures -----------------------------------------------------------------------------


def _pairs(scores: object, outcomes: object, what: str) -> tuple[list[Any], list[bool]]:
    """
    *scores* (finite numbers, as floats; with *what* ``"probabilities"`` in
    [0, 1]) and *outcomes* (bools), read side by side, of one length; else
    one error (reading stops after 50 problems, or where one ends before
    the other, so an endless input ends too).
    """
    problems: list[Problem] = []
    for value, path in ((scores, what), (outcomes, "outcomes")):
        if not c.is_iterable(value):
            problems.append(c.wrong_type(value, "an iterable").prefixed(path))
    if problems:
        raise ValidationError(problems)
    xs: list[float] = []
    ys: list[bool] = []
    end = object()
    left, right = iter(scores), iter(outcomes)  # type: ignore[call-overload]
    i = 0
    while len(problems) < 50:
        x, y = next(left, end), next(right, end)
        if x is end and y is end:
            break
        if x is end or y is end:
            more = what if y is end else "outcomes"
            msg = f"more {more} than the {i:,} {'outcomes' if y is end else what}; give one outcome per score"
            problems.append(Problem(path="outcomes", code="conflict", message=msg))
            break
        if not a.real(x):
            problems.append(c.wrong_type(x, "a finite number").prefixed(f"{what}[{i}]"))
        else:
            number: Any = c.plain(x)  # kept exact: scores are ranked as given, never rounded to floats
            if what == "probabilities":
                if (
                    not 0 <= number <= 1
                ):  # exact, before any float: a huge int is out of range, not an overflow
                    msg = f"{c.show(x)} is not a probability in [0, 1]"
                    problems.append(Problem(path=f"{what}[{i}]", code="range", message=msg))
                    number = 0.0
                number = float(number)
            xs.append(number)
        if not isinstance(c.plain(y), bool):
            problems.append(c.wrong_type(y, "a bool").prefixed(f"outcomes[{i}]"))
        else:
            ys.append(bool(c.plain(y)))
        i += 1
    if problems:
        raise ValidationError(problems)
    return xs, ys


def _auc(xs: Sequence[Any], ys: Sequence[bool]) -> Fraction:
    """
    The Mann-Whitney AUC of checked scores (any mix of exact numbers and
    floats, compared exactly) and outcomes of both classes.
    """
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    rank_sum2 = 0  # twice the sum of the positives' (mid)ranks, ranks from 1
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        twice_mid = i + j + 2  # 2 * the mean of ranks i+1 .. j+1
        rank_sum2 += twice_mid * sum(1 for k in order[i : j + 1] if ys[k])
        i = j + 1
    pos = sum(ys)
    neg = len(ys) - pos
    return Fraction(rank_sum2 - pos * (pos + 1), 2 * pos * neg)


def auc(scores: Iterable[float], outcomes: Iterable[bool]) -> Fraction:
    """
    The area under the ROC curve of *scores* against *outcomes* (``True``:
    converted): the chance that a converted lead, drawn at random, scores
    above an unconverted one, a tie counting one half (the Mann-Whitney
    statistic ``U / (P N)``, exact as a fraction).  0.5 is no better than
    chance, 1 a perfect ranking.  Needs at least one lead of each outcome.

    Cost: O(n log n).

    >>> auc([0.9, 0.8, 0.8, 0.1], [True, False, True, False])
    Fraction(7, 8)
    """
    xs, ys = _pairs(scores, outcomes, "scores")
    pos = sum(ys)
    if pos in (0, len(ys)):
        which = "no" if pos == 0 else "only"
        msg = f"{which} positive outcomes among {c.counted(len(ys), 'score')}; AUC needs both outcomes"
        raise ValidationError.single("outcomes", msg, code="empty")
    return _auc(xs, ys)


def brier(probabilities: Iterable[float], outcomes: Iterable[bool]) -> float:
    """
    The Brier score of *probabilities* against *outcomes*: the mean of
    ``(p - y)**2`` with y 1 for ``True``, 0 otherwise; 0 is perfect, 0.25
    what a constant 0.5 scores.  Probabilities must lie in [0, 1].

    Cost: O(n).

    >>> round(brier([0.9, 0.2, 0.5], [True, False, True]), 12)  # (0.01 + 0.04 + 0.25) / 3
    0.1
    """
    xs, ys = _pairs(probabilities, outcomes, "probabilities")
    if not xs:
        raise ValidationError.single(
            "probabilities", "no probabilities; a Brier score needs one", code="empty"
        )
    return math.fsum((x - y) ** 2 for x, y in zip(xs, ys, strict=True)) / len(xs)


# --- the reliability table --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReliabilityBin:
    """
    One bin of predicted probability ``[lower, upper)`` (the last bin
    includes 1): how many leads fell in it, their mean predicted
    probability and the share that converted (``None`` for an empty bin).
    """

    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    observed_rate: Fraction | None


@attrs.frozen(kw_only=True, repr=False)
class ScoreReliability(Report):
    """
    A reliability table (:func:`calibration`): leads binned by predicted
    probability, each bin's mean prediction beside the rate observed.  A
    calibrated model's rows have the two close; *brier* and
    *expected_calibration_error* (the count-weighted mean of ``|mean
    predicted - observed|``) sum it up.

    Not mergeable, by nature: it judges one model on one set of leads;
    compute it once on all the held-out leads.
    """

    bins: tuple[ReliabilityBin, ...]
    leads: int
    brier: float
    expected_calibration_error: float
    now: dt.datetime

    def _summary(self) -> str:
        return (
            f"{c.counted(self.leads, 'lead')} in {c.counted(len(self.bins), 'bin')}; "
            f"Brier {self.brier:.4f}, calibration error {self.expected_calibration_error:.4f}"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """One row per bin: its bounds, count, mean predicted and observed rate."""
        for b in self.bins:
            yield {
                "lower": b.lower,
                "upper": b.upper,
                "count": b.count,
                "mean_predicted": b.mean_predicted,
                "observed_rate": b.observed_rate,
            }


def _bins_of(value: object) -> int:
    value = c.plain(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise c.at("bins", c.wrong_type(value, f"an int from 1 to {a.MAX_BINS:,}"))
    if not 1 <= value <= a.MAX_BINS:
        msg = f"{c.show(value)} is not an int from 1 to {a.MAX_BINS:,}"
        raise ValidationError.single("bins", msg, code="range")
    return value


def reliability(
    probabilities: Sequence[float], outcomes: Sequence[bool], bins: int, now: dt.datetime
) -> ScoreReliability:
    """The reliability table of checked probabilities and outcomes in *bins* equal bins."""
    counts = [0] * bins
    sums: list[list[float]] = [[] for _ in range(bins)]
    hits = [0] * bins
    for p, y in zip(probabilities, outcomes, strict=True):
        k = min(int(p * bins), bins - 1)
        counts[k] += 1
        sums[k].append(p)
        hits[k] += y
    table = []
    error = []
    for k in range(bins):
        mean = math.fsum(sums[k]) / counts[k] if counts[k] else None
        rate = Fraction(hits[k], counts[k]) if counts[k] else None
        if mean is not None and rate is not None:
            error.append(counts[k] * abs(mean - float(rate)))
        table.append(
            ReliabilityBin(
                lower=k / bins, upper=(k + 1) / bins, count=counts[k], mean_predicted=mean, observed_rate=rate
            )
        )
    n = len(probabilities)
    return ScoreReliability(
        bins=tuple(table),
        leads=n,
        brier=math.fsum((p - y) ** 2 for p, y in zip(probabilities, outcomes, strict=True)) / n,
        expected_calibration_error=math.fsum(error) / n,
        now=now,
    )


def calibration(
    model: LeadScoreModel,
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    *,
    opportunities: Iterable[Opportunity],
    now: dt.datetime,
    bins: int = 10,
    lead_of: a.LeadOf | None = None,
) -> ScoreReliability:
    """
    How well *model*'s probabilities match what happened to *leads*: a
    reliability table of *bins* equal bins of predicted probability, over
    the leads whose horizon has passed by *now* (their outcome known, read
    from *opportunities* as :func:`fit_lead_scores` reads it).  Use leads
    the model did not learn from (later ones) for an honest table.  No lead
    old enough is refused.

    Cost: O(a + n log n) for a activities and n leads.
    """
    c.require(model, LeadScoreModel, "a LeadScoreModel", "model")
    problem = a.now_problem(now)
    if problem is not None:
        raise ValidationError([problem])
    k = _bins_of(bins)
    items = f.checked_leads(leads)
    link = a.lead_link(lead_of)
    now = canonical(now)
    rows, _ = labelled(
        items,
        activities,
        opportunities,
        now=now,
        window=model.window,
        horizon=model.horizon,
        link=link,
        currency=model.currency,
    )
    if not rows:
        msg = (
            f"no lead is old enough to judge: a lead's outcome is known once created_at + horizon "
            f"({c.show(model.horizon)}) <= now ({now.isoformat()})"
        )
        raise ValidationError.single("leads", msg, code="empty")
    probabilities = [model._explain(values, lead.id).probability for lead, values, _ in rows]  # noqa: SLF001
    return reliability(probabilities, [y for _, _, y in rows], k, now)


# --- the rolling backtest ---------------------------------------------------------------------

#: The most cut-offs one backtest takes (each fits a model).
MAX_CUTOFFS = 1_000


@attrs.frozen(kw_only=True)
class BacktestFold:
    """
    One period of a backtest: a model trained on the leads whose outcome
    was known at *cutoff*, tested on the leads created from *cutoff* until
    the next cut-off (*until*; ``None`` for the last period).  *auc* is
    ``None`` when the test leads are all of one outcome, *brier* when
    there are none.
    """

    cutoff: dt.datetime
    until: dt.datetime | None
    train: int
    train_converted: int
    test: int
    test_converted: int
    auc: Fraction | None
    brier: float | None


@attrs.frozen(kw_only=True, repr=False)
class ScoreBacktest(Report):
    """
    A rolling backtest of lead scoring (:func:`backtest_lead_scores`): one
    row per period, and *auc* and *brier* over every test lead of every
    period pooled (``None`` when they cannot be told).

    Not mergeable, by nature: each period's model learns from all the
    history before it; run the backtest once over the whole history.
    """

    folds: tuple[BacktestFold, ...]
    auc: Fraction | None
    brier: float | None
    now: dt.datetime

    def _summary(self) -> str:
        shown_auc = "n/a" if self.auc is None else f"{float(self.auc):.3f}"
        shown_brier = "n/a" if self.brier is None else f"{self.brier:.4f}"
        tested = sum(fold.test for fold in self.folds)
        return (
            f"{c.counted(len(self.folds), 'period')}, {c.counted(tested, 'test lead')}: "
            f"AUC {shown_auc}, Brier {shown_brier}"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """One row per period: its dates, the counts trained and tested on, AUC and Brier."""
        for fold in self.folds:
            yield attrs.asdict(fold, recurse=False)


def _cutoffs(value: object) -> list[dt.datetime]:
    """*value*: aware datetimes, increasing, at least one, canonical; reading stops at 50 problems."""
    if not c.is_iterable(value):
        raise c.at("cutoffs", c.wrong_type(value, "an iterable of aware datetimes"))
    out: list[dt.datetime] = []
    problems: list[Problem] = []
    items: Iterable[object] = value  # type: ignore[assignment]  # checked iterable above
    for i, x in enumerate(items):
        problem = a.now_problem(x, f"cutoffs[{i}]")
        if problem is not None:
            problems.append(problem)
            if len(problems) >= 50:
                break
            continue
        at = canonical(x)  # type: ignore[arg-type]  # an aware datetime: checked above
        if out and at <= out[-1] and not problems:
            msg = f"{at.isoformat()} is not after the cut-off before it ({out[-1].isoformat()})"
            problems.append(Problem(path=f"cutoffs[{i}]", code="order", message=msg))
        out.append(at)
        if len(out) > MAX_CUTOFFS:
            msg = f"more than {MAX_CUTOFFS:,} cut-offs; each one fits a model"
            problems.append(Problem(path="cutoffs", code="limit", message=msg))
            break
    if problems:
        raise ValidationError(problems)
    if not out:
        raise ValidationError.single("cutoffs", "no cut-offs; give at least one", code="empty")
    return out


def backtest_lead_scores(
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    *,
    opportunities: Iterable[Opportunity],
    cutoffs: Iterable[dt.datetime],
    now: dt.datetime,
    window: dt.timedelta = dt.timedelta(days=14),
    horizon: dt.timedelta = dt.timedelta(days=90),
    l2: float = 1.0,
    lead_of: a.LeadOf | None = None,
    engine: a.Engine = "auto",
) -> ScoreBacktest:
    """
    Judge lead scoring on periods it did not learn from, rolling forward.

    For each cut-off, a model is fitted as :func:`fit_lead_scores` would
    have been at that instant (``now=cutoff``: only leads whose horizon had
    passed, only activities and opportunities before it), then tested on
    the leads created from that cut-off until the next one (the last
    period runs to the end), counting those whose horizon has passed by
    *now* (the end of the history).  Each period reports its AUC
    (:func:`auc`) and Brier score (:func:`brier`); the report pools every
    test lead for the overall pair.  A cut-off with nothing to learn from
    (no lead old enough, or one outcome only) is refused, naming it.

    Cost: O(c (a + n log n + fit)) for c cut-offs, a activities and n
    leads; each fit as in :func:`fit_lead_scores`.
    """
    l2, chosen = fit_problems(now=now, window=window, horizon=horizon, l2=l2, engine=engine)
    cuts = _cutoffs(cutoffs)
    now = canonical(now)
    if cuts[-1] > now:
        msg = f"{cuts[-1].isoformat()} is after now ({now.isoformat()}); the cut-offs lie in the history"
        raise ValidationError.single(f"cutoffs[{len(cuts) - 1}]", msg, code="order")
    items = f.checked_leads(leads)
    link = a.lead_link(lead_of)
    acts = list(c.each_of(activities, Activity, "activities"))
    opps = list(c.each_of(opportunities, Opportunity, "opportunities"))
    folds = []
    pooled_p: list[float] = []
    pooled_y: list[bool] = []
    for i, cut in enumerate(cuts):
        until = cuts[i + 1] if i + 1 < len(cuts) else None
        seen_acts = [x for x in acts if x.at < cut]
        seen_opps = [o for o in opps if o.created_at < cut]
        train, currency = labelled(
            items, seen_acts, seen_opps, now=cut, window=window, horizon=horizon, link=link
        )
        model = fitted(
            train,
            currency,
            now=cut,
            window=window,
            horizon=horizon,
            l2=l2,
            engine=chosen,
            path=f"cutoffs[{i}]",
        )
        fresh = [
            lead for lead in items if cut <= lead.created_at and (until is None or lead.created_at < until)
        ]
        test, _ = labelled(
            fresh, acts, opps, now=now, window=window, horizon=horizon, link=link, currency=model.currency
        )
        ps = [model._explain(values, lead.id).probability for lead, values, _ in test]  # noqa: SLF001
        ys = [y for _, _, y in test]
        pooled_p += ps
        pooled_y += ys
        folds.append(
            BacktestFold(
                cutoff=cut,
                until=until,
                train=model.leads,
                train_converted=model.converted,
                test=len(ps),
                test_converted=sum(ys),
                auc=_auc(ps, ys) if 0 < sum(ys) < len(ys) else None,
                brier=math.fsum((p - y) ** 2 for p, y in zip(ps, ys, strict=True)) / len(ps) if ps else None,
            )
        )
    both = 0 < sum(pooled_y) < len(pooled_y)
    return ScoreBacktest(
        folds=tuple(folds),
        auc=_auc(pooled_p, pooled_y) if both else None,
        brier=math.fsum((p - y) ** 2 for p, y in zip(pooled_p, pooled_y, strict=True)) / len(pooled_p)
        if pooled_p
        else None,
        now=now,
    )
