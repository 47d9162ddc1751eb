"""Cosine arithmetic on embedding vectors (stored unit-length, but never assumed so)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]


def unit_rows(vectors: Sequence[Sequence[float]] | npt.NDArray[np.floating]) -> Matrix:
    """Rows scaled to length 1 (a zero row stays zero), in float64 for stable sums."""
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[np.newaxis, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: Matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit


def cosine_distance(a: Sequence[float] | npt.NDArray[np.floating],
                    b: Sequence[float] | npt.NDArray[np.floating]) -> float:
    """1 − cosine similarity, in [0, 2]; 0 for identical directions."""
    rows = unit_rows(np.vstack([np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)]))
    return float(np.clip(1.0 - rows[0] @ rows[1], 0.0, 2.0))
