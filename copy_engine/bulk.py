"""Bulk jobs: copy for a whole catalog, resumable after any interruption.

A job is a fixed list of products (from a catalog CSV, the whole database, or
a selection) and one set of settings (channels, n, sliders, seed). Its state
lives in SQLite (tables bulk_jobs, bulk_job_items, bulk_job_variants), so the
process running it can die at any moment (Ctrl-C, kill -9, power cut, a closed
browser tab) and a rerun continues where it stopped:

- each product's variants, their draft favourites and its done-mark are
  committed in ONE transaction, so a product is either wholly written or not
  at all, and a product already marked done is never generated again;
- the output CSV is written from the database at the end (complete and well
  formed whatever happened before), never appended to while generating.

`workers` products are in flight at once, each in its own thread calling
`generate()`: a backend that batches concurrent requests (llama.cpp's
continuous batching, a pool of servers behind one URL) serves them together.
Such a generator says so with a `max_concurrency` attribute (how many
requests it serves at once); its calls then overlap while the local scorers
(embedder, CTR predictor: torch on this machine's cores) take turns. One
without it (the in-process transformers generator) gets one product at a
time, because several torch threads on a few CPU cores thrash (measured: 3x
slower at 4 workers on this 2-core CPU, README "Bulk"). Only the runner's own
thread touches the database; workers only generate.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from copy_engine.channels import get_channel
from copy_engine.controls import Controls
from copy_engine.errors import CopyLabError, InputError

MAX_WORKERS = 64
STALE_AFTER_S = 30.0  # a running job whose worker has been silent this long is taken to be dead
POLL_S = 1.0  # how often the runner checks for pause/cancel and writes its heartbeat
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
SCORE_COLUMNS = ("overall", "predicted_ctr", "quality", "faithfulness")


class BulkJobError(CopyLabError):
    """A job stopped on an unexpected failure; what was written is kept and a rerun resumes it."""


@dataclass(frozen=True)
class BulkSettings:
    """What a bulk job writes for every product (part of the job's identity)."""

    channels: tuple[str, ...]  # channels to write for, in CSV order
    n: int = 4  # variants per product and channel (1-8)
    sentiment: float = 0.0  # slider: -1 calm … +1 enthusiastic
    creativity: float = 0.5  # slider: 0 literal … 1 bold
    cta: float = 0.5  # slider: 0 no call to action … 1 strong
    seed: int = 0  # sampling seed, the same for every product (prompts differ)
    limit: int | None = None  # only the first `limit` products of the source

    def __post_init__(self) -> None:
        channels = tuple(self.channels or ())
        if not channels:
            raise InputError("choose at least one channel")
        for c in channels:
            get_channel(c)
        if len(set(channels)) != len(channels):
            raise InputError("a channel is listed twice")
        object.__setattr__(self, "channels", channels)
        if isinstance(self.n, bool) or not isinstance(self.n, int) or not 1 <= self.n <= 8:
            raise InputError(f"--n must be between 1 and 8, got {self.n!r}")
        self.controls()  # validates the sliders
        bad_limit = isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1
        if self.limit is not None and bad_limit:
            raise InputError(f"--limit must be a whole number of at least 1, got {self.limit!r}")

    def controls(self) -> Controls:
        """The sliders as the engine takes them."""
        return Controls(float(self.sentiment), float(self.creativity), float(self.cta))

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict) -> "BulkSettings":
        """Settings as stored with a job."""
        keys = ("n", "sentiment", "creativity", "cta", "seed", "limit")
        return cls(channels=tuple(data.get("channels") or ()), **{k: data[k] for k in keys if k in data})


@dataclass
class Engine:
    """The models a job uses; None means the process-wide default (tests pass fakes)."""

    generator: object = None  # TextGenerator (copy_engine/generator.py protocol)
    embedder: object = None  # sentence embedder for novelty and diversity
    ctr_predictor: object = None  # click-through predictor

    def resolved(self) -> "Engine":
        """This engine with the defaults loaded, here, in one thread (loading is not thread-safe)."""
        generator, embedder, ctr = self.generator, self.embedder, self.ctr_predictor
        if generator is None:
            from copy_engine.generator import get_default_generator

            generator = get_default_generator()
        if embedder is None:
            from copy_engine.embeddings import get_embedder

            embedder = get_embedder()
        if ctr is None:
            from copy_engine.ctr import get_default_predictor

            try:
                ctr = get_default_predictor()
            except CopyLabError:
                ctr = None  # generate() then scores without CTR and says why
        # The first call of each loads lazily inside it; do it once here, not in W threads at once.
        embedder.encode(["warm up"])
        if ctr is not None:
            try:
                ctr.percentile(["warm up"])
            except CopyLabError:
                ctr = None
        return Engine(generator, embedder, ctr)


