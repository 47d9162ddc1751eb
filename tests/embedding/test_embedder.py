"""Embedders: the local model shipped in a package, and an OpenAI-compatible API through a mock
transport (its parsing, retries and refusals)."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from streams.embedding.distance import cosine_distance
from streams.embedding.embedder import (
    LOCAL_MODEL_NAME,
    ApiEmbedder,
    CachedEmbedder,
    EmbeddingError,
    EmbeddingRejected,
    LocalEmbedder,
)

APPLE = "Apple is a consumer electronics company founded in 1976 in the United States."
APPLE_TOO = "Founded in 1976, Apple is a well-known consumer electronics brand from the US."
DECLINE = "I don't have any reliable information about example.org."


async def test_local_model_puts_similar_answers_close() -> None:
    embedder = LocalEmbedder(batch_size=8)
    vectors = await embedder.embed([APPLE, APPLE_TOO, DECLINE, APPLE])
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert cosine_distance(vectors[0], vectors[3]) < 1e-5
    assert cosine_distance(vectors[0], vectors[1]) < 0.5 * cosine_distance(vectors[0], vectors[2])
    alone = await embedder.embed([APPLE])
    assert cosine_distance(alone[0], vectors[0]) < 1e-5  # batch company does not matter
    assert embedder.model_name == LOCAL_MODEL_NAME and "gt-0.1.0" in embedder.version


def _api(handler: httpx.MockTransport) -> ApiEmbedder:
    client = httpx.AsyncClient(transport=handler)
    return ApiEmbedder(client, base_url="https://api.example/v1", api_key="sk-test",
                       model="text-embedding-3-small", provider="openai", chunk=2)


async def test_api_embedder_batches_sorts_and_normalises() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.url == "https://api.example/v1/embeddings"
        assert request.headers["authorization"] == "Bearer sk-test"
        data = [{"index": i, "embedding": [float(len(text)), 0.0, 3.0]}
                for i, text in enumerate(body["input"])]
        return httpx.Response(200, json={"data": data[::-1], "model": body["model"]})

    vectors = await _api(httpx.MockTransport(handler)).embed(["a", "bbb", "cc"])
    assert [len(b["input"]) for b in seen] == [2, 1]  # type: ignore[arg-type]
    assert vectors.shape == (3, 3)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[1][0] > vectors[0][0]  # order restored from "index"


async def test_api_embedder_retries_transient_and_refuses_permanent() -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"retry-after": "0"})
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0, 0.0]}]})

    assert (await _api(httpx.MockTransport(flaky)).embed(["x"])).shape == (1, 2)
    assert calls["n"] == 2

    with pytest.raises(EmbeddingRejected, match="401"):
        await _api(httpx.MockTransport(lambda r: httpx.Response(401, text="bad key"))).embed(["x"])
    with pytest.raises(EmbeddingError, match="expected 1"):
        await _api(httpx.MockTransport(
            lambda r: httpx.Response(200, json={"data": []}))).embed(["x"])


async def test_cache_embeds_each_distinct_text_once() -> None:
    batches: list[list[str]] = []

    class Counting:
        model_name = "m"
        version = "v"

        async def embed(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
            batches.append(list(texts))
            return np.eye(4, dtype=np.float32)[[len(t) % 4 for t in texts]]

    cached = CachedEmbedder(Counting(), max_entries=10)
    first = await cached.embed(["a", "bb", "a"])
    second = await cached.embed(["bb", "ccc"])
    assert batches == [["a", "bb"], ["ccc"]]
    assert np.array_equal(first[1], second[0])
