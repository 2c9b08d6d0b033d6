"""Issue 15 (hardening): each finding's crafted input, which failed before its fix.

No model is involved: these drive the engine, the CLI and the pages with hostile
or careless input (huge numbers, look-alike characters, wrong JSON types, busy
databases) and check for a clear message and nothing lost or counted twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copy_engine.errors import CopyLabError, InputError

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    """`python -m copy_engine ARGS` in a fresh process (the way a user runs it).

    The model path points nowhere, so a command that wrongly gets past validation
    fails fast ("could not load model") instead of loading the real model.
    """
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "COPYLAB_HOME": str(home),
           "COPYLAB_MODEL": str(home / "no-such-model")}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "copy_engine", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120
    )


def one_line_error(r: subprocess.CompletedProcess, needle: str) -> None:
    """Exit status 2 and exactly one stderr line containing `needle`, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr, r.stderr


# ---------------------------------------------------------------- 7. adapter names


@pytest.mark.parametrize("name", ["brand\n", "brand\r", "brand\n\n", "a" * 40 + "\n"])
def test_adapter_name_with_a_trailing_newline_is_refused(name):
    from copy_engine.adapters.registry import check_name

    with pytest.raises(InputError, match="adapter name"):
        check_name(name)
    assert check_name("brand-voice_2") == "brand-voice_2"


# ---------------------------------------------------------------- 3. product field types


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"name": "Tea", "features": 5}, "features"),
        ({"name": "Tea", "features": True}, "features"),
        ({"name": "Tea", "features": {"a": 1}}, "features"),
        ({"name": "Tea", "features": ["ok", ["nested"]]}, "features"),
        ({"name": 5}, "name"),
        ({"name": ["x"]}, "name"),
        ({"name": {"x": 1}}, "name"),
        ({"name": True}, "name"),
        ({"name": "Tea", "brand": 7}, "brand"),
        ({"name": "Tea", "category": ["a", "b"]}, "category"),
        ({"name": "Tea", "description": False}, "description"),
        ({"name": "Tea", "price": ["$5"]}, "price"),
        ({"name": "Tea", "price": True}, "price"),
        ({"name": "Tea", "id": "7"}, "id"),
    ],
)
def test_product_rejects_wrong_field_types(data, needle):
    from copy_engine.product import Product

    with pytest.raises(InputError, match=needle):
        Product.from_dict(data)


def test_product_keeps_the_types_it_should_accept():
    from copy_engine.product import Product

    p = Product.from_dict({"name": "Tea", "price": 4.5, "features": "a | b", "brand": None, "id": 3})
    assert (p.price, p.features, p.brand, p.id) == ("4.5", ["a", "b"], "", 3)


@pytest.mark.parametrize("data", [{"name": "Tea", "features": 5}, {"name": ["x"]}, {"name": 5}, {"name": "Tea", "features": True}])
def test_generate_with_a_mistyped_product_file_exits_2(tmp_path, data):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(data))
    one_line_error(cli("generate", "--product", str(f), home=tmp_path / "h"), "product")


def test_update_product_refuses_a_list_as_the_price(tmp_path):
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    db = open_db(tmp_path / "t.db")
    p = pr.add_product(db, {"name": "Tea", "price": "$4"})
    with pytest.raises(InputError, match="price"):
        pr.update_product(db, p.id, {"price": ["$5"]})
    assert pr.update_product(db, p.id, {"price": 5}).price == "5"
    assert pr.get_product(db, p.id).price == "5"


# ---------------------------------------------------------------- 5. formula look-alikes in exports

LOOK_ALIKES = [
    "\uff1d1+1",  # full-width ＝
    "\ufe661+1",  # small ﹦
    "\uff0bcmd",  # full-width ＋
    "\ufe63cmd",  # small ﹣
    "\uff20SUM(A1)",  # full-width ＠
    *[f"{invisible}{start}HYPERLINK(\"http://x\")" for invisible in ("\u200b", "\ufeff", "\u200c", "\u200d", "\u2060",
                                                                   "\u00ad", "\u200e", "\u00a0", " ", "\u3000")
      for start in "=+-@"],  # zero-width space, BOM, ZWNJ, ZWJ, word joiner, soft hyphen, LRM, no-break, space, ideographic space
    "\u200b\u200b\ufeff=1",
]  # fmt: skip


@pytest.mark.parametrize("text", LOOK_ALIKES, ids=lambda t: ascii(t[:3]))
def test_export_neutralises_formula_look_alikes(text):
    from copy_engine.store.export import escape_cell

    assert escape_cell(text) == "'" + text


