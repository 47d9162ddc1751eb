"""Operator actions: redrive dead letters, replay (offset resets and copies), consumer lag."""

from __future__ import annotations

from streams.ops.lag import consumer_lag, total_by_group_topic
from streams.ops.redrive import count_by_reason, read_dead_letters, redrive
from streams.ops.replay import ReplayRefused, copy_range, execute_reset, plan_reset

__all__ = [
    "ReplayRefused",
    "consumer_lag",
    "copy_range",
    "count_by_reason",
    "execute_reset",
    "plan_reset",
    "read_dead_letters",
    "redrive",
    "total_by_group_topic",
]
