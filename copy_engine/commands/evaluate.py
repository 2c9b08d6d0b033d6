"""`evaluate`: offline evaluation of the pipeline configurations on a catalog sample (a contract: keep flags stable)."""

from __future__ import annotations

import sys

NAME = "evaluate"
HELP = "Compare baseline, rerank, adapters and full generation on products sampled from a catalog CSV."


def add_arguments(p) -> None:
    p.add_argument("--catalog", required=True, metavar="CSV", help="catalog CSV (any layout the catalog import reads)")
    p.add_argument(
        "--n-products",
        type=int,
        default=50,
        metavar="N",
        help="products to sample, stratified by top-level category (default 50)",
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for summary.json, report.md, tradeoff.png and CSVs"
    )
    p.add_argument(
        "--configs",
        default="baseline,rerank,adapters,full",
        help="comma-separated: baseline, rerank, adapters, full, fewshot, copywriter (baseline is always run)",
    )
    p.add_argument("--seed", type=int, default=0, help="sampling and generation seed (default 0)")
    p.add_argument("--channel", default="headline", help="channel to write for (default headline)")
    p.add_argument("--n", type=int, default=4, help="variants per product (1-8, default 4)")
    p.add_argument(
        "--sentiment-check",
        type=int,
        default=6,
        metavar="K",
        help="products whose sentiment -1/0/+1 ordering is checked (2 extra generations each per config; 0 = off; default 6)",
    )
    p.add_argument(
        "--sweep-products",
        type=int,
        default=1,
        metavar="M",
        help="products per category in the creativity λ sweep (0 = no sweep; default 1)",
    )
    p.add_argument(
        "--sweep-points", type=int, default=5, metavar="P", help="λ values from 0 to 1 in the sweep (default 5)"
    )
    p.add_argument("--bootstrap", type=int, default=2000, metavar="B", help="bootstrap resamples (default 2000)")
    p.add_argument(
        "--time-budget",
        type=float,
        default=None,
        metavar="MIN",
        help="start no new work after MIN minutes; the report covers the products finished (default: no limit)",
    )
    p.add_argument("--no-perplexity", action="store_true", help="skip the base-model perplexity (fluency) check")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def settings_from_args(args):
    """EvalSettings from parsed arguments; InputError for bad values."""
    from copy_engine.errors import InputError
    from copy_engine.evaluation.configs import parse_configs
    from copy_engine.evaluation.run import EvalSettings

    if args.sweep_points < 2 and args.sweep_products:
        raise InputError(f"--sweep-points must be at least 2, got {args.sweep_points}")
    lambdas = (
        tuple(round(i / (args.sweep_points - 1), 4) for i in range(args.sweep_points))
        if args.sweep_points >= 2
        else (0.5,)
    )
    if args.bootstrap < 100:
        raise InputError(f"--bootstrap must be at least 100, got {args.bootstrap}")
    return EvalSettings(
        catalog=args.catalog,
        n_products=args.n_products,
        configs=tuple(parse_configs(args.configs)),
        channel=args.channel,
        n_variants=args.n,
        seed=args.seed,
        sentiment_check=args.sentiment_check,
        sweep_products=args.sweep_products,
        lambdas=lambdas,
        n_boot=args.bootstrap,
        perplexity=not args.no_perplexity,
        time_budget_min=args.time_budget,
    )


def run(args) -> int:
    from pathlib import Path

    from copy_engine.errors import InputError
    from copy_engine.evaluation.run import evaluate
    from copy_engine.catalog import read_products

    settings = settings_from_args(args)
    settings.validate()
    if not Path(args.catalog).is_file():
        raise InputError(f"catalog not found: {args.catalog}")
    read_products(args.catalog)  # a bad catalog fails here, before the model loads

    last = [-1]

    def progress(fraction: float, message: str) -> None:
        pct = int(fraction * 100)
        if not args.quiet and pct != last[0]:
            last[0] = pct
            sys.stderr.write(f"[{pct:3d}%] {message}\n")
            sys.stderr.flush()

    summary = evaluate(settings, args.out, progress=progress)
    print(f"wrote {Path(args.out) / 'summary.json'}, report.md, tradeoff.png and CSVs ({summary.seconds:.0f} s)")
    configs = summary.configs
    keys = ("predicted_ctr", "cta_rate", "faithfulness", "distinct_2", "novelty")
    print(f"{'config':10s} " + " ".join(f"{k:>14s}" for k in keys))
    for name, m in configs.items():
        print(f"{name:10s} " + " ".join(f"{(m.get(k) if m.get(k) is not None else float('nan')):14.3f}" for k in keys))
    if summary.elbow:
        print("elbow λ: " + ", ".join(f"{c} {v:g}" for c, v in summary.elbow.items()))
    return 0
