"""Consensus: what the other drafts also say ranks higher; without drafts nothing changes."""

import numpy as np

from copy_engine.controls import Controls
from copy_engine.product import Product
from copy_engine.scoring import score_variants
from copy_engine.scoring.consensus import agreement, consensus_factors, content_stems, overlap

NET = Product(name="Melissa & Doug Bella Butterfly Net", brand="Melissa & Doug", category="Toys | Nets", price="$9.99")

DRAFTS = [
    "See the Bella Butterfly Net",
    "Explore the Butterfly Net",
    "Discover Bella's Butterfly Net",
    "See a Hat-Back Costume",
    "Shop the Butterfly Net for Kids",
]


def test_overlap_and_stems():
    assert content_stems("Colorful colors for the Nets") == frozenset({"color", "net"})
    assert overlap(frozenset({"a", "b"}), frozenset({"a", "b"})) == 1.0 and overlap(frozenset({"a"}), frozenset()) == 0.0


def test_a_line_the_other_drafts_echo_agrees_more_than_a_lone_garble():
    ag = agreement(["See the Bella Butterfly Net", "See a Hat-Back Costume"], DRAFTS)
    assert ag[0] > ag[1] > 0  # "See" is shared with two drafts; a variant never agrees with itself
    f = consensus_factors(["See the Bella Butterfly Net", "See a Hat-Back Costume"], DRAFTS)
    assert f[0] == 1.0 and 0 < f[1] < 0.6


def test_no_drafts_or_too_few_change_nothing():
    assert np.array_equal(consensus_factors(["a b", "c d"], None), np.ones(2))
    assert np.array_equal(consensus_factors(["a b", "c d"], ["a b", "c d"]), np.ones(2))


def test_the_overall_score_carries_the_consensus(fake_embedder, fake_ctr_predictor):
    texts = ["See the Bella Butterfly Net", "See a Hat-Back Costume"]
    kw = dict(embedder=fake_embedder, ctr_predictor=fake_ctr_predictor, banned_words=[])
    plain = score_variants(texts, NET, "ad_headline", Controls(), **kw)
    weighted = score_variants(texts, NET, "ad_headline", Controls(), drafts=DRAFTS, **kw)
    assert weighted[0].overall == plain[0].overall
    assert weighted[1].overall < plain[1].overall
    assert "other drafts rarely say the same" in weighted[1].explanations["overall"]
