"""Run consumer groups in this process until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from contracts import all_topic_names
from streams.config import Settings
from streams.kafka.broker import create_broker, create_topics
from streams.runtime.liveness import heartbeat_forever
from streams.runtime.resources import Resources, open_resources

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Group:
    """A consumer group as the runner runs it (the registry is ``consumers.GROUPS``): the
    module that registers its subscribers (``register(resources)``), imported only when the
    group runs, so a process loads the dependencies of its own groups alone (the embedding
    model's for embedding, not for capture)."""

    name: str
    module: str
    # A coroutine function of the module: work its processes do beside consuming (capture's
    # reconciler).
    background: str | None = None

    def register(self, resources: Resources) -> None:
        importlib.import_module(self.module).register(resources)

    def background_work(self, resources: Resources) -> Coroutine[Any, Any, None] | None:
        if self.background is None:
            return None
        work: Callable[[Resources], Coroutine[Any, Any, None]] = getattr(
            importlib.import_module(self.module), self.background)
        return work(resources)


WATCH_EVERY_S = 1.0
# Starting a process's Kafka clients (bootstrap, topic metadata) takes well under a second on
# a live broker; past this the broker is treated as gone again.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


async def run_groups(groups: Sequence[Group], settings: Settings, stop: asyncio.Event,
                     started: asyncio.Event | None = None) -> None:
    """Start each named group's subscribers on one broker connection; stop when ``stop`` is set.
    ``started`` is set once every subscriber is consuming (each has joined its group).

    A broker that loses its state (the local broker keeps topics in memory) or cannot be reached
    is treated as a full restart: stop every Kafka client, wait for the broker, create the topics,
    start fresh clients. Lost work is then re-published from PostgreSQL by the reconciler."""
    names = [group.name for group in groups]
    async with open_resources(settings) as first, asyncio.TaskGroup() as forever:
        heartbeat = forever.create_task(heartbeat_forever(first.pool, names))
        resources = first
        while True:
            await _wait_for_broker(settings, stop)
            if stop.is_set():
                break
            resources = replace(resources, broker=create_broker(settings),
                                kafka_stuck=asyncio.Event())
            for group in groups:
                group.register(resources)
            background: list[asyncio.Task[None]] = []
            consumers: list[AIOKafkaConsumer] = []
            try:
                # Bounded: a broker that answered the topic check can still be gone (or not
                # ready) by the time the clients bootstrap; that is another restart, not a hang.
                await asyncio.wait_for(resources.broker.start(), timeout=START_TIMEOUT_S)
                consumers = [consumer for sub in resources.broker.subscribers
                             if (consumer := getattr(sub, "consumer", None)) is not None]
                logger.info("consumer groups running: %s", ", ".join(names))
                if started is not None:
                    started.set()
                background = [forever.create_task(work) for group in groups
                              if (work := group.background_work(resources)) is not None]
                lost = await _until_stopped_or_lost(settings, stop, resources.kafka_stuck)
            except (KafkaError, OSError, TimeoutError) as exc:
                # Raised out of here it would end the process's groups silently for good.
                lost = f"lost while starting clients ({type(exc).__name__}: {exc})"
            for task in background:
                task.cancel()
            await _stop_clients(resources, consumers)
            if not lost:
                break
            logger.warning("broker %s: restarting every Kafka client", lost)
        heartbeat.cancel()


async def _stop_clients(resources: Resources, started: list[AIOKafkaConsumer]) -> None:
    """Stop the broker's clients, then close every consumer they started once more.

    FastStream's stop can return with a consumer left open after the broker went away
    mid-commit (seen after restarts of the local broker: the handler's commit failed with
    UnknownMemberId, and that subscriber's consumer was never closed). The open consumer then
    rejoins the restarted broker's group under a new member id, takes its share of the
    partitions and never reads them, so the run never finishes. Closing a closed aiokafka
    consumer does nothing, so each one is closed again here."""
    consumers = started + [consumer for sub in resources.broker.subscribers
                           if (consumer := getattr(sub, "consumer", None)) is not None]
    stopping = asyncio.create_task(resources.broker.stop())
    # Waited on, not wait_for: a stop that ignores cancellation must not hang the restart.
    done, _ = await asyncio.wait({stopping}, timeout=STOP_TIMEOUT_S)
    if not done:
        logger.warning("broker clients did not stop within %.0f s", STOP_TIMEOUT_S)
        stopping.cancel()
    elif not stopping.cancelled() and (exc := stopping.exception()) is not None:
        logger.warning("broker clients did not stop cleanly (%s: %s)", type(exc).__name__, exc)
    closing = [asyncio.create_task(consumer.stop()) for consumer in set(consumers)]
    if closing:
        _, pending = await asyncio.wait(closing, timeout=STOP_TIMEOUT_S)
        for task in pending:
            task.cancel()


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


async def _until_stopped_or_lost(settings: Settings, stop: asyncio.Event,
                                 stuck: asyncio.Event) -> str | None:
    """None when ``stop`` is set; a reason when the broker became unreachable or lost topics,
    or a consumer found its client stuck."""
    expected = set(all_topic_names())
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap,
                                request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), timeout=10)
    except (KafkaError, OSError, TimeoutError) as exc:
        await admin.close()
        return f"unreachable ({type(exc).__name__})"
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
            if stuck.is_set():
                return "answers, but a commit never ended"
    finally:
        await admin.close()
