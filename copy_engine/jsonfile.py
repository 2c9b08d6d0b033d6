"""Reading a user-supplied JSON file with one clear error instead of a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from copy_engine.errors import CopyLabError, InputError


def read_json(path: str | Path, what: str, error: type[CopyLabError] = InputError):
    """Parsed JSON of `path`; `error` naming `what` when the file is missing or not valid JSON."""
    p = Path(path)
    if not p.is_file():
        raise error(f"{what} not found: {p}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{what} {p} is not valid JSON: {exc}") from None
