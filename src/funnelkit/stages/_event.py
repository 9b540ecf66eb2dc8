"""
The stage engine's event: :class:`StageChanged`, one per move.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import ClassVar

import attrs

from .. import _checks as c
from .._checks import check
from .._records import record
from .._time import canonical
from ..errors import Problem
from . import _limits as lim
from ._stage import MoveKind


def _move_kind(value: MoveKind | str) -> MoveKind:
    return lim.member(MoveKind, value)


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return c.to_tuple(value)


@record
@attrs.frozen(kw_only=True)
class StageChanged(c.Checked):
    """
    An opportunity moved from one stage to another: who, when, and on what
    grounds.  Events are values a host persists; :func:`replay` turns the
    initial opportunity and its events back into the current one.

    *version* is the opportunity's version after the move; *time_in_stage* is
    how long it spent in *from_stage*; *bypassed* lists what an override let
    through (unmet requirements, the minimum dwell).
    """

    #: Its tag in documents (an event log mixes kinds of events).
    type_name: ClassVar[str] = "stage_changed"

    opportunity_id: str = attrs.field(metadata=check(c.identifier))
    pipeline: str = attrs.field(metadata=check(c.identifier))
    kind: MoveKind = attrs.field(metadata=check(c.member_of(MoveKind)), converter=_move_kind)
    from_stage: str = attrs.field(metadata=check(c.identifier))
    to_stage: str = attrs.field(metadata=check(c.identifier))
    at: dt.datetime = attrs.field(metadata=check(c.aware_datetime), converter=canonical)
    actor: str = attrs.field(metadata=check(c.identifier))
    version: int = attrs.field(metadata=check(c.non_negative_int), converter=c.to_int)
    time_in_stage: dt.timedelta = attrs.field(metadata=check(c.duration))
    lost_reason: str | None = attrs.field(default=None, metadata=check(c.optional(c.name)))
    override_reason: str | None = attrs.field(default=None, metadata=check(c.optional(c.name)))
    override_by: str | None = attrs.field(default=None, metadata=check(c.optional(c.identifier)))
    bypassed: tuple[str, ...] = attrs.field(
        default=(), metadata=check(c.items(c.name, tuple)), converter=_names
    )

    def _relations(self) -> list[Problem]:
        problems = []
        if (self.lost_reason is None) == (self.kind is MoveKind.LOSE):
            problems.append(
                Problem(
                    path="lost_reason",
                    code="conflict",
                    message="a lose event needs a lost reason, and only it",
                )
            )
        if (self.override_reason is None) != (self.override_by is None):
            missing = "override_reason" if self.override_reason is None else "override_by"
            problems.append(
                Problem(path=missing, code="missing", message="override reason and override by go together")
            )
        if self.bypassed and self.override_reason is None:
            problems.append(
                Problem(path="bypassed", code="conflict", message="only an override can bypass requirements")
            )
        if self.version < 1:
            problems.append(
                Problem(
                    path="version",
                    code="range",
                    message="0 cannot follow a move; versions start at 1 after one",
                )
            )
        return problems

    @property
    def hasty(self) -> bool:
        """
        Whether the deal left its stage by override, before its milestones
        were met or its minimum dwell had passed.
        """
        return bool(self.bypassed)
