"""Importing a product catalog CSV, with a column-mapping step.

The UI (or CLI) reads a preview, proposes a mapping with `guess_mapping`, lets
the user correct it, then calls `import_products`. Cells are untrusted: they
are stored as plain text through `Product` (tags stripped, lengths bounded) and
never interpreted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copy_engine.csvtext import MAX_BYTES as _SHARED_MAX_BYTES
from copy_engine.csvtext import FileOrBytes, csv_records, decode_text, read_bytes
from copy_engine.errors import InputError

if TYPE_CHECKING:
    from copy_engine.product import Product

FIELDS = ("name", "brand", "category", "features", "price", "description")
MAX_BYTES = _SHARED_MAX_BYTES  # 20 MB, as every user CSV
MAX_ROWS = 50_000
# Amazon prepends this to "About Product"; it says nothing about the product.
BOILERPLATE = (
    re.compile(r"^make sure this fits\b.*model number\.?$", re.IGNORECASE),
    re.compile(r"^see more product details$", re.IGNORECASE),
)
# Header names per field, best first (compared lower-case with punctuation removed).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("product name", "name", "title", "product title", "product", "item name", "item", "product_name"),
    "brand": ("brand name", "brand", "manufacturer", "vendor", "make", "maker"),
    "category": ("category", "categories", "product category", "category path", "product type", "type", "department"),
    "features": (
        "about product",
        "features",
        "key features",
        "bullet points",
        "bullets",
        "highlights",
        "feature bullets",
    ),
    "price": ("selling price", "sale price", "price", "current price", "list price", "retail price", "cost"),
    "description": ("product description", "description", "long description", "desc", "body", "body html", "details"),
}
# Fallback: a header containing one of these words maps to the field.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "name": ("productname", "title", "itemname"),
    "brand": ("brand", "manufacturer", "vendor"),
    "category": ("category", "categories"),
    "features": ("feature", "bullet", "aboutproduct"),
    "price": ("price",),
    "description": ("description",),
}

_EXTRA = "\0extra cells"  # marks a row with more filled cells than header columns


@dataclass
class ImportReport:
    """Outcome of one import: how many products were stored and which rows were skipped, and why.

    Row numbers count like a spreadsheet: the header is row 1, the first product row 2.
    """

    imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)
    # Imported rows whose cells were cut to the product limits: (row, "name cut to 200 characters (from 250); …")
    truncated: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line such as 'imported 631, skipped 2' (', shortened 3 rows' when cells were cut)."""
        text = f"imported {self.imported}, skipped {len(self.skipped)}"
        return text + (f", shortened {len(self.truncated)} rows" if self.truncated else "")


# ---------------------------------------------------------------- reading


def _unique_columns(header: list[str]) -> list[str]:
    """Header names made non-empty and unique ('Price', 'Price (2)')."""
    out: list[str] = []
    for i, raw in enumerate(header, start=1):
        name = re.sub(r"\s+", " ", raw or "").strip() or f"Column {i}"
        base, k = name, 2
        while name in out:
            name = f"{base} ({k})"
            k += 1
        out.append(name)
    return out


def _parse(source: FileOrBytes, max_rows: int | None) -> tuple[list[str], list[tuple[int, dict]]]:
    """Columns and (row_number, row dict) pairs of a CSV, up to `max_rows` rows."""
    text = decode_text(read_bytes(source, MAX_BYTES, f"{MAX_ROWS:,} rows"))
    reader = csv_records(text)
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header[1]):
        raise InputError("the file has no header row")
    columns = _unique_columns(header[1])
    rows: list[tuple[int, dict]] = []
    for _, record in reader:
        if max_rows is not None and len(rows) >= max_rows:
            break
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(rows) >= MAX_ROWS:
            raise InputError(f"the file has more than {MAX_ROWS:,} rows; split it into smaller files")
        # Spreadsheet row number: header is row 1; counts records, not physical lines.
        row_number = len(rows) + 2
        padded = record + [""] * (len(columns) - len(record))
        row = dict(zip(columns, padded))
        extra = [c for c in record[len(columns) :] if c.strip()]
        if extra:
            row[_EXTRA] = len(record)
        rows.append((row_number, row))
    return columns, rows


