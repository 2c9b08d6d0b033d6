"""generate() on the fake generator, embedder and CTR predictor."""

import dataclasses
import json

import pytest

from copy_engine.channels import CHANNELS
from copy_engine import controls
from copy_engine.controls import Controls, map_controls
from copy_engine.errors import InputError
from copy_engine.generate import GenerateOptions, RunSettings, generate
from copy_engine.product import Product
from conftest import FakeCtrPredictor, FakeEmbedder, FakeGenerator

PRODUCT = Product(name="Leafwell Green Tea", brand="Leafwell", features=["20 pyramid bags", "Organic"])


def run(n=4, seed=1, channel="headline", generator=None, **opts):
    return generate(
        PRODUCT,
        channel,
        Controls(0.5, 0.5, 0.8),
        GenerateOptions(n=n, seed=seed, **opts),
        generator=generator or FakeGenerator(),
        embedder=FakeEmbedder(),
        ctr_predictor=FakeCtrPredictor(),
        banned_words=["guaranteed"],
    )


def test_returns_n_distinct_scored_variants_within_limit():
    r = run()
    texts = [v.text for v in r.variants]
    assert len(texts) == 4 and len(set(t.lower() for t in texts)) == 4
    for v in r.variants:
        assert len(v.text) <= CHANNELS["headline"].limit
        assert 0 <= v.scores["overall"] <= 1 and v.explanations["overall"]
    assert r.candidates >= 4


def test_pool_holds_every_scored_candidate_and_the_shown_ones_among_them():
    r = run()
    texts = [t for t, _ in r.pool]
    assert len(texts) == r.candidates == len(set(texts))
    assert {v.text for v in r.variants} <= set(texts)
    assert all(0 <= card.scores["overall"] <= 1 for _, card in r.pool)


