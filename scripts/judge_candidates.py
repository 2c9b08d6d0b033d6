"""Sample real model candidates on TRAINING-split products, for labelling the usable-copy judge's data.

The app's default pipeline (few-shot prompt, default sliders, shipped adapters, the default generator) writes
`--samples` raw continuations per product and channel; each is cleaned as generate() cleans it. One JSON line
per raw sample goes to `--out` (outside the repo: the lines are read and labelled by a person, and only the
labelled copy with its product KEY goes into copy_engine/examples/judge_labels.jsonl, never product facts).

    python scripts/judge_candidates.py --csv ../shared/data/products/amazon_products_sample.csv \
        --products 36 --samples 6 --out /tmp/judge_gen/cands.jsonl

Products are training-split rows of the catalog (`products_from_csv(..., 'train')`) plus our own training
catalog; never evaluation-split products.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--products", type=int, default=36)
    ap.add_argument("--own", type=int, default=6, help="how many of them come from our own training catalog")
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--channels", default="ad_headline,headline,description")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--skip", type=int, default=0, help="skip the first SKIP picked products (a later run covers more)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # the machine is shared: one thread does not spin-wait for a descheduled twin
    from copy_engine.adapters.data import is_training_product, load_training_catalog, products_from_csv
    from copy_engine.controls import Controls, map_controls
    from copy_engine.copy_deck import product_key
    from copy_engine.generator import get_default_generator
    from copy_engine.postprocess import clean_one, first_line
    from copy_engine.prompts import build_prompt

    rng = random.Random(args.seed)
    csv_pool = [p for p in products_from_csv(args.csv, 100_000, "train") if p.features or p.description]
    own_pool = load_training_catalog()
    picked = [(p, "csv") for p in rng.sample(csv_pool, args.products - args.own)]
    picked += [(p, "own") for p in rng.sample(own_pool, args.own)]
    rng.shuffle(picked)
    assert all(is_training_product(p.name) for p, s in picked if s == "csv")

    picked = picked[args.skip :]
    gen = get_default_generator()
    controls = Controls()  # the app's default sliders
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with out.open("a", encoding="utf-8") as fh:
        for i, (product, source) in enumerate(picked):
            key = product_key(product, source)
            for channel in args.channels.split(","):
                m = map_controls(controls, channel)
                prompt = build_prompt(product, channel, controls)
                raws = gen.complete(prompt, args.samples, m.decoding, seed=args.seed * 1000 + args.skip + i, adapter_weights=m.adapters)
                for j, raw in enumerate(raws):
                    c = clean_one(raw, channel, product.name, product.features)
                    row = {"product": key, "channel": channel, "sample": j, "raw": first_line(raw),
                           "clean": c.text if c else None}
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                fh.flush()
            print(f"{args.skip + i + 1}/{args.skip + len(picked)} products, {time.perf_counter() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
