"""Measured effect of the adapters: weight 1 (and -1 for tone) against 0 on unseen products.

For every evaluation product the NEUTRAL prompt (balanced tone, no CTA
asked) is sampled with the same decoding and the same seed under each
setting: all adapters off, tone +1, tone -1, cta +1, creative +1. No
reranking: the first cleaned line of each sample counts. Metrics per setting:

    vader_compound  mean VADER compound of the variants
    cta_rate        share of variants with a call to action
    distinct_2      distinct-2 of each product's set of variants, averaged
    novelty         1 - share of a variant's words found in the product facts
    faithfulness    share of variants with nothing unsupported by the facts
    perplexity      of the variants under the base model (adapters off; the
                    copywriter for the copywriter pipeline's adapters),
                    given the product's lines of the prompt minus the wish
                    lines (see `fluency_prefix`), and of the copy alone

`summarize` turns them into the CONTRACT object of `evaluate-adapters
--format json` and a 3x3 table of each slider's effect on each metric.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from copy_engine.adapters.data import NEUTRAL, fluency_prefix, is_training_product, overlap_with_facts
from copy_engine.controls import AdapterWeights, map_controls
from copy_engine.product import Product

SETTINGS = {
    "off": AdapterWeights(tone=0.0, creative=0.0, cta=0.0),
    "tone": AdapterWeights(tone=1.0, creative=0.0, cta=0.0),
    "tone_neg": AdapterWeights(tone=-1.0, creative=0.0, cta=0.0),  # the calm adapter when one is loaded
    "cta": AdapterWeights(tone=0.0, creative=0.0, cta=1.0),
    "creative": AdapterWeights(tone=0.0, creative=1.0, cta=0.0),
}
MATRIX_METRICS = ("vader_compound", "cta_rate", "distinct_2")
TARGETS = {
    "tone_delta": 0.20,
    "tone_neg_delta": -0.10,
    "cta_delta": 0.30,
    "creative_delta": 0.10,
    "perplexity_ratio_max": 1.20,
    "faithfulness_delta_min": -0.05,
}


@dataclass
class EvalSamples:
    """Texts per setting and product, plus what is needed to score them."""

    channel: str
    products: list  # Product
    texts: dict = field(default_factory=dict)  # setting -> list (per product) of list of texts
    prefixes: list = field(default_factory=list)  # per product: its lines of the prompt (for perplexity)
    seconds: dict = field(default_factory=dict)  # setting -> generation seconds


def _first_line(raw: str, channel: str) -> str:
    from copy_engine.postprocess import clean_one, first_line

    c = clean_one(raw, channel)
    return c.text if c is not None else first_line(raw)


def eval_products(products: Sequence[Product]) -> list[Product]:
    """Drop any product on the training side of the split (evaluation must be on unseen products)."""
    return [p for p in products if not is_training_product(p.name)]


def sample_settings(
    generator,
    products: Sequence[Product],
    channel: str = "headline",
    n_variants: int = 4,
    seed: int = 0,
    settings: dict | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    on_copywriter: bool = False,
) -> EvalSamples:
    """Sample every product under every setting with identical prompts, decoding and seeds.

    `on_copywriter`: the copywriter pipeline's adapters (its prompt, the copywriter on in every setting).
    """
    import dataclasses

    from copy_engine.prompts import prompt_builder

    settings = settings or SETTINGS
    if on_copywriter:
        settings = {k: dataclasses.replace(w, copywriter=1.0) for k, w in settings.items()}
    decoding = map_controls(NEUTRAL, channel).decoding
    out = EvalSamples(channel, list(products))
    prompts = [prompt_builder(on_copywriter)(p, channel, NEUTRAL) for p in products]
    out.prefixes = [fluency_prefix(pr) for pr in prompts]
    total, done = len(settings) * len(products), 0
    for name, weights in settings.items():
        t0 = time.perf_counter()
        per_product = []
        for i, prompt in enumerate(prompts):
            raws = generator.complete(prompt, n_variants, decoding, seed=seed + i, adapter_weights=weights)
            per_product.append([t for t in (_first_line(r, channel) for r in raws)])
            done += 1
            if progress:
                progress(done, total, name)
        out.texts[name] = per_product
        out.seconds[name] = round(time.perf_counter() - t0, 2)
    return out


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0


def setting_metrics(samples: EvalSamples, name: str, loaded=None) -> dict:
    """The metrics of one setting (perplexity only when `loaded`, the base model with adapters off, is given)."""
    from copy_engine.textmetrics import cta_rate, distinct_n, faithful_rate, vader_compound

    per_product = samples.texts[name]
    flat = [t for texts in per_product for t in texts if t]
    m = {
        "vader_compound": round(_mean(vader_compound(t) for t in flat), 4),
        "cta_rate": round(cta_rate(flat), 4),
        "distinct_2": round(_mean(distinct_n([t for t in texts if t], 2) for texts in per_product), 4),
        "novelty": round(_mean(1 - overlap_with_facts(t, p) for p, texts in zip(samples.products, per_product) for t in texts if t), 4),
        "faithfulness": round(
            _mean(faithful_rate([t for t in texts if t], p.facts_text()) for p, texts in zip(samples.products, per_product)), 4
        ),
        "mean_chars": round(_mean(len(t) for t in flat), 1),
    }
    if loaded is not None:
        from copy_engine.fluency import perplexity

        texts, prefixes = [], []
        for prefix, ts in zip(samples.prefixes, per_product):
            for t in ts:
                if t:
                    texts.append(t)
                    prefixes.append(prefix)
        m["perplexity"] = round(perplexity(loaded, texts, prefixes), 3)
        # The copy alone, without the product lines: creative copy's novelty is by definition what the
        # product lines do not predict, so its fluency is judged on the copy by itself.
        m["perplexity_copy_only"] = round(perplexity(loaded, texts), 3)
    return m


def _perplexity_ratios(metrics: dict, key: str) -> dict[str, float]:
    """Each adapter setting's perplexity (`key`) over the adapters-off one, by setting name."""
    off = metrics["off"][key]
    return {s: round(m[key] / off, 4) for s, m in metrics.items() if s != "off" and key in m}


