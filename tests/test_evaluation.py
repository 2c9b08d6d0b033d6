"""Offline evaluation: metrics, bootstrap, elbow, sampling, the `evaluate` CLI and the Insights page (engine faked)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import FakeCtrPredictor, FakeEmbedder, FakeGenerator

from copy_engine.cli import main
from copy_engine.errors import InputError
from copy_engine.evaluation.bootstrap import paired_bootstrap
from copy_engine.evaluation.configs import CONFIGS, parse_configs
from copy_engine.evaluation.metrics import self_bleu, sentiment_order, set_metrics
from copy_engine.catalog import read_products
from copy_engine.evaluation.sampling import allocate, sample_products
from copy_engine.evaluation.sweep import find_elbow
from copy_engine.product import Product
from copy_engine.textmetrics import distinct_n


def words_and_cta(text: str) -> float:
    """Fake CTR rule: more words and a call to action score higher."""
    cta = "shop now" in text.lower() or "order" in text.lower()
    return min(1.0, 0.05 * len(text.split()) + (0.3 if cta else 0.0))


CSV = """Product Name,Brand Name,Category,Selling Price,About Product,Product Description
Snap Circuits Kit,Elenco,Toys & Games | Science,$29.99,Builds 5 projects | Ages 8+,An electronics kit.
Wooden Puzzle,PlayCo,Toys & Games | Puzzles,$9.99,100 pieces | Non-toxic paint,A puzzle for kids.
Stuffed Bunny,Cuddle,Toys & Games | Plush,$14.00,Soft fabric | Washable,A soft bunny.
Trail Socks,Hike,Sports & Outdoors | Hiking,$12.00,Merino wool | Cushioned heel,Warm socks.
Sports Bottle,Hike,Sports & Outdoors | Hydration,$18.00,Keeps cold 24 hours | 750 ml,Steel bottle.
Chef Knife,Edge,Home & Kitchen | Knives,$45.00,8 inch blade | Full tang,A sharp knife.
Ceramic Mug,Kiln,Home & Kitchen | Mugs,$12.00,350 ml | Dishwasher safe,A stoneware mug.
Cotton Yoga Mat,Flow,Sports & Outdoors | Yoga,$25.00,6 mm thick | Non-slip,A cushioned mat.
Stovetop Kettle,Kiln,Home & Kitchen | Kettles,$30.00,1.7 litres | Whistles when ready,A steel kettle.
"""
# The evaluation draws evaluation-split products only (adapters.data.is_training_product): Snap Circuits Kit,
# Stuffed Bunny, Sports Bottle, Ceramic Mug, Cotton Yoga Mat and Stovetop Kettle; the others are training products.


@pytest.fixture
def catalog(tmp_path):
    p = tmp_path / "catalog.csv"
    p.write_text(CSV, encoding="utf-8")
    return p


@pytest.fixture
def fake_ctr_predictor():
    """conftest's fake_engine (and so `app`) predicts clicks by words_and_cta in this module."""
    return FakeCtrPredictor(words_and_cta)


# ---------------------------------------------------------------- metrics


def test_distinct_n_on_hand_made_texts():
    texts = ["the cat sat", "the cat ran"]
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)  # the, cat, sat, ran of 6 tokens
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)  # (the cat) repeats
    assert distinct_n(["a b", "a b"], 2) == pytest.approx(0.5)
    assert distinct_n([], 2) == 0.0


def test_self_bleu_identical_vs_disjoint():
    same = ["fresh coffee beans roasted today", "fresh coffee beans roasted today", "fresh coffee beans roasted today"]
    different = ["fresh coffee beans roasted today", "warm wool socks for winter hikes", "a sharp knife for every cook"]
    assert self_bleu(same) == pytest.approx(1.0)
    assert self_bleu(different) < 0.1
    assert self_bleu(["only one"]) == 0.0


