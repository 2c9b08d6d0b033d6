"""The copy deck, the copywriter fine-tune's training pieces and the copywriter / few-shot pipelines."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from copy_engine.controls import AdapterWeights, Controls
from copy_engine.copy_deck import DeckExample, deck_dir, load_deck, own_products, problems, product_key, read_examples
from copy_engine.errors import InputError
from copy_engine.generate import GenerateOptions, generate, resolve_pipeline
from copy_engine.product import Product

from conftest import FakeCtrPredictor, FakeEmbedder, FakeGenerator

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT.parent / "shared" / "data" / "products" / "amazon_products_sample.csv"
MUG = Product("Stoneware Coffee Mug, 350 ml", "Kiln", "Home & Kitchen | Mugs", ["350 ml", "Dishwasher safe"], "$12.00")


# ---------------------------------------------------------------- the deck


def test_shipped_deck_has_4000_examples_over_six_channels_and_every_wish():
    examples = read_examples(sorted(deck_dir().glob("part*.jsonl")))
    assert len(examples) >= 4000
    assert len({e.product for e in examples}) >= 400
    combos = {(e.channel, e.tone, e.cta) for e in examples}
    assert len(combos) == 6 * 3 * 3  # every channel gets every tone x CTA wish


def test_own_products_of_the_deck_resolve_without_the_catalog_and_their_names_are_unique():
    products = own_products()
    names = [p.name.casefold() for p in products]
    assert len(names) == len(set(names)) >= 200
    pairs = load_deck(catalog_csv=None)  # catalog rows need ../shared/data; our own products never do
    assert len(pairs) >= 2000 and all(key.startswith("own:") for key in {e.product for _, e in pairs})


def test_every_own_deck_example_passes_the_projects_checks():
    by_product: dict[str, list[str]] = {}
    failing = []
    for product, ex in load_deck(catalog_csv=None):
        found = problems(ex, product, by_product.setdefault(ex.product, []))
        by_product[ex.product].append(ex.text)
        if found:
            failing.append((ex.text, found))
    assert not failing, failing[:5]


@pytest.mark.skipif(not CATALOG.is_file(), reason="the shared catalog (../shared/data/products) is not here")
def test_catalog_rows_of_the_deck_resolve_from_the_training_split_only():
    from copy_engine.adapters.data import is_training_product

    pairs = load_deck(CATALOG)
    csv_pairs = [(p, e) for p, e in pairs if e.product.startswith("csv:")]
    assert len({e.product for _, e in csv_pairs}) >= 390  # both training buckets (adapters.data.TRAINING_BUCKETS)
    assert all(is_training_product(p.name) for p, _ in csv_pairs)  # never an evaluation product


@pytest.mark.parametrize(
    "text, cta, why",
    [
        ("A mug that holds 500 ml of coffee", "none", "unsupported_number"),
        ("Shop the Kiln mug today", "none", "cta none"),
        ("Kiln stoneware mug, 350 ml", "strong", "no call to action"),
        ("I love this Kiln mug every morning", "none", "first_person"),
        ("Kiln mug, 350 ml and dishwasher safe! Made for busy mornings of course", "none", "characters"),
    ],
)
def test_deck_checks_catch_what_the_style_guide_forbids(text, cta, why):
    ex = DeckExample(product_key(MUG, "own"), "ad_headline" if why == "characters" else "headline", "calm", cta, text)
    assert any(why in p for p in problems(ex, MUG)), problems(ex, MUG)


def test_deck_checks_pass_a_good_line_and_catch_a_near_duplicate():
    ex = DeckExample(product_key(MUG, "own"), "headline", "balanced", "none", "Kiln stoneware mug: 350 ml and dishwasher safe")
    assert problems(ex, MUG) == []
    assert any("near-duplicate" in p for p in problems(ex, MUG, ["Kiln stoneware mug, 350 ml and dishwasher safe"]))


# ---------------------------------------------------------------- training pieces


def test_copywriter_prompt_is_the_product_block_with_wishes_and_an_open_copy_line():
    from copy_engine.prompts import build_copywriter_prompt

    prompt = build_copywriter_prompt(MUG, "ad_headline", Controls(sentiment=1.0, cta=1.0))
    assert prompt.endswith("\nCopy:") and "###" not in prompt  # never a trailing newline; no few-shot blocks
    assert "Tone: enthusiastic" in prompt and "Call to action: strong" in prompt and "Product: Stoneware" in prompt


def test_deck_examples_keep_their_wishes_in_the_prompt():
    from copy_engine.copywriter import deck_examples

    examples = deck_examples(catalog_csv=None)
    assert len(examples) >= 2000
    ex = examples[0]
    deck = read_examples(sorted(deck_dir().glob("part*.jsonl")))
    wishes = {(d.text, d.tone, d.cta) for d in deck}
    tone = ex.prompt.split("Tone: ")[1].split("\n")[0]
    cta = ex.prompt.split("Call to action: ")[1].split("\n")[0]
    assert (ex.target, tone, cta) in wishes


def test_deck_examples_keep_only_the_channels_and_sources_asked_for(tmp_path):
    from copy_engine.copywriter import deck_examples

    mug_key = product_key(MUG, "own")
    (tmp_path / "products-t.json").write_text(json.dumps({"products": [MUG.to_dict()]}), encoding="utf-8")
    rows = [DeckExample(mug_key, "headline", "calm", "none", "Kiln stoneware mug, 350 ml and dishwasher safe"),
            DeckExample(mug_key, "description", "calm", "none", "A 350 ml stoneware mug. It is dishwasher safe."),
            DeckExample("csv:000000000000", "headline", "calm", "none", "A row of a catalog that is not here")]  # fmt: skip
    (tmp_path / "part-t.jsonl").write_text("\n".join(json.dumps(r.to_dict()) for r in rows), encoding="utf-8")

    every = deck_examples(None, tmp_path)
    assert [e.channel for e in every if e.product == mug_key] == ["headline", "description"]
    assert [e.channel for e in deck_examples(None, tmp_path, channels=("description",))] == ["description"]
    assert {e.product for e in deck_examples(None, tmp_path, sources=("own",))} == {mug_key}
    assert deck_examples(None, tmp_path, sources=("csv",)) == []  # the catalog row resolves only with its CSV


class _Tok:
    """Whitespace tokenizer with a BOS id, enough for encode()."""

    def __call__(self, text, add_special_tokens=True):
        ids = [len(w) + 10 for w in text.split(" ") if w]
        return type("Enc", (), {"input_ids": ([2] if add_special_tokens else []) + ids})()


def test_encode_masks_the_prompt_keeps_bos_and_ends_the_copy_with_a_newline():
    from copy_engine.adapters.data import TrainingExample
    from copy_engine.copywriter import IGNORE, encode

    ids, labels = encode(_Tok(), TrainingExample("Product: Mug\nCopy:", "Kiln mug"))
    assert ids[0] == 2 and labels[0] == IGNORE
    n_prompt = labels.count(IGNORE)
    assert n_prompt == 3 and labels[n_prompt:] == ids[n_prompt:]  # BOS + 2 prompt words masked, the copy learned


def test_length_buckets_cover_every_example_once_in_batches_of_similar_length():
    from copy_engine.copywriter import _length_buckets

    lengths = [random.Random(i).randint(20, 200) for i in range(1000)]
    batches = _length_buckets(lengths, 8, random.Random(0))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 40  # random batches of 8 from 20..200 spread about 140


def test_copy_loss_counts_only_labelled_positions():
    import torch

    from conftest import embedding_head_model

    from copy_engine.copywriter import IGNORE, copy_loss

    m = embedding_head_model()
    ids = torch.tensor([[2, 5, 6, 7, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    labels = torch.tensor([[IGNORE, IGNORE, 6, 7, IGNORE, IGNORE]])
    logits = m.lm_head(m.emb(ids))[0]
    want = torch.nn.functional.cross_entropy(logits[1:3], torch.tensor([6, 7]))
    assert float(copy_loss(m, ids, labels, mask)) == pytest.approx(float(want), rel=1e-5)


# ---------------------------------------------------------------- pipelines


class CopywriterFake(FakeGenerator):
    """The fake generator with a copywriter adapter loaded."""

    def __init__(self):
        super().__init__()
        self.adapter_names = ("tone", "cta", "creative", "copywriter")


def test_auto_runs_the_copywriter_when_its_adapter_is_loaded_and_few_shot_otherwise():
    assert resolve_pipeline("auto", CopywriterFake()) == "copywriter"
    assert resolve_pipeline("auto", FakeGenerator()) == "fewshot"
    assert resolve_pipeline("fewshot", CopywriterFake()) == "fewshot"
    with pytest.raises(InputError, match="copywriter adapter"):
        resolve_pipeline("copywriter", FakeGenerator())
    with pytest.raises(InputError, match="unknown pipeline"):
        resolve_pipeline("poetry", FakeGenerator())


def test_copywriter_pipeline_sends_its_prompt_and_switches_its_adapter_per_request():
    gen = CopywriterFake()
    kw = dict(generator=gen, embedder=FakeEmbedder(), ctr_predictor=FakeCtrPredictor())
    r = generate(MUG, "headline", Controls(sentiment=0.8, cta=0.9), GenerateOptions(n=2), **kw)
    call = gen.calls[0]
    assert "###" not in call["prompt"] and call["prompt"].endswith("Copy:")
    # The sliders act through the prompt and the copywriter's own slider adapters.
    want = AdapterWeights(tone=0.4, creative=0.0, cta=0.45, copywriter=1.0, best_of=1.0, preference=1.0,
                         preference_2=1.0, preference_headline=1.0)
    assert call["adapters"] == want
    assert r.settings.pipeline == "copywriter" and r.settings.prompt_version == "copywriter-v1"
    assert r.sampled >= 2 and 0 <= r.clean_unflagged <= r.candidates

    gen.calls.clear()
    generate(MUG, "headline", Controls(cta=0.0), GenerateOptions(n=2), **kw)  # no CTA, neutral: best-of alone
    plain = AdapterWeights(0.0, 0.0, 0.0, copywriter=1.0, best_of=1.0, preference=1.0, preference_2=1.0,
                           preference_headline=1.0)
    assert gen.calls[0]["adapters"] == plain

    gen.calls.clear()
    r = generate(MUG, "headline", Controls(sentiment=0.8, cta=0.9), GenerateOptions(n=2, pipeline="fewshot"), **kw)
    call = gen.calls[0]
    assert "###" in call["prompt"] and call["adapters"].copywriter == 0.0 and call["adapters"].tone > 0
    assert r.settings.pipeline == "fewshot"


def test_old_runs_regenerate_with_the_few_shot_pipeline():
    from copy_engine.run_settings import RunSettings

    _, _, options = RunSettings.from_dict({"channel": "headline", "prompt_version": "fewshot-v1"}).request()
    assert options.pipeline == "fewshot"
    _, _, options = RunSettings.from_dict({"channel": "headline", "pipeline": "copywriter"}).request()
    assert options.pipeline == "copywriter"


def test_evaluation_configs_compare_the_two_pipelines_and_report_raw_yield():
    from copy_engine.evaluation.configs import CONFIGS, DEFAULT_CONFIGS, parse_configs
    from copy_engine.evaluation.metrics import METRICS

    assert parse_configs("fewshot,copywriter") == ["baseline", "fewshot", "copywriter"]
    assert CONFIGS["fewshot"].options("headline", 4, 0).pipeline == "fewshot"
    assert CONFIGS["copywriter"].options("headline", 4, 0).pipeline == "copywriter"
    assert "copywriter" not in DEFAULT_CONFIGS
    assert {"raw_yield", "judged_usable"} <= set(METRICS)


def test_shipped_preference_adapter_continues_best_of_on_training_split_labels():
    import math

    meta = json.loads((ROOT / "copy_engine" / "adapters" / "shipped" / "preference.json").read_text())
    best_of = json.loads((ROOT / "copy_engine" / "adapters" / "shipped" / "best-of.json").read_text())
    assert meta["name"] == meta["objective"] == "preference" and meta["lora"] == best_of["lora"]
    data = meta["training"]["data"]
    assert data["continued_from"]["adapter"] == "copy_engine/adapters/shipped/best-of.safetensors"
    # only the shipped label files of training-split products (never a read of the evaluation split)
    assert data["label_files"] and all(f.startswith("copy_engine/examples/") for f in data["label_files"])
    assert meta["training"]["best_val_loss"] < math.log(2)  # held-out pairs: it prefers the usable copy


def test_shipped_second_preference_round_continues_the_first_on_its_own_labelled_candidates():
    import math

    meta = json.loads((ROOT / "copy_engine" / "adapters" / "shipped" / "preference-2.json").read_text())
    first = json.loads((ROOT / "copy_engine" / "adapters" / "shipped" / "preference.json").read_text())
    assert meta["name"] == "preference-2" and meta["objective"] == "preference" and meta["lora"] == first["lora"]
    data = meta["training"]["data"]
    assert data["continued_from"]["adapter"] == "copy_engine/adapters/shipped/preference.safetensors"
    assert data["continued_from"]["best_step"] == first["training"]["best_step"]  # the shipped first round
    # pairs of the first round's own candidates for training-split rows (never a read of the evaluation split)
    assert data["label_files"] == ["copy_engine/examples/preference/labels.jsonl"]
    labels = [json.loads(line) for line in (ROOT / data["label_files"][0]).read_text().splitlines()]
    assert {d["channel"] for d in labels} == set(data["channels"]) == {"description", "headline"}
    assert all(d["product"].startswith("csv:") and d["label"] in ("usable", "unusable") for d in labels)
    assert meta["training"]["best_val_loss"] < math.log(2)


@pytest.mark.parametrize("adapter, labels, channel", [
    ("preference-social", "labels-social.jsonl", "social"),
    ("preference-ad", "labels-3.jsonl", "ad_description"),
])
def test_shipped_channel_rounds_continue_the_first_round_on_its_own_labelled_copy(adapter, labels, channel):
    import math

    meta = json.loads((ROOT / "copy_engine" / "adapters" / "shipped" / f"{adapter}.json").read_text())
    first = json.loads((ROOT / "copy_engine" / "adapters" / "shipped" / "preference.json").read_text())
    assert meta["name"] == adapter and meta["objective"] == "preference" and meta["lora"] == first["lora"]
    data = meta["training"]["data"]
    assert data["continued_from"]["adapter"] == "copy_engine/adapters/shipped/preference.safetensors"
    assert data["continued_from"]["best_step"] == first["training"]["best_step"]  # the shipped first round
    # the first round's own candidates for training-split rows (never a read of the evaluation split)
    assert data["label_files"] == [f"copy_engine/examples/preference/{labels}"] and data["channels"] == [channel]
    rows = [json.loads(line) for line in (ROOT / data["label_files"][0]).read_text().splitlines()]
    assert channel in {d["channel"] for d in rows}
    assert all(d["product"].startswith("csv:") and d["label"] in ("usable", "unusable") for d in rows)
    assert meta["training"]["best_val_loss"] < math.log(2)


@pytest.mark.parametrize("adapter, parent, labels, channel", [
    ("preference-headline", "preference-2", "labels-headline.jsonl", "headline"),
    ("preference-ad-headline", "best-of", "labels-ad-headline.jsonl", "ad_headline"),
])
def test_shipped_channel_rounds_continue_the_adapter_that_wrote_their_labelled_copy(adapter, parent, labels, channel):
    import math

    meta = json.loads((ROOT / "copy_engine" / "adapters" / "shipped" / f"{adapter}.json").read_text())
    writer = json.loads((ROOT / "copy_engine" / "adapters" / "shipped" / f"{parent}.json").read_text())
    assert meta["name"] == adapter and meta["objective"] == "preference"
    assert meta["lora"] == writer["lora"]
    data = meta["training"]["data"]
    assert data["continued_from"]["adapter"] == f"copy_engine/adapters/shipped/{parent}.safetensors"
    assert data["continued_from"]["best_step"] == writer["training"]["best_step"]  # the shipped writer
    # the writer's own copy for training-split rows (never a read of the evaluation split)
    assert data["label_files"] == [f"copy_engine/examples/preference/{labels}"]
    assert data["channels"] == [channel]
    rows = [json.loads(line) for line in (ROOT / data["label_files"][0]).read_text().splitlines()]
    assert {d["channel"] for d in rows} == {channel}
    assert all(d["product"].startswith("csv:") and d["label"] in ("usable", "unusable") for d in rows)
    assert meta["training"]["best_val_loss"] < math.log(2)


def test_shipped_copywriter_adapter_metadata():
    meta_path = ROOT / "copy_engine" / "adapters" / "shipped" / "copywriter.json"
    meta = json.loads(meta_path.read_text())
    assert meta["name"] == meta["objective"] == "copywriter" and not meta.get("always_on")
    assert set(meta["lora"]["target_modules"]) >= {"q_proj", "v_proj", "gate_proj", "down_proj"}
    hist = [h["val_loss"] for h in meta["training"]["history"] if "val_loss" in h]
    assert hist[-1] < hist[0]  # it learned the deck