def test_export_writes_look_alikes_neutralised(tmp_path):
    import csv
    import io

    from copy_engine.store import favourites as fv
    from copy_engine.store import open_db
    from copy_engine.store import products as pr
    from copy_engine.store.export import export_approved_csv

    db = open_db(tmp_path / "t.db")
    p = pr.add_product(db, {"name": "\ufeff=cmd|' /C calc'!A0"})
    fid = fv.save_favourite(db, p.id, "headline", "\uff1dHYPERLINK(\"http://evil\")", {}, {})
    fv.set_status(db, fid, "approved")
    row = list(csv.reader(io.StringIO(export_approved_csv(db))))[1]
    assert row[1].startswith("'") and row[3].startswith("'"), row


@pytest.mark.parametrize("text", ["Great tea", "Tea \u2013 20% off", "\u200bTea", "\uff21BC", "100 %", "e-mail us"])
def test_export_leaves_ordinary_text_alone(text):
    from copy_engine.store.export import escape_cell

    assert escape_cell(text) == text


# ---------------------------------------------------------------- 4. counts SQLite cannot store

HUGE = ["1e308", str(2**63), str(2**64 + 5), "9223372036854775808.0", "1e19"]


@pytest.mark.parametrize("huge", HUGE)
def test_results_csv_rejects_counts_beyond_sqlite_naming_the_row(huge):
    from copy_engine.experiments import read_results_csv

    with pytest.raises(InputError, match=r"row 2: impressions .*at most"):
        read_results_csv(f"variant,impressions,clicks,conversions\nA,100,5,1\nB,{huge},5,1\n")


def test_results_csv_rejects_per_day_rows_whose_total_overflows():
    from copy_engine.experiments import read_results_csv

    half = 2**62
    text = f"variant,day,impressions,clicks,conversions\nA,2025-01-01,{half},1,0\nA,2025-01-02,{half},1,0\nB,2025-01-01,5,1,0\n"
    with pytest.raises(InputError, match=r"row 2: .*impressions"):
        read_results_csv(text)


def test_results_csv_accepts_the_largest_storable_count():
    from copy_engine.experiments import read_results_csv

    arms = read_results_csv(f"variant,impressions,clicks,conversions\nA,{2**63 - 1},5,1\nB,100,5,1\n")
    assert arms[0].impressions == 2**63 - 1


