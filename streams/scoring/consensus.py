"""Cross-model consensus and drift per sample, from the stored answer embeddings.

- consensus of a provider's sample: for each prompt, the mean cosine similarity of its answer to
  every other provider's answers (all their samples) to the same prompt for the same domain in
  the same run; averaged over prompts. The cross-provider value is the mean over providers,
  i.e. the mean pairwise similarity of the providers' answers.
- drift of a provider's sample: for each prompt, the cosine distance of its answer to the same
  prompt × sample in the latest earlier run; averaged over prompts."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streams.embedding.distance import cosine_distance, unit_rows

SampleKey = tuple[str, int]  # (provider, sample)


@dataclass(frozen=True)
class EmbeddingRow:
    provider: str
    prompt_id: str
    sample: int
    vector: Sequence[float]


def consensus_by_sample(rows: Sequence[EmbeddingRow]) -> dict[SampleKey, float]:
    per_prompt: dict[str, list[EmbeddingRow]] = defaultdict(list)
    for row in rows:
        per_prompt[row.prompt_id].append(row)
    values: dict[SampleKey, list[float]] = defaultdict(list)
    for _, group in sorted(per_prompt.items()):
        group.sort(key=lambda r: (r.provider, r.sample))
        providers = np.array([r.provider for r in group])
        if len(set(providers.tolist())) < 2:
            continue
        matrix = unit_rows([r.vector for r in group])
        similarity = matrix @ matrix.T
        for i, row in enumerate(group):
            others = providers != row.provider
            values[(row.provider, row.sample)].append(float(similarity[i, others].mean()))
    return {key: math.fsum(found) / len(found) for key, found in sorted(values.items())}


def drift_by_sample(rows: Sequence[EmbeddingRow],
                    previous: Sequence[EmbeddingRow]) -> dict[SampleKey, float]:
    """``previous``: the previous run's embeddings of the same domain."""
    earlier = {(r.provider, r.prompt_id, r.sample): r.vector for r in previous}
    values: dict[SampleKey, list[float]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.provider, r.sample, r.prompt_id)):
        before = earlier.get((row.provider, row.prompt_id, row.sample))
        if before is not None:
            values[(row.provider, row.sample)].append(cosine_distance(row.vector, before))
    return {key: math.fsum(found) / len(found) for key, found in sorted(values.items())}
