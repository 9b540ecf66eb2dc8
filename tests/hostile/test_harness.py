"""
The hostile battery's own guards: a case that spins is stopped by its CPU cap, one that waits by the
wall-clock watchdog, and the cases after it still run.
"""

import time

import hostile_harness as h
import pytest


class _Call:
    """A stand-in for a public callable: spins, sleeps or returns, as the value says."""

    def run(self, given):
        value = given[1]
        if value == "spin":
            while True:
                pass
        if value == "sleep":
            time.sleep(3600)


@pytest.mark.parametrize(
    ("value", "verdict"), [("spin", "ran past 0.3 s"), ("sleep", "hung past 1 s (killed)")]
)
def test_a_runaway_case_is_stopped_and_the_next_one_runs(monkeypatch, value, verdict):
    """A spinning case hits the CPU cap, a sleeping one the watchdog; the case after it passes."""
    monkeypatch.setattr(h, "CASE_SECONDS", 0.3)
    monkeypatch.setattr(h, "HUNG_SECONDS", 1.0)
    todo = [h.Case("x", value, lambda: value), h.Case("x", "ok", lambda: "ok")]
    failures = h.run_cases(_Call(), todo)
    assert [(case.label, why) for case, why in failures] == [(value, verdict)]