def test_set_metrics_on_hand_made_set():
    product = Product(name="Trail Socks", brand="Hike", features=["Merino wool", "Cushioned heel"], price="$12.00")
    texts = ["Merino wool socks for long trails. Shop now.", "Warm feet on every hike with 50% off"]
    m = set_metrics(texts, product, "headline", embedder=FakeEmbedder(), ctr_predictor=FakeCtrPredictor(words_and_cta))
    assert m["cta_rate"] == pytest.approx(0.5)
    assert m["faithfulness"] == pytest.approx(0.5)  # "50% off" is not in the facts
    assert m["length_ok"] == pytest.approx(1.0)
    assert 0.0 < m["novelty"] <= 1.0 and 0.0 < m["embedding_diversity"] <= 1.0
    assert math.isnan(m["perplexity"])  # no fluency function given
    assert m["n_variants"] == 2
    ctr = FakeCtrPredictor(words_and_cta)
    too_long = set_metrics(["x" * 100], product, "headline", embedder=FakeEmbedder(), ctr_predictor=ctr)
    assert too_long["length_ok"] == 0.0


def test_sentiment_order():
    assert sentiment_order(-0.5, 0.0, 0.6) == (True, 1.0)
    ordered, pairwise = sentiment_order(0.2, 0.0, 0.6)
    assert not ordered and pairwise == pytest.approx(2 / 3)


# ---------------------------------------------------------------- bootstrap and elbow


def test_bootstrap_interval_contains_true_difference():
    rng = np.random.default_rng(1)
    control = rng.normal(0.4, 0.1, 200)
    treated = control + 0.05 + rng.normal(0, 0.05, 200)
    iv = paired_bootstrap(treated, control, n_boot=2000, seed=0)
    assert iv.low < 0.05 < iv.high
    assert iv.low > 0 and iv.excludes_zero
    assert iv.n == 200


def test_bootstrap_no_difference_straddles_zero_and_drops_nan():
    rng = np.random.default_rng(2)
    a = rng.normal(0.5, 0.1, 100)
    b = a + rng.normal(0, 0.02, 100)
    b[:5] = np.nan
    iv = paired_bootstrap(b, a, seed=0)
    assert iv.n == 95 and iv.low < 0 < iv.high
    assert paired_bootstrap([math.nan], [1.0]).n == 0
    with pytest.raises(ValueError):
        paired_bootstrap([1.0, 2.0], [1.0])


def test_kneedle_elbow_on_synthetic_curve():
    # CTR holds up until creativity 0.6, then falls off a cliff: the elbow is at λ=0.6.
    lambdas = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    creativity = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    ctr = [0.80, 0.79, 0.78, 0.76, 0.50, 0.20]
    e = find_elbow(lambdas, creativity, ctr)
    assert e.method == "kneedle" and e.lam == pytest.approx(0.6)
    # Unordered input gives the same answer (points are sorted by creativity).
    e2 = find_elbow(lambdas[::-1], creativity[::-1], ctr[::-1])
    assert e2.lam == pytest.approx(0.6)


def test_elbow_fallbacks():
    assert find_elbow([], [], []) is None
    assert find_elbow([0.5], [0.3], [0.6]).method == "single point"
    # Two points: no kneedle; the one closest to the best of both axes wins.
    e = find_elbow([0.0, 1.0], [0.2, 0.8], [0.7, 0.65])
    assert e.method == "utopia" and e.lam == 1.0


# ---------------------------------------------------------------- sampling and configs


def test_allocate_floor_and_proportional():
    take = allocate({"big": 90, "mid": 20, "small": 3}, 20, floor=2)
    assert sum(take.values()) == 20 and take["small"] >= 2 and take["big"] > take["mid"]
    assert sum(allocate({"a": 2, "b": 1}, 10).values()) == 3  # cannot draw more than exist


def test_sample_is_stratified_and_reproducible(catalog):
    products = read_products(catalog)
    assert len(products) == 9
    s1 = sample_products(products, 4, seed=3, min_stratum=2)
    s2 = sample_products(products, 4, seed=3, min_stratum=2)
    assert [sp.product.name for sp in s1] == [sp.product.name for sp in s2]
    cats = {sp.category for sp in s1}
    assert {"Toys & Games", "Sports & Outdoors"} <= cats  # both big strata represented
    # The first six rows have one kitchen product, pooled into Other.
    assert "Other" in {sp.category for sp in sample_products(products[:6], 6, min_stratum=2)}
    with pytest.raises(InputError):
        sample_products(products, 0)


