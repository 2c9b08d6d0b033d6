"""Batched sampling from the local LLM (the real `TextGenerator`).

A TextGenerator turns one prompt into n raw completions. Tests use the fake
in tests/conftest.py with the same interface; `generate()` does not care
which one it gets.
"""

from __future__ import annotations

import threading
from typing import Protocol, Sequence

from copy_engine.controls import AdapterWeights, DecodingParams
from copy_engine.model import LoadedModel
from copy_engine.prompts import SEPARATOR
from copy_engine.sampling import sample


class TextGenerator(Protocol):
    name: str  # model name recorded with runs
    device: str  # where it runs
    dtype: str  # numeric precision

    def complete(
        self,
        prompt: str,
        n: int,
        decoding: DecodingParams,
        *,
        seed: int = 0,
        adapter_weights: AdapterWeights | None = None,
    ) -> list[str]:
        """n sampled continuations of `prompt`, each ending at its first newline (raw text, before post-processing)."""


class LocalGenerator:
    """Samples from a loaded transformers model; one batched sampling loop per request (copy_engine/sampling.py).

    `adapter_mixer`, when set, applies LoRA adapter weights before sampling
    (see copy_engine/adapters); the base model is never reloaded.
    """

    def __init__(self, loaded: LoadedModel, adapter_mixer=None):
        self.loaded = loaded
        self.name = loaded.name
        self.device = loaded.device
        self.dtype = loaded.dtype
        self.adapter_mixer = adapter_mixer
        # generate() is not re-entrant on one model (adapter state is global):
        # two browser tabs asking at once take turns.
        self._lock = threading.Lock()
        self._prefix_cache: dict = {}  # (few-shot head, adapter mix) -> KV cache

    def complete(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        import torch

        tok, model = self.loaded.tokenizer, self.loaded.model
        with self._lock:
            if self.adapter_mixer is not None:
                self.adapter_mixer.apply(adapter_weights)
            adapter_key = None if adapter_weights is None else tuple(sorted(adapter_weights.to_dict().items()))
            # The tokenizer adds <bos>: without it the model's loss roughly doubles.
            ids = tok([prompt], return_tensors="pt").input_ids.to(self.device)
            cache = self._prefilled_cache(prompt, ids, adapter_key)
            with torch.inference_mode():
                outs = sample(model, tok, cache, ids[:, -1:], n, decoding, seed)
        return [tok.decode(o, skip_special_tokens=True) for o in outs]

    def _prefilled_cache(self, prompt: str, ids, adapter_key):
        """KV cache of all prompt tokens but the last (the sampler feeds that one).

        The few-shot examples are the same for every product with the same
        channel and wishes, so their part of the cache is kept (per adapter
        mix) and only the product's own lines are computed per request.
        """
        import copy

        import torch
        from transformers import DynamicCache

        model = self.loaded.model
        head = prompt[: prompt.rfind(SEPARATOR) + len(SEPARATOR)] if SEPARATOR in prompt else ""
        head_len = len(self.loaded.tokenizer(head).input_ids) if head else 0
        cacheable = 0 < head_len < ids.shape[1]
        key = (head, adapter_key)
        with torch.inference_mode():
            if cacheable and key in self._prefix_cache:
                cache = copy.deepcopy(self._prefix_cache[key])
            else:
                cache = DynamicCache(config=model.config)
                if cacheable:
                    model(input_ids=ids[:, :head_len], past_key_values=cache, use_cache=True, logits_to_keep=1)
                    self._prefix_cache[key] = copy.deepcopy(cache)
                    while len(self._prefix_cache) > 32:  # oldest first: dicts keep insertion order
                        self._prefix_cache.pop(next(iter(self._prefix_cache)))
            start = head_len if cacheable else 0
            if start < ids.shape[1] - 1:
                model(input_ids=ids[:, start:-1], past_key_values=cache, use_cache=True, logits_to_keep=1)
        return cache

    def count_new_tokens(self, texts: Sequence[str]) -> int:
        """Tokens in generated texts (for throughput figures)."""
        return sum(len(self.loaded.tokenizer(t, add_special_tokens=False).input_ids) for t in texts)


_DEFAULT: dict = {}
_DEFAULT_LOCK = threading.Lock()


def get_default_generator(settings=None) -> LocalGenerator:
    """The process-wide generator on the configured model (loaded once), with shipped adapters if available."""
    from copy_engine.model import get_loaded_model
    from copy_engine.settings import get_settings

    settings = settings or get_settings()
    key = (settings.model, settings.device, str(settings.cache_dir))
    with _DEFAULT_LOCK:
        if key not in _DEFAULT:
            loaded = get_loaded_model(settings)
            mixer = None
            try:
                from copy_engine.adapters.mixing import make_mixer  # added with the adapter work
            except ImportError:
                make_mixer = None
            if make_mixer is not None:
                mixer = make_mixer(loaded, settings)
                if mixer is not None:
                    loaded.model = mixer.model
            _DEFAULT[key] = LocalGenerator(loaded, mixer)
        return _DEFAULT[key]
