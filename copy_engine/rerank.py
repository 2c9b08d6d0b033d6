"""Choose which variants to show: good ones that are not near-copies of each other (MMR)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Share of the MMR objective given to being different from what is already picked, at full creativity.
MAX_DIVERSITY_WEIGHT = 0.6
# Cosine similarity at or above which two variants count as the same copy.
DUPLICATE_SIM = 0.995


def diversity_weight_for(lam: float) -> float:
    """MMR diversity weight for a creativity weight λ in [0, 1]: 0 up to λ=0.5 (the default), growing to 0.6 at λ=1.

    Up to the middle of the creativity slider the best four are shown (only exact and near-exact repeats are
    skipped): with the reader's ranking, any diversity weight at the default showed fewer usable variants on
    reads 47-50's labelled candidates (README "The reader"). Above it, creativity asks for variety.
    """
    return MAX_DIVERSITY_WEIGHT * min(1.0, max(0.0, 2.0 * float(lam) - 1.0))


def acceptable(card) -> bool:
    """A candidate worth showing: no invented or banned detail, and the usable-copy judge does not reject it."""
    from copy_engine.scoring.flags import HARD_KINDS
    from copy_engine.scoring.judge import THRESHOLD

    return card.scores.get("quality", 1.0) >= THRESHOLD and not any(f.kind in HARD_KINDS for f in card.flags)


def _norm_text(t: str) -> str:
    return re.sub(r"\s+", " ", t.casefold()).strip(" .!?,;:\"'")


def mmr_select(
    texts: Sequence[str],
    cards: Sequence,
    embeddings: np.ndarray | None,
    n: int,
    diversity_weight: float = MAX_DIVERSITY_WEIGHT / 2,
    near: bool = False,
) -> list[int]:
    """Indices of `n` variants by maximal marginal relevance, best first.

    Each step takes argmax over the remaining i of
        (1 - w) * overall_i - w * max cosine similarity of i to the picked ones.
    The first pick is the best overall; with w = 0 the result is the top n by
    overall. Exact duplicates (same text up to case/spacing/end punctuation, or
    cosine >= DUPLICATE_SIM) of a picked variant are only taken once nothing
    else remains, and so are candidates that are not `acceptable` (an invented detail, or the judge rejects
    them): diversity never buys a worse tier ("See a Blue Boy" shown over "See the 3-Piece Comforter Set",
    which resembled one already picked). embeddings None: use each card's `embedding`, else compare texts only.
    near: near-duplicates (postprocess.near_duplicate, a word or two apart) count as duplicates too, so of a draft
    and its twins only the best is shown (generate.TWIN_CHANNELS keeps the twins in the pool), and none fills a set
    that runs short.
    Ties go to the lower index, so the result is deterministic.
    """
    count = len(texts)
    if len(cards) != count:
        raise ValueError(f"{count} texts but {len(cards)} score cards")
    if not 0.0 <= diversity_weight <= 1.0:
        raise ValueError(f"diversity_weight must be between 0 and 1, got {diversity_weight}")
    if n <= 0 or count == 0:
        return []
    overall = np.array([float(c.overall) for c in cards])
    if embeddings is None and all(getattr(c, "embedding", None) is not None for c in cards):
        embeddings = np.stack([c.embedding for c in cards])
    norm = [_norm_text(t) for t in texts]
    same = np.array([[a == b for b in norm] for a in norm])
    if embeddings is not None:
        emb = np.asarray(embeddings, dtype=float)
        if len(emb) != count:
            raise ValueError(f"{count} texts but {len(emb)} embeddings")
        sims = emb @ emb.T
        same |= sims >= DUPLICATE_SIM
    else:
        sims = same.astype(float)  # without embeddings only identical copy counts as similar

    if near:
        from copy_engine.postprocess import near_duplicate

        for i in range(count):
            for j in range(i + 1, count):
                if not same[i, j] and near_duplicate(texts[i], texts[j]):
                    same[i, j] = same[j, i] = True
    good = [acceptable(c) for c in cards]
    chosen: list[int] = []
    remaining = list(range(count))
    while remaining and len(chosen) < n:
        fresh = [i for i in remaining if not any(same[i, j] for j in chosen)]
        if near and not fresh:
            break  # fewer variants rather than one shown twice in other words
        pool = [i for i in fresh if good[i]] or fresh or remaining
        if chosen:
            penalty = sims[np.ix_(pool, chosen)].max(axis=1)
            gain = (1.0 - diversity_weight) * overall[pool] - diversity_weight * penalty
        else:
            gain = overall[pool]  # nothing to differ from yet (and w = 1 must not ignore quality)
        pick = pool[int(np.argmax(gain))]  # argmax takes the first maximum: lowest index wins ties
        chosen.append(pick)
        remaining.remove(pick)
    return chosen
