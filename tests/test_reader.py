"""The reader (copy_engine/scoring/reader.py): pooled states of a cut causal LM, its head, and how scoring uses it."""

from __future__ import annotations

import types

import numpy as np
import pytest

from copy_engine.controls import Controls
from copy_engine.errors import InputError, ModelLoadError
from copy_engine.product import Product
from copy_engine.scoring import score_variants
from copy_engine.model import hidden_state_trunk
from copy_engine.scoring.reader import LAYERS, Head, Reader, reader_for
from copy_engine.scoring.reader_train import fit_head, save_head, within_product_auc
from copy_engine.settings import Settings
from conftest import FakeCtrPredictor, FakeEmbedder, FakeGenerator

PRODUCT = Product(name="Trail Bottle", features=["Holds 750 ml", "Steel"], price="$20")


class WordTokenizer:
    """Whitespace tokenizer over a fixed vocabulary (BOS 1, EOS 2, PAD 0), enough to drive a tiny model."""

    bos_token_id, eos_token_id, pad_token_id = 1, 2, 0

    def __call__(self, text, add_special_tokens=True):
        ids = [3 + (sum(map(ord, w)) % 60) for w in text.split()]
        return types.SimpleNamespace(input_ids=([self.bos_token_id] if add_special_tokens else []) + ids)


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
    """Mean 2nd-layer state over the text's tokens and EOS, from one plain forward pass of prompt + text."""
    import torch

    prefix = tok(prompt).input_ids
    ids = prefix + tok(" " + text, add_special_tokens=False).input_ids + [tok.eos_token_id]
    with torch.inference_mode():
        h = full.get_decoder()(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[2]
    return h[0, len(prefix) :].float().mean(0).numpy()


def test_features_with_a_shared_prompt_cache_equal_a_plain_pass_per_text(tiny):
    body, full = tiny
    tok = WordTokenizer()
    prompt = "Product: Trail Bottle Channel: headline Copy:"
    texts = ["A steel bottle", "Holds 750 ml of water on every trail you walk", "Steel"]
    got = Reader(tok, body).features(prompt, texts)
    want = np.stack([_direct(full, tok, prompt, t) for t in texts])
    assert got.shape == (3, 16)
    np.testing.assert_allclose(got, want, atol=1e-4)
    # a text's features do not depend on what else is in the batch (padding is masked out)
    np.testing.assert_allclose(Reader(tok, body).features(prompt, texts[1:2])[0], got[1], atol=1e-4)


def test_read_applies_the_head_and_needs_one(tiny):
    body, _ = tiny
    tok = WordTokenizer()
    head = Head(np.zeros(16, np.float32), np.ones(16, np.float32), np.zeros(16, np.float32), 0.0)
    assert Reader(tok, body, head).read("Copy:", ["a b", "c"]).tolist() == [0.5, 0.5]
    assert Reader(tok, body, head).read("Copy:", []).tolist() == []
    with pytest.raises(ModelLoadError):
        Reader(tok, body).read("Copy:", ["a"])


def test_head_fits_saves_and_refuses_another_layer(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    head = fit_head(x, y, C=1.0)
    p = head.probability(x)
    assert ((p > 0.5) == y).mean() > 0.85
    path = save_head(head, tmp_path / "h.npz")
    np.testing.assert_allclose(Head.load(path).probability(x), p, rtol=1e-5)
    np.savez(tmp_path / "other.npz", mean=head.mean, scale=head.scale, coef=head.coef, intercept=0.0, layers=LAYERS + 1)
    with pytest.raises(ModelLoadError, match="layer"):
        Head.load(tmp_path / "other.npz")
    with pytest.raises(ModelLoadError):
        Head.load(tmp_path / "missing.npz")


def test_within_product_auc_only_compares_copy_of_the_same_product():
    y = [1, 0, 1, 0]
    s = [0.9, 0.1, 0.2, 0.3]  # product a ranked right, product b wrong
    assert within_product_auc(y, s, ["a", "a", "b", "b"]) == 0.5
    assert within_product_auc(y, s, ["a", "a", "a", "a"]) == 0.75
    assert np.isnan(within_product_auc([1, 1], [0.2, 0.3], ["a", "a"]))


class FixedReader:
    """Reads each text as the probability given in a dict (0.5 for anything else)."""

    def __init__(self, probs=None, fail=False):
        self.probs, self.fail, self.prompts = probs or {}, fail, []

    def read(self, prompt, texts):
        if self.fail:
            raise ModelLoadError("no reader here")
        self.prompts.append(prompt)
        return np.array([self.probs.get(t, 0.5) for t in texts])


def _score(texts, reader):
    return score_variants(texts, PRODUCT, "headline", Controls(), embedder=FakeEmbedder(),
                          ctr_predictor=FakeCtrPredictor(), reader=reader)


def test_overall_is_weighted_by_the_squared_reading_and_explained():
    texts = ["A steel Trail Bottle that holds 750 ml", "Trail Bottle in steel, 750 ml"]
    plain = _score(texts, None)
    reader = FixedReader({texts[0]: 0.9, texts[1]: 0.3})
    read = _score(texts, reader)
    assert "Trail Bottle" in reader.prompts[0] and "headline" in reader.prompts[0].lower()
    for a, b, p in zip(plain, read, (0.9, 0.3)):
        assert a.scores["reading"] == 1.0 and "Not read" in a.explanations["reading"]
        assert b.scores["reading"] == pytest.approx(p)
        assert b.overall == pytest.approx(a.overall * p**2)
        assert "copywriter model reads it" in b.explanations["overall"]
        assert "copywriter model reads it" not in a.explanations["overall"]


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

    assert main(["train-reader", "--C", "0"]) == 2
    assert "--C must be positive" in capsys.readouterr().err
    assert main(["train-reader", "--labels", str(tmp_path / "missing.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err
