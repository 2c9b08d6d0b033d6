"""`python -m copy_engine import-catalog FILE.csv [--mapping JSON]`: import a product catalog CSV."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from copy_engine.errors import InputError
from copy_engine.jsonfile import read_json

NAME = "import-catalog"
HELP = "Import products from a catalog CSV into the database (prints imported/skipped counts and reasons)."
MAX_REASONS_SHOWN = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register FILE, --mapping, --db and --dry-run."""
    parser.add_argument("file", help="catalog CSV (UTF-8, UTF-8 with BOM, Windows-1252 or Latin-1)")
    parser.add_argument(
        "--mapping",
        help='field→column JSON, inline (\'{"name": "Product Name"}\') or a path to a JSON file; '
        "fields: name, brand, category, features, price, description. Default: guessed from the header",
    )
    parser.add_argument("--db", help="database file (default: COPYLAB_DB or ~/.copylab/copylab.db)")
    parser.add_argument("--dry-run", action="store_true", help="show the mapping and a preview, import nothing")


def _load_mapping(value: str | None) -> dict | None:
    """The --mapping value (inline JSON or a JSON file path) as a dict, or None."""
    if not value:
        return None
    if value.lstrip().startswith("{"):
        try:
            mapping = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(f"--mapping is not valid JSON: {exc}") from None
        except RecursionError:
            raise InputError("--mapping is not usable JSON: it is nested too deeply") from None
    else:
        if not Path(value).is_file():
            raise InputError(f"--mapping is neither JSON nor an existing file: {value}")
        mapping = read_json(value, "--mapping file")  # clear errors for non-UTF-8, deep or huge files
    if not isinstance(mapping, dict):
        raise InputError("--mapping must be a JSON object of field → column")
    return mapping


def run(args: argparse.Namespace) -> int:
    """Import the CSV and print the mapping used, the counts and each skipped row's reason."""
    from copy_engine import catalog
    from copy_engine.store import open_db

    if not Path(args.file).is_file():
        raise InputError(f"file not found: {args.file}")
    mapping = _load_mapping(args.mapping)
    columns, preview = catalog.read_csv_preview(args.file, max_rows=3)
    if mapping is None:
        mapping = catalog.guess_mapping(columns)
    print("mapping: " + ", ".join(f"{f} ← {mapping[f]!r}" for f in catalog.FIELDS if mapping.get(f)))
    if args.dry_run:
        print(f"{len(columns)} columns; first rows:")
        for row in preview:
            print("  " + " | ".join(str(row.get(mapping[f], ""))[:40] for f in catalog.FIELDS if mapping.get(f)))
        return 0
    db = open_db(args.db)
    try:
        report = catalog.import_products(db, args.file, mapping)
    finally:
        db.conn.close()
    print(f"imported {report.imported}, skipped {len(report.skipped)}")
    for row_number, reason in report.skipped[:MAX_REASONS_SHOWN]:
        print(f"  row {row_number}: {reason}")
    if len(report.skipped) > MAX_REASONS_SHOWN:
        print(f"  … and {len(report.skipped) - MAX_REASONS_SHOWN} more skipped rows")
    if report.truncated:
        print(f"shortened {len(report.truncated)} rows (imported, with cells cut to the product limits)")
        for row_number, note in report.truncated[:MAX_REASONS_SHOWN]:
            print(f"  row {row_number}: {note}")
        if len(report.truncated) > MAX_REASONS_SHOWN:
            print(f"  … and {len(report.truncated) - MAX_REASONS_SHOWN} more shortened rows")
    return 0
