"""LoRA adapters: loss terms, training data, training loop, registry validation, mixing, evaluation, CLI.

Model-dependent tests use a tiny randomly initialised Gemma 3 model with a
small byte-level BPE tokenizer built here, so they run in seconds without the
real model.
"""

from __future__ import annotations

import json
import math
import re

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from copy_engine.adapters import data, losses
from copy_engine.adapters.losses import IGNORE, LossWeights
from copy_engine.controls import AdapterWeights
from copy_engine.errors import InputError, ModelLoadError
from copy_engine.product import Product

from conftest import FakeGenerator

# ---------------------------------------------------------------- losses on tiny tensors


def _ce(logits_row, target):
    return float(-torch.log_softmax(logits_row, -1)[target])


def test_lm_loss_masks_prompt_and_padding():
    torch.manual_seed(0)
    logits = torch.randn(1, 5, 7)
    labels = torch.tensor([[IGNORE, IGNORE, 3, 4, IGNORE]])
    # positions 1 and 2 predict labels 2 and 3; position 3 predicts padding (ignored)
    expected = (_ce(logits[0, 1], 3) + _ce(logits[0, 2], 4)) / 2
    assert losses.lm_loss(logits, labels).item() == pytest.approx(expected, rel=1e-5)
    changed = logits.clone()
    changed[0, 0] += 5.0  # predicts a prompt token: must not matter
    changed[0, 3] -= 5.0  # predicts padding: must not matter
    assert losses.lm_loss(changed, labels).item() == pytest.approx(expected, rel=1e-5)


def test_cta_loss_only_counts_cta_span_tokens():
    torch.manual_seed(1)
    logits = torch.randn(1, 5, 7)
    labels = torch.tensor([[IGNORE, 2, 3, 4, 5]])
    cta_mask = torch.tensor([[0, 0, 0, 1, 1]])  # the last two target tokens are the CTA
    expected = (_ce(logits[0, 2], 4) + _ce(logits[0, 3], 5)) / 2
    assert losses.cta_loss(logits, labels, cta_mask).item() == pytest.approx(expected, rel=1e-5)
    assert losses.cta_loss(logits, labels, torch.zeros_like(cta_mask)).item() == 0.0


def test_unlikelihood_targets_repeated_tokens():
    labels = torch.tensor([[IGNORE, 1, 2, 1, 2]])
    _rows, poss, toks = losses.repeat_candidates(labels, ngram=2)
    pairs = set(zip(poss.tolist(), toks.tolist()))
    # predicting label 3 (=1, logits position 2): earlier token 2 is a candidate, the gold token 1 is not
    assert (2, 2) in pairs and (2, 1) not in pairs
    # predicting label 4 (=2): earlier token 1 is a candidate
    assert (3, 1) in pairs
    logits = torch.zeros(1, 5, 4)
    base = losses.unlikelihood_loss(logits, labels, ngram=2).item()
    assert base > 0
    pushed = logits.clone()
    pushed[0, 2, 2] += 3.0  # more probability on repeating token 2 at position 2
    assert losses.unlikelihood_loss(pushed, labels, ngram=2).item() > base
    # candidates are the earlier target tokens only (never prompt tokens): one target token has none
    single = torch.tensor([[IGNORE, IGNORE, IGNORE, 3]])
    assert losses.unlikelihood_loss(torch.zeros(1, 4, 5), single).item() == 0.0


def test_reward_weights_scale_examples():
    torch.manual_seed(2)
    logits = torch.randn(2, 4, 6)
    labels = torch.tensor([[IGNORE, 1, 2, IGNORE], [IGNORE, 3, 4, 5]])
    ce0 = (_ce(logits[0, 0], 1) + _ce(logits[0, 1], 2)) / 2
    ce1 = (_ce(logits[1, 0], 3) + _ce(logits[1, 1], 4) + _ce(logits[1, 2], 5)) / 3
    even = losses.reward_loss(logits, labels, torch.tensor([1.0, 1.0])).item()
    assert even == pytest.approx((ce0 + ce1) / 2, rel=1e-5)
    only_first = losses.reward_loss(logits, labels, torch.tensor([2.0, 0.0])).item()
    assert only_first == pytest.approx(ce0, rel=1e-5)


def test_combined_loss_is_weighted_sum_of_logged_terms():
    torch.manual_seed(3)
    logits = torch.randn(2, 5, 6, requires_grad=True)
    labels = torch.tensor([[IGNORE, 1, 2, 1, 2], [IGNORE, IGNORE, 3, 4, 5]])
    cta = torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]])
    w = LossWeights(lm=0.5, cta=2.0, unlikelihood=0.3, reward=1.5)
    total, terms = losses.combined_loss(logits, labels, w, cta_mask=cta, example_weights=torch.tensor([1.5, 0.5]))
    assert set(terms) == {"lm", "cta", "unlikelihood", "reward", "kl"}
    expected = sum(getattr(w, k) * v for k, v in terms.items())
    assert total.item() == pytest.approx(expected, rel=1e-5)
    total.backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0


def test_kl_term_is_zero_at_the_base_model_and_grows_as_the_adapter_moves():
    torch.manual_seed(4)
    base = torch.randn(2, 5, 7)
    labels = torch.tensor([[IGNORE, 1, 2, 1, 2], [IGNORE, IGNORE, 3, 4, IGNORE]])
    assert losses.kl_to_base(base, base, labels).item() == pytest.approx(0.0, abs=1e-6)
    near = losses.kl_to_base(base + 0.1 * torch.randn(2, 5, 7), base, labels).item()
    far = losses.kl_to_base(base + 2.0 * torch.randn(2, 5, 7), base, labels).item()
    assert 0 < near < far
    # Prompt and padding positions do not count: changing them leaves the term alone.
    moved = base.clone()
    moved[1, 0] += 5.0  # predicts labels[1, 1], which is IGNORE
    assert losses.kl_to_base(moved, base, labels).item() == pytest.approx(0.0, abs=1e-6)
    w = LossWeights(lm=1.0, kl=2.0)
    logits = (base + torch.randn(2, 5, 7)).requires_grad_()
    total, terms = losses.combined_loss(logits, labels, w, base_logits=base)
    assert total.item() == pytest.approx(terms["lm"] + 2.0 * terms["kl"], rel=1e-5)
    with pytest.raises(ValueError):
        losses.combined_loss(logits, labels, w)


# ---------------------------------------------------------------- training data


def test_cta_spans_cover_the_call_to_action_sentence():
    text = "Fresh roasted coffee. Shop now and save!"
    spans = data.cta_spans(text)
    assert len(spans) == 1
    s, e = spans[0]
    assert text[s:e].startswith("Shop") and text[s:e].endswith("!")
    assert data.cta_spans("Fresh roasted coffee from Colombia.") == []


def test_split_is_fixed_and_disjoint():
    names = [f"Product {i}" for i in range(300)]
    train = {n for n in names if data.is_training_product(n)}
    assert 150 < len(train) < 250  # about two in three (TRAINING_BUCKETS)
    assert train == {n for n in names if data.is_training_product(n)}  # deterministic


