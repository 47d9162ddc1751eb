"""Runs: a domain request planned into calls, the prompts, the run store (counters and end
states), the reconciler that republishes lost or due calls, and the run report."""

from __future__ import annotations

from streams.runs.planning import PlannedDomain, PlanningError, plan_calls, resolve_request
from streams.runs.prompts import PROMPT_SETS, Prompt
from streams.runs.reconciler import reconcile_forever, republish_due_calls
from streams.runs.report import RunReport, run_report

__all__ = [
    "PROMPT_SETS",
    "PlannedDomain",
    "PlanningError",
    "Prompt",
    "RunReport",
    "plan_calls",
    "reconcile_forever",
    "republish_due_calls",
    "resolve_request",
    "run_report",
]
