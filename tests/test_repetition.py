"""A content word said twice in an ad description halves its overall score."""

from copy_engine.controls import Controls
from copy_engine.scoring import score_variants
from copy_engine.scoring.repetition import repeated_word
from conftest import BOTTLE, FakeEmbedder


def test_a_content_word_said_twice_is_found_and_small_words_are_free():
    assert repeated_word("Colorful kids' rug with a colorful carpet.") == "colorful"
    assert repeated_word("A tank gun with a tank that holds 65 ounces.") == "tank"
    assert repeated_word("Cold drinks for hours, and more cold drinks.") == "cold"
    assert repeated_word("Loom and hook, with loops. See it for $21.98.") is None  # the, and, with, see, it: free
    assert repeated_word("One loop and 115 loops") == "loops"  # plural and singular are one word


def test_an_ad_description_that_says_a_word_twice_scores_half(monkeypatch):
    import copy_engine.scoring as scoring

    twice = "Cold for 24 hours, with a lid that keeps it cold. See it for $24.99."
    kw = dict(embedder=FakeEmbedder(), ctr_predictor=None, banned_words=())
    halved = score_variants([twice], BOTTLE, "ad_description", Controls(), **kw)[0].overall
    monkeypatch.setattr(scoring, "REPEAT_CHANNELS", ())
    whole = score_variants([twice], BOTTLE, "ad_description", Controls(), **kw)[0].overall
    assert whole > 0 and abs(halved - 0.5 * whole) < 1e-6


def test_only_ad_descriptions_are_halved_for_it():
    twice = "Cold for 24 hours, with a lid that keeps it cold. See it for $24.99."
    once = "Cold for 24 hours, with a leak-proof lid. See it for $24.99."
    kw = dict(embedder=FakeEmbedder(), ctr_predictor=None, banned_words=())
    for channel, halved in (("ad_description", True), ("social", False)):
        a, b = score_variants([twice, once], BOTTLE, channel, Controls(), **kw)
        assert ("says \"cold\" twice" in a.explanations["overall"]) is halved
        assert "twice" not in b.explanations["overall"]
