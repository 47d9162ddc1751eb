"""Run consumer groups in this process until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from consumers import (
    capture,
    correlation,
    embedding,
    provider_calls,
    reality_validation,
    scoring,
)
from contracts import all_topic_names
from streams.config import Settings
from streams.kafka import create_broker, create_topics
from streams.liveness import heartbeat_forever
from streams.resources import Resources, open_resources

logger = logging.getLogger(__name__)

GROUPS: dict[str, Callable[[Resources], None]] = {
    capture.GROUP: capture.register,
    provider_calls.GROUP: provider_calls.register,
    reality_validation.GROUP: reality_validation.register,
    embedding.GROUP: embedding.register,
    scoring.GROUP: scoring.register,
    correlation.GROUP: correlation.register,
}


# Work a group's processes do beside consuming (e.g. capture's reconciler).
BACKGROUND: dict[str, Callable[[Resources], Coroutine[Any, Any, None]]] = {
    capture.GROUP: capture.reconcile,
}

WATCH_EVERY_S = 1.0


class UnknownGroup(ValueError):
    pass


async def run_groups(groups: list[str], settings: Settings, stop: asyncio.Event) -> None:
    """Start each named group's subscribers on one broker connection; stop when ``stop`` is set.

    A broker that loses its state (the local broker keeps topics in memory) or cannot be reached
    is treated as a full restart: stop every Kafka client, wait for the broker, create the topics,
    start fresh clients. Lost work is then re-published from PostgreSQL by the reconciler."""
    unknown = [group for group in groups if group not in GROUPS]
    if unknown:
        raise UnknownGroup(f"unknown consumer groups {unknown}; known: {sorted(GROUPS)}")
    async with open_resources(settings) as first, asyncio.TaskGroup() as forever:
        heartbeat = forever.create_task(heartbeat_forever(first.pool, groups))
        resources = first
        while True:
            await _wait_for_broker(settings, stop)
            if stop.is_set():
                break
            resources = replace(resources, broker=create_broker(settings))
            for group in groups:
                GROUPS[group](resources)
            await resources.broker.start()
            logger.info("consumer groups running: %s", ", ".join(groups))
            background = [forever.create_task(BACKGROUND[group](resources))
                          for group in groups if group in BACKGROUND]
            lost = await _until_stopped_or_lost(settings, stop)
            for task in background:
                task.cancel()
            try:
                await asyncio.wait_for(resources.broker.stop(), timeout=30)
            except TimeoutError:
                logger.warning("broker clients did not stop within 30 s")
            if not lost:
                break
            logger.warning("broker %s: restarting every Kafka client", lost)
        heartbeat.cancel()


async def _wait_for_broker(settings: Settings, stop: asyncio.Event) -> None:
    """Until the broker answers and every topic exists (created here if missing)."""
    delay = 0.5
    while not stop.is_set():
        try:
            await asyncio.wait_for(create_topics(settings), timeout=15)
            return
        except Exception as exc:
            logger.warning("broker not ready (%s: %s); retrying", type(exc).__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, 5.0)


async def _until_stopped_or_lost(settings: Settings, stop: asyncio.Event) -> str | None:
    """None when ``stop`` is set; a reason when the broker became unreachable or lost topics."""
    expected = set(all_topic_names())
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                                request_timeout_ms=5000)
    await admin.start()
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=WATCH_EVERY_S)
                return None
            try:
                topics = set(await asyncio.wait_for(admin.list_topics(), timeout=5))
            except Exception as exc:
                return f"unreachable ({type(exc).__name__})"
            if missing := expected - topics:
                return f"lost {len(missing)} topics"
    finally:
        await admin.close()
