"""Running an offline evaluation end to end: sample, generate per configuration, measure, compare, sweep, report."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from copy_engine.controls import Controls, map_controls
from copy_engine.errors import InputError
from copy_engine.hashing import file_sha256
from copy_engine.evaluation.configs import CONFIGS, DEFAULT_CONFIGS, LIBRARY_DECODING
from copy_engine.evaluation.metrics import COMPARED, METRICS, mean_of, mean_sentiment, sentiment_order, set_metrics
from copy_engine.evaluation.summary import SUMMARY_VERSION, Summary
from copy_engine.evaluation.sweep import DEFAULT_LAMBDAS

ALL = "All"  # the pooled "category" in per-category results


@dataclass(frozen=True)
class EvalSettings:
    """Everything that decides an evaluation's result (recorded in summary.json)."""

    catalog: str
    n_products: int = 50
    configs: tuple[str, ...] = DEFAULT_CONFIGS
    channel: str = "headline"
    n_variants: int = 4
    seed: int = 0
    sentiment_check: int = 6  # products whose sentiment ordering is checked (3 generations each per config); 0 = off
    sweep_products: int = 1  # products per category in the λ sweep; 0 = no sweep
    lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    min_stratum: int = 10  # categories with fewer catalog products are pooled into "Other"
    n_boot: int = 2000
    perplexity: bool = True  # fluency check under the base model (skipped for generators without a loaded model)
    # Minutes after which no new work starts (None: no limit). The comparison gets 70% of it when a
    # sentiment check or sweep follows, the sentiment check up to 85%; results cover what finished.
    time_budget_min: float | None = None

    def validate(self) -> None:
        """InputError for any setting that cannot work, before anything loads."""
        from copy_engine.channels import get_channel
        from copy_engine.generate import MAX_VARIANTS

        get_channel(self.channel)
        if not isinstance(self.n_products, int) or self.n_products <= 0:
            raise InputError(f"--n-products must be a positive whole number, got {self.n_products!r}")
        if not 1 <= self.n_variants <= MAX_VARIANTS:
            raise InputError(f"--n must be between 1 and {MAX_VARIANTS}, got {self.n_variants}")
        if self.sentiment_check < 0 or self.sweep_products < 0:
            raise InputError("--sentiment-check and --sweep-products cannot be negative")
        unknown = [c for c in self.configs if c not in CONFIGS]
        if unknown or not self.configs:
            raise InputError(
                f"unknown configuration(s): {', '.join(unknown) or '(none)'}; choose from: {', '.join(CONFIGS)}"
            )
        if "baseline" not in self.configs:
            raise InputError("the configurations must include baseline (differences are measured against it)")
        if any(not 0.0 <= lam <= 1.0 for lam in self.lambdas):
            raise InputError("λ values must lie between 0 and 1")
        if self.time_budget_min is not None and not self.time_budget_min > 0:
            raise InputError(f"the time budget must be a positive number of minutes, got {self.time_budget_min!r}")


@dataclass
class Generation:
    """The variants of one product under one configuration, and their metrics."""

    index: int
    category: str
    product: str
    config: str
    seed: int
    texts: list[str]
    metrics: dict
    seconds: float
    error: str = ""
    sentiment: dict = field(default_factory=dict)  # vader means at -1/0/+1 when checked


def engine(generator=None, embedder=None, ctr_predictor=None):
    """The real generator, embedder and CTR predictor for whichever of them is None.

    Looked up through their modules at call time, so tests can monkeypatch them.
    """
    if generator is None:
        from copy_engine import generator as generator_module

        generator = generator_module.get_default_generator()
    if embedder is None:
        from copy_engine import embeddings

        embedder = embeddings.get_embedder()
    if ctr_predictor is None:
        from copy_engine import ctr

        ctr_predictor = ctr.get_default_predictor()
    return generator, embedder, ctr_predictor


def base_model_perplexity(generator) -> Callable[[Sequence[str]], float] | None:
    """perplexity(texts) under the generator's model with adapters off; None for generators without a model.

    The base model is the transformers model on every backend (llama.cpp
    backends load it on first use), so fluency is judged the same way whichever
    backend wrote the copy, and without any adapter's drift.
    """
    if not generator.has_base_model():
        return None
    from copy_engine.fluency import perplexity

    def fn(texts: Sequence[str]) -> float:
        with generator.base_model() as loaded:
            return perplexity(loaded, list(texts))

    return fn


