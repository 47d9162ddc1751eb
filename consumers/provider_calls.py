"""Consumer group ``provider-calls``: calls the provider named in each request and publishes its
raw answer. A call another process has claimed, or that is already answered, is not paid again."""

from __future__ import annotations

import asyncio
from typing import Any

from faststream.kafka import KafkaMessage

from contracts import PROVIDER_CALLS, RESPONSES_RAW, ProviderCallRequested
from streams.dead_letters import DeadLetters
from streams.kafka import batch_subscriber_options
from streams.key_rotation import KeyRotation
from streams.provider_caller import ProviderCaller
from streams.records import Envelope, decode_batch
from streams.resources import Resources
from streams.run_store import claim_call
from streams.tracing import record_span

GROUP = "provider-calls"


def register(resources: Resources) -> None:
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=GROUP)
    caller = ProviderCaller(settings, resources.http, KeyRotation(settings.provider_configs))

    async def call(envelope: Envelope[ProviderCallRequested]) -> asyncio.Future[Any] | None:
        request = envelope.value
        with record_span("provider-calls call", envelope.headers, domain=request.domain,
                         provider=request.provider):
            if not await claim_call(pool, request.call_id, lease_s=settings.call_lease_s):
                return None
            response = await caller.call(request)
            future: asyncio.Future[Any] = await broker.publish(
                response, RESPONSES_RAW.name, key=envelope.key,
                correlation_id=str(request.call_id), no_confirm=True,
            )
            return future

    @broker.subscriber(PROVIDER_CALLS.name, **batch_subscriber_options(settings, group=GROUP))
    async def provider_calls(body: list[Any], message: KafkaMessage) -> None:
        batch = decode_batch(message.raw_message, ProviderCallRequested)
        confirmations = [
            await dead_letters.send(record, stage="decode", error=error)
            for record, error in batch.invalid
        ]
        published = await asyncio.gather(*(call(envelope) for envelope in batch.valid))
        confirmations += [future for future in published if future is not None]
        await asyncio.gather(*confirmations)
