"""The Bulk page's choices as typed objects, and the calls into copy_engine.bulk."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from copy_engine import bulk
from copy_engine.errors import InputError
from copy_engine.product import Product
from copy_engine.settings import Settings
from copy_engine.store.products import list_products, search_products
from ui import engine

SELECTIONS = ("All products", "A category", "A search", "Selected products")
LIVE = ("running", "pausing", "cancelling")  # shown statuses during which the page refreshes itself
CLAIM_WAIT_S = 10.0  # how long Start/Resume wait for the background runner to take the job


@dataclass(frozen=True)
class BulkRequest:
    """Everything the Start button needs, gathered from the page's widgets."""

    selection: str  # one of SELECTIONS
    category: str  # the top category, for "A category"
    query: str  # the search text, for "A search"
    picked: tuple[int, ...]  # product ids, for "Selected products"
    settings: bulk.BulkSettings  # channels, n, sliders (validated on creation)
    workers: int  # products in flight at once
    name: str  # optional job name ('' = a hash of products and settings)


def categories(products: list[Product]) -> list[str]:
    """Top categories present in the catalog, sorted."""
    return sorted({p.top_category for p in products if p.top_category}, key=str.casefold)


def chosen_products(db, request: BulkRequest) -> tuple[list[Product], str]:
    """The products the request selects, and a label saying where they came from."""
    if request.selection == "All products":
        return list_products(db), "all products"
    if request.selection == "A category":
        if not request.category:
            raise InputError("choose a category")
        return [p for p in list_products(db) if p.top_category == request.category], f"category {request.category}"
    if request.selection == "A search":
        if not request.query.strip():
            raise InputError("type something to search for")
        return search_products(db, request.query, limit=None), f"search {request.query.strip()!r}"
    if request.selection == "Selected products":
        wanted = set(request.picked)
        return [p for p in list_products(db) if p.id in wanted], f"{len(wanted)} selected products"
    raise InputError(f"unknown selection {request.selection!r}")


def current_engine() -> bulk.Engine:
    """The app's loaded models (shared with the Draft page) for a background job."""
    return bulk.Engine(engine.get_generator(), engine.get_embedder(), engine.get_ctr_predictor())


def db_path() -> str:
    return str(Settings.from_env().db_path)


def start(db, request: BulkRequest) -> str:
    """Create (or find) the job for the request and run it in the background; returns its id."""
    products, label = chosen_products(db, request)
    if not products:
        raise InputError("no products match this choice")
    if not 1 <= request.workers <= bulk.MAX_WORKERS:
        raise InputError(f"workers must be between 1 and {bulk.MAX_WORKERS}")
    job_id = bulk.create_job_from_products(db, [p.id for p in products], request.settings, request.name or None, label)
    resume(db, job_id, request.workers)
    return job_id


def resume(db, job_id: str, workers: int) -> None:
    """Run a paused, failed or interrupted job again in the background (nothing already written is redone)."""
    if bulk.get_job(db, job_id)["status"] == "done":
        return
    bulk.start_in_background(db_path(), job_id, workers, current_engine())
    # Wait (briefly) for the runner to mark the job running, so the page redraws it as live.
    deadline = time.monotonic() + CLAIM_WAIT_S
    while time.monotonic() < deadline and bulk.running_here(db_path(), job_id):
        if bulk.get_job(db, job_id)["status"] == "running":
            break
        time.sleep(0.05)


def jobs_table(db) -> pd.DataFrame:
    """One row per job: id, status, products finished of total, where the products came from, channels."""
    rows = []
    for j in bulk.list_jobs(db):
        p = bulk.job_progress(db, j["id"])
        rows.append({"job": j["id"], "status": shown_status(p), "products": f"{p.finished}/{p.total}",
                     "skipped": p.skipped, "source": j["source"],
                     "channels": ", ".join(j["settings"].get("channels", [])),
                     "created": j["created_at"][:16].replace("T", " ")})  # fmt: skip
    return pd.DataFrame(rows, columns=["job", "status", "products", "skipped", "source", "channels", "created"])


def shown_status(p: bulk.JobProgress) -> str:
    """The status as a user should read it.

    A 'running' job whose runner died is 'interrupted'; a paused or cancelled
    one whose runner is still finishing its products in flight is 'pausing' or
    'cancelling'.
    """
    if p.status == "running":
        return "running" if p.alive else "interrupted"
    if p.status in ("paused", "cancelled") and bulk.running_here(db_path(), p.job_id):
        return "pausing" if p.status == "paused" else "cancelling"
    return p.status


def skipped_table(summary: dict) -> pd.DataFrame:
    """Skipped products with their reasons (plain text cells)."""
    return pd.DataFrame(
        [{"row": s["row_number"], "product": s["product_name"], "reason": s["reason"]} for s in summary["skipped"]],
        columns=["row", "product", "reason"],
    )
