"""Errors stay readable whatever the input: bounded messages and paths, bounded lists, short values."""

from decimal import Decimal

import pytest

from funnelkit import Money, Opportunity, Problem, ValidationError, from_dict
from funnelkit._checks import show
from funnelkit.errors import MAX_LISTED, MAX_MESSAGE, MAX_PATH, ClaimConflict


def test_a_problem_cuts_a_huge_message_and_says_how_long_it_was():
    """A 1 MB message keeps its head and ends with its full length."""
    problem = Problem(path="x", code="type", message="m" * 1_000_000)
    assert len(problem.message) == MAX_MESSAGE - 40 + len("... (1,000,000 characters in all)")
    assert problem.message.endswith("m... (1,000,000 characters in all)")


def test_a_problem_cuts_a_huge_path():
    """A path built from a huge dict key is cut the same way."""
    problem = Problem(path="values['" + "k" * 10_000 + "']", code="type", message="bad")
    assert len(problem.path) <= MAX_PATH
    assert problem.path.startswith("values['kkk")


def test_an_error_lists_its_first_50_problems_and_counts_the_rest():
    """10,000 bad items: the text lists 50 and says how many more; .problems keeps all."""
    error = ValidationError(Problem(path=f"items[{i}]", code="type", message="bad") for i in range(10_000))
    lines = str(error).splitlines()
    assert lines[0] == "10000 problems:"
    assert lines[1:3] == ["  - items[0]: bad", "  - items[1]: bad"]
    assert lines[-1] == "  - ... and 9,950 more (all are in .problems)"
    assert len(lines) == 1 + MAX_LISTED + 1
    assert len(error.problems) == 10_000


def test_other_errors_are_bounded_too():
    """An error built around a huge key, here a claim conflict, stays bounded."""
    error = ClaimConflict(key="k" * 10_000_000, holder="r1", expires_at=None, requested_by="r2")
    assert len(str(error)) <= MAX_LISTED * MAX_MESSAGE


def test_a_document_with_100000_bad_keys_reads_as_a_short_error():
    """Reading a huge junk document fails fast with a message of bounded size."""
    with pytest.raises(ValidationError) as exc:
        from_dict(Opportunity, {f"k{i}": i for i in range(100_000)})
    assert len(str(exc.value)) < MAX_LISTED * 300
    assert len(exc.value.problems) > 100_000


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (10**5000, "<int of about 5001 digits>"),
        (list(range(10**6)), "[0, 1, 2, 3, ...]"),
        ({"a": 1, "b": 2}, "{'a': 1, 'b': 2}"),
        ("x" * 100, "'" + "x" * 76 + "..."),
        (Decimal("1e999999999"), "1E+999999999"),
        (Money.of("1.50", "USD"), "Money('1.50', 'USD')"),
    ],
    ids=["huge int", "million items", "dict", "long str", "huge exponent", "money"],
)
def test_show_is_short_and_cheap(value, shown):
    """Values in messages are cut to 80 characters, and big containers and ints are never printed whole."""
    assert show(value) == shown


def test_show_survives_deep_nesting_and_broken_reprs():
    """A list nested 10,000 deep and an object whose repr fails both have a short description."""
    deep: list = []
    for _ in range(10_000):
        deep = [deep]

    class Broken:
        def __repr__(self):
            raise RuntimeError

    assert show(deep) == "[[[...]]]"
    assert show(Broken()) == "<Broken object>"
