"""Running an offline evaluation end to end: sample, generate per configuration, measure, compare, sweep, report."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from copy_engine.errors import InputError
from copy_engine.hashing import file_sha256
from copy_engine.evaluation.configs import CONFIGS, DEFAULT_CONFIGS, LIBRARY_DECODING
from copy_engine.evaluation.metrics import METRICS, mean_of, mean_sentiment, sentiment_order, set_metrics
from copy_engine.evaluation.sweep import DEFAULT_LAMBDAS

SUMMARY_VERSION = 1
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


def _nan_to_none(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    return value


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
    keys = list(METRICS) + ["sentiment_accuracy", "sentiment_pairwise"]

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


def evaluate(
    settings: EvalSettings,
    out_dir: str | Path,
    *,
    generator=None,
    embedder=None,
    ctr_predictor=None,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Run the whole evaluation and write its files into `out_dir`; returns the summary (as in summary.json).

    Settings and the catalog are checked before any model loads (InputError).
    `progress(fraction, message)` is called after every generation.
    """
    from copy_engine.adapters.data import is_training_product
    from copy_engine.catalog import read_products
    from copy_engine.controls import Controls, map_controls
    from copy_engine.evaluation.report import write_all
    from copy_engine.evaluation.sampling import sample_products
    from copy_engine.evaluation.sweep import curve_points, find_elbow, run_sweep

    t_start = time.perf_counter()
    settings.validate()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    report = progress or (lambda f, m: None)
    # Evaluation-split products only: the copywriter and the adapters learn from the training split.
    products = [p for p in read_products(settings.catalog) if not is_training_product(p.name)]
    if not products:
        raise InputError(f"{settings.catalog}: no evaluation-split products in the catalog")
    sample = sample_products(products, settings.n_products, settings.seed, settings.min_stratum)
    configs = list(settings.configs)

    report(0.0, "Loading the model (first time only)…")
    generator, embedder, ctr_predictor = engine(generator, embedder, ctr_predictor)
    fluency = base_model_perplexity(generator) if settings.perplexity else None
    # Hashed now, at load time: adapter files written later (e.g. by training) were not used by this run.
    identity = fingerprints(generator)
    checked = sample[: settings.sentiment_check]
    n_sweep = 0
    if settings.sweep_products:
        per: dict[str, int] = {}
        for sp in sample:
            per[sp.category] = min(settings.sweep_products, per.get(sp.category, 0) + 1)
        n_sweep = sum(per.values()) * len(settings.lambdas)
    total = len(sample) * len(configs) + 2 * len(checked) * len(configs) + n_sweep
    done = 0

    def step(message: str) -> None:
        nonlocal done
        done += 1
        report(min(1.0, done / total), message)

    budget = settings.time_budget_min * 60.0 if settings.time_budget_min else math.inf
    later = bool(checked) or bool(n_sweep)
    main_deadline = t_start + budget * (0.7 if later else 1.0)
    sentiment_deadline = t_start + budget * (0.85 if n_sweep else 1.0)
    sweep_deadline = t_start + budget
    stopped: dict = {}

    neutral = Controls()
    gens: list[Generation] = []
    for sp in sample:
        if time.perf_counter() > main_deadline:
            stopped = {"reason": f"time budget of {settings.time_budget_min:g} min", "products_done": sp.index}
            report(done / total, f"Time budget reached after {sp.index} products")
            break
        seed = settings.seed + sp.index  # same seed for every configuration of a product
        for config in configs:
            t0 = time.perf_counter()
            texts, error, extra = _generate_texts(
                sp, settings.channel, neutral, config, settings.n_variants, seed, generator, embedder, ctr_predictor
            )
            metrics = (
                set_metrics(
                    texts, sp.product, settings.channel, embedder=embedder, ctr_predictor=ctr_predictor, fluency=fluency
                )
                | extra
                if texts
                else {}
            )
            gens.append(
                Generation(
                    sp.index,
                    sp.category,
                    sp.product.name,
                    config,
                    seed,
                    texts,
                    metrics,
                    time.perf_counter() - t0,
                    error,
                )
            )
            step(f"{config}: product {sp.index + 1}/{len(sample)} ({sp.category})")

    # Sentiment control: the neutral run above is the middle point; calm and enthusiastic are generated here.
    by = {(g.index, g.config): g for g in gens}
    finished = {g.index for g in gens}
    sample = [sp for sp in sample if sp.index in finished]
    checked = [sp for sp in checked if sp.index in finished]
    for sp in checked:
        if time.perf_counter() > sentiment_deadline:
            stopped.setdefault("reason", f"time budget of {settings.time_budget_min:g} min")
            stopped["sentiment_checked"] = sum(1 for g in gens if g.sentiment and g.config == "baseline")
            break
        seed = settings.seed + sp.index
        for config in configs:
            g = by[(sp.index, config)]
            ends = {}
            for s in (-1.0, 1.0):
                texts, _, _ = _generate_texts(
                    sp,
                    settings.channel,
                    Controls(sentiment=s),
                    config,
                    settings.n_variants,
                    seed,
                    generator,
                    embedder,
                    ctr_predictor,
                )
                ends[s] = mean_sentiment(texts)
                step(f"sentiment check: {config}, product {sp.index + 1}")
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

    agg = aggregate(gens, configs, settings.n_boot, settings.seed)

    sweep_rows: list[dict] = []
    curves: dict[str, list[dict]] = {}
    elbows: dict[str, dict] = {}
    if settings.sweep_products:
        offset = done / total

        def sweep_progress(f: float, m: str) -> None:
            report(min(1.0, offset + f * n_sweep / total), m)

        sweep_rows = run_sweep(
            sample,
            settings.channel,
            lambdas=settings.lambdas,
            per_category=settings.sweep_products,
            n=settings.n_variants,
            seed=settings.seed,
            generator=generator,
            embedder=embedder,
            ctr_predictor=ctr_predictor,
            progress=sweep_progress,
            deadline=sweep_deadline,
        )
        for cat in sorted({r["category"] for r in sweep_rows}) + [ALL]:
            rows = sweep_rows if cat == ALL else [r for r in sweep_rows if r["category"] == cat]
            curves[cat] = curve_points(rows)
            elbow = find_elbow(
                [p["lambda"] for p in curves[cat]],
                [p["creativity"] for p in curves[cat]],
                [p["predicted_ctr"] for p in curves[cat]],
            )
            if elbow is not None:
                elbows[cat] = elbow.to_dict()

    recommendations = {}
    for cat, e in elbows.items():
        mapping = map_controls(Controls(creativity=e["lambda"]), settings.channel)
        recommendations[cat] = {
            "creativity": e["lambda"],
            "decoding": mapping.decoding.to_dict(),
            "adapters": mapping.adapters.to_dict(),
        }

    summary = {
        "version": SUMMARY_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            **{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()},
            "catalog": str(settings.catalog),
            "controls": asdict(neutral),
            "config_definitions": {c: CONFIGS[c].to_dict() for c in configs},
            "library_decoding": LIBRARY_DECODING,
            "slider_decoding": map_controls(neutral, settings.channel).decoding.to_dict(),
            "product_seed": "seed + product index (same for every configuration)",
            "sampling": f"stratified by top-level category; categories under {settings.min_stratum} catalog products pooled into 'Other'",
        },
        **identity,
        "seeds": {"base": settings.seed, "products": {str(sp.index): settings.seed + sp.index for sp in sample}},
        "products": [{"index": sp.index, "category": sp.category, "name": sp.product.name} for sp in sample],
        "failures": [{"index": g.index, "config": g.config, "error": g.error} for g in gens if g.error],
        "metrics": {k: {"label": label, "higher_is_better": hib} for k, (label, hib) in METRICS.items()},
        **agg,
        "sweep": {"lambdas": list(settings.lambdas), "curves": curves, "elbows": elbows},
        "elbow": {cat: e["lambda"] for cat, e in elbows.items()},
        "recommendations": recommendations,
        "stopped_early": stopped,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    summary["settings"]["adapters_loaded"] = summary["adapters"]["loaded"]
    summary = _nan_to_none(summary)
    write_all(summary, gens, sweep_rows, out)
    report(1.0, "Done")
    return summary
