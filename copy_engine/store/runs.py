"""Generation runs: the settings of one Generate click and the variants it produced."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from copy_engine.channels import get_channel
from copy_engine.errors import InputError
from copy_engine.store.db import decode_row, to_json
from copy_engine.store.transactions import now_iso, transaction
from copy_engine.store.products import get_product

RUN_JSON = ("adapters", "decoding")
VARIANT_JSON = ("scores", "flags")


def _plain(value: Any) -> Any:
    """Settings value reduced to plain JSON types."""
    # Settings may hold dataclasses (AdapterWeights, DecodingParams, Controls); store them as dicts.
    if value is None:
        return None
    return json.loads(to_json(value))


def _number(settings: dict, key: str, kind=float) -> Any:
    """A numeric run setting (top level or under `controls`), or None when absent."""
    value = settings.get(key)
    if value is None and isinstance(settings.get("controls"), dict):
        value = settings["controls"].get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"run setting {key} must be a number, got {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"run setting {key} must be a number, got {value!r}") from None


def record_run(db: sqlite_utils.Database, product_id: int, settings: dict, variants: list[dict]) -> int:
    """Store one generation run and its variants in one transaction; returns the run id.

    `settings` holds channel (required), model, device, adapters, seed, sentiment,
    creativity, cta (or a `controls` dict with them), audience, brand_voice,
    decoding, n and duration_s. Each variant is a dict with `text` and optional
    `scores` (dict), `flags` (list) and `rank`.
    """
    if not isinstance(settings, dict):
        raise InputError("run settings must be a dict")
    settings = _plain(settings)
    channel = get_channel(settings.get("channel") or "").name
    get_product(db, product_id)
    if not isinstance(variants, (list, tuple)):
        raise InputError("variants must be a list")
    rows = []
    for i, v in enumerate(variants, start=1):
        if not isinstance(v, dict) or not isinstance(v.get("text"), str):
            raise InputError(f"variant {i} has no text")
        rank = v.get("rank")
        rows.append(
            {
                "text": v["text"],
                "scores": to_json(v.get("scores") or {}),
                "flags": to_json(v.get("flags") or []),
                "rank": int(rank) if rank is not None else None,
            }
        )
    run = {
        "product_id": product_id,
        "channel": channel,
        "model": settings.get("model"),
        "device": settings.get("device"),
        "adapters": to_json(settings.get("adapters") or {}),
        "seed": _number(settings, "seed", int),
        "sentiment": _number(settings, "sentiment"),
        "creativity": _number(settings, "creativity"),
        "cta": _number(settings, "cta"),
        "audience": str(settings.get("audience") or ""),
        "brand_voice": str(settings.get("brand_voice") or ""),
        "decoding": to_json(settings.get("decoding") or {}),
        "n": _number(settings, "n", int) if settings.get("n") is not None else len(rows),
        "created_at": now_iso(),
        "duration_s": _number(settings, "duration_s"),
    }
    with transaction(db):
        run_id = db["runs"].insert(run).last_pk
        if rows:
            db["variants"].insert_all([{**r, "run_id": run_id} for r in rows])
    return int(run_id)


def get_run(db: sqlite_utils.Database, run_id: int) -> dict:
    """A run as a dict (JSON columns parsed) with its `variants` list ordered by rank."""
    row = next(db.query("SELECT * FROM runs WHERE id = ?", [run_id]), None)
    if row is None:
        raise InputError(f"no run with id {run_id}")
    run = decode_row(row, RUN_JSON, {"adapters": {}, "decoding": {}})
    run["variants"] = [
        decode_row(v, VARIANT_JSON, {"scores": {}, "flags": []})
        for v in db.query("SELECT * FROM variants WHERE run_id = ? ORDER BY rank IS NULL, rank, id", [run_id])
    ]
    return run


def list_runs(db: sqlite_utils.Database, product_id: int | None = None, limit: int = 50) -> list[dict]:
    """Most recent runs first (without variants), optionally for one product."""
    sql = "SELECT * FROM runs"
    params: list = []
    if product_id is not None:
        sql += " WHERE product_id = ?"
        params.append(product_id)
    sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
    params.append(int(limit))
    return [decode_row(r, RUN_JSON, {"adapters": {}, "decoding": {}}) for r in db.query(sql, params)]
