"""
Export a pipeline to python-statemachine and to Mermaid.

python-statemachine is imported when a chart's names are first needed (by
:func:`to_statechart`, :func:`chart_names` and :func:`to_mermaid`, whose ids
are the chart's), never when :mod:`funnelkit.stages` is imported.
"""

from __future__ import annotations

import decimal
import functools
import keyword
import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .. import _checks as c
from ._pipeline import Pipeline
from ._stage import StageOutcome

if TYPE_CHECKING:
    from statemachine import StateMachine

#: Exact for any probability (at most 20 decimal places), whatever the caller's decimal context.
_CONTEXT = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])


def _pipeline(value: object) -> Pipeline:
    return c.require(value, Pipeline, "a Pipeline", "pipeline")


_NOT_IDENT = re.compile(r"\W")


def _ident(key: str) -> str:
    name = _NOT_IDENT.sub("_", key)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = f"s_{name}"
    return name


@functools.cache
def _reserved() -> frozenset[str]:
    """
    Names a state or event may not take: ``StateMachine``'s own attributes
    and Python's keywords.
    """
    from statemachine import StateMachine  # only the chart exports need it

    return frozenset(dir(StateMachine)) | frozenset(keyword.kwlist)


def _free(name: str, taken: set[str]) -> str:
    reserved = _reserved()
    while name in taken or name in reserved or name.startswith("_"):
        name = name + "_" if not name.startswith("_") else "s" + name
    taken.add(name)
    return name


def chart_names(pipeline: Pipeline) -> tuple[dict[str, str], dict[str, str]]:
    """
    The python-statemachine state id and event id of each stage key.

    Keys that are not Python identifiers are made into ones; names that
    would clash with each other or with ``StateMachine``'s own attributes
    (``send``, ``states``, ...) get a trailing ``_``.  The event that moves a
    machine to stage *k* is ``to_<state id of k>`` unless that clashes too.

    Cost: O(stages).
    """
    _pipeline(pipeline)
    taken: set[str] = set()
    states = {s.key: _free(_ident(s.key), taken) for s in pipeline.stages}
    events = {key: _free(f"to_{state}", taken) for key, state in states.items()}
    return states, events


def to_statechart(pipeline: Pipeline) -> type[StateMachine]:
    """
    A python-statemachine class with one state per stage and one event per
    target stage (``to_<stage>``), allowing exactly the pipeline's moves.
    ``Chart.funnelkit_events`` maps each stage key to its event id (see
    :func:`chart_names` for keys that are not plain identifiers).

    Milestones are not part of the chart: funnelkit's engine checks them.
    Won stages are final; lost stages are final unless reopening is allowed.

    >>> from funnelkit.stages import default_pipeline
    >>> Chart = default_pipeline().to_statechart()
    >>> deal = Chart()
    >>> deal.current_state_value
    'contact'
    >>> deal.send("to_needs_confirmed")
    >>> deal.current_state_value
    'needs_confirmed'

    Cost: O(stages + moves), plus python-statemachine's own.
    """
    from statemachine import State, StateMachine  # only this export needs it

    names, events = chart_names(pipeline)
    first = pipeline.first.key
    states: dict[str, State] = {}
    for s in pipeline.stages:
        final = not pipeline.routes.moves.get(s.key)
        states[s.key] = State(
            s.label,
            value=s.key,
            initial=s.key == first,
            final=final and s.outcome is not StageOutcome.OPEN,
        )
    body: dict[str, Any] = {names[k]: st for k, st in states.items()}
    into: dict[str, list[str]] = {k: [] for k in pipeline.keys}
    for src in pipeline.keys:
        for dst in pipeline.routes.moves.get(src, ()):
            into[dst].append(src)
    for target, sources in into.items():
        if not sources:
            continue
        transitions = states[sources[0]].to(states[target])
        for src in sources[1:]:
            transitions |= states[src].to(states[target])
        body[events[target]] = transitions
    class_name = "".join(part.capitalize() for part in _ident(pipeline.key).split("_")) + "Chart"
    body["__doc__"] = f"python-statemachine chart of funnelkit pipeline {pipeline.key!r}."
    body["__module__"] = __name__
    body["funnelkit_states"] = MappingProxyType(names)
    body["funnelkit_events"] = MappingProxyType(events)
    return type(class_name, (StateMachine,), body)


def to_mermaid(pipeline: Pipeline) -> str:
    """
    A Mermaid ``stateDiagram-v2`` of the pipeline, with each stage's label and
    probability.

    >>> from funnelkit.stages import default_pipeline
    >>> print(default_pipeline().to_mermaid().splitlines()[1])
        state "Establish contact (10%)" as contact

    Cost: O(stages + moves).
    """
    names, _ = chart_names(pipeline)
    lines = ["stateDiagram-v2"]
    for s in pipeline.stages:
        pct = s.probability.scaleb(2, _CONTEXT).normalize(_CONTEXT)
        label = s.label.replace('"', "'")
        lines.append(f'    state "{label} ({pct:f}%)" as {names[s.key]}')
    lines.append(f"    [*] --> {names[pipeline.first.key]}")
    for src in pipeline.keys:
        for dst in pipeline.routes.moves.get(src, ()):
            lines.append(f"    {names[src]} --> {names[dst]}")
    for s in pipeline.stages:
        if s.outcome is not StageOutcome.OPEN and not pipeline.routes.moves.get(s.key):
            lines.append(f"    {names[s.key]} --> [*]")
    return "\n".join(lines)
