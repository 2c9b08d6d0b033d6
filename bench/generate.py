"""Generation benchmark (not a test): prints cold load, warm load, time to 4 variants,
new tokens/s, peak memory, and bf16 vs fp32 speed and loss.

    .venv/bin/python bench/generate.py [--runs 5] [--channel headline] [--skip-cold]

Each load is timed in a fresh subprocess; the cold one uses an empty COPYLAB_HOME
and an empty COPYLAB_CACHE, so it includes the GGUF conversion.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

LOAD_SNIPPET = """
import time, json, os
t = time.perf_counter()
from copy_engine.model import load_model
lm = load_model()
print(json.dumps({"seconds": time.perf_counter() - t, "converted": lm.converted, "device": lm.device, "dtype": lm.dtype}))
"""


def timed_load(home: str, cache: str | None = None) -> dict:
    """Seconds to load the model in a fresh process; `cache` (an empty folder) forces the GGUF conversion."""
    env = {**os.environ, "COPYLAB_HOME": home, "PYTHONPATH": str(ROOT)}
    if cache is not None:
        env["COPYLAB_CACHE"] = cache
    out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--channel", default="headline")
    ap.add_argument("--skip-cold", action="store_true", help="skip the ~60 s conversion timing")
    args = ap.parse_args()

    from copy_engine.settings import get_settings

    home = str(get_settings().home)
    rows = []
    if not args.skip_cold:
        with tempfile.TemporaryDirectory() as cold_home:
            cold = timed_load(cold_home, cache=str(Path(cold_home) / "cache"))
        rows.append(("cold load (GGUF conversion + cache)", f"{cold['seconds']:.1f} s"))
    warm = timed_load(home)  # also makes sure the cache exists for what follows
    rows.append(("warm load (cached conversion)", f"{warm['seconds']:.1f} s"))

    from copy_engine.controls import Controls, map_controls
    from copy_engine.generate import GenerateOptions, generate
    from copy_engine.generator import get_default_generator
    from copy_engine.product import Product
    from copy_engine.prompts import build_prompt

    product = Product(
        name="Stainless Steel Insulated Water Bottle, 750 ml",
        brand="Hydra",
        category="Sports & Outdoors | Water Bottles",
        features=["Keeps drinks cold for 24 hours", "Leak-proof lid", "Fits most cup holders"],
        price="$24.99",
    )
    controls = Controls(0.5, 0.5, 0.7)
    gen = get_default_generator()
    generate(product, args.channel, controls, GenerateOptions(n=4, seed=0), generator=gen)  # warm-up: embedder, CTR, prefix cache
    times = []
    for seed in range(1, args.runs + 1):
        r = generate(product, args.channel, controls, GenerateOptions(n=4, seed=seed), generator=gen)
        times.append(r.seconds)
    rows.append((f"4 {args.channel} variants (12 candidates, scored, reranked), median of {args.runs}", f"{statistics.median(times):.2f} s"))
    rows.append(("  min / max", f"{min(times):.2f} / {max(times):.2f} s"))

    d = map_controls(controls, args.channel).decoding
    prompt = build_prompt(product, args.channel, controls)
    tps = []
    for seed in range(3):
        t = time.perf_counter()
        outs = gen.complete(prompt, 12, d, seed=100 + seed)
        tps.append(gen.count_new_tokens(outs) / (time.perf_counter() - t))
    rows.append(("new tokens/s (batch of 12 samples, median of 3)", f"{statistics.median(tps):.0f}"))
    rows.append(("peak memory (RSS)", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"))
    rows.append(("device / dtype", f"{gen.device} / {gen.dtype}"))

    # bf16 vs fp32: speed of one batch and the loss of our few-shot copy under each.
    import torch

    from copy_engine.fluency import perplexity
    from copy_engine.generator import LocalGenerator
    from copy_engine.model import load_model
    from copy_engine.prompts import load_examples

    texts = [e["text"] for e in load_examples()["examples"]]
    for dtype in ("bfloat16", "float32"):
        os.environ["COPYLAB_DTYPE"] = dtype
        lm = load_model()
        g = LocalGenerator(lm)
        g.complete(prompt, 12, d, seed=0)
        t = time.perf_counter()
        outs = g.complete(prompt, 12, d, seed=1)
        dt = time.perf_counter() - t
        ppl = perplexity(lm, texts)
        rows.append((f"{dtype}: 12 samples / perplexity of our example copy", f"{dt:.2f} s / {ppl:.2f}"))
        del lm, g
    os.environ.pop("COPYLAB_DTYPE", None)
    torch.set_grad_enabled(False)

    width = max(len(k) for k, _ in rows)
    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
