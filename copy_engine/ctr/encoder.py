"""Headline representation for the click-through predictor: MiniLM layers + early Gemma layers.

Five-fold cross-validation over the Upworthy training tests (README, "Click-through
predictor") showed two gains over MiniLM's final sentence embedding alone:
  * mean-pooled hidden states of every MiniLM layer 1-6, each L2-normalised (the lower
    layers carry wording and style that the final, meaning-oriented layer smooths away);
  * the mean-pooled output of the first 6 decoder layers of the embedded Gemma 3 270M
    (the rest of its 18 layers and the 262k-word output head are never run, which keeps
    scoring 5,000 headlines well under two minutes on a 2-core CPU).
`HeadlineEncoder.encode` returns both blocks side by side; the Gemma block is raw (the
trainer standardises it: see `standardize_from`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from copy_engine.memo import Memo

ENCODER_NAME = "minilm-l6-layers1-6+gemma3-270m-layers1-6"
MINILM_LAYERS = (1, 2, 3, 4, 5, 6)
MINILM_DIM = 384
GEMMA_LAYERS = 6
GEMMA_DIM = 640


class HeadlineEncoder:
    """Features of headlines: 6 x 384 MiniLM layer means (L2-normalised) + 640 Gemma layer-6 means."""

    name = ENCODER_NAME
    dim = len(MINILM_LAYERS) * MINILM_DIM + GEMMA_DIM
    # Columns from here on are standardised by the trainer (Gemma hidden states have a few
    # huge dimensions; the MiniLM blocks are already unit vectors).
    standardize_from = len(MINILM_LAYERS) * MINILM_DIM

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._minilm = None
        self._gemma = None
        self._memo = Memo(512)  # text -> its row: a request scores its shown four again (copy_engine.memo)

    def _load_minilm(self):
        if self._minilm is None:
            from copy_engine.embeddings import get_embedder

            st = get_embedder().model
            self._minilm = (st.tokenizer, st[0].auto_model.eval(), int(getattr(st, "max_seq_length", 256) or 256))
        return self._minilm

    def _load_gemma(self):
        if self._gemma is None:
            self._gemma = _load_gemma_trunk(GEMMA_LAYERS)
        return self._gemma

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Feature matrix (len(texts), dim), float32; identical texts give identical rows."""
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # each row a copy: a view would keep its whole batch (thousands of rows when the predictor trains) in the memo
        rows = self._memo.get_many(texts, lambda todo: [row.copy() for row in self._encode(todo)])
        return np.array(rows, dtype=np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        import torch

        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths batch with little padding
        tok_m, minilm, max_len = self._load_minilm()
        tok_g, gemma = self._load_gemma()
        g0 = self.standardize_from
        with torch.inference_mode():
            for k in range(0, len(texts), self.batch_size):
                idx = order[k:k + self.batch_size]
                batch = [texts[i] for i in idx]
                b = tok_m(batch, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
                hs = minilm(**b, output_hidden_states=True).hidden_states
                m = b["attention_mask"].unsqueeze(-1).float()
                for j, layer in enumerate(MINILM_LAYERS):
                    v = ((hs[layer] * m).sum(1) / m.sum(1).clamp(min=1)).numpy()
                    out[idx, j * MINILM_DIM:(j + 1) * MINILM_DIM] = v / np.maximum(
                        np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
                b = tok_g(batch, padding=True, padding_side="right", truncation=True, max_length=128,
                          return_tensors="pt")
                h = gemma(input_ids=b["input_ids"], attention_mask=b["attention_mask"], use_cache=False).last_hidden_state
                m = b["attention_mask"].clone()
                m[:, 0] = 0  # the BOS token is an attention sink with a huge norm: leave it out of the mean
                m = m.unsqueeze(-1).float()
                out[idx, g0:] = ((h.float() * m).sum(1) / m.sum(1).clamp(min=1)).numpy()
        return out


def _load_gemma_trunk(n_layers: int):
    """(tokenizer, Gemma decoder with only its first `n_layers` layers, no final norm use) in bf16 on CPU.

    Always the embedded Gemma 3 270M, whatever COPYLAB_MODEL says: the CTR weights were
    learned on its hidden states. The converted checkpoint is cached in Settings.cache_dir
    (copy_engine.model converts the GGUF on first use).
    """
    import dataclasses

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from copy_engine.errors import ModelLoadError
    from copy_engine.model import first_layers_config, hidden_state_trunk, pick_dtype, resolve_source, shared_tokenizer
    from copy_engine.settings import EMBEDDED_MODEL, get_settings

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    settings = dataclasses.replace(get_settings(), model=EMBEDDED_MODEL)
    try:
        source, _, _ = resolve_source(settings)
        tok = shared_tokenizer(source)
        # A bf16 copy of just the first n_layers layers (+ embeddings) is cached beside
        # the converted model: loading it reads ~0.4 GB instead of the 1.1 GB fp32
        # checkpoint, and never holds fp32 copies. Same numbers: the cast to bf16
        # happens once, when the copy is written, exactly as it did at every load.
        trunk_dir = Path(source).with_name(Path(source).name + f"-trunk{n_layers}-bf16")
        if (trunk_dir / "config.json").is_file():
            lm = AutoModelForCausalLM.from_pretrained(str(trunk_dir), dtype=torch.bfloat16)
        else:
            # Build the model with only its first n_layers layers, so the other layers'
            # weights are never read or allocated.
            config = first_layers_config(AutoConfig.from_pretrained(source), n_layers)
            lm = AutoModelForCausalLM.from_pretrained(source, config=config, dtype=torch.bfloat16)
            _save_trunk(lm, trunk_dir)
        # The bf16 weights run in fp32 on a CPU without native bf16 (model.cpu_bf16_is_fast): the same
        # weights, and a forward pass ~200x faster there than bf16's fallback kernel.
        lm = lm.to(pick_dtype("cpu"))
    except ModelLoadError:
        raise
    except Exception as exc:  # transformers raises many types for a broken cache
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"could not load the embedded Gemma for the CTR predictor: {first[:300]}") from None
    if tok.pad_token is None:
        raise ModelLoadError("the embedded Gemma's tokenizer has no padding token")
    return tok, hidden_state_trunk(lm, n_layers)


def _save_trunk(lm, trunk_dir: Path) -> None:
    """Write the truncated bf16 model once (atomically: a folder renamed into place); failures only cost speed."""
    import logging

    tmp = trunk_dir.with_name(trunk_dir.name + f".tmp{os.getpid()}")
    try:
        lm.save_pretrained(str(tmp))
        if not trunk_dir.exists():
            tmp.replace(trunk_dir)
    except OSError as exc:
        logging.getLogger(__name__).warning("CTR encoder trunk not cached: %s", exc)
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def get_headline_encoder() -> HeadlineEncoder:
    """The process-wide HeadlineEncoder (models load on first encode)."""
    return HeadlineEncoder()
