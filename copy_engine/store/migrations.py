"""Ordered, named schema migrations, recorded in the `migrations` table.

Each migration runs in its own transaction together with the row that records
it, so a crash leaves either the whole migration or none of it. Never edit or
reorder a migration that has shipped: append a new one.
"""

from __future__ import annotations

import sqlite_utils

from copy_engine.store.transactions import now_iso, transaction

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_products",
        """
        CREATE TABLE products (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            brand TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL DEFAULT '',
            features TEXT NOT NULL DEFAULT '[]',   -- JSON list of strings
            price TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'manual',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX products_name ON products (name COLLATE NOCASE);
        """,
    ),
    (
        "0002_runs_variants",
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            model TEXT,
            device TEXT,
            adapters TEXT NOT NULL DEFAULT '{}',   -- JSON
            seed INTEGER,
            sentiment REAL,
            creativity REAL,
            cta REAL,
            audience TEXT NOT NULL DEFAULT '',
            brand_voice TEXT NOT NULL DEFAULT '',
            decoding TEXT NOT NULL DEFAULT '{}',   -- JSON
            n INTEGER,
            created_at TEXT NOT NULL,
            duration_s REAL
        );
        CREATE INDEX runs_product ON runs (product_id, created_at);
        CREATE TABLE variants (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            scores TEXT NOT NULL DEFAULT '{}',     -- JSON
            flags TEXT NOT NULL DEFAULT '[]',      -- JSON
            rank INTEGER
        );
        CREATE INDEX variants_run ON variants (run_id);
        """,
    ),
    (
        "0003_favourites",
        """
        CREATE TABLE favourites (
            id INTEGER PRIMARY KEY,
            product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
            run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
            variant_id INTEGER REFERENCES variants (id) ON DELETE SET NULL,
            channel TEXT NOT NULL,
            text TEXT NOT NULL,
            scores TEXT NOT NULL DEFAULT '{}',     -- JSON
            settings TEXT NOT NULL DEFAULT '{}',   -- JSON: everything needed to regenerate
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved', 'rejected')),
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            approved_at TEXT
        );
        CREATE INDEX favourites_product ON favourites (product_id, channel, status);
        CREATE INDEX favourites_created ON favourites (created_at);
        CREATE TABLE favourite_status_history (
            id INTEGER PRIMARY KEY,
            favourite_id INTEGER NOT NULL REFERENCES favourites (id) ON DELETE CASCADE,
            from_status TEXT,
            to_status TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            changed_at TEXT NOT NULL
        );
        CREATE INDEX favourite_history_favourite ON favourite_status_history (favourite_id);
        """,
    ),
    (
        "0004_experiments",
        """
        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'finished')),
            start_date TEXT,
            end_date TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE experiment_arms (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            text TEXT NOT NULL,
            favourite_id INTEGER REFERENCES favourites (id) ON DELETE SET NULL,
            is_control INTEGER NOT NULL DEFAULT 0,
            position INTEGER NOT NULL,
            UNIQUE (experiment_id, name)
        );
        CREATE TABLE experiment_results (
            id INTEGER PRIMARY KEY,
            arm_id INTEGER NOT NULL REFERENCES experiment_arms (id) ON DELETE CASCADE,
            day TEXT,
            impressions INTEGER NOT NULL CHECK (impressions >= 0),
            clicks INTEGER NOT NULL CHECK (clicks >= 0 AND clicks <= impressions),
            conversions INTEGER NOT NULL CHECK (conversions >= 0 AND conversions <= clicks)
        );
        CREATE INDEX experiment_results_arm ON experiment_results (arm_id, day);
        """,
    ),
    (
        # Catalog imports write in short batches into a staging table, then move the
        # rows into products in one short transaction (so other writers never wait
        # long, and a failed or killed import shows nothing half-done).
        "0005_catalog_import_runs",
        """
        CREATE TABLE import_runs (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'staging' CHECK (status IN ('staging', 'done', 'failed')),
            imported INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,              -- touched by every staged batch
            finished_at TEXT
        );
        CREATE TABLE import_staging (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
            row_number INTEGER NOT NULL,           -- spreadsheet row of the file (header = 1)
            name TEXT NOT NULL,
            brand TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL DEFAULT '',
            features TEXT NOT NULL DEFAULT '[]',   -- JSON list of strings
            price TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX import_staging_run ON import_staging (run_id, row_number);
        ALTER TABLE products ADD COLUMN import_run_id INTEGER REFERENCES import_runs (id) ON DELETE SET NULL;
        CREATE INDEX products_import_run ON products (import_run_id)
        """,
    ),
    (
        "0006_bulk_jobs",
        """
        CREATE TABLE bulk_jobs (
            id TEXT PRIMARY KEY,                   -- --job NAME, or bulk-<hash of catalog, channels, settings>
            source TEXT NOT NULL,                  -- 'csv:<file name>' or 'all products'
            settings TEXT NOT NULL DEFAULT '{}',   -- JSON: channels, n, sliders, seed, limit
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'paused', 'cancelled', 'done', 'failed')),
            total INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            worker TEXT NOT NULL DEFAULT '',       -- host:pid of the process running it
            heartbeat_at TEXT,                     -- last sign of life of that process
            session_started_at TEXT,               -- when the current (or last) run of it started
            session_done_before INTEGER NOT NULL DEFAULT 0,  -- products finished before that run
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE TABLE bulk_job_items (
            job_id TEXT NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,             -- order in the catalog (0-based)
            row_number INTEGER,                    -- spreadsheet row of the catalog (header is row 1)
            product_id INTEGER REFERENCES products (id) ON DELETE SET NULL,
            product_name TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'skipped')),
            reason TEXT NOT NULL DEFAULT '',       -- why skipped, or channels that gave nothing
            seconds REAL,
            finished_at TEXT,
            PRIMARY KEY (job_id, position)
        );
        CREATE INDEX bulk_job_items_status ON bulk_job_items (job_id, status);
        CREATE TABLE bulk_job_variants (
            job_id TEXT NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            channel TEXT NOT NULL,
            rank INTEGER NOT NULL,
            favourite_id INTEGER REFERENCES favourites (id) ON DELETE SET NULL,
            product_id INTEGER,
            product_name TEXT NOT NULL,
            text TEXT NOT NULL,
            scores TEXT NOT NULL DEFAULT '{}',     -- JSON, as generated (the favourite may be edited later)
            flags TEXT NOT NULL DEFAULT '[]',      -- JSON
            settings TEXT NOT NULL DEFAULT '{}',   -- JSON
            PRIMARY KEY (job_id, position, channel, rank)  -- a product is never written twice
        );
        ALTER TABLE favourites ADD COLUMN job_id TEXT REFERENCES bulk_jobs (id) ON DELETE SET NULL;
        CREATE INDEX favourites_job ON favourites (job_id);
        """,
    ),
]


def _ensure_table(db: sqlite_utils.Database) -> None:
    """Create the migrations bookkeeping table if missing."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")


