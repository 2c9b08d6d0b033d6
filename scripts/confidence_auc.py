"""Does the model's confidence in its own words rank usable copy first? The check behind sampler confidence.

    python scripts/confidence_auc.py [--catalog CSV] [--labels FILE ...] [--scale 1.0]

For every labelled model candidate (copy_engine/examples/judge_labels*.jsonl: read by people against the
style guide) on headline channels, it computes the copywriter's mean per-token log-probability of the copy
given the copywriter's prompt (transformers, raw logits: what the sampler's confidence approximates), and the
shipped overall score of the candidates of each product and channel scored together. It prints, per label
file and channel, the share of (usable, unusable) pairs of one product that each ranking puts the right way
round: the overall score alone, and the overall × exp(scale · (log-probability − the product's median)).
The first label file's products of the judge's test fold are reported apart (the judge never trained on them).
README, "Sampler confidence", quotes its output. About 8 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
CHANNELS = ("ad_headline", "headline")


def pairs_right(groups: dict, usable: list[int], score: list[float]) -> tuple[float, int]:
    """Share of within-group (usable, unusable) pairs where the usable one scores higher (ties count half)."""
    right = total = 0.0
    for idx in groups.values():
        for i in idx:
            for j in idx:
                if usable[i] and not usable[j]:
                    total += 1
                    right += 1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0
    return (right / total if total else float("nan")), int(total)


def main(argv=None) -> int:
    import dataclasses
    import math
    import statistics

    from copy_engine.adapters.lora_run import load_copywriter_base
    from copy_engine.controls import Controls
    from copy_engine.copy_deck import products_by_key
    from copy_engine.fluency import text_nlls
    from copy_engine.model import load_model
    from copy_engine.prompts import build_copywriter_prompt
    from copy_engine.scoring import score_variants
    from copy_engine.scoring.judge_train import is_test_product, labels_path, read_labels

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--catalog", default=str(ROOT.parent / "shared/data/products/amazon_products_sample.csv"))
    ap.add_argument("--labels", nargs="*", default=[str(labels_path()), str(labels_path().with_name("judge_labels_round3.jsonl"))])
    ap.add_argument("--scale", type=float, default=1.0, help="weight of the log-probability (1: overall × probability)")
    args = ap.parse_args(argv)
    if not Path(args.catalog).is_file():
        print(f"catalog not found: {args.catalog}", file=sys.stderr)
        return 2
    products = products_by_key(args.catalog)
    loaded = load_model()
    copywriter = dataclasses.replace(loaded, model=load_copywriter_base(loaded.source, "cpu").eval())
    for n, path in enumerate(args.labels):
        ex = [e for e in read_labels(path, products) if e.channel in CHANNELS]
        prompts = [build_copywriter_prompt(e.product, e.channel, Controls()) for e in ex]
        lp = [-nll / max(k, 1) for nll, k in text_nlls(copywriter, [e.text for e in ex], prompts)]
        overall = [0.0] * len(ex)
        by_group: dict[tuple, list[int]] = {}
        for i, e in enumerate(ex):
            by_group.setdefault((e.key, e.channel), []).append(i)
        for (key, channel), idx in by_group.items():
            cards = score_variants([ex[i].text for i in idx], products[key], channel, Controls())
            for i, card in zip(idx, cards):
                overall[i] = card.overall
        adjusted = [0.0] * len(ex)
        for idx in by_group.values():
            med = statistics.median(lp[i] for i in idx)
            for i in idx:
                adjusted[i] = overall[i] * math.exp(args.scale * max(-3.0, min(3.0, lp[i] - med)))
        usable = [e.usable for e in ex]
        folds = [("all", lambda e: True)]
        if n == 0:
            folds.append(("judge test fold", lambda e: is_test_product(e.key)))
        for fold, keep in folds:
            for channel in CHANNELS:
                groups = {g: [i for i in idx if keep(ex[i])] for g, idx in by_group.items() if g[1] == channel}
                a, pairs = pairs_right(groups, usable, overall)
                b, _ = pairs_right(groups, usable, adjusted)
                print(f"{Path(path).name} [{fold}] {channel}: pairs {pairs}, overall {a:.3f}, overall x confidence {b:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
