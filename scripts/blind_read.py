"""Blind read: both pipelines' variant sets for the same products, shuffled and unlabelled.

    python scripts/blind_read.py [--products 20] [--channels ad_headline,headline,description]
        [--out out/blind_read/sets.md] [--key /tmp/blind_key.json]

For each evaluation-split product and channel, the app's 4 variants at default sliders from the few-shot
pipeline and from the copywriter are written as set "A" and set "B" in a random order; which is which goes
only to --key (keep it away from the reader). A reader counts usable variants per set with the style
guide's rubric (docs/style-guide.md) and says which set of the two they prefer; `--score COUNTS.json`
then joins the counts with the key and prints the totals per pipeline. The sets quote catalog facts, so they
are written under out/ (ignored by git): the shared data never goes into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
PIPELINES = ("fewshot", "copywriter")


def write_sets(args) -> int:
    from copy_engine.adapters.data import is_training_product
    from copy_engine.catalog import read_products
    from copy_engine.controls import Controls
    from copy_engine.evaluation.sampling import sample_products
    from copy_engine.generate import GenerateOptions, generate
    from copy_engine.generator import get_default_generator

    products = [p for p in read_products(str(args.catalog)) if not is_training_product(p.name)]
    sample = sample_products(products, args.products, seed=2)  # not the evaluation's (0) or samples.md's (1) draw
    generator = get_default_generator()
    rng = random.Random(args.seed)
    key, lines = {}, ["# Blind read", "", "Count usable variants per set (docs/style-guide.md rubric) and say which set you prefer.", ""]
    # Product by product, all channels each: a run stopped early still covers every channel.
    for i, sp in enumerate(sample):
        for channel in args.channels.split(","):
            p = sp.product
            item = f"{channel}-{i + 1}"
            lines += [f"## {item}", ""]
            facts = "; ".join(p.features[:4]) or p.description[:200]
            lines += [f"Product: {p.name}", "", f"Facts: {facts[:400]}" + (f" Price: {p.price}" if p.price else ""), ""]
            order = list(PIPELINES)
            rng.shuffle(order)
            key[item] = dict(zip("AB", order))
            for label, pipeline in zip("AB", order):
                try:
                    r = generate(p, channel, Controls(), GenerateOptions(n=4, seed=0, pipeline=pipeline), generator=generator)
                    texts = [v.text for v in r.variants]
                except Exception as exc:  # noqa: BLE001 - an empty set counts as zero usable
                    texts = [f"(no copy: {exc})"]
                lines.append(f"Set {label}:")
                lines += [f"- {t}" for t in texts]
                lines.append("")
            # Written after every item, so a long run can be read (and scored) while it goes on.
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
            Path(args.key).write_text(json.dumps(key, indent=1), encoding="utf-8")
            print(item, file=sys.stderr, flush=True)
    print(f"wrote {args.out} and the key {args.key}")
    return 0


def score(args) -> int:
    """COUNTS.json: {item: {"A": usable, "B": usable, "prefer": "A"|"B"|"tie", "shown": {"A": n, "B": n}}}."""
    key = json.loads(Path(args.key).read_text())
    counts = json.loads(Path(args.score).read_text())
    tot = {p: {} for p in PIPELINES}
    prefer = {p: {} for p in PIPELINES}
    for item, c in counts.items():
        channel = item.rsplit("-", 1)[0]
        for label in "AB":
            pipeline = key[item][label]
            u, n = tot[pipeline].get(channel, (0, 0))
            tot[pipeline][channel] = (u + int(c[label]), n + int(c.get("shown", {}).get(label, 4)))
        winner = c.get("prefer")
        for pipeline in PIPELINES:
            w, n = prefer[pipeline].get(channel, (0, 0))
            prefer[pipeline][channel] = (w + (winner in "AB" and key[item][winner] == pipeline), n + 1)
    print(json.dumps({"usable": tot, "preferred": prefer}, indent=1))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--catalog", type=Path, default=ROOT.parent / "shared/data/products/amazon_products_sample.csv")
    ap.add_argument("--products", type=int, default=20)
    ap.add_argument("--channels", default="ad_headline,headline,description")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "out/blind_read/sets.md")
    ap.add_argument("--key", default="/tmp/blind_key.json")
    ap.add_argument("--score", default=None, help="counts JSON from the reader: print totals per pipeline")
    args = ap.parse_args(argv)
    return score(args) if args.score else write_sets(args)


if __name__ == "__main__":
    raise SystemExit(main())
