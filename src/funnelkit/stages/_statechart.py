"""
Export a pipeline to python-statemachine and to Mermaid.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from statemachine import State, StateMachine

from ._pipeline import Pipeline, StageOutcome

_NOT_IDENT = re.compile(r"\W")


def _ident(key: str) -> str:
    name = _NOT_IDENT.sub("_", key)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = f"s_{name}"
    return name


def state_names(pipeline: Pipeline) -> dict[str, str]:
    """
    The python-statemachine state id of each stage key (keys that are not
    Python identifiers are made into ones).
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for s in pipeline.stages:
        name = _ident(s.key)
        while name in taken:
            name += "_"
        taken.add(name)
        names[s.key] = name
    return names


def event_name(state: str) -> str:
    """
    The event that moves a machine to *state* (a state id).
    """
    return f"to_{state}"


def to_statechart(pipeline: Pipeline) -> type[StateMachine]:
    """
    A python-statemachine class with one state per stage and one event per
    target stage (``to_<stage>``), allowing exactly the pipeline's moves.

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
    """
    names = state_names(pipeline)
    first = pipeline.first.key
    states: dict[str, State] = {}
    for s in pipeline.stages:
        final = not pipeline._moves.get(s.key)  # noqa: SLF001
        states[s.key] = State(
            s.label,
            value=s.key,
            initial=s.key == first,
            final=final and s.outcome is not StageOutcome.OPEN,
        )
    body: dict[str, Any] = {names[k]: st for k, st in states.items()}
    for target in pipeline.keys:
        sources = [src for src in pipeline.keys if pipeline.allows(src, target)]
        if not sources:
            continue
        transitions = states[sources[0]].to(states[target])
        for src in sources[1:]:
            transitions |= states[src].to(states[target])
        body[event_name(names[target])] = transitions
    class_name = "".join(part.capitalize() for part in _ident(pipeline.key).split("_")) + "Chart"
    body["__doc__"] = f"python-statemachine chart of funnelkit pipeline {pipeline.key!r}."
    body["__module__"] = __name__
    return type(class_name, (StateMachine,), body)


def to_mermaid(pipeline: Pipeline) -> str:
    """
    A Mermaid ``stateDiagram-v2`` of the pipeline, with each stage's label and
    probability.

    >>> from funnelkit.stages import default_pipeline
    >>> print(default_pipeline().to_mermaid().splitlines()[1])
        state "Establish contact (10%)" as contact
    """
    names = state_names(pipeline)
    lines = ["stateDiagram-v2"]
    for s in pipeline.stages:
        pct = (s.probability * 100).normalize()
        label = s.label.replace('"', "'")
        lines.append(f'    state "{label} ({pct:f}%)" as {names[s.key]}')
    lines.append(f"    [*] --> {names[pipeline.first.key]}")
    for src in pipeline.keys:
        for dst in pipeline._moves.get(src, ()):  # noqa: SLF001
            lines.append(f"    {names[src]} --> {names[dst]}")
    for s in pipeline.stages:
        if s.outcome is not StageOutcome.OPEN and not pipeline._moves.get(s.key):  # noqa: SLF001
            lines.append(f"    {names[s.key]} --> [*]")
    return "\n".join(lines)
