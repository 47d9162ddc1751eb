"""Embedding answers: the embedders, vector arithmetic, and the ``embeddings`` table."""

from __future__ import annotations

from streams.embedding.distance import cosine_distance, unit_rows
from streams.embedding.embedder import (
    LOCAL_MODEL_NAME,
    ApiEmbedder,
    CachedEmbedder,
    EmbeddingError,
    EmbeddingRejected,
    LocalEmbedder,
    create_embedder,
)
from streams.embedding.store import store_embeddings

__all__ = [
    "LOCAL_MODEL_NAME",
    "ApiEmbedder",
    "CachedEmbedder",
    "EmbeddingError",
    "EmbeddingRejected",
    "LocalEmbedder",
    "cosine_distance",
    "create_embedder",
    "store_embeddings",
    "unit_rows",
]
