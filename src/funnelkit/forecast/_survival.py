"""
Time to close with Kaplan-Meier: open deals count as censored.

Two modes give the same table of counts: exact (``Fraction`` estimates; the
oracle of the tests) and float (the numbers lifelines gives; sorted and
counted with numpy when it is installed).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, overload

import attrs

from .. import _checks as c
from .._optional import numpy as _numpy
from .._report import Report
from .._repr import ORANGE, Axis, Band, Line, chart_svg, finite, nice_axis, percent
from ..errors import Problem, ValidationError
from ._args import MAX_PROBLEMS

#: A time: a real number (int, ``Fraction``, ``Decimal``, finite float) or a ``timedelta``.
Time = int | float | Fraction | Decimal | dt.timedelta

#: With ``exact=None``, :func:`kaplan_meier` is exact for at most this many
#: observations whose times are ints, ``Fraction``, ``Decimal`` or
#: timedeltas, and works in floats otherwise (any float time, or more
#: observations).  The exact estimate's fractions grow with each distinct time:
#: O(k^2) for k distinct times, under a second at this size.
EXACT_UP_TO = 10_000
#: The most observations :func:`kaplan_meier` reads.
MAX_OBSERVATIONS = 50_000_000
#: From this many observations (or steps) on, the float mode sorts, counts and
#: draws with numpy when it is installed.
_NUMPY_FROM = 1_000
#: Ints beyond this are not all floats: such times are not put in a float array.
_BIG = 2**53
#: In float mode, S(t) within this relative distance above 1/2 counts as 1/2
#: for the median, so that rounding never moves it past the time the exact
#: estimate gives.
_HALF_SLACK = 1e-9
#: A curve of more steps than this is drawn through the steps where it moves
#: by a visible amount (1/1000 of an axis).
_MAX_DRAWN = 1_000
_MICROSECOND = dt.timedelta(microseconds=1)

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


def _time_against(time: object, first: str | None) -> tuple[Problem | None, str | None]:
    """
    The problem with *time* given the kind of the *first* good time (numbers
    and timedeltas do not mix), and the kind of the first good time after it.
    """
    problem = _time_problem(time)
    if problem is None:
        first = first or _kind(time)
        if _kind(time) != first:
            msg = f"{c.show(time)} is {c.a_type(time)}; the times before it are {first}s"
            problem = c.bad("conflict", msg)
    return problem, first


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
    observation (censored) there, and the survival estimate just after it
    (a ``Fraction`` in exact mode, a float in float mode).
    """

    time: Time
    at_risk: int
    events: int
    censored: int
    survival: Fraction | float


def _column(values: Iterable[Any]) -> tuple[Any, ...]:
    """A column given as a list, as a tuple; anything else as it is (a tuple, or refused by the table)."""
    return tuple(values) if isinstance(values, list) else values  # type: ignore[return-value]


