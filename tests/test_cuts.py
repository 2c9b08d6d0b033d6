"""Clause cuts (copy_engine/cuts.py): short copy cut back before the clause the reader doubts."""

from __future__ import annotations

import numpy as np

from copy_engine.controls import Controls
from copy_engine.cuts import CUT_BELOW, clause_cut, clause_cuts
from copy_engine.generate import GenerateOptions, generate
from copy_engine.generator import Sample
from copy_engine.product import Product
from conftest import FakeCtrPredictor, FakeEmbedder, FakeGenerator

PRODUCT = Product(name="Trail Bottle", features=["Holds 750 ml", "Steel"], price="$20")


def _span(text, word):
    start = text.index(word)
    return start, start + len(word)


def test_a_line_is_cut_before_the_clause_that_holds_its_weakest_word():
    text = "Explore the Disney Ariel PVC keyring with an attached keyring"
    assert clause_cut(text, _span(text, "attached"), 18) == "Explore the Disney Ariel PVC keyring"
    text = "Explore a Jumbo Foil Star Cutout, a general party accessory"
    assert clause_cut(text, _span(text, "general"), 18) == "Explore a Jumbo Foil Star Cutout"
    # the last clause start before the word: "with a lid" stays when the doubt is in "for keys"
    text = "See the steel Trail Bottle with a lid for keys"
    assert clause_cut(text, _span(text, "keys"), 18) == "See the steel Trail Bottle with a lid"


def test_no_cut_without_a_clause_before_the_word_or_when_too_little_stays():
    text = "Explore the Trail Bottle with a lid"
    assert clause_cut(text, _span(text, "Explore"), 18) is None  # the doubt is before any clause
    assert clause_cut(text, None, 18) is None
    assert clause_cut("See Ariel, a keyring", (11, 20), 5) is None  # two words would stay
    assert clause_cut("See the Trail Bottle with a lid", (25, 28), 40) is None  # shorter than the channel's minimum
    text = "See a steel keychain made for keys"
    assert clause_cut(text, _span(text, "keys"), 10) is None  # "made" would hang
    text = "Explore a life ring painted with white bands"
    assert clause_cut(text, _span(text, "bands"), 10) is None  # so would a participle after the noun


def test_only_doubted_lines_of_cut_channels_are_cut_and_no_cut_repeats():
    doubted = "Explore the steel Trail Bottle with a hidden jetpack"
    trusted = "See the steel Trail Bottle with a lid that holds 750 ml"
    same = "Explore the steel Trail Bottle for hidden jetpacks"
    texts = [doubted, trusted, same]
    spans = [_span(doubted, "jetpack"), _span(trusted, "holds"), _span(same, "jetpacks")]
    readings = [CUT_BELOW - 0.3, CUT_BELOW + 0.1, CUT_BELOW - 0.2]
    assert clause_cuts(texts, readings, spans, "headline") == {"Explore the steel Trail Bottle": doubted}
    assert clause_cuts(texts, readings, spans, "ad_headline") == {}  # not measured there
    # a cut that is already a candidate is not added again
    assert clause_cuts(texts + ["Explore the steel Trail Bottle"], readings + [0.9], spans + [None], "headline") == {}


class FixedHeadlines(FakeGenerator):
    """Samples the same headlines, with a confidence each."""

    LINES = ("Explore the steel Trail Bottle with a hidden jetpack", "See the Trail Bottle that holds 750 ml")

    def complete_scored(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        return [Sample(self.LINES[i % 2] + "\n", confidence=0.6 + 0.1 * (i % 2)) for i in range(n)]


class DoubtingReader:
    """Reads the jetpack line as unusable with "jetpack" its weakest word, everything else as usable."""

    def read_with_weakest(self, prompt, texts):
        doubt = [("jetpack" in t) for t in texts]
        spans = [_span(t, "jetpack") if d else None for t, d in zip(texts, doubt)]
        return np.array([0.1 if d else 0.9 for d in doubt]), spans


def test_generate_adds_the_cut_as_a_candidate_with_its_samples_confidence():
    kw = dict(generator=FixedHeadlines(), embedder=FakeEmbedder(), ctr_predictor=FakeCtrPredictor())
    without = generate(PRODUCT, "headline", Controls(), GenerateOptions(n=2), **kw)
    cut = generate(PRODUCT, "headline", Controls(), GenerateOptions(n=3), reader=DoubtingReader(), **kw)
    texts = [v.text for v in cut.variants]
    assert "Explore the steel Trail Bottle" in texts and cut.candidates == without.candidates + 1
    shown = next(v for v in cut.variants if v.text == "Explore the steel Trail Bottle")
    assert shown.scores["confidence"] == 0.6 and shown.scores["reading"] == 0.9
    # without post-processing nothing is cut
    options = GenerateOptions(n=2, postprocess=False)
    raw = generate(PRODUCT, "headline", Controls(), options, reader=DoubtingReader(), **kw)
    assert "Explore the steel Trail Bottle" not in [v.text for v in raw.variants]
