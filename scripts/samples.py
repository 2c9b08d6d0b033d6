"""Write docs/samples.md: what the app shows at default sliders, for reading.

    python scripts/samples.py [--catalog CSV] [--products 12] [--channels all] [--pipeline auto] [--out docs/samples.md]

4 variants for each of 12 evaluation-split catalog products (never seen in training; the same products
every time: a fixed stratified draw) per channel, with the command and settings at the top. The committed
file names each product by its title only; `--with-facts --out out/samples.md` writes a reading copy with
the catalog's facts beside the copy (kept out of the repository, like the catalog). Regenerate
it whenever the model, prompts or adapters change, and read it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv=None) -> int:
    from copy_engine.adapters.data import is_training_product
    from copy_engine.catalog import read_products
    from copy_engine.channels import CHANNELS
    from copy_engine.copy_deck import visible_product
    from copy_engine.controls import Controls
    from copy_engine.evaluation.sampling import sample_products
    from copy_engine.generate import GenerateOptions, generate
    from copy_engine.generator import get_default_generator

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--catalog", type=Path, default=ROOT.parent / "shared/data/products/amazon_products_sample.csv")
    ap.add_argument("--products", type=int, default=12)
    ap.add_argument("--channels", default="all", help="comma-separated channel names, or all")
    ap.add_argument("--pipeline", default="auto", choices=("auto", "copywriter", "fewshot"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "docs/samples.md")
    ap.add_argument("--with-facts", action="store_true", help="quote each product's facts (for a copy kept out of the repo)")
    args = ap.parse_args(argv)
    if not args.catalog.is_file():
        print(f"catalog not found: {args.catalog}", file=sys.stderr)
        return 2
    channels = list(CHANNELS) if args.channels == "all" else [c.strip() for c in args.channels.split(",")]
    products = [p for p in read_products(str(args.catalog)) if not is_training_product(p.name)]
    sample = sample_products(products, args.products, seed=1)  # seed 1: not the evaluation's draw (seed 0)
    generator = get_default_generator()
    controls = Controls()  # the app's default sliders
    lines = [
        "# Samples at default sliders",
        "",
        f"`python scripts/samples.py --products {args.products} --channels {args.channels} --pipeline {args.pipeline}`",
        "",
        f"Model `{generator.name}` on {generator.device}; sliders sentiment {controls.sentiment}, creativity "
        f"{controls.creativity}, CTA {controls.cta}; 4 variants, seed {args.seed}; {len(sample)} evaluation-split "
        "products of the catalog (never in the copy deck or adapter training). Variants are shown exactly as the "
        "app ranks them, with the usable-copy judge's score where it is installed and the copywriter model's reading.",
        "",
    ]
    t_all = time.perf_counter()
    pipeline_used = ""
    for channel in channels:
        lines += [f"## {CHANNELS[channel].label} (`{channel}`, up to {CHANNELS[channel].limit} characters)", ""]
        for sp in sample:
            p = sp.product
            # The product's title only: the catalog's rows (facts, descriptions) stay in ../shared and out of
            # the repository; `--with-facts` adds them for a reading copy written outside it (e.g. out/).
            # the facts as the prompt shows them (price included): a reader judges the copy against what the
            # model was given, not a cut-down summary of it
            facts = " | ".join(line.strip() for line in visible_product(p).facts_text().splitlines() if line.strip())
            lines.append(f"**{p.name[:90]}**" + (f" — {facts}" if args.with_facts else ""))
            lines.append("")
            try:
                r = generate(p, channel, controls, GenerateOptions(n=4, seed=args.seed, pipeline=args.pipeline),
                             generator=generator)  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - a sample file reports failures, it does not stop
                lines += [f"- (no copy: {exc})", ""]
                continue
            pipeline_used = r.settings.pipeline
            for v in r.variants:
                q, read = v.scores.get("quality"), v.scores.get("reading")
                judge = f", judge {q:.2f}" if q is not None else ""
                judge += f", reading {read:.2f}" if read is not None else ""
                lines.append(f"1. {v.text}  <sub>overall {v.scores.get('overall', 0):.2f}{judge}</sub>")
            lines += [f"<sub>{r.seconds:.1f} s</sub>", ""]
        print(f"{channel} done", file=sys.stderr, flush=True)
    lines.insert(6, f"Pipeline: **{pipeline_used}**; written in {time.perf_counter() - t_all:.0f} s.\n")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