def test_products_from_csv_sides_are_disjoint(shared_data):
    csv = shared_data / "products" / "amazon_products_sample.csv"
    train = data.products_from_csv(csv, 30, "train")
    evaluation = data.products_from_csv(csv, 30, "eval")
    assert train and evaluation
    assert not {p.name for p in train} & {p.name for p in evaluation}


def test_select_candidates_by_objective():
    p = Product(name="Cold Brew Coffee Concentrate", features=["Steeped for 18 hours", "Makes 8 drinks"])
    cands = [
        "Cold brew coffee concentrate steeped for 18 hours.",
        "Shop now: cold brew that makes 8 drinks!",
        "A wonderful, delicious, brilliant cold brew you will love.",
        "Now 50% off cold brew coffee concentrate.",  # unsupported claim: never picked
    ]
    cta = [t for t, _ in data.select_candidates("cta", cands, p, keep=3)]
    assert cta == ["Shop now: cold brew that makes 8 drinks!"]
    tone = [t for t, _ in data.select_candidates("tone", cands, p, keep=3)]
    assert tone[0].startswith("A wonderful")
    assert all("50%" not in t for t in tone + cta)


def test_reward_weights_have_mean_one_and_keep_order():
    w = data.reward_weights("tone", [0.9, 0.3, 0.6])
    assert sum(w) / len(w) == pytest.approx(1.0)
    assert w[0] > w[2] > w[1]


def test_examples_from_csv_uses_ctr_as_weight(tmp_path):
    f = tmp_path / "copy.csv"
    f.write_text("product_name,channel,text,ctr\nTea,headline,Calm tea for slow evenings,2.0\nTea,headline,Shop tea now,1.0\n")
    ex = data.examples_from_csv(f)
    assert [e.weight for e in ex] == pytest.approx([4 / 3, 2 / 3], abs=1e-3)
    assert ex[1].cta_spans and ex[0].prompt.endswith("Copy:")
    assert "Tone: balanced" in ex[0].prompt and "Call to action: none" in ex[0].prompt
    bad = tmp_path / "bad.csv"
    bad.write_text("name,text\nTea,hello\n")
    with pytest.raises(InputError, match="missing column"):
        data.examples_from_csv(bad)
    badctr = tmp_path / "badctr.csv"
    badctr.write_text("product_name,channel,text,ctr\nTea,headline,Hello tea,abc\n")
    with pytest.raises(InputError, match="ctr must be a number"):
        data.examples_from_csv(badctr)
    with pytest.raises(InputError, match="unknown channel"):
        bad_channel = tmp_path / "ch.csv"
        bad_channel.write_text("product_name,channel,text\nTea,billboard,Hello tea\n")
        data.examples_from_csv(bad_channel)


def test_distill_keeps_best_and_uses_neutral_prompt(fake_generator):
    products = data.load_training_catalog()[:4]
    ex = data.distill("cta", products, fake_generator, n_candidates=8, keep=2)
    # the over-generation prompt asks for a strong CTA; the training prompt does not
    assert all("Call to action: strong" in c["prompt"].split("###")[-1] for c in fake_generator.calls)
    assert ex and all("Call to action: none" in e.prompt.split("###")[-1] for e in ex)
    assert all(e.cta_spans for e in ex)
    assert sum(e.weight for e in ex) / len(ex) == pytest.approx(1.0, abs=1e-3)


def test_distill_tone_learns_from_the_models_own_neutral_samples(fake_generator):
    """Tone candidates come from the NEUTRAL prompt and decoding (best of its own outputs), not a teacher prompt."""
    from copy_engine.controls import map_controls

    assert data.CANDIDATE_SOURCE["tone"] == "own" and data.CANDIDATE_SOURCE["cta"] == "teacher"
    products = data.load_training_catalog()[:3]
    data.distill("tone", products, fake_generator, n_candidates=6, keep=2, channels=("headline",))
    assert fake_generator.calls
    for c in fake_generator.calls:
        tail = c["prompt"].split("###")[-1]
        assert "Tone: balanced" in tail and "Call to action: none" in tail
        assert c["decoding"] == map_controls(data.NEUTRAL, "headline").decoding


def test_distill_second_round_samples_the_adapter_with_neutral_wishes(fake_generator):
    """With adapter_weights, candidates are that adapter's own neutral samples, whatever CANDIDATE_SOURCE says."""
    from copy_engine.adapters.evaluate import SETTINGS

    products = data.load_training_catalog()[:2]
    data.distill("cta", products, fake_generator, n_candidates=4, keep=2, adapter_weights=SETTINGS["cta"])
    assert fake_generator.calls and all(c["adapters"] == SETTINGS["cta"] for c in fake_generator.calls)
    assert all("Call to action: none" in c["prompt"].split("###")[-1] for c in fake_generator.calls)


# ---------------------------------------------------------------- tiny model fixtures


@pytest.fixture(scope="module")
def tiny():
    """(LoadedModel, config) with a tiny random Gemma 3 model and a small BPE tokenizer."""
    return make_tiny()


