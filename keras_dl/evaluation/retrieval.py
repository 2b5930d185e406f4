"""Retrieval with binary codes (semantic hashing): precision@k by Hamming distance, and the
random-projection baseline codes.

Reference: Salakhutdinov & Hinton, "Semantic hashing", International Journal of Approximate
Reasoning 2009; Charikar, "Similarity estimation techniques from rounding algorithms", STOC
2002.
"""

from __future__ import annotations

import numpy as np


def random_projection_codes(x, bits: int, *, mean=None, seed: int = 0) -> np.ndarray:
    """`bits`-bit codes `[(x − mean) R > 0]`, R Gaussian (sign random projections; Charikar
    2002): the data-independent baseline for semantic hashing."""
    x = np.asarray(x, dtype="float32").reshape(len(x), -1)
    mean = x.mean(axis=0) if mean is None else np.asarray(mean).reshape(-1)
    projection = np.random.default_rng(seed).standard_normal((x.shape[1], bits))
    return ((x - mean) @ projection > 0).astype("float32")


def hamming_precision_at_k(codes, labels, k: int = 100, *, batch_size: int = 500,
                           seed: int = 0) -> float:
    """Mean precision@k of retrieval by Hamming distance, each example querying all others.

    For every query, the `k` other items with the smallest Hamming distance to its code are
    retrieved (ties broken at random) and precision is the fraction sharing its label: the
    retrieval measure of semantic hashing (Salakhutdinov & Hinton 2009).
    """
    codes = np.asarray(codes, dtype="float32")
    labels = np.asarray(labels)
    if not 1 <= k < len(codes):
        raise ValueError(f"k must be in [1, {len(codes) - 1}] for {len(codes)} items, got {k}")
    rng = np.random.default_rng(seed)
    precisions = []
    for start in range(0, len(codes), batch_size):
        query = codes[start:start + batch_size]
        distance = query @ (1 - codes).T + (1 - query) @ codes.T
        distance[np.arange(len(query)), np.arange(start, start + len(query))] = np.inf
        distance = distance + rng.random(distance.shape) * 0.5  # random tie-breaking
        nearest = np.argpartition(distance, k, axis=1)[:, :k]
        precisions.append((labels[nearest] == labels[start:start + len(query), None]).mean(1))
    return float(np.concatenate(precisions).mean())
