"""The copywriter model's own reading of a variant: `reading` in [0, 1], how likely a copywriter uses it as it stands.

Readers reject most copy for garbled phrasing or a fact put to the wrong use (reads 47-52: "a remote height gauge
for 1/10", "It rolls up once it is rolled up"). The linear judge (judge.py) sees MiniLM similarities and surface
counts and hardly tells those apart within a product (ROC AUC 0.44-0.75 on reads 47-52). The copywriter
fine-tune itself has read a lot of English and our whole copy deck: its hidden states over a variant, given the
product's prompt, do tell them apart. So the reader is:

- the copywriter model (the embedded Gemma 3 270M with the copywriter adapter merged), cut after its first
  `LAYERS` decoder layers (the middle of 18: as good as all layers on the labels, at half the cost), built once
  per machine under the cache folder and loaded in bf16;
- features: the mean of that layer's states over the variant's tokens and the end-of-text token, the variant
  read as a continuation of the copywriter prompt at default sliders (what the labelled candidates were
  written from). The prompt runs once per request; its keys and values are shared by every variant;
- a logistic head trained on reader-labelled candidates of training-split products
  (copy_engine/scoring/reader_train.py, `python -m copy_engine train-reader`), shipped in reader_weights.npz.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from copy_engine.errors import ModelLoadError

log = logging.getLogger(__name__)

LAYERS = 9  # decoder layers kept: the features are the 9th layer's states (of 18)
BATCH = 32  # variants per forward pass (a request has 8-30)


def weights_path() -> Path:
    """The shipped head (copy_engine/scoring/reader_weights.npz)."""
    return Path(str(files("copy_engine").joinpath("scoring/reader_weights.npz")))


@dataclass(frozen=True)
class Head:
    """Logistic head on standardised features."""

    mean: np.ndarray  # feature means of the training examples
    scale: np.ndarray  # their standard deviations
    coef: np.ndarray  # one weight per standardised feature
    intercept: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    @classmethod
    def load(cls, path: str | Path) -> Head:
        """Read a head saved by reader_train.save_head; ModelLoadError when the file is missing or foreign."""
        try:
            with np.load(path) as z:
                if int(z["layers"]) != LAYERS:
                    raise ModelLoadError(f"{Path(path).name} was trained on layer {int(z['layers'])}, not {LAYERS}")
                return cls(z["mean"], z["scale"], z["coef"].reshape(-1), float(z["intercept"]))
        except (OSError, KeyError, ValueError) as exc:
            raise ModelLoadError(f"cannot read the reader's head {path}: {exc}") from None


class Reader:
    """Pooled hidden states of variants under a (cut) causal LM, and the head's probability on them."""

    def __init__(self, tokenizer, body, head: Head | None = None):
        self.tokenizer = tokenizer
        self.body = body  # a decoder stack whose last_hidden_state is the feature layer (no final norm)
        self.head = head

    def features(self, prompt: str, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), hidden) mean states over each text's tokens and end-of-text, read after `prompt`."""
        import torch

        tok = self.tokenizer
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        prefix = tok(prompt).input_ids  # with BOS, as the model was trained and sampled
        ids = [tok(" " + t, add_special_tokens=False).input_ids + [tok.eos_token_id] for t in texts]
        out = []
        cache_arg = _cache_arg(self.body)
        with torch.inference_mode():
            past = getattr(self.body(input_ids=torch.tensor([prefix]), use_cache=True), cache_arg)
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                width = max(map(len, chunk))
                x = torch.full((len(chunk), width), tok.pad_token_id)
                # Right padding: each text's own tokens sit right after the shared prompt at the same positions.
                mask = torch.zeros((len(chunk), len(prefix) + width), dtype=torch.long)
                mask[:, : len(prefix)] = 1
                for r, t in enumerate(chunk):
                    x[r, : len(t)] = torch.tensor(t)
                    mask[r, len(prefix) : len(prefix) + len(t)] = 1
                cache = {cache_arg: _repeat_cache(past, len(chunk))}
                h = self.body(input_ids=x, attention_mask=mask, **cache).last_hidden_state.float()
                keep = mask[:, len(prefix) :].unsqueeze(-1).float()
                out.append(((h * keep).sum(1) / keep.sum(1)).numpy())
        return np.concatenate(out).astype(np.float32)

    def read(self, prompt: str, texts: Sequence[str]) -> np.ndarray:
        """Probability that a copywriter would use each text as it stands."""
        if self.head is None:
            raise ModelLoadError("the reader has no head (reader_weights.npz)")
        if not list(texts):
            return np.zeros(0)
        return self.head.probability(self.features(prompt, texts))


