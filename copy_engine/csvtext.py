"""Reading user CSV files: one reader for the catalog import and the A/B results.

Both accept the same files: UTF-8 (with or without BOM), UTF-16 (with a BOM, or
without one when unmistakable), Windows-1252 and Latin-1; comma, semicolon
(European Excel) or tab separators; up to MAX_BYTES. Malformed quoting is
reported at the line where the quoted cell starts.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from copy_engine.errors import InputError

MAX_BYTES = 20 * 1024 * 1024

FileOrBytes = bytes | bytearray | memoryview | str | Path | IO[bytes] | IO[str]


def read_bytes(source: FileOrBytes, max_bytes: int | None = None, rows_hint: str = "") -> bytes:
    """The raw bytes of an upload, path, byte string or CSV text, refusing more than `max_bytes`.

    A str containing a line break is CSV text; any other str is a path.
    `rows_hint` ('50,000 rows') is added to the too-large message.
    """
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, str) and ("\n" in source or "\r" in source):
        data = source.encode("utf-8")  # CSV text rather than a path
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"file not found: {source}")
        size = path.stat().st_size
        if size > limit:
            raise InputError(_too_big(size, limit, rows_hint))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror or exc}") from None
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)  # Streamlit UploadedFile may have been read for the preview
            except (OSError, ValueError):
                pass
        data = source.read(limit + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise InputError(f"expected CSV bytes, a file path or an open file, got a {type(source).__name__}")
    if len(data) > limit:
        raise InputError(_too_big(len(data), limit, rows_hint))
    return data


def _too_big(size: int, limit: int, rows_hint: str) -> str:
    """The message for a file over the size limit."""
    rows = f" and {rows_hint}" if rows_hint else ""
    return (
        f"file is too large ({size / 1024 / 1024:.1f} MB); the limit is {limit / 1024 / 1024:.0f} MB{rows}: "
        "split it into smaller files"
    )


def decode_text(data: bytes) -> str:
    """Text from a CSV file's bytes: UTF-16 (BOM, or unmistakable without), UTF-8 (± BOM), cp1252, then Latin-1."""
    if not data.strip():
        raise InputError("the file is empty")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")  # Excel "Unicode text" export
        except UnicodeDecodeError:
            raise InputError("the file looks like UTF-16 but cannot be decoded") from None
    if b"\x00" in data[:4096]:
        text = _utf16_without_bom(data)
        if text is not None:
            return text
        raise InputError("this is not a CSV text file (binary content; an Excel .xlsx?). Save it as CSV first")
    # utf-8-sig also reads plain UTF-8; cp1252 covers Excel on Windows; latin-1 never fails.
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("cannot decode the file")  # unreachable: latin-1 decodes any bytes


def _utf16_without_bom(data: bytes) -> str | None:
    """The text of UTF-16 bytes written without a byte-order mark, or None when they are not that.

    Mostly-Latin UTF-16 has a NUL in every other byte (odd positions for little-
    endian, even for big-endian) and almost none in the others; a binary file
    (an .xlsx zip, an image) has NULs scattered.
    """
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    if not even or not odd:
        return None
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.6 * len(zeros) and others.count(0) <= 0.02 * len(others):
            try:
                text = data[: len(data) // 2 * 2].decode(encoding)
            except UnicodeDecodeError:
                continue
            printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text[:2048])
            if "\x00" not in text and printable >= 0.95 * len(text[:2048]):
                return text
    return None


def sniff_delimiter(text: str) -> str:
    """The field separator: ',', ';' or tab, whichever the header line uses most."""
    # Sniff the header line only: data cells (like Amazon's 'A | B' categories) contain
    # separators of their own. European Excel writes ';'.
    header = io.StringIO(text, newline="").readline()
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_records(text: str, delimiter: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each record of CSV text, the header included; blank lines give [].

    The separator is sniffed from the header unless given. Quoting is strict;
    csv errors become InputError naming the line to fix (see csv_error_message).
    """
    delimiter = delimiter or sniff_delimiter(text)
    # Larger cells than csv's default 128 KB limit are allowed (the byte limit bounds them).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    last_line = 0  # the line the last complete record ended on
    try:
        for record in reader:
            yield last_line + 1, record
            last_line = reader.line_num
    except csv.Error as exc:
        raise InputError(csv_error_message(exc, text, last_line + 1, reader.line_num, delimiter)) from None


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
