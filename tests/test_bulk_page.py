"""AppTest smoke tests of the Bulk page (pages/6_Bulk.py) and the Favourites page's job filter and
approve-by-score action, with the models faked. The job runs in a background thread of the test
process, as it does in the server."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from copy_engine import bulk
from copy_engine.settings import Settings
from copy_engine.store import open_db
from copy_engine.store.favourites import list_favourites
from copy_engine.store.products import add_product
from test_app_pages import ROOT, TIMEOUT, button, no_exceptions


def page(path: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def add_products(*names):
    db = open_db()
    fields = {"category": "Home | Kitchen", "features": ["Dishwasher safe"]}
    return [add_product(db, {"name": n, **fields}).id for n in names]


def wait_for(job_id, statuses, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        p = bulk.job_progress(open_db(), job_id)
        if p.status in statuses and not bulk.running_here(str(Settings.from_env().db_path), job_id):
            return p
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {statuses}: {bulk.job_progress(open_db(), job_id)}")


def test_bulk_page_empty_catalog(app):
    at = page("pages/6_Bulk.py")
    no_exceptions(at)
    assert any("No products yet" in i.value for i in at.info)


def test_bulk_page_runs_a_job_and_links_to_its_drafts(app):
    ids = add_products("Tea Cup", "Desk Lamp", "Trail Mug")
    at = page("pages/6_Bulk.py")
    no_exceptions(at)
    at.radio(key="bulk_products_from").set_value("Selected products")
    at = at.run()
    at.multiselect(key="bulk_picked").set_value(ids[:2])
    at.multiselect(key="bulk_channels").set_value(["headline"])
    at.slider(key="bulk_n").set_value(2)
    at.slider(key="bulk_creativity").set_value(0.7)
    at = button(at, "▶ Start").click().run()
    no_exceptions(at)
    job_id = at.session_state["bulk_job"]
    p = wait_for(job_id, {"done"})
    assert p.done == 2 and p.total == 2

    at = page("pages/6_Bulk.py")
    no_exceptions(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Products written"] == "2" and metrics["Variants"] == "4"
    assert float(metrics["Mean overall"]) > 0
    assert any(f"Favourites?job={job_id}" in m.value for m in at.markdown), "a link to the job's drafts"
    favs = list_favourites(open_db(), job_id=job_id)
    assert len(favs) == 4 and all(f["settings"]["creativity"] == pytest.approx(0.7) for f in favs)

    # Favourites opened from that link: only this job's drafts, and approve-by-score.
    other = add_products("Other Thing")[0]
    from copy_engine.store.favourites import save_favourite

    save_favourite(open_db(), other, "headline", "Not from the job", {"faithfulness": 1.0}, {})
    fav = page("pages/2_Favourites.py", job=job_id)
    no_exceptions(fav)
    assert fav.selectbox(key="job_filter").value == job_id
    assert any(f"4 favourite(s) written by bulk job {job_id}" in c.value for c in fav.caption)
    assert len(fav.dataframe[0].value) == 4
    fav.slider(key="approve_threshold").set_value(0.0)
    fav = fav.run()
    assert not any("only faithfulness is checked" in c.value for c in fav.caption)  # the judge scored every draft
    fav = fav.button(key="approve_above").click().run()
    no_exceptions(fav)
    statuses = {f["text"]: f["status"] for f in list_favourites(open_db())}
    assert statuses.pop("Not from the job") == "draft", "outside the job's filter"
    assert set(statuses.values()) == {"approved"}


def test_bulk_page_pause_resume_cancel_and_interrupted(app, monkeypatch):
    ids = add_products("Tea Cup", "Desk Lamp", "Trail Mug", "Bread Bin")
    original = app.complete

    def slow(*a, **k):
        time.sleep(0.3)
        return original(*a, **k)

    monkeypatch.setattr(app, "complete", slow)
    at = page("pages/6_Bulk.py")
    at.multiselect(key="bulk_channels").set_value(["headline"])
    at.slider(key="bulk_n").set_value(1)
    at = button(at, "▶ Start").click().run()
    no_exceptions(at)
    job_id = at.session_state["bulk_job"]
    at = at.run()
    assert any(b.label == "⏸ Pause" for b in at.button), [b.label for b in at.button]
    at = button(at, "⏸ Pause").click().run()
    no_exceptions(at)
    p = wait_for(job_id, {"paused"})
    assert p.finished < 4
    at = page("pages/6_Bulk.py")
    assert any("Paused" in i.value for i in at.info)

    monkeypatch.setattr(app, "complete", original)
    at = button(at, "▶ Resume").click().run()
    no_exceptions(at)
    assert wait_for(job_id, {"done"}).done == 4
    keys = list(open_db().query("SELECT position FROM bulk_job_variants WHERE job_id = ?", [job_id]))
    assert len(keys) == 4, "no product written twice across pause and resume"

    # A job left 'running' by a process that died shows as interrupted, and can be cancelled.
    db = open_db()
    other = bulk.create_job_from_products(db, ids[:2], bulk.BulkSettings(channels=("headline",), n=1), "left-over")
    db.execute(
        "UPDATE bulk_jobs SET status = 'running', worker = 'elsewhere:1:1', "
        "heartbeat_at = '2020-01-01T00:00:00+00:00' WHERE id = ?",
        [other],
    )
    db.conn.commit()
    at = page("pages/6_Bulk.py")
    at.selectbox(key="bulk_job").set_value(other)
    at = at.run()
    no_exceptions(at)
    assert any("stopped" in w.value for w in at.warning)
    at = button(at, "✖ Cancel").click().run()
    no_exceptions(at)
    assert bulk.job_progress(open_db(), other).status == "cancelled"
