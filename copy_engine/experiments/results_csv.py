"""Reading experiment results from CSV: `variant, impressions, clicks, conversions`
(+ optional `day` for per-day rows, + optional `headline`/`text` with the copy shown)."""

from __future__ import annotations

from pathlib import Path

from copy_engine.csvtext import csv_records, decode_text, read_bytes
from copy_engine.errors import InputError
from copy_engine.experiments.arms import MAX_COUNT, MAX_VARIANTS, ArmResult, DailyRow, check_counts

REQUIRED = ("variant", "impressions", "clicks", "conversions")
COUNTS = ("impressions", "clicks", "conversions")
TEXT_COLUMNS = ("headline", "text")


def _source_text(source) -> str:
    """CSV text from a path, a file object, bytes or the CSV text itself (the catalog's reader and limits)."""
    if isinstance(source, str) and "\n" not in source and "\r" not in source:
        source = Path(source)  # one line without a newline is a path, never a usable CSV (no data rows)
    if isinstance(source, Path) and not source.is_file():
        raise InputError(f"results file not found: {source}")
    if isinstance(source, str):
        return source.lstrip("\ufeff")
    return decode_text(read_bytes(source))


def _whole(value: str, column: str, where: str) -> int:
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        number = None
    # spreadsheets write 120 as "120.0"; accept that, never 120.5
    if number is None or not number.is_integer():
        raise InputError(f"{where}: {column} must be a whole number, got {value!r}")
    return int(number)


def read_results_csv(source) -> list[ArmResult]:
    """Parse experiment results; the first variant is the control.

    `source` is a path (str or Path), a file object, bytes or the CSV text. Rows
    with a `day` column are per-day counts: they are summed per variant and kept
    in `ArmResult.daily`. Raises InputError naming the 1-based data row (and file
    line) for: missing columns, empty file, negative or non-whole counts, clicks
    above impressions, conversions above clicks, a duplicate variant (or variant
    and day), or fewer than 2 variants.
    """
    text = _source_text(source)
    try:
        rows = [r for _, r in csv_records(text) if any(c.strip() for c in r)]
    except InputError as exc:
        raise InputError(f"results CSV: {exc}") from None
    if not rows:
        raise InputError("the results CSV is empty; expected columns: " + ", ".join(REQUIRED))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "none"
        raise InputError(f"the results CSV lacks column(s) {', '.join(missing)}; found: {found}")
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise InputError(f"the results CSV has column(s) twice: {', '.join(dupes)}")
    col = {h: i for i, h in enumerate(header)}
    has_day = "day" in col
    text_col = next((col[c] for c in TEXT_COLUMNS if c in col), None)
    if len(rows) == 1:
        raise InputError("the results CSV has a header but no data rows")

    order: list[str] = []
    totals: dict[str, list[int]] = {}
    daily: dict[str, list[DailyRow]] = {}
    texts: dict[str, str] = {}
    first_row: dict[object, int] = {}
    for number, cells in enumerate(rows[1:], start=1):
        where = f"row {number}"
        if len(cells) != len(header):
            raise InputError(f"{where}: expected {len(header)} fields like the header, got {len(cells)}")
        variant = cells[col["variant"]].strip()
        if not variant:
            raise InputError(f"{where}: the variant name is empty")
        counts = [_whole(cells[col[c]], c, where) for c in COUNTS]
        check_counts(*counts, where)
        day = cells[col["day"]].strip() if has_day else None
        if has_day and not day:
            raise InputError(f"{where}: the day is empty")
        key = (variant, day)
        if key in first_row:
            what = f"variant {variant!r} on day {day!r}" if has_day else f"variant {variant!r}"
            raise InputError(
                f"{where}: duplicate {what} (first in row {first_row[key]}); add a day column for per-day rows"
            )
        first_row[key] = number
        if variant not in totals:
            if len(order) >= MAX_VARIANTS:
                raise InputError(f"{where}: an A/B report covers at most {MAX_VARIANTS} variants; this is one more")
            order.append(variant)
            totals[variant] = [0, 0, 0]
            daily[variant] = []
        for i, c in enumerate(counts):
            totals[variant][i] += c
            if totals[variant][i] > MAX_COUNT:
                raise InputError(
                    f"{where}: variant {variant!r}'s total {COUNTS[i]} would exceed {MAX_COUNT:,}, "
                    "the largest count that can be stored"
                )
        if has_day:
            daily[variant].append(DailyRow(variant, day, *counts))
        if text_col is not None and cells[text_col].strip() and variant not in texts:
            texts[variant] = cells[text_col].strip()
    if len(order) < 2:
        raise InputError(f"an experiment needs at least 2 variants (control first), found {len(order)}: {order[0]!r}")
    return [ArmResult(v, *totals[v], daily=tuple(daily[v]), text=texts.get(v)) for v in order]


def result_rows(source) -> list[dict]:
    """A results CSV as rows for store.experiments.add_results: one per day, or one total per variant.

    `source` is anything read_results_csv reads; the variant column names the arm.
    """
    def counts(r) -> dict:
        return {"impressions": r.impressions, "clicks": r.clicks, "conversions": r.conversions}

    rows: list[dict] = []
    for arm in read_results_csv(source):
        if arm.daily:
            rows += [{"arm": d.variant, "day": d.day, **counts(d)} for d in arm.daily]
        else:
            rows.append({"arm": arm.variant, **counts(arm)})
    return rows
