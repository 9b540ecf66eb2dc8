"""
funnelkit's hypothesis entry point: ``st.from_type(Opportunity)`` and friends.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported (see
``[project.entry-points.hypothesis]`` in ``pyproject.toml``).  The hook only
names the types; each strategy is looked up in :mod:`funnelkit.strategies`
on first use, so that the hook works even while :mod:`funnelkit.strategies`
itself is being imported (it imports hypothesis).  It does import funnelkit
(and cattrs) wherever funnelkit is installed, about a tenth of a second; a
failure to import funnelkit there is reported as a warning, not raised, so
that it cannot break hypothesis for code that does not use funnelkit.
:class:`~funnelkit.strategies.SalesData` and
:class:`~funnelkit.strategies.EventHistory` are registered by
:mod:`funnelkit.strategies`, where they are defined.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: The type registered for each strategy of funnelkit.strategies, as
#: (module, class name, strategy name); the strategy is built on first use.
TYPES: tuple[tuple[str, str, str], ...] = (
    ("funnelkit", "Money", "money"),
    ("funnelkit", "Gap", "gaps"),
    ("funnelkit", "Customer", "customers"),
    ("funnelkit", "KeyPerson", "key_persons"),
    ("funnelkit", "Opportunity", "opportunities"),
    ("funnelkit", "Activity", "activities"),
    ("funnelkit", "SalesRep", "sales_reps"),
    ("funnelkit", "Lead", "leads"),
    ("funnelkit.stages", "Pipeline", "pipelines"),
    ("funnelkit.stages", "Stage", "_stages"),
    ("funnelkit.stages", "StageChanged", "_stage_events"),
    ("funnelkit.assignment", "Team", "teams"),
)


def _strategy(name: str) -> Any:
    """
    A function that builds the strategy *name* of funnelkit.strategies, with
    its defaults (``st.deferred`` takes a plain function).
    """

    def build() -> Any:
        return getattr(importlib.import_module("funnelkit.strategies"), name)()

    return build


def _hypothesis_setup_hook() -> None:
    """
    Register a strategy for each of funnelkit's entity and value types
    (:data:`TYPES`), so that ``st.from_type`` and ``st.builds`` draw valid
    values of them.  Cost: O(types), plus importing funnelkit.
    """
    from hypothesis import strategies as st  # hypothesis is importing us: it is there

    try:
        kinds = [(getattr(importlib.import_module(module), cls), name) for module, cls, name in TYPES]
    except Exception as e:  # noqa: BLE001 - never break hypothesis for code that does not use funnelkit
        warnings.warn(f"funnelkit's hypothesis strategies are not registered: {e!r}", stacklevel=2)
        return
    for kind, name in kinds:
        st.register_type_strategy(kind, st.deferred(_strategy(name)))