def make_tiny():
    """(LoadedModel, config): a tiny random Gemma 3 model and a byte-level BPE tokenizer trained on the deck."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, PreTrainedTokenizerFast

    from copy_engine.model import LoadedModel
    from copy_engine.prompts import load_examples

    corpus = [e["text"] for e in load_examples()["examples"]] + [json.dumps(load_examples()["products"])]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<eos>", "<bos>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    bpe.train_from_iterator(corpus, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>")
    # sliding_window above the sequence length: with left-padded rows a window edge would fall
    # on other tokens than in a plain forward, and the equality test below compares the two.
    cfg = Gemma3TextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=4096,
                           layer_types=["sliding_attention", "full_attention"], pad_token_id=0, bos_token_id=2, eos_token_id=1)  # fmt: skip
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(cfg).eval()
    loaded = LoadedModel(model, tok, "tiny-gemma3", "cpu", "float32", "unused", 0.0, False)
    return loaded, cfg


def _examples(n=8):
    from copy_engine.prompts import build_prompt

    out = []
    for i, p in enumerate(data.load_training_catalog()[:n]):
        ch = data.TRAIN_CHANNELS[i % 2]
        text = f"Shop the {p.name.split(',')[0]} today."
        out.append(data.TrainingExample(build_prompt(p, ch, data.NEUTRAL), text, 1.0, data.cta_spans(text), p.name, ch, 0.9))
    return out


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    """A tiny adapter trained for a few steps, saved to a temp folder."""
    from transformers import Gemma3ForCausalLM

    from copy_engine.adapters.train import train_adapter

    loaded, cfg = tiny
    torch.manual_seed(0)
    base = Gemma3ForCausalLM(cfg)
    base.load_state_dict(loaded.model.state_dict())
    out = tmp_path_factory.mktemp("adapters") / "tinycta.safetensors"
    records = []
    res = train_adapter(loaded, _examples(), _cfg(steps=4), out, base_model=base, progress=records.append)
    return res, records


def _copy(tiny):
    from transformers import Gemma3ForCausalLM

    loaded, cfg = tiny
    base = Gemma3ForCausalLM(cfg)
    base.load_state_dict(loaded.model.state_dict())
    return base


def _cfg(**kw):
    from copy_engine.adapters.train import AdapterTrainConfig

    base = {"name": "tinycta", "objective": "cta", "batch_size": 4, "eval_every": 2, "lr": 5e-3, "warmup_steps": 2, "r": 4, "alpha": 8}
    base.update(kw)
    return AdapterTrainConfig(**base)


def test_encode_example_masks_prompt_and_marks_cta(tiny):
    from copy_engine.adapters.train import encode_example

    loaded, _ = tiny
    ex = _examples(1)[0]
    enc = encode_example(loaded.tokenizer, ex)
    target_ids = [x for x in enc.labels if x != IGNORE]
    assert loaded.tokenizer.decode(target_ids).strip() == ex.target
    assert enc.labels[: len(enc.labels) - len(target_ids)] == [IGNORE] * (len(enc.labels) - len(target_ids))
    cta_text = loaded.tokenizer.decode([i for i, m in zip(enc.ids, enc.cta) if m])
    assert cta_text.strip().startswith("Shop") and "today" in cta_text
    assert enc.head.endswith("###") and "Copy:" in enc.head


def test_training_tokens_are_the_inference_prompt_tokens(tiny):
    """Head + encoded example = the tokens the generator feeds for the same prompt, then the copy."""
    from copy_engine.adapters.train import encode_example
    from copy_engine.prompts import split_head

    loaded, _ = tiny
    tok = loaded.tokenizer
    for ex in _examples(4):
        enc = encode_example(tok, ex)
        assert enc.head == split_head(ex.prompt)[0]  # the head the generator caches for this prompt
        n_prompt = enc.labels.count(IGNORE)
        assert tok(enc.head).input_ids + enc.ids[:n_prompt] == tok(ex.prompt).input_ids
    no_head = data.TrainingExample("Product: Tea\nCopy:", "Calm tea.")
    enc = encode_example(tok, no_head)
    assert enc.head == "" and enc.ids[: enc.labels.count(IGNORE)] == tok(no_head.prompt).input_ids  # BOS included


@pytest.mark.real_model
def test_training_split_matches_the_real_tokenizers_prompt_tokens(real_settings):
    """Gemma's tokenizer could merge across the cut ("###" + "\n"); it does not, on every channel and wish."""
    from transformers import AutoTokenizer

    from copy_engine.channels import CHANNELS
    from copy_engine.controls import Controls
    from copy_engine.model import resolve_source
    from copy_engine.prompts import build_prompt, split_head

    tok = AutoTokenizer.from_pretrained(resolve_source(real_settings)[0])
    for p in data.load_training_catalog()[:8]:
        for channel in CHANNELS:
            for controls in (data.NEUTRAL, Controls(1.0, 0.5, 1.0), Controls(-1.0, 0.2, 0.0)):
                prompt = build_prompt(p, channel, controls)
                head, tail = split_head(prompt)
                ids = tok(head).input_ids + tok(tail, add_special_tokens=False).input_ids
                assert ids == tok(prompt).input_ids, (channel, p.name)


def test_early_stopper_keeps_the_best_weights_and_counts_patience(tiny):
    from peft import LoraConfig, get_peft_model

    from copy_engine.adapters.lora_run import EarlyStopper

    model = get_peft_model(_copy(tiny), LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    stopper = EarlyStopper(patience=2)
    assert stopper.update(5.0, 10, model) and stopper.best_step == 10 and stopper.state
    kept = {k: v.clone() for k, v in stopper.state.items()}
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(1.0)  # the adapter moves on; the kept copy must not
    assert not stopper.update(4.99995, 20, model)  # within min_delta: no improvement
    assert not stopper.should_stop
    assert not stopper.update(float("nan"), 30, model)
    assert stopper.should_stop and stopper.best == 5.0 and stopper.best_step == 10
    assert all(torch.equal(stopper.kept(model, 30)[k], v) for k, v in kept.items())
    unmeasured = EarlyStopper(patience=3)
    assert unmeasured.kept(model, 7) and unmeasured.best_step == 7  # no validation: the last step is the one saved


def test_training_loop_logs_terms_and_saves(trained, tiny):
    res, records = trained
    assert res.path.exists() and res.path.with_suffix(".json").exists()
    assert [r["step"] for r in records] == list(range(1, res.steps_done + 1))
    assert all({"lm", "cta", "unlikelihood", "reward", "lr", "eta_s"} <= set(r) for r in records)
    assert any("val_loss" in r for r in records)
    assert records[0]["lr"] < records[1]["lr"]  # warm-up
    assert records[-1]["lm"] < records[0]["lm"]  # it learns
    meta = json.loads(res.path.with_suffix(".json").read_text())
    assert meta["objective"] == "cta" and meta["lora"]["r"] == 4 and meta["training"]["config"]["seed"] == 0
    # what the run really used: bf16 autocast only where the CPU runs it natively
    from copy_engine.model import native_bf16

    native = native_bf16(meta["training"]["device"])
    assert meta["training"]["autocast"] == ("bf16" if meta["training"]["config"]["bf16"] and native else "off")


def test_kl_term_keeps_the_adapter_near_the_base_model(tiny, tmp_path):
    """The kl term is 0 at the first step (LoRA B starts at 0) and measured against the adapter-free model."""
    from copy_engine.adapters.train import train_adapter

    loaded, _ = tiny
    runs = {}
    for kl in (0.0, 5.0):
        records = []
        w = LossWeights(lm=1.0, cta=1.0, kl=kl)
        train_adapter(loaded, _examples(), _cfg(name=f"kl{int(kl)}", steps=4, eval_every=10, loss_weights=w),
                      tmp_path / f"kl{int(kl)}.safetensors", base_model=_copy(tiny), progress=records.append)  # fmt: skip
        runs[kl] = records
    assert runs[5.0][0]["kl"] == pytest.approx(0.0, abs=1e-4)
    assert all(r["kl"] == 0.0 for r in runs[0.0])  # weight 0: not computed
    assert runs[5.0][-1]["kl"] > 0.0  # the adapter has moved, and is charged for it


def test_training_cancel_saves_nothing(tiny, tmp_path):
    from copy_engine.adapters.train import train_adapter

    loaded, _ = tiny
    out = tmp_path / "x.safetensors"
    res = train_adapter(loaded, _examples(), _cfg(name="x", steps=3), out, should_stop=lambda: True, base_model=_copy(tiny))
    assert res.stopped == "cancelled" and not out.exists()
    with pytest.raises(InputError, match="at least"):
        train_adapter(loaded, _examples(2), _cfg(name="x", steps=3), out)


# ---------------------------------------------------------------- registry


def test_registry_validates_files(trained, tiny, tmp_path):
    from safetensors.torch import load_file, save_file

    from copy_engine.adapters.registry import load_validated

    loaded, _ = tiny
    res, _ = trained
    tensors, meta = load_validated(res.path, loaded.model)
    assert tensors and meta["name"] == "tinycta"

    # wrong base model recorded in the metadata
    wrong = tmp_path / "wrong.safetensors"
    save_file(load_file(str(res.path)), str(wrong))
    m = dict(meta, base=dict(meta["base"], hidden_size=640, name="gemma-3-270m"))
    wrong.with_suffix(".json").write_text(json.dumps(m))
    with pytest.raises(ModelLoadError, match="different base model"):
        load_validated(wrong, loaded.model)

    # a tensor with the wrong shape
    bad = tmp_path / "bad.safetensors"
    t = load_file(str(res.path))
    key = next(k for k in t if "lora_A" in k)
    t[key] = torch.zeros(4, 7)
    save_file(t, str(bad))
    bad.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="shape"):
        load_validated(bad, loaded.model)

    # pickles and other formats are refused before reading
    pt = tmp_path / "evil.bin"
    pt.write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="safetensors"):
        load_validated(pt, loaded.model)
    # metadata missing
    lonely = tmp_path / "lonely.safetensors"
    save_file(load_file(str(res.path)), str(lonely))
    with pytest.raises(ModelLoadError, match="metadata"):
        load_validated(lonely, loaded.model)
    # garbage inside a .safetensors name
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00garbage")
    junk.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="readable"):
        load_validated(junk, loaded.model)


