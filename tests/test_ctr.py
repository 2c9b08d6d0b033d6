"""Click-through predictor: A/B pairs, evidence, metrics, training, CLI, and the shipped model."""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from copy_engine.cli import main as cli_main
from copy_engine.ctr import abdata
from copy_engine.ctr import predictor as predictor_mod
from copy_engine.ctr.abdata import (
    clean_ab_history,
    evaluation_groups,
    evidence_weight,
    holdout_mask,
    pairs_from_groups,
    training_groups,
    two_proportion_z,
)
from copy_engine.ctr.evaluation import evaluate_scores, selection_lift
from copy_engine.ctr.features import FEATURE_NAMES, feature_matrix, headline_features
from copy_engine.ctr.predictor import CTRPredictor
from copy_engine.ctr.training import TrainConfig, fit_temperature, train_predictor

REPO = Path(__file__).resolve().parents[1]


def _ab(rows):
    cols = ["test_id", "headline", "impressions", "clicks", "eyecatcher_id", "lede"]
    return clean_ab_history(pd.DataFrame(rows, columns=cols))


# ---------------------------------------------------------------- pairs and evidence


def test_pairs_only_inside_same_test_image_and_lede():
    df = _ab([
        ("t1", "A", 1000, 10, "img1", "lede"),
        ("t1", "B", 1000, 20, "img1", "lede"),
        ("t1", "C", 1000, 30, "img2", "lede"),  # other image: not comparable with A/B
        ("t1", "D", 1000, 40, "img1", "other lede"),  # other lede: alone in its group
        ("t2", "E", 1000, 5, "img1", "lede"),  # other test
        ("t2", "F", 1000, 9, "img1", "lede"),
    ])
    pairs = pairs_from_groups(training_groups(df))
    got = {frozenset((a, b)) for a, b in zip(pairs.a, pairs.b)}
    assert got == {frozenset("AB"), frozenset("EF")}


def test_optional_columns_absent_means_one_group_per_test():
    df = clean_ab_history(pd.DataFrame({"test_id": ["t", "t", "t"], "headline": ["a", "b", "c"],
                                        "impressions": [100, 100, 100], "clicks": [1, 2, 3]}))
    assert len(pairs_from_groups(training_groups(df))) == 3


def test_repeated_headline_in_a_group_is_pooled_for_training():
    df = _ab([("t", "A", 1000, 10, "i", "l"), ("t", "A", 3000, 50, "i", "l"), ("t", "B", 1000, 10, "i", "l")])
    (g,) = training_groups(df)
    a = g[g.headline == "A"].iloc[0]
    assert (a.impressions, a.clicks) == (4000, 60)


def test_evaluation_groups_take_largest_image_lede_group_and_first_duplicate():
    df = _ab([
        ("t", "A", 1000, 10, "i1", "l"), ("t", "A", 1000, 99, "i1", "l"), ("t", "B", 1000, 20, "i1", "l"),
        ("t", "C", 1000, 30, "i2", "l"),
        ("u", "X", 1000, 30, "i1", "l"),  # single headline: no pair, left out
    ])
    (g,) = evaluation_groups(df)
    assert list(g.headline) == ["A", "B"] and list(g.clicks) == [10, 20]


def test_two_proportion_z_and_significance():
    z, p = two_proportion_z(130, 1000, 100, 1000)
    pooled = 230 / 2000
    expect = (0.13 - 0.10) / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert float(z) == pytest.approx(expect)
    assert float(p) == pytest.approx(math.erfc(expect / math.sqrt(2)))
    assert float(p) < 0.05
    z2, p2 = two_proportion_z(105, 1000, 100, 1000)
    assert float(p2) > 0.05 and float(z2) > 0
    z0, _ = two_proportion_z(0, 100, 0, 100)  # no clicks at all: no evidence, no division by zero
    assert float(z0) == 0.0
    pairs = pairs_from_groups(training_groups(_ab([("t", "A", 1000, 130, "", ""), ("t", "B", 1000, 100, "", ""),
                                                   ("t", "C", 1000, 105, "", "")])))
    sig = {frozenset((a, b)): s for a, b, s in zip(pairs.a, pairs.b, pairs.significant)}
    assert sig[frozenset("AB")] and not sig[frozenset("BC")]


