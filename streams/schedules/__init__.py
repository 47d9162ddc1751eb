"""Schedules: runs on a cron expression in a time zone, each slot at most once."""

from __future__ import annotations

from streams.schedules.cron import BadSchedule, MissedPolicy, check, next_slot, owed, slots
from streams.schedules.store import (
    Schedule,
    UnknownSchedule,
    active_schedules,
    add_schedule,
    record_slot,
    remove_schedule,
    run_status,
    slot_run_id,
)

__all__ = [
    "BadSchedule",
    "MissedPolicy",
    "Schedule",
    "UnknownSchedule",
    "active_schedules",
    "add_schedule",
    "check",
    "next_slot",
    "owed",
    "record_slot",
    "remove_schedule",
    "run_status",
    "slot_run_id",
    "slots",
]
