"""The LoRA training loop for copy adapters.

One loop for every objective: the loss is `losses.combined_loss` (terms lm,
cta, unlikelihood, reward; weights per objective, each term logged), AdamW
with linear warm-up then cosine decay, gradient clipping, validation loss on
held-out products every few steps with early stopping (the best adapter
weights are kept), and a fixed seed.

Training runs on a separate fp32 copy of the base model (the inference model
may be bf16 and must not change while it serves requests). The few-shot head
of the prompt (identical for all products of one channel) is run every
few steps without gradients and its KV cache shared by the batch; the
product lines run without gradients too, and only the last prompt token and
the copy carry gradients (a stop-gradient through the prompt). A step so
costs a fraction of a full 500-token backward pass on a CPU, and the adapter
still learns on exactly the prompts it will see at inference.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from copy_engine.adapters.data import TrainingExample
from copy_engine.adapters.losses import IGNORE, OBJECTIVE_WEIGHTS, LossWeights, combined_loss
from copy_engine.errors import InputError

SEPARATOR = "###"
MIN_EXAMPLES = 4


@dataclass
class AdapterTrainConfig:
    """Everything that decides a training run (stored in the adapter's metadata)."""

    name: str
    objective: str
    steps: int = 60
    batch_size: int = 8
    lr: float = 5e-4
    warmup_steps: int = 5
    min_lr_ratio: float = 0.1  # cosine decays to lr * this
    r: int = 16
    alpha: float = 32.0
    dropout: float = 0.05
    target_modules: tuple = ("q_proj", "k_proj", "v_proj", "o_proj")
    clip_norm: float = 1.0
    val_fraction: float = 0.15
    eval_every: int = 10
    patience: int = 3  # evaluations without improvement before stopping
    seed: int = 0
    ngram: int = 3  # n-gram size for the unlikelihood term
    loss_weights: LossWeights | None = None  # None = the objective's defaults
    # bf16 autocast for the matmuls (LoRA weights and optimizer state stay fp32):
    # measured ~2x faster per step on this CPU at the same loss to 3 digits.
    bf16: bool = True

    def weights(self) -> LossWeights:
        return self.loss_weights or OBJECTIVE_WEIGHTS.get(self.objective, LossWeights())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["loss_weights"] = self.weights().to_dict()
        d["target_modules"] = list(self.target_modules)
        return d


@dataclass
class TrainResult:
    """What a run produced."""

    path: Path
    steps_done: int
    best_step: int
    best_val_loss: float
    seconds: float
    stopped: str  # 'steps', 'early_stopping' or 'cancelled'
    history: list = field(default_factory=list)  # one dict per step: step, lr, loss terms, val (when measured)


def split_examples(examples: Sequence[TrainingExample], val_fraction: float, seed: int):
    """Train/validation split by product (validation products are unseen in training)."""
    products = sorted({e.product for e in examples})
    rng = random.Random(seed)
    rng.shuffle(products)
    n_val = max(1, round(len(products) * val_fraction)) if len(products) > 2 and val_fraction > 0 else 0
    val_products = set(products[:n_val])
    train = [e for e in examples if e.product not in val_products]
    val = [e for e in examples if e.product in val_products]
    return train, val


def _head_and_tail(prompt: str) -> tuple[str, str]:
    cut = prompt.rfind(SEPARATOR)
    if cut < 0:
        return "", prompt
    cut += len(SEPARATOR)
    return prompt[:cut], prompt[cut:]


@dataclass
class _Encoded:
    head: str
    ids: list  # tail + target token ids (no BOS: the head carries it)
    labels: list
    cta: list  # 1 on target tokens inside a CTA span
    weight: float


def encode_example(tokenizer, ex: TrainingExample, max_target_tokens: int = 64) -> _Encoded:
    """Token ids, labels (IGNORE on prompt tokens) and the CTA mask for one example.

    The target is written as the model would continue `Copy:` (a space, the
    copy, a newline that ends it) so the adapter also learns where to stop.
    """
    head, tail = _head_and_tail(ex.prompt)
    if not head:
        # No few-shot head: the tail starts the sequence and carries the BOS token.
        tail_ids = tokenizer(tail).input_ids
    else:
        tail_ids = tokenizer(tail, add_special_tokens=False).input_ids
    target = " " + ex.target.strip() + "\n"
    enc = tokenizer(target, add_special_tokens=False, return_offsets_mapping=True)
    t_ids = enc.input_ids[:max_target_tokens]
    offsets = enc.offset_mapping[:max_target_tokens]
    spans = [(s + 1, e + 1) for s, e in ex.cta_spans]  # +1: the leading space
    cta = [1 if any(a < e2 and b > s2 for s2, e2 in spans) else 0 for a, b in offsets]
    return _Encoded(
        head=head,
        ids=tail_ids + t_ids,
        labels=[IGNORE] * len(tail_ids) + t_ids,
        cta=[0] * len(tail_ids) + cta,
        weight=float(ex.weight),
    )


class _HeadCache:
    """No-grad KV caches of few-shot heads, refreshed every `refresh` steps as the adapter moves.

    A head is ~420 tokens; recomputing it each step would cost more than the
    step itself on a CPU, and the LoRA update between a few steps barely
    changes its keys and values.
    """

    def __init__(self, model, tokenizer, device, refresh: int = 4):
        self.model, self.tokenizer, self.device, self.refresh = model, tokenizer, device, refresh
        self._ids: dict[str, object] = {}
        self._kv: dict[str, tuple] = {}  # head -> (step computed, cache)
        self.step = 0

    def get(self, head: str, batch: int):
        """(cache with the head repeated `batch` times, head length); (empty cache, 0) without a head."""
        import copy

        import torch
        from transformers import DynamicCache

        if not head:
            return DynamicCache(config=self.model.config), 0
        if head not in self._ids:
            self._ids[head] = self.tokenizer(head, return_tensors="pt").input_ids.to(self.device)
        ids = self._ids[head]
        hit = self._kv.get(head)
        if hit is None or self.step - hit[0] >= self.refresh:
            cache = DynamicCache(config=self.model.config)
            with torch.no_grad():
                self.model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            self._kv[head] = hit = (self.step, cache)
        cache = copy.deepcopy(hit[1])
        cache.batch_repeat_interleave(batch)
        return cache, ids.shape[1]


def _forward(model, heads: _HeadCache, items: Sequence[_Encoded], device):
    """(logits, labels, cta mask) of the copy part for items that share one head.

    The product lines of the prompt (all but their last token) run without
    gradients, left-padded, with explicit positions so every row sees the
    same positions as at inference; the last prompt token and the copy run
    with gradients (right-padded). Only the copy's tokens are in the loss.
    """
    import torch

    pad = heads.tokenizer.pad_token_id or 0
    b = len(items)
    n_prompt = [sum(1 for x in it.labels if x == IGNORE) for it in items]
    pre = [it.ids[: n - 1] for it, n in zip(items, n_prompt)]  # no-grad part
    rest = [it.ids[n - 1 :] for it, n in zip(items, n_prompt)]  # last prompt token + copy
    cache, head_len = heads.get(items[0].head, b)
    lp = max(len(x) for x in pre)
    masks = [torch.ones((b, head_len), dtype=torch.long)]
    if lp:
        ids = torch.full((b, lp), pad, dtype=torch.long)
        m = torch.zeros((b, lp), dtype=torch.long)
        pos = torch.full((b, lp), head_len, dtype=torch.long)
        for i, x in enumerate(pre):
            if x:
                ids[i, lp - len(x) :] = torch.tensor(x)
                m[i, lp - len(x) :] = 1
                pos[i, lp - len(x) :] = head_len + torch.arange(len(x))
        masks.append(m)
        with torch.no_grad():
            model(input_ids=ids.to(device), attention_mask=torch.cat(masks, 1).to(device), position_ids=pos.to(device),
                  past_key_values=cache, use_cache=True, logits_to_keep=1)  # fmt: skip
    lr_ = max(len(x) for x in rest)
    ids = torch.full((b, lr_), pad, dtype=torch.long)
    labels = torch.full((b, lr_), IGNORE, dtype=torch.long)
    cta = torch.zeros((b, lr_), dtype=torch.long)
    m = torch.zeros((b, lr_), dtype=torch.long)
    pos = torch.zeros((b, lr_), dtype=torch.long)
    for i, (it, n) in enumerate(zip(items, n_prompt)):
        x = rest[i]
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(x)] = torch.tensor(it.labels[n - 1 :])
        cta[i, : len(x)] = torch.tensor(it.cta[n - 1 :])
        m[i, : len(x)] = 1
        pos[i] = head_len + len(pre[i]) + torch.arange(lr_)
    masks.append(m)
    out = model(input_ids=ids.to(device), attention_mask=torch.cat(masks, 1).to(device), position_ids=pos.to(device),
                past_key_values=cache, use_cache=True)  # fmt: skip
    return out.logits, labels.to(device), cta.to(device)