def summarize(metrics: dict) -> dict:
    """The CONTRACT object from per-setting metrics (keys: off, tone, tone_neg, cta, creative)."""
    off = metrics["off"]
    d = lambda s, k: round(metrics[s][k] - off[k], 4)
    result = {
        "tone": {"metric": "vader_compound", "off": off["vader_compound"], "on": metrics["tone"]["vader_compound"],
                 "delta": d("tone", "vader_compound"), "neg_delta": d("tone_neg", "vader_compound")},
        "cta": {"metric": "cta_rate", "off": off["cta_rate"], "on": metrics["cta"]["cta_rate"], "delta": d("cta", "cta_rate")},
        "creative": {"metric": "distinct_2", "off": off["distinct_2"], "on": metrics["creative"]["distinct_2"],
                     "delta": d("creative", "distinct_2"), "novelty_delta": d("creative", "novelty")},
    }  # fmt: skip
    on_settings = ("tone", "cta", "creative")
    side = {"faithfulness_delta": min(d(s, "faithfulness") for s in on_settings)}
    if "perplexity" in off:
        side["perplexity_ratio"] = round(max(metrics[s]["perplexity"] / off["perplexity"] for s in on_settings), 4)
        side["perplexity_ratio_by_adapter"] = _perplexity_ratios(metrics, "perplexity")
    if "perplexity_copy_only" in off:
        side["perplexity_ratio_copy_only_by_adapter"] = _perplexity_ratios(metrics, "perplexity_copy_only")
    result["side_effects"] = side
    result["matrix"] = {s: {k: d(s, k) for k in (*MATRIX_METRICS, "novelty", "faithfulness")} for s in on_settings}
    result["targets_met"] = {
        "tone": result["tone"]["delta"] >= TARGETS["tone_delta"],
        "tone_neg": result["tone"]["neg_delta"] <= TARGETS["tone_neg_delta"],
        "cta": result["cta"]["delta"] >= TARGETS["cta_delta"],
        "creative": result["creative"]["delta"] >= TARGETS["creative_delta"] and result["creative"]["novelty_delta"] > 0,
        "perplexity": _fluent_enough(side),
        "faithfulness": side["faithfulness_delta"] >= TARGETS["faithfulness_delta_min"],
    }
    return result