# ---------------------------------------------------------------- mixing


def test_mixing_off_is_exact_base_and_weights_change_logits(trained, tiny):
    from transformers import Gemma3ForCausalLM

    from copy_engine.adapters.mixing import AdapterMixer, attach_adapters

    loaded, cfg = tiny
    res, _ = trained
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(cfg).to(torch.bfloat16).eval()
    model.load_state_dict(loaded.model.state_dict())
    ids = loaded.tokenizer(["Product: Oat milk\nCopy:"], return_tensors="pt").input_ids
    with torch.no_grad():
        base = model(ids).logits.clone()
        peft_model, info = attach_adapters(model, {"tone": res.path, "cta": res.path}, dtype=torch.bfloat16)
        mixer = AdapterMixer(peft_model, info)
        assert mixer.names == ["tone", "cta"]
        mixer.apply(None)
        assert torch.equal(peft_model(ids).logits, base)
        mixer.apply(AdapterWeights(tone=1.0, creative=0.0, cta=0.0))
        on = peft_model(ids).logits.clone()
        assert not torch.equal(on, base)
        mixer.apply(AdapterWeights(tone=-1.0, creative=0.0, cta=0.0))
        neg = peft_model(ids).logits.clone()
        assert not torch.equal(neg, on) and not torch.equal(neg, base)
        mixer.apply(AdapterWeights(tone=0.0, creative=0.0, cta=0.0))
        assert torch.equal(peft_model(ids).logits, base)
        mixer.apply(AdapterWeights(tone=1.0, creative=0.0, cta=0.0))
        assert torch.equal(peft_model(ids).logits, on)  # switching back needs no reload and is reproducible
        mixer.apply(AdapterWeights(tone=1.0, creative=0.0, cta=1.0))
        assert not torch.equal(peft_model(ids).logits, on)  # two adapters stack


def test_make_mixer_skips_adapters_for_another_model(tiny, tmp_home, monkeypatch, tmp_path):
    """Shipped adapters (trained for Gemma 3 270M) do not fit the tiny model: no mixer, no crash."""
    from copy_engine.adapters import mixing, registry
    from copy_engine.settings import get_settings

    loaded, _ = tiny
    monkeypatch.setattr(registry, "SHIPPED_DIR", tmp_path / "none")
    assert mixing.make_mixer(loaded, get_settings()) is None


# ---------------------------------------------------------------- evaluation


def test_sample_settings_same_prompt_and_seed_per_setting(fake_generator):
    from copy_engine.adapters.evaluate import SETTINGS, sample_settings

    products = [Product(name="Oat Milk 1 L", features=["Barista edition"]), Product(name="Rain Jacket")]
    s = sample_settings(fake_generator, products, "headline", n_variants=3, seed=5)
    assert set(s.texts) == set(SETTINGS)
    by_setting = {}
    for c in fake_generator.calls:
        by_setting.setdefault(c["adapters"], []).append((c["prompt"], c["seed"], c["decoding"]))
    assert len(by_setting) == len(SETTINGS)
    first = list(by_setting.values())
    assert all(v == first[0] for v in first)  # identical prompts, seeds and decoding for every setting
    assert "Call to action: none" in fake_generator.calls[0]["prompt"].split("###")[-1]


def test_summarize_contract_shape():
    from copy_engine.adapters.evaluate import summarize

    def m(v, c, d, n, f, p):
        return {"vader_compound": v, "cta_rate": c, "distinct_2": d, "novelty": n, "faithfulness": f, "perplexity": p}

    metrics = {
        "off": m(0.1, 0.1, 0.6, 0.4, 0.9, 10.0),
        "tone": m(0.4, 0.1, 0.6, 0.4, 0.88, 11.0),
        "tone_neg": m(-0.05, 0.1, 0.6, 0.4, 0.9, 10.5),
        "cta": m(0.15, 0.6, 0.6, 0.45, 0.9, 11.5),
        "creative": m(0.1, 0.1, 0.75, 0.5, 0.86, 12.5),
    }
    s = summarize(metrics)
    assert s["tone"] == {"metric": "vader_compound", "off": 0.1, "on": 0.4, "delta": 0.3, "neg_delta": -0.15}
    assert s["cta"]["delta"] == pytest.approx(0.5)
    assert s["creative"]["delta"] == pytest.approx(0.15) and s["creative"]["novelty_delta"] == pytest.approx(0.1)
    assert s["side_effects"]["perplexity_ratio"] == pytest.approx(1.25)
    assert s["side_effects"]["faithfulness_delta"] == pytest.approx(-0.04)
    assert set(s["matrix"]) == {"tone", "cta", "creative"}
    assert s["targets_met"]["perplexity"] is False and s["targets_met"]["tone"] is True
    assert s["side_effects"]["perplexity_ratio_by_adapter"] == {"tone": 1.1, "tone_neg": 1.05, "cta": 1.15, "creative": 1.25}
    assert "perplexity_ratio_copy_only_by_adapter" not in s["side_effects"]


def test_creative_fluency_is_judged_on_the_copy_alone():
    """creative's perplexity given the product may rise (its novelty is what the product lines do not
    predict); the target holds it to the cap on the copy alone, and tone/cta to the cap given the product."""
    from copy_engine.adapters.evaluate import summarize

    def m(p, alone):
        fixed = {"vader_compound": 0.2, "cta_rate": 0.2, "distinct_2": 0.6, "novelty": 0.4, "faithfulness": 0.9}
        return {**fixed, "perplexity": p, "perplexity_copy_only": alone}

    metrics = {
        "off": m(10.0, 40.0),
        "tone": m(11.0, 42.0),
        "tone_neg": m(10.0, 40.0),
        "cta": m(11.0, 44.0),
        "creative": m(14.0, 46.0),
    }
    side = summarize(metrics)["side_effects"]
    assert side["perplexity_ratio_copy_only_by_adapter"]["creative"] == pytest.approx(1.15)
    assert summarize(metrics)["targets_met"]["perplexity"] is True
    metrics["creative"]["perplexity_copy_only"] = 50.0  # x1.25 on the copy alone
    assert summarize(metrics)["targets_met"]["perplexity"] is False
    metrics["creative"]["perplexity_copy_only"] = 40.0
    metrics["cta"]["perplexity"] = 12.5  # x1.25 given the product
    assert summarize(metrics)["targets_met"]["perplexity"] is False


