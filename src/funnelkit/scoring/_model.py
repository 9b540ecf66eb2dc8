"""
The lead-scoring model: fitted from history, applied to a lead, explained
feature by feature.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from .. import _checks as c
from .._optional import numpy as _numpy
from .._optional import required
from .._report import Report
from .._time import canonical
from ..entities import Activity, Lead, Opportunity
from ..errors import Problem, ValidationError
from . import _args as a
from . import _features as f
from ._fit import Row, fit, sigmoid

#: The engine ``"auto"`` takes numpy (when installed) once the data have this many cells.
NUMPY_FROM = 20_000


def _float_problem(value: object, path: str) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, float | int):
        return c.wrong_type(value, "a finite float").prefixed(path)
    if isinstance(value, int) and not -(10**300) < value < 10**300:
        return Problem(path=path, code="range", message=f"{c.show(value)} is beyond a float's range")
    if not math.isfinite(value):
        return Problem(path=path, code="range", message=f"{c.show(value)} is not finite")
    return None


def _model_problems(model: LeadScoreModel) -> list[Problem]:
    """What is wrong with a model read from a document or built by hand."""
    problems = [
        p
        for p in (
            a.span_problem(model.window, "window"),
            a.span_problem(model.horizon, "horizon"),
            a.now_problem(model.trained_until, "trained_until"),
            _float_problem(model.intercept, "intercept"),
            _float_problem(model.l2, "l2"),
        )
        if p is not None
    ]
    if model.currency is not None and not isinstance(model.currency, str):
        problems.append(c.wrong_type(model.currency, "a currency code or None").prefixed("currency"))
    feats, coefs = model.features, model.coefficients
    if not isinstance(feats, tuple) or not isinstance(coefs, tuple):
        problems.append(Problem(path="features", code="type", message="features and coefficients are tuples"))
        return problems
    if len(feats) != len(coefs):
        msg = f"{len(feats):,} features but {len(coefs):,} coefficients; give one coefficient per feature"
        problems.append(Problem(path="coefficients", code="conflict", message=msg))
    seen: set[str] = set()
    for i, name in enumerate(feats):
        if not isinstance(name, str) or not name:
            problems.append(c.wrong_type(name, "a feature name").prefixed(f"features[{i}]"))
        elif name in seen:
            problems.append(
                Problem(path=f"features[{i}]", code="duplicate", message=f"{c.show(name)} appears twice")
            )
        else:
            seen.add(name)
    problems.extend(
        p for i, v in enumerate(coefs) if (p := _float_problem(v, f"coefficients[{i}]")) is not None
    )
    return problems


@attrs.frozen(kw_only=True)
class Contribution:
    """
    One feature's part in a lead's score: its *value* for the lead, the
    model's *coefficient*, and their product, the *contribution* to the log
    odds (positive raises the score).
    """

    feature: str
    value: float
    coefficient: float
    contribution: float


@attrs.frozen(kw_only=True)
class LeadScore:
    """
    A lead's score and why: the *probability* that it converts within the
    model's horizon, the same as a *score* from 0 to 100 (rounded, halves
    up), its *log_odds*, and the *contributions* of its features, largest
    magnitude first (ties by name).  The explanation is exact for a
    logistic model: ``math.fsum([intercept, *each contribution])`` is
    *log_odds*, and *probability* is ``1 / (1 + exp(-log_odds))``.
    Features whose value is 0 for the lead contribute 0 and are not listed.
    """

    lead_id: str
    probability: float
    score: int
    log_odds: float
    intercept: float
    contributions: tuple[Contribution, ...]


@attrs.frozen(kw_only=True, repr=False)
class LeadScoreModel(Report):
    """
    A fitted lead-scoring model (:func:`fit_lead_scores`): a logistic
    regression over the features of :func:`lead_features`, with the
    *window* of early activity it reads, the *horizon* its probability is
    for, its *intercept* and one coefficient per feature (*features*,
    *coefficients*, in the same order).  A frozen value:
    ``funnelkit.to_dict(model)`` stores it, ``funnelkit.from_dict`` reads it
    back, and a model read back scores exactly as the one written.

    *trained_until* is the *now* it learnt at; *leads* and *converted*
    count its training set; *iterations* and *converged* say how the
    Newton fit ended.  The table (``to_records()``) lists each feature with
    its coefficient and odds ratio.

    Not mergeable, by nature: a fit of the whole training set; fit once on
    all the history.
    """

    window: dt.timedelta
    horizon: dt.timedelta
    l2: float
    currency: str | None
    intercept: float
    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    trained_until: dt.datetime
    leads: int
    converted: int
    iterations: int
    converged: bool
    _index: Mapping[str, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        problems = _model_problems(self)
        if problems:
            raise ValidationError(problems)
        object.__setattr__(self, "_index", {name: i for i, name in enumerate(self.features)})

    @property
    def weights(self) -> dict[str, float]:
        """
        Feature name to coefficient, in the model's order.
        """
        return dict(zip(self.features, self.coefficients, strict=True))

    def _summary(self) -> str:
        return (
            f"{c.counted(len(self.features), 'feature')}, trained on {c.counted(self.leads, 'lead')} "
            f"({self.converted:,} converted) until {self.trained_until.date().isoformat()}; "
            f"window {self.window.days:,} d, horizon {self.horizon.days:,} d"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per feature: its coefficient and odds ratio (``exp``; how
        the odds of converting multiply per unit of the feature), the
        intercept first.
        """
        yield {"feature": "(intercept)", "coefficient": self.intercept, "odds_ratio": _exp(self.intercept)}
        for name, coef in zip(self.features, self.coefficients, strict=True):
            yield {"feature": name, "coefficient": coef, "odds_ratio": _exp(coef)}

    def _explain(self, values: Mapping[str, float], lead_id: str) -> LeadScore:
        """
        The score of a lead whose features are *values* (by name, as
        :func:`lead_features` gives them); features the model lacks are
        ignored.  Cost: O(k log k) for k features.
        """
        parts = []
        for name, value in values.items():
            i = self._index.get(name)
            if i is None or value == 0:
                continue
            coef = self.coefficients[i]
            parts.append(Contribution(feature=name, value=value, coefficient=coef, contribution=coef * value))
        parts.sort(key=lambda p: (-abs(p.contribution), p.feature))
        log_odds = math.fsum([self.intercept, *(p.contribution for p in parts)])
        probability = sigmoid(log_odds)
        return LeadScore(
            lead_id=lead_id,
            probability=probability,
            score=math.floor(100 * probability + 0.5),
            log_odds=log_odds,
            intercept=self.intercept,
            contributions=tuple(parts),
        )

    def score(
        self,
        lead: Lead,
        activities: Iterable[Activity],
        *,
        now: dt.datetime,
        lead_of: a.LeadOf | None = None,
    ) -> LeadScore:
        """
        *lead*'s score at *now*, from its attributes and the activities in
        its window before *now* (see :func:`lead_features`), with each
        feature's contribution.  A lead younger than the window is scored on
        what its window holds so far.  Cost: O(a) for a activities.
        """
        values = f.lead_features(
            lead, activities, window=self.window, now=now, currency=self.currency, lead_of=lead_of
        )
        return self._explain(values, lead.id)

    def score_all(
        self,
        leads: Iterable[Lead],
        activities: Iterable[Activity],
        *,
        now: dt.datetime,
        lead_of: a.LeadOf | None = None,
    ) -> LeadScores:
        """
        The score of each of *leads* at *now* (as :meth:`score`), highest
        first (ties by lead id), as a report.  Leads created after *now* are
        refused.  Cost: O(a + n log n) for a activities and n leads.
        """
        problem = a.now_problem(now)
        if problem is not None:
            raise ValidationError([problem])
        now = canonical(now)
        items = f.checked_leads(leads)
        link = a.lead_link(lead_of)
        for i, lead in enumerate(items):
            if lead.created_at > now:
                msg = (
                    f"{lead.created_at.isoformat()} is after now ({now.isoformat()}); score leads that exist"
                )
                raise ValidationError.single(f"leads[{i}].created_at", msg, code="order")
        acts = f.by_lead(activities, link, {lead.id for lead in items})
        scores = [
            self._explain(
                f.features(lead, acts.get(lead.id, ()), f.window_end(lead, self.window, now), self.currency),
                lead.id,
            )
            for lead in items
        ]
        scores.sort(key=lambda s: (-s.probability, s.lead_id))
        return LeadScores(scores=tuple(scores), now=now)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


