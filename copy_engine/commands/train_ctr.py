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
    parser.add_argument("--C", type=float, default=0.1, help="inverse L2 regularisation strength (default 0.1)")


def run(args: argparse.Namespace) -> int:
    from copy_engine.ctr.abdata import read_ab_history
    from copy_engine.ctr.evaluation import format_table
    from copy_engine.ctr.training import TrainConfig, file_sha256, train_predictor
    from copy_engine.embeddings import get_embedder
    from copy_engine.errors import InputError

    if not 0 <= args.holdout < 1:
        raise InputError(f"--holdout must be in [0, 1), got {args.holdout}")
    if args.C <= 0:
        raise InputError(f"--C must be positive, got {args.C}")
    data = Path(args.data)
    df = read_ab_history(data)
    source = {"file": data.name, "sha256": file_sha256(data)}
    predictor, metrics = train_predictor(df, get_embedder(), TrainConfig(C=args.C, holdout=args.holdout), source)
    out = predictor.save(args.out)
    print(f"saved {out} (+ {out.with_suffix('.json').name})")
    if metrics is not None:
        print(format_table({"ctr model (held-out tests)": metrics}))
    return 0
