"""
A seeded synthetic company whose true sales process is known.

:func:`simulate_company` draws deals from a process given in a few numbers
(how many deals a day, by month; how long each stage lasts; how often a deal
moves on) and plays them through the real stage engine, so that a forecast,
a survival curve or a funnel can be checked for recovering the numbers it
was made from: :class:`CompanyTruth` holds them, and what follows from them
exactly (the chance of winning from each stage, the mean time to close, the
expected count of deals created in a window).

>>> import datetime as dt
>>> from funnelkit.simulation import simulate_company
>>> company = simulate_company(seed=1, start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), days=90)
>>> company.truth.p_won("lead")  # 0.5 * 0.6 * 0.6 * 0.7
0.126
>>> round(company.truth.expected_created(company.start, company.end))  # 4 a day for 90 days
360

A company whose process drifts: 50 % more deals a year, and from day 60 on
deals leave ``lead`` forward half as often; the truth says both.

>>> drifting = simulate_company(
...     seed=1, start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), days=90, growth=0.5,
...     shift=(60, {"lead": 0.25, "qualified": 0.6, "proposal": 0.6, "negotiation": 0.7}),
... )
>>> drifting.truth.p_won("lead"), drifting.truth.p_won("lead", after_shift=True)
(0.126, 0.063)
>>> round(drifting.truth.creation_rate(dt.date(2027, 1, 1)), 2)  # 4 * 1.5 a year later
6.0
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from . import _checks as c
from ._checks import check
from ._frozenmap import FrozenMap
from ._money import Money
from ._report import Report
from ._time import canonical
from .entities import Opportunity, OpportunityStatus
from .errors import Problem, ValidationError
from .stages import (
    AmountChanged,
    CloseDateChanged,
    Pipeline,
    Stage,
    StageChanged,
    advance,
    edit,
    lose,
    win,
)

#: The most days :func:`simulate_company` plays.
MAX_DAYS = 3_650
#: The most deals a day it creates, at the busiest month (``deals_per_day`` times the largest
#: ``seasonality`` multiplier).
MAX_DEALS_PER_DAY = 10_000
#: The most open stages, and the longest mean stay in one, in days.
MAX_OPEN_STAGES = 100
MAX_STAY_DAYS = 3_650
#: The widest spread of amounts (the sigma of their logarithm), and the largest median amount.
MAX_AMOUNT_SIGMA = 3.0
MAX_AMOUNT_MEDIAN = 10**12
#: How far a slipping expected close is pushed, and the most an amount edit changes an amount.
SLIP_DAYS = 30
EDIT_SPREAD = 0.3
#: The least and the most yearly growth of the creation rate.
MIN_GROWTH = -0.9
MAX_GROWTH = 10.0
#: The largest size effect either way: how many log-odds a deal e times the median loses at each stage.
MAX_SIZE_EFFECT = 5.0
#: The strongest end-of-quarter push: with it every win of a quarter's first two months waits for its last.
MAX_QUARTER_END = 2.0
#: The days of a year of growth (a Julian year).
YEAR_DAYS = 365.25
#: The largest exponent of the growth factor a truth question may reach (e**600 is about 4e260):
#: beyond it the rate is more than a float can hold in the sums, and the question is refused.
_MAX_EXPONENT = 600.0

_DEFAULT_STAYS: Mapping[str, float] = FrozenMap(
    {"lead": 10.0, "qualified": 15.0, "proposal": 20.0, "negotiation": 10.0}
)
_DEFAULT_FORWARD: Mapping[str, float] = FrozenMap(
    {"lead": 0.5, "qualified": 0.6, "proposal": 0.6, "negotiation": 0.7}
)
_CLOSED = ("won", "lost")
#: The check of one number: the problem with it, or None.
_NumberCheck = Callable[[object], Problem | None]
#: simulate_company's parameters, in order: its problems are listed so.
_PARAMETERS = (
    "seed",
    "start",
    "days",
    "deals_per_day",
    "seasonality",
    "stays",
    "forward",
    "amount_median",
    "amount_sigma",
    "slip",
    "amount_edits",
    "growth",
    "shift",
    "size_effect",
    "quarter_end",
)
_OWNER = "sales"
_LOST_REASON = "price"
_MONTHS = 12


# --- reading numbers --------------------------------------------------------------------------


def _to_float(value: Any) -> Any:
    """
    A finite real number (an int, float, Fraction or Decimal, numpy's too)
    as a float; anything else, or a number no float holds, unchanged for the
    check to report.
    """
    value = c.plain(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction | Decimal):
        return value
    if isinstance(value, Decimal) and not value.is_finite():
        return value
    try:
        number = float(value)
    except OverflowError:
        return value
    return number if math.isfinite(number) else value


def _to_floats(value: Any) -> Any:
    """
    A sequence of numbers as a tuple of floats (the items no float holds
    unchanged); at most 13 items are read, so an endless one is refused.
    """
    if not c.is_iterable(value) or isinstance(value, set | frozenset):
        return value
    return tuple(_to_float(x) for x in itertools.islice(value, _MONTHS + 1))


def _to_float_map(value: Any) -> Any:
    """A mapping (or a pandas Series) as a read-only mapping of floats, in its order."""
    if c.is_mapping_like(value):
        try:
            value = dict(value.items())
        except Exception:  # noqa: BLE001 - not readable as a mapping: the check reports it
            return value
    if not isinstance(value, Mapping):
        return value
    return FrozenMap({k: _to_float(v) for k, v in value.items()})


def _to_shift(value: Any) -> Any:
    """
    A shift, ``(day, chances)``, from any pair (a list too, as a document
    holds it): its day a plain int, its chances read as :func:`_to_float_map`
    does; anything else unchanged for the check.
    """
    if isinstance(value, tuple | list) and len(value) == 2:
        return (c.plain(value[0]), _to_float_map(value[1]))
    return value


def _number(low: float, high: float, *, above: bool = False, limit: bool = False) -> _NumberCheck:
    """
    The check of a number in [low, high] ((low, high] when *above*); over
    *high* is a ``limit`` problem when *limit*, else ``range``.
    """
    span = f"{'(' if above else '['}{low:g}, {high:,g}]"

    def number(value: object) -> Problem | None:
        if not isinstance(value, float):
            if isinstance(value, int | Fraction | Decimal) and not isinstance(value, bool):
                return c.bad("range", f"{c.show(value)} is not a finite number in {span}")
            return c.wrong_type(value, f"a number in {span}")
        if not math.isfinite(value) or value < low or (above and value == low):
            return c.bad("range", f"{c.show(value)} is outside {span}")
        if value > high:
            code = "limit" if limit else "range"
            return c.bad(code, f"{c.show(value)} is more than {high:,g}, the most allowed")
        return None

    return number


_deals_per_day = _number(0, MAX_DEALS_PER_DAY, above=True, limit=True)
_sigma = _number(0, MAX_AMOUNT_SIGMA)
_chance = _number(0, 1)
_stay = _number(0, MAX_STAY_DAYS, above=True)
_multiplier = _number(0, math.inf)
_growth = _number(MIN_GROWTH, MAX_GROWTH)
_size_effect = _number(-MAX_SIZE_EFFECT, MAX_SIZE_EFFECT)
_quarter_end = _number(0, MAX_QUARTER_END)


def _seasonality(value: object) -> c.Result:
    """Twelve non-negative finite multipliers, January to December, not all zero."""
    if not isinstance(value, tuple):
        return c.wrong_type(value, "a sequence of 12 numbers, one per month from January")
    if len(value) != _MONTHS:
        many = "more than 12" if len(value) > _MONTHS else str(len(value))
        return c.bad("range", f"{c.show(value)} has {many} items; expected 12, one per month from January")
    problems = [p.prefixed(f"[{i}]") for i, x in enumerate(value) if (p := _multiplier(x)) is not None]
    if not problems and not any(value):
        return c.bad("range", f"{c.show(value)} is all zero; no deal would ever be created")
    return problems or None


def _stage_map(check_value: _NumberCheck) -> c.Check:
    """The check of a mapping from open stage keys to numbers that each pass *check_value*."""

    def stage_map(value: object) -> c.Result:
        if not isinstance(value, Mapping):
            return c.wrong_type(value, "a mapping of stage keys to numbers")
        if not value:
            return c.bad("empty", "{} is empty; a company needs at least one open stage")
        if len(value) > MAX_OPEN_STAGES:
            return c.bad("limit", f"{len(value):,} stages is more than {MAX_OPEN_STAGES}, the most allowed")
        problems = []
        for key, number in value.items():
            where = f"[{c.show(key)}]"
            problem = c.identifier(key)
            if problem is None and key in _CLOSED:
                problem = c.bad("conflict", f"{key!r} is the closed stage of that name; name open stages")
            if problem is None:
                problem = check_value(number)
            if problem is not None:
                problems.append(problem.prefixed(where))
        return problems or None

    return stage_map


def _shift(value: object) -> c.Result:
    """None, or a day after the start and a forward chance for each open stage from that day on."""
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:
        return c.wrong_type(value, "None or a pair (day, forward chances from that day on)")
    day, chances = value
    problems = []
    if isinstance(day, bool) or not isinstance(day, int):
        problems.append(c.wrong_type(day, f"an int day in [1, {MAX_DAYS - 1:,}]").prefixed("[0]"))
    elif not 0 < day < MAX_DAYS:
        message = f"{c.show(day)} is outside [1, {MAX_DAYS - 1:,}]; the shift comes after the start"
        problems.append(Problem(path="[0]", code="range", message=message))
    result = _stage_map(_chance)(chances)
    if result is not None:
        problems.extend(p.prefixed("[1]") for p in ([result] if isinstance(result, Problem) else result))
    return problems or None


def _start(value: object) -> Problem | None:
    """None, or a timezone-aware datetime."""
    return None if value is None else c.aware_datetime(value)


def _median(value: object) -> Problem | None:
    if not isinstance(value, Money):
        return c.wrong_type(value, "a Money")
    if value.amount <= 0:
        return c.bad("range", f"{c.show(value)} is not positive; a median amount is > 0")
    if value.amount > MAX_AMOUNT_MEDIAN:
        return c.bad("limit", f"{c.show(value)} is more than {MAX_AMOUNT_MEDIAN:,}, the most allowed")
    return None


# --- the truth --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CompanyTruth(c.Checked):
    """
    The sales process of a company :func:`simulate_company` plays: the
    parameters it was given, and what follows from them exactly.

    *stays* lists the open stages in their order, each with the mean days a
    deal stays in it (an exponential time); *forward* gives each the chance
    that leaving it is a move forward (from the last, a win) rather than a
    loss.  Deals are created at *deals_per_day* a day times the month's
    *seasonality* multiplier (January first), with lognormal amounts of
    median *amount_median* and log-spread *amount_sigma*; *slip* is the
    chance that an open deal's passing expected close is pushed 30 days,
    *amount_edits* the chance that a deal's amount is edited once while open.

    The process may drift from *start* (the company's start) on: the
    creation rate is multiplied by ``(1 + growth) ** years`` after *start*
    (a year of 365.25 days), and from day ``shift[0]`` after *start* a deal
    leaving a stage moves forward with the chance ``shift[1][stage]``
    instead.  *start* is needed when either is given.

    With *size_effect* b, a deal's chance of moving forward depends on its
    amount x at creation: its log-odds are lowered by ``b * log(x /
    median)`` at each stage (a chance of 0 or 1 stays so), so with b > 0
    large deals are won less often than small ones, as in most companies'
    win rates by deal size.  :meth:`p_won` is then the chance of a deal of
    the median amount.

    With *quarter_end* q (the end-of-quarter push of B2B sales), a win
    the process makes in the first or second month of a calendar quarter
    (in the zone of *start*) is, with chance q / 2, made instead at an
    instant uniform over the quarter's last month, the deal waiting in its
    last open stage until then: :meth:`quarter_index` gives the wins a day
    in each month of a quarter that follow in a steady company.
    """

    deals_per_day: float = attrs.field(metadata=check(_deals_per_day), converter=_to_float)
    seasonality: tuple[float, ...] = attrs.field(metadata=check(_seasonality), converter=_to_floats)
    stays: Mapping[str, float] = attrs.field(metadata=check(_stage_map(_stay)), converter=_to_float_map)
    forward: Mapping[str, float] = attrs.field(metadata=check(_stage_map(_chance)), converter=_to_float_map)
    amount_median: Money = attrs.field(metadata=check(_median))
    amount_sigma: float = attrs.field(metadata=check(_sigma), converter=_to_float)
    slip: float = attrs.field(metadata=check(_chance), converter=_to_float)
    amount_edits: float = attrs.field(metadata=check(_chance), converter=_to_float)
    growth: float = attrs.field(default=0.0, metadata=check(_growth), converter=_to_float)
    shift: tuple[int, Mapping[str, float]] | None = attrs.field(
        default=None, metadata=check(_shift), converter=_to_shift
    )
    start: dt.datetime | None = attrs.field(default=None, metadata=check(_start))
    size_effect: float = attrs.field(default=0.0, metadata=check(_size_effect), converter=_to_float)
    quarter_end: float = attrs.field(default=0.0, metadata=check(_quarter_end), converter=_to_float)

    def _relations(self) -> list[Problem]:
        problems = [
            Problem(
                path=f"forward[{c.show(k)}]",
                code="missing",
                message=f"no forward chance for {k!r}, a stage of stays",
            )
            for k in self.stays
            if k not in self.forward
        ]
        problems.extend(
            Problem(path=f"forward[{c.show(k)}]", code="reference", message=f"{k!r} is not a stage of stays")
            for k in self.forward
            if k not in self.stays
        )
        peak = self.deals_per_day * max(self.seasonality)
        if peak > MAX_DEALS_PER_DAY:
            msg = (
                f"{self.deals_per_day:g} a day at the busiest month (x {max(self.seasonality):g}) is "
                f"{peak:,g}, more than {MAX_DEALS_PER_DAY:,}, the most allowed"
            )
            problems.append(Problem(path="deals_per_day", code="limit", message=msg))
        if self.shift is not None:
            chances = self.shift[1]
            problems.extend(
                Problem(
                    path=f"shift[1][{c.show(k)}]",
                    code="missing",
                    message=f"no forward chance after the shift for {k!r}, a stage of stays",
                )
                for k in self.stays
                if k not in chances
            )
            problems.extend(
                Problem(
                    path=f"shift[1][{c.show(k)}]", code="reference", message=f"{k!r} is not a stage of stays"
                )
                for k in chances
                if k not in self.stays
            )
        if self.start is None and (self.growth or self.shift is not None):
            msg = "None; growth and a shift are counted from the company's start: give it"
            problems.append(Problem(path="start", code="missing", message=msg))
        return problems

    @property
    def growth_per_day(self) -> float:
        """The continuous growth rate of deal creation a day: ``log(1 + growth) / 365.25``."""
        return math.log1p(self.growth) / YEAR_DAYS

    @property
    def stages(self) -> tuple[str, ...]:
        """The open stages, in order (the keys of *stays*)."""
        return tuple(self.stays)

    @property
    def mean_amount(self) -> float:
        """
        The mean amount created, in the median's currency: ``median *
        exp(sigma**2 / 2)``, the mean of a lognormal (before rounding to
        minor units, and before edits, which do not move it).
        """
        return float(self.amount_median.amount) * math.exp(self.amount_sigma**2 / 2)

    def _stage_key(self, stage: object) -> str:
        if isinstance(stage, str) and (stage in self.stays or stage in _CLOSED):
            return stage
        if not isinstance(stage, str):
            raise c.at("stage", c.wrong_type(stage, "a stage key"))
        known = ", ".join(repr(k) for k in (*self.stays, *_CLOSED))
        msg = f"{c.show(stage)} is not a stage of this company; its stages: {known}"
        raise ValidationError.single("stage", msg, code="reference")

    def _chances(self, after_shift: object) -> Mapping[str, float]:
        """The forward chances before the shift, or after it when *after_shift* (the same without one)."""
        if not isinstance(after_shift, bool):
            raise c.at("after_shift", c.wrong_type(after_shift, "a bool"))
        return self.shift[1] if after_shift and self.shift is not None else self.forward

    def p_won(self, stage: str, *, after_shift: bool = False) -> float:
        """
        The true chance that a deal in *stage* is won: the product of the
        forward chances from it on (1 for ``won``, 0 for ``lost``); with
        *after_shift*, of the chances after the shift (the same when there
        is none), for a deal that leaves every stage after it.

        Cost: O(stages).
        """
        key = self._stage_key(stage)
        chances = self._chances(after_shift)
        if key in _CLOSED:
            return 1.0 if key == "won" else 0.0
        stages = self.stages
        return math.prod(chances[k] for k in stages[stages.index(key) :])

    def mean_days_to_close(self, stage: str, *, after_shift: bool = False) -> float:
        """
        The mean days from entering *stage* until the deal is won or lost:
        its mean stay, plus, with the forward chance, the next stage's mean
        days to close (0 for ``won`` and ``lost``); with *after_shift*, by
        the chances after the shift.

        Cost: O(stages).
        """
        key = self._stage_key(stage)
        chances = self._chances(after_shift)
        if key in _CLOSED:
            return 0.0
        stages = self.stages
        days = 0.0
        for k in reversed(stages[stages.index(key) :]):
            days = self.stays[k] + chances[k] * days
        return days

    def quarter_index(self, day: dt.date) -> tuple[float, float, float]:
        """
        The wins a day in each month of *day*'s calendar quarter over the
        quarter's mean a day, in a steady company (wins a day the same
        throughout the quarter but for the push): with *quarter_end* q,
        ``1 - q / 2`` in the first two months and ``1 + q / 2 * (d1 + d2) /
        d3`` in the last, for the months' d1, d2 and d3 days (between ``1 +
        0.95 q`` and ``1 + 1.04 q``); ``(1, 1, 1)`` without a push.  The
        count won in a quarter is unchanged: the push only moves wins
        within it.

        Cost: O(1).
        """
        problem = c.calendar_date(day)
        if problem is not None:
            raise c.at("day", problem)
        first = 3 * ((day.month - 1) // 3) + 1
        d1, d2, d3 = (_month_days(day.year, first + i) for i in range(3))
        x = self.quarter_end / 2
        return (1 - x, 1 - x, 1 + x * (d1 + d2) / d3)

    def creation_rate(self, day: dt.date) -> float:
        """
        The mean deals created a day on *day*: ``deals_per_day`` times the
        seasonality of its month; with growth, times the mean growth factor
        over that day (from midnight to midnight in the zone of *start*),
        ``(1 + growth) ** years``.

        Cost: O(1).
        """
        problem = c.calendar_date(day)
        if problem is not None:
            raise c.at("day", problem)
        rate = self.deals_per_day * self.seasonality[day.month - 1]
        k = self.growth_per_day
        if not k:
            return rate
        assert self.start is not None  # noqa: S101 - required with growth
        zone = self.start.tzinfo
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
        at = _elapsed_days(self.start, midnight)
        if k * at > _MAX_EXPONENT:
            msg = (
                f"{day.isoformat()} is too far from the start {self.start.isoformat()} for a growth of "
                f"{self.growth:g} a year: the rate there is more than a float holds"
            )
            raise ValidationError.single("day", msg, code="range")
        length = 1.0
        if day < dt.date.max:
            after = day + dt.timedelta(days=1)
            length = _elapsed_days(midnight, dt.datetime(after.year, after.month, after.day, tzinfo=zone))
        return rate * math.exp(k * at) * _mean_growth(k, length)

    def expected_created(self, start: dt.datetime, end: dt.datetime) -> float:
        """
        The expected count of deals created in [*start*, *end*): the
        integral of the creation rate, months read as calendar months in the
        zone of *start* (give the company's ``start``, or any instant in its
        zone).  With growth, each month piece [a, b) adds ``r e^{k a}
        (e^{k (b - a)} - 1) / k`` (r its rate, k :attr:`growth_per_day`, a and
        b in days after the company's start), exactly; a window so far from
        the company's start that the grown rate passes e**600 is refused.

        Cost: O(months between them).
        """
        problems = []
        for name, value in (("start", start), ("end", end)):
            problem = c.aware_datetime(value)
            if problem is not None:
                problems.append(problem.prefixed(name))
        if problems:
            raise ValidationError(problems)
        if canonical(end) < canonical(start):
            msg = f"{end.isoformat()} is before start {start.isoformat()}"
            raise ValidationError.single("end", msg, code="order")
        total = _elapsed_days(start, end)
        k = self.growth_per_day
        if not k:
            return math.fsum(
                (min(b, total) - a) * self.deals_per_day * self.seasonality[month - 1]
                for a, b, month in _months(start, total)
            )
        assert self.start is not None  # noqa: S101 - required with growth
        # The rate on a month piece [a, b) is r e^{k (at + u)}: its integral is
        # r e^{k (at + a)} (e^{k (b - a)} - 1) / k, i.e. r (b - a) e^{k (at + a)} times the mean factor.
        at = _elapsed_days(self.start, start)
        for name, exponent in (("start", k * at), ("end", k * (at + total))):
            if exponent > _MAX_EXPONENT:
                when = start if name == "start" else end
                msg = (
                    f"{when.isoformat()} is too far from the company's start {self.start.isoformat()} for a "
                    f"growth of {self.growth:g} a year: the rate there is more than a float holds"
                )
                raise ValidationError.single(name, msg, code="range")
        return math.fsum(
            (min(b, total) - a)
            * self.deals_per_day
            * self.seasonality[month - 1]
            * math.exp(k * (at + a))
            * _mean_growth(k, min(b, total) - a)
            for a, b, month in _months(start, total)
        )


def _month_days(year: int, month: int) -> int:
    """The days of *month* of *year*."""
    after = dt.date(year + 1, 1, 1) if month == _MONTHS else dt.date(year, month + 1, 1)
    return (after - dt.date(year, month, 1)).days


def _mean_growth(k: float, length: float) -> float:
    """The mean of e^{k u} over u in [0, *length*): ``expm1(k length) / (k length)`` (1 for length 0)."""
    x = k * length
    return math.expm1(x) / x if x else 1.0


def _peak(truth: CompanyTruth, start: dt.datetime, days: int) -> tuple[float, float]:
    """
    The highest creation rate over the *days* played from *start*, and the
    day it is reached (its supremum: at the end of a month piece when growing,
    at its start when shrinking).
    """
    k = truth.growth_per_day
    best, when = 0.0, 0.0
    for a, b, month in _months(start, days):
        at = min(b, days) if k > 0 else a
        rate = truth.deals_per_day * truth.seasonality[month - 1]
        if k:
            rate *= math.exp(k * at)
        if rate > best:
            best, when = rate, at
    return best, when


def _elapsed_days(a: dt.datetime, b: dt.datetime) -> float:
    """The days from *a* to *b* (aware), without converting either to UTC (which may overflow)."""
    offsets = (b.utcoffset() or dt.timedelta(0)) - (a.utcoffset() or dt.timedelta(0))
    return ((b.replace(tzinfo=None) - a.replace(tzinfo=None)) - offsets) / dt.timedelta(days=1)


def _months(start: dt.datetime, days: float) -> list[tuple[float, float, int]]:
    """
    The calendar months (in the zone of *start*) that [0, *days*) days after
    *start* overlap: ``(from, to, month)`` in days after *start*, the last
    one open-ended (``inf``).
    """
    out: list[tuple[float, float, int]] = []
    year, month, at = start.year, start.month, 0.0
    while at < days or not out:
        year2, month2 = (year + 1, 1) if month == _MONTHS else (year, month + 1)
        if year2 > dt.MAXYEAR:
            out.append((at, math.inf, month))
            break
        until = _elapsed_days(start, dt.datetime(year2, month2, 1, tzinfo=start.tzinfo))
        out.append((at, until, month))
        year, month, at = year2, month2, until
    return out


# --- the company ------------------------------------------------------------------------------

Event = StageChanged | AmountChanged | CloseDateChanged


@attrs.frozen(kw_only=True, repr=False)
class Company(Report):
    """
    A simulated company: its *pipeline*, its deals as they are at *end*
    (those still open then are open: what happens later is not observed),
    the events that made them (moves and edits, in order of time) and the
    *truth* they were drawn from.  Deals are created from *start* on.

    :meth:`as_created` gives each deal as it was created, so that
    ``funnelkit.stages.replay(created, its_events)`` is the deal.  One row
    per deal.  Not mergeable: one company, not a partition.
    """

    pipeline: Pipeline
    opportunities: tuple[Opportunity, ...]
    events: tuple[StageChanged | AmountChanged | CloseDateChanged, ...]
    start: dt.datetime
    end: dt.datetime
    truth: CompanyTruth

    def _summary(self) -> str:
        counts = dict.fromkeys(OpportunityStatus, 0)
        for deal in self.opportunities:
            counts[deal.status] += 1
        return (
            f"{c.counted(len(self.opportunities), 'deal')} from {self.start.date().isoformat()} to "
            f"{self.end.date().isoformat()}: {counts[OpportunityStatus.WON]:,} won, "
            f"{counts[OpportunityStatus.LOST]:,} lost, {counts[OpportunityStatus.OPEN]:,} open; "
            f"{c.counted(len(self.events), 'event')}"
        )

    def _rows(self) -> list[dict[str, object]]:
        """One row per deal: where it is at the end, its amount and its expected close."""
        return [
            {
                "id": d.id,
                "created_at": d.created_at,
                "stage": d.stage,
                "status": d.status.value,
                "stage_entered_at": d.stage_entered_at,
                "amount": d.amount,
                "expected_close": d.expected_close,
                "lost_reason": d.lost_reason,
                "version": d.version,
            }
            for d in self.opportunities
        ]

    def as_created(self) -> tuple[Opportunity, ...]:
        """
        Each deal as it was created (version 0, in the first stage, with its
        first amount and expected close), in the order of ``opportunities``:
        replaying its events on it gives the deal as it is.

        Cost: O(deals + events).
        """
        amounts: dict[str, Money | None] = {}
        closes: dict[str, dt.date | None] = {}
        for event in self.events:
            if isinstance(event, AmountChanged):
                amounts.setdefault(event.opportunity_id, event.before)
            elif isinstance(event, CloseDateChanged):
                closes.setdefault(event.opportunity_id, event.before)
        stage = self.pipeline.stages[0].key
        return tuple(
            attrs.evolve(
                d,
                stage=stage,
                stage_entered_at=d.created_at,
                status=OpportunityStatus.OPEN,
                amount=amounts.get(d.id, d.amount),
                expected_close=closes.get(d.id, d.expected_close),
                lost_reason=None,
                version=0,
            )
            for d in self.opportunities
        )


# --- the simulation ---------------------------------------------------------------------------


def simulate_company(
    *,
    seed: int | random.Random,
    start: dt.datetime,
    days: int,
    deals_per_day: float = 4.0,
    seasonality: Sequence[float] = (1.0,) * 12,
    stays: Mapping[str, float] | None = None,
    forward: Mapping[str, float] | None = None,
    amount_median: Money = Money.of("10000", "USD"),  # noqa: B008 - an immutable value
    amount_sigma: float = 0.5,
    slip: float = 0.3,
    amount_edits: float = 0.1,
    growth: float = 0.0,
    shift: tuple[int, Mapping[str, float]] | None = None,
    size_effect: float = 0.0,
    quarter_end: float = 0.0,
) -> Company:
    """
    A company whose true sales process is known, played for *days* days from
    *start*, all its randomness from ``random.Random(seed)`` (or the
    ``random.Random`` given, which it advances): the same arguments give the
    same company.  No clock, no I/O.

    - Deals are created as a Poisson process of rate *deals_per_day* times
      the *seasonality* multiplier of the month (January to December, in
      the zone of *start*), drawn by thinning.
    - Each starts in the first open stage with a lognormal amount (median
      *amount_median*, log-spread *amount_sigma*, in whole minor units) and
      an expected close of its creation plus the sum of the mean stays.
    - In each open stage it stays an exponential time of mean ``stays[stage]``
      days, then moves forward with chance ``forward[stage]`` (from the last
      open stage: won) or is lost (reason ``"price"``).  The open stages are
      those of *stays*, in its order; by default ``lead`` (10 days, 50 %
      forward), ``qualified`` (15, 60 %), ``proposal`` (20, 60 %) and
      ``negotiation`` (10, 70 %).  Stays other than those need their own
      *forward*, with the same stages.
    - When an open deal's expected close passes (midnight after it, in the
      zone of *start*), it is pushed 30 days with chance *slip* (a
      ``CloseDateChanged``), and again when that one passes; with chance
      *amount_edits* a deal's amount is edited once, by up to 30 % either
      way, at a uniform instant while it is open (an ``AmountChanged``).
    - With *growth*, the creation rate changes by that fraction a year,
      continuously: it is multiplied by ``(1 + growth) ** years`` after
      *start* (a year of 365.25 days; from -0.9 to 10).
    - With *shift*, ``(day, chances)``, a deal leaving a stage from *day*
      days after *start* on (0 < day < *days*) moves forward with
      ``chances[stage]`` instead of ``forward[stage]`` (the same stages):
      the process changes under a forecast fitted on all of the history.
    - With *size_effect* b (from -5 to 5), a deal of amount x moves forward
      with the log-odds of its stage's chance lowered by ``b * log(x /
      median)``: with b > 0 large deals win less often, which a forecast
      that counts deals, not money, gets wrong.
    - With *quarter_end* q (from 0 to 2), the end-of-quarter push ("hockey
      stick": reps and buyers close at the quarter's end): a win the
      process makes in the first or second month of a calendar quarter (in
      the zone of *start*) is, with chance q / 2, made instead at an instant
      uniform over the quarter's last month (the deal waits in its last
      open stage; past the days played it is still open).  In a steady
      company the wins a day are then ``1 - q / 2`` times the quarter's
      mean in its first two months and about ``1 + q`` times it in the last
      (:meth:`CompanyTruth.quarter_index`); each deal's chance of winning
      and the count won in a quarter are unchanged, only when.
    - Without *growth*, *shift*, *size_effect* or *quarter_end*, the same
      seed gives the same company as before they existed.
    - Nothing after ``start + days`` is observed: deals open then stay open.

    The pipeline has the open stages (probability: the true chance to win
    from there before any shift, to 4 places), ``won`` and ``lost``, and no
    requirements; the moves and edits are made by
    :func:`funnelkit.stages.advance`, :func:`~funnelkit.stages.win`,
    :func:`~funnelkit.stages.lose` and :func:`~funnelkit.stages.edit`, so
    ``events`` replay.

    At most 3,650 days, 10,000 deals a day at the busiest month (with its
    growth; over it the error names ``deals_per_day`` when it is over before
    any growth, else ``growth``), 100 open stages of at most 3,650 days
    each, a log-spread of 3 and a median of 10**12 in the currency's units;
    bad arguments are refused up front, all at once, each by name (a
    :class:`~funnelkit.errors.ValidationError`).

    Cost: O(n log n) for the n deals and events (about ``deals_per_day *
    days`` deals), plus O(peak rate * days) thinning draws with growth;
    10,000 deals take about a second.
    """
    seed, days = c.plain(seed), c.plain(days)
    stays = _DEFAULT_STAYS if stays is None else stays
    if forward is None and isinstance(stays, Mapping) and set(stays) == set(_DEFAULT_FORWARD):
        forward = _DEFAULT_FORWARD
    problems = _arguments(seed, start, days)
    guessed = forward is None  # custom stays need their own chances; the rest is still checked
    if guessed:
        msg = "None; give the chance of moving forward from each stage of stays"
        problems.append(Problem(path="forward", code="missing", message=msg))
        forward = _DEFAULT_FORWARD
    truth = None
    good_start = c.aware_datetime(start) is None
    try:
        truth = CompanyTruth(
            deals_per_day=deals_per_day,
            seasonality=seasonality,
            stays=stays,
            forward=forward,
            amount_median=amount_median,
            amount_sigma=amount_sigma,
            slip=slip,
            amount_edits=amount_edits,
            growth=growth,
            shift=shift,
            start=start if good_start else None,
            size_effect=size_effect,
            quarter_end=quarter_end,
        )
    except ValidationError as e:
        problems.extend(
            p
            for p in e.problems
            if not (guessed and p.path.startswith("forward")) and not (not good_start and p.path == "start")
        )
    if truth is not None and truth.shift is not None and _good_days(days) and truth.shift[0] >= days:
        msg = f"{truth.shift[0]:,} is not before the last day played, {days:,}; a shift comes within the days"
        problems.append(Problem(path="shift[0]", code="range", message=msg))
    if truth is not None and not problems:
        problem = _room(start, days, truth) or _grown_peak(start, days, truth)
        if problem is not None:
            problems.append(problem)
    if problems or truth is None:
        order = {name: i for i, name in enumerate(_PARAMETERS)}
        raise ValidationError(sorted(problems, key=lambda p: order.get(p.path.split("[")[0], 0)))
    shifted = (
        None
        if truth.shift is None
        else (truth.shift[0], FrozenMap({k: truth.shift[1][k] for k in truth.stays}))
    )
    truth = attrs.evolve(truth, forward=FrozenMap({k: truth.forward[k] for k in truth.stays}), shift=shifted)
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)  # noqa: S311 - a simulation
    return _Play(truth, rng, start, days).run()


def _arguments(seed: object, start: object, days: object) -> list[Problem]:
    """The problems of *seed*, *start* and *days*."""
    problems = []
    if isinstance(seed, bool) or not isinstance(seed, int | random.Random):
        problems.append(c.wrong_type(seed, "an int seed or a random.Random").prefixed("seed"))
    problem = c.aware_datetime(start)
    if problem is not None:
        problems.append(problem.prefixed("start"))
    if isinstance(days, bool) or not isinstance(days, int):
        problems.append(c.wrong_type(days, "an int of days >= 1").prefixed("days"))
    elif days < 1:
        problems.append(Problem(path="days", code="range", message=f"{days} is not an int of days >= 1"))
    elif days > MAX_DAYS:
        msg = f"{c.show(days)} is more than {MAX_DAYS:,}, the most allowed"
        problems.append(Problem(path="days", code="limit", message=msg))
    return problems


def _good_days(days: object) -> bool:
    """Whether *days* passed its check (so a shift's day can be held to it)."""
    return isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= MAX_DAYS


def _room(start: dt.datetime, days: int, truth: CompanyTruth) -> Problem | None:
    """A problem when the days played, and the expected closes past them, overrun datetime."""
    reach = days + math.ceil(sum(truth.stays.values())) + 2 * SLIP_DAYS
    try:
        (canonical(start) + dt.timedelta(days=reach)).astimezone(start.tzinfo)
    except OverflowError:
        msg = f"{start.isoformat()} leaves no room for {days:,} days and the closes expected after"
        return Problem(path="start", code="range", message=msg)
    return None


def _grown_peak(start: dt.datetime, days: int, truth: CompanyTruth) -> Problem | None:
    """A problem when growth takes the creation rate past the most allowed within the days played."""
    peak, when = _peak(truth, start, days)
    if peak <= MAX_DEALS_PER_DAY:
        return None
    msg = (
        f"{truth.growth:g} a year grows {truth.deals_per_day:g} deals a day (x {max(truth.seasonality):g} at "
        f"the busiest month) to {peak:,.0f} a day by day {when:,.0f}, more than {MAX_DEALS_PER_DAY:,}, the "
        "most allowed; lower growth, deals_per_day or days"
    )
    return Problem(path="growth", code="limit", message=msg)


class _Play:
    """One run: the deals' paths drawn, then played through the engine in order of time."""

    def __init__(self, truth: CompanyTruth, rng: random.Random, start: dt.datetime, days: int) -> None:
        assert start.tzinfo is not None  # noqa: S101 - checked to be aware
        self.truth = truth
        self.rng = rng
        self.zone: dt.tzinfo = start.tzinfo
        self.start = canonical(start)
        self.local_start = start
        self.days = days
        self.stages = truth.stages
        self.stays = [truth.stays[k] for k in self.stages]
        self.forward = [truth.forward[k] for k in self.stages]
        # From the shift day on, exits use the chances after it (never, without a shift).
        self.shift_day = math.inf if truth.shift is None else float(truth.shift[0])
        self.shifted = self.forward if truth.shift is None else [truth.shift[1][k] for k in self.stages]
        self.pipeline = _pipeline(truth)
        self.minor = _minor(truth.amount_median)
        self.currency = truth.amount_median.currency
        self.horizon = dt.timedelta(days=math.fsum(self.stays))
        self.size_effect = truth.size_effect
        self.median = float(truth.amount_median.amount)
        self.push = truth.quarter_end / 2  # the chance a win of a quarter's first two months waits

    def deferred(self, t: float) -> float:
        """
        When a win the process makes *t* days after start is made: with chance
        :attr:`push`, when *t* is in a calendar quarter's first two months, at
        an instant uniform over its last month (drawn only then: no draw
        without a push).
        """
        local = self.when(t).astimezone(self.zone)
        if (local.month - 1) % 3 == 2 or not self.rng.random() < self.push:
            return t
        last = 3 * ((local.month - 1) // 3) + 3
        after = (local.year + 1, 1) if last == _MONTHS else (local.year, last + 1)
        if after[0] > dt.MAXYEAR:  # no quarter's end to wait for within the calendar
            return t
        a = _elapsed_days(self.local_start, dt.datetime(local.year, last, 1, tzinfo=self.zone))
        b = _elapsed_days(self.local_start, dt.datetime(*after, 1, tzinfo=self.zone))
        return self.rng.uniform(a, b)

    def log_size(self, deal: Opportunity) -> float:
        """The log of a deal's amount over the median: how far its size moves its chances."""
        assert deal.amount is not None  # noqa: S101 - every deal has one
        return math.log(float(deal.amount.amount) / self.median)

    def when(self, t: float) -> dt.datetime:
        return self.start + dt.timedelta(days=t)

    def created_times(self) -> list[float]:
        """
        The creation times, in days after start: a Poisson process of the
        monthly rate times the growth factor, thinned from its highest rate
        over the days played (the same draws as without growth when there is
        none).
        """
        months = _months(self.local_start, self.days)
        edges = [a for a, _, _ in months]
        rates = [self.truth.deals_per_day * self.truth.seasonality[m - 1] for _, _, m in months]
        peak, _ = _peak(self.truth, self.local_start, self.days)
        k = self.truth.growth_per_day
        times: list[float] = []
        if peak <= 0:
            return times
        rng, t = self.rng, 0.0
        while True:
            t += rng.expovariate(peak)
            if t >= self.days:
                return times
            rate = rates[bisect.bisect_right(edges, t) - 1]
            if k:
                rate *= math.exp(k * t)
            if rng.random() * peak < rate:
                times.append(t)

    def run(self) -> Company:
        actions: list[tuple[float, int, int, str, object]] = []
        deals: list[Opportunity] = []
        for n, t in enumerate(self.created_times()):
            deal = self.create(n, t)
            deals.append(deal)
            self.path(n, t, deal, actions)
        actions.sort(key=lambda a: (a[0], a[1], a[2]))
        events: list[Event] = []
        pipeline, actor = self.pipeline, _OWNER
        for t, n, _, kind, value in actions:
            deal, now = deals[n], self.when(t)
            if kind == "advance":
                deal, event = advance(deal, pipeline, now=now, actor=actor)
                events.append(event)
            elif kind == "win":
                deal, event = win(deal, pipeline, now=now, actor=actor)
                events.append(event)
            elif kind == "lose":
                deal, event = lose(deal, pipeline, reason=_LOST_REASON, now=now, actor=actor)
                events.append(event)
            elif kind == "amount":
                factor = value
                assert isinstance(factor, float)  # noqa: S101 - drawn below
                assert deal.amount is not None  # noqa: S101 - every deal has one
                minor = max(1, round(deal.amount.to_minor() * factor))
                deal, edits = edit(deal, now=now, actor=actor, amount=Money.from_minor(minor, self.currency))
                events.extend(edits)  # type: ignore[arg-type]  # an amount edit
            else:
                deal, edits = edit(deal, now=now, actor=actor, expected_close=value)  # type: ignore[arg-type]
                events.extend(edits)  # type: ignore[arg-type]  # a close date edit
            deals[n] = deal
        return Company(
            pipeline=pipeline,
            opportunities=tuple(deals),
            events=tuple(events),
            start=self.local_start,
            end=self.when(self.days).astimezone(self.zone),
            truth=self.truth,
        )

    def create(self, n: int, t: float) -> Opportunity:
        """Deal *n*, created *t* days after start: its amount drawn, its expected close set."""
        at = self.when(t)
        minor = max(1, round(self.minor * math.exp(self.truth.amount_sigma * self.rng.gauss(0.0, 1.0))))
        return Opportunity(
            id=f"d{n + 1:06d}",
            customer_id=f"c{n + 1:06d}",
            owner=_OWNER,
            pipeline=self.pipeline.key,
            stage=self.stages[0],
            created_at=at,
            stage_entered_at=at,
            amount=Money.from_minor(minor, self.currency),
            expected_close=(at + self.horizon).astimezone(self.zone).date(),
        )

    def path(self, n: int, t: float, deal: Opportunity, actions: list[Any]) -> None:
        """Deal *n*'s moves, slips and edit, drawn whole; those after the last day are dropped."""
        rng, created, last = self.rng, t, len(self.stages) - 1
        seq = itertools.count()
        kept: list[tuple[float, str, object]] = []
        i = 0
        while True:
            t += rng.expovariate(1.0 / self.stays[i])
            chance = (self.forward if t < self.shift_day else self.shifted)[i]
            if self.size_effect and 0 < chance < 1:
                chance = _sized(chance, self.size_effect * self.log_size(deal))
            forward = rng.random() < chance
            if forward and i < last:
                kept.append((t, "advance", None))
                i += 1
                continue
            if forward and self.push and t < self.days:
                t = self.deferred(t)
            kept.append((t, "win" if forward else "lose", None))
            break
        closed = t
        if rng.random() < self.truth.amount_edits:
            at = rng.uniform(created, closed)
            kept.append((at, "amount", 1.0 + rng.uniform(-EDIT_SPREAD, EDIT_SPREAD)))
        expected = deal.expected_close
        assert expected is not None  # noqa: S101 - set at creation
        while True:
            passes = _elapsed_days(self.local_start, _midnight_after(expected, self.zone))
            if passes >= min(closed, self.days) or not rng.random() < self.truth.slip:
                break
            expected += dt.timedelta(days=SLIP_DAYS)
            kept.append((max(passes, created), "close", expected))
        for at, kind, value in sorted(kept, key=lambda k: k[0]):
            if at < self.days:
                actions.append((at, n, next(seq), kind, value))


def _sized(chance: float, shift: float) -> float:
    """*chance* with its log-odds lowered by *shift*: ``1 / (1 + (1 - p) / p * e**shift)``."""
    odds_against = (1 - chance) / chance * math.exp(min(shift, _MAX_EXPONENT))
    return 1 / (1 + odds_against)


def _midnight_after(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The start of the day after *day*, in *zone*: when an expected close of *day* has passed."""
    after = day + dt.timedelta(days=1)
    return dt.datetime(after.year, after.month, after.day, tzinfo=zone)


def _minor(money: Money) -> float:
    """*money* in minor units, as a float (a median need not be a whole number of them)."""
    return float(money.amount) * 10.0**money.minor_units


def _pipeline(truth: CompanyTruth) -> Pipeline:
    """The company's pipeline: its open stages, each with the true chance to win, then won and lost."""
    stages = [
        Stage(
            key=key,
            label=key.replace("_", " ").capitalize(),
            probability=Decimal(f"{truth.p_won(key):.4f}"),
        )
        for key in truth.stages
    ]
    return Pipeline(
        key="company",
        label="Simulated company",
        stages=(
            *stages,
            Stage(key="won", label="Won", probability=1, outcome="won"),
            Stage(key="lost", label="Lost", probability=0, outcome="lost"),
        ),
        lost_reasons=(_LOST_REASON,),
    )
