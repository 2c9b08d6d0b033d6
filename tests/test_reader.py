"""The reader (copy_engine/scoring/reader.py): token states of a cut causal LM, its head, and how scoring uses it."""

from __future__ import annotations

import re
import types

import numpy as np
import pytest

from copy_engine.controls import Controls
from copy_engine.errors import InputError, ModelLoadError
from copy_engine.product import Product
from copy_engine.scoring import READING_POWER, score_variants
from copy_engine.model import hidden_state_trunk
from copy_engine.scoring.reader import LAYERS, Head, Reader, reader_for
from copy_engine.scoring.reader_train import HeadRecipe, fit_head, save_head, within_product_auc
from copy_engine.settings import Settings
from conftest import FakeCtrPredictor, FakeEmbedder, FakeGenerator

PRODUCT = Product(name="Trail Bottle", features=["Holds 750 ml", "Steel"], price="$20")


class WordTokenizer:
    """Whitespace tokenizer over a fixed vocabulary (BOS 1, EOS 2, PAD 0), enough to drive a tiny model."""

    bos_token_id, eos_token_id, pad_token_id = 1, 2, 0

    def __call__(self, text, add_special_tokens=True, return_offsets_mapping=False):
        words = [(m.group(), m.span()) for m in re.finditer(r"\S+", text)]
        ids = [3 + (sum(map(ord, w)) % 60) for w, _ in words]
        bos = [self.bos_token_id] if add_special_tokens else []
        return types.SimpleNamespace(input_ids=bos + ids, offset_mapping=[(0, 0)] * len(bos) + [s for _, s in words])


@pytest.fixture(scope="module")
def tiny():
    """A randomly initialised 4-layer Gemma 3 cut after 2 layers, and its uncut twin."""
    import copy

    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=4,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=8, sliding_window=8,
                           max_position_embeddings=128)
    full = Gemma3ForCausalLM(cfg).eval()
    return hidden_state_trunk(copy.deepcopy(full), 2), full


