"""Text generators: the `TextGenerator` Protocol, the transformers backend, and the backend choice.

A TextGenerator turns one prompt into n raw completions. Three backends
satisfy the Protocol: `LocalGenerator` here (transformers + peft),
`copy_engine.backends.llamacpp.LlamaCppGenerator` (llama.cpp in-process) and
`copy_engine.backends.remote.RemoteGenerator` (a team llama.cpp server).
COPYLAB_BACKEND chooses (Settings.backend_kind). Tests use the fake in
tests/conftest.py with the same interface; `generate()` does not care which
one it gets. Training and the CTR encoder always use transformers
(`copy_engine.model.get_loaded_model`).
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass
from typing import ContextManager, Protocol, Sequence, runtime_checkable

from copy_engine.controls import AdapterWeights, DecodingParams
from copy_engine.errors import ModelLoadError
from copy_engine.model import LoadedModel
from copy_engine.prompts import split_head
from copy_engine.sampling import sample


@dataclass(frozen=True)
class Sample:
    """One sampled continuation and how sure the sampler was of it."""

    text: str  # raw text up to its first newline (kept when the line finished), before post-processing
    # Geometric mean of the probability the sampler gave each token it drew (after top-k, temperature and
    # top-p), in (0, 1]; None when the backend cannot tell (test fakes). Low where the model guessed its way
    # through a phrase: the garbled and misread lines readers reject (README, "Sampler confidence").
    confidence: float | None = None


def confidence(token_probs: Sequence[float]) -> float | None:
    """Geometric mean of a sample's token probabilities (None for an empty sample)."""
    logs = [math.log(max(p, 1e-12)) for p in token_probs]
    return math.exp(sum(logs) / len(logs)) if logs else None


@runtime_checkable
class TextGenerator(Protocol):
    """What every caller may use of a generator (nothing else is probed).

    Backends keep their model, adapter mixer and lock to themselves: callers
    that need the bare base model (fluency, filtering training data) enter
    `base_model()`, the one place that switches to it under the generator's lock.
    """

    name: str  # model name recorded with runs
    device: str  # where it runs ('cpu', 'cuda', or the server URL for a team server)
    dtype: str  # numeric precision ('bfloat16', 'Q4_K_M', ...)
    backend: str  # 'transformers', 'llamacpp', 'http' or a test fake's name
    adapter_names: tuple[str, ...]  # adapters the sliders mix, all loaded at start (always-on ones excluded)
    always_on: tuple[str, ...]  # adapters applied at 1.0 on every request
    # Requests that may run at once and be batched together (bulk jobs send this many products);
    # None: one at a time (the in-process transformers model serialises requests behind a lock).
    max_concurrency: int | None

    def count_new_tokens(self, texts: Sequence[str]) -> int:
        """Tokens in generated texts (for throughput figures)."""

    def has_base_model(self) -> bool:
        """True when base_model() yields a model (False for test fakes: fluency is then left out, not faked)."""

    def base_model(self) -> ContextManager[LoadedModel | None]:
        """The transformers model with every mixed adapter off (always-on ones stay), held exclusively
        while the block runs; None when there is no model to measure (test fakes).

        Evaluations judge fluency (perplexity) under it. The llama.cpp backends
        load the transformers model lazily the first time this is entered.
        """

    def fingerprint(self) -> str:
        """Short hash identifying the weights (recorded in evaluation reports)."""

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

    def complete_scored(
        self,
        prompt: str,
        n: int,
        decoding: DecodingParams,
        *,
        seed: int = 0,
        adapter_weights: AdapterWeights | None = None,
    ) -> list[Sample]:
        """The same samples as `complete` (same arguments, same texts) with the sampler's confidence in each."""


