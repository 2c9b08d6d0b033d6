"""Set-level text metrics shared by adapter evaluation and the offline harness."""

from __future__ import annotations

import re
from typing import Sequence

_WORD = re.compile(r"[a-z0-9']+")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct-n (Li et al., 2016): unique n-grams / all n-grams over the set; 0 for an empty set."""
    grams = []
    for t in texts:
        w = tokens(t)
        grams += [tuple(w[i : i + n]) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def has_cta(text: str) -> bool:
    """True when the text contains a call to action (the CTA scorer's detector)."""
    from copy_engine.scoring.cta import find_ctas

    return bool(find_ctas(text))


def cta_rate(texts: Sequence[str]) -> float:
    """Share of texts with a call to action."""
    return sum(has_cta(t) for t in texts) / len(texts) if texts else 0.0


def vader_compound(text: str) -> float:
    """VADER compound sentiment in [-1, 1]."""
    from copy_engine.scoring.sentiment import compound

    return compound(text)


def faithful_rate(texts: Sequence[str], facts: str) -> float:
    """Share of texts with no unsupported numbers, names or claims."""
    from copy_engine.scoring.faithfulness import find_unsupported

    return sum(not find_unsupported(t, facts) for t in texts) / len(texts) if texts else 0.0