def read_csv_preview(file_or_bytes: FileOrBytes, max_rows: int = 5) -> tuple[list[str], list[dict]]:
    """The column names and the first `max_rows` rows (as dicts column → text) of a catalog CSV.

    Accepts bytes, a path, or an open file (such as a Streamlit upload). Raises
    InputError for empty, binary, malformed or oversized files.
    """
    columns, rows = _parse(file_or_bytes, max_rows=max(0, int(max_rows)))
    preview = [{c: row.get(c, "") for c in columns} for _, row in rows]
    return columns, preview


# ---------------------------------------------------------------- mapping


def _norm(name: str) -> str:
    """A header name lower-cased with punctuation and spaces removed."""
    return re.sub(r"[^a-z0-9]", "", name.casefold())


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """Propose which column feeds each product field (name, brand, category, features, price, description).

    Exact header synonyms win (in the order listed in SYNONYMS), then headers
    containing a keyword; each column feeds at most one field. Fields with no
    likely column are left out.
    """
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for fld in FIELDS:
        for syn in SYNONYMS[fld]:
            col = by_norm.get(_norm(syn))
            if col and col not in used:
                mapping[fld] = col
                used.add(col)
                break
    for fld in FIELDS:
        if fld in mapping:
            continue
        for kw in KEYWORDS[fld]:
            col = next((c for c in columns if c not in used and kw in _norm(c)), None)
            if col:
                mapping[fld] = col
                used.add(col)
                break
    return mapping


def _check_mapping(mapping: Any, columns: list[str]) -> dict[str, str]:
    """The mapping with empty entries dropped; InputError for unknown fields or columns."""
    if not isinstance(mapping, dict):
        raise InputError('the column mapping must be an object like {"name": "Product Name"}')
    unknown = set(mapping) - set(FIELDS)
    if unknown:
        raise InputError(
            f"unknown product field(s) in mapping: {', '.join(sorted(unknown))}; fields are: {', '.join(FIELDS)}"
        )
    clean = {f: c for f, c in mapping.items() if c not in (None, "")}
    missing = [c for c in clean.values() if c not in columns]
    if missing:
        raise InputError(
            f"column(s) not in the file: {', '.join(map(repr, missing))}; the file has: {', '.join(columns)}"
        )
    if "name" not in clean:
        raise InputError("map a column to the product name; it is required")
    return clean


# ---------------------------------------------------------------- converting


def split_features(cell: str) -> list[str]:
    """Feature bullets from one cell: split on '|' (or new lines), boilerplate bullets dropped."""
    parts = [p.strip() for p in re.split(r"\s*\|\s*|\n+", cell or "")]
    return [p for p in parts if p and not any(b.match(p) for b in BOILERPLATE)]


_MONEY = re.compile(r"(?:[A-Z]{3} ?)?[$€£¥]?\s?\d[\d,]*(?:\.\d+)?(?:\s?[$€£¥](?!\s?\d))?")


def clean_price(cell: str) -> str:
    """A readable price from a messy price cell: '$16.03 - $24.79' kept, CSS/garbage after
    the first amount dropped, and '' when the cell holds no number at all."""
    text = re.sub(r"\s+", " ", cell or "").strip()
    if not text:
        return ""
    split = re.match(r"^([$€£¥])\s?(\d+) (\d{2})\b", text)
    if split:  # Amazon's split display '$ 19 99' means $19.99
        return f"{split.group(1)}{split.group(2)}.{split.group(3)}"
    m = re.match(rf"^\s*({_MONEY.pattern})(\s*-\s*({_MONEY.pattern}))?", text)
    if m:
        return m.group(0).strip()
    m = _MONEY.search(text)
    return m.group(0).strip() if m else ""


