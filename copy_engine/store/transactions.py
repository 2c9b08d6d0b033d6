"""All-or-nothing writes and the time stamp they record, shared by db.py, migrations and every store module.

`transaction` takes the write lock up front (BEGIN IMMEDIATE) so a transaction never has to upgrade a read lock
mid-way, which SQLite cannot wait for; the busy timeout set by db.open_db makes each attempt wait for the lock.
This module imports nothing from the store, so db.py and migrations.py can both import it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlite_utils

from copy_engine.errors import DatabaseBusyError

# After the busy timeout runs out, BEGIN is tried again after each of these pauses;
# imports write in short batches, so a writer that still finds the lock taken
# after ~15 s faces something stuck (another program, a hung process).
LOCK_RETRY_PAUSES_S = (0.5, 1.0)
BUSY_MESSAGE = (
    "the database is busy: another import or save is still writing. Nothing was changed; try again in a moment"
)


def is_busy(exc: BaseException) -> bool:
    """Whether `exc` is SQLite's 'database is locked' / 'busy' (lock contention, not damage)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _begin_immediate(db: sqlite_utils.Database) -> None:
    """BEGIN IMMEDIATE, retried after short pauses while another writer holds the lock.

    Each attempt already waits up to the busy timeout inside SQLite; when every
    attempt fails, DatabaseBusyError carries a message fit for the user.
    """
    for pause in (*LOCK_RETRY_PAUSES_S, None):
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            if pause is None:
                raise DatabaseBusyError(BUSY_MESSAGE) from None
            time.sleep(pause)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """All-or-nothing block: commits on success, rolls back on any exception.

    The outermost block starts with BEGIN IMMEDIATE (takes the write lock, waiting
    up to the busy timeout, then retrying; DatabaseBusyError when the lock stays
    taken); nested blocks become savepoints via `db.atomic()`.
    sqlite-utils write methods called inside join the open transaction.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    _begin_immediate(db)
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        try:
            db.conn.execute("COMMIT")
        except BaseException as exc:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            if is_busy(exc):
                raise DatabaseBusyError(BUSY_MESSAGE) from None
            raise


def now_iso() -> str:
    """Current UTC time as an ISO 8601 string (second precision), the format of every *_at column."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
