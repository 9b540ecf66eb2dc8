"""
Response discipline: how fast leads are answered, whether cadences are kept,
whether every rep logs work every working day, and when each lead is due
for contact.

- :func:`response_times`: speed to lead and first-response SLAs per lead,
  rep and source (breached, due soon, met), in elapsed or working time;
- :func:`cadence_due`: ordered steps per tier and stage, the next step due
  on every record and the overdue list (an activity's ``next_step_due``
  counts as a promise);
- :func:`work_log`: the daily work log of source 001, the gaps per rep and
  local working day;
- :func:`due_lead_followups`: follow-up timers for leads, as
  :func:`funnelkit.segments.due_followups` has them for customers and deals;
- :class:`WorkingCalendar`: working days and hours in a zone, holidays and
  make-up days: plain data, no clock and no environment.

Everything is a pure function of its arguments and *now*.
"""

from __future__ import annotations

from ._cadence import (
    MAX_STEP_DAY,
    Cadence,
    CadencePlan,
    CadenceReport,
    NextStep,
    Step,
    StepStatus,
    cadence_due,
)
from ._calendar import MAX_DAYS, WorkingCalendar
from ._response import (
    RESPONSE_KINDS,
    LeadResponse,
    ResponseGroup,
    ResponseReport,
    ResponseStatus,
    ResponseSummary,
    response_times,
)
from ._timers import LeadFollowUp, LeadFollowUpPolicy, LeadFollowUps, due_lead_followups
from ._worklog import MAX_WORK_DAYS, WORK_KINDS, RepLog, WorkDay, WorkLog, WorkLogSummary, work_log

__all__ = [
    "MAX_DAYS",
    "MAX_STEP_DAY",
    "MAX_WORK_DAYS",
    "RESPONSE_KINDS",
    "WORK_KINDS",
    "Cadence",
    "CadencePlan",
    "CadenceReport",
    "LeadFollowUp",
    "LeadFollowUpPolicy",
    "LeadFollowUps",
    "LeadResponse",
    "NextStep",
    "RepLog",
    "ResponseGroup",
    "ResponseReport",
    "ResponseStatus",
    "ResponseSummary",
    "Step",
    "StepStatus",
    "WorkDay",
    "WorkLog",
    "WorkLogSummary",
    "WorkingCalendar",
    "cadence_due",
    "due_lead_followups",
    "response_times",
    "work_log",
]
