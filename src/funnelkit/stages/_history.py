"""
A stage history from a table: the rows a CRM exports (deal, stage, when it
got there) as the stage-change events the engine would have emitted.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from .. import _checks as c
from .._reading import _key_problems
from .._time import canonical
from ..errors import Problem, ValidationError
from ._engine import StageChanged
from ._pipeline import Pipeline
from ._stage import MoveKind

#: The columns a history row may have; the first three are required.
COLUMNS = ("opportunity_id", "stage", "at", "actor", "lost_reason")

#: The most rows one call reads (a million deals with ten moves each).
MAX_ROWS = 10_000_000


def events_from_history(
    rows: Iterable[Mapping[str, Any]],
    pipeline: Pipeline,
    *,
    actor: str = "import",
    lost_reason: str | None = None,
) -> tuple[StageChanged, ...]:
    """
    The stage changes of a history table: one row per stage a deal entered,
    with its ``opportunity_id``, ``stage`` and ``at`` (an aware datetime),
    and optionally the ``actor`` and the ``lost_reason`` of a loss.  Each
    deal's first row is where it started; every later row is a move, named
    by the pipeline (advance, back, win, lose, reopen), with the deal's
    version (1, 2, ...) and the time it spent in the stage it left.  Rows
    may come in any order (a deal's rows are read in time order); *actor*
    and *lost_reason* fill the columns a row leaves out.

    Every problem is reported at once with its row and column
    (``rows[3].stage``).  The moves are not checked against the pipeline's
    allowed moves or milestones: a history records what happened.

    >>> import datetime as dt
    >>> from funnelkit.stages import default_pipeline
    >>> t = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    >>> rows = [
    ...     {"opportunity_id": "o-1", "stage": "contact", "at": t},
    ...     {"opportunity_id": "o-1", "stage": "needs_confirmed", "at": t + dt.timedelta(days=3)},
    ...     {"opportunity_id": "o-1", "stage": "lost", "at": t + dt.timedelta(days=5),
    ...      "lost_reason": "price"},
    ... ]
    >>> events = events_from_history(rows, default_pipeline())
    >>> [(e.kind.value, e.version, e.time_in_stage.days) for e in events]
    [('advance', 1, 3), ('lose', 2, 2)]

    Cost: O(r log r) for r rows (at most 10,000,000).
    """
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    problem = c.identifier(actor)
    if problem is not None:
        raise c.at("actor", problem)
    if lost_reason is not None:
        problem = c.name(lost_reason)
        if problem is not None:
            raise c.at("lost_reason", problem)
    c.require_iterable(rows, "row", "rows")
    by_deal, problems = _read_rows(rows, pipeline)
    events: list[StageChanged] = []
    for deal_id, history in by_deal.items():
        history.sort(key=lambda row: (row[2], row[0]))  # by time; ties in the table's order
        events.extend(_moves(deal_id, history, pipeline, actor, lost_reason, problems))
    if problems:
        raise ValidationError(sorted(problems, key=lambda p: _row_of(p.path)))
    return tuple(events)


Row = tuple[int, str, dt.datetime, str | None, str | None]  # index, stage, at, actor, lost reason


def _read_rows(
    rows: Iterable[Mapping[str, Any]], pipeline: Pipeline
) -> tuple[dict[str, list[Row]], list[Problem]]:
    """The rows checked one by one, grouped by deal; the problems of those that are not rows."""
    by_deal: dict[str, list[Row]] = {}
    problems: list[Problem] = []
    for i, given in enumerate(rows):
        if i >= MAX_ROWS:
            problems.append(Problem(path="rows", code="limit", message=f"more than {MAX_ROWS:,} rows"))
            break
        where = f"rows[{i}]"
        try:
            raw = c.to_mapping(given, where)  # a pandas Series (a DataFrame's row) reads too
        except ValidationError as e:
            problems.extend(e.problems)
            continue
        if not isinstance(raw, Mapping):
            problems.append(c.wrong_type(raw, "a row (a mapping of column to value)").prefixed(where))
            continue
        # an optional column left empty in a table (None, NaN): the default fills it
        raw = {k: v for k, v in raw.items() if not (k in COLUMNS[3:] and _blank(v))}
        mine = _row_problems(raw, pipeline)
        if mine:
            problems.extend(p.prefixed(where) for p in mine)
            continue
        at = canonical(raw["at"])
        by_deal.setdefault(raw["opportunity_id"], []).append(
            (i, raw["stage"], at, raw.get("actor"), raw.get("lost_reason"))
        )
    return by_deal, problems


def _blank(value: object) -> bool:
    """
    Whether a cell is empty: ``None``, or the missing-value markers of table
    libraries (a float NaN, pandas' ``NA`` and ``NaT``).
    """
    if value is None:
        return True
    if isinstance(value, float):
        return value != value  # noqa: PLR0124 - NaN
    return type(value).__name__ in ("NAType", "NaTType")


def _row_problems(raw: Mapping[Any, Any], pipeline: Pipeline) -> list[Problem]:
    """What is wrong with one row, by column."""
    problems = _key_problems(raw, required=COLUMNS[:3], allowed=COLUMNS)  # as any document's keys
    checks = {
        "opportunity_id": c.identifier,
        "at": c.aware_datetime,
        "actor": c.optional(c.identifier),
        "lost_reason": c.optional(c.name),
    }
    for column, check in checks.items():
        if column in raw:
            result = check(raw[column])
            if result is not None:
                problems.extend(c.as_problems(result, column))
    stage = raw.get("stage")
    if "stage" in raw and not (isinstance(stage, str) and stage in pipeline):
        problems.append(Problem(path="stage", code="reference", message=pipeline.routes.unknown(stage)))
    return problems


def _moves(  # noqa: PLR0917 - one deal's history and what fills its gaps
    deal_id: str,
    history: list[Row],
    pipeline: Pipeline,
    actor: str,
    lost_reason: str | None,
    problems: list[Problem],
) -> list[StageChanged]:
    """One deal's moves, from its rows in time order."""
    out = []
    for version, ((_, before, entered, _, _), (i, stage, at, who, why)) in enumerate(
        itertools.pairwise(history), 1
    ):
        where = f"rows[{i}]"
        try:
            kind = pipeline.routes.kind(before, stage)
        except ValidationError as e:
            problems.extend(
                Problem(path=f"{where}.stage", code=p.code, message=p.message) for p in e.problems
            )
            continue
        reason = (why or lost_reason) if kind is MoveKind.LOSE else None
        if kind is MoveKind.LOSE and reason is None:
            message = "missing; a loss needs a lost reason (the column, or lost_reason=...)"
            problems.append(Problem(path=f"{where}.lost_reason", code="missing", message=message))
            continue
        if at == entered:
            message = f"{at.isoformat()} is when {deal_id!r} entered {before!r}; a move takes some time"
            problems.append(Problem(path=f"{where}.at", code="order", message=message))
            continue
        out.append(
            StageChanged(
                opportunity_id=deal_id,
                pipeline=pipeline.key,
                kind=kind,
                from_stage=before,
                to_stage=stage,
                at=at,
                actor=who or actor,
                version=version,
                time_in_stage=at - entered,
                lost_reason=reason,
            )
        )
    return out


def _row_of(path: str) -> tuple[int, str]:
    """Sort key of a problem: its row number, then its path."""
    head = path.split("]", 1)[0]
    number = head.removeprefix("rows[")
    return (int(number), path) if number.isdigit() else (-1, path)
