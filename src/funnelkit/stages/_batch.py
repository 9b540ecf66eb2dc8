"""
The stage engine in bulk: many deals moved at one time, for back-fills and
simulations.

:func:`advance_many` makes, for each deal, exactly the move :func:`advance`
makes, with the same checks and the same refusals; what it saves is the
repeated work: the shared arguments are checked once, and the activities are
sorted by deal once, so each move reads its own deal's activities instead of
the host's whole log (O(activities + deals) in all, not their product).  A
refused deal is reported and stays as it was; the others move.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .. import _checks as c
from .._checks import check
from .._report import Report
from .._time import canonical
from ..entities import Activity, KeyPerson, Opportunity
from ..errors import CODES, FunnelkitError
from ._engine import advance
from ._event import StageChanged
from ._pipeline import Pipeline

_problem_code = c.one_of(tuple(CODES), "a problem code")


@attrs.frozen(kw_only=True)
class Refusal(c.Checked):
    """
    Why one deal of a batch did not move: its place in the input, its id, the
    error's class name, its code (one of :data:`funnelkit.errors.CODES`) and
    its message.
    """

    index: int = attrs.field(metadata=check(c.non_negative_int), converter=c.to_int)
    opportunity_id: str = attrs.field(metadata=check(c.identifier))
    error: str = attrs.field(metadata=check(c.identifier))
    code: str = attrs.field(metadata=check(_problem_code))
    message: str = attrs.field(metadata=check(c.text))


def _code(error: FunnelkitError) -> str:
    problems = getattr(error, "problems", None)
    if problems:
        return str(problems[0].code)
    return str(getattr(error, "code", "state"))


@attrs.frozen(kw_only=True, repr=False)
class Moves(Report):
    """
    What :func:`advance_many` did: every deal after the batch, in input order
    (moved or as it was), the events of the moves made, in that order, and
    the refusals.

    It does not merge: it is what one batch of moves did, deal by deal.
    Batches of other deals are simply concatenated.
    """

    opportunities: tuple[Opportunity, ...]
    events: tuple[StageChanged, ...]
    refused: tuple[Refusal, ...]

    def _summary(self) -> str:
        return (
            f"{c.counted(len(self.opportunities), 'deal')}: {len(self.events):,} moved, "
            f"{len(self.refused):,} refused"
        )

    def _rows(self) -> Iterable[Mapping[str, object]]:
        refused = {r.index: r for r in self.refused}
        for i, opp in enumerate(self.opportunities):
            r = refused.get(i)
            yield {
                "opportunity_id": opp.id,
                "stage": opp.stage,
                "version": opp.version,
                "refused": None if r is None else r.code,
                "why": None if r is None else r.message,
            }


def _people(key_persons: object) -> dict[str, KeyPerson] | Mapping[str, KeyPerson]:
    """
    The key persons by id, each checked to be a KeyPerson (once for the batch).
    """
    if isinstance(key_persons, Mapping) or c.is_mapping_like(key_persons):
        people = c.to_mapping(key_persons, "key_persons")
        for k, kp in people.items():
            if not isinstance(kp, KeyPerson):
                raise c.at(f"key_persons[{c.show(k)}]", c.wrong_type(kp, "a KeyPerson"))
        return dict(people)
    return {kp.id: kp for kp in c.each_of(key_persons, KeyPerson, "key_persons")}


def advance_many(
    opps: Iterable[Opportunity],
    pipeline: Pipeline,
    *,
    now: dt.datetime,
    actor: str,
    to: str | None = None,
    activities: Iterable[Activity] = (),
    key_persons: Iterable[KeyPerson] | Mapping[str, KeyPerson] = (),
    progress: Callable[[int, int], Any] | None = None,
) -> Moves:
    """
    Move each of *opps* as ``advance(opp, pipeline, now=now, actor=actor,
    to=to, activities=..., key_persons=key_persons)`` would, at the one time
    *now*: each deal reads only its own activities, taken from *activities*
    (the host's whole log may be given).  A deal the engine refuses (a move
    not allowed, a milestone not met, a deal of another pipeline) stays as
    it was and is listed in ``refused`` with its index, id, error and code;
    a wrong argument of the batch itself (*pipeline*, *now*, *actor*, an
    item that is not an Activity or a KeyPerson, or not an Opportunity) is
    raised before anything moves.  *progress*, if given, is called as
    ``progress(done, total)`` after every 1,000 deals and at the end.

    >>> import datetime as dt
    >>> from funnelkit import Activity, KeyPerson, Opportunity
    >>> from funnelkit.stages import default_pipeline
    >>> t0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    >>> deals = [Opportunity(id=f"o{i}", customer_id="c", owner="r", pipeline="default",
    ...                      stage="contact", created_at=t0, stage_entered_at=t0,
    ...                      key_person_ids=["dm"]) for i in range(3)]
    >>> people = [KeyPerson(id="dm", customer_id="c", name="Dee", role="decision_maker")]
    >>> visits = [Activity(id=f"v{i}", kind="visit", at=t0, rep_id="r", customer_id="c",
    ...                    opportunity_id=f"o{i}", purpose="intro", needs_found="uptime")
    ...           for i in (0, 2)]
    >>> moves = advance_many(deals, default_pipeline(), now=t0 + dt.timedelta(days=1), actor="r",
    ...                      activities=visits, key_persons=people)
    >>> moves
    <Moves: 3 deals: 2 moved, 1 refused>
    >>> [o.stage for o in moves.opportunities]
    ['needs_confirmed', 'contact', 'needs_confirmed']
    >>> r = moves.refused[0]
    >>> r.index, r.opportunity_id, r.error, r.code
    (1, 'o1', 'MilestoneNotMet', 'state')

    Cost: O(deals + activities + key persons), plus each move's requirements.
    """
    deals = list(c.each_of(opps, Opportunity, "opps"))
    c.require(pipeline, Pipeline, "a Pipeline", "pipeline")
    problem = c.aware_datetime(now)
    if problem is not None:
        raise c.at("now", problem)
    now = canonical(now)
    problem = c.identifier(actor)
    if problem is not None:
        raise c.at("actor", problem)
    if to is not None and type(to) is not str:
        raise c.at("to", c.wrong_type(to, "a stage key"))
    problem = c.progress_problem(progress)
    if problem is not None:
        raise c.at("progress", problem)
    people = _people(key_persons)
    mine: dict[str, list[Activity]] = {}
    for a in c.each_of(activities, Activity, "activities"):
        if a.opportunity_id is not None:  # an activity of no deal counts for none
            mine.setdefault(a.opportunity_id, []).append(a)
    out: list[Opportunity] = []
    events: list[StageChanged] = []
    refused: list[Refusal] = []
    for i, opp in enumerate(deals):
        try:
            moved, event = advance(
                opp,
                pipeline,
                now=now,
                actor=actor,
                to=to,
                activities=mine.get(opp.id, ()),
                key_persons=people,
            )
        except FunnelkitError as e:  # this deal's move is refused; the batch's arguments were checked above
            refused.append(_refusal(i, opp, e))
            out.append(opp)
        else:
            out.append(moved)
            events.append(event)
        if progress is not None and ((i + 1) % 1000 == 0 or i + 1 == len(deals)):
            progress(i + 1, len(deals))
    return Moves(opportunities=tuple(out), events=tuple(events), refused=tuple(refused))


def _refusal(index: int, opp: Opportunity, error: FunnelkitError) -> Refusal:
    return Refusal(
        index=index, opportunity_id=opp.id, error=type(error).__name__, code=_code(error), message=str(error)
    )
