"""`ab-report`: statistics and verdict of an A/B experiment from a results CSV."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from copy_engine.errors import InputError

NAME = "ab-report"
HELP = "A/B experiment report from a CSV of variant, impressions, clicks, conversions (first row = control)"


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="INPUT.csv", help="results CSV; optional day column for per-day rows")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.add_argument(
        "--split-floor",
        type=float,
        default=None,
        help="smallest traffic share any variant gets in the recommended next split (default 0.05)",
    )


def run(args) -> int:
    # imported here so discovering commands (every CLI start) stays cheap
    from copy_engine.experiments import analyze, format_table, read_results_csv
    from copy_engine.experiments.report import DEFAULT_SPLIT_FLOOR

    floor = DEFAULT_SPLIT_FLOOR if args.split_floor is None else args.split_floor
    if not 0.0 <= floor <= 0.5:
        raise InputError(f"--split-floor must be between 0 and 0.5, got {floor}")
    report = analyze(read_results_csv(Path(args.input)), split_floor=floor)
    if args.format == "json":
        json.dump(report.to_dict(), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(report) + "\n")
    return 0
