"""`evaluate-judge`: ROC AUC of the shipped usable-copy judge on the held-out products' labelled candidates."""

from __future__ import annotations

import argparse
from pathlib import Path

from copy_engine.commands.train_judge import DEFAULT_CSV

NAME = "evaluate-judge"
HELP = "Print the shipped usable-copy judge's ROC AUC on held-out labelled model candidates."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", default=str(DEFAULT_CSV), help="catalog CSV the labels' csv: keys resolve in")
    parser.add_argument("--labels", default=None, help="labelled candidates (default copy_engine/examples/judge_labels.jsonl)")
    parser.add_argument("--weights", default=None, help="judge weights (default: the shipped ones)")


def run(args: argparse.Namespace) -> int:
    from copy_engine.embeddings import get_embedder
    from copy_engine.errors import InputError
    from copy_engine.scoring.judge import Judge, weights_path
    from copy_engine.scoring.judge_train import evaluate, held_out_examples

    csv = args.csv if Path(args.csv).is_file() else None
    test = held_out_examples(csv, args.labels)
    if not test:
        raise InputError("no held-out labelled candidates resolve (is the catalog CSV there?)")
    judge = Judge.load(args.weights or weights_path())
    report = evaluate(judge, test, get_embedder())
    for line in report.lines()[:4]:
        print(line)
    return 0