def test_ab_report_rejects_1e308(tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("variant,impressions,clicks,conversions\nA,1e308,50,5\nB,1000,60,6\n")
    one_line_error(cli("ab-report", str(f), home=tmp_path / "h"), "row 1")


@pytest.mark.parametrize("impressions", [2**63, 10**30, 1e308, "1e308", str(2**63)])
def test_add_results_rejects_counts_beyond_sqlite(tmp_path, impressions):
    from copy_engine.store import experiments as ex
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    db = open_db(tmp_path / "t.db")
    p = pr.add_product(db, {"name": "Tea"})
    eid = ex.create_experiment(db, "e", p.id, "headline", [{"name": "A", "text": "a"}, {"name": "B", "text": "b"}])
    rows = [{"arm": "A", "impressions": 10, "clicks": 1, "conversions": 0},
            {"arm": "B", "impressions": impressions, "clicks": 1, "conversions": 0}]  # fmt: skip
    with pytest.raises(InputError, match="row 2: impressions"):
        ex.add_results(db, eid, rows)
    assert all(a["impressions"] == 0 for a in ex.get_experiment(db, eid)["arms"]), "nothing saved"


def test_add_results_rejects_a_row_that_overflows_the_stored_total(tmp_path):
    from copy_engine.store import experiments as ex
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    db = open_db(tmp_path / "t.db")
    p = pr.add_product(db, {"name": "Tea"})
    eid = ex.create_experiment(db, "e", p.id, "headline", [{"name": "A", "text": "a"}, {"name": "B", "text": "b"}])
    big = {"impressions": 2**62, "clicks": 1, "conversions": 0}
    ex.add_results(db, eid, [{"arm": "A", "day": "2025-01-01", **big}, {"arm": "B", "day": "2025-01-01", **big}])
    with pytest.raises(InputError, match="row 1: .*A.*total"):
        ex.add_results(db, eid, [{"arm": "A", "day": "2025-01-02", **big}])


# ---------------------------------------------------------------- 6. where an unclosed quote starts


def _catalog_with_unclosed_quote(lines: int = 1001, bad_line: int = 6, quoted: bool = False) -> bytes:
    """A catalog whose line `bad_line` opens a quote it never closes; `quoted`: every other name is quoted."""
    rows = ["name,brand,price"]
    for i in range(2, lines + 1):
        name = f'"Mug {i}"' if quoted else f"Mug {i}"
        rows.append(name + ",Acme,$5" if i != bad_line else f'"Mug {i},Acme,$5')
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("quoted", [False, True], ids=["rest-unquoted", "rest-quoted"])
@pytest.mark.parametrize("bad_line", [2, 6, 500])
def test_unclosed_quote_is_reported_where_the_field_starts(bad_line, quoted):
    from copy_engine.catalog import read_csv_preview

    with pytest.raises(InputError, match=rf"line {bad_line}\b") as err:
        read_csv_preview(_catalog_with_unclosed_quote(bad_line=bad_line, quoted=quoted), max_rows=2000)
    assert "1001" not in str(err.value)


def test_unclosed_quote_after_a_multiline_cell_names_its_own_line():
    from copy_engine.catalog import read_csv_preview

    data = b'name,description\n"Mug","two\nlines"\n"Cup","ok"\nBowl,"never closed\nmore\nmore\n'
    with pytest.raises(InputError, match=r"line 5\b"):
        read_csv_preview(data, max_rows=10)


def test_import_catalog_cli_names_the_unclosed_quote_line(tmp_path):
    f = tmp_path / "c.csv"
    f.write_bytes(_catalog_with_unclosed_quote())
    one_line_error(cli("import-catalog", str(f), "--db", str(tmp_path / "t.db"), home=tmp_path / "h"), "line 6")


# ---------------------------------------------------------------- 1. long imports and busy databases


def _big_catalog(n: int, start: int = 1) -> bytes:
    return ("name,brand,price\n" + "".join(f"Mug {i},Acme,$5\n" for i in range(start, start + n))).encode()


@pytest.fixture
def short_busy(monkeypatch):
    """A 50 ms busy timeout and no sleeping between retries, so lock contention shows at once."""
    from copy_engine.store import db as store_db
    from copy_engine.store import transactions

    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(transactions, "LOCK_RETRY_PAUSES_S", (0.0, 0.0))


def _hook_row(monkeypatch, at_name: str, action):
    """Run `action()` when the import converts the row named `at_name` (mid-import)."""
    from copy_engine import catalog

    real = catalog.row_to_product

    def hooked(row, mapping):
        if row.get(mapping["name"]) == at_name:
            action()
        return real(row, mapping)

    monkeypatch.setattr(catalog, "row_to_product", hooked)


def test_a_long_import_lets_other_writers_in(tmp_path, monkeypatch, short_busy):
    from copy_engine import catalog
    from copy_engine.store import favourites as fv
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    path = tmp_path / "t.db"
    db = open_db(path)
    kettle = pr.add_product(db, {"name": "Kettle"})
    other = open_db(path)  # another browser tab or CLI process
    saved = []
    _hook_row(monkeypatch, "Mug 1200", lambda: saved.append(fv.save_favourite(other, kettle.id, "headline", "Boil fast", {}, {})))
    report = catalog.import_products(db, _big_catalog(1500), {"name": "name", "brand": "brand"})
    assert saved and report.imported == 1500
    assert [f["text"] for f in fv.list_favourites(db)] == ["Boil fast"]
    assert pr.count_products(db) == 1501


def test_a_product_added_meanwhile_is_not_imported_twice(tmp_path, monkeypatch, short_busy):
    from copy_engine import catalog
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    path = tmp_path / "t.db"
    db = open_db(path)
    other = open_db(path)
    _hook_row(monkeypatch, "Mug 1200", lambda: pr.add_product(other, {"name": "Mug 1400", "brand": "Acme"}))
    report = catalog.import_products(db, _big_catalog(1500), {"name": "name", "brand": "brand"})
    assert report.imported == 1499 and pr.count_products(db) == 1500
    assert [(n, r) for n, r in report.skipped if "already in the catalog" in r][0][0] == 1401  # row 1401 holds Mug 1400
    assert len(report.product_ids) == 1499 and pr.get_product(db, report.product_ids[0]).name == "Mug 1"


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()], ids=["error", "interrupt"])
def test_an_import_that_fails_midway_saves_nothing_and_records_the_run(tmp_path, monkeypatch, failure):
    from copy_engine import catalog
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    db = open_db(tmp_path / "t.db")
    pr.add_product(db, {"name": "Already here"})

    def fail():
        raise failure

    _hook_row(monkeypatch, "Mug 1200", fail)
    with pytest.raises(type(failure)):
        catalog.import_products(db, _big_catalog(1500), {"name": "name"})
    assert [p.name for p in pr.list_products(db)] == ["Already here"]
    assert db.execute("SELECT count(*) FROM import_staging").fetchone()[0] == 0
    run = dict(zip(("status", "error"), db.execute("SELECT status, error FROM import_runs").fetchone()))
    assert run["status"] == "failed" and run["error"]