def fingerprints(generator) -> dict:
    """Model name and fingerprint, loaded adapter names and sha256 of the adapter weight files present
    (shipped ones under copy_engine/adapters and the user's under COPYLAB_HOME/adapters)."""
    from copy_engine.settings import get_settings

    fp = ""
    with contextlib.suppress(Exception):
        fp = generator.fingerprint()
    names = list(generator.adapter_names)
    files: dict[str, str] = {}
    roots = [Path(__file__).resolve().parents[1] / "adapters", get_settings().adapters_dir]
    for root in roots:
        if root.is_dir():
            for p in sorted(root.rglob("*")):
                if p.is_file() and p.suffix in (".safetensors", ".bin"):  # adapter weights, not training data
                    files[str(p)] = file_sha256(p)
    return {
        "model": {
            "name": generator.name,
            "fingerprint": fp,
            "device": generator.device,
            "dtype": str(generator.dtype),
            "backend": generator.backend,
        },
        "adapters": {"loaded": names, "always_on": list(generator.always_on), "files": files},
    }


def _generate_texts(
    sp, channel, controls, config, n, seed, generator, embedder, ctr_predictor
) -> tuple[list[str], str, dict]:
    """(texts, error message, pipeline metrics) of one generation; writing nothing usable is an error, not a crash.

    The pipeline metrics: raw_yield (share of raw samples that survive cleaning with no invented or banned
    detail) and judged_usable (share of shown variants the usable-copy judge scores >= 0.5; NaN without it).
    """
    from copy_engine.generate import generate

    try:
        result = generate(
            sp.product,
            channel,
            controls,
            CONFIGS[config].options(channel, n, seed),
            generator=generator,
            embedder=embedder,
            ctr_predictor=ctr_predictor,
        )
    except InputError as exc:
        return [], str(exc), {}
    quality = [v.scores["quality"] for v in result.variants if "quality" in v.scores]
    extra = {
        "raw_yield": result.clean_unflagged / result.sampled if result.sampled else math.nan,
        "judged_usable": float(np.mean([q >= 0.5 for q in quality])) if quality else math.nan,
    }
    return [v.text for v in result.variants], "", extra


def aggregate(gens: list[Generation], configs: Sequence[str], n_boot: int, seed: int) -> dict:
    """Per-configuration means, per-category means and bootstrap differences against the baseline.

    Only products every configuration wrote copy for count, so the comparison is paired.
    """
    from copy_engine.evaluation.bootstrap import paired_bootstrap

    by = {(g.index, g.config): g for g in gens}
    indices = sorted({g.index for g in gens})
    complete = [i for i in indices if all(by.get((i, c)) and by[(i, c)].texts for c in configs)]
    category = {g.index: g.category for g in gens}
    keys = COMPARED

    def row(g: Generation) -> dict:
        r = dict(g.metrics)
        if g.sentiment:
            r["sentiment_accuracy"] = float(g.sentiment["ordered"])
            r["sentiment_pairwise"] = g.sentiment["pairwise"]
        return r

    def means(idx: list[int], config: str) -> dict:
        rows = [row(by[(i, config)]) for i in idx]
        out = {k: mean_of(rows, k) for k in keys}
        out["products"] = len(idx)
        out["sentiment_checked"] = sum(1 for i in idx if by[(i, config)].sentiment)
        out["seconds_per_product"] = float(sum(by[(i, config)].seconds for i in idx) / len(idx)) if idx else math.nan
        return out

    summary_configs = {c: means(complete, c) for c in configs}
    cats = sorted({category[i] for i in complete})
    per_category = {cat: {c: means([i for i in complete if category[i] == cat], c) for c in configs} for cat in cats}
    differences = {}
    for c in configs:
        if c == "baseline":
            continue
        differences[c] = {}
        for k in keys:
            treated = [row(by[(i, c)]).get(k, math.nan) for i in complete]
            control = [row(by[(i, "baseline")]).get(k, math.nan) for i in complete]
            differences[c][k] = paired_bootstrap(treated, control, n_boot=n_boot, seed=seed).to_dict()
    return {
        "configs": summary_configs,
        "categories": per_category,
        "differences": differences,
        "complete_products": len(complete),
    }