@dataclass
class JobProgress:
    """Where a job stands (what the CLI prints and the page shows)."""

    job_id: str
    status: str  # pending, running, paused, cancelled, done or failed
    total: int  # products in the job
    done: int  # products written
    skipped: int  # products skipped, with a reason
    per_minute: float | None  # products finished per minute in the current (or last) run
    eta_s: float | None  # seconds left at that rate
    alive: bool  # its runner is alive (see worker_alive)
    error: str = ""  # why it failed, if it did
    worker: str = ""  # host:pid of the last process that ran it

    @property
    def finished(self) -> int:
        """Products no longer pending."""
        return self.done + self.skipped

    @property
    def pending(self) -> int:
        return self.total - self.finished

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0

    def line(self) -> str:
        """One progress line: products done / total, products per minute, ETA."""
        rate = f"{self.per_minute:.1f} products/min" if self.per_minute else "- products/min"
        eta = format_seconds(self.eta_s) if self.eta_s is not None else "-"
        skipped = f" ({self.skipped} skipped)" if self.skipped else ""
        return f"[{self.job_id}] {self.finished}/{self.total} products{skipped} · {rate} · ETA {eta}"


def format_seconds(seconds: float | None) -> str:
    """'1h 05m', '4m 10s' or '12s'."""
    if seconds is None:
        return "-"
    s = int(round(max(0.0, seconds)))
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s}s"


# ---------------------------------------------------------------- creating jobs


def _now() -> str:
    from copy_engine.store.transactions import now_iso

    return now_iso()


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\0")
    return h.hexdigest()


def _check_name(name: str | None) -> str | None:
    if name is None or name == "":
        return None
    if not isinstance(name, str) or not JOB_NAME.match(name):
        raise InputError(
            f"job name {name!r} must be 1-80 letters, digits, '.', '_' or '-' (starting with a letter or digit)"
        )
    return name


def _existing_job(db, job_id: str, fingerprint: str, named: bool) -> str | None:
    """job_id when that job exists with this fingerprint; InputError when a named job differs; else None."""
    row = next(db.query("SELECT settings FROM bulk_jobs WHERE id = ?", [job_id]), None)
    if row is None:
        return None
    stored = json.loads(row["settings"] or "{}").get("fingerprint")
    if stored != fingerprint:
        if named:
            raise InputError(
                f"job {job_id!r} was started with another catalog or other settings; "
                "rerun it with those, or choose another --job name"
            )
        return None  # unreachable in practice: the id is the fingerprint's hash
    return job_id


def _insert_job(db, job_id: str, source: str, settings: BulkSettings, fingerprint: str, items: list[dict]) -> None:
    """The job row and its items (inside the caller's transaction)."""
    now = _now()
    stored = {**settings.to_dict(), "fingerprint": fingerprint}
    db.execute(
        "INSERT INTO bulk_jobs (id, source, settings, status, total, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [job_id, source, json.dumps(stored, ensure_ascii=False), "pending", len(items), now, now],
    )
    for pos, item in enumerate(items):
        db.execute(
            "INSERT INTO bulk_job_items (job_id, position, row_number, product_id, product_name, status, reason, "
            "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [job_id, pos, item.get("row_number"), item.get("product_id"), item.get("product_name", ""),
             "skipped" if item.get("reason") else "pending", item.get("reason", ""),
             now if item.get("reason") else None],
        )  # fmt: skip


