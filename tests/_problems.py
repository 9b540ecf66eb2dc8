"""
Assert what a refusal says by its problems' ``(path, code)``, not by their wording.

Messages are for people and may be reworded; ``tests/test_error_codes.py`` pins
each message template once.  Everywhere else a test names where the problem is
and what kind it is::

    with raises_problems(("amount", "type")):
        Money.of(0.1, "USD")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from funnelkit import ValidationError
from funnelkit.errors import CODES


def problems_of(error: BaseException | pytest.ExceptionInfo[BaseException]) -> list[tuple[str, str]]:
    """
    The ``(path, code)`` of every problem of *error* (a ValidationError, or
    what ``pytest.raises`` caught), in order; every code is one of ``CODES``.
    """
    if isinstance(error, pytest.ExceptionInfo):
        error = error.value
    assert isinstance(error, ValidationError), f"{error!r} is not a ValidationError"
    found = [(p.path, p.code) for p in error.problems]
    assert all(code in CODES for _, code in found), found
    return found


def assert_problems(
    error: BaseException | pytest.ExceptionInfo[BaseException], *expected: tuple[str, str]
) -> None:
    """
    *error* has exactly the problems *expected*, as ``(path, code)`` pairs, in order.
    """
    assert problems_of(error) == list(expected)


@contextmanager
def raises_problems(
    *expected: tuple[str, str], error: type[ValidationError] = ValidationError
) -> Iterator[pytest.ExceptionInfo[ValidationError]]:
    """
    ``pytest.raises(error)`` that also checks the problems, as :func:`assert_problems`.
    """
    with pytest.raises(error) as info:
        yield info
    assert_problems(info, *expected)