class Budget:
    """The three deadlines of a run (time.perf_counter() values; inf without a time budget).

    The comparison gets 70% of the budget when a sentiment check or sweep
    follows, the sentiment check up to 85% when a sweep follows, the sweep the
    rest. A phase starts no new product after its deadline, so the results
    cover what finished and the report still gets written.
    """

    def __init__(self, minutes: float | None, start: float, *, sentiment: bool, sweep: bool):
        total = minutes * 60.0 if minutes else math.inf
        self.comparison = start + total * (0.7 if sentiment or sweep else 1.0)  # phase 1: the configurations
        self.sentiment = start + total * (0.85 if sweep else 1.0)  # phase 2: the sentiment check
        self.sweep = start + total  # phase 3: the λ sweep
        self.reason = f"time budget of {minutes:g} min" if minutes else ""  # why a phase stopped (stopped_early)

    @staticmethod
    def passed(deadline: float) -> bool:
        """True once `deadline` is behind us."""
        return time.perf_counter() > deadline


class Progress:
    """Calls progress(fraction, message) as planned steps finish: one per generation; the sweep reports its own
    fraction, scaled into its share of the steps."""

    def __init__(self, report: Callable[[float, str], None] | None, *, comparison: int, sentiment: int, sweep: int):
        self._report = report or (lambda f, m: None)
        self.total = comparison + sentiment + sweep  # steps planned (never 0: a sample has products)
        self.done = 0  # steps finished

    def step(self, message: str) -> None:
        """One planned step finished."""
        self.done += 1
        self._report(min(1.0, self.done / self.total), message)

    def say(self, message: str, fraction: float | None = None) -> None:
        """A message at the current fraction (or at `fraction`)."""
        self._report(self.done / self.total if fraction is None else fraction, message)

    def share(self, steps: int) -> Callable[[float, str], None]:
        """A progress callback for a phase that reports its own 0-1 fraction over the next `steps` steps."""
        offset = self.done / self.total
        return lambda f, m: self._report(min(1.0, offset + f * steps / self.total), m)


@dataclass
class _Run:
    """One evaluation under way: what each phase needs."""

    settings: EvalSettings
    generator: Any
    embedder: Any
    ctr_predictor: Any
    fluency: Callable[[Sequence[str]], float] | None  # perplexity under the base model; None: not measured
    budget: Budget
    progress: Progress

    def texts(self, sp, controls: Controls, config: str) -> tuple[list[str], str, dict]:
        """_generate_texts for one product and configuration, at the product's seed."""
        s = self.settings
        seed = product_seed(s, sp)
        models = (self.generator, self.embedder, self.ctr_predictor)
        return _generate_texts(sp, s.channel, controls, config, s.n_variants, seed, *models)


def product_seed(settings: EvalSettings, sp) -> int:
    """The seed of a sampled product: the same for every configuration, so they differ by configuration only."""
    return settings.seed + sp.index


def _sample(settings: EvalSettings, out: Path) -> list:
    """The products to evaluate; InputError for bad settings, output folder or catalog (before any model loads)."""
    from copy_engine.adapters.data import is_training_product
    from copy_engine.catalog import read_products
    from copy_engine.evaluation.sampling import sample_products

    settings.validate()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    # Evaluation-split products only: the copywriter and the adapters learn from the training split.
    products = [p for p in read_products(settings.catalog) if not is_training_product(p.name)]
    if not products:
        raise InputError(f"{settings.catalog}: no evaluation-split products in the catalog")
    return sample_products(products, settings.n_products, settings.seed, settings.min_stratum)


def _generation(run: _Run, sp, config: str) -> Generation:
    """One product under one configuration with neutral controls, measured."""
    s = run.settings
    t0 = time.perf_counter()
    texts, error, extra = run.texts(sp, Controls(), config)
    metrics = {}
    if texts:
        metrics = set_metrics(
            texts, sp.product, s.channel, embedder=run.embedder, ctr_predictor=run.ctr_predictor, fluency=run.fluency
        ) | extra
    seconds = time.perf_counter() - t0
    seed = product_seed(s, sp)
    return Generation(sp.index, sp.category, sp.product.name, config, seed, texts, metrics, seconds, error)


