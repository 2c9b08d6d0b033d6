"""The Draft page's working set: the variants on screen and what each card's buttons do.

A draft is a plain dict kept in st.session_state["draft"]:
    product_id, channel, controls (dict), options (dict: n, seed, audience, brand_voice),
    cards: [{uid, text, scores, explanations, flags, settings, run_id, variant_id, edited, saved_id}],
    next_seed (for "regenerate this one"), seconds, candidates.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict

from copy_engine.controls import Controls
from copy_engine.errors import InputError
from copy_engine.generate import GenerateOptions
from copy_engine.product import Product
from copy_engine.store.favourites import save_favourite, texts_saved_for_product
from copy_engine.store.products import get_product
from ui import engine

_uids = itertools.count(1)


def _cards(result, run_id: int, variant_ids: list[int]) -> list[dict]:
    """Cards for the variants of one generation result."""
    cards = []
    for variant, variant_id in zip(result.variants, variant_ids):
        cards.append(
            {
                **variant.to_dict(),
                "uid": next(_uids),
                "settings": dict(result.settings),
                "run_id": run_id,
                "variant_id": variant_id,
                "edited": False,
                "saved_id": None,
            }
        )
    return cards


def controls_of(draft: dict) -> Controls:
    return Controls(**draft["controls"])


def options_of(draft: dict) -> GenerateOptions:
    return GenerateOptions(**draft["options"])


def product_of(db, draft: dict) -> Product:
    """The draft's product as stored now (InputError if it was deleted meanwhile)."""
    return get_product(db, draft["product_id"])


def new_draft(db, product: Product, channel: str, controls: Controls, options: GenerateOptions, progress) -> dict:
    """Generate variants for the given settings, record the run and return the new draft."""
    result, run_id, variant_ids = engine.run_generation(db, product, channel, controls, options, progress)
    return {
        "product_id": product.id,
        "channel": channel,
        "controls": asdict(controls),
        "options": {
            "n": options.n,
            "seed": options.seed,
            "audience": options.audience,
            "brand_voice": options.brand_voice,
        },
        "cards": _cards(result, run_id, variant_ids),
        "next_seed": options.seed + 1,
        "seconds": result.seconds,
        "candidates": result.candidates,
    }


def find_card(draft: dict, uid: int) -> dict:
    for card in draft["cards"]:
        if card["uid"] == uid:
            return card
    raise InputError("that variant is no longer on screen; generate again")


def favourite_settings(draft: dict, card: dict) -> dict:
    """Settings saved with a favourite: the run's full settings plus the sliders at top level."""
    settings = dict(card["settings"])
    settings.update(draft["controls"])
    settings["product_id"] = draft["product_id"]
    settings["edited"] = card["edited"]
    return settings


def save_card(db, draft: dict, uid: int) -> int:
    """Save one card as a draft favourite; returns the favourite id."""
    card = find_card(draft, uid)
    fid = save_favourite(
        db,
        draft["product_id"],
        draft["channel"],
        card["text"],
        card["scores"],
        favourite_settings(draft, card),
        run_id=card["run_id"],
        variant_id=card["variant_id"],
    )
    card["saved_id"] = fid
    return fid


def apply_edit(db, draft: dict, uid: int, text: str) -> dict:
    """Replace a card's text by the writer's edit and re-score it against the other cards."""
    card = find_card(draft, uid)
    text = (text or "").strip()
    if not text:
        raise InputError("the edited copy is empty")
    product = product_of(db, draft)
    others = [c["text"] for c in draft["cards"] if c["uid"] != uid]
    existing = texts_saved_for_product(db, product.id, draft["channel"])
    scored = engine.rescore(product, draft["channel"], controls_of(draft), text, others, existing)
    card.update(text=text, edited=True, saved_id=None, **scored)
    return card


def regenerate_card(db, draft: dict, uid: int) -> dict:
    """Replace one card by a fresh variant written with a new seed; returns the new card."""
    old = find_card(draft, uid)
    product = product_of(db, draft)
    avoid = [c["text"] for c in draft["cards"]]
    result, run_id, variant_ids = engine.regenerate_one(
        db, product, draft["channel"], controls_of(draft), options_of(draft), draft["next_seed"], avoid
    )
    draft["next_seed"] = int(result.settings["seed"]) + 1
    new = _cards(result, run_id, variant_ids)[0]
    draft["cards"][draft["cards"].index(old)] = new
    return new