def test_configs_definitions_and_parsing():
    base = CONFIGS["baseline"].options("headline", 4, 7)
    assert base.decoding.temperature == 1.0 and base.decoding.top_k == 50 and base.decoding.no_repeat_ngram_size == 0
    assert not base.rerank and not base.use_adapters and not base.postprocess and base.seed == 7
    full = CONFIGS["full"].options("headline", 4, 7)
    assert full.decoding is None and full.rerank and full.use_adapters and full.postprocess
    assert parse_configs("full,rerank") == ["baseline", "full", "rerank"]
    with pytest.raises(InputError, match="unknown configuration"):
        parse_configs("baseline,magic")


# ---------------------------------------------------------------- CLI


def test_cli_writes_all_files_with_contract_keys(catalog, tmp_path, tmp_home, fake_engine, capsys):
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate",
            "--catalog",
            str(catalog),
            "--n-products",
            "4",
            "--out",
            str(out),
            "--sentiment-check",
            "2",
            "--sweep-products",
            "1",
            "--sweep-points",
            "3",
            "--bootstrap",
            "200",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    for name in ("summary.json", "report.md", "tradeoff.png", "generations.csv", "sweep.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert list(out.glob("category_*.csv"))
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["configs"]) == {"baseline", "rerank", "adapters", "full"}
    for m in summary["configs"].values():
        for key in ("predicted_ctr", "cta_rate", "faithfulness", "distinct_2", "self_bleu", "novelty", "length_ok"):
            assert isinstance(m[key], float), key
        assert m["products"] == 4
    assert summary["configs"]["full"]["sentiment_checked"] == 2
    assert set(summary["elbow"]) >= {"All"} and all(0 <= v <= 1 for v in summary["elbow"].values())
    assert summary["adapters"]["loaded"] == [] and summary["settings"]["adapters_loaded"] == []
    assert summary["model"]["name"] == "fake-generator"
    assert summary["seeds"]["products"] == {"0": 0, "1": 1, "2": 2, "3": 3}
    diff = summary["differences"]["full"]["predicted_ctr"]
    assert diff["low"] <= diff["mean"] <= diff["high"] and diff["n"] == 4
    assert "| full |" in (out / "report.md").read_text()
    # Same seeds for every configuration: the baseline used library decoding, the others the sliders'.
    temps = {c["decoding"].temperature for c in fake_engine.calls}
    assert 1.0 in temps and len(temps) > 1
    assert "full" in capsys.readouterr().out


def test_cli_only_some_configs(catalog, tmp_path, tmp_home, fake_engine):
    out = tmp_path / "eval2"
    code = main(
        [
            "evaluate",
            "--catalog",
            str(catalog),
            "--n-products",
            "2",
            "--out",
            str(out),
            "--configs",
            "full",
            "--sentiment-check",
            "0",
            "--sweep-products",
            "0",
            "--quiet",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["configs"]) == ["baseline", "full"] and summary["elbow"] == {}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--catalog", "/nonexistent/catalog.csv"], "not found"),
        (["--configs", "baseline,magic"], "unknown configuration"),
        (["--n-products", "0"], "positive"),
        (["--n-products", "-3"], "positive"),
        (["--n", "9"], "between 1 and 8"),
        (["--channel", "billboard"], "unknown channel"),
    ],
)
def test_cli_bad_input_exits_2(catalog, tmp_path, tmp_home, fake_engine, capsys, extra, message):
    args = {"--catalog": str(catalog), "--n-products": "2", "--out": str(tmp_path / "bad")}
    for i in range(0, len(extra), 2):
        args[extra[i]] = extra[i + 1]
    code = main(["evaluate", *[x for kv in args.items() for x in kv], "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()  # nothing half-written
    assert fake_engine.calls == []  # rejected before any generation


def test_cli_empty_catalog_exits_2(tmp_path, tmp_home, fake_engine, capsys):
    p = tmp_path / "empty.csv"
    p.write_text("Product Name,Category\n", encoding="utf-8")
    assert main(["evaluate", "--catalog", str(p), "--n-products", "2", "--out", str(tmp_path / "o")]) == 2
    assert "no product rows" in capsys.readouterr().err


def test_real_catalog_reads_and_stratifies(shared_data):
    products = read_products(shared_data / "products" / "amazon_products_sample.csv")
    assert len(products) > 600
    sample = sample_products(products, 50, seed=0)
    assert len(sample) == 50 and len({sp.product.name for sp in sample}) == 50
    cats = [sp.category for sp in sample]
    assert cats.count("Toys & Games") > 20 and len(set(cats)) >= 5


# ---------------------------------------------------------------- Insights page (AppTest, engine faked)


def _insights():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]
    return AppTest.from_file(str(root / "pages" / "5_Insights.py"), default_timeout=60)


def test_insights_page_opens_previous_report(catalog, tmp_home, app):
    from copy_engine.evaluation.run import EvalSettings, evaluate

    evaluate(
        EvalSettings(
            catalog=str(catalog), n_products=4, sentiment_check=1, sweep_products=1, lambdas=(0.0, 0.5, 1.0), n_boot=200
        ),
        tmp_home / "evaluations" / "first",
    )
    at = _insights().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="ins_open").value == "first"
    assert len(at.dataframe) >= 4  # configs, differences, categories, recommendations
    configs_table = at.dataframe[0].value
    assert list(configs_table["config"]) == ["baseline", "rerank", "adapters", "full"]
    assert any("Recommended settings" in m.value for m in at.markdown)


