"""Opening the database (WAL mode, busy timeout, foreign keys, migrations) and the column helpers (times, JSON).

Several browser tabs (Streamlit sessions) and CLI processes may write at the
same time. WAL lets readers run beside a writer, and the busy timeout makes a
second writer wait for the lock instead of failing; writes go through
`transactions.transaction` (which migrations use too, so it lives apart).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from copy_engine.errors import InputError
from copy_engine.store.migrations import apply_migrations

# How long SQLite waits for another writer's lock before an attempt fails (transactions retries a few times).
BUSY_TIMEOUT_MS = 5000


def open_db(path: str | Path | None = None, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the CopyLab database and bring its schema up to date.

    `path` defaults to `Settings.from_env().db_path` (COPYLAB_DB); missing parent
    folders are created. The connection may be used from another thread than the
    one that opened it (Streamlit reruns), but give each session its own connection.
    """
    if path is None:
        from copy_engine.settings import Settings

        path = Settings.from_env().db_path
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise InputError(f"cannot open database {path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db = sqlite_utils.Database(conn)
        if db.journal_mode != "wal":
            db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        if migrate:
            apply_migrations(db)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise InputError(f"{path} is not a usable CopyLab database: {exc}") from None
    return db


def _parse_time(value: str | date | datetime) -> date | datetime:
    """A date or datetime from a date, datetime or ISO string."""
    if isinstance(value, (date, datetime)):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"not a date or time: {value!r} (use YYYY-MM-DD)") from None


def _iso(moment: date | datetime) -> str:
    """A date/datetime as the UTC ISO string used by *_at columns."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def time_filter(
    column: str, since: str | date | datetime | None, until: str | date | datetime | None
) -> tuple[list[str], list[str]]:
    """SQL conditions and parameters restricting an ISO *_at column to [since, until].

    Dates (or 'YYYY-MM-DD' strings) cover whole UTC days, so `until=date` includes
    that day; datetimes (naive ones are taken as UTC) are exact bounds.
    """
    clauses: list[str] = []
    params: list[str] = []
    if since not in (None, ""):
        clauses.append(f"{column} >= ?")
        params.append(_iso(_parse_time(since)))
    if until not in (None, ""):
        end = _parse_time(until)
        if isinstance(end, datetime):
            clauses.append(f"{column} <= ?")
            params.append(_iso(end))
        else:
            clauses.append(f"{column} < ?")
            params.append(_iso(end + timedelta(days=1)))
    return clauses, params


def to_json(value: Any) -> str:
    """Serialize a JSON column value (lists, dicts, numbers), keeping unicode readable."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InputError(f"value cannot be stored as JSON: {exc}") from None


def _json_default(obj: Any) -> Any:
    """JSON fallback for dataclasses, numpy scalars, sets and tuples."""
    # Dataclasses (Controls, DecodingParams, AdapterWeights) and numpy scalars show up in settings.
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def from_json(text: str | None, default: Any = None) -> Any:
    """Parse a JSON column; NULL or damaged values give `default` instead of an exception."""
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def decode_row(row: dict, json_columns: tuple[str, ...], defaults: dict | None = None) -> dict:
    """Copy of a database row with its JSON columns parsed."""
    out = dict(row)
    defaults = defaults or {}
    for col in json_columns:
        if col in out:
            out[col] = from_json(out[col], defaults.get(col))
    return out
