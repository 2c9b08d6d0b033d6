"""`bulk`: copy for a whole catalog, resumable (a contract: keep the flags stable).

    python -m copy_engine bulk --catalog CSV --channel CH [--channel CH2 ...] --n N [--sentiment S]
        [--creativity C] [--cta K] [--limit M] [--workers W] [--job NAME] --out FILE.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from copy_engine.errors import InputError

NAME = "bulk"
HELP = (
    "Write copy for every product of a catalog CSV (or the whole database) and every channel; "
    "resumable: run the same command again after any interruption."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the bulk flags."""
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--catalog", metavar="CSV", help="catalog CSV in the Products import's format")
    source.add_argument("--all", action="store_true", help="every product in the database instead of a catalog")
    p.add_argument("--channel", action="append", required=True, metavar="CH", help="a channel; repeat for several")
    p.add_argument("--n", type=int, required=True, help="variants per product and channel (1-8)")
    p.add_argument("--sentiment", type=float, default=0.0, help="-1 calm … +1 enthusiastic")
    p.add_argument("--creativity", type=float, default=0.5, help="0 literal … 1 bold")
    p.add_argument("--cta", type=float, default=0.5, help="0 no call to action … 1 strong")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (the same for every product)")
    p.add_argument("--limit", type=int, help="only the first M products")
    p.add_argument(
        "--workers", type=int, default=1, help="products in flight at once (a batching backend serves them together)"
    )
    p.add_argument("--job", metavar="NAME", help="job name (default: a hash of the catalog, channels and settings)")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="output CSV, one row per variant")
    p.add_argument("--db", help="database file (default: COPYLAB_DB or ~/.copylab/copylab.db)")


def run(args: argparse.Namespace) -> int:
    """Create or find the job, run it to the end with progress on stderr, then write the CSV from the database."""
    from copy_engine import bulk
    from copy_engine.store import open_db

    # Everything cheap is checked before the model loads.
    settings = bulk.BulkSettings(
        channels=tuple(args.channel), n=args.n, sentiment=args.sentiment, creativity=args.creativity,
        cta=args.cta, seed=args.seed, limit=args.limit,
    )  # fmt: skip
    if not 1 <= args.workers <= bulk.MAX_WORKERS:
        raise InputError(f"--workers must be between 1 and {bulk.MAX_WORKERS}, got {args.workers}")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"folder for --out does not exist: {out.parent}")
    if out.is_dir():
        raise InputError(f"--out is a folder, not a file: {out}")
    db = open_db(args.db)
    try:
        if args.all:
            job_id = bulk.create_job_from_products(db, None, settings, args.job)
        else:
            job_id = bulk.create_job_from_catalog(db, args.catalog, settings, args.job)

        def show(p: bulk.JobProgress) -> None:
            sys.stderr.write(p.line() + "\n")
            sys.stderr.flush()

        try:
            progress = bulk.run_job(db, job_id, workers=args.workers, on_progress=show)
        except bulk.BulkJobError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
        if progress.status != "done":
            sys.stderr.write(
                f"job {job_id} is {progress.status} at {progress.finished}/{progress.total} products; "
                "run the same command again to resume\n"
            )
            return 1
        rows = bulk.write_job_csv(db, job_id, out)
        summary = bulk.job_summary(db, job_id)
        print(f"job {job_id}: {progress.done} products written, {progress.skipped} skipped, {rows} variants -> {out}")
        for s in summary["skipped"]:
            where = f"row {s['row_number']}" if s["row_number"] else f"product {s['product_id']}"
            print(f"  skipped {where} {s['product_name'][:60]!r}: {s['reason']}")
        return 0
    finally:
        db.conn.close()
