"""`evaluate-adapters`: measure each shipped adapter's effect (weight 1, and -1 for tone, vs 0) on unseen products."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "evaluate-adapters"
HELP = ("Compare adapters on (weight 1; -1 for tone) vs off on catalog products not used for training: "
        "sentiment, CTA rate, distinct-2, novelty, faithfulness, perplexity.")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", required=True, help="catalog CSV (import format); evaluation-split rows are used")
    parser.add_argument("--n-products", type=int, default=50, help="products to evaluate (default 50)")
    parser.add_argument("--variants", type=int, default=4, help="variants per product and setting (default 4)")
    parser.add_argument("--channel", default="headline", help="channel to write for (default headline)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--no-perplexity", action="store_true", help="skip the perplexity check (faster)")
    parser.add_argument("--save-metrics", action="store_true", help="store the measured effects in the shipped adapters' metadata")
    parser.add_argument("--samples-out", help="write every sampled text (JSON) here for inspection")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument("--pipeline", choices=("auto", "copywriter", "fewshot"), default="auto",
                        help="whose slider adapters: the copywriter's (copywriter-tone, ...; on top of the fine-tune) "
                             "or the few-shot pipeline's (on the base model); auto = the copywriter's when loaded")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from copy_engine.adapters.data import products_from_csv
    from copy_engine.adapters.evaluate import evaluate, format_tables
    from copy_engine.channels import get_channel
    from copy_engine.errors import InputError

    get_channel(args.channel)
    if not 1 <= args.n_products <= 1000:
        raise InputError(f"--n-products must be between 1 and 1000, got {args.n_products}")
    if not 1 <= args.variants <= 8:
        raise InputError(f"--variants must be between 1 and 8, got {args.variants}")
    path = Path(args.catalog)
    if not path.is_file():
        raise InputError(f"catalog not found: {path}")
    products = products_from_csv(path, args.n_products, "eval")
    if not products:
        raise InputError(f"{path.name}: no evaluation-split products found")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from copy_engine.generator import get_default_generator

    from copy_engine.adapters.mixing import ON_COPYWRITER

    gen = get_default_generator()
    sliders = ("tone", "calm", "cta", "creative")
    on_copywriter = args.pipeline == "copywriter" or (
        args.pipeline == "auto" and any(ON_COPYWRITER + n in gen.adapter_names for n in sliders))
    prefix = ON_COPYWRITER if on_copywriter else ""
    missing = [prefix + n for n in sliders if prefix + n not in gen.adapter_names]
    if on_copywriter:
        # The copywriter's set may be partial (README: tone and creative found too little to learn from);
        # a missing adapter is measured as what it is, no change, and named in the result.
        if "copywriter" not in gen.adapter_names or len(missing) == len(sliders):
            raise InputError("the copywriter pipeline's adapters are missing (see scripts/train_copywriter_adapters.sh)")
    elif any(n in missing for n in ("tone", "cta", "creative")):
        raise InputError(f"shipped adapters missing or unusable: {', '.join(missing)} (see scripts/train_shipped_adapters.sh)")

    def progress(done, total, name):
        if done % 10 == 0 or done == total:
            print(f"{done}/{total} ({name})", file=sys.stderr, flush=True)

    summary, metrics, samples = evaluate(gen, products, args.channel, args.variants, args.seed,
                                         with_perplexity=not args.no_perplexity, progress=progress,
                                         on_copywriter=on_copywriter)  # fmt: skip
    summary["pipeline"] = "copywriter" if on_copywriter else "fewshot"
    summary["missing_adapters"] = missing
    if args.samples_out:
        Path(args.samples_out).write_text(json.dumps(
            {"products": [p.name for p in samples.products], "texts": samples.texts, "metrics": metrics}, indent=1))
    if args.save_metrics:
        from copy_engine.adapters.registry import SHIPPED_DIR, update_metrics

        common = {"n_products": summary["n_products"], "channel": args.channel, "side_effects": summary["side_effects"]}
        for name in ("tone", "cta", "creative"):
            if prefix + name in missing:
                continue
            update_metrics(SHIPPED_DIR / f"{prefix}{name}.safetensors", {**summary[name], **common, "matrix": summary["matrix"][name]})
        if prefix + "calm" not in missing:
            # The calm adapter is what tone -1 switches on: its effect is the tone row's neg_delta.
            off, delta = summary["tone"]["off"], summary["tone"]["neg_delta"]
            calm = {"metric": "vader_compound", "off": off, "on": round(off + delta, 4), "delta": delta}
            update_metrics(SHIPPED_DIR / f"{prefix}calm.safetensors", {**calm, **common})
    if args.format == "json":
        print(json.dumps(summary))
    else:
        print(format_tables(summary, metrics))
    return 0