def test_evidence_weight_grows_with_evidence():
    w = evidence_weight(np.array([0.0, 0.5, 1.96, 4.0, -4.0]))
    assert w[0] == 0.0
    assert np.all(np.diff(w[:4]) > 0) and w[3] == w[4]
    assert w[2] == pytest.approx(0.95, abs=1e-3) and w[3] < 1.0


def test_holdout_split_is_by_test_and_stable():
    ids = [f"test{i}" for i in range(2000)]
    m1, m2 = holdout_mask(ids, 0.2), holdout_mask(list(reversed(ids)), 0.2)[::-1]
    assert np.array_equal(m1, m2)
    assert 0.15 < m1.mean() < 0.25
    assert not holdout_mask(ids, 0.0).any()


# ---------------------------------------------------------------- metrics


def test_selection_lift():
    assert selection_lift(np.array([0.01, 0.02, 0.03]), np.array([0, 1, 5])) == pytest.approx(0.5)
    assert selection_lift(np.array([0.01, 0.02, 0.03]), np.array([9, 1, 5])) == pytest.approx(-0.5)
    assert selection_lift(np.array([0.0, 0.0]), np.array([1, 2])) is None


def test_evaluate_scores_counts_pairs_ties_and_lift():
    df = _ab([
        ("t", "A", 1000, 10, "", ""), ("t", "B", 1000, 30, "", ""), ("t", "C", 1000, 30, "", ""),  # B=C CTR tie: skipped
        ("u", "D", 1000, 100, "", ""), ("u", "E", 1000, 110, "", ""),
    ])
    scores = {"A": 0.0, "B": 1.0, "C": 2.0, "D": 5.0, "E": 5.0}
    m = evaluate_scores(df, lambda texts: np.array([scores[t] for t in texts]))
    # pairs: A<B right, A<C right, D~E score tie -> half; sig: A-B and A-C only
    assert (m.n_pairs, m.n_sig_pairs, m.n_tests) == (3, 2, 2)
    assert m.all_pair_accuracy == pytest.approx(2.5 / 3)
    assert m.sig_pair_accuracy == 1.0
    # t: top = C (0.03) over mean 0.07/3; u: argmax of tie = first (D, 0.10) over 0.105
    assert m.selection_lift == pytest.approx(((0.03 / (0.07 / 3) - 1) + (0.10 / 0.105 - 1)) / 2)


def test_fit_temperature_recovers_scale():
    rng = np.random.default_rng(0)
    d = rng.normal(size=20000)
    wins = (rng.random(20000) < 1 / (1 + np.exp(-2.0 * d))).astype(float)
    assert fit_temperature(d, wins) == pytest.approx(2.0, rel=0.1)


def test_features_are_finite_and_named():
    f = feature_matrix(["Why You Need These 5 Amazing Shoes?", "", "Plain cotton t-shirt."])
    assert f.shape == (3, len(FEATURE_NAMES)) and np.isfinite(f).all()
    q = dict(zip(FEATURE_NAMES, headline_features("Why You Need These 5 Amazing Shoes?")))
    assert q["question"] == 1 and q["you"] == 1 and q["has_digit"] == 1 and q["demonstrative"] == 1


# ---------------------------------------------------------------- training and the predictor API


def _synthetic_history(n_tests=120, seed=0):
    """Headlines containing 'you' get twice the CTR of those without, in every test."""
    rng = np.random.default_rng(seed)
    nouns = ["shoes", "lamp", "kettle", "jacket", "desk", "bag", "watch", "chair", "mug", "tent", "sofa", "pen"]
    rows = []
    for t in range(n_tests):
        noun = nouns[t % len(nouns)]
        for k, (text, ctr) in enumerate([(f"A {noun} for you number {t}", 0.04), (f"The {noun} model {t}", 0.02),
                                         (f"Our {noun} edition {t}", 0.02)]):
            n = 4000
            rows.append((f"t{t}", text, n, int(rng.binomial(n, ctr)), "img", "lede"))
    return _ab(rows)


@pytest.fixture
def fake_predictor(fake_embedder):
    pred, metrics = train_predictor(_synthetic_history(), fake_embedder, TrainConfig(holdout=0.25))
    return pred, metrics


