"""
Competing risks: a deal ends won or lost, whichever comes first, and open
deals are censored.  The Aalen-Johansen estimate of each outcome's
cumulative incidence (the chance of ending that way by time t), the
building block of forecasts that ask *when*, not only *whether*.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from fractions import Fraction
from typing import Any, cast

import attrs

from .. import _checks as c
from .._report import Report
from ..errors import Problem, ValidationError
from ._args import MAX_PROBLEMS
from ._survival import EXACT_UP_TO, MAX_OBSERVATIONS, Time, _exact_mode, _kind, _time_against


@attrs.frozen(kw_only=True, repr=False)
class CumulativeIncidence(Report):
    """
    The Aalen-Johansen estimate over ``(time, outcome)`` observations: at
    each distinct time, how many were at risk, ended by each outcome or
    were censored, the chance of still being open after it (*survival*)
    and each outcome's cumulative incidence (*incidence*, one per outcome
    in the order of *outcomes*).  At every time the survival and the
    incidences add up to 1.

    Exact (``Fraction``) or in floats (see :func:`cumulative_incidence`).
    It merges: the counts at each time add up, and the estimate is rebuilt,
    so partitions merge to the one-pass estimate.
    """

    outcomes: tuple[str, ...]
    times: tuple[Time, ...]
    at_risk: tuple[int, ...]
    events: tuple[tuple[int, ...], ...]  # per time: per outcome
    censored: tuple[int, ...]
    survival: tuple[Fraction | float, ...]
    incidence: tuple[tuple[Fraction | float, ...], ...]  # per time: per outcome
    exact: bool

    def _summary(self) -> str:
        ended = [sum(e[k] for e in self.events) for k in range(len(self.outcomes))]
        parts = ", ".join(f"{n:,} {o}" for o, n in zip(self.outcomes, ended, strict=True))
        total = sum(ended) + sum(self.censored)
        return (
            f"{total:,} observations ({parts}, {sum(self.censored):,} censored) at {len(self.times):,} times"
        )

    def _rows(self) -> list[dict[str, object]]:
        rows = []
        for j, t in enumerate(self.times):
            row: dict[str, object] = {"time": t, "at_risk": self.at_risk[j]}
            row.update({f"events_{o}": self.events[j][k] for k, o in enumerate(self.outcomes)})
            row["censored"] = self.censored[j]
            row["survival"] = self.survival[j]
            row.update({f"incidence_{o}": self.incidence[j][k] for k, o in enumerate(self.outcomes)})
            rows.append(row)
        return rows

    def probability(self, outcome: str, time: Time) -> Fraction | float:
        """
        The chance of ending with *outcome* by *time* (its cumulative
        incidence; 0 before the first time).

        Cost: O(log k) for k distinct times.
        """
        k = self._outcome(outcome)
        j = self._at(time)
        if j < 0:
            return Fraction(0) if self.exact else 0.0
        return self.incidence[j][k]

    def open_at(self, time: Time) -> Fraction | float:
        """
        The chance of not having ended by *time* (the overall survival; 1
        before the first time).

        Cost: O(log k) for k distinct times.
        """
        j = self._at(time)
        if j < 0:
            return Fraction(1) if self.exact else 1.0
        return self.survival[j]

    def merge(self, other: CumulativeIncidence) -> CumulativeIncidence:
        """
        The estimate over the observations of both: the counts at each time
        added up, the estimate rebuilt (exact with exact is exact; floats
        otherwise).  The times must be of one kind.

        Cost: O((k + m) o) for k and m distinct times and o outcomes.
        """
        c.require(other, CumulativeIncidence, "a CumulativeIncidence", "other")
        if self.times and other.times and _kind(self.times[0]) != _kind(other.times[0]):
            theirs, ours = _kind(other.times[0]), _kind(self.times[0])
            msg = f"its times are {theirs}s, these are {ours}s; merge times of one kind"
            raise ValidationError.single("other", msg, code="conflict")
        outcomes = tuple(sorted({*self.outcomes, *other.outcomes}))
        counts: dict[Any, Counter[str | None]] = {}
        for part in (self, other):
            for j, t in enumerate(part.times):
                got = counts.setdefault(t, Counter())
                for k, o in enumerate(part.outcomes):
                    got[o] += part.events[j][k]
                got[None] += part.censored[j]
        return _estimate(counts, outcomes, exact=self.exact and other.exact)

    def _outcome(self, outcome: object) -> int:
        if outcome not in self.outcomes:
            allowed = ", ".join(self.outcomes) or "none"
            msg = f"{c.show(outcome)} is not an outcome observed; allowed: {allowed}"
            raise ValidationError.single("outcome", msg, code="choice")
        return self.outcomes.index(outcome)

    def _at(self, time: object) -> int:
        """The index of the last distinct time at or before *time* (-1 for none)."""
        problem, _ = _time_against(time, _kind(self.times[0]) if self.times else None)
        if problem is not None:
            raise c.at("time", problem)
        found: int = bisect.bisect_right(cast("list[Any]", self.times), time)
        return found - 1


def cumulative_incidence(
    observations: Iterable[tuple[Time, str | None]], *, exact: bool | None = None
) -> CumulativeIncidence:
    """
    Each outcome's cumulative incidence over ``(time, outcome)`` pairs:
    *outcome* names how the observation ended (``"won"``, ``"lost"``, any
    id) or is ``None`` for one still open when observed (censored).  Times
    are real numbers (int, Fraction, Decimal, finite float) or timedeltas,
    all of one kind, and not negative.  At a tie, endings are counted before
    censorings, as in :func:`kaplan_meier`.

    The Aalen-Johansen estimator (Aalen & Johansen 1978; Putter, Fiocco &
    Geskus, "Tutorial in biostatistics: competing risks and multi-state
    models", *Statistics in Medicine* 26, 2007): at each time the deals
    still at risk end by each outcome in proportion, so I_k(t) = sum over
    times s <= t of S(s-) d_k(s) / n(s), and S(t) + sum_k I_k(t) = 1.  With one
    outcome, S is the Kaplan-Meier estimate.  Unlike 1 - KM per outcome
    (which counts the other outcome as censored), the incidences never add
    up to more than 1.

    *exact*: as in :func:`kaplan_meier` (``None``: exact for at most 10,000
    observations with no float time).

    >>> ci = cumulative_incidence([(2, "won"), (3, "lost"), (3, None), (5, "won"), (8, None)])
    >>> ci.probability("won", 5), ci.probability("lost", 5), ci.open_at(5)
    (Fraction(1, 2), Fraction(1, 5), Fraction(3, 10))

    Cost: O(n log n + k o) for n observations (at most 50,000,000), k
    distinct times and o outcomes; exact, the fractions grow with k.
    """
    mode = _exact_mode(exact)
    counts, floats = _read(observations)
    n = sum(sum(v.values()) for v in counts.values())
    use_exact = (n <= EXACT_UP_TO and not floats) if mode is None else mode
    if use_exact and floats:
        msg = "exact=True needs times without floats (ints, Fractions, Decimals or timedeltas)"
        raise ValidationError.single("exact", msg, code="conflict")
    outcomes = tuple(sorted({o for v in counts.values() for o in v if o is not None}))
    return _estimate(counts, outcomes, exact=use_exact)


def _read(observations: object) -> tuple[dict[Any, Counter[str | None]], bool]:
    """
    The counts per time of each outcome (``None``: censored), every bad
    pair named; and whether a time is a float.
    """
    c.require_iterable(observations, "(time, outcome) pairs", "observations")
    counts: dict[Any, Counter[str | None]] = {}
    problems: list[Problem] = []
    first: str | None = None
    floats = False
    names: set[str] = set()
    given: Iterable[Any] = observations  # type: ignore[assignment]  # checked iterable above
    for i, obs in enumerate(given):
        if len(problems) >= MAX_PROBLEMS:
            break
        if i >= MAX_OBSERVATIONS:
            msg = f"more than {MAX_OBSERVATIONS:,} observations"
            raise ValidationError.single("observations", msg, code="limit")
        if not (isinstance(obs, tuple) and len(obs) == 2):
            msg = f"{c.show(obs)} is not a (time, outcome) pair"
            problems.append(Problem(path=f"observations[{i}]", code="type", message=msg))
            continue
        time, outcome = c.plain(obs[0]), obs[1]
        problem, first = _time_against(time, first)
        if problem is not None:
            problems.append(problem.prefixed(f"observations[{i}][0]"))
            continue
        if outcome is not None and outcome not in names:
            found = c.identifier(outcome)
            if found is not None:
                problems.append(found.prefixed(f"observations[{i}][1]"))
                continue
            names.add(outcome)
        floats = floats or isinstance(time, float)
        counts.setdefault(time, Counter())[outcome] += 1
    if problems:
        raise ValidationError(problems)
    if not counts:
        raise ValidationError.single("observations", "no observations", code="empty")
    return counts, floats


def _estimate(
    counts: dict[Any, Counter[str | None]], outcomes: tuple[str, ...], *, exact: bool
) -> CumulativeIncidence:
    """The estimate from the counts at each time (None counts the censored)."""
    times = sorted(counts)
    at_risk = sum(sum(v.values()) for v in counts.values())
    one: Fraction | float = Fraction(1) if exact else 1.0
    zero: Fraction | float = Fraction(0) if exact else 0.0
    survival: Any = one
    incidence: list[Any] = [zero] * len(outcomes)
    rows_risk, rows_events, rows_censored, rows_survival, rows_incidence = [], [], [], [], []
    for t in times:
        here = counts[t]
        events = tuple(here[o] for o in outcomes)
        ended = sum(events)
        share: list[Any] = [Fraction(d, at_risk) if exact else d / at_risk for d in events]
        incidence = [i + survival * s for i, s in zip(incidence, share, strict=True)]
        survival = survival * ((1 - Fraction(ended, at_risk)) if exact else (1.0 - ended / at_risk))
        rows_risk.append(at_risk)
        rows_events.append(events)
        rows_censored.append(here[None])
        rows_survival.append(survival)
        rows_incidence.append(tuple(incidence))
        at_risk -= ended + here[None]
    return CumulativeIncidence(
        outcomes=outcomes,
        times=tuple(times),
        at_risk=tuple(rows_risk),
        events=tuple(rows_events),
        censored=tuple(rows_censored),
        survival=tuple(rows_survival),
        incidence=tuple(rows_incidence),
        exact=exact,
    )
