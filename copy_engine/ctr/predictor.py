"""The click-through predictor: a linear Bradley-Terry score on headline representations + hand features.

score(text) = w_emb . (encode(text) - emb_mean) + w_feat . (features(text) - feat_mean) / feat_std;
`encode` is the encoder named in the metadata (the shipped model: MiniLM layers + early
Gemma layers, copy_engine.ctr.encoder; older weights: MiniLM sentence embeddings); the
probability that A beats B is sigmoid(temperature * (score(A) - score(B))).
Weights live in a .npz file (loaded with allow_pickle=False, so no code runs on load)
that also carries JSON metadata: data provenance and held-out metrics.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from copy_engine.ctr.features import FEATURE_NAMES, feature_matrix
from copy_engine.errors import InputError, ModelLoadError

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "ctr_upworthy.npz"
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)  # 1: no emb_mean (zeros), MiniLM sentence embeddings


def product_reference_texts() -> list[str]:
    """The team's own product copy: few-shot example copy, training-catalog names and feature lines.

    The reference for the product-copy percentile; written by the team, so it
    ships with the package and needs no external data.
    """
    import json
    from importlib.resources import files

    root = files("copy_engine").joinpath("examples")
    deck = json.loads(root.joinpath("few_shot.json").read_text(encoding="utf-8"))
    catalog = json.loads(root.joinpath("training_catalog.json").read_text(encoding="utf-8"))
    texts = [e["text"] for e in deck["examples"]]
    for p in catalog["products"]:
        texts.append(p["name"])
        texts += list(p.get("features", []))
    return sorted({t.strip() for t in texts if t and t.strip()})


class CTRPredictor:
    """Scores headlines: higher = more clicks expected; scores compare across tests."""

    def __init__(
        self,
        w_emb: np.ndarray,
        w_feat: np.ndarray,
        feat_mean: np.ndarray,
        feat_std: np.ndarray,
        temperature: float,
        reference_scores: np.ndarray,
        metadata: dict | None = None,
        embedder=None,
        emb_mean: np.ndarray | None = None,
    ) -> None:
        self.w_emb = np.asarray(w_emb, dtype=np.float64)
        self.emb_mean = np.zeros_like(self.w_emb) if emb_mean is None else np.asarray(emb_mean, dtype=np.float64)
        self.w_feat = np.asarray(w_feat, dtype=np.float64)
        self.feat_mean = np.asarray(feat_mean, dtype=np.float64)
        self.feat_std = np.asarray(feat_std, dtype=np.float64)
        self.temperature = float(temperature)
        self.reference_scores = np.sort(np.asarray(reference_scores, dtype=np.float64))
        self.metadata = dict(metadata or {})
        self._embedder = embedder
        self._product_ref: np.ndarray | None = None  # product_reference_scores(), computed on first use
        if len(self.w_feat) != len(FEATURE_NAMES):
            raise ModelLoadError(
                f"CTR weights expect {len(self.w_feat)} headline features, this code computes {len(FEATURE_NAMES)}"
            )

    @property
    def embedder(self):
        """The text encoder these weights were trained on (named in the metadata), loaded on first use."""
        if self._embedder is None:
            from copy_engine.ctr.encoder import ENCODER_NAME, get_headline_encoder

            if self.metadata.get("encoder") == ENCODER_NAME:
                self._embedder = get_headline_encoder()
            else:
                from copy_engine.embeddings import get_embedder

                self._embedder = get_embedder()
        return self._embedder

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores, one per text (higher = more clicks expected, comparable across tests)."""
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return np.zeros(0)
        uniq = sorted(set(texts))
        emb = np.asarray(self.embedder.encode(uniq), dtype=np.float64)
        if emb.shape[1] != len(self.w_emb):
            raise ModelLoadError(
                f"CTR weights expect {len(self.w_emb)}-dim embeddings, the embedder gives {emb.shape[1]}"
            )
        feats = (feature_matrix(uniq) - self.feat_mean) / self.feat_std
        s = (emb - self.emb_mean) @ self.w_emb + feats @ self.w_feat
        pos = {t: i for i, t in enumerate(uniq)}
        return s[[pos[t] for t in texts]]

    def prob_of_diff(self, diff) -> np.ndarray:
        """Calibrated P(A gets the higher CTR) from score(A) - score(B)."""
        return 1.0 / (1.0 + np.exp(-self.temperature * np.asarray(diff, dtype=np.float64)))

    def prob_beats(self, a: str, b: str) -> float:
        """Calibrated probability that headline `a` gets a higher CTR than `b` in the same test."""
        sa, sb = self.score([a, b])
        return float(self.prob_of_diff(sa - sb))

    def percentile(self, texts: Sequence[str], against: str = "product") -> np.ndarray:
        """Fraction of reference copy that scores below each text, in [0, 1].

        against="product" (default): the project's own product copy
        (`product_reference_texts`). Product copy scores far below news
        headlines (most of it fell under the 10th percentile of the training
        headlines), which squeezed every candidate of a request into a few
        points and left the reranker almost blind to predicted clicks.
        against="headlines": the training headlines.
        """
        if against not in ("product", "headlines"):
            raise ValueError(f"against must be 'product' or 'headlines', got {against!r}")
        s = self.score(texts)
        ref = self.reference_scores if against == "headlines" else self.product_reference_scores()
        if len(ref) == 0:
            return np.full(len(s), 0.5)
        return np.searchsorted(ref, s, side="left") / len(ref)

    def product_reference_scores(self) -> np.ndarray:
        """Sorted scores of `product_reference_texts()` under these weights (computed once)."""
        if self._product_ref is None:
            self._product_ref = np.sort(self.score(product_reference_texts()))
        return self._product_ref

    def save(self, path: str | Path) -> Path:
        """Write weights + metadata to `path` (.npz) atomically, plus a readable `path`.json beside it."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format_version": FORMAT_VERSION, "feature_names": list(FEATURE_NAMES), **self.metadata}
        meta_json = json.dumps(meta, indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        os.close(fd)
        try:
            with open(tmp, "wb") as fh:
                np.savez_compressed(
                    fh,
                    w_emb=self.w_emb.astype(np.float32),
                    emb_mean=self.emb_mean.astype(np.float32),
                    w_feat=self.w_feat,
                    feat_mean=self.feat_mean,
                    feat_std=self.feat_std,
                    temperature=np.array(self.temperature),
                    reference_scores=self.reference_scores.astype(np.float32),
                    metadata_json=np.frombuffer(meta_json.encode("utf-8"), dtype=np.uint8),
                )
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; weights are meant to be shared
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        path.with_suffix(".json").write_text(meta_json + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path, embedder=None) -> CTRPredictor:
        """Load weights saved by `save` (no pickle); ModelLoadError when missing or malformed."""
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"CTR weights not found: {path} (rebuild with `python -m copy_engine train-ctr`)")
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(bytes(z["metadata_json"]).decode("utf-8"))
                if meta.get("format_version") not in READABLE_FORMATS:
                    raise ModelLoadError(f"{path.name}: unsupported CTR weights format {meta.get('format_version')!r}")
                return cls(
                    w_emb=z["w_emb"],
                    w_feat=z["w_feat"],
                    feat_mean=z["feat_mean"],
                    feat_std=z["feat_std"],
                    temperature=float(z["temperature"]),
                    reference_scores=z["reference_scores"],
                    metadata=meta,
                    embedder=embedder,
                    emb_mean=z["emb_mean"] if "emb_mean" in z.files else None,
                )
        except ModelLoadError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise ModelLoadError(f"cannot read CTR weights {path}: {exc}") from exc


@functools.lru_cache(maxsize=1)
def get_default_predictor() -> CTRPredictor:
    """The process-wide predictor with the shipped weights (MiniLM loads on first score)."""
    return CTRPredictor.load(DEFAULT_WEIGHTS)


def load_predictor(path: str | Path | None = None) -> CTRPredictor:
    """The shipped predictor when `path` is None, else the weights at `path` (InputError if unusable)."""
    if path is None:
        return get_default_predictor()
    try:
        return CTRPredictor.load(path)
    except ModelLoadError as exc:
        raise InputError(str(exc)) from exc
