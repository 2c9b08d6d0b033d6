"""CSV export of approved copy, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlite_utils

from copy_engine.store.favourites import list_favourites

BASE_COLUMNS = ("product_id", "product_name", "channel", "text")
TAIL_COLUMNS = ("settings", "created_at", "approved_at")
# A spreadsheet treats a cell starting with one of these as a formula (or, for
# tab / carriage return, may shift it into one): CSV formula injection.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# UTF-8 with a BOM: Excel then reads the file as UTF-8 (other readers skip the BOM).
CSV_ENCODING = "utf-8-sig"


def _visible_start(text: str) -> str:
    """`text` NFKC-normalised, with leading invisible characters removed: what a spreadsheet may read.

    NFKC folds look-alikes (full-width ＝, small ﹦, full-width ＋ ＠) to ASCII;
    format characters (zero-width space, BOM, joiners, soft hyphen, direction
    marks) and white space in front of a formula sign may be dropped on import.
    """
    probe = unicodedata.normalize("NFKC", text)
    i = 0
    while i < len(probe) and (probe[i].isspace() or unicodedata.category(probe[i]) in ("Cf", "Cc", "Zs")):
        i += 1
    return probe[i:]


def escape_cell(value: Any) -> Any:
    """A CSV cell value made safe for spreadsheets: text starting with = + - @ tab or CR gets a leading '.

    The check also sees through look-alikes and invisible leading characters
    (see _visible_start); the cell keeps its original text after the quote.
    Numbers are left alone: a negative score is data, not a formula.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START) or _visible_start(text).startswith(_FORMULA_START):
        return "'" + text
    return text


def export_approved_csv(
    db: sqlite_utils.Database,
    product_id: int | None = None,
    channel: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
) -> str:
    """Approved favourites as CSV text (write it as UTF-8), newest first.

    Columns: product_id, product_name, channel, text, one `score_<name>` column
    per score found in any row (sorted), settings (JSON), created_at, approved_at.
    Quoting is done by the csv module and every text cell is escaped against
    formula injection. Filters are the same as list_favourites.
    """
    favs = list_favourites(db, product_id=product_id, channel=channel, status="approved", since=since, until=until)
    score_names = sorted({k for f in favs for k in (f["scores"] or {}) if isinstance(f["scores"], dict)})
    rows = []
    for f in favs:
        scores = f["scores"] if isinstance(f["scores"], dict) else {}
        row = [f["product_id"], f["product_name"], f["channel"], f["text"]]
        row += [_score(scores.get(n)) for n in score_names]
        row += [json.dumps(f["settings"], ensure_ascii=False, sort_keys=True), f["created_at"], f["approved_at"]]
        rows.append(row)
    return csv_text([*BASE_COLUMNS, *(f"score_{n}" for n in score_names), *TAIL_COLUMNS], rows)


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    """CSV text (CRLF line ends, minimal quoting by the csv module) with every cell escaped by `escape_cell`.

    Write it as CSV_ENCODING: the exports of the library and of bulk jobs share this one writer.
    """
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([escape_cell(v) for v in row])
    return out.getvalue()


def _score(value: Any) -> Any:
    """A score value as a CSV cell value."""
    # Scores are numbers, but a scorer may store a label or a nested dict; keep it readable.
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value
