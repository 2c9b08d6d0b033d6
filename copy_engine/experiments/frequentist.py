"""Frequentist statistics on two binomial proportions (standard library only).

Conventions, checked against statsmodels in tests/test_experiments.py:
- Wilson score interval = statsmodels `proportion_confint(method="wilson")`.
- Two-sided two-proportion z-test with the POOLED variance = statsmodels
  `proportions_ztest([x_variant, x_control], [n_variant, n_control])`.
- Relative lift p_variant / p_control - 1 with the Katz log interval: a normal
  interval for log(p_v / p_c) with the delta-method variance
  1/x_v - 1/n_v + 1/x_c - 1/n_c, exponentiated (= statsmodels
  `confint_proportions_2indep(method="log", compare="ratio")`).
- Holm step-down adjustment = statsmodels `multipletests(method="holm")`.

Every function returns None (or None parts) where a value is undefined, e.g. a
rate with 0 trials or a test where both arms have no successes, never NaN.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_N = NormalDist()


def z_crit(alpha: float) -> float:
    """Two-sided critical value z_{1 - alpha/2}."""
    return _N.inv_cdf(1.0 - alpha / 2.0)


def two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z; erfc keeps precision far in the tail."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def rate(successes: int, trials: int) -> float | None:
    """successes / trials, or None with no trials."""
    return successes / trials if trials > 0 else None


def wilson_interval(successes: int, trials: int, alpha: float = 0.05) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion; None with no trials."""
    if trials <= 0:
        return None
    z = z_crit(alpha)
    p = successes / trials
    z2n = z * z / trials
    denom = 1.0 + z2n
    center = (p + z2n / 2.0) / denom
    half = z * math.sqrt(p * (1.0 - p) / trials + z2n / (4.0 * trials)) / denom
    # at p = 0 or 1 the end is exactly 0 or 1; rounding would leave it a hair off
    lo = 0.0 if successes == 0 else max(0.0, center - half)
    hi = 1.0 if successes == trials else min(1.0, center + half)
    return lo, hi


def pooled_ztest(x_variant: int, n_variant: int, x_control: int, n_control: int) -> tuple[float, float] | None:
    """Two-sided pooled two-proportion z-test of variant against control: (z, p_value).

    None when undefined: an arm without trials, or a pooled rate of 0 or 1 (both
    arms all-failure or all-success, so there is no variance to test against).
    """
    if n_variant <= 0 or n_control <= 0:
        return None
    pooled = (x_variant + x_control) / (n_variant + n_control)
    var = pooled * (1.0 - pooled) * (1.0 / n_variant + 1.0 / n_control)
    if var <= 0.0:
        return None
    z = (x_variant / n_variant - x_control / n_control) / math.sqrt(var)
    return z, two_sided_p(z)


def relative_lift(
    x_variant: int, n_variant: int, x_control: int, n_control: int, alpha: float = 0.05
) -> tuple[float | None, tuple[float, float] | None]:
    """Relative lift p_v / p_c - 1 and its Katz log interval (as relative lifts).

    The lift is None when the control rate is 0 or undefined; the interval is
    None when either arm has no successes (the log ratio is then unbounded).
    """
    if n_variant <= 0 or n_control <= 0 or x_control == 0:
        return None, None
    p_v, p_c = x_variant / n_variant, x_control / n_control
    lift = p_v / p_c - 1.0
    if x_variant == 0:
        return lift, None
    se = math.sqrt(1.0 / x_variant - 1.0 / n_variant + 1.0 / x_control - 1.0 / n_control)
    log_ratio = math.log(p_v / p_c)
    z = z_crit(alpha)
    return lift, (math.exp(log_ratio - z * se) - 1.0, math.exp(log_ratio + z * se) - 1.0)


def holm_adjust(p_values: list[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values, in input order. None entries stay None and
    are not counted in the family (an undefined test cannot be rejected)."""
    defined = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(defined)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(defined):
        # monotone: an adjusted p-value is never below the one ranked before it
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
