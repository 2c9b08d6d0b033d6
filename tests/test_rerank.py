"""MMR reranking invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copy_engine.rerank import diversity_weight_for, mmr_select
from copy_engine.scoring import ScoreCard


def cards_for(overalls, embeddings=None):
    return [
        ScoreCard(
            scores={"overall": float(v)},
            explanations={},
            flags=[],
            embedding=None if embeddings is None else embeddings[i],
        )
        for i, v in enumerate(overalls)
    ]


def unit(rows):
    a = np.asarray(rows, dtype=float)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_first_pick_is_best_and_w0_gives_top_n():
    overall = [0.2, 0.9, 0.5, 0.7]
    emb = unit([[1, 0, 0], [1, 0.3, 0], [0, 1, 0], [1, 0.2, 0.2]])
    texts = ["a", "b", "c", "d"]
    assert mmr_select(texts, cards_for(overall), emb, 3, 0.0) == [1, 3, 2]
    assert mmr_select(texts, cards_for(overall), emb, 3, 0.5)[0] == 1


def test_diversity_weight_prefers_a_different_variant():
    overall = [0.9, 0.85, 0.6]
    emb = unit([[1, 0], [1, 0.2], [0, 1]])  # 1 is a near-paraphrase of 0 (cosine 0.98)
    assert mmr_select(["a", "b", "c"], cards_for(overall), emb, 2, 0.0) == [0, 1]
    assert mmr_select(["a", "b", "c"], cards_for(overall), emb, 2, 0.5) == [0, 2]


def test_diversity_never_buys_a_candidate_with_an_invented_detail_or_a_judge_rejection():
    from copy_engine.scoring.flags import Flag

    emb = unit([[1, 0], [1, 0.2], [0, 1], [0.2, 1]])  # 1 paraphrases 0; 2 and 3 differ from both
    cards = cards_for([0.9, 0.85, 0.2, 0.1], emb)
    cards[2].scores["quality"] = 0.3  # the judge rejects it
    cards[3].flags = [Flag(0, 3, "Red", "unsupported_word", "not in the facts")]
    assert mmr_select(["a", "b", "c", "d"], cards, None, 2, 0.6) == [0, 1]
    # once the acceptable ones are shown, the rest still fill the set, in MMR order
    assert mmr_select(["a", "b", "c", "d"], cards, None, 4, 0.6)[:2] == [0, 1]
    assert sorted(mmr_select(["a", "b", "c", "d"], cards, None, 4, 0.6)) == [0, 1, 2, 3]


def test_exact_duplicates_skipped_while_others_remain():
    texts = ["Cold drinks all day.", "cold  drinks all day", "Shop the bottle", "Icy sips"]
    overall = [0.9, 0.9, 0.1, 0.05]
    emb = unit([[1, 0, 0], [1, 0, 0], [0.9, 0.1, 0], [0.8, 0.2, 0]])
    for w in (0.0, 0.1, 0.3):
        picked = mmr_select(texts, cards_for(overall), emb, 3, w)
        assert picked[0] == 0 and 1 not in picked
    assert mmr_select(texts, cards_for(overall), emb, 4, 0.3)[-1] == 1  # only when nothing else is left


def test_fewer_variants_than_asked_and_embeddings_from_cards():
    emb = unit([[1, 0], [0, 1]])
    assert sorted(mmr_select(["a", "b"], cards_for([0.1, 0.2], emb), None, 5)) == [0, 1]
    assert mmr_select(["a", "b"], cards_for([0.1, 0.2]), None, 0) == []
    with pytest.raises(ValueError):
        mmr_select(["a"], cards_for([0.1, 0.2]), None, 1)


def test_diversity_weight_is_zero_up_to_the_default_creativity_then_grows():
    assert diversity_weight_for(0.0) == diversity_weight_for(0.5) == 0.0
    assert diversity_weight_for(1.0) == pytest.approx(0.6)
    assert 0.0 < diversity_weight_for(0.75) < diversity_weight_for(1.0)
    assert diversity_weight_for(-1.0) == 0.0 and diversity_weight_for(2.0) == pytest.approx(0.6)


@settings(max_examples=60, deadline=None)
@given(
    overall=st.lists(st.floats(0, 1), min_size=1, max_size=8),
    n=st.integers(1, 10),
    w=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
def test_invariants_on_random_sets(overall, n, w, seed):
    rng = np.random.default_rng(seed)
    k = len(overall)
    emb = unit(rng.normal(size=(k, 4)) + 1e-9)
    texts = [f"variant {rng.integers(0, 3)}" for _ in range(k)]  # some exact duplicates
    picked = mmr_select(texts, cards_for(overall), emb, n, w)
    assert len(picked) == min(n, k) == len(set(picked))
    assert overall[picked[0]] == max(overall)
    for pos, i in enumerate(picked):
        earlier = {texts[j] for j in picked[:pos]}
        if texts[i] in earlier:  # a duplicate only once every remaining text was a duplicate
            assert all(texts[j] in earlier for j in range(k) if j not in picked[:pos])