@attrs.frozen(kw_only=True, repr=False)
class KmTable(Sequence[KmStep]):
    """
    The risk table of a Kaplan-Meier estimate, by columns: entry i of each
    column belongs to the i-th distinct time, in increasing order.  A
    sequence of :class:`KmStep` (``table[i]``, ``len``, iteration), kept as
    five tuples so that a million steps cost five tuples, not a million
    objects.  ``survival`` holds ``Fraction`` values in exact mode and floats in
    float mode.
    """

    time: tuple[Time, ...] = attrs.field(default=(), converter=_column)
    at_risk: tuple[int, ...] = attrs.field(default=(), converter=_column)
    events: tuple[int, ...] = attrs.field(default=(), converter=_column)
    censored: tuple[int, ...] = attrs.field(default=(), converter=_column)
    survival: tuple[Fraction | float, ...] = attrs.field(default=(), converter=_column)

    def __attrs_post_init__(self) -> None:
        problems = []
        columns = {f.name: getattr(self, f.name) for f in attrs.fields(KmTable)}
        for name, column in columns.items():
            if not isinstance(column, tuple):
                msg = f"{c.show(column)} is {c.a_type(column)}; a column is a tuple (or a list)"
                problems.append(Problem(path=name, code="type", message=msg))
        if problems:
            raise ValidationError(problems)
        lengths = [len(column) for column in columns.values()]
        usual = max(lengths, key=lengths.count)  # the length most columns have
        for name, column in columns.items():
            if len(column) != usual:
                msg = f"{len(column):,} entries, where the other columns have {usual:,} (one per time)"
                problems.append(Problem(path=name, code="conflict", message=msg))
        if problems:
            raise ValidationError(problems)

    def __len__(self) -> int:
        return len(self.time)

    @overload
    def __getitem__(self, index: int) -> KmStep: ...
    @overload
    def __getitem__(self, index: slice) -> KmTable: ...
    def __getitem__(self, index: int | slice) -> KmStep | KmTable:
        if isinstance(index, slice):
            return KmTable(
                time=self.time[index],
                at_risk=self.at_risk[index],
                events=self.events[index],
                censored=self.censored[index],
                survival=self.survival[index],
            )
        return KmStep(
            time=self.time[index],
            at_risk=self.at_risk[index],
            events=self.events[index],
            censored=self.censored[index],
            survival=self.survival[index],
        )

    def __iter__(self) -> Iterator[KmStep]:
        for t, r, e, n, s in zip(
            self.time, self.at_risk, self.events, self.censored, self.survival, strict=True
        ):
            yield KmStep(time=t, at_risk=r, events=e, censored=n, survival=s)

    def __repr__(self) -> str:
        if not self.time:
            return "<KmTable: no steps>"
        mode = "exact" if self.exact else "float"
        first, last = c.show(self.time[0]), c.show(self.time[-1])
        return f"<KmTable: {c.counted(len(self.time), 'step')} from {first} to {last}, {mode}>"

    @property
    def exact(self) -> bool:
        """Whether the estimates are exact (``Fraction`` values; so is an empty table), not floats."""
        return not (self.survival and isinstance(self.survival[0], float))


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


def _xs(times: tuple[Any, ...]) -> list[float]:
    """The times as numbers to draw: days for timedeltas."""
    if set(map(type, times)) <= {int, float}:
        try:
            return list(map(float, times))
        except OverflowError:  # a huge int: held within the floats below
            pass
    return [_days(time) for time in times]


def _table_of(steps: KmTable | Iterable[KmStep]) -> KmTable:
    """*steps* as a :class:`KmTable`: a table as it is, or the steps of an iterable of them."""
    if isinstance(steps, KmTable):
        return steps
    if not c.is_iterable(steps):
        raise c.at("steps", c.wrong_type(steps, "a KmTable or an iterable of KmStep"))
    rows: list[KmStep] = []
    for i, step in enumerate(steps):
        if not isinstance(step, KmStep):
            raise c.at(f"steps[{i}]", c.wrong_type(step, "a KmStep"))
        rows.append(step)
    return KmTable(
        time=tuple(s.time for s in rows),
        at_risk=tuple(s.at_risk for s in rows),
        events=tuple(s.events for s in rows),
        censored=tuple(s.censored for s in rows),
        survival=tuple(s.survival for s in rows),
    )


