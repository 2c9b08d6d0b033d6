"""Products: the catalog the copy is written for. Browse, add, edit, delete, import a CSV."""

import pandas as pd
import streamlit as st

from copy_engine.catalog import FIELDS, MAX_BYTES, MAX_ROWS, guess_mapping, import_products, read_csv_preview
from copy_engine.store.products import (
    add_product,
    delete_product,
    get_product,
    list_products,
    search_products,
    update_product,
)
from ui.catalog import mapped_preview, product_form_values, products_table
from ui.db import get_db
from ui.feedback import flash, show_flashes, user_errors
from ui.text import escape_md, short

st.set_page_config(page_title="CopyLab · Products", page_icon="📦", layout="wide")
db = get_db()
ss = st.session_state

st.title("Products")
st.caption("The catalog CopyLab writes for. Only the name is required; features and facts make better, safer copy.")
show_flashes()

products = list_products(db)
if not products:
    st.info("No products yet. **Import a catalog CSV** below, or add your first product by hand.")
else:
    query = st.text_input("Search", placeholder="name, brand or category")
    shown = search_products(db, query, limit=None) if query else products
    st.dataframe(products_table(shown), hide_index=True, width="stretch")
    st.caption(f"{len(shown)} of {len(products)} products")

add_tab, edit_tab, import_tab = st.tabs(["Add a product", "Edit or delete", "Import a CSV"])

with add_tab, st.form("add_product", clear_on_submit=True):
    name = st.text_input("Name *")
    brand = st.text_input("Brand")
    category = st.text_input("Category", placeholder="e.g. Home & Kitchen | Coffee")
    features = st.text_area("Features (one per line)")
    price = st.text_input("Price", placeholder="$24.99")
    description = st.text_area("Description")
    if st.form_submit_button("Add product", type="primary"):
        values = product_form_values(name, brand, category, features, price, description)
        with user_errors("Could not add the product") as done:
            added = add_product(db, values)
        if done.ok:
            flash("success", f"Added **{escape_md(added.name)}**.")
            st.rerun()

with edit_tab:
    if not products:
        st.caption("Nothing to edit yet.")
    else:
        names = {p.id: f"{p.name} · {p.brand}" if p.brand else p.name for p in products}
        pid = st.selectbox("Product", list(names), format_func=lambda i: short(names[i], 90), key="edit_product")
        current = get_product(db, pid)
        with st.form(f"edit_{pid}"):
            name = st.text_input("Name *", current.name)
            brand = st.text_input("Brand", current.brand)
            category = st.text_input("Category", current.category)
            features = st.text_area("Features (one per line)", "\n".join(current.features))
            price = st.text_input("Price", current.price)
            description = st.text_area("Description", current.description)
            if st.form_submit_button("Save changes", type="primary"):
                values = product_form_values(name, brand, category, features, price, description)
                with user_errors("Could not save the product") as done:
                    update_product(db, pid, values)
                if done.ok:
                    flash("success", f"Saved **{escape_md(values['name'])}**.")
                    st.rerun()
        with st.container(border=True):
            st.markdown("**Delete this product** (and its generation history)")
            force = st.checkbox("Also delete its saved favourites and experiments", key=f"force_{pid}")
            if st.button("Delete product", key=f"delete_{pid}"):
                with user_errors("Could not delete the product") as done:
                    delete_product(db, pid, force=force)
                if done.ok:
                    flash("success", f"Deleted **{escape_md(current.name)}**.")
                    st.rerun()

with import_tab:
    st.markdown(
        f"Upload a CSV (comma, semicolon or tab separated; up to {MAX_BYTES // 1024 // 1024} MB and "
        f"{MAX_ROWS:,} rows). You choose which column feeds each product field, check a preview, then import. "
        "Rows without a name and products already in the catalog are skipped and listed."
    )
    upload = st.file_uploader("Catalog CSV", type=["csv", "tsv", "txt"], max_upload_size=MAX_BYTES // 1024 // 1024)
    if upload is not None and upload.size > MAX_BYTES:
        st.error(
            f"That file is {upload.size / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB. Split it."
        )
    elif upload is not None:
        with user_errors("Could not read the file") as read:
            columns, preview = read_csv_preview(upload, max_rows=5)
        if read.ok:
            st.markdown("**1. Match the columns** (guessed from the header; change any that are wrong)")
            guess = guess_mapping(columns)
            choices = ["(none)"] + columns
            mapping = {}
            field_columns = st.columns(len(FIELDS))
            for field_column, field in zip(field_columns, FIELDS):
                chosen = field_column.selectbox(
                    field.capitalize() + (" *" if field == "name" else ""),
                    choices,
                    index=choices.index(guess[field]) if field in guess else 0,
                    key=f"map_{upload.file_id}_{field}",
                )
                if chosen != "(none)":
                    mapping[field] = chosen
            st.markdown("**2. Check the preview** (first rows as they will be stored)")
            st.dataframe(mapped_preview(preview, mapping), hide_index=True, width="stretch")
            with st.expander("The file's first rows as they are"):
                st.dataframe(pd.DataFrame(preview, columns=columns).astype(str), hide_index=True)
            if st.button("3. Import products", type="primary", disabled="name" not in mapping):
                with st.spinner("Importing…"), user_errors("Could not import") as done:
                    report = import_products(db, upload, mapping, source=f"csv:{upload.name}")
                if done.ok:
                    ss.import_report = {"file": upload.name, "imported": report.imported, "skipped": report.skipped,
                                        "truncated": report.truncated}  # fmt: skip
                    st.rerun()  # redraw the catalog table with the new products
            if "name" not in mapping:
                st.warning("Choose the column that holds the product name: it is required.")

    report = ss.get("import_report")
    if report:
        st.success(
            f"**{escape_md(report['file'])}**: imported {report['imported']} products, skipped {len(report['skipped'])} rows."
        )
        if report["skipped"]:
            st.dataframe(pd.DataFrame(report["skipped"], columns=["row", "reason"]), hide_index=True, width="stretch")
        if report.get("truncated"):
            st.warning(
                f"Imported, but shortened {len(report['truncated'])} rows: cells longer than the product limits "
                "(name 200, description 2,000, other fields 300 characters, 12 features) were cut."
            )
            st.dataframe(
                pd.DataFrame(report["truncated"], columns=["row", "what was cut"]), hide_index=True, width="stretch"
            )