def _compare(run: _Run, sample: list) -> tuple[list[Generation], dict]:
    """Phase 1: every configuration on each sampled product, until the comparison deadline.

    Returns the generations and what stopped the phase early ({} when nothing did).
    """
    gens: list[Generation] = []
    for sp in sample:
        if run.budget.passed(run.budget.comparison):
            run.progress.say(f"Time budget reached after {sp.index} products")
            return gens, {"reason": run.budget.reason, "products_done": sp.index}
        for config in run.settings.configs:
            gens.append(_generation(run, sp, config))
            run.progress.step(f"{config}: product {sp.index + 1}/{len(sample)} ({sp.category})")
    return gens, {}


def _check_sentiment(run: _Run, checked: list, gens: list[Generation]) -> dict:
    """Phase 2: the sentiment control on the `checked` products, until the sentiment deadline.

    The neutral run of phase 1 is the middle point; calm (-1) and enthusiastic
    (+1) are generated here and the three orderings stored on the generations.
    Returns what stopped the phase early ({} when nothing did).
    """
    by = {(g.index, g.config): g for g in gens}
    for sp in checked:
        if run.budget.passed(run.budget.sentiment):
            done = sum(1 for g in gens if g.sentiment and g.config == "baseline")
            return {"reason": run.budget.reason, "sentiment_checked": done}
        for config in run.settings.configs:
            g = by[(sp.index, config)]
            ends = {}
            for s in (-1.0, 1.0):
                texts, _, _ = run.texts(sp, Controls(sentiment=s), config)
                ends[s] = mean_sentiment(texts)
                run.progress.step(f"sentiment check: {config}, product {sp.index + 1}")
            mid = mean_sentiment(g.texts)
            if g.texts and not math.isnan(ends[-1.0]) and not math.isnan(ends[1.0]):
                ordered, pairwise = sentiment_order(ends[-1.0], mid, ends[1.0])
                g.sentiment = {
                    "calm": ends[-1.0],
                    "neutral": mid,
                    "enthusiastic": ends[1.0],
                    "ordered": ordered,
                    "pairwise": pairwise,
                }
    return {}


def _sweep(run: _Run, sample: list, steps: int) -> tuple[list[dict], dict[str, list[dict]], dict[str, dict]]:
    """Phase 3: the λ sweep of the full pipeline until the last deadline; (rows, curve and elbow per category).

    Curves and elbows cover each category and all of them pooled (ALL).
    """
    from copy_engine.evaluation.sweep import curve_points, find_elbow, run_sweep

    s = run.settings
    if not s.sweep_products:
        return [], {}, {}
    rows = run_sweep(
        sample,
        s.channel,
        lambdas=s.lambdas,
        per_category=s.sweep_products,
        n=s.n_variants,
        seed=s.seed,
        generator=run.generator,
        embedder=run.embedder,
        ctr_predictor=run.ctr_predictor,
        progress=run.progress.share(steps),
        deadline=run.budget.sweep,
    )
    curves: dict[str, list[dict]] = {}
    elbows: dict[str, dict] = {}
    for cat in sorted({r["category"] for r in rows}) + [ALL]:
        points = curve_points(rows if cat == ALL else [r for r in rows if r["category"] == cat])
        curves[cat] = points
        elbow = find_elbow(
            [p["lambda"] for p in points], [p["creativity"] for p in points], [p["predicted_ctr"] for p in points]
        )
        if elbow is not None:
            elbows[cat] = elbow.to_dict()
    return rows, curves, elbows


def _recommendations(elbows: dict[str, dict], channel: str) -> dict[str, dict]:
    """Per category: the creativity slider at its elbow and the decoding and adapter mix that setting maps to."""
    out = {}
    for cat, e in elbows.items():
        mapping = map_controls(Controls(creativity=e["lambda"]), channel)
        out[cat] = {
            "creativity": e["lambda"],
            "decoding": mapping.decoding.to_dict(),
            "adapters": mapping.adapters.to_dict(),
        }
    return out


