"""Check copy-deck files against the style guide's hard rules (docs/style-guide.md).

    python scripts/check_copy_deck.py [--catalog CSV] [FILE.jsonl ...]

Prints one line per failing example (file:line: problems) and a summary per channel/tone/cta;
exit 1 when any example fails or refers to an unknown product. Without files it checks the whole
shipped deck. Examples of catalog products resolve only when --catalog (default
../shared/data/products/amazon_products_sample.csv) is present.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from copy_engine.copy_deck import DeckExample, deck_dir, own_products, problems, products_by_key  # noqa: E402

DEFAULT_CATALOG = Path(__file__).resolve().parents[1].parent / "shared/data/products/amazon_products_sample.csv"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    args = ap.parse_args(argv)
    files = args.files or sorted(deck_dir().glob("part*.jsonl"))
    folder = files[0].parent if files else deck_dir()
    products = products_by_key(args.catalog, folder)
    # Two products with one name share a key, and the later file would silently win.
    names = Counter(p.name.strip().casefold() for p in own_products(folder))
    clashes = [n for n, k in names.items() if k > 1]
    for n in clashes:
        print(f"product name used twice (keys clash): {n!r}")
    by_product: dict[str, list[str]] = defaultdict(list)
    bad = 0
    counts: Counter = Counter()
    for path in files:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                ex = DeckExample(d["product"], d["channel"], d["tone"], d["cta"], d["text"])
            except (ValueError, KeyError, TypeError) as e:
                print(f"{path.name}:{i}: not a deck example ({e})")
                bad += 1
                continue
            product = products.get(ex.product)
            if product is None:
                print(f"{path.name}:{i}: unknown product {ex.product}")
                bad += 1
                continue
            found = problems(ex, product, by_product[ex.product])
            by_product[ex.product].append(ex.text)
            counts[(ex.channel, ex.tone, ex.cta)] += 1
            if found:
                bad += 1
                print(f"{path.name}:{i}: [{ex.channel}] {ex.text!r}: " + "; ".join(found))
    total = sum(counts.values())
    print(f"{total} examples for {len(by_product)} products; {bad} failing")
    per_channel = Counter()
    for (ch, _, _), n in counts.items():
        per_channel[ch] += n
    print("per channel: " + ", ".join(f"{k} {v}" for k, v in sorted(per_channel.items())))
    return 1 if bad or clashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
