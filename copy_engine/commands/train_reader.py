"""`train-reader`: fit the reader's head on the labelled model candidates, save it, print its held-out ROC AUC
next to the linear judge's."""

from __future__ import annotations

import argparse
from pathlib import Path

from copy_engine.commands.train_judge import DEFAULT_CSV

NAME = "train-reader"
HELP = ("Train the reader (the copywriter model's own reading of a variant) on the labelled model candidates, "
        "save its head and print its ROC AUC on held-out products' candidates.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", default=str(DEFAULT_CSV),
                        help="catalog CSV the labels' csv: keys resolve in (default ../shared/data/products/"
                        "amazon_products_sample.csv); without it only our own products are used")
    parser.add_argument("--labels", nargs="*", default=None,
                        help="labelled candidates (default: every copy_engine/examples/judge_labels*.jsonl)")
    parser.add_argument("--out", default=None,
                        help="head file (default: the shipped copy_engine/scoring/reader_weights.npz)")
    parser.add_argument("--C", type=float, default=0.003, help="inverse L2 regularisation of the head (default 0.003)")


def _judge_scores(examples) -> "list[float]":
    """The linear judge's quality of every example (MiniLM features), for the comparison line."""
    from collections import defaultdict

    import numpy as np

    from copy_engine.embeddings import get_embedder
    from copy_engine.scoring.judge import facts_lines, get_default_judge

    judge, embedder = get_default_judge(), get_embedder()
    groups = defaultdict(list)
    for i, e in enumerate(examples):
        groups[(e.key, e.channel)].append(i)
    out = np.zeros(len(examples))
    for idx in groups.values():
        e = examples[idx[0]]
        texts = [examples[i].text for i in idx]
        emb = np.asarray(embedder.encode(texts + list(facts_lines(e.product))), dtype=np.float32)
        verdicts = judge.judge(e.product, e.channel, texts, text_emb=emb[:-2], line_emb=emb[-2], feats_emb=emb[-1])
        out[idx] = [v.quality for v in verdicts]
    return out


def run(args: argparse.Namespace) -> int:
    from copy_engine.errors import InputError
    from copy_engine.scoring.reader import load_reader, weights_path
    from copy_engine.scoring.reader_train import features_of, labelled_examples, save_head, train_reader

    if args.C <= 0:
        raise InputError(f"--C must be positive, got {args.C}")
    csv = args.csv if Path(args.csv).is_file() else None
    if csv is None:
        print(f"catalog {args.csv} not found: csv: products are skipped")
    for p in args.labels or ():
        if not Path(p).is_file():
            raise InputError(f"--labels {p} not found")
    examples = labelled_examples(csv, args.labels)
    reader = load_reader(with_head=False)
    x = features_of(reader, examples, lambda i, n: print(f"read {i}/{n} products", flush=True) if i % 50 == 0 else None)
    try:
        head, report = train_reader(examples, x, args.C, _judge_scores(examples))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    out = save_head(head, args.out or weights_path())
    print(f"saved {out}")
    for line in report.lines():
        print(line)
    return 0
