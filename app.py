"""CopyLab, Draft page: pick a product and a channel, set the sliders, generate and compare variants.

Run with `make app` (or `streamlit run app.py`). This file is also the app's
entry point: it lists the Draft page first and then every page in pages/
(titles from the file names, e.g. 1_Products.py -> "Products").
"""

from pathlib import Path

import streamlit as st

from copy_engine.adapters.registry import copywriter_installed
from copy_engine.channels import CHANNELS
from copy_engine.controls import Controls
from copy_engine.generate import MAX_VARIANTS, GenerateOptions
from copy_engine.product import Product
from copy_engine.store.products import add_product, count_products, get_product, search_products
from ui import draft as drafts
from ui.cards import render_card
from ui.controls import mapping_caption, slider_help
from ui.draft import Draft, DraftRequest
from ui.db import get_db
from ui.feedback import flash, guarded, show_flashes, user_errors
from ui.text import escape_md, short

st.set_page_config(page_title="CopyLab", page_icon="✍️", layout="wide")
PAGE_ICONS = {
    "1_Products": ":material/inventory_2:",
    "2_Favourites": ":material/star:",
    "3_Experiments": ":material/science:",
}


def draft_page() -> None:
    """The Draft page: a product from the sidebar, the request on top, the variants below."""
    db = get_db()
    st.title("Draft copy")
    st.caption("Pick a product and a channel, set the sliders, and generate variants to compare, edit and save.")
    show_flashes()
    product_id = product_sidebar(db)
    if product_id is None:
        st.info("👈 First choose a product: add one in the sidebar, or import your catalog on the **Products** page.")
        st.stop()
    product = get_product(db, product_id)
    product_header(product)
    request, clicked = request_settings()
    if clicked:
        generate_draft(db, product, request)
    draft = st.session_state.get("draft")
    if not draft:
        st.info("Set the sliders and press **Generate**: variants appear here side by side, with their scores.")
        st.stop()
    if draft.product_id != product_id or draft.channel != request.channel:
        st.caption("Showing the last variants generated (for another product or channel); press Generate for new ones.")
    draft_cards(db, draft)


# ---------------------------------------------------------------- sidebar: the product


def product_sidebar(db) -> int | None:
    """The sidebar: search and pick a product, or quick-add one; returns the chosen product's id."""
    with st.sidebar:
        st.header("Product")
        if count_products(db) == 0:
            st.info("Your catalog is empty. Add a product below, or import a catalog CSV on the **Products** page.")
        product_id, found_any = product_picker(db)
        with st.expander("Quick-add a product", expanded=not found_any), st.form("quick_add", clear_on_submit=True):
            st.text_input("Name *", key="qa_name")
            st.text_input("Brand", key="qa_brand")
            st.text_input("Category", key="qa_category", placeholder="e.g. Kitchen | Coffee")
            st.text_area("Features (one per line)", key="qa_features")
            st.text_input("Price", key="qa_price", placeholder="$24.99")
            st.form_submit_button("Add product", on_click=quick_add, args=(db,))
    return product_id


def product_picker(db) -> tuple[int | None, bool]:
    """Search box and product list; (chosen id or None, whether the search found anything)."""
    ss = st.session_state
    query = st.text_input("Search the catalog", placeholder="name, brand or category")
    found = search_products(db, query, limit=200)
    ids = [p.id for p in found]
    names = {p.id: f"{p.name} · {p.brand}" if p.brand else p.name for p in found}
    if "pending_product" in ss:  # just quick-added: select it (a widget's key can only be set before it is drawn)
        ss.product_select = ss.pop("pending_product")
    if ids and ss.get("product_select") not in ids:
        ss.product_select = ss.get("current_product_id") if ss.get("current_product_id") in ids else ids[0]
    if not ids:
        if query:
            st.warning("No product matches that search.")
        return None, False
    label = lambda i: short(names[i], 80)  # noqa: E731
    ss.current_product_id = st.selectbox("Product", ids, key="product_select", format_func=label)
    return ss.current_product_id, True