def row_fields(row: dict, mapping: dict[str, str]) -> dict:
    """The product field values of one CSV row (features split, price cleaned), before Product bounds them."""
    get = lambda f: (row.get(mapping[f]) or "") if f in mapping else ""  # noqa: E731
    return {
        "name": get("name"),
        "brand": get("brand"),
        "category": get("category"),
        "features": split_features(get("features")),
        "price": clean_price(get("price")),
        "description": get("description"),
    }


def row_to_product(row: dict, mapping: dict[str, str]):
    """A Product from one CSV row and the field → column mapping."""
    from copy_engine.product import Product

    return Product(**row_fields(row, mapping))


def read_products(source: FileOrBytes, mapping: dict | None = None) -> list[Product]:
    """Every usable product of a catalog CSV, mapped as the import maps it, nothing stored.

    Rows the import would skip (no name, unparseable, unusable) and repeats of
    a (name, brand) are left out. InputError for a missing, empty or
    malformed file, or when no row is usable.
    """
    columns, rows = _parse(source, max_rows=None)
    if not rows:
        raise InputError("the catalog has a header but no product rows")
    mapping = _check_mapping(guess_mapping(columns) if mapping is None else mapping, columns)
    products: list[Product] = []
    seen: set[tuple[str, str]] = set()
    for _, row in rows:
        if _EXTRA in row or not str(row.get(mapping["name"]) or "").strip():
            continue
        try:
            product = row_to_product(row, mapping)
        except (InputError, ValueError, TypeError):
            continue
        key = (product.name.casefold(), product.brand.casefold())
        if key not in seen:
            seen.add(key)
            products.append(product)
    if not products:
        raise InputError("no usable products in the catalog")
    return products


BATCH_ROWS = 500  # rows staged per write transaction: each holds the write lock for milliseconds
STALE_RUN = timedelta(minutes=10)  # a staging run untouched this long belonged to a killed process


def import_products(
    db, file_or_bytes: FileOrBytes, mapping: dict[str, str] | None = None, source: str | None = None
) -> ImportReport:
    """Import every row of a catalog CSV as a product: all rows or none, without blocking other writers.

    `mapping` is field → column (see guess_mapping; None means use the guess).
    Rows without a name, duplicates (same name and brand as a stored product or
    an earlier row) and rows that cannot be converted are skipped and reported.
    File-level problems (empty, binary, malformed, too large, bad mapping) raise
    InputError before anything is written.

    The rows are converted and staged in batches of BATCH_ROWS, each in its own
    short transaction, under one `import_runs` record; a last short transaction
    moves them into products and marks the run done. Other tabs and processes
    can write between batches. Any failure (or interruption) deletes the staged
    rows and marks the run failed, so products already stored are never touched
    and no product of a failed import is ever visible; staging left by a killed
    process is invisible and removed by the next import.
    """
    columns, rows = _parse(file_or_bytes, max_rows=None)
    if not rows:
        raise InputError("the file has a header but no product rows")
    mapping = _check_mapping(guess_mapping(columns) if mapping is None else mapping, columns)
    if source is None:
        source = f"csv:{Path(file_or_bytes).name}" if isinstance(file_or_bytes, (str, os.PathLike)) else "csv"
    report = ImportReport()
    run_id = _start_run(db, source)
    try:
        seen: dict[tuple[str, str], int] = {}
        for start in range(0, len(rows), BATCH_ROWS):
            staged = [
                staged_row
                for row_number, row in rows[start : start + BATCH_ROWS]
                if (staged_row := _convert_row(db, row_number, row, mapping, columns, seen, report)) is not None
            ]
            _stage(db, run_id, staged)
        _swap_in(db, run_id, report)
    except BaseException as exc:
        _finish_failed_run(db, run_id, exc)
        raise
    return report