def applied_migrations(db: sqlite_utils.Database) -> list[str]:
    """Names of the migrations already applied to `db`, oldest first."""
    _ensure_table(db)
    return [r["name"] for r in db.query("SELECT name FROM migrations ORDER BY rowid")]


def apply_migrations(db: sqlite_utils.Database, migrations: list[tuple[str, str]] | None = None) -> list[str]:
    """Apply, in order, every migration not yet recorded; returns the names applied now.

    Idempotent: running it again applies nothing. Safe when two processes open a
    fresh database at once, because each migration re-checks under the write lock.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    _ensure_table(db)
    done = set(applied_migrations(db))
    applied: list[str] = []
    for name, sql in migrations:
        if name in done:
            continue
        with transaction(db):
            if db.execute("SELECT 1 FROM migrations WHERE name = ?", [name]).fetchone():
                continue  # another process applied it while we waited for the lock
            for statement in _statements(sql):
                db.execute(statement)
            db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", [name, now_iso()])
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """The SQL statements of a migration script, comments removed."""
    # executescript() would COMMIT our transaction first, so run statements one by one.
    # Migrations contain no ';' inside string literals, so a plain split is enough.
    out = []
    for chunk in sql.split(";"):
        lines = [ln.split("--", 1)[0] for ln in chunk.splitlines()]
        stmt = "\n".join(lines).strip()
        if stmt:
            out.append(stmt)
    return out
