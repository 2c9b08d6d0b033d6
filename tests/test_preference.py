"""Preference tuning (copy_engine/preference.py): pairs from labels, the DPO terms, and a tiny run."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("peft")
torch = pytest.importorskip("torch")

from copy_engine.preference import (  # noqa: E402
    Pair,
    PreferenceConfig,
    copy_logps,
    dpo_terms,
    labelled_pairs,
    read_labelled,
)


def _labelled(tmp_path, rows):
    from copy_engine.copy_deck import own_products, product_key

    products = {product_key(p, "own"): p for p in own_products()[:3]}
    keys = sorted(products)
    path = tmp_path / "labels.jsonl"
    lines = [{"product": keys[k], "channel": ch, "text": t, "label": lab, "reason": "garbled"}
             for k, ch, t, lab in rows]
    lines.append({"product": "csv:not-here", "channel": "headline", "text": "x", "label": "usable"})
    path.write_text("".join(json.dumps(d) + "\n" for d in lines), encoding="utf-8")
    return read_labelled([path], products), keys


def test_pairs_set_usable_against_unusable_copy_of_the_same_product_and_channel(tmp_path):
    rows = [(0, "headline", f"good {i}", "usable") for i in range(2)]
    rows += [(0, "headline", f"bad {i}", "unusable") for i in range(5)]
    rows += [(0, "description", "bad alone", "unusable"), (1, "headline", "good alone", "usable")]
    rows += [(2, "email_subject", "good", "usable"), (2, "email_subject", "bad", "unusable")]
    labelled, keys = _labelled(tmp_path, rows)
    assert len(labelled) == len(rows)  # the row whose product does not resolve is left out
    pairs = labelled_pairs(labelled, ("headline", "description"), per_group=3, seed=1)
    assert len(pairs) == 3  # the one group with both, capped; email subjects not asked for
    assert {(p.product, p.channel) for p in pairs} == {(keys[0], "headline")}
    assert all(p.chosen.startswith("good") and p.rejected.startswith("bad") for p in pairs)
    assert len({p.rejected for p in pairs}) == 3 and {p.chosen for p in pairs} == {"good 0", "good 1"}
    assert all(p.prompt.rstrip().endswith("Copy:") and "Channel: " in p.prompt for p in pairs)
    assert pairs == labelled_pairs(labelled, ("headline", "description"), per_group=3, seed=1)


def test_dpo_loss_is_log_2_at_the_reference_and_falls_as_usable_copy_gains_on_unusable():
    zero = torch.zeros(2)
    loss, margin = dpo_terms(zero, zero, zero, zero, beta=0.1)
    assert torch.allclose(loss, torch.full((2,), math.log(2))) and torch.all(margin == 0)
    better, m = dpo_terms(torch.tensor([-1.0]), torch.tensor([-9.0]), torch.tensor([-2.0]), torch.tensor([-2.0]), 0.1)
    worse, _ = dpo_terms(torch.tensor([-3.0]), torch.tensor([-1.0]), torch.tensor([-2.0]), torch.tensor([-2.0]), 0.1)
    assert float(m) == pytest.approx(8.0) and float(better) < math.log(2) < float(worse)


def test_copy_logps_sums_the_copy_tokens_of_each_row_only():
    from conftest import embedding_head_model

    from copy_engine.adapters.losses import IGNORE

    m = embedding_head_model()
    ids = torch.tensor([[2, 5, 6, 7, 0, 0], [2, 9, 8, 0, 0, 0]])
    mask = (ids != 0).long()
    labels = torch.tensor([[IGNORE, IGNORE, 6, 7, IGNORE, IGNORE], [IGNORE, 9, 8, IGNORE, IGNORE, IGNORE]])
    total, count = copy_logps(m, ids, labels, mask)
    logp = torch.log_softmax(m.lm_head(m.emb(ids)), -1)
    want = [logp[0, 1, 6] + logp[0, 2, 7], logp[1, 0, 9] + logp[1, 1, 8]]
    assert torch.allclose(total, torch.stack(want), atol=1e-5) and count.tolist() == [2, 2]


def test_a_preference_run_starts_at_its_adapter_and_learns_to_prefer_the_usable_copy(tmp_home, tmp_path):
    from test_adapters import _copy, make_tiny

    from copy_engine.copywriter import CopywriterConfig, deck_examples, train_copywriter
    from copy_engine.preference import train_preference

    tiny = make_tiny()
    loaded, _ = tiny
    examples = deck_examples(catalog_csv=None)[:8]
    shape = dict(r=4, alpha=8.0)
    start = train_copywriter(loaded, examples, CopywriterConfig(**shape, steps=1, batch_size=4, eval_every=1),
                             tmp_path / "start.safetensors", base_model=_copy(tiny))  # fmt: skip
    # A pair of the deck's own copy against the same copy cut short: 12 products, 3 held out for validation.
    pairs = [Pair(f"p{i}", e.channel, e.prompt, e.target, " ".join(e.target.split()[:3]))
             for i, e in enumerate(deck_examples(catalog_csv=None)[:12])]
    cfg = PreferenceConfig(**shape, target_modules=CopywriterConfig().target_modules, steps=8, batch_pairs=3, lr=2e-2,
                           warmup_steps=0, eval_every=4, val_fraction=0.25, sft_weight=0.0, init_from=str(start.path))
    res = train_preference(loaded, pairs, cfg, tmp_path / "best-of.safetensors", base_model=_copy(tiny))
    steps = [h for h in res.history if "margin" in h]
    assert abs(steps[0]["margin"]) < 1e-2  # step 1 runs the starting adapter: policy = reference
    assert steps[-1]["margin"] > 1.0 and res.best_val_loss < math.log(2)
    meta = json.loads(res.path.with_suffix(".json").read_text())
    assert meta["name"] == "best-of" and meta["objective"] == "preference"
    assert meta["training"]["examples"] == {"train_pairs": 9, "val_pairs": 3, "held_out_products": 3}
    with pytest.raises(ValueError, match="starts from an adapter"):
        train_preference(loaded, pairs, PreferenceConfig(**shape), tmp_path / "x.safetensors", base_model=_copy(tiny))