# ---------------------------------------------------------------- CLI


def test_cli_adapters_list_json(trained, tmp_home, capsys):
    import shutil

    from copy_engine.cli import main
    from copy_engine.settings import get_settings

    res, _ = trained
    folder = get_settings().adapters_dir
    folder.mkdir(parents=True)
    shutil.copy(res.path, folder / "mine.safetensors")
    meta = json.loads(res.path.with_suffix(".json").read_text())
    (folder / "mine.json").write_text(json.dumps(dict(meta, name="mine")))
    assert main(["adapters", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list) and rows
    for r in rows:
        assert {"name", "objective", "base_model", "file", "metrics"} <= set(r)
        assert r["file"].endswith(".safetensors")
    mine = [r for r in rows if r["name"] == "mine"]
    assert mine and mine[0]["shipped"] is False and mine[0]["objective"] == "cta"
    assert main(["adapters", "set-default", "mine"]) == 0
    capsys.readouterr()
    main(["adapters", "list", "--format", "json"])
    assert [r["name"] for r in json.loads(capsys.readouterr().out) if r["default"]] == ["mine"]


def test_cli_train_adapter_bad_input(tmp_home, capsys, tmp_path):
    from copy_engine.cli import main

    assert main(["train-adapter", "--name", "Bad Name", "--objective", "tone", "--from", "favourites"]) == 2
    assert "adapter name" in capsys.readouterr().err
    assert main(["train-adapter", "--name", "ok", "--objective", "tone", "--from", str(tmp_path / "x.txt")]) == 2
    assert "--from" in capsys.readouterr().err
    assert main(["train-adapter", "--name", "tone", "--objective", "tone", "--from", "favourites"]) == 2
    assert "shipped" in capsys.readouterr().err


@pytest.mark.real_model
def test_shipped_adapters_load_on_real_model_and_change_output(real_settings):
    """The shipped adapters attach to the bf16 embedded model; off = base logits, on differs."""
    from copy_engine.adapters.mixing import make_mixer
    from copy_engine.adapters.registry import SHIPPED_DIR
    from copy_engine.model import load_model

    if not (SHIPPED_DIR / "tone.safetensors").exists():
        pytest.skip("shipped adapters not trained yet")
    loaded = load_model(real_settings)
    ids = loaded.tokenizer(["Product: Oat milk\nCopy:"], return_tensors="pt").input_ids
    base = loaded.model(ids).logits.clone()
    mixer = make_mixer(loaded, real_settings)
    assert set(mixer.names) >= {"tone", "cta", "creative"}
    mixer.apply(None)
    assert torch.equal(mixer.model(ids).logits, base)
    mixer.apply(AdapterWeights(tone=1.0, creative=0.0, cta=0.0))
    assert not torch.equal(mixer.model(ids).logits, base)
    assert math.isfinite(float(mixer.model(ids).logits.float().abs().max()))


def test_split_batch_loss_equals_plain_full_sequence_loss(tiny):
    """Head cache + no-grad prompt + padded copy gives the same loss as one plain forward per example."""
    from copy_engine.adapters.train import _batch_loss, _HeadCache, encode_example

    loaded, _ = tiny
    model, tok = loaded.model, loaded.tokenizer
    items = [encode_example(tok, e) for e in _examples(6)[::2]]  # same channel = same head
    assert len({it.head for it in items}) == 1
    w = LossWeights(lm=1.0, cta=0.0, unlikelihood=0.0, reward=0.0)
    with torch.no_grad():
        _, terms = _batch_loss(model, _HeadCache(model, tok, "cpu"), items, w, 3, "cpu")
        nll, count = 0.0, 0
        for it in items:
            head_ids = tok(it.head).input_ids
            ids = torch.tensor([head_ids + it.ids])
            labels = torch.tensor([[IGNORE] * len(head_ids) + it.labels])
            logits = model(ids).logits
            lm = losses.lm_loss(logits, labels).item()
            n = sum(1 for x in it.labels if x != IGNORE)
            nll, count = nll + lm * n, count + n
    assert terms["lm"] == pytest.approx(nll / count, rel=1e-4)


def test_negative_tone_switches_on_calm_adapter_when_loaded(trained, tiny):
    """With a `calm` adapter, tone < 0 turns calm on at |tone| and tone off; without one, tone goes negative."""
    from transformers import Gemma3ForCausalLM

    from copy_engine.adapters.mixing import AdapterMixer, attach_adapters

    loaded, cfg = tiny
    res, _ = trained
    model = Gemma3ForCausalLM(cfg).to(torch.bfloat16).eval()
    model.load_state_dict(loaded.model.state_dict())
    with torch.no_grad():
        peft_model, info = attach_adapters(model, {"tone": res.path, "calm": res.path}, dtype=torch.bfloat16)
    mixer = AdapterMixer(peft_model, info)
    assert mixer.weights_for(AdapterWeights(tone=-0.5, creative=0.0, cta=0.0)) == {"tone": 0.0, "calm": 0.5}
    assert mixer.weights_for(AdapterWeights(tone=0.75, creative=0.0, cta=0.0)) == {"tone": 0.75, "calm": 0.0}
    no_calm = AdapterMixer(peft_model, {"tone": info["tone"]})
    assert no_calm.weights_for(AdapterWeights(tone=-0.5, creative=0.0, cta=0.0)) == {"tone": -0.5}


def test_fluency_prefix_drops_only_the_wish_lines():
    from copy_engine.adapters.data import NEUTRAL
    from copy_engine.adapters.evaluate import fluency_prefix
    from copy_engine.prompts import SEPARATOR, build_prompt

    prompt = build_prompt(Product(name="Oat Milk 1 L", brand="Avena", features=["Barista foam"]), "headline", NEUTRAL)
    assert prompt.count(SEPARATOR) > 1  # the few-shot examples come first
    prefix = fluency_prefix(prompt)
    assert prefix.startswith("Product: Oat Milk 1 L\nBrand: Avena")
    assert "Barista foam" in prefix and prefix.endswith("Copy:")
    assert "Tone:" not in prefix and "Call to action:" not in prefix


def test_distill_products_rotate_over_the_whole_pool():
    from copy_engine.adapters.data import SHIPPED_OBJECTIVES, distill_products

    pool = [Product(name=f"P{i}") for i in range(12)]
    firsts = {distill_products(o, pool, 12)[0].name for o in SHIPPED_OBJECTIVES}
    assert len(firsts) == len(SHIPPED_OBJECTIVES)  # each objective starts elsewhere
    for o in SHIPPED_OBJECTIVES:
        assert {p.name for p in distill_products(o, pool, 12)} == {p.name for p in pool}
        assert len(distill_products(o, pool, 5)) == 5


def test_fluent_keeps_texts_under_the_perplexity_cap(tiny):
    """`fluent` keeps exactly the texts whose own perplexity (as text_nlls counts it) is under the cap."""
    from copy_engine.adapters.data import fluent
    from copy_engine.fluency import perplexity

    loaded, _ = tiny
    product = Product(name="Oat Milk 1 L", features=["Barista foam"])
    texts = ["Oat milk that foams like dairy", "zq xv kk jj qq zz"]
    per_text = []
    for t in texts:
        assert fluent(loaded, [t], product, "headline", float("inf")) == [t]
        per_text.append(fluent(loaded, [t], product, "headline", 0.5))
    assert per_text == [[], []]  # nothing is below perplexity 0.5
    from copy_engine.adapters.data import NEUTRAL, fluency_prefix
    from copy_engine.prompts import build_prompt

    prefix = fluency_prefix(build_prompt(product, "headline", NEUTRAL))
    ppl = [perplexity(loaded, [t], [prefix]) for t in texts]
    cap = min(ppl) + 1e-6
    kept = fluent(loaded, texts, product, "headline", cap)
    assert kept == [texts[ppl.index(min(ppl))]]


# ---------------------------------------------------------------- slider adapters on the copywriter


def test_copywriter_requests_route_slider_weights_to_the_copywriters_own_adapters():
    from copy_engine.adapters.mixing import slider_scales
    from copy_engine.controls import AdapterWeights

    names = ["tone", "calm", "cta", "creative", "copywriter", "copywriter-tone", "copywriter-calm", "copywriter-cta", "copywriter-creative"]
    on = slider_scales(names, AdapterWeights(tone=0.4, creative=0.2, cta=0.3, copywriter=1.0))
    assert on == {**dict.fromkeys(names, 0.0), "copywriter": 1.0, "copywriter-tone": 0.4, "copywriter-creative": 0.2, "copywriter-cta": 0.3}
    calm = slider_scales(names, AdapterWeights(tone=-0.5, creative=0.0, cta=0.0, copywriter=1.0))
    assert calm["copywriter-calm"] == 0.5 and calm["copywriter-tone"] == 0.0 and calm["calm"] == 0.0
    # The few-shot pipeline keeps its own set, and the copywriter's stay off.
    few = slider_scales(names, AdapterWeights(tone=0.4, creative=0.2, cta=0.3))
    assert few["tone"] == 0.4 and few["copywriter"] == 0.0 and not any(few[n] for n in names if n.startswith("copywriter-"))
    # Without the copywriter's own adapters, the few-shot ones (trained on the base model) are never used on it.
    assert slider_scales(names[:5], AdapterWeights(0.4, 0.2, 0.3, copywriter=1.0)) == {**dict.fromkeys(names[:5], 0.0), "copywriter": 1.0}


def test_best_of_takes_the_copywriters_place_on_its_channels_with_the_slider_adapters_riding_on_it():
    from copy_engine.adapters.mixing import slider_scales
    from copy_engine.channels import CHANNELS
    from copy_engine.controls import BEST_OF_CHANNELS, AdapterWeights, Controls, map_controls

    names = ["copywriter", "copywriter-cta", "cta", "best-of"]
    on = slider_scales(names, AdapterWeights(0.0, 0.0, 0.25, copywriter=1.0, best_of=1.0))
    assert on == {"copywriter": 0.0, "copywriter-cta": 0.25, "cta": 0.0, "best-of": 1.0}
    off = slider_scales(names, AdapterWeights(0.0, 0.0, 0.25, copywriter=1.0))
    assert off == {"copywriter": 1.0, "copywriter-cta": 0.25, "cta": 0.0, "best-of": 0.0}
    few = slider_scales(names, AdapterWeights(0.0, 0.0, 0.25, best_of=1.0))  # the few-shot pipeline: neither
    assert few["copywriter"] == few["best-of"] == 0.0 and few["cta"] == 0.25
    # not installed: the copywriter keeps its whole weight
    assert slider_scales(names[:3], AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0, best_of=1.0))["copywriter"] == 1.0
    assert {ch for ch in CHANNELS if map_controls(Controls(), ch).copywriter_adapters.best_of} == set(BEST_OF_CHANNELS)
    assert not map_controls(Controls(), "social").adapters.best_of  # the few-shot pipeline's weights never have it


