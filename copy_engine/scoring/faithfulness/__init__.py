"""Faithfulness: numbers, names, claims and words in a variant that the product's facts don't support.

Small models invent facts ("now 50% off", "by Sony", "clinically proven"); each
such span is returned as a Flag so the UI can highlight it. Matching is
lenient in format and strict in content: "1,000" = "1000", "50ml" = "50 ml",
"$19.99" = "19.99", case and plurals are ignored; but "50%" needs a 50% in the
facts, not just any 50, "3-month" needs a 3 that counts months (a bare 3 or
"3 pieces" is not enough), an age ("ages 3+") needs an age or years, and a
number counting something ("2 different sounds") needs the same number near
the same word in the facts.

The product's facts are normalised once into a `FactIndex` (facts.py, cached per facts string, so every
variant of a product shares it) that the checks read: quantities.py (numbers), claims.py, names.py and
vocabulary.py (any other word neither the facts nor ordinary copywriting account for: "a sturdy steel frame"
for a plastic bed) and separately.py (a thing the facts say is sold separately, named as if it came with the
product: "a toddler bed with a standard crib mattress"); words.py holds the singular forms and the normalisation they share.
"""

from __future__ import annotations

from copy_engine.scoring.faithfulness.claims import find_claims
from copy_engine.scoring.faithfulness.facts import FactIndex, fact_index
from copy_engine.scoring.faithfulness.names import find_names
from copy_engine.scoring.faithfulness.quantities import Quantity, find_numbers, find_quantities
from copy_engine.scoring.faithfulness.separately import find_separately_sold
from copy_engine.scoring.faithfulness.vocabulary import find_unbacked_words
from copy_engine.scoring.flags import FAITHFULNESS_KINDS, Flag, resolve_overlaps

__all__ = [
    "FactIndex",
    "Quantity",
    "fact_index",
    "find_claims",
    "find_names",
    "find_numbers",
    "find_quantities",
    "find_separately_sold",
    "find_unbacked_words",
    "find_unsupported",
    "score_faithfulness",
]


def find_unsupported(text: str, facts: str | FactIndex, *, words: bool = True) -> list[Flag]:
    """All unsupported numbers, names, claims and other words in `text`, and kinds of product the facts never
    mention (off_product), by position; of overlapping spans an off-product kind wins, then a claim.

    `facts` is the product's facts text (Product.facts_text()) or its FactIndex. `words=False` leaves plain
    words out (unsupported_word): for our own writing, whose word choices define the free words, and for
    training targets that are meant to be new wording.
    """
    from copy_engine.scoring.off_product import find_off_product

    index = facts if isinstance(facts, FactIndex) else fact_index(facts)
    return resolve_overlaps(
        find_numbers(text, index)
        + find_names(text, index)
        + find_claims(text, index)
        + find_separately_sold(text, index.text)
        + find_off_product(text, index.text)
        + (find_unbacked_words(text, index) if words else [])
    )


def score_faithfulness(flags: list[Flag]) -> tuple[float, str]:
    """1 with nothing unsupported, halved by each unsupported or off-product span."""
    unsupported = [f for f in flags if f.kind in FAITHFULNESS_KINDS]
    if not unsupported:
        return 1.0, "Every number, name and claim is backed by the product facts."
    if all(f.kind == "off_product" for f in unsupported):
        shown = ", ".join(f'"{f.text}"' for f in unsupported[:3])
        return 0.5 ** len(unsupported), f"Names a different kind of product: {shown}; this copy is not about this product."
    shown = ", ".join(f'"{f.text}"' for f in unsupported[:3]) + (" …" if len(unsupported) > 3 else "")
    n = len(unsupported)
    return 0.5**n, f"{n} detail{'s' if n > 1 else ''} not in the product facts: {shown}; verify or remove."