def _settings_record(settings: EvalSettings, adapters_loaded: list[str]) -> dict:
    """summary.json's "settings": the EvalSettings as run and how products, seeds and decodings were chosen."""
    neutral = Controls()
    return {
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()},
        "catalog": str(settings.catalog),
        "controls": asdict(neutral),
        "config_definitions": {c: CONFIGS[c].to_dict() for c in settings.configs},
        "library_decoding": LIBRARY_DECODING,
        "slider_decoding": map_controls(neutral, settings.channel).decoding.to_dict(),
        "product_seed": "seed + product index (same for every configuration)",
        "sampling": f"stratified by top-level category; categories under {settings.min_stratum} catalog products pooled into 'Other'",
        "adapters_loaded": adapters_loaded,
    }


def _summary(
    run: _Run, identity: dict, sample: list, gens: list[Generation], sweep: tuple, stopped: dict, t_start: float
) -> Summary:
    """The Summary of a finished run (`sweep`: _sweep's rows, curves and elbows)."""
    s = run.settings
    _, curves, elbows = sweep
    return Summary(
        version=SUMMARY_VERSION,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        settings=_settings_record(s, identity["adapters"]["loaded"]),
        model=identity["model"],
        adapters=identity["adapters"],
        seeds={"base": s.seed, "products": {str(sp.index): product_seed(s, sp) for sp in sample}},
        products=[{"index": sp.index, "category": sp.category, "name": sp.product.name} for sp in sample],
        failures=[{"index": g.index, "config": g.config, "error": g.error} for g in gens if g.error],
        metrics={k: {"label": label, "higher_is_better": hib} for k, (label, hib) in METRICS.items()},
        **aggregate(gens, s.configs, s.n_boot, s.seed),  # configs, categories, differences, complete_products
        sweep={"lambdas": list(s.lambdas), "curves": curves, "elbows": elbows},
        elbow={cat: e["lambda"] for cat, e in elbows.items()},
        recommendations=_recommendations(elbows, s.channel),
        stopped_early=stopped,
        seconds=round(time.perf_counter() - t_start, 1),
    )


def evaluate(
    settings: EvalSettings,
    out_dir: str | Path,
    *,
    generator=None,
    embedder=None,
    ctr_predictor=None,
    progress: Callable[[float, str], None] | None = None,
) -> Summary:
    """Run the whole evaluation and write its files into `out_dir`; returns the Summary (as in summary.json).

    Settings and the catalog are checked before any model loads (InputError).
    `progress(fraction, message)` is called after every generation.
    """
    from copy_engine.evaluation.report import write_all
    from copy_engine.evaluation.sweep import sweep_sample

    t_start = time.perf_counter()
    out = Path(out_dir)
    sample = _sample(settings, out)
    checked = sample[: settings.sentiment_check]
    n_sweep = len(sweep_sample(sample, settings.sweep_products)) * len(settings.lambdas)
    n_configs = len(settings.configs)
    bar = Progress(progress, comparison=len(sample) * n_configs, sentiment=2 * len(checked) * n_configs, sweep=n_sweep)

    bar.say("Loading the model (first time only)…")
    generator, embedder, ctr_predictor = engine(generator, embedder, ctr_predictor)
    fluency = base_model_perplexity(generator) if settings.perplexity else None
    # Hashed now, at load time: adapter files written later (e.g. by training) were not used by this run.
    identity = fingerprints(generator)
    budget = Budget(settings.time_budget_min, t_start, sentiment=bool(checked), sweep=bool(n_sweep))
    run = _Run(settings, generator, embedder, ctr_predictor, fluency, budget, bar)

    gens, stopped = _compare(run, sample)
    finished = {g.index for g in gens}  # later phases and the report cover the products compared
    sample = [sp for sp in sample if sp.index in finished]
    stopped |= _check_sentiment(run, [sp for sp in checked if sp.index in finished], gens)
    sweep = _sweep(run, sample, n_sweep)
    summary = _summary(run, identity, sample, gens, sweep, stopped, t_start)
    write_all(summary, gens, sweep[0], out)
    bar.say("Done", 1.0)
    return summary
