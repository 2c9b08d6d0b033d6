"""`add-results EXPERIMENT_ID RESULTS.csv [--replace | --add]`: record A/B results in the database."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "add-results"
HELP = (
    "Record an experiment's results from a CSV (variant, impressions, clicks, conversions, optional day). "
    "Results already recorded are never counted twice unless you say --replace or --add."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register EXPERIMENT_ID, RESULTS.csv, --replace / --add and --db."""
    parser.add_argument("experiment", type=int, metavar="EXPERIMENT_ID", help="the experiment's id (Experiments page)")
    parser.add_argument(
        "file", metavar="RESULTS.csv", help="variant (the arm name), impressions, clicks, conversions[, day]"
    )
    repeat = parser.add_mutually_exclusive_group()
    repeat.add_argument(
        "--replace", action="store_true", help="results already recorded for these arms (or arms and days) are replaced"
    )
    repeat.add_argument(
        "--add", action="store_true", help="totals without a day count on top of those already recorded (new traffic)"
    )
    parser.add_argument("--db", help="database file (default: COPYLAB_DB or ~/.copylab/copylab.db)")


def run(args: argparse.Namespace) -> int:
    """Read the CSV, store its rows, print how many were recorded."""
    from copy_engine.experiments.results_csv import result_rows
    from copy_engine.store import open_db
    from copy_engine.store.experiments import RepeatedResultsError, add_results

    rows = result_rows(Path(args.file))
    on_repeat = "replace" if args.replace else "add" if args.add else None
    db = open_db(args.db)
    try:
        added = add_results(db, args.experiment, rows, on_repeat=on_repeat)
    except RepeatedResultsError as exc:
        raise RepeatedResultsError(f"{exc}: run again with --replace or --add", exc.repeats) from None
    finally:
        db.conn.close()
    print(f"recorded {added} result row(s) for experiment {args.experiment}")
    return 0
