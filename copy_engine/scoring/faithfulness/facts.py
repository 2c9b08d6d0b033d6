"""FactIndex: a product's facts normalised once for every faithfulness check of every variant."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from copy_engine.scoring.faithfulness.quantities import Quantity, facts_for_numbers, find_quantities, literal
from copy_engine.scoring.faithfulness.words import singular_forms, words_norm


@dataclass(frozen=True)
class FactIndex:
    """The forms of one product's facts that the quantity, claim and name checks compare copy against."""

    text: str  # the facts as given (Product.facts_text())
    numbers_text: str  # `text` with number words as digits and dimension chains spelled out (facts_for_numbers)
    quantities: tuple[Quantity, ...]  # every number in `numbers_text`
    literal: str  # `numbers_text` as compared with odd number forms ("24/7", "4k"): see quantities.literal
    numbers_norm: str  # `numbers_text` through words_norm, for titles like "Series 7"
    segments: tuple[tuple[frozenset[float], str], ...]  # (numbers, words_norm) of each feature/sentence
    claims_norm: str  # `text` through words_norm, for claim phrases
    name_words: frozenset[str]  # every word of `text` and its singular forms, for names

    @classmethod
    def build(cls, facts: str) -> FactIndex:
        """Normalise `facts` for every check (prefer `fact_index`, which caches)."""
        numbers_text = facts_for_numbers(facts)
        segments = tuple(
            (frozenset(q.value for q in find_quantities(seg)), words_norm(seg))
            for seg in re.split(r"[\n|;•]|(?<=[.!?])\s", numbers_text)
        )
        return cls(
            text=facts,
            numbers_text=numbers_text,
            quantities=tuple(find_quantities(numbers_text)),
            literal=literal(numbers_text),
            numbers_norm=words_norm(numbers_text),
            segments=segments,
            claims_norm=words_norm(facts),
            name_words=frozenset(_name_words(facts)),
        )

    def segments_with(self, value: float) -> str:
        """The facts' segments (feature, sentence, name) that hold number `value`, normalised and joined."""
        return " ".join(norm for values, norm in self.segments if value in values)


def _name_words(facts: str) -> set[str]:
    """Each word of the facts, joined and split at hyphens, apostrophes and dots, with its singular forms."""
    words: set[str] = set()
    low = facts.lower().replace("’", "'")
    for tok in re.findall(r"[a-z0-9]+(?:[-'.][a-z0-9]+)*", low):
        for form in (tok, tok.replace("-", "").replace("'", "").replace(".", ""), *re.split(r"[-'.]", tok)):
            if form:
                words |= singular_forms(form)
    return words


@functools.lru_cache(maxsize=64)
def fact_index(facts: str) -> FactIndex:
    """The FactIndex of `facts`, built once: every variant of a product is checked against the same facts."""
    return FactIndex.build(facts)
