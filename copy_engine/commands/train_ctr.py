"""`train-ctr`: learn the click-through predictor from A/B history and save its weights."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "train-ctr"
HELP = "Train the headline click-through predictor on A/B history (test_id, headline, impressions, clicks)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="A/B CSV or .csv.gz: test_id, headline, impressions, clicks "
                        "(optional eyecatcher_id, lede: only headlines with the same image and lede are compared)")
    parser.add_argument("--out", required=True, help="weights file to write (.npz; a .json with metadata is written beside it)")
    parser.add_argument("--holdout", type=float, default=0.2,
                        help="fraction of tests held out for the reported metrics, split by test_id (default 0.2; 0 = use all)")
    parser.add_argument("--C", type=float, default=0.03, help="inverse L2 regularisation strength (default 0.03)")
    parser.add_argument("--encoder", choices=("headline", "minilm"), default="headline",
                        help="headline representation: 'headline' = MiniLM layers + first Gemma layers (the shipped "
                        "model), 'minilm' = MiniLM sentence embeddings only (faster, less accurate)")


def run(args: argparse.Namespace) -> int:
    from copy_engine.ctr.abdata import read_ab_history
    from copy_engine.ctr.evaluation import format_table
    from copy_engine.ctr.training import TrainConfig, file_sha256, train_predictor
    from copy_engine.errors import InputError

    if not 0 <= args.holdout < 1:
        raise InputError(f"--holdout must be in [0, 1), got {args.holdout}")
    if args.C <= 0:
        raise InputError(f"--C must be positive, got {args.C}")
    data = Path(args.data)
    df = read_ab_history(data)
    source = {"file": data.name, "sha256": file_sha256(data)}
    if args.encoder == "headline":
        from copy_engine.ctr.encoder import get_headline_encoder as get_encoder
    else:
        from copy_engine.embeddings import get_embedder as get_encoder
    predictor, metrics = train_predictor(df, get_encoder(), TrainConfig(C=args.C, holdout=args.holdout), source)
    out = predictor.save(args.out)
    print(f"saved {out} (+ {out.with_suffix('.json').name})")
    if metrics is not None:
        print(format_table({"ctr model (held-out tests)": metrics}))
    return 0