@attrs.frozen(kw_only=True, repr=False)
class LeadScores(Report):
    """
    The scores of many leads at *now*, highest first (ties by lead id):
    :meth:`LeadScoreModel.score_all`.  ``to_records()`` gives one row per
    lead with its score, probability, log odds and its three largest
    reasons; :attr:`probabilities` feeds
    :func:`funnelkit.segments.work_queue` (``scores=``).

    Not mergeable, by nature: the scores of one model at one instant; score
    the leads in one call (each lead costs the same alone or in a batch).
    """

    scores: tuple[LeadScore, ...]
    now: dt.datetime

    def __len__(self) -> int:
        return len(self.scores)

    def __iter__(self) -> Iterator[LeadScore]:
        return iter(self.scores)

    @property
    def probabilities(self) -> dict[str, float]:
        """
        Lead id to probability of converting, highest first.
        """
        return {s.lead_id: s.probability for s in self.scores}

    def _summary(self) -> str:
        if not self.scores:
            return f"no leads scored at {self.now.isoformat()}"
        top = self.scores[0]
        return (
            f"{c.counted(len(self.scores), 'lead')} scored at {self.now.isoformat()}; "
            f"top {top.lead_id} ({top.score})"
        )

    def _rows(self) -> Iterator[dict[str, object]]:
        """
        One row per lead, highest score first: its score, probability, log
        odds and its three largest contributions (``"calls +0.81"``).
        """
        for s in self.scores:
            yield {
                "lead_id": s.lead_id,
                "score": s.score,
                "probability": s.probability,
                "log_odds": s.log_odds,
                "reasons": "; ".join(f"{p.feature} {p.contribution:+.2f}" for p in s.contributions[:3]),
            }