def test_training_learns_the_winning_cue_and_reports_heldout_metrics(fake_predictor):
    pred, metrics = fake_predictor
    assert metrics is not None and metrics.n_tests > 10
    assert metrics.sig_pair_accuracy > 0.9 and metrics.selection_lift > 0.3
    assert pred.prob_beats("A lamp for you", "The lamp model") > 0.7
    assert pred.prob_beats("The lamp model", "A lamp for you") == pytest.approx(
        1 - pred.prob_beats("A lamp for you", "The lamp model"))
    meta = pred.metadata
    assert meta["heldout_metrics"]["n_tests"] == metrics.n_tests and meta["data"]["train_pairs"] > 0


def test_save_load_roundtrip_and_percentile(fake_predictor, fake_embedder, tmp_path):
    pred, _ = fake_predictor
    path = pred.save(tmp_path / "w.npz")
    assert path.with_suffix(".json").exists()
    again = CTRPredictor.load(path, embedder=fake_embedder)
    texts = ["A mug for you", "The mug model", "x"]
    assert np.allclose(again.score(texts), pred.score(texts), atol=1e-5)
    pct = again.percentile(texts)
    assert ((pct >= 0) & (pct <= 1)).all() and pct[0] > pct[1]
    assert again.temperature == pytest.approx(pred.temperature)


class _WideEncoder:
    """Fake encoder with a second block of raw, badly scaled 'hidden states' (like Gemma's)."""

    name = "fake-wide"

    def __init__(self, inner):
        self.inner = inner
        self.standardize_from = inner.dim
        self.dim = inner.dim + 8

    def encode(self, texts):
        e = self.inner.encode(texts)
        raw = np.zeros((len(texts), 8), np.float32)
        raw[:, 0] = [1000.0 + 500.0 * ("you" in t.lower()) for t in texts]  # the cue, on a huge offset and scale
        raw[:, 1] = 3000.0  # constant column: std 0 must not divide by zero
        raw[:, 2:] = [[len(t) * k for k in range(1, 7)] for t in texts]
        return np.hstack([e, raw])


def test_standardised_block_is_learned_and_survives_save_load(fake_embedder, tmp_path):
    enc = _WideEncoder(fake_embedder)
    pred, metrics = train_predictor(_synthetic_history(), enc, TrainConfig(holdout=0.25))
    assert np.isfinite(pred.w_emb).all() and pred.emb_mean[-7] == pytest.approx(3000.0)
    assert np.allclose(pred.emb_mean[: fake_embedder.dim], 0.0)  # unit-norm blocks are left as they are
    assert metrics.sig_pair_accuracy > 0.9
    assert pred.metadata["encoder"] == "fake-wide"
    path = pred.save(tmp_path / "w.npz")
    again = CTRPredictor.load(path, embedder=enc)
    texts = ["A mug for you", "The mug model"]
    assert np.allclose(again.score(texts), pred.score(texts), atol=1e-4)
    assert again.prob_beats(*texts) > 0.7


