"""Tests for the python-statemachine and Mermaid exports, and a stateful agreement test."""

import datetime as dt
import itertools

import pytest
import statemachine.exceptions
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from funnelkit import Opportunity, OpportunityStatus
from funnelkit.errors import TransitionNotAllowed
from funnelkit.stages import (
    Override,
    Pipeline,
    Stage,
    StageOutcome,
    advance,
    default_pipeline,
    lose,
    reopen,
    replay,
    win,
)
from funnelkit.stages._statechart import chart_names

T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def test_chart_of_the_default_pipeline():
    """One state per stage, contact initial, won final, lost not final (reopening is allowed)."""
    chart = default_pipeline().to_statechart()
    states = {s.value: s for s in chart.states}
    assert list(states) == [s.key for s in default_pipeline().stages]
    assert states["contact"].initial
    assert states["won"].final
    assert not states["lost"].final
    machine = chart()
    machine.send("to_needs_confirmed")
    with pytest.raises(statemachine.exceptions.TransitionNotAllowed):
        machine.send("to_won")
    machine.send("to_lost")
    machine.send("to_proposal")
    assert machine.current_state_value == "proposal"


def test_keys_that_are_not_identifiers():
    """Stage keys like 'closed-won' and 'class' become safe state names."""
    p = Pipeline(
        key="enterprise-2026",
        label="E",
        stages=[
            Stage(key="1st-call", label="First call", probability="0.1"),
            Stage(key="class", label="Class", probability="0.5"),
            Stage(key="closed-won", label="Won", probability=1, outcome="won"),
            Stage(key="closed-lost", label="Lost", probability=0, outcome="lost"),
        ],
    )
    names, events = chart_names(p)
    assert names == {
        "1st-call": "s_1st_call",
        "class": "s_class",
        "closed-won": "closed_won",
        "closed-lost": "closed_lost",
    }
    chart = p.to_statechart()
    assert chart.__name__ == "Enterprise2026Chart"
    machine = chart()
    machine.send(events["class"])
    assert machine.current_state_value == "class"
    assert chart.funnelkit_events == events


def test_keys_that_clash_with_events_or_the_machine():
    """Stages named 'b' and 'to_b', or 'send' and 'states', still make a working chart."""
    p = Pipeline(
        key="clash",
        label="C",
        stages=[
            Stage(key="b", label="B", probability="0.1"),
            Stage(key="to_b", label="To B", probability="0.2"),
            Stage(key="send", label="Send", probability="0.3"),
            Stage(key="states", label="States", probability="0.4"),
            Stage(key="won", label="Won", probability=1, outcome="won"),
            Stage(key="lost", label="Lost", probability=0, outcome="lost"),
        ],
    )
    chart = p.to_statechart()
    assert [s.value for s in chart.states] == list(p.keys)
    assert dict(chart.funnelkit_states) == {
        "b": "b",
        "to_b": "to_b",
        "send": "send_",
        "states": "states_",
        "won": "won",
        "lost": "lost",
    }
    assert dict(chart.funnelkit_events) == {
        "b": "to_b_",  # 'to_b' is a state already
        "to_b": "to_to_b",
        "send": "to_send_",
        "states": "to_states_",
        "won": "to_won",
        "lost": "to_lost",
    }
    machine = chart()
    for key in ("to_b", "send", "states", "won"):
        machine.send(chart.funnelkit_events[key])
        assert machine.current_state_value == key


def test_states_carry_labels_and_the_chart_says_what_it_is():
    """Each state is named by its stage's label; the first is initial, closed stages final; a docstring."""
    p = Pipeline(
        key="small",
        label="S",
        stages=[
            Stage(key="_intro", label="Intro", probability="0.1"),
            Stage(key="pitch", label="Pitch", probability="0.5"),
            Stage(key="won", label="Won!", probability=1, outcome="won"),
            Stage(key="lost", label="Lost", probability=0, outcome="lost"),
        ],
    )
    chart = p.to_statechart()
    assert [(s.id, s.name, s.value, s.initial, s.final) for s in chart.states] == [
        ("s_intro", "Intro", "_intro", True, False),  # a leading underscore would be private
        ("pitch", "Pitch", "pitch", False, False),
        ("won", "Won!", "won", False, True),
        ("lost", "Lost", "lost", False, True),  # no reopening in this pipeline
    ]
    assert chart.__doc__ == "python-statemachine chart of funnelkit pipeline 'small'."
    assert chart.__module__ == "funnelkit.stages._statechart"
    assert chart.funnelkit_states["_intro"] == "s_intro"
    assert chart().current_state_value == "_intro"


def test_mermaid():
    """The Mermaid diagram lists every stage with its probability and every move."""
    text = default_pipeline().to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert '    state "Selected (75%)" as selected' in lines
    assert "    [*] --> contact" in lines
    assert "    negotiation --> won" in lines
    assert "    lost --> proposal" in lines
    assert "    won --> [*]" in lines
    assert "    lost --> [*]" not in lines  # lost can be reopened


KEYS = ["s0", "to_s0", "send", "1st", "class", "states", "qualify", "quote"]


