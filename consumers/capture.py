"""Consumer group ``capture``: plans each requested domain into provider calls, and persists every
raw response as the system of record, keeping each run's counters exact."""

from __future__ import annotations

import logging

from contracts import DOMAINS_REQUESTED, PROVIDER_CALLS, RESPONSES_RAW, DomainRequested, RawResponse
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope
from streams.runs.planning import PlanningError, plan_calls, resolve_request
from streams.runs.reconciler import reconcile_forever
from streams.runs.store import record_plan, record_responses, record_round
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.durable import until_stored
from streams.runtime.resources import Resources
from streams.runtime.tracing import batch_spans, record_span

GROUP = "capture"
# Planning is a consumer group of its own in the same process: a large run's planning never holds
# up the answers of the runs already under way. (Two subscribers of one group in one process can
# deadlock their start: the second's join waits for the first to rejoin, which it does only once
# it consumes.)
PLANNING_GROUP = "capture-planning"
logger = logging.getLogger(__name__)


async def reconcile(resources: Resources) -> None:
    """Re-publish calls that are due: retries whose back-off passed, and lost work."""
    settings = resources.settings
    await reconcile_forever(
        resources.pool, resources.broker, bootstrap=settings.kafka.bootstrap,
        interval_s=settings.reconcile.interval_s,
        grace_s=settings.reconcile.grace_s, lease_s=settings.call_lease_s,
        domains_grace_s=settings.run_domains_grace_s,
    )


def register(resources: Resources) -> None:
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=GROUP)
    planning_dead_letters = DeadLetters(broker, group=PLANNING_GROUP)
    providers = settings.provider_configs

    async def plan(envelope: Envelope[DomainRequested]) -> Confirmations:
        request = resolve_request(envelope.value, envelope.record, list(providers))
        with record_span("capture plan", envelope.headers, domain=request.domain):
            try:
                calls = plan_calls(request, providers)
            except PlanningError as exc:
                return [await planning_dead_letters.send(envelope.record, stage="plan", error=exc)]
            if request.rounds:
                more = await until_stored(lambda: record_round(pool, request, calls),
                                          what="capture round")
                if more is None:
                    return [await planning_dead_letters.send(envelope.record, stage="plan", error=(
                        PlanningError(f"more rounds for run {request.run_id}, which has no "
                                      f"{request.domain} planned")))]
                pending = more
            else:
                pending = await until_stored(lambda: record_plan(pool, request, calls),
                                             what="capture plan")
            return [
                await broker.publish(call, PROVIDER_CALLS.name, key=str(call.call_id).encode(),
                                     correlation_id=str(call.call_id), no_confirm=True)
                for call in pending
            ]

    async def persist(envelopes: list[Envelope[RawResponse]]) -> Confirmations:
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

    # Registered first: FastStream starts subscribers one after another, each through its
    # group's join, and answers must be stored from the moment calls are made.
    @consume_batches(resources, group=GROUP, topics=(RESPONSES_RAW,), dead_letters=dead_letters)
    async def capture_answers(batch: Batch) -> Confirmations:
        responses = batch.of(RawResponse)
        return await persist(responses) if responses else []

    @consume_batches(resources, group=PLANNING_GROUP, topics=(DOMAINS_REQUESTED,),
                     dead_letters=planning_dead_letters)
    async def capture_plans(batch: Batch) -> Confirmations:
        confirmations: Confirmations = []
        for envelope in batch.of(DomainRequested):
            confirmations += await plan(envelope)
        return confirmations
