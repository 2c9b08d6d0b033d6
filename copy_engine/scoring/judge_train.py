"""Training and evaluating the usable-copy judge (copy_engine/scoring/judge.py).

Data:
- positives: the copy deck (copy_engine/examples/copy_deck/, our own copy) and the model candidates we
  labelled usable;
- negatives: the model candidates we labelled unusable (copy_engine/examples/judge_labels.jsonl: product key,
  channel, text, label, reason; read by a person against docs/style-guide.md) and cheap synthetic negatives
  made from the deck: another product's copy (off-product), copy cut mid-phrase (fragment), generic filler.

Held out by product: labelled products whose key hashes into the test fold (and the deck's copy of those
products) never reach training; the AUC is measured on the held-out labelled model candidates only, never on
deck-versus-model copy, which differ in style and would be trivially told apart.

Retrain when the deck or the labels grow: `python -m copy_engine train-judge --csv <catalog>`.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np

from copy_engine.product import Product
from copy_engine.scoring.judge import (
    REASONS,
    TEXT_FEATURES,
    USABLE,
    Judge,
    embedding_features,
    facts_lines,
    judge_with,
    text_features,
)

TEST_FOLD = 3  # one labelled product in TEST_FOLD (by key hash) is held out
# Weights chosen by grouped cross-validation over the training products' labelled candidates (held-out
# products never seen): a labelled model candidate is the kind of text the judge meets in the app, the deck
# is our own style, which the model's copy never quite has.
LABEL_WEIGHT = 10.0  # one labelled model candidate
DECK_WEIGHT = 0.3  # one deck example
_FILLER_LINES = (
    "Buy this item now",
    "Order this product today",
    "Great product for everyone",
    "Shop now and save",
    "The perfect gift for any occasion",
    "Get yours today!",
    "You will love it",
    "Check it out today",
    "A must-have for everyone",
    "High quality and great value",
    "Best product at the best price",
    "Shop our amazing collection now",
    "Something for everyone to enjoy",
    "Everything you need in one place",
    "Quality you can trust every day",
    "Make every day special with this item",
    "This product is a great choice for you and your family.",
    "Order now and enjoy fast delivery to your door, with great quality and service every time you shop with us.",
    "Discover the difference today",
    "Treat yourself to something special",
)


@dataclass
class Example:
    """One (product, channel, copy) with its label, for training or evaluation."""

    product: Product
    key: str  # product key (copy_deck.product_key)
    channel: str
    text: str
    usable: int  # 1 usable, 0 not
    reason: str  # "usable" or one of REASONS
    source: str  # "deck", "label" or "synthetic"
    weight: float = 1.0


@dataclass
class TrainReport:
    """What train-judge measured."""

    auc_full: float  # ROC AUC of the full head on held-out labelled model candidates
    auc_text: float  # the same for the text-only head
    n_test: int  # held-out labelled candidates
    n_test_usable: int
    counts: dict = field(default_factory=dict)  # training examples by source and reason
    reason_accuracy: float = 0.0  # share of held-out rejected candidates whose reason matches the label
    cv_auc_full: float | None = None  # grouped cross-validation over the training products (for choosing C)

    def lines(self) -> list[str]:
        out = [
            f"held-out labelled model candidates: {self.n_test} ({self.n_test_usable} usable)",
            f"ROC AUC (full head, MiniLM + text features): {self.auc_full:.3f}",
            f"ROC AUC (text-only head): {self.auc_text:.3f}",
            f"reason accuracy on held-out unusable candidates: {self.reason_accuracy:.2f}",
        ]
        if self.cv_auc_full is not None:
            out.append(f"grouped CV AUC on training products (full head): {self.cv_auc_full:.3f}")
        out.append("training examples: " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())))
        return out


def labels_path() -> Path:
    """The labelled model candidates shipped with the project."""
    return Path(str(files("copy_engine").joinpath("examples/judge_labels.jsonl")))


def is_test_product(key: str) -> bool:
    """Fixed held-out fold of labelled products (by a hash of the key)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % TEST_FOLD == 0