def test_the_preference_tuned_best_of_takes_its_place_on_its_channels_only():
    from copy_engine.adapters.mixing import slider_scales
    from copy_engine.channels import CHANNELS
    from copy_engine.controls import PREFERENCE_CHANNELS, AdapterWeights, Controls, map_controls

    names = ["copywriter", "copywriter-cta", "best-of", "preference"]
    tuned = slider_scales(names, AdapterWeights(0.0, 0.0, 0.25, copywriter=1.0, best_of=1.0, preference=1.0))
    assert tuned == {"copywriter": 0.0, "copywriter-cta": 0.25, "best-of": 0.0, "preference": 1.0}
    plain = slider_scales(names, AdapterWeights(0.0, 0.0, 0.25, copywriter=1.0, best_of=1.0))
    assert plain == {"copywriter": 0.0, "copywriter-cta": 0.25, "best-of": 1.0, "preference": 0.0}
    # a later round (the copywriter writes: best_of 0) and the few-shot pipeline never run it
    later = slider_scales(names, AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0, best_of=0.0, preference=1.0))
    assert later["copywriter"] == 1.0 and later["preference"] == 0.0
    assert slider_scales(names, AdapterWeights(0.0, 0.0, 0.0, best_of=1.0, preference=1.0))["preference"] == 0.0
    # without its file the best-of continuation writes, as before
    alone = slider_scales(names[:3], AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0, best_of=1.0, preference=1.0))
    assert alone == {"copywriter": 0.0, "copywriter-cta": 0.0, "best-of": 1.0}
    on = {ch for ch in CHANNELS if map_controls(Controls(), ch).copywriter_adapters.preference}
    assert on == set(PREFERENCE_CHANNELS) == {"description", "headline", "ad_description", "social"}  # reads 68-92
    assert not map_controls(Controls(), "headline").adapters.preference  # the few-shot pipeline's weights


