"""Train the reader's head (reader.py) on reader-labelled candidates of training-split products."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from copy_engine.scoring.judge_train import Example, by_product, is_test_product, read_labels
from copy_engine.scoring.reader import LAYERS, Head, Reader, reading_prompt


def label_files() -> list[Path]:
    """Every shipped file of labelled model candidates (copy_engine/examples/judge_labels*.jsonl)."""
    return sorted(Path(str(files("copy_engine").joinpath("examples"))).glob("judge_labels*.jsonl"))


def labelled_examples(catalog_csv: str | Path | None, paths: Sequence[str | Path] | None = None) -> list[Example]:
    """Labelled candidates whose product resolves (our own products, and the catalog's when it is here)."""
    from copy_engine.copy_deck import products_by_key

    products = products_by_key(catalog_csv)
    return [e for p in (paths or label_files()) for e in read_labels(p, products)]


def features_of(reader: Reader, examples: Sequence[Example], progress=None) -> np.ndarray:
    """Reader features of every example, one prompt pass per (product, channel)."""
    groups = by_product(examples)
    x = None
    for done, idx in enumerate(groups.values()):
        e = examples[idx[0]]
        f = reader.features(reading_prompt(e.product, e.channel), [examples[i].text for i in idx])
        x = np.zeros((len(examples), f.shape[1]), dtype=np.float32) if x is None else x
        x[idx] = f
        if progress:
            progress(done + 1, len(groups))
    return x if x is not None else np.zeros((0, 0), dtype=np.float32)


def fit_head(x: np.ndarray, y: np.ndarray, C: float) -> Head:
    """Standardise, then an L2 logistic regression (unbalanced: its probability stays a probability)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(0)
    scale = np.where(x.std(0) > 1e-8, x.std(0), 1.0)
    clf = LogisticRegression(C=C, max_iter=3000).fit((x - mean) / scale, y)
    return Head(mean.astype(np.float32), scale.astype(np.float32), clf.coef_.reshape(-1).astype(np.float32),
                float(clf.intercept_[0]))


def within_product_auc(y: np.ndarray, s: np.ndarray, groups: Sequence) -> float:
    """Share of (usable, unusable) pairs of the same product and channel ranked the right way (ties half)."""
    by: dict = defaultdict(list)
    for yi, si, g in zip(y, s, groups):
        by[g].append((si, yi))
    num = den = 0.0
    for items in by.values():
        pos = [a for a, b in items if b]
        neg = [a for a, b in items if not b]
        for p in pos:
            for n in neg:
                den += 1
                num += 1.0 if p > n else 0.5 if p == n else 0.0
    return num / den if den else float("nan")


@dataclass
class ReaderReport:
    """How the head did on the held-out fold of labelled products before it was refit on all of them."""

    n_train: int  # labelled candidates it was fit on
    n_test: int  # held-out candidates (products of judge_train's test fold)
    auc: float  # ROC AUC on the held-out candidates
    auc_within: float  # the same within each product and channel (what ranking needs)
    auc_within_judge: float  # the linear judge's within-product AUC on the same candidates, for comparison

    def lines(self) -> list[str]:
        return [
            f"held-out labelled candidates: {self.n_test} (trained on {self.n_train})",
            f"ROC AUC (reader): {self.auc:.3f}",
            f"within-product ROC AUC: reader {self.auc_within:.3f}, linear judge {self.auc_within_judge:.3f}",
        ]


def train_reader(examples: Sequence[Example], x: np.ndarray, C: float, judge_scores: np.ndarray | None = None):
    """(head fit on all examples, report on judge_train's held-out fold from a head fit on the rest)."""
    from sklearn.metrics import roc_auc_score

    y = np.array([e.usable for e in examples])
    test = np.array([is_test_product(e.key) for e in examples])
    if test.all() or not test.any() or len(set(y[test])) < 2:
        raise ValueError("not enough labelled data: need labelled candidates on both sides of the split")
    held = fit_head(x[~test], y[~test], C).probability(x[test])
    groups = [(e.key, e.channel) for e, t in zip(examples, test) if t]
    js = within_product_auc(y[test], judge_scores[test], groups) if judge_scores is not None else float("nan")
    report = ReaderReport(int((~test).sum()), int(test.sum()), float(roc_auc_score(y[test], held)),
                          within_product_auc(y[test], held, groups), js)
    return fit_head(x, y, C), report


def save_head(head: Head, path: str | Path) -> Path:
    """Write the head as .npz (what Head.load reads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, mean=head.mean, scale=head.scale, coef=head.coef, intercept=np.float32(head.intercept),
             layers=np.int32(LAYERS))
    return path
