"""Consumer group ``sources``: reads the sources of every retrieval answer from the provider body
kept with its call (never from the topic, which carries only the extracted answer), classes each
cited domain (own site, a tracked competitor's, or a third party's kind), stores them under the
extractor's version and publishes ``citations.found``.

provider-calls keeps the body in the transaction that marks the call answered, before the answer
is published, so a body is always there for an answer on the topic; an answer without one (too
large to keep, or purged) is dead-lettered with that reason, as is a body that cannot be read."""

from __future__ import annotations

from contracts import CITATIONS_FOUND, RESPONSES_RAW, CitationsFound, RawResponse
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope
from streams.providers.citations import EXTRACTOR_VERSION
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.durable import until_stored
from streams.runtime.resources import Resources
from streams.runtime.tracing import batch_spans
from streams.sources.classes import classes_from
from streams.sources.reading import (
    UnreadableBody,
    citations_found,
    decode_body,
    read_extraction,
)
from streams.sources.store import bodies, run_contexts, save_found

GROUP = "sources"


class NoStoredBody(UnreadableBody):
    """The answer's provider body is not kept (larger than the limit, or purged)."""


def register(resources: Resources, *, group: str = GROUP) -> None:
    """``group`` is for replays into a fresh group; deployments use ``GROUP``."""
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=group)
    classes = classes_from(settings.sources.classes_file)

    @consume_batches(resources, group=group, topics=(RESPONSES_RAW,), dead_letters=dead_letters)
    async def sources(batch: Batch) -> Confirmations:
        ours = [e for e in batch.of(RawResponse)
                if e.value.status == "ok" and e.value.mode == "retrieval"]
        if not ours:
            return []
        with batch_spans("sources read", [e.headers for e in ours]):
            kept = await bodies(pool, {e.value.call_id for e in ours})
            contexts = await run_contexts(pool, {e.value.run_id for e in ours})
            found: list[tuple[Envelope[RawResponse], CitationsFound]] = []
            refused: list[tuple[Envelope[RawResponse], UnreadableBody]] = []
            for envelope in ours:
                answer = envelope.value
                body, context = kept.get(answer.call_id), contexts.get(answer.run_id)
                try:
                    if context is None:
                        raise NoStoredBody(f"no run {answer.run_id} is stored here")
                    if body is None:
                        raise NoStoredBody(f"no provider body is kept for call {answer.call_id} "
                                           f"(larger than DR_BODIES_MAX_BYTES, or purged)")
                    extraction = read_extraction(body.api, decode_body(body.body))
                except UnreadableBody as exc:
                    refused.append((envelope, exc))
                    continue
                found.append((envelope, citations_found(
                    answer, extraction, version=EXTRACTOR_VERSION,
                    project=context.project.name if context.project else None, own=context.own,
                    competitors=context.competitors, classes=classes)))
            await until_stored(lambda: save_found(pool, [f for _, f in found]),
                               what="sources save")
        confirmations: Confirmations = [
            await dead_letters.send(envelope.record, stage="sources", error=error)
            for envelope, error in refused]
        for envelope, citations in found:
            confirmations.append(await broker.publish(
                citations, CITATIONS_FOUND.name, key=envelope.key,
                correlation_id=str(citations.call_id), no_confirm=True))
        return confirmations
