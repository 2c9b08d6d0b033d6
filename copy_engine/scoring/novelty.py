"""Novelty: how different a variant is from the product's own copy and copy already saved for it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from copy_engine.product import Product


def references(product: Product, existing: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(label, text) of everything a new variant should not repeat: description, features, saved copy."""
    refs = []
    if product.description:
        refs.append(("the product description", product.description))
    refs += [("a product feature", f) for f in product.features]
    refs += [("copy already saved", t) for t in existing if isinstance(t, str) and t.strip()]
    return refs


def product_line(product: Product) -> str:
    """What the product is, in one line (name, brand, category): the anchor for relevance."""
    extra = ", ".join(x for x in (product.brand, product.category.replace("|", ">")) if x)
    return f"{product.name} ({extra})" if extra else product.name


def score_novelty(embedding: np.ndarray, ref_embeddings: np.ndarray, ref_labels: Sequence[str]) -> tuple[float, str]:
    """1 - max cosine similarity to the references (clipped to [0, 1]); 1 when there is nothing to compare."""
    if len(ref_labels) == 0:
        return 1.0, "Nothing to compare against yet (no description, features or saved copy)."
    sims = ref_embeddings @ embedding
    i = int(np.argmax(sims))
    top = float(np.clip(sims[i], 0.0, 1.0))
    score = 1.0 - top
    if score >= 0.5:
        return score, f"Fresh wording: at most {top:.0%} similar to {ref_labels[i]}."
    if score >= 0.2:
        return score, f"Partly reuses existing wording: {top:.0%} similar to {ref_labels[i]}."
    return score, f"Close to a copy of {ref_labels[i]} ({top:.0%} similar)."
