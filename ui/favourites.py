"""Tables and actions for the Favourites page."""

from __future__ import annotations

import contextlib

import pandas as pd

from copy_engine.errors import CopyLabError
from copy_engine.run_settings import RunSettings
from copy_engine.store.favourites import list_favourites
from copy_engine.store.products import get_product
from copy_engine.store.runs import get_run
from ui import engine


def _pct(scores: dict, key: str) -> int | None:
    """A score as a whole percentage, None when absent."""
    return round(float(scores[key]) * 100) if key in scores else None


def favourites_table(favs: list[dict]) -> pd.DataFrame:
    """One row per favourite: what it says, where it goes, how it scored and the sliders that made it."""
    rows = []
    for f in favs:
        scores, settings = f.get("scores") or {}, f.get("settings") or {}
        controls = settings.get("controls") or {}
        rows.append(
            {
                "id": f["id"],
                "status": f["status"],
                "product": f["product_name"],
                "channel": f["channel"],
                "text": f["text"],
                "overall": _pct(scores, "overall"),
                "pred. CTR": _pct(scores, "predicted_ctr"),
                "faithful": _pct(scores, "faithfulness"),
                "CTA": _pct(scores, "cta"),
                "sentiment": settings.get("sentiment", controls.get("sentiment")),
                "creativity": settings.get("creativity", controls.get("creativity")),
                "cta slider": settings.get("cta", controls.get("cta")),
                "seed": settings.get("seed"),
                "note": f.get("note") or "",
                "saved": (f.get("created_at") or "")[:16].replace("T", " "),
            }
        )
    return pd.DataFrame(rows)


def settings_lines(settings: dict) -> list[str]:
    """The recorded settings as 'name: value' lines (plain text; the page escapes them)."""
    keep = ("model", "channel", "sentiment", "creativity", "cta", "seed", "n", "audience", "brand_voice",
            "decoding", "adapters", "prompt_version", "edited")  # fmt: skip
    lines = []
    for key in keep:
        if key in settings and settings[key] not in ("", None):
            value = settings[key]
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            lines.append(f"{key.replace('_', ' ')}: {value}")
    return lines


def _saved_before(db, fav: dict) -> list[str]:
    """Copy that was already saved for the product when the favourite's run was generated.

    Novelty (and so the choice among candidates) is judged against saved copy;
    using what existed then, not now, lets the same seed write the same variants.
    """
    made_at = fav["created_at"]
    if fav.get("run_id"):
        with contextlib.suppress(CopyLabError):
            made_at = get_run(db, fav["run_id"])["created_at"]
    earlier = list_favourites(db, product_id=fav["product_id"], channel=fav["channel"])
    return [f["text"] for f in sorted(earlier, key=lambda f: f["id"]) if f["created_at"] < made_at]


def regenerate_favourite(db, fav: dict) -> dict:
    """Generate again with a favourite's recorded settings (same seed: same copy on this machine).

    Returns {"texts": [...], "reproduced": whether the saved text came out again, "run_id": ...}.
    """
    product = get_product(db, fav["product_id"])
    channel, controls, options = RunSettings.from_dict(fav["settings"] or {}).request()
    result, run_id, _ = engine.run_generation(db, product, channel, controls, options, existing=_saved_before(db, fav))
    texts = [v.text for v in result.variants]
    return {
        "texts": texts,
        "reproduced": fav["text"] in texts,
        "run_id": run_id,
        "variants": result.variants,
    }