def _batch_loss(model, heads: _HeadCache, items: Sequence[_Encoded], weights: LossWeights, ngram: int, device,
                base_heads: _HeadCache | None = None):  # fmt: skip
    """Loss and terms for items that share one head (`base_heads`: the adapter-free caches, for the kl term)."""
    import torch

    logits, labels, cta = _forward(model, heads, items, device)
    base_logits = None
    if weights.kl:
        # The same model with its LoRA layers bypassed is the base model: no second copy in memory.
        with torch.no_grad(), model.disable_adapter():
            base_logits = _forward(model, base_heads, items, device)[0]
    ew = torch.tensor([it.weight for it in items], device=device)
    return combined_loss(logits, labels, weights, cta_mask=cta, example_weights=ew, ngram=ngram, base_logits=base_logits)


def _lr_at(step: int, cfg: AdapterTrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _batches_by_head(items: Sequence[_Encoded], size: int, rng: random.Random):
    """Endless stream of batches; each batch shares one few-shot head (one channel)."""
    groups: dict[str, list[_Encoded]] = {}
    for it in items:
        groups.setdefault(it.head, []).append(it)
    keys = sorted(groups)
    pools = {k: [] for k in keys}
    while True:
        # Pick a head in proportion to its share of the data.
        k = rng.choices(keys, weights=[len(groups[k]) for k in keys])[0]
        if len(pools[k]) < size:
            fresh = groups[k][:]
            rng.shuffle(fresh)
            pools[k] += fresh
        yield pools[k][:size]
        pools[k] = pools[k][size:]


def load_training_base(source: str, device: str):
    """A separate fp32 copy of the base model for training (the inference model is left alone)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    return model.to(device)


def train_adapter(
    loaded,
    examples: Sequence[TrainingExample],
    config: AdapterTrainConfig,
    out_path: str | Path,
    *,
    progress: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    data_info: dict | None = None,
    base_model=None,
) -> TrainResult:
    """Train one LoRA adapter on `examples` and save it (safetensors + json) at `out_path`.

    `loaded` is the LoadedModel (for its tokenizer, name and source folder);
    `base_model` (tests) replaces the fp32 copy loaded from loaded.source.
    `progress(record)` receives each step's record (step, steps, lr, loss
    terms, val_loss when measured, eta_s). `should_stop()` returning True
    cancels the run: nothing is saved.
    """
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict

    from copy_engine.adapters.registry import base_signature, check_name

    check_name(config.name)
    if config.steps < 1:
        raise InputError(f"steps must be at least 1, got {config.steps}")
    if len(examples) < MIN_EXAMPLES:
        raise InputError(f"need at least {MIN_EXAMPLES} training examples, got {len(examples)}")
    t0 = time.perf_counter()
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() and loaded.device == "cuda" else "cpu"
    tok = loaded.tokenizer
    base = base_model if base_model is not None else load_training_base(loaded.source, device)
    signature = base_signature(base.config)
    lora_cfg = LoraConfig(
        r=config.r,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with torch.enable_grad():
        model = get_peft_model(base, lora_cfg)
        model.train()
        train_ex, val_ex = split_examples(examples, config.val_fraction, config.seed)
        if len(train_ex) < MIN_EXAMPLES:
            train_ex, val_ex = list(examples), []
        enc_train = [encode_example(tok, e) for e in train_ex]
        enc_val = [encode_example(tok, e) for e in val_ex]
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
        rng = random.Random(config.seed)
        stream = _batches_by_head(enc_train, config.batch_size, rng)
        heads = _HeadCache(model, tok, device)
        # The base model never changes, so its head caches are never refreshed.
        base_heads = _HeadCache(model, tok, device, refresh=10**9)
        weights = config.weights()
        autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=config.bf16)
        history, best_val, best_step, best_state, bad_evals = [], float("inf"), 0, None, 0
        stopped, step = "steps", 0
        for step in range(config.steps):
            if should_stop and should_stop():
                stopped = "cancelled"
                break
            lr = _lr_at(step, config)
            for g in opt.param_groups:
                g["lr"] = lr
            heads.step = step
            with autocast:
                loss, terms = _batch_loss(model, heads, next(stream), weights, config.ngram, device, base_heads)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.clip_norm))
            opt.step()
            rec = {"step": step + 1, "steps": config.steps, "lr": round(lr, 7), "loss": round(float(loss.detach()), 4),
                   **{k: round(v, 4) for k, v in terms.items()}, "grad_norm": round(grad_norm, 3)}  # fmt: skip
            last = step + 1 == config.steps
            if enc_val and ((step + 1) % config.eval_every == 0 or last):
                val = _validate(model, heads, base_heads, enc_val, weights, config, device, autocast)
                rec["val_loss"] = round(val, 4)
                if val < best_val - 1e-4:
                    best_val, best_step, bad_evals = val, step + 1, 0
                    best_state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
                else:
                    bad_evals += 1
            elapsed = time.perf_counter() - t0
            rec["eta_s"] = round(elapsed / (step + 1) * (config.steps - step - 1), 1)
            history.append(rec)
            if progress:
                progress(rec)
            if enc_val and bad_evals >= config.patience:
                stopped = "early_stopping"
                break
        steps_done = len(history)
        if stopped == "cancelled":
            return TrainResult(Path(out_path), steps_done, best_step, best_val, time.perf_counter() - t0, stopped, history)
        if best_state is None:
            best_state = get_peft_model_state_dict(model)
            best_step = steps_done
    meta = {
        "name": config.name,
        "objective": config.objective,
        "base": {"name": loaded.name, **signature},
        "lora": {"r": config.r, "alpha": config.alpha, "target_modules": list(config.target_modules)},
        "training": {
            "config": config.to_dict(),
            "steps_done": steps_done,
            "best_step": best_step,
            "best_val_loss": None if best_val == float("inf") else round(best_val, 4),
            "stopped": stopped,
            "seconds": round(time.perf_counter() - t0, 1),
            "device": device,
            "examples": {"train": len(train_ex), "val": len(val_ex)},
            "data": data_info or {},
            "history": history,
        },
        "metrics": {},
    }
    path = save_trained_adapter(out_path, best_state, meta)
    return TrainResult(path, steps_done, best_step, best_val, time.perf_counter() - t0, stopped, history)


def save_trained_adapter(out_path, state: dict, meta: dict) -> Path:
    """Save a trained adapter's LoRA tensors (bf16) and metadata, then convert it for llama.cpp; returns the path.

    bf16 halves the file (r=16 on q/k/v/o of the 270M model: ~3 MB); inference casts to its dtype.
    """
    import torch

    from copy_engine.adapters.registry import save_adapter

    path = save_adapter(out_path, {k: v.to(torch.bfloat16) for k, v in state.items()}, meta)
    _convert_for_llamacpp(path)
    return path


def _convert_for_llamacpp(path) -> None:
    """Convert a saved adapter to llama.cpp's LoRA GGUF now (cached by content hash), so the llama.cpp
    backends start without converting; a failure only logs (they convert on load instead)."""
    import logging

    from copy_engine.adapters.gguf_lora import gguf_for
    from copy_engine.settings import get_settings

    try:
        gguf_for(path, get_settings().cache_dir)
    except Exception as exc:  # noqa: BLE001 - the safetensors file is saved; conversion can be retried
        logging.getLogger(__name__).warning("adapter %s not converted for llama.cpp: %s", path, exc)


def _validate(model, heads, base_heads, items, weights, config, device, autocast) -> float:
    """Mean total loss on validation items (dropout off)."""
    import torch

    model.eval()
    groups: dict[str, list] = {}
    for it in items:
        groups.setdefault(it.head, []).append(it)
    total, n = 0.0, 0
    with torch.no_grad(), autocast:
        for head in sorted(groups):
            g = groups[head]
            for i in range(0, len(g), config.batch_size):
                chunk = g[i : i + config.batch_size]
                loss, _ = _batch_loss(model, heads, chunk, weights, config.ngram, device, base_heads)
                total += float(loss) * len(chunk)
                n += len(chunk)
    model.train()
    return total / max(1, n)


class TrainingJob:
    """A training run in a background thread (the app's Adapters page): progress, cancel, result.

    The thread outlives page switches and reruns; the page only reads
    `status`, `records`, `result` and `error`, and may call `cancel()`.
    """

    def __init__(self, loaded, examples: Sequence[TrainingExample], config: AdapterTrainConfig, out_path,
                 data_info: dict | None = None):  # fmt: skip
        import threading

        self.config = config
        self.records: list[dict] = []
        self.status = "running"  # running, done, cancelled, failed
        self.result: TrainResult | None = None
        self.error = ""
        self._cancel = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(loaded, list(examples), out_path, data_info), daemon=True, name=f"train-{config.name}"
        )
        self._thread.start()

    def _run(self, loaded, examples, out_path, data_info) -> None:
        from copy_engine.errors import CopyLabError

        try:
            self.result = train_adapter(loaded, examples, self.config, out_path, progress=self.records.append,
                                        should_stop=self._cancel.is_set, data_info=data_info)  # fmt: skip
            self.status = "cancelled" if self.result.stopped == "cancelled" else "done"
        except CopyLabError as exc:
            self.error, self.status = str(exc), "failed"
        except Exception as exc:  # noqa: BLE001 - a background thread must report, not vanish
            self.error, self.status = f"{type(exc).__name__}: {exc}", "failed"

    def cancel(self) -> None:
        """Ask the run to stop before its next step (nothing is saved)."""
        self._cancel.set()

    @property
    def fraction(self) -> float:
        """Share of steps done, in [0, 1]."""
        return min(1.0, len(self.records) / max(1, self.config.steps)) if self.status == "running" else 1.0

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
