"""Held-out evaluation table of the shipped click-through predictor and its baselines.

usage: python bench/ctr_eval.py [--data ../shared/data/upworthy/ab_tests.csv.gz] [--scored OUT.csv]

Uses the same split by test_id as the shipped weights (recorded in their metadata),
fits the embedding-difference logistic regression baseline on the training tests, and
prints sig-pair accuracy, all-pair accuracy, log loss and selection lift for: the
model, random (mean of 20 seeds), longer-wins and MiniLM-difference logistic regression.
`--scored` writes the held-out rows with a ctr_score column for ../shared/tools/ctr_eval.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from copy_engine.ctr.abdata import holdout_mask, pairs_from_groups, read_ab_history, training_groups
from copy_engine.ctr.evaluation import Metrics, evaluate_scores, format_table
from copy_engine.ctr.predictor import DEFAULT_WEIGHTS, CTRPredictor
from copy_engine.ctr.training import HOLDOUT_SALT, fit_pairwise_linear

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "upworthy" / "ab_tests.csv.gz"


class CachedEmbedder:
    """Embeds each distinct text once for all scorers in this script."""

    def __init__(self, inner):
        self.inner, self.cache = inner, {}
        self.dim = getattr(inner, "dim", 384)

    def encode(self, texts):
        new = sorted({t for t in texts if t not in self.cache})
        if new:
            for t, e in zip(new, self.inner.encode(new)):
                self.cache[t] = e
        return np.vstack([self.cache[t] for t in texts]) if len(texts) else np.zeros((0, self.dim), np.float32)


def _mean_metrics(ms: list[Metrics]) -> Metrics:
    return Metrics(
        sig_pair_accuracy=float(np.mean([m.sig_pair_accuracy for m in ms])),
        all_pair_accuracy=float(np.mean([m.all_pair_accuracy for m in ms])),
        log_loss=float(np.log(2)),
        selection_lift=float(np.mean([m.selection_lift for m in ms])),
        n_sig_pairs=ms[0].n_sig_pairs, n_pairs=ms[0].n_pairs, n_tests=ms[0].n_tests,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("--scored", default=None, help="write held-out rows + ctr_score here")
    args = ap.parse_args()

    from copy_engine.embeddings import get_embedder

    t0 = time.time()
    model = CTRPredictor.load(args.weights)
    enc = CachedEmbedder(model.embedder)
    model = CTRPredictor.load(args.weights, embedder=enc)
    emb = CachedEmbedder(get_embedder())  # the baseline's MiniLM sentence embeddings
    frac = float(model.metadata.get("config", {}).get("holdout", 0.2))
    df = read_ab_history(args.data)
    hold = holdout_mask(df["test_id"].to_numpy(), frac, HOLDOUT_SALT)
    train, test = df[~hold], df[hold]
    print(f"data: {args.data} ({len(df)} rows, {df.test_id.nunique()} tests); held out: {test.test_id.nunique()} tests "
          f"(split by test_id, fraction {frac})")

    rows = {"ctr model (shipped weights)": evaluate_scores(test, model.score, model.prob_of_diff)}

    def rand_scorer(seed):
        return lambda texts: np.random.default_rng(seed).random(len(texts))

    rows["random (mean of 20 seeds)"] = _mean_metrics([evaluate_scores(test, rand_scorer(s)) for s in range(20)])
    rows["longer wins (chars)"] = evaluate_scores(test, lambda texts: np.array([len(t) for t in texts], float))

    pairs = pairs_from_groups(training_groups(train))
    pairs = pairs[~pairs.tie]
    texts = sorted(set(pairs.a) | set(pairs.b))
    index = {t: i for i, t in enumerate(texts)}
    E = emb.encode(texts).astype(np.float64)
    w = fit_pairwise_linear(E, pairs.a.map(index).to_numpy(), pairs.b.map(index).to_numpy(), pairs.z.to_numpy(),
                            C=1.0, weighted=False)
    rows["MiniLM-difference logistic reg."] = evaluate_scores(
        test, lambda t: emb.encode(t).astype(np.float64) @ w, lambda d: 1 / (1 + np.exp(-d))
    )
    print(format_table(rows))
    print(f"(log loss: against the observed winner of each non-tied pair; '-' = scorer gives no probability; "
          f"{time.time() - t0:.0f} s)")
    if args.scored:
        out = test.copy()
        out["ctr_score"] = model.score(out["headline"].tolist())
        out.to_csv(args.scored, index=False)
        print(f"held-out rows with ctr_score -> {args.scored}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
