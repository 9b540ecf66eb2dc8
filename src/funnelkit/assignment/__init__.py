"""
Lead assignment: routing policies, the lead pool, timed roulette,
reassignment, lead conversion and fairness.

Everything is a pure function of its inputs: the team, the state a host saved
from the previous call, ``now``, and a seed or ``random.Random`` where a
policy draws at random.  funnelkit runs no timers: who holds a roulette offer
is computed from the offer and ``now``.
"""

from __future__ import annotations

from .._edits import OwnerChanged, Skip
from ._assign import AssignmentResult, Decision, assign, record
from ._conversion import Conversion, convert_lead
from ._fairness import FairnessReport, RepFairness, fairness, gini
from ._policies import Fallback, LoadBalance, Policy, RoundRobin, WeightedRandom, policy_from_dict
from ._pool import Claim, Pool
from ._reassign import Reassignment, Unmoved, reassign
from ._roulette import Declined, Offer, OfferStatus, Roulette, Turn
from ._rules import Rule, Rules
from ._team import Assigned, AssignmentState, Team, Window
from ._tiers import TierMatch

__all__ = [
    "Assigned",
    "AssignmentResult",
    "AssignmentState",
    "Claim",
    "Conversion",
    "Decision",
    "Declined",
    "FairnessReport",
    "Fallback",
    "LoadBalance",
    "Offer",
    "OfferStatus",
    "OwnerChanged",
    "Policy",
    "Pool",
    "Reassignment",
    "RepFairness",
    "Roulette",
    "RoundRobin",
    "Rule",
    "Rules",
    "Skip",
    "Team",
    "TierMatch",
    "Turn",
    "Unmoved",
    "WeightedRandom",
    "Window",
    "assign",
    "convert_lead",
    "fairness",
    "gini",
    "policy_from_dict",
    "reassign",
    "record",
]
