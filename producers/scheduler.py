"""The scheduler: a producer process (``domain-runner run scheduler``) that publishes each due
slot of each schedule as a run (with the model-version canary beside it), and polls each due
news feed (``producers/feeds.py``). Time is
injected (``clock``), so tests move it instead of waiting for a real day; replicas may run side
by side (see ``streams/schedules/store.py`` and ``streams/feeds/store.py``)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from faststream.kafka import KafkaBroker

from producers.domain_file import DomainEntry
from producers.domains import publish_run
from producers.feeds import poll_due_feeds
from producers.projects import publish_project_run
from streams.config import Settings
from streams.inputs.safe_fetch import SafeFetcher
from streams.projects import load_project, project_request
from streams.runs.prompts import CANARY_DOMAIN, CANARY_PROMPT_SET, canary_run_id
from streams.schedules import (
    Schedule,
    active_schedules,
    owed,
    record_slot,
    run_status,
    slot_run_id,
)
from streams.schedules.store import Outcome

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SlotDecision:
    schedule: str
    slot: datetime
    run_id: uuid.UUID
    outcome: str
    recorded: bool  # False: another replica recorded the slot first


async def _publish(schedule: Schedule, run_id: uuid.UUID, pool: asyncpg.Pool,
                   broker: KafkaBroker, settings: Settings) -> None:
    if settings.canary_samples:
        # The canary first: a slot published again (after a crash) asks it once more, and its
        # derived id plans nothing new.
        await publish_run(broker, [DomainEntry(line=1, domain=CANARY_DOMAIN, name="Canary")],
                          run_id=canary_run_id(run_id), providers=settings.providers,
                          prompt_set=CANARY_PROMPT_SET, samples=settings.canary_samples)
    if schedule.target_kind == "project":
        project = await load_project(pool, str(schedule.target))
        await publish_project_run(
            broker, project_request(project), run_id=run_id,
            providers=project.spec.providers,
            samples=schedule.samples or project.spec.samples,
            cost_cap_usd=project.spec.cost_cap_usd, modes=project.spec.modes)
        return
    entries = [DomainEntry(line=i, domain=item["domain"], name=item.get("name") or
                           item["domain"], aliases=tuple(item.get("aliases", ())))
               for i, item in enumerate(schedule.target, start=1)]
    await publish_run(broker, entries, run_id=run_id, providers=settings.providers,
                      samples=schedule.samples or 1)


async def run_due(pool: asyncpg.Pool, broker: KafkaBroker, settings: Settings, *,
                  now: datetime) -> list[SlotDecision]:
    """Publish every slot due at ``now`` (by each schedule's missed-slot policy)."""
    decisions = []
    for schedule in await active_schedules(pool):
        last = schedule.last_slot or schedule.created_at
        to_run, missed = owed(schedule.cron, schedule.timezone, last=last, now=now,
                              policy=schedule.missed)
        for slot in missed:
            run_id = slot_run_id(schedule.name, slot)
            recorded = await record_slot(pool, schedule.name, slot, run_id, "missed")
            decisions.append(SlotDecision(schedule.name, slot, run_id, "missed", recorded))
        for slot in to_run:
            run_id = slot_run_id(schedule.name, slot)
            outcome: Outcome
            if await run_status(pool, run_id) == "complete":
                outcome = "skipped"  # done already (the orchestrator's skip-if-done)
            else:
                # Published before it is recorded: a crash in between publishes the same run
                # again on restart, which plans nothing new.
                await _publish(schedule, run_id, pool, broker, settings)
                outcome = "published"
            recorded = await record_slot(pool, schedule.name, slot, run_id, outcome)
            if recorded:
                logger.info("schedule %s slot %s: %s run %s", schedule.name, slot.isoformat(),
                            outcome, run_id)
            decisions.append(SlotDecision(schedule.name, slot, run_id, outcome, recorded))
    return decisions


async def schedule_forever(pool: asyncpg.Pool, broker: KafkaBroker, settings: Settings, *,
                           fetcher: SafeFetcher | None = None,
                           clock: Clock = lambda: datetime.now(UTC), tick_s: float = 1.0,
                           stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            await run_due(pool, broker, settings, now=clock())
            if fetcher is not None:
                await poll_due_feeds(pool, broker, fetcher, now=clock())
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("scheduler tick failed (%s: %s); next tick", type(exc).__name__, exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=tick_s)
        except TimeoutError:
            pass
