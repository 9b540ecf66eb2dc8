"""Fixtures for the assignment tests."""

import pytest
from roster import six_reps


@pytest.fixture
def six():
    """Source 004's six reps, five customers each."""
    return six_reps()
