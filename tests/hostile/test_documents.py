"""
Every public value, found by introspection, as a JSON document and back.

The values are those the hostile battery's working calls build and return
(entities, events, requirements, policies, pipelines, states and every
report), so a new public class is covered without a new row here.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import attrs
import pytest
from hostile_harness import World

from funnelkit import from_dict, to_dict

#: Values that are not documents: a clock is behaviour, a strategy's draw is a test fixture.
NOT_DOCUMENTS = {"FixedClock", "SalesData"}


@functools.cache
def values() -> dict[str, Any]:
    """One instance of every public attrs class, by class name."""
    found = World().instances
    return {
        cls.__name__: value
        for cls, value in sorted(found.items(), key=lambda kv: kv[0].__name__)
        if attrs.has(cls) and cls.__name__ not in NOT_DOCUMENTS
    }


def predicates() -> dict[str, Any]:
    """The custom predicates among the values, by name: reading a predicate back needs them."""
    return {p.name: p for p in values().values() if type(p).__name__ == "Predicate"}


@pytest.mark.parametrize("name", sorted(values()))
def test_every_value_round_trips_through_json(name: str) -> None:
    """to_dict gives data json.dumps accepts (no NaN), and from_dict reads it back to an equal value."""
    value = values()[name]
    data = to_dict(value)
    text = json.dumps(data, allow_nan=False, sort_keys=True)
    back = from_dict(type(value), json.loads(text), predicates=predicates())
    assert back == value
    assert to_dict(back) == data


def test_the_classes_cover_every_kind_of_value() -> None:
    """The introspected values include entities, events, requirements, policies and reports."""
    names = set(values())
    assert {"Opportunity", "StageChanged", "Decision", "OwnerChanged", "AllOf", "Rules", "Pipeline"} <= names
    assert {
        "FunnelReport",
        "KaplanMeier",
        "WinCount",
        "Backtest",
        "SimulationResult",
        "AbsorbingChain",
    } <= names