def read_labels(path: str | Path, products: dict[str, Product]) -> list[Example]:
    """Labelled model candidates whose product resolves (the catalog's rows are never stored with them)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if d["product"] not in products:
            continue
        usable = d["label"] == USABLE
        reason = USABLE if usable else d["reason"]
        if reason not in (USABLE, *REASONS):
            raise ValueError(f"unknown reason {reason!r} in {path}")
        out.append(Example(products[d["product"]], d["product"], d["channel"], d["text"], int(usable), reason, "label", LABEL_WEIGHT))
    return out


def _truncate(text: str, rng: random.Random) -> str | None:
    words = text.split()
    if len(words) < 4:
        return None
    cut = rng.randint(max(2, len(words) // 3), len(words) - 1)
    joiners = ("and", "with", "for", "the", "of", "your", "in", "to")
    tail = rng.choice(joiners) if rng.random() < 0.5 else None
    piece = " ".join(words[:cut]).rstrip(".,;:!")
    return f"{piece} {tail}" if tail else piece


def synthetic_negatives(deck: Sequence[Example], seed: int = 0, share: float = 0.5) -> list[Example]:
    """Cheap negatives from the deck: another product's copy, copy cut mid-phrase, generic filler."""
    from copy_engine.scoring.off_product import families_in

    rng = random.Random(seed)
    by_channel: dict[str, list[Example]] = {}
    for e in deck:
        by_channel.setdefault(e.channel, []).append(e)
    out = []
    for e in deck:
        if rng.random() > share:
            continue
        kind = rng.choice(("off-product", "fragment", "filler"))
        if kind == "off-product":
            pool = by_channel[e.channel]
            mine = families_in(e.product.facts_text())
            for _ in range(10):
                other = rng.choice(pool)
                if other.key != e.key and not (families_in(other.product.facts_text()) & mine):
                    out.append(Example(e.product, e.key, e.channel, other.text, 0, "off-product", "synthetic"))
                    break
        elif kind == "fragment":
            cut = _truncate(e.text, rng)
            if cut:
                out.append(Example(e.product, e.key, e.channel, cut, 0, "fragment", "synthetic"))
        else:
            out.append(Example(e.product, e.key, e.channel, rng.choice(_FILLER_LINES), 0, "filler", "synthetic"))
    return out


def deck_examples(catalog_csv: str | Path | None, folder: Path | None = None) -> list[Example]:
    """The copy deck as positives."""
    from copy_engine.copy_deck import load_deck

    return [
        Example(p, e.product, e.channel, e.text, 1, USABLE, "deck", DECK_WEIGHT) for p, e in load_deck(catalog_csv, folder)
    ]


def encode_cached(embedder, texts: Sequence[str], cache: Path | None) -> np.ndarray:
    """embedder.encode(texts), reusing vectors saved in `cache` (.npz keyed by a hash of embedder and text).

    Retraining after the deck grows then encodes only the new copy: MiniLM on a shared CPU is the slow part.
    """
    if cache is None:
        return np.asarray(embedder.encode(list(texts)), dtype=np.float32)
    tag = type(embedder).__name__
    keys = [hashlib.sha1(f"{tag}\n{t}".encode()).hexdigest() for t in texts]
    saved: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            saved = dict(zip(data["keys"].tolist(), data["vectors"]))
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in saved}.items())
    if todo:
        vecs = np.asarray(embedder.encode([t for _, t in todo]), dtype=np.float32)
        saved.update({k: v for (k, _), v in zip(todo, vecs)})
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.array(list(saved)), vectors=np.vstack(list(saved.values())))
    return np.vstack([saved[k] for k in keys]).astype(np.float32)


