"""`generate`: write scored copy variants for one product (a contract: keep flags stable)."""

from __future__ import annotations

import json
import sys

from copy_engine.channels import CHANNELS

NAME = "generate"
HELP = "Generate scored copy variants for a product described in a JSON file."


def add_arguments(p) -> None:
    p.add_argument("--product", required=True, metavar="FILE.json", help="product JSON: name, brand, category, features, price, description")
    p.add_argument("--channel", default="headline", help=f"one of: {', '.join(CHANNELS)}")
    p.add_argument("--n", type=int, default=4, help="number of variants (1-8)")
    p.add_argument("--sentiment", type=float, default=0.0, help="-1 calm … +1 enthusiastic")
    p.add_argument("--creativity", type=float, default=0.5, help="0 literal … 1 bold")
    p.add_argument("--cta", type=float, default=0.5, help="0 no call to action … 1 strong")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--audience", default="")
    p.add_argument("--brand-voice", default="")
    p.add_argument("--no-rerank", action="store_true", help="skip over-generation and reranking")
    p.add_argument("--format", choices=["json", "table"], default="table")


def run(args) -> int:
    from copy_engine.channels import get_channel
    from copy_engine.controls import Controls
    from copy_engine.generate import GenerateOptions, generate
    from copy_engine.product import Product

    # Validate everything cheap before loading the model.
    product = Product.from_json_file(args.product)
    get_channel(args.channel)
    controls = Controls(args.sentiment, args.creativity, args.cta)
    options = GenerateOptions(
        n=args.n, seed=args.seed, audience=args.audience, brand_voice=args.brand_voice, rerank=not args.no_rerank
    )
    if not 1 <= args.n <= 8:
        from copy_engine.errors import InputError

        raise InputError(f"--n must be between 1 and 8, got {args.n}")
    result = generate(product, args.channel, controls, options)
    if args.format == "json":
        json.dump(result.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(f"{product.name} · {args.channel} · {result.settings.model} on {result.settings.device} · {result.seconds:.1f}s")
    for i, v in enumerate(result.variants, 1):
        s = v.scores
        flags = ", ".join(f"{f.kind}: {f.text}" for f in v.flags) or "none"
        print(f"\n{i}. {v.text}")
        print(
            f"   overall {s.get('overall', 0):.2f} · CTR {s.get('predicted_ctr', 0):.2f} · CTA {s.get('cta', 0):.2f} · "
            f"faithful {s.get('faithfulness', 0):.2f} · novelty {s.get('novelty', 0):.2f} · flags: {flags}"
        )
    return 0
