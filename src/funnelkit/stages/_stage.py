"""
Stages: where a deal can be, its probability, forecast category and exit
requirements, and the kinds of moves between stages.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from .. import _checks as c
from .._checks import check
from ..entities import ForecastCategory
from ..errors import Problem
from . import _limits as lim
from ._requirements import Requirement, check_days


class StageOutcome(enum.StrEnum):
    """
    Whether a stage is still in play, or where a deal ends.
    """

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class MoveKind(enum.StrEnum):
    """
    The kind of a stage change.
    """

    ADVANCE = "advance"
    BACK = "back"
    WIN = "win"
    LOSE = "lose"
    REOPEN = "reopen"


class ProbabilityCheck(enum.StrEnum):
    """
    What to do when probabilities fall along the forward path.
    """

    ERROR = "error"
    WARN = "warn"
    OFF = "off"


def _outcome(value: StageOutcome | str) -> StageOutcome:
    return lim.member(StageOutcome, value)


def _category(value: ForecastCategory | str) -> ForecastCategory:
    return lim.member(ForecastCategory, value)


def _default_category(self: Stage) -> ForecastCategory:
    if self.outcome is StageOutcome.WON:
        return ForecastCategory.CLOSED
    if self.outcome is StageOutcome.LOST:
        return ForecastCategory.OMITTED
    return ForecastCategory.PIPELINE


def _probability(value: Decimal | float | str) -> Decimal:
    return c.to_decimal(value)


def _check_probability(value: object) -> Problem | None:
    """
    A probability in [0, 1], in plain digits with at most 20 decimal places,
    so that it is written and read back as it is.
    """
    problem = c.probability(value)
    if problem is None and isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if not isinstance(exponent, int) or not -lim.MAX_PLACES <= exponent <= 0:
            return c.bad(
                "format",
                f"{c.show(value)} is not in plain digits with at most {lim.MAX_PLACES} decimal places; "
                "write a probability such as '0.25'",
            )
    return problem


def _requirements(value: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return lim.to_tuple(value)  # type: ignore[no-any-return]


def _positive_days(value: object) -> Problem | None:
    problem = check_days(value)
    if problem is None and value == 0:
        return c.bad("range", "0 is not positive; expected a number of days >= 1")
    return problem


#: What a closed stage's probability and forecast category must be.
_CLOSED = {StageOutcome.WON: (1, ForecastCategory.CLOSED), StageOutcome.LOST: (0, ForecastCategory.OMITTED)}


@attrs.frozen(kw_only=True)
class Stage(c.Checked):
    """
    One step of a pipeline.

    *probability* is the chance of winning a deal at this stage, in [0, 1]
    with at most 20 decimal places;
    *category* defaults to ``pipeline`` for open stages, ``closed`` for won
    and ``omitted`` for lost.  A deal is stalled once it has spent more than
    *stall_after_days* (at most 36,500) in the stage; leaving before *min_dwell* makes the move
    hasty.  *requirements* must all be met before a deal may leave the stage
    forward (backward moves and losing need none).
    """

    key: str = attrs.field(metadata=check(c.identifier))
    label: str = attrs.field(metadata=check(c.name))
    probability: Decimal = attrs.field(metadata=check(_check_probability), converter=_probability)
    outcome: StageOutcome = attrs.field(
        default=StageOutcome.OPEN, metadata=check(c.member_of(StageOutcome)), converter=_outcome
    )
    category: ForecastCategory = attrs.field(
        default=attrs.Factory(_default_category, takes_self=True),
        metadata=check(c.member_of(ForecastCategory)),
        converter=_category,
    )
    stall_after_days: int | None = attrs.field(
        default=None, metadata=check(c.optional(_positive_days)), converter=c.to_optional_int
    )
    min_dwell: dt.timedelta | None = attrs.field(default=None, metadata=check(c.optional(c.duration)))
    requirements: tuple[Requirement, ...] = attrs.field(
        default=(),
        metadata=check(lim.limited(c.items(c.instance_of(Requirement, "a Requirement"), tuple))),
        converter=_requirements,
    )
    description: str | None = attrs.field(default=None, metadata=check(c.optional(c.text)))

    def _relations(self) -> list[Problem]:
        problems = []
        closed = _CLOSED.get(self.outcome)
        if closed is not None:
            probability, category = closed
            outcome = self.outcome.value
            if self.probability != probability:
                message = f"{self.probability} on a {outcome} stage; it must be {probability}"
                problems.append(Problem(path="probability", code="conflict", message=message))
            if self.category is not category:
                message = f"{self.category.value!r} on a {outcome} stage; it must be {category.value!r}"
                problems.append(Problem(path="category", code="conflict", message=message))
        if self.outcome is not StageOutcome.WON and self.category is ForecastCategory.CLOSED:
            problems.append(
                Problem(path="category", code="conflict", message="'closed' is only for won stages")
            )
        if self.outcome is not StageOutcome.OPEN:
            for name in ("stall_after_days", "min_dwell"):
                if getattr(self, name) is not None:
                    problems.append(
                        Problem(
                            path=name,
                            code="conflict",
                            message=f"set on a {self.outcome.value} stage; deals do not stay there",
                        )
                    )
            if self.requirements:
                problems.append(
                    Problem(
                        path="requirements",
                        code="conflict",
                        message=f"set on a {self.outcome.value} stage; only open stages have exits",
                    )
                )
        return problems

    @property
    def is_open(self) -> bool:
        return self.outcome is StageOutcome.OPEN

    def to_dict(self) -> dict[str, Any]:
        """
        The stage as a JSON-safe document: the same as ``funnelkit.to_dict(self)``.

        Cost: O(size of its requirements).
        """
        from ..documents import to_dict

        return to_dict(self)  # type: ignore[no-any-return]
