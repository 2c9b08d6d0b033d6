"""Tables and form values for the Products page."""

from __future__ import annotations

import pandas as pd

from copy_engine.catalog import row_fields, row_to_product
from copy_engine.errors import InputError
from copy_engine.product import Product, cut_notes


def products_table(products: list[Product]) -> pd.DataFrame:
    """The catalog as a table (plain text cells; st.dataframe never renders them as markup)."""
    return pd.DataFrame(
        [{"id": p.id, **_row(p)} for p in products],
        columns=["id", "name", "brand", "category", "price", "features", "description"],
    )


def _row(p: Product) -> dict:
    """A product's fields as table cells (features joined with ' | ')."""
    return {
        "name": p.name,
        "brand": p.brand,
        "category": p.category,
        "price": p.price,
        "features": " | ".join(p.features),
        "description": p.description,
    }


def product_form_values(name: str, brand: str, category: str, features: str, price: str, description: str) -> dict:
    """A product dict from the add/edit form (features one per line)."""
    return {
        "name": name,
        "brand": brand,
        "category": category,
        "features": [line.strip() for line in (features or "").splitlines() if line.strip()],
        "price": price,
        "description": description,
    }


def mapped_preview(rows: list[dict], mapping: dict[str, str]) -> pd.DataFrame:
    """The first CSV rows converted the way import_products will store them, with a note per row."""
    out = []
    for row in rows:
        try:
            p = row_to_product(row, mapping)
        except InputError as exc:
            out.append({"name": row.get(mapping.get("name", ""), ""), "note": f"will be skipped: {exc}"})
            continue
        cut = cut_notes(row_fields(row, mapping))
        out.append({**_row(p), "note": f"will be shortened: {'; '.join(cut)}" if cut else ""})
    return pd.DataFrame(out, columns=["name", "brand", "category", "price", "features", "description", "note"])
