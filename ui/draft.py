"""The Draft page's working set: the variants on screen and what each card's buttons do.

A `Draft` lives in st.session_state["draft"] between reruns; it holds one `Card` per variant shown.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from copy_engine.controls import Controls
from copy_engine.errors import InputError
from copy_engine.generate import GenerateOptions, GenerationResult, Variant
from copy_engine.product import Product
from copy_engine.run_settings import RunSettings
from copy_engine.store.favourites import save_favourite, texts_saved_for_product
from copy_engine.store.products import get_product
from ui import engine

_uids = itertools.count(1)


@dataclass(frozen=True)
class DraftRequest:
    """What the Draft page's settings row asks for."""

    channel: str  # channel name (copy_engine.channels)
    controls: Controls  # the three sliders
    options: GenerateOptions  # number of variants, seed, audience and brand voice


@dataclass
class Card:
    """One variant on screen and what the writer has done with it."""

    uid: int  # key of the card's widgets; unique in the process, so a replaced card never reuses widget state
    variant: Variant  # the copy with its scores, explanations and flags (replaced by an edit)
    settings: RunSettings  # the run that wrote it (saved with it as a favourite)
    run_id: int  # the runs row it was recorded under
    variant_id: int  # its variants row
    edited: bool = False  # True once the writer changed the text (scores are then the edit's)
    saved_id: int | None = None  # favourite id once saved; None again after an edit

    @property
    def text(self) -> str:
        """The copy as it stands."""
        return self.variant.text


@dataclass
class Draft:
    """The last generation on the Draft page: its request and its cards."""

    product_id: int  # product the variants were written for
    channel: str  # channel they were written for
    controls: Controls  # sliders of the request
    options: GenerateOptions  # n, seed, audience and brand voice of the request
    cards: list[Card]  # in display order
    next_seed: int  # seed for the next "New" on a card (each replacement moves it on)
    seconds: float  # wall time of the generation
    candidates: int  # candidates written and scored before the best were picked

    def card(self, uid: int) -> Card:
        """The card with this uid (InputError when it is no longer shown)."""
        for card in self.cards:
            if card.uid == uid:
                return card
        raise InputError("that variant is no longer on screen; generate again")

    def others(self, uid: int) -> list[str]:
        """Texts of the other cards (diversity and novelty are judged against them)."""
        return [c.text for c in self.cards if c.uid != uid]


def _cards(result: GenerationResult, run_id: int, variant_ids: list[int]) -> list[Card]:
    """Cards for the variants of one generation result."""
    return [
        Card(uid=next(_uids), variant=variant, settings=result.settings, run_id=run_id, variant_id=variant_id)
        for variant, variant_id in zip(result.variants, variant_ids)
    ]


def product_of(db, draft: Draft) -> Product:
    """The draft's product as stored now (InputError if it was deleted meanwhile)."""
    return get_product(db, draft.product_id)


def new_draft(db, product: Product, request: DraftRequest, progress) -> Draft:
    """Generate variants for the request, record the run and return the new draft."""
    channel, controls, options = request.channel, request.controls, request.options
    result, run_id, variant_ids = engine.run_generation(db, product, channel, controls, options, progress)
    return Draft(
        product_id=product.id,
        channel=channel,
        controls=controls,
        options=options,
        cards=_cards(result, run_id, variant_ids),
        next_seed=options.seed + 1,
        seconds=result.seconds,
        candidates=result.candidates,
    )


def save_card(db, draft: Draft, uid: int) -> int:
    """Save one card as a draft favourite; returns the favourite id."""
    card = draft.card(uid)
    settings = card.settings.favourite_dict(draft.product_id, edited=card.edited)
    fid = save_favourite(db, draft.product_id, draft.channel, card.text, card.variant.scores, settings,
                         run_id=card.run_id, variant_id=card.variant_id)  # fmt: skip
    card.saved_id = fid
    return fid


def apply_edit(db, draft: Draft, uid: int, text: str) -> Card:
    """Replace a card's text by the writer's edit and re-score it against the other cards."""
    card = draft.card(uid)
    text = (text or "").strip()
    if not text:
        raise InputError("the edited copy is empty")
    product = product_of(db, draft)
    existing = texts_saved_for_product(db, product.id, draft.channel)
    card.variant = engine.rescore(product, draft.channel, draft.controls, text, draft.others(uid), existing)
    card.edited, card.saved_id = True, None
    return card


def regenerate_card(db, draft: Draft, uid: int) -> Card:
    """Replace one card by a fresh variant written with a new seed; returns the new card."""
    old = draft.card(uid)
    product = product_of(db, draft)
    avoid = [c.text for c in draft.cards]
    result, run_id, variant_ids = engine.regenerate_one(
        db, product, draft.channel, draft.controls, draft.options, draft.next_seed, avoid
    )
    draft.next_seed = result.settings.seed + 1
    new = _cards(result, run_id, variant_ids)[0]
    draft.cards[draft.cards.index(old)] = new
    return new