def test_the_second_preference_round_takes_the_first_ones_place_on_its_channels_only():
    from copy_engine.adapters.mixing import slider_scales
    from copy_engine.channels import CHANNELS
    from copy_engine.controls import PREFERENCE_2_CHANNELS, AdapterWeights, Controls, map_controls

    names = ["copywriter", "copywriter-cta", "best-of", "preference", "preference-2"]
    both = dict(copywriter=1.0, best_of=1.0, preference=1.0)
    again = slider_scales(names, AdapterWeights(0.0, 0.0, 0.25, **both, preference_2=1.0))
    assert again == {"copywriter": 0.0, "copywriter-cta": 0.25, "best-of": 0.0, "preference": 0.0, "preference-2": 1.0}
    first = slider_scales(names, AdapterWeights(0.0, 0.0, 0.25, **both))
    assert first == {"copywriter": 0.0, "copywriter-cta": 0.25, "best-of": 0.0, "preference": 1.0, "preference-2": 0.0}
    # only where the first round writes: not on a best-of-only channel, a later round or the few-shot pipeline
    plain = slider_scales(names, AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0, best_of=1.0, preference_2=1.0))
    assert plain["best-of"] == 1.0 and plain["preference-2"] == 0.0
    later = slider_scales(names, AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0, preference=1.0, preference_2=1.0))
    assert later["copywriter"] == 1.0 and later["preference-2"] == 0.0
    # without its file the first round writes, as before
    alone = slider_scales(names[:4], AdapterWeights(0.0, 0.0, 0.0, **both, preference_2=1.0))
    assert alone["preference"] == 1.0
    on = {ch for ch in CHANNELS if map_controls(Controls(), ch).copywriter_adapters.preference_2}
    assert on == set(PREFERENCE_2_CHANNELS) == {"description", "headline"}  # ad descriptions keep the first round
    assert not map_controls(Controls(), "description").adapters.preference_2  # the few-shot pipeline's weights


@pytest.mark.parametrize("adapter, field, channel", [("preference-social", "preference_social", "social"),
                                                     ("preference-ad", "preference_ad", "ad_description")])
def test_a_channels_own_round_takes_the_first_rounds_place_there_and_falls_back_without_its_file(adapter, field, channel):
    from copy_engine.adapters.mixing import slider_scales
    from copy_engine.channels import CHANNELS
    from copy_engine.controls import AdapterWeights, Controls, map_controls

    names = ["copywriter", "copywriter-cta", "best-of", "preference", "preference-2", adapter]
    own = AdapterWeights(0.0, 0.0, 0.25, copywriter=1.0, best_of=1.0, preference=1.0, **{field: 1.0})
    assert slider_scales(names, own) == {"copywriter": 0.0, "copywriter-cta": 0.25, "best-of": 0.0,
                                         "preference": 0.0, "preference-2": 0.0, adapter: 1.0}
    # without its file the first round writes, as before; nor is it reached without the first round's share
    assert slider_scales(names[:5], own)["preference"] == 1.0
    best_of_only = AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0, best_of=1.0, **{field: 1.0})
    assert slider_scales(names, best_of_only)["best-of"] == 1.0 and slider_scales(names, best_of_only)[adapter] == 0.0
    on = {ch for ch in CHANNELS if getattr(map_controls(Controls(), ch).copywriter_adapters, field)}
    assert on == {channel}
    mapping = map_controls(Controls(), channel)
    assert not mapping.copywriter_adapters.preference_2 and not getattr(mapping.adapters, field)  # nor few-shot
    assert mapping.copywriter_decoding.temperature == pytest.approx(1.0)  # the first round's, at the default slider


def test_the_second_rounds_own_headline_round_takes_its_place_there_and_falls_back_without_its_file():
    from copy_engine.adapters.mixing import slider_scales
    from copy_engine.channels import CHANNELS
    from copy_engine.controls import AdapterWeights, Controls, map_controls

    names = ["copywriter", "copywriter-cta", "best-of", "preference", "preference-2", "preference-headline"]
    own = AdapterWeights(0.0, 0.0, 0.25, copywriter=1.0, best_of=1.0, preference=1.0, preference_2=1.0,
                         preference_headline=1.0)
    assert slider_scales(names, own) == {"copywriter": 0.0, "copywriter-cta": 0.25, "best-of": 0.0, "preference": 0.0,
                                         "preference-2": 0.0, "preference-headline": 1.0}
    assert slider_scales(names[:5], own)["preference-2"] == 1.0  # without its file the second round writes
    first_only = AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0, best_of=1.0, preference=1.0, preference_headline=1.0)
    assert slider_scales(names, first_only)["preference"] == 1.0 and not slider_scales(names, first_only)[names[-1]]
    on = {ch for ch in CHANNELS if map_controls(Controls(), ch).copywriter_adapters.preference_headline}
    assert on == {"headline"}
    mapping = map_controls(Controls(), "headline")
    assert mapping.copywriter_adapters.preference_2 and not mapping.adapters.preference_headline  # nor few-shot
    assert mapping.copywriter_decoding.temperature == pytest.approx(1.15)  # the second round's on headlines


def test_the_best_of_continuations_own_ad_headline_round_takes_its_place_there_and_falls_back_without_its_file():
    from copy_engine.adapters.mixing import slider_scales
    from copy_engine.channels import CHANNELS
    from copy_engine.controls import AdapterWeights, Controls, map_controls

    names = ["copywriter", "copywriter-cta", "best-of", "preference", "preference-ad-headline"]
    own = AdapterWeights(0.0, 0.0, 0.25, copywriter=1.0, best_of=1.0, preference_ad_headline=1.0)
    assert slider_scales(names, own) == {"copywriter": 0.0, "copywriter-cta": 0.25, "best-of": 0.0, "preference": 0.0,
                                         "preference-ad-headline": 1.0}
    assert slider_scales(names[:4], own)["best-of"] == 1.0  # without its file the best-of continuation writes
    on = {ch for ch in CHANNELS if map_controls(Controls(), ch).copywriter_adapters.preference_ad_headline}
    assert on == {"ad_headline"}
    mapping = map_controls(Controls(), "ad_headline")
    assert mapping.copywriter_adapters.best_of and not mapping.copywriter_adapters.preference
    assert not mapping.adapters.preference_ad_headline  # nor few-shot
    assert mapping.copywriter_decoding.temperature == pytest.approx(0.85)  # the best-of continuation's


def test_copywriter_adapter_weights_follow_the_sliders_and_reach_half_at_the_ends():
    from copy_engine.controls import ADAPTER_SCALE, AdapterWeights, Controls, map_controls

    # CTA is linear from 0 (the default slider's 0.25 measured better than 0); tone and creativity are 0 there.
    default = AdapterWeights(0.0, 0.0, 0.25, copywriter=1.0, best_of=1.0, preference=1.0, preference_2=1.0,
                             preference_headline=1.0)
    assert map_controls(Controls(), "headline").copywriter_adapters == default
    end = map_controls(Controls(sentiment=1.0, creativity=1.0, cta=1.0), "headline").copywriter_adapters
    assert (end.tone, end.creative, end.cta) == (ADAPTER_SCALE,) * 3
    assert map_controls(Controls(sentiment=-1.0), "headline").copywriter_adapters.tone == -ADAPTER_SCALE
    low = map_controls(Controls(creativity=0.0, cta=0.0), "headline").copywriter_adapters
    assert low.creative == 0.0 and low.cta == 0.0  # below the default creativity the decoding does it alone
    weights = [map_controls(Controls(cta=a / 10), "headline").copywriter_adapters.cta for a in range(11)]
    assert weights == sorted(weights)