# --- fitting ----------------------------------------------------------------------------------


def _mature(lead: Lead, horizon: dt.timedelta, now: dt.datetime) -> bool:
    """Whether *lead*'s horizon has passed by *now* (its outcome is known)."""
    try:
        return lead.created_at + horizon <= now
    except OverflowError:
        return False


def labelled(
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    opportunities: Iterable[Opportunity],
    *,
    now: dt.datetime,
    window: dt.timedelta,
    horizon: dt.timedelta,
    link: a.LeadOf | None,
    currency: str | bool | None = True,
) -> tuple[list[tuple[Lead, dict[str, float], bool]], str | None]:
    """
    The leads whose horizon has passed by *now*, each with its features and
    whether it converted within the horizon, sorted by id; and the currency
    of the value feature (with ``currency=True``, the most common currency
    of their values, ties by code).  A lead's features read its activities
    before its conversion: what was known while it was still a lead.
    """
    items = [lead for lead in leads if _mature(lead, horizon, now)]
    items.sort(key=lambda lead: lead.id)
    if currency is True:
        counts = Counter(lead.estimated_value.currency for lead in items if lead.estimated_value is not None)
        currency = min(counts, key=lambda k: (-counts[k], k)) if counts else None
    conv = f.converted_at(opportunities)
    acts = f.by_lead(activities, link, {lead.id for lead in items})
    out = []
    for lead in items:
        when = conv.get(lead.id)
        label = when is not None and when < lead.created_at + horizon
        cut = min(now, when) if when is not None else now
        values = f.features(lead, acts.get(lead.id, ()), f.window_end(lead, window, cut), currency or None)
        out.append((lead, values, label))
    return out, currency or None


def fit_problems(
    *, now: object, window: object, horizon: object, l2: object, engine: object
) -> tuple[float, str]:
    """The checked *l2* and *engine*; one error for every bad argument."""
    problems = [
        p
        for p in (a.now_problem(now), a.span_problem(window, "window"), a.span_problem(horizon, "horizon"))
        if p is not None
    ]
    number = 0.0
    try:
        number = a.positive_number(l2, "l2")
    except ValidationError as e:
        problems.extend(e.problems)
    try:
        engine = a.engine_of(engine)
    except ValidationError as e:
        problems.extend(e.problems)
    if problems:
        raise ValidationError(problems)
    return number, str(engine)


