"""Consumer group ``provider-calls``: calls the provider named in each request and publishes its
raw answer. A call another process has claimed, or that is already answered, is not paid again."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from contracts import PROVIDER_CALLS, RESPONSES_RAW, ProviderCallRequested, RawResponse
from streams.calls.caller import ProviderCaller, Unsent
from streams.calls.cost_cap import RunBudget
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope
from streams.limiter import create_limiter
from streams.ops.redrive import REDRIVE_HEADER
from streams.runs.store import (
    claim_call,
    hold_claim,
    keep_claimed,
    mark_answered,
    mark_dead_lettered,
    schedule_retry,
)
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.durable import until_stored
from streams.runtime.resources import Resources
from streams.runtime.tracing import record_span

GROUP = "provider-calls"


def register(resources: Resources) -> None:
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=GROUP)
    caller = ProviderCaller(settings, resources.provider_http,
                            create_limiter(settings, resources.redis))
    budget = RunBudget(resources.redis, pool, max_wait_s=settings.limiter.max_wait_s)

    async def within_budget(
        request: ProviderCallRequested, attempts_before: int, token: uuid.UUID
    ) -> RawResponse | Unsent:
        """The call, if its run's cost cap leaves room for the most it can cost."""
        admission = await budget.admit(request.run_id, caller.max_cost_usd(request))
        if admission is None:
            return caller.skipped(request, "BudgetExhausted",
                                  "the run's cost cap is reached; not sent")
        try:
            outcome = await caller.call(
                request, attempts_before=attempts_before,
                still_ours=lambda: hold_claim(pool, request.call_id, token))
        except BaseException:
            # Nothing was spent: hand the reservation back before the batch is redelivered.
            await budget.settle(admission, 0.0)
            raise
        await budget.settle(admission, outcome.cost_usd if isinstance(outcome, RawResponse)
                            else 0.0)
        return outcome

    async def call(envelope: Envelope[ProviderCallRequested]) -> asyncio.Future[Any] | None:
        request = envelope.value
        with record_span("provider-calls call", envelope.headers, domain=request.domain,
                         provider=request.provider):
            # This claim's own token: renewals and the check before paying are for it alone.
            token = uuid.uuid4()
            attempts_before = await until_stored(
                lambda: claim_call(pool, request.call_id, token, lease_s=settings.call_lease_s,
                                   redriven=REDRIVE_HEADER in envelope.headers),
                what="provider-calls claim",
            )
            if attempts_before is None:
                return None
            async with keep_claimed(pool, request.call_id, token,
                                    lease_s=settings.call_lease_s):
                outcome = await within_budget(request, attempts_before, token)
            if isinstance(outcome, Unsent) and outcome.status == "abandoned":
                return None
            if isinstance(outcome, RawResponse):
                answer = outcome
                await until_stored(lambda: mark_answered(
                    pool, request.call_id, answer, max_body_bytes=settings.bodies.max_bytes),
                    what="provider-calls answered")
                future: asyncio.Future[Any] = await broker.publish(
                    answer, RESPONSES_RAW.name, key=envelope.key,
                    correlation_id=str(request.call_id), no_confirm=True,
                )
                return future
            reason = f"{outcome.error_type}: {outcome.message}"
            if outcome.status == "retry":
                await until_stored(lambda: schedule_retry(
                    pool, request.call_id, attempts=outcome.attempts, delay_s=outcome.delay_s,
                    error=reason), what="provider-calls retry")
                return None
            # The dead letter is confirmed before the call is marked, so a crash between the
            # two leads to a second dead letter, never to a call marked with none.
            await (await dead_letters.send(envelope.record, stage="provider",
                                           error=outcome.error, attempts=outcome.attempts))
            await until_stored(lambda: mark_dead_lettered(
                pool, request.call_id, attempts=outcome.attempts, error=reason,
                coverage_target=settings.coverage_target), what="provider-calls dead letter")
            return None

    @consume_batches(resources, group=GROUP, topics=(PROVIDER_CALLS,), dead_letters=dead_letters)
    async def provider_calls(batch: Batch) -> Confirmations:
        published = await asyncio.gather(*(call(e) for e in batch.of(ProviderCallRequested)))
        return [future for future in published if future is not None]
