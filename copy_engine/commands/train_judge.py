"""`train-judge`: learn the usable-copy judge from the copy deck and the labelled model candidates, save it,
print its ROC AUC on held-out labelled candidates."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "train-judge"
HELP = ("Train the usable-copy judge (copy deck + labelled model candidates), save its weights and print its "
        "ROC AUC on held-out products' labelled candidates.")
DEFAULT_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "products" / "amazon_products_sample.csv"


def add_catalog_argument(parser: argparse.ArgumentParser, whose: str) -> None:
    """--csv: the catalog whose csv: keys the training data refers to (train-judge, train-reader)."""
    parser.add_argument("--csv", default=str(DEFAULT_CSV),
                        help=f"catalog CSV {whose} csv: keys resolve in (default ../shared/data/products/"
                        "amazon_products_sample.csv); without it only our own products are used")


def training_catalog(args: argparse.Namespace) -> str | None:
    """The --csv catalog when it exists (None, said on stdout, when not)."""
    if Path(args.csv).is_file():
        return args.csv
    print(f"catalog {args.csv} not found: csv: products are skipped")
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_catalog_argument(parser, "the deck's and labels'")
    parser.add_argument("--labels", default=None, help="labelled candidates (default copy_engine/examples/judge_labels.jsonl)")
    parser.add_argument("--deck", default=None, help="copy deck folder (default: the shipped copy_engine/examples/copy_deck)")
    parser.add_argument("--out", default=None, help="weights file (default: the shipped copy_engine/scoring/judge_weights.npz)")
    parser.add_argument("--C", type=float, default=0.01, help="inverse L2 regularisation of the quality heads (default 0.01)")
    parser.add_argument("--no-embeddings", action="store_true", help="text features only (no MiniLM; the full head is then the text head)")


def run(args: argparse.Namespace) -> int:
    from copy_engine.errors import InputError
    from copy_engine.scoring.judge import weights_path
    from copy_engine.scoring.judge_train import save_weights, train

    if args.C <= 0:
        raise InputError(f"--C must be positive, got {args.C}")
    csv = training_catalog(args)
    embedder = None
    if not args.no_embeddings:
        from copy_engine.embeddings import get_embedder

        embedder = get_embedder()
    try:
        deck = Path(args.deck) if args.deck else None
        if deck is not None and not deck.is_dir():
            raise InputError(f"--deck {deck} is not a folder")
        from copy_engine.settings import get_settings

        cache = get_settings().cache_dir / "judge_embeddings.npz"  # vectors of copy seen before: retraining is quick
        weights, report = train(csv, labels=args.labels, deck_folder=deck, embedder=embedder, C=args.C, cache=cache)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    out = save_weights(weights, args.out or weights_path())
    print(f"saved {out}")
    for line in report.lines():
        print(line)
    return 0