def test_an_interrupted_import_left_staging_is_cleaned_and_never_shown(tmp_path, monkeypatch):
    """A process killed mid-import leaves staged rows; they are invisible and the next import removes them."""
    from copy_engine import catalog
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    db = open_db(tmp_path / "t.db")
    monkeypatch.setattr(catalog, "_finish_failed_run", lambda *a, **k: None)  # as if the process died
    _hook_row(monkeypatch, "Mug 1200", lambda: (_ for _ in ()).throw(SystemExit(1)))
    with pytest.raises(SystemExit):
        catalog.import_products(db, _big_catalog(1500), {"name": "name"})
    monkeypatch.undo()
    assert pr.count_products(db) == 0 and db.execute("SELECT count(*) FROM import_staging").fetchone()[0] > 0
    db.execute("UPDATE import_runs SET updated_at = '2000-01-01T00:00:00+00:00'")
    db.conn.commit()
    assert catalog.import_products(db, _big_catalog(3), {"name": "name"}).imported == 3
    assert db.execute("SELECT count(*) FROM import_staging").fetchone()[0] == 0
    assert [r[0] for r in db.execute("SELECT status FROM import_runs ORDER BY id")] == ["failed", "done"]


def _hold_write_lock(path):
    import sqlite3

    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO migrations (name, applied_at) VALUES ('lock-holder', 'now')")
    return holder


def test_a_busy_database_is_retried_then_a_clear_error(tmp_path, short_busy):
    from copy_engine.errors import DatabaseBusyError
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    db = open_db(tmp_path / "t.db")
    holder = _hold_write_lock(tmp_path / "t.db")
    with pytest.raises(DatabaseBusyError, match="busy") as err:
        pr.add_product(db, {"name": "Tea"})
    assert isinstance(err.value, CopyLabError)
    holder.execute("ROLLBACK")
    assert pr.add_product(db, {"name": "Tea"}).id  # once the lock is free, it works


def test_cli_import_into_a_busy_database_exits_2_with_one_line(tmp_path, short_busy, capsys):
    from copy_engine.cli import main
    from copy_engine.store import open_db

    path = tmp_path / "t.db"
    open_db(path).conn.close()
    csv_file = tmp_path / "c.csv"
    csv_file.write_bytes(_big_catalog(5))
    holder = _hold_write_lock(path)
    rc = main(["import-catalog", str(csv_file), "--db", str(path)])
    holder.execute("ROLLBACK")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "busy" in err[0], err


