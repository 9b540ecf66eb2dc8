"""
Hostile input against every public callable, found by introspection.

Each public callable (every name in every ``__all__``, and the public methods and properties of the
public classes) gets one working call built from :mod:`hostile_world`; then each of its parameters in
turn receives every hostile value aimed at its kind (:mod:`hostile_values`), in a forked child with a
time and a memory cap.  A case passes when the call returns, or raises a funnelkit error of bounded
length that names the parameter, or lets the caller's own callable's error through.
"""

import collections
import inspect

import pytest
from hostile_harness import CASE_SECONDS, World, cases, function_of, in_context, outcome, run_cases
from hostile_values import CONTEXTS

WORLD = World()
NAMES = [t.name for t in WORLD.targets]


def test_every_public_callable_has_a_working_call():
    """A new public callable without a sample value for one of its parameters is named here."""
    assert WORLD.missing == {}


def test_the_battery_is_broad():
    """Sanity: the battery reaches hundreds of callables and every module."""
    assert len(WORLD.calls) >= 350
    modules = collections.Counter(name.split(".")[1] for name in WORLD.calls if name.count(".") > 1)
    assert {"stages", "segments", "assignment", "forecast", "simulation"} <= set(modules)


def test_every_public_function_states_its_cost():
    """Every public function and method says what it costs, in a line starting 'Cost:'."""
    silent = [
        t.name
        for t in WORLD.targets
        if t.kind in {"function", "method", "classmethod"}
        and "Cost" not in (inspect.getdoc(function_of(t)) or "")
    ]
    assert silent == []


@pytest.mark.parametrize("name", NAMES)
def test_hostile_values_are_refused_or_handled(name):
    """Every hostile value in every parameter ends in a result or a funnelkit error naming it."""
    call = WORLD.calls.get(name)
    if call is None:
        pytest.fail(WORLD.missing[name])
    failures = run_cases(call, cases(call))
    report = "\n".join(f"{c.param} = {c.label}: {why}" for c, why in failures)
    assert not failures, f"{len(failures)} hostile cases mishandled (cap {CASE_SECONDS} s):\n{report}"


@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_results_ignore_the_callers_decimal_context(context):
    """Every working call gives the same answer under a hostile decimal context as under the default one."""
    differ = {}
    for name, call in WORLD.calls.items():
        if name.startswith("funnelkit.strategies."):
            continue  # a strategy's example is a random draw, different every time by design
        expected = outcome(call)
        got = in_context(call, CONTEXTS[context])
        if got != expected:
            differ[name] = (expected[:120], got[:120])
    assert differ == {}