def fit_lead_scores(
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    *,
    opportunities: Iterable[Opportunity],
    now: dt.datetime,
    window: dt.timedelta = dt.timedelta(days=14),
    horizon: dt.timedelta = dt.timedelta(days=90),
    l2: float = 1.0,
    lead_of: a.LeadOf | None = None,
    engine: a.Engine = "auto",
) -> LeadScoreModel:
    """
    Learn a lead score from history: which leads converted, from their
    attributes and early activity.

    The training set is the leads whose *horizon* has passed by *now*
    (``created_at + horizon <= now``: their outcome is known); a lead
    converted when an opportunity names it (``Opportunity.lead_id``) with a
    ``created_at`` within the horizon after the lead's creation (the lead's
    status is not read: it does not say when).  Each lead's features are
    those of :func:`lead_features`, from the activities in its *window*
    before *now* and before it converted.  Categories (source, industry,
    territory, size) get one column per value seen in training; the value
    feature uses the most common currency of the training values.

    The model is a logistic regression with an L2 penalty ``l2/2 *
    sum(beta**2)`` on every coefficient but the intercept, fitted by
    Newton's method (IRLS) to a fixed tolerance within a fixed number of
    steps: deterministic, the same for any order of the inputs, and finite
    even on separable data (the penalty keeps every coefficient finite).
    The penalty applies to coefficients as they are, so it shrinks
    features of large scale less.  *engine* ``"python"`` is the pure-Python
    oracle, ``"numpy"`` the same steps with arrays (numpy is an optional
    extra), ``"auto"`` numpy when it is installed and the data are large.
    A training set with no lead, or with leads of one outcome only, is
    refused.

    Cost: O(a + n log n + I (u k^2 + p^3)) for a activities, n leads, u
    distinct feature rows with k non-zero features each, p features and I
    Newton steps (typically under 10).

    >>> import datetime as dt
    >>> from funnelkit import Lead, Opportunity
    >>> t = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    >>> leads = [Lead(id=f"l{i}", source="fair" if i % 2 else "web", created_at=t) for i in range(8)]
    >>> won = [Opportunity(id=f"o{i}", customer_id=f"c{i}", owner="r1", pipeline="p", stage="s",
    ...                    created_at=t, stage_entered_at=t, lead_id=f"l{i}") for i in (1, 3, 5, 0)]
    >>> model = fit_lead_scores(leads, [], opportunities=won, now=t + dt.timedelta(days=100), l2=0.001)
    >>> w = model.weights  # fair: 3 of 4 converted, web: 1 of 4; log(3 / (1/3)) = log 9 = 2.197
    >>> round(w["source=fair"] - w["source=web"], 2)
    2.19
    """
    l2, chosen = fit_problems(now=now, window=window, horizon=horizon, l2=l2, engine=engine)
    items = f.checked_leads(leads)
    link = a.lead_link(lead_of)
    now = canonical(now)
    rows, currency = labelled(
        items, activities, opportunities, now=now, window=window, horizon=horizon, link=link
    )
    return _fit_rows(rows, currency, now=now, window=window, horizon=horizon, l2=l2, engine=chosen)


def _fit_rows(
    rows: list[tuple[Lead, dict[str, float], bool]],
    currency: str | None,
    *,
    now: dt.datetime,
    window: dt.timedelta,
    horizon: dt.timedelta,
    l2: float,
    engine: str,
    path: str = "leads",
) -> LeadScoreModel:
    """A model fitted to labelled rows (sorted by lead id)."""
    positives = sum(1 for _, _, y in rows if y)
    if not rows:
        msg = (
            f"no lead is old enough to learn from: a lead's outcome is known once created_at + horizon "
            f"({c.show(horizon)}) <= now ({now.isoformat()})"
        )
        raise ValidationError.single(path, msg, code="empty")
    if positives in (0, len(rows)):
        which = "converted" if positives else "did not convert"
        msg = (
            f"all {c.counted(len(rows), 'lead')} old enough to learn from {which}; "
            "a score needs leads of both outcomes"
        )
        raise ValidationError.single(path, msg, code="empty")
    cats = sorted({name for _, values, _ in rows for name in values if name not in f.NUMERIC_FEATURES})
    names = (*f.NUMERIC_FEATURES, *cats)
    column = {name: j + 1 for j, name in enumerate(names)}
    groups: dict[Row, list[int]] = {}
    for _, values, label in rows:
        row = tuple(sorted((column[k], v) for k, v in values.items() if v != 0))
        cell = groups.setdefault(row, [0, 0])
        cell[0] += 1
        cell[1] += label
    keys = sorted(groups)
    n = [groups[k][0] for k in keys]
    y = [groups[k][1] for k in keys]
    np = None
    if engine == "numpy":
        np = required("numpy", 'engine="numpy"')
    elif engine == "auto" and len(keys) * (len(names) + 1) >= NUMPY_FROM:
        np = _numpy()
    theta, iterations, converged = fit(keys, n, y, len(names), l2, np)
    return LeadScoreModel(
        window=window,
        horizon=horizon,
        l2=l2,
        currency=currency,
        intercept=theta[0],
        features=names,
        coefficients=tuple(theta[1:]),
        trained_until=now,
        leads=len(rows),
        converted=positives,
        iterations=iterations,
        converged=converged,
    )


def fitted(*args: Any, **kwargs: Any) -> LeadScoreModel:
    """:func:`_fit_rows` for the backtest."""
    return _fit_rows(*args, **kwargs)
