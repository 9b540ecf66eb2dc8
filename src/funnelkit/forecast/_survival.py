"""
Time to close with Kaplan-Meier: open deals count as censored.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from .. import _checks as c
from .._report import Report
from .._repr import ORANGE, Axis, Band, Line, chart_svg, finite, nice_axis, percent
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

    time: int | float | Fraction | Decimal | dt.timedelta
    at_risk: int
    events: int
    censored: int
    survival: Fraction


def _level_of(level: object) -> float:
    """*level* checked to be a confidence level in (0, 1), as a float."""
    level = c.plain(level)  # a numpy float as a float
    if isinstance(level, bool) or not isinstance(level, int | float | Decimal | Fraction):
        msg = f"{c.show(level)} is not a confidence level in (0, 1)"
        raise ValidationError.single("level", msg, code="type")
    if (isinstance(level, Decimal) and not level.is_finite()) or not 0 < level < 1:  # NaN fails too
        raise ValidationError.single("level", f"{c.show(level)} is outside (0, 1)", code="range")
    return float(level)


def _days(time: Any) -> float:
    """A step's time as a number to draw: days for a timedelta."""
    return time / dt.timedelta(days=1) if isinstance(time, dt.timedelta) else finite(time)


@attrs.frozen(kw_only=True, repr=False)
class KaplanMeier(Report):
    """
    The Kaplan-Meier estimate S(t): the probability that a deal is still not
    closed after time t.  Exact (``Fraction``).

    A :class:`~funnelkit.Report`: its table has one row per distinct time
    (at risk, closed, censored, S(t)) with the 95 % confidence band of
    :meth:`confidence_band`; :meth:`to_svg` draws the curve with its band.
    """

    steps: tuple[KmStep, ...]

    def _summary(self) -> str:
        if not self.steps:
            return "no observations"
        events = sum(s.events for s in self.steps)
        censored = sum(s.censored for s in self.steps)
        median = self.median
        return (
            f"{events + censored:,} observations ({events:,} closed, {censored:,} censored) at "
            f"{len(self.steps):,} times; S = {float(self.steps[-1].survival):.3g} at the last, "
            f"median {'not reached' if median is None else median}"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per step: its time, counts and S(t), with the 95 % band around S(t).
        """
        band = self.confidence_band()
        return [
            {
                "time": s.time,
                "at_risk": s.at_risk,
                "events": s.events,
                "censored": s.censored,
                "survival": s.survival,
                "lower_95": lower,
                "upper_95": upper,
            }
            for s, (lower, upper) in zip(self.steps, band, strict=True)
        ]

    def confidence_band(self, level: float = 0.95) -> tuple[tuple[float, float], ...]:
        """
        The pointwise confidence interval ``(lower, upper)`` of S(t) at each
        step, at *level* (in (0, 1)): Greenwood's variance on the log(-log)
        scale (Kalbfleisch & Prentice 2002, 4.3; lifelines' default), which
        keeps the band inside [0, 1].  Before the first close the band is
        ``(1, 1)``; once S(t) reaches 0 it is ``(0, 0)``.  Floats.

        >>> km = kaplan_meier([(1, True), (2, True), (3, False), (4, False)])
        >>> [tuple(round(b, 3) for b in band) for band in km.confidence_band()]
        [(0.128, 0.961), (0.058, 0.845), (0.058, 0.845), (0.058, 0.845)]

        Cost: O(k) for k distinct times.
        """
        z = statistics.NormalDist().inv_cdf(0.5 + _level_of(level) / 2)
        greenwood = 0.0
        out = []
        for s in self.steps:
            if s.events and s.at_risk > s.events:
                greenwood += s.events / (s.at_risk * (s.at_risk - s.events))
            survival = float(s.survival)
            if survival >= 1 or survival <= 0:
                out.append((survival, survival))
                continue
            log_s = math.log(survival)
            spread = z * math.sqrt(greenwood) / log_s  # negative: log S < 0
            lower = math.exp(-math.exp(math.log(-log_s) - spread))
            upper = math.exp(-math.exp(math.log(-log_s) + spread))
            out.append((lower, upper))
        return tuple(out)

    def to_svg(self) -> str:
        """
        The survival curve as an inline SVG chart (no plotting dependency):
        S(t) as steps from 1 at time 0, its 95 % confidence band
        (:meth:`confidence_band`) shaded, and a tick where observations were
        censored.  Times in days for timedeltas.

        Cost: O(k) for k distinct times.
        """
        timed = bool(self.steps) and isinstance(self.steps[0].time, dt.timedelta)
        xs = [_days(s.time) for s in self.steps]
        band = self.confidence_band()
        curve = [(0.0, 1.0), *((x, float(s.survival)) for x, s in zip(xs, self.steps, strict=True))]
        upper = [(0.0, 1.0), *((x, b[1]) for x, b in zip(xs, band, strict=True))]
        lower = [(0.0, 1.0), *((x, b[0]) for x, b in zip(xs, band, strict=True))]
        censored = [(x, float(s.survival)) for x, s in zip(xs, self.steps, strict=True) if s.censored]
        return chart_svg(
            title="time to close (Kaplan-Meier)",
            x=nice_axis(min([0.0, *xs]), max(xs, default=1.0)),
            y=Axis(0.0, 1.0, tuple((v, percent(v)) for v in (0.0, 0.25, 0.5, 0.75, 1.0))),
            x_label="days" if timed else "time",
            y_label="still open, S(t)",
            bands=[Band("95% band", upper, lower, steps=True)],
            lines=[
                Line("S(t)", curve, steps=True),
                Line("censored", censored, color=ORANGE, markers="tick", path=False),
            ],
        )

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
                Problem(
                    path=f"observations[{i}]",
                    code="type",
                    message=f"{c.show(obs)} is not a (time, closed) pair",
                )
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
