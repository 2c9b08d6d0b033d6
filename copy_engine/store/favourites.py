"""Favourites: saved copy with its scores, the settings to regenerate it, and an approval status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlite_utils

from copy_engine.channels import get_channel
from copy_engine.errors import InputError
from copy_engine.store.db import decode_row, time_filter, to_json
from copy_engine.store.transactions import now_iso, transaction
from copy_engine.store.products import get_product

STATUSES = ("draft", "approved", "rejected")
# Approved or rejected copy goes back to draft before it can flip to the other
# decision, except that approved copy may be withdrawn (rejected) directly.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("approved", "rejected"),
    "approved": ("draft", "rejected"),
    "rejected": ("draft",),
}
# Keys `settings` should carry so the copy can be regenerated; missing ones are stored as absent.
SETTINGS_KEYS = (
    "sentiment", "creativity", "cta", "seed", "model", "adapters", "decoding",
    "audience", "brand_voice", "channel", "n",
)  # fmt: skip
_JSON = ("scores", "settings")
_DEFAULTS = {"scores": {}, "settings": {}}


def _decode(row: dict) -> dict:
    """A favourites row with scores and settings parsed."""
    return decode_row(row, _JSON, _DEFAULTS)


def _text(text: Any) -> str:
    """Favourite text stripped, or InputError when empty."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("favourite text is empty")
    return text.strip()


def save_favourite(
    db: sqlite_utils.Database,
    product_id: int,
    channel: str,
    text: str,
    scores: dict | None,
    settings: dict | None,
    run_id: int | None = None,
    variant_id: int | None = None,
    job_id: str | None = None,
) -> int:
    """Save a piece of copy as a draft favourite; returns its id.

    `settings` should hold everything needed to regenerate it (sliders, seed,
    model, adapters, decoding, audience, brand_voice, channel, n); `channel` is
    added to it when absent. `job_id` names the bulk job that wrote it (the
    library filters by it). The creation is recorded in the status history.
    """
    channel = get_channel(channel).name
    text = _text(text)
    get_product(db, product_id)
    settings = dict(settings or {})
    settings.setdefault("channel", channel)
    now = now_iso()
    with transaction(db):
        for table, ref in (("runs", run_id), ("variants", variant_id)):
            if ref is not None and not db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [ref]).fetchone():
                raise InputError(f"no {table[:-1]} with id {ref}")
        fid = (
            db["favourites"]
            .insert(
                {
                    "product_id": product_id,
                    "run_id": run_id,
                    "variant_id": variant_id,
                    "channel": channel,
                    "text": text,
                    "scores": to_json(scores or {}),
                    "settings": to_json(settings),
                    "status": "draft",
                    "note": "",
                    "created_at": now,
                    "updated_at": now,
                    "approved_at": None,
                    "job_id": job_id,
                }
            )
            .last_pk
        )
        _history(db, fid, None, "draft", "saved", now)
    return int(fid)


def _history(db, favourite_id: int, from_status: str | None, to_status: str, note: str, when: str) -> None:
    """Append one row to favourite_status_history."""
    db["favourite_status_history"].insert(
        {"favourite_id": favourite_id, "from_status": from_status, "to_status": to_status,
         "note": note or "", "changed_at": when}
    )  # fmt: skip


def get_favourite(db: sqlite_utils.Database, favourite_id: int) -> dict:
    """One favourite as a dict with scores and settings parsed; InputError if missing."""
    row = next(db.query("SELECT * FROM favourites WHERE id = ?", [favourite_id]), None)
    if row is None:
        raise InputError(f"no favourite with id {favourite_id}")
    return _decode(row)


def list_favourites(
    db: sqlite_utils.Database,
    product_id: int | None = None,
    channel: str | None = None,
    status: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    job_id: str | None = None,
) -> list[dict]:
    """Favourites matching every given filter, newest first.

    `since`/`until` filter on created_at; a date (or 'YYYY-MM-DD') for `until`
    includes that whole day; `job_id` keeps the copy one bulk job wrote. Each
    dict also carries `product_name`.
    """
    where, params = [], []
    if job_id:
        where.append("f.job_id = ?")
        params.append(job_id)
    if product_id is not None:
        where.append("f.product_id = ?")
        params.append(product_id)
    if channel:
        where.append("f.channel = ?")
        params.append(get_channel(channel).name)
    if status:
        _check_status(status)
        where.append("f.status = ?")
        params.append(status)
    clauses, values = time_filter("f.created_at", since, until)
    where += clauses
    params += values
    sql = "SELECT f.*, p.name AS product_name FROM favourites f JOIN products p ON p.id = f.product_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY f.created_at DESC, f.id DESC"
    return [_decode(r) for r in db.query(sql, params)]


