"""Consumer group ``reality-validation``: checks each answered call against reality — does the
answer name the brand or decline, where does it rank it, how does it sound, are its facts right —
stores one verdict per call and publishes it; also checks each domain's website once a day.

Verdicts are computed from the stored response (capture's system of record), not from the
message, so they are recomputable from PostgreSQL and every replay gives the same numbers."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from opentelemetry import trace

from contracts import RESPONSES_RAW, RESPONSES_VALIDATED, RawResponse
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.durable import wait_stored
from streams.runtime.resources import Resources
from streams.runtime.tracing import batch_spans
from streams.validation.facts import fetch_facts
from streams.validation.mentions import BrandNames
from streams.validation.presence_store import PresenceScheduler
from streams.validation.store import (
    brand_names,
    mark_published,
    planned_calls,
    save_validations,
    stored_answers,
)
from streams.validation.validate import StoredAnswer, validate_answer
from streams.validation.web_presence import checker_from_settings

GROUP = "reality-validation"
logger = logging.getLogger(__name__)

def register(resources: Resources) -> None:
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=GROUP)
    presence: PresenceScheduler | None = None
    if settings.web_presence_checks:
        presence = PresenceScheduler(pool, checker_from_settings(resources.http, settings),
                                     per_batch=settings.web_presence_per_batch)

    async def stored(
        envelopes: list[Envelope[RawResponse]],
    ) -> tuple[dict[UUID, StoredAnswer], list[Envelope[RawResponse]]]:
        """The stored answers of ``envelopes`` and the envelopes of calls never planned; waits
        a bounded time for capture, then raises so the batch comes back later."""
        wanted = {e.value.call_id for e in envelopes}
        answers = await stored_answers(pool, wanted)
        missing = wanted - answers.keys()
        unplanned = missing - await planned_calls(pool, missing) if missing else set()
        answers |= await wait_stored(lambda ids: stored_answers(pool, ids),
                                     missing - unplanned, wait_s=settings.validation_wait_s,
                                     what="answers")
        return answers, [e for e in envelopes if e.value.call_id in unplanned]

    async def validate(envelopes: list[Envelope[RawResponse]]) -> None:
        answers, unplanned = await stored(envelopes)
        # The stored answer decides: a call stored as failed is not validated.
        ready = [e for e in envelopes if (a := answers.get(e.value.call_id)) and a.status == "ok"]
        domains = {e.value.domain for e in ready}
        names, facts = await brand_names(pool, domains), await fetch_facts(pool, domains)
        now = datetime.now(UTC)
        confirmations: list[asyncio.Future[Any]] = []
        sent: set[UUID] = set()
        with batch_spans("reality-validation validate", [e.headers for e in ready]) as spans:
            verdicts = []
            for envelope in ready:
                answer = answers[envelope.value.call_id]
                brand = names.get(answer.domain) or BrandNames(domain=answer.domain)
                verdicts.append(validate_answer(answer, brand, facts.get(answer.domain),
                                                validated_at=now))
            to_publish = await save_validations(pool, verdicts)
            for span, verdict in zip(spans, verdicts, strict=True):
                if verdict.call_id not in to_publish or verdict.call_id in sent:
                    continue  # unchanged since published, or twice in this batch
                sent.add(verdict.call_id)
                with trace.use_span(span, end_on_exit=False):
                    confirmations.append(await broker.publish(
                        verdict, RESPONSES_VALIDATED.name, key=verdict.domain.encode(),
                        correlation_id=str(verdict.call_id), no_confirm=True,
                    ))
        confirmations += [
            await dead_letters.send(e.record, stage="validate",
                                    error=LookupError(f"no planned call {e.value.call_id}"))
            for e in unplanned
        ]
        await asyncio.gather(*confirmations)
        await mark_published(pool, sent)

    @consume_batches(resources, group=GROUP, topics=(RESPONSES_RAW,), dead_letters=dead_letters)
    async def reality_validation(batch: Batch) -> Confirmations:
        responses = batch.of(RawResponse)
        answered = [e for e in responses if e.value.status == "ok"]
        checks = (asyncio.create_task(presence.run(e.value.domain for e in responses))
                  if presence is not None else None)
        try:
            if answered:
                await validate(answered)
        except BaseException:
            if checks is not None:
                checks.cancel()
            raise
        finally:
            if checks is not None:
                (outcome,) = await asyncio.gather(checks, return_exceptions=True)
                if isinstance(outcome, Exception):
                    logger.error("web-presence checks failed: %r", outcome)
        return []
