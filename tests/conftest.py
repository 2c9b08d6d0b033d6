"""Shared fixtures: a deterministic fake generator and fake embedder (no model loads).

Tests marked `real_model` load the embedded Gemma model and MiniLM; everything
else runs on these fakes so the suite stays fast and deterministic.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from copy_engine.product import Product

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Home for tests that load the real model (user adapters, settings). The converted
# model lives in the machine-wide cache (Settings.cache_dir), so one conversion
# (about a minute) serves every test run, the app and the CLI. Databases stay in tmp dirs.
REAL_HOME = Path(os.environ.get("COPYLAB_TEST_HOME") or Path(__file__).resolve().parents[1] / ".cache" / "copylab-test")


# A product with a few checkable facts (a number with a unit, a brand, a price), for tests of cleaning and repairs.
BOTTLE = Product(
    name="Stainless Steel Insulated Water Bottle, 750 ml",
    brand="Hydra",
    category="Sports & Outdoors | Water Bottles",
    features=["Keeps drinks cold for 24 hours", "Leak-proof lid", "Fits most cup holders"],
    price="$24.99",
)


def _stable(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class FakeEmbedder:
    """Bag-of-words hashing embedder: texts sharing words are similar, identical texts identical."""

    dim = 64

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                out[i, _stable(w) % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else out[i]
        return out


_OPENERS = ["Meet", "Discover", "Say hello to", "Introducing", "Upgrade to", "Enjoy", "Try", "Love"]
_CLOSERS = ["Shop now.", "Order today.", "Get yours.", "Built to last.", "Made for every day.", "See why."]


class FakeGenerator:
    """Deterministic stand-in for the LLM: writes short copy from the product name in the prompt.

    Same prompt + seed gives the same outputs; different seeds or indices give different ones.
    Satisfies copy_engine.generator.TextGenerator (tests/test_backends.py checks it).
    """

    name = "fake-generator"
    device = "cpu"
    dtype = "float32"
    backend = "fake"
    max_concurrency = None

    def __init__(self):
        self.calls = []
        self.adapter_names: tuple = ()
        self.always_on: tuple = ()

    def count_new_tokens(self, texts):
        return sum(len(t.split()) for t in texts)

    def has_base_model(self):
        return False

    @contextlib.contextmanager
    def base_model(self):
        yield None

    def fingerprint(self):
        return "fake"

    def complete(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        self.calls.append({"prompt": prompt, "n": n, "decoding": decoding, "seed": seed, "adapters": adapter_weights})
        m = re.findall(r"Product: (.+)", prompt)
        name = m[-1].strip() if m else "this product"
        outs = []
        for i in range(n):
            h = _stable(f"{prompt}|{seed}|{i}")
            opener = _OPENERS[h % len(_OPENERS)]
            closer = _CLOSERS[(h // 7) % len(_CLOSERS)]
            outs.append(f"{opener} {name}. {closer}\n")
        return outs

    def complete_scored(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        """`complete`'s samples (a subclass's too) with no confidence: a fake has no probabilities."""
        from copy_engine.generator import Sample

        return [Sample(t) for t in self.complete(prompt, n, decoding, seed=seed, adapter_weights=adapter_weights)]


@pytest.fixture
def fake_generator():
    return FakeGenerator()


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def tmp_home(tmp_path, monkeypatch):
    """An isolated COPYLAB_HOME and database for one test."""
    monkeypatch.setenv("COPYLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COPYLAB_DB", str(tmp_path / "home" / "copylab.db"))
    return tmp_path / "home"


@pytest.fixture
def shared_data():
    """Path to ../shared/data, or skip when the real data is not beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


class FakeCtrPredictor:
    """Click-through stand-in (deterministic): longer headlines with 'you' score higher.

    A test about how the predicted CTR is used passes its own `rule(text) -> percentile in [0, 1]`
    (e.g. 'copy with shop in it is clicked a lot'); score and percentile are then that rule.
    """

    def __init__(self, rule=None):
        self.rule = rule

    def score(self, texts):
        if self.rule is not None:
            return np.array([float(self.rule(t)) for t in texts], dtype=float)
        return np.array([len(t) / 100 + (0.5 if "you" in t.lower() else 0.0) for t in texts], dtype=float)

    def percentile(self, texts):
        if self.rule is not None:
            return self.score(texts)
        return np.clip(self.score(texts) / 1.5, 0.0, 1.0)

    def prob_beats(self, a, b):
        s = self.score([a, b])
        return float(1 / (1 + np.exp(-(s[0] - s[1]) * 4)))


def use_fake_engine(monkeypatch, generator=None, ctr_predictor=None):
    """Route the process-wide generator, embedder and CTR predictor to fakes; returns the generator.

    `monkeypatch` may be a pytest.MonkeyPatch() outside a test (tests/bulk_fake_cli.py).
    """
    import copy_engine.ctr
    import copy_engine.embeddings
    import copy_engine.generator

    gen, emb = generator or FakeGenerator(), FakeEmbedder()
    ctr = ctr_predictor or FakeCtrPredictor()
    monkeypatch.setattr(copy_engine.generator, "get_default_generator", lambda *a, **k: gen)
    monkeypatch.setattr(copy_engine.embeddings, "get_embedder", lambda *a, **k: emb)
    monkeypatch.setattr(copy_engine.ctr, "get_default_predictor", lambda *a, **k: ctr)
    return gen


@pytest.fixture
def fake_ctr_predictor():
    """The CTR predictor behind `fake_engine`; a test module overrides this fixture to change its rule."""
    return FakeCtrPredictor()


@pytest.fixture
def fake_engine(monkeypatch, fake_ctr_predictor):
    """The process-wide generator, embedder and CTR predictor replaced by the fakes; yields the generator."""
    return use_fake_engine(monkeypatch, ctr_predictor=fake_ctr_predictor)


@pytest.fixture
def app(fake_engine, tmp_home):
    """For page tests: the fake engine and a temporary database, with Streamlit's resource cache
    emptied so the pages pick up the fakes; yields the fake generator."""
    import streamlit as st

    st.cache_resource.clear()
    yield fake_engine
    st.cache_resource.clear()


@pytest.fixture(scope="session")
def real_settings():
    """Settings for the real embedded model, with the shared test cache as home."""
    from copy_engine.settings import Settings

    return Settings.from_env({"COPYLAB_HOME": str(REAL_HOME), "COPYLAB_DEVICE": os.environ.get("COPYLAB_DEVICE", "auto")})


@pytest.fixture(scope="session")
def real_generator(real_settings):
    """The real embedded Gemma model, loaded once per test session."""
    from copy_engine.generator import get_default_generator

    return get_default_generator(real_settings)


def embedding_head_model(vocab: int = 50, dim: int = 8):
    """A stand-in causal LM for the copy-token losses: `.model(input_ids, attention_mask).last_hidden_state` is a
    token embedding and `.lm_head` a linear head (seeded, so its numbers repeat)."""
    import torch

    torch.manual_seed(0)

    class EmbeddingHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, dim)
            self.lm_head = torch.nn.Linear(dim, vocab)
            self.model = lambda input_ids, attention_mask: type("O", (), {"last_hidden_state": self.emb(input_ids)})()

    return EmbeddingHead()
