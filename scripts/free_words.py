"""Write copy_engine/scoring/faithfulness/free_words.txt: the words copy may use without the facts saying them.

    python scripts/free_words.py [--catalog CSV] [--min-products 3]

They are the words our own copywriters added to the copy deck without the product's facts containing them
("see", "ready", "keeps", "fans"), in at least --min-products different products, plus English function words.
Any other word of a variant must be backed by the product's facts (faithfulness/vocabulary.py). Examples of
catalog products resolve only when the catalog CSV (default ../shared/data/products/amazon_products_sample.csv)
is present; rerun this whenever the deck changes.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from copy_engine.copy_deck import load_deck, visible_product
    from copy_engine.scoring.faithfulness.facts import fact_index
    from copy_engine.scoring.faithfulness.vocabulary import FREE_WORDS_PATH, FUNCTION_WORDS, copy_words

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--catalog", type=Path, default=ROOT.parent / "shared/data/products/amazon_products_sample.csv")
    ap.add_argument("--min-products", type=int, default=3)
    args = ap.parse_args(argv)
    if not args.catalog.is_file():
        print(f"catalog not found: {args.catalog} (the deck's catalog examples need it)", file=sys.stderr)
        return 2
    pairs = load_deck(args.catalog)
    products_using: dict[str, set[str]] = defaultdict(set)
    for product, example in pairs:
        index = fact_index(visible_product(product).facts_text())
        for word in copy_words(example.text):
            if not word.backed_by(index):
                products_using[word.base].add(example.product)
    free = sorted({w for w, keys in products_using.items() if len(keys) >= args.min_products} | FUNCTION_WORDS)
    header = (
        f"# Written by scripts/free_words.py from {len(pairs)} copy-deck examples: words the deck's writers added "
        f"without the facts saying them, in >= {args.min_products} products, plus English function words."
    )
    FREE_WORDS_PATH.write_text("\n".join([header, *free]) + "\n", encoding="utf-8")
    print(f"wrote {len(free)} words to {FREE_WORDS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
