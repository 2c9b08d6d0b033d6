"""Storage: connection settings, migrations, concurrency and every store module's API."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
from datetime import date

import pytest

from copy_engine.errors import InputError
from copy_engine.product import Product
from copy_engine.store import experiments as ex
from copy_engine.store import favourites as fv
from copy_engine.store import open_db, transaction
from copy_engine.store import products as pr
from copy_engine.store import runs as rn
from copy_engine.store.export import escape_cell, export_approved_csv
from copy_engine.store.migrations import MIGRATIONS, applied_migrations, apply_migrations

SETTINGS = {
    "sentiment": 0.5, "creativity": 0.3, "cta": 0.8, "seed": 7, "model": "embedded:gemma3-270m",
    "adapters": {"tone": 0.5, "creative": 0.0, "cta": 0.75}, "decoding": {"temperature": 0.8, "top_p": 0.9},
    "audience": "parents", "brand_voice": "warm", "channel": "headline", "n": 4,
}  # fmt: skip


@pytest.fixture
def db(tmp_path):
    d = open_db(tmp_path / "t.db")
    yield d
    d.conn.close()


@pytest.fixture
def product(db):
    return pr.add_product(
        db,
        Product(
            name="Trail Kettle", brand="Acme", category="Outdoor | Cooking", features=["1 L", "titanium"], price="$30"
        ),
    )


# ---------------------------------------------------------------- connection


def test_open_db_default_path_wal_fk_timeout(tmp_home):
    db = open_db()
    assert (tmp_home / "copylab.db").is_file()  # parent folder created from COPYLAB_DB
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO runs (product_id, channel, created_at) VALUES (999, 'headline', 'x')")
    db.conn.close()


def test_open_db_rejects_non_database(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(InputError, match="not a usable CopyLab database"):
        open_db(bad)


def test_transaction_rolls_back_everything(db):
    with pytest.raises(RuntimeError), transaction(db):
        pr.add_product(db, {"name": "A"})
        with transaction(db):  # nested → savepoint
            pr.add_product(db, {"name": "B"})
        raise RuntimeError("boom")
    assert pr.count_products(db) == 0


# ---------------------------------------------------------------- migrations


def test_fresh_db_gets_all_migrations_and_rerun_applies_none(tmp_path):
    db = open_db(tmp_path / "m.db", migrate=False)
    names = [n for n, _ in MIGRATIONS]
    assert apply_migrations(db) == names
    assert applied_migrations(db) == names
    assert apply_migrations(db) == []
    assert {"products", "runs", "variants", "favourites", "favourite_status_history", "experiments",
            "experiment_arms", "experiment_results", "migrations"} <= set(db.table_names())  # fmt: skip
    rows = list(db.query("SELECT name, applied_at FROM migrations"))
    assert all(r["applied_at"] for r in rows)
    db.conn.close()
    again = open_db(tmp_path / "m.db")  # opening an up-to-date DB changes nothing
    assert applied_migrations(again) == names
    again.conn.close()


def test_old_db_with_first_migration_gets_the_rest(tmp_path):
    path = tmp_path / "old.db"
    old = open_db(path, migrate=False)
    assert apply_migrations(old, MIGRATIONS[:1]) == [MIGRATIONS[0][0]]
    pr.add_product(old, {"name": "Kept across upgrade"})
    assert "favourites" not in old.table_names()
    old.conn.close()
    db = open_db(path)
    assert applied_migrations(db) == [n for n, _ in MIGRATIONS]
    assert [p.name for p in pr.list_products(db)] == ["Kept across upgrade"]
    assert "experiment_results" in db.table_names()
    db.conn.close()


def test_failed_migration_leaves_nothing_behind(tmp_path):
    db = open_db(tmp_path / "f.db", migrate=False)
    broken = [("0001_ok", "CREATE TABLE a (x)"), ("0002_bad", "CREATE TABLE b (x); CREATE TABLE a (y)")]
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(db, broken)
    assert applied_migrations(db) == ["0001_ok"]
    assert "b" not in db.table_names()  # first statement of the failed migration rolled back


# ---------------------------------------------------------------- concurrency


def test_two_connections_writing_at_once_lose_nothing(tmp_path, product):
    path = tmp_path / "t.db"
    per_writer = 60
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(tag: str) -> None:
        conn = open_db(path)  # its own connection, like a second tab or process
        try:
            start.wait()
            for i in range(per_writer):
                fid = fv.save_favourite(conn, product.id, "headline", f"{tag} copy {i}", {"overall": i}, SETTINGS)
                if i % 3 == 0:
                    fv.set_status(conn, fid, "approved")
                rn.record_run(conn, product.id, SETTINGS, [{"text": f"{tag} v{i}", "rank": 1}])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("tab-a", "tab-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = open_db(path)
    assert len(fv.list_favourites(db, product_id=product.id)) == 2 * per_writer
    assert len(fv.list_favourites(db, status="approved")) == 2 * 20
    assert db.execute("SELECT count(*) FROM variants").fetchone()[0] == 2 * per_writer
    db.conn.close()


# ---------------------------------------------------------------- products


def test_product_crud_and_search(db):
    a = pr.add_product(
        db,
        {
            "name": "<b>Café</b> Grinder",
            "brand": "Bean&Co",
            "category": "Kitchen",
            "features": "burr | 40 settings",
            "price": 49,
        },
    )
    b = pr.add_product(db, Product(name="Yoga Mat", brand="Zen", category="Sports | Yoga"))
    pr.add_product(db, Product(name="100% Cotton Tee", brand="Basics", category="Clothing"))
    assert a.id and b.id and a.id != b.id
    got = pr.get_product(db, a.id)
    assert got.name == "Café Grinder" and got.features == ["burr", "40 settings"] and got.price == "49"
    assert pr.get_product_row(db, a.id)["source"] == "manual"
    assert [p.name for p in pr.search_products(db, "CAFÉ")] == ["Café Grinder"]
    assert [p.name for p in pr.search_products(db, "zen")] == ["Yoga Mat"]
    assert [p.name for p in pr.search_products(db, "sports")] == ["Yoga Mat"]
    assert [p.name for p in pr.search_products(db, "100%")] == ["100% Cotton Tee"]
    assert [p.name for p in pr.search_products(db, "%")] == ["100% Cotton Tee"]  # LIKE wildcards match literally
    assert pr.search_products(db, "_") == []
    assert len(pr.search_products(db, "")) == 3
    assert [p.name for p in pr.list_products(db)] == ["100% Cotton Tee", "Café Grinder", "Yoga Mat"]
    assert [p.name for p in pr.list_products(db, limit=1, offset=1)] == ["Café Grinder"]
    updated = pr.update_product(db, b.id, {"price": "$25", "features": ["6 mm"]})
    assert updated.price == "$25" and updated.name == "Yoga Mat"
    assert pr.get_product(db, b.id).features == ["6 mm"]
    with pytest.raises(InputError, match="unknown product field"):
        pr.update_product(db, b.id, {"colour": "red"})
    with pytest.raises(InputError, match="no name"):
        pr.update_product(db, b.id, {"name": "  "})
    pr.delete_product(db, b.id)
    with pytest.raises(InputError, match="no product with id"):
        pr.get_product(db, b.id)
    assert pr.find_product(db, "café grinder", "BEAN&CO").id == a.id


def test_delete_product_with_favourites_needs_force(db, product):
    fid = fv.save_favourite(db, product.id, "headline", "Boil water anywhere.", {}, SETTINGS)
    with pytest.raises(InputError, match="1 saved favourite"):
        pr.delete_product(db, product.id)
    assert fv.get_favourite(db, fid)["text"] == "Boil water anywhere."
    pr.delete_product(db, product.id, force=True)
    assert fv.list_favourites(db) == []


# ---------------------------------------------------------------- runs


def test_record_and_get_run(db, product):
    variants = [
        {"text": "Second best", "scores": {"overall": 0.5}, "flags": [], "rank": 2},
        {"text": "Best — très bien", "scores": {"overall": 0.9}, "flags": ["banned:guaranteed"], "rank": 1},
    ]
    run_id = rn.record_run(db, product.id, {**SETTINGS, "duration_s": 1.25, "device": "cpu"}, variants)
    run = rn.get_run(db, run_id)
    assert run["channel"] == "headline" and run["seed"] == 7 and run["sentiment"] == 0.5
    assert run["adapters"] == SETTINGS["adapters"] and run["decoding"]["top_p"] == 0.9
    assert [v["text"] for v in run["variants"]] == ["Best — très bien", "Second best"]
    assert run["variants"][0]["flags"] == ["banned:guaranteed"]
    assert [r["id"] for r in rn.list_runs(db, product_id=product.id)] == [run_id]
    with pytest.raises(InputError, match="unknown channel"):
        rn.record_run(db, product.id, {**SETTINGS, "channel": "fax"}, variants)
    with pytest.raises(InputError, match="no product"):
        rn.record_run(db, 999, SETTINGS, variants)
    with pytest.raises(InputError, match="variant 2 has no text"):
        rn.record_run(db, product.id, SETTINGS, [{"text": "ok"}, {"scores": {}}])
    assert len(rn.list_runs(db)) == 1  # failed calls stored nothing


# ---------------------------------------------------------------- favourites


def test_save_and_list_favourites_with_filters(db, product):
    other = pr.add_product(db, {"name": "Other"})
    f1 = fv.save_favourite(db, product.id, "headline", "One", {"overall": 0.7}, SETTINGS)
    f2 = fv.save_favourite(db, product.id, "social", "Two", {"overall": 0.6}, SETTINGS)
    f3 = fv.save_favourite(db, other.id, "headline", "Three", {}, {})
    db.execute("UPDATE favourites SET created_at = '2024-01-10T09:00:00+00:00' WHERE id = ?", [f1])
    db.execute("UPDATE favourites SET created_at = '2024-01-11T23:59:59+00:00' WHERE id = ?", [f2])
    db.execute("UPDATE favourites SET created_at = '2024-01-12T00:00:00+00:00' WHERE id = ?", [f3])
    fav = fv.get_favourite(db, f1)
    assert fav["settings"] == SETTINGS and fav["scores"] == {"overall": 0.7} and fav["status"] == "draft"
    assert fv.get_favourite(db, f3)["settings"] == {"channel": "headline"}
    ids = lambda rows: [r["id"] for r in rows]
    assert ids(fv.list_favourites(db)) == [f3, f2, f1]
    assert ids(fv.list_favourites(db, product_id=product.id)) == [f2, f1]
    assert ids(fv.list_favourites(db, channel="headline")) == [f3, f1]
    assert ids(fv.list_favourites(db, since="2024-01-11")) == [f3, f2]
    assert ids(fv.list_favourites(db, until=date(2024, 1, 11))) == [f2, f1]  # whole day included
    assert ids(fv.list_favourites(db, since="2024-01-11", until="2024-01-11")) == [f2]
    assert ids(fv.list_favourites(db, until="2024-01-10T09:00:00")) == [f1]
    assert fv.list_favourites(db)[0]["product_name"] == "Other"
    with pytest.raises(InputError, match="not a date"):
        fv.list_favourites(db, since="last tuesday")
    with pytest.raises(InputError, match="unknown status"):
        fv.list_favourites(db, status="live")
    with pytest.raises(InputError, match="empty"):
        fv.save_favourite(db, product.id, "headline", "   ", {}, {})
    with pytest.raises(InputError, match="no run with id 42"):
        fv.save_favourite(db, product.id, "headline", "x", {}, {}, run_id=42)
    run_id = rn.record_run(db, product.id, SETTINGS, [{"text": "From a run"}])
    variant_id = rn.get_run(db, run_id)["variants"][0]["id"]
    f4 = fv.save_favourite(db, product.id, "headline", "From a run", {}, SETTINGS, run_id=run_id, variant_id=variant_id)
    assert (fv.get_favourite(db, f4)["run_id"], fv.get_favourite(db, f4)["variant_id"]) == (run_id, variant_id)
    fv.delete_favourite(db, f4)
    assert fv.texts_saved_for_product(db, product.id) == ["One", "Two"]
    assert fv.texts_saved_for_product(db, product.id, channel="social") == ["Two"]


def test_status_transitions_history_and_approved_at(db, product):
    fid = fv.save_favourite(db, product.id, "headline", "Copy", {}, SETTINGS)
    fav = fv.set_status(db, fid, "approved", note="legal ok")
    assert fav["status"] == "approved" and fav["approved_at"] and fav["note"] == "legal ok"
    with pytest.raises(InputError, match="unknown status"):
        fv.set_status(db, fid, "published")
    fav = fv.set_status(db, fid, "rejected", note="withdrawn")
    assert fav["approved_at"] is None
    with pytest.raises(InputError, match="cannot become approved"):
        fv.set_status(db, fid, "approved")
    assert fv.get_favourite(db, fid)["status"] == "rejected"
    fv.set_status(db, fid, "draft")
    fv.set_status(db, fid, "draft")  # same status: no-op, no history row
    hist = [(h["from_status"], h["to_status"], h["note"]) for h in fv.status_history(db, fid)]
    assert hist == [(None, "draft", "saved"), ("draft", "approved", "legal ok"),
                    ("approved", "rejected", "withdrawn"), ("rejected", "draft", "")]  # fmt: skip
    with pytest.raises(InputError, match="no favourite"):
        fv.set_status(db, 999, "approved")


def test_bulk_set_status_is_all_or_nothing(db, product):
    ids = [fv.save_favourite(db, product.id, "headline", f"Copy {i}", {}, SETTINGS) for i in range(3)]
    fv.set_status(db, ids[2], "rejected")
    with pytest.raises(InputError, match=f"favourite {ids[2]} is rejected"):
        fv.bulk_set_status(db, ids, "approved")
    assert [fv.get_favourite(db, i)["status"] for i in ids] == ["draft", "draft", "rejected"]
    with pytest.raises(InputError, match="no favourite with id 999"):
        fv.bulk_set_status(db, [ids[0], 999], "approved")
    assert fv.get_favourite(db, ids[0])["status"] == "draft"
    assert fv.bulk_set_status(db, ids[:2], "approved", "batch") == 2
    assert [f["id"] for f in fv.list_favourites(db, status="approved")] == sorted(ids[:2], reverse=True)


def test_edit_text_of_approved_copy_returns_it_to_draft(db, product):
    fid = fv.save_favourite(db, product.id, "headline", "Old words", {"overall": 0.5}, SETTINGS)
    fv.set_status(db, fid, "approved")
    fav = fv.update_favourite_text(db, fid, "New words", {"overall": 0.8})
    assert fav["text"] == "New words" and fav["scores"] == {"overall": 0.8}
    assert fav["status"] == "draft" and fav["approved_at"] is None
    assert fv.status_history(db, fid)[-1]["note"] == "text edited after approval"
    fv.delete_favourite(db, fid)
    with pytest.raises(InputError):
        fv.get_favourite(db, fid)
    assert fv.status_history(db, fid) == []


# ---------------------------------------------------------------- experiments


def _experiment(db, product):
    fid = fv.save_favourite(db, product.id, "headline", "Arm B text", {}, SETTINGS)
    return ex.create_experiment(
        db, "Kettle headline test", product.id, "headline",
        [{"name": "A", "text": "Control text", "is_control": True},
         {"name": "B", "text": "Arm B text", "favourite_id": fid}],
    )  # fmt: skip


def test_experiment_lifecycle_and_results(db, product):
    eid = _experiment(db, product)
    assert ex.add_results(db, eid, [
        {"arm": "A", "impressions": 1000, "clicks": 50, "conversions": 5, "day": "2024-03-01"},
        {"arm": "b", "impressions": "1,200", "clicks": "60", "conversions": 9.0, "day": "2024-03-01"},
        {"arm_name": "A", "impressions": 500, "clicks": 20, "conversions": 2},
    ]) == 3  # fmt: skip
    exp = ex.get_experiment(db, eid)
    a, b = exp["arms"]
    assert (a["name"], a["is_control"], a["impressions"], a["clicks"], a["conversions"]) == ("A", True, 1500, 70, 7)
    assert (b["is_control"], b["impressions"], b["conversions"], b["favourite_id"]) == (
        False,
        1200,
        9,
        b["favourite_id"],
    )
    assert b["favourite_id"] is not None
    assert exp["status"] == "draft"
    assert ex.set_experiment_status(db, eid, "running")["start_date"] == date.today().isoformat()
    with pytest.raises(InputError, match="cannot become draft"):
        ex.set_experiment_status(db, eid, "draft")
    fin = ex.set_experiment_status(db, eid, "finished")
    assert fin["status"] == "finished" and fin["end_date"]
    listed = ex.list_experiments(db, product_id=product.id)
    assert listed[0]["arm_count"] == 2 and listed[0]["product_name"] == "Trail Kettle"
    assert ex.list_experiments(db, status="running") == []
    ex.delete_experiment(db, eid)
    assert ex.list_experiments(db) == []


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ({"arm": "C", "impressions": 1, "clicks": 0, "conversions": 0}, "row 2: unknown arm 'C'"),
        ({"arm": "A", "impressions": -1, "clicks": 0, "conversions": 0}, "row 2: impressions must be a whole number"),
        (
            {"arm": "A", "impressions": 10, "clicks": 11, "conversions": 0},
            r"row 2: clicks \(11\) exceed impressions",
        ),
        (
            {"arm": "A", "impressions": 10, "clicks": 5, "conversions": 6},
            r"row 2: conversions \(6\) exceed clicks",
        ),
        ({"arm": "A", "impressions": 1.5, "clicks": 0, "conversions": 0}, "row 2: impressions"),
        ({"arm": "A", "impressions": "ten", "clicks": 0, "conversions": 0}, "row 2: impressions"),
        ({"arm": "A", "impressions": True, "clicks": 0, "conversions": 0}, "row 2: impressions"),
        ({"arm": "A", "impressions": 10, "conversions": 0}, "row 2: clicks"),
        ({"arm": "A", "impressions": 10, "clicks": 1, "conversions": 0, "day": "31/02/2024"}, "row 2: day"),
        (
            {"arm": "A", "impressions": 10, "clicks": 1, "conversions": 0, "day": "2024-03-01"},
            "row 2: arm 'A' appears twice",
        ),
    ],
)
def test_add_results_rejects_bad_rows_and_saves_nothing(db, product, bad_row, message):
    eid = _experiment(db, product)
    good = {"arm": "A", "impressions": 100, "clicks": 10, "conversions": 1, "day": "2024-03-01"}
    with pytest.raises(InputError, match=message):
        ex.add_results(db, eid, [good, bad_row])
    assert db.execute("SELECT count(*) FROM experiment_results").fetchone()[0] == 0


def test_add_results_refuses_reuploaded_day(db, product):
    eid = _experiment(db, product)
    rows = [{"arm": "A", "impressions": 100, "clicks": 10, "conversions": 1, "day": "2024-03-01"}]
    ex.add_results(db, eid, rows)
    with pytest.raises(InputError, match="already recorded"):
        ex.add_results(db, eid, [{**rows[0], "day": "2024-03-02"}, rows[0]])
    assert ex.get_experiment(db, eid)["arms"][0]["impressions"] == 100


def test_create_experiment_validation(db, product):
    arm = lambda n, **kw: {"name": n, "text": f"text {n}", **kw}
    with pytest.raises(InputError, match="at least two arms"):
        ex.create_experiment(db, "x", product.id, "headline", [arm("A")])
    with pytest.raises(InputError, match="two arms are called"):
        ex.create_experiment(db, "x", product.id, "headline", [arm("A"), arm("a")])
    with pytest.raises(InputError, match="only one arm can be the control"):
        ex.create_experiment(db, "x", product.id, "headline", [arm("A", is_control=1), arm("B", is_control=True)])
    with pytest.raises(InputError, match="has no text"):
        ex.create_experiment(db, "x", product.id, "headline", [arm("A"), {"name": "B", "text": " "}])
    with pytest.raises(InputError, match="no favourite with id 77"):
        ex.create_experiment(db, "x", product.id, "headline", [arm("A"), arm("B", favourite_id=77)])
    with pytest.raises(InputError, match="needs a name"):
        ex.create_experiment(db, "", product.id, "headline", [arm("A"), arm("B")])
    assert ex.list_experiments(db) == []
    eid = ex.create_experiment(db, "x", product.id, "headline", [arm("A"), arm("B")])
    assert [a["is_control"] for a in ex.get_experiment(db, eid)["arms"]] == [True, False]


# ---------------------------------------------------------------- export


def test_export_escapes_formulas_and_round_trips(db, product):
    texts = [
        '=HYPERLINK("http://evil.example","Click")',
        "+1 for summer",
        "-50% today only",
        "@everyone look",
        'Commas, "quotes" and\nnew lines — ünïcödé ☕',
    ]
    for i, text in enumerate(texts):
        fid = fv.save_favourite(db, product.id, "social", text, {"overall": 0.5 + i / 100, "novelty": -0.25}, SETTINGS)
        fv.set_status(db, fid, "approved")
    draft = fv.save_favourite(db, product.id, "social", "Not approved", {"overall": 1.0}, SETTINGS)
    assert fv.get_favourite(db, draft)["status"] == "draft"
    out = export_approved_csv(db)
    rows = list(csv.reader(io.StringIO(out, newline="")))
    header, body = rows[0], rows[1:]
    assert header == ["product_id", "product_name", "channel", "text", "score_novelty", "score_overall",
                      "settings", "created_at", "approved_at"]  # fmt: skip
    assert len(body) == len(texts)
    got = {r[3] for r in body}
    assert "'" + texts[0] in got and "'+1 for summer" in got and "'-50% today only" in got
    assert "'@everyone look" in got
    assert texts[4] in got  # unchanged, survives quoting and the newline
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or cell == "-0.25" for r in body for cell in r)
    assert {r[4] for r in body} == {"-0.25"}  # numbers are not escaped
    import json

    assert json.loads(body[0][6]) == SETTINGS
    assert all(r[8] for r in body)
    assert out.encode("utf-8").decode("utf-8") == out
    assert export_approved_csv(db, channel="headline").count("\n") == 1  # header only
    evil = pr.add_product(db, {"name": "=cmd|' /C calc'!A0"})
    fv.set_status(db, fv.save_favourite(db, evil.id, "headline", "Fine text", {}, {}), "approved")
    (row,) = list(csv.reader(io.StringIO(export_approved_csv(db, product_id=evil.id))))[1:]
    assert row[1] == "'=cmd|' /C calc'!A0" and row[3] == "Fine text"


def test_escape_cell():
    assert escape_cell("=1+1") == "'=1+1"
    assert escape_cell("\rx") == "'\rx"
    assert escape_cell("plain") == "plain"
    assert escape_cell(-3) == -3
    assert escape_cell(None) == ""
