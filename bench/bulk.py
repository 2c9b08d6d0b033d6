"""Bulk throughput benchmark (not a test): products per minute of a bulk job on this machine.

    .venv/bin/python bench/bulk.py [--products 20] [--channel ad_headline] [--n 4] [--workers 1,4]

Runs the real bulk job (copy_engine/bulk.py: generate, score, rerank, save
drafts, commit per product) on the first products of the Amazon catalog
sample, once per worker count, each in a fresh temporary database, with the
models loaded and warmed up beforehand. Prints one row per worker count.
Skips (exit 0, with the reason) when the catalog is not beside the checkout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
CATALOG = ROOT.parent / "shared" / "data" / "products" / "amazon_products_sample.csv"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--catalog", default=str(CATALOG))
    ap.add_argument("--products", type=int, default=20)
    ap.add_argument("--channel", default="ad_headline")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--workers", default="1,4", help="comma-separated worker counts")
    args = ap.parse_args()
    catalog = Path(args.catalog)
    if not catalog.is_file():
        print(f"skipped: catalog not found at {catalog} (the shared data folder is not beside this checkout)")
        return 0

    from copy_engine import bulk
    from copy_engine.controls import Controls
    from copy_engine.generate import GenerateOptions, generate
    from copy_engine.product import Product
    from copy_engine.store import open_db

    t0 = time.perf_counter()
    engine = bulk.Engine().resolved()
    load_s = time.perf_counter() - t0
    # Warm-up on a product outside the measured set: the channel's few-shot prefix cache, scorers.
    warm = Product(name="Stainless Steel Water Bottle", brand="Hydra", features=["Keeps drinks cold 24 hours"])
    generate(warm, args.channel, Controls(), GenerateOptions(n=args.n), generator=engine.generator,
             embedder=engine.embedder, ctr_predictor=engine.ctr_predictor)  # fmt: skip
    gen = engine.generator
    print(f"model {gen.name} on {getattr(gen, 'device', '?')} ({getattr(gen, 'dtype', '')}), "
          f"{os.cpu_count()} CPU(s); load + warm-up {load_s:.1f} s")  # fmt: skip
    print(f"{args.products} catalog products x {args.channel}, n {args.n}\n")
    print("| workers | products written | skipped | wall time | products/min | median s/product |")
    print("|---|---|---|---|---|---|")
    settings = bulk.BulkSettings(channels=(args.channel,), n=args.n, limit=args.products)
    for workers in [int(w) for w in args.workers.split(",") if w.strip()]:
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(Path(tmp) / "bench.db")
            job = bulk.create_job_from_catalog(db, catalog, settings)
            t = time.perf_counter()
            p = bulk.run_job(db, job, workers=workers, engine=engine)
            wall = time.perf_counter() - t
            per = [r["seconds"] for r in db.query(
                "SELECT seconds FROM bulk_job_items WHERE job_id = ? AND seconds IS NOT NULL", [job])]  # fmt: skip
            db.conn.close()
        rate = len(per) / wall * 60  # products generated in this run (rows unusable at import cost nothing)
        med = statistics.median(per) if per else float("nan")
        print(f"| {workers} | {p.done} | {p.skipped} | {wall:.1f} s | **{rate:.1f}** | {med:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
