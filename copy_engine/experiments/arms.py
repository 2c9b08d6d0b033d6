"""Counts of one experiment arm (variant), in total and per day."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from copy_engine.errors import InputError

# SQLite stores integers as signed 64-bit: a larger count overflows on insert, and
# counts near float's range (1e308) make every statistic meaningless.
MAX_COUNT = 2**63 - 1
# The Bayesian summary draws 200,000 samples per variant (1.6 MB each); thousands of
# variants in a hostile CSV would take gigabytes. Real tests have a handful.
MAX_VARIANTS = 50


def shown_number(value) -> str:
    """A possibly huge number, short enough for an error message."""
    text = str(value)
    return text if len(text) <= 24 else f"a {len(text.split('.')[0].lstrip('-'))}-digit number"



def as_count(value, label: str, where: str) -> int:
    """`value` as a plain int: ints (numpy's too) and whole floats such as 120.0 from a
    spreadsheet or a REAL column pass; fractions, text, bools and negatives raise InputError."""
    # bool is an int subclass, but True clicks is a caller bug, not a count
    if isinstance(value, bool):
        raise InputError(f"{where}: {label} must be a whole number, got {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        value = int(value)
    else:
        raise InputError(f"{where}: {label} must be a whole number, got {value!r}")
    if value < 0:
        raise InputError(f"{where}: {label} must not be negative, got {value}")
    if value > MAX_COUNT:
        raise InputError(
            f"{where}: {label} must be at most {MAX_COUNT:,} (the largest count that can be stored), "
            f"got {shown_number(value)}"
        )
    return value


def check_counts(impressions, clicks, conversions, where: str) -> tuple[int, int, int]:
    """The three counts as ints; InputError (prefixed with `where`) unless they form a valid funnel."""
    impressions = as_count(impressions, "impressions", where)
    clicks = as_count(clicks, "clicks", where)
    conversions = as_count(conversions, "conversions", where)
    if clicks > impressions:
        raise InputError(f"{where}: clicks ({clicks}) exceed impressions ({impressions})")
    if conversions > clicks:
        raise InputError(f"{where}: conversions ({conversions}) exceed clicks ({clicks})")
    return impressions, clicks, conversions


def _set_counts(obj, where: str) -> None:
    counts = check_counts(obj.impressions, obj.clicks, obj.conversions, where)
    for name, value in zip(("impressions", "clicks", "conversions"), counts, strict=True):
        object.__setattr__(obj, name, value)  # frozen: normalise numpy ints / 120.0 once, here


@dataclass(frozen=True)
class DailyRow:
    """One variant's counts on one day (for trend charts)."""

    variant: str
    day: str
    impressions: int
    clicks: int
    conversions: int

    def __post_init__(self):
        _set_counts(self, f"variant {self.variant!r}, day {self.day!r}")


@dataclass(frozen=True)
class ArmResult:
    """Total counts of one variant. `text` is the copy shown, when known (used for CTR training rows)."""

    variant: str
    impressions: int
    clicks: int
    conversions: int = 0
    daily: tuple[DailyRow, ...] = field(default=(), compare=False)
    text: str | None = None

    def __post_init__(self):
        if not isinstance(self.variant, str) or not self.variant.strip():
            raise InputError(f"variant name must be a non-empty text, got {self.variant!r}")
        _set_counts(self, f"variant {self.variant!r}")
        object.__setattr__(self, "daily", tuple(self.daily))


def check_arms(arms) -> list[ArmResult]:
    """Validate a list of arms for analysis: at least 2, unique names, control first."""
    arms = list(arms)
    for a in arms:
        if not isinstance(a, ArmResult):
            raise InputError(f"expected ArmResult items, got {type(a).__name__}")
    if len(arms) < 2:
        raise InputError(f"an experiment needs at least 2 variants (control first), got {len(arms)}")
    if len(arms) > MAX_VARIANTS:
        raise InputError(f"an A/B report covers at most {MAX_VARIANTS} variants, got {len(arms)}")
    seen = set()
    for a in arms:
        if a.variant in seen:
            raise InputError(f"duplicate variant name {a.variant!r}")
        seen.add(a.variant)
    return arms