def test_insights_page_runs_small_evaluation(catalog, tmp_home, app):
    at = _insights().run()
    assert not at.exception
    assert any("No evaluations yet" in i.value for i in at.info)
    in_home = tmp_home / "catalog.csv"  # the page opens server paths inside COPYLAB_HOME only
    in_home.parent.mkdir(parents=True, exist_ok=True)
    in_home.write_bytes(catalog.read_bytes())
    at.text_input(key="ins_path").set_value(str(in_home))
    at.number_input(key="ins_n").set_value(2)
    at.button(key="ins_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Evaluation saved" in s.value for s in at.success)
    folders = [p for p in (tmp_home / "evaluations").iterdir() if (p / "summary.json").is_file()]
    assert len(folders) == 1 and app.calls  # the fake generator did the writing


def test_insights_page_bad_catalog_path_shows_error(tmp_home, app):
    at = _insights().run()
    at.text_input(key="ins_path").set_value(str(tmp_home / "nonexistent.csv"))
    at.button(key="ins_run").click().run()
    assert not at.exception
    assert any("catalog not found" in e.value for e in at.error)
    assert not (tmp_home / "evaluations").exists()


def test_elbow_flat_curve_keeps_default():
    e = find_elbow([0.0, 0.25, 0.5, 0.75, 1.0], [0.4] * 5, [0.6] * 5)
    assert e.method == "flat" and e.lam == 0.5


def test_time_budget_stops_early_with_a_complete_report(catalog, tmp_path, tmp_home, fake_engine):
    from copy_engine.evaluation.run import EvalSettings, evaluate

    # A budget already spent before the first product: nothing is generated, and the report says so.
    s = EvalSettings(catalog=str(catalog), n_products=4, sentiment_check=0, sweep_products=0, time_budget_min=1e-9)
    summary = evaluate(s, tmp_path / "budget")
    assert summary.stopped_early["products_done"] == 0
    assert summary.products == [] and fake_engine.calls == []
    assert "Stopped early" in (tmp_path / "budget" / "report.md").read_text()


@pytest.mark.real_model
def test_base_model_perplexity_prefers_fluent_copy(real_generator):
    from copy_engine.evaluation.run import base_model_perplexity

    fluency = base_model_perplexity(real_generator)
    fluent = fluency(["Soft merino socks that keep your feet warm on every hike."])
    salad = fluency(["hike merino warm socks every your on feet keep that soft the."])
    assert 1.0 < fluent < salad


def test_fingerprints_record_loaded_adapters_and_weight_hashes(tmp_home, monkeypatch):
    from copy_engine.evaluation.run import base_model_perplexity, fingerprints

    weights = tmp_home / "adapters" / "mine"
    weights.mkdir(parents=True)
    (weights / "adapter.safetensors").write_bytes(b"abc")
    (weights / "notes.txt").write_text("not weights")

    gen = FakeGenerator()
    gen.adapter_names = ("tone", "cta")
    info = fingerprints(gen)
    assert info["adapters"]["loaded"] == ["tone", "cta"]
    key = str(weights / "adapter.safetensors")
    assert info["adapters"]["files"][key] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert not any(k.endswith("notes.txt") for k in info["adapters"]["files"])
    assert base_model_perplexity(gen) is None  # no loaded model: fluency is left out, not faked


