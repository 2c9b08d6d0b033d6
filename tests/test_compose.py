"""Composition: long copy put together from the batch's clean sentences, each the model's own."""

from copy_engine.compose import compose, content_words, sentences
from conftest import BOTTLE

DRAFTS = [
    # an opener that invents (Sony), then a good body sentence and an ask
    "The Hydra bottle is made by Sony in 3 colors. It has a leak-proof lid that fits. See it for $24.99.",
    # a good opener, then an invented body sentence
    "The Hydra water bottle keeps drinks cold for 24 hours. It measures 75 cm across. Explore it for $24.99.",
    # a good opener and a good body sentence that repeats most of it
    "The Hydra steel bottle keeps drinks cold for 24 hours, with a leak-proof lid. "
    "It keeps drinks cold for 24 hours. See it for $24.99.",
    # a body sentence that says something new, and an opener that never says what the product is
    "Hydra keeps drinks cold for 24 hours. The stainless steel bottle fits most cup holders. See it for $24.99.",
]


def test_sentences_keep_only_supported_complete_ones_with_their_roles():
    kept = {s.text: s for s in sentences(DRAFTS, BOTTLE)}
    assert "The Hydra bottle is made by Sony in 3 colors." not in kept  # invented name and number
    assert "It measures 75 cm across." not in kept
    assert kept["The Hydra water bottle keeps drinks cold for 24 hours."].role == "opener"
    assert kept["It has a leak-proof lid that fits."].role == "body"
    assert kept["See it for $24.99."].role == "ask"
    # a first sentence that never says what the product is cannot open a variant
    assert "Hydra keeps drinks cold for 24 hours." not in kept
    # what other drafts also say agrees more than what only one says
    assert kept["It keeps drinks cold for 24 hours."].agreement > kept["It has a leak-proof lid that fits."].agreement


def test_compose_builds_opener_body_and_ask_without_invented_sentences():
    out = compose(DRAFTS, BOTTLE, "description", 4)
    assert out, "two good openers: at least one variant"
    for text in out:
        assert "Sony" not in text and "75 cm" not in text
        assert text.startswith("The Hydra") and text.endswith("for $24.99.")
        assert 100 <= len(text) <= 400
    # a body that repeats the opener adds nothing, so it is not used after an opener that says the same
    first = out[0]
    assert first.count("cold for 24 hours") == 1


def test_compose_leaves_other_channels_and_hopeless_batches_alone():
    assert compose(DRAFTS, BOTTLE, "headline", 4) == []
    assert compose(["Made by Sony in 3 colors. It measures 75 cm."], BOTTLE, "description", 4) == []
    assert compose(DRAFTS, BOTTLE, "description", 0) == []


def test_no_ask_when_the_drafts_do_not_ask():
    plain = [d.rsplit(" See it", 1)[0].rsplit(" Explore it", 1)[0] for d in DRAFTS]
    for text in compose(plain, BOTTLE, "description", 4):
        assert "$24.99" not in text


def test_content_words_leave_out_little_words_and_stops():
    assert content_words("It keeps drinks cold for 24 hours.") == frozenset({"keeps", "drinks", "cold", "24", "hours"})
