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


def states_of(reader: Reader, examples: Sequence[Example], progress=None) -> list[np.ndarray]:
    """The reader's token states of every example, one prompt pass per (product, channel)."""
    groups = by_product(examples)
    out: list = [None] * len(examples)
    for done, idx in enumerate(groups.values()):
        e = examples[idx[0]]
        for i, h in zip(idx, reader.states(reading_prompt(e.product, e.channel), [examples[i].text for i in idx])):
            out[i] = h
        if progress:
            progress(done + 1, len(groups))
    return out


@dataclass(frozen=True)
class HeadRecipe:
    """How the head is fit (chosen on training-split products' held-out fold; README "The reader")."""

    members: int = 5  # heads fit from different seeds and averaged: one alone moves by ~0.02 AUC with the seed
    detectors: int = 4  # token detectors per member
    epochs: int = 8  # passes over the labelled candidates (more overfit the held-out fold)
    weight_decay: float = 0.1  # AdamW's decoupled L2
    lr: float = 2e-3  # AdamW's step size
    batch: int = 64  # candidates per step


def _padded(states: Sequence[np.ndarray], idx: np.ndarray, mean: np.ndarray, scale: np.ndarray):
    """The standardised states of texts `idx`, right-padded into one (texts, tokens, d) tensor, and their mask."""
    import torch

    width = max(len(states[i]) for i in idx)
    x = torch.zeros(len(idx), width, len(mean))
    mask = torch.zeros(len(idx), width)
    for r, i in enumerate(idx):
        x[r, : len(states[i])] = torch.from_numpy((states[i] - mean) / scale)
        mask[r, : len(states[i])] = 1
    return x, mask


def _fit_member(states, y, mean, scale, recipe: HeadRecipe, seed: int):
    """One member: returns its (coef, intercept, token_coef, token_intercept, token_weight) as numpy arrays."""
    import torch

    torch.manual_seed(seed)
    d = len(mean)
    linear, detectors = torch.nn.Linear(d, 1), torch.nn.Linear(d, recipe.detectors)
    weight = torch.nn.Parameter(torch.zeros(recipe.detectors))
    params = [*linear.parameters(), *detectors.parameters(), weight]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    target = torch.tensor(y, dtype=torch.float32)
    rng = np.random.default_rng(seed)
    with torch.enable_grad():  # loading a model for inference may have turned gradients off process-wide
        for _ in range(recipe.epochs):
            order = rng.permutation(len(states))
            for start in range(0, len(order), recipe.batch):
                b = order[start : start + recipe.batch]
                x, mask = _padded(states, b, mean, scale)
                mean_state = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                # log-mean-exp over each text's own tokens (padding pushed to -inf), as Head.logits computes it
                t = detectors(x) + (mask[..., None] - 1) * 1e4
                pooled = torch.logsumexp(t, 1) - torch.log(mask.sum(1, keepdim=True))
                logit = linear(mean_state)[:, 0] + pooled @ weight
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, target[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
    with torch.no_grad():
        return (linear.weight[0].numpy().copy(), float(linear.bias[0]), detectors.weight.T.numpy().copy(),
                detectors.bias.numpy().copy(), weight.numpy().copy())


def fit_head(states: Sequence[np.ndarray], y: Sequence, recipe: HeadRecipe = HeadRecipe()) -> Head:
    """Standardise the token states, then fit `recipe.members` heads from different seeds (reader.Head)."""
    tokens = np.concatenate(list(states))
    mean = tokens.mean(0)
    scale = tokens.std(0) + 1e-3  # a few of Gemma's dimensions barely move: keep them from blowing up
    y = np.asarray(y, dtype=np.float32)
    members = [_fit_member(states, y, mean, scale, recipe, seed) for seed in range(recipe.members)]
    coef, intercept, token_coef, token_intercept, token_weight = (np.stack([m[j] for m in members]) for j in range(5))
    return Head(mean.astype(np.float32), scale.astype(np.float32), coef.astype(np.float32),
                intercept.astype(np.float32), token_coef.astype(np.float32), token_intercept.astype(np.float32),
                token_weight.astype(np.float32))


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


def train_reader(examples: Sequence[Example], states: Sequence[np.ndarray], recipe: HeadRecipe = HeadRecipe(),
                 judge_scores: np.ndarray | None = None):
    """(head fit on all examples, report on judge_train's held-out fold from a head fit on the rest)."""
    from sklearn.metrics import roc_auc_score

    y = np.array([e.usable for e in examples])
    test = np.array([is_test_product(e.key) for e in examples])
    if test.all() or not test.any() or len(set(y[test])) < 2:
        raise ValueError("not enough labelled data: need labelled candidates on both sides of the split")
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    held = fit_head([states[i] for i in train_idx], y[train_idx], recipe).probability([states[i] for i in test_idx])
    groups = [(e.key, e.channel) for e, t in zip(examples, test) if t]
    js = within_product_auc(y[test], judge_scores[test], groups) if judge_scores is not None else float("nan")
    report = ReaderReport(int((~test).sum()), int(test.sum()), float(roc_auc_score(y[test], held)),
                          within_product_auc(y[test], held, groups), js)
    return fit_head(states, y, recipe), report


def save_head(head: Head, path: str | Path) -> Path:
    """Write the head as .npz (what Head.load reads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, layers=np.array(LAYERS, dtype=np.int32), **{f: getattr(head, f) for f in Head.FIELDS})
    return path
