"""Products: add, update, delete, get, list and search."""

from __future__ import annotations

import sqlite_utils

from copy_engine.errors import InputError
from copy_engine.product import Product
from copy_engine.store.db import from_json, to_json
from copy_engine.store.transactions import now_iso, transaction

_FIELDS = ("name", "brand", "category", "features", "price", "description")


def _to_product(row: dict) -> Product:
    """A Product built from a products row."""
    return Product(
        name=row["name"],
        brand=row["brand"],
        category=row["category"],
        features=from_json(row["features"], []),
        price=row["price"],
        description=row["description"],
        id=row["id"],
    )


def _as_product(product: Product | dict) -> Product:
    """A Product from a Product or a dict of its fields."""
    if isinstance(product, Product):
        return product
    return Product.from_dict(product)


def _columns(product: Product) -> dict:
    """The products columns for a Product (features as JSON)."""
    return {
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "features": to_json(product.features),
        "price": product.price,
        "description": product.description,
    }


def add_product(db: sqlite_utils.Database, product: Product | dict, source: str = "manual") -> Product:
    """Store a product (a Product or a dict of its fields); returns it with its new `id`.

    The text is cleaned by Product (tags stripped, lengths bounded) before storing.
    """
    product = _as_product(product)
    now = now_iso()
    row = {**_columns(product), "source": source, "created_at": now, "updated_at": now}
    with transaction(db):
        cur = db.execute(
            f"INSERT INTO products ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        )
    return Product(**{**product.to_dict(), "id": cur.lastrowid})


def get_product(db: sqlite_utils.Database, product_id: int) -> Product:
    """The product with this id; InputError if there is none."""
    row = next(db.query("SELECT * FROM products WHERE id = ?", [product_id]), None)
    if row is None:
        raise InputError(f"no product with id {product_id}")
    return _to_product(row)


def get_product_row(db: sqlite_utils.Database, product_id: int) -> dict:
    """The stored row of a product (adds source, created_at, updated_at) with features parsed."""
    row = next(db.query("SELECT * FROM products WHERE id = ?", [product_id]), None)
    if row is None:
        raise InputError(f"no product with id {product_id}")
    row["features"] = from_json(row["features"], [])
    return row


def update_product(db: sqlite_utils.Database, product_id: int, changes: Product | dict) -> Product:
    """Change some or all fields of a product; returns the updated product.

    `changes` is a Product (replaces every field) or a dict with any of
    name, brand, category, features, price, description.
    """
    current = get_product(db, product_id)
    if isinstance(changes, Product):
        updates = {f: getattr(changes, f) for f in _FIELDS}
    elif isinstance(changes, dict):
        unknown = set(changes) - set(_FIELDS) - {"id"}
        if unknown:
            raise InputError(f"unknown product field(s): {', '.join(sorted(unknown))}")
        updates = {f: changes[f] for f in _FIELDS if f in changes}
    else:
        raise InputError("product changes must be a Product or a dict")
    merged = {**current.to_dict(), **updates, "id": product_id}
    product = Product.from_dict(merged)
    cols = _columns(product)
    with transaction(db):
        db.execute(
            f"UPDATE products SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ? WHERE id = ?",
            [*cols.values(), now_iso(), product_id],
        )
    return product


def delete_product(db: sqlite_utils.Database, product_id: int, force: bool = False) -> None:
    """Delete a product and its runs.

    Refuses (InputError) when favourites or experiments belong to it, unless
    `force=True`, which deletes those too: saved copy is never lost by accident.
    """
    get_product(db, product_id)
    with transaction(db):
        favs = db.execute("SELECT count(*) FROM favourites WHERE product_id = ?", [product_id]).fetchone()[0]
        exps = db.execute("SELECT count(*) FROM experiments WHERE product_id = ?", [product_id]).fetchone()[0]
        if (favs or exps) and not force:
            raise InputError(
                f"product {product_id} has {favs} saved favourite(s) and {exps} experiment(s); "
                "delete those first or delete with force"
            )
        db.execute("DELETE FROM products WHERE id = ?", [product_id])


def list_products(db: sqlite_utils.Database, limit: int | None = None, offset: int = 0) -> list[Product]:
    """Products ordered by name (case-insensitive), optionally paged."""
    sql = "SELECT * FROM products ORDER BY name COLLATE NOCASE, id"
    params: list = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params = [int(limit), int(offset)]
    return [_to_product(r) for r in db.query(sql, params)]


def count_products(db: sqlite_utils.Database) -> int:
    """How many products are stored."""
    return db.execute("SELECT count(*) FROM products").fetchone()[0]


def search_products(db: sqlite_utils.Database, query: str, limit: int | None = 50) -> list[Product]:
    """Products whose name, brand or category contains `query` (case-insensitive substring).

    An empty query lists all products. LIKE wildcards typed by the user are
    matched literally.
    """
    q = (query or "").strip().casefold()
    if not q:
        return list_products(db, limit=limit)
    _register_fold(db)
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    sql = (
        "SELECT * FROM products WHERE copylab_fold(name) LIKE ? ESCAPE '\\' "
        "OR copylab_fold(brand) LIKE ? ESCAPE '\\' OR copylab_fold(category) LIKE ? ESCAPE '\\' "
        "ORDER BY name COLLATE NOCASE, id"
    )
    params: list = [pattern, pattern, pattern]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [_to_product(r) for r in db.query(sql, params)]


def _register_fold(db: sqlite_utils.Database) -> None:
    """Register copylab_fold(), a Unicode-aware lower-casing SQL function."""
    # SQLite's lower() only folds ASCII; 'Café' must match 'CAFÉ' too.
    db.conn.create_function("copylab_fold", 1, lambda v: v.casefold() if isinstance(v, str) else v, deterministic=True)


def find_product(db: sqlite_utils.Database, name: str, brand: str = "") -> Product | None:
    """The product with exactly this name and brand (ignoring case), or None."""
    row = next(
        db.query(
            "SELECT * FROM products WHERE name = ? COLLATE NOCASE AND brand = ? COLLATE NOCASE ORDER BY id LIMIT 1",
            [name, brand],
        ),
        None,
    )
    return _to_product(row) if row else None
