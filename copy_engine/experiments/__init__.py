"""A/B experiment statistics: per-variant results against the control.

Pure functions over counts (impressions, clicks, conversions). Frequentist parts
call statsmodels and the Bayesian parts numpy, both imported when called, so
`import copy_engine.experiments` stays cheap.

Main entry points:
- `read_results_csv(source)` -> list[ArmResult] (control first; per-day rows kept)
- `analyze(arms)` -> ExperimentReport (`to_dict()` is the `ab-report --format json` output)
- `sample_size(...)`, `mde(...)`: two-proportion power calculator
- `thompson_split(arms, ...)`: traffic split for the next period
- `daily_series(rows)`: cumulative CTR/CVR per day for trend charts
- `to_ctr_training_rows(name, arms)`: finished experiments as click-through training rows
"""

from copy_engine.experiments.arms import ArmResult, DailyRow
from copy_engine.experiments.bayes import posterior_summary, thompson_split
from copy_engine.experiments.daily import daily_series
from copy_engine.experiments.frequentist import holm_adjust, pooled_ztest, relative_lift, wilson_interval
from copy_engine.experiments.learning import to_ctr_training_rows
from copy_engine.experiments.power import mde, sample_size
from copy_engine.experiments.report import ExperimentReport, VariantStats, analyze, format_table
from copy_engine.experiments.results_csv import read_results_csv

__all__ = [
    "ArmResult",
    "DailyRow",
    "ExperimentReport",
    "VariantStats",
    "analyze",
    "daily_series",
    "format_table",
    "holm_adjust",
    "mde",
    "pooled_ztest",
    "posterior_summary",
    "read_results_csv",
    "relative_lift",
    "sample_size",
    "thompson_split",
    "to_ctr_training_rows",
    "wilson_interval",
]
