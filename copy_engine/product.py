"""The product a piece of copy is written for."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from copy_engine.errors import InputError

# Product data comes from messy catalogs and users; bound each field so one
# huge cell cannot blow up a prompt or the database.
MAX_NAME = 200
MAX_FIELD = 300
MAX_DESCRIPTION = 2000
MAX_FEATURES = 12
MAX_PRICE = 40
LIMITS = {"name": MAX_NAME, "brand": MAX_FIELD, "category": MAX_FIELD, "price": MAX_PRICE,
          "description": MAX_DESCRIPTION}  # fmt: skip
_TAG = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")


_TEXT_FIELDS = ("name", "brand", "category", "price", "description")


def _kind(value: Any) -> str:
    """A JSON-ish name for a value's type, for error messages ('a number', 'a list')."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple, set)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _check_types(product: "Product") -> None:
    """InputError naming the field unless every field has the type a product field may have.

    Text fields take text (None means empty); price also takes a number (24.99);
    features take a list of texts or one text with '|', ';' or line breaks; id an
    integer or None. str() of anything else would store "['x']" or crash later.
    """
    for name in _TEXT_FIELDS:
        value = getattr(product, name)
        if value is None or isinstance(value, str):
            continue
        if name == "price" and isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):  # JSON NaN / Infinity
                raise InputError(f"product field 'price' must be a price, got {value!r}")
            continue
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        raise InputError(f"product field {name!r} must be text, got {_kind(value)} ({shown})")
    feats = product.features
    if feats is not None and not isinstance(feats, (str, list, tuple)):
        raise InputError(f"product field 'features' must be a list of texts, got {_kind(feats)} ({feats!r:.40})")
    if isinstance(feats, (list, tuple)):
        for i, item in enumerate(feats, start=1):
            if item is not None and not isinstance(item, str):
                raise InputError(f"product field 'features': item {i} must be text, got {_kind(item)} ({item!r:.40})")
    pid = product.id
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int)):
        raise InputError(f"product field 'id' must be a whole number, got {_kind(pid)} ({pid!r:.40})")


def clean_text(value: Any, limit: int | None = MAX_FIELD) -> str:
    """Plain text from untrusted input: HTML tags removed, whitespace collapsed, length bounded (None: not cut)."""
    if value is None:
        return ""
    text = _TAG.sub(" ", str(value))
    text = _SPACE.sub(" ", text).strip()
    return text[:limit].strip()


def _split_features(feats: Any) -> list:
    """Feature items from a list or from one text with '|', ';' or line breaks."""
    if isinstance(feats, str):
        return re.split(r"\s*[|\n;]\s*", feats)
    return list(feats or [])


def cut_notes(fields: dict) -> list[str]:
    """What Product will cut from these raw field values, one note per field (empty when nothing).

    Used by the catalog import to say which cells were shortened instead of
    cutting them silently.
    """
    notes = []
    for name, limit in LIMITS.items():
        full = clean_text(fields.get(name), None)
        if len(full) > limit:
            notes.append(f"{name} cut to {limit:,} characters (from {len(full):,})")
    feats = [clean_text(f, None) for f in _split_features(fields.get("features"))]
    feats = [f for f in feats if f]
    if len(feats) > MAX_FEATURES:
        notes.append(f"kept the first {MAX_FEATURES} of {len(feats)} features")
    long_ones = sum(len(f) > MAX_FIELD for f in feats[:MAX_FEATURES])
    if long_ones:
        notes.append(f"{long_ones} feature{'s' if long_ones > 1 else ''} cut to {MAX_FIELD} characters")
    return notes


def name_digest(name: str) -> bytes:
    """sha256 of a product name as catalogs match it (trimmed, case-folded).

    One digest for the two things keyed by name: the copy deck's product keys and the fixed train/evaluation
    split (adapters.data.is_training_product), so a deck row and its split bucket always agree.
    """
    return hashlib.sha256(name.strip().casefold().encode()).digest()


@dataclass
class Product:
    """Facts about one product; only `name` is required."""

    name: str
    brand: str = ""
    category: str = ""
    features: list[str] = field(default_factory=list)
    price: str = ""
    description: str = ""
    id: int | None = None  # database id once stored

    def __post_init__(self) -> None:
        _check_types(self)
        self.name = clean_text(self.name, MAX_NAME)
        if not self.name:
            raise InputError("product has no name")
        self.brand = clean_text(self.brand)
        self.category = clean_text(self.category)
        self.price = clean_text(self.price, MAX_PRICE)
        self.description = clean_text(self.description, MAX_DESCRIPTION)
        cleaned = [clean_text(f) for f in _split_features(self.features)]
        self.features = [f for f in cleaned if f][:MAX_FEATURES]

    @property
    def top_category(self) -> str:
        """Last meaningful segment of a category path such as 'Toys | Games | Puzzles'."""
        parts = [p.strip() for p in re.split(r"[|>/]", self.category) if p.strip()]
        return parts[0] if parts else ""

    def facts_text(self) -> str:
        """All the product's facts as one string (used by faithfulness and novelty checks)."""
        parts = [self.name, self.brand, self.category, self.price, self.description, *self.features]
        return " \n".join(p for p in parts if p)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Product":
        """Build a Product from a mapping; unknown keys are ignored."""
        if not isinstance(data, dict):
            raise InputError("product must be a JSON object")
        known = {k: data[k] for k in ("name", "brand", "category", "features", "price", "description", "id") if k in data}
        price = known.get("price")
        if isinstance(price, (int, float)) and not isinstance(price, bool) and math.isfinite(price):
            known["price"] = str(price)  # NaN / Infinity stay floats: the type check refuses them
        if "name" not in known or known["name"] is None:
            raise InputError("product has no name")
        return cls(**known)

    @classmethod
    def from_json_file(cls, path: str | Path) -> "Product":
        """Read a product from a JSON file, with clear errors for missing or malformed files."""
        from copy_engine.jsonfile import read_json

        return cls.from_dict(read_json(path, "product file"))