def _check_status(status: str) -> None:
    """InputError unless `status` is a known favourite status."""
    if status not in STATUSES:
        raise InputError(f"unknown status {status!r}; choose one of: {', '.join(STATUSES)}")


def _apply_status(db, fav: dict, status: str, note: str, now: str) -> bool:
    """Change one favourite's status inside the caller's transaction; True if it changed."""
    current = fav["status"]
    if current == status:
        return False  # nothing to change; not an error so bulk actions can include it
    if status not in TRANSITIONS.get(current, ()):
        raise InputError(f"favourite {fav['id']} is {current}; it cannot become {status} directly")
    approved_at = now if status == "approved" else None
    db.execute(
        "UPDATE favourites SET status = ?, note = ?, approved_at = ?, updated_at = ? WHERE id = ?",
        [status, note or "", approved_at, now, fav["id"]],
    )
    _history(db, fav["id"], current, status, note, now)
    return True


def set_status(db: sqlite_utils.Database, favourite_id: int, status: str, note: str = "") -> dict:
    """Move a favourite to draft, approved or rejected; returns the updated favourite.

    Invalid transitions (see TRANSITIONS) raise InputError. Each change is
    recorded in favourite_status_history; approved_at is set on approval and
    cleared when the copy leaves the approved state. Same status is a no-op.
    """
    _check_status(status)
    with transaction(db):
        fav = get_favourite(db, favourite_id)
        _apply_status(db, fav, status, note, now_iso())
    return get_favourite(db, favourite_id)


def bulk_set_status(db: sqlite_utils.Database, ids: Iterable[int], status: str, note: str = "") -> int:
    """Set the status of many favourites at once, all or nothing; returns how many changed.

    If any id is missing or any transition is invalid, nothing changes and the
    InputError names the offending favourite.
    """
    _check_status(status)
    ids = list(dict.fromkeys(ids))
    now = now_iso()
    changed = 0
    with transaction(db):
        for fid in ids:
            changed += _apply_status(db, get_favourite(db, fid), status, note, now)
    return changed


def approvable(
    favs: Iterable[dict], threshold: float, keys: tuple[str, ...] = ("quality", "faithfulness")
) -> list[int]:
    """Ids of the draft favourites among `favs` whose scores named in `keys` are all above `threshold`.

    A score a favourite was never given (the quality judge is newer than some
    copy) is not counted against it, but at least one of `keys` must be present:
    copy with none of them is left for a human.
    """
    if not 0.0 <= float(threshold) <= 1.0:
        raise InputError(f"the threshold must be between 0 and 1, got {threshold!r}")
    out = []
    for f in favs:
        scores = f.get("scores") if isinstance(f.get("scores"), dict) else {}
        present = [v for v in (scores.get(k) for k in keys) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if f.get("status") == "draft" and present and all(float(v) > threshold for v in present):
            out.append(int(f["id"]))
    return out


def status_history(db: sqlite_utils.Database, favourite_id: int) -> list[dict]:
    """The status changes of one favourite, oldest first."""
    return list(
        db.query(
            "SELECT * FROM favourite_status_history WHERE favourite_id = ? ORDER BY changed_at, id",
            [favourite_id],
        )
    )


def update_favourite_text(db: sqlite_utils.Database, favourite_id: int, text: str, scores: dict | None) -> dict:
    """Replace a favourite's text (after a human edit) and its re-computed scores.

    Approved copy that is edited goes back to draft: the approval was for the
    old words. Returns the updated favourite.
    """
    text = _text(text)
    now = now_iso()
    with transaction(db):
        fav = get_favourite(db, favourite_id)
        if fav["status"] == "approved" and text != fav["text"]:
            _apply_status(db, fav, "draft", "text edited after approval", now)
        db.execute(
            "UPDATE favourites SET text = ?, scores = ?, updated_at = ? WHERE id = ?",
            [text, to_json(scores or {}), now, favourite_id],
        )
    return get_favourite(db, favourite_id)


def delete_favourite(db: sqlite_utils.Database, favourite_id: int) -> None:
    """Delete a favourite and its history; experiment arms that used it keep their text."""
    with transaction(db):
        get_favourite(db, favourite_id)
        db.execute("DELETE FROM favourites WHERE id = ?", [favourite_id])


def texts_saved_for_product(db: sqlite_utils.Database, product_id: int, channel: str | None = None) -> list[str]:
    """Texts of every favourite saved for a product (any status), oldest first; used by novelty."""
    sql = "SELECT text FROM favourites WHERE product_id = ?"
    params: list = [product_id]
    if channel:
        sql += " AND channel = ?"
        params.append(channel)
    sql += " ORDER BY id"
    return [r["text"] for r in db.query(sql, params)]
