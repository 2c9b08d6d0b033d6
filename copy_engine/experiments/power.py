"""Sample size and minimum detectable effect for a two-proportion test (two arms, equal size), from statsmodels.

The effect is Cohen's h, h = 2*asin(sqrt(p_variant)) - 2*asin(sqrt(p_control)) (statsmodels
`proportion_effectsize`), and the two-sided test at level alpha with n visitors per arm has power
    Phi(|h| * sqrt(n/2) - z_{1-alpha/2}) + Phi(-|h| * sqrt(n/2) - z_{1-alpha/2}),
the normal approximation of statsmodels `NormalIndPower(ratio=1)` (the second term, a significant result in the
wrong direction, is tiny). Visitors per arm come from its `solve_power`. The minimum detectable effect does not:
its effect-size solver stops at power 0.8 +- 3e-5, so `mde` solves for h itself (brentq on the same power
function, bounded by the variant rate reaching 1). statsmodels and scipy are imported inside the functions so
`import copy_engine` stays fast.
"""

from __future__ import annotations

import math

from copy_engine.errors import InputError


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
    from statsmodels.stats.proportion import proportion_effectsize

    return float(proportion_effectsize(p_variant, p_control))


def _power_h(h: float, n_per_arm: float, alpha: float) -> float:
    from statsmodels.stats.power import NormalIndPower

    return float(NormalIndPower().power(abs(h), n_per_arm, alpha, ratio=1.0, alternative="two-sided"))


def power_at(p_control: float, p_variant: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Power of the two-sided test to tell p_variant from p_control with n_per_arm per arm."""
    _check_rate(p_control, "p_control")
    _check_rate(p_variant, "p_variant")
    if n_per_arm <= 0:
        raise InputError(f"n_per_arm must be positive, got {n_per_arm}")
    return _power_h(cohens_h(p_control, p_variant), n_per_arm, alpha)


def required_n_per_arm(p_control: float, mde_relative: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Visitors per arm (not rounded) for `power` to detect p_control * (1 + mde_relative)."""
    from statsmodels.stats.power import NormalIndPower

    _check_rate(p_control, "p_control")
    _check_level(alpha, power)
    if not isinstance(mde_relative, (int, float)) or mde_relative == 0 or not math.isfinite(mde_relative):
        raise InputError(f"mde_relative must be a non-zero relative lift such as 0.1 (= +10%), got {mde_relative!r}")
    p_variant = p_control * (1.0 + mde_relative)
    if not 0.0 < p_variant < 1.0:
        raise InputError(
            f"a lift of {mde_relative:+.1%} on a rate of {p_control:.4g} gives {p_variant:.4g}, outside 0..1"
        )
    h = abs(cohens_h(p_control, p_variant))
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0, alternative="two-sided")
    return float(n)


def sample_size(p_control: float, mde_relative: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Visitors per arm needed to detect a relative lift `mde_relative` (0.1 = +10%, negative for a drop)
    on a control rate `p_control` with a two-sided test at `alpha` and the given `power`."""
    n = required_n_per_arm(p_control, mde_relative, alpha, power)
    # tolerance so float noise on an exact integer does not add a visitor
    return max(1, math.ceil(n - 1e-9))


def mde(p_control: float, n_per_arm: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest relative lift (upwards, 0.1 = +10%) on `p_control` detectable with `n_per_arm`
    visitors per arm at the given alpha and power. InputError when no lift is detectable."""
    from scipy.optimize import brentq

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
    h = brentq(lambda x: _power_h(x, n_per_arm, alpha) - power, 0.0, h_max, xtol=1e-13)
    p_variant = math.sin(base + h / 2.0) ** 2
    return p_variant / p_control - 1.0