def create_job_from_catalog(db, catalog: str | Path, settings: BulkSettings, name: str | None = None) -> str:
    """The job for a catalog CSV (in the Products import's format) and these settings; returns its id.

    The id is `name`, or 'bulk-' plus a hash of the file's bytes and the
    settings, so running the same command again finds the same job. A new job
    imports the catalog's usable products into the database (a product already
    there, same name and brand, is reused) and records every row, unusable ones
    as skipped with the reason, all in one transaction.
    """
    from copy_engine import catalog as cat
    from copy_engine.store.transactions import transaction
    from copy_engine.store.products import add_product, find_product
    from copy_engine.csvtext import read_bytes

    name = _check_name(name)
    path = Path(catalog)
    if not path.is_file():
        raise InputError(f"catalog not found: {catalog}")
    data = read_bytes(path, cat.MAX_BYTES)
    fingerprint = _digest("csv", hashlib.sha256(data).hexdigest(), settings.to_dict())
    job_id = name or f"bulk-{fingerprint[:12]}"
    if _existing_job(db, job_id, fingerprint, named=bool(name)):
        return job_id
    rows = cat.read_catalog_rows(data, limit=settings.limit)
    with transaction(db):
        if _existing_job(db, job_id, fingerprint, named=bool(name)):  # another process made it meanwhile
            return job_id
        items = []
        for r in rows:
            if r.product is None:
                items.append({"row_number": r.row_number, "product_name": r.name, "reason": r.reason})
                continue
            stored = find_product(db, r.product.name, r.product.brand) or add_product(
                db, r.product, source=f"csv:{path.name}"
            )
            items.append({"row_number": r.row_number, "product_id": stored.id, "product_name": stored.name})
        _insert_job(db, job_id, f"csv:{path.name}", settings, fingerprint, items)
    return job_id


def create_job_from_products(
    db, product_ids: Sequence[int] | None, settings: BulkSettings, name: str | None = None, label: str = ""
) -> str:
    """The job for stored products (`None`: every product in the database, by id) and these settings.

    The id is `name`, or 'bulk-' plus a hash of the products' stored contents
    and the settings. `label` says in the job list where the products came from.
    """
    from copy_engine.store.transactions import transaction

    name = _check_name(name)
    if product_ids is None:
        rows = list(db.query("SELECT * FROM products ORDER BY id"))
        label = label or "all products"
    else:
        ids = list(dict.fromkeys(int(i) for i in product_ids))
        marks = ",".join("?" * len(ids))
        found = {r["id"]: r for r in db.query(f"SELECT * FROM products WHERE id IN ({marks})", ids)} if ids else {}
        missing = [i for i in ids if i not in found]
        if missing:
            raise InputError(f"no product with id {missing[0]}")
        rows = [found[i] for i in ids]
        label = label or f"{len(rows)} selected products"
    if not rows:
        raise InputError("there are no products to write for; import a catalog first")
    if settings.limit is not None:
        rows = rows[: settings.limit]
    keys = ("id", "name", "brand", "category", "features", "price", "description")
    contents = [{k: r[k] for k in keys} for r in rows]
    fingerprint = _digest("products", contents, settings.to_dict())
    job_id = name or f"bulk-{fingerprint[:12]}"
    if _existing_job(db, job_id, fingerprint, named=bool(name)):
        return job_id
    with transaction(db):
        if _existing_job(db, job_id, fingerprint, named=bool(name)):
            return job_id
        items = [{"product_id": r["id"], "product_name": r["name"]} for r in rows]
        _insert_job(db, job_id, label, settings, fingerprint, items)
    return job_id


# ---------------------------------------------------------------- reading jobs


def get_job(db, job_id: str) -> dict:
    """A bulk_jobs row with settings parsed; InputError when there is none."""
    row = next(db.query("SELECT * FROM bulk_jobs WHERE id = ?", [job_id]), None)
    if row is None:
        raise InputError(f"no bulk job {job_id!r}")
    row["settings"] = json.loads(row["settings"] or "{}")
    return row


def list_jobs(db, limit: int = 50) -> list[dict]:
    """Most recent jobs first, settings parsed."""
    rows = list(db.query("SELECT * FROM bulk_jobs ORDER BY created_at DESC, rowid DESC LIMIT ?", [int(limit)]))
    for r in rows:
        r["settings"] = json.loads(r["settings"] or "{}")
    return rows


