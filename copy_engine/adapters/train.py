"""The LoRA training loop for copy adapters.

One loop for every objective: the loss is `losses.combined_loss` (terms lm,
cta, unlikelihood, reward; weights per objective, each term logged). The rest
is the run every LoRA training here shares (adapters/lora_run.py): AdamW with
linear warm-up then cosine decay, gradient clipping, validation loss on
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

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from copy_engine.adapters.data import TrainingExample
from copy_engine.adapters.lora_run import LoraRun, TrainResult
from copy_engine.adapters.losses import IGNORE, OBJECTIVE_WEIGHTS, LossWeights, combined_loss
from copy_engine.errors import InputError

MIN_EXAMPLES = 4


@dataclass
class AdapterTrainConfig:
    """Everything that decides a training run (stored in the adapter's metadata)."""

    name: str  # the adapter's name (file stem; registry.check_name)
    objective: str  # tone, cta, creative, calm, ...: picks the default loss weights
    steps: int = 60  # optimizer steps at most
    batch_size: int = 8  # examples per step (all of one channel: they share a few-shot head)
    lr: float = 5e-4  # peak learning rate (linear warm-up, cosine decay)
    warmup_steps: int = 5  # steps of linear warm-up
    min_lr_ratio: float = 0.1  # cosine decays to lr * this
    r: int = 16  # LoRA rank
    alpha: float = 32.0  # LoRA scaling numerator (scale = alpha / r)
    dropout: float = 0.05  # LoRA dropout
    target_modules: tuple = ("q_proj", "k_proj", "v_proj", "o_proj")  # layers that get LoRA matrices
    clip_norm: float = 1.0  # gradient norm clip
    val_fraction: float = 0.15  # share of products held out for validation loss
    eval_every: int = 10  # steps between validation passes
    patience: int = 3  # evaluations without improvement before stopping
    seed: int = 0  # data order, split and initialisation
    ngram: int = 3  # n-gram size for the unlikelihood term
    loss_weights: LossWeights | None = None  # None = the objective's defaults
    # bf16 autocast for the matmuls (LoRA weights and optimizer state stay fp32):
    # measured ~2x faster per step on this CPU at the same loss to 3 digits.
    bf16: bool = True

    def weights(self) -> LossWeights:
        """The loss weights: the configured ones, else the objective's defaults."""
        return self.loss_weights or OBJECTIVE_WEIGHTS.get(self.objective, LossWeights())

    def to_dict(self) -> dict:
        """The config as JSON-ready values (for the adapter's metadata)."""
        d = asdict(self)
        d["loss_weights"] = self.weights().to_dict()
        d["target_modules"] = list(self.target_modules)
        return d


def split_examples(
    examples: Sequence[TrainingExample], val_fraction: float, seed: int, val_products: Sequence[str] = ()
):
    """Train/validation split by product (validation products are unseen in training): the named `val_products`,
    or else a seeded `val_fraction` share of the products."""
    held = set(val_products)
    if not held:
        products = sorted({e.product for e in examples})
        rng = random.Random(seed)
        rng.shuffle(products)
        n_val = max(1, round(len(products) * val_fraction)) if len(products) > 2 and val_fraction > 0 else 0
        held = set(products[:n_val])
    train = [e for e in examples if e.product not in held]
    val = [e for e in examples if e.product in held]
    return train, val


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
    from copy_engine.prompts import split_head

    head, tail = split_head(ex.prompt)  # cut where the generator cuts its cached head
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


def _pad(rows: Sequence[list], fill: int, left: bool = False):
    """A (rows, longest row) long tensor of the rows, padded with `fill` on the left or the right."""
    import torch

    width = max(len(x) for x in rows)
    out = torch.full((len(rows), width), fill, dtype=torch.long)
    for i, x in enumerate(rows):
        if x:
            if left:
                out[i, width - len(x) :] = torch.tensor(x)
            else:
                out[i, : len(x)] = torch.tensor(x)
    return out


def _forward(model, heads: _HeadCache, items: Sequence[_Encoded], device):
    """(logits, labels, cta mask) of the copy part for items that share one head.

    The product lines of the prompt (all but their last token) run without
    gradients, left-padded, with explicit positions so every row sees the
    same positions as at inference; the last prompt token and the copy run
    with gradients (right-padded). Only the copy's tokens are in the loss.
    """
    import torch

    pad = heads.tokenizer.pad_token_id or 0
    n_prompt = [it.labels.count(IGNORE) for it in items]
    pre = [it.ids[: n - 1] for it, n in zip(items, n_prompt)]  # the product lines: no gradients
    rest = [it.ids[n - 1 :] for it, n in zip(items, n_prompt)]  # the last prompt token and the copy
    cache, head_len = heads.get(items[0].head, len(items))
    mask = torch.ones((len(items), head_len), dtype=torch.long)
    if any(pre):
        mask = torch.cat([mask, _pad([[1] * len(x) for x in pre], 0, left=True)], 1)
        pos = _pad([list(range(head_len, head_len + len(x))) for x in pre], head_len, left=True)
        with torch.no_grad():
            model(
                input_ids=_pad(pre, pad, left=True).to(device),
                attention_mask=mask.to(device),
                position_ids=pos.to(device),
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
    mask = torch.cat([mask, _pad([[1] * len(x) for x in rest], 0)], 1)
    width = max(len(x) for x in rest)
    pos = torch.tensor([[head_len + len(x) + j for j in range(width)] for x in pre], dtype=torch.long)
    out = model(
        input_ids=_pad(rest, pad).to(device),
        attention_mask=mask.to(device),
        position_ids=pos.to(device),
        past_key_values=cache,
        use_cache=True,
    )
    labels = _pad([it.labels[n - 1 :] for it, n in zip(items, n_prompt)], IGNORE)
    cta = _pad([it.cta[n - 1 :] for it, n in zip(items, n_prompt)], 0)
    return out.logits, labels.to(device), cta.to(device)


def _batch_loss(
    model,
    heads: _HeadCache,
    items: Sequence[_Encoded],
    weights: LossWeights,
    ngram: int,
    device,
    base_heads: _HeadCache | None = None,
):
    """Loss and terms for items that share one head (`base_heads`: the adapter-free caches, for the kl term)."""
    import torch

    logits, labels, cta = _forward(model, heads, items, device)
    base_logits = None
    if weights.kl:
        # The same model with its LoRA layers bypassed is the base model: no second copy in memory.
        with torch.no_grad(), model.disable_adapter():
            base_logits = _forward(model, base_heads, items, device)[0]
    ew = torch.tensor([it.weight for it in items], device=device)
    kw = {"cta_mask": cta, "example_weights": ew, "ngram": ngram, "base_logits": base_logits}
    return combined_loss(logits, labels, weights, **kw)


def _by_head(items: Sequence[_Encoded]) -> dict[str, list[_Encoded]]:
    groups: dict[str, list[_Encoded]] = {}
    for it in items:
        groups.setdefault(it.head, []).append(it)
    return groups


def _batches_by_head(items: Sequence[_Encoded], size: int, rng: random.Random):
    """Endless stream of batches; each batch shares one few-shot head (one channel)."""
    groups = _by_head(items)
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


class _Batches:
    """The head caches a run's batches are computed with, and its batch loss."""

    def __init__(self, run: LoraRun, tokenizer, config: AdapterTrainConfig):
        self.run, self.config, self.weights = run, config, config.weights()
        self.heads = _HeadCache(run.model, tokenizer, run.device)
        # The base model never changes, so its head caches are never refreshed.
        self.base_heads = _HeadCache(run.model, tokenizer, run.device, refresh=10**9)

    def loss(self, items: Sequence[_Encoded]):
        """(loss, terms) of items that share one head."""
        run = self.run
        return _batch_loss(run.model, self.heads, items, self.weights, self.config.ngram, run.device, self.base_heads)

    def validation_loss(self, items: Sequence[_Encoded]) -> float:
        """Mean total loss on validation items, in batches that share a head."""
        size, groups = self.config.batch_size, _by_head(items)
        chunks = [groups[h][i : i + size] for h in sorted(groups) for i in range(0, len(groups[h]), size)]
        return self.run.validation_loss(chunks, lambda chunk: self.loss(chunk)[0])


def _train_step(run: LoraRun, batches: _Batches, items: Sequence[_Encoded], step: int) -> dict:
    """One optimizer step (`step` from 0) on a batch; its record: step, lr, loss and its terms, gradient norm."""
    batches.heads.step = step
    loss, terms, grad_norm, lr = run.step(lambda: batches.loss(items))
    return {
        "step": step + 1,
        "steps": run.config.steps,
        "lr": round(lr, 7),
        "loss": round(loss, 4),
        **{k: round(v, 4) for k, v in terms.items()},
        "grad_norm": round(grad_norm, 3),
    }


def _check_run(config: AdapterTrainConfig, examples: Sequence[TrainingExample]) -> None:
    from copy_engine.adapters.registry import check_name

    check_name(config.name)
    if config.steps < 1:
        raise InputError(f"steps must be at least 1, got {config.steps}")
    if len(examples) < MIN_EXAMPLES:
        raise InputError(f"need at least {MIN_EXAMPLES} training examples, got {len(examples)}")


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
    on_copywriter: bool = False,
) -> TrainResult:
    """Train one LoRA adapter on `examples` and save it (safetensors + json) at `out_path`.

    `loaded` is the LoadedModel (for its tokenizer, name and source folder);
    `base_model` (tests) replaces the fp32 copy loaded from loaded.source.
    `progress(record)` receives each step's record (step, steps, lr, loss
    terms, val_loss when measured, eta_s). `should_stop()` returning True
    cancels the run: nothing is saved. `on_copywriter`: train on top of the copywriter fine-tune (merged
    into the fp32 copy; the examples then carry its prompt), recorded as the metadata's training.data.on.
    """
    _check_run(config, examples)
    if on_copywriter:
        from copy_engine.adapters.lora_run import load_copywriter_base

        if base_model is None:
            base_model = load_copywriter_base(loaded.source, "cuda" if loaded.device == "cuda" else "cpu")
        data_info = {**(data_info or {}), "on": "copywriter"}
    run = LoraRun(loaded, config, base_model)
    train_ex, val_ex = split_examples(examples, config.val_fraction, config.seed)
    if len(train_ex) < MIN_EXAMPLES:
        train_ex, val_ex = list(examples), []
    enc_train = [encode_example(loaded.tokenizer, e) for e in train_ex]
    enc_val = [encode_example(loaded.tokenizer, e) for e in val_ex]
    stream = _batches_by_head(enc_train, config.batch_size, random.Random(config.seed))
    batches = _Batches(run, loaded.tokenizer, config)
    stopped = "steps"
    for step in range(config.steps):
        if should_stop and should_stop():
            return run.result(out_path, "cancelled")  # nothing is saved
        rec = _train_step(run, batches, next(stream), step)
        if enc_val and run.eval_due(step + 1):
            val = batches.validation_loss(enc_val)
            rec["val_loss"] = round(val, 4)
            run.stopper.update(val, step + 1, run.model)
        rec["eta_s"] = round((time.perf_counter() - run.t0) / (step + 1) * (config.steps - step - 1), 1)
        run.log(rec, progress)
        if enc_val and run.stopper.should_stop:
            stopped = "early_stopping"
            break
    examples_used = {"train": len(train_ex), "val": len(val_ex)}
    return run.save(
        loaded,
        out_path,
        name=config.name,
        objective=config.objective,
        stopped=stopped,
        examples=examples_used,
        data_info=data_info,
    )


class TrainingJob:
    """A training run in a background thread (the app's Adapters page): progress, cancel, result.

    The thread outlives page switches and reruns; the page only reads
    `status`, `records`, `result` and `error`, and may call `cancel()`.
    """

    def __init__(
        self,
        loaded,
        examples: Sequence[TrainingExample],
        config: AdapterTrainConfig,
        out_path,
        data_info: dict | None = None,
        on_copywriter: bool = False,  # train on top of the copywriter fine-tune (see train_adapter)
    ):
        import threading

        self.config = config
        self.records: list[dict] = []
        self.status = "running"  # running, done, cancelled, failed
        self.result: TrainResult | None = None
        self.error = ""
        self._cancel = threading.Event()
        args = (loaded, list(examples), out_path, data_info, on_copywriter)
        self._thread = threading.Thread(target=self._run, args=args, daemon=True, name=f"train-{config.name}")
        self._thread.start()

    def _run(self, loaded, examples, out_path, data_info, on_copywriter) -> None:
        from copy_engine.errors import CopyLabError

        try:
            self.result = train_adapter(
                loaded,
                examples,
                self.config,
                out_path,
                progress=self.records.append,
                should_stop=self._cancel.is_set,
                data_info=data_info,
                on_copywriter=on_copywriter,
            )
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