def quick_add(db) -> None:
    """Form callback: store the quick-add product and select it."""
    ss = st.session_state
    fields = {
        "name": ss.qa_name,
        "brand": ss.qa_brand,
        "category": ss.qa_category,
        "features": [line for line in ss.qa_features.splitlines() if line.strip()],
        "price": ss.qa_price,
    }
    product = guarded("Could not add the product", add_product, db, fields)
    if product is not None:
        ss.pending_product = product.id
        flash("success", f"Added **{escape_md(product.name)}**.")


def product_header(product: Product) -> None:
    """The chosen product's facts, as the prompt will see them."""
    facts = [product.name, product.brand, product.category, product.price]
    st.markdown(f"**{escape_md(product.name)}**" + "".join(f" · {escape_md(f)}" for f in facts[1:] if f))
    if product.features:
        st.caption(" · ".join(escape_md(f) for f in product.features))


# ---------------------------------------------------------------- settings: the request


def request_settings() -> tuple[DraftRequest, bool]:
    """Channel, audience, voice, sliders, number and seed; (the request, whether Generate was pressed)."""
    left, middle, right = st.columns([1, 1, 1])
    with left:
        label = lambda c: f"{CHANNELS[c].label} (≤ {CHANNELS[c].limit} characters)"  # noqa: E731
        channel = st.selectbox("Channel", list(CHANNELS), key="channel", format_func=label)
        audience = st.text_input("Audience", placeholder="e.g. busy parents", key="audience")
        voice = st.text_input("Brand voice", placeholder="e.g. warm, witty, no exclamation marks", key="brand_voice")
    with middle:
        sentiment = st.slider("Sentiment", -1.0, 1.0, 0.0, 0.1, key="sentiment", help=slider_help("sentiment", channel))
        creativity = st.slider("Creativity", 0.0, 1.0, 0.5, 0.05, key="creativity",
                               help=slider_help("creativity", channel))  # fmt: skip
        cta = st.slider("Call to action", 0.0, 1.0, 0.5, 0.05, key="cta", help=slider_help("cta", channel))
    with right:
        n = st.slider("Number of variants", 2, MAX_VARIANTS, 4, key="n")
        seed = st.number_input("Seed", 0, 1_000_000, 0, key="seed", help="Same seed and settings give the same copy.")
        clicked = st.button("Generate", type="primary", width="stretch")
    controls = Controls(sentiment=sentiment, creativity=creativity, cta=cta)
    st.caption(mapping_caption(controls, channel, copywriter=copywriter_installed()))
    options = GenerateOptions(n=n, seed=int(seed), audience=audience, brand_voice=voice)
    return DraftRequest(channel, controls, options), clicked


def generate_draft(db, product: Product, request: DraftRequest) -> None:
    """Generate with a progress bar; the new draft replaces the old one only when generation worked."""
    with st.status("Generating…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")
        with user_errors("Could not generate") as done:
            draft = drafts.new_draft(db, product, request, progress=lambda f, m: bar.progress(min(1.0, f), text=m))
            st.session_state.draft = draft
        if done.ok:
            status.update(label=f"{len(draft.cards)} variants in {draft.seconds:.1f} s", state="complete")
        else:
            status.update(label="Generation failed", state="error")


# ---------------------------------------------------------------- cards: the variants


def draft_cards(db, draft: Draft) -> None:
    """The draft's cards, up to four to a row, and how they were chosen."""
    cards = draft.cards
    per_row = min(len(cards), 4)
    for row_start in range(0, len(cards), per_row):
        row = cards[row_start : row_start + per_row]
        for offset, (column, card) in enumerate(zip(st.columns(per_row), row)):
            with column, st.container(border=True):
                render_card(db, draft, card, number=row_start + offset + 1)
    st.caption(
        f"{draft.candidates} candidates written and scored; the {len(cards)} best and most different are shown. "
        f"Took {draft.seconds:.1f} s. Scores are 0–100; open *Why these scores* on a card for the reasons."
    )


pages = [st.Page(draft_page, title="Draft", icon=":material/edit_note:", default=True)]
pages += [
    st.Page(path, icon=PAGE_ICONS.get(path.stem)) for path in sorted((Path(__file__).parent / "pages").glob("*.py"))
]
st.navigation(pages).run()
