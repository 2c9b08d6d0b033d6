"""Consensus: how much of what a variant says the model's other drafts for the same request say too.

A small model garbles or invents differently in every sample ("Hat-Back Costume", "Carpet That Grows Up"),
while what is true of the product recurs across samples ("Complete Cruiser", "Butterfly Net"). The agreement
of a variant is the mean, over the other drafts of its request, of the overlap (F1) of their content words
(Snowball stems); this is the idea of minimum-Bayes-risk decoding with a word-overlap utility.

Measured on reader-labelled candidates (README, "Scoring and reranking"): within a product, agreement alone
ranks usable copy above unusable with ROC AUC 0.63-0.65 on ad headlines; multiplying the overall score by the
square root of its agreement (relative to the best-agreeing variant of the request) raised the overall's
within-product AUC on 30 training-split products that nothing had been fitted to from 0.645 to 0.720 (ad
headlines) and 0.656 to 0.679 (headlines), and left it unchanged on the 20 evaluation-split products (0.792
-> 0.809, 0.794 -> 0.792).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

MIN_DRAFTS = 3  # fewer drafts say nothing about agreement: every variant gets factor 1

_WORD = re.compile(r"[A-Za-z0-9$][A-Za-z0-9.$%'’-]*")
_LITTLE = frozenset(
    """a an the and or of for with from in on by to your you it its it's this that these they them their is are
    be was has have had as at so can will while into our""".split()
)


def content_sequence(text: str) -> list[str]:
    """Lower-case words of `text` that carry content (not articles, pronouns, linking verbs), in order, a
    trailing stop cut."""
    words = (w.lower().rstrip(".").replace("’", "'") for w in _WORD.findall(text))
    return [w for w in words if w and w not in _LITTLE]


def content_words(text: str) -> frozenset[str]:
    """The set of content_sequence(text)."""
    return frozenset(content_sequence(text))


def content_stems(text: str) -> frozenset[str]:
    """content_words by Snowball stem ("colors", "colorful" -> "color"); numbers as written."""
    from copy_engine.scoring.faithfulness.vocabulary import stem

    return frozenset(stem(w) if w[0].isalpha() else w for w in content_words(text))


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """F1 of two word sets: 1 for the same words, 0 for none shared."""
    both = len(a & b)
    return 0.0 if not both else 2 * both / (len(a) + len(b))


def agreement(texts: Sequence[str], drafts: Sequence[str]) -> np.ndarray:
    """Per text, the mean overlap of its content stems with each draft (one copy of the text itself left out)."""
    draft_stems = [content_stems(d) for d in drafts]
    norm = [" ".join(d.split()).casefold() for d in drafts]
    out = np.zeros(len(texts))
    for i, text in enumerate(texts):
        mine, key = content_stems(text), " ".join(text.split()).casefold()
        scores = [overlap(mine, s) for s in draft_stems]
        if key in norm:  # the variant is one of the drafts: it does not agree with itself
            scores.pop(norm.index(key))
        out[i] = sum(scores) / len(scores) if scores else 0.0
    return out


def consensus_factors(texts: Sequence[str], drafts: Sequence[str] | None) -> np.ndarray:
    """Multipliers for the overall score: sqrt(agreement / the best agreement among `texts`), in (0, 1];
    1 for every text without drafts (an edited variant, a batch scored on its own) or with fewer than MIN_DRAFTS."""
    if not drafts or len(drafts) < MIN_DRAFTS or not len(texts):
        return np.ones(len(texts))
    ag = agreement(texts, drafts)
    best = float(ag.max())
    return np.ones(len(texts)) if best <= 0 else np.sqrt(np.maximum(ag, 0.0) / best)
