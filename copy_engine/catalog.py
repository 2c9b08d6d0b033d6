"""Importing a product catalog CSV, with a column-mapping step.

The UI (or CLI) reads a preview, proposes a mapping with `guess_mapping`, lets
the user correct it, then calls `import_products`. Cells are untrusted: they
are stored as plain text through `Product` (tags stripped, lengths bounded) and
never interpreted.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from copy_engine.errors import InputError

if TYPE_CHECKING:
    from copy_engine.product import Product

FIELDS = ("name", "brand", "category", "features", "price", "description")
MAX_BYTES = 20 * 1024 * 1024
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

FileOrBytes = bytes | bytearray | memoryview | str | Path | IO[bytes] | IO[str]


@dataclass
class ImportReport:
    """Outcome of one import: how many products were stored and which rows were skipped, and why.

    Row numbers count like a spreadsheet: the header is row 1, the first product row 2.
    """

    imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """One line such as 'imported 631, skipped 2'."""
        return f"imported {self.imported}, skipped {len(self.skipped)}"


# ---------------------------------------------------------------- reading


def _read_bytes(source: FileOrBytes) -> bytes:
    """The raw bytes of an upload, path or byte string, enforcing MAX_BYTES."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, str) and "\n" in source:
        data = source.encode("utf-8")  # CSV text rather than a path
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"file not found: {source}")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(_too_big(size))
        data = path.read_bytes()
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)  # Streamlit UploadedFile may have been read for the preview
            except (OSError, ValueError):
                pass
        data = source.read(MAX_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise InputError("expected CSV bytes, a file path or an open file")
    if len(data) > MAX_BYTES:
        raise InputError(_too_big(len(data)))
    return data


def _too_big(size: int) -> str:
    """The message for a file over the size limit."""
    return (
        f"file is too large ({size / 1024 / 1024:.1f} MB); the limit is {MAX_BYTES // 1024 // 1024} MB "
        f"and {MAX_ROWS:,} rows: split it into smaller files"
    )


def _decode(data: bytes) -> str:
    """Text from the file's bytes: UTF-16 (BOM), UTF-8 (with or without BOM), cp1252, then Latin-1."""
    if not data.strip():
        raise InputError("the file is empty")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")  # Excel "Unicode text" export
        except UnicodeDecodeError:
            raise InputError("the file looks like UTF-16 but cannot be decoded") from None
    if b"\x00" in data[:4096]:
        raise InputError("this is not a CSV text file (binary content; an Excel .xlsx?). Save it as CSV first")
    # utf-8-sig also reads plain UTF-8; cp1252 covers Excel on Windows; latin-1 never fails.
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("cannot decode the file")  # unreachable: latin-1 decodes any bytes


def _delimiter(text: str) -> str:
    """The field separator: ',', ';' or tab, whichever the header line uses most."""
    # Sniff the header line only: data cells (like Amazon's 'A | B' categories) contain
    # separators of their own. European Excel writes ';'.
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


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
    text = _decode(_read_bytes(source))
    # Larger cells than csv's default 128 KB limit are allowed (the byte limit bounds them).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise InputError("the file has no header row")
        columns = _unique_columns(header)
        rows: list[tuple[int, dict]] = []
        for record in reader:
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
    except csv.Error as exc:
        raise InputError(f"malformed CSV near line {reader.line_num}: {exc}") from None
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


def row_to_product(row: dict, mapping: dict[str, str]):
    """A Product from one CSV row and the field → column mapping."""
    from copy_engine.product import Product

    get = lambda f: (row.get(mapping[f]) or "") if f in mapping else ""
    return Product(
        name=get("name"),
        brand=get("brand"),
        category=get("category"),
        features=split_features(get("features")),
        price=clean_price(get("price")),
        description=get("description"),
    )


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


def import_products(
    db, file_or_bytes: FileOrBytes, mapping: dict[str, str] | None = None, source: str | None = None
) -> ImportReport:
    """Import every row of a catalog CSV as a product, in one transaction.

    `mapping` is field → column (see guess_mapping; None means use the guess).
    Rows without a name, duplicates (same name and brand as a stored product or
    an earlier row) and rows that cannot be converted are skipped and reported.
    File-level problems (empty, binary, malformed, too large, bad mapping) raise
    InputError before anything is written; any failure during writing rolls the
    whole import back, so products already stored are never touched.
    """
    from copy_engine.store.db import transaction
    from copy_engine.store.products import add_product, find_product

    columns, rows = _parse(file_or_bytes, max_rows=None)
    if not rows:
        raise InputError("the file has a header but no product rows")
    mapping = _check_mapping(guess_mapping(columns) if mapping is None else mapping, columns)
    if source is None:
        source = f"csv:{Path(file_or_bytes).name}" if isinstance(file_or_bytes, (str, os.PathLike)) else "csv"
    report = ImportReport()
    seen: dict[tuple[str, str], int] = {}
    with transaction(db):
        for row_number, row in rows:
            if not str(row.get(mapping["name"]) or "").strip():
                report.skipped.append((row_number, "no product name"))
                continue
            if _EXTRA in row:
                reason = f"unparseable: {row[_EXTRA]} cells but the header has {len(columns)} columns"
                report.skipped.append((row_number, reason + " (an unquoted comma?)"))
                continue
            try:
                product = row_to_product(row, mapping)
            except InputError as exc:
                reason = "no product name (only markup)" if "no name" in str(exc) else f"unusable: {exc}"
                report.skipped.append((row_number, reason))
                continue
            except (ValueError, TypeError) as exc:
                report.skipped.append((row_number, f"unparseable: {exc}"))
                continue
            key = (product.name.casefold(), product.brand.casefold())
            if key in seen:
                report.skipped.append((row_number, f"duplicate of row {seen[key]} ({product.name!r})"))
                continue
            existing = find_product(db, product.name, product.brand)
            if existing is not None:
                report.skipped.append(
                    (row_number, f"already in the catalog as product {existing.id} ({product.name!r})")
                )
                continue
            seen[key] = row_number
            stored = add_product(db, product, source=source)
            report.product_ids.append(stored.id)
            report.imported += 1
    return report


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
