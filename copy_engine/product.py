"""The product a piece of copy is written for."""

from __future__ import annotations

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
_TAG = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")


def clean_text(value: Any, limit: int = MAX_FIELD) -> str:
    """Plain text from untrusted input: HTML tags removed, whitespace collapsed, length bounded."""
    if value is None:
        return ""
    text = _TAG.sub(" ", str(value))
    text = _SPACE.sub(" ", text).strip()
    return text[:limit].strip()


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
        self.name = clean_text(self.name, MAX_NAME)
        if not self.name:
            raise InputError("product has no name")
        self.brand = clean_text(self.brand)
        self.category = clean_text(self.category)
        self.price = clean_text(self.price, 40)
        self.description = clean_text(self.description, MAX_DESCRIPTION)
        feats = self.features
        if isinstance(feats, str):
            feats = [f for f in re.split(r"\s*[|\n;]\s*", feats)]
        cleaned = [clean_text(f) for f in (feats or [])]
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
        if "price" in known and known["price"] is not None:
            known["price"] = str(known["price"])
        if "name" not in known or known["name"] is None:
            raise InputError("product has no name")
        return cls(**known)

    @classmethod
    def from_json_file(cls, path: str | Path) -> "Product":
        """Read a product from a JSON file, with clear errors for missing or malformed files."""
        from copy_engine.jsonfile import read_json

        return cls.from_dict(read_json(path, "product file"))