def _age_s(iso: str | None) -> float | None:
    if not iso:
        return None
    return (datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds()


def job_progress(db, job_id: str) -> JobProgress:
    """Counts, rate (products per minute in the current or last run) and ETA of a job."""
    job = get_job(db, job_id)
    counts = dict(
        (r["status"], r["c"])
        for r in db.query("SELECT status, count(*) AS c FROM bulk_job_items WHERE job_id = ? GROUP BY status", [job_id])
    )
    done, skipped = counts.get("done", 0), counts.get("skipped", 0)
    total = job["total"]
    alive = job["status"] == "running" and worker_alive(job["worker"], job["heartbeat_at"])
    per_minute = eta = None
    if job["session_started_at"]:
        end = job["finished_at"] if job["status"] == "done" and job["finished_at"] else job["heartbeat_at"]
        elapsed = (
            datetime.fromisoformat(end) - datetime.fromisoformat(job["session_started_at"])
        ).total_seconds() if end else 0.0  # fmt: skip
        if alive:
            elapsed = _age_s(job["session_started_at"]) or elapsed
        finished_now = done + skipped - job["session_done_before"]
        if finished_now > 0 and elapsed > 0:
            per_minute = finished_now / elapsed * 60
            eta = (total - done - skipped) / per_minute * 60
    return JobProgress(job_id, job["status"], total, done, skipped, per_minute, eta, alive, job["error"], job["worker"])


def job_summary(db, job_id: str) -> dict:
    """What a job wrote: progress, skipped products with reasons, variants and mean scores.

    Mean scores are over every variant written (None where no variant has that score).
    """
    progress = job_progress(db, job_id)
    skipped = list(
        db.query(
            "SELECT position, row_number, product_id, product_name, reason FROM bulk_job_items "
            "WHERE job_id = ? AND status = 'skipped' ORDER BY position",
            [job_id],
        )
    )
    notes = list(
        db.query(
            "SELECT position, product_name, reason FROM bulk_job_items WHERE job_id = ? AND status = 'done' "
            "AND reason != '' ORDER BY position",
            [job_id],
        )
    )
    sums: dict[str, list[float]] = {k: [] for k in SCORE_COLUMNS}
    count = 0
    for r in db.query("SELECT scores FROM bulk_job_variants WHERE job_id = ?", [job_id]):
        count += 1
        scores = json.loads(r["scores"] or "{}")
        for k in SCORE_COLUMNS:
            if isinstance(scores.get(k), (int, float)):
                sums[k].append(float(scores[k]))
    means = {k: (sum(v) / len(v) if v else None) for k, v in sums.items()}
    return {"progress": progress, "skipped": skipped, "notes": notes, "variants": count, "mean_scores": means}


# ---------------------------------------------------------------- pausing, cancelling


def request_stop(db, job_id: str, status: str) -> None:
    """Ask a job to pause or cancel ('paused' / 'cancelled').

    The runner sees it within POLL_S, finishes and commits the products in
    flight (nothing generated is lost) and stops. A job that is done stays done.
    """
    from copy_engine.store.transactions import transaction

    if status not in ("paused", "cancelled"):
        raise InputError(f"a job can be paused or cancelled, not {status!r}")
    with transaction(db):
        job = get_job(db, job_id)
        if job["status"] == "done":
            return
        db.execute("UPDATE bulk_jobs SET status = ?, updated_at = ? WHERE id = ?", [status, _now(), job_id])


# ---------------------------------------------------------------- running


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def worker_alive(worker: str, heartbeat_at: str | None) -> bool:
    """Whether the runner named `worker` (host:pid:thread) is alive.

    On this host the process (and, in this process, the thread) is checked
    directly, so a killed run is recognised at once; a runner on another host
    counts as alive while its heartbeat is younger than STALE_AFTER_S.
    """
    age = _age_s(heartbeat_at)
    if not worker or age is None or age >= STALE_AFTER_S:
        return False
    host, _, rest = worker.partition(":")
    pid_text, _, thread_text = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return any(str(t.ident) == thread_text and t.is_alive() for t in threading.enumerate())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _claim(db, job_id: str, me: str) -> None:
    """Mark the job running in this runner, unless another live runner has it."""
    from copy_engine.store.transactions import transaction

    with transaction(db):
        job = get_job(db, job_id)
        if job["status"] == "running" and job["worker"] != me and worker_alive(job["worker"], job["heartbeat_at"]):
            raise InputError(f"job {job_id!r} is already running in {job['worker'].rsplit(':', 1)[0]}")
        finished = db.execute(
            "SELECT count(*) FROM bulk_job_items WHERE job_id = ? AND status != 'pending'", [job_id]
        ).fetchone()[0]
        now = _now()
        db.execute(
            "UPDATE bulk_jobs SET status = 'running', worker = ?, heartbeat_at = ?, session_started_at = ?, "
            "session_done_before = ?, error = '', updated_at = ? WHERE id = ?",
            [me, now, now, finished, now, job_id],
        )


def _still_mine(db, job_id: str, me: str) -> bool:
    """Heartbeat, and whether this runner should go on (not paused, cancelled or taken over)."""
    from copy_engine.store.transactions import transaction

    with transaction(db):
        row = db.execute("SELECT status, worker FROM bulk_jobs WHERE id = ?", [job_id]).fetchone()
        if row is None or row[0] != "running" or row[1] != me:
            return False
        db.execute("UPDATE bulk_jobs SET heartbeat_at = ? WHERE id = ?", [_now(), job_id])
    return True


@dataclass
class _Task:
    position: int
    product: object  # Product
    existing: dict = field(default_factory=dict)  # channel -> texts already saved (novelty)


@dataclass
class _Outcome:
    results: list = field(default_factory=list)  # (channel, GenerationResult)
    skipped: list = field(default_factory=list)  # (channel, reason)
    seconds: float = 0.0


def concurrency(generator, workers: int) -> int:
    """How many products may be generated at once: `workers`, capped by the generator's `max_concurrency`.

    A generator whose `max_concurrency` is None serves one request at a time.
    """
    limit = generator.max_concurrency
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        limit = 1
    return max(1, min(int(workers), limit))


class _Gated:
    """A proxy of a model whose public methods hold `gate` while they run (attributes pass through)."""

    def __init__(self, inner, gate, methods: tuple[str, ...] | None = None):
        self._inner, self._gate, self._methods = inner, gate, methods

    def __getattr__(self, name: str):
        attr = getattr(self._inner, name)
        gated = name in self._methods if self._methods is not None else not name.startswith("_")
        if not gated or not callable(attr):
            return attr

        def call(*args, **kwargs):
            with self._gate:
                return attr(*args, **kwargs)

        return call


def _work_engine(engine: Engine, workers: int) -> tuple[Engine, threading.Semaphore]:
    """The engine the worker threads use, and the gate a whole product holds.

    With a batching generator, up to `concurrency()` sampling requests overlap
    and the local scorers take turns; otherwise a whole product holds the one gate.
    """
    limit = concurrency(engine.generator, workers)
    if limit == 1:
        return engine, threading.BoundedSemaphore(1)
    scoring = threading.RLock()
    gated = Engine(
        _Gated(engine.generator, threading.BoundedSemaphore(limit), ("complete",)),
        _Gated(engine.embedder, scoring),
        _Gated(engine.ctr_predictor, scoring) if engine.ctr_predictor is not None else None,
    )
    return gated, threading.BoundedSemaphore(workers)


def _generate_product(task: _Task, settings: BulkSettings, engine: Engine, gate: threading.Semaphore) -> _Outcome:
    """Every channel's variants for one product (runs in a worker thread; no database here)."""
    with gate:
        return _generate_product_now(task, settings, engine)


def _generate_product_now(task: _Task, settings: BulkSettings, engine: Engine) -> _Outcome:
    from copy_engine.generate import GenerateOptions, generate

    t0 = time.perf_counter()
    out = _Outcome()
    options = GenerateOptions(n=settings.n, seed=settings.seed)
    for channel in settings.channels:
        try:
            result = generate(
                task.product, channel, settings.controls(), options,
                generator=engine.generator, embedder=engine.embedder, ctr_predictor=engine.ctr_predictor,
                existing=task.existing.get(channel, []),
            )  # fmt: skip
        except InputError as exc:
            out.skipped.append((channel, str(exc)))
            continue
        if result.variants:
            out.results.append((channel, result))
        else:
            out.skipped.append((channel, "the model produced no usable copy"))
    out.seconds = time.perf_counter() - t0
    return out


def _skip_reason(skipped: list[tuple[str, str]]) -> str:
    if all("no usable copy" in r for _, r in skipped):
        return "nothing usable after the sampling rounds (" + ", ".join(c for c, _ in skipped) + ")"
    return "; ".join(f"{c}: {r}" for c, r in skipped)


def _mark(db, job_id: str, position: int, status: str, reason: str, seconds: float | None = None) -> None:
    db.execute(
        "UPDATE bulk_job_items SET status = ?, reason = ?, seconds = ?, finished_at = ? "
        "WHERE job_id = ? AND position = ?",
        [status, reason, None if seconds is None else round(seconds, 3), _now(), job_id, position],
    )


def _commit(db, job_id: str, settings: BulkSettings, task: _Task, outcome: _Outcome) -> bool:
    """Write one product's variants, favourites and done-mark in one transaction; False if already written."""
    from copy_engine.store.db import to_json
    from copy_engine.store.transactions import transaction
    from copy_engine.store.favourites import save_favourite
    from copy_engine.store.runs import record_run

    product = task.product
    try:
        with transaction(db):
            row = db.execute(
                "SELECT status FROM bulk_job_items WHERE job_id = ? AND position = ?", [job_id, task.position]
            ).fetchone()
            if row is None or row[0] != "pending":
                return False  # another runner wrote it; never twice
            if not outcome.results:
                _mark(db, job_id, task.position, "skipped", _skip_reason(outcome.skipped), outcome.seconds)
                return True
            for channel, result in outcome.results:
                run_settings = {**result.settings.to_dict(), "duration_s": round(result.seconds, 3)}
                rows = [v.run_row(i) for i, v in enumerate(result.variants, 1)]
                run_id = record_run(db, product.id, run_settings, rows)
                variant_ids = [
                    r[0] for r in db.execute("SELECT id FROM variants WHERE run_id = ? ORDER BY rank", [run_id])
                ]
                fav_settings = result.settings.favourite_dict(product.id, job_id=job_id, edited=False)
                for rank, (variant, variant_id) in enumerate(zip(result.variants, variant_ids), 1):
                    fid = save_favourite(
                        db, product.id, channel, variant.text, variant.scores, fav_settings,
                        run_id=run_id, variant_id=variant_id, job_id=job_id,
                    )  # fmt: skip
                    db.execute(
                        "INSERT INTO bulk_job_variants (job_id, position, channel, rank, favourite_id, product_id, "
                        "product_name, text, scores, flags, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [job_id, task.position, channel, rank, fid, product.id, product.name, variant.text,
                         to_json(variant.scores), to_json([f.to_dict() for f in variant.flags]), to_json(fav_settings)],
                    )  # fmt: skip
            _mark(db, job_id, task.position, "done", _skip_reason(outcome.skipped) if outcome.skipped else "",
                  outcome.seconds)  # fmt: skip
    except InputError as exc:  # e.g. the product was deleted while it was being written for
        with transaction(db):
            _mark(db, job_id, task.position, "skipped", f"could not be saved: {exc}", outcome.seconds)
    return True


