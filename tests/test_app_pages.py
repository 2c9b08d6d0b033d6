"""AppTest smoke tests of the Streamlit pages, with the models faked (no model loads).

Each test drives a page like a user would: fill widgets, press buttons, then
check what the page shows and what ended up in the database.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    return at.run()


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def button(at: AppTest, label: str):
    """The first button whose label starts with `label`."""
    matches = [b for b in at.button if b.label.startswith(label)]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def db():
    from copy_engine.store import open_db

    return open_db()


def add_product_on_draft(at: AppTest, name="Organic Green Tea", brand="Leafwell") -> AppTest:
    at.text_input(key="qa_name").set_value(name)
    at.text_input(key="qa_brand").set_value(brand)
    at.text_input(key="qa_category").set_value("Grocery | Tea")
    at.text_area(key="qa_features").set_value("USDA certified organic\n20 pyramid tea bags")
    at.text_input(key="qa_price").set_value("$5.99")
    return button(at, "Add product").click().run()


def test_draft_page_add_generate_edit_save_regenerate(app):
    at = page("app.py")
    no_exceptions(at)
    assert any("catalog is empty" in i.value for i in at.info)

    at = add_product_on_draft(at)
    no_exceptions(at)
    assert any("Organic Green Tea" in s.value for s in at.success)
    assert at.selectbox(key="product_select").value is not None

    at.slider(key="creativity").set_value(0.8)
    at.slider(key="n").set_value(3)
    at = button(at, "Generate").click().run()
    no_exceptions(at)
    cards = at.session_state["draft"].cards
    assert len(cards) == 3
    assert app.calls, "the (fake) generator was used"
    shown = " ".join(m.value for m in at.markdown)
    assert "Variant 3" in shown and "-badge[Overall" in shown
    assert any(c.value == cards[0].text for c in at.code), "each card offers its text in a copy box"
    with db() as conn:
        runs = list(conn.query("SELECT * FROM runs"))
    assert len(runs) == 1 and runs[0]["creativity"] == pytest.approx(0.8)

    # Edit the first card in place: the new text is re-scored.
    uid = cards[0].uid
    at = button(at, "Edit").click().run()
    at.text_area(key=f"edit_text_{uid}").set_value("Organic green tea, 20 pyramid bags. Order today!")
    at = button(at, "Re-score").click().run()
    no_exceptions(at)
    card = at.session_state["draft"].cards[0]
    assert card.text == "Organic green tea, 20 pyramid bags. Order today!" and card.edited
    assert card.variant.scores["cta"] > 0.5, "the edit added a call to action and the CTA score saw it"

    # Save it as a favourite.
    at = button(at, "Save").click().run()
    no_exceptions(at)
    assert any("Saved" in s.value for s in at.success)
    from copy_engine.store.favourites import list_favourites

    favs = list_favourites(db())
    assert [f["text"] for f in favs] == [card.text]
    assert favs[0]["settings"]["creativity"] == pytest.approx(0.8) and favs[0]["settings"]["edited"] is True

    # Regenerate just the second card: only it changes, with a new seed.
    before = [c.text for c in at.session_state["draft"].cards]
    second_uid = at.session_state["draft"].cards[1].uid
    at = at.button(key=f"regen_{second_uid}").click().run()
    no_exceptions(at)
    after = at.session_state["draft"].cards
    assert after[0].text == before[0] and after[2].text == before[2]
    assert after[1].uid != second_uid and after[1].settings.seed >= 1
    assert after[1].text not in (before[0], before[2])


SMALL_CSV = (
    b"Title,Maker,Cost,Key Features,Notes\n"
    b"Trail Mug,Peakware,$19.99,Keeps coffee hot 6 hours | Leak-proof lid,ok\n"
    b",NoName,$1,,missing name\n"
    b"Trail Mug,Peakware,$19.99,dup,duplicate row\n"
    b'Desk Lamp,Lumo,"$ 34 99",Dimmable | USB-C,\n'
)


def test_products_page_add_edit_import(app):
    at = page("pages/1_Products.py")
    no_exceptions(at)
    assert any("No products yet" in i.value for i in at.info)

    at.text_input[0].set_value("Cold Brew Maker")  # the add form's name field (no catalog search yet)
    at = button(at, "Add product").click().run()
    no_exceptions(at)
    assert any("Cold Brew Maker" in s.value for s in at.success)

    at.file_uploader[0].set_value(("catalog.csv", SMALL_CSV, "text/csv"))
    at = at.run()
    no_exceptions(at)
    # guess_mapping preselects the columns; the user maps one more by hand.
    mapping = {s.label: s for s in at.selectbox}
    assert mapping["Name *"].value == "Title" and mapping["Brand"].value == "Maker"
    assert mapping["Description"].value == "(none)"
    at = mapping["Description"].set_value("Notes").run()
    at = button(at, "3. Import products").click().run()
    no_exceptions(at)
    report = at.session_state["import_report"]
    assert report["imported"] == 2 and len(report["skipped"]) == 2
    assert any("imported 2 products, skipped 2 rows" in s.value for s in at.success)
    from copy_engine.store.products import list_products

    names = sorted(p.name for p in list_products(db()))
    assert names == ["Cold Brew Maker", "Desk Lamp", "Trail Mug"]
    lamp = next(p for p in list_products(db()) if p.name == "Desk Lamp")
    assert lamp.price == "$34.99" and lamp.features == ["Dimmable", "USB-C"]
    mug = next(p for p in list_products(db()) if p.name == "Trail Mug")
    assert mug.description == "ok", "the hand-picked description column was used"


def test_products_page_rejects_a_non_csv_upload(app):
    at = page("pages/1_Products.py")
    at.file_uploader[0].set_value(("catalog.csv", b"\x00\x01\x02 not text", "text/csv"))
    at = at.run()
    no_exceptions(at)
    assert any("not a CSV text file" in e.value for e in at.error)


def test_products_page_imports_the_amazon_sample_as_it_is(app, shared_data):
    data = (shared_data / "products" / "amazon_products_sample.csv").read_bytes()
    at = page("pages/1_Products.py")
    at.file_uploader[0].set_value(("amazon_products_sample.csv", data, "text/csv"))
    at = at.run()
    no_exceptions(at)
    at = button(at, "3. Import products").click().run()
    no_exceptions(at)
    report = at.session_state["import_report"]
    assert report["imported"] > 500
    from copy_engine.store.products import count_products

    assert count_products(db()) == report["imported"]


def record_downloads(monkeypatch) -> list[dict]:
    """Wrap st.download_button so the test sees the bytes a page offers for download."""
    offered = []
    original = st.download_button

    def spy(label, data=None, file_name=None, *args, **kwargs):
        offered.append({"label": label, "data": data, "file_name": file_name})
        return original(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    return offered


def test_draft_to_favourites_approve_and_export(app, monkeypatch):
    at = add_product_on_draft(page("app.py"))
    at = button(at, "Generate").click().run()
    saved_text = at.session_state["draft"].cards[1].text
    at = at.button(key=f"save_{at.session_state['draft'].cards[1].uid}").click().run()
    no_exceptions(at)

    offered = record_downloads(monkeypatch)
    fav = page("pages/2_Favourites.py")
    no_exceptions(fav)
    assert any(saved_text in str(v) for v in fav.dataframe[0].value["text"])
    from copy_engine.store.favourites import list_favourites, status_history

    fid = list_favourites(db())[0]["id"]
    selection = fav.multiselect(key="bulk_selection")
    fav = selection.select(selection.options[0]).run()
    fav.text_input(key="bulk_note").set_value("ok for the spring campaign")
    fav = button(fav, "Approve selected").click().run()
    no_exceptions(fav)
    assert any("1 favourite(s) now approved" in s.value for s in fav.success)
    assert list(fav.dataframe[0].value["status"]) == ["approved"]

    data = offered[-1]["data"]
    assert offered[-1]["file_name"].endswith(".csv") and data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["text"] for r in rows] == [saved_text]
    assert rows[0]["product_name"] == "Organic Green Tea" and rows[0]["approved_at"]

    # One favourite's own controls: back to draft with a note, and regenerate from its settings.
    fav.selectbox(key=f"status_{fid}").set_value("draft")
    fav.text_input(key=f"note_{fid}").set_value("needs a shorter version")
    fav = fav.button(key=f"apply_{fid}").click().run()
    no_exceptions(fav)
    assert [h["to_status"] for h in status_history(db(), fid)] == ["draft", "approved", "draft"]
    fav = fav.button(key=f"regen_{fid}").click().run()
    no_exceptions(fav)
    assert fav.session_state[f"regen_{fid}_result"]["reproduced"], "same seed and settings wrote the same copy"
    assert any("wrote this copy again" in s.value for s in fav.success)


def test_favourites_page_empty_state(app):
    at = page("pages/2_Favourites.py")
    no_exceptions(at)
    assert any("Nothing saved yet" in i.value for i in at.info)


def test_experiments_page_create_import_results_and_verdict(app, monkeypatch):
    from copy_engine.store.favourites import save_favourite, set_status
    from copy_engine.store.products import add_product

    conn = db()
    product = add_product(conn, {"name": "Trail Mug", "brand": "Peakware", "features": ["Keeps coffee hot 6 hours"]})
    fid = save_favourite(conn, product.id, "headline", "Hot coffee for 6 hours, wherever the trail goes", {}, {})
    set_status(conn, fid, "approved")

    at = page("pages/3_Experiments.py")
    no_exceptions(at)
    assert any("No experiments yet" in i.value for i in at.info)
    from copy_engine.experiments import sample_size

    assert at.metric[0].value == f"{sample_size(0.02, 0.10, 0.05, 0.8):,}", "calculator defaults: 2% rate, +10% lift"

    at.text_area(key="new_exp_control_text").set_value("Trail Mug: a steel travel mug")
    choice = at.multiselect(key="new_exp_variants")
    assert choice.options == [f"#{fid} · Hot coffee for 6 hours, wherever the trail goes"]
    at = choice.select(choice.options[0]).run()
    at = button(at, "Create experiment").click().run()
    no_exceptions(at)
    exp_id = at.session_state["experiment_select"]
    from copy_engine.store.experiments import get_experiment

    arms = get_experiment(conn, exp_id)["arms"]
    assert [(a["name"], a["is_control"], a["favourite_id"]) for a in arms] == [("A", True, None), ("B", False, fid)]
    assert any("No results yet" in i.value for i in at.info)

    results = (
        b"variant,day,impressions,clicks,conversions\n"
        b"A,2025-05-01,5000,100,10\nB,2025-05-01,5000,160,18\n"
        b"A,2025-05-02,5000,100,9\nB,2025-05-02,5000,170,20\n"
    )
    at.file_uploader(key=f"results_upload_{exp_id}").set_value(("results.csv", results, "text/csv"))
    at = button(at.run(), "Import results").click().run()
    no_exceptions(at)
    assert any("Imported 4 result row(s)" in s.value for s in at.success)
    verdict = " ".join(i.value for i in at.info)
    assert "B beats control" in verdict
    table = next(d.value for d in at.dataframe if "CTR" in d.value.columns)
    assert list(table["arm"]) == ["A (control)", "B"] and list(table["clicks"]) == [200, 330]

    offered = record_downloads(monkeypatch)
    at = button(at, "▶ Start").click().run()
    assert get_experiment(conn, exp_id)["status"] == "running"
    exported = offered[-1]["data"].decode("utf-8-sig")
    assert exported.splitlines()[1].startswith("A,2025-05-01,5000,100,10,yes,")
    from copy_engine.experiments import read_results_csv

    assert [a.clicks for a in read_results_csv(exported)] == [200, 330], "the export reads back as it was analysed"


def test_experiments_page_rejects_results_for_unknown_arms(app):
    from copy_engine.store.experiments import create_experiment
    from copy_engine.store.products import add_product

    conn = db()
    product = add_product(conn, {"name": "Desk Lamp"})
    create_experiment(
        conn, "lamp", product.id, "headline", [{"name": "A", "text": "old"}, {"name": "B", "text": "new"}]
    )
    at = page("pages/3_Experiments.py")
    upload = next(u for u in at.file_uploader if u.key.startswith("results_upload_"))
    upload.set_value(("r.csv", b"variant,impressions,clicks,conversions\nA,100,5,1\nZ,100,9,2\n", "text/csv"))
    at = button(at.run(), "Import results").click().run()
    no_exceptions(at)
    assert any("unknown arm" in e.value for e in at.error)


def test_untrusted_text_renders_literally():
    from copy_engine.scoring.flags import FLAG_KINDS, Flag
    from ui.text import FLAG_COLOURS, escape_md, highlight_flags

    hostile = "**Bold** [x](http://evil.example) :red[boom] $x^2$ <b>hi</b> a@b.co"
    escaped = escape_md(hostile)
    unescaped = [c for i, c in enumerate(escaped) if c in "*[]()$:<>`_" and (i == 0 or escaped[i - 1] != "\\")]
    assert not unescaped, "every Markdown special character is backslash-escaped"
    assert "http://" not in escaped and "@b" not in escaped, "bare URLs and e-mails cannot autolink"
    text = "Now 50% off: the only tea you need]"
    flags = [Flag(start=4, end=11, text="50% off", kind="unsupported_number", reason="not in facts")]
    marked = highlight_flags(text, flags)
    assert marked.startswith("Now :red-background[50\\% off]") and marked.endswith("need\\]")
    assert set(FLAG_COLOURS) == set(FLAG_KINDS)


def test_draft_page_shows_engine_errors_without_a_traceback(app, monkeypatch):
    from copy_engine.errors import InputError

    at = add_product_on_draft(page("app.py"))

    def broken(*args, **kwargs):
        raise InputError("the model produced no usable copy for this product")

    monkeypatch.setattr("copy_engine.generate.generate", broken)
    monkeypatch.setattr("ui.engine.generate", broken)
    at = button(at, "Generate").click().run()
    no_exceptions(at)
    assert any("no usable copy" in e.value for e in at.error)
