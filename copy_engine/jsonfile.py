"""Reading a user-supplied JSON file with one clear error instead of a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from copy_engine.errors import CopyLabError, InputError


MAX_JSON_BYTES = 20 * 1024 * 1024  # product files and adapter metadata are a few KB


def read_json(path: str | Path, what: str, error: type[CopyLabError] = InputError):
    """Parsed JSON of `path`; `error` naming `what` when the file is missing, too large or not valid JSON."""
    p = Path(path)
    if not p.is_file():
        raise error(f"{what} not found: {p}")
    try:
        size = p.stat().st_size
        if size > MAX_JSON_BYTES:
            raise error(f"{what} {p} is too large ({size / 1024 / 1024:.1f} MB; the limit is "
                        f"{MAX_JSON_BYTES / 1024 / 1024:.0f} MB)")  # fmt: skip
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{what} {p} is not valid JSON: {exc}") from None
    except RecursionError:  # '[[[[…' thousands deep: json recurses per level
        raise error(f"{what} {p} is not usable JSON: it is nested too deeply") from None
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
