"""
Hypothesis strategies for duplicates: books with duplicates planted in them
and the truth known, for testing a matcher (or your own rules around one).

Needs the ``hypothesis`` extra, as :mod:`funnelkit.strategies` does.  A
draw is a :func:`~funnelkit.duplicates.plant_duplicates` book of a drawn
size and seed: the names are realistic (made up, spelled each entry its own
way), and hypothesis shrinks a failing book to fewer companies.

>>> from hypothesis import given, settings
>>> from funnelkit.duplicates import find_duplicates
>>> from funnelkit.duplicates.strategies import planted_duplicates
>>> @settings(max_examples=5)
... @given(planted_duplicates(max_companies=10))
... def test_every_cluster_found_is_a_set_of_records(book):
...     report = find_duplicates(book.records, contacts=book.contacts, country_code="86")
...     ids = {(type(r).__name__ == "Lead" and "lead" or "customer", r.id) for r in book.records}
...     assert all(set(cluster) <= ids for cluster in report.clusters)
>>> test_every_cluster_found_is_a_set_of_records()
"""

from __future__ import annotations

from hypothesis import strategies as st

from ..errors import ValidationError
from ..strategies import _check_int
from ._plant import MAX_COMPANIES, Planted, plant_duplicates

__all__ = ["planted_duplicates"]


def planted_duplicates(*, max_companies: int = 30, min_companies: int = 0) -> st.SearchStrategy[Planted]:
    """
    Books of *min_companies* to *max_companies* companies (at most
    200,000) with duplicates planted: :class:`~funnelkit.duplicates.Planted`
    values, each with its truth.

    Cost: O(1) to build; each draw is O(companies).
    """
    low = _check_int("min_companies", min_companies, 0, MAX_COMPANIES)
    high = _check_int("max_companies", max_companies, 0, MAX_COMPANIES)
    if low > high:
        msg = f"min_companies={low} > max_companies={high}"
        raise ValidationError.single("max_companies", msg, code="order")
    return st.builds(plant_duplicates, companies=st.integers(low, high), seed=st.integers(0, 2**32 - 1))