def _convert_row(db, row_number: int, row: dict, mapping: dict, columns: list[str], seen: dict, report: ImportReport):
    """The staging row for one CSV row, or None after recording why it is skipped."""
    from copy_engine.product import cut_notes
    from copy_engine.store.db import to_json
    from copy_engine.store.products import find_product

    if not str(row.get(mapping["name"]) or "").strip():
        report.skipped.append((row_number, "no product name"))
        return None
    if _EXTRA in row:
        reason = f"unparseable: {row[_EXTRA]} cells but the header has {len(columns)} columns"
        report.skipped.append((row_number, reason + " (an unquoted comma?)"))
        return None
    try:
        product = row_to_product(row, mapping)
    except InputError as exc:
        reason = "no product name (only markup)" if "no name" in str(exc) else f"unusable: {exc}"
        report.skipped.append((row_number, reason))
        return None
    except (ValueError, TypeError) as exc:
        report.skipped.append((row_number, f"unparseable: {exc}"))
        return None
    key = (product.name.casefold(), product.brand.casefold())
    if key in seen:
        report.skipped.append((row_number, f"duplicate of row {seen[key]} ({product.name!r})"))
        return None
    existing = find_product(db, product.name, product.brand)
    if existing is not None:
        report.skipped.append((row_number, f"already in the catalog as product {existing.id} ({product.name!r})"))
        return None
    seen[key] = row_number
    notes = cut_notes(row_fields(row, mapping))
    if notes:
        report.truncated.append((row_number, "; ".join(notes)))
    return (row_number, product.name, product.brand, product.category, to_json(product.features), product.price,
            product.description)  # fmt: skip


def _start_run(db, source: str) -> int:
    """A new import run in 'staging' state; first clears the staging of runs whose process died."""
    from copy_engine.store.transactions import now_iso, transaction

    now = datetime.now(UTC)
    stale = (now - STALE_RUN).replace(microsecond=0).isoformat()
    with transaction(db):
        dead = [r[0] for r in db.execute(
            "SELECT id FROM import_runs WHERE status = 'staging' AND updated_at < ?", [stale])]  # fmt: skip
        for run in dead:
            db.execute("DELETE FROM import_staging WHERE run_id = ?", [run])
            db.execute(
                "UPDATE import_runs SET status = 'failed', error = 'interrupted (the importing process stopped)', "
                "finished_at = ? WHERE id = ?",
                [now_iso(), run],
            )
        cur = db.execute(
            "INSERT INTO import_runs (source, status, started_at, updated_at) VALUES (?, 'staging', ?, ?)",
            [source, now_iso(), now_iso()],
        )
    return int(cur.lastrowid)


def _stage(db, run_id: int, staged: list[tuple]) -> None:
    """Write one batch of converted rows to the staging table (one short transaction)."""
    from copy_engine.store.transactions import now_iso, transaction

    with transaction(db):
        db.conn.executemany(
            "INSERT INTO import_staging (run_id, row_number, name, brand, category, features, price, description) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, *r) for r in staged],
        )
        db.execute("UPDATE import_runs SET updated_at = ? WHERE id = ?", [now_iso(), run_id])


def _swap_in(db, run_id: int, report: ImportReport) -> None:
    """Move a run's staged rows into products and mark it done, in one transaction.

    A product another writer stored while the batches were staged is skipped
    here, as 'already in the catalog', instead of being stored twice.
    """
    from copy_engine.store.transactions import now_iso, transaction

    same = "p.name = s.name COLLATE NOCASE AND p.brand = s.brand COLLATE NOCASE"
    with transaction(db):
        for row_number, name, pid in db.execute(
            f"SELECT s.row_number, s.name, min(p.id) FROM import_staging s JOIN products p ON {same} "
            "WHERE s.run_id = ? GROUP BY s.id ORDER BY s.row_number",
            [run_id],
        ).fetchall():
            report.skipped.append((row_number, f"already in the catalog as product {pid} ({name!r})"))
            report.truncated = [t for t in report.truncated if t[0] != row_number]
        now = now_iso()
        db.execute(
            "INSERT INTO products (name, brand, category, features, price, description, source, created_at, "
            "updated_at, import_run_id) "
            "SELECT s.name, s.brand, s.category, s.features, s.price, s.description, r.source, ?, ?, s.run_id "
            "FROM import_staging s JOIN import_runs r ON r.id = s.run_id "
            f"WHERE s.run_id = ? AND NOT EXISTS (SELECT 1 FROM products p WHERE {same}) ORDER BY s.row_number",
            [now, now, run_id],
        )
        report.product_ids = [r[0] for r in db.execute(
            "SELECT id FROM products WHERE import_run_id = ? ORDER BY id", [run_id])]  # fmt: skip
        report.imported = len(report.product_ids)
        report.skipped.sort(key=lambda item: item[0])
        db.execute("DELETE FROM import_staging WHERE run_id = ?", [run_id])
        db.execute(
            "UPDATE import_runs SET status = 'done', imported = ?, skipped = ?, updated_at = ?, finished_at = ? "
            "WHERE id = ?",
            [report.imported, len(report.skipped), now, now, run_id],
        )