def test_format_1_weights_without_emb_mean_still_load(fake_predictor, fake_embedder, tmp_path):
    pred, _ = fake_predictor
    meta = {"format_version": 1, "feature_names": list(FEATURE_NAMES)}
    old = tmp_path / "old.npz"
    np.savez(old, w_emb=pred.w_emb, w_feat=pred.w_feat, feat_mean=pred.feat_mean, feat_std=pred.feat_std,
             temperature=np.array(pred.temperature), reference_scores=pred.reference_scores,
             metadata_json=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    again = CTRPredictor.load(old, embedder=fake_embedder)
    assert np.allclose(again.emb_mean, 0.0)
    assert np.allclose(again.score(["A mug for you"]), pred.score(["A mug for you"]), atol=1e-5)


def test_predictor_picks_the_encoder_named_in_its_metadata(fake_predictor, monkeypatch):
    import copy_engine.embeddings as emb_mod
    from copy_engine.ctr.encoder import ENCODER_NAME, HeadlineEncoder

    pred, _ = fake_predictor
    args = dict(w_emb=pred.w_emb, w_feat=pred.w_feat, feat_mean=pred.feat_mean, feat_std=pred.feat_std,
                temperature=1.0, reference_scores=[])
    # constructing the encoder loads no model: MiniLM and Gemma load on the first encode
    assert isinstance(CTRPredictor(**args, metadata={"encoder": ENCODER_NAME}).embedder, HeadlineEncoder)
    sentinel = object()
    monkeypatch.setattr(emb_mod, "get_embedder", lambda: sentinel)
    assert CTRPredictor(**args, metadata={}).embedder is sentinel  # older weights: MiniLM sentence embeddings


def test_load_rejects_missing_or_foreign_file(tmp_path):
    from copy_engine.errors import ModelLoadError

    with pytest.raises(ModelLoadError):
        CTRPredictor.load(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(ModelLoadError):
        CTRPredictor.load(bad)


# ---------------------------------------------------------------- CLI


def test_score_headlines_cli_passes_columns_through(fake_predictor, monkeypatch, tmp_path, capsys):
    pred, _ = fake_predictor
    monkeypatch.setattr(predictor_mod, "get_default_predictor", lambda: pred)
    src = tmp_path / "in.csv.gz"
    text = "test_id,headline,sku,note\n007,A lamp for you,00123,\n007,The lamp model,1e5,\"x, y\"\n"
    with gzip.open(src, "wt") as fh:
        fh.write(text)
    out = tmp_path / "out.csv"
    assert cli_main(["score-headlines", str(src), str(out)]) == 0
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(got.columns) == ["test_id", "headline", "sku", "note", "ctr_score"]
    assert list(got.test_id) == ["007", "007"] and list(got.sku) == ["00123", "1e5"] and list(got.note) == ["", "x, y"]
    s = got.ctr_score.astype(float)
    assert s[0] > s[1]


@pytest.mark.parametrize("content", ["headline,clicks\nhello,3\n", "", "\x00\x01garbage"])
def test_score_headlines_bad_input_exits_2(content, tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_bytes(content.encode("latin-1"))
    out = tmp_path / "out.csv"
    assert cli_main(["score-headlines", str(src), str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_score_headlines_missing_file_exits_2(tmp_path, capsys):
    assert cli_main(["score-headlines", str(tmp_path / "nope.csv"), str(tmp_path / "o.csv")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("encoder", ["headline", "minilm"])
def test_train_ctr_cli_writes_weights_with_metadata(encoder, monkeypatch, tmp_path, fake_embedder, capsys):
    import copy_engine.ctr.encoder as enc_mod
    import copy_engine.embeddings as emb_mod

    used = []
    monkeypatch.setattr(enc_mod, "get_headline_encoder", lambda: used.append("headline") or fake_embedder)
    monkeypatch.setattr(emb_mod, "get_embedder", lambda: used.append("minilm") or fake_embedder)
    data = tmp_path / "hist.csv"
    _synthetic_history(60).to_csv(data, index=False)
    out = tmp_path / "mine" / "ctr.npz"
    assert cli_main(["train-ctr", "--data", str(data), "--out", str(out), "--encoder", encoder]) == 0
    assert used == [encoder]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["data"]["file"] == "hist.csv" and len(meta["data"]["sha256"]) == 64
    assert meta["heldout_metrics"]["all_pair_accuracy"] > 0.5
    pred = CTRPredictor.load(out, embedder=fake_embedder)
    assert pred.prob_beats("A desk for you", "The desk model") > 0.5


def test_train_ctr_rejects_impossible_counts(tmp_path, capsys):
    data = tmp_path / "hist.csv"
    data.write_text("test_id,headline,impressions,clicks\nt,a,10,20\nt,b,10,1\n")
    assert cli_main(["train-ctr", "--data", str(data), "--out", str(tmp_path / "w.npz")]) == 2
    assert "clicks exceed impressions" in capsys.readouterr().err
    assert not (tmp_path / "w.npz").exists()


# ---------------------------------------------------------------- the shipped model on real A/B tests


@pytest.mark.real_model
def test_shipped_predictor_beats_baselines_on_heldout_tests(shared_data):
    from copy_engine.ctr import get_default_predictor
    from copy_engine.ctr.training import HOLDOUT_SALT

    pred = get_default_predictor()
    frac = pred.metadata["config"]["holdout"]
    df = abdata.read_ab_history(shared_data / "upworthy" / "ab_tests.csv.gz")
    held = df[holdout_mask(df["test_id"].to_numpy(), frac, HOLDOUT_SALT)]
    # a fixed subset of held-out tests keeps this test fast (embedding is the cost)
    keep = sorted(held.test_id.unique())[:400]
    held = held[held.test_id.isin(keep)]
    model = evaluate_scores(held, pred.score, pred.prob_of_diff)
    longer = evaluate_scores(held, lambda t: np.array([len(x) for x in t], float))
    assert model.n_pairs > 300
    # random scoring has expected accuracy 0.5 and lift 0
    assert model.all_pair_accuracy > 0.55 and model.sig_pair_accuracy > 0.6 and model.selection_lift > 0.03
    assert model.all_pair_accuracy > longer.all_pair_accuracy and model.sig_pair_accuracy > longer.sig_pair_accuracy
    assert model.log_loss < math.log(2)
    few = pred.score(["Soft cotton tee for everyday wear", "Why this tee is the one you will wear every day"])
    assert few.shape == (2,) and np.isfinite(few).all()
    pct = pred.percentile(["Soft cotton tee"])
    assert 0 <= pct[0] <= 1


@pytest.mark.real_model
def test_score_headlines_cli_end_to_end(shared_data, tmp_path):
    df = pd.read_csv(shared_data / "upworthy" / "ab_tests.csv.gz", nrows=30)
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    from conftest import REAL_HOME

    env = {**os.environ, "COPYLAB_HOME": str(REAL_HOME), "HF_HUB_OFFLINE": "1"}  # shares the converted Gemma
    r = subprocess.run([sys.executable, "-m", "copy_engine", "score-headlines", str(src), str(out)],
                       check=False, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out)
    assert len(got) == 30 and list(got.columns) == list(df.columns) + ["ctr_score"]
    assert got.ctr_score.notna().all() and got.ctr_score.nunique() > 1


@pytest.mark.real_model
def test_headline_encoder_blocks_and_order_independence(monkeypatch):
    from conftest import REAL_HOME
    from copy_engine.ctr.encoder import GEMMA_DIM, MINILM_DIM, MINILM_LAYERS, HeadlineEncoder

    monkeypatch.setenv("COPYLAB_HOME", str(REAL_HOME))
    enc = HeadlineEncoder(batch_size=2)
    texts = ["Why this tee is the one you will wear every day", "Soft cotton tee", "", "Soft cotton tee"]
    f = enc.encode(texts)
    assert f.shape == (4, len(MINILM_LAYERS) * MINILM_DIM + GEMMA_DIM) and np.isfinite(f).all()
    blocks = f[:, : enc.standardize_from].reshape(4, len(MINILM_LAYERS), MINILM_DIM)
    assert np.allclose(np.linalg.norm(blocks[[0, 1, 3]], axis=2), 1.0, atol=1e-4)
    assert np.allclose(f[1], f[3], atol=1e-5)
    # batching and padding must not change a headline's features (beyond bf16 rounding)
    g = enc.encode([texts[1], texts[0]])
    assert np.allclose(g[0, : enc.standardize_from], f[1, : enc.standardize_from], atol=1e-4)
    gem = slice(enc.standardize_from, None)
    assert np.corrcoef(g[1, gem], f[0, gem])[0, 1] > 0.999
    assert np.abs(f[0, gem] - f[1, gem]).max() > 1e-3  # different headlines, different features


def test_percentile_against_product_copy_or_training_headlines(fake_predictor):
    """Product percentiles rank a text among the team's product copy; 'headlines' among the training headlines."""
    from copy_engine.ctr.predictor import product_reference_texts

    pred, _ = fake_predictor
    ref = product_reference_texts()
    assert len(ref) > 100 and len(set(ref)) == len(ref)
    ref_scores = np.sort(pred.score(ref))
    texts = ["A mug for you", "The mug model"]
    s = pred.score(texts)
    assert np.allclose(pred.percentile(texts), np.searchsorted(ref_scores, s, side="left") / len(ref))
    assert np.allclose(pred.percentile(texts, against="headlines"),
                       np.searchsorted(pred.reference_scores, s, side="left") / len(pred.reference_scores))
    top = ref[int(np.argmax(pred.score(ref)))]
    assert pred.percentile([top])[0] == pytest.approx((len(ref) - 1) / len(ref))
    with pytest.raises(ValueError):
        pred.percentile(texts, against="news")
