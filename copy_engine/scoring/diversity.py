"""Diversity of the variants shown together, and each variant's distinctness within them."""

from __future__ import annotations

import numpy as np


def set_diversity(embeddings: np.ndarray) -> float:
    """1 - mean pairwise cosine similarity of the rows (clipped to [0, 1]); 1 for fewer than two rows."""
    n = len(embeddings)
    if n < 2:
        return 1.0
    sims = embeddings @ embeddings.T
    mean = (sims.sum() - np.trace(sims)) / (n * (n - 1))
    return float(np.clip(1.0 - mean, 0.0, 1.0))


def distinctness(embeddings: np.ndarray) -> np.ndarray:
    """Per row: 1 - its highest cosine similarity to any other row (a duplicate gets 0); 1 when alone."""
    n = len(embeddings)
    if n < 2:
        return np.ones(n)
    sims = embeddings @ embeddings.T
    np.fill_diagonal(sims, -np.inf)
    return np.clip(1.0 - sims.max(axis=1), 0.0, 1.0)


def explain_distinctness(score: float, n_others: int, set_score: float) -> str:
    """One sentence about a variant's distinctness among the others shown."""
    if n_others == 0:
        return "The only variant shown, so nothing to differ from."
    where = f"among {n_others + 1} shown (set diversity {set_score:.2f})"
    if score >= 0.5:
        return f"Clearly different from the other variants {where}."
    if score >= 0.15:
        return f"Somewhat similar to another variant {where}."
    return f"Nearly a duplicate of another variant {where}."