class LocalGenerator:
    """Samples from a loaded transformers model; one batched sampling loop per request (copy_engine/sampling.py).

    `adapter_mixer`, when set, applies LoRA adapter weights before sampling
    (see copy_engine/adapters); the base model is never reloaded.
    """

    backend = "transformers"
    max_concurrency = None
    reads_copy = True  # a real model: its variants are scored with the copywriter model's reading (scoring/reader.py)

    def __init__(self, loaded: LoadedModel, adapter_mixer=None):
        self.loaded = loaded
        self.name = loaded.name
        self.device = loaded.device
        self.dtype = loaded.dtype
        self.adapter_mixer = adapter_mixer
        self.adapter_names = tuple(adapter_mixer.names) if adapter_mixer is not None else ()
        self.always_on = tuple(loaded.always_on)
        # generate() is not re-entrant on one model (adapter state is global):
        # two browser tabs asking at once take turns.
        self._lock = threading.Lock()
        self._prefix_cache: dict = {}  # (few-shot head, adapter mix) -> KV cache

    def complete(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        return [s.text for s in self.complete_scored(prompt, n, decoding, seed=seed, adapter_weights=adapter_weights)]

    def complete_scored(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
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
                outs, probs = sample(model, tok, cache, ids[:, -1:], n, decoding, seed)
        return [Sample(tok.decode(o, skip_special_tokens=True), confidence(p)) for o, p in zip(outs, probs)]

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
        head = split_head(prompt)[0]
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

    def has_base_model(self) -> bool:
        """A transformers model is loaded: always."""
        return True

    def base_model(self) -> ContextManager[LoadedModel]:
        """This model with the mixed adapters off, locked against concurrent generation."""
        return self.adapters_at({})

    @contextlib.contextmanager
    def adapters_at(self, scales: dict[str, float]):
        """This model with the mixed adapters at `scales` by name (the others off), held exclusively.

        For measuring logits under a mix (tests compare backends with it); the
        adapters are off again when the block ends. ModelLoadError for a name
        that is not loaded.
        """
        if scales and self.adapter_mixer is None:
            raise ModelLoadError("no adapters loaded")
        with self._lock:
            if self.adapter_mixer is None:
                yield self.loaded
                return
            self.adapter_mixer.apply_named(scales)
            try:
                yield self.loaded
            finally:
                self.adapter_mixer.apply(None)

    def fingerprint(self) -> str:
        """Hash of the weights' config (copy_engine.model.model_fingerprint)."""
        from copy_engine.model import model_fingerprint

        return model_fingerprint(self.loaded)


_DEFAULT: dict = {}
_DEFAULT_LOCK = threading.RLock()  # re-entrant: a llama.cpp generator may ask for the transformers one


def get_transformers_generator(settings=None) -> LocalGenerator:
    """The process-wide transformers generator (loaded once), with shipped adapters if available."""
    from copy_engine.adapters.mixing import make_mixer
    from copy_engine.model import get_loaded_model
    from copy_engine.settings import get_settings

    settings = settings or get_settings()
    key = ("transformers", settings.model, settings.device, str(settings.cache_dir))
    with _DEFAULT_LOCK:
        if key not in _DEFAULT:
            loaded = get_loaded_model(settings)
            mixer = make_mixer(loaded, settings)
            if mixer is not None:
                loaded.model = mixer.model
            _DEFAULT[key] = LocalGenerator(loaded, mixer)
        return _DEFAULT[key]


def get_default_generator(settings=None) -> TextGenerator:
    """The process-wide generator of the configured backend (COPYLAB_BACKEND), loaded once."""
    from copy_engine.settings import get_settings

    settings = settings or get_settings()
    kind = settings.backend_kind
    if kind == "transformers":
        return get_transformers_generator(settings)
    # One llama.cpp model per process: 'auto' and 'llamacpp' share it.
    key = (kind, settings.backend if kind == "http" else "", settings.model, str(settings.cache_dir), str(settings.home))
    with _DEFAULT_LOCK:
        if key not in _DEFAULT:
            if kind == "http":
                from copy_engine.backends.remote import RemoteGenerator

                _DEFAULT[key] = RemoteGenerator(settings.backend, settings)
            else:
                from copy_engine.backends.llamacpp import load_llamacpp_generator

                _DEFAULT[key] = load_llamacpp_generator(settings)
        return _DEFAULT[key]
