"""The real embedded Gemma 3 270M: distinct in-limit variants, reproducibility, creativity effect."""

import pytest

from copy_engine.channels import CHANNELS
from copy_engine.controls import Controls, map_controls
from copy_engine.generate import GenerateOptions, generate
from copy_engine.product import Product
from copy_engine.prompts import build_prompt
from copy_engine.textmetrics import distinct_n

pytestmark = pytest.mark.real_model

TEA = Product(
    name="Organic Green Tea, 20 Pyramid Bags",
    brand="Leafwell",
    category="Grocery | Tea",
    features=["USDA certified organic", "20 pyramid tea bags", "Smooth, grassy flavor with no bitterness"],
    price="$5.99",
)


def _generate(gen, channel="headline", seed=1, controls=Controls(0.5, 0.4, 0.8), n=4):
    return generate(TEA, channel, controls, GenerateOptions(n=n, seed=seed), generator=gen)


@pytest.mark.parametrize("channel", ["headline", "ad_headline"])
def test_four_distinct_variants_within_limit(real_generator, channel):
    r = _generate(real_generator, channel)
    texts = [v.text for v in r.variants]
    assert len(texts) == 4
    assert len({t.lower() for t in texts}) == 4
    assert all(CHANNELS[channel].min_chars <= len(t) <= CHANNELS[channel].limit for t in texts)
    assert r.settings.model.startswith("gemma-3-270m")


def test_seeded_runs_are_reproducible(real_generator):
    a = _generate(real_generator, seed=11)
    b = _generate(real_generator, seed=11)
    assert [v.text for v in a.variants] == [v.text for v in b.variants]


def test_creativity_changes_diversity(real_generator):
    """Raw samples at creativity 1 share fewer bigrams than at creativity 0 (same seeds)."""
    prompt = build_prompt(TEA, "headline", Controls(0, 0, 0.5))
    scores = {}
    for creativity in (0.0, 1.0):
        d = map_controls(Controls(0, creativity, 0.5), "headline").decoding
        texts = []
        for seed in (1, 2):
            texts += [t.strip().split("\n")[0] for t in real_generator.complete(prompt, 12, d, seed=seed, adapter_weights=None)]
        scores[creativity] = distinct_n(texts, 2)
    assert scores[1.0] > scores[0.0] + 0.05, scores


def test_copywriter_writes_about_the_product(real_generator):
    """The copywriter fine-tune names this product in (nearly) every ad headline it shows."""
    assert "copywriter" in real_generator.adapter_names
    r = generate(TEA, "ad_headline", Controls(), GenerateOptions(n=4, seed=3, pipeline="copywriter"), generator=real_generator)
    words = {"tea", "green", "organic", "leafwell", "pyramid", "bags"}
    texts = [v.text for v in r.variants]
    assert sum(any(w in t.lower() for w in words) for t in texts) >= 3, texts
    assert r.settings.pipeline == "copywriter"


def test_copywriter_cta_adapter_writes_calls_to_action_unasked(real_generator):
    """copywriter-cta at weight 1 puts a call to action into copy whose prompt asks for none."""
    from copy_engine.adapters.data import NEUTRAL
    from copy_engine.controls import AdapterWeights
    from copy_engine.postprocess import clean_batch
    from copy_engine.prompts import build_copywriter_prompt
    from copy_engine.textmetrics import cta_rate

    assert "copywriter-cta" in real_generator.adapter_names
    prompt, decoding = build_copywriter_prompt(TEA, "headline", NEUTRAL), map_controls(NEUTRAL, "headline").decoding
    rates = {}
    for w in (0.0, 1.0):
        raws = real_generator.complete(prompt, 12, decoding, seed=2, adapter_weights=AdapterWeights(0, 0, w, copywriter=1.0))
        rates[w] = cta_rate(clean_batch(raws, "headline"))
    assert rates[1.0] >= rates[0.0] + 0.5, rates


def test_an_adapter_trains_on_top_of_the_real_copywriter(real_settings, tmp_path):
    """Two steps on the merged copywriter: the saved adapter records it and fits the real model."""
    from copy_engine.adapters.data import NEUTRAL, TrainingExample
    from copy_engine.adapters.registry import load_validated, read_metadata, trained_on
    from copy_engine.adapters.train import AdapterTrainConfig, train_adapter
    from copy_engine.model import get_loaded_model
    from copy_engine.prompts import build_copywriter_prompt

    loaded = get_loaded_model(real_settings)
    prompt = build_copywriter_prompt(TEA, "headline", NEUTRAL)
    examples = [TrainingExample(prompt, t) for t in ("Organic green tea in 20 pyramid bags", "Leafwell green tea, smooth and grassy",
                                                     "Smooth organic green tea with no bitterness", "Green tea in pyramid bags for $5.99")]  # fmt: skip
    cfg = AdapterTrainConfig(name="voice", objective="brand", steps=2, batch_size=2, eval_every=10)
    res = train_adapter(loaded, examples, cfg, tmp_path / "voice.safetensors", on_copywriter=True)
    assert trained_on(read_metadata(res.path)) == "copywriter" and res.steps_done == 2
    load_validated(res.path, loaded.model)


def test_the_reader_reads_generated_copy_and_sinks_word_salad(real_generator, real_settings):
    """Real variants carry the copywriter model's reading; a clean headline reads far better than word salad or an
    invented claim."""
    from copy_engine.scoring.reader import get_default_reader, reading_prompt

    r = _generate(real_generator, "ad_headline", controls=Controls())
    assert all(0.0 < v.scores["reading"] < 1.0 for v in r.variants)
    reader = get_default_reader(real_settings)
    clean, salad, invented = reader.read(reading_prompt(TEA, "headline"), [
        "Explore Leafwell organic green tea in 20 pyramid bags",  # 0.84 when written
        "Bags of the Tea Pyramid with for Green the 20 of",  # 0.008
        "See the tea that cures your cold",  # 0.06
    ])
    assert clean > 0.5 > max(salad, invented)