def _finish_failed_run(db, run_id: int, exc: BaseException) -> None:
    """Delete a failed run's staged rows and record why it failed (best effort: never masks `exc`)."""
    from copy_engine.errors import DatabaseBusyError
    from copy_engine.store.transactions import now_iso, transaction

    if isinstance(exc, DatabaseBusyError):
        return  # waiting out the lock again would double the user's wait; the next import clears it (STALE_RUN)
    try:
        # transaction() already rolled back the batch that failed; a caller's own open
        # transaction (if any) is theirs to end, so this joins it as a savepoint.
        with transaction(db):
            db.execute("DELETE FROM import_staging WHERE run_id = ?", [run_id])
            db.execute(
                "UPDATE import_runs SET status = 'failed', error = ?, finished_at = ? "
                "WHERE id = ? AND status != 'done'",
                [(f"{type(exc).__name__}: {exc}")[:500], now_iso(), run_id],
            )
    except Exception:  # noqa: BLE001 - the staging is invisible; the next import clears it (STALE_RUN)
        pass

@dataclass
class CatalogRow:
    """One product row of a catalog as a bulk job sees it: a product, or why there is none."""

    row_number: int  # spreadsheet row (header is row 1)
    name: str  # the name cell as written (may be empty), for reports
    product: Product | None  # None when the row is unusable
    reason: str = ""  # why the row is unusable ('' when it is usable)


def read_catalog_rows(source: FileOrBytes, mapping: dict | None = None, limit: int | None = None) -> list[CatalogRow]:
    """Every product row of a catalog CSV (the first `limit`), usable or not, with the import's skip reasons.

    Unlike `read_products`, unusable rows (no name, unparseable, a repeat of an
    earlier row's name and brand) are kept with a reason, so a bulk job can
    report them. InputError for a missing, empty or malformed file or a bad mapping.
    """
    columns, rows = _parse(source, max_rows=limit)
    if not rows:
        raise InputError("the catalog has a header but no product rows")
    mapping = _check_mapping(guess_mapping(columns) if mapping is None else mapping, columns)
    out: list[CatalogRow] = []
    seen: dict[tuple[str, str], int] = {}
    for row_number, row in rows:
        name = re.sub(r"\s+", " ", str(row.get(mapping["name"]) or "")).strip()
        if not name:
            out.append(CatalogRow(row_number, "", None, "no product name"))
            continue
        if _EXTRA in row:
            reason = f"unparseable: {row[_EXTRA]} cells but the header has {len(columns)} columns (an unquoted comma?)"
            out.append(CatalogRow(row_number, name, None, reason))
            continue
        try:
            product = row_to_product(row, mapping)
        except InputError as exc:
            reason = "no product name (only markup)" if "no name" in str(exc) else f"unusable: {exc}"
            out.append(CatalogRow(row_number, name, None, reason))
            continue
        except (ValueError, TypeError) as exc:
            out.append(CatalogRow(row_number, name, None, f"unparseable: {exc}"))
            continue
        key = (product.name.casefold(), product.brand.casefold())
        if key in seen:
            out.append(CatalogRow(row_number, product.name, None, f"duplicate of row {seen[key]}"))
            continue
        seen[key] = row_number
        out.append(CatalogRow(row_number, product.name, product))
    return out
