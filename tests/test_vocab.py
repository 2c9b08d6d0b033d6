"""The sampling vocabulary (copy_engine/backends/vocab.py): what it keeps, the pruned GGUF, the id map, and
(real_model) the same tokens and samples as the full vocabulary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from copy_engine.backends import vocab
from copy_engine.errors import InputError
from copy_engine.settings import Settings

GEMMA_VOCAB = 262_144
PAD, EOS, BOS, UNK, END_OF_TURN, NEWLINE = 0, 1, 2, 3, 106, 107
BYTES = range(238, 238 + 256)  # <0x00> ... <0xFF>: any text can still be spelt


def test_sampling_vocabulary_keeps_control_newline_and_byte_tokens():
    keep = vocab.kept_ids()
    assert len(vocab._bits()) == GEMMA_VOCAB
    assert 50_000 < len(keep) < 150_000
    assert {PAD, EOS, BOS, UNK, END_OF_TURN, NEWLINE} <= set(keep.tolist())
    assert set(BYTES) <= set(keep.tolist())
    remap = vocab.id_map()
    assert (remap[keep] == np.arange(len(keep))).all()
    assert (remap >= 0).sum() == len(keep)


def test_sampling_ids_renumber_kept_tokens_and_refuse_dropped_ones():
    keep = vocab.kept_ids()
    dropped = int(np.flatnonzero(vocab.id_map() < 0)[0])
    assert vocab.sampling_ids([int(keep[5]), BOS]) == [5, int(np.searchsorted(keep, BOS))]
    with pytest.raises(ValueError, match="COPYLAB_FULL_VOCAB"):
        vocab.sampling_ids([BOS, dropped])


def _tiny_gguf(path, bos=BOS):
    """A GGUF with Gemma's vocabulary size: tokens t0..., one embedding row per token, one other tensor."""
    from gguf import GGUFWriter

    w = GGUFWriter(str(path), "gemma3")
    w.add_string("general.name", "tiny")
    w.add_token_list([f"t{i}" for i in range(GEMMA_VOCAB)])
    w.add_token_scores([-float(i) for i in range(GEMMA_VOCAB)])
    w.add_token_types([1] * GEMMA_VOCAB)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(EOS)
    embd = np.arange(GEMMA_VOCAB * 4, dtype=np.float32).reshape(GEMMA_VOCAB, 4)
    norm = np.linspace(0, 1, 4, dtype=np.float32)
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", norm)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return embd, norm


def test_pruned_gguf_keeps_only_the_kept_tokens_and_their_rows(tmp_path):
    from gguf import GGUFReader

    embd, norm = _tiny_gguf(tmp_path / "full.gguf")
    out = vocab.prune_gguf(tmp_path / "full.gguf", tmp_path / "pruned.gguf")
    keep = vocab.kept_ids()
    r = GGUFReader(str(out))
    f = r.fields
    tokens = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode() for i in f["tokenizer.ggml.tokens"].data]
    assert tokens == [f"t{i}" for i in keep]
    scores = [float(f["tokenizer.ggml.scores"].parts[i][0]) for i in f["tokenizer.ggml.scores"].data]
    assert scores == [-float(i) for i in keep]  # merge priorities travel with their tokens
    assert int(f["tokenizer.ggml.bos_token_id"].parts[-1][0]) == int(np.searchsorted(keep, BOS))
    assert bytes(f["general.name"].parts[-1]).decode() == "tiny"
    tensors = {t.name: np.asarray(t.data) for t in r.tensors}
    assert np.array_equal(tensors["token_embd.weight"], embd[keep])
    assert np.array_equal(tensors["output_norm.weight"], norm)
    assert not list(tmp_path.glob("*.tmp"))


def test_a_failed_pruning_leaves_nothing_behind(tmp_path):
    dropped = int(np.flatnonzero(vocab.id_map() < 0)[0])
    _tiny_gguf(tmp_path / "full.gguf", bos=dropped)
    with pytest.raises(ValueError, match="bos_token_id"):
        vocab.prune_gguf(tmp_path / "full.gguf", tmp_path / "pruned.gguf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.gguf"]


