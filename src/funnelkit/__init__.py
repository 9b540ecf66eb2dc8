"""
funnelkit: the rules of a company's sales process, as pure Python values.

Typed entities, a configurable stage engine with milestone checks, A/B/C
segmentation, lead-assignment policies and forecasting.  funnelkit does no I/O
of its own: "now" and randomness are always arguments.
"""

from __future__ import annotations

from ._money import Money, currency_minor_units, known_currencies, register_currency
from ._report import Report
from ._splits import CreditSplits, Split
from ._time import Clock, FixedClock, ensure_aware
from .documents import from_dict, to_dict
from .entities import (
    Activity,
    ActivityKind,
    CompanySize,
    Customer,
    ForecastCategory,
    Gap,
    KeyPerson,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    Role,
    SalesRep,
    Stance,
    Tier,
)
from .errors import (
    CurrencyMismatchError,
    FunnelkitError,
    Problem,
    ValidationError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "Activity",
    "ActivityKind",
    "Clock",
    "CompanySize",
    "CreditSplits",
    "CurrencyMismatchError",
    "Customer",
    "FixedClock",
    "ForecastCategory",
    "FunnelkitError",
    "Gap",
    "KeyPerson",
    "Lead",
    "LeadStatus",
    "Money",
    "Opportunity",
    "OpportunityStatus",
    "Problem",
    "Report",
    "Role",
    "SalesRep",
    "Split",
    "Stance",
    "Tier",
    "ValidationError",
    "__version__",
    "currency_minor_units",
    "ensure_aware",
    "from_dict",
    "known_currencies",
    "register_currency",
    "to_dict",
]
