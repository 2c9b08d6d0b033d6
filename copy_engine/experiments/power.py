"""Sample size and minimum detectable effect for a two-proportion test (two arms, equal size).

Formula (documented so results can be reproduced): the effect is Cohen's h,
h = 2*asin(sqrt(p_variant)) - 2*asin(sqrt(p_control)), and the two-sided test at
level alpha with n visitors per arm has power
    Phi(|h| * sqrt(n/2) - z_{1-alpha/2}) + Phi(-|h| * sqrt(n/2) - z_{1-alpha/2}),
the normal approximation used by statsmodels `NormalIndPower(ratio=1)` with
`proportion_effectsize` (tests compare to 1e-6). The second term (a
significant result in the wrong direction) is tiny but kept so the numbers
agree. n and h are found by bisection on this monotone function.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from copy_engine.errors import InputError
from copy_engine.experiments.frequentist import z_crit

_N = NormalDist()


def _check_level(alpha: float, power: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    if not 0.0 < power < 1.0:
        raise InputError(f"power must be between 0 and 1, got {power}")
    if power <= alpha:
        raise InputError(f"power ({power}) must be larger than alpha ({alpha})")


def _check_rate(p: float, label: str) -> None:
    if not isinstance(p, (int, float)) or not 0.0 < p < 1.0:
        raise InputError(f"{label} must be a rate strictly between 0 and 1, got {p!r}")


def cohens_h(p_control: float, p_variant: float) -> float:
    """Cohen's h effect size between two proportions (variant minus control)."""
    return 2.0 * math.asin(math.sqrt(p_variant)) - 2.0 * math.asin(math.sqrt(p_control))


def _power_h(h: float, n_per_arm: float, alpha: float) -> float:
    shift = abs(h) * math.sqrt(n_per_arm / 2.0)
    crit = z_crit(alpha)
    return _N.cdf(shift - crit) + _N.cdf(-shift - crit)


def power_at(p_control: float, p_variant: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Power of the two-sided test to tell p_variant from p_control with n_per_arm per arm."""
    _check_rate(p_control, "p_control")
    _check_rate(p_variant, "p_variant")
    if n_per_arm <= 0:
        raise InputError(f"n_per_arm must be positive, got {n_per_arm}")
    return _power_h(cohens_h(p_control, p_variant), n_per_arm, alpha)


def _bisect(f, lo: float, hi: float, iters: int = 200) -> float:
    """Root of increasing f on [lo, hi] (f(lo) < 0 <= f(hi))."""
    for _ in range(iters):
        mid = (lo + hi) / 2.0
        if f(mid) < 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def required_n_per_arm(p_control: float, mde_relative: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Visitors per arm (not rounded) for `power` to detect p_control * (1 + mde_relative)."""
    _check_rate(p_control, "p_control")
    _check_level(alpha, power)
    if not isinstance(mde_relative, (int, float)) or mde_relative == 0 or not math.isfinite(mde_relative):
        raise InputError(f"mde_relative must be a non-zero relative lift such as 0.1 (= +10%), got {mde_relative!r}")
    p_variant = p_control * (1.0 + mde_relative)
    if not 0.0 < p_variant < 1.0:
        raise InputError(
            f"a lift of {mde_relative:+.1%} on a rate of {p_control:.4g} gives {p_variant:.4g}, outside 0..1"
        )
    h = cohens_h(p_control, p_variant)
    # one-tail closed form is an upper bound (the other tail only adds power)
    hi = 2.0 * ((z_crit(alpha) + _N.inv_cdf(power)) / abs(h)) ** 2
    return _bisect(lambda n: _power_h(h, n, alpha) - power, 0.0, hi * 1.01 + 1.0)


def sample_size(p_control: float, mde_relative: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Visitors per arm needed to detect a relative lift `mde_relative` (0.1 = +10%, negative for a drop)
    on a control rate `p_control` with a two-sided test at `alpha` and the given `power`."""
    n = required_n_per_arm(p_control, mde_relative, alpha, power)
    # tolerance so float noise on an exact integer does not add a visitor
    return max(1, math.ceil(n - 1e-9))


def mde(p_control: float, n_per_arm: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest relative lift (upwards, 0.1 = +10%) on `p_control` detectable with `n_per_arm`
    visitors per arm at the given alpha and power. InputError when no lift is detectable."""
    _check_rate(p_control, "p_control")
    _check_level(alpha, power)
    if isinstance(n_per_arm, bool) or not isinstance(n_per_arm, (int, float)) or not n_per_arm > 0:
        raise InputError(f"n_per_arm must be a positive number of visitors, got {n_per_arm!r}")
    base = math.asin(math.sqrt(p_control))
    h_max = math.pi - 2.0 * base  # the variant rate reaching 1
    if _power_h(h_max, n_per_arm, alpha) < power:
        raise InputError(
            f"with {n_per_arm} visitors per arm no lift on a rate of {p_control:.4g} reaches power {power}"
        )
    h = _bisect(lambda x: _power_h(x, n_per_arm, alpha) - power, 0.0, h_max)
    p_variant = math.sin(base + h / 2.0) ** 2
    return p_variant / p_control - 1.0