def test_pruning_another_vocabulary_is_refused(tmp_path):
    from gguf import GGUFWriter

    w = GGUFWriter(str(tmp_path / "other.gguf"), "gemma3")
    w.add_token_list(["a", "b"])
    w.add_tensor("token_embd.weight", np.zeros((2, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(ValueError, match="not the vocabulary"):
        vocab.prune_gguf(tmp_path / "other.gguf", tmp_path / "pruned.gguf")


def test_full_vocab_setting():
    assert Settings.from_env({}).full_vocab is False
    assert Settings.from_env({"COPYLAB_FULL_VOCAB": "1"}).full_vocab is True
    with pytest.raises(InputError, match="COPYLAB_FULL_VOCAB"):
        Settings.from_env({"COPYLAB_FULL_VOCAB": "yes"})


@pytest.mark.real_model
def test_sampling_vocabulary_tokenizes_and_samples_like_the_full_one(real_settings):
    """A catalog-like prompt: the same token pieces, and the same seed gives the same eight descriptions."""
    from copy_engine.backends.llamacpp import load_llamacpp_generator
    from copy_engine.controls import Controls, map_controls
    from copy_engine.product import Product
    from copy_engine.prompts import build_copywriter_prompt

    small = load_llamacpp_generator(real_settings)
    full = load_llamacpp_generator(dataclasses.replace(real_settings, full_vocab=True))
    assert small.sampling_vocab and not full.sampling_vocab
    assert small.fingerprint().startswith(full.fingerprint() + "+vocab-")
    features = ["Double-wall vacuum insulation", "Keeps drinks cold 24 hours"]
    product = Product(name="Stainless Steel Water Bottle, 24 oz", brand="Hydrow", category="Kitchen | Bottles",
                      features=features, price="$24.99")  # fmt: skip
    prompt = build_copywriter_prompt(product, "description", Controls())

    def pieces(gen):
        toks = gen._http("POST", "/tokenize", {"content": prompt, "with_pieces": True})["tokens"]
        return [t["piece"] for t in toks]

    assert pieces(small) == pieces(full)
    mapping = map_controls(Controls(), "description")
    args = (prompt, 8, mapping.copywriter_decoding)
    kw = dict(seed=11, adapter_weights=mapping.copywriter_adapters)
    assert [s.text for s in small.complete_scored(*args, **kw)] == [s.text for s in full.complete_scored(*args, **kw)]


def test_sampling_gguf_is_made_once_and_replaces_an_earlier_kept_sets_copy(tmp_path, monkeypatch):
    from copy_engine.backends import llamacpp

    source = tmp_path / "gguf" / "model.gguf"
    source.parent.mkdir()
    source.write_bytes(b"full")
    stale = source.with_name("model.abcd1234.vocab-0000000000.gguf")
    stale.write_bytes(b"old")
    made = []
    monkeypatch.setattr(llamacpp, "embedded_gguf", lambda settings: source)
    monkeypatch.setattr(vocab, "prune_gguf", lambda src, target: made.append(target) or target.write_bytes(b"pruned"))
    settings = Settings.from_env({"COPYLAB_HOME": str(tmp_path)})
    first = llamacpp.sampling_gguf(settings)
    assert llamacpp.sampling_gguf(settings) == first and made == [first]  # cached: made once
    assert llamacpp.VOCAB_MARK + vocab.keep_digest() in first.name and not stale.exists()
    assert llamacpp.sampling_gguf(dataclasses.replace(settings, full_vocab=True)) == source


def test_sampling_gguf_falls_back_to_the_full_file_when_it_cannot_write(tmp_path, monkeypatch):
    from copy_engine.backends import llamacpp

    source = tmp_path / "model.gguf"
    source.write_bytes(b"full")
    monkeypatch.setattr(llamacpp, "embedded_gguf", lambda settings: source)

    def no_space(src, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vocab, "prune_gguf", no_space)
    assert llamacpp.sampling_gguf(Settings.from_env({"COPYLAB_HOME": str(tmp_path)})) == source