# ---------------------------------------------------------------- Summary, Budget, Progress


def test_summary_in_memory_is_summary_json_and_keeps_its_keys(catalog, tmp_path, tmp_home, fake_engine):
    from copy_engine.evaluation.report import load_summary
    from copy_engine.evaluation.run import EvalSettings, evaluate

    s = EvalSettings(
        catalog=str(catalog), n_products=3, sentiment_check=1, sweep_products=1, lambdas=(0.0, 1.0), n_boot=50
    )
    summary = evaluate(s, tmp_path / "s")
    on_disk = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary.to_json() == on_disk
    assert list(on_disk) == [
        "version", "created", "settings", "model", "adapters", "seeds", "products", "failures", "metrics", "configs",
        "categories", "differences", "complete_products", "sweep", "elbow", "recommendations", "stopped_early",
        "seconds",
    ]  # fmt: skip
    full = on_disk["configs"]["full"]
    assert {"raw_yield", "judged_usable", "perplexity", "products", "seconds_per_product"} <= set(full)
    assert on_disk["configs"]["full"]["perplexity"] is None  # NaN (not measured) is null, in memory as on disk
    assert load_summary(tmp_path / "s") == summary
    assert summary.channel == "headline" and summary.n_variants == 4 and summary.sentiment_checked == 1


def test_summary_from_an_older_file_fills_what_it_lacks():
    from copy_engine.evaluation.summary import Summary

    old = {"configs": {"baseline": {"predicted_ctr": 0.4}}, "settings": {"channel": "headline"},
           "model": {"name": "gemma"}, "some_future_key": 1}  # fmt: skip
    s = Summary.from_json(old)
    assert s.configs == old["configs"] and s.channel == "headline" and s.model["name"] == "gemma"
    assert s.model["fingerprint"] == "" and s.adapters["loaded"] == [] and s.sweep["curves"] == {}
    assert s.complete_products is None and s.recommendations == {} and s.stopped_early == {}
    assert s.n_variants is None and s.sentiment_checked == 0 and s.config_definitions == {}


def test_insights_page_opens_a_summary_written_by_an_older_version(tmp_home, app):
    folder = tmp_home / "evaluations" / "old"
    folder.mkdir(parents=True)
    old = {
        "configs": {"baseline": {"predicted_ctr": 0.4, "products": 3}},
        "settings": {"channel": "headline", "seed": 0},
    }
    (folder / "summary.json").write_text(json.dumps(old))
    at = _insights().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert list(at.dataframe[0].value["config"]) == ["baseline"]
    assert any("**? products**" in m.value for m in at.markdown)
    assert any("without the λ sweep" in i.value for i in at.info)


def test_budget_splits_the_time_between_the_phases():
    from copy_engine.evaluation.run import Budget

    all_three = Budget(10, 100.0, sentiment=True, sweep=True)
    assert (all_three.comparison, all_three.sentiment, all_three.sweep) == pytest.approx((520.0, 610.0, 700.0))
    assert all_three.reason == "time budget of 10 min"
    no_sweep = Budget(10, 100.0, sentiment=True, sweep=False)
    assert (no_sweep.comparison, no_sweep.sentiment) == pytest.approx((520.0, 700.0))
    alone = Budget(10, 100.0, sentiment=False, sweep=False)
    assert alone.comparison == pytest.approx(700.0)
    unlimited = Budget(None, 100.0, sentiment=True, sweep=True)
    assert math.isinf(unlimited.comparison) and not Budget.passed(unlimited.sweep)
    assert Budget.passed(0.0)


def test_progress_counts_planned_steps_and_scales_a_phase_share():
    from copy_engine.evaluation.run import Progress

    calls = []
    bar = Progress(lambda f, m: calls.append((f, m)), comparison=4, sentiment=2, sweep=4)
    bar.say("loading")
    for i in range(6):
        bar.step(f"step {i}")
    share = bar.share(4)
    share(0.5, "half the sweep")
    share(1.0, "sweep done")
    bar.say("Done", 1.0)
    assert calls[0] == (0.0, "loading")
    assert [f for f, _ in calls[1:7]] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert calls[7][0] == pytest.approx(0.8) and calls[8][0] == pytest.approx(1.0) and calls[-1] == (1.0, "Done")
