"""Bulk: copy for many products at once. Choose products, channels and sliders; start, pause, resume,
cancel. The job runs in the server in the background with its state in the database, so closing the
tab loses nothing and reopening the page shows its progress."""

from urllib.parse import quote

import streamlit as st
from streamlit.errors import StreamlitAPIException

from copy_engine import bulk
from copy_engine.channels import CHANNELS
from copy_engine.generate import MAX_VARIANTS
from copy_engine.store.export import CSV_ENCODING
from copy_engine.store.products import list_products
from ui import bulk as ui_bulk
from ui.controls import slider_help
from ui.db import get_db
from ui.feedback import flash, show_flashes, user_errors
from ui.text import escape_md, short

st.set_page_config(page_title="CopyLab · Bulk", page_icon="📚", layout="wide")
db = get_db()
ss = st.session_state

st.title("Bulk")
st.caption(
    "Write copy for a whole catalog, a category, a search or chosen products. Every variant is saved as a "
    "draft favourite to review in **Favourites**. The job runs on the server: close the tab whenever you like."
)
show_flashes()

products = list_products(db)
if not products:
    st.info("No products yet. Import a catalog on the **Products** page first.")
    st.stop()

# ---------------------------------------------------------------- new job

with st.expander("New bulk job", expanded=not bulk.list_jobs(db, limit=1)):
    c1, c2 = st.columns(2)
    with c1:
        selection = st.radio("Products", ui_bulk.SELECTIONS, horizontal=True, key="bulk_products_from")
        category = query = ""
        picked: list[int] = []
        if selection == "A category":
            category = st.selectbox("Category", ui_bulk.categories(products), key="bulk_category") or ""
        elif selection == "A search":
            query = st.text_input("Search", key="bulk_query", placeholder="name, brand or category")
        elif selection == "Selected products":
            names = {p.id: f"{p.name} · {p.brand}" if p.brand else p.name for p in products}
            picked = st.multiselect("Products to write for", list(names), format_func=lambda i: short(names[i], 80),
                                    key="bulk_picked")  # fmt: skip
        channels = st.multiselect("Channels", list(CHANNELS), default=["ad_headline"],
                                  format_func=lambda c: CHANNELS[c].label, key="bulk_channels")  # fmt: skip
        name = st.text_input("Job name (optional)", key="bulk_name",
                             help="Letters, digits, '.', '_' or '-'. Without one, the same products and settings "
                             "always find the same job, so starting it again resumes it.")  # fmt: skip
    with c2:
        n = st.slider("Variants per product and channel", 1, MAX_VARIANTS, 4, key="bulk_n")
        help_channel = channels[0] if channels else "ad_headline"
        sentiment = st.slider("Sentiment", -1.0, 1.0, 0.0, 0.1, key="bulk_sentiment",
                              help=slider_help("sentiment", help_channel))  # fmt: skip
        creativity = st.slider("Creativity", 0.0, 1.0, 0.5, 0.05, key="bulk_creativity",
                               help=slider_help("creativity", help_channel))  # fmt: skip
        cta = st.slider("Call to action", 0.0, 1.0, 0.5, 0.05, key="bulk_cta", help=slider_help("cta", help_channel))
        workers = st.number_input("Products at once", 1, 16, 1, key="bulk_workers",
                                  help="More than one helps when the model server batches requests (llama.cpp, "
                                  "or a pool of servers); the built-in model takes them in turn.")  # fmt: skip
    if st.button("▶ Start", type="primary", key="bulk_start"):
        with user_errors("Could not start the job") as done:
            request = ui_bulk.BulkRequest(
                selection=selection, category=category, query=query, picked=tuple(picked),
                settings=bulk.BulkSettings(channels=tuple(channels), n=int(n), sentiment=float(sentiment),
                                           creativity=float(creativity), cta=float(cta)),
                workers=int(workers), name=name.strip(),
            )  # fmt: skip
            job_id = ui_bulk.start(db, request)
        if done.ok:
            ss["bulk_job"] = job_id
            flash("success", f"Job **{escape_md(job_id)}** started.")
            st.rerun()

# ---------------------------------------------------------------- jobs

jobs = bulk.list_jobs(db)
if not jobs:
    st.stop()
ids = [j["id"] for j in jobs]
if ss.get("bulk_job") not in ids:
    ss["bulk_job"] = ids[0]
job_id = st.selectbox("Job", ids, key="bulk_job")
table = ui_bulk.jobs_table(db)
with st.expander(f"All jobs ({len(ids)})"):
    st.dataframe(table, hide_index=True, width="stretch")


