"""
Duplicates: the same company (or person) entered twice, found and merged.

Conflict prevention between reps (two reps must not work one customer)
fails when one company has two entries: one rep claims ``acme-co`` while
another holds ``acme``.  :func:`find_duplicates` finds the candidate pairs
among customers, key persons and leads by normalised names, phones, emails
and web domains, each pair with its score and reasons, and the clusters
they form; :func:`merge` folds duplicates into one surviving record,
relinks every deal, activity, key person and claim, and returns an event
(:class:`Merged`) that a host stores and replays with :func:`apply_merge`.
``DuplicateReport.accounts()`` passed as ``aliases=`` to
:meth:`~funnelkit.assignment.Pool.claim` treats the entries of one company
as one account until they are merged.

Everything is a pure function of its arguments: no locale, no environment,
no country guessed.
"""

from __future__ import annotations

from ._match import (
    DEFAULT_THRESHOLD,
    KINDS,
    MAX_BLOCK,
    WEIGHTS,
    WINDOW,
    Contact,
    DuplicatePair,
    DuplicateReport,
    find_duplicates,
)
from ._merge import Merge, Merged, apply_merge, merge
from ._normal import (
    COMPANY_SUFFIXES,
    FREE_MAIL_DOMAINS,
    MIN_PHONE_DIGITS,
    name_tokens,
    normalize_domain,
    normalize_email,
    normalize_name,
    normalize_phone,
)
from ._plant import Planted, plant_duplicates

__all__ = [
    "COMPANY_SUFFIXES",
    "DEFAULT_THRESHOLD",
    "FREE_MAIL_DOMAINS",
    "KINDS",
    "MAX_BLOCK",
    "MIN_PHONE_DIGITS",
    "WEIGHTS",
    "WINDOW",
    "Contact",
    "DuplicatePair",
    "DuplicateReport",
    "Merge",
    "Merged",
    "Planted",
    "apply_merge",
    "find_duplicates",
    "merge",
    "name_tokens",
    "normalize_domain",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "plant_duplicates",
]