@st.composite
def pipelines(draw):
    """
    Random valid pipelines: 1-5 open stages with awkward keys, 1-2 won and 1-2 lost stages
    anywhere in the list, and either flags or explicit transitions (built to be valid).
    """
    n_open = draw(st.integers(1, 5))
    keys = draw(st.permutations(KEYS))[:n_open]
    probs = sorted(draw(st.lists(st.integers(0, 99), min_size=n_open, max_size=n_open)))
    opened = [
        Stage(key=k, label=k.upper(), probability=f"0.{p:02d}") for k, p in zip(keys, probs, strict=True)
    ]
    won = [
        Stage(key=f"won{i}", label="Won", probability=1, outcome="won")
        for i in range(draw(st.integers(1, 2)))
    ]
    lost = [
        Stage(key=f"lost{i}", label="Lost", probability=0, outcome="lost")
        for i in range(draw(st.integers(1, 2)))
    ]
    stages = opened + won
    for stage in lost:  # lost stages may stand anywhere after the first
        stages.insert(draw(st.integers(1, len(stages))), stage)
    if draw(st.booleans()):
        chain = [s.key for s in opened] + [won[0].key]
        pairs = set(itertools.pairwise(chain))
        for w in won[1:]:
            pairs.add((draw(st.sampled_from([s.key for s in opened])), w.key))
        for lo in lost:
            pairs.add((draw(st.sampled_from([s.key for s in opened])), lo.key))
        sources = [s.key for s in opened + lost]
        targets = [s.key for s in opened]
        extra = draw(st.lists(st.tuples(st.sampled_from(sources), st.sampled_from(targets)), max_size=6))
        pairs |= {(a, b) for a, b in extra if a != b}
        kwargs = {"transitions": sorted(pairs)}
    else:
        kwargs = {
            "allow_skip": draw(st.booleans())
            or len(won) > 1,  # a second won stage needs a skip to be reached
            "allow_backward": draw(st.booleans()),
            "allow_reopen": draw(st.booleans()),
        }
    return Pipeline(key="rand", label="Random", stages=stages, **kwargs)


def documented_rule(pipeline, src, dst):
    """The move rules as the Pipeline docstring states them, written out independently."""
    if pipeline.transitions is not None:
        return (src, dst) in set(pipeline.transitions)
    stage_of = {s.key: s for s in pipeline.stages}
    a, b = stage_of[src], stage_of[dst]
    forward = [s.key for s in pipeline.stages if s.outcome is not StageOutcome.LOST]
    if a.outcome is StageOutcome.WON:
        return False
    if a.outcome is StageOutcome.LOST:
        return pipeline.allow_reopen and b.outcome is StageOutcome.OPEN
    if b.outcome is StageOutcome.LOST:
        return True
    i, j = forward.index(src), forward.index(dst)
    if j == i + 1:
        return True
    if j > i + 1:
        return pipeline.allow_skip
    return j < i and pipeline.allow_backward and b.outcome is StageOutcome.OPEN


class EngineAgreesWithStatechart(RuleBasedStateMachine):
    """Random moves: funnelkit's engine and the generated python-statemachine agree on what is allowed."""

    @initialize(pipeline=pipelines())
    def start(self, pipeline):
        self.pipeline = pipeline
        _, self.chart_events = chart_names(pipeline)
        self.machine = pipeline.to_statechart()()
        first = pipeline.first.key
        self.initial = Opportunity(
            id="o",
            customer_id="c",
            owner="r",
            pipeline="rand",
            stage=first,
            created_at=T0,
            stage_entered_at=T0,
        )
        self.opp = self.initial
        self.events = []
        self.now = T0

    @rule(pick=st.integers(0, 9))
    def move(self, pick):
        key = self.pipeline.keys[pick % len(self.pipeline.keys)]
        self.now += dt.timedelta(hours=1)
        stage_of = {s.key: s for s in self.pipeline.stages}
        current, goal = stage_of[self.opp.stage], stage_of[key]
        common = {"now": self.now, "actor": "r", "expected_version": self.opp.version}
        try:
            if current.outcome is StageOutcome.LOST:
                moved, event = reopen(self.opp, self.pipeline, to=key, **common)
            elif goal.outcome is StageOutcome.LOST:
                moved, event = lose(self.opp, self.pipeline, to=key, reason="other", **common)
            elif goal.outcome is StageOutcome.WON:
                moved, event = win(
                    self.opp, self.pipeline, to=key, override=Override(reason="t", by="m"), **common
                )
            else:
                moved, event = advance(
                    self.opp, self.pipeline, to=key, override=Override(reason="t", by="m"), **common
                )
            engine_allowed = True
        except TransitionNotAllowed:
            engine_allowed = False
        try:
            self.machine.send(self.chart_events[key])
            chart_allowed = True
        except statemachine.exceptions.TransitionNotAllowed:
            chart_allowed = False
        assert engine_allowed == chart_allowed, (self.opp.stage, key)
        assert engine_allowed == documented_rule(self.pipeline, self.opp.stage, key), (self.opp.stage, key)
        if engine_allowed:
            self.opp = moved
            self.events.append(event)

    @invariant()
    def same_state(self):
        assert self.machine.current_state_value == self.opp.stage

    @invariant()
    def history_is_consistent(self):
        assert self.opp.version == len(self.events)
        assert self.opp.stage in self.pipeline
        outcome = self.pipeline.stage(self.opp.stage).outcome
        assert (
            self.opp.status
            is {
                StageOutcome.OPEN: OpportunityStatus.OPEN,
                StageOutcome.WON: OpportunityStatus.WON,
                StageOutcome.LOST: OpportunityStatus.LOST,
            }[outcome]
        )
        assert replay(self.initial, self.events) == self.opp


EngineAgreesWithStatechart.TestCase.settings = settings(
    max_examples=60, stateful_step_count=20, deadline=None
)
TestEngineAgreesWithStatechart = EngineAgreesWithStatechart.TestCase