def featurize(examples: Sequence[Example], embedder, cache: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(text features, full features) of examples; one encode call for every text and product."""
    x_text = np.vstack([text_features(e.product, e.channel, e.text) for e in examples])
    if embedder is None:
        return x_text, x_text
    keys = sorted({e.key for e in examples})
    product_of = {e.key: e.product for e in examples}
    lines = [t for k in keys for t in facts_lines(product_of[k])]
    emb = encode_cached(embedder, [e.text for e in examples] + lines, cache)
    n = len(examples)
    row = {k: n + 2 * i for i, k in enumerate(keys)}
    x_emb = np.vstack(
        [embedding_features(emb[i : i + 1], emb[row[e.key]], emb[row[e.key] + 1]) for i, e in enumerate(examples)]
    )
    return x_text, np.hstack([x_text, x_emb])


def _fit_binary(x: np.ndarray, y: np.ndarray, w: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 1e-8, scaler.scale_, 1.0)
    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    clf.fit((x - scaler.mean_) / scale, y, sample_weight=w)
    return scaler.mean_.astype(np.float32), scale.astype(np.float32), clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32)


def _predict(params, x: np.ndarray) -> np.ndarray:
    mean, scale, coef, intercept = params
    return (((x - mean) / scale) @ coef.T + intercept).reshape(-1)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def _grouped_cv_auc(xf, y, w, groups, labelled, C: float, folds: int = 4) -> float:
    keys = sorted(set(groups[labelled]))
    rng = random.Random(1)
    rng.shuffle(keys)
    fold_of = {k: i % folds for i, k in enumerate(keys)}
    scores, ys = [], []
    for f in range(folds):
        test = np.array([labelled[i] and fold_of.get(g) == f for i, g in enumerate(groups)])
        train = np.array([fold_of.get(g) != f for g in groups])
        if test.sum() == 0:
            continue
        params = _fit_binary(xf[train], y[train], w[train], C)
        scores.append(_predict(params, xf[test]))
        ys.append(y[test])
    return _auc(np.concatenate(ys), np.concatenate(scores))


def train(
    catalog_csv: str | Path | None,
    *,
    labels: str | Path | None = None,
    deck_folder: Path | None = None,
    embedder=None,
    C: float = 0.01,
    synthetic_share: float = 0.5,
    seed: int = 0,
    cache: Path | None = None,
) -> tuple[dict, TrainReport]:
    """Train both heads and the reason head; returns (weights for Judge, report on the held-out products)."""
    from copy_engine.copy_deck import products_by_key

    products = products_by_key(catalog_csv, deck_folder)
    labelled = read_labels(labels or labels_path(), products)
    deck = deck_examples(catalog_csv, deck_folder)
    test_keys = {e.key for e in labelled if is_test_product(e.key)}
    train_ex = [e for e in labelled + deck if e.key not in test_keys]
    train_ex += synthetic_negatives([e for e in deck if e.key not in test_keys], seed, synthetic_share)
    test_ex = [e for e in labelled if e.key in test_keys]
    if not train_ex or not test_ex:
        raise ValueError("not enough labelled data: need labelled candidates on both sides of the split")

    xt, xf = featurize(train_ex + test_ex, embedder, cache)
    n = len(train_ex)
    y = np.array([e.usable for e in train_ex + test_ex])
    w = np.array([e.weight for e in train_ex + test_ex], dtype=float)
    groups = np.array([e.key for e in train_ex + test_ex])
    is_label = np.array([e.source == "label" for e in train_ex + test_ex])

    full = _fit_binary(xf[:n], y[:n], w[:n], C)
    text = _fit_binary(xt[:n], y[:n], w[:n], C)
    cv = _grouped_cv_auc(xf[:n], y[:n], w[:n], groups[:n], is_label[:n], C) if embedder is not None else None

    # reason head: multinomial over the rejected examples' reasons (text features only: cheap, and the rules
    # take the clear cases)
    from sklearn.linear_model import LogisticRegression

    neg = [i for i in range(n) if not y[i]]
    reasons = sorted({train_ex[i].reason for i in neg})
    r_mean = xt[neg].mean(axis=0)
    r_scale = np.where(xt[neg].std(axis=0) > 1e-8, xt[neg].std(axis=0), 1.0)
    rclf = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced")
    rclf.fit((xt[neg] - r_mean) / r_scale, [train_ex[i].reason for i in neg], sample_weight=w[neg])
    r_coef = rclf.coef_ if len(reasons) > 2 else np.vstack([-rclf.coef_, rclf.coef_])
    r_int = rclf.intercept_ if len(reasons) > 2 else np.array([-rclf.intercept_[0], rclf.intercept_[0]])

    counts = Counter(f"{e.source}:{e.reason}" for e in train_ex)
    weights = {
        "full_mean": full[0], "full_scale": full[1], "full_coef": full[2], "full_intercept": full[3],
        "text_mean": text[0], "text_scale": text[1], "text_coef": text[2], "text_intercept": text[3],
        "reason_mean": r_mean.astype(np.float32), "reason_scale": r_scale.astype(np.float32),
        "reason_coef": np.asarray(r_coef, dtype=np.float32), "reason_intercept": np.asarray(r_int, dtype=np.float32),
        "reasons": np.array(list(rclf.classes_) if len(reasons) > 2 else reasons),
        "text_features": np.array(TEXT_FEATURES),
    }
    judge = Judge(weights)
    report = evaluate(judge, test_ex, embedder)
    report.counts = dict(counts)
    report.cv_auc_full = cv
    weights["meta"] = np.array(json.dumps({
        "auc_full": report.auc_full, "auc_text": report.auc_text, "n_test": report.n_test,
        "test_fold": TEST_FOLD, "C": C, "counts": report.counts,
        "deck_examples": sum(1 for e in train_ex if e.source == "deck"),
    }))
    return weights, report


def by_product(examples: Sequence[Example]) -> dict[tuple[str, str], list[int]]:
    """Indices of the examples of each (product key, channel), in order: what one judge or reader call takes."""
    out: dict[tuple[str, str], list[int]] = {}
    for i, e in enumerate(examples):
        out.setdefault((e.key, e.channel), []).append(i)
    return out


def evaluate(judge: Judge, test_ex: Sequence[Example], embedder) -> TrainReport:
    """AUC of a judge's quality on labelled model candidates (full head when an embedder is given)."""
    y = np.array([e.usable for e in test_ex])
    full_q, text_q, reason_ok, n_neg = [], [], 0, 0
    full_q = np.zeros(len(test_ex))
    text_q = np.zeros(len(test_ex))
    for (key, channel), idx in by_product(test_ex).items():
        product = test_ex[idx[0]].product
        texts = [test_ex[i].text for i in idx]
        text_v = judge.judge(product, channel, texts)
        full_v = judge_with(judge, product, channel, texts, embedder) if embedder is not None else text_v
        for j, i in enumerate(idx):
            full_q[i], text_q[i] = full_v[j].quality, text_v[j].quality
            if not test_ex[i].usable:
                n_neg += 1
                reason_ok += full_v[j].reason == test_ex[i].reason
    return TrainReport(
        auc_full=_auc(y, full_q),
        auc_text=_auc(y, text_q),
        n_test=len(test_ex),
        n_test_usable=int(y.sum()),
        reason_accuracy=reason_ok / n_neg if n_neg else float("nan"),
    )


def held_out_examples(catalog_csv: str | Path | None, labels: str | Path | None = None) -> list[Example]:
    """The labelled model candidates of the held-out products (what evaluate-judge measures on)."""
    from copy_engine.copy_deck import products_by_key

    products = products_by_key(catalog_csv)
    return [e for e in read_labels(labels or labels_path(), products) if is_test_product(e.key)]


def save_weights(weights: dict, path: str | Path) -> Path:
    """Write the judge's weights (.npz, no pickles)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **weights)
    return path
