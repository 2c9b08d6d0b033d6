"""Generation benchmark (not a test): the configured backend against transformers, end to end.

    .venv/bin/python bench/generate.py --json [--runs 5]

With --json the last line of stdout is one JSON object (a contract, checked
outside the repo) with: backend, warm_load_s, variants_p50_s (4 ad_headline
variants at default sliders: 12 candidates sampled, cleaned, scored,
reranked), headline_p50_s, description_p50_s (the same for 4 headlines / 4
descriptions), hf_variants_p50_s (variants_p50_s on the transformers backend,
measured in a subprocess of this run so its memory does not count here),
speedup (hf / default), score_12_ms (scoring 12 candidates), new_tokens_per_s
(a batch of 12 ad_headline samples), peak_rss_mb (this process: default
backend + scorers), device. Latencies are medians of --runs runs after one
warm-up; warm_load_s is the median of 3 fresh processes loading the default
generator from the warm cache. Without --json the same figures print as a table.

    .venv/bin/python bench/generate.py --dtypes

prints the older transformers comparison: bf16 vs fp32 speed and loss.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

LOAD_SNIPPET = """
import time, json
t = time.perf_counter()
from copy_engine.generator import get_default_generator
g = get_default_generator()
print(json.dumps({"seconds": time.perf_counter() - t, "backend": g.backend}))
"""

HF_SNIPPET = """
import json, sys, statistics
sys.path.insert(0, {root!r})
from bench.generate import PRODUCT, timed_generates
from copy_engine.generator import get_transformers_generator
print(json.dumps({{"p50": statistics.median(timed_generates(get_transformers_generator(), "ad_headline", {runs}))}}))
"""


def _product():
    from copy_engine.product import Product

    return Product(
        name="Stainless Steel Insulated Water Bottle, 750 ml",
        brand="Hydra",
        category="Sports & Outdoors | Water Bottles",
        features=["Keeps drinks cold for 24 hours", "Leak-proof lid", "Fits most cup holders"],
        price="$24.99",
    )


PRODUCT = _product()


def timed_generates(gen, channel: str, runs: int) -> list[float]:
    """Seconds of `runs` generate() calls (4 variants, default sliders, K=12) after one warm-up call."""
    from copy_engine.controls import Controls
    from copy_engine.generate import GenerateOptions, generate

    controls = Controls()  # the app's default sliders
    generate(PRODUCT, channel, controls, GenerateOptions(n=4, seed=0), generator=gen)  # warm-up: scorers, prompt cache
    out = []
    for seed in range(1, runs + 1):
        t = time.perf_counter()
        generate(PRODUCT, channel, controls, GenerateOptions(n=4, seed=seed), generator=gen)
        out.append(time.perf_counter() - t)
    return out


def _subprocess_json(code: str, env: dict, timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"benchmark subprocess timed out after {timeout:g} s", file=sys.stderr)
        return {}
    if out.returncode != 0:
        raise SystemExit(f"benchmark subprocess failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def figures(runs: int, skip_hf: bool = False) -> dict:
    """Every figure of the --json line (see module docstring)."""
    from copy_engine.controls import Controls, map_controls
    from copy_engine.generator import get_default_generator
    from copy_engine.memo import forget_all
    from copy_engine.prompts import build_prompt
    from copy_engine.scoring import score_variants

    gen = get_default_generator()  # also makes sure every cache exists before the timed loads
    loads = [_subprocess_json(LOAD_SNIPPET, {}, 600).get("seconds", float("nan")) for _ in range(3)]
    print(f"warm loads: {[round(x, 2) for x in loads]}", file=sys.stderr, flush=True)
    fig: dict = {"backend": gen.backend, "warm_load_s": round(statistics.median(loads), 3)}
    for key, channel in (("variants_p50_s", "ad_headline"), ("headline_p50_s", "headline"), ("description_p50_s", "description")):
        times = timed_generates(gen, channel, runs)
        fig[key] = round(statistics.median(times), 3)
        print(f"{key}: {fig[key]} (runs {[round(t, 2) for t in times]})", file=sys.stderr, flush=True)  # progress

    if skip_hf or gen.backend == "transformers":
        hf = fig["variants_p50_s"] if gen.backend == "transformers" else None
    else:
        # None (JSON null) when the transformers run does not finish within 30 minutes (a machine under heavy load)
        hf = _subprocess_json(HF_SNIPPET.format(root=str(ROOT), runs=runs), {"COPYLAB_BACKEND": "transformers"}, 1800).get("p50")
    fig["hf_variants_p50_s"] = None if hf is None else round(hf, 3)
    fig["speedup"] = None if hf is None else round(hf / fig["variants_p50_s"], 2)

    controls = Controls()
    d = map_controls(controls, "ad_headline").decoding
    prompt = build_prompt(PRODUCT, "ad_headline", controls)
    cands = [t.strip() for t in gen.complete(prompt, 12, d, seed=123)]
    cands = [t for t in cands if t] or ["Cold for 24 hours"]
    score_variants(cands, PRODUCT, "ad_headline", controls)  # warm-up
    ms = []
    for _ in range(runs):
        forget_all()  # the scorers' models run, not their memos of the same texts (copy_engine.memo)
        t = time.perf_counter()
        score_variants(cands, PRODUCT, "ad_headline", controls)
        ms.append((time.perf_counter() - t) * 1000)
    fig["score_12_ms"] = round(statistics.median(ms), 1)

    tps = []
    for seed in range(runs):
        t = time.perf_counter()
        outs = gen.complete(prompt, 12, d, seed=200 + seed)
        dt = time.perf_counter() - t
        tps.append(gen.count_new_tokens(outs) / dt)
    fig["new_tokens_per_s"] = round(statistics.median(tps), 1)
    fig["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    fig["device"] = gen.device
    return fig


def dtype_comparison() -> None:
    """transformers: bf16 vs fp32 time for 12 samples and perplexity of the example copy."""
    from copy_engine.controls import Controls, map_controls
    from copy_engine.fluency import perplexity
    from copy_engine.generator import LocalGenerator
    from copy_engine.model import load_model
    from copy_engine.prompts import build_prompt, load_examples

    controls = Controls(0.5, 0.5, 0.7)
    d = map_controls(controls, "headline").decoding
    prompt = build_prompt(PRODUCT, "headline", controls)
    texts = [e["text"] for e in load_examples()["examples"]]
    for dtype in ("bfloat16", "float32"):
        os.environ["COPYLAB_DTYPE"] = dtype
        lm = load_model()
        g = LocalGenerator(lm)
        g.complete(prompt, 12, d, seed=0)
        t = time.perf_counter()
        g.complete(prompt, 12, d, seed=1)
        dt = time.perf_counter() - t
        print(f"{dtype}: 12 samples {dt:.2f} s, perplexity of our example copy {perplexity(lm, texts):.2f}")
        del lm, g
    os.environ.pop("COPYLAB_DTYPE", None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="timed runs per figure after one warm-up (default 5)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object (last line)")
    ap.add_argument("--skip-hf", action="store_true", help="leave out the transformers comparison (hf_variants_p50_s: null)")
    ap.add_argument("--dtypes", action="store_true", help="only the transformers bf16 vs fp32 comparison")
    args = ap.parse_args()
    if args.dtypes:
        dtype_comparison()
        return
    fig = figures(max(1, args.runs), args.skip_hf)
    if args.json:
        print(json.dumps(fig))
        return
    print(f"machine: {os.cpu_count()} CPUs; medians of {args.runs} runs after a warm-up")
    for k, v in fig.items():
        print(f"{k:<20} {v}")


if __name__ == "__main__":
    main()
