"""Held-out metrics of a headline scorer, defined exactly as the independent check defines them.

Per test: the largest (image, lede) group, first row of each distinct headline;
pairs with equal CTR are skipped; equal scores count half; a pair is significant
when the pooled two-proportion |z| > 1.96; selection lift is CTR of the top-scored
headline / mean CTR of the test's headlines - 1, averaged over tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from copy_engine.ctr.abdata import evaluation_groups, two_proportion_z


@dataclass
class Metrics:
    """Held-out figures of one scorer."""

    sig_pair_accuracy: float
    all_pair_accuracy: float
    log_loss: float | None
    selection_lift: float
    n_sig_pairs: int
    n_pairs: int
    n_tests: int

    def as_dict(self) -> dict:
        """Plain dict (for JSON metadata)."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def selection_lift(ctr: np.ndarray, scores: np.ndarray) -> float | None:
    """CTR of the top-scored headline over the group's mean CTR, minus one (None when mean CTR is 0)."""
    ctr = np.asarray(ctr, dtype=float)
    m = ctr.mean()
    if m <= 0:
        return None
    return float(ctr[int(np.argmax(scores))] / m - 1)


def evaluate_scores(
    df: pd.DataFrame,
    score_of: Callable[[list[str]], np.ndarray],
    prob_of_diff: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Metrics:
    """Score each evaluation group's headlines with `score_of` and compute the metrics.

    `prob_of_diff` maps score differences (a - b) to P(a has the higher CTR); when
    given, log loss is computed over the non-tied pairs against the observed winner.
    """
    groups = evaluation_groups(df)
    texts = sorted({h for g in groups for h in g["headline"]})
    index = {t: i for i, t in enumerate(texts)}
    all_scores = np.asarray(score_of(texts), dtype=float) if texts else np.zeros(0)
    hit_all = hit_sig = 0.0
    n_all = n_sig = 0
    diffs, wins, lifts = [], [], []
    for x in groups:
        ctr = (x.clicks / x.impressions).to_numpy(dtype=float)
        c = x.clicks.to_numpy(dtype=float)
        n = x.impressions.to_numpy(dtype=float)
        s = all_scores[[index[h] for h in x.headline]]
        # every pair's z in one call (one statsmodels call per pair would cost ~0.1 ms each)
        iu, ju = np.triu_indices(len(x), 1)
        z_of = np.zeros((len(x), len(x)))
        z_of[iu, ju] = two_proportion_z(c[iu], n[iu], c[ju], n[ju])[0]
        for i in range(len(x)):
            for j in range(i + 1, len(x)):
                if ctr[i] == ctr[j]:
                    continue
                right = 0.5 if s[i] == s[j] else float((s[i] > s[j]) == (ctr[i] > ctr[j]))
                z = z_of[i, j]
                n_all += 1
                hit_all += right
                if abs(float(z)) > 1.96:
                    n_sig += 1
                    hit_sig += right
                diffs.append(s[i] - s[j])
                wins.append(float(ctr[i] > ctr[j]))
        lift = selection_lift(ctr, s)
        if lift is not None:
            lifts.append(lift)
    ll = None
    if prob_of_diff is not None and diffs:
        p = np.clip(np.asarray(prob_of_diff(np.asarray(diffs)), dtype=float), 1e-6, 1 - 1e-6)
        y = np.asarray(wins)
        ll = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return Metrics(
        sig_pair_accuracy=hit_sig / n_sig if n_sig else float("nan"),
        all_pair_accuracy=hit_all / n_all if n_all else float("nan"),
        log_loss=ll,
        selection_lift=float(np.mean(lifts)) if lifts else float("nan"),
        n_sig_pairs=n_sig,
        n_pairs=n_all,
        n_tests=len(groups),
    )


def format_table(rows: dict[str, Metrics]) -> str:
    """Fixed-width table of several scorers' metrics."""
    head = f"{'scorer':<34} {'sig-pair acc':>12} {'all-pair acc':>12} {'log loss':>9} {'sel. lift':>10}"
    lines = [head, "-" * len(head)]
    for name, m in rows.items():
        ll = f"{m.log_loss:.4f}" if m.log_loss is not None else "-"
        lines.append(
            f"{name:<34} {m.sig_pair_accuracy:>12.3f} {m.all_pair_accuracy:>12.3f} {ll:>9} {m.selection_lift:>+10.1%}"
        )
    any_m = next(iter(rows.values()), None)
    if any_m is not None:
        lines.append(f"({any_m.n_tests} held-out tests, {any_m.n_pairs} pairs, {any_m.n_sig_pairs} significant)")
    return "\n".join(lines)
