"""The engine as the pages use it: models loaded once per server process, runs recorded.

Tests replace the models by monkeypatching copy_engine.generator.get_default_generator,
copy_engine.embeddings.get_embedder and copy_engine.ctr.get_default_predictor,
then clearing st.cache_resource; the getters here look those functions up at call time.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from copy_engine.controls import Controls
from copy_engine.generate import GenerateOptions, GenerationResult, Variant, generate
from copy_engine.product import Product
from copy_engine.settings import Settings
from copy_engine.store.favourites import texts_saved_for_product
from copy_engine.store.runs import get_run, record_run

LOADING_MESSAGE = "Loading the model… (first time only; this can take a minute)"


@st.cache_resource(show_spinner=LOADING_MESSAGE)
def _generator(model: str, device: str, cache_dir: str, backend: str = "auto"):
    from copy_engine import generator

    return generator.get_default_generator()


_loaded: set[tuple[str, str, str, str]] = set()  # models this process has loaded (for the loading message)


def _model_key() -> tuple[str, str, str, str]:
    s = Settings.from_env()
    return (s.model, s.device, str(s.cache_dir), s.backend)


def get_generator():
    """The text generator for the configured model, loaded once per server process."""
    key = _model_key()
    generator = _generator(*key)
    _loaded.add(key)
    return generator


@st.cache_resource(show_spinner="Loading the scoring model…")
def get_embedder():
    """The sentence embedder used by the novelty and diversity scores."""
    from copy_engine import embeddings

    return embeddings.get_embedder()


@st.cache_resource(show_spinner="Loading the click-through model…")
def get_ctr_predictor():
    """The predicted-CTR model; None when it cannot be loaded (the score then says so)."""
    from copy_engine import ctr
    from copy_engine.errors import CopyLabError

    try:
        return ctr.get_default_predictor()
    except CopyLabError:
        return None


def model_loaded() -> bool:
    """Whether the generator is already in memory (so no loading message is needed)."""
    return _model_key() in _loaded


def run_generation(
    db,
    product: Product,
    channel: str,
    controls: Controls,
    options: GenerateOptions,
    progress=None,
    existing: list[str] | None = None,
) -> tuple[GenerationResult, int, list[int]]:
    """Generate variants, record the run; returns (result, run id, variant row ids in card order).

    `progress(fraction, message)` receives updates (the page shows a progress bar).
    Novelty is judged against `existing`, by default the copy already saved for
    this product and channel.
    """
    report = progress or (lambda f, m: None)
    report(0.01, LOADING_MESSAGE if not model_loaded() else "Preparing…")
    generator = get_generator()
    if existing is None:
        existing = texts_saved_for_product(db, product.id, channel) if product.id is not None else []
    result = generate(
        product,
        channel,
        controls,
        options,
        generator=generator,
        embedder=get_embedder(),
        ctr_predictor=get_ctr_predictor(),
        existing=existing,
        progress=report,
    )
    settings = {**result.settings.to_dict(), "duration_s": round(result.seconds, 3)}
    rows = [v.run_row(i) for i, v in enumerate(result.variants, 1)]
    run_id = record_run(db, product.id, settings, rows)
    variant_ids = [v["id"] for v in get_run(db, run_id)["variants"]]
    return result, run_id, variant_ids


def regenerate_one(
    db, product: Product, channel: str, controls: Controls, options: GenerateOptions, seed: int, avoid: list[str]
) -> tuple[GenerationResult, int, list[int]]:
    """One fresh variant with a new seed, different from the texts in `avoid` when possible.

    Tries up to three seeds (seed, seed+1, seed+2) before accepting a repeat.
    """
    seen = {t.strip().casefold() for t in avoid}
    for attempt in range(3):
        out = run_generation(db, product, channel, controls, replace(options, n=1, seed=seed + attempt))
        if out[0].variants and out[0].variants[0].text.strip().casefold() not in seen:
            break
    return out


def rescore(product: Product, channel: str, controls: Controls, text: str, others: list[str], existing: list[str]):
    """An edited variant scored again (copy_engine.scoring.score_one) against the other cards."""
    from copy_engine.scoring import score_one
    from copy_engine.scoring.reader import reader_for

    card = score_one(
        text,
        product,
        channel,
        controls,
        context_texts=others,
        existing=existing,
        embedder=get_embedder(),
        ctr_predictor=get_ctr_predictor(),
        reader=reader_for(get_generator()),
    )
    return Variant.scored(text, channel, card)