def _fluent_enough(side: dict) -> bool:
    """tone and cta within the perplexity cap given the product; creative on the copy alone (when measured)."""
    given = side.get("perplexity_ratio_by_adapter")
    if given is None:
        return side.get("perplexity_ratio", 1.0) <= TARGETS["perplexity_ratio_max"]
    alone = side.get("perplexity_ratio_copy_only_by_adapter", {})
    ratios = [given.get("tone", 1.0), given.get("cta", 1.0), alone.get("creative", given.get("creative", 1.0))]
    return max(ratios) <= TARGETS["perplexity_ratio_max"]


def format_tables(summary: dict, metrics: dict) -> str:
    """Human-readable: the headline effects, the 3x3 slider x metric table and side effects."""
    lines = ["Adapter effect (weight 1 vs 0, same prompts and seeds, unseen products)", ""]
    lines.append(f"{'adapter':<10}{'metric':<16}{'off':>8}{'on':>8}{'delta':>8}  extra")
    t, c, k = summary["tone"], summary["cta"], summary["creative"]
    lines.append(f"{'tone':<10}{t['metric']:<16}{t['off']:>8.3f}{t['on']:>8.3f}{t['delta']:>+8.3f}  weight -1: {t['neg_delta']:+.3f}")
    lines.append(f"{'cta':<10}{c['metric']:<16}{c['off']:>8.3f}{c['on']:>8.3f}{c['delta']:>+8.3f}")
    lines.append(f"{'creative':<10}{k['metric']:<16}{k['off']:>8.3f}{k['on']:>8.3f}{k['delta']:>+8.3f}  novelty: {k['novelty_delta']:+.3f}")
    lines += ["", "Each slider's effect on each metric (delta vs all off):", ""]
    cols = (*MATRIX_METRICS, "novelty", "faithfulness")
    lines.append(f"{'slider':<10}" + "".join(f"{c:>16}" for c in cols))
    for s, row in summary["matrix"].items():
        lines.append(f"{s:<10}" + "".join(f"{row[c]:>+16.3f}" for c in cols))
    se = summary["side_effects"]
    lines += ["", f"side effects: faithfulness delta (worst) {se['faithfulness_delta']:+.3f}"
              + (f", perplexity ratio (worst) {se['perplexity_ratio']:.3f}" if "perplexity_ratio" in se else "")]  # fmt: skip
    for key, label in (("perplexity_ratio_by_adapter", "given the product"), ("perplexity_ratio_copy_only_by_adapter", "copy alone")):
        if key in se:
            lines.append(f"perplexity ratio {label}: " + ", ".join(f"{a} x{r:.2f}" for a, r in se[key].items()))
    lines.append("targets met: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in summary["targets_met"].items()))
    if summary.get("missing_adapters"):
        lines.append("not loaded (measured as no change): " + ", ".join(summary["missing_adapters"]))
    return "\n".join(lines)


def evaluate(
    generator,
    products: Sequence[Product],
    channel: str = "headline",
    n_variants: int = 4,
    seed: int = 0,
    with_perplexity: bool = True,
    progress=None,
    on_copywriter: bool = False,
) -> tuple[dict, dict, EvalSamples]:
    """(summary, per-setting metrics, samples) for the generator's loaded adapters.

    `on_copywriter`: the copywriter pipeline's adapters, with perplexity under the copywriter (the
    model they run on top of) instead of the base model.
    """
    samples = sample_settings(generator, products, channel, n_variants, seed, progress=progress,
                              on_copywriter=on_copywriter)  # fmt: skip
    if with_perplexity and generator.adapter_names and generator.has_base_model():
        with generator.base_model() as base:  # perplexity under the base model (or the copywriter)
            if on_copywriter:
                import copy

                from copy_engine.adapters.lora_run import load_copywriter_base

                base = copy.copy(base)
                base.model = load_copywriter_base(base.source, "cuda" if base.device == "cuda" else "cpu").eval()
                base.dtype = "float32"
            metrics = {s: setting_metrics(samples, s, base) for s in samples.texts}
    else:
        metrics = {s: setting_metrics(samples, s, None) for s in samples.texts}
    summary = summarize(metrics)
    summary["n_products"] = len(samples.products)
    summary["n_variants"] = n_variants
    summary["channel"] = channel
    summary["seconds_generation"] = samples.seconds
    return summary, metrics, samples
