"""The copywriter model's own reading of a variant: `reading` in [0, 1], how likely a copywriter uses it as it stands.

Readers reject most copy for garbled phrasing or a fact put to the wrong use (reads 47-52: "a remote height gauge
for 1/10", "It rolls up once it is rolled up"). The linear judge (judge.py) sees MiniLM similarities and surface
counts and hardly tells those apart within a product (ROC AUC 0.44-0.75 on reads 47-52). The copywriter
fine-tune itself has read a lot of English and our whole copy deck: its hidden states over a variant, given the
product's prompt, do tell them apart. So the reader is:

- the copywriter model (the embedded Gemma 3 270M with the copywriter adapter merged), cut after the last of its
  `LAYERS` (12 of 18 decoder layers run), built once per machine under the cache folder and loaded in bf16;
- features: the 9th and 12th layers' states at each of the variant's tokens and its end-of-text token (two
  depths: each alone ranked the evaluation reads' labels worse than both), the variant read as a
  continuation of the copywriter prompt at default sliders (what the labelled candidates were written from). The
  prompt runs once per request; its keys and values are shared by every variant;
- a head trained on reader-labelled candidates of training-split products (copy_engine/scoring/reader_train.py,
  `python -m copy_engine train-reader`), shipped in reader_weights.npz: a linear read of the mean state plus a
  few learned token detectors, each pooled by a smooth maximum over the tokens. A garble or a misused fact sits in
  a few words of the copy, and a mean over all its tokens dilutes it; the detectors look for the worst words.
  Within a product, on the evaluation-split labels of reads 47-61 (never trained on), it ranks usable copy above
  the rest in 0.80-0.89 of pairs, against 0.75-0.82 for a linear head on the 9th layer's mean state alone;
- the word whose tokens pull the reading down most is the reader's reason: on read 61's unusable candidates it
  overlaps the readers' own "bad" words in 74 % of them (a random word: 34 %). Copy read as likely unusable gets
  it as a "doubtful" flag (scoring.DOUBT_BELOW).
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
from copy_engine.memo import Memo

log = logging.getLogger(__name__)

LAYERS = (9, 12)  # the decoder layers whose outputs are the features (of 18; the model is cut after the last)
BATCH = 32  # variants per forward pass (a request has 8-30)
MEMO = 512  # readings kept per reader (a few requests' candidates)
Span = tuple[int, int]  # (start, end) characters of a text


def weights_path() -> Path:
    """The shipped head (copy_engine/scoring/reader_weights.npz)."""
    return Path(str(files("copy_engine").joinpath("scoring/reader_weights.npz")))


@dataclass(frozen=True)
class Head:
    """An ensemble of members, each a linear read of the mean standardised state plus `k` token detectors pooled
    by a smooth maximum (log-mean-exp) over the tokens; the members' probabilities are averaged."""

    mean: np.ndarray  # (d,) token-state means over the training texts' tokens
    scale: np.ndarray  # (d,) their standard deviations
    coef: np.ndarray  # (m, d) each member's weights on the mean standardised state
    intercept: np.ndarray  # (m,) each member's bias
    token_coef: np.ndarray  # (m, d, k) each member's token detectors
    token_intercept: np.ndarray  # (m, k) their biases
    token_weight: np.ndarray  # (m, k) the weight of each detector's pooled score in its member's logit

    FIELDS = ("mean", "scale", "coef", "intercept", "token_coef", "token_intercept", "token_weight")

    def logits(self, states: Sequence[np.ndarray]) -> np.ndarray:
        """(len(states), members) logits of texts given as (tokens, d) state arrays."""
        out = np.zeros((len(states), len(self.intercept)), dtype=np.float64)
        for i, h in enumerate(states):
            z, detectors = self._detect(h)
            top = detectors.max(1, keepdims=True)  # log-mean-exp over tokens, computed stably
            pooled = (top[:, 0] + np.log(np.exp(detectors - top).mean(1))).astype(np.float64)  # (m, k)
            out[i] = self.coef @ z.mean(0) + self.intercept + (pooled * self.token_weight).sum(1)
        return out

    def token_pull(self, state: np.ndarray) -> np.ndarray:
        """(tokens,) how much each token of one text moves the members' summed logit: its share of the mean
        state's term plus its detectors' values weighted as pooled. Most negative = the token that most makes
        the text read as unusable (read 47-61's labels: inside the readers' 'bad' span 2.4 times as often as a
        random token)."""
        z, detectors = self._detect(state)
        return (z @ self.coef.T).sum(1) / len(z) + np.einsum("mtk,mk->t", detectors, self.token_weight)

    def _detect(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One text's standardised states (t, d) and every member's detector values at each token (m, t, k)."""
        z = (np.asarray(state, dtype=np.float32) - self.mean) / self.scale
        return z, np.einsum("td,mdk->mtk", z, self.token_coef) + self.token_intercept[:, None, :]

    def probability(self, states: Sequence[np.ndarray]) -> np.ndarray:
        """Probability that each text is usable as it stands (the members' mean)."""
        if not len(states):
            return np.zeros(0)
        return (1.0 / (1.0 + np.exp(-self.logits(states)))).mean(1)

    @classmethod
    def load(cls, path: str | Path) -> Head:
        """Read a head saved by reader_train.save_head; ModelLoadError when the file is missing or foreign."""
        try:
            with np.load(path) as z:
                layers = tuple(int(v) for v in np.atleast_1d(z["layers"]))
                if layers != LAYERS:
                    raise ModelLoadError(f"{Path(path).name} was trained on layers {layers}, not {LAYERS}")
                return cls(*(np.asarray(z[f], dtype=np.float32) for f in cls.FIELDS))
        except (OSError, KeyError, ValueError) as exc:
            raise ModelLoadError(f"cannot read the reader's head {path} (retrain: train-reader): {exc}") from None


class Reader:
    """Hidden states of variants under a (cut) causal LM, and the head's probability on them."""

    def __init__(self, tokenizer, body, head: Head | None = None, layers: Sequence[int] = LAYERS):
        self.tokenizer = tokenizer
        self.body = body  # a decoder stack cut after the last of `layers` (its hidden_states[i]: layer i's output)
        self.head = head
        self.layers = tuple(layers)
        # (head, prompt, text) -> (probability, weakest word) of texts read lately: a request reads its shown
        # four a second time when it re-scores them (generate), and the UI re-scores a set after an edit.
        self._memo = Memo(MEMO)

    def states(self, prompt: str, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, its (tokens + 1, hidden x len(layers)) states at the feature layers, side by side: its tokens
        and end-of-text, read after `prompt`."""
        import torch

        tok = self.tokenizer
        texts = list(texts)
        if not texts:
            return []
        prefix = tok(prompt).input_ids  # with BOS, as the model was trained and sampled
        ids = [self._tokens(t)[0] + [tok.eos_token_id] for t in texts]
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
                hidden = self.body(input_ids=x, attention_mask=mask, output_hidden_states=True, **cache).hidden_states
                h = torch.cat([hidden[i] for i in self.layers], -1).float().numpy()
                out.extend(h[r, : len(t)].copy() for r, t in enumerate(chunk))
        return out

    def _tokens(self, text: str) -> tuple[list[int], list[Span]]:
        """The token ids of `text` as read after a prompt (a leading space, no BOS) and each token's character
        span in `text`."""
        enc = self.tokenizer(" " + text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc.input_ids), [(max(0, a - 1), max(0, b - 1)) for a, b in enc.offset_mapping]

    def read(self, prompt: str, texts: Sequence[str]) -> np.ndarray:
        """Probability that a copywriter would use each text as it stands."""
        return self.read_with_weakest(prompt, texts)[0]

    def read_with_weakest(self, prompt: str, texts: Sequence[str]) -> tuple[np.ndarray, list[Span | None]]:
        """(probability that a copywriter would use each text as it stands, each text's weakest word as a
        (start, end) character span: the word whose tokens pull the reading down most; None when no word does)."""
        if self.head is None:
            raise ModelLoadError("the reader has no head (reader_weights.npz)")
        texts = list(texts)
        if not texts:
            return np.zeros(0), []
        head = self.head

        def read_new(keys: list) -> list:
            todo = [t for _, _, t in keys]
            states = self.states(prompt, todo)
            probs = head.probability(states)
            return [(float(p), _weakest_word(t, self._tokens(t)[1], head.token_pull(h)[:-1]))
                    for t, h, p in zip(todo, states, probs)]  # fmt: skip

        read = self._memo.get_many([(id(head), prompt, t) for t in texts], read_new)
        return np.array([p for p, _ in read]), [w for _, w in read]


def _weakest_word(text: str, offsets: Sequence[Span], pull: np.ndarray) -> Span | None:
    """The word (a run of non-space characters, outer punctuation trimmed) holding the token with the most
    negative pull; None when no token pulls down."""
    if not len(pull) or pull.min() >= 0:
        return None
    start, end = offsets[int(np.argmin(pull))]
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return (start, end) if end > start else None


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
    return settings.cache_dir / "models" / f"copywriter-reader-l{LAYERS[-1]}-{_copywriter_digest()}"


def _build(settings, out: Path) -> None:
    """Merge the copywriter into the embedded model, cut it, save it in bf16 (once per machine)."""
    import torch

    from copy_engine.adapters.mixing import merge_adapter
    from copy_engine.adapters.registry import COPYWRITER_FILE
    from copy_engine.model import first_layers, load_model

    model = load_model(settings).model
    merge_adapter(model, COPYWRITER_FILE)
    first_layers(model.get_decoder(), LAYERS[-1])  # the decoder shares the model's config: saved with 12 layers
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
        from transformers import AutoModelForCausalLM

        from copy_engine.model import hidden_state_trunk, pick_dtype, resolve_source, shared_tokenizer

        out = reader_dir(settings)
        if not (out / "config.json").exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            _build(settings, out)
        tokenizer = shared_tokenizer(resolve_source(settings)[0])  # the CTR encoder's: one 0.34 GB vocabulary
        # bf16 weights, read as fp32 on a CPU without native bf16 (model.cpu_bf16_is_fast: ~200x faster there).
        model = AutoModelForCausalLM.from_pretrained(out, dtype=pick_dtype("cpu"))
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for a bad folder
        raise ModelLoadError(f"could not load the reader: {str(exc).strip()[:300]}") from None
    return Reader(tokenizer, hidden_state_trunk(model, LAYERS[-1]), head)


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
