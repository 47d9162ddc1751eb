"""Consumer group ``provider-calls``: calls the provider named in each request and publishes its
raw answer. A call another process has claimed, or that is already answered, is not paid again."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiodataloader import DataLoader

from contracts import PROVIDER_CALLS, RESPONSES_RAW, ProviderCallRequested, RawResponse
from streams.calls.caller import ProviderCaller, Unsent
from streams.calls.cost_cap import RunBudget
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope
from streams.limiter import create_limiter
from streams.ops.redrive import REDRIVE_HEADER
from streams.runs.claims import Claims, reopen_dead_lettered
from streams.runs.store import mark_answered, mark_dead_lettered, schedule_retry
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

    async def mark(answers: list[RawResponse]) -> list[None]:
        await mark_answered(pool, answers, max_body_bytes=settings.bodies.max_bytes)
        return [None] * len(answers)  # one result per answer, as DataLoader wants

    # Answers that arrive together are marked in one statement.
    answered = DataLoader[RawResponse, None](
        mark, cache=False, get_cache_key=lambda answer: answer.call_id, max_batch_size=500)

    async def within_budget(
        request: ProviderCallRequested, attempts_before: int, claims: Claims
    ) -> RawResponse | Unsent:
        """The call, if its run's cost cap leaves room for the most it can cost."""
        admission = await budget.admit(request.run_id, caller.max_cost_usd(request))
        if admission is None:
            return caller.skipped(request, "BudgetExhausted",
                                  "the run's cost cap is reached; not sent")
        try:
            outcome = await caller.call(
                request, attempts_before=attempts_before,
                still_ours=lambda: claims.still_ours(request.call_id))
        except BaseException:
            # Nothing was spent: hand the reservation back before the batch is redelivered.
            await budget.settle(admission, 0.0)
            raise
        await budget.settle(admission, outcome.cost_usd if isinstance(outcome, RawResponse)
                            else 0.0)
        return outcome

    async def call(envelope: Envelope[ProviderCallRequested],
                   claims: Claims) -> asyncio.Future[Any] | None:
        request = envelope.value
        with record_span("provider-calls call", envelope.headers, domain=request.domain,
                         provider=request.provider):
            attempts_before = claims.attempts.get(request.call_id)
            if attempts_before is None:
                return None  # another process holds it, or it is settled
            try:
                outcome = await within_budget(request, attempts_before, claims)
            finally:
                claims.release(request.call_id)
            if isinstance(outcome, Unsent) and outcome.status == "abandoned":
                return None
            if isinstance(outcome, RawResponse):
                answer = outcome
                await until_stored(lambda: answered.load(answer), what="provider-calls answered")
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
        # A request delivered twice in one batch is made once.
        envelopes: dict[uuid.UUID, Envelope[ProviderCallRequested]] = {}
        for envelope in batch.of(ProviderCallRequested):
            envelopes.setdefault(envelope.value.call_id, envelope)
        await until_stored(lambda: reopen_dead_lettered(
            pool, [call_id for call_id, e in envelopes.items() if REDRIVE_HEADER in e.headers]),
            what="provider-calls redrive")
        # One token for the batch's claims: renewals and the check before paying are for them.
        claims = await until_stored(lambda: Claims.take(
            pool, list(envelopes), uuid.uuid4(), lease_s=settings.call_lease_s),
            what="provider-calls claim")
        async with claims.kept():
            published = await asyncio.gather(*(call(e, claims) for e in envelopes.values()))
        return [future for future in published if future is not None]
