"""Publish a run: one ``DomainRequested`` per domain, keyed by the domain; sends are confirmed
in groups, never awaited one by one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID

from aiokafka.structs import RecordMetadata
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind

from contracts import DOMAINS_REQUESTED, DomainRequested, Mode
from producers.domain_file import DomainEntry
from streams.runtime.tracing import record_span

CONFIRM_EVERY = 500


async def publish_run(
    broker: KafkaBroker,
    entries: Sequence[DomainEntry],
    *,
    run_id: UUID,
    providers: Sequence[str],
    prompt_set: str = "default",
    samples: int = 1,
    cost_cap_usd: float | None = None,
    on_published: Callable[[int], None] | None = None,
    mode: Mode = "memory",
) -> list[RecordMetadata]:
    """Publish every entry as part of ``run_id``; return the broker's acknowledgements."""
    requested_at = datetime.now(UTC)
    pending: list[asyncio.Future[RecordMetadata]] = []
    acknowledged: list[RecordMetadata] = []
    for entry in entries:
        message = DomainRequested(
            run_id=run_id, domain=entry.domain, name=entry.name, aliases=entry.aliases,
            prompt_set=prompt_set, providers=tuple(providers), samples=samples,
            run_size=len(entries), cost_cap_usd=cost_cap_usd, requested_at=requested_at,
            mode=mode,
        )
        # Each domain starts its own trace, followed through every consumer group.
        with record_span("publish domain", {}, kind=SpanKind.PRODUCER, domain=entry.domain):
            pending.append(
                await broker.publish(message, DOMAINS_REQUESTED.name, key=entry.domain.encode(),
                                     correlation_id=f"{run_id}:{entry.domain}", no_confirm=True)
            )
        if len(pending) >= CONFIRM_EVERY:
            acknowledged += await asyncio.gather(*pending)
            pending.clear()
            if on_published:
                on_published(len(acknowledged))
    acknowledged += await asyncio.gather(*pending)
    if on_published:
        on_published(len(acknowledged))
    return acknowledged
