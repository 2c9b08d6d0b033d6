"""Does a headline (or email subject) say what the product is? The style guide's rule 3: name what it is.

Readers reject a short headline that names only a character, a line or a colour ("See Purple Rain", "See
Mike Wazowski", "Discover TCG Sport") as filler, however well it scores otherwise. The words that say what a
product is are the last word of each part of its name ("Rubie's Costume Co - Batman Child Gauntlets" ->
"Co", "Gauntlets") and the words of its most specific category ("... | Costumes & Accessories | Gloves"): a
headline that uses none of them (by Snowball stem) does not say what the product is.

Measured as a reranking penalty (x0.5) on reader-labelled candidates (README, "Scoring and reranking"):
the within-product ROC AUC of the overall score for ad headlines went 0.52 -> 0.65 on 30 training-split
products whose labels nothing had been fitted to, 0.64 -> 0.78 on the 20 evaluation-split products; headlines
0.62 -> 0.63 and 0.77 -> 0.78.
"""

from __future__ import annotations

import functools
import re

from copy_engine.product import Product
from copy_engine.scoring.faithfulness.vocabulary import stem

# Channels where "name what it is" decides: headlines, and email subjects, whose readers reject "Explore aerial
# combos and destructible stages" for a video game (blind read 36: 14 unseen products' changed sets, two readers,
# 22 and 22 of 36 usable against 15 and 15, preferred 8 and 8 times against 0). Ad descriptions did not move.
KIND_CHANNELS = ("ad_headline", "headline", "email_subject")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_NAME_PARTS = re.compile(r"\s[-–|]\s|[,:()]")
MIN_LETTERS = 3


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if len(w) >= MIN_LETTERS]


@functools.lru_cache(maxsize=256)
def kind_stems(name: str, category: str) -> frozenset[str]:
    """Stems of the words that say what a product is: each name part's last word and the last category's words."""
    heads = {words[-1] for part in _NAME_PARTS.split(name) if (words := _words(part))}
    heads |= set(_words(category.split("|")[-1])) if category else set()
    return frozenset(stem(w.lower()) for w in heads)


def says_what_it_is(text: str, product: Product) -> bool:
    """True when `text` uses one of the words that say what `product` is (kind_stems)."""
    kinds = kind_stems(product.name, product.category or "")
    return not kinds or any(stem(w.lower()) in kinds for w in _words(text))
