"""Metrics of one product's variant set, and how they are aggregated.

Every metric is computed per product (over the variants shown together for
it) and then averaged over products, so bootstrap intervals resample products.
Higher is better for all metrics except self-BLEU and perplexity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from copy_engine.channels import get_channel
from copy_engine.product import Product
from copy_engine.textmetrics import cta_rate, distinct_n, faithful_rate, vader_compound

# name -> (label, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "predicted_ctr": ("Predicted CTR (percentile)", True),
    "cta_rate": ("CTA rate", True),
    "faithfulness": ("Faithfulness (no unsupported claims)", True),
    "distinct_1": ("Distinct-1", True),
    "distinct_2": ("Distinct-2", True),
    "self_bleu": ("Self-BLEU (lower = more diverse)", False),
    "embedding_diversity": ("Embedding diversity", True),
    "novelty": ("Novelty vs product text", True),
    "readability": ("Readability score (channel target)", True),
    "reading_ease": ("Flesch reading ease", True),
    "length_ok": ("Length-limit compliance", True),
    "perplexity": ("Perplexity under base model (lower = more fluent)", False),
    "raw_yield": ("Raw yield (samples clean and unflagged)", True),
    "judged_usable": ("Judged usable (judge >= 0.5)", True),
}
# Every quantity compared between configurations: the set metrics and, on checked products, the sentiment order.
COMPARED: tuple[str, ...] = (*METRICS, "sentiment_accuracy", "sentiment_pairwise")


def self_bleu(texts: Sequence[str]) -> float:
    """Mean sentence BLEU (sacrebleu, 0-1) of each text against the others; 0 for fewer than two texts.

    High self-BLEU means the variants repeat each other's n-grams.
    """
    texts = [t for t in texts if t.strip()]
    if len(texts) < 2:
        return 0.0
    from sacrebleu.metrics import BLEU

    bleu = BLEU(effective_order=True)  # sentence-level: short copy rarely has 4-gram matches
    scores = [bleu.sentence_score(t, texts[:i] + texts[i + 1 :]).score for i, t in enumerate(texts)]
    return float(np.mean(scores)) / 100.0


def length_ok_rate(texts: Sequence[str], channel: str) -> float:
    """Share of texts within the channel's length limits (min_chars..limit characters)."""
    ch = get_channel(channel)
    return sum(ch.min_chars <= len(t) <= ch.limit for t in texts) / len(texts) if texts else 0.0


def novelty_scores(text_emb: np.ndarray, ref_emb: np.ndarray) -> np.ndarray:
    """Per text: 1 - highest cosine similarity to the product's own text (1 when it has none)."""
    if len(ref_emb) == 0:
        return np.ones(len(text_emb))
    return 1.0 - np.clip((text_emb @ ref_emb.T).max(axis=1), 0.0, 1.0)


def set_metrics(
    texts: Sequence[str],
    product: Product,
    channel: str,
    *,
    embedder,
    ctr_predictor,
    fluency: Callable[[Sequence[str]], float] | None = None,
) -> dict[str, float]:
    """All metrics of one product's variants (see METRICS); NaN when there are no texts.

    `fluency(texts)` returns a perplexity (None: perplexity is left out).
    """
    from copy_engine.scoring.diversity import set_diversity
    from copy_engine.scoring.novelty import references
    from copy_engine.scoring.readability import flesch, score_readability

    texts = list(texts)
    if not texts:
        return {k: math.nan for k in METRICS} | {"n_variants": 0}
    ch = get_channel(channel)
    refs = [r for _, r in references(product)]
    emb = np.asarray(embedder.encode(texts + refs), dtype=np.float32)
    text_emb, ref_emb = emb[: len(texts)], emb[len(texts) :]
    out = {
        "predicted_ctr": float(np.mean(ctr_predictor.percentile(texts))),
        "cta_rate": cta_rate(texts),
        "faithfulness": faithful_rate(texts, product.facts_text()),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "self_bleu": self_bleu(texts),
        "embedding_diversity": set_diversity(text_emb),
        "novelty": float(np.mean(novelty_scores(text_emb, ref_emb))),
        "readability": float(np.mean([score_readability(t, ch.name, ch.label)[0] for t in texts])),
        "reading_ease": float(np.mean([flesch(t)[0] for t in texts])),
        "length_ok": length_ok_rate(texts, channel),
        "perplexity": float(fluency(texts)) if fluency is not None else math.nan,
        "n_variants": len(texts),
    }
    return out


def mean_sentiment(texts: Sequence[str]) -> float:
    """Mean VADER compound score of a variant set (NaN when empty)."""
    return float(np.mean([vader_compound(t) for t in texts])) if texts else math.nan


def sentiment_order(calm: float, neutral: float, enthusiastic: float) -> tuple[bool, float]:
    """(all three in the slider's order, share of the three pairs in order) for mean VADER scores
    generated at sentiment -1, 0 and +1."""
    pairs = [calm < neutral, neutral < enthusiastic, calm < enthusiastic]
    return all(pairs), sum(pairs) / 3.0


def mean_of(rows: Sequence[dict], key: str) -> float:
    """Mean of `key` over rows, ignoring NaN; NaN when no row has a value."""
    vals = [r[key] for r in rows if key in r and r[key] is not None and not math.isnan(r[key])]
    return float(np.mean(vals)) if vals else math.nan