def test_when_the_best_of_repeats_itself_the_copywriter_writes_the_later_rounds(monkeypatch):
    class Repeating(FakeGenerator):
        def __init__(self):
            super().__init__()
            self.adapter_names = ("copywriter", "best-of")

        def complete(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
            super().complete(prompt, n, decoding, seed=seed, adapter_weights=adapter_weights)
            if adapter_weights.best_of:  # a thin product: the same two drafts, round after round
                return ["Organic Leafwell Tea\n", "Leafwell Organic Green Tea\n"] * n
            return ["Leafwell Tea, 20 Pyramid Bags\n", "Brew Organic Pyramid Bags\n", "Sip Leafwell, 20 Bags\n"] * n

    gen = Repeating()
    r = generate(PRODUCT, "ad_headline", Controls(), GenerateOptions(n=4, seed=1), generator=gen,
                 embedder=FakeEmbedder(), ctr_predictor=FakeCtrPredictor())
    used = [c["adapters"].best_of for c in gen.calls]
    assert used[:2] == [1.0, 1.0] and set(used[2:]) == {0.0}
    assert len(r.variants) == 4 and r.settings.adapters.best_of == 1.0  # recorded as asked: it regenerates alike
    monkeypatch.setattr(controls, "BEST_OF_CHANNELS", ("ad_headline",))
    gen = Repeating()
    generate(PRODUCT, "headline", Controls(), GenerateOptions(n=4, seed=1), generator=gen, embedder=FakeEmbedder(),
             ctr_predictor=FakeCtrPredictor())
    assert {c["adapters"].best_of for c in gen.calls} == {0.0}  # not a best-of channel


def test_the_copywriter_pipeline_samples_at_its_own_decoding_the_few_shot_one_at_the_sliders(monkeypatch):
    class WithCopywriter(FakeGenerator):
        def __init__(self):
            super().__init__()
            self.adapter_names = ("copywriter", "best-of")

    mapping = map_controls(Controls(), "headline")
    assert mapping.copywriter_decoding.temperature > mapping.decoding.temperature  # best-of samples hotter
    for pipeline, gen, want in (("copywriter", WithCopywriter(), mapping.copywriter_decoding),
                                ("fewshot", FakeGenerator(), mapping.decoding)):
        r = generate(PRODUCT, "headline", Controls(), GenerateOptions(n=2, seed=1, pipeline=pipeline), generator=gen,
                     embedder=FakeEmbedder(), ctr_predictor=FakeCtrPredictor())
        assert {c["decoding"] for c in gen.calls} == {want} and r.settings.decoding == want, pipeline
    monkeypatch.setattr(controls, "BEST_OF_CHANNELS", ())
    off = map_controls(Controls(), "headline")
    assert off.copywriter_decoding == off.decoding and not off.copywriter_adapters.best_of


def test_rounds_go_on_while_composition_leaves_fewer_than_n(monkeypatch):
    import copy_engine.generate as G

    # composed variants that retire all but two drafts until there are many of them (a thin product's drafts)
    monkeypatch.setattr(G, "with_composed", lambda drafts, *a: list(drafts) if len(drafts) >= 9 else list(drafts[:2]))
    # a first round of the token budget's 14 headlines, not the 24 first drafts, which would hold 9 at once
    monkeypatch.setitem(CHANNELS, "headline", dataclasses.replace(CHANNELS["headline"], first_drafts=0))
    gen = FakeGenerator()
    r = generate(PRODUCT, "headline", Controls(), GenerateOptions(n=4, seed=1), generator=gen,
                 embedder=FakeEmbedder(), ctr_predictor=FakeCtrPredictor())
    assert len(gen.calls) >= 2 and len(r.variants) == 4 and r.candidates >= 9


def test_settings_record_everything_needed_to_regenerate():
    r = run(seed=7)
    s = r.settings.to_dict()
    assert s["seed"] == 7 and s["channel"] == "headline" and s["model"] == "fake-generator"
    assert set(s["decoding"]) >= {"temperature", "top_p", "top_k", "repetition_penalty", "no_repeat_ngram_size", "max_new_tokens"}
    want = {"tone": 0.25, "creative": 0.25, "cta": 0.4, "copywriter": 0.0, "best_of": 0.0, "preference": 0.0,
            "preference_2": 0.0, "preference_social": 0.0, "preference_ad": 0.0,
            "preference_headline": 0.0, "preference_ad_headline": 0.0}
    assert s["adapters"] == want
    channel, controls, options = RunSettings.from_dict(s).request()
    assert channel == "headline" and controls == Controls(0.5, 0.5, 0.8) and options.seed == 7 and options.n == 4


def test_seeded_runs_are_reproducible_and_seeds_differ():
    a, b, c = run(seed=3), run(seed=3), run(seed=4)
    assert [v.text for v in a.variants] == [v.text for v in b.variants]
    assert [v.text for v in a.variants] != [v.text for v in c.variants]


def test_overgenerates_and_reranks_in_one_batch():
    gen = FakeGenerator()
    run(n=3, generator=gen)
    assert gen.calls[0]["n"] >= 9  # K = 3N in the first batched call


def test_without_rerank_samples_only_n():
    gen = FakeGenerator()
    r = run(n=2, generator=gen, rerank=False)
    assert len(r.variants) == 2 and gen.calls[0]["n"] < 6


def test_adapters_off_passes_no_weights():
    gen = FakeGenerator()
    run(generator=gen, use_adapters=False)
    assert gen.calls[0]["adapters"] is None


def test_generates_more_when_cleaning_drops_candidates():
    class Repetitive(FakeGenerator):
        def complete(self, prompt, n, decoding, **kw):
            self.calls.append({"n": n})
            if len(self.calls) == 1:
                return ["Same old line for tea\n"] * n
            return super().complete(prompt, n, decoding, **kw)

    gen = Repetitive()
    r = run(generator=gen)
    assert len(gen.calls) >= 2 and len(r.variants) == 4


def test_first_batch_follows_the_channels_yield_and_retries_only_fill_the_shown(monkeypatch):
    import copy_engine.generate
    from copy_engine.generate import MAX_BATCH, first_batch, retry_batch

    # ad headlines survive cleaning about a quarter of the time: as many as one batch allows
    assert first_batch(12, 4, "ad_headline") == MAX_BATCH == 24
    assert first_batch(12, 4, "email_subject") == 15 and first_batch(3, 1, "email_subject") == 4
    assert first_batch(12, 4, "description") == 24  # its first_drafts, beyond the budget's 13 (read 73F)
    assert first_batch(12, 4, "social") == first_batch(12, 4, "ad_description") == 24  # theirs too (reads 82-86)
    assert first_batch(12, 4, "headline") == 24  # and product headlines' (reads 87, 89, 94)
    assert first_batch(2, 2, "headline", wide=False) == 3  # without a reranker: k over its yield
    # email subjects: k over its yield, within the budget (24 of 26 tokens), as every channel was before
    assert first_batch(12, 4, "email_subject") == 15
    monkeypatch.setattr(copy_engine.generate, "TOKEN_BUDGET", 100)
    assert first_batch(24, 8, "email_subject") == 8  # never fewer than the variants to show (100 tokens hold 3)
    monkeypatch.undo()
    assert retry_batch(0, "ad_headline") == 0 and retry_batch(-2, "headline") == 0
    assert retry_batch(1, "ad_headline") == 9  # twice the missing at the expected yield
    assert retry_batch(4, "ad_headline") == MAX_BATCH


def test_no_second_round_once_the_shown_variants_are_filled():
    class HalfClean(FakeGenerator):
        def complete(self, prompt, n, decoding, **kw):
            out = super().complete(prompt, n, decoding, **kw)
            return out[: max(5, n // 3)] + ["<div>"] * (n - max(5, n // 3))  # a third usable: fewer than K=12

    gen = HalfClean()
    r = run(n=4, generator=gen)
    assert len(gen.calls) == 1 and len(r.variants) == 4 and r.candidates < 12


def test_no_usable_output_is_a_clear_error():
    class Broken(FakeGenerator):
        def complete(self, prompt, n, decoding, **kw):
            return ["<div>"] * n

    with pytest.raises(InputError, match="no usable copy"):
        run(generator=Broken())


@pytest.mark.parametrize("n", [0, 9])
def test_variant_count_is_bounded(n):
    with pytest.raises(InputError):
        run(n=n)


def test_progress_is_reported():
    seen = []
    generate(
        PRODUCT, "headline", Controls(), GenerateOptions(n=2), generator=FakeGenerator(), embedder=FakeEmbedder(),
        ctr_predictor=FakeCtrPredictor(), progress=lambda f, m: seen.append(f),
    )
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


def test_model_cache_is_machine_wide_unless_configured(tmp_path):
    """The converted-model cache does not follow COPYLAB_HOME (one conversion per machine); COPYLAB_CACHE moves it."""
    from copy_engine.settings import Settings

    a = Settings.from_env({"COPYLAB_HOME": str(tmp_path / "a"), "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    b = Settings.from_env({"COPYLAB_HOME": str(tmp_path / "b"), "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert a.cache_dir == b.cache_dir == tmp_path / "xdg" / "copylab"
    c = Settings.from_env({"COPYLAB_HOME": str(tmp_path / "a"), "COPYLAB_CACHE": str(tmp_path / "mine")})
    assert c.cache_dir == tmp_path / "mine"


def test_run_settings_keep_the_stored_format_and_read_old_rows():
    r = run(seed=5)
    stored = r.settings.to_dict()
    assert list(stored) == ["model", "device", "dtype", "backend", "channel", "controls", "decoding", "adapters",
                            "adapters_loaded", "adapters_always_on", "lambda", "seed", "n", "overgenerate", "rerank",
                            "postprocess", "audience", "brand_voice", "pipeline", "prompt_version"]  # fmt: skip
    assert json.loads(json.dumps(stored)) == stored, "plain JSON values only"
    assert RunSettings.from_dict(stored) == r.settings
    # A favourite's settings (the run's plus sliders, product and edited at top level) read back the same run.
    fav = r.settings.favourite_dict(3, edited=True)
    assert fav["product_id"] == 3 and fav["edited"] is True and fav["creativity"] == 0.5
    assert RunSettings.from_dict(fav) == r.settings
    # A row written before most keys existed still regenerates, with the defaults of that time.
    old = RunSettings.from_dict({"controls": {"sentiment": 0.2}, "seed": "4"})
    channel, controls, options = old.request()
    assert channel == "headline" and controls == Controls(0.2, 0.5, 0.5) and options == GenerateOptions(seed=4)


def test_variant_flags_are_typed_and_serialise_as_before():
    from copy_engine.generate import Variant
    from copy_engine.scoring.flags import Flag

    flag = Flag(0, 3, "Buy", "banned", "a banned word")
    v = Variant("Buy it", "headline", {"overall": 0.5}, {"overall": "ok"}, [flag])
    d = v.to_dict()
    assert d["flags"] == [{"start": 0, "end": 3, "text": "Buy", "kind": "banned", "reason": "a banned word"}]
    assert Variant.from_dict(d) == v and v.run_row(2)["flags"] == d["flags"]


def test_descriptions_are_also_composed_from_the_drafts_clean_sentences():
    tea = Product(name="Leafwell Organic Green Tea", brand="Leafwell", category="Grocery | Tea | Green Tea",
                  features=["20 pyramid bags", "Organic", "Grown in Japan", "Resealable tin"], price="$6.49")

    class Drafts(FakeGenerator):  # every draft invents one detail, in a different sentence
        def complete(self, prompt, n, decoding, **kw):
            self.calls.append(n)
            drafts = [
                "Leafwell organic green tea is grown in Japan and packed in 20 pyramid bags. It is made by Sony. "
                "See it for $6.49.",
                "The Leafwell green tea comes in 75 flavors for your morning. It keeps in a resealable tin. "
                "Explore it for $6.49.",
            ]
            return [drafts[i % 2] for i in range(n)]

    r = generate(tea, "description", Controls(0.5, 0.5, 0.5), GenerateOptions(n=2, seed=1), generator=Drafts(),
                 embedder=FakeEmbedder(), ctr_predictor=FakeCtrPredictor(), banned_words=[])
    best = r.variants[0]
    assert "Sony" not in best.text and "75 flavors" not in best.text
    assert best.text.startswith("Leafwell organic green tea is grown in Japan")
    assert "resealable tin" in best.text  # a body sentence from the other draft
    assert not any(f.kind.startswith("unsupported") for f in best.flags)


def test_the_samplers_confidence_reaches_the_scores_and_ranks_guessed_lines_lower():
    from copy_engine.generator import Sample
    from copy_engine.scoring.weights import PENALTIES

    lines = ["Leafwell Green Tea in 20 pyramid bags", "Organic green tea from Leafwell, 20 bags"]

    class Sure(FakeGenerator):  # the same two lines; the sampler was sure of one and guessed the other
        def __init__(self, sure_of):
            super().__init__()
            self.sure_of = sure_of

        def complete_scored(self, prompt, n, decoding, **kw):
            self.calls.append({"n": n})
            return [Sample(lines[i % 2] + "\n", 0.9 if i % 2 == self.sure_of else 0.3) for i in range(n)]

    overall = {}
    for sure_of in (0, 1):
        r = run(n=2, generator=Sure(sure_of))
        assert [v.text for v in r.variants] == [lines[sure_of], lines[1 - sure_of]]  # the sure one first
        for v in r.variants:
            sure = v.text == lines[sure_of]
            assert v.scores["confidence"] == pytest.approx(0.9 if sure else 0.3)
            overall[(v.text, sure)] = v.scores["overall"]
    for line in lines:  # each line loses what the sampler's doubt says when it was the guessed one
        # (run() writes product headlines, which follow the confidence squared: scoring.CONFIDENCE_POWER)
        assert overall[(line, False)] == pytest.approx(overall[(line, True)] * (0.3 / PENALTIES.confident) ** 2, rel=1e-3)
    fake = run(n=2)  # a generator that cannot tell: confidence 1.0, nothing changed
    assert all(v.scores["confidence"] == 1.0 for v in fake.variants)


def test_without_postprocessing_every_sampled_line_is_kept_repeats_included():
    class Same(FakeGenerator):
        def complete(self, prompt, n, decoding, **kw):
            self.calls.append({"n": n})
            return ["Leafwell green tea\n"] * n

    gen = Same()
    r = run(n=3, generator=gen, rerank=False, postprocess=False)
    assert [v.text for v in r.variants] == ["Leafwell green tea"] * 3  # raw, as the baseline configuration shows it
    assert len(gen.calls) == 1  # one round brought all three


def test_long_copy_left_open_is_dropped_short_copy_need_not_end_a_sentence():
    from copy_engine.generate import with_composed
    from copy_engine.postprocess import ends_sentence

    recliner = Product(name="Kangaroo Trading Bison Kids Recliner", features=["Recommended for ages 3 to 7"])
    whole = "The Kangaroo Trading Bison recliner is recommended for ages 3 to 7. It has a padded seat and a cup holder."
    cut = "The Kangaroo Trading Bison has a no-assembly finish and weighs"
    pool = with_composed([whole, cut], recliner, "description", GenerateOptions(), (), ask=False)
    assert whole in pool and cut not in pool and all(ends_sentence(t) for t in pool)
    headline = "Kangaroo Trading Bison Kids Recliner for Ages 3 to 7"
    assert with_composed([headline], recliner, "headline", GenerateOptions(), (), ask=False) == [headline]
    assert ends_sentence('It says "Hi!"') and ends_sentence("Ages 3 to 7.)") and not ends_sentence("and weighs")


def test_a_descriptions_near_duplicate_drafts_stay_in_the_pool_and_the_best_of_them_is_shown():
    from copy_engine.postprocess import near_duplicate
    from copy_engine.rerank import mmr_select

    tea = Product(name="Leafwell Organic Green Tea", brand="Leafwell", features=["20 pyramid bags", "Grown in Japan"],
                  price="$6.49")
    invented = "The Leafwell Organic Green Tea comes in 20 pyramid bags from Sony. See it for $6.49."
    twin = "The Leafwell Organic Green Tea comes in 20 pyramid bags from Japan. See it for $6.49."
    assert near_duplicate(invented, twin)

    class Twins(FakeGenerator):  # the invented draft is sampled first, its clean twin second
        def complete(self, prompt, n, decoding, **kw):
            self.calls.append(n)
            other = "Leafwell green tea is grown in Japan. It comes in 20 pyramid bags."
            return [invented, twin][:n] + [other] * (n - 2)

    r = generate(tea, "description", Controls(0.5, 0.5, 0.5), GenerateOptions(n=1, seed=1), generator=Twins(),
                 embedder=FakeEmbedder(), ctr_predictor=FakeCtrPredictor(), banned_words=[])
    pool = [t for t, _ in r.pool]
    assert invented in pool and twin in pool
    assert "Sony" not in r.variants[0].text
    # of near-duplicates only one is shown, the better-scored; plain duplicates as before without `near`
    cards = [type("Card", (), {"overall": o, "scores": {}, "flags": [], "embedding": None})() for o in (0.6, 0.9, 0.5)]
    texts = [invented, twin, "Organic green tea grown in Japan, in a resealable tin of twenty pyramid bags."]
    assert mmr_select(texts, cards, None, 2, 0.0, near=True) == [1, 2]
    assert mmr_select(texts, cards, None, 2, 0.0) == [1, 0]
    assert mmr_select(texts[:2], cards[:2], None, 2, 0.0, near=True) == [1]  # never the same copy twice
