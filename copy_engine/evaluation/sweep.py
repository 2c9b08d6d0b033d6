"""The creativity-conversion trade-off: a sweep of the creativity slider λ and its elbow.

For each λ the full pipeline runs with Controls(creativity=λ) (so decoding,
adapter mix and the reranker's creativity weight all follow the slider). Each
point of a category's curve is (creativity, predicted CTR) averaged over the
category's sweep products, where creativity = mean of novelty and embedding
diversity. The elbow is found with the kneedle method (Satopää et al., 2011;
the `kneed` package): the point after which more creativity costs
disproportionately more predicted clicks (or buys disproportionately less).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Elbow:
    """The recommended λ of one curve and how it was found."""

    lam: float
    creativity: float
    predicted_ctr: float
    method: str  # 'kneedle', 'utopia' (no knee: closest to best-of-both), 'flat' (default kept) or 'single point'

    def to_dict(self) -> dict:
        return {
            "lambda": self.lam,
            "creativity": self.creativity,
            "predicted_ctr": self.predicted_ctr,
            "method": self.method,
        }


def creativity_of(row: dict) -> float:
    """The creativity axis of the trade-off: mean of novelty and embedding diversity."""
    return (row["novelty"] + row["embedding_diversity"]) / 2.0


def curve_points(rows: Sequence[dict]) -> list[dict]:
    """Mean creativity, novelty, diversity and predicted CTR per λ over `rows` (one row per product and λ)."""
    out = []
    for lam in sorted({r["lambda"] for r in rows}):
        at = [r for r in rows if r["lambda"] == lam and not math.isnan(r["predicted_ctr"])]
        if not at:
            continue
        out.append(
            {
                "lambda": lam,
                "creativity": float(np.mean([creativity_of(r) for r in at])),
                "novelty": float(np.mean([r["novelty"] for r in at])),
                "embedding_diversity": float(np.mean([r["embedding_diversity"] for r in at])),
                "distinct_2": float(np.mean([r["distinct_2"] for r in at])),
                "predicted_ctr": float(np.mean([r["predicted_ctr"] for r in at])),
                "products": len(at),
            }
        )
    return out


def _utopia(x: np.ndarray, y: np.ndarray) -> int:
    """Index of the point closest to (1, 1): full creativity and top CTR percentile.

    Both axes already live on a 0-1 scale, so they are compared unscaled
    (min-max scaling would make any two points tie).
    """
    return int(np.argmin((1 - x) ** 2 + (1 - y) ** 2))


def find_elbow(lambdas: Sequence[float], creativity: Sequence[float], ctr: Sequence[float]) -> Elbow | None:
    """Kneedle elbow of the predicted-CTR-versus-creativity curve, reported as the λ that produced it.

    The curve's direction (CTR falling or rising with creativity) comes from a
    least-squares slope, its shape (concave or convex) from whether the points
    lie above or below the chord between the ends. When kneedle finds no knee
    (a straight or noisy curve, or fewer than 3 points), the point closest to
    (creativity 1, CTR percentile 1) is returned instead (method 'utopia'); a
    flat curve keeps the slider default λ=0.5 (method 'flat'). None for an empty curve.
    """
    lam = np.asarray(lambdas, dtype=float)
    x = np.asarray(creativity, dtype=float)
    y = np.asarray(ctr, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    lam, x, y = lam[keep], x[keep], y[keep]
    if len(x) == 0:
        return None
    if len(x) == 1:
        return Elbow(float(lam[0]), float(x[0]), float(y[0]), "single point")
    order = np.argsort(x, kind="stable")
    lam, x, y = lam[order], x[order], y[order]
    idx, method = None, "utopia"
    if len(np.unique(x)) >= 3 and y.max() > y.min():
        from kneed import KneeLocator

        slope = np.polyfit(x, y, 1)[0]
        direction = "decreasing" if slope < 0 else "increasing"
        chord = y[0] + (y[-1] - y[0]) * (x - x[0]) / (x[-1] - x[0])
        curve = "concave" if np.mean(y - chord) > 0 else "convex"
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kneed warns when it finds no knee; that case is handled below
            knee = KneeLocator(x, y, S=1.0, curve=curve, direction=direction).knee
        if knee is not None:
            idx, method = int(np.argmin(np.abs(x - knee))), "kneedle"
    if idx is None and np.ptp(x) < 1e-9 and np.ptp(y) < 1e-9:
        # Every λ gave the same copy scores: nothing to trade, keep the slider's default.
        idx, method = int(np.argmin(np.abs(lam - 0.5))), "flat"
    if idx is None:
        idx = _utopia(x, y)
    return Elbow(float(lam[idx]), float(x[idx]), float(y[idx]), method)


def sweep_sample(sample, per_category: int) -> list:
    """The sweep's products: the first `per_category` sampled products of each category, in sample order."""
    chosen, per = [], {}
    for sp in sample:
        if per.get(sp.category, 0) < per_category:
            chosen.append(sp)
            per[sp.category] = per.get(sp.category, 0) + 1
    return chosen


def run_sweep(
    sample,
    channel: str,
    *,
    lambdas: Sequence[float] = DEFAULT_LAMBDAS,
    per_category: int = 2,
    n: int = 4,
    seed: int = 0,
    generator=None,
    embedder=None,
    ctr_predictor=None,
    progress=None,
    deadline: float | None = None,
) -> list[dict]:
    """One row per (sweep product, λ): category, λ and the set metrics of the full pipeline's variants.

    The sweep products are the first `per_category` sampled products of each
    category. Products the model writes nothing usable for are left out.
    No new product starts after `deadline` (a time.perf_counter() value).
    """
    import time

    from copy_engine.controls import Controls
    from copy_engine.errors import InputError
    from copy_engine.evaluation.configs import CONFIGS
    from copy_engine.evaluation.metrics import set_metrics
    from copy_engine.generate import generate

    chosen = sweep_sample(sample, per_category)
    rows, total, done = [], len(chosen) * len(lambdas), 0
    for sp in chosen:
        if deadline is not None and time.perf_counter() > deadline:
            break
        for lam in lambdas:
            controls = Controls(creativity=float(lam))
            opts = CONFIGS["full"].options(channel, n, seed + sp.index)
            try:
                texts = [
                    v.text
                    for v in generate(
                        sp.product,
                        channel,
                        controls,
                        opts,
                        generator=generator,
                        embedder=embedder,
                        ctr_predictor=ctr_predictor,
                    ).variants
                ]
            except InputError:
                texts = []
            done += 1
            if progress:
                progress(done / total, f"λ sweep: {sp.category}, λ={lam:g}")
            if not texts:
                continue
            m = set_metrics(texts, sp.product, channel, embedder=embedder, ctr_predictor=ctr_predictor)
            rows.append({"category": sp.category, "product_index": sp.index, "lambda": float(lam), **m})
    return rows
