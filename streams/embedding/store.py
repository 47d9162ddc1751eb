"""The ``embeddings`` table: one vector per answer, and its drift from the previous run.

Drift is the cosine distance to the answer of the same domain × provider × prompt × sample in
the latest earlier run (by ``runs.created_at``, not by arrival), embedded by the same model.
Samples are matched by index because the index is the call's seed where the API takes one. Seeds
are best-effort and most APIs have none, so even an unchanged model drifts a little from run to
run: a single drift says little; whether it moved is judged against the drift of earlier runs
(the scoring group's change flags, the correlation group's before/after test)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from contracts import RawResponse
from streams.embedding.distance import cosine_distance
from streams.embedding.embedder import Vectors

_UPSERT = """
INSERT INTO embeddings (call_id, run_id, domain, provider, model, model_version, prompt_id,
                        sample, embedding_model, embedder_version, dimensions, vector)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (call_id) DO UPDATE SET
    embedding_model = EXCLUDED.embedding_model, embedder_version = EXCLUDED.embedder_version,
    dimensions = EXCLUDED.dimensions, vector = EXCLUDED.vector, model_version =
    EXCLUDED.model_version, drift = NULL, previous_call_id = NULL, previous_run_id = NULL,
    embedded_at = now()
"""

_PREVIOUS = """
SELECT e.call_id, p.call_id AS previous_call_id, p.run_id AS previous_run_id, e.vector,
       p.vector AS previous_vector
FROM embeddings e
JOIN runs r ON r.run_id = e.run_id
CROSS JOIN LATERAL (
    SELECT pe.call_id, pe.run_id, pe.vector
    FROM embeddings pe JOIN runs pr ON pr.run_id = pe.run_id
    WHERE pe.domain = e.domain AND pe.provider = e.provider AND pe.prompt_id = e.prompt_id
      AND pe.sample = e.sample AND pe.embedding_model = e.embedding_model
      AND pr.created_at < r.created_at
    ORDER BY pr.created_at DESC, pe.run_id
    LIMIT 1
) p
WHERE e.call_id = ANY($1::uuid[])
"""


@dataclass(frozen=True)
class StoredEmbedding:
    response: RawResponse
    drift: float | None
    previous_run_id: UUID | None


async def store_embeddings(
    pool: asyncpg.Pool, responses: Sequence[RawResponse], vectors: Vectors, *,
    embedding_model: str, embedder_version: str,
) -> tuple[list[StoredEmbedding], list[UUID]]:
    """Upsert each answer's vector and its drift; return (stored, unknown call ids). Replaying
    the same answers writes the same rows."""
    async with pool.acquire() as connection, connection.transaction():
        known = {row["call_id"] for row in await connection.fetch(
            "SELECT call_id FROM calls WHERE call_id = ANY($1::uuid[])",
            [r.call_id for r in responses])}
        rows = [
            (r.call_id, r.run_id, r.domain, r.provider, r.model, r.model_version, r.prompt_id,
             r.sample, embedding_model, embedder_version, int(vector.shape[0]),
             [float(x) for x in vector])
            for r, vector in zip(responses, vectors, strict=True) if r.call_id in known
        ]
        await connection.executemany(_UPSERT, rows)
        previous = {
            row["call_id"]: (cosine_distance(row["vector"], row["previous_vector"]),
                             row["previous_call_id"], row["previous_run_id"])
            for row in await connection.fetch(_PREVIOUS, [row[0] for row in rows])
        }
        await connection.executemany(
            """UPDATE embeddings SET drift = $2, previous_call_id = $3, previous_run_id = $4
               WHERE call_id = $1""",
            [(call_id, *found) for call_id, found in previous.items()],
        )
    stored = []
    for r in responses:
        if r.call_id in known:
            drift, _, previous_run_id = previous.get(r.call_id, (None, None, None))
            stored.append(StoredEmbedding(r, drift, previous_run_id))
    return stored, [r.call_id for r in responses if r.call_id not in known]
