"""Reading user CSV files: shared by the catalog import and the A/B results reader."""

from __future__ import annotations

import io


def quoted_cell_start(text: str, start_line: int, end_line: int | None = None, delimiter: str = ",",
                      quote: str = '"') -> int | None:  # fmt: skip
    """The line (1-based) where the last quoted cell opened between `start_line` and `end_line` starts.

    The csv module notices a quote that is never closed only at the end of the
    file (or where a later quote closes it by accident), so its line number
    points far below the mistake. `start_line` is the first line of the record
    that failed; the quoted cell it was reading when it failed is the last one
    opened. None when no quoted cell opens in that range.
    """
    lines = io.StringIO(text, newline="").readlines()  # the same line breaks csv counts
    last = len(lines) if end_line is None else min(end_line, len(lines))
    in_quotes, field_start, opened_at = False, True, None
    for number in range(max(1, start_line), last + 1):
        line = lines[number - 1]
        i = 0
        while i < len(line):
            ch = line[i]
            if in_quotes:
                if ch == quote:
                    if line[i + 1 : i + 2] == quote:  # "" is an escaped quote inside the cell
                        i += 2
                        continue
                    in_quotes = False
            elif ch == quote and field_start:
                in_quotes, field_start, opened_at = True, False, number
            else:
                field_start = ch == delimiter or ch in "\r\n"
            i += 1
    return opened_at


def csv_error_message(exc: Exception, text: str, record_line: int, error_line: int, delimiter: str = ",") -> str:
    """A csv.Error as a message naming the line to fix.

    `record_line` is where the failing record starts and `error_line` where the
    csv module gave up. When the record opened a quoted cell on an earlier line,
    that line is the one to look at (an unclosed or stray quote).
    """
    opened = quoted_cell_start(text, record_line, error_line, delimiter)
    if opened is not None and opened < error_line:
        if "unexpected end of data" in str(exc):
            return f'malformed CSV: the quoted cell starting on line {opened} is never closed (a missing ")'
        return (
            f'malformed CSV: the quoted cell starting on line {opened} runs on to line {error_line}, '
            f'where it fails ({exc}); a missing or stray " on line {opened}?'
        )
    return f"malformed CSV near line {error_line}: {exc}"
