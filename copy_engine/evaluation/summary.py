"""What an offline evaluation found: the `Summary` that summary.json holds, report.md is written from and the
Insights page shows.

summary.json is a contract read by checks outside the repository: `Summary.to_json()` gives exactly its keys,
in this order, with the nested shapes spelled out by the TypedDicts below. `Summary.from_json` reads files
written by older versions too, filling what they lack with empty values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypedDict

SUMMARY_VERSION = 1

# One configuration's (or one category's) means per product: every key of evaluation.metrics.METRICS
# (predicted_ctr, faithfulness, perplexity, raw_yield, judged_usable, ...), sentiment_accuracy and
# sentiment_pairwise, plus products, sentiment_checked and seconds_per_product. None: not measured.
Metrics = dict[str, Any]


class ModelInfo(TypedDict):
    """The model that wrote the copy."""

    name: str
    fingerprint: str  # "" when the generator could not say
    device: str
    dtype: str
    backend: str


class AdapterInfo(TypedDict):
    """The adapters in play when the run started."""

    loaded: list[str]  # adapters the sliders mix
    always_on: list[str]  # adapters applied at 1.0 on every request
    files: dict[str, str]  # path of every adapter weight file present -> sha256


class Interval(TypedDict):
    """A paired bootstrap difference against the baseline (evaluation.bootstrap.Interval.to_dict())."""

    mean: float | None
    low: float | None
    high: float | None
    n: int


class SweepInfo(TypedDict):
    """The creativity slider sweep: λ values run, and per category its curve and elbow."""

    lambdas: list[float]
    curves: dict[str, list[dict]]  # category (and "All") -> points (lambda, creativity, predicted_ctr, ...)
    elbows: dict[str, dict]  # category -> elbow point (lambda, creativity, predicted_ctr, method)


class Recommendation(TypedDict):
    """The settings a category's elbow maps to."""

    creativity: float  # the slider value (the elbow's λ)
    decoding: dict  # DecodingParams.to_dict()
    adapters: dict  # AdapterWeights.to_dict()


def nan_to_none(value):
    """`value` with every NaN or infinite float, however deeply nested, replaced by None (JSON has neither)."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_none(v) for v in value]
    return value


def _empty_model() -> ModelInfo:
    return {"name": "", "fingerprint": "", "device": "", "dtype": "", "backend": ""}


def _empty_adapters() -> AdapterInfo:
    return {"loaded": [], "always_on": [], "files": {}}


def _empty_sweep() -> SweepInfo:
    return {"lambdas": [], "curves": {}, "elbows": {}}


@dataclass
class Summary:
    """An evaluation's results; fields in summary.json's key order. NaN never appears: unmeasured is None."""

    version: int = SUMMARY_VERSION  # format of summary.json
    created: str = ""  # when the run finished (UTC, ISO 8601, seconds)
    # EvalSettings as run (tuples as lists), plus how it ran: controls, config_definitions, library_decoding,
    # slider_decoding, product_seed, sampling and adapters_loaded.
    settings: dict = field(default_factory=dict)
    model: ModelInfo = field(default_factory=_empty_model)  # the model that wrote the copy
    adapters: AdapterInfo = field(default_factory=_empty_adapters)  # adapters loaded and hashes of weight files
    seeds: dict = field(default_factory=dict)  # {"base": seed, "products": {"index": seed of that product}}
    products: list[dict] = field(default_factory=list)  # products compared: index, category, name
    failures: list[dict] = field(default_factory=list)  # generations with no usable copy: index, config, error
    metrics: dict[str, dict] = field(default_factory=dict)  # metric key -> {"label", "higher_is_better"}
    configs: dict[str, Metrics] = field(default_factory=dict)  # configuration -> means over complete products
    categories: dict[str, dict[str, Metrics]] = field(default_factory=dict)  # category -> configuration -> means
    differences: dict[str, dict[str, Interval]] = field(default_factory=dict)  # configuration -> metric -> vs baseline
    complete_products: int | None = None  # products every configuration wrote copy for (None: an older file)
    sweep: SweepInfo = field(default_factory=_empty_sweep)  # the creativity sweep's curves and elbows
    elbow: dict[str, float] = field(default_factory=dict)  # category -> elbow λ (the slider value)
    recommendations: dict[str, Recommendation] = field(default_factory=dict)  # category -> settings at its elbow
    # {} for a finished run; otherwise "reason" and how far it got: "products_done" and/or "sentiment_checked".
    stopped_early: dict = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the run

    def __post_init__(self) -> None:
        # The summary in memory is the one on disk: callers see None where the file has null.
        for f in fields(self):
            setattr(self, f.name, nan_to_none(getattr(self, f.name)))

    def to_json(self) -> dict:
        """The summary.json object (keys and shapes are a contract)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        """A Summary from a summary.json object; keys an older version did not write take their empty value."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        # The nested records the page reads by key get their missing keys too.
        for name, empty in (("model", _empty_model), ("adapters", _empty_adapters), ("sweep", _empty_sweep)):
            if isinstance(values.get(name), dict):
                values[name] = {**empty(), **values[name]}
        return cls(**values)

    # -- what the Insights page shows, read the same way from old and new files

    @property
    def channel(self) -> str:
        """The channel the copy was written for."""
        return str(self.settings.get("channel", ""))

    @property
    def n_variants(self) -> int | None:
        """Variants per product and configuration."""
        return self.settings.get("n_variants")

    @property
    def seed(self) -> int | None:
        """The run's base seed."""
        return self.settings.get("seed")

    @property
    def config_definitions(self) -> dict[str, dict]:
        """Configuration -> its definition (description, decoding, what it switches on)."""
        return self.settings.get("config_definitions", {})

    @property
    def sentiment_checked(self) -> int:
        """Products whose sentiment ordering was checked (the baseline's count)."""
        return int(self.configs.get("baseline", {}).get("sentiment_checked") or 0)
