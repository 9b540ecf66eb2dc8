"""
Time to close with Kaplan-Meier: open deals count as censored.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from .. import _checks as c
from ..errors import Problem, ValidationError
from ._args import MAX_PROBLEMS

_NUMBER = "a real number (int, Fraction, Decimal or finite float)"


def _kind(time: object) -> str | None:
    """
    ``"number"`` or ``"timedelta"``: the kind of an acceptable *time*; ``None`` otherwise.
    """
    if isinstance(time, dt.timedelta):
        return "timedelta"
    if isinstance(time, bool):
        return None
    if isinstance(time, int | Fraction):
        return "number"
    if isinstance(time, float):
        return "number" if math.isfinite(time) else None
    if isinstance(time, Decimal):
        return "number" if time.is_finite() else None
    return None


def _time_problem(time: object) -> Problem | None:
    if _kind(time) is None:
        return c.bad("type", f"{c.show(time)} is {c.a_type(time)}; a time is {_NUMBER} or a timedelta")
    if time < (dt.timedelta(0) if isinstance(time, dt.timedelta) else 0):  # type: ignore[operator]
        return c.bad("range", f"{c.show(time)} is negative")
    return None


@attrs.frozen(kw_only=True)
class KmStep:
    """
    One distinct event time: how many were at risk, closed, or left the
    observation (censored) there, and the survival estimate just after it.
    """

    time: Any
    at_risk: int
    events: int
    censored: int
    survival: Fraction


@attrs.frozen(kw_only=True)
class KaplanMeier:
    """
    The Kaplan-Meier estimate S(t): the probability that a deal is still not
    closed after time t.  Exact (``Fraction``).
    """

    steps: tuple[KmStep, ...]

    def merge(self, other: KaplanMeier) -> KaplanMeier:
        """
        The estimate over the observations of both: exactly what one pass over
        all of them gives (each step keeps its events and censorings, so the
        table can be rebuilt).  For partitions computed apart.  Cost: O(n log n) for n observations in both.
        """
        c.require(other, KaplanMeier, "a KaplanMeier", "other")
        rows: list[tuple[Any, bool]] = []
        for step in (*self.steps, *other.steps):
            rows += [(step.time, True)] * step.events + [(step.time, False)] * step.censored
        return kaplan_meier(rows)

    def survival(self, time: Any) -> Fraction:
        """
        S(time): the estimate after the last event time at or before *time*,
        which is of the kind of the observed times (a number or a
        timedelta).  Cost: O(k) for k distinct times.
        """
        kind = _kind(time)
        want = _kind(self.steps[0].time) if self.steps else kind
        if kind is None or kind != want:
            what = "a timedelta" if want == "timedelta" else _NUMBER
            msg = f"{c.show(time)} is {c.a_type(time)}; the observed times are {what}, so give one of those"
            raise ValidationError.single("time", msg, code="type")
        value = Fraction(1)
        for s in self.steps:
            if s.time > time:
                break
            value = s.survival
        return value

    @property
    def median(self) -> Any | None:
        """
        The first time at which S(t) falls to 1/2 or below, or ``None`` when it never does.
        """
        return next((s.time for s in self.steps if s.events and s.survival <= Fraction(1, 2)), None)


def kaplan_meier(observations: Iterable[tuple[Any, bool]]) -> KaplanMeier:
    """
    The Kaplan-Meier estimator over ``(time, closed)`` pairs, where *closed*
    is False for a censored observation (a deal still open when observed).
    Times are real numbers (int, Fraction, Decimal, finite float) or
    timedeltas, all of one kind, and not negative.  At a tie, events are
    counted before censorings (the usual convention).  Cost: O(n log n)
    for n observations.

    >>> km = kaplan_meier([(6, True), (6, True), (7, False), (10, True)])
    >>> for s in km.steps:
    ...     print(s.time, s.at_risk, s.events, s.survival)
    6 4 2 1/2
    7 2 0 1/2
    10 1 1 0
    """
    c.require_iterable(observations, "(time, closed) pairs", "observations")
    rows: list[tuple[Any, bool]] = []
    problems: list[Problem] = []
    first: str | None = None
    for i, obs in enumerate(observations):
        if len(problems) >= MAX_PROBLEMS:
            break
        if isinstance(obs, tuple) and len(obs) == 2:
            obs = (c.plain(obs[0]), c.plain(obs[1]))  # noqa: PLW2901 - numpy ints and bools as Python's
        if not (isinstance(obs, tuple) and len(obs) == 2 and isinstance(obs[1], bool)):
            problems.append(
                Problem(path=f"observations[{i}]", code="type", message=f"{c.show(obs)} is not a (time, closed) pair")
            )
            continue
        problem = _time_problem(obs[0])
        if problem is None:
            first = first or _kind(obs[0])
            if _kind(obs[0]) != first:
                msg = f"{c.show(obs[0])} is {c.a_type(obs[0])}; the times before it are {first}s"
                problem = c.bad("conflict", msg)
        if problem is not None:
            problems.append(problem.prefixed(f"observations[{i}][0]"))
            continue
        rows.append(obs)
    if problems:
        raise ValidationError(problems)
    if not rows:
        raise ValidationError.single("observations", "no observations", code="empty")
    rows.sort(key=lambda r: (r[0], not r[1]))
    steps = []
    at_risk = len(rows)
    surv = Fraction(1)
    i = 0
    while i < len(rows):
        t = rows[i][0]
        events = censored = 0
        while i < len(rows) and rows[i][0] == t:
            if rows[i][1]:
                events += 1
            else:
                censored += 1
            i += 1
        if events:
            surv *= Fraction(at_risk - events, at_risk)
        steps.append(KmStep(time=t, at_risk=at_risk, events=events, censored=censored, survival=surv))
        at_risk -= events + censored
    return KaplanMeier(steps=tuple(steps))