def test_cli_turns_a_stray_lock_error_into_one_line(monkeypatch, capsys):
    import sqlite3

    from copy_engine import cli

    def boom(args):
        raise sqlite3.OperationalError("database is locked")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    for action in parser._subparsers._group_actions[0].choices.values():
        action.set_defaults(_run=boom)
    assert cli.main(["ab-report", "x.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "busy" in err[0]


def test_products_page_shows_a_clear_message_when_the_database_is_busy(fake_engine, tmp_home, short_busy):
    from streamlit.testing.v1 import AppTest

    from copy_engine.store import open_db

    open_db().conn.close()
    at = AppTest.from_file(str(ROOT / "pages/1_Products.py"), default_timeout=60).run()
    holder = _hold_write_lock(tmp_home / "copylab.db")
    at.text_input[0].set_value("Busy Tea")
    at = at.button[0].click().run()
    holder.execute("ROLLBACK")
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "busy" in errors and "unexpected" not in errors, errors


def test_pages_word_a_stray_lock_error_clearly():
    import sqlite3

    from ui.feedback import error_message

    text = error_message("Could not save", sqlite3.OperationalError("database is locked"))
    assert "busy" in text and "unexpected" not in text


# ---------------------------------------------------------------- 2. undated results uploaded twice

UNDATED = b"variant,impressions,clicks,conversions\nA,1000,50,5\nB,1000,70,8\n"


def _ab_experiment(path):
    from copy_engine.store import experiments as ex
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    db = open_db(path)
    p = pr.add_product(db, {"name": "Tea"})
    eid = ex.create_experiment(db, "e", p.id, "headline", [{"name": "A", "text": "a"}, {"name": "B", "text": "b"}])
    return db, eid


def _impressions(db, eid):
    from copy_engine.store import experiments as ex

    return [a["impressions"] for a in ex.get_experiment(db, eid)["arms"]]


def test_undated_results_twice_are_a_repeat_not_a_double(tmp_path):
    from copy_engine.experiments.results_csv import result_rows
    from copy_engine.store import experiments as ex

    db, eid = _ab_experiment(tmp_path / "t.db")
    rows = result_rows(UNDATED)
    assert ex.add_results(db, eid, rows) == 2
    with pytest.raises(ex.RepeatedResultsError, match="(?s)already.*replace.*add") as err:
        ex.add_results(db, eid, rows)
    assert isinstance(err.value, InputError) and "'A'" in str(err.value)
    assert _impressions(db, eid) == [1000, 1000], "nothing counted twice"
    ex.add_results(db, eid, [{**r, "impressions": 1200} for r in rows], on_repeat="replace")
    assert _impressions(db, eid) == [1200, 1200]
    ex.add_results(db, eid, rows, on_repeat="add")
    assert _impressions(db, eid) == [2200, 2200]
    with pytest.raises(InputError, match="on_repeat"):
        ex.add_results(db, eid, rows, on_repeat="merge")


def test_dated_repeats_can_be_replaced_but_not_added(tmp_path):
    from copy_engine.store import experiments as ex

    db, eid = _ab_experiment(tmp_path / "t.db")
    row = {"arm": "A", "day": "2025-01-01", "impressions": 100, "clicks": 5, "conversions": 1}
    ex.add_results(db, eid, [row])
    with pytest.raises(InputError, match="already recorded"):
        ex.add_results(db, eid, [row], on_repeat="add")
    ex.add_results(db, eid, [{**row, "impressions": 150}], on_repeat="replace")
    assert _impressions(db, eid) == [150, 0]


def test_cli_add_results_needs_an_explicit_flag_for_a_repeat(tmp_path, capsys):
    from copy_engine.cli import main

    db, eid = _ab_experiment(tmp_path / "t.db")
    f = tmp_path / "r.csv"
    f.write_bytes(UNDATED)
    base = ["add-results", str(eid), str(f), "--db", str(tmp_path / "t.db")]
    assert main(base) == 0
    capsys.readouterr()
    assert main(base) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--replace" in err[0] and "--add" in err[0], err
    assert _impressions(db, eid) == [1000, 1000]
    assert main([*base, "--replace"]) == 0 and _impressions(db, eid) == [1000, 1000]
    assert main([*base, "--add"]) == 0 and _impressions(db, eid) == [2000, 2000]


def test_experiments_page_asks_replace_or_add_for_a_repeated_upload(fake_engine, tmp_home):
    from streamlit.testing.v1 import AppTest

    from copy_engine.store import open_db

    db, eid = _ab_experiment(tmp_home / "copylab.db")
    at = AppTest.from_file(str(ROOT / "pages/3_Experiments.py"), default_timeout=60).run()

    def upload(at):
        at.file_uploader(key=f"results_upload_{eid}").set_value(("r.csv", UNDATED, "text/csv"))
        at = at.run()
        return next(b for b in at.button if b.label == "Import results").click().run()

    at = upload(at)
    assert not at.exception and _impressions(db, eid) == [1000, 1000]
    at = upload(at)
    assert not at.exception and _impressions(db, eid) == [1000, 1000], "a repeat is not counted until the user says so"
    assert any("already" in w.value for w in at.warning), [w.value for w in at.warning]
    at = next(b for b in at.button if b.label.startswith("Add")).click().run()
    assert not at.exception and _impressions(open_db(), eid) == [2000, 2000]
    at = upload(at)
    at = next(b for b in at.button if b.label.startswith("Replace")).click().run()
    assert not at.exception and _impressions(open_db(), eid) == [1000, 1000]


# ---------------------------------------------------------------- 8. smaller findings

CR_TEXTS = ["Intro\r\r    code line", "Intro\r    indented\rmore", "a\r\n\r\n    b", "\r    lead", "x\r\r\t\tcode",
            "a\r\r```\rfenced\r```", "a\r\r~~~\rfenced"]  # fmt: skip


@pytest.mark.parametrize("text", CR_TEXTS, ids=ascii)
def test_lone_carriage_returns_never_make_a_code_block(text):
    from markdown_it import MarkdownIt

    from ui.text import escape_md, highlight_flags

    for shown in (escape_md(text), highlight_flags(text, [])):
        html = MarkdownIt("commonmark").render(shown)
        assert "<pre" not in html and "<code" not in html, (shown, html)
        assert "\r" not in shown


def _long_cells_csv() -> bytes:
    features = " | ".join(f"feature {i}" for i in range(15))
    rows = [
        "name,brand,features,description",
        f"{'N' * 250},Acme,{features},{'d' * 2500}",
        "Short Mug,Acme,a | b,fine",
        f"Long Brand Mug,{'B' * 350},{'f' * 400} | ok,",
    ]
    return ("\n".join(rows) + "\n").encode()


def test_import_report_says_which_cells_were_cut(tmp_path):
    from copy_engine import catalog
    from copy_engine.store import open_db

    report = catalog.import_products(open_db(tmp_path / "t.db"), _long_cells_csv())
    assert report.imported == 3
    notes = dict(report.truncated)
    assert set(notes) == {2, 4}, report.truncated
    assert "name cut to 200 characters (from 250)" in notes[2]
    assert "description cut to 2,000 characters (from 2,500)" in notes[2]
    assert "kept the first 12 of 15 features" in notes[2]
    assert "brand cut to 300 characters (from 350)" in notes[4] and "1 feature cut to 300 characters" in notes[4]


def test_import_catalog_cli_lists_cut_cells(tmp_path):
    f = tmp_path / "c.csv"
    f.write_bytes(_long_cells_csv())
    r = cli("import-catalog", str(f), "--db", str(tmp_path / "t.db"), home=tmp_path / "h")
    assert r.returncode == 0, r.stderr
    assert "shortened 2 rows" in r.stdout and "row 2: name cut to 200 characters" in r.stdout, r.stdout


def test_products_page_lists_cut_cells_after_an_import(fake_engine, tmp_home):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages/1_Products.py"), default_timeout=60).run()
    at.file_uploader[0].set_value(("long.csv", _long_cells_csv(), "text/csv"))
    at = at.run()
    at = next(b for b in at.button if b.label.startswith("3. Import")).click().run()
    assert not at.exception
    shown = " ".join(str(d.value.to_dict()) for d in at.dataframe) + " ".join(x.value for x in at.warning)
    assert "name cut to 200 characters" in shown and "shortened 2" in shown, shown[:500]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_as_text(encoding, tmp_path):
    from copy_engine import catalog
    from copy_engine.store import open_db

    data = "name,brand,price\nThé vert,Maison Café,€5\nMug,Acme,$4\n".encode(encoding)
    columns, rows = catalog.read_csv_preview(data)
    assert columns == ["name", "brand", "price"] and rows[0]["name"] == "Thé vert"
    assert catalog.import_products(open_db(tmp_path / "t.db"), data).imported == 2


def test_binary_with_nul_bytes_still_gets_the_spreadsheet_message():
    from copy_engine import catalog

    with pytest.raises(InputError, match="xlsx"):
        catalog.read_csv_preview(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 8)


RESULTS_TEXT = "variant,impressions,clicks,conversions,headline\nA,100,5,1,Café déjà vu\nB,120,9,2,Crème brûlée\n"


@pytest.mark.parametrize(
    "data",
    [
        RESULTS_TEXT.encode("cp1252"),
        RESULTS_TEXT.encode("utf-8-sig"),
        RESULTS_TEXT.encode("utf-16"),
        RESULTS_TEXT.encode("utf-16-le"),
        RESULTS_TEXT.replace(",", ";").encode("cp1252"),  # European Excel
        RESULTS_TEXT.replace(",", "\t").encode("utf-8"),
    ],
    ids=["cp1252", "utf8-bom", "utf16-bom", "utf16-le", "semicolon", "tab"],
)
def test_results_csv_reads_what_the_catalog_import_reads(data, tmp_path):
    from copy_engine import catalog
    from copy_engine.experiments import read_results_csv

    catalog.read_csv_preview(data)  # the catalog reader accepts it …
    arms = read_results_csv(data)  # … and so does the results reader
    assert [(a.variant, a.clicks, a.text) for a in arms] == [("A", 5, "Café déjà vu"), ("B", 9, "Crème brûlée")]
    f = tmp_path / "r.csv"
    f.write_bytes(data)
    assert read_results_csv(f)[1].text == "Crème brûlée"


def test_results_csv_names_the_line_of_an_unclosed_quote():
    from copy_engine.experiments import read_results_csv

    rows = ["variant,impressions,clicks,conversions,headline", 'A,100,5,1,"never closed'] + [f"X{i},1,0,0,t" for i in range(50)]
    with pytest.raises(InputError, match=r"line 2\b"):
        read_results_csv(("\n".join(rows) + "\n").encode())


def test_results_csv_refuses_a_huge_file(tmp_path, monkeypatch):
    from copy_engine import csvtext
    from copy_engine.experiments import read_results_csv

    monkeypatch.setattr(csvtext, "MAX_BYTES", 1000)
    f = tmp_path / "r.csv"
    f.write_bytes(b"variant,impressions,clicks,conversions\n" + b"A,1,0,0\n" * 500)
    with pytest.raises(InputError, match="too large"):
        read_results_csv(f)
    with pytest.raises(InputError, match="too large"):
        read_results_csv(f.read_bytes())


def test_server_catalog_path_is_limited_to_copylab_home(tmp_path):
    from ui.server_files import server_catalog_path

    home = tmp_path / "home"
    (home / "catalogs").mkdir(parents=True)
    inside = home / "catalogs" / "c.csv"
    inside.write_text("name\nTea\n")
    outside = tmp_path / "secret.csv"
    outside.write_text("name\nsecret\n")
    (home / "link.csv").symlink_to(outside)
    assert server_catalog_path(str(inside), home) == str(inside.resolve())
    assert server_catalog_path("catalogs/c.csv", home) == str(inside.resolve()), "relative to COPYLAB_HOME"
    for bad in ["/etc/passwd", str(outside), "../secret.csv", str(home / "link.csv"), str(home / "catalogs" / ".." / ".." / "secret.csv")]:
        with pytest.raises(InputError, match="COPYLAB_HOME"):
            server_catalog_path(bad, home)
    with pytest.raises(InputError, match="not found"):
        server_catalog_path(str(home / "nope.csv"), home)


def test_insights_page_refuses_a_server_path_outside_copylab_home(fake_engine, tmp_home, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import copy_engine.evaluation.run as run

    calls = []
    monkeypatch.setattr(run, "evaluate", lambda *a, **k: calls.append(a))
    outside = tmp_path / "outside.csv"
    outside.write_text("name\nTea\n")
    at = AppTest.from_file(str(ROOT / "pages/5_Insights.py"), default_timeout=60).run()
    for path in (str(outside), "/etc/passwd"):
        at.text_input(key="ins_path").set_value(path)
        at = at.button(key="ins_run").click().run()
        assert not at.exception
        errors = " ".join(e.value for e in at.error)
        assert "COPYLAB\\_HOME" in errors or "COPYLAB_HOME" in errors, errors
    assert calls == [], "no evaluation ran on a file outside COPYLAB_HOME"


# ---------------------------------------------------------------- probes beyond the issue


@pytest.mark.parametrize("page", ["app.py", "pages/1_Products.py", "pages/2_Favourites.py", "pages/3_Experiments.py",
                                  "pages/4_Adapters.py"])  # fmt: skip
def test_pages_show_a_clear_message_for_an_unusable_database(page, fake_engine, tmp_home):
    from streamlit.testing.v1 import AppTest

    tmp_home.mkdir(parents=True, exist_ok=True)
    (tmp_home / "copylab.db").write_bytes(b"not a database at all " * 100)
    at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("not a usable CopyLab database" in e.value for e in at.error)


def test_a_page_opening_a_database_whose_migration_waits_on_a_lock_says_busy(fake_engine, tmp_home, short_busy):
    import sqlite3

    from streamlit.testing.v1 import AppTest

    from copy_engine.store.migrations import MIGRATIONS, apply_migrations
    from copy_engine.store import open_db

    old = open_db(tmp_home / "copylab.db", migrate=False)
    apply_migrations(old, MIGRATIONS[:-1])  # an older database: the last migration is still to run
    old.conn.close()
    holder = sqlite3.connect(str(tmp_home / "copylab.db"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO migrations (name, applied_at) VALUES ('lock-holder', 'now')")
    at = AppTest.from_file(str(ROOT / "pages/1_Products.py"), default_timeout=60).run()
    holder.execute("ROLLBACK")
    assert not at.exception, [e.message for e in at.exception]
    assert any("busy" in e.value for e in at.error)


def test_deeply_nested_or_huge_json_is_a_clear_error(tmp_path, monkeypatch):
    from copy_engine import jsonfile
    from copy_engine.product import Product

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        Product.from_json_file(deep)
    monkeypatch.setattr(jsonfile, "MAX_JSON_BYTES", 100)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"name": "Tea", "description": "x" * 500}))
    with pytest.raises(InputError, match="too large"):
        Product.from_json_file(big)


def test_generate_with_deeply_nested_json_exits_2(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text("[" * 100_000)
    one_line_error(cli("generate", "--product", str(f), home=tmp_path / "h"), "nested too deeply")


@pytest.mark.parametrize("price", [float("nan"), float("inf"), float("-inf")])
def test_a_price_that_is_not_a_number_is_refused(price):
    from copy_engine.product import Product

    with pytest.raises(InputError, match="price"):
        Product.from_dict({"name": "Tea", "price": price})


def test_ab_report_refuses_more_variants_than_it_can_analyse(tmp_path):
    from copy_engine.experiments import analyze
    from copy_engine.experiments.arms import MAX_VARIANTS, ArmResult

    arms = [ArmResult(f"V{i}", 1000, 10 + i % 7, 1) for i in range(MAX_VARIANTS + 1)]
    with pytest.raises(InputError, match=f"at most {MAX_VARIANTS} variants"):
        analyze(arms)
    f = tmp_path / "many.csv"
    f.write_text("variant,impressions,clicks,conversions\n" + "".join(f"V{i},1000,5,1\n" for i in range(5000)))
    one_line_error(cli("ab-report", str(f), home=tmp_path / "h"), f"at most {MAX_VARIANTS} variants")


def test_two_imports_of_the_same_file_at_once_store_each_product_once(tmp_path):
    import threading

    from copy_engine import catalog
    from copy_engine.store import open_db
    from copy_engine.store import products as pr

    path = tmp_path / "t.db"
    open_db(path).conn.close()
    data = _big_catalog(2000)
    reports, errors = [], []

    def run():
        db = open_db(path)
        try:
            reports.append(catalog.import_products(db, data, {"name": "name", "brand": "brand"}))
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert pr.count_products(open_db(path)) == 2000
    assert sorted(r.imported for r in reports)[1] + sorted(r.imported for r in reports)[0] == 2000
    assert all(r.imported + len(r.skipped) == 2000 for r in reports)


def test_astronomic_counts_typed_in_the_results_editor_are_refused(tmp_path):
    import pandas as pd

    from copy_engine.store import experiments as ex
    from ui.experiments import rows_from_editor

    db, eid = _ab_experiment(tmp_path / "t.db")
    frame = pd.DataFrame({"arm": ["A", "B"], "day": [None, None], "impressions": [1e30, 10.0], "clicks": [1.0, 1.0],
                          "conversions": [0.0, 0.0]})  # fmt: skip
    with pytest.raises(InputError, match="row 1: impressions must be at most"):
        ex.add_results(db, eid, rows_from_editor(frame))
    assert _impressions(db, eid) == [0, 0]


def test_insights_upload_is_read_from_a_private_copy_that_is_removed_afterwards(fake_engine, tmp_home, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import copy_engine.evaluation.run as run

    seen = []

    def fake_evaluate(settings, out, **kwargs):
        catalog = Path(settings.catalog)
        seen.append((catalog, catalog.read_bytes()))
        raise InputError("stop here")  # the evaluation itself is tested elsewhere

    monkeypatch.setattr(run, "evaluate", fake_evaluate)
    at = AppTest.from_file(str(ROOT / "pages/5_Insights.py"), default_timeout=60).run()
    at.file_uploader(key="ins_upload").set_value(("../../evil.csv", b"name\nTea\n", "text/csv"))
    at = at.run()
    at = at.button(key="ins_run").click().run()
    assert not at.exception and any("stop here" in e.value for e in at.error), [e.value for e in at.error]
    (catalog, data), = seen
    assert data == b"name\nTea\n" and catalog.name == "catalog.csv"
    assert not catalog.parent.exists(), "the temporary copy is removed after the run"


def test_an_import_that_meets_a_stuck_lock_fails_once_not_twice(tmp_path, monkeypatch, short_busy):
    import time

    from copy_engine import catalog
    from copy_engine.errors import DatabaseBusyError
    from copy_engine.store import open_db
    from copy_engine.store import products as pr
    from copy_engine.store import transactions

    path = tmp_path / "t.db"
    db = open_db(path)
    begins = []
    real_begin = transactions._begin_immediate
    monkeypatch.setattr(transactions, "_begin_immediate", lambda d: (begins.append(time.time()), real_begin(d))[1])
    holder = []
    _hook_row(monkeypatch, "Mug 1200", lambda: holder.append(_hold_write_lock(path)))
    with pytest.raises(DatabaseBusyError):
        catalog.import_products(db, _big_catalog(1500), {"name": "name"})
    holder[0].execute("ROLLBACK")
    assert len(begins) == 4, "start run + 2 batches + the failed third; no second wait to clean up"
    assert pr.count_products(db) == 0


@pytest.mark.parametrize("content", [b"\xff\xfe{\"name\": \"x\"}", b"{\"name\": " + b"[" * 100_000], ids=["not-utf8", "deep"])
def test_import_catalog_mapping_file_that_is_not_usable_json_exits_2(tmp_path, content):
    csv_file = tmp_path / "c.csv"
    csv_file.write_bytes(b"name\nTea\n")
    mapping = tmp_path / "m.json"
    mapping.write_bytes(content)
    one_line_error(cli("import-catalog", str(csv_file), "--mapping", str(mapping), "--db", str(tmp_path / "t.db"),
                       home=tmp_path / "h"), "mapping")  # fmt: skip


def test_a_pending_replace_or_add_question_goes_away_after_another_save(fake_engine, tmp_home):
    from streamlit.testing.v1 import AppTest

    db, eid = _ab_experiment(tmp_home / "copylab.db")
    at = AppTest.from_file(str(ROOT / "pages/3_Experiments.py"), default_timeout=60).run()

    def upload(at, data):
        at.file_uploader(key=f"results_upload_{eid}").set_value(("r.csv", data, "text/csv"))
        return next(b for b in at.run().button if b.label == "Import results").click().run()

    at = upload(upload(at, UNDATED), UNDATED)
    assert any("already" in w.value for w in at.warning)
    at = upload(at, b"variant,day,impressions,clicks,conversions\nA,2025-01-01,10,1,0\nB,2025-01-01,10,2,0\n")
    assert not at.exception and not any("already" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label.startswith("Add them")], "no stale buttons that would add old rows"
