"""Consumer group ``capture``: plans each requested domain into provider calls, and persists every
raw response as the system of record, keeping each run's counters exact."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faststream.kafka import KafkaMessage

from contracts import DOMAINS_REQUESTED, PROVIDER_CALLS, RESPONSES_RAW, DomainRequested, RawResponse
from streams.kafka.broker import batch_subscriber_options
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope, decode_batch
from streams.runs.planning import PlanningError, plan_calls, resolve_request
from streams.runs.reconciler import reconcile_forever
from streams.runs.store import record_plan, record_responses
from streams.runtime.durable import until_stored
from streams.runtime.resources import Resources
from streams.runtime.tracing import batch_spans, record_span

GROUP = "capture"
logger = logging.getLogger(__name__)


async def reconcile(resources: Resources) -> None:
    """Re-publish calls that are due: retries whose back-off passed, and lost work."""
    settings = resources.settings
    await reconcile_forever(
        resources.pool, resources.broker, bootstrap=settings.kafka_bootstrap,
        interval_s=settings.reconcile_interval_s,
        grace_s=settings.reconcile_grace_s, lease_s=settings.call_lease_s,
        domains_grace_s=settings.run_domains_grace_s,
    )


def register(resources: Resources) -> None:
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=GROUP)
    providers = settings.provider_configs

    async def plan(envelope: Envelope[DomainRequested]) -> list[asyncio.Future[Any]]:
        request = resolve_request(envelope.value, envelope.record, list(providers))
        with record_span("capture plan", envelope.headers, domain=request.domain):
            try:
                calls = plan_calls(request, providers)
            except PlanningError as exc:
                return [await dead_letters.send(envelope.record, stage="plan", error=exc)]
            pending = await until_stored(lambda: record_plan(pool, request, calls),
                                         what="capture plan")
            return [
                # Keyed by the normalised domain, whatever key the request came with.
                await broker.publish(call, PROVIDER_CALLS.name, key=request.domain.encode(),
                                     correlation_id=str(call.call_id), no_confirm=True)
                for call in pending
            ]

    async def persist(envelopes: list[Envelope[RawResponse]]) -> list[asyncio.Future[Any]]:
        with batch_spans("capture persist", [e.headers for e in envelopes]):
            _, unknown = await until_stored(
                lambda: record_responses(pool, [e.value for e in envelopes],
                                         coverage_target=settings.coverage_target),
                what="capture persist",
            )
        unknown_ids = set(unknown)
        return [
            await dead_letters.send(e.record, stage="persist",
                                    error=LookupError(f"no planned call {e.value.call_id}"))
            for e in envelopes if e.value.call_id in unknown_ids
        ]

    @broker.subscriber(
        DOMAINS_REQUESTED.name, RESPONSES_RAW.name,
        **batch_subscriber_options(settings, group=GROUP),
    )
    async def capture(body: list[Any], message: KafkaMessage) -> None:
        records = message.raw_message
        requests = decode_batch(
            tuple(r for r in records if r.topic == DOMAINS_REQUESTED.name), DomainRequested
        )
        responses = decode_batch(
            tuple(r for r in records if r.topic == RESPONSES_RAW.name), RawResponse
        )
        confirmations = [
            await dead_letters.send(record, stage="decode", error=error)
            for record, error in requests.invalid + responses.invalid
        ]
        for envelope in requests.valid:
            confirmations += await plan(envelope)
        if responses.valid:
            confirmations += await persist(responses.valid)
        # Offsets are committed when this returns: only after every publish is acknowledged.
        await asyncio.gather(*confirmations)
