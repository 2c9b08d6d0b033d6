"""`train-reader`: fit the reader's head on the labelled model candidates, save it, print its held-out ROC AUC
next to the linear judge's."""

from __future__ import annotations

import argparse
from pathlib import Path

from copy_engine.commands.train_judge import add_catalog_argument, training_catalog

NAME = "train-reader"
HELP = ("Train the reader (the copywriter model's own reading of a variant) on the labelled model candidates, "
        "save its head and print its ROC AUC on held-out products' candidates.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_catalog_argument(parser, "the labels'")
    parser.add_argument("--labels", nargs="*", default=None,
                        help="labelled candidates (default: every copy_engine/examples/judge_labels*.jsonl)")
    parser.add_argument("--out", default=None,
                        help="head file (default: the shipped copy_engine/scoring/reader_weights.npz)")
    parser.add_argument("--members", type=int, default=5,
                        help="heads fit from different seeds and averaged (default 5)")
    parser.add_argument("--epochs", type=int, default=8, help="passes over the labelled candidates (default 8)")


def _judge_scores(examples) -> "list[float]":
    """The linear judge's quality of every example (MiniLM features), for the comparison line."""
    import numpy as np

    from copy_engine.embeddings import get_embedder
    from copy_engine.scoring.judge import get_default_judge, judge_with
    from copy_engine.scoring.judge_train import by_product

    judge, embedder = get_default_judge(), get_embedder()
    out = np.zeros(len(examples))
    for (_, channel), idx in by_product(examples).items():
        verdicts = judge_with(judge, examples[idx[0]].product, channel, [examples[i].text for i in idx], embedder)
        out[idx] = [v.quality for v in verdicts]
    return out


def _every_50th_product(done: int, total: int) -> None:
    if done % 50 == 0:
        print(f"read {done}/{total} products", flush=True)


def run(args: argparse.Namespace) -> int:
    from copy_engine.errors import InputError
    from copy_engine.scoring.reader import load_reader, weights_path
    from copy_engine.scoring.reader_train import HeadRecipe, labelled_examples, save_head, states_of, train_reader

    if args.members < 1 or args.epochs < 1:
        raise InputError("--members and --epochs must be at least 1")
    csv = training_catalog(args)
    for p in args.labels or ():
        if not Path(p).is_file():
            raise InputError(f"--labels {p} not found")
    examples = labelled_examples(csv, args.labels)
    reader = load_reader(with_head=False)
    states = states_of(reader, examples, _every_50th_product)
    try:
        recipe = HeadRecipe(members=args.members, epochs=args.epochs)
        head, report = train_reader(examples, states, recipe, _judge_scores(examples))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    out = save_head(head, args.out or weights_path())
    print(f"saved {out}")
    for line in report.lines():
        print(line)
    return 0
