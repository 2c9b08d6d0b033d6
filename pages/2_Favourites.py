"""Favourites: the library of saved copy. Review, approve or reject, regenerate, export approved copy."""

import streamlit as st

from copy_engine.channels import CHANNELS
from copy_engine.generate import Variant
from copy_engine.store.export import export_approved_csv
from copy_engine.store.favourites import (
    STATUSES,
    TRANSITIONS,
    approvable,
    bulk_set_status,
    list_favourites,
    set_status,
    status_history,
)
from copy_engine.store.products import list_products
from ui.cards import variant_card
from ui.db import get_db
from ui.favourites import favourites_table, regenerate_favourite, settings_lines
from ui.feedback import flash, show_flashes, user_errors
from ui.text import escape_md, short

st.set_page_config(page_title="CopyLab · Favourites", page_icon="⭐", layout="wide")
db = get_db()
ss = st.session_state

st.title("Favourites")
st.caption("Every variant you saved, with its scores and the settings that made it. Approve what is ready to publish.")
show_flashes()

if not list_favourites(db):
    st.info("Nothing saved yet. On the **Draft** page, generate copy and press **Save** on the variants you like.")
    st.stop()

# ---------------------------------------------------------------- filters

products = {p.id: p.name for p in list_products(db)}
# Bulk jobs that saved drafts here; the Bulk page links to ?job=ID.
jobs = [r["job_id"] for r in db.query("SELECT DISTINCT job_id FROM favourites WHERE job_id IS NOT NULL ORDER BY 1")]
wanted_job = st.query_params.get("job")
f1, f2, f3, f4, f5 = st.columns(5)
product_id = f1.selectbox(
    "Product", [None, *products], format_func=lambda i: "All products" if i is None else short(products[i], 60)
)
channel = f2.selectbox(
    "Channel", [None, *CHANNELS], format_func=lambda c: "All channels" if c is None else CHANNELS[c].label
)
status = f3.selectbox("Status", [None, *STATUSES], format_func=lambda s: "Any status" if s is None else s)
dates = f4.date_input("Saved between", value=(), help="Pick a first and a last day (both included).")
since, until = (dates + (None, None))[:2] if isinstance(dates, tuple) else (dates, None)
job_id = f5.selectbox(
    "Bulk job",
    [None, *jobs],
    index=1 + jobs.index(wanted_job) if wanted_job in jobs else 0,
    format_func=lambda j: "Any (or none)" if j is None else j,
    key="job_filter",
    help="Drafts written by one bulk job (Bulk page).",
)

favs = list_favourites(
    db, product_id=product_id, channel=channel, status=status, since=since, until=until, job_id=job_id
)
if not favs:
    st.info("No favourites match these filters.")
    st.stop()
if job_id:
    # Job ids are letters, digits, ".", "_" and "-" (copy_engine.bulk.JOB_NAME): nothing for Markdown to act on.
    st.caption(f"Showing {len(favs)} favourite(s) written by bulk job {job_id}.")
st.dataframe(favourites_table(favs), hide_index=True, width="stretch")

# ---------------------------------------------------------------- bulk review and export

