"""A/B experiments: storage of experiments, their arms (copy variants) and observed results.

The statistics live in copy_engine/experiments.py; this module only stores and
validates data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlite_utils

from copy_engine.channels import get_channel
from copy_engine.errors import InputError
from copy_engine.experiments.arms import MAX_COUNT, check_counts
from copy_engine.store.transactions import now_iso, transaction
from copy_engine.store.products import get_product

EXPERIMENT_STATUSES = ("draft", "running", "finished")
ON_REPEAT = ("replace", "add")


class RepeatedResultsError(InputError):
    """Results for an arm (without a day, or for a day) are already recorded: replace them or add?"""

    def __init__(self, message: str, repeats: list[str]):
        super().__init__(message)
        self.repeats = repeats  # one description per repeated arm or arm and day
_NEXT = {"draft": ("running",), "running": ("finished",), "finished": ()}
MAX_ARMS = 10


def _date_text(value: Any, what: str) -> str | None:
    """A date value as 'YYYY-MM-DD' (None when empty); InputError naming `what` otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()[:10]
    text = str(value).strip()
    if len(text) > 10 and text[10] in "T ":
        text = text[:10]  # a timestamp: keep the day
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(f"{what} must be a date like 2024-05-31, got {value!r}") from None


def create_experiment(
    db: sqlite_utils.Database,
    name: str,
    product_id: int,
    channel: str,
    arms: list[dict],
    start_date: str | date | None = None,
    end_date: str | date | None = None,
) -> int:
    """Create a draft experiment with its arms; returns the experiment id.

    Each arm is a dict with `name`, `text`, optional `favourite_id` and
    `is_control`. At least two arms with distinct names and non-empty text are
    needed; at most one may be the control, and when none is marked the first arm is.
    """
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise InputError("experiment needs a name")
    channel = get_channel(channel).name
    get_product(db, product_id)
    if not isinstance(arms, (list, tuple)) or len(arms) < 2:
        raise InputError("an experiment needs at least two arms")
    if len(arms) > MAX_ARMS:
        raise InputError(f"an experiment can have at most {MAX_ARMS} arms")
    cleaned, seen = [], set()
    for i, arm in enumerate(arms, start=1):
        if not isinstance(arm, dict):
            raise InputError(f"arm {i} must be a dict with name and text")
        arm_name = str(arm.get("name") or "").strip()
        text = str(arm.get("text") or "").strip()
        if not arm_name:
            raise InputError(f"arm {i} has no name")
        if arm_name.casefold() in seen:
            raise InputError(f"two arms are called {arm_name!r}")
        seen.add(arm_name.casefold())
        if not text:
            raise InputError(f"arm {arm_name!r} has no text")
        cleaned.append(
            {"name": arm_name, "text": text, "favourite_id": arm.get("favourite_id"),
             "is_control": 1 if arm.get("is_control") else 0, "position": i - 1}
        )  # fmt: skip
    controls = sum(a["is_control"] for a in cleaned)
    if controls > 1:
        raise InputError("only one arm can be the control")
    if controls == 0:
        cleaned[0]["is_control"] = 1
    start, end = _date_text(start_date, "start date"), _date_text(end_date, "end date")
    if start and end and end < start:
        raise InputError("end date is before start date")
    with transaction(db):
        for a in cleaned:
            if (
                a["favourite_id"] is not None
                and not db.execute("SELECT 1 FROM favourites WHERE id = ?", [a["favourite_id"]]).fetchone()
            ):
                raise InputError(f"arm {a['name']!r}: no favourite with id {a['favourite_id']}")
        exp_id = db["experiments"].insert(
            {"name": name, "product_id": product_id, "channel": channel, "status": "draft",
             "start_date": start, "end_date": end, "created_at": now_iso()}
        ).last_pk  # fmt: skip
        db["experiment_arms"].insert_all([{**a, "experiment_id": exp_id} for a in cleaned])
    return int(exp_id)