class FactsCtaFake(FakeGenerator):
    """Copy made of the product's own name and a call to action, some of it with an invented detail."""

    def complete(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        super().complete(prompt, n, decoding, seed=seed, adapter_weights=adapter_weights)
        name = re.findall(r"Product: (.+)", prompt)[-1].strip()
        outs = [f"Order the {name} now.", f"Get {name} now!", f"Shop the {name} with golden unicorns now."]
        return [outs[i % len(outs)] + "\n" for i in range(n)]


def test_distill_on_the_copywriter_uses_its_prompt_and_keeps_what_the_judge_passes(fake_embedder):
    fake_generator = FactsCtaFake()
    products = data.load_training_catalog()[:3]
    ex = data.distill("cta", products, fake_generator, n_candidates=6, keep=2, on_copywriter=True, embedder=fake_embedder)
    assert fake_generator.calls
    assert not any("unicorn" in e.target for e in ex)  # every word backed by the facts, or free
    for c in fake_generator.calls:
        assert "###" not in c["prompt"] and c["prompt"].endswith("Copy:") and "Call to action: strong" in c["prompt"]
        assert c["adapters"].copywriter == 1.0 and (c["adapters"].tone, c["adapters"].cta) == (0.0, 0.0)
    assert ex and all("###" not in e.prompt and "Call to action: none" in e.prompt for e in ex)
    from copy_engine.scoring.judge import THRESHOLD, get_default_judge, judge_with

    product = {p.name: p for p in products}
    for e in ex:
        assert judge_with(get_default_judge(), product[e.product], e.channel, [e.target], fake_embedder)[0].quality >= THRESHOLD


def test_evaluation_of_the_copywriters_adapters_keeps_the_copywriter_on(fake_generator):
    from copy_engine.adapters.evaluate import SETTINGS, sample_settings

    s = sample_settings(fake_generator, [Product(name="Rain Jacket")], "headline", n_variants=2, on_copywriter=True)
    assert set(s.texts) == set(SETTINGS)
    assert all(c["adapters"].copywriter == 1.0 and "###" not in c["prompt"] for c in fake_generator.calls)
    assert {c["adapters"].tone for c in fake_generator.calls} == {-1.0, 0.0, 1.0}


def test_an_adapter_trained_on_the_copywriter_says_so_and_rides_only_on_copywriter_requests(tiny, tmp_home):
    """A user's default adapter is used in the pipeline it was trained for, never on the other one."""
    from copy_engine.adapters import mixing
    from copy_engine.adapters.registry import read_metadata, set_default_adapter, trained_on
    from copy_engine.adapters.train import train_adapter
    from copy_engine.settings import get_settings

    loaded, _ = tiny
    settings = get_settings()
    settings.adapters_dir.mkdir(parents=True, exist_ok=True)
    res = train_adapter(loaded, _examples(), _cfg(name="voice", steps=2), settings.adapters_dir / "voice.safetensors",
                        base_model=_copy(tiny), on_copywriter=True)  # fmt: skip
    meta = read_metadata(res.path)
    assert trained_on(meta) == "copywriter" and trained_on({"training": {"data": {}}}) == "base"
    set_default_adapter("voice", settings)
    # Without a model (llama.cpp) only the metadata's base sizes are checked: make them the embedded model's.
    meta["base"].update(hidden_size=640, num_hidden_layers=18, vocab_size=262144)
    res.path.with_suffix(".json").write_text(json.dumps(meta))
    mixed, _ = mixing.adapter_files(settings)
    assert mixed["copywriter-user"] == res.path and "user" not in mixed
    names = ["copywriter", "copywriter-cta", "copywriter-user", "user"]
    on_cw = mixing.slider_scales(names, AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0))
    assert on_cw["copywriter-user"] == 1.0 and on_cw["user"] == 0.0
    few = mixing.slider_scales(names, AdapterWeights(0.0, 0.0, 0.3))
    assert few["user"] == 1.0 and few["copywriter-user"] == 0.0


def test_user_copy_trains_in_the_copywriters_prompt_when_asked(tmp_path):
    f = tmp_path / "past.csv"
    f.write_text("product_name,channel,text,ctr\nOat Milk,headline,Creamy oat milk for coffee,0.02\n"
                 "Rain Jacket,headline,A jacket for wet days,0.01\n")  # fmt: skip
    few = data.examples_from_csv(f)
    cw = data.examples_from_csv(f, on_copywriter=True)
    assert all("###" in e.prompt for e in few)
    assert all("###" not in e.prompt and e.prompt.endswith("Copy:") for e in cw)
    assert [e.target for e in cw] == [e.target for e in few]


def test_copywriter_training_continues_from_a_saved_adapter(tiny, tmp_home, tmp_path):
    """init_from starts the LoRA at the saved weights: the new run's first validation loss is the saved best."""
    from copy_engine.copywriter import CopywriterConfig, deck_examples, train_copywriter

    loaded, _ = tiny
    examples = deck_examples(catalog_csv=None)[:48]
    cfg = dict(r=4, alpha=8.0, steps=3, batch_size=4, eval_every=3, lr=5e-3, warmup_steps=0, max_val_examples=8)
    first = train_copywriter(loaded, examples, CopywriterConfig(**cfg), tmp_path / "a.safetensors", base_model=_copy(tiny))
    assert first.best_step == 3 and first.best_val_loss < first.history[0]["val_loss"]
    again = train_copywriter(loaded, examples, CopywriterConfig(**cfg, init_from=str(first.path)),
                             tmp_path / "b.safetensors", base_model=_copy(tiny), name="best-of")  # fmt: skip
    assert again.history[0]["val_loss"] == pytest.approx(first.best_val_loss, abs=1e-3)
    names = [json.loads(p.with_suffix(".json").read_text())["name"] for p in (first.path, again.path)]
    assert names == ["copywriter", "best-of"]  # a continuation shipped beside the copywriter says which it is
    with pytest.raises(ValueError, match="does not fit"):
        wider = dict(cfg, r=8, alpha=16.0, init_from=str(first.path))
        train_copywriter(loaded, examples, CopywriterConfig(**wider), tmp_path / "c.safetensors", base_model=_copy(tiny))


def test_copywriter_validates_on_the_named_products_and_never_trains_on_them(tiny, tmp_home, tmp_path):
    """val_products replaces the seeded share: once the deck grows, that share holds products a run trained on."""
    from copy_engine.copywriter import CopywriterConfig, deck_examples, train_copywriter

    loaded, _ = tiny
    examples = deck_examples(catalog_csv=None)[:48]
    held = sorted({e.product for e in examples})[:2]
    cfg = CopywriterConfig(r=4, alpha=8.0, steps=1, batch_size=4, eval_every=1, lr=5e-3, warmup_steps=0,
                           max_val_examples=64, val_products=tuple(held))  # fmt: skip
    res = train_copywriter(loaded, examples, cfg, tmp_path / "v.safetensors", base_model=_copy(tiny))
    training = json.loads(res.path.with_suffix(".json").read_text())["training"]
    n_held = sum(e.product in held for e in examples)
    assert 0 < n_held < len(examples)
    assert training["examples"] == {"train": len(examples) - n_held, "val": n_held}
    assert training["config"]["val_products"] == held
