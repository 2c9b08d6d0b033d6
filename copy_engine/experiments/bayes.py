"""Bayesian summaries: probability of being best, expected loss, Thompson traffic split.

Each arm's rate has a Beta(1 + successes, 1 + failures) posterior (uniform
prior). Probabilities come from Monte Carlo with a fixed seed, so a report is
reproducible; with the default 200,000 draws the standard error of a
probability is below 0.0012. numpy is imported inside the functions.
"""

from __future__ import annotations

from copy_engine.errors import InputError
from copy_engine.experiments.arms import ArmResult

DEFAULT_DRAWS = 200_000
DEFAULT_SEED = 20240607
METRICS = ("ctr", "cvr")


def _counts(arm: ArmResult, metric: str) -> tuple[int, int]:
    if metric == "ctr":
        return arm.clicks, arm.impressions
    if metric == "cvr":
        return arm.conversions, arm.clicks
    raise InputError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")


def _draw(arms: list[ArmResult], metric: str, draws: int, seed: int):
    import numpy as np

    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise InputError(f"draws must be a positive whole number, got {draws!r}")
    rng = np.random.default_rng(seed)
    samples = np.empty((draws, len(arms)))
    for j, arm in enumerate(arms):
        s, n = _counts(arm, metric)
        samples[:, j] = rng.beta(1 + s, 1 + n - s, size=draws)
    return samples


def posterior_summary(
    arms: list[ArmResult], metric: str = "ctr", draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED
) -> dict[str, dict[str, float]]:
    """Per variant: `prob_best` (share of posterior draws where it has the highest rate) and
    `expected_loss` (E[max rate - its rate], in rate units: what choosing it costs if wrong)."""
    import numpy as np

    arms = list(arms)
    if not arms:
        raise InputError("no variants given")
    samples = _draw(arms, metric, draws, seed)
    best = samples.argmax(axis=1)
    prob_best = np.bincount(best, minlength=len(arms)) / draws
    loss = (samples.max(axis=1)[:, None] - samples).mean(axis=0)
    return {
        arm.variant: {"prob_best": float(prob_best[j]), "expected_loss": float(loss[j])} for j, arm in enumerate(arms)
    }


def apply_floor(shares: dict[str, float], floor: float) -> dict[str, float]:
    """Raise every share to at least `floor`, taking the difference proportionally from the
    arms above it, so every variant keeps some traffic to learn from. Shares sum to 1."""
    k = len(shares)
    if not 0.0 <= floor <= 1.0 / k + 1e-12:
        raise InputError(f"split floor must be between 0 and 1/{k} for {k} variants, got {floor}")
    out = dict(shares)
    fixed: set[str] = set()
    while True:
        low = {name for name, s in out.items() if name not in fixed and s < floor}
        if not low:
            break
        fixed |= low
        free = [name for name in out if name not in fixed]
        free_total = sum(shares[name] for name in free)
        remaining = 1.0 - floor * len(fixed)
        for name in fixed:
            out[name] = floor
        for name in free:
            out[name] = remaining * shares[name] / free_total if free_total > 0 else remaining / len(free)
    return out


def thompson_split(
    arms: list[ArmResult],
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    floor: float = 0.0,
    metric: str = "ctr",
) -> dict[str, float]:
    """Traffic share per variant for the next period: the share of posterior draws in which
    each variant is best (Thompson sampling, batched), with no variant below `floor`."""
    summary = posterior_summary(arms, metric=metric, draws=draws, seed=seed)
    return apply_floor({name: v["prob_best"] for name, v in summary.items()}, floor)