class _Pool:
    """W daemon threads running `fn` on tasks; daemon so Ctrl-C never waits for a generation to end."""

    def __init__(self, workers: int, fn: Callable):
        self.tasks: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self.threads = [threading.Thread(target=self._loop, args=(fn,), daemon=True, name=f"bulk-{i}")
                        for i in range(workers)]  # fmt: skip
        for t in self.threads:
            t.start()

    def _loop(self, fn: Callable) -> None:
        while True:
            task = self.tasks.get()
            if task is None:
                return
            try:
                self.results.put((task, fn(task), None))
            except BaseException as exc:  # noqa: BLE001 - handed to the runner, which decides
                self.results.put((task, None, exc))

    def close(self) -> None:
        for _ in self.threads:
            self.tasks.put(None)


def run_job(
    db,
    job_id: str,
    *,
    workers: int = 1,
    engine: Engine | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
    poll_s: float = POLL_S,
) -> JobProgress:
    """Run (or resume) a job until every product is written or skipped, or it is paused or cancelled.

    `workers` products are generated at once. Each finished product is
    committed with its done-mark in one transaction; a product still pending
    after any interruption is generated again on the next run, one marked done
    never is. A product whose copy is unusable for every channel is skipped
    with the reason and the job goes on. An unexpected failure (a model crash)
    stops the job after the products in flight are committed, marks it
    failed and raises BulkJobError; running it again resumes it.
    `on_progress` is called after every product (and once at the start).
    """
    from copy_engine.store.transactions import transaction
    from copy_engine.store.favourites import texts_saved_for_product
    from copy_engine.store.products import get_product

    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InputError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers!r}")
    job = get_job(db, job_id)
    settings = BulkSettings.from_dict(job["settings"])
    report = on_progress or (lambda p: None)
    if job["status"] == "done":
        report(job_progress(db, job_id))
        return job_progress(db, job_id)
    engine = (engine or Engine()).resolved()  # before claiming: a model that cannot load leaves the job as it was
    me = _worker_name()
    _claim(db, job_id, me)
    report(job_progress(db, job_id))
    pending = deque(db.query(
        "SELECT position, product_id FROM bulk_job_items WHERE job_id = ? AND status = 'pending' ORDER BY position",
        [job_id]))  # fmt: skip
    work, gate = _work_engine(engine, workers)
    pool = _Pool(min(workers, max(1, len(pending))), lambda task: _generate_product(task, settings, work, gate))
    in_flight, stopping, failure = 0, False, None
    try:
        while True:
            while not stopping and pending and in_flight < workers:
                item = pending.popleft()
                try:
                    product = get_product(db, item["product_id"]) if item["product_id"] is not None else None
                except InputError:
                    product = None
                if product is None:
                    with transaction(db):
                        _mark(db, job_id, item["position"], "skipped", "the product is no longer in the database")
                    continue
                existing = {c: texts_saved_for_product(db, product.id, c) for c in settings.channels}
                pool.tasks.put(_Task(item["position"], product, existing))
                in_flight += 1
            if in_flight == 0:
                break
            try:
                task, outcome, exc = pool.results.get(timeout=poll_s)
            except queue.Empty:
                if not _still_mine(db, job_id, me):
                    stopping = True
                continue
            in_flight -= 1
            if exc is not None:
                if not isinstance(exc, Exception):
                    raise exc
                failure = failure or exc
                stopping = True  # let the others in flight finish and be saved
                continue
            _commit(db, job_id, settings, task, outcome)
            if in_flight or pending:  # the last line is printed once the job is marked done
                report(job_progress(db, job_id))
            if not _still_mine(db, job_id, me):
                stopping = True
    except (KeyboardInterrupt, SystemExit):
        # Ctrl-C: what is committed stays; paused, so the page offers Resume.
        _release(db, job_id, me, "paused", "interrupted")
        raise
    except BaseException as exc:
        _release(db, job_id, me, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        pool.close()
    if failure is not None:
        message = f"{type(failure).__name__}: {failure}"
        _release(db, job_id, me, "failed", message)
        raise BulkJobError(
            f"job {job_id!r} stopped: {message}; what was written is kept, run it again to resume"
        ) from failure
    with transaction(db):
        row = db.execute("SELECT status, worker FROM bulk_jobs WHERE id = ?", [job_id]).fetchone()
        left = db.execute(
            "SELECT count(*) FROM bulk_job_items WHERE job_id = ? AND status = 'pending'", [job_id]
        ).fetchone()[0]
        if row and row[1] == me and row[0] == "running" and left == 0:
            now = _now()
            db.execute(
                "UPDATE bulk_jobs SET status = 'done', heartbeat_at = ?, finished_at = ?, updated_at = ? WHERE id = ?",
                [now, now, now, job_id],
            )
    progress = job_progress(db, job_id)
    if progress.status == "done":
        report(progress)
    return progress


def _release(db, job_id: str, me: str, status: str, error: str) -> None:
    """Leave the job in `status` if this runner still holds it (best effort: the database may be gone)."""
    from copy_engine.store.transactions import transaction

    try:
        with transaction(db):
            db.execute(
                "UPDATE bulk_jobs SET status = ?, error = ?, updated_at = ? WHERE id = ? AND worker = ? "
                "AND status = 'running'",
                [status, error, _now(), job_id, me],
            )
    except Exception:  # noqa: BLE001 - already failing; the stale heartbeat tells the same story
        pass


# ---------------------------------------------------------------- output


def job_csv(db, job_id: str) -> str:
    """The job's variants as CSV text, one row per variant in catalog, channel and rank order.

    Columns: product_id, product_name, channel, rank, text, overall,
    predicted_ctr, quality (only when some variant has a quality score),
    faithfulness, flags (JSON), settings (JSON). Written by the library
    export's writer: formula-safe cells, CRLF; save it as export.CSV_ENCODING.
    """
    from copy_engine.store.export import csv_text

    job = get_job(db, job_id)
    order = {c: i for i, c in enumerate(job["settings"].get("channels") or [])}
    rows = list(db.query("SELECT * FROM bulk_job_variants WHERE job_id = ? ORDER BY position, rank", [job_id]))
    rows.sort(key=lambda r: (r["position"], order.get(r["channel"], len(order)), r["rank"]))
    parsed = [(r, json.loads(r["scores"] or "{}")) for r in rows]
    with_quality = any("quality" in s for _, s in parsed)
    score_cols = [c for c in SCORE_COLUMNS if c != "quality" or with_quality]
    header = ["product_id", "product_name", "channel", "rank", "text", *score_cols, "flags", "settings"]
    out = []
    for r, scores in parsed:
        cells = [r["product_id"], r["product_name"], r["channel"], r["rank"], r["text"]]
        cells += [_score_cell(scores.get(c)) for c in score_cols]
        cells += [r["flags"], r["settings"]]
        out.append(cells)
    return csv_text(header, out)


def _score_cell(value):
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, (int, float)):
        return round(float(value), 4)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def write_job_csv(db, job_id: str, path: str | Path) -> int:
    """Write the job's CSV to `path` atomically (a reader never sees half a file); returns the variant rows."""
    from copy_engine.store.export import CSV_ENCODING

    text = job_csv(db, job_id)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding=CSV_ENCODING, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc}") from None
    return db.execute("SELECT count(*) FROM bulk_job_variants WHERE job_id = ?", [job_id]).fetchone()[0]


