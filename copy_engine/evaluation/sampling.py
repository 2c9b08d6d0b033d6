"""Reading products from a catalog CSV and sampling them, stratified by top-level category."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from copy_engine.errors import InputError
from copy_engine.product import Product

OTHER = "Other"  # categories too small to report on their own, and products with no category


@dataclass(frozen=True)
class SampledProduct:
    """One product drawn for the evaluation, with the stratum it was drawn from."""

    index: int  # position in the sample; also picks the product's generation seed
    category: str  # stratum: the top-level category, or OTHER
    product: Product


def strata(products: list[Product], min_size: int = 10) -> dict[str, list[Product]]:
    """Products grouped by top-level category; categories with fewer than `min_size` products pool into OTHER."""
    groups: dict[str, list[Product]] = defaultdict(list)
    for p in products:
        groups[p.top_category or OTHER].append(p)
    out: dict[str, list[Product]] = defaultdict(list)
    for name, members in groups.items():
        out[name if len(members) >= min_size and name != OTHER else OTHER].extend(members)
    return dict(sorted(out.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def allocate(sizes: dict[str, int], n: int, floor: int = 2) -> dict[str, int]:
    """How many products to draw per stratum: `floor` each when n allows (so every category
    can be reported), the rest proportional to stratum size (largest remainders)."""
    total = sum(sizes.values())
    n = min(n, total)
    take = {k: 0 for k in sizes}
    if n >= floor * len(sizes):
        take = {k: min(floor, s) for k, s in sizes.items()}
    left = n - sum(take.values())
    room = {k: sizes[k] - take[k] for k in sizes}
    if left > 0:
        quota = {k: left * room[k] / max(1, sum(room.values())) for k in sizes}
        for k in sizes:
            add = min(room[k], int(quota[k]))
            take[k] += add
            room[k] -= add
        left = n - sum(take.values())
        # Largest remainders first; ties go to the bigger stratum.
        for k in sorted(sizes, key=lambda k: (-(quota[k] - int(quota[k])), -sizes[k], k)):
            if left <= 0:
                break
            if room[k] > 0:
                take[k] += 1
                room[k] -= 1
                left -= 1
        while left > 0:  # quotas capped by small strata: fill from any stratum with room
            k = max(room, key=lambda k: room[k])
            take[k] += 1
            room[k] -= 1
            left -= 1
    return take


def sample_products(products: list[Product], n: int, seed: int = 0, min_stratum: int = 10) -> list[SampledProduct]:
    """`n` products drawn without replacement, stratified by top-level category.

    The order interleaves categories (round robin), so any prefix of the
    sample (e.g. the sentiment-check subset) covers several categories.
    """
    if n <= 0:
        raise InputError(f"the number of products must be positive, got {n}")
    groups = strata(products, min_stratum)
    counts = allocate({k: len(v) for k, v in groups.items()}, n)
    rng = random.Random(seed)
    drawn = {k: rng.sample(groups[k], counts[k]) for k in groups}
    order: list[tuple[str, Product]] = []
    for i in range(max(counts.values(), default=0)):
        order += [(k, drawn[k][i]) for k in groups if i < len(drawn[k])]
    return [SampledProduct(i, cat, p) for i, (cat, p) in enumerate(order)]