def _direct(full, tok, prompt, text):
    """1st and 2nd layers' states at the text's tokens and EOS, from one plain forward pass of prompt + text."""
    import torch

    prefix = tok(prompt).input_ids
    ids = prefix + tok(" " + text, add_special_tokens=False).input_ids + [tok.eos_token_id]
    with torch.inference_mode():
        h = full.get_decoder()(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    return torch.cat([h[1], h[2]], -1)[0, len(prefix) :].float().numpy()


def test_states_with_a_shared_prompt_cache_equal_a_plain_pass_per_text(tiny):
    body, full = tiny
    tok = WordTokenizer()
    prompt = "Product: Trail Bottle Channel: headline Copy:"
    texts = ["A steel bottle", "Holds 750 ml of water on every trail you walk", "Steel"]
    got = Reader(tok, body, layers=(1, 2)).states(prompt, texts)
    assert [h.shape for h in got] == [(4, 32), (11, 32), (2, 32)]  # words + EOS; two layers side by side
    for h, t in zip(got, texts):
        np.testing.assert_allclose(h, _direct(full, tok, prompt, t), atol=1e-4)
    # a text's states do not depend on what else is in the batch (padding is masked out)
    np.testing.assert_allclose(Reader(tok, body, layers=(1, 2)).states(prompt, texts[1:2])[0], got[1], atol=1e-4)


def _zero_head(d, members=2, k=3):
    z = np.zeros
    return Head(z(d, np.float32), np.ones(d, np.float32), z((members, d), np.float32), z(members, np.float32),
                z((members, d, k), np.float32), z((members, k), np.float32), z((members, k), np.float32))


def test_read_applies_the_head_and_needs_one(tiny):
    body, _ = tiny
    tok = WordTokenizer()
    assert Reader(tok, body, _zero_head(32), layers=(1, 2)).read("Copy:", ["a b", "c"]).tolist() == [0.5, 0.5]
    assert Reader(tok, body, _zero_head(32), layers=(1, 2)).read("Copy:", []).tolist() == []
    with pytest.raises(ModelLoadError):
        Reader(tok, body).read("Copy:", ["a"])


def test_texts_read_lately_are_not_read_again(tiny, monkeypatch):
    body, _ = tiny
    reader = Reader(WordTokenizer(), body, _zero_head(32), layers=(1, 2))
    read = []
    states = reader.states
    monkeypatch.setattr(reader, "states", lambda prompt, texts: read.append(list(texts)) or states(prompt, texts))
    first = reader.read_with_weakest("Copy:", ["a b", "c"])
    again = reader.read_with_weakest("Copy:", ["c", "d e", "a b"])
    assert read == [["a b", "c"], ["d e"]]  # only the new text went through the model
    assert again[0].tolist() == [first[0][1], 0.5, first[0][0]]
    reader.read_with_weakest("Other prompt:", ["c"])
    assert read[-1] == ["c"]  # the same text after another prompt is another reading


def _texts_with_one_bad_word(n=240, seed=0):
    """Token states of texts of 3-12 tokens; a text is unusable when one of its tokens is 'bad' (dimension 0
    high): one word in a long text barely moves its mean state, which is what the token detectors are for."""
    rng = np.random.default_rng(seed)
    states, y = [], []
    for i in range(n):
        h = rng.normal(size=(int(rng.integers(3, 13)), 6)).astype(np.float32)
        h[:, 0] = -1.0
        bad = i % 2 == 0
        if bad:
            h[int(rng.integers(len(h))), 0] = 3.0
        states.append(h)
        y.append(0 if bad else 1)
    return states, np.array(y)


def test_head_finds_one_bad_word_saves_and_refuses_another_layer(tmp_path):
    states, y = _texts_with_one_bad_word()
    head = fit_head(states, y, HeadRecipe(members=2, epochs=30, lr=1e-2, batch=32))
    test_states, test_y = _texts_with_one_bad_word(seed=1)
    p = head.probability(test_states)
    assert ((p > 0.5) == test_y).mean() > 0.9
    assert head.coef.shape == (2, 6) and head.token_coef.shape == (2, 6, HeadRecipe().detectors)
    path = save_head(head, tmp_path / "h.npz")
    np.testing.assert_allclose(Head.load(path).probability(test_states), p, rtol=1e-5)
    fields = {f: getattr(head, f) for f in Head.FIELDS}
    np.savez(tmp_path / "other.npz", layers=[9], **fields)
    with pytest.raises(ModelLoadError, match="layer"):
        Head.load(tmp_path / "other.npz")
    np.savez(tmp_path / "old.npz", layers=LAYERS, mean=head.mean, scale=head.scale, coef=head.coef[0], intercept=0.0)
    with pytest.raises(ModelLoadError, match="train-reader"):  # a head of the old mean-only kind
        Head.load(tmp_path / "old.npz")
    with pytest.raises(ModelLoadError):
        Head.load(tmp_path / "missing.npz")


def test_within_product_auc_only_compares_copy_of_the_same_product():
    y = [1, 0, 1, 0]
    s = [0.9, 0.1, 0.2, 0.3]  # product a ranked right, product b wrong
    assert within_product_auc(y, s, ["a", "a", "b", "b"]) == 0.5
    assert within_product_auc(y, s, ["a", "a", "a", "a"]) == 0.75
    assert np.isnan(within_product_auc([1, 1], [0.2, 0.3], ["a", "a"]))


class FixedReader:
    """Reads each text as the probability given in a dict (0.5 for anything else), its weakest word as given in
    another (none for anything else)."""

    def __init__(self, probs=None, fail=False, weakest=None):
        self.probs, self.fail, self.prompts, self.weakest = probs or {}, fail, [], weakest or {}

    def read_with_weakest(self, prompt, texts):
        if self.fail:
            raise ModelLoadError("no reader here")
        self.prompts.append(prompt)
        return np.array([self.probs.get(t, 0.5) for t in texts]), [self.weakest.get(t) for t in texts]


def _score(texts, reader):
    return score_variants(texts, PRODUCT, "headline", Controls(), embedder=FakeEmbedder(),
                          ctr_predictor=FakeCtrPredictor(), reader=reader)


def test_overall_is_weighted_by_the_reading_to_its_power_and_explained():
    texts = ["A steel Trail Bottle that holds 750 ml", "Trail Bottle in steel, 750 ml"]
    plain = _score(texts, None)
    reader = FixedReader({texts[0]: 0.9, texts[1]: 0.3})
    read = _score(texts, reader)
    assert "Trail Bottle" in reader.prompts[0] and "headline" in reader.prompts[0].lower()
    for a, b, p in zip(plain, read, (0.9, 0.3)):
        assert a.scores["reading"] == 1.0 and "Not read" in a.explanations["reading"]
        assert b.scores["reading"] == pytest.approx(p)
        assert b.overall == pytest.approx(a.overall * p**READING_POWER)
        assert "copywriter model reads it" in b.explanations["overall"]
        assert "copywriter model reads it" not in a.explanations["overall"]


def test_copy_read_as_unusable_flags_its_weakest_word_without_touching_faithfulness():
    doubted, trusted = "Trail Bottle for keys and 750 ml", "A steel Trail Bottle that holds 750 ml"
    weakest = {doubted: (17, 21), trusted: (2, 7)}
    plain = _score([doubted, trusted], None)
    read = _score([doubted, trusted], FixedReader({doubted: 0.2, trusted: 0.4}, weakest=weakest))
    flag = [f for f in read[0].flags if f.kind == "doubtful"]
    assert [(f.start, f.end, f.text) for f in flag] == [(17, 21, "keys")] and "20%" in flag[0].reason
    assert 'doubts most: "keys"' in read[0].explanations["reading"]
    assert not [f for f in read[1].flags if f.kind == "doubtful"]  # read at or above DOUBT_BELOW: no hint
    for a, b in zip(plain, read):
        assert b.scores["faithfulness"] == a.scores["faithfulness"]
        assert [f for f in b.flags if f.kind != "doubtful"] == a.flags


def test_the_weakest_word_is_the_token_that_pulls_down_most(tiny):
    from copy_engine.scoring.reader import _weakest_word

    states, y = _texts_with_one_bad_word()
    head = fit_head(states, y, HeadRecipe(members=2, epochs=30, lr=1e-2, batch=32))
    test_states, test_y = _texts_with_one_bad_word(seed=1)
    bad = [h for h, u in zip(test_states, test_y) if not u]
    found = [int(np.argmin(head.token_pull(h))) == int(np.argmax(h[:, 0])) for h in bad]
    assert np.mean(found) > 0.9
    text = 'See "Frieza\'s" hat, for keys!'
    offsets = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    assert _weakest_word(text, offsets, np.array([0.1, -2.0, 0.3, 0.2, 0.0])) == (5, 13)  # quotes trimmed
    assert _weakest_word(text, offsets, np.array([0.1, 0.2, 0.3, 0.2, -1.0])) == (24, 28)  # "!" trimmed
    assert _weakest_word(text, offsets, np.array([0.1, 0.2, 0.3, 0.2, 0.5])) is None


def test_a_reader_that_fails_leaves_the_scores_as_without_one():
    texts = ["A steel Trail Bottle that holds 750 ml"]
    assert _score(texts, FixedReader(fail=True))[0].scores == _score(texts, None)[0].scores


def test_reader_for_fakes_and_when_turned_off():
    assert reader_for(FakeGenerator()) is None
    real_like = types.SimpleNamespace(reads_copy=True)
    assert reader_for(real_like, Settings.from_env({"COPYLAB_READER": "0"})) is None


def test_reader_setting_is_checked():
    assert Settings.from_env({}).reader is True
    assert Settings.from_env({"COPYLAB_READER": "0"}).reader is False
    with pytest.raises(InputError, match="COPYLAB_READER"):
        Settings.from_env({"COPYLAB_READER": "yes"})


def test_train_reader_refuses_bad_options_before_loading_anything(tmp_path, capsys):
    from copy_engine.cli import main

    assert main(["train-reader", "--members", "0"]) == 2
    assert "--members and --epochs must be at least 1" in capsys.readouterr().err
    assert main(["train-judge", "--C", "0"]) == 2
    assert "--C must be positive" in capsys.readouterr().err
    assert main(["train-reader", "--labels", str(tmp_path / "missing.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err

