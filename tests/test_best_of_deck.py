"""scripts/best_of_deck.py: the copywriter's own labelled-usable copy as a deck for a continued run."""

import json

import pytest

import scripts.best_of_deck as script
from copy_engine.channels import CHANNELS
from copy_engine.copy_deck import read_examples
from copy_engine.copywriter import deck_examples


def test_best_unflagged_takes_the_highest_readings_without_a_flag_or_a_low_reading():
    pool = [
        {"text": "a", "reading": 0.9, "flags": ["unsupported_word"]},  # flagged: never a training example
        {"text": "b", "reading": 0.7, "flags": []},
        {"text": "c", "reading": 0.2, "flags": []},  # under MIN_READING: not worth a label
        {"text": "d", "reading": 0.8, "flags": ["doubtful"]},  # a doubt is a hint, not a flag
        {"text": "e", "reading": 0.5, "flags": []},
    ]
    assert script.best_unflagged(pool, 2) == ["d", "b"]
    assert script.best_unflagged(pool, 9) == ["d", "b", "e"]


def test_collect_keeps_labelled_usable_candidates_at_the_default_wishes(tmp_path, monkeypatch):
    labels = tmp_path / "labels" / "chunk1"
    labels.mkdir(parents=True)
    key = {"P1.1": ["csv:aaaaaaaaaaaa", "headline", "Kiln mug in stoneware"],
           "P1.2": ["csv:aaaaaaaaaaaa", "headline", "Mug mug mug"],
           "P2.1": ["csv:bbbbbbbbbbbb", "description", "A 350 ml mug. It is dishwasher safe."]}  # fmt: skip
    (labels / "key_headline_0.json").write_text(json.dumps(key))
    (labels / "l_headline_0.json").write_text(json.dumps(
        {"P1.1": {"usable": True}, "P1.2": {"usable": False, "reason": "repetitive"}, "P2.1": {"usable": True}}))
    (labels / "key_social_0.json").write_text(json.dumps({"P1.1": ["csv:cccccccccccc", "social", "Unlabelled"]}))
    judged = [{"product": "csv:dddddddddddd", "channel": "headline", "text": "Judged usable", "label": "usable"},
              {"product": "csv:dddddddddddd", "channel": "headline", "text": "Judged not", "label": "unusable"},
              {"product": "own:eeeeeeeeeeee", "channel": "headline", "text": "Own", "label": "usable"}]  # fmt: skip
    judge_labels = tmp_path / "judge_labels_t.jsonl"
    judge_labels.write_text("\n".join(map(json.dumps, judged)))
    monkeypatch.setattr("copy_engine.scoring.reader_train.label_files", lambda: [judge_labels])

    out = tmp_path / "deck"
    script.collect(tmp_path / "labels", out)
    got = read_examples(sorted(out.glob("part*.jsonl")))
    assert sorted((e.channel, e.text) for e in got) == [
        ("description", "A 350 ml mug. It is dishwasher safe."),
        ("headline", "Judged usable"),
        ("headline", "Kiln mug in stoneware"),
    ]
    assert {(e.tone, e.cta) for e in got} == {("balanced", "soft")}  # the default sliders' prompt
    assert deck_examples(None, out) == []  # catalog rows resolve only where the catalog is


def test_labels_keeps_every_labelled_candidate_with_its_reading_but_not_a_headline_faulted_for_its_price(tmp_path):
    cands = tmp_path / "cands.jsonl"
    pool = [{"text": t, "reading": r, "flags": []} for t, r in (("Kiln mug", 0.8), ("Mug mug", 0.3), ("Mug, $12", 0.5))]
    cands.write_text(json.dumps({"product": "csv:aaaaaaaaaaaa", "channel": "headline", "pool": pool}) + "\n")
    key = {f"P1.{i}": ["csv:aaaaaaaaaaaa", "headline", c["text"]] for i, c in enumerate(pool, 1)}
    (tmp_path / "key_headline_0.json").write_text(json.dumps(key))
    (tmp_path / "l_headline_0.json").write_text(json.dumps({
        "P1.1": {"usable": True}, "P1.2": {"usable": False, "reason": "repetitive", "bad": "Mug mug"},
        "P1.3": {"usable": False, "reason": "wrong channel", "bad": "$12"}}))
    out = tmp_path / "labels.jsonl"
    script.labels(tmp_path, [cands], out)
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(d["text"], d["label"], d.get("reason"), d["reading"]) for d in got] == [
        ("Kiln mug", "usable", None, 0.8), ("Mug mug", "unusable", "repetitive", 0.3)]


def test_the_shipped_best_of_deck_is_labelled_copy_of_catalog_rows_on_every_channel():
    examples = read_examples(sorted(script.SHIPPED.glob("part*.jsonl")))
    assert len(examples) >= 2000 and all(e.product.startswith("csv:") for e in examples)
    assert {e.channel for e in examples} == set(CHANNELS)
    assert len({(e.product, e.channel, e.text) for e in examples}) == len(examples)
    assert {(e.tone, e.cta) for e in examples} == {("balanced", "soft")}


def test_the_best_of_deck_holds_no_product_of_the_evaluation_split():
    catalog = script.CATALOG
    if not catalog.is_file():
        pytest.skip("the catalog (../shared/data) is absent here")
    from copy_engine.catalog import read_products
    from copy_engine.copy_deck import csv_products, product_key

    training = {product_key(p, "csv") for p in csv_products(catalog)}
    evaluation = {product_key(p, "csv") for p in read_products(catalog)} - training
    keys = {e.product for e in read_examples(sorted(script.SHIPPED.glob("part*.jsonl")))}
    assert keys & training and not keys & evaluation
