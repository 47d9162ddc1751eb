"""Schedules and their slots in PostgreSQL. A slot's run id is derived from (schedule, slot), so
two scheduler replicas, a restart or a crash between publishing and recording never start a slot
twice: a second publish of the same run plans nothing new (capture keys plans by run and
domain), and the first replica to record the slot's outcome is the one recorded."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from streams.errors import DomainRunnerError
from streams.schedules.cron import MissedPolicy, check, next_slot

SLOT_NAMESPACE = uuid.UUID("6d1f4c3e-2b7a-4f0e-9c85-3a1e5b7d9f20")
Outcome = Literal["published", "skipped", "missed"]


class UnknownSchedule(DomainRunnerError, LookupError):
    """No schedule of that name."""


@dataclass(frozen=True)
class Schedule:
    name: str
    target_kind: Literal["project", "domains"]
    target: Any  # the project's name, or [{domain, name, aliases}]
    cron: str
    timezone: str
    missed: MissedPolicy
    samples: int | None
    created_at: datetime
    last_slot: datetime | None = None
    last_run_id: uuid.UUID | None = None

    def next_slot(self, now: datetime) -> datetime:
        return next_slot(self.cron, self.timezone, max(now, self.last_slot or now))


def slot_run_id(schedule: str, slot: datetime) -> uuid.UUID:
    return uuid.uuid5(SLOT_NAMESPACE, f"{schedule}|{slot.isoformat()}")


async def add_schedule(pool: asyncpg.Pool, *, name: str, target_kind: str, target: Any,
                       cron: str, timezone: str, missed: MissedPolicy = "latest",
                       samples: int | None = None) -> Schedule:
    check(cron, timezone)
    row = await pool.fetchrow(
        """INSERT INTO schedules (name, target_kind, target, cron, timezone, missed, samples)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
           ON CONFLICT (name) DO UPDATE SET target_kind = EXCLUDED.target_kind,
               target = EXCLUDED.target, cron = EXCLUDED.cron, timezone = EXCLUDED.timezone,
               missed = EXCLUDED.missed, samples = EXCLUDED.samples, removed_at = NULL
           RETURNING *""", name, target_kind, json.dumps(target), cron, timezone, missed, samples)
    assert row is not None
    return _schedule(row)


async def remove_schedule(pool: asyncpg.Pool, name: str) -> None:
    done = await pool.fetchval(
        """UPDATE schedules SET removed_at = now() WHERE name = $1 AND removed_at IS NULL
           RETURNING true""", name)
    if not done:
        raise UnknownSchedule(f"no schedule named {name!r}")


async def active_schedules(pool: asyncpg.Pool) -> list[Schedule]:
    rows = await pool.fetch(
        """SELECT s.*, last.slot AS last_slot, last.run_id AS last_run_id
           FROM schedules s
           LEFT JOIN LATERAL (SELECT slot, run_id FROM schedule_slots
                              WHERE schedule = s.name ORDER BY slot DESC LIMIT 1) last ON true
           WHERE s.removed_at IS NULL ORDER BY s.name""")
    return [_schedule(row) for row in rows]


async def record_slot(pool: asyncpg.Pool, schedule: str, slot: datetime, run_id: uuid.UUID,
                      outcome: Outcome) -> bool:
    """Record the slot's outcome; False when another replica recorded it first."""
    return bool(await pool.fetchval(
        """INSERT INTO schedule_slots (schedule, slot, run_id, outcome) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING true""", schedule, slot, run_id, outcome))


async def run_status(pool: asyncpg.Pool, run_id: uuid.UUID) -> str | None:
    status: str | None = await pool.fetchval("SELECT status FROM runs WHERE run_id = $1",
                                             run_id)
    return status


def _schedule(row: asyncpg.Record) -> Schedule:
    return Schedule(name=row["name"], target_kind=row["target_kind"],
                    target=json.loads(row["target"]), cron=row["cron"],
                    timezone=row["timezone"], missed=row["missed"], samples=row["samples"],
                    created_at=row["created_at"], last_slot=row.get("last_slot"),
                    last_run_id=row.get("last_run_id"))