def _controls(p: bulk.JobProgress) -> None:
    """Pause / resume / cancel buttons for the job's state."""
    buttons = st.container(horizontal=True)
    status = ui_bulk.shown_status(p)
    if status in ("pausing", "cancelling"):
        st.caption("Finishing the products in flight; what they write is kept…")
    if status == "running":
        if buttons.button("⏸ Pause", key="bulk_pause"):
            with user_errors("Could not pause"):
                bulk.request_stop(db, job_id, "paused")
                st.rerun()
    elif status in ("paused", "interrupted", "failed", "pending", "cancelled"):
        if buttons.button("▶ Resume", key="bulk_resume", type="primary"):
            with user_errors("Could not resume"):
                ui_bulk.resume(db, job_id, int(ss.get("bulk_workers", 1)))
                st.rerun()
    if status in ("running", "paused", "interrupted", "failed", "pending"):
        if buttons.button("✖ Cancel", key="bulk_cancel"):
            with user_errors("Could not cancel"):
                bulk.request_stop(db, job_id, "cancelled")
                st.rerun()


def _summary(p: bulk.JobProgress) -> None:
    """Done, skipped with reasons, mean scores, the drafts in Favourites and the CSV."""
    summary = bulk.job_summary(db, job_id)
    m = st.columns(5)
    m[0].metric("Products written", p.done)
    m[1].metric("Skipped", p.skipped)
    m[2].metric("Variants", summary["variants"])
    means = summary["mean_scores"]
    m[3].metric("Mean overall", f"{means['overall']:.2f}" if means["overall"] is not None else "–")
    m[4].metric("Mean faithfulness", f"{means['faithfulness']:.2f}" if means["faithfulness"] is not None else "–")
    extra = [f"{k.replace('_', ' ')} {means[k]:.2f}" for k in ("predicted_ctr", "quality") if means[k] is not None]
    if extra:
        st.caption("Mean " + " · ".join(extra))
    if summary["skipped"]:
        st.markdown("**Skipped, with the reason**")
        st.dataframe(ui_bulk.skipped_table(summary), hide_index=True, width="stretch")
    if summary["variants"]:
        label = f"Review this job's {summary['variants']} drafts in Favourites"
        try:
            st.page_link("pages/2_Favourites.py", label=label, icon="⭐", query_params={"job": job_id})
        except StreamlitAPIException:  # the page runs without app.py as its entry point (AppTest)
            st.markdown(f"⭐ [{escape_md(label)}](Favourites?job={quote(job_id)})")
        st.download_button("⬇ Download the job's CSV", data=bulk.job_csv(db, job_id).encode(CSV_ENCODING),
                           file_name=f"{job_id}.csv", mime="text/csv", key="bulk_download")  # fmt: skip


progress = bulk.job_progress(db, job_id)


@st.fragment(run_every=2 if ui_bulk.shown_status(progress) in ui_bulk.LIVE else None)
def _job_panel() -> None:
    p = bulk.job_progress(db, job_id)
    status = ui_bulk.shown_status(p)
    settings = bulk.get_job(db, job_id)["settings"]
    st.caption(
        escape_md(f"Channels: {', '.join(settings.get('channels', []))} · n {settings.get('n')} · "
                  f"sentiment {settings.get('sentiment')} · creativity {settings.get('creativity')} · "
                  f"CTA {settings.get('cta')}")
    )  # fmt: skip
    rate = f"{p.per_minute:.1f} products/min" if p.per_minute else ("measuring speed…" if status == "running" else "")
    eta = f"ETA {bulk.format_seconds(p.eta_s)}" if p.eta_s is not None and status == "running" else ""
    st.progress(p.fraction, text=" · ".join(x for x in (status, f"{p.finished}/{p.total} products", rate, eta) if x))
    if status == "interrupted":
        st.warning("The process running this job stopped (the server restarted?). Resume continues where it stopped.")
    elif status == "failed":
        st.error(escape_md(f"The job stopped: {p.error}. What was written is kept; Resume continues."))
    elif status == "paused":
        st.info("Paused. Resume continues with the next product.")
    _controls(p)
    if status not in ui_bulk.LIVE and p.finished:
        _summary(p)
    if (status in ui_bulk.LIVE) != (ui_bulk.shown_status(progress) in ui_bulk.LIVE):
        st.rerun()  # started or stopped since the page was drawn: redraw with auto-refresh on or off


_job_panel()