def _count(row: dict, key: str, label: str) -> int:
    """A result count as a non-negative int; InputError naming the row and key otherwise."""
    value = row.get(key)
    if isinstance(value, bool) or value is None or value == "":
        raise InputError(f"{label}: {key} must be a whole number ≥ 0, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise InputError(f"{label}: {key} must be a whole number ≥ 0, got {value!r}")
        value = int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if not text.isdigit():
            raise InputError(f"{label}: {key} must be a whole number ≥ 0, got {value!r}")
        value = int(text)
    if not isinstance(value, int) or value < 0:
        raise InputError(f"{label}: {key} must be a whole number ≥ 0, got {value!r}")
    return value


def add_results(db: sqlite_utils.Database, experiment_id: int, rows: list[dict], on_repeat: str | None = None) -> int:
    """Record observed results for an experiment's arms, all or nothing; returns rows added.

    Each row: `arm` (the arm's name; `arm_name` also accepted), `impressions`,
    `clicks`, `conversions` (whole numbers ≥ 0, clicks ≤ impressions,
    conversions ≤ clicks) and optional `day` (YYYY-MM-DD). Any bad row raises
    InputError naming it (1-based) and nothing is saved.

    Re-uploading a file must not count it twice, so results for an arm that
    already has rows without a day, or for an arm and day already recorded, are
    a repeat: RepeatedResultsError (nothing saved) unless `on_repeat` says what
    to do: "replace" deletes the recorded rows of those arms (undated) or arms
    and days first; "add" counts undated totals on top (the user says they are
    new traffic). A dated repeat cannot be added (a day has one count per arm).
    """
    if on_repeat not in (None, *ON_REPEAT):
        raise InputError(f"on_repeat must be one of {', '.join(ON_REPEAT)} or None, got {on_repeat!r}")
    exp = _experiment_row(db, experiment_id)
    arms = {a["name"].casefold(): a for a in db.query(
        "SELECT * FROM experiment_arms WHERE experiment_id = ?", [exp["id"]])}  # fmt: skip
    if not isinstance(rows, (list, tuple)) or not rows:
        raise InputError("no result rows given")
    clean, seen_days = [], set()
    for i, row in enumerate(rows, start=1):
        label = f"row {i}"
        if not isinstance(row, dict):
            raise InputError(f"{label}: expected arm, impressions, clicks, conversions")
        arm_name = str(row.get("arm", row.get("arm_name")) or "").strip()
        arm = arms.get(arm_name.casefold())
        if arm is None:
            known = ", ".join(a["name"] for a in arms.values())
            raise InputError(f"{label}: unknown arm {arm_name!r}; this experiment's arms are: {known}")
        imp, clk, conv = check_counts(
            _count(row, "impressions", label), _count(row, "clicks", label), _count(row, "conversions", label), label
        )
        day = _date_text(row.get("day"), f"{label}: day")
        if day is not None:
            key = (arm["id"], day)
            if key in seen_days:
                raise InputError(f"{label}: arm {arm['name']!r} appears twice for {day}")
            seen_days.add(key)
        clean.append({"arm_id": arm["id"], "day": day, "impressions": imp, "clicks": clk, "conversions": conv})
    names = {a["id"]: a["name"] for a in arms.values()}
    with transaction(db):
        undated, dated = _repeats(db, clean)
        if (undated or dated) and on_repeat is None:
            what = [f"arm {names[a]!r} without a day ({n:,} impressions)" for a, n in undated.items()]
            what += [f"arm {names[a]!r} on {d}" for i, a, d in dated]
            raise RepeatedResultsError(
                f"results are already recorded for {'; '.join(what)}. Nothing was saved: choose replace "
                "(the new numbers replace the recorded ones) or add (they count on top, as new traffic)",
                what,
            )
        if dated and on_repeat == "add":
            i, arm_id, day = dated[0]
            raise InputError(
                f"row {i}: results for arm {names[arm_id]!r} on {day} are already recorded; "
                "a day has one count per arm: replace them instead"
            )
        if on_repeat == "replace":
            for arm_id in undated:
                db.execute("DELETE FROM experiment_results WHERE arm_id = ? AND day IS NULL", [arm_id])
            for _, arm_id, day in dated:
                db.execute("DELETE FROM experiment_results WHERE arm_id = ? AND day = ?", [arm_id, day])
        _check_totals(db, clean, arms)
        db["experiment_results"].insert_all(clean)
    return len(clean)


def _repeats(db, clean: list[dict]) -> tuple[dict[int, int], list[tuple[int, int, str]]]:
    """What `clean` repeats: {arm_id: recorded undated impressions} and [(row, arm_id, day)] already recorded."""
    undated: dict[int, int] = {}
    dated: list[tuple[int, int, str]] = []
    for i, r in enumerate(clean, start=1):
        if r["day"] is None:
            if r["arm_id"] not in undated:
                found = db.execute(
                    "SELECT count(*), coalesce(sum(impressions), 0) FROM experiment_results "
                    "WHERE arm_id = ? AND day IS NULL",
                    [r["arm_id"]],
                ).fetchone()
                if found[0]:
                    undated[r["arm_id"]] = found[1]
        elif db.execute(
            "SELECT 1 FROM experiment_results WHERE arm_id = ? AND day = ?", [r["arm_id"], r["day"]]
        ).fetchone():
            dated.append((i, r["arm_id"], r["day"]))
    return undated, dated


def _check_totals(db, clean: list[dict], arms: dict) -> None:
    """InputError naming the first row that would push an arm's total count past MAX_COUNT."""
    # Each row fits SQLite, but totals are summed for the analysis and must stay meaningful.
    totals: dict[int, list[int]] = {}
    for i, r in enumerate(clean, start=1):
        if r["arm_id"] not in totals:
            stored = db.execute(
                "SELECT impressions, clicks, conversions FROM experiment_results WHERE arm_id = ?", [r["arm_id"]]
            ).fetchall()
            totals[r["arm_id"]] = [sum(row[k] for row in stored) for k in range(3)]
        for k, key in enumerate(("impressions", "clicks", "conversions")):
            totals[r["arm_id"]][k] += r[key]
            if totals[r["arm_id"]][k] > MAX_COUNT:
                arm_name = next(a["name"] for a in arms.values() if a["id"] == r["arm_id"])
                raise InputError(
                    f"row {i}: arm {arm_name!r}'s total {key} would exceed {MAX_COUNT:,}, "
                    "the largest count that can be stored"
                )


def _experiment_row(db, experiment_id: int) -> dict:
    """The experiments row, or InputError when missing."""
    row = next(db.query("SELECT * FROM experiments WHERE id = ?", [experiment_id]), None)
    if row is None:
        raise InputError(f"no experiment with id {experiment_id}")
    return row


def get_experiment(db: sqlite_utils.Database, experiment_id: int) -> dict:
    """An experiment with its `arms` (in position order); each arm carries its
    `results` rows and total `impressions`, `clicks` and `conversions`."""
    exp = _experiment_row(db, experiment_id)
    arms = []
    for arm in db.query("SELECT * FROM experiment_arms WHERE experiment_id = ? ORDER BY position, id", [experiment_id]):
        arm["is_control"] = bool(arm["is_control"])
        arm["results"] = list(
            db.query(
                "SELECT id, day, impressions, clicks, conversions FROM experiment_results "
                "WHERE arm_id = ? ORDER BY day IS NULL, day, id",
                [arm["id"]],
            )
        )
        for key in ("impressions", "clicks", "conversions"):
            arm[key] = sum(r[key] for r in arm["results"])
        arms.append(arm)
    exp["arms"] = arms
    return exp


def list_experiments(db: sqlite_utils.Database, product_id: int | None = None, status: str | None = None) -> list[dict]:
    """Experiments (without arms) newest first, with `product_name` and `arm_count`."""
    where, params = [], []
    if product_id is not None:
        where.append("e.product_id = ?")
        params.append(product_id)
    if status:
        _check_status(status)
        where.append("e.status = ?")
        params.append(status)
    sql = (
        "SELECT e.*, p.name AS product_name, "
        "(SELECT count(*) FROM experiment_arms a WHERE a.experiment_id = e.id) AS arm_count "
        "FROM experiments e JOIN products p ON p.id = e.product_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY e.created_at DESC, e.id DESC"
    return list(db.query(sql, params))


def _check_status(status: str) -> None:
    """InputError unless `status` is a known experiment status."""
    if status not in EXPERIMENT_STATUSES:
        raise InputError(f"unknown experiment status {status!r}; choose one of: {', '.join(EXPERIMENT_STATUSES)}")


def set_experiment_status(db: sqlite_utils.Database, experiment_id: int, status: str) -> dict:
    """Move an experiment draft → running → finished; returns it (as get_experiment).

    Starting fills start_date and finishing fills end_date with today when unset.
    Same status is a no-op; going backwards raises InputError.
    """
    _check_status(status)
    with transaction(db):
        exp = _experiment_row(db, experiment_id)
        current = exp["status"]
        if current != status:
            if status not in _NEXT[current]:
                raise InputError(f"experiment {experiment_id} is {current}; it cannot become {status}")
            today = date.today().isoformat()
            start = exp["start_date"] or (today if status in ("running", "finished") else None)
            end = exp["end_date"] or (today if status == "finished" else None)
            db.execute(
                "UPDATE experiments SET status = ?, start_date = ?, end_date = ? WHERE id = ?",
                [status, start, end, experiment_id],
            )
    return get_experiment(db, experiment_id)


def delete_experiment(db: sqlite_utils.Database, experiment_id: int) -> None:
    """Delete an experiment with its arms and results."""
    with transaction(db):
        _experiment_row(db, experiment_id)
        db.execute("DELETE FROM experiments WHERE id = ?", [experiment_id])