def reading_prompt(product, channel: str) -> str:
    """The prompt a variant is read after: the copywriter prompt at default sliders (as the labels were written)."""
    from copy_engine.controls import Controls
    from copy_engine.prompts import build_copywriter_prompt

    return build_copywriter_prompt(product, channel, Controls())


def _cache_arg(body) -> str:
    """The forward argument (and output field) of the key/value cache: `cache` in transformers 5.x, else
    `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(body.forward).parameters else "past_key_values"


def _repeat_cache(past, n: int):
    """A copy of the prompt's key/value cache for `n` rows (the prompt's own stays reusable)."""
    import copy

    cache = copy.deepcopy(past)
    cache.batch_repeat_interleave(n)
    return cache


def _copywriter_digest() -> str:
    from copy_engine.adapters.registry import COPYWRITER_FILE

    return hashlib.sha256(COPYWRITER_FILE.read_bytes()).hexdigest()[:12]


def reader_dir(settings) -> Path:
    """Where the cut copywriter model is cached (one per copywriter file)."""
    return settings.cache_dir / "models" / f"copywriter-reader-l{LAYERS}-{_copywriter_digest()}"


def _build(settings, out: Path) -> None:
    """Merge the copywriter into the embedded model, cut it, save it in bf16 (once per machine)."""
    import torch

    from copy_engine.adapters.mixing import merge_adapter
    from copy_engine.adapters.registry import COPYWRITER_FILE
    from copy_engine.model import first_layers, load_model

    model = load_model(settings).model
    merge_adapter(model, COPYWRITER_FILE)
    first_layers(model.get_decoder(), LAYERS)  # the decoder shares the model's config: saved with 9 layers
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    model.to(torch.bfloat16).save_pretrained(tmp)
    if not out.exists():
        tmp.replace(out)
    else:  # another process built it meanwhile
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def load_reader(settings=None, head_path: str | Path | None = None, with_head: bool = True) -> Reader:
    """The reader of these settings' embedded model; ModelLoadError with a clear message when it cannot load.

    with_head False: features only (for training a head).
    """
    from copy_engine.adapters.registry import copywriter_installed
    from copy_engine.settings import EMBEDDED_MODEL, get_settings

    settings = settings or get_settings()
    if settings.model != EMBEDDED_MODEL or not copywriter_installed():
        raise ModelLoadError("the reader reads with the embedded model's copywriter fine-tune, not installed here")
    head = Head.load(head_path or weights_path()) if with_head else None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModelForCausalLM

        from copy_engine.model import hidden_state_trunk, resolve_source, shared_tokenizer

        out = reader_dir(settings)
        if not (out / "config.json").exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            _build(settings, out)
        tokenizer = shared_tokenizer(resolve_source(settings)[0])  # the CTR encoder's: one 0.34 GB vocabulary
        model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.bfloat16)
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for a bad folder
        raise ModelLoadError(f"could not load the reader: {str(exc).strip()[:300]}") from None
    return Reader(tokenizer, hidden_state_trunk(model, LAYERS), head)


_LOCK = threading.Lock()
_READERS: dict[tuple, Reader | str] = {}


def get_default_reader(settings=None) -> Reader:
    """The process-wide reader, loaded once (a few seconds; the first time on a machine also builds it).

    A reader that cannot load raises the same ModelLoadError on every later call without trying again.
    """
    from copy_engine.settings import get_settings

    settings = settings or get_settings()
    key = (settings.model, str(settings.cache_dir))
    with _LOCK:
        if key not in _READERS:
            try:
                _READERS[key] = load_reader(settings)
            except ModelLoadError as exc:
                log.warning("scoring without the reader: %s", exc)  # once: the failure is kept, not retried
                _READERS[key] = str(exc)
        got = _READERS[key]
    if isinstance(got, str):
        raise ModelLoadError(got)
    return got


def reader_for(generator, settings=None) -> Reader | None:
    """The process-wide reader when `generator` is a real model and COPYLAB_READER is on, else None.

    The tests' fake generators get none (their copy is scored without a reading). A reader that cannot load
    is logged once and left out: generation goes on without it.
    """
    from copy_engine.settings import get_settings

    if not getattr(generator, "reads_copy", False):
        return None
    settings = settings or get_settings()
    if not settings.reader:
        return None
    try:
        return get_default_reader(settings)
    except ModelLoadError:  # logged once, when it first failed to load
        return None