@attrs.frozen(kw_only=True, repr=False)
class KaplanMeier(Report):
    """
    The Kaplan-Meier estimate S(t): the probability that a deal is still not
    closed after time t.  Exact (``Fraction``) or in floats: see
    :func:`kaplan_meier`, and :attr:`exact`.

    *steps* is its risk table (:class:`KmTable`, a sequence of
    :class:`KmStep`, stored by columns); it may be given as any iterable of
    steps.

    A :class:`~funnelkit.Report`: its table has one row per distinct time
    (at risk, closed, censored, S(t)) with the 95 % confidence band of
    :meth:`confidence_band`; :meth:`to_svg` draws the curve with its band.
    """

    steps: KmTable = attrs.field(converter=_table_of)

    def _summary(self) -> str:
        table = self.steps
        if not table:
            return "no observations"
        events = sum(table.events)
        censored = sum(table.censored)
        median = self.median
        return (
            f"{events + censored:,} observations ({events:,} closed, {censored:,} censored) at "
            f"{len(table):,} times; S = {float(table.survival[-1]):.3g} at the last, "
            f"median {'not reached' if median is None else median}"
        )

    def _rows(self) -> list[dict[str, object]]:
        """
        One row per step: its time, counts and S(t), with the 95 % band around S(t).
        """
        t = self.steps
        lowers, uppers = _band(t, _z(0.95))
        return [
            {
                "time": time,
                "at_risk": at_risk,
                "events": events,
                "censored": censored,
                "survival": survival,
                "lower_95": lower,
                "upper_95": upper,
            }
            for time, at_risk, events, censored, survival, lower, upper in zip(
                t.time, t.at_risk, t.events, t.censored, t.survival, lowers, uppers, strict=True
            )
        ]

    @property
    def exact(self) -> bool:
        """
        Whether S(t) is exact (``Fraction`` values) rather than floats; the counts are exact in both modes.
        """
        return self.steps.exact

    def confidence_band(self, level: float = 0.95) -> tuple[tuple[float, float], ...]:
        """
        The pointwise confidence interval ``(lower, upper)`` of S(t) at each
        step, at *level* (in (0, 1)): Greenwood's variance on the log(-log)
        scale (Kalbfleisch & Prentice 2002, 4.3; lifelines' default), which
        keeps the band inside [0, 1].  Before the first close the band is
        ``(1, 1)``; once S(t) reaches 0 it is ``(0, 0)``.  Floats, from the
        exact counts, in both modes (with numpy for long tables when it is
        installed).

        >>> km = kaplan_meier([(1, True), (2, True), (3, False), (4, False)])
        >>> [tuple(round(b, 3) for b in band) for band in km.confidence_band()]
        [(0.128, 0.961), (0.058, 0.845), (0.058, 0.845), (0.058, 0.845)]

        Cost: O(k) for k distinct times.
        """
        return tuple(zip(*_band(self.steps, _z(_level_of(level))), strict=True))

    def to_svg(self) -> str:
        """
        The survival curve as an inline SVG chart (no plotting dependency):
        S(t) as steps from 1 at time 0, its 95 % confidence band
        (:meth:`confidence_band`) shaded, and a tick where observations were
        censored.  Times in days for timedeltas.  A curve of more than 1,000
        steps is drawn through the steps where it moves by 1/1000 of an axis
        or more (the picture is the same to the pixel, and stays small).

        Cost: O(k) for k distinct times.
        """
        t = self.steps
        timed = bool(t) and isinstance(t.time[0], dt.timedelta)
        xs = _xs(t.time)
        ys = list(map(float, t.survival))
        lowers, uppers = _band(t, _z(0.95))
        drawn = _drawn(xs, ys)
        curve = [(0.0, 1.0), *((xs[i], ys[i]) for i in drawn)]
        upper = [(0.0, 1.0), *((xs[i], uppers[i]) for i in drawn)]
        lower = [(0.0, 1.0), *((xs[i], lowers[i]) for i in drawn)]
        ticked = [i for i, n in enumerate(t.censored) if n]
        chosen = _drawn([xs[i] for i in ticked], [ys[i] for i in ticked])
        censored = [(xs[ticked[j]], ys[ticked[j]]) for j in chosen]
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
        The estimate over the observations of both, from their risk tables:
        the events and censorings at each time are added up and S(t) is
        rebuilt, so the result is exactly what one pass over all the
        observations gives (in float mode too: the same products in the same
        order).  For partitions computed apart.

        Mixing modes: exact with exact is exact; if either is in floats, the
        result is in floats (the counts stay exact either way).  The times of
        both must be of one kind (numbers, or timedeltas).

        Cost: O(k + m) for k and m distinct times (with numpy for long float
        tables when it is installed; O(k^2) fractions when exact, as in
        :func:`kaplan_meier`).
        """
        c.require(other, KaplanMeier, "a KaplanMeier", "other")
        a, b = self.steps, other.steps
        if a and b and _kind(a.time[0]) != _kind(b.time[0]):
            msg = f"its times are {_kind(b.time[0])}s, these are {_kind(a.time[0])}s; merge times of one kind"
            raise ValidationError.single("other", msg, code="conflict")
        exact = a.exact and b.exact
        np = None if exact or len(a) + len(b) < _NUMPY_FROM else _numpy()
        if np is not None:
            arrays = _as_arrays([*a.time, *b.time], np)
            if arrays is not None:
                values, back = arrays
                events = np.concatenate((np.asarray(a.events, np.int64), np.asarray(b.events, np.int64)))
                left = np.concatenate((np.asarray(a.censored, np.int64), np.asarray(b.censored, np.int64)))
                return KaplanMeier(steps=_numpy_table(np, values, back, events, left))
        times, events, censored = _merged(a, b)
        return KaplanMeier(steps=_table(times, events, censored, exact=exact))

    def survival(self, time: Any) -> Fraction | float:
        """
        S(time): the estimate after the last event time at or before *time*,
        which is of the kind of the observed times (a number or a
        timedelta).  A ``Fraction`` in exact mode, a float in float mode.
        Cost: O(log k) for k distinct times.
        """
        kind = _kind(time)
        t = self.steps
        want = _kind(t.time[0]) if t else kind
        if kind is None or kind != want:
            what = "a timedelta" if want == "timedelta" else _NUMBER
            msg = f"{c.show(time)} is {c.a_type(time)}; the observed times are {what}, so give one of those"
            raise ValidationError.single("time", msg, code="type")
        i = bisect.bisect_right(t.time, time)
        if i:
            return t.survival[i - 1]
        return Fraction(1) if t.exact else 1.0

    @property
    def median(self) -> Any | None:
        """
        The first time at which S(t) falls to 1/2 or below, or ``None`` when
        it never does.  In float mode an S(t) within a relative 1e-9 above 1/2
        counts as 1/2, so that rounding does not move the median past the
        exact one.
        """
        t = self.steps
        half: Fraction | float = Fraction(1, 2) if t.exact else 0.5 * (1 + _HALF_SLACK)
        i = bisect.bisect_left(t.survival, True, key=lambda s: s <= half)  # S never rises
        return t.time[i] if i < len(t) else None


def _z(level: float) -> float:
    """The standard normal quantile of a two-sided interval at *level*."""
    return statistics.NormalDist().inv_cdf(0.5 + level / 2)


def _band(t: KmTable, z: float) -> tuple[list[float], list[float]]:
    """
    The lower and upper ends of the log(-log) Greenwood band of each step
    (:meth:`KaplanMeier.confidence_band`), with numpy for long tables when
    it is installed (the same sums in the same order).
    """
    np = _numpy() if len(t) >= _NUMPY_FROM else None
    if np is not None:
        return _band_numpy(np, t, z)
    greenwood = 0.0
    lowers: list[float] = []
    uppers: list[float] = []
    for at_risk, events, estimate in zip(t.at_risk, t.events, t.survival, strict=True):
        if events and at_risk > events:
            greenwood += events / (at_risk * (at_risk - events))
        survival = float(estimate)
        if survival >= 1 or survival <= 0:
            lowers.append(survival)
            uppers.append(survival)
            continue
        log_s = math.log(survival)
        spread = z * math.sqrt(greenwood) / log_s  # negative: log S < 0
        lowers.append(math.exp(-math.exp(math.log(-log_s) - spread)))
        uppers.append(math.exp(-math.exp(math.log(-log_s) + spread)))
    return lowers, uppers


def _band_numpy(np: Any, t: KmTable, z: float) -> tuple[list[float], list[float]]:
    """:func:`_band` with numpy: the same sums and formulas, by columns."""
    at_risk = np.fromiter(t.at_risk, dtype=np.float64, count=len(t))
    events = np.fromiter(t.events, dtype=np.float64, count=len(t))
    survival = np.fromiter(map(float, t.survival), dtype=np.float64, count=len(t))
    usable = (events > 0) & (at_risk > events)
    terms = np.divide(events, at_risk * (at_risk - events), out=np.zeros_like(events), where=usable)
    greenwood = np.cumsum(terms)
    inside = (survival > 0) & (survival < 1)
    log_s = np.log(np.where(inside, survival, 0.5))
    spread = z * np.sqrt(greenwood) / log_s
    centre = np.log(-log_s)
    lower = np.where(inside, np.exp(-np.exp(centre - spread)), survival)
    upper = np.where(inside, np.exp(-np.exp(centre + spread)), survival)
    return lower.tolist(), upper.tolist()


def _drawn(xs: list[float], ys: list[float]) -> Sequence[int]:
    """
    The indices of the points of a step curve to draw: all of up to 1,000;
    of more, the first in each cell of a 1000 x 1000 grid over the curve
    (so two points drawn apart are at least 1/1000 of an axis apart: the
    picture is the same to the pixel), and the last.
    """
    n = len(xs)
    if n <= _MAX_DRAWN:
        return range(n)
    x0, width = xs[0], (xs[-1] - xs[0]) or 1.0
    np = _numpy()
    if np is not None:
        column = ((np.asarray(xs) - x0) * (_MAX_DRAWN / width)).astype(np.int64)
        row = (np.asarray(ys) * _MAX_DRAWN).astype(np.int64)
        moved = np.concatenate(([True], (column[1:] != column[:-1]) | (row[1:] != row[:-1])))
        moved[-1] = True
        return list(np.flatnonzero(moved).tolist())
    out: list[int] = []
    last = (-1, -1)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        cell = (int((x - x0) * (_MAX_DRAWN / width)), int(y * _MAX_DRAWN))
        if cell != last:
            out.append(i)
            last = cell
    if out[-1] != n - 1:
        out.append(n - 1)
    return out


def _merged(a: KmTable, b: KmTable) -> tuple[list[Any], list[int], list[int]]:
    """The distinct times of two tables in order, with the events and censorings at each added up."""
    times: list[Any] = []
    events: list[int] = []
    censored: list[int] = []
    ta: Sequence[Any] = a.time  # numbers or timedeltas, of one kind in both (checked)
    tb: Sequence[Any] = b.time
    i = j = 0
    while i < len(a) or j < len(b):
        if j == len(b) or (i < len(a) and ta[i] <= tb[j]):
            time, e, n = a.time[i], a.events[i], a.censored[i]
            i += 1
        else:
            time, e, n = b.time[j], b.events[j], b.censored[j]
            j += 1
        if times and times[-1] == time:
            events[-1] += e
            censored[-1] += n
        else:
            times.append(time)
            events.append(e)
            censored.append(n)
    return times, events, censored


def _table(times: list[Any], events: list[int], censored: list[int], *, exact: bool) -> KmTable:
    """
    The risk table of distinct *times* in order with their counts: at risk
    at each time, and S(t) as the product of (at risk - events) / at risk
    over the times so far, in ``Fraction`` values or floats.
    """
    at_risk = sum(events) + sum(censored)
    risks: list[int] = []
    estimates: list[Fraction | float] = []
    s: Fraction | float = Fraction(1) if exact else 1.0
    for e, n in zip(events, censored, strict=True):
        risks.append(at_risk)
        if e:
            s = s * Fraction(at_risk - e, at_risk) if exact else s * ((at_risk - e) / at_risk)
        estimates.append(s)
        at_risk -= e + n
    return KmTable(time=times, at_risk=risks, events=events, censored=censored, survival=estimates)


def _counted(times: Sequence[Any], flags: Sequence[bool]) -> tuple[list[Any], list[int], list[int]]:
    """
    The distinct times in increasing order (each as first given), with the
    events and censorings at each.
    """
    order = sorted(range(len(times)), key=times.__getitem__)
    distinct: list[Any] = []
    events: list[int] = []
    censored: list[int] = []
    for i in order:
        time = times[i]
        if not distinct or distinct[-1] != time:
            distinct.append(time + 0.0 if type(time) is float else time)  # -0.0 as 0.0
            events.append(0)
            censored.append(0)
        if flags[i]:
            events[-1] += 1
        else:
            censored[-1] += 1
    return distinct, events, censored


def _as_arrays(times: Sequence[Any], np: Any) -> tuple[Any, Callable[[list[Any]], list[Any]]] | None:
    """
    *times* as a numpy array to sort and count, and how to turn its values
    back into times: ints as int64, ints and floats as float64 (when every
    int is a float exactly), timedeltas as int64 microseconds.  ``None`` for
    anything else (Fractions, Decimals, huge ints): those take the
    pure-Python path.
    """
    kinds = set(map(type, times))
    try:
        if kinds <= {int}:
            return np.array(times, dtype=np.int64), _same
        if kinds <= {int, float}:
            if int in kinds and any(abs(t) > _BIG for t in times if type(t) is int):
                return None
            return np.array(times, dtype=np.float64), _same
    except OverflowError:
        return None
    if kinds == {dt.timedelta}:
        return np.array([t // _MICROSECOND for t in times], dtype=np.int64), _timedeltas
    return None


def _same(values: list[Any]) -> list[Any]:
    return values


def _timedeltas(values: list[Any]) -> list[Any]:
    return [dt.timedelta(microseconds=v) for v in values]


def _numpy_table(
    np: Any, values: Any, back: Callable[[list[Any]], list[Any]], events: Any, censored: Any = None
) -> KmTable:
    """
    The float risk table of an array of times *values*: one per observation
    with its event flag in *events* (bools), or, with *censored*, one per
    step of the tables to merge, with their counts.
    """
    order = np.argsort(values)  # ties in any order: they are counted together
    ordered = values[order]
    if ordered.dtype.kind == "f":
        np.add(ordered, 0.0, out=ordered)  # -0.0 as 0.0
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    closed = np.add.reduceat(events[order], starts, dtype=np.int64)
    if censored is None:
        left = np.diff(np.append(starts, len(ordered))) - closed
    else:
        left = np.add.reduceat(censored[order], starts, dtype=np.int64)
    totals = closed + left
    at_risk = totals.sum() - np.concatenate(([0], np.cumsum(totals)[:-1]))
    survival = np.cumprod((at_risk - closed) / at_risk)
    times = ordered[starts]
    return KmTable(
        time=_items(np, times) if back is _same else back(times.tolist()),
        at_risk=_items(np, at_risk),
        events=_items(np, closed),
        censored=_items(np, left),
        survival=_items(np, survival),
    )


def _items(np: Any, array: Any) -> tuple[Any, ...]:
    """
    A one-dimensional int64 or float64 array as a tuple of Python ints or
    floats, the values ``tolist()`` gives, without a list between: counts
    below 256 (the usual events and censorings at a time) as the bytes they
    fit in, whose items are Python's shared small ints; others read through
    a memoryview.
    """
    if array.dtype.kind == "i" and len(array) and int(array.min()) >= 0 and int(array.max()) <= 255:
        return tuple(array.astype(np.uint8).tobytes())
    if not array.dtype.isnative:  # another byte order (a memoryview reads the machine's own only)
        array = array.astype(array.dtype.newbyteorder("="))
    return tuple(memoryview(np.ascontiguousarray(array)))


def _exact_mode(exact: object) -> bool | None:
    """*exact* checked to be True, False or None (automatic)."""
    exact = c.plain(exact)  # numpy's bool as a bool
    if exact is not None and not isinstance(exact, bool):
        msg = f"{c.show(exact)} is not True, False or None (automatic)"
        raise ValidationError.single("exact", msg, code="type")
    return exact


def _read_pairs(observations: object) -> tuple[list[Any], list[bool]]:
    """The times and flags of ``(time, closed)`` pairs, every bad pair named (up to MAX_PROBLEMS)."""
    c.require_iterable(observations, "(time, closed) pairs", "observations")
    times: list[Any] = []
    flags: list[bool] = []
    problems: list[Problem] = []
    first: str | None = None
    for i, obs in enumerate(_iterable(observations)):
        if len(problems) >= MAX_PROBLEMS:
            break
        if i >= MAX_OBSERVATIONS:
            _too_many("observations")
        if isinstance(obs, tuple) and len(obs) == 2:
            time, closed = obs
            if type(time) is not int and type(time) is not float:
                time = c.plain(time)  # numpy ints and floats as Python's
            if type(closed) is not bool:
                closed = c.plain(closed)  # numpy's bool as a bool
            if isinstance(closed, bool):
                if type(time) is float and 0 <= time < math.inf and first == "number":  # the usual case
                    times.append(time)
                    flags.append(closed)
                    continue
                problem, first = _time_against(time, first)
                if problem is not None:
                    problems.append(problem.prefixed(f"observations[{i}][0]"))
                    continue
                times.append(time)
                flags.append(closed)
                continue
        problems.append(
            Problem(
                path=f"observations[{i}]", code="type", message=f"{c.show(obs)} is not a (time, closed) pair"
            )
        )
    if problems:
        raise ValidationError(problems)
    if not times:
        raise ValidationError.single("observations", "no observations", code="empty")
    return times, flags


def _iterable(value: object) -> Iterable[Any]:
    """*value*, checked to be iterable by the caller, typed as such."""
    return value  # type: ignore[return-value]


def _too_many(path: str) -> None:
    msg = f"more than {MAX_OBSERVATIONS:,} observations; estimate on a sample, or merge partitions"
    raise ValidationError.single(path, msg, code="limit")


def _numeric(values: object, np: Any) -> Any | None:
    """
    *values* as a one-dimensional numpy array of ints or floats (int64 or
    float64) when it is an array or Series of ints or floats, or a list or
    tuple of Python ints and floats; ``None`` otherwise.
    """
    if np is None:
        return None
    if isinstance(values, list | tuple):
        found = _as_arrays(values, np)
        return None if found is None or found[1] is not _same else found[0]
    dtype = getattr(values, "dtype", None)
    if getattr(dtype, "kind", None) not in ("i", "u", "f") or getattr(values, "ndim", None) != 1:
        return None
    try:
        array = np.asarray(values)
    except Exception:  # noqa: BLE001 - a column numpy cannot read is read item by item
        return None
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        return None
    return array.astype(np.float64) if array.dtype.kind == "f" and array.dtype != np.float64 else array


def _worth_numpy(durations: object) -> bool:
    """Whether to read *durations* with numpy: an array or Series, or a long list or tuple."""
    if hasattr(durations, "dtype"):
        return True
    return isinstance(durations, list | tuple) and len(durations) >= _NUMPY_FROM


def _read_durations(durations: object, np: Any) -> tuple[Any, bool]:
    """
    The times of *durations*: a numpy array when they are ints or floats and
    numpy is installed (checked at once), else a list read item by item.
    With whether any time is a float.
    """
    array = _numeric(durations, np)
    if array is not None:
        if len(array) > MAX_OBSERVATIONS:
            _too_many("durations")
        floats = array.dtype.kind == "f"
        bad = (~np.isfinite(array) | (array < 0)) if floats else (array < 0)
        if bad.any():
            found = [
                p.prefixed(f"durations[{i}]")
                for i in np.flatnonzero(bad)[:MAX_PROBLEMS].tolist()
                if (p := _time_problem(array[i].item())) is not None
            ]
            raise ValidationError(found)
        return array, floats
    c.require_iterable(durations, "durations (numbers or timedeltas)", "durations")
    times: list[Any] = []
    problems: list[Problem] = []
    first: str | None = None
    for i, time in enumerate(_iterable(durations)):
        if len(problems) >= MAX_PROBLEMS:
            break
        if i >= MAX_OBSERVATIONS:
            _too_many("durations")
        time = c.plain(time)  # noqa: PLW2901 - numpy numbers as Python's
        problem, first = _time_against(time, first)
        if problem is not None:
            problems.append(problem.prefixed(f"durations[{i}]"))
        else:
            times.append(time)
    if problems:
        raise ValidationError(problems)
    return times, any(type(t) is float for t in times)


_FLAG = "an event flag (True or False, or 1 or 0)"


def _flag_problem(flag: object) -> Problem | None:
    if isinstance(flag, bool):
        return None
    if isinstance(flag, int):
        return None if flag in (0, 1) else c.bad("range", f"{c.show(flag)} is not {_FLAG}")
    return c.bad("type", f"{c.show(flag)} is {c.a_type(flag)}, not {_FLAG}")


def _read_flags(event_observed: object, n: int, np: Any) -> Any:
    """
    The event flags of *event_observed* (all True when it is None): a numpy
    array of bools when numpy is installed, else a list; one per duration.
    """
    if event_observed is None:
        return np.ones(n, dtype=bool) if np is not None else [True] * n
    dtype = getattr(event_observed, "dtype", None)
    array = None
    if (
        np is not None
        and getattr(dtype, "kind", None) in ("b", "i", "u")
        and getattr(event_observed, "ndim", 0) == 1
    ):
        try:
            array = np.asarray(event_observed)
        except Exception:  # noqa: BLE001 - a column numpy cannot read is read item by item
            array = None
    if array is not None and array.ndim == 1 and array.dtype.kind in "biu":
        if array.dtype.kind != "b":
            bad = np.flatnonzero((array != 0) & (array != 1))
            if len(bad):
                raise ValidationError(
                    [
                        Problem(
                            path=f"event_observed[{i}]",
                            code="range",
                            message=f"{array[i].item()} is not {_FLAG}",
                        )
                        for i in bad[:MAX_PROBLEMS].tolist()
                    ]
                )
            array = array.astype(bool)
        _same_length(len(array), n)
        return array
    if isinstance(event_observed, list | tuple) and set(map(type, event_observed)) <= {bool}:
        _same_length(len(event_observed), n)
        return np.array(event_observed, dtype=bool) if np is not None else list(event_observed)
    c.require_iterable(event_observed, "event flags (True or False)", "event_observed")
    flags: list[bool] = []
    problems: list[Problem] = []
    for i, flag in enumerate(_iterable(event_observed)):
        if len(problems) >= MAX_PROBLEMS:
            break
        if i == n:
            _same_length(n + 1, n)
        flag = c.plain(flag)  # noqa: PLW2901 - numpy's bool and ints as Python's
        problem = _flag_problem(flag)
        if problem is not None:
            problems.append(problem.prefixed(f"event_observed[{i}]"))
        else:
            flags.append(bool(flag))
    if problems:
        raise ValidationError(problems)
    _same_length(len(flags), n)
    return np.array(flags, dtype=bool) if np is not None else flags


def _same_length(flags: int, n: int) -> None:
    """Refuse *flags* event flags for *n* durations unless they are as many."""
    if flags != n:
        found = f"more than {n:,}" if flags > n else f"{flags:,}"
        msg = f"{found} event flags for {n:,} durations; give one flag per duration"
        raise ValidationError.single("event_observed", msg, code="conflict")


def kaplan_meier(
    observations: Iterable[tuple[Time, bool]] | None = None,
    *,
    durations: Iterable[Time] | None = None,
    event_observed: Iterable[bool | int] | None = None,
    exact: bool | None = None,
) -> KaplanMeier:
    """
    The Kaplan-Meier estimator over ``(time, closed)`` pairs, where *closed*
    is False for a censored observation (a deal still open when observed);
    or, as lifelines takes them, over *durations* with *event_observed*
    beside them (True or 1 for a close, False or 0 for a censored
    observation; all closes when left out), keywords instead of
    *observations*.  Times are real numbers (int, Fraction, Decimal, finite
    float) or timedeltas, all of one kind, and not negative; numpy arrays
    and pandas Series are read as columns.  At a tie, events are counted
    before censorings (the usual convention).

    *exact* picks the numbers of S(t): ``True`` for ``Fraction`` values,
    ``False`` for floats, ``None`` (the default) for exact when every time
    is an int, ``Fraction``, ``Decimal`` or timedelta and there are at most
    10,000 observations (``EXACT_UP_TO``), floats otherwise.  Both modes
    count the same table; the float estimates agree with the exact ones to
    about 1e-15 (the tests hold them to 1e-9).

    Cost: O(n log n) for n observations, plus, exact, O(k^2) for k
    distinct times (the fractions grow: 50,000 distinct times take
    seconds).  Floats with numpy (ints, floats or timedeltas): one sort in
    numpy, a million observations in well under a second; floats without
    numpy: a sort in Python.

    >>> km = kaplan_meier([(6, True), (6, True), (7, False), (10, True)])
    >>> for s in km.steps:
    ...     print(s.time, s.at_risk, s.events, s.survival)
    6 4 2 1/2
    7 2 0 1/2
    10 1 1 0
    >>> kaplan_meier(durations=[6, 6, 7, 10], event_observed=[1, 1, 0, 1], exact=False).survival(8)
    0.5
    """
    mode = _exact_mode(exact)
    np = None
    if observations is not None:
        if durations is not None or event_observed is not None:
            given = "durations" if durations is not None else "event_observed"
            msg = f"give observations or durations= with event_observed=, not both ({given} is given too)"
            raise ValidationError.single("observations", msg, code="conflict")
        times, flags = _read_pairs(observations)
        floats = any(type(t) is float for t in times)
    elif durations is not None:
        np = _numpy() if _worth_numpy(durations) else None
        times, floats = _read_durations(durations, np)
        flags = _read_flags(event_observed, len(times), np)
    else:
        path = "durations" if event_observed is not None else "observations"
        msg = "give observations=[(time, closed), ...], or durations= with event_observed="
        raise ValidationError.single(path, msg, code="missing")
    n = len(times)
    if n == 0:
        raise ValidationError.single(
            "durations" if durations is not None else "observations", "no observations", code="empty"
        )
    use_exact = mode if mode is not None else (not floats and n <= EXACT_UP_TO)
    if not use_exact and n >= _NUMPY_FROM:
        np = np or _numpy()
    if not use_exact and np is not None and n >= _NUMPY_FROM:
        arrays = (times, _same) if not isinstance(times, list) else _as_arrays(times, np)
        if arrays is not None:
            values, back = arrays
            flag_array = flags if not isinstance(flags, list) else np.array(flags, dtype=bool)
            return KaplanMeier(steps=_numpy_table(np, values, back, flag_array))
    if not isinstance(times, list):
        times = times.tolist()
    if not isinstance(flags, list):
        flags = flags.tolist()
    distinct, events, censored = _counted(times, flags)
    return KaplanMeier(steps=_table(distinct, events, censored, exact=use_exact))