review, export = st.columns([2, 1])
with review, st.container(border=True):
    st.markdown("**Review several at once**")
    by_label = {f"#{f['id']} · {f['status']} · {short(f['text'], 70)}": f["id"] for f in favs}
    selected = [by_label[label] for label in st.multiselect("Favourites", list(by_label), key="bulk_selection")]
    note = st.text_input("Note (optional)", key="bulk_note", placeholder="e.g. approved by legal on 3 May")
    buttons = st.container(horizontal=True)
    for label, new_status in (
        ("Approve selected", "approved"),
        ("Reject selected", "rejected"),
        ("Back to draft", "draft"),
    ):
        if buttons.button(label, disabled=not selected, type="primary" if new_status == "approved" else "secondary"):
            with user_errors("Could not change the status") as done:
                changed = bulk_set_status(db, selected, new_status, note)
            if done.ok:
                flash("success", f"{changed} favourite(s) now {new_status}.")
                ss.pop("bulk_selection", None)
                st.rerun()

    st.markdown("**Approve by score**")
    has_quality = any("quality" in (f["scores"] or {}) for f in favs)
    threshold = st.slider(
        "Approve all drafts whose quality and faithfulness are above",
        0.0, 1.0, 0.8, 0.05, key="approve_threshold",
        help="Among the favourites shown (the filters above, e.g. one bulk job). A score a draft was never "
        "given is not held against it, but it needs at least one of the two.",
    )  # fmt: skip
    if not has_quality:
        st.caption("No draft shown has a quality score yet: only faithfulness is checked.")
    ready = approvable(favs, threshold)
    if st.button(f"Approve {len(ready)} draft(s) above {threshold:.2f}", disabled=not ready, key="approve_above"):
        with user_errors("Could not approve") as done:
            changed = bulk_set_status(db, ready, "approved", f"bulk: quality and faithfulness above {threshold:.2f}")
        if done.ok:
            flash("success", f"{changed} favourite(s) now approved.")
            st.rerun()

with export, st.container(border=True):
    st.markdown("**Export approved copy**")
    approved = [f for f in favs if f["status"] == "approved"]
    st.caption(f"{len(approved)} approved favourite(s) match the product, channel and date filters.")
    with user_errors("Could not export") as done:
        csv_text = export_approved_csv(db, product_id=product_id, channel=channel, since=since, until=until)
    if done.ok:
        st.download_button(
            "⬇ Download CSV",
            data=csv_text.encode("utf-8-sig"),  # the BOM makes Excel read the file as UTF-8
            file_name="copylab_approved.csv",
            mime="text/csv",
            disabled=not approved,
        )

# ---------------------------------------------------------------- one by one

st.subheader("Details")
for fav in favs[:50]:
    fid = fav["id"]
    with st.expander(f"#{fid} · {fav['status']} · {escape_md(short(fav['text'], 90))}"):
        card, side = st.columns([3, 2])
        with card:
            variant_card(Variant.from_dict(fav), title=f"{fav['product_name']} · {CHANNELS[fav['channel']].label}", channel=fav["channel"])
            st.code(fav["text"], language=None, wrap_lines=True)
        with side:
            st.markdown("**Settings that made it**")
            for line in settings_lines(fav["settings"] or {}):
                st.caption(escape_md(line))
            st.markdown("**Status history**")
            for h in status_history(db, fid):
                when = h["changed_at"][:16].replace("T", " ")
                st.caption(escape_md(f"{when}: {h['from_status'] or 'new'} → {h['to_status']} {h['note']}"))
            new_status = st.selectbox("Change status to", TRANSITIONS[fav["status"]], key=f"status_{fid}")
            note = st.text_input("Note", key=f"note_{fid}")
            if st.button("Apply", key=f"apply_{fid}"):
                with user_errors("Could not change the status") as done:
                    set_status(db, fid, new_status, note)
                if done.ok:
                    flash("success", f"Favourite #{fid} is now {new_status}.")
                    st.rerun()
            if st.button("Regenerate with these settings", key=f"regen_{fid}", icon=":material/refresh:"):
                with st.spinner("Generating…"), user_errors("Could not regenerate") as done:
                    ss[f"regen_{fid}_result"] = regenerate_favourite(db, fav)
        result = ss.get(f"regen_{fid}_result")
        if result:
            if result["reproduced"]:
                st.success("The same settings wrote this copy again (it is marked below).")
            else:
                st.info("These settings now write different copy (edited text, another model, or another machine).")
            columns = st.columns(min(4, len(result["variants"])))
            for i, variant in enumerate(result["variants"]):
                with columns[i % len(columns)], st.container(border=True):
                    same = " (same as saved)" if variant.text == fav["text"] else ""
                    variant_card(variant, title=f"Variant {i + 1}{same}", channel=fav["channel"])
if len(favs) > 50:
    st.caption(f"Showing details for the newest 50 of {len(favs)}; narrow the filters to see others.")
