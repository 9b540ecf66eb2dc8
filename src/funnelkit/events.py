"""
The events funnelkit's engines emit, as one type for an event log.

An engine takes a state, an input and "now", and returns a new state plus
events: a :class:`~funnelkit.stages.StageChanged` when a deal moves, an
:class:`~funnelkit.stages.AmountChanged`, a
:class:`~funnelkit.stages.CloseDateChanged` or a
:class:`~funnelkit.stages.CategoryChanged` when a rep edits one, a
:class:`~funnelkit.assignment.Decision` when a lead is routed, an
:class:`~funnelkit.assignment.OwnerChanged` when a record changes hands, a
:class:`~funnelkit.forecast.ForecastCall` when a rep or a manager submits a
forecast call (:func:`~funnelkit.forecast.submit_call`), a
:class:`~funnelkit.duplicates.Merged` when duplicate records are folded
into one (:func:`~funnelkit.duplicates.merge`).  A
host appends them to one log; each event's document carries its ``"type"``,
so the whole log reads back in one call:

>>> import datetime as dt, json
>>> from funnelkit import from_dict, to_dict
>>> from funnelkit.assignment import Decision
>>> from funnelkit.stages import MoveKind, StageChanged
>>> at = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
>>> log = [
...     Decision(lead_id="l-1", rep_id="ann", by="round_robin", reason="next in turn", at=at),
...     StageChanged(
...         opportunity_id="o-1", pipeline="b2b", kind=MoveKind.ADVANCE, from_stage="lead",
...         to_stage="qualified", at=at, actor="ann", version=1, time_in_stage=dt.timedelta(days=2),
...     ),
... ]
>>> text = json.dumps(to_dict(log))
>>> [event["type"] for event in json.loads(text)]
['decision', 'stage_changed']
>>> from_dict(list[Event], json.loads(text)) == log
True
"""

from __future__ import annotations

from typing import TypeAlias

from .assignment import Decision, OwnerChanged
from .duplicates import Merged
from .forecast import ForecastCall
from .stages import AmountChanged, CategoryChanged, CloseDateChanged, StageChanged

__all__ = ["Event"]

#: Any event an engine emits; ``from_dict(list[Event], data)`` reads a mixed log.
Event: TypeAlias = (
    StageChanged
    | AmountChanged
    | CloseDateChanged
    | CategoryChanged
    | Decision
    | OwnerChanged
    | ForecastCall
    | Merged
)
