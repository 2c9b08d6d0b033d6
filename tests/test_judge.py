"""The usable-copy judge (copy_engine/scoring/judge.py) and off-product flags (scoring/off_product.py).

Fast tests use the fake embedder (the shipped judge then decides with its text-only head); the
`real_model` test loads MiniLM and checks the shipped full head ranks usable lines first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from copy_engine.controls import Controls
from copy_engine.product import Product
from copy_engine.scoring import score_variants
from copy_engine.scoring.faithfulness import find_unsupported, score_faithfulness
from copy_engine.scoring.flags import FLAG_KINDS, HARD_KINDS
from copy_engine.scoring.judge import (
    REASONS,
    TEXT_FEATURES,
    USABLE,
    Judge,
    Verdict,
    get_default_judge,
    text_features,
    weights_path,
)
from copy_engine.scoring.off_product import find_off_product
from conftest import FakeCtrPredictor

MAGNET = Product(
    name="Band Logo Fridge Magnet",
    brand="Rockhouse",
    category="Home & Kitchen | Kitchen Magnets",
    features=["Strong magnet", "3 inch", "Official band logo print"],
    price="$6.99",
)
TOY_CASE = Product(
    name="Toy Storage Case for Action Figures",
    category="Toys & Games | Storage",
    features=["Holds 20 figures", "Carry handle", "Clear lid"],
)


def off(text: str, product: Product) -> list[str]:
    return [f.text for f in find_off_product(text, product.facts_text())]


# ---------------------------------------------------------------- off-product flags


def test_copy_naming_another_kind_of_product_is_flagged():
    assert off("Vinyl Stickers for Your Dog", MAGNET) == ["Stickers"]
    assert off("Dishwasher Cleaner with Safe Cleaning Features", MAGNET) == ["Dishwasher"]
    assert off("A Scarf That Stays In Place", TOY_CASE) == ["Scarf"]
    assert off("Cozy Hoodie for Every Fan", MAGNET) == ["Hoodie"]


def test_copy_about_the_product_or_its_surroundings_is_not_flagged():
    assert off("Official Band Logo Magnet, 3 Inch", MAGNET) == []
    assert off("A strong magnet for your fridge or locker", MAGNET) == []
    assert off("Holds 20 figures and fits in your backpack", TOY_CASE) == []  # where it goes, not what it is
    assert off("Store figures in a sturdy case with a clear lid", TOY_CASE) == []
    assert off("Dress your fridge with the band's logo", MAGNET) == []  # a verb, not a dress
    assert off("Show your colours #magnets #stickers", MAGNET) == []  # hashtags
    assert off("", MAGNET) == [] and off("Stickers", Product(name="x")) == ["Stickers"]


def test_family_words_in_the_facts_back_related_kinds():
    plush = Product(name="Friendly Frog Pillow Pet", category="Stuffed Animals & Plush Toys", features=["Chenille"])
    assert off("A plush frog cushion to cuddle", plush) == []  # plush, pillow and cushion are one family
    outfit = Product(name="Barbie Complete Looks Wonder Woman Fashion")
    assert off("Barbie Wonder Woman Outfit", outfit) == []  # "Fashion" backs clothing


def test_off_product_counts_against_faithfulness_and_as_a_hard_flag():
    flags = [f for f in find_unsupported("Vinyl Stickers for Your Dog", MAGNET.facts_text()) if f.kind != "unsupported_word"]
    assert [(f.kind, f.text) for f in flags] == [("off_product", "Stickers")]
    assert "off_product" in FLAG_KINDS and "off_product" in HARD_KINDS
    score, why = score_faithfulness(flags)
    assert score == 0.5 and "different kind of product" in why
    assert score_faithfulness(find_unsupported("Official Band Logo Magnet", MAGNET.facts_text()))[0] == 1.0


def test_the_copy_deck_raises_almost_no_off_product_flags(shared_data):
    from copy_engine.copy_deck import load_deck, visible_product

    deck = load_deck(shared_data / "products" / "amazon_products_sample.csv")
    if len(deck) < 50:
        pytest.skip(f"only {len(deck)} deck examples resolve here")
    flagged = [e.text for p, e in deck if find_off_product(e.text, visible_product(p).facts_text())]
    assert len(flagged) <= max(1, len(deck) // 200), flagged[:10]


# ---------------------------------------------------------------- features and the judge


def test_text_features_see_fragments_filler_and_channel():
    f = lambda text, channel="headline": dict(zip(TEXT_FEATURES, text_features(MAGNET, channel, text)))  # noqa: E731
    assert f("Shop the Band Logo Magnet with")["dangling_end"] == 1.0
    assert f("Band Logo Magnet (black")["unbalanced"] == 1.0
    assert f("Official Band Logo Magnet, 3 inch")["dangling_end"] == 0.0
    assert f("Buy this item now")["filler"] >= 1 and f("Buy this item now")["no_fact_word"] == 1.0
    assert f("Vinyl Stickers for Your Dog")["off_product"] == 1.0
    assert f("Band Logo Magnet, 10x Seller Reviews")["unsupported"] >= 1
    assert f("Band Logo Magnet", "ad_headline")["ch_ad_headline"] == 1.0
    assert f("A magnet.", "description")["too_short"] == 1.0
    assert np.array_equal(text_features(MAGNET, "headline", "Same text"), text_features(MAGNET, "headline", "Same text"))


def _toy_weights(n_text: int, embed_dim: int) -> dict:
    """A judge that rejects dangling endings and off-product kinds (hand-set weights, for the mechanics)."""
    coef = np.zeros((1, n_text), dtype=np.float32)
    coef[0, TEXT_FEATURES.index("dangling_end")] = -3.0
    coef[0, TEXT_FEATURES.index("off_product")] = -3.0
    full = np.zeros((1, n_text + 2 + embed_dim), dtype=np.float32)
    full[0, :n_text] = coef[0]
    full[0, n_text] = 2.0  # cosine to the product line
    reasons = np.array(sorted(REASONS))
    return {
        "text_mean": np.zeros(n_text), "text_scale": np.ones(n_text), "text_coef": coef, "text_intercept": np.array([1.0]),
        "full_mean": np.zeros(full.shape[1]), "full_scale": np.ones(full.shape[1]), "full_coef": full,
        "full_intercept": np.array([0.0]),
        "reason_mean": np.zeros(n_text), "reason_scale": np.ones(n_text),
        "reason_coef": np.zeros((len(reasons), n_text)), "reason_intercept": np.arange(len(reasons), dtype=float),
        "reasons": reasons,
    }


def test_judge_mechanics_heads_and_reasons(fake_embedder):
    judge = Judge(_toy_weights(len(TEXT_FEATURES), fake_embedder.dim))
    assert judge.embed_dim == fake_embedder.dim
    texts = ["Official Band Logo Magnet", "Shop the Band Logo Magnet with", "Vinyl Stickers for Your Dog"]
    v = judge.judge(MAGNET, "headline", texts)  # no embeddings: the text head
    assert [x.reason for x in v] == [USABLE, "fragment", "off-product"]
    assert v[0].quality > 0.5 > v[1].quality and all(0 <= x.quality <= 1 for x in v)
    assert "mid-thought" in v[1].explanation
    emb = fake_embedder.encode(texts + ["Band Logo Fridge Magnet", "Strong magnet"])
    full = judge.judge(MAGNET, "headline", texts, text_emb=emb[:3], line_emb=emb[3], feats_emb=emb[4])
    cos = emb[:3] @ emb[3]
    assert full[0].quality == pytest.approx(1 / (1 + np.exp(-2.0 * cos[0])), rel=1e-5)  # the full head decided
    wrong_size = judge.judge(MAGNET, "headline", texts, text_emb=np.ones((3, 7)), line_emb=np.ones(7), feats_emb=np.ones(7))
    assert [x.quality for x in wrong_size] == [x.quality for x in v]  # other embedder: the text head
    # a rejection no rule explains gets the reason head's choice (here the largest intercept)
    bland = judge.judge(Product(name="Zorbix Lamp"), "headline", ["Blue and green and"])[0]
    assert bland.reason == "fragment"
    assert judge.judge(MAGNET, "headline", []) == []


def test_judge_saves_and_loads_without_pickles(tmp_path, fake_embedder):
    from copy_engine.scoring.judge_train import save_weights

    path = save_weights(_toy_weights(len(TEXT_FEATURES), 8), tmp_path / "j.npz")
    judge = Judge.load(path)
    assert judge.embed_dim == 8 and judge.reasons == sorted(REASONS)
    from copy_engine.errors import ModelLoadError

    with pytest.raises(ModelLoadError):
        Judge.load(tmp_path / "missing.npz")


def test_training_on_a_small_labelled_set_separates_and_holds_out_by_product(tmp_path, fake_embedder):
    from copy_engine.adapters.data import load_training_catalog
    from copy_engine.copy_deck import product_key
    from copy_engine.scoring.judge_train import is_test_product, train

    products = load_training_catalog()
    deck_dir = tmp_path / "deck"
    deck_dir.mkdir()
    deck, labels = [], []
    for p in products:
        key = product_key(p, "own")
        name = p.name.split(",")[0]
        deck.append({"product": key, "channel": "headline", "tone": "calm", "cta": "none", "text": f"{name}: {p.features[0]}"})
        labels += [
            {"product": key, "channel": "headline", "text": f"{name} for every day", "label": USABLE, "reason": None},
            {"product": key, "channel": "headline", "text": f"Shop the {name} with", "label": "unusable", "reason": "fragment"},
            {"product": key, "channel": "headline", "text": "Buy this item now and you will love it", "label": "unusable", "reason": "filler"},
        ]
    (deck_dir / "part-test.jsonl").write_text("\n".join(json.dumps(d) for d in deck), encoding="utf-8")
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(d) for d in labels), encoding="utf-8")
    weights, report = train(None, labels=tmp_path / "labels.jsonl", deck_folder=deck_dir, embedder=fake_embedder)
    held_out = {product_key(p, "own") for p in products if is_test_product(product_key(p, "own"))}
    assert report.n_test == 3 * len(held_out) > 0
    assert report.auc_text > 0.9 and report.auc_full > 0.9
    assert json.loads(str(weights["meta"]))["deck_examples"] == len(products) - len(held_out)
    judge = Judge(weights)
    v = judge.judge(products[0], "headline", [f"{products[0].name.split(',')[0]} for every day", "Shop the thing with"])
    assert v[0].quality > v[1].quality


# ---------------------------------------------------------------- the overall score uses it


class StubJudge:
    """Rejects any text containing 'bad' (reason: nonsense); the mechanics of scoring, not of the judge."""

    def judge(self, product, channel, texts, **embeddings):
        return [Verdict(0.1, "nonsense", "Likely unusable (10%): nonsense.") if "bad" in t else Verdict(0.9, USABLE, "ok") for t in texts]


def high_ctr():
    """Fake CTR predictor that loves the copy the judge rejects."""
    return FakeCtrPredictor(lambda t: 1.0 if "bad" in t else 0.3)


def test_a_rejected_variant_sinks_whatever_its_predicted_ctr(fake_embedder):
    texts = ["Official Band Logo Magnet, 3 inch", "Band logo bad magnet sings loudly"]
    cards = score_variants(texts, MAGNET, "headline", Controls(), embedder=fake_embedder, ctr_predictor=high_ctr(), judge=StubJudge())
    good, bad = cards
    assert bad.scores["predicted_ctr"] == 1.0 and bad.scores["quality"] == pytest.approx(0.1)
    assert bad.overall <= 0.2 < good.overall
    assert "usable-copy judge rejects it" in bad.explanations["overall"] and "doesn't make sense" in bad.explanations["overall"]
    assert "rejects" not in good.explanations["overall"] and good.explanations["quality"] == "ok"
    assert "weighted by the usable-copy judge's 90%" in good.explanations["overall"]


def test_shipped_judge_scores_every_card_and_rejects_clear_failures(fake_embedder):
    if not weights_path().is_file():
        pytest.skip("judge weights not trained yet")
    texts = ["Official Band Logo Fridge Magnet, 3 Inch", "Shop the Band Logo Magnet with", "Buy this item now!"]
    cards = score_variants(texts, MAGNET, "headline", Controls(), embedder=fake_embedder, ctr_predictor=high_ctr())
    q = [c.scores["quality"] for c in cards]
    assert q[0] > q[1] and q[0] > q[2] and q[1] < 0.5
    assert cards[1].overall < cards[0].overall


def test_missing_judge_weights_do_not_stop_scoring(fake_embedder, monkeypatch):
    from copy_engine.errors import ModelLoadError

    import copy_engine.scoring.judge as judge_mod

    def missing():
        raise ModelLoadError("judge weights not found")

    monkeypatch.setattr(judge_mod, "get_default_judge", missing)
    card = score_variants(["Official Band Logo Magnet"], MAGNET, "headline", Controls(), embedder=fake_embedder, ctr_predictor=high_ctr())[0]
    assert card.scores["quality"] == 1.0 and "not counted" in card.explanations["quality"]


def test_card_never_shows_a_high_ctr_badge_without_the_judges_warning():
    from ui.cards import badges_markdown

    rejected = badges_markdown({"overall": 0.1, "predicted_ctr": 1.0, "quality": 0.2})
    assert "Judge: not usable" in rejected and "Predicted CTR 100 (ignored" in rejected
    assert ":green-badge[Predicted CTR" not in rejected
    accepted = badges_markdown({"overall": 0.8, "predicted_ctr": 1.0, "quality": 0.9})
    assert ":green-badge[Predicted CTR 100]" in accepted and "not usable" not in accepted


# ---------------------------------------------------------------- the shipped judge with MiniLM


@pytest.mark.real_model
def test_shipped_judge_ranks_usable_lines_above_failures():
    from copy_engine.embeddings import get_embedder
    from copy_engine.scoring.judge import facts_lines

    product = Product(
        name="Pete The Cat Groovy Buttons Mini Stickers",
        category="Arts, Crafts & Sewing | Stickers",
        features=["378 total stickers", 'Measures approx 1/2" diameter', "7 colors"],
        price="$5.43",
    )
    usable = [
        "Pete the Cat Groovy Buttons Stickers: 378 Mini Stickers in 7 Colors",
        "378 Pete the Cat Button Stickers in 7 Colors",
        "Pete the Cat Mini Stickers, 378 in 7 Colors",
    ]
    bad = [
        "The number 4 is the color of your birth date.",  # nonsense
        "Shop Pete the Cat Stickers (black and",  # fragment
        "A Scarf That Stays In Place All Day",  # off-product
        "Buy this item now!",  # filler
    ]
    texts = usable + bad
    emb = get_embedder().encode(texts + list(facts_lines(product)))
    verdicts = get_default_judge().judge(product, "headline", texts, text_emb=emb[: len(texts)], line_emb=emb[-2], feats_emb=emb[-1])
    q = [v.quality for v in verdicts]
    assert min(q[: len(usable)]) > max(q[len(usable) :]), q
    assert all(v.reason != USABLE for v in verdicts[len(usable) :])


def test_every_label_file_reads_as_the_judge_trainer_expects():
    """judge_labels*.jsonl: csv:/own: product keys, known channels, usable or one of the judge's reasons, no
    repeated (product, channel, text); what `train-judge --labels` would read."""
    from copy_engine.channels import CHANNELS
    from copy_engine.scoring.judge import REASONS

    folder = Path(__file__).resolve().parents[1] / "copy_engine" / "examples"
    files = sorted(folder.glob("judge_labels*.jsonl"))
    assert any(f.name == "judge_labels_round4.jsonl" for f in files)
    for f in files:
        seen = set()
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            assert d["product"].split(":", 1)[0] in ("csv", "own") and d["channel"] in CHANNELS, (f.name, d)
            assert (d["label"], d["reason"]) == ("usable", None) or (d["label"] == "unusable" and d["reason"] in REASONS)
            assert (d["product"], d["channel"], d["text"]) not in seen, (f.name, d["text"])
            seen.add((d["product"], d["channel"], d["text"]))
