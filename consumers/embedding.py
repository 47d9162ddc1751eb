"""Consumer group ``embedding``: embeds every answered call in batches, stores the vector and its
drift from the previous run in PostgreSQL, and publishes ``responses.embedded``."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts import RESPONSES_EMBEDDED, RESPONSES_RAW, RawResponse, ResponseEmbedded
from streams.embedding.embedder import EmbeddingRejected, create_embedder
from streams.embedding.store import store_embeddings
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.resources import Resources
from streams.runtime.tracing import record_span

GROUP = "embedding"


def register(resources: Resources, *, group: str = GROUP) -> None:
    """``group`` is for replays into a fresh group; deployments use ``GROUP``."""
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=group)
    embedder = create_embedder(settings, resources.http)

    async def embed(envelopes: list[Envelope[RawResponse]]) -> Confirmations:
        responses = [e.value for e in envelopes]
        try:
            vectors = await embedder.embed([r.text or "" for r in responses])
        except EmbeddingRejected as exc:
            return [await dead_letters.send(e.record, stage="embed", error=exc) for e in envelopes]
        stored, unknown = await store_embeddings(
            pool, responses, vectors, embedding_model=embedder.model_name,
            embedder_version=embedder.version,
        )
        by_id = {e.value.call_id: e for e in envelopes}
        confirmations = [
            await dead_letters.send(by_id[call_id].record, stage="embed",
                                    error=LookupError(f"no planned call {call_id}"))
            for call_id in unknown
        ]
        now = datetime.now(UTC)
        for item in stored:
            r, envelope = item.response, by_id[item.response.call_id]
            with record_span("embedding embed", envelope.headers, domain=r.domain,
                             provider=r.provider):
                message = ResponseEmbedded(
                    call_id=r.call_id, run_id=r.run_id, domain=r.domain, provider=r.provider,
                    model_version=r.model_version, prompt_id=r.prompt_id, sample=r.sample,
                    embedding_model=embedder.model_name, dimensions=int(vectors.shape[1]),
                    drift=item.drift, previous_run_id=item.previous_run_id,
                    embedder_version=embedder.version, embedded_at=now,
                )
                confirmations.append(await broker.publish(
                    message, RESPONSES_EMBEDDED.name, key=envelope.key,
                    correlation_id=str(r.call_id), no_confirm=True))
        return confirmations

    @consume_batches(resources, group=group, topics=(RESPONSES_RAW,), dead_letters=dead_letters)
    async def embedding(batch: Batch) -> Confirmations:
        # A failed call has no answer to embed; scoring counts only answered ones.
        answered = [e for e in batch.of(RawResponse) if e.value.status == "ok"]
        return await embed(answered) if answered else []
