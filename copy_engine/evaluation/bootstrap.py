"""Bootstrap confidence intervals for paired differences (resampling products)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """Mean difference with a percentile bootstrap interval."""

    mean: float
    low: float
    high: float
    n: int  # products with a value in both configurations

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def excludes_zero(self) -> bool:
        return self.n > 0 and (self.low > 0 or self.high < 0)


def paired_bootstrap(
    treated: Sequence[float],
    control: Sequence[float],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Mean of treated - control over paired items, with a percentile bootstrap interval.

    Pairs where either value is NaN are dropped. The items (products) are
    resampled with replacement, keeping each pair together.
    """
    a = np.asarray(treated, dtype=float)
    b = np.asarray(control, dtype=float)
    if a.shape != b.shape:
        raise ValueError("treated and control must have one value per item each")
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
    if len(d) == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(float(d.mean()), float(low), float(high), len(d))
