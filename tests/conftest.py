"""Shared test configuration: hypothesis profiles."""

import os

from hypothesis import HealthCheck, settings

# Machines here are noisy: no per-example deadline.  "ci" runs more examples.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