# ---------------------------------------------------------------- in the background (the app)

_BACKGROUND: dict[tuple[str, str], threading.Thread] = {}
_BACKGROUND_LOCK = threading.Lock()


def running_here(db_path: str | Path, job_id: str) -> bool:
    """Whether this process has a live background runner for the job."""
    t = _BACKGROUND.get((str(db_path), job_id))
    return t is not None and t.is_alive()


def start_in_background(db_path: str | Path, job_id: str, workers: int = 1, engine: Engine | None = None) -> bool:
    """Run the job in a daemon thread of this process with its own database connection; False if one already runs.

    The thread outlives the page that started it (a closed browser tab loses
    nothing); its state is in SQLite, so any page can show its progress, and
    if the whole process dies the job resumes from the database.
    """
    key = (str(db_path), job_id)
    with _BACKGROUND_LOCK:
        if running_here(db_path, job_id):
            return False

        def target() -> None:
            import logging

            from copy_engine.store import open_db

            db = open_db(db_path)
            try:
                run_job(db, job_id, workers=workers, engine=engine)
            except CopyLabError as exc:
                logging.getLogger("copylab.bulk").warning("bulk job %s: %s", job_id, exc)
                # run_job records failures once it holds the job; before that (a model that
                # cannot load) say it here, so the page can show why nothing happens.
                with contextlib.suppress(Exception):
                    db.execute(
                        "UPDATE bulk_jobs SET error = ? WHERE id = ? AND status != 'running'", [str(exc), job_id]
                    )
                    db.conn.commit()
            except Exception:  # noqa: BLE001 - a background thread must report, not vanish
                logging.getLogger("copylab.bulk").exception("bulk job %s failed", job_id)
            finally:
                db.conn.close()

        thread = threading.Thread(target=target, daemon=True, name=f"bulk-job-{job_id}")
        _BACKGROUND[key] = thread
        thread.start()
    return True
